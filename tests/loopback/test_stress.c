/*
 * Stress over loopback: many threads, many connections, closes racing with
 * everything.
 *
 *  - mixed: 8 threads drive 64 TCP connections (IPv4 and IPv6) with random
 *    poll / recv / send / close for 10 s (times ZSOCK_TEST_SCALE). Each
 *    connection carries framed payloads one way (length, sequence number,
 *    CRC-32 of the payload; 1 .. 16 KiB): every frame must verify and the
 *    sequence must be contiguous. Senders close (or shut down and close) at
 *    frame boundaries at random; the receiver must then read every frame
 *    and EOF exactly after the last one, and the connection is reopened.
 *    Several threads poll the same fds at once (CONFORMANCE.md
 *    "Descriptors": close wakes a poll with EINTR, so a poll may see it).
 *  - close_wakes_*: a thread blocks in recv, send (full window), accept,
 *    connect (to a listener whose backlog is full: lwIP drops the SYN, so the
 *    connect stays pending), poll or select; another closes the fd; the call
 *    returns -1/EINTR within 5 s. 50 times each; recv and send also with
 *    SO_LINGER {1, 0} (the close resets), and 4 threads (2 recv, 2 poll)
 *    blocked on one fd, all woken by one close.
 *  - *_while_another_thread_blocks_*: calls that must not block (recv and
 *    send with MSG_DONTWAIT, FIONREAD, poll with timeout 0) return at once
 *    while another thread is blocked in recv / send on the same fd.
 *  - same_fd_recv: 4 threads block in recv on one fd while a stream
 *    arrives; every byte is delivered exactly once (the slices the threads
 *    got are put back together into the sent stream).
 *
 * Every test ends with the ZT_TEST leak check: counters back to idle.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zt.h"

/* ---- failures seen in helper threads ------------------------------------------ */

static atomic_bool failed;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[512];

static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock);
	if (!atomic_load(&failed)) {
		va_start(ap, fmt);
		vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
		va_end(ap);
		atomic_store(&failed, true);
	}
	pthread_mutex_unlock(&fail_lock);
}

static double test_scale(void)
{
	const char *s = getenv("ZSOCK_TEST_SCALE");
	double f = 1.0;

	if (s != NULL && *s != '\0') {
		char *end;
		double v = strtod(s, &end);

		if (*end == '\0' && v > 0)
			f = v;
	}
	return f;
}

/* ---- mixed stress ---------------------------------------------------------------- */

#define NCONN 64
#define NTHREADS 8
#define FRAME_MAX 16384
#define HDR 12
#define IO_TIMEOUT_MS 20   /* SO_RCVTIMEO / SO_SNDTIMEO of the "blocking" calls */
#define RECV_MAX 32768

struct conn {
	int idx;
	int family;
	bool srv_sends;           /* the accepted end sends (else the connecting end) */
	pthread_mutex_t tx_lock;  /* sender state */
	pthread_mutex_t rx_lock;  /* receiver state; taken before tx_lock */
	atomic_int tx_fd;         /* -1 once the sender closed */
	atomic_int rx_fd;         /* -1 once the receiver closed */
	/* sender (tx_lock) */
	uint8_t tx_buf[HDR + FRAME_MAX];
	size_t tx_len, tx_off;    /* current frame; tx_off == tx_len: at a boundary */
	uint32_t tx_seq;          /* frames built on this connection */
	uint64_t tx_rng;
	atomic_uint final_frames; /* frames queued before the sender's close */
	atomic_bool tx_closed;
	int close_pending;        /* 0, or 1 / 2 (shutdown first): close at the next boundary */
	/* receiver (rx_lock) */
	uint8_t rx_buf[HDR + FRAME_MAX];
	size_t rx_have;
	uint32_t rx_seq;          /* frames verified on this connection */
	uint32_t gen;             /* connection generation */
	bool done;                /* drained for good (end of the test) */
	/* totals (rx_lock / tx_lock respectively) */
	uint64_t frames_rx, bytes_rx, reopen;
	uint64_t frames_tx, bytes_tx;
};

static struct conn conns[NCONN];
static int listeners[2];                   /* [0] IPv4, [1] IPv6 */
static uint16_t listen_ports[2];
static pthread_mutex_t listen_lock[2] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
static atomic_bool stop;
static int64_t stop_at;

struct worker {
	int id;
	uint64_t rng;
	uint8_t *tmp;
	uint64_t ops_send, ops_recv, ops_poll, ops_pollall, ops_close, poll_eintr;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		fail("setsockopt(fd %d, timeouts): errno %d", fd, errno);
}

