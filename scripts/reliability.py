#!/usr/bin/env python3
"""A reliability campaign for mammoflow (`make reliability`; slow, not part of `make test`).

1. kill -9: a small demo pipeline is run once uninterrupted; then, KILLS times, a fresh run on a fresh cache
   is killed (SIGKILL, the scheduler and its stages) at a random moment, rerun, and must end with every
   stage's artifact equal to the uninterrupted run's (files, records, rejects, summary) and a clean verify.
2. A Kaggle-layout cohort with about 1% bad files (truncated, random bytes, empty, missing, a row with a bad
   value): every good image must be decoded and every bad one rejected with a reason.
3. The DICOM reader's mutation fuzz (Tests/DICOMTests/FuzzTests.swift) over FUZZ_INPUTS mutants of the
   corpus: no crash, no hang, bounded memory.

Usage: scripts/reliability.py [--bin .build/release] [--kills 50] [--patients 40] [--fuzz-inputs 100000]
Prints one line of figures per part and exits 1 if any check failed.
"""
import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PIPELINE = """stages:
  synth:     {{ run: mammoflow-synth, params: {{ patients: {patients}, seed: 11, scale: 0.1, prevalence: 0.15 }} }}
  decode:    {{ run: mammoflow-decode, deps: [synth], params: {{ reduce: 0 }} }}
  downscale: {{ run: mammoflow-downscale, deps: [decode], params: {{ factor: 2 }} }}
  crop:      {{ run: mammoflow-crop, deps: [downscale] }}
  pectoral:  {{ run: mammoflow-pectoral, deps: [crop] }}
  folds:     {{ run: mammoflow-folds, deps: [synth], params: {{ k: 4, seed: 42 }} }}
"""
STAGES = ["synth", "decode", "downscale", "crop", "pectoral", "folds"]


