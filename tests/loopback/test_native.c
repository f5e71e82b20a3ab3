/*
 * The native zero-copy API (<zsock/net_buf.h>), tested from the header's
 * promises only: what the calls return, what arrives, what the counters of
 * <zsock/engine.h> say.
 *
 *   stream      chains of several buffers, in order and intact, in both
 *               directions, mixed with zsock_send/zsock_recv on one socket;
 *               a zsock_recv that reads part of a chain before a
 *               zsock_recv_buf; chains from concurrent senders stay whole.
 *   copies      native to native: tx_bytes_copied and rx_bytes_copied do
 *               not move, tx_bytes and rx_bytes move by the payload.
 *   backpressure  held chains close the window: a non-blocking sender gets
 *               EAGAIN, a blocking one waits; nothing is lost; releasing
 *               lets the transfer finish; memory held stays bounded.
 *   ownership   every misuse the header names is -1/EINVAL, changes
 *               nothing, and a full transfer still works afterwards.
 *   pool        exhaustion (ENOMEM, EAGAIN after the timeout) and every
 *               way a buffer comes back waking a blocked zsock_buf_alloc.
 *   poll, EOF, errors, SO_RCVTIMEO/SO_SNDTIMEO, UDP datagrams and their
 *               source address, closing a socket while holding its chains.
 *
 * Every byte sent is byte i of a seeded stream (zt_pattern), so a receiver
 * checks each buffer where it lands. Loopback delivers each TCP segment and
 * each datagram in one pbuf, so received chains here are one buffer long;
 * the tests do not rely on that (they walk ->frags), and the one test that
 * needs a longer received chain says so when it cannot get one.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zsock/net_buf.h>
#include <zsock/zsock_config.h>

#include "zt.h"
#include "engine/sock/native.h" /* zs_nbuf_fwd_max_set */

#define TXSZ CONFIG_NET_BUF_DATA_SIZE     /* room in one transmit buffer */
#define TXN CONFIG_NET_BUF_TX_COUNT       /* transmit buffers in the pool */
#define RING CONFIG_NET_SOCKET_RING_SIZE  /* a socket's ring: chains per send */
#define WINDOW CONFIG_NET_TCP_WINDOW
#define KiB 1024u
#define MiB (1024u * 1024u)
#define CHAIN_MAX 8                       /* buffers per chain in most streams */
#define BSD_MAX 20000                     /* largest zsock_send/recv of the mixed streams */
#define JOIN_MS 60000
#define WAKE_MS 2000                      /* "promptly", generously for sanitizers */
#define NOT_YET_MS 150                    /* how long "still blocked" is watched */
#define WALK_MAX (TXN + CONFIG_NET_BUF_RX_COUNT) /* no chain is longer */

/* ---- chains --------------------------------------------------------------------------- */

/*
 * A transmit chain of n buffers, buffer i holding lens[i] bytes of stream
 * seed, the first at stream offset off. NULL with errno from
 * zsock_buf_alloc() when a buffer could not be had (nothing held then).
 * Any thread.
 */
static struct net_buf *make_chain(uint64_t seed, uint64_t off, const uint16_t *lens, int n,
				  int32_t timeout_ms)
{
	struct net_buf *head = NULL, *tail = NULL;

	for (int i = 0; i < n; i++) {
		struct net_buf *b = zsock_buf_alloc(timeout_ms);

		if (b == NULL) {
			int e = errno;

			if (head != NULL)
				(void)zsock_buf_release(head);
			errno = e;
			return NULL;
		}
		zt_pattern(seed, off, b->data, lens[i]);
		b->len = lens[i];
		off += lens[i];
		if (tail != NULL)
			tail->frags = b;
		else
			head = b;
		tail = b;
	}
	return head;
}

/* One buffer of len bytes of stream seed at off; asserts (test thread). */
static struct net_buf *one_buf(uint64_t seed, uint64_t off, uint16_t len)
{
	struct net_buf *b = make_chain(seed, off, &len, 1, 0);

	cr_assert_not_null(b, "zsock_buf_alloc(0): errno %d", errno);
	return b;
}

/* What a walk along a received chain found. */
struct walk {
	size_t bytes;   /* sum of len along frags */
	int nbufs;
	bool tot_ok;    /* head->tot_len == bytes */
	size_t bad;     /* chain offset of the first byte off the stream, or SIZE_MAX */
};

/* Walk a received chain against stream seed at off. Any thread. */
static struct walk walk_chain(const struct net_buf *h, uint64_t seed, uint64_t off)
{
	struct walk w = { 0, 0, false, SIZE_MAX };
	const struct net_buf *b;

	for (b = h; b != NULL && w.nbufs < WALK_MAX; b = b->frags) {
		size_t k = zt_pattern_check(seed, off + w.bytes, b->data, b->len);

		if (k < b->len && w.bad == SIZE_MAX)
			w.bad = w.bytes + k;
		w.bytes += b->len;
		w.nbufs++;
	}
	w.tot_ok = h->tot_len == w.bytes;
	return w;
}

/* zsock_recv_buf() that asserts a chain holding stream seed at off; returns its length. */
static size_t take_chain(int fd, int flags, uint64_t seed, uint64_t off, struct net_buf **out)
{
	struct net_buf *c = NULL;
	ssize_t n = zsock_recv_buf(fd, &c, flags);
	struct walk w;

	cr_assert_gt(n, 0, "zsock_recv_buf: %zd, errno %d", n, errno);
	cr_assert_not_null(c, "zsock_recv_buf returned %zd with no chain", n);
	w = walk_chain(c, seed, off);
	cr_assert_eq(w.bytes, (size_t)n, "chain of %zu bytes, zsock_recv_buf said %zd", w.bytes, n);
	cr_assert(w.tot_ok, "tot_len %u, the buffers hold %zu", c->tot_len, w.bytes);
	cr_assert_eq(w.bad, SIZE_MAX, "stream byte %llu wrong in a chain",
		     (unsigned long long)(off + w.bad));
	*out = c;
	return (size_t)n;
}

static void release_ok(struct net_buf *c)
{
	cr_assert_eq(zsock_buf_release(c), 0, "zsock_buf_release: errno %d", errno);
}

static void release_einval(struct net_buf *c, const char *what)
{
	errno = 0;
	cr_assert_eq(zsock_buf_release(c), -1, "%s: zsock_buf_release succeeded", what);
	cr_assert_eq(errno, EINVAL, "%s: zsock_buf_release errno %d, want EINVAL", what, errno);
}

static void send_einval(int fd, struct net_buf *c, const char *what)
{
	errno = 0;
	cr_assert_eq(zsock_send_buf(fd, c, 0), -1, "%s: zsock_send_buf succeeded", what);
	cr_assert_eq(errno, EINVAL, "%s: zsock_send_buf errno %d, want EINVAL", what, errno);
}

/* Sum of what the pool has handed out now. */
static uint32_t tx_in_use(void)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	return st.tx_bufs_in_use;
}

/* ---- senders and receivers that run in their own threads ------------------------------ */

struct nsend {
	int fd;
	uint64_t seed;
	size_t total;
	int max_bufs;     /* buffers per chain: 1 .. max_bufs (<= RING) */
	bool mixed;       /* about a third of the steps are a BSD zsock_send */
	bool shut_wr;     /* shutdown(SHUT_WR) when done */
	/* results */
	size_t sent;
	size_t chains;
	int err;          /* errno of the failed call, or -1 for a wrong return */
	const char *where;
};

static void *nsend_main(void *p)
{
	struct nsend *s = p;
	uint64_t rng = (s->seed << 1) | 1;
	uint8_t *bsd = s->mixed ? malloc(BSD_MAX) : NULL;

	if (s->mixed && bsd == NULL) {
		s->err = ENOMEM;
		s->where = "malloc";
		return NULL;
	}
	while (s->sent < s->total && s->err == 0) {
		size_t left = s->total - s->sent;
		uint16_t lens[RING];
		struct net_buf *c;
		size_t sum = 0;
		ssize_t n;
		int nb;

		if (s->mixed && zt_rand(&rng) % 3 == 0) {
			size_t want = 1 + (size_t)(zt_rand(&rng) % BSD_MAX), done = 0;

			if (want > left)
				want = left;
			zt_pattern(s->seed, s->sent, bsd, want);
			while (done < want) {
				n = zsock_send(s->fd, bsd + done, want - done, 0);
				if (n <= 0 || (size_t)n > want - done) {
					s->err = n < 0 ? errno : -1;
					s->where = "zsock_send";
					break;
				}
				done += (size_t)n;
			}
			s->sent += done;
			continue;
		}
		nb = 1 + (int)(zt_rand(&rng) % (uint64_t)s->max_bufs);
		for (int i = 0; i < nb; i++) {
			uint64_t r = zt_rand(&rng);
			size_t l = r % 4 == 0 ? TXSZ : 1 + (size_t)((r >> 8) % TXSZ);

			if (r % 23 == 0)
				l = 0; /* an empty buffer inside a chain is legal */
			if (l > left - sum)
				l = left - sum;
			lens[i] = (uint16_t)l;
			sum += l;
		}
		c = make_chain(s->seed, s->sent, lens, nb, -1);
		if (c == NULL) {
			s->err = errno;
			s->where = "zsock_buf_alloc";
			break;
		}
		n = zsock_send_buf(s->fd, c, 0);
		if (n != (ssize_t)sum) {
			s->err = n < 0 ? errno : -1;
			s->where = "zsock_send_buf";
			if (n < 0)
				(void)zsock_buf_release(c); /* still ours */
			break;
		}
		s->sent += sum;
		s->chains++;
	}
	free(bsd);
	if (s->shut_wr && s->err == 0 && zsock_shutdown(s->fd, ZSOCK_SHUT_WR) != 0) {
		s->err = errno;
		s->where = "zsock_shutdown";
	}
	return NULL;
}

/* A queue of received chains for a thread that only releases them. */
#define RELQ_SIZE 32
struct relq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct net_buf *q[RELQ_SIZE];
	unsigned head, tail;
	bool done;
	/* results of the releasing thread */
	size_t released;
	size_t failures;
};