/* Open connection c afresh (caller holds rx_lock and tx_lock, or is alone). */
static bool conn_open(struct conn *c)
{
	int fi = c->family == AF_INET ? 0 : 1;
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(c->family, listen_ports[fi], &ss);
	int cli, srv;

	cli = zsock_socket(c->family, SOCK_STREAM, 0);
	if (cli < 0) {
		fail("conn %d: socket: errno %d", c->idx, errno);
		return false;
	}
	/* one connect + accept at a time per listener: the accepted one is ours */
	pthread_mutex_lock(&listen_lock[fi]);
	if (zsock_connect(cli, (struct sockaddr *)&ss, len) != 0) {
		fail("conn %d: connect: errno %d", c->idx, errno);
		pthread_mutex_unlock(&listen_lock[fi]);
		zsock_close(cli);
		return false;
	}
	srv = zsock_accept(listeners[fi], NULL, NULL);
	pthread_mutex_unlock(&listen_lock[fi]);
	if (srv < 0) {
		fail("conn %d: accept: errno %d", c->idx, errno);
		zsock_close(cli);
		return false;
	}
	set_timeouts(cli, IO_TIMEOUT_MS);
	set_timeouts(srv, IO_TIMEOUT_MS);
	c->tx_len = c->tx_off = 0;
	c->tx_seq = 0;
	c->close_pending = 0;
	atomic_store(&c->final_frames, 0);
	atomic_store(&c->tx_closed, false);
	c->rx_have = 0;
	c->rx_seq = 0;
	c->gen++;
	atomic_store(&c->tx_fd, c->srv_sends ? srv : cli);
	atomic_store(&c->rx_fd, c->srv_sends ? cli : srv);
	return true;
}

/* Next frame into tx_buf: 1 .. FRAME_MAX bytes, mostly small, some large. */
static void build_frame(struct conn *c)
{
	uint64_t r = zt_rand(&c->tx_rng);
	size_t n;

	if (r & 1)
		n = 1 + (size_t)((r >> 8) % 256);
	else
		n = 1 + (size_t)((r >> 8) % FRAME_MAX);
	zt_pattern(((uint64_t)c->idx << 40) ^ ((uint64_t)c->gen << 24) ^ c->tx_seq, 0,
		   c->tx_buf + HDR, n);
	wr32(c->tx_buf, (uint32_t)n);
	wr32(c->tx_buf + 4, c->tx_seq);
	wr32(c->tx_buf + 8, zt_crc32(0, c->tx_buf + HDR, n));
	c->tx_seq++;
	c->tx_len = HDR + n;
	c->tx_off = 0;
}

static void close_sender_locked(struct conn *c, bool shut_first);

/* Send some of the current frame(s). blocking: wait up to IO_TIMEOUT_MS. */
static void do_send(struct conn *c, bool blocking, bool wait_lock, int frames)
{
	int fd;

	if (wait_lock)
		pthread_mutex_lock(&c->tx_lock);
	else if (pthread_mutex_trylock(&c->tx_lock) != 0)
		return;
	fd = atomic_load(&c->tx_fd);
	while (fd >= 0 && frames > 0) {
		ssize_t n;

		if (c->tx_off == c->tx_len)
			build_frame(c);
		n = zsock_send(fd, c->tx_buf + c->tx_off, c->tx_len - c->tx_off,
			       blocking ? 0 : ZSOCK_MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN)
				fail("conn %d gen %u: send: errno %d (%s)", c->idx, c->gen, errno,
				     strerror(errno));
			break;
		}
		if (n == 0 || (size_t)n > c->tx_len - c->tx_off) {
			fail("conn %d: send(%zu) returned %zd", c->idx, c->tx_len - c->tx_off, n);
			break;
		}
		c->tx_off += (size_t)n;
		c->bytes_tx += (uint64_t)n;
		if (c->tx_off < c->tx_len)
			break;
		c->frames_tx++;
		frames--;
		if (c->close_pending) {
			close_sender_locked(c, c->close_pending == 2);
			break;
		}
	}
	pthread_mutex_unlock(&c->tx_lock);
}

/* Close the sending end at a frame boundary (caller holds tx_lock). */
static void close_sender_locked(struct conn *c, bool shut_first)
{
	int fd = atomic_load(&c->tx_fd);

	if (fd < 0 || c->tx_off != c->tx_len)
		return;
	c->close_pending = 0;
	atomic_store(&c->final_frames, c->tx_seq);
	atomic_store(&c->tx_closed, true);
	if (shut_first && zsock_shutdown(fd, ZSOCK_SHUT_WR) != 0)
		fail("conn %d: shutdown(SHUT_WR): errno %d", c->idx, errno);
	atomic_store(&c->tx_fd, -1);
	if (zsock_close(fd) != 0)
		fail("conn %d: close(sender %d): errno %d", c->idx, fd, errno);
}

static void do_close(struct conn *c, bool shut_first)
{
	if (pthread_mutex_trylock(&c->tx_lock) != 0)
		return;
	if (c->tx_off == c->tx_len)
		close_sender_locked(c, shut_first);
	else
		c->close_pending = shut_first ? 2 : 1;   /* mid-frame: at its end */
	pthread_mutex_unlock(&c->tx_lock);
}

/* Feed received bytes to the frame parser (rx_lock held). */
static void feed(struct conn *c, const uint8_t *p, size_t n)
{
	while (n > 0 && !atomic_load(&failed)) {
		size_t need, take;

		if (c->rx_have < HDR) {
			need = HDR - c->rx_have;
		} else {
			uint32_t flen = rd32(c->rx_buf);

			need = HDR + flen - c->rx_have;
		}
		take = n < need ? n : need;
		memcpy(c->rx_buf + c->rx_have, p, take);
		c->rx_have += take;
		p += take;
		n -= take;
		if (c->rx_have == HDR) {
			uint32_t flen = rd32(c->rx_buf);

			if (flen < 1 || flen > FRAME_MAX) {
				fail("conn %d gen %u: frame %u: bad length %u", c->idx, c->gen,
				     c->rx_seq, flen);
				return;
			}
			if (rd32(c->rx_buf + 4) != c->rx_seq) {
				fail("conn %d gen %u: frame sequence %u where %u was due (lost or "
				     "reordered frames)", c->idx, c->gen, rd32(c->rx_buf + 4),
				     c->rx_seq);
				return;
			}
		} else if (c->rx_have > HDR && c->rx_have == HDR + rd32(c->rx_buf)) {
			uint32_t flen = rd32(c->rx_buf);
			uint32_t crc = zt_crc32(0, c->rx_buf + HDR, flen);

			if (crc != rd32(c->rx_buf + 8)) {
				fail("conn %d gen %u: frame %u (%u bytes): CRC %08x, header says %08x",
				     c->idx, c->gen, c->rx_seq, flen, crc, rd32(c->rx_buf + 8));
				return;
			}
			c->rx_seq++;
			c->frames_rx++;
			c->rx_have = 0;
		}
	}
}

