/*
 * The fuzz build's injection netif (fuzzif.h): an Ethernet netif whose
 * receive side is a function call and whose transmit side is a callback.
 * Receive does what tapif.c's rx_one() does with a frame it has read;
 * transmit flattens the chain for the callback and counts the frame.
 */
#include "engine/netif/fuzzif.h"
#include "engine/netif/pcap.h"
#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#include "engine/stats.h"

#include <errno.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/ip4_frag.h"
#include "lwip/ip6_frag.h"
#include "lwip/nd6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

/* Reactor only. */
static struct netif nif;
static bool up;
static uint16_t mtu;
static void (*tx_fn)(const uint8_t *frame, size_t len, void *arg);
static void *tx_arg;
static uint8_t tx_flat[ZS_FUZZIF_FRAME_MAX];

static err_t fuzzif_linkoutput(struct netif *netif, struct pbuf *p)
{
	(void)netif;
	zs_pcap_frame(p);
	if (p->tot_len > sizeof(tx_flat)) {
		ZS_COUNT(netif_drops, 1);
		return ERR_IF;
	}
	if (tx_fn != NULL) {
		pbuf_copy_partial(p, tx_flat, p->tot_len, 0);
		tx_fn(tx_flat, p->tot_len, tx_arg);
	}
	ZS_COUNT(netif_tx_frames, 1);
	return ERR_OK;
}

static err_t fuzzif_init(struct netif *netif)
{
	netif->name[0] = 'f';
	netif->name[1] = 'z';
	netif->output = etharp_output;
	netif->output_ip6 = ethip6_output;
	netif->linkoutput = fuzzif_linkoutput;
	netif->mtu = mtu;
	netif->mtu6 = mtu;
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		       NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	return ERR_OK;
}

struct tx_args {
	void (*fn)(const uint8_t *frame, size_t len, void *arg);
	void *arg;
};

static int set_tx_r(void *p)
{
	struct tx_args *a = p;

	tx_fn = a->fn;
	tx_arg = a->arg;
	return 0;
}

void zs_fuzzif_set_tx(void (*fn)(const uint8_t *frame, size_t len, void *arg), void *arg)
{
	struct tx_args a = { fn, arg };

	if (zs_engine_ensure() == 0)
		zs_reactor_call(set_tx_r, &a);
}

static int up_r(void *p)
{
	const struct zs_fuzzif_cfg *c = p;
	ip4_addr_t ip, mask, gw;

	if (up)
		return -EEXIST;
	mtu = c->mtu != 0 ? c->mtu : 1500;
	memcpy(&ip.addr, c->ip4, 4);
	memcpy(&gw.addr, c->gw4, 4);
	mask.addr = c->ip4_prefix == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - c->ip4_prefix));
	if (netif_add(&nif, &ip, &mask, &gw, NULL, fuzzif_init, ethernet_input) == NULL)
		return -ENOMEM;
	memcpy(nif.hwaddr, c->mac, ETH_HWADDR_LEN);
	netif_create_ip6_linklocal_address(&nif, 1);
	netif_ip6_addr_set_state(&nif, 0, IP6_ADDR_PREFERRED);
	{
		static const uint8_t none[16];

		if (memcmp(c->ip6, none, 16) != 0) {
			ip6_addr_t a;
			s8_t idx;

			memcpy(a.addr, c->ip6, sizeof(a.addr));
			ip6_addr_clear_zone(&a);
			if (netif_add_ip6_address(&nif, &a, &idx) != ERR_OK) {
				netif_remove(&nif);
				return -ENOSPC;
			}
			netif_ip6_addr_set_state(&nif, idx, IP6_ADDR_PREFERRED);
		}
	}
	netif_set_link_up(&nif);
	netif_set_up(&nif);
#if LWIP_IPV6_SEND_ROUTER_SOLICIT
	/* no router solicitations of its own (netif_set_up() arms them), so
	 * that what the netif sends depends on the frames it gets */
	nif.rs_count = 0;
#endif
	netif_set_default(&nif);
	up = true;
	return netif_get_index(&nif);
}

