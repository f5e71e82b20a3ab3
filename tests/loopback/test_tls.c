/*
 * TLS sockets (IPPROTO_TLS_1_2, SOL_TLS; CONFORMANCE.md "Secure sockets"),
 * zsock against zsock over loopback: a TLS client in the test thread, a TLS
 * server accepting in a helper thread, credentials from a PKI the openssl
 * CLI makes for each test (tests/common/zt_certs.h). No root needed.
 *
 *   handshake_v4/v6           handshake, 256 KiB each way (CRC), what every
 *                             read-only option says after it, close_notify
 *   full_duplex               256 KiB each way at once, a sender and a
 *                             receiver thread on each socket
 *   rsa_server, pem_multi_ca  ECDHE-RSA; PEM credentials, a CA credential
 *                             holding two CAs
 *   suite_*                   TLS_CIPHERSUITE_LIST decides the suite, on
 *                             either side; no overlap: no handshake
 *   protocols, version_*      IPPROTO_TLS_1_x, SO_PROTOCOL, DTLS 1.0 refused,
 *                             a fixed version meets only itself
 *   opt_*                     every SOL_TLS option's set/get rules and
 *                             errno values from <zsock/socket.h>
 *   hostname_*                TLS_HOSTNAME unset / NULL / without NUL
 *   verify_*                  wrong host, unknown CA, expired, self-signed
 *                             under NONE, OPTIONAL and REQUIRED
 *   no_ca_required            a REQUIRED client without CA never connects
 *   mutual_*                  a server with OPTIONAL / REQUIRED
 *   nonblocking_connect       EINPROGRESS, poll until the handshake is done
 *   poll_app_data_only        a record cut in two by a proxy: no POLLIN
 *                             until it is whole
 *   garbage_*, truncated_*    bad records after the handshake, a peer that
 *                             goes away mid-handshake: a clean error, the
 *                             engine serves the next connection, every TLS
 *                             slot comes back
 *   waitall_*                 MSG_WAITALL across records and up to EOF
 *   shutdown_wr, server_close close_notify: the peer reads 0
 *   resumption_*              TLS_SESSION_CACHE, ZSOCK_TLS_SESSION_RESUMED,
 *                             TLS_SESSION_CACHE_PURGE; a session is offered
 *                             only to the same host name and level
 *   session_exhaustion        CONFIG_ZSOCK_TLS_SESSIONS: connect ENOMEM
 *   alpn_*                    TLS_ALPN_LIST, ZSOCK_TLS_ALPN_USED
 *   slot_exhaustion           CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS, ENOMEM
 *   cred_deleted_in_use       tls_credential_delete() under a live session
 *   cert_nocopy               TLS_CERT_NOCOPY_OPTIONAL serves its chain
 *   psk_*                     TLS-PSK (the DTLS/TLS-PSK core in stream
 *                             mode): both suites, v4 and v6, full duplex,
 *                             wrong key and unknown identity (ECONNABORTED
 *                             both ends), a non-blocking connect with
 *                             MSG_PEEK and EOF, the rule that picks PSK
 *                             or BearSSL, TLS_SESSION_CACHE resumption,
 *                             ALPN (psk_alpn: match, the server's order,
 *                             one side only, no overlap: alert 120)
 *   close_races_active_*      close from one thread while another takes
 *                             (or sends) records on that socket: the
 *                             stream stays in order, EBADF / EINTR, no
 *                             slot, session or buffer left
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#include "zt.h"
#include "zt_race.h"
#include "zt_certs.h"
#include "zt_tls.h"

/* ---- constants ---------------------------------------------------------------- */

#define TAG_EC_CA       1   /* ec_ca (DER) */
#define TAG_RSA_CA      2   /* rsa_ca (DER) */
#define TAG_BOTH_CA     3   /* both_ca.pem: rsa_ca and ec_ca */
#define TAG_EC_SRV      10  /* ec_leaf + ec_int (DER chain), PKCS#8 DER key */
#define TAG_RSA_SRV     11  /* rsa_leaf (PEM), PKCS#1 DER key */
#define TAG_EXPIRED_SRV 12  /* ec_expired */
#define TAG_SELF_SRV    13  /* ec_self */
#define TAG_EC_SRV_PEM  14  /* ec_leaf_chain.pem, SEC1 PEM key */
#define TAG_EC_CLI      20  /* ec_client (PEM), SEC1 PEM key */
#define TAG_CLI_RSACA   21  /* ec_client_rsaca: a client cert ec_ca does not vouch for */
#define TAG_NOTHING     99  /* never registered */

#define SERVER_NAME "server.test"
#define XFER        (256u * 1024u)
#define NO_BAD      UINT64_MAX

/* IANA numbers */
#define ECDHE_ECDSA_AES128_GCM 0xC02B
#define ECDHE_ECDSA_AES256_GCM 0xC02C
#define ECDHE_RSA_AES128_GCM   0xC02F
#define ECDHE_RSA_AES256_GCM   0xC030
#define ECDHE_RSA_CHACHA       0xCCA8
#define ECDHE_ECDSA_CHACHA     0xCCA9

/* BearSSL error codes (bearssl_ssl.h, bearssl_x509.h) named by the header */
#define BR_BAD_MAC          7
#define X509_EXPIRED        54
#define X509_BAD_SERVER_NAME 56
#define X509_NOT_TRUSTED    62

/* CBC suites (TLS 1.0 / 1.1 have no AEAD suite) */
static bool is_cbc_suite(int s)
{
	static const int cbc[] = { 0xC009, 0xC00A, 0xC013, 0xC014, 0xC023, 0xC024,
				   0xC027, 0xC028, 0xC004, 0xC005, 0xC00E, 0xC00F,
				   0xC025, 0xC026, 0xC029, 0xC02A, 0x002F, 0x0035,
				   0x003C, 0x003D, 0x000A, 0xC003, 0xC008, 0xC00D,
				   0xC012 };

	for (size_t i = 0; i < sizeof(cbc) / sizeof(cbc[0]); i++) {
		if (cbc[i] == s)
			return true;
	}
	return false;
}

/* ---- credentials -------------------------------------------------------------- */

static void creds_std(void)
{
	zt_certs_make();
	zt_certs_add(TAG_EC_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	zt_certs_add(TAG_RSA_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "rsa_ca.der");
	zt_certs_add(TAG_EC_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
	zt_certs_add(TAG_EC_SRV, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
}

static void creds_add(sec_tag_t tag)
{
	zt_certs_make();
	switch (tag) {
	case TAG_BOTH_CA:
		zt_certs_add(tag, TLS_CREDENTIAL_CA_CERTIFICATE, "both_ca.pem");
		break;
	case TAG_RSA_SRV:
		zt_certs_add(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "rsa_leaf.pem");
		zt_certs_add(tag, TLS_CREDENTIAL_PRIVATE_KEY, "rsa_leaf.pkcs1.der");
		break;
	case TAG_EXPIRED_SRV:
		zt_certs_add(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_expired.der");
		zt_certs_add(tag, TLS_CREDENTIAL_PRIVATE_KEY, "ec_expired.key.der");
		break;
	case TAG_SELF_SRV:
		zt_certs_add(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_self.der");
		zt_certs_add(tag, TLS_CREDENTIAL_PRIVATE_KEY, "ec_self.key.der");
		break;
	case TAG_EC_SRV_PEM:
		zt_certs_add(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.pem");
		zt_certs_add(tag, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.sec1.pem");
		break;
	case TAG_EC_CLI:
		zt_certs_add(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_client.pem");
		zt_certs_add(tag, TLS_CREDENTIAL_PRIVATE_KEY, "ec_client.sec1.pem");
		break;
	case TAG_CLI_RSACA:
		zt_certs_add(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_client_rsaca.der");
		zt_certs_add(tag, TLS_CREDENTIAL_PRIVATE_KEY, "ec_client_rsaca.key.der");
		break;
	default:
		cr_assert_fail("creds_add: tag %d", tag);
	}
}

/* ---- options ------------------------------------------------------------------- */

static int tls_sock(int family, int proto)
{
	int fd = zsock_socket(family, SOCK_STREAM, proto);

	cr_assert_geq(fd, 0, "zsock_socket(%d, SOCK_STREAM, %d): errno %d (%s)", family, proto,
		      errno, strerror(errno));
	return fd;
}

static void set_int(int fd, int name, int v)
{
	zt_tls_set(fd, name, &v, sizeof(v));
}

static int get_int(int fd, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, name, &v, &len), 0,
		     "getsockopt(SOL_TLS, %d): errno %d (%s)", name, errno, strerror(errno));
	cr_assert_eq(len, sizeof(int), "getsockopt(SOL_TLS, %d) stored %u bytes", name,
		     (unsigned)len);
	return v;
}

static void set_fails(int fd, int level, int name, const void *val, socklen_t len, int err)
{
	errno = 0;
	cr_assert_eq(zsock_setsockopt(fd, level, name, val, len), -1,
		     "setsockopt(%d, %d, len %u) succeeded", level, name, (unsigned)len);
	cr_assert_eq(errno, err, "setsockopt(%d, %d, len %u): errno %d (%s), want %d (%s)", level,
		     name, (unsigned)len, errno, strerror(errno), err, strerror(err));
}

static void set_int_fails(int fd, int name, int v, int err)
{
	errno = 0;
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, name, &v, sizeof(v)), -1,
		     "setsockopt(SOL_TLS, %d, %d) succeeded", name, v);
	cr_assert_eq(errno, err, "setsockopt(SOL_TLS, %d, %d): errno %d (%s), want %d (%s)", name,
		     v, errno, strerror(errno), err, strerror(err));
}

static void get_fails(int fd, int level, int name, int err)
{
	char buf[64];
	socklen_t len = sizeof(buf);

	errno = 0;
	cr_assert_eq(zsock_getsockopt(fd, level, name, buf, &len), -1,
		     "getsockopt(%d, %d) succeeded", level, name);
	cr_assert_eq(errno, err, "getsockopt(%d, %d): errno %d (%s), want %d (%s)", level, name,
		     errno, strerror(errno), err, strerror(err));
}

static void set_tags(int fd, const sec_tag_t *tags, int n)
{
	zt_tls_set(fd, TLS_SEC_TAG_LIST, tags, (socklen_t)(n * sizeof(sec_tag_t)));
}

static void set_host(int fd, const char *host)
{
	zt_tls_set(fd, TLS_HOSTNAME, host, (socklen_t)strlen(host) + 1);
}

static void set_suites(int fd, const int *s, int n)
{
	zt_tls_set(fd, TLS_CIPHERSUITE_LIST, s, (socklen_t)(n * sizeof(int)));
}

/* ZSOCK_TLS_ALPN_USED into buf; asserts success; returns optlen. */
static socklen_t alpn_used(int fd, char *buf, socklen_t size)
{
	socklen_t len = size;

	memset(buf, 'X', size);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_ALPN_USED, buf, &len), 0,
		     "ZSOCK_TLS_ALPN_USED: errno %d (%s)", errno, strerror(errno));
	cr_assert_lt(len, size + 1);
	cr_assert_eq(len, strnlen(buf, size) + 1, "ZSOCK_TLS_ALPN_USED: optlen %u for \"%.*s\"",
		     (unsigned)len, (int)size, buf);
	return len;
}

static int sock_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, level, name, &v, &len), 0,
		     "getsockopt(%d, %d): errno %d (%s)", level, name, errno, strerror(errno));
	return v;
}

/* ---- sockets ------------------------------------------------------------------- */

/* A TLS listener on loopback with tags (ntags 0: none set). */
static int tls_listener_p(int family, int proto, const sec_tag_t *tags, int ntags, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, 0, &ss);
	int fd = tls_sock(family, proto);

	if (ntags > 0)
		set_tags(fd, tags, ntags);
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	cr_assert_eq(zsock_listen(fd, 4), 0, "listen: errno %d (%s)", errno, strerror(errno));
	*port = zt_local_port(fd);
	return fd;
}

static int tls_listener(int family, const sec_tag_t *tags, int ntags, uint16_t *port)
{
	return tls_listener_p(family, IPPROTO_TLS_1_2, tags, ntags, port);
}

/* A TLS client socket with tags and host name (NULL: none). */
static int tls_client_p(int family, int proto, const sec_tag_t *tags, int ntags, const char *host)
{
	int fd = tls_sock(family, proto);

	if (ntags > 0)
		set_tags(fd, tags, ntags);
	if (host != NULL)
		set_host(fd, host);
	return fd;
}

static int tls_client(int family, const sec_tag_t *tags, int ntags, const char *host)
{
	return tls_client_p(family, IPPROTO_TLS_1_2, tags, ntags, host);
}

/* The server half of a handshake: poll the listener (so a client that never
 * reaches it cannot hang the thread), then accept. No asserts (thread). */
struct acc {
	int lfd;
	int poll_ms;
	int fd;          /* accepted, or -1 */
	int err;         /* errno of the failure */
	bool no_conn;    /* nothing arrived within poll_ms */
};

static void *acc_main(void *arg)
{
	struct acc *a = arg;
	struct zsock_pollfd p = { .fd = a->lfd, .events = ZSOCK_POLLIN };
	int rc;

	a->fd = -1;
	rc = zsock_poll(&p, 1, a->poll_ms);
	if (rc <= 0) {
		a->err = rc < 0 ? errno : ETIMEDOUT;
		a->no_conn = rc == 0;
		return NULL;
	}
	a->fd = zsock_accept(a->lfd, NULL, NULL);
	if (a->fd < 0)
		a->err = errno;
	return NULL;
}

struct hs {
	int rc;          /* connect() */
	int err;         /* its errno */
	struct acc acc;
};

/* Connect cfd to the listener at port while a thread accepts; no verdict. */
static void handshake(int family, int lfd, uint16_t port, int cfd, struct hs *h)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, port, &ss);
	pthread_t t;

	memset(h, 0, sizeof(*h));
	h->acc = (struct acc){ .lfd = lfd, .poll_ms = 10000, .fd = -1 };
	t = zt_spawn(acc_main, &h->acc);
	errno = 0;
	h->rc = zsock_connect(cfd, (struct sockaddr *)&ss, len);
	h->err = h->rc < 0 ? errno : 0;
	cr_assert(zt_join(t, 30000), "accept() still blocked 30 s after connect() returned %d (errno %d)",
		  h->rc, h->err);
}

