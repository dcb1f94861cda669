#!/usr/bin/python3
"""Write Fashion-MNIST as an RGB HDF5 data set with a random tint per image (study 2c, marker
saliency: colour markers need RGB images).

Each grey image x in [0, 1] becomes x * tint, where tint is the RGB colour of a random hue at
saturation 0.5 and value 1, drawn per image from a fixed seed. The tint carries no label
information (hue is drawn independently of the class), so a model trained on these images still
has to read shape; a class marker pasted on them (`markers_apply`, RGB branch) has a fully
saturated class colour that no garment has.

Layout (what `data: {source: hdf5, file: ...}` reads): groups train/ and test/, each with
`images` uint8 [N, 3, 28, 28] and `labels` int64 [N]. The file is written to a temporary name
and renamed, so a killed run leaves no half-written data set.

Usage: /usr/bin/python3 experiments/tinted_fashion_mnist.py [--out runs/data/fmnist_tinted.h5]
"""
import argparse
import colorsys
import gzip
import os
import sys

import h5py
import numpy as np

SPLITS = {"train": "train", "test": "t10k"}


def idx_read(path: str) -> np.ndarray:
    """One gzipped IDX file (ubyte images [N, 28, 28] or labels [N])."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def tints(n: int, seed: int, saturation: float = 0.5) -> np.ndarray:
    """[n, 3] RGB colours of random hues at the given saturation, value 1."""
    hues = np.random.default_rng(seed).random(n)
    return np.array([colorsys.hsv_to_rgb(h, saturation, 1.0) for h in hues], np.float32)


def tint(images: np.ndarray, seed: int) -> np.ndarray:
    """uint8 [N, 28, 28] grey -> uint8 [N, 3, 28, 28] tinted."""
    c = tints(images.shape[0], seed)
    rgb = images[:, None, :, :].astype(np.float32) * c[:, :, None, None]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=os.environ.get("STITCH_FASHION_MNIST_DIR",
                                                    "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--out", default="runs/data/fmnist_tinted.h5")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with h5py.File(tmp, "w") as f:
        for i, (split, stem) in enumerate(SPLITS.items()):
            try:
                x = idx_read(os.path.join(args.src, stem + "-images-idx3-ubyte.gz"))
                y = idx_read(os.path.join(args.src, stem + "-labels-idx1-ubyte.gz"))
            except OSError as e:
                print("tinted_fashion_mnist.py: cannot read Fashion-MNIST (%s); set --src or "
                      "STITCH_FASHION_MNIST_DIR" % e, file=sys.stderr)
                os.remove(tmp)
                return 2
            g = f.create_group(split)
            g.create_dataset("images", data=tint(x, args.seed + i), compression="gzip")
            g.create_dataset("labels", data=y.astype(np.int64))
    os.replace(tmp, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
