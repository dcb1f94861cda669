#!/usr/bin/python3
"""Reference values for the closed-form stitches and the FuLA loss, written from docs/methods.md with
numpy (float64), independently of the C++ code. Output: tests/fixtures/stitch_reference.pt, a
TorchScript container whose buffers hold inputs and expected outputs.

    /usr/bin/python3 scripts/make_stitch_reference.py
"""
import os

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(1234)
n, p, q = 300, 6, 5
X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, size=p) + rng.normal(size=p)
Y = X @ rng.normal(size=(p, q)) + 0.3 * rng.normal(size=(n, q)) + rng.normal(size=q)

# lstsq with bias: A = pinv([X 1]) Y, W = A[:-1]^T, b = A[-1]   (docs/methods.md §1.4 / §2.3)
X1 = np.concatenate([X, np.ones((n, 1))], 1)
A = np.linalg.pinv(X1) @ Y
lstsq_w, lstsq_b = A[:-1].T, A[-1]
# ridge (bias unpenalised): (X1^T X1 + lam * diag(1..1, 0))^-1 X1^T Y
lam = 5.0
R = lam * np.eye(p + 1)
R[p, p] = 0
Ar = np.linalg.solve(X1.T @ X1 + R, X1.T @ Y)
ridge_w, ridge_b = Ar[:-1].T, Ar[-1]

# Procrustes, square case (docs/methods.md §3.1): centre, SVD of Xc^T Yc, R = U V^T
Ysq = X @ np.linalg.qr(rng.normal(size=(p, p)))[0] * 1.7 + 0.05 * rng.normal(size=(n, p)) + 2.0
mx, my = X.mean(0), Ysq.mean(0)
Xc, Yc = X - mx, Ysq - my
U, S, Vt = np.linalg.svd(Xc.T @ Yc)
proc_r = U @ Vt
proc_s = S.sum() / (Xc ** 2).sum()  # s* = tr(Sigma) / ||Xc||^2
D = np.ones(p)
D[-1] = np.sign(np.linalg.det(U @ Vt))
kabsch_r = U @ np.diag(D) @ Vt

# Maiorca (docs/methods.md §2.5): standard scaling (unbiased std), zero pad, Procrustes, de-scale
sx, sy = X.std(0, ddof=1), Y.std(0, ddof=1)
Xs = (X - X.mean(0)) / sx
Ys = np.concatenate([(Y - Y.mean(0)) / sy, np.zeros((n, p - q))], 1)
U2, _, Vt2 = np.linalg.svd(Xs.T @ Ys)
Rm = (U2 @ Vt2)[:, :q]
maiorca_pred = (Xs @ Rm) * sy + Y.mean(0)

# FuLA (docs/methods.md §1.3): mean over layers of ||a_hat - a||_F / ||a||_F over whole batch tensors
shapes = [(8, 4, 5, 5), (8, 6, 3, 3), (8, 10)]
clean = [rng.normal(size=s) for s in shapes]
stitched = [c + rng.normal(scale=0.1 * (k + 1), size=c.shape) for k, c in enumerate(clean)]
terms = [np.linalg.norm((s - c).ravel()) / np.linalg.norm(c.ravel()) for s, c in zip(stitched, clean)]
fula_uniform = float(np.mean(terms))
weights = [0.5, 0.3, 0.2]
fula_weighted = float(sum(w * t for w, t in zip(weights, terms)))

t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)
buffers = {
    "x": t(X), "y": t(Y), "y_square": t(Ysq),
    "lstsq_w": t(lstsq_w), "lstsq_b": t(lstsq_b), "ridge_w": t(ridge_w), "ridge_b": t(ridge_b),
    "ridge_lambda": t(lam),
    "procrustes_r": t(proc_r), "procrustes_scale": t(proc_s), "kabsch_r": t(kabsch_r),
    "mean_x": t(mx), "mean_y_square": t(my), "maiorca_pred": t(maiorca_pred),
    "fula_terms": t(terms), "fula_uniform": t(fula_uniform), "fula_weights": t(weights),
    "fula_weighted": t(fula_weighted),
}
for k, (s, c) in enumerate(zip(stitched, clean)):
    buffers["stitched_%d" % k] = t(s)
    buffers["clean_%d" % k] = t(c)


class Tensors(nn.Module):
    def __init__(self):
        super().__init__()
        for k, v in buffers.items():
            self.register_buffer(k, v)


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "stitch_reference.pt")
torch.jit.script(Tensors()).save(out)
print(os.path.normpath(out))
