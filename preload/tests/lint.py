#!/usr/bin/env python3
"""The mechanical C style rules (STYLE.md section 8), for hosts without
clang-format: at most 80 columns, spaces not tabs, /* */ comments only, and
a /** */ contract above every prototype in include/. Prints FAIL file:line.
"""
import os
import re
import sys

PROTO = re.compile(r"^[A-Za-z_][\w \*]*\bvg_\w+\(")
bad = 0


def fail(path, n, why):
    global bad
    bad += 1
    print("FAIL %s:%d %s" % (path, n, why))


def lint(path):
    with open(path) as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        if len(line) > 80:
            fail(path, n, "longer than 80 columns")
        if "\t" in line:
            fail(path, n, "tab")
        if re.match(r"\s*//", line) or re.search(r";\s*//", line):
            fail(path, n, "// comment")
    if "/include/" not in path:
        return
    for n, line in enumerate(lines, 1):
        if PROTO.match(line):
            k = n - 2
            while k >= 0 and lines[k].strip() == "":
                k -= 1
            if k < 0 or not lines[k].strip().endswith("*/"):
                fail(path, n, "prototype without a /** */ contract")
                continue
            while k >= 0 and "/*" not in lines[k]:
                k -= 1
            if k < 0 or "/**" not in lines[k]:
                fail(path, n, "contract comment must start with /**")


for top in sys.argv[1:]:
    for d, _, files in os.walk(top):
        for name in sorted(files):
            if name.endswith((".c", ".h")):
                lint(os.path.join(d, name))
sys.exit(1 if bad else 0)
