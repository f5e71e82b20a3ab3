/*
 * Echo, discard and request/response servers written directly on lwIP's
 * raw TCP API: the fastest thing lwIP offers without a socket layer, run
 * on the same image as zsock so the two can be compared byte for byte.
 *
 *   echo     everything received is written back; the peer is flow
 *            controlled (the window opens only as bytes are echoed)
 *   discard  everything received is dropped at once
 *   rr       the same code as echo on its own port, so the image can tell
 *            request/response traffic apart: requests served =
 *            bytes_out / request size
 *
 * Connection state comes from a small static pool (RAW_SERVERS_MAX_CONNS,
 * default 8, shared by the three servers); a connection that finds the
 * pool empty is reset. Nothing is allocated but lwIP's own PCBs, segments
 * and (for echo) the copies tcp_write makes.
 *
 * Every function here must run in lwIP's context (zsock's reactor, e.g.
 * through its reactor-call mechanism): lwIP is NO_SYS and not reentrant.
 */
#ifndef BENCH_M3_RAW_SERVERS_H
#define BENCH_M3_RAW_SERVERS_H

#include <stdint.h>

enum raw_server_kind {
	RAW_SERVER_ECHO,
	RAW_SERVER_DISCARD,
	RAW_SERVER_RR,
	RAW_SERVER_KINDS
};

/* Counters of one server since raw_servers_start(). */
struct raw_server_stats {
	uint32_t conns;		/* connections accepted */
	uint32_t refused;	/* connections reset because the pool was empty */
	uint32_t errors;	/* connections lost to a reset, abort or timeout */
	uint64_t bytes_in;	/* payload bytes received */
	uint64_t bytes_out;	/* payload bytes handed to tcp_write (echoed) */
};

/*
 * raw_servers_start() - listen on up to three ports.
 * @echo_port:    port of the echo server, 0 for none
 * @discard_port: port of the discard server, 0 for none
 * @rr_port:      port of the request/response server, 0 for none
 *
 * Each server listens on every local address (IPv4 and IPv6 where lwIP has
 * both). On failure nothing stays open, and the call may be repeated.
 *
 * Context: lwIP's (the reactor). Call once; there is no stop.
 * Return: 0, or -EINVAL (all ports 0, or two equal), -EALREADY (already
 * started), -ENOMEM (no PCB or listen PCB), -EADDRINUSE (lwIP's bind
 * found the port taken: a listener, a connection or a TIME_WAIT on it).
 */
int raw_servers_start(uint16_t echo_port, uint16_t discard_port,
		      uint16_t rr_port);

/*
 * raw_servers_stats() - totals over the three servers.
 * @conns:     connections accepted, or NULL
 * @bytes_in:  payload bytes received, or NULL
 * @bytes_out: payload bytes echoed (handed to tcp_write), or NULL
 *
 * Context: lwIP's (the counters are not read atomically).
 */
void raw_servers_stats(uint32_t *conns, uint64_t *bytes_in,
		       uint64_t *bytes_out);

/*
 * raw_servers_stats_of() - the counters of one server.
 * @kind: which server
 * @st:   filled in
 *
 * Context: lwIP's.
 * Return: 0, or -EINVAL for an unknown @kind or a NULL @st.
 */
int raw_servers_stats_of(enum raw_server_kind kind,
			 struct raw_server_stats *st);

/*
 * raw_servers_active() - connections holding a pool entry now.
 *
 * After every client has gone (and lwIP has finished the closing
 * handshakes) this is 0: a leak check for the image.
 * Context: lwIP's.
 * Return: the number of entries in use.
 */
unsigned int raw_servers_active(void);

#endif
