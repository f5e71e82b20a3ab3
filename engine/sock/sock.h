/*
 * Native sockets: the object behind a zsock fd when lwIP carries it.
 *
 * A socket is shared by two sides that lock each other out in one place
 * only (the reactor emptying its rings at close or SHUT_RD, below):
 *
 *   application side (any thread, serialised per direction by rx_lock and
 *   tx_lock): consumes the rx ring, produces the tx ring and the done ring,
 *   reads the atomic flags, sleeps on wq.
 *
 *   reactor side (the reactor only): owns the lwIP PCB and everything in
 *   the "reactor" block below; produces the rx ring, consumes tx and done,
 *   publishes state in flags / so_error / conn_error, then wakes wq.
 *   When it throws away what rx holds (the socket closed, or SHUT_RD) it
 *   consumes rx too, so it takes rx_lock for that: a reader that was
 *   already inside a call finishes first. Letting go of the socket, it
 *   empties tx under tx_lock: a sender that was inside a call has put
 *   what it had (freed then), and the next one sees the socket closed.
 *   No application thread holds either lock while it waits for the
 *   reactor.
 *
 * Rings (each SPSC, see engine/netbuf/ring.h):
 *   rx    reactor -> app   stream: received chains (net_buf wrapping pbufs)
 *                          dgram: one datagram per entry
 *                          listener: accepted struct zs_sock *
 *   tx    app -> reactor   stream: filled tx net_bufs
 *   done  app -> reactor   rx chains fully consumed: the reactor frees the
 *                          pbufs and opens the TCP window by their length
 * Chains a native API caller took (zsock_recv_buf) are counted in held
 * until released onto done, and so is a chain zsock_recv() moves from rx
 * to done while it moves. The reactor only fills rx while
 * count(rx) + count(done) + held < ring size, so done never overflows and
 * at most one ring of pbufs is held per socket.
 *
 * Lifetime: refs counts the fd table's reference, each call in flight, and
 * the reactor's (held while a PCB or queued buffers exist). The object goes
 * back to the pool when the count reaches zero; the reactor drops its
 * reference last, after it has emptied every ring.
 */
#ifndef ZSOCK_SOCK_H
#define ZSOCK_SOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/fdtable.h"
#include "engine/list.h"
#include "engine/netbuf/net_buf.h"
#include "engine/netbuf/ring.h"
#include "engine/reactor/reactor.h"
#include "engine/reactor/waitq.h"
#include "engine/sock/native.h"

#include "lwip/ip_addr.h"

struct tcp_pcb;
struct udp_pcb;

/* flags: published by either side with release, read with acquire */
#define ZS_SF_NONBLOCK    (1u << 0)  /* O_NONBLOCK */
#define ZS_SF_BOUND       (1u << 1)
#define ZS_SF_CONNECTING  (1u << 2)
#define ZS_SF_CONNECTED   (1u << 3)
#define ZS_SF_LISTENING   (1u << 4)
#define ZS_SF_RX_EOF      (1u << 5)  /* peer sent FIN */
#define ZS_SF_RX_SHUT     (1u << 6)  /* shutdown(SHUT_RD) */
#define ZS_SF_TX_SHUT     (1u << 7)  /* shutdown(SHUT_WR) */
#define ZS_SF_DEAD        (1u << 8)  /* connection gone: conn_error says why */
#define ZS_SF_CLOSED      (1u << 9)  /* the fd was closed */
#define ZS_SF_ACCEPTED    (1u << 10) /* handed out by accept() */
#define ZS_SF_REUSEADDR   (1u << 11)
#define ZS_SF_NODELAY     (1u << 12)

#define ZS_RING_SIZE CONFIG_NET_SOCKET_RING_SIZE

/** IPv4 multicast groups one socket may join (IP_ADD_MEMBERSHIP). */
#define ZS_SOCK_MCAST_MAX 8
#define ZS_SOCK_IFNAMSIZ  16