/*
 * Receive once. At EOF: check it came at a frame boundary after the last
 * frame the sender queued, close, and reopen unless draining.
 */
static void do_recv(struct conn *c, uint8_t *tmp, size_t want, bool blocking, bool wait_lock,
		    bool reopen)
{
	ssize_t n;
	int fd;

	if (wait_lock)
		pthread_mutex_lock(&c->rx_lock);
	else if (pthread_mutex_trylock(&c->rx_lock) != 0)
		return;
	fd = atomic_load(&c->rx_fd);
	if (fd < 0)
		goto out;
	n = zsock_recv(fd, tmp, want, blocking ? 0 : ZSOCK_MSG_DONTWAIT);
	if (n > 0) {
		if ((size_t)n > want)
			fail("conn %d: recv(%zu) returned %zd", c->idx, want, n);
		else
			c->bytes_rx += (uint64_t)n;
		feed(c, tmp, (size_t)n);
	} else if (n == 0) {
		if (!atomic_load(&c->tx_closed)) {
			fail("conn %d gen %u: EOF but the sender did not close (after %u frames)",
			     c->idx, c->gen, c->rx_seq);
		} else if (c->rx_have != 0) {
			fail("conn %d gen %u: EOF inside frame %u (%zu bytes of it read)", c->idx,
			     c->gen, c->rx_seq, c->rx_have);
		} else if (c->rx_seq != atomic_load(&c->final_frames)) {
			fail("conn %d gen %u: EOF after %u frames, the sender queued %u", c->idx,
			     c->gen, c->rx_seq, atomic_load(&c->final_frames));
		}
		atomic_store(&c->rx_fd, -1);
		if (zsock_close(fd) != 0)
			fail("conn %d: close(receiver %d): errno %d", c->idx, fd, errno);
		if (reopen && !atomic_load(&failed)) {
			pthread_mutex_lock(&c->tx_lock);
			if (conn_open(c))
				c->reopen++;
			pthread_mutex_unlock(&c->tx_lock);
		} else {
			c->done = true;
		}
	} else if (errno != EAGAIN) {
		fail("conn %d gen %u: recv: errno %d (%s) after %u frames", c->idx, c->gen, errno,
		     strerror(errno), c->rx_seq);
	}
out:
	pthread_mutex_unlock(&c->rx_lock);
}

/* Poll some connections (or all of them) at once; act on what is ready. */
static void do_poll(struct worker *w, bool all)
{
	struct zsock_pollfd p[2 * NCONN];
	int who[2 * NCONN];
	int n = 0, k, i, rc, ready = 0;
	int timeout = (int)(zt_rand(&w->rng) % (IO_TIMEOUT_MS + 1));

	k = all ? NCONN : 1 + (int)(zt_rand(&w->rng) % 16);
	for (i = 0; i < k; i++) {
		int ci = all ? i : (int)(zt_rand(&w->rng) % NCONN);
		struct conn *c = &conns[ci];

		p[n] = (struct zsock_pollfd){ .fd = atomic_load(&c->rx_fd), .events = ZSOCK_POLLIN };
		who[n++] = ci;
		p[n] = (struct zsock_pollfd){ .fd = atomic_load(&c->tx_fd), .events = ZSOCK_POLLOUT };
		who[n++] = ci;
	}
	rc = zsock_poll(p, n, timeout);
	if (rc < 0) {
		/* a concurrent close of a polled fd: Zephyr's EINTR */
		if (errno != EINTR)
			fail("poll(%d fds): errno %d", n, errno);
		else
			w->poll_eintr++;
		return;
	}
	for (i = 0; i < n; i++)
		ready += p[i].revents != 0;
	if (ready != rc) {
		fail("poll returned %d, %d entries have revents", rc, ready);
		return;
	}
	for (i = 0; i < n && !atomic_load(&failed); i++) {
		struct conn *c = &conns[who[i]];

		if ((p[i].revents & ZSOCK_POLLIN) && p[i].fd == atomic_load(&c->rx_fd))
			do_recv(c, w->tmp, 1 + zt_rand(&w->rng) % RECV_MAX, false, false, true);
		if ((p[i].revents & ZSOCK_POLLOUT) && p[i].fd == atomic_load(&c->tx_fd))
			do_send(c, false, false, 1 + (int)(zt_rand(&w->rng) % 4));
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop) && !atomic_load(&failed) && zt_now_ms() < stop_at) {
		uint64_t r = zt_rand(&w->rng);
		struct conn *c = &conns[(r >> 8) % NCONN];
		int op = (int)(r % 1000);
		bool blocking = (r >> 20) & 1;

		if (op < 300) {
			w->ops_send++;
			do_send(c, blocking, false, 1 + (int)((r >> 24) % 8));
		} else if (op < 600) {
			w->ops_recv++;
			do_recv(c, w->tmp, 1 + (r >> 24) % RECV_MAX, blocking, false, true);
		} else if (op < 900) {
			w->ops_poll++;
			do_poll(w, false);
		} else if (op < 995) {
			w->ops_pollall++;
			do_poll(w, true);
		} else {
			w->ops_close++;
			do_close(c, (r >> 21) & 1);
		}
	}
	return NULL;
}

