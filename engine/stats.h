/*
 * Engine counters. Relaxed atomics: each is exact on its own, a snapshot of
 * several is not a transaction. Read them with zsock_engine_stats().
 */
#ifndef ZSOCK_STATS_H
#define ZSOCK_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct zs_counters {
	_Atomic uint64_t tx_bytes_copied;  /**< caller -> net_buf (BSD send) */
	_Atomic uint64_t rx_bytes_copied;  /**< net_buf -> caller (BSD recv) */
	_Atomic uint64_t tx_bytes;         /**< payload handed to lwIP */
	_Atomic uint64_t rx_bytes;         /**< payload received from lwIP */
	_Atomic uint64_t rx_drops;         /**< datagrams dropped: ring or pool full */
	_Atomic uint64_t tx_drops;         /**< datagrams lwIP refused */
	_Atomic uint64_t reactor_wakeups;  /**< reactor iterations after a sleep */
	_Atomic uint64_t netif_rx_frames;
	_Atomic uint64_t netif_tx_frames;
	_Atomic uint64_t netif_drops;      /**< frames dropped at a netif */
	_Atomic uint64_t poll_wakeups;     /**< a thread in poll/select woke up */
	_Atomic uint64_t poll_tests;       /**< sockets whose readiness poll tested */
};

extern struct zs_counters zs_counters;

#define ZS_COUNT(name, n) \
	atomic_fetch_add_explicit(&zs_counters.name, (uint64_t)(n), memory_order_relaxed)

#endif
