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

#include <stdint.h>

/* ---- provided by the board ------------------------------------------------ */

/** SysTick's input clock in Hz (the core clock). */
uint32_t zs_bm_board_systick_hz(void);

/**
 * 32 bits that differ between boots, to seed the port's generator of TCP
 * initial sequence numbers and ephemeral ports (not a key source).
 */
uint32_t zs_bm_board_seed(void);

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
