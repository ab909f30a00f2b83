#!/usr/bin/env python3
"""Writes the Qwen2-VL preprocessing fixtures in src/test/resources/qwen-pixels (committed; rerun only to change
them). Independent of our Java: Pillow's own BICUBIC resize, and rescale, normalize and patchify written the way
Hugging Face's Qwen2VLImageProcessor (the numpy/PIL "slow" processor) does them: rescale in float64 cast to
float32, normalize in float32, the frame repeated to temporal_patch_size, reshape + transpose + reshape.
Needs Debian's python3-pil and python3-numpy: /usr/bin/python3 make-qwen-pixel-fixtures.py
"""
import hashlib
import json
import math
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "qwen-pixels")
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
RESCALE = 0.00392156862745098
PATCH, TEMPORAL, MERGE = 14, 2, 2


def smart_resize(height, width, factor=28, min_pixels=56 * 56, max_pixels=28 * 28 * 1280):
    # as transformers' qwen2_vl image processor (round = Python's half-to-even)
    if height < factor or width < factor:
        raise ValueError("too small")
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def picture(width, height, seed):
    # noise over smooth gradients and a hard edge: every resize tap matters, and clamping at 0 and 255 happens
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255.0 / width, y * 255.0 / height, ((x + y) % 17) * 15.0], axis=-1)
    base[:, width // 2:, :] = 255 - base[:, width // 2:, :]
    noise = rng.integers(-60, 61, size=(height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def process(img, min_pixels, max_pixels):
    h, w = img.height, img.width
    rh, rw = smart_resize(h, w, PATCH * MERGE, min_pixels, max_pixels)
    resized = img.resize((rw, rh), resample=Image.BICUBIC, reducing_gap=None)
    arr = np.array(resized)                                           # (H, W, 3) uint8
    arr = (arr.astype(np.float64) * RESCALE).astype(np.float32)
    arr = (arr - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    chw = arr.transpose(2, 0, 1)
    patches = np.array([chw])
    patches = np.concatenate([patches, np.repeat(patches[-1][np.newaxis], TEMPORAL - 1, axis=0)], axis=0)
    gt, gh, gw = patches.shape[0] // TEMPORAL, rh // PATCH, rw // PATCH
    patches = patches.reshape(gt, TEMPORAL, 3, gh // MERGE, MERGE, PATCH, gw // MERGE, MERGE, PATCH)
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = np.ascontiguousarray(patches.reshape(gt * gh * gw, 3 * TEMPORAL * PATCH * PATCH), dtype="<f4")
    return resized, (rh, rw), [gt, gh, gw], flat


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    # (width, height, min_pixels, max_pixels): upscale both sides, upscale with a thin aspect, downscale by
    # max_pixels, and a non-integer downscale near 1
    for i, (w, h, lo, hi) in enumerate([(61, 45, 3136, 12845056), (30, 100, 3136, 12845056),
                                        (200, 300, 3136, 112 * 112), (143, 97, 3136, 84 * 84)]):
        name = f"case{i}"
        img = Image.fromarray(picture(w, h, 1000 + i), "RGB")
        img.save(os.path.join(OUT, name + "-input.png"))
        resized, (rh, rw), grid, flat = process(img, lo, hi)
        resized.save(os.path.join(OUT, name + "-resized.png"))
        cases.append({
            "input": name + "-input.png", "resized": name + "-resized.png",
            "min_pixels": lo, "max_pixels": hi, "resized_height": rh, "resized_width": rw,
            "grid_thw": grid, "shape": list(flat.shape),
            "pixel_values_sha256": hashlib.sha256(flat.tobytes()).hexdigest(),
            "first_values": [float(v) for v in flat.reshape(-1)[:6]],
        })
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "make-qwen-pixel-fixtures.py", "pillow": Image.__version__,
                   "numpy": np.__version__, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
