/*
 * TCP byte streams over loopback: nothing lost, duplicated or reordered,
 * whatever the write and read sizes, in both directions at once; and the
 * stream recv flags (MSG_WAITALL, MSG_PEEK) and short-write rules of
 * CONFORMANCE.md "TCP".
 *
 * Every byte sent is byte i of a seeded stream (zt_pattern), so a receiver
 * checks each slice where it lands and reports the offset of the first bad
 * byte; the CRC-32 of everything sent is also compared with that of
 * everything received.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zt.h"

#define MiB (1024u * 1024u)
#define RANDOM_SIZE 0         /* in a size schedule: pick 1 .. RANDOM_MAX */
#define RANDOM_MAX 100000
#define BUF_MAX 131072        /* >= every size in the schedules */
/* the WAITALL and PEEK tests keep their data on the stack: 8 KiB on the board */
#if CONFIG_ZSOCK_HOSTED
#define WAITALL_IN 10000
#define PEEK_LEN 3000
#else
#define WAITALL_IN 3000
#define PEEK_LEN 1200
#endif

#if CONFIG_ZSOCK_HOSTED /* the threads and their schedules: bare metal has one context */
static const size_t mixed_writes[] = { 1, 100, 1460, 4096, 65536, RANDOM_SIZE };
static const size_t mixed_reads[] = { 1, 7, 1460, 4096, 65536, RANDOM_SIZE, 100 };

static size_t next_size(const size_t *sched, size_t n, size_t *i, uint64_t *rng)
{
	size_t s = sched[*i % n];

	(*i)++;
	if (s == RANDOM_SIZE)
		s = 1 + (size_t)(zt_rand(rng) % RANDOM_MAX);
	return s;
}

/* ---- a sender and a receiver that run in their own threads ------------------- */

struct sender {
	int fd;
	uint64_t seed;
	size_t total;
	const size_t *sched;
	size_t nsched;
	bool shut_wr;         /* shutdown(SHUT_WR) when done */
	/* results */
	size_t sent;
	uint32_t crc;
	int err;              /* errno of a failed send, or 0 */
	size_t zero_returns;  /* send() == 0 for a non-zero request */
	size_t over_returns;  /* send() > requested */
	int shut_rc;
};

static void *sender_main(void *p)
{
	struct sender *s = p;
	uint8_t *buf = malloc(BUF_MAX);
	uint64_t rng = s->seed | 1;
	size_t i = 0;

	while (buf != NULL && s->sent < s->total) {
		size_t want = next_size(s->sched, s->nsched, &i, &rng);
		ssize_t n;

		if (want > s->total - s->sent)
			want = s->total - s->sent;
		zt_pattern(s->seed, s->sent, buf, want);
		n = zsock_send(s->fd, buf, want, 0);
		if (n < 0) {
			s->err = errno;
			break;
		}
		if (n == 0) {
			s->zero_returns++;
			break;
		}
		if ((size_t)n > want) {
			s->over_returns++;
			break;
		}
		s->crc = zt_crc32(s->crc, buf, (size_t)n);
		s->sent += (size_t)n;
	}
	if (buf == NULL)
		s->err = ENOMEM;
	if (s->shut_wr && s->err == 0)
		s->shut_rc = zsock_shutdown(s->fd, ZSOCK_SHUT_WR) == 0 ? 0 : errno;
	free(buf);
	return NULL;
}

struct receiver {
	int fd;
	uint64_t seed;
	const size_t *sched;
	size_t nsched;
	size_t limit;         /* stop after this many bytes (no EOF wait) or 0 */
	/* results */
	size_t got;
	uint32_t crc;
	int err;
	bool eof;
	bool bad;             /* a byte differs from the stream */
	size_t bad_at;        /* its stream offset */
	size_t over_returns;
};

