/*
 * The workloads, written once against struct bench_impl (see bench.h):
 * the loopback ones here, those against a peer in peer.c.
 *
 * Each runs its client and its server as two threads of this process over
 * the stack's loopback (127.0.0.1). Clocks and CPU time: see measure.c.
 *
 *   bulk   one TCP connection, a sender thread writing W bytes per call as
 *          fast as it can, the receiver reading into a 64 KiB buffer. After
 *          the warm-up the receiver notes bytes, time, CPU and the stack's
 *          counters; again after the duration; the sender is then stopped.
 *          Throughput is payload received per second (MB = 10^6 bytes).
 *   rr     one TCP connection (TCP_NODELAY), the client sends S bytes and
 *          waits for S bytes back, the server echoes; every round trip is
 *          timed. p50, p99 and mean; the quantiles go to --dist-dir. The
 *          process's CPU time per round trip shows what waiting costs
 *          (a stack that spins instead of sleeping pays here).
 *   udp    a sender thread sends D-byte datagrams on a connected UDP socket
 *          as fast as it can, each carrying its sequence number; the
 *          receiver counts those sent inside the measured window (their
 *          numbers say which), so "lost" is exact. udp_paced: the same,
 *          but the sender stays at most --udp-window datagrams ahead of
 *          the receiver (an application with flow control): the rate the
 *          stack sustains without overrunning its receiver.
 *   poll   N TCP connections, one active: the server thread polls all N
 *          (non-blocking, as an event loop does) and echoes the active
 *          one; the client does 1-byte round trips on it. The time per
 *          event is the mean round trip; its ratio to N = 1 shows how the
 *          cost grows with the number of idle sockets polled.
 */
#define _GNU_SOURCE
#include "bench_priv.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- bulk --------------------------------------------------------------------------- */

struct sender {
	const struct bench_impl *im;
	int fd;
	size_t size;
	atomic_bool stop;
	int err;          /* errno of a failed send, 0 */
};

static void *bulk_sender(void *arg)
{
	struct sender *s = arg;
	uint8_t *buf = malloc(s->size);
	uint64_t seq = 0;

	if (buf == NULL) {
		s->err = ENOMEM;
		s->im->shutdown_wr(s->fd);
		return NULL;
	}
	memset(buf, 0x5a, s->size);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		if (bench_send_all(s->im, s->fd, buf, s->size, &seq) < 0) {
			s->err = errno;
			break;
		}
	}
	s->im->shutdown_wr(s->fd);	/* the receiver sees the end of stream */
	free(buf);
	return NULL;
}

/* see bench_priv.h */
int bench_run_bulk(const struct bench_impl *im, int size)
{
	struct sender s = { .im = im, .size = (size_t)size };
	struct mark a, b;
	char param[16];
	pthread_t th;
	int c, srv, rc;

	bench_param(param, sizeof(param), size);
	if (bench_tcp_pair(im, &c, &srv) < 0) {
		bench_fail(im->name, "bulk", "connection: %s", strerror(errno));
		return -1;
	}
	s.fd = c;
	atomic_init(&s.stop, false);
	if (pthread_create(&th, NULL, bulk_sender, &s) != 0) {
		bench_fail(im->name, "bulk", "pthread_create failed");
		im->close(c);
		im->close(srv);
		return -1;
	}
	rc = bench_stream_receive(im, srv, &s.stop, false, &a, &b);
	if (rc < 0) {
		int e = errno;

		/* unblock a sender stuck on a dead connection */
		atomic_store(&s.stop, true);
		im->close(srv);
		srv = -1;
		errno = e;
	}
	pthread_join(th, NULL);
	if (rc < 0 || s.err != 0) {
		bench_fail(im->name, "bulk", "write size %d: %s", size,
		     strerror(rc < 0 ? errno : s.err));
		rc = -1;
	} else {
		bench_report_stream(im, "tcp_bulk", param, &a, &b);
	}
	im->close(c);
	if (srv >= 0)
		im->close(srv);
	return rc;
}
struct echo {
	const struct bench_impl *im;
	int fd;
	size_t size;
	int err;
};

