/*
 * socketpair: two connected AF_UNIX ends inside the process. No reactor, no
 * lwIP, no allocation: every call runs in the caller's thread.
 *
 * Layout. A pair holds two ends and two directions; dir[i] carries what end
 * i writes and end 1 - i reads, in a fixed ring of SP_SIZE bytes
 * (CONFIG_NET_SOCKETPAIR_BUFFER_SIZE):
 *
 *   stream  the bytes themselves;
 *   dgram   records: a 4-byte length in host order, then the payload, laid
 *           into the ring like stream bytes (a record may wrap). A datagram
 *           costs its length + 4, so the largest is SP_SIZE - 4 bytes and a
 *           ring holds at most SP_SIZE / 4 of them.
 *
 * Ring invariant: head < SP_SIZE, len <= SP_SIZE; the queued bytes are
 * buf[(head + k) % SP_SIZE] for k in [0, len). For dgram, len is a sum of
 * whole records. Every copy between a ring and the caller walks the
 * caller's iovecs with a cursor (struct sp_iter), so send/recv and
 * sendmsg/recvmsg share one path and each byte is copied once.
 *
 * Locking. One zs_lock per pair guards both rings and both ends' flags. It
 * is held for one pass of an operation (a copy of at most SP_SIZE bytes),
 * never while sleeping. Each end has one wait queue on which its blocked
 * callers and its pollers sleep, following waitq.h: link, test under the
 * lock, sleep. Whoever changes what an end may do (data or room appeared,
 * a shutdown, a close) wakes that end's queue after giving the lock back.
 *
 * Lifetime. refs counts each open fd (two at creation) and each call in
 * flight (vtable ref/unref). close() marks the end closed, wakes both
 * queues and drops the fd's reference; the pair's slot is reclaimed (lock
 * and queues destroyed) when the count reaches zero, so a caller still
 * inside recv on the closed end finishes safely with EINTR.
 *
 * Pool. CONFIG_NET_SOCKETPAIR_MAX slots, each claimed by an atomic
 * compare-and-swap on its state: O(MAX) per socketpair(), no global lock
 * and no start-up hook. Memory: MAX * 2 * SP_SIZE bytes of static buffers
 * (128 KiB with the defaults).
 *
 * Deliberate choices where Linux differs or the standard is silent:
 *  - close() from another thread wakes calls blocked on that end with EINTR
 *    (Zephyr's rule; Linux keeps them blocked); a send on that end that was
 *    in flight but had not queued yet also fails with EINTR (sp_send).
 *  - A dgram end whose peer closed or shut down writing returns 0 from recv
 *    once its queue is empty, as a stream does (Linux blocks forever), and
 *    its sends fail with EPIPE (Linux: ECONNREFUSED, then ENOTCONN).
 *  - shutdown(SHUT_RD) discards what is queued for this end: recv returns 0
 *    at once (as the native TCP socket does), the peer's sends get EPIPE.
 *  - MSG_PEEK ignores MSG_WAITALL; MSG_TRUNC means nothing on a stream.
 *  - A dgram end reports POLLOUT when a one-byte datagram would fit; a
 *    larger one may still block.
 *  - Concurrent blocking sends of more than the free room on one stream end
 *    may interleave (no lock is held across a sleep), as on Linux.
 */
#include "engine/sockpair/sockpair.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/optval.h"
#include "engine/port/port.h"
#include "engine/reactor/waitq.h"

#define SP_SIZE ((uint32_t)CONFIG_NET_SOCKETPAIR_BUFFER_SIZE)
#define SP_HDR  ((uint32_t)sizeof(uint32_t))

_Static_assert(CONFIG_NET_SOCKETPAIR_BUFFER_SIZE > 4 &&
	       CONFIG_NET_SOCKETPAIR_BUFFER_SIZE <= (1 << 30),
	       "socketpair buffer size out of range");

/* end flags: written under the pair lock, read anywhere */
#define SP_NONBLOCK (1u << 0)  /* O_NONBLOCK */
#define SP_RX_SHUT  (1u << 1)  /* shutdown(SHUT_RD) */
#define SP_TX_SHUT  (1u << 2)  /* shutdown(SHUT_WR) */
#define SP_CLOSED   (1u << 3)  /* the fd was closed */

