/*
 * DTLS 1.2 sockets (zsock_socket(..., SOCK_DGRAM, IPPROTO_DTLS_1_2),
 * tls_bearssl/dtls_sock.c) against OpenSSL 3 over the TAP of a network
 * namespace each test makes (netns.h):
 *
 *   client_<suite>   zsock client -> openssl s_server -dtls1_2 at 192.0.2.1:4433
 *   server_<suite>   openssl s_client -dtls1_2 -> zsock server at 192.0.2.2:4433
 *   *_v6             two of them over IPv6 (2001:db8::1 and ::2)
 *   lossy_*          the same through nfq_impair: 20 % loss, 25 % reordering,
 *                    5 % duplication, both directions (Linux side, NFQUEUE,
 *                    the UDP packets of zt0), 64 KiB each way, our timer
 *                    from 100 ms, the client's connect non-blocking. No
 *                    datagram may arrive twice or damaged, and at least
 *                    LOSSY_FLOOR % must arrive (about 80 % do). The wire is
 *                    clean again before the close (a close_notify is one
 *                    datagram, which it could drop).
 *   client_recv_semantics  one record per recv with s_server's records:
 *                    POLLIN, FIONREAD, MSG_PEEK, MSG_TRUNC, recvmsg
 *   fail_*           wrong PSK (both roles), unknown PSK identity, a
 *                    certificate or host name that does not verify: the
 *                    errno, the alert OpenSSL heard, a zsock server that
 *                    serves the next client, every DTLS socket given back
 *
 * Suites, forced on both sides: PSK_WITH_AES_128_CCM_8 (0xC0A8),
 * PSK_WITH_AES_128_GCM_SHA256 (0x00A8), ECDHE_ECDSA_WITH_AES_128_CCM_8
 * (0xC0AE), ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xC02B). PSK: s_server
 * -nocert; ECDSA: the zt_certs P-256 chain (leaf <- intermediate <- root),
 * the zsock client checking the chain and the name server.test, s_client
 * checking ours with -verify_return_error -verify_hostname.
 *
 * Both run with -nbio: with a blocking socket, OpenSSL's SSL_read() goes
 * on reading after a record it discards (a duplicate the wire made, one it
 * cannot authenticate) and blocks in recvfrom() with its stdin unread
 * until the next datagram, which never comes once we wait for it.
 *
 * The data: 1 MiB of datagrams each way (64 KiB in the lossy cells), both
 * directions at once. Every datagram is one text line,
 *
 *   '@' dir seq(6 digits) letters... '\n'     dir: 'z' from zsock, 'o' from openssl
 *
 * whose length and letters follow from (dir, seq) alone, so a receiver
 * checks each one whole and sees loss, duplication, reordering and damage.
 * Both ends also sum the CRC-32 of every datagram they sent or received
 * (a checksum over all that does not depend on the order).
 *
 * OpenSSL's CLI sends what one read() of its stdin returns as one record.
 * Its stdin is a FIFO, and the next line goes in only once the FIFO is
 * empty (FIONREAD), so each line is read alone and is one record, one
 * datagram; the zsock side's recv must return exactly that line. Its
 * output (what it received) goes to a file read as it grows. Both senders
 * keep at most WINDOW datagrams beyond the highest one the other end has
 * delivered (zsock counts what openssl printed), so the Linux socket's
 * receive buffer is never overrun; after a while without progress a
 * sender goes on regardless (losses under impairment).
 *
 * Sizes: zsock's datagrams go up to the largest send <zsock/socket.h>
 * allows, CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE - 37 (2011 by default; IP
 * fragments on this 1500-byte link); one byte more must give EMSGSIZE.
 * OpenSSL's go up to 1400: it sets DF on its socket and fails a bigger
 * write (EMSGSIZE) on the 1500-byte link. Lossy cells: 1200 both ways.
 *
 * Closing: the zsock client closes and s_server (-naccept 1) must print
 * "CONNECTION CLOSED" (it read the close_notify) and exit 0. s_client ends
 * with its "Q" command, which sends close_notify; the zsock server then
 * has no client, so send() gives ENOTCONN. (A zsock client's recv
 * returning 0 on the server's close_notify cannot be tested with the CLI:
 * s_server's "q" and "Q" close its DTLS socket before it would send one;
 * none is on the wire, checked by capture.)
 *
 * Each test prints one line "dtls_sock: ..." with its figures (handshake
 * time, datagrams delivered/lost/duplicated/reordered, nfq_impair counts).
 * The client side's handshake time is connect()'s. The server side's runs
 * from the last moment the engine had received no frame since s_client
 * started (looked at before each poll of 1 ms) to TLS_CIPHERSUITE_USED
 * becoming readable.
 *
 * Needs root, ip(8), the openssl CLI, iptables and nfq_impair
 * (ZSOCK_NFQ_IMPAIR, set by meson.build) for the lossy cells; otherwise
 * "skipped: <reason>" (a failure under ZSOCK_TEST_REQUIRE_INTEROP=1).
 * While zsock_socket() refuses IPPROTO_DTLS_1_2 (EPROTONOSUPPORT) every
 * test is skipped saying so.
 */
#define _GNU_SOURCE
#include "netns.h"
#include "ossl.h"
#include "zt.h"
#include "zt_certs.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#include "tls_bearssl/tls.h"   /* zs_dtls_sock_in_use() */

#define PORT        4433
#define SERVER_NAME "server.test"
#define PSK_HEX     "00112233445566778899aabbccddeeff"
#define PSK_BAD_HEX "0102030405060708090a0b0c0d0e0f10"
#define PSK_ID      "zsock-dtls-id"
#define QUEUE       "7"

#define TAG_PSK 10  /* PSK and identity */
#define TAG_CA  11  /* what a zsock client trusts */
#define TAG_ME  12  /* a zsock server's chain and key */

#define XFER_CLEAN  (1u << 20)
#define XFER_LOSSY  (64u << 10)
#define WINDOW      16
#define DG_MIN      16
/* the largest send (<zsock/socket.h>): the datagram buffer less a
 * record's header (13), explicit nonce (8) and the longest tag (GCM's 16),
 * whatever the suite */
#define Z_MAX       (CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE - 37)
#define O_MAX       1400   /* OpenSSL: DF set, 1500-byte link */
#define LOSSY_MAX   1200
#define LOSSY_FLOOR 60     /* percent of the datagrams that must arrive */