/* The server of rr: echo size-byte messages until end of stream. */
static void *rr_server(void *arg)
{
	struct echo *e = arg;
	uint8_t *buf = calloc(1, e->size);
	uint64_t seq = 0;

	if (buf == NULL) {
		e->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		if (bench_recv_exact(e->im, e->fd, buf, e->size) < 0)
			break;	/* ECONNRESET: the client is done */
		if (bench_send_all(e->im, e->fd, buf, e->size, &seq) < 0) {
			e->err = errno;
			break;
		}
	}
	free(buf);
	return NULL;
}

/* see bench_priv.h */
int bench_run_rr(const struct bench_impl *im, const char *workload, int size, unsigned gap_us)
{
	struct echo e = { .im = im, .size = (size_t)size };
	struct samples s = { 0 };
	pthread_t th;
	int c, srv, rc;

	if (bench_tcp_pair(im, &c, &srv) < 0) {
		bench_fail(im->name, "rr", "connection: %s", strerror(errno));
		return -1;
	}
	im->set_nodelay(c);
	im->set_nodelay(srv);
	e.fd = srv;
	if (pthread_create(&th, NULL, rr_server, &e) != 0) {
		im->close(c);
		im->close(srv);
		return -1;
	}
	rc = bench_rr_client(im, c, (size_t)size, bench_opt.rr_duration, (size_t)bench_opt.rr_min,
			     gap_us, &s);
	if (rc < 0)
		bench_fail(im->name, workload, "size %d: %s", size, strerror(errno));
	im->shutdown_wr(c);	/* the server's recv sees the end */
	pthread_join(th, NULL);
	if (rc == 0 && e.err != 0) {
		bench_fail(im->name, "rr", "server: %s", strerror(e.err));
		rc = -1;
	}
	if (rc == 0)
		bench_report_rr(im, workload, size, &s);
	im->close(c);
	im->close(srv);
	free(s.ns);
	return rc;
}

/* ---- UDP ------------------------------------------------------------------------------ */

struct udp_rx {
	const struct bench_impl *im;
	int fd;
	size_t size;
	_Atomic uint64_t first;   /* first sequence number of the window */
	_Atomic uint64_t next;    /* one past the highest sequence number seen */
	uint64_t received;        /* datagrams of the window received */
	atomic_bool done;         /* the end marker arrived */
	int err;
};

static void *udp_receiver(void *arg)
{
	struct udp_rx *r = arg;
	uint8_t *buf = calloc(1, r->size < 64 ? 64 : r->size);

	if (buf == NULL) {
		r->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		uint64_t seq = 0;
		ssize_t n;

		if (r->im->recv_zc != NULL) {
			n = r->im->recv_zc(r->fd, &seq);
		} else {
			n = r->im->recv(r->fd, buf, r->size);
			if (n >= 8)
				memcpy(&seq, buf, 8);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r->err = errno;
			break;
		}
		if (n < 8)
			continue;
		if (seq == UDP_FIN)
			break;
		if (seq >= atomic_load_explicit(&r->first, memory_order_acquire))
			r->received++;
		atomic_store_explicit(&r->next, seq + 1, memory_order_relaxed);
	}
	atomic_store(&r->done, true);
	free(buf);
	return NULL;
}

/* Send one datagram carrying seq: 1 sent, 0 refused for lack of memory,
 * -1 error. */
static int udp_send_one(const struct bench_impl *im, int fd, uint8_t *buf, size_t size, uint64_t seq)
{
	ssize_t n;

	if (im->send_zc != NULL) {
		n = im->send_zc(fd, size, seq);
	} else {
		memcpy(buf, &seq, 8);
		n = im->send(fd, buf, size);
	}
	if (n >= 0)
		return 1;
	return errno == ENOBUFS || errno == ENOMEM || errno == EAGAIN ? 0 : -1;
}

