"""Validation bench: folds of RSNA's train.csv and ROC AUC of 54,706 predictions, mammoflow vs scikit-learn.

- folds: `mammoflow folds` as a whole process (reading the CSV, assigning, writing folds.csv) against
  scikit-learn's StratifiedGroupKFold(4, shuffle=True).split alone (its CSV reading not counted).
- roc_auc: in-process best-of-N on both sides (`mammoflow score --time-auc N` times rank + curve + area,
  after reading; roc_auc_score on numpy arrays).
"""
import csv
import json
import os
import random

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from common import BIN, ROOT, WORK, best_of, emit, run

TRAIN = os.environ.get("RSNA_TRAIN_CSV", os.path.join(ROOT, "..", "shared", "rsna", "train.csv"))
if not os.path.exists(TRAIN):  # a clone without ../shared: the committed copy
    import zstandard
    TRAIN = os.path.join(WORK, "train.csv")
    with open(os.path.join(ROOT, "Tests/Fixtures/validation/train.csv.zst"), "rb") as f:
        open(TRAIN, "wb").write(zstandard.ZstdDecompressor().decompressobj().decompress(f.read()))
MAMMOFLOW = os.path.join(BIN, "mammoflow")

rows = list(csv.DictReader(open(TRAIN, newline="")))
patients = np.array([int(r["patient_id"]) for r in rows])
cancer = np.array([int(r["cancer"]) for r in rows])

# Folds.
out = os.path.join(WORK, "folds.csv")
ours = best_of(lambda: run(MAMMOFLOW, "folds", "--table", TRAIN, "--seed", 42, "-o", out), repeat=3)
splitter = StratifiedGroupKFold(4, shuffle=True, random_state=42)
peer = best_of(lambda: list(splitter.split(np.zeros(len(rows)), cancer, patients)), repeat=3)
emit("folds: StratifiedGroupKFold k=4 on train.csv (54,706 rows)", ours, peer, "s")

# ROC AUC of 54,706 predictions with ties (4 decimals).
rng = random.Random(1)
predictions = [round(min(1.0, rng.betavariate(1, 30) + y * rng.random() * 0.15), 4) for y in cancer]
path = os.path.join(WORK, "predictions.csv")
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["patient_id", "image_id", "prediction"])
    for r, p in zip(rows, predictions):
        w.writerow([r["patient_id"], r["image_id"], p])
timed = json.loads(run(MAMMOFLOW, "score", "--predictions", path, "--table", TRAIN, "--time-auc", 50, "-o", os.path.join(WORK, "unused.json")))
y, p = cancer, np.array(predictions)
peer = best_of(lambda: roc_auc_score(y, p), repeat=50)
assert abs(timed["roc_auc"] - roc_auc_score(y, p)) < 1e-12, (timed["roc_auc"], roc_auc_score(y, p))
emit("roc_auc: 54,706 predictions", timed["seconds"], peer, "s")
