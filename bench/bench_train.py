"""The train stage end to end against PyTorch: one fold of `mammoflow-train` run by `mammoflow run`, and the
same recipe in PyTorch (below) reading the same pectoral shards through the Python shard reader
(python/mammoflow), with the same folds.csv and train.csv labels.

The cohort is demo.yaml's (a synthetic cohort, decoded, downscaled, cropped, pectoral muscle removed, folds),
made in a private cache under .bench/train by a pipeline file this script writes: it extends demo.yaml, trains
fold 0 only with the recipe in TRAIN_PARAMS, and predicts that fold from the last checkpoint. PyTorch takes
every choice of the recipe from the train run's manifest summary and refuses one it does not mirror.

The same on both sides: EfficientNetV2-cpu (bench/torch_models.py, our initialisation's distributions) with
dropout before the classifier; the model input (OpenCV INTER_AREA shrink keeping the aspect ratio, left-anchored,
vertically centred, zero padding, divided by 2^bits - 1, then (x - mean) / std); the augmentations
(albumentations 1.3.1 HorizontalFlip and ShiftScaleRotate with our preset's limits, border 0, applied to the
0..1 plane before normalising); the balanced sampler (each draw a cancer with probability positive_fraction,
with replacement, as many draws as training images); Lookahead(RAdam) k=5 alpha=0.5 with L2 weight decay on
convolution and linear weights only; cosine annealing per step; BCE with logits; the batch and the epochs;
2 threads (torch.set_num_threads, OpenCV 1 thread in the loader as our loader is one thread); one background
thread preparing batches two ahead, as our BatchLoader; channels_last. The random draws differ (weights,
order, augmentations): the held-out AUCs are compared through a paired patient bootstrap, not value by value.

Rows (side by side: rounds alternate ours and PyTorch and keep each side's best, because the machine is shared):
- epoch time: the fastest epoch (training plus held-out validation) of each side; ratio = PyTorch / ours.
- peak RSS of one fold's job (the largest process of the run; wait4's ru_maxrss); ratio = PyTorch / ours.
- held-out AUC after the last epoch, both sides; the row's name says whether they agree: the 95% interval of
  the paired patient-bootstrap difference contains 0. Ours comes from the predict stage's predictions of the
  last checkpoint (cross-checked against the train stage's own last-epoch AUC).

`python3 bench/run.py train` runs this alone; `python3 bench/bench_train.py --torch <cache>` is the PyTorch job
by itself (it prints one JSON line).
"""
import json
import math
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time

import numpy as np

from common import BIN, ROOT, emit
from torch_models import BACKBONES

sys.path.insert(0, os.path.join(ROOT, "python"))
from mammoflow.cache import Cache  # noqa: E402
from mammoflow.torch import ImageRecords  # noqa: E402

HERE = os.path.join(ROOT, ".bench", "train")
CACHE = os.path.join(HERE, "cache")
PIPELINE = os.path.join(HERE, "pipeline.yaml")
FOLD = 0
TRAIN_PARAMS = {"model": "baseline", "backbone": "efficientnetv2-cpu", "height": 256, "width": 160, "epochs": 4,
                "batch": 16, "augment": "baseline", "seed": 0}
THREADS = 2
ROUNDS = 2
BOOTSTRAP = 2000


def write_pipeline():
    """The bench's pipeline: demo.yaml's cohort and preprocessing; train on fold 0 only; predict it."""
    os.makedirs(HERE, exist_ok=True)
    base = os.path.relpath(os.path.join(ROOT, "pipelines", "demo.yaml"), HERE)
    params = ", ".join(f"{k}: {v}" for k, v in TRAIN_PARAMS.items())
    text = (f"# Written by bench/bench_train.py.\nextends: {base}\nstages:\n"
            f"  train:   {{ foreach: {{ fold: [{FOLD}] }}, params: {{ {params} }} }}\n"
            f"  predict: {{ params: {{ checkpoint: last }} }}\n"
            f"  score:   ~\n")
    with open(PIPELINE, "w") as f:
        f.write(text)


def run_with_peak_rss(args, env=None):
    """Runs a command; returns (peak RSS in MiB of its largest process, the command's own or a child's it
    waited for: the train job; its standard output), failing loudly on a non-zero exit."""
    proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited with {proc.returncode}")
    return usage.ru_maxrss / 1024, out


