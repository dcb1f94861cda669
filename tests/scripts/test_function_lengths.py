"""Tests of scripts/function_lengths.py on made-up C++ sources (ctest: Style.FunctionLengthsChecker)."""
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import function_lengths as fl  # noqa: E402

SOURCE = """#include <x.h>
namespace a {
namespace {
struct Tiny { int f() { return 1; } };   // a method inside a class body: not listed
int helper(int x) {
  auto l = [](int y) {
    return y + 1;   // a lambda counts towards its function
  };
  const char* s = "} not a brace {";
  // } nor this {
  return l(x);
}
}  // namespace

void long_one() {
BODY}
}  // namespace a
"""


def write(tmp, body_lines):
    p = pathlib.Path(tmp) / "x.cpp"
    p.write_text(SOURCE.replace("BODY", "  int i = 0;\n" * body_lines))
    return p


class FunctionLengths(unittest.TestCase):
    def test_counts_functions_inside_namespaces_with_their_lambdas(self):
        with tempfile.TemporaryDirectory() as tmp:
            found = {head: (line, n) for line, n, head in fl.functions(write(tmp, 70))}
        self.assertEqual(found["int helper(int x)"], (5, 8))
        self.assertEqual(found["void long_one()"], (15, 72))
        self.assertEqual(len(found), 2)  # the struct and its inline method are not functions

    def test_exit_status_says_whether_one_is_over_the_limit(self):
        with tempfile.TemporaryDirectory() as tmp:
            write(tmp, 70)
            script = str(ROOT / "scripts" / "function_lengths.py")
            over = subprocess.run([sys.executable, script, "--max", "60", tmp],
                                  capture_output=True, text=True)
            under = subprocess.run([sys.executable, script, "--max", "80", tmp],
                                   capture_output=True, text=True)
        self.assertEqual(over.returncode, 1)
        self.assertIn("1 function(s) over 60 lines", over.stderr)
        self.assertEqual(under.returncode, 0)


if __name__ == "__main__":
    unittest.main()
