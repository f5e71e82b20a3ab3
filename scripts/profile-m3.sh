#!/usr/bin/env bash
# Where the guest's instructions go, per function, for one workload on one
# path of the board's benchmark image (docs/cortex-m3.md, "Benchmarks"):
#
#   scripts/profile-m3.sh [--build DIR] [--keep] PATH WORKLOAD [AMOUNT] [-- ARGS]
#
#   PATH       bsd | native | raw (the image's three servers)
#   WORKLOAD   echo | discard (AMOUNT bytes, default 256K) or rr1 | rr1k
#              (AMOUNT requests, default 400)
#   --build DIR  the cross build (default build-m3-bench, as bench-m3.sh)
#   --keep     keep the QEMU log (tens of MB) in bench-results/m3-profile/
#   ARGS       passed to bench/m3/profile_m3.py (--top K, --diff F, --tsv F)
#
# Boots bench_servers.elf under QEMU with -d in_asm,exec,nochain (every
# translation block entered is logged; no -icount, see profile_m3.py),
# runs bench/m3/m3_client once, and prints per function the instructions
# and calls per byte or per request, counted between the client's two
# stats queries. Exact counts, not samples; the run is slow (QEMU logs
# every block), so keep AMOUNT small: 256 KiB of echo logs about 0.7 M
# blocks. Write one path's --tsv and --diff another against it to see what
# a path costs beyond lwIP's raw API.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
build=build-m3-bench keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { sed -n '2,22p' "$0" >&2; exit 2; }
path=$1 wl=$2; shift 2
amount=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then amount=$1; shift; fi
[ "${1:-}" = "--" ] && shift
elf=$build/boards/lm3s6965evb/bench_servers.elf
client=$build/bench/m3/m3_client
ninja -C "$build" boards/lm3s6965evb/bench_servers.elf bench/m3/m3_client >/dev/null
declare -A ECHO=([bsd]=7 [native]=1007 [raw]=2007) DISC=([bsd]=9 [native]=1009 [raw]=2009)
[ -n "${ECHO[$path]:-}" ] || { echo "profile-m3: path is bsd, native or raw" >&2; exit 2; }
out=$(mktemp -d)
trap 'kill $qpid 2>/dev/null || true; [ $keep = 1 ] || rm -rf "$out"' EXIT
base=$((30000 + RANDOM % 20000)) nic=user,model=stellaris,restrict=on
declare -A host
for p in 7 9 1007 1009 2007 2009 4242; do
  host[$p]=$((base + p % 100 + (p / 1000) * 100))
  nic="$nic,hostfwd=tcp:127.0.0.1:${host[$p]}-:$p"
done
qemu-system-arm -M lm3s6965evb -display none -monitor none -serial "file:$out/console.log" \
  -semihosting-config enable=on,target=native -nic "$nic" \
  -d in_asm,exec,nochain -D "$out/qemu.log" -kernel "$elf" </dev/null 2>"$out/qemu.err" &
qpid=$!
for _ in $(seq 300); do
  grep -q "^bench_servers:" "$out/console.log" 2>/dev/null && break
  sleep 0.1
done
case $wl in
  echo)    per=${amount:-262144}; args=(--port "${host[${ECHO[$path]}]}" --workload echo --bytes "$per") ;;
  discard) per=${amount:-262144}; args=(--port "${host[${DISC[$path]}]}" --workload discard --bytes "$per") ;;
  rr1)     per=${amount:-400}; args=(--port "${host[${ECHO[$path]}]}" --workload rr --size 1 --count "$per" --warmup 0) ;;
  rr1k)    per=${amount:-400}; args=(--port "${host[${ECHO[$path]}]}" --workload rr --size 1024 --count "$per" --warmup 0) ;;
  *) echo "profile-m3: workload is echo, discard, rr1 or rr1k" >&2; exit 2 ;;
esac
"$client" "${args[@]}" --stats-port "${host[4242]}" --timeout 300 >"$out/client.log"
sleep 0.5
kill $qpid 2>/dev/null || true
wait $qpid 2>/dev/null || true
unit=byte; case $wl in rr*) unit=request ;; esac
echo "profile-m3: $path $wl, $per ${unit}s; figures per $unit"
python3 bench/m3/profile_m3.py "$elf" "$out/qemu.log" --per "$per" "$@"
if [ $keep = 1 ]; then
  mkdir -p bench-results/m3-profile
  mv "$out/qemu.log" "bench-results/m3-profile/qemu-$path-$wl.log"
fi
