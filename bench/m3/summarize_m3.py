#!/usr/bin/env python3
"""Table of scripts/bench-m3.sh results (markdown on stdout).

   summarize_m3.py results.csv

Per QEMU mode (icount off, shift=0), workload and path: the median over
runs of throughput (discard, echo) or round-trip latency (rr), the ratio
to lwIP's raw API taken inside each run (then the median of those), the
ratio to the minimal hand-written responder of ../shared/QEMU_M3.md, and,
from the guest's busy time, instructions per payload byte or per request
(exact under -icount shift=0: one instruction is one nanosecond of guest
time; SysTick counts 80 ns ticks).
"""
import csv
import statistics
import sys
from collections import defaultdict

NS_PER_TICK = 80          # SysTick at 12.5 MHz (boards/lm3s6965evb/board.h)
WARMUP = 50               # m3_client's warm-up requests, counted by busy time
# Minimal responder (QEMU_M3.md): midpoints of the ranges measured there.
REF = {
    ("off", "discard"): 245.0, ("0", "discard"): 80.5,     # Mbit/s
    ("off", "echo"): 94.5, ("0", "echo"): 39.5,            # Mbit/s each way
    ("off", "rr1"): 129.5, ("0", "rr1"): 145.0,            # us, median
}
WL = [("discard", "discard, host sends (Mbit/s)"),
      ("echo", "echo, each way (Mbit/s)"),
      ("rr1", "1-byte request/response, median (us)"),
      ("rr1k", "1 KiB request/response, median (us)")]
PATHS = ["bsd", "native", "raw"]


def value(r):
    return float(r["median_us"] if r["workload"].startswith("rr") else r["mbit_s"])


def insns(r):
    if not r["busy_ticks"]:
        return None
    n = int(r["busy_ticks"]) * NS_PER_TICK
    if r["workload"].startswith("rr"):
        return n / (int(r["amount"]) + WARMUP)
    return n / int(r["amount"])


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    by = defaultdict(list)          # (icount, wl, path) -> rows
    runs = defaultdict(dict)        # (icount, wl, run) -> {path: value}
    for r in rows:
        by[(r["icount"], r["workload"], r["path"])].append(r)
        runs[(r["icount"], r["workload"], r["run"])][r["path"]] = value(r)
    nruns = len({r["run"] for r in rows})
    print(f"Medians of {nruns} run(s). Ratios to raw are taken inside each run "
          "(for latency: raw / path, so above 1 means faster than raw).\n")
    for ic, title in (("off", "QEMU default (host time)"), ("0", "-icount shift=0")):
        print(f"### {title}\n")
        print("| workload | path | figure | vs lwIP raw | vs minimal responder "
              "| instructions per byte / request |")
        print("| --- | --- | --- | --- | --- | --- |")
        for wl, name in WL:
            for path in PATHS:
                rs = by.get((ic, wl, path))
                if not rs:
                    continue
                fig = statistics.median(value(r) for r in rs)
                ratios = []
                for (ic2, wl2, _run), v in runs.items():
                    if ic2 == ic and wl2 == wl and path in v and "raw" in v:
                        a, b = v[path], v["raw"]
                        ratios.append(b / a if wl.startswith("rr") else a / b)
                ratio = f"{statistics.median(ratios):.2f}x" if ratios else ""
                ref = REF.get((ic, wl))
                if ref is None:
                    vs_ref = ""
                elif wl.startswith("rr"):
                    vs_ref = f"{fig / ref:.2f}x the latency"
                else:
                    vs_ref = f"{fig / ref:.2f}x"
                ins = [x for x in (insns(r) for r in rs) if x is not None]
                ins_s = f"{statistics.median(ins):.1f}" if ins and ic == "0" else ""
                unit = "us" if wl.startswith("rr") else "Mbit/s"
                print(f"| {name} | {path} | {fig:.1f} {unit} | {ratio} | {vs_ref} | {ins_s} |")
        print()


if __name__ == "__main__":
    main()
