/*
 * SO_SOCKS5 through a real SOCKS5 proxy: Debian's microsocks, running in
 * the test's namespace on the Linux side of the TAP (192.0.2.1:1080 or
 * [2001:db8::1]:1080), in front of a Linux TCP server (port 7007) that the
 * engine reaches only through the proxy:
 *
 *   no_auth        connect via the proxy, getpeername is the destination,
 *                  1 MiB each way at once, checked byte by byte and by
 *                  CRC end to end (v4, v6)
 *   userpass       RFC 1929: right password connects and carries data;
 *                  wrong password, and no credentials offered, give EACCES
 *   closed_port    the proxy's CONNECT to a closed port: ECONNREFUSED, and
 *                  the socket can then connect again
 *
 * The reply parser's error cases are in tests/loopback/test_socks5_parse.c.
 * microsocks comes from scripts/install-packages.sh; without it the tests
 * are skipped (a failure under ZSOCK_TEST_REQUIRE_INTEROP=1).
 */
#define _GNU_SOURCE
#include "netns.h"
#include "stream.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/socket.h>

#define MICROSOCKS  "/usr/bin/microsocks"
#define PROXY_PORT  1080
#define DEST_PORT   7007
#define CLOSED_PORT 7008
#define XFER_BYTES  (1u << 20)
#define XFER_MS     60000

static const char *linux_ip(int family)
{
	return family == AF_INET ? ZI_LINUX_IP4 : ZI_LINUX_IP6;
}

/* Start microsocks in the namespace and wait until it accepts. */
static void proxy_start(int family, const char *user, const char *pass)
{
	char *argv[12];
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(linux_ip(family), PROXY_PORT, &ss);
	int n = 0, i;

	if (access(MICROSOCKS, X_OK) != 0)
		zi_skip("microsocks is missing (scripts/install-packages.sh installs it)");
	argv[n++] = MICROSOCKS;
	argv[n++] = "-i";
	argv[n++] = (char *)linux_ip(family);
	argv[n++] = "-p";
	argv[n++] = "1080";
	if (user != NULL) {
		argv[n++] = "-u";
		argv[n++] = (char *)user;
		argv[n++] = "-P";
		argv[n++] = (char *)pass;
	}
	argv[n] = NULL;
	zi_prog_start(argv);
	/* it prints nothing when ready: try to connect (a Linux socket) */
	for (i = 0; i < 200; i++) {
		int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int rc;

		cr_assert_geq(fd, 0);
		rc = connect(fd, (struct sockaddr *)&ss, len);
		close(fd);
		if (rc == 0)
			return;
		zt_sleep_ms(25);
	}
	cr_assert_fail("microsocks does not listen on %s:%d", linux_ip(family), PROXY_PORT);
}

/* The destination: a Linux listener behind the proxy. */
static int linux_listener(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(linux_ip(family), port, &ss);
	int one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

/* A zsock TCP socket whose connects go through the proxy. */
static int proxied_socket(int family, const char *user, const char *pass)
{
	struct sockaddr_storage px;
	socklen_t plen = zi_addr(linux_ip(family), PROXY_PORT, &px);
	struct timeval tv = { .tv_sec = 10 };
	int fd = zt_socket(family, SOCK_STREAM);

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &px, plen), 0,
		     "SO_SOCKS5: %s", strerror(errno));
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	if (user != NULL) {
		struct zsock_socks5_auth a;

		memset(&a, 0, sizeof(a));
		snprintf(a.user, sizeof(a.user), "%s", user);
		snprintf(a.pass, sizeof(a.pass), "%s", pass);
		cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a,
					      sizeof(a)), 0, "AUTH: %s", strerror(errno));
	}
	return fd;
}

/*
 * The data check. microsocks relays until either side reaches EOF and then
 * closes both connections, so the usual shutdown(SHUT_WR) handshake of
 * stream.c cannot cross it: each side here sends XFER_BYTES of its
 * pattern stream while it reads XFER_BYTES of the other's (a sender
 * thread each), checks every byte and sums a CRC, and only then closes.
 */
struct half {
	int fd;
	bool zsock;          /* zsock or Linux calls */
	uint64_t seed;
	uint64_t done;
	uint32_t crc;
	uint64_t first_bad;
	int err;
};

