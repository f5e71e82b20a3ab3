/*
 * hostsock (offload/hostsock.c, <zsock/hostsock.h>): zsock fds backed by
 * the host kernel's sockets, against Linux peers (plain host sockets of
 * this process, in helper threads where a zsock call blocks) on 127.0.0.1
 * / ::1 and on the namespace's 192.0.2.1 / 2001:db8::1 (see netns.h: the
 * host sockets zsock_hostsock_socket() makes live in the test's namespace
 * too). Every test also ends with hostsock's own leak check: no hostsock
 * object left (zsock_hostsock_in_use() back to 0) and the process's host
 * fds back to their count before the test, then the engine's (fds,
 * offloaded adapters, sockets, buffers).
 *
 *   iface_host                 zsock_net_if_get_by_name("host") exists
 *   tcp_echo_v4 / _v6          blocking client, Linux echo server, both
 *                              addresses of the family; names both ends
 *   tcp_echo_server            hostsock listener + accept, Linux client;
 *                              accept's address; timeouts inherited
 *   udp_echo_v4 / _v6          sendto/recvfrom, connected send/recv,
 *                              sendmsg/recvmsg with iovecs and names
 *   bulk_blocking              1 MiB each way at once (two zsock threads
 *                              on one fd), CRC and pattern checked
 *   bulk_nonblocking           the same from one thread: non-blocking
 *                              connect, zsock_poll loop, EAGAIN
 *   waitall_and_iovecs         MSG_WAITALL over pieces, sendmsg/recvmsg
 *                              across iovecs, MSG_PEEK
 *   timeouts                   SO_RCVTIMEO: recv, recvfrom, accept give
 *                              EAGAIN; SO_SNDTIMEO bounds a blocking send;
 *                              values read back; non-blocking EAGAIN
 *   fcntl_ioctl                F_GETFL/F_SETFL, FIONBIO, SOCK_NONBLOCK,
 *                              FIONREAD, unknown request
 *   poll_mixed                 hostsock and native fds in one zsock_poll,
 *                              readiness from another thread on each kind,
 *                              two pollers at once, listener, EOF
 *   select_mixed               zsock_select over both kinds
 *   close_while_blocked        close under recv, recvfrom, accept, poll
 *                              and send in other threads: EINTR (EBADF
 *                              if the call had not started), nothing leaks
 *   close_races_calls          2000 sockets closed while another thread
 *                              calls on them: only EBADF/EINTR/EAGAIN
 *   errors                     ECONNREFUSED (blocking and not), EADDRINUSE,
 *                              EINVAL, EDOM, EOPNOTSUPP, ENOTCONN, EISCONN,
 *                              EDESTADDRREQ, EBADF, socket()'s host errno
 *   fd_exhaustion              ENOMEM (pool), ENFILE (table) in socket(),
 *                              ENFILE in accept (connection closed), then
 *                              accept works again; nothing leaks
 *
 * No assertion depends on timing: sleeps only let another thread reach a
 * call, and every wait has a generous bound that only catches a hang.
 */
#define _GNU_SOURCE
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/hostsock.h>
#include <zsock/socket.h>
#include <zsock/socket_offload.h>
#include <zsock/zsock_config.h>

#define WAIT_MS 10000       /* bound on any wait: only a hang reaches it */
#define BULK_BYTES (1u << 20)
#define CHUNK 65536

/* ---- hostsock's own leak check ---------------------------------------------------- */

static int base_fds;

/* Host fds open in this process. */
static int host_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* zi_up(), start the driver (its epoll fd and watcher thread stay), and
 * take the host fd count. */
static void hs_up(void)
{
	int fd;

	zi_up();
	fd = zsock_hostsock_socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0, "zsock_hostsock_socket: %s", strerror(errno));
	zt_close(fd);
	base_fds = host_fds();
}

static void hs_down(void)
{
	int64_t end = zt_now_ms() + ZT_LEAK_WAIT_MS;
	unsigned int n;
	int fds;

	while ((n = zsock_hostsock_in_use()) != 0 && zt_now_ms() < end)
		zt_sleep_ms(10);
	cr_assert_eq(n, 0, "%u hostsock objects left", n);
	fds = host_fds();
	cr_assert_eq(fds, base_fds, "%d host fds open, %d before the test", fds, base_fds);
}

/* A test: namespace, hostsock's leak check, then the engine's (ZI_TEST). */
#define HS_TEST(name, ...)                                       \
	static void hs_body_##name(void);                        \
	ZI_TEST(hostsock, name, ##__VA_ARGS__)                   \
	{                                                        \
		hs_up();                                         \
		hs_body_##name();                                \
		hs_down();                                       \
	}                                                        \
	static void hs_body_##name(void)

#define EXPECT_ERR(call, err)                                                              \
	do {                                                                               \
		long rc_;                                                                  \
		int e_;                                                                    \
		errno = 0;                                                                 \
		rc_ = (long)(call);                                                        \
		e_ = errno;                                                                \
		cr_assert_eq(rc_, -1, "%s returned %ld, expected -1/%s", #call, rc_,       \
			     strerror(err));                                               \
		cr_assert_eq(e_, (err), "%s: errno %d (%s), expected %d (%s)", #call, e_, \
			     strerror(e_), (err), strerror(err));                          \
	} while (0)

/* ---- addresses and sockets ---------------------------------------------------------- */

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return zt_port_of(ss);
}

static int hs_socket(int family, int type)
{
	int fd = zsock_hostsock_socket(family, type, 0);

	cr_assert_geq(fd, 0, "zsock_hostsock_socket(%d, %d): %s", family, type, strerror(errno));
	return fd;
}

static void hs_timeo(int fd, int name, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)), 0,
		     "hostsock setsockopt timeout: %s", strerror(errno));
}

/* Blocking hostsock connect to ip:port. */
static void hs_connect(int fd, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, port, &ss);

	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&ss, len), 0, "connect %s:%u: %s", ip,
		     port, strerror(errno));
}

/* A hostsock socket bound to ip, ephemeral port in *port. */
static int hs_bound(int family, int type, const char *ip, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, 0, &ss);
	int fd = hs_socket(family, type);

	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "hostsock bind %s: %s", ip,
		     strerror(errno));
	len = sizeof(ss);
	cr_assert_eq(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = port_of(&ss);
	cr_assert_neq(*port, 0);
	return fd;
}

static int hs_listener(int family, const char *ip, uint16_t *port)
{
	int fd = hs_bound(family, SOCK_STREAM, ip, port);

	cr_assert_eq(zsock_listen(fd, 16), 0, "hostsock listen: %s", strerror(errno));
	return fd;
}

/* Linux sockets: blocking, with WAIT_MS timeouts so that no peer hangs. */
static void l_timeo(int fd)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int l_bound(int family, int type, const char *ip, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, 0, &ss);
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "Linux socket: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "Linux bind %s: %s", ip,
		     strerror(errno));
	len = sizeof(ss);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = port_of(&ss);
	l_timeo(fd);
	return fd;
}

static int l_listener(int family, const char *ip, uint16_t *port)
{
	int fd = l_bound(family, SOCK_STREAM, ip, port);

	cr_assert_eq(listen(fd, 64), 0, "Linux listen: %s", strerror(errno));
	return fd;
}

/* Linux accept of a connection that is already there (or comes within
 * WAIT_MS); test thread. */
static int l_accept(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "Linux listener: no connection");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0, "Linux accept: %s", strerror(errno));
	l_timeo(fd);
	return fd;
}

static int l_connect(int family, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	l_timeo(fd);
	cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "Linux connect %s:%u: %s", ip,
		     port, strerror(errno));
	return fd;
}

/* A connected pair: hostsock client *hs, Linux server end *lc. */
static void hs_tcp_pair(int family, const char *ip, int *hs, int *lc)
{
	uint16_t port;
	int lfd = l_listener(family, ip, &port);

	*hs = hs_socket(family, SOCK_STREAM);
	hs_connect(*hs, ip, port);
	*lc = l_accept(lfd);
	close(lfd);
}

/* ---- Linux echo peers (helper threads; they record, the test asserts) ----------------- */

struct l_echo {
	int fd;             /* TCP listener or bound UDP socket; the thread closes it */
	int type;
	long long bytes;    /* echoed */
	int datagrams;
	int err;            /* errno of a failure, 0 if none */
};

