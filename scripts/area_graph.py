#!/usr/bin/env python3
"""Draws the house from the imports: which area of src/stitch/ includes which (issue 19).

An area is a folder src/stitch/<area>/; an edge a -> b means a file of a includes
"stitch/b/...". Prints each area with the areas it uses, in an order where every area comes
after the ones it uses, and exits 1 naming the areas of a cycle when there is one (ctest
Style.NoAreaCycles).
Usage: scripts/area_graph.py [--src src/stitch]
"""
import argparse
import pathlib
import re
import sys

INCLUDE = re.compile(r'#include "stitch/([a-z_]+)/')


def edges(src):
    """{area: set of areas it includes}, self-includes left out."""
    out = {}
    for f in sorted(pathlib.Path(src).glob("*/*")):
        if f.suffix not in (".h", ".cpp"):
            continue
        area = f.parent.name
        uses = out.setdefault(area, set())
        for m in INCLUDE.finditer(f.read_text()):
            if m.group(1) != area:
                uses.add(m.group(1))
    return out


def layers(g):
    """Areas in dependency order (Kahn), and the areas left over (on or behind a cycle)."""
    order, done = [], set()
    while True:
        ready = sorted(a for a, uses in g.items() if a not in done and uses <= done)
        if not ready:
            break
        order += ready
        done |= set(ready)
    return order, sorted(set(g) - done)


def cycle(g, left):
    """One cycle among the left-over areas, as a list a -> b -> ... -> a."""
    start = left[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(b for b in g[path[-1]] if b in left)[0]
        if nxt in seen:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)
        seen.add(nxt)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=str(pathlib.Path(__file__).resolve().parent.parent / "src" / "stitch"))
    a = ap.parse_args()
    g = edges(a.src)
    order, left = layers(g)
    for area in order:
        print(f"{area:12s} uses {', '.join(sorted(g[area])) or '-'}")
    if left:
        print("area_graph.py: include cycle " + " -> ".join(cycle(g, left)) +
              "; move the shared code into the lower area", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