static void relq_push(struct relq *q, struct net_buf *c)
{
	pthread_mutex_lock(&q->mu);
	while (q->head - q->tail == RELQ_SIZE)
		pthread_cond_wait(&q->cv, &q->mu);
	q->q[q->head++ % RELQ_SIZE] = c;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void relq_close(struct relq *q)
{
	pthread_mutex_lock(&q->mu);
	q->done = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void *relq_main(void *p)
{
	struct relq *q = p;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct net_buf *c;

		while (q->head == q->tail && !q->done)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->head == q->tail)
			break;
		c = q->q[q->tail++ % RELQ_SIZE];
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		if (zsock_buf_release(c) == 0)
			q->released++;
		else
			q->failures++;
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

struct nrecv {
	int fd;
	uint64_t seed;
	size_t total;
	bool mixed;        /* about a third of the steps are a BSD zsock_recv */
	bool expect_eof;   /* after total, zsock_recv_buf must return 0 */
	struct relq *q;    /* release through this queue's thread, or NULL */
	/* results */
	size_t got;
	size_t chains;
	int max_nbufs;
	int err;           /* errno of the failed call, or -1 for a wrong return */
	const char *where;
	uint64_t bad_at;   /* stream offset of the first wrong byte, or UINT64_MAX */
	bool eof;
};

static void *nrecv_main(void *p)
{
	struct nrecv *r = p;
	uint64_t rng = (r->seed * 3) | 1;
	uint8_t *bsd = r->mixed ? malloc(BSD_MAX) : NULL;

	r->bad_at = UINT64_MAX;
	if (r->mixed && bsd == NULL) {
		r->err = ENOMEM;
		r->where = "malloc";
		return NULL;
	}
	while (r->got < r->total) {
		struct net_buf *c = NULL;
		struct walk w;
		ssize_t n;

		if (r->mixed && zt_rand(&rng) % 3 == 0) {
			uint64_t most = zt_rand(&rng) % 2 ? 100 : BSD_MAX;
			size_t want = 1 + (size_t)(zt_rand(&rng) % most);
			size_t at;

			n = zsock_recv(r->fd, bsd, want, 0);
			if (n <= 0 || (size_t)n > want) {
				r->err = n < 0 ? errno : -1;
				r->where = "zsock_recv";
				break;
			}
			at = zt_pattern_check(r->seed, r->got, bsd, (size_t)n);
			if (at < (size_t)n) {
				r->bad_at = r->got + at;
				break;
			}
			r->got += (size_t)n;
			continue;
		}
		n = zsock_recv_buf(r->fd, &c, 0);
		if (n <= 0 || c == NULL) {
			r->err = n < 0 ? errno : -1;
			r->where = n == 0 ? "zsock_recv_buf: early EOF" : "zsock_recv_buf";
			break;
		}
		w = walk_chain(c, r->seed, r->got);
		if (w.bytes != (size_t)n || !w.tot_ok) {
			r->err = -1;
			r->where = "chain length";
		} else if (w.bad != SIZE_MAX) {
			r->bad_at = r->got + w.bad;
		}
		if (w.nbufs > r->max_nbufs)
			r->max_nbufs = w.nbufs;
		r->got += w.bytes;
		r->chains++;
		if (r->q != NULL) {
			relq_push(r->q, c);
		} else if (zsock_buf_release(c) != 0) {
			r->err = errno;
			r->where = "zsock_buf_release";
		}
		if (r->err != 0 || r->bad_at != UINT64_MAX)
			break;
	}
	free(bsd);
	if (r->expect_eof && r->err == 0 && r->bad_at == UINT64_MAX) {
		struct net_buf sentinel, *c = &sentinel; /* must come back NULL */
		ssize_t n = zsock_recv_buf(r->fd, &c, 0);

		r->eof = n == 0 && c == NULL;
		if (n > 0)
			(void)zsock_buf_release(c);
	}
	return NULL;
}

static void check_send(const struct nsend *s, const char *who)
{
	cr_assert_eq(s->err, 0, "%s: %s failed after %zu bytes: errno %d (%s)", who,
		     s->where ? s->where : "?", s->sent, s->err,
		     s->err > 0 ? strerror(s->err) : "");
	cr_assert_eq(s->sent, s->total, "%s: sent %zu of %zu", who, s->sent, s->total);
}

static void check_recv(const struct nrecv *r, const char *who)
{
	cr_assert_eq(r->bad_at, UINT64_MAX, "%s: stream byte %llu is wrong", who,
		     (unsigned long long)r->bad_at);
	cr_assert_eq(r->err, 0, "%s: %s failed after %zu bytes: errno %d (%s)", who,
		     r->where ? r->where : "?", r->got, r->err, r->err > 0 ? strerror(r->err) : "");
	cr_assert_eq(r->got, r->total, "%s: received %zu of %zu", who, r->got, r->total);
	if (r->expect_eof)
		cr_assert(r->eof, "%s: zsock_recv_buf did not return 0 and no chain at EOF", who);
}

/* total bytes from a to b, native both ends; asserts. */
static void native_transfer(int a, int b, uint64_t seed, size_t total)
{
	struct nsend s = { .fd = a, .seed = seed, .total = total, .max_bufs = CHAIN_MAX };
	struct nrecv r = { .fd = b, .seed = seed, .total = total };
	pthread_t t = zt_spawn(nsend_main, &s);

	nrecv_main(&r);
	cr_assert(zt_join(t, JOIN_MS), "sender hangs");
	check_send(&s, "sender");
	check_recv(&r, "receiver");
}

/* After a misuse: a fresh connection still carries a full native transfer. */
static void transfer_still_works(int family)
{
	int a, b;

	zt_tcp_pair(family, &a, &b);
	native_transfer(a, b, 0x600d, 256 * KiB);
	zt_close(a);
	zt_close(b);
}

/* Small chains one at a time: no Nagle wait for the delayed ACK of the last. */
static void nodelay(int fd)
{
	int one = 1;

	cr_assert_eq(zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0,
		     "TCP_NODELAY: errno %d", errno);
}

/* ---- stream: order and integrity ------------------------------------------------------ */

static void stream(int family, size_t total, bool other_thread_releases)
{
	struct relq q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct nsend s = { .seed = 0x5eed + (uint64_t)family, .total = total,
			   .max_bufs = CHAIN_MAX, .shut_wr = true };
	struct nrecv r = { .seed = s.seed, .total = total, .expect_eof = true };
	pthread_t ts, tq = 0;
	int a, b;

	zt_tcp_pair(family, &a, &b);
	s.fd = a;
	r.fd = b;
	if (other_thread_releases) {
		r.q = &q;
		tq = zt_spawn(relq_main, &q);
	}
	ts = zt_spawn(nsend_main, &s);
	nrecv_main(&r);
	cr_assert(zt_join(ts, JOIN_MS), "sender hangs");
	if (other_thread_releases) {
		relq_close(&q);
		cr_assert(zt_join(tq, JOIN_MS), "releasing thread hangs");
		cr_assert_eq(q.failures, 0, "%zu releases from another thread failed", q.failures);
		cr_assert_eq(q.released, r.chains, "released %zu of %zu chains", q.released,
			     r.chains);
	}
	check_send(&s, "sender");
	check_recv(&r, "receiver");
	cr_assert_gt(s.chains, total / (CHAIN_MAX * TXSZ), "only %zu chains sent", s.chains);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, stream_in_order_ipv4, .timeout = 120)
{
	stream(AF_INET, 8 * MiB, false);
}

ZT_TEST(native, stream_in_order_ipv6, .timeout = 120)
{
	stream(AF_INET6, 8 * MiB, false);
}

ZT_TEST(native, stream_released_by_another_thread, .timeout = 120)
{
	stream(AF_INET, 4 * MiB, true);
}

/* Chains of up to a whole ring of buffers, each more than the window. */
ZT_TEST(native, stream_of_ring_sized_chains, .timeout = 120)
{
	struct nsend s = { .seed = 0xb16, .total = 8 * MiB, .max_bufs = RING, .shut_wr = true };
	struct nrecv r = { .seed = 0xb16, .total = 8 * MiB, .expect_eof = true };
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET6, &a, &b);
	s.fd = a;
	r.fd = b;
	t = zt_spawn(nsend_main, &s);
	nrecv_main(&r);
	cr_assert(zt_join(t, JOIN_MS), "sender hangs");
	check_send(&s, "sender");
	check_recv(&r, "receiver");
	zt_close(a);
	zt_close(b);
}

/* Two threads take chains from one socket: each byte reaches exactly one. */
struct taker {
	int fd;
	size_t got, chains;
	int err;
	bool eof;
};

static void *taker_main(void *p)
{
	struct taker *t = p;

	for (;;) {
		struct net_buf *c = NULL;
		ssize_t n = zsock_recv_buf(t->fd, &c, 0);

		if (n <= 0) {
			t->eof = n == 0;
			t->err = n < 0 ? errno : 0;
			break;
		}
		t->got += (size_t)n;
		t->chains++;
		if (zsock_buf_release(c) != 0) {
			t->err = errno;
			break;
		}
	}
	return NULL;
}

ZT_TEST(native, two_threads_take_from_one_socket, .timeout = 120)
{
	struct nsend s = { .seed = 0x2e, .total = 4 * MiB, .max_bufs = CHAIN_MAX, .shut_wr = true };
	struct taker t1 = { 0 }, t2 = { 0 };
	pthread_t ts, tt1, tt2;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	s.fd = a;
	t1.fd = t2.fd = b;
	tt1 = zt_spawn(taker_main, &t1);
	tt2 = zt_spawn(taker_main, &t2);
	ts = zt_spawn(nsend_main, &s);
	cr_assert(zt_join(ts, JOIN_MS), "sender hangs");
	cr_assert(zt_join(tt1, JOIN_MS), "taker 1 hangs");
	cr_assert(zt_join(tt2, JOIN_MS), "taker 2 hangs");
	check_send(&s, "sender");
	cr_assert(t1.eof && t2.eof, "takers ended with errno %d / %d, not EOF", t1.err, t2.err);
	cr_assert_eq(t1.got + t2.got, s.total, "taken %zu + %zu of %zu", t1.got, t2.got, s.total);
	cr_log_info("chains: %zu and %zu", t1.chains, t2.chains);
	zt_close(a);
	zt_close(b);
}

/* Both directions at once, native and BSD calls interleaved on each socket. */
static void mixed_both_ways(int family, size_t total)
{
	struct nsend sa = { .seed = 0xa1, .total = total, .max_bufs = CHAIN_MAX, .mixed = true,
			    .shut_wr = true };
	struct nsend sb = { .seed = 0xb2, .total = total, .max_bufs = CHAIN_MAX, .mixed = true,
			    .shut_wr = true };
	struct nrecv ra = { .seed = 0xb2, .total = total, .mixed = true, .expect_eof = true };
	struct nrecv rb = { .seed = 0xa1, .total = total, .mixed = true, .expect_eof = true };
	pthread_t t[3];
	int a, b;

	zt_tcp_pair(family, &a, &b);
	sa.fd = a;
	sb.fd = b;
	ra.fd = a;
	rb.fd = b;
	t[0] = zt_spawn(nsend_main, &sa);
	t[1] = zt_spawn(nsend_main, &sb);
	t[2] = zt_spawn(nrecv_main, &rb);
	nrecv_main(&ra);
	for (int i = 0; i < 3; i++)
		cr_assert(zt_join(t[i], JOIN_MS), "thread %d hangs", i);
	check_send(&sa, "a->b sender");
	check_send(&sb, "b->a sender");
	check_recv(&rb, "a->b receiver");
	check_recv(&ra, "b->a receiver");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, mixed_with_bsd_both_ways_ipv4, .timeout = 120)
{
	mixed_both_ways(AF_INET, 4 * MiB);
}

ZT_TEST(native, mixed_with_bsd_both_ways_ipv6, .timeout = 120)
{
	mixed_both_ways(AF_INET6, 4 * MiB);
}

/*
 * zsock_recv() of k bytes, then zsock_recv_buf(): the chain starts at byte
 * k, whether k ends inside a segment, on its edge, or in a later one.
 * Everything is sent and has arrived before the reads, so the partly read
 * chain is there when zsock_recv_buf() runs.
 */
static void recv_then_recv_buf(int family)
{
	static const size_t splits[] = { 1, 10, TXSZ - 1, TXSZ, TXSZ + 1, 2 * TXSZ + 7,
					 3 * TXSZ - 1 };
	const uint16_t lens[3] = { TXSZ, TXSZ, TXSZ };
	const size_t total = 3 * TXSZ;
	uint8_t head[3 * TXSZ];
	int a, b;

	zt_tcp_pair(family, &a, &b);
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		uint64_t seed = 0x5a + i;
		struct net_buf *c = make_chain(seed, 0, lens, 3, 0);
		size_t k = splits[i], got;
		int64_t end = zt_now_ms() + 5000;
		int avail = 0;

		cr_assert_not_null(c, "alloc: errno %d", errno);
		cr_assert_eq(zsock_send_buf(a, c, 0), (ssize_t)total, "send_buf: errno %d", errno);
		while (avail < (int)total && zt_now_ms() < end) {
			cr_assert_eq(zsock_ioctl(b, FIONREAD, &avail), 0, "FIONREAD: errno %d",
				     errno);
			if (avail < (int)total)
				zt_sleep_ms(2);
		}
		cr_assert_eq(avail, (int)total, "only %d of %zu bytes arrived", avail, total);
		cr_assert_eq(zsock_recv(b, head, k, ZSOCK_MSG_WAITALL), (ssize_t)k,
			     "recv(%zu): errno %d", k, errno);
		cr_assert_eq(zt_pattern_check(seed, 0, head, k), k, "zsock_recv data wrong");
		for (got = k; got < total;) {
			struct net_buf *r;

			got += take_chain(b, ZSOCK_MSG_DONTWAIT, seed, got, &r);
			release_ok(r);
		}
		cr_assert_eq(got, total, "split %zu: received %zu of %zu", k, got, total);
		cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 0), 0, "split %zu: more data than sent", k);
	}
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, recv_then_recv_buf_continues_ipv4, .timeout = 60)
{
	recv_then_recv_buf(AF_INET);
}

ZT_TEST(native, recv_then_recv_buf_continues_ipv6, .timeout = 60)
{
	recv_then_recv_buf(AF_INET6);
}

/*
 * Two threads send records on one socket, each record a chain of three
 * buffers: a chain is queued all or nothing, in order, so every record
 * arrives whole, and each thread's records in the order it sent them.
 */
#define REC_BUFS 3
#define REC_LEN (REC_BUFS * 100)
#define RECORDS 1500

/* Byte pos of record i of thread id: id, i (16 bits), then the position. */
static uint8_t rec_byte(uint8_t id, int i, int pos)
{
	switch (pos % 4) {
	case 0: return id;
	case 1: return (uint8_t)(i & 0xff);
	case 2: return (uint8_t)(i >> 8);
	default: return (uint8_t)pos;
	}
}

struct recsend {
	int fd;
	uint8_t id;
	int err;
	int sent;
};

static void *recsend_main(void *p)
{
	struct recsend *s = p;

	for (int i = 0; i < RECORDS; i++) {
		struct net_buf *head = NULL, *tail = NULL;
		ssize_t n;

		for (int k = 0; k < REC_BUFS; k++) {
			struct net_buf *b = zsock_buf_alloc(-1);

			if (b == NULL) {
				s->err = errno;
				if (head != NULL)
					(void)zsock_buf_release(head);
				return NULL;
			}
			b->len = REC_LEN / REC_BUFS;
			for (int j = 0; j < b->len; j++)
				b->data[j] = rec_byte(s->id, i, k * b->len + j);
			if (tail != NULL)
				tail->frags = b;
			else
				head = b;
			tail = b;
		}
		n = zsock_send_buf(s->fd, head, 0);
		if (n != REC_LEN) {
			s->err = n < 0 ? errno : -1;
			if (n < 0)
				(void)zsock_buf_release(head);
			return NULL;
		}
		s->sent++;
	}
	return NULL;
}

/* One whole record: some thread's, its next one, not torn. */
static void check_record(const uint8_t *rec, int next[3], size_t nth)
{
	uint8_t id = rec[0];
	int i = rec[1] | rec[2] << 8;

	cr_assert(id == 1 || id == 2, "record %zu: a foreign byte %u", nth, id);
	cr_assert_eq(i, next[id], "record %zu: thread %u record %d, expected %d", nth, id, i,
		     next[id]);
	for (int pos = 0; pos < REC_LEN; pos++)
		cr_assert_eq(rec[pos], rec_byte(id, i, pos),
			     "record %zu (thread %u #%d) torn at %d", nth, id, i, pos);
	next[id]++;
}

ZT_TEST(native, concurrent_senders_keep_chains_whole, .timeout = 120)
{
	struct recsend s1 = { .id = 1 }, s2 = { .id = 2 };
	static uint8_t rec[REC_LEN];
	int next[3] = { 0, 0, 0 };
	size_t have = 0, records = 0;
	pthread_t t1, t2;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	s1.fd = s2.fd = a;
	t1 = zt_spawn(recsend_main, &s1);
	t2 = zt_spawn(recsend_main, &s2);
	while (records < 2 * RECORDS) {
		struct net_buf *c = NULL, *x;
		ssize_t n = zsock_recv_buf(b, &c, 0);

		cr_assert_gt(n, 0, "recv_buf: %zd, errno %d", n, errno);
		for (x = c; x != NULL; x = x->frags) {
			for (size_t j = 0; j < x->len; j++) {
				rec[have++] = x->data[j];
				if (have == REC_LEN) {
					check_record(rec, next, records++);
					have = 0;
				}
			}
		}
		release_ok(c);
	}
	cr_assert(zt_join(t1, JOIN_MS), "sender 1 hangs");
	cr_assert(zt_join(t2, JOIN_MS), "sender 2 hangs");
	cr_assert_eq(s1.err, 0, "sender 1: errno %d", s1.err);
	cr_assert_eq(s2.err, 0, "sender 2: errno %d", s2.err);
	zt_close(a);
	zt_close(b);
}

/* A chain of exactly one ring of buffers is accepted; one more is EMSGSIZE. */
ZT_TEST(native, tcp_chain_limit_is_the_ring, .timeout = 60)
{
	uint16_t lens[RING + 1];
	struct net_buf *c, *r;
	size_t got = 0;
	int a, b;

	for (int i = 0; i <= RING; i++)
		lens[i] = 100;
	zt_tcp_pair(AF_INET, &a, &b);
	c = make_chain(7, 0, lens, RING + 1, 0);
	cr_assert_not_null(c);
	errno = 0;
	cr_assert_eq(zsock_send_buf(a, c, 0), -1, "a chain of %d buffers was taken", RING + 1);
	cr_assert_eq(errno, EMSGSIZE, "errno %d, want EMSGSIZE", errno);
	release_ok(c); /* still the caller's */

	c = make_chain(7, 0, lens, RING, 0);
	cr_assert_not_null(c);
	cr_assert_eq(zsock_send_buf(a, c, 0), RING * 100, "%d buffers: errno %d", RING, errno);
	while (got < RING * 100) {
		got += take_chain(b, 0, 7, got, &r);
		release_ok(r);
	}
	zt_close(a);
	zt_close(b);
}

/* ---- zero copies ----------------------------------------------------------------------- */

static void zero_copy_tcp(int family)
{
	struct zsock_engine_stats before, after;
	const size_t total = 2 * MiB;
	int a, b;

	zt_tcp_pair(family, &a, &b);
	zt_stats(&before);
	native_transfer(a, b, 0xc0 + (uint64_t)family, total);
	zt_stats(&after);
	cr_assert_eq(after.tx_bytes_copied, before.tx_bytes_copied,
		     "zsock_send_buf copied %llu bytes",
		     (unsigned long long)(after.tx_bytes_copied - before.tx_bytes_copied));
	cr_assert_eq(after.rx_bytes_copied, before.rx_bytes_copied,
		     "zsock_recv_buf copied %llu bytes",
		     (unsigned long long)(after.rx_bytes_copied - before.rx_bytes_copied));
	cr_assert_eq(after.tx_bytes - before.tx_bytes, total, "tx_bytes moved by %llu for %zu",
		     (unsigned long long)(after.tx_bytes - before.tx_bytes), total);
	cr_assert_eq(after.rx_bytes - before.rx_bytes, total, "rx_bytes moved by %llu for %zu",
		     (unsigned long long)(after.rx_bytes - before.rx_bytes), total);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, tcp_copies_nothing_ipv4, .timeout = 60)
{
	zero_copy_tcp(AF_INET);
}

ZT_TEST(native, tcp_copies_nothing_ipv6, .timeout = 60)
{
	zero_copy_tcp(AF_INET6);
}

