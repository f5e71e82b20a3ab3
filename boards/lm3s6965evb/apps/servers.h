/*
 * Servers on zsock for the board's samples and benchmarks: TCP echo,
 * discard and request/response, all served from one zsock_poll() loop, on
 * the BSD calls or on the native zero-copy calls (<zsock/net_buf.h>).
 *
 *   echo      every byte received is sent back (throughput: Nagle on)
 *   discard   every byte received is dropped (RFC 863)
 *   rr        request/response: each read is answered at once with the
 *             same bytes, TCP_NODELAY on (latency)
 *   stats     one line per "S\n" received: the CPU's busy and idle time
 *             and the servers' counters, as key=value pairs
 *   udp echo  every datagram is sent back to its source
 *
 * Connections past the free slots are accepted and closed at once (the
 * client sees EOF), so a full server never leaves a peer waiting.
 */
#ifndef BOARD_APPS_SERVERS_H
#define BOARD_APPS_SERVERS_H

#include <stdbool.h>
#include <stdint.h>

enum server_kind { SERVER_ECHO, SERVER_DISCARD, SERVER_RR, SERVER_STATS };

/**
 * Listen on port (IPv4, any address) for kind, over the BSD calls or, with
 * native, the zero-copy calls (not for SERVER_STATS). Call before
 * servers_run(). Returns 0 or -errno (no listener slot, socket errors).
 */
int servers_listen(enum server_kind kind, uint16_t port, bool native);

/** A UDP echo on port (IPv4). Returns 0 or -errno. */
int servers_udp_echo(uint16_t port);

/**
 * Serve for ever (returns only on a fatal error, with -errno). Blocks in
 * zsock_poll(); on bare metal that is where the engine runs.
 */
int servers_run(void);

#endif