/*
 * Option state kept by the socket so that it can be read back and applied
 * to every PCB the socket gets (open, listen, accept, a new connect). Only
 * the reactor touches it: getsockopt/setsockopt run there (sockopt.c).
 */
struct zs_sockopts {
	int rcvbuf, sndbuf;        /* SO_RCVBUF / SO_SNDBUF: recorded only */
	int priority;              /* SO_PRIORITY: recorded only */
	bool keepalive;            /* SO_KEEPALIVE -> SOF_KEEPALIVE */
	bool broadcast;            /* SO_BROADCAST -> SOF_BROADCAST */
	bool reuseport;            /* SO_REUSEPORT -> SOF_REUSEADDR */
	bool v6only;               /* IPV6_V6ONLY: recorded, always 1 in effect */
	bool linger_on;            /* SO_LINGER */
	/* Zephyr's "ignored, for compatibility": recorded only */
	bool debug, dontroute, oobinline;
	int rcvlowat, sndlowat;
	int linger_s;
	int keep_idle, keep_intvl, keep_cnt; /* TCP_KEEP*: s, s, probes */
	int tos;                   /* IP_TOS / IPV6_TCLASS */
	int ttl;                   /* IP_TTL / IPV6_UNICAST_HOPS */
	int mcast_ttl;             /* IP_MULTICAST_TTL */
	uint8_t netif_idx;         /* SO_BINDTODEVICE: lwIP index, 0 none */
	char bind_dev[ZS_SOCK_IFNAMSIZ];
	uint8_t mcast_n;           /* IP_ADD_MEMBERSHIP: groups joined */
	struct {
		uint32_t group;    /* network order */
		uint8_t netif_idx;
	} mcast[ZS_SOCK_MCAST_MAX];
	/* SO_SOCKS5 / ZSOCK_SO_SOCKS5_AUTH (socks5.c): TCP only */
	bool socks5_on;
	uint16_t socks5_port;      /* host order */
	ip_addr_t socks5_ip;
	uint8_t socks5_auth;       /* credentials: slot + 1 in socks5.c, 0 none */
};

struct zs_sock {
	/* identity: fixed at creation */
	int family;              /* AF_INET / AF_INET6 */
	int type;                /* SOCK_STREAM / SOCK_DGRAM */
	int proto;               /* IPPROTO_TCP / IPPROTO_UDP */

	_Atomic int refs;
	_Atomic bool dying;      /* last ref dropped outside the reactor: return me */
	struct zs_list pool_node;
	struct zs_waitq wq;

	/* shared state */
	_Atomic uint32_t flags;
	_Atomic int so_error;    /* pending error for SO_ERROR, positive errno */
	_Atomic int conn_error;  /* why the connection died (with ZS_SF_DEAD) */
	_Atomic int32_t rcvtimeo_ms;  /* -1: forever */
	_Atomic int32_t sndtimeo_ms;

	/* application side */
	struct zs_lock rx_lock;
	struct zs_lock tx_lock;
	uint32_t rx_head_off;    /* bytes consumed of the rx head chain (rx_lock) */
	_Atomic uint32_t fwd_credit; /* window bytes of its chains forwarded since
				      * the reactor last looked (nbuf.c) */
	_Atomic uint32_t held;   /* rx chains a native caller holds, or a reader
				    moves to done (see above) */
	_Atomic uint32_t tx_need; /* tx ring slots a blocked zsock_send_buf waits for */

	struct zs_ring rx, tx, done;
	void *rx_slots[ZS_RING_SIZE];
	void *tx_slots[ZS_RING_SIZE];
	void *done_slots[ZS_RING_SIZE];

