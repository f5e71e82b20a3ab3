/*
 * Fixed net_buf pools (see net_buf.h). One lock per pool: allocation and
 * release are a few pointer moves, far cheaper than the copy they precede.
 * The magic word turns a double free or a foreign pointer into -EINVAL
 * instead of a corrupted free list.
 */
#include "engine/netbuf/net_buf.h"

#include <errno.h>
#include <string.h>

static struct net_buf tx_bufs[CONFIG_NET_BUF_TX_COUNT];
static uint8_t tx_storage[CONFIG_NET_BUF_TX_COUNT][CONFIG_NET_BUF_DATA_SIZE];
static struct net_buf rx_bufs[CONFIG_NET_BUF_RX_COUNT];

struct zs_pool zs_tx_pool;
struct zs_pool zs_rx_pool;

/* Every pool ever initialised, so that zs_buf_free() can vet a pointer. */
#define ZS_POOLS_MAX 16
static struct zs_pool *pools[ZS_POOLS_MAX];
static _Atomic uint32_t n_pools;
static atomic_flag registry_busy = ATOMIC_FLAG_INIT; /* rare, short: a spin */

static void registry_add(struct zs_pool *pool)
{
	uint32_t i, n;

	while (atomic_flag_test_and_set_explicit(&registry_busy, memory_order_acquire))
		;
	n = atomic_load_explicit(&n_pools, memory_order_relaxed);
	for (i = 0; i < n && pools[i] != pool; i++)
		;
	if (i == n) {
		ZS_ASSERT(n < ZS_POOLS_MAX);
		pools[n] = pool;
		atomic_store_explicit(&n_pools, n + 1, memory_order_release);
	}
	atomic_flag_clear_explicit(&registry_busy, memory_order_release);
}

/* Lock held (or the pool not yet shared): b joins the free queue's end. */
static void put_free(struct zs_pool *pool, struct net_buf *b)
{
	b->frags = NULL;
	if (pool->free_last != NULL)
		pool->free_last->frags = b;
	else
		pool->free = b;
	pool->free_last = b;
}

void zs_pool_init(struct zs_pool *pool, const char *name, struct net_buf *bufs,
		  uint8_t *storage, uint16_t data_size, uint32_t count)
{
	uint32_t i;

	memset(pool, 0, sizeof(*pool));
	pool->name = name;
	pool->bufs = bufs;
	pool->storage = storage;
	pool->data_size = data_size;
	pool->count = count;
	zs_lock_init(&pool->lock);
	pool->free = NULL;
	pool->free_last = NULL;
	for (i = 0; i < count; i++) {
		struct net_buf *b = &bufs[i];

		memset(b, 0, sizeof(*b));
		b->pool = pool;
		b->magic = ZS_NETBUF_MAGIC_FREE;
		zs_list_init(&b->node);
		put_free(pool, b);
	}
	registry_add(pool);
}

struct net_buf *zs_pool_alloc(struct zs_pool *pool)
{
	struct net_buf *b;

	zs_lock_take(&pool->lock);
	b = pool->free;
	if (b == NULL) {
		pool->alloc_fail++;
		zs_lock_give(&pool->lock);
		return NULL;
	}
	pool->free = b->frags;
	if (pool->free == NULL)
		pool->free_last = NULL;
	b->magic = ZS_NETBUF_MAGIC_USED;
	if (++pool->in_use > pool->high_water)
		pool->high_water = pool->in_use;
	zs_lock_give(&pool->lock);

	b->frags = NULL;
	b->len = 0;
	b->off = 0;
	b->tot_len = 0;
	b->credit = 0;
	b->csum_len = 0;
	b->owner = NULL;
	b->sock = NULL;
	b->meta.family = 0;
	b->data = zs_buf_storage(b);
	b->size = pool->data_size;
	__atomic_store_n(&b->own, ZS_OWN_ENGINE, __ATOMIC_RELEASE);
	return b;
}

static bool in_array(const struct net_buf *buf, const struct net_buf *base, size_t n)
{
	uintptr_t p = (uintptr_t)buf, b = (uintptr_t)base;

	return p >= b && p < b + n * sizeof(*base) && (p - b) % sizeof(*base) == 0;
}

bool zs_pool_holds(const struct zs_pool *pool, const struct net_buf *buf)
{
	return in_array(buf, pool->bufs, pool->count);
}

/* Only a pointer to an element of a registered pool's array may be
 * dereferenced: the check walks the (short) registry, O(pools). */
static bool buf_is_valid(const struct net_buf *buf)
{
	uint32_t i, n = atomic_load_explicit(&n_pools, memory_order_acquire);

	for (i = 0; i < n; i++) {
		if (in_array(buf, pools[i]->bufs, pools[i]->count))
			return true;
	}
	return false;
}

bool zs_buf_is_valid(const struct net_buf *buf)
{
	return buf_is_valid(buf);
}

int zs_buf_free(struct net_buf *buf)
{
	if (!buf_is_valid(buf))
		return -EINVAL;
	return zs_buf_free_owned(buf);
}

int zs_buf_free_owned(struct net_buf *buf)
{
	struct zs_pool *pool = buf->pool;

	zs_lock_take(&pool->lock);
	if (buf->magic != ZS_NETBUF_MAGIC_USED) {
		zs_lock_give(&pool->lock);
		return -EINVAL;
	}
	buf->magic = ZS_NETBUF_MAGIC_FREE;
	__atomic_store_n(&buf->own, ZS_OWN_POOL, __ATOMIC_RELEASE);
	buf->owner = NULL;
	put_free(pool, buf);
	pool->in_use--;
	zs_lock_give(&pool->lock);
	return 0;
}

int zs_buf_free_chain(struct net_buf *buf)
{
	int rc = 0;

	while (buf != NULL) {
		struct net_buf *next = buf->frags;
		int r = zs_buf_free(buf);

		if (r < 0) {
			rc = r;
			break;
		}
		buf = next;
	}
	return rc;
}

uint32_t zs_pool_in_use(struct zs_pool *pool)
{
	uint32_t n;

	zs_lock_take(&pool->lock);
	n = pool->in_use;
	zs_lock_give(&pool->lock);
	return n;
}

void zs_netbuf_init(void)
{
	zs_pool_init(&zs_tx_pool, "tx", tx_bufs, &tx_storage[0][0],
		     CONFIG_NET_BUF_DATA_SIZE, CONFIG_NET_BUF_TX_COUNT);
	zs_pool_init(&zs_rx_pool, "rx", rx_bufs, NULL, 0, CONFIG_NET_BUF_RX_COUNT);
}
