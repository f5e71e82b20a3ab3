#!/bin/sh
# Run a crshim test program under Valgrind's Helgrind (the meson suite
# 'helgrind'; tests/helgrind/README.md):
#
#   run.sh [--expect-errors] SUPPRESSIONS PROGRAM [crshim options...]
#
# The program's tests run one at a time (-j1), each in a child that crshim
# forks; Valgrind follows a fork by itself (crshim never execs the child,
# so no --trace-children). --error-exitcode=1 makes a child with a Helgrind
# error exit 1 after its test, which crshim counts as a failure of that
# test, so the exit status is crshim's: 0 when every test passed with no
# Helgrind error. Each process's Valgrind output goes to a file of its own;
# the files that hold errors are printed after the run, then a summary.
#
# --expect-errors (the canary): pass only if Helgrind reported a data race.
# Without valgrind: "skipped: ..." and exit 77 (meson's skip).
set -u
expect=0
if [ "${1:-}" = --expect-errors ]; then
	expect=1
	shift
fi
supp=$1 prog=$2
shift 2
if ! command -v valgrind >/dev/null 2>&1; then
	echo "skipped: valgrind is not installed (scripts/install-packages.sh installs it)"
	exit 77
fi
logs=$(mktemp -d "${TMPDIR:-/tmp}/zsock-helgrind.XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
# On a timeout crshim would attach gdb to the child: under Valgrind that
# shows only Valgrind's own frames, and costs up to a minute.
CRSHIM_NO_STACKS=1 valgrind --tool=helgrind --error-exitcode=1 \
	--suppressions="$supp" --log-file="$logs/%p.log" \
	"$prog" -j1 "$@"
rc=$?
errors=0 procs=0
for f in "$logs"/*.log; do
	[ -e "$f" ] || continue
	n=$(sed -n 's/.*ERROR SUMMARY: \([0-9][0-9]*\) errors.*/\1/p' "$f" | tail -n 1)
	if [ "${n:-0}" -gt 0 ] || ! grep -q 'ERROR SUMMARY' "$f"; then
		echo "==== helgrind log $(basename "$f") (${n:-incomplete: the process was killed})" >&2
		cat "$f" >&2
	fi
	errors=$((errors + ${n:-0}))
	procs=$((procs + 1))
done
echo "helgrind: $errors error(s) in $procs process(es) of $(basename "$prog")" >&2
if [ $expect -eq 1 ]; then
	if [ "$errors" -gt 0 ] && grep -q 'Possible data race' "$logs"/*.log; then
		echo "helgrind: the canary's races were reported, as they must be" >&2
		exit 0
	fi
	echo "helgrind: the canary's races were NOT reported: the suite cannot see races" >&2
	exit 1
fi
[ $rc -eq 0 ] && [ "$errors" -gt 0 ] && rc=1
exit $rc