static const uint8_t psk[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

enum auth { AUTH_PSK, AUTH_ECDSA };

struct suite {
	int iana;
	const char *ossl;   /* OpenSSL's name, for -cipher */
	enum auth auth;
};

static const struct suite S_PSK_CCM8 = { 0xC0A8, "PSK-AES128-CCM8", AUTH_PSK };
static const struct suite S_PSK_GCM = { 0x00A8, "PSK-AES128-GCM-SHA256", AUTH_PSK };
static const struct suite S_EC_CCM8 = { 0xC0AE, "ECDHE-ECDSA-AES128-CCM8", AUTH_ECDSA };
static const struct suite S_EC_GCM = { 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256", AUTH_ECDSA };

/* ---- fixture ------------------------------------------------------------------ */

/* This test's files (the peers' FIFOs and outputs): one process per test */
static char tmpdir[64];

/* The address family of this test's sockets (the *_v6 tests: AF_INET6) */
static int family = AF_INET;

static const char *linux_ip(void)
{
	return family == AF_INET ? ZI_LINUX_IP4 : ZI_LINUX_IP6;
}

static const char *engine_ip(void)
{
	return family == AF_INET ? ZI_ENGINE_IP4 : ZI_ENGINE_IP6;
}

/* host:port as openssl's -accept and -connect take it */
static const char *ossl_addr(const char *ip)
{
	return family == AF_INET ? zi_fmt("%s:%d", ip, PORT) : zi_fmt("[%s]:%d", ip, PORT);
}

static void ds_fini(void)
{
	zi_fini();
	if (tmpdir[0] != '\0') {
		zi_sh("rm -rf %s", tmpdir);
		tmpdir[0] = '\0';
	}
}

/* ZI_TEST with our files removed too */
#define DS_TEST(name, ...)                                       \
	static void ds_body_##name(void);                        \
	Test(dtls_sock, name, .fini = ds_fini, ##__VA_ARGS__)    \
	{                                                        \
		ds_body_##name();                                \
		zi_leak_check();                                 \
	}                                                        \
	static void ds_body_##name(void)


/* Monotonic microseconds (handshake times) */
static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *tmp_path(const char *name)
{
	return zi_fmt("%s/%s", tmpdir, name);
}

/* The namespace, the tools (nfq_impair and iptables when lossy), the PKI
 * when certs, and a probe that DTLS sockets exist at all. Every skip comes
 * before anything that only ds_fini() removes (Criterion runs no .fini
 * after a skip). */
static void ds_up(bool certs, bool lossy)
{
	const char *tool = getenv("ZSOCK_NFQ_IMPAIR");
	int fd;

	zi_ossl_up();
	if (lossy && (tool == NULL || access(tool, X_OK) != 0))
		zi_skip("ZSOCK_NFQ_IMPAIR does not name the nfq_impair tool");
	if (lossy && zi_sh("iptables -L -n >/dev/null") != 0)
		zi_skip("iptables is missing or does not work");
	fd = zsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_DTLS_1_2);
	if (fd < 0 && errno == EPROTONOSUPPORT)
		zi_skip("zsock_socket(IPPROTO_DTLS_1_2) gives EPROTONOSUPPORT: DTLS sockets "
			"are not in this build yet");
	cr_assert_geq(fd, 0, "DTLS socket: errno %d (%s)", errno, strerror(errno));
	zt_close(fd);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zt-dtlss-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	if (certs)
		zt_certs_make();
	/* ARP both ways before anything is timed or impaired */
	zi_sh("ping -c 1 -W 2 %s >/dev/null", engine_ip());
}

static void add_psk(void)
{
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK, psk, sizeof(psk)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, PSK_ID, strlen(PSK_ID)),
		     0);
}

/* ---- zsock sockets ---------------------------------------------------------------- */

static void set_opt(int fd, int name, const void *v, socklen_t len)
{
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, name, v, len), 0,
		     "setsockopt(SOL_TLS, %d): errno %d (%s)", name, errno, strerror(errno));
}

static void set_int(int fd, int name, int v)
{
	set_opt(fd, name, &v, sizeof(v));
}

/* getsockopt(SOL_TLS, name) as an int: 0 and *v, or the errno */
static int get_int(int fd, int name, int *v)
{
	socklen_t len = sizeof(*v);

	return zsock_getsockopt(fd, SOL_TLS, name, v, &len) == 0 ? 0 : errno;
}

static void set_timers(int fd, uint32_t min_ms, uint32_t max_ms)
{
	set_opt(fd, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN, &min_ms, sizeof(min_ms));
	set_opt(fd, TLS_DTLS_HANDSHAKE_TIMEOUT_MAX, &max_ms, sizeof(max_ms));
}

/*
 * A zsock DTLS socket for suite (forced) in role server or client, with
 * its credentials: PSK (TAG_PSK), or for ECDSA the client's trust anchor
 * and name, the server's chain and key. The server is bound to
 * 192.0.2.2:4433.
 */
static int z_socket(const struct suite *s, bool server, const char *host)
{
	int fd = zsock_socket(family, SOCK_DGRAM, IPPROTO_DTLS_1_2);
	struct timeval tv = { .tv_sec = 20 };
	sec_tag_t tag;

	cr_assert_geq(fd, 0, "DTLS socket: errno %d (%s)", errno, strerror(errno));
	if (s->auth == AUTH_PSK) {
		tag = TAG_PSK;
	} else {
		tag = server ? TAG_ME : TAG_CA;
		if (!server)
			set_opt(fd, TLS_HOSTNAME, host, (socklen_t)strlen(host) + 1);
	}
	set_opt(fd, TLS_SEC_TAG_LIST, &tag, sizeof(tag));
	set_opt(fd, TLS_CIPHERSUITE_LIST, &s->iana, sizeof(s->iana));
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	if (server) {
		struct sockaddr_storage ss;
		socklen_t len = zi_addr(engine_ip(), PORT, &ss);

		set_int(fd, TLS_DTLS_ROLE, TLS_DTLS_ROLE_SERVER);
		cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	}
	return fd;
}

/* Blocking connect to s_server: 0 or the errno; *us gets how long it took. */
static int z_connect(int fd, int64_t *us)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(linux_ip(), PORT, &ss);
	int64_t t0 = now_us();
	int rc = zsock_connect(fd, (struct sockaddr *)&ss, len);
	int err = rc == 0 ? 0 : errno;

	*us = now_us() - t0;
	return err;
}

/*
 * Non-blocking connect: EINPROGRESS, then POLLOUT (or POLLERR and
 * SO_ERROR) within wait_ms. Returns 0 or the errno; blocking again after.
 * The call itself only sends the first ClientHello: EINPROGRESS always
 * (it once ran the whole handshake when the peer answered fast enough).
 */
static int z_connect_nb(int fd, int wait_ms, int64_t *us)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(linux_ip(), PORT, &ss);
	struct zsock_pollfd p = { .fd = fd, .events = ZSOCK_POLLOUT };
	int64_t t0 = now_us();
	int rc, err = 0;
	socklen_t el = sizeof(err);

	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	rc = zsock_connect(fd, (struct sockaddr *)&ss, len);
	cr_assert_eq(rc, -1, "a non-blocking DTLS connect returned %d", rc);
	cr_assert_eq(errno, EINPROGRESS, "non-blocking DTLS connect: errno %d (%s)", errno,
		     strerror(errno));
	err = 0;
	rc = zsock_poll(&p, 1, wait_ms);
	*us = now_us() - t0;
	cr_assert_eq(rc, 1, "non-blocking DTLS connect: no POLLOUT/POLLERR in %d ms", wait_ms);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	if (p.revents & ZSOCK_POLLERR)
		cr_assert_neq(err, 0, "POLLERR but SO_ERROR 0 (revents %#x)", p.revents);
	else
		cr_assert(p.revents & ZSOCK_POLLOUT, "revents %#x", p.revents);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, 0), 0);
	return err;
}

/* Every DTLS socket given back, waiting up to 3 s for closes to finish. */
static void dtls_none_left(void)
{
	int64_t end = zt_now_ms() + 3000;

	while (zs_dtls_sock_in_use() != 0) {
		cr_assert_lt(zt_now_ms(), end, "%u DTLS sockets still in use after every close",
			     (unsigned)zs_dtls_sock_in_use());
		zt_sleep_ms(20);
	}
}

/* ---- the OpenSSL peer --------------------------------------------------------------- */

/*
 * openssl s_server / s_client under sh -c "...; echo EXIT=$?" (zi_prog_*):
 * its stdin the FIFO in (opened read-write at both ends: never EOF, and
 * we never block opening it), its stdout and stderr the file out, which
 * we read as it grows.
 */
struct peer {
	int h;          /* zi_prog handle of the shell */
	int in;         /* the FIFO, our end */
	int out;        /* its output file */
	char *buf;      /* everything it wrote so far, NUL-terminated */
	size_t len, cap;
	size_t parsed;  /* buf[0..parsed) went through peer_lines() */
	int status;     /* exit status after peer_stop() */
};

