/*
 * The measuring instruments the workloads share: the clocks, I/O through
 * struct bench_impl (payload moved by the zero-copy hooks when the
 * implementation has them), the measured window of a stream and what is
 * reported from it, and latency samples.
 *
 * Time is CLOCK_MONOTONIC. CPU time is getrusage(RUSAGE_SELF): every
 * thread of the process, the application's and the stack's own (zsock's
 * reactor, lwIP's tcpip thread), user and system.
 */
#define _GNU_SOURCE
#include "bench_priv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ---- clocks -------------------------------------------------------------------- */

/* see bench_priv.h */
double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* see bench_priv.h */
uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* see bench_priv.h */
double bench_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- I/O helpers -------------------------------------------------------------------- */

/* see bench_priv.h */
int bench_send_all(const struct bench_impl *im, int fd, const void *buf, size_t len,
		    uint64_t *seq)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (im->send_zc != NULL)
			n = im->send_zc(fd, len - done, (*seq)++);
		else
			n = im->send(fd, (const uint8_t *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* see bench_priv.h */
ssize_t bench_recv_some(const struct bench_impl *im, int fd, void *buf, size_t len)
{
	uint64_t word;

	if (im->recv_zc != NULL)
		return im->recv_zc(fd, &word);
	return im->recv(fd, buf, len);
}

/* see bench_priv.h */
int bench_recv_exact(const struct bench_impl *im, int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = bench_recv_some(im, fd, (uint8_t *)buf + got, len - got);

		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* see bench_priv.h */
struct sockaddr_in bench_loopback(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* see bench_priv.h */
int bench_tcp_listener(const struct bench_impl *im, struct sockaddr_in *at)
{
	struct sockaddr_in sa = bench_loopback(0);
	int fd = im->socket(SOCK_STREAM);

	if (fd < 0)
		return -1;
	if (im->bind(fd, &sa) < 0 || im->listen(fd, 16) < 0 || im->local_addr(fd, at) < 0) {
		int e = errno;

		im->close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* see bench_priv.h */
int bench_tcp_connect_accept(const struct bench_impl *im, int lfd, const struct sockaddr_in *at,
			      int *client, int *server)
{
	int c = im->socket(SOCK_STREAM), s;

	if (c < 0)
		return -1;
	if (im->connect(c, at) < 0 || (s = im->accept(lfd)) < 0) {
		int e = errno;

		im->close(c);
		errno = e;
		return -1;
	}
	*client = c;
	*server = s;
	return 0;
}

/* see bench_priv.h */
int bench_tcp_pair(const struct bench_impl *im, int *client, int *server)
{
	struct sockaddr_in at;
	int lfd = bench_tcp_listener(im, &at), rc;

	if (lfd < 0)
		return -1;
	rc = bench_tcp_connect_accept(im, lfd, &at, client, server);
	im->close(lfd);
	return rc;
}

/* ---- measurements shared by the workloads ------------------------------------------- */

/* see bench_priv.h */
void bench_mark(const struct bench_impl *im, struct mark *m, uint64_t bytes)
{
	m->have_ctr = im->counters != NULL && im->counters(&m->ctr) == 0;
	m->cpu = bench_cpu_seconds();
	m->bytes = bytes;
	m->t = bench_now();
}

/* see bench_priv.h */
void bench_report_stream(const struct bench_impl *im, const char *workload, const char *param,
			  const struct mark *a, const struct mark *b)
{
	double bytes = (double)(b->bytes - a->bytes), secs = b->t - a->t;

	bench_result(im->name, workload, param, "throughput", bytes / secs / 1e6, "MB/s");
	bench_result(im->name, workload, param, "cpu_per_gb", (b->cpu - a->cpu) / (bytes / 1e9), "s/GB");
	if (a->have_ctr && b->have_ctr) {
		uint64_t tx = b->ctr.tx_bytes - a->ctr.tx_bytes, rx = b->ctr.rx_bytes - a->ctr.rx_bytes;

		/* loopback: every payload byte passes both paths of this
		 * process; against a peer only one of them carries it */
		if (tx > 0)
			bench_result(im->name, workload, param, "tx_copies_per_byte",
				     (double)(b->ctr.tx_copied - a->ctr.tx_copied) / (double)tx, "copies/B");
		if (rx > 0)
			bench_result(im->name, workload, param, "rx_copies_per_byte",
				     (double)(b->ctr.rx_copied - a->ctr.rx_copied) / (double)rx, "copies/B");
	}
}

/* see bench_priv.h */
int bench_stream_receive(const struct bench_impl *im, int fd, atomic_bool *stop,
			  bool close_early, struct mark *a, struct mark *b)
{
	static uint8_t buf[RX_BUF_SIZE];
	double t_warm = bench_now() + bench_opt.warmup, t_end = 0;
	uint64_t total = 0;
	int phase = 0;

	for (;;) {
		ssize_t n = bench_recv_some(im, fd, buf, sizeof(buf));
		double t;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		total += (uint64_t)n;
		if (phase == 2)
			continue;
		t = bench_now();
		if (phase == 0 && t >= t_warm) {
			bench_mark(im, a, total);
			t_end = a->t + bench_opt.duration;
			phase = 1;
		} else if (phase == 1 && t >= t_end) {
			bench_mark(im, b, total);
			phase = 2;
			if (stop != NULL)
				atomic_store(stop, true);
			if (close_early)
				return 0;
		}
	}
	if (phase != 2) {
		errno = EPIPE;	/* the stream ended inside the window */
		return -1;
	}
	return 0;
}

/* ---- request/response -------------------------------------------------------------- */

/* see bench_priv.h */
int bench_samples_add(struct samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint64_t *p = realloc(s->ns, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		s->ns = p;
		s->cap = cap;
	}
	s->ns[s->n++] = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* see bench_priv.h */
void bench_samples_sort(struct samples *s)
{
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
}

/* see bench_priv.h */
double bench_quantile_us(const struct samples *s, double q)
{
	size_t k = (size_t)ceil(q * (double)s->n);

	k = k == 0 ? 0 : k - 1;
	if (k >= s->n)
		k = s->n - 1;
	return (double)s->ns[k] / 1e3;
}

/* see bench_priv.h */
double bench_mean_us(const struct samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->ns[i];
	return sum / (double)s->n / 1e3;
}

/* see bench_priv.h */
int bench_rr_client(const struct bench_impl *im, int fd, size_t size, double duration,
		     size_t min_n, unsigned gap_us, struct samples *out)
{
	struct timespec gap = { .tv_sec = gap_us / 1000000, .tv_nsec = (long)(gap_us % 1000000) * 1000 };
	uint8_t *buf = calloc(1, size);
	double t_warm = bench_now() + bench_opt.warmup, t_end = 0, cpu0 = 0;
	uint64_t seq = 0;
	bool measuring = false;
	int rc = -1;

	if (buf == NULL)
		return -1;
	for (;;) {
		uint64_t t0, t1;

		if (gap_us > 0)
			nanosleep(&gap, NULL);
		t0 = bench_now_ns();
		if (bench_send_all(im, fd, buf, size, &seq) < 0 || bench_recv_exact(im, fd, buf, size) < 0)
			break;
		t1 = bench_now_ns();
		if (!measuring) {
			if (bench_now() >= t_warm) {
				measuring = true;
				t_end = bench_now() + duration;
				cpu0 = bench_cpu_seconds();
			}
			continue;
		}
		if (bench_samples_add(out, t1 - t0) < 0) {
			errno = ENOMEM;
			break;
		}
		if (out->n >= min_n && bench_now() >= t_end) {
			out->cpu = bench_cpu_seconds() - cpu0;
			rc = 0;
			break;
		}
	}
	free(buf);
	return rc;
}

static void write_dist(const char *impl, const char *workload, int size, const struct samples *s)
{
	char path[512];
	FILE *f;

	if (bench_opt.dist_dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s-%s-%d.dat", bench_opt.dist_dir, workload, impl, size);
	f = fopen(path, "w");
	if (f == NULL) {
		bench_fail(impl, workload, "%s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "# %s %s %d B: quantile, round trip in us (%zu samples)\n",
		impl, workload, size, s->n);
	for (int i = 0; i <= DIST_POINTS; i++)
		fprintf(f, "%.4f %.3f\n", (double)i / DIST_POINTS,
			bench_quantile_us(s, (double)i / DIST_POINTS));
	fclose(f);
}

/* see bench_priv.h */
void bench_report_rr(const struct bench_impl *im, const char *workload, int size, struct samples *s)
{
	char param[16];

	bench_param(param, sizeof(param), size);
	bench_samples_sort(s);
	bench_result(im->name, workload, param, "p50", bench_quantile_us(s, 0.50), "us");
	bench_result(im->name, workload, param, "p99", bench_quantile_us(s, 0.99), "us");
	bench_result(im->name, workload, param, "mean", bench_mean_us(s), "us");
	bench_result(im->name, workload, param, "round_trips", (double)s->n, "count");
	bench_result(im->name, workload, param, "cpu_per_rt", s->cpu / (double)s->n * 1e6, "us");
	write_dist(im->name, workload, size, s);
}