enum { SP_FREE, SP_TAKEN };

struct sp_pair;

struct sp_end {
	struct sp_pair *pair;
	int idx;                     /* 0 or 1: writes dir[idx], reads dir[1 - idx] */
	_Atomic uint32_t flags;
	_Atomic int32_t rcvtimeo_ms; /* -1: forever */
	_Atomic int32_t sndtimeo_ms;
	struct zs_waitq wq;          /* this end's blocked callers and pollers */
};

struct sp_dir {
	uint32_t head;               /* offset of the oldest queued byte */
	uint32_t len;                /* bytes queued */
	uint8_t buf[CONFIG_NET_SOCKETPAIR_BUFFER_SIZE];
};

struct sp_pair {
	_Atomic int state;           /* SP_FREE / SP_TAKEN */
	_Atomic int refs;
	int type;                    /* SOCK_STREAM / SOCK_DGRAM */
	struct zs_lock lock;         /* both dirs, flag changes */
	struct sp_end end[2];
	struct sp_dir dir[2];
};

static struct sp_pair pairs[CONFIG_NET_SOCKETPAIR_MAX];

/* ---- pool and lifetime ------------------------------------------------------ */

static struct sp_pair *sp_pair_take(void)
{
	int i;

	for (i = 0; i < CONFIG_NET_SOCKETPAIR_MAX; i++) {
		int expect = SP_FREE;

		if (atomic_compare_exchange_strong(&pairs[i].state, &expect, SP_TAKEN))
			return &pairs[i];
	}
	return NULL;
}

static void sp_pair_release(struct sp_pair *p)
{
	zs_waitq_destroy(&p->end[0].wq);
	zs_waitq_destroy(&p->end[1].wq);
	zs_lock_destroy(&p->lock);
	atomic_store_explicit(&p->state, SP_FREE, memory_order_release);
}

static void sp_ref(void *obj)
{
	struct sp_end *e = obj;

	atomic_fetch_add_explicit(&e->pair->refs, 1, memory_order_relaxed);
}

static void sp_unref(void *obj)
{
	struct sp_end *e = obj;
	struct sp_pair *p = e->pair;

	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		sp_pair_release(p);
}

size_t zs_sockpair_bytes(void)
{
	return sizeof(pairs);
}

uint32_t zs_sockpair_in_use(void)
{
	uint32_t n = 0;
	int i;

	for (i = 0; i < CONFIG_NET_SOCKETPAIR_MAX; i++)
		n += atomic_load(&pairs[i].state) != SP_FREE;
	return n;
}

/* see sockpair.h */
int zs_sockpair_check(int family, int type, int proto)
{
	if (family != AF_UNIX)
		return -EAFNOSUPPORT;
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return -EPROTOTYPE;
	if (proto != 0)
		return -EPROTONOSUPPORT;
	return 0;
}

/* see sockpair.h */
int zs_sockpair_open(int type, void *end[static 2])
{
	struct sp_pair *p = sp_pair_take();
	int i;

	if (p == NULL)
		return -ENOMEM;
	p->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	atomic_store(&p->refs, 2);
	zs_lock_init(&p->lock);
	for (i = 0; i < 2; i++) {
		struct sp_end *e = &p->end[i];

		e->pair = p;
		e->idx = i;
		atomic_store(&e->flags, (type & SOCK_NONBLOCK) ? SP_NONBLOCK : 0);
		atomic_store(&e->rcvtimeo_ms, -1);
		atomic_store(&e->sndtimeo_ms, -1);
		zs_waitq_init(&e->wq);
		p->dir[i].head = 0;
		p->dir[i].len = 0;
		end[i] = e;
	}
	return 0;
}

/* ---- caller buffers ----------------------------------------------------------- */

/*
 * A cursor over the caller's iovecs (one for send/recv, many for
 * sendmsg/recvmsg): every copy in or out of a ring goes through one, so
 * each byte is copied once whatever the shape of the caller's buffers.
 */
struct sp_iter {
	const struct iovec *iov;
	size_t cnt;
	size_t idx;   /* current iovec */
	size_t off;   /* bytes of it done */
};

