#!/usr/bin/python3
"""Similarity metrics of bench/similarity.cpp in Python with torch (float64), written from
docs/methods.md §4 the way a researcher would (Kornblith's feature-space linear CKA, Song's HSIC_1 on
X X^T Grams as in platonic-rep, platonic-rep's mutual k-NN with outlier clamp + L2 norm).

    /usr/bin/python3 bench/similarity.py METRIC [n] [p] [threads]

Same data as the C++ program: torch.manual_seed(0), X = randn(n, p), Y = 0.6 X + 0.8 randn.
"""
import resource
import sys
import time

import torch

metric = sys.argv[1] if len(sys.argv) > 1 else "linear_cka"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
p = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
torch.manual_seed(0)
x = torch.randn(n, p)
y = 0.6 * x + 0.8 * torch.randn(n, p)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def linear_cka(x, y):
    x = x.double() - x.double().mean(0)
    y = y.double() - y.double().mean(0)
    return ((y.T @ x).norm() ** 2 / ((x.T @ x).norm() * (y.T @ y).norm())).item()


def hsic_unbiased(k, l):
    m = k.shape[0]
    k = k.clone().fill_diagonal_(0)
    l = l.clone().fill_diagonal_(0)
    return ((k * l.T).sum() + k.sum() * l.sum() / ((m - 1) * (m - 2))
            - 2 / (m - 2) * k.sum(0) @ l.sum(1)) / (m * (m - 3))


def unbiased_cka(x, y):
    k, l = x.double() @ x.double().T, y.double() @ y.double().T
    return (hsic_unbiased(k, l) / (hsic_unbiased(k, k) * hsic_unbiased(l, l)).sqrt()).item()


def knn_prepare(a):
    q = a.abs().quantile(0.95, dim=1).mean()
    a = a.clamp(-q, q)
    return a / a.norm(dim=1, keepdim=True)


def mutual_knn(x, y, k=10):
    a, b = knn_prepare(x.double()), knn_prepare(y.double())
    ga, gb = a @ a.T, b @ b.T
    ga.fill_diagonal_(float("-inf"))
    gb.fill_diagonal_(float("-inf"))
    ma = torch.zeros_like(ga).scatter_(1, ga.topk(k, dim=1).indices, 1.0)
    mb = torch.zeros_like(gb).scatter_(1, gb.topk(k, dim=1).indices, 1.0)
    return ((ma * mb).sum(1) / k).mean().item()


fns = {"linear_cka": linear_cka, "unbiased_cka": unbiased_cka, "mutual_knn": mutual_knn}
if metric not in fns:
    sys.exit(f"unknown metric '{metric}'; use linear_cka, unbiased_cka or mutual_knn")
data_mb = peak_mb()
t0 = time.perf_counter()
v = fns[metric](x, y)
s = time.perf_counter() - t0
print(f"python {metric:<13} n={n} p={p} value={v:.8f} seconds={s:.2f} peak_mb={peak_mb():.0f} "
      f"data_mb={data_mb:.0f}")
