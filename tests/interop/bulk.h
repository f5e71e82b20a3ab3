/*
 * One bulk TCP run between the engine and the Linux stack over the
 * namespace's TAP, with every check a bulk test makes (see stream.h for
 * the byte stream). Test thread only: it asserts.
 */
#ifndef ZSOCK_INTEROP_BULK_H
#define ZSOCK_INTEROP_BULK_H

#include <stdbool.h>
#include <stdint.h>

#include "stream.h"

struct zi_bulk {
	int family;              /* AF_INET or AF_INET6 */
	bool zsock_listens;      /* else the Linux side listens, zsock connects */
	uint64_t zsock_sends;    /* bytes zsock -> Linux */
	uint64_t linux_sends;    /* bytes Linux -> zsock */
	bool zsock_blocking;     /* see zi_xfer.blocking */
	int deadline_ms;
	const char *label;       /* for the timing line */
	/* out */
	struct zi_xfer z, l;
};

/**
 * Connect, move the bytes both ways, close both ends, and assert: no
 * error on either side, byte counts and CRC-32s equal end to end, no wrong
 * byte, the accepted peer address right. Prints one timing line.
 */
void zi_bulk_run(struct zi_bulk *b);

#endif
