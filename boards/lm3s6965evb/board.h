/*
 * Board support for QEMU's lm3s6965evb (TI Stellaris LM3S6965, Zephyr's
 * qemu_cortex_m3): the contract between the board files in this directory,
 * the bare-metal port (engine/port/baremetal) and the images built for the
 * board. Facts about the emulated board: ../../docs/cortex-m3.md.
 *
 * Everything here runs in the one context of a bare-metal program except
 * where a comment says "interrupt".
 */
#ifndef ZSOCK_BOARD_LM3S6965EVB_H
#define ZSOCK_BOARD_LM3S6965EVB_H

#include <stddef.h>
#include <stdint.h>

struct netif;

/** SysTick input clock, Hz (the core clock QEMU models: 12.5 MHz). */
#define BOARD_SYSTICK_HZ 12500000u

/** Interrupt numbers (external, as the NVIC counts them). */
#define BOARD_IRQ_ETHERNET 42

/**
 * Called by the reset handler before main(): console UART. Main may print
 * at once. Never fails.
 */
void board_init(void);

/**
 * End the program: QEMU exits with status `code` (semihosting
 * SYS_EXIT_EXTENDED). Output written to the console before is flushed.
 */
_Noreturn void board_exit(int code);

/**
 * Write len bytes to the console (UART0, QEMU's -serial). Blocks until they
 * are in the UART. Safe from interrupt handlers.
 */
void board_console_write(const char *s, size_t len);

/**
 * The command line QEMU was given with -append (semihosting
 * SYS_GET_CMDLINE), split at spaces into at most max arguments; argv[0] is
 * "image". Returns argc (at least 1; max must be at least 1). Strings live
 * in static storage; a line over 255 characters is ignored (with a message
 * on the console), arguments past max are dropped.
 */
int board_cmdline(char **argv, int max);

/**
 * Peak stack use in bytes since reset: the reset handler fills the stack
 * region (__stack_limit..__stack_top, 8 KiB unless the link sets
 * __stack_size) with 0xA5A5A5A5; this finds the lowest word overwritten.
 * Interrupt handlers share the stack and are included. The lowest 32
 * bytes are an MPU guard (an overflow faults, exit 70), as is the first
 * 256 bytes of the address space (NULL dereferences).
 */
size_t board_stack_peak(void);

/** Host wall-clock milliseconds (semihosting SYS_ELAPSED/SYS_TICKFREQ; moves with the host even under -icount). */
uint64_t board_host_ms(void);

/**
 * The Ethernet interface (stellaris_enet, driver in stellaris_eth.c).
 * lwIP's netif init function: give it to netif_add() in the reactor.
 * Sets the MAC from IA0/IA1, MTU 1500, ETHARP|ETHERNET|BROADCAST flags,
 * enables the MAC receiver and transmitter and the receive interrupt.
 */
signed char board_eth_netif_init(struct netif *n);

/**
 * Reactor only: hand every frame the interrupt handler took from the FIFO
 * to n->input, refill the handler's pbuf ring, and re-enable the receive
 * interrupt if it had to stop for lack of pbufs. Returns the number of
 * frames delivered. The port calls it (through zs_port_watch) after the
 * interrupt handler called zs_port_isr_ready(BOARD_SOURCE_ETHERNET); the
 * handler also calls that when it stopped for lack of pbufs. If lwIP's
 * pool was empty then too, receive stays stopped (frames wait in the FIFO)
 * until a later call refills: the port should also call this after lwIP
 * frees pbufs (e.g. after its timers ran). Cheap when there is no work.
 */
int board_eth_service(struct netif *n);

/** The port source number the Ethernet interrupt reports readiness on. */
#define BOARD_SOURCE_ETHERNET 0

/** Frames counted by the driver (zsock_engine_stats-style diagnostics). */
struct board_eth_stats {
	uint32_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint32_t rx_no_pbuf;   /**< frames left in the FIFO for lack of a pbuf (RX irq masked until refill) */
	uint32_t rx_dropped;   /**< frames dropped: bad length, or too long for a pbuf */
	uint32_t tx_errors;    /**< frames refused: too long for the TX FIFO, or TXER */
	uint32_t rx_ring_low;  /**< lowest count of ready pbufs in the ring seen */
};
void board_eth_stats(struct board_eth_stats *out);

#endif
