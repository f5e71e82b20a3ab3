#!/usr/bin/env bash
# The benchmarks' smoke test (meson test --suite bench):
#
#   bench/smoke.sh PROGRAM IMPL...
#
# Runs "PROGRAM --smoke --impl IMPL" for each IMPL (tiny durations) and
# fails if a run fails, or if its output lacks a figure: every line must be
# "impl,workload,param,metric,value,unit" with a number or n/a as value;
# each workload must give at least one number for the implementation; the
# figures that measure something (throughput, latency, rates) must be
# positive. No timing threshold: a loaded machine passes.
set -uo pipefail
prog=$1
shift
[ $# -gt 0 ] || { echo "usage: $0 PROGRAM IMPL..." >&2; exit 2; }

status=0
for impl in "$@"; do
  echo "=== $prog --smoke --impl $impl"
  out=$("$prog" --smoke --impl "$impl" --timeout 25)
  rc=$?
  printf '%s\n' "$out"
  if [ $rc -ne 0 ]; then
    echo "smoke: $impl: exit status $rc" >&2
    status=1
    continue
  fi
  printf '%s\n' "$out" | awk -F, -v impl="$impl" '
    BEGIN { need["tcp_bulk"]; need["tcp_rr"]; need["tcp_rr_paced"]; need["udp"]; need["udp_paced"]; need["poll"]
            positive["throughput"]; positive["p50"]; positive["p99"]; positive["mean"]
            positive["rx_rate"]; positive["tx_rate"]; positive["per_event"]
            positive["round_trips"] }
    NF == 0 { next }
    NF != 6 { print "smoke: malformed line: " $0; bad = 1; next }
    $5 == "n/a" { if ($6 == "") { print "smoke: n/a without a reason: " $0; bad = 1 }
                  if ($2 == "footprint") fp = 1; next }
    $5 !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ { print "smoke: not a number: " $0; bad = 1; next }
    ($4 in positive) && $5 + 0 <= 0 { print "smoke: not positive: " $0; bad = 1 }
    $5 + 0 < 0 { print "smoke: negative: " $0; bad = 1 }
    $2 == "footprint" { fp = 1; next }
    $1 == impl { got[$2] = 1 }
    END {
      for (w in need) if (!(w in got)) { print "smoke: " impl ": no figure for " w; bad = 1 }
      if (!fp) { print "smoke: " impl ": no footprint line"; bad = 1 }
      exit bad
    }' || status=1
done
[ $status -eq 0 ] && echo "smoke: ok"
exit $status