static int last_error(int fd)
{
	return zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR);
}

/* A handshake that must succeed; returns the accepted fd. */
static int pair(int family, int lfd, uint16_t port, int cfd)
{
	struct hs h;

	handshake(family, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, 0, "connect: errno %d (%s), LAST_ERROR %d, VERIFY_RESULT %d; accept: fd %d errno %d",
		     h.err, strerror(h.err), last_error(cfd), zt_tls_opt_or(cfd, ZSOCK_TLS_VERIFY_RESULT),
		     h.acc.fd, h.acc.err);
	cr_assert_geq(h.acc.fd, 0, "accept: errno %d (%s)%s", h.acc.err, strerror(h.acc.err),
		      h.acc.no_conn ? " (no connection within 10 s)" : "");
	return h.acc.fd;
}

/* Close the client: the server reads the close_notify as EOF (0). */
static void close_pair(int cfd, int sfd)
{
	char c;
	ssize_t n;

	zt_close(cfd);
	n = zsock_recv(sfd, &c, 1, 0);
	cr_assert_eq(n, 0, "server recv after the client's close: %zd (errno %d %s), want 0 (EOF)", n,
		     n < 0 ? errno : 0, n < 0 ? strerror(errno) : "");
	zt_close(sfd);
}

/* No TLS socket or session left (the counters), and, as a user sees it:
 * create TLS sockets until every slot is taken: all
 * CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS must come, then one more gives
 * ENOMEM. The caller has closed every TLS socket. */
static void assert_all_slots_free(void)
{
	int fds[CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS];
	int64_t end = zt_now_ms() + 3000;
	int n = 0, extra;

	zt_tls_idle(3000);
	while (n < CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS) {
		int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

		if (fd >= 0) {
			fds[n++] = fd;
			continue;
		}
		cr_assert_eq(errno, ENOMEM, "TLS socket %d: errno %d (%s)", n, errno, strerror(errno));
		cr_assert_lt(zt_now_ms(), end, "only %d of %d TLS slots are free: a slot leaked", n,
			     CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS);
		zt_sleep_ms(20);
	}
	errno = 0;
	extra = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
	cr_assert_eq(extra, -1, "a TLS socket beyond CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS (%d)",
		     CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS);
	cr_assert_eq(errno, ENOMEM, "TLS socket beyond the slots: errno %d (%s), want ENOMEM", errno,
		     strerror(errno));
	for (int i = 0; i < n; i++)
		zt_close(fds[i]);
}

/* ---- data ---------------------------------------------------------------------- */

struct flow {
	int fd;
	uint64_t seed;
	uint64_t len;
	bool expect_eof;     /* recv: then one more recv must give 0 */
	/* out */
	uint64_t done;
	uint64_t first_bad;
	uint32_t crc;
	int err;
	bool got_eof;
	ssize_t after;       /* what the recv after len gave */
};

static void flow_init(struct flow *f, int fd, uint64_t seed, uint64_t len)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->seed = seed;
	f->len = len;
	f->first_bad = NO_BAD;
}

static void *flow_send(void *arg)
{
	struct flow *f = arg;
	static __thread uint8_t buf[24000];
	uint64_t rng = f->seed * 7 + 1;

	while (f->done < f->len) {
		size_t n = 1 + (size_t)(zt_rand(&rng) % sizeof(buf));
		ssize_t k;

		if (n > f->len - f->done)
			n = (size_t)(f->len - f->done);
		zt_pattern(f->seed, f->done, buf, n);
		k = zsock_send(f->fd, buf, n, 0);
		if (k <= 0) {
			f->err = k < 0 ? errno : -1;
			return NULL;
		}
		f->crc = zt_crc32(f->crc, buf, (size_t)k);
		f->done += (uint64_t)k;
	}
	return NULL;
}

static void *flow_recv(void *arg)
{
	struct flow *f = arg;
	static __thread uint8_t buf[24000];
	uint64_t rng = f->seed * 13 + 5;

	while (f->done < f->len) {
		size_t n = 1 + (size_t)(zt_rand(&rng) % sizeof(buf));
		size_t bad;
		ssize_t k;

		if (n > f->len - f->done)
			n = (size_t)(f->len - f->done);
		k = zsock_recv(f->fd, buf, n, 0);
		if (k <= 0) {
			f->err = k < 0 ? errno : -1;	/* -1: early EOF */
			return NULL;
		}
		bad = zt_pattern_check(f->seed, f->done, buf, (size_t)k);
		if (bad < (size_t)k && f->first_bad == NO_BAD)
			f->first_bad = f->done + bad;
		f->crc = zt_crc32(f->crc, buf, (size_t)k);
		f->done += (uint64_t)k;
	}
	if (f->expect_eof) {
		f->after = zsock_recv(f->fd, buf, sizeof(buf), 0);
		f->got_eof = f->after == 0;
		if (f->after < 0)
			f->err = errno;
	}
	return NULL;
}

static uint32_t pattern_crc(uint64_t seed, uint64_t len)
{
	static uint8_t buf[16384];
	uint32_t crc = 0;

	for (uint64_t off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);

		zt_pattern(seed, off, buf, n);
		crc = zt_crc32(crc, buf, n);
	}
	return crc;
}

static void flow_check(const char *what, const struct flow *tx, const struct flow *rx)
{
	cr_assert_eq(tx->err, 0, "%s: send failed after %llu bytes: errno %d (%s)", what,
		     (unsigned long long)tx->done, tx->err, strerror(tx->err));
	cr_assert_eq(rx->err, 0, "%s: recv failed after %llu bytes: %d (%s)", what,
		     (unsigned long long)rx->done, rx->err,
		     rx->err == -1 ? "early EOF" : strerror(rx->err));
	cr_assert_eq(tx->done, tx->len, "%s: sent %llu of %llu", what, (unsigned long long)tx->done,
		     (unsigned long long)tx->len);
	cr_assert_eq(rx->done, rx->len, "%s: received %llu of %llu", what,
		     (unsigned long long)rx->done, (unsigned long long)rx->len);
	cr_assert_eq(rx->first_bad, NO_BAD, "%s: first wrong byte at offset %llu", what,
		     (unsigned long long)rx->first_bad);
	cr_assert_eq(tx->crc, rx->crc, "%s: CRC sent %08x, received %08x", what, tx->crc, rx->crc);
	cr_assert_eq(rx->crc, pattern_crc(tx->seed, tx->len), "%s: CRC differs from the stream's",
		     what);
	if (rx->expect_eof)
		cr_assert(rx->got_eof, "%s: after the data recv gave %zd, want 0 (close_notify)", what,
			  rx->after);
}

/* Server thread: receive one flow, then send another. */
struct echo2 {
	struct flow rx, tx;
};

static void *recv_then_send(void *arg)
{
	struct echo2 *e = arg;

	flow_recv(&e->rx);
	if (e->rx.err == 0)
		flow_send(&e->tx);
	return NULL;
}

/* 256 KiB client -> server, then 256 KiB server -> client; asserts. */
static void exchange(int cfd, int sfd, uint64_t len)
{
	struct echo2 e;
	struct flow ctx, crx;
	pthread_t t;

	flow_init(&e.rx, sfd, 0x5eed01, len);
	flow_init(&e.tx, sfd, 0x5eed02, len);
	flow_init(&ctx, cfd, 0x5eed01, len);
	flow_init(&crx, cfd, 0x5eed02, len);
	t = zt_spawn(recv_then_send, &e);
	flow_send(&ctx);
	if (ctx.err == 0)
		flow_recv(&crx);
	cr_assert(zt_join(t, 30000), "server data thread hung");
	flow_check("client -> server", &ctx, &e.rx);
	flow_check("server -> client", &e.tx, &crx);
}

/* A fresh pair: nothing to read on the client, then XFER bytes each way
 * (exchange), both ends and the listener closed, every slot back. */
static void exchange_and_close(int lfd, int cfd, int sfd)
{
	cr_assert_eq(zt_poll1(cfd, ZSOCK_POLLIN, 100), 0, "client readable with no data sent");
	exchange(cfd, sfd, XFER);
	close_pair(cfd, sfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* A short message each way (a session that works). */
static void ping(int cfd, int sfd)
{
	char buf[16];

	cr_assert_eq(zsock_send(cfd, "ping", 4, 0), 4, "send ping: errno %d (%s)", errno,
		     strerror(errno));
	cr_assert_eq(zsock_recv(sfd, buf, 4, ZSOCK_MSG_WAITALL), 4, "recv ping: errno %d (%s)",
		     errno, strerror(errno));
	cr_assert_arr_eq(buf, "ping", 4);
	cr_assert_eq(zsock_send(sfd, "pong", 4, 0), 4, "send pong: errno %d (%s)", errno,
		     strerror(errno));
	cr_assert_eq(zsock_recv(cfd, buf, 4, ZSOCK_MSG_WAITALL), 4, "recv pong: errno %d (%s)",
		     errno, strerror(errno));
	cr_assert_arr_eq(buf, "pong", 4);
}

/* ---- handshake and data ---------------------------------------------------------- */

static void handshake_and_data(int family)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	uint16_t port;
	int lfd, cfd, sfd, cs, ss;
	char alpn[32];

	creds_std();
	lfd = tls_listener(family, stags, 1, &port);
	cfd = tls_client(family, ctags, 1, SERVER_NAME);
	sfd = pair(family, lfd, port, cfd);

	cs = get_int(cfd, TLS_CIPHERSUITE_USED);
	ss = get_int(sfd, TLS_CIPHERSUITE_USED);
	cr_assert_eq(cs, ss, "suite: client 0x%04x, server 0x%04x", cs, ss);
	cr_assert(cs > 0 && cs <= 0xffff, "suite 0x%x", cs);
	cr_assert_eq(sock_int(cfd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TLS_1_2);
	cr_assert_eq(sock_int(sfd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TLS_1_2,
		     "accepted socket: SO_PROTOCOL");
	cr_assert_eq(sock_int(sfd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0, "client: the chain verified");
	cr_assert_eq(get_int(sfd, ZSOCK_TLS_VERIFY_RESULT), -1,
		     "server (TLS_PEER_VERIFY NONE by default): no chain checked");
	cr_assert_eq(get_int(cfd, TLS_PEER_VERIFY), TLS_PEER_VERIFY_REQUIRED, "client default");
	cr_assert_eq(get_int(sfd, TLS_PEER_VERIFY), TLS_PEER_VERIFY_NONE, "server default");
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_SESSION_RESUMED), 0);
	cr_assert_eq(get_int(sfd, ZSOCK_TLS_SESSION_RESUMED), 0);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_LAST_ERROR), 0);
	cr_assert_eq(get_int(sfd, ZSOCK_TLS_LAST_ERROR), 0);
	cr_assert_eq(alpn_used(cfd, alpn, sizeof(alpn)), 1);
	cr_assert_str_eq(alpn, "");
	cr_assert_eq(alpn_used(sfd, alpn, sizeof(alpn)), 1);
	cr_assert_str_eq(alpn, "");
	/* the listener itself never has a session */
	get_fails(lfd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
	exchange_and_close(lfd, cfd, sfd);
}

ZT_TEST(tls, handshake_v4, .timeout = 60)
{
	handshake_and_data(AF_INET);
}

ZT_TEST(tls, handshake_v6, .timeout = 60)
{
	handshake_and_data(AF_INET6);
}

/*
 * Both directions at once over a pair made from stags (server) and ctags
 * (client, checking host; NULL: none), two threads on each socket: XFER
 * bytes of stream seed_up client -> server, of seed_down the other way.
 */
static void duplex(const sec_tag_t *stags, const sec_tag_t *ctags, const char *host,
		   uint64_t seed_up, uint64_t seed_down)
{
	struct flow ctx, crx, stx, srx;
	pthread_t t1, t2, t3;
	uint16_t port;
	int lfd, cfd, sfd;

	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, host);
	sfd = pair(AF_INET, lfd, port, cfd);
	flow_init(&ctx, cfd, seed_up, XFER);
	flow_init(&srx, sfd, seed_up, XFER);
	flow_init(&stx, sfd, seed_down, XFER);
	flow_init(&crx, cfd, seed_down, XFER);
	t1 = zt_spawn(flow_send, &ctx);
	t2 = zt_spawn(flow_recv, &srx);
	t3 = zt_spawn(flow_send, &stx);
	flow_recv(&crx);
	cr_assert(zt_join(t1, 30000), "client sender hung");
	cr_assert(zt_join(t2, 30000), "server receiver hung");
	cr_assert(zt_join(t3, 30000), "server sender hung");
	flow_check("client -> server", &ctx, &srx);
	flow_check("server -> client", &stx, &crx);
	close_pair(cfd, sfd);
	zt_close(lfd);
	zt_tls_idle(3000);
}

/* Both directions at once, two threads on each socket. */
ZT_TEST(tls, full_duplex, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };

	creds_std();
	duplex(stags, ctags, SERVER_NAME, 101, 202);
}

ZT_TEST(tls, rsa_server, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_RSA_SRV };
	const sec_tag_t ctags[] = { TAG_RSA_CA };
	static const int rsa_suites[] = { ECDHE_RSA_AES128_GCM, ECDHE_RSA_AES256_GCM, ECDHE_RSA_CHACHA,
					  0xC013, 0xC014, 0xC027, 0xC028, 0xC0A0, 0xC0A1 };
	uint16_t port;
	int lfd, cfd, sfd, s;
	bool ok = false;

	creds_std();
	creds_add(TAG_RSA_SRV);
	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	s = get_int(cfd, TLS_CIPHERSUITE_USED);
	for (size_t i = 0; i < sizeof(rsa_suites) / sizeof(rsa_suites[0]); i++)
		ok |= s == rsa_suites[i];
	cr_assert(ok, "an RSA server negotiated suite 0x%04x, not an ECDHE_RSA one", s);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
	exchange(cfd, sfd, 64 * 1024);
	close_pair(cfd, sfd);
	zt_close(lfd);
}

/* PEM everywhere, and one CA credential holding two CA certificates: both
 * become trust anchors, so it verifies an RSA and an EC server. */
