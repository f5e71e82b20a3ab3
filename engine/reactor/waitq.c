/* Wait queues: see waitq.h for the protocol. */
#include "engine/reactor/waitq.h"

void zs_waitq_init(struct zs_waitq *q)
{
	zs_lock_init(&q->lock);
	zs_list_init(&q->nodes);
	atomic_store(&q->count, 0);
}

void zs_waitq_destroy(struct zs_waitq *q)
{
	zs_lock_destroy(&q->lock);
}

void zs_waitq_add(struct zs_waitq *q, struct zs_wait_node *node, struct zs_waiter *w)
{
	node->waiter = w;
	atomic_store_explicit(&node->tracked, false, memory_order_relaxed);
	atomic_store_explicit(&node->on_fired, false, memory_order_relaxed);
	zs_list_init(&node->link);
	zs_lock_take(&q->lock);
	zs_list_append(&q->nodes, &node->link);
	atomic_fetch_add(&q->count, 1);
	zs_lock_give(&q->lock);
	/* Order the link before the caller's condition test (pairs with the
	 * fence in zs_waitq_wake). */
	atomic_thread_fence(memory_order_seq_cst);
}

void zs_wait_node_track(struct zs_wait_node *node)
{
	atomic_store_explicit(&node->tracked, true, memory_order_release);
}

static void push_fired(struct zs_wait_node *n)
{
	struct zs_waiter *w = n->waiter;
	struct zs_wait_node *old;

	if (atomic_exchange_explicit(&n->on_fired, true, memory_order_acq_rel))
		return; /* already on the list */
	old = atomic_load_explicit(&w->fired, memory_order_relaxed);
	do {
		n->fired_next = old;
	} while (!atomic_compare_exchange_weak_explicit(&w->fired, &old, n, memory_order_release,
							memory_order_relaxed));
}

int zs_waiter_take_fired(struct zs_waiter *w, void (*fn)(struct zs_wait_node *n, void *arg),
			 void *arg)
{
	struct zs_wait_node *n, *next;
	int count = 0;

	/* taking the whole stack at once has no ABA problem */
	n = atomic_exchange_explicit(&w->fired, NULL, memory_order_acquire);
	for (; n != NULL; n = next) {
		next = n->fired_next; /* before the clear: a new wake rewrites it */
		atomic_store_explicit(&n->on_fired, false, memory_order_release);
		/* order the clear before fn's readiness test (pairs with the
		 * fence in zs_waitq_wake): a wake fn misses pushes again */
		atomic_thread_fence(memory_order_seq_cst);
		fn(n, arg);
		count++;
	}
	return count;
}

void zs_waitq_del(struct zs_waitq *q, struct zs_wait_node *node)
{
	zs_lock_take(&q->lock);
	if (node->link.next != &node->link) {  /* still linked */
		zs_list_remove(&node->link);
		atomic_fetch_sub(&q->count, 1);
	}
	zs_lock_give(&q->lock);
}

void zs_waitq_wake(struct zs_waitq *q)
{
	struct zs_list *pos;

	/* Order the caller's state change before the count test. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&q->count, memory_order_relaxed) == 0)
		return;
	zs_lock_take(&q->lock);
	zs_list_for_each(pos, &q->nodes) {
		struct zs_wait_node *n = zs_container_of(pos, struct zs_wait_node, link);

		if (atomic_load_explicit(&n->tracked, memory_order_acquire))
			push_fired(n);
		zs_event_signal(&n->waiter->ev);
	}
	zs_lock_give(&q->lock);
}

static _Thread_local struct zs_waiter self;
static _Thread_local bool self_ready;

/*
 * Thread exit: the reactor may still be between a call's done flag (which
 * let this thread return and end) and its signal to this waiter, which
 * lives in this thread's storage. Wait for that signal to be out; it is a
 * few instructions away, so spin (engine code has no sleep of its own).
 */
static void waiter_exit(void *arg)
{
	struct zs_waiter *w = arg;

	while (atomic_load_explicit(&w->completing, memory_order_acquire) != 0) {
	}
}

struct zs_waiter *zs_waiter_self(void)
{
	if (!self_ready) {
		zs_event_init(&self.ev);
		atomic_init(&self.fired, NULL);
		atomic_init(&self.completing, 0);
		(void)zs_port_at_thread_exit(waiter_exit, &self);
		self_ready = true;
	}
	return &self;
}
