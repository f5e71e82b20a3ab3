/*
 * The copy counters of <zsock/engine.h>: the BSD path copies each payload
 * byte exactly once per direction. TCP send copies into tx net_bufs, TCP
 * and UDP recv copy out of the receive ring; UDP send hands the caller's
 * buffer to lwIP by reference (engine/sock/udp.c) and copies nothing.
 *
 * Each test runs in its own process with nothing else on the engine, so the
 * counters move only by what the test does.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zt.h"

#if CONFIG_ZSOCK_HOSTED /* a sender thread: bare metal has one context, no threads */
struct sender {
	int fd;
	const uint8_t *buf;
	size_t len, chunk;
	size_t sent;
	int err;
};

static void *sender_main(void *p)
{
	struct sender *s = p;

	while (s->sent < s->len) {
		size_t want = s->len - s->sent;
		ssize_t n;

		if (want > s->chunk)
			want = s->chunk;
		n = zsock_send(s->fd, s->buf + s->sent, want, 0);
		if (n <= 0) {
			s->err = n < 0 ? errno : -1;
			break;
		}
		s->sent += (size_t)n;
	}
	return NULL;
}

static void tcp_copies(int family, size_t total, size_t chunk)
{
	struct zsock_engine_stats before, after;
	uint8_t *out = malloc(total), *in = malloc(total);
	struct sender s;
	pthread_t t;
	int a, b;

	cr_assert_not_null(out);
	cr_assert_not_null(in);
	zt_pattern(total, 0, out, total);
	zt_tcp_pair(family, &a, &b);
	zt_stats(&before);
	s = (struct sender){ .fd = a, .buf = out, .len = total, .chunk = chunk };
	t = zt_spawn(sender_main, &s);
	zt_recv_all(b, in, total);
	cr_assert(zt_join(t, 30000), "sender hangs");
	cr_assert_eq(s.err, 0, "send: errno %d", s.err);
	zt_stats(&after);
	cr_assert_arr_eq(in, out, total);

	cr_assert_eq(after.tx_bytes_copied - before.tx_bytes_copied, total,
		     "TCP send copied %llu bytes for %zu sent",
		     (unsigned long long)(after.tx_bytes_copied - before.tx_bytes_copied), total);
	cr_assert_eq(after.rx_bytes_copied - before.rx_bytes_copied, total,
		     "TCP recv copied %llu bytes for %zu received",
		     (unsigned long long)(after.rx_bytes_copied - before.rx_bytes_copied), total);
	/* and what went through lwIP is the payload, once */
	cr_assert_eq(after.tx_bytes - before.tx_bytes, total, "tx_bytes moved by %llu",
		     (unsigned long long)(after.tx_bytes - before.tx_bytes));
	cr_assert_eq(after.rx_bytes - before.rx_bytes, total, "rx_bytes moved by %llu",
		     (unsigned long long)(after.rx_bytes - before.rx_bytes));
	free(out);
	free(in);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(copies, tcp_one_copy_each_way_ipv4, .timeout = 60)
{
	tcp_copies(AF_INET, 1024 * 1024, 65536);
}

ZT_TEST(copies, tcp_one_copy_each_way_ipv6, .timeout = 60)
{
	tcp_copies(AF_INET6, 1024 * 1024, 65536);
}

ZT_TEST(copies, tcp_one_copy_small_writes, .timeout = 60)
{
	tcp_copies(AF_INET, 100003, 333);
}
#endif

static void udp_copies(int family)
{
	struct zsock_engine_stats before, after;
	static uint8_t out[1400], in[2000];
	size_t total = 0;
	int a, b, i;

	zt_udp_pair(family, &a, &b);
	zt_stats(&before);
	for (i = 1; i <= 200; i++) {
		size_t len = (size_t)(i * 7) % sizeof(out) + 1;
		ssize_t n;

		zt_pattern((uint64_t)i, 0, out, len);
		n = zsock_send(a, out, len, 0);
		cr_assert_eq(n, (ssize_t)len, "send #%d: %zd (errno %d)", i, n, errno);
		n = zsock_recv(b, in, sizeof(in), 0);
		cr_assert_eq(n, (ssize_t)len, "recv #%d: %zd (errno %d)", i, n, errno);
		cr_assert_arr_eq(in, out, len);
		total += len;
	}
	zt_stats(&after);
	cr_assert_eq(after.tx_bytes_copied, before.tx_bytes_copied,
		     "UDP send copied %llu bytes in the engine",
		     (unsigned long long)(after.tx_bytes_copied - before.tx_bytes_copied));
	cr_assert_eq(after.rx_bytes_copied - before.rx_bytes_copied, total,
		     "UDP recv copied %llu bytes for %zu received",
		     (unsigned long long)(after.rx_bytes_copied - before.rx_bytes_copied), total);
	cr_assert_eq(after.tx_bytes - before.tx_bytes, total);
	cr_assert_eq(after.rx_bytes - before.rx_bytes, total);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(copies, udp_send_copies_nothing_ipv4, .timeout = 30)
{
	udp_copies(AF_INET);
}

ZT_TEST(copies, udp_send_copies_nothing_ipv6, .timeout = 30)
{
	udp_copies(AF_INET6);
}

ZT_TEST(copies, udp_truncated_recv_copies_what_it_returns, .timeout = 30)
{
	struct zsock_engine_stats before, after;
	uint8_t out[1000], in[100];
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	zt_pattern(3, 0, out, sizeof(out));
	zt_stats(&before);
	cr_assert_eq(zsock_send(a, out, sizeof(out), 0), (ssize_t)sizeof(out));
	cr_assert_eq(zsock_recv(b, in, sizeof(in), 0), (ssize_t)sizeof(in));
	zt_stats(&after);
	cr_assert_arr_eq(in, out, sizeof(in));
	cr_assert_eq(after.rx_bytes_copied - before.rx_bytes_copied, sizeof(in),
		     "a 100-byte read of a 1000-byte datagram copied %llu",
		     (unsigned long long)(after.rx_bytes_copied - before.rx_bytes_copied));
	zt_close(a);
	zt_close(b);
}