ZT_TEST(tls, pem_multi_ca, .timeout = 60)
{
	const sec_tag_t ctags[] = { TAG_BOTH_CA };
	const sec_tag_t ec[] = { TAG_EC_SRV_PEM };
	const sec_tag_t rsa[] = { TAG_RSA_SRV };
	uint16_t port;
	int lfd, cfd, sfd;

	creds_add(TAG_BOTH_CA);
	creds_add(TAG_EC_SRV_PEM);
	creds_add(TAG_RSA_SRV);

	lfd = tls_listener(AF_INET, ec, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);

	lfd = tls_listener(AF_INET, rsa, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
}

/* ---- cipher suites -------------------------------------------------------------- */

static void suite_case(const int *cli, int ncli, const int *srv, int nsrv, int want)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	uint16_t port;
	int lfd, cfd, sfd;

	lfd = tls_listener(AF_INET, stags, 1, &port);
	if (nsrv > 0)
		set_suites(lfd, srv, nsrv);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	if (ncli > 0)
		set_suites(cfd, cli, ncli);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(zt_tls_opt_or(cfd, TLS_CIPHERSUITE_USED), want, "client: suite 0x%04x, want 0x%04x",
		     zt_tls_opt_or(cfd, TLS_CIPHERSUITE_USED), want);
	cr_assert_eq(zt_tls_opt_or(sfd, TLS_CIPHERSUITE_USED), want, "server: suite 0x%04x, want 0x%04x",
		     zt_tls_opt_or(sfd, TLS_CIPHERSUITE_USED), want);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
}

ZT_TEST(tls, suite_client_list, .timeout = 60)
{
	const int chacha[] = { ECDHE_ECDSA_CHACHA };
	const int gcm256[] = { ECDHE_ECDSA_AES256_GCM };
	/* the client's list also works when it starts with suites the server
	 * cannot use (RSA ones for an EC certificate) */
	const int mixed[] = { ECDHE_RSA_AES128_GCM, ECDHE_RSA_CHACHA, ECDHE_ECDSA_AES128_GCM };

	creds_std();
	suite_case(chacha, 1, NULL, 0, ECDHE_ECDSA_CHACHA);
	suite_case(gcm256, 1, NULL, 0, ECDHE_ECDSA_AES256_GCM);
	suite_case(mixed, 3, NULL, 0, ECDHE_ECDSA_AES128_GCM);
}

ZT_TEST(tls, suite_server_list, .timeout = 60)
{
	const int chacha[] = { ECDHE_ECDSA_CHACHA };
	const int gcm256[] = { ECDHE_ECDSA_AES256_GCM };

	creds_std();
	suite_case(NULL, 0, chacha, 1, ECDHE_ECDSA_CHACHA);
	suite_case(NULL, 0, gcm256, 1, ECDHE_ECDSA_AES256_GCM);
}

ZT_TEST(tls, suite_no_overlap, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	const int c[] = { ECDHE_ECDSA_AES128_GCM };
	const int s[] = { ECDHE_ECDSA_CHACHA };
	struct hs h;
	uint16_t port;
	int lfd, cfd;

	creds_std();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	set_suites(lfd, s, 1);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	set_suites(cfd, c, 1);
	handshake(AF_INET, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, -1, "connect succeeded with no suite in common");
	cr_assert_lt(h.acc.fd, 0, "accept gave a session with no suite in common");
	cr_log_info("no common suite: connect errno %d, accept errno %d, client LAST_ERROR %d",
		    h.err, h.acc.err, last_error(cfd));
	get_fails(cfd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
	zt_close(cfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* ---- protocols and versions --------------------------------------------------------- */

ZT_TEST(tls, protocols, .timeout = 30)
{
	const int protos[] = { IPPROTO_TLS_1_0, IPPROTO_TLS_1_1, IPPROTO_TLS_1_2 };
	const int fams[] = ZT_FAMILIES;
	int fd, tcp, udp, v = 0;

	for (int f = 0; f < 2; f++) {
		for (int i = 0; i < 3; i++) {
			fd = tls_sock(fams[f], protos[i]);
			cr_assert_eq(sock_int(fd, SOL_SOCKET, SO_PROTOCOL), protos[i],
				     "SO_PROTOCOL of an IPPROTO_TLS socket (%d)", protos[i]);
			cr_assert_eq(sock_int(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
			zt_close(fd);
		}
		/* DTLS 1.0 does not exist here; DTLS 1.2 is a datagram socket
		 * (tests/loopback/test_dtls.c) */
		errno = 0;
		cr_assert_eq(zsock_socket(fams[f], SOCK_DGRAM, IPPROTO_DTLS_1_0), -1, "DTLS 1.0 socket");
		cr_assert_eq(errno, EPROTONOSUPPORT, "DTLS 1.0: errno %d (%s)", errno, strerror(errno));
		fd = zsock_socket(fams[f], SOCK_DGRAM, IPPROTO_DTLS_1_2);
		cr_assert_geq(fd, 0, "DTLS 1.2: errno %d (%s)", errno, strerror(errno));
		cr_assert_eq(sock_int(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_DTLS_1_2);
		cr_assert_eq(sock_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
		zt_close(fd);
		errno = 0;
		cr_assert_eq(zsock_socket(fams[f], SOCK_DGRAM, IPPROTO_TLS_1_2), -1,
			     "a datagram TLS socket");
		cr_assert(errno == EPROTONOSUPPORT || errno == EPROTOTYPE,
			  "SOCK_DGRAM + IPPROTO_TLS_1_2: errno %d (%s)", errno, strerror(errno));
	}
	/* SOL_TLS on sockets that are not TLS: unknown level */
	tcp = zt_socket(AF_INET, SOCK_STREAM);
	udp = zt_socket(AF_INET, SOCK_DGRAM);
	set_fails(tcp, SOL_TLS, TLS_PEER_VERIFY, &v, sizeof(v), ENOPROTOOPT);
	get_fails(tcp, SOL_TLS, TLS_PEER_VERIFY, ENOPROTOOPT);
	set_fails(udp, SOL_TLS, TLS_SESSION_CACHE, &v, sizeof(v), ENOPROTOOPT);
	get_fails(udp, SOL_TLS, TLS_CIPHERSUITE_USED, ENOPROTOOPT);
	zt_close(tcp);
	zt_close(udp);
}

/* IPPROTO_TLS_1_1 fixes the version: it meets a 1.1 peer (with a CBC suite,
 * TLS 1.1 having no AEAD suite) and not a 1.2-only one. */
ZT_TEST(tls, version_fixed, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct hs h;
	uint16_t port;
	int lfd, cfd, sfd, s;

	creds_std();
	/* 1.1 against 1.1 */
	lfd = tls_listener_p(AF_INET, IPPROTO_TLS_1_1, stags, 1, &port);
	cfd = tls_client_p(AF_INET, IPPROTO_TLS_1_1, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	s = get_int(cfd, TLS_CIPHERSUITE_USED);
	cr_assert(is_cbc_suite(s), "TLS 1.1 negotiated suite 0x%04x", s);
	cr_assert_eq(sock_int(sfd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TLS_1_1);
	ping(cfd, sfd);
	close_pair(cfd, sfd);

	/* 1.2 client against the 1.1 server */
	cfd = tls_client_p(AF_INET, IPPROTO_TLS_1_2, ctags, 1, SERVER_NAME);
	handshake(AF_INET, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, -1, "a TLS 1.2-only client connected to a TLS 1.1-only server");
	cr_assert_lt(h.acc.fd, 0, "a TLS 1.1-only server accepted a TLS 1.2-only client");
	zt_close(cfd);
	zt_close(lfd);

	/* 1.0 client against a 1.2 server */
	lfd = tls_listener_p(AF_INET, IPPROTO_TLS_1_2, stags, 1, &port);
	cfd = tls_client_p(AF_INET, IPPROTO_TLS_1_0, ctags, 1, SERVER_NAME);
	handshake(AF_INET, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, -1, "a TLS 1.0-only client connected to a TLS 1.2-only server");
	cr_assert_lt(h.acc.fd, 0, "a TLS 1.2-only server accepted a TLS 1.0-only client");
	zt_close(cfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* ---- options ------------------------------------------------------------------------ */

/* What a fresh TLS socket reports, and options documented as not there. */
ZT_TEST(tls, opt_fresh_socket, .timeout = 30)
{
	int fd = tls_sock(AF_INET, IPPROTO_TLS_1_2);
	sec_tag_t tags[8];
	socklen_t len = sizeof(tags);
	char buf[32];
	int v = 1;

	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, tags, &len), 0,
		     "TLS_SEC_TAG_LIST: errno %d", errno);
	cr_assert_eq(len, 0, "no tags set: optlen %u", (unsigned)len);
	get_fails(fd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
	get_fails(fd, SOL_TLS, ZSOCK_TLS_ALPN_USED, ENOTCONN);
	get_fails(fd, SOL_TLS, ZSOCK_TLS_SESSION_RESUMED, ENOTCONN);
	cr_assert_eq(get_int(fd, ZSOCK_TLS_VERIFY_RESULT), -1, "no chain checked yet");
	cr_assert_eq(get_int(fd, ZSOCK_TLS_LAST_ERROR), 0);
	cr_assert_eq(get_int(fd, TLS_CERT_NOCOPY), TLS_CERT_NOCOPY_NONE);
	cr_assert_eq(get_int(fd, TLS_SESSION_CACHE), TLS_SESSION_CACHE_DISABLED);
	cr_assert_eq(get_int(fd, TLS_NATIVE), 0);
	/* DTLS-only options */
	set_int_fails(fd, TLS_DTLS_ROLE, TLS_DTLS_ROLE_CLIENT, ENOPROTOOPT);
	get_fails(fd, SOL_TLS, TLS_DTLS_ROLE, ENOPROTOOPT);
	set_int_fails(fd, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN, 1000, ENOPROTOOPT);
	get_fails(fd, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN, ENOPROTOOPT);
	set_int_fails(fd, TLS_DTLS_HANDSHAKE_TIMEOUT_MAX, 1000, ENOPROTOOPT);
	get_fails(fd, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MAX, ENOPROTOOPT);
	/* unknown SOL_TLS options */
	set_int_fails(fd, 99, 1, ENOPROTOOPT);
	get_fails(fd, SOL_TLS, 99, ENOPROTOOPT);
	/* read-only options cannot be set, write-only ones cannot be read */
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_USED, &v, sizeof(v)), -1,
		     "TLS_CIPHERSUITE_USED set");
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, ZSOCK_TLS_SESSION_RESUMED, &v, sizeof(v)), -1,
		     "ZSOCK_TLS_SESSION_RESUMED set");
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, ZSOCK_TLS_VERIFY_RESULT, &v, sizeof(v)), -1,
		     "ZSOCK_TLS_VERIFY_RESULT set");
	len = sizeof(buf);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_HOSTNAME, buf, &len), -1,
		     "TLS_HOSTNAME (write-only) read");
	/* TLS_SESSION_CACHE_PURGE takes any value */
	set_int(fd, TLS_SESSION_CACHE_PURGE, 0);
	set_int(fd, TLS_SESSION_CACHE_PURGE, 12345);
	zt_close(fd);
}

ZT_TEST(tls, opt_int_options, .timeout = 30)
{
	int fd = tls_sock(AF_INET6, IPPROTO_TLS_1_2);
	short sh = 1;

	for (int v = TLS_PEER_VERIFY_NONE; v <= TLS_PEER_VERIFY_REQUIRED; v++) {
		set_int(fd, TLS_PEER_VERIFY, v);
		cr_assert_eq(get_int(fd, TLS_PEER_VERIFY), v);
	}
	set_int_fails(fd, TLS_PEER_VERIFY, 3, EINVAL);
	set_int_fails(fd, TLS_PEER_VERIFY, -1, EINVAL);
	set_fails(fd, SOL_TLS, TLS_PEER_VERIFY, &sh, sizeof(sh), EINVAL);
	cr_assert_eq(get_int(fd, TLS_PEER_VERIFY), TLS_PEER_VERIFY_REQUIRED, "refused values changed it");

	set_int(fd, TLS_CERT_NOCOPY, TLS_CERT_NOCOPY_OPTIONAL);
	cr_assert_eq(get_int(fd, TLS_CERT_NOCOPY), TLS_CERT_NOCOPY_OPTIONAL);
	set_int(fd, TLS_CERT_NOCOPY, TLS_CERT_NOCOPY_NONE);
	cr_assert_eq(get_int(fd, TLS_CERT_NOCOPY), TLS_CERT_NOCOPY_NONE);
	set_int_fails(fd, TLS_CERT_NOCOPY, 2, EINVAL);

	set_int(fd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	cr_assert_eq(get_int(fd, TLS_SESSION_CACHE), TLS_SESSION_CACHE_ENABLED);
	set_int(fd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_DISABLED);
	cr_assert_eq(get_int(fd, TLS_SESSION_CACHE), TLS_SESSION_CACHE_DISABLED);
	set_int_fails(fd, TLS_SESSION_CACHE, 2, EINVAL);

	set_int(fd, TLS_NATIVE, 1);
	cr_assert_eq(get_int(fd, TLS_NATIVE), 1);
	set_int(fd, TLS_NATIVE, 0);
	cr_assert_eq(get_int(fd, TLS_NATIVE), 0);

	/* a short buffer for an int option */
	{
		char c;
		socklen_t len = 1;

		errno = 0;
		cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_PEER_VERIFY, &c, &len), -1);
		cr_assert_eq(errno, EINVAL, "short getsockopt buffer: errno %d", errno);
	}
	zt_close(fd);
}

ZT_TEST(tls, opt_sec_tag_list, .timeout = 30)
{
	int fd = tls_sock(AF_INET, IPPROTO_TLS_1_2);
	sec_tag_t many[CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS + 1];
	sec_tag_t two[2] = { 7, 42 }, out[8];
	socklen_t len;

	set_tags(fd, two, 2);
	len = sizeof(out);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, out, &len), 0);
	cr_assert_eq(len, 2 * sizeof(sec_tag_t));
	cr_assert_eq(out[0], 7);
	cr_assert_eq(out[1], 42);
	/* a buffer for one: as many as fit */
	len = sizeof(sec_tag_t);
	out[0] = out[1] = 0;
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, out, &len), 0);
	cr_assert_eq(len, sizeof(sec_tag_t), "one slot: optlen %u", (unsigned)len);
	cr_assert_eq(out[0], 7);
	cr_assert_eq(out[1], 0, "wrote beyond *optlen");
	/* the limits */
	for (int i = 0; i <= CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS; i++)
		many[i] = 100 + i;
	set_tags(fd, many, CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS);
	set_fails(fd, SOL_TLS, TLS_SEC_TAG_LIST, many,
		  (CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS + 1) * sizeof(sec_tag_t), EINVAL);
	set_fails(fd, SOL_TLS, TLS_SEC_TAG_LIST, two, sizeof(sec_tag_t) + 2, EINVAL);
	set_fails(fd, SOL_TLS, TLS_SEC_TAG_LIST, two, 3, EINVAL);
	len = sizeof(out);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, out, &len), 0);
	cr_assert_eq(len, CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS * sizeof(sec_tag_t),
		     "the refused lists changed it");
	cr_assert_eq(out[0], 100);
	zt_close(fd);
}

