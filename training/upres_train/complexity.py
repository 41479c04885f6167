"""Cost figures: multiply-adds per input pixel, parameters, receptive field."""
from __future__ import annotations

import torch
import torch.nn as nn


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def macs_per_pixel(model: nn.Module, in_channels: int, size=(128, 128)) -> float:
    """Multiply-adds of convs and linear layers per input (LR) pixel, measured with hooks on a
    size[0] x size[1] input. Element-wise ops (activations, adds, attention products, pooling)
    are not counted, as in the papers. ESA's pooled branch makes BSRN's figure depend slightly
    on the size; 128 x 128 is close to the large-frame value."""
    total = 0

    def conv_hook(m, _inp, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1]
        total += out.numel() * (m.in_channels // m.groups) * k

    def linear_hook(m, _inp, out):
        nonlocal total
        total += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        ref = next(model.parameters())
        model(torch.zeros(1, in_channels, *size, dtype=ref.dtype, device=ref.device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total / (size[0] * size[1])


def measured_receptive_field(model: nn.Module, in_channels: int, size: int = 65) -> int:
    """Side of the input window that influences the centre output pixel, found by gradient
    (float64). Used by the tests to check each arch's analytic receptive_field()."""
    model = model.double().eval()
    x = torch.rand(1, in_channels, size, size, dtype=torch.float64, requires_grad=True)
    y = model(x)
    cy, cx = y.shape[2] // 2, y.shape[3] // 2
    y[0, :, cy, cx].sum().backward()
    nz = (x.grad[0].abs().sum(0) > 0).nonzero()
    return int(max(nz[:, 0].max() - nz[:, 0].min(), nz[:, 1].max() - nz[:, 1].min()) + 1)
