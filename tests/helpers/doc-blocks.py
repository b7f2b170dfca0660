#!/usr/bin/env python3
"""Command blocks of the Markdown docs, for tests/integration/docs_commands.sh.

A fenced block is marked by an HTML comment on the line right before it:

    <!-- doc-test: run -->            the test runs it (sh: bash -euo pipefail
                                      from the repository's root; python: in a
                                      runc container joined to a pipeline)
    <!-- doc-test: skip REASON -->    not runnable on the test machine: REASON
    <!-- doc-test: file PATH -->      not a command: its text is written to
                                      PATH before the blocks after it run

Blocks whose info string is sh, bash, shell, console or python are command
blocks: each must carry run or skip.  Other blocks (json, toml, yaml, plain
synopses and output) need no marker.

  doc-blocks.py check FILE...        print every problem; exit 1 if any
  doc-blocks.py extract FILE OUTDIR  OUTDIR/NNN holds each block's text and
                                     OUTDIR/manifest one line per block:
                                     NNN<TAB>KIND<TAB>LINE<TAB>ARG
                                     (KIND: sh, python, file, skip)
"""
import os
import re
import sys

COMMAND_LANGS = {"sh", "bash", "shell", "console", "python"}
MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(\S+)\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")


def blocks(path):
    """Yields (line, lang, marker, arg, text, problem) for each fence."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    pending = None  # (line, kind, arg) of a marker waiting for its fence
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            if pending:
                yield pending[0], None, None, None, None, "marker not followed by a fenced block"
            pending = (i + 1, m.group(1), m.group(2))
            i += 1
            continue
        f = FENCE.match(lines[i])
        if not f:
            if pending and lines[i].strip():
                yield pending[0], None, None, None, None, "marker not followed by a fenced block"
                pending = None
            i += 1
            continue
        start, fence, lang = i + 1, f.group(2), f.group(3).lower()
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        kind, arg = (pending[1], pending[2]) if pending else (None, "")
        pending = None
        problem = None
        if kind is None and lang in COMMAND_LANGS:
            problem = f"```{lang} block has no doc-test marker (run, or skip REASON)"
        elif kind not in (None, "run", "skip", "file"):
            problem = f"unknown doc-test marker {kind!r} (run, skip REASON, file PATH)"
        elif kind == "skip" and not arg:
            problem = "doc-test: skip needs a reason"
        elif kind == "file" and not arg.startswith("/"):
            problem = "doc-test: file needs an absolute PATH"
        elif kind == "run" and lang not in COMMAND_LANGS:
            problem = f"doc-test: run on a ```{lang} block (not a command block)"
        yield start, lang, kind, arg, "\n".join(body) + "\n", problem
    if pending:
        yield pending[0], None, None, None, None, "marker not followed by a fenced block"


def main(argv):
    if len(argv) >= 2 and argv[0] == "check":
        bad = 0
        for path in argv[1:]:
            for line, _, _, _, _, problem in blocks(path):
                if problem:
                    print(f"{path}:{line}: {problem}")
                    bad += 1
        return 1 if bad else 0
    if len(argv) == 3 and argv[0] == "extract":
        path, out = argv[1], argv[2]
        os.makedirs(out, exist_ok=True)
        rows = []
        for n, (line, lang, kind, arg, text, problem) in enumerate(blocks(path)):
            if problem:
                print(f"{path}:{line}: {problem}", file=sys.stderr)
                return 1
            if kind is None:
                continue
            if kind == "run":
                kind = "python" if lang == "python" else "sh"
            name = f"{n:03d}"
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                f.write(text)
            rows.append(f"{name}\t{kind}\t{line}\t{arg}\n")
        with open(os.path.join(out, "manifest"), "w", encoding="utf-8") as f:
            f.writelines(rows)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
