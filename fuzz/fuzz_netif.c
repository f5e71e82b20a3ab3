/*
 * Fuzz target netif: Ethernet frames arriving on a network interface.
 *
 * The frames enter lwIP exactly where a driver hands them over
 * (ethernet_input, in the reactor) through the fuzz build's injection
 * netif, engine/netif/fuzzif.c; frames the engine sends go to a checker
 * here and are dropped.
 *
 * Set up once per process:
 *   the netif  MAC 02:00:00:00:00:02, 10.0.0.2/24 (gateway 10.0.0.1),
 *              2001:db8::2/64 and fe80::ff:fe00:2; the engine's default
 *              netif; it is in the IGMP group 239.1.2.3 (the UDP socket's
 *              membership) and in the MLD solicited-node and all-nodes
 *              groups of its addresses
 *   the peer   10.0.0.1, 2001:db8::1, fe80::1, MAC 02:00:00:00:00:01
 *   listeners  TCP 0.0.0.0:80 and [::]:80 (IPV6_V6ONLY), backlog 4
 *   UDP        0.0.0.0:7 and [::]:7; datagrams from a peer address are
 *              echoed back to it
 *   loopback   two UDP sockets on 127.0.0.1 for the health check
 * And at the start of every input, so that each input starts alike: an
 * ARP reply from the peer, then a TCP connection 10.0.0.2:40000 ->
 * 10.0.0.1:5000 made with a SYN-ACK the target injects (peer ISN
 * 0x10000000, MSS 1460, window 65535), after which the engine sends 64
 * bytes the peer has not acknowledged. While an input runs, after each
 * frame: pending connections are accepted (at most 8 kept), TCP data read
 * is echoed back, and a read EOF is answered with shutdown(SHUT_WR).
 *
 * Input: frames, each  kind (1 byte) | length (2, big endian) | bytes.
 * kind bits 0-1: what the bytes are:
 *   0 a whole Ethernet frame, delivered as it is (bits 2-6 ignored)
 *   1 an IPv4 packet, 2 an IPv6 packet, 3 an ARP message: the target adds
 *     the Ethernet header (source the peer's MAC, destination by bits 5-6)
 * bit 2: fix lengths: IPv4 total length, IPv6 payload length, UDP length
 * bit 3: fix checksums: IPv4 header, and TCP, UDP, ICMP, IGMP, ICMPv6 of
 *        a packet that is not a fragment (IPv6: after any hop-by-hop,
 *        routing or destination options headers)
 * bit 4: TCP sequence numbers relative to the connection the ports name
 *        (any state but LISTEN, e.g. 40000 <- 5000 above, or one a SYN
 *        just opened): seq += its rcv_nxt, ack += its snd_nxt
 * bits 5-6: destination MAC: 0 the netif's, 1 broadcast, 2 the multicast
 *        MAC of the destination IP, 3 another unicast MAC
 * bit 7: after the frame, run each lwIP timer once (zs_fuzzif_tick:
 *        retransmissions, reassembly and cache timeouts, IGMP/MLD reports)
 *
 * What must hold: no crash, no sanitizer report; every frame the engine
 * sends is well formed (our source MAC; ARP 28 bytes; IPv4 version, header
 * length, checksum and total length matching the frame; IPv6 payload
 * length matching the frame); closing a connection we have not shut down
 * (SO_LINGER {1, 0} is set on all of them) sends no FIN; and after every
 * input, once its sockets are closed and zs_fuzzif_reset() has dropped
 * what frames can leave behind (half-open connections, ARP and neighbour
 * caches and their queues, reassemblies), the engine is back at its idle
 * figures: sockets, fds, transmit and receive buffers, lwIP's PBUF_POOL
 * buffers, TCP and UDP PCBs and heap bytes, all exactly as after start-up
 * (10 s to get there, else it is a leak). The per-input connection is the first health check
 * (the handshake must complete every time); every 64 inputs a datagram
 * over loopback and one injected from the peer must arrive, and the echo
 * of the latter must go out.
 */
#include <zsock/engine.h>
#include <zsock/socket.h>

#include "engine/netif/fuzzif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"

#define MAX_FRAMES  64
#define MAX_CONNS   8
#define CHECK_EVERY 64

#define T_RAW   0
#define T_IP4   1
#define T_IP6   2
#define T_ARP   3
#define K_FIXLEN 0x04
#define K_FIXSUM 0x08
#define K_REL    0x10
#define K_TICK   0x80

