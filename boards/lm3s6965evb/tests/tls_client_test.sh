#!/usr/bin/env bash
# The board as a TLS 1.2 client of `openssl s_server` on the host's
# 127.0.0.1, which the guest reaches as 10.0.2.2 (apps/tls_client.c).
#
#   tls_client_test.sh QEMU_RUN TLS_CLIENT_ELF PKI_DIR
#
# Servers use the fixed test PKI (PKI_DIR = tests/pki, TEST ONLY) and
# 512-byte records (-max_send_frag 512; the board also asks for them with
# max_fragment_length, which s_server honours). Checks:
#   ec  GET   s_server -www, ECDSA P-256 certificate: the status page
#   ec  rev   s_server -rev: 64 KiB each way, checked byte by byte
#   rsa GET   s_server -www, RSA-2048 certificate
#   wrong name (TLS_HOSTNAME wrong.test): ECONNABORTED, X.509 result 56
#   wrong CA (the RSA CA against the EC server): ECONNABORTED, result 62
# QEMU_M3_ICOUNT=0 in the environment makes the busy times it prints
# instruction counts (qemu-run).
set -uo pipefail
qemu_run=$1 elf=$2 pki=$3
command -v openssl >/dev/null || { echo "skipped: no openssl(1)"; exit 77; }
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# serve NAME KIND MODE: an s_server on a port the kernel picks; sets $port
serve() {
  local name=$1 kind=$2 mode=$3 i
  openssl s_server -accept 127.0.0.1:0 -cert "$pki/${kind}_server.pem" \
    -key "$pki/${kind}_server.key" "$mode" -max_send_frag 512 \
    >"$dir/$name.out" 2>"$dir/$name.err" </dev/null &
  pids+=($!)
  port=
  for i in $(seq 100); do
    port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$dir/$name.out")
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "FAIL: s_server $name did not start"; cat "$dir/$name.err"
  exit 1
}

fails=0
# run WANT_RC WANT_TEXT ARGS...: the image against 10.0.2.2, check its exit status and output
run() {
  local want=$1 text=$2 rc
  shift 2
  echo "--- tls_client $*"
  QEMU_M3_RESTRICT=off QEMU_M3_TIMEOUT=${QEMU_M3_TIMEOUT:-120} "$qemu_run" "$elf" "$@" \
    >"$dir/run.out" 2>"$dir/run.err"
  rc=$?
  cat "$dir/run.out"
  if [ $rc -ne "$want" ]; then
    echo "FAIL: tls_client $* exited $rc, expected $want"
    grep -v 'Timer with period zero' "$dir/run.err"
    fails=$((fails + 1))
  elif ! grep -q -- "$text" "$dir/run.out"; then
    echo "FAIL: tls_client $*: no \"$text\" in its output"
    fails=$((fails + 1))
  else
    echo "ok: tls_client $* (exit $rc)"
  fi
}

serve ec_www ec -www; ec_www=$port
serve ec_rev ec -rev; ec_rev=$port
serve rsa_www rsa -www; rsa_www=$port

run 0 'GET: .* status 200, cipher line seen, end of page seen' "$ec_www" server.test ec get
run 0 'rev: 65536 bytes each way intact' "$ec_rev" server.test ec rev 65536
run 0 'GET: .* status 200, cipher line seen, end of page seen' "$rsa_www" server.test rsa get
run 3 'errno [0-9]* (ECONNABORTED).*X.509 result 56' "$ec_www" wrong.test ec get
run 3 'errno [0-9]* (ECONNABORTED).*X.509 result 62' "$ec_www" server.test rsa get

if [ $fails -eq 0 ]; then
  echo "ok: TLS 1.2 client on the board against openssl s_server (5 runs)"
  exit 0
fi
echo "FAIL: $fails of 5 runs"
exit 1
