/*
 * The bare-metal port: Cortex-M, no RTOS, one context.
 *
 * There is no reactor thread. zs_port_reactor_start() runs the reactor's
 * boot at once, and from then on the reactor steps whenever the
 * application waits: zs_event_wait() runs reactor steps until the event is
 * set or its deadline passes, and sleeps in WFI when a step finds nothing
 * to do. While a step runs, the caller is "in the reactor" (lwIP's
 * callbacks may run); between steps it is the application. So the engine,
 * its rings and the API above run unchanged: a zs_reactor_call() queues its
 * call and waits on its event, which runs the step that serves it.
 *
 * Interrupt handlers never touch engine state. A driver's handler moves
 * what it received into its own ring and calls zs_port_isr_ready(source);
 * the next idle sleep sees the bit and runs the source's ready() callback
 * in the reactor (zs_port_watch). So the only state shared with interrupts
 * is the ready mask, the kick flag and the clock, and locks need not mask
 * interrupts: with one context a lock can never be contended. They still
 * check that nobody takes one twice (a deadlock on a hosted port).
 *
 * Time: SysTick interrupts every millisecond; zs_bm_ticks() adds the
 * counter's current value for a finer clock. The idle sleep measures how
 * long it slept, so zs_bm_cpu_ticks() tells busy from idle time.
 */
#include "engine/port/port.h"
#include "engine/port/baremetal/baremetal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

/* ---- Cortex-M core registers -------------------------------------------- */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)

static inline uint32_t irq_save(void)
{
	uint32_t primask;

	__asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
	return primask;
}

static inline void irq_restore(uint32_t primask)
{
	__asm__ volatile("msr primask, %0" : : "r"(primask) : "memory");
}

/* ---- clock ----------------------------------------------------------------- */

static uint32_t tick_reload;          /* SysTick input ticks per millisecond */
static volatile uint64_t ms_count;    /* SysTick interrupts so far */
static uint64_t idle_ticks;
static bool clock_on;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
	ms_count++;
}

static void clock_start(void)
{
	if (clock_on)
		return;
	tick_reload = zs_bm_board_systick_hz() / 1000u;
	SYST_RVR = tick_reload - 1u;
	SYST_CVR = 0;
	SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
	clock_on = true;
}

uint64_t zs_bm_ticks(void)
{
	uint32_t key, cvr;
	uint64_t ms;

	clock_start();
	key = irq_save();
	ms = ms_count;
	cvr = SYST_CVR;
	/* The counter wrapped but its interrupt waits (masked here): count
	 * that millisecond, and read the counter again, after the wrap. The
	 * pending bit, unlike COUNTFLAG, is not cleared by reading it, and
	 * the handler still counts the millisecond itself when it runs. */
	if (SCB_ICSR & SCB_ICSR_PENDSTSET) {
		ms++;
		cvr = SYST_CVR;
	}
	irq_restore(key);
	/* The counter counts tick_reload - 1 down to 1: tick_reload - cvr
	 * ticks of the millisecond have passed. It reads 0 where the
	 * millisecond ends (its interrupt pends, counted above) and before the
	 * first reload after the start: none of the next millisecond yet. */
	return ms * tick_reload + (cvr == 0 ? 0 : tick_reload - cvr);
}

/* The millisecond count itself: no 64-bit division on the hot path. */
int64_t zs_port_now_ms(void)
{
	uint32_t key;
	uint64_t ms;

	clock_start();
	key = irq_save();
	ms = ms_count;
	if (SCB_ICSR & SCB_ICSR_PENDSTSET)
		ms++;
	irq_restore(key);
	return (int64_t)ms;
}

void zs_bm_cpu_ticks(uint64_t *busy, uint64_t *idle)
{
	uint64_t now = zs_bm_ticks();

	if (idle != NULL)
		*idle = idle_ticks;
	if (busy != NULL)
		*busy = now - idle_ticks;
}

/* ---- random: xorshift32, seeded once ----------------------------------------- */

uint32_t zs_port_random(void)
{
	static uint32_t state;
	uint32_t x;

	if (state == 0)
		state = (zs_bm_board_seed() ^ (uint32_t)zs_bm_ticks()) | 1u;
	x = state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	state = x;
	return x;
}

/* ---- seeds and the wall clock: the board's ------------------------------------- */

int zs_port_entropy(void *buf, size_t len)
{
	return zs_bm_board_entropy(buf, len);
}

int zs_port_realtime(int64_t *unix_secs)
{
	return zs_bm_board_realtime(unix_secs);
}

/* ---- locks: one context, never contended; misuse is fatal ------------------ */

_Static_assert(sizeof(bool) <= ZS_PORT_LOCK_SIZE, "lock storage");

void zs_lock_init(struct zs_lock *l)
{
	l->opaque[0] = 0;
}

void zs_lock_destroy(struct zs_lock *l)
{
	(void)l;
}

/* zs_lock_take() and zs_lock_give() are inline (port.h) */
_Noreturn void zs_bm_lock_twice(void)
{
	zs_port_panic("lock taken twice (a deadlock on a hosted port)", __FILE__, __LINE__);
}

