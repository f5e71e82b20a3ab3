/*
 * Forwarded payload keeps the checksum it arrived with (see csum.h).
 *
 * lwIP sums every byte it receives to verify the TCP checksum, and every
 * byte it sends to make one: a forwarded segment (zsock_send_buf of a
 * received chain) would be summed twice without one byte changing in
 * between. The first sum already tells the second: a segment that passed
 * the check sums to 0xffff with its pseudo-header, so its payload sums to
 * the complement of its header and pseudo-header, a few dozen bytes.
 *
 * How it reaches the transmit side, all in the reactor:
 *   1. Every sum lwIP takes goes through zs_lwip_chksum() (LWIP_CHKSUM);
 *      it remembers the last one of a few dozen bytes or more (where, how
 *      long, the result), forgotten when the next packet enters IP
 *      (LWIP_HOOK_IP4_INPUT / IP6), so that what it remembers belongs to
 *      the packet being input (a netif that does not check has none).
 *   2. tcp_input() calls zs_csum_tcp_in() (LWIP_HOOK_TCP_INPACKET_PCB)
 *      after the check passed and the header was stripped. When the last
 *      sum covered exactly this header and this payload in one piece, the
 *      payload's sum is derived and kept with the pbuf (one segment: the
 *      one being input).
 *   3. Delivered to the socket at once (the usual case), its rx buffer takes
 *      the sum (zs_csum_rx_take); anything else (out-of-order segments
 *      delivered later, trimmed retransmissions, chains) finds none and
 *      costs nothing.
 *   4. When such a buffer is written whole to a PCB, zs_csum_tx_keep()
 *      files its bytes and sum under its PBUF_POOL element until it is
 *      acknowledged (zs_csum_tx_forget); lwIP sums a segment's nocopy
 *      data with LWIP_CHKSUM when it sends it (and again for each
 *      retransmission), which returns the filed sum for exactly those
 *      bytes. A segment lwIP cut differently is summed as usual.
 *
 * Received chains are read-only (<zsock/net_buf.h>), so the bytes are the
 * ones that were summed. Debug builds sum them anyway and panic on a
 * difference.
 */
#include "csum.h"

#include "engine/port/port.h"
#include "engine/stats.h"
#include "lwip/inet_chksum.h"
#include "lwip/def.h"
#include "lwip/ip.h"
#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/prot/tcp.h"

#include <string.h>

/* lwIP's own (inet_chksum.c, algorithm 2): LWIP_CHKSUM is ours */
u16_t lwip_standard_chksum(const void *dataptr, int len);

struct span {
	const void *ptr;
	int len;
	u16_t sum;
};

static struct span last; /* lwIP's last sum */
static struct {
	const struct pbuf *p;
	const void *payload;
	u16_t len;
	u16_t hlen;
	u16_t total;     /* the sum of header and payload */
} rx_known;              /* the segment being input, when summed in one piece */
static uint32_t n_kept;  /* slots in use: none, no lookups */

/*
 * Sums known for forwarded buffers in flight, one slot per PBUF_POOL
 * element (a received payload lies inside the element it arrived in, so
 * live buffers never share a slot). A slot is only a cache: a lookup
 * matches on the exact bytes (ptr, len) and is filled and emptied with
 * the buffer it describes.
 */
static struct span known[PBUF_POOL_SIZE];

/* the element stride of lwIP's pools (memp.c) */
#if MEMP_OVERFLOW_CHECK
#define ZS_MEMP_AFTER MEM_SANITY_REGION_AFTER_ALIGNED
#else
#define ZS_MEMP_AFTER 0
#endif

/* where the pool's elements lie (set on first use: lwIP is up by then) */
static uintptr_t pool_first, pool_stride, pool_bytes;

static struct span *slot_of(const void *ptr)
{
	uintptr_t off;

	if (pool_stride == 0) {
		const struct memp_desc *d = memp_pools[MEMP_PBUF_POOL];

		pool_first = (uintptr_t)LWIP_MEM_ALIGN(d->base);
		pool_stride = MEMP_SIZE + d->size + ZS_MEMP_AFTER;
		pool_bytes = pool_stride * d->num;
	}
	off = (uintptr_t)ptr - pool_first; /* wraps for ptr below the pool */
	return off < pool_bytes ? &known[off / pool_stride] : NULL;
}

/* Segments shorter than this are not worth a look (headers: IP's own
 * checksum, pure ACKs): lwIP's sum at once. */
#define ZS_CSUM_MIN 64

