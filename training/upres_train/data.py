"""Training patches and validation images from the prepared photo set.

Degradation (the SR literature's, see shared/docs/data.md): an HR crop whose side is an exact
multiple of the scale is downscaled by Pillow's BICUBIC resize, which antialiases like MATLAB's
imresize (kernel a = -0.5). Luma models see Y = BT.601 luma in the "limited" range MATLAB's
rgb2ycbcr uses (16..235, divided by 255), which is also what a decoded yuv420p video's Y plane
holds. The LR luma is rounded to 8 bits (as a decoded Y plane is); the HR target is not rounded.
A share of LR patches can be JPEG-compressed (quality 60-95) to mimic compressed video.

Example:
    sampler = PatchSampler("/var/tmp/upres-train/photos/train", scale=2, lr_patch=64, seed=0)
    lr, hr = sampler.batch(16)     # 16 x 1 x 64 x 64 and 16 x 1 x 128 x 128, float32
"""
from __future__ import annotations

import io
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# MATLAB rgb2ycbcr (BT.601, limited range), RGB in [0, 1] -> Y in [16, 235]
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """uint8 or float HWC RGB (uint8 0..255 or float 0..1) -> float32 HW luma in [16/255, 235/255]."""
    x = rgb.astype(np.float64)
    if rgb.dtype == np.uint8:
        x /= 255.0
    return ((16.0 + x @ _Y_WEIGHTS) / 255.0).astype(np.float32)


def rgb_to_y_torch(rgb: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W RGB in [0, 1] -> N x 1 x H x W limited-range Y in [0, 1] (same as rgb_to_y)."""
    w = torch.tensor(_Y_WEIGHTS, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (16.0 + (rgb * w).sum(1, keepdim=True)) / 255.0


def list_photos(folder) -> list[Path]:
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no photos in {folder} (run training/data/prepare.py first)")
    return files


def bicubic_downscale(hr_rgb: np.ndarray, scale: int) -> np.ndarray:
    """uint8 HWC RGB whose sides are multiples of `scale` -> uint8 LR (MATLAB-like bicubic)."""
    h, w = hr_rgb.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"HR size {w}x{h} is not a multiple of the scale {scale}")
    img = Image.fromarray(hr_rgb).resize((w // scale, h // scale), Image.BICUBIC)
    return np.asarray(img)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """uint8 HW (grey) or HWC (RGB, 4:2:0 chroma as Pillow's default) through JPEG at `quality`."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("L" if img.ndim == 2 else "RGB"))


def make_pair(hr_rgb: np.ndarray, scale: int, channels: int, jpeg_quality: int | None = None):
    """uint8 HR RGB crop -> (lr, hr) float32 CHW arrays in the model's colour space."""
    lr_rgb = bicubic_downscale(hr_rgb, scale)
    if channels == 1:
        lr8 = np.clip(np.rint(rgb_to_y(lr_rgb) * 255.0), 0, 255).astype(np.uint8)
        if jpeg_quality is not None:
            lr8 = jpeg_roundtrip(lr8, jpeg_quality)
        lr = lr8.astype(np.float32)[None] / 255.0
        hr = rgb_to_y(hr_rgb)[None]
    elif channels == 3:
        if jpeg_quality is not None:
            lr_rgb = jpeg_roundtrip(lr_rgb, jpeg_quality)
        lr = lr_rgb.astype(np.float32).transpose(2, 0, 1) / 255.0
        hr = hr_rgb.astype(np.float32).transpose(2, 0, 1) / 255.0
    else:
        raise ValueError("channels must be 1 (luma) or 3 (RGB)")
    return np.ascontiguousarray(lr), np.ascontiguousarray(hr)


class PhotoCache:
    """LRU cache of decoded photos (uint8 HWC RGB), bounded in megabytes. The default 1 GiB
    holds the whole prepared training set (~33 photos x 12 MB), so each is decoded once."""

    def __init__(self, max_mb: float = 1024):
        self.max_bytes = max_mb * 2**20
        self.items: OrderedDict[Path, np.ndarray] = OrderedDict()
        self.bytes = 0

    def get(self, path: Path) -> np.ndarray:
        if path in self.items:
            self.items.move_to_end(path)
            return self.items[path]
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"))
        self.items[path] = arr
        self.bytes += arr.nbytes
        while self.bytes > self.max_bytes and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.bytes -= old.nbytes
        return arr


def _size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


class PatchSampler:
    """Random (LR, HR) training patches. Photos are drawn with probability proportional to
    their area, crops uniformly, then one of the 8 flips/rotations. All randomness comes from
    one numpy Generator whose state is saved in checkpoints (state() / set_state())."""

    def __init__(self, folder, scale: int, lr_patch: int, channels: int = 1, seed: int = 0,
                 jpeg_prob: float = 0.0, jpeg_quality=(60, 95), cache_mb: float = 1024):
        self.files = list_photos(folder)
        self.scale, self.lr_patch, self.channels = scale, lr_patch, channels
        self.jpeg_prob, self.jpeg_quality = jpeg_prob, tuple(jpeg_quality)
        self.cache = PhotoCache(cache_mb)
        self.rng = np.random.default_rng(seed)
        hr = lr_patch * scale
        sizes = [_size_of(p) for p in self.files]
        keep = [i for i, (w, h) in enumerate(sizes) if w >= hr and h >= hr]
        self.files = [self.files[i] for i in keep]
        areas = np.array([sizes[i][0] * sizes[i][1] for i in keep], dtype=np.float64)
        self.weights = areas / areas.sum()

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def sample(self):
        rng = self.rng
        photo = self.cache.get(self.files[rng.choice(len(self.files), p=self.weights)])
        hs = self.lr_patch * self.scale
        y = int(rng.integers(0, photo.shape[0] - hs + 1))
        x = int(rng.integers(0, photo.shape[1] - hs + 1))
        crop = photo[y:y + hs, x:x + hs]
        # the bicubic kernel is symmetric, so augmenting before downscaling is equivalent
        k = int(rng.integers(0, 8))
        if k & 1:
            crop = crop[:, ::-1]
        crop = np.rot90(crop, k >> 1)
        quality = None
        if self.jpeg_prob > 0 and rng.random() < self.jpeg_prob:
            quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
        return make_pair(np.ascontiguousarray(crop), self.scale, self.channels, quality)

    def batch(self, n: int):
        pairs = [self.sample() for _ in range(n)]
        lr = torch.from_numpy(np.stack([p[0] for p in pairs]))
        hr = torch.from_numpy(np.stack([p[1] for p in pairs]))
        return lr, hr


def load_validation(folder, scale: int, channels: int = 1, crop: int | None = None):
    """Validation images as a list of (name, lr, hr) with 1 x C x h x w float32 tensors.
    `crop`: side of a centred HR crop (rounded down to a multiple of the scale); None = the
    whole photo trimmed to a multiple of the scale at the bottom/right."""
    out = []
    for path in list_photos(folder):
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w = rgb.shape[:2]
        if crop:
            c = min(crop, h, w) // scale * scale
            y0, x0 = (h - c) // 2, (w - c) // 2
            rgb = rgb[y0:y0 + c, x0:x0 + c]
        else:
            rgb = rgb[:h // scale * scale, :w // scale * scale]
        lr, hr = make_pair(np.ascontiguousarray(rgb), scale, channels)
        out.append((path.stem, torch.from_numpy(lr)[None], torch.from_numpy(hr)[None]))
    return out
