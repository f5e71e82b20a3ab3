/*
 * Fixed net_buf pools (engine/netbuf/pool.c): exhaustion and recovery,
 * counters, misuse detection (double free, foreign pointers), the order
 * freed buffers are taken again in (oldest first), the layout of
 * tx storage, chains, and four threads allocating and freeing at once.
 *
 * zs_pool_alloc is exercised on pools of our own (zs_pool_init on static
 * arrays). zs_buf_free is exercised on the engine's tx/rx pools, because it
 * accepts only buffers that live in those two arrays; user_pool_free below
 * holds it to the contract of net_buf.h instead.
 */
#include <criterion/criterion.h>
#include "tests/common/checked_test.h"
#include "engine/netbuf/net_buf.h"

#include <errno.h>
#include <inttypes.h>
#if CONFIG_ZSOCK_HOSTED
#include <pthread.h>
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UCOUNT 16
#define USIZE  64

static struct zs_pool upool;
static struct net_buf ubufs[UCOUNT];
static uint8_t ustorage[UCOUNT][USIZE];

static void setup(void)
{
	zs_netbuf_init();
	zs_pool_init(&upool, "unit", ubufs, &ustorage[0][0], USIZE, UCOUNT);
}

/* Every test hands back what it took from the engine's pools. */
static void teardown(void)
{
	cr_expect_eq(zs_pool_in_use(&zs_tx_pool), 0, "tx pool leak");
	cr_expect_eq(zs_pool_in_use(&zs_rx_pool), 0, "rx pool leak");
}

TestSuite(pool, .init = setup);

/* teardown() runs at the end of every test body: see checked_test.h */
#define UTEST(name, ...) CHECKED_TEST(pool, name, teardown, ##__VA_ARGS__)

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* Allocate until empty; every buffer distinct. Returns how many. */
static uint32_t drain(struct zs_pool *p, struct net_buf **out, uint32_t max)
{
	uint32_t n = 0, i;
	struct net_buf *b;

	while ((b = zs_pool_alloc(p)) != NULL) {
		cr_assert_lt(n, max, "pool %s hands out more than %" PRIu32 " buffers", p->name,
			     max);
		out[n++] = b;
	}
	qsort(out, n, sizeof(*out), cmp_ptr);
	for (i = 1; i < n; i++)
		cr_assert_neq(out[i - 1], out[i], "pool %s handed out a buffer twice", p->name);
	return n;
}

static void free_all(struct net_buf **bufs, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		cr_assert_eq(zs_buf_free(bufs[i]), 0);
}

/* ---- allocation on a pool of our own ------------------------------------ */

UTEST(user_pool_exhaustion_counters)
{
	struct net_buf *got[UCOUNT + 1];
	uint32_t i;

	cr_assert_eq(upool.count, UCOUNT);
	cr_assert_eq(zs_pool_in_use(&upool), 0);
	for (i = 0; i < UCOUNT; i++) {
		got[i] = zs_pool_alloc(&upool);
		cr_assert_not_null(got[i], "alloc %" PRIu32 " of %u", i, UCOUNT);
		cr_assert_eq(got[i]->pool, &upool);
		cr_assert_eq(got[i]->magic, ZS_NETBUF_MAGIC_USED);
		cr_assert_eq(zs_pool_in_use(&upool), i + 1);
		cr_assert_eq(upool.high_water, i + 1);
	}
	cr_assert_eq(upool.alloc_fail, 0);
	cr_assert_null(zs_pool_alloc(&upool));
	cr_assert_eq(upool.alloc_fail, 1);
	cr_assert_null(zs_pool_alloc(&upool));
	cr_assert_eq(upool.alloc_fail, 2);
	cr_assert_eq(zs_pool_in_use(&upool), UCOUNT, "a failed alloc takes nothing");
	cr_assert_eq(upool.high_water, UCOUNT);
}

UTEST(user_pool_fresh_buffer_state)
{
	struct net_buf *b = zs_pool_alloc(&upool);

	cr_assert_not_null(b);
	cr_assert_eq(b->len, 0);
	cr_assert_eq(b->off, 0);
	cr_assert_eq(b->tot_len, 0);
	cr_assert_null(b->frags);
	cr_assert_null(b->owner);
	cr_assert_eq(b->meta.family, 0);
	cr_assert_eq(b->data, ustorage[b - ubufs]);
}

