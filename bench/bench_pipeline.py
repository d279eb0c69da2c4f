"""Pipeline engine speed: no-op run, status over a 54,706-file source, shard throughput, random access.

Each measurement is emitted twice: wall time (what a user waits) and CPU time (user + sys of the commands,
children included), because this machine is shared: under a load of 10-15 on 2 cores wall times stretch 3-10x
and by different amounts for each side, while CPU time is the work itself.

Peers run in the same session: Snakemake (no-op of the same 10-step workflow), sha256sum (hashing every file),
a Python os.walk + os.stat (the floor for any stat-based status), and the zstd command at the same level on the
same bytes (plus a sync of its output, since our writer syncs). DVC is not measured: it is a heavy install whose status over 54,706 files takes minutes to hours
(its users' reports), which would dominate `make bench`.
"""
import os
import random
import shutil
import subprocess
import sys
import time

import resource

import numpy as np

from common import BIN, WORK, best_of, emit, run

MAMMOFLOW = os.path.join(BIN, "mammoflow")
HERE = os.path.join(WORK, "pipeline")
os.makedirs(HERE, exist_ok=True)

# A stage that writes one small file and its manifest (any executable can be a stage).
STAGE = r"""#!/bin/sh
set -e
out=$(sed -n 's/.*"output":"\([^"]*\)".*/\1/p' "$2")
sed -n 's/.*"params":\({[^}]*}\).*/\1/p' "$2" > "$out/result.txt"
sha=$(sha256sum "$out/result.txt" | cut -d' ' -f1)
size=$(wc -c < "$out/result.txt")
printf '{"files":[{"path":"result.txt","sha256":"%s","size":%s}],"records":1,"rejects":[],"schema":1,"stage":"s","summary":{}}' "$sha" "$size" > "$out/manifest.json"
"""


def cpu_of(fn, repeat=3):
    """Least CPU seconds (user + sys of finished child processes) of `repeat` calls."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        fn()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return best


def emit_both(name, fn, peer_fn, unit="s", scale=1.0, repeat=3, per=None):
    """Wall and CPU rows for `fn` against `peer_fn` (either may be None). With `per` (a size), rows are throughputs."""
    for kind, measure in (("wall", best_of), ("CPU", cpu_of)):
        ours = measure(fn, repeat=repeat)
        peer = measure(peer_fn, repeat=repeat) if peer_fn else None
        if per:
            emit(f"{name} [{kind}]", per / ours, peer and per / peer, unit, higher_is_better=True)
        else:
            emit(f"{name} [{kind}]", ours * scale, peer and peer * scale, unit)


def noop_run():
    """A fresh 10-stage chain: `mammoflow run` has nothing to do; the same workflow in Snakemake."""
    d = os.path.join(HERE, "noop")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    stage = os.path.join(d, "stage.sh")
    open(stage, "w").write(STAGE)
    os.chmod(stage, 0o755)
    lines = ["stages:"]
    for i in range(10):
        deps = f", deps: [s{i - 1}]" if i else ""
        lines.append(f"  s{i}: {{ run: ./stage.sh{deps}, params: {{ i: {i} }} }}")
    open(os.path.join(d, "p.yaml"), "w").write("\n".join(lines) + "\n")
    cmd = [MAMMOFLOW, "run", "p.yaml", "--cache", "cache"]
    subprocess.run(cmd, cwd=d, check=True, stderr=subprocess.DEVNULL)
    ours = lambda: subprocess.run(cmd, cwd=d, check=True, stderr=subprocess.DEVNULL)

    peer = None
    snakemake = os.path.join(os.path.dirname(sys.executable), "snakemake")
    if os.path.exists(snakemake):
        rules = ["rule all:\n    input: 'out/s9.txt'\n"]
        for i in range(10):
            inp = f"    input: 'out/s{i - 1}.txt'\n" if i else ""
            rules.append(f"rule s{i}:\n{inp}    output: 'out/s{i}.txt'\n    shell: 'echo {i} > {{output}}'\n")
        open(os.path.join(d, "Snakefile"), "w").write("\n".join(rules))
        sm = [snakemake, "-c1", "--quiet", "all"]
        subprocess.run(sm, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peer = lambda: subprocess.run(sm, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emit_both("no-op run, fresh 10-stage pipeline (peer: snakemake)", ours, peer, "ms", scale=1e3, repeat=5)


def rsna_layout(root, images=54706, patients=11913):
    """Tiny files in RSNA's layout: train.csv + train_images/<patient>/<image>.dcm (made once, then reused)."""
    done = os.path.join(root, ".complete")
    if os.path.exists(done):
        return
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(1)
    pids = rng.sample(range(10000, 66000), patients)
    rows = ["site_id,patient_id,image_id,laterality,view,cancer"]
    ids = iter(rng.sample(range(10**6, 2 * 10**9), images))
    for p, pid in enumerate(pids):
        n = images // patients + (1 if p < images % patients else 0)
        os.makedirs(os.path.join(root, "train_images", str(pid)))
        for _ in range(n):
            iid = next(ids)
            rows.append(f"1,{pid},{iid},L,CC,0")
            with open(os.path.join(root, "train_images", str(pid), f"{iid}.dcm"), "w") as f:
                f.write(f"DICM {iid}\n")
    open(os.path.join(root, "train.csv"), "w").write("\n".join(rows) + "\n")
    # Backdate everything so the stat cache may remember every file (it skips files changed < 2 s ago).
    old = time.time() - 3600
    for dirpath, _, files in os.walk(root):
        for f in files:
            os.utime(os.path.join(dirpath, f), (old, old))
    open(done, "w").close()