	/* reactor side */
	union {
		struct tcp_pcb *tcp;
		struct udp_pcb *udp;
		void *any;
	} pcb;
	struct zs_work work;
	struct zs_list inflight;   /* tx bufs given to tcp_write, oldest first */
	struct net_buf *tx_cur;    /* partly written buf (tail of inflight) */
	uint32_t acked_head;       /* bytes of the first inflight buf acked */
	bool reactor_ref;          /* the reactor holds a reference */
	bool backlog_pending;      /* tcp_backlog_accepted() still owed */
	bool fin_sent;             /* tcp_shutdown(tx) or tcp_close done */
	bool ack_owed;             /* on_recv put off lwIP's immediate ACK (tcp.c) */
	struct zs_sock *listener;  /* accepted, not yet handed out: its listener */
	ip_addr_t local_ip, remote_ip;  /* last known, for get*name after death */
	uint16_t local_port, remote_port;
	int backlog;
	/* options (sockopt.c): reactor only, like the PCB they are applied to */
	struct zs_sockopts opt;
};

extern const struct zs_fd_vtable zs_sock_vtable;
/** Woken when tx net_bufs return to an empty pool. */
extern struct zs_waitq zs_tx_pool_wq;

/* ---- sock.c: objects, waits, addresses ----------------------------------- */

/** Take a socket object from the pool (refs = 1), or NULL. Any thread. */
struct zs_sock *zs_sock_alloc(int family, int type, int proto);
void zs_sock_ref(struct zs_sock *s);
void zs_sock_unref(struct zs_sock *s);

static inline uint32_t zs_sock_flags(struct zs_sock *s)
{
	return atomic_load_explicit(&s->flags, memory_order_acquire);
}
static inline void zs_sock_set(struct zs_sock *s, uint32_t f)
{
	atomic_fetch_or_explicit(&s->flags, f, memory_order_acq_rel);
}
static inline void zs_sock_clear(struct zs_sock *s, uint32_t f)
{
	atomic_fetch_and_explicit(&s->flags, ~f, memory_order_acq_rel);
}

/**
 * Reactor: room for one more chain on rx (bounded with done and held).
 * Readers move a chain from rx to done counted in held meanwhile (held up,
 * off rx, onto done, held down; a native release: onto done, held down).
 * Read in the order rx, held, done, every chain is seen at least once, so
 * done (ZS_RING_SIZE slots) always has room for what readers put there.
 */
static inline bool zs_sock_rx_room(struct zs_sock *s)
{
	uint32_t n = zs_ring_count(&s->rx);

	n += atomic_load_explicit(&s->held, memory_order_acquire);
	n += zs_ring_count(&s->done);
	return n < ZS_RING_SIZE;
}

/** Wake every thread waiting on s (after publishing a change). */
void zs_sock_notify(struct zs_sock *s);

/**
 * Application side: sleep until ready(s) holds. Returns 0, -EAGAIN (the
 * deadline passed or the socket is non-blocking), -EINTR (the fd was
 * closed). With pool, also wakes when tx buffers return to the pool.
 */
int zs_sock_wait(struct zs_sock *s, bool (*ready)(struct zs_sock *s),
		 int64_t deadline, bool pool);

/** Absolute deadline for a timeout in ms (-1 forever). Inline: every
 *  send and receive asks, and most have no timeout. */
static inline int64_t zs_deadline(int32_t timeout_ms)
{
	return timeout_ms < 0 ? ZS_FOREVER : zs_port_now_ms() + timeout_ms;
}

/** Whether this call may block (socket mode and MSG_DONTWAIT). */
bool zs_sock_may_block(struct zs_sock *s, int flags);

/** sockaddr -> lwIP address. Returns 0 or -EINVAL / -EAFNOSUPPORT / -EFAULT. */
int zs_addr_from_sockaddr(struct zs_sock *s, const struct sockaddr *sa,
			  socklen_t len, ip_addr_t *ip, uint16_t *port);
/** lwIP address -> sockaddr (truncated to *len; *len gets the full size). */
void zs_addr_to_sockaddr(int family, const ip_addr_t *ip, uint16_t port,
			 struct sockaddr *sa, socklen_t *len);
void zs_addr_to_sockaddr_raw(int family, const uint8_t *addr, uint16_t port,
			     struct sockaddr *sa, socklen_t *len);

/** Reactor: ip is the any-address or held by an interface (bind's check). */
bool zs_addr_is_local(const ip_addr_t *ip);

