#!/usr/bin/env bash
# The benchmarks: zsock (BSD and native zero-copy paths) against lwIP's own
# sockets and the Linux kernel, in the same run (docs/benchmarks.md).
#
#   scripts/bench.sh [--runs N] [--smoke] [--out DIR] [--build DIR] [--no-tap]
#                    [--impls LIST] [-- PROGRAM OPTIONS...]
#
#   --runs N      repeat everything N times (default 5); medians are quoted
#   --smoke       once, tiny durations: proves that everything runs (< 1 min)
#   --out DIR     results directory (default bench-results)
#   --build DIR   build directory (default build-bench)
#   --no-tap      skip the runs over TAP / veth against a Linux peer
#   --impls LIST  comma separated subset of lwip-sock,zsock-bsd,zsock-native,linux
#   -- ...        passed to every benchmark program (e.g. -- --duration 1)
#
# Installs what is missing (scripts/install-packages.sh, fetch-deps.sh),
# builds a release configuration with tables large enough for 1024
# connections (BENCH_MESON_OPTS adds Meson options), then runs each
# workload on each implementation, alternating the implementations inside
# every run (the order rotates from run to run) so that noise on this
# machine hits all of them alike. The TAP runs need root; without it they
# are skipped with a loud line.
#
# Writes DIR/results.csv (every figure of every run), summary.csv,
# summary.json, table.txt, log.txt (the programs' stderr) and PNG plots,
# and prints the table.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

runs=5 smoke=0 out=bench-results build=build-bench tap=1
impls_all=(lwip-sock zsock-bsd zsock-native linux)
impls=("${impls_all[@]}")
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?}; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --out) out=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --no-tap) tap=0; shift ;;
    --impls) IFS=, read -r -a impls <<<"${2:?}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --runs needs a positive number" >&2; exit 2; }
[ $smoke -eq 1 ] && runs=1
for i in "${impls[@]}"; do
  [[ " ${impls_all[*]} " == *" $i "* ]] || { echo "bench.sh: unknown implementation $i" >&2; exit 2; }
done

log() { printf 'bench.sh: %s\n' "$*" >&2; }
t_start=$(date +%s)

# ---- set-up and build ------------------------------------------------------------
bash scripts/install-packages.sh || { log "package installation failed"; exit 1; }
bash scripts/fetch-deps.sh || { log "fetching lwIP/BearSSL sources failed"; exit 1; }
command -v python3 >/dev/null || { log "python3 is missing"; exit 1; }

# 1024 idle connections and their peers, plus listeners and spares
opts=(-Dbuildtype=release -Dtests=disabled
      -Dzvfs_open_max=2200 -Dnet_max_contexts=2200 -Dnet_max_conn=2200)
read -r -a more <<<"${BENCH_MESON_OPTS:-}"
opts+=("${more[@]}")
if [ -d "$build" ]; then
  meson setup --reconfigure "$build" "${opts[@]}" >"$build.setup.log" 2>&1
else
  meson setup "$build" "${opts[@]}" >"$build.setup.log" 2>&1
fi || { cat "$build.setup.log"; log "meson setup failed"; exit 1; }
ninja -C "$build" >"$build.build.log" 2>&1 || { tail -40 "$build.build.log"; log "build failed"; exit 1; }

avail=()
for i in "${impls[@]}"; do
  case $i in
    lwip-sock)
      if [ -x "$build/bench/bench_lwip" ]; then avail+=("$i")
      else log "*** lwip-sock skipped: bench_lwip was not built (Debian package liblwip-dev missing) ***"; fi ;;
    *) avail+=("$i") ;;
  esac
done
[ ${#avail[@]} -gt 0 ] || { log "nothing to run"; exit 1; }
command -v gnuplot >/dev/null || log "*** no plots: gnuplot is not installed (Debian package gnuplot-nox) ***"

rm -rf "$out"
mkdir -p "$out/dist"
echo "run,impl,workload,param,metric,value,unit" >"$out/results.csv"
: >"$out/log.txt"

smoke_args=()
tlimit=300
if [ $smoke -eq 1 ]; then smoke_args=(--smoke); tlimit=60; fi

# the program (and its --impl) of an implementation
impl_cmd() {
  case $1 in
    zsock-bsd|zsock-native) echo "$build/bench/bench_zsock --impl $1" ;;
    lwip-sock) echo "$build/bench/bench_lwip" ;;
    linux) echo "$build/bench/bench_linux" ;;
  esac
}

