/*
 * socketpair (CONFORMANCE.md "socketpair", "Descriptors"): arguments, the
 * calls a pair refuses, data and EOF across a close, EPIPE, full buffers
 * (EAGAIN, blocking, timeouts), MSG_PEEK / MSG_WAITALL / MSG_TRUNC,
 * shutdown, poll, close from another thread (EINTR; also while that thread
 * is actively sending or receiving: close_races_active_*), 8 MiB through a
 * stream pair, and fd / pair exhaustion without leaks. Most behaviours run
 * over both types.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zt.h"
#include "zt_race.h"

#define SP_SIZE CONFIG_NET_SOCKETPAIR_BUFFER_SIZE
#define SP_DGRAM_MAX (SP_SIZE - 4)
/* fill()'s first chunk: 1024 bytes, or the largest datagram if less (512-byte pairs) */
#define CHUNK (SP_DGRAM_MAX < 1024 ? SP_DGRAM_MAX : 1024)

/* Linux's numbers, for a libc without them (picolibc): refused all the same */
#ifndef SOCK_SEQPACKET
#define SOCK_SEQPACKET 5
#endif
#ifndef FIOASYNC
#define FIOASYNC 0x5452
#endif

static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
/* Run the block once per type, with int t set to it. */
#define FOR_TYPES(t) for (int t##_i = 0, t; t##_i < 2 && (t = types[t##_i], 1); t##_i++)

static void pair(int type, int sv[2])
{
	int rc = zsock_socketpair(AF_UNIX, type, 0, sv);

	cr_assert_eq(rc, 0, "socketpair(type %d): errno %d", type, errno);
	cr_assert_neq(sv[0], sv[1]);
}

static uint32_t fds_in_use(void)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	return st.fds_in_use;
}

static void set_timeo(int fd, int name, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)), 0,
		     "setsockopt(%d): errno %d", name, errno);
}

/*
 * Fill the a -> b direction without blocking, in chunks of CHUNK bytes and
 * then smaller ones, until not even one byte fits. Returns the bytes queued.
 */
static size_t fill(int a, int type)
{
	static uint8_t chunk[CHUNK];
	size_t total = 0, len;
	ssize_t n;

	for (len = sizeof(chunk); len > 0; len /= 4) {
		while ((n = zsock_send(a, chunk, len, ZSOCK_MSG_DONTWAIT)) > 0)
			total += (size_t)n;
		cr_assert_eq(n, -1);
		cr_assert_eq(errno, EAGAIN, "filling (type %d): errno %d", type, errno);
	}
	return total;
}

/* ---- arguments ------------------------------------------------------------------- */

ZT_TEST(socketpair, bad_arguments)
{
	uint32_t before = fds_in_use();
	int sv[2] = { -1, -1 };

	errno = 0;
	cr_assert_eq(zsock_socketpair(AF_INET, SOCK_STREAM, 0, sv), -1);
	cr_assert_eq(errno, EAFNOSUPPORT);
	cr_assert_eq(zsock_socketpair(12345, SOCK_STREAM, 0, sv), -1);
	cr_assert_eq(errno, EAFNOSUPPORT);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_RAW, 0, sv), -1);
	cr_assert_eq(errno, EPROTOTYPE);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), -1);
	cr_assert_eq(errno, EPROTOTYPE);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_STREAM, 6, sv), -1);
	cr_assert_eq(errno, EPROTONOSUPPORT);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_DGRAM, 17, sv), -1);
	cr_assert_eq(errno, EPROTONOSUPPORT);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, NULL), -1);
	cr_assert_eq(errno, EFAULT);
	cr_assert_eq(sv[0], -1, "a failed call wrote sv");
	cr_assert_eq(fds_in_use(), before, "a failed socketpair kept an fd");
}

/* ---- basic data, identity, refused calls ------------------------------------------------ */

ZT_TEST(socketpair, both_directions)
{
	FOR_TYPES(type) {
		int sv[2];
		char buf[16];

		pair(type, sv);
		cr_assert_eq(zsock_send(sv[0], "ping", 4, 0), 4);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 4);
		cr_assert_eq(memcmp(buf, "ping", 4), 0);
		cr_assert_eq(zsock_send(sv[1], "pong!", 5, 0), 5);
		cr_assert_eq(zsock_recv(sv[0], buf, sizeof(buf), 0), 5);
		cr_assert_eq(memcmp(buf, "pong!", 5), 0);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

ZT_TEST(socketpair, options)
{
	FOR_TYPES(type) {
		int sv[2], v;
		socklen_t l;
		struct timeval tv;

		pair(type, sv);
		l = sizeof(v);
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l), 0);
		cr_assert_eq(v, type);
		cr_assert_eq(l, sizeof(int));
		l = sizeof(v);
		cr_assert_eq(zsock_getsockopt(sv[1], SOL_SOCKET, SO_DOMAIN, &v, &l), 0);
		cr_assert_eq(v, AF_UNIX);
		l = sizeof(v);
		cr_assert_eq(zsock_getsockopt(sv[1], SOL_SOCKET, SO_PROTOCOL, &v, &l), 0);
		cr_assert_eq(v, 0);
		l = sizeof(v);
		v = 77;
		cr_assert_eq(zsock_getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &v, &l), 0);
		cr_assert_eq(v, 0);
		l = sizeof(v);
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, &l), -1);
		cr_assert_eq(errno, ENOPROTOOPT);
		cr_assert_eq(zsock_getsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &v, &l), -1);
		cr_assert_eq(errno, ENOPROTOOPT);
		v = 1;
		cr_assert_eq(zsock_setsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, sizeof(v)), -1);
		cr_assert_eq(errno, ENOPROTOOPT);
		cr_assert_eq(zsock_setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), -1);
		cr_assert_eq(errno, ENOPROTOOPT);
		l = 1;
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l), -1);
		cr_assert_eq(errno, EINVAL);
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_TYPE, NULL, &l), -1);
		cr_assert_eq(errno, EFAULT);

		/* timeouts: default forever ({0,0}), read back what was set */
		l = sizeof(tv);
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l), 0);
		cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
		set_timeo(sv[0], SO_RCVTIMEO, 1500);
		set_timeo(sv[0], SO_SNDTIMEO, 250);
		l = sizeof(tv);
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l), 0);
		cr_assert(tv.tv_sec == 1 && tv.tv_usec == 500000);
		l = sizeof(tv);
		cr_assert_eq(zsock_getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, &l), 0);
		cr_assert(tv.tv_sec == 0 && tv.tv_usec == 250000);
		tv.tv_usec = 1000000;
		cr_assert_eq(zsock_setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), -1);
		cr_assert_eq(errno, EDOM);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

