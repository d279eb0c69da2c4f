#!/usr/bin/env python3
"""Golden values for Tests/NeuralTests from PyTorch: forward and backward of each layer, losses, optimizers,
schedules and two whole training steps of a small model.

Pinned: torch==2.13.0 (CPU wheel), numpy. Run from the repository root:
    python3 -m venv .bench/torch
    .bench/torch/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl numpy
    .bench/torch/bin/python Tests/Fixtures/neural/make_golden.py

Writes golden.bin (all tensors, float32 little-endian, concatenated) and golden.json
({case: {tensor: [offset in floats, shape]}, plus scalar values}). Images and activations are stored NHWC,
convolution weights as (Cout, kh, kw, Cin/groups): the layouts of the Swift library.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

assert torch.__version__.startswith("2.13.0"), torch.__version__
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # references in float64, stored as float32
HERE = os.path.dirname(os.path.abspath(__file__))

blob = []
index = {}
offset = 0


def put(case, name, t):
    global offset
    a = np.ascontiguousarray(t.detach().numpy() if torch.is_tensor(t) else np.asarray(t), dtype="<f4")
    index.setdefault(case, {})[name] = [offset, list(a.shape)]
    blob.append(a.tobytes())
    offset += a.size


def nhwc(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def conv_weight(w):
    return w.permute(0, 2, 3, 1)


def rand(*shape):
    return torch.randn(*shape, requires_grad=True)


def layer_case(case, fn, x, params):
    """Runs fn(x) with a random upstream gradient; stores x, params, y, dy, dx and parameter gradients."""
    y = fn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    put(case, "x", nhwc(x))
    put(case, "y", nhwc(y))
    put(case, "dy", nhwc(dy))
    put(case, "dx", nhwc(x.grad))
    for name, p in params.items():
        store = conv_weight if (p.dim() == 4) else (lambda t: t)
        put(case, name, store(p))
        put(case, "d" + name, store(p.grad))


# Convolutions: (case, N, H, W, Cin, Cout, kernel, stride, padding, dilation, groups, bias)
convs = [
    ("conv_3x3_s2", 2, 7, 6, 3, 4, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    ("conv_grouped_dilated", 2, 8, 8, 4, 6, (3, 3), (1, 1), (2, 2), (2, 2), 2, False),
    ("conv_1x1", 2, 5, 5, 6, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    ("conv_asymmetric", 1, 9, 8, 2, 3, (3, 5), (2, 1), (1, 2), (1, 1), 1, True),
    ("conv_depthwise_s2", 2, 9, 9, 8, 8, (3, 3), (2, 2), (1, 1), (1, 1), 8, True),
    ("conv_depthwise_k5", 2, 7, 6, 12, 12, (5, 5), (1, 1), (2, 2), (1, 1), 12, False),
]
for case, n, h, w, cin, cout, k, s, p, d, g, bias in convs:
    x = rand(n, cin, h, w)
    weight = rand(cout, cin // g, *k)
    b = rand(cout) if bias else None
    params = {"weight": weight} | ({"bias": b} if bias else {})
    layer_case(case, lambda t: F.conv2d(t, weight, b, s, p, d, g), x, params)

# Batch norm: train (batch statistics, running update) and eval, plain and fused with an activation.
for case, training, act in [("batchnorm_train", True, None), ("batchnorm_eval", False, None),
                            ("batchnorm_relu_train", True, F.relu), ("batchnorm_silu_train", True, F.silu)]:
    c = 6
    x = rand(3, c, 4, 5) * 2 + 1
    x = x.detach().requires_grad_()
    gamma, beta = rand(c), rand(c)
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    put(case, "running_mean_before", rm)
    put(case, "running_var_before", rv)
    bn = lambda t: F.batch_norm(t, rm, rv, gamma, beta, training, 0.1, 1e-5)
    layer_case(case, (lambda t: act(bn(t))) if act else bn, x, {"gamma": gamma, "beta": beta})
    put(case, "running_mean", rm)
    put(case, "running_var", rv)

for name, fn in [("relu", F.relu), ("silu", F.silu), ("mish", F.mish), ("sigmoid", torch.sigmoid)]:
    layer_case("act_" + name, fn, rand(4, 10), {})

layer_case("maxpool_k3_s2_p1", lambda t: F.max_pool2d(t, 3, 2, 1), rand(2, 3, 7, 8), {})
layer_case("avgpool_k3_s2_p1", lambda t: F.avg_pool2d(t, 3, 2, 1), rand(2, 3, 7, 8), {})
layer_case("avgpool_k2_p1_exclude_pad", lambda t: F.avg_pool2d(t, 2, 2, 1, count_include_pad=False), rand(2, 3, 7, 8), {})
layer_case("global_avg", lambda t: t.mean((2, 3)), rand(2, 5, 3, 4), {})
layer_case("global_max", lambda t: t.amax((2, 3)), rand(2, 5, 3, 4), {})
layer_case("global_catavgmax", lambda t: torch.cat([t.mean((2, 3)), t.amax((2, 3))], 1), rand(2, 5, 3, 4), {})

lw, lb = rand(4, 5), rand(4)
layer_case("linear", lambda t: F.linear(t, lw, lb), rand(3, 5), {"weight": lw, "bias": lb})

rw, rb, ew, eb = rand(2, 8), rand(2), rand(8, 2), rand(8)
layer_case("squeeze_excite",
           lambda t: t * torch.sigmoid(F.linear(F.silu(F.linear(t.mean((2, 3)), rw, rb)), ew, eb))[:, :, None, None],
           rand(2, 8, 3, 4), {"reduce_weight": rw, "reduce_bias": rb, "expand_weight": ew, "expand_bias": eb})

# Losses.
logits = rand(8)
targets = torch.tensor([0, 1, 0, 0, 1, 1, 0, 1.0])
smoothed = targets * 0.9 + 0.05
loss = F.binary_cross_entropy_with_logits(logits, smoothed, pos_weight=torch.tensor(3.0))
loss.backward()
put("bce", "logits", logits)
put("bce", "targets", targets)
put("bce", "loss", loss.reshape(1))
put("bce", "grad", logits.grad)

logits = rand(5, 4)
classes = torch.tensor([0, 3, 1, 2, 3])
loss = F.cross_entropy(logits, classes, label_smoothing=0.1)
loss.backward()
put("cross_entropy", "logits", logits)
put("cross_entropy", "targets", classes.double())
put("cross_entropy", "loss", loss.reshape(1))
put("cross_entropy", "grad", logits.grad)

# Optimizers: a decaying matrix and a non-decaying vector, fixed gradients per step.
for case, make, steps in [
    ("adamw", lambda g: torch.optim.AdamW(g, lr=1e-2, weight_decay=0.1), 3),
    ("adam", lambda g: torch.optim.Adam(g, lr=1e-2, weight_decay=0.1), 3),
    ("sgd_nesterov", lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), 3),
    ("radam", lambda g: torch.optim.RAdam(g, lr=1e-2, weight_decay=0.01), 8),
]:
    w, b = torch.randn(3, 4, requires_grad=True), torch.randn(4, requires_grad=True)
    put(case, "w0", w)
    put(case, "b0", b)
    opt = make([{"params": [w]}, {"params": [b], "weight_decay": 0.0}])
    for step in range(steps):
        w.grad, b.grad = torch.randn(3, 4), torch.randn(4)
        put(case, f"gw{step}", w.grad)
        put(case, f"gb{step}", b.grad)
        opt.step()
    put(case, "w", w)
    put(case, "b", b)

# Schedules: learning rate before each of the steps.
for case, make, steps in [
    ("cosine", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 12),
    ("onecycle", lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20), 20),
]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    put(case, "lr", torch.tensor(lrs))

# Two training steps (forward, BCE with pos_weight, backward, AdamW) of a small network built like
# Network(stem: convBN(1,8,k3,s2,relu), stages: [fusedMBConv(8,8,e4), mbConv(8,16,e2,s2,se.25)],
# head: convBN(16,32,k1,silu), global avg, linear 32->1). Parameter names are the Swift paths.
def conv_bn(prefix, cin, cout, k, groups=1):
    return {f"{prefix}.0.weight": torch.randn(cout, cin // groups, k, k) * (2 / (k * k * cin // groups)) ** 0.5,
            f"{prefix}.1.weight": 1 + 0.1 * torch.randn(cout), f"{prefix}.1.bias": 0.1 * torch.randn(cout)}


P = {}
P |= conv_bn("stem", 1, 8, 3)
P |= conv_bn("stages.0.body.0", 8, 32, 3)
P |= conv_bn("stages.0.body.1", 32, 8, 1)
P |= conv_bn("stages.1.0", 8, 16, 1)
P |= conv_bn("stages.1.1", 16, 16, 3, groups=16)
P["stages.1.2.conv_reduce.weight"] = torch.randn(2, 16) * 0.25
P["stages.1.2.conv_reduce.bias"] = torch.randn(2) * 0.1
P["stages.1.2.conv_expand.weight"] = torch.randn(16, 2) * 0.5
P["stages.1.2.conv_expand.bias"] = torch.randn(16) * 0.1
P |= conv_bn("stages.1.3", 16, 16, 1)
P |= conv_bn("head", 16, 32, 1)
P["classifier.weight"] = torch.randn(1, 32) * 0.2
P["classifier.bias"] = torch.zeros(1)
for t in P.values():
    t.requires_grad_()
R = {k: (torch.zeros(t.shape[0]), torch.ones(t.shape[0])) for k, t in P.items() if k.endswith(".1.weight") and t.dim() == 1}


def cbn(h, prefix, stride=1, groups=1, act=None):
    w = P[f"{prefix}.0.weight"]
    h = F.conv2d(h, w, None, stride, (w.shape[-1] - 1) // 2, 1, groups)
    rm, rv = R[f"{prefix}.1.weight"]
    h = F.batch_norm(h, rm, rv, P[f"{prefix}.1.weight"], P[f"{prefix}.1.bias"], True, 0.1, 1e-5)
    return act(h) if act else h


def model(x):
    h = cbn(x, "stem", 2, act=F.relu)
    h = h + cbn(cbn(h, "stages.0.body.0", act=F.silu), "stages.0.body.1")
    h = cbn(h, "stages.1.0", act=F.silu)
    h = cbn(h, "stages.1.1", 2, groups=16, act=F.silu)
    s = F.silu(F.linear(h.mean((2, 3)), P["stages.1.2.conv_reduce.weight"], P["stages.1.2.conv_reduce.bias"]))
    h = h * torch.sigmoid(F.linear(s, P["stages.1.2.conv_expand.weight"], P["stages.1.2.conv_expand.bias"]))[:, :, None, None]
    h = cbn(h, "stages.1.3")
    h = cbn(h, "head", act=F.silu)
    return F.linear(h.mean((2, 3)), P["classifier.weight"], P["classifier.bias"])


case = "train_step"
for k, t in P.items():
    put(case, "init/" + k, conv_weight(t) if t.dim() == 4 else t)
decay = [t for t in P.values() if t.dim() > 1]
no_decay = [t for t in P.values() if t.dim() <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-2)
x = torch.randn(4, 1, 16, 16)
y = torch.tensor([0.0, 1, 0, 1])
put(case, "x", nhwc(x))
put(case, "targets", y)
for step in range(2):
    opt.zero_grad()
    logits = model(x).reshape(-1)
    loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=torch.tensor(2.0))
    loss.backward()
    put(case, f"logits{step}", logits)
    put(case, f"loss{step}", loss.reshape(1))
    if step == 0:
        for k, t in P.items():
            put(case, "grad/" + k, conv_weight(t.grad) if t.dim() == 4 else t.grad)
    opt.step()
for k, t in P.items():
    put(case, "final/" + k, conv_weight(t) if t.dim() == 4 else t)
for k, (rm, rv) in R.items():
    put(case, "running_mean/" + k, rm)
    put(case, "running_var/" + k, rv)

with open(os.path.join(HERE, "golden.bin"), "wb") as f:
    f.write(b"".join(blob))
with open(os.path.join(HERE, "golden.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": index}, f, indent=0, sort_keys=True)
print(f"{offset} floats in {len(index)} cases")
