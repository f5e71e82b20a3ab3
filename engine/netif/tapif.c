/*
 * lwIP Ethernet netif over a TAP descriptor.
 *
 * Receive, zero-copy: when the port reports the descriptor readable, read
 * frames one by one straight into PBUF_POOL pbufs (PBUF_POOL_BUFSIZE holds
 * a whole frame, so each is one pbuf, never a chain) and hand each to
 * ethernet_input(). At most RX_BUDGET frames per readiness, so one busy
 * device cannot starve the rest of the reactor; what is left is read on
 * the next round, since the descriptor is still readable. When the pool is
 * empty the frame is still read, into a scratch buffer, and dropped: a
 * descriptor left readable would wake the reactor forever while nothing
 * frees a pbuf. A frame that fills the whole pbuf may have been cut by
 * read() and is dropped as well (it was longer than any this netif sends).
 *
 * Transmit, zero-copy: linkoutput() turns the pbuf chain into a segment
 * list and writes it with one writev(). A TCP segment made of many small
 * application writes can be a chain longer than one writev takes
 * (ZS_TAP_SEG_MAX); only then is the frame gathered into a buffer first.
 * A full device queue (EAGAIN) drops the frame like a busy wire would;
 * TCP recovers it.
 *
 * Drops on either side are counted in netif_drops, frames that made it in
 * netif_rx_frames / netif_tx_frames.
 */
#include "engine/netif/tapif.h"
#include "engine/netif/pcap.h"
#include "engine/port/port.h"
#include "engine/port/posix/tap.h"
#include "engine/stats.h"

#include <errno.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#define RX_BUDGET     64
/* One receive buffer: a maximal frame plus room to notice a longer one. */
#define RX_BUF_LEN    PBUF_POOL_BUFSIZE
#define ETH_FRAME_MAX (ZS_TAPIF_MTU + SIZEOF_ETH_HDR)

_Static_assert(RX_BUF_LEN > ETH_FRAME_MAX,
	       "PBUF_POOL_BUFSIZE must hold a whole frame and one byte more");

/* Reactor only, so one of each serves every TAP netif. */
static uint8_t rx_scratch[RX_BUF_LEN];
static uint8_t tx_gather[ETH_FRAME_MAX];

/* Read and deliver one frame. Returns > 0 (a frame was taken, delivered
 * or dropped), -EAGAIN (none left) or another -errno. */
static int rx_one(struct zs_tapif *t)
{
	struct pbuf *p;
	int n;

	p = pbuf_alloc(PBUF_RAW, RX_BUF_LEN, PBUF_POOL);
	if (p == NULL) {
		n = zs_tap_read(t->fd, rx_scratch, sizeof(rx_scratch));
		if (n < 0)
			return n;
		ZS_COUNT(netif_drops, 1);	/* pool empty */
		return 1;
	}
	ZS_ASSERT(p->next == NULL && p->len == RX_BUF_LEN);
	n = zs_tap_read(t->fd, p->payload, RX_BUF_LEN);
	if (n <= 0 || n == RX_BUF_LEN) {
		pbuf_free(p);
		if (n < 0)
			return n;
		ZS_COUNT(netif_drops, 1);	/* empty, or possibly cut */
		return 1;
	}
	pbuf_realloc(p, (u16_t)n);
	ZS_COUNT(netif_rx_frames, 1);
	zs_pcap_frame(p);
	zs_pcap_link_rx(true);
	/* the input function owns p from here, unless it refuses it */
	if (t->netif.input(p, &t->netif) != ERR_OK) {
		pbuf_free(p);
		ZS_COUNT(netif_drops, 1);
	}
	zs_pcap_link_rx(false);
	return n;
}

/* The port's readiness callback (reactor context). */
static void tapif_ready(void *arg)
{
	struct zs_tapif *t = arg;
	int i, rc = 0;

	for (i = 0; i < RX_BUDGET; i++) {
		rc = rx_one(t);
		if (rc < 0)
			break;
	}
	if (rc < 0 && rc != -EAGAIN) {
		/* The device is gone or broken: a descriptor in error stays
		 * "readable", so stop watching it rather than spin. */
		zs_port_unwatch(t->fd);
		t->dead = true;
		netif_set_link_down(&t->netif);
	}
}

