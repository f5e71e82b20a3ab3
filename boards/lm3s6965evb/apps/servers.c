/* TCP and UDP servers from one zsock_poll() loop; see servers.h. */
#include "servers.h"

#include <zsock/net_buf.h>
#include <zsock/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zsock/engine.h>

#include "board.h"
#include "engine/port/baremetal/baremetal.h"
#include "lwip/memp.h"
#include "lwip/stats.h"

#define LISTENERS 6
#define CONNS     3  /* 8 sockets: 4 listeners and a UDP socket leave 3 */
#define BUF_SIZE  1460

struct listener {
	int fd;
	enum server_kind kind;
	bool native;
};

struct conn {
	int fd;                 /* -1: free */
	enum server_kind kind;
	bool native;
	uint16_t off, len;      /* bytes of buf still to send back */
	/* word-aligned like the engine's buffers: memcpy then moves whole
	 * blocks (boards/lm3s6965evb/memcpy.c) */
	_Alignas(4) uint8_t buf[BUF_SIZE];
};

static struct listener listeners[LISTENERS];
static int n_listeners;
static int udp_fd = -1;
static _Alignas(4) uint8_t udp_buf[BUF_SIZE];
static struct conn conns[CONNS];
static uint32_t accepted, refused;
static uint64_t bytes_in, bytes_out;

int servers_listen(enum server_kind kind, uint16_t port, bool native)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	int fd, one = 1;

	if (n_listeners == LISTENERS || (native && kind == SERVER_STATS))
		return -EINVAL;
	fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (zsock_bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || zsock_listen(fd, 2) < 0) {
		int err = errno;

		zsock_close(fd);
		return -err;
	}
	listeners[n_listeners++] = (struct listener){ .fd = fd, .kind = kind, .native = native };
	return 0;
}

int servers_udp_echo(uint16_t port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	int fd;

	if (udp_fd >= 0)
		return -EALREADY;
	fd = zsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (zsock_bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		zsock_close(fd);
		return -err;
	}
	udp_fd = fd;
	return 0;
}

/* One datagram back to where it came from (dropped if it cannot go now). */
static void udp_echo_one(void)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	ssize_t n = zsock_recvfrom(udp_fd, udp_buf, sizeof(udp_buf), ZSOCK_MSG_DONTWAIT,
				   (struct sockaddr *)&from, &len);

	if (n < 0)
		return;
	bytes_in += (uint64_t)n;
	if (zsock_sendto(udp_fd, udp_buf, (size_t)n, ZSOCK_MSG_DONTWAIT, (struct sockaddr *)&from,
			 len) == n)
		bytes_out += (uint64_t)n;
}

static void conn_close(struct conn *c)
{
	zsock_close(c->fd);
	c->fd = -1;
}

static void accept_one(const struct listener *l)
{
	int fd = zsock_accept(l->fd, NULL, NULL);
	int one = 1;

	if (fd < 0)
		return;
	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &conns[i];

		if (c->fd >= 0)
			continue;
		c->fd = fd;
		c->kind = l->kind;
		c->native = l->native;
		c->off = c->len = 0;
		if (l->kind == SERVER_RR)
			zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		accepted++;
		return;
	}
	refused++;
	zsock_close(fd);
}

/* Send what is left of c->buf; false when the connection failed. */
static bool flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = zsock_send(c->fd, c->buf + c->off, c->len - c->off, ZSOCK_MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN;
		c->off += (uint16_t)n;
		bytes_out += (uint64_t)n;
	}
	c->off = c->len = 0;
	return true;
}

/*
 * CPU time, the servers' counters, and the high-water marks the footprint
 * table reports: peak stack, transmit and receive net_bufs, sockets, and
 * lwIP's receive pbufs, heap and TCP PCBs; and the forwarded bytes that
 * kept their received checksums.
 */
static void stats_line(struct conn *c)
{
	struct zsock_engine_stats st;
	uint64_t busy, idle;
	int n;

	zs_bm_cpu_ticks(&busy, &idle);
	zsock_engine_stats(&st);
	n = snprintf((char *)c->buf, BUF_SIZE,
		     "busy_ticks=%llu idle_ticks=%llu accepted=%lu refused=%lu bytes_in=%llu "
		     "bytes_out=%llu stack_peak=%lu tx_bufs_hw=%lu rx_bufs_hw=%lu sockets=%lu "
		     "pbuf_pool_hw=%u lwip_heap_hw=%lu tcp_pcb_hw=%u csum_reused=%llu\n",
		     (unsigned long long)busy, (unsigned long long)idle, (unsigned long)accepted,
		     (unsigned long)refused, (unsigned long long)bytes_in,
		     (unsigned long long)bytes_out, (unsigned long)board_stack_peak(),
		     (unsigned long)st.tx_bufs_high_water, (unsigned long)st.rx_bufs_high_water,
		     (unsigned long)st.sockets_in_use, (unsigned)lwip_stats.memp[MEMP_PBUF_POOL]->max,
		     (unsigned long)lwip_stats.mem.max, (unsigned)lwip_stats.memp[MEMP_TCP_PCB]->max,
		     (unsigned long long)st.tx_csum_reused);
	c->off = 0;
	c->len = (uint16_t)(n < BUF_SIZE ? n : BUF_SIZE);
}

/*
 * A connection that poll found readable is served until a read comes back
 * short (its receive queue is then most likely empty, and poll says so if
 * not) or its reply cannot all go (then poll waits for POLLOUT), at most
 * READS_PER_WAKE reads so that the others get their turn: one poll per
 * burst of full segments instead of one per segment.
 */
