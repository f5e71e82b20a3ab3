/* zt: shared test helpers; see zt.h. */
#define _GNU_SOURCE
#include "zt.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#if CONFIG_ZSOCK_HOSTED
#include <arpa/inet.h>
#else
#include "engine/port/port.h"   /* zs_port_now_ms: no clock_gettime here */
#endif

/* ---- fixture --------------------------------------------------------------- */

#if !CONFIG_ZSOCK_HOSTED
/* One boot runs every test: whether the last test passed its leak check. */
static bool last_test_clean = true;
#endif

void zt_setup(void)
{
	struct zsock_engine_stats st;

	cr_assert_eq(zsock_engine_stats(&st), 0, "engine start: errno %d", errno);
#if !CONFIG_ZSOCK_HOSTED
	/*
	 * No fresh process for each test here: a test that failed an assertion
	 * (or its leak check) left sockets open. Close them, or that one
	 * failure fails the leak check of every test after it. After a test
	 * that passed, nothing is touched.
	 */
	if (!last_test_clean && st.fds_in_use != 0) {
		cr_log_warn("closing the %" PRIu32 " fds an earlier test left open",
			    st.fds_in_use);
		for (int fd = 0; fd < CONFIG_ZVFS_OPEN_MAX; fd++)
			(void)zsock_close(fd);
		(void)zt_engine_idle(ZT_LEAK_WAIT_MS, NULL);
	}
	last_test_clean = false;
#endif
}

bool zt_engine_idle(int wait_ms, struct zsock_engine_stats *out)
{
	struct zsock_engine_stats st;
	int64_t end = zt_now_ms() + wait_ms;
	bool idle;

	for (;;) {
		if (zsock_engine_stats(&st) != 0)
			return false;
		idle = st.sockets_in_use == 0 && st.fds_in_use == 0 &&
		       st.tx_bufs_in_use == 0 && st.rx_bufs_in_use == 0 &&
		       st.tls_in_use == 0 && st.tls_sessions_in_use == 0 &&
		       st.offload_in_use == 0 && st.dtls_in_use == 0;
		if (idle || zt_now_ms() >= end)
			break;
		zt_sleep_ms(10);
	}
	if (out != NULL)
		*out = st;
	return idle;
}

void zt_leak_check(void)
{
	struct zsock_engine_stats st = { 0 };
	bool idle = zt_engine_idle(ZT_LEAK_WAIT_MS, &st);

	/* PRIu32: uint32_t is unsigned long on arm-none-eabi */
	cr_assert(idle, "leak after %d ms: %" PRIu32 " fds, %" PRIu32 " sockets, "
		  "%" PRIu32 " tx net_bufs, %" PRIu32 " rx net_bufs, %" PRIu32 " TLS sockets, "
		  "%" PRIu32 " TLS sessions, %" PRIu32 " offloaded, %" PRIu32 " DTLS sockets",
		  ZT_LEAK_WAIT_MS, st.fds_in_use, st.sockets_in_use, st.tx_bufs_in_use,
		  st.rx_bufs_in_use, st.tls_in_use, st.tls_sessions_in_use, st.offload_in_use,
		  st.dtls_in_use);
#if !CONFIG_ZSOCK_HOSTED
	last_test_clean = true;
#endif
}

void zt_stats(struct zsock_engine_stats *out)
{
	cr_assert_eq(zsock_engine_stats(out), 0, "zsock_engine_stats: errno %d", errno);
}

/* ---- time ----------------------------------------------------------------- */

int64_t zt_now_ms(void)
{
#if CONFIG_ZSOCK_HOSTED
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#else
	return zs_port_now_ms();
#endif
}

void zt_sleep_ms(int ms)
{
#if CONFIG_ZSOCK_HOSTED
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
#else
	/* one context: waiting must pump the engine, which zsock_poll does */
	zsock_poll(NULL, 0, ms);
#endif
}

/* ---- addresses and sockets -------------------------------------------------- */

socklen_t zt_loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_loopback;
		return sizeof(*in6);
	}
}

uint16_t zt_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

bool zt_is_loopback(const struct sockaddr_storage *ss, int family)
{
	if (ss->ss_family != family)
		return false;
	if (family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &in6addr_loopback, 16) == 0;
}

int zt_socket(int family, int type)
{
	int fd = zsock_socket(family, type, 0);

	cr_assert_geq(fd, 0, "zsock_socket(%d, %d): errno %d", family, type, errno);
	return fd;
}

void zt_close(int fd)
{
	cr_assert_eq(zsock_close(fd), 0, "zsock_close(%d): errno %d", fd, errno);
}

uint16_t zt_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	cr_assert_eq(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), 0,
		     "getsockname: errno %d", errno);
	return zt_port_of(&ss);
}

