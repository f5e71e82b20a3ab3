/*
 * The SPSC ring of pointers (engine/netbuf/ring.h): empty and full edges,
 * FIFO order, peek_at, free-running indices across 2^32, and one producer
 * plus one consumer thread passing items with a sequence check.
 */
#include <criterion/criterion.h>
#include "engine/netbuf/ring.h"
#include <zsock/zsock_config.h>

#include <inttypes.h>
#if CONFIG_ZSOCK_HOSTED
#include <pthread.h>
#include <sched.h>
#endif
#include <stdint.h>
#include <stdlib.h>

/* Sanitizers make the threaded tests 10-50x slower: fewer items there.
 * The size-4 ring switches between full and empty almost every item, which
 * on a loaded 2-core machine costs ~1 us per item: it gets a fifth. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RING_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RING_SANITIZED 1
#endif
#endif
#ifdef RING_SANITIZED
#define SPSC_ITEMS 500000u
#else
#define SPSC_ITEMS 10000000u
#endif

#define SIZE 8

static void *slots[SIZE];
static struct zs_ring ring;

/* Distinct non-NULL pointers standing for item n. */
static void *item(uintptr_t n)
{
	return (void *)(n + 1);
}

static void start_at(struct zs_ring *r, uint32_t idx)
{
	atomic_store(&r->head, idx);
	atomic_store(&r->tail, idx);
}

static void setup(void)
{
	zs_ring_init(&ring, slots, SIZE);
}

TestSuite(ring, .init = setup);

Test(ring, empty)
{
	cr_assert_null(zs_ring_get(&ring));
	cr_assert_null(zs_ring_peek(&ring));
	cr_assert_null(zs_ring_peek_at(&ring, 0));
	cr_assert_eq(zs_ring_count(&ring), 0);
	cr_assert_not(zs_ring_full(&ring));
	/* a get on an empty ring leaves it empty, not "negative" */
	cr_assert_null(zs_ring_get(&ring));
	cr_assert_eq(zs_ring_count(&ring), 0);
}

Test(ring, fill_to_capacity)
{
	uintptr_t i;

	for (i = 0; i < SIZE; i++) {
		cr_assert_not(zs_ring_full(&ring));
		cr_assert(zs_ring_put(&ring, item(i)), "put %zu", (size_t)i);
		cr_assert_eq(zs_ring_count(&ring), i + 1);
	}
	cr_assert(zs_ring_full(&ring));
	cr_assert_not(zs_ring_put(&ring, item(99)), "put on a full ring");
	cr_assert_eq(zs_ring_count(&ring), SIZE);
	/* the refused put overwrote nothing */
	for (i = 0; i < SIZE; i++)
		cr_assert_eq(zs_ring_get(&ring), item(i));
	cr_assert_null(zs_ring_get(&ring));

	/* one slot frees one put */
	for (i = 0; i < SIZE; i++)
		cr_assert(zs_ring_put(&ring, item(i)));
	cr_assert_eq(zs_ring_get(&ring), item(0));
	cr_assert(zs_ring_put(&ring, item(SIZE)));
	cr_assert_not(zs_ring_put(&ring, item(SIZE + 1)));
	for (i = 1; i <= SIZE; i++)
		cr_assert_eq(zs_ring_get(&ring), item(i));
	cr_assert_eq(zs_ring_count(&ring), 0);
}

Test(ring, fifo_and_peek)
{
	uintptr_t i;

	for (i = 0; i < 5; i++)
		cr_assert(zs_ring_put(&ring, item(i)));
	cr_assert_eq(zs_ring_peek(&ring), item(0));
	cr_assert_eq(zs_ring_peek(&ring), item(0), "peek does not consume");
	cr_assert_eq(zs_ring_count(&ring), 5);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(zs_ring_peek(&ring), item(i));
		cr_assert_eq(zs_ring_get(&ring), item(i));
		cr_assert_eq(zs_ring_count(&ring), 4 - i);
	}
}

static void check_peek_at(uint32_t start)
{
	uintptr_t i;

	start_at(&ring, start);
	for (i = 0; i < 5; i++)
		cr_assert(zs_ring_put(&ring, item(i)));
	for (i = 0; i < 5; i++)
		cr_assert_eq(zs_ring_peek_at(&ring, (uint32_t)i), item(i),
			     "start %" PRIu32 ", peek_at(%zu)", start, (size_t)i);
	cr_assert_null(zs_ring_peek_at(&ring, 5));
	cr_assert_null(zs_ring_peek_at(&ring, SIZE));
	cr_assert_null(zs_ring_peek_at(&ring, UINT32_MAX));
	cr_assert_eq(zs_ring_get(&ring), item(0));
	for (i = 0; i < 4; i++)
		cr_assert_eq(zs_ring_peek_at(&ring, (uint32_t)i), item(i + 1));
	cr_assert_null(zs_ring_peek_at(&ring, 4));
	cr_assert_eq(zs_ring_count(&ring), 4, "peek_at consumes nothing");
}

Test(ring, peek_at)
{
	check_peek_at(0);
}

Test(ring, peek_at_across_wrap)
{
	/* head wraps past 2^32 while tail has not */
	check_peek_at(UINT32_MAX - 2);
}