ZT_TEST(socketpair, refused_calls)
{
	FOR_TYPES(type) {
		struct sockaddr_storage ss;
		socklen_t sl = zt_loopback(AF_INET, 9, &ss);
		int sv[2];

		pair(type, sv);
		cr_assert_eq(zsock_bind(sv[0], (struct sockaddr *)&ss, sl), -1);
		cr_assert_eq(errno, EISCONN);
		cr_assert_eq(zsock_connect(sv[0], (struct sockaddr *)&ss, sl), -1);
		cr_assert_eq(errno, EISCONN);
		cr_assert_eq(zsock_listen(sv[1], 1), -1);
		cr_assert_eq(errno, EINVAL);
		cr_assert_eq(zsock_accept(sv[1], NULL, NULL), -1);
		cr_assert_eq(errno, EOPNOTSUPP);
		cr_assert_eq(zsock_sendto(sv[0], "x", 1, 0, (struct sockaddr *)&ss, sl), -1);
		cr_assert_eq(errno, EISCONN);
		cr_assert_eq(zsock_send(sv[0], NULL, 1, 0), -1);
		cr_assert_eq(errno, EFAULT);
		cr_assert_eq(zsock_recv(sv[0], NULL, 1, 0), -1);
		cr_assert_eq(errno, EFAULT);
		cr_assert_eq(zsock_shutdown(sv[0], 7), -1);
		cr_assert_eq(errno, EINVAL);
		cr_assert_eq(zsock_fcntl(sv[0], 12345, 0), -1);
		cr_assert_eq(errno, EINVAL);
		zt_close(sv[0]);
		zt_close(sv[1]);
		/* closed fds: EBADF */
		cr_assert_eq(zsock_send(sv[0], "x", 1, 0), -1);
		cr_assert_eq(errno, EBADF);
		cr_assert_eq(zsock_close(sv[1]), -1);
		cr_assert_eq(errno, EBADF);
	}
}

ZT_TEST(socketpair, names)
{
	FOR_TYPES(type) {
		struct sockaddr_storage ss;
		socklen_t l;
		int sv[2];

		pair(type, sv);
		memset(&ss, 0xee, sizeof(ss));
		l = sizeof(ss);
		cr_assert_eq(zsock_getsockname(sv[0], (struct sockaddr *)&ss, &l), 0);
		cr_assert_eq(l, sizeof(sa_family_t), "getsockname length %u", (unsigned)l);
		cr_assert_eq(ss.ss_family, AF_UNIX);
		memset(&ss, 0xee, sizeof(ss));
		l = sizeof(ss);
		cr_assert_eq(zsock_getpeername(sv[1], (struct sockaddr *)&ss, &l), 0);
		cr_assert_eq(l, sizeof(sa_family_t));
		cr_assert_eq(ss.ss_family, AF_UNIX);
		/* a short buffer: truncated, the full length reported */
		l = 1;
		cr_assert_eq(zsock_getsockname(sv[0], (struct sockaddr *)&ss, &l), 0);
		cr_assert_eq(l, sizeof(sa_family_t));
		cr_assert_eq(zsock_getsockname(sv[0], NULL, &l), -1);
		cr_assert_eq(errno, EFAULT);
		/* recvfrom: the peer is unnamed, no address is stored */
		cr_assert_eq(zsock_send(sv[1], "a", 1, 0), 1);
		l = sizeof(ss);
		cr_assert_eq(zsock_recvfrom(sv[0], (char[4]){ 0 }, 4, 0,
					    (struct sockaddr *)&ss, &l), 1);
		cr_assert_eq(l, 0);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

/* ---- close, EOF, EPIPE ----------------------------------------------------------------- */

ZT_TEST(socketpair, data_survives_close_then_eof)
{
	FOR_TYPES(type) {
		char buf[64];
		short re;
		int sv[2];

		pair(type, sv);
		cr_assert_eq(zsock_send(sv[0], "hello", 5, 0), 5);
		cr_assert_eq(zsock_send(sv[0], "world", 5, 0), 5);
		zt_close(sv[0]);
		re = zt_poll1(sv[1], ZSOCK_POLLIN | ZSOCK_POLLOUT, 0);
		cr_assert(re & ZSOCK_POLLIN);
		cr_assert(re & ZSOCK_POLLHUP, "no POLLHUP after the peer closed: %#x", re);
		if (type == SOCK_STREAM) {
			cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 10);
			cr_assert_eq(memcmp(buf, "helloworld", 10), 0);
		} else {
			cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 5);
			cr_assert_eq(memcmp(buf, "hello", 5), 0);
			cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 5);
			cr_assert_eq(memcmp(buf, "world", 5), 0);
		}
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 0);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 0);
		errno = 0;
		cr_assert_eq(zsock_send(sv[1], "x", 1, 0), -1);
		cr_assert_eq(errno, EPIPE, "send to a closed peer: errno %d", errno);
		zt_close(sv[1]);
	}
}

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
struct blocked {
	int fd;
	int type;
	size_t len;
	int flags;
	ssize_t rc;
	int err;
	int64_t ms;
	uint8_t *buf;
};

