#!/usr/bin/env python3
"""Summarise a benchmark run made by scripts/bench.sh.

    bench/summarize.py OUTDIR

Reads OUTDIR/results.csv (run,impl,workload,param,metric,value,unit: every
figure of every run) and OUTDIR/dist/run*/ (RR latency quantiles), writes

    OUTDIR/summary.csv    one line per figure and implementation: median,
                          min, max over the runs (or n/a and the reason)
    OUTDIR/summary.json   the same, plus the runs' values and OUTDIR/meta.txt
    OUTDIR/*.png          plots, when gnuplot is installed

and prints the table: each median, its spread (min-max over the runs) and
its ratio to lwIP's own sockets (lwip-sock), the reference. A ratio is
always "this figure / lwip-sock's figure": above 1 is better for
throughput and rates, below 1 is better for latencies and costs.
"""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

REF = "lwip-sock"
IMPLS = ["lwip-sock", "zsock-bsd", "zsock-native", "linux"]

# What the main table shows, in order; the cost table follows.
MAIN = [
    ("tcp_bulk", ["throughput"]),
    ("tcp_rr", ["p50", "p99"]),
    ("tcp_rr_paced", ["p50", "p99"]),
    ("udp", ["rx_rate", "loss"]),
    ("udp_paced", ["rx_rate", "loss"]),
    ("poll", ["per_event", "ratio_n1"]),
    ("tap_bulk_tx", ["throughput"]),
    ("tap_bulk_rx", ["throughput"]),
    ("tap_rr", ["p50", "p99"]),
]
COST = [
    ("tcp_bulk", ["cpu_per_gb", "tx_copies_per_byte", "rx_copies_per_byte"]),
    ("tcp_rr", ["cpu_per_rt"]),
    ("tcp_rr_paced", ["cpu_per_rt"]),
    ("poll", ["cpu_per_event"]),
    ("tap_bulk_tx", ["cpu_per_gb", "tx_copies_per_byte"]),
    ("tap_bulk_rx", ["cpu_per_gb", "rx_copies_per_byte"]),
    ("tap_rr", ["cpu_per_rt"]),
]
WORKLOAD_ORDER = [w for w, _ in MAIN] + ["footprint"]


def param_key(p):
    try:
        return (0, float(p), p)
    except ValueError:
        return (1, 0.0, p)


def load(outdir):
    figs = {}
    with open(os.path.join(outdir, "results.csv"), newline="") as f:
        for r in csv.DictReader(f):
            key = (r["workload"], r["param"], r["metric"], r["impl"])
            fig = figs.setdefault(key, {"values": [], "runs": [], "unit": "", "na": None})
            if r["value"] == "n/a":
                fig["na"] = r["unit"]
            else:
                fig["values"].append(float(r["value"]))
                fig["runs"].append(int(r["run"]))
                fig["unit"] = r["unit"]
    for fig in figs.values():
        v = fig["values"]
        if v:
            fig["median"] = statistics.median(v)
            fig["min"] = min(v)
            fig["max"] = max(v)
    return figs


def sort_key(key):
    w, p, m, i = key
    wi = WORKLOAD_ORDER.index(w) if w in WORKLOAD_ORDER else len(WORKLOAD_ORDER)
    ii = IMPLS.index(i) if i in IMPLS else len(IMPLS)
    return (wi, w, param_key(p), m, ii, i)


def write_summary(outdir, figs, meta):
    with open(os.path.join(outdir, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "param", "metric", "impl", "unit", "runs", "median", "min", "max",
                    "ratio_to_" + REF, "note"])
        for key in sorted(figs, key=sort_key):
            fig = figs[key]
            wl, p, m, i = key
            if "median" in fig:
                r = ratio(figs, key)
                w.writerow([wl, p, m, i, fig["unit"], len(fig["values"]),
                            "%.6g" % fig["median"], "%.6g" % fig["min"], "%.6g" % fig["max"],
                            "" if r is None else "%.4g" % r, ""])
            else:
                w.writerow([wl, p, m, i, "", 0, "n/a", "", "", "", fig["na"] or ""])
    out = []
    for key in sorted(figs, key=sort_key):
        fig = figs[key]
        wl, p, m, i = key
        rec = {"workload": wl, "param": p, "metric": m, "impl": i}
        if "median" in fig:
            rec.update(unit=fig["unit"], median=fig["median"], min=fig["min"], max=fig["max"],
                       values=fig["values"], runs=fig["runs"], ratio_to_ref=ratio(figs, key))
        else:
            rec.update(na=fig["na"])
        out.append(rec)
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"reference": REF, "meta": meta, "figures": out}, f, indent=1)
        f.write("\n")


