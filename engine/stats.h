/*
 * Engine counters. Relaxed atomics: each is exact on its own, a snapshot of
 * several is not a transaction. Read them with zsock_engine_stats().
 */
#ifndef ZSOCK_STATS_H
#define ZSOCK_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <zsock/zsock_config.h>

#if CONFIG_ZSOCK_HOSTED
typedef _Atomic uint64_t zs_counter_t;
#define ZS_COUNT(name, n) \
	atomic_fetch_add_explicit(&zs_counters.name, (uint64_t)(n), memory_order_relaxed)
#define ZS_COUNTER_LOAD(name) atomic_load_explicit(&zs_counters.name, memory_order_relaxed)
#else
/* One context, and no interrupt handler counts: plain adds (a Cortex-M3
 * has no 64-bit atomics; each would be a call that masks interrupts). */
typedef uint64_t zs_counter_t;
#define ZS_COUNT(name, n)     ((void)(zs_counters.name += (uint64_t)(n)))
#define ZS_COUNTER_LOAD(name) (zs_counters.name)
#endif

struct zs_counters {
	zs_counter_t tx_bytes_copied;  /**< caller -> net_buf (BSD send) */
	zs_counter_t rx_bytes_copied;  /**< net_buf -> caller (BSD recv) */
	zs_counter_t tx_bytes;         /**< payload handed to lwIP */
	zs_counter_t rx_bytes;         /**< payload received from lwIP */
	zs_counter_t rx_drops;         /**< datagrams dropped: ring or pool full */
	zs_counter_t tx_drops;         /**< datagrams lwIP refused */
	zs_counter_t reactor_wakeups;  /**< reactor iterations after a sleep */
	zs_counter_t netif_rx_frames;
	zs_counter_t netif_tx_frames;
	zs_counter_t netif_drops;      /**< frames dropped at a netif */
	zs_counter_t loop_packets;     /**< packets delivered on the loopback queues */
	zs_counter_t poll_wakeups;     /**< a thread in poll/select woke up */
	zs_counter_t poll_tests;       /**< sockets whose readiness poll tested */
	zs_counter_t tx_csum_reused;   /**< forwarded bytes sent with their received sum */
};

extern struct zs_counters zs_counters;

#endif
