#!/usr/bin/python3
"""Markdown tables of the studies in experiments/README.md, from the sweeps' and similarity runs'
results.jsonl (standard library only).

    /usr/bin/python3 experiments/study_tables.py adversarial|shortcut|cross_layer [runs-dir]
"""
import json
import os
import statistics
import sys
from collections import defaultdict

RUNS = sys.argv[2] if len(sys.argv) > 2 else "runs"


def rows(name):
    path = os.path.join(RUNS, name, "results.jsonl")
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run the study's sweep first")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def label(path):  # models/zoo/cnn_adversarial_s0.pt -> cnn adversarial s0
    stem = os.path.splitext(os.path.basename(path))[0]
    if path.startswith("models/arch/"):
        return stem + " random-init"
    return stem.replace("_", " ")


def recipe(path):
    stem = os.path.basename(path)
    for r in ("adversarial", "shortcut", "standard"):
        if r in stem:
            return {"adversarial": "adv", "shortcut": "sc", "standard": "std"}[r]
    return "rand"


def pct(x):
    return "-" if x is None else f"{100 * x:.1f}"


def similarity_index(name):
    out = {}
    path = os.path.join(RUNS, name, "results.jsonl")
    if os.path.exists(path):
        for r in rows(name):
            out[(r["front"], r["end"], r["front_point"], r["end_point"])] = r
    return out


FIGURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures")


