/* The reactor loop and its two queues; see reactor.h. */
#include "engine/reactor/reactor.h"
#include "engine/port/port.h"
#include "engine/reactor/waitq.h"
#include "engine/netbuf/net_buf.h"
#include "engine/stats.h"
#include "engine/engine_init.h"

#include <errno.h>
#include <stddef.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"

/* Looped-back packets delivered per iteration, over all netifs. */
#define ZS_REACTOR_LOOP_BUDGET 256

struct zs_counters zs_counters;

struct call {
	struct zs_list node;
	int (*fn)(void *arg);
	void *arg;
	int result;
	_Atomic bool done;
	struct zs_waiter *waiter;
};

static struct zs_lock q_lock;     /* guards calls and works */
static struct zs_list calls;
static struct zs_list works;
static struct zs_event started;
static int start_rc;
static _Atomic int engine_state;  /* 0 new, 1 running, -errno failed */

static bool pending_io(void)
{
	struct netif *n;

	NETIF_FOREACH(n) {
		if (n->loop_first != NULL)
			return true;
	}
	return false;
}

/*
 * Deliver at most budget packets from the loopback queues. lwIP's own
 * netif_poll() drains a queue until it is empty, and delivering a packet
 * can queue another (an ACK, a reply): two busy peers on loopback could
 * keep one call going for ever and starve every other phase. This is the
 * same dequeue, bounded. Returns the packets delivered.
 */
static int loop_deliver(int budget)
{
	struct netif *n;
	int done = 0;

	NETIF_FOREACH(n) {
		while (done < budget && n->loop_first != NULL) {
			struct pbuf *in = n->loop_first, *end = in;

			/* a packet is a chain ending where len == tot_len */
			while (end->len != end->tot_len)
				end = end->next;
			if (end == n->loop_last)
				n->loop_first = n->loop_last = NULL;
			else
				n->loop_first = end->next;
			end->next = NULL;
			in->if_idx = netif_get_index(n);
			if (ip_input(in, n) != ERR_OK)
				pbuf_free(in);
			done++;
		}
	}
	ZS_COUNT(loop_packets, done);
	return done;
}

static bool run_calls(void)
{
	struct zs_list batch, *n;

	zs_list_init(&batch);
	zs_lock_take(&q_lock);
	if (zs_list_empty(&calls)) {
		zs_lock_give(&q_lock);
		return false;
	}
	/* take the whole queue: calls queued meanwhile wait for next round */
	batch.next = calls.next;
	batch.prev = calls.prev;
	batch.next->prev = &batch;
	batch.prev->next = &batch;
	zs_list_init(&calls);
	zs_lock_give(&q_lock);

	while ((n = zs_list_pop(&batch)) != NULL) {
		struct call *c = zs_container_of(n, struct call, node);
		struct zs_waiter *w = c->waiter;

		c->result = c->fn(c->arg);
		/* once it sees done the caller may return and its thread end:
		 * completing holds that end back until the signal is out
		 * (waitq.c, waiter_exit) */
		atomic_fetch_add_explicit(&w->completing, 1, memory_order_relaxed);
		atomic_store_explicit(&c->done, true, memory_order_release);
		/* c lives on the caller's stack: after done, touch only w */
		zs_event_signal(&w->ev);
		atomic_fetch_sub_explicit(&w->completing, 1, memory_order_release);
	}
	return true;
}

static bool run_works(void)
{
	struct zs_list *n;
	int budget = 1024;
	bool any = false;

	while (budget-- > 0) {
		struct zs_work *w = NULL;

		zs_lock_take(&q_lock);
		n = zs_list_pop(&works);
		if (n != NULL) {
			w = zs_container_of(n, struct zs_work, node);
			/* cleared before it runs: a post during fn queues it again */
			atomic_store(&w->queued, false);
		}
		zs_lock_give(&q_lock);
		if (w == NULL)
			break;
		w->fn(w);
		any = true;
	}
	return any;
}

