/*
 * SO_SOCKS5 against a fake proxy: a zsock loopback listener in a helper
 * thread that answers a real client's SOCKS5 exchange with crafted bytes.
 * Checks the option's get/set rules, the reply parser's strict bounds
 * (wrong versions, truncation, bad address types, bad lengths, unknown
 * codes: EPROTO, never a crash), the REP -> errno mapping, RFC 1929
 * credentials on the wire, that exactly the reply is consumed (data the
 * "destination" sends right after it reaches the application), a
 * non-blocking socket, SO_SNDTIMEO, and a new connect() after a failure.
 * The real proxy (microsocks) is in tests/interop/test_socks5.c.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zt.h"

#define MAX_CONN 4

/* What the fake proxy does on one connection. */
struct script {
	const uint8_t *method;     /* method selection reply (NULL: 05 00) */
	size_t method_len;
	bool method_only;          /* stop after the method reply */
	const uint8_t *auth;       /* RFC 1929 reply (with method 05 02) */
	size_t auth_len;
	bool silent;               /* read the greeting, never answer */
	const uint8_t *reply;      /* the CONNECT reply */
	size_t reply_len;
	const char *data;          /* sent right after the reply */
	bool close_after;          /* close at once instead of waiting for EOF */
};

struct fake {
	int lfd;
	int n;
	const struct script *sc[MAX_CONN];
	/* seen, checked by the test thread */
	char err[160];
	uint8_t methods[8];
	int nmethods;
	char user[256], pass[256];
	uint8_t req[4 + 16 + 2];
	size_t req_len;
};

static bool f_recv(struct fake *f, int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = zsock_recv(fd, (uint8_t *)buf + got, len - got, 0);

		if (n <= 0) {
			snprintf(f->err, sizeof(f->err), "fake: recv %zd errno %d at %zu/%zu", n,
				 errno, got, len);
			return false;
		}
		got += (size_t)n;
	}
	return true;
}

static bool f_send(struct fake *f, int fd, const void *buf, size_t len)
{
	if (len == 0)
		return true;
	if (zsock_send(fd, buf, len, 0) != (ssize_t)len) {
		snprintf(f->err, sizeof(f->err), "fake: send errno %d", errno);
		return false;
	}
	return true;
}

static void f_drain(int fd)
{
	uint8_t b[64];

	while (zsock_recv(fd, b, sizeof(b), 0) > 0)
		;
}

static bool one_conn(struct fake *f, int fd, const struct script *sc)
{
	static const uint8_t m_none[] = { 5, 0 };
	uint8_t h[4], n;

	if (!f_recv(f, fd, h, 2))
		return false;
	f->nmethods = h[1];
	if (h[0] != 5 || h[1] == 0 || h[1] > sizeof(f->methods)) {
		snprintf(f->err, sizeof(f->err), "fake: greeting %02x %02x", h[0], h[1]);
		return false;
	}
	if (!f_recv(f, fd, f->methods, h[1]))
		return false;
	if (sc->silent) {
		f_drain(fd);
		return true;
	}
	if (!f_send(f, fd, sc->method ? sc->method : m_none,
		    sc->method ? sc->method_len : sizeof(m_none)))
		return false;
	if (sc->method_only) {
		if (!sc->close_after)
			f_drain(fd);
		return true;
	}
	if (sc->auth != NULL) {
		if (!f_recv(f, fd, h, 2) || !f_recv(f, fd, f->user, h[1]))
			return false;
		f->user[h[1]] = '\0';
		if (h[0] != 1) {
			snprintf(f->err, sizeof(f->err), "fake: auth version %u", h[0]);
			return false;
		}
		if (!f_recv(f, fd, &n, 1) || !f_recv(f, fd, f->pass, n))
			return false;
		f->pass[n] = '\0';
		if (!f_send(f, fd, sc->auth, sc->auth_len))
			return false;
		if (sc->auth_len < 2 || sc->auth[0] != 1 || sc->auth[1] != 0) {
			if (!sc->close_after)
				f_drain(fd);
			return true;
		}
	}
	if (!f_recv(f, fd, f->req, 4))
		return false;
	f->req_len = 4 + (f->req[3] == 4 ? 16 : 4) + 2;
	if (!f_recv(f, fd, f->req + 4, f->req_len - 4))
		return false;
	if (!f_send(f, fd, sc->reply, sc->reply_len))
		return false;
	if (sc->data != NULL && !f_send(f, fd, sc->data, strlen(sc->data)))
		return false;
	if (!sc->close_after)
		f_drain(fd);
	return true;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int i;

	for (i = 0; i < f->n; i++) {
		int fd = zsock_accept(f->lfd, NULL, NULL);
		bool ok;

		if (fd < 0) {
			snprintf(f->err, sizeof(f->err), "fake: accept errno %d", errno);
			return NULL;
		}
		ok = one_conn(f, fd, f->sc[i]);
		zsock_close(fd);
		if (!ok)
			return NULL;
	}
	return NULL;
}

