/*
 * Against a peer: the same measurements as workloads.c, with the other
 * end in another process (bench_linux --serve) behind a TAP device or a
 * veth pair, and that peer itself.
 *
 * Peer workloads (--peer ADDR[:PORT], default port 5201): tap_bulk_tx
 * (this stack sends to the peer's sink on PORT; throughput counts the bytes
 * written after the warm-up, up to the moment the peer has read them all
 * and closed), tap_bulk_rx (the peer's source on PORT+1 writes W-byte
 * chunks, this stack receives as in bulk), tap_rr (the peer's echo on
 * PORT+2, as rr). --serve ADDR[:PORT] runs that peer.
 */
#define _GNU_SOURCE
#include "bench_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- against a peer (TAP / veth) ---------------------------------------------------- */

static struct sockaddr_in peer_port(int off)
{
	struct sockaddr_in sa = bench_opt.peer;

	sa.sin_port = htons((uint16_t)(ntohs(bench_opt.peer.sin_port) + off));
	return sa;
}

static int peer_connect(const struct bench_impl *im, int off)
{
	struct sockaddr_in sa = peer_port(off);
	int fd = im->socket(SOCK_STREAM);

	if (fd < 0)
		return -1;
	if (im->connect(fd, &sa) < 0) {
		int e = errno;

		im->close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* see bench_priv.h */
int bench_peer_ready(const struct bench_impl *im)
{
	double end = bench_now() + 20;
	uint8_t b = 1;
	uint64_t seq = 0;

	for (;;) {
		int fd = peer_connect(im, 2);

		if (fd >= 0) {
			int rc = bench_send_all(im, fd, &b, 1, &seq) == 0 && bench_recv_exact(im, fd, &b, 1) == 0 ? 0 : -1;

			im->close(fd);
			if (rc == 0)
				return 0;
		}
		if (bench_now() > end) {
			bench_fail(im->name, "peer", "no answer from the peer: %s", strerror(errno));
			return -1;
		}
		usleep(100000);
	}
}

/* see bench_priv.h */
int bench_run_tap_bulk_tx(const struct bench_impl *im, int size)
{
	uint8_t *buf = malloc((size_t)size), drain[256];
	double t_warm = bench_now() + bench_opt.warmup, t_end = 0;
	uint64_t total = 0, seq = 0;
	struct mark a, b;
	char param[16];
	int fd, phase = 0, rc = -1;

	bench_param(param, sizeof(param), size);
	if (buf == NULL)
		return -1;
	memset(buf, 0x5a, (size_t)size);
	fd = peer_connect(im, 0);
	if (fd < 0) {
		bench_fail(im->name, "tap_bulk_tx", "connect: %s", strerror(errno));
		free(buf);
		return -1;
	}
	while (phase < 2) {
		double t;

		if (bench_send_all(im, fd, buf, (size_t)size, &seq) < 0) {
			bench_fail(im->name, "tap_bulk_tx", "send: %s", strerror(errno));
			goto out;
		}
		total += (uint64_t)size;
		t = bench_now();
		if (phase == 0 && t >= t_warm) {
			bench_mark(im, &a, total);
			t_end = a.t + bench_opt.duration;
			phase = 1;
		} else if (phase == 1 && t >= t_end) {
			phase = 2;
		}
	}
	/* the window closes when the peer has read everything and closed */
	im->shutdown_wr(fd);
	for (;;) {
		ssize_t n = im->recv(fd, drain, sizeof(drain));

		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			bench_fail(im->name, "tap_bulk_tx", "waiting for the peer: %s", strerror(errno));
			goto out;
		}
	}
	bench_mark(im, &b, total);
	bench_report_stream(im, "tap_bulk_tx", param, &a, &b);
	rc = 0;
out:
	im->close(fd);
	free(buf);
	return rc;
}

/* see bench_priv.h */
int bench_run_tap_bulk_rx(const struct bench_impl *im, int size)
{
	uint32_t hdr = htonl((uint32_t)size);
	struct mark a, b;
	char param[16];
	int fd, rc;

	bench_param(param, sizeof(param), size);
	fd = peer_connect(im, 1);
	/* the header goes through plain send: it says how the peer writes */
	if (fd < 0 || im->send(fd, &hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
		bench_fail(im->name, "tap_bulk_rx", "connect: %s", strerror(errno));
		if (fd >= 0)
			im->close(fd);
		return -1;
	}
	rc = bench_stream_receive(im, fd, NULL, true, &a, &b);
	if (rc < 0)
		bench_fail(im->name, "tap_bulk_rx", "receive: %s", strerror(errno));
	else
		bench_report_stream(im, "tap_bulk_rx", param, &a, &b);
	im->close(fd);	/* unread data: a reset, which stops the peer */
	return rc;
}

/* see bench_priv.h */
int bench_run_tap_rr(const struct bench_impl *im, int size)
{
	struct samples s = { 0 };
	int fd = peer_connect(im, 2), rc;

	if (fd < 0) {
		bench_fail(im->name, "tap_rr", "connect: %s", strerror(errno));
		return -1;
	}
	im->set_nodelay(fd);
	rc = bench_rr_client(im, fd, (size_t)size, bench_opt.rr_duration, (size_t)bench_opt.rr_min, 0,
			     &s);
	if (rc < 0)
		bench_fail(im->name, "tap_rr", "size %d: %s", size, strerror(errno));
	else
		bench_report_rr(im, "tap_rr", size, &s);
	im->close(fd);
	free(s.ns);
	return rc;
}

/* ---- the peer (--serve) ------------------------------------------------------------- */

enum { SERVE_SINK, SERVE_SOURCE, SERVE_ECHO };

struct conn {
	const struct bench_impl *im;
	int fd, kind;
};

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	const struct bench_impl *im = c->im;
	static const size_t bufsize = 65536;
	uint8_t *buf = malloc(bufsize);
	uint32_t hdr;
	ssize_t n;

	if (buf == NULL)
		goto out;
	switch (c->kind) {
	case SERVE_SINK:	/* read to the end, then close */
		while ((n = im->recv(c->fd, buf, bufsize)) > 0 || (n < 0 && errno == EINTR))
			;
		break;
	case SERVE_SOURCE:	/* a 4-byte write size, then write until refused */
		if (bench_recv_exact(im, c->fd, &hdr, sizeof(hdr)) < 0)
			break;
		hdr = ntohl(hdr);
		if (hdr == 0 || hdr > bufsize)
			break;
		memset(buf, 0xa5, hdr);
		while (im->send(c->fd, buf, hdr) > 0 || errno == EINTR)
			;
		break;
	case SERVE_ECHO:	/* write back what arrives */
		im->set_nodelay(c->fd);
		while ((n = im->recv(c->fd, buf, bufsize)) > 0) {
			uint64_t seq = 0;

			if (bench_send_all(im, c->fd, buf, (size_t)n, &seq) < 0)
				break;
		}
		break;
	}
out:
	im->close(c->fd);
	free(buf);
	free(c);
	return NULL;
}

/* see bench_priv.h */
int bench_serve(const struct bench_impl *im)
{
	struct pollfd pf[3];

	for (int k = 0; k < 3; k++) {
		struct sockaddr_in sa = bench_opt.serve_at;
		int fd = im->socket(SOCK_STREAM);

		sa.sin_port = htons((uint16_t)(ntohs(sa.sin_port) + k));
		if (fd < 0 || im->bind(fd, &sa) < 0 || im->listen(fd, 16) < 0) {
			bench_fail(im->name, "serve", "listen on port %d: %s", ntohs(sa.sin_port), strerror(errno));
			return 1;
		}
		pf[k] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (im->poll(pf, 3, -1) < 0 && errno != EINTR)
			return 1;
		for (int k = 0; k < 3; k++) {
			struct conn *c;
			pthread_t th;
			int fd;

			if (pf[k].revents == 0)
				continue;
			fd = im->accept(pf[k].fd);
			if (fd < 0)
				continue;
			c = malloc(sizeof(*c));
			if (c == NULL) {
				im->close(fd);
				continue;
			}
			*c = (struct conn){ .im = im, .fd = fd, .kind = k };
			if (pthread_create(&th, NULL, serve_conn, c) != 0) {
				im->close(fd);
				free(c);
				continue;
			}
			pthread_detach(th);
		}
	}
}
