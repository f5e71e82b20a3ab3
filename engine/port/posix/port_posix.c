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
#include <zsock/zsock_config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * Events: a state word, spun on first, then a condition variable.
 *
 * A hand-off between threads that sleep costs a scheduler wake-up of tens
 * of microseconds on this kind of machine, and a request/response over the
 * engine needs several. So a waiter first spins on the state word for up to
 * CONFIG_ZSOCK_SPIN_US (bounded, yielding the CPU between looks so that a
 * spinner never keeps the thread it waits for off a core), and only then
 * sleeps on the condition variable. The signaller pays a syscall only when
 * the waiter is really asleep (state WAITING).
 *
 * Adaptive: spinning pays only for waits that end inside the window. Each
 * waiter predicts whether its next wait will be short the way a branch
 * predictor does: two-bit saturating counters indexed by the outcomes of
 * its last two waits. Every wait teaches it, including the ones it slept
 * through (their length is measured), so a waiter whose waits are long
 * (an idle connection, a server between requests) stops spinning, one
 * whose waits are short spins, and a waiter that alternates (the reactor
 * of a request/response at 1 kHz: a short wait for the reply, then a long
 * one for the next request) spins only where it pays.
 */
enum { EV_IDLE, EV_SET, EV_WAITING };

/* Adaptive spinning state of one waiter (touched by that waiter only). */
struct spinner {
	uint8_t hist;       /* outcomes of the last two waits, 1 = short */
	uint8_t ctr[4];     /* per history: 0..3, >= 2 predicts a short wait */
};

static void spinner_init(struct spinner *sp)
{
	sp->hist = 3;
	memset(sp->ctr, 2, sizeof(sp->ctr)); /* start by spinning */
}

static bool spinner_predicts_short(const struct spinner *sp)
{
	return sp->ctr[sp->hist] >= 2;
}

static void spinner_learn(struct spinner *sp, bool short_wait)
{
	uint8_t *c = &sp->ctr[sp->hist];

	if (short_wait && *c < 3)
		(*c)++;
	else if (!short_wait && *c > 0)
		(*c)--;
	sp->hist = (uint8_t)(((sp->hist << 1) | (short_wait ? 1 : 0)) & 3);
}

struct posix_event {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	_Atomic int state;
	struct spinner spin;
};

_Static_assert(sizeof(pthread_mutex_t) <= ZS_PORT_LOCK_SIZE, "zs_lock too small");
_Static_assert(sizeof(struct posix_event) <= ZS_PORT_EVENT_SIZE, "zs_event too small");

static pthread_mutex_t *lock_of(struct zs_lock *l) { return (pthread_mutex_t *)l->opaque; }
static struct posix_event *event_of(struct zs_event *e) { return (struct posix_event *)e->opaque; }

void zs_lock_init(struct zs_lock *l) { pthread_mutex_init(lock_of(l), NULL); }
void zs_lock_destroy(struct zs_lock *l) { pthread_mutex_destroy(lock_of(l)); }
void zs_lock_take(struct zs_lock *l) { pthread_mutex_lock(lock_of(l)); }
void zs_lock_give(struct zs_lock *l) { pthread_mutex_unlock(lock_of(l)); }
bool zs_lock_try(struct zs_lock *l) { return pthread_mutex_trylock(lock_of(l)) == 0; }

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/*
 * Spin until *word != unwanted, other(), if given, returns true, or spin_us
 * pass. Returns true if the word changed or other() said so. Looks at the
 * word between short pause runs and yields the CPU every few looks: on a
 * machine with fewer cores than busy threads, the thread being waited for
 * may need this core.
 */
static bool spin_until_changed(_Atomic int *word, int unwanted, int64_t spin_us,
			       bool (*other)(void))
{
	int64_t end;
	int i;

	if (spin_us <= 0)
		return false;
	end = now_us() + spin_us;
	for (;;) {
		for (i = 0; i < 64; i++) {
			if (atomic_load_explicit(word, memory_order_acquire) != unwanted)
				return true;
			cpu_relax();
		}
		if (other != NULL && other())
			return true;
		if (now_us() >= end)
			return false;
		sched_yield();
	}
}

/* spin_until_changed() for at most spin_us if sp predicts a short wait.
 * The caller tells sp how the wait ended (spinner_learn). */
static bool spin_adaptive(struct spinner *sp, _Atomic int *word, int unwanted, int64_t spin_us,
			  bool (*other)(void))
{
	if (spin_us <= 0 || !spinner_predicts_short(sp))
		return false;
	return spin_until_changed(word, unwanted, spin_us, other);
}

