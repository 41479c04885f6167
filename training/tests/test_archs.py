import pytest
import torch

from upres_train.archs import ARCHS, build_model
from upres_train.complexity import count_params, macs_per_pixel, measured_receptive_field

SMALL = {
    "plain": dict(channels=8, num_conv=2),
    "plain_rep": dict(channels=8, num_conv=2, rep_branches=["3x3", "1x1", "identity", "1x1-3x3"]),
    "espcn": dict(feats=[8, 4]),
    "fsrcnn": dict(d=8, s=4, m=2),
    "bsrn": dict(channels=8, num_blocks=2, esa_channels=4),
    "bsrn_s": dict(channels=8, num_blocks=2, esa_channels=4, attention="channel_weight", skip="nearest"),
}


def arch_of(key):
    return {"plain_rep": "plain", "bsrn_s": "bsrn"}.get(key, key)


@pytest.mark.parametrize("key", sorted(SMALL))
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_sr_shapes(key, scale, channels):
    model = build_model(arch_of(key), in_channels=channels, scale=scale, **SMALL[key])
    y = model(torch.rand(2, channels, 13, 17))
    assert y.shape == (2, channels, 13 * scale, 17 * scale)
    assert model.fuse()(torch.rand(1, channels, 5, 6)).shape == (1, channels, 5 * scale, 6 * scale)


def test_registry_covers_every_family():
    assert set(ARCHS) == {"plain", "espcn", "fsrcnn", "bsrn", "classifier"}


@pytest.mark.parametrize("channels", [1, 3])
def test_classifier_shape(channels):
    model = build_model("classifier", in_channels=channels)
    assert model(torch.rand(4, channels, 32, 32)).shape == (4, 3)
    assert model(torch.rand(1, channels, 13, 17)).shape == (1, 3)


@pytest.mark.parametrize("key", ["plain", "espcn", "fsrcnn"])
def test_receptive_field_matches_gradient(key):
    model = build_model(arch_of(key), scale=2, **SMALL[key])
    assert model.receptive_field() == measured_receptive_field(model, 1)


def test_plain_cost_formula():
    c, n, s = 32, 8, 2
    model = build_model("plain", scale=s, channels=c, num_conv=n)
    macs = 9 * (1 * c + n * c * c + c * s * s)
    assert macs_per_pixel(model, 1) == macs
    prelu = c * (n + 1)
    assert count_params(model) == macs + c * (n + 1) + s * s + prelu


def test_bsrn_matches_paper_size():
    """BSRN x4 RGB: the paper reports 352K parameters and 19.4G MACs for a 1280x720 output."""
    model = build_model("bsrn", in_channels=3, scale=4)
    assert 330_000 < count_params(model) < 370_000
    gmacs_720p = macs_per_pixel(model, 3) * 320 * 180 / 1e9
    assert 18.0 < gmacs_720p < 20.5


def test_bad_arguments():
    with pytest.raises(ValueError):
        build_model("plain", act="swish")
    with pytest.raises(ValueError):
        build_model("nonexistent")
    with pytest.raises(ValueError):
        build_model("plain", in_channels=1, out_channels=3)  # nearest skip needs equal channels
