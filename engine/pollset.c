/* Poll sets: see pollset.h. */
#include "engine/pollset.h"
#include "engine/fdtable.h"
#include "engine/list.h"
#include "engine/port/port.h"
#include "engine/reactor/waitq.h"
#include "engine/sock/native.h"
#include "engine/stats.h"

#include <errno.h>
#include <stdatomic.h>

#define PS_MAX CONFIG_NET_SOCKETS_POLL_MAX

struct ps_entry {
	void *obj;                     /* NULL: fd < 0 or not open (POLLNVAL) */
	const struct zs_fd_vtable *vt;
	struct zs_wait_node node;
	bool linked;
	uint32_t seen;                 /* stamp of the round that listed it */
};

/*
 * lock serialises the owner's poll calls with zs_pollset_forget() from
 * closing threads; the owner lets go of it while it sleeps.
 */
struct pollset {
	struct zs_lock lock;
	struct zs_waiter *waiter;      /* the owner thread's; NULL: set is free */
	bool valid;                    /* entries match fd[0..n), events[0..n) at gen */
	bool closed_under;             /* forget() dropped an entry */
	uint32_t gen;
	uint32_t stamp;                /* round number, for de-duplication */
	int n;
	int nready;
	int ncand;
	int fd[PS_MAX];                /* fd and events of each entry */
	short events[PS_MAX];
	int ready[PS_MAX];             /* entries that had revents last call */
	int cand[PS_MAX];              /* entries to test this round */
	struct ps_entry e[PS_MAX];
	/* linked to the transmit pool's queue when some entry asks POLLOUT:
	 * room there can make any of them writable */
	struct zs_wait_node pool_node;
	bool pool_linked;
};

#if CONFIG_ZSOCK_POLLSETS > 0
static struct pollset sets[CONFIG_ZSOCK_POLLSETS];
#else
static struct pollset *sets; /* no sets: every poll is a plain one */
#endif
static struct zs_lock sets_lock;
static _Atomic int sets_owned;
static _Thread_local struct pollset *mine;

void zs_pollset_init(void)
{
	int i;

	zs_lock_init(&sets_lock);
	for (i = 0; i < CONFIG_ZSOCK_POLLSETS; i++)
		zs_lock_init(&sets[i].lock);
}

/* Lock held: unlink e and drop its reference. */
static void drop_entry(struct ps_entry *e)
{
	if (e->linked)
		e->vt->poll_unlink(e->obj, &e->node);
	zs_fd_put(e->obj, e->vt);
	e->obj = NULL;
	e->linked = false;
}

/* Lock held: unregister every entry. */
static void clear_entries(struct pollset *ps)
{
	int i;

	for (i = 0; i < ps->n; i++) {
		if (ps->e[i].obj != NULL)
			drop_entry(&ps->e[i]);
	}
	if (ps->pool_linked)
		zs_waitq_del(zs_sock_pool_waitq(), &ps->pool_node);
	ps->pool_linked = false;
	ps->n = 0;
	ps->nready = 0;
	ps->valid = false;
}

static void release(void *p)
{
	struct pollset *ps = p;

	zs_lock_take(&ps->lock);
	clear_entries(ps);
	zs_lock_give(&ps->lock);
	zs_lock_take(&sets_lock);
	ps->waiter = NULL;
	atomic_fetch_sub(&sets_owned, 1);
	zs_lock_give(&sets_lock);
	mine = NULL;
}

static struct pollset *acquire(void)
{
	struct pollset *ps = NULL;
	int i;

	if (mine != NULL)
		return mine;
	if (atomic_load(&sets_owned) >= CONFIG_ZSOCK_POLLSETS)
		return NULL;
	zs_lock_take(&sets_lock);
	for (i = 0; i < CONFIG_ZSOCK_POLLSETS; i++) {
		if (sets[i].waiter == NULL) {
			ps = &sets[i];
			ps->waiter = zs_waiter_self();
			atomic_fetch_add(&sets_owned, 1);
			break;
		}
	}
	zs_lock_give(&sets_lock);
	if (ps == NULL)
		return NULL;
	/* entries are ps->lock's: zs_pollset_forget() reads them under it
	 * from any thread (release() emptied them the same way) */
	zs_lock_take(&ps->lock);
	ps->valid = false;
	ps->n = 0;
	zs_lock_give(&ps->lock);
	if (zs_port_at_thread_exit(release, ps) < 0) {
		release(ps);
		return NULL;
	}
	mine = ps;
	return ps;
}

static void add_cand(struct pollset *ps, int i)
{
	if (ps->e[i].seen == ps->stamp)
		return;
	ps->e[i].seen = ps->stamp;
	ps->cand[ps->ncand++] = i;
}

/* fds of the call in progress, for fired() */
static _Thread_local const struct zsock_pollfd *cur_fds;

static void fired(struct zs_wait_node *node, void *arg)
{
	struct pollset *ps = arg;
	struct ps_entry *e;
	long i;

	if (node == &ps->pool_node) {
		/* rare (the pool ran dry and refilled): every POLLOUT asker */
		for (i = 0; i < ps->n; i++) {
			if (cur_fds[i].events & ZSOCK_POLLOUT)
				add_cand(ps, (int)i);
		}
		return;
	}
	e = zs_container_of(node, struct ps_entry, node);
	i = e - ps->e;
	if (i >= 0 && i < ps->n)
		add_cand(ps, (int)i);
}

static void ignore(struct zs_wait_node *node, void *arg)
{
	(void)node;
	(void)arg;
}