ZT_TEST(tls, opt_hostname, .timeout = 30)
{
	int fd = tls_sock(AF_INET, IPPROTO_TLS_1_2);
	char name[300];

	set_host(fd, SERVER_NAME);
	memset(name, 'a', sizeof(name));
	name[255] = '\0';		/* 255 bytes: the longest */
	zt_tls_set(fd, TLS_HOSTNAME, name, 256);
	name[255] = 'a';
	name[256] = '\0';		/* 256 bytes */
	set_fails(fd, SOL_TLS, TLS_HOSTNAME, name, 257, EINVAL);
	zt_tls_set(fd, TLS_HOSTNAME, NULL, 0);	/* removes it */
	zt_close(fd);
}

ZT_TEST(tls, opt_ciphersuite_list, .timeout = 30)
{
	int fd = tls_sock(AF_INET, IPPROTO_TLS_1_2);
	int def[64], out[64], too_many[CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES + 1];
	const int two[] = { ECDHE_ECDSA_CHACHA, ECDHE_RSA_AES128_GCM };
	const int bad[] = { ECDHE_ECDSA_AES128_GCM, 0x1234 };
	socklen_t dlen = sizeof(def), len;
	bool has_gcm = false, has_chacha = false;

	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, def, &dlen), 0,
		     "default list: errno %d", errno);
	cr_assert_gt(dlen, 0, "the default list is empty");
	cr_assert_eq(dlen % sizeof(int), 0);
	cr_assert_leq(dlen / sizeof(int), CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES);
	for (size_t i = 0; i < dlen / sizeof(int); i++) {
		has_gcm |= def[i] == ECDHE_ECDSA_AES128_GCM;
		has_chacha |= def[i] == ECDHE_RSA_CHACHA;
	}
	cr_assert(has_gcm && has_chacha, "the default list lacks ECDHE_ECDSA_AES128_GCM or ECDHE_RSA_CHACHA");

	set_suites(fd, two, 2);
	len = sizeof(out);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, out, &len), 0);
	cr_assert_eq(len, sizeof(two));
	cr_assert_eq(out[0], two[0]);
	cr_assert_eq(out[1], two[1]);

	set_fails(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, bad, sizeof(bad), EINVAL);
	for (int i = 0; i <= CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES; i++)
		too_many[i] = ECDHE_ECDSA_AES128_GCM;
	set_fails(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, too_many, sizeof(too_many), EINVAL);
	len = sizeof(out);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, out, &len), 0);
	cr_assert_eq(len, sizeof(two), "a refused list changed it");

	/* optlen 0 restores the default */
	zt_tls_set(fd, TLS_CIPHERSUITE_LIST, NULL, 0);
	len = sizeof(out);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, out, &len), 0);
	cr_assert_eq(len, dlen, "optlen 0 did not restore the default list");
	cr_assert_arr_eq(out, def, dlen);
	zt_close(fd);
}

ZT_TEST(tls, opt_alpn_list, .timeout = 30)
{
#if CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS > 0
	int fd = tls_sock(AF_INET, IPPROTO_TLS_1_2);
	static const char *two[] = { "h2", "http/1.1" };
	static const char *too_many[CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS + 1];
	static char long_name[300];
	const char *empty[] = { "" };
	const char *toolong[] = { long_name };
	const char *out[8];
	socklen_t len;

	zt_tls_set(fd, TLS_ALPN_LIST, two, sizeof(two));
	len = sizeof(out);
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, TLS_ALPN_LIST, out, &len), 0,
		     "TLS_ALPN_LIST read: errno %d", errno);
	cr_assert_eq(len, sizeof(two));
	cr_assert_str_eq(out[0], "h2");
	cr_assert_str_eq(out[1], "http/1.1");

	for (int i = 0; i <= CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS; i++)
		too_many[i] = "x";
	set_fails(fd, SOL_TLS, TLS_ALPN_LIST, too_many, sizeof(too_many), EINVAL);
	set_fails(fd, SOL_TLS, TLS_ALPN_LIST, empty, sizeof(empty), EINVAL);
	memset(long_name, 'p', 256);
	long_name[256] = '\0';
	set_fails(fd, SOL_TLS, TLS_ALPN_LIST, toolong, sizeof(toolong), EINVAL);
	long_name[255] = '\0';	/* 255 bytes: accepted */
	zt_tls_set(fd, TLS_ALPN_LIST, toolong, sizeof(toolong));
	set_fails(fd, SOL_TLS, TLS_ALPN_LIST, two, sizeof(two[0]) + 1, EINVAL);
	zt_close(fd);
#else
	cr_skip_test("CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS is 0");
#endif
}

/* ---- host name and verification --------------------------------------------------------- */

/* One handshake with the client's verification set to level; returns the
 * client's VERIFY_RESULT; *ok whether the session came up. */
static int verify_once(sec_tag_t srv, sec_tag_t ca, const char *host, int level, bool *ok)
{
	const sec_tag_t stags[] = { srv };
	const sec_tag_t ctags[] = { ca };
	struct hs h;
	uint16_t port;
	int lfd, cfd, vr;

	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, host);
	set_int(cfd, TLS_PEER_VERIFY, level);
	handshake(AF_INET, lfd, port, cfd, &h);
	vr = get_int(cfd, ZSOCK_TLS_VERIFY_RESULT);
	*ok = h.rc == 0;
	if (h.rc == 0) {
		cr_assert_geq(h.acc.fd, 0, "connect succeeded, accept failed: errno %d", h.acc.err);
		ping(cfd, h.acc.fd);
		close_pair(cfd, h.acc.fd);
	} else {
		cr_assert_eq(h.err, ECONNABORTED,
			     "failed verification (level %d, result %d): connect errno %d (%s), want ECONNABORTED",
			     level, vr, h.err, strerror(h.err));
		cr_assert_neq(last_error(cfd), 0, "a failed handshake left ZSOCK_TLS_LAST_ERROR 0");
		cr_assert_lt(h.acc.fd, 0, "the server accepted a session the client aborted");
		get_fails(cfd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
		zt_close(cfd);
	}
	zt_close(lfd);
	return vr;
}

/* NONE: connects, nothing checked; OPTIONAL: connects, the error recorded;
 * REQUIRED: ECONNABORTED with the error recorded. */
static void verify_levels(sec_tag_t srv, sec_tag_t ca, const char *host, int code)
{
	bool ok;
	int vr;

	vr = verify_once(srv, ca, host, TLS_PEER_VERIFY_NONE, &ok);
	cr_assert(ok, "NONE: the handshake failed");
	cr_assert_eq(vr, -1, "NONE: ZSOCK_TLS_VERIFY_RESULT %d, want -1 (nothing checked)", vr);

	vr = verify_once(srv, ca, host, TLS_PEER_VERIFY_OPTIONAL, &ok);
	cr_assert(ok, "OPTIONAL: the handshake failed");
	cr_assert_eq(vr, code, "OPTIONAL: ZSOCK_TLS_VERIFY_RESULT %d, want %d", vr, code);

	vr = verify_once(srv, ca, host, TLS_PEER_VERIFY_REQUIRED, &ok);
	cr_assert(!ok, "REQUIRED: the handshake succeeded despite error %d", code);
	cr_assert_eq(vr, code, "REQUIRED: ZSOCK_TLS_VERIFY_RESULT %d, want %d", vr, code);
	assert_all_slots_free();
}

ZT_TEST(tls, verify_wrong_host, .timeout = 60)
{
	creds_std();
	verify_levels(TAG_EC_SRV, TAG_EC_CA, "wrong.test", X509_BAD_SERVER_NAME);
}

ZT_TEST(tls, verify_unknown_ca, .timeout = 60)
{
	creds_std();
	verify_levels(TAG_EC_SRV, TAG_RSA_CA, SERVER_NAME, X509_NOT_TRUSTED);
}

ZT_TEST(tls, verify_expired, .timeout = 60)
{
	creds_std();
	creds_add(TAG_EXPIRED_SRV);
	verify_levels(TAG_EXPIRED_SRV, TAG_EC_CA, SERVER_NAME, X509_EXPIRED);
}

ZT_TEST(tls, verify_self_signed, .timeout = 60)
{
	creds_std();
	creds_add(TAG_SELF_SRV);
	verify_levels(TAG_SELF_SRV, TAG_EC_CA, SERVER_NAME, X509_NOT_TRUSTED);
}

/* No TLS_HOSTNAME: no name check; NULL removes a name set before; a name
 * given without its NUL in optlen is the same name. */
ZT_TEST(tls, hostname_rules, .timeout = 60)
{
	bool ok;
	int vr, lfd, cfd, sfd;
	uint16_t port;
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };

	creds_std();
	vr = verify_once(TAG_EC_SRV, TAG_EC_CA, NULL, TLS_PEER_VERIFY_REQUIRED, &ok);
	cr_assert(ok && vr == 0, "no host name: ok %d, result %d", ok, vr);

	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, "wrong.test");
	zt_tls_set(cfd, TLS_HOSTNAME, NULL, 0);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0, "the removed name was checked");
	close_pair(cfd, sfd);

	cfd = tls_client(AF_INET, ctags, 1, NULL);
	zt_tls_set(cfd, TLS_HOSTNAME, SERVER_NAME, strlen(SERVER_NAME));
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
	close_pair(cfd, sfd);
	zt_close(lfd);
}

/* A client with verification required and no CA never connects. */
ZT_TEST(tls, no_ca_required, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t nothing[] = { TAG_NOTHING };
	struct hs h;
	uint16_t port;
	int lfd, cfd, vr;

	creds_std();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	for (int with_tag = 0; with_tag < 2; with_tag++) {
		cfd = tls_client(AF_INET, nothing, with_tag, SERVER_NAME);
		handshake(AF_INET, lfd, port, cfd, &h);
		cr_assert_eq(h.rc, -1, "connect without a CA succeeded (tags: %s)",
			     with_tag ? "one with no credential" : "none");
		cr_assert_eq(h.err, ECONNABORTED, "connect without a CA: errno %d (%s)", h.err,
			     strerror(h.err));
		vr = get_int(cfd, ZSOCK_TLS_VERIFY_RESULT);
		cr_assert(vr == X509_NOT_TRUSTED || vr == -1, "VERIFY_RESULT %d", vr);
		cr_assert_lt(h.acc.fd, 0, "the server got a session");
		zt_close(cfd);
	}
	zt_close(lfd);
	assert_all_slots_free();
}

/* ---- client certificates ------------------------------------------------------------- */

static void mutual_case(int server_level, sec_tag_t client_cert, bool want_ok, int want_vr)
{
	const sec_tag_t stags[] = { TAG_EC_SRV, TAG_EC_CA };
	sec_tag_t ctags[] = { TAG_EC_CA, client_cert };
	struct hs h;
	uint16_t port;
	int lfd, cfd;

	lfd = tls_listener(AF_INET, stags, 2, &port);
	set_int(lfd, TLS_PEER_VERIFY, server_level);
	cfd = tls_client(AF_INET, ctags, client_cert == TAG_NOTHING ? 1 : 2, SERVER_NAME);
	handshake(AF_INET, lfd, port, cfd, &h);
	if (want_ok) {
		cr_assert_eq(h.rc, 0, "connect: errno %d (%s)", h.err, strerror(h.err));
		cr_assert_geq(h.acc.fd, 0, "accept: errno %d (%s)", h.acc.err, strerror(h.acc.err));
		cr_assert_eq(get_int(h.acc.fd, TLS_PEER_VERIFY), server_level, "accepted socket's level");
		cr_assert_eq(zt_tls_opt_or(h.acc.fd, ZSOCK_TLS_VERIFY_RESULT), want_vr,
			     "server VERIFY_RESULT %d, want %d",
			     zt_tls_opt_or(h.acc.fd, ZSOCK_TLS_VERIFY_RESULT), want_vr);
		cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
		ping(cfd, h.acc.fd);
		close_pair(cfd, h.acc.fd);
	} else {
		cr_assert_lt(h.acc.fd, 0, "the server accepted a client it must refuse");
		cr_assert_eq(h.acc.err, ECONNABORTED, "refused client: accept errno %d (%s)%s",
			     h.acc.err, strerror(h.acc.err), h.acc.no_conn ? " (no connection)" : "");
		cr_assert_eq(h.rc, -1, "the refused client's connect succeeded");
		/* the server's fatal alert reached the client (256 + alert) */
		cr_assert(last_error(cfd) > 256 && last_error(cfd) < 512,
			  "refused client: LAST_ERROR %d, want 256 + the server's alert (errno %d %s)",
			  last_error(cfd), h.err, strerror(h.err));
		zt_close(cfd);
	}
	zt_close(lfd);
}

ZT_TEST(tls, mutual_required, .timeout = 60)
{
	creds_std();
	creds_add(TAG_EC_CLI);
	creds_add(TAG_CLI_RSACA);
	mutual_case(TLS_PEER_VERIFY_REQUIRED, TAG_EC_CLI, true, 0);
	mutual_case(TLS_PEER_VERIFY_REQUIRED, TAG_NOTHING, false, 0);
	mutual_case(TLS_PEER_VERIFY_REQUIRED, TAG_CLI_RSACA, false, 0);
	assert_all_slots_free();
}

ZT_TEST(tls, mutual_optional, .timeout = 60)
{
	creds_std();
	creds_add(TAG_EC_CLI);
	creds_add(TAG_CLI_RSACA);
	mutual_case(TLS_PEER_VERIFY_OPTIONAL, TAG_EC_CLI, true, 0);
	mutual_case(TLS_PEER_VERIFY_OPTIONAL, TAG_NOTHING, true, -1);
	mutual_case(TLS_PEER_VERIFY_OPTIONAL, TAG_CLI_RSACA, true, X509_NOT_TRUSTED);
}