/* End of the run: finish partial frames, close every sender, drain to EOF. */
static void drain_all(uint8_t *tmp, int budget_ms)
{
	int64_t end = zt_now_ms() + budget_ms;
	int left = NCONN;

	while (left > 0 && !atomic_load(&failed) && zt_now_ms() < end) {
		int i;

		left = 0;
		for (i = 0; i < NCONN; i++) {
			struct conn *c = &conns[i];
			int k;

			pthread_mutex_lock(&c->tx_lock);
			if (atomic_load(&c->tx_fd) >= 0 && c->tx_off == c->tx_len)
				close_sender_locked(c, false);
			pthread_mutex_unlock(&c->tx_lock);
			if (c->tx_off != c->tx_len)
				do_send(c, false, true, 1);
			for (k = 0; k < 8 && atomic_load(&c->rx_fd) >= 0; k++)
				do_recv(c, tmp, RECV_MAX, false, true, false);
			if (!c->done)
				left++;
		}
		if (left > 0)
			zt_sleep_ms(1);
	}
}

ZT_TEST(stress, mixed_64_connections_8_threads, .timeout = 180)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	uint64_t frames_tx = 0, frames_rx = 0, bytes_tx = 0, bytes_rx = 0, reopens = 0;
	uint64_t ops[6] = { 0 };
	uint8_t *tmp = malloc(RECV_MAX);
	int64_t run_ms = (int64_t)(10000.0 * test_scale()), t0;
	int i;

	cr_assert_not_null(tmp);
	listeners[0] = zt_listener(AF_INET, 64, &listen_ports[0]);
	listeners[1] = zt_listener(AF_INET6, 64, &listen_ports[1]);
	for (i = 0; i < 2; i++)
		set_timeouts(listeners[i], 5000);
	for (i = 0; i < NCONN; i++) {
		struct conn *c = &conns[i];

		c->idx = i;
		c->family = (i & 1) ? AF_INET6 : AF_INET;
		c->srv_sends = (i & 2) != 0;
		c->tx_rng = 0x5eed0000ull + (uint64_t)i * 7919;
		pthread_mutex_init(&c->tx_lock, NULL);
		pthread_mutex_init(&c->rx_lock, NULL);
		atomic_store(&c->tx_fd, -1);
		atomic_store(&c->rx_fd, -1);
		cr_assert(conn_open(c), "%s", fail_msg);
	}
	t0 = zt_now_ms();
	stop_at = t0 + run_ms;
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .id = i, .rng = 0xc0ffee00ull + (uint64_t)i * 104729,
				       .tmp = malloc(RECV_MAX) };
		cr_assert_not_null(w[i].tmp);
		t[i] = zt_spawn(worker_main, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		cr_assert(zt_join(t[i], (int)run_ms + 30000), "worker %d hangs", i);
	cr_assert_not(atomic_load(&failed), "during the run: %s", fail_msg);
	cr_log_info("stress: run %lld ms", (long long)(zt_now_ms() - t0));

	drain_all(tmp, 30000);
	cr_assert_not(atomic_load(&failed), "while draining: %s", fail_msg);
	for (i = 0; i < NCONN; i++) {
		struct conn *c = &conns[i];

		cr_assert(c->done, "conn %d gen %u: no EOF after 30 s of draining (%u of %u frames)",
			  i, c->gen, c->rx_seq, c->tx_seq);
		frames_tx += c->frames_tx;
		frames_rx += c->frames_rx;
		bytes_tx += c->bytes_tx;
		bytes_rx += c->bytes_rx;
		reopens += c->reopen;
	}
	for (i = 0; i < NTHREADS; i++) {
		ops[0] += w[i].ops_send;
		ops[1] += w[i].ops_recv;
		ops[2] += w[i].ops_poll;
		ops[3] += w[i].ops_pollall;
		ops[4] += w[i].ops_close;
		ops[5] += w[i].poll_eintr;
		free(w[i].tmp);
	}
	cr_assert_eq(frames_rx, frames_tx, "frames: %llu sent, %llu verified",
		     (unsigned long long)frames_tx, (unsigned long long)frames_rx);
	cr_assert_eq(bytes_rx, bytes_tx, "bytes: %llu sent, %llu received",
		     (unsigned long long)bytes_tx, (unsigned long long)bytes_rx);
	cr_assert_gt(frames_rx, 0, "no frame went through");
	fprintf(stderr,
		"stress: %llu frames, %llu bytes, %llu reopens; ops send %llu recv %llu poll %llu "
		"poll-all %llu close %llu; poll EINTR %llu\n",
		(unsigned long long)frames_rx, (unsigned long long)bytes_rx,
		(unsigned long long)reopens, (unsigned long long)ops[0],
		(unsigned long long)ops[1], (unsigned long long)ops[2],
		(unsigned long long)ops[3], (unsigned long long)ops[4],
		(unsigned long long)ops[5]);
	zt_close(listeners[0]);
	zt_close(listeners[1]);
	for (i = 0; i < NCONN; i++) {
		pthread_mutex_destroy(&conns[i].tx_lock);
		pthread_mutex_destroy(&conns[i].rx_lock);
	}
	free(tmp);
}

