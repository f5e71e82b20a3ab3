/*
 * echo_server: TCP and UDP echo (RFC 862) on the zsock engine, one thread,
 * everything driven by zsock_poll().
 *
 *   ZSOCK_NETIF=tap:zt0,ip=192.0.2.2/24,gw=192.0.2.1 ./echo_server [port] [seconds]
 *
 * Without ZSOCK_NETIF it serves on the engine's loopback only. It prints one
 * line per event, and on exit (after `seconds`, default: forever) the
 * engine's counters.
 */
#include <zsock/socket.h>
#include <zsock/engine.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 32

static void print_peer(const char *what, const struct sockaddr_in6 *sa)
{
	char host[64];

	zsock_inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof(host));
	printf("%s [%s]:%u\n", what, host, ntohs(sa->sin6_port));
	fflush(stdout);
}

/* A listening TCP or bound UDP socket on the any-address of family. */
static int open_server(int family, int type, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = zsock_socket(family, type, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	}
	zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (zsock_bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && zsock_listen(fd, 8) < 0)) {
		zsock_close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7;
	int seconds = argc > 2 ? atoi(argv[2]) : -1;
	struct zsock_pollfd pfd[4 + MAX_CLIENTS];
	int nserv = 0, nfds, i;
	time_t end = seconds > 0 ? time(NULL) + seconds : 0;
	char buf[2048];
	struct zsock_engine_stats st;
	/* the engine's IPv6 sockets are IPv6-only: IPv4 gets its own */
	int servers[4] = {
		open_server(AF_INET, SOCK_STREAM, port), open_server(AF_INET, SOCK_DGRAM, port),
		open_server(AF_INET6, SOCK_STREAM, port), open_server(AF_INET6, SOCK_DGRAM, port),
	};

	for (i = 0; i < 4; i++) {
		if (servers[i] < 0) {
			fprintf(stderr, "echo_server: cannot serve port %u: %s\n", port, strerror(errno));
			return 1;
		}
		pfd[nserv].fd = servers[i];
		pfd[nserv++].events = ZSOCK_POLLIN;
	}
	nfds = nserv;
	printf("echo_server: TCP and UDP port %u (IPv4 and IPv6)\n", port);
	fflush(stdout);

	while (end == 0 || time(NULL) < end) {
		int n = zsock_poll(pfd, nfds, 200);

		if (n < 0) {
			perror("zsock_poll");
			return 1;
		}
		for (i = 0; i < nfds && n > 0; i++) {
			struct sockaddr_in6 from;
			socklen_t fl = sizeof(from);
			ssize_t r;

			if (pfd[i].revents == 0)
				continue;
			n--;
			if (i < nserv && (i % 2) == 0) {
				/* TCP listener */
				int c = zsock_accept(pfd[i].fd, (struct sockaddr *)&from, &fl);

				if (c < 0)
					continue;
				if (nfds == 4 + MAX_CLIENTS) {
					zsock_close(c);
					continue;
				}
				if (i == 0) {
					struct sockaddr_in *in = (struct sockaddr_in *)&from;
					char host[16];

					zsock_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
					printf("tcp: connection from %s:%u\n", host, ntohs(in->sin_port));
					fflush(stdout);
				} else {
					print_peer("tcp: connection from", &from);
				}
				pfd[nfds].fd = c;
				pfd[nfds++].events = ZSOCK_POLLIN;
			} else if (i < nserv) {
				/* UDP: echo one datagram to where it came from */
				r = zsock_recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
						   (struct sockaddr *)&from, &fl);
				if (r >= 0) {
					zsock_sendto(pfd[i].fd, buf, (size_t)r, 0,
						     (struct sockaddr *)&from, fl);
					printf("udp: echoed %zd bytes\n", r);
					fflush(stdout);
				}
			} else {
				/* TCP client: echo what is there, close on EOF/error */
				r = zsock_recv(pfd[i].fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
				if (r > 0) {
					ssize_t off = 0;

					while (off < r) {
						ssize_t w = zsock_send(pfd[i].fd, buf + off, (size_t)(r - off), 0);

						if (w < 0)
							break;
						off += w;
					}
					printf("tcp: echoed %zd bytes\n", r);
					fflush(stdout);
				} else if (r == 0 || errno != EAGAIN) {
					printf("tcp: connection closed\n");
					fflush(stdout);
					zsock_close(pfd[i].fd);
					pfd[i] = pfd[--nfds];
					i--;
				}
			}
		}
	}
	for (i = 0; i < nfds; i++)
		zsock_close(pfd[i].fd);
	if (zsock_engine_stats(&st) == 0)
		printf("engine: tx copied %llu B, rx copied %llu B, netif frames rx %llu tx %llu, "
		       "reactor wake-ups %llu\n",
		       (unsigned long long)st.tx_bytes_copied, (unsigned long long)st.rx_bytes_copied,
		       (unsigned long long)st.netif_rx_frames, (unsigned long long)st.netif_tx_frames,
		       (unsigned long long)st.reactor_wakeups);
	return 0;
}