def mammoflow(*args):
    return [os.path.join(BIN, "mammoflow"), "run", PIPELINE, "--cache", CACHE, "-j", "1", *args]


EPOCH_LINE = re.compile(r"train: epoch (\d+)/(\d+) .* (\d+(?:\.\d+)?) s \(loader wait (\d+(?:\.\d+)?) s\)")


def watch_train_log(arrivals, stop):
    """Appends (time, line) for each "train: ..." line written to a job log under CACHE/logs while `stop` is
    unset. The log gives each epoch's time in whole seconds; the times its lines arrive are finer."""
    folder, offsets = os.path.join(CACHE, "logs"), {}
    for name in os.listdir(folder):
        offsets[name] = os.path.getsize(os.path.join(folder, name))
    while not stop.wait(0.02):
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            size = os.path.getsize(path)
            if size < offsets.get(name, 0):
                offsets[name] = 0
            if size > offsets.get(name, 0):
                with open(path) as f:
                    f.seek(offsets.get(name, 0))
                    text = f.read()
                now = time.perf_counter()
                complete = text[:text.rfind("\n") + 1]
                offsets[name] = offsets.get(name, 0) + len(complete.encode())
                arrivals += [(now, line) for line in complete.splitlines() if line.startswith("train: ")]


def ours_round():
    """One run of our train job (forced): each epoch's seconds (between the arrivals of its log line and the
    previous one), the loader's waits, peak RSS, its run."""
    arrivals, stop = [], threading.Event()
    watcher = threading.Thread(target=watch_train_log, args=(arrivals, stop))
    watcher.start()
    try:
        peak, _ = run_with_peak_rss(mammoflow("--until", "train", "--force", "train"))
    finally:
        stop.set()
        watcher.join()
    run = Cache(CACHE).newest_run("train", fold=FOLD)
    count = run.manifest["summary"]["recipe"]["epochs"]
    starts = [t for t, line in arrivals if line.startswith("train: fold")]
    lines = [(t, EPOCH_LINE.match(line)) for t, line in arrivals if EPOCH_LINE.match(line)]
    if len(starts) != 1 or len(lines) != count:
        raise RuntimeError(f"job log of train fold {FOLD}: saw {len(starts)} start and {len(lines)} epoch lines, "
                           f"expected 1 and {count}")
    times = [starts[0]] + [t for t, _ in lines]
    epochs = [(b - a, float(m.group(4))) for a, b, (_, m) in zip(times, times[1:], lines)]
    return epochs, peak, run


# ---- PyTorch: the same recipe -------------------------------------------------------------------------------

def mirrored_recipe(recipe):
    """The recipe (keyed by the train stage's param names), refused when it asks for something this script does
    not mirror."""
    missing = [k for k in ("lr", "weight_decay", "positive_fraction", "pool") if k not in recipe]
    if missing:
        raise SystemExit(f"the train run's recipe has no {', '.join(missing)} (its keys: {', '.join(sorted(recipe))}); "
                         "bench_train.py reads the recipe keyed by the stage's param names")
    expected = {"model": "baseline", "optimizer": "lookahead-radam", "schedule": "cosine", "sampler": "balanced",
                "pos_weight": 1, "drop_path": 0, "ema": 0, "augment_p": {}, "pool": "avg"}
    differing = {k: recipe.get(k) for k, v in expected.items() if recipe.get(k) != v}
    if differing or recipe["augment"] not in ("none", "baseline") or recipe["backbone"] not in BACKBONES:
        raise SystemExit(f"bench_train.py mirrors {expected}, augment none|baseline and backbone "
                         f"{'|'.join(BACKBONES)}; the recipe has {differing}, augment {recipe['augment']}, "
                         f"backbone {recipe['backbone']}")
    return recipe