static void peer_start(struct peer *p, int idx, const char *args)
{
	const char *fifo = tmp_path(zi_fmt("in%d.fifo", idx));
	const char *out = tmp_path(zi_fmt("out%d.txt", idx));
	const char *cmd;
	char *argv[4];

	*p = (struct peer){ .h = -1, .in = -1, .out = -1, .status = -1 };
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo %s: %s", fifo, strerror(errno));
	p->in = open(fifo, O_RDWR | O_CLOEXEC);
	cr_assert_geq(p->in, 0, "open %s: %s", fifo, strerror(errno));
	p->out = open(out, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(p->out, 0, "open %s: %s", out, strerror(errno));
	/* in the background with a trap, so that zi_prog_stop()'s SIGTERM
	 * reaches openssl too */
	cmd = zi_fmt("timeout 120 openssl %s 0<>%s >%s 2>&1 & p=$!; trap 'kill $p' TERM; "
		     "wait $p; echo EXIT=$?", args, fifo, out);
	fprintf(stderr, "[%s] $ %s\n", zi_ns_name(), cmd);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	p->h = zi_prog_start(argv);
}

/* Read what the peer wrote since the last call. */
static void peer_read(struct peer *p)
{
	for (;;) {
		ssize_t n;

		if (p->cap - p->len < 8192) {
			p->cap = p->cap * 2 + 65536;
			p->buf = realloc(p->buf, p->cap);
			cr_assert_not_null(p->buf);
		}
		n = read(p->out, p->buf + p->len, p->cap - p->len - 1);
		if (n <= 0)
			break;
		p->len += (size_t)n;
	}
	if (p->buf != NULL)
		p->buf[p->len] = '\0';
}

static bool peer_has(struct peer *p, const char *s)
{
	peer_read(p);
	return p->buf != NULL && strstr(p->buf, s) != NULL;
}

/* Wait up to ms for s in the peer's output. */
static bool peer_wait(struct peer *p, const char *s, int ms)
{
	int64_t end = zt_now_ms() + ms;

	while (!peer_has(p, s)) {
		if (zt_now_ms() >= end)
			return false;
		zt_sleep_ms(5);
	}
	return true;
}

/* Whether the peer has exited, waiting up to ms. */
static bool peer_exited(struct peer *p, int ms)
{
	/* (0 ms would not even read the pipe) */
	return zi_prog_wait_line(p->h, "EXIT=", ms > 0 ? ms : 1);
}

/* Stop the peer (if still running), keep its exit status (-1: killed or
 * never ended) and its whole output in p->buf. */
static void peer_stop(struct peer *p)
{
	char *o, *e;

	if (p->h < 0)
		return;
	o = zi_prog_stop(p->h, NULL);
	e = strstr(o, "EXIT=");
	p->status = e != NULL ? atoi(e + 5) : -1;
	free(o);
	p->h = -1;
	peer_read(p);
	close(p->in);
	close(p->out);
	p->in = p->out = -1;
}

static void peer_free(struct peer *p)
{
	peer_stop(p);
	free(p->buf);
	p->buf = NULL;
}

/* Bytes in the FIFO that the peer has not read yet */
static int fifo_unread(struct peer *p)
{
	int n = 0;

	cr_assert_eq(ioctl(p->in, FIONREAD, &n), 0, "FIONREAD: %s", strerror(errno));
	return n;
}

/* Give the peer one line once it has read everything before (up to 5 s). */
static void peer_line(struct peer *p, const char *line)
{
	int64_t end = zt_now_ms() + 5000;
	size_t len = strlen(line);

	while (fifo_unread(p) != 0) {
		cr_assert_lt(zt_now_ms(), end, "openssl does not read its stdin");
		zt_sleep_ms(2);
	}
	cr_assert_eq(write(p->in, line, len), (ssize_t)len);
}

/*
 * For a failure message: the peer stopped, and its output without the
 * datagram lines, at most 3 KiB of its end (Criterion hangs on very long
 * messages). A static buffer.
 */
static const char *peer_said(struct peer *p)
{
	static char said[3072];
	size_t n = 0, skipped = 0;
	const char *l;

	peer_stop(p);
	said[0] = '\0';
	for (l = p->buf; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t len = nl != NULL ? (size_t)(nl - l) + 1 : strlen(l);

		if (memmem(l, len, "@z", 2) != NULL || memmem(l, len, "@o", 2) != NULL) {
			skipped++;
		} else {
			if (n + len >= sizeof(said) - 64)
				n = 0;  /* keep the end */
			memcpy(said + n, l, len);
			n += len;
			said[n] = '\0';
		}
		l = nl != NULL ? nl + 1 : NULL;
	}
	snprintf(said + n, sizeof(said) - n, "(%zu data lines left out)\n", skipped);
	return said;
}

/* The first line of p's output that contains s (a copy, "" if none). */
static const char *peer_line_with(struct peer *p, const char *s)
{
	const char *a, *b, *e;

	peer_read(p);
	a = p->buf != NULL ? strstr(p->buf, s) : NULL;
	if (a == NULL)
		return "";
	for (b = a; b > p->buf && b[-1] != '\n'; b--)
		;
	e = strchr(a, '\n');
	return zi_fmt("%.*s", (int)(e != NULL ? e - b : (ptrdiff_t)strlen(b)), b);
}

static const char *psk_args(const char *hex, const char *id)
{
	return zi_fmt("-psk %s -psk_identity %s", hex, id);
}

/* s_server for suite (its usual credentials, or args instead of them when
 * auth is not NULL); one connection (-naccept 1). Waits for "ACCEPT". */
static void s_server(struct peer *p, const struct suite *s, const char *auth)
{
	if (auth == NULL)
		auth = s->auth == AUTH_PSK ?
			zi_fmt("%s -nocert", psk_args(PSK_HEX, PSK_ID)) :
			zi_fmt("-cert %s -key %s -cert_chain %s", zt_certs_path("ec_leaf.pem"),
			       zt_certs_path("ec_leaf.key"), zt_certs_path("ec_int.pem"));
	peer_start(p, 0, zi_fmt("s_server -dtls1_2 -nbio -naccept 1 -accept %s -cipher %s %s",
				ossl_addr(linux_ip()), s->ossl, auth));
	cr_assert(peer_wait(p, "ACCEPT", 15000), "s_server did not start:\n%s",
		  p->buf != NULL ? p->buf : "");
}

/* s_client number idx for suite (its usual credentials, or auth). */
static void s_client(struct peer *p, int idx, const struct suite *s, const char *auth)
{
	if (auth == NULL)
		auth = s->auth == AUTH_PSK ?
			psk_args(PSK_HEX, PSK_ID) :
			zi_fmt("-CAfile %s -verify_return_error -verify_hostname " SERVER_NAME
			       " -servername " SERVER_NAME, zt_certs_path("ec_ca.pem"));
	peer_start(p, idx, zi_fmt("s_client -dtls1_2 -nbio -connect %s -cipher %s %s",
				  ossl_addr(engine_ip()), s->ossl, auth));
}

/* ---- datagrams ------------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Datagram seq of direction dir, len bytes (>= DG_MIN), into buf. */
static void dg_fill(char dir, uint32_t seq, size_t len, char *buf)
{
	uint64_t st = mix(((uint64_t)(unsigned char)dir << 32) | seq) | 1;
	char head[16];

	snprintf(head, sizeof(head), "@%c%06u", dir, (unsigned)seq);
	memcpy(buf, head, 8);
	for (size_t i = 8; i + 1 < len; i++)
		buf[i] = (char)('a' + zt_rand(&st) % 26);
	buf[len - 1] = '\n';
}

/* One direction of the exchange. */
struct flow {
	char dir;               /* 'z': zsock -> openssl, 'o': openssl -> zsock */
	uint32_t n;             /* datagrams planned */
	uint16_t *len;          /* their lengths */
	uint8_t *seen;          /* times each arrived intact */
	uint64_t bytes;
	/* sender */
	uint32_t next;
	int64_t wait_since;     /* pacing: when the window closed (-1: open) */
	unsigned stalls;        /* times the sender went on with the window closed */
	uint64_t sum_sent;      /* sum of the CRC-32 of every datagram sent */
	/* receiver */
	uint32_t delivered, dups, damaged, reordered;
	int64_t max_seen;       /* highest seq delivered, -1 */
	uint64_t sum_recv;      /* sum of the CRC-32 of every datagram received */
	char bad[96];           /* the start of the first damaged one */
};

static void flow_plan(struct flow *f, char dir, uint32_t total, size_t max)
{
	uint32_t cap = total / DG_MIN + 2;

	memset(f, 0, sizeof(*f));
	f->dir = dir;
	f->max_seen = -1;
	f->wait_since = -1;
	f->len = calloc(cap, sizeof(*f->len));
	f->seen = calloc(cap, 1);
	cr_assert(f->len != NULL && f->seen != NULL);
	while (f->bytes < total) {
		uint32_t s = f->n;
		size_t l = DG_MIN + (size_t)(mix(((uint64_t)(unsigned char)dir << 40) ^ s) %
					     (max - DG_MIN + 1));

		if (s == 1)
			l = max;        /* the largest, early */
		f->len[f->n++] = (uint16_t)l;
		f->bytes += l;
	}
}

static void flow_free(struct flow *f)
{
	free(f->len);
	free(f->seen);
	f->len = NULL;
	f->seen = NULL;
}

/* A datagram (or an output line) that arrived: intact, duplicate, damaged. */
static void flow_account(struct flow *f, const char *d, size_t n)
{
	char exp[4096];
	unsigned long seq = 0;

	f->sum_recv += zt_crc32(0, d, n);
	if (n >= DG_MIN && d[0] == '@' && d[1] == f->dir && d[n - 1] == '\n') {
		char digits[8];

		memcpy(digits, d + 2, 6);
		digits[6] = '\0';
		seq = strtoul(digits, NULL, 10);
		if (seq < f->n && n == f->len[seq]) {
			dg_fill(f->dir, (uint32_t)seq, n, exp);
			if (memcmp(exp, d, n) == 0) {
				if (f->seen[seq]++ != 0) {
					f->dups++;
					return;
				}
				f->delivered++;
				if ((int64_t)seq < f->max_seen)
					f->reordered++;
				else
					f->max_seen = (int64_t)seq;
				return;
			}
		}
	}
	if (f->damaged++ == 0)
		snprintf(f->bad, sizeof(f->bad), "%zu bytes \"%.*s\"", n, (int)(n < 48 ? n : 48), d);
}

/* Whether the sender may send its next datagram: the window is open, or
 * it has been closed for cap_ms (the sender then goes on: a loss). */
static bool flow_pace(struct flow *f, int64_t now, int cap_ms)
{
	if ((int64_t)f->next <= f->max_seen + WINDOW) {
		f->wait_since = -1;
		return true;
	}
	if (f->wait_since < 0)
		f->wait_since = now;
	if (now - f->wait_since < cap_ms)
		return false;
	f->stalls++;
	f->wait_since = -1;
	return true;
}

/* The peer's output lines since last time, as datagrams of f. */
static void peer_lines(struct peer *p, struct flow *f)
{
	peer_read(p);
	while (p->buf != NULL && p->parsed < p->len) {
		char *l = p->buf + p->parsed, *nl = strchr(l, '\n'), *at;
		char mark[3] = { '@', f->dir, '\0' };

		if (nl == NULL)
			break;  /* not complete yet */
		*nl = '\0';
		at = strstr(l, mark);
		*nl = '\n';
		if (at != NULL)
			flow_account(f, at, (size_t)(nl - at) + 1);
		p->parsed = (size_t)(nl - p->buf) + 1;
	}
}

/* ---- the exchange -------------------------------------------------------------------- */

struct xfer {
	int fd;
	bool server;            /* zsock is the server: its handshake runs in poll/recv */
	bool lossy;
	const struct suite *s;
	struct peer *p;
	struct flow z2o, o2z;
	/* handshake (server role) */
	bool hs_done;
	int used;
	int64_t t_quiet, t_hs;  /* us: last look with no frame in yet, suite readable */
	uint64_t frames0;
	/* errors met on the zsock side */
	int err;
	char err_what[64];
	bool from_bad;
	char from_txt[96];
	int64_t ms;
};

static void x_error(struct xfer *x, const char *what, int err)
{
	if (x->err == 0) {
		x->err = err;
		snprintf(x->err_what, sizeof(x->err_what), "%s", what);
	}
}

/* Server role: the handshake's progress (first frame in, suite readable) */
static void x_handshake(struct xfer *x)
{
	struct zsock_engine_stats st;
	int v, e;

	zt_stats(&st);
	if (st.netif_rx_frames == x->frames0)
		x->t_quiet = now_us();
	e = get_int(x->fd, TLS_CIPHERSUITE_USED, &v);
	if (e == 0) {
		x->hs_done = true;
		x->used = v;
		x->t_hs = now_us();
	} else if (e != ENOTCONN) {
		x_error(x, "TLS_CIPHERSUITE_USED before the handshake", e);
	}
}

static void x_receive(struct xfer *x)
{
	char buf[4096];

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = zsock_recvfrom(x->fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT,
					   (struct sockaddr *)&from, &fl);

		if (n > 0) {
			char a[INET6_ADDRSTRLEN] = "?";

			if (from.ss_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, a, sizeof(a));
			else if (from.ss_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, a,
					  sizeof(a));
			if (!x->from_bad && (from.ss_family != family || strcmp(a, linux_ip()) != 0)) {
				x->from_bad = true;
				snprintf(x->from_txt, sizeof(x->from_txt), "family %d address %s",
					 from.ss_family, a);
			}
			flow_account(&x->o2z, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			x_error(x, "recv gave 0 (end) during the exchange", -1);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			x_error(x, "recv", errno);
		}
		return;
	}
}

/*
 * Both directions at once until every datagram is sent and either all
 * have arrived, or (lossy) nothing more arrived for 2 s, or (clean)
 * nothing for 5 s, or deadline_ms passed. No assertion on the outcome:
 * x_check() does that.
 */
static void x_run(struct xfer *x, int deadline_ms)
{
	int64_t t0 = zt_now_ms(), last = t0, look = t0 + 250;
	uint32_t got = 0;
	int cap = x->lossy ? 100 : 3000;
	static char buf[4096];

	for (;;) {
		int64_t now = zt_now_ms();
		struct zsock_pollfd pfd = { .fd = x->fd, .events = ZSOCK_POLLIN };
		bool busy = false;
		int rc;

		if (x->server && !x->hs_done)
			x_handshake(x);
		/* zsock -> openssl */
		if (x->hs_done && x->z2o.next < x->z2o.n && flow_pace(&x->z2o, now, cap)) {
			size_t len = x->z2o.len[x->z2o.next];
			ssize_t n;

			dg_fill('z', x->z2o.next, len, buf);
			n = zsock_send(x->fd, buf, len, 0);
			if (n == (ssize_t)len) {
				x->z2o.sum_sent += zt_crc32(0, buf, len);
				x->z2o.next++;
				busy = true;
			} else if (n >= 0) {
				x_error(x, "send: short", (int)n);
			} else if (errno != EAGAIN) {
				x_error(x, "send", errno);
			}
		}
		/* openssl -> zsock: a line when it has read the last one */
		if (x->o2z.next < x->o2z.n && fifo_unread(x->p) == 0 &&
		    flow_pace(&x->o2z, now, cap)) {
			size_t len = x->o2z.len[x->o2z.next];

			dg_fill('o', x->o2z.next, len, buf);
			cr_assert_eq(write(x->p->in, buf, len), (ssize_t)len);
			x->o2z.sum_sent += zt_crc32(0, buf, len);
			x->o2z.next++;
			busy = true;
		}
		rc = zsock_poll(&pfd, 1, busy ? 0 : x->hs_done ? 2 : 1);
		if (rc < 0)
			x_error(x, "poll", errno);
		else if (rc > 0 && (pfd.revents & ZSOCK_POLLIN))
			x_receive(x);
		else if (rc > 0 && (pfd.revents & (ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLNVAL)))
			x_error(x, "poll revents", pfd.revents);
		peer_lines(x->p, &x->z2o);
		now = zt_now_ms();
		if (now >= look) {
			look = now + 250;
			if (peer_exited(x->p, 1))
				x_error(x, "openssl ended during the exchange", -1);
		}
		if (x->err != 0)
			break;

		if (x->z2o.delivered + x->o2z.delivered != got) {
			got = x->z2o.delivered + x->o2z.delivered;
			last = now;
		}
		if (x->z2o.next == x->z2o.n && x->o2z.next == x->o2z.n) {
			if (x->z2o.delivered == x->z2o.n && x->o2z.delivered == x->o2z.n)
				break;
			if (now - last > (x->lossy ? 2000 : 5000))
				break;
		}
		if (!x->hs_done && now - t0 > deadline_ms)
			break;
		if (now - t0 > deadline_ms)
			break;
	}
	x->ms = zt_now_ms() - t0;
}

static const char *flow_txt(const struct flow *f)
{
	return zi_fmt("%u of %u delivered (%llu bytes), lost %u, dup %u, reordered %u, damaged %u, "
		      "stalls %u",
		      f->delivered, f->n, (unsigned long long)f->bytes, f->n - f->delivered, f->dups,
		      f->reordered, f->damaged, f->stalls);
}

/* What an exchange must have done: no error, nothing damaged or doubled;
 * everything (clean) or at least LOSSY_FLOOR % (lossy) delivered, and the
 * sums equal when everything arrived. */
static void x_check(struct xfer *x)
{
	const struct flow *f[2] = { &x->z2o, &x->o2z };

	cr_assert_eq(x->err, 0, "%s: errno %d (%s); openssl said:\n%s", x->err_what, x->err,
		     x->err > 0 ? strerror(x->err) : "-", peer_said(x->p));
	cr_assert(!x->from_bad, "recvfrom gave the sender as %s, want %s", x->from_txt, linux_ip());
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "zsock -> openssl" : "openssl -> zsock";

		cr_assert_eq(f[i]->damaged, 0, "%s: %u datagrams damaged, the first %s", name,
			     f[i]->damaged, f[i]->bad);
		cr_assert_eq(f[i]->dups, 0, "%s: %u delivered twice", name, f[i]->dups);
		cr_assert_eq(f[i]->next, f[i]->n, "%s: only %u of %u sent in %lld ms", name,
			     f[i]->next, f[i]->n, (long long)x->ms);
		if (!x->lossy) {
			cr_assert_eq(f[i]->delivered, f[i]->n, "%s: %s", name, flow_txt(f[i]));
			cr_assert_eq(f[i]->sum_recv, f[i]->sum_sent, "%s: checksum over all differs",
				     name);
		} else {
			cr_assert_geq(f[i]->delivered * 100, f[i]->n * LOSSY_FLOOR,
				      "%s: below the %d %% floor: %s", name, LOSSY_FLOOR,
				      flow_txt(f[i]));
		}
	}
}

