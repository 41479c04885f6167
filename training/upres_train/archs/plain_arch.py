"""Plain family: PlainUSR / SRVGGNetCompact style (branch-free 3x3 convs, fastest on CPUs).

    conv3x3(in -> C), act, num_conv x (conv3x3(C -> C), act), conv3x3(C -> out * s^2),
    pixel shuffle, + nearest-neighbour upsample of the input.

`num_conv` counts the body convs as SRVGGNetCompact does, so the net has num_conv + 2 convs
(realesr-animevideov3 is num_conv=16, channels=64). With `rep_branches` every 3x3 conv is a
RepConv3x3 during training; `fuse()` folds them, after which the net is an ordinary plain net.

Example:
    net = PlainSR(scale=2, channels=32, num_conv=8, act="prelu")
    y = net(torch.rand(1, 1, 48, 64))   # -> 1 x 1 x 96 x 128
"""
from __future__ import annotations

from .common import ConvChainSR


class PlainSR(ConvChainSR):
    arch_name = "plain"

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, scale: int = 2,
                 channels: int = 32, num_conv: int = 8, act: str = "prelu",
                 skip: str = "nearest", rep_branches=None):
        out_channels = out_channels or in_channels
        layers = [(in_channels, channels, 3)]
        layers += [(channels, channels, 3)] * num_conv
        layers += [(channels, out_channels * scale * scale, 3)]
        super().__init__(layers, act, in_channels, out_channels, scale, skip,
                         list(rep_branches) if rep_branches else None)
        self.config = dict(in_channels=in_channels, out_channels=out_channels, scale=scale,
                           channels=channels, num_conv=num_conv, act=act, skip=skip,
                           rep_branches=list(rep_branches) if rep_branches else None)
