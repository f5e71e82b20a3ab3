#!/usr/bin/env bash
# Install zsock into a scratch prefix with `meson install`, then build
# tests/consumer/main.c against it the way an outside program does:
#
#   cc main.c $(pkg-config --cflags --libs zsock)
#
# run it (it must print OK) and remove the scratch directory.
#
#   tests/consumer/run-install.sh ZSOCK_SOURCE_ROOT
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 ZSOCK_SOURCE_ROOT" >&2; exit 2; }
src=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
meson=${MESON:-meson}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zsock-consumer-inst.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# The test suite is not installed; leave it out to save build time.
"$meson" setup --prefix="$prefix" -Dtests=disabled "$tmp/build" "$src"
"$meson" compile -C "$tmp/build"
"$meson" install -C "$tmp/build" --quiet

# libdir is lib/ or lib/<multiarch>/ depending on the platform.
pc=$(find "$prefix" -name zsock.pc -path '*/pkgconfig/*')
if [ -z "$pc" ] || [ "$(printf '%s\n' "$pc" | wc -l)" -ne 1 ]; then
  echo "run-install: zsock.pc not installed exactly once: $pc" >&2
  exit 1
fi
pcdir=$(dirname "$pc")
for h in socket.h engine.h zsock_config.h; do
  [ -f "$prefix/include/zsock/$h" ] ||
    { echo "run-install: include/zsock/$h not installed" >&2; exit 1; }
done
echo "--- $pc"
cat "$pc"

cd "$here"
# shellcheck disable=SC2046  # word splitting of the pkg-config output is intended
cc -o "$tmp/consumer" main.c $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs zsock)

out=$(timeout 60 "$tmp/consumer")
printf '%s\n' "$out"
[ "$out" = OK ] || { echo "run-install: expected OK" >&2; exit 1; }