def figure_by_point(rs, groups, metric, ylabel, title, png, end_metric=None):
    """One panel per model-pair group, the metric against the stitch point, a line per method."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(FIGURES, exist_ok=True)
    fig, axes = plt.subplots(1, len(groups), figsize=(1 + 3.0 * len(groups), 3.3), sharey=True,
                             squeeze=False)
    for ax, (name, sel) in zip(axes[0], groups):
        g = [r for r in rs if sel(r)]
        points = list(dict.fromkeys(r["front_point"] for r in g))
        for m in dict.fromkeys(r["method"] for r in g):
            ys = [next((100 * r[metric] for r in g if r["method"] == m and r["front_point"] == p),
                       float("nan")) for p in points]
            ax.plot(range(len(points)), ys, marker="o", label=m)
        if end_metric and g:
            ax.axhline(100 * statistics.mean(r[end_metric] for r in g), color="grey", ls="--",
                       lw=1, label="end model alone")
        ax.set_xticks(range(len(points)))
        ax.set_xticklabels(points, rotation=30, ha="right")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("stitch point")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title, fontsize=11, y=1.03)
    fig.savefig(os.path.join(FIGURES, png), dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"\n![{title}](figures/{png})")


def adversarial():
    sim = similarity_index("adversarial_sim")
    for arch in ("cnn", "resnet"):
        if not os.path.exists(os.path.join(RUNS, f"adversarial_{arch}", "results.jsonl")):
            continue
        rs = rows(f"adversarial_{arch}")
        names = {"std": "standard", "adv": "adversarial"}
        figure_by_point(
            rs, [(f"{names[f]} front → {names[e]} end",
                  lambda r, f=f, e=e: recipe(r["front"]) == f and recipe(r["end"]) == e)
                 for f in ("std", "adv") for e in ("std", "adv")],
            "robust_acc", "PGD-20 robust accuracy (%)",
            f"{arch}: robust accuracy of the stitched model (ε = 0.1)", f"adversarial_{arch}.png",
            end_metric="end_robust_acc")
        methods = sorted({r["method"] for r in rs}, key=["dm_closed", "procrustes", "tlm", "fula"].index)
        print(f"\n#### {arch}: clean % / agreement % / PGD-20 robust % of the stitched model\n")
        print("| front → end | point | CKA | mkNN | end clean / robust | " + " | ".join(methods) + " |")
        print("|---|---|---|---|---|" + "---|" * len(methods))
        cells = defaultdict(dict)
        for r in rs:
            cells[(r["front"], r["end"], r["front_point"])][r["method"]] = r
        order = {"std": 0, "adv": 1}
        keys = sorted(cells, key=lambda k: (order[recipe(k[0])], order[recipe(k[1])], k[2]))
        for k in keys:
            c = cells[k]
            any_r = next(iter(c.values()))
            s = sim.get((k[0], k[1], k[2], k[2]), {})
            cka = f"{s['linear_cka']:.3f}" if "linear_cka" in s else "-"
            knn = f"{s['mutual_knn']:.3f}" if "mutual_knn" in s else "-"
            line = f"| {recipe(k[0])} → {recipe(k[1])} | {k[2]} | {cka} | {knn} | "
            line += f"{pct(any_r['end_acc'])} / {pct(any_r.get('end_robust_acc'))} |"
            for m in methods:
                r = c.get(m)
                line += " - |" if r is None else (
                    f" {pct(r['stitched_acc'])} / {pct(r['agreement'])} / {pct(r.get('robust_acc'))} |")
            print(line)
        print(f"\n{arch}: mean PGD-20 robust % of stitched models over points and methods "
              "(and of the end models alone):\n")
        print("| front → end | stitched robust % | end robust % | stitched clean % |")
        print("|---|---|---|---|")
        groups = defaultdict(list)
        for r in rs:
            groups[(recipe(r["front"]), recipe(r["end"]))].append(r)
        for g in sorted(groups, key=lambda g: (order[g[0]], order[g[1]])):
            v = groups[g]
            print(f"| {g[0]} → {g[1]} | {pct(statistics.mean(r['robust_acc'] for r in v))} | "
                  f"{pct(statistics.mean(r['end_robust_acc'] for r in v))} | "
                  f"{pct(statistics.mean(r['stitched_acc'] for r in v))} |")


def excess_table(rs, order):
    methods = [m for m in ["dm_closed", "dm_hint", "tlm", "slm", "fula"] if any(r["method"] == m for r in rs)]
    print("| front → end | point | " + " | ".join(methods) + " | stitched clean % (mean) |")
    print("|---|---|" + "---|" * len(methods) + "---|")
    cells = defaultdict(dict)
    for r in rs:
        cells[(r["front"], r["end"], r["front_point"])][r["method"]] = r
    for k in sorted(cells, key=lambda k: (order(k[0]), order(k[1]), k[2])):
        c = cells[k]
        line = f"| {label(k[0])} → {label(k[1])} | {k[2]} |"
        for m in methods:
            r = c.get(m)
            line += " - |" if r is None else f" {100 * r['excess_agreement']:+.1f} |"
        line += f" {pct(statistics.mean(r['stitched_acc'] for r in c.values()))} |"
        print(line)


def shortcut():
    runs = [(style, v, f"shortcut_testbed_{'' if style == 'pattern' else 'level_'}{v}")
            for style in ("pattern", "level") for v in ("pixel_loc", "pixel", "rand")]
    runs = [r for r in runs if os.path.exists(os.path.join(RUNS, r[2], "results.jsonl"))]
    coarse = lambda p: 0 if "coarse" in p else 1  # noqa: E731
    for style, v, name in runs:
        print(f"\n#### (a) {style} markers, `{v}`, in every stitch-training image: excess agreement "
              "(points)\n")
        excess_table(rows(name), coarse)
    for style in ("pattern", "level"):
        mine = [(v, name) for st, v, name in runs if st == style]
        if not mine:
            continue
        flat = [dict(r, _v=v) for v, name in mine for r in rows(name)]
        groups = [(f"{v}, {'cross' if front == 'coarse' else 'same'}-task front",
                   lambda r, v=v, front=front: r["_v"] == v and front in r["front"])
                  for v, _ in mine for front in ("coarse", "standard")]
        figure_by_point(flat, groups, "excess_agreement", "excess agreement (points)",
                        f"shortcut testbed, {style} markers in the stitch-training data "
                        "(rand = control)", f"shortcut_testbed_{style}.png")
    if os.path.exists(os.path.join(RUNS, "shortcut_transfer", "results.jsonl")):
        print("\n#### (b) Shortcut-trained ↔ standard cnns, clean stitch training: excess agreement "
              "(points)\n")
        excess_table(rows("shortcut_transfer"), lambda p: 1 if "shortcut" in p else 0)


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den > 0 else float("nan")


def cross_layer():
    rs = rows("cross_layer")
    sim = similarity_index("cross_layer_sim")
    metrics = ["linear_cka", "unbiased_cka", "mutual_knn", "cknna"]
    print("\n#### Spearman rank correlation over grid cells: stitched accuracy vs similarity\n")
    print("| front → end | method | cells | " + " | ".join(metrics) + " | stitched % min–max |")
    print("|---|---|---|" + "---|" * len(metrics) + "---|")
    pairs = []
    for r in rs:
        if (r["front"], r["end"]) not in pairs:
            pairs.append((r["front"], r["end"]))
    for f, e in pairs:
        for m in ("dm_closed", "fula"):
            cell = [r for r in rs if r["front"] == f and r["end"] == e and r["method"] == m]
            if not cell:
                continue
            acc = [r["stitched_acc"] for r in cell]
            line = f"| {label(f)} → {label(e)} | {m} | {len(cell)} |"
            for s in metrics:
                pts = [(r["stitched_acc"], sim[(f, e, r["front_point"], r["end_point"])][s])
                       for r in cell if s in sim.get((f, e, r["front_point"], r["end_point"]), {})]
                line += " - |" if len(pts) < 3 else f" {spearman(*zip(*pts)):+.2f} |"
            line += f" {pct(min(acc))}–{pct(max(acc))} |"
            print(line)
    print("\n#### Stitched accuracy % per grid cell (rows: front point, columns: end point)\n")
    for f, e in pairs:
        for m in ("dm_closed", "fula"):
            cell = {(r["front_point"], r["end_point"]): r for r in rs
                    if r["front"] == f and r["end"] == e and r["method"] == m}
            if not cell:
                continue
            fps = list(dict.fromkeys(r["front_point"] for r in rs if r["front"] == f and r["end"] == e))
            eps = list(dict.fromkeys(r["end_point"] for r in rs if r["front"] == f and r["end"] == e))
            print(f"\n{label(f)} → {label(e)}, {m} (end model {pct(next(iter(cell.values()))['end_acc'])} %;"
                  " linear CKA in brackets)\n")
            print("| front \\ end | " + " | ".join(eps) + " |")
            print("|---|" + "---|" * len(eps))
            for fp in fps:
                line = f"| {fp} |"
                for ep in eps:
                    r = cell.get((fp, ep))
                    s = sim.get((f, e, fp, ep), {})
                    cka = f" ({s['linear_cka']:.2f})" if "linear_cka" in s else ""
                    line += " - |" if r is None else f" {pct(r['stitched_acc'])}{cka} |"
                print(line)


{"adversarial": adversarial, "shortcut": shortcut, "cross_layer": cross_layer}[sys.argv[1]]()
