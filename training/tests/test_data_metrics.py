import math

import numpy as np
import pytest
import torch

from upres_train.data import PatchSampler, load_validation, make_pair, rgb_to_y
from upres_train.metrics import classic_upscale, psnr_y, ssim_y


def test_luma_range():
    assert rgb_to_y(np.array([[[255, 255, 255]]], np.uint8))[0, 0] == pytest.approx(235 / 255)
    assert rgb_to_y(np.array([[[0, 0, 0]]], np.uint8))[0, 0] == pytest.approx(16 / 255)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sampler_shapes_and_determinism(photo_root, channels, scale):
    kw = dict(scale=scale, lr_patch=12, channels=channels, seed=5, jpeg_prob=0.5)
    a = PatchSampler(photo_root / "train", **kw)
    lr, hr = a.batch(4)
    assert lr.shape == (4, channels, 12, 12) and hr.shape == (4, channels, 12 * scale, 12 * scale)
    assert lr.dtype == hr.dtype == torch.float32
    assert 0.0 <= lr.min() and lr.max() <= 1.0
    state = a.state()
    nxt = a.batch(3)
    b = PatchSampler(photo_root / "train", **kw)
    assert torch.equal(b.batch(4)[0], lr)  # same seed, same patches
    b.set_state(state)
    assert torch.equal(b.batch(3)[1], nxt[1])  # restored state, same continuation


def test_luma_lr_is_8bit_and_jpeg_changes_it():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    lr, _ = make_pair(hr, 2, 1)
    assert np.allclose(lr * 255, np.rint(lr * 255), atol=1e-4)
    lr_j, _ = make_pair(hr, 2, 1, jpeg_quality=60)
    assert lr_j.shape == lr.shape and not np.array_equal(lr_j, lr)


def test_constant_image_downscales_to_itself():
    hr = np.full((24, 36, 3), 120, np.uint8)
    lr, hr_y = make_pair(hr, 3, 1)
    assert lr.shape == (1, 8, 12)
    assert np.abs(lr - hr_y[:, :8, :12]).max() < 1 / 255


def test_validation_crops_are_multiples_of_scale(photo_root):
    for crop in (None, 100):
        for name, lr, hr in load_validation(photo_root / "val", 3, 1, crop):
            assert hr.shape[-2] == 3 * lr.shape[-2] and hr.shape[-1] == 3 * lr.shape[-1]


def test_psnr_and_ssim():
    hr = torch.randint(0, 256, (1, 1, 40, 40)).float() / 255
    assert psnr_y(hr, hr, 2) > 100  # identical up to float32 rounding of k/255
    assert ssim_y(hr, hr, 2) == pytest.approx(1.0)
    off = (hr * 255 + 1).clamp(max=255) / 255
    assert psnr_y(off, hr.clamp(max=254 / 255), 0) == pytest.approx(10 * math.log10(255**2), abs=1e-3)
    noisy = (hr + 0.05 * torch.randn_like(hr)).clamp(0, 1)
    assert ssim_y(noisy, hr, 2) < 0.99


def test_classic_upscale_shapes():
    lr = torch.rand(1, 3, 7, 9)
    for m in ("bicubic", "lanczos"):
        assert classic_upscale(lr, 4, m).shape == (1, 3, 28, 36)