Test(ring, full_and_empty_across_wrap)
{
	uintptr_t i;

	start_at(&ring, UINT32_MAX - 3);
	for (i = 0; i < SIZE; i++)
		cr_assert(zs_ring_put(&ring, item(i)));
	/* head is now past 2^32, tail below it: count must still be SIZE */
	cr_assert_lt(atomic_load(&ring.head), atomic_load(&ring.tail));
	cr_assert_eq(zs_ring_count(&ring), SIZE);
	cr_assert(zs_ring_full(&ring));
	cr_assert_not(zs_ring_put(&ring, item(99)));
	for (i = 0; i < SIZE; i++)
		cr_assert_eq(zs_ring_get(&ring), item(i));
	cr_assert_null(zs_ring_get(&ring));
	cr_assert_eq(zs_ring_count(&ring), 0);
}

Test(ring, wrap_many_cycles)
{
	/* Batches of 1..SIZE items from just below UINT32_MAX: the indices
	 * cross 2^32 many times over (via a second start point) and every
	 * batch must come out whole and in order. */
	static const uint32_t starts[] = { 0, UINT32_MAX - 1000, UINT32_MAX - 5 };
	size_t s;

	for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		uintptr_t next_in = 0, next_out = 0;
		uint32_t cycle;

		start_at(&ring, starts[s]);
		for (cycle = 0; cycle < 20000; cycle++) {
			uint32_t batch = 1 + cycle % SIZE;
			uint32_t keep = cycle % 3; /* leave a few queued across cycles */
			uint32_t j;

			while (zs_ring_count(&ring) < batch) {
				cr_assert(zs_ring_put(&ring, item(next_in)));
				next_in++;
			}
			while (zs_ring_count(&ring) > keep) {
				void *p = zs_ring_get(&ring);

				cr_assert_eq(p, item(next_out), "start %" PRIu32 " cycle %" PRIu32,
					     starts[s], cycle);
				next_out++;
			}
			for (j = 0; j < keep && j < zs_ring_count(&ring); j++)
				cr_assert_eq(zs_ring_peek_at(&ring, j), item(next_out + j));
		}
		while ((zs_ring_peek(&ring)) != NULL) {
			cr_assert_eq(zs_ring_get(&ring), item(next_out));
			next_out++;
		}
		cr_assert_eq(next_in, next_out);
		/* the indices did run past the start by the item count */
		cr_assert_eq(atomic_load(&ring.head), (uint32_t)(starts[s] + next_in));
	}
}

/* ---- one producer, one consumer ---------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* a producer and a consumer thread: bare metal has one context */
/*
 * Items are structs the producer writes before it puts them and the consumer
 * reads after it peeks them (and only then gets them, so the producer cannot
 * reuse a slot still being read). A missing release/acquire shows as a
 * wrong payload here and as a race under TSan.
 */
struct spsc_item {
	uint64_t seq;
	uint64_t check;
};

struct spsc {
	struct zs_ring r;
	void **slots;
	struct spsc_item *items;
	uint32_t nitems;
	uint64_t total;
	uint64_t errors;
	uint64_t full_spins;
	uint64_t empty_spins;
};

static uint64_t check_of(uint64_t seq)
{
	return seq * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull;
}

static void *producer(void *arg)
{
	struct spsc *t = arg;
	uint64_t seq;

	for (seq = 0; seq < t->total; seq++) {
		struct spsc_item *it = &t->items[seq % t->nitems];

		it->seq = seq;
		it->check = check_of(seq);
		while (!zs_ring_put(&t->r, it)) {
			t->full_spins++;
			sched_yield();
		}
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct spsc *t = arg;
	uint64_t seq;

	for (seq = 0; seq < t->total; seq++) {
		struct spsc_item *it;

		while ((it = zs_ring_peek(&t->r)) == NULL) {
			t->empty_spins++;
			sched_yield();
		}
		if (it != &t->items[seq % t->nitems] || it->seq != seq ||
		    it->check != check_of(seq))
			t->errors++;
		if (zs_ring_get(&t->r) != it)
			t->errors++;
	}
	return NULL;
}

static void run_spsc(uint32_t size, uint64_t total)
{
	struct spsc t = { 0 };
	pthread_t p, c;

	t.slots = calloc(size, sizeof(void *));
	/* a slot is reused only after the consumer got it: 2 * size is ample */
	t.nitems = 2 * size;
	t.items = calloc(t.nitems, sizeof(*t.items));
	cr_assert_not_null(t.slots);
	cr_assert_not_null(t.items);
	t.total = total;
	zs_ring_init(&t.r, t.slots, size);
	/* start near the wrap so the threads cross 2^32 too */
	start_at(&t.r, UINT32_MAX - 1000);

	cr_assert_eq(pthread_create(&c, NULL, consumer, &t), 0);
	cr_assert_eq(pthread_create(&p, NULL, producer, &t), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);

	cr_assert_eq(t.errors, 0, "%llu out-of-order or torn items",
		     (unsigned long long)t.errors);
	cr_assert_eq(zs_ring_count(&t.r), 0);
	cr_assert_null(zs_ring_get(&t.r));
	cr_assert_eq(atomic_load(&t.r.tail), (uint32_t)(UINT32_MAX - 1000 + total));
	cr_log_info("ring %u: %llu items, producer full %llu, consumer empty %llu",
		    size, (unsigned long long)total,
		    (unsigned long long)t.full_spins, (unsigned long long)t.empty_spins);
	free(t.slots);
	free(t.items);
}

Test(ring, spsc_two_threads, .timeout = 60)
{
	run_spsc(CONFIG_NET_SOCKET_RING_SIZE, SPSC_ITEMS);
}

Test(ring, spsc_small_ring_contention, .timeout = 60)
{
	run_spsc(4, SPSC_ITEMS / 5);
}
#endif
