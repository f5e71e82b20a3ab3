/*
 * lwIP driver for the LM3S6965 Ethernet MAC as QEMU models it
 * (stellaris_enet, 0x40048000, IRQ 42).
 *
 * Both FIFOs carry a frame as a byte stream read or written 32 bits at a
 * time, little-endian, led by two length bytes. RX: length = frame + 6
 * (the 2 length bytes and the 4-byte FCS that follows the frame). TX:
 * length = frame - 14 (payload after the Ethernet header).
 *
 * Receive is interrupt-driven and copies once, from the FIFO straight into
 * the pbuf lwIP gets. The reactor owns every lwIP call (lwIP's allocators
 * are not interrupt-safe), so it keeps a ring of RX_RING empty pbufs ready
 * for the interrupt handler. Two free-running indices, each with a single
 * writer, hand slots back and forth:
 *
 *   rx_tail (reactor) <= rx_head (handler) <= rx_fill (reactor) <= rx_tail + RX_RING
 *
 * [rx_tail, rx_head) hold received frames for the reactor, [rx_head,
 * rx_fill) empty pbufs for the handler. With no empty pbuf left, the
 * handler masks the RX interrupt and leaves the rest in the FIFO; the
 * reactor unmasks it after refilling.
 *
 * An empty pbuf's payload starts 2 bytes into its 4-aligned buffer, so
 * the FIFO words land aligned: the length bytes fill those 2 bytes and the
 * frame starts at the payload, with its IP header 4-aligned.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#if LWIP_IPV6
#include "lwip/ethip6.h"
#endif

#include "board.h"
#include "engine/port/port.h"   /* zs_port_isr_ready(): interrupt-safe */

#if ETH_PAD_SIZE != 0
#error "stellaris_eth.c expects ETH_PAD_SIZE 0"
#endif
#if MEM_ALIGNMENT < 4
#error "stellaris_eth.c needs MEM_ALIGNMENT >= 4 (word-aligned pbuf payloads)"
#endif

#define REG32(a) (*(volatile uint32_t *)(a))

#define ETH_BASE  0x40048000u
#define ETH_RIS   REG32(ETH_BASE + 0x00) /* read: RIS; write: IACK */
#define ETH_IM    REG32(ETH_BASE + 0x04)
#define ETH_RCTL  REG32(ETH_BASE + 0x08)
#define ETH_TCTL  REG32(ETH_BASE + 0x0C)
#define ETH_DATA  REG32(ETH_BASE + 0x10)
#define ETH_IA0   REG32(ETH_BASE + 0x14)
#define ETH_IA1   REG32(ETH_BASE + 0x18)
#define ETH_NP    REG32(ETH_BASE + 0x34)
#define ETH_TR    REG32(ETH_BASE + 0x38)

#define INT_RX    0x01u
#define INT_TXER  0x02u
#define INT_FOV   0x08u
#define INT_RXER  0x10u
#define INT_ALL   0x7Fu

#define RCTL_RXEN    0x01u
#define RCTL_AMUL    0x02u
#define RCTL_BADCRC  0x08u
#define RCTL_RSTFIFO 0x10u
#define TCTL_TXEN    0x01u
#define TCTL_PADEN   0x02u
#define TCTL_CRC     0x04u
#define TR_NEWTX     0x01u

#define NVIC_ISER1 REG32(0xE000E104u)
#define NVIC_ISPR1 REG32(0xE000E204u)
#define ETH_IRQ_BIT (1u << (BOARD_IRQ_ETHERNET - 32))

#define ETH_HDR      14
#define FIFO_LEN     2    /* length bytes leading a frame in both FIFOs */
#define RX_FCS       4
/*
 * Ring slots (a power of two): frames the handler can take before the
 * reactor runs. They hold that many pool pbufs at all times, so lwIP's
 * PBUF_POOL_SIZE must leave room for what TCP queues besides.
 */
#ifndef BOARD_ETH_RX_RING
#define BOARD_ETH_RX_RING 4
#endif
#define RX_RING      BOARD_ETH_RX_RING
/* bytes a slot holds from its length bytes on: 2 + 1518 (VLAN) + FCS, rounded */
#define RX_BUF       1536
#define RX_FIFO      2048
#define TX_MAX_FRAME 2032
/* TR clears as the MAC sends; QEMU sends at once, real hardware in ~120 us */
#define TX_SPIN      100000u

_Static_assert((RX_RING & (RX_RING - 1)) == 0, "RX_RING must be a power of two");

#if PBUF_POOL_BUFSIZE >= RX_BUF
#define RX_PBUF_TYPE PBUF_POOL
#else
#define RX_PBUF_TYPE PBUF_RAM  /* pool buffers would chain */
#endif