failures=0
# run_one RUN IMPL WHAT PREFIX... -- ARGS...: one program run, its figures
# appended to results.csv with the run number
run_one() {
  local run=$1 impl=$2 what=$3 prefix=() args=() cmd rc
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do prefix+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  args=("$@")
  read -r -a cmd <<<"$(impl_cmd "$impl")"
  mkdir -p "$out/dist/run$run"
  echo "=== run $run $impl $what: ${prefix[*]} ${cmd[*]} ${args[*]}" >>"$out/log.txt"
  timeout --kill-after=10 "$tlimit" "${prefix[@]}" "${cmd[@]}" --dist-dir "$out/dist/run$run" \
    "${smoke_args[@]}" "${args[@]}" "${extra[@]}" >"$out/.last.csv" 2>>"$out/log.txt"
  rc=$?
  # figures printed before a failure are kept; each line must be a figure
  awk -F, -v run="$run" 'NF == 6 { print run "," $0 }' "$out/.last.csv" >>"$out/results.csv"
  if [ $rc -ne 0 ]; then
    failures=$((failures + 1))
    printf '  FAILED: %s %s (run %s, exit status %s; see %s)\n' "$impl" "$what" "$run" "$rc" "$out/log.txt"
    echo "=== exit status $rc" >>"$out/log.txt"
  fi
}

# the implementations, rotated by the run number
order() {
  local n=${#avail[@]} k=$(( ($1 - 1) % ${#avail[@]} ))
  for ((j = 0; j < n; j++)); do printf '%s ' "${avail[$(( (j + k) % n ))]}"; done
}

# ---- TAP and veth to a Linux peer ------------------------------------------------------
# Namespace P holds the Linux peer (bench_linux --serve on 0.0.0.0:5201),
# TAP zb0 (Linux 192.0.2.1/26; zsock attaches as 192.0.2.2), TAP zb1
# (Linux 192.0.2.65/26; Debian's lwIP tapif as 192.0.2.66) and one end of a
# veth pair (198.51.100.1/24); namespace C holds the other end
# (198.51.100.2) for the Linux-to-Linux comparison. The user-space stacks
# run inside P, where their TAP devices are. Nothing leaves the namespaces;
# only documentation addresses are used.
nsP="" nsC="" peer_pid=""
tap_down() {
  if [ -n "$peer_pid" ]; then kill "$peer_pid" 2>/dev/null; wait "$peer_pid" 2>/dev/null; peer_pid=""; fi
  [ -n "$nsP" ] && ip netns delete "$nsP" 2>/dev/null
  [ -n "$nsC" ] && ip netns delete "$nsC" 2>/dev/null
  nsP="" nsC=""
}
trap tap_down EXIT
trap 'tap_down; exit 130' INT TERM

tap_up() {
  local why="" s
  if [ "$(id -u)" -ne 0 ]; then why="they need root (network namespaces, TAP devices)"
  elif [ ! -c /dev/net/tun ]; then why="/dev/net/tun is missing"
  elif ! ip -V >/dev/null 2>&1; then why="ip(8) from iproute2 is missing"; fi
  if [ -n "$why" ]; then
    log "*** skipped: TAP/veth workloads: $why ***"
    return 1
  fi
  # namespaces left by a bench.sh that died
  for s in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^zsock-bench-[pc]-[0-9]*$'); do
    kill -0 "${s##*-}" 2>/dev/null || ip netns delete "$s" 2>/dev/null
  done
  nsP=zsock-bench-p-$$ nsC=zsock-bench-c-$$
  if ! { ip netns add "$nsP" && ip netns add "$nsC" &&
         ip -n "$nsP" link set lo up && ip -n "$nsC" link set lo up &&
         ip -n "$nsP" tuntap add dev zb0 mode tap &&
         ip -n "$nsP" addr add 192.0.2.1/26 dev zb0 && ip -n "$nsP" link set zb0 up &&
         ip -n "$nsP" tuntap add dev zb1 mode tap &&
         ip -n "$nsP" addr add 192.0.2.65/26 dev zb1 && ip -n "$nsP" link set zb1 up &&
         ip -n "$nsP" link add zbv0 type veth peer name zbv1 netns "$nsC" &&
         ip -n "$nsP" addr add 198.51.100.1/24 dev zbv0 && ip -n "$nsP" link set zbv0 up &&
         ip -n "$nsC" addr add 198.51.100.2/24 dev zbv1 && ip -n "$nsC" link set zbv1 up; } 2>>"$out/log.txt"
  then
    log "*** skipped: TAP/veth workloads: could not create the namespaces and links (see $out/log.txt) ***"
    tap_down
    return 1
  fi
  ip netns exec "$nsP" "$build/bench/bench_linux" --serve 0.0.0.0:5201 >"$out/.peer.out" 2>>"$out/log.txt" &
  peer_pid=$!
  for _ in $(seq 50); do
    grep -q '^ready' "$out/.peer.out" 2>/dev/null && return 0
    sleep 0.1
  done
  log "*** skipped: TAP/veth workloads: the Linux peer did not start (see $out/log.txt) ***"
  tap_down
  return 1
}

run_tap() {  # RUN IMPL
  case $2 in
    zsock-bsd|zsock-native)
      ip -n "$nsP" neigh flush dev zb0 2>/dev/null
      run_one "$1" "$2" tap ip netns exec "$nsP" -- \
        --netif tap:zb0,ip=192.0.2.2/26,gw=192.0.2.1 --peer 192.0.2.1:5201 ;;
    lwip-sock)
      ip -n "$nsP" neigh flush dev zb1 2>/dev/null
      run_one "$1" "$2" tap ip netns exec "$nsP" -- \
        --netif tap:zb1,ip=192.0.2.66/26,gw=192.0.2.65 --peer 192.0.2.65:5201 ;;
    linux)
      run_one "$1" "$2" tap ip netns exec "$nsC" -- --peer 198.51.100.1:5201 ;;
  esac
}

