#!/usr/bin/env bash
# The soak run: mixed TCP, UDP and TLS load on the engine over loopback for
# a chosen time, with its memory figures over time (docs/reliability.md).
#
#   scripts/soak.sh [--minutes N] [--interval S] [--out DIR] [--build DIR]
#   scripts/soak.sh --replot [--out DIR]
#
#   --minutes N   how long the load runs (default 10; 1 .. 1440)
#   --interval S  seconds between CSV lines (default: a sixtieth of the run)
#   --out DIR     results directory (default soak-results)
#   --build DIR   build directory (default build-soak; SOAK_MESON_OPTS adds
#                 Meson options, e.g. "-Db_sanitize=address,undefined")
#   --replot      only draw DIR/soak.png again from DIR/soak.csv
#
# Installs what is missing (scripts/install-packages.sh, fetch-deps.sh),
# builds tests/soak/soak (debugoptimized, tests enabled), runs it and
# writes DIR/soak.csv (one line per interval), DIR/log.txt (everything the
# program printed: errors, the end-of-run checks, PASS or FAIL) and, when
# gnuplot is installed, DIR/soak.png (in-use figures and high-water marks
# over time). If the reactor stops answering for 3 s, DIR/stall-N.txt gets
# every thread's stack (gdb). Exits with the program's status: 0 PASS,
# 1 FAIL.
# The meson suite 'soak' runs the same program for 30 s.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

minutes=10 interval='' out=soak-results build=build-soak replot=0
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=${2:?}; shift 2 ;;
    --interval) interval=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --replot) replot=1; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $minutes =~ ^[1-9][0-9]*$ ]] && [ "$minutes" -le 1440 ] ||
  { echo "soak.sh: --minutes takes 1 .. 1440" >&2; exit 2; }
[ -z "$interval" ] || [[ $interval =~ ^[1-9][0-9]*$ ]] ||
  { echo "soak.sh: --interval takes a positive number of seconds" >&2; exit 2; }

log() { printf 'soak.sh: %s\n' "$*" >&2; }

# ---- plot -------------------------------------------------------------------------
# Columns: the header line of soak.csv (tests/soak/soak.c): 1 elapsed_s,
# 2 bytes, 3 conns, 5 udp_reqs, 8 sockets, 10 fds, 12 tx_bufs, 13 tx_bufs_hw,
# 14 rx_bufs, 15 rx_bufs_hw, 16 lwip_mem, 17 lwip_mem_max, 20 tcp_pcbs,
# 21 udp_pcbs, 22 tls, 24 tls_sessions, 27 sched_gap_ms, 28 reactor_ms.
plot() {
  local csv="$out/soak.csv" png="$out/soak.png"
  if ! command -v gnuplot >/dev/null; then
    log "*** no plot: gnuplot is not installed (Debian package gnuplot-nox) ***"
    return
  fi
  if [ ! -s "$csv" ] || [ "$(wc -l <"$csv")" -le 2 ]; then
    log "no plot: $csv has fewer than two lines"
    return
  fi
  local dur
  dur=$(tail -n 1 "$csv" | cut -d, -f1)
  gnuplot <<EOF || log "gnuplot failed"
set datafile separator ','
set terminal pngcairo size 1200,1350 noenhanced
set output '$png'
set key autotitle columnhead outside right
set grid
set xlabel 'elapsed (s)'
set multiplot layout 5,1 title 'zsock soak over loopback: TCP + UDP + TLS, $dur s'
set ylabel 'net_bufs'
set yrange [0:*]
plot '$csv' using 1:12 with lines lw 2, '' using 1:13 with lines dt 2, \
     '' using 1:14 with lines lw 2, '' using 1:15 with lines dt 2
set ylabel 'lwIP heap (KiB)'
plot '$csv' using 1:(\$16/1024) with lines lw 2 title 'lwip_mem', \
     '' using 1:(\$17/1024) with lines dt 2 title 'lwip_mem_max'
set ylabel 'in use'
set y2label 'TCP PCBs'
set y2tics
set y2range [0:*]
plot '$csv' using 1:8 with lines lw 2, '' using 1:10 with lines lw 2, \
     '' using 1:21 with lines, '' using 1:22 with lines lw 2, '' using 1:24 with lines lw 2, \
     '' using 1:20 axes x1y2 with lines dt 2 title 'tcp_pcbs (right; TIME_WAIT too)'
set ylabel 'connections (k), GB'
set y2label 'UDP requests (k)'
plot '$csv' using 1:(\$3/1000) with lines lw 2 title 'connections (k)', \
     '' using 1:(\$2/1e9) with lines lw 2 title 'GB checked', \
     '' using 1:(\$5/1000) axes x1y2 with lines lw 2 title 'udp_reqs (k, right)'
unset y2label
unset y2tics
set ylabel 'worst stall (ms)'
set logscale y
set yrange [1:*]
plot '$csv' using 1:(\$27 < 1 ? 1 : \$27) with lines lw 2 title 'process unscheduled', \
     '' using 1:(\$28 < 1 ? 1 : \$28) with lines lw 2 title 'reactor round trip'
unset multiplot
EOF
  [ -s "$png" ] && log "plot: $png"
}

if [ $replot -eq 1 ]; then
  plot
  exit 0
fi

# ---- set-up and build ------------------------------------------------------------
bash scripts/install-packages.sh || { log "package installation failed"; exit 1; }
bash scripts/fetch-deps.sh || { log "fetching lwIP/BearSSL sources failed"; exit 1; }
opts=(-Dbuildtype=debugoptimized -Dtests=enabled)
read -r -a more <<<"${SOAK_MESON_OPTS:-}"
opts+=("${more[@]}")
if [ -d "$build" ]; then
  meson setup --reconfigure "$build" "${opts[@]}" >"$build.setup.log" 2>&1
else
  meson setup "$build" "${opts[@]}" >"$build.setup.log" 2>&1
fi || { cat "$build.setup.log"; log "meson setup failed"; exit 1; }
ninja -C "$build" tests/soak/soak >"$build.build.log" 2>&1 ||
  { tail -40 "$build.build.log"; log "build failed"; exit 1; }

# ---- the run ----------------------------------------------------------------------
mkdir -p "$out"
rm -f "$out/soak.csv" "$out/soak.png" "$out/log.txt" "$out"/stall-*.txt
args=(--seconds $((minutes * 60)) --csv "$out/soak.csv" --stall-dump "$out/stall")
[ -n "$interval" ] && args+=(--interval "$interval")
log "running for $minutes min; CSV in $out/soak.csv"
# bounded: the program stops its load on time and needs at most ~1 min more
timeout --signal=KILL $((minutes * 60 + 180)) "$build/tests/soak/soak" "${args[@]}" 2>&1 |
  tee "$out/log.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 137 ] && log "the program did not end in time: killed"
plot
exit "$rc"
