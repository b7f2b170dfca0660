#!/usr/bin/env python3
"""tests/bench/report.py RAWDIR [--out FILE] [--command CMD]

Turns the raw measurements that tests/bench/collect.sh left in RAWDIR into
one Markdown table (stdout, and FILE).  Every number is a median over the
repetitions of this invocation; every comparison is a ratio of two medians
measured in this same invocation, never a stored number.
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
from collections import defaultdict

MB = 1e6


def read(raw, name):
    p = os.path.join(raw, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return f.read()


def status(raw, part):
    s = read(raw, part + ".status")
    return s.strip() if s else None


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_us(us):
    if us != us:
        return "n/a"
    if us >= 10000:
        return "%.1f ms" % (us / 1000)
    if us >= 1000:
        return "%.2f ms" % (us / 1000)
    if us >= 10:
        return "%.0f µs" % us
    return "%.2f µs" % us


def fmt_x(x):
    if x != x:
        return "n/a"
    if x >= 100:
        return "%.0f×" % x
    if x >= 10:
        return "%.1f×" % x
    return "%.2f×" % x


def fmt_size(b):
    b = int(b)
    if b >= 1 << 20:
        return "%.1f MB" % (b / MB) if b % (1 << 20) else "%d MiB" % (b >> 20)
    return "%.0f KB" % (b / 1000) if b % 1024 else "%d KiB" % (b >> 10)


def met(ok):
    return "**met**" if ok else "**missed**"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, part, what, value, compared="", target="", result=""):
        self.rows.append((part, what, value, compared, target, result))

    def skip(self, part, what, reason):
        self.rows.append((part, what, reason, "", "", ""))

    def markdown(self):
        head = ("#", "Measurement", "Median", "Compared (same run)", "Target", "Result")
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in self.rows:
            out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
        return "\n".join(out)


METHOD_TEXT = {
    "ring": "shmpipe ring (zero copy)",
    "copy": "copy in + out of the shared segment",
    "unix": "unix socket",
    "tcp": "TCP loopback",
    "tmpfs": "file in tmpfs (write, rename, read, unlink)",
    "disk": "file on disk (ext4 page cache, no fsync)",
}


def part1(raw, t):
    st = status(raw, "p1")
    text = read(raw, "p1.txt")
    if st or not text:
        t.skip("1", "Hand-off between two containers", st or "not run")
        return
    runs = defaultdict(list)  # (mode, method, size) -> [us/frame]
    verified = set()
    for line in text.splitlines():
        if not line.startswith("RESULT "):
            continue
        kv = dict(x.split("=", 1) for x in line.split()[1:])
        key = (kv["mode"], kv["method"], int(kv["size"]))
        if kv["mode"] == "verify":
            if kv["errors"] == "0":
                verified.add((kv["method"], int(kv["size"])))
            continue
        runs[key].append(int(kv["ns"]) / int(kv["frames"]) / 1e3)
    sizes = sorted({k[2] for k in runs}, reverse=True)
    methods = [m for m in METHOD_TEXT if any(k[1] == m for k in runs)]
    nreps = max((len(v) for v in runs.values()), default=0)
    medians = {k: med(v) for k, v in runs.items()}
    for mode in ("handoff", "e2e"):
        for size in sizes:
            ring = medians.get((mode, "ring", size), float("nan"))
            for m in methods:
                us = medians.get((mode, m, size))
                if us is None:
                    continue
                label = "%s %s frame, %s" % ("Hand-off" if mode == "handoff" else "End to end",
                                            fmt_size(size), METHOD_TEXT[m])
                if (m, size) in verified and mode == "handoff":
                    label += " ✓"
                value = "%s/frame (%s frames/s)" % (fmt_us(us), "{:,.0f}".format(1e6 / us) if us else "n/a")
                cmp_ = "1× (baseline)" if m == "ring" else "%s the ring" % fmt_x(us / ring)
                target = result = ""
                if mode == "handoff" and size == max(sizes):
                    if m == "tcp":
                        target, result = "ring ≥ 100× faster", met(us / ring >= 100)
                    elif m == "tmpfs":
                        target, result = "ring ≥ 20× faster", met(us / ring >= 20)
                t.add("1", label, value, cmp_, target, result)
            if mode == "handoff" and size == min(sizes) and len(sizes) > 1:
                small, big = medians.get((mode, "ring", min(sizes))), medians.get((mode, "ring", max(sizes)))
                if small and big:
                    t.add("1", "Ring hand-off cost, %s vs %s frame" % (fmt_size(max(sizes)), fmt_size(min(sizes))),
                          "%s vs %s" % (fmt_us(big), fmt_us(small)), "%s (size %s)" % (
                              fmt_x(big / small), fmt_x(max(sizes) / min(sizes))),
                          "flat: ≤ 1.5×", met(big / small <= 1.5))
    extra = [l for l in text.splitlines() if l.startswith("containers=")]
    return nreps, len(verified), extra


def part6_read(text):
    """p6.txt -> sides {a: kind, b: kind}, bursts {(mode, rep, side): [us per
    sample]} in turn order, latencies {side: [us]}."""
    sides, bursts, lat = {"a": "host", "b": "containers"}, {}, defaultdict(list)
    for line in text.splitlines():
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[1:] if "=" in x)
        if f[0] == "SIDES":
            sides = kv
        elif f[0] == "BURSTS":
            # a burst is timed from its first sample to its last: burst - 1 intervals
            n = int(kv["burst"]) - 1
            bursts[(kv["mode"], kv["rep"], kv["side"])] = [int(x) / n / 1e3 for x in f[1:] if "=" not in x]
        elif f[0] == "LATENCY":
            lat[kv["side"]] += [int(x) / 1e3 for x in f[1:] if "=" not in x]
    return sides, bursts, lat


def part6(raw, t):
    st = status(raw, "p6")
    text = read(raw, "p6.txt")
    if st or not text:
        t.skip("6", "iceoryx: host processes vs three containers of a pipeline", st or "not run")
        return
    sides, bursts, lat = part6_read(text)
    # A round's first burst on each side is its warm-up; a side's rate is the
    # median over its other bursts.  The k-th bursts of the two sides ran one
    # right after the other: a pair.
    runs, pairs = defaultdict(list), defaultdict(list)
    for (mode, rep, side), v in bursts.items():
        runs[(side, mode)] += v[1:]
        if side == "a":
            pairs[mode] += [y / x for x, y in zip(v[1:], bursts.get((mode, rep, "b"), [])[1:]) if x > 0]
    text_of = {"host": "host processes (host's /dev/shm and /tmp, a cgroup each)",
               "pipeline": "3 runc containers of a second pipeline (the A/A check)",
               "containers": "3 runc containers of a pipeline (socket dir /tmp)"}
    base = "host" if sides.get("a") == "host" else "A"
    rounds = len({rep for (_, rep, _) in bursts})
    # Judged where two identical sides (SHMPIPE_BENCH_P6_AA=1) agree within
    # 1-2% in one run; shown without a target where they differ by more
    # than the 2% compared (README, part 6).
    for mode, what, judged in (("handoff-1cpu", "Hand-off, publisher and subscriber on one CPU,", True),
                               ("handoff", "Hand-off, on two CPUs,", False),
                               ("e2e", "End to end ✓ (two CPUs)", False)):
        a, b = runs.get(("a", mode)), runs.get(("b", mode))
        if not a or not b:
            continue
        ma, mb = med(a), med(b)
        for side, v, m in (("a", a, ma), ("b", b, mb)):
            row = "%s of a 6.2 MB sample through iceoryx: %s (%d bursts in %d rounds)" % (
                what, text_of[sides.get(side, "containers")], len(v), rounds)
            value = "%s/sample (%s samples/s)" % (fmt_us(m), "{:,.0f}".format(1e6 / m) if m else "n/a")
            if side == "a":
                t.add("6", row, value, "1× (baseline)")
                continue
            cmp_ = "%s %s (median of %d paired bursts: %s)" % (
                fmt_x(mb / ma), base, len(pairs[mode]), fmt_x(med(pairs[mode])))
            if judged:
                t.add("6", row, value, cmp_, "≤ 1.02× %s" % base, met(mb / ma <= 1.02))
            else:
                t.add("6", row, value, cmp_, "none: A/A noise above 2%")
    if lat.get("a") and lat.get("b"):
        a, b = lat["a"], lat["b"]
        t.add("6", "Latency of a 6.2 MB sample (publish to take, paced 1 ms apart), %s (%d samples)" % (
            text_of[sides.get("a", "host")], len(a)),
              "median %s, p99 %s" % (fmt_us(med(a)), fmt_us(p99(a))), "1× (baseline)")
        t.add("6", "… %s (%d samples)" % (text_of["containers"], len(b)),
              "median %s, p99 %s" % (fmt_us(med(b)), fmt_us(p99(b))),
              "median %s %s, p99 %s %s" % (fmt_x(med(b) / med(a)), base, fmt_x(p99(b) / p99(a)), base),
              "median ≤ 1.02× %s" % base, met(med(b) / med(a) <= 1.02))


def paired(a, b):
    """Median of the differences a[i] - b[i] of runs made side by side."""
    n = min(len(a), len(b))
    return med([a[i] - b[i] for i in range(n)]), n


def add_paired(t, part, what, runs, peer_runs, peer, digits, also):
    """A row judged on what RUNS add to PEER_RUNS of the same rounds (the
    median of the paired differences, at most 5% of the peer's median):
    run-to-run drift cancels in a pair.  ALSO follows the ratio of medians."""
    m, mp = med(runs), med(peer_runs)
    d, n = paired(runs, peer_runs)
    t.add(part, what, fmt_us(m),
          "%s %s: %+.*f ms per container, median of %d interleaved pairs (ratio of medians %s; %s)" % (
              fmt_x((mp + d) / mp), peer, digits, d / 1000, n, fmt_x(m / mp), also),
          "≤ 1.05× %s (paired)" % peer, met((mp + d) / mp <= 1.05))


def part2(raw, t):
    st = status(raw, "p2")
    text = read(raw, "p2.txt")
    if st or not text:
        t.skip("2", "runc run with / without the hook", st or "not run")
        return
    runs = defaultdict(list)
    own = defaultdict(list)
    for line in text.splitlines():
        f = line.split()
        if f[0] == "own":
            own[f[1]].append(float(f[2]))
        else:
            runs[f[0]].append(int(f[1]))
    plain, noop, hook = runs["plain"], runs["noop"], runs["hook"]
    mp, mh = med(plain), med(hook)
    t.add("2", "`runc run` of a trivial container, no hook (%d runs)" % len(plain), fmt_us(mp))
    if noop:
        mn = med(noop)
        t.add("2", "`runc run`, two no-op hooks (`true` at createRuntime + poststop): the floor of any hook",
              fmt_us(mn), "%s plain" % fmt_x(mn / mp))
        # the medians of plain and no-op runs alone differ by up to 10%
        add_paired(t, "2", "`runc run`, annotated, shmpipe hook at createRuntime + poststop (%d runs)" % len(hook),
                   hook, noop, "no-op hooks", 2, "%s plain" % fmt_x(mh / mp))
    else:
        t.add("2", "`runc run`, annotated, hook at createRuntime + poststop (%d runs)" % len(hook), fmt_us(mh),
              "%s plain" % fmt_x(mh / mp))
    if own.get("join"):
        j, l, tr = med(own["join"]), med(own["leave"]), med(own["exec-true"])
        t.add("2", "The hook's own join + leave (spawn to exit, %d each)" % len(own["join"]),
              "%s + %s" % (fmt_us(j), fmt_us(l)),
              "%s two spawns of `true` (%s each)" % (fmt_x((j + l) / (2 * tr)), fmt_us(tr)))


def part3(raw, t):
    st = status(raw, "p3")
    text = read(raw, "p3.txt")
    if st or not text:
        t.skip("3", "docker run with a shmpipe volume", st or "not run")
        return
    v = defaultdict(list)
    for line in text.splitlines():
        k, us = line.split()
        v[k].append(int(us))
    none, tmpfs, shm = med(v["none"]), med(v["tmpfs"]), med(v["shmpipe"])
    t.add("3", "`docker run` trivial container, no volume (%d runs)" % len(v["none"]), fmt_us(none))
    t.add("3", "`docker run`, local tmpfs volume on /dev/shm", fmt_us(tmpfs), "%s none" % fmt_x(tmpfs / none))
    # `docker run` drifts by tens of ms within a run
    add_paired(t, "3", "`docker run`, shmpipe volume on /dev/shm", v["shmpipe"], v["tmpfs"], "tmpfs volume", 1,
               "%s none" % fmt_x(shm / none))


def part4(raw, t):
    st = status(raw, "p4")
    text = read(raw, "p4.txt")
    if st or not text:
        t.skip("4", "Reader's first touch", st or "not run")
        return
    v = defaultdict(list)
    pmd = defaultdict(list)
    faults = defaultdict(list)
    for line in text.splitlines():
        kv = dict(x.split("=", 1) for x in line.split())
        key = (int(kv["size"]), kv["huge"])
        v[key].append(int(kv["read_us"]))
        pmd[key].append(int(kv["pmd_kb"]))
        faults[key].append(int(kv["faults"]))
    for size in sorted({k[0] for k in v}):
        n, h = med(v[(size, "never")]), med(v[(size, "within_size")])
        t.add("4", "First touch of a %s segment by a reader, huge=never (%d runs)" % (fmt_size(size), len(v[(size, "never")])),
              fmt_us(n), "%d page faults" % med(faults[(size, "never")]))
        huge_kb = med(pmd[(size, "within_size")])
        fn, fh = med(faults[(size, "never")]), med(faults[(size, "within_size")])
        # What huge pages control is the number of faults: one per 2 MiB
        # instead of one per 64 KiB (the kernel maps 16 small pages around a
        # read fault), 32x fewer at best; the time that saves depends on how
        # the hypervisor backs guest memory (README).
        t.add("4", "… huge=within_size", fmt_us(h), "%s faster; %d faults (%s fewer), %d MiB PMD-mapped" % (
            fmt_x(n / h), fh, fmt_x(fn / max(fh, 1)), huge_kb // 1024), "≥ 16× fewer faults, all PMD-mapped",
            met(fn / max(fh, 1) >= 16 and huge_kb * 1024 >= size))


def p99(xs):
    """The 99th percentile (nearest rank)."""
    if not xs:
        return float("nan")
    ys = sorted(xs)
    return ys[min(len(ys) - 1, max(0, -(-99 * len(ys) // 100) - 1))]


SCALE_FLAT = [("create", "`shmpipectl create` + `rm` of one more pipeline", False),
              ("inspect", "`shmpipectl inspect` of one pipeline", False),
              ("hook-join", "hook join (createRuntime, spawn to exit)", True),
              ("hook-leave", "hook leave (poststop, spawn to exit)", True),
              ("plugin-mount", "plugin `VolumeDriver.Mount` (connect to reply)", True),
              ("plugin-unmount", "plugin `VolumeDriver.Unmount` (connect to reply)", True)]
SCALE_SCAN = [("ls", "`shmpipectl ls`"), ("metrics", "`shmpipectl metrics`"), ("gc", "`shmpipectl gc`"),
              ("doctor", "`shmpipectl doctor`")]


def part5(raw, t):
    st = status(raw, "p5")
    text = read(raw, "p5.txt")
    if st or not text:
        t.skip("5", "Scale and memory", st or "not run")
        return
    v = defaultdict(list)
    rss_hook, rss_true = [], []
    plugin = {}
    levels = []
    plugin_missing = None
    for line in text.splitlines():
        f = line.split()
        if f[0] == "plugin" and f[1] == "not-run:":
            plugin_missing = " ".join(f[1:])
        elif f[0] == "plugin":
            plugin[f[1]] = dict(x.split("=") for x in f[2:])
        elif f[0].startswith("n="):
            level = int(f[0][2:])
            if level not in levels:
                levels.append(level)
            if f[1] == "present":
                continue
            v[(level, f[1])].append(float(f[2]))
            if f[1] in ("hook-join", "hook-leave"):
                rss_hook.append(int(f[3]))
            elif f[1] == "hook-exec-true":
                rss_true.append(int(f[3]))
    if not levels:
        t.skip("5", "Scale and memory", "no measurements")
        return
    levels.sort()  # the rounds visit them in a rotating order
    base, top = levels[0], levels[-1]
    at = " / ".join("{:,}".format(lv) for lv in levels)
    for op, what, tail in SCALE_FLAT:
        if not v.get((base, op)):
            if op.startswith("plugin") and plugin_missing:
                t.skip("5", what, plugin_missing)
                plugin_missing = None
            continue
        vals = ", ".join("%s: %s" % ("{:,}".format(lv), fmt_us(med(v[(lv, op)]))) for lv in levels)
        if tail:
            vals += "; p99 " + ", ".join(fmt_us(p99(v[(lv, op)])) for lv in levels)
        worst = max(med(v[(lv, op)]) / med(v[(base, op)]) for lv in levels)
        t.add("5", "%s with %s pipelines (%d runs each)" % (what, at, len(v[(base, op)])), vals,
              "worst %s of %d pipeline%s" % (fmt_x(worst), base, "" if base == 1 else "s"),
              "flat: ≤ 1.5×", met(worst <= 1.5))
    # Commands that must look at every pipeline (doctor: its store check
    # lists them when an engine runs on the host): what each one adds, from
    # the smallest store to each larger one; linear when the last level's
    # cost per pipeline is no more than the one before it (1.5× slack), or
    # when the command stayed flat (doctor with no engine on the host).
    for op, what in SCALE_SCAN:
        if not v.get((base, op)) or len(levels) < 3:
            continue
        per = {lv: (med(v[(lv, op)]) - med(v[(base, op)])) / (lv - base) for lv in levels[1:]}
        prev = levels[-2]
        vals = ", ".join("%s: %s" % ("{:,}".format(lv), fmt_us(med(v[(lv, op)]))) for lv in levels)
        t.add("5", "%s with %s pipelines (%d runs each)" % (what, at, len(v[(base, op)])), vals,
              "per pipeline: %s" % ", ".join("%s at %s" % (fmt_us(per[lv]), "{:,}".format(lv)) for lv in levels[-2:]),
              "linear: per pipeline at %s ≤ 1.5× at %s (or flat)" % ("{:,}".format(top), "{:,}".format(prev)),
              met(per[top] <= 1.5 * max(per[prev], 1e-9) or med(v[(top, op)]) <= 1.5 * med(v[(base, op)])))
    if rss_hook:
        peak = max(rss_hook)
        t.add("5", "Hook peak RSS (max over %d runs, wait4 ru_maxrss)" % len(rss_hook), "%.2f MiB" % (peak / 1024),
              "/bin/true: %.2f MiB" % (max(rss_true) / 1024) if rss_true else "", "< 2 MiB", met(peak < 2048))
    if plugin:
        idle = plugin.get("idle-end", plugin.get("idle-start"))
        rss = int(idle["rss_kb"])
        t.add("5", "Plugin idle RSS (after the requests; at start %s MiB; peak %s MiB)" % (
            "%.2f" % (int(plugin.get("idle-start", idle)["rss_kb"]) / 1024), "%.2f" % (int(idle["hwm_kb"]) / 1024)),
            "%.2f MiB" % (rss / 1024), "", "< 8 MiB", met(rss < 8192))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--out")
    ap.add_argument("--command", default="make bench")
    a = ap.parse_args()
    t = Table()
    info = part1(a.raw, t)
    part2(a.raw, t)
    part3(a.raw, t)
    part4(a.raw, t)
    part5(a.raw, t)
    part6(a.raw, t)
    meta = read(a.raw, "meta.txt") or ""
    try:
        rev = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short",
                              "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        rev = ""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else ""
    except OSError:
        pass
    lines = ["# shmpipe benchmarks", "",
             "`%s` — %s, %d CPUs (%s), kernel %s, git %s." % (
                 a.command, " / ".join(l.split(" load ")[0].replace("start ", "").replace("end ", "")
                                       for l in meta.splitlines()[:1]) or "?",
                 os.cpu_count() or 0, cpu, platform.release(), rev or "?"),
             "Load average at start / end: %s." % " / ".join(
                 l.split(" load ")[1] for l in meta.splitlines() if " load " in l), ""]
    if info:
        nreps, nverified, extra = info
        lines.append("Part 1: each row the median of %d interleaved runs of about 150 ms each; ✓ = a verification run "
                     "checked every byte of every frame with that method (%d method×size pairs). "
                     "Hand-off = what moving the frame costs (producing and using it excluded); "
                     "end to end = the producer writes every byte and the consumer reads every byte. "
                     "Producer and consumer are two runc containers joined to one pipeline by the hook "
                     "(private mount, IPC, PID namespaces; shared loopback for TCP)." % (nreps, nverified))
        lines.append("")
    lines.append(t.markdown())
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
