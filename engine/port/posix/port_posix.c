/*
 * The posix port: pthreads, CLOCK_MONOTONIC, and a reactor thread that
 * sleeps in poll(2) on an eventfd (the kick) plus the descriptors of hosted
 * netifs (TAP).
 *
 * Kicks are coalesced: a kick writes the eventfd only if no kick is already
 * pending, and the reactor clears the pending flag right after it wakes,
 * before it looks at any queue. So a burst of sends costs one syscall per
 * reactor iteration, not one per send, and no kick is ever lost: a kick that
 * finds the flag set knows the reactor has yet to look at the queues.
 */
#define _GNU_SOURCE
#include "engine/port/port.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct posix_event {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool set;
};

_Static_assert(sizeof(pthread_mutex_t) <= ZS_PORT_LOCK_SIZE, "zs_lock too small");
_Static_assert(sizeof(struct posix_event) <= ZS_PORT_EVENT_SIZE, "zs_event too small");

static pthread_mutex_t *lock_of(struct zs_lock *l) { return (pthread_mutex_t *)l->opaque; }
static struct posix_event *event_of(struct zs_event *e) { return (struct posix_event *)e->opaque; }

void zs_lock_init(struct zs_lock *l) { pthread_mutex_init(lock_of(l), NULL); }
void zs_lock_destroy(struct zs_lock *l) { pthread_mutex_destroy(lock_of(l)); }
void zs_lock_take(struct zs_lock *l) { pthread_mutex_lock(lock_of(l)); }
void zs_lock_give(struct zs_lock *l) { pthread_mutex_unlock(lock_of(l)); }

void zs_event_init(struct zs_event *e)
{
	struct posix_event *pe = event_of(e);
	pthread_condattr_t attr;

	pthread_mutex_init(&pe->mtx, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pe->cond, &attr);
	pthread_condattr_destroy(&attr);
	pe->set = false;
}

void zs_event_destroy(struct zs_event *e)
{
	struct posix_event *pe = event_of(e);

	pthread_cond_destroy(&pe->cond);
	pthread_mutex_destroy(&pe->mtx);
}

void zs_event_signal(struct zs_event *e)
{
	struct posix_event *pe = event_of(e);

	pthread_mutex_lock(&pe->mtx);
	pe->set = true;
	pthread_cond_signal(&pe->cond);
	pthread_mutex_unlock(&pe->mtx);
}

int zs_event_wait(struct zs_event *e, int64_t deadline_ms)
{
	struct posix_event *pe = event_of(e);
	struct timespec ts;
	int rc = 0;

	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	pthread_mutex_lock(&pe->mtx);
	while (!pe->set && rc == 0) {
		if (deadline_ms == ZS_FOREVER)
			pthread_cond_wait(&pe->cond, &pe->mtx);
		else if (pthread_cond_timedwait(&pe->cond, &pe->mtx, &ts) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	}
	if (pe->set) {
		pe->set = false;
		rc = 0;
	}
	pthread_mutex_unlock(&pe->mtx);
	return rc;
}

int64_t zs_port_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t zs_port_random(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)zs_port_now_ms() * 2654435761u;
	return v;
}

static pthread_once_t once_ctl = PTHREAD_ONCE_INIT;

void zs_port_once(void (*fn)(void))
{
	pthread_once(&once_ctl, fn);
}

/* ---- reactor thread ------------------------------------------------------ */

#define WATCH_MAX 8

struct watch {
	int fd;
	void (*ready)(void *arg);
	void *arg;
};

static int kick_fd = -1;
static atomic_bool kick_pending;
static _Thread_local bool in_reactor;
static struct watch watches[WATCH_MAX];
static int n_watches;

struct start_arg {
	void (*fn)(void *);
	void *arg;
};
static struct start_arg start;

static void *reactor_thread(void *p)
{
	struct start_arg *sa = p;

	in_reactor = true;
	sa->fn(sa->arg);
	return NULL;
}

int zs_port_reactor_start(void (*fn)(void *arg), void *arg)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (kick_fd < 0)
		return -errno;
	start.fn = fn;
	start.arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, reactor_thread, &start);
	pthread_attr_destroy(&attr);
	return -rc;
}

bool zs_port_in_reactor(void)
{
	return in_reactor;
}

void zs_port_reactor_kick(void)
{
	uint64_t one = 1;

	if (atomic_exchange(&kick_pending, true))
		return;
	if (write(kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		zs_port_panic("eventfd write failed", __FILE__, __LINE__);
}

void zs_port_reactor_sleep(uint32_t timeout_ms)
{
	struct pollfd pfd[WATCH_MAX + 1];
	int n = 0, i, rc;
	int tmo = timeout_ms == UINT32_MAX ? -1 : (int)(timeout_ms > INT32_MAX ? INT32_MAX : timeout_ms);
	uint64_t v;

	pfd[n].fd = kick_fd;
	pfd[n++].events = POLLIN;
	for (i = 0; i < n_watches; i++) {
		pfd[n].fd = watches[i].fd;
		pfd[n++].events = POLLIN;
	}
	if (atomic_load(&kick_pending))
		tmo = 0;
	rc = poll(pfd, (nfds_t)n, tmo);
	if (rc < 0 && errno != EINTR)
		zs_port_panic("poll failed", __FILE__, __LINE__);
	if (rc > 0 && (pfd[0].revents & POLLIN)) {
		if (read(kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			zs_port_panic("eventfd read failed", __FILE__, __LINE__);
	}
	/* Clear before anything is examined: later kicks must write again. */
	atomic_store(&kick_pending, false);
	for (i = 1; rc > 0 && i < n; i++) {
		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
			/* the table may shrink inside the callback */
			int k;
			for (k = 0; k < n_watches; k++) {
				if (watches[k].fd == pfd[i].fd) {
					watches[k].ready(watches[k].arg);
					break;
				}
			}
		}
	}
}

int zs_port_watch(int osfd, void (*ready)(void *arg), void *arg)
{
	ZS_ASSERT_REACTOR();
	if (osfd < 0 || ready == NULL)
		return -EINVAL;
	if (n_watches == WATCH_MAX)
		return -ENOSPC;
	watches[n_watches].fd = osfd;
	watches[n_watches].ready = ready;
	watches[n_watches].arg = arg;
	n_watches++;
	return 0;
}

void zs_port_unwatch(int osfd)
{
	int i;

	ZS_ASSERT_REACTOR();
	for (i = 0; i < n_watches; i++) {
		if (watches[i].fd == osfd) {
			watches[i] = watches[--n_watches];
			return;
		}
	}
}

_Noreturn void zs_port_panic(const char *msg, const char *file, int line)
{
	fprintf(stderr, "zsock: panic: %s at %s:%d\n", msg, file, line);
	abort();
}
