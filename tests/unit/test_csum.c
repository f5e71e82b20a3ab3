/*
 * Forwarded payload keeps the checksum it arrived with
 * (engine/lwip_port/csum.c): the steps tcp_input() takes are replayed on
 * real PBUF_POOL pbufs, in the reactor, and the sum handed back for the
 * payload is compared with lwIP's own sum of its bytes:
 *
 *   derived_sum_is_lwips       random headers (0-40 bytes of options),
 *                              payloads of 1..1460 bytes, odd and even,
 *                              all-zero and all-0xff ones: the sum lwIP
 *                              gets for the payload is its own sum of the
 *                              bytes (up to the two zeros of ones'
 *                              complement), and is counted as reused
 *                              (payloads of 64 bytes or more)
 *   forgotten_is_summed        after zs_csum_tx_forget(), and for other
 *                              bytes (a shorter span, a later offset), lwIP
 *                              sums as usual and nothing is counted
 *   taken_once                 the segment's sum is handed over once
 *   unchecked_gives_none       no sum when the segment was not summed in
 *                              this packet's input (a netif that does not
 *                              check), was summed elsewhere, or was cut
 *   small_is_ignored           segments under 64 bytes are not looked at
 *   not_a_pool_pbuf            a payload outside PBUF_POOL is never filed
 */
#include <criterion/criterion.h>

#include "engine/lwip_port/csum.h"
#include "engine/reactor/reactor.h"
#include "lwip/def.h"
#include "lwip/pbuf.h"
#include "lwip/prot/tcp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zsock/engine.h>

/* lwIP's own sum (inet_chksum.c); LWIP_CHKSUM is the engine's */
u16_t lwip_standard_chksum(const void *dataptr, int len);

enum fill { RANDOM, ZEROS, ONES };

struct seg_case {
	uint16_t optlen;   /* TCP options, a multiple of 4 */
	uint16_t len;      /* payload */
	enum fill fill;
	unsigned seed;
	bool check;        /* tcp_input() checks the sum (the netif does) */
	/* results, read by the test thread */
	bool taken, taken_again, kept_sum_ok;
	uint16_t got, real;
	uint64_t reused;
};

static uint64_t reused_now(void)
{
	struct zsock_engine_stats st;

	zsock_engine_stats(&st);
	return st.tx_csum_reused;
}

static uint8_t rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (uint8_t)(*seed >> 16);
}

/*
 * Reactor: a segment as tcp_input() handles it. Returns the pbuf (payload
 * at the data, header in front) or NULL; c->taken etc. filled in.
 */
static struct pbuf *input_segment(struct seg_case *c)
{
	uint16_t hlen = (uint16_t)(TCP_HLEN + c->optlen);
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(hlen + c->len), PBUF_POOL);
	struct tcp_hdr *h;
	uint8_t *b;
	uint16_t total = 0;
	uint8_t hl = 0;
	unsigned seed = c->seed;

	if (p == NULL || p->next != NULL)
		return p;
	b = p->payload;
	for (uint16_t i = 0; i < hlen + c->len; i++)
		b[i] = rnd(&seed);
	if (c->fill != RANDOM)
		memset(b + hlen, c->fill == ZEROS ? 0 : 0xff, c->len);
	b[12] = (uint8_t)((hlen / 4) << 4); /* data offset */
	zs_ip_input_hook(p, NULL);      /* a packet enters IP */
	if (c->check)
		(void)zs_lwip_chksum(b, hlen + c->len);
	/* what tcp_input() does before its hook */
	h = (struct tcp_hdr *)b;
	h->src = lwip_ntohs(h->src);
	h->dest = lwip_ntohs(h->dest);
	h->seqno = lwip_ntohl(h->seqno);
	h->ackno = lwip_ntohl(h->ackno);
	h->wnd = lwip_ntohs(h->wnd);
	pbuf_remove_header(p, hlen);
	zs_csum_tcp_in(h, c->optlen, NULL, p);
	c->taken = zs_csum_rx_take(p, &total, &hl);
	c->taken_again = zs_csum_rx_take(p, &total, &hl);
	if (c->taken) {
		zs_csum_tx_keep(p->payload, c->len, hl, total);
		c->got = zs_lwip_chksum(p->payload, c->len); /* as lwIP sends it */
	}
	c->real = lwip_standard_chksum(p->payload, c->len);
	return p;
}

static int run_case(void *arg)
{
	struct seg_case *c = arg;
	uint64_t before = reused_now();
	struct pbuf *p = input_segment(c);

	if (p == NULL)
		return -1;
	c->reused = reused_now() - before;
	if (c->taken)
		zs_csum_tx_forget(p->payload);
	pbuf_free(p);
	return 0;
}

/* equal, or both a zero of ones' complement (0x0000 / 0xffff) */
static bool same_sum(uint16_t a, uint16_t b)
{
	return a == b || ((uint16_t)(a + 1) <= 1 && (uint16_t)(b + 1) <= 1);
}

static void run(struct seg_case *c)
{
	cr_assert_eq(zs_engine_ensure(), 0);
	cr_assert_eq(zs_reactor_call(run_case, c), 0, "no PBUF_POOL pbuf");
}