#define LISTEN_PORT 80
#define UDP_PORT    7
#define CONN_LPORT  40000
#define CONN_RPORT  5000
#define PEER_ISN    0x10000000u

static const uint8_t our_mac[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t other_mac[6] = { 2, 0, 0, 0, 0, 0x99 };
static const uint8_t our4[4] = { 10, 0, 0, 2 }, peer4[4] = { 10, 0, 0, 1 };
static const uint8_t our6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t peer6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t peer_ll[16] = { 0xfe, 0x80, [15] = 1 };

static int l4fd, l6fd, u4fd, u6fd, lo_a, lo_b;
static struct sockaddr_in lo_b_addr;
static struct zsock_engine_stats idle;
static uint64_t inputs;
static _Atomic uint64_t tx_frames;

/* ---- checksums and headers ---------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += be16(p + i);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* The checksum field at off of the upper-layer message l4 (n bytes),
 * over the pseudo header sum ph (0: none, ICMP and IGMP). */
static void l4_sum(uint8_t *l4, size_t n, size_t off, uint32_t ph, bool udp)
{
	uint16_t c;

	if (n < off + 2)
		return;
	put16(l4 + off, 0);
	c = fold(sum(l4, n, ph));
	put16(l4 + off, udp && c == 0 ? 0xffff : c);
}

/* TCP seq/ack relative to the connection of its ports (K_REL). */
static void tcp_rel(uint8_t *tcp, size_t n)
{
	uint32_t rcv, snd;

	if (n < 12 || zs_fuzzif_tcp_seq(be16(tcp + 2), be16(tcp), &rcv, &snd) != 0)
		return;
	put32(tcp + 4, be32(tcp + 4) + rcv);
	put32(tcp + 8, be32(tcp + 8) + snd);
}

static void l4_fix(uint8_t proto, uint8_t *l4, size_t n, uint8_t kind, uint32_t ph)
{
	if (proto == 17 && (kind & K_FIXLEN) && n >= 8 && n <= 0xffff)
		put16(l4 + 4, (uint16_t)n);
	if (proto == 6 && (kind & K_REL))
		tcp_rel(l4, n);
	if (!(kind & K_FIXSUM))
		return;
	switch (proto) {
	case 6: l4_sum(l4, n, 16, ph, false); break;
	case 17: l4_sum(l4, n, 6, ph, true); break;
	case 1: case 2: l4_sum(l4, n, 2, 0, false); break;
	case 58: l4_sum(l4, n, 2, ph, false); break;
	default: break;
	}
}

static void fix_ip4(uint8_t *ip, size_t n, uint8_t kind)
{
	size_t ihl, tot;
	uint32_t ph;

	if (n < 20)
		return;
	if ((kind & K_FIXLEN) && n <= 0xffff)
		put16(ip + 2, (uint16_t)n);
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = be16(ip + 2) < n ? be16(ip + 2) : n;
	if (ihl >= 20 && ihl <= tot && (be16(ip + 6) & 0x3fff) == 0) {
		ph = sum(ip + 12, 8, 0) + ip[9] + (uint32_t)(tot - ihl);
		l4_fix(ip[9], ip + ihl, tot - ihl, kind, ph);
	}
	if ((kind & K_FIXSUM) && ihl >= 20 && ihl <= n) {
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum(ip, ihl, 0)));
	}
}

static void fix_ip6(uint8_t *ip, size_t n, uint8_t kind)
{
	size_t off = 40, end;
	uint8_t nh;
	bool frag = false;

	if (n < 40)
		return;
	if ((kind & K_FIXLEN) && n - 40 <= 0xffff)
		put16(ip + 4, (uint16_t)(n - 40));
	end = 40 + (be16(ip + 4) < n - 40 ? be16(ip + 4) : n - 40);
	nh = ip[6];
	while (off < end) {
		if (nh == 0 || nh == 43 || nh == 60) {
			if (off + 2 > end)
				return;
			nh = ip[off];
			off += ((size_t)ip[off + 1] + 1) * 8;
		} else if (nh == 44) {
			if (off + 8 > end)
				return;
			frag = frag || (be16(ip + off + 2) & 0xfff9) != 0;
			nh = ip[off];
			off += 8;
		} else {
			break;
		}
	}
	if (off > end || frag)
		return;
	l4_fix(nh, ip + off, end - off, kind,
	       sum(ip + 8, 32, 0) + (uint32_t)(end - off) + nh);
}

/* ---- frames out: what the engine sends must be well formed -------------- */