static int bound(int family, int type, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, 0, &ss);
	int fd = zt_socket(family, type);

	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	*port = zt_local_port(fd);
	cr_assert_neq(*port, 0, "bind to port 0 left port 0");
	return fd;
}

int zt_listener(int family, int backlog, uint16_t *port)
{
	int fd = bound(family, SOCK_STREAM, port);

	cr_assert_eq(zsock_listen(fd, backlog), 0, "listen: errno %d", errno);
	return fd;
}

int zt_udp_bound(int family, uint16_t *port)
{
	return bound(family, SOCK_DGRAM, port);
}

int zt_connect(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, port, &ss);
	int fd = zt_socket(family, SOCK_STREAM);

	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&ss, len), 0,
		     "connect to port %u: errno %d", port, errno);
	return fd;
}

int zt_accept(int listener)
{
	int fd = zsock_accept(listener, NULL, NULL);

	cr_assert_geq(fd, 0, "accept: errno %d", errno);
	return fd;
}

void zt_tcp_pair(int family, int *cli, int *srv)
{
	uint16_t port;
	int l = zt_listener(family, 1, &port);

	*cli = zt_connect(family, port);
	*srv = zt_accept(l);
	zt_close(l);
}

void zt_udp_pair(int family, int *a, int *b)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t pa, pb;

	*a = zt_udp_bound(family, &pa);
	*b = zt_udp_bound(family, &pb);
	len = zt_loopback(family, pb, &ss);
	cr_assert_eq(zsock_connect(*a, (struct sockaddr *)&ss, len), 0, "connect: errno %d", errno);
	len = zt_loopback(family, pa, &ss);
	cr_assert_eq(zsock_connect(*b, (struct sockaddr *)&ss, len), 0, "connect: errno %d", errno);
}

short zt_poll1(int fd, short events, int timeout_ms)
{
	struct zsock_pollfd p = { .fd = fd, .events = events };
	int rc = zsock_poll(&p, 1, timeout_ms);

	cr_assert_geq(rc, 0, "poll: errno %d", errno);
	cr_assert_eq(rc, p.revents != 0, "poll returned %d with revents 0x%x", rc, p.revents);
	return p.revents;
}

/* ---- data ------------------------------------------------------------------- */

static uint32_t crc_table[256];
#if CONFIG_ZSOCK_HOSTED
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
#else
static bool crc_ready;   /* one context: a flag is enough */
#endif

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t zt_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

#if CONFIG_ZSOCK_HOSTED
	pthread_once(&crc_once, crc_init);
#else
	if (!crc_ready) {
		crc_init();
		crc_ready = true;
	}
#endif
	crc = ~crc;
	while (len-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* splitmix64 finaliser: word w of stream seed. */
static uint64_t word_at(uint64_t seed, uint64_t w)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + w * 0xbf58476d1ce4e5b9ull + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void zt_pattern(uint64_t seed, uint64_t offset, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i = 0;

	while (i < len) {
		uint64_t pos = offset + i;
		uint64_t w = word_at(seed, pos / 8);
		unsigned int k = (unsigned int)(pos % 8);

		for (; k < 8 && i < len; k++, i++)
			p[i] = (uint8_t)(w >> (8 * k));
	}
}

size_t zt_pattern_check(uint64_t seed, uint64_t offset, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i = 0;

	while (i < len) {
		uint64_t pos = offset + i;
		uint64_t w = word_at(seed, pos / 8);
		unsigned int k = (unsigned int)(pos % 8);

		for (; k < 8 && i < len; k++, i++) {
			if (p[i] != (uint8_t)(w >> (8 * k)))
				return i;
		}
	}
	return len;
}

uint64_t zt_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

void zt_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = zsock_send(fd, p, len, 0);

		cr_assert_gt(n, 0, "send(%zu) returned %zd, errno %d", len, n, errno);
		cr_assert_leq((size_t)n, len, "send(%zu) returned %zd", len, n);
		p += n;
		len -= (size_t)n;
	}
}

void zt_recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t want = len;

	while (len > 0) {
		ssize_t n = zsock_recv(fd, p, len, 0);

		cr_assert_gt(n, 0, "recv: %zd (errno %d) with %zu of %zu bytes still due",
			     n, errno, len, want);
		cr_assert_leq((size_t)n, len, "recv(%zu) returned %zd", len, n);
		p += n;
		len -= (size_t)n;
	}
}

/* ---- threads (hosted only) -------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED
pthread_t zt_spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, fn, arg);

	cr_assert_eq(rc, 0, "pthread_create: %d", rc);
	return t;
}

bool zt_join(pthread_t t, int wait_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}
#endif
