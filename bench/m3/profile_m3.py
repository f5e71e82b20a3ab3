#!/usr/bin/env python3
"""Exact guest instruction counts per function from a QEMU execution log.

    profile_m3.py ELF LOG [--marker FUNC] [--per N] [--top K] [--diff OTHER.tsv]
                  [--tsv OUT.tsv]

LOG comes from qemu-system-arm -d in_asm,exec,nochain -D LOG (no -icount:
icount may split a block at the same address differently from one run to
the next). With nochain QEMU logs every translation block it enters
("Trace ..."); in_asm lists each block's instructions once, when it is
translated, before its first execution. Each execution is weighted by its
block's instruction count and charged to the function holding the block's
first address (arm-none-eabi-nm on ELF); a block entered at a function's
first address counts as a call. An interrupt that cuts a block short still
charges the whole block: the error is a few instructions per interrupt.

--marker FUNC counts only between the first and the last execution of FUNC
(default stats_line: bench/m3/m3_client asks the image's stats port before
and after its workload, so boot and idle fall outside). --per N divides
the counts (bytes or requests of the workload). --diff compares with the
--tsv output of another run (the raw API's, say).
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys


def symbols(elf):
    out = subprocess.run(["arm-none-eabi-nm", "-n", "-S", elf], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 4 and p[2] in "tTwW":
            syms.append((int(p[0], 16) & ~1, int(p[1], 16), p[3]))
    syms.sort()
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("elf")
    ap.add_argument("log")
    ap.add_argument("--marker", default="stats_line")
    ap.add_argument("--per", type=float, default=1.0)
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--diff")
    ap.add_argument("--tsv")
    a = ap.parse_args()

    syms = symbols(a.elf)
    addrs = [s[0] for s in syms]
    starts = set(addrs)

    def func(pc):
        i = bisect.bisect_right(addrs, pc) - 1
        if i >= 0 and pc < syms[i][0] + max(syms[i][1], 2):
            return syms[i][2]
        return "?%x" % pc

    marker = next((s[0] for s in syms if s[2] == a.marker), None)
    size, events = {}, []
    cur, cnt = None, 0
    trace = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    insn = re.compile(r"^0x([0-9a-f]+):\s")
    with open(a.log, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                if cur is not None:
                    size[cur] = cnt
                cur, cnt = None, 0
                continue
            m = insn.match(line)
            if m:
                if cur is None:
                    cur = int(m.group(1), 16)
                cnt += 1
                continue
            m = trace.match(line)
            if m:
                if cur is not None:
                    size[cur], cur = cnt, None
                events.append(int(m.group(1), 16))
    if cur is not None:
        size[cur] = cnt
    lo, hi = 0, len(events)
    if marker is not None:
        idx = [i for i, pc in enumerate(events) if pc == marker]
        if len(idx) >= 2:
            lo, hi = idx[0], idx[-1]
        else:
            print(f"note: {a.marker} ran {len(idx)} time(s): counting the whole log",
                  file=sys.stderr)
    insns, calls = collections.Counter(), collections.Counter()
    for pc in events[lo:hi]:
        f_ = func(pc)
        insns[f_] += size.get(pc, 0)
        if pc in starts:
            calls[f_] += 1
    total = sum(insns.values())
    if a.tsv:
        with open(a.tsv, "w") as out:
            for f_, n in insns.items():
                out.write(f"{f_}\t{n / a.per}\t{calls[f_] / a.per}\n")
    other = {}
    if a.diff:
        for line in open(a.diff):
            f_, n, c = line.rstrip("\n").split("\t")
            other[f_] = (float(n), float(c))
    print(f"total {total / a.per:.1f} instructions per unit ({total} in all, {hi - lo} blocks)"
          + (f"; other run {sum(v[0] for v in other.values()):.1f}" if other else ""))
    print("%10s %8s %6s %9s  %s" % ("per unit", "calls", "share", "per call", "function")
          + ("   | other run: per unit, calls, difference" if other else ""))
    keys = list(set(insns) | set(other))
    if other:
        keys.sort(key=lambda k: -abs(insns[k] / a.per - other.get(k, (0, 0))[0]))
    else:
        keys.sort(key=lambda k: -insns[k])
    for f_ in keys[:a.top]:
        n, c = insns[f_] / a.per, calls[f_] / a.per
        line = "%10.1f %8.2f %5.1f%% %9.1f  %-34s" % (n, c, 100.0 * insns[f_] / max(total, 1),
                                                    n / c if c else 0.0, f_)
        if other:
            on, oc = other.get(f_, (0.0, 0.0))
            line += " | %9.1f %7.2f %+9.1f" % (on, oc, n - on)
        print(line)


if __name__ == "__main__":
    main()