static void *receiver_main(void *p)
{
	struct receiver *r = p;
	uint8_t *buf = malloc(BUF_MAX);
	uint64_t rng = (r->seed * 3) | 1;
	size_t i = 0;

	while (buf != NULL && (r->limit == 0 || r->got < r->limit)) {
		size_t want = next_size(r->sched, r->nsched, &i, &rng);
		ssize_t n = zsock_recv(r->fd, buf, want, 0);
		size_t at;

		if (n < 0) {
			r->err = errno;
			break;
		}
		if (n == 0) {
			r->eof = true;
			break;
		}
		if ((size_t)n > want) {
			r->over_returns++;
			break;
		}
		at = zt_pattern_check(r->seed, r->got, buf, (size_t)n);
		if (at < (size_t)n) {
			r->bad = true;
			r->bad_at = r->got + at;
			break;
		}
		r->crc = zt_crc32(r->crc, buf, (size_t)n);
		r->got += (size_t)n;
	}
	if (buf == NULL)
		r->err = ENOMEM;
	free(buf);
	return NULL;
}

static void check_sender(const struct sender *s, const char *who)
{
	cr_assert_eq(s->err, 0, "%s: send failed after %zu bytes: errno %d (%s)", who,
		     s->sent, s->err, strerror(s->err));
	cr_assert_eq(s->zero_returns, 0, "%s: send returned 0 for a non-zero request", who);
	cr_assert_eq(s->over_returns, 0, "%s: send returned more than asked", who);
	cr_assert_eq(s->sent, s->total, "%s: sent %zu of %zu", who, s->sent, s->total);
	if (s->shut_wr)
		cr_assert_eq(s->shut_rc, 0, "%s: shutdown(SHUT_WR): errno %d", who, s->shut_rc);
}

static void check_receiver(const struct receiver *r, const struct sender *s, const char *who)
{
	cr_assert_not(r->bad, "%s: stream corrupt at offset %zu", who, r->bad_at);
	cr_assert_eq(r->over_returns, 0, "%s: recv returned more than asked", who);
	cr_assert_eq(r->err, 0, "%s: recv failed after %zu bytes: errno %d (%s)", who,
		     r->got, r->err, strerror(r->err));
	cr_assert_eq(r->got, s->total, "%s: received %zu of %zu bytes", who, r->got, s->total);
	if (s->shut_wr)
		cr_assert(r->eof, "%s: no EOF after the stream", who);
	cr_assert_eq(r->crc, s->crc, "%s: CRC-32 sent %08x, received %08x", who, s->crc, r->crc);
}

/* ---- 16 MiB both ways at once -------------------------------------------------- */

