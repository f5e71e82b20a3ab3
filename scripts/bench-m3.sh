#!/usr/bin/env bash
# Benchmarks on the Cortex-M3 board (QEMU lm3s6965evb), driven from the host
# through hostfwd (docs/cortex-m3.md, "Benchmarks"):
#
#   scripts/bench-m3.sh [--runs N] [--smoke] [--out DIR] [--build DIR]
#
#   --runs N    repeat everything N times (default 3); medians are quoted
#   --smoke     once, small transfers: proves that everything runs
#   --out DIR   results directory (default bench-results/m3)
#   --build DIR the cross build directory (default build-m3-bench; made
#               with -Dbuildtype=release if it does not exist)
#
# One image (bench_servers.elf) serves every workload three ways: zsock's
# BSD calls, zsock's native zero-copy calls, and lwIP's raw API in the
# reactor. Each run boots it twice, once as QEMU runs by default and once
# with -icount shift=0 (guest time counts instructions, so busy time gives
# instructions per byte and per request whatever the host is doing), and
# inside each boot alternates the three paths workload by workload, so
# that host noise hits them alike. Ratios are taken within a run.
#
# Writes DIR/results.csv (every measurement), DIR/table.md and the guest's
# console of every boot (DIR/qemu-*.log), and prints the table.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
runs=3 smoke=0 out=bench-results/m3 build=build-m3-bench
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --smoke) smoke=1; runs=1; shift ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--smoke] [--out DIR] [--build DIR]" >&2; exit 2 ;;
  esac
done

bash scripts/install-packages.sh || exit 1
bash scripts/fetch-deps.sh || exit 1
if [ ! -d "$build" ]; then
  meson setup "$build" --cross-file boards/lm3s6965evb/cross.ini -Dbuildtype=release \
    >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; exit 1; }
fi
ninja -C "$build" boards/lm3s6965evb/bench_servers.elf bench/m3/m3_client >/dev/null || exit 1
elf=$build/boards/lm3s6965evb/bench_servers.elf
client=$build/bench/m3/m3_client
mkdir -p "$out"
csv=$out/results.csv
echo "run,icount,path,workload,size,amount,seconds,mbit_s,median_us,p90_us,p99_us,req_s,busy_ticks" >"$csv"

if [ $smoke = 1 ]; then
  disc=1048576 echo_b=524288 rr_n=100
else
  disc=16777216 echo_b=4194304 rr_n=2000
fi

# path name -> echo port, discard port
declare -A ECHO=([bsd]=7 [native]=1007 [raw]=2007)
declare -A DISC=([bsd]=9 [native]=1009 [raw]=2009)

failures=0
one_boot() {  # run, icount (""|0)
  local run=$1 icount=$2 base fwd qpid log try
  local -A host
  log=$out/qemu-run$run-icount${icount:-off}.log   # the guest's console
  # a forwarded port may be taken (QEMU then exits at once): new ports
  for try in 1 2 3; do
    base=$((30000 + RANDOM % 20000)) fwd=""
    for p in 7 9 1007 1009 2007 2009 4242; do
      host[$p]=$((base + p % 100 + (p / 1000) * 100))
      fwd="$fwd${fwd:+,}tcp:127.0.0.1:${host[$p]}-:$p"
    done
    QEMU_M3_HOSTFWD=$fwd QEMU_M3_ICOUNT=$icount QEMU_M3_TIMEOUT=1800 \
      boards/lm3s6965evb/qemu-run "$elf" >"$log" 2>&1 &
    qpid=$!
    for _ in $(seq 100); do
      grep -q "^bench_servers:" "$log" && break
      kill -0 $qpid 2>/dev/null || break
      sleep 0.1
    done
    grep -q "^bench_servers: bsd" "$log" && break
    echo "bench-m3: the image did not start (try $try):" >&2; cat "$log" >&2
    kill $qpid 2>/dev/null; wait $qpid 2>/dev/null
    [ $try = 3 ] && { failures=$((failures + 1)); return; }
  done
  local order=(bsd native raw)
  # rotate the order from run to run
  for _ in $(seq $((run % 3))); do order=("${order[@]:1}" "${order[0]}"); done
  for wl in discard echo rr1 rr1k; do
    for path in "${order[@]}"; do
      local args=()
      case $wl in
        discard) args=(--port "${host[${DISC[$path]}]}" --workload discard --bytes $disc) ;;
        echo)    args=(--port "${host[${ECHO[$path]}]}" --workload echo --bytes $echo_b) ;;
        rr1)     args=(--port "${host[${ECHO[$path]}]}" --workload rr --size 1 --count $rr_n) ;;
        rr1k)    args=(--port "${host[${ECHO[$path]}]}" --workload rr --size 1024 --count $((rr_n / 2))) ;;
      esac
      local res
      if ! res=$("$client" "${args[@]}" --stats-port "${host[4242]}" --csv --timeout 120 2>&1); then
        echo "bench-m3: $path $wl failed (icount=${icount:-off}):" >&2; echo "$res" >&2
        failures=$((failures + 1))
        continue
      fi
      local line busy
      line=$(echo "$res" | tail -n 1)
      busy=$(echo "$res" | sed -n 's/^stats_delta:.* busy_ticks=\([0-9]*\).*/\1/p')
      IFS=, read -r _w size amount secs mbit med p90 p99 _min reqs <<<"$line"
      echo "$run,${icount:-off},$path,$wl,$size,$amount,$secs,$mbit,$med,$p90,$p99,$reqs,$busy" >>"$csv"
    done
  done
  kill $qpid 2>/dev/null; wait $qpid 2>/dev/null
}

for run in $(seq "$runs"); do
  echo "bench-m3: run $run of $runs" >&2
  one_boot "$run" ""
  one_boot "$run" 0
done
python3 bench/m3/summarize_m3.py "$csv" >"$out/table.md" || exit 1
cat "$out/table.md"
if [ $failures -ne 0 ]; then
  echo "bench-m3: $failures measurement(s) failed: the table lacks them" >&2
  exit 1
fi