static void *l_echo_main(void *arg)
{
	struct l_echo *e = arg;
	char buf[65536];
	ssize_t n;

	if (e->type == SOCK_STREAM) {
		struct pollfd p = { .fd = e->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, WAIT_MS) != 1) {
			e->err = ETIMEDOUT;
			goto out;
		}
		c = accept4(e->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			e->err = errno;
			goto out;
		}
		l_timeo(c);
		while ((n = recv(c, buf, sizeof(buf), 0)) > 0) {
			if (send(c, buf, (size_t)n, MSG_NOSIGNAL) != n) {
				e->err = errno ? errno : EIO;
				break;
			}
			e->bytes += n;
		}
		if (n < 0)
			e->err = errno;
		close(c);
	} else {
		for (;;) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);

			n = recvfrom(e->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
			if (n < 0) {
				e->err = errno;
				break;
			}
			if (n == 4 && memcmp(buf, "quit", 4) == 0)
				break;
			if (sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) != n) {
				e->err = errno;
				break;
			}
			e->bytes += n;
			e->datagrams++;
		}
	}
out:
	close(e->fd);
	return NULL;
}

/* ---- byte pumps: one direction of a stream, zsock or host calls ----------------------- */

struct pump {
	bool zsock;         /* zsock_* calls (a hostsock fd), else the host's */
	int fd;
	size_t len;         /* send: bytes to send; recv: expected */
	uint64_t seed;
	bool shut;          /* send: shutdown(SHUT_WR) after the last byte */
	/* results */
	size_t done;
	uint32_t crc;
	size_t bad_at;      /* first wrong byte, or SIZE_MAX */
	int err;
};

static void *pump_send(void *arg)
{
	struct pump *p = arg;
	static _Thread_local uint8_t buf[CHUNK];

	p->bad_at = SIZE_MAX;
	while (p->done < p->len) {
		size_t k = p->len - p->done < CHUNK ? p->len - p->done : CHUNK;
		ssize_t n;

		zt_pattern(p->seed, p->done, buf, k);
		n = p->zsock ? zsock_send(p->fd, buf, k, 0) : send(p->fd, buf, k, MSG_NOSIGNAL);
		if (n <= 0) {
			p->err = n < 0 ? errno : EIO;
			return NULL;
		}
		p->crc = zt_crc32(p->crc, buf, (size_t)n);
		p->done += (size_t)n;
	}
	if (p->shut && (p->zsock ? zsock_shutdown(p->fd, ZSOCK_SHUT_WR) : shutdown(p->fd, SHUT_WR)) < 0)
		p->err = errno;
	return NULL;
}

static void *pump_recv(void *arg)
{
	struct pump *p = arg;
	static _Thread_local uint8_t buf[CHUNK];

	p->bad_at = SIZE_MAX;
	for (;;) {
		ssize_t n = p->zsock ? zsock_recv(p->fd, buf, sizeof(buf), 0)
				     : recv(p->fd, buf, sizeof(buf), 0);
		size_t at;

		if (n < 0) {
			p->err = errno;
			return NULL;
		}
		if (n == 0)
			return NULL;
		at = zt_pattern_check(p->seed, p->done, buf, (size_t)n);
		if (at != (size_t)n && p->bad_at == SIZE_MAX)
			p->bad_at = p->done + at;
		p->crc = zt_crc32(p->crc, buf, (size_t)n);
		p->done += (size_t)n;
	}
}

static uint32_t pattern_crc(uint64_t seed, size_t len)
{
	static uint8_t buf[CHUNK];
	uint32_t crc = 0;
	size_t off;

	for (off = 0; off < len; off += CHUNK) {
		size_t k = len - off < CHUNK ? len - off : CHUNK;

		zt_pattern(seed, off, buf, k);
		crc = zt_crc32(crc, buf, k);
	}
	return crc;
}

static void pump_check(const struct pump *p, const char *what, uint32_t want_crc)
{
	cr_assert_eq(p->err, 0, "%s: %s", what, strerror(p->err));
	cr_assert_eq(p->done, p->len, "%s: %zu of %zu bytes", what, p->done, p->len);
	cr_assert_eq(p->bad_at, SIZE_MAX, "%s: wrong byte at %zu", what, p->bad_at);
	cr_assert_eq(p->crc, want_crc, "%s: CRC %08x, expected %08x", what, p->crc, want_crc);
}

/* ---- the interface ----------------------------------------------------------------- */

HS_TEST(iface_host)
{
	struct net_if *host = zsock_net_if_get_by_name("host");

	cr_assert_not_null(host, "no interface \"host\"");
	cr_assert_eq(zsock_net_if_get_by_name("host"), host, "a second lookup gave another");
	cr_assert_neq(zsock_net_if_get_by_name("lo"), host, "\"lo\" is \"host\"");
	/* the name is taken: a driver cannot add it again */
	errno = 0;
	cr_assert_null(zsock_net_if_add_offloaded("host"));
	cr_assert_eq(errno, EEXIST, "errno %d", errno);
}

/* ---- TCP echo --------------------------------------------------------------------------- */

/* A blocking hostsock client against a Linux echo server at ip. */
static void tcp_echo_client(int family, const char *ip)
{
	struct l_echo e = { .type = SOCK_STREAM };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char out[3000], in[3000];
	long long sent = 0;
	uint16_t port;
	pthread_t t;
	int fd, i;

	e.fd = l_listener(family, ip, &port);
	t = zt_spawn(l_echo_main, &e);
	fd = hs_socket(family, SOCK_STREAM);
	hs_timeo(fd, SO_RCVTIMEO, WAIT_MS);
	hs_connect(fd, ip, port);
	cr_assert_eq(zsock_getpeername(fd, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(ss.ss_family, family);
	cr_assert_eq(port_of(&ss), port);
	len = sizeof(ss);
	cr_assert_eq(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	cr_assert_neq(port_of(&ss), 0, "no local port after connect");
	for (i = 1; i <= 20; i++) {
		size_t k = (size_t)i * 150;

		zt_pattern((uint64_t)i, 0, out, k);
		cr_assert_eq(zsock_send(fd, out, k, 0), (ssize_t)k, "send: %s", strerror(errno));
		cr_assert_eq(zsock_recv(fd, in, k, ZSOCK_MSG_WAITALL), (ssize_t)k, "recv: %s",
			     strerror(errno));
		cr_assert_eq(memcmp(in, out, k), 0, "echo %d differs", i);
		sent += (long long)k;
	}
	cr_assert_eq(zsock_shutdown(fd, ZSOCK_SHUT_WR), 0);
	cr_assert_eq(zsock_recv(fd, in, sizeof(in), 0), 0, "no EOF after the echo");
	zt_close(fd);
	cr_assert(zt_join(t, WAIT_MS), "Linux echo server hangs");
	cr_assert_eq(e.err, 0, "Linux echo server: %s", strerror(e.err));
	cr_assert_eq(e.bytes, sent);
}

HS_TEST(tcp_echo_v4, .timeout = 60)
{
	tcp_echo_client(AF_INET, "127.0.0.1");
	tcp_echo_client(AF_INET, ZI_LINUX_IP4);
}

HS_TEST(tcp_echo_v6, .timeout = 60)
{
	tcp_echo_client(AF_INET6, "::1");
	tcp_echo_client(AF_INET6, ZI_LINUX_IP6);
}

struct l_client {
	int family;
	const char *ip;
	uint16_t port;
	int rounds;
	int err;
	int ok;
	uint16_t local_port;
};

/* Connect to a zsock echo server, send and check rounds messages. */
static void *l_client_main(void *arg)
{
	struct l_client *c = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	char out[1000], in[1000];
	int fd, i;

	memset(&ss, 0, sizeof(ss));
	if (c->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(c->port);
		inet_pton(AF_INET, c->ip, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(c->port);
		inet_pton(AF_INET6, c->ip, &a->sin6_addr);
		len = sizeof(*a);
	}
	fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->err = errno;
		return NULL;
	}
	l_timeo(fd);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		c->err = errno;
		close(fd);
		return NULL;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	c->local_port = port_of(&ss);
	for (i = 0; i < c->rounds; i++) {
		size_t k = 100 + (size_t)i * 37;

		zt_pattern(1000 + (uint64_t)i, 0, out, k);
		if (send(fd, out, k, MSG_NOSIGNAL) != (ssize_t)k ||
		    recv(fd, in, k, MSG_WAITALL) != (ssize_t)k) {
			c->err = errno ? errno : EIO;
			break;
		}
		if (memcmp(in, out, k) == 0)
			c->ok++;
	}
	close(fd);
	return NULL;
}

HS_TEST(tcp_echo_server, .timeout = 60)
{
	struct l_client c = { .family = AF_INET, .ip = ZI_LINUX_IP4, .rounds = 20 };
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct timeval tv;
	socklen_t tlen = sizeof(tv);
	char buf[4096];
	ssize_t n;
	pthread_t t;
	int l, fd;

	l = hs_listener(AF_INET, ZI_LINUX_IP4, &c.port);
	hs_timeo(l, SO_RCVTIMEO, WAIT_MS);
	hs_timeo(l, SO_SNDTIMEO, 4321);
	t = zt_spawn(l_client_main, &c);
	fd = zsock_accept(l, (struct sockaddr *)&peer, &plen);
	cr_assert_geq(fd, 0, "accept: %s", strerror(errno));
	cr_assert_eq(plen, sizeof(struct sockaddr_in));
	cr_assert_eq(peer.ss_family, AF_INET);
	cr_assert_eq(((struct sockaddr_in *)&peer)->sin_addr.s_addr, inet_addr(ZI_LINUX_IP4));
	/* Linux copies the listener's timeouts to the accepted socket; so does hostsock */
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tlen), 0);
	cr_assert_eq(tv.tv_sec, 4);
	cr_assert_eq(tv.tv_usec, 321000);
	/* and the accepted socket blocks, whatever the listener */
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, 0);
	while ((n = zsock_recv(fd, buf, sizeof(buf), 0)) > 0)
		cr_assert_eq(zsock_send(fd, buf, (size_t)n, 0), n, "send: %s", strerror(errno));
	cr_assert_eq(n, 0, "recv: %s", strerror(errno));
	cr_assert(zt_join(t, WAIT_MS), "Linux client hangs");
	cr_assert_eq(c.err, 0, "Linux client: %s", strerror(c.err));
	cr_assert_eq(c.ok, c.rounds);
	cr_assert_eq(ntohs(((struct sockaddr_in *)&peer)->sin_port), c.local_port);
	zt_close(fd);
	zt_close(l);
}

