/*
 * Bad arguments to every call (CONFORMANCE.md "Never" and "Descriptors"):
 * each gets its errno and nothing crashes, hangs or leaks (ZT_TEST checks
 * the engine's pools after each test).
 *
 * Where the headers and CONFORMANCE.md are silent, the expected errno is
 * Linux's.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zsock/zsock_config.h>
#if CONFIG_ZSOCK_HOSTED
#include <sys/mman.h>
#endif
#include <unistd.h>

#include "zt.h"

/* Linux's numbers, for a libc without them (picolibc): refused all the same */
#ifndef AF_APPLETALK
#define AF_APPLETALK 5
#endif
#ifndef SOCK_SEQPACKET
#define SOCK_SEQPACKET 5
#endif

#define EXPECT_FAIL(call, err)                                                        \
	do {                                                                          \
		errno = 0;                                                            \
		long long rc_ = (long long)(call);                                    \
		int e_ = errno;                                                       \
		cr_assert_eq(rc_, -1, "%s returned %lld, want -1/%s", #call, rc_, #err); \
		cr_assert_eq(e_, err, "%s: errno %d (%s), want %s", #call, e_,        \
			     strerror(e_), #err);                                     \
	} while (0)

/* ---- bad fds ------------------------------------------------------------------------------ */

/* Every call that takes an fd, on fd. */
static void all_calls_ebadf(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 1234, &ss), l2 = sizeof(ss);
	struct timeval tv = { 1, 0 };
	char buf[16] = { 0 };
	int v = 1;
	socklen_t vl = sizeof(v);

	EXPECT_FAIL(zsock_bind(fd, (struct sockaddr *)&ss, len), EBADF);
	EXPECT_FAIL(zsock_connect(fd, (struct sockaddr *)&ss, len), EBADF);
	EXPECT_FAIL(zsock_listen(fd, 1), EBADF);
	EXPECT_FAIL(zsock_accept(fd, NULL, NULL), EBADF);
	EXPECT_FAIL(zsock_accept(fd, (struct sockaddr *)&ss, &l2), EBADF);
	EXPECT_FAIL(zsock_send(fd, buf, sizeof(buf), 0), EBADF);
	EXPECT_FAIL(zsock_sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, len), EBADF);
	EXPECT_FAIL(zsock_recv(fd, buf, sizeof(buf), 0), EBADF);
	EXPECT_FAIL(zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EBADF);
	EXPECT_FAIL(zsock_recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &l2), EBADF);
	EXPECT_FAIL(zsock_shutdown(fd, ZSOCK_SHUT_RDWR), EBADF);
	EXPECT_FAIL(zsock_fcntl(fd, F_GETFL, 0), EBADF);
	EXPECT_FAIL(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), EBADF);
	EXPECT_FAIL(zsock_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl), EBADF);
	EXPECT_FAIL(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EBADF);
	EXPECT_FAIL(zsock_getsockname(fd, (struct sockaddr *)&ss, &l2), EBADF);
	EXPECT_FAIL(zsock_getpeername(fd, (struct sockaddr *)&ss, &l2), EBADF);
	EXPECT_FAIL(zsock_close(fd), EBADF);
}

ZT_TEST(badinput, ebadf_negative)
{
	all_calls_ebadf(-1);
	all_calls_ebadf(INT_MIN);
}

ZT_TEST(badinput, ebadf_out_of_range)
{
	all_calls_ebadf(9999);
	all_calls_ebadf(ZSOCK_FD_SETSIZE);
	all_calls_ebadf(INT_MAX);
}

ZT_TEST(badinput, ebadf_never_opened)
{
	/* in range, nothing there (a fresh process has no sockets) */
	all_calls_ebadf(3);
}

ZT_TEST(badinput, ebadf_closed)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET6, SOCK_DGRAM);

	zt_close(t);
	zt_close(u);
	all_calls_ebadf(t);
	all_calls_ebadf(u);
}

ZT_TEST(badinput, ebadf_closed_listener_and_connection, .timeout = 30)
{
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port), a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	zt_close(l);
	zt_close(a);
	zt_close(b);
	all_calls_ebadf(l);
	all_calls_ebadf(a);
	all_calls_ebadf(b);
}

