"""DICOM decode bench: mammogram-sized images (4096 rows x 3328 columns, 12 bits stored, breast-like texture)
encoded as JPEG 2000 lossless (opj_compress, libopenjp2-tools) and as JPEG lossless SV1 (the small numpy
encoder below, checked against pylibjpeg-libjpeg), decoded by mammoflow and by the peers, in one session.

- j2k full: `mammoflow dicom time --threads 1` (parse + decode, in-process best of N) vs pydicom + pylibjpeg-openjpeg
  `pixel_array` (best of N), single thread.
- j2k 1/4: ours with --reduce 2 vs the peer's full decode + cv2.resize INTER_AREA.
- jpeg lossless: ours vs dicomsdl (fastest peer), single thread.
- dataset: 200 files (DICOM_BENCH_FILES to change; half J2K, half JPEG lossless) decoded and rendered to 16-bit windowed images on 2 workers,
  vs pydicom in a 2-process pool; images/s and peak memory (ours: the process; peer: the largest worker).
"""
import heapq
import json
import os
import resource
import subprocess
import time
from multiprocessing import Pool

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from common import BIN, WORK, best_of, emit, run

MAMMOFLOW = os.path.join(BIN, "mammoflow")
ROWS, COLS, BITS = 4096, 3328, 12
DATA = os.path.join(WORK, "dicom")
os.makedirs(DATA, exist_ok=True)


def mammogram(seed):
    """A 12-bit breast-like image: a half-ellipse of tissue against the left edge, whose thickness falls off to
    the skin line, with 1/f texture over several octaves and detector noise; air is dark."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ROWS, 0:COLS].astype(np.float32)
    r = np.sqrt((x / (0.72 * COLS)) ** 2 + ((y - ROWS * 0.5) / (0.46 * ROWS)) ** 2)
    thickness = np.clip(1 - r ** 4, 0, 1)
    texture = np.zeros((ROWS, COLS), np.float32)
    for octave in range(2, 9):
        small = rng.standard_normal((2 ** octave, int(2 ** octave * COLS / ROWS) + 1)).astype(np.float32)
        texture += cv2.resize(small, (COLS, ROWS), interpolation=cv2.INTER_CUBIC) * 0.75 ** octave
    image = 180 + thickness * (1700 + 900 * texture) + rng.normal(0, 6, (ROWS, COLS))
    return np.clip(image, 0, 2 ** BITS - 1).astype(np.uint16)


def huffman_lengths(counts):
    """Code lengths (<= 16) for the symbols with counts, one code point reserved (JPEG forbids all-ones codes)."""
    heap = [(c, i, [s]) for i, (s, c) in enumerate(counts.items())] + [(1, -1, [None])]
    heapq.heapify(heap)
    lengths = {s: 0 for s in counts}
    lengths[None] = 0
    while len(heap) > 1:
        c1, i1, s1 = heapq.heappop(heap)
        c2, i2, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, min(i1, i2), s1 + s2))
    del lengths[None]
    assert max(lengths.values()) <= 16
    return lengths


def jpeg_lossless_sv1(image, precision):
    """Process 14, selection value 1, one component, no restart intervals, optimal Huffman table."""
    x = image.astype(np.int32)
    predicted = np.empty_like(x)
    predicted[0, 0] = 1 << (precision - 1)
    predicted[0, 1:] = x[0, :-1]
    predicted[1:, 0] = x[:-1, 0]
    predicted[1:, 1:] = x[1:, :-1]
    d = (x - predicted).ravel()
    d = ((d + 32768) & 0xFFFF) - 32768
    ssss = np.frexp(np.abs(d).astype(np.float64))[1].astype(np.int64)
    extra = np.where(d < 0, d + (1 << ssss) - 1, d) & ((1 << ssss) - 1)
    symbols, counts = np.unique(ssss, return_counts=True)
    lengths = huffman_lengths(dict(zip(symbols.tolist(), counts.tolist())))
    order = sorted(lengths, key=lambda s: (lengths[s], s))
    codes, code, previous = {}, 0, lengths[order[0]]
    for s in order:
        code <<= lengths[s] - previous
        previous = lengths[s]
        codes[s] = code
        code += 1
    code_of = np.zeros(17, np.int64)
    length_of = np.zeros(17, np.int64)
    for s in order:
        code_of[s], length_of[s] = codes[s], lengths[s]
    values = (code_of[ssss] << ssss) | extra
    nbits = length_of[ssss] + ssss
    chunks = []
    step = 1 << 20
    for start in range(0, len(values), step):
        v, n = values[start:start + step], nbits[start:start + step]
        shifts = np.arange(31, -1, -1)
        bits = ((v[:, None] >> shifts) & 1).astype(np.uint8)
        keep = shifts[None, :] < n[:, None]
        chunks.append(bits[keep])
    stream = np.concatenate(chunks)
    stream = np.concatenate([stream, np.ones((-len(stream)) % 8, np.uint8)])
    data = np.packbits(stream)
    stuffed = np.insert(data, np.nonzero(data == 0xFF)[0] + 1, 0)
    counts16 = [sum(1 for s in order if lengths[s] == k) for k in range(1, 17)]
    dht = bytes([0x00] + counts16 + order)
    sof = bytes([precision]) + ROWS.to_bytes(2, "big") + COLS.to_bytes(2, "big") + bytes([1, 1, 0x11, 0])
    sos = bytes([1, 1, 0x00, 1, 0, 0])
    def segment(marker, body):
        return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body
    return (b"\xff\xd8" + segment(0xC3, sof) + segment(0xC4, dht) + segment(0xDA, sos)
            + stuffed.tobytes() + b"\xff\xd9")


def write_dicom(path, codestream, syntax, image):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"  # Digital Mammography X-Ray Image - For Presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, BITS, BITS - 1, 0
    ds.WindowCenter, ds.WindowWidth = int(image.mean()), 2 * int(image.std()) + 1
    ds.PixelData = encapsulate([codestream])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)


def make_inputs(count):
    """`count` distinct images, each written as J2K and JPEG lossless (cached between runs)."""
    files = []
    for seed in range(count):
        j2k, jll = os.path.join(DATA, f"mg{seed}_j2k.dcm"), os.path.join(DATA, f"mg{seed}_jll.dcm")
        if not (os.path.exists(j2k) and os.path.exists(jll)):
            image = mammogram(seed)
            pgm = os.path.join(DATA, "image.pgm")
            with open(pgm, "wb") as f:
                f.write(f"P5\n{COLS} {ROWS}\n{2 ** BITS - 1}\n".encode() + image.astype(">u2").tobytes())
            codestream = os.path.join(DATA, "image.j2k")
            subprocess.run(["opj_compress", "-i", pgm, "-o", codestream], check=True, stdout=subprocess.DEVNULL)
            write_dicom(j2k, open(codestream, "rb").read(), "1.2.840.10008.1.2.4.90", image)
            write_dicom(jll, jpeg_lossless_sv1(image, BITS), "1.2.840.10008.1.2.4.70", image)
            for path in (j2k, jll):  # the reference decoders must give the image back exactly
                assert np.array_equal(pydicom.dcmread(path).pixel_array, image), path
        files.append((j2k, jll))
    return files


def ours(files, *args, repeat=3):
    out = run(MAMMOFLOW, "dicom", "time", *files, "--repeat", repeat, *args)
    return json.loads(out.strip().splitlines()[-1])


def peer_decode(path):
    return pydicom.dcmread(path).pixel_array


def peer_dataset(path):
    """Decode + window to 16 bits, as our decode stage's default does."""
    ds = pydicom.dcmread(path)
    from pydicom.pixels import apply_voi_lut
    display = apply_voi_lut(ds.pixel_array, ds)
    return (display / (2 ** BITS - 1) * 65535).astype(np.uint16)


