/*
 * What TLS sockets (tls_sock.c) and DTLS sockets (dtls_sock.c) share: the
 * SOL_TLS options both kinds take, and the helpers for a socket that owns
 * an inner transport (held through its vtable) and sleeps on its queue.
 *
 * The options live in a struct zs_secopt inside each socket. The cipher
 * suite and ALPN lists have a capacity that differs by kind, so their
 * entries stay in the socket and a struct zs_secopt_lists, filled by the
 * caller for each call, says where they are and what they may hold; their
 * counts are in the zs_secopt. The zs_secopt_* functions run under the
 * socket's lock; the others say what they take.
 *
 * The socket's transport is a struct zs_secsock_io at its start, so that
 * the vtable functions that only forward to it are these, for both kinds.
 */
#ifndef ZSOCK_TLS_SECSOCK_H
#define ZSOCK_TLS_SECSOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#include "engine/fdtable.h"
#include "engine/port/port.h"

#define ZS_SECOPT_HOST_MAX 255

/*
 * The transport a socket owns (one reference of the socket's), held
 * through its vtable. It MUST be the first member of the socket: the
 * zs_secsock_* vtable functions below take the socket as a pointer to it.
 */
struct zs_secsock_io {
	void *inner;
	const struct zs_fd_vtable *ivt;
};

/* The SOL_TLS options both kinds keep; all zero but verify (-1) when a socket is made. */
struct zs_secopt {
	sec_tag_t tags[CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS];
	size_t ntags;
	char host[ZS_SECOPT_HOST_MAX + 1]; /* TLS_HOSTNAME, NUL-terminated */
	bool has_host;
	int verify;                   /* TLS_PEER_VERIFY; -1: the role's default */
	int nocopy, native, cache;    /* TLS_CERT_NOCOPY, TLS_NATIVE, TLS_SESSION_CACHE */
	size_t nsuites;               /* entries of zs_secopt_lists.suites in use */
	size_t nalpn;                 /* entries of zs_secopt_lists.alpn in use */
};

/* Where a socket keeps its lists and what they may hold. */
struct zs_secopt_lists {
	uint16_t *suites;             /* TLS_CIPHERSUITE_LIST, suites_max entries */
	size_t suites_max;
	bool (*suite_known)(int suite); /* may the list name it */
	const uint16_t *suites_all;   /* what getsockopt gives while no list is set */
	size_t n_suites_all;
	const char **alpn;            /* TLS_ALPN_LIST: the caller's strings, alpn_max entries */
	size_t alpn_max;
};

/*
 * Set one of the shared options (TLS_SEC_TAG_LIST, TLS_HOSTNAME,
 * TLS_CIPHERSUITE_LIST, TLS_PEER_VERIFY, TLS_ALPN_LIST, TLS_CERT_NOCOPY,
 * TLS_NATIVE, TLS_SESSION_CACHE). val MUST NOT be NULL with len > 0 but
 * for TLS_HOSTNAME. Returns 0, -EINVAL, or -ENOPROTOOPT for any other
 * name (the caller's own).
 */
int zs_secopt_set(struct zs_secopt *o, const struct zs_secopt_lists *l, int name,
		  const void *val, socklen_t len);

/*
 * Read one of the shared options but TLS_HOSTNAME (write only): the
 * lists are cut to *len; TLS_PEER_VERIFY gives the role's default while
 * none is set. Returns 0, -EINVAL, or -ENOPROTOOPT for any other name.
 */
int zs_secopt_get(const struct zs_secopt *o, const struct zs_secopt_lists *l, bool server,
		  int name, void *val, socklen_t *len);

/* TLS_PEER_VERIFY in force: the one set, else NONE for a server, REQUIRED for a client. */
int zs_secopt_level(const struct zs_secopt *o, bool server);

/* Zero n bytes at p in a way the compiler keeps (keys, secrets, plaintext). */
void zs_secsock_wipe(void *p, size_t n);