def status_54706():
    data = os.path.join(WORK, "rsna-54706")
    rsna_layout(data)
    d = os.path.join(HERE, "status")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    open(os.path.join(d, "p.yaml"), "w").write("stages:\n  ingest: { run: mammoflow-ingest, params: { path: \"\" } }\n")

    def mf(*args):
        subprocess.run([MAMMOFLOW, *args, "p.yaml", "--cache", "cache", "--set", f"ingest.path={data}"],
                       cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def hash_all():
        subprocess.run(f"find {data} -type f -print0 | xargs -0 sha256sum > /dev/null", shell=True, check=True)

    def first_run():
        shutil.rmtree(os.path.join(d, "cache"), ignore_errors=True)
        mf("run")
    # Both sides read the files from the page cache: the first command after a build would otherwise pay for
    # bringing 54,706 inodes and files back into memory alone.
    hash_all()
    emit("ingest 54,706 files, first run: hash all (peer: find | xargs sha256sum) [wall]",
         best_of(first_run, repeat=2), best_of(hash_all, repeat=2), "s")
    emit_both("ingest 54,706 files, stat-cached rerun (peer: sha256sum all)", lambda: mf("run", "--force", "ingest"), hash_all, repeat=2)

    def walk_stat():
        subprocess.run([sys.executable, "-c", f"""
import os
for dirpath, _, files in os.walk({data!r}):
    os.stat(dirpath)
    for f in files:
        os.stat(os.path.join(dirpath, f))
"""], check=True)
    emit_both("status over 54,706 files, stat-cached (peer: python os.walk+stat)", lambda: mf("status"), walk_stat, repeat=3)


def shards():
    """256 MiB of mammogram-like 16-bit records: shard pack/cat vs the zstd command at level 3, same bytes."""
    d = os.path.join(HERE, "shards")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "records"))
    rng = np.random.default_rng(0)
    h = w = 1024  # 2 MiB per record, 128 records
    yy, xx = np.mgrid[0:h, 0:w]
    files = []
    for i in range(128):
        cx, cy, r = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.6) * w
        breast = np.clip(1 - ((xx - cx) ** 2 + (yy - cy) ** 2) / r ** 2, 0, 1)
        img = (breast * 3000 + rng.normal(0, 20, (h, w)) * (breast > 0)).clip(0, 4095).astype("<u2")
        path = os.path.join(d, "records", f"img-{i:04d}")
        img.tofile(path)
        files.append(path)
    concat = os.path.join(d, "all.bin")
    with open(concat, "wb") as out:
        for p in files:
            out.write(open(p, "rb").read())
    total = os.path.getsize(concat) / 2**20

    def pack(element_size):
        out = os.path.join(d, f"out-{element_size}")
        shutil.rmtree(out, ignore_errors=True)
        return run(MAMMOFLOW, "shard", "pack", out, *files, "--level", "3", "--element-size", str(element_size)).split()[0]
    # Our writer fsyncs the shard before renaming it (the cache must survive a crash); the zstd command does
    # not, so the peer syncs its output too: both then do the same work.
    zst = lambda: run("sh", "-c", f"zstd -3 -T1 -q -f {concat} -o {concat}.zst && sync {concat}.zst")
    unzst = lambda: subprocess.run(["zstd", "-d", "-q", "-c", concat + ".zst"], check=True, stdout=subprocess.DEVNULL)
    zst()
    peer_write = {kind: measure(zst, repeat=3) for kind, measure in (("wall", best_of), ("CPU", cpu_of))}
    peer_read = {kind: measure(unzst, repeat=3) for kind, measure in (("wall", best_of), ("CPU", cpu_of))}
    # Without an index, one record of a zstd stream costs decompressing everything before it (half on average).
    peer_random = {kind: t * 1e3 / 2 for kind, t in peer_read.items()}

    # Stages store 16-bit images byte-shuffled (element size 2, docs/shard-format.md); bytes as they are is
    # what a shard of arbitrary files gets.
    for element_size, how in ((2, "16-bit samples byte-shuffled"), (1, "bytes as they are")):
        shard = pack(element_size)
        write = lambda: pack(element_size)
        cat = lambda: subprocess.run([MAMMOFLOW, "shard", "cat", shard], check=True, stdout=subprocess.DEVNULL)
        for kind, measure in (("wall", best_of), ("CPU", cpu_of)):
            emit(f"shard write 256 MiB, zstd -3, {how} (peer: zstd -3 command + sync) [{kind}]",
                 total / measure(write, repeat=3), total / peer_write[kind], "MiB/s", higher_is_better=True)
        for kind, measure in (("wall", best_of), ("CPU", cpu_of)):
            emit(f"shard read 256 MiB, SHA-256 verified, {how} (peer: zstd -d) [{kind}]",
                 total / measure(cat, repeat=3), total / peer_read[kind], "MiB/s", higher_is_better=True)
        wall, cpu = [], []
        for i in random.Random(2).sample(range(128), 15):
            err = subprocess.run([MAMMOFLOW, "shard", "cat", shard, "--key", f"img-{i:04d}", "--time"], check=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).stderr.split()
            wall.append(float(err[0]))
            cpu.append(float(err[3]))
        name = f"random access to one 2 MiB record of a 256 MiB shard, {how}, median of 15 fresh processes (peer: zstd -d of half the stream)"
        emit(name + " [wall]", sorted(wall)[len(wall) // 2], peer_random["wall"], "ms")
        emit(name + " [CPU]", sorted(cpu)[len(cpu) // 2], peer_random["CPU"], "ms")
        # A reader kept open (a training loop's): 40 records in random order, each its own random access.
        keys = [a for i in random.Random(3).sample(range(128), 40) for a in ("--key", f"img-{i:04d}")]
        lines = subprocess.run([MAMMOFLOW, "shard", "cat", shard, *keys, "--time"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).stderr.splitlines()[1:]
        warm = sorted(float(line.split()[0]) for line in lines)
        emit(f"random access to one 2 MiB record, {how}, open reader, median of 40 [wall]",
             warm[len(warm) // 2], peer_random["wall"], "ms")


if __name__ == "__main__":
    noop_run()
    status_54706()
    shards()