# ---- the runs ------------------------------------------------------------------------------
if [ $tap -eq 1 ]; then tap_up || tap=0; fi

{
  echo "runs=$runs"
  echo "smoke=$smoke"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host=$(uname -n)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  echo "cpus=$(nproc)"
  echo "loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  if commit=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD -- 2>/dev/null || commit="$commit+changes"
  else
    commit=unknown
  fi
  echo "commit=$commit"
  echo "meson_options=${opts[*]}"
  echo "impls=${avail[*]}"
  echo "tap=$tap"
  echo "extra_args=${extra[*]}"
} >"$out/meta.txt"

log "$runs run(s) of ${avail[*]}$([ $tap -eq 1 ] && echo ', loopback and TAP/veth' || echo ', loopback only'); figures in $out/"
for ((r = 1; r <= runs; r++)); do
  read -r -a ord <<<"$(order "$r")"
  for w in bulk rr,rr_paced udp,udp_paced poll; do
    echo "run $r/$runs: $w: ${ord[*]}"
    for i in "${ord[@]}"; do run_one "$r" "$i" "$w" -- --workload "$w"; done
  done
  if [ $tap -eq 1 ]; then
    echo "run $r/$runs: tap/veth: ${ord[*]}"
    for i in "${ord[@]}"; do run_tap "$r" "$i"; done
  fi
  if [ "$r" -eq 1 ]; then
    # static sizes: the same every run
    for i in "${ord[@]}"; do
      [ "$i" = zsock-native ] && [[ " ${ord[*]} " == *" zsock-bsd "* ]] && continue
      run_one 1 "$i" footprint -- --workload footprint
    done
  fi
done
tap_down
rm -f "$out/.last.csv" "$out/.peer.out"
echo "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.txt"

python3 bench/summarize.py "$out" | tee "$out/table.txt"
case $out in /*) where=$out ;; *) where=$top/$out ;; esac
echo "bench.sh: $(( $(date +%s) - t_start )) s; $failures program run(s) failed; results in $where"
[ $failures -eq 0 ]
