#!/usr/bin/env python3
"""Golden values for the pectoral step from the study's scikit-image pipeline (scikit-image 0.26.0,
numpy, pinned in bench/requirements.txt). Run with the bench venv:

    .bench/venv/bin/python Tests/Fixtures/Imaging/make_pectoral_golden.py

Writes, beside this script:
  pectoral_input.png   a 16-bit MLO-like phantom (chest wall left, wedge top-left, texture, noise)
  canny_golden.png     skimage.feature.canny(image, sigma=2.25) as 0/255
  pectoral_golden.json the study's line choice: hough_line on sobel(canny), hough_line_peaks, keep angle
                       1-89 degrees and distance 1-384 (scaled to the image height / 1024), take the nearest
"""
import json
import os

import numpy as np
from skimage.feature import canny
from skimage.filters import sobel
from skimage.transform import hough_line, hough_line_peaks

import png_reference

HERE = os.path.dirname(os.path.abspath(__file__))


def phantom(width=208, height=256, seed=11):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = np.sqrt((x / (0.72 * width)) ** 2 + ((y - 0.5 * height) / (0.56 * height)) ** 2)
    skin = np.clip((1 - r) * 12, 0, 1)
    texture = 0.06 * np.sin(x * 0.21 + 2 * np.sin(y * 0.09)) + 0.04 * np.sin(y * 0.37)
    image = np.where(r <= 1, 0.18 + 0.22 * skin + texture * skin, 0.01)
    wedge = (x / (0.36 * width) + y / (0.5 * height) <= 1) & (r <= 1)
    image = np.where(wedge, 0.62, image)
    image += rng.normal(0, 0.01, image.shape)
    return np.clip(np.round(image * 65535), 0, 65535).astype(np.uint16)


def study_line(edges_sobel, height):
    h, theta, d = hough_line(edges_sobel)
    scale = height / 1024
    lines = []
    for votes, angle, dist in zip(*hough_line_peaks(h, theta, d)):
        degrees = float(np.degrees(angle))
        if 1 <= degrees <= 89 and 1 * scale <= dist <= 384 * scale:
            lines.append({"angle": degrees, "distance": float(dist), "votes": int(votes)})
    lines.sort(key=lambda line: line["distance"])
    return lines


def main():
    image = phantom()
    edges = canny(image, sigma=2.25)
    support = sobel(edges)
    lines = study_line(support, image.shape[0])
    rows = image.tolist()
    with open(os.path.join(HERE, "pectoral_input.png"), "wb") as f:
        f.write(png_reference.encode(image.shape[1], image.shape[0], 16, 1, rows))
    with open(os.path.join(HERE, "canny_golden.png"), "wb") as f:
        f.write(png_reference.encode(image.shape[1], image.shape[0], 8, 1, (edges * 255).astype(int).tolist()))
    golden = {"edges": int(edges.sum()), "support": int((support > 0).sum()), "lines": lines,
              "nearest": lines[0] if lines else None}
    with open(os.path.join(HERE, "pectoral_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(json.dumps(golden))


if __name__ == "__main__":
    main()