/* ---- NULL pointers -------------------------------------------------------------------------- */

ZT_TEST(badinput, null_buffers_efault, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int a, b, u1, u2;

	zt_tcp_pair(AF_INET, &a, &b);
	EXPECT_FAIL(zsock_send(a, NULL, 10, 0), EFAULT);
	EXPECT_FAIL(zsock_sendto(a, NULL, 10, 0, NULL, 0), EFAULT);
	/* data queued: recv into NULL must not consume or crash */
	cr_assert_eq(zsock_send(b, "q", 1, 0), 1);
	cr_assert_eq(zt_poll1(a, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	EXPECT_FAIL(zsock_recv(a, NULL, 10, 0), EFAULT);
	EXPECT_FAIL(zsock_recvfrom(a, NULL, 10, 0, NULL, NULL), EFAULT);
	{
		char c;

		cr_assert_eq(zsock_recv(a, &c, 1, 0), 1, "the byte was lost");
		cr_assert_eq(c, 'q');
	}

	zt_udp_pair(AF_INET6, &u1, &u2);
	len = zt_loopback(AF_INET6, zt_local_port(u2), &ss);
	EXPECT_FAIL(zsock_send(u1, NULL, 10, 0), EFAULT);
	EXPECT_FAIL(zsock_sendto(u1, NULL, 10, 0, (struct sockaddr *)&ss, len), EFAULT);
	cr_assert_eq(zsock_send(u1, "d", 1, 0), 1);
	cr_assert_eq(zt_poll1(u2, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	EXPECT_FAIL(zsock_recv(u2, NULL, 10, 0), EFAULT);
	zt_close(a);
	zt_close(b);
	zt_close(u1);
	zt_close(u2);
}

ZT_TEST(badinput, null_addresses, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t port;
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET, SOCK_DGRAM);
	int l = zt_listener(AF_INET, 1, &port);

	EXPECT_FAIL(zsock_bind(t, NULL, sizeof(struct sockaddr_in)), EFAULT);
	EXPECT_FAIL(zsock_connect(t, NULL, sizeof(struct sockaddr_in)), EFAULT);
	EXPECT_FAIL(zsock_bind(u, NULL, sizeof(struct sockaddr_in)), EFAULT);
	EXPECT_FAIL(zsock_connect(u, NULL, sizeof(struct sockaddr_in)), EFAULT);
	EXPECT_FAIL(zsock_getsockname(t, NULL, &len), EFAULT);
	EXPECT_FAIL(zsock_getsockname(t, (struct sockaddr *)&ss, NULL), EFAULT);
	EXPECT_FAIL(zsock_getpeername(t, NULL, &len), EFAULT);
	EXPECT_FAIL(zsock_getpeername(t, (struct sockaddr *)&ss, NULL), EFAULT);
	/* addr without addrlen: <zsock/socket.h> says EINVAL */
	EXPECT_FAIL(zsock_accept(l, (struct sockaddr *)&ss, NULL), EINVAL);
	EXPECT_FAIL(zsock_recvfrom(u, &ss, 1, ZSOCK_MSG_DONTWAIT, (struct sockaddr *)&ss, NULL),
		    EFAULT);
	zt_close(t);
	zt_close(u);
	zt_close(l);
}

ZT_TEST(badinput, null_poll_and_stats)
{
	EXPECT_FAIL(zsock_poll(NULL, 1, 0), EFAULT);
	EXPECT_FAIL(zsock_engine_stats(NULL), EFAULT);
}

/* ---- lengths --------------------------------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED
/*
 * A buffer of `valid` bytes that ends at an inaccessible page, so a call
 * that reads or writes past what it may touch faults at once instead of
 * scribbling on the heap.
 */
static uint8_t *guarded(size_t valid, void **map, size_t *maplen)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *m;

	*maplen = 2 * (size_t)page;
	m = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m + page, (size_t)page, PROT_NONE), 0);
	*map = m;
	return m + page - valid;
}

