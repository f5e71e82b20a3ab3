/*
 * TLS sockets (tls_bearssl/tls_sock.c) as the rest of zsock sees them: a
 * factory for zsock_socket() and the figures for the engine's statistics.
 */
#ifndef ZSOCK_TLS_H
#define ZSOCK_TLS_H

#include <stddef.h>
#include <stdint.h>

/** proto is one zsock_socket() hands to the TLS layer (IPPROTO_TLS_* and IPPROTO_DTLS_*). */
#define ZS_PROTO_IS_TLS(p) ((p) >= 256 && (p) <= 273)

/**
 * Create a TLS socket: a TCP socket of the family underneath and one TLS
 * socket object (its session comes with the handshake); IPPROTO_DTLS_1_2
 * goes to zs_dtls_sock_create().
 * Returns the fd, or -EAFNOSUPPORT, -EPROTOTYPE (not SOCK_STREAM),
 * -EPROTONOSUPPORT (DTLS 1.0, unknown version), -ENFILE, -ENOMEM (no TLS
 * socket object, no socket). Blocks briefly (the TCP PCB is made in the reactor).
 */
int zs_tls_create(int family, int type, int proto);

/**
 * Create a DTLS 1.2 socket (IPPROTO_DTLS_1_2; tls_bearssl/dtls_sock.c): a
 * UDP socket of the family underneath and one DTLS socket object.
 * Returns the fd, or -EPROTOTYPE (not SOCK_DGRAM), -ENFILE, -ENOMEM (no
 * DTLS socket object, no socket). Blocks briefly (the UDP PCB is made in
 * the reactor).
 */
int zs_dtls_sock_create(int family, int type);

/**
 * Make a TLS socket over fd, an open stream socket of any implementation
 * (the engine's TCP, an offloaded one): fd then names the TLS socket.
 * Returns fd, or -EPROTONOSUPPORT (proto not IPPROTO_TLS_1_x), -ENOMEM
 * (no TLS socket object), -EBADF (fd not open); on error fd is untouched
 * and still the caller's. Does not block.
 */
int zs_tls_wrap(int fd, int family, int proto);

/**
 * Set the default deadline of server handshakes that accept() starts from
 * now on (listeners without SO_SNDTIMEO), in ms; 0: none. Starts as
 * CONFIG_ZSOCK_TLS_HANDSHAKE_TIMEOUT_MS. For tests, which shorten it; not
 * in the public API. Any thread.
 */
void zs_tls_handshake_timeout_set(int32_t ms);

/** Credential arena bytes in use now (blocks of live credentials and held ones). */
size_t zs_cred_arena_used(void);
/** Credential table entries in use now. */
size_t zs_cred_count(void);

/** TLS sockets alive now, and the most ever alive at once. */
uint32_t zs_tls_in_use(void);
uint32_t zs_tls_high_water(void);
/** TLS sessions (connections past the start of a handshake) now, and the most at once. */
uint32_t zs_tls_sessions_in_use(void);
uint32_t zs_tls_sessions_high_water(void);

/**
 * Set how long a DTLS server's client may stay silent before a new client
 * that passed the cookie check takes the socket over, in ms, from now on.
 * Starts as CONFIG_ZSOCK_DTLS_SERVER_IDLE_MS. For tests, which shorten
 * it; not in the public API. Any thread.
 */
void zs_dtls_server_idle_set(int32_t ms);

/** DTLS sockets alive now, and the most ever alive at once. */
uint32_t zs_dtls_sock_in_use(void);
uint32_t zs_dtls_sock_high_water(void);
/** RAM of one DTLS socket (options, the association, two datagram buffers). */
size_t zs_dtls_sock_bytes(void);
/** Static RAM of the DTLS sockets: the pool, the session caches, the generator. */
size_t zs_dtls_static_bytes(void);

/** RAM of one TLS socket object (options, state, resolved credentials). */
size_t zs_tls_socket_bytes(void);
/** RAM of one TLS session (BearSSL context, X.509 state, I/O buffer). */
size_t zs_tls_session_bytes(void);

/** Static RAM of the TLS layer: sockets, sessions, session caches, credential arena. */
size_t zs_tls_static_bytes(void);

#endif
