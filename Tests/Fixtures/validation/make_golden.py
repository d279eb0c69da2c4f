#!/usr/bin/env python3
"""Golden values for Tests/ValidationTests, from the reference implementations.

Pinned: scikit-learn==1.9.1, numpy==2.4.6 (Python 3.11). Recreate with
    python3 -m venv .bench/golden && .bench/golden/bin/pip install scikit-learn==1.9.1 numpy==2.4.6
    .bench/golden/bin/python Tests/Fixtures/validation/make_golden.py /path/to/rsna/train.csv
It writes, beside itself:
  train.csv.zst   RSNA's real train.csv (zstd -19), the table the folds tests run on;
  golden.json     roc_auc_score / average_precision_score / the competition's pfbeta on small cases
                  (edge cases included), on 54,706 tied scores, and StratifiedGroupKFold(shuffle=False)
                  and GroupKFold assignments on train.csv (one fold digit per patient, patients ascending).
"""
import json
import os
import subprocess
import sys

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

HERE = os.path.dirname(os.path.abspath(__file__))
assert sklearn.__version__ == "1.9.1" and np.__version__ == "2.4.6", (sklearn.__version__, np.__version__)


def pfbeta(labels, predictions, beta):
    """The RSNA Screening Mammography competition's metric, as published on Kaggle."""
    y_true_count = 0
    ctp = 0
    cfp = 0

    for idx in range(len(labels)):
        prediction = min(max(predictions[idx], 0), 1)
        if (labels[idx]):
            y_true_count += 1
            ctp += prediction
        else:
            cfp += prediction

    beta_squared = beta * beta
    c_precision = ctp / (ctp + cfp)
    c_recall = ctp / y_true_count
    if (c_precision > 0 and c_recall > 0):
        result = (1 + beta_squared) * (c_precision * c_recall) / (beta_squared * c_precision + c_recall)
        return result
    else:
        return 0


def guarded(fn):
    """None where the reference raises (sklearn: one class only; pfbeta: division by zero)."""
    try:
        value = fn()
    except (ValueError, ZeroDivisionError):
        return None
    return None if value is None or np.isnan(value) else float(value)


def metric_case(name, labels, scores, weights=None):
    labels = [int(v) for v in labels]
    scores = [float(v) for v in scores]
    case = {"name": name, "labels": labels, "scores": scores}
    if weights is not None:
        case["weights"] = [int(w) for w in weights]
        expanded_labels = [l for l, w in zip(labels, weights) for _ in range(w)]
        expanded_scores = [s for s, w in zip(scores, weights) for _ in range(w)]
    else:
        expanded_labels, expanded_scores = labels, scores
    case["roc_auc"] = guarded(lambda: roc_auc_score(labels, scores, sample_weight=weights))
    case["average_precision"] = guarded(lambda: average_precision_score(labels, scores, sample_weight=weights))
    # pfbeta has no weights: a weight is that many copies of the sample.
    case["pfbeta"] = guarded(lambda: pfbeta(expanded_labels, expanded_scores, 1))
    return case


def hashed_scores(labels):
    """Scores both sides can compute exactly: integers / 1000, many ties, positives shifted up."""
    ids = np.arange(len(labels), dtype=np.uint64)
    h = (ids * np.uint64(2654435761)) % np.uint64(2**32)
    return [(int(v) % 1000 + 300 * int(l)) / 1000.0 for v, l in zip(h, labels)]


def main():
    train_csv = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/rsna/train.csv"
    rng = np.random.default_rng(20261126)
    cases = []
    labels = rng.integers(0, 2, 200)
    cases.append(metric_case("random 200, two-decimal ties", labels, np.round(rng.random(200) * 0.6 + labels * 0.3, 2)))
    labels = (rng.random(500) < 0.03).astype(int)
    cases.append(metric_case("3% positives, continuous", labels, rng.beta(1, 8, 500) + labels * rng.random(500) * 0.3))
    cases.append(metric_case("all predictions equal", [0, 1, 0, 0, 1, 0], [0.3] * 6))
    cases.append(metric_case("no positives", [0, 0, 0, 0], [0.1, 0.4, 0.2, 0.9]))
    cases.append(metric_case("no negatives", [1, 1, 1], [0.1, 0.4, 0.2]))
    cases.append(metric_case("all predictions zero", [0, 1, 0, 1], [0.0, 0.0, 0.0, 0.0]))
    cases.append(metric_case("predictions outside 0..1", [0, 1, 0, 1, 1, 0, 0], [-0.5, 1.7, 0.2, 0.9, -2.0, 3.0, 0.0]))
    cases.append(metric_case("perfect separation", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]))
    cases.append(metric_case("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]))
    labels = rng.integers(0, 2, 60)
    cases.append(metric_case("integer weights (bootstrap multiplicities)", labels,
                             np.round(rng.random(60) * 0.5 + labels * 0.25, 1), weights=rng.integers(0, 4, 60)))

    import csv
    with open(train_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    patients = np.array([int(r["patient_id"]) for r in rows])
    cancer = np.array([int(r["cancer"]) for r in rows])
    scores = hashed_scores(cancer)
    large = {"name": "train.csv cancer labels, hashed scores (see hashed_scores)",
             "roc_auc": float(roc_auc_score(cancer, scores)),
             "average_precision": float(average_precision_score(cancer, scores)),
             "pfbeta": float(pfbeta(cancer, scores, 1))}

    unique_patients = np.unique(patients)
    folds = {}
    for name, splitter in [("stratified-group k=4", StratifiedGroupKFold(4, shuffle=False)),
                           ("stratified-group k=5", StratifiedGroupKFold(5, shuffle=False)),
                           ("group k=4", GroupKFold(4)),
                           ("group k=5", GroupKFold(5))]:
        fold_of_row = np.empty(len(rows), dtype=int)
        for f, (_, test) in enumerate(splitter.split(np.zeros(len(rows)), cancer, patients)):
            fold_of_row[test] = f
        fold_of_patient = {}
        for p, f in zip(patients, fold_of_row):
            assert fold_of_patient.setdefault(p, f) == f
        folds[name] = "".join(str(fold_of_patient[p]) for p in unique_patients)

    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump({"versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
                   "metric_cases": cases, "large_case": large,
                   "train_csv_bytes": os.path.getsize(train_csv), "train_csv_rows": len(rows),
                   "folds_by_patient": folds}, f, indent=1)
        f.write("\n")
    subprocess.check_call(["zstd", "-19", "-q", "-f", train_csv, "-o", os.path.join(HERE, "train.csv.zst")])


if __name__ == "__main__":
    main()
