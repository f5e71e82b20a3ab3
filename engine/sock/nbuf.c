/*
 * The native zero-copy API (<zsock/net_buf.h>) on native sockets: who owns
 * a buffer, and the moves between the engine and a caller.
 *
 * Every move of ownership is one compare-and-swap on net_buf.own, so a
 * buffer handed over twice (double release, a send after a send, a release
 * of a sent buffer, two threads racing with the same chain) fails on the
 * second move and changes nothing. The pointer is checked first: only an
 * element of a registered pool's array is ever dereferenced, and of a
 * buffer only its own word is read before the move succeeds.
 *
 * A received chain held by a caller keeps a reference on its socket and is
 * counted in s->held, which bounds reception (see sock.h): the release puts
 * the chain on the socket's done ring, where the reactor frees the pbufs and
 * opens the TCP window by the chain's credit.
 */
#include "engine/sock/sock.h"

#include <errno.h>
#include <string.h>

#include "engine/lwip_port/csum.h"
#include "lwip/pbuf.h"

/* see sock.h: rx_lock held, h is the head of s->rx */
void zs_nbuf_give(struct zs_sock *s, struct net_buf *h)
{
	zs_nbuf_give_joined(s, h, 1);
}

/* see sock.h: rx_lock held, h heads the first n chains of s->rx, joined */
void zs_nbuf_give_joined(struct zs_sock *s, struct net_buf *h, uint32_t n)
{
	/* counted before they leave the ring: the reactor never sees room that
	 * is not there */
	atomic_fetch_add_explicit(&s->held, n, memory_order_acq_rel);
	for (uint32_t i = 0; i < n; i++)
		zs_ring_get(&s->rx);
	zs_sock_ref(s);
	h->sock = s;
	h->chains = (uint8_t)n;
	__atomic_store_n(&h->own, ZS_OWN_USER, __ATOMIC_RELEASE);
}

static bool is_tx_buf(const struct net_buf *b)
{
	return b->pool == &zs_tx_pool;
}

/* see sock.h: ownership is taken buffer by buffer before anything else of
 * a buffer is read, so two threads racing with one chain never both read
 * a buffer the other is changing */
int zs_nbuf_claim_tx(struct net_buf *chain, size_t *bytes)
{
	struct net_buf *b, *undo;
	int n = 0;

	*bytes = 0;
	for (b = chain; b != NULL; b = b->frags) {
		/* bounded walk: a chain longer than the pool has a loop in it */
		if (n == (int)zs_tx_pool.count || !zs_buf_is_valid(b) ||
		    !zs_buf_own_move(b, ZS_OWN_USER, ZS_OWN_ENGINE))
			goto fail;
		n++;
		if (!is_tx_buf(b) || b->data != zs_buf_storage(b) || b->len > b->size) {
			zs_buf_own_move(b, ZS_OWN_ENGINE, ZS_OWN_USER);
			n--;
			goto fail;
		}
		*bytes += b->len;
	}
	return n;
fail:
	for (undo = chain; n > 0; undo = undo->frags, n--)
		(void)zs_buf_own_move(undo, ZS_OWN_ENGINE, ZS_OWN_USER);
	*bytes = 0;
	return -EINVAL;
}

/*
 * Forwarding (zsock_send_buf of a received chain, TCP): the buffers go out
 * as they are and keep their pbufs until the peer has acknowledged them.
 * At most ZS_FWD_MAX of them at a time, over all sockets, so that
 * forwarding never holds the receive buffers the acknowledgements need
 * (half of lwIP's receive pool; <zsock/net_buf.h>, zsock_send_buf).
 */
#define ZS_FWD_MAX_DEFAULT ((uint32_t)(PBUF_POOL_SIZE / 2 > 0 ? PBUF_POOL_SIZE / 2 : 1))
static _Atomic uint32_t fwd_in_use;
static _Atomic uint32_t fwd_max = ZS_FWD_MAX_DEFAULT; /* zs_nbuf_fwd_max_set */
#define ZS_FWD_MAX atomic_load_explicit(&fwd_max, memory_order_relaxed)