/* While a connection is closed with SO_LINGER {1, 0}: its ports (local
 * << 16 | remote; 0 none), and whether a FIN went out for it. */
static _Atomic uint32_t watch_ports;
static _Atomic bool fin_seen;

/* A TCP segment tcp (n bytes) going out: a FIN for the watched ports? */
static void watch_tcp(const uint8_t *tcp, size_t n)
{
	uint32_t w = atomic_load(&watch_ports);

	if (w != 0 && n >= 14 && (tcp[13] & 0x01) &&
	    ((uint32_t)be16(tcp) << 16 | be16(tcp + 2)) == w)
		atomic_store(&fin_seen, true);
}

static void on_tx(const uint8_t *f, size_t n, void *arg)
{
	(void)arg;
	atomic_fetch_add(&tx_frames, 1);
	FZ_CHECK(n >= 14 && memcmp(f + 6, our_mac, 6) == 0, "frame out: %zu bytes, not from us", n);
	switch (be16(f + 12)) {
	case 0x0806:
		FZ_CHECK(n == 14 + 28, "ARP out: %zu bytes", n);
		break;
	case 0x0800:
		FZ_CHECK(n >= 14 + 20 && f[14] >> 4 == 4 && (f[14] & 15) >= 5 &&
			 be16(f + 16) == n - 14 && fold(sum(f + 14, (size_t)(f[14] & 15) * 4, 0)) == 0,
			 "IPv4 out: %zu bytes, header %02x, total length %u", n, f[14], be16(f + 16));
		if (f[14 + 9] == 6 && (be16(f + 14 + 6) & 0x3fff) == 0)
			watch_tcp(f + 14 + (f[14] & 15) * 4, n - 14 - (size_t)(f[14] & 15) * 4);
		break;
	case 0x86dd:
		FZ_CHECK(n >= 14 + 40 && f[14] >> 4 == 6 && be16(f + 18) == n - 14 - 40,
			 "IPv6 out: %zu bytes, payload length %u", n, be16(f + 18));
		if (f[14 + 6] == 6)
			watch_tcp(f + 14 + 40, n - 14 - 40);
		break;
	default:
		FZ_CHECK(false, "frame out: ethertype %04x", be16(f + 12));
	}
}

/* ---- frames in ---------------------------------------------------------- */

static uint8_t frame[14 + 0xffff];

static void inject(uint8_t kind, const uint8_t *b, size_t n)
{
	uint8_t *p = frame + 14;
	int rc;

	if ((kind & 3) == T_RAW) {
		memcpy(frame, b, n);
		rc = zs_fuzzif_input(frame, n);
	} else {
		static const uint16_t type[4] = { 0, 0x0800, 0x86dd, 0x0806 };

		if (n > ZS_FUZZIF_FRAME_MAX - 14)
			n = ZS_FUZZIF_FRAME_MAX - 14;
		if (n > 0)
			memcpy(p, b, n);
		if ((kind & 3) == T_IP4)
			fix_ip4(p, n, kind);
		else if ((kind & 3) == T_IP6)
			fix_ip6(p, n, kind);
		switch ((kind >> 5) & 3) {
		case 0: memcpy(frame, our_mac, 6); break;
		case 1: memset(frame, 0xff, 6); break;
		case 2:
			if ((kind & 3) == T_IP4 && n >= 20) {
				const uint8_t m[6] = { 1, 0, 0x5e, p[17] & 0x7f, p[18], p[19] };

				memcpy(frame, m, 6);
			} else if ((kind & 3) == T_IP6 && n >= 40) {
				const uint8_t m[6] = { 0x33, 0x33, p[36], p[37], p[38], p[39] };

				memcpy(frame, m, 6);
			} else {
				memset(frame, 0xff, 6);
			}
			break;
		default: memcpy(frame, other_mac, 6); break;
		}
		memcpy(frame + 6, peer_mac, 6);
		put16(frame + 12, type[kind & 3]);
		rc = zs_fuzzif_input(frame, n + 14);
	}
	/* -ENOMEM: lwIP's receive pool is empty, which frames may cause
	 * (queued fragments, out-of-order segments): a driver drops then too */
	FZ_CHECK(rc == 0 || rc == -ENOMEM, "zs_fuzzif_input: %d", rc);
	if (kind & K_TICK)
		zs_fuzzif_tick();
}

/* ---- the sockets -------------------------------------------------------- */

struct conn {
	int fd;
	bool eof;        /* read EOF, answered with shutdown(SHUT_WR) */
	uint32_t ports;  /* local << 16 | remote */
};

