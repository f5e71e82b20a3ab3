/*
 * Every option of CONFORMANCE.md "Options" beyond the basics of
 * test_options.c: defaults, read-back, bad lengths and ranges, and the
 * effect on the lwIP PCB (read inside the reactor, where the PCB lives)
 * or over loopback: SO_LINGER {1, 0} resets the peer, SO_BINDTODEVICE,
 * IP_ADD_MEMBERSHIP delivery on "lo", keepalive probes finding a vanished
 * peer, options kept across listen, accept
 * and a failed connect. docs/options.md describes the behaviour tested.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "zt.h"

#include "engine/netif/netifs.h"
#include "engine/sock/sock.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

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

static void set_fails(int fd, int level, int name, int v, int err)
{
	cr_assert_eq(zsock_setsockopt(fd, level, name, &v, sizeof(v)), -1,
		     "setsockopt(%d, %d, %d) succeeded", level, name, v);
	cr_assert_eq(errno, err, "setsockopt(%d, %d, %d): errno %d, want %d", level, name, v,
		     errno, err);
}

static void get_fails(int fd, int level, int name, int err)
{
	int v;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, level, name, &v, &len), -1,
		     "getsockopt(%d, %d) succeeded", level, name);
	cr_assert_eq(errno, err, "getsockopt(%d, %d): errno %d, want %d", level, name, errno, err);
}

/* ---- the PCB, read in the reactor ------------------------------------------------- */

struct pcb_view {
	bool has_pcb, tcp, listen;
	uint8_t so_options, tos, ttl, netif_idx, mcast_ttl;
	uint32_t keep_idle, keep_intvl, keep_cnt;
	bool nagle_off;
};

struct view_args {
	struct zs_sock *s;
	struct pcb_view v;
};

static int view_r(void *p)
{
	struct view_args *a = p;
	struct zs_sock *s = a->s;

	memset(&a->v, 0, sizeof(a->v));
	if (s->pcb.any == NULL)
		return 0;
	a->v.has_pcb = true;
	if (s->type == SOCK_STREAM) {
		struct tcp_pcb *pcb = s->pcb.tcp;

		a->v.tcp = true;
		a->v.listen = pcb->state == LISTEN;
		/* the common IP part is the same in a listening PCB */
		a->v.so_options = pcb->so_options;
		a->v.tos = pcb->tos;
		a->v.ttl = pcb->ttl;
		a->v.netif_idx = pcb->netif_idx;
		if (!a->v.listen) {
			a->v.keep_idle = pcb->keep_idle;
			a->v.keep_intvl = pcb->keep_intvl;
			a->v.keep_cnt = pcb->keep_cnt;
			a->v.nagle_off = tcp_nagle_disabled(pcb);
		}
	} else {
		struct udp_pcb *pcb = s->pcb.udp;

		a->v.so_options = pcb->so_options;
		a->v.tos = pcb->tos;
		a->v.ttl = pcb->ttl;
		a->v.netif_idx = pcb->netif_idx;
		a->v.mcast_ttl = udp_get_multicast_ttl(pcb);
	}
	return 0;
}

static struct pcb_view pcb_view(int fd)
{
	struct view_args a = { .s = zsock_get_context_object(fd) };

	cr_assert_not_null(a.s, "no socket object for fd %d", fd);
	zs_reactor_call(view_r, &a);
	cr_assert(a.v.has_pcb, "fd %d has no PCB", fd);
	return a.v;
}

static int lo_index_r(void *p)
{
	struct netif *n = zs_netif_find("lo");

	*(int *)p = n != NULL ? netif_get_index(n) : 0;
	return 0;
}

static int lo_index(void)
{
	int idx = 0;

	zs_reactor_call(lo_index_r, &idx);
	cr_assert_gt(idx, 0, "no \"lo\" netif");
	return idx;
}

/* ---- defaults --------------------------------------------------------------------- */