/* see native.h */
void zs_nbuf_fwd_max_set(uint32_t n)
{
	atomic_store_explicit(&fwd_max, n != 0 ? n : ZS_FWD_MAX_DEFAULT, memory_order_relaxed);
}

/* see sock.h */
int zs_nbuf_claim_fwd(struct net_buf *h, size_t *bytes)
{
	const struct net_buf *b;
	uint32_t walked = 0;
	int n = 0;

	*bytes = 0;
	if (!zs_buf_own_move(h, ZS_OWN_USER, ZS_OWN_ENGINE))
		return -EINVAL;
	for (b = h; b != NULL; b = b->frags) {
		if (++walked > zs_rx_pool.count) { /* a loop: never from the engine */
			(void)zs_buf_own_move(h, ZS_OWN_ENGINE, ZS_OWN_USER);
			return -EINVAL;
		}
		n += b->len > 0;
	}
	*bytes = h->tot_len;
	return n;
}

/* see sock.h */
uint32_t zs_nbuf_fwd_max(void)
{
	return ZS_FWD_MAX;
}

/* see sock.h */
bool zs_nbuf_fwd_reserve(uint32_t n)
{
	uint32_t cur = atomic_load_explicit(&fwd_in_use, memory_order_relaxed);

	do {
		if (cur + n > ZS_FWD_MAX)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&fwd_in_use, &cur, cur + n,
							memory_order_acq_rel,
							memory_order_relaxed));
	return true;
}

/* see sock.h */
bool zs_nbuf_fwd_room(uint32_t n)
{
	return atomic_load_explicit(&fwd_in_use, memory_order_acquire) + n <= ZS_FWD_MAX;
}

/* see sock.h */
void zs_nbuf_commit_fwd(struct net_buf *h)
{
	struct zs_sock *src = h->sock;
	struct net_buf *b, *sub = NULL;
	uint32_t credit = 0;

	/* each joined chain's pbuf goes to its last buffer: it is freed when
	 * the peer has acknowledged the chain's last byte, not its first */
	for (b = h; b != NULL; b = b->frags) {
		if (b->owner != NULL) {
			sub = b;
		} else if (sub != NULL && b->len > 0) {
			b->owner = sub->owner;
			sub->owner = NULL;
			sub = b;
		}
		credit += b->credit;
		b->credit = 0;
	}
	/* for the source it is a release: the window opens now (the work
	 * adds the credit), its held count and reference drop */
	h->sock = NULL;
	if (credit > 0)
		atomic_fetch_add_explicit(&src->fwd_credit, credit, memory_order_acq_rel);
	atomic_fetch_sub_explicit(&src->held, h->chains, memory_order_acq_rel);
	zs_reactor_post(&src->work);
	zs_sock_unref(src);
}

/* see sock.h */
void zs_nbuf_free_out(struct net_buf *b)
{
	if (b->pool == &zs_rx_pool) {
		if (b->csum_len != 0)
			zs_csum_tx_forget(b->data); /* before its pbuf can go */
		if (b->owner != NULL)
			pbuf_free((struct pbuf *)b->owner);
		b->owner = NULL;
		(void)zs_buf_free_owned(b);
		atomic_fetch_sub_explicit(&fwd_in_use, 1, memory_order_acq_rel);
	} else {
		(void)zs_buf_free_owned(b);
	}
}

/* see sock.h */
void zs_nbuf_unclaim_tx(struct net_buf *chain)
{
	struct net_buf *b, *next;

	for (b = chain; b != NULL; b = next) {
		next = b->frags; /* read while it is still ours */
		(void)zs_buf_own_move(b, ZS_OWN_ENGINE, ZS_OWN_USER);
	}
}

/* see sock.h */
void zs_nbuf_free_tx(struct net_buf *chain)
{
	struct net_buf *b;

	while ((b = chain) != NULL) {
		chain = b->frags;
		(void)zs_buf_free(b);
	}
	zs_waitq_wake(&zs_tx_pool_wq); /* zsock_buf_alloc, send and POLLOUT waiters */
}

