import json

import pytest
import torch
import torch.nn.functional as F

from upres_train.archs import build_model
from upres_train.config import resolve
from upres_train.data import PatchSampler
from upres_train.model_io import load_checkpoint
from upres_train.trainer import run_training

import train as train_cli


def tiny_config(photo_root, runs, name, **over):
    cfg = {
        "name": name, "runs_dir": str(runs), "scale": 2, "seed": 3,
        "model": {"arch": "plain", "channels": 8, "num_conv": 2,
                  "rep_branches": ["3x3", "1x1", "identity"]},
        "data": {"train_dir": str(photo_root / "train"), "val_dir": str(photo_root / "val"),
                 "lr_patch": 12, "batch_size": 4, "jpeg_prob": 0.3},
        "train": {"iters": 6, "lr": 1e-3, "bf16": False, "channels_last": False, "log_every": 2},
        "val": {"every_iters": 4, "crop": 60},
        "checkpoint": {"every_minutes": 100},
    }
    for k, v in over.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and k in cfg else v
    return resolve(cfg)


@pytest.mark.parametrize("arch,cfg", [
    ("plain", dict(channels=8, num_conv=2)),
    ("plain", dict(channels=8, num_conv=2, rep_branches=["3x3", "1x1", "identity", "1x1-3x3"])),
    ("espcn", dict(feats=[8, 8])),
    ("fsrcnn", dict(d=8, s=4, m=1)),
    ("bsrn", dict(channels=8, num_blocks=1, esa_channels=4, skip="nearest")),
], ids=["plain", "plain-rep", "espcn", "fsrcnn", "bsrn"])
def test_few_steps_reduce_loss(photo_root, arch, cfg):
    torch.manual_seed(0)
    model = build_model(arch, scale=2, **cfg)
    lr, hr = PatchSampler(photo_root / "train", 2, 16, seed=1).batch(8)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = F.l1_loss(model(lr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def _final_state(run_dir):
    return load_checkpoint(run_dir / "last.pt")


@pytest.mark.parametrize("fast", [False, True], ids=["fp32", "bf16-channels-last"])
def test_resume_continues_identically(photo_root, tmp_path, fast):
    over = {"train": {"bf16": fast, "channels_last": fast}}
    straight = tiny_config(photo_root, tmp_path, "straight", **over)
    run_training(straight, log=lambda s: None)
    split = tiny_config(photo_root, tmp_path, "split", **over)
    first = run_training(split, stop_after=3, log=lambda s: None)
    assert first["iteration"] == 3 and not (tmp_path / "split" / "done").exists()
    second = run_training(split, log=lambda s: None)  # a new "process": rebuilds everything
    assert second["iteration"] == 6 and second["iterations_this_call"] == 3
    a, b = _final_state(tmp_path / "straight"), _final_state(tmp_path / "split")
    assert a["iteration"] == b["iteration"] == 6
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    assert a["val"]["psnr"] == b["val"]["psnr"]
    kinds = [json.loads(l)["kind"] for l in open(tmp_path / "split" / "log.jsonl")]
    assert "resume" in kinds and kinds.count("start") == 1


def test_init_from_skips_mismatched_tail_and_distills(photo_root, tmp_path):
    run_training(tiny_config(photo_root, tmp_path, "x2", train={"iters": 2}), log=lambda s: None)
    cfg = tiny_config(photo_root, tmp_path, "x4", scale=4, init_from="x2", train={"iters": 2})
    run_training(cfg, log=lambda s: None)
    rec = [json.loads(l) for l in open(tmp_path / "x4" / "log.jsonl") if '"init_from"' in l][0]
    assert rec["skipped"] and all(k.startswith("convs.3.") for k in rec["skipped"])
    assert rec["loaded"] > 0
    student = tiny_config(photo_root, tmp_path, "student", train={"iters": 2},
                          model={"arch": "plain", "channels": 4, "num_conv": 1, "rep_branches": None},
                          distill={"teacher": "x2", "weight": 0.7})
    assert run_training(student, log=lambda s: None)["iteration"] == 2
    wrong_scale = tiny_config(photo_root, tmp_path, "bad", scale=4, train={"iters": 2},
                              distill={"teacher": "x2"})
    with pytest.raises(ValueError, match="scale"):
        run_training(wrong_scale, log=lambda s: None)


def test_cli_overrides_and_stop_after(photo_root, tmp_path):
    cfg_file = tmp_path / "cli_run.yaml"
    cfg_file.write_text(json.dumps({  # JSON is valid YAML
        "runs_dir": str(tmp_path), "model": {"arch": "espcn", "feats": [4, 4]},
        "data": {"train_dir": str(photo_root / "train"), "val_dir": str(photo_root / "val"),
                 "lr_patch": 8, "batch_size": 2},
        "val": {"every_iters": 0, "crop": 40}}))
    rc = train_cli.main([str(cfg_file), "--set", "train.iters=4", "--stop-after", "2"])
    assert rc == 0
    assert load_checkpoint(tmp_path / "cli_run" / "last.pt")["iteration"] == 2
    train_cli.main([str(cfg_file), "--set", "train.iters=4"])
    assert (tmp_path / "cli_run" / "done").exists()
