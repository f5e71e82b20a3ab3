/*
 * TCP connection states over loopback: connecting (blocking, non-blocking,
 * refused), the not-connected errors, orderly close, half close in each
 * direction, reset by the peer, accept and the address calls, many
 * connections at once, and running out of fds (CONFORMANCE.md "TCP" and
 * "Descriptors").
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>

#include "zt.h"

/* A port with nothing on it: bound once, then closed. */
static uint16_t closed_port(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, 0, &ss);
	int fd = zt_socket(family, SOCK_STREAM);
	uint16_t port;

	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	port = zt_local_port(fd);
	zt_close(fd);
	return port;
}

/* SIGPIPE must never be raised: count it instead of dying of it. */
static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void catch_sigpipe(void)
{
#if CONFIG_ZSOCK_HOSTED
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGPIPE, &sa, NULL), 0);
#else
	/* picolibc has no sigaction(); its signal() catches a raise() */
	cr_assert_neq(signal(SIGPIPE, on_sigpipe), SIG_ERR);
#endif
	sigpipes = 0;
}

#if CONFIG_ZSOCK_HOSTED /* the reader threads: none on bare metal */
/* A blocking call in another thread. */
struct blocked_recv {
	int fd;
	atomic_bool started;  /* set just before the call */
	ssize_t rc;
	int err;
	int64_t returned_at;
};

/* Wait until the thread is about to call, then give it time to block. */
static void wait_started(struct blocked_recv *b)
{
	while (!atomic_load(&b->started))
		zt_sleep_ms(1);
	zt_sleep_ms(100);
}

static void *recv_main(void *p)
{
	struct blocked_recv *b = p;
	char c[16];

	atomic_store(&b->started, true);
	b->rc = zsock_recv(b->fd, c, sizeof(c), 0);
	b->err = errno;
	b->returned_at = zt_now_ms();
	return NULL;
}
#endif

/* ---- connecting ------------------------------------------------------------------ */