/* ---- close racing with every blocking call ----------------------------------------- */

#define RACE_REPS 50
#define RACE_WAKE_MS 5000

enum blocking_op { OP_RECV, OP_SEND, OP_ACCEPT, OP_CONNECT, OP_POLL, OP_POLL2, OP_SELECT };

struct blocker {
	enum blocking_op op;
	int fd, other;                  /* other: a second polled fd (OP_POLL2) */
	struct sockaddr_storage to;     /* OP_CONNECT */
	socklen_t tolen;
	uint8_t *buf;
	size_t len;
	atomic_int tid;
	/* results */
	ssize_t rc;
	int err;
	int64_t returned_at;
};

static void *blocker_main(void *p)
{
	struct blocker *b = p;
	struct zsock_pollfd pf[2];
	zsock_fd_set rd;

	atomic_store(&b->tid, (int)gettid());
	switch (b->op) {
	case OP_RECV:
		b->rc = zsock_recv(b->fd, b->buf, b->len, 0);
		break;
	case OP_SEND:
		b->rc = zsock_send(b->fd, b->buf, b->len, 0);
		break;
	case OP_ACCEPT:
		b->rc = zsock_accept(b->fd, NULL, NULL);
		break;
	case OP_CONNECT:
		b->rc = zsock_connect(b->fd, (struct sockaddr *)&b->to, b->tolen);
		break;
	case OP_POLL:
	case OP_POLL2:
		pf[0] = (struct zsock_pollfd){ .fd = b->other, .events = ZSOCK_POLLIN };
		pf[1] = (struct zsock_pollfd){ .fd = b->fd, .events = ZSOCK_POLLIN };
		b->rc = zsock_poll(b->op == OP_POLL ? &pf[1] : pf, b->op == OP_POLL ? 1 : 2, -1);
		break;
	case OP_SELECT:
		ZSOCK_FD_ZERO(&rd);
		ZSOCK_FD_SET(b->fd, &rd);
		ZSOCK_FD_SET(b->other, &rd);
		b->rc = zsock_select((b->fd > b->other ? b->fd : b->other) + 1, &rd, NULL, NULL, NULL);
		break;
	}
	b->err = errno;
	b->returned_at = zt_now_ms();
	return NULL;
}

/* State letter of thread tid from /proc ('S' sleeping, 'R' running...). */
static char thread_state(int tid)
{
	char path[64], line[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f == NULL)
		return '?';
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL || p[1] == '\0')
		return '?';
	return p[2];
}

/* Wait until the blocker has gone to sleep (inside its call). */
static bool wait_asleep(struct blocker *b, int max_ms)
{
	int64_t end = zt_now_ms() + max_ms;
	int tid;

	while ((tid = atomic_load(&b->tid)) == 0 && zt_now_ms() < end)
		zt_sleep_ms(1);
	while (tid != 0 && zt_now_ms() < end) {
		char st = thread_state(tid);

		if (st == 'S' || st == 'D') {
			/* make sure it stays asleep, not just passing a lock */
			zt_sleep_ms(5);
			st = thread_state(tid);
			if (st == 'S' || st == 'D')
				return true;
		}
		zt_sleep_ms(1);
	}
	return false;
}

static const char *op_name(enum blocking_op op)
{
	static const char *names[] = { "recv", "send", "accept", "connect", "poll",
				       "poll (2 fds)", "select" };
	return names[op];
}

/*
 * Start each of the n blockers (all on the same fd) in a thread, wait until
 * all sleep, close the fd, check that each returns -1/EINTR.
 */
static void close_wakes_n(struct blocker *b, int n, int rep)
{
	pthread_t t[8];
	int64_t closed_at;
	int i;

	for (i = 0; i < n; i++) {
		atomic_store(&b[i].tid, 0);
		b[i].rc = 0;
		b[i].err = 0;
		t[i] = zt_spawn(blocker_main, &b[i]);
	}
	for (i = 0; i < n; i++) {
		if (!wait_asleep(&b[i], 5000)) {
			/* a call that did not block at all is a failure too */
			cr_assert(zt_join(t[i], 5000), "%s, rep %d: the thread never slept nor returned",
				  op_name(b[i].op), rep);
			cr_assert_fail("%s, rep %d: returned %zd (errno %d) before the close: it "
				       "must block", op_name(b[i].op), rep, b[i].rc, b[i].err);
		}
	}
	closed_at = zt_now_ms();
	zt_close(b[0].fd);
	for (i = 0; i < n; i++)
		cr_assert(zt_join(t[i], RACE_WAKE_MS), "%s (thread %d of %d), rep %d: still blocked "
			  "%d ms after the close", op_name(b[i].op), i + 1, n, rep, RACE_WAKE_MS);
	for (i = 0; i < n; i++) {
		cr_assert_eq(b[i].rc, -1, "%s (thread %d of %d), rep %d: returned %zd (errno %d) after a close, "
			     "not -1/EINTR", op_name(b[i].op), i + 1, n, rep, b[i].rc, b[i].err);
		cr_assert_eq(b[i].err, EINTR, "%s (thread %d of %d), rep %d: errno %d (%s) after a "
			     "close, not EINTR", op_name(b[i].op), i + 1, n, rep, b[i].err,
			     strerror(b[i].err));
		cr_assert_leq(b[i].returned_at - closed_at, RACE_WAKE_MS);
	}
}

