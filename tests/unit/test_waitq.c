/*
 * Wait queues (engine/reactor/waitq.c) over the port's events: a blocked
 * thread is woken, a wake nobody waits for leaves nothing behind, one
 * waiter linked to many queues gets one signal per wake, and a timed wait
 * never returns before its deadline.
 */
#include <criterion/criterion.h>
#include "tests/common/checked_test.h"
#include "engine/reactor/waitq.h"

#include <errno.h>
#include <zsock/zsock_config.h>
#if CONFIG_ZSOCK_HOSTED
#include <pthread.h>
#include <sched.h>
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define NQ 50

static struct zs_waitq q;

static void setup(void)
{
	zs_waitq_init(&q);
}

static void teardown(void)
{
	cr_expect_eq(atomic_load(&q.count), 0, "a node was left linked");
	cr_expect(zs_list_empty(&q.nodes), "a node was left linked");
	zs_waitq_destroy(&q);
}

TestSuite(waitq, .init = setup);

/* teardown() runs at the end of every test body: see checked_test.h */
#define UTEST(name, ...) CHECKED_TEST(waitq, name, teardown, ##__VA_ARGS__)

#if CONFIG_ZSOCK_HOSTED /* used by the thread tests only */
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}
#endif

/* The event of the calling thread is set: consume it. */
static bool pending(struct zs_waiter *w)
{
	return zs_event_wait(&w->ev, zs_port_now_ms() - 1) == 0;
}

/* ---- a blocked thread is woken ------------------------------------------ */

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
struct sleeper {
	struct zs_waitq *q;
	_Atomic bool cond;       /* the "state" the waker publishes */
	_Atomic bool linked;
	_Atomic int rc;
	_Atomic int loops;
	int64_t deadline;
};

/* The protocol of waitq.h: link, test, sleep; unlink when done. */
static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	struct zs_waiter *w = zs_waiter_self();
	struct zs_wait_node node;
	int rc = 0;

	zs_waitq_add(s->q, &node, w);
	atomic_store(&s->linked, true);
	while (!atomic_load(&s->cond)) {
		atomic_fetch_add(&s->loops, 1);
		rc = zs_event_wait(&w->ev, s->deadline);
		if (rc != 0)
			break;
	}
	zs_waitq_del(s->q, &node);
	atomic_store(&s->rc, rc);
	return NULL;
}

static void wake_blocked(int64_t deadline)
{
	struct sleeper s = { .q = &q, .deadline = deadline };
	pthread_t t;
	int64_t t0;

	cr_assert_eq(pthread_create(&t, NULL, sleeper_main, &s), 0);
	while (!atomic_load(&s.linked))
		sched_yield();
	sleep_ms(50);            /* let it block in zs_event_wait */
	t0 = zs_port_now_ms();
	atomic_store(&s.cond, true);
	zs_waitq_wake(&q);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&s.rc), 0);
	cr_assert_lt(zs_port_now_ms() - t0, 2000, "woken late: by timeout?");
	cr_assert_geq(atomic_load(&s.loops), 1, "the sleeper never waited");
}

UTEST(wakes_blocked_thread_forever, .timeout = 30)
{
	wake_blocked(ZS_FOREVER);
}

UTEST(wakes_blocked_thread_with_deadline, .timeout = 30)
{
	wake_blocked(zs_port_now_ms() + 10000);
}

/* Many rounds without the sleep: a wake racing the link/test must not be
 * lost (the sleeper would then wait the full 10 s and the test time out). */
UTEST(no_lost_wakeup, .timeout = 60)
{
	int i;

	for (i = 0; i < 2000; i++) {
		struct sleeper s = { .q = &q, .deadline = zs_port_now_ms() + 10000 };
		pthread_t t;

		cr_assert_eq(pthread_create(&t, NULL, sleeper_main, &s), 0);
		if (i & 1)
			sched_yield();
		atomic_store(&s.cond, true);
		zs_waitq_wake(&q);
		pthread_join(t, NULL);
		cr_assert_eq(atomic_load(&s.rc), 0, "round %d: wake lost", i);
	}
}
#endif

/* ---- wakes nobody waits for ---------------------------------------------- */

UTEST(wake_with_nobody_waiting)
{
	struct zs_waiter *w = zs_waiter_self();
	struct zs_wait_node node;

	zs_waitq_wake(&q);
	zs_waitq_wake(&q);
	cr_assert_eq(atomic_load(&q.count), 0);
	cr_assert(zs_list_empty(&q.nodes));

	/* a waiter linked after those wakes finds no stale signal */
	zs_waitq_add(&q, &node, w);
	cr_assert_not(pending(w), "a wake before the link signalled the waiter");
	zs_waitq_wake(&q);
	cr_assert(pending(w));
	zs_waitq_del(&q, &node);

	/* nor after it unlinked */
	zs_waitq_wake(&q);
	cr_assert_not(pending(w), "a wake after the unlink signalled the waiter");
}

/* ---- one waiter on many queues ----------------------------------------- */

static struct zs_waitq qs[NQ];
static struct zs_wait_node nodes[NQ];

