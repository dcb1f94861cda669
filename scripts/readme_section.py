"""Writes a generated section of a Markdown file: the text between <!-- SECTION:begin ... --> and
<!-- SECTION:end --> is replaced (temp file + rename). Used by scripts/zoo_table.py and the
study scripts in experiments/."""
import os
import pathlib
import sys


def section_write(path, section, text):
    """Replaces section `section` of the file at `path` by `text` (which carries both markers)."""
    path = pathlib.Path(path)
    src = path.read_text()
    begin, end = f"<!-- {section}:begin", f"<!-- {section}:end -->"
    if begin not in src or end not in src:
        sys.exit(f"{path} has no '{begin}' / '{end}' markers: add them where the section goes")
    a, b = src.index(begin), src.index(end) + len(end)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(src[:a] + text + src[b:])
    os.replace(tmp, path)