static void *send_main(void *arg)
{
	struct half *h = arg;
	static __thread uint8_t buf[16384];

	while (h->done < XFER_BYTES) {
		size_t n = XFER_BYTES - h->done;
		ssize_t k;

		if (n > sizeof(buf))
			n = sizeof(buf);
		zt_pattern(h->seed, h->done, buf, n);
		k = h->zsock ? zsock_send(h->fd, buf, n, 0) : send(h->fd, buf, n, MSG_NOSIGNAL);
		if (k <= 0) {
			h->err = k < 0 ? errno : EPIPE;
			return NULL;
		}
		h->crc = zt_crc32(h->crc, buf, (size_t)k);
		h->done += (uint64_t)k;
	}
	return NULL;
}

static void recv_half(struct half *h)
{
	static __thread uint8_t buf[16384];

	h->first_bad = ZI_NO_BAD;
	while (h->done < XFER_BYTES) {
		size_t n = XFER_BYTES - h->done;
		ssize_t k;
		size_t bad;

		if (n > sizeof(buf))
			n = sizeof(buf);
		k = h->zsock ? zsock_recv(h->fd, buf, n, 0) : recv(h->fd, buf, n, 0);
		if (k <= 0) {
			h->err = k < 0 ? errno : EPIPE;
			return;
		}
		bad = zt_pattern_check(h->seed, h->done, buf, (size_t)k);
		if (bad < (size_t)k && h->first_bad == ZI_NO_BAD)
			h->first_bad = h->done + bad;
		h->crc = zt_crc32(h->crc, buf, (size_t)k);
		h->done += (uint64_t)k;
	}
}

struct linux_end {
	int lfd;
	struct half tx, rx;
	int accept_errno;
	bool sender_hung;
};

static void *linux_main(void *arg)
{
	struct linux_end *e = arg;
	int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
	pthread_t t;
	char c;

	if (fd < 0) {
		e->accept_errno = errno;
		return NULL;
	}
	e->tx = (struct half){ .fd = fd, .seed = 2 };
	e->rx = (struct half){ .fd = fd, .seed = 1 };
	t = zt_spawn(send_main, &e->tx);
	recv_half(&e->rx);
	e->sender_hung = !zt_join(t, XFER_MS);
	/* wait for the engine's close (the proxy closes us then) */
	while (recv(fd, &c, 1, 0) > 0)
		;
	close(fd);
	return NULL;
}

/* connect through the proxy to the Linux server, check the peer name,
 * move XFER_BYTES each way at once and compare the CRCs. */
static void via_proxy(int family, const char *user, const char *pass)
{
	struct sockaddr_storage d, peer;
	socklen_t dlen = zi_addr(linux_ip(family), DEST_PORT, &d), plen = sizeof(peer);
	struct linux_end e = { 0 };
	struct half ztx, zrx;
	pthread_t t, ts;
	int fd;

	e.lfd = linux_listener(family, DEST_PORT);
	t = zt_spawn(linux_main, &e);
	fd = proxied_socket(family, user, pass);
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&d, dlen), 0, "connect via proxy: %s",
		     strerror(errno));
	cr_assert_eq(zsock_getpeername(fd, (struct sockaddr *)&peer, &plen), 0);
	cr_assert_eq(plen, dlen);
	cr_assert_eq(zt_port_of(&peer), DEST_PORT, "getpeername gives port %u",
		     zt_port_of(&peer));
	cr_assert_eq(memcmp(&peer, &d, dlen), 0, "getpeername is not the destination");
	ztx = (struct half){ .fd = fd, .zsock = true, .seed = 1 };
	zrx = (struct half){ .fd = fd, .zsock = true, .seed = 2 };
	ts = zt_spawn(send_main, &ztx);
	recv_half(&zrx);
	cr_assert(zt_join(ts, XFER_MS), "zsock sender hangs");
	zt_close(fd);
	cr_assert(zt_join(t, XFER_MS + 5000), "Linux side hangs");
	close(e.lfd);
	cr_assert_eq(e.accept_errno, 0, "accept: %s", strerror(e.accept_errno));
	cr_assert_not(e.sender_hung, "Linux sender hangs");
	cr_assert_eq(ztx.err, 0, "zsock send: %s", strerror(ztx.err));
	cr_assert_eq(zrx.err, 0, "zsock recv: %s", strerror(zrx.err));
	cr_assert_eq(e.tx.err, 0, "Linux send: %s", strerror(e.tx.err));
	cr_assert_eq(e.rx.err, 0, "Linux recv: %s", strerror(e.rx.err));
	cr_assert_eq(zrx.done, XFER_BYTES);
	cr_assert_eq(e.rx.done, XFER_BYTES);
	cr_assert_eq(ztx.crc, e.rx.crc, "zsock->Linux CRC differs");
	cr_assert_eq(e.tx.crc, zrx.crc, "Linux->zsock CRC differs");
	cr_assert_eq(zrx.first_bad, ZI_NO_BAD, "Linux->zsock: byte %llu wrong",
		     (unsigned long long)zrx.first_bad);
	cr_assert_eq(e.rx.first_bad, ZI_NO_BAD, "zsock->Linux: byte %llu wrong",
		     (unsigned long long)e.rx.first_bad);
}