bool zs_lock_try(struct zs_lock *l)
{
	if (l->opaque[0] != 0)
		return false;
	l->opaque[0] = 1;
	return true;
}

void zs_port_once(struct zs_once *once, void (*fn)(void))
{
	if (once->opaque[0] != 0)
		return;
	once->opaque[0] = 1;
	fn();
}

int zs_port_at_thread_exit(void (*fn)(void *arg), void *arg)
{
	(void)fn;
	(void)arg;
	return 0;
}

/* ---- the reactor, pumped by waiters ----------------------------------------- */

#define SOURCES 8

struct watch {
	void (*ready)(void *arg);
	void *arg;
};

static const struct zs_reactor_ops *reactor;
bool zs_bm_in_reactor; /* read by zs_port_in_reactor(), inline in port.h */
static _Atomic uint32_t ready_mask;   /* sources an interrupt marked ready */
static atomic_bool kicked;
static struct watch watches[SOURCES];

int zs_port_reactor_start(const struct zs_reactor_ops *ops)
{
	int rc;

	clock_start();
	zs_bm_in_reactor = true;
	rc = ops->boot();
	zs_bm_in_reactor = false;
	if (rc == 0)
		reactor = ops;
	return rc;
}

void zs_port_reactor_kick(void)
{
	atomic_store_explicit(&kicked, true, memory_order_release);
}

void zs_port_isr_ready(int source)
{
	if (source >= 0 && source < SOURCES)
		atomic_fetch_or_explicit(&ready_mask, 1u << source, memory_order_release);
}

int zs_port_watch(int osfd, void (*ready)(void *arg), void *arg)
{
	ZS_ASSERT_REACTOR();
	if (osfd < 0 || osfd >= SOURCES || ready == NULL)
		return -EINVAL;
	if (watches[osfd].ready != NULL)
		return -ENOSPC;
	watches[osfd].ready = ready;
	watches[osfd].arg = arg;
	return 0;
}

void zs_port_unwatch(int osfd)
{
	ZS_ASSERT_REACTOR();
	if (osfd >= 0 && osfd < SOURCES)
		watches[osfd].ready = NULL;
}

/* Reactor: run the callbacks of every source marked ready. */
static void run_ready(void)
{
	uint32_t mask = atomic_exchange_explicit(&ready_mask, 0, memory_order_acquire);

	while (mask != 0) {
		int src = __builtin_ctz(mask);

		mask &= mask - 1u;
		if (watches[src].ready != NULL)
			watches[src].ready(watches[src].arg);
	}
}

/*
 * Sleep in WFI until an interrupt marked a source ready, a kick came, or
 * timeout_ms passed (UINT32_MAX: no timeout), then run the ready sources.
 * Interrupts are masked between the test and WFI: an interrupt that comes
 * in between stays pending, and WFI returns at once for it.
 */
void zs_port_reactor_sleep(uint32_t timeout_ms)
{
	uint64_t start = zs_bm_ticks();
	uint64_t until = timeout_ms == UINT32_MAX ? UINT64_MAX
						  : start + (uint64_t)timeout_ms * tick_reload;

	for (;;) {
		uint32_t key = irq_save();
		uint64_t before;

		if (atomic_load_explicit(&ready_mask, memory_order_relaxed) != 0 ||
		    atomic_load_explicit(&kicked, memory_order_relaxed) || zs_bm_ticks() >= until) {
			irq_restore(key);
			break;
		}
		before = zs_bm_ticks();
		__asm__ volatile("wfi" : : : "memory");
		idle_ticks += zs_bm_ticks() - before;
		irq_restore(key);  /* the pending handler runs here */
	}
	atomic_store_explicit(&kicked, false, memory_order_relaxed);
	run_ready();
}

/*
 * One reactor step in the reactor context, then the sources an interrupt
 * marked ready meanwhile (without sleeping: they count as work). Returns
 * whether there was work, and the step's sleep time.
 */
static bool step(uint32_t *sleep_ms)
{
	bool busy;

	*sleep_ms = UINT32_MAX;
	zs_bm_in_reactor = true;
	busy = reactor->step(sleep_ms);
	if (atomic_load_explicit(&ready_mask, memory_order_relaxed) != 0) {
		run_ready();
		busy = true;
	}
	zs_bm_in_reactor = false;
	return busy;
}

void zs_port_pump(void)
{
	uint32_t sleep_ms;

	if (reactor != NULL && !zs_bm_in_reactor)
		(void)step(&sleep_ms);
}

/* ---- events: a flag, and waiting pumps the reactor ------------------------------ */

_Static_assert(sizeof(atomic_bool) <= ZS_PORT_EVENT_SIZE, "event storage");

static atomic_bool *ev_flag(struct zs_event *e)
{
	return (atomic_bool *)(void *)e->opaque;
}

void zs_event_init(struct zs_event *e)
{
	atomic_init(ev_flag(e), false);
}

void zs_event_destroy(struct zs_event *e)
{
	(void)e;
}

void zs_event_signal(struct zs_event *e)
{
	atomic_store_explicit(ev_flag(e), true, memory_order_release);
}