static err_t tapif_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct zs_tapif *t = netif->state;
	struct zs_tap_seg seg[ZS_TAP_SEG_MAX];
	const struct pbuf *q;
	int n = 0, rc;

	if (t->dead) {
		ZS_COUNT(netif_drops, 1);
		return ERR_IF;
	}
	zs_pcap_frame(p);
	for (q = p; q != NULL; q = q->next) {
		if (q->len == 0)
			continue;
		if (n == ZS_TAP_SEG_MAX)
			break;
		seg[n].base = q->payload;
		seg[n].len = q->len;
		n++;
	}
	if (q != NULL) {
		/* too many pieces for one writev: the one copy on this path */
		if (p->tot_len > sizeof(tx_gather)) {
			ZS_COUNT(netif_drops, 1);
			return ERR_IF;
		}
		pbuf_copy_partial(p, tx_gather, p->tot_len, 0);
		seg[0].base = tx_gather;
		seg[0].len = p->tot_len;
		n = 1;
	}
	if (n == 0)
		return ERR_OK;
	rc = zs_tap_writev(t->fd, seg, n);
	if (rc < 0) {
		ZS_COUNT(netif_drops, 1);
		return rc == -EAGAIN ? ERR_OK : ERR_IF;
	}
	ZS_COUNT(netif_tx_frames, 1);
	return ERR_OK;
}

/* netif_add()'s init callback: everything but addresses. */
static err_t tapif_init(struct netif *netif)
{
	uint32_t r0 = zs_port_random(), r1 = zs_port_random();

	netif->name[0] = 't';
	netif->name[1] = 'p';
	netif->output = etharp_output;
	netif->output_ip6 = ethip6_output;
	netif->linkoutput = tapif_linkoutput;
	netif->mtu = ZS_TAPIF_MTU;
	netif->mtu6 = ZS_TAPIF_MTU;
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		       NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
	/* random, locally administered (bit 1), unicast (bit 0 clear) */
	netif->hwaddr_len = ETH_HWADDR_LEN;
	netif->hwaddr[0] = (uint8_t)((r0 & 0xfc) | 0x02);
	netif->hwaddr[1] = (uint8_t)(r0 >> 8);
	netif->hwaddr[2] = (uint8_t)(r0 >> 16);
	netif->hwaddr[3] = (uint8_t)(r0 >> 24);
	netif->hwaddr[4] = (uint8_t)r1;
	netif->hwaddr[5] = (uint8_t)(r1 >> 8);
	return ERR_OK;
}

static u32_t prefix_mask(unsigned int prefix)
{
	return prefix == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - prefix));
}

/* see tapif.h */
int zs_tapif_up(struct zs_tapif *t, const struct zs_netif_spec *sp,
		bool make_default)
{
	ip4_addr_t ip, mask, gw;
	int fd, rc;

	ZS_ASSERT_REACTOR();
	ZS_ASSERT(!t->used);
	fd = zs_tap_open(sp->name);
	if (fd < 0)
		return fd;

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	memcpy(t->name, sp->name, sizeof(t->name));
	ip4_addr_set_zero(&ip);
	ip4_addr_set_zero(&mask);
	ip4_addr_set_zero(&gw);
	if (sp->has_ip4) {
		memcpy(&ip.addr, sp->ip4, 4);
		mask.addr = prefix_mask(sp->ip4_prefix);
	}
	if (sp->has_gw4)
		memcpy(&gw.addr, sp->gw4, 4);
	if (netif_add(&t->netif, &ip, &mask, &gw, t, tapif_init,
		      ethernet_input) == NULL) {
		rc = -ENOMEM;
		goto close_fd;
	}

	/* DAD is off (LWIP_IPV6_DUP_DETECT_ATTEMPTS 0): static addresses are
	 * usable at once, so skip the tentative state altogether. */
	netif_create_ip6_linklocal_address(&t->netif, 1);
	netif_ip6_addr_set_state(&t->netif, 0, IP6_ADDR_PREFERRED);
	if (sp->has_ip6) {
		ip6_addr_t a;
		s8_t idx;

		memcpy(a.addr, sp->ip6, sizeof(a.addr));
		ip6_addr_clear_zone(&a);
		if (netif_add_ip6_address(&t->netif, &a, &idx) != ERR_OK) {
			rc = -ENOSPC;
			goto remove;
		}
		netif_ip6_addr_set_state(&t->netif, idx, IP6_ADDR_PREFERRED);
	}

	rc = zs_port_watch(fd, tapif_ready, t);
	if (rc < 0)
		goto remove;
	t->used = true;
	netif_set_link_up(&t->netif);
	netif_set_up(&t->netif);
	if (make_default)
		netif_set_default(&t->netif);
	return 0;

remove:
	netif_remove(&t->netif);
close_fd:
	zs_tap_close(fd);
	t->used = false;
	return rc;
}

/* see tapif.h */
void zs_tapif_down(struct zs_tapif *t)
{
	ZS_ASSERT_REACTOR();
	if (!t->used)
		return;
	if (!t->dead)
		zs_port_unwatch(t->fd);
	netif_set_down(&t->netif);
	netif_remove(&t->netif);
	zs_tap_close(t->fd);
	t->used = false;
}
