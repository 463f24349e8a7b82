"""MobileNetV2 (Sandler et al. 2018) laid out exactly as torchvision's `mobilenet_v2()`,
so that a torchvision state dict loads into it without torchvision installed
(Debian's python3-torchvision is not on the training machines)."""

from __future__ import annotations

from torch import nn

# (expansion, output channels, blocks, first stride), torchvision's inverted_residual_setting.
SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
LAST_CHANNELS = 1280


def _conv_bn_relu6(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = [] if expansion == 1 else [_conv_bn_relu6(cin, hidden, kernel=1)]
        layers += [_conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_residual else self.conv(x)


def mobilenet_v2_features() -> nn.Sequential:
    """torchvision's `mobilenet_v2().features`: stride 32, 1280 output channels."""
    layers: list[nn.Module] = [_conv_bn_relu6(3, 32, stride=2)]
    cin = 32
    for expansion, cout, blocks, stride in SETTING:
        for i in range(blocks):
            layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expansion))
            cin = cout
    layers.append(_conv_bn_relu6(cin, LAST_CHANNELS, kernel=1))
    return nn.Sequential(*layers)
