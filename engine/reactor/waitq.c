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
	zs_list_init(&node->link);
	zs_lock_take(&q->lock);
	zs_list_append(&q->nodes, &node->link);
	atomic_fetch_add(&q->count, 1);
	zs_lock_give(&q->lock);
	/* Order the link before the caller's condition test (pairs with the
	 * fence in zs_waitq_wake). */
	atomic_thread_fence(memory_order_seq_cst);
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

		zs_event_signal(&n->waiter->ev);
	}
	zs_lock_give(&q->lock);
}

static _Thread_local struct zs_waiter self;
static _Thread_local bool self_ready;

struct zs_waiter *zs_waiter_self(void)
{
	if (!self_ready) {
		zs_event_init(&self.ev);
		self_ready = true;
	}
	return &self;
}