static void *recv_thread(void *arg)
{
	struct blocked *b = arg;
	int64_t t0 = zt_now_ms();

	b->rc = zsock_recv(b->fd, b->buf, b->len, b->flags);
	b->err = errno;
	b->ms = zt_now_ms() - t0;
	return NULL;
}

static void *send_thread(void *arg)
{
	struct blocked *b = arg;
	int64_t t0 = zt_now_ms();

	b->rc = zsock_send(b->fd, b->buf, b->len, b->flags);
	b->err = errno;
	b->ms = zt_now_ms() - t0;
	return NULL;
}

ZT_TEST(socketpair, peer_close_wakes_blocked_calls, .timeout = 20)
{
	static uint8_t big[3 * SP_SIZE];

	FOR_TYPES(type) {
		struct blocked r = { .len = 16, .buf = (uint8_t[16]){ 0 } };
		struct blocked s = { .buf = big };
		pthread_t t;
		int sv[2];

		/* a blocked reader sees EOF */
		pair(type, sv);
		r.fd = sv[1];
		t = zt_spawn(recv_thread, &r);
		zt_sleep_ms(100);
		zt_close(sv[0]);
		cr_assert(zt_join(t, 5000), "recv stayed blocked after the peer closed");
		cr_assert_eq(r.rc, 0, "recv: %zd errno %d", r.rc, r.err);
		zt_close(sv[1]);

		/* a blocked writer sees EPIPE (stream: after what it queued) */
		pair(type, sv);
		fill(sv[0], type);
		s.fd = sv[0];
		s.len = type == SOCK_STREAM ? sizeof(big) : 100;
		t = zt_spawn(send_thread, &s);
		zt_sleep_ms(100);
		zt_close(sv[1]);
		cr_assert(zt_join(t, 5000), "send stayed blocked after the peer closed");
		cr_assert_eq(s.rc, -1, "send: %zd", s.rc);
		cr_assert_eq(s.err, EPIPE, "send: errno %d", s.err);
		zt_close(sv[0]);
	}
}

/* Zephyr's rule: closing the fd itself wakes its own blocked callers with EINTR. */
ZT_TEST(socketpair, close_wakes_own_blocked_calls, .timeout = 20)
{
	static uint8_t big[3 * SP_SIZE];

	FOR_TYPES(type) {
		struct blocked r = { .len = 16, .buf = (uint8_t[16]){ 0 } };
		struct blocked s = { .buf = big };
		pthread_t t;
		int sv[2];

		pair(type, sv);
		r.fd = sv[1];
		t = zt_spawn(recv_thread, &r);
		zt_sleep_ms(100);
		zt_close(sv[1]);
		cr_assert(zt_join(t, 5000), "recv stayed blocked after its fd closed");
		cr_assert_eq(r.rc, -1);
		cr_assert_eq(r.err, EINTR, "recv: errno %d", r.err);
		zt_close(sv[0]);

		pair(type, sv);
		fill(sv[0], type);
		s.fd = sv[0];
		s.len = type == SOCK_STREAM ? sizeof(big) : 100;
		t = zt_spawn(send_thread, &s);
		zt_sleep_ms(100);
		zt_close(sv[0]);
		cr_assert(zt_join(t, 5000), "send stayed blocked after its fd closed");
		cr_assert_eq(s.rc, -1);
		cr_assert_eq(s.err, EINTR, "send: errno %d", s.err);
		zt_close(sv[1]);
	}
}

struct poller {
	int fd;
	int rc;
	int err;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct zsock_pollfd pfd = { .fd = p->fd, .events = ZSOCK_POLLIN };

	p->rc = zsock_poll(&pfd, 1, 10000);
	p->err = errno;
	return NULL;
}

ZT_TEST(socketpair, close_wakes_poll, .timeout = 20)
{
	FOR_TYPES(type) {
		struct poller p = { 0 };
		pthread_t t;
		int sv[2];

		pair(type, sv);
		p.fd = sv[0];
		t = zt_spawn(poll_thread, &p);
		zt_sleep_ms(100);
		zt_close(sv[0]);
		cr_assert(zt_join(t, 5000), "poll stayed blocked after its fd closed");
		cr_assert_eq(p.rc, -1, "poll returned %d", p.rc);
		cr_assert_eq(p.err, EINTR, "poll: errno %d", p.err);
		zt_close(sv[1]);
	}
}
#endif

/* ---- full buffers ----------------------------------------------------------------------- */

