"""Tiny family: ESPCN and FSRCNN-class nets (a few thousand to ~30K multiply-adds per pixel).

Both are ConvChainSR graphs (see common.py), so they share the plain family's tensor names
and engine code. Differences from the papers, chosen so the engine needs no extra operations:
FSRCNN's 9x9 transposed-conv tail is replaced by a 3x3 conv + pixel shuffle (as ESPCN), and
both default to PReLU and a nearest-neighbour global skip (ESPCN's paper used tanh and no skip;
pass act="tanh", skip="none" for that).

Example:
    ESPCN(scale=3)(torch.rand(1, 1, 20, 30)).shape   # -> (1, 1, 60, 90)
    FSRCNN(scale=4, d=56, s=12, m=4)
"""
from __future__ import annotations

from .common import ConvChainSR


class ESPCN(ConvChainSR):
    """conv5x5(in -> f0), act, conv3x3(f0 -> f1), act, conv3x3(f1 -> out*s^2), pixel shuffle."""

    arch_name = "espcn"

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, scale: int = 2,
                 feats=(64, 32), act: str = "prelu", skip: str = "nearest"):
        out_channels = out_channels or in_channels
        f0, f1 = feats
        layers = [(in_channels, f0, 5), (f0, f1, 3), (f1, out_channels * scale * scale, 3)]
        super().__init__(layers, act, in_channels, out_channels, scale, skip)
        self.config = dict(in_channels=in_channels, out_channels=out_channels, scale=scale,
                           feats=[f0, f1], act=act, skip=skip)


class FSRCNN(ConvChainSR):
    """FSRCNN(d, s, m): conv5x5(in -> d) feature extraction, 1x1 shrink (d -> s),
    m x conv3x3 mapping (s -> s), 1x1 expand (s -> d), then conv3x3(d -> out*scale^2) and
    pixel shuffle in place of the paper's 9x9 deconvolution. PReLU after every conv but the last."""

    arch_name = "fsrcnn"

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, scale: int = 2,
                 d: int = 56, s: int = 12, m: int = 4, act: str = "prelu", skip: str = "nearest"):
        out_channels = out_channels or in_channels
        layers = [(in_channels, d, 5), (d, s, 1)]
        layers += [(s, s, 3)] * m
        layers += [(s, d, 1), (d, out_channels * scale * scale, 3)]
        super().__init__(layers, act, in_channels, out_channels, scale, skip)
        self.config = dict(in_channels=in_channels, out_channels=out_channels, scale=scale,
                           d=d, s=s, m=m, act=act, skip=skip)