/* A TCP client with SO_SOCKS5 pointing at the fake proxy's port. */
static int proxied(int family, uint16_t proxy_port)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, proxy_port, &ss);
	struct timeval tv = { .tv_sec = 10 };
	int fd = zt_socket(family, SOCK_STREAM);

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &ss, len), 0,
		     "SO_SOCKS5: errno %d", errno);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* The destination asked of the proxy: never really connected to. */
static socklen_t dest(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(4242);
		inet_pton(AF_INET, "198.51.100.7", &in->sin_addr);
		return sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(4242);
		inet_pton(AF_INET6, "2001:db8::77", &in6->sin6_addr);
		return sizeof(*in6);
	}
}

/*
 * Run the scripts, one connect() each on the same socket (a later one
 * after the earlier failed), want[i] the errno (0: success). With data,
 * the last connect must be followed by exactly that data. Returns the
 * fake for more checks; the socket is closed.
 */
static void run(struct fake *f, int family, const struct script **sc, const int *want, int n,
		const struct zsock_socks5_auth *auth, bool nonblock)
{
	uint16_t port;
	struct sockaddr_storage d;
	socklen_t dlen = dest(family, &d);
	pthread_t t;
	int fd, i;

	memset(f, 0, sizeof(*f));
	f->lfd = zt_listener(family, 4, &port);
	f->n = n;
	for (i = 0; i < n; i++)
		f->sc[i] = sc[i];
	t = zt_spawn(fake_main, f);
	fd = proxied(family, port);
	if (auth != NULL)
		cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, auth,
					      sizeof(*auth)), 0, "AUTH: errno %d", errno);
	if (nonblock)
		cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (i = 0; i < n; i++) {
		int rc = zsock_connect(fd, (struct sockaddr *)&d, dlen);

		if (want[i] == 0) {
			cr_assert_eq(rc, 0, "connect %d: errno %d (%s) [%s]", i, errno,
				     strerror(errno), f->err);
		} else {
			cr_assert_eq(rc, -1, "connect %d succeeded, want errno %d", i, want[i]);
			cr_assert_eq(errno, want[i], "connect %d: errno %d (%s), want %d (%s)", i,
				     errno, strerror(errno), want[i], strerror(want[i]));
		}
	}
	if (want[n - 1] == 0) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		cr_assert_eq(zsock_getpeername(fd, (struct sockaddr *)&peer, &plen), 0);
		cr_assert_eq(plen, dlen);
		cr_assert_eq(memcmp(&peer, &d, dlen), 0, "getpeername is not the destination");
		if (sc[n - 1]->data != NULL) {
			size_t dl = strlen(sc[n - 1]->data);
			char buf[300] = { 0 };

			if (nonblock)
				cr_assert_eq(zsock_fcntl(fd, F_SETFL, 0), 0);
			zt_recv_all(fd, buf, dl);
			cr_assert_eq(memcmp(buf, sc[n - 1]->data, dl), 0,
				     "data after the reply: \"%s\"", buf);
		}
	}
	zt_close(fd);
	cr_assert(zt_join(t, 10000), "fake proxy hangs");
	zt_close(f->lfd);
	cr_assert_str_empty(f->err, "%s", f->err);
}

