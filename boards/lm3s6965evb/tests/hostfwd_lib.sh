# What the tests that boot an image behind QEMU's forwarded ports share
# (hostfwd_test.sh, forward_test.sh); they source it.

# m3_boot QEMU_RUN ELF READY: boot ELF with the caller's QEMU_M3_* settings
# and wait for a console line that starts with READY. Sets qpid and log (the
# console) and an EXIT trap that stops QEMU; exits 1 if it never starts.
m3_boot() {
  local qemu_run=$1 elf=$2 ready=$3
  log=$(mktemp)
  "$qemu_run" "$elf" >"$log" 2>&1 &
  qpid=$!
  trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null; rm -f "$log"' EXIT
  for _ in $(seq 100); do
    grep -q "^$ready" "$log" && break
    sleep 0.1
  done
  grep -q "^$ready" "$log" || { cat "$log"; echo "FAIL: the image did not start"; exit 1; }
}

# check NAME COMMAND...: run it, print "ok" with its last line or "FAIL"
# with all of it, and count the failures in fails.
fails=0
check() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then
    echo "ok   $name: $(echo "$out" | tail -n 1)"
  else
    echo "FAIL $name:"; echo "$out" | sed 's/^/    /'; fails=$((fails + 1))
  fi
}

# m3_done WHAT: stop QEMU; after failures print the guest's console and
# exit 1, else say that every WHAT check passed.
m3_done() {
  kill $qpid 2>/dev/null
  if [ $fails -ne 0 ]; then
    echo "--- guest console:"; cat "$log"
    exit 1
  fi
  echo "all $1 checks passed"
}

# m3_stats PORT [KEY...]: the image's stats line (its port 4242, forwarded
# to PORT): the values of the KEYs, one per line, or the whole line.
m3_stats() {
  python3 - "$@" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c.sendall(b"S\n")
line = b""
while not line.endswith(b"\n"):
    d = c.recv(1024)
    if not d:
        break
    line += d
kv = dict(f.split("=") for f in line.decode().split())
print("\n".join(kv[k] for k in sys.argv[2:]) if len(sys.argv) > 2 else line.decode().strip())
PY
}
