/*
 * sendmsg/recvmsg, ioctl, gethostname and get_context_object over loopback.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "zt.h"

static void fill_iov(struct iovec *v, void *base, size_t len)
{
	v->iov_base = base;
	v->iov_len = len;
}

ZT_TEST(msg, tcp_gather_and_scatter, .timeout = 30)
{
	int fam[] = ZT_FAMILIES;
	size_t k;

	for (k = 0; k < 2; k++) {
		char a[] = "hello, ", b[] = "", c[] = "scattered world";
		char o1[5], o2[3], o3[64];
		struct iovec out[3], in[3];
		struct msghdr m = { 0 };
		ssize_t n;
		int cli, srv;

		zt_tcp_pair(fam[k], &cli, &srv);
		fill_iov(&out[0], a, strlen(a));
		fill_iov(&out[1], b, 0);
		fill_iov(&out[2], c, strlen(c));
		m.msg_iov = out;
		m.msg_iovlen = 3;
		n = zsock_sendmsg(cli, &m, 0);
		cr_assert_eq(n, (ssize_t)(strlen(a) + strlen(c)), "sendmsg: %zd (errno %d)", n, errno);

		memset(&m, 0, sizeof(m));
		memset(o3, 0, sizeof(o3));
		fill_iov(&in[0], o1, sizeof(o1));
		fill_iov(&in[1], o2, sizeof(o2));
		fill_iov(&in[2], o3, 14); /* exactly what is left: WAITALL fills every buffer */
		m.msg_iov = in;
		m.msg_iovlen = 3;
		/* WAITALL: one call scatters all 22 bytes over the three buffers */
		n = zsock_recvmsg(srv, &m, ZSOCK_MSG_WAITALL);
		cr_assert_eq(n, (ssize_t)(strlen(a) + strlen(c)), "recvmsg: %zd (errno %d)", n, errno);
		cr_assert_eq(memcmp(o1, "hello", 5), 0);
		cr_assert_eq(memcmp(o2, ", s", 3), 0);
		cr_assert_str_eq(o3, "cattered world");
		cr_assert_eq(m.msg_flags, 0);
		zt_close(cli);
		zt_close(srv);
	}
}