static void run1(int family, const struct script *sc, int want)
{
	struct fake f;

	run(&f, family, &sc, &want, 1, NULL, false);
}

#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static const uint8_t ok4[] = { 5, 0, 0, 1, 192, 0, 2, 1, 0x10, 0x00 };

/* ---- success, and exactly the reply consumed ------------------------------------------ */

ZT_TEST(socks5, ok_ipv4_reply_then_data, .timeout = 20)
{
	struct script sc = { .reply = ok4, .reply_len = sizeof(ok4), .data = "hello" };
	struct fake f;
	int want = 0;
	const struct script *p = &sc;

	run(&f, AF_INET, &p, &want, 1, NULL, false);
	/* the request: VER CMD RSV ATYP=1 198.51.100.7 port 4242 */
	cr_assert_eq(f.req_len, 10);
	cr_assert_eq(memcmp(f.req, ((const uint8_t[]){ 5, 1, 0, 1, 198, 51, 100, 7, 0x10, 0x92 }),
			    10), 0);
	cr_assert_eq(f.nmethods, 1);
	cr_assert_eq(f.methods[0], 0);
}

ZT_TEST(socks5, ok_ipv6_reply_then_data, .timeout = 20)
{
	static const uint8_t r[] = { 5, 0, 0, 4, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0,
				     0, 0, 0, 0, 0, 0, 0, 9, 0, 80 };
	struct script sc = { .reply = r, .reply_len = sizeof(r), .data = "x" };
	struct fake f;
	int want = 0;
	const struct script *p = &sc;

	run(&f, AF_INET6, &p, &want, 1, NULL, false);
	cr_assert_eq(f.req_len, 22);
	cr_assert_eq(f.req[3], 4);
}

ZT_TEST(socks5, ok_domain_255_then_data, .timeout = 20)
{
	uint8_t r[5 + 255 + 2];
	struct script sc = { .reply = r, .reply_len = sizeof(r),
			     .data = "data that follows the reply" };

	memcpy(r, (const uint8_t[]){ 5, 0, 0, 3, 255 }, 5);
	memset(r + 5, 'a', 255);
	r[5 + 255] = 0;
	r[5 + 256] = 80;
	run1(AF_INET, &sc, 0);
}

ZT_TEST(socks5, nonblocking_socket_connects_synchronously, .timeout = 20)
{
	struct script sc = { .reply = ok4, .reply_len = sizeof(ok4), .data = "nb" };
	struct fake f;
	int want = 0;
	const struct script *p = &sc;

	run(&f, AF_INET, &p, &want, 1, NULL, true);
}

/* ---- malformed replies: EPROTO -------------------------------------------------------- */

ZT_TEST(socks5, method_reply_wrong_version, .timeout = 20)
{
	struct script sc = { .method = B(4, 0), .method_only = true };

	run1(AF_INET, &sc, EPROTO);
}

ZT_TEST(socks5, method_reply_truncated, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .method = B(5), .method_only = true,
					.close_after = true }, EPROTO);
}

ZT_TEST(socks5, method_not_offered, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .method = B(5, 2), .method_only = true }, EPROTO);
	run1(AF_INET, &(struct script){ .method = B(5, 0x80), .method_only = true }, EPROTO);
}

ZT_TEST(socks5, no_acceptable_method, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .method = B(5, 0xff), .method_only = true }, EACCES);
}

ZT_TEST(socks5, reply_wrong_version, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .reply = B(4, 0, 0, 1, 1, 2, 3, 4, 0, 80) }, EPROTO);
}

