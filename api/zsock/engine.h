/*
 * <zsock/engine.h>: engine configuration and counters.
 *
 * The engine starts itself on the first zsock call with the embedded
 * default: a loopback interface holding 127.0.0.1 and ::1. More interfaces
 * come from zsock_engine_add_netif() or, on a hosted platform, from the
 * ZSOCK_NETIF environment variable read at start-up; ZSOCK_PCAP=path mirrors
 * every interface's frames into a pcap file.
 *
 * If the start-up configuration cannot be honoured (a malformed ZSOCK_NETIF,
 * a TAP device that cannot be opened, an unwritable ZSOCK_PCAP file), the
 * engine does not start and every zsock call fails with the errno of that
 * first failure (EINVAL, EPERM, ENOENT, ...): nothing runs half-configured.
 */
#ifndef ZSOCK_ENGINE_H
#define ZSOCK_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <zsock/zsock_config.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- interfaces --------------------------------------------------------- */

/**
 * Add interfaces described by spec, in the ZSOCK_NETIF syntax:
 *
 *     tap:NAME[,ip=A.B.C.D/LEN][,gw=A.B.C.D][,ip6=ADDR/LEN]
 *
 * several separated by ';', e.g. "tap:tap0,ip=192.0.2.2/24,gw=192.0.2.1".
 * The engine attaches to the named TAP device, creating it if it does not
 * exist; it never configures the Linux side (addresses, routes, link state).
 * The first interface with a gateway becomes the default route.
 * Starts the engine if needed. Blocks until the interfaces are up.
 * Returns 0, or -1 with errno: EFAULT (spec NULL), EINVAL (syntax, or an
 * IPv6 prefix other than /64: lwIP 2.1.3 treats the /64 as on-link;
 * nothing was added), ENODEV /
 * EPERM / ENOENT (the device could not be opened), ENOSPC (too many
 * interfaces), EEXIST (name already attached). All or nothing: when one
 * interface fails, those the same call added are taken down again.
 */
int zsock_engine_add_netif(const char *spec);

/* ---- names ----------------------------------------------------------------- */

/**
 * Set the DNS servers zsock_getaddrinfo() asks for names: a comma separated
 * list of up to 4 entries "A.B.C.D", "A.B.C.D:PORT", "V6ADDR" or
 * "[V6ADDR]:PORT" (port 53 by default), e.g. "192.0.2.1,[2001:db8::1]:5353".
 * It takes precedence over the ZSOCK_DNS environment variable, which takes
 * precedence over the dns_servers build option; NULL goes back to those.
 * "" means no DNS (names give EAI_NONAME). The list is copied. Does not
 * start the engine, does not block. Any thread. Returns 0, or -1 with
 * errno: EINVAL (a malformed entry; the previous list stays), ENAMETOOLONG
 * (255 characters at most).
 */
int zsock_engine_set_dns(const char *list);

/* ---- counters ------------------------------------------------------------ */