ZT_TEST(sockopts, defaults_ipv4)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET, SOCK_DGRAM);
	int fds[2] = { t, u }, i;

	for (i = 0; i < 2; i++) {
		int fd = fds[i];
		struct linger l = { -1, -1 };
		socklen_t len = sizeof(l);
		char dev[16];
		struct pcb_view v;

		cr_assert_gt(get_int(fd, SOL_SOCKET, SO_RCVBUF), 0);
		cr_assert_gt(get_int(fd, SOL_SOCKET, SO_SNDBUF), 0);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 0);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_BROADCAST), 0);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_PRIORITY), 0);
		cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
		cr_assert_eq(len, sizeof(l));
		cr_assert_eq(l.l_onoff, 0);
		cr_assert_eq(l.l_linger, 0);
		len = sizeof(dev);
		cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
		cr_assert_eq(len, 0, "unbound socket: SO_BINDTODEVICE length %u",
			     (unsigned int)len);
		cr_assert_eq(get_int(fd, IPPROTO_IP, IP_TOS), 0);
		cr_assert_eq(get_int(fd, IPPROTO_IP, IP_TTL), 64);
		cr_assert_eq(get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL), 1);
		get_fails(fd, IPPROTO_IPV6, IPV6_V6ONLY, ENOPROTOOPT);
		get_fails(fd, IPPROTO_IPV6, IPV6_TCLASS, ENOPROTOOPT);
		v = pcb_view(fd);
		cr_assert_eq(v.ttl, 64);
		cr_assert_eq(v.tos, 0);
		cr_assert_eq(v.netif_idx, 0);
		cr_assert_eq(v.so_options & (SOF_KEEPALIVE | SOF_BROADCAST | SOF_REUSEADDR), 0);
	}
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPCNT), 9);
	cr_assert_eq(pcb_view(t).keep_idle, 7200000u);
	cr_assert_eq(pcb_view(t).keep_intvl, 75000u);
	cr_assert_eq(pcb_view(t).keep_cnt, 9u);
	cr_assert_eq(pcb_view(u).mcast_ttl, 1);
	get_fails(u, IPPROTO_TCP, TCP_KEEPIDLE, ENOPROTOOPT);
	set_fails(u, IPPROTO_TCP, TCP_KEEPCNT, 3, ENOPROTOOPT);
	zt_close(t);
	zt_close(u);
}

ZT_TEST(sockopts, defaults_ipv6)
{
	int t = zt_socket(AF_INET6, SOCK_STREAM), u = zt_socket(AF_INET6, SOCK_DGRAM);
	int fds[2] = { t, u }, i;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(get_int(fds[i], IPPROTO_IPV6, IPV6_V6ONLY), 1);
		cr_assert_eq(get_int(fds[i], IPPROTO_IPV6, IPV6_TCLASS), 0);
		cr_assert_eq(get_int(fds[i], IPPROTO_IPV6, IPV6_UNICAST_HOPS), 64);
		cr_assert_eq(pcb_view(fds[i]).ttl, 64);
		get_fails(fds[i], IPPROTO_IP, IP_TTL, ENOPROTOOPT);
		set_fails(fds[i], IPPROTO_IP, IP_TOS, 0, ENOPROTOOPT);
	}
	zt_close(t);
	zt_close(u);
}

/* ---- SOL_SOCKET ------------------------------------------------------------------- */

ZT_TEST(sockopts, sol_socket_read_back_and_pcb)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET6, SOCK_DGRAM);
	int fds[2] = { t, u }, i;

	for (i = 0; i < 2; i++) {
		int fd = fds[i];

		set_int(fd, SOL_SOCKET, SO_RCVBUF, 4096);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_RCVBUF), 4096);
		set_int(fd, SOL_SOCKET, SO_SNDBUF, 8192);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_SNDBUF), 8192);
		set_fails(fd, SOL_SOCKET, SO_RCVBUF, -1, EINVAL);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_RCVBUF), 4096);

		set_int(fd, SOL_SOCKET, SO_REUSEPORT, 7);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 1);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 0, "REUSEPORT is not REUSEADDR");
		cr_assert(pcb_view(fd).so_options & SOF_REUSEADDR);
		set_int(fd, SOL_SOCKET, SO_REUSEPORT, 0);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 0);
		cr_assert_eq(pcb_view(fd).so_options & SOF_REUSEADDR, 0);

		set_int(fd, SOL_SOCKET, SO_PRIORITY, 6);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_PRIORITY), 6);
		set_fails(fd, SOL_SOCKET, SO_PRIORITY, 8, EINVAL);
		set_fails(fd, SOL_SOCKET, SO_PRIORITY, -1, EINVAL);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_PRIORITY), 6);

		set_int(fd, SOL_SOCKET, SO_BROADCAST, 1);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_BROADCAST), 1);
		set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
		cr_assert_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	}
	/* SOF_KEEPALIVE on TCP, SOF_BROADCAST on UDP */
	cr_assert(pcb_view(t).so_options & SOF_KEEPALIVE);
	cr_assert(pcb_view(u).so_options & SOF_BROADCAST);
	set_int(t, SOL_SOCKET, SO_KEEPALIVE, 0);
	cr_assert_eq(pcb_view(t).so_options & SOF_KEEPALIVE, 0);
	set_int(u, SOL_SOCKET, SO_BROADCAST, 0);
	cr_assert_eq(pcb_view(u).so_options & SOF_BROADCAST, 0);
	cr_assert_eq(get_int(u, SOL_SOCKET, SO_BROADCAST), 0);
	zt_close(t);
	zt_close(u);
}

