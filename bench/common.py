"""Helpers shared by the bench_*.py scripts: timing, running our binaries, emitting result rows."""
import json
import os
import subprocess
import time

ROOT = os.environ.get("MAMMOFLOW_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAMMOFLOW_BIN", os.path.join(ROOT, ".build", "release"))
WORK = os.path.join(ROOT, ".bench", "work")
os.makedirs(WORK, exist_ok=True)


def best_of(fn, repeat=5):
    """Minimum wall time of `repeat` calls, in seconds (the least disturbed run on a noisy machine)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def emit(name, ours, peer, unit, higher_is_better=False):
    """Prints one result row; ratio > 1 means mammoflow is better."""
    if ours is None or peer is None or ours == 0 or peer == 0:
        ratio = None
    else:
        ratio = ours / peer if higher_is_better else peer / ours
    print(json.dumps({"name": name, "ours": ours, "peer": peer, "unit": unit, "ratio": ratio}), flush=True)
