/*
 * Socket options that read back what was set (CONFORMANCE.md "Options"):
 * the identity options, SO_ERROR, the timeouts, SO_REUSEADDR (and its
 * effect on a port held by TIME_WAIT), SO_ACCEPTCONN and TCP_NODELAY.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "zt.h"

static int get_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, level, name, &v, &len), 0,
		     "getsockopt(%d, %d): errno %d", level, name, errno);
	cr_assert_eq(len, sizeof(int), "getsockopt(%d, %d) stored %u bytes", level, name,
		     (unsigned int)len);
	return v;
}

static void set_int(int fd, int level, int name, int v)
{
	cr_assert_eq(zsock_setsockopt(fd, level, name, &v, sizeof(v)), 0,
		     "setsockopt(%d, %d, %d): errno %d", level, name, v, errno);
}

/* ---- identity ------------------------------------------------------------------------------ */

static void identity(int fd, int family, int type, int proto)
{
	cr_assert_eq(get_int(fd, SOL_SOCKET, SO_TYPE), type);
	cr_assert_eq(get_int(fd, SOL_SOCKET, SO_PROTOCOL), proto);
	cr_assert_eq(get_int(fd, SOL_SOCKET, SO_DOMAIN), family);
}

ZT_TEST(options, type_protocol_domain)
{
	static const int families[] = ZT_FAMILIES;

	for (int i = 0; i < 2; i++) {
		int t = zt_socket(families[i], SOCK_STREAM);
		int u = zt_socket(families[i], SOCK_DGRAM);
		int e = zsock_socket(families[i], SOCK_STREAM, IPPROTO_TCP);
		int a, b;

		cr_assert_geq(e, 0);
		identity(t, families[i], SOCK_STREAM, IPPROTO_TCP);
		identity(u, families[i], SOCK_DGRAM, IPPROTO_UDP);
		identity(e, families[i], SOCK_STREAM, IPPROTO_TCP);
		/* an accepted socket has its listener's identity */
		zt_tcp_pair(families[i], &a, &b);
		identity(b, families[i], SOCK_STREAM, IPPROTO_TCP);
		zt_close(t);
		zt_close(u);
		zt_close(e);
		zt_close(a);
		zt_close(b);
	}
}

ZT_TEST(options, identity_is_read_only)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), v = SOCK_DGRAM;

	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), -1);
	cr_assert_eq(errno, ENOPROTOOPT, "setting SO_TYPE: errno %d", errno);
	identity(t, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	zt_close(t);
}

/* ---- SO_ERROR ------------------------------------------------------------------------------ */

ZT_TEST(options, so_error_fresh_is_zero)
{
	int t = zt_socket(AF_INET6, SOCK_STREAM), u = zt_socket(AF_INET, SOCK_DGRAM);

	cr_assert_eq(get_int(t, SOL_SOCKET, SO_ERROR), 0);
	cr_assert_eq(get_int(u, SOL_SOCKET, SO_ERROR), 0);
	zt_close(t);
	zt_close(u);
}

ZT_TEST(options, so_error_reports_reset_once, .timeout = 30)
{
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, "x", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	zt_close(b); /* unread data: RST */
	cr_assert(zt_poll1(a, 0, 5000) & (ZSOCK_POLLERR | ZSOCK_POLLHUP));
	cr_assert_eq(get_int(a, SOL_SOCKET, SO_ERROR), ECONNRESET);
	cr_assert_eq(get_int(a, SOL_SOCKET, SO_ERROR), 0, "SO_ERROR not cleared by reading");
	zt_close(a);
}

/* ---- timeouts ------------------------------------------------------------------------------ */

static struct timeval get_tv(int fd, int name)
{
	struct timeval tv = { -1, -1 };
	socklen_t len = sizeof(tv);

	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, name, &tv, &len), 0, "errno %d", errno);
	cr_assert_eq(len, sizeof(tv));
	return tv;
}