/* ---- the impaired wire ----------------------------------------------------------------- */

struct wire_dir {
	unsigned long packets, dropped, corrupted, duplicated, reordered, timeouts;
};

struct wire {
	int h;
	struct wire_dir out, in;   /* Linux -> zsock, zsock -> Linux */
};

/* nfq_impair on every UDP packet of zt0 both ways: 20 % loss, 25 %
 * reordering, 5 % duplication. Duplicates carry the tool's mark, which
 * keeps them out of the queue. */
static void wire_start(struct wire *w, int seed)
{
	const char *tool = getenv("ZSOCK_NFQ_IMPAIR");
	char *argv[8];
	char s[16];

	cr_assert_not_null(tool, "ds_up(..., true) checks it");
	zi_sh_ok("iptables -A INPUT -i " ZI_TAP " -p udp -j NFQUEUE --queue-num " QUEUE
		 " --queue-bypass");
	zi_sh_ok("iptables -A OUTPUT -o " ZI_TAP " -p udp -m mark ! --mark 0x2a17 -j NFQUEUE "
		 "--queue-num " QUEUE " --queue-bypass");
	snprintf(s, sizeof(s), "-s%d", seed);
	argv[0] = (char *)tool;
	argv[1] = "-q" QUEUE;
	argv[2] = "-l20";
	argv[3] = "-r25";
	argv[4] = "-u5";
	argv[5] = s;
	argv[6] = NULL;
	w->h = zi_prog_start(argv);
	cr_assert(zi_prog_wait_line(w->h, "ready", 5000), "nfq_impair did not bind queue " QUEUE);
}

