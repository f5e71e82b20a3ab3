/*
 * The port layer: the one seam between the engine and the operating system
 * (lwIP's sys_arch, libuv's src/unix). Everything above it is plain C11 and
 * includes no OS header; a port provides:
 *
 *   locks      zs_lock_*: short critical sections, never held while sleeping
 *   events     zs_event_*: a binary semaphore with an absolute deadline; the
 *              primitive every wait queue is built from
 *   clock      zs_port_now_ms: monotonic milliseconds
 *   reactor    start it once, kick it awake from any thread, let it sleep
 *              until kicked, a watched descriptor is ready, or a timeout
 *   entropy    zs_port_random for TCP ISNs and ephemeral ports;
 *              zs_port_entropy to seed a cryptographic generator (TLS)
 *   wall clock zs_port_realtime, for certificate validity (TLS)
 *
 * The storage of locks and events is opaque and sized here so that engine
 * structs can embed them without including the port's headers; each port
 * checks with a static assertion that its native objects fit.
 */
#ifndef ZSOCK_PORT_H
#define ZSOCK_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zsock/zsock_config.h>

#if CONFIG_ZSOCK_HOSTED
/* a pthread mutex; a mutex, a condition variable and a state word */
#define ZS_PORT_LOCK_SIZE  64
#define ZS_PORT_EVENT_SIZE 128
#define ZS_PORT_ALIGN      16
#else
/* one context: a flag each (engine/port/baremetal) */
#define ZS_PORT_LOCK_SIZE  4
#define ZS_PORT_EVENT_SIZE 4
#define ZS_PORT_ALIGN      4
#endif

/** A mutex. Non-recursive; MUST NOT be held across a sleep. */
struct zs_lock {
	_Alignas(ZS_PORT_ALIGN) unsigned char opaque[ZS_PORT_LOCK_SIZE];
};

/** A binary semaphore: signal sets it, wait consumes it. */
struct zs_event {
	_Alignas(ZS_PORT_ALIGN) unsigned char opaque[ZS_PORT_EVENT_SIZE];
};

/** Deadline meaning "never". */
#define ZS_FOREVER INT64_MAX

void zs_lock_init(struct zs_lock *l);
void zs_lock_destroy(struct zs_lock *l);
#if CONFIG_ZSOCK_HOSTED
void zs_lock_take(struct zs_lock *l);
void zs_lock_give(struct zs_lock *l);
#endif /* one context: inline, at the end of this file */
/** Take the lock if it is free: true when taken. Never blocks. */
bool zs_lock_try(struct zs_lock *l);

void zs_event_init(struct zs_event *e);
void zs_event_destroy(struct zs_event *e);
/** Set the event and wake its waiter. Any thread, including the reactor. */
void zs_event_signal(struct zs_event *e);
/**
 * Wait until the event is set (then clear it and return 0) or until the
 * absolute deadline on the zs_port_now_ms() clock passes (-ETIMEDOUT).
 * Blocks. MUST NOT be called from the reactor context.
 */
int zs_event_wait(struct zs_event *e, int64_t deadline_ms);

/** Monotonic time in milliseconds; never goes backwards. */
int64_t zs_port_now_ms(void);

/** 32 random bits (not for keys: ISNs and ports only). */
uint32_t zs_port_random(void);

/**
 * Fill buf with len bytes of seed material for a cryptographic random
 * generator: what TLS feeds BearSSL's HMAC-DRBG where BearSSL has no
 * system seeder of its own (bare metal). Returns 0, or -errno when the
 * port has nothing to give (the caller must then fail, never go on
 * unseeded). Any thread; may block briefly while the source gathers.
 *
 * The seed is only as good as its source. Hosted ports: getrandom(2).
 * Bare-metal ports: the board's zs_bm_board_entropy() (baremetal.h), which
 * a real board implements with its TRNG. boards/lm3s6965evb (QEMU, no
 * TRNG) hashes what varies from run to run (host time, timer jitter): NOT
 * a secure source, good for tests only.
 */
int zs_port_entropy(void *buf, size_t len);

/**
 * The wall clock, for the validity dates of certificates: seconds since
 * 1970-01-01 00:00 UTC in *unix_secs. Returns 0, or -ENOTSUP when the port
 * has no wall clock (TLS then cannot check validity dates, and a
 * handshake that verifies its peer fails). Hosted ports: CLOCK_REALTIME.
 * Bare-metal ports: the board's zs_bm_board_realtime() (baremetal.h).
 */
int zs_port_realtime(int64_t *unix_secs);

/**
 * Run fn(arg) when the calling thread ends (hosted ports; at most 4 per
 * thread, later ones are ignored and return -ENOSPC). Returns 0. On a port
 * with one context, threads never end and this does nothing.
 */
int zs_port_at_thread_exit(void (*fn)(void *arg), void *arg);

