/*
 * A program that uses zsock the way an outside project does: only the
 * installed headers and library. Opens a TCP listener and a client on
 * 127.0.0.1, sends "ping" to the accepted connection, reads it back, prints
 * OK and exits 0. Built by run-install.sh (pkg-config) and run-subproject.sh
 * (zsock as a Meson subproject).
 */
#include <zsock/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
	fprintf(stderr, "consumer: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Read exactly len bytes. */
static int recv_all(int s, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = zsock_recv(s, buf + got, len - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int main(void)
{
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);
	char buf[4];
	int lst, cli, srv;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = 0;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	lst = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (lst < 0)
		return fail("socket");
	if (zsock_bind(lst, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail("bind");
	if (zsock_listen(lst, 1) < 0)
		return fail("listen");
	if (zsock_getsockname(lst, (struct sockaddr *)&addr, &alen) < 0)
		return fail("getsockname");

	cli = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (cli < 0)
		return fail("socket");
	if (zsock_connect(cli, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail("connect");
	srv = zsock_accept(lst, NULL, NULL);
	if (srv < 0)
		return fail("accept");

	/* client -> server, then the server echoes it back */
	if (zsock_send(cli, "ping", 4, 0) != 4)
		return fail("send");
	if (recv_all(srv, buf, sizeof(buf)) < 0)
		return fail("recv (server)");
	if (zsock_send(srv, buf, sizeof(buf), 0) != 4)
		return fail("send (echo)");
	if (recv_all(cli, buf, sizeof(buf)) < 0)
		return fail("recv (client)");
	if (memcmp(buf, "ping", 4) != 0) {
		fprintf(stderr, "consumer: got \"%.4s\", want \"ping\"\n", buf);
		return 1;
	}

	zsock_close(srv);
	zsock_close(cli);
	zsock_close(lst);
	puts("OK");
	return 0;
}
