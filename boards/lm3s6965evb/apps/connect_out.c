/*
 * The board as a client: connect to a host server at 10.0.2.2 (QEMU's
 * user-network gateway), send a pattern and check that the same bytes come
 * back (the host runs an echo server), then a UDP round trip to the same
 * port. Exits 0 when everything matched.
 *
 *   connect_out.elf PORT [BYTES]
 *
 * Run by tests/connect_out_test.sh with the forward QEMU needs.
 */
#include <zsock/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t out[1024], in[1024];

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)((i * 2654435761u) >> 24);
}

static int fail(const char *what)
{
	printf("connect_out: %s: errno %d\n", what, errno);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint32_t total, sent = 0, got = 0;
	struct timeval tv = { .tv_sec = 10 };
	int fd;

	if (argc < 2) {
		printf("usage: connect_out PORT [BYTES]\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	total = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 262144u;
	if (zsock_inet_pton(AF_INET, "10.0.2.2", &sa.sin_addr) != 1)
		return fail("inet_pton");

	fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		return fail("socket");
	zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (zsock_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail("connect");
	/* lock-step in blocks: the echo never has more than one block to hold */
	while (got < total) {
		uint32_t n = total - sent < sizeof(out) ? total - sent : sizeof(out);
		uint32_t have = 0;

		for (uint32_t i = 0; i < n; i++)
			out[i] = pattern(sent + i);
		if (zsock_send(fd, out, n, 0) != (ssize_t)n)
			return fail("send");
		sent += n;
		while (have < n) {
			ssize_t r = zsock_recv(fd, in + have, n - have, 0);

			if (r <= 0)
				return fail(r == 0 ? "recv: early end" : "recv");
			have += (uint32_t)r;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (in[i] != pattern(got + i)) {
				printf("connect_out: byte %lu differs\n", (unsigned long)(got + i));
				return 1;
			}
		}
		got += n;
	}
	zsock_close(fd);
	printf("connect_out: TCP %lu bytes echoed intact\n", (unsigned long)got);

	fd = zsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		return fail("socket udp");
	zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memcpy(out, "zsock board datagram", 20);
	if (zsock_sendto(fd, out, 20, 0, (struct sockaddr *)&sa, sizeof(sa)) != 20)
		return fail("sendto");
	if (zsock_recv(fd, in, sizeof(in), 0) != 20 || memcmp(in, out, 20) != 0)
		return fail("udp echo");
	zsock_close(fd);
	printf("connect_out: UDP datagram echoed intact\n");
	return 0;
}