void zs_event_init(struct zs_event *e)
{
	struct posix_event *pe = event_of(e);
	pthread_condattr_t attr;

	pthread_mutex_init(&pe->mtx, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pe->cond, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&pe->state, EV_IDLE);
	spinner_init(&pe->spin);
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

	if (atomic_exchange_explicit(&pe->state, EV_SET, memory_order_acq_rel) != EV_WAITING)
		return; /* nobody asleep: the waiter sees SET while spinning or before sleeping */
	/* The waiter is in (or about to enter, holding mtx) pthread_cond_wait. */
	pthread_mutex_lock(&pe->mtx);
	pthread_cond_signal(&pe->cond);
	pthread_mutex_unlock(&pe->mtx);
}

/* Spin phase of a wait: never past the deadline. True if the event came. */
static bool event_spin(struct posix_event *pe, int64_t deadline_ms)
{
	int64_t spin = CONFIG_ZSOCK_SPIN_US;

	if (deadline_ms != ZS_FOREVER) {
		int64_t left_us = (deadline_ms - zs_port_now_ms()) * 1000;

		if (left_us < spin)
			spin = left_us;
	}
	return spin_adaptive(&pe->spin, &pe->state, EV_IDLE, spin, NULL);
}

/* The waiter consumes a SET without the mutex: only a WAITING state makes
 * a signaller take it. */
static bool event_take(struct posix_event *pe)
{
	int set = EV_SET;

	return atomic_compare_exchange_strong(&pe->state, &set, EV_IDLE);
}

int zs_event_wait(struct zs_event *e, int64_t deadline_ms)
{
	struct posix_event *pe = event_of(e);
	struct timespec ts;
	int expected = EV_IDLE;
	int64_t t0;
	int rc = 0;

	if (event_take(pe))
		return 0; /* already set: no wait to learn from */
	t0 = now_us();
	if (event_spin(pe, deadline_ms) && event_take(pe)) {
		spinner_learn(&pe->spin, true);
		return 0;
	}
	pthread_mutex_lock(&pe->mtx);
	if (atomic_compare_exchange_strong(&pe->state, &expected, EV_WAITING)) {
		/* asleep until a signal turns WAITING into SET, or the deadline */
		ts.tv_sec = (time_t)(deadline_ms / 1000);
		ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
		while (atomic_load(&pe->state) == EV_WAITING) {
			if (deadline_ms == ZS_FOREVER) {
				pthread_cond_wait(&pe->cond, &pe->mtx);
			} else if (pthread_cond_timedwait(&pe->cond, &pe->mtx, &ts) == ETIMEDOUT) {
				expected = EV_WAITING;
				if (atomic_compare_exchange_strong(&pe->state, &expected, EV_IDLE))
					rc = -ETIMEDOUT;
				break; /* else a signal landed just now: consume it */
			}
		}
	}
	if (rc == 0)
		atomic_store(&pe->state, EV_IDLE); /* consume the SET */
	pthread_mutex_unlock(&pe->mtx);
	/* a wait the spin would have covered teaches the predictor to spin */
	spinner_learn(&pe->spin, now_us() - t0 <= CONFIG_ZSOCK_SPIN_US);
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

int zs_port_entropy(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		/* blocks only until the kernel's pool is first initialised */
		ssize_t n = getrandom(p, len > 256 ? 256 : len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int zs_port_realtime(int64_t *unix_secs)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -errno;
	*unix_secs = (int64_t)ts.tv_sec;
	return 0;
}

/* Thread-exit hooks: a pthread key whose destructor runs them. */
#define EXIT_HOOKS_MAX 4
struct exit_hooks {
	int n;
	struct {
		void (*fn)(void *arg);
		void *arg;
	} h[EXIT_HOOKS_MAX];
};
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static _Thread_local struct exit_hooks exit_hooks;

static void run_exit_hooks(void *p)
{
	struct exit_hooks *eh = p;
	int i;

	for (i = 0; i < eh->n; i++)
		eh->h[i].fn(eh->h[i].arg);
	eh->n = 0;
}

static void exit_key_create(void)
{
	if (pthread_key_create(&exit_key, run_exit_hooks) != 0)
		zs_port_panic("pthread_key_create failed", __FILE__, __LINE__);
}

int zs_port_at_thread_exit(void (*fn)(void *arg), void *arg)
{
	struct exit_hooks *eh = &exit_hooks;

	pthread_once(&exit_once, exit_key_create);
	if (eh->n == EXIT_HOOKS_MAX)
		return -ENOSPC;
	eh->h[eh->n].fn = fn;
	eh->h[eh->n].arg = arg;
	eh->n++;
	pthread_setspecific(exit_key, eh); /* non-NULL: the destructor runs */
	return 0;
}

_Static_assert(sizeof(pthread_once_t) <= sizeof(struct zs_once), "zs_once too small");
_Static_assert(PTHREAD_ONCE_INIT == 0, "zs_once relies on a zero PTHREAD_ONCE_INIT");

void zs_port_once(struct zs_once *once, void (*fn)(void))
{
	pthread_once((pthread_once_t *)(void *)once->opaque, fn);
}

/* ---- reactor thread ------------------------------------------------------ */

#define WATCH_MAX 8

struct watch {
	int fd;
	void (*ready)(void *arg);
	void *arg;
};

static int kick_fd = -1;
static _Atomic int kick_pending;     /* a kick since the reactor last looked */
static atomic_bool reactor_asleep;  /* committed to poll(2): kicks must write */
static struct spinner reactor_spin = { .hist = 3, .ctr = { 2, 2, 2, 2 } };
static _Thread_local bool in_reactor;
static struct watch watches[WATCH_MAX];
static int n_watches;

static void *reactor_thread(void *p)
{
	const struct zs_reactor_ops *ops = p;

	in_reactor = true;
	if (ops->boot() < 0)
		return NULL;
	for (;;) {
		uint32_t sleep_ms = UINT32_MAX;

		if (!ops->step(&sleep_ms))
			zs_port_reactor_sleep(sleep_ms);
	}
	return NULL;
}

int zs_port_reactor_start(const struct zs_reactor_ops *ops)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (kick_fd < 0)
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, reactor_thread, (void *)ops);
	pthread_attr_destroy(&attr);
	return -rc;
}