/** lwIP err_t -> positive errno. */
int zs_err_to_errno(int err);

/** Reactor: let go of the reactor's reference once nothing is queued. */
void zs_sock_reactor_release(struct zs_sock *s);
/** Reactor: free rx/done ring contents (pbufs and headers). */
void zs_sock_drain_rx(struct zs_sock *s);
/** Reactor: free the done ring; returns the bytes it held. */
uint32_t zs_sock_drain_done(struct zs_sock *s);

/* ---- iovec cursors (sock.c) ------------------------------------------------ */

/** Where the next byte copied to a caller's iovec array goes. */
struct zs_iov_cursor {
	const struct iovec *iov;
	size_t cnt;   /**< entries */
	size_t idx;   /**< current entry */
	size_t off;   /**< bytes already stored in iov[idx] */
};

static inline void zs_iov_cursor_init(struct zs_iov_cursor *c, const struct iovec *iov,
				      size_t cnt)
{
	c->iov = iov;
	c->cnt = cnt;
	c->idx = 0;
	c->off = 0;
}

/** Copy up to n bytes of src into the cursor's buffers. Returns bytes stored. */
size_t zs_iov_put(struct zs_iov_cursor *c, const uint8_t *src, size_t n);

/** Sum of the lengths (the caller has checked it fits in ssize_t). */
static inline size_t zs_iov_total(const struct iovec *iov, size_t cnt)
{
	size_t i, total = 0;

	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* ---- nbuf.c: the native zero-copy API on native sockets ------------------- */

/**
 * Application side, rx_lock held: hand the rx head chain h (just taken off
 * rx) to the caller: counted in held, a socket reference for it.
 */
void zs_nbuf_give(struct zs_sock *s, struct net_buf *h);
/**
 * Application side, rx_lock held: as zs_nbuf_give() for the first n chains
 * of rx (1 <= n <= 255), which the caller has linked into one through
 * their last buffers' frags, h the first chain's head: counted n in held,
 * one socket reference, released as one chain onto done.
 */
void zs_nbuf_give_joined(struct zs_sock *s, struct net_buf *h, uint32_t n);
/**
 * Move every buffer of chain from the caller to the engine, checking each
 * (a transmit buffer the caller owns, len <= size, data unmoved). Returns
 * the number of buffers and sets *bytes, or -EINVAL with nothing moved
 * (a bad buffer, or another thread got there first).
 */
int zs_nbuf_claim_tx(struct net_buf *chain, size_t *bytes);
/**
 * Forwarding (zsock_send_buf of a received chain on TCP), application
 * side. claim: move the received chain head h from the caller to the
 * engine (EINVAL: not the caller's received chain head); returns the
 * buffers that hold bytes and sets *bytes. A failed send gives it back with
 * zs_nbuf_unclaim_fwd(). fwd_reserve: take n of the forwarding budget
 * (false: not now); fwd_room: whether reserve would succeed now; fwd_max:
 * the whole budget (a received TCP chain never holds more buffers). commit,
 * with the budget taken, just before the buffers go on the tx ring: the
 * source socket gets its window back and lets go of the chain; each
 * joined chain's pbuf moves to its last buffer.
 */
int zs_nbuf_claim_fwd(struct net_buf *h, size_t *bytes);
bool zs_nbuf_fwd_reserve(uint32_t n);
bool zs_nbuf_fwd_room(uint32_t n);
uint32_t zs_nbuf_fwd_max(void);
void zs_nbuf_commit_fwd(struct net_buf *h);
static inline void zs_nbuf_unclaim_fwd(struct net_buf *h)
{
	(void)zs_buf_own_move(h, ZS_OWN_ENGINE, ZS_OWN_USER);
}
/**
 * Reactor: free a buffer that was sent (in flight or still on tx): a
 * transmit buffer back to its pool, a forwarded received one with its
 * pbuf and its share of the forwarding budget.
 */
void zs_nbuf_free_out(struct net_buf *b);
/** Give a claimed chain back to the caller after a failed send. */
void zs_nbuf_unclaim_tx(struct net_buf *chain);
/** Return a claimed chain to the pool and wake whoever waits for room. */
void zs_nbuf_free_tx(struct net_buf *chain);
/** The vtable's recv_buf / send_buf. */
ssize_t zs_sock_recv_buf(void *obj, struct net_buf **chain, int flags);
ssize_t zs_sock_send_buf(void *obj, struct net_buf *chain, int flags,
			 const struct sockaddr *to, socklen_t tolen);

/* ---- tcp.c --------------------------------------------------------------- */
int zs_tcp_open(struct zs_sock *s);          /* reactor */
void zs_tcp_close(struct zs_sock *s);        /* reactor */
void zs_tcp_work(struct zs_sock *s);         /* reactor */
int zs_tcp_bind(struct zs_sock *s, const ip_addr_t *ip, uint16_t port);
int zs_tcp_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len);
int zs_tcp_listen(struct zs_sock *s, int backlog);
int zs_tcp_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len);
ssize_t zs_tcp_send(struct zs_sock *s, const void *buf, size_t len, int flags);
ssize_t zs_tcp_recv(struct zs_sock *s, const struct iovec *iov, size_t iovcnt, int flags);
/** zsock_recv_buf / zsock_send_buf on a TCP socket (see <zsock/net_buf.h>). */
ssize_t zs_tcp_recv_buf(struct zs_sock *s, struct net_buf **chain, int flags);
ssize_t zs_tcp_send_buf(struct zs_sock *s, struct net_buf *chain, int flags);
/** FIONREAD: bytes queued for reading, or -EINVAL on a listener. */
int zs_tcp_readable_bytes(struct zs_sock *s);
int zs_tcp_shutdown(struct zs_sock *s, int how);
short zs_tcp_poll_events(struct zs_sock *s);
int zs_tcp_set_nodelay(struct zs_sock *s, bool on);

