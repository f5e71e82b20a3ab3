/*
 * The reactor: the one context that owns lwIP.
 *
 * Application threads reach it in two ways:
 *  - zs_reactor_call(): run a function in the reactor and wait for its
 *    result (bind, connect, listen, close, options: the control path). The
 *    request lives on the caller's stack; no allocation.
 *  - zs_reactor_post(): mark a work item (a socket with new tx data or
 *    consumed rx buffers) as needing service; the reactor runs it once,
 *    however many times it was posted before it ran. The data path.
 *
 * One iteration is a flat list of phases, each with bounded work:
 *   1. work       every posted work item (each bounded by its rings); first,
 *                 so that buffers given back are freed before a call
 *                 allocates (on one context nothing runs between the two)
 *   2. calls      every queued control call
 *   3. netifs     loopback deliveries, at most ZS_REACTOR_LOOP_BUDGET rounds
 *   4. timers     lwIP's sys_check_timeouts()
 *   5. sleep      until kicked, a netif descriptor is ready, or the next
 *                 lwIP timer, when the phases above found nothing to do
 * An idle engine therefore sleeps in the port's wait primitive with a timer
 * of its next lwIP timeout (TCP's 250 ms tick only while PCBs exist).
 */
#ifndef ZSOCK_REACTOR_H
#define ZSOCK_REACTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include "engine/list.h"

struct zs_work {
	struct zs_list node;
	_Atomic bool queued;
	void (*fn)(struct zs_work *w);
};

static inline void zs_work_init(struct zs_work *w, void (*fn)(struct zs_work *w))
{
	zs_list_init(&w->node);
	atomic_store(&w->queued, false);
	w->fn = fn;
}

/**
 * Start the engine if it is not running (lwIP, loopback, netifs from the
 * environment, the reactor thread). Every public entry point calls it.
 * Returns 0 or -errno (the start failed; every later call fails the same).
 */
int zs_engine_ensure(void);

/**
 * Run fn(arg) in the reactor and return its result. Blocks until it ran.
 * From the reactor itself it runs fn directly.
 */
int zs_reactor_call(int (*fn)(void *arg), void *arg);

/** Queue w for the reactor (no-op if already queued). Any thread. */
void zs_reactor_post(struct zs_work *w);

/** Drop w from the queue if it is queued (it will not run). Any thread. */
void zs_reactor_cancel(struct zs_work *w);

#endif
