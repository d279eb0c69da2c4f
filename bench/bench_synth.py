"""Synthetic cohort speed (issue #4's goals): the demo cohort at scale 0.25, and full-size (4096x3328) images.

Rows: demo cohort seconds (peer column = the 120 s goal), full-size images per second on 2 threads (peer = the
1 image/s goal), and our per-image JPEG 2000 lossless and JPEG lossless files against the same pixels encoded by
pydicom + pylibjpeg-openjpeg (file bytes; pydicom has no JPEG lossless process 14 encoder).
"""
import glob
import json
import os
import resource
import shutil
import time

import pydicom
from pydicom.uid import JPEG2000Lossless

from common import BIN, WORK, emit, run

MAMMOFLOW = os.path.join(BIN, "mammoflow")


def synth(out, *args):
    """Wall seconds and CPU seconds (user + system) of one `mammoflow synth` run. On a shared machine the wall
    time measures the neighbours too; CPU / 2 is what two free cores would take."""
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    run(MAMMOFLOW, "synth", "--out", out, "--threads", "2", *args)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    demo = os.path.join(WORK, "synth-demo")
    seconds, cpu = synth(demo, "--patients", "300", "--scale", "0.25", "--prevalence", "0.1")
    images = len(glob.glob(os.path.join(demo, "train_images", "*", "*.dcm")))
    emit(f"synth demo cohort wall (300 patients, {images} images, scale 0.25)", round(seconds, 2), 120.0, "s")
    emit("synth demo cohort CPU / 2 (two free cores)", round(cpu / 2, 2), 120.0, "s")

    # Full size: every image of 12 patients at scale 1 (mostly 4096x3328, RSNA's commonest site-1 geometry).
    full = os.path.join(WORK, "synth-full")
    seconds, cpu = synth(full, "--patients", "12", "--seed", "3")
    truth = [json.loads(l) for l in open(os.path.join(full, "truth.jsonl"))]
    megapixels = sum(t["rows"] * t["columns"] for t in truth) / 1e6
    emit(f"synth full-size images/s wall (2 threads, {len(truth)} images, {megapixels / len(truth):.1f} MP each)",
         round(len(truth) / seconds, 3), 1.0, "img/s", higher_is_better=True)
    emit("synth full-size images/s from CPU time (two free cores)", round(2 * len(truth) / cpu, 3), 1.0, "img/s",
         higher_is_better=True)

    # Encoded size against pydicom's J2K lossless encoder on the same pixels.
    ours_bytes, peer_bytes = 0, 0
    for t in [t for t in truth if t["transfer_syntax"] == "1.2.840.10008.1.2.4.90"][:4]:
        path = os.path.join(full, "train_images", t["key"] + ".dcm")
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
        ours_bytes += os.path.getsize(path)
        ds.compress(JPEG2000Lossless, pixels, encoding_plugin="pylibjpeg")
        peer_bytes += len(ds.PixelData)
    if peer_bytes:
        emit("synth J2K lossless file bytes vs pydicom+openjpeg on the same pixels", ours_bytes, peer_bytes, "bytes")


if __name__ == "__main__":
    main()