ZT_TEST(socks5, reply_reserved_not_zero, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 1, 1, 1, 2, 3, 4, 0, 80) }, EPROTO);
}

ZT_TEST(socks5, reply_truncated, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 0, 1, 192, 0), .close_after = true },
	     EPROTO);
	run1(AF_INET, &(struct script){ .reply = B(5, 0), .close_after = true }, EPROTO);
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 0, 4, 1, 2, 3), .close_after = true },
	     EPROTO);
}

ZT_TEST(socks5, reply_bad_atyp, .timeout = 20)
{
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 0, 2, 1, 2, 3, 4, 0, 80) }, EPROTO);
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 0, 0xff, 1, 2, 3, 4, 0, 80) }, EPROTO);
}

ZT_TEST(socks5, reply_domain_bad_length, .timeout = 20)
{
	/* length 0 */
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 0, 3, 0, 0, 80) }, EPROTO);
	/* length 255 announced, 10 bytes sent, then the proxy closes */
	run1(AF_INET, &(struct script){ .reply = B(5, 0, 0, 3, 255, 'a', 'b', 'c', 'd', 'e',
						   'f', 'g', 'h', 0, 80),
					.close_after = true }, EPROTO);
}

ZT_TEST(socks5, reply_codes_mapped, .timeout = 60)
{
	static const int want[] = { 0, ECONNREFUSED, EACCES, ENETUNREACH, EHOSTUNREACH,
				    ECONNREFUSED, ETIMEDOUT, EOPNOTSUPP, EAFNOSUPPORT,
				    EPROTO, EPROTO };
	static const uint8_t rep[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff };
	size_t i;

	for (i = 1; i < sizeof(rep); i++) {
		uint8_t r[10] = { 5, rep[i], 0, 1, 0, 0, 0, 0, 0, 0 };

		run1(AF_INET, &(struct script){ .reply = r, .reply_len = sizeof(r) }, want[i]);
	}
}

/* ---- RFC 1929 --------------------------------------------------------------------------- */

static struct zsock_socks5_auth creds(const char *u, const char *p)
{
	struct zsock_socks5_auth a;

	memset(&a, 0, sizeof(a));
	strncpy(a.user, u, sizeof(a.user) - 1);
	strncpy(a.pass, p, sizeof(a.pass) - 1);
	return a;
}

ZT_TEST(socks5, userpass_accepted, .timeout = 20)
{
	struct zsock_socks5_auth a = creds("alice", "s3cret");
	const struct script sc = { .method = B(5, 2), .auth = B(1, 0), .reply = ok4,
				   .reply_len = sizeof(ok4), .data = "after auth" };
	const struct script *p = &sc;
	struct fake f;
	int want = 0;

	run(&f, AF_INET, &p, &want, 1, &a, false);
	cr_assert_eq(f.nmethods, 2);
	cr_assert_eq(f.methods[0], 0);
	cr_assert_eq(f.methods[1], 2);
	cr_assert_str_eq(f.user, "alice");
	cr_assert_str_eq(f.pass, "s3cret");
}

ZT_TEST(socks5, userpass_rejected_or_malformed, .timeout = 20)
{
	struct zsock_socks5_auth a = creds("bob", "wrong");
	const struct script rej = { .method = B(5, 2), .auth = B(1, 1) };
	const struct script badver = { .method = B(5, 2), .auth = B(5, 0) };
	const struct script trunc = { .method = B(5, 2), .auth = B(1), .close_after = true };
	const struct script *p;
	struct fake f;
	int want;

	p = &rej;
	want = EACCES;
	run(&f, AF_INET, &p, &want, 1, &a, false);
	p = &badver;
	want = EPROTO;
	run(&f, AF_INET, &p, &want, 1, &a, false);
	p = &trunc;
	want = EPROTO;
	run(&f, AF_INET, &p, &want, 1, &a, false);
}

