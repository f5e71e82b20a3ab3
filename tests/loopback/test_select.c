/*
 * zsock_select over loopback: CONFORMANCE.md "poll and select".
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "zt.h"

ZT_TEST(select, setsize_is_the_fd_table)
{
	zsock_fd_set s;

	cr_assert_eq(ZSOCK_FD_SETSIZE, CONFIG_ZVFS_OPEN_MAX);
	cr_assert_geq(sizeof(s.bitset) * 8, (size_t)ZSOCK_FD_SETSIZE);
	ZSOCK_FD_ZERO(&s);
	ZSOCK_FD_SET(0, &s);
	ZSOCK_FD_SET(ZSOCK_FD_SETSIZE - 1, &s);
	ZSOCK_FD_SET(ZSOCK_FD_SETSIZE, &s);  /* out of range: ignored */
	ZSOCK_FD_SET(-1, &s);
	cr_assert(ZSOCK_FD_ISSET(0, &s));
	cr_assert(ZSOCK_FD_ISSET(ZSOCK_FD_SETSIZE - 1, &s));
	cr_assert_not(ZSOCK_FD_ISSET(ZSOCK_FD_SETSIZE, &s));
	cr_assert_not(ZSOCK_FD_ISSET(1, &s));
	ZSOCK_FD_CLR(0, &s);
	cr_assert_not(ZSOCK_FD_ISSET(0, &s));
}

ZT_TEST(select, counts_bits_and_clears_the_rest, .timeout = 30)
{
	int cli, srv, idle_c, idle_s;
	zsock_fd_set r, w;
	struct zsock_timeval tv = { 2, 0 };
	int n, top;

	zt_tcp_pair(AF_INET, &cli, &srv);
	zt_tcp_pair(AF_INET, &idle_c, &idle_s);
	zt_send_all(cli, "x", 1);
	cr_assert(zt_poll1(srv, ZSOCK_POLLIN, 2000) & ZSOCK_POLLIN, "the byte arrives");
	top = (srv > idle_s ? srv : idle_s) + 1;
	if (cli + 1 > top)
		top = cli + 1;
	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_ZERO(&w);
	ZSOCK_FD_SET(srv, &r);
	ZSOCK_FD_SET(idle_s, &r);
	ZSOCK_FD_SET(cli, &w);
	n = zsock_select(top, &r, &w, NULL, &tv);
	cr_assert_eq(n, 2, "srv readable + cli writable: %d (errno %d)", n, errno);
	cr_assert(ZSOCK_FD_ISSET(srv, &r));
	cr_assert_not(ZSOCK_FD_ISSET(idle_s, &r), "the idle socket's bit is cleared");
	cr_assert(ZSOCK_FD_ISSET(cli, &w));
	zt_close(cli);
	zt_close(srv);
	zt_close(idle_c);
	zt_close(idle_s);
}

ZT_TEST(select, zero_timeout_never_blocks, .timeout = 30)
{
	int cli, srv;
	zsock_fd_set r;
	struct zsock_timeval tv = { 0, 0 };
	int64_t t0;

	zt_tcp_pair(AF_INET6, &cli, &srv);
	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_SET(srv, &r);
	t0 = zt_now_ms();
	cr_assert_eq(zsock_select(srv + 1, &r, NULL, NULL, &tv), 0);
	cr_assert_lt(zt_now_ms() - t0, 1000, "a {0,0} select returned at once");
	cr_assert_not(ZSOCK_FD_ISSET(srv, &r));
	zt_close(cli);
	zt_close(srv);
}

ZT_TEST(select, timeout_not_earlier, .timeout = 30)
{
	int cli, srv;
	zsock_fd_set r;
	struct zsock_timeval tv = { 0, 300000 };
	int64_t t0;

	zt_tcp_pair(AF_INET, &cli, &srv);
	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_SET(srv, &r);
	t0 = zt_now_ms();
	cr_assert_eq(zsock_select(srv + 1, &r, NULL, NULL, &tv), 0);
	cr_assert_geq(zt_now_ms() - t0, 300, "returned before the timeout");
	zt_close(cli);
	zt_close(srv);
}

ZT_TEST(select, refused_connect_is_writable, .timeout = 30)
{
	int fd = zt_socket(AF_INET, SOCK_STREAM), err = 0;
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port);
	struct sockaddr_storage ss;
	socklen_t sl = zt_loopback(AF_INET, port, &ss), el = sizeof(err);
	zsock_fd_set w, e;
	struct zsock_timeval tv = { 5, 0 };

	zt_close(l); /* nobody listens there now */
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&ss, sl), -1);
	cr_assert_eq(errno, EINPROGRESS);
	ZSOCK_FD_ZERO(&w);
	ZSOCK_FD_ZERO(&e);
	ZSOCK_FD_SET(fd, &w);
	ZSOCK_FD_SET(fd, &e);
	cr_assert_geq(zsock_select(fd + 1, NULL, &w, &e, &tv), 1);
	cr_assert(ZSOCK_FD_ISSET(fd, &w), "a refused connect is writable in select");
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	cr_assert_eq(err, ECONNREFUSED);
	zt_close(fd);
}

ZT_TEST(select, closed_fd_is_ebadf, .timeout = 30)
{
	int fd = zt_socket(AF_INET, SOCK_DGRAM);
	zsock_fd_set r;
	struct zsock_timeval tv = { 0, 0 };

	zt_close(fd);
	ZSOCK_FD_ZERO(&r);
	ZSOCK_FD_SET(fd, &r);
	cr_assert_eq(zsock_select(fd + 1, &r, NULL, NULL, &tv), -1);
	cr_assert_eq(errno, EBADF);
}

ZT_TEST(select, bad_arguments, .timeout = 30)
{
	struct zsock_timeval bad = { 0, 1000000 }, neg = { -1, 0 };

	cr_assert_eq(zsock_select(-1, NULL, NULL, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_select(ZSOCK_FD_SETSIZE + 1, NULL, NULL, NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_select(0, NULL, NULL, NULL, &bad), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_select(0, NULL, NULL, NULL, &neg), -1);
	cr_assert_eq(errno, EINVAL);
}