static void close_wakes(struct blocker *b, int rep)
{
	close_wakes_n(b, 1, rep);
}

static int family_of(int rep)
{
	return (rep & 1) ? AF_INET6 : AF_INET;
}

ZT_TEST(stress, close_wakes_recv, .timeout = 120)
{
	uint8_t buf[4096];
	int rep, a, b;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_RECV, .buf = buf, .len = sizeof(buf) };

		zt_tcp_pair(family_of(rep), &a, &b);
		bl.fd = a;
		close_wakes(&bl, rep);
		zt_close(b);
	}
}

/*
 * Fill a's send path (nobody reads b) until it stays full: non-blocking sends
 * give EAGAIN and the engine hands lwIP no more bytes between two counter
 * snapshots (each a round trip through the reactor, so the work the sends
 * posted has run).
 */
static void fill_send_path(int a)
{
	static uint8_t chunk[65536];
	struct zsock_engine_stats s1, s2;
	int stable = 0, i;

	cr_assert_eq(zsock_fcntl(a, F_SETFL, O_NONBLOCK), 0);
	for (i = 0; i < 1000 && stable < 3; i++) {
		ssize_t n;
		bool took = false;

		while ((n = zsock_send(a, chunk, sizeof(chunk), 0)) > 0)
			took = true;
		cr_assert_eq(n, -1, "non-blocking send returned %zd", n);
		cr_assert_eq(errno, EAGAIN, "filling: errno %d", errno);
		zt_stats(&s1);
		zt_sleep_ms(10);
		zt_stats(&s2);
		if (took || s1.tx_bytes != s2.tx_bytes || s1.tx_bufs_in_use != s2.tx_bufs_in_use)
			stable = 0;
		else
			stable++;
	}
	cr_assert_geq(stable, 3, "the send path never stayed full");
	cr_assert_eq(zsock_fcntl(a, F_SETFL, 0), 0);
}

ZT_TEST(stress, close_wakes_send_on_full_window, .timeout = 120)
{
	static uint8_t buf[65536];
	int rep, a, b;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_SEND, .buf = buf, .len = sizeof(buf) };

		zt_tcp_pair(family_of(rep), &a, &b);
		fill_send_path(a);
		bl.fd = a;
		close_wakes(&bl, rep);
		/* b has unread data: its close resets, which frees a's queued buffers */
		zt_close(b);
	}
}

/*
 * The same with SO_LINGER {1, 0} on the closed fd: the close resets the
 * connection at once, and the woken call must still say EINTR (the fd was
 * closed under it), not report the reset it caused.
 */
static void set_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0,
		     "SO_LINGER {1, 0}: errno %d", errno);
}

ZT_TEST(stress, close_wakes_recv_linger0, .timeout = 120)
{
	uint8_t buf[4096];
	int rep, a, b;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_RECV, .buf = buf, .len = sizeof(buf) };

		zt_tcp_pair(family_of(rep), &a, &b);
		set_linger0(a);
		bl.fd = a;
		close_wakes(&bl, rep);
		zt_close(b);
	}
}

ZT_TEST(stress, close_wakes_send_on_full_window_linger0, .timeout = 120)
{
	static uint8_t buf[65536];
	int rep, a, b;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_SEND, .buf = buf, .len = sizeof(buf) };

		zt_tcp_pair(family_of(rep), &a, &b);
		set_linger0(a);
		fill_send_path(a);
		bl.fd = a;
		close_wakes(&bl, rep);
		zt_close(b);
	}
}

ZT_TEST(stress, close_wakes_accept, .timeout = 120)
{
	int rep;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_ACCEPT };
		uint16_t port;

		bl.fd = zt_listener(family_of(rep), 4, &port);
		close_wakes(&bl, rep);
	}
}

ZT_TEST(stress, close_wakes_connect_to_full_backlog, .timeout = 120)
{
	int rep;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_CONNECT };
		int family = family_of(rep);
		uint16_t port;
		int l = zt_listener(family, 1, &port);
		/* fills the backlog of 1: never accepted, so the next SYN is dropped */
		int first = zt_connect(family, port);

		bl.tolen = zt_loopback(family, port, &bl.to);
		bl.fd = zt_socket(family, SOCK_STREAM);
		close_wakes(&bl, rep);
		zt_close(first);
		zt_close(l);
	}
}

ZT_TEST(stress, close_wakes_poll, .timeout = 120)
{
	int rep, a, b;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = (rep & 2) ? OP_POLL2 : OP_POLL };

		zt_tcp_pair(family_of(rep), &a, &b);
		bl.fd = a;
		bl.other = b;   /* b stays quiet: nothing to read on it */
		close_wakes(&bl, rep);
		zt_close(b);
	}
}

/* select is a blocking call too (socket.h lists EINTR for it). */
ZT_TEST(stress, close_wakes_select, .timeout = 120)
{
	int rep, a, b;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl = { .op = OP_SELECT };

		zt_tcp_pair(family_of(rep), &a, &b);
		bl.fd = a;
		bl.other = b;
		close_wakes(&bl, rep);
		zt_close(b);
	}
}

