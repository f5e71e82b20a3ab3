#!/usr/bin/env bash
# Install the Debian packages zsock needs to build and test on the host.
#
#   scripts/install-packages.sh
#
# Idempotent: when everything is already installed it returns without
# touching apt. Optional packages are tried one by one after the required
# ones and may fail without failing the script.
set -euo pipefail

# Every package the project needs; a trailing "?" marks a nice-to-have whose
# installation may fail (or be skipped) without failing the script.
PACKAGES=(
  meson ninja-build pkg-config
  gcc clang libclang-rt-14-dev
  libcriterion-dev
  dpkg-dev patch
  dnsmasq-base
  iproute2 iptables libnetfilter-queue-dev libmnl-dev
  socat netcat-openbsd "tshark?"
  microsocks
  openssl
  python3
  "gdb?"
  valgrind
  liblwip-dev gnuplot-nox
  gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm
)

log() { printf 'install-packages: %s\n' "$*" >&2; }

is_installed() {
  dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed
}

missing=()
missing_optional=()
for entry in "${PACKAGES[@]}"; do
  p=${entry%\?}
  is_installed "$p" && continue
  if [ "$p" = "$entry" ]; then
    missing+=("$p")
  else
    missing_optional+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
  log "all packages installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "error: run as root to install: ${missing[*]} ${missing_optional[*]}"; exit 1; }
  SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -qq --no-install-recommends
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${SUDO[@]}" apt-get update -qq

if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "${missing[@]}"
fi

for p in "${missing_optional[@]}"; do
  log "installing optional $p"
  # tshark asks (debconf) whether non-root users may capture; with the
  # noninteractive frontend the default answer (no) is taken.
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "$p" </dev/null; then
    log "warning: optional package $p not installed"
  fi
done
