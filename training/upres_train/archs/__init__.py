"""Architecture registry: `build_model(arch, **config)` where arch is a family name and config
the constructor arguments (as stored in a model file's `config` metadata)."""
from __future__ import annotations

from .bsrn_arch import BSRN
from .classifier_arch import TileClassifier
from .plain_arch import PlainSR
from .tiny_arch import ESPCN, FSRCNN

ARCHS = {cls.arch_name: cls for cls in (PlainSR, ESPCN, FSRCNN, BSRN, TileClassifier)}


def build_model(arch: str, **config):
    if arch not in ARCHS:
        raise ValueError(f"unknown arch '{arch}', expected one of {sorted(ARCHS)}")
    return ARCHS[arch](**config)


__all__ = ["ARCHS", "build_model", "PlainSR", "ESPCN", "FSRCNN", "BSRN", "TileClassifier"]