ZT_TEST(msg, udp_one_datagram_from_many_buffers, .timeout = 30)
{
	int fam[] = ZT_FAMILIES;
	size_t k;

	for (k = 0; k < 2; k++) {
		uint16_t pb;
		int a = zt_socket(fam[k], SOCK_DGRAM), b = zt_udp_bound(fam[k], &pb);
		struct sockaddr_storage to, from;
		socklen_t tl = zt_loopback(fam[k], pb, &to);
		char p1[] = "abc", p2[] = "defgh", got[16] = { 0 };
		struct iovec out[2], in[1];
		struct msghdr m = { 0 };
		ssize_t n;

		fill_iov(&out[0], p1, 3);
		fill_iov(&out[1], p2, 5);
		m.msg_name = &to;
		m.msg_namelen = tl;
		m.msg_iov = out;
		m.msg_iovlen = 2;
		cr_assert_eq(zsock_sendmsg(a, &m, 0), 8, "errno %d", errno);

		memset(&m, 0, sizeof(m));
		fill_iov(&in[0], got, sizeof(got));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = in;
		m.msg_iovlen = 1;
		n = zsock_recvmsg(b, &m, 0);
		cr_assert_eq(n, 8, "one datagram of 8 bytes: %zd", n);
		cr_assert_str_eq(got, "abcdefgh");
		cr_assert_eq(m.msg_flags, 0);
		cr_assert_eq(m.msg_namelen,
			     fam[k] == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		cr_assert(zt_is_loopback(&from, fam[k]));
		cr_assert_eq(zt_port_of(&from), zt_local_port(a));
		zt_close(a);
		zt_close(b);
	}
}

ZT_TEST(msg, udp_truncation_sets_msg_trunc, .timeout = 30)
{
	int a, b;
	char small[4], rest[4];
	struct iovec in[1];
	struct msghdr m = { 0 };

	zt_udp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_send(a, "0123456789", 10, 0), 10);
	cr_assert_eq(zsock_send(a, "xy", 2, 0), 2);
	fill_iov(&in[0], small, sizeof(small));
	m.msg_iov = in;
	m.msg_iovlen = 1;
	cr_assert_eq(zsock_recvmsg(b, &m, ZSOCK_MSG_PEEK), 4);
	cr_assert(m.msg_flags & ZSOCK_MSG_TRUNC, "PEEK of a longer datagram: MSG_TRUNC");
	cr_assert_eq(zsock_recvmsg(b, &m, ZSOCK_MSG_TRUNC), 10, "MSG_TRUNC: real length");
	cr_assert(m.msg_flags & ZSOCK_MSG_TRUNC);
	cr_assert_eq(memcmp(small, "0123", 4), 0);
	/* the rest of the first datagram is gone: next is "xy" */
	fill_iov(&in[0], rest, sizeof(rest));
	cr_assert_eq(zsock_recvmsg(b, &m, 0), 2);
	cr_assert_eq(m.msg_flags, 0);
	cr_assert_eq(memcmp(rest, "xy", 2), 0);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(msg, bad_msghdr, .timeout = 30)
{
#if CONFIG_ZSOCK_HOSTED
	static struct iovec many[ZSOCK_IOV_MAX + 1];
#else
	/* 8 KiB: in flash on the board, short of RAM (sendmsg only reads it) */
	static const struct iovec many_ro[ZSOCK_IOV_MAX + 1] = { { 0 } };
	struct iovec *many = (struct iovec *)many_ro;
#endif
	struct iovec v = { .iov_base = NULL, .iov_len = 5 };
	struct msghdr m = { 0 };
	int a, b;

	zt_udp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_sendmsg(a, NULL, 0), -1);
	cr_assert_eq(errno, EFAULT);
	cr_assert_eq(zsock_recvmsg(a, NULL, 0), -1);
	cr_assert_eq(errno, EFAULT);
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	cr_assert_eq(zsock_sendmsg(a, &m, 0), -1);
	cr_assert_eq(errno, EFAULT, "NULL iov_base with a length");
	m.msg_iov = NULL;
	cr_assert_eq(zsock_sendmsg(a, &m, 0), -1);
	cr_assert_eq(errno, EFAULT, "NULL msg_iov with msg_iovlen 1");
	m.msg_iov = many;
	m.msg_iovlen = ZSOCK_IOV_MAX + 1;
	cr_assert_eq(zsock_sendmsg(a, &m, 0), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(zsock_sendmsg(-1, &m, 0), -1);
	cr_assert_eq(errno, EBADF);
	zt_close(a);
	zt_close(b);
}

ZT_TEST(msg, fionread, .timeout = 30)
{
	int cli, srv, a, b, n = -1;
	char buf[100];

	zt_tcp_pair(AF_INET, &cli, &srv);
	cr_assert_eq(zsock_ioctl(srv, FIONREAD, &n), 0);
	cr_assert_eq(n, 0);
	zt_send_all(cli, "0123456789", 10);
	for (int i = 0; i < 200 && n != 10; i++) {
		cr_assert_eq(zsock_ioctl(srv, FIONREAD, &n), 0);
		if (n != 10)
			zt_sleep_ms(5);
	}
	cr_assert_eq(n, 10, "FIONREAD on TCP: queued bytes");
	cr_assert_eq(zsock_recv(srv, buf, 3, 0), 3);
	cr_assert_eq(zsock_ioctl(srv, FIONREAD, &n), 0);
	cr_assert_eq(n, 7, "after reading 3 of 10");
	cr_assert_eq(zsock_ioctl(srv, FIONREAD, NULL), -1);
	cr_assert_eq(errno, EFAULT);
	cr_assert_eq(zsock_ioctl(srv, 0x12345678, &n), -1);
	cr_assert_eq(errno, EINVAL);
	zt_close(cli);
	zt_close(srv);

	zt_udp_pair(AF_INET6, &a, &b);
	cr_assert_eq(zsock_ioctl(b, FIONREAD, &n), 0);
	cr_assert_eq(n, 0, "no datagram yet");
	cr_assert_eq(zsock_send(a, "hello", 5, 0), 5);
	cr_assert_eq(zsock_send(a, "hi", 2, 0), 2);
	cr_assert(zt_poll1(b, ZSOCK_POLLIN, 2000) & ZSOCK_POLLIN);
	cr_assert_eq(zsock_ioctl(b, FIONREAD, &n), 0);
	cr_assert_eq(n, 5, "UDP: the next datagram's size, not the total");
	zt_close(a);
	zt_close(b);
}

ZT_TEST(msg, fionbio, .timeout = 30)
{
	int cli, srv, on = 1, off = 0;
	char c;

	zt_tcp_pair(AF_INET, &cli, &srv);
	cr_assert_eq(zsock_ioctl(srv, FIONBIO, &on), 0);
	cr_assert(zsock_fcntl(srv, F_GETFL, 0) & O_NONBLOCK);
	cr_assert_eq(zsock_recv(srv, &c, 1, 0), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(zsock_ioctl(srv, FIONBIO, &off), 0);
	cr_assert_eq(zsock_fcntl(srv, F_GETFL, 0) & O_NONBLOCK, 0);
	zt_close(cli);
	zt_close(srv);
}

ZT_TEST(msg, gethostname)
{
	char name[64], tiny[3];

	cr_assert_eq(zsock_gethostname(name, sizeof(name)), 0);
	cr_assert_str_eq(name, CONFIG_NET_HOSTNAME);
	cr_assert_eq(zsock_gethostname(tiny, sizeof(tiny)), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	cr_assert_eq(zsock_gethostname(NULL, 10), -1);
	cr_assert_eq(errno, EFAULT);
}

ZT_TEST(msg, context_object)
{
	int a = zt_socket(AF_INET, SOCK_STREAM), b = zt_socket(AF_INET, SOCK_DGRAM);
	void *oa = zsock_get_context_object(a), *ob = zsock_get_context_object(b);

	cr_assert_not_null(oa);
	cr_assert_not_null(ob);
	cr_assert_neq(oa, ob);
	cr_assert_eq(zsock_get_context_object(a), oa, "stable while open");
	zt_close(a);
	zt_close(b);
	cr_assert_null(zsock_get_context_object(a));
	cr_assert_eq(errno, EBADF);
	cr_assert_null(zsock_get_context_object(-1));
}
