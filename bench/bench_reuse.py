"""Work proportional to the change (record reuse, docs/stage-contract.md): rsna.yaml up to pectoral on a
Kaggle-layout synthetic cohort of full-size images from our own encoders (`mammoflow synth --scale 1`, J2K and
JPEG lossless), then reruns after small edits of the dataset, each against its goal:

- one label changed in train.csv: the rerun takes under 2% of the cold run (peer: 2% of the cold run's time);
- 20 new images added: the rerun takes at most twice a cold run of those 20 images alone (peer: 2x that);
- one image file replaced: each image stage computes exactly one record (peer: 1), from `run`'s summary.

REUSE_BENCH_PATIENTS (default 450: about 2,000 images) sets the cohort's size. The cohort is made once and
kept; the runs read a copy of hard links of it, edited in place (edited files replaced, never written into)
and restored after each rerun, and each rerun starts from a copy of the cold run's cache (objects as hard
links). Times are wall seconds of `mammoflow run` (reruns: best of REUSE_BENCH_REPEAT rounds, default 1).
"""
import csv
import os
import re
import shutil
import subprocess
import time

from common import BIN, ROOT, WORK, emit, run

MAMMOFLOW = os.path.join(BIN, "mammoflow")
PATIENTS = int(os.environ.get("REUSE_BENCH_PATIENTS", "450"))
REPEAT = int(os.environ.get("REUSE_BENCH_REPEAT", "1"))
HERE = os.path.join(WORK, f"reuse-{PATIENTS}")
BASE = os.path.join(HERE, "cohort")
EXTRA = os.path.join(HERE, "extra")
PIPELINE = os.path.join(ROOT, "pipelines", "rsna.yaml")
IMAGE_STAGES = ("decode", "downscale", "crop", "pectoral")


def synth(out, patients, seed):
    done = os.path.join(out, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(out, ignore_errors=True)
        run(MAMMOFLOW, "synth", "--out", out, "--patients", patients, "--scale", "1.0", "--seed", seed)
        # Backdated, so that the stat cache may remember every file (it skips files changed < 2 s ago).
        old = time.time() - 3600
        for dirpath, _, names in os.walk(out):
            for n in names:
                os.utime(os.path.join(dirpath, n), (old, old))
        open(done, "w").close()


def read_table(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_table(path, header, rows):
    """Writes a new file and renames it over `path`: the hard-linked original is never changed."""
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header] + rows)
    os.replace(tmp, path)


