"""The learned-classifier routing (train_classifier.py): the decision rule the engine mirrors
(ModelFamily.swift ClassifierRouting.choose), the lambda search, the training targets and the
metadata."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import train_classifier as T  # noqa: E402
from upres_train.archs.classifier_arch import TileClassifier  # noqa: E402
from upres_train.routing import classifier_routing_metadata  # noqa: E402


def test_route_least_error_plus_lambda_macs_ties_to_cheaper():
    # The engine's unit test uses the same numbers: 16 HR pixels, MACs 0/4/8/16.
    pred = np.array([[2, 0.5, 0.1], [0, 0, 0], [5, 0.2, 0.1], [5, 5, 5], [1, 0.75, 5]], dtype=np.float64)
    pixels = np.full(5, 16.0)
    macs = np.tile([0.0, 4.0, 8.0, 16.0], (5, 1))
    assert list(T.route(pred, pixels, macs, 1.0)) == [2, 0, 1, 3, 0]


def test_lambda_meets_the_budget_and_is_the_smallest_that_does():
    rng = np.random.default_rng(1)
    preds = [np.abs(rng.normal(size=(40, 3))) * [3, 2, 1] for _ in range(3)]
    pixs = [np.full(40, 100.0) for _ in range(3)]
    macss = [np.tile([0.0, 10.0, 30.0, 80.0], (40, 1)) for _ in range(3)]
    all_hard = sum(m[:, 3].sum() for m in macss)
    for budget in (0.2, 0.5, 0.9):
        lam = T.lambda_for_budget(preds, pixs, macss, budget)
        spent = sum(m[np.arange(40), T.route(p, x, m, lam)].sum() for p, x, m in zip(preds, pixs, macss))
        assert spent <= budget * all_hard + 1e-6
        spent_less = sum(m[np.arange(40), T.route(p, x, m, lam * 0.9)].sum() for p, x, m in zip(preds, pixs, macss))
        assert spent_less > budget * all_hard   # a cheaper multiply-add would overspend


def test_batch_targets_are_the_tile_mean_of_the_error_maps():
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, size=(40, 50), dtype=np.uint8)
    delta = rng.normal(size=(3, 40, 50)).astype(np.float32)
    x, y = T.sample_batch(np.random.default_rng(3), [lr], [delta], 16, 4, scale=2)
    assert x.shape == (4, 1, 16, 16) and y.shape == (4, 3)
    # Find each crop (up to its dihedral transform) and check its target.
    for i in range(4):
        crop = (x[i, 0].numpy() * 255).round().astype(np.uint8)
        found = False
        for y0 in range(40 - 15):
            for x0 in range(50 - 15):
                win = lr[y0:y0 + 16, x0:x0 + 16]
                variants = [np.rot90(win, k) for k in range(4)] + [np.rot90(win, k)[:, ::-1] for k in range(4)]
                if any(np.array_equal(v, crop) for v in variants):
                    want = delta[:, y0:y0 + 16, x0:x0 + 16].sum(axis=(1, 2)) / (16 * 16 * 4)
                    found = found or np.allclose(y[i].numpy(), want, atol=1e-5)
        assert found, f"crop {i}: no window with this target"


def test_classifier_outputs_three_predictions_for_any_tile_size():
    m = TileClassifier(num_classes=3)
    for h, w in ((128, 128), (90, 128), (37, 51)):
        assert m(torch.rand(2, 1, h, w)).shape == (2, 3)


def test_metadata_names_the_classifier_and_lambda():
    text = classifier_routing_metadata("upres-x2-classifier", 2.5e-5, {"easy": 9936, "medium": 32184, "hard": 75168},
                                       "upres-x2-easy", "upres-x2-medium", 128, 10, {"budget": 0.2})
    r = json.loads(text)
    assert r["version"] == 1 and r["statistic"] == "classifier"
    assert r["classifier"] == "upres-x2-classifier" and r["lambda"] == pytest.approx(2.5e-5)
    assert r["macs_per_pixel"] == {"easy": 9936.0, "medium": 32184.0, "hard": 75168.0}
    assert r["branches"] == {"easy": "upres-x2-easy", "medium": "upres-x2-medium"}
    with pytest.raises(ValueError):
        classifier_routing_metadata("c", 0.0, {"easy": 1, "medium": 2, "hard": 3}, "e", "m", 128, 10, {})


def test_h264_roundtrip_keeps_size_and_levels():
    flat = np.full((41, 57), 100, np.uint8)           # odd size: padded for 4:2:0, cropped back
    assert np.array_equal(T.h264_roundtrip(flat, 23), flat)
    ramp = np.tile(np.linspace(30, 200, 96), (64, 1)).astype(np.uint8)
    out = T.h264_roundtrip(ramp, 28)
    assert out.shape == ramp.shape
    assert 0 < np.abs(out.astype(int) - ramp).mean() < 3   # compressed, but the same picture
