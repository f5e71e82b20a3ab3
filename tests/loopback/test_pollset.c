/*
 * Poll sets (engine/pollset.h): zsock_poll() registrations kept between
 * calls. What must hold: an event costs the same with 1 or 100 polled
 * sockets (counted with the poll_tests counter, not timed), poll stays
 * level-triggered, any change of the array or of what an fd names is seen,
 * a set is given back when its thread ends, and threads beyond the pool's
 * size still poll correctly (the plain way).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "zt.h"

#define IDLE 100  /* 202 sockets: within the default 256 contexts */
/* event_cost_...: poll sets, and 2 * IDLE + 3 sockets and fds (the board has 8 sockets) */
#define COST_TEST (CONFIG_ZSOCK_POLLSETS > 0 && CONFIG_NET_MAX_CONTEXTS >= 2 * IDLE + 3 && \
		   CONFIG_ZVFS_OPEN_MAX >= 2 * IDLE + 3)

#if COST_TEST || CONFIG_ZSOCK_HOSTED
static uint64_t tests_now(void)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	return st.poll_tests;
}
#endif

#if COST_TEST
/* One request on the active pair, one poll that finds it. */
static void one_event(struct zsock_pollfd *p, int n, int cli, int srv_index)
{
	char c = 'x';
	int rc;

	cr_assert_eq(zsock_send(cli, &c, 1, 0), 1);
	do {
		rc = zsock_poll(p, n, 5000);
	} while (rc == 0);
	cr_assert_eq(rc, 1, "poll: %d (errno %d)", rc, errno);
	cr_assert_eq(p[srv_index].revents, ZSOCK_POLLIN, "revents 0x%x", p[srv_index].revents);
	cr_assert_eq(zsock_recv(p[srv_index].fd, &c, 1, 0), 1);
}

ZT_TEST(pollset, event_cost_does_not_grow_with_fds, .timeout = 120)
{
	static int cli[IDLE + 1], srv[IDLE + 1];
	static struct zsock_pollfd p[IDLE + 1];
	uint64_t before, per_event;
	int i, round;

	for (i = 0; i <= IDLE; i++) {
		zt_tcp_pair(AF_INET, &cli[i], &srv[i]);
		p[i] = (struct zsock_pollfd){ .fd = srv[i], .events = ZSOCK_POLLIN };
	}
	one_event(p, IDLE + 1, cli[IDLE], IDLE); /* the first call registers all */
	before = tests_now();
	for (round = 0; round < 50; round++)
		one_event(p, IDLE + 1, cli[IDLE], IDLE);
	per_event = (tests_now() - before) / 50;
	/* the active socket, tested when woken and maybe once more when it
	 * was still ready: never the idle ones */
	cr_assert_leq(per_event, 3, "%llu sockets tested per event among %d",
		      (unsigned long long)per_event, IDLE + 1);
	for (i = 0; i <= IDLE; i++) {
		zt_close(cli[i]);
		zt_close(srv[i]);
	}
}
#endif

ZT_TEST(pollset, level_triggered_without_new_events, .timeout = 30)
{
	struct zsock_pollfd p[2];
	int a, b, c, d;
	char buf[4];

	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET, &c, &d);
	p[0] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = d, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_send(a, "ab", 2, 0), 2);
	cr_assert_eq(zsock_poll(p, 2, 5000), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	/* nothing read: still ready, three times over, with no new wake */
	for (int i = 0; i < 3; i++) {
		p[0].revents = p[1].revents = 0;
		cr_assert_eq(zsock_poll(p, 2, 0), 1);
		cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
		cr_assert_eq(p[1].revents, 0);
	}
	zt_recv_all(b, buf, 2);
	cr_assert_eq(zsock_poll(p, 2, 0), 0, "read everything: nothing ready");
	cr_assert_eq(p[0].revents, 0);
	zt_close(a);
	zt_close(b);
	zt_close(c);
	zt_close(d);
}