ZT_TEST(socketpair, full_buffer_nonblocking)
{
	FOR_TYPES(type) {
		uint8_t buf[CHUNK];
		size_t queued;
		int sv[2];

		pair(type, sv);
		queued = fill(sv[0], type);
		if (type == SOCK_STREAM)
			cr_assert_eq(queued, SP_SIZE, "stream queued %zu", queued);
		else
			cr_assert_gt(queued, SP_SIZE / 2, "dgram queued %zu", queued);
		cr_assert_eq(zt_poll1(sv[0], ZSOCK_POLLOUT, 0), 0, "POLLOUT on a full pair");
		/* O_NONBLOCK instead of MSG_DONTWAIT */
		cr_assert_eq(zsock_fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
		cr_assert_eq(zsock_fcntl(sv[0], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
		cr_assert_eq(zsock_send(sv[0], buf, 1, 0), -1);
		cr_assert_eq(errno, EAGAIN);
		/* the other end is still writable and empty */
		cr_assert_eq(zt_poll1(sv[1], ZSOCK_POLLIN | ZSOCK_POLLOUT, 0),
			     ZSOCK_POLLIN | ZSOCK_POLLOUT);
		cr_assert_eq(zsock_recv(sv[0], buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), -1);
		cr_assert_eq(errno, EAGAIN);
		/* drain: room again */
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), CHUNK);
		cr_assert_eq(zt_poll1(sv[0], ZSOCK_POLLOUT, 0), ZSOCK_POLLOUT);
		if (type == SOCK_STREAM) {
			/* a short write: only the room is taken, never 0 */
			cr_assert_eq(zsock_send(sv[0], buf, sizeof(buf) + 1, 0), CHUNK);
		}
		cr_assert_eq(zsock_fcntl(sv[0], F_SETFL, 0), 0);
		cr_assert_eq(zsock_fcntl(sv[0], F_GETFL, 0) & O_NONBLOCK, 0);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

ZT_TEST(socketpair, sock_nonblock_flag)
{
	FOR_TYPES(type) {
		char c;
		int sv[2];

		cr_assert_eq(zsock_socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv), 0);
		cr_assert_eq(zsock_fcntl(sv[0], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
		cr_assert_eq(zsock_fcntl(sv[1], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
		cr_assert_eq(zsock_recv(sv[1], &c, 1, 0), -1);
		cr_assert_eq(errno, EAGAIN);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
ZT_TEST(socketpair, full_buffer_blocks_until_read, .timeout = 20)
{
	static uint8_t out[3 * SP_SIZE + 123], in[sizeof(out)];

	FOR_TYPES(type) {
		struct blocked s = { .buf = out };
		pthread_t t;
		int sv[2];

		pair(type, sv);
		s.fd = sv[0];
		if (type == SOCK_STREAM) {
			zt_pattern(7, 0, out, sizeof(out));
			s.len = sizeof(out);
			t = zt_spawn(send_thread, &s);
			zt_sleep_ms(100);
			cr_assert_eq(zt_poll1(sv[0], ZSOCK_POLLOUT, 0), 0, "sender did not fill");
			zt_recv_all(sv[1], in, sizeof(in));
			cr_assert(zt_join(t, 5000));
			cr_assert_eq(s.rc, (ssize_t)sizeof(out), "blocking send returned %zd (errno %d)",
				     s.rc, s.err);
			cr_assert_eq(zt_pattern_check(7, 0, in, sizeof(in)), sizeof(in));
		} else {
			fill(sv[0], type);
			s.len = 1000;
			t = zt_spawn(send_thread, &s);
			zt_sleep_ms(100);
			cr_assert_eq(zsock_recv(sv[1], in, sizeof(in), 0), 1024);
			cr_assert(zt_join(t, 5000));
			cr_assert_eq(s.rc, 1000, "blocking send returned %zd (errno %d)", s.rc, s.err);
		}
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}
#endif

ZT_TEST(socketpair, timeouts, .timeout = 20)
{
	FOR_TYPES(type) {
		uint8_t buf[2048];
		int64_t t0, dt;
		ssize_t n;
		int sv[2];

		pair(type, sv);
		set_timeo(sv[1], SO_RCVTIMEO, 200);
		t0 = zt_now_ms();
		n = zsock_recv(sv[1], buf, sizeof(buf), 0);
		dt = zt_now_ms() - t0;
		cr_assert_eq(n, -1);
		cr_assert_eq(errno, EAGAIN);
		cr_assert_geq(dt, 200, "recv timed out after %lld ms", (long long)dt);

		fill(sv[0], type);
		set_timeo(sv[0], SO_SNDTIMEO, 200);
		t0 = zt_now_ms();
		n = zsock_send(sv[0], buf, 100, 0);
		dt = zt_now_ms() - t0;
		cr_assert_eq(n, -1);
		cr_assert_eq(errno, EAGAIN);
		cr_assert_geq(dt, 200, "send timed out after %lld ms", (long long)dt);

		if (type == SOCK_STREAM) {
			/* partial progress, then the timeout: the count so far */
			cr_assert_eq(zsock_recv(sv[1], buf, 100, 0), 100);
			t0 = zt_now_ms();
			n = zsock_send(sv[0], buf, 1000, 0);
			dt = zt_now_ms() - t0;
			cr_assert_eq(n, 100, "send after partial progress: %zd", n);
			cr_assert_geq(dt, 200);
		}
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

/* ---- flags ------------------------------------------------------------------------------ */

ZT_TEST(socketpair, peek)
{
	FOR_TYPES(type) {
		char buf[16];
		int sv[2];

		pair(type, sv);
		cr_assert_eq(zsock_send(sv[0], "abcdef", 6, 0), 6);
		cr_assert_eq(zsock_send(sv[0], "gh", 2, 0), 2);
		cr_assert_eq(zsock_recv(sv[1], buf, 3, ZSOCK_MSG_PEEK), 3);
		cr_assert_eq(memcmp(buf, "abc", 3), 0);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), ZSOCK_MSG_PEEK), type == SOCK_STREAM ? 8 : 6);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), type == SOCK_STREAM ? 8 : 6);
		cr_assert_eq(memcmp(buf, "abcdefgh", type == SOCK_STREAM ? 8 : 6), 0);
		if (type == SOCK_DGRAM) {
			cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 2);
			cr_assert_eq(memcmp(buf, "gh", 2), 0);
		}
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), -1);
		cr_assert_eq(errno, EAGAIN);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
struct dribble {
	int fd;
	int chunks;
	bool close_after;
	ssize_t bad;
};

static void *dribble_thread(void *arg)
{
	struct dribble *d = arg;
	int i;

	for (i = 0; i < d->chunks; i++) {
		zt_sleep_ms(20);
		if (zsock_send(d->fd, "0123456789", 10, 0) != 10)
			d->bad = i + 1;
	}
	if (d->close_after)
		zsock_close(d->fd);
	return NULL;
}

ZT_TEST(socketpair, waitall, .timeout = 20)
{
	char buf[64];
	struct dribble d = { .chunks = 5 };
	pthread_t t;
	ssize_t n;
	int sv[2];

	pair(SOCK_STREAM, sv);
	d.fd = sv[0];
	t = zt_spawn(dribble_thread, &d);
	n = zsock_recv(sv[1], buf, 50, ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, 5000));
	cr_assert_eq(d.bad, 0);
	cr_assert_eq(n, 50, "MSG_WAITALL returned %zd (errno %d)", n, errno);

	/* EOF first: what arrived */
	d.chunks = 2;
	d.close_after = true;
	t = zt_spawn(dribble_thread, &d);
	n = zsock_recv(sv[1], buf, sizeof(buf), ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, 5000));
	cr_assert_eq(n, 20, "MSG_WAITALL up to EOF returned %zd (errno %d)", n, errno);
	zt_close(sv[1]);

	/* a timeout first: what arrived */
	pair(SOCK_STREAM, sv);
	cr_assert_eq(zsock_send(sv[0], "abc", 3, 0), 3);
	set_timeo(sv[1], SO_RCVTIMEO, 100);
	n = zsock_recv(sv[1], buf, sizeof(buf), ZSOCK_MSG_WAITALL);
	cr_assert_eq(n, 3, "MSG_WAITALL up to a timeout returned %zd", n);
	/* non-blocking: what is there */
	cr_assert_eq(zsock_send(sv[0], "abc", 3, 0), 3);
	n = zsock_recv(sv[1], buf, sizeof(buf), ZSOCK_MSG_WAITALL | ZSOCK_MSG_DONTWAIT);
	cr_assert_eq(n, 3);
	zt_close(sv[0]);
	zt_close(sv[1]);
}
#endif

ZT_TEST(socketpair, dgram_boundaries_and_trunc)
{
	static uint8_t big[SP_SIZE], in[SP_SIZE];
	char buf[8];
	int sv[2];

	pair(SOCK_DGRAM, sv);
	cr_assert_eq(zsock_send(sv[0], "0123456789", 10, 0), 10);
	cr_assert_eq(zsock_send(sv[0], "", 0, 0), 0);
	cr_assert_eq(zsock_send(sv[0], "abc", 3, 0), 3);
	/* excess discarded */
	cr_assert_eq(zsock_recv(sv[1], buf, 4, 0), 4);
	cr_assert_eq(memcmp(buf, "0123", 4), 0);
	/* an empty datagram is a datagram */
	cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 0);
	cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 3);

	/* MSG_TRUNC: the real length; with MSG_PEEK it stays queued */
	cr_assert_eq(zsock_send(sv[0], "0123456789", 10, 0), 10);
	cr_assert_eq(zsock_recv(sv[1], buf, 2, ZSOCK_MSG_TRUNC | ZSOCK_MSG_PEEK), 10);
	cr_assert_eq(zsock_recv(sv[1], buf, 2, ZSOCK_MSG_TRUNC), 10);
	cr_assert_eq(memcmp(buf, "01", 2), 0);
	cr_assert_eq(zsock_recv(sv[1], buf, 2, ZSOCK_MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN);

	/* the largest datagram, and one byte more */
	zt_pattern(3, 0, big, SP_DGRAM_MAX);
	cr_assert_eq(zsock_send(sv[0], big, SP_DGRAM_MAX, 0), SP_DGRAM_MAX);
	cr_assert_eq(zsock_recv(sv[1], in, sizeof(in), 0), SP_DGRAM_MAX);
	cr_assert_eq(zt_pattern_check(3, 0, in, SP_DGRAM_MAX), SP_DGRAM_MAX);
	cr_assert_eq(zsock_send(sv[0], big, SP_DGRAM_MAX + 1, 0), -1);
	cr_assert_eq(errno, EMSGSIZE);
	zt_close(sv[0]);
	zt_close(sv[1]);
}

/* Datagrams that wrap around the ring keep their bytes and boundaries. */
ZT_TEST(socketpair, dgram_wraparound, .timeout = 20)
{
	static uint8_t out[SP_SIZE], in[SP_SIZE];
	int sv[2], i;
	uint64_t rng = 12345;

	pair(SOCK_DGRAM, sv);
	for (i = 0; i < 2000; i++) {
		/* two in flight always fit: 2 * (len + 4) <= SP_SIZE */
		size_t len = (size_t)(zt_rand(&rng) % (SP_SIZE / 2 - 3));
		ssize_t n;

		zt_pattern((uint64_t)i, 0, out, len);
		cr_assert_eq(zsock_send(sv[0], out, len, 0), (ssize_t)len);
		if (i % 2 == 0)
			continue;  /* keep two in flight now and then */
		n = zsock_recv(sv[1], in, sizeof(in), 0);
		cr_assert_geq(n, 0);
		n = zsock_recv(sv[1], in, sizeof(in), 0);
		cr_assert_eq(n, (ssize_t)len, "datagram %d: %zd bytes, sent %zu", i, n, len);
		cr_assert_eq(zt_pattern_check((uint64_t)i, 0, in, len), len, "datagram %d differs", i);
	}
	zt_close(sv[0]);
	zt_close(sv[1]);
}

/* ---- scatter/gather and ioctl ------------------------------------------------------------ */

ZT_TEST(socketpair, sendmsg_recvmsg)
{
	FOR_TYPES(type) {
		char a[] = "abc", b[] = "", c[] = "defgh", x[2], y[3], z[16];
		struct iovec out[3] = { { a, 3 }, { b, 0 }, { c, 5 } };
		struct iovec in[3] = { { x, sizeof(x) }, { y, sizeof(y) }, { z, sizeof(z) } };
		struct msghdr m = { .msg_iov = out, .msg_iovlen = 3 };
		struct sockaddr_storage ss;
		int sv[2];

		pair(type, sv);
		cr_assert_eq(zsock_sendmsg(sv[0], &m, 0), 8, "sendmsg: errno %d", errno);
		memset(&m, 0, sizeof(m));
		m.msg_iov = in;
		m.msg_iovlen = 3;
		m.msg_name = &ss;
		m.msg_namelen = sizeof(ss);
		m.msg_flags = -1;
		cr_assert_eq(zsock_recvmsg(sv[1], &m, 0), 8, "recvmsg: errno %d", errno);
		cr_assert_eq(memcmp(x, "ab", 2), 0);
		cr_assert_eq(memcmp(y, "cde", 3), 0);
		cr_assert_eq(memcmp(z, "fgh", 3), 0);
		cr_assert_eq(m.msg_flags, 0);
		cr_assert_eq(m.msg_namelen, 0);

		/* a datagram larger than the iovecs: MSG_TRUNC in msg_flags */
		m = (struct msghdr){ .msg_iov = out, .msg_iovlen = 3 };
		cr_assert_eq(zsock_sendmsg(sv[0], &m, 0), 8);
		m = (struct msghdr){ .msg_iov = in, .msg_iovlen = 2 };
		cr_assert_eq(zsock_recvmsg(sv[1], &m, 0), 5);
		cr_assert_eq(memcmp(x, "ab", 2), 0);
		cr_assert_eq(memcmp(y, "cde", 3), 0);
		if (type == SOCK_DGRAM) {
			cr_assert_eq(m.msg_flags, ZSOCK_MSG_TRUNC);
			cr_assert_eq(zsock_recv(sv[1], z, sizeof(z), ZSOCK_MSG_DONTWAIT), -1);
			cr_assert_eq(errno, EAGAIN, "the rest of the datagram was not discarded");
		} else {
			cr_assert_eq(m.msg_flags, 0);
			cr_assert_eq(zsock_recv(sv[1], z, sizeof(z), 0), 3);
			cr_assert_eq(memcmp(z, "fgh", 3), 0);
		}

		/* an address: the pair is connected */
		m = (struct msghdr){ .msg_iov = out, .msg_iovlen = 3, .msg_name = &ss,
				     .msg_namelen = sizeof(struct sockaddr_in) };
		cr_assert_eq(zsock_sendmsg(sv[0], &m, 0), -1);
		cr_assert_eq(errno, EISCONN);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

ZT_TEST(socketpair, ioctl)
{
	FOR_TYPES(type) {
		char buf[32];
		int sv[2], n = -1, on = 1;

		pair(type, sv);
		cr_assert_eq(zsock_ioctl(sv[1], FIONREAD, &n), 0);
		cr_assert_eq(n, 0);
		cr_assert_eq(zsock_send(sv[0], "0123456789", 10, 0), 10);
		cr_assert_eq(zsock_send(sv[0], "abc", 3, 0), 3);
		cr_assert_eq(zsock_ioctl(sv[1], FIONREAD, &n), 0);
		cr_assert_eq(n, type == SOCK_STREAM ? 13 : 10, "FIONREAD %d", n);
		cr_assert_eq(zsock_ioctl(sv[0], FIONBIO, &on), 0);
		cr_assert_eq(zsock_fcntl(sv[0], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
		cr_assert_eq(zsock_recv(sv[0], buf, sizeof(buf), 0), -1);
		cr_assert_eq(errno, EAGAIN);
		on = 0;
		cr_assert_eq(zsock_ioctl(sv[0], FIONBIO, &on), 0);
		cr_assert_eq(zsock_fcntl(sv[0], F_GETFL, 0) & O_NONBLOCK, 0);
		cr_assert_eq(zsock_ioctl(sv[0], FIOASYNC, &on), -1);
		cr_assert_eq(errno, EINVAL);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

/* ---- shutdown --------------------------------------------------------------------------- */

ZT_TEST(socketpair, shutdown)
{
	FOR_TYPES(type) {
		char buf[16];
		short re;
		int sv[2];

		/* SHUT_WR: the peer reads what was sent, then 0; our sends fail */
		pair(type, sv);
		cr_assert_eq(zsock_send(sv[0], "abc", 3, 0), 3);
		cr_assert_eq(zsock_shutdown(sv[0], ZSOCK_SHUT_WR), 0);
		cr_assert_eq(zsock_send(sv[0], "x", 1, 0), -1);
		cr_assert_eq(errno, EPIPE);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 3);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 0);
		cr_assert(zt_poll1(sv[1], ZSOCK_POLLIN, 0) & ZSOCK_POLLIN);
		/* the other direction still works */
		cr_assert_eq(zsock_send(sv[1], "back", 4, 0), 4);
		cr_assert_eq(zsock_recv(sv[0], buf, sizeof(buf), 0), 4);
		zt_close(sv[0]);
		zt_close(sv[1]);

		/* SHUT_RD: recv gives 0 at once, the peer's sends fail */
		pair(type, sv);
		cr_assert_eq(zsock_send(sv[0], "abc", 3, 0), 3);
		cr_assert_eq(zsock_shutdown(sv[1], ZSOCK_SHUT_RD), 0);
		cr_assert_eq(zsock_recv(sv[1], buf, sizeof(buf), 0), 0);
		cr_assert_eq(zsock_send(sv[0], "x", 1, 0), -1);
		cr_assert_eq(errno, EPIPE);
		cr_assert_eq(zsock_send(sv[1], "ok", 2, 0), 2);
		cr_assert_eq(zsock_recv(sv[0], buf, sizeof(buf), 0), 2);

		/* SHUT_RDWR: both ways shut, POLLHUP */
		cr_assert_eq(zsock_shutdown(sv[1], ZSOCK_SHUT_RDWR), 0);
		re = zt_poll1(sv[1], ZSOCK_POLLIN, 0);
		cr_assert(re & ZSOCK_POLLHUP, "revents %#x", re);
		cr_assert(re & ZSOCK_POLLIN, "revents %#x", re);
		re = zt_poll1(sv[0], ZSOCK_POLLIN, 0);
		cr_assert(re & ZSOCK_POLLHUP, "peer revents %#x", re);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
struct shut_rd {
	int fd;
	ssize_t rc;
};

ZT_TEST(socketpair, shutdown_wakes_blocked_reader, .timeout = 20)
{
	FOR_TYPES(type) {
		struct blocked r = { .len = 16, .buf = (uint8_t[16]){ 0 } };
		pthread_t t;
		int sv[2];

		pair(type, sv);
		r.fd = sv[1];
		t = zt_spawn(recv_thread, &r);
		zt_sleep_ms(100);
		cr_assert_eq(zsock_shutdown(sv[1], ZSOCK_SHUT_RD), 0);
		cr_assert(zt_join(t, 5000), "recv stayed blocked after SHUT_RD");
		cr_assert_eq(r.rc, 0, "recv: %zd errno %d", r.rc, r.err);
		zt_close(sv[0]);
		zt_close(sv[1]);
	}
}
#endif

/* ---- poll ------------------------------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
struct late_writer {
	int fd;
};

static void *late_writer_thread(void *arg)
{
	struct late_writer *w = arg;

	zt_sleep_ms(100);
	zsock_send(w->fd, "z", 1, 0);
	return NULL;
}

ZT_TEST(socketpair, poll_readiness, .timeout = 20)
{
	FOR_TYPES(type) {
		struct zsock_pollfd pfd[2];
		struct late_writer w;
		pthread_t t;
		char c;
		int sv[2];

		pair(type, sv);
		cr_assert_eq(zt_poll1(sv[0], ZSOCK_POLLIN | ZSOCK_POLLOUT, 0), ZSOCK_POLLOUT);
		cr_assert_eq(zt_poll1(sv[0], ZSOCK_POLLIN, 50), 0);

		/* a poll blocked on both ends wakes when data arrives */
		w.fd = sv[0];
		t = zt_spawn(late_writer_thread, &w);
		pfd[0] = (struct zsock_pollfd){ .fd = sv[0], .events = ZSOCK_POLLIN };
		pfd[1] = (struct zsock_pollfd){ .fd = sv[1], .events = ZSOCK_POLLIN };
		cr_assert_eq(zsock_poll(pfd, 2, 5000), 1);
		cr_assert_eq(pfd[0].revents, 0);
		cr_assert_eq(pfd[1].revents, ZSOCK_POLLIN);
		cr_assert(zt_join(t, 5000));
		cr_assert_eq(zsock_recv(sv[1], &c, 1, 0), 1);
		cr_assert_eq(zt_poll1(sv[1], ZSOCK_POLLIN, 0), 0);

		/* the peer closes: POLLIN (EOF) and POLLHUP, even unasked for */
		zt_close(sv[0]);
		cr_assert_eq(zt_poll1(sv[1], 0, 0), ZSOCK_POLLHUP);
		cr_assert(zt_poll1(sv[1], ZSOCK_POLLIN, 0) & ZSOCK_POLLIN);
		zt_close(sv[1]);
	}
}
#endif

/* ---- bulk -------------------------------------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* a second thread: bare metal has one context */
#define BULK (8u << 20)

struct bulk {
	int fd;
	uint32_t crc;
	size_t bytes;
	int err;
};

static void *bulk_sender(void *arg)
{
	static uint8_t chunk[6007];  /* odd size: writes straddle the ring's end */
	struct bulk *b = arg;
	uint64_t rng = 99;

	while (b->bytes < BULK) {
		size_t len = 1 + (size_t)(zt_rand(&rng) % sizeof(chunk));
		const uint8_t *p = chunk;
		ssize_t n;

		if (len > BULK - b->bytes)
			len = BULK - b->bytes;
		zt_pattern(42, b->bytes, chunk, len);
		b->crc = zt_crc32(b->crc, chunk, len);
		while (len > 0) {
			n = zsock_send(b->fd, p, len, 0);
			if (n <= 0) {
				b->err = n < 0 ? errno : -1;
				return NULL;
			}
			p += n;
			len -= (size_t)n;
			b->bytes += (size_t)n;
		}
	}
	zsock_close(b->fd);
	return NULL;
}

ZT_TEST(socketpair, bulk_8mib_two_threads, .timeout = 60)
{
	static uint8_t buf[5003];
	struct bulk tx = { 0 };
	uint32_t crc = 0;
	size_t got = 0, bad = SIZE_MAX;
	uint64_t rng = 7;
	pthread_t t;
	ssize_t n;
	int sv[2];

	pair(SOCK_STREAM, sv);
	tx.fd = sv[0];
	t = zt_spawn(bulk_sender, &tx);
	for (;;) {
		size_t want = 1 + (size_t)(zt_rand(&rng) % sizeof(buf));

		n = zsock_recv(sv[1], buf, want, 0);
		if (n <= 0)
			break;
		if (bad == SIZE_MAX && zt_pattern_check(42, got, buf, (size_t)n) != (size_t)n)
			bad = got;
		crc = zt_crc32(crc, buf, (size_t)n);
		got += (size_t)n;
	}
	cr_assert(zt_join(t, 30000), "sender hung");
	cr_assert_eq(n, 0, "recv ended with %zd, errno %d", n, errno);
	cr_assert_eq(tx.err, 0, "sender: errno %d", tx.err);
	cr_assert_eq(got, BULK, "received %zu of %u bytes", got, BULK);
	cr_assert_eq(bad, SIZE_MAX, "stream differs near offset %zu", bad);
	cr_assert_eq(crc, tx.crc, "crc %08x, sent %08x", crc, tx.crc);
	zt_close(sv[1]);
}
#endif

/* ---- exhaustion ------------------------------------------------------------------------- */

/* needs a socket object per fd to fill the table (the board: 8 sockets, 16 fds) */
#if CONFIG_NET_MAX_CONTEXTS >= CONFIG_ZVFS_OPEN_MAX
ZT_TEST(socketpair, fd_exhaustion_leaks_nothing, .timeout = 60)
{
	static int fds[CONFIG_ZVFS_OPEN_MAX];
	uint32_t before;
	int n = 0, sv[2] = { -1, -1 }, i;

	/* fill the table, then give one fd back: exactly one is free */
	for (;;) {
		int fd = zsock_socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0) {
			cr_assert(errno == ENFILE || errno == EMFILE || errno == ENOMEM,
				  "socket: errno %d", errno);
			break;
		}
		cr_assert_lt(n, CONFIG_ZVFS_OPEN_MAX);
		fds[n++] = fd;
	}
	cr_assert_gt(n, 2);
	zt_close(fds[--n]);
	before = fds_in_use();
	cr_assert_eq(before, CONFIG_ZVFS_OPEN_MAX - 1, "%u fds in use", before);

	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), -1);
	cr_assert(errno == ENFILE || errno == EMFILE, "errno %d", errno);
	cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), -1);
	cr_assert(errno == ENFILE || errno == EMFILE, "errno %d", errno);
	cr_assert_eq(fds_in_use(), before, "a failed socketpair kept an fd");
	cr_assert_eq(sv[0], -1);

	/* the one free fd is still usable, and after one more close a pair fits */
	i = zsock_socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(i, 0, "the free fd was lost: errno %d", errno);
	zt_close(i);
	zt_close(fds[--n]);
	pair(SOCK_STREAM, sv);
	cr_assert_eq(zsock_send(sv[0], "x", 1, 0), 1);
	zt_close(sv[0]);
	zt_close(sv[1]);
	while (n > 0)
		zt_close(fds[--n]);
}
#endif

ZT_TEST(socketpair, pair_pool_exhaustion)
{
	int sv[CONFIG_NET_SOCKETPAIR_MAX][2], extra[2];
	uint32_t before = fds_in_use();
	int round, i;

	/* twice: a pair given back is a pair that can be taken again */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < CONFIG_NET_SOCKETPAIR_MAX; i++)
			pair(i % 2 ? SOCK_DGRAM : SOCK_STREAM, sv[i]);
		cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, extra), -1);
		cr_assert_eq(errno, ENOMEM, "errno %d", errno);
		cr_assert_eq(fds_in_use(), before + 2 * CONFIG_NET_SOCKETPAIR_MAX);
		for (i = 0; i < CONFIG_NET_SOCKETPAIR_MAX; i++) {
			zt_close(sv[i][0]);
			zt_close(sv[i][1]);
		}
		cr_assert_eq(fds_in_use(), before);
	}
}