static void zero_copy_udp(int family)
{
	struct zsock_engine_stats before, after;
	size_t total = 0;
	int a, b;

	zt_udp_pair(family, &a, &b);
	zt_stats(&before);
	for (int i = 1; i <= 100; i++) {
		uint16_t lens[3] = { (uint16_t)(i * 13 % TXSZ + 1), TXSZ, (uint16_t)i };
		struct net_buf *c = make_chain((uint64_t)i, 0, lens, 3, 0), *r;
		size_t len = (size_t)lens[0] + lens[1] + lens[2];

		cr_assert_not_null(c);
		cr_assert_eq(zsock_send_buf(a, c, 0), (ssize_t)len, "datagram %d: errno %d", i,
			     errno);
		cr_assert_eq(take_chain(b, 0, (uint64_t)i, 0, &r), len, "datagram %d: length", i);
		release_ok(r);
		total += len;
	}
	zt_stats(&after);
	cr_assert_eq(after.tx_bytes_copied, before.tx_bytes_copied, "UDP send_buf copied %llu",
		     (unsigned long long)(after.tx_bytes_copied - before.tx_bytes_copied));
	cr_assert_eq(after.rx_bytes_copied, before.rx_bytes_copied, "UDP recv_buf copied %llu",
		     (unsigned long long)(after.rx_bytes_copied - before.rx_bytes_copied));
	cr_assert_eq(after.tx_bytes - before.tx_bytes, total);
	cr_assert_eq(after.rx_bytes - before.rx_bytes, total);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, udp_copies_nothing_ipv4, .timeout = 60)
{
	zero_copy_udp(AF_INET);
}

ZT_TEST(native, udp_copies_nothing_ipv6, .timeout = 60)
{
	zero_copy_udp(AF_INET6);
}

/* ---- backpressure ---------------------------------------------------------------------- */

#define STALL_MS 500   /* no progress for this long: the flow has stopped */
#define HELD_MAX 4096

/*
 * a sends full buffers with MSG_DONTWAIT; b takes every chain and keeps it.
 * The flow must stop (the sender sees EAGAIN) with what b holds bounded by
 * the window; released, everything sent arrives, and more after it.
 */
static void backpressure(int family)
{
	static struct net_buf *held[HELD_MAX];
	struct zsock_engine_stats st0, st1, st2;
	size_t nheld = 0, held_bytes = 0, sent = 0, got = 0, goal;
	int64_t t0 = zt_now_ms(), quiet = -1;
	int last_send_errno = 0, a, b;
	uint64_t seed = 0xbac + (uint64_t)family;

	zt_tcp_pair(family, &a, &b);
	zt_stats(&st0);
	for (;;) {
		bool progress = false;
		struct net_buf *c = zsock_buf_alloc(0), *r = NULL;
		ssize_t n;

		if (c != NULL) {
			zt_pattern(seed, sent, c->data, TXSZ);
			c->len = TXSZ;
			n = zsock_send_buf(a, c, ZSOCK_MSG_DONTWAIT);
			if (n == TXSZ) {
				sent += TXSZ;
				progress = true;
				last_send_errno = 0;
			} else {
				cr_assert_eq(n, -1, "send_buf returned %zd", n);
				cr_assert_eq(errno, EAGAIN, "send_buf: errno %d, want EAGAIN",
					     errno);
				last_send_errno = errno;
				release_ok(c); /* a failed send leaves it with us */
			}
		} else {
			cr_assert_eq(errno, ENOMEM, "alloc(0): errno %d", errno);
			last_send_errno = ENOMEM;
		}
		n = zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT);
		if (n > 0) {
			struct walk w = walk_chain(r, seed, got);

			cr_assert_eq(w.bad, SIZE_MAX, "stream byte %zu wrong", got + w.bad);
			cr_assert_lt(nheld, HELD_MAX, "more than %d chains held", HELD_MAX);
			held[nheld++] = r;
			held_bytes += (size_t)n;
			got += (size_t)n;
			progress = true;
		} else {
			cr_assert_eq(n, -1, "recv_buf returned %zd", n);
			cr_assert_eq(errno, EAGAIN, "recv_buf: errno %d", errno);
		}
		if (progress) {
			quiet = -1;
		} else if (quiet < 0) {
			quiet = zt_now_ms();
		} else if (zt_now_ms() - quiet > STALL_MS) {
			break;
		}
		cr_assert_lt(zt_now_ms() - t0, 30000,
			     "the flow never stopped: %zu bytes sent, %zu chains held", sent,
			     nheld);
	}
	zt_stats(&st1);
	cr_assert_eq(last_send_errno, EAGAIN, "stalled sender saw errno %d, want EAGAIN",
		     last_send_errno);
	cr_assert_gt(sent, held_bytes, "nothing waits behind the held chains (%zu sent)", sent);
	cr_assert_leq(held_bytes, WINDOW, "%zu bytes held, more than the %d-byte window",
		      held_bytes, WINDOW);
	cr_assert_lt(st1.rx_bufs_in_use, CONFIG_NET_BUF_RX_COUNT, "rx pool drained: %u in use",
		     st1.rx_bufs_in_use);
	cr_assert_eq(st1.rx_alloc_failures, st0.rx_alloc_failures, "rx pool ran dry");
	/* and it stays put */
	zt_sleep_ms(300);
	zt_stats(&st2);
	cr_assert_eq(st2.rx_bufs_in_use, st1.rx_bufs_in_use, "rx bufs grew from %u to %u",
		     st1.rx_bufs_in_use, st2.rx_bufs_in_use);
	cr_assert_eq(st2.rx_bytes, st1.rx_bytes, "data kept arriving while the window is shut");
	/* the held chains are still intact; give them back */
	for (size_t i = 0, off = 0; i < nheld; i++) {
		struct walk w = walk_chain(held[i], seed, off);

		cr_assert_eq(w.bad, SIZE_MAX, "held chain %zu changed", i);
		off += w.bytes;
		release_ok(held[i]);
	}
	/* the rest arrives, and 256 KiB more with blocking calls */
	goal = sent + 256 * KiB;
	while (sent < goal) {
		struct net_buf *c = one_buf(seed, sent, TXSZ), *r;

		cr_assert_eq(zsock_send_buf(a, c, 0), TXSZ, "send_buf after release: errno %d",
			     errno);
		sent += TXSZ;
		while (got + 8 * TXSZ < sent) {
			got += take_chain(b, 0, seed, got, &r);
			release_ok(r);
		}
	}
	while (got < sent) {
		struct net_buf *r;

		got += take_chain(b, 0, seed, got, &r);
		release_ok(r);
	}
	cr_assert_eq(got, sent);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, held_chains_stop_the_sender_ipv4, .timeout = 90)
{
	backpressure(AF_INET);
}

ZT_TEST(native, held_chains_stop_the_sender_ipv6, .timeout = 90)
{
	backpressure(AF_INET6);
}

/* A blocking sender waits while chains are held and finishes once released. */
ZT_TEST(native, held_chains_block_a_blocking_sender, .timeout = 90)
{
	static struct net_buf *held[HELD_MAX];
	struct nsend s = { .seed = 0xb10c, .total = 2 * MiB, .max_bufs = 4, .shut_wr = true };
	struct net_buf sentinel, *end = &sentinel;
	size_t nheld = 0, got = 0, sent_then;
	int64_t quiet = zt_now_ms();
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	s.fd = a;
	t = zt_spawn(nsend_main, &s);
	while (zt_now_ms() - quiet < STALL_MS) {
		struct net_buf *r = NULL;
		ssize_t n = zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT);

		if (n > 0) {
			cr_assert_eq(walk_chain(r, s.seed, got).bad, SIZE_MAX);
			cr_assert_lt(nheld, HELD_MAX);
			held[nheld++] = r;
			got += (size_t)n;
			quiet = zt_now_ms();
		} else {
			cr_assert_eq(errno, EAGAIN, "recv_buf: errno %d", errno);
			zt_sleep_ms(1);
		}
	}
	sent_then = __atomic_load_n(&s.sent, __ATOMIC_RELAXED);
	cr_assert_lt(sent_then, s.total, "the sender finished although nothing was released");
	cr_assert_leq(got, WINDOW, "%zu bytes held, window %d", got, WINDOW);
	for (size_t i = 0; i < nheld; i++)
		release_ok(held[i]);
	while (got < s.total) {
		struct net_buf *r;

		got += take_chain(b, 0, s.seed, got, &r);
		release_ok(r);
	}
	cr_assert(zt_join(t, JOIN_MS), "sender hangs after the release");
	check_send(&s, "sender");
	/* the FIN queued behind the held data arrives after it */
	cr_assert_eq(zsock_recv_buf(b, &end, 0), 0, "no EOF after the stream: errno %d", errno);
	cr_assert_null(end);
	zt_close(a);
	zt_close(b);
}

/*
 * UDP has no window: held chains bound what the socket keeps, and what
 * does not fit is dropped and counted; released, reception goes on.
 */
ZT_TEST(native, udp_held_chains_bound_memory, .timeout = 60)
{
	static struct net_buf *held[HELD_MAX];
	struct zsock_engine_stats st0, st1;
	size_t nheld = 0;
	struct net_buf *r;
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	zt_stats(&st0);
	for (int i = 0; i < 4 * RING; i++) {
		struct net_buf *c = one_buf((uint64_t)i, 0, 200);

		cr_assert_eq(zsock_send_buf(a, c, 0), 200, "datagram %d: errno %d", i, errno);
		while (zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT) > 0) {
			cr_assert_lt(nheld, HELD_MAX);
			held[nheld++] = r;
		}
	}
	zt_sleep_ms(100);
	while (zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT) > 0)
		held[nheld++] = r;
	zt_stats(&st1);
	cr_assert_leq(nheld, (size_t)RING, "%zu datagrams held at once, ring %d", nheld, RING);
	cr_assert_gt(nheld, 0);
	cr_assert_eq(st1.rx_drops - st0.rx_drops, 4 * RING - nheld,
		     "%llu drops counted, %zu datagrams of %d not delivered",
		     (unsigned long long)(st1.rx_drops - st0.rx_drops), 4 * RING - nheld, 4 * RING);
	cr_assert_leq(st1.rx_bufs_in_use, nheld + RING, "rx bufs %u for %zu held",
		      st1.rx_bufs_in_use, nheld);
	for (size_t i = 0; i < nheld; i++)
		release_ok(held[i]);
	for (int i = 0; i < RING; i++) {
		struct net_buf *c = one_buf(0xd0 + (uint64_t)i, 0, 300);

		cr_assert_eq(zsock_send_buf(a, c, 0), 300);
		cr_assert_eq(take_chain(b, 0, 0xd0 + (uint64_t)i, 0, &r), 300);
		release_ok(r);
	}
	zt_close(a);
	zt_close(b);
}

/* ---- ownership misuse ------------------------------------------------------------------- */

/* A received TCP chain of n bytes of stream seed; the pair stays open. */
static void wait_queued(int fd, int n);

static struct net_buf *received_chain(int a, int b, uint64_t seed, uint16_t n)
{
	struct net_buf *c = one_buf(seed, 0, n), *r;

	nodelay(a);
	cr_assert_eq(zsock_send_buf(a, c, 0), n, "send_buf: errno %d", errno);
	cr_assert_eq(take_chain(b, 0, seed, 0, &r), n, "a %u-byte chain came in pieces", n);
	return r;
}

