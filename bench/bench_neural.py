"""Neural core: training-step throughput (forward, BCE, backward, AdamW; batch 16, fp32, 2 threads) of the
same architectures in mammoflow (`mammoflow-neural-bench`) and PyTorch CPU (channels_last).
Rows: images/s for each (ratio > 1: we are faster), plus our achieved GFLOP/s."""
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import BIN, emit, run

THREADS, BATCH, STEPS = 2, 16, 3
# Rounds alternate PyTorch and mammoflow and keep each side's best: on a shared machine one side can
# otherwise land in a busy minute and the other in a quiet one.
ROUNDS = 3
torch.set_num_threads(THREADS)


def conv_bn(cin, cout, k, stride=1, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act) if act is not None else nn.Sequential(*layers)


def tiny():
    widths = [16, 32, 64, 128]
    layers = [conv_bn(1, 16, 3, 2, act=nn.ReLU())]
    layers += [conv_bn(a, b, 3, 2, act=nn.ReLU()) for a, b in zip(widths, widths[1:])]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 1))


class Residual(nn.Module):
    def __init__(self, body, shortcut=None, after=None):
        super().__init__()
        self.body, self.shortcut, self.after = body, shortcut, after

    def forward(self, x):
        y = self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)
        return self.after(y) if self.after is not None else y


def resnet18():
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
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.reduce, self.expand = nn.Linear(c, r), nn.Linear(r, c)

    def forward(self, x):
        g = torch.sigmoid(self.expand(F.silu(self.reduce(x.mean((2, 3))))))
        return x * g[:, :, None, None]


def effnetv2_cpu(width=0.5, depth=0.34, head=512):
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
    layers += [conv_bn(cin, head, 1, act=nn.SiLU()), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(head, 1)]
    return nn.Sequential(*layers)


def torch_images_per_second(make, h, w):
    torch.manual_seed(0)
    model = make().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, 1, h, w).to(memory_format=torch.channels_last)
    y = (torch.arange(BATCH) % 2).float()
    best = float("inf")
    for step in range(STEPS + 1):
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
        loss.backward()
        opt.step()
        if step > 0:
            best = min(best, time.perf_counter() - t)
    return BATCH / best


def ours(model, h, w):
    out = run(os.path.join(BIN, "mammoflow-neural-bench"), "--model", model, "--height", h, "--width", w,
              "--batch", BATCH, "--threads", THREADS, "--steps", STEPS)
    return json.loads(out.strip().splitlines()[-1])


for name, make, model, h, w in [
    ("tiny CNN 256x256", tiny, "tiny", 256, 256),
    ("tiny CNN 512x320", tiny, "tiny", 512, 320),
    ("ResNet-18 256x256", resnet18, "resnet18", 256, 256),
    ("EfficientNetV2-cpu 512x320", effnetv2_cpu, "effnetv2-cpu", 512, 320),
]:
    peer, mine = 0, None
    for _ in range(ROUNDS):
        peer = max(peer, torch_images_per_second(make, h, w))
        result = ours(model, h, w)
        mine = result if mine is None or result["images_per_second"] > mine["images_per_second"] else mine
    emit(f"neural train step {name} (b16, 2 threads)", mine["images_per_second"], peer, "img/s", higher_is_better=True)
    emit(f"neural train step {name} achieved", mine["gflops"], None, "GFLOP/s", higher_is_better=True)
