#!/usr/bin/env python3
"""Checks that README.md shows the files of examples/consumer exactly.

Each `<!-- PATH -->` line followed by a fenced code block must hold PATH's
text byte for byte, and every file of examples/consumer that a reader must
write (WORKSPACE, .bazelrc, BUILD.bazel, load_tiny.cc) must be shown.
Exit status 1, naming the file and README line, on any difference.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
REQUIRED = ["WORKSPACE", ".bazelrc", "BUILD.bazel", "load_tiny.cc"]


def main():
    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines(keepends=True)
    shown = {}
    errors = []
    for number, line in enumerate(lines):
        match = re.fullmatch(r"<!-- (examples/consumer/\S+) -->\n", line)
        if not match:
            continue
        path = match.group(1)
        if number + 1 >= len(lines) or not lines[number + 1].startswith("```"):
            errors.append("README.md:%d: %s is not followed by a code block" % (number + 1, path))
            continue
        end = number + 2
        while end < len(lines) and lines[end] != "```\n":
            end += 1
        block = "".join(lines[number + 2:end])
        shown[path] = True
        file = ROOT / path
        if not file.exists():
            errors.append("README.md:%d: %s does not exist" % (number + 1, path))
        elif file.read_text() != block:
            errors.append("README.md:%d: the block differs from %s" % (number + 1, path))
    for name in REQUIRED:
        if "examples/consumer/" + name not in shown:
            errors.append("README.md: examples/consumer/%s is not shown" % name)
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
