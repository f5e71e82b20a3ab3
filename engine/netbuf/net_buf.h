/*
 * net_bufs: the engine's unit of payload.
 *
 * Two pools, both static arrays sized at build time (no malloc on the data
 * path, Zephyr's NET_BUF_POOL_DEFINE idea):
 *
 *  - the tx pool: buffers that own CONFIG_NET_BUF_DATA_SIZE bytes of storage.
 *    zsock_send copies caller bytes into them (the one copy of the BSD
 *    path); lwIP then sends straight from that storage (tcp_write without
 *    TCP_WRITE_FLAG_COPY, PBUF_REF for UDP) and the buffer returns to the
 *    pool when the peer has acknowledged it.
 *  - the rx pool: headers only. Each wraps one pbuf of a received chain in
 *    place: data points into the pbuf payload, nothing is copied. The head
 *    of a chain holds the lwIP reference (owner); only the reactor frees it.
 *
 * Invariants, for every buf b:
 *   b->data + b->len <= storage end;  b->off <= b->len
 *   on a received chain head, tot_len is the sum of len along frags
 *   a buf is in exactly one place: its pool's free list, a ring, a socket's
 *   in-flight list, or a caller's hands.
 *   a free buf's frags links the pool's free list, a queue: the buffer
 *   freed longest ago is taken first, so that a stale pointer a caller
 *   kept rarely meets its buffer again in someone else's hands
 */
#ifndef ZSOCK_NET_BUF_INTERNAL_H
#define ZSOCK_NET_BUF_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engine/list.h"
#include "engine/port/port.h"
#include <zsock/net_buf.h>
#include <zsock/zsock_config.h>

struct zs_pool;

/* struct net_buf itself is public: <zsock/net_buf.h>. */

/* net_buf.own: who holds a buffer, changed with compare-and-swap so that a
 * double release or a send of a handed-over buffer is caught, not obeyed */
#define ZS_OWN_POOL   0  /* on its pool's free list */
#define ZS_OWN_ENGINE 1  /* in a ring, in flight, or being built by the engine */
#define ZS_OWN_USER   2  /* a native API caller holds it */

static inline bool zs_buf_own_move(struct net_buf *b, uint8_t from, uint8_t to)
{
	return __atomic_compare_exchange_n(&b->own, &from, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

#define ZS_NETBUF_MAGIC_FREE 0x6e62f4eeu
#define ZS_NETBUF_MAGIC_USED 0x6e62a55au

/** A fixed pool. Thread-safe: application threads and the reactor share it. */
struct zs_pool {
	const char *name;
	struct zs_lock lock;
	struct net_buf *free;    /**< free buffers, oldest first, linked through frags */
	struct net_buf *free_last; /**< the newest free buffer (NULL: none) */
	struct net_buf *bufs;
	uint8_t *storage;        /**< count * data_size bytes, or NULL (headers) */
	uint16_t data_size;
	uint32_t count;
	uint32_t in_use;         /**< protected by lock */
	uint32_t high_water;     /**< protected by lock */
	uint32_t alloc_fail;     /**< protected by lock */
};

/**
 * Set up a pool over caller-provided arrays: bufs[count] and, for a pool
 * that owns payload, storage[count * data_size] (NULL for header-only
 * pools). The arrays MUST outlive every use of the pool. A pool is
 * registered for zs_buf_free()'s checks (at most 16 pools per process;
 * initialising the same pool again reuses its slot).
 */
void zs_pool_init(struct zs_pool *pool, const char *name, struct net_buf *bufs,
		  uint8_t *storage, uint16_t data_size, uint32_t count);

/**
 * Take one buffer, or NULL when the pool is empty (counted in alloc_fail).
 * The buffer comes back with len 0, off 0, frags NULL, data at the start of
 * its storage. Does not block. Any thread.
 */
__attribute__((warn_unused_result))
struct net_buf *zs_pool_alloc(struct zs_pool *pool);

/**
 * Return buf (not its frags) to its pool. Returns 0, or -EINVAL when buf is
 * not a buffer of any pool in use (double free, foreign pointer): the pool
 * is left untouched. Any thread.
 */
int zs_buf_free(struct net_buf *buf);

/**
 * Whether buf points at a buffer of a registered pool (an element of its
 * array; whether taken or free is for net_buf.own to say). Any thread.
 */
bool zs_buf_is_valid(const struct net_buf *buf);

/**
 * Whether buf points at an element of pool's array (one check, where
 * zs_buf_is_valid() walks every registered pool). Any thread.
 */
bool zs_pool_holds(const struct zs_pool *pool, const struct net_buf *buf);

/** The first byte of buf's storage (NULL for header-only pools). */
static inline uint8_t *zs_buf_storage(const struct net_buf *buf)
{
	const struct zs_pool *pool = buf->pool;

	return pool->storage ? pool->storage + (size_t)(buf - pool->bufs) * pool->data_size
			     : NULL;
}

/**
 * zs_buf_free() of a buffer the engine itself holds (taken from one of its
 * rings or lists, never a caller's pointer): the same, without the check
 * that buf points into a registered pool (the magic word still catches a
 * second free). Any thread.
 */
int zs_buf_free_owned(struct net_buf *buf);

/** Return a whole chain (buf and every frag). Returns as zs_buf_free(). */
int zs_buf_free_chain(struct net_buf *buf);

/** Buffers in use now (snapshot). */
uint32_t zs_pool_in_use(struct zs_pool *pool);

/** The engine's two pools. */
extern struct zs_pool zs_tx_pool;
extern struct zs_pool zs_rx_pool;

/** Set up both pools; called once at engine start. */
void zs_netbuf_init(void);

#endif
