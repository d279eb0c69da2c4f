"""Neural core: training-step throughput (forward, BCE, backward, AdamW; batch 16, fp32, 2 threads) of the
same architectures in mammoflow (`mammoflow-neural-bench`) and PyTorch CPU (channels_last).
Rows: images/s for each (ratio > 1: we are faster), plus our achieved GFLOP/s."""
import json
import os
import time

import torch
import torch.nn.functional as F

from common import BIN, emit, run
from torch_models import effnetv2_cpu, resnet18, tiny

THREADS, BATCH, STEPS = 2, 16, 3
# Rounds alternate PyTorch and mammoflow and keep each side's best: on a shared machine one side can
# otherwise land in a busy minute and the other in a quiet one.
ROUNDS = 3
torch.set_num_threads(THREADS)


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
