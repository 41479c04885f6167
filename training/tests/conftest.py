"""Shared fixtures: one thread (the machine is shared) and a small synthetic photo set."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)


def synthetic_photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth gradients + sinusoids + a few hard-edged rectangles + noise, uint8 RGB."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        for _ in range(3):
            fy, fx = rng.uniform(0.01, 0.3, 2)
            img[..., c] += rng.uniform(10, 40) * np.sin(fy * yy + fx * xx + rng.uniform(0, 6))
        img[..., c] += rng.uniform(60, 190)
    for _ in range(4):
        y0, x0 = rng.integers(0, h - 10), rng.integers(0, w - 10)
        img[y0:y0 + rng.integers(5, 60), x0:x0 + rng.integers(5, 60)] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(7)
    for split, n in (("train", 3), ("val", 2)):
        (root / split).mkdir()
        for i in range(n):
            Image.fromarray(synthetic_photo(rng, 150 + 10 * i, 170)).save(root / split / f"p{i}.png")
    return root