static void next_round(struct pollset *ps)
{
	if (++ps->stamp == 0)
		ps->stamp = 1; /* 0 is "never listed" */
	ps->ncand = 0;
}

/* Lock held: register fds[0..nfds); every entry is a candidate. */
static void rebuild(struct pollset *ps, struct zsock_pollfd *fds, int nfds)
{
	int i;

	clear_entries(ps);
	/* no node may sit on the fired list when it is linked again */
	zs_waiter_take_fired(ps->waiter, ignore, NULL);
	ps->gen = zs_fd_generation(); /* before the lookups: a close meanwhile
					 changes it and forces the next rebuild */
	for (i = 0; i < nfds; i++) {
		struct ps_entry *e = &ps->e[i];

		ps->fd[i] = fds[i].fd;
		ps->events[i] = fds[i].events;
		e->linked = false;
		e->seen = 0;
		e->obj = fds[i].fd < 0 ? NULL : zs_fd_get(fds[i].fd, &e->vt);
		if (e->obj != NULL && e->vt->poll_link != NULL) {
			e->vt->poll_link(e->obj, &e->node, ps->waiter);
			zs_wait_node_track(&e->node);
			e->linked = true;
		}
		add_cand(ps, i);
		if ((fds[i].events & ZSOCK_POLLOUT) && !ps->pool_linked) {
			zs_waitq_add(zs_sock_pool_waitq(), &ps->pool_node, ps->waiter);
			zs_wait_node_track(&ps->pool_node);
			ps->pool_linked = true;
		}
	}
	ps->n = nfds;
	ps->valid = true;
}

/* Whether fds is what the set holds; clears every revents on the way. */
static bool same(struct pollset *ps, struct zsock_pollfd *fds, int nfds)
{
	uint32_t diff = 0;
	int i;

	/* one pass, word-sized compares: it runs on every call */
	for (i = 0; i < nfds; i++) {
		diff |= (uint32_t)(fds[i].fd ^ ps->fd[i]) |
			(uint16_t)(fds[i].events ^ ps->events[i]);
		fds[i].revents = 0;
	}
	return ps->valid && ps->n == nfds && diff == 0 && ps->gen == zs_fd_generation();
}

/* Test this round's candidates. Returns the ready count or -EINTR. */
static int test(struct pollset *ps, struct zsock_pollfd *fds)
{
	int k, n = 0;

	for (k = 0; k < ps->ncand; k++) {
		int i = ps->cand[k];
		struct ps_entry *e = &ps->e[i];
		int ev;

		if (fds[i].fd < 0)
			continue;
		if (e->obj == NULL) {
			ev = ZSOCK_POLLNVAL;
		} else {
			ev = e->vt->poll_events ? e->vt->poll_events(e->obj) : 0;
			if (ev & ZS_POLL_CLOSED)
				return -EINTR;
		}
		fds[i].revents = (short)(ev & (fds[i].events | ZSOCK_POLLERR | ZSOCK_POLLHUP |
					       ZSOCK_POLLNVAL));
		if (fds[i].revents) {
			ps->ready[ps->nready++] = i;
			n++;
		}
	}
	ZS_COUNT(poll_tests, (uint64_t)ps->ncand);
	ps->ncand = 0;
	return n;
}

int zs_pollset_poll(struct zsock_pollfd *fds, int nfds, int timeout)
{
	int64_t deadline = timeout < 0 ? ZS_FOREVER : zs_port_now_ms() + timeout;
	struct pollset *ps = acquire();
	int k, n, rc;

	if (ps == NULL || nfds > PS_MAX)
		return -ENOSPC;
	zs_lock_take(&ps->lock);
	cur_fds = fds;
	ps->closed_under = false;
	next_round(ps);
	if (!same(ps, fds, nfds)) {
		rebuild(ps, fds, nfds);
	} else {
		/* level-triggered: what was ready may still be */
		for (k = 0; k < ps->nready; k++)
			add_cand(ps, ps->ready[k]);
	}
	ps->nready = 0;
	zs_waiter_take_fired(ps->waiter, fired, ps);
	for (;;) {
		n = test(ps, fds);
		if (n != 0 || timeout == 0)
			break;
		zs_lock_give(&ps->lock);
		rc = zs_event_wait(&ps->waiter->ev, deadline);
		zs_lock_take(&ps->lock);
		if (ps->closed_under) {
			n = -EINTR;
			break;
		}
		next_round(ps);
		zs_waiter_take_fired(ps->waiter, fired, ps);
		if (rc == -ETIMEDOUT) {
			n = test(ps, fds);
			break;
		}
		ZS_COUNT(poll_wakeups, 1);
	}
	if (n < 0)
		ps->valid = false;
	zs_lock_give(&ps->lock);
	return n;
}

void zs_pollset_forget(void *obj)
{
	int s, i;

	if (atomic_load(&sets_owned) == 0)
		return;
	for (s = 0; s < CONFIG_ZSOCK_POLLSETS; s++) {
		struct pollset *ps = &sets[s];
		bool hit = false;

		zs_lock_take(&ps->lock);
		for (i = 0; i < ps->n; i++) {
			struct ps_entry *e = &ps->e[i];

			if (e->obj != obj)
				continue;
			drop_entry(e);
			hit = true;
		}
		if (hit) {
			ps->valid = false;
			ps->closed_under = true;
			zs_event_signal(&ps->waiter->ev);
		}
		zs_lock_give(&ps->lock);
	}
}
