"""DICOM decode bench on a full-size synthetic archive in RSNA's layout and encodings (`mammoflow synth --scale 1`:
JPEG 2000 lossless and JPEG lossless SV1 from our own encoders, eight vendor profiles from 2294x1914 to 5355x4915),
so nothing beyond the build is needed. The two files timed alone are first checked to decode, by us and by
pydicom, to the same stored values.

- j2k full / 1/4: `mammoflow dicom time --threads 1` on the largest J2K file (in-process best of N) vs pydicom +
  pylibjpeg-openjpeg `pixel_array` (+ cv2 INTER_AREA for 1/4), single thread.
- jpeg lossless: the largest JPEG lossless file, ours vs dicomsdl (fastest peer), single thread.
- dataset: every archive file (DICOM_BENCH_PATIENTS patients, default 28: about 120 images) decoded and
  rendered to 16-bit windowed images on 2 workers, vs pydicom in a 2-process pool; images/s and peak memory.
- archive: the pipeline up to pectoral (ingest, decode, downscale, crop, pectoral) from an empty cache on the same
  files three ways: the default (decode at 1/4), every image fully decoded and area-averaged inside decode
  (`reduce_by: area`), and the study's full decode + downscale; vs a pydicom pool of 2 doing full decode + 1/4
  area downscale. Images/s, the projection for RSNA's 54,706 images, and the decode stage's peak memory (2
  workers). The peer and our three runs alternate, DICOM_BENCH_ROUNDS rounds (default 3), best of each, so a
  moment of load elsewhere on the machine does not favour one side.
- projection: a run's time is a fixed part (starting the processes, each stage's last image finishing alone)
  and a part per image. The default path and the pool also run on half of the patients (hard links, the same
  files; a half holding about half of each encoding's pixels), and each side's projection is its whole-archive time plus the rest of RSNA's images at the
  marginal cost between the two sizes; the plain images/s extrapolation is printed beside it.
"""
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from multiprocessing import Pool

import cv2
import numpy as np
import pydicom

from common import BIN, ROOT, WORK, best_of, emit, run

MAMMOFLOW = os.path.join(BIN, "mammoflow")
J2K, JPEG_LL = "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.70"
RSNA_IMAGES = 54706
PATIENTS = int(os.environ.get("DICOM_BENCH_PATIENTS", "28"))
ARCHIVE = os.path.join(WORK, f"dicom-archive-{PATIENTS}")
ROUNDS = int(os.environ.get("DICOM_BENCH_ROUNDS", "3"))


def make_archive():
    """The synthetic archive (made once, then reused): train.csv + train_images/<patient>/<image>.dcm."""
    done = os.path.join(ARCHIVE, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(ARCHIVE, ignore_errors=True)
        run(MAMMOFLOW, "synth", "--out", ARCHIVE, "--patients", PATIENTS, "--scale", "1.0", "--seed", 11)
        open(done, "w").close()
    files = []
    for dirpath, _, names in os.walk(os.path.join(ARCHIVE, "train_images")):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".dcm")]
    return sorted(files)


