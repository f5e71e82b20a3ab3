/*
 * Zephyr-style application code: <zephyr/net/socket.h>, zsock_* names,
 * ZSOCK_* constants, struct zsock_pollfd, zsock_fd_set with struct
 * zsock_timeval, Zephyr's net_ip helpers. A UDP exchange over 127.0.0.1.
 * Exits 0 on success, 1 with a message on failure.
 */
#include <zephyr/net/socket.h>
#include <zephyr/net/net_ip.h>
#include <zephyr/net/socket_select.h>
#include <zephyr/net/socket_poll.h>
#include <zephyr/net/tls_credentials.h>
#include <zephyr/net/socket_offload.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond, what)                                                  \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("zephyr_app: %s failed (line %d), errno %d\n", \
			       what, __LINE__, errno);                     \
			return 1;                                          \
		}                                                          \
	} while (0)

static int bound_udp(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int sock;

	sock = zsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	if (sock < 0)
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons(0);
	if (net_addr_pton(AF_INET, "127.0.0.1", &addr->sin_addr) != 0 ||
	    zsock_bind(sock, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    zsock_getsockname(sock, (struct sockaddr *)addr, &len) < 0) {
		zsock_close(sock);
		return -1;
	}
	return sock;
}

int main(void)
{
	struct sockaddr_in a, b;
	struct sockaddr from;
	socklen_t fromlen = sizeof(from);
	struct zsock_pollfd fds[1];
	zsock_fd_set rset;
	struct zsock_timeval tv = { .tv_sec = 5, .tv_usec = 0 };
	struct zsock_addrinfo hints = { 0 }, *res;
	char text[NET_IPV4_ADDR_LEN];
	char buf[32];
	static const char msg[] = "zephyr-style";
	int sa, sb;
	ssize_t n;

	sa = bound_udp(&a);
	sb = bound_udp(&b);
	CHECK(sa >= 0 && sb >= 0, "socket/bind");
	CHECK(sa < ZSOCK_FD_SETSIZE && sb < ZSOCK_FD_SETSIZE, "ZSOCK_FD_SETSIZE");

	/* Empty: a non-blocking receive gives EAGAIN. */
	CHECK(zsock_recv(sb, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT) < 0 &&
	      errno == EAGAIN, "zsock_recv ZSOCK_MSG_DONTWAIT");

	n = zsock_sendto(sa, msg, sizeof(msg), 0, (struct sockaddr *)&b,
			 sizeof(b));
	CHECK(n == (ssize_t)sizeof(msg), "zsock_sendto");

	fds[0].fd = sb;
	fds[0].events = ZSOCK_POLLIN;
	fds[0].revents = 0;
	CHECK(zsock_poll(fds, 1, 5000) == 1 && (fds[0].revents & ZSOCK_POLLIN),
	      "zsock_poll");

	n = zsock_recv(sb, buf, sizeof(buf), ZSOCK_MSG_PEEK);
	CHECK(n == (ssize_t)sizeof(msg), "zsock_recv ZSOCK_MSG_PEEK");
	n = zsock_recvfrom(sb, buf, sizeof(buf), 0, &from, &fromlen);
	CHECK(n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0,
	      "zsock_recvfrom");
	CHECK(net_sin(&from)->sin_port == a.sin_port, "source port");
	CHECK(net_addr_ntop(AF_INET, &net_sin(&from)->sin_addr, text,
			    sizeof(text)) != NULL &&
	      strcmp(text, "127.0.0.1") == 0, "net_addr_ntop");

	/* Reply, and wait for it with zsock_select. */
	CHECK(zsock_sendto(sb, buf, (size_t)n, 0, &from, fromlen) == n,
	      "zsock_sendto (reply)");
	ZSOCK_FD_ZERO(&rset);
	ZSOCK_FD_SET(sa, &rset);
	CHECK(zsock_select(sa + 1, &rset, NULL, NULL, &tv) == 1 &&
	      ZSOCK_FD_ISSET(sa, &rset), "zsock_select");
	n = zsock_recvfrom(sa, buf, sizeof(buf), 0, NULL, NULL);
	CHECK(n == (ssize_t)sizeof(msg), "zsock_recvfrom (reply)");

	/* Resolver names, as a Zephyr app spells them. */
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	CHECK(zsock_getaddrinfo("127.0.0.1", "4242", &hints, &res) == 0,
	      "zsock_getaddrinfo");
	CHECK(net_sin(res->ai_addr)->sin_port == htons(4242), "ai_addr port");
	zsock_freeaddrinfo(res);
	CHECK(zsock_getaddrinfo("not-numeric", "4242", &hints, &res) ==
	      DNS_EAI_NONAME, "DNS_EAI_NONAME");

	CHECK(zsock_shutdown(sa, ZSOCK_SHUT_RDWR) == 0 || errno == ENOTCONN,
	      "zsock_shutdown");
	CHECK(zsock_close(sa) == 0 && zsock_close(sb) == 0, "zsock_close");
	CHECK(zsock_close(sa) < 0 && errno == EBADF, "zsock_close twice");
	printf("zephyr_app: ok\n");
	return 0;
}