static void wire_parse(const char *out, const char *key, struct wire_dir *d)
{
	const char *l = strstr(out, key);

	if (l != NULL)
		sscanf(l + strlen(key), " packets=%lu dropped=%lu corrupted=%lu duplicated=%lu "
		       "reordered=%lu timeouts=%lu", &d->packets, &d->dropped, &d->corrupted,
		       &d->duplicated, &d->reordered, &d->timeouts);
}

static void wire_stop(struct wire *w)
{
	int st;
	char *out = zi_prog_stop(w->h, &st);

	memset(&w->out, 0, sizeof(w->out));
	memset(&w->in, 0, sizeof(w->in));
	wire_parse(out, "dir=out", &w->out);
	wire_parse(out, "dir=in", &w->in);
	fprintf(stderr, "nfq_impair (status %d):\n%s", st, out);
	cr_assert(st == 0 && strstr(out, "dir=in") != NULL,
		  "nfq_impair failed (status %d): its figures are missing", st);
	free(out);
}

/* ---- the cells -------------------------------------------------------------------------- */

static const char *role_name(bool server)
{
	return server ? "zsock server / s_client" : "zsock client / s_server";
}

/* After the exchange: one more datagram of exactly Z_MAX bytes arrives
 * whole, one of Z_MAX + 1 gives EMSGSIZE. */
static void check_max_send(struct xfer *x)
{
	static char buf[Z_MAX + 2];
	int64_t end = zt_now_ms() + 5000;
	uint32_t seq = x->z2o.n;

	dg_fill('z', seq, Z_MAX, buf);
	/* the plan has room: its arrays hold total / DG_MIN + 2 entries */
	x->z2o.len[seq] = Z_MAX;
	x->z2o.n++;
	cr_assert_eq(zsock_send(x->fd, buf, Z_MAX, 0), (ssize_t)Z_MAX,
		     "send of %d bytes (the contract's largest): errno %d (%s)", Z_MAX, errno,
		     strerror(errno));
	while (x->z2o.seen[seq] == 0 && zt_now_ms() < end) {
		peer_lines(x->p, &x->z2o);
		zt_sleep_ms(5);
	}
	cr_assert_eq(x->z2o.seen[seq], 1, "the %d-byte datagram did not reach openssl (damaged %u)",
		     Z_MAX, x->z2o.damaged);
	dg_fill('z', seq + 1, Z_MAX + 1, buf);
	cr_assert_eq(zsock_send(x->fd, buf, Z_MAX + 1, 0), -1, "send of %d bytes accepted",
		     Z_MAX + 1);
	cr_assert_eq(errno, EMSGSIZE, "send of %d bytes: errno %d, want EMSGSIZE", Z_MAX + 1,
		     errno);
}

