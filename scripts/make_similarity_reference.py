#!/usr/bin/python3
"""Reference values for the similarity metrics, written from docs/methods.md §3-§4 with numpy only
(float64), independently of the C++ code. Output: tests/fixtures/similarity_reference.pt.

    /usr/bin/python3 scripts/make_similarity_reference.py
"""
import os

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(7)
n, p, q = 60, 12, 9
Z = rng.normal(size=(n, 5))
X = Z @ rng.normal(size=(5, p)) + 0.3 * rng.normal(size=(n, p))
Y = np.tanh(Z @ rng.normal(size=(5, q))) + 0.3 * rng.normal(size=(n, q))


def centre(a):
    return a - a.mean(0)


def linear_cka(x, y):  # HSIC_0 with H K H, divided out
    n = x.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = x @ x.T, y @ y.T
    hsic = lambda a, b: np.trace(a @ H @ b @ H) / (n - 1) ** 2
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def hsic1(K, L):  # Song et al., exactly as docs/methods.md §4
    n = K.shape[0]
    Kt, Lt = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
    one = np.ones(n)
    return (np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ Kt @ Lt @ one)) / (n * (n - 3))


def unbiased_cka(x, y):
    K, L = x @ x.T, y @ y.T
    return hsic1(K, L) / np.sqrt(hsic1(K, K) * hsic1(L, L))


def cca_corrs(x, y):  # canonical correlations via QR of centred data
    qx, _ = np.linalg.qr(centre(x))
    qy, _ = np.linalg.qr(centre(y))
    u, s, vt = np.linalg.svd(qx.T @ qy, full_matrices=False)
    return qx, u, s


def svcca(x, y, variance=0.99):
    def reduce(a):
        u, s, vt = np.linalg.svd(centre(a), full_matrices=False)
        frac = np.cumsum(s ** 2) / np.sum(s ** 2)
        keep = int(np.searchsorted(frac, variance - 1e-12) + 1)
        return u[:, :keep] * s[:keep]
    _, _, s = cca_corrs(reduce(x), reduce(y))
    return float(np.mean(np.clip(s, 0, 1)))


def pwcca(x, y):
    qx, u, s = cca_corrs(x, y)
    h = qx @ u  # canonical variates of X
    alpha = np.abs(h.T @ centre(x)).sum(1)
    alpha = alpha / alpha.sum()
    return float(np.sum(alpha * np.clip(s, 0, 1)))


def knn_prep(a):
    qv = np.mean(np.quantile(np.abs(a), 0.95, axis=1))
    c = np.clip(a, -qv, qv)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def topk_mask(G, k):
    G = G.copy()
    np.fill_diagonal(G, -np.inf)
    idx = np.argsort(-G, axis=1, kind="stable")[:, :k]
    M = np.zeros_like(G)
    np.put_along_axis(M, idx, 1.0, axis=1)
    return M


def mutual_knn(x, y, k):
    a, b = knn_prep(x), knn_prep(y)
    ma, mb = topk_mask(a @ a.T, k), topk_mask(b @ b.T, k)
    return float(np.mean((ma * mb).sum(1) / k))


def cknna(x, y, k):  # on raw features, the formula of docs/methods.md §4 (no epsilon)
    K, L = x @ x.T, y @ y.T
    mk, ml = topk_mask(K, k), topk_mask(L, k)
    m = mk * ml
    return hsic1(m * K, m * L) / np.sqrt(hsic1(mk * K, mk * K) * hsic1(ml * L, ml * L))


def platonic_cknna(feats_a, feats_b, topk):
    """Huh et al., minyoungg/platonic-rep: measure_alignment.py prepare_features (remove_outliers,
    q = 0.95, not exact: q_val = mean over samples of each sample's 95th percentile of |f|, then
    clamp), compute_score (F.normalize rows), metrics.py cknna (unbiased, distance-aware, the
    denominator sqrt(sim_kk * sim_ll) + 1e-6), re-written in numpy from that code."""
    def prepare(f):
        q_val = np.quantile(np.abs(f), 0.95, axis=1).mean()
        f = np.clip(f, -q_val, q_val)
        return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)

    a, b = prepare(feats_a), prepare(feats_b)
    K, L = a @ a.T, b @ b.T

    def similarity(K, L):
        mask = topk_mask(K, topk) * topk_mask(L, topk)
        return hsic1(mask * K, mask * L)

    return similarity(K, L) / (np.sqrt(similarity(K, K) * similarity(L, L)) + 1e-6)


