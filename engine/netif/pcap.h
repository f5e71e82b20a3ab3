/*
 * Frame mirroring into one classic pcap file (ZSOCK_PCAP=path): every
 * interface, loopback included, as LINKTYPE_ETHERNET with microsecond
 * timestamps. Reactor only, like the netifs that feed it.
 *
 * Where frames come from:
 *  - TAP: the netif calls zs_pcap_frame() on each frame it sends and each
 *    frame it receives, before lwIP sees it.
 *  - loopback: lwIP hands a looped packet straight to ip_input() from
 *    netif_poll(), and ip4/ip6_output_if() queue a packet to the netif's own
 *    address without calling netif->output, so neither a wrapped output
 *    function nor a wrapped input function sees 127.0.0.1 or ::1 traffic.
 *    The one place that does is lwIP's IP input hook, so lwipopts.h MUST map
 *    LWIP_HOOK_IP4_INPUT and LWIP_HOOK_IP6_INPUT to
 *    zs_pcap_ip_input_hook(). It writes the packets that did not arrive in
 *    an Ethernet frame (loopback, and a netif's traffic to its own address),
 *    behind a made-up 14-byte Ethernet header: zero MACs, ethertype from the
 *    IP version. Each looped packet is written once, when it is received.
 *
 * The file itself is reached through a small sink (zs_pcap_sink_*) that the
 * port provides: stdio on a hosted port (port/posix/pcap_file.c). Each
 * frame is flushed as it is written, so a crash leaves a readable capture.
 */
#ifndef ZSOCK_NETIF_PCAP_H
#define ZSOCK_NETIF_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pbuf;
struct netif;

/* Bytes of each frame kept in the file; longer frames are cut. */
#define ZS_PCAP_SNAPLEN 65535

/**
 * Start mirroring into path, truncating it. Reactor only. Returns 0,
 * -EALREADY (a capture is open) or the sink's -errno.
 */
int zs_pcap_open(const char *path);

/* Set while a capture is open; read it through zs_pcap_on(). */
extern bool zs_pcap_open_now;

/** True while a capture is open. A plain load: cheap on every frame. */
static inline bool zs_pcap_on(void)
{
	return zs_pcap_open_now;
}

/**
 * Write the Ethernet frame p (the whole chain; only read). A write error
 * closes the capture, which then stays closed.
 */
void zs_pcap_frame(const struct pbuf *p);

/** Write the IP packet p behind a made-up Ethernet header. */
void zs_pcap_ip(const struct pbuf *p);

/**
 * A link-layer netif brackets its netif->input() call with
 * zs_pcap_link_rx(true) / (false): packets the input hook sees meanwhile
 * were already written as frames.
 */
void zs_pcap_link_rx(bool active);

/** lwIP's LWIP_HOOK_IP4_INPUT / LWIP_HOOK_IP6_INPUT. Never eats p: 0. */
int zs_pcap_ip_input_hook(struct pbuf *p, struct netif *inp);

/* ---- the sink: provided by the port ------------------------------------ */

/** Create or truncate path for writing. Returns 0 or -errno. */
int zs_pcap_sink_open(const char *path);
/** Append len bytes. Returns 0 or -errno. */
int zs_pcap_sink_write(const void *buf, size_t len);
/** Push what was written to the file. Returns 0 or -errno. */
int zs_pcap_sink_flush(void);
void zs_pcap_sink_close(void);
/** Wall-clock time now (pcap timestamps are UTC, not monotonic). */
void zs_pcap_sink_time(uint32_t *sec, uint32_t *usec);

#endif
