"""PyTorch mirrors of mammoflow's backbones (Sources/Neural/Models.swift), shared by the bench scripts that
set PyTorch against our neural core: bench_neural.py (train-step throughput) and bench_train.py (the train
stage end to end). One channel in, `classes` logits out."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride=1, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act) if act is not None else nn.Sequential(*layers)


def classifier(features, classes, dropout):
    """Global average pooling, optional dropout, linear: the head of every backbone (Network.swift)."""
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten()] + ([nn.Dropout(dropout)] if dropout > 0 else []) + \
        [nn.Linear(features, classes)]


def tiny(classes=1):
    widths = [16, 32, 64, 128]
    layers = [conv_bn(1, 16, 3, 2, act=nn.ReLU())]
    layers += [conv_bn(a, b, 3, 2, act=nn.ReLU()) for a, b in zip(widths, widths[1:])]
    return nn.Sequential(*layers, *classifier(128, classes, 0))


class Residual(nn.Module):
    def __init__(self, body, shortcut=None, after=None):
        super().__init__()
        self.body, self.shortcut, self.after = body, shortcut, after

    def forward(self, x):
        y = self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)
        return self.after(y) if self.after is not None else y


def resnet18(classes=1, dropout=0.0):
    layers = [nn.Conv2d(1, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, count in enumerate([2, 2, 2, 2]):
        planes = 64 << i
        for b in range(count):
            stride = 2 if b == 0 and i > 0 else 1
            body = nn.Sequential(conv_bn(cin, planes, 3, stride, act=nn.ReLU()), conv_bn(planes, planes, 3))
            short = conv_bn(cin, planes, 1, stride) if stride != 1 or cin != planes else None
            layers.append(Residual(body, short, nn.ReLU()))
            cin = planes
    return nn.Sequential(*layers, *classifier(512, classes, dropout))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.reduce, self.expand = nn.Linear(c, r), nn.Linear(r, c)

    def forward(self, x):
        g = torch.sigmoid(self.expand(F.silu(self.reduce(x.mean((2, 3))))))
        return x * g[:, :, None, None]


def effnetv2_cpu(classes=1, dropout=0.0, width=0.5, depth=0.34, head=512):
    """Mirror of Models.efficientNetV2(.cpu): timm's EfficientNetV2-B base scaled by width and depth."""
    def ch(c):
        s = c * width
        r = max(8, int(s + 4) // 8 * 8)
        return r + 8 if r < 0.9 * s else r

    base = [(True, 1, 1, 1, 16, 0), (True, 2, 2, 4, 32, 0), (True, 2, 2, 4, 48, 0),
            (False, 3, 2, 4, 96, 0.25), (False, 5, 1, 6, 112, 0.25), (False, 8, 2, 6, 192, 0.25)]
    cin = ch(32)
    layers = [conv_bn(1, cin, 3, 2, act=nn.SiLU())]
    for fused, reps, stride, e, c, se in base:
        cout = ch(c)
        for r in range(math.ceil(reps * depth)):
            s = stride if r == 0 else 1
            if fused and e == 1:
                body = [conv_bn(cin, cout, 3, s, act=nn.SiLU())]
            elif fused:
                body = [conv_bn(cin, cin * e, 3, s, act=nn.SiLU()), conv_bn(cin * e, cout, 1)]
            else:
                mid = cin * e
                body = [conv_bn(cin, mid, 1, act=nn.SiLU()), conv_bn(mid, mid, 3, s, groups=mid, act=nn.SiLU()),
                        SqueezeExcite(mid, max(1, int(cin * se))), conv_bn(mid, cout, 1)]
            body = nn.Sequential(*body)
            layers.append(Residual(body) if s == 1 and cin == cout else body)
            cin = cout
    layers += [conv_bn(cin, head, 1, act=nn.SiLU()), *classifier(head, classes, dropout)]
    return nn.Sequential(*layers)


def init_like_mammoflow(model):
    """Our initialisation (Conv2d.swift, BatchNorm.swift, Linear.swift): convolution weights normal with
    std sqrt(2 / (k * k * cout / groups)) (timm's fan-out rule), batch norm 1 and 0; linear layers keep
    PyTorch's default, as ours copies it. Different draws, the same distributions."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


# The train stage's backbones (its `backbone` param) mirrored here, with dropout before the classifier as
# ours (our tiny CNN has none, so it is not listed).
BACKBONES = {"resnet18": resnet18, "efficientnetv2-cpu": effnetv2_cpu}