ZT_TEST(native, double_release_of_a_received_chain, .timeout = 60)
{
	struct net_buf *r;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	r = received_chain(a, b, 1, 1000);
	release_ok(r);
	release_einval(r, "second release");
	/* and again once more data went through the same socket and buffers */
	r = received_chain(a, b, 2, 500);
	release_ok(r);
	release_einval(r, "second release after reuse");
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

ZT_TEST(native, double_release_of_a_transmit_chain, .timeout = 60)
{
	const uint16_t lens[3] = { 1, 2, 3 };
	struct net_buf *c = make_chain(1, 0, lens, 3, 0);

	cr_assert_not_null(c);
	release_ok(c);
	release_einval(c, "second release");
	cr_assert_eq(tx_in_use(), 0, "%u transmit buffers still taken", tx_in_use());
	transfer_still_works(AF_INET6);
}

/* A frag of a received chain is not a chain the caller may release. */
ZT_TEST(native, release_of_a_received_frag, .timeout = 60)
{
	uint16_t lens[40];
	struct net_buf *c, *r = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n;
	int a, b;

	for (int i = 0; i < 40; i++)
		lens[i] = TXSZ;
	zt_udp_pair(AF_INET, &a, &b);
	c = make_chain(3, 0, lens, 40, 0);
	cr_assert_not_null(c);
	cr_assert_eq(zsock_send_buf(a, c, 0), 40 * TXSZ, "send: errno %d", errno);
	n = zsock_recv_buf(b, &r, 0);
	cr_assert_eq(n, 40 * TXSZ, "recv_buf %zd, errno %d", n, errno);
	if (r->frags == NULL) {
		release_ok(r);
		zt_close(a);
		zt_close(b);
		cr_skip_test("loopback delivers a datagram in one buffer: no received frag here");
	}
	release_einval(r->frags, "release of a frag");
	errno = 0;
	cr_assert_eq(zsock_buf_peer(r->frags, (struct sockaddr *)&ss, &sl), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(walk_chain(r, 3, 0).bad, SIZE_MAX, "chain changed by the failed release");
	release_ok(r);
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

/* A frag of a transmit chain is the caller's: releasing it is legal and
 * leaves the head pointing at buffers it no longer owns. */
ZT_TEST(native, release_of_a_transmit_frag_then_the_head, .timeout = 60)
{
	const uint16_t lens[3] = { 10, 20, 30 };
	struct net_buf *c = make_chain(4, 0, lens, 3, 0);
	int a, b;

	cr_assert_not_null(c);
	zt_tcp_pair(AF_INET, &a, &b);
	release_ok(c->frags); /* the second and third */
	cr_assert_eq(tx_in_use(), 1, "%u buffers taken, want 1", tx_in_use());
	send_einval(a, c, "send of a head whose frags are gone");
	release_einval(c, "release of a head whose frags are gone");
	cr_assert_eq(tx_in_use(), 1, "a failed call changed the pool");
	c->frags = NULL;
	release_ok(c);
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

ZT_TEST(native, release_of_pointers_that_are_no_buffers, .timeout = 60)
{
	struct net_buf on_stack, copy;
	struct net_buf *heap = calloc(1, sizeof(*heap));
	struct net_buf *real = one_buf(5, 0, 100);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int a, b;

	cr_assert_not_null(heap);
	memset(&on_stack, 0, sizeof(on_stack));
	copy = *real; /* the same bytes, somewhere else */
	*heap = *real;
	zt_tcp_pair(AF_INET, &a, &b);

	release_einval(NULL, "NULL");
	release_einval(&on_stack, "a zeroed stack struct");
	release_einval(&copy, "a stack copy of a live buffer");
	release_einval(heap, "a malloc'd copy of a live buffer");
	release_einval((struct net_buf *)((char *)real + 1), "a pointer inside a buffer");
	release_einval((struct net_buf *)real->data, "the buffer's storage");
	release_einval((struct net_buf *)(uintptr_t)8, "a small integer");
	send_einval(a, NULL, "NULL");
	send_einval(a, &on_stack, "a zeroed stack struct");
	send_einval(a, &copy, "a stack copy");
	send_einval(a, heap, "a malloc'd copy");
	errno = 0;
	cr_assert_eq(zsock_buf_peer(&copy, (struct sockaddr *)&ss, &sl), -1);
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_eq(zsock_buf_peer(NULL, (struct sockaddr *)&ss, &sl), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(tx_in_use(), 1, "%u transmit buffers taken, want 1", tx_in_use());
	/* the real one is untouched and still ours */
	cr_assert_eq(real->len, 100);
	cr_assert_eq(zt_pattern_check(5, 0, real->data, 100), 100);
	cr_assert_eq(zsock_send_buf(a, real, 0), 100, "send of the real buffer: errno %d", errno);
	{
		struct net_buf *r;

		cr_assert_eq(take_chain(b, 0, 5, 0, &r), 100);
		release_ok(r);
	}
	free(heap);
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

/* After a successful send the chain is the engine's: sending it again (on
 * the same or another socket) or releasing it fails and changes nothing. */
static void handed_over(bool release_instead)
{
	const uint16_t lens[3] = { TXSZ, 7, TXSZ };
	const size_t total = 2 * TXSZ + 7;
	struct net_buf *c = make_chain(6, 0, lens, 3, 0), *frag, *none;
	size_t got = 0;
	int a, b, x, y;

	cr_assert_not_null(c);
	frag = c->frags;
	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET, &x, &y);
	cr_assert_eq(zsock_send_buf(a, c, 0), (ssize_t)total, "send: errno %d", errno);
	if (release_instead) {
		release_einval(c, "release after send");
		release_einval(frag, "release of a sent frag");
	} else {
		send_einval(a, c, "second send, same socket");
		send_einval(x, c, "second send, another socket");
		send_einval(x, frag, "send of a sent frag");
	}
	while (got < total) {
		struct net_buf *r;

		got += take_chain(b, 0, 6, got, &r);
		release_ok(r);
	}
	cr_assert_eq(got, total, "the stream got %zu bytes for one chain of %zu", got, total);
	cr_assert_eq(zsock_recv_buf(y, &none, ZSOCK_MSG_DONTWAIT), -1,
		     "the other socket received something");
	cr_assert_eq(errno, EAGAIN);
	/* and once the peer has acknowledged it, it is still not ours */
	zt_sleep_ms(50);
	if (release_instead)
		release_einval(c, "release after the ACK");
	else
		send_einval(x, c, "send after the ACK");
	cr_assert_eq(zsock_recv_buf(b, &none, ZSOCK_MSG_DONTWAIT), -1, "the chain went out twice");
	cr_assert_eq(errno, EAGAIN);
	zt_close(a);
	zt_close(b);
	zt_close(x);
	zt_close(y);
	transfer_still_works(AF_INET);
}

ZT_TEST(native, send_twice, .timeout = 60)
{
	handed_over(false);
}

ZT_TEST(native, release_after_send, .timeout = 60)
{
	handed_over(true);
}

/*
 * Forwarding: a received chain sent on a TCP socket goes out as it is (no
 * copy), from any socket, TCP or UDP, the one it came from included; it is
 * the engine's from then on (no release, no second send); a buffer inside
 * it is no chain of its own; a UDP socket does not take one.
 */
ZT_TEST(native, forward_a_received_chain, .timeout = 60)
{
	struct zsock_engine_stats st0, st1;
	struct net_buf *r, *r2, *u;
	int a, b, c, d, ua, ub;
	size_t got;
	struct walk w;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET6, &c, &d);
	zt_udp_pair(AF_INET6, &ua, &ub);
	zt_stats(&st0);
	r = received_chain(a, b, 8, 600);
	send_einval(ua, r, "a received chain on a UDP socket");
	cr_assert_eq(zsock_send_buf(c, r, 0), 600, "forward: errno %d", errno);
	release_einval(r, "release of a forwarded chain");
	send_einval(c, r, "second forward");
	cr_assert_eq(take_chain(d, 0, 8, 0, &r2), 600);
	release_ok(r2);

	/* segments joined into one chain: forwarded whole, not from inside */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(zsock_send_buf(a, one_buf(10, (uint64_t)i * 500, 500), 0), 500);
		wait_queued(b, (i + 1) * 500);
	}
	cr_assert_eq(take_chain(b, ZSOCK_MSG_DONTWAIT, 10, 0, &r), 1500);
	w = walk_chain(r, 10, 0);
	cr_assert_geq(w.nbufs, 3);
	send_einval(c, r->frags, "a buffer inside a received chain");
	cr_assert_eq(zsock_send_buf(c, r, 0), 1500, "forward: errno %d", errno);
	for (got = 0; got < 1500;) {
		got += take_chain(d, 0, 10, got, &r2);
		release_ok(r2);
	}

	/* back on the socket it came from: an echo */
	r = received_chain(a, b, 11, 700);
	cr_assert_eq(zsock_send_buf(b, r, 0), 700, "echo: errno %d", errno);
	cr_assert_eq(take_chain(a, 0, 11, 0, &r2), 700);
	release_ok(r2);

	/* a datagram into a stream */
	cr_assert_eq(zsock_send_buf(ua, one_buf(12, 0, 300), 0), 300);
	cr_assert_eq(take_chain(ub, 0, 12, 0, &u), 300);
	cr_assert_eq(zsock_send_buf(c, u, 0), 300, "datagram forward: errno %d", errno);
	cr_assert_eq(take_chain(d, 0, 12, 0, &r2), 300);
	release_ok(r2);

	/* and not a byte copied on the way */
	zt_stats(&st1);
	cr_assert_eq(st1.tx_bytes_copied, st0.tx_bytes_copied, "%llu bytes copied in",
		     (unsigned long long)(st1.tx_bytes_copied - st0.tx_bytes_copied));
	cr_assert_eq(st1.rx_bytes_copied, st0.rx_bytes_copied);
	zt_close(a);
	zt_close(b);
	zt_close(c);
	zt_close(d);
	zt_close(ua);
	zt_close(ub);
}

/* A relay: a's stream through b, forwarded onto c, arrives whole at d,
 * with a budget of 3 buffers so that the forwarder waits for it. */
ZT_TEST(native, forward_stream_through_a_relay, .timeout = 120)
{
	struct nsend s = { .seed = 0xf0d, .total = 4 * MiB, .max_bufs = 4, .mixed = true,
			   .shut_wr = true };
	struct nrecv r = { .seed = 0xf0d, .total = 4 * MiB, .mixed = true, .expect_eof = true };
	size_t fwd = 0;
	pthread_t ts, tr;
	int a, b, c, d;

	zs_nbuf_fwd_max_set(3);
	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET6, &c, &d);
	s.fd = a;
	r.fd = d;
	ts = zt_spawn(nsend_main, &s);
	tr = zt_spawn(nrecv_main, &r);
	for (;;) {
		struct net_buf *h;
		ssize_t n = zsock_recv_buf(b, &h, 0);

		cr_assert_geq(n, 0, "relay recv_buf: errno %d", errno);
		if (n == 0)
			break;
		cr_assert_eq(zsock_send_buf(c, h, 0), n, "relay forward: errno %d", errno);
		fwd += (size_t)n;
	}
	cr_assert_eq(zsock_shutdown(c, ZSOCK_SHUT_WR), 0);
	cr_assert(zt_join(ts, JOIN_MS), "sender hangs");
	cr_assert(zt_join(tr, JOIN_MS), "receiver hangs");
	zs_nbuf_fwd_max_set(0);
	check_send(&s, "sender");
	check_recv(&r, "receiver");
	cr_assert_eq(fwd, 4 * MiB);
	zt_close(a);
	zt_close(b);
	zt_close(c);
	zt_close(d);
}

/*
 * The budget: with the far end not reading, forwarded buffers stop
 * leaving once its window is full; with the budget (2) taken, a further
 * forward says EAGAIN although POLLOUT is set (ring and pool have room),
 * and the chain stays the caller's. The far end reading frees it.
 */
ZT_TEST(native, forward_budget, .timeout = 60)
{
	struct net_buf *r, *held = NULL;
	size_t sent = 0, fwd = 0, got = 0, held_n = 0;
	int a, b, c, d;
	int64_t t0 = zt_now_ms();

	zs_nbuf_fwd_max_set(2);
	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET, &c, &d);
	while (held == NULL) {
		ssize_t n;

		cr_assert_lt(zt_now_ms() - t0, 20000, "the budget never ran out");
		if (sent < fwd + 64 * KiB) {
			struct net_buf *c = one_buf(14, sent, TXSZ);

			if (zsock_send_buf(a, c, ZSOCK_MSG_DONTWAIT) == TXSZ)
				sent += TXSZ;
			else
				release_ok(c); /* a full ring: still ours */
		}
		n = zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT);
		if (n < 0) {
			cr_assert_eq(errno, EAGAIN);
			zt_sleep_ms(1);
			continue;
		}
		if (zsock_send_buf(c, r, ZSOCK_MSG_DONTWAIT) == n) {
			fwd += (size_t)n;
			continue;
		}
		cr_assert_eq(errno, EAGAIN, "forward: errno %d", errno);
		held = r;
		held_n = (size_t)n;
	}
	cr_assert_eq(walk_chain(held, 14, fwd).bad, SIZE_MAX, "a refused chain changed");
	cr_assert(zt_poll1(c, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT,
		  "no POLLOUT: the refusal was the ring's or the pool's, not the budget's");
	/* the far end reads: the budget comes back and the chain goes */
	for (;;) {
		struct net_buf *x;
		ssize_t n = zsock_recv_buf(d, &x, ZSOCK_MSG_DONTWAIT);

		if (n > 0) {
			cr_assert_eq(walk_chain(x, 14, got).bad, SIZE_MAX);
			got += (size_t)n;
			release_ok(x);
		}
		if (held != NULL && zsock_send_buf(c, held, ZSOCK_MSG_DONTWAIT) == (ssize_t)held_n) {
			fwd += held_n;
			held = NULL;
		}
		if (held == NULL && got == fwd)
			break;
		cr_assert_lt(zt_now_ms() - t0, 40000, "stuck: %zu forwarded, %zu read", fwd, got);
		if (n <= 0)
			zt_sleep_ms(1);
	}
	zs_nbuf_fwd_max_set(0);
	zt_close(a);
	zt_close(b);
	zt_close(c);
	zt_close(d);
}

ZT_TEST(native, len_over_size, .timeout = 60)
{
	const uint16_t lens[3] = { 10, 10, 10 };
	struct net_buf *c = make_chain(10, 0, lens, 3, 0);
	int a, b, ua, ub;

	cr_assert_not_null(c);
	zt_tcp_pair(AF_INET, &a, &b);
	zt_udp_pair(AF_INET, &ua, &ub);
	cr_assert_eq(c->size, TXSZ, "size %u, want %d", c->size, TXSZ);
	c->len = (uint16_t)(c->size + 1);
	send_einval(a, c, "head len > size (TCP)");
	send_einval(ua, c, "head len > size (UDP)");
	c->len = 10;
	c->frags->frags->len = UINT16_MAX;
	send_einval(a, c, "last len > size (TCP)");
	send_einval(ua, c, "last len > size (UDP)");
	errno = 0;
	cr_assert_eq(zsock_buf_release(c), -1, "release of a chain with len > size succeeded");
	cr_assert_eq(errno, EINVAL, "release errno %d, want EINVAL", errno);
	c->frags->frags->len = 10;
	cr_assert_eq(tx_in_use(), 3, "a failed send changed the pool");
	/* still ours, and sendable once fixed */
	cr_assert_eq(zsock_send_buf(a, c, 0), 30, "fixed chain: errno %d", errno);
	{
		struct net_buf *r;
		size_t got = 0;

		while (got < 30) {
			got += take_chain(b, 0, 10, got, &r);
			release_ok(r);
		}
	}
	cr_assert_eq(zsock_recv_buf(ub, &c, ZSOCK_MSG_DONTWAIT), -1, "a bad datagram went out");
	cr_assert_eq(errno, EAGAIN);
	zt_close(a);
	zt_close(b);
	zt_close(ua);
	zt_close(ub);
	transfer_still_works(AF_INET);
}

/* A loop in ->frags: every call that walks the chain fails, none hangs. */
struct loopcall {
	int tcp, udp;
	struct net_buf *c;
	int rc[3], err[3];
	bool done;
};

static void *loopcall_main(void *p)
{
	struct loopcall *l = p;

	l->rc[0] = (int)zsock_send_buf(l->tcp, l->c, 0);
	l->err[0] = errno;
	l->rc[1] = (int)zsock_send_buf(l->udp, l->c, 0);
	l->err[1] = errno;
	l->rc[2] = zsock_buf_release(l->c);
	l->err[2] = errno;
	__atomic_store_n(&l->done, true, __ATOMIC_RELEASE);
	return NULL;
}

ZT_TEST(native, chain_with_a_loop, .timeout = 60)
{
	static const char *const calls[3] = { "TCP send_buf", "UDP send_buf", "release" };
	const uint16_t lens[4] = { 1, 1, 1, 1 };
	struct net_buf *c = make_chain(11, 0, lens, 4, 0), *last;
	int a, b, ua, ub;

	cr_assert_not_null(c);
	last = c->frags->frags->frags;
	zt_tcp_pair(AF_INET, &a, &b);
	zt_udp_pair(AF_INET, &ua, &ub);
	/* a self loop on the head, a loop back to the head, one back to the middle */
	for (int shape = 0; shape < 3; shape++) {
		struct loopcall l = { .tcp = a, .udp = ua, .c = c };
		struct net_buf *saved = c->frags;
		pthread_t t;

		if (shape == 0)
			c->frags = c;
		else
			last->frags = shape == 1 ? c : c->frags;
		t = zt_spawn(loopcall_main, &l);
		cr_assert(zt_join(t, 10000), "shape %d: a call on a looped chain hangs", shape);
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(l.rc[i], -1, "shape %d: %s succeeded", shape, calls[i]);
			cr_assert(l.err[i] == EINVAL || (i == 1 && l.err[i] == EMSGSIZE),
				  "shape %d: %s errno %d, want EINVAL", shape, calls[i], l.err[i]);
		}
		c->frags = saved;
		last->frags = NULL;
	}
	cr_assert_eq(tx_in_use(), 4, "the failed calls changed the pool");
	release_ok(c);
	cr_assert_eq(zsock_recv_buf(b, &c, ZSOCK_MSG_DONTWAIT), -1, "a looped chain went out");
	cr_assert_eq(zsock_recv_buf(ub, &c, ZSOCK_MSG_DONTWAIT), -1, "a looped chain went out");
	zt_close(a);
	zt_close(b);
	zt_close(ua);
	zt_close(ub);
	transfer_still_works(AF_INET);
}

/* A chain with a buffer that is not the caller's: the call fails, and the
 * buffers before it are still the caller's. */
ZT_TEST(native, chain_with_a_foreign_frag, .timeout = 60)
{
	struct net_buf on_stack, *c, *r, *sent;
	int a, b;

	memset(&on_stack, 0, sizeof(on_stack));
	zt_tcp_pair(AF_INET, &a, &b);
	c = one_buf(12, 0, 50);
	c->frags = &on_stack;
	send_einval(a, c, "a stack struct as frag");
	release_einval(c, "a stack struct as frag");

	r = received_chain(a, b, 13, 80);
	c->frags = r;
	send_einval(a, c, "a received chain as frag");
	release_einval(c, "a received chain as frag");

	sent = one_buf(14, 0, 10);
	cr_assert_eq(zsock_send_buf(a, sent, 0), 10);
	c->frags = sent;
	send_einval(a, c, "a sent buffer as frag");
	release_einval(c, "a sent buffer as frag");

	c->frags = NULL;
	release_ok(c);
	release_ok(r);
	{
		struct net_buf *x;

		cr_assert_eq(take_chain(b, 0, 14, 0, &x), 10, "the sent buffer's bytes");
		release_ok(x);
	}
	cr_assert_eq(zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT), -1, "a failed send went out");
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