/* Reactor context, once, before the first step: lwIP and the interfaces. */
static int reactor_boot(void)
{
	lwip_init();
	start_rc = zs_engine_netifs_init();
	zs_event_signal(&started);
	return start_rc;
}

/*
 * One iteration (the phases of reactor.h). Returns true when it found work:
 * the caller steps again at once. False: idle until a kick, a watched
 * source, or *sleep_ms (lwIP's next timer; UINT32_MAX: none).
 */
static bool reactor_step(uint32_t *sleep_ms)
{
	static bool slept;
	bool busy = false;

	if (slept) {
		ZS_COUNT(reactor_wakeups, 1);
		slept = false;
	}
	/* work first: buffers a caller gave back (posted as work) are freed
	 * before the next call allocates; on one context the two come one
	 * right after the other, with no reactor iteration between */
	busy |= run_works();
	busy |= run_calls();
	if (loop_deliver(ZS_REACTOR_LOOP_BUDGET) > 0)
		busy = true;
	sys_check_timeouts();
	if (busy || pending_io())
		return true;
	*sleep_ms = sys_timeouts_sleeptime();
	slept = true;
	return false;
}

static const struct zs_reactor_ops reactor_ops = {
	.boot = reactor_boot,
	.step = reactor_step,
};

static struct zs_once engine_start_once = ZS_ONCE_INIT;

static void engine_start(void)
{
	int rc;

	zs_lock_init(&q_lock);
	zs_list_init(&calls);
	zs_list_init(&works);
	zs_event_init(&started);
	zs_netbuf_init();
	zs_engine_objects_init();
	rc = zs_port_reactor_start(&reactor_ops);
	if (rc == 0) {
		zs_event_wait(&started, ZS_FOREVER);
		rc = start_rc;
	}
	atomic_store(&engine_state, rc < 0 ? rc : 1);
}

int zs_engine_ensure(void)
{
	int st = atomic_load_explicit(&engine_state, memory_order_acquire);

	if (st == 0) {
		zs_port_once(&engine_start_once, engine_start);
		st = atomic_load(&engine_state);
	}
	return st < 0 ? st : 0;
}

int zs_reactor_call(int (*fn)(void *arg), void *arg)
{
	struct call c;

	if (zs_port_in_reactor())
		return fn(arg);
	c.fn = fn;
	c.arg = arg;
	c.result = 0;
	atomic_init(&c.done, false);
	c.waiter = zs_waiter_self();
	zs_lock_take(&q_lock);
	zs_list_append(&calls, &c.node);
	zs_lock_give(&q_lock);
	zs_port_reactor_kick();
	while (!atomic_load_explicit(&c.done, memory_order_acquire))
		zs_event_wait(&c.waiter->ev, ZS_FOREVER);
	return c.result;
}

/*
 * The flag is tested and set under q_lock, with the append: set outside it
 * (an exchange before taking the lock), a zs_reactor_cancel() that ran in
 * between found the flag set and the node not yet linked, cleared the flag,
 * and the late append then left the node queued with the flag clear: the
 * next post appended it a second time, the queue became a cycle and
 * run_works() went round it for ever (native::release_races_close under
 * TSan: a chain released while its socket closed, 4 runs in 60).
 */
void zs_reactor_post(struct zs_work *w)
{
	bool append;

	zs_lock_take(&q_lock);
	append = !atomic_load_explicit(&w->queued, memory_order_relaxed);
	if (append) {
		atomic_store_explicit(&w->queued, true, memory_order_relaxed);
		zs_list_append(&works, &w->node);
	}
	zs_lock_give(&q_lock);
	if (append && !zs_port_in_reactor())
		zs_port_reactor_kick();
}

void zs_reactor_cancel(struct zs_work *w)
{
	zs_lock_take(&q_lock);
	if (atomic_load(&w->queued)) {
		zs_list_remove(&w->node);
		atomic_store(&w->queued, false);
	}
	zs_lock_give(&q_lock);
}

/* lwIP's clock (NO_SYS): milliseconds, wrapping at 2^32 as lwIP expects. */
u32_t sys_now(void)
{
	return (u32_t)zs_port_now_ms();
}