static void unguard(void *map, size_t maplen)
{
	munmap(map, maplen);
}
#else
/*
 * No mmap() on the board: the `valid` bytes are followed by a canary,
 * checked by unguard(). It catches a write past them, not a read.
 */
static uint8_t guard_area[16 + 256];

static uint8_t *guarded(size_t valid, void **map, size_t *maplen)
{
	cr_assert_leq(valid, 16);
	memset(guard_area, 0xa5, sizeof(guard_area));
	*map = guard_area + valid;
	*maplen = sizeof(guard_area) - valid;
	return guard_area;
}

static void unguard(void *map, size_t maplen)
{
	const uint8_t *canary = map;

	for (size_t i = 0; i < maplen; i++)
		cr_assert_eq(canary[i], 0xa5, "a call wrote byte %zu past the buffer", i);
}
#endif

ZT_TEST(badinput, huge_udp_lengths, .timeout = 30)
{
	void *map;
	size_t maplen;
	uint8_t *buf = guarded(16, &map, &maplen);
	int a, b;

	ssize_t n;

	zt_udp_pair(AF_INET, &a, &b);
	/* negative as ssize_t: Linux says EMSGSIZE (too long for UDP), the
	 * engine may refuse the length itself (EINVAL); nothing is read */
	n = zsock_send(a, buf, (size_t)-1, 0);
	cr_assert(n == -1 && (errno == EMSGSIZE || errno == EINVAL),
		  "UDP send of (size_t)-1 bytes: %zd (errno %d)", n, errno);
	n = zsock_send(a, buf, SIZE_MAX / 2 + 1, 0);
	cr_assert(n == -1 && (errno == EMSGSIZE || errno == EINVAL),
		  "UDP send of SSIZE_MAX + 1 bytes: %zd (errno %d)", n, errno);
	/* merely too long for a datagram */
	EXPECT_FAIL(zsock_send(a, buf, SSIZE_MAX, 0), EMSGSIZE);
	EXPECT_FAIL(zsock_send(a, buf, 65508, 0), EMSGSIZE);
	zt_close(a);
	zt_close(b);
	unguard(map, maplen);
}

/*
 * A length that is negative as ssize_t cannot be a buffer's size: Linux
 * caps it and then faults (EFAULT); the engine may refuse it (EINVAL).
 * What it must not do is read or write past the 16 valid bytes.
 */