static void iter_init(struct sp_iter *it, const struct iovec *iov, size_t cnt)
{
	it->iov = iov;
	it->cnt = cnt;
	it->idx = 0;
	it->off = 0;
}

/*
 * Move n bytes between flat memory p and the cursor (into the caller's
 * buffers when to_caller, else out of them) and advance the cursor. n MUST
 * NOT exceed the bytes left under the cursor.
 */
static void iter_xfer(struct sp_iter *it, uint8_t *p, size_t n, bool to_caller)
{
	while (n > 0) {
		const struct iovec *v = &it->iov[it->idx];
		size_t k = v->iov_len - it->off;

		if (k > n)
			k = n;
		if (k > 0) {
			uint8_t *c = (uint8_t *)v->iov_base + it->off;

			if (to_caller)
				memcpy(c, p, k);
			else
				memcpy(p, c, k);
		}
		it->off += k;
		p += k;
		n -= k;
		if (it->off == v->iov_len) {
			it->idx++;
			it->off = 0;
		}
	}
}

static size_t iov_total(const struct iovec *iov, size_t cnt)
{
	size_t i, n = 0;

	for (i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* ---- rings (pair lock held) ------------------------------------------------- */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/** Append n bytes from the cursor; n MUST NOT exceed SP_SIZE - d->len. */
static void dir_put(struct sp_dir *d, struct sp_iter *src, uint32_t n)
{
	uint32_t tail = (d->head + d->len) % SP_SIZE;
	uint32_t first = min_u32(n, SP_SIZE - tail);

	iter_xfer(src, d->buf + tail, first, false);
	iter_xfer(src, d->buf, n - first, false);
	d->len += n;
}

/** Copy n bytes starting off bytes after the head; off + n <= d->len. */
static void dir_get(struct sp_dir *d, uint32_t off, struct sp_iter *dst, uint32_t n)
{
	uint32_t pos = (d->head + off) % SP_SIZE;
	uint32_t first = min_u32(n, SP_SIZE - pos);

	iter_xfer(dst, d->buf + pos, first, true);
	iter_xfer(dst, d->buf, n - first, true);
}

/** A dgram record's length header. */
static void dir_put_hdr(struct sp_dir *d, uint32_t len)
{
	struct iovec v = { .iov_base = &len, .iov_len = SP_HDR };
	struct sp_iter it;

	iter_init(&it, &v, 1);
	dir_put(d, &it, SP_HDR);
}

static uint32_t dir_get_hdr(struct sp_dir *d)
{
	uint32_t len;
	struct iovec v = { .iov_base = &len, .iov_len = SP_HDR };
	struct sp_iter it;

	iter_init(&it, &v, 1);
	dir_get(d, 0, &it, SP_HDR);
	return len;
}

/** Consume n queued bytes. */
static void dir_drop(struct sp_dir *d, uint32_t n)
{
	d->head = (d->head + n) % SP_SIZE;
	d->len -= n;
	if (d->len == 0)
		d->head = 0;
}

/* ---- state (pair lock held, or a snapshot that may be stale at once) -------- */

static struct sp_end *peer_of(struct sp_end *e)
{
	return &e->pair->end[1 - e->idx];
}

static struct sp_dir *rx_dir(struct sp_end *e)
{
	return &e->pair->dir[1 - e->idx];
}

static struct sp_dir *tx_dir(struct sp_end *e)
{
	return &e->pair->dir[e->idx];
}

static uint32_t flags_of(struct sp_end *e)
{
	return atomic_load_explicit(&e->flags, memory_order_acquire);
}

/** Nothing more will arrive for e: recv returns 0 once the queue is empty. */
static bool rx_done(struct sp_end *e)
{
	return (flags_of(e) & SP_RX_SHUT) ||
	       (flags_of(peer_of(e)) & (SP_CLOSED | SP_TX_SHUT));
}

/** A send from e fails with EPIPE. */
static bool tx_broken(struct sp_end *e)
{
	return (flags_of(e) & SP_TX_SHUT) ||
	       (flags_of(peer_of(e)) & (SP_CLOSED | SP_RX_SHUT));
}

static void sp_lock(struct sp_end *e)
{
	zs_lock_take(&e->pair->lock);
}

static void sp_unlock(struct sp_end *e)
{
	zs_lock_give(&e->pair->lock);
}

/* ---- waiting ---------------------------------------------------------------- */

/*
 * One blocking call's wait state. A call tries its operation under the lock;
 * when the try says "would block" (-EAGAIN), sp_wait_step() decides: give up
 * (non-blocking, closed, timed out) or link to the end's queue the first time
 * and try again, later sleep and try again. After the deadline passes there
 * is one last try.
 */
struct sp_wait {
	struct zs_wait_node node;
	struct zs_waiter *waiter;
	int64_t deadline;
	bool block;
	bool linked;
};

static void sp_wait_init(struct sp_wait *wt, struct sp_end *e, int flags, int32_t timeo_ms)
{
	wt->waiter = NULL;
	wt->linked = false;
	wt->block = !(flags & ZSOCK_MSG_DONTWAIT) && !(flags_of(e) & SP_NONBLOCK);
	wt->deadline = timeo_ms < 0 ? ZS_FOREVER : zs_port_now_ms() + timeo_ms;
}

/** After a try gave -EAGAIN: 0 to try again, or the -errno to give up with. */
static int sp_wait_step(struct sp_wait *wt, struct sp_end *e)
{
	if (!wt->block)
		return -EAGAIN;
	if (flags_of(e) & SP_CLOSED)
		return -EINTR;
	if (!wt->linked) {
		wt->waiter = zs_waiter_self();
		zs_waitq_add(&e->wq, &wt->node, wt->waiter);
		wt->linked = true;
		return 0;  /* test again now that no wake-up can be missed */
	}
	if (zs_event_wait(&wt->waiter->ev, wt->deadline) == -ETIMEDOUT)
		wt->block = false;
	return 0;
}

static void sp_wait_done(struct sp_wait *wt, struct sp_end *e)
{
	if (wt->linked)
		zs_waitq_del(&e->wq, &wt->node);
}

/* ---- send ------------------------------------------------------------------- */

/** One pass: queue what fits of len bytes. Returns bytes queued (> 0), -EINTR, -EPIPE, -EAGAIN. */
static ssize_t stream_put(struct sp_end *e, struct sp_iter *src, size_t len)
{
	struct sp_dir *d = tx_dir(e);
	uint32_t n;

	if (flags_of(e) & SP_CLOSED)
		return -EINTR;  /* see sp_send */
	if (tx_broken(e))
		return -EPIPE;
	n = (uint32_t)(len < SP_SIZE - d->len ? len : SP_SIZE - d->len);
	if (n == 0)
		return -EAGAIN;
	dir_put(d, src, n);
	return n;
}

/** One pass: queue the whole datagram of len bytes. Returns len, -EINTR, -EPIPE or -EAGAIN. */
static ssize_t dgram_put(struct sp_end *e, struct sp_iter *src, size_t len)
{
	struct sp_dir *d = tx_dir(e);

	if (flags_of(e) & SP_CLOSED)
		return -EINTR;  /* see sp_send */
	if (tx_broken(e))
		return -EPIPE;
	if (SP_SIZE - d->len < SP_HDR + len)
		return -EAGAIN;
	dir_put_hdr(d, (uint32_t)len);
	dir_put(d, src, (uint32_t)len);
	return (ssize_t)len;
}

/*
 * A send that another thread's close() overtook (the call was already in
 * flight, waiting for the lock) queues nothing and fails with EINTR, as a
 * blocked one does: close() sets SP_CLOSED under the lock, and the peer
 * may have read EOF from then on, so bytes queued after it would be lost
 * behind the EOF while the send reported them sent.
 */
static ssize_t sp_send(struct sp_end *e, const struct iovec *iov, size_t cnt, int flags)
{
	bool stream = e->pair->type == SOCK_STREAM;
	size_t len = iov_total(iov, cnt), sent = 0;
	struct sp_iter src;
	struct sp_wait wt;
	ssize_t rc;

	if (!stream && len > SP_SIZE - SP_HDR)
		return -EMSGSIZE;
	if (stream && len == 0) {
		sp_lock(e);
		rc = tx_broken(e) ? -EPIPE : 0;
		sp_unlock(e);
		return rc;
	}
	iter_init(&src, iov, cnt);
	sp_wait_init(&wt, e, flags, atomic_load(&e->sndtimeo_ms));
	for (;;) {
		sp_lock(e);
		rc = stream ? stream_put(e, &src, len - sent) : dgram_put(e, &src, len);
		sp_unlock(e);
		if (rc >= 0) {
			zs_waitq_wake(&peer_of(e)->wq);
			sent += (size_t)rc;
			if (!stream || sent == len || !wt.block)
				break;
			continue;  /* blocking stream: queue everything */
		}
		if (rc != -EAGAIN)
			break;
		rc = sp_wait_step(&wt, e);
		if (rc < 0)
			break;
	}
	sp_wait_done(&wt, e);
	if (stream && sent > 0)
		return (ssize_t)sent;
	return rc;
}

/* ---- receive ---------------------------------------------------------------- */

/** One pass. Returns bytes copied (> 0), 0 at EOF, or -EAGAIN. */
static ssize_t stream_take(struct sp_end *e, struct sp_iter *dst, size_t len, int flags)
{
	struct sp_dir *d = rx_dir(e);
	uint32_t n;

	if (d->len == 0)
		return rx_done(e) ? 0 : -EAGAIN;
	n = (uint32_t)(len < d->len ? len : d->len);
	dir_get(d, 0, dst, n);
	if (!(flags & ZSOCK_MSG_PEEK))
		dir_drop(d, n);
	return n;
}

/*
 * One pass: one datagram into len bytes of room. Returns what was copied
 * (its real length with MSG_TRUNC), 0 at EOF, or -EAGAIN; *trunc tells
 * whether the datagram was longer than the room.
 */
static ssize_t dgram_take(struct sp_end *e, struct sp_iter *dst, size_t len, int flags,
			  bool *trunc)
{
	struct sp_dir *d = rx_dir(e);
	uint32_t hdr, n;

	if (d->len == 0)
		return rx_done(e) ? 0 : -EAGAIN;
	hdr = dir_get_hdr(d);
	n = (uint32_t)(len < hdr ? len : hdr);
	dir_get(d, SP_HDR, dst, n);
	if (!(flags & ZSOCK_MSG_PEEK))
		dir_drop(d, SP_HDR + hdr);
	*trunc = hdr > n;
	return (flags & ZSOCK_MSG_TRUNC) ? (ssize_t)hdr : (ssize_t)n;
}

static ssize_t sp_recv(struct sp_end *e, const struct iovec *iov, size_t cnt, int flags,
		       bool *trunc)
{
	bool stream = e->pair->type == SOCK_STREAM;
	bool waitall = stream && (flags & ZSOCK_MSG_WAITALL) && !(flags & ZSOCK_MSG_PEEK);
	size_t len = iov_total(iov, cnt), got = 0;
	struct sp_iter dst;
	struct sp_wait wt;
	ssize_t rc;

	*trunc = false;
	if (stream && len == 0)
		return 0;
	iter_init(&dst, iov, cnt);
	sp_wait_init(&wt, e, flags, atomic_load(&e->rcvtimeo_ms));
	for (;;) {
		sp_lock(e);
		rc = stream ? stream_take(e, &dst, len - got, flags)
			    : dgram_take(e, &dst, len, flags, trunc);
		sp_unlock(e);
		if (rc >= 0) {  /* data, a zero-length datagram, or EOF */
			if (rc > 0 && !(flags & ZSOCK_MSG_PEEK))
				zs_waitq_wake(&peer_of(e)->wq);  /* room for the writer */
			got += (size_t)rc;
			if (!waitall || rc == 0 || got == len)
				break;
			continue;
		}
		if (rc != -EAGAIN)
			break;
		rc = sp_wait_step(&wt, e);
		if (rc < 0)
			break;
	}
	sp_wait_done(&wt, e);
	if (got > 0 || rc >= 0)
		return (ssize_t)got;
	return rc;
}

/* ---- vtable: data ------------------------------------------------------------- */

static ssize_t sp_sendto(void *obj, const void *buf, size_t len, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	struct iovec v = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	(void)tolen;
	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (to != NULL)
		return -EISCONN;  /* as Linux for a connected AF_UNIX socket */
	return sp_send(obj, &v, 1, flags);
}

static ssize_t sp_recvfrom(void *obj, void *buf, size_t len, int flags,
			   struct sockaddr *from, socklen_t *fromlen)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	bool trunc;
	ssize_t n;

	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (from != NULL && fromlen == NULL)
		return -EFAULT;
	if (fromlen != NULL && (int)*fromlen < 0)
		return -EINVAL;
	n = sp_recv(obj, &v, 1, flags, &trunc);
	if (n >= 0 && from != NULL)
		*fromlen = 0;  /* the peer is unnamed: Linux stores no address */
	return n;
}

/* msg was checked at the edge (iovecs, count, total length) */
static ssize_t sp_sendmsg(void *obj, const struct msghdr *msg, int flags)
{
	if (msg->msg_name != NULL)
		return -EISCONN;
	return sp_send(obj, msg->msg_iov, msg->msg_iovlen, flags);
}

static ssize_t sp_recvmsg(void *obj, struct msghdr *msg, int flags)
{
	bool trunc;
	ssize_t n = sp_recv(obj, msg->msg_iov, msg->msg_iovlen, flags, &trunc);

	if (n < 0)
		return n;
	msg->msg_flags = trunc ? ZSOCK_MSG_TRUNC : 0;
	if (msg->msg_name != NULL)
		msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	return n;
}

static int sp_ioctl(void *obj, unsigned long request, void *arg)
{
	struct sp_end *e = obj;
	struct sp_dir *d = rx_dir(e);
	int n;

	switch (request) {
	case FIONREAD:
		sp_lock(e);
		if (d->len == 0)
			n = 0;
		else
			n = e->pair->type == SOCK_STREAM ? (int)d->len : (int)dir_get_hdr(d);
		sp_unlock(e);
		memcpy(arg, &n, sizeof(n));
		return 0;
	case FIONBIO:
		memcpy(&n, arg, sizeof(n));
		if (n)
			atomic_fetch_or(&e->flags, SP_NONBLOCK);
		else
			atomic_fetch_and(&e->flags, ~SP_NONBLOCK);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- vtable: control ---------------------------------------------------------- */

static int sp_bind(void *obj, const struct sockaddr *addr, socklen_t len)
{
	(void)obj, (void)addr, (void)len;
	return -EISCONN;
}

static int sp_connect(void *obj, const struct sockaddr *addr, socklen_t len)
{
	(void)obj, (void)addr, (void)len;
	return -EISCONN;
}

static int sp_listen(void *obj, int backlog)
{
	(void)obj, (void)backlog;
	return -EINVAL;
}

static int sp_accept(void *obj, struct sockaddr *addr, socklen_t *len)
{
	(void)obj, (void)addr, (void)len;
	return -EOPNOTSUPP;
}

static int sp_shutdown(void *obj, int how)
{
	struct sp_end *e = obj;

	if (how < ZSOCK_SHUT_RD || how > ZSOCK_SHUT_RDWR)
		return -EINVAL;
	sp_lock(e);
	if (how != ZSOCK_SHUT_WR) {
		struct sp_dir *d = rx_dir(e);

		atomic_fetch_or(&e->flags, SP_RX_SHUT);
		d->head = d->len = 0;
	}
	if (how != ZSOCK_SHUT_RD)
		atomic_fetch_or(&e->flags, SP_TX_SHUT);
	sp_unlock(e);
	zs_waitq_wake(&e->wq);
	zs_waitq_wake(&peer_of(e)->wq);
	return 0;
}

/* An unnamed AF_UNIX address: the family alone, as Linux reports it. */
static int sp_name(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr sa;
	socklen_t full = (socklen_t)(offsetof(struct sockaddr, sa_family) + sizeof(sa.sa_family));

	(void)obj;
	if (addr == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	memcpy(addr, &sa, *len < full ? *len : full);
	*len = full;
	return 0;
}

static int sp_fcntl(void *obj, int cmd, int flags)
{
	struct sp_end *e = obj;

	switch (cmd) {
	case F_GETFL:
		return O_RDWR | ((flags_of(e) & SP_NONBLOCK) ? O_NONBLOCK : 0);
	case F_SETFL:
		if (flags & O_NONBLOCK)
			atomic_fetch_or(&e->flags, SP_NONBLOCK);
		else
			atomic_fetch_and(&e->flags, ~SP_NONBLOCK);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- vtable: options ---------------------------------------------------------- */

static int sp_getsockopt(void *obj, int level, int name, void *val, socklen_t *len)
{
	struct sp_end *e = obj;

	if (val == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case SO_TYPE:     return zs_optval_put_int(val, len, e->pair->type);
	case SO_DOMAIN:   return zs_optval_put_int(val, len, AF_UNIX);
	case SO_PROTOCOL: return zs_optval_put_int(val, len, 0);
	case SO_ERROR:    return zs_optval_put_int(val, len, 0);  /* nothing asynchronous fails */
	case SO_RCVTIMEO: return zs_optval_put_timeo(val, len, atomic_load(&e->rcvtimeo_ms));
	case SO_SNDTIMEO: return zs_optval_put_timeo(val, len, atomic_load(&e->sndtimeo_ms));
	default:          return -ENOPROTOOPT;
	}
}

static int sp_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	struct sp_end *e = obj;

	if (val == NULL)
		return -EFAULT;
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case SO_RCVTIMEO: return zs_optval_get_timeo(val, len, &e->rcvtimeo_ms);
	case SO_SNDTIMEO: return zs_optval_get_timeo(val, len, &e->sndtimeo_ms);
	default:          return -ENOPROTOOPT;  /* SO_TYPE & co. are read-only */
	}
}

/* ---- vtable: poll and close --------------------------------------------------- */

static int sp_poll_events(void *obj)
{
	struct sp_end *e = obj;
	bool stream = e->pair->type == SOCK_STREAM;
	bool eof, broken;
	uint32_t room;
	int ev = 0;

	sp_lock(e);
	if (flags_of(e) & SP_CLOSED) {
		sp_unlock(e);
		return ZS_POLL_CLOSED;
	}
	eof = rx_done(e);
	broken = tx_broken(e);
	room = SP_SIZE - tx_dir(e)->len;
	if (rx_dir(e)->len > 0 || eof)
		ev |= ZSOCK_POLLIN;
	if (broken || room > (stream ? 0 : SP_HDR))
		ev |= ZSOCK_POLLOUT;
	if ((flags_of(peer_of(e)) & SP_CLOSED) || (eof && broken))
		ev |= ZSOCK_POLLHUP;
	sp_unlock(e);
	return ev;
}

static void sp_poll_link(void *obj, struct zs_wait_node *node, struct zs_waiter *w)
{
	zs_waitq_add(&((struct sp_end *)obj)->wq, node, w);
}

static void sp_poll_unlink(void *obj, struct zs_wait_node *node)
{
	zs_waitq_del(&((struct sp_end *)obj)->wq, node);
}

static int sp_close(void *obj)
{
	struct sp_end *e = obj;

	sp_lock(e);
	atomic_fetch_or(&e->flags, SP_CLOSED);
	sp_unlock(e);
	zs_waitq_wake(&e->wq);            /* our blocked callers and pollers: EINTR */
	zs_waitq_wake(&peer_of(e)->wq);   /* the peer: EOF, EPIPE, POLLHUP */
	sp_unref(e);                      /* the fd table's reference */
	return 0;
}

const struct zs_fd_vtable zs_sockpair_vtable = {
	.ref = sp_ref,
	.unref = sp_unref,
	.close = sp_close,
	.bind = sp_bind,
	.connect = sp_connect,
	.listen = sp_listen,
	.accept = sp_accept,
	.sendto = sp_sendto,
	.recvfrom = sp_recvfrom,
	.shutdown = sp_shutdown,
	.getsockopt = sp_getsockopt,
	.setsockopt = sp_setsockopt,
	.getsockname = sp_name,
	.getpeername = sp_name,
	.fcntl = sp_fcntl,
	.sendmsg = sp_sendmsg,
	.recvmsg = sp_recvmsg,
	.ioctl = sp_ioctl,
	.poll_events = sp_poll_events,
	.poll_link = sp_poll_link,
	.poll_unlink = sp_poll_unlink,
};
