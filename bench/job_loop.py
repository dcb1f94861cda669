#!/usr/bin/python3
"""The naive Python stitching loop a user would write, for bench/job_e2e.sh.

    /usr/bin/python3 bench/job_loop.py fula    FRONT END POINT EPOCHS TRAIN THREADS
                              (or dm_hint, tlm, slm: one run of that method; MODE_floor:
                              front activations and clean targets precomputed, untimed)
    /usr/bin/python3 bench/job_loop.py methods FRONT END POINT EPOCHS TRAIN THREADS
    /usr/bin/python3 bench/job_loop.py grid    FRONT END POINTS TRAIN THREADS   (POINTS: a,b,c)

The same models as `stitch run` (the TorchScript files' weights in the eager nn.Modules of
scripts/export_architectures.py), run block by block (forward is normalise -> top-level
children in order, a Sequential of stitch points expanded into its blocks, flatten before a
final Linear). Per training step, as usual in Python: the frozen
front model to the stitch point and the clean end model (no grad), then the stitched pass with
autograd, loss, backward, Adam (lr 1e-3, wd 1e-4, x0.1 at 1/3 and 2/3, batch 128, drop_last).
The stitch is a 1x1 conv (bilinear resize first when sizes differ) initialised by least squares
on the first 500 training images; after training, the stitched and end models are evaluated on
the 10,000 test images. `methods` trains dm_hint, tlm, slm and fula one after the other, as four
runs would; `grid` fits dm_closed for every front point x end point and evaluates each.
Prints one line: seconds, images/s (training images seen per second), seconds of the training
loops alone, peak RSS, accuracies.
"""
import gzip
import resource
import sys
import time

