"""Building blocks shared by the architectures.

Everything here must be reproducible by the Swift/oneDNN engine, so only a small set of
operations is used: zero-padded "same" convolutions, the activations in `ACTIVATIONS`,
pixel shuffle (torch.nn.PixelShuffle channel order) and a nearest-neighbour global skip.
See docs/model-format.md for the exact semantics the Swift side implements.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# tanh is kept for the original ESPCN; the engine's required op list (issue 3) does not have it.
ACTIVATIONS = ("prelu", "relu", "leakyrelu", "gelu", "tanh")
LEAKY_SLOPE = 0.1  # BasicSR's SRVGGNetCompact uses 0.1 for 'lrelu'


def make_act(name: str, channels: int) -> nn.Module:
    """Activation by name. PReLU is per-channel (one slope per channel, init 0.25)."""
    if name == "prelu":
        return nn.PReLU(num_parameters=channels, init=0.25)
    if name == "relu":
        return nn.ReLU()
    if name == "leakyrelu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "gelu":
        return nn.GELU(approximate="none")  # exact erf GELU, as in BSRN
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation '{name}', expected one of {ACTIVATIONS}")


def nearest_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Nearest-neighbour upsample: output pixel (y, x) copies input pixel (y // s, x // s)."""
    return x.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)


REP_BRANCHES = ("3x3", "1x1", "identity", "1x1-3x3")


class RepConv3x3(nn.Module):
    """Training-time sum of linear branches that folds into one 3x3 conv (RepVGG / MobileOne /
    ECBSR idea, without batch norm since SR nets avoid it).

    Branches: '3x3' conv, '1x1' conv, 'identity' (only when cin == cout) and '1x1-3x3'
    (1x1 expansion to cout*expand channels then an unpadded 3x3 conv on the expansion padded
    with its own bias, which keeps the fold exact at the borders, as in ECBSR).
    """

    def __init__(self, cin: int, cout: int, branches=("3x3", "1x1", "identity"), expand: int = 2):
        super().__init__()
        unknown = set(branches) - set(REP_BRANCHES)
        if unknown:
            raise ValueError(f"unknown re-param branches {sorted(unknown)}, expected {REP_BRANCHES}")
        self.cin, self.cout = cin, cout
        self.conv3 = nn.Conv2d(cin, cout, 3, padding=1) if "3x3" in branches else None
        self.conv1 = nn.Conv2d(cin, cout, 1) if "1x1" in branches else None
        self.identity = "identity" in branches and cin == cout
        if "1x1-3x3" in branches:
            mid = cout * expand
            self.expand = nn.Conv2d(cin, mid, 1)
            self.squeeze = nn.Conv2d(mid, cout, 3, padding=0)
        else:
            self.expand = self.squeeze = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.identity else None
        for conv in (self.conv3, self.conv1):
            if conv is not None:
                y = conv(x) if y is None else y + conv(x)
        if self.expand is not None:
            t = self.expand(x)
            b = self.expand.bias.view(1, -1, 1, 1)
            t = F.pad(t - b, (1, 1, 1, 1)) + b  # border = bias, so the fold is exact
            s = self.squeeze(t)
            y = s if y is None else y + s
        return y

    @torch.no_grad()
    def fused_conv(self) -> nn.Conv2d:
        """One 3x3 conv computing exactly the same function (up to float rounding)."""
        ref = next(self.parameters())
        w = torch.zeros(self.cout, self.cin, 3, 3, dtype=torch.float64, device=ref.device)
        b = torch.zeros(self.cout, dtype=torch.float64, device=ref.device)
        if self.conv3 is not None:
            w += self.conv3.weight.double()
            b += self.conv3.bias.double()
        if self.conv1 is not None:
            w[:, :, 1, 1] += self.conv1.weight.double()[:, :, 0, 0]
            b += self.conv1.bias.double()
        if self.identity:
            idx = torch.arange(self.cout)
            w[idx, idx, 1, 1] += 1.0
        if self.expand is not None:
            k1 = self.expand.weight.double()[:, :, 0, 0]  # mid x cin
            k3 = self.squeeze.weight.double()  # cout x mid x 3 x 3
            w += torch.einsum("omhw,mi->oihw", k3, k1)
            b += self.squeeze.bias.double() + torch.einsum("omhw,m->o", k3, self.expand.bias.double())
        conv = nn.Conv2d(self.cin, self.cout, 3, padding=1).to(ref.device)
        conv.weight.copy_(w.to(ref.dtype))
        conv.bias.copy_(b.to(ref.dtype))
        return conv


