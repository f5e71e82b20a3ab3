#!/bin/sh
# Run every test of an on-target image in a QEMU boot of its own, as the
# host runs each test in a process of its own. The bare-metal runner
# (tests/crshim/runner_baremetal.c) runs all the tests of an image in one
# boot, so a test that assumes a fresh engine or fresh globals can fail
# only because of the tests before it; this shows whether it does.
#
#   each_test.sh QEMU_RUN IMAGE.elf [RUNNER ARGS...]
#
# Lists the tests (IMAGE --list: "suite::name" or "suite::name[k]" lines),
# then runs IMAGE --filter suite/name for each (all the parameters of a
# parameterized test in one boot). Exits 0 when every boot passed, 1
# otherwise (or when nothing could be listed).
set -u
qemu_run=$1 img=$2
shift 2
list=$("$qemu_run" "$img" --list 2>/dev/null) || {
	echo "each_test: $img --list failed" >&2
	exit 1
}
names=$(printf '%s\n' "$list" | tr -d '\r' |
	sed -n 's/^\([A-Za-z0-9_]*\)::\([A-Za-z0-9_]*\)\(\[[0-9]*\]\)\{0,1\}\( (disabled)\)\{0,1\}$/\1\/\2/p' |
	uniq)
if [ -z "$names" ]; then
	echo "each_test: $img lists no tests" >&2
	exit 1
fi
n=0 failed=
for t in $names; do
	n=$((n + 1))
	"$qemu_run" "$img" --filter "$t" "$@" || failed="$failed $t"
done
if [ -n "$failed" ]; then
	echo "each_test: $n tests, failed:$failed" >&2
	exit 1
fi
echo "each_test: $n tests, one boot each, all passed"
