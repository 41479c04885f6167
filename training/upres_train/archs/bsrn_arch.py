"""BSRN family: Blueprint Separable Residual Network (Li et al., CVPRW 2022), written from the
paper's description (shared/docs/papers.md), not from third-party code.

    x -> replicate `input_repeat` times along channels -> BSConv (F0)
      -> num_blocks x ESDB (each output kept)
      -> concat of all block outputs -> 1x1 conv -> GELU -> BSConv -> + F0
      -> conv3x3 (C -> out * s^2) -> pixel shuffle [-> + nearest(x) if skip == "nearest"]

BSConv (blueprint separable conv) = 1x1 pointwise conv (no bias) then kxk depthwise conv (bias).
BSRB = GELU(BSConv(x) + x). ESDB = three distillation steps (a 1x1 "distilled" branch and a BSRB
"refined" branch each), a final BSConv to C/2, concat (2C) -> 1x1 condense (C) -> ESA -> CCA
(or, for BSRN-S, learnable per-channel weights) -> + block input.

Deviation from the paper, so any tile size works (the engine runs small edge tiles): the ESA's
strided 3x3 conv uses padding 1 and its 7x7/stride-3 max-pool padding 3 (the paper's unpadded
versions need at least 15 input pixels). ESA and CCA look at the whole tile, so the output
depends on tile size: `receptive_field()` returns 0 ("global").

Presets: BSRN = channels 64, num_blocks 8, attention "cca"; BSRN-S = 48, 5, "channel_weight".

Example:
    BSRN(scale=4, channels=32, num_blocks=4)(torch.rand(1, 1, 24, 24)).shape  # (1, 1, 96, 96)
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import nearest_upsample


class BSConv(nn.Module):
    """Blueprint separable conv: pointwise 1x1 (cin -> cout, no bias), then depthwise kxk
    (padding k // 2, optional stride, bias)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1):
        super().__init__()
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.dw = nn.Conv2d(cout, cout, kernel, stride=stride, padding=kernel // 2, groups=cout)

    def forward(self, x):
        return self.dw(self.pw(x))


class ESA(nn.Module):
    """Enhanced spatial attention: a cheap, wide-context sigmoid mask multiplied onto x.
    Its two 3x3 convs are BSConvs, which brings the parameter count to the paper's (~352K x4 RGB)."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.down = BSConv(reduced, reduced, 3, stride=2)
        self.conv = BSConv(reduced, reduced, 3)
        self.skip = nn.Conv2d(reduced, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        r = self.reduce(x)
        d = F.max_pool2d(self.down(r), kernel_size=7, stride=3, padding=3)
        d = self.conv(d)
        d = F.interpolate(d, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.expand(d + self.skip(r)))


class CCA(nn.Module):
    """Contrast-aware channel attention: per-channel (std + mean) over the tile -> 1x1 -> ReLU
    -> 1x1 -> sigmoid, multiplied onto x. std is the population standard deviation."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.squeeze = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        w = torch.sigmoid(self.expand(F.relu(self.squeeze(std + mean))))
        return x * w


class ChannelWeight(nn.Module):
    """BSRN-S replacement for CCA: a learnable scale per channel (tensor `weight`, 1 x C x 1 x 1)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))

    def forward(self, x):
        return x * self.weight


class BSRB(nn.Module):
    """Blueprint shallow residual block: GELU(BSConv(x) + x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = BSConv(channels, channels)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.conv(x) + x)


class ESDB(nn.Module):
    """Efficient separable distillation block."""

    def __init__(self, channels: int, attention: str = "cca", esa_channels: int = 16,
                 cca_reduction: int = 16):
        super().__init__()
        dc = channels // 2
        self.distill = nn.ModuleList(nn.Conv2d(channels, dc, 1) for _ in range(3))
        self.refine = nn.ModuleList(BSRB(channels) for _ in range(3))
        self.last = BSConv(channels, dc)
        self.condense = nn.Conv2d(4 * dc, channels, 1)
        self.esa = ESA(channels, esa_channels)
        if attention == "cca":
            self.attn = CCA(channels, cca_reduction)
        elif attention == "channel_weight":
            self.attn = ChannelWeight(channels)
        else:
            raise ValueError(f"attention must be 'cca' or 'channel_weight', got '{attention}'")
        self.act = nn.GELU()

    def forward(self, x):
        distilled, r = [], x
        for distill, refine in zip(self.distill, self.refine):
            distilled.append(self.act(distill(r)))
            r = refine(r)
        distilled.append(self.act(self.last(r)))
        y = self.condense(torch.cat(distilled, dim=1))
        return self.attn(self.esa(y)) + x


class BSRN(nn.Module):
    arch_name = "bsrn"

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, scale: int = 4,
                 channels: int = 64, num_blocks: int = 8, attention: str = "cca",
                 input_repeat: int = 4, esa_channels: int = 16, cca_reduction: int = 16,
                 skip: str = "none"):
        super().__init__()
        out_channels = out_channels or in_channels
        if skip not in ("nearest", "none"):
            raise ValueError(f"skip must be 'nearest' or 'none', got '{skip}'")
        if skip == "nearest" and in_channels != out_channels:
            raise ValueError("a nearest skip needs in_channels == out_channels")
        if channels % 2:
            raise ValueError("channels must be even (ESDB distils half of them)")
        self.scale, self.skip, self.input_repeat = scale, skip, input_repeat
        self.in_channels, self.out_channels = in_channels, out_channels
        self.head = BSConv(in_channels * input_repeat, channels)
        self.blocks = nn.ModuleList(
            ESDB(channels, attention, esa_channels, cca_reduction) for _ in range(num_blocks))
        self.fuse_conv = nn.Conv2d(channels * num_blocks, channels, 1)
        self.fuse_act = nn.GELU()
        self.fuse_bsconv = BSConv(channels, channels)
        self.tail = nn.Conv2d(channels, out_channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self.config = dict(in_channels=in_channels, out_channels=out_channels, scale=scale,
                           channels=channels, num_blocks=num_blocks, attention=attention,
                           input_repeat=input_repeat, esa_channels=esa_channels,
                           cca_reduction=cca_reduction, skip=skip)

    def forward(self, x):
        f0 = self.head(torch.cat([x] * self.input_repeat, dim=1))
        outs, y = [], f0
        for block in self.blocks:
            y = block(y)
            outs.append(y)
        y = self.fuse_bsconv(self.fuse_act(self.fuse_conv(torch.cat(outs, dim=1)))) + f0
        y = self.shuffle(self.tail(y))
        if self.skip == "nearest":
            y = y + nearest_upsample(x, self.scale)
        return y

    def fuse(self):
        return self  # nothing to fold

    def receptive_field(self) -> int:
        return 0  # global: ESA pooling and CCA statistics see the whole tile
