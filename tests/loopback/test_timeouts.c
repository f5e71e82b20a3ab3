/*
 * Waiting and not waiting: SO_RCVTIMEO and SO_SNDTIMEO (never earlier than
 * the timeout), MSG_DONTWAIT and O_NONBLOCK (at once), fcntl, and Zephyr's
 * rule that closing an fd wakes every thread blocked on it with EINTR
 * (CONFORMANCE.md "Descriptors" and "TCP").
 *
 * Timing is asserted as a lower bound only. Where "at once" is the
 * property, the socket also carries a long SO_RCVTIMEO / SO_SNDTIMEO, so a
 * call that wrongly blocks is told apart by a generous upper bound.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "zt.h"

#define T_MS 300          /* the timeout under test */
#define LONG_MS 3000      /* a timeout that "at once" must not wait for */
#define AT_ONCE_MS 1000   /* generous bound for "at once" */
/* bytes per send when filling the path: less on the board (64 KiB of RAM) */
#if CONFIG_ZSOCK_HOSTED
#define FILL_BUF 65536
#else
#define FILL_BUF 2048
#endif

static void set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)), 0,
		     "setsockopt(%d): errno %d", opt, errno);
}

/* ---- SO_RCVTIMEO ------------------------------------------------------------------ */

static void rcvtimeo(int fd)
{
	char c;
	int64_t t0, dt;
	ssize_t n;

	set_timeo(fd, SO_RCVTIMEO, T_MS);
	t0 = zt_now_ms();
	n = zsock_recv(fd, &c, 1, 0);
	dt = zt_now_ms() - t0;
	cr_assert_eq(n, -1, "recv with nothing queued returned %zd", n);
	cr_assert_eq(errno, EAGAIN, "SO_RCVTIMEO expiry: errno %d", errno);
	cr_assert_geq(dt, T_MS, "recv gave up after %lld ms, SO_RCVTIMEO is %d", (long long)dt,
		      T_MS);
}

