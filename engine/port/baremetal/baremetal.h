/*
 * The bare-metal port (Cortex-M, no RTOS, one context): what a board
 * provides to it, and what it offers boards and images beyond port.h.
 *
 * The port owns SysTick (a 1 ms interrupt, SysTick_Handler) and the idle
 * sleep (WFI). A board owns its startup, console and drivers
 * (boards/<name>/).
 */
#ifndef ZSOCK_PORT_BAREMETAL_H
#define ZSOCK_PORT_BAREMETAL_H

#include <stddef.h>
#include <stdint.h>

/* ---- provided by the board ------------------------------------------------ */

/** SysTick's input clock in Hz (the core clock). */
uint32_t zs_bm_board_systick_hz(void);

/**
 * 32 bits that differ between boots, to seed the port's generator of TCP
 * initial sequence numbers and ephemeral ports (not a key source).
 */
uint32_t zs_bm_board_seed(void);

/**
 * zs_port_entropy() (port.h): fill buf with len bytes for seeding a
 * cryptographic generator (TLS keys, nonces). Returns 0 or -errno.
 *
 * A real board MUST implement this with its hardware random number
 * generator (a TRNG), conditioned as its datasheet says: the security of
 * every TLS connection rests on it. boards/lm3s6965evb, QEMU's emulation
 * of a chip without one, hashes host time and timer jitter with SHA-256:
 * NOT a secure source (anyone who knows roughly when the board booted can
 * search it), fit for tests only.
 */
int zs_bm_board_entropy(void *buf, size_t len);

/**
 * zs_port_realtime() (port.h): seconds since 1970-01-01 00:00 UTC. Returns
 * 0, or -ENOTSUP when the board has no wall clock (an RTC, a time set
 * over the network...).
 */
int zs_bm_board_realtime(int64_t *unix_secs);

/** Write a fatal message (panics) to the console; then the port calls zs_bm_board_fatal(). */
void zs_bm_board_console(const char *s);
/** End the program after a fatal error. */
_Noreturn void zs_bm_board_fatal(void);

/* ---- provided by the port ----------------------------------------------- */

/** SysTick input ticks since the clock started (64 bits: never wraps). */
uint64_t zs_bm_ticks(void);

/**
 * Where the CPU's time went since the clock started, in SysTick input
 * ticks: asleep in WFI (idle) and everything else (busy). Under QEMU's
 * `-icount shift=0` an instruction is one nanosecond of guest time, so
 * busy ticks times 1e9 / zs_bm_board_systick_hz() count instructions.
 */
void zs_bm_cpu_ticks(uint64_t *busy, uint64_t *idle);

#endif