/** A once-only flag: static storage, zero-initialised (ZS_ONCE_INIT). */
struct zs_once {
	_Alignas(8) unsigned char opaque[8];
};
#define ZS_ONCE_INIT { { 0 } }

/**
 * Run fn() exactly once per flag in the process, whoever calls first;
 * every caller returns after fn() has returned.
 */
void zs_port_once(struct zs_once *once, void (*fn)(void));

/** The reactor as a port runs it (engine/reactor/reactor.c provides it). */
struct zs_reactor_ops {
	/** Once, in the reactor context, before any step: 0 or -errno (then
	 *  the port never steps). */
	int (*boot)(void);
	/**
	 * One bounded iteration. True: it did work, step again. False: idle;
	 * *sleep_ms is the time to the next timer (UINT32_MAX: none), and the
	 * port sleeps (zs_port_reactor_sleep) before the next step.
	 */
	bool (*step)(uint32_t *sleep_ms);
};

/**
 * Start the reactor. Called once, from zs_port_once(). Returns 0 or -errno.
 * A hosted port runs boot and then steps for ever in a thread of its own.
 * A port with one context (baremetal) runs boot at once and then steps
 * whenever the application waits (zs_event_wait pumps the reactor).
 */
int zs_port_reactor_start(const struct zs_reactor_ops *ops);

#if CONFIG_ZSOCK_HOSTED
/** True when the caller runs in the reactor context. */
bool zs_port_in_reactor(void);
#endif /* one context: inline, at the end of this file */

/** Wake the reactor if it sleeps. Any thread; cheap when it is awake. */
void zs_port_reactor_kick(void);

/**
 * Reactor only: sleep until kicked, a watched descriptor is ready (its
 * callback has then run), or timeout_ms passes (UINT32_MAX: no timeout).
 * A kick that arrives before the call makes it return at once.
 */
void zs_port_reactor_sleep(uint32_t timeout_ms);

/**
 * Reactor only: call ready(arg) from zs_port_reactor_sleep() whenever the
 * source osfd is ready. Returns 0, -ENOSPC (table full) or -EINVAL.
 * Hosted ports: osfd is an OS descriptor, ready when readable (TAP).
 * Bare-metal ports: osfd is a source number 0..7 that an interrupt handler
 * marks ready with zs_port_isr_ready() (a driver's receive interrupt).
 */
int zs_port_watch(int osfd, void (*ready)(void *arg), void *arg);
/** Reactor only: stop watching osfd. */
void zs_port_unwatch(int osfd);

/**
 * Bare-metal ports, interrupt context (or the reactor): mark source (0..7) ready and wake
 * the reactor; its ready() callback runs in the reactor at the next
 * zs_port_reactor_sleep(). Hosted ports do not provide it.
 */
void zs_port_isr_ready(int source);

/**
 * Let the reactor run once if the port has no context of its own for it
 * (bare-metal: one step and the ready sources), so a caller that polls
 * with a zero timeout still makes progress. Hosted ports: nothing. Never
 * from the reactor; MUST NOT be called with a lock held.
 */
void zs_port_pump(void);

/**
 * Reactor, once at engine start: bring up the port's own network
 * interfaces (bare metal: the board's Ethernet). Returns 0 or -errno (the
 * engine then fails to start). Hosted ports have none: TAP interfaces
 * come from ZSOCK_NETIF and zsock_engine_add_netif().
 */
int zs_port_netifs_init(void);

/** Fatal error: print msg and abort. */
_Noreturn void zs_port_panic(const char *msg, const char *file, int line);

#define ZS_ASSERT(cond) \
	do { if (!(cond)) zs_port_panic("assertion failed: " #cond, __FILE__, __LINE__); } while (0)

#if !CONFIG_ZSOCK_HOSTED
/*
 * One context (engine/port/baremetal): a lock can never be contended, so it
 * is a flag that only catches a second take (a deadlock on a hosted port),
 * and "in the reactor" is a flag the port sets while a reactor step runs.
 * Inline: the engine takes some twenty locks per request, and a call each
 * cost more than the flag itself.
 */
extern bool zs_bm_in_reactor;
/** A lock taken twice: fatal (engine/port/baremetal). */
_Noreturn void zs_bm_lock_twice(void);

static inline void zs_lock_take(struct zs_lock *l)
{
	if (l->opaque[0] != 0)
		zs_bm_lock_twice();
	l->opaque[0] = 1;
}

static inline void zs_lock_give(struct zs_lock *l)
{
	l->opaque[0] = 0;
}

/** True when the caller runs in the reactor context. */
static inline bool zs_port_in_reactor(void)
{
	return zs_bm_in_reactor;
}
#endif

/** Assert that the caller runs in the reactor (lwIP's LWIP_ASSERT_CORE_LOCKED). */
#define ZS_ASSERT_REACTOR() ZS_ASSERT(zs_port_in_reactor())

#endif /* ZSOCK_PORT_H */