static void nonblocking_connect(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l = zt_listener(family, 1, &port), c, s, err;
	socklen_t elen = sizeof(err);
	short rev;

	c = zt_socket(family, SOCK_STREAM);
	cr_assert_eq(zsock_fcntl(c, F_SETFL, O_NONBLOCK), 0);
	len = zt_loopback(family, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1,
		     "non-blocking connect completed at once");
	cr_assert_eq(errno, EINPROGRESS, "non-blocking connect: errno %d", errno);
	rev = zt_poll1(c, ZSOCK_POLLOUT, 5000);
	cr_assert_eq(rev, ZSOCK_POLLOUT, "completion: revents 0x%x, want POLLOUT", rev);
	cr_assert_eq(zsock_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	cr_assert_eq(err, 0, "SO_ERROR %d after a successful connect", err);
	s = zt_accept(l);
	/* the connection works */
	cr_assert_eq(zsock_send(c, "x", 1, 0), 1);
	cr_assert_eq(zt_poll1(s, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(tcp_states, nonblocking_connect_ipv4, .timeout = 30)
{
	nonblocking_connect(AF_INET);
}

ZT_TEST(tcp_states, nonblocking_connect_ipv6, .timeout = 30)
{
	nonblocking_connect(AF_INET6);
}

ZT_TEST(tcp_states, connect_twice_is_eisconn, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port), c, s;

	c = zt_connect(AF_INET, port);
	s = zt_accept(l);
	len = zt_loopback(AF_INET, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EISCONN, "second connect: errno %d", errno);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

static void refused_blocking(int family)
{
	struct sockaddr_storage ss;
	uint16_t port = closed_port(family);
	socklen_t len = zt_loopback(family, port, &ss);
	int c = zt_socket(family, SOCK_STREAM);

	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1, "connect to a closed port");
	cr_assert_eq(errno, ECONNREFUSED, "connect to a closed port: errno %d", errno);
	zt_close(c);
}

ZT_TEST(tcp_states, refused_blocking_ipv4, .timeout = 30)
{
	refused_blocking(AF_INET);
}

ZT_TEST(tcp_states, refused_blocking_ipv6, .timeout = 30)
{
	refused_blocking(AF_INET6);
}

static void refused_nonblocking(int family)
{
	struct sockaddr_storage ss;
	uint16_t port = closed_port(family);
	socklen_t len = zt_loopback(family, port, &ss);
	int c = zt_socket(family, SOCK_STREAM), err = -1;
	socklen_t elen = sizeof(err);
	short rev;

	cr_assert_eq(zsock_fcntl(c, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EINPROGRESS, "errno %d", errno);
	rev = zt_poll1(c, ZSOCK_POLLOUT, 5000);
	cr_assert(rev & ZSOCK_POLLERR, "refused connect: revents 0x%x without POLLERR", rev);
	cr_assert_eq(zsock_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	cr_assert_eq(elen, sizeof(int));
	cr_assert_eq(err, ECONNREFUSED, "SO_ERROR %d, want ECONNREFUSED", err);
	err = -1;
	cr_assert_eq(zsock_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	cr_assert_eq(err, 0, "SO_ERROR not cleared by reading it: %d", err);
	zt_close(c);
}

ZT_TEST(tcp_states, refused_nonblocking_ipv4, .timeout = 30)
{
	refused_nonblocking(AF_INET);
}

ZT_TEST(tcp_states, refused_nonblocking_ipv6, .timeout = 30)
{
	refused_nonblocking(AF_INET6);
}

ZT_TEST(tcp_states, connect_again_after_refused, .timeout = 30)
{
	struct sockaddr_storage ss;
	uint16_t port = closed_port(AF_INET), lport;
	socklen_t len = zt_loopback(AF_INET, port, &ss);
	int c = zt_socket(AF_INET, SOCK_STREAM), l, s;

	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, ECONNREFUSED, "errno %d", errno);
	/* the same socket may try again, and this time someone listens */
	l = zt_listener(AF_INET, 1, &lport);
	len = zt_loopback(AF_INET, lport, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), 0,
		     "second connect: errno %d", errno);
	s = zt_accept(l);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

/* ---- not connected ------------------------------------------------------------------ */

ZT_TEST(tcp_states, recv_not_connected)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	uint16_t port;
	int fresh = zt_socket(AF_INET, SOCK_STREAM);
	int bound = zt_socket(AF_INET6, SOCK_STREAM);
	int l = zt_listener(AF_INET, 1, &port);
	char c;

	cr_assert_eq(zsock_recv(fresh, &c, 1, 0), -1);
	cr_assert_eq(errno, ENOTCONN, "recv on a fresh socket: errno %d", errno);
	len = zt_loopback(AF_INET6, 0, &ss);
	cr_assert_eq(zsock_bind(bound, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(zsock_recv(bound, &c, 1, 0), -1);
	cr_assert_eq(errno, ENOTCONN, "recv on a bound socket: errno %d", errno);
	cr_assert_eq(zsock_recv(l, &c, 1, 0), -1);
	cr_assert_eq(errno, ENOTCONN, "recv on a listening socket: errno %d", errno);
	cr_assert_eq(zsock_recv(l, &c, 1, ZSOCK_MSG_DONTWAIT), -1);
	cr_assert_eq(errno, ENOTCONN, "recv(MSG_DONTWAIT) on a listener: errno %d", errno);
	zt_close(fresh);
	zt_close(bound);
	zt_close(l);
}

ZT_TEST(tcp_states, getpeername_not_connected)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t port;
	int fresh = zt_socket(AF_INET, SOCK_STREAM);
	int l = zt_listener(AF_INET6, 1, &port);

	cr_assert_eq(zsock_getpeername(fresh, (struct sockaddr *)&ss, &len), -1);
	cr_assert_eq(errno, ENOTCONN, "getpeername on a fresh socket: errno %d", errno);
	len = sizeof(ss);
	cr_assert_eq(zsock_getpeername(l, (struct sockaddr *)&ss, &len), -1);
	cr_assert_eq(errno, ENOTCONN, "getpeername on a listener: errno %d", errno);
	zt_close(fresh);
	zt_close(l);
}

ZT_TEST(tcp_states, shutdown_not_connected)
{
	int fresh = zt_socket(AF_INET, SOCK_STREAM);

	cr_assert_eq(zsock_shutdown(fresh, ZSOCK_SHUT_RDWR), -1);
	cr_assert_eq(errno, ENOTCONN, "shutdown on a fresh socket: errno %d", errno);
	zt_close(fresh);
}

/* ---- orderly close -------------------------------------------------------------------- */

/* bytes before the FIN: two buffers of them on the stack, which is 8 KiB on the board */
#if CONFIG_ZSOCK_HOSTED
#define EOF_DATA_LEN 10000
#else
#define EOF_DATA_LEN 2000
#endif

ZT_TEST(tcp_states, orderly_close_eof_after_data, .timeout = 30)
{
	uint8_t out[EOF_DATA_LEN], in[EOF_DATA_LEN];
	short rev;
	char c;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_pattern(1, 0, out, sizeof(out));
	zt_send_all(a, out, sizeof(out));
	zt_close(a);

	rev = zt_poll1(b, ZSOCK_POLLIN, 5000);
	cr_assert(rev & ZSOCK_POLLIN, "revents 0x%x", rev);
	zt_recv_all(b, in, sizeof(in));
	cr_assert_arr_eq(in, out, sizeof(out), "data before FIN lost or changed");
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 0, "recv at EOF: errno %d", errno);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 0, "second recv at EOF: errno %d", errno);
	/* EOF stays readable */
	rev = zt_poll1(b, ZSOCK_POLLIN, 0);
	cr_assert(rev & ZSOCK_POLLIN, "EOF not readable: revents 0x%x", rev);
	cr_assert_not(rev & ZSOCK_POLLERR, "EOF reported as an error: revents 0x%x", rev);
	/* both directions shut: POLLHUP, asked for or not */
	cr_assert_eq(zsock_shutdown(b, ZSOCK_SHUT_WR), 0, "shutdown: errno %d", errno);
	rev = zt_poll1(b, 0, 1000);
	cr_assert(rev & ZSOCK_POLLHUP, "both directions shut: revents 0x%x", rev);
	zt_close(b);
}

#if CONFIG_ZSOCK_HOSTED /* a reader thread: none on bare metal */
ZT_TEST(tcp_states, eof_wakes_blocked_reader, .timeout = 30)
{
	struct blocked_recv r;
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET6, &a, &b);
	r = (struct blocked_recv){ .fd = b };
	t = zt_spawn(recv_main, &r);
	wait_started(&r);
	zt_close(a);
	cr_assert(zt_join(t, 5000), "a reader blocked at FIN never woke");
	cr_assert_eq(r.rc, 0, "blocked recv at FIN: %zd (errno %d)", r.rc, r.err);
	zt_close(b);
}
#endif

/* ---- half close ---------------------------------------------------------------------- */

ZT_TEST(tcp_states, shutdown_wr, .timeout = 30)
{
	char c, buf[8];
	ssize_t n;
	int a, b;

	catch_sigpipe();
	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, "ab", 2, 0), 2);
	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0, "shutdown: errno %d", errno);
	/* the peer gets the data, then EOF */
	zt_recv_all(b, buf, 2);
	cr_assert_eq(memcmp(buf, "ab", 2), 0);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 0, "peer after SHUT_WR: errno %d", errno);
	/* later sends fail with EPIPE and raise no signal */
	n = zsock_send(a, "x", 1, 0);
	cr_assert_eq(n, -1, "send after SHUT_WR returned %zd", n);
	cr_assert_eq(errno, EPIPE, "send after SHUT_WR: errno %d", errno);
	n = zsock_send(a, "x", 1, ZSOCK_MSG_DONTWAIT);
	cr_assert_eq(n, -1);
	cr_assert_eq(errno, EPIPE, "second send after SHUT_WR: errno %d", errno);
	cr_assert_eq(sigpipes, 0, "SIGPIPE raised");
	/* the other direction still works */
	cr_assert_eq(zsock_send(b, "back", 4, 0), 4, "peer send: errno %d", errno);
	zt_recv_all(a, buf, 4);
	cr_assert_eq(memcmp(buf, "back", 4), 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(tcp_states, shutdown_rd_returns_eof, .timeout = 30)
{
	char c;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_shutdown(b, ZSOCK_SHUT_RD), 0, "shutdown: errno %d", errno);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 0, "recv after SHUT_RD: errno %d", errno);
	cr_assert(zt_poll1(b, ZSOCK_POLLIN, 0) & ZSOCK_POLLIN, "SHUT_RD not readable");
	/* writing still works */
	cr_assert_eq(zsock_send(b, "z", 1, 0), 1, "send after SHUT_RD: errno %d", errno);
	cr_assert_eq(zsock_recv(a, &c, 1, 0), 1);
	cr_assert_eq(c, 'z');
	zt_close(a);
	zt_close(b);
}