/** A snapshot of the engine's counters (see zsock_engine_stats()). */
struct zsock_engine_stats {
	uint64_t tx_bytes_copied;   /**< bytes copied from callers into net_bufs */
	uint64_t rx_bytes_copied;   /**< bytes copied from net_bufs to callers */
	uint64_t tx_bytes;          /**< payload bytes handed to lwIP */
	uint64_t rx_bytes;          /**< payload bytes received from lwIP */
	uint64_t rx_drops;          /**< datagrams dropped: receive ring or pool full */
	uint64_t tx_drops;          /**< datagrams lwIP could not send */
	uint64_t reactor_wakeups;   /**< times the reactor woke from sleep */
	uint64_t netif_rx_frames;   /**< frames received on hosted netifs */
	uint64_t netif_tx_frames;   /**< frames sent on hosted netifs */
	uint64_t netif_drops;       /**< frames dropped at a netif */
	uint64_t loop_packets;      /**< packets the engine delivered to itself
				         (loopback, its own addresses) */
	uint64_t poll_wakeups;      /**< times a thread blocked in zsock_poll()
				      or zsock_select() woke up (one per event,
				      whatever the number of fds polled) */
	uint64_t poll_tests;        /**< socket readiness tests made by zsock_poll()
				      (with a poll set: only the sockets that
				      were ready or woken, not every fd) */
	uint64_t tx_csum_reused;    /**< forwarded TCP payload bytes sent with the
				      checksum they arrived with, not summed
				      again (zsock_send_buf of a received chain) */
	uint32_t tx_bufs_in_use;    /**< transmit net_bufs taken now */
	uint32_t tx_bufs_high_water;
	uint32_t tx_bufs_total;
	uint32_t tx_alloc_failures;
	uint32_t rx_bufs_in_use;    /**< receive net_buf headers taken now */
	uint32_t rx_bufs_high_water;
	uint32_t rx_bufs_total;
	uint32_t rx_alloc_failures;
	uint32_t sockets_in_use;    /**< socket objects alive (including closing ones) */
	uint32_t fds_in_use;        /**< fd table slots taken */
	uint32_t lwip_pbuf_in_use;  /**< lwIP PBUF_POOL buffers held */
	uint32_t lwip_tcp_pcbs;     /**< lwIP TCP PCBs allocated (incl. TIME_WAIT) */
	uint32_t lwip_udp_pcbs;     /**< lwIP UDP PCBs allocated */
	uint32_t lwip_mem_used;     /**< lwIP heap bytes in use */
	uint32_t tls_in_use;        /**< TLS sockets alive */
	uint32_t tls_high_water;    /**< most TLS sockets ever alive at once */
	uint32_t tls_sessions_in_use; /**< TLS sessions taken (connections whose
					handshake started; listeners have none) */
	uint32_t tls_sessions_high_water;
	uint32_t tls_cred_count;    /**< credentials registered */
	uint32_t offload_in_use;    /**< offloaded fds alive (their adapters,
				      closing ones included) */
	uint32_t tls_cred_arena_used; /**< credential arena bytes in use (decoded
					forms, including ones deleted but
					still held by live sockets) */
	uint32_t dtls_in_use;       /**< DTLS sockets alive */
	uint32_t dtls_high_water;   /**< most DTLS sockets ever alive at once */
};

/**
 * Fill *out with the counters. Starts the engine if needed. Blocks briefly
 * (the lwIP figures are read in the reactor). Returns 0, or -1 with errno
 * EFAULT (out NULL).
 */
int zsock_engine_stats(struct zsock_engine_stats *out);

/** Static RAM of the engine, from the build's sizes (no measurement). */
struct zsock_engine_footprint {
	uint32_t socket_bytes;     /**< one socket object (rings, locks, options) */
	uint32_t fd_bytes;         /**< one fd table slot */
	uint32_t tcp_pcb_bytes;    /**< lwIP's per-connection TCP PCB */
	uint32_t udp_pcb_bytes;    /**< lwIP's UDP PCB */
	uint32_t tx_buf_bytes;     /**< one transmit net_buf: header + storage */
	uint32_t rx_buf_bytes;     /**< one receive net_buf header */
	uint32_t tcp_conn_bytes;   /**< a TCP connection: socket + fd + PCB */
	uint32_t udp_socket_bytes; /**< a UDP socket: socket + fd + PCB */
	uint32_t tls_socket_bytes; /**< one TLS socket object (options, state,
				        resolved credentials) */
	uint32_t tls_session_bytes; /**< one TLS session (BearSSL context, X.509
				        state, I/O buffer); a TLS connection
				        costs tls_socket_bytes + this +
				        tcp_conn_bytes, a TLS listener
				        tls_socket_bytes + tcp_conn_bytes */
	uint64_t static_total;     /**< every static pool and table of the engine,
				        lwIP's heap and pools and the TLS and
				        DTLS slots, caches and credential store
				        included */
	uint32_t dtls_socket_bytes; /**< one DTLS socket (options, association,
				        two datagram buffers); a DTLS socket
				        costs this + udp_socket_bytes */
};

/**
 * Fill *out with the engine's static RAM figures. Does not start the engine
 * and does not block. Returns 0, or -1 with errno EFAULT (out NULL).
 */
int zsock_engine_footprint(struct zsock_engine_footprint *out);

#ifdef __cplusplus
}
#endif

#endif