/* Zephyr documents these as "ignored, for compatibility": accepted, read back */
ZT_TEST(sockopts, zephyr_compat_options_read_back)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET6, SOCK_DGRAM);
	int fds[2] = { t, u }, names[3] = { SO_DEBUG, SO_DONTROUTE, SO_OOBINLINE }, i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			cr_assert_eq(get_int(fds[i], SOL_SOCKET, names[j]), 0);
			set_int(fds[i], SOL_SOCKET, names[j], 5);
			cr_assert_eq(get_int(fds[i], SOL_SOCKET, names[j]), 1);
			set_int(fds[i], SOL_SOCKET, names[j], 0);
			cr_assert_eq(get_int(fds[i], SOL_SOCKET, names[j]), 0);
		}
		cr_assert_eq(get_int(fds[i], SOL_SOCKET, SO_RCVLOWAT), 1);
		cr_assert_eq(get_int(fds[i], SOL_SOCKET, SO_SNDLOWAT), 1);
		set_int(fds[i], SOL_SOCKET, SO_RCVLOWAT, 100);
		cr_assert_eq(get_int(fds[i], SOL_SOCKET, SO_RCVLOWAT), 100);
		set_int(fds[i], SOL_SOCKET, SO_RCVLOWAT, 0);
		cr_assert_eq(get_int(fds[i], SOL_SOCKET, SO_RCVLOWAT), 1);
		set_int(fds[i], SOL_SOCKET, SO_SNDLOWAT, 200);
		cr_assert_eq(get_int(fds[i], SOL_SOCKET, SO_SNDLOWAT), 200);
	}
	zt_close(t);
	zt_close(u);
}

ZT_TEST(sockopts, reuseport_lets_a_second_socket_bind)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int a = zt_socket(AF_INET, SOCK_DGRAM), b = zt_socket(AF_INET, SOCK_DGRAM);

	set_int(a, SOL_SOCKET, SO_REUSEPORT, 1);
	set_int(b, SOL_SOCKET, SO_REUSEPORT, 1);
	len = zt_loopback(AF_INET, 0, &ss);
	cr_assert_eq(zsock_bind(a, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	port = zt_local_port(a);
	len = zt_loopback(AF_INET, port, &ss);
	cr_assert_eq(zsock_bind(b, (struct sockaddr *)&ss, len), 0,
		     "second bind with SO_REUSEPORT: errno %d", errno);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(sockopts, linger_read_back)
{
	int t = zt_socket(AF_INET, SOCK_STREAM);
	struct linger l = { 1, 5 }, r;
	socklen_t len = sizeof(r);
	int small = 1;

	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	cr_assert_eq(zsock_getsockopt(t, SOL_SOCKET, SO_LINGER, &r, &len), 0);
	cr_assert_eq(r.l_onoff, 1);
	cr_assert_eq(r.l_linger, 5);
	/* as Linux: turning it off keeps the time */
	l.l_onoff = 0;
	l.l_linger = 9;
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	len = sizeof(r);
	cr_assert_eq(zsock_getsockopt(t, SOL_SOCKET, SO_LINGER, &r, &len), 0);
	cr_assert_eq(r.l_onoff, 0);
	cr_assert_eq(r.l_linger, 5);
	/* an int is too short for a struct linger */
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_LINGER, &small, sizeof(small)), -1);
	cr_assert_eq(errno, EINVAL);
	len = sizeof(small);
	cr_assert_eq(zsock_getsockopt(t, SOL_SOCKET, SO_LINGER, &small, &len), -1);
	cr_assert_eq(errno, EINVAL);
	zt_close(t);
}

