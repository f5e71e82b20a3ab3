/*
 * Native socket objects: the pool, reference counts, waiting, addresses,
 * options, and the fd vtable that dispatches to tcp.c / udp.c.
 */
#include "engine/sock/sock.h"
#include "engine/engine_init.h"
#include "engine/pollset.h"
#include "engine/stats.h"

#include <errno.h>
#include <string.h>

#include "lwip/err.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

static struct zs_sock socks[CONFIG_NET_MAX_CONTEXTS];
static struct zs_lock pool_lock;
static struct zs_list pool_free;
static uint32_t pool_used;
struct zs_waitq zs_tx_pool_wq;

void zs_engine_objects_init(void)
{
	int i;

	zs_lock_init(&pool_lock);
	zs_list_init(&pool_free);
	zs_waitq_init(&zs_tx_pool_wq);
	for (i = 0; i < CONFIG_NET_MAX_CONTEXTS; i++) {
		struct zs_sock *s = &socks[i];

		zs_waitq_init(&s->wq);
		zs_lock_init(&s->rx_lock);
		zs_lock_init(&s->tx_lock);
		zs_list_append(&pool_free, &s->pool_node);
	}
	zs_fd_table_init();
	zs_pollset_init();
}

static void sock_work_fn(struct zs_work *w);

struct zs_sock *zs_sock_alloc(int family, int type, int proto)
{
	struct zs_list *n;
	struct zs_sock *s;

	zs_lock_take(&pool_lock);
	n = zs_list_pop(&pool_free);
	if (n != NULL)
		pool_used++;
	zs_lock_give(&pool_lock);
	if (n == NULL)
		return NULL;
	s = zs_container_of(n, struct zs_sock, pool_node);

	s->family = family;
	s->type = type;
	s->proto = proto;
	atomic_store(&s->refs, 1);
	atomic_store(&s->dying, false);
	atomic_store(&s->flags, 0);
	atomic_store(&s->so_error, 0);
	atomic_store(&s->conn_error, 0);
	atomic_store(&s->fwd_credit, 0);
	atomic_store(&s->rcvtimeo_ms, -1);
	atomic_store(&s->sndtimeo_ms, -1);
	s->rx_head_off = 0;
	atomic_store(&s->held, 0);
	atomic_store(&s->tx_need, 1);
	zs_ring_init(&s->rx, s->rx_slots, ZS_RING_SIZE);
	zs_ring_init(&s->tx, s->tx_slots, ZS_RING_SIZE);
	zs_ring_init(&s->done, s->done_slots, ZS_RING_SIZE);
	s->pcb.any = NULL;
	zs_work_init(&s->work, sock_work_fn);
	zs_list_init(&s->inflight);
	s->tx_cur = NULL;
	s->acked_head = 0;
	s->reactor_ref = false;
	s->backlog_pending = false;
	s->fin_sent = false;
	s->ack_owed = false;
	s->listener = NULL;
	ip_addr_set_zero(&s->local_ip);
	ip_addr_set_zero(&s->remote_ip);
	s->local_port = s->remote_port = 0;
	s->backlog = 0;
	zs_sockopt_init(s);
	return s;
}

