#!/usr/bin/python3
"""The same training loop as bench/train_throughput.cpp in Python eager PyTorch.

    /usr/bin/python3 bench/train_throughput.py [arch] [steps] [batch] [threads]

Uses the eager nn.Module classes of scripts/export_architectures.py (same architecture), SGD
with Nesterov momentum, the same batch size and thread count, batches drawn from Fashion-MNIST
in a shuffled order. Data loading is outside the timed region in both programs.
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import export_architectures as ea  # noqa: E402

arch = sys.argv[1] if len(sys.argv) > 1 else "cnn"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
D = "/usr/share/datasets/fashion-mnist"
with gzip.open(os.path.join(D, "train-images-idx3-ubyte.gz")) as f:
    images = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)
with gzip.open(os.path.join(D, "train-labels-idx1-ubyte.gz")) as f:
    labels = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
model = ea.ARCHS[arch]().train()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
perm = torch.randperm(images.shape[0])
nb = images.shape[0] // batch


def step(i):
    rows = perm[(i % nb) * batch:(i % nb + 1) * batch]
    x, y = images[rows], labels[rows]
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for i in range(20):
    step(i)
t0 = time.perf_counter()
for i in range(steps):
    loss = step(20 + i)
s = time.perf_counter() - t0
print("python arch=%s batch=%d threads=%d steps=%d seconds=%.3f images_per_s=%.1f final_loss=%.3f"
      % (arch, batch, threads, steps, s, steps * batch / s, loss))