/* A received chain head the caller holds: back to its socket's done ring. */
static int release_rx(struct net_buf *h)
{
	struct zs_sock *s;

	if (!zs_buf_own_move(h, ZS_OWN_USER, ZS_OWN_ENGINE))
		return -EINVAL;
	s = h->sock;
	h->sock = NULL;
	/* done is produced under rx_lock (zsock_recv puts there too); the
	 * held count guarantees a free slot (sock.h): a joined chain takes one
	 * slot for the h->chains it counted */
	zs_lock_take(&s->rx_lock);
	zs_ring_put(&s->done, h);
	atomic_fetch_sub_explicit(&s->held, h->chains, memory_order_acq_rel);
	zs_lock_give(&s->rx_lock);
	zs_reactor_post(&s->work);
	zs_sock_unref(s);
	return 0;
}

int zs_nbuf_release(struct net_buf *chain)
{
	size_t bytes;
	int rc;

	if (chain == NULL || !zs_buf_is_valid(chain))
		return -EINVAL;
	if (!is_tx_buf(chain))
		return release_rx(chain);
	rc = zs_nbuf_claim_tx(chain, &bytes);
	if (rc < 0)
		return rc;
	zs_nbuf_free_tx(chain);
	return 0;
}

static bool tx_pool_room(void)
{
	return zs_pool_in_use(&zs_tx_pool) < zs_tx_pool.count;
}

struct net_buf *zs_nbuf_alloc(int32_t timeout_ms, int *err)
{
	int64_t deadline = zs_deadline(timeout_ms);
	struct zs_waiter *w;
	struct zs_wait_node node;
	struct net_buf *b = zs_pool_alloc(&zs_tx_pool);

	if (b == NULL && timeout_ms != 0) {
		w = zs_waiter_self();
		zs_waitq_add(&zs_tx_pool_wq, &node, w);
		for (;;) {
			b = tx_pool_room() ? zs_pool_alloc(&zs_tx_pool) : NULL;
			if (b != NULL)
				break;
			if (zs_event_wait(&w->ev, deadline) == -ETIMEDOUT) {
				b = zs_pool_alloc(&zs_tx_pool);
				break;
			}
		}
		zs_waitq_del(&zs_tx_pool_wq, &node);
		if (b == NULL) {
			*err = EAGAIN;
			return NULL;
		}
	}
	if (b == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	__atomic_store_n(&b->own, ZS_OWN_USER, __ATOMIC_RELEASE);
	return b;
}

int zs_nbuf_peer(const struct net_buf *chain, struct sockaddr *addr, socklen_t *len)
{
	if (chain == NULL || len == NULL || (int)*len < 0 || !zs_buf_is_valid(chain) ||
	    is_tx_buf(chain) || __atomic_load_n(&chain->own, __ATOMIC_ACQUIRE) != ZS_OWN_USER)
		return -EINVAL;
	if (chain->meta.family == 0)
		return -ENOTSUP;
	zs_addr_to_sockaddr_raw(chain->meta.family == 6 ? AF_INET6 : AF_INET, chain->meta.addr,
				chain->meta.port, addr, len);
	return 0;
}

/* ---- the fd vtable's entries ---------------------------------------------------- */

ssize_t zs_sock_recv_buf(void *obj, struct net_buf **chain, int flags)
{
	struct zs_sock *s = obj;

	if (flags & ~ZSOCK_MSG_DONTWAIT)
		return -EINVAL;
	return s->type == SOCK_STREAM ? zs_tcp_recv_buf(s, chain, flags)
				      : zs_udp_recv_buf(s, chain, flags);
}

ssize_t zs_sock_send_buf(void *obj, struct net_buf *chain, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	struct zs_sock *s = obj;

	if (flags & ~ZSOCK_MSG_DONTWAIT)
		return -EINVAL;
	if (s->type == SOCK_STREAM) {
		if (to != NULL)
			return -EISCONN;
		return zs_tcp_send_buf(s, chain, flags);
	}
	return zs_udp_send_buf(s, chain, flags, to, tolen);
}
