/*
 * The engine against the Linux TCP/IP stack over a TAP device, in a
 * network namespace each test makes and removes (see netns.h):
 *
 *   tcp4, tcp6   bulk streams both ways, checked byte by byte and by CRC
 *   udp4, udp6   datagrams up to the MTU and fragmented ones, both ways
 *   icmp         Linux pings the engine (v4, v6, fragmented)
 *   pcap         ZSOCK_PCAP writes a capture tshark reads
 *
 * The loss and reordering runs are in test_tap_loss.c.
 */
#define _GNU_SOURCE
#include "bulk.h"
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/socket.h>

#define BULK_MIB 16
#define BULK_DEADLINE_MS 100000

/* ---- TCP ----------------------------------------------------------------------- */

static void bulk(int family, bool zsock_listens, bool z_tx, bool l_tx, bool blocking,
		 const char *label)
{
	struct zi_bulk b = {
		.family = family,
		.zsock_listens = zsock_listens,
		.zsock_sends = z_tx ? zi_bulk_bytes(BULK_MIB) : 0,
		.linux_sends = l_tx ? zi_bulk_bytes(BULK_MIB) : 0,
		.zsock_blocking = blocking,
		.deadline_ms = BULK_DEADLINE_MS,
		.label = label,
	};

	zi_up();
	zi_bulk_run(&b);
}

ZI_TEST(tcp4, linux_client_to_zsock_server, .timeout = 150)
{
	bulk(AF_INET, true, false, true, true, "tcp4 Linux->zsock (blocking)");
}

ZI_TEST(tcp4, zsock_client_to_linux_server, .timeout = 150)
{
	bulk(AF_INET, false, true, false, true, "tcp4 zsock->Linux (blocking)");
}

ZI_TEST(tcp4, both_ways_at_once_polled, .timeout = 150)
{
	bulk(AF_INET, false, true, true, false, "tcp4 both ways (zsock_poll)");
}

ZI_TEST(tcp4, both_ways_at_once_blocking, .timeout = 150)
{
	bulk(AF_INET, true, true, true, true, "tcp4 both ways (blocking, 2 threads)");
}

ZI_TEST(tcp6, linux_client_to_zsock_server, .timeout = 150)
{
	bulk(AF_INET6, true, false, true, false, "tcp6 Linux->zsock (zsock_poll)");
}

ZI_TEST(tcp6, zsock_client_to_linux_server, .timeout = 150)
{
	bulk(AF_INET6, false, true, false, true, "tcp6 zsock->Linux (blocking)");
}

/* ---- UDP ----------------------------------------------------------------------- */

#define UDP_ZPORT 6001
#define UDP_LPORT 6002

/* Each list: tiny, the largest unfragmented (MTU 1500), the smallest
 * fragmented, and large ones up to the limit: 65507 over IPv4; over IPv6
 * 65487, the most lwIP can send (its pbuf length is 16 bits and must hold
 * the 40-byte IPv6 header too); 65527 has a test of its own below. */
static const size_t udp4_sizes[] = { 1, 64, 512, 1000, 1472, 1473, 8000, 65507 };
static const size_t udp6_sizes[] = { 1, 64, 512, 1000, 1452, 1453, 8000, 65487 };

struct udp_ends {
	int family;
	int z, l;                        /* zsock and Linux sockets */
	struct sockaddr_storage zaddr, laddr;
	socklen_t zlen, llen;
};

