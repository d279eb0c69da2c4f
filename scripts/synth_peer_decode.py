#!/usr/bin/env python3
"""Decodes every .dcm under DIR with pydicom (+pylibjpeg) and with dicomsdl and compares the stored values with
the .u16 file beside each (the values mammoflow rendered: little-endian uint16, row-major).

usage: synth_peer_decode.py DIR    prints one JSON line per file; exits 1 on any mismatch.
"""
import glob
import json
import os
import sys

import dicomsdl
import numpy as np
import pydicom


def main(root):
    failures = 0
    files = sorted(glob.glob(os.path.join(root, "**", "*.dcm"), recursive=True))
    for path in files:
        ds = pydicom.dcmread(path)  # raises on a file that is not valid Part 10
        expected = np.fromfile(path[:-4] + ".u16", dtype="<u2").reshape(int(ds.Rows), int(ds.Columns))
        ours = ds.pixel_array
        sdl = dicomsdl.open(path).pixelData()
        row = {
            "file": os.path.relpath(path, root),
            "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
            "preamble": open(path, "rb").read(132)[128:] == b"DICM",
            "pydicom_equal": bool(ours.shape == expected.shape and np.array_equal(ours, expected)),
            "dicomsdl_equal": bool(sdl.shape == expected.shape and np.array_equal(sdl.astype(np.uint16), expected)),
            "bits_stored": int(ds.BitsStored),
            "photometric": str(ds.PhotometricInterpretation),
        }
        if not (row["preamble"] and row["pydicom_equal"] and row["dicomsdl_equal"]):
            failures += 1
        print(json.dumps(row), flush=True)
    print(json.dumps({"files": len(files), "failures": failures}))
    sys.exit(1 if failures or not files else 0)


if __name__ == "__main__":
    main(sys.argv[1])
