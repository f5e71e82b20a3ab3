#!/usr/bin/env bash
# Set everything up and show the engine doing a real job, as root:
#
#   scripts/demo.sh
#
# Installs what is missing, builds zsock, then creates a network namespace
# with a TAP device (Linux side 192.0.2.1 / 2001:db8::1), starts the
# echo_server sample on the engine attached to that TAP (192.0.2.2 /
# 2001:db8::2), and talks to it with the Linux kernel's own sockets (socat,
# ping). Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "demo.sh: needs root (network namespace and TAP device)" >&2
  exit 1
fi
bash scripts/install-packages.sh
bash scripts/fetch-deps.sh
[ -d build-demo ] || meson setup build-demo -Dtests=disabled -Dbuildtype=debugoptimized >/dev/null
ninja -C build-demo samples/echo_server >/dev/null

ns="zsock-demo-$$"
log=$(mktemp)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

run() { ip netns exec "$ns" "$@"; }
ip netns add "$ns"
run ip link set lo up
run ip tuntap add dev zt0 mode tap
run ip addr add 192.0.2.1/24 dev zt0
run ip -6 addr add 2001:db8::1/64 dev zt0 nodad
run ip link set zt0 up

echo "--- starting echo_server on the engine: 192.0.2.2 and 2001:db8::2 over TAP zt0"
ZSOCK_NETIF="tap:zt0,ip=192.0.2.2/24,gw=192.0.2.1,ip6=2001:db8::2/64" \
  ip netns exec "$ns" build-demo/samples/echo_server 7 15 >"$log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q '^echo_server:' "$log" && break; sleep 0.1; done
cat "$log"

status=0
check() {
  local what=$1 expect=$2; shift 2
  local got
  got=$("$@" 2>&1) || true
  if [ "$got" = "$expect" ]; then
    echo "ok:   $what -> '$got'"
  else
    echo "FAIL: $what -> '$got' (expected '$expect')"; status=1
  fi
}
echo "--- Linux clients talking to the engine"
check "ping 192.0.2.2" "1" sh -c "ip netns exec $ns ping -c1 -W2 192.0.2.2 | grep -c ' 0% packet loss'"
check "ping 2001:db8::2" "1" sh -c "ip netns exec $ns ping -6 -c1 -W2 2001:db8::2 | grep -c ' 0% packet loss'"
check "TCP/IPv4 echo (socat)" "hello over TCP/IPv4" \
  sh -c "echo 'hello over TCP/IPv4' | ip netns exec $ns socat -t2 - TCP4:192.0.2.2:7"
check "TCP/IPv6 echo (socat)" "hello over TCP/IPv6" \
  sh -c "echo 'hello over TCP/IPv6' | ip netns exec $ns socat -t2 - 'TCP6:[2001:db8::2]:7'"
check "UDP/IPv4 echo (socat)" "hello over UDP/IPv4" \
  sh -c "echo 'hello over UDP/IPv4' | ip netns exec $ns socat -t2 - UDP4:192.0.2.2:7"
check "UDP/IPv6 echo (socat)" "hello over UDP/IPv6" \
  sh -c "echo 'hello over UDP/IPv6' | ip netns exec $ns socat -t2 - 'UDP6:[2001:db8::2]:7'"
big=$(mktemp)
head -c 1048576 /dev/urandom >"$big"
check "TCP/IPv4 echo of 1 MiB (sha256 compared)" "$(sha256sum <"$big")" \
  sh -c "ip netns exec $ns socat -t5 - TCP4:192.0.2.2:7 <'$big' | sha256sum"
rm -f "$big"

kill -INT "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
server=""
echo "--- what the server printed"
grep -v '^echo_server:' "$log" | sort | uniq -c | sort -rn
[ $status = 0 ] && echo "demo: all checks passed" || echo "demo: some checks FAILED"
exit $status