/* ---- sockopt.c ----------------------------------------------------------- */
/** Defaults of every option (Linux-like). Any thread, before first use. */
void zs_sockopt_init(struct zs_sock *s);
/** Reactor: push the stored options onto s's current PCB (any kind/state). */
void zs_sockopt_apply(struct zs_sock *s);
/** Reactor: an accepted socket c takes the listener l's options, applied. */
void zs_sockopt_inherit(struct zs_sock *c, struct zs_sock *l);
/**
 * Reactor, from zs_tcp_close(): with SO_LINGER {1, 0} a connected socket
 * is aborted (RST) instead of closed, and the reactor's reference
 * released. Returns true when it did that.
 */
bool zs_sockopt_close_abort(struct zs_sock *s);
/** Reactor, at close: leave the multicast groups s joined. */
void zs_sockopt_release(struct zs_sock *s);
int zs_sockopt_get(struct zs_sock *s, int level, int name, void *val, socklen_t *len);
int zs_sockopt_set(struct zs_sock *s, int level, int name, const void *val, socklen_t len);

/* ---- socks5.c: SO_SOCKS5 ------------------------------------------------- */

/** What one connect() through a proxy needs, copied from s->opt. */
struct zs_socks5_req {
	ip_addr_t dest_ip;         /* the address given to connect() */
	uint16_t dest_port;
	uint8_t ulen, plen;        /* 0: offer no-auth only */
	char user[255], pass[255];
};

/** Reactor: setsockopt of SO_SOCKS5 / ZSOCK_SO_SOCKS5_AUTH. */
int zs_socks5_set(struct zs_sock *s, int name, const void *val, socklen_t len);
/** Reactor: getsockopt of the same. */
int zs_socks5_get(struct zs_sock *s, int name, void *val, socklen_t *len);
/** Reactor: wipe and free s's SOCKS5 credentials, if any (socket freed). */
void zs_socks5_release(struct zs_sock *s);
/**
 * Reactor, from connect: if s has a proxy, copy the request into r, point
 * *ip / *port at the proxy and return true.
 */
