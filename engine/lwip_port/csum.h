/*
 * Forwarded payload keeps the checksum it arrived with: a received TCP
 * segment's payload sum, derived from lwIP's own check of it, goes with
 * its rx buffer, and lwIP's sum of that buffer's bytes when it is sent on
 * returns it instead of reading them again (csum.c tells how). Reactor
 * only, like everything lwIP calls.
 */
#ifndef ZSOCK_CSUM_H
#define ZSOCK_CSUM_H

#include <stdbool.h>
#include <stdint.h>

struct pbuf;
struct tcp_hdr;

/** LWIP_CHKSUM: lwip_standard_chksum(), or the hinted sum for its bytes. */
uint16_t zs_lwip_chksum(const void *ptr, int len);

/** LWIP_HOOK_TCP_INPACKET_PCB: note the payload sum of a checked segment. */
void zs_csum_tcp_in(const struct tcp_hdr *hdr, uint16_t optlen, const void *opt2, struct pbuf *p);

/**
 * Whether q (q->payload, q->len as they are now) is the segment tcp_input()
 * is delivering, checked in one piece: then *total is the sum of its
 * header and payload, *hlen the header's length, for zs_csum_tx_keep().
 * True once.
 */
bool zs_csum_rx_take(const struct pbuf *q, uint16_t *total, uint8_t *hlen);

/**
 * A forwarded rx buffer's len bytes at ptr (received with hlen bytes of
 * TCP header in front, together summing to total) are written to a PCB:
 * lwIP's sums of exactly those bytes (each transmission of the segment)
 * return their sum, derived from the header, until zs_csum_tx_forget(ptr).
 */
void zs_csum_tx_keep(const void *ptr, uint16_t len, uint8_t hlen, uint16_t total);

/** The buffer at ptr is done with (acknowledged, or its socket gone). */
void zs_csum_tx_forget(const void *ptr);

#endif
