#!/usr/bin/env bash
# Build tests/consumer/project as an outside project that has zsock under its
# subprojects/, following the steps given to users:
#
#   ln -s /path/to/zsock subprojects/zsock      (or a checkout / a wrap)
#   subprojects/zsock/scripts/fetch-deps.sh
#   meson setup build && meson compile -C build
#
# then run the program (it must print OK) and remove the scratch directory.
#
#   tests/consumer/run-subproject.sh ZSOCK_SOURCE_ROOT
#
# fetch-deps.sh puts lwIP and BearSSL in ZSOCK_SOURCE_ROOT/subprojects/ (zsock's
# own wraps look there); when they are already present it returns at once.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 ZSOCK_SOURCE_ROOT" >&2; exit 2; }
src=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
meson=${MESON:-meson}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zsock-consumer-sp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

proj=$tmp/consumer
mkdir -p "$proj/subprojects"
cp "$here/project/meson.build" "$here/main.c" "$proj/"
ln -s "$src" "$proj/subprojects/zsock"

cd "$proj"
subprojects/zsock/scripts/fetch-deps.sh

# --force-fallback-for only makes sure that a zsock installed on this machine
# (pkg-config) cannot stand in for the subproject under test; users need not
# pass it.
"$meson" setup --force-fallback-for=zsock "$tmp/build" "$proj"
"$meson" compile -C "$tmp/build"

out=$(timeout 60 "$tmp/build/consumer")
printf '%s\n' "$out"
[ "$out" = OK ] || { echo "run-subproject: expected OK" >&2; exit 1; }