uint16_t zs_lwip_chksum(const void *ptr, int len)
{
	const struct span *k;

	if (len < ZS_CSUM_MIN)
		return lwip_standard_chksum(ptr, len);
	k = n_kept > 0 ? slot_of(ptr) : NULL;
	if (k != NULL && k->ptr == ptr && k->len == len) {
#ifndef NDEBUG
		u16_t real = lwip_standard_chksum(ptr, len);

		/* equal, or the two zeros of ones' complement (all-zero bytes
		 * sum to 0 here, to 0xffff when derived: the same checksum) */
		ZS_ASSERT(real == k->sum || ((u16_t)(real + 1) <= 1 && (u16_t)(k->sum + 1) <= 1));
#endif
		ZS_COUNT(tx_csum_reused, (uint64_t)len);
		return k->sum;
	}
	last.sum = lwip_standard_chksum(ptr, len);
	last.ptr = ptr;
	last.len = len;
	return last.sum;
}

/* ones' complement sum of 16-bit words, folded */
static u16_t fold(u32_t acc)
{
	acc = (acc >> 16) + (acc & 0xffffu);
	acc = (acc >> 16) + (acc & 0xffffu);
	return (u16_t)acc;
}

int zs_ip_input_hook(struct pbuf *p, struct netif *inp)
{
	last.ptr = NULL; /* only a sum taken during this packet's input counts */
	return zs_pcap_ip_input_hook(p, inp);
}

void zs_csum_tcp_in(const struct tcp_hdr *hdr, uint16_t optlen, const void *opt2, struct pbuf *p)
{
	u16_t hlen = (u16_t)(TCP_HLEN + optlen);

	rx_known.p = NULL;
	if (p->len == 0 || opt2 != NULL || p->next != NULL || last.ptr != (const void *)hdr ||
	    last.len != (int)(hlen + p->len) || (u8_t *)p->payload != (const u8_t *)hdr + hlen)
		return; /* not one piece, or not summed as one (or not checked) */
	last.ptr = NULL;
	/* the rest when a buffer of it is forwarded (zs_csum_tx_keep): a
	 * segment nobody forwards costs these few stores */
	rx_known.p = p;
	rx_known.payload = p->payload;
	rx_known.len = p->len;
	rx_known.hlen = hlen;
	rx_known.total = last.sum;
}

bool zs_csum_rx_take(const struct pbuf *q, uint16_t *total, uint8_t *hlen)
{
	if (q != rx_known.p || q->payload != rx_known.payload || q->len != rx_known.len)
		return false;
	rx_known.p = NULL; /* once */
	*total = rx_known.total;
	*hlen = (uint8_t)rx_known.hlen;
	return true;
}

/* The payload's sum from the segment's: its header is still in front of
 * it (lwIP moved past it, and nothing writes a received pbuf). */
static u16_t payload_sum(const u8_t *payload, u16_t hlen, u16_t total)
{
	const struct tcp_hdr *hdr = (const struct tcp_hdr *)(payload - hlen);
	u32_t acc;
	u16_t i;

	/* tcp_input() turned ports, numbers and window to host order in
	 * place: on a little-endian CPU each of their 16-bit words is now
	 * byte-swapped, and the ones' complement sum of swapped words is the
	 * swapped sum (RFC 1071, 2.B), so they are summed as they are and
	 * swapped once */
	acc = (u32_t)hdr->src + hdr->dest + (hdr->seqno >> 16) + (hdr->seqno & 0xffffu) +
	      (hdr->ackno >> 16) + (hdr->ackno & 0xffffu) + hdr->wnd;
	acc = (u32_t)PP_HTONS(fold(acc)) + hdr->_hdrlen_rsvd_flags + hdr->chksum + hdr->urgp;
	for (i = TCP_HLEN; i < hlen; i += 2) { /* options: untouched */
		u16_t w;

		memcpy(&w, (const u8_t *)hdr + i, sizeof(w));
		acc += w;
	}
	/* header + payload == total, so payload == total - header; the
	 * header is a whole number of words, so no byte swap is involved */
	return fold((u32_t)total + (u16_t)~fold(acc));
}

void zs_csum_tx_keep(const void *ptr, uint16_t len, uint8_t hlen, uint16_t total)
{
	struct span *k = slot_of(ptr);

	if (k != NULL) {
		n_kept += k->ptr == NULL;
		k->ptr = ptr;
		k->len = len;
		k->sum = payload_sum(ptr, hlen, total);
	}
}

void zs_csum_tx_forget(const void *ptr)
{
	struct span *k = slot_of(ptr);

	if (k != NULL && k->ptr == ptr) {
		k->ptr = NULL;
		n_kept--;
	}
}
