/*
 * Plain POSIX networking code: a TCP echo, a UDP exchange, poll, select,
 * fcntl, inet_pton/inet_ntop, getaddrinfo/getnameinfo, all over 127.0.0.1.
 *
 * The only zsock-specific line is the #include <zsock/posix_names.h>; the
 * Meson build compiles this file three ways:
 *   -DZSOCK_INCLUDE_FIRST : posix_names.h before the system headers
 *   (nothing)             : posix_names.h after the system headers
 *   -DZSOCK_PLAIN_HOST    : no posix_names.h at all, plain libc (a control:
 *                           the same code runs over the host kernel)
 * check_symbols.sh proves that the first two really call zsock.
 * Exits 0 on success, 1 with a message on failure.
 */
#if defined(ZSOCK_INCLUDE_FIRST) && !defined(ZSOCK_PLAIN_HOST)
#include <zsock/posix_names.h>
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <netdb.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>

#if !defined(ZSOCK_INCLUDE_FIRST) && !defined(ZSOCK_PLAIN_HOST)
#include <zsock/posix_names.h>
#endif

#define CHECK(cond, what)                                                  \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "plain_posix: %s failed (line %d): %s\n", \
				what, __LINE__, strerror(errno));          \
			return 1;                                          \
		}                                                          \
	} while (0)

static int test_addresses(void)
{
	struct in_addr a4;
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	CHECK(inet_pton(AF_INET, "192.0.2.33", &a4) == 1, "inet_pton v4");
	CHECK(a4.s_addr == htonl(0xc0000221), "inet_pton v4 value");
	CHECK(inet_pton(AF_INET, "192.0.2", &a4) == 0, "inet_pton v4 invalid");
	CHECK(inet_ntop(AF_INET, &a4, text, sizeof(text)) != NULL, "inet_ntop v4");
	CHECK(strcmp(text, "192.0.2.33") == 0, "inet_ntop v4 text");
	CHECK(inet_pton(AF_INET6, "2001:db8::1", &a6) == 1, "inet_pton v6");
	CHECK(inet_ntop(AF_INET6, &a6, text, sizeof(text)) != NULL, "inet_ntop v6");
	CHECK(strcmp(text, "2001:db8::1") == 0, "inet_ntop v6 text");
	return 0;
}

static int test_names(void)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_in *sin;
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int ret, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	ret = getaddrinfo("127.0.0.1", "7", &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "plain_posix: getaddrinfo: %s\n",
			gai_strerror(ret));
		return 1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		CHECK(ai->ai_family == AF_INET, "getaddrinfo family");
		CHECK(ai->ai_socktype == SOCK_STREAM, "getaddrinfo socktype");
		CHECK(ai->ai_addrlen == sizeof(struct sockaddr_in),
		      "getaddrinfo addrlen");
		sin = (struct sockaddr_in *)ai->ai_addr;
		CHECK(sin->sin_port == htons(7), "getaddrinfo port");
		CHECK(sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
		      "getaddrinfo address");
		n++;
	}
	CHECK(n == 1, "getaddrinfo result count");
	ret = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host),
			  serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
	freeaddrinfo(res);
	if (ret != 0) {
		fprintf(stderr, "plain_posix: getnameinfo: %s\n",
			gai_strerror(ret));
		return 1;
	}
	CHECK(strcmp(host, "127.0.0.1") == 0, "getnameinfo host");
	CHECK(strcmp(serv, "7") == 0, "getnameinfo service");

	ret = getaddrinfo("no such host", "7", &hints, &res);
	CHECK(ret == EAI_NONAME, "getaddrinfo EAI_NONAME");
	CHECK(gai_strerror(ret) != NULL, "gai_strerror");
	return 0;
}