/* ---- two threads with one chain: exactly one wins -------------------------------------- */

#define RACE_ROUNDS 300       /* rounds that need a round trip each */
#define RACE_ROUNDS_FAST 3000 /* rounds without one */

enum race_op { RACE_RELEASE, RACE_SEND };

struct race {
	pthread_barrier_t start, end;
	struct net_buf *chain;   /* this round's, set before start */
	enum race_op op[2];
	int fd[2];
	int rc[2], err[2];
	bool stop;
};

struct racer {
	struct race *r;
	int me;
};

static void *racer_main(void *p)
{
	struct racer *me = p;
	struct race *r = me->r;

	for (;;) {
		pthread_barrier_wait(&r->start);
		if (r->stop)
			break;
		if (r->op[me->me] == RACE_RELEASE)
			r->rc[me->me] = zsock_buf_release(r->chain);
		else
			r->rc[me->me] = (int)zsock_send_buf(r->fd[me->me], r->chain, 0);
		r->err[me->me] = errno;
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static void race_start(struct race *r, pthread_t t[2], struct racer me[2])
{
	pthread_barrier_init(&r->start, NULL, 3);
	pthread_barrier_init(&r->end, NULL, 3);
	for (int i = 0; i < 2; i++) {
		me[i] = (struct racer){ r, i };
		t[i] = zt_spawn(racer_main, &me[i]);
	}
}

static void race_round(struct race *r, struct net_buf *c)
{
	r->chain = c;
	r->rc[0] = r->rc[1] = 99;
	pthread_barrier_wait(&r->start);
	pthread_barrier_wait(&r->end);
}

static void race_stop(struct race *r, pthread_t t[2])
{
	r->stop = true;
	pthread_barrier_wait(&r->start);
	for (int i = 0; i < 2; i++)
		cr_assert(zt_join(t[i], 10000), "racer %d hangs", i);
	pthread_barrier_destroy(&r->start);
	pthread_barrier_destroy(&r->end);
}

/* rc of the two racers: one success (0 or the bytes), one -1/EINVAL; which won. */
static int one_winner(const struct race *r, int round, ssize_t ok)
{
	int w = r->rc[0] == ok ? 0 : 1;

	cr_assert((r->rc[0] == ok) != (r->rc[1] == ok), "round %d: results %d and %d", round,
		  r->rc[0], r->rc[1]);
	cr_assert_eq(r->rc[1 - w], -1, "round %d: loser returned %d", round, r->rc[1 - w]);
	cr_assert_eq(r->err[1 - w], EINVAL, "round %d: loser errno %d", round, r->err[1 - w]);
	return w;
}

ZT_TEST(native, two_threads_release_one_transmit_chain, .timeout = 120)
{
	struct race r = { .op = { RACE_RELEASE, RACE_RELEASE } };
	const uint16_t lens[4] = { 1, TXSZ, 2, 3 };
	struct racer me[2];
	pthread_t t[2];

	race_start(&r, t, me);
	for (int i = 0; i < RACE_ROUNDS_FAST; i++) {
		struct net_buf *c = make_chain(15, 0, lens, 4, 0);

		cr_assert_not_null(c);
		race_round(&r, c);
		one_winner(&r, i, 0);
		cr_assert_eq(tx_in_use(), 0, "round %d: %u buffers left taken", i, tx_in_use());
	}
	race_stop(&r, t);
	transfer_still_works(AF_INET);
}

ZT_TEST(native, two_threads_release_one_received_chain, .timeout = 120)
{
	struct race r = { .op = { RACE_RELEASE, RACE_RELEASE } };
	struct racer me[2];
	pthread_t t[2];
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	race_start(&r, t, me);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		race_round(&r, received_chain(a, b, 16 + (uint64_t)i, 100));
		one_winner(&r, i, 0);
	}
	race_stop(&r, t);
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

/* One thread sends the chain while another releases it: if the send wins,
 * the bytes arrive; if the release wins, nothing does. */
ZT_TEST(native, send_races_release, .timeout = 120)
{
	struct race r = { .op = { RACE_SEND, RACE_RELEASE } };
	struct racer me[2];
	pthread_t t[2];
	int a, b, sends = 0;

	zt_tcp_pair(AF_INET, &a, &b);
	nodelay(a);
	r.fd[0] = a;
	race_start(&r, t, me);
	for (int i = 0; i < RACE_ROUNDS_FAST; i++) {
		const uint16_t lens[2] = { 5, 6 };
		struct net_buf *c = make_chain(0x1000 + (uint64_t)i, 0, lens, 2, 0), *x;
		int w;

		cr_assert_not_null(c);
		race_round(&r, c);
		/* racer 0 sends (11 bytes when it wins), racer 1 releases (0) */
		cr_assert((r.rc[0] == 11) != (r.rc[1] == 0), "round %d: send %d, release %d", i,
			  r.rc[0], r.rc[1]);
		w = r.rc[0] == 11 ? 0 : 1;
		cr_assert_eq(r.rc[1 - w], -1, "round %d: loser returned %d", i, r.rc[1 - w]);
		cr_assert_eq(r.err[1 - w], EINVAL, "round %d: loser errno %d", i, r.err[1 - w]);
		if (w == 0) {
			size_t got = 0;

			sends++;
			while (got < 11) {
				got += take_chain(b, 0, 0x1000 + (uint64_t)i, got, &x);
				release_ok(x);
			}
		} else {
			cr_assert_eq(zsock_recv_buf(b, &x, ZSOCK_MSG_DONTWAIT), -1,
				     "round %d: a released chain was sent", i);
		}
	}
	race_stop(&r, t);
	cr_log_info("send won %d of %d rounds", sends, RACE_ROUNDS_FAST);
	zt_close(a);
	zt_close(b);
	transfer_still_works(AF_INET);
}

/* Two threads send one chain on two sockets: only one peer gets it. */
ZT_TEST(native, two_threads_send_one_chain, .timeout = 120)
{
	struct race r = { .op = { RACE_SEND, RACE_SEND } };
	struct racer me[2];
	pthread_t t[2];
	int a, b, x, y;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET, &x, &y);
	nodelay(a);
	nodelay(x);
	r.fd[0] = a;
	r.fd[1] = x;
	race_start(&r, t, me);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		struct net_buf *c = one_buf(0x2000 + (uint64_t)i, 0, 9), *got;
		int w;

		race_round(&r, c);
		w = one_winner(&r, i, 9);
		cr_assert_eq(take_chain(w == 0 ? b : y, 0, 0x2000 + (uint64_t)i, 0, &got), 9);
		release_ok(got);
		cr_assert_eq(zsock_recv_buf(w == 0 ? y : b, &got, ZSOCK_MSG_DONTWAIT), -1,
			     "round %d: both peers got the chain", i);
	}
	race_stop(&r, t);
	zt_close(a);
	zt_close(b);
	zt_close(x);
	zt_close(y);
	transfer_still_works(AF_INET);
}

/* ---- pool exhaustion and recovery -------------------------------------------------------- */

/* Take every transmit buffer; asserts the count and the buffers' promises. */
static int drain_pool(struct net_buf **all)
{
	int n = 0;

	for (;;) {
		struct net_buf *b = zsock_buf_alloc(0);

		if (b == NULL)
			break;
		cr_assert_lt(n, TXN, "more than %d buffers from a pool of %d", TXN, TXN);
		cr_assert_eq(b->len, 0, "a new buffer has len %u", b->len);
		cr_assert_null(b->frags, "a new buffer has frags");
		cr_assert_eq(b->size, TXSZ, "size %u, want %d", b->size, TXSZ);
		cr_assert_not_null(b->data);
		memset(b->data, 0xa5, b->size); /* all of it is ours to write */
		all[n++] = b;
	}
	cr_assert_eq(errno, ENOMEM, "empty pool, timeout 0: errno %d, want ENOMEM", errno);
	return n;
}

/* Link all[from .. to) into one chain. */
static struct net_buf *link_all(struct net_buf **all, int from, int to)
{
	for (int i = from; i < to; i++)
		all[i]->frags = i + 1 < to ? all[i + 1] : NULL;
	return all[from];
}

ZT_TEST(native, pool_exhaustion_and_recovery, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct zsock_engine_stats st;
	int64_t t0, dt;
	int n;

	n = drain_pool(all);
	cr_assert_eq(n, TXN, "got %d buffers from a pool of %d", n, TXN);
	zt_stats(&st);
	cr_assert_eq(st.tx_bufs_in_use, TXN);
	/* all distinct, storage not shared */
	for (int i = 1; i < n; i++)
		cr_assert(all[i] != all[i - 1] && all[i]->data != all[i - 1]->data);

	t0 = zt_now_ms();
	cr_assert_null(zsock_buf_alloc(50), "a buffer from an empty pool");
	dt = zt_now_ms() - t0;
	cr_assert_eq(errno, EAGAIN, "timed out: errno %d, want EAGAIN", errno);
	cr_assert_geq(dt, 50, "gave up after %lld ms of 50", (long long)dt);
	cr_assert_lt(dt, 1000, "gave up after %lld ms of 50", (long long)dt);

	/* the whole pool as one chain is a legal chain to give back */
	release_ok(link_all(all, 0, n));
	zt_stats(&st);
	cr_assert_eq(st.tx_bufs_in_use, 0, "%u in use after releasing all", st.tx_bufs_in_use);
	/* and all of it can be had again */
	n = drain_pool(all);
	cr_assert_eq(n, TXN);
	for (int i = 0; i < n; i++)
		release_ok(all[i]);
	transfer_still_works(AF_INET);
}

/* A thread blocked in zsock_buf_alloc(). */
struct blocked_alloc {
	int32_t timeout;
	struct net_buf *got;
	int err;
	int64_t returned_at;
};

static void *blocked_alloc_main(void *p)
{
	struct blocked_alloc *b = p;

	b->got = zsock_buf_alloc(b->timeout);
	b->err = errno;
	__atomic_store_n(&b->returned_at, zt_now_ms(), __ATOMIC_RELEASE);
	return NULL;
}

/* Start a blocked zsock_buf_alloc() on an empty pool and check it waits. */
static pthread_t start_blocked_alloc(struct blocked_alloc *b)
{
	pthread_t t = zt_spawn(blocked_alloc_main, b);

	zt_sleep_ms(NOT_YET_MS);
	cr_assert_eq(__atomic_load_n(&b->returned_at, __ATOMIC_ACQUIRE), 0,
		     "zsock_buf_alloc(%d) returned on an empty pool (errno %d)", b->timeout,
		     b->err);
	return t;
}

/* ... and that it wakes within WAKE_MS of `since` with a buffer, which it returns. */
static struct net_buf *expect_woken(struct blocked_alloc *b, pthread_t t, int64_t since,
				    const char *how)
{
	cr_assert(zt_join(t, WAKE_MS + 1000), "%s: zsock_buf_alloc(%d) still blocked", how,
		  b->timeout);
	cr_assert_not_null(b->got, "%s: zsock_buf_alloc(%d) failed, errno %d", how, b->timeout,
			   b->err);
	cr_assert_lt(b->returned_at - since, WAKE_MS, "%s: woke %lld ms after the buffer came back",
		     how, (long long)(b->returned_at - since));
	return b->got;
}

ZT_TEST(native, alloc_woken_by_a_release_from_another_thread, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct blocked_alloc forever = { .timeout = -1 }, timed = { .timeout = 20000 };
	int n = drain_pool(all);
	pthread_t t;
	int64_t now;

	t = start_blocked_alloc(&forever);
	now = zt_now_ms();
	release_ok(all[n - 1]);
	all[n - 1] = expect_woken(&forever, t, now, "release, timeout -1");

	t = start_blocked_alloc(&timed);
	now = zt_now_ms();
	release_ok(all[n - 1]);
	all[n - 1] = expect_woken(&timed, t, now, "release, timeout 20000");

	release_ok(link_all(all, 0, n));
	cr_assert_eq(tx_in_use(), 0);
}

/* Buffers a TCP send took come back once acknowledged, and wake the waiter. */
ZT_TEST(native, alloc_woken_when_sent_buffers_are_acked, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct blocked_alloc w = { .timeout = -1 };
	int n, a, b;
	pthread_t t;
	int64_t now;
	size_t got = 0;

	zt_tcp_pair(AF_INET, &a, &b);
	n = drain_pool(all);
	t = start_blocked_alloc(&w);
	now = zt_now_ms();
	for (int i = n - 4; i < n; i++) {
		zt_pattern(17, (uint64_t)(i - (n - 4)) * 100, all[i]->data, 100);
		all[i]->len = 100;
	}
	cr_assert_eq(zsock_send_buf(a, link_all(all, n - 4, n), 0), 400, "errno %d", errno);
	n -= 4;
	all[n++] = expect_woken(&w, t, now, "TCP send acknowledged");
	while (got < 400) {
		struct net_buf *r;

		got += take_chain(b, 0, 17, got, &r);
		release_ok(r);
	}
	release_ok(link_all(all, 0, n));
	zt_close(a);
	zt_close(b);
}

/* A UDP datagram's buffers come back when the send returns. */
ZT_TEST(native, alloc_woken_when_a_datagram_is_sent, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct blocked_alloc w = { .timeout = -1 };
	struct net_buf *r;
	int n, a, b;
	pthread_t t;
	int64_t now;

	zt_udp_pair(AF_INET, &a, &b);
	n = drain_pool(all);
	t = start_blocked_alloc(&w);
	now = zt_now_ms();
	zt_pattern(18, 0, all[n - 1]->data, 64);
	all[n - 1]->len = 64;
	cr_assert_eq(zsock_send_buf(a, all[--n], 0), 64, "errno %d", errno);
	cr_assert_eq(take_chain(b, 0, 18, 0, &r), 64);
	release_ok(r);
	all[n++] = expect_woken(&w, t, now, "UDP datagram sent");
	release_ok(link_all(all, 0, n));
	zt_close(a);
	zt_close(b);
}

/* A TCP chain of empty buffers is taken (0 bytes) and its buffers freed. */
ZT_TEST(native, alloc_woken_when_an_empty_chain_is_sent, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct blocked_alloc w = { .timeout = -1 };
	int n, a, b;
	pthread_t t;
	int64_t now;

	zt_tcp_pair(AF_INET, &a, &b);
	n = drain_pool(all);
	t = start_blocked_alloc(&w);
	now = zt_now_ms();
	cr_assert_eq(zsock_send_buf(a, all[--n], 0), 0, "an empty chain: errno %d", errno);
	all[n++] = expect_woken(&w, t, now, "empty TCP chain sent");
	release_ok(link_all(all, 0, n));
	zt_close(a);
	zt_close(b);
}

/* A native caller holding the whole pool: BSD sends wait (or EAGAIN), and
 * go on once it lets go. */
struct bsd_send {
	int fd;
	size_t len;
	ssize_t rc;
	int err;
};

static void *bsd_send_main(void *p)
{
	struct bsd_send *s = p;
	uint8_t buf[4000];

	zt_pattern(19, 0, buf, s->len);
	s->rc = zsock_send(s->fd, buf, s->len, 0);
	s->err = errno;
	return NULL;
}