UTEST(user_pool_data_layout)
{
	struct net_buf *got[UCOUNT];
	uint32_t n = drain(&upool, got, UCOUNT), i;

	cr_assert_eq(n, UCOUNT);
	for (i = 0; i < n; i++) {
		cr_assert_eq(got[i]->data, &ustorage[0][0] + (size_t)(got[i] - ubufs) * USIZE);
		memset(got[i]->data, 0x40 + (int)i, USIZE);
	}
	for (i = 0; i < n; i++) {
		uint32_t k;

		for (k = 0; k < USIZE; k++)
			cr_assert_eq(got[i]->data[k], 0x40 + i, "buffer %" PRIu32 " byte %" PRIu32 " overwritten", i, k);
	}
}

/*
 * net_buf.h: zs_buf_free "returns 0, or -EINVAL when buf is not a buffer of
 * any pool in use". A pool set up by zs_pool_init() is a pool in use, and
 * the buffer knows its pool (b->pool). This holds pool.c to that contract:
 * today buf_is_valid() recognises only the tx_bufs/rx_bufs arrays, so a
 * buffer from any other pool can never be freed.
 */
UTEST(user_pool_free)
{
	struct net_buf *got[UCOUNT];
	uint32_t n = drain(&upool, got, UCOUNT);

	cr_assert_eq(n, UCOUNT);
	cr_expect_eq(zs_buf_free(got[3]), 0,
		     "zs_buf_free rejects a buffer of a pool made by zs_pool_init");
	cr_expect_eq(zs_pool_in_use(&upool), UCOUNT - 1);
	cr_expect_not_null(zs_pool_alloc(&upool), "freed buffer not allocatable again");
}

/* ---- the engine's pools: free, misuse --------------------------------- */

UTEST(tx_exhaust_and_recover)
{
	static struct net_buf *got[CONFIG_NET_BUF_TX_COUNT];
	uint32_t n = drain(&zs_tx_pool, got, CONFIG_NET_BUF_TX_COUNT);
	struct net_buf *b;

	cr_assert_eq(n, CONFIG_NET_BUF_TX_COUNT);
	cr_assert_eq(zs_tx_pool.alloc_fail, 1, "the NULL that ended drain() is counted");
	cr_assert_eq(zs_tx_pool.high_water, CONFIG_NET_BUF_TX_COUNT);

	got[7]->len = 100;
	got[7]->off = 5;
	b = got[7];
	cr_assert_eq(zs_buf_free(b), 0);
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), n - 1);
	got[7] = zs_pool_alloc(&zs_tx_pool);
	cr_assert_eq(got[7], b, "the one free buffer comes back");
	cr_assert_eq(got[7]->len, 0);
	cr_assert_eq(got[7]->off, 0);
	cr_assert_null(zs_pool_alloc(&zs_tx_pool));
	cr_assert_eq(zs_tx_pool.alloc_fail, 2);
	free_all(got, n);
	cr_assert_eq(zs_tx_pool.high_water, CONFIG_NET_BUF_TX_COUNT, "high water stays");
}

UTEST(high_water)
{
	struct net_buf *a = zs_pool_alloc(&zs_tx_pool);
	struct net_buf *b = zs_pool_alloc(&zs_tx_pool);
	struct net_buf *c;

	cr_assert_eq(zs_tx_pool.high_water, 2);
	cr_assert_eq(zs_buf_free(a), 0);
	cr_assert_eq(zs_buf_free(b), 0);
	cr_assert_eq(zs_tx_pool.high_water, 2);
	c = zs_pool_alloc(&zs_tx_pool);
	cr_assert_eq(zs_tx_pool.high_water, 2);
	cr_assert_eq(zs_buf_free(c), 0);
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 0);
}

UTEST(double_free)
{
	static struct net_buf *got[CONFIG_NET_BUF_TX_COUNT];
	struct net_buf *a = zs_pool_alloc(&zs_tx_pool);
	struct net_buf *b = zs_pool_alloc(&zs_tx_pool);
	uint32_t n;

	cr_assert_eq(zs_buf_free(a), 0);
	cr_assert_eq(zs_buf_free(a), -EINVAL);
	cr_assert_eq(zs_buf_free(a), -EINVAL);
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 1, "double free changed in_use");

	/* the free list is intact: exactly count - 1 distinct buffers remain */
	n = drain(&zs_tx_pool, got, CONFIG_NET_BUF_TX_COUNT);
	cr_assert_eq(n, CONFIG_NET_BUF_TX_COUNT - 1);
	free_all(got, n);
	cr_assert_eq(zs_buf_free(b), 0);
	cr_assert_eq(zs_buf_free(b), -EINVAL);
}