/* ---- non-blocking connect, poll ------------------------------------------------------- */

/* A non-blocking client and, in a thread, the server's accept. */
struct nb {
	int lfd, cfd;
	struct acc a;
	pthread_t t;
	struct sockaddr_storage ss;  /* the listener's address */
	socklen_t len;
};

/* The listener (stags), the non-blocking client (ctags, host) and the
 * acceptor thread; nb MUST stay put until nb_accepted(). */
static void nb_start(struct nb *nb, const sec_tag_t *stags, const sec_tag_t *ctags,
		     const char *host)
{
	uint16_t port;

	nb->lfd = tls_listener(AF_INET, stags, 1, &port);
	nb->cfd = tls_client(AF_INET, ctags, 1, host);
	cr_assert_eq(zsock_fcntl(nb->cfd, F_SETFL, O_NONBLOCK), 0);
	nb->a = (struct acc){ .lfd = nb->lfd, .poll_ms = 10000, .fd = -1 };
	nb->t = zt_spawn(acc_main, &nb->a);
	nb->len = zt_loopback(AF_INET, port, &nb->ss);
}

/* The acceptor's end: a server socket, and no error on the client. */
static void nb_accepted(struct nb *nb)
{
	cr_assert(zt_join(nb->t, 10000), "accept hung");
	cr_assert_geq(nb->a.fd, 0, "accept: errno %d (%s)", nb->a.err, strerror(nb->a.err));
	cr_assert_eq(sock_int(nb->cfd, SOL_SOCKET, SO_ERROR), 0);
}

/* Nothing to read yet (EAGAIN), then "nb" client -> server. */
static void nb_first_bytes(struct nb *nb)
{
	char buf[8];

	errno = 0;
	cr_assert_eq(zsock_recv(nb->cfd, buf, sizeof(buf), 0), -1);
	cr_assert_eq(errno, EAGAIN, "recv with nothing there: errno %d", errno);
	cr_assert_eq(zsock_send(nb->cfd, "nb", 2, 0), 2, "send: errno %d", errno);
	cr_assert_eq(zsock_recv(nb->a.fd, buf, 2, ZSOCK_MSG_WAITALL), 2);
	cr_assert_arr_eq(buf, "nb", 2);
}

ZT_TEST(tls, nonblocking_connect, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct nb nb;
	int cfd, rc, polls = 0;
	int64_t end;
	char buf[8];

	creds_std();
	nb_start(&nb, stags, ctags, SERVER_NAME);
	cfd = nb.cfd;
	errno = 0;
	rc = zsock_connect(cfd, (struct sockaddr *)&nb.ss, nb.len);
	cr_assert_eq(rc, -1, "a non-blocking TLS connect completed at once");
	cr_assert_eq(errno, EINPROGRESS, "non-blocking connect: errno %d (%s)", errno, strerror(errno));
	get_fails(cfd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);

	/* only poll drives it: POLLOUT means the handshake is complete */
	end = zt_now_ms() + 10000;
	for (;;) {
		short re = zt_poll1(cfd, ZSOCK_POLLOUT, 200);
		int s = -1;
		socklen_t sl = sizeof(s);

		polls++;
		cr_assert_eq(re & (ZSOCK_POLLERR | ZSOCK_POLLHUP), 0,
			     "poll: revents 0x%x during the handshake (LAST_ERROR %d)", re,
			     last_error(cfd));
		if (re & ZSOCK_POLLOUT) {
			cr_assert_eq(zsock_getsockopt(cfd, SOL_TLS, TLS_CIPHERSUITE_USED, &s, &sl), 0,
				     "POLLOUT reported before the handshake completed (errno %d)",
				     errno);
			break;
		}
		cr_assert_lt(zt_now_ms(), end, "no POLLOUT in 10 s (%d polls)", polls);
	}
	nb_accepted(&nb);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);

	/* nothing to read yet: EAGAIN */
	nb_first_bytes(&nb);
	cr_assert_eq(zsock_send(nb.a.fd, "ok", 2, 0), 2);
	cr_assert_neq(zt_poll1(cfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, 0, "no POLLIN for data");
	cr_assert_eq(zsock_recv(cfd, buf, sizeof(buf), 0), 2);
	cr_assert_arr_eq(buf, "ok", 2);
	close_pair(cfd, nb.a.fd);
	zt_close(nb.lfd);
}

/* ---- a TCP proxy between client and server ------------------------------------------------ */

/*
 * client --TLS--> [plain listener] proxy [plain socket] --TLS--> server
 * The proxy thread forwards both ways until stop is set, then leaves its
 * two sockets to the test thread (a: towards the client, b: towards the
 * server), which can then cut, hold back or forge records.
 */
struct proxy {
	int plfd;            /* plain listener the client connects to */
	int b;               /* plain socket connected to the TLS server */
	int a;               /* accepted from the client (out) */
	atomic_bool stop;
	int err;
	uint64_t c2s, s2c;
};

static int fwd(int from, int to, uint64_t *count)
{
	uint8_t buf[4096];
	ssize_t n = zsock_recv(from, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	for (ssize_t off = 0; off < n;) {
		ssize_t k = zsock_send(to, buf + off, (size_t)(n - off), 0);

		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		off += k;
	}
	*count += (uint64_t)n;
	return 0;
}

static void *proxy_main(void *arg)
{
	struct proxy *p = arg;

	p->a = zsock_accept(p->plfd, NULL, NULL);
	if (p->a < 0) {
		p->err = errno;
		return NULL;
	}
	while (!atomic_load(&p->stop)) {
		struct zsock_pollfd pf[2] = { { .fd = p->a, .events = ZSOCK_POLLIN },
					     { .fd = p->b, .events = ZSOCK_POLLIN } };
		int rc = zsock_poll(pf, 2, 20);

		if (rc < 0) {
			p->err = errno;
			return NULL;
		}
		if ((pf[0].revents & ZSOCK_POLLIN) && (rc = fwd(p->a, p->b, &p->c2s)) < 0) {
			p->err = -rc;
			return NULL;
		}
		if ((pf[1].revents & ZSOCK_POLLIN) && (rc = fwd(p->b, p->a, &p->s2c)) < 0) {
			p->err = -rc;
			return NULL;
		}
	}
	return NULL;
}

struct proxied {
	int lfd, cfd, sfd;   /* TLS listener, client, accepted */
	int a, b;            /* the proxy's plain sockets */
	uint16_t port;
};

/* Handshake through the proxy, then stop it. */
static void proxied_pair(struct proxied *x)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct sockaddr_storage ss;
	struct proxy p;
	struct acc a;
	pthread_t tp, ta;
	uint16_t pport;
	socklen_t len;
	int rc;

	creds_std();
	x->lfd = tls_listener(AF_INET, stags, 1, &x->port);
	memset(&p, 0, sizeof(p));
	p.plfd = zt_listener(AF_INET, 1, &pport);
	p.b = zt_socket(AF_INET, SOCK_STREAM);
	a = (struct acc){ .lfd = x->lfd, .poll_ms = 10000, .fd = -1 };
	ta = zt_spawn(acc_main, &a);
	len = zt_loopback(AF_INET, x->port, &ss);
	cr_assert_eq(zsock_connect(p.b, (struct sockaddr *)&ss, len), 0, "proxy connect: errno %d",
		     errno);
	tp = zt_spawn(proxy_main, &p);
	x->cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	len = zt_loopback(AF_INET, pport, &ss);
	rc = zsock_connect(x->cfd, (struct sockaddr *)&ss, len);
	cr_assert_eq(rc, 0, "connect through the proxy: errno %d (%s), proxy err %d", errno,
		     strerror(errno), p.err);
	cr_assert(zt_join(ta, 10000), "accept hung");
	cr_assert_geq(a.fd, 0, "accept through the proxy: errno %d", a.err);
	atomic_store(&p.stop, true);
	cr_assert(zt_join(tp, 5000), "proxy thread hung");
	cr_assert_eq(p.err, 0, "proxy: errno %d", p.err);
	zt_close(p.plfd);
	x->sfd = a.fd;
	x->a = p.a;
	x->b = p.b;
}

/* Read one whole TLS record from a plain socket into buf; returns its size. */
static size_t read_record(int fd, uint8_t *buf, size_t size)
{
	size_t body;

	cr_assert_eq(zsock_recv(fd, buf, 5, ZSOCK_MSG_WAITALL), 5, "record header: errno %d", errno);
	body = ((size_t)buf[3] << 8) | buf[4];
	cr_assert_leq(5 + body, size, "record of %zu bytes", body);
	cr_assert_eq(zsock_recv(fd, buf + 5, body, ZSOCK_MSG_WAITALL), (ssize_t)body,
		     "record body: errno %d", errno);
	return 5 + body;
}

static void close_proxied(struct proxied *x)
{
	zt_close(x->cfd);
	zt_close(x->sfd);
	zt_close(x->a);
	zt_close(x->b);
	zt_close(x->lfd);
}