static void linger_zero_resets_peer(int family)
{
	struct linger l = { 1, 0 };
	char buf[8];
	int a, b;

	zt_tcp_pair(family, &a, &b);
	cr_assert_eq(zsock_send(a, "x", 1, 0), 1);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(b, buf, sizeof(buf), 0), 1);
	cr_assert_eq(zsock_setsockopt(a, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	zt_close(a);
	cr_assert_neq(zt_poll1(b, ZSOCK_POLLIN, 5000), 0, "peer saw nothing");
	cr_assert_eq(zsock_recv(b, buf, sizeof(buf), 0), -1, "peer read EOF, not a reset");
	cr_assert_eq(errno, ECONNRESET, "peer: errno %d", errno);
	zt_close(b);
}

ZT_TEST(sockopts, linger_zero_resets_peer_ipv4, .timeout = 30)
{
	linger_zero_resets_peer(AF_INET);
}

ZT_TEST(sockopts, linger_zero_resets_peer_ipv6, .timeout = 30)
{
	linger_zero_resets_peer(AF_INET6);
}

ZT_TEST(sockopts, linger_nonzero_closes_gracefully, .timeout = 30)
{
	struct linger l = { 1, 2 };
	char buf[8];
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_setsockopt(a, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	cr_assert_eq(zsock_send(a, "bye", 3, 0), 3);
	zt_close(a);
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(b, buf, sizeof(buf), ZSOCK_MSG_WAITALL), 3);
	cr_assert_eq(zsock_recv(b, buf, sizeof(buf), 0), 0, "want EOF: errno %d", errno);
	zt_close(b);
}

/* ---- SO_BINDTODEVICE -------------------------------------------------------------- */

ZT_TEST(sockopts, bindtodevice, .timeout = 30)
{
	int t = zt_socket(AF_INET, SOCK_STREAM);
	char dev[16];
	socklen_t len;
	int lo = lo_index();

	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0,
		     "errno %d", errno);
	len = sizeof(dev);
	cr_assert_eq(zsock_getsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_str_eq(dev, "lo");
	cr_assert_eq(pcb_view(t).netif_idx, lo);
	/* too small a buffer for the name */
	len = 2;
	cr_assert_eq(zsock_getsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), -1);
	cr_assert_eq(errno, EINVAL);
	/* no such interface: ENODEV, the binding stays */
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "nope0", 6), -1);
	cr_assert_eq(errno, ENODEV);
	cr_assert_eq(pcb_view(t).netif_idx, lo);
	/* without the NUL, as Linux allows */
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2), 0);
	cr_assert_eq(pcb_view(t).netif_idx, lo);
	/* "" unbinds */
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "", 1), 0);
	len = sizeof(dev);
	cr_assert_eq(zsock_getsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(pcb_view(t).netif_idx, 0);
	/* optlen 0 unbinds too, without reading optval */
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, NULL, 0), 0,
		     "errno %d", errno);
	cr_assert_eq(pcb_view(t).netif_idx, 0);
	cr_assert_eq(zsock_setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, NULL, 3), -1);
	cr_assert_eq(errno, EFAULT);
	zt_close(t);
}