ZT_TEST(timeouts, rcvtimeo_tcp, .timeout = 30)
{
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	rcvtimeo(b);
	/* still usable afterwards */
	cr_assert_eq(zsock_send(a, "k", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(timeouts, rcvtimeo_udp, .timeout = 30)
{
	uint16_t port;
	int u = zt_udp_bound(AF_INET6, &port);

	rcvtimeo(u);
	zt_close(u);
}

ZT_TEST(timeouts, rcvtimeo_accept, .timeout = 30)
{
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port);
	int64_t t0, dt;
	int fd;

	set_timeo(l, SO_RCVTIMEO, T_MS);
	t0 = zt_now_ms();
	fd = zsock_accept(l, NULL, NULL);
	dt = zt_now_ms() - t0;
	cr_assert_eq(fd, -1, "accept with no connection returned %d", fd);
	cr_assert_eq(errno, EAGAIN, "accept at SO_RCVTIMEO: errno %d", errno);
	cr_assert_geq(dt, T_MS, "accept gave up after %lld ms", (long long)dt);
	zt_close(l);
}

/* ---- SO_SNDTIMEO ------------------------------------------------------------------ */

ZT_TEST(timeouts, sndtimeo_on_full_send_path, .timeout = 60)
{
#if CONFIG_ZSOCK_HOSTED
	const size_t big = 16u * 1024 * 1024;
	uint8_t *buf = calloc(1, big);
#else
	/* the board's path takes about 10 KiB, more than its free RAM: send from flash */
	static const uint8_t flash[16384] = { 1 };
	const size_t big = sizeof(flash);
	const uint8_t *buf = flash;
#endif
	int64_t t0, dt;
	ssize_t n;
	int a, b;

	cr_assert_not_null(buf);
	zt_tcp_pair(AF_INET, &a, &b);
	set_timeo(a, SO_SNDTIMEO, T_MS);
	/* nobody reads b: a blocking send takes what fits, then times out */
	t0 = zt_now_ms();
	n = zsock_send(a, buf, big, 0);
	dt = zt_now_ms() - t0;
	cr_assert_gt(n, 0, "first send: %zd (errno %d): a short count was due", n, errno);
	cr_assert_lt((size_t)n, big, "16 MiB taken with no reader");
	cr_assert_geq(dt, T_MS, "short send returned after %lld ms, before SO_SNDTIMEO",
		      (long long)dt);
	/* now the path is full: nothing is taken, EAGAIN after the timeout */
	t0 = zt_now_ms();
	n = zsock_send(a, buf, big, 0);
	dt = zt_now_ms() - t0;
	cr_assert_eq(n, -1, "send on a full path returned %zd", n);
	cr_assert_eq(errno, EAGAIN, "SO_SNDTIMEO expiry: errno %d", errno);
	cr_assert_geq(dt, T_MS, "send gave up after %lld ms", (long long)dt);
#if CONFIG_ZSOCK_HOSTED
	free(buf);
#endif
	zt_close(a);
	zt_close(b);
}

/* ---- MSG_DONTWAIT and O_NONBLOCK ---------------------------------------------------- */

static void recv_at_once(int fd, int flags)
{
	char c;
	int64_t t0, dt;
	ssize_t n;

	t0 = zt_now_ms();
	n = zsock_recv(fd, &c, 1, flags);
	dt = zt_now_ms() - t0;
	cr_assert_eq(n, -1, "recv returned %zd", n);
	cr_assert_eq(errno, EAGAIN, "errno %d", errno);
	cr_assert_lt(dt, AT_ONCE_MS, "a non-blocking recv took %lld ms", (long long)dt);
}

ZT_TEST(timeouts, dontwait_recv_tcp, .timeout = 30)
{
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	set_timeo(b, SO_RCVTIMEO, LONG_MS);
	recv_at_once(b, ZSOCK_MSG_DONTWAIT);
	recv_at_once(b, ZSOCK_MSG_DONTWAIT | ZSOCK_MSG_WAITALL);
	recv_at_once(b, ZSOCK_MSG_DONTWAIT | ZSOCK_MSG_PEEK);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(timeouts, dontwait_recv_udp, .timeout = 30)
{
	uint16_t port;
	int u = zt_udp_bound(AF_INET, &port);

	set_timeo(u, SO_RCVTIMEO, LONG_MS);
	recv_at_once(u, ZSOCK_MSG_DONTWAIT);
	zt_close(u);
}

ZT_TEST(timeouts, dontwait_send_on_full_path, .timeout = 60)
{
	static uint8_t buf[FILL_BUF];
	int64_t t0, dt = 0;
	ssize_t n = 0;
	int a, b, i;

	zt_tcp_pair(AF_INET6, &a, &b);
	set_timeo(a, SO_SNDTIMEO, LONG_MS);
	for (i = 0; i < 10000; i++) {
		t0 = zt_now_ms();
		n = zsock_send(a, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		dt = zt_now_ms() - t0;
		if (n < 0)
			break;
		cr_assert_gt(n, 0, "send returned 0");
	}
	cr_assert_eq(n, -1, "the send path never filled");
	cr_assert_eq(errno, EAGAIN, "MSG_DONTWAIT on a full path: errno %d", errno);
	cr_assert_lt(dt, AT_ONCE_MS, "MSG_DONTWAIT send took %lld ms", (long long)dt);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(timeouts, fcntl_nonblock, .timeout = 30)
{
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port), a, b, fl;
	int64_t t0, dt;

	zt_tcp_pair(AF_INET, &a, &b);
	fl = zsock_fcntl(b, F_GETFL, 0);
	cr_assert_geq(fl, 0, "F_GETFL: errno %d", errno);
	cr_assert_eq(fl & O_ACCMODE, O_RDWR, "F_GETFL: access mode 0x%x", fl & O_ACCMODE);
	cr_assert_eq(fl & O_NONBLOCK, 0, "a new socket is non-blocking");

	cr_assert_eq(zsock_fcntl(b, F_SETFL, fl | O_NONBLOCK), 0, "F_SETFL: errno %d", errno);
	fl = zsock_fcntl(b, F_GETFL, 0);
	cr_assert(fl & O_NONBLOCK, "F_GETFL after F_SETFL O_NONBLOCK: 0x%x", fl);
	cr_assert_eq(fl & O_ACCMODE, O_RDWR);
	set_timeo(b, SO_RCVTIMEO, LONG_MS);
	recv_at_once(b, 0);

	/* a non-blocking listener */
	cr_assert_eq(zsock_fcntl(l, F_SETFL, O_NONBLOCK), 0);
	set_timeo(l, SO_RCVTIMEO, LONG_MS);
	t0 = zt_now_ms();
	cr_assert_eq(zsock_accept(l, NULL, NULL), -1);
	dt = zt_now_ms() - t0;
	cr_assert_eq(errno, EAGAIN, "non-blocking accept: errno %d", errno);
	cr_assert_lt(dt, AT_ONCE_MS, "non-blocking accept took %lld ms", (long long)dt);

	/* clearing the flag makes the socket block again */
	cr_assert_eq(zsock_fcntl(b, F_SETFL, 0), 0);
	fl = zsock_fcntl(b, F_GETFL, 0);
	cr_assert_eq(fl & O_NONBLOCK, 0, "O_NONBLOCK not cleared: 0x%x", fl);
	rcvtimeo(b);
	zt_close(a);
	zt_close(b);
	zt_close(l);
}

#ifdef O_ASYNC
#define OTHER_FL (O_APPEND | O_ASYNC)
#else
#define OTHER_FL O_APPEND   /* picolibc has no O_ASYNC */
#endif

ZT_TEST(timeouts, fcntl_setfl_ignores_other_bits, .timeout = 30)
{
	int u = zt_socket(AF_INET, SOCK_DGRAM), fl;

	cr_assert_eq(zsock_fcntl(u, F_SETFL, O_NONBLOCK | OTHER_FL), 0,
		     "F_SETFL with other bits: errno %d", errno);
	fl = zsock_fcntl(u, F_GETFL, 0);
	cr_assert(fl & O_NONBLOCK);
	cr_assert_eq(fl & O_ACCMODE, O_RDWR);
	zt_close(u);
}

ZT_TEST(timeouts, sock_nonblock_at_creation, .timeout = 30)
{
	int u = zsock_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	uint16_t port;

	cr_assert_geq(u, 0, "socket(SOCK_NONBLOCK): errno %d", errno);
	cr_assert(zsock_fcntl(u, F_GETFL, 0) & O_NONBLOCK, "SOCK_NONBLOCK not applied");
	zt_close(u);
	u = zt_udp_bound(AF_INET, &port);
	zt_close(u);
}

/* ---- close from another thread ---------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* close from another thread: bare metal has one context */
enum op { OP_RECV, OP_ACCEPT, OP_POLL, OP_CONNECT, OP_SEND };

struct blocked {
	enum op op;
	int fd;
	struct sockaddr_storage to;   /* OP_CONNECT */
	socklen_t tolen;
	atomic_bool started;          /* set just before the call */
	int rc;
	int err;
	int64_t returned_at;
	short revents;
};

static void *blocked_main(void *p)
{
	struct blocked *b = p;
	static uint8_t buf[65536];
	struct zsock_pollfd pfd;

	atomic_store(&b->started, true);
	switch (b->op) {
	case OP_RECV:
		b->rc = (int)zsock_recv(b->fd, buf, sizeof(buf), 0);
		break;
	case OP_ACCEPT:
		b->rc = zsock_accept(b->fd, NULL, NULL);
		break;
	case OP_POLL:
		pfd = (struct zsock_pollfd){ .fd = b->fd, .events = ZSOCK_POLLIN };
		b->rc = zsock_poll(&pfd, 1, -1);
		b->revents = pfd.revents;
		break;
	case OP_CONNECT:
		b->rc = zsock_connect(b->fd, (struct sockaddr *)&b->to, b->tolen);
		break;
	case OP_SEND:
		b->rc = (int)zsock_send(b->fd, buf, 1, 0);
		break;
	}
	b->err = errno;
	b->returned_at = zt_now_ms();
	return NULL;
}

/* Start b in a thread, check it blocks, close its fd, expect -1/EINTR. */
static void close_wakes(struct blocked *b, const char *what)
{
	pthread_t t = zt_spawn(blocked_main, b);
	int64_t closed_at;

	while (!atomic_load(&b->started))
		zt_sleep_ms(1);
	zt_sleep_ms(200); /* from the call's first line to its wait */
	cr_assert_eq(pthread_tryjoin_np(t, NULL), EBUSY,
		     "%s returned before the close: rc %d errno %d", what, b->rc, b->err);
	closed_at = zt_now_ms();
	zt_close(b->fd);
	cr_assert(zt_join(t, 5000), "%s still blocked 5 s after its fd was closed", what);
	cr_assert_eq(b->rc, -1, "%s after close returned %d (revents 0x%x)", what, b->rc,
		     b->revents);
	cr_assert_eq(b->err, EINTR, "%s after close: errno %d (%s), want EINTR", what, b->err,
		     strerror(b->err));
	cr_assert_geq(b->returned_at, closed_at);
}

ZT_TEST(timeouts, close_wakes_recv, .timeout = 30)
{
	struct blocked b;
	int a, s;

	zt_tcp_pair(AF_INET, &a, &s);
	b = (struct blocked){ .op = OP_RECV, .fd = s };
	close_wakes(&b, "recv");
	zt_close(a);
}

ZT_TEST(timeouts, close_wakes_recv_udp, .timeout = 30)
{
	struct blocked b;
	uint16_t port;

	b = (struct blocked){ .op = OP_RECV, .fd = zt_udp_bound(AF_INET6, &port) };
	close_wakes(&b, "UDP recv");
}

ZT_TEST(timeouts, close_wakes_accept, .timeout = 30)
{
	struct blocked b;
	uint16_t port;

	b = (struct blocked){ .op = OP_ACCEPT, .fd = zt_listener(AF_INET, 1, &port) };
	close_wakes(&b, "accept");
}

ZT_TEST(timeouts, close_wakes_poll, .timeout = 30)
{
	struct blocked b;
	int a, s;

	zt_tcp_pair(AF_INET, &a, &s);
	b = (struct blocked){ .op = OP_POLL, .fd = s };
	close_wakes(&b, "poll");
	zt_close(a);
}

ZT_TEST(timeouts, close_wakes_send, .timeout = 30)
{
	struct blocked b;
	int a, s;

	static uint8_t buf[65536];

	zt_tcp_pair(AF_INET, &a, &s);
	/* fill the path until it stays full for 200 ms */
	for (;;) {
		if (zsock_send(a, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT) > 0)
			continue;
		cr_assert_eq(errno, EAGAIN, "filling: errno %d", errno);
		if (zt_poll1(a, ZSOCK_POLLOUT, 200) == 0)
			break;
	}
	b = (struct blocked){ .op = OP_SEND, .fd = a };
	close_wakes(&b, "send on a full path");
	zt_close(s);
}
#endif

/*
 * A connect that cannot complete: the listener's backlog (1) is taken by a
 * connection nobody accepts, so lwIP drops further SYNs and the client
 * retransmits for a long time.
 */
static int full_listener(int family, uint16_t *port, int *first)
{
	int l = zt_listener(family, 1, port);

	*first = zt_connect(family, *port);
	return l;
}

#if CONFIG_ZSOCK_HOSTED /* close from another thread: bare metal has one context */
ZT_TEST(timeouts, close_wakes_connect, .timeout = 30)
{
	struct blocked b;
	uint16_t port;
	int first, l = full_listener(AF_INET, &port, &first);

	b = (struct blocked){ .op = OP_CONNECT, .fd = zt_socket(AF_INET, SOCK_STREAM) };
	b.tolen = zt_loopback(AF_INET, port, &b.to);
	close_wakes(&b, "connect");
	zt_close(first);
	zt_close(l);
}
#endif

ZT_TEST(timeouts, sndtimeo_on_connect, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int first, l = full_listener(AF_INET, &port, &first);
	int c = zt_socket(AF_INET, SOCK_STREAM);
	int64_t t0, dt;
	int rc;

	set_timeo(c, SO_SNDTIMEO, T_MS);
	len = zt_loopback(AF_INET, port, &ss);
	t0 = zt_now_ms();
	rc = zsock_connect(c, (struct sockaddr *)&ss, len);
	dt = zt_now_ms() - t0;
	cr_assert_eq(rc, -1, "connect to a full backlog succeeded");
	/* <zsock/socket.h> says EAGAIN; Linux (socket(7)) says EINPROGRESS */
	cr_assert(errno == EAGAIN || errno == EINPROGRESS, "connect at SO_SNDTIMEO: errno %d",
		  errno);
	cr_assert_geq(dt, T_MS, "connect gave up after %lld ms", (long long)dt);
	zt_close(c);
	zt_close(first);
	zt_close(l);
}