ZT_TEST(tls, poll_app_data_only, .timeout = 60)
{
	struct proxied x;
	uint8_t rec[512];
	char buf[16];
	size_t n;

	proxied_pair(&x);
	cr_assert_eq(zt_poll1(x.cfd, ZSOCK_POLLIN, 200), 0, "readable after the handshake");

	cr_assert_eq(zsock_send(x.sfd, "hello", 5, 0), 5);
	n = read_record(x.b, rec, sizeof(rec));
	cr_assert_eq(rec[0], 23, "the server's record has type %u, not application data", rec[0]);
	/* the header and one byte: TCP data, but no record */
	cr_assert_eq(zsock_send(x.a, rec, 6, 0), 6);
	cr_assert_eq(zt_poll1(x.cfd, ZSOCK_POLLIN, 300), 0,
		     "POLLIN with only part of a record there");
	errno = 0;
	cr_assert_eq(zsock_recv(x.cfd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), -1,
		     "recv returned data from an incomplete record");
	cr_assert_eq(errno, EAGAIN, "recv on a part record: errno %d", errno);
	cr_assert_eq(zt_poll1(x.cfd, ZSOCK_POLLIN, 0), 0);
	/* the rest */
	cr_assert_eq(zsock_send(x.a, rec + 6, n - 6, 0), (ssize_t)(n - 6));
	cr_assert_eq(zt_poll1(x.cfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, ZSOCK_POLLIN,
		     "no POLLIN once the record is whole");
	cr_assert_eq(zsock_recv(x.cfd, buf, sizeof(buf), 0), 5);
	cr_assert_arr_eq(buf, "hello", 5);
	cr_assert_eq(zt_poll1(x.cfd, ZSOCK_POLLIN, 100), 0, "still readable after the data");
	close_proxied(&x);
}

/* A forged application-data record (random bytes): the receiver fails
 * cleanly (BR_ERR_BAD_MAC), both ways; then the engine serves a new
 * session and every slot comes back. */
ZT_TEST(tls, garbage_record, .timeout = 60)
{
	struct proxied x;
	uint8_t rec[5 + 64];
	char buf[64];
	uint64_t rng = 77;
	ssize_t n;
	int lfd, cfd, sfd;
	uint16_t port;

	proxied_pair(&x);
	rec[0] = 23;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = 0;
	rec[4] = 64;
	for (int i = 5; i < (int)sizeof(rec); i++)
		rec[i] = (uint8_t)zt_rand(&rng);
	/* towards the client */
	cr_assert_eq(zsock_send(x.a, rec, sizeof(rec), 0), (ssize_t)sizeof(rec));
	errno = 0;
	n = zsock_recv(x.cfd, buf, sizeof(buf), 0);
	cr_assert_eq(n, -1, "client recv of a forged record gave %zd", n);
	cr_assert(errno == ECONNABORTED || errno == ECONNRESET || errno == EBADMSG || errno == EPROTO ||
			  errno == EIO,
		  "forged record: errno %d (%s)", errno, strerror(errno));
	cr_assert_eq(last_error(x.cfd), BR_BAD_MAC, "client LAST_ERROR %d, want BR_ERR_BAD_MAC",
		     last_error(x.cfd));
	cr_assert_neq(zt_poll1(x.cfd, ZSOCK_POLLIN, 1000), 0, "a failed socket is not readable");
	errno = 0;
	cr_assert_eq(zsock_send(x.cfd, "x", 1, 0), -1, "send on a failed session");
	/* towards the server */
	cr_assert_eq(zsock_send(x.b, rec, sizeof(rec), 0), (ssize_t)sizeof(rec));
	errno = 0;
	n = zsock_recv(x.sfd, buf, sizeof(buf), 0);
	cr_assert_eq(n, -1, "server recv of a forged record gave %zd", n);
	cr_assert_eq(last_error(x.sfd), BR_BAD_MAC, "server LAST_ERROR %d", last_error(x.sfd));
	close_proxied(&x);

	/* the engine goes on */
	lfd = tls_listener(AF_INET, (const sec_tag_t[]){ TAG_EC_SRV }, 1, &port);
	cfd = tls_client(AF_INET, (const sec_tag_t[]){ TAG_EC_CA }, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* A record cut short by the end of the TCP stream is an error, not EOF. */
ZT_TEST(tls, truncated_record, .timeout = 60)
{
	struct proxied x;
	uint8_t rec[512];
	struct timeval tv = { .tv_sec = 10 };
	char buf[64];
	ssize_t n;
	size_t len;

	proxied_pair(&x);
	cr_assert_eq(zsock_setsockopt(x.cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(zsock_send(x.sfd, "truncated!", 10, 0), 10);
	len = read_record(x.b, rec, sizeof(rec));
	cr_assert_gt(len, 12);
	cr_assert_eq(zsock_send(x.a, rec, len - 7, 0), (ssize_t)(len - 7));
	cr_assert_eq(zsock_shutdown(x.a, ZSOCK_SHUT_WR), 0);
	errno = 0;
	n = zsock_recv(x.cfd, buf, sizeof(buf), 0);
	cr_assert_eq(n, -1, "recv of a truncated record gave %zd (errno %d), want an error", n, errno);
	cr_assert_neq(errno, EAGAIN, "recv of a truncated record timed out");
	close_proxied(&x);
	assert_all_slots_free();
}

/* A server that closes after the ClientHello, and a client that sends half
 * a ClientHello and closes: both TLS calls fail cleanly, no slot is lost,
 * and a good session follows. */
struct conn_thread {
	int fd, family;
	uint16_t port;
	int rc, err;
};

static void *connect_main(void *arg)
{
	struct conn_thread *c = arg;
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(c->family, c->port, &ss);

	c->rc = zsock_connect(c->fd, (struct sockaddr *)&ss, len);
	c->err = c->rc < 0 ? errno : 0;
	return NULL;
}

ZT_TEST(tls, truncated_handshake, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct conn_thread c;
	struct hs h;
	uint8_t hello[2048];
	struct sockaddr_storage ss;
	socklen_t sl;
	pthread_t t;
	uint16_t port;
	size_t n;
	int pl, pa, lfd, cfd, raw, sfd;

	creds_std();
	/* 1: a plain server reads the ClientHello and closes */
	pl = zt_listener(AF_INET, 1, &port);
	c = (struct conn_thread){ .fd = tls_client(AF_INET, ctags, 1, SERVER_NAME),
				  .family = AF_INET, .port = port };
	t = zt_spawn(connect_main, &c);
	pa = zt_accept(pl);
	n = read_record(pa, hello, sizeof(hello));
	cr_assert_eq(hello[0], 22, "first record type %u, not handshake", hello[0]);
	cr_assert_eq(hello[5], 1, "handshake type %u, not ClientHello", hello[5]);
	zt_close(pa);
	zt_close(pl);
	cr_assert(zt_join(t, 15000), "connect hung after the server closed mid-handshake");
	cr_assert_eq(c.rc, -1, "connect succeeded against a server that closed");
	cr_assert(c.err != 0 && c.err != EINPROGRESS && c.err != EAGAIN,
		  "server gone mid-handshake: errno %d (%s)", c.err, strerror(c.err));
	cr_log_info("server closed mid-handshake: connect errno %d (%s)", c.err, strerror(c.err));
	get_fails(c.fd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
	zt_close(c.fd);

	/* 2: a plain client sends half of that ClientHello and closes */
	lfd = tls_listener(AF_INET, stags, 1, &port);
	raw = zt_socket(AF_INET, SOCK_STREAM);
	sl = zt_loopback(AF_INET, port, &ss);
	cr_assert_eq(zsock_connect(raw, (struct sockaddr *)&ss, sl), 0);
	cr_assert_eq(zsock_send(raw, hello, n / 2, 0), (ssize_t)(n / 2));
	zt_close(raw);
	{
		struct acc a = { .lfd = lfd, .poll_ms = 5000, .fd = -1 };

		acc_main(&a);
		cr_assert_lt(a.fd, 0, "accept gave a session for half a ClientHello");
		cr_log_info("client gone mid-handshake: accept errno %d (%s)%s", a.err,
			    strerror(a.err), a.no_conn ? " (never reported)" : "");
	}
	/* 3: the listener still serves */
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	handshake(AF_INET, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, 0, "good client after the bad ones: errno %d", h.err);
	cr_assert_geq(h.acc.fd, 0, "good client after the bad ones: accept errno %d", h.acc.err);
	sfd = h.acc.fd;
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* ---- MSG_WAITALL, shutdown, close_notify ------------------------------------------------- */

struct pieces {
	int fd;
	int n, size, pause_ms;
	bool close_after;
	int err;
};

static void *send_pieces(void *arg)
{
	struct pieces *p = arg;
	uint8_t buf[4096];

	for (int i = 0; i < p->n; i++) {
		zt_pattern(9, (uint64_t)i * p->size, buf, (size_t)p->size);
		if (zsock_send(p->fd, buf, (size_t)p->size, 0) != p->size) {
			p->err = errno;
			return NULL;
		}
		zt_sleep_ms(p->pause_ms);
	}
	if (p->close_after)
		zsock_close(p->fd);
	return NULL;
}

ZT_TEST(tls, waitall, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	static uint8_t big[100000];
	struct pieces p;
	struct flow tx;
	pthread_t t;
	uint8_t buf[3000];
	uint16_t port;
	int lfd, cfd, sfd;
	ssize_t n;

	creds_std();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);

	/* three records, 50 ms apart: one recv */
	p = (struct pieces){ .fd = sfd, .n = 3, .size = 1000, .pause_ms = 50 };
	t = zt_spawn(send_pieces, &p);
	n = zsock_recv(cfd, buf, sizeof(buf), ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, 10000));
	cr_assert_eq(n, 3000, "MSG_WAITALL gave %zd of 3000 (errno %d)", n, errno);
	cr_assert_eq(zt_pattern_check(9, 0, buf, 3000), 3000, "wrong bytes");

	/* 100000 bytes in many records */
	flow_init(&tx, sfd, 10, sizeof(big));
	t = zt_spawn(flow_send, &tx);
	n = zsock_recv(cfd, big, sizeof(big), ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, 10000));
	cr_assert_eq(n, (ssize_t)sizeof(big), "MSG_WAITALL gave %zd of %zu", n, sizeof(big));
	cr_assert_eq(zt_pattern_check(10, 0, big, sizeof(big)), sizeof(big));

	/* EOF first: what there is, then 0 */
	p = (struct pieces){ .fd = sfd, .n = 1, .size = 1000, .pause_ms = 10, .close_after = true };
	t = zt_spawn(send_pieces, &p);
	n = zsock_recv(cfd, buf, sizeof(buf), ZSOCK_MSG_WAITALL);
	cr_assert(zt_join(t, 10000));
	cr_assert_eq(n, 1000, "MSG_WAITALL up to EOF gave %zd (errno %d)", n, errno);
	cr_assert_eq(zt_pattern_check(9, 0, buf, 1000), 1000);
	cr_assert_eq(zsock_recv(cfd, buf, sizeof(buf), ZSOCK_MSG_WAITALL), 0, "after EOF");
	zt_close(cfd);
	zt_close(lfd);
}

ZT_TEST(tls, shutdown_wr, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct flow tx, rx;
	pthread_t t;
	uint16_t port;
	int lfd, cfd, sfd;

	creds_std();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	flow_init(&tx, cfd, 5, 10000);
	flow_init(&rx, sfd, 5, 10000);
	rx.expect_eof = true;
	t = zt_spawn(flow_recv, &rx);
	flow_send(&tx);
	cr_assert_eq(zsock_shutdown(cfd, ZSOCK_SHUT_WR), 0, "shutdown: errno %d (%s)", errno,
		     strerror(errno));
	cr_assert(zt_join(t, 10000), "the server never saw EOF after shutdown(SHUT_WR)");
	flow_check("before shutdown", &tx, &rx);
	errno = 0;
	cr_assert_eq(zsock_send(cfd, "x", 1, 0), -1, "send after shutdown(SHUT_WR)");
	cr_assert_eq(errno, EPIPE, "send after SHUT_WR: errno %d (%s)", errno, strerror(errno));
	cr_assert_neq(zt_poll1(sfd, ZSOCK_POLLIN, 0) & ZSOCK_POLLIN, 0, "EOF not readable");
	zt_close(sfd);
	zt_close(cfd);
	zt_close(lfd);
}

ZT_TEST(tls, server_close, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct flow tx, rx;
	uint16_t port;
	int lfd, cfd, sfd;

	creds_std();
	lfd = tls_listener(AF_INET6, stags, 1, &port);
	cfd = tls_client(AF_INET6, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET6, lfd, port, cfd);
	flow_init(&tx, sfd, 6, 20000);
	flow_init(&rx, cfd, 6, 20000);
	rx.expect_eof = true;
	flow_send(&tx);
	zt_close(sfd);
	cr_assert_neq(zt_poll1(cfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, 0);
	flow_recv(&rx);
	flow_check("server then close", &tx, &rx);
	zt_close(cfd);
	zt_close(lfd);
}

/* ---- session resumption ---------------------------------------------------------------- */

struct sess {
	int lfd;
	uint16_t port;
};

/* One session: client cache setting; purge first if asked; returns
 * whether both ends say it resumed (asserting they agree). */
static bool session_once(struct sess *s, bool client_cache, bool purge_first, int *suite)
{
	const sec_tag_t ctags[] = { TAG_EC_CA };
	int cfd, sfd, cr, sr;

	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	if (client_cache)
		set_int(cfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	if (purge_first)
		set_int(cfd, TLS_SESSION_CACHE_PURGE, 1);
	sfd = pair(AF_INET, s->lfd, s->port, cfd);
	cr = get_int(cfd, ZSOCK_TLS_SESSION_RESUMED);
	sr = get_int(sfd, ZSOCK_TLS_SESSION_RESUMED);
	cr_assert_eq(cr, sr, "client says resumed %d, server %d", cr, sr);
	cr_assert(cr == 0 || cr == 1, "ZSOCK_TLS_SESSION_RESUMED %d", cr);
	*suite = get_int(cfd, TLS_CIPHERSUITE_USED);
	if (cr == 0)
		cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0, "full handshake: chain not verified");
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	return cr == 1;
}

static void sess_listener(struct sess *s, bool cache)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };

	s->lfd = tls_listener(AF_INET, stags, 1, &s->port);
	if (cache)
		set_int(s->lfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
}

ZT_TEST(tls, resumption, .timeout = 60)
{
	struct sess s;
	int s1, s2, s3;

	creds_std();
	sess_listener(&s, true);
	cr_assert_not(session_once(&s, true, false, &s1), "the first session resumed");
	cr_assert(session_once(&s, true, false, &s2), "the second session did not resume");
	cr_assert_eq(s1, s2, "a resumed session changed suite");
	cr_assert(session_once(&s, true, false, &s3), "the third session did not resume");
	zt_close(s.lfd);
}

ZT_TEST(tls, resumption_purge, .timeout = 60)
{
	struct sess s;
	int su;

	creds_std();
	sess_listener(&s, true);
	cr_assert_not(session_once(&s, true, false, &su));
	cr_assert(session_once(&s, true, false, &su), "no resumption before the purge");
	cr_assert_not(session_once(&s, true, true, &su), "resumed after TLS_SESSION_CACHE_PURGE");
	cr_assert(session_once(&s, true, false, &su), "no resumption of the session made after the purge");
	zt_close(s.lfd);
}

ZT_TEST(tls, resumption_needs_both, .timeout = 60)
{
	struct sess s;
	int su;

	creds_std();
	/* client cache off: never resumes */
	sess_listener(&s, true);
	cr_assert_not(session_once(&s, false, false, &su));
	cr_assert_not(session_once(&s, false, false, &su), "resumed with the client cache off");
	zt_close(s.lfd);
	/* server cache off: never resumes */
	sess_listener(&s, false);
	set_int(s.lfd, TLS_SESSION_CACHE_PURGE, 1);
	cr_assert_not(session_once(&s, true, false, &su));
	cr_assert_not(session_once(&s, true, false, &su), "resumed with the server cache off");
	zt_close(s.lfd);
}

/* A cached session is offered only to the same host name and verification
 * level (docs/tls.md): a session made without checking the peer is not
 * resumed where checking is wanted, nor one for another name (which would
 * skip the name check). */
ZT_TEST(tls, resumption_keyed, .timeout = 60)
{
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct sess s;
	struct hs h;
	int cfd, sfd, su;

	creds_std();
	sess_listener(&s, true);
	/* a full handshake that checked nothing */
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	set_int(cfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	set_int(cfd, TLS_PEER_VERIFY, TLS_PEER_VERIFY_NONE);
	sfd = pair(AF_INET, s.lfd, s.port, cfd);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_SESSION_RESUMED), 0);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), -1);
	close_pair(cfd, sfd);
	/* REQUIRED: not that session; a full, checked handshake */
	cr_assert_not(session_once(&s, true, false, &su),
		      "a session made with TLS_PEER_VERIFY_NONE was resumed under REQUIRED");
	cr_assert(session_once(&s, true, false, &su), "the REQUIRED session did not resume");
	/* another host name, REQUIRED: a full handshake, and the name fails */
	cfd = tls_client(AF_INET, ctags, 1, "wrong.test");
	set_int(cfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	handshake(AF_INET, s.lfd, s.port, cfd, &h);
	cr_assert_eq(h.rc, -1, "a session for " SERVER_NAME " was resumed for wrong.test (resumed %d)",
		     zt_tls_opt_or(cfd, ZSOCK_TLS_SESSION_RESUMED));
	cr_assert_eq(h.err, ECONNABORTED);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), X509_BAD_SERVER_NAME);
	zt_close(cfd);
	zt_close(s.lfd);
	assert_all_slots_free();
}

/* Sessions are a resource of their own (CONFIG_ZSOCK_TLS_SESSIONS, taken
 * when a handshake starts): with all taken, connect fails with ENOMEM;
 * one closed, the next connect works. */
ZT_TEST(tls, session_exhaustion, .timeout = 60)
{
#if CONFIG_ZSOCK_TLS_SESSIONS % 2 == 0 && CONFIG_ZSOCK_TLS_SESSIONS + 2 <= CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	int cfd[CONFIG_ZSOCK_TLS_SESSIONS / 2], sfd[CONFIG_ZSOCK_TLS_SESSIONS / 2];
	struct zsock_engine_stats st;
	struct hs h;
	uint16_t port;
	int lfd, extra;

	creds_std();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	for (int i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS / 2; i++) {
		cfd[i] = tls_client(AF_INET, ctags, 1, SERVER_NAME);
		sfd[i] = pair(AF_INET, lfd, port, cfd[i]);
	}
	zt_stats(&st);
	cr_assert_eq(st.tls_sessions_in_use, CONFIG_ZSOCK_TLS_SESSIONS, "sessions in use %u",
		     st.tls_sessions_in_use);
	extra = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	handshake(AF_INET, lfd, port, extra, &h);
	cr_assert_eq(h.rc, -1, "a handshake with every session taken");
	cr_assert_eq(h.err, ENOMEM, "no session: connect errno %d (%s)", h.err, strerror(h.err));
	cr_assert_lt(h.acc.fd, 0, "accept gave a session with none free");
	zt_close(extra);
	/* the live ones are unharmed */
	for (int i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS / 2; i++)
		ping(cfd[i], sfd[i]);
	close_pair(cfd[0], sfd[0]);
	extra = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd[0] = pair(AF_INET, lfd, port, extra);
	cfd[0] = extra;
	for (int i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS / 2; i++)
		close_pair(cfd[i], sfd[i]);
	zt_close(lfd);
	assert_all_slots_free();
#else
	cr_skip_test("needs an even CONFIG_ZSOCK_TLS_SESSIONS and 2 more TLS sockets than sessions");
#endif
}

