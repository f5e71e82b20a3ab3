#!/bin/sh
# One bounded libFuzzer run of a zsock fuzz target (docs/fuzzing.md):
#
#   run_target.sh NAME EXE SRCDIR WORKDIR
#
# NAME is the target (inet, dns, ...), EXE its binary, SRCDIR the fuzz/
# source directory (seeds in SRCDIR/corpus/NAME, dictionary in
# SRCDIR/NAME.dict if there is one), WORKDIR where the run writes:
# WORKDIR/NAME/corpus (inputs it found) and WORKDIR/NAME/crashes (crash,
# leak and timeout inputs). The checked-in seeds are read, never written.
#
# Environment:
#   ZSOCK_FUZZ_SECONDS  run time, default 20 (the meson test suite 'fuzz')
#   ZSOCK_FUZZ_KEEP     1: keep WORKDIR/NAME/corpus from earlier runs and
#                       grow it (scripts/fuzz.sh); otherwise it starts empty
#
# Exit status: 0 when nothing was found, 1 for a crash, leak, timeout or
# out-of-memory input (libFuzzer's own codes 77 and 70 would read as "skipped"
# and "fail" to meson, so they are set to 1), 124 when the whole run
# overstayed its time by five minutes and was killed.
set -eu
name=$1 exe=$2 src=$3 work=$4
secs=${ZSOCK_FUZZ_SECONDS:-20}
seeds=$src/corpus/$name
dir=$work/$name

if [ "${ZSOCK_FUZZ_KEEP:-0}" != 1 ]; then
	rm -rf "$dir/corpus"
fi
mkdir -p "$dir/corpus" "$dir/crashes"

# Longest input worth trying, per target: a few times what the parser can
# use, so the fuzzer does not spend its time on megabyte strings.
case $name in
inet) max_len=128 ;;
netif_spec) max_len=512 ;;
getaddrinfo) max_len=512 ;;
dns) max_len=1024 ;;
net_buf) max_len=512 ;;
sockopt) max_len=2048 ;;
socks5) max_len=1024 ;;
netif) max_len=4096 ;;
*) max_len=4096 ;;
esac

set -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -max_len="$max_len" \
	-error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$dir/crashes/"
if [ -f "$src/$name.dict" ]; then
	set -- "$@" -dict="$src/$name.dict"
fi
# New inputs go to the first directory given: the work corpus, not the seeds.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
echo "run_target.sh: $name for ${secs}s, seeds $seeds, work $dir"
exec timeout --kill-after=10 $((secs + 300)) "$exe" "$@" "$dir/corpus" "$seeds"