/* ---- UDP echo ------------------------------------------------------------------------------ */

static void udp_echo(int family, const char *ip)
{
	struct l_echo e = { .type = SOCK_DGRAM };
	struct sockaddr_storage srv, from;
	socklen_t slen, flen;
	char out[1400], in[1500], a[10], b[20], c[1400];
	struct iovec oiov[3], iiov[3];
	struct msghdr m;
	long long sent = 0;
	uint16_t port;
	pthread_t t;
	int fd, i, n_dgrams = 0;
	ssize_t n;

	e.fd = l_bound(family, SOCK_DGRAM, ip, &port);
	slen = zi_addr(ip, port, &srv);
	t = zt_spawn(l_echo_main, &e);
	fd = hs_socket(family, SOCK_DGRAM);
	hs_timeo(fd, SO_RCVTIMEO, WAIT_MS);
	/* sendto / recvfrom, sizes 1 .. 1400 */
	for (i = 1; i <= 1400; i += 199) {
		zt_pattern((uint64_t)i, 0, out, (size_t)i);
		cr_assert_eq(zsock_sendto(fd, out, (size_t)i, 0, (struct sockaddr *)&srv, slen), i,
			     "sendto: %s", strerror(errno));
		flen = sizeof(from);
		memset(&from, 0, sizeof(from));
		n = zsock_recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
		cr_assert_eq(n, i, "recvfrom: %zd (%s)", n, strerror(errno));
		cr_assert_eq(memcmp(in, out, (size_t)i), 0);
		cr_assert_eq(flen, slen, "source address length %u", flen);
		cr_assert_eq(port_of(&from), port, "source port");
		sent += i;
		n_dgrams++;
	}
	/* a datagram larger than the buffer: truncated, MSG_TRUNC gives its length */
	zt_pattern(7, 0, out, 1000);
	cr_assert_eq(zsock_sendto(fd, out, 1000, 0, (struct sockaddr *)&srv, slen), 1000);
	n = zsock_recvfrom(fd, in, 10, ZSOCK_MSG_TRUNC, NULL, NULL);
	cr_assert_eq(n, 1000, "MSG_TRUNC: %zd (%s)", n, strerror(errno));
	sent += 1000;
	n_dgrams++;
	/* connected: send / recv */
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&srv, slen), 0);
	cr_assert_eq(zsock_send(fd, "hello", 5, 0), 5);
	cr_assert_eq(zsock_recv(fd, in, sizeof(in), 0), 5);
	cr_assert_eq(memcmp(in, "hello", 5), 0);
	sent += 5;
	n_dgrams++;
	/* sendmsg / recvmsg: three iovecs make one datagram */
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	oiov[0] = (struct iovec){ a, sizeof(a) };
	oiov[1] = (struct iovec){ b, sizeof(b) };
	oiov[2] = (struct iovec){ c, 100 };
	memset(&m, 0, sizeof(m));
	m.msg_iov = oiov;
	m.msg_iovlen = 3;
	cr_assert_eq(zsock_sendmsg(fd, &m, 0), 130, "sendmsg: %s", strerror(errno));
	memset(in, 0, sizeof(in));
	iiov[0] = (struct iovec){ in, 5 };
	iiov[1] = (struct iovec){ in + 5, 100 };
	iiov[2] = (struct iovec){ in + 105, 25 };
	memset(&m, 0, sizeof(m));
	m.msg_iov = iiov;
	m.msg_iovlen = 3;
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	cr_assert_eq(zsock_recvmsg(fd, &m, 0), 130, "recvmsg: %s", strerror(errno));
	cr_assert_eq(m.msg_namelen, slen);
	cr_assert_eq(port_of(&from), port);
	cr_assert_eq(m.msg_flags & MSG_TRUNC, 0);
	cr_assert_eq(memcmp(in, a, 10), 0);
	cr_assert_eq(memcmp(in + 10, b, 20), 0);
	cr_assert_eq(memcmp(in + 30, c, 100), 0);
	sent += 130;
	n_dgrams++;
	cr_assert_eq(zsock_send(fd, "quit", 4, 0), 4);
	cr_assert(zt_join(t, WAIT_MS), "Linux echo hangs");
	cr_assert_eq(e.err, 0, "Linux echo: %s", strerror(e.err));
	cr_assert_eq(e.bytes, sent);
	cr_assert_eq(e.datagrams, n_dgrams);
	zt_close(fd);
}

HS_TEST(udp_echo_v4, .timeout = 60)
{
	udp_echo(AF_INET, "127.0.0.1");
	udp_echo(AF_INET, ZI_LINUX_IP4);
}

HS_TEST(udp_echo_v6, .timeout = 60)
{
	udp_echo(AF_INET6, "::1");
	udp_echo(AF_INET6, ZI_LINUX_IP6);
}

/* ---- bulk ------------------------------------------------------------------------------------ */

/* The Linux side of a bulk run: accepts, then sends and receives at once. */
struct l_bulk {
	int lfd;
	struct pump tx, rx;
	int err;
};

static void *l_bulk_main(void *arg)
{
	struct l_bulk *b = arg;
	struct pollfd p = { .fd = b->lfd, .events = POLLIN };
	pthread_t t;
	int c;

	if (poll(&p, 1, WAIT_MS) != 1) {
		b->err = ETIMEDOUT;
		return NULL;
	}
	c = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		b->err = errno;
		return NULL;
	}
	l_timeo(c);
	b->tx.fd = c;
	b->rx.fd = c;
	if (pthread_create(&t, NULL, pump_send, &b->tx) != 0) {
		b->err = EAGAIN;
		close(c);
		return NULL;
	}
	pump_recv(&b->rx);
	pthread_join(t, NULL);
	close(c);
	return NULL;
}