/* ---- ALPN -------------------------------------------------------------------------------- */

/* TLS_ALPN_LIST of fd: the n names of list (none: left unset). */
static void set_alpn(int fd, const char **list, int n)
{
	if (n > 0)
		zt_tls_set(fd, TLS_ALPN_LIST, list, (socklen_t)(n * sizeof(char *)));
}

static void alpn_case(const char **cli, int ncli, const char **srv, int nsrv, const char *want)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	char buf[64];
	uint16_t port;
	int lfd, cfd, sfd;

	lfd = tls_listener(AF_INET, stags, 1, &port);
	set_alpn(lfd, srv, nsrv);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	set_alpn(cfd, cli, ncli);
	get_fails(cfd, SOL_TLS, ZSOCK_TLS_ALPN_USED, ENOTCONN);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(alpn_used(cfd, buf, sizeof(buf)), strlen(want) + 1);
	cr_assert_str_eq(buf, want, "client ALPN \"%s\", want \"%s\"", buf, want);
	cr_assert_eq(alpn_used(sfd, buf, sizeof(buf)), strlen(want) + 1);
	cr_assert_str_eq(buf, want, "server ALPN \"%s\", want \"%s\"", buf, want);
	if (want[0] != '\0') {
		socklen_t len = (socklen_t)strlen(want);	/* one short */

		errno = 0;
		cr_assert_eq(zsock_getsockopt(cfd, SOL_TLS, ZSOCK_TLS_ALPN_USED, buf, &len), -1,
			     "ZSOCK_TLS_ALPN_USED into a buffer too small");
		cr_assert_eq(errno, EINVAL);
	}
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
}

ZT_TEST(tls, alpn, .timeout = 60)
{
#if CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS >= 2
	static const char *cli[] = { "spdy/1", "http/1.1" };
	static const char *srv[] = { "h2", "http/1.1" };
	static const char *one[] = { "zsock-test/1" };

	creds_std();
	alpn_case(cli, 2, srv, 2, "http/1.1");
	alpn_case(one, 1, one, 1, "zsock-test/1");
	/* only the client offers: nothing negotiated, the session works */
	alpn_case(cli, 2, NULL, 0, "");
#else
	cr_skip_test("CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS < 2");
#endif
}

/* ---- slots, credentials -------------------------------------------------------------------- */

ZT_TEST(tls, slot_exhaustion, .timeout = 30)
{
	int fds[CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS];
	int tcp, fd;

	for (int i = 0; i < CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS; i++)
		fds[i] = tls_sock(i % 2 ? AF_INET6 : AF_INET, IPPROTO_TLS_1_2);
	errno = 0;
	cr_assert_eq(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), -1,
		     "more TLS sockets than CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS (%d)",
		     CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS);
	cr_assert_eq(errno, ENOMEM, "no TLS slot: errno %d (%s)", errno, strerror(errno));
	errno = 0;
	cr_assert_eq(zsock_socket(AF_INET6, SOCK_STREAM, IPPROTO_TLS_1_1), -1);
	cr_assert_eq(errno, ENOMEM);
	/* plain sockets do not need a slot */
	tcp = zt_socket(AF_INET, SOCK_STREAM);
	zt_close(tcp);
	zt_close(fds[0]);
	fd = tls_sock(AF_INET, IPPROTO_TLS_1_2);
	fds[0] = fd;
	for (int i = 0; i < CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS; i++)
		zt_close(fds[i]);
	assert_all_slots_free();
}

/* Deleting the credentials a live session uses: the session goes on; new
 * handshakes see them gone; added again, they work again. */
ZT_TEST(tls, cred_deleted_in_use, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	struct hs h;
	uint16_t port;
	int lfd, cfd, sfd;
	size_t len;
	char tmp[8];

	struct zsock_engine_stats st;
	int64_t end;

	zt_certs_make();
	zt_certs_add(TAG_EC_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	zt_certs_add(TAG_EC_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
	zt_certs_add(TAG_EC_SRV, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);

	cr_assert_eq(tls_credential_delete(TAG_EC_CA, TLS_CREDENTIAL_CA_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_EC_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_EC_SRV, TLS_CREDENTIAL_PRIVATE_KEY), 0);
	cr_assert_eq(tls_credential_delete(TAG_EC_SRV, TLS_CREDENTIAL_PRIVATE_KEY), -ENOENT);
	len = sizeof(tmp);
	cr_assert_eq(tls_credential_get(TAG_EC_CA, TLS_CREDENTIAL_CA_CERTIFICATE, tmp, &len), -ENOENT);
	/* gone from the table, still held by the live session */
	zt_stats(&st);
	cr_assert_eq(st.tls_cred_count, 0, "%u credentials after deleting all", st.tls_cred_count);
	cr_assert_gt(st.tls_cred_arena_used, 0, "the live session's credentials were freed under it");

	exchange(cfd, sfd, 64 * 1024);
	close_pair(cfd, sfd);
	/* the last user closed: released (the listener still holds the
	 * server's tags, but never took them: a listener has no session) */
	end = zt_now_ms() + 3000;
	for (;;) {
		zt_stats(&st);
		if (st.tls_cred_arena_used == 0)
			break;
		cr_assert_lt(zt_now_ms(), end, "%u arena bytes still used after the last session closed",
			     st.tls_cred_arena_used);
		zt_sleep_ms(20);
	}

	/* the server's chain and key back; the client's CA stays deleted */
	zt_certs_add(TAG_EC_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
	zt_certs_add(TAG_EC_SRV, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	handshake(AF_INET, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, -1, "connected with its CA deleted");
	cr_assert_eq(h.err, ECONNABORTED, "CA deleted: connect errno %d (%s)", h.err, strerror(h.err));
	cr_assert_lt(h.acc.fd, 0);
	zt_close(cfd);

	/* the CA back (PEM this time): verification works again */
	zt_certs_add(TAG_EC_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.pem");
	cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
	assert_all_slots_free();
	cr_assert_eq(tls_credential_delete(TAG_EC_CA, TLS_CREDENTIAL_CA_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_EC_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_EC_SRV, TLS_CREDENTIAL_PRIVATE_KEY), 0);
	zt_stats(&st);
	cr_assert_eq(st.tls_cred_count, 0);
	cr_assert_eq(st.tls_cred_arena_used, 0, "%u arena bytes used with no credential and no socket",
		     st.tls_cred_arena_used);
}

/* TLS_CERT_NOCOPY_OPTIONAL: the server sends its chain from the caller's
 * DER buffer; the client verifies it. */
ZT_TEST(tls, cert_nocopy, .timeout = 60)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ctags[] = { TAG_EC_CA };
	uint16_t port;
	int lfd, cfd, sfd;

	creds_std();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	set_int(lfd, TLS_CERT_NOCOPY, TLS_CERT_NOCOPY_OPTIONAL);
	for (int i = 0; i < 2; i++) {
		cfd = tls_client(AF_INET, ctags, 1, SERVER_NAME);
		sfd = pair(AF_INET, lfd, port, cfd);
		cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
		ping(cfd, sfd);
		close_pair(cfd, sfd);
	}
	zt_close(lfd);
}

/* A NULL value with a length is EFAULT, as on the engine's sockets, never a crash. */
ZT_TEST(tls, opt_null_value_efault, .timeout = 30)
{
	static const int names[] = { TLS_PEER_VERIFY, TLS_CERT_NOCOPY, TLS_NATIVE,
				     TLS_SESSION_CACHE, TLS_SEC_TAG_LIST, TLS_CIPHERSUITE_LIST };
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
	size_t i;

	cr_assert_geq(fd, 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		errno = 0;
		cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, names[i], NULL, sizeof(int)), -1,
			     "option %d with NULL succeeded", names[i]);
		cr_assert_eq(errno, EFAULT, "option %d: errno %d", names[i], errno);
	}
	zt_close(fd);
}

/* ---- TLS-PSK (the DTLS/TLS-PSK core in stream mode) ----------------------------------------- */

/*
 * Sockets whose tags hold a PSK and its identity run TLS_PSK_WITH_AES_128_*
 * on the project's own core instead of BearSSL (tls_sock.c's header gives
 * the rule). Both ends here are zsock; tests/interop/test_tls_psk.c meets
 * OpenSSL.
 */
#define TAG_PSK       30  /* psk_key under psk_id */
#define TAG_PSK_OTHER 31  /* another key under the same identity */
#define TAG_PSK_STRANGER 32 /* psk_key under an identity the server lacks */
#define PSK_CCM8      0xC0A8
#define PSK_GCM       0x00A8

static const uint8_t psk_key[16] = { 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81,
				     0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09 };
static const uint8_t psk_other[16] = { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
				       0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00 };
static const char psk_id[] = "zsock-loopback-psk";
static const char psk_stranger[] = "nobody-knows-me";

static void creds_psk(void)
{
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK, psk_key, sizeof(psk_key)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, psk_id, strlen(psk_id)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK_OTHER, TLS_CREDENTIAL_PSK, psk_other,
					sizeof(psk_other)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK_OTHER, TLS_CREDENTIAL_PSK_ID, psk_id,
					strlen(psk_id)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK_STRANGER, TLS_CREDENTIAL_PSK, psk_key,
					sizeof(psk_key)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK_STRANGER, TLS_CREDENTIAL_PSK_ID, psk_stranger,
					strlen(psk_stranger)), 0);
}

/* A PSK pair: suites on the client (nsuites 0: none set), data both ways,
 * the suite both ends report, close_notify, every slot back. */
static void psk_pair(int family, const int *suites, int nsuites, int want)
{
	const sec_tag_t tags[] = { TAG_PSK };
	uint16_t port;
	int lfd, cfd, sfd;
	char alpn[8];

	creds_psk();
	lfd = tls_listener(family, tags, 1, &port);
	cfd = tls_client(family, tags, 1, NULL);
	if (nsuites > 0)
		set_suites(cfd, suites, nsuites);
	get_fails(cfd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
	sfd = pair(family, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, TLS_CIPHERSUITE_USED), want, "client: suite 0x%04x, want 0x%04x",
		     get_int(cfd, TLS_CIPHERSUITE_USED), want);
	cr_assert_eq(get_int(sfd, TLS_CIPHERSUITE_USED), want, "server: suite 0x%04x, want 0x%04x",
		     get_int(sfd, TLS_CIPHERSUITE_USED), want);
	/* no certificates on either side: nothing was verified */
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), -1);
	cr_assert_eq(get_int(sfd, ZSOCK_TLS_VERIFY_RESULT), -1);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_LAST_ERROR), 0);
	cr_assert_eq(get_int(sfd, ZSOCK_TLS_SESSION_RESUMED), 0);
	cr_assert_eq(alpn_used(cfd, alpn, sizeof(alpn)), 1);
	exchange_and_close(lfd, cfd, sfd);
}

ZT_TEST(tls, psk_default_suite, .timeout = 60)
{
	psk_pair(AF_INET, NULL, 0, PSK_CCM8); /* the core's order: CCM_8 first */
}

ZT_TEST(tls, psk_ccm8_v6, .timeout = 60)
{
	const int s[] = { PSK_CCM8 };

	psk_pair(AF_INET6, s, 1, PSK_CCM8);
}

ZT_TEST(tls, psk_gcm, .timeout = 60)
{
	/* a BearSSL suite in the list too: the core gets only its own (the
	 * server's order decides, so the client offers GCM alone) */
	const int s[] = { ECDHE_ECDSA_AES128_GCM, PSK_GCM };

	psk_pair(AF_INET, s, 2, PSK_GCM);
}

/* Both ways at once, two threads per socket, on the PSK path. */
ZT_TEST(tls, psk_full_duplex, .timeout = 60)
{
	const sec_tag_t tags[] = { TAG_PSK };

	creds_psk();
	duplex(tags, tags, NULL, 301, 402);
}

/* A failing PSK handshake: both calls fail with ECONNABORTED (the side
 * that found it sent the alert, the other received it), LAST_ERROR says
 * which alert, and every slot comes back. */
static void psk_fails(sec_tag_t client_tag, int alert)
{
	const sec_tag_t stags[] = { TAG_PSK };
	const sec_tag_t ctags[] = { client_tag };
	uint16_t port;
	int lfd, cfd;
	struct hs h;

	creds_psk();
	lfd = tls_listener(AF_INET, stags, 1, &port);
	cfd = tls_client(AF_INET, ctags, 1, NULL);
	handshake(AF_INET, lfd, port, cfd, &h);
	cr_assert_eq(h.rc, -1, "connect succeeded");
	cr_assert_eq(h.err, ECONNABORTED, "connect: errno %d (%s), want ECONNABORTED", h.err,
		     strerror(h.err));
	cr_assert_eq(last_error(cfd), 256 + alert, "client LAST_ERROR %d, want 256 + %d",
		     last_error(cfd), alert);
	cr_assert_eq(h.acc.fd, -1, "accept succeeded");
	cr_assert_eq(h.acc.err, ECONNABORTED, "accept: errno %d (%s), want ECONNABORTED", h.acc.err,
		     strerror(h.acc.err));
	cr_assert_eq(sock_int(cfd, SOL_SOCKET, SO_ERROR), ECONNABORTED);
	get_fails(cfd, SOL_TLS, TLS_CIPHERSUITE_USED, ENOTCONN);
	zt_close(cfd);
	zt_close(lfd);
	assert_all_slots_free();
}

ZT_TEST(tls, psk_wrong_key, .timeout = 60)
{
	psk_fails(TAG_PSK_OTHER, 20); /* bad_record_mac: the client's Finished */
}

ZT_TEST(tls, psk_unknown_identity, .timeout = 60)
{
	psk_fails(TAG_PSK_STRANGER, 115); /* unknown_psk_identity */
}

/* TLS_ALPN_LIST on the PSK path (the core's ALPN; creds_psk() done):
 * cli / srv lists (n 0: none set), want the protocol both ends report
 * ("" none); want NULL: no protocol in common, both ends fail with
 * ECONNABORTED, the server having sent no_application_protocol (120,
 * RFC 7301 s3.2; BearSSL would go on without a protocol), and every slot
 * comes back. */
