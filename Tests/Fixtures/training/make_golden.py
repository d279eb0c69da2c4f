"""Reference values for Tests/TrainingTests: albumentations 1.3.1's transforms and OpenCV's warpAffine, remap and
resize on small planes, written as golden.bin (float32 little-endian, arrays back to back) and golden.json
(name -> [offset, shape] and the parameters used).

    python3 -m venv /tmp/golden && /tmp/golden/bin/pip install albumentations==1.3.1 \
        opencv-python-headless==5.1.0.95 numpy==2.4.6 scikit-image==0.26.0
    /tmp/golden/bin/python Tests/Fixtures/training/make_golden.py

OpenCV 5.1's INTER_LINEAR weighs the exact source coordinate, as mammoflow does. OpenCV 4.11 gives other values
(its remap rounds the coordinate to 1/32 pixel, INTER_BITS), up to 0.02 apart on this plane.
"""
import json
import os
import random

import albumentations as A
import albumentations.augmentations.functional as AF
import albumentations.augmentations.geometric.functional as GF
import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
H, W = 24, 32
arrays, params = {}, {}


def put(name, array):
    arrays[name] = np.ascontiguousarray(array, dtype=np.float32)


rng = np.random.default_rng(20261204)
plane = rng.random((H, W), dtype=np.float32)
put("plane", plane)
put("horizontal_flip", plane[:, ::-1])
put("vertical_flip", plane[::-1, :])

# warpAffine of a general matrix (anisotropic, sheared, shifted).
matrix = np.array([[0.9, 0.2, 3.1], [-0.15, 1.1, -2.3]])
params["warp_matrix"] = matrix.flatten().tolist()
put("warp", cv2.warpAffine(plane, matrix, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0))

# albumentations' functions, with the matrices and maps they hand to OpenCV recorded.
recorded = {}
warp_affine, remap = cv2.warpAffine, cv2.remap


def recording_warp_affine(img, M, *args, **kwargs):
    recorded["matrix"] = np.array(M, dtype=np.float64)
    return warp_affine(img, M, *args, **kwargs)


def recording_remap(img, map1, map2, *args, **kwargs):
    recorded["map_x"], recorded["map_y"] = map1.copy(), map2.copy()
    return remap(img, map1, map2, *args, **kwargs)


cv2.warpAffine, cv2.remap = recording_warp_affine, recording_remap
constant = dict(interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_CONSTANT, value=0)

ssr = dict(angle=13.0, scale=1.07, dx=0.04, dy=-0.03)
params["shift_scale_rotate"] = ssr
put("shift_scale_rotate", GF.shift_scale_rotate(plane, **ssr, **constant))
params["shift_scale_rotate_matrix"] = recorded["matrix"].flatten().tolist()

# Affine: feed albumentations' random.uniform the draws in its order (translate x, y; shear x, y; scale x, y; rotate).
draws = dict(translateX=0.03, translateY=-0.02, shearX=4.0, shearY=-6.0, scaleX=1.05, scaleY=0.93, rotate=7.0)
affine = A.Affine(scale=(0.9, 1.1), translate_percent=(-0.05, 0.05), rotate=(-10, 10), shear=(-10, 10),
                  interpolation=cv2.INTER_LINEAR, cval=0, mode=cv2.BORDER_CONSTANT, p=1)
feed = iter(draws.values())
uniform = random.uniform
random.uniform = lambda a, b: next(feed)
affine_params = affine.get_params_dependent_on_targets({"image": plane})
random.uniform = uniform
put("affine", affine.apply(plane, **affine_params))
params["affine"] = draws
params["affine_matrix"] = affine_params["matrix"].params[:2].flatten().tolist()

# remap of a map that reaches past every border, with whole and fractional coordinates.
map_x = rng.uniform(-1.5, W + 0.5, (H, W)).astype(np.float32)
map_y = rng.uniform(-1.5, H + 0.5, (H, W)).astype(np.float32)
map_x[0, :8] = np.arange(8)
map_y[0, :8] = 3
map_x[1, :4], map_y[1, :4] = [W - 1, W - 1, 0, W - 1], [H - 1, 5, H - 1, 0]  # the last column and row
put("remap_x", map_x)
put("remap_y", map_y)
put("remap", remap(plane, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0))

# grid_distortion: 5 steps (32 and 24 leave remainders) and 4 steps (they divide).
for steps in (5, 4):
    stepsx = [1 + d for d in rng.uniform(-0.3, 0.3, steps + 1)]
    stepsy = [1 + d for d in rng.uniform(-0.3, 0.3, steps + 1)]
    params[f"grid{steps}"] = dict(xSteps=stepsx, ySteps=stepsy)
    put(f"grid{steps}", GF.grid_distortion(plane, steps, stepsx, stepsy, **constant))
    put(f"grid{steps}_columns", recorded["map_x"][0])
    put(f"grid{steps}_rows", recorded["map_y"][:, 0])

# optical_distortion: barrel and pincushion, with the centre shifted (pixels).
for name, k, dx, dy in (("optical_barrel", 0.4, 2, -1), ("optical_pincushion", -0.3, -3, 2)):
    params[name] = dict(k=k, dx=dx, dy=dy)
    put(name, GF.optical_distortion(plane, k, dx, dy, **constant))

for name, alpha, beta in (("brightness_contrast", 1.15, -0.1), ("brightness_contrast_clipped", 1.3, 0.2)):
    params[name] = dict(alpha=alpha, beta=beta)
    put(name, AF.brightness_contrast_adjust(plane, alpha, beta, beta_by_max=True))

cv2.warpAffine, cv2.remap = warp_affine, remap


# ModelInput: cv2.resize of image / (2^bits - 1) to the fitted size, at x = 0 and centred vertically on zeros.
def model_input(image, bits):
    height, width = image.shape
    scale = min(W / width, H / height)
    fitted_w = max(1, int(np.floor(width * scale + 0.5)))
    fitted_h = max(1, int(np.floor(height * scale + 0.5)))
    shrink = fitted_w < width and fitted_h < height
    resized = cv2.resize(image.astype(np.float32) / (2**bits - 1), (fitted_w, fitted_h),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    out = np.zeros((H, W), np.float32)
    top = (H - fitted_h) // 2
    out[top:top + fitted_h, :fitted_w] = resized
    return out


for name, (height, width), bits in (("resize_fraction", (90, 40), 12), ("resize_integer", (48, 32), 12),
                                     ("resize_enlarge", (7, 10), 8)):
    image = rng.integers(0, 2**bits, (height, width)).astype(np.uint16)
    params[name] = dict(width=width, height=height, bits=bits)
    put(name + "_image", image)
    put(name, model_input(image, bits))

# A reduction by about 50, from an image the test makes from the same formula.
height, width = 1203, 301
ys, xs = np.mgrid[0:height, 0:width]
pattern = ((xs * 37 + ys * 91 + (xs * ys) % 113) % 4096).astype(np.uint16)
params["resize_large"] = dict(width=width, height=height, bits=12)
put("resize_large", model_input(pattern, 12))

index, offset = {}, 0
for name, array in arrays.items():
    index[name] = [offset, list(array.shape)]
    offset += array.size
with open(os.path.join(HERE, "golden.bin"), "wb") as f:
    for array in arrays.values():
        f.write(array.astype("<f4").tobytes())
with open(os.path.join(HERE, "golden.json"), "w") as f:
    json.dump({"versions": {"albumentations": A.__version__, "opencv": cv2.__version__, "numpy": np.__version__},
               "arrays": index, "params": params}, f, indent=1)