static void link_all(struct zs_waiter *w)
{
	int i;

	for (i = 0; i < NQ; i++) {
		zs_waitq_init(&qs[i]);
		zs_waitq_add(&qs[i], &nodes[i], w);
		cr_assert_eq(atomic_load(&qs[i].count), 1);
	}
}

static void unlink_all(void)
{
	int i;

	for (i = 0; i < NQ; i++) {
		zs_waitq_del(&qs[i], &nodes[i]);
		cr_assert_eq(atomic_load(&qs[i].count), 0);
		zs_waitq_destroy(&qs[i]);
	}
}

UTEST(one_waiter_many_queues)
{
	struct zs_waiter *w = zs_waiter_self();
	int i;

	link_all(w);
	cr_assert_not(pending(w));
	for (i = 0; i < NQ; i++) {
		zs_waitq_wake(&qs[(i * 17) % NQ]);
		cr_assert(pending(w), "wake of queue %d not seen", (i * 17) % NQ);
		cr_assert_not(pending(w), "wake of queue %d signalled twice", (i * 17) % NQ);
	}
	/* wakes on every queue before the waiter looks: still one event */
	for (i = 0; i < NQ; i++)
		zs_waitq_wake(&qs[i]);
	cr_assert(pending(w));
	cr_assert_not(pending(w));
	unlink_all();
}

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
struct multi {
	_Atomic bool linked;
	_Atomic int woken;
	_Atomic int timeouts;
	_Atomic int extra;
};

/* Links to all queues, then counts its wake-ups (no cr_assert off the
 * test's own thread). */
static void *multi_main(void *arg)
{
	struct multi *m = arg;
	struct zs_waiter *w = zs_waiter_self();
	int i;

	for (i = 0; i < NQ; i++) {
		zs_waitq_init(&qs[i]);
		zs_waitq_add(&qs[i], &nodes[i], w);
	}
	atomic_store(&m->linked, true);
	while (atomic_load(&m->woken) < NQ) {
		if (zs_event_wait(&w->ev, zs_port_now_ms() + 5000) != 0) {
			atomic_fetch_add(&m->timeouts, 1);
			break;
		}
		atomic_fetch_add(&m->woken, 1);
	}
	/* every wake was consumed by the loop: nothing may be left */
	if (zs_event_wait(&w->ev, zs_port_now_ms() + 50) == 0)
		atomic_fetch_add(&m->extra, 1);
	for (i = 0; i < NQ; i++) {
		zs_waitq_del(&qs[i], &nodes[i]);
		zs_waitq_destroy(&qs[i]);
	}
	return NULL;
}

UTEST(blocked_waiter_many_queues, .timeout = 60)
{
	struct multi m = { 0 };
	pthread_t t;
	int r;

	cr_assert_eq(pthread_create(&t, NULL, multi_main, &m), 0);
	while (!atomic_load(&m.linked))
		sched_yield();
	for (r = 0; r < NQ; r++) {
		if (r % 5 == 0)
			sleep_ms(2);     /* sometimes let it block first */
		zs_waitq_wake(&qs[(r * 31) % NQ]);
		while (atomic_load(&m.woken) < r + 1 && atomic_load(&m.timeouts) == 0)
			sched_yield();
	}
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&m.timeouts), 0);
	cr_assert_eq(atomic_load(&m.woken), NQ, "one wake-up per wake");
	cr_assert_eq(atomic_load(&m.extra), 0, "a wake signalled more than once");
}
#endif

/* ---- timeouts ------------------------------------------------------------- */

UTEST(timeout_not_early)
{
	static const int64_t waits[] = { 1, 5, 20, 100, 250 };
	struct zs_waiter *w = zs_waiter_self();
	size_t i;

	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		int64_t deadline = zs_port_now_ms() + waits[i];
		int rc = zs_event_wait(&w->ev, deadline);
		int64_t now = zs_port_now_ms();

		cr_assert_eq(rc, -ETIMEDOUT, "wait %lld ms", (long long)waits[i]);
		cr_assert_geq(now, deadline, "a %lld ms wait returned %lld ms early",
			      (long long)waits[i], (long long)(deadline - now));
	}
}

UTEST(timeout_past_deadline_returns_at_once)
{
	struct zs_waiter *w = zs_waiter_self();
	int64_t t0 = zs_port_now_ms();

	cr_assert_eq(zs_event_wait(&w->ev, t0 - 1000), -ETIMEDOUT);
	cr_assert_eq(zs_event_wait(&w->ev, 0), -ETIMEDOUT);
	cr_assert_lt(zs_port_now_ms() - t0, 1000);
}

UTEST(timeout_with_queue_linked)
{
	struct zs_waiter *w = zs_waiter_self();
	struct zs_wait_node node;
	int64_t deadline;

	zs_waitq_add(&q, &node, w);
	deadline = zs_port_now_ms() + 30;
	cr_assert_eq(zs_event_wait(&w->ev, deadline), -ETIMEDOUT);
	cr_assert_geq(zs_port_now_ms(), deadline);
	zs_waitq_del(&q, &node);
}