bool zs_port_in_reactor(void)
{
	return in_reactor;
}

/*
 * Kicks and sleeps pair up like Dekker's flags (both sides seq_cst): the
 * kicker sets kick_pending then looks at reactor_asleep; the reactor sets
 * reactor_asleep then looks at kick_pending. At least one of them sees the
 * other, so a kick is never lost, and a kick costs no syscall while the
 * reactor is awake or spinning.
 */
void zs_port_reactor_kick(void)
{
	uint64_t one = 1;

	if (atomic_exchange(&kick_pending, 1))
		return;
	if (!atomic_load(&reactor_asleep))
		return;
	if (write(kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		zs_port_panic("eventfd write failed", __FILE__, __LINE__);
}

/* A watched descriptor is readable now (one poll(2) that does not sleep). */
static bool watches_ready(void)
{
	struct pollfd pfd[WATCH_MAX];
	int i;

	for (i = 0; i < n_watches; i++) {
		pfd[i].fd = watches[i].fd;
		pfd[i].events = POLLIN;
	}
	return poll(pfd, (nfds_t)n_watches, 0) > 0;
}

void zs_port_reactor_sleep(uint32_t timeout_ms)
{
	struct pollfd pfd[WATCH_MAX + 1];
	int n = 0, i, rc;
	int tmo = timeout_ms == UINT32_MAX ? -1 : (int)(timeout_ms > INT32_MAX ? INT32_MAX : timeout_ms);
	uint64_t v;
	int64_t t0;

	pfd[n].fd = kick_fd;
	pfd[n++].events = POLLIN;
	for (i = 0; i < n_watches; i++) {
		pfd[n].fd = watches[i].fd;
		pfd[n++].events = POLLIN;
	}
	/* Spin first (bounded, as the events do): work that comes back within
	 * the window costs the kicker no syscall and the reactor no wake-up.
	 * Watched descriptors (TAP) are looked at between spin rounds, with a
	 * poll(2) that does not sleep, so a frame is not kept waiting. */
	t0 = now_us();
	if (tmo != 0 && spin_adaptive(&reactor_spin, &kick_pending, 0, CONFIG_ZSOCK_SPIN_US,
				      n_watches > 0 ? watches_ready : NULL))
		tmo = 0;
	atomic_store(&reactor_asleep, true);
	if (atomic_load(&kick_pending))
		tmo = 0;
	if (tmo == 0 && n == 1)
		rc = 0; /* only the kick to look at, and it is pending */
	else
		rc = poll(pfd, (nfds_t)n, tmo);
	atomic_store(&reactor_asleep, false);
	if (rc < 0 && errno != EINTR)
		zs_port_panic("poll failed", __FILE__, __LINE__);
	if (rc > 0 && (pfd[0].revents & POLLIN)) {
		if (read(kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			zs_port_panic("eventfd read failed", __FILE__, __LINE__);
	}
	/* Clear before anything is examined: later kicks must set it again. */
	atomic_store(&kick_pending, 0);
	if (timeout_ms != 0)
		spinner_learn(&reactor_spin, now_us() - t0 <= CONFIG_ZSOCK_SPIN_US);
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

/* Interfaces come from ZSOCK_NETIF and zsock_engine_add_netif() here. */
int zs_port_netifs_init(void)
{
	return 0;
}

/* The reactor has a thread of its own here. */
void zs_port_pump(void)
{
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