static void bidirectional(int family, size_t total)
{
	int a, b;
	struct sender sa = { 0 }, sb = { 0 };
	struct receiver ra = { 0 }, rb = { 0 };
	pthread_t t[4];
	int i;

	zt_tcp_pair(family, &a, &b);
	sa = (struct sender){ .fd = a, .seed = 0xa11ce, .total = total, .sched = mixed_writes,
			      .nsched = 6, .shut_wr = true };
	sb = (struct sender){ .fd = b, .seed = 0xb0b, .total = total, .sched = mixed_writes,
			      .nsched = 6, .shut_wr = true };
	/* a's receiver reads b's stream and the other way round */
	ra = (struct receiver){ .fd = a, .seed = sb.seed, .sched = mixed_reads, .nsched = 7 };
	rb = (struct receiver){ .fd = b, .seed = sa.seed, .sched = mixed_reads, .nsched = 7 };
	t[0] = zt_spawn(sender_main, &sa);
	t[1] = zt_spawn(sender_main, &sb);
	t[2] = zt_spawn(receiver_main, &ra);
	t[3] = zt_spawn(receiver_main, &rb);
	for (i = 0; i < 4; i++)
		cr_assert(zt_join(t[i], 60000), "thread %d hangs", i);
	check_sender(&sa, "a->b sender");
	check_sender(&sb, "b->a sender");
	check_receiver(&rb, &sa, "a->b receiver");
	check_receiver(&ra, &sb, "b->a receiver");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(tcp_stream, bidirectional_16mib_ipv4, .timeout = 75)
{
	bidirectional(AF_INET, 16 * MiB);
}

ZT_TEST(tcp_stream, bidirectional_16mib_ipv6, .timeout = 75)
{
	bidirectional(AF_INET6, 16 * MiB);
}

/* ---- one write size at a time ----------------------------------------------------- */

static void one_way(int family, size_t write_size, size_t total)
{
	size_t sched[1] = { write_size };
	struct sender s = { 0 };
	struct receiver r = { 0 };
	pthread_t t;
	int a, b;

	zt_tcp_pair(family, &a, &b);
	s = (struct sender){ .fd = a, .seed = 7 + write_size, .total = total, .sched = sched,
			     .nsched = 1, .shut_wr = true };
	r = (struct receiver){ .fd = b, .seed = s.seed, .sched = mixed_reads, .nsched = 7 };
	t = zt_spawn(sender_main, &s);
	receiver_main(&r);
	cr_assert(zt_join(t, 60000), "sender hangs");
	check_sender(&s, "sender");
	check_receiver(&r, &s, "receiver");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(tcp_stream, writes_of_1_byte, .timeout = 60)
{
	one_way(AF_INET, 1, 64 * 1024);
}

ZT_TEST(tcp_stream, writes_of_100_bytes, .timeout = 60)
{
	one_way(AF_INET6, 100, 1 * MiB);
}

ZT_TEST(tcp_stream, writes_of_1460_bytes, .timeout = 60)
{
	one_way(AF_INET, 1460, 4 * MiB);
}

ZT_TEST(tcp_stream, writes_of_4096_bytes, .timeout = 60)
{
	one_way(AF_INET6, 4096, 4 * MiB);
}

ZT_TEST(tcp_stream, writes_of_65536_bytes, .timeout = 60)
{
	one_way(AF_INET, 65536, 4 * MiB);
}

ZT_TEST(tcp_stream, writes_of_random_sizes, .timeout = 60)
{
	one_way(AF_INET6, RANDOM_SIZE, 4 * MiB);
}
#endif

/* ---- MSG_WAITALL ----------------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* a sender thread: bare metal has one context */
ZT_TEST(tcp_stream, waitall_returns_full_length, .timeout = 30)
{
	static const size_t sched[] = { 1000, 1, 3000, 17 };
	const size_t total = 1 * MiB;
	struct sender s;
	uint8_t *buf = malloc(total);
	pthread_t t;
	ssize_t n;
	int a, b;

	cr_assert_not_null(buf);
	zt_tcp_pair(AF_INET, &a, &b);
	s = (struct sender){ .fd = a, .seed = 99, .total = total, .sched = sched, .nsched = 4 };
	t = zt_spawn(sender_main, &s);
	/* 1 MiB is far more than the receive window: it must reopen meanwhile */
	n = zsock_recv(b, buf, total, ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, 20000), "sender hangs");
	check_sender(&s, "sender");
	cr_assert_eq(n, (ssize_t)total, "MSG_WAITALL returned %zd (errno %d) of %zu", n, errno,
		     total);
	cr_assert_eq(zt_pattern_check(99, 0, buf, total), total, "data differs");
	free(buf);
	zt_close(a);
	zt_close(b);
}
#endif

ZT_TEST(tcp_stream, waitall_stops_at_eof, .timeout = 30)
{
	uint8_t out[WAITALL_IN / 2], in[WAITALL_IN];
	ssize_t n;
	int a, b;

	zt_tcp_pair(AF_INET6, &a, &b);
	zt_pattern(5, 0, out, sizeof(out));
	zt_send_all(a, out, sizeof(out));
	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0, "shutdown: errno %d", errno);
	n = zsock_recv(b, in, sizeof(in), ZSOCK_MSG_WAITALL);
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_WAITALL at EOF: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(in, out, sizeof(out));
	n = zsock_recv(b, in, sizeof(in), ZSOCK_MSG_WAITALL);
	cr_assert_eq(n, 0, "after EOF: %zd (errno %d)", n, errno);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(tcp_stream, waitall_stops_at_rcvtimeo, .timeout = 30)
{
	struct timeval tv = { 0, 300000 };
	uint8_t out[WAITALL_IN * 3 / 10], in[WAITALL_IN];
	int64_t t0, dt;
	ssize_t n;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	zt_pattern(6, 0, out, sizeof(out));
	zt_send_all(a, out, sizeof(out));
	t0 = zt_now_ms();
	n = zsock_recv(b, in, sizeof(in), ZSOCK_MSG_WAITALL);
	dt = zt_now_ms() - t0;
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_WAITALL at timeout: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(in, out, sizeof(out));
	cr_assert_geq(dt, 300, "returned after %lld ms, before SO_RCVTIMEO", (long long)dt);
	zt_close(a);
	zt_close(b);
}

/* ---- MSG_PEEK --------------------------------------------------------------------- */

/* Peek until want bytes are visible (the sends may still be in flight). */
static ssize_t peek_until(int fd, uint8_t *buf, size_t want)
{
	int64_t end = zt_now_ms() + 10000;
	ssize_t n;

	do {
		n = zsock_recv(fd, buf, want, ZSOCK_MSG_PEEK);
		if (n < 0 || (size_t)n == want)
			break;
		zt_poll1(fd, ZSOCK_POLLIN, 10);
	} while (zt_now_ms() < end);
	return n;
}

ZT_TEST(tcp_stream, peek_leaves_data_queued, .timeout = 30)
{
	/* PEEK_LEN in thirds (the sends) and sixths (the partial read) */
	enum { P3 = PEEK_LEN / 3, P6 = PEEK_LEN / 6 };
	uint8_t out[PEEK_LEN], peek1[PEEK_LEN], peek2[PEEK_LEN], in[PEEK_LEN];
	ssize_t n;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_pattern(11, 0, out, sizeof(out));
	/* three separate sends: the peek must span what arrived in pieces */
	zt_send_all(a, out, P3);
	zt_send_all(a, out + P3, P3);
	zt_send_all(a, out + 2 * P3, P3);

	n = peek_until(b, peek1, sizeof(peek1));
	cr_assert_eq(n, PEEK_LEN, "MSG_PEEK: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(peek1, out, PEEK_LEN);
	n = zsock_recv(b, peek2, P6, ZSOCK_MSG_PEEK);
	cr_assert_eq(n, P6, "second MSG_PEEK: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(peek2, out, P6, "a second peek must see the same bytes");

	/* consume a sixth, then a peek starts where the reads stopped */
	n = zsock_recv(b, in, P6, 0);
	cr_assert_eq(n, P6, "recv: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(in, out, P6);
	n = zsock_recv(b, peek2, PEEK_LEN - P6, ZSOCK_MSG_PEEK);
	cr_assert_eq(n, PEEK_LEN - P6, "peek after a partial read: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(peek2, out + P6, PEEK_LEN - P6);
	zt_recv_all(b, in + P6, PEEK_LEN - P6);
	cr_assert_arr_eq(in, out, PEEK_LEN, "recv after MSG_PEEK returned other bytes");

	/* nothing left: a non-blocking peek says so */
	n = zsock_recv(b, peek2, 1, ZSOCK_MSG_PEEK | ZSOCK_MSG_DONTWAIT);
	cr_assert_eq(n, -1, "peek on an empty stream returned %zd", n);
	cr_assert_eq(errno, EAGAIN);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(tcp_stream, peek_then_eof, .timeout = 30)
{
	uint8_t out[100], in[200];
	ssize_t n;
	int a, b;

	zt_tcp_pair(AF_INET6, &a, &b);
	zt_pattern(12, 0, out, sizeof(out));
	zt_send_all(a, out, sizeof(out));
	zt_close(a);
	n = peek_until(b, in, sizeof(out));
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_PEEK: %zd (errno %d)", n, errno);
	/* a peek never reports EOF while data is queued */
	n = zsock_recv(b, in, sizeof(in), ZSOCK_MSG_PEEK);
	cr_assert_eq(n, (ssize_t)sizeof(out), "MSG_PEEK before EOF: %zd (errno %d)", n, errno);
	n = zsock_recv(b, in, sizeof(in), 0);
	cr_assert_eq(n, (ssize_t)sizeof(out), "recv: %zd (errno %d)", n, errno);
	cr_assert_arr_eq(in, out, sizeof(out));
	n = zsock_recv(b, in, sizeof(in), ZSOCK_MSG_PEEK);
	cr_assert_eq(n, 0, "MSG_PEEK at EOF: %zd (errno %d)", n, errno);
	zt_close(b);
}

/* ---- short writes ----------------------------------------------------------------- */

/* the buffer must outsize the send path (the board: ~10 KiB, more than its free RAM) */
#if CONFIG_ZSOCK_HOSTED
ZT_TEST(tcp_stream, nonblocking_short_write_never_zero, .timeout = 60)
{
	const size_t big = 8 * MiB;
	uint8_t *out = malloc(big), *in = malloc(BUF_MAX);
	size_t sent = 0, got = 0;
	ssize_t n;
	int a, b, i;

	cr_assert_not_null(out);
	cr_assert_not_null(in);
	zt_pattern(21, 0, out, big);
	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_fcntl(a, F_SETFL, O_NONBLOCK), 0);

	/* nobody reads: the first send takes part of the buffer, no more */
	n = zsock_send(a, out, big, 0);
	cr_assert_gt(n, 0, "first non-blocking send: %zd (errno %d)", n, errno);
	cr_assert_lt((size_t)n, big, "8 MiB taken with no reader: no backpressure");
	sent = (size_t)n;
	/* fill whatever room is left until the engine says EAGAIN */
	for (i = 0; i < 100000; i++) {
		n = zsock_send(a, out + sent, big - sent, 0);
		if (n < 0)
			break;
		cr_assert_gt(n, 0, "send returned 0 for a non-zero request");
		sent += (size_t)n;
	}
	cr_assert_eq(n, -1, "the send path never filled (%zu bytes taken)", sent);
	cr_assert_eq(errno, EAGAIN, "full send path: errno %d, not EAGAIN", errno);

	/* drain, sending the rest as room appears; POLLOUT says when */
	while (got < big) {
		n = zsock_recv(b, in, BUF_MAX, ZSOCK_MSG_DONTWAIT);
		if (n > 0) {
			cr_assert_eq(zt_pattern_check(21, got, in, (size_t)n), (size_t)n,
				     "stream corrupt near offset %zu", got);
			got += (size_t)n;
		} else {
			cr_assert(n == -1 && errno == EAGAIN, "recv: %zd errno %d", n, errno);
			zt_poll1(b, ZSOCK_POLLIN, 100);
		}
		if (sent < big) {
			n = zsock_send(a, out + sent, big - sent, 0);
			if (n < 0)
				cr_assert_eq(errno, EAGAIN, "send: errno %d", errno);
			else
				cr_assert_gt(n, 0, "send returned 0 for a non-zero request");
			if (n > 0)
				sent += (size_t)n;
		}
	}
	cr_assert_eq(got, big);
	free(out);
	free(in);
	zt_close(a);
	zt_close(b);
}
#endif

ZT_TEST(tcp_stream, send_of_zero_bytes_returns_zero)
{
	uint8_t c = 0;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, &c, 0, 0), 0, "send of 0 bytes: errno %d", errno);
	cr_assert_eq(zsock_send(a, NULL, 0, 0), 0, "send(NULL, 0): errno %d", errno);
	cr_assert_eq(zsock_recv(b, &c, 1, ZSOCK_MSG_DONTWAIT), -1, "a 0-byte send delivered data");
	cr_assert_eq(errno, EAGAIN);
	zt_close(a);
	zt_close(b);
}
