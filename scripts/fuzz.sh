#!/usr/bin/env bash
# The long fuzzing run (docs/fuzzing.md):
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Builds build-fuzz (CC=clang, -Dfuzz=enabled), then runs each target
# (default: all of them) for seconds-per-target (default 600), two at a time
# (ZSOCK_FUZZ_JOBS=N for another number). Each target's corpus grows in
# $ZSOCK_FUZZ_OUT/<target>/corpus (default build-fuzz/long), kept from run to
# run; the checked-in seeds in fuzz/corpus/<target>/ are read, never
# written. A crash, leak or timeout input lands in
# $ZSOCK_FUZZ_OUT/<target>/crashes/ and the target's run stops there.
# The full libFuzzer output is $ZSOCK_FUZZ_OUT/<target>.log.
#
# Prints one line per target (executions, executions per second, libFuzzer's
# cov and ft, corpus size, crash files) and exits 1 if any target crashed.
# A crash becomes a regression test once its input is copied to
# fuzz/corpus/<target>/regress-<name> (docs/fuzzing.md).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

all=(inet getaddrinfo dns netif_spec net_buf tls sockopt socks5 netif dtls)
secs=600
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (${all[*]})" >&2; exit 2; }
done
jobs=${ZSOCK_FUZZ_JOBS:-2}
dir=build-fuzz
out=${ZSOCK_FUZZ_OUT:-$top/$dir/long}

bash scripts/install-packages.sh || { echo "fuzz.sh: package installation failed" >&2; exit 1; }
bash scripts/fetch-deps.sh || { echo "fuzz.sh: fetching lwIP/BearSSL sources failed" >&2; exit 1; }

if [ -d "$dir" ]; then
  meson setup --reconfigure "$dir" -Dfuzz=enabled -Dtests=disabled -Dbuildtype=debugoptimized \
    >"$dir.setup.log" 2>&1
else
  CC=clang meson setup "$dir" -Dfuzz=enabled -Dtests=disabled -Dbuildtype=debugoptimized \
    >"$dir.setup.log" 2>&1
fi || { cat "$dir.setup.log"; echo "fuzz.sh: meson setup failed" >&2; exit 1; }
ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; echo "fuzz.sh: build failed" >&2; exit 1; }

mkdir -p "$out"
echo "fuzz.sh: ${targets[*]}, ${secs}s each, $jobs at a time, output in $out"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  echo "fuzz.sh: $t started $(date +%T)"
  ZSOCK_FUZZ_SECONDS=$secs ZSOCK_FUZZ_KEEP=1 \
    fuzz/run_target.sh "$t" "$dir/fuzz/fuzz_$t" "$top/fuzz" "$out" >"$out/$t.log" 2>&1 &
  running=$((running + 1))
done
wait

# One line per target from libFuzzer's final statistics and last status line.
rc=0
printf '%-12s %10s %8s %6s %7s %8s %s\n' target execs exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
  log=$out/$t.log
  fstat() { sed -n "s/^stat::$1:[[:space:]]*//p" "$log" | tail -n 1; }
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(find "$out/$t/corpus" -type f 2>/dev/null | wc -l)
  crashes=$(find "$out/$t/crashes" -type f 2>/dev/null | wc -l)
  printf '%-12s %10s %8s %6s %7s %8s %s\n' "$t" "$(fstat number_of_executed_units)" \
    "$(fstat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "$corp" "$crashes"
  if [ "$crashes" -gt 0 ] || grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error' "$log"; then
    rc=1
    echo "  $t: see $log and $out/$t/crashes/"
  fi
done
exit $rc
