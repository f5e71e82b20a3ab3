#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine, as root:
#
#   scripts/test.sh
#
# Installs what is missing (Debian packages, lwIP and BearSSL source
# packages), then builds and runs `meson test` once per configuration: a
# plain build, ASan+UBSan, TSan (the tests built against tests/crshim, see
# there), helgrind (the multi-threaded loopback tests under Valgrind's
# Helgrind, a crshim build without sanitizers, only suite 'helgrind', 2 to
# 3.5 minutes: tests/helgrind/README.md, docs/reliability.md), fuzz (clang,
# the libFuzzer targets of fuzz/, each run for ZSOCK_FUZZ_SECONDS, default
# 20, over its seeds: docs/fuzzing.md), and the Cortex-M3 builds m3 and
# m3tls (QEMU).
# Root-only tests (TAP, network namespaces) run when
# the caller is root and say "skipped: <reason>" otherwise.
#
# ZSOCK_TEST_CONFIGS="plain asan" restricts the configurations.
# The last line is the total over all configurations: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

bash scripts/install-packages.sh || { echo "test.sh: package installation failed" >&2; exit 1; }
bash scripts/fetch-deps.sh || { echo "test.sh: fetching lwIP/BearSSL sources failed" >&2; exit 1; }

configs=${ZSOCK_TEST_CONFIGS:-plain asan tsan helgrind fuzz m3 m3tls}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

total_ok=0 total_fail=0 total_skip=0 rc=0
for cfg in $configs; do
  dir="build-test-$cfg"
  tests=(-Dtests=enabled) cc=${CC:-} suite=()
  case $cfg in
    plain) opts=(-Dbuildtype=debugoptimized) ;;
    asan)  opts=(-Dbuildtype=debug -Db_sanitize=address,undefined) ;;
    # Criterion 2.4 cannot start under TSan (upstream issue #274): the same
    # test sources build against tests/crshim, a compatible runner.
    tsan)  opts=(-Dbuildtype=debugoptimized -Db_sanitize=thread -Dcriterion_shim=true) ;;
    # Helgrind (valgrind) on crshim, which runs each test in a forked child
    # that Valgrind follows; no sanitizer (Valgrind and a sanitizer's
    # runtime exclude each other). Only suite 'helgrind': the engine and the
    # multi-threaded tests built again with tests/helgrind/hg_model.h.
    helgrind) opts=(-Dbuildtype=debugoptimized -Db_sanitize=none -Dcriterion_shim=true)
              suite=(--suite helgrind) ;;
    # libFuzzer needs clang; the targets carry their own sanitizers, and
    # only suite 'fuzz' runs (about 1 minute plus the build).
    fuzz)  opts=(-Dbuildtype=debugoptimized -Dfuzz=enabled) tests=(-Dtests=disabled) cc=clang
           suite=(--suite fuzz) ;;
    # the Cortex-M3 cross build: on-target images in QEMU (exe wrapper),
    # the board's samples against host clients (docs/cortex-m3.md)
    m3)    opts=(--cross-file boards/lm3s6965evb/cross.ini -Dbuildtype=minsize) tests=() ;;
    # the same board with TLS (tls.ini: one TLS connection in 64 KiB): the
    # board as a TLS client of openssl s_server; only suite m3tls, since the
    # other images' tests need cross.ini's socket counts and buffer sizes
    m3tls) opts=(--cross-file boards/lm3s6965evb/cross.ini --cross-file boards/lm3s6965evb/tls.ini
                 -Dbuildtype=minsize) tests=() suite=(--suite m3tls) ;;
    *) echo "test.sh: unknown configuration $cfg" >&2; exit 2 ;;
  esac
  echo "=== $cfg: configure and build ($dir)"
  if [ -d "$dir" ]; then
    # a cross file is fixed when the directory is made
    case $cfg in m3|m3tls) opts=(-Dbuildtype=minsize) ;; esac
    meson setup --reconfigure "$dir" "${tests[@]}" "${opts[@]}" >"$dir.setup.log" 2>&1
  else
    env ${cc:+CC="$cc"} meson setup "$dir" "${tests[@]}" "${opts[@]}" >"$dir.setup.log" 2>&1
  fi || { cat "$dir.setup.log"; echo "test.sh: $cfg: meson setup failed" >&2; total_fail=$((total_fail + 1)); rc=1; continue; }
  if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
    tail -50 "$dir.build.log"
    echo "test.sh: $cfg: build failed" >&2
    total_fail=$((total_fail + 1)); rc=1; continue
  fi
  echo "=== $cfg: meson test"
  # the consumer suite builds zsock from scratch without sanitizers: once is enough
  extra=("${suite[@]}")
  [ "$cfg" = plain ] || [ ${#suite[@]} -gt 0 ] || extra=(--no-suite consumer)
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${extra[@]}" 2>&1 | tee "$dir.test.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  # meson's summary: "Ok: N", "Fail: N", "Skipped: N", "Timeout: N", ...
  get() { sed -n "s/^$1:[[:space:]]*\([0-9][0-9]*\)[[:space:]]*\$/\1/p" "$dir.test.log" | tail -n 1; }
  ok=$(get Ok); fail=$(get Fail); skip=$(get Skipped); tmo=$(get Timeout); up=$(get 'Unexpected Pass')
  ok=${ok:-0}; fail=${fail:-0}; skip=${skip:-0}; tmo=${tmo:-0}; up=${up:-0}
  echo "=== $cfg: $ok passed, $((fail + tmo + up)) failed, $skip skipped"
  total_ok=$((total_ok + ok)); total_fail=$((total_fail + fail + tmo + up)); total_skip=$((total_skip + skip))
done
cd "$top"
echo "$total_ok passed, $total_fail failed, $total_skip skipped"
exit $rc