HS_TEST(bulk_blocking, .timeout = 120)
{
	struct l_bulk lb = {
		.tx = { .zsock = false, .len = BULK_BYTES, .seed = 11, .shut = true },
		.rx = { .zsock = false, .len = BULK_BYTES, .seed = 22 },
	};
	struct pump ztx = { .zsock = true, .len = BULK_BYTES, .seed = 22, .shut = true };
	struct pump zrx = { .zsock = true, .len = BULK_BYTES, .seed = 11 };
	uint16_t port;
	pthread_t lt, st;
	int fd;

	lb.lfd = l_listener(AF_INET, ZI_LINUX_IP4, &port);
	lt = zt_spawn(l_bulk_main, &lb);
	fd = hs_socket(AF_INET, SOCK_STREAM);
	hs_timeo(fd, SO_RCVTIMEO, WAIT_MS);
	hs_timeo(fd, SO_SNDTIMEO, WAIT_MS);
	hs_connect(fd, ZI_LINUX_IP4, port);
	ztx.fd = fd;
	zrx.fd = fd;
	/* one fd, two zsock threads: a sender and this receiver */
	st = zt_spawn(pump_send, &ztx);
	pump_recv(&zrx);
	cr_assert(zt_join(st, WAIT_MS), "hostsock sender hangs");
	cr_assert(zt_join(lt, WAIT_MS), "Linux peer hangs");
	close(lb.lfd);
	cr_assert_eq(lb.err, 0, "Linux peer: %s", strerror(lb.err));
	pump_check(&ztx, "hostsock send", pattern_crc(22, BULK_BYTES));
	pump_check(&lb.rx, "Linux recv", pattern_crc(22, BULK_BYTES));
	pump_check(&lb.tx, "Linux send", pattern_crc(11, BULK_BYTES));
	pump_check(&zrx, "hostsock recv", pattern_crc(11, BULK_BYTES));
	zt_close(fd);
}

HS_TEST(bulk_nonblocking, .timeout = 120)
{
	struct l_bulk lb = {
		.tx = { .zsock = false, .len = BULK_BYTES, .seed = 33, .shut = true },
		.rx = { .zsock = false, .len = BULK_BYTES, .seed = 44 },
	};
	static uint8_t tbuf[CHUNK], rbuf[CHUNK];
	struct sockaddr_storage ss;
	size_t sent = 0, got = 0, bad = SIZE_MAX;
	uint32_t tcrc = 0, rcrc = 0;
	bool eof = false, shut = false;
	int64_t end;
	socklen_t len, elen;
	uint16_t port;
	pthread_t lt;
	int fd, rc, err = -1, eagain_tx = 0;

	lb.lfd = l_listener(AF_INET6, ZI_LINUX_IP6, &port);
	lt = zt_spawn(l_bulk_main, &lb);
	fd = zsock_hostsock_socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	len = zi_addr(ZI_LINUX_IP6, port, &ss);
	rc = zsock_connect(fd, (struct sockaddr *)&ss, len);
	cr_assert(rc == 0 || errno == EINPROGRESS, "non-blocking connect: %s", strerror(errno));
	cr_assert_eq(zt_poll1(fd, ZSOCK_POLLOUT, WAIT_MS), ZSOCK_POLLOUT);
	elen = sizeof(err);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	cr_assert_eq(err, 0, "SO_ERROR %d", err);
	end = zt_now_ms() + 60000;
	while (!eof || !shut) {
		struct zsock_pollfd p = { .fd = fd, .events = ZSOCK_POLLIN };
		ssize_t n;

		cr_assert_lt(zt_now_ms(), end, "bulk stalled: sent %zu, got %zu", sent, got);
		if (!shut)
			p.events |= ZSOCK_POLLOUT;
		rc = zsock_poll(&p, 1, WAIT_MS);
		cr_assert_geq(rc, 0, "poll: %s", strerror(errno));
		while (!eof) {
			size_t at;

			n = zsock_recv(fd, rbuf, sizeof(rbuf), 0);
			if (n < 0) {
				cr_assert_eq(errno, EAGAIN, "recv: %s", strerror(errno));
				break;
			}
			if (n == 0) {
				eof = true;
				break;
			}
			at = zt_pattern_check(33, got, rbuf, (size_t)n);
			if (at != (size_t)n && bad == SIZE_MAX)
				bad = got + at;
			rcrc = zt_crc32(rcrc, rbuf, (size_t)n);
			got += (size_t)n;
		}
		while (!shut) {
			size_t k = BULK_BYTES - sent < CHUNK ? BULK_BYTES - sent : CHUNK;

			if (k == 0) {
				cr_assert_eq(zsock_shutdown(fd, ZSOCK_SHUT_WR), 0);
				shut = true;
				break;
			}
			zt_pattern(44, sent, tbuf, k);
			n = zsock_send(fd, tbuf, k, 0);
			if (n < 0) {
				cr_assert_eq(errno, EAGAIN, "send: %s", strerror(errno));
				eagain_tx++;
				break;
			}
			cr_assert_gt(n, 0);
			tcrc = zt_crc32(tcrc, tbuf, (size_t)n);
			sent += (size_t)n;
		}
	}
	cr_assert(zt_join(lt, WAIT_MS), "Linux peer hangs");
	close(lb.lfd);
	cr_assert_eq(lb.err, 0, "Linux peer: %s", strerror(lb.err));
	cr_assert_eq(got, BULK_BYTES);
	cr_assert_eq(bad, SIZE_MAX, "wrong byte at %zu", bad);
	cr_assert_eq(rcrc, pattern_crc(33, BULK_BYTES));
	cr_assert_eq(tcrc, pattern_crc(44, BULK_BYTES));
	pump_check(&lb.rx, "Linux recv", tcrc);
	pump_check(&lb.tx, "Linux send", rcrc);
	cr_log_info("non-blocking bulk: %d sends met a full buffer", eagain_tx);
	zt_close(fd);
}

/* ---- MSG_WAITALL, iovecs, MSG_PEEK ------------------------------------------------------------- */

struct l_pieces {
	int fd;
	const char *data;
	size_t len, piece;
	int err;
};

/* Linux writes data in pieces, each after a pause, so a receiver sees them
 * arrive one by one. */
static void *l_pieces_main(void *arg)
{
	struct l_pieces *p = arg;
	size_t off;

	for (off = 0; off < p->len; off += p->piece) {
		size_t k = p->len - off < p->piece ? p->len - off : p->piece;

		zt_sleep_ms(20);
		if (send(p->fd, p->data + off, k, MSG_NOSIGNAL) != (ssize_t)k) {
			p->err = errno;
			break;
		}
	}
	return NULL;
}

HS_TEST(waitall_and_iovecs, .timeout = 60)
{
	static char data[3000], in[3000];
	struct l_pieces lp;
	struct iovec iov[4];
	struct msghdr m;
	char x[8], y[1], z[4000];
	pthread_t t;
	int fd, lc;
	ssize_t n;

	hs_tcp_pair(AF_INET, "127.0.0.1", &fd, &lc);
	hs_timeo(fd, SO_RCVTIMEO, WAIT_MS);
	zt_pattern(5, 0, data, sizeof(data));
	/* MSG_WAITALL: all 3000 bytes, written in 10 pieces */
	lp = (struct l_pieces){ .fd = lc, .data = data, .len = 3000, .piece = 300 };
	t = zt_spawn(l_pieces_main, &lp);
	n = zsock_recv(fd, in, sizeof(in), ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, WAIT_MS));
	cr_assert_eq(lp.err, 0);
	cr_assert_eq(n, 3000, "MSG_WAITALL: %zd (%s)", n, strerror(errno));
	cr_assert_eq(memcmp(in, data, 3000), 0);
	/* recvmsg with MSG_WAITALL across iovecs, pieces smaller than an iovec */
	lp = (struct l_pieces){ .fd = lc, .data = data, .len = 2000, .piece = 70 };
	t = zt_spawn(l_pieces_main, &lp);
	memset(in, 0, sizeof(in));
	iov[0] = (struct iovec){ in, 100 };
	iov[1] = (struct iovec){ in + 100, 0 };
	iov[2] = (struct iovec){ in + 100, 1500 };
	iov[3] = (struct iovec){ in + 1600, 400 };
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 4;
	n = zsock_recvmsg(fd, &m, ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, WAIT_MS));
	cr_assert_eq(n, 2000, "recvmsg MSG_WAITALL: %zd (%s)", n, strerror(errno));
	cr_assert_eq(memcmp(in, data, 2000), 0);
	/* MSG_PEEK leaves the bytes for the next recv */
	cr_assert_eq(send(lc, "peek", 4, 0), 4);
	cr_assert_eq(zt_poll1(fd, ZSOCK_POLLIN, WAIT_MS), ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(fd, x, 4, ZSOCK_MSG_PEEK), 4);
	cr_assert_eq(zsock_recv(fd, x + 4, 4, 0), 4);
	cr_assert_eq(memcmp(x, "peekpeek", 8), 0);
	/* sendmsg: iovecs of 1, 0 and 4000 bytes in order, all sent by a blocking call */
	y[0] = '!';
	zt_pattern(6, 0, z, sizeof(z));
	iov[0] = (struct iovec){ y, 1 };
	iov[1] = (struct iovec){ NULL, 0 };
	iov[2] = (struct iovec){ z, sizeof(z) };
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 3;
	cr_assert_eq(zsock_sendmsg(fd, &m, 0), 4001, "sendmsg: %s", strerror(errno));
	cr_assert_eq(recv(lc, in, 1, MSG_WAITALL), 1);
	cr_assert_eq(in[0], '!');
	cr_assert_eq(recv(lc, in, 3000, MSG_WAITALL), 3000);
	cr_assert_eq(memcmp(in, z, 3000), 0);
	cr_assert_eq(recv(lc, in, 1000, MSG_WAITALL), 1000);
	cr_assert_eq(memcmp(in, z + 3000, 1000), 0);
	/* MSG_WAITALL ends early at EOF, with what it has */
	cr_assert_eq(send(lc, "tail", 4, 0), 4);
	shutdown(lc, SHUT_WR);
	n = zsock_recv(fd, in, 100, ZSOCK_MSG_WAITALL);
	cr_assert_eq(n, 4, "MSG_WAITALL at EOF: %zd (%s)", n, strerror(errno));
	cr_assert_eq(zsock_recv(fd, in, 100, 0), 0);
	close(lc);
	zt_close(fd);
}

