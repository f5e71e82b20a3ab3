/*
 * zero_copy_echo: a TCP echo server (RFC 862) on the native zero-copy API
 * of <zsock/net_buf.h>, one thread, driven by zsock_poll().
 *
 *   ./zero_copy_echo [port] [seconds]       (port 7, run forever by default)
 *
 * What is and is not copied: nothing. zsock_recv_buf() hands over the
 * bytes in the buffers the stack received them into, and zsock_send_buf()
 * of that same chain sends them from there (forwarding): the engine copies
 * nothing either way (its tx_bytes_copied and rx_bytes_copied counters stay
 * at 0, printed at exit) and neither does this program, except for a chain
 * longer than the engine's forwarding budget (half of lwIP's receive pool;
 * only when lwIP hands over many reordered segments at once), which it
 * copies into zsock_buf_alloc() buffers with memcpy(). An echo on the BSD
 * calls costs two copies per byte (out of the engine on receive, into it on
 * send).
 *
 * The ownership rules in action:
 *   - a received chain is the program's until zsock_buf_release() or a
 *     successful zsock_send_buf() that forwards it: either reopens the TCP
 *     window it came through; a forward that fails leaves it with the
 *     program;
 *   - transmit buffers are the program's from zsock_buf_alloc() until a
 *     successful zsock_send_buf(); a failed send leaves them with the
 *     program, which releases them.
 */
#include <zsock/engine.h>
#include <zsock/net_buf.h>
#include <zsock/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 32
#define CHAIN_BUFS 16 /* transmit buffers per zsock_send_buf(), well under the ring */

static unsigned long long copied; /* bytes this program copied, rx -> tx */

/* A TCP listener on the any-address of family. */
static int listen_on(int family, uint16_t port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = zsock_socket(family, SOCK_STREAM, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((family == AF_INET ? zsock_bind(fd, (struct sockaddr *)&in, sizeof(in))
			       : zsock_bind(fd, (struct sockaddr *)&in6, sizeof(in6))) < 0 ||
	    zsock_listen(fd, 8) < 0) {
		zsock_close(fd);
		return -1;
	}
	return fd;
}

/* Send the chain (which is ours); on failure give it back. */
static int send_chain(int fd, struct net_buf *chain)
{
	if (zsock_send_buf(fd, chain, 0) >= 0)
		return 0; /* the engine's now */
	zsock_buf_release(chain);
	return -1;
}

/*
 * Echo one received chain by copying it into transmit buffers, each filled
 * to its size, sent CHAIN_BUFS at a time (for a chain too long to forward).
 * Returns 0, or -1 when the connection failed (the caller closes it).
 */
static int echo_chain(int fd, const struct net_buf *rx)
{
	struct net_buf *head = NULL, *tail = NULL;
	int nbufs = 0;

	for (; rx != NULL; rx = rx->frags) {
		uint16_t off = 0;

		while (off < rx->len) {
			uint16_t n = (uint16_t)(rx->len - off);

			if (tail == NULL || tail->len == tail->size) {
				struct net_buf *b;

				if (nbufs == CHAIN_BUFS) {
					if (send_chain(fd, head) < 0)
						return -1;
					head = tail = NULL;
					nbufs = 0;
				}
				b = zsock_buf_alloc(-1);
				if (b == NULL) {
					if (head != NULL)
						zsock_buf_release(head);
					return -1;
				}
				if (tail != NULL)
					tail->frags = b;
				else
					head = b;
				tail = b;
				nbufs++;
			}
			if (n > tail->size - tail->len)
				n = (uint16_t)(tail->size - tail->len);
			memcpy(tail->data + tail->len, rx->data + off, n); /* the one copy */
			tail->len = (uint16_t)(tail->len + n);
			off = (uint16_t)(off + n);
			copied += n;
		}
	}
	return head != NULL ? send_chain(fd, head) : 0;
}

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7;
	int seconds = argc > 2 ? atoi(argv[2]) : -1;
	time_t end = seconds > 0 ? time(NULL) + seconds : 0;
	struct zsock_pollfd pfd[2 + MAX_CLIENTS];
	struct zsock_engine_stats st;
	int nfds = 2, i;

	/* the engine's IPv6 sockets are IPv6-only: IPv4 gets its own */
	pfd[0].fd = listen_on(AF_INET, port);
	pfd[1].fd = listen_on(AF_INET6, port);
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		fprintf(stderr, "zero_copy_echo: cannot listen on port %u: %s\n", port,
			strerror(errno));
		return 1;
	}
	pfd[0].events = pfd[1].events = ZSOCK_POLLIN;
	printf("zero_copy_echo: TCP port %u (IPv4 and IPv6)\n", port);
	fflush(stdout);

	while (end == 0 || time(NULL) < end) {
		int n = zsock_poll(pfd, nfds, 200);

		if (n < 0) {
			perror("zsock_poll");
			return 1;
		}
		for (i = 0; i < nfds && n > 0; i++) {
			struct net_buf *rx;
			ssize_t r;
			int rc;

			if (pfd[i].revents == 0)
				continue;
			n--;
			if (i < 2) {
				int c = zsock_accept(pfd[i].fd, NULL, NULL);

				if (c >= 0 && nfds < 2 + MAX_CLIENTS) {
					pfd[nfds].fd = c;
					pfd[nfds++].events = ZSOCK_POLLIN;
				} else if (c >= 0) {
					zsock_close(c);
				}
				continue;
			}
			/* a client: take the next chain without waiting */
			r = zsock_recv_buf(pfd[i].fd, &rx, ZSOCK_MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r > 0) {
				/* send the received chain back as it is: no copy */
				if (zsock_send_buf(pfd[i].fd, rx, 0) == r)
					continue;
				rc = errno == EMSGSIZE ? echo_chain(pfd[i].fd, rx) : -1;
				zsock_buf_release(rx); /* reopens the window by r bytes */
				if (rc == 0)
					continue;
			}
			/* end of stream or an error */
			zsock_close(pfd[i].fd);
			pfd[i--] = pfd[--nfds];
		}
	}
	for (i = 0; i < nfds; i++)
		zsock_close(pfd[i].fd);
	if (zsock_engine_stats(&st) == 0)
		printf("zero_copy_echo: engine copied %llu B in, %llu B out; this program copied "
		       "%llu B (rx -> tx); %llu B sent\n",
		       (unsigned long long)st.rx_bytes_copied,
		       (unsigned long long)st.tx_bytes_copied, copied,
		       (unsigned long long)st.tx_bytes);
	return 0;
}
