#!/usr/bin/env bash
# The board as a client of the host: a TCP and UDP echo server on the
# host's 127.0.0.1:PORT, which the guest reaches as 10.0.2.2:PORT.
#
#   connect_out_test.sh QEMU_RUN CONNECT_OUT_ELF
#
# The guest may only open connections here (restrict=off), and the image
# connects to 10.0.2.2 and nothing else.
set -uo pipefail
qemu_run=$1 elf=$2
dir=$(mktemp -d)
trap 'kill $spid 2>/dev/null; rm -rf "$dir"' EXIT
python3 - "$dir/port" <<'PY' &
import socket, sys, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 0)); t.listen(4)
port = t.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
open(sys.argv[1] + ".tmp", "w").write(str(port))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def udp():
    while True:
        d, a = u.recvfrom(4096); u.sendto(d, a)
threading.Thread(target=udp, daemon=True).start()
t.settimeout(60)
c, _ = t.accept()
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
c.close()
threading.Event().wait(30)
PY
spid=$!
for _ in $(seq 50); do [ -f "$dir/port" ] && break; sleep 0.1; done
port=$(cat "$dir/port") || { echo "FAIL: host server did not start"; exit 1; }
QEMU_M3_RESTRICT=off QEMU_M3_TIMEOUT=120 "$qemu_run" "$elf" "$port" 1048576
rc=$?
[ $rc -eq 0 ] && echo "ok: the board connected out to 10.0.2.2:$port (TCP 1 MiB, UDP)" || echo "FAIL: connect_out exited $rc"
exit $rc
