import json
import struct

import pytest
import safetensors.torch
import torch

from upres_train.archs import build_model
from upres_train.model_io import GOLDEN_SIZE, export_model, golden_path, load_any_model
from upres_train.weights_file import load_file, save_file

CASES = [
    ("plain", dict(scale=2, channels=8, num_conv=2, rep_branches=["3x3", "1x1", "identity"])),
    ("espcn", dict(scale=3, feats=[8, 4])),
    ("fsrcnn", dict(scale=4, d=8, s=4, m=1, in_channels=3)),
    ("bsrn", dict(scale=4, channels=8, num_blocks=2, esa_channels=4)),
    ("classifier", dict(channels=[4, 8])),
]
REQUIRED_META = {"format", "version", "arch", "config", "scale", "in_channels", "receptive_field",
                 "macs_per_pixel", "params", "provenance"}


@pytest.mark.parametrize("arch,cfg", CASES, ids=[c[0] for c in CASES])
def test_export_round_trip(tmp_path, arch, cfg):
    torch.manual_seed(3)
    model = build_model(arch, **cfg).eval()
    path = tmp_path / "m.safetensors"
    meta = export_model(model, path, {"run": "test", "iterations": 0})
    assert REQUIRED_META <= set(meta)
    assert meta["format"] == "upres-model" and meta["version"] == "1" and meta["arch"] == arch

    # the wrapper returns what the package reads, metadata included
    ours, ours_meta = load_file(path)
    ref = safetensors.torch.load_file(str(path))
    assert ours.keys() == ref.keys()
    assert all(torch.equal(ours[k], ref[k]) for k in ours)
    assert ours_meta == meta
    assert json.loads(meta["config"]).get("rep_branches") is None  # folded

    # the reloaded model computes what the (fused) original computes
    loaded, _ = load_any_model(path)
    x = torch.rand(1, model.config["in_channels"], 21, 18)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model.fuse()(x), atol=1e-5)

    # golden pair: output is the model's fp32 output for the stored input
    g, gmeta = load_file(golden_path(path))
    assert gmeta["format"] == "upres-golden"
    assert g["input"].shape == (1, model.config["in_channels"], *GOLDEN_SIZE)
    with torch.no_grad():
        assert torch.allclose(loaded(g["input"]), g["output"], atol=1e-6)


def test_file_layout(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"b": torch.arange(5, dtype=torch.float32), "a": torch.ones(2, 3)}, path, {"k": "v"})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"k": "v"}
    assert header["a"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert header["b"]["data_offsets"] == [24, 44]
    assert len(raw) == 8 + n + 44
    assert raw[8 + n + 24:8 + n + 28] == struct.pack("<f", 0.0)


def test_damaged_files_raise(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"w": torch.ones(4, 4)}, path, {})
    raw = path.read_bytes()
    (tmp_path / "short.safetensors").write_bytes(raw[:-8])
    with pytest.raises(ValueError):
        load_file(tmp_path / "short.safetensors")
    (tmp_path / "tiny.safetensors").write_bytes(raw[:5])
    with pytest.raises(ValueError):
        load_file(tmp_path / "tiny.safetensors")
    with pytest.raises(TypeError):
        save_file({"w": torch.ones(1)}, path, {"n": 3})


def test_export_bf16_check(tmp_path, photo_root, monkeypatch):
    """--bf16-check force writes bf16_psnr_delta_db (emulated bf16 here: tiny net, tiny photos);
    --no-bf16-check and 'auto' on a CPU without native bf16 leave it out."""
    import export
    from upres_train.metrics import format_delta_db
    cfg = '{"scale": 2, "channels": 4, "num_conv": 1}'
    base = ["--random", "plain", "--config", cfg, "--no-golden", "--val-dir", str(photo_root / "val")]
    out = tmp_path / "a.safetensors"
    assert export.main(base + ["--out", str(out), "--bf16-check", "force"]) == 0
    meta = load_file(out)[1]
    delta = float(meta["bf16_psnr_delta_db"])
    assert abs(delta) < 0.5 and meta["bf16_psnr_delta_db"] == format_delta_db(delta)
    assert json.loads(meta["provenance"])["bf16_check"]["photos"] == 2
    assert export.main(base + ["--out", str(out), "--no-bf16-check"]) == 0
    assert "bf16_psnr_delta_db" not in load_file(out)[1]
    monkeypatch.setattr(export, "cpu_has_bf16", lambda: False)
    assert export.main(base + ["--out", str(out)]) == 0
    assert "bf16_psnr_delta_db" not in load_file(out)[1]
    assert format_delta_db(-0.00001) == "0.0000" and format_delta_db(-0.00412) == "-0.0041"