/* ---- timeouts ------------------------------------------------------------------------------------- */

HS_TEST(timeouts, .timeout = 60)
{
	static char big[1 << 20];
	struct timeval tv;
	socklen_t tlen;
	uint16_t port;
	char buf[16];
	int fd, lc, u, l;
	ssize_t n;

	hs_tcp_pair(AF_INET, ZI_LINUX_IP4, &fd, &lc);
	/* default: wait forever, read back as {0, 0} */
	tlen = sizeof(tv);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tlen), 0);
	cr_assert_eq(tlen, sizeof(tv));
	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
	/* recv on a silent peer: EAGAIN after SO_RCVTIMEO */
	hs_timeo(fd, SO_RCVTIMEO, 150);
	tlen = sizeof(tv);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tlen), 0);
	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 150000, "read back {%ld, %ld}",
		  (long)tv.tv_sec, (long)tv.tv_usec);
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), 0), EAGAIN);
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_WAITALL), EAGAIN);
	/* rounded up to whole milliseconds */
	tv = (struct timeval){ .tv_sec = 0, .tv_usec = 1 };
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	tlen = sizeof(tv);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tlen), 0);
	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 1000, "read back {%ld, %ld}",
		  (long)tv.tv_sec, (long)tv.tv_usec);
	/* a blocking send to a peer that does not read: SO_SNDTIMEO ends it,
	 * with what was queued (> 0) or EAGAIN, never hangs */
	hs_timeo(fd, SO_SNDTIMEO, 150);
	for (int i = 0; i < 64; i++) {
		n = zsock_send(fd, big, sizeof(big), 0);
		if (n < 0)
			break;
		cr_assert_gt(n, 0, "send returned 0");
	}
	cr_assert_eq(n, -1, "64 MiB queued to a peer that never reads");
	cr_assert_eq(errno, EAGAIN, "send: %s", strerror(errno));
	/* non-blocking and MSG_DONTWAIT: EAGAIN at once, whatever the timeout */
	hs_timeo(fd, SO_RCVTIMEO, 0);
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EAGAIN);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), 0), EAGAIN);
	EXPECT_ERR(zsock_send(fd, big, sizeof(big), 0), EAGAIN);
	close(lc);
	zt_close(fd);

	/* UDP recvfrom */
	u = hs_bound(AF_INET6, SOCK_DGRAM, "::1", &port);
	hs_timeo(u, SO_RCVTIMEO, 100);
	EXPECT_ERR(zsock_recvfrom(u, buf, sizeof(buf), 0, NULL, NULL), EAGAIN);
	zt_close(u);

	/* accept */
	l = hs_listener(AF_INET, "127.0.0.1", &port);
	hs_timeo(l, SO_RCVTIMEO, 100);
	EXPECT_ERR(zsock_accept(l, NULL, NULL), EAGAIN);
	zt_close(l);
}

/* ---- fcntl and ioctl ----------------------------------------------------------------------------- */

HS_TEST(fcntl_ioctl)
{
	int fd, lc, nb, on = 1, off = 0, avail = -1;
	char buf[200];

	fd = zsock_hostsock_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	zt_close(fd);

	hs_tcp_pair(AF_INET, "127.0.0.1", &fd, &lc);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), 0), EAGAIN);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, 0), 0);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR);
	cr_assert_eq(zsock_ioctl(fd, FIONBIO, &on), 0);
	nb = zsock_fcntl(fd, F_GETFL, 0);
	cr_assert_eq(nb, O_RDWR | O_NONBLOCK);
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), 0), EAGAIN);
	cr_assert_eq(zsock_ioctl(fd, FIONBIO, &off), 0);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR);
	/* FIONREAD: the host's count */
	cr_assert_eq(zsock_ioctl(fd, FIONREAD, &avail), 0);
	cr_assert_eq(avail, 0);
	cr_assert_eq(send(lc, buf, 100, 0), 100);
	cr_assert_eq(zt_poll1(fd, ZSOCK_POLLIN, WAIT_MS), ZSOCK_POLLIN);
	cr_assert_eq(zsock_ioctl(fd, FIONREAD, &avail), 0);
	cr_assert_eq(avail, 100);
	cr_assert_eq(zsock_recv(fd, buf, sizeof(buf), 0), 100);
	/* a request the driver does not know */
	EXPECT_ERR(zsock_ioctl(fd, 0x5a5a, &avail), EOPNOTSUPP);
	close(lc);
	zt_close(fd);
}

/* ---- poll and select across hostsock and native fds -------------------------------------------------- */

enum act { ACT_HOST_SEND, ACT_ZSOCK_SEND, ACT_HOST_CONNECT };

struct actor {
	enum act act;
	int fd;             /* host fd or zsock fd to send on */
	int family;
	const char *ip;
	uint16_t port;      /* ACT_HOST_CONNECT */
	int delay_ms;
	int result;         /* bytes sent, or the connected host fd; -1 + err */
	int err;
};

/* After a pause (only to let the test thread reach its wait), make one
 * thing ready. */
static void *actor_main(void *arg)
{
	struct actor *a = arg;

	zt_sleep_ms(a->delay_ms);
	switch (a->act) {
	case ACT_HOST_SEND:
		a->result = (int)send(a->fd, "h", 1, MSG_NOSIGNAL);
		break;
	case ACT_ZSOCK_SEND:
		a->result = (int)zsock_send(a->fd, "z", 1, 0);
		break;
	case ACT_HOST_CONNECT: {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		memset(&ss, 0, sizeof(ss));
		if (a->family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			in->sin_family = AF_INET;
			in->sin_port = htons(a->port);
			inet_pton(AF_INET, a->ip, &in->sin_addr);
			len = sizeof(*in);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(a->port);
			inet_pton(AF_INET6, a->ip, &in6->sin6_addr);
			len = sizeof(*in6);
		}
		if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) < 0) {
			close(fd);
			fd = -1;
		}
		a->result = fd;
		break;
	}
	}
	if (a->result < 0)
		a->err = errno;
	return NULL;
}

static pthread_t act(struct actor *a, enum act what, int fd, int delay_ms)
{
	a->act = what;
	a->fd = fd;
	a->delay_ms = delay_ms;
	a->result = -1;
	a->err = 0;
	return zt_spawn(actor_main, a);
}

static void act_done(pthread_t t, struct actor *a)
{
	cr_assert(zt_join(t, WAIT_MS), "actor hangs");
	cr_assert_geq(a->result, 0, "actor: %s", strerror(a->err));
}

struct poller {
	struct zsock_pollfd p[2];
	int rc, err;
};

static void *poller_main(void *arg)
{
	struct poller *q = arg;

	q->rc = zsock_poll(q->p, 2, WAIT_MS);
	q->err = errno;
	return NULL;
}