static void psk_alpn_case(const char **cli, int ncli, const char **srv, int nsrv,
			  const char *want)
{
	const sec_tag_t tags[] = { TAG_PSK };
	char buf[64];
	uint16_t port;
	int lfd, cfd, sfd;
	struct hs h;

	lfd = tls_listener(AF_INET, tags, 1, &port);
	set_alpn(lfd, srv, nsrv);
	cfd = tls_client(AF_INET, tags, 1, NULL);
	set_alpn(cfd, cli, ncli);
	if (want == NULL) {
		handshake(AF_INET, lfd, port, cfd, &h);
		cr_assert_eq(h.rc, -1, "connect succeeded");
		cr_assert_eq(h.err, ECONNABORTED, "connect: errno %d (%s)", h.err, strerror(h.err));
		cr_assert_eq(last_error(cfd), 256 + 120, "client LAST_ERROR %d", last_error(cfd));
		cr_assert_eq(h.acc.fd, -1, "accept succeeded");
		cr_assert_eq(h.acc.err, ECONNABORTED, "accept: errno %d (%s)", h.acc.err,
			     strerror(h.acc.err));
		get_fails(cfd, SOL_TLS, ZSOCK_TLS_ALPN_USED, ENOTCONN);
		zt_close(cfd);
		zt_close(lfd);
		assert_all_slots_free();
		return;
	}
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(cfd, TLS_CIPHERSUITE_USED), PSK_CCM8, "not on the PSK path");
	cr_assert_eq(alpn_used(cfd, buf, sizeof(buf)), strlen(want) + 1);
	cr_assert_str_eq(buf, want, "client ALPN \"%s\", want \"%s\"", buf, want);
	cr_assert_eq(alpn_used(sfd, buf, sizeof(buf)), strlen(want) + 1);
	cr_assert_str_eq(buf, want, "server ALPN \"%s\", want \"%s\"", buf, want);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), -1);
	cr_assert_eq(get_int(sfd, ZSOCK_TLS_VERIFY_RESULT), -1);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);
	assert_all_slots_free();
}

ZT_TEST(tls, psk_alpn, .timeout = 60)
{
#if CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS >= 2
	static const char *cli[] = { "spdy/1", "http/1.1" };
	static const char *srv[] = { "h2", "http/1.1" };
	static const char *pref[] = { "http/1.1", "spdy/1" };
	static const char *other[] = { "coap" };

	creds_psk();
	psk_alpn_case(cli, 2, srv, 2, "http/1.1");
	psk_alpn_case(cli, 2, pref, 2, "http/1.1"); /* the server's order */
	psk_alpn_case(cli, 2, NULL, 0, "");
	psk_alpn_case(NULL, 0, srv, 2, "");
	psk_alpn_case(cli, 2, other, 1, NULL);      /* no overlap: alert 120 */
#else
	cr_skip_test("CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS < 2");
#endif
}

/* A non-blocking PSK connect driven by poll alone, then MSG_PEEK,
 * MSG_DONTWAIT, shutdown(SHUT_WR) and the peer's EOF. */
ZT_TEST(tls, psk_nonblocking_connect, .timeout = 60)
{
	const sec_tag_t tags[] = { TAG_PSK };
	struct nb nb;
	struct acc a;
	int lfd, cfd;
	char buf[8];

	creds_psk();
	nb_start(&nb, tags, tags, NULL);
	lfd = nb.lfd;
	cfd = nb.cfd;
	zt_tls_connect_nb(cfd, (struct sockaddr *)&nb.ss, nb.len, 10000);
	cr_assert_eq(get_int(cfd, TLS_CIPHERSUITE_USED), PSK_CCM8);
	nb_accepted(&nb);
	a = nb.a;

	nb_first_bytes(&nb);
	cr_assert_eq(zsock_send(a.fd, "okay", 4, 0), 4);
	cr_assert_neq(zt_poll1(cfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, 0, "no POLLIN for data");
	cr_assert_eq(zsock_recv(cfd, buf, 2, ZSOCK_MSG_PEEK), 2);
	cr_assert_arr_eq(buf, "ok", 2);
	cr_assert_eq(zsock_recv(cfd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), 4);
	cr_assert_arr_eq(buf, "okay", 4);
	cr_assert_eq(zsock_shutdown(a.fd, ZSOCK_SHUT_WR), 0, "shutdown: errno %d", errno);
	cr_assert_neq(zt_poll1(cfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, 0, "no POLLIN for EOF");
	cr_assert_eq(zsock_recv(cfd, buf, sizeof(buf), 0), 0, "close_notify is not EOF");
	zt_close(a.fd);
	zt_close(cfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* The rule's other half: a server with a certificate and a PSK and no
 * list stays on BearSSL (a certificate client gets ECDHE); with a list
 * naming a PSK suite it takes PSK clients. PSK suites alone on a socket
 * without a PSK: no handshake. */
ZT_TEST(tls, psk_rule, .timeout = 60)
{
	const sec_tag_t both[] = { TAG_EC_SRV, TAG_PSK };
	const sec_tag_t ca[] = { TAG_EC_CA };
	const sec_tag_t psk[] = { TAG_PSK };
	const int only_psk[] = { PSK_GCM };
	struct sockaddr_storage ss;
	struct acc a;
	pthread_t t;
	socklen_t len;
	uint16_t port;
	int lfd, cfd, sfd, s;

	creds_std();
	creds_psk();
	lfd = tls_listener(AF_INET, both, 2, &port);
	cfd = tls_client(AF_INET, ca, 1, SERVER_NAME);
	sfd = pair(AF_INET, lfd, port, cfd);
	s = get_int(cfd, TLS_CIPHERSUITE_USED);
	cr_assert(s != PSK_CCM8 && s != PSK_GCM, "a certificate client got PSK suite 0x%04x", s);
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 0);
	ping(cfd, sfd);
	close_pair(cfd, sfd);

	set_suites(lfd, only_psk, 1);
	cfd = tls_client(AF_INET, psk, 1, NULL);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr_assert_eq(get_int(sfd, TLS_CIPHERSUITE_USED), PSK_GCM);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	zt_close(lfd);

	/* PSK suites, no PSK: the client cannot start; the server sees the
	 * connection go before any ClientHello */
	lfd = tls_listener(AF_INET, psk, 1, &port);
	cfd = tls_client(AF_INET, ca, 1, SERVER_NAME);
	set_suites(cfd, only_psk, 1);
	a = (struct acc){ .lfd = lfd, .poll_ms = 10000, .fd = -1 };
	t = zt_spawn(acc_main, &a);
	len = zt_loopback(AF_INET, port, &ss);
	errno = 0;
	cr_assert_eq(zsock_connect(cfd, (struct sockaddr *)&ss, len), -1,
		     "a client without a PSK connected with a PSK suite");
	cr_assert_eq(errno, ECONNABORTED, "connect: errno %d (%s)", errno, strerror(errno));
	zt_close(cfd);
	cr_assert(zt_join(t, 10000), "accept hung after the client left");
	cr_assert_eq(a.fd, -1, "accept succeeded");
	cr_assert_eq(a.err, ECONNRESET, "accept: errno %d (%s)", a.err, strerror(a.err));
	zt_close(lfd);
	assert_all_slots_free();
}

/* One PSK connection to lfd at port, the client's cache on; returns
 * whether both ends say it resumed (and asserts they agree). */
static bool psk_session(int lfd, uint16_t port, bool purge_first)
{
	const sec_tag_t tags[] = { TAG_PSK };
	int cfd, sfd, cr, sr;

	cfd = tls_client(AF_INET, tags, 1, NULL);
	set_int(cfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	if (purge_first)
		set_int(cfd, TLS_SESSION_CACHE_PURGE, 1);
	sfd = pair(AF_INET, lfd, port, cfd);
	cr = get_int(cfd, ZSOCK_TLS_SESSION_RESUMED);
	sr = get_int(sfd, ZSOCK_TLS_SESSION_RESUMED);
	cr_assert_eq(cr, sr, "client says resumed %d, server %d", cr, sr);
	cr_assert_eq(get_int(cfd, TLS_CIPHERSUITE_USED), PSK_CCM8);
	ping(cfd, sfd);
	close_pair(cfd, sfd);
	return cr == 1;
}

/* TLS_SESSION_CACHE on the PSK path: the second connection resumes (the
 * core's abbreviated handshake), not after TLS_SESSION_CACHE_PURGE, and
 * not with the server's cache off. */
ZT_TEST(tls, psk_resumption, .timeout = 60)
{
	const sec_tag_t tags[] = { TAG_PSK };
	uint16_t port;
	int lfd;

	creds_psk();
	lfd = tls_listener(AF_INET, tags, 1, &port);
	cr_assert_not(psk_session(lfd, port, false), "resumed with the server's cache off");
	cr_assert_not(psk_session(lfd, port, false), "resumed with the server's cache off");
	set_int(lfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	cr_assert_not(psk_session(lfd, port, false), "the first session with a cache resumed");
	cr_assert(psk_session(lfd, port, false), "the second session did not resume");
	cr_assert(psk_session(lfd, port, false), "the third session did not resume");
	cr_assert_not(psk_session(lfd, port, true), "resumed after TLS_SESSION_CACHE_PURGE");
	cr_assert(psk_session(lfd, port, false), "no resumption after the purge's new session");
	zt_close(lfd);
	assert_all_slots_free();
}

/* ---- close while another thread is inside a call ---------------------------------------- */

/*
 * Closing a TLS socket while one thread is actively taking from it (or
 * sending on it) and records keep flowing, as native::close_races_active_
 * takes / _sends do for TCP: every byte the taker got is the stream's, in
 * order; the calls on the closed socket end with EBADF (the next call) or
 * EINTR; the TLS slot, its session, the TCP socket under it and every
 * buffer come back (ZT_TEST's leak check). By turns on BearSSL (ECDHE-
 * ECDSA) and on the PSK core, the client or the server sending. TLS had
 * no such race (close takes t->lock, calls find t->closed under it); a
 * close that skipped the lock failed _takes in 2 plain runs of 3.
 */
/* What a call on a socket whose peer went may fail with. */
static bool peer_gone_errno(int e)
{
	return e == 0 || e == EPIPE || e == ECONNRESET || e == ECONNABORTED;
}

struct race_ends {
	int lfd[2];          /* [0] BearSSL, [1] PSK */
	uint16_t port[2];
};

static void race_listeners(struct race_ends *r)
{
	const sec_tag_t stags[] = { TAG_EC_SRV };
	const sec_tag_t ptags[] = { TAG_PSK };

	creds_std();
	creds_psk();
	r->lfd[0] = tls_listener(AF_INET, stags, 1, &r->port[0]);
	r->lfd[1] = tls_listener(AF_INET, ptags, 1, &r->port[1]);
}

static void close_race_round(struct race_ends *r, int round, bool close_sender)
{
	const sec_tag_t ctags[] = { TAG_EC_CA };
	const sec_tag_t ptags[] = { TAG_PSK };
	int psk = (round / 2) % 2;
	bool client_sends = (round / 4) % 2 == 0;
	struct zt_race_taker t = { .seed = 58, .want = 4 * ZT_RACE_CHUNK };
	struct zt_race_sender d = { .seed = 58, .pause_us = 100 };
	pthread_t th[2];
	int cfd, sfd;

	cfd = psk ? tls_client(AF_INET, ptags, 1, NULL) : tls_client(AF_INET, ctags, 1, SERVER_NAME);
	sfd = pair(AF_INET, r->lfd[psk], r->port[psk], cfd);
	d.fd = client_sends ? cfd : sfd;
	t.fd = client_sends ? sfd : cfd;
	th[0] = zt_spawn(zt_race_sender_main, &d);
	th[1] = zt_spawn(zt_race_taker_main, &t);
	zt_sleep_ms(round % 3);
	if (close_sender) {
		zt_close(d.fd);
		atomic_store(&d.stop, true);
		cr_assert(zt_join(th[0], 10000), "round %d: sender hangs", round);
		/* the taker reads what came, then EOF (close_notify) or the
		 * truncation; stopped if neither arrives soon */
		zt_sleep_ms(2);
		atomic_store(&t.stop, true);
		cr_assert(zt_join(th[1], 10000), "round %d: taker hangs", round);
		cr_assert(d.err == 0 || d.err == EBADF || d.err == EINTR,
			  "round %d: sender errno %d", round, d.err);
		cr_assert(peer_gone_errno(t.err), "round %d: taker errno %d", round, t.err);
		zt_close(t.fd);
	} else {
		zt_close(t.fd);
		atomic_store(&t.stop, true);
		atomic_store(&d.stop, true);
		cr_assert(zt_join(th[1], 10000), "round %d: taker hangs", round);
		cr_assert(zt_join(th[0], 10000), "round %d: sender hangs", round);
		cr_assert(!t.eof, "round %d: the taker read EOF", round);
		cr_assert(t.err == 0 || t.err == EBADF || t.err == EINTR,
			  "round %d (%s): taker errno %d", round, psk ? "PSK" : "BearSSL", t.err);
		cr_assert(peer_gone_errno(d.err), "round %d: sender errno %d", round, d.err);
		zt_close(d.fd);
	}
	cr_assert_eq(t.bad, 0, "round %d (%s): %s", round, psk ? "PSK" : "BearSSL", t.why);
	cr_assert_leq(t.got, d.sent, "round %d: %zu bytes read, %zu sent", round, t.got, d.sent);
}

#define TLS_RACE_ROUNDS 200

ZT_TEST(tls, close_races_active_takes, .timeout = 120)
{
	struct race_ends r;

	race_listeners(&r);
	for (int round = 0; round < TLS_RACE_ROUNDS; round++)
		close_race_round(&r, round, false);
	zt_close(r.lfd[0]);
	zt_close(r.lfd[1]);
	zt_tls_idle(3000);
}

ZT_TEST(tls, close_races_active_sends, .timeout = 120)
{
	struct race_ends r;

	race_listeners(&r);
	for (int round = 0; round < TLS_RACE_ROUNDS; round++)
		close_race_round(&r, round, true);
	zt_close(r.lfd[0]);
	zt_close(r.lfd[1]);
	zt_tls_idle(3000);
}