def fuse_rep_convs(module: nn.Module) -> int:
    """Replace every RepConv3x3 inside `module` by its fused conv. Returns how many were fused."""
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, RepConv3x3):
            setattr(module, name, child.fused_conv())
            count += 1
        else:
            count += fuse_rep_convs(child)
    return count


class ConvChainSR(nn.Module):
    """A chain of zero-padded convs with activations between them, a pixel-shuffle tail and an
    optional nearest-neighbour global skip. The plain, ESPCN and FSRCNN families are all this
    graph with different layer lists, so the engine needs only one implementation.

    Tensor names: convs.{i}.weight / convs.{i}.bias for every conv, acts.{i}.weight for PReLU
    slopes (activation i follows conv i; the last conv has none).
    """

    arch_name = "conv_chain"

    def __init__(self, layers, act: str, in_channels: int, out_channels: int, scale: int,
                 skip: str, rep_branches=None):
        """layers: list of (cin, cout, kernel). The last layer's cout must be out*scale^2."""
        super().__init__()
        if skip not in ("nearest", "none"):
            raise ValueError(f"skip must be 'nearest' or 'none', got '{skip}'")
        if skip == "nearest" and in_channels != out_channels:
            raise ValueError("a nearest skip needs in_channels == out_channels")
        if layers[-1][1] != out_channels * scale * scale:
            raise ValueError("last layer must produce out_channels * scale^2 channels")
        self.scale, self.skip = scale, skip
        self.in_channels, self.out_channels = in_channels, out_channels
        convs = []
        for cin, cout, k in layers:
            if rep_branches and k == 3:
                convs.append(RepConv3x3(cin, cout, rep_branches))
            else:
                convs.append(nn.Conv2d(cin, cout, k, padding=k // 2))
        self.convs = nn.ModuleList(convs)
        self.acts = nn.ModuleList(make_act(act, cout) for _, cout, _ in layers[:-1])
        self.shuffle = nn.PixelShuffle(scale)
        self.kernels = [k for _, _, k in layers]
        self._init_weights(act)

    @torch.no_grad()
    def _init_weights(self, act: str, tail_gain: float = 0.1):
        """He (fan-in) init for the activation in use, zero biases, and a tail scaled by
        `tail_gain`, so the untrained net is the nearest-neighbour skip plus a small residual.
        PyTorch's default conv init shrinks the signal ~2x per layer: a 10-conv chain then
        outputs ~0 and barely trained in 300 iterations (measured: still exactly the
        nearest-neighbour PSNR), while this init learns from the first steps."""
        slope = {"prelu": 0.25, "leakyrelu": LEAKY_SLOPE}.get(act, 0.0)
        nonlinearity = "tanh" if act == "tanh" else "leaky_relu"
        for i, block in enumerate(self.convs):
            convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
            for conv in convs:
                nn.init.kaiming_normal_(conv.weight, a=slope, mode="fan_in",
                                        nonlinearity=nonlinearity)
                # parallel re-param branches add up: keep the sum's variance that of one conv
                conv.weight /= len(convs) ** 0.5
                if i == len(self.convs) - 1:
                    conv.weight *= tail_gain
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for conv, act in zip(self.convs, self.acts):
            y = act(conv(y))
        y = self.shuffle(self.convs[-1](y))
        if self.skip == "nearest":
            y = y + nearest_upsample(x, self.scale)
        return y

    def fuse(self) -> "ConvChainSR":
        """Fold re-parameterisable blocks into single convs (for inference and export)."""
        fuse_rep_convs(self)
        if "rep_branches" in self.config:
            self.config["rep_branches"] = None
        return self

    def receptive_field(self) -> int:
        """Side, in input pixels, of the input window that one output pixel depends on."""
        return 1 + sum(k - 1 for k in self.kernels)
