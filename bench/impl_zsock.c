/*
 * bench_zsock: the workloads on zsock, two ways in one binary.
 *
 *   zsock-bsd      zsock_send / zsock_recv: one copy each way, the copy
 *                  POSIX requires.
 *   zsock-native   <zsock/net_buf.h>: zsock_buf_alloc + zsock_send_buf on
 *                  send, zsock_recv_buf + zsock_buf_release on receive.
 *                  The sender writes only an 8-byte sequence number into
 *                  each transmit buffer (a zero-copy producer writes its
 *                  data in place; copying a whole payload in would measure
 *                  a memcpy, not the API). The receiver reads the first 8
 *                  bytes of each chain in place, then releases it.
 *
 * Both share socket set-up, poll and close: only the payload moves differ.
 * The copy counters of zsock_engine_stats() give copies per byte; the
 * footprint workload prints zsock_engine_footprint().
 */
#define ZSOCK_NO_POSIX_NAMES   /* this file calls zsock_* by name, never the host's */
#include "bench.h"

#include <zsock/engine.h>
#include <zsock/net_buf.h>
#include <zsock/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The driver hands zsock_poll() the host's struct pollfd. */
_Static_assert(sizeof(struct pollfd) == sizeof(struct zsock_pollfd), "pollfd layout");
_Static_assert(offsetof(struct pollfd, events) == offsetof(struct zsock_pollfd, events),
	       "pollfd layout");
_Static_assert(offsetof(struct pollfd, revents) == offsetof(struct zsock_pollfd, revents),
	       "pollfd layout");
_Static_assert(POLLIN == ZSOCK_POLLIN && POLLOUT == ZSOCK_POLLOUT && POLLERR == ZSOCK_POLLERR &&
	       POLLHUP == ZSOCK_POLLHUP && POLLNVAL == ZSOCK_POLLNVAL, "poll bits");

static int zs_init(const char *netif)
{
	static bool started;
	struct zsock_engine_stats st;

	if (started)
		return 0;
	/* the first call starts the engine: loopback, plus ZSOCK_NETIF */
	if (zsock_engine_stats(&st) < 0) {
		perror("bench_zsock: the engine did not start");
		return -1;
	}
	if (netif != NULL && zsock_engine_add_netif(netif) < 0) {
		fprintf(stderr, "bench_zsock: zsock_engine_add_netif(%s): %s\n", netif, strerror(errno));
		return -1;
	}
	started = true;
	return 0;
}

static const char *zs_cannot_hold(int nsockets)
{
	static char why[160];
	static const struct {
		const char *option;
		int value;
	} limits[] = {
		{ "zvfs_open_max", CONFIG_ZVFS_OPEN_MAX },
		{ "net_max_contexts", CONFIG_NET_MAX_CONTEXTS },
		/* every socket but the listener is a connection's PCB */
		{ "net_max_conn", CONFIG_NET_MAX_CONN + 1 },
	};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (limits[i].value < nsockets) {
			snprintf(why, sizeof(why), "needs %d sockets; this build has %s=%d",
				 nsockets, limits[i].option, limits[i].value);
			return why;
		}
	}
	return NULL;
}

static int zs_socket(int type)
{
	return zsock_socket(AF_INET, type, 0);
}

static int zs_bind(int fd, const struct sockaddr_in *sa)
{
	return zsock_bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
}

static int zs_accept(int fd)
{
	return zsock_accept(fd, NULL, NULL);
}

static int zs_connect(int fd, const struct sockaddr_in *sa)
{
	return zsock_connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
}

static int zs_local_addr(int fd, struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);

	return zsock_getsockname(fd, (struct sockaddr *)sa, &len);
}

static ssize_t zs_send(int fd, const void *buf, size_t len)
{
	return zsock_send(fd, buf, len, 0);
}

static ssize_t zs_recv(int fd, void *buf, size_t len)
{
	return zsock_recv(fd, buf, len, 0);
}

static int zs_poll(struct pollfd *fds, int nfds, int timeout_ms)
{
	return zsock_poll((struct zsock_pollfd *)fds, nfds, timeout_ms);
}

static int zs_shutdown_wr(int fd)
{
	return zsock_shutdown(fd, ZSOCK_SHUT_WR);
}

static int zs_set_nonblocking(int fd, bool on)
{
	return zsock_fcntl(fd, F_SETFL, on ? O_NONBLOCK : 0);
}