/*
 * One cell: zsock in role server or client, suite forced on both sides,
 * clean (1 MiB each way) or lossy (64 KiB each way through nfq_impair).
 */
static void cell(const struct suite *s, bool server, bool lossy)
{
	struct peer p;
	struct wire w = { .h = -1 };
	struct xfer x;
	int64_t hs_us;
	char wire_txt[256] = "";
	int fd, v;

	ds_up(s->auth == AUTH_ECDSA, lossy);
	if (s->auth == AUTH_PSK) {
		add_psk();
	} else if (server) {
		zt_certs_add(TAG_ME, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
		zt_certs_add(TAG_ME, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
	} else {
		zt_certs_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	}
	if (lossy)
		wire_start(&w, s->iana + (server ? 1 : 0));
	fd = z_socket(s, server, SERVER_NAME);
	if (lossy)
		set_timers(fd, 100, 30000);
	else
		set_timers(fd, 1000, 20000);
	cr_assert_eq(get_int(fd, TLS_CIPHERSUITE_USED, &v), ENOTCONN,
		     "TLS_CIPHERSUITE_USED before any handshake: want ENOTCONN");

	memset(&x, 0, sizeof(x));
	x.fd = fd;
	x.server = server;
	x.lossy = lossy;
	x.s = s;
	x.p = &p;
	flow_plan(&x.z2o, 'z', lossy ? XFER_LOSSY : XFER_CLEAN, lossy ? LOSSY_MAX : Z_MAX);
	flow_plan(&x.o2z, 'o', lossy ? XFER_LOSSY : XFER_CLEAN, lossy ? LOSSY_MAX : O_MAX);

	if (!server) {
		int err;

		s_server(&p, s, NULL);
		/* lossy: the non-blocking path, under retransmission */
		err = lossy ? z_connect_nb(fd, 90000, &hs_us) : z_connect(fd, &hs_us);
		cr_assert_eq(err, 0, "connect (%s): errno %d (%s); s_server said:\n%s", s->ossl, err,
			     strerror(err), peer_said(&p));
		cr_assert_eq(get_int(fd, TLS_CIPHERSUITE_USED, &x.used), 0,
			     "TLS_CIPHERSUITE_USED after connect: errno %d", errno);
		x.hs_done = true;
	} else {
		struct zsock_engine_stats st;

		zt_stats(&st);
		x.frames0 = st.netif_rx_frames;
		x.t_quiet = now_us();
		s_client(&p, 1, s, NULL);
	}
	x_run(&x, lossy ? 90000 : 60000);
	cr_assert(x.hs_done, "no handshake (%s) in %lld ms; zsock error %d (%s); openssl said:\n%s",
		  s->ossl, (long long)x.ms, x.err, x.err_what, peer_said(&p));
	if (server)
		hs_us = x.t_hs - x.t_quiet;
	cr_assert_eq(x.used, s->iana, "TLS_CIPHERSUITE_USED %#x, want %#x", x.used, s->iana);
	x_check(&x);
	if (!lossy)
		check_max_send(&x);

	/* the end of the association, on a clean wire: a close_notify is one
	 * datagram, which a lossy wire may drop */
	if (lossy) {
		wire_stop(&w);
		cr_assert_gt(w.in.packets, x.z2o.n / 2, "nfq_impair saw only %lu packets from zsock",
			     w.in.packets);
		cr_assert_gt(w.out.packets, x.o2z.n / 2, "nfq_impair saw only %lu packets to zsock",
			     w.out.packets);
		cr_assert_gt(w.in.dropped + w.out.dropped, 0, "nfq_impair dropped nothing");
		snprintf(wire_txt, sizeof(wire_txt), "; wire to zsock: %lu packets, %lu dropped, "
			 "%lu duplicated, %lu reordered; from zsock: %lu, %lu, %lu, %lu",
			 w.out.packets, w.out.dropped, w.out.duplicated, w.out.reordered,
			 w.in.packets, w.in.dropped, w.in.duplicated, w.in.reordered);
	}
	if (!server) {
		zt_close(fd);
		cr_assert(peer_exited(&p, 10000), "s_server did not end after our close");
		peer_stop(&p);
		cr_assert_eq(p.status, 0, "s_server status %d:\n%s", p.status, peer_said(&p));
		cr_assert_not_null(strstr(p.buf, "CONNECTION CLOSED"),
				   "s_server did not see our close_notify:\n%s", peer_said(&p));
	} else {
		int64_t end = zt_now_ms() + 10000;

		peer_line(&p, "Q\n");
		/* the close_notify is read by our poll/recv, which keep going */
		while (!peer_exited(&p, 0) && zt_now_ms() < end) {
			struct zsock_pollfd pfd = { .fd = fd, .events = ZSOCK_POLLIN };

			zsock_poll(&pfd, 1, 20);
			if (pfd.revents & ZSOCK_POLLIN)
				x_receive(&x);
		}
		cr_assert(peer_exited(&p, 0), "s_client did not end on Q; it said:\n%s",
			  peer_said(&p));
		for (int i = 0; i < 10; i++) {
			struct zsock_pollfd pfd = { .fd = fd, .events = ZSOCK_POLLIN };

			zsock_poll(&pfd, 1, 20);
			if (pfd.revents & ZSOCK_POLLIN)
				x_receive(&x);
		}
		cr_assert_eq(x.err, 0, "after s_client's close_notify: %s: errno %d", x.err_what,
			     x.err);
		peer_stop(&p);
		cr_assert_eq(p.status, 0, "s_client status %d:\n%s", p.status, peer_said(&p));
		cr_assert_eq(zsock_send(fd, "x\n", 2, 0), -1,
			     "send after the client's close_notify went somewhere");
		cr_assert_eq(errno, ENOTCONN, "send with no client: errno %d, want ENOTCONN", errno);
		zt_close(fd);
	}
	fprintf(stderr, "dtls_sock: %s%s %s %s: handshake %.1f ms; exchange %lld ms; "
		"zsock -> openssl: %s; openssl -> zsock: %s%s\n",
		lossy ? "lossy" : "clean", family == AF_INET6 ? " IPv6" : "", role_name(server),
		s->ossl, (double)hs_us / 1000, (long long)x.ms, flow_txt(&x.z2o), flow_txt(&x.o2z),
		wire_txt);
	flow_free(&x.z2o);
	flow_free(&x.o2z);
	peer_free(&p);
	dtls_none_left();
}

DS_TEST(client_psk_ccm8, .timeout = 90)
{
	cell(&S_PSK_CCM8, false, false);
}
DS_TEST(client_psk_gcm, .timeout = 90)
{
	cell(&S_PSK_GCM, false, false);
}
DS_TEST(client_ecdsa_ccm8, .timeout = 90)
{
	cell(&S_EC_CCM8, false, false);
}
DS_TEST(client_ecdsa_gcm, .timeout = 90)
{
	cell(&S_EC_GCM, false, false);
}
DS_TEST(server_psk_ccm8, .timeout = 90)
{
	cell(&S_PSK_CCM8, true, false);
}
DS_TEST(server_psk_gcm, .timeout = 90)
{
	cell(&S_PSK_GCM, true, false);
}
DS_TEST(server_ecdsa_ccm8, .timeout = 90)
{
	cell(&S_EC_CCM8, true, false);
}
DS_TEST(server_ecdsa_gcm, .timeout = 90)
{
	cell(&S_EC_GCM, true, false);
}

/* the same over IPv6, one suite per role */
DS_TEST(client_psk_gcm_v6, .timeout = 90)
{
	family = AF_INET6;
	cell(&S_PSK_GCM, false, false);
}

DS_TEST(server_ecdsa_ccm8_v6, .timeout = 90)
{
	family = AF_INET6;
	cell(&S_EC_CCM8, true, false);
}

DS_TEST(lossy_client_psk_ccm8, .timeout = 150)
{
	cell(&S_PSK_CCM8, false, true);
}
DS_TEST(lossy_client_psk_gcm, .timeout = 150)
{
	cell(&S_PSK_GCM, false, true);
}
DS_TEST(lossy_client_ecdsa_ccm8, .timeout = 150)
{
	cell(&S_EC_CCM8, false, true);
}
DS_TEST(lossy_client_ecdsa_gcm, .timeout = 150)
{
	cell(&S_EC_GCM, false, true);
}
DS_TEST(lossy_server_psk_ccm8, .timeout = 150)
{
	cell(&S_PSK_CCM8, true, true);
}
DS_TEST(lossy_server_psk_gcm, .timeout = 150)
{
	cell(&S_PSK_GCM, true, true);
}
DS_TEST(lossy_server_ecdsa_ccm8, .timeout = 150)
{
	cell(&S_EC_CCM8, true, true);
}
DS_TEST(lossy_server_ecdsa_gcm, .timeout = 150)
{
	cell(&S_EC_GCM, true, true);
}

/* ---- one record per recv ---------------------------------------------------------------- */

/* Wait up to ms for POLLIN on fd; returns revents. */
static short wait_in(int fd, int ms)
{
	struct zsock_pollfd p = { .fd = fd, .events = ZSOCK_POLLIN };

	cr_assert_geq(zsock_poll(&p, 1, ms), 0, "poll: errno %d", errno);
	return p.revents;
}

/*
 * s_server's records as the zsock client receives them: no POLLIN before
 * one is there; FIONREAD gives its size; MSG_PEEK | MSG_TRUNC its real
 * length and leaves it; recvmsg into a short buffer takes the start, sets
 * MSG_TRUNC and drops the rest; recv with MSG_TRUNC gives the real
 * length; the next recv has the next record, whole.
 */
DS_TEST(client_recv_semantics, .timeout = 60)
{
	char line[4][512], buf[1024];
	static const size_t lens[4] = { 300, 200, 100, 50 };
	struct iovec iov = { .iov_base = buf, .iov_len = 16 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct peer p;
	int64_t us;
	int fd, err, n;

	ds_up(false, false);
	add_psk();
	s_server(&p, &S_PSK_CCM8, NULL);
	fd = z_socket(&S_PSK_CCM8, false, NULL);
	err = z_connect(fd, &us);
	cr_assert_eq(err, 0, "connect: errno %d (%s)", err, strerror(err));
	for (int i = 0; i < 4; i++)
		dg_fill('o', (uint32_t)i, lens[i], line[i]);
	cr_assert_eq(wait_in(fd, 100) & ZSOCK_POLLIN, 0, "POLLIN with no record there");

	peer_line(&p, zi_fmt("%.*s", (int)lens[0], line[0]));
	cr_assert(wait_in(fd, 5000) & ZSOCK_POLLIN, "no POLLIN for s_server's record");
	cr_assert_eq(zsock_ioctl(fd, FIONREAD, &n), 0);
	cr_assert_eq(n, (int)lens[0], "FIONREAD %d, want %zu", n, lens[0]);
	cr_assert_eq(zsock_recv(fd, buf, 8, ZSOCK_MSG_PEEK | ZSOCK_MSG_TRUNC), (ssize_t)lens[0],
		     "MSG_PEEK | MSG_TRUNC into 8 bytes: errno %d", errno);
	cr_assert_arr_eq(buf, line[0], 8);
	cr_assert_eq(zsock_recvmsg(fd, &m, 0), 16, "recvmsg: errno %d", errno);
	cr_assert(m.msg_flags & MSG_TRUNC, "recvmsg into 16 bytes: msg_flags %#x, no MSG_TRUNC",
		  m.msg_flags);
	cr_assert_arr_eq(buf, line[0], 16);
	cr_assert_eq(wait_in(fd, 50) & ZSOCK_POLLIN, 0, "POLLIN after the record was read");

	peer_line(&p, zi_fmt("%.*s", (int)lens[1], line[1]));
	cr_assert(wait_in(fd, 5000) & ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(fd, buf, sizeof(buf), 0), (ssize_t)lens[1]);
	cr_assert_arr_eq(buf, line[1], lens[1]);

	peer_line(&p, zi_fmt("%.*s", (int)lens[2], line[2]));
	cr_assert(wait_in(fd, 5000) & ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(fd, buf, 10, ZSOCK_MSG_TRUNC), (ssize_t)lens[2],
		     "MSG_TRUNC into 10 bytes: errno %d", errno);
	cr_assert_arr_eq(buf, line[2], 10);
	peer_line(&p, zi_fmt("%.*s", (int)lens[3], line[3]));
	cr_assert_eq(zsock_recv(fd, buf, sizeof(buf), 0), (ssize_t)lens[3],
		     "the record after a truncated one");
	cr_assert_arr_eq(buf, line[3], lens[3]);

	zt_close(fd);
	cr_assert(peer_exited(&p, 10000), "s_server did not end after our close");
	peer_free(&p);
	dtls_none_left();
}

/* ---- failures ------------------------------------------------------------------------------ */

/* A zsock client's handshake that must fail with one of want[0..n): the
 * errno (blocking connect, or non-blocking and SO_ERROR), then
 * TLS_CIPHERSUITE_USED still ENOTCONN. Returns the errno. */
static int client_fails(int fd, bool nb, const int *want, int n, struct peer *p, int64_t *us)
{
	int err = nb ? z_connect_nb(fd, 30000, us) : z_connect(fd, us);
	bool ok = false;
	int v;

	for (int i = 0; i < n; i++)
		ok |= err == want[i];
	cr_assert(ok, "failed handshake: errno %d (%s), want %s; s_server said:\n%s", err,
		  strerror(err), n == 1 ? strerror(want[0]) : "ETIMEDOUT or ECONNRESET",
		  peer_said(p));
	cr_assert_eq(get_int(fd, TLS_CIPHERSUITE_USED, &v), ENOTCONN,
		     "TLS_CIPHERSUITE_USED after a failed handshake: want ENOTCONN");
	return err;
}

/*
 * s_server with another key: OpenSSL drops our Finished, which it cannot
 * authenticate, and says nothing (RFC 6347 s4.1.2.7), so the zsock client
 * ends on its retransmission timer (200 ms doubling up to 1.6 s):
 * ETIMEDOUT (ECONNRESET if OpenSSL ever sends an alert).
 */
DS_TEST(fail_client_wrong_psk, .timeout = 60)
{
	static const int want[] = { ETIMEDOUT, ECONNRESET };
	struct peer p;
	int64_t us;
	int fd, err;

	ds_up(false, false);
	add_psk();
	s_server(&p, &S_PSK_CCM8, zi_fmt("%s -nocert", psk_args(PSK_BAD_HEX, PSK_ID)));
	fd = z_socket(&S_PSK_CCM8, false, NULL);
	set_timers(fd, 200, 1600);
	err = client_fails(fd, false, want, 2, &p, &us);
	cr_assert_lt(us, 15000000, "the failure took %lld us", (long long)us);
	zt_close(fd);
	peer_free(&p);
	fprintf(stderr, "dtls_sock: fail_client_wrong_psk: errno %d (%s) after %lld ms\n", err,
		strerror(err), (long long)(us / 1000));
	dtls_none_left();
}

/* A fatal alert s_server / s_client -msg printed as received (DTLS:
 * "<<< ... content_type=21 [length 0002]", then "    02 2a"): its
 * description, or -1. */
static int fatal_alert_received(struct peer *p)
{
	const char *s = p->buf;

	while (s != NULL && (s = strstr(s, "<<< ")) != NULL) {
		const char *nl = strchr(s, '\n');
		unsigned level, desc;

		if (nl == NULL)
			return -1;
		if (memmem(s, (size_t)(nl - s), "content_type=21", 15) != NULL &&
		    sscanf(nl + 1, " %x %x", &level, &desc) == 2 && level == 2)
			return (int)desc;
		s = nl;
	}
	return -1;
}

/* A client's certificate problem: s_server presents the chain of leaf
 * (a zt_certs name; NULL: the good chain), the zsock client checks name
 * host. ECONNABORTED, and s_server receives a fatal alert. */
static void client_bad_cert(const char *leaf, const char *host, bool nb)
{
	const char *server_args;

	static const int want[] = { ECONNABORTED };
	struct peer p;
	int64_t us;
	int fd, alert;

	ds_up(true, false);
	zt_certs_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	if (leaf == NULL)
		server_args = zi_fmt("-cert %s -key %s -cert_chain %s", zt_certs_path("ec_leaf.pem"),
				     zt_certs_path("ec_leaf.key"), zt_certs_path("ec_int.pem"));
	else
		server_args = zi_fmt("-cert %s -key %s", zt_certs_path(zi_fmt("%s.pem", leaf)),
				     zt_certs_path(zi_fmt("%s.key", leaf)));
	s_server(&p, &S_EC_GCM, zi_fmt("-msg %s", server_args));
	fd = z_socket(&S_EC_GCM, false, host);
	set_timers(fd, 200, 3200);
	client_fails(fd, nb, want, 1, &p, &us);
	zt_close(fd);
	peer_exited(&p, 5000);
	peer_stop(&p);
	alert = fatal_alert_received(&p);
	fprintf(stderr, "dtls_sock: client, %s: ECONNABORTED after %.1f ms; s_server received "
		"fatal alert %d\n", leaf != NULL ? "self-signed server" : "wrong host name",
		(double)us / 1000, alert);
	cr_assert_geq(alert, 0, "s_server received no fatal alert:\n%s", peer_said(&p));
	peer_free(&p);
	dtls_none_left();
}

DS_TEST(fail_client_self_signed, .timeout = 60)
{
	client_bad_cert("ec_self", SERVER_NAME, false);
}

/* (non-blocking: POLLERR and SO_ERROR) */
DS_TEST(fail_client_wrong_host, .timeout = 60)
{
	client_bad_cert(NULL, "other.test", true);
}

/*
 * A zsock server and a client that fails: s_client with args fails (its
 * status not 0, its output has expect); meanwhile the server socket gives
 * nothing and no error (recv: EAGAIN), and keeps serving: a good s_client
 * (good_args) then exchanges a few datagrams with it.
 */
static void server_survives(const struct suite *s, const char *bad_args, const char *expect,
			    const char *good_args)
{
	struct peer p;
	struct xfer x;
	int fd, v;
	int64_t end;

	/* copies: zi_fmt()'s buffers rotate */
	bad_args = strdup(bad_args);
	good_args = good_args != NULL ? strdup(good_args) : NULL;
	fd = z_socket(s, true, NULL);
	set_timers(fd, 200, 3200);
	s_client(&p, 1, s, bad_args);
	end = zt_now_ms() + 20000;
	while (!peer_exited(&p, 0) && zt_now_ms() < end) {
		struct zsock_pollfd pfd = { .fd = fd, .events = ZSOCK_POLLIN };
		char buf[64];

		zsock_poll(&pfd, 1, 20);
		if (pfd.revents != 0) {
			ssize_t n = zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);

			cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
				  "the server's recv during a failing handshake: %zd, errno %d (%s) "
				  "(poll revents %#x)", n, errno, strerror(errno), pfd.revents);
		}
	}
	peer_stop(&p);
	cr_assert_neq(p.status, 0, "the bad s_client succeeded:\n%s", peer_said(&p));
	cr_assert_eq(get_int(fd, TLS_CIPHERSUITE_USED, &v), ENOTCONN,
		     "TLS_CIPHERSUITE_USED after a failed handshake: want ENOTCONN");
	fprintf(stderr, "dtls_sock: server vs failing s_client (%s): s_client status %d: %s\n",
		expect, p.status, peer_line_with(&p, expect));
	cr_assert(strstr(p.buf, expect) != NULL, "s_client did not say \"%s\":\n%s", expect,
		  peer_said(&p));
	peer_free(&p);

	/* the same socket serves the next client */
	memset(&x, 0, sizeof(x));
	x.fd = fd;
	x.server = true;
	x.s = s;
	x.p = &p;
	flow_plan(&x.z2o, 'z', 4096, 512);
	flow_plan(&x.o2z, 'o', 4096, 512);
	x.t_quiet = now_us();
	s_client(&p, 2, s, good_args);
	x_run(&x, 30000);
	cr_assert(x.hs_done, "no handshake with the good client after the bad one; openssl said:\n%s",
		  peer_said(&p));
	cr_assert_eq(x.used, s->iana);
	x_check(&x);
	peer_line(&p, "Q\n");
	peer_exited(&p, 5000);
	peer_free(&p);
	flow_free(&x.z2o);
	flow_free(&x.o2z);
	zt_close(fd);
	free((char *)bad_args);
	free((char *)good_args);
	dtls_none_left();
}

/* s_client with another key: our server cannot authenticate its Finished
 * and sends bad_record_mac. */
DS_TEST(fail_server_wrong_psk, .timeout = 60)
{
	ds_up(false, false);
	add_psk();
	server_survives(&S_PSK_CCM8, psk_args(PSK_BAD_HEX, PSK_ID), "bad record mac", NULL);
}

/* s_client with an identity the server does not have: unknown_psk_identity
 * (OpenSSL prints the alert's number, 115). (The other way round there is
 * nothing to test: s_server only warns about an identity that is not the
 * one it expects, and goes on with its key.) */
DS_TEST(fail_server_unknown_identity, .timeout = 60)
{
	ds_up(false, false);
	add_psk();
	server_survives(&S_PSK_GCM, psk_args(PSK_HEX, "nobody-known"), "alert", NULL);
}

/* Our server presents a self-signed certificate: s_client (checking
 * against the zt_certs root) refuses it; then one that trusts exactly
 * that certificate is served. */
DS_TEST(fail_server_untrusted_cert, .timeout = 60)
{
	ds_up(true, false);
	zt_certs_add(TAG_ME, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_self.der");
	zt_certs_add(TAG_ME, TLS_CREDENTIAL_PRIVATE_KEY, "ec_self.key.der");
	server_survives(&S_EC_CCM8,
			zi_fmt("-CAfile %s -verify_return_error -verify_hostname " SERVER_NAME,
			       zt_certs_path("ec_ca.pem")),
			"verify error",
			zi_fmt("-CAfile %s -verify_return_error -verify_hostname " SERVER_NAME,
			       zt_certs_path("ec_self.pem")));
}