def peer_dataset_worker(path):
    """One pool task: decode, then report this worker's own peak resident size in MB."""
    peer_dataset(path)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    inputs = make_inputs(4)
    j2k, jll = inputs[0]

    ours_j2k = ours([j2k], "--threads", 1, "--values", "stored")["best_ms"] / 1000
    peer_j2k = best_of(lambda: peer_decode(j2k), repeat=3)
    emit("dicom: J2K lossless 4096x3328 full decode, 1 thread (vs pydicom+pylibjpeg-openjpeg)", ours_j2k, peer_j2k, "s")

    ours_quarter = ours([j2k], "--threads", 1, "--reduce", 2, "--values", "stored")["best_ms"] / 1000
    peer_quarter = best_of(lambda: cv2.resize(peer_decode(j2k), (COLS // 4, ROWS // 4), interpolation=cv2.INTER_AREA), repeat=3)
    emit("dicom: J2K 1/4 (ours reduce=2 vs full decode + cv2 INTER_AREA)", ours_quarter, peer_quarter, "s")

    import dicomsdl
    ours_jll = ours([jll], "--threads", 1, "--values", "stored", repeat=5)["best_ms"] / 1000
    peer_jll = best_of(lambda: dicomsdl.open(jll).pixelData(), repeat=5)
    emit("dicom: JPEG lossless SV1 4096x3328 decode, 1 thread (vs dicomsdl)", ours_jll, peer_jll, "s")

    count = int(os.environ.get("DICOM_BENCH_FILES", "200"))
    dataset = [inputs[i % len(inputs)][i % 2] for i in range(count)]
    result = ours(dataset, "--workers", 2, "--threads", 1, "--values", "window16", repeat=1)
    t = time.perf_counter()
    with Pool(2) as pool:
        # RUSAGE_CHILDREN would also count our own decoder, run as a child above: ask each worker instead.
        peer_mb = max(pool.map(peer_dataset_worker, dataset, chunksize=4))
    peer_seconds = time.perf_counter() - t
    emit(f"dicom: dataset decode, {count} mammograms (J2K + JPEG LL), 2 workers (vs pydicom pool)",
         result["images_per_second"], len(dataset) / peer_seconds, "images/s", higher_is_better=True)
    emit("dicom: dataset decode peak memory (ours: process; pydicom: largest worker)", result["peak_rss_mb"], peer_mb, "MB")


if __name__ == "__main__":
    main()
