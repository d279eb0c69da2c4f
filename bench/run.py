#!/usr/bin/env python3
"""mammoflow's benchmark driver: `make bench`.

Creates a virtualenv under .bench/venv with the peers (pydicom, dicomsdl, OpenCV, scikit-learn, PyTorch CPU),
runs every bench/bench_*.py with it, collects the rows they print (one JSON object per line:
{"name", "ours", "peer", "unit", "ratio"}, ratio > 1 meaning mammoflow is better), writes
.bench/results.json and prints a table. Peers run in the same session as ours because this machine is shared
and noisy: only ratios measured side by side mean anything.
"""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".bench")
VENV = os.path.join(BENCH, "venv")
PY = os.path.join(VENV, "bin", "python")


def ensure_venv():
    if not os.path.exists(PY):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    stamp = os.path.join(VENV, ".requirements")
    req = os.path.join(ROOT, "bench", "requirements.txt")
    wanted = open(req).read()
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return
    pip = [PY, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # PyPI's torch is the CUDA build (gigabytes): prefer a CPU-only wheel present on the machine.
    wheels = sorted(glob.glob("/opt/wheels/torch-*cpu*.whl"))
    subprocess.check_call(pip + (wheels[-1:] or ["torch"]))
    subprocess.check_call(pip + ["-r", req])
    open(stamp, "w").write(wanted)


def main():
    os.makedirs(BENCH, exist_ok=True)
    ensure_venv()
    only = sys.argv[1:]
    rows = []
    env = dict(os.environ, MAMMOFLOW_BIN=os.path.join(ROOT, ".build", "release"), MAMMOFLOW_ROOT=ROOT)
    for script in sorted(glob.glob(os.path.join(ROOT, "bench", "bench_*.py"))):
        area = os.path.basename(script)[len("bench_"):-3]
        if only and area not in only:
            continue
        print(f"== {area}", file=sys.stderr, flush=True)
        proc = subprocess.run([PY, script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rows.append(json.loads(line))
        if proc.returncode != 0:
            rows.append({"name": f"{area}: bench failed (exit {proc.returncode})", "ours": None, "peer": None,
                         "unit": "", "ratio": None})
    with open(os.path.join(BENCH, "results.json"), "w") as f:
        json.dump(rows, f, indent=2)
    width = max([len(r["name"]) for r in rows] + [4])
    print(f"{'name':<{width}}  {'ours':>12}  {'peer':>12}  {'unit':<10} {'ratio':>7}")
    for r in rows:
        fmt = lambda v: "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
        print(f"{r['name']:<{width}}  {fmt(r['ours']):>12}  {fmt(r['peer']):>12}  {r['unit']:<10} {fmt(r['ratio']):>7}")


if __name__ == "__main__":
    main()