/* One connect that must fail with want. */
static void connect_fails(int family, const char *user, const char *pass, uint16_t port,
			  int want)
{
	struct sockaddr_storage d, peer;
	socklen_t dlen = zi_addr(linux_ip(family), port, &d), plen = sizeof(peer);
	int fd = proxied_socket(family, user, pass);

	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&d, dlen), -1, "connect succeeded");
	cr_assert_eq(errno, want, "errno %d (%s), want %d (%s)", errno, strerror(errno), want,
		     strerror(want));
	cr_assert_eq(zsock_getpeername(fd, (struct sockaddr *)&peer, &plen), -1);
	cr_assert_eq(errno, ENOTCONN);
	zt_close(fd);
}

ZI_TEST(socks5, no_auth_v4, .timeout = 90)
{
	zi_up();
	proxy_start(AF_INET, NULL, NULL);
	via_proxy(AF_INET, NULL, NULL);
}

ZI_TEST(socks5, no_auth_v6, .timeout = 90)
{
	zi_up();
	proxy_start(AF_INET6, NULL, NULL);
	via_proxy(AF_INET6, NULL, NULL);
}

ZI_TEST(socks5, userpass_right, .timeout = 90)
{
	zi_up();
	proxy_start(AF_INET, "zuser", "zpass");
	via_proxy(AF_INET, "zuser", "zpass");
}

ZI_TEST(socks5, userpass_wrong_or_missing, .timeout = 60)
{
	zi_up();
	proxy_start(AF_INET, "zuser", "zpass");
	connect_fails(AF_INET, "zuser", "nope", DEST_PORT, EACCES);
	connect_fails(AF_INET, "other", "zpass", DEST_PORT, EACCES);
	connect_fails(AF_INET, NULL, NULL, DEST_PORT, EACCES); /* no method offered fits */
}

ZI_TEST(socks5, closed_port_then_retry, .timeout = 60)
{
	struct sockaddr_storage d;
	socklen_t dlen;
	int fd, lfd, c;
	char buf[4] = { 0 };

	zi_up();
	proxy_start(AF_INET, NULL, NULL);
	connect_fails(AF_INET, NULL, NULL, CLOSED_PORT, ECONNREFUSED);

	/* the same socket: refused, then connects once something listens */
	fd = proxied_socket(AF_INET, NULL, NULL);
	dlen = zi_addr(ZI_LINUX_IP4, CLOSED_PORT, &d);
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&d, dlen), -1);
	cr_assert_eq(errno, ECONNREFUSED, "errno %d", errno);
	lfd = linux_listener(AF_INET, CLOSED_PORT);
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&d, dlen), 0, "retry: %s",
		     strerror(errno));
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(c, 0);
	cr_assert_eq(write(c, "abc", 3), 3);
	zt_recv_all(fd, buf, 3);
	cr_assert_str_eq(buf, "abc");
	zt_send_all(fd, "xyz", 3);
	cr_assert_eq(read(c, buf, 3), 3);
	cr_assert_eq(memcmp(buf, "xyz", 3), 0);
	close(c);
	close(lfd);
	zt_close(fd);
}