ZT_TEST(native, bsd_send_waits_for_the_pool, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct bsd_send s = { .len = 4000 };
	uint8_t in[4000];
	char c = 'x';
	pthread_t t;
	int n, a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	n = drain_pool(all);
	errno = 0;
	cr_assert_eq(zsock_send(a, &c, 1, ZSOCK_MSG_DONTWAIT), -1, "BSD send with no pool");
	cr_assert_eq(errno, EAGAIN, "errno %d", errno);
	s.fd = a;
	t = zt_spawn(bsd_send_main, &s);
	zt_sleep_ms(NOT_YET_MS);
	cr_assert_eq(zsock_poll(&(struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN }, 1, 0), 0,
		     "data went out with an empty pool");
	release_ok(link_all(all, 0, n));
	cr_assert(zt_join(t, WAKE_MS + 1000), "BSD send still blocked after the release");
	cr_assert_gt(s.rc, 0, "send: errno %d", s.err);
	zt_recv_all(b, in, (size_t)s.rc);
	cr_assert_eq(zt_pattern_check(19, 0, in, (size_t)s.rc), (size_t)s.rc);
	zt_close(a);
	zt_close(b);
}

/* ---- poll ---------------------------------------------------------------------------------- */

/* POLLIN, checked at rest, against what zsock_recv_buf does. */
static void pollin_matches(int fd, bool want, const char *when)
{
	short ev = zt_poll1(fd, ZSOCK_POLLIN, 0);

	cr_assert_eq((ev & ZSOCK_POLLIN) != 0, want, "%s: POLLIN %s", when,
		     want ? "missing" : "set");
}

/* Wait until FIONREAD says n bytes are queued on fd. */
static void wait_queued(int fd, int n)
{
	int64_t end = zt_now_ms() + 5000;
	int avail = -1;

	while (zt_now_ms() < end) {
		cr_assert_eq(zsock_ioctl(fd, FIONREAD, &avail), 0, "FIONREAD: errno %d", errno);
		if (avail >= n)
			return;
		zt_sleep_ms(2);
	}
	cr_assert_fail("only %d of %d bytes arrived", avail, n);
}

struct delayed_send {
	int fd;
	int delay_ms;
	uint64_t seed;
	uint16_t len;
	ssize_t rc;
	int err;
};

static void *delayed_send_main(void *p)
{
	struct delayed_send *d = p;
	struct net_buf *c;

	zt_sleep_ms(d->delay_ms);
	c = make_chain(d->seed, 0, &d->len, 1, -1);
	if (c == NULL) {
		d->err = errno;
		return NULL;
	}
	d->rc = zsock_send_buf(d->fd, c, 0);
	d->err = errno;
	if (d->rc < 0)
		(void)zsock_buf_release(c);
	return NULL;
}

static void pollin_tcp(int family)
{
	struct delayed_send d = { .delay_ms = 100, .seed = 21, .len = 700 };
	struct net_buf *r, *r2;
	struct zsock_pollfd p;
	uint8_t part[10];
	pthread_t t;
	int64_t t0;
	int a, b;

	zt_tcp_pair(family, &a, &b);
	pollin_matches(b, false, "nothing sent");
	cr_assert_eq(zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN);

	/* a blocked poll wakes when a native send arrives */
	d.fd = a;
	t = zt_spawn(delayed_send_main, &d);
	p = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	t0 = zt_now_ms();
	cr_assert_eq(zsock_poll(&p, 1, 5000), 1, "poll: no POLLIN in 5 s");
	cr_assert(p.revents & ZSOCK_POLLIN);
	cr_assert_lt(zt_now_ms() - t0, WAKE_MS);
	cr_assert(zt_join(t, 5000));
	cr_assert_eq(d.rc, 700, "delayed send: errno %d", d.err);
	wait_queued(b, 700);

	/* read 10 bytes the BSD way: the rest is still POLLIN and recv_buf's */
	cr_assert_eq(zsock_recv(b, part, sizeof(part), 0), 10);
	pollin_matches(b, true, "after a partial zsock_recv");
	cr_assert_eq(take_chain(b, ZSOCK_MSG_DONTWAIT, 21, 10, &r), 690);
	/* holding the chain: nothing more to take, so no POLLIN */
	pollin_matches(b, false, "everything taken, a chain held");
	cr_assert_eq(zsock_recv_buf(b, &r2, ZSOCK_MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN);
	release_ok(r);
	pollin_matches(b, false, "everything taken and released");

	/* several chains queued: POLLIN until the last is taken */
	for (int i = 0; i < 3; i++) {
		struct net_buf *c = one_buf(22, (uint64_t)i * 100, 100);

		cr_assert_eq(zsock_send_buf(a, c, 0), 100);
	}
	wait_queued(b, 300);
	for (size_t got = 0; got < 300;) {
		pollin_matches(b, true, "chains queued");
		got += take_chain(b, ZSOCK_MSG_DONTWAIT, 22, got, &r);
		release_ok(r);
	}
	pollin_matches(b, false, "all taken");

	/* EOF: POLLIN, and zsock_recv_buf returns 0 without blocking */
	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0);
	cr_assert(zt_poll1(b, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, "no POLLIN at EOF");
	r = (struct net_buf *)part;
	cr_assert_eq(zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT), 0, "at EOF: errno %d", errno);
	cr_assert_null(r, "a chain at EOF");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, pollin_tcp_ipv4, .timeout = 60)
{
	pollin_tcp(AF_INET);
}

ZT_TEST(native, pollin_tcp_ipv6, .timeout = 60)
{
	pollin_tcp(AF_INET6);
}

ZT_TEST(native, pollin_udp, .timeout = 60)
{
	struct net_buf *r;
	int a, b;

	zt_udp_pair(AF_INET6, &a, &b);
	pollin_matches(b, false, "nothing sent");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(zsock_send_buf(a, one_buf(23 + (uint64_t)i, 0, 50), 0), 50);
	cr_assert(zt_poll1(b, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN);
	for (int i = 0; i < 3; i++) {
		struct zsock_pollfd p = { .fd = b, .events = ZSOCK_POLLIN };

		cr_assert_eq(zsock_poll(&p, 1, 5000), 1, "datagram %d: no POLLIN", i);
		cr_assert_eq(take_chain(b, ZSOCK_MSG_DONTWAIT, 23 + (uint64_t)i, 0, &r), 50);
		release_ok(r);
	}
	pollin_matches(b, false, "all taken");
	zt_close(a);
	zt_close(b);
}

/* POLLOUT needs room in the pool: an empty pool clears it, and a buffer
 * coming back sets it again and wakes a poll that waits for it. */
struct delayed_release {
	struct net_buf *c;
	int delay_ms;
	int rc;
	int64_t at;
};

static void *delayed_release_main(void *p)
{
	struct delayed_release *d = p;

	zt_sleep_ms(d->delay_ms);
	__atomic_store_n(&d->at, zt_now_ms(), __ATOMIC_RELEASE);
	d->rc = zsock_buf_release(d->c);
	return NULL;
}

/* A poll that does not wait sees the pool as it is now. */
ZT_TEST(native, pollout_follows_the_pool, .timeout = 60)
{
	static struct net_buf *all[TXN];
	int n, a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert(zt_poll1(a, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT, "no POLLOUT on a fresh pair");
	n = drain_pool(all);
	cr_assert_eq(zt_poll1(a, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT, 0,
		     "POLLOUT with an empty pool");
	release_ok(all[--n]);
	cr_assert(zt_poll1(a, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT,
		  "no POLLOUT with a buffer back in the pool (a send would not block)");
	release_ok(link_all(all, 0, n));
	cr_assert(zt_poll1(a, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT, "no POLLOUT with the pool full");
	zt_close(a);
	zt_close(b);
}

/* A poll waiting for POLLOUT on an empty pool wakes when a buffer comes back. */
ZT_TEST(native, pollout_wakes_when_the_pool_refills, .timeout = 60)
{
	static struct net_buf *all[TXN];
	struct delayed_release d = { .delay_ms = 200 };
	struct zsock_pollfd p;
	pthread_t t;
	int n, a, b, rc;

	zt_tcp_pair(AF_INET, &a, &b);
	n = drain_pool(all);
	d.c = all[--n];
	t = zt_spawn(delayed_release_main, &d);
	p = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLOUT };
	rc = zsock_poll(&p, 1, 3000);
	cr_assert(zt_join(t, 5000));
	cr_assert_eq(d.rc, 0);
	cr_assert_eq(rc, 1, "poll(POLLOUT) not woken when a buffer came back (rc %d)", rc);
	cr_assert(p.revents & ZSOCK_POLLOUT);
	cr_assert_lt(zt_now_ms() - d.at, WAKE_MS, "poll woke late");
	release_ok(link_all(all, 0, n));
	zt_close(a);
	zt_close(b);
}

/*
 * Send full buffers of stream seed with MSG_DONTWAIT until the socket takes
 * no more, even after a pause (the reactor may still be draining the ring
 * when the first EAGAIN comes). Returns the bytes sent; *left gets the
 * buffer that was refused (the caller's).
 */
static size_t fill_until_stuck(int fd, uint64_t seed, struct net_buf **left)
{
	int64_t t0 = zt_now_ms();
	size_t sent = 0;
	int refusals = 0;

	for (;;) {
		struct net_buf *c = one_buf(seed, sent, TXSZ);

		if (zsock_send_buf(fd, c, ZSOCK_MSG_DONTWAIT) == TXSZ) {
			sent += TXSZ;
			refusals = 0;
			continue;
		}
		cr_assert_eq(errno, EAGAIN, "send_buf(MSG_DONTWAIT): errno %d", errno);
		if (++refusals == 3) {
			*left = c;
			return sent;
		}
		release_ok(c);
		zt_sleep_ms(100);
		cr_assert_lt(zt_now_ms() - t0, 20000, "the socket never filled up");
	}
}

/* POLLOUT clear when the socket's ring is full, and zsock_send_buf of one
 * buffer with MSG_DONTWAIT then says EAGAIN; the peer reading sets it again. */
ZT_TEST(native, pollout_follows_the_ring, .timeout = 60)
{
	size_t sent, got = 0;
	struct net_buf *c, *r;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	sent = fill_until_stuck(a, 24, &c);
	release_ok(c);
	cr_assert_eq(zt_poll1(a, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT, 0,
		     "POLLOUT while zsock_send_buf says EAGAIN");
	while (got < sent) {
		got += take_chain(b, 0, 24, got, &r);
		release_ok(r);
	}
	cr_assert(zt_poll1(a, ZSOCK_POLLOUT, 5000) & ZSOCK_POLLOUT, "no POLLOUT once drained");
	c = one_buf(24, sent, TXSZ);
	cr_assert_eq(zsock_send_buf(a, c, ZSOCK_MSG_DONTWAIT), TXSZ, "errno %d", errno);
	cr_assert_eq(take_chain(b, 0, 24, sent, &r), TXSZ);
	release_ok(r);
	zt_close(a);
	zt_close(b);
}

/* Bytes queued at fd once a stuck sender has filled the window. */
static int queued_when_stuck(int fd)
{
	int avail = -1, last = -2;

	/* settled: two readings 100 ms apart agree */
	while (avail != last) {
		last = avail;
		zt_sleep_ms(100);
		cr_assert_eq(zsock_ioctl(fd, FIONREAD, &avail), 0, "FIONREAD: errno %d", errno);
	}
	return avail;
}

/* Take what is queued at b, chain by chain, and give it back. */
static size_t drain_native(int b, uint64_t seed, size_t got, size_t goal)
{
	struct net_buf *r;

	while (got < goal) {
		got += take_chain(b, 0, seed, got, &r);
		release_ok(r);
	}
	return got;
}

/*
 * Segments queued since the last zsock_recv_buf() come as one chain (after
 * what a zsock_recv() read of the first), and its release gives the window
 * back for all of them: a stuck sender fills the same window afterwards as
 * before.
 */
ZT_TEST(native, queued_segments_come_as_one_chain, .timeout = 60)
{
	enum { SEGS = 4, SEG = 730 }; /* 2 MSS: the receiver announces that much more */
	struct net_buf *c, *r, *r2;
	size_t sent;
	uint8_t part[10];
	int a, b, window;
	struct walk w;

	zt_tcp_pair(AF_INET, &a, &b);
	nodelay(a);
	/* the window a stuck sender fills, before anything was joined */
	sent = fill_until_stuck(a, 31, &c);
	release_ok(c);
	window = queued_when_stuck(b);
	cr_assert_gt(window, 0);
	cr_assert_eq(drain_native(b, 31, 0, sent), sent);

	/* SEGS segments, each on the receive queue before the next is sent */
	for (int i = 0; i < SEGS; i++) {
		c = one_buf(32, (uint64_t)i * SEG, SEG);
		cr_assert_eq(zsock_send_buf(a, c, 0), SEG, "send_buf: errno %d", errno);
		wait_queued(b, (i + 1) * SEG);
	}
	cr_assert_eq(zsock_recv(b, part, sizeof(part), 0), (ssize_t)sizeof(part));
	cr_assert_eq(zt_pattern_check(32, 0, part, sizeof(part)), sizeof(part));
	cr_assert_eq(take_chain(b, ZSOCK_MSG_DONTWAIT, 32, sizeof(part), &r),
		     SEGS * SEG - sizeof(part), "the queued segments came in pieces");
	w = walk_chain(r, 32, sizeof(part));
	cr_assert_geq(w.nbufs, SEGS, "%d buffers for %d segments", w.nbufs, SEGS);
	pollin_matches(b, false, "everything taken in one chain");
	cr_assert_eq(zsock_recv_buf(b, &r2, ZSOCK_MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN);
	/* a joined chain's inner heads are not chains of their own */
	for (struct net_buf *f = r->frags; f != NULL; f = f->frags)
		release_einval(f, "a buffer inside a joined chain");
	release_ok(r);
	release_einval(r, "second release of a joined chain");

	/* the window is whole again: none of the joined segments' credit lost */
	sent = fill_until_stuck(a, 33, &c);
	release_ok(c);
	{
		int q = queued_when_stuck(b);

		cr_assert_eq(q, window, "%d bytes queued, window %d before the joined chain",
			     q, window);
	}
	cr_assert_eq(drain_native(b, 33, 0, sent), sent);
	zt_close(a);
	zt_close(b);
}

/* ---- EOF and errors ------------------------------------------------------------------------ */

static void eof(int family)
{
	struct net_buf *r, sentinel;
	int a, b;

	/* the peer closes after sending: data first, then 0 and no chain, for good */
	zt_tcp_pair(family, &a, &b);
	cr_assert_eq(zsock_send_buf(a, one_buf(25, 0, 333), 0), 333);
	zt_close(a);
	cr_assert_eq(take_chain(b, 0, 25, 0, &r), 333);
	release_ok(r);
	for (int i = 0; i < 3; i++) {
		r = &sentinel;
		cr_assert_eq(zsock_recv_buf(b, &r, 0), 0, "EOF #%d: errno %d", i, errno);
		cr_assert_null(r);
	}
	zt_close(b);

	/* the peer shuts down writing: EOF here, and the other way still works */
	zt_tcp_pair(family, &a, &b);
	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0);
	r = &sentinel;
	cr_assert_eq(zsock_recv_buf(b, &r, 0), 0, "after SHUT_WR: errno %d", errno);
	cr_assert_null(r);
	cr_assert_eq(zsock_send_buf(b, one_buf(26, 0, 44), 0), 44);
	cr_assert_eq(take_chain(a, 0, 26, 0, &r), 44);
	release_ok(r);
	zt_close(a);
	zt_close(b);

	/* SHUT_RD here: 0 at once */
	zt_tcp_pair(family, &a, &b);
	cr_assert_eq(zsock_shutdown(b, ZSOCK_SHUT_RD), 0);
	r = &sentinel;
	cr_assert_eq(zsock_recv_buf(b, &r, 0), 0, "after SHUT_RD: errno %d", errno);
	cr_assert_null(r);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, eof_ipv4, .timeout = 60)
{
	eof(AF_INET);
}

ZT_TEST(native, eof_ipv6, .timeout = 60)
{
	eof(AF_INET6);
}

ZT_TEST(native, reset_by_peer, .timeout = 60)
{
	struct linger l = { 1, 0 };
	struct net_buf *r, sentinel;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_setsockopt(a, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	zt_close(a);
	r = &sentinel;
	errno = 0;
	cr_assert_eq(zsock_recv_buf(b, &r, 0), -1, "recv_buf after a reset");
	cr_assert_eq(errno, ECONNRESET, "errno %d, want ECONNRESET", errno);
	cr_assert_null(r);
	/* a send on the dead connection fails and leaves the chain with us */
	r = one_buf(29, 0, 10);
	errno = 0;
	cr_assert_eq(zsock_send_buf(b, r, 0), -1, "send_buf on a reset connection");
	cr_assert(errno == ECONNRESET || errno == EPIPE, "errno %d", errno);
	release_ok(r);
	zt_close(b);
}

/* errno and "the chain is still the caller's" for a failed send. */
static void send_fails(int fd, struct net_buf *c, int flags, int want, const char *what)
{
	errno = 0;
	cr_assert_eq(zsock_send_buf(fd, c, flags), -1, "%s: send_buf succeeded", what);
	cr_assert_eq(errno, want, "%s: errno %d (%s), want %d (%s)", what, errno, strerror(errno),
		     want, strerror(want));
	cr_assert_eq(c->len, 100, "%s: the chain changed", what);
}

static void recv_fails(int fd, struct net_buf **out, int flags, int want, const char *what)
{
	struct net_buf sentinel;

	if (out != NULL)
		*out = &sentinel;
	errno = 0;
	cr_assert_eq(zsock_recv_buf(fd, out, flags), -1, "%s: recv_buf succeeded", what);
	cr_assert_eq(errno, want, "%s: errno %d (%s), want %d (%s)", what, errno, strerror(errno),
		     want, strerror(want));
	if (out != NULL)
		cr_assert_null(*out, "%s: *chain not NULL after a failure", what);
}

ZT_TEST(native, errors, .timeout = 60)
{
	struct net_buf *c = one_buf(27, 0, 100), *r;
	uint16_t port;
	int sv[2], a, b, l, fresh, closed, one = 1;

	zt_tcp_pair(AF_INET, &a, &b);
	l = zt_listener(AF_INET, 1, &port);
	fresh = zt_socket(AF_INET, SOCK_STREAM);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0, "socketpair: errno %d",
		     errno);
	closed = zt_socket(AF_INET, SOCK_DGRAM);
	zt_close(closed); /* nothing opened after it: the fd stays free */

	recv_fails(-1, &r, 0, EBADF, "fd -1");
	recv_fails(CONFIG_ZVFS_OPEN_MAX + 5, &r, 0, EBADF, "fd beyond the table");
	recv_fails(closed, &r, 0, EBADF, "a closed fd");
	send_fails(-1, c, 0, EBADF, "fd -1");
	send_fails(closed, c, 0, EBADF, "a closed fd");

	recv_fails(sv[0], &r, 0, EOPNOTSUPP, "a socketpair");
	send_fails(sv[0], c, 0, EOPNOTSUPP, "a socketpair");

	recv_fails(l, &r, 0, ENOTCONN, "a listener");
	recv_fails(fresh, &r, 0, ENOTCONN, "an unconnected TCP socket");
	send_fails(l, c, 0, ENOTCONN, "a listener");
	send_fails(fresh, c, 0, ENOTCONN, "an unconnected TCP socket");

	recv_fails(b, NULL, 0, EINVAL, "a NULL chain pointer");
	recv_fails(b, &r, ZSOCK_MSG_PEEK, EINVAL, "MSG_PEEK");
	recv_fails(b, &r, ZSOCK_MSG_WAITALL, EINVAL, "MSG_WAITALL");
	recv_fails(b, &r, 0x40000000, EINVAL, "an unknown flag");
	send_fails(a, c, ZSOCK_MSG_PEEK, EINVAL, "MSG_PEEK");
	send_fails(a, c, 0x40000000, EINVAL, "an unknown flag");
	errno = 0;
	cr_assert_eq(zsock_send_buf(a, NULL, 0), -1);
	cr_assert_eq(errno, EINVAL, "NULL chain: errno %d", errno);
	{
		struct sockaddr_storage ss;
		socklen_t len = zt_loopback(AF_INET, port, &ss);

		errno = 0;
		cr_assert_eq(zsock_sendto_buf(a, c, 0, (struct sockaddr *)&ss, len), -1);
		cr_assert_eq(errno, EISCONN, "TCP with a destination: errno %d", errno);
	}

	recv_fails(b, &r, ZSOCK_MSG_DONTWAIT, EAGAIN, "MSG_DONTWAIT, nothing queued");
	cr_assert_eq(zsock_ioctl(b, FIONBIO, &one), 0);
	recv_fails(b, &r, 0, EAGAIN, "O_NONBLOCK, nothing queued");

	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0);
	send_fails(a, c, 0, EPIPE, "after SHUT_WR");

	/* every failure left the chain with us */
	cr_assert_eq(zt_pattern_check(27, 0, c->data, 100), 100);
	release_ok(c);
	zt_close(sv[0]);
	zt_close(sv[1]);
	zt_close(fresh);
	zt_close(l);
	zt_close(a);
	zt_close(b);
}

struct blocked_recv {
	int fd;
	ssize_t rc;
	int err;
	struct net_buf *c;
};

static void *blocked_recv_main(void *p)
{
	struct blocked_recv *b = p;

	b->rc = zsock_recv_buf(b->fd, &b->c, 0);
	b->err = errno;
	return NULL;
}

ZT_TEST(native, recv_buf_interrupted_by_close, .timeout = 60)
{
	struct blocked_recv br = { 0 };
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	br.fd = b;
	t = zt_spawn(blocked_recv_main, &br);
	zt_sleep_ms(NOT_YET_MS);
	zt_close(b);
	cr_assert(zt_join(t, WAKE_MS + 1000), "recv_buf still blocked after close");
	cr_assert_eq(br.rc, -1, "recv_buf returned %zd", br.rc);
	cr_assert_eq(br.err, EINTR, "errno %d, want EINTR", br.err);
	cr_assert_null(br.c);
	zt_close(a);
}

struct blocked_send {
	int fd;
	struct net_buf *c;
	ssize_t rc;
	int err;
};

static void *blocked_send_main(void *p)
{
	struct blocked_send *b = p;

	b->rc = zsock_send_buf(b->fd, b->c, 0);
	b->err = errno;
	return NULL;
}

/* A send_buf blocked on a full socket fails when the fd is closed under
 * it, and the chain it was given is still the caller's. */
ZT_TEST(native, send_buf_interrupted_by_close, .timeout = 60)
{
	struct blocked_send bs = { 0 };
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	fill_until_stuck(a, 30, &bs.c);
	bs.fd = a;
	t = zt_spawn(blocked_send_main, &bs);
	zt_sleep_ms(NOT_YET_MS);
	zt_close(a);
	cr_assert(zt_join(t, WAKE_MS + 1000), "send_buf still blocked after close");
	cr_assert_eq(bs.rc, -1, "send_buf returned %zd after close", bs.rc);
	cr_log_info("send_buf interrupted by close: errno %d (%s)", bs.err, strerror(bs.err));
	release_ok(bs.c);
	zt_close(b);
}

/* Release of a held chain races the close of its socket, many times: the
 * socket object must go back to its pool once, whoever lets go last. */
ZT_TEST(native, release_races_close, .timeout = 60)
{
	for (int i = 0; i < 300; i++) {
		struct delayed_release d = { .delay_ms = 0, .rc = 99 };
		pthread_t t;
		int a, b;

		zt_tcp_pair(i % 2 ? AF_INET6 : AF_INET, &a, &b);
		d.c = received_chain(a, b, 56 + (uint64_t)i, 300);
		t = zt_spawn(delayed_release_main, &d);
		zt_close(b);
		cr_assert(zt_join(t, 5000));
		cr_assert_eq(d.rc, 0, "round %d: release failed", i);
		zt_close(a);
	}
	{
		struct zsock_engine_stats st;

		zt_engine_idle(ZT_LEAK_WAIT_MS, &st);
		cr_assert_eq(st.sockets_in_use, 0, "%u sockets in use after all closed (%d is a "
			     "socket returned to its pool twice)", st.sockets_in_use,
			     (int)st.sockets_in_use);
	}
	transfer_still_works(AF_INET);
}

/* ---- timeouts -------------------------------------------------------------------------------- */

#define T_MS 300

static void set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)), 0,
		     "setsockopt(%d): errno %d", opt, errno);
}