def fitted_size(width, height, max_width, max_height):
    """Resample.fittedSize: the largest size of the same aspect ratio within the bounds, rounded."""
    scale = min(max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def model_input_plane(pixels, height, width):
    """ModelInput.write: (H, W) float32 in 0..1 resized with its aspect ratio kept into a zero height x width
    plane, at the left edge, centred vertically (an odd spare row below)."""
    import cv2
    h, w = pixels.shape
    fw, fh = fitted_size(w, h, width, height)
    interpolation = cv2.INTER_AREA if fw < w else cv2.INTER_LINEAR
    plane = np.zeros((height, width), np.float32)
    top = (height - fh) // 2
    plane[top:top + fh, :fw] = cv2.resize(pixels, (fw, fh), interpolation=interpolation)
    return plane


def augmentation(preset):
    """Our `baseline` preset in albumentations 1.3.1 (Augmentations.swift: rotation limit 15, border 0)."""
    import albumentations as A
    import cv2
    if preset == "none":
        return None
    return A.Compose([
        A.HorizontalFlip(p=0.5),
        A.ShiftScaleRotate(shift_limit=0.0625, scale_limit=0.1, rotate_limit=15, interpolation=cv2.INTER_LINEAR,
                           border_mode=cv2.BORDER_CONSTANT, value=0, p=0.5),
    ])


def balanced_order(labels, positive_fraction, rng):
    """Batches.swift epochOrder's balanced sampler: len(labels) draws with replacement, each a cancer with
    probability positive_fraction."""
    positives, negatives = np.flatnonzero(labels > 0), np.flatnonzero(labels == 0)
    if len(positives) == 0 or len(negatives) == 0:
        return rng.permutation(len(labels))
    pick_positive = rng.random(len(labels)) < positive_fraction
    return np.where(pick_positive, positives[rng.integers(len(positives), size=len(labels))],
                    negatives[rng.integers(len(negatives), size=len(labels))])


def prefetched(make, count, ahead=2):
    """make(0), make(1), ... prepared on one background thread, `ahead` batches in advance."""
    ready = queue.Queue(maxsize=ahead)

    def produce():
        for i in range(count):
            try:
                ready.put((make(i), None))
            except Exception as error:  # handed to the consumer, which raises it
                ready.put((None, error))
                return

    threading.Thread(target=produce, daemon=True).start()
    for _ in range(count):
        batch, error = ready.get()
        if error is not None:
            raise error
        yield batch


class Lookahead:
    """Lookahead (Zhang et al. 2019) over an optimizer, as Sources/Neural/Optimizers.swift: every k inner steps,
    slow += alpha (fast - slow) and fast = slow; the slow weights start as the initial weights."""

    def __init__(self, inner, k=5, alpha=0.5):
        import torch
        self.inner, self.k, self.alpha, self.steps = inner, k, alpha, 0
        self.slow = [[p.detach().clone() for p in g["params"]] for g in inner.param_groups]
        self.torch = torch

    def step(self):
        self.inner.step()
        self.steps += 1
        if self.steps % self.k:
            return
        with self.torch.no_grad():
            for group, slows in zip(self.inner.param_groups, self.slow):
                for p, slow in zip(group["params"], slows):
                    slow.add_(p - slow, alpha=self.alpha)
                    p.copy_(slow)


def patient_bootstrap_auc(labels, scores, patients, replicates=BOOTSTRAP, seed=0):
    """AUCs of `replicates` resamples of the patients with replacement, for each column of `scores`
    (n images x k models, paired: the same resample for every column)."""
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(seed)
    ids, groups = np.unique(patients, return_inverse=True)
    members = [np.flatnonzero(groups == g) for g in range(len(ids))]
    out = []
    for _ in range(replicates):
        take = np.concatenate([members[g] for g in rng.integers(len(ids), size=len(ids))])
        if labels[take].min() == labels[take].max():
            continue
        out.append([roc_auc_score(labels[take], scores[take, j]) for j in range(scores.shape[1])])
    return np.array(out)


def torch_job(cache_dir):
    """The PyTorch side: trains the fold with the recipe of our newest train run; prints one JSON line with
    each epoch's seconds and held-out AUC, and the last epoch's held-out probabilities by key."""
    import cv2
    import torch
    import torch.nn.functional as F
    from sklearn.metrics import roc_auc_score
    from torch_models import init_like_mammoflow

    torch.set_num_threads(THREADS)
    cv2.setNumThreads(1)
    cache = Cache(cache_dir)
    ours = cache.newest_run("train", fold=FOLD)
    recipe = mirrored_recipe(ours.manifest["summary"]["recipe"])
    height, width, batch, epochs = recipe["height"], recipe["width"], recipe["batch"], recipe["epochs"]
    mean, std, seed = recipe["mean"], recipe["std"], recipe["seed"]
    images = cache.newest_run("pectoral")
    rows = cache.newest_run("synth").table("train.csv").by_key()
    folds = cache.newest_run("folds").table("folds.csv").by_key()
    keys = [k for k, _, _ in images.records() if k in folds and k in rows]
    train_keys = [k for k in keys if folds[k]["fold"] != FOLD]
    held_keys = [k for k in keys if folds[k]["fold"] == FOLD]
    train, held = ImageRecords(images, rows, train_keys, "cancer"), ImageRecords(images, rows, held_keys, "cancer")
    labels = np.array([int(r["cancer"]) for r in train.rows])
    held_labels = np.array([int(r["cancer"]) for r in held.rows])
    augment = augmentation(recipe["augment"])

    def batch_of(records, indices, augmenting):
        x = np.empty((len(indices), 1, height, width), np.float32)
        y = np.empty(len(indices), np.float32)
        for slot, i in enumerate(indices):
            pixels, cancer = records[i]
            plane = model_input_plane(pixels[0], height, width)
            if augmenting:
                plane = augment(image=plane)["image"]
            x[slot, 0] = (plane - mean) / std
            y[slot] = cancer
        return torch.from_numpy(x).contiguous(memory_format=torch.channels_last), torch.from_numpy(y)

    torch.manual_seed(seed)
    model = init_like_mammoflow(BACKBONES[recipe["backbone"]](classes=1, dropout=recipe["dropout"]))
    model = model.to(memory_format=torch.channels_last)
    decaying = [p for p in model.parameters() if p.ndim > 1]
    others = [p for p in model.parameters() if p.ndim <= 1]
    radam = torch.optim.RAdam([{"params": decaying, "weight_decay": recipe["weight_decay"]},
                               {"params": others, "weight_decay": 0.0}], lr=recipe["lr"])
    optimizer = Lookahead(radam)
    steps_per_epoch = math.ceil(len(train) / batch)
    total_steps = epochs * steps_per_epoch
    rng = np.random.default_rng(seed)
    random.seed(seed)  # albumentations draws from Python's `random`
    step, results = 0, []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = balanced_order(labels, recipe["positive_fraction"], rng)
        chunks = [order[i:i + batch] for i in range(0, len(order), batch)]
        loss_sum = 0.0
        for x, y in prefetched(lambda i: batch_of(train, chunks[i], augment is not None), len(chunks)):
            lr = recipe["lr"] * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)) / 2
            for group in radam.param_groups:
                group["lr"] = lr
            radam.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += loss.item() * len(y)
        model.eval()
        logits = []
        held_chunks = [list(range(i, min(i + batch, len(held)))) for i in range(0, len(held), batch)]
        with torch.inference_mode():
            for x, _ in prefetched(lambda i: batch_of(held, held_chunks[i], False), len(held_chunks)):
                logits.append(model(x).reshape(-1))
        logits = torch.cat(logits)
        probabilities = torch.sigmoid(logits).numpy().astype(float)
        validation_loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(held_labels).float()).item()
        seconds = time.perf_counter() - start
        results.append({"epoch": epoch + 1, "seconds": seconds, "train_loss": loss_sum / len(order),
                        "validation_loss": validation_loss, "auc": roc_auc_score(held_labels, probabilities)})
        print(f"torch: epoch {epoch + 1}/{epochs}  loss {results[-1]['train_loss']:.4f}  val loss "
              f"{validation_loss:.4f}  AUC {results[-1]['auc']:.3f}  {seconds:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps({"epochs": results, "predictions": dict(zip(held_keys, probabilities.tolist()))}), flush=True)


def torch_round():
    """One PyTorch job in its own process: its epochs, peak RSS and last-epoch predictions. Its OpenMP threads
    sleep when idle (OMP_WAIT_POLICY=PASSIVE): on a machine with more runnable threads than cores, libgomp's
    default spinning made PyTorch's 2-thread step several times slower than with 1 thread."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    peak, out = run_with_peak_rss([sys.executable, os.path.abspath(__file__), "--torch", CACHE], env)
    result = json.loads(out.strip().splitlines()[-1])
    return result, peak


def our_predictions():
    """Fold FOLD's held-out probabilities from the predict stage (last checkpoint), by key."""
    subprocess.run(mammoflow("--until", "predict"), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    table = Cache(CACHE).newest_run("predict").table("predictions.csv")
    return {row["image"]: row["prediction"] for row in table.rows if row["fold"] == FOLD}


def main():
    write_pipeline()
    print("train bench: preparing the cohort (demo.yaml's) in .bench/train/cache", file=sys.stderr, flush=True)
    for stage in ("pectoral", "folds"):
        subprocess.run(mammoflow("--until", stage), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ours_epochs, ours_peak, torch_epochs, torch_peak = [], 0.0, [], 0.0
    for r in range(ROUNDS):
        epochs, peak, run = ours_round()
        ours_epochs += epochs
        ours_peak = peak if r == 0 else min(ours_peak, peak)
        print(f"train bench round {r + 1}: ours epochs {[round(s, 1) for s, _ in epochs]} s "
              f"(loader waits {[round(w, 1) for _, w in epochs]} s), peak {peak:.0f} MiB", file=sys.stderr, flush=True)
        result, peak = torch_round()
        torch_epochs += [e["seconds"] for e in result["epochs"]]
        torch_peak = peak if r == 0 else min(torch_peak, peak)
        print(f"train bench round {r + 1}: PyTorch epochs {[round(e['seconds'], 1) for e in result['epochs']]} s, "
              f"peak {peak:.0f} MiB", file=sys.stderr, flush=True)
    recipe = run.manifest["summary"]["recipe"]
    what = (f"{recipe['backbone']} {recipe['height']}x{recipe['width']}, b{recipe['batch']}, "
            f"{recipe['epochs']} epochs, {THREADS} threads, side by side")
    best_ours, best_torch = min(s for s, _ in ours_epochs), min(torch_epochs)
    emit(f"train stage epoch time, fold {FOLD} ({what})", best_ours, best_torch, "s")
    emit(f"train stage peak RSS of one fold's job ({what})", ours_peak, torch_peak, "MiB")

    # Held-out AUC of the last epoch: ours from the predict stage, PyTorch's from its last round, paired.
    ours_by_key = our_predictions()
    torch_by_key = result["predictions"]
    rows = Cache(CACHE).newest_run("synth").table("train.csv").by_key()
    keys = sorted(torch_by_key)
    if sorted(ours_by_key) != keys:
        raise SystemExit(f"predict scored {len(ours_by_key)} held-out images of fold {FOLD}, PyTorch {len(keys)}")
    from sklearn.metrics import roc_auc_score
    labels = np.array([int(rows[k]["cancer"]) for k in keys])
    scores = np.array([[ours_by_key[k], torch_by_key[k]] for k in keys])
    auc_ours, auc_torch = roc_auc_score(labels, scores[:, 0]), roc_auc_score(labels, scores[:, 1])
    stage_auc = run.manifest["summary"]["epochs"][-1]["auc"]
    if abs(stage_auc - auc_ours) > 1e-6:
        print(f"train bench: WARNING the train stage's last-epoch AUC {stage_auc:.6f} differs from the predict "
              f"stage's {auc_ours:.6f} on the same checkpoint and images", file=sys.stderr, flush=True)
    boot = patient_bootstrap_auc(labels, scores, np.array([k.split("/")[0] for k in keys]))
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    d_lo, d_hi = np.percentile(boot[:, 0] - boot[:, 1], [2.5, 97.5])
    agree = d_lo <= 0 <= d_hi
    print(f"train bench: held-out AUC ours {auc_ours:.3f} [{lo[0]:.3f}, {hi[0]:.3f}], PyTorch {auc_torch:.3f} "
          f"[{lo[1]:.3f}, {hi[1]:.3f}], difference 95% interval [{d_lo:.3f}, {d_hi:.3f}] "
          f"({len(keys)} images, {len(set(k.split('/')[0] for k in keys))} patients, {len(boot)} replicates)",
          file=sys.stderr, flush=True)
    print(json.dumps({"name": f"train stage held-out AUC, last epoch, fold {FOLD} "
                              f"({'agree' if agree else 'DIFFER'}: paired patient bootstrap difference "
                              f"[{d_lo:.3f}, {d_hi:.3f}])",
                      "ours": round(auc_ours, 4), "peer": round(auc_torch, 4), "unit": "AUC", "ratio": None}),
          flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--torch"]:
        torch_job(sys.argv[2])
    else:
        main()