def mammoflow(bin_dir, args, cwd, check=True):
    result = subprocess.run([os.path.join(bin_dir, "mammoflow")] + args, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"mammoflow {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def artifacts(bin_dir, work, pipeline, cache, extra=()):
    """Each stage's artifact as `show --json` prints it, without record metadata order concerns."""
    out = {}
    for stage in STAGES:
        shown = json.loads(mammoflow(bin_dir, ["show", stage, pipeline, "--json", "--cache", cache, *extra], work).stdout)
        out[stage] = {k: shown[k] for k in ("files", "records", "rejects", "summary")}
    return out


def kill_campaign(bin_dir, work, kills, patients, rng):
    with open(os.path.join(work, "p.yaml"), "w") as f:
        f.write(PIPELINE.format(patients=patients))
    start = time.monotonic()
    mammoflow(bin_dir, ["run", "p.yaml", "--cache", "reference"], work)
    full = time.monotonic() - start
    reference = artifacts(bin_dir, work, "p.yaml", "reference")
    failures = []
    for trial in range(kills):
        cache = f"trial-{trial}"
        moment = rng.uniform(0.02, 1.0) * full
        process = subprocess.Popen([os.path.join(bin_dir, "mammoflow"), "run", "p.yaml", "--cache", cache], cwd=work,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the scheduler and every stage it started
            process.wait()
        rerun = mammoflow(bin_dir, ["run", "p.yaml", "--cache", cache], work, check=False)
        verify = mammoflow(bin_dir, ["verify", "--cache", cache], work, check=False)
        try:
            got = artifacts(bin_dir, work, "p.yaml", cache) if rerun.returncode == 0 else None
        except RuntimeError as error:  # a stage still stale after the rerun
            got = str(error)
        if rerun.returncode != 0 or verify.returncode != 0 or got != reference:
            failures.append(f"trial {trial} (killed at {moment:.2f} s): rerun {rerun.returncode}, verify {verify.returncode}, "
                            f"equal {got == reference}\n{rerun.stderr[-2000:]}{got if isinstance(got, str) else ''}")
        shutil.rmtree(os.path.join(work, cache), ignore_errors=True)
    print(f"kill -9: {kills} runs killed at random moments of a {full:.1f} s run; {kills - len(failures)} reran to "
          f"the uninterrupted run's artifacts with a clean verify")
    return failures


def bad_files_campaign(bin_dir, work, patients, rng):
    data = os.path.join(work, "cohort")
    mammoflow(bin_dir, ["synth", "--out", data, "--patients", str(patients), "--seed", "3", "--scale", "0.1"], work)
    with open(os.path.join(data, "train.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    key = lambda row: f"{row[col['patient_id']]}/{row[col['image_id']]}"
    path = lambda row: os.path.join(data, "train_images", row[col["patient_id"]], row[col["image_id"]] + ".dcm")
    bad_count = max(5, len(body) // 100)
    chosen = rng.sample(range(len(body)), bad_count)
    kinds = ["truncated", "random", "empty", "missing", "bad row"]
    bad = {}
    for n, r in enumerate(chosen):
        row, kind = body[r], kinds[n % len(kinds)]
        bad[key(row)] = kind
        if kind == "truncated":
            size = os.path.getsize(path(row))
            with open(path(row), "r+b") as f:
                f.truncate(size // 3)
        elif kind == "random":
            with open(path(row), "wb") as f:
                f.write(rng.randbytes(4096))
        elif kind == "empty":
            open(path(row), "wb").close()
        elif kind == "missing":
            os.remove(path(row))
        else:
            row[col["laterality"]] = "X"  # an image-describing cell: decode rejects the row
    with open(os.path.join(data, "train.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header] + body)
    with open(os.path.join(work, "cohort.yaml"), "w") as f:
        f.write('stages:\n  ingest: { run: mammoflow-ingest, params: { path: "" } }\n'
                '  decode: { run: mammoflow-decode, deps: [ingest] }\n')
    sets = ["--set", f"ingest.path={data}"]
    mammoflow(bin_dir, ["run", "cohort.yaml", "--cache", "cohort-cache", *sets], work)
    shown = json.loads(mammoflow(bin_dir, ["show", "decode", "cohort.yaml", "--json", "--cache", "cohort-cache", *sets], work).stdout)
    decoded = {m["key"] for m in shown["metadata"]}
    rejected = {r["key"]: r["reason"] for r in shown["rejects"]}
    good = {key(row) for row in body} - set(bad)
    failures = []
    if decoded != good:
        failures.append(f"good images not decoded: {sorted(good - decoded)[:5]}; decoded bad ones: {sorted(decoded - good)[:5]}")
    if set(rejected) != set(bad) or not all(rejected.values()):
        failures.append(f"bad files not rejected: {sorted(set(bad) - set(rejected))[:5]}; other rejects: {sorted(set(rejected) - set(bad))[:5]}")
    print(f"bad files: {len(body)} images, {len(bad)} bad ({', '.join(kinds)}); {len(decoded & good)} of {len(good)} good decoded, "
          f"{len(set(rejected) & set(bad))} of {len(bad)} bad rejected with a reason, {len(set(rejected) - set(bad))} other rejects")
    return failures


def fuzz_campaign(inputs):
    env = dict(os.environ, MAMMOFLOW_FUZZ_INPUTS=str(inputs))
    start = time.monotonic()
    result = subprocess.run(["swift", "test", "--filter", "mutatedFilesDecodeOrFailCleanly"], env=env,
                            capture_output=True, text=True)
    figures = [line for line in result.stdout.splitlines() if line.startswith("fuzz:")]
    print((figures[-1] if figures else "fuzz: no figures") + f" ({time.monotonic() - start:.0f} s with the build)")
    return [] if result.returncode == 0 else [f"fuzz test failed:\n{result.stdout[-3000:]}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--cohort-patients", type=int, default=120)
    parser.add_argument("--fuzz-inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="mammoflow-reliability-")
    failures = []
    try:
        failures += kill_campaign(bin_dir, work, args.kills, args.patients, rng)
        failures += bad_files_campaign(bin_dir, work, args.cohort_patients, rng)
        if args.fuzz_inputs > 0:
            failures += fuzz_campaign(args.fuzz_inputs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print("FAILED", failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