void zs_sock_ref(struct zs_sock *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

static void pool_return(struct zs_sock *s)
{
	ZS_ASSERT_REACTOR();
	zs_sock_drain_done(s); /* chains released after the reactor let go */
	zs_reactor_cancel(&s->work);
	zs_socks5_release(s);    /* wipes the password */
	zs_lock_take(&pool_lock);
	pool_used--;
	zs_list_append(&pool_free, &s->pool_node);
	zs_lock_give(&pool_lock);
}

/*
 * The object returns to the pool in the reactor only: its work item may be
 * queued or running there, and re-initialising a queued node would corrupt
 * the queue. An application thread that drops the last reference marks the
 * object dying and posts the work item instead; sock_work_fn() sees the
 * mark and does the return, once (a work item posted before the last
 * unref may run in between: it finds refs == 0 and no mark, and leaves).
 */
void zs_sock_unref(struct zs_sock *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (zs_port_in_reactor()) {
		pool_return(s);
	} else {
		/* only this post returns the object: a work item posted
		 * earlier may run first and must leave it alone */
		atomic_store_explicit(&s->dying, true, memory_order_release);
		zs_reactor_post(&s->work);
	}
}

struct zs_waitq *zs_sock_pool_waitq(void)
{
	return &zs_tx_pool_wq;
}

uint32_t zs_sock_in_use(void)
{
	uint32_t n;

	zs_lock_take(&pool_lock);
	n = pool_used;
	zs_lock_give(&pool_lock);
	return n;
}

void zs_sock_notify(struct zs_sock *s)
{
	zs_waitq_wake(&s->wq);
}

bool zs_sock_may_block(struct zs_sock *s, int flags)
{
	return !(flags & ZSOCK_MSG_DONTWAIT) && !(zs_sock_flags(s) & ZS_SF_NONBLOCK);
}

int zs_sock_wait(struct zs_sock *s, bool (*ready)(struct zs_sock *s),
		 int64_t deadline, bool pool)
{
	struct zs_waiter *w = zs_waiter_self();
	struct zs_wait_node node, pnode;
	int rc = 0;

	zs_waitq_add(&s->wq, &node, w);
	if (pool)
		zs_waitq_add(&zs_tx_pool_wq, &pnode, w);
	for (;;) {
		if (ready(s))
			break;
		if (zs_sock_flags(s) & ZS_SF_CLOSED) {
			rc = -EINTR;
			break;
		}
		if (zs_event_wait(&w->ev, deadline) == -ETIMEDOUT) {
			rc = ready(s) ? 0 : -EAGAIN;
			break;
		}
	}
	if (pool)
		zs_waitq_del(&zs_tx_pool_wq, &pnode);
	zs_waitq_del(&s->wq, &node);
	return rc;
}

/* ---- reactor-side cleanup --------------------------------------------------- */

/* Free a received chain, or several joined into one (zs_nbuf_give_joined):
 * each joined chain's head holds its pbuf and its credit. Returns the
 * credit (window bytes) of them all. */
static uint32_t free_rx_chain(struct net_buf *b)
{
	uint32_t credit = 0;

	while (b != NULL) {
		struct net_buf *next = b->frags;

		if (b->owner != NULL)
			pbuf_free((struct pbuf *)b->owner);
		credit += b->credit;
		(void)zs_buf_free_owned(b);
		b = next;
	}
	return credit;
}

uint32_t zs_sock_drain_done(struct zs_sock *s)
{
	struct net_buf *b;
	uint32_t bytes = 0;

	ZS_ASSERT_REACTOR();
	while ((b = zs_ring_get(&s->done)) != NULL)
		bytes += free_rx_chain(b);
	return bytes;
}

void zs_sock_drain_rx(struct zs_sock *s)
{
	void *p;

	ZS_ASSERT_REACTOR();
	zs_sock_drain_done(s);
	/* rx has one consumer at a time: an application thread may be taking
	 * from it right now (a close from another thread does not wait for
	 * calls in flight); the lock lets it finish first, and it then finds
	 * the ring empty */
	zs_lock_take(&s->rx_lock);
	while ((p = zs_ring_get(&s->rx)) != NULL) {
		if (zs_sock_flags(s) & ZS_SF_LISTENING) {
			/* a connection nobody accepted */
			struct zs_sock *c = p;

			c->listener = NULL;
			zs_sock_set(c, ZS_SF_CLOSED);
			zs_tcp_close(c);
		} else {
			free_rx_chain(p);
		}
	}
	zs_lock_give(&s->rx_lock);
}

void zs_sock_reactor_release(struct zs_sock *s)
{
	struct zs_list *n;
	void *b;

	ZS_ASSERT_REACTOR();
	if (!s->reactor_ref)
		return;
	zs_sock_drain_rx(s);
	while ((n = zs_list_pop(&s->inflight)) != NULL)
		zs_nbuf_free_out(zs_container_of(n, struct net_buf, node));
	s->tx_cur = NULL;
	/* a sender may be inside a call, past its check of the flags: it puts
	 * what it has under tx_lock, then finds ZS_SF_CLOSED or ZS_SF_DEAD on
	 * its next look; emptying tx under the lock frees what it put (sock.h) */
	zs_lock_take(&s->tx_lock);
	while ((b = zs_ring_get(&s->tx)) != NULL)
		zs_nbuf_free_out(b); /* one buffer per entry */
	zs_lock_give(&s->tx_lock);
	zs_waitq_wake(&zs_tx_pool_wq);
	zs_reactor_cancel(&s->work);
	s->reactor_ref = false;
	zs_sock_unref(s);
}

static void sock_work_fn(struct zs_work *w)
{
	struct zs_sock *s = zs_container_of(w, struct zs_sock, work);

	if (atomic_exchange_explicit(&s->dying, false, memory_order_acq_rel)) {
		pool_return(s);
		return;
	}
	if (atomic_load_explicit(&s->refs, memory_order_acquire) == 0)
		return; /* the last reference's own post is on its way */
	if (s->type == SOCK_STREAM) {
		zs_tcp_work(s);
	} else {
		zs_sock_drain_done(s);
	}
}

/* ---- addresses ---------------------------------------------------------------- */

int zs_addr_from_sockaddr(struct zs_sock *s, const struct sockaddr *sa,
			  socklen_t len, ip_addr_t *ip, uint16_t *port)
{
	if (sa == NULL)
		return -EFAULT;
	if ((int)len < (int)sizeof(sa_family_t)) /* also a "negative" length */
		return -EINVAL;
	if (sa->sa_family != s->family)
		return -EAFNOSUPPORT;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (len < (socklen_t)sizeof(*in))
			return -EINVAL;
		ip_addr_set_ip4_u32_val(*ip, in->sin_addr.s_addr);
		*port = lwip_ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (len < (socklen_t)sizeof(*in6))
			return -EINVAL;
		memset(ip, 0, sizeof(*ip));
		IP_SET_TYPE(ip, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(ip)->addr, &in6->sin6_addr, 16);
		ip6_addr_clear_zone(ip_2_ip6(ip));
		*port = lwip_ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void zs_addr_to_sockaddr_raw(int family, const uint8_t *addr, uint16_t port,
			     struct sockaddr *sa, socklen_t *len)
{
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t full;

	memset(&u, 0, sizeof(u));
	if (family == AF_INET) {
		u.in.sin_family = AF_INET;
		u.in.sin_port = lwip_htons(port);
		memcpy(&u.in.sin_addr, addr, 4);
		full = sizeof(u.in);
	} else {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = lwip_htons(port);
		memcpy(&u.in6.sin6_addr, addr, 16);
		full = sizeof(u.in6);
	}
	memcpy(sa, &u, *len < full ? *len : full);
	*len = full;
}

void zs_addr_to_sockaddr(int family, const ip_addr_t *ip, uint16_t port,
			 struct sockaddr *sa, socklen_t *len)
{
	uint8_t raw[16] = { 0 };

	if (family == AF_INET) {
		if (IP_IS_V4(ip))
			memcpy(raw, &ip_2_ip4(ip)->addr, 4);
	} else if (IP_IS_V6(ip)) {
		memcpy(raw, ip_2_ip6(ip)->addr, 16);
	} else {
		/* v4 peer on a v6 socket: v4-mapped form */
		raw[10] = raw[11] = 0xff;
		memcpy(raw + 12, &ip_2_ip4(ip)->addr, 4);
	}
	zs_addr_to_sockaddr_raw(family, raw, port, sa, len);
}

bool zs_addr_is_local(const ip_addr_t *ip)
{
	struct netif *n;

	ZS_ASSERT_REACTOR();
	if (ip_addr_isany(ip))
		return true;
	NETIF_FOREACH(n) {
		if (IP_IS_V4(ip) && ip4_addr_cmp(ip_2_ip4(ip), netif_ip4_addr(n)))
			return true;
		if (IP_IS_V6(ip) && netif_get_ip6_addr_match(n, ip_2_ip6(ip)) >= 0)
			return true;
	}
	return false;
}

int zs_err_to_errno(int err)
{
	switch (err) {
	case ERR_OK:         return 0;
	case ERR_MEM:        return ENOMEM;
	case ERR_BUF:        return ENOBUFS;
	case ERR_TIMEOUT:    return ETIMEDOUT;
	case ERR_RTE:        return EHOSTUNREACH;
	case ERR_INPROGRESS: return EINPROGRESS;
	case ERR_VAL:        return EINVAL;
	case ERR_WOULDBLOCK: return EWOULDBLOCK;
	case ERR_USE:        return EADDRINUSE;
	case ERR_ALREADY:    return EALREADY;
	case ERR_ISCONN:     return EISCONN;
	case ERR_CONN:       return ENOTCONN;
	case ERR_IF:         return ENETDOWN;
	case ERR_ABRT:       return ECONNABORTED;
	case ERR_RST:        return ECONNRESET;
	case ERR_CLSD:       return ENOTCONN;
	case ERR_ARG:        return EINVAL;
	default:             return EIO;
	}
}

/* ---- reactor calls of the control path ---------------------------------------- */

struct bind_args {
	struct zs_sock *s;
	ip_addr_t ip;
	uint16_t port;
};

static int bind_r(void *p)
{
	struct bind_args *a = p;

	if (zs_sock_flags(a->s) & ZS_SF_BOUND)
		return -EINVAL;
	if (a->s->type == SOCK_STREAM)
		return zs_tcp_bind(a->s, &a->ip, a->port);
	return zs_udp_bind(a->s, &a->ip, a->port);
}

static int sock_bind(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct bind_args a = { .s = obj };
	int rc = zs_addr_from_sockaddr(a.s, addr, len, &a.ip, &a.port);

	if (rc < 0)
		return rc;
	return zs_reactor_call(bind_r, &a);
}

static int sock_connect(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct zs_sock *s = obj;

	if (s->type == SOCK_STREAM)
		return zs_tcp_connect(s, addr, len);
	return zs_udp_connect(s, addr, len);
}

static int sock_listen(void *obj, int backlog)
{
	struct zs_sock *s = obj;

	if (s->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	return zs_tcp_listen(s, backlog);
}

static int sock_accept(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct zs_sock *s = obj;

	if (s->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	return zs_tcp_accept(s, addr, len);
}

/* ---- iovec cursors ------------------------------------------------------------ */

size_t zs_iov_put(struct zs_iov_cursor *c, const uint8_t *src, size_t n)
{
	size_t done = 0;

	while (done < n && c->idx < c->cnt) {
		const struct iovec *v = &c->iov[c->idx];
		size_t room = v->iov_len - c->off;

		if (room == 0) {
			c->idx++;
			c->off = 0;
			continue;
		}
		if (room > n - done)
			room = n - done;
		memcpy((uint8_t *)v->iov_base + c->off, src + done, room);
		c->off += room;
		done += room;
	}
	return done;
}

/* ---- data path entry points ----------------------------------------------------- */

static ssize_t sock_sendto(void *obj, const void *buf, size_t len, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	struct zs_sock *s = obj;
	struct iovec v = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	if (len > SSIZE_MAX)
		return -EINVAL; /* negative as ssize_t: no buffer is that long */
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (s->type == SOCK_STREAM)
		return zs_tcp_send(s, buf, len, flags);
	return zs_udp_sendmsg(s, &v, 1, flags, to, tolen);
}

static ssize_t sock_recvfrom(void *obj, void *buf, size_t len, int flags,
			     struct sockaddr *from, socklen_t *fromlen)
{
	struct zs_sock *s = obj;
	struct iovec v = { .iov_base = buf, .iov_len = len };

	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (from != NULL && fromlen == NULL)
		return -EFAULT;
	if (fromlen != NULL && (int)*fromlen < 0)
		return -EINVAL;
	if (s->type == SOCK_STREAM) {
		ssize_t n = zs_tcp_recv(s, &v, 1, flags);

		if (n >= 0 && from != NULL)
			zs_addr_to_sockaddr(s->family, &s->remote_ip, s->remote_port, from, fromlen);
		return n;
	}
	return zs_udp_recvmsg(s, &v, 1, flags, from, fromlen, NULL);
}

/* msg was checked at the edge (api/zsock/msg.c): iovecs valid, total fits. */
static ssize_t sock_sendmsg(void *obj, const struct msghdr *msg, int flags)
{
	struct zs_sock *s = obj;
	size_t i, total = 0;

	if (s->type != SOCK_STREAM)
		return zs_udp_sendmsg(s, msg->msg_iov, msg->msg_iovlen, flags,
				      msg->msg_name, msg->msg_namelen);
	/* a stream is the buffers one after another: one copy each, as send */
	for (i = 0; i < msg->msg_iovlen; i++) {
		const struct iovec *v = &msg->msg_iov[i];
		ssize_t n;

		if (v->iov_len == 0)
			continue;
		n = zs_tcp_send(s, v->iov_base, v->iov_len, flags);
		if (n < 0)
			return total > 0 ? (ssize_t)total : n;
		total += (size_t)n;
		if ((size_t)n < v->iov_len)
			break;
	}
	if (total == 0 && msg->msg_iovlen > 0)
		return zs_tcp_send(s, NULL, 0, flags); /* state errors of a 0-byte send */
	return (ssize_t)total;
}

static ssize_t sock_recvmsg(void *obj, struct msghdr *msg, int flags)
{
	struct zs_sock *s = obj;
	ssize_t n;

	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (s->type == SOCK_STREAM) {
		n = zs_tcp_recv(s, msg->msg_iov, msg->msg_iovlen, flags);
		if (n >= 0)
			msg->msg_namelen = 0; /* a connected stream names no source */
		return n;
	}
	return zs_udp_recvmsg(s, msg->msg_iov, msg->msg_iovlen, flags,
			      msg->msg_name, msg->msg_name ? &msg->msg_namelen : NULL,
			      &msg->msg_flags);
}

static int sock_ioctl(void *obj, unsigned long request, void *arg)
{
	struct zs_sock *s = obj;
	int n;

	switch (request) {
	case FIONREAD:
		n = s->type == SOCK_STREAM ? zs_tcp_readable_bytes(s) : zs_udp_next_size(s);
		if (n < 0)
			return n;
		memcpy(arg, &n, sizeof(n));
		return 0;
	case FIONBIO:
		memcpy(&n, arg, sizeof(n));
		if (n)
			zs_sock_set(s, ZS_SF_NONBLOCK);
		else
			zs_sock_clear(s, ZS_SF_NONBLOCK);
		return 0;
	default:
		return -EINVAL;
	}
}

static int sock_shutdown(void *obj, int how)
{
	struct zs_sock *s = obj;

	if (how < ZSOCK_SHUT_RD || how > ZSOCK_SHUT_RDWR)
		return -EINVAL;
	if (s->type != SOCK_STREAM) {
		/* datagram: only the local effect */
		if (how != ZSOCK_SHUT_WR)
			zs_sock_set(s, ZS_SF_RX_SHUT);
		if (how != ZSOCK_SHUT_RD)
			zs_sock_set(s, ZS_SF_TX_SHUT);
		zs_sock_notify(s);
		return 0;
	}
	return zs_tcp_shutdown(s, how);
}

struct name_args {
	struct zs_sock *s;
	bool peer;
	struct sockaddr *addr;
	socklen_t *len;
};

static int name_r(void *p)
{
	struct name_args *a = p;
	struct zs_sock *s = a->s;
	ip_addr_t ip;
	uint16_t port;

	if (s->pcb.any != NULL) {
		if (s->type == SOCK_STREAM) {
			s->local_ip = s->pcb.tcp->local_ip;
			s->local_port = s->pcb.tcp->local_port;
		} else {
			s->local_ip = s->pcb.udp->local_ip;
			s->local_port = s->pcb.udp->local_port;
		}
	}
	if (a->peer) {
		uint32_t f = zs_sock_flags(s);

		if (!(f & ZS_SF_CONNECTED) || ((f & ZS_SF_DEAD) && s->type == SOCK_STREAM))
			return -ENOTCONN;
		ip = s->remote_ip;
		port = s->remote_port;
	} else {
		ip = s->local_ip;
		port = s->local_port;
	}
	zs_addr_to_sockaddr(s->family, &ip, port, a->addr, a->len);
	return 0;
}

static int sock_name(void *obj, struct sockaddr *addr, socklen_t *len, bool peer)
{
	struct name_args a = { .s = obj, .peer = peer, .addr = addr, .len = len };

	if (addr == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	return zs_reactor_call(name_r, &a);
}

static int sock_getsockname(void *obj, struct sockaddr *addr, socklen_t *len)
{
	return sock_name(obj, addr, len, false);
}

static int sock_getpeername(void *obj, struct sockaddr *addr, socklen_t *len)
{
	return sock_name(obj, addr, len, true);
}

static int sock_fcntl(void *obj, int cmd, int flags)
{
	struct zs_sock *s = obj;

	switch (cmd) {
	case F_GETFL:
		return O_RDWR | ((zs_sock_flags(s) & ZS_SF_NONBLOCK) ? O_NONBLOCK : 0);
	case F_SETFL:
		if (flags & O_NONBLOCK)
			zs_sock_set(s, ZS_SF_NONBLOCK);
		else
			zs_sock_clear(s, ZS_SF_NONBLOCK);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- options (engine/sock/sockopt.c) ------------------------------------------ */

static int sock_getsockopt(void *obj, int level, int name, void *val, socklen_t *len)
{
	return zs_sockopt_get(obj, level, name, val, len);
}

static int sock_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	return zs_sockopt_set(obj, level, name, val, len);
}

/* ---- poll --------------------------------------------------------------------- */

static int sock_poll_events(void *obj)
{
	struct zs_sock *s = obj;

	if (zs_sock_flags(s) & ZS_SF_CLOSED)
		return ZS_POLL_CLOSED;
	if (s->type == SOCK_STREAM)
		return zs_tcp_poll_events(s);
	return zs_udp_poll_events(s);
}

static void sock_poll_link(void *obj, struct zs_wait_node *node, struct zs_waiter *w)
{
	zs_waitq_add(&((struct zs_sock *)obj)->wq, node, w);
}

static void sock_poll_wake(void *obj)
{
	zs_sock_notify(obj);
}

static void sock_poll_unlink(void *obj, struct zs_wait_node *node)
{
	zs_waitq_del(&((struct zs_sock *)obj)->wq, node);
}

/* ---- lifetime ---------------------------------------------------------------- */

static void sock_ref_v(void *obj) { zs_sock_ref(obj); }
static void sock_unref_v(void *obj) { zs_sock_unref(obj); }

static int close_r(void *p)
{
	struct zs_sock *s = p;

	if (s->type == SOCK_STREAM)
		zs_tcp_close(s);
	else
		zs_udp_close(s);
	/* the fd table's reference, dropped here so that the object is back
	 * in the pool when close() returns unless a call is still in flight */
	zs_sock_unref(s);
	return 0;
}

static int sock_close(void *obj)
{
	struct zs_sock *s = obj;

	zs_sock_set(s, ZS_SF_CLOSED);
	zs_sock_notify(s);
	zs_reactor_call(close_r, s);
	return 0;
}

const struct zs_fd_vtable zs_sock_vtable = {
	.ref = sock_ref_v,
	.unref = sock_unref_v,
	.close = sock_close,
	.bind = sock_bind,
	.connect = sock_connect,
	.listen = sock_listen,
	.accept = sock_accept,
	.sendto = sock_sendto,
	.recvfrom = sock_recvfrom,
	.shutdown = sock_shutdown,
	.getsockopt = sock_getsockopt,
	.setsockopt = sock_setsockopt,
	.getsockname = sock_getsockname,
	.getpeername = sock_getpeername,
	.fcntl = sock_fcntl,
	.sendmsg = sock_sendmsg,
	.recvmsg = sock_recvmsg,
	.ioctl = sock_ioctl,
	.poll_events = sock_poll_events,
	.poll_link = sock_poll_link,
	.poll_unlink = sock_poll_unlink,
	.poll_wake = sock_poll_wake,
	.recv_buf = zs_sock_recv_buf,
	.send_buf = zs_sock_send_buf,
};

/* ---- creation ----------------------------------------------------------------- */

static int open_r(void *p)
{
	struct zs_sock *s = p;
	int rc = s->type == SOCK_STREAM ? zs_tcp_open(s) : zs_udp_open(s);

	if (rc == 0) {
		s->reactor_ref = true;
		zs_sock_ref(s);
	}
	return rc;
}

/* see engine/sock/native.h */
int zs_sock_create(int family, int type, int proto)
{
	struct zs_sock *s;
	int fd, rc;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (type == SOCK_STREAM) {
		if (proto == 0)
			proto = IPPROTO_TCP;
		if (proto != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
	} else if (type == SOCK_DGRAM) {
		if (proto == 0)
			proto = IPPROTO_UDP;
		if (proto != IPPROTO_UDP)
			return -EPROTONOSUPPORT;
	} else {
		return -EPROTOTYPE;
	}
	fd = zs_fd_reserve();
	if (fd < 0)
		return fd;
	s = zs_sock_alloc(family, type, proto);
	if (s == NULL) {
		zs_fd_unreserve(fd);
		return -ENOMEM;
	}
	rc = zs_reactor_call(open_r, s);
	if (rc < 0) {
		zs_sock_unref(s);
		zs_fd_unreserve(fd);
		return rc;
	}
	zs_fd_finalize(fd, s, &zs_sock_vtable);
	return fd;
}