ZT_TEST(badinput, negative_stream_lengths, .timeout = 30)
{
	struct timeval tv = { 0, 200000 };
	void *map;
	size_t maplen;
	uint8_t *buf = guarded(16, &map, &maplen);
	ssize_t n;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	cr_assert_eq(zsock_setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	memset(buf, 'x', 16);
	n = zsock_send(a, buf, (size_t)-1, 0);
	cr_assert(n == -1 && (errno == EINVAL || errno == EFAULT),
		  "send of (size_t)-1 bytes: %zd (errno %d)", n, errno);
	n = zsock_send(a, buf, (size_t)SSIZE_MAX + 1, 0);
	cr_assert(n == -1 && (errno == EINVAL || errno == EFAULT),
		  "send of SSIZE_MAX + 1 bytes: %zd (errno %d)", n, errno);
	zt_close(a);
	zt_close(b);
	unguard(map, maplen);
}

ZT_TEST(badinput, negative_recv_lengths, .timeout = 30)
{
	static uint8_t out[100];
	void *map;
	size_t maplen;
	uint8_t *buf = guarded(16, &map, &maplen);
	ssize_t n;
	int a, b, u1, u2;

	/* 100 bytes wait on each socket; the buffer holds 16 */
	zt_tcp_pair(AF_INET, &a, &b);
	zt_send_all(a, out, sizeof(out));
	cr_assert_eq(zt_poll1(b, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	n = zsock_recv(b, buf, (size_t)-1, 0);
	cr_assert(n == -1 && (errno == EINVAL || errno == EFAULT),
		  "TCP recv with length (size_t)-1: %zd (errno %d)", n, errno);

	zt_udp_pair(AF_INET, &u1, &u2);
	cr_assert_eq(zsock_send(u1, out, sizeof(out), 0), (ssize_t)sizeof(out));
	cr_assert_eq(zt_poll1(u2, ZSOCK_POLLIN, 5000), ZSOCK_POLLIN);
	n = zsock_recv(u2, buf, (size_t)-1, 0);
	cr_assert(n == -1 && (errno == EINVAL || errno == EFAULT),
		  "UDP recv with length (size_t)-1: %zd (errno %d)", n, errno);
	zt_close(a);
	zt_close(b);
	zt_close(u1);
	zt_close(u2);
	unguard(map, maplen);
}

ZT_TEST(badinput, bad_address_lengths, .timeout = 30)
{
	struct sockaddr_storage ss4, ss6;
	int t4 = zt_socket(AF_INET, SOCK_STREAM), t6 = zt_socket(AF_INET6, SOCK_STREAM);
	int u4 = zt_socket(AF_INET, SOCK_DGRAM), u6 = zt_socket(AF_INET6, SOCK_DGRAM);
	socklen_t l4 = zt_loopback(AF_INET, 4000, &ss4), l6 = zt_loopback(AF_INET6, 4000, &ss6);
	socklen_t shorts[] = { 0, 1, 2, 8 };

	for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
		EXPECT_FAIL(zsock_bind(t4, (struct sockaddr *)&ss4, shorts[i]), EINVAL);
		EXPECT_FAIL(zsock_connect(t4, (struct sockaddr *)&ss4, shorts[i]), EINVAL);
		EXPECT_FAIL(zsock_bind(u4, (struct sockaddr *)&ss4, shorts[i]), EINVAL);
		EXPECT_FAIL(zsock_connect(u4, (struct sockaddr *)&ss4, shorts[i]), EINVAL);
		EXPECT_FAIL(zsock_sendto(u4, "x", 1, 0, (struct sockaddr *)&ss4, shorts[i]),
			    EINVAL);
	}
	EXPECT_FAIL(zsock_bind(t4, (struct sockaddr *)&ss4, l4 - 1), EINVAL);
	/* a sockaddr_in is too short for an IPv6 address */
	EXPECT_FAIL(zsock_bind(t6, (struct sockaddr *)&ss6, sizeof(struct sockaddr_in)), EINVAL);
	EXPECT_FAIL(zsock_connect(t6, (struct sockaddr *)&ss6, l6 - 1), EINVAL);
	EXPECT_FAIL(zsock_sendto(u6, "x", 1, 0, (struct sockaddr *)&ss6, l6 - 1), EINVAL);
	/* longer than any address: Linux refuses more than sockaddr_storage */
	EXPECT_FAIL(zsock_bind(u4, (struct sockaddr *)&ss4, (socklen_t)-1), EINVAL);
	EXPECT_FAIL(zsock_connect(t6, (struct sockaddr *)&ss6, (socklen_t)INT_MAX + 1), EINVAL);
	/* nothing got bound along the way */
	cr_assert_eq(zt_local_port(t4), 0);
	cr_assert_eq(zt_local_port(u4), 0);
	cr_assert_eq(zt_local_port(t6), 0);
	zt_close(t4);
	zt_close(t6);
	zt_close(u4);
	zt_close(u6);
}

ZT_TEST(badinput, negative_name_lengths)
{
	struct sockaddr_storage ss;
	socklen_t len = (socklen_t)-1;
	int t = zt_socket(AF_INET, SOCK_STREAM);

	EXPECT_FAIL(zsock_getsockname(t, (struct sockaddr *)&ss, &len), EINVAL);
	len = (socklen_t)-1;
	EXPECT_FAIL(zsock_getpeername(t, (struct sockaddr *)&ss, &len), EINVAL);
	/* a zero length is fine: nothing written, the full length returned */
	len = 0;
	memset(&ss, 0x5a, sizeof(ss));
	cr_assert_eq(zsock_getsockname(t, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(((unsigned char *)&ss)[0], 0x5a, "getsockname wrote into a 0-byte buffer");
	zt_close(t);
}

/* ---- wrong family -------------------------------------------------------------------------------- */

ZT_TEST(badinput, wrong_family, .timeout = 30)
{
	struct sockaddr_storage ss4, ss6;
	int t4 = zt_socket(AF_INET, SOCK_STREAM), t6 = zt_socket(AF_INET6, SOCK_STREAM);
	int u4 = zt_socket(AF_INET, SOCK_DGRAM), u6 = zt_socket(AF_INET6, SOCK_DGRAM);
	socklen_t l4 = zt_loopback(AF_INET, 4000, &ss4), l6 = zt_loopback(AF_INET6, 4000, &ss6);

	EXPECT_FAIL(zsock_bind(t4, (struct sockaddr *)&ss6, l6), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_connect(t4, (struct sockaddr *)&ss6, l6), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_bind(t6, (struct sockaddr *)&ss4, sizeof(ss4)), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_connect(t6, (struct sockaddr *)&ss4, sizeof(ss4)), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_bind(u4, (struct sockaddr *)&ss6, l6), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_sendto(u4, "x", 1, 0, (struct sockaddr *)&ss6, l6), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_sendto(u6, "x", 1, 0, (struct sockaddr *)&ss4, sizeof(ss4)),
		    EAFNOSUPPORT);
	ss4.ss_family = AF_UNIX;
	EXPECT_FAIL(zsock_bind(u4, (struct sockaddr *)&ss4, l4), EAFNOSUPPORT);
	zt_close(t4);
	zt_close(t6);
	zt_close(u4);
	zt_close(u6);
}

/* ---- socket() arguments --------------------------------------------------------------------------- */

ZT_TEST(badinput, bad_socket_arguments)
{
	int fd;

	EXPECT_FAIL(zsock_socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_socket(-1, SOCK_DGRAM, 0), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_socket(AF_UNSPEC, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_FAIL(zsock_socket(AF_APPLETALK, SOCK_DGRAM, 0), EAFNOSUPPORT);

	/* protocol that does not go with the type */
	EXPECT_FAIL(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
	EXPECT_FAIL(zsock_socket(AF_INET6, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
	EXPECT_FAIL(zsock_socket(AF_INET, SOCK_STREAM, 9999), EPROTONOSUPPORT);
	EXPECT_FAIL(zsock_socket(AF_INET, SOCK_DGRAM, -1), EPROTONOSUPPORT);

	/* unknown types */
	errno = 0;
	fd = zsock_socket(AF_INET, 12345, 0);
	cr_assert(fd == -1 && (errno == EPROTOTYPE || errno == EPROTONOSUPPORT ||
			       errno == EINVAL),
		  "type 12345: %d (errno %d)", fd, errno);
	fd = zsock_socket(AF_INET6, -1, 0);
	cr_assert(fd == -1 && (errno == EPROTOTYPE || errno == EPROTONOSUPPORT ||
			       errno == EINVAL),
		  "type -1: %d (errno %d)", fd, errno);
	fd = zsock_socket(AF_INET, SOCK_SEQPACKET, 0);
	cr_assert(fd == -1 && (errno == EPROTOTYPE || errno == EPROTONOSUPPORT),
		  "SOCK_SEQPACKET: %d (errno %d)", fd, errno);
}

/* ---- socket options ----------------------------------------------------------------------------- */

ZT_TEST(badinput, unknown_options)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), u = zt_socket(AF_INET6, SOCK_DGRAM), v = 1;
	socklen_t len = sizeof(v);

	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
	EXPECT_FAIL(zsock_setsockopt(t, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT);
	EXPECT_FAIL(zsock_getsockopt(u, SOL_SOCKET, -1, &v, &len), ENOPROTOOPT);
	EXPECT_FAIL(zsock_getsockopt(t, 9999, 1, &v, &len), ENOPROTOOPT);
	EXPECT_FAIL(zsock_setsockopt(u, 9999, 1, &v, sizeof(v)), ENOPROTOOPT);
	EXPECT_FAIL(zsock_getsockopt(t, IPPROTO_TCP, 9999, &v, &len), ENOPROTOOPT);
	EXPECT_FAIL(zsock_setsockopt(t, IPPROTO_TCP, 9999, &v, sizeof(v)), ENOPROTOOPT);
	zt_close(t);
	zt_close(u);
}

ZT_TEST(badinput, short_optlen)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), v = 1;
	struct timeval tv = { 1, 0 };
	socklen_t len;
	char small[2];

	len = 2;
	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, SO_TYPE, small, &len), EINVAL);
	len = 0;
	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, SO_ERROR, small, &len), EINVAL);
	len = sizeof(int);
	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), EINVAL);
	len = 1;
	EXPECT_FAIL(zsock_getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &len), EINVAL);
	EXPECT_FAIL(zsock_setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
	EXPECT_FAIL(zsock_setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(int)), EINVAL);
	EXPECT_FAIL(zsock_setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv, 0), EINVAL);
	EXPECT_FAIL(zsock_setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, 1), EINVAL);
	/* Linux: a negative optlen is EINVAL */
	len = (socklen_t)-1;
	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, SO_TYPE, &v, &len), EINVAL);
	zt_close(t);
}

