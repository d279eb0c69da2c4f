#!/usr/bin/env python3
"""Is decoding at 1/4 (rsna.yaml's default, `decode.reduce: 2`) a sound stand-in for the study's full decode +
1/4 area downscale (`--set decode.reduce=0`)? Runs pipelines/rsna.yaml up to pectoral both ways on a full-size
synthetic archive (`mammoflow synth --scale 1`) and compares, record by record:
- the 1/4 images (16-bit display values after window and MONOCHROME1 inversion): PSNR and max abs error, over
  the rows and columns both have (J2K's reduced level rounds sizes up, area averaging rounds them down);
- crop boxes (pixels at 1/4) and pectoral lines (angle in degrees, distance in pixels at 1/4, found or not).

    .bench/venv/bin/python scripts/reduce_soundness.py [--patients 12] [--seed 11] [--reduce-by levels|area]

`--reduce-by area` compares decode's other 1/4 path instead (`decode.reduce_by: area`: JPEG 2000 decoded in
full and area-averaged, like the other encodings).

Needs a release build (`swift build -c release`) and numpy + zstandard (the bench venv has both). Prints one
JSON summary; the figures in docs/dicom.md come from it.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from mammoflow.cache import Cache  # noqa: E402

BIN = os.environ.get("MAMMOFLOW_BIN", os.path.join(ROOT, ".build", "release"))
MAMMOFLOW = os.path.join(BIN, "mammoflow")


def run_pipeline(archive, cache, reduce, reduce_by):
    subprocess.run([MAMMOFLOW, "run", os.path.join(ROOT, "pipelines", "rsna.yaml"), "--cache", cache,
                    "--set", f"ingest.path={archive}", "--set", f"decode.reduce={reduce}",
                    "--set", f"decode.reduce_by={reduce_by}", "--until", "pectoral"],
                   check=True, stdout=subprocess.DEVNULL)
    return Cache(cache)


def images(cache, stage):
    return {key: (meta, reader.image(key).pixels) for key, meta, reader in cache.newest_run(stage).records()}


def metadata(cache, stage):
    return {key: meta for key, meta, _ in cache.newest_run(stage).records()}


def pectoral_line(meta):
    p = meta.get("pectoral", {})
    return (p["angle"], p["distance"]) if "angle" in p else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reduce-by", choices=("levels", "area"), default="levels")
    parser.add_argument("--work", default=os.path.join(ROOT, ".bench", "work", "soundness"))
    args = parser.parse_args()
    archive = os.path.join(args.work, f"archive-{args.patients}-{args.seed}")
    if not os.path.exists(os.path.join(archive, ".complete")):
        shutil.rmtree(archive, ignore_errors=True)
        subprocess.run([MAMMOFLOW, "synth", "--out", archive, "--patients", str(args.patients), "--scale", "1.0",
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        open(os.path.join(archive, ".complete"), "w").close()
    caches = {}
    for reduce in (2, 0):
        folder = os.path.join(args.work, f"cache-reduce{reduce}")
        shutil.rmtree(folder, ignore_errors=True)
        caches[reduce] = run_pipeline(archive, folder, reduce, args.reduce_by)
    print(json.dumps(compare(caches), indent=2))


def compare(caches):
    """The summary of the two paths' differences; `caches` maps decode's reduce (2, 0) to the run's cache."""
    fast, study = images(caches[2], "downscale"), images(caches[0], "downscale")
    assert fast.keys() == study.keys(), "the two paths kept different records"
    by_syntax = {}
    for key in sorted(fast):
        meta, a = fast[key]
        b = study[key][1]
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        d = a[:h, :w].astype(np.float64) - b[:h, :w].astype(np.float64)
        s = by_syntax.setdefault(meta["dicom"]["transfer_syntax_name"],
                                 {"images": 0, "sq": 0.0, "n": 0, "max": 0.0, "worst_psnr": math.inf, "worst_p99": 0.0})
        mse = float(np.mean(d * d))
        s["images"] += 1
        s["sq"] += float(np.sum(d * d))
        s["n"] += d.size
        s["max"] = max(s["max"], float(np.abs(d).max()) / 65535)
        s["worst_p99"] = max(s["worst_p99"], float(np.percentile(np.abs(d), 99)) / 65535)
        s["worst_psnr"] = min(s["worst_psnr"], 10 * math.log10(65535 ** 2 / mse) if mse else math.inf)
    images_summary = {name: {"images": s["images"], "psnr_db": round(10 * math.log10(65535 ** 2 / (s["sq"] / s["n"])), 2),
                             "worst_image_psnr_db": round(s["worst_psnr"], 2), "max_abs_error_display": round(s["max"], 4),
                             "worst_image_p99_abs_error_display": round(s["worst_p99"], 4)}
                      for name, s in by_syntax.items()}

    crops = [metadata(caches[r], "crop") for r in (2, 0)]
    assert crops[0].keys() == crops[1].keys(), "crop kept different records on the two paths"
    box_differences = [max(abs(crops[0][k]["crop"][f] - crops[1][k]["crop"][f]) for f in ("x", "y", "width", "height"))
                       for k in crops[0]]
    pectorals = [metadata(caches[r], "pectoral") for r in (2, 0)]
    lines = [(pectoral_line(pectorals[0][k]), pectoral_line(pectorals[1][k])) for k in pectorals[0]]
    both = [(a, b) for a, b in lines if a and b]
    angles = sorted(abs(a[0] - b[0]) for a, b in both)
    distances = sorted(abs(a[1] - b[1]) for a, b in both)
    return {
        "records": len(fast),
        "images": images_summary,
        "crop_boxes": {"identical": sum(d == 0 for d in box_differences), "within_1px": sum(d <= 1 for d in box_differences),
                       "within_2px": sum(d <= 2 for d in box_differences), "max_px": max(box_differences)},
        "pectoral": {"lines_fast": sum(a is not None for a, _ in lines), "lines_study": sum(b is not None for _, b in lines),
                     "found_by_one_path_only": sum((a is None) != (b is None) for a, b in lines),
                     "same_line_within_2deg_4px": sum(abs(a[0] - b[0]) <= 2 and abs(a[1] - b[1]) <= 4 for a, b in both),
                     "angle_difference_deg_median_max": [angles[len(angles) // 2] if angles else 0, angles[-1] if angles else 0],
                     "distance_difference_px_median_max": [distances[len(distances) // 2] if distances else 0,
                                                           distances[-1] if distances else 0]},
    }


if __name__ == "__main__":
    main()
