#!/usr/bin/env python3
"""Lists the longest functions in C++ sources (issue 19: no function over ~60 lines in src/).

A function is a brace block at file or namespace level whose header contains ')'; lambdas and
blocks inside a function count towards it (functions defined inside class bodies are not listed). Comments and string
literals are stripped before counting braces. Usage:
  scripts/function_lengths.py [--max N] [--top K] DIR...   (exit 1 when one is over --max)
"""
import argparse
import pathlib
import re
import sys


def strip(text):
    """Blanks comments, string and char literals, keeping newlines so line numbers hold."""
    out = re.sub(r'//[^\n]*', '', text)
    out = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), out, flags=re.S)
    out = re.sub(r'R"(\w*)\((.*?)\)\1"', lambda m: '""' + '\n' * m.group(0).count('\n'), out,
                 flags=re.S)
    out = re.sub(r'"(\\.|[^"\\\n])*"', '""', out)
    out = re.sub(r"'(\\.|[^'\\\n])*'", "''", out)
    return out


def functions(path):
    """Yields (first line, line count, header) for each function body in the file."""
    text = strip(path.read_text())
    depth, start, header_start = 0, None, 0
    namespace_depths = set()
    for i, ch in enumerate(text):
        if ch == '{':
            header = text[header_start:i]
            if start is None and (depth == 0 or depth in namespace_depths):
                if re.search(r'\bnamespace\b[^;{}()]*$', header) or re.search(
                        r'extern\s+""\s*$', header):
                    namespace_depths.add(depth + 1)
                elif ')' in header and not re.search(r'\b(struct|class|enum|union)\b', header):
                    start = (i, header.strip().split('\n')[-1].strip())
                    start_depth = depth
            depth += 1
            header_start = i + 1
        elif ch == '}':
            depth -= 1
            namespace_depths.discard(depth + 1)
            if start is not None and depth == start_depth:
                first = text.count('\n', 0, start[0]) + 1
                last = text.count('\n', 0, i) + 1
                yield first, last - first + 1, start[1]
                start = None
            header_start = i + 1
        elif ch == ';' and start is None:
            header_start = i + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dirs', nargs='+')
    ap.add_argument('--max', type=int, default=0, help='fail when a function is longer')
    ap.add_argument('--top', type=int, default=15)
    a = ap.parse_args()
    found = []
    for d in a.dirs:
        for p in sorted(pathlib.Path(d).rglob('*')):
            if p.suffix in ('.cpp', '.h'):
                found += [(n, f'{p}:{line}', head) for line, n, head in functions(p)]
    found.sort(reverse=True)
    for n, where, head in found[:a.top]:
        print(f'{n:4d}  {where}  {head[:70]}')
    over = [f for f in found if a.max and f[0] > a.max]
    if over:
        print(f'{len(over)} function(s) over {a.max} lines', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