Test(csum, derived_sum_is_lwips)
{
	static const uint16_t lens[] = { 44, 45, 64, 65, 100, 511, 512, 1000, 1023, 1400, 1459, 1460 };
	int n = 0;

	for (unsigned i = 0; i < 600; i++) {
		struct seg_case c = {
			.optlen = (uint16_t)(4 * (i % 11)),
			.len = i < 3 * 12 ? lens[i % 12] : (uint16_t)(1 + (i * 7919u) % 1460),
			.fill = i < 12 ? ZEROS : i < 24 ? ONES : RANDOM,
			.seed = i,
			.check = true,
		};

		if (TCP_HLEN + c.optlen + c.len < 64 || TCP_HLEN + c.optlen + c.len > 1536)
			continue;
		run(&c);
		cr_assert(c.taken, "case %u: no sum for a checked segment", i);
		cr_assert_not(c.taken_again, "case %u: handed over twice", i);
		cr_assert(same_sum(c.got, c.real),
			  "case %u (opt %u, len %u): got 0x%04x, lwIP sums 0x%04x", i, c.optlen, c.len,
			  c.got, c.real);
		/* payloads under 64 bytes are summed, not looked up */
		cr_assert_eq(c.reused, c.len >= 64 ? c.len : 0, "case %u: %llu bytes counted", i,
			     (unsigned long long)c.reused);
		n++;
	}
	cr_assert_gt(n, 500);
}

static int forgotten_fn(void *arg)
{
	struct seg_case *c = arg;
	uint64_t before;
	struct pbuf *p = input_segment(c);
	uint8_t *d;

	if (p == NULL || !c->taken)
		return -1;
	d = p->payload;
	zs_csum_tx_forget(d);
	before = reused_now();
	c->got = zs_lwip_chksum(d, c->len);                 /* forgotten: summed */
	zs_csum_tx_keep(d, c->len, (uint8_t)(TCP_HLEN + c->optlen), 0); /* a wrong total */
	c->kept_sum_ok = zs_lwip_chksum(d, c->len - 2) == lwip_standard_chksum(d, c->len - 2) &&
			 zs_lwip_chksum(d + 2, c->len - 2) == lwip_standard_chksum(d + 2, c->len - 2);
	zs_csum_tx_forget(d);
	c->reused = reused_now() - before;
	pbuf_free(p);
	return 0;
}

Test(csum, forgotten_is_summed)
{
	struct seg_case c = { .optlen = 12, .len = 1000, .seed = 7, .check = true };

	cr_assert_eq(zs_engine_ensure(), 0);
	cr_assert_eq(zs_reactor_call(forgotten_fn, &c), 0);
	cr_assert_eq(c.got, c.real);
	cr_assert(c.kept_sum_ok, "another span of the same buffer was not summed");
	cr_assert_eq(c.reused, 0);
}

Test(csum, taken_once)
{
	struct seg_case c = { .optlen = 0, .len = 700, .seed = 3, .check = true };

	run(&c);
	cr_assert(c.taken);
	cr_assert_not(c.taken_again);
}

Test(csum, unchecked_gives_none)
{
	struct seg_case c = { .optlen = 8, .len = 900, .seed = 11, .check = false };

	run(&c);
	cr_assert_not(c.taken, "a segment nobody checked got a sum");
	cr_assert_eq(c.reused, 0);
}

/* summed, then another packet enters IP before the hook: nothing */
static int other_packet_fn(void *arg)
{
	struct seg_case *c = arg;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(TCP_HLEN + c->len), PBUF_POOL);
	uint16_t total;
	uint8_t hl;

	if (p == NULL)
		return -1;
	memset(p->payload, 0x5a, p->len);
	((uint8_t *)p->payload)[12] = (TCP_HLEN / 4) << 4;
	(void)zs_lwip_chksum(p->payload, p->len);
	zs_ip_input_hook(p, NULL); /* the next packet */
	pbuf_remove_header(p, TCP_HLEN);
	zs_csum_tcp_in((struct tcp_hdr *)((uint8_t *)p->payload - TCP_HLEN), 0, NULL, p);
	c->taken = zs_csum_rx_take(p, &total, &hl);
	/* cut after the hook (an overlap trimmed): not the bytes summed */
	zs_ip_input_hook(p, NULL);
	pbuf_add_header(p, TCP_HLEN);
	(void)zs_lwip_chksum(p->payload, p->len);
	pbuf_remove_header(p, TCP_HLEN);
	zs_csum_tcp_in((struct tcp_hdr *)((uint8_t *)p->payload - TCP_HLEN), 0, NULL, p);
	pbuf_remove_header(p, 10);
	c->taken_again = zs_csum_rx_take(p, &total, &hl);
	pbuf_free(p);
	return 0;
}

Test(csum, summed_elsewhere_or_cut_gives_none)
{
	struct seg_case c = { .len = 800 };

	cr_assert_eq(zs_engine_ensure(), 0);
	cr_assert_eq(zs_reactor_call(other_packet_fn, &c), 0);
	cr_assert_not(c.taken, "a sum from an earlier packet was used");
	cr_assert_not(c.taken_again, "a trimmed payload got the untrimmed sum");
}

Test(csum, small_is_ignored)
{
	struct seg_case c = { .optlen = 0, .len = 43, .seed = 5, .check = true };

	run(&c);
	cr_assert_not(c.taken, "a 63-byte segment was looked at");
}

static int not_pool_fn(void *arg)
{
	struct seg_case *c = arg;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, 600, PBUF_RAM);
	uint64_t before;

	if (p == NULL)
		return -1;
	memset(p->payload, 0xa5, 600);
	zs_csum_tx_keep(p->payload, 600, TCP_HLEN, 0x1234);
	before = reused_now();
	c->got = zs_lwip_chksum(p->payload, 600);
	c->real = lwip_standard_chksum(p->payload, 600);
	c->reused = reused_now() - before;
	zs_csum_tx_forget(p->payload);
	pbuf_free(p);
	return 0;
}

Test(csum, not_a_pool_pbuf)
{
	struct seg_case c = { 0 };

	cr_assert_eq(zs_engine_ensure(), 0);
	cr_assert_eq(zs_reactor_call(not_pool_fn, &c), 0);
	cr_assert_eq(c.got, c.real);
	cr_assert_eq(c.reused, 0);
}