/* Two threads in recv and two in poll on one fd: one close wakes all four. */
ZT_TEST(stress, close_wakes_4_threads_on_one_fd, .timeout = 120)
{
	uint8_t buf[4][512];
	int rep, a, b, i;

	for (rep = 0; rep < RACE_REPS; rep++) {
		struct blocker bl[4];

		zt_tcp_pair(family_of(rep), &a, &b);
		for (i = 0; i < 4; i++)
			bl[i] = (struct blocker){ .op = i < 2 ? OP_RECV : OP_POLL, .fd = a,
						  .other = b, .buf = buf[i], .len = sizeof(buf[i]) };
		close_wakes_n(bl, 4, rep);
		zt_close(b);
	}
}

/*
 * A thread blocked in recv (or send) must not stall other threads' calls on
 * the same fd that must not block: MSG_DONTWAIT gives EAGAIN at once
 * (CONFORMANCE.md "TCP"), FIONREAD and poll "do not block" (socket.h).
 */
struct quick_call {
	int fd;
	int what;            /* 0 recv DONTWAIT, 1 send DONTWAIT, 2 FIONREAD, 3 poll(0) */
	ssize_t rc;
	int err;
	int value;
};

static void *quick_main(void *p)
{
	struct quick_call *q = p;
	uint8_t buf[256] = { 0 };
	struct zsock_pollfd pf = { .fd = q->fd, .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };

	switch (q->what) {
	case 0:
		q->rc = zsock_recv(q->fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		break;
	case 1:
		q->rc = zsock_send(q->fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		break;
	case 2:
		q->rc = zsock_ioctl(q->fd, FIONREAD, &q->value);
		break;
	default:
		q->rc = zsock_poll(&pf, 1, 0);
		break;
	}
	q->err = errno;
	return NULL;
}

static void quick_while_blocked(enum blocking_op op, int what, const char *name)
{
	static uint8_t buf[65536];
	struct blocker bl = { .op = op, .buf = buf, .len = op == OP_SEND ? sizeof(buf) : 512 };
	struct quick_call q = { .what = what };
	pthread_t bt, qt;
	int64_t t0, dt;
	bool quick_done;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	if (op == OP_SEND)
		fill_send_path(a);
	bl.fd = a;
	q.fd = a;
	atomic_store(&bl.tid, 0);
	bt = zt_spawn(blocker_main, &bl);
	cr_assert(wait_asleep(&bl, 5000), "%s never blocked", op_name(op));
	t0 = zt_now_ms();
	qt = zt_spawn(quick_main, &q);
	quick_done = zt_join(qt, 2000);
	dt = zt_now_ms() - t0;
	/* end the blocked call either way, then judge */
	zt_close(a);
	cr_assert(zt_join(bt, RACE_WAKE_MS), "%s still blocked after the close", op_name(op));
	if (!quick_done)
		cr_assert(zt_join(qt, RACE_WAKE_MS), "%s still blocked after the close", name);
	zt_close(b);
	cr_assert(quick_done, "%s on an fd where another thread is blocked in %s: still waiting "
		  "after 2 s (it must not block)", name, op_name(op));
	if (what == 0 || what == 1) {
		cr_assert_eq(q.rc, -1, "%s returned %zd", name, q.rc);
		cr_assert_eq(q.err, EAGAIN, "%s: errno %d", name, q.err);
	} else {
		cr_assert_geq(q.rc, 0, "%s: errno %d", name, q.err);
	}
	cr_assert_lt(dt, 2000, "%s took %lld ms", name, (long long)dt);
}

ZT_TEST(stress, dontwait_recv_while_another_thread_blocks_in_recv, .timeout = 60)
{
	quick_while_blocked(OP_RECV, 0, "recv(MSG_DONTWAIT)");
}

ZT_TEST(stress, fionread_while_another_thread_blocks_in_recv, .timeout = 60)
{
	quick_while_blocked(OP_RECV, 2, "ioctl(FIONREAD)");
}

ZT_TEST(stress, poll0_while_another_thread_blocks_in_recv, .timeout = 60)
{
	quick_while_blocked(OP_RECV, 3, "poll(timeout 0)");
}

ZT_TEST(stress, dontwait_send_while_another_thread_blocks_in_send, .timeout = 60)
{
	quick_while_blocked(OP_SEND, 1, "send(MSG_DONTWAIT)");
}

/* ---- 4 threads in recv on the same fd ------------------------------------------------ */

#define SAME_FD_THREADS 4
#define SAME_FD_TOTAL (4u * 1024 * 1024)
#define SAME_FD_SEED 0x5a3ef0d

struct slice_log {
	int fd;
	uint64_t rng;
	uint8_t *data;          /* everything this thread got, in its order */
	size_t got;
	size_t *len;            /* length of each recv */
	size_t nslices, cap;
	int err;
	bool eof;
};

static void *same_fd_reader(void *p)
{
	struct slice_log *s = p;

	for (;;) {
		size_t want = 1 + (size_t)(zt_rand(&s->rng) % 6000);
		ssize_t n;

		if (want > SAME_FD_TOTAL - s->got)
			want = SAME_FD_TOTAL - s->got;
		if (want == 0)
			want = 1;  /* everything came here: only EOF is left */
		if (s->got + want > SAME_FD_TOTAL + 1) {
			s->err = E2BIG;
			break;
		}
		n = zsock_recv(s->fd, s->data + s->got, want, 0);
		if (n < 0) {
			s->err = errno;
			break;
		}
		if (n == 0) {
			s->eof = true;
			break;
		}
		if (s->nslices == s->cap) {
			s->err = ENOMEM;
			break;
		}
		s->len[s->nslices++] = (size_t)n;
		s->got += (size_t)n;
	}
	return NULL;
}

/*
 * Put the slices back together: the engine hands out the stream one recv at a
 * time, so the stream is a merge of the threads' slice lists, each in its own
 * order. Depth-first over the choices, backtracking when two threads' next
 * slices both fit (possible only for short slices).
 */
struct choice {
	size_t pos;
	size_t next[SAME_FD_THREADS];
	size_t off[SAME_FD_THREADS];
	int tried;              /* last thread tried at this point */
};

static bool slice_fits(const struct slice_log *s, size_t i, size_t off, size_t pos)
{
	return pos + s->len[i] <= SAME_FD_TOTAL &&
	       zt_pattern_check(SAME_FD_SEED, pos, s->data + off, s->len[i]) == s->len[i];
}

static bool reassemble(struct slice_log *s, size_t *stuck_at)
{
	size_t total = 0;
	struct choice cur = { 0 };
	struct choice *stack;
	size_t depth = 0, cap = 0, steps = 0;
	int k;

	for (k = 0; k < SAME_FD_THREADS; k++)
		cap += s[k].nslices;
	stack = calloc(cap + 1, sizeof(*stack));
	if (stack == NULL)
		return false;
	*stuck_at = 0;
	cur.tried = -1;
	while (cur.pos < SAME_FD_TOTAL && steps++ < 50000000) {
		int found = -1;

		for (k = cur.tried + 1; k < SAME_FD_THREADS; k++) {
			if (cur.next[k] < s[k].nslices && slice_fits(&s[k], cur.next[k], cur.off[k],
								     cur.pos)) {
				found = k;
				break;
			}
		}
		if (cur.pos > *stuck_at)
			*stuck_at = cur.pos;
		if (found < 0) {
			if (depth == 0)
				break;
			cur = stack[--depth];   /* back to the last choice, try the next thread */
			continue;
		}
		cur.tried = found;
		stack[depth++] = cur;
		cur.pos += s[found].len[cur.next[found]];
		cur.off[found] += s[found].len[cur.next[found]];
		cur.next[found]++;
		cur.tried = -1;
	}
	free(stack);
	if (cur.pos != SAME_FD_TOTAL)
		return false;
	for (k = 0; k < SAME_FD_THREADS; k++) {
		total += s[k].got;
		if (cur.next[k] != s[k].nslices)
			return false;
	}
	return total == SAME_FD_TOTAL;
}

ZT_TEST(stress, same_fd_recv_4_threads, .timeout = 120)
{
	struct slice_log s[SAME_FD_THREADS];
	pthread_t t[SAME_FD_THREADS];
	uint8_t *out = malloc(SAME_FD_TOTAL);
	size_t sum = 0, stuck = 0, sent = 0;
	uint64_t rng = 77;
	int a, b, k;

	cr_assert_not_null(out);
	zt_pattern(SAME_FD_SEED, 0, out, SAME_FD_TOTAL);
	zt_tcp_pair(AF_INET6, &a, &b);
	for (k = 0; k < SAME_FD_THREADS; k++) {
		s[k] = (struct slice_log){ .fd = b, .rng = 1000 + (uint64_t)k,
					   .data = malloc(SAME_FD_TOTAL + 1), .cap = SAME_FD_TOTAL };
		s[k].len = malloc(s[k].cap * sizeof(size_t));
		cr_assert(s[k].data != NULL && s[k].len != NULL);
		t[k] = zt_spawn(same_fd_reader, &s[k]);
	}
	/* let them all block first, then stream in random-size writes */
	zt_sleep_ms(50);
	while (sent < SAME_FD_TOTAL) {
		size_t n = 1 + (size_t)(zt_rand(&rng) % 20000);

		if (n > SAME_FD_TOTAL - sent)
			n = SAME_FD_TOTAL - sent;
		zt_send_all(a, out + sent, n);
		sent += n;
		if ((zt_rand(&rng) & 7) == 0)
			zt_sleep_ms(1);   /* let the readers catch up: more wake-ups */
	}
	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0, "shutdown: errno %d", errno);
	for (k = 0; k < SAME_FD_THREADS; k++)
		cr_assert(zt_join(t[k], 30000), "reader %d hangs", k);
	for (k = 0; k < SAME_FD_THREADS; k++) {
		cr_assert_eq(s[k].err, 0, "reader %d: errno %d (%s) after %zu bytes", k, s[k].err,
			     strerror(s[k].err), s[k].got);
		cr_assert(s[k].eof, "reader %d saw no EOF", k);
		sum += s[k].got;
	}
	cr_assert_eq(sum, (size_t)SAME_FD_TOTAL, "the readers got %zu bytes in all, %u were sent",
		     sum, SAME_FD_TOTAL);
	cr_assert(reassemble(s, &stuck),
		  "the slices do not rebuild the stream: no slice fits at offset %zu "
		  "(a byte lost, duplicated or out of order)", stuck);
	fprintf(stderr, "same_fd_recv: slices per reader %zu %zu %zu %zu\n", s[0].nslices,
		s[1].nslices, s[2].nslices, s[3].nslices);
	for (k = 0; k < SAME_FD_THREADS; k++) {
		free(s[k].data);
		free(s[k].len);
	}
	free(out);
	zt_close(a);
	zt_close(b);
}