bool zs_socks5_redirect(struct zs_sock *s, struct zs_socks5_req *r, ip_addr_t *ip,
			uint16_t *port);
/** The proxy's replies, in the order the exchange reads them. */
enum zs_socks5_phase {
	ZS_S5_METHOD,   /* method selection: VER METHOD */
	ZS_S5_AUTH,     /* RFC 1929 status: VER STATUS */
	ZS_S5_CONNECT,  /* VER REP RSV ATYP BND.ADDR BND.PORT */
};
/** The longest reply: a CONNECT reply with a 255-byte domain name. */
#define ZS_SOCKS5_REPLY_MAX (4 + 1 + 255 + 2)
/**
 * Pure (any thread, no state): the reply parser. rep holds the first len
 * bytes of a reply of phase ph (len may be 0; rep is read below len only).
 * Returns > 0: that many more bytes are needed (read exactly those, then
 * call again with all len + n bytes; len + n never exceeds
 * ZS_SOCKS5_REPLY_MAX); 0: the reply is complete and the exchange goes on
 * (for ZS_S5_METHOD *use_auth then says whether RFC 1929 comes next,
 * allowed only when offered_auth); -errno: connect() fails with it
 * (EPROTO malformed, EACCES refused, the CONNECT REP codes of SO_SOCKS5).
 * A reply that ends early (EOF) is the exchange's EPROTO.
 */
int zs_socks5_reply(enum zs_socks5_phase ph, const uint8_t *rep, size_t len, bool offered_auth,
		    bool *use_auth);
/**
 * Application side: the SOCKS5 exchange over s, connected to the proxy,
 * until deadline. Reads exactly the proxy's bytes. 0 or -errno.
 */
int zs_socks5_exchange(struct zs_sock *s, const struct zs_socks5_req *r, int64_t deadline);

/* ---- udp.c --------------------------------------------------------------- */
int zs_udp_open(struct zs_sock *s);          /* reactor */
void zs_udp_close(struct zs_sock *s);        /* reactor */
int zs_udp_bind(struct zs_sock *s, const ip_addr_t *ip, uint16_t port);
int zs_udp_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len);
ssize_t zs_udp_sendmsg(struct zs_sock *s, const struct iovec *iov, size_t iovcnt, int flags,
		       const struct sockaddr *to, socklen_t tolen);
/** msg_flags (may be NULL) gets ZSOCK_MSG_TRUNC when the datagram did not fit. */
ssize_t zs_udp_recvmsg(struct zs_sock *s, const struct iovec *iov, size_t iovcnt, int flags,
		       struct sockaddr *from, socklen_t *fromlen, int *msg_flags);
/** zsock_recv_buf / zsock_sendto_buf on a UDP socket. */
ssize_t zs_udp_recv_buf(struct zs_sock *s, struct net_buf **chain, int flags);
ssize_t zs_udp_send_buf(struct zs_sock *s, struct net_buf *chain, int flags,
			const struct sockaddr *to, socklen_t tolen);
/** FIONREAD: the next datagram's size, 0 when none. */
int zs_udp_next_size(struct zs_sock *s);
short zs_udp_poll_events(struct zs_sock *s);

/**
 * zs_sock_wait() with the direction lock l (rx_lock or tx_lock, held by the
 * caller) released while asleep and taken again before returning. A caller
 * MUST NOT sleep holding a direction lock: a MSG_DONTWAIT call, FIONREAD or
 * a second reader on the same fd would wait behind it (Linux, too, lets go
 * of the socket lock while a caller sleeps). State read before the sleep
 * must be read again after it.
 */
static inline int zs_sock_wait_unlocked(struct zs_sock *s, struct zs_lock *l,
					bool (*ready)(struct zs_sock *s),
					int64_t deadline, bool pool)
{
	int rc;

	zs_lock_give(l);
	rc = zs_sock_wait(s, ready, deadline, pool);
	zs_lock_take(l);
	return rc;
}

#endif
