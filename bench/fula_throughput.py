#!/usr/bin/python3
"""FuLA stitch-training loop of bench/fula_throughput.cpp in Python eager PyTorch.

    /usr/bin/python3 bench/fula_throughput.py ARCH POINT [steps] [batch] [threads]

Same work per step: 1x1-conv stitch on cached front activations, the end model's downstream
blocks (its recommended stitch points after POINT) with autograd, a no-grad clean pass for the
targets, mean relative Frobenius distance, backward, Adam (lr 1e-3, wd 1e-4).
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import export_architectures as ea  # noqa: E402

arch, point = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 200
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 128
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
front, end = ea.ARCHS[arch]().eval(), ea.ARCHS[arch]().eval()
for p in list(front.parameters()) + list(end.parameters()):
    p.requires_grad_(False)


def module(m, path):
    for part in path.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


points = end.stitch_points
i = points.index(point)
down = points[i + 1:]


def upto(m, x):  # input -> point, following forward's structure for the zoo architectures
    x = (x - m.norm_mean) / m.norm_std
    for p in points[: i + 1]:
        x = module(m, p)(x)
    return x


with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
    images = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16)[: 8192 * 784].reshape(-1, 1, 28, 28)
                              .astype(np.float32) / 255)
with torch.no_grad():
    xi, aj = upto(front, images), upto(end, images)
c = xi.shape[1]
stitch = nn.Conv2d(c, c, 1) if xi.dim() == 4 else nn.Linear(c if xi.dim() == 2 else xi.shape[-1], c if xi.dim() == 2 else xi.shape[-1])
opt = torch.optim.Adam(stitch.parameters(), lr=1e-3, weight_decay=1e-4)
nb = images.shape[0] // batch


def rel(a_hat, a):
    return (a_hat - a).norm() / (a.norm() + 1e-8)


def step(k):
    x, a = xi[(k % nb) * batch:(k % nb + 1) * batch], aj[(k % nb) * batch:(k % nb + 1) * batch]
    opt.zero_grad()
    st, cl = [stitch(x)], [a]
    for p in down:
        blk = module(end, p)
        st.append(blk(st[-1]))
        with torch.no_grad():
            cl.append(blk(cl[-1]))
    loss = torch.stack([rel(s, t) for s, t in zip(st, cl)]).mean()
    loss.backward()
    opt.step()
    return loss.item()


for k in range(20):
    step(k)
t0 = time.perf_counter()
for k in range(steps):
    loss = step(20 + k)
s = time.perf_counter() - t0
print("python arch=%s point=%s layers=%d batch=%d threads=%d seconds=%.3f samples_per_s=%.1f loss=%.4f"
      % (arch, point, len(down) + 1, batch, threads, s, steps * batch / s, loss))
