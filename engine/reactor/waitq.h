/*
 * Wait queues: how application threads sleep until the reactor changes
 * something they care about.
 *
 * A thread that waits owns one zs_waiter (an event). It links one
 * zs_wait_node per object it waits on into that object's zs_waitq, then
 * tests its condition, then sleeps on the event. Whoever changes an
 * object's state publishes the change first and calls zs_waitq_wake() after:
 * every linked waiter is signalled once. Because the node is linked before
 * the condition is tested, no wake-up can fall between test and sleep.
 *
 * A poll over N sockets links N nodes to one waiter: an event on any of them
 * costs one signal, not N. The cost of zs_waitq_wake() on a queue nobody
 * waits on is one atomic load.
 *
 * Tracked nodes (zs_wait_node_track) also say which of them fired: a wake
 * pushes the node, once until the waiter takes it, on the waiter's fired
 * list (a lock-free stack, emptied whole by zs_waiter_take_fired). A poll
 * set that stays linked across calls looks only at the sockets that fired,
 * so an event costs the same with 1 or 1024 sockets polled.
 */
#ifndef ZSOCK_WAITQ_H
#define ZSOCK_WAITQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include "engine/list.h"
#include "engine/port/port.h"

struct zs_wait_node;

struct zs_waiter {
	struct zs_event ev;
	_Atomic(struct zs_wait_node *) fired;  /**< tracked nodes woken, newest first */
	/** Reactor calls of this thread between their done flag and their
	 *  signal (reactor.c, run_calls): the thread's end waits for 0, so
	 *  the signal never reaches a waiter whose thread is gone. */
	_Atomic int completing;
};

struct zs_wait_node {
	struct zs_list link;
	struct zs_waiter *waiter;
	_Atomic bool tracked;          /**< push on the waiter's fired list when woken */
	_Atomic bool on_fired;         /**< pushed, not yet taken */
	struct zs_wait_node *fired_next;
};

struct zs_waitq {
	struct zs_lock lock;
	struct zs_list nodes;
	_Atomic int count;
};

void zs_waitq_init(struct zs_waitq *q);
void zs_waitq_destroy(struct zs_waitq *q);
/** Link node (for waiter w) into q. Any thread but the reactor. */
void zs_waitq_add(struct zs_waitq *q, struct zs_wait_node *node, struct zs_waiter *w);
/**
 * Make a linked node tracked (see above). A wake between the link and this
 * call only signals; the caller tests every node it linked after this.
 * The waiter MUST have emptied its fired list (zs_waiter_take_fired) since
 * the node was last unlinked, so that no node is on the list twice.
 */
void zs_wait_node_track(struct zs_wait_node *node);
/**
 * The waiter's own thread: call fn(node, arg) for every tracked node woken
 * since the last call. Each node's mark is cleared before fn sees it, so a
 * wake during or after fn pushes it again. Returns the number of nodes.
 */
int zs_waiter_take_fired(struct zs_waiter *w, void (*fn)(struct zs_wait_node *n, void *arg),
			 void *arg);
/** Unlink node from q (harmless if it is no longer linked). */
void zs_waitq_del(struct zs_waitq *q, struct zs_wait_node *node);
/** Signal every waiter linked to q. Any thread; call after publishing. */
void zs_waitq_wake(struct zs_waitq *q);

/** The calling thread's waiter (created on first use). */
struct zs_waiter *zs_waiter_self(void);

#endif
