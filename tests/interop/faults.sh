#!/bin/sh
# Run the fault matrix (test_faults.c, docs/faults.md) and print its table.
#
#   faults.sh TEST_FAULTS REPORT_DIR [runner options...]
#
# Empties REPORT_DIR, runs TEST_FAULTS with ZSOCK_FAULTS_DIR=REPORT_DIR,
# a per-test timeout (--timeout 500, or 4200 under ZSOCK_FAULTS_FULL=1;
# options given here come after it and win) and the runner options
# (-j2, --filter 'faults/loss*', ...), then prints REPORT_DIR/faults.md,
# the markdown table every test of the run added its rows to. The exit
# status is the runner's.
bin=$1 dir=$2
if [ -z "$bin" ] || [ -z "$dir" ]; then
  echo "usage: faults.sh TEST_FAULTS REPORT_DIR [runner options]" >&2
  exit 2
fi
shift 2
timeout=500
[ "${ZSOCK_FAULTS_FULL:-}" = 1 ] && timeout=4200
rm -rf "$dir" && mkdir -p "$dir" || exit 1
start=$(date +%s)
ZSOCK_FAULTS_DIR=$dir "$bin" --timeout "$timeout" "$@"
rc=$?
echo
if [ -f "$dir/faults.md" ]; then
  cat "$dir/faults.md"
  echo
  echo "faults.sh: table in $dir/faults.md; $(( $(date +%s) - start )) s, status $rc"
else
  echo "faults.sh: no table (every test skipped or failed before its figures); status $rc"
fi
exit $rc