static void timeo_read_back(int name)
{
	static const struct timeval vals[] = { { 1, 500000 }, { 0, 250000 }, { 7, 0 }, { 0, 1000 } };
	int fd = zt_socket(AF_INET, SOCK_DGRAM);
	struct timeval tv = get_tv(fd, name);

	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0, "default is {%ld, %ld}, want {0, 0}",
		  (long)tv.tv_sec, (long)tv.tv_usec);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, name, &vals[i], sizeof(vals[i])), 0,
			     "errno %d", errno);
		tv = get_tv(fd, name);
		cr_assert(tv.tv_sec == vals[i].tv_sec && tv.tv_usec == vals[i].tv_usec,
			  "set {%ld, %ld}, read {%ld, %ld}", (long)vals[i].tv_sec,
			  (long)vals[i].tv_usec, (long)tv.tv_sec, (long)tv.tv_usec);
	}
	/* {0, 0} means forever again */
	tv = (struct timeval){ 0, 0 };
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)), 0);
	tv = get_tv(fd, name);
	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
	zt_close(fd);
}

ZT_TEST(options, rcvtimeo_read_back)
{
	timeo_read_back(SO_RCVTIMEO);
}

ZT_TEST(options, sndtimeo_read_back)
{
	timeo_read_back(SO_SNDTIMEO);
}

ZT_TEST(options, timeouts_are_independent)
{
	struct timeval r = { 2, 0 }, s = { 0, 300000 };
	int fd = zt_socket(AF_INET6, SOCK_STREAM);

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r)), 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof(s)), 0);
	r = get_tv(fd, SO_RCVTIMEO);
	s = get_tv(fd, SO_SNDTIMEO);
	cr_assert(r.tv_sec == 2 && r.tv_usec == 0);
	cr_assert(s.tv_sec == 0 && s.tv_usec == 300000);
	zt_close(fd);
}

ZT_TEST(options, timeout_usec_out_of_range)
{
	struct timeval tv = { 0, 1000000 };
	int fd = zt_socket(AF_INET, SOCK_DGRAM);

	/* Linux: EDOM */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), -1);
	cr_assert_eq(errno, EDOM, "tv_usec 1000000: errno %d", errno);
	zt_close(fd);
}

/* A tv_sec near its maximum clamps to the longest timeout instead of
 * overflowing the conversion to ms (fuzz/corpus/sockopt/regress-timeo-*). */
ZT_TEST(options, timeout_huge_seconds_clamps)
{
	struct timeval tv = { (time_t)(INT64_MAX / 4), 999999 };
	int fd = zt_socket(AF_INET, SOCK_DGRAM);

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0,
		     "errno %d", errno);
	tv = get_tv(fd, SO_RCVTIMEO);
	cr_assert_eq(tv.tv_sec, INT32_MAX / 1000, "tv_sec %ld", (long)tv.tv_sec);
	cr_assert_eq(tv.tv_usec, (INT32_MAX % 1000) * 1000, "tv_usec %ld", (long)tv.tv_usec);
	zt_close(fd);
}

/* ---- SO_REUSEADDR ---------------------------------------------------------------------------- */

ZT_TEST(options, reuseaddr_read_back)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET6, SOCK_DGRAM);

	cr_assert_eq(get_int(t, SOL_SOCKET, SO_REUSEADDR), 0);
	set_int(t, SOL_SOCKET, SO_REUSEADDR, 1);
	cr_assert_neq(get_int(t, SOL_SOCKET, SO_REUSEADDR), 0);
	set_int(t, SOL_SOCKET, SO_REUSEADDR, 0);
	cr_assert_eq(get_int(t, SOL_SOCKET, SO_REUSEADDR), 0);
	set_int(u, SOL_SOCKET, SO_REUSEADDR, 5);
	cr_assert_neq(get_int(u, SOL_SOCKET, SO_REUSEADDR), 0);
	zt_close(t);
	zt_close(u);
}

/*
 * Leave port in TIME_WAIT on the server side: the accepted socket closes
 * first (active close), then the client; the listener is closed too.
 */
static uint16_t port_in_time_wait(int family)
{
	struct zsock_engine_stats st;
	uint16_t port;
	int l = zt_listener(family, 1, &port), c, s;
	char ch;

	c = zt_connect(family, port);
	s = zt_accept(l);
	zt_close(l);
	zt_close(s);
	cr_assert_eq(zsock_recv(c, &ch, 1, 0), 0, "client: no EOF after the server closed");
	zt_close(c);
	cr_assert(zt_engine_idle(3000, &st), "close did not finish");
	/* the server side's PCB stays in TIME_WAIT */
	cr_assert_geq(st.lwip_tcp_pcbs, 1, "no PCB left in TIME_WAIT");
	return port;
}