ZT_TEST(badinput, null_optval)
{
	int t = zt_socket(AF_INET, SOCK_STREAM), v;
	socklen_t len = sizeof(v);

	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, SO_TYPE, NULL, &len), EFAULT);
	EXPECT_FAIL(zsock_getsockopt(t, SOL_SOCKET, SO_TYPE, &v, NULL), EFAULT);
	EXPECT_FAIL(zsock_setsockopt(t, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof(int)), EFAULT);
	EXPECT_FAIL(zsock_setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, NULL, sizeof(struct timeval)),
		    EFAULT);
	EXPECT_FAIL(zsock_setsockopt(t, IPPROTO_TCP, TCP_NODELAY, NULL, sizeof(int)), EFAULT);
	zt_close(t);
}

/* ---- calls that do not fit the socket ---------------------------------------------------------- */

ZT_TEST(badinput, wrong_operation_for_socket, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	uint16_t port;
	int u = zt_socket(AF_INET, SOCK_DGRAM), t = zt_socket(AF_INET, SOCK_STREAM);
	int l = zt_listener(AF_INET, 1, &port), a, b;

	EXPECT_FAIL(zsock_listen(u, 1), EOPNOTSUPP);
	EXPECT_FAIL(zsock_accept(u, NULL, NULL), EOPNOTSUPP);
	EXPECT_FAIL(zsock_shutdown(t, 99), EINVAL);
	EXPECT_FAIL(zsock_shutdown(t, -1), EINVAL);
	EXPECT_FAIL(zsock_fcntl(t, 12345, 0), EINVAL);
	/* binding twice */
	cr_assert_eq(zsock_bind(t, (struct sockaddr *)&ss, len), 0);
	EXPECT_FAIL(zsock_bind(t, (struct sockaddr *)&ss, len), EINVAL);
	/* an address no interface has */
	{
		struct sockaddr_in far = { .sin_family = AF_INET, .sin_port = 0 };
		int t2 = zt_socket(AF_INET, SOCK_STREAM);

		far.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1, TEST-NET-1 */
		EXPECT_FAIL(zsock_bind(t2, (struct sockaddr *)&far, sizeof(far)), EADDRNOTAVAIL);
		zt_close(t2);
	}
	/* a port in use */
	{
		int t3 = zt_socket(AF_INET, SOCK_STREAM);

		len = zt_loopback(AF_INET, port, &ss);
		EXPECT_FAIL(zsock_bind(t3, (struct sockaddr *)&ss, len), EADDRINUSE);
		zt_close(t3);
	}
	/* listen on a connected socket */
	zt_tcp_pair(AF_INET, &a, &b);
	EXPECT_FAIL(zsock_listen(a, 1), EINVAL);
	zt_close(a);
	zt_close(b);
	zt_close(u);
	zt_close(t);
	zt_close(l);
}

ZT_TEST(badinput, poll_bad_counts)
{
	struct zsock_pollfd p = { .fd = -1 };

	EXPECT_FAIL(zsock_poll(&p, -1, 0), EINVAL);
	EXPECT_FAIL(zsock_poll(&p, CONFIG_NET_SOCKETS_POLL_MAX + 1, 0), EINVAL);
	EXPECT_FAIL(zsock_poll(&p, INT_MAX, 0), EINVAL);
}
