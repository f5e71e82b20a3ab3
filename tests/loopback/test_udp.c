/*
 * UDP over loopback (CONFORMANCE.md "UDP"): datagram boundaries, truncation
 * and MSG_TRUNC / MSG_PEEK, the connected-socket filter, the largest
 * datagrams (IP fragmentation and reassembly), and the address errors.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zt.h"

#define V4_MAX 65507  /* 65535 - 20 (IPv4 header) - 8 (UDP header) */
/*
 * IPv6 itself allows 65527 (Linux sends it), but lwIP 2.1.3 holds a
 * packet's whole length in 16 bits (pbuf.tot_len), headers included, so
 * the engine stops at 65535 - 40 - 8 and says EMSGSIZE above: a deliberate
 * deviation, documented in engine/sock/udp.c.
 */
#define V6_MAX 65487
#if CONFIG_ZSOCK_HOSTED
#define DGRAM_BUF 65536  /* more than either maximum */
#else
#define DGRAM_BUF 2048   /* 64 KiB of RAM: no largest datagrams, see below */
#endif

/* Send len bytes of stream seed from a to b's address (unconnected a). */
static void send_to(int a, int family, uint16_t port, uint64_t seed, size_t len)
{
	static uint8_t buf[DGRAM_BUF];
	struct sockaddr_storage ss;
	socklen_t sl = zt_loopback(family, port, &ss);
	ssize_t n;

	zt_pattern(seed, 0, buf, len);
	n = zsock_sendto(a, buf, len, 0, (struct sockaddr *)&ss, sl);
	cr_assert_eq(n, (ssize_t)len, "sendto(%zu): %zd (errno %d)", len, n, errno);
}

/* ---- every size --------------------------------------------------------------------- */

static void every_size(int family)
{
	static uint8_t in[2048];
	uint16_t pa, pb;
	int a = zt_udp_bound(family, &pa), b = zt_udp_bound(family, &pb);
	size_t len;

	for (len = 1; len <= 1472; len++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		send_to(a, family, pb, len, len);
		memset(in, 0, len + 1);
		n = zsock_recvfrom(b, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
		cr_assert_eq(n, (ssize_t)len, "datagram of %zu bytes arrived as %zd (errno %d)", len,
			     n, errno);
		cr_assert_eq(zt_pattern_check(len, 0, in, len), len,
			     "datagram of %zu bytes: content differs", len);
		cr_assert(zt_is_loopback(&from, family), "source address is not loopback");
		cr_assert_eq(zt_port_of(&from), pa, "source port %u, sender has %u",
			     zt_port_of(&from), pa);
	}
	zt_close(a);
	zt_close(b);
}

ZT_TEST(udp, every_size_1_to_1472_ipv4, .timeout = 60)
{
	every_size(AF_INET);
}

ZT_TEST(udp, every_size_1_to_1472_ipv6, .timeout = 60)
{
	every_size(AF_INET6);
}

ZT_TEST(udp, zero_length_datagram, .timeout = 30)
{
	uint8_t in[16];
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, in, 0, 0), 0, "send of 0 bytes: errno %d", errno);
	cr_assert_eq(zsock_send(a, "z", 1, 0), 1);
	cr_assert_eq(zsock_recv(b, in, sizeof(in), 0), 0, "the empty datagram: errno %d", errno);
	cr_assert_eq(zsock_recv(b, in, sizeof(in), 0), 1, "the next one: errno %d", errno);
	cr_assert_eq(in[0], 'z');
	zt_close(a);
	zt_close(b);
}

/* ---- one datagram per recv ---------------------------------------------------------------- */