struct rx_slot {
	struct pbuf *p;
	uint32_t *buf;  /* 4-aligned, FIFO_LEN bytes before p->payload */
	uint16_t len;   /* frame bytes (no FCS), set by the handler */
};

static struct rx_slot ring[RX_RING];
static atomic_uint rx_head;  /* written by the handler only */
static atomic_uint rx_fill;  /* written by the reactor only */
static unsigned rx_tail;     /* reactor only */
static volatile bool rx_masked;
static struct board_eth_stats stats;

static uint32_t irq_save(void)
{
	uint32_t primask;

	__asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
	return primask;
}

static void irq_restore(uint32_t primask)
{
	__asm__ volatile("msr primask, %0" : : "r"(primask) : "memory");
}

/* ---- receive: interrupt side ------------------------------------------- */

void Ethernet_IRQHandler(void)
{
	unsigned head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	unsigned fill = atomic_load_explicit(&rx_fill, memory_order_acquire);
	bool wake = false;
	uint32_t ris = ETH_RIS;

	/* ack before reading NP: a frame arriving after the last NP read
	 * raises RX again instead of waiting unseen */
	ETH_RIS = ris & (INT_RX | INT_FOV | INT_RXER);
	if (ris & INT_FOV)
		stats.rx_dropped++;

	/* QEMU holds back further frames until NP reaches 0: drain all */
	while (ETH_NP != 0) {
		struct rx_slot *s;
		uint32_t w0, words, i;

		if (head == fill) {
			ETH_IM = 0;
			rx_masked = true;
			stats.rx_no_pbuf++;
			wake = true;  /* the reactor must run to refill */
			break;
		}
		w0 = ETH_DATA;
		words = ((w0 & 0xFFFFu) + 3) / 4;
		if (words * 4 > RX_FIFO) {
			/* lost framing: only a reset resynchronises the FIFO */
			ETH_RCTL = RCTL_RSTFIFO;
			ETH_RCTL = RCTL_RXEN | RCTL_AMUL | RCTL_BADCRC;
			stats.rx_dropped++;
			break;
		}
		if ((w0 & 0xFFFFu) < FIFO_LEN + ETH_HDR + RX_FCS || words * 4 > RX_BUF) {
			for (i = 1; i < words; i++)
				(void)ETH_DATA;
			stats.rx_dropped++;
			continue;
		}
		s = &ring[head % RX_RING];
		s->buf[0] = w0;
		for (i = 1; i < words; i++)
			s->buf[i] = ETH_DATA;
		s->len = (uint16_t)((w0 & 0xFFFFu) - FIFO_LEN - RX_FCS);
		atomic_store_explicit(&rx_head, ++head, memory_order_release);
		wake = true;
	}
	if (fill - head < stats.rx_ring_low)
		stats.rx_ring_low = fill - head;
	if (wake)
		zs_port_isr_ready(BOARD_SOURCE_ETHERNET);
}

/* ---- receive: reactor side ---------------------------------------------- */

static void rx_refill(void)
{
	unsigned fill = atomic_load_explicit(&rx_fill, memory_order_relaxed);

	while (fill - rx_tail < RX_RING) {
		struct rx_slot *s = &ring[fill % RX_RING];
		struct pbuf *p = pbuf_alloc(PBUF_RAW, RX_BUF, RX_PBUF_TYPE);

		if (!p)
			break;
		LWIP_ASSERT("rx pbuf is one segment", p->next == NULL && p->len == RX_BUF);
		pbuf_remove_header(p, FIFO_LEN);
		s->p = p;
		s->buf = (uint32_t *)(void *)((uint8_t *)p->payload - FIFO_LEN);
		LWIP_ASSERT("rx buffer word-aligned", ((uintptr_t)s->buf & 3) == 0);
		atomic_store_explicit(&rx_fill, ++fill, memory_order_release);
	}
}

int board_eth_service(struct netif *n)
{
	unsigned head = atomic_load_explicit(&rx_head, memory_order_acquire);
	int delivered = 0;
	uint32_t primask;

	while (rx_tail != head) {
		struct rx_slot *s = &ring[rx_tail % RX_RING];
		struct pbuf *p = s->p;
		uint16_t len = s->len;

		/* the slot is free again: refill it before lwIP runs; from
		 * here on the handler may reuse it */
		s->p = NULL;
		rx_tail++;
		rx_refill();
		p->len = p->tot_len = len;
		stats.rx_frames++;
		stats.rx_bytes += len;
		if (n->input(p, n) != ERR_OK)
			pbuf_free(p);
		delivered++;
	}
	rx_refill();

	primask = irq_save();
	if (rx_masked && atomic_load_explicit(&rx_fill, memory_order_relaxed) !=
			 atomic_load_explicit(&rx_head, memory_order_relaxed)) {
		rx_masked = false;
		ETH_IM = INT_RX;
		/* RX was acked before the handler stopped: pend it by hand */
		if (ETH_NP != 0)
			NVIC_ISPR1 = ETH_IRQ_BIT;
	}
	irq_restore(primask);
	/* lwIP's pool is empty too (the stack holds every pbuf): frames wait
	 * in the FIFO. Ask to be called again, so receive resumes as soon as
	 * a pbuf comes back, rather than waiting for an interrupt that the
	 * mask keeps from ever coming. */
	if (rx_masked)
		zs_port_isr_ready(BOARD_SOURCE_ETHERNET);
	return delivered;
}