HS_TEST(poll_mixed, .timeout = 60)
{
	struct zsock_pollfd p[2];
	struct poller q1, q2;
	struct actor a = { 0 }, b = { 0 };
	pthread_t ta, tb, t1, t2;
	uint16_t port;
	char buf[16];
	int hs, lc, ncli, nsrv, hl, acc, rc;

	hs_tcp_pair(AF_INET, ZI_LINUX_IP4, &hs, &lc);
	zt_tcp_pair(AF_INET, &ncli, &nsrv); /* the engine's loopback */

	/* nothing readable: both idle, timeout 0 and a short one */
	p[0] = (struct zsock_pollfd){ .fd = hs, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = nsrv, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(p, 2, 0), 0);
	cr_assert_eq(zsock_poll(p, 2, 30), 0);
	/* both writable */
	p[0].events = ZSOCK_POLLOUT;
	p[1].events = ZSOCK_POLLOUT;
	cr_assert_eq(zsock_poll(p, 2, 0), 2);
	cr_assert_eq(p[0].revents, ZSOCK_POLLOUT);
	cr_assert_eq(p[1].revents, ZSOCK_POLLOUT);

	/* the Linux peer writes from another thread: only the hostsock fd wakes */
	p[0] = (struct zsock_pollfd){ .fd = hs, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = nsrv, .events = ZSOCK_POLLIN };
	ta = act(&a, ACT_HOST_SEND, lc, 100);
	rc = zsock_poll(p, 2, WAIT_MS);
	act_done(ta, &a);
	cr_assert_eq(rc, 1, "poll: %d (%s)", rc, strerror(errno));
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	cr_assert_eq(p[1].revents, 0);
	cr_assert_eq(zsock_recv(hs, buf, sizeof(buf), 0), 1);

	/* the native peer writes from another thread: only the native fd wakes */
	ta = act(&a, ACT_ZSOCK_SEND, ncli, 100);
	rc = zsock_poll(p, 2, WAIT_MS);
	act_done(ta, &a);
	cr_assert_eq(rc, 1, "poll: %d (%s)", rc, strerror(errno));
	cr_assert_eq(p[0].revents, 0);
	cr_assert_eq(p[1].revents, ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(nsrv, buf, sizeof(buf), 0), 1);

	/* both, from two threads: poll until both have been seen */
	ta = act(&a, ACT_HOST_SEND, lc, 50);
	tb = act(&b, ACT_ZSOCK_SEND, ncli, 80);
	{
		bool seen_h = false, seen_n = false;

		while (!seen_h || !seen_n) {
			rc = zsock_poll(p, 2, WAIT_MS);
			cr_assert_gt(rc, 0, "poll: %d (%s)", rc, strerror(errno));
			if (p[0].revents & ZSOCK_POLLIN) {
				cr_assert_eq(zsock_recv(hs, buf, sizeof(buf), 0), 1);
				seen_h = true;
			}
			if (p[1].revents & ZSOCK_POLLIN) {
				cr_assert_eq(zsock_recv(nsrv, buf, sizeof(buf), 0), 1);
				seen_n = true;
			}
			if (seen_h)
				p[0].fd = -1;
			if (seen_n)
				p[1].fd = -1;
		}
		p[0].fd = hs;
		p[1].fd = nsrv;
	}
	act_done(ta, &a);
	act_done(tb, &b);

	/* two threads poll the same hostsock fd at once: one event wakes both */
	q1 = (struct poller){ .p = { { .fd = hs, .events = ZSOCK_POLLIN },
				     { .fd = nsrv, .events = ZSOCK_POLLIN } } };
	q2 = q1;
	t1 = zt_spawn(poller_main, &q1);
	t2 = zt_spawn(poller_main, &q2);
	zt_sleep_ms(100);
	cr_assert_eq(send(lc, "x", 1, 0), 1);
	cr_assert(zt_join(t1, WAIT_MS) && zt_join(t2, WAIT_MS), "a poller hangs");
	cr_assert_eq(q1.rc, 1, "poller 1: %d (%s)", q1.rc, strerror(q1.err));
	cr_assert_eq(q2.rc, 1, "poller 2: %d (%s)", q2.rc, strerror(q2.err));
	cr_assert_eq(q1.p[0].revents, ZSOCK_POLLIN);
	cr_assert_eq(q2.p[0].revents, ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(hs, buf, sizeof(buf), 0), 1);

	/* a hostsock listener: a Linux client's connection is POLLIN */
	hl = hs_listener(AF_INET6, ZI_LINUX_IP6, &port);
	b.family = AF_INET6;
	b.ip = ZI_LINUX_IP6;
	b.port = port;
	p[0] = (struct zsock_pollfd){ .fd = hl, .events = ZSOCK_POLLIN };
	tb = act(&b, ACT_HOST_CONNECT, -1, 100);
	rc = zsock_poll(p, 2, WAIT_MS);
	act_done(tb, &b);
	cr_assert_eq(rc, 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	acc = zsock_accept(hl, NULL, NULL);
	cr_assert_geq(acc, 0, "accept: %s", strerror(errno));
	close(b.result);
	/* the client closed: EOF is POLLIN, recv 0 */
	p[0] = (struct zsock_pollfd){ .fd = acc, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(p, 2, WAIT_MS), 1);
	cr_assert(p[0].revents & ZSOCK_POLLIN, "revents 0x%x", p[0].revents);
	cr_assert_eq(zsock_recv(acc, buf, sizeof(buf), 0), 0);
	zt_close(acc);
	zt_close(hl);

	close(lc);
	zt_close(hs);
	zt_close(ncli);
	zt_close(nsrv);
}

HS_TEST(select_mixed, .timeout = 60)
{
	struct zsock_timeval tv0 = { 0, 0 }, tv = { WAIT_MS / 1000, 0 };
	zsock_fd_set r, w;
	struct actor a = { 0 };
	pthread_t ta;
	char buf[4];
	int hs, lc, ncli, nsrv, nfds, rc;

	hs_tcp_pair(AF_INET6, "::1", &hs, &lc);
	zt_tcp_pair(AF_INET, &ncli, &nsrv);
	nfds = (hs > nsrv ? hs : nsrv) + 1;

	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_SET(hs, &r);
	ZSOCK_FD_SET(nsrv, &r);
	ZSOCK_FD_ZERO(&w);
	ZSOCK_FD_SET(hs, &w);
	rc = zsock_select(nfds, &r, &w, NULL, &tv0);
	cr_assert_eq(rc, 1, "select: %d (%s)", rc, strerror(errno));
	cr_assert(!ZSOCK_FD_ISSET(hs, &r) && !ZSOCK_FD_ISSET(nsrv, &r));
	cr_assert(ZSOCK_FD_ISSET(hs, &w));

	/* readable hostsock fd, from another thread */
	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_SET(hs, &r);
	ZSOCK_FD_SET(nsrv, &r);
	ta = act(&a, ACT_HOST_SEND, lc, 100);
	rc = zsock_select(nfds, &r, NULL, NULL, &tv);
	act_done(ta, &a);
	cr_assert_eq(rc, 1, "select: %d (%s)", rc, strerror(errno));
	cr_assert(ZSOCK_FD_ISSET(hs, &r));
	cr_assert(!ZSOCK_FD_ISSET(nsrv, &r));
	cr_assert_eq(zsock_recv(hs, buf, sizeof(buf), 0), 1);

	/* readable native fd, while the hostsock one stays quiet */
	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_SET(hs, &r);
	ZSOCK_FD_SET(nsrv, &r);
	ta = act(&a, ACT_ZSOCK_SEND, ncli, 100);
	rc = zsock_select(nfds, &r, NULL, NULL, NULL);
	act_done(ta, &a);
	cr_assert_eq(rc, 1, "select: %d (%s)", rc, strerror(errno));
	cr_assert(!ZSOCK_FD_ISSET(hs, &r));
	cr_assert(ZSOCK_FD_ISSET(nsrv, &r));
	cr_assert_eq(zsock_recv(nsrv, buf, sizeof(buf), 0), 1);

	close(lc);
	zt_close(hs);
	zt_close(ncli);
	zt_close(nsrv);
}

/* ---- close from another thread ------------------------------------------------------------------- */

enum blk { BLK_RECV, BLK_RECVFROM, BLK_ACCEPT, BLK_POLL, BLK_SEND };

struct blocked {
	enum blk what;
	int fd;
	long rc;
	int err;
};

static void *blocked_main(void *arg)
{
	static char big[1 << 20];
	struct blocked *b = arg;
	struct zsock_pollfd p = { .fd = b->fd, .events = ZSOCK_POLLIN };
	char buf[64];

	errno = 0;
	switch (b->what) {
	case BLK_RECV:
		b->rc = zsock_recv(b->fd, buf, sizeof(buf), 0);
		break;
	case BLK_RECVFROM:
		b->rc = zsock_recvfrom(b->fd, buf, sizeof(buf), 0, NULL, NULL);
		break;
	case BLK_ACCEPT:
		b->rc = zsock_accept(b->fd, NULL, NULL);
		break;
	case BLK_POLL:
		b->rc = zsock_poll(&p, 1, -1);
		break;
	case BLK_SEND:
		/* 64 MiB to a peer that does not read: blocks once the buffers fill */
		for (int i = 0; i < 64; i++) {
			b->rc = zsock_send(b->fd, big, sizeof(big), 0);
			if (b->rc != (long)sizeof(big))
				break;
		}
		break;
	}
	b->err = errno;
	return NULL;
}

HS_TEST(close_while_blocked, .timeout = 60)
{
	static const char *names[] = { "recv", "recvfrom", "accept", "poll", "send" };
	struct blocked b[5];
	pthread_t t[5];
	uint16_t port;
	int lc, lc2, i;

	memset(b, 0, sizeof(b));
	b[BLK_RECV].what = BLK_RECV;
	hs_tcp_pair(AF_INET, ZI_LINUX_IP4, &b[BLK_RECV].fd, &lc);
	b[BLK_RECVFROM].what = BLK_RECVFROM;
	b[BLK_RECVFROM].fd = hs_bound(AF_INET, SOCK_DGRAM, "127.0.0.1", &port);
	b[BLK_ACCEPT].what = BLK_ACCEPT;
	b[BLK_ACCEPT].fd = hs_listener(AF_INET6, "::1", &port);
	b[BLK_POLL].what = BLK_POLL;
	b[BLK_POLL].fd = hs_socket(AF_INET, SOCK_DGRAM);
	cr_assert_eq(zsock_connect(b[BLK_POLL].fd, (struct sockaddr *)&(struct sockaddr_in){
					   .sin_family = AF_INET, .sin_port = htons(9),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
				   sizeof(struct sockaddr_in)), 0);
	b[BLK_SEND].what = BLK_SEND;
	hs_tcp_pair(AF_INET, "127.0.0.1", &b[BLK_SEND].fd, &lc2);
	for (i = 0; i < 5; i++)
		t[i] = zt_spawn(blocked_main, &b[i]);
	zt_sleep_ms(300); /* let them block (if one has not, it gets EBADF) */
	for (i = 0; i < 5; i++)
		zt_close(b[i].fd);
	for (i = 0; i < 5; i++)
		cr_assert(zt_join(t[i], WAIT_MS), "%s still blocked after close", names[i]);
	for (i = 0; i < 5; i++) {
		cr_log_info("%s after close: %ld (%s)", names[i], b[i].rc,
			    b[i].rc < 0 ? strerror(b[i].err) : "bytes");
		if (i == BLK_SEND && b[i].rc > 0)
			continue; /* interrupted after some progress: the count */
		cr_assert_eq(b[i].rc, -1, "%s returned %ld after close", names[i], b[i].rc);
		cr_assert(b[i].err == EINTR || b[i].err == EBADF, "%s after close: %s", names[i],
			  strerror(b[i].err));
	}
	/* the Linux peers see the connections end */
	{
		char buf[64];
		struct pollfd p = { .fd = lc, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, WAIT_MS), 1);
		cr_assert_leq(recv(lc, buf, sizeof(buf), 0), 0);
	}
	close(lc);
	close(lc2);
	/* the number works again, as a fresh hostsock socket */
	i = hs_socket(AF_INET, SOCK_STREAM);
	zt_close(i);
}

struct racer {
	_Atomic int fd;     /* the fd to hit, -1 between sockets */
	_Atomic bool stop;
	long calls;
	int bad_errno;      /* an errno other than the expected ones, 0 if none */
};

/* Calls on whatever fd the test thread has open (or just closed). */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct zsock_pollfd p;
	char buf[8];
	int v;
	socklen_t len;

	while (!atomic_load(&r->stop)) {
		int fd = atomic_load(&r->fd), rc;

		if (fd < 0)
			continue;
		errno = 0;
		switch (r->calls++ % 4) {
		case 0:
			rc = (int)zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
			break;
		case 1:
			len = sizeof(v);
			rc = zsock_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);
			break;
		case 2:
			p = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
			rc = zsock_poll(&p, 1, 1);
			break;
		default:
			rc = (int)zsock_sendto(fd, "x", 1, 0, NULL, 0);
			break;
		}
		if (rc < 0 && errno != EBADF && errno != EAGAIN && errno != EINTR &&
		    errno != EDESTADDRREQ && r->bad_errno == 0)
			r->bad_errno = errno;
	}
	return NULL;
}