/* ---- timeout, then a new connect on the same socket --------------------------------------- */

ZT_TEST(socks5, sndtimeo_bounds_exchange_then_retry, .timeout = 30)
{
	const struct script silent = { .silent = true };
	const struct script good = { .reply = ok4, .reply_len = sizeof(ok4), .data = "retry" };
	const struct script *sc[3] = { &silent, &good };
	const int want[2] = { ETIMEDOUT, 0 };
	struct sockaddr_storage d, px;
	socklen_t dlen = dest(AF_INET, &d), plen;
	struct timeval tv = { .tv_usec = 300000 };
	struct fake f;
	uint16_t port;
	pthread_t t;
	int64_t t0;
	int fd, rc;
	char buf[8] = { 0 };

	memset(&f, 0, sizeof(f));
	f.lfd = zt_listener(AF_INET, 4, &port);
	f.n = 2;
	f.sc[0] = sc[0];
	f.sc[1] = sc[1];
	t = zt_spawn(fake_main, &f);
	fd = zt_socket(AF_INET, SOCK_STREAM);
	plen = zt_loopback(AF_INET, port, &px);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &px, plen), 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	t0 = zt_now_ms();
	rc = zsock_connect(fd, (struct sockaddr *)&d, dlen);
	cr_assert_eq(rc, -1);
	cr_assert_eq(errno, want[0], "errno %d", errno);
	cr_assert_geq(zt_now_ms() - t0, 290);
	cr_assert_eq(zsock_getpeername(fd, (struct sockaddr *)&px, &plen), -1);
	cr_assert_eq(errno, ENOTCONN);
	tv.tv_sec = 10;
	tv.tv_usec = 0;
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	rc = zsock_connect(fd, (struct sockaddr *)&d, dlen);
	cr_assert_eq(rc, 0, "retry: errno %d [%s]", errno, f.err);
	zt_recv_all(fd, buf, 5);
	cr_assert_str_eq(buf, "retry");
	zt_close(fd);
	cr_assert(zt_join(t, 10000));
	zt_close(f.lfd);
	cr_assert_str_empty(f.err, "%s", f.err);
}

ZT_TEST(socks5, proxy_unreachable, .timeout = 20)
{
	struct sockaddr_storage d, px;
	socklen_t dlen = dest(AF_INET, &d), plen;
	uint16_t port;
	int l = zt_listener(AF_INET, 1, &port);
	int fd;

	zt_close(l); /* nobody listens there now */
	fd = zt_socket(AF_INET, SOCK_STREAM);
	plen = zt_loopback(AF_INET, port, &px);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &px, plen), 0);
	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&d, dlen), -1);
	cr_assert_eq(errno, ECONNREFUSED, "errno %d", errno);
	zt_close(fd);
}

/* ---- the options themselves ---------------------------------------------------------------- */