int zs_event_wait(struct zs_event *e, int64_t deadline_ms)
{
	ZS_ASSERT(!zs_bm_in_reactor);
	for (;;) {
		uint32_t sleep_ms = UINT32_MAX;
		bool busy = false;
		int64_t now;

		if (atomic_exchange_explicit(ev_flag(e), false, memory_order_acquire))
			return 0;
		if (reactor != NULL) {
			busy = step(&sleep_ms);
			if (atomic_exchange_explicit(ev_flag(e), false, memory_order_acquire))
				return 0;
		}
		now = zs_port_now_ms();
		if (now >= deadline_ms)
			return -ETIMEDOUT;
		if (busy)
			continue;
		if (deadline_ms != ZS_FOREVER && (uint64_t)(deadline_ms - now) < sleep_ms)
			sleep_ms = (uint32_t)(deadline_ms - now);
		zs_bm_in_reactor = true;
		zs_port_reactor_sleep(sleep_ms);
		zs_bm_in_reactor = false;
	}
}

/* ---- fatal errors ------------------------------------------------------------ */

_Noreturn void zs_port_panic(const char *msg, const char *file, int line)
{
	char num[12];
	int i = (int)sizeof(num) - 1;
	unsigned int v = line < 0 ? 0u : (unsigned int)line;

	num[i] = '\0';
	do {
		num[--i] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v != 0 && i > 0);
	zs_bm_board_console("zsock: panic: ");
	zs_bm_board_console(msg);
	zs_bm_board_console(" at ");
	zs_bm_board_console(file);
	zs_bm_board_console(":");
	zs_bm_board_console(&num[i]);
	zs_bm_board_console("\n");
	zs_bm_board_fatal();
}

/* ---- packet capture: no file system here --------------------------------------- */

#include "engine/netif/pcap.h"

int zs_pcap_sink_open(const char *path)
{
	(void)path;
	return -ENOTSUP;
}

int zs_pcap_sink_write(const void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return -ENOTSUP;
}

int zs_pcap_sink_flush(void)
{
	return -ENOTSUP;
}

void zs_pcap_sink_close(void)
{
}

void zs_pcap_sink_time(uint32_t *sec, uint32_t *usec)
{
	uint64_t ms = (uint64_t)zs_port_now_ms();

	*sec = (uint32_t)(ms / 1000u);
	*usec = (uint32_t)(ms % 1000u) * 1000u;
}

/*
 * ---- 64-bit atomics ------------------------------------------------------------
 * ARMv7-M has exclusive loads and stores of 32 bits only, so GCC calls these
 * for the engine's 64-bit counters. With one context, masking interrupts
 * makes them atomic (no handler touches engine state anyway).
 */
typedef unsigned long long u64_atomic;

u64_atomic __atomic_load_8(const volatile void *p, int order);
void __atomic_store_8(volatile void *p, u64_atomic v, int order);
u64_atomic __atomic_exchange_8(volatile void *p, u64_atomic v, int order);
bool __atomic_compare_exchange_8(volatile void *p, void *expected, u64_atomic desired,
				 bool weak, int success, int failure);
u64_atomic __atomic_fetch_add_8(volatile void *p, u64_atomic v, int order);
u64_atomic __atomic_fetch_sub_8(volatile void *p, u64_atomic v, int order);

u64_atomic __atomic_load_8(const volatile void *p, int order)
{
	uint32_t key = irq_save();
	u64_atomic v = *(const volatile u64_atomic *)p;

	(void)order;
	irq_restore(key);
	return v;
}

void __atomic_store_8(volatile void *p, u64_atomic v, int order)
{
	uint32_t key = irq_save();

	(void)order;
	*(volatile u64_atomic *)p = v;
	irq_restore(key);
}

u64_atomic __atomic_exchange_8(volatile void *p, u64_atomic v, int order)
{
	uint32_t key = irq_save();
	u64_atomic old = *(volatile u64_atomic *)p;

	(void)order;
	*(volatile u64_atomic *)p = v;
	irq_restore(key);
	return old;
}

bool __atomic_compare_exchange_8(volatile void *p, void *expected, u64_atomic desired,
				 bool weak, int success, int failure)
{
	uint32_t key = irq_save();
	u64_atomic cur = *(volatile u64_atomic *)p;
	bool ok = cur == *(u64_atomic *)expected;

	(void)weak;
	(void)success;
	(void)failure;
	if (ok)
		*(volatile u64_atomic *)p = desired;
	else
		*(u64_atomic *)expected = cur;
	irq_restore(key);
	return ok;
}

u64_atomic __atomic_fetch_add_8(volatile void *p, u64_atomic v, int order)
{
	uint32_t key = irq_save();
	u64_atomic old = *(volatile u64_atomic *)p;

	(void)order;
	*(volatile u64_atomic *)p = old + v;
	irq_restore(key);
	return old;
}

u64_atomic __atomic_fetch_sub_8(volatile void *p, u64_atomic v, int order)
{
	return __atomic_fetch_add_8(p, (u64_atomic)0 - v, order);
}