/* Sockets opened and closed while another thread calls on them: every
 * call ends with a result or EBADF / EINTR / EAGAIN, nothing leaks (and
 * under TSan: no race in the object's lifetime). */
HS_TEST(close_races_calls, .timeout = 60)
{
	struct racer r = { .fd = -1 };
	pthread_t t = zt_spawn(racer_main, &r);
	int i;

	for (i = 0; i < 2000; i++) {
		int fd = hs_socket(AF_INET, SOCK_DGRAM);

		atomic_store(&r.fd, fd);
		if (i % 2)
			zt_sleep_ms(0);
		zt_close(fd);
	}
	atomic_store(&r.fd, -1);
	atomic_store(&r.stop, true);
	cr_assert(zt_join(t, WAIT_MS), "racer hangs");
	cr_assert_eq(r.bad_errno, 0, "a call failed with %s", strerror(r.bad_errno));
	cr_log_info("%ld calls raced 2000 closes", r.calls);
}

/* ---- errors ------------------------------------------------------------------------------------------- */

/* A port on ip where nothing listens (bound by Linux, then released). */
static uint16_t closed_port(int family, const char *ip)
{
	uint16_t port;
	int fd = l_bound(family, SOCK_STREAM, ip, &port);

	close(fd);
	return port;
}

/* socket(args) fails on zsock with the errno the host gives for the same. */
static void same_socket_errno(int family, int type, int proto)
{
	int hfd, host_err, fd;

	errno = 0;
	hfd = socket(family, type, proto);
	host_err = errno;
	cr_assert_lt(hfd, 0, "the host accepts socket(%d, %d, %d)", family, type, proto);
	errno = 0;
	fd = zsock_hostsock_socket(family, type, proto);
	cr_assert_eq(fd, -1);
	cr_assert_eq(errno, host_err, "socket(%d, %d, %d): errno %d, the host's %d", family, type,
		     proto, errno, host_err);
}

