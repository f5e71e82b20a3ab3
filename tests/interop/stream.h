/*
 * Bulk TCP transfers between a zsock socket and a Linux socket, checked
 * end to end.
 *
 * Each side sends send_len bytes of the reproducible stream tx_seed
 * (zt_pattern), then shuts its write side down, and reads until EOF,
 * checking every byte against the stream rx_seed and summing a CRC-32 of
 * what it sent and of what it received. A test then compares one side's
 * tx_crc with the other's rx_crc and the byte counts; first_bad points at
 * the first wrong byte, if any.
 *
 * The run functions never assert (they may run in a helper thread); they
 * record the first failure in err/where and stop. They do not close fd.
 */
#ifndef ZSOCK_INTEROP_STREAM_H
#define ZSOCK_INTEROP_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#define ZI_NO_BAD UINT64_MAX

struct zi_xfer {
	/* in */
	uint64_t send_len;
	uint64_t tx_seed;
	uint64_t rx_seed;
	int deadline_ms;     /* whole transfer, from the call */
	bool blocking;       /* zsock side: blocking calls (a sender thread
			      * when both directions carry data) instead of
			      * non-blocking ones driven by zsock_poll */
	/* out */
	uint64_t sent;
	uint64_t received;
	uint32_t tx_crc;
	uint32_t rx_crc;
	uint64_t first_bad;  /* stream offset of the first wrong byte */
	int err;             /* errno of the failing call, 0 if none */
	const char *where;   /* which call failed */
	int64_t ms;          /* elapsed */
};

/** Prepare x: sizes and seeds; outputs cleared. */
void zi_xfer_init(struct zi_xfer *x, uint64_t send_len, uint64_t tx_seed,
		  uint64_t rx_seed, int deadline_ms);

/** Run the transfer over a connected zsock socket. */
void zi_xfer_zsock(int fd, struct zi_xfer *x);

/** Run the transfer over a connected Linux socket (made non-blocking). */
void zi_xfer_linux(int fd, struct zi_xfer *x);

/**
 * Bytes to move in a bulk test: mib MiB times ZSOCK_TEST_SCALE (a decimal
 * factor from the environment, default 1; e.g. 0.25 for slow sanitizer
 * builds), never below 64 KiB.
 */
uint64_t zi_bulk_bytes(unsigned int mib);

#endif