#define READS_PER_WAKE 8

/* BSD calls: read once, then answer as the kind says. */
static bool serve_bsd_once(struct conn *c)
{
	ssize_t n = zsock_recv(c->fd, c->buf, BUF_SIZE, ZSOCK_MSG_DONTWAIT);

	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN;
	bytes_in += (uint64_t)n;
	switch (c->kind) {
	case SERVER_DISCARD:
		return true;
	case SERVER_STATS:
		stats_line(c);
		return flush(c);
	default:
		c->off = 0;
		c->len = (uint16_t)n;
		return flush(c);
	}
}

static bool serve_bsd(struct conn *c)
{
	for (int i = 0; i < READS_PER_WAKE; i++) {
		uint64_t before = bytes_in;

		if (!serve_bsd_once(c))
			return false;
		if (bytes_in - before < BUF_SIZE || c->len > c->off || c->kind == SERVER_STATS)
			break;  /* a short read (the queue is empty, most likely: poll
				   tells if not), or the reply waits for room */
	}
	return true;
}

/* Echo rx by copying it into transmit buffers (the fallback of
 * serve_native); rx is released. False when the connection failed. */
static bool echo_copy(struct conn *c, struct net_buf *rx, ssize_t n)
{
	struct net_buf *f, *tx = NULL, *last = NULL;
	bool ok = true;

	for (f = rx; f != NULL && ok; f = f->frags) {
		size_t done = 0;

		while (done < f->len) {
			struct net_buf *b;
			size_t k;

			if (last == NULL || last->len == last->size) {
				b = zsock_buf_alloc(-1);
				if (b == NULL) {
					ok = false;
					break;
				}
				if (last == NULL)
					tx = b;
				else
					last->frags = b;
				last = b;
			}
			k = f->len - done;
			if (k > (size_t)(last->size - last->len))
				k = last->size - last->len;
			memcpy(last->data + last->len, f->data + done, k);
			last->len += (uint16_t)k;
			done += k;
		}
	}
	zsock_buf_release(rx);
	if (tx == NULL)
		return ok;
	if (ok && zsock_send_buf(c->fd, tx, 0) == n) {
		bytes_out += (uint64_t)n;
		return true;
	}
	zsock_buf_release(tx);
	return false;
}

/*
 * Native calls: the received chain is read in place and released (discard)
 * or sent back as it is (echo, request/response: zsock_send_buf of the
 * received chain, no copy at all). One zsock_recv_buf() per wake: a TCP
 * chain holds everything received so far, so the queue is empty after it
 * (and poll says so if not).
 */
static bool serve_native(struct conn *c)
{
	struct net_buf *rx;
	ssize_t n = zsock_recv_buf(c->fd, &rx, ZSOCK_MSG_DONTWAIT);

	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN;
	bytes_in += (uint64_t)n;
	if (c->kind == SERVER_DISCARD) {
		zsock_buf_release(rx);
		return true;
	}
	if (zsock_send_buf(c->fd, rx, 0) == n) {
		bytes_out += (uint64_t)n;
		return true;
	}
	if (errno == EMSGSIZE)
		return echo_copy(c, rx, n); /* more buffers than forwarding takes */
	zsock_buf_release(rx);
	return false;
}

/*
 * The poll set has a fixed layout, kept from call to call: listeners, the
 * UDP socket, then one entry per connection slot (fd -1 while the slot is
 * free: poll ignores it). Only the events of the connections change.
 */
int servers_run(void)
{
	enum { FIRST_CONN = LISTENERS + 1 };
	struct zsock_pollfd pfd[FIRST_CONN + CONNS];

	for (int i = 0; i < FIRST_CONN + CONNS; i++)
		pfd[i] = (struct zsock_pollfd){ .fd = -1, .events = ZSOCK_POLLIN };
	for (int i = 0; i < n_listeners; i++)
		pfd[i].fd = listeners[i].fd;
	pfd[LISTENERS].fd = udp_fd;
	for (int i = 0; i < CONNS; i++)
		conns[i].fd = -1;
	for (;;) {
		for (int i = 0; i < CONNS; i++) {
			/* a connection with bytes to send back waits for room first */
			pfd[FIRST_CONN + i].fd = conns[i].fd;
			pfd[FIRST_CONN + i].events =
				conns[i].len > conns[i].off ? ZSOCK_POLLOUT : ZSOCK_POLLIN;
		}
		int ready = zsock_poll(pfd, FIRST_CONN + CONNS, -1);

		if (ready < 0)
			return -errno;
		/* the busy entries are the last ones: scan from the end, and stop
		 * after the ready count */
		for (int i = FIRST_CONN + CONNS - 1; i >= 0 && ready > 0; i--) {
			struct conn *c;
			bool ok;

			if (pfd[i].revents == 0)
				continue;
			ready--;
			if (pfd[i].fd < 0)
				continue;
			if (i < n_listeners) {
				accept_one(&listeners[i]);
				continue;
			}
			if (i == LISTENERS) {
				udp_echo_one();
				continue;
			}
			c = &conns[i - FIRST_CONN];
			if (c->fd != pfd[i].fd)
				continue;  /* not the connection this entry was for */
			if (c->len > c->off)
				ok = flush(c) && !(pfd[i].revents & (ZSOCK_POLLERR | ZSOCK_POLLHUP));
			else
				ok = c->native ? serve_native(c) : serve_bsd(c);
			if (!ok)
				conn_close(c);
		}
	}
}