static int zs_set_nodelay(int fd)
{
	int one = 1;

	return zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int zs_counters(struct bench_counters *out)
{
	struct zsock_engine_stats st;

	if (zsock_engine_stats(&st) < 0)
		return -1;
	*out = (struct bench_counters){
		.tx_copied = st.tx_bytes_copied, .tx_bytes = st.tx_bytes,
		.rx_copied = st.rx_bytes_copied, .rx_bytes = st.rx_bytes,
	};
	return 0;
}

/* Both entries share the engine: its figures are printed once, as "zsock". */
static void zs_footprint(void)
{
	static bool printed;
	struct zsock_engine_footprint fp;
	static const char *const impl = "zsock";

	if (printed)
		return;
	printed = true;
	if (zsock_engine_footprint(&fp) < 0) {
		bench_na(impl, "footprint", "-", "socket_bytes", "zsock_engine_footprint failed");
		return;
	}
	bench_result(impl, "footprint", "-", "socket_bytes", fp.socket_bytes + fp.fd_bytes, "B");
	bench_result(impl, "footprint", "-", "tcp_conn_bytes", fp.tcp_conn_bytes, "B");
	bench_result(impl, "footprint", "-", "udp_socket_bytes", fp.udp_socket_bytes, "B");
	bench_result(impl, "footprint", "-", "tcp_pcb_bytes", fp.tcp_pcb_bytes, "B");
	bench_result(impl, "footprint", "-", "tx_buf_bytes", fp.tx_buf_bytes, "B");
	bench_result(impl, "footprint", "-", "rx_buf_bytes", fp.rx_buf_bytes, "B");
	bench_result(impl, "footprint", "-", "static_total", (double)fp.static_total, "B");
}

/* ---- the native zero-copy path -------------------------------------------------- */

/* Buffers per zsock_send_buf() chain: well inside a socket's transmit
 * ring (a longer chain is EMSGSIZE), and few enough that a sender does not
 * hoard the shared pool. */
#define ZC_CHAIN_MAX (CONFIG_NET_SOCKET_RING_SIZE / 2 < 32 ? CONFIG_NET_SOCKET_RING_SIZE / 2 : 32)

static ssize_t zs_send_zc(int fd, size_t len, uint64_t seq)
{
	struct net_buf *head = NULL, **link = &head;
	size_t taken = 0;
	ssize_t n;

	for (int i = 0; i < ZC_CHAIN_MAX && taken < len; i++) {
		/* wait for the first buffer; take more only if free now */
		struct net_buf *b = zsock_buf_alloc(i == 0 ? -1 : 0);
		size_t k;

		if (b == NULL)
			break;
		k = len - taken < b->size ? len - taken : b->size;
		if (k >= sizeof(seq))
			memcpy(b->data, &seq, sizeof(seq));	/* the producer's only write */
		b->len = (uint16_t)k;
		taken += k;
		*link = b;
		link = &b->frags;
	}
	if (head == NULL)
		return -1;
	n = zsock_send_buf(fd, head, 0);
	if (n < 0) {
		int e = errno;

		zsock_buf_release(head);	/* a failed send leaves it with us */
		errno = e;
	}
	return n;
}

static ssize_t zs_recv_zc(int fd, uint64_t *word)
{
	struct net_buf *chain;
	ssize_t n = zsock_recv_buf(fd, &chain, 0);

	if (n <= 0)
		return n;
	*word = 0;
	if (chain->len >= sizeof(*word))
		memcpy(word, chain->data, sizeof(*word));	/* read in place */
	if (zsock_buf_release(chain) < 0)
		return -1;
	return n;
}

#define ZS_COMMON                                \
	.cannot_hold = zs_cannot_hold,           \
	.socket = zs_socket,                     \
	.bind = zs_bind,                         \
	.listen = zsock_listen,                  \
	.accept = zs_accept,                     \
	.connect = zs_connect,                   \
	.local_addr = zs_local_addr,             \
	.send = zs_send,                         \
	.recv = zs_recv,                         \
	.poll = zs_poll,                         \
	.shutdown_wr = zs_shutdown_wr,           \
	.close = zsock_close,                    \
	.set_nonblocking = zs_set_nonblocking,   \
	.set_nodelay = zs_set_nodelay,           \
	.counters = zs_counters,                 \
	.footprint = zs_footprint

static const struct bench_impl zsock_bsd = {
	.name = "zsock-bsd",
	.init = zs_init,
	ZS_COMMON,
};

static const struct bench_impl zsock_native = {
	.name = "zsock-native",
	.init = zs_init,
	ZS_COMMON,
	.send_zc = zs_send_zc,
	.recv_zc = zs_recv_zc,
};

int main(int argc, char **argv)
{
	const struct bench_impl *impls[] = { &zsock_bsd, &zsock_native };

	return bench_main(argc, argv, impls, 2);
}