static int test_tcp(void)
{
	struct sockaddr_in addr, peer;
	socklen_t len;
	struct pollfd pfd;
	char buf[64];
	const char msg[] = "hello over plain POSIX";
	int lfd, cfd, afd, flags, one = 1;
	ssize_t n;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(lfd >= 0, "socket (listener)");
	CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0,
	      "setsockopt SO_REUSEADDR");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) == 0, "bind");
	CHECK(listen(lfd, 4) == 0, "listen");
	len = sizeof(addr);
	CHECK(getsockname(lfd, (struct sockaddr *)&addr, &len) == 0,
	      "getsockname");
	CHECK(addr.sin_port != 0, "getsockname port");

	/* Nothing to accept yet: poll says not readable. */
	pfd.fd = lfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	CHECK(poll(&pfd, 1, 0) == 0, "poll (idle listener)");

	cfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(cfd >= 0, "socket (client)");
	CHECK(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)) == 0,
	      "connect");

	CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN), "poll (listener)");
	len = sizeof(peer);
	afd = accept(lfd, (struct sockaddr *)&peer, &len);
	CHECK(afd >= 0, "accept");
	CHECK(peer.sin_family == AF_INET &&
	      peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "accept peer");
	len = sizeof(peer);
	CHECK(getpeername(cfd, (struct sockaddr *)&peer, &len) == 0 &&
	      peer.sin_port == addr.sin_port, "getpeername");

	/* O_NONBLOCK: an empty socket gives EAGAIN. */
	flags = fcntl(afd, F_GETFL);
	CHECK(flags >= 0, "fcntl F_GETFL");
	CHECK(fcntl(afd, F_SETFL, flags | O_NONBLOCK) == 0, "fcntl F_SETFL");
	CHECK((fcntl(afd, F_GETFL) & O_NONBLOCK) != 0, "fcntl O_NONBLOCK set");
	errno = 0;
	CHECK(recv(afd, buf, sizeof(buf), 0) == -1 &&
	      (errno == EAGAIN || errno == EWOULDBLOCK), "recv EAGAIN");
	CHECK(fcntl(afd, F_SETFL, flags) == 0, "fcntl F_SETFL (blocking)");

	/* Echo. */
	CHECK(send(cfd, msg, sizeof(msg), 0) == (ssize_t)sizeof(msg), "send");
	pfd.fd = afd;
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN), "poll (server)");
	n = recv(afd, buf, sizeof(msg), MSG_WAITALL);
	CHECK(n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0,
	      "recv (server)");
	CHECK(send(afd, buf, (size_t)n, 0) == n, "send (echo)");
	memset(buf, 0, sizeof(buf));
	n = recv(cfd, buf, sizeof(msg), MSG_WAITALL);
	CHECK(n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0,
	      "recv (client)");

	/* Orderly close: the server sees EOF. */
	CHECK(shutdown(cfd, SHUT_WR) == 0, "shutdown");
	CHECK(recv(afd, buf, sizeof(buf), 0) == 0, "recv EOF");
	CHECK(close(afd) == 0, "close (accepted)");
	CHECK(close(cfd) == 0, "close (client)");
	CHECK(close(lfd) == 0, "close (listener)");
	return 0;
}

static int test_udp(void)
{
	struct sockaddr_in a, b, from;
	socklen_t len;
	fd_set rfds;
	struct timeval tv;
	char buf[64];
	const char msg[] = "datagram";
	int sa, sb;
	ssize_t n;

	sa = socket(AF_INET, SOCK_DGRAM, 0);
	sb = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(sa >= 0 && sb >= 0, "socket (udp)");
	CHECK(sa < FD_SETSIZE && sb < FD_SETSIZE, "fd below FD_SETSIZE");
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b = a;
	CHECK(bind(sa, (struct sockaddr *)&a, sizeof(a)) == 0, "bind (a)");
	CHECK(bind(sb, (struct sockaddr *)&b, sizeof(b)) == 0, "bind (b)");
	len = sizeof(a);
	CHECK(getsockname(sa, (struct sockaddr *)&a, &len) == 0, "getsockname (a)");
	len = sizeof(b);
	CHECK(getsockname(sb, (struct sockaddr *)&b, &len) == 0, "getsockname (b)");

	/* select with nothing queued times out. */
	FD_ZERO(&rfds);
	FD_SET(sb, &rfds);
	tv.tv_sec = 0;
	tv.tv_usec = 10000;
	CHECK(select(sb + 1, &rfds, NULL, NULL, &tv) == 0, "select (timeout)");
	CHECK(!FD_ISSET(sb, &rfds), "select cleared the set");

	CHECK(sendto(sa, msg, sizeof(msg), 0, (struct sockaddr *)&b, sizeof(b)) ==
	      (ssize_t)sizeof(msg), "sendto");

	FD_ZERO(&rfds);
	FD_SET(sa, &rfds);
	FD_SET(sb, &rfds);
	FD_CLR(sa, &rfds);
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	CHECK(select((sa > sb ? sa : sb) + 1, &rfds, NULL, NULL, &tv) == 1,
	      "select (readable)");
	CHECK(FD_ISSET(sb, &rfds) && !FD_ISSET(sa, &rfds), "select result");

	n = recv(sb, buf, sizeof(buf), MSG_PEEK);
	CHECK(n == (ssize_t)sizeof(msg), "recv MSG_PEEK");
	len = sizeof(from);
	n = recvfrom(sb, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	CHECK(n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0,
	      "recvfrom");
	CHECK(from.sin_port == a.sin_port &&
	      from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "recvfrom source");

	/* And back, without waiting. */
	CHECK(sendto(sb, buf, (size_t)n, 0, (struct sockaddr *)&from, len) == n,
	      "sendto (reply)");
	struct pollfd pfd = { .fd = sa, .events = POLLIN };
	CHECK(poll(&pfd, 1, 5000) == 1, "poll (udp)");
	n = recvfrom(sa, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	CHECK(n == (ssize_t)sizeof(msg), "recvfrom (reply)");
	CHECK(close(sa) == 0 && close(sb) == 0, "close (udp)");
	return 0;
}

int main(void)
{
	char name[256];

	if (test_addresses() || test_names() || test_tcp() || test_udp())
		return 1;
	CHECK(gethostname(name, sizeof(name)) == 0, "gethostname");
	printf("plain_posix: ok (host name \"%s\")\n", name);
	return 0;
}