/* ---- transmit ----------------------------------------------------------- */

static err_t eth_linkoutput(struct netif *n, struct pbuf *p)
{
	const struct pbuf *q;
	uint32_t acc, spin;
	unsigned nacc;

	(void)n;
	if (p->tot_len > TX_MAX_FRAME || p->tot_len < ETH_HDR) {
		stats.tx_errors++;
		return ERR_IF;
	}
	for (spin = TX_SPIN; ETH_TR & TR_NEWTX; spin--) {
		if (spin == 0) {
			stats.tx_errors++;
			return ERR_IF;
		}
	}

	/* the stream: 2 length bytes, then the frame; acc holds nacc bytes */
	acc = (uint32_t)(p->tot_len - ETH_HDR);
	nacc = FIFO_LEN;
	for (q = p; q; q = q->next) {
		const uint8_t *s = q->payload;
		size_t k = q->len;

		for (; k && nacc; k--) {
			acc |= (uint32_t)*s++ << (8 * nacc);
			if (++nacc == 4) {
				ETH_DATA = acc;
				acc = 0;
				nacc = 0;
			}
		}
		/* the M3 loads unaligned words, memcpy compiles to one ldr */
		for (; k >= 4; k -= 4, s += 4) {
			uint32_t w;

			memcpy(&w, s, 4);
			ETH_DATA = w;
		}
		for (; k; k--)
			acc |= (uint32_t)*s++ << (8 * nacc++);
	}
	if (nacc)
		ETH_DATA = acc;
	ETH_TR = TR_NEWTX;

	if (ETH_RIS & INT_TXER) {
		ETH_RIS = INT_TXER;  /* also empties the TX FIFO */
		stats.tx_errors++;
		return ERR_IF;
	}
	stats.tx_frames++;
	stats.tx_bytes += p->tot_len;
	return ERR_OK;
}

/* ---- setup and stats ---------------------------------------------------- */

err_t board_eth_netif_init(struct netif *n)
{
	uint32_t ia0 = ETH_IA0, ia1 = ETH_IA1;

	n->name[0] = 'e';
	n->name[1] = 't';
	n->hwaddr_len = ETH_HWADDR_LEN;
	n->hwaddr[0] = (uint8_t)ia0;
	n->hwaddr[1] = (uint8_t)(ia0 >> 8);
	n->hwaddr[2] = (uint8_t)(ia0 >> 16);
	n->hwaddr[3] = (uint8_t)(ia0 >> 24);
	n->hwaddr[4] = (uint8_t)ia1;
	n->hwaddr[5] = (uint8_t)(ia1 >> 8);
	n->mtu = 1500;
	/* no PHY model: the link is up from the start */
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		   NETIF_FLAG_LINK_UP;
	n->output = etharp_output;
#if LWIP_IPV6
	n->output_ip6 = ethip6_output;
#endif
	n->linkoutput = eth_linkoutput;

	/* IM resets to 0x7f: quiet everything while the ring is set up */
	ETH_IM = 0;
	ETH_RCTL = RCTL_RSTFIFO;
	ETH_RIS = INT_ALL;
	atomic_store_explicit(&rx_head, 0, memory_order_relaxed);
	atomic_store_explicit(&rx_fill, 0, memory_order_relaxed);
	rx_tail = 0;
	rx_masked = false;
	memset(&stats, 0, sizeof(stats));
	stats.rx_ring_low = RX_RING;
	rx_refill();

	ETH_TCTL = TCTL_TXEN | TCTL_PADEN | TCTL_CRC;
	ETH_RCTL = RCTL_RXEN | RCTL_AMUL | RCTL_BADCRC;
	ETH_IM = INT_RX;
	NVIC_ISER1 = ETH_IRQ_BIT;
	return ERR_OK;
}

void board_eth_stats(struct board_eth_stats *out)
{
	uint32_t primask = irq_save();

	*out = stats;
	irq_restore(primask);
}