def half_archive(files, headers):
    """Half the archive's patients (hard links to the same files, their rows of train.csv), chosen so that it holds
    about half of each encoding's pixels: the cost between the two sizes is then the archive's own mix."""
    by_patient = {}
    for f in files:
        by_patient.setdefault(os.path.basename(os.path.dirname(f)), []).append(f)
    pixels = lambda group, syntax: sum(headers[f][1] * headers[f][2] for f in group if headers[f][0] == syntax)
    totals = {syntax: pixels(files, syntax) for syntax in (J2K, JPEG_LL)}
    imbalance = lambda chosen: sum(abs(pixels([f for p in chosen for f in by_patient[p]], syntax) / max(total, 1) - 0.5)
                                   for syntax, total in totals.items())
    names, draw = sorted(by_patient), random.Random(0)
    patients = min((draw.sample(names, max(1, len(names) // 2)) for _ in range(2000)), key=imbalance)
    folder = os.path.join(WORK, f"dicom-archive-{PATIENTS}-half")
    shutil.rmtree(folder, ignore_errors=True)
    half = []
    for patient in patients:
        for f in by_patient[patient]:
            link = os.path.join(folder, "train_images", patient, os.path.basename(f))
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.link(f, link)
            half.append(link)
    with open(os.path.join(ARCHIVE, "train.csv")) as source, open(os.path.join(folder, "train.csv"), "w") as out:
        lines = source.read().splitlines()
        column = lines[0].split(",").index("patient_id")
        out.write("\n".join([lines[0]] + [l for l in lines[1:] if l.split(",")[column] in patients]) + "\n")
    return folder, sorted(half)


def projected_minutes(whole, half):
    """RSNA's archive at this side's marginal cost per image: (seconds, images) of the whole and the half run."""
    per_image = (whole[0] - half[0]) / (whole[1] - half[1])
    return (whole[0] + (RSNA_IMAGES - whole[1]) * per_image) / 60


def header(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return str(ds.file_meta.TransferSyntaxUID), int(ds.Rows), int(ds.Columns)


def check_against_pydicom(path):
    """Our stored values must be pydicom's, exactly."""
    raw = os.path.join(WORK, "dicom-check.raw")
    run(MAMMOFLOW, "dicom", "pixels", path, "--values", "stored", "-o", raw)
    reference = pydicom.dcmread(path).pixel_array
    ours = np.fromfile(raw, dtype=reference.dtype.newbyteorder("<")).reshape(reference.shape)
    assert np.array_equal(ours, reference), f"{path}: our stored values differ from pydicom's"


def ours(files, *args, repeat=3):
    out = run(MAMMOFLOW, "dicom", "time", *files, "--repeat", repeat, *args)
    return json.loads(out.strip().splitlines()[-1])


def peer_decode(path):
    return pydicom.dcmread(path).pixel_array


def quarter(image):
    return cv2.resize(image, (image.shape[1] // 4, image.shape[0] // 4), interpolation=cv2.INTER_AREA)


def peer_window16(path):
    """Decode + window to 16 bits, as our decode stage's `window16` does."""
    from pydicom.pixels import apply_voi_lut
    ds = pydicom.dcmread(path)
    display = apply_voi_lut(ds.pixel_array, ds)
    return (display / (2 ** int(ds.BitsStored) - 1) * 65535).astype(np.uint16)


def peer_dataset_worker(path):
    """One pool task: decode and window, then report this worker's own peak resident size in MB."""
    peer_window16(path)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peer_archive_worker(path):
    """One pool task of the archive peer: full decode + 1/4 area downscale."""
    quarter(peer_decode(path))


def pipeline_command(name, reduce, reduce_by, archive=ARCHIVE):
    """`mammoflow run` of rsna.yaml in a fresh cache for this path, with decode's `reduce` and `reduce_by`."""
    d = os.path.join(WORK, "dicom-pipeline", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return [MAMMOFLOW, "run", os.path.join(ROOT, "pipelines", "rsna.yaml"), "--cache", os.path.join(d, "cache"),
            "--set", f"ingest.path={archive}", "--set", f"decode.reduce={reduce}", "--set", f"decode.reduce_by={reduce_by}"]


def pipeline_seconds(name, reduce, reduce_by, archive=ARCHIVE):
    """Wall seconds of ingest..pectoral from an empty cache (ingest hashes every file, as on a first run)."""
    base = pipeline_command(name, reduce, reduce_by, archive)
    t = time.perf_counter()
    subprocess.run(base + ["--until", "pectoral"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def decode_peak_mb(name, reduce, reduce_by):
    """The decode stage's peak resident size (MB), from a run of ingest and decode alone."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest process among the waited-for descendants: measured in a fresh
    # child that runs ingest and decode, it is the decode stage's (ingest and the scheduler are far smaller).
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    return float(run(sys.executable, "-c", probe, *pipeline_command(name, reduce, reduce_by), "--until", "decode"))


def main():
    files = make_archive()
    headers = {f: header(f) for f in files}
    largest = lambda syntax: max((f for f in files if headers[f][0] == syntax), key=lambda f: headers[f][1] * headers[f][2])
    j2k, jll = largest(J2K), largest(JPEG_LL)
    for f in (j2k, jll):
        check_against_pydicom(f)
    size = lambda f: f"{headers[f][2]}x{headers[f][1]}"

    ours_j2k = ours([j2k], "--threads", 1, "--values", "stored")["best_ms"] / 1000
    peer_j2k = best_of(lambda: peer_decode(j2k), repeat=3)
    emit(f"dicom: J2K lossless {size(j2k)} full decode, 1 thread (vs pydicom+pylibjpeg-openjpeg)", ours_j2k, peer_j2k, "s")

    ours_quarter = ours([j2k], "--threads", 1, "--reduce", 2, "--values", "stored")["best_ms"] / 1000
    peer_quarter = best_of(lambda: quarter(peer_decode(j2k)), repeat=3)
    emit("dicom: J2K 1/4 (ours reduce=2 vs full decode + cv2 INTER_AREA)", ours_quarter, peer_quarter, "s")

    import dicomsdl
    ours_jll = ours([jll], "--threads", 1, "--values", "stored", repeat=5)["best_ms"] / 1000
    peer_jll = best_of(lambda: dicomsdl.open(jll).pixelData(), repeat=5)
    emit(f"dicom: JPEG lossless SV1 {size(jll)} decode, 1 thread (vs dicomsdl)", ours_jll, peer_jll, "s")

    result = ours(files, "--workers", 2, "--threads", 1, "--values", "window16", repeat=1)
    t = time.perf_counter()
    with Pool(2) as pool:
        # RUSAGE_CHILDREN would also count our own decoder, run as a child above: ask each worker instead.
        peer_mb = max(pool.map(peer_dataset_worker, files, chunksize=2))
    peer_seconds = time.perf_counter() - t
    emit(f"dicom: dataset decode, {len(files)} full-size mammograms (J2K + JPEG LL), 2 workers (vs pydicom pool)",
         result["images_per_second"], len(files) / peer_seconds, "images/s", higher_is_better=True)
    emit("dicom: dataset decode peak memory (ours: process; pydicom: largest worker)", result["peak_rss_mb"], peer_mb, "MB")

    # The default; every encoding fully decoded and area-averaged inside decode (what the pool computes); the
    # study's full-size decode, then downscale.
    paths = (("default: decode at 1/4", 2, "levels"), ("area: full decode + 1/4 area in decode", 2, "area"),
             ("study: full decode + downscale", 0, "levels"))
    half_folder, half_files = half_archive(files, headers)
    peer_seconds, ours_seconds = float("inf"), {name: float("inf") for name, _, _ in paths}
    peer_half, ours_half = float("inf"), float("inf")
    for _ in range(ROUNDS):
        t = time.perf_counter()
        with Pool(2) as pool:
            pool.map(peer_archive_worker, files, chunksize=2)
        peer_seconds = min(peer_seconds, time.perf_counter() - t)
        for name, reduce, reduce_by in paths:
            ours_seconds[name] = min(ours_seconds[name], pipeline_seconds(name.split(":")[0], reduce, reduce_by))
        t = time.perf_counter()
        with Pool(2) as pool:
            pool.map(peer_archive_worker, half_files, chunksize=2)
        peer_half = min(peer_half, time.perf_counter() - t)
        ours_half = min(ours_half, pipeline_seconds("half", *paths[0][1:], archive=half_folder))
    peer_rate = len(files) / peer_seconds
    for name, reduce, reduce_by in paths:
        rate = len(files) / ours_seconds[name]
        emit(f"archive: rsna.yaml ingest..pectoral, {name}, {len(files)} images, 2 cores (vs pydicom pool of 2: full decode + 1/4 area)",
             rate, peer_rate, "images/s", higher_is_better=True)
        emit(f"archive: {name}, {RSNA_IMAGES:,} images at this run's images/s (peer: the pydicom pool's)",
             RSNA_IMAGES / rate / 60, RSNA_IMAGES / peer_rate / 60, "min")
        if name == paths[0][0]:
            emit(f"archive: {name}, projected for RSNA's {RSNA_IMAGES:,} images: fixed part + marginal cost per image "
                 f"({len(half_files)} and {len(files)} images; peer: the pydicom pool's)",
                 projected_minutes((ours_seconds[name], len(files)), (ours_half, len(half_files))),
                 projected_minutes((peer_seconds, len(files)), (peer_half, len(half_files))), "min")
        emit(f"archive: {name}, decode stage peak memory, 2 workers (peer: goal)",
             decode_peak_mb(name.split(":")[0], reduce, reduce_by), 500.0, "MB")


if __name__ == "__main__":
    main()