static void rcvtimeo(int fd)
{
	struct net_buf *r = NULL;
	int64_t t0, dt;

	set_timeo(fd, SO_RCVTIMEO, T_MS);
	t0 = zt_now_ms();
	cr_assert_eq(zsock_recv_buf(fd, &r, 0), -1, "recv_buf with nothing queued");
	dt = zt_now_ms() - t0;
	cr_assert_eq(errno, EAGAIN, "SO_RCVTIMEO expiry: errno %d", errno);
	cr_assert_null(r);
	cr_assert_geq(dt, T_MS, "gave up after %lld ms of %d", (long long)dt, T_MS);
	cr_assert_lt(dt, T_MS + 1000, "gave up after %lld ms of %d", (long long)dt, T_MS);
}

ZT_TEST(native, rcvtimeo_tcp, .timeout = 30)
{
	int a, b;

	zt_tcp_pair(AF_INET6, &a, &b);
	rcvtimeo(b);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, rcvtimeo_udp, .timeout = 30)
{
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	rcvtimeo(b);
	zt_close(a);
	zt_close(b);
}

/* SO_SNDTIMEO bounds a blocked zsock_send_buf; the chain stays the caller's. */
ZT_TEST(native, sndtimeo_send_buf, .timeout = 60)
{
	size_t sent, got = 0;
	struct net_buf *c, *r;
	int64_t t0, dt;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	sent = fill_until_stuck(a, 28, &c);
	set_timeo(a, SO_SNDTIMEO, T_MS);
	t0 = zt_now_ms();
	cr_assert_eq(zsock_send_buf(a, c, 0), -1, "send_buf into a full ring");
	dt = zt_now_ms() - t0;
	cr_assert_eq(errno, EAGAIN, "SO_SNDTIMEO expiry: errno %d", errno);
	cr_assert_geq(dt, T_MS, "gave up after %lld ms of %d", (long long)dt, T_MS);
	cr_assert_lt(dt, T_MS + 1000, "gave up after %lld ms of %d", (long long)dt, T_MS);
	/* still ours: it goes out once there is room */
	while (got < sent) {
		got += take_chain(b, 0, 28, got, &r);
		release_ok(r);
	}
	cr_assert_eq(zsock_send_buf(a, c, 0), TXSZ, "errno %d", errno);
	cr_assert_eq(take_chain(b, 0, 28, sent, &r), TXSZ);
	release_ok(r);
	zt_close(a);
	zt_close(b);
}

/* ---- UDP ------------------------------------------------------------------------------------- */

/* Datagrams of several buffers; one chain each, in order, with its source. */
static void udp_datagrams(int family)
{
	const uint16_t max_last = (uint16_t)((family == AF_INET ? 65507 : 65487) - 44 * TXSZ);
	static const struct {
		int n;
		uint16_t lens[4];      /* the first n-1 buffers; all full beyond 4 */
	} shapes[] = {
		{ 1, { 1 } }, { 1, { TXSZ } }, { 3, { 100, TXSZ, 7 } }, { 3, { 0, 50, 0 } },
		{ 4, { TXSZ, TXSZ, TXSZ, 1 } }, { 14, { TXSZ, TXSZ, TXSZ, TXSZ } },
		{ 45, { TXSZ, TXSZ, TXSZ, TXSZ } },
	};
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	uint16_t pa, pb;
	int a, b;

	a = zt_udp_bound(family, &pa); /* unconnected: sendto_buf */
	b = zt_udp_bound(family, &pb);
	tolen = zt_loopback(family, pb, &to);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		uint16_t lens[64];
		struct net_buf *c, *r;
		size_t len = 0;
		int n = shapes[i].n;

		for (int k = 0; k < n; k++) {
			lens[k] = k < 4 ? shapes[i].lens[k] : TXSZ;
			if (n == 45 && k == 44)
				lens[k] = max_last; /* the largest datagram */
			len += lens[k];
		}
		c = make_chain(30 + i, 0, lens, n, 0);
		cr_assert_not_null(c);
		cr_assert_eq(zsock_sendto_buf(a, c, 0, (struct sockaddr *)&to, tolen), (ssize_t)len,
			     "shape %zu (%zu bytes): errno %d", i, len, errno);
		cr_assert_eq(take_chain(b, 0, 30 + i, 0, &r), len, "shape %zu: length", i);
		fromlen = sizeof(from);
		memset(&from, 0, sizeof(from));
		cr_assert_eq(zsock_buf_peer(r, (struct sockaddr *)&from, &fromlen), 0,
			     "buf_peer: errno %d", errno);
		cr_assert(zt_is_loopback(&from, family), "shape %zu: source not loopback", i);
		cr_assert_eq(zt_port_of(&from), pa, "shape %zu: source port %u, want %u", i,
			     zt_port_of(&from), pa);
		cr_assert_eq(fromlen, family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6));
		release_ok(r);
	}
	/* a burst: every chain one datagram, in order */
	for (int i = 0; i < 20; i++) {
		uint16_t lens[2] = { (uint16_t)(10 + i), (uint16_t)(70 * i) };
		struct net_buf *c = make_chain(60 + (uint64_t)i, 0, lens, 2, 0);

		cr_assert_not_null(c);
		cr_assert_eq(zsock_sendto_buf(a, c, 0, (struct sockaddr *)&to, tolen),
			     10 + i + 70 * i, "burst datagram %d: errno %d", i, errno);
	}
	for (int i = 0; i < 20; i++) {
		struct net_buf *r;

		cr_assert_eq(take_chain(b, 0, 60 + (uint64_t)i, 0, &r), (size_t)(10 + i + 70 * i),
			     "burst datagram %d", i);
		release_ok(r);
	}
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, udp_datagrams_of_several_buffers_ipv4, .timeout = 60)
{
	udp_datagrams(AF_INET);
}

ZT_TEST(native, udp_datagrams_of_several_buffers_ipv6, .timeout = 60)
{
	udp_datagrams(AF_INET6);
}

/* An empty datagram is a datagram: the header's "0 means no chain" must hold. */
/* An empty datagram is a datagram: 0 bytes, with a chain to release (the
 * header's rule for UDP). More of them than the ring holds, each released,
 * and the socket still receives: nothing is held behind the caller's back. */
