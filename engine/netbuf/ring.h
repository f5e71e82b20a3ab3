/*
 * Single-producer single-consumer rings of pointers, lock-free.
 *
 * head is written only by the producer, tail only by the consumer; each
 * reads the other's index with acquire and publishes its own with release,
 * so an entry's contents are visible before its index is. Indices run
 * freely (uint32_t wrap-around is fine); the slot is index & (size - 1).
 * Invariant: 0 <= head - tail <= size.
 *
 * Who is "the" producer and "the" consumer is the user's business: the
 * socket layer serialises application threads with a per-socket lock, so
 * each ring really has one of each at a time.
 */
#ifndef ZSOCK_RING_H
#define ZSOCK_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct zs_ring {
	_Atomic uint32_t head;  /**< next slot to fill (producer) */
	_Atomic uint32_t tail;  /**< next slot to take (consumer) */
	uint32_t mask;          /**< size - 1, size a power of two */
	void **slots;
};

static inline void zs_ring_init(struct zs_ring *r, void **slots, uint32_t size)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	r->mask = size - 1;
	r->slots = slots;
}

/** Producer: append p. Returns false (and does nothing) when full. */
static inline bool zs_ring_put(struct zs_ring *r, void *p)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h - t > r->mask)
		return false;
	r->slots[h & r->mask] = p;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

/** Consumer: the oldest entry without taking it, or NULL when empty. */
static inline void *zs_ring_peek(struct zs_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);

	return h == t ? NULL : r->slots[t & r->mask];
}

/** Consumer: the i-th oldest entry without taking it, or NULL. */
static inline void *zs_ring_peek_at(struct zs_ring *r, uint32_t i)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);

	return h - t <= i ? NULL : r->slots[(t + i) & r->mask];
}

/** Consumer: take the oldest entry, or NULL when empty. */
static inline void *zs_ring_get(struct zs_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	void *p;

	if (h == t)
		return NULL;
	p = r->slots[t & r->mask];
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return p;
}

/** Entries queued (exact for either side, a snapshot for anyone else). */
static inline uint32_t zs_ring_count(struct zs_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

static inline bool zs_ring_full(struct zs_ring *r)
{
	return zs_ring_count(r) > r->mask;
}

#endif