/* see bench_priv.h */
int bench_run_udp(const struct bench_impl *im, const char *workload, int size, int window)
{
	struct udp_rx r = { .im = im, .size = (size_t)size };
	struct sockaddr_in at = bench_loopback(0), dst;
	uint64_t seq = 0, first = 0, refused = 0;
	uint8_t *buf = calloc(1, (size_t)size);
	double t_warm, t0 = 0, t1;
	char param[16];
	pthread_t th;
	int rfd, sfd, rc = -1;
	bool measuring = false;

	bench_param(param, sizeof(param), size);
	if (buf == NULL || size < 8)
		return -1;
	rfd = im->socket(SOCK_DGRAM);
	sfd = im->socket(SOCK_DGRAM);
	if (rfd < 0 || sfd < 0 || im->bind(rfd, &at) < 0 || im->local_addr(rfd, &dst) < 0 ||
	    im->connect(sfd, &dst) < 0) {
		bench_fail(im->name, workload, "set-up: %s", strerror(errno));
		goto out;
	}
	r.fd = rfd;
	atomic_init(&r.first, UINT64_MAX);
	atomic_init(&r.next, 0);
	atomic_init(&r.done, false);
	if (pthread_create(&th, NULL, udp_receiver, &r) != 0)
		goto out;
	t_warm = bench_now() + bench_opt.warmup;
	for (;;) {
		double t;
		int k;

		if (window > 0 && seq >= atomic_load_explicit(&r.next, memory_order_relaxed) + (uint64_t)window) {
			uint64_t give_up = bench_now_ns() + 1000000;

			while (seq >= atomic_load_explicit(&r.next, memory_order_relaxed) + (uint64_t)window &&
			       bench_now_ns() < give_up)
				sched_yield();
		}
		k = udp_send_one(im, sfd, buf, (size_t)size, seq);

		if (k < 0) {
			bench_fail(im->name, workload, "send: %s", strerror(errno));
			break;
		}
		if (k == 0 && measuring)
			refused++;
		seq += (uint64_t)k;
		t = bench_now();
		if (!measuring && t >= t_warm) {
			measuring = true;
			first = seq;
			atomic_store_explicit(&r.first, first, memory_order_release);
			t0 = t;
		} else if (measuring && t >= t0 + bench_opt.duration) {
			rc = 0;
			break;
		}
	}
	t1 = bench_now();
	/* end markers until the receiver has one (they can be lost too) */
	for (int i = 0; i < 4000 && !atomic_load(&r.done); i++) {
		struct timespec ms = { .tv_nsec = 500000 };

		udp_send_one(im, sfd, buf, (size_t)size, UDP_FIN);
		nanosleep(&ms, NULL);
	}
	if (!atomic_load(&r.done)) {
		bench_fail(im->name, workload, "the receiver never saw the end marker");
		_exit(1);	/* it is blocked in recv for ever */
	}
	pthread_join(th, NULL);
	if (r.err != 0) {
		bench_fail(im->name, workload, "receive: %s", strerror(r.err));
		rc = -1;
	}
	if (rc == 0) {
		double sent = (double)(seq - first), secs = t1 - t0;

		bench_result(im->name, workload, param, "rx_rate", (double)r.received / secs, "dgram/s");
		bench_result(im->name, workload, param, "tx_rate", sent / secs, "dgram/s");
		bench_result(im->name, workload, param, "loss",
			     sent > 0 ? 100.0 * (sent - (double)r.received) / sent : 0, "%");
		bench_result(im->name, workload, param, "tx_refused", (double)refused, "count");
	}
out:
	if (rfd >= 0)
		im->close(rfd);
	if (sfd >= 0)
		im->close(sfd);
	free(buf);
	return rc;
}

/* ---- poll scaling ----------------------------------------------------------------------- */

struct poller {
	const struct bench_impl *im;
	int *fds;
	int n;
	int err;
};

/* The event loop: poll every server-side fd, echo what is readable, stop
 * at the end of stream of the active connection. */
