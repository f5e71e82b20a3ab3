#!/usr/bin/env bash
# The board's native echo forwards what it receives (zsock_send_buf of the
# received chain) and sends it with the checksum it arrived with
# (engine/lwip_port/csum.c), checked from the host through QEMU's hostfwd:
#
#   forward_test.sh QEMU_RUN BENCH_ELF M3_CLIENT
#
# Boots bench_servers.elf (native echo on 1007, BSD echo on 7), echoes
# 2 MiB and 300 requests of 1 KiB on the native path and 1 MiB on the BSD
# one (m3_client compares every byte; QEMU's user network drops a segment
# whose checksum is wrong, so a bad sum stalls the transfer), then reads
# the image's counters: most of the native bytes went out with their
# received sums (csum_reused), none of the BSD ones could. A debug build
# of the image also sums every reused payload again and stops on a
# difference.
set -uo pipefail
qemu_run=$1 elf=$2 client=$3
base=$((20000 + RANDOM % 20000))
native_p=$base bsd_p=$((base + 1)) stats_p=$((base + 2))
. "$(dirname "$0")/hostfwd_lib.sh"
export QEMU_M3_TIMEOUT=120
export QEMU_M3_HOSTFWD="tcp:127.0.0.1:$native_p-:1007,tcp:127.0.0.1:$bsd_p-:7,tcp:127.0.0.1:$stats_p-:4242"
m3_boot "$qemu_run" "$elf" "bench_servers:"

r0=$(m3_stats "$stats_p" csum_reused) || { echo "FAIL: no counters"; cat "$log"; exit 1; }
check "native echo 2 MiB"       "$client" --port "$native_p" --workload echo --bytes 2097152 --timeout 60
check "native rr 1 KiB x300"    "$client" --port "$native_p" --workload rr --size 1024 --count 300 --timeout 60
r1=$(m3_stats "$stats_p" csum_reused)
check "bsd echo 1 MiB"          "$client" --port "$bsd_p" --workload echo --bytes 1048576 --timeout 60
r2=$(m3_stats "$stats_p" csum_reused)
native=$((2097152 + 300 * 1024))
# counted per transmission (a retransmission counts again) and for every
# request the client makes (warm-up ones too)
echo "sent with received sums: $((r1 - r0)) bytes for $native native bytes echoed, $((r2 - r1)) for 1048576 BSD bytes"
# a segment lwIP cut differently from how it arrived, or one delivered out
# of order, is summed as usual: most, not all (measured: all but a few %)
if [ $((r1 - r0)) -lt $((native / 2)) ]; then
  echo "FAIL: fewer than half of the forwarded bytes kept their sums"; fails=$((fails + 1))
fi
if [ $((r2 - r1)) -ne 0 ]; then
  echo "FAIL: BSD (copied) bytes counted as reused"; fails=$((fails + 1))
fi
m3_done forward