#if CONFIG_ZSOCK_HOSTED /* a reader thread: none on bare metal */
ZT_TEST(tcp_states, shutdown_rd_wakes_blocked_reader, .timeout = 30)
{
	struct blocked_recv r;
	pthread_t t;
	int a, b;

	zt_tcp_pair(AF_INET6, &a, &b);
	r = (struct blocked_recv){ .fd = b };
	t = zt_spawn(recv_main, &r);
	wait_started(&r);
	cr_assert_eq(zsock_shutdown(b, ZSOCK_SHUT_RD), 0, "shutdown: errno %d", errno);
	cr_assert(zt_join(t, 5000), "SHUT_RD did not wake the blocked reader");
	cr_assert_eq(r.rc, 0, "blocked recv after SHUT_RD: %zd (errno %d)", r.rc, r.err);
	zt_close(a);
	zt_close(b);
}
#endif

/* ---- reset by the peer ------------------------------------------------------------------ */

/* a sends, b closes with the bytes unread: b's stack answers with RST. */
static void reset_pair(int family, int *a)
{
	int b;
	short rev;

	zt_tcp_pair(family, a, &b);
	cr_assert_eq(zsock_send(*a, "unread", 6, 0), 6);
	cr_assert(zt_poll1(b, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, "data never arrived");
	zt_close(b);
	rev = zt_poll1(*a, 0, 5000);
	cr_assert(rev & (ZSOCK_POLLERR | ZSOCK_POLLHUP),
		  "reset not reported without being asked: revents 0x%x", rev);
}

ZT_TEST(tcp_states, reset_then_recv, .timeout = 30)
{
	char c;
	int a;

	reset_pair(AF_INET, &a);
	cr_assert_eq(zsock_recv(a, &c, 1, 0), -1, "recv after a reset did not fail");
	cr_assert_eq(errno, ECONNRESET, "recv after a reset: errno %d", errno);
	zt_close(a);
}

ZT_TEST(tcp_states, reset_then_send, .timeout = 30)
{
	static uint8_t buf[1000];
	int64_t end;
	ssize_t n = 0;
	int a, err = 0;

	catch_sigpipe();
	reset_pair(AF_INET6, &a);
	end = zt_now_ms() + 5000;
	while (zt_now_ms() < end) {
		n = zsock_send(a, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		err = errno;
		if (n < 0 && err != EAGAIN)
			break;
		cr_assert_neq(n, 0, "send returned 0");
	}
	cr_assert_eq(n, -1, "send kept working after a reset");
	cr_assert(err == ECONNRESET || err == EPIPE, "send after a reset: errno %d", err);
	cr_assert_eq(sigpipes, 0, "SIGPIPE raised");
	zt_close(a);
}

ZT_TEST(tcp_states, reset_in_flight_send_without_poll, .timeout = 30)
{
	static uint8_t buf[1000];
	ssize_t n = 0;
	int a, b, i, err = 0;

	catch_sigpipe();
	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, "unread", 6, 0), 6);
	cr_assert(zt_poll1(b, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN);
	zt_close(b);
	/* no poll: keep sending until the reset shows; each call blocks at
	 * most until room or the error */
	for (i = 0; i < 100000; i++) {
		n = zsock_send(a, buf, sizeof(buf), 0);
		err = errno;
		if (n < 0)
			break;
		cr_assert_gt(n, 0, "send returned 0");
	}
	cr_assert_eq(n, -1, "send kept working after a reset");
	cr_assert(err == ECONNRESET || err == EPIPE, "send after a reset: errno %d", err);
	cr_assert_eq(sigpipes, 0, "SIGPIPE raised");
	zt_close(a);
}

/* ---- accept and addresses ------------------------------------------------------------- */

static void accept_fills_address(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l = zt_listener(family, 1, &port), c, s;
	socklen_t full = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	c = zt_connect(family, port);
	memset(&ss, 0xa5, sizeof(ss));
	len = sizeof(ss);
	s = zsock_accept(l, (struct sockaddr *)&ss, &len);
	cr_assert_geq(s, 0, "accept: errno %d", errno);
	cr_assert_eq(len, full, "accept set addrlen %u, want %u", (unsigned int)len,
		     (unsigned int)full);
	cr_assert(zt_is_loopback(&ss, family), "accept: peer is not the loopback address");
	cr_assert_eq(zt_port_of(&ss), zt_local_port(c), "accept: peer port %u, client has %u",
		     zt_port_of(&ss), zt_local_port(c));
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(tcp_states, accept_fills_address_ipv4, .timeout = 30)
{
	accept_fills_address(AF_INET);
}

ZT_TEST(tcp_states, accept_fills_address_ipv6, .timeout = 30)
{
	accept_fills_address(AF_INET6);
}

ZT_TEST(tcp_states, accept_truncates_address, .timeout = 30)
{
	unsigned char buf[sizeof(struct sockaddr_in6) + 8];
	socklen_t len = 4;
	uint16_t port;
	int l = zt_listener(AF_INET6, 1, &port), c, s;
	size_t i;

	c = zt_connect(AF_INET6, port);
	memset(buf, 0xa5, sizeof(buf));
	s = zsock_accept(l, (struct sockaddr *)buf, &len);
	cr_assert_geq(s, 0, "accept: errno %d", errno);
	cr_assert_eq(len, sizeof(struct sockaddr_in6), "addrlen %u: not the full length",
		     (unsigned int)len);
	for (i = 4; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5, "accept wrote byte %zu of a 4-byte buffer", i);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(tcp_states, accept_on_non_listening, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	int fresh = zt_socket(AF_INET, SOCK_STREAM);
	int bound = zt_socket(AF_INET, SOCK_STREAM);
	int a, b;

	cr_assert_eq(zsock_accept(fresh, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL, "accept on a fresh socket: errno %d", errno);
	cr_assert_eq(zsock_bind(bound, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(zsock_accept(bound, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL, "accept on a bound socket: errno %d", errno);
	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_accept(a, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL, "accept on a connected socket: errno %d", errno);
	zt_close(fresh);
	zt_close(bound);
	zt_close(a);
	zt_close(b);
}

static void implicit_bind(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t port;
	int l = zt_listener(family, 1, &port), c, s;

	/* before connect: the any-address, port 0 */
	c = zt_socket(family, SOCK_STREAM);
	cr_assert_eq(zsock_getsockname(c, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(ss.ss_family, family);
	cr_assert_eq(zt_port_of(&ss), 0, "fresh socket has port %u", zt_port_of(&ss));

	len = zt_loopback(family, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), 0, "connect: errno %d", errno);
	s = zt_accept(l);

	len = sizeof(ss);
	cr_assert_eq(zsock_getsockname(c, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(len, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	cr_assert(zt_is_loopback(&ss, family), "implicit bind: local address not loopback");
	cr_assert_neq(zt_port_of(&ss), 0, "implicit bind left port 0");
	port = zt_port_of(&ss);

	/* the server sees the same port as the client's own view */
	len = sizeof(ss);
	cr_assert_eq(zsock_getpeername(s, (struct sockaddr *)&ss, &len), 0, "errno %d", errno);
	cr_assert_eq(zt_port_of(&ss), port, "server sees peer port %u, client has %u",
		     zt_port_of(&ss), port);
	cr_assert(zt_is_loopback(&ss, family));
	/* and the client's peer is the listener's port */
	len = sizeof(ss);
	cr_assert_eq(zsock_getpeername(c, (struct sockaddr *)&ss, &len), 0, "errno %d", errno);
	cr_assert_eq(zt_port_of(&ss), zt_local_port(s));
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(tcp_states, implicit_bind_ipv4, .timeout = 30)
{
	implicit_bind(AF_INET);
}

ZT_TEST(tcp_states, implicit_bind_ipv6, .timeout = 30)
{
	implicit_bind(AF_INET6);
}

ZT_TEST(tcp_states, sendto_connected_ignores_address, .timeout = 30)
{
	struct sockaddr_storage elsewhere;
	socklen_t len = zt_loopback(AF_INET, 9, &elsewhere);
	char buf[5];
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_sendto(a, "hello", 5, 0, (struct sockaddr *)&elsewhere, len), 5,
		     "sendto on a connected stream: errno %d", errno);
	zt_recv_all(b, buf, 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	zt_close(a);
	zt_close(b);
}

/* ---- many connections ------------------------------------------------------------------ */

/*
 * 100 connections at once need 2 * 100 + 1 fds and socket objects and
 * 2 * 100 TCP PCBs; the test uses as many as the build's limits allow.
 */
#define WANT_CONNS 100
#define MIN3(a, b, c) ((a) < (b) ? ((a) < (c) ? (a) : (c)) : ((b) < (c) ? (b) : (c)))
#define ROOM_CONNS MIN3((CONFIG_ZVFS_OPEN_MAX - 1) / 2, (CONFIG_NET_MAX_CONTEXTS - 1) / 2, \
			CONFIG_NET_MAX_CONN / 2)
#define N_CONNS (ROOM_CONNS < WANT_CONNS ? ROOM_CONNS : WANT_CONNS)

ZT_TEST(tcp_states, many_connections_at_once, .timeout = 60)
{
	static int c[N_CONNS], s[N_CONNS];
	struct zsock_engine_stats st;
	uint16_t port;
	int l, i;

	if (N_CONNS < WANT_CONNS)
		cr_log_warn("the build allows %d connections, not %d (fds %d, contexts %d, "
			    "TCP PCBs %d)", N_CONNS, WANT_CONNS, CONFIG_ZVFS_OPEN_MAX,
			    CONFIG_NET_MAX_CONTEXTS, CONFIG_NET_MAX_CONN);
	l = zt_listener(AF_INET, 16, &port);
	for (i = 0; i < N_CONNS; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		c[i] = zt_connect(AF_INET, port);
		s[i] = zsock_accept(l, (struct sockaddr *)&ss, &len);
		cr_assert_geq(s[i], 0, "accept #%d: errno %d", i, errno);
		cr_assert_eq(zt_port_of(&ss), zt_local_port(c[i]), "accept #%d: wrong peer", i);
	}
	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, 2 * N_CONNS + 1);
	cr_assert_eq(st.sockets_in_use, 2 * N_CONNS + 1);

	/* every one works: the client sends its number, the server echoes it */
	for (i = 0; i < N_CONNS; i++)
		cr_assert_eq(zsock_send(c[i], &i, sizeof(i), 0), (ssize_t)sizeof(i),
			     "send #%d: errno %d", i, errno);
	for (i = 0; i < N_CONNS; i++) {
		int v = -1;

		zt_recv_all(s[i], &v, sizeof(v));
		cr_assert_eq(v, i, "server #%d got %d", i, v);
		cr_assert_eq(zsock_send(s[i], &v, sizeof(v), 0), (ssize_t)sizeof(v));
	}
	for (i = 0; i < N_CONNS; i++) {
		int v = -1;

		zt_recv_all(c[i], &v, sizeof(v));
		cr_assert_eq(v, i, "client #%d got echo %d", i, v);
	}
	for (i = 0; i < N_CONNS; i++) {
		zt_close(c[i]);
		zt_close(s[i]);
	}
	zt_close(l);
}

/* ---- fd exhaustion ------------------------------------------------------------------------ */

/* needs a socket object per fd to reach the table's end (the board: 8 sockets, 16 fds) */
#if CONFIG_NET_MAX_CONTEXTS >= CONFIG_ZVFS_OPEN_MAX
ZT_TEST(tcp_states, fd_exhaustion_then_recovery, .timeout = 30)
{
	static int fds[CONFIG_ZVFS_OPEN_MAX + 1];
	int n = 0, fd, i, err;

	for (;;) {
		fd = zsock_socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			break;
		cr_assert_lt(n, CONFIG_ZVFS_OPEN_MAX, "more sockets than fd slots");
		cr_assert_eq(fd, n, "fd %d given while %d is the lowest free", fd, n);
		fds[n++] = fd;
	}
	err = errno;
	cr_assert(err == ENFILE || err == EMFILE, "out of fds: errno %d (%s)", err, strerror(err));
	cr_assert_eq(n, CONFIG_ZVFS_OPEN_MAX, "ran out after %d sockets, the table has %d", n,
		     CONFIG_ZVFS_OPEN_MAX);
	/* a failed TCP socket leaks nothing either */
	cr_assert_eq(zsock_socket(AF_INET6, SOCK_STREAM, 0), -1);
	cr_assert(errno == ENFILE || errno == EMFILE, "errno %d", errno);

	/* free one in the middle: the next socket gets exactly that number */
	zt_close(fds[n / 2]);
	fd = zsock_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(fd, n / 2, "after a close: socket() = %d (errno %d), want %d", fd, errno,
		     n / 2);
	fds[n / 2] = fd;
	for (i = 0; i < n; i++)
		zt_close(fds[i]);
	/* and with everything closed, a full connection works again */
	{
		int a, b;

		zt_tcp_pair(AF_INET, &a, &b);
		zt_close(a);
		zt_close(b);
	}
}
#endif