static struct conn conns[MAX_CONNS + 1]; /* [0]: the connection made per input */
static int nconns;

static void linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	FZ_CHECK(zsock_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0,
		 "SO_LINGER: errno %d", errno);
}

/*
 * Close c (SO_LINGER {1, 0} is set): a RST, never a FIN, unless we shut
 * the sending side down before. (The reactor may run the socket's queued
 * work between close() setting the socket's closed flag and close()'s own
 * call: that work used to begin the orderly close.)
 */
static void close_conn(const struct conn *c)
{
	if (!c->eof) {
		atomic_store(&fin_seen, false);
		atomic_store(&watch_ports, c->ports);
	}
	zsock_close(c->fd);
	atomic_store(&watch_ports, 0);
	FZ_CHECK(!atomic_load(&fin_seen), "FIN sent on close with SO_LINGER {1, 0} (ports %u -> %u)",
		 c->ports >> 16, c->ports & 0xffff);
}

static void accept_all(int lfd)
{
	int fd;

	for (;;) {
		struct sockaddr_in6 peer;   /* the port is where sin_port is */
		socklen_t pl = sizeof(peer);

		fd = zsock_accept(lfd, (struct sockaddr *)&peer, &pl);
		if (fd < 0)
			break;
		linger0(fd);
		zsock_fcntl(fd, F_SETFL, O_NONBLOCK);
		if (nconns < MAX_CONNS + 1)
			conns[nconns++] = (struct conn){ .fd = fd,
							 .ports = (uint32_t)LISTEN_PORT << 16 |
								  ntohs(peer.sin6_port) };
		else
			close_conn(&(struct conn){ .fd = fd, .eof = true });
	}
	FZ_CHECK(errno == EAGAIN, "accept: errno %d", errno);
}

static bool from_peer(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)ss)->sin_addr, peer4, 4) == 0;
	if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;

		return memcmp(a, peer6, 16) == 0 || memcmp(a, peer_ll, 16) == 0;
	}
	return false;
}

static uint8_t buf[65536];

/* Read what the UDP socket fd holds; echo what came from the peer. */
static void drain_udp(int fd, bool echo)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = zsock_recvfrom(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT,
					   (struct sockaddr *)&ss, &sl);

		if (n < 0) {
			FZ_CHECK(errno == EAGAIN, "UDP recv: errno %d", errno);
			return;
		}
		if (echo && from_peer(&ss))
			zsock_sendto(fd, buf, (size_t)n, ZSOCK_MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
	}
}

static void service(void)
{
	int i;

	accept_all(l4fd);
	accept_all(l6fd);
	for (i = 0; i < nconns; i++) {
		ssize_t n = zsock_recv(conns[i].fd, buf, 4096, ZSOCK_MSG_DONTWAIT);

		if (n > 0) {
			zsock_send(conns[i].fd, buf, (size_t)n, ZSOCK_MSG_DONTWAIT);
		} else if (n == 0 && !conns[i].eof) {
			conns[i].eof = true;
			zsock_shutdown(conns[i].fd, ZSOCK_SHUT_WR);
		}
	}
	drain_udp(u4fd, true);
	drain_udp(u6fd, true);
}

/* ---- per input: the connection, the reset, the idle check --------------- */

/* A TCP segment from the peer (port 5000) to 10.0.0.2:40000, checksummed. */
static void peer_tcp4(uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *opt, size_t olen)
{
	uint8_t ip[20 + 20 + 8] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6 };
	uint8_t *t = ip + 20;
	size_t n = 20 + 20 + olen;

	memcpy(ip + 12, peer4, 4);
	memcpy(ip + 16, our4, 4);
	put16(t, CONN_RPORT);
	put16(t + 2, CONN_LPORT);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((20 + olen) / 4) << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	memcpy(t + 20, opt, olen);
	inject(T_IP4 | K_FIXLEN | K_FIXSUM, ip, n);
}

