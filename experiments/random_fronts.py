#!/usr/bin/env python3
"""The untrained fronts of study 3's control: the zoo's cnn and resnet architectures at
initialisation seeds 0-2 (scripts/export_architectures.py), as runs/random_fronts/<arch>_random_s<seed>.pt.
Existing files are kept: the weights of a seed are the same on every export, but the file's
bytes are not (torch.jit.save writes a random serialization id), and the file's SHA-256 is part
of every job key. Each file is written atomically (exported into a temporary folder, renamed). Usage: /usr/bin/python3 experiments/random_fronts.py
"""
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "runs" / "random_fronts"


def random_fronts(archs=("cnn", "resnet"), seeds=(0, 1, 2)):
    OUT.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for arch in archs:
            path = OUT / f"{arch}_random_s{seed}.pt"
            if path.exists():
                continue
            with tempfile.TemporaryDirectory(dir=OUT) as tmp:
                subprocess.run([sys.executable, str(ROOT / "scripts" / "export_architectures.py"),
                                "--out", tmp, "--seed", str(seed), "--only", arch], check=True,
                               stdout=subprocess.DEVNULL)
                os.replace(os.path.join(tmp, f"{arch}.pt"), path)


if __name__ == "__main__":
    random_fronts()