ZT_TEST(pollset, stale_revents_from_the_caller_are_cleared, .timeout = 30)
{
	struct zsock_pollfd p[3];
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	p[0] = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	p[2] = (struct zsock_pollfd){ .fd = -1, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(p, 3, 0), 0);
	p[0].revents = p[1].revents = p[2].revents = 0x7fff;
	cr_assert_eq(zsock_poll(p, 3, 0), 0);
	cr_assert_eq(p[0].revents, 0);
	cr_assert_eq(p[1].revents, 0);
	cr_assert_eq(p[2].revents, 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(pollset, changed_events_and_fds_are_seen, .timeout = 30)
{
	struct zsock_pollfd p[2];
	int a, b, c, d;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET, &c, &d);
	p[0] = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = c, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(p, 2, 0), 0);
	/* same fds, other events: a connected socket is writable */
	p[0].events = ZSOCK_POLLOUT;
	cr_assert_eq(zsock_poll(p, 2, 0), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLOUT);
	/* another fd in a slot */
	p[0] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_send(a, "z", 1, 0), 1);
	cr_assert_eq(zsock_poll(p, 2, 5000), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	/* fewer entries */
	cr_assert_eq(zsock_poll(p, 1, 0), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	zt_close(a);
	zt_close(b);
	zt_close(c);
	zt_close(d);
}

ZT_TEST(pollset, fd_number_reused_names_the_new_socket, .timeout = 30)
{
	struct zsock_pollfd p;
	int a, b, fd, fd2;
	uint16_t port;

	zt_tcp_pair(AF_INET, &a, &b);
	p = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(&p, 1, 0), 0);
	/* the registered socket goes; a UDP socket with data takes its number
	 * (lower free numbers are filled first, held until the end) */
	int low[8], nlow = 0;

	fd = b;
	zt_close(b);
	while ((fd2 = zt_udp_bound(AF_INET, &port)) != fd) {
		cr_assert_lt(nlow, 8, "fd %d never reused", fd);
		low[nlow++] = fd2;
	}
	{
		int s = zt_socket(AF_INET, SOCK_DGRAM);
		struct sockaddr_storage to;
		socklen_t tl = zt_loopback(AF_INET, port, &to);

		cr_assert_eq(zsock_sendto(s, "d", 1, 0, (struct sockaddr *)&to, tl), 1);
		cr_assert_eq(zsock_poll(&p, 1, 5000), 1);
		cr_assert_eq(p.revents, ZSOCK_POLLIN, "the new socket's datagram: 0x%x", p.revents);
		zt_close(s);
	}
	zt_close(fd2);
	while (nlow > 0)
		zt_close(low[--nlow]);
	/* closed and not reused: POLLNVAL */
	cr_assert_eq(zsock_poll(&p, 1, 0), 1);
	cr_assert_eq(p.revents, ZSOCK_POLLNVAL);
	zt_close(a);
}

#if CONFIG_ZSOCK_HOSTED /* threads: bare metal has one context */
struct closer {
	int fd;
};

static void *close_later(void *arg)
{
	struct closer *c = arg;

	zt_sleep_ms(200);
	zsock_close(c->fd);
	return NULL;
}

ZT_TEST(pollset, close_under_a_cached_poll_gives_eintr, .timeout = 30)
{
	struct zsock_pollfd p;
	struct closer c;
	pthread_t t;
	int a, b, rc;

	zt_tcp_pair(AF_INET, &a, &b);
	p = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(&p, 1, 0), 0); /* registered, cached */
	c.fd = b;
	t = zt_spawn(close_later, &c);
	rc = zsock_poll(&p, 1, 10000);
	cr_assert_eq(rc, -1, "poll on an fd closed meanwhile: %d", rc);
	cr_assert_eq(errno, EINTR, "errno %d", errno);
	cr_assert(zt_join(t, 5000));
	zt_close(a);
}

struct poller {
	int fd_ready, fd_idle;
	int rc;
	short revents;
	uint64_t second_tests;   /* sockets tested by the second poll */
};

/* Poll the two fds twice (the data stays unread); with a set, the second
 * call tests only the ready socket, without one it tests both. */
static void *poll_twice(void *arg)
{
	struct poller *pl = arg;
	struct zsock_pollfd p[2] = {
		{ .fd = pl->fd_idle, .events = ZSOCK_POLLIN },
		{ .fd = pl->fd_ready, .events = ZSOCK_POLLIN },
	};
	uint64_t t0;

	pl->rc = zsock_poll(p, 2, 5000);
	t0 = tests_now();
	if (pl->rc == 1)
		pl->rc = zsock_poll(p, 2, 5000);
	pl->second_tests = tests_now() - t0;
	pl->revents = p[1].revents;
	return NULL;
}

/* More threads than sets, one after another and at once: all poll right,
 * and the references the sets held are gone when the threads are. */
ZT_TEST(pollset, sets_return_when_threads_end, .timeout = 60)
{
	struct poller pl[6];
	pthread_t t[6];
	int a, b, c, d, i;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_tcp_pair(AF_INET, &c, &d);
	cr_assert_eq(zsock_send(a, "r", 1, 0), 1);
	for (i = 0; i < 6; i++) { /* sequential: each takes the set the last gave back */
		pl[i] = (struct poller){ .fd_ready = b, .fd_idle = d };
		t[i] = zt_spawn(poll_twice, &pl[i]);
		cr_assert(zt_join(t[i], 10000));
		cr_assert_eq(pl[i].rc, 1, "thread %d: poll %d", i, pl[i].rc);
		cr_assert_eq(pl[i].revents, ZSOCK_POLLIN);
		cr_assert_eq(pl[i].second_tests, 1,
			     "thread %d had no set (tested %llu): sets not given back", i,
			     (unsigned long long)pl[i].second_tests);
	}
	for (i = 0; i < 6; i++) { /* concurrent: some poll without a set */
		pl[i] = (struct poller){ .fd_ready = b, .fd_idle = d };
		t[i] = zt_spawn(poll_twice, &pl[i]);
	}
	for (i = 0; i < 6; i++) {
		cr_assert(zt_join(t[i], 10000));
		cr_assert_eq(pl[i].rc, 1, "thread %d: poll %d", i, pl[i].rc);
		cr_assert_eq(pl[i].revents, ZSOCK_POLLIN);
	}
	zt_close(a);
	zt_close(b);
	zt_close(c);
	zt_close(d);
	/* the leak check of ZT_TEST: every socket back in its pool */
}
#endif
