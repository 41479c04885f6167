"""PSNR / SSIM on the Y channel, as the SR papers report them, and the classic baselines.

The SR output is clamped and rounded to 8 bits first (what gets written to a frame); RGB
outputs are then converted to limited-range BT.601 Y. The HR reference Y is not rounded
(BasicSR's convention). A border of `border` (= scale) pixels is ignored.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from .data import rgb_to_y_torch


def to_y255(img: torch.Tensor, quantize: bool) -> torch.Tensor:
    """N x C x H x W in [0, 1] (C = 1 luma or 3 RGB) -> N x 1 x H x W float64 Y on 0..255."""
    x = img.double()
    if quantize:
        x = torch.round(x.clamp(0, 1) * 255.0) / 255.0
    if x.shape[1] == 3:
        x = rgb_to_y_torch(x)
    return x * 255.0


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:x.shape[-2] - border, border:x.shape[-1] - border] if border else x


def psnr_y(sr: torch.Tensor, hr: torch.Tensor, border: int) -> float:
    a = _crop(to_y255(sr, True), border)
    b = _crop(to_y255(hr, False), border)
    mse = torch.mean((a - b) ** 2).item()
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _gaussian(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size, dtype=torch.float64) - size // 2) ** 2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' filtering by shifted sums: float64 conv2d would build an 11x11
    im2col buffer (~4 GB for a 2560x1600 photo)."""
    k = g.numel()
    h, w = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    rows = sum(g[i] * x[..., :, i:i + w] for i in range(k))
    return sum(g[i] * rows[..., i:i + h, :] for i in range(k))


def ssim_y(sr: torch.Tensor, hr: torch.Tensor, border: int) -> float:
    """SSIM (Wang et al. 2004: 11x11 Gaussian, sigma 1.5, 'valid' filtering) on Y, 0..255."""
    a = _crop(to_y255(sr, True), border)
    b = _crop(to_y255(hr, False), border)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = _gaussian()
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a**2
    var_b = _filter_valid(b * b, g) - mu_b**2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float((num / den).mean())


def classic_upscale(lr: torch.Tensor, scale: int, method: str) -> torch.Tensor:
    """Pillow BICUBIC (a = -0.5) or LANCZOS (a = 3) upscale of a N x C x h x w float tensor,
    channel by channel in float ('F' mode, no 8-bit rounding before the metric's own)."""
    resample = {"bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}[method]
    n, c, h, w = lr.shape
    out = np.empty((n, c, h * scale, w * scale), dtype=np.float32)
    arr = lr.float().numpy()
    for i in range(n):
        for j in range(c):
            img = Image.fromarray(arr[i, j])  # float32 -> mode "F"
            out[i, j] = np.asarray(img.resize((w * scale, h * scale), resample))
    return torch.from_numpy(out)


@torch.no_grad()
def bf16_psnr_delta(model, val, scale: int) -> dict:
    """Mean Y-PSNR over `val` ([(name, lr, hr)] as load_validation returns) of the model under
    bf16 autocast minus the same in fp32: {"delta_db", "fp32_psnr", "bf16_psnr", "photos"}."""
    def run(x, bf16):
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(x).float()
    model = model.eval()
    fp32, bf16 = [], []
    for _name, lr, hr in val:
        fp32.append(psnr_y(run(lr, False), hr, scale))
        bf16.append(psnr_y(run(lr, True), hr, scale))
    f, b = sum(fp32) / len(fp32), sum(bf16) / len(bf16)
    return {"delta_db": b - f, "fp32_psnr": f, "bf16_psnr": b, "photos": len(val)}


def format_delta_db(delta: float) -> str:
    """Metadata string of a PSNR delta, 4 decimals, no sign on zero ("-0.0041", "0.0000")."""
    s = f"{delta:.4f}"
    return "0.0000" if s == "-0.0000" else s
