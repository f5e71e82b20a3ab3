/*
 * gateway_forward: a TCP forwarder between two stacks, the shape of a
 * gateway: it serves clients on the engine's own TCP/IP stack (a TAP
 * interface, or the loopback) and forwards each connection to an upstream
 * server reached through the host kernel's stack (the offload interface
 * "host", hostsock). Each socket picks its stack with SO_BINDTODEVICE on a
 * dispatcher socket (<zsock/socket_offload.h>); one zsock_poll loop serves
 * every connection, both kinds of fd in the same call.
 *
 *   gateway_forward [--listen-dev DEV] [--port N] UPSTREAM_IP UPSTREAM_PORT
 *
 *   --listen-dev  the engine interface to serve on (default "lo"; a TAP's
 *                 device name from ZSOCK_NETIF)
 *   --port        the port served on the engine, default 8080
 *
 *   ZSOCK_NETIF=tap:zt0,ip=192.0.2.2/24 ./gateway_forward --listen-dev zt0 \
 *       127.0.0.1 9000
 *
 * A client of 192.0.2.2:8080 (on the TAP's far side) is connected to
 * 127.0.0.1:9000 as the host sees it. Bytes are relayed both ways through
 * one buffer per direction; a direction whose buffer is full stops reading
 * its source (backpressure), and a half-close is passed on
 * (shutdown(SHUT_WR)). One line per event on stdout; the first is
 * "gateway_forward: listening". SIGINT/SIGTERM end it.
 */
#include <zsock/socket.h>
#include <zsock/socket_offload.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAIRS 16
#define BUF_SIZE 16384

struct dir {
	char buf[BUF_SIZE];
	size_t len, off;   /* bytes waiting in buf: [off, len) */
	bool eof;          /* the source ended; shut the sink once drained */
	bool shut;
};

struct pair {
	int cli, up;       /* -1: free */
	struct dir c2u, u2c;
};

