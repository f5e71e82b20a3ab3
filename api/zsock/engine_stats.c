/* zsock_engine_stats: counters from the engine and, via the reactor, lwIP. */
#include <zsock/engine.h>

#include <errno.h>
#include <string.h>

#include "engine/fdtable.h"
#include "engine/netbuf/net_buf.h"
#include "engine/reactor/reactor.h"
#include "engine/sock/sock.h"
#include "engine/sockpair/sockpair.h"
#include "engine/stats.h"
#include "offload/offload.h"
#include "tls_bearssl/tls.h"

#include "lwip/stats.h"
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

static int lwip_r(void *p)
{
	struct zsock_engine_stats *o = p;

	o->lwip_pbuf_in_use = lwip_stats.memp[MEMP_PBUF_POOL]->used;
	o->lwip_tcp_pcbs = lwip_stats.memp[MEMP_TCP_PCB]->used;
	o->lwip_udp_pcbs = lwip_stats.memp[MEMP_UDP_PCB]->used;
	o->lwip_mem_used = (uint32_t)lwip_stats.mem.used;
	return 0;
}

static void pool_figures(struct zs_pool *p, uint32_t *in_use, uint32_t *hw,
			 uint32_t *total, uint32_t *fail)
{
	zs_lock_take(&p->lock);
	*in_use = p->in_use;
	*hw = p->high_water;
	*total = p->count;
	*fail = p->alloc_fail;
	zs_lock_give(&p->lock);
}

#define LOAD(name) ZS_COUNTER_LOAD(name)

int zsock_engine_stats(struct zsock_engine_stats *out)
{
	int rc = zs_engine_ensure();

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	if (out == NULL) {
		errno = EFAULT;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->tx_bytes_copied = LOAD(tx_bytes_copied);
	out->rx_bytes_copied = LOAD(rx_bytes_copied);
	out->tx_bytes = LOAD(tx_bytes);
	out->rx_bytes = LOAD(rx_bytes);
	out->rx_drops = LOAD(rx_drops);
	out->tx_drops = LOAD(tx_drops);
	out->reactor_wakeups = LOAD(reactor_wakeups);
	out->netif_rx_frames = LOAD(netif_rx_frames);
	out->netif_tx_frames = LOAD(netif_tx_frames);
	out->netif_drops = LOAD(netif_drops);
	out->loop_packets = LOAD(loop_packets);
	out->poll_wakeups = LOAD(poll_wakeups);
	out->poll_tests = LOAD(poll_tests);
	out->tx_csum_reused = LOAD(tx_csum_reused);
	pool_figures(&zs_tx_pool, &out->tx_bufs_in_use, &out->tx_bufs_high_water,
		     &out->tx_bufs_total, &out->tx_alloc_failures);
	pool_figures(&zs_rx_pool, &out->rx_bufs_in_use, &out->rx_bufs_high_water,
		     &out->rx_bufs_total, &out->rx_alloc_failures);
	out->sockets_in_use = zs_sock_in_use();
	out->fds_in_use = zs_fd_in_use();
	out->tls_in_use = zs_tls_in_use();
	out->tls_high_water = zs_tls_high_water();
	out->tls_sessions_in_use = zs_tls_sessions_in_use();
	out->tls_sessions_high_water = zs_tls_sessions_high_water();
	out->dtls_in_use = zs_dtls_sock_in_use();
	out->dtls_high_water = zs_dtls_sock_high_water();
	out->tls_cred_count = (uint32_t)zs_cred_count();
	out->offload_in_use = zs_offload_in_use();
	out->tls_cred_arena_used = (uint32_t)zs_cred_arena_used();
	zs_reactor_call(lwip_r, out);
	return 0;
}

int zsock_engine_footprint(struct zsock_engine_footprint *out)
{
	uint64_t total;
	int i;

	if (out == NULL) {
		errno = EFAULT;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->socket_bytes = (uint32_t)sizeof(struct zs_sock);
	out->fd_bytes = (uint32_t)zs_fd_slot_bytes();
	out->tcp_pcb_bytes = (uint32_t)sizeof(struct tcp_pcb);
	out->udp_pcb_bytes = (uint32_t)sizeof(struct udp_pcb);
	out->tx_buf_bytes = (uint32_t)(sizeof(struct net_buf) + CONFIG_NET_BUF_DATA_SIZE);
	out->rx_buf_bytes = (uint32_t)sizeof(struct net_buf);
	out->tcp_conn_bytes = out->socket_bytes + out->fd_bytes + out->tcp_pcb_bytes;
	out->udp_socket_bytes = out->socket_bytes + out->fd_bytes + out->udp_pcb_bytes;
	out->tls_socket_bytes = (uint32_t)zs_tls_socket_bytes();
	out->tls_session_bytes = (uint32_t)zs_tls_session_bytes();
	out->dtls_socket_bytes = (uint32_t)zs_dtls_sock_bytes();

	total = (uint64_t)CONFIG_NET_MAX_CONTEXTS * out->socket_bytes +
		(uint64_t)CONFIG_ZVFS_OPEN_MAX * out->fd_bytes +
		(uint64_t)CONFIG_NET_BUF_TX_COUNT * out->tx_buf_bytes +
		(uint64_t)CONFIG_NET_BUF_RX_COUNT * out->rx_buf_bytes +
		zs_sockpair_bytes() + MEM_SIZE + zs_tls_static_bytes() +
		zs_dtls_static_bytes();
	for (i = 0; i < MEMP_MAX; i++) /* lwIP's fixed pools: PCBs, segments, pbufs */
		total += (uint64_t)memp_pools[i]->num * memp_pools[i]->size;
	out->static_total = total;
	return 0;
}