UTEST(double_free_rx)
{
	struct net_buf *a = zs_pool_alloc(&zs_rx_pool);

	cr_assert_not_null(a);
	cr_assert_null(a->data, "rx headers own no storage");
	cr_assert_eq(zs_buf_free(a), 0);
	cr_assert_eq(zs_buf_free(a), -EINVAL);
	cr_assert_eq(zs_pool_in_use(&zs_rx_pool), 0);
}

UTEST(foreign_pointers)
{
	struct net_buf *real = zs_pool_alloc(&zs_tx_pool);
	struct net_buf fake;

	/* a stack buffer dressed as an allocated tx buffer */
	memset(&fake, 0, sizeof(fake));
	fake.pool = &zs_tx_pool;
	fake.magic = ZS_NETBUF_MAGIC_USED;
	zs_list_init(&fake.node);
	cr_assert_eq(zs_buf_free(&fake), -EINVAL);
	cr_assert_eq(zs_buf_free(NULL), -EINVAL);
	/* inside a real buffer, not at its start */
	cr_assert_eq(zs_buf_free((struct net_buf *)(void *)((char *)real + 8)), -EINVAL);
	cr_assert_eq(zs_buf_free((struct net_buf *)(void *)((char *)real + sizeof(*real) / 2)),
		     -EINVAL);
	/* the payload of a buffer is not a buffer */
	cr_assert_eq(zs_buf_free((struct net_buf *)(void *)real->data), -EINVAL);
	/* one past each array's last element, and one before its first */
	cr_assert_eq(zs_buf_free(zs_tx_pool.bufs + zs_tx_pool.count), -EINVAL);
	cr_assert_eq(zs_buf_free(zs_rx_pool.bufs + zs_rx_pool.count), -EINVAL);
	cr_assert_eq(zs_buf_free((struct net_buf *)(void *)((char *)zs_tx_pool.bufs - sizeof(*real))),
		     -EINVAL);
	/* a free buffer that was never allocated */
	cr_assert_eq(zs_buf_free(real == &zs_tx_pool.bufs[0] ? &zs_tx_pool.bufs[1]
							     : &zs_tx_pool.bufs[0]), -EINVAL);

	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 1, "rejected frees changed in_use");
	cr_assert_eq(zs_buf_free(real), 0);
}

UTEST(tx_data_layout)
{
	static struct net_buf *got[CONFIG_NET_BUF_TX_COUNT];
	static uint8_t *data[CONFIG_NET_BUF_TX_COUNT];
	uint32_t n = drain(&zs_tx_pool, got, CONFIG_NET_BUF_TX_COUNT), i;

	cr_assert_eq(n, CONFIG_NET_BUF_TX_COUNT);
	cr_assert_eq(zs_tx_pool.data_size, CONFIG_NET_BUF_DATA_SIZE);
	for (i = 0; i < n; i++) {
		cr_assert_not_null(got[i]->data);
		data[i] = got[i]->data;
	}
	qsort(data, n, sizeof(*data), cmp_ptr);
	cr_assert_eq(data[0], zs_tx_pool.storage);
	for (i = 1; i < n; i++)
		cr_assert_eq((size_t)(data[i] - data[i - 1]), (size_t)CONFIG_NET_BUF_DATA_SIZE,
			     "tx buffers %" PRIu32 " and %" PRIu32 " are not data_size apart", i - 1, i);
	/* write every byte of every buffer, then read it back: no overlap */
	for (i = 0; i < n; i++)
		memset(got[i]->data, (int)(i * 7 + 1) & 0xff, CONFIG_NET_BUF_DATA_SIZE);
	for (i = 0; i < n; i++) {
		uint32_t k;

		for (k = 0; k < CONFIG_NET_BUF_DATA_SIZE; k++)
			if (got[i]->data[k] != ((i * 7 + 1) & 0xff))
				cr_assert_fail("tx buffer %" PRIu32 " byte %" PRIu32 " overwritten", i, k);
	}
	free_all(got, n);
}

