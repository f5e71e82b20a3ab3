/*
 * A test-only Ethernet netif for the fuzz build (fuzz/fuzz_netif.c): frames
 * come from the caller instead of a device, frames sent are handed to a
 * callback and dropped. Compiled only into the fuzz copy of the library
 * (fuzz/meson.build); libzsock.a never has it.
 *
 * Every function runs its work in the reactor (zs_reactor_call) and may
 * be called from any thread but the reactor's; each starts the engine if
 * needed. Only one such netif exists.
 */
#ifndef ZSOCK_NETIF_FUZZIF_H
#define ZSOCK_NETIF_FUZZIF_H

#include <stddef.h>
#include <stdint.h>

/** Longest frame zs_fuzzif_input() takes (lwIP's pbuf length is 16 bits). */
#define ZS_FUZZIF_FRAME_MAX 65535

struct zs_fuzzif_cfg {
	uint8_t mac[6];
	uint8_t ip4[4];     /* 0.0.0.0: no IPv4 address */
	uint8_t ip4_prefix;
	uint8_t gw4[4];
	uint8_t ip6[16];    /* a global /64 address next to the link-local one
			       (made from mac); all zero: none */
	uint16_t mtu;       /* IPv4 and IPv6; 0: 1500 */
};

/**
 * Frames the netif sends: fn(frame, len, arg) in the reactor, frame a flat
 * copy valid during the call; it MUST NOT call into zsock. Set it before
 * zs_fuzzif_up(); NULL: frames are only counted.
 */
void zs_fuzzif_set_tx(void (*fn)(const uint8_t *frame, size_t len, void *arg), void *arg);

/**
 * Add the netif (up, link up, lwIP's default netif, addresses preferred at
 * once). Returns its lwIP netif index (> 0) or -errno (EEXIST: already up).
 */
int zs_fuzzif_up(const struct zs_fuzzif_cfg *cfg);

/**
 * Deliver one frame of len bytes, as a driver would: copied into
 * PBUF_POOL pbufs (a chain when longer than one) and given to
 * ethernet_input(). Returns 0 (delivered, or refused by lwIP and counted
 * in netif_drops), -ENOMEM (pool empty: dropped, counted), -EMSGSIZE
 * (longer than ZS_FUZZIF_FRAME_MAX) or -ENODEV (not up).
 */
int zs_fuzzif_input(const void *frame, size_t len);

/**
 * The TCP connection (any state but LISTEN, TIME_WAIT included) with
 * local port lport and remote port rport, the first lwIP finds: its next
 * expected sequence number (*rcv_nxt) and next to send (*snd_nxt).
 * Returns 0, or -ENOENT when there is none.
 */
int zs_fuzzif_tcp_seq(uint16_t lport, uint16_t rport, uint32_t *rcv_nxt, uint32_t *snd_nxt);

/** Run each of lwIP's cyclic timers once (TCP, ARP, reassembly, ND, IGMP,
 *  MLD), as if its interval had passed. */
void zs_fuzzif_tick(void);

/**
 * Bring lwIP's state that frames can create back to that of a fresh
 * netif, so the next input starts from the same point: abort every TCP
 * PCB not on loopback (connections with a socket get the abort like a
 * reset; the caller closes its sockets first), free the ARP and neighbour
 * caches of the netif (their queued packets too), the IPv6 destination
 * cache, every IPv4 and IPv6 reassembly in progress, and restore the MTUs.
 */
void zs_fuzzif_reset(void);

#endif