HS_TEST(errors, .timeout = 60)
{
	struct sockaddr_storage ss;
	struct timeval tv;
	socklen_t len, elen;
	uint16_t port;
	char buf[8];
	int fd, lfd, lc, u, err;

	/* blocking connect to a closed port: ECONNREFUSED */
	fd = hs_socket(AF_INET, SOCK_STREAM);
	len = zi_addr("127.0.0.1", closed_port(AF_INET, "127.0.0.1"), &ss);
	EXPECT_ERR(zsock_connect(fd, (struct sockaddr *)&ss, len), ECONNREFUSED);
	zt_close(fd);
	fd = hs_socket(AF_INET6, SOCK_STREAM);
	len = zi_addr(ZI_LINUX_IP6, closed_port(AF_INET6, ZI_LINUX_IP6), &ss);
	EXPECT_ERR(zsock_connect(fd, (struct sockaddr *)&ss, len), ECONNREFUSED);
	zt_close(fd);
	/* non-blocking: EINPROGRESS, then POLLERR (or POLLOUT) and SO_ERROR, cleared on read */
	fd = zsock_hostsock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	len = zi_addr(ZI_LINUX_IP4, closed_port(AF_INET, ZI_LINUX_IP4), &ss);
	errno = 0;
	if (zsock_connect(fd, (struct sockaddr *)&ss, len) < 0 && errno == EINPROGRESS) {
		short rev = zt_poll1(fd, ZSOCK_POLLOUT, WAIT_MS);

		cr_assert(rev & (ZSOCK_POLLERR | ZSOCK_POLLOUT), "revents 0x%x", rev);
		elen = sizeof(err);
		cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
		cr_assert_eq(err, ECONNREFUSED, "SO_ERROR %d", err);
		cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
		cr_assert_eq(err, 0, "SO_ERROR not cleared: %d", err);
	} else {
		cr_assert_eq(errno, ECONNREFUSED, "non-blocking connect: %s", strerror(errno));
	}
	zt_close(fd);

	/* EADDRINUSE: a port a Linux listener holds */
	lfd = l_listener(AF_INET, ZI_LINUX_IP4, &port);
	fd = hs_socket(AF_INET, SOCK_STREAM);
	len = zi_addr(ZI_LINUX_IP4, port, &ss);
	EXPECT_ERR(zsock_bind(fd, (struct sockaddr *)&ss, len), EADDRINUSE);
	/* EINVAL: a short address */
	EXPECT_ERR(zsock_bind(fd, (struct sockaddr *)&ss, 3), EINVAL);
	/* ENOTCONN: recv and getpeername before connecting */
	EXPECT_ERR(zsock_recv(fd, buf, sizeof(buf), 0), ENOTCONN);
	len = sizeof(ss);
	EXPECT_ERR(zsock_getpeername(fd, (struct sockaddr *)&ss, &len), ENOTCONN);
	/* timeouts: EINVAL for a short value, EDOM for a bad one */
	tv = (struct timeval){ 1, 0 };
	EXPECT_ERR(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv) - 1), EINVAL);
	tv = (struct timeval){ 0, 1000000 };
	EXPECT_ERR(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
	tv = (struct timeval){ -1, 0 };
	EXPECT_ERR(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), EDOM);
	elen = sizeof(tv) - 1;
	EXPECT_ERR(zsock_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &elen), EINVAL);
	/* an option the host does not know: the host's ENOPROTOOPT */
	err = 1;
	EXPECT_ERR(zsock_setsockopt(fd, SOL_SOCKET, 4242, &err, sizeof(err)), ENOPROTOOPT);
	/* EISCONN: connect twice */
	len = zi_addr(ZI_LINUX_IP4, port, &ss);
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&ss, len), 0, "%s", strerror(errno));
	EXPECT_ERR(zsock_connect(fd, (struct sockaddr *)&ss, len), EISCONN);
	lc = l_accept(lfd);
	/* other options go to the host unchanged */
	err = 1;
	cr_assert_eq(zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &err, sizeof(err)), 0);
	err = 0;
	elen = sizeof(err);
	cr_assert_eq(zsock_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &err, &elen), 0);
	cr_assert_neq(err, 0);
	elen = sizeof(err);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_TYPE, &err, &elen), 0);
	cr_assert_eq(err, SOCK_STREAM);
	/* EPIPE after SHUT_WR, and no SIGPIPE */
	cr_assert_eq(zsock_shutdown(fd, ZSOCK_SHUT_WR), 0);
	EXPECT_ERR(zsock_send(fd, "x", 1, 0), EPIPE);
	close(lc);
	close(lfd);
	zt_close(fd);

	/* UDP: listen is EOPNOTSUPP, send without a peer EDESTADDRREQ */
	u = hs_socket(AF_INET, SOCK_DGRAM);
	EXPECT_ERR(zsock_listen(u, 1), EOPNOTSUPP);
	EXPECT_ERR(zsock_send(u, "x", 1, 0), EDESTADDRREQ);
	/* accept with an address and no length: EINVAL, checked before the host */
	EXPECT_ERR(zsock_accept(u, (struct sockaddr *)&ss, NULL), EINVAL);
	zt_close(u);
	/* a closed fd: EBADF */
	EXPECT_ERR(zsock_send(u, "x", 1, 0), EBADF);
	EXPECT_ERR(zsock_close(u), EBADF);

	/* socket(): the host's errno for what the host refuses */
	same_socket_errno(4242, SOCK_STREAM, 0);
	same_socket_errno(AF_INET, 4242, 0);
	same_socket_errno(AF_INET, SOCK_STREAM, IPPROTO_UDP);
	same_socket_errno(AF_INET6, SOCK_DGRAM, IPPROTO_TCP);
}

/* ---- fd exhaustion --------------------------------------------------------------------------------- */

HS_TEST(fd_exhaustion, .timeout = 120)
{
	static int fillers[CONFIG_ZVFS_OPEN_MAX];
	struct zsock_engine_stats st;
	struct pollfd pp;
	int nfill = 0, l, n, fd, c1, c2, i, fds_full;
	uint16_t port;
	char buf[4];
	ssize_t r;

	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, 0, "%u fds in use at the start", st.fds_in_use);
	l = hs_listener(AF_INET, "127.0.0.1", &port);
	/* only hostsock fds: the pool (CONFIG_ZVFS_OPEN_MAX objects) runs out
	 * together with the table, and the pool is asked first: ENOMEM */
	for (;;) {
		fd = zsock_hostsock_socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			break;
		cr_assert_lt(nfill, CONFIG_ZVFS_OPEN_MAX, "more sockets than the table holds");
		fillers[nfill++] = fd;
	}
	cr_assert_eq(errno, ENOMEM, "socket() with the pool full: %s", strerror(errno));
	cr_assert_eq(nfill, CONFIG_ZVFS_OPEN_MAX - 1);
	cr_assert_eq(zsock_hostsock_in_use(), (unsigned int)CONFIG_ZVFS_OPEN_MAX);
	fds_full = host_fds();
	cr_assert_eq(fds_full, base_fds + CONFIG_ZVFS_OPEN_MAX, "a failed socket() left a host fd");

	/* one hostsock fd becomes a native one: table full, pool not: ENFILE */
	zt_close(fillers[--nfill]);
	n = zsock_socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(n, 0, "native socket: %s", strerror(errno));
	EXPECT_ERR(zsock_hostsock_socket(AF_INET, SOCK_STREAM, 0), ENFILE);
	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, (uint32_t)CONFIG_ZVFS_OPEN_MAX);
	cr_assert_eq(st.offload_in_use, (uint32_t)CONFIG_ZVFS_OPEN_MAX - 1);
	cr_assert_eq(zsock_hostsock_in_use(), (unsigned int)CONFIG_ZVFS_OPEN_MAX - 1);
	cr_assert_eq(host_fds(), fds_full - 1, "a failed socket() left a host fd");

	/* accept with the table full: ENFILE, and the connection is closed */
	c1 = l_connect(AF_INET, "127.0.0.1", port);
	EXPECT_ERR(zsock_accept(l, NULL, NULL), ENFILE);
	pp = (struct pollfd){ .fd = c1, .events = POLLIN };
	cr_assert_eq(poll(&pp, 1, WAIT_MS), 1, "the refused connection stays open");
	r = recv(c1, buf, sizeof(buf), 0);
	cr_assert(r == 0 || (r < 0 && errno == ECONNRESET), "Linux client: %zd (%s)", r,
		  strerror(errno));
	close(c1);
	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, (uint32_t)CONFIG_ZVFS_OPEN_MAX);
	cr_assert_eq(st.offload_in_use, (uint32_t)CONFIG_ZVFS_OPEN_MAX - 1);
	cr_assert_eq(zsock_hostsock_in_use(), (unsigned int)CONFIG_ZVFS_OPEN_MAX - 1);
	cr_assert_eq(host_fds(), fds_full - 1, "a failed accept left a host fd");

	/* a free number again: the next connection is accepted and works */
	zt_close(fillers[--nfill]);
	c2 = l_connect(AF_INET, "127.0.0.1", port);
	fd = zsock_accept(l, NULL, NULL);
	cr_assert_geq(fd, 0, "accept after a close: %s", strerror(errno));
	cr_assert_eq(zsock_send(fd, "ok", 2, 0), 2);
	cr_assert_eq(recv(c2, buf, 2, MSG_WAITALL), 2);
	cr_assert_eq(memcmp(buf, "ok", 2), 0);
	close(c2);
	zt_close(fd);

	for (i = 0; i < nfill; i++)
		zt_close(fillers[i]);
	zt_close(n);
	zt_close(l);
}