import os

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import export_architectures as ea  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def load(split, n):
    pre = "train" if split == "train" else "t10k"
    with gzip.open(f"{DATA}/{pre}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784].reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{pre}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))


class Staged:
    def __init__(self, path):
        # The eager nn.Module a Python user has, with the TorchScript file's weights (the zoo
        # architectures are defined in scripts/export_architectures.py).
        scripted = torch.jit.load(path)
        self.m = ea.ARCHS[scripted.arch]()
        self.m.load_state_dict(scripted.state_dict())
        self.m.eval()
        for p in self.m.parameters():
            p.requires_grad_(False)
        # Stages in forward order: top-level children, a Sequential expanded into its children
        # (so the ResNet's blocks "layer1.0", "layer1.1", … are stages, as its stitch points are).
        self.names, self.mods = [], {}
        for n, c in self.m.named_children():
            kids = list(c.named_children()) if isinstance(c, torch.nn.Sequential) and \
                any(f"{n}.{k}" in self.m.stitch_points for k, _ in c.named_children()) else []
            for k, sub in kids or [("", c)]:
                name = f"{n}.{k}" if k else n
                self.names.append(name)
                self.mods[name] = sub

    def run(self, x, start=None, stop=None, collect=()):
        """From after `start` (None: the input) to `stop` inclusive (None: logits)."""
        if start is None:
            x = (x - self.m.norm_mean) / self.m.norm_std
        i = 0 if start is None else self.names.index(start) + 1
        acts = []
        for name in self.names[i:]:
            mod = self.mods[name]
            if isinstance(mod, torch.nn.Linear) and x.dim() > 2:  # the ResNet's flatten
                x = x.flatten(1)
            x = mod(x)
            if name in collect:
                acts.append(x)
            if name == stop:
                break
        return x, acts


def fit_stitch(xf, ye):
    """Least squares 1x1 conv (or linear) from front rows to end rows: W, b."""
    if xf.dim() == 4:
        if xf.shape[-2:] != ye.shape[-2:]:
            xf = F.interpolate(xf, size=ye.shape[-2:], mode="bilinear", align_corners=False)
        X = xf.permute(0, 2, 3, 1).reshape(-1, xf.shape[1])
        Y = ye.permute(0, 2, 3, 1).reshape(-1, ye.shape[1])
    else:
        X, Y = xf.flatten(1), ye
    X1 = torch.cat([X, torch.ones(X.shape[0], 1)], 1).double()
    A = torch.linalg.pinv(X1) @ Y.double()
    return A[:-1].T.float().contiguous().requires_grad_(True), A[-1].float().contiguous().requires_grad_(True)


def apply(W, b, x, out_hw):
    if x.dim() == 4:
        if x.shape[-2:] != out_hw:
            x = F.interpolate(x, size=out_hw, mode="bilinear", align_corners=False)
        return F.conv2d(x, W[:, :, None, None], b)
    return F.linear(x.flatten(1), W, b)


def rel(a_hat, a):
    return (a_hat - a).norm() / (a.norm() + 1e-8)


def evaluate(front, end, fp, ep, W, b, xt, yt, out_hw):
    with torch.no_grad():
        hits = agree = end_hits = 0
        for s in range(0, xt.shape[0], 500):
            x = xt[s:s + 500]
            z = apply(W, b, front.run(x, stop=fp)[0], out_hw)
            h = end.run(z, start=ep)[0].argmax(1)
            g = end.run(x)[0].argmax(1)
            y = yt[s:s + 500]
            hits += (h == y).sum().item()
            end_hits += (g == y).sum().item()
            agree += (h == g).sum().item()
    n = xt.shape[0]
    return hits / n, end_hits / n, agree / n


def precompute(front, end, fp, ep, down, method, x):
    """The floor's inputs: front activations and clean end targets of every training row."""
    xi, clean = [], [[] for _ in [ep] + down]
    with torch.no_grad():
        for s in range(0, x.shape[0], 500):
            xi.append(front.run(x[s:s + 500], stop=fp)[0])
            _, acts = end.run(x[s:s + 500], stop=down[-1] if (method == "fula" and down) else ep,
                              collect=[ep] + down)
            for lst, a in zip(clean, acts):
                lst.append(a)
    return torch.cat(xi), [torch.cat(c) for c in clean if c]


def train(method, front, end, fp, ep, down, epochs, x, y, xt, yt, floor=False):
    """Returns (accuracies, training images, seconds of the training loop alone). floor: the
    front activations and clean targets are precomputed (untimed) and indexed per step."""
    with torch.no_grad():
        W, b = fit_stitch(front.run(x[:500], stop=fp)[0], end.run(x[:500], stop=ep)[0])
        out_hw = end.run(x[:2], stop=ep)[0].shape[-2:]
    if floor:
        XI, CLEAN = precompute(front, end, fp, ep, down, method, x)
    t_loop = time.perf_counter()
    opt = torch.optim.Adam([W, b], lr=1e-3, weight_decay=1e-4)
    nb = x.shape[0] // 128
    total, step = nb * epochs, 0
    g = torch.Generator().manual_seed(0)
    for e in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        for k in range(nb):
            lr = 1e-3 * (1 if step < total / 3 else 0.1 if step < 2 * total / 3 else 0.01)
            for grp in opt.param_groups:
                grp["lr"] = lr
            idx = perm[k * 128:(k + 1) * 128]
            xb, yb = x[idx], y[idx]
            if floor:
                xi, clean = XI[idx], [c[idx] for c in CLEAN]
            else:
                with torch.no_grad():
                    xi = front.run(xb, stop=fp)[0]
                    aj, clean = end.run(xb, stop=down[-1] if (method == "fula" and down) else ep,
                                        collect=[ep] + down)
            if method == "slm":
                with torch.no_grad():
                    g_logits = end.run(xb)[0]
            opt.zero_grad()
            z = apply(W, b, xi, out_hw)
            if method == "dm_hint":
                loss = rel(z, clean[0])
            elif method == "fula":
                st = [z]
                cur = z
                prev = ep
                for d in down:
                    cur = end.run(cur, start=prev, stop=d)[0]
                    st.append(cur)
                    prev = d
                loss = torch.stack([rel(s_, c_) for s_, c_ in zip(st, clean)]).mean()
            else:
                logits = end.run(z, start=ep)[0]
                if method == "tlm":
                    loss = F.cross_entropy(logits, yb)
                else:
                    loss = F.kl_div(F.log_softmax(logits, 1), F.softmax(g_logits, 1),
                                    reduction="batchmean")
            if not torch.isfinite(loss):
                raise SystemExit(f"{method}: loss is {loss.item()}")
            loss.backward()
            opt.step()
            step += 1
    loop_s = time.perf_counter() - t_loop
    return evaluate(front, end, fp, ep, W.detach(), b.detach(), xt, yt, out_hw), total * 128, loop_s


def main():
    mode = sys.argv[1]
    torch.manual_seed(0)
    t0 = time.perf_counter()
    floor = mode.endswith("_floor")
    mode = mode[: -len("_floor")] if floor else mode
    loop = 0.0
    if mode in ("fula", "dm_hint", "tlm", "slm", "methods"):
        fpath, epath, point, epochs, n, threads = sys.argv[2:8]
        torch.set_num_threads(int(threads))
        front, end = Staged(fpath), Staged(epath)
        pts = list(end.m.stitch_points)
        down = pts[pts.index(point) + 1:]
        x, y = load("train", int(n))
        xt, yt = load("test", 10000)
        methods = ["dm_hint", "tlm", "slm", "fula"] if mode == "methods" else [mode]
        seen, accs = 0, []
        for m in methods:
            (acc, end_acc, agree), imgs, loop_s = train(m, front, end, point, point, down,
                                                       int(epochs), x, y, xt, yt, floor)
            seen += imgs
            loop += loop_s
            accs.append(f"{m}={acc * 100:.2f}")
    else:
        fpath, epath, points, n, threads = sys.argv[2:7]
        torch.set_num_threads(int(threads))
        front, end = Staged(fpath), Staged(epath)
        x, _ = load("train", int(n))
        xt, yt = load("test", 10000)
        seen, accs = 0, []
        for fp in points.split(","):
            for ep in points.split(","):
                with torch.no_grad():
                    W, b = fit_stitch(front.run(x[:500], stop=fp)[0], end.run(x[:500], stop=ep)[0])
                    out_hw = end.run(x[:2], stop=ep)[0].shape[-2:]
                acc, end_acc, agree = evaluate(front, end, fp, ep, W, b, xt, yt, out_hw)
                accs.append(f"{fp}>{ep}={acc * 100:.2f}")
    s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"python mode={mode}{'_floor' if floor else ''} seconds={s:.2f} "
          f"images_per_s={seen / s:.1f} loop_seconds={loop:.2f} peak_mb={peak:.0f} "
          f"end={end_acc * 100:.2f} " + " ".join(accs))


if __name__ == "__main__":
    main()