int zs_fuzzif_up(const struct zs_fuzzif_cfg *cfg)
{
	int rc = zs_engine_ensure();

	return rc < 0 ? rc : zs_reactor_call(up_r, (void *)cfg);
}

struct input_args {
	const void *frame;
	size_t len;
};

static int input_r(void *p)
{
	struct input_args *a = p;
	struct pbuf *q;

	if (!up)
		return -ENODEV;
	q = pbuf_alloc(PBUF_RAW, (u16_t)a->len, PBUF_POOL);
	if (q == NULL) {
		ZS_COUNT(netif_drops, 1);
		return -ENOMEM;
	}
	pbuf_take(q, a->frame, (u16_t)a->len);
	ZS_COUNT(netif_rx_frames, 1);
	zs_pcap_frame(q);
	zs_pcap_link_rx(true);
	if (nif.input(q, &nif) != ERR_OK) {
		pbuf_free(q);
		ZS_COUNT(netif_drops, 1);
	}
	zs_pcap_link_rx(false);
	return 0;
}

int zs_fuzzif_input(const void *frame, size_t len)
{
	struct input_args a = { frame, len };
	int rc;

	if (len > ZS_FUZZIF_FRAME_MAX)
		return -EMSGSIZE;
	rc = zs_engine_ensure();
	return rc < 0 ? rc : zs_reactor_call(input_r, &a);
}

struct seq_args {
	uint16_t lport, rport;
	uint32_t rcv_nxt, snd_nxt;
};

static int seq_r(void *p)
{
	struct seq_args *a = p;
	struct tcp_pcb *lists[2] = { tcp_active_pcbs, tcp_tw_pcbs };

	for (int i = 0; i < 2; i++) {
		for (struct tcp_pcb *pcb = lists[i]; pcb != NULL; pcb = pcb->next) {
			if (pcb->local_port == a->lport && pcb->remote_port == a->rport) {
				a->rcv_nxt = pcb->rcv_nxt;
				a->snd_nxt = pcb->snd_nxt;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int zs_fuzzif_tcp_seq(uint16_t lport, uint16_t rport, uint32_t *rcv_nxt, uint32_t *snd_nxt)
{
	struct seq_args a = { .lport = lport, .rport = rport };
	int rc = zs_engine_ensure();

	if (rc == 0)
		rc = zs_reactor_call(seq_r, &a);
	if (rc == 0) {
		*rcv_nxt = a.rcv_nxt;
		*snd_nxt = a.snd_nxt;
	}
	return rc;
}

static int tick_r(void *p)
{
	(void)p;
	for (int i = 0; i < lwip_num_cyclic_timers; i++)
		lwip_cyclic_timers[i].handler();
	return 0;
}

void zs_fuzzif_tick(void)
{
	if (zs_engine_ensure() == 0)
		zs_reactor_call(tick_r, NULL);
}

/* The first PCB of list not on loopback, or NULL. */
static struct tcp_pcb *non_loopback(struct tcp_pcb *list)
{
	for (; list != NULL; list = list->next) {
		if (!ip_addr_isloopback(&list->local_ip))
			return list;
	}
	return NULL;
}

static int reset_r(void *p)
{
	struct tcp_pcb *pcb;
	int i;

	(void)p;
	/* tcp_abort() unlinks the PCB: look again from the start each time */
	while ((pcb = non_loopback(tcp_active_pcbs)) != NULL)
		tcp_abort(pcb);
	while ((pcb = non_loopback(tcp_tw_pcbs)) != NULL)
		tcp_abort(pcb);
	/* a reassembly is dropped when its timer runs out */
	for (i = 0; i <= IP_REASS_MAXAGE; i++)
		ip_reass_tmr();
	for (i = 0; i <= IPV6_REASS_MAXAGE; i++)
		ip6_reass_tmr();
	if (!up)
		return 0;
	/* last: the resets and ICMP errors above may have queued packets */
	etharp_cleanup_netif(&nif);
	nd6_cleanup_netif(&nif);
	nif.mtu = mtu;
	nif.mtu6 = mtu;
	return 0;
}

void zs_fuzzif_reset(void)
{
	if (zs_engine_ensure() == 0)
		zs_reactor_call(reset_r, NULL);
}
