"""Tests of scripts/area_graph.py on made-up source trees (ctest: Style.AreaGraphChecker)."""
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "area_graph.py"


def tree(files):
    """A temporary src/stitch tree: {"area/file": text}."""
    d = tempfile.TemporaryDirectory()
    for name, text in files.items():
        p = pathlib.Path(d.name) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return d


def run(d):
    return subprocess.run([sys.executable, str(SCRIPT), "--src", d.name], capture_output=True,
                          text=True)


class AreaGraph(unittest.TestCase):
    def test_layers_in_dependency_order(self):
        d = tree({"util/a.h": "#pragma once\n",
                  "data/b.cpp": '#include "stitch/util/a.h"\n#include "stitch/data/b.h"\n',
                  "job/c.cpp": '#include "stitch/data/b.h"\n#include "stitch/util/a.h"\n'})
        r = run(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        areas = [line.split()[0] for line in r.stdout.splitlines()]
        self.assertEqual(areas, ["util", "data", "job"])
        self.assertIn("job          uses data, util", r.stdout)

    def test_cycle_is_named(self):
        d = tree({"util/a.h": "#pragma once\n",
                  "data/b.cpp": '#include "stitch/job/c.h"\n',
                  "job/c.h": '#include "stitch/data/b.h"\n#include "stitch/util/a.h"\n'})
        r = run(d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("include cycle data -> job -> data", r.stderr)

    def test_the_project_has_no_cycle(self):
        r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("sweep", r.stdout)


if __name__ == "__main__":
    unittest.main()