def linked_copy(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-al", src, dst], check=True)


def cache_copy(src, dst):
    """A cache as `src` is: objects (read-only, replaced only by rename) as hard links, the rest copied."""
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for name in os.listdir(src):
        if name == "objects":
            linked_copy(os.path.join(src, name), os.path.join(dst, name))
        elif os.path.isdir(os.path.join(src, name)):
            shutil.copytree(os.path.join(src, name), os.path.join(dst, name), symlinks=True)
        else:
            shutil.copy2(os.path.join(src, name), os.path.join(dst, name))


def mf_run(data, cache):
    """`mammoflow run` up to pectoral; returns (wall seconds, its output)."""
    t = time.perf_counter()
    proc = subprocess.run([MAMMOFLOW, "run", PIPELINE, "--cache", cache, "--set", f"ingest.path={data}", "--until", "pectoral"],
                          check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return time.perf_counter() - t, proc.stdout


def computed(output):
    """Records each stage computed, from `run`'s summary lines `<stage>: C records computed, R copied ...`."""
    return {stage: int(c) for stage, c in re.findall(r"^(\w+): (\d+) records? computed", output, re.M)}


def main():
    synth(BASE, PATIENTS, 11)
    # Another cohort (another seed, so other patients) gives the new and replacing images.
    synth(EXTRA, 6, 29)
    header, rows = read_table(os.path.join(BASE, "train.csv"))
    _, extra_rows = read_table(os.path.join(EXTRA, "train.csv"))
    images = len(rows)
    pid, iid, label = header.index("patient_id"), header.index("image_id"), header.index("cancer")
    new_rows = extra_rows[:20]
    image_path = lambda root, r: os.path.join(root, "train_images", r[pid], f"{r[iid]}.dcm")

    # One dataset folder, edited in place and restored after each rerun, as a user's would be: its files keep
    # the stamps the cold run's stat cache remembers (a fresh copy of hard links would change every ctime).
    data, cold_cache = os.path.join(HERE, "data"), os.path.join(HERE, "cache-cold")
    linked_copy(BASE, data)
    # Linking changed every file's ctime: the stat cache remembers no file changed less than 2 s before it is
    # hashed (docs/architecture.md), and a user's dataset is older than that.
    time.sleep(2.5)
    shutil.rmtree(cold_cache, ignore_errors=True)
    cold, _ = mf_run(data, cold_cache)
    print(f"cold run, {images} images: {cold:.1f} s", flush=True)
    # A command run into a cache that did not exist remembers neither the executables' hashes nor their
    # params (state/): the next command in a user's cache has them, so the reruns start from a cache that does.
    mf_run(data, cold_cache)

    def rerun_after(edit, undo, name):
        """Best wall time of a rerun after `edit`, each round from a copy of the cold cache; and its output."""
        best, output = float("inf"), ""
        for _ in range(REPEAT):
            cache = os.path.join(HERE, f"cache-{name}")
            cache_copy(cold_cache, cache)
            edit()
            try:
                seconds, output = mf_run(data, cache)
            finally:
                undo()
            best = min(best, seconds)
        return best, output

    restore_table = lambda: write_table(os.path.join(data, "train.csv"), header, rows)

    def one_label():
        changed = [list(r) for r in rows]
        changed[len(rows) // 2][label] = "1" if changed[len(rows) // 2][label] == "0" else "0"
        write_table(os.path.join(data, "train.csv"), header, changed)
    seconds, out = rerun_after(one_label, restore_table, "label")
    print(f"label rerun: {seconds:.2f} s, computed: {computed(out)}", flush=True)
    pixel_work = sum(computed(out).get(s, 0) for s in IMAGE_STAGES)
    emit(f"reuse: one label changed in a {images}-image cohort, rerun up to pectoral, {pixel_work} records computed "
         f"(peer: the goal, 2% of the {cold:.0f} s cold run)", seconds, 0.02 * cold, "s")

    def add_twenty(root, table_rows):
        for r in new_rows:
            os.makedirs(os.path.dirname(image_path(root, r)), exist_ok=True)
            os.link(image_path(EXTRA, r), image_path(root, r))
        write_table(os.path.join(root, "train.csv"), header, table_rows + new_rows)

    def remove_twenty():
        for r in new_rows:
            os.unlink(image_path(data, r))
            folder = os.path.dirname(image_path(data, r))
            if not os.listdir(folder):
                os.rmdir(folder)
        restore_table()
    seconds, out = rerun_after(lambda: add_twenty(data, rows), remove_twenty, "add")
    print(f"add rerun: {seconds:.2f} s, computed: {computed(out)}", flush=True)
    # The same 20 images alone, in a fresh cache: what decoding just them costs through the same pipeline.
    alone = os.path.join(HERE, "data-twenty")
    shutil.rmtree(alone, ignore_errors=True)
    os.makedirs(alone)
    add_twenty(alone, [])
    shutil.rmtree(os.path.join(HERE, "cache-twenty"), ignore_errors=True)
    twenty, _ = mf_run(alone, os.path.join(HERE, "cache-twenty"))
    emit(f"reuse: 20 new images added to {images}, rerun up to pectoral (peer: the goal, 2x a cold run of the 20 alone, {twenty:.1f} s)",
         seconds, 2 * twenty, "s")

    victim = rows[len(rows) // 3]

    def replace_one():
        os.unlink(image_path(data, victim))
        shutil.copyfile(image_path(EXTRA, new_rows[0]), image_path(data, victim))

    def put_back():
        os.unlink(image_path(data, victim))
        os.link(image_path(BASE, victim), image_path(data, victim))
    seconds, out = rerun_after(replace_one, put_back, "replace")
    counts = computed(out)
    print(f"replace rerun: {seconds:.2f} s, computed: {counts}", flush=True)
    worst = max((counts[s] for s in IMAGE_STAGES if s in counts), default=None)
    emit(f"reuse: one image file replaced in {images}, most records an image stage computed (peer: the goal, 1; rerun {seconds:.1f} s)",
         worst, 1, "records")


if __name__ == "__main__":
    main()