ZT_TEST(socks5, option_get_set_rules, .timeout = 20)
{
	struct sockaddr_storage ss, got, v6;
	socklen_t len = zt_loopback(AF_INET, 1080, &ss), glen;
	socklen_t len6 = zt_loopback(AF_INET6, 1080, &v6);
	struct zsock_socks5_auth a, ga;
	int fd = zt_socket(AF_INET, SOCK_STREAM);
	int u = zt_socket(AF_INET, SOCK_DGRAM);

	cr_assert_neq(SO_SOCKS5, 60, "60 is Linux's SO_ZEROCOPY");
	/* unset: nothing stored */
	glen = sizeof(got);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_SOCKS5, &got, &glen), 0);
	cr_assert_eq(glen, 0);
	/* set, read back */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &ss, len), 0);
	glen = sizeof(got);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_SOCKS5, &got, &glen), 0);
	cr_assert_eq(glen, len);
	cr_assert_eq(memcmp(&got, &ss, len), 0);
	/* errors */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &ss, len - 1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &v6, len6), -1);
	cr_assert_eq(errno, EAFNOSUPPORT);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, NULL, len), -1);
	cr_assert_eq(errno, EFAULT);
	((struct sockaddr_in *)&ss)->sin_port = 0;
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, &ss, len), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_setsockopt(u, SOL_SOCKET, SO_SOCKS5, &ss, len), -1);
	cr_assert_eq(errno, ENOPROTOOPT);
	/* optlen 0 clears */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SOCKS5, NULL, 0), 0);
	glen = sizeof(got);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_SOCKS5, &got, &glen), 0);
	cr_assert_eq(glen, 0);

	/* credentials: the password is never read back */
	a = creds("user", "pass");
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), 0);
	glen = sizeof(ga);
	memset(&ga, 0x55, sizeof(ga));
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &ga, &glen), 0);
	cr_assert_eq(glen, sizeof(ga));
	cr_assert_str_eq(ga.user, "user");
	cr_assert_eq(ga.pass[0], 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a) - 1), -1);
	cr_assert_eq(errno, EINVAL);
	a = creds("user", "");
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), -1);
	cr_assert_eq(errno, EINVAL);
	memset(a.user, 'u', sizeof(a.user)); /* 256 bytes, no NUL */
	strcpy(a.pass, "p");
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), -1);
	cr_assert_eq(errno, EINVAL);
	a.user[255] = '\0'; /* 255: the most RFC 1929 allows */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, NULL, 0), 0);
	glen = sizeof(ga);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &ga, &glen), 0);
	cr_assert_str_eq(ga.user, "");
	zt_close(fd);
	zt_close(u);
}

/*
 * Credentials sit in CONFIG_ZSOCK_SOCKS5_AUTH_MAX slots apart from the
 * sockets: one more than that is ENOMEM, and a slot comes back when its
 * socket clears its credentials or closes (then another socket gets it,
 * and the old password is not what the new owner reads).
 */
ZT_TEST(socks5, credential_slots_exhaust_and_return, .timeout = 20)
{
	int fds[CONFIG_ZSOCK_SOCKS5_AUTH_MAX + 1];
	struct zsock_socks5_auth a = creds("user", "secret"), ga;
	socklen_t glen;
	int i;

	for (i = 0; i <= CONFIG_ZSOCK_SOCKS5_AUTH_MAX; i++) {
		fds[i] = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_geq(fds[i], 0);
	}
	for (i = 0; i < CONFIG_ZSOCK_SOCKS5_AUTH_MAX; i++)
		cr_assert_eq(zsock_setsockopt(fds[i], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a,
					      sizeof(a)), 0, "socket %d", i);
	cr_assert_eq(zsock_setsockopt(fds[i], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), -1);
	cr_assert_eq(errno, ENOMEM);
	/* setting again on a socket that has a slot keeps using it */
	a = creds("other", "pw");
	cr_assert_eq(zsock_setsockopt(fds[0], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), 0);
	/* clearing gives the slot back */
	cr_assert_eq(zsock_setsockopt(fds[0], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, NULL, 0), 0);
	cr_assert_eq(zsock_setsockopt(fds[i], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), 0);
	/* so does closing */
	zt_close(fds[1]);
	fds[1] = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_geq(fds[1], 0);
	glen = sizeof(ga);
	cr_assert_eq(zsock_getsockopt(fds[1], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &ga, &glen), 0);
	cr_assert_str_eq(ga.user, "", "a new socket has no credentials");
	a = creds("third", "pw3");
	cr_assert_eq(zsock_setsockopt(fds[1], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)), 0);
	glen = sizeof(ga);
	cr_assert_eq(zsock_getsockopt(fds[1], SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &ga, &glen), 0);
	cr_assert_str_eq(ga.user, "third");
	for (i = 0; i <= CONFIG_ZSOCK_SOCKS5_AUTH_MAX; i++)
		zt_close(fds[i]);
}
