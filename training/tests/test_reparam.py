import pytest
import torch

from upres_train.archs import build_model
from upres_train.archs.common import RepConv3x3

BRANCH_SETS = [["3x3", "1x1"], ["3x3", "1x1", "identity"], ["1x1-3x3"],
               ["3x3", "1x1", "identity", "1x1-3x3"]]


@pytest.mark.parametrize("branches", BRANCH_SETS)
def test_repconv_fold_is_exact(branches):
    torch.manual_seed(0)
    block = RepConv3x3(6, 6, branches)
    x = torch.randn(2, 6, 11, 9)
    ref = block(x)
    fused = block.fused_conv()
    assert (fused(x) - ref).abs().max() < 1e-5


@pytest.mark.parametrize("branches", BRANCH_SETS)
@pytest.mark.parametrize("act", ["prelu", "gelu"])
def test_fused_plain_net_matches(branches, act):
    torch.manual_seed(1)
    model = build_model("plain", scale=3, channels=12, num_conv=3, act=act, rep_branches=branches).eval()
    x = torch.rand(2, 1, 19, 23)
    with torch.no_grad():
        ref = model(x)
        model.fuse()
        out = model(x)
    assert (out - ref).abs().max() < 1e-5
    assert model.config["rep_branches"] is None
    plain = build_model("plain", scale=3, channels=12, num_conv=3, act=act)
    assert list(model.state_dict()) == list(plain.state_dict())
    assert all(model.state_dict()[k].shape == v.shape for k, v in plain.state_dict().items())
