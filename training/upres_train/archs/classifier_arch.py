"""Tile classifier for ClassSR-style routing: a LR tile (e.g. 32 x 32 luma) -> logits for the
easy / medium / hard branches.

    len(channels) x (conv3x3 stride 2 padding 1, act) -> mean over H, W -> conv1x1 -> N x classes

The paper's classifier costs ~4M multiply-adds per 32x32 tile; the default here is ~0.5M
(it is run on every tile, so it must stay far cheaper than the easy branch).

Example:
    TileClassifier()(torch.rand(8, 1, 32, 32)).shape   # -> (8, 3)
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .common import make_act


class TileClassifier(nn.Module):
    arch_name = "classifier"

    def __init__(self, in_channels: int = 1, channels=(16, 32, 32), num_classes: int = 3,
                 act: str = "leakyrelu"):
        super().__init__()
        chans = [in_channels] + list(channels)
        self.convs = nn.ModuleList(
            nn.Conv2d(cin, cout, 3, stride=2, padding=1) for cin, cout in zip(chans, chans[1:]))
        self.acts = nn.ModuleList(make_act(act, c) for c in channels)
        self.head = nn.Conv2d(chans[-1], num_classes, 1)
        self.in_channels = in_channels
        self.scale = 1
        self.config = dict(in_channels=in_channels, channels=list(channels),
                           num_classes=num_classes, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x))
        return self.head(x.mean(dim=(2, 3), keepdim=True)).flatten(1)

    def fuse(self):
        return self

    def receptive_field(self) -> int:
        return 0  # global average pool