/* Absolute deadline (zs_port_now_ms() scale) of a timeout in ms; -1: ZS_FOREVER. */
int64_t zs_secsock_deadline(int32_t ms);

/*
 * Sleep until the inner transport shows one of events (or POLLERR, or its
 * close), until closed is set, or until `until`, with lock released
 * meanwhile and taken again before the return. POLLOUT in events also
 * waits for room in the native sockets' tx pool. Returns zs_event_wait()'s
 * result, 0 when it did not sleep.
 */
int zs_secsock_wait(const struct zs_secsock_io *io, struct zs_lock *lock,
		    const _Atomic bool *closed, int events, int64_t until);

/* One of a pool's counters, read under the pool's lock once init has run. */
uint32_t zs_secsock_figure(void (*init)(void), struct zs_lock *lock, const uint32_t *counter);

/*
 * A socket as its setsockopt and getsockopt see it: what the edges below
 * need of either kind, filled by the caller for each call.
 */
struct zs_secsock_edge {
	void *obj;                    /* the socket, for set_tls and get_tls */
	int (*set_tls)(void *obj, int name, const void *val, socklen_t len);
	int (*get_tls)(void *obj, int name, void *val, socklen_t *len);
	int proto;                    /* SO_PROTOCOL */
	struct zs_secsock_io io;      /* the transport */
	struct zs_lock *lock;         /* the socket's */
	int32_t *rcvtimeo_ms, *sndtimeo_ms; /* SO_RCVTIMEO, SO_SNDTIMEO as set; -1: none */
	_Atomic int64_t *snd_clears;  /* set to ZS_FOREVER by SO_SNDTIMEO, or NULL */
	const _Atomic int *st;        /* the socket's state ... */
	int failed;                   /* ... and the one that means *err holds why */
	const int *err;
	bool *err_reported;           /* SO_ERROR gave -*err once */
};

/*
 * The vtable's setsockopt: SOL_TLS goes to set_tls under the lock (a NULL
 * val with len > 0 is -EFAULT but for TLS_HOSTNAME); the rest to the
 * transport, and SO_RCVTIMEO and SO_SNDTIMEO it took are also recorded.
 */
int zs_secsock_setsockopt(const struct zs_secsock_edge *e, int level, int name,
			  const void *val, socklen_t len);

/*
 * The vtable's getsockopt: SOL_TLS from get_tls under the lock;
 * SO_PROTOCOL is proto; SO_ERROR of a failed socket is its error, once;
 * the rest is the transport's.
 */
int zs_secsock_getsockopt(const struct zs_secsock_edge *e, int level, int name, void *val,
			  socklen_t *len);

/*
 * F_SETFL on the transport: when it took it, *nonblock records O_NONBLOCK
 * under lock. Returns the transport's result.
 */
int zs_secsock_fcntl(const struct zs_secsock_io *io, struct zs_lock *lock, bool *nonblock,
		     int cmd, int flags);

/*
 * Sockets to wake after a lock is given: zs_secsock_hold() takes a
 * reference to io's transport into *to if it has poll_wake (returns
 * whether it did), zs_secsock_wake_all() wakes the n held and drops them.
 */
bool zs_secsock_hold(const struct zs_secsock_io *io, struct zs_secsock_io *to);
void zs_secsock_wake_all(struct zs_secsock_io *held, size_t n);

/* Vtable functions that forward to the transport (obj: the socket, its io first). */
int zs_secsock_bind(void *obj, const struct sockaddr *addr, socklen_t len);
int zs_secsock_getsockname(void *obj, struct sockaddr *addr, socklen_t *len);
int zs_secsock_getpeername(void *obj, struct sockaddr *addr, socklen_t *len);
void zs_secsock_poll_link(void *obj, struct zs_wait_node *node, struct zs_waiter *w);
void zs_secsock_poll_unlink(void *obj, struct zs_wait_node *node);
void zs_secsock_poll_wake(void *obj);

#endif