static void reuseaddr_rebind(int family)
{
	struct sockaddr_storage ss;
	uint16_t port = port_in_time_wait(family);
	socklen_t len = zt_loopback(family, port, &ss);
	int l, c, s;

	/* without SO_REUSEADDR the port is taken */
	l = zt_socket(family, SOCK_STREAM);
	cr_assert_eq(zsock_bind(l, (struct sockaddr *)&ss, len), -1,
		     "bind to a port in TIME_WAIT without SO_REUSEADDR");
	cr_assert_eq(errno, EADDRINUSE, "errno %d", errno);
	zt_close(l);

	/* with it, a new listener takes the port and works */
	l = zt_socket(family, SOCK_STREAM);
	set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
	cr_assert_eq(zsock_bind(l, (struct sockaddr *)&ss, len), 0,
		     "SO_REUSEADDR bind to a port in TIME_WAIT: errno %d", errno);
	cr_assert_eq(zsock_listen(l, 1), 0, "listen: errno %d", errno);
	c = zt_connect(family, port);
	s = zt_accept(l);
	cr_assert_eq(zsock_send(c, "ok", 2, 0), 2);
	cr_assert_eq(zt_poll1(s, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	{
		char buf[2];

		zt_recv_all(s, buf, 2);
		cr_assert_eq(memcmp(buf, "ok", 2), 0);
	}
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(options, reuseaddr_rebinds_port_in_time_wait_ipv4, .timeout = 30)
{
	reuseaddr_rebind(AF_INET);
}

ZT_TEST(options, reuseaddr_rebinds_port_in_time_wait_ipv6, .timeout = 30)
{
	reuseaddr_rebind(AF_INET6);
}

/* ---- SO_ACCEPTCONN ------------------------------------------------------------------------------ */

ZT_TEST(options, acceptconn)
{
	uint16_t port;
	int t = zt_socket(AF_INET, SOCK_STREAM), l = zt_listener(AF_INET, 1, &port);

	cr_assert_eq(get_int(t, SOL_SOCKET, SO_ACCEPTCONN), 0);
	cr_assert_neq(get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 0);
	zt_close(t);
	zt_close(l);
}

/* ---- TCP_NODELAY ------------------------------------------------------------------------------- */

ZT_TEST(options, tcp_nodelay_read_back, .timeout = 30)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), a, b;

	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_NODELAY), 0);
	set_int(t, IPPROTO_TCP, TCP_NODELAY, 1);
	cr_assert_neq(get_int(t, IPPROTO_TCP, TCP_NODELAY), 0);
	set_int(t, IPPROTO_TCP, TCP_NODELAY, 0);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_NODELAY), 0);
	zt_close(t);

	/* on a connected socket, both ways, and it still carries data */
	zt_tcp_pair(AF_INET6, &a, &b);
	set_int(a, IPPROTO_TCP, TCP_NODELAY, 1);
	cr_assert_neq(get_int(a, IPPROTO_TCP, TCP_NODELAY), 0);
	cr_assert_eq(get_int(b, IPPROTO_TCP, TCP_NODELAY), 0);
	cr_assert_eq(zsock_send(a, "n", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	set_int(a, IPPROTO_TCP, TCP_NODELAY, 0);
	cr_assert_eq(get_int(a, IPPROTO_TCP, TCP_NODELAY), 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(options, tcp_nodelay_kept_across_connect, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port), c = zt_socket(AF_INET, SOCK_STREAM), s;

	set_int(c, IPPROTO_TCP, TCP_NODELAY, 1);
	len = zt_loopback(AF_INET, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), 0);
	s = zt_accept(l);
	cr_assert_neq(get_int(c, IPPROTO_TCP, TCP_NODELAY), 0, "TCP_NODELAY lost by connect");
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(options, tcp_nodelay_not_on_udp)
{
	int u = zt_socket(AF_INET, SOCK_DGRAM), v = 1;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), -1);
	cr_assert_eq(errno, ENOPROTOOPT, "TCP_NODELAY on UDP: errno %d", errno);
	cr_assert_eq(zsock_getsockopt(u, IPPROTO_TCP, TCP_NODELAY, &v, &len), -1);
	cr_assert_eq(errno, ENOPROTOOPT, "TCP_NODELAY on UDP: errno %d", errno);
	zt_close(u);
}
