#!/usr/bin/env bash
# End-to-end check of the samples against real Linux peers on the far side
# of a TAP device (meson test samples, suites interop and samples):
#
#   samples/samples_test.sh BUILD/samples/tls_echo_server BUILD/samples/https_get \
#                           BUILD/samples/gateway_forward
#
# The engine's loopback lives inside one process, so two programs cannot
# meet there: each sample runs on the engine attached to a TAP device in a
# network namespace this script makes (and deletes), and its peers run on
# the Linux side of that device:
#
#   Linux (kernel)                        engine (zsock over lwIP)
#   zt0 192.0.2.1/24 2001:db8::1/64       tap:zt0 192.0.2.2/24 2001:db8::2/64
#   openssl s_client, socat, s_server,    tls_echo_server, https_get,
#   dnsmasq (server.test, server4.test),  gateway_forward (which also opens
#   an upstream echo on 127.0.0.1:9000    host sockets in the namespace)
#
# Only documentation addresses and the namespace's loopback exist there, and
# it has no link out. The PKI is made with the openssl CLI in a temporary
# directory (SAMPLES_KEEP=1 keeps it, with every program's output).
# Needs root, ip, openssl, socat and dnsmasq: without them it prints
# "skipped: <reason>" and exits 77 (meson's skip), or fails when
# ZSOCK_TEST_REQUIRE_INTEROP=1. One line per check; exit 1 if one failed.
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 TLS_ECHO_SERVER HTTPS_GET GATEWAY_FORWARD" >&2; exit 2; }
echo_server=$(realpath "$1")
https_get=$(realpath "$2")
gateway=$(realpath "$3")

skip() {
  if [ "${ZSOCK_TEST_REQUIRE_INTEROP:-0}" = 1 ]; then
    echo "FAIL: cannot run ($1) and ZSOCK_TEST_REQUIRE_INTEROP=1"
    echo "FAIL: cannot run ($1) and ZSOCK_TEST_REQUIRE_INTEROP=1" >&2
    exit 1
  fi
  echo "skipped: $1"
  echo "skipped: $1" >&2
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and TAP device)"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
for tool in ip openssl socat dnsmasq sha256sum timeout; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-packages.sh)"
done

ns="zsock-s-$$"
netif="tap:zt0,ip=192.0.2.2/24,gw=192.0.2.1,ip6=2001:db8::2/64"
dir=$(mktemp -d /tmp/zsock-samples-XXXXXX)
pids=()
status=0

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  if [ "${SAMPLES_KEEP:-0}" = 1 ]; then echo "kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
# namespaces of runs that died
for old in $(ip netns list 2>/dev/null | awk '/^zsock-s-[0-9]+/ {print $1}'); do
  kill -0 "${old#zsock-s-}" 2>/dev/null || ip netns del "$old" 2>/dev/null
done

run() { ip netns exec "$ns" "$@"; }
ok() { echo "ok:   $1"; }
fail() { echo "FAIL: $1"; status=1; }
# check WHAT COMMAND...: the command's status decides
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# ---- the PKI ------------------------------------------------------------------
make_pki() (
  set -e
  cd "$dir"
  exec >pki.log 2>&1
  ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
  rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"; }
  printf '%s\n' 'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign' >ca.ext
  printf '%s\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature, keyEncipherment' \
    'extendedKeyUsage = serverAuth' \
    'subjectAltName = DNS:server.test, DNS:server4.test, IP:192.0.2.1, IP:192.0.2.2, IP:2001:db8::2' >server.ext
  printf '%s\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
    'extendedKeyUsage = clientAuth' 'subjectAltName = DNS:client.test' >client.ext
  # selfsigned NAME CN / signed NAME CN EXT CA
  selfsigned() { openssl req -new -x509 -key "$1.key" -subj "/CN=$2" -days 30 -sha256 \
    -addext 'basicConstraints = critical, CA:TRUE' -addext 'keyUsage = critical, keyCertSign, cRLSign' -out "$1.pem"; }
  signed() { openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -days 30 -sha256 \
      -extfile "$3" -out "$1.pem"; }
  ec ca && selfsigned ca "zsock samples test CA"
  ec other_ca && selfsigned other_ca "some other CA"
  ec server && signed server server.test server.ext ca          # the echo server's (ECDSA)
  rsa web && signed web server.test server.ext ca                # s_server's (RSA)
  ec client && signed client client.test client.ext ca
  openssl x509 -in ca.pem -outform DER -out ca.der
)
make_pki || { cat "$dir/pki.log"; echo "FAIL: making the PKI with openssl"; exit 1; }

