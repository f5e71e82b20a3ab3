/*
 * zsock_poll (CONFORMANCE.md "poll and select"): timeouts, ignored and
 * invalid entries, each readiness condition, the bits reported without
 * being asked, and wake-ups while blocked.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "zt.h"

#define AT_ONCE_MS 1000   /* generous bound for "does not block" */

/* ---- timeouts ------------------------------------------------------------------------ */

ZT_TEST(poll, timeout_zero_never_blocks, .timeout = 30)
{
	struct zsock_pollfd p[2];
	int a, b, rc;
	int64_t t0, dt;

	zt_tcp_pair(AF_INET, &a, &b);
	p[0] = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	t0 = zt_now_ms();
	rc = zsock_poll(p, 2, 0);
	dt = zt_now_ms() - t0;
	cr_assert_eq(rc, 0, "poll(0) with nothing ready: %d (errno %d)", rc, errno);
	cr_assert_eq(p[0].revents, 0);
	cr_assert_eq(p[1].revents, 0);
	cr_assert_lt(dt, AT_ONCE_MS, "poll with timeout 0 took %lld ms", (long long)dt);
	t0 = zt_now_ms();
	cr_assert_eq(zsock_poll(NULL, 0, 0), 0, "poll(NULL, 0, 0): errno %d", errno);
	cr_assert_lt(zt_now_ms() - t0, AT_ONCE_MS);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(poll, timeout_not_earlier, .timeout = 30)
{
	struct zsock_pollfd p;
	uint16_t port;
	int u = zt_udp_bound(AF_INET, &port), rc;
	int64_t t0, dt;

	p = (struct zsock_pollfd){ .fd = u, .events = ZSOCK_POLLIN, .revents = 0x7fff };
	t0 = zt_now_ms();
	rc = zsock_poll(&p, 1, 250);
	dt = zt_now_ms() - t0;
	cr_assert_eq(rc, 0, "poll(250) with nothing ready: %d (errno %d)", rc, errno);
	cr_assert_eq(p.revents, 0, "revents 0x%x on timeout", p.revents);
	cr_assert_geq(dt, 250, "poll(250) returned after %lld ms", (long long)dt);

	/* no entries at all: a plain sleep */
	t0 = zt_now_ms();
	rc = zsock_poll(NULL, 0, 150);
	dt = zt_now_ms() - t0;
	cr_assert_eq(rc, 0, "poll(NULL, 0, 150): %d (errno %d)", rc, errno);
	cr_assert_geq(dt, 150, "poll(NULL, 0, 150) returned after %lld ms", (long long)dt);
	zt_close(u);
}

/* ---- ignored and invalid entries -------------------------------------------------------- */

ZT_TEST(poll, negative_fd_ignored, .timeout = 30)
{
	struct zsock_pollfd p[3];
	int a, b, rc;
	int64_t t0, dt;

	zt_tcp_pair(AF_INET6, &a, &b);
	p[0] = (struct zsock_pollfd){ .fd = -1, .events = ZSOCK_POLLIN | ZSOCK_POLLOUT,
				      .revents = 0x55 };
	p[1] = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLOUT };
	p[2] = (struct zsock_pollfd){ .fd = -12345, .events = ZSOCK_POLLIN, .revents = 0x55 };
	rc = zsock_poll(p, 3, 1000);
	cr_assert_eq(rc, 1, "poll counted %d entries, want 1", rc);
	cr_assert_eq(p[0].revents, 0, "fd -1: revents 0x%x", p[0].revents);
	cr_assert_eq(p[1].revents, ZSOCK_POLLOUT);
	cr_assert_eq(p[2].revents, 0, "fd -12345: revents 0x%x", p[2].revents);

	/* only negative entries: the timeout runs out */
	t0 = zt_now_ms();
	rc = zsock_poll(p, 1, 100);
	dt = zt_now_ms() - t0;
	cr_assert_eq(rc, 0);
	cr_assert_geq(dt, 100, "returned after %lld ms", (long long)dt);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(poll, bad_fd_is_pollnval, .timeout = 30)
{
	struct zsock_pollfd p[4];
	int u = zt_socket(AF_INET, SOCK_DGRAM), closed = zt_socket(AF_INET, SOCK_DGRAM), rc;

	zt_close(closed);
	p[0] = (struct zsock_pollfd){ .fd = 9999, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = closed, .events = 0 };
	p[2] = (struct zsock_pollfd){ .fd = u, .events = ZSOCK_POLLIN };
	p[3] = (struct zsock_pollfd){ .fd = ZSOCK_FD_SETSIZE, .events = ZSOCK_POLLOUT };
	rc = zsock_poll(p, 4, 1000);
	cr_assert_eq(rc, 3, "poll counted %d, want the 3 bad entries", rc);
	cr_assert_eq(p[0].revents, ZSOCK_POLLNVAL, "fd 9999: revents 0x%x", p[0].revents);
	cr_assert_eq(p[1].revents, ZSOCK_POLLNVAL, "closed fd: revents 0x%x", p[1].revents);
	cr_assert_eq(p[2].revents, 0, "idle UDP socket: revents 0x%x", p[2].revents);
	cr_assert_eq(p[3].revents, ZSOCK_POLLNVAL, "fd FD_SETSIZE: revents 0x%x", p[3].revents);
	zt_close(u);
}

/* ---- readiness ------------------------------------------------------------------------- */

ZT_TEST(poll, pollout_at_once_when_connected, .timeout = 30)
{
	struct zsock_pollfd p[2];
	int a, b, rc;
	int64_t t0, dt;

	zt_tcp_pair(AF_INET, &a, &b);
	p[0] = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLOUT };
	p[1] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLOUT | ZSOCK_POLLIN };
	t0 = zt_now_ms();
	rc = zsock_poll(p, 2, -1);
	dt = zt_now_ms() - t0;
	cr_assert_eq(rc, 2, "poll: %d (errno %d)", rc, errno);
	cr_assert_eq(p[0].revents, ZSOCK_POLLOUT, "revents 0x%x", p[0].revents);
	cr_assert_eq(p[1].revents, ZSOCK_POLLOUT, "revents 0x%x", p[1].revents);
	cr_assert_lt(dt, AT_ONCE_MS, "an already writable socket took %lld ms", (long long)dt);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(poll, pollout_udp, .timeout = 30)
{
	uint16_t port;
	int u = zt_udp_bound(AF_INET6, &port);

	cr_assert_eq(zt_poll1(u, ZSOCK_POLLOUT | ZSOCK_POLLIN, 0), ZSOCK_POLLOUT);
	zt_close(u);
}