def procrustes_stats(xf, yf, xt, yt):
    """docs/methods.md §3.1: centre with the fit means, R = U V^T from svd(Xc^T Yc); statistics of the
    fitted map y = (x - mu_x) R + mu_y on the held-out rows; EV against the held-out variance."""
    mx, my = xf.mean(0), yf.mean(0)
    u, s, vt = np.linalg.svd((xf - mx).T @ (yf - my), full_matrices=False)
    R = u @ vt
    rel = lambda x, y: np.linalg.norm((x - mx) @ R - (y - my)) / np.linalg.norm(y - my)
    var = np.sum((yt - yt.mean(0)) ** 2)
    A = np.linalg.pinv(np.hstack([xf, np.ones((len(xf), 1))])) @ yf  # affine least squares
    out = {
        "rel_error_fit": rel(xf, yf), "rel_error_test": rel(xt, yt),
        "ev_after": 1 - np.sum((yt - ((xt - mx) @ R + my)) ** 2) / var,
        "ev_affine": 1 - np.sum((yt - np.hstack([xt, np.ones((len(xt), 1))]) @ A) ** 2) / var,
    }
    xc, yc = xf - mx, yf - my
    xc, yc = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    out["distance"] = 2 - 2 * np.linalg.svd(xc.T @ yc, compute_uv=False).sum()
    if xf.shape[1] == yf.shape[1]:
        out["ev_before"] = 1 - np.sum((yt - xt) ** 2) / var
        out["det"] = np.linalg.det(R)
        out["r_minus_i"] = np.linalg.norm(R - np.eye(R.shape[0]))
    return out


# Procrustes: fit on the first 40 rows, held-out the last 20; a square pair (d = 12, a noisy
# nonlinear image of a rotation) and the non-square (X, Y) pair.
Q0, _ = np.linalg.qr(rng.normal(size=(p, p)))
Y2 = np.tanh(X @ Q0) + 0.2 * rng.normal(size=(n, p))
proc = {f"procrustes_sq_{k}": v for k, v in procrustes_stats(X[:40], Y2[:40], X[40:], Y2[40:]).items()}
proc.update({f"procrustes_{k}": v for k, v in procrustes_stats(X[:40], Y[:40], X[40:], Y[40:]).items()})

# minibatch CKA over 3 batches of 20
mb = [(X[i:i + 20], Y[i:i + 20]) for i in range(0, 60, 20)]
kl = sum(hsic1(a @ a.T, b @ b.T) for a, b in mb)
kk = sum(hsic1(a @ a.T, a @ a.T) for a, b in mb)
ll = sum(hsic1(b @ b.T, b @ b.T) for a, b in mb)

vals = {
    "linear_cka": linear_cka(X, Y), "unbiased_cka": unbiased_cka(X, Y),
    "minibatch_cka": kl / np.sqrt(kk * ll), "svcca": svcca(X, Y), "pwcca": pwcca(X, Y),
    "mutual_knn_5": mutual_knn(X, Y, 5), "cknna_5": cknna(X, Y, 5),
    "cknna_platonic_5": platonic_cknna(X, Y, 5), "cknna_platonic_xx_5": platonic_cknna(X, X, 5),
}
vals.update(proc)
buffers = {"x": torch.tensor(X), "y": torch.tensor(Y), "y_square": torch.tensor(Y2)}
buffers.update({k: torch.tensor(float(v), dtype=torch.float64) for k, v in vals.items()})


class Tensors(nn.Module):
    def __init__(self):
        super().__init__()
        for k, v in buffers.items():
            self.register_buffer(k, v)


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "similarity_reference.pt")
torch.jit.script(Tensors()).save(out)
print(os.path.normpath(out), {k: round(float(v), 6) for k, v in vals.items()})
