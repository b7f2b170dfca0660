#!/usr/bin/env python3
"""tests/bench/performance.py [RESULTS] [--out FILE] [--note TEXT]

Writes docs/performance.md from the table of one `make bench` run
(RESULTS, default tests/bench/results.md, which tests/bench/report.py
writes with the date, the machine and the load above the table).  To
refresh the page on a quiet machine:

    make bench && python3 tests/bench/performance.py

--note adds a line about the conditions of the run (e.g. other work on the
machine) above the table.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

INTRO = """# Performance

What shmpipe buys (moving frames between containers) and what it costs
(starting containers, a store of thousands of pipelines, memory), as
measured by one `make bench` run. Every row is a median over repeated runs
of that invocation; every comparison is a ratio of two medians measured in
the same invocation, against the row's floor (what any solution pays) or
its peer (the alternative a user has), never against a stored number.
[tests/bench/README.md](../tests/bench/README.md) explains each part and
why each target is what it is.

This page is generated: `make bench && python3 tests/bench/performance.py`
rewrites it from the run's table (`tests/bench/results.md`). Do not edit
the table by hand.
"""


OUTRO = """## Reading the table

* Targets compare a row with its floor or its peer measured in the same
  run; a target that depends on the machine rather than on shmpipe is not
  used (the table of retired targets in
  [tests/bench/README.md](../tests/bench/README.md) says why for each).
* Rows judged near parity (the hook against two no-op hooks within 5 %,
  the Docker volume against a tmpfs volume within 5 %) resolve differences
  smaller than the noise of a shared 2-vCPU VM only on a quiet machine: on
  a busy one they meet or miss from run to run. Read their ratios with the
  load average above the table.
* iceoryx in containers against host processes (part 6) is measured with
  both pairs taking turns, and judged within 2 % only where two identical
  sides agree within 2 % (the A/A check in
  [tests/bench/README.md](../tests/bench/README.md)); the other iceoryx
  rows are shown without a target.
* Scale rows: "flat" means the work does not grow with the number of
  pipelines; `ls`, `metrics`, `gc` and `doctor` look at every pipeline and
  are shown per pipeline.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "performance.md"))
    ap.add_argument("--note", help="a line about the conditions of the run")
    a = ap.parse_args()
    try:
        with open(a.results) as f:
            lines = f.read().splitlines()
    except OSError as e:
        sys.exit("performance.py: %s: %s (run `make bench` first)" % (a.results, e.strerror))
    # report.py's page: a title, the run's line (date, machine), the load,
    # notes, the table.  The title is replaced; the rest is the run's own.
    if not lines or not lines[0].startswith("# ") or not any(l.startswith("| # |") for l in lines):
        sys.exit("performance.py: %s is not a table written by tests/bench/report.py" % a.results)
    body = lines[1:]
    while body and not body[0].strip():
        body.pop(0)
    out = [INTRO, "## The last run", ""]
    if a.note:
        out += ["**%s**" % a.note.strip(), ""]
    out += body
    out += ["", OUTRO]
    text = "\n".join(out).rstrip("\n") + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print("performance.py: wrote %s from %s" % (a.out, a.results), file=sys.stderr)


if __name__ == "__main__":
    main()