ZT_TEST(poll, pollin_for_data, .timeout = 30)
{
	int a, b;
	char c;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 0), 0, "POLLIN before any data");
	cr_assert_eq(zsock_send(a, "d", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 0), 0, "POLLIN after the data was read");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(poll, pollin_for_datagram, .timeout = 30)
{
	int a, b;
	char c;

	zt_udp_pair(AF_INET, &a, &b);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 0), 0);
	cr_assert_eq(zsock_send(a, "d", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 0), 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(poll, pollin_for_eof, .timeout = 30)
{
	int a, b;
	short rev;

	zt_tcp_pair(AF_INET6, &a, &b);
	cr_assert_eq(zsock_shutdown(a, ZSOCK_SHUT_WR), 0);
	rev = zt_poll1(b, ZSOCK_POLLIN, 5000);
	cr_assert(rev & ZSOCK_POLLIN, "EOF: revents 0x%x", rev);
	cr_assert_not(rev & (ZSOCK_POLLERR | ZSOCK_POLLHUP),
		      "half close reported as error or hang-up: 0x%x", rev);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(poll, pollin_for_pending_connection, .timeout = 30)
{
	uint16_t port;
	int l = zt_listener(AF_INET, 4, &port), c, s;

	cr_assert_eq(zt_poll1(l, ZSOCK_POLLIN, 0), 0, "listener readable with no connection");
	c = zt_connect(AF_INET, port);
	cr_assert_eq(zt_poll1(l, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	s = zt_accept(l);
	cr_assert_eq(zt_poll1(l, ZSOCK_POLLIN, 0), 0, "listener readable after the accept");
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

/* ---- reported without being asked ------------------------------------------------------------ */

ZT_TEST(poll, pollerr_unasked_on_refused_connect, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	int c, tmp = zt_socket(AF_INET, SOCK_STREAM);
	uint16_t port;
	short rev;

	cr_assert_eq(zsock_bind(tmp, (struct sockaddr *)&ss, len), 0);
	port = zt_local_port(tmp);
	zt_close(tmp);

	c = zt_socket(AF_INET, SOCK_STREAM);
	cr_assert_eq(zsock_fcntl(c, F_SETFL, O_NONBLOCK), 0);
	len = zt_loopback(AF_INET, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EINPROGRESS);
	rev = zt_poll1(c, 0, 5000);
	cr_assert(rev & ZSOCK_POLLERR, "refused connect, events 0: revents 0x%x", rev);
	cr_assert_eq(rev & (ZSOCK_POLLIN | ZSOCK_POLLOUT), 0,
		     "bits not asked for were reported: 0x%x", rev);
	zt_close(c);
}

ZT_TEST(poll, pollhup_unasked_when_both_sides_shut, .timeout = 30)
{
	int a, b;
	short rev;
	char c;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_close(a);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 0, "EOF expected");
	cr_assert_eq(zsock_shutdown(b, ZSOCK_SHUT_WR), 0);
	rev = zt_poll1(b, 0, 5000);
	cr_assert(rev & ZSOCK_POLLHUP, "both directions shut, events 0: revents 0x%x", rev);
	zt_close(b);
}

ZT_TEST(poll, pollhup_unasked_on_reset, .timeout = 30)
{
	int a, b;
	short rev;

	zt_tcp_pair(AF_INET6, &a, &b);
	cr_assert_eq(zsock_send(a, "x", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	zt_close(b); /* unread data: RST */
	rev = zt_poll1(a, 0, 5000);
	cr_assert(rev & (ZSOCK_POLLERR | ZSOCK_POLLHUP), "reset, events 0: revents 0x%x", rev);
	cr_assert_eq(rev & (ZSOCK_POLLIN | ZSOCK_POLLOUT), 0, "unasked bits: 0x%x", rev);
	zt_close(a);
}

/* ---- waking up --------------------------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* a sender thread: bare metal has one context, no threads */
struct later {
	int fd;
	int delay_ms;
	ssize_t rc;
};

static void *send_later(void *p)
{
	struct later *l = p;

	zt_sleep_ms(l->delay_ms);
	l->rc = zsock_send(l->fd, "w", 1, 0);
	return NULL;
}

ZT_TEST(poll, wakes_when_data_arrives, .timeout = 30)
{
	struct zsock_pollfd p[8];
	struct later l;
	pthread_t t;
	int a[4], b[4], i, rc;
	int64_t t0;

	for (i = 0; i < 4; i++) {
		zt_tcp_pair(i % 2 ? AF_INET6 : AF_INET, &a[i], &b[i]);
		p[i] = (struct zsock_pollfd){ .fd = b[i], .events = ZSOCK_POLLIN };
	}
	/* data arrives on the third socket only, while poll sleeps */
	l = (struct later){ .fd = a[2], .delay_ms = 150 };
	t0 = zt_now_ms();
	t = zt_spawn(send_later, &l);
	rc = zsock_poll(p, 4, -1);
	cr_assert(zt_join(t, 5000));
	cr_assert_eq(l.rc, 1);
	cr_assert_eq(rc, 1, "poll: %d (errno %d)", rc, errno);
	cr_assert_eq(p[2].revents, ZSOCK_POLLIN);
	cr_assert_eq(p[0].revents | p[1].revents | p[3].revents, 0);
	cr_assert_geq(zt_now_ms() - t0, 150, "poll returned before the data was sent");
	for (i = 0; i < 4; i++) {
		zt_close(a[i]);
		zt_close(b[i]);
	}
}
#endif

ZT_TEST(poll, wakes_for_pending_connection, .timeout = 30)
{
	uint16_t port;
	int l = zt_listener(AF_INET6, 1, &port), c, s;
	struct zsock_pollfd p = { .fd = l, .events = ZSOCK_POLLIN };
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET6, port, &ss);
	int rc;

	/* a non-blocking connect lets the test thread poll meanwhile */
	c = zt_socket(AF_INET6, SOCK_STREAM);
	cr_assert_eq(zsock_fcntl(c, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EINPROGRESS);
	rc = zsock_poll(&p, 1, 5000);
	cr_assert_eq(rc, 1, "poll on the listener: %d (errno %d)", rc, errno);
	cr_assert_eq(p.revents, ZSOCK_POLLIN);
	s = zt_accept(l);
	cr_assert_eq(zt_poll1(c, ZSOCK_POLLOUT, 5000), ZSOCK_POLLOUT);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(poll, same_fd_twice, .timeout = 30)
{
	struct zsock_pollfd p[2];
	int a, b, rc;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, "x", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	p[0] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLOUT };
	rc = zsock_poll(p, 2, 0);
	cr_assert_eq(rc, 2, "poll: %d (errno %d)", rc, errno);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	cr_assert_eq(p[1].revents, ZSOCK_POLLOUT);
	zt_close(a);
	zt_close(b);
}

#if CONFIG_ZSOCK_HOSTED /* a poker thread: bare metal has one context, no threads */
/*
 * "A poll over many sockets wakes once per event, not once per socket":
 * the poller's wake-ups per event, counted by the engine, are the same
 * with 1 and with 121 polled sockets (a few, never hundreds; 121 because
 * each idle UDP pair takes two fds of the table).
 */
struct poke {
	int fd;
	int rounds;
};

static void *poker_main(void *arg)
{
	struct poke *p = arg;
	int i;

	for (i = 0; i < p->rounds; i++) {
		zt_sleep_ms(5); /* the poller is asleep again by now */
		cr_assert_eq(zsock_send(p->fd, "x", 1, 0), 1);
	}
	return NULL;
}

static double wakeups_per_event(int idle_pairs)
{
	static struct zsock_pollfd pfd[256];
	static int idle[256][2];
	struct zsock_engine_stats a, b;
	struct poke pk;
	int cli, srv, i, events = 0;
	pthread_t t;
	char c;

	/* one datagram is one event (no coalescing as a TCP stream would) */
	zt_udp_pair(AF_INET, &cli, &srv);
	for (i = 0; i < idle_pairs; i++)
		zt_udp_pair(AF_INET, &idle[i][0], &idle[i][1]);
	pfd[0].fd = srv;
	pfd[0].events = ZSOCK_POLLIN;
	for (i = 0; i < idle_pairs; i++) {
		pfd[1 + i].fd = idle[i][1];
		pfd[1 + i].events = ZSOCK_POLLIN;
	}
	pk.fd = cli;
	pk.rounds = 50;
	zt_stats(&a);
	t = zt_spawn(poker_main, &pk);
	while (events < pk.rounds) {
		int n = zsock_poll(pfd, 1 + idle_pairs, 5000);

		cr_assert_eq(n, 1, "only the active socket is ready: %d", n);
		cr_assert(pfd[0].revents & ZSOCK_POLLIN);
		cr_assert_eq(zsock_recv(srv, &c, 1, 0), 1);
		events++;
	}
	cr_assert(zt_join(t, 10000));
	zt_stats(&b);
	zt_close(cli);
	zt_close(srv);
	for (i = 0; i < idle_pairs; i++) {
		zt_close(idle[i][0]);
		zt_close(idle[i][1]);
	}
	return (double)(b.poll_wakeups - a.poll_wakeups) / events;
}

ZT_TEST(poll, wakes_once_per_event_not_per_socket, .timeout = 60)
{
	double one = wakeups_per_event(0);
	double many = wakeups_per_event(120);

	cr_log_info("poll wake-ups per event: %.2f with 1 socket, %.2f with 121", one, many);
	/* the polls really slept: else the figure would say nothing */
	cr_assert_geq(one, 0.5, "1 socket: the poller hardly slept (%.2f)", one);
	cr_assert_geq(many, 0.5, "121 sockets: the poller hardly slept (%.2f)", many);
	cr_assert_leq(one, 3.0, "1 socket: %.2f wake-ups per event", one);
	cr_assert_leq(many, 3.0, "121 sockets: %.2f wake-ups per event", many);
}
#endif