static void bound_to_lo_carries_data(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l, c, s, lo = lo_index();
	char buf[4];

	/* a listener bound to "lo" accepts over loopback; the accepted socket
	 * inherits the device, as on Linux */
	l = zt_socket(family, SOCK_STREAM);
	cr_assert_eq(zsock_setsockopt(l, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
	len = zt_loopback(family, 0, &ss);
	cr_assert_eq(zsock_bind(l, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(zsock_listen(l, 1), 0);
	cr_assert(pcb_view(l).listen);
	cr_assert_eq(pcb_view(l).netif_idx, lo, "listening PCB lost the device");
	port = zt_local_port(l);
	c = zt_socket(family, SOCK_STREAM);
	cr_assert_eq(zsock_setsockopt(c, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
	len = zt_loopback(family, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), 0, "errno %d", errno);
	s = zt_accept(l);
	cr_assert_eq(pcb_view(s).netif_idx, lo);
	len = sizeof(buf);
	cr_assert_eq(zsock_getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, buf, &len), 0);
	cr_assert_str_eq(buf, "lo");
	cr_assert_eq(zsock_send(c, "abc", 3, 0), 3);
	cr_assert_eq(zsock_recv(s, buf, 3, ZSOCK_MSG_WAITALL), 3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(sockopts, bindtodevice_lo_tcp_ipv4, .timeout = 30)
{
	bound_to_lo_carries_data(AF_INET);
}

ZT_TEST(sockopts, bindtodevice_lo_tcp_ipv6, .timeout = 30)
{
	bound_to_lo_carries_data(AF_INET6);
}

/* ---- IPPROTO_TCP ------------------------------------------------------------------ */

ZT_TEST(sockopts, keepalive_timings)
{
	int t = zt_socket(AF_INET6, SOCK_STREAM);
	struct pcb_view v;

	set_int(t, IPPROTO_TCP, TCP_KEEPIDLE, 30);
	set_int(t, IPPROTO_TCP, TCP_KEEPINTVL, 4);
	set_int(t, IPPROTO_TCP, TCP_KEEPCNT, 3);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPINTVL), 4);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPCNT), 3);
	v = pcb_view(t);
	cr_assert_eq(v.keep_idle, 30000u);
	cr_assert_eq(v.keep_intvl, 4000u);
	cr_assert_eq(v.keep_cnt, 3u);
	set_fails(t, IPPROTO_TCP, TCP_KEEPIDLE, 0, EINVAL);
	set_fails(t, IPPROTO_TCP, TCP_KEEPIDLE, 32768, EINVAL);
	set_fails(t, IPPROTO_TCP, TCP_KEEPINTVL, -1, EINVAL);
	set_fails(t, IPPROTO_TCP, TCP_KEEPCNT, 128, EINVAL);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	cr_assert_eq(get_int(t, IPPROTO_TCP, TCP_KEEPCNT), 3);
	zt_close(t);
}

/* The server's PCB disappears without a word (no RST): only a keepalive
 * probe from the client can find that out; lwIP answers it with a RST. */
static int vanish_r(void *p)
{
	struct zs_sock *s = p;

	if (s->pcb.tcp != NULL)
		tcp_abandon(s->pcb.tcp, 0); /* the socket's error callback runs */
	return 0;
}

static void keepalive_finds_dead_peer(bool keepalive, int *err, short *ev)
{
	int a, b;
	char c;

	zt_tcp_pair(AF_INET, &a, &b);
	set_int(a, SOL_SOCKET, SO_KEEPALIVE, keepalive);
	set_int(a, IPPROTO_TCP, TCP_KEEPIDLE, 1);
	set_int(a, IPPROTO_TCP, TCP_KEEPINTVL, 1);
	set_int(a, IPPROTO_TCP, TCP_KEEPCNT, 2);
	zs_reactor_call(vanish_r, zsock_get_context_object(b));
	*ev = zt_poll1(a, ZSOCK_POLLIN, 4000);
	*err = 0;
	if (*ev != 0 && zsock_recv(a, &c, 1, ZSOCK_MSG_DONTWAIT) < 0)
		*err = errno;
	zt_close(a);
	zt_close(b);
}

ZT_TEST(sockopts, keepalive_probes_find_a_vanished_peer, .timeout = 30)
{
	int err;
	short ev;

	keepalive_finds_dead_peer(true, &err, &ev);
	cr_assert_neq(ev, 0, "keepalive: the dead peer went unnoticed for 4 s");
	cr_assert_eq(err, ECONNRESET, "keepalive: errno %d", err);
	/* the control: without keepalive an idle connection notices nothing */
	keepalive_finds_dead_peer(false, &err, &ev);
	cr_assert_eq(ev, 0, "no keepalive, yet revents 0x%x", ev);
}

/* Linux carries these from the listener to accepted sockets */
static void inherited_by_accept(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int l = zt_socket(family, SOCK_STREAM), c, s;
	int tl = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int tos = family == AF_INET ? IP_TOS : IPV6_TCLASS;
	int ttl = family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
	struct pcb_view v;

	set_int(l, SOL_SOCKET, SO_KEEPALIVE, 1);
	set_int(l, IPPROTO_TCP, TCP_KEEPIDLE, 11);
	set_int(l, IPPROTO_TCP, TCP_KEEPINTVL, 2);
	set_int(l, IPPROTO_TCP, TCP_KEEPCNT, 4);
	set_int(l, IPPROTO_TCP, TCP_NODELAY, 1);
	set_int(l, tl, tos, 0x20);
	set_int(l, tl, ttl, 33);
	len = zt_loopback(family, 0, &ss);
	cr_assert_eq(zsock_bind(l, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(zsock_listen(l, 1), 0);
	v = pcb_view(l);
	cr_assert(v.listen);
	cr_assert_eq(v.tos, 0x20);
	cr_assert_eq(v.ttl, 33);
	cr_assert(v.so_options & SOF_KEEPALIVE);
	cr_assert_eq(get_int(l, tl, ttl), 33);
	port = zt_local_port(l);
	c = zt_connect(family, port);
	s = zt_accept(l);
	cr_assert_eq(get_int(s, SOL_SOCKET, SO_KEEPALIVE), 1);
	cr_assert_eq(get_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 11);
	cr_assert_eq(get_int(s, IPPROTO_TCP, TCP_KEEPINTVL), 2);
	cr_assert_eq(get_int(s, IPPROTO_TCP, TCP_KEEPCNT), 4);
	cr_assert_neq(get_int(s, IPPROTO_TCP, TCP_NODELAY), 0);
	cr_assert_eq(get_int(s, tl, tos), 0x20);
	cr_assert_eq(get_int(s, tl, ttl), 33);
	v = pcb_view(s);
	cr_assert(v.so_options & SOF_KEEPALIVE);
	cr_assert_eq(v.keep_idle, 11000u);
	cr_assert_eq(v.keep_intvl, 2000u);
	cr_assert_eq(v.keep_cnt, 4u);
	cr_assert(v.nagle_off);
	cr_assert_eq(v.tos, 0x20);
	cr_assert_eq(v.ttl, 33);
	/* the client did not set anything */
	v = pcb_view(c);
	cr_assert_eq(v.so_options & SOF_KEEPALIVE, 0);
	cr_assert_eq(v.ttl, 64);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

ZT_TEST(sockopts, inherited_by_accept_ipv4, .timeout = 30)
{
	inherited_by_accept(AF_INET);
}

ZT_TEST(sockopts, inherited_by_accept_ipv6, .timeout = 30)
{
	inherited_by_accept(AF_INET6);
}

ZT_TEST(sockopts, kept_across_failed_connect, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port, dead;
	int l, c, s, probe;
	struct pcb_view v;

	/* a port with nobody listening */
	probe = zt_udp_bound(AF_INET, &dead);
	l = zt_listener(AF_INET, 1, &port);
	c = zt_socket(AF_INET, SOCK_STREAM);
	set_int(c, SOL_SOCKET, SO_KEEPALIVE, 1);
	set_int(c, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	set_int(c, IPPROTO_IP, IP_TTL, 17);
	set_int(c, IPPROTO_IP, IP_TOS, 0x08);
	len = zt_loopback(AF_INET, dead, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, ECONNREFUSED, "errno %d", errno);
	len = zt_loopback(AF_INET, port, &ss);
	cr_assert_eq(zsock_connect(c, (struct sockaddr *)&ss, len), 0, "errno %d", errno);
	s = zt_accept(l);
	v = pcb_view(c); /* a new PCB, made by connect */
	cr_assert(v.so_options & SOF_KEEPALIVE);
	cr_assert_eq(v.keep_idle, 77000u);
	cr_assert_eq(v.ttl, 17);
	cr_assert_eq(v.tos, 0x08);
	zt_close(probe);
	zt_close(c);
	zt_close(s);
	zt_close(l);
}

/* ---- IPPROTO_IP / IPPROTO_IPV6 ----------------------------------------------------- */

ZT_TEST(sockopts, ip_tos_ttl)
{
	int u = zt_socket(AF_INET, SOCK_DGRAM);
	struct pcb_view v;

	set_int(u, IPPROTO_IP, IP_TOS, 0x10);
	set_int(u, IPPROTO_IP, IP_TTL, 5);
	set_int(u, IPPROTO_IP, IP_MULTICAST_TTL, 9);
	cr_assert_eq(get_int(u, IPPROTO_IP, IP_TOS), 0x10);
	cr_assert_eq(get_int(u, IPPROTO_IP, IP_TTL), 5);
	cr_assert_eq(get_int(u, IPPROTO_IP, IP_MULTICAST_TTL), 9);
	v = pcb_view(u);
	cr_assert_eq(v.tos, 0x10);
	cr_assert_eq(v.ttl, 5);
	cr_assert_eq(v.mcast_ttl, 9);
	set_fails(u, IPPROTO_IP, IP_TTL, 0, EINVAL);
	set_fails(u, IPPROTO_IP, IP_TTL, 256, EINVAL);
	set_fails(u, IPPROTO_IP, IP_MULTICAST_TTL, 256, EINVAL);
	cr_assert_eq(get_int(u, IPPROTO_IP, IP_TTL), 5);
	/* -1: back to the default */
	set_int(u, IPPROTO_IP, IP_TTL, -1);
	cr_assert_eq(get_int(u, IPPROTO_IP, IP_TTL), 64);
	set_int(u, IPPROTO_IP, IP_MULTICAST_TTL, -1);
	cr_assert_eq(get_int(u, IPPROTO_IP, IP_MULTICAST_TTL), 1);
	v = pcb_view(u);
	cr_assert_eq(v.ttl, 64);
	cr_assert_eq(v.mcast_ttl, 1);
	zt_close(u);
}

ZT_TEST(sockopts, ip_multicast_ttl_not_on_tcp)
{
	int t = zt_socket(AF_INET, SOCK_STREAM);

	set_fails(t, IPPROTO_IP, IP_MULTICAST_TTL, 4, EINVAL);
	zt_close(t);
}

ZT_TEST(sockopts, ipv6_tclass_hops_v6only)
{
	int u = zt_socket(AF_INET6, SOCK_DGRAM);
	struct sockaddr_storage ss;
	socklen_t len;
	struct pcb_view v;

	set_int(u, IPPROTO_IPV6, IPV6_TCLASS, 0xb8);
	set_int(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7);
	cr_assert_eq(get_int(u, IPPROTO_IPV6, IPV6_TCLASS), 0xb8);
	cr_assert_eq(get_int(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 7);
	v = pcb_view(u);
	cr_assert_eq(v.tos, 0xb8);
	cr_assert_eq(v.ttl, 7);
	set_fails(u, IPPROTO_IPV6, IPV6_TCLASS, 256, EINVAL);
	set_fails(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -2, EINVAL);
	set_int(u, IPPROTO_IPV6, IPV6_TCLASS, -1);
	cr_assert_eq(get_int(u, IPPROTO_IPV6, IPV6_TCLASS), 0);
	set_int(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1);
	cr_assert_eq(get_int(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 64);
	/* V6ONLY: recorded; fixed once bound */
	set_int(u, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	cr_assert_eq(get_int(u, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	set_int(u, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	len = zt_loopback(AF_INET6, 0, &ss);
	cr_assert_eq(zsock_bind(u, (struct sockaddr *)&ss, len), 0);
	set_fails(u, IPPROTO_IPV6, IPV6_V6ONLY, 0, EINVAL);
	cr_assert_eq(get_int(u, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	zt_close(u);
}

/* ---- multicast ---------------------------------------------------------------------- */

#define GROUP "224.0.0.123"

static struct ip_mreq mreq_lo(const char *group)
{
	struct ip_mreq m;

	memset(&m, 0, sizeof(m));
	cr_assert_eq(zsock_inet_pton(AF_INET, group, &m.imr_multiaddr), 1);
	cr_assert_eq(zsock_inet_pton(AF_INET, "127.0.0.1", &m.imr_interface), 1);
	return m;
}

ZT_TEST(sockopts, multicast_on_lo_delivers, .timeout = 30)
{
	struct sockaddr_in any, to;
	struct ip_mreq m = mreq_lo(GROUP);
	int r = zt_socket(AF_INET, SOCK_DGRAM), s = zt_socket(AF_INET, SOCK_DGRAM);
	uint16_t port;
	char buf[16];

	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	cr_assert_eq(zsock_bind(r, (struct sockaddr *)&any, sizeof(any)), 0);
	port = zt_local_port(r);
	cr_assert_eq(zsock_setsockopt(r, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), 0,
		     "errno %d", errno);
	/* the sender leaves through "lo", TTL 3 for the group */
	cr_assert_eq(zsock_setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
	set_int(s, IPPROTO_IP, IP_MULTICAST_TTL, 3);
	cr_assert_eq(pcb_view(s).mcast_ttl, 3);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(port);
	to.sin_addr = m.imr_multiaddr;
	cr_assert_eq(zsock_sendto(s, "group", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5,
		     "sendto: errno %d", errno);
	cr_assert_eq(zt_poll1(r, ZSOCK_POLLIN, 3000), ZSOCK_POLLIN, "nothing from the group");
	cr_assert_eq(zsock_recv(r, buf, sizeof(buf), 0), 5);
	cr_assert_eq(memcmp(buf, "group", 5), 0);

	/* after leaving, the group's datagrams no longer arrive */
	cr_assert_eq(zsock_setsockopt(r, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)), 0,
		     "errno %d", errno);
	cr_assert_eq(zsock_sendto(s, "again", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	cr_assert_eq(zt_poll1(r, ZSOCK_POLLIN, 300), 0, "a datagram after leaving the group");
	zt_close(r);
	zt_close(s);
}

ZT_TEST(sockopts, multicast_membership_errors)
{
	struct ip_mreq m = mreq_lo(GROUP), bad;
	struct ip_mreqn mn;
	int u = zt_socket(AF_INET, SOCK_DGRAM), t = zt_socket(AF_INET, SOCK_STREAM);

	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), 0,
		     "errno %d", errno);
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), -1);
	cr_assert_eq(errno, EADDRINUSE, "second join: errno %d", errno);
	/* ip_mreqn by interface index (lwIP's netif index) */
	memset(&mn, 0, sizeof(mn));
	cr_assert_eq(zsock_inet_pton(AF_INET, "224.0.0.124", &mn.imr_multiaddr), 1);
	mn.imr_ifindex = lo_index();
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn, sizeof(mn)), 0,
		     "ip_mreqn: errno %d", errno);
	mn.imr_ifindex = 200;
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn, sizeof(mn)), -1);
	cr_assert_eq(errno, ENODEV);
	/* not a group address */
	bad = mreq_lo("10.1.2.3");
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &bad, sizeof(bad)), -1);
	cr_assert_eq(errno, EINVAL);
	/* no interface with that address */
	bad = mreq_lo("224.0.0.125");
	cr_assert_eq(zsock_inet_pton(AF_INET, "10.9.9.9", &bad.imr_interface), 1);
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &bad, sizeof(bad)), -1);
	cr_assert_eq(errno, ENODEV);
	/* short */
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, 4), -1);
	cr_assert_eq(errno, EINVAL);
	/* leave twice */
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)), 0);
	cr_assert_eq(zsock_setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)), -1);
	cr_assert_eq(errno, EADDRNOTAVAIL);
	/* not for TCP, and not readable */
	cr_assert_eq(zsock_setsockopt(t, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), -1);
	cr_assert_eq(errno, EPROTO);
	get_fails(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, ENOPROTOOPT);
	/* 224.0.0.124 is still joined: close leaves it */
	zt_close(u);
	zt_close(t);
}