ZT_TEST(udp, one_recv_one_datagram, .timeout = 30)
{
	uint8_t first[100], second[50], in[200];
	ssize_t n;
	int a, b;

	zt_udp_pair(AF_INET6, &a, &b);
	zt_pattern(1, 0, first, sizeof(first));
	zt_pattern(2, 0, second, sizeof(second));
	cr_assert_eq(zsock_send(a, first, sizeof(first), 0), (ssize_t)sizeof(first));
	cr_assert_eq(zsock_send(a, second, sizeof(second), 0), (ssize_t)sizeof(second));

	/* a short buffer: the rest of the first datagram is discarded */
	n = zsock_recv(b, in, 10, 0);
	cr_assert_eq(n, 10, "short read: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(in, first, 10);
	n = zsock_recv(b, in, sizeof(in), 0);
	cr_assert_eq(n, (ssize_t)sizeof(second), "next recv: %zd bytes, want the second datagram",
		     n);
	cr_assert_arr_eq(in, second, sizeof(second));
	/* a large buffer never merges datagrams */
	cr_assert_eq(zsock_send(a, first, sizeof(first), 0), (ssize_t)sizeof(first));
	cr_assert_eq(zsock_send(a, second, sizeof(second), 0), (ssize_t)sizeof(second));
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	zt_sleep_ms(50); /* let the second arrive too */
	n = zsock_recv(b, in, sizeof(in), 0);
	cr_assert_eq(n, (ssize_t)sizeof(first), "recv merged datagrams: %zd", n);
	n = zsock_recv(b, in, sizeof(in), 0);
	cr_assert_eq(n, (ssize_t)sizeof(second));
	zt_close(a);
	zt_close(b);
}

ZT_TEST(udp, msg_trunc_returns_real_length, .timeout = 30)
{
	uint8_t out[100], in[200];
	ssize_t n;
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	zt_pattern(3, 0, out, sizeof(out));
	cr_assert_eq(zsock_send(a, out, sizeof(out), 0), (ssize_t)sizeof(out));
	cr_assert_eq(zsock_send(a, "next", 4, 0), 4);
	memset(in, 0, sizeof(in));
	n = zsock_recv(b, in, 10, ZSOCK_MSG_TRUNC);
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_TRUNC: %zd, want the real length %zu", n,
		     sizeof(out));
	cr_assert_arr_eq(in, out, 10);
	for (int i = 10; i < 20; i++)
		cr_assert_eq(in[i], 0, "MSG_TRUNC wrote beyond the buffer");
	/* the truncated datagram is gone */
	n = zsock_recv(b, in, sizeof(in), 0);
	cr_assert_eq(n, 4, "after MSG_TRUNC: %zd", n);
	cr_assert_eq(memcmp(in, "next", 4), 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(udp, msg_peek_keeps_datagram, .timeout = 30)
{
	uint8_t out[300], in[400], in2[400];
	ssize_t n;
	int a, b;

	zt_udp_pair(AF_INET6, &a, &b);
	zt_pattern(4, 0, out, sizeof(out));
	cr_assert_eq(zsock_send(a, out, sizeof(out), 0), (ssize_t)sizeof(out));
	cr_assert_eq(zsock_send(a, "second", 6, 0), 6);

	n = zsock_recv(b, in, sizeof(in), ZSOCK_MSG_PEEK);
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_PEEK: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(in, out, sizeof(out));
	/* peek with a short buffer and MSG_TRUNC: real length, still queued */
	n = zsock_recv(b, in2, 5, ZSOCK_MSG_PEEK | ZSOCK_MSG_TRUNC);
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_PEEK|MSG_TRUNC: %zd", n);
	cr_assert_arr_eq(in2, out, 5);
	/* a short peek does not discard the rest either */
	n = zsock_recv(b, in2, 5, ZSOCK_MSG_PEEK);
	cr_assert_eq(n, 5);
	n = zsock_recv(b, in2, sizeof(in2), 0);
	cr_assert_eq(n, (ssize_t)sizeof(out), "recv after peeks: %zd", n);
	cr_assert_arr_eq(in2, out, sizeof(out));
	n = zsock_recv(b, in2, sizeof(in2), 0);
	cr_assert_eq(n, 6, "the second datagram: %zd", n);
	zt_close(a);
	zt_close(b);
}

/* ---- connected sockets ------------------------------------------------------------------- */

ZT_TEST(udp, connected_receives_only_from_peer, .timeout = 30)
{
	struct sockaddr_storage from, to;
	socklen_t fl = sizeof(from), tl;
	uint16_t pa, pb, pc;
	int a = zt_udp_bound(AF_INET, &pa);
	int b = zt_udp_bound(AF_INET, &pb);
	int c = zt_udp_bound(AF_INET, &pc);
	char in[16];
	ssize_t n;

	tl = zt_loopback(AF_INET, pb, &to);
	cr_assert_eq(zsock_connect(a, (struct sockaddr *)&to, tl), 0, "connect: errno %d", errno);
	/* a stranger first, then the peer */
	tl = zt_loopback(AF_INET, pa, &to);
	cr_assert_eq(zsock_sendto(c, "stranger", 8, 0, (struct sockaddr *)&to, tl), 8);
	cr_assert_eq(zsock_sendto(b, "peer", 4, 0, (struct sockaddr *)&to, tl), 4);
	n = zsock_recvfrom(a, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
	cr_assert_eq(n, 4, "connected socket got %zd bytes: not the peer's datagram", n);
	cr_assert_eq(memcmp(in, "peer", 4), 0);
	cr_assert_eq(zt_port_of(&from), pb, "from port %u, peer is %u", zt_port_of(&from), pb);
	n = zsock_recv(a, in, sizeof(in), ZSOCK_MSG_DONTWAIT);
	cr_assert_eq(n, -1, "the stranger's datagram was delivered (%zd bytes)", n);
	cr_assert_eq(errno, EAGAIN);
	/* send() goes to the peer */
	cr_assert_eq(zsock_send(a, "hi", 2, 0), 2);
	cr_assert_eq(zsock_recv(b, in, sizeof(in), 0), 2);
	zt_close(a);
	zt_close(b);
	zt_close(c);
}

ZT_TEST(udp, getpeername_connected, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t pa;
	int a, b, u = zt_udp_bound(AF_INET6, &pa);

	cr_assert_eq(zsock_getpeername(u, (struct sockaddr *)&ss, &len), -1);
	cr_assert_eq(errno, ENOTCONN, "unconnected UDP getpeername: errno %d", errno);
	zt_udp_pair(AF_INET6, &a, &b);
	len = sizeof(ss);
	cr_assert_eq(zsock_getpeername(a, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(zt_port_of(&ss), zt_local_port(b));
	cr_assert(zt_is_loopback(&ss, AF_INET6));
	zt_close(u);
	zt_close(a);
	zt_close(b);
}

/* ---- the largest datagrams ---------------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* 64 KiB datagrams and their reassembly: more than the board's RAM */
static void largest(int family, size_t max)
{
	static uint8_t in[DGRAM_BUF];
	uint16_t pa, pb;
	int a = zt_udp_bound(family, &pa), b = zt_udp_bound(family, &pb);
	struct sockaddr_storage ss;
	socklen_t sl = zt_loopback(family, pb, &ss);
	ssize_t n;

	send_to(a, family, pb, 77, max);
	n = zsock_recv(b, in, sizeof(in), 0);
	cr_assert_eq(n, (ssize_t)max, "the %zu-byte datagram arrived as %zd (errno %d)", max, n,
		     errno);
	cr_assert_eq(zt_pattern_check(77, 0, in, max), max, "content differs");
	n = zsock_sendto(a, in, max + 1, 0, (struct sockaddr *)&ss, sl);
	cr_assert_eq(n, -1, "a %zu-byte datagram was sent", max + 1);
	cr_assert_eq(errno, EMSGSIZE, "%zu bytes: errno %d, want EMSGSIZE", max + 1, errno);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(udp, largest_datagram_ipv4, .timeout = 30)
{
	largest(AF_INET, V4_MAX);
}

ZT_TEST(udp, largest_datagram_ipv6, .timeout = 30)
{
	largest(AF_INET6, V6_MAX);
}
#endif

/* ---- address errors ------------------------------------------------------------------------ */

ZT_TEST(udp, send_without_address, .timeout = 30)
{
	int u = zt_socket(AF_INET, SOCK_DGRAM);

	cr_assert_eq(zsock_send(u, "x", 1, 0), -1);
	cr_assert_eq(errno, EDESTADDRREQ, "send on unconnected UDP: errno %d", errno);
	cr_assert_eq(zsock_sendto(u, "x", 1, 0, NULL, 0), -1);
	cr_assert_eq(errno, EDESTADDRREQ, "sendto(NULL) on unconnected UDP: errno %d", errno);
	zt_close(u);
}

ZT_TEST(udp, sendto_binds_implicitly, .timeout = 30)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	uint16_t pb;
	int a = zt_socket(AF_INET6, SOCK_DGRAM), b = zt_udp_bound(AF_INET6, &pb);
	char c;

	send_to(a, AF_INET6, pb, 1, 1);
	cr_assert_neq(zt_local_port(a), 0, "sendto left the socket on port 0");
	cr_assert_eq(zsock_recvfrom(b, &c, 1, 0, (struct sockaddr *)&from, &fl), 1);
	cr_assert_eq(zt_port_of(&from), zt_local_port(a));
	zt_close(a);
	zt_close(b);
}