static void open_conn(void)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
					 2, 0, 0, 0, 0, 2, 10, 0, 0, 2 };
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(CONN_LPORT) };
	struct zsock_pollfd pf;
	uint32_t rcv, snd;
	int one = 1, fd, err = 0;
	socklen_t el = sizeof(err);

	inject(T_ARP | (1 << 5), arp, sizeof(arp));
	fd = zsock_socket(AF_INET, SOCK_STREAM, 0);
	FZ_CHECK(fd >= 0, "socket: errno %d", errno);
	linger0(fd);
	zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	zsock_fcntl(fd, F_SETFL, O_NONBLOCK);
	memcpy(&a.sin_addr, our4, 4);
	FZ_CHECK(zsock_bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: errno %d", errno);
	a.sin_port = htons(CONN_RPORT);
	memcpy(&a.sin_addr, peer4, 4);
	FZ_CHECK(zsock_connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1 && errno == EINPROGRESS,
		 "connect: errno %d", errno);
	FZ_CHECK(zs_fuzzif_tcp_seq(CONN_LPORT, CONN_RPORT, &rcv, &snd) == 0, "no SYN_SENT PCB");
	peer_tcp4(0x12, PEER_ISN, snd, mss, sizeof(mss));
	pf = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLOUT };
	FZ_CHECK(zsock_poll(&pf, 1, 5000) == 1 && pf.revents == ZSOCK_POLLOUT &&
		 zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0,
		 "the handshake did not complete: revents %x, SO_ERROR %d", pf.revents, err);
	memset(buf, 'z', 64);
	FZ_CHECK(zsock_send(fd, buf, 64, 0) == 64, "send: errno %d", errno);
	/* the reactor sends it on its own time: wait, so that the first frame
	 * of every input meets the same snd_nxt */
	for (int i = 0;; i++) {
		uint32_t now;

		FZ_CHECK(zs_fuzzif_tcp_seq(CONN_LPORT, CONN_RPORT, &rcv, &now) == 0, "no PCB");
		if (now == snd + 64)
			break;
		FZ_CHECK(i < 100000, "the 64 bytes were never sent: snd_nxt %u, ISN + 1 %u", now, snd);
		sched_yield();
	}
	conns[0] = (struct conn){ .fd = fd, .ports = (uint32_t)CONN_LPORT << 16 | CONN_RPORT };
	nconns = 1;
}

static bool idle_now(const struct zsock_engine_stats *st)
{
	return st->sockets_in_use == idle.sockets_in_use && st->fds_in_use == idle.fds_in_use &&
	       st->tx_bufs_in_use == idle.tx_bufs_in_use && st->rx_bufs_in_use == idle.rx_bufs_in_use &&
	       st->lwip_pbuf_in_use == idle.lwip_pbuf_in_use &&
	       st->lwip_tcp_pcbs == idle.lwip_tcp_pcbs && st->lwip_udp_pcbs == idle.lwip_udp_pcbs &&
	       st->lwip_mem_used == idle.lwip_mem_used;
}

static void wait_idle(void)
{
	struct zsock_engine_stats st;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0;; i++) {
		/* packets still on the loop queue (the engine talking to its own
		 * address) may leave something behind when they land: reset
		 * again until nothing moves */
		drain_udp(u4fd, false);
		drain_udp(u6fd, false);
		zs_fuzzif_reset();
		FZ_CHECK(zsock_engine_stats(&st) == 0, "stats: errno %d", errno);
		if (idle_now(&st))
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		FZ_CHECK(t.tv_sec - t0.tv_sec < 10,
			 "not idle after 10 s: sockets %u/%u fds %u/%u tx %u/%u rx %u/%u pbufs %u/%u "
			 "tcp %u/%u udp %u/%u heap %u/%u", st.sockets_in_use, idle.sockets_in_use,
			 st.fds_in_use, idle.fds_in_use, st.tx_bufs_in_use, idle.tx_bufs_in_use,
			 st.rx_bufs_in_use, idle.rx_bufs_in_use, st.lwip_pbuf_in_use,
			 idle.lwip_pbuf_in_use, st.lwip_tcp_pcbs, idle.lwip_tcp_pcbs,
			 st.lwip_udp_pcbs, idle.lwip_udp_pcbs, st.lwip_mem_used, idle.lwip_mem_used);
		if (i < 100)
			sched_yield();
		else
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
}

static void close_all(void)
{
	int i;

	for (i = 0; i < nconns; i++)
		close_conn(&conns[i]);
	nconns = 0;
	accept_all(l4fd);
	accept_all(l6fd);
	for (i = 0; i < nconns; i++)
		close_conn(&conns[i]);
	nconns = 0;
}