/* ---- lengths ------------------------------------------------------------------------ */

ZT_TEST(sockopts, short_lengths)
{
	static const struct {
		int level, name;
	} opts[] = {
		{ SOL_SOCKET, SO_RCVBUF },    { SOL_SOCKET, SO_SNDBUF },
		{ SOL_SOCKET, SO_REUSEPORT }, { SOL_SOCKET, SO_KEEPALIVE },
		{ SOL_SOCKET, SO_PRIORITY },  { SOL_SOCKET, SO_BROADCAST },
		{ IPPROTO_TCP, TCP_KEEPIDLE }, { IPPROTO_TCP, TCP_KEEPINTVL },
		{ IPPROTO_TCP, TCP_KEEPCNT },  { IPPROTO_IP, IP_TOS },
		{ IPPROTO_IP, IP_TTL },        { SOL_SOCKET, SO_DEBUG },
		{ SOL_SOCKET, SO_RCVLOWAT },
	};
	int t4 = zt_socket(AF_INET, SOCK_STREAM), t6 = zt_socket(AF_INET6, SOCK_STREAM);
	int v6[] = { IPV6_V6ONLY, IPV6_TCLASS, IPV6_UNICAST_HOPS };
	int v = 1;
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		socklen_t len = 2;

		cr_assert_eq(zsock_setsockopt(t4, opts[i].level, opts[i].name, &v, 2), -1);
		cr_assert_eq(errno, EINVAL, "set %d/%d: errno %d", opts[i].level, opts[i].name, errno);
		cr_assert_eq(zsock_getsockopt(t4, opts[i].level, opts[i].name, &v, &len), -1);
		cr_assert_eq(errno, EINVAL, "get %d/%d: errno %d", opts[i].level, opts[i].name, errno);
	}
	for (i = 0; i < 3; i++) {
		socklen_t len = 3;

		cr_assert_eq(zsock_setsockopt(t6, IPPROTO_IPV6, v6[i], &v, 3), -1);
		cr_assert_eq(errno, EINVAL);
		cr_assert_eq(zsock_getsockopt(t6, IPPROTO_IPV6, v6[i], &v, &len), -1);
		cr_assert_eq(errno, EINVAL);
	}
	zt_close(t4);
	zt_close(t6);
}