ZT_TEST(native, udp_empty_datagram, .timeout = 30)
{
	struct net_buf *r;
	ssize_t n;
	int a, b, i;

	zt_udp_pair(AF_INET, &a, &b);
	for (i = 0; i < 100; i++) {
		cr_assert_eq(zsock_send_buf(a, one_buf(40, 0, 0), 0), 0,
			     "empty datagram %d: errno %d", i, errno);
		cr_assert(zt_poll1(b, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, "datagram %d did not arrive", i);
		r = NULL;
		n = zsock_recv_buf(b, &r, 0);
		cr_assert_eq(n, 0, "empty datagram %d: %zd (errno %d)", i, n, errno);
		cr_assert_not_null(r, "an empty datagram comes with a chain to release");
		cr_assert_eq(r->tot_len, 0);
		cr_assert_eq(zsock_buf_release(r), 0, "errno %d", errno);
	}
	cr_assert_eq(zsock_send_buf(a, one_buf(40, 0, 5), 0), 5);
	cr_assert_eq(take_chain(b, 0, 40, 0, &r), 5);
	cr_assert_eq(zsock_buf_release(r), 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, udp_buf_peer, .timeout = 60)
{
	struct sockaddr_storage from;
	uint8_t raw[sizeof(struct sockaddr_in6) + 8];
	socklen_t len;
	struct net_buf *r, *t, *tx;
	uint16_t pa, pb;
	int a, b, ta, tb;

	zt_udp_pair(AF_INET6, &a, &b);
	pa = zt_local_port(a);
	pb = zt_local_port(b);
	cr_assert_neq(pa, pb);
	cr_assert_eq(zsock_send_buf(a, one_buf(41, 0, 10), 0), 10);
	cr_assert_eq(take_chain(b, 0, 41, 0, &r), 10);

	/* truncated: only what fits is written, the full size comes back */
	memset(raw, 0xee, sizeof(raw));
	len = 4;
	cr_assert_eq(zsock_buf_peer(r, (struct sockaddr *)raw, &len), 0, "errno %d", errno);
	cr_assert_eq(len, sizeof(struct sockaddr_in6), "addrlen %u", len);
	for (size_t i = 4; i < sizeof(raw); i++)
		cr_assert_eq(raw[i], 0xee, "byte %zu written beyond addrlen 4", i);
	cr_assert_eq(((struct sockaddr_in6 *)raw)->sin6_family, AF_INET6);
	/* in full, twice (it does not consume anything) */
	for (int i = 0; i < 2; i++) {
		len = sizeof(from);
		cr_assert_eq(zsock_buf_peer(r, (struct sockaddr *)&from, &len), 0);
		cr_assert(zt_is_loopback(&from, AF_INET6));
		cr_assert_eq(zt_port_of(&from), pa);
	}
	/* EINVAL: addrlen NULL, a transmit buffer, a released chain */
	errno = 0;
	cr_assert_eq(zsock_buf_peer(r, (struct sockaddr *)&from, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	tx = one_buf(42, 0, 1);
	len = sizeof(from);
	errno = 0;
	cr_assert_eq(zsock_buf_peer(tx, (struct sockaddr *)&from, &len), -1, "peer of a tx buffer");
	cr_assert_eq(errno, EINVAL);
	release_ok(tx);
	release_ok(r);
	len = sizeof(from);
	errno = 0;
	cr_assert_eq(zsock_buf_peer(r, (struct sockaddr *)&from, &len), -1, "peer after release");
	cr_assert_eq(errno, EINVAL);

	/* ENOTSUP: a TCP chain has no source address */
	zt_tcp_pair(AF_INET, &ta, &tb);
	t = received_chain(ta, tb, 43, 20);
	len = sizeof(from);
	errno = 0;
	cr_assert_eq(zsock_buf_peer(t, (struct sockaddr *)&from, &len), -1, "peer of a TCP chain");
	cr_assert_eq(errno, ENOTSUP, "errno %d, want ENOTSUP", errno);
	release_ok(t);
	zt_close(ta);
	zt_close(tb);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, udp_too_many_buffers_or_bytes, .timeout = 60)
{
	uint16_t lens[65];
	struct net_buf *c, *r;
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	for (int i = 0; i < 65; i++)
		lens[i] = 1;
	c = make_chain(44, 0, lens, 65, 0);
	cr_assert_not_null(c);
	errno = 0;
	cr_assert_eq(zsock_send_buf(a, c, 0), -1, "a 65-buffer datagram was taken");
	cr_assert_eq(errno, EMSGSIZE, "errno %d, want EMSGSIZE", errno);
	cr_assert_eq(tx_in_use(), 65, "the failed send changed the pool");
	release_ok(c); /* still ours */

	c = make_chain(44, 0, lens, 64, 0);
	cr_assert_not_null(c);
	cr_assert_eq(zsock_send_buf(a, c, 0), 64, "64 buffers: errno %d", errno);
	cr_assert_eq(take_chain(b, 0, 44, 0, &r), 64);
	release_ok(r);

	/* 65508 bytes: one more than an IPv4 datagram holds */
	for (int i = 0; i < 45; i++)
		lens[i] = TXSZ;
	lens[44] = (uint16_t)(65508 - 44 * TXSZ);
	c = make_chain(45, 0, lens, 45, 0);
	cr_assert_not_null(c);
	errno = 0;
	cr_assert_eq(zsock_send_buf(a, c, 0), -1, "a 65508-byte datagram was taken");
	cr_assert_eq(errno, EMSGSIZE, "errno %d, want EMSGSIZE", errno);
	release_ok(c);
	cr_assert_eq(zsock_recv_buf(b, &r, ZSOCK_MSG_DONTWAIT), -1, "a refused datagram arrived");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(native, udp_sendto_buf_errors, .timeout = 60)
{
	struct sockaddr_storage ss;
	struct net_buf *c = one_buf(46, 0, 100);
	socklen_t len;
	uint16_t port;
	int u4, u6, x;

	u4 = zt_udp_bound(AF_INET, &port);
	u6 = zt_udp_bound(AF_INET6, &port);
	x = zt_udp_bound(AF_INET, &port);
	len = zt_loopback(AF_INET6, 9, &ss);
	errno = 0;
	cr_assert_eq(zsock_sendto_buf(u4, c, 0, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EAFNOSUPPORT, "IPv6 destination on IPv4: errno %d", errno);
	len = zt_loopback(AF_INET, port, &ss);
	errno = 0;
	cr_assert_eq(zsock_sendto_buf(u4, c, 0, (struct sockaddr *)&ss, 1), -1);
	cr_assert_eq(errno, EINVAL, "addrlen 1: errno %d", errno);
	send_fails(u4, c, 0, EDESTADDRREQ, "unconnected, no destination");
	send_fails(u6, c, ZSOCK_MSG_PEEK, EINVAL, "MSG_PEEK");
	/* still ours and still good */
	cr_assert_eq(zsock_sendto_buf(u4, c, 0, (struct sockaddr *)&ss, len), 100, "errno %d",
		     errno);
	{
		struct net_buf *r;

		cr_assert_eq(take_chain(x, 0, 46, 0, &r), 100);
		release_ok(r);
	}
	zt_close(u4);
	zt_close(u6);
	zt_close(x);
}

/* ---- closing while holding chains ----------------------------------------------------------- */

static void close_while_holding_tcp(int family)
{
	struct net_buf *held[3];
	size_t got = 0;
	uint8_t c;
	int a, b, x, y;

	zt_tcp_pair(family, &a, &b);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(zsock_send_buf(a, one_buf(50, got, 1000), 0), 1000);
		got += take_chain(b, 0, 50, got, &held[i]);
	}
	/* more data queued, unread */
	cr_assert_eq(zsock_send_buf(a, one_buf(51, 0, 1000), 0), 1000);
	zt_close(b);
	/* the header: a close with chains held resets the connection */
	errno = 0;
	cr_assert_eq(zsock_recv(a, &c, 1, 0), -1, "the peer of a reset connection read data");
	cr_assert_eq(errno, ECONNRESET, "errno %d, want ECONNRESET", errno);
	zt_close(a);
	/* the chains stay readable while other traffic runs through the stack */
	zt_tcp_pair(family, &x, &y);
	native_transfer(x, y, 52, 512 * KiB);
	for (int i = 0, off = 0; i < 3; i++) {
		struct walk w = walk_chain(held[i], 50, (uint64_t)off);

		cr_assert_eq(w.bad, SIZE_MAX, "chain %d changed after close", i);
		cr_assert_eq(w.bytes, 1000);
		off += 1000;
	}
	for (int i = 0; i < 3; i++) {
		release_ok(held[i]);
		release_einval(held[i], "second release after close");
	}
	zt_close(x);
	zt_close(y);
}

ZT_TEST(native, close_while_holding_tcp_ipv4, .timeout = 60)
{
	close_while_holding_tcp(AF_INET);
}

ZT_TEST(native, close_while_holding_tcp_ipv6, .timeout = 60)
{
	close_while_holding_tcp(AF_INET6);
}

ZT_TEST(native, close_while_holding_udp, .timeout = 60)
{
	struct net_buf *held[4];
	int a, b;

	zt_udp_pair(AF_INET6, &a, &b);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(zsock_send_buf(a, one_buf(53 + (uint64_t)i, 0, 500), 0), 500);
		take_chain(b, 0, 53 + (uint64_t)i, 0, &held[i]);
	}
	zt_close(b);
	zt_close(a);
	zt_sleep_ms(50);
	for (int i = 0; i < 4; i++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);

		cr_assert_eq(walk_chain(held[i], 53 + (uint64_t)i, 0).bad, SIZE_MAX);
		cr_assert_eq(zsock_buf_peer(held[i], (struct sockaddr *)&from, &len), 0,
			     "buf_peer after close: errno %d", errno);
		release_ok(held[i]);
	}
	transfer_still_works(AF_INET6);
}

/* The chain is released from another thread after the socket is gone. */
ZT_TEST(native, release_after_close_from_another_thread, .timeout = 60)
{
	struct delayed_release d = { .delay_ms = 50, .rc = 99 };
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	d.c = received_chain(a, b, 55, 1200);
	t = zt_spawn(delayed_release_main, &d);
	zt_close(b);
	zt_close(a);
	cr_assert(zt_join(t, 5000));
	cr_assert_eq(d.rc, 0, "release from another thread after close failed");
	transfer_still_works(AF_INET);
}

/*
 * A close from one thread while others are inside calls on the pair, data
 * flowing: every chain a taker got is whole and in order and releases
 * once, and nothing is left behind (ZT_TEST's leak check: the pools end
 * idle). The reactor used to empty a socket's rings at close without the
 * callers' locks.
 */
#define CLOSE_RACE_ROUNDS 2500
#define CLOSE_RACE_MS 8000

struct active_taker {
	int fd;
	atomic_bool stop;
	size_t got;
	int err;
	int bad;          /* chains off the stream, or refused at release */
	char why[128];
};

static void *active_taker_main(void *p)
{
	struct active_taker *t = p;

	while (!atomic_load(&t->stop)) {
		struct net_buf *r = NULL;
		ssize_t n = zsock_recv_buf(t->fd, &r, ZSOCK_MSG_DONTWAIT);

		if (n > 0) {
			struct walk w = walk_chain(r, 56, t->got);

			if (w.bad != SIZE_MAX || w.bytes != (size_t)n || !w.tot_ok) {
				snprintf(t->why, sizeof(t->why),
					 "a %zd-byte chain at %zu: %zu bytes, first bad at %zu",
					 n, t->got, w.bytes, w.bad);
				t->bad++;
			}
			t->got += (size_t)n;
			if (zsock_buf_release(r) != 0) {
				snprintf(t->why, sizeof(t->why), "release: errno %d", errno);
				t->bad++;
			}
			usleep(100); /* let a few chains queue: longer takes */
		} else if (n < 0 && errno != EAGAIN) {
			t->err = errno;
			break;
		} else if (n == 0) {
			break;
		}
	}
	return NULL;
}

struct steady_sender {
	int fd;
	bool bsd;         /* zsock_send instead of zsock_send_buf */
	atomic_bool stop;
	size_t sent;
};

static void *steady_sender_main(void *p)
{
	struct steady_sender *d = p;

	while (!atomic_load(&d->stop) && d->bsd) {
		uint8_t buf[200];
		ssize_t n;

		zt_pattern(56, d->sent, buf, sizeof(buf));
		n = zsock_send(d->fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		if (n > 0) {
			/* a short send: the rest of buf is sent again next time */
			d->sent += (size_t)n;
		} else if (errno != EAGAIN) {
			break;
		} else {
			zt_sleep_ms(1);
		}
	}
	while (!atomic_load(&d->stop) && !d->bsd) {
		struct net_buf *c = zsock_buf_alloc(0);

		if (c == NULL) {
			zt_sleep_ms(1);
			continue;
		}
		zt_pattern(56, d->sent, c->data, 200);
		c->len = 200;
		if (zsock_send_buf(d->fd, c, ZSOCK_MSG_DONTWAIT) == 200) {
			d->sent += 200;
		} else {
			zsock_buf_release(c);
			if (errno != EAGAIN)
				break; /* the peer closed: reset */
			zt_sleep_ms(1);
		}
	}
	return NULL;
}

/*
 * Rounds of: a fresh pair, a steady sender on a and an active taker on b,
 * then a close after 0 or 1 ms: of b (the taker's socket), or of a (the
 * sender's, which then has unread data: the close resets and the reactor
 * lets go of the socket at once; the sender uses native and BSD calls by
 * turns). The window is a call in progress when the close lands: short,
 * so many rounds, at most CLOSE_RACE_MS for slow runs (Valgrind).
 */
static void close_race(bool close_sender)
{
	int64_t t0 = zt_now_ms();

	for (int round = 0; round < CLOSE_RACE_ROUNDS && zt_now_ms() - t0 < CLOSE_RACE_MS;
	     round++) {
		struct active_taker t = { .err = 0 };
		struct steady_sender d = { .bsd = close_sender && round / 2 % 2 == 1 };
		pthread_t th[2];
		int a, b;

		zt_tcp_pair(AF_INET, &a, &b);
		nodelay(a);
		if (close_sender) {
			cr_assert_eq(zsock_send(b, "unread", 6, 0), 6);
			wait_queued(a, 6);
		}
		t.fd = b;
		d.fd = a;
		th[0] = zt_spawn(steady_sender_main, &d);
		th[1] = zt_spawn(active_taker_main, &t);
		zt_sleep_ms(round % 2);
		zt_close(close_sender ? a : b);
		atomic_store(&d.stop, true);
		atomic_store(&t.stop, true);
		cr_assert(zt_join(th[0], JOIN_MS), "sender hangs");
		cr_assert(zt_join(th[1], JOIN_MS), "taker hangs");
		cr_assert_eq(t.bad, 0, "round %d: %s", round, t.why);
		cr_assert_leq(t.got, d.sent);
		if (!close_sender)
			cr_assert(t.err == 0 || t.err == EBADF || t.err == EINTR,
				  "round %d: taker errno %d", round, t.err);
		zt_close(close_sender ? b : a);
	}
}

/* The reader's side closed under it (the code before the fix, a reader
 * handed buffers the reactor had just freed, failed 4 runs in 6). */
ZT_TEST(native, close_races_active_takes, .timeout = 120)
{
	close_race(false);
}

/* The sender's side closed under it: what a sender queued while the close
 * landed goes back to the pool (the leak check; it found 9 to 91 transmit
 * buffers lost before the reactor emptied tx under tx_lock). */
ZT_TEST(native, close_races_active_sends, .timeout = 120)
{
	close_race(true);
}