# ---- the namespace ---------------------------------------------------------------
ip netns add "$ns" || skip "cannot create a network namespace"
run ip link set lo up
run ip tuntap add dev zt0 mode tap || skip "cannot create a TAP device"
run ip addr add 192.0.2.1/24 dev zt0
run ip -6 addr add 2001:db8::1/64 dev zt0 nodad
run ip link set zt0 up

# start NAME CMD...: in the namespace, in the background, output to $dir/NAME.log
start() {
  local name=$1; shift
  ip netns exec "$ns" "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
  last_pid=$!
}
# stop PID: SIGTERM, then the exit status
stop() {
  kill -TERM "$1" 2>/dev/null
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  local p keep=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
  return $rc
}
wait_line() { # FILE PATTERN: up to 10 s
  local i
  for i in $(seq 100); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# tls_client OUT ADDR:PORT MESSAGE [s_client options]: send MESSAGE, keep the
# connection for a moment (the echo comes back), then close; OUT gets what
# came back, OUT.err s_client's report
tls_client() {
  local out=$1 to=$2 msg=$3; shift 3
  { printf '%s\n' "$msg"; sleep "${hold:-1}"; } |
    run timeout 20 openssl s_client -connect "$to" -CAfile "$dir/ca.pem" -verify_return_error \
      -verify_hostname server.test -servername server.test -brief -no_ign_eof -nocommands "$@" \
      >"$out" 2>"$out.err"
}

# ---- tls_echo_server ---------------------------------------------------------------
echo "--- tls_echo_server on the engine (192.0.2.2, 2001:db8::2 port 4433), OpenSSL clients"
start echo env ZSOCK_NETIF="$netif" "$echo_server" --cert "$dir/server.pem" --key "$dir/server.key"
srv=$last_pid
if ! wait_line "$dir/echo.log" '^tls_echo_server: listening'; then
  cat "$dir/echo.log"; echo "FAIL: tls_echo_server did not start"; exit 1
fi
head -1 "$dir/echo.log"
capacity=$(sed -n 's/.*room for \([0-9][0-9]*\) TLS clients in this build.*/\1/p' "$dir/echo.log" | head -1)
[ -n "$capacity" ] || { cat "$dir/echo.log"; echo "FAIL: no capacity line"; exit 1; }

tls_client "$dir/c4" 192.0.2.2:4433 "hello over TLS/IPv4"
check "s_client IPv4: verified handshake and echo" grep -qx "hello over TLS/IPv4" "$dir/c4"
check "s_client IPv4: TLS 1.2" grep -q "Protocol version: TLSv1.2" "$dir/c4.err"
grep -m1 "Ciphersuite" "$dir/c4.err" | sed 's/^/      /'
tls_client "$dir/c6" '[2001:db8::2]:4433' "hello over TLS/IPv6"
check "s_client IPv6: verified handshake and echo" grep -qx "hello over TLS/IPv6" "$dir/c6"

# The client holds the connection until the echo is back: in TLS 1.2 a
# close_notify ends both directions (RFC 5246 7.2.1; BearSSL discards what
# it would still send), so a client that half-closes (socat) loses the tail.
head -c 1048576 /dev/urandom >"$dir/big"
{ cat "$dir/big"; sleep 3; } |
  run timeout 30 openssl s_client -connect 192.0.2.2:4433 -CAfile "$dir/ca.pem" -verify_return_error \
    -verify_hostname server.test -servername server.test -quiet -no_ign_eof -nocommands \
    >"$dir/big.back" 2>"$dir/big.err"
check "1 MiB echoed back intact (s_client, sha256)" \
  test "$(sha256sum <"$dir/big")" = "$(sha256sum <"$dir/big.back")"

# as many clients at once as the build has TLS sockets and sessions for,
# all echoed; one more is refused for want of one, and the server goes on
cpids=()
for i in $(seq "$capacity"); do
  hold=3 tls_client "$dir/m$i" 192.0.2.2:4433 "client $i of $capacity" &
  cpids+=($!)
done
sleep 1
hold=0 tls_client "$dir/extra" 192.0.2.2:4433 "one too many"
extra_rc=$?
for p in "${cpids[@]}"; do wait "$p"; done
all=1
for i in $(seq "$capacity"); do grep -qx "client $i of $capacity" "$dir/m$i" || all=0; done
check "$capacity clients at once (the build's TLS capacity), each echoed" test $all = 1
check "one client more: refused (no TLS socket or session), logged" \
  sh -c "[ $extra_rc != 0 ] && grep -q 'no TLS socket or session free' '$dir/echo.log'"
tls_client "$dir/after" 192.0.2.2:4433 "still serving"
check "a client after that: served" grep -qx "still serving" "$dir/after"

tls_client "$dir/wrongname" 192.0.2.2:4433 "x" -verify_hostname not-this.test
rc=$?
check "s_client checking another name: refused by the client" \
  sh -c "[ $rc != 0 ] && ! grep -q x '$dir/wrongname'"

stop "$srv"; rc=$?
check "tls_echo_server: SIGTERM stops it cleanly (exit 0)" test "$rc" = 0
check "tls_echo_server: every client closed by the client" \
  sh -c "! grep 'closed' '$dir/echo.log' | grep -v -e 'by the client' -e 'handshake failed' -e 'left during the handshake' | grep -q ."

echo "--- tls_echo_server --ca --verify: client certificates"
start echov env ZSOCK_NETIF="$netif" "$echo_server" --cert "$dir/server.pem" --key "$dir/server.key" \
  --ca "$dir/ca.der" --verify --port 4434
srv=$last_pid
wait_line "$dir/echov.log" '^tls_echo_server: listening' || fail "tls_echo_server --verify did not start"
tls_client "$dir/cc" 192.0.2.2:4434 "with a certificate" -cert "$dir/client.pem" -key "$dir/client.key"
check "client with a certificate from the CA: echoed" grep -qx "with a certificate" "$dir/cc"
check "  and the server logged it verified" grep -q "client certificate verified" "$dir/echov.log"
tls_client "$dir/nc" 192.0.2.2:4434 "without a certificate"
rc=$?
check "client without a certificate: refused" sh -c "[ $rc != 0 ] && ! grep -q certificate '$dir/nc'"
check "  and the server logged the failed handshake" grep -q "handshake failed" "$dir/echov.log"
stop "$srv"
sed 's/^/      echo server: /' "$dir/echov.log" | head -20

# ---- https_get --------------------------------------------------------------------------
echo "--- https_get on the engine against openssl s_server -www (RSA) on 192.0.2.1 / 2001:db8::1"
start dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
  --pid-file= --log-facility=- --bind-interfaces --port=53 --listen-address=192.0.2.1 \
  --host-record=server.test,192.0.2.1,2001:db8::1 --host-record=server4.test,192.0.2.1
# s_server listens on one family: one for each
start web4 openssl s_server -accept 0.0.0.0:4443 -cert "$dir/web.pem" -key "$dir/web.key" -www -alpn http/1.1
start web6 openssl s_server -accept '[::]:4443' -cert "$dir/web.pem" -key "$dir/web.key" -www -alpn http/1.1
wait_line "$dir/web4.log" 'ACCEPT' || fail "openssl s_server (IPv4) did not start"
wait_line "$dir/web6.log" 'ACCEPT' || fail "openssl s_server (IPv6) did not start"
sleep 0.5   # dnsmasq

hget() { # OUT ARGS...: https_get on the engine; status, OUT and OUT.err
  local out=$1; shift
  run env ZSOCK_NETIF="$netif" ZSOCK_DNS=192.0.2.1 timeout 30 "$https_get" "$@" >"$out" 2>"$out.err"
}
hget "$dir/g1" --ca "$dir/ca.pem" server.test:4443 /
rc=$?
check "https_get server.test (AAAA first: IPv6), CA PEM: exit 0" test $rc = 0
check "  the response came to stdout" grep -q "^HTTP/1.0 200 ok" "$dir/g1"
check "  the suite went to stderr" grep -q "cipher suite 0x[0-9A-F]\{4\} TLS_ECDHE_RSA_" "$dir/g1.err"
sed 's/^/      /' "$dir/g1.err"
hget "$dir/g2" --ca "$dir/ca.der" --alpn h2,http/1.1 server4.test:4443 /index.html
rc=$?
check "https_get server4.test (IPv4), CA DER, ALPN h2,http/1.1: exit 0" test $rc = 0
check "  ALPN http/1.1 negotiated" grep -q "ALPN http/1.1" "$dir/g2.err"
check "  the response came to stdout" grep -q "^HTTP/1.0 200 ok" "$dir/g2"
hget "$dir/g3" --ca "$dir/other_ca.pem" server.test:4443
rc=$?
check "https_get with another CA: refused, exit 1, says why" \
  sh -c "[ $rc = 1 ] && grep -q 'not signed by a trusted CA' '$dir/g3.err'"
sed 's/^/      /' "$dir/g3.err"
hget "$dir/g4" -k 192.0.2.1:4443
rc=$?
check "https_get -k 192.0.2.1 (no verification): exit 0" \
  sh -c "[ $rc = 0 ] && grep -q '^HTTP/1.0 200 ok' '$dir/g4' && grep -q 'NOT verified' '$dir/g4.err'"
hget "$dir/g5" --ca "$dir/ca.pem" '[2001:db8::1]:4443'
rc=$?
# BearSSL matches DNS names only: an address does not verify, even with
# the certificate's IP SAN (the limit https_get documents)
check "https_get [2001:db8::1] with verification: refused (DNS names only), exit 1" \
  sh -c "[ $rc = 1 ] && grep -q 'DNS names only' '$dir/g5.err'"
hget "$dir/g6" --ca "$dir/ca.pem" nosuch.test:4443
rc=$?
check "https_get nosuch.test: name not found, exit 1" test $rc = 1
hget "$dir/g7" --ca "$dir/ca.pem" server4.test:4444
rc=$?
check "https_get to a closed port: connection refused, exit 1" \
  sh -c "[ $rc = 1 ] && grep -q 'refused' '$dir/g7.err'"

# ---- gateway_forward ------------------------------------------------------------------------
echo "--- gateway_forward: clients of the engine (192.0.2.2:8080) forwarded through hostsock to 127.0.0.1:9000"
start upstream socat TCP-LISTEN:9000,bind=127.0.0.1,reuseaddr,fork EXEC:cat
up=$last_pid
start gw env ZSOCK_NETIF="$netif" "$gateway" --listen-dev zt0 --port 8080 127.0.0.1 9000
gw=$last_pid
wait_line "$dir/gw.log" '^gateway_forward: listening' || fail "gateway_forward did not start"
head -c 1048576 /dev/urandom >"$dir/gbig"
run timeout 30 socat -t 10 - TCP:192.0.2.2:8080 <"$dir/gbig" >"$dir/gbig.back" 2>"$dir/gbig.err"
check "1 MiB in on the engine's TCP, out on the host's, echoed back intact (sha256)" \
  test "$(sha256sum <"$dir/gbig")" = "$(sha256sum <"$dir/gbig.back")"
check "  the gateway connected it upstream" grep -q "connected a client to the upstream server" "$dir/gw.log"
printf 'ping\n' | run timeout 10 socat -t 5 - TCP:192.0.2.2:8080 >"$dir/gping" 2>&1
check "a second client: echoed" grep -qx ping "$dir/gping"
stop "$up"
printf 'nobody\n' | run timeout 10 socat -t 2 - TCP:192.0.2.2:8080 >"$dir/gnone" 2>&1
check "upstream gone: the client is refused, the gateway says why" \
  sh -c "! grep -q nobody '$dir/gnone' && grep -q 'refused a connection: Connection refused' '$dir/gw.log'"
stop "$gw"; rc=$?
check "gateway_forward: SIGTERM stops it cleanly (exit 0)" test "$rc" = 0
sed 's/^/      gateway: /' "$dir/gw.log" | head -10

# a sanitized build (scripts/test.sh) reports into the samples' stderr
check "no sanitizer report from the samples" \
  sh -c "! grep -l -E 'ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer|ERROR: LeakSanitizer' '$dir'/*.err '$dir'/echo*.log '$dir'/gw.log"
[ $status = 0 ] && echo "samples: all checks passed" || echo "samples: some checks FAILED"
exit $status