# figures whose ratio to lwIP's means nothing: already a ratio, or a share
NO_RATIO = {"ratio_n1", "loss"}


def ratio(figs, key):
    wl, p, m, i = key
    if m in NO_RATIO:
        return None
    ref = figs.get((wl, p, m, REF))
    fig = figs[key]
    if i == REF or ref is None or "median" not in ref or "median" not in fig:
        return None
    if ref["median"] == 0:
        return None
    return fig["median"] / ref["median"]


def num(v):
    a = abs(v)
    if v == int(v) and a < 1e4:
        return "%d" % v
    if a >= 1e6:
        return "%.2fM" % (v / 1e6)
    if a >= 1e4:
        return "%.0fk" % (v / 1e3)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def cell(figs, key, notes):
    fig = figs.get(key)
    if fig is None:
        return "-"
    if "median" not in fig:
        reason = fig["na"] or "n/a"
        if reason not in notes:
            notes.append(reason)
        return "n/a[%d]" % (notes.index(reason) + 1)
    s = "%s %s-%s" % (num(fig["median"]), num(fig["min"]), num(fig["max"]))
    r = ratio(figs, key)
    if r is not None:
        s += (" %.2fx" if r >= 0.1 else " %.2gx") % r
    return s


def print_table(title, spec, figs, impls, notes):
    rows = []
    for wl, metrics in spec:
        params = sorted({k[1] for k in figs if k[0] == wl}, key=param_key)
        for p in params:
            for m in metrics:
                if not any((wl, p, m, i) in figs for i in impls):
                    continue
                unit = next((figs[(wl, p, m, i)]["unit"] for i in impls
                             if (wl, p, m, i) in figs and figs[(wl, p, m, i)]["unit"]), "")
                label = "%s %s %s" % (wl, p, m)
                rows.append([label, unit] + [cell(figs, (wl, p, m, i), notes) for i in impls])
    if not rows:
        return
    head = ["figure", "unit"] + impls
    widths = [max(len(r[c]) for r in rows + [head]) for c in range(len(head))]
    print(title)
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print()


def print_footprint(figs):
    impls = sorted({k[3] for k in figs if k[0] == "footprint"},
                   key=lambda i: (i != "zsock", i))
    if not impls:
        return
    print("Static RAM (bytes, from the builds' sizes; lwip-sock: sizeof() sum, a lower bound):")
    for i in impls:
        parts = []
        for (wl, p, m, ii), fig in sorted(figs.items(), key=lambda kv: kv[0][2]):
            if wl != "footprint" or ii != i:
                continue
            parts.append("%s %s" % (m, num(fig["median"]) if "median" in fig else "n/a (%s)" % fig["na"]))
        print("  %-10s %s" % (i, ", ".join(parts)))
    print()


# ---- plots ------------------------------------------------------------------------

def xy_data(figs, wl, metric, impls, path):
    """Columns: x, then median/min/max per impl ('?' where missing)."""
    params = sorted({k[1] for k in figs if k[0] == wl and k[2] == metric}, key=param_key)
    params = [p for p in params if param_key(p)[0] == 0]
    if not params:
        return False
    with open(path, "w") as f:
        f.write("# x " + " ".join("%s_median %s_min %s_max" % (i, i, i) for i in impls) + "\n")
        for p in params:
            cols = [p]
            for i in impls:
                fig = figs.get((wl, p, metric, i))
                if fig and "median" in fig:
                    cols += ["%g" % fig["median"], "%g" % fig["min"], "%g" % fig["max"]]
                else:
                    cols += ["?", "?", "?"]
            f.write(" ".join(cols) + "\n")
    return True


def cdf_data(outdir, wl, size, impls, path):
    """Per-quantile median over the runs of each impl's latency."""
    per_impl = {}
    distdir = os.path.join(outdir, "dist")
    if not os.path.isdir(distdir):
        return False
    for i in impls:
        runs = []
        for run in sorted(os.listdir(distdir)):
            fn = os.path.join(distdir, run, "%s-%s-%s.dat" % (wl, i, size))
            if not os.path.exists(fn):
                continue
            with open(fn) as f:
                runs.append([tuple(map(float, line.split())) for line in f
                             if line.strip() and not line.startswith("#")])
        if runs:
            n = min(len(r) for r in runs)
            per_impl[i] = [(runs[0][k][0], statistics.median(r[k][1] for r in runs))
                           for k in range(n)]
    if not per_impl:
        return False
    n = min(len(v) for v in per_impl.values())
    with open(path, "w") as f:
        f.write("# quantile " + " ".join(impls) + " (round trip, us; median over runs)\n")
        for k in range(n):
            q = next(iter(per_impl.values()))[k][0]
            f.write("%g %s\n" % (q, " ".join("%g" % per_impl[i][k][1] if i in per_impl else "?"
                                              for i in impls)))
    return True