static void *poll_server(void *arg)
{
	struct poller *p = arg;
	struct pollfd *pf = calloc((size_t)p->n, sizeof(*pf));
	uint8_t buf[64];
	uint64_t seq = 0;

	if (pf == NULL) {
		p->err = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < p->n; i++)
		pf[i] = (struct pollfd){ .fd = p->fds[i], .events = POLLIN };
	for (;;) {
		int k = p->im->poll(pf, p->n, 10000);

		if (k <= 0) {
			p->err = k == 0 ? ETIMEDOUT : errno;
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < p->n && k > 0; i++) {
			ssize_t r;

			if (pf[i].revents == 0)
				continue;
			k--;
			r = bench_recv_some(p->im, pf[i].fd, buf, sizeof(buf));
			if (r == 0)
				goto done;	/* the client closed the active one */
			if (r < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					continue;
				p->err = errno;
				goto done;
			}
			if (bench_send_all(p->im, pf[i].fd, buf, (size_t)r, &seq) < 0) {
				p->err = errno;
				goto done;
			}
		}
	}
done:
	free(pf);
	return NULL;
}

/* see bench_priv.h */
int bench_run_poll(const struct bench_impl *im)
{
	double base = 0;
	int rc = 0;

	for (int k = 0; k < bench_opt.poll_n.n; k++) {
		int n = bench_opt.poll_n.v[k], made = 0, lfd;
		int *cl = calloc((size_t)n, sizeof(int)), *sv = calloc((size_t)n, sizeof(int));
		struct poller p = { .im = im, .fds = sv, .n = n };
		struct samples s = { 0 };
		struct sockaddr_in at;
		const char *why;
		char param[16];
		pthread_t th;
		int r = -1;

		bench_param(param, sizeof(param), n);
		why = im->cannot_hold(2 * n + 1);
		if (why != NULL) {
			bench_na(im->name, "poll", param, "per_event", why);
			free(cl);
			free(sv);
			continue;
		}
		if (cl == NULL || sv == NULL || (lfd = bench_tcp_listener(im, &at)) < 0) {
			bench_fail(im->name, "poll", "set-up: %s", strerror(errno));
			free(cl);
			free(sv);
			rc = -1;
			continue;
		}
		for (; made < n; made++) {
			if (bench_tcp_connect_accept(im, lfd, &at, &cl[made], &sv[made]) < 0) {
				bench_fail(im->name, "poll", "N=%d, connection %d: %s", n, made, strerror(errno));
				break;
			}
			im->set_nonblocking(sv[made], true);
		}
		im->close(lfd);
		if (made == n) {
			/* the active connection is the last one polled */
			im->set_nodelay(cl[n - 1]);
			im->set_nodelay(sv[n - 1]);
			if (pthread_create(&th, NULL, poll_server, &p) == 0) {
				r = bench_rr_client(im, cl[n - 1], 1, bench_opt.duration, POLL_MIN_EVENTS, 0, &s);
				if (r < 0)
					bench_fail(im->name, "poll", "N=%d: %s", n, strerror(errno));
				im->shutdown_wr(cl[n - 1]);
				pthread_join(th, NULL);
				if (r == 0 && p.err != 0) {
					bench_fail(im->name, "poll", "N=%d server: %s", n, strerror(p.err));
					r = -1;
				}
			}
		}
		if (r == 0) {
			double m = bench_mean_us(&s);

			bench_samples_sort(&s);
			bench_result(im->name, "poll", param, "per_event", m, "us");
			bench_result(im->name, "poll", param, "p50", bench_quantile_us(&s, 0.5), "us");
			bench_result(im->name, "poll", param, "cpu_per_event",
				     s.cpu / (double)s.n * 1e6, "us");
			if (n == 1)
				base = m;
			if (base > 0)
				bench_result(im->name, "poll", param, "ratio_n1", m / base, "x");
		} else {
			rc = -1;
		}
		for (int i = 0; i < made; i++) {
			im->close(cl[i]);
			im->close(sv[i]);
		}
		free(cl);
		free(sv);
		free(s.ns);
	}
	return rc;
}