static void udp_open(struct udp_ends *u, int family)
{
	struct timeval tv = { .tv_sec = 3 };

	u->family = family;
	u->zlen = zi_addr(family == AF_INET ? ZI_ENGINE_IP4 : ZI_ENGINE_IP6, UDP_ZPORT, &u->zaddr);
	u->llen = zi_addr(family == AF_INET ? ZI_LINUX_IP4 : ZI_LINUX_IP6, UDP_LPORT, &u->laddr);
	u->z = zt_socket(family, SOCK_DGRAM);
	cr_assert_eq(zsock_bind(u->z, (struct sockaddr *)&u->zaddr, u->zlen), 0,
		     "zsock bind: %s", strerror(errno));
	cr_assert_eq(zsock_setsockopt(u->z, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0,
		     "SO_RCVTIMEO: %s", strerror(errno));
	u->l = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(u->l, 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(u->l, (struct sockaddr *)&u->laddr, u->llen), 0, "bind: %s",
		     strerror(errno));
	cr_assert_eq(setsockopt(u->l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0,
		     "SO_RCVTIMEO: %s", strerror(errno));
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* One datagram Linux -> zsock, checked on arrival. */
static void udp_to_zsock(struct udp_ends *u, size_t size, uint64_t seed, uint8_t *tx, uint8_t *rx)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	zt_pattern(seed, 0, tx, size);
	n = sendto(u->l, tx, size, 0, (struct sockaddr *)&u->zaddr, u->zlen);
	cr_assert_eq(n, (ssize_t)size, "Linux sendto(%zu): %zd (%s)", size, n, strerror(errno));
	n = zsock_recvfrom(u->z, rx, 65536, 0, (struct sockaddr *)&from, &flen);
	cr_assert_eq(n, (ssize_t)size, "zsock got %zd bytes (%s) for a %zu-byte datagram", n,
		     n < 0 ? strerror(errno) : "-", size);
	cr_assert_eq(zt_pattern_check(seed, 0, rx, size), size, "zsock: %zu-byte datagram corrupt",
		     size);
	cr_assert(same_addr(&from, &u->laddr), "zsock: %zu-byte datagram from a wrong address",
		  size);
}

/* One datagram zsock -> Linux, checked on arrival. */
static void udp_to_linux(struct udp_ends *u, size_t size, uint64_t seed, uint8_t *tx, uint8_t *rx)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	zt_pattern(seed, 0, tx, size);
	n = zsock_sendto(u->z, tx, size, 0, (struct sockaddr *)&u->laddr, u->llen);
	cr_assert_eq(n, (ssize_t)size, "zsock sendto(%zu): %zd (%s)", size, n, strerror(errno));
	n = recvfrom(u->l, rx, 65536, 0, (struct sockaddr *)&from, &flen);
	cr_assert_eq(n, (ssize_t)size, "Linux got %zd bytes (%s) for a %zu-byte datagram", n,
		     n < 0 ? strerror(errno) : "-", size);
	cr_assert_eq(zt_pattern_check(seed, 0, rx, size), size, "Linux: %zu-byte datagram corrupt",
		     size);
	cr_assert(same_addr(&from, &u->zaddr), "Linux: %zu-byte datagram from a wrong address",
		  size);
}

static void udp_both_ways(int family, const size_t *sizes, size_t count)
{
	static uint8_t tx[65536], rx[65536];
	struct udp_ends u;

	zi_up();
	udp_open(&u, family);
	for (size_t i = 0; i < count; i++) {
		udp_to_zsock(&u, sizes[i], 100 + i, tx, rx);
		udp_to_linux(&u, sizes[i], 200 + i, tx, rx);
	}
	zt_close(u.z);
	close(u.l);
}

ZI_TEST(udp4, datagrams_both_ways, .timeout = 60)
{
	udp_both_ways(AF_INET, udp4_sizes, sizeof(udp4_sizes) / sizeof(udp4_sizes[0]));
}

ZI_TEST(udp6, datagrams_both_ways, .timeout = 60)
{
	udp_both_ways(AF_INET6, udp6_sizes, sizeof(udp6_sizes) / sizeof(udp6_sizes[0]));
}

/* The IPv6 payload length allows 65527 bytes of UDP data. Linux sends
 * such a datagram and the engine must take it; sending one, the engine
 * either does (as Linux) or refuses with EMSGSIZE, the documented error for
 * a datagram too long, never another errno. */
ZI_TEST(udp6, largest_datagram, .timeout = 60)
{
	static uint8_t tx[65536], rx[65536];
	struct udp_ends u;
	ssize_t n;

	zi_up();
	udp_open(&u, AF_INET6);
	udp_to_zsock(&u, 65527, 400, tx, rx);
	n = zsock_sendto(u.z, tx, 65527, 0, (struct sockaddr *)&u.laddr, u.llen);
	if (n < 0) {
		cr_expect_eq(errno, EMSGSIZE, "zsock sendto(65527) over IPv6: %s, not EMSGSIZE",
			     strerror(errno));
	} else {
		cr_expect_eq(n, 65527, "zsock sendto(65527) returned %zd", n);
		n = recvfrom(u.l, rx, sizeof(rx), 0, NULL, NULL);
		cr_expect_eq(n, 65527, "Linux got %zd bytes of a 65527-byte datagram", n);
	}
	zt_close(u.z);
	close(u.l);
}

/* The engine speaks first: the datagram leaves while the Linux link-layer
 * address is still unknown, so it waits in the ARP / neighbour queue. A
 * fragmented one waits there as several frames. */
static void udp_engine_first(int family, size_t size)
{
	static uint8_t tx[65536], rx[65536];
	struct udp_ends u;

	zi_up();
	udp_open(&u, family);
	udp_to_linux(&u, size, 300, tx, rx);
	zt_close(u.z);
	close(u.l);
}

ZI_TEST(udp4, engine_first_fragmented, .timeout = 60)
{
	udp_engine_first(AF_INET, 8000);
}

ZI_TEST(udp6, engine_first_fragmented, .timeout = 60)
{
	udp_engine_first(AF_INET6, 8000);
}

/* ---- ICMP ---------------------------------------------------------------------- */

ZI_TEST(icmp, linux_pings_engine_v4, .timeout = 60)
{
	zi_up();
	zi_sh_ok("ping -c1 -W2 " ZI_ENGINE_IP4);
	zi_sh_ok("ping -c3 -i0.2 -W2 " ZI_ENGINE_IP4);
}

ZI_TEST(icmp, linux_pings_engine_v6, .timeout = 60)
{
	zi_up();
	zi_sh_ok("ping -6 -c1 -W2 " ZI_ENGINE_IP6);
	zi_sh_ok("ping -6 -c3 -i0.2 -W2 " ZI_ENGINE_IP6);
}

/* An echo request in several fragments needs reassembly, and the reply as
 * long as the request needs fragmentation. */
ZI_TEST(icmp, linux_pings_engine_fragmented, .timeout = 60)
{
	zi_up();
	zi_sh_ok("ping -c1 -W2 -s 4000 " ZI_ENGINE_IP4);
	zi_sh_ok("ping -6 -c1 -W2 -s 4000 " ZI_ENGINE_IP6);
}

/* ---- pcap ---------------------------------------------------------------------- */

#define PCAP_PROBE "zsock-pcap-probe-7f3a"

static bool have_tshark(void)
{
	return zi_sh("command -v tshark >/dev/null") == 0;
}

/* tshark's output lines for a display filter and fields; asserts it
 * could read the file. Caller frees. */
static char *tshark(const char *file, const char *filter, const char *fields)
{
	int st;
	char *out = zi_sh_output(&st, "tshark -n -r '%s' -Y '%s' -T fields %s 2>/dev/null",
				 file, filter, fields);

	cr_assert_not_null(out, "tshark did not run");
	cr_assert_eq(st, 0, "tshark -r %s failed (status %d): the capture does not parse",
		     file, st);
	return out;
}

ZI_TEST(pcap, capture_of_a_tcp_exchange, .timeout = 60)
{
	char path[64], buf[64], *out;
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { .tv_sec = 5 };
	int zl, zfd, lfd;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/zsock-interop-%d.pcap", (int)getpid());
	unlink(path);
	if (!have_tshark())
		zi_skip("tshark is not installed (apt-get install tshark)");
	/* read once, when the engine starts in zi_up() */
	cr_assert_eq(setenv("ZSOCK_PCAP", path, 1), 0);
	zi_up();

	zl = zt_socket(AF_INET, SOCK_STREAM);
	len = zi_addr(ZI_ENGINE_IP4, 7001, &ss);
	cr_assert_eq(zsock_bind(zl, (struct sockaddr *)&ss, len), 0, "bind: %s", strerror(errno));
	cr_assert_eq(zsock_listen(zl, 1), 0, "listen: %s", strerror(errno));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(lfd, (struct sockaddr *)&ss, len), 0, "connect: %s", strerror(errno));
	zfd = zsock_accept(zl, NULL, NULL);
	cr_assert_geq(zfd, 0, "accept: %s", strerror(errno));
	zt_close(zl);
	cr_assert_eq(send(lfd, PCAP_PROBE "-up", strlen(PCAP_PROBE "-up"), 0),
		     (ssize_t)strlen(PCAP_PROBE "-up"));
	zt_recv_all(zfd, buf, strlen(PCAP_PROBE "-up"));
	zt_send_all(zfd, PCAP_PROBE "-down", strlen(PCAP_PROBE "-down"));
	n = recv(lfd, buf, sizeof(buf), MSG_WAITALL);
	cr_assert_eq(n, (ssize_t)strlen(PCAP_PROBE "-down"), "Linux recv: %zd", n);
	zt_close(zfd);
	close(lfd);
	cr_assert(zt_engine_idle(ZT_LEAK_WAIT_MS, NULL), "engine did not settle");

	out = tshark(path, "ip.dst==" ZI_ENGINE_IP4 " && tcp.flags.syn==1 && tcp.flags.ack==0",
		     "-e tcp.dstport");
	cr_assert(strstr(out, "7001") != NULL, "no SYN to " ZI_ENGINE_IP4 ":7001 in %s:\n%s",
		  path, out);
	free(out);
	out = tshark(path, "ip.dst==" ZI_ENGINE_IP4 " && tcp contains \"" PCAP_PROBE "-up\"",
		     "-e ip.src");
	cr_assert(strstr(out, ZI_LINUX_IP4) != NULL, "Linux->engine data not in %s", path);
	free(out);
	out = tshark(path, "ip.src==" ZI_ENGINE_IP4 " && tcp contains \"" PCAP_PROBE "-down\"",
		     "-e ip.dst");
	cr_assert(strstr(out, ZI_LINUX_IP4) != NULL, "engine->Linux data not in %s", path);
	free(out);
	unlink(path);
}