/* Every CHECK_EVERY inputs: loopback works, and the netif still delivers. */
static void health(void)
{
	static const char msg[] = "health";
	struct zsock_pollfd pf = { .fd = lo_b, .events = ZSOCK_POLLIN };
	uint8_t ip[20 + 8 + sizeof(msg)] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17 };
	uint64_t out0 = atomic_load(&tx_frames);
	char got[16];

	FZ_CHECK(zsock_sendto(lo_a, msg, sizeof(msg), 0, (struct sockaddr *)&lo_b_addr,
			      sizeof(lo_b_addr)) == sizeof(msg), "loopback send: errno %d", errno);
	FZ_CHECK(zsock_poll(&pf, 1, 5000) == 1 &&
		 zsock_recv(lo_b, got, sizeof(got), 0) == sizeof(msg) && memcmp(got, msg, sizeof(msg)) == 0,
		 "loopback datagram lost: errno %d", errno);

	memcpy(ip + 12, peer4, 4);
	memcpy(ip + 16, our4, 4);
	put16(ip + 20, 5353);
	put16(ip + 22, UDP_PORT);
	memcpy(ip + 28, msg, sizeof(msg));
	inject(T_IP4 | K_FIXLEN | K_FIXSUM, ip, sizeof(ip));
	pf = (struct zsock_pollfd){ .fd = u4fd, .events = ZSOCK_POLLIN };
	FZ_CHECK(zsock_poll(&pf, 1, 5000) == 1, "the injected datagram did not arrive");
	drain_udp(u4fd, true);
	FZ_CHECK(atomic_load(&tx_frames) > out0, "its echo (or the ARP request for it) did not go out");
	wait_idle();
}

static int bound(int family, int type, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = zsock_socket(family, type, 0);

	FZ_CHECK(fd >= 0, "socket: errno %d", errno);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		len = sizeof(*a);
	}
	FZ_CHECK(zsock_bind(fd, (struct sockaddr *)&ss, len) == 0, "bind %u: errno %d", port, errno);
	zsock_fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct zs_fuzzif_cfg cfg = { .ip4_prefix = 24 };
	struct ip_mreqn mr = { .imr_multiaddr.s_addr = htonl(0xef010203) };
	socklen_t len = sizeof(lo_b_addr);

	(void)argc;
	(void)argv;
	memcpy(cfg.mac, our_mac, 6);
	memcpy(cfg.ip4, our4, 4);
	memcpy(cfg.gw4, peer4, 4);
	memcpy(cfg.ip6, our6, 16);
	zs_fuzzif_set_tx(on_tx, NULL);
	mr.imr_ifindex = zs_fuzzif_up(&cfg);
	FZ_CHECK(mr.imr_ifindex > 0, "zs_fuzzif_up: %d", mr.imr_ifindex);

	l4fd = bound(AF_INET, SOCK_STREAM, LISTEN_PORT);
	l6fd = bound(AF_INET6, SOCK_STREAM, LISTEN_PORT);
	FZ_CHECK(zsock_listen(l4fd, 4) == 0 && zsock_listen(l6fd, 4) == 0, "listen: errno %d", errno);
	u4fd = bound(AF_INET, SOCK_DGRAM, UDP_PORT);
	u6fd = bound(AF_INET6, SOCK_DGRAM, UDP_PORT);
	FZ_CHECK(zsock_setsockopt(u4fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0,
		 "IP_ADD_MEMBERSHIP: errno %d", errno);

	lo_a = zsock_socket(AF_INET, SOCK_DGRAM, 0);
	lo_b = zsock_socket(AF_INET, SOCK_DGRAM, 0);
	lo_b_addr = (struct sockaddr_in){ .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	FZ_CHECK(lo_a >= 0 && lo_b >= 0 &&
		 zsock_bind(lo_b, (struct sockaddr *)&lo_b_addr, sizeof(lo_b_addr)) == 0 &&
		 zsock_getsockname(lo_b, (struct sockaddr *)&lo_b_addr, &len) == 0,
		 "loopback sockets: errno %d", errno);

	/* the figures every input must come back to: after one connection
	 * made and reset, so that whatever lwIP allocates once is counted */
	open_conn();
	close_all();
	zs_fuzzif_reset();
	nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	FZ_CHECK(zsock_engine_stats(&idle) == 0, "stats: errno %d", errno);
	health();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	int i;

	open_conn();
	for (i = 0; i < MAX_FRAMES && in.n > 0; i++) {
		uint8_t kind = fz_u8(&in);
		size_t len = fz_u16(&in);

		if (len > in.n)
			len = in.n;
		inject(kind, in.p, len);
		in.p += len;
		in.n -= len;
		service();
	}
	close_all();
	wait_idle();
	if (++inputs % CHECK_EVERY == 0)
		health();
	return 0;
}