static struct pair pairs[MAX_PAIRS];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A dispatcher socket bound to dev: the engine's stack or the host's. */
static int socket_on(const char *dev)
{
	int fd = zsock_dispatcher_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

	if (fd < 0)
		return -1;
	if (zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1) < 0) {
		int e = errno;

		zsock_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void pair_close(struct pair *p, const char *why)
{
	printf("closed a connection: %s\n", why);
	fflush(stdout);
	zsock_close(p->cli);
	zsock_close(p->up);
	p->cli = p->up = -1;
}

static void accept_one(int lfd, const struct sockaddr_in *upstream)
{
	struct pair *p = NULL;
	int cli, up;
	size_t i;

	cli = zsock_accept(lfd, NULL, NULL);
	if (cli < 0)
		return;
	for (i = 0; i < MAX_PAIRS; i++)
		if (pairs[i].cli < 0)
			p = &pairs[i];
	up = p != NULL ? socket_on("host") : -1;
	if (up < 0 || zsock_connect(up, (const struct sockaddr *)upstream, sizeof(*upstream)) < 0) {
		printf("refused a connection: %s\n",
		       p == NULL ? "too many connections" : strerror(errno));
		fflush(stdout);
		if (up >= 0)
			zsock_close(up);
		zsock_close(cli);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->cli = cli;
	p->up = up;
	printf("connected a client to the upstream server\n");
	fflush(stdout);
}

/* Move bytes from src into d (if room) and from d into dst (if any). */
static int relay(int src, int dst, struct dir *d, short src_ev, short dst_ev)
{
	ssize_t n;

	if ((src_ev & (ZSOCK_POLLIN | ZSOCK_POLLHUP | ZSOCK_POLLERR)) && d->len == 0 && !d->eof) {
		n = zsock_recv(src, d->buf, sizeof(d->buf), ZSOCK_MSG_DONTWAIT);
		if (n > 0) {
			d->len = (size_t)n;
			d->off = 0;
		} else if (n == 0) {
			d->eof = true;
		} else if (errno != EAGAIN) {
			return -1;
		}
	}
	(void)dst_ev; /* a send is tried whenever bytes wait: EAGAIN costs nothing */
	if (d->off < d->len) {
		n = zsock_send(dst, d->buf + d->off, d->len - d->off, ZSOCK_MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (n > 0)
			d->off += (size_t)n;
		if (d->off == d->len)
			d->len = d->off = 0;
	}
	if (d->eof && d->len == 0 && !d->shut) {
		zsock_shutdown(dst, ZSOCK_SHUT_WR);
		d->shut = true;
	}
	return 0;
}

/* poll wants for one side: read when its buffer is empty, write when the other's is full */
static short wants(const struct dir *in, const struct dir *out)
{
	short ev = 0;

	if (in->len == 0 && !in->eof)
		ev |= ZSOCK_POLLIN;
	if (out->off < out->len)
		ev |= ZSOCK_POLLOUT;
	return ev;
}

int main(int argc, char **argv)
{
	struct zsock_pollfd fds[1 + 2 * MAX_PAIRS];
	struct sockaddr_in local = { .sin_family = AF_INET }, upstream = { .sin_family = AF_INET };
	const char *dev = "lo";
	long port = 8080;
	int i, lfd, one = 1;

	for (i = 1; i < argc - 2; i++) {
		if (strcmp(argv[i], "--listen-dev") == 0 && i + 1 < argc - 2)
			dev = argv[++i];
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc - 2)
			port = strtol(argv[++i], NULL, 10);
		else
			break;
	}
	if (i != argc - 2 || port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, argv[argc - 2], &upstream.sin_addr) != 1) {
		fprintf(stderr, "usage: gateway_forward [--listen-dev DEV] [--port N] "
			"UPSTREAM_IP UPSTREAM_PORT\n");
		return 2;
	}
	upstream.sin_port = htons((uint16_t)strtol(argv[argc - 1], NULL, 10));
	local.sin_port = htons((uint16_t)port);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	lfd = socket_on(dev);
	if (lfd < 0 || zsock_setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    zsock_bind(lfd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    zsock_listen(lfd, 8) < 0 || zsock_fcntl(lfd, F_SETFL, O_NONBLOCK) < 0) {
		fprintf(stderr, "gateway_forward: listen on %s port %ld: %s\n", dev, port,
			strerror(errno));
		return 1;
	}
	for (i = 0; i < MAX_PAIRS; i++)
		pairs[i].cli = pairs[i].up = -1;
	printf("gateway_forward: listening on %s port %ld, forwarding to %s:%s through host\n",
	       dev, port, argv[argc - 2], argv[argc - 1]);
	fflush(stdout);

	while (!stop) {
		int n = 0;

		fds[n++] = (struct zsock_pollfd){ .fd = lfd, .events = ZSOCK_POLLIN };
		for (i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];

			fds[n++] = (struct zsock_pollfd){ .fd = p->cli,
							  .events = p->cli < 0 ? 0 : wants(&p->c2u, &p->u2c) };
			fds[n++] = (struct zsock_pollfd){ .fd = p->up,
							  .events = p->up < 0 ? 0 : wants(&p->u2c, &p->c2u) };
		}
		if (zsock_poll(fds, n, 500) < 0) {
			if (errno == EINTR)
				continue;
			perror("gateway_forward: poll");
			break;
		}
		if (fds[0].revents & ZSOCK_POLLIN)
			accept_one(lfd, &upstream);
		for (i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];
			short ce = fds[1 + 2 * i].revents, ue = fds[2 + 2 * i].revents;

			if (p->cli < 0 || fds[1 + 2 * i].fd != p->cli)
				continue; /* accepted during this round */
			if (relay(p->cli, p->up, &p->c2u, ce, ue) < 0 ||
			    relay(p->up, p->cli, &p->u2c, ue, ce) < 0) {
				pair_close(p, strerror(errno));
				continue;
			}
			if (p->c2u.shut && p->u2c.shut)
				pair_close(p, "both directions done");
		}
	}
	for (i = 0; i < MAX_PAIRS; i++)
		if (pairs[i].cli >= 0)
			pair_close(&pairs[i], "shutting down");
	zsock_close(lfd);
	return 0;
}