/* ---- close while another thread is inside a call ----------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* threads: bare metal has one context */
/*
 * Closing one end while a thread is actively taking from it (or sending on
 * it) and data keeps flowing, as native::close_races_active_takes / _sends
 * do for TCP: every byte the taker got is in order, the close ends the
 * calls with EBADF (the next call) or EINTR, and the pair and its fds go
 * back (ZT_TEST's leak check). Both types, by turns; chunks of 200 bytes,
 * whole datagrams on SOCK_DGRAM. Closing the sending end, every byte a
 * send reported sent is read before EOF: a send in flight when the close
 * landed used to queue its bytes after the peer had read EOF (lost, yet
 * reported sent; before the fix _sends failed 2 plain runs in 4, 3 ASan
 * runs in 4, 4 TSan runs in 4), it now fails with EINTR.
 */
/*
 * One round: a sender on sv[0], a taker on sv[1], close sv[1] (takes) or
 * sv[0] (sends) after 0 or 1 ms.
 */
static void close_race_round(int round, bool close_sender)
{
	int type = (round / 2) % 2 ? SOCK_DGRAM : SOCK_STREAM;
	struct zt_race_taker t = { .seed = 57, .want = ZT_RACE_TAKE_MAX };
	struct zt_race_sender d = { .seed = 57, .pause_us = 20 };
	pthread_t th[2];
	int sv[2];

	pair(type, sv);
	d.fd = sv[0];
	t.fd = sv[1];
	th[0] = zt_spawn(zt_race_sender_main, &d);
	th[1] = zt_spawn(zt_race_taker_main, &t);
	zt_sleep_ms(round % 2);
	if (close_sender) {
		zt_close(sv[0]);
		atomic_store(&d.stop, true);
		cr_assert(zt_join(th[0], 10000), "round %d: sender hangs", round);
		/* what was queued before the close is still read, then EOF */
		cr_assert(zt_join(th[1], 10000), "round %d: taker hangs (no EOF)", round);
		cr_assert(t.eof, "round %d (type %d): taker errno %d, want EOF", round, type, t.err);
		cr_assert_eq(t.got, d.sent, "round %d (type %d): %zu of %zu bytes read", round,
			     type, t.got, d.sent);
		cr_assert(d.err == 0 || d.err == EBADF || d.err == EINTR,
			  "round %d: sender errno %d", round, d.err);
		zt_close(sv[1]);
	} else {
		zt_close(sv[1]);
		atomic_store(&t.stop, true);
		atomic_store(&d.stop, true);
		cr_assert(zt_join(th[1], 10000), "round %d: taker hangs", round);
		cr_assert(zt_join(th[0], 10000), "round %d: sender hangs", round);
		cr_assert_leq(t.got, d.sent);
		cr_assert(t.err == 0 || t.err == EBADF || t.err == EINTR,
			  "round %d (type %d): taker errno %d", round, type, t.err);
		cr_assert(d.err == 0 || d.err == EPIPE, "round %d (type %d): sender errno %d",
			  round, type, d.err);
		zt_close(sv[0]);
	}
	cr_assert_eq(t.bad, 0, "round %d (type %d): %s", round, type, t.why);
}

/* 2000 rounds, or as many as 8 s allow (Valgrind runs this file: there a
 * round takes some 100 times as long) */
static void close_races(bool close_sender)
{
	int64_t t0 = zt_now_ms();

	for (int round = 0; round < 2000 && zt_now_ms() - t0 < 8000; round++)
		close_race_round(round, close_sender);
}

ZT_TEST(socketpair, close_races_active_takes, .timeout = 120)
{
	close_races(false);
}

ZT_TEST(socketpair, close_races_active_sends, .timeout = 120)
{
	close_races(true);
}
#endif
