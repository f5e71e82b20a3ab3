#!/usr/bin/env bash
# Host clients against the board's sample servers, through QEMU's hostfwd:
#
#   hostfwd_test.sh QEMU_RUN SAMPLE_ELF M3_CLIENT
#
# Boots sample_servers.elf (TCP echo 7, discard 9, rr 10, UDP echo 7) and
# checks, from the host's own sockets: 1 MiB echoed intact, 4 MiB
# discarded (the server closes after our FIN), request/response with 1 and
# 1024 bytes, UDP datagrams echoed, that connections beyond the server's
# slots are closed at once while the others keep working, and prints the
# high-water marks (stack, buffers, pools) the load left.
set -uo pipefail
qemu_run=$1 elf=$2 client=$3
base=$((20000 + RANDOM % 20000))
echo_p=$base discard_p=$((base + 1)) rr_p=$((base + 2)) udp_p=$((base + 3)) stats_p=$((base + 4))
. "$(dirname "$0")/hostfwd_lib.sh"
export QEMU_M3_TIMEOUT=120
# QEMU's restrict=on drops the guest's UDP replies to forwarded datagrams;
# the image only ever answers what arrives, so nothing leaves for elsewhere
export QEMU_M3_RESTRICT=off
export QEMU_M3_HOSTFWD="tcp:127.0.0.1:$echo_p-:7,tcp:127.0.0.1:$discard_p-:9,tcp:127.0.0.1:$rr_p-:10,udp:127.0.0.1:$udp_p-:7,tcp:127.0.0.1:$stats_p-:4242"
m3_boot "$qemu_run" "$elf" "sample_servers: TCP"
check "echo 1 MiB"      "$client" --port "$echo_p" --workload echo --bytes 1048576 --timeout 30
check "discard 4 MiB"   "$client" --port "$discard_p" --workload discard --bytes 4194304 --timeout 30
check "rr 1 byte x500"  "$client" --port "$rr_p" --workload rr --size 1 --count 500 --timeout 30
check "rr 1 KiB x200"   "$client" --port "$rr_p" --workload rr --size 1024 --count 200 --timeout 30
check "udp echo" python3 - "$udp_p" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
ok = 0
for i in range(50):
    d = bytes((i * 7 + k) & 0xff for k in range(1 + i * 29))
    for attempt in range(3):          # UDP: a datagram may be lost; retry
        s.sendto(d, ("127.0.0.1", int(sys.argv[1])))
        try:
            r = s.recv(4096)
        except socket.timeout:
            continue
        if r != d:
            sys.exit("datagram %d came back different" % i)
        ok += 1
        break
if ok != 50:
    sys.exit("only %d of 50 datagrams came back" % ok)
print("50 datagrams of 1..1422 bytes echoed")
PY
check "full server closes extra connections" python3 - "$echo_p" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(3):                     # the sample serves 3 connections
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"x"); assert c.recv(1) == b"x"
    held.append(c)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
extra.settimeout(5)
try:
    r = extra.recv(1)
except ConnectionResetError:
    r = b""
if r != b"":
    sys.exit("the fourth connection was served")
for c in held:                         # the three still work
    c.sendall(b"y"); assert c.recv(1) == b"y"
    c.close()
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"z"); assert c.recv(1) == b"z"
print("4th connection closed at once, the 3 others and a later one served")
PY
# after the load: the high-water marks the footprint table quotes, and the
# stack never came near its 4 KiB (the MPU guards its bottom 32 bytes)
check "high-water marks after the load" python3 - "$(m3_stats "$stats_p")" <<'PY'
import sys
kv = dict(f.split("=") for f in sys.argv[1].split())
if int(kv["stack_peak"]) >= 3072:
    sys.exit("stack peak %s of 4096 bytes" % kv["stack_peak"])
print(" ".join("%s=%s" % (k, kv[k]) for k in
      ("stack_peak", "tx_bufs_hw", "rx_bufs_hw", "pbuf_pool_hw", "lwip_heap_hw", "tcp_pcb_hw")))
PY
m3_done hostfwd