UTEST(free_chain)
{
	struct net_buf *a = zs_pool_alloc(&zs_tx_pool);
	struct net_buf *b = zs_pool_alloc(&zs_tx_pool);
	struct net_buf *c = zs_pool_alloc(&zs_tx_pool);

	a->frags = b;
	b->frags = c;
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 3);
	cr_assert_eq(zs_buf_free_chain(a), 0);
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 0);
	cr_assert_eq(zs_buf_free_chain(NULL), 0);
	cr_assert_eq(zs_buf_free(b), -EINVAL, "chain members are free");

	/* a chain of rx headers */
	a = zs_pool_alloc(&zs_rx_pool);
	b = zs_pool_alloc(&zs_rx_pool);
	a->frags = b;
	cr_assert_eq(zs_buf_free_chain(a), 0);
	cr_assert_eq(zs_pool_in_use(&zs_rx_pool), 0);
}

UTEST(free_chain_stops_at_bad_link)
{
	struct net_buf *a = zs_pool_alloc(&zs_tx_pool);
	struct net_buf fake;

	memset(&fake, 0, sizeof(fake));
	a->frags = &fake;
	cr_assert_eq(zs_buf_free_chain(a), -EINVAL);
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 0, "the good head was freed");
}

/* ---- four threads ------------------------------------------------------ */

#define THREADS 4
#if CONFIG_ZSOCK_HOSTED /* four threads: bare metal has one context */
#define ROUNDS  20000
#define HOLD    24   /* 4 * 24 < CONFIG_NET_BUF_TX_COUNT: mostly succeeds */

static _Atomic int owner[CONFIG_NET_BUF_TX_COUNT];
static _Atomic uint64_t conflicts;

static void *churn(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct net_buf *held[HOLD];
	uint32_t r;

	for (r = 0; r < ROUNDS; r++) {
		uint32_t want = 1 + (r * 7 + (uint32_t)me) % HOLD, n = 0, i;

		while (n < want) {
			struct net_buf *b = zs_pool_alloc(&zs_tx_pool);
			size_t idx;

			if (b == NULL)
				break;
			idx = (size_t)(b - zs_tx_pool.bufs);
			if (atomic_exchange(&owner[idx], me) != 0)
				atomic_fetch_add(&conflicts, 1);
			b->data[0] = (uint8_t)me;
			b->data[CONFIG_NET_BUF_DATA_SIZE - 1] = (uint8_t)me;
			held[n++] = b;
		}
		for (i = 0; i < n; i++) {
			struct net_buf *b = held[i];
			size_t idx = (size_t)(b - zs_tx_pool.bufs);

			if (b->data[0] != me || b->data[CONFIG_NET_BUF_DATA_SIZE - 1] != me)
				atomic_fetch_add(&conflicts, 1);
			if (atomic_exchange(&owner[idx], 0) != me)
				atomic_fetch_add(&conflicts, 1);
			if (zs_buf_free(b) != 0)
				atomic_fetch_add(&conflicts, 1);
		}
	}
	return NULL;
}

UTEST(four_threads_no_loss, .timeout = 60)
{
	static struct net_buf *got[CONFIG_NET_BUF_TX_COUNT];
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(i + 1)), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	cr_assert_eq(atomic_load(&conflicts), 0, "a buffer had two owners or a free failed");
	cr_assert_eq(zs_pool_in_use(&zs_tx_pool), 0);
	cr_assert_leq(zs_tx_pool.high_water, THREADS * HOLD);
	/* nothing lost or duplicated on the free list */
	cr_assert_eq(drain(&zs_tx_pool, got, CONFIG_NET_BUF_TX_COUNT), CONFIG_NET_BUF_TX_COUNT);
	free_all(got, CONFIG_NET_BUF_TX_COUNT);
}
#endif

/* The buffer freed longest ago is taken first (net_buf.h): a stale pointer
 * a caller kept rarely meets its buffer again in someone else's hands. */
UTEST(oldest_free_taken_first)
{
	struct net_buf *b[UCOUNT];
	uint32_t n = drain(&upool, b, UCOUNT);

	cr_assert_eq(n, UCOUNT);
	/* free in an order that is neither the array's nor its reverse */
	cr_assert_eq(zs_buf_free(b[5]), 0);
	cr_assert_eq(zs_buf_free(b[1]), 0);
	cr_assert_eq(zs_buf_free(b[9]), 0);
	cr_assert_eq(zs_pool_alloc(&upool), b[5]);
	cr_assert_eq(zs_buf_free(b[5]), 0); /* to the back of the queue */
	cr_assert_eq(zs_pool_alloc(&upool), b[1]);
	cr_assert_eq(zs_pool_alloc(&upool), b[9]);
	cr_assert_eq(zs_pool_alloc(&upool), b[5]);
	cr_assert_null(zs_pool_alloc(&upool));
	free_all(b, n);
}
