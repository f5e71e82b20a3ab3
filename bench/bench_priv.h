/*
 * The driver's insides, shared by its four files; the implementations
 * (impl_*.c) see bench.h only.
 *
 *   driver.c     the program: options, output, the watchdog, bench_main()
 *   measure.c    the instruments: clocks, I/O helpers over struct
 *                bench_impl, measured windows of a stream, latency samples
 *   workloads.c  the loopback workloads: bulk, rr, udp, udp_paced, poll
 *   peer.c       the workloads against a peer, and the peer (--serve)
 *
 * Every workload entry point returns 0 when it printed its figures (or
 * n/a lines), -1 after printing why it could not.
 */
#ifndef BENCH_PRIV_H
#define BENCH_PRIV_H

#include "bench.h"

#include <stdatomic.h>

#define MAX_LIST        16
#define RX_BUF_SIZE     65536       /* the bulk receiver's buffer */
#define UDP_FIN         UINT64_MAX  /* sequence number of the end marker */
#define PEER_PORT       5201
#define DIST_POINTS     1000        /* quantile steps written per RR point */
#define POLL_MIN_EVENTS 50          /* round trips per poll point, at least */

/* ---- options (driver.c) ------------------------------------------------------ */

struct list {
	int v[MAX_LIST];
	int n;
};

struct opts {
	const char *impl;           /* --impl: one of the binary's, NULL: all */
	unsigned workloads;
	double warmup, duration;    /* seconds, per point */
	double rr_duration;
	int rr_min;                 /* round trips per RR point, at least */
	struct list bulk_sizes, rr_sizes, poll_n, tap_sizes;
	int udp_size;
	int udp_window;             /* udp_paced: datagrams in flight, at most */
	const char *dist_dir;
	const char *netif;          /* --netif: interface for the stack */
	bool have_peer;
	struct sockaddr_in peer;    /* --peer */
	bool serve;
	struct sockaddr_in serve_at;
	int timeout;                /* watchdog, seconds */
	bool smoke;
};

extern struct opts bench_opt;

/** A failure on stderr: "bench: IMPL WHAT: message". */
void bench_fail(const char *impl, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The decimal text of v, for the param column. */
void bench_param(char *buf, size_t len, int v);

/* ---- clocks and I/O (measure.c) ------------------------------------------------- */

double bench_now(void);          /* CLOCK_MONOTONIC, seconds */
uint64_t bench_now_ns(void);
double bench_cpu_seconds(void);  /* the whole process, user + system */

/* Send all len bytes (short writes retried). With zero-copy hooks the
 * payload is produced in the stack's buffers and buf is not read; *seq
 * numbers each zero-copy call. 0 or -1. */
int bench_send_all(const struct bench_impl *im, int fd, const void *buf, size_t len,
		   uint64_t *seq);
/* One receive: bytes, 0 at end of stream, -1. */
ssize_t bench_recv_some(const struct bench_impl *im, int fd, void *buf, size_t len);
/* Exactly len bytes: 0, or -1 (ECONNRESET at an early end of stream). */
int bench_recv_exact(const struct bench_impl *im, int fd, void *buf, size_t len);

struct sockaddr_in bench_loopback(uint16_t port);
/* A TCP listener on 127.0.0.1 and an ephemeral port, written to *at. */
int bench_tcp_listener(const struct bench_impl *im, struct sockaddr_in *at);
/* One connection through listener lfd at *at: client and accepted ends. */
int bench_tcp_connect_accept(const struct bench_impl *im, int lfd, const struct sockaddr_in *at,
			     int *client, int *server);
/* A connected TCP pair over loopback; the listener is closed again. */
int bench_tcp_pair(const struct bench_impl *im, int *client, int *server);

/* ---- measured windows of a stream (measure.c) ---------------------------------- */

/* A snapshot at a boundary of the measured window. */
struct mark {
	double t, cpu;
	uint64_t bytes;
	struct bench_counters ctr;
	bool have_ctr;
};

void bench_mark(const struct bench_impl *im, struct mark *m, uint64_t bytes);
/* Print throughput, CPU per GB and copies per byte over [a, b]. */
void bench_report_stream(const struct bench_impl *im, const char *workload, const char *param,
			 const struct mark *a, const struct mark *b);
/* Receive a stream to its end, marking *a after the warm-up and *b after
 * the duration (then *stop is set, if given, so the sender can finish);
 * with close_early, return at *b (a peer's source never ends by itself).
 * 0 once both marks exist, -1. */
int bench_stream_receive(const struct bench_impl *im, int fd, atomic_bool *stop,
			 bool close_early, struct mark *a, struct mark *b);

/* ---- latency samples (measure.c) ------------------------------------------------- */

struct samples {
	uint64_t *ns;
	size_t n, cap;
	double cpu;       /* process CPU seconds over the timed round trips */
};

int bench_samples_add(struct samples *s, uint64_t v);
void bench_samples_sort(struct samples *s);
/* Nearest-rank quantile of sorted samples, in microseconds. */
double bench_quantile_us(const struct samples *s, double q);
double bench_mean_us(const struct samples *s);
/* Round trips of size bytes on fd: a warm-up, then timed ones until
 * duration seconds have passed and min_n were timed; with gap_us, the
 * client sleeps that long before each round trip (not timed, but its CPU
 * is counted: what the stack burns while a connection idles). 0 or -1. */
int bench_rr_client(const struct bench_impl *im, int fd, size_t size, double duration,
		    size_t min_n, unsigned gap_us, struct samples *out);
/* Print p50, p99, mean, count and CPU per round trip; write the quantiles
 * to --dist-dir. Sorts s. */
void bench_report_rr(const struct bench_impl *im, const char *workload, int size,
		     struct samples *s);

/* ---- workloads (workloads.c, peer.c) ---------------------------------------------- */

int bench_run_bulk(const struct bench_impl *im, int size);
/* rr: tcp_rr back to back (gap_us 0) or tcp_rr_paced (a pause before
 * each round trip) */
int bench_run_rr(const struct bench_impl *im, const char *workload, int size, unsigned gap_us);
/* udp (window 0: as fast as the sender can) and udp_paced (the sender
 * stays at most window datagrams ahead of the highest number the receiver
 * has seen, waiting up to 1 ms for it, then sends anyway: a loss never
 * stalls it). */
int bench_run_udp(const struct bench_impl *im, const char *workload, int size, int window);
int bench_run_poll(const struct bench_impl *im);

/* Wait (20 s at most) until the peer answers one round trip, so that the
 * link (ARP, the Linux side of a freshly opened TAP) is up before anything
 * is timed. */
int bench_peer_ready(const struct bench_impl *im);
int bench_run_tap_bulk_tx(const struct bench_impl *im, int size);
int bench_run_tap_bulk_rx(const struct bench_impl *im, int size);
int bench_run_tap_rr(const struct bench_impl *im, int size);
/* Be the peer at bench_opt.serve_at until killed; returns only on error. */
int bench_serve(const struct bench_impl *im);

#endif