def plots(outdir, figs, impls):
    gp = shutil.which("gnuplot")
    if gp is None:
        print("plots: skipped, gnuplot is not installed (Debian package gnuplot-nox)")
        return
    datadir = os.path.join(outdir, "plotdata")
    os.makedirs(datadir, exist_ok=True)
    script = ['set terminal pngcairo size 900,560 noenhanced font ",10"',
              'set datafile missing "?"', "set grid", "set key outside right top"]
    made = []

    def xy(wl, metric, png, title, xlabel, ylabel, logy=False):
        dat = os.path.join(datadir, "%s-%s.dat" % (wl, metric))
        if not xy_data(figs, wl, metric, impls, dat):
            return
        script.extend([
            "unset logscale",
            'set output "%s"' % os.path.join(outdir, png),
            'set title "%s"' % title, 'set xlabel "%s"' % xlabel, 'set ylabel "%s"' % ylabel,
            "set logscale x 2", "set logscale y" if logy else "unset logscale y",
            "plot " + ", ".join(
                '"%s" using 1:%d:%d:%d with yerrorlines title "%s"' % (dat, 2 + 3 * k, 3 + 3 * k,
                                                                      4 + 3 * k, i)
                for k, i in enumerate(impls)),
        ])
        made.append(png)

    xy("tcp_bulk", "throughput", "throughput.png",
       "TCP bulk stream over loopback (median, bars: min-max)", "write size (bytes)", "MB/s")
    xy("tap_bulk_tx", "throughput", "tap-throughput-tx.png",
       "TCP bulk to a Linux peer (zsock, lwIP: TAP; linux: veth)", "write size (bytes)", "MB/s")
    xy("tap_bulk_rx", "throughput", "tap-throughput-rx.png",
       "TCP bulk from a Linux peer (zsock, lwIP: TAP; linux: veth)", "peer's write size (bytes)", "MB/s")
    xy("poll", "per_event", "poll.png",
       "poll: one active connection among N (median, bars: min-max)", "N connections polled",
       "us per event (round trip)", logy=True)

    for wl in ("tcp_rr", "tap_rr"):
        sizes = sorted({k[1] for k in figs if k[0] == wl}, key=param_key)
        for size in sizes:
            dat = os.path.join(datadir, "cdf-%s-%s.dat" % (wl, size))
            if not cdf_data(outdir, wl, size, impls, dat):
                continue
            png = "latency-%s-%s.png" % (wl, size)
            script.extend([
                "unset logscale",
                'set output "%s"' % os.path.join(outdir, png),
                'set title "%s %s-byte request/response: distribution of round trips"' % (wl, size),
                'set xlabel "round trip (us, log scale)"', 'set ylabel "fraction of round trips <= x"',
                "set logscale x", "set yrange [0:1]",
                "plot " + ", ".join('"%s" using %d:1 with lines lw 2 title "%s"' % (dat, 2 + k, i)
                                    for k, i in enumerate(impls)),
                "set autoscale y",
            ])
            made.append(png)
    if not made:
        return
    gpfile = os.path.join(datadir, "plots.gp")
    with open(gpfile, "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run([gp, gpfile], capture_output=True, text=True)
    if r.returncode != 0:
        print("plots: gnuplot failed:\n" + r.stderr)
    else:
        print("plots: " + ", ".join(os.path.join(outdir, p) for p in made))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    figs = load(outdir)
    meta = {}
    metafile = os.path.join(outdir, "meta.txt")
    if os.path.exists(metafile):
        with open(metafile) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    meta[k] = v
    write_summary(outdir, figs, meta)
    impls = [i for i in IMPLS if any(k[3] == i for k in figs)]
    impls += sorted({k[3] for k in figs if k[3] not in impls and k[0] != "footprint"})
    nruns = meta.get("runs", "?")
    notes = []
    print()
    if meta:
        # a busy machine widens every spread: say how busy it was
        print("Machine: %s, %s CPUs; load average at start %s, at end %s; commit %s" % (
            meta.get("cpu", "?"), meta.get("cpus", "?"), meta.get("loadavg_at_start", "?"),
            meta.get("loadavg_at_end", "?"), meta.get("commit", "?")))
        print()
    print_table("Results: median of %s runs, then min-max, then the ratio to %s" % (nruns, REF),
                MAIN, figs, impls, notes)
    print_table("Cost: CPU seconds per GB moved and CPU us per round trip (whole process), "
                "copies per payload byte (zsock's counters)", COST, figs, impls, notes)
    print_footprint(figs)
    for k, n in enumerate(notes):
        print("[%d] %s" % (k + 1, n))
    if notes:
        print()
    plots(outdir, figs, impls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
