/*
 * TLS-PSK sockets against OpenSSL 3's CLI (issue 8: "PSK over TLS streams
 * too"). A TLS 1.2 socket whose sec tags hold a PSK and its identity runs
 * TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8) or _GCM_SHA256 (0x00A8) on the
 * project's DTLS/TLS-PSK core in stream mode (tls_sock.c gives the rule).
 * Each test runs in its own network namespace (netns.h); OpenSSL listens
 * at 192.0.2.1:4433 or connects to the engine at 192.0.2.2:4433.
 *
 *   client_*          zsock client -> s_server -tls1_2 -psk -nocert -rev,
 *                     its -cipher forcing the suite: the handshake time,
 *                     TLS_CIPHERSUITE_USED and s_server's summary, 1 MiB of
 *                     lines each way (s_server sends each back reversed:
 *                     every byte and the CRC-32 checked), the zsock close
 *                     reaching s_server as close_notify
 *   server_*          s_client -tls1_2 -psk (stdin 1 MiB from a file,
 *                     stdout to a file) -> zsock server, which answers
 *                     every piece with as many bytes of its own stream and
 *                     closes; s_client must exit 0 (close_notify came) with
 *                     every byte right (CRC-32 both ways)
 *   *_wrong_psk,      the handshake fails with ECONNABORTED on the zsock
 *   *_unknown_id      side, OpenSSL hears or sends the alert, and every
 *                     TLS socket and session comes back (s_server does not
 *                     refuse an identity it does not expect: it warns and
 *                     uses its key, so client_unknown_id pairs the unknown
 *                     identity with another key)
 *   client_alpn,      TLS_ALPN_LIST on the PSK path: the zsock client's
 *   server_alpn       list reaches s_server -alpn x, which picks x; the
 *                     zsock server picks for s_client -alpn y,x, or
 *                     refuses it (no_application_protocol)
 *   client_nonblocking  EINPROGRESS, poll until POLLOUT, data, close
 *   resumption_*      TLS_SESSION_CACHE: the zsock client's second session
 *                     resumes ("Reused session-id" from s_server), not after
 *                     TLS_SESSION_CACHE_PURGE; the zsock server resumes
 *                     s_client -reconnect's sessions
 *
 * Needs root (netns.h) and the openssl CLI; otherwise each test prints
 * "skipped: <reason>" (a failure under ZSOCK_TEST_REQUIRE_INTEROP=1).
 */
#define _GNU_SOURCE
#include "netns.h"
#include "ossl.h"
#include "zt.h"
#include "zt_tls.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#define TLS_PORT   4433
#define XFER_BYTES (1u << 20)

#define TAG_PSK 7

#define PSK_CCM8 0xC0A8
#define PSK_GCM  0x00A8

#define PSK_HEX       "8f0e1d2c3b4a59687766554433221100aabbccddeeff0102"
#define PSK_WRONG_HEX "000102030405060708090a0b0c0d0e0f1011121314151617"
#define PSK_ID        "zsock-interop-psk"

/* PSK_HEX as bytes */
static const uint8_t psk_key[24] = { 0x8f, 0x0e, 0x1d, 0x2c, 0x3b, 0x4a, 0x59, 0x68,
				     0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00,
				     0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02 };

/* ---- helpers ---------------------------------------------------------------------- */

static char workdir[64];

/* a file in this test's scratch directory */
static const char *path(const char *name)
{
	return zi_fmt("%s/%s", workdir, name);
}

static void psk_up(const char *id)
{
	zi_ossl_up();
	snprintf(workdir, sizeof(workdir), "/tmp/zsock-psk-%d", (int)getpid());
	zi_sh_ok("rm -rf %s && mkdir -p %s", workdir, workdir);
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK, psk_key, sizeof(psk_key)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, id, strlen(id)), 0);
}

/* The credentials and files gone, then every TLS socket and session
 * given back (closes may take a moment). */
static void psk_down(void)
{
	cr_assert_eq(tls_credential_delete(TAG_PSK, TLS_CREDENTIAL_PSK), 0);
	cr_assert_eq(tls_credential_delete(TAG_PSK, TLS_CREDENTIAL_PSK_ID), 0);
	zi_sh("rm -rf %s", workdir);
	zt_tls_idle(3000);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- OpenSSL --------------------------------------------------------------------- */

/* s_server -tls1_2 -nocert at 192.0.2.1:4433 with args (ossl.h) */
static int s_server(const char *args)
{
	return zi_ossl_server(zi_fmt(ZI_LINUX_IP4 ":%d", TLS_PORT),
			      zi_fmt("-tls1_2 -nocert %s", args), path("stdin.fifo"));
}

/* s_client -tls1_2 to the engine with args, stdin/stdout as redir says;
 * "EXIT=<status>" ends its output (ossl.h). */
static int s_client(const char *args, const char *redir)
{
	return zi_ossl_client(zi_fmt(ZI_ENGINE_IP4 ":%d", TLS_PORT), zi_fmt("-tls1_2 %s", args),
			      redir);
}

/* ---- zsock sockets ------------------------------------------------------------------ */

/* A PSK socket: TAG_PSK, the one suite given (0: no list). */
static int z_socket(int suite)
{
	sec_tag_t tags[] = { TAG_PSK };
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	zt_tls_set(fd, TLS_SEC_TAG_LIST, tags, sizeof(tags));
	if (suite != 0)
		zt_tls_set(fd, TLS_CIPHERSUITE_LIST, &suite, sizeof(suite));
	return fd;
}

/* connect to s_server; 0 or the errno; *secs the time it took */
static int z_connect(int fd, double *secs)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ZI_LINUX_IP4, TLS_PORT, &ss);
	double t0 = now_s();
	int rc = zsock_connect(fd, (struct sockaddr *)&ss, len);

	*secs = now_s() - t0;
	return rc == 0 ? 0 : errno;
}

static int z_listener(int suite)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ZI_ENGINE_IP4, TLS_PORT, &ss);
	int fd = z_socket(suite), one = 1;

	/* a test's second listener on the port: the first one's accepted
	 * connection may still be in TIME_WAIT (zsock closed it first) */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	cr_assert_eq(zsock_listen(fd, 4), 0, "listen: errno %d", errno);
	return fd;
}

/* accept() in a thread: poll the listener first so that a client that
 * never comes is reported, then time the accept (the TLS handshake, the
 * TCP connection being there already). No asserts in the thread. */
struct acc {
	int lfd, fd, err;
	bool no_conn;
	double secs;
};

static void *acc_main(void *arg)
{
	struct acc *a = arg;
	struct zsock_pollfd p = { .fd = a->lfd, .events = ZSOCK_POLLIN };
	int rc = zsock_poll(&p, 1, 20000);
	double t0;

	a->fd = -1;
	if (rc <= 0) {
		a->err = rc < 0 ? errno : ETIMEDOUT;
		a->no_conn = rc == 0;
		return NULL;
	}
	t0 = now_s();
	a->fd = zsock_accept(a->lfd, NULL, NULL);
	a->secs = now_s() - t0;
	if (a->fd < 0)
		a->err = errno;
	else
		zt_timeouts(a->fd, 30);
	return NULL;
}

static void z_accept(int lfd, struct acc *a)
{
	pthread_t t;

	*a = (struct acc){ .lfd = lfd, .fd = -1 };
	t = zt_spawn(acc_main, a);
	cr_assert(zt_join(t, 60000), "accept() did not return");
}

/* ---- zsock client -> s_server ---------------------------------------------------------- */

static void client_bulk(int suite, const char *cipher)
{
	double secs;
	char *out;
	int h, fd, err;

	psk_up(PSK_ID);
	h = s_server(zi_fmt("-rev -naccept 1 -psk %s -psk_identity %s -cipher %s", PSK_HEX, PSK_ID,
			    cipher));
	fd = z_socket(suite);
	zt_timeouts(fd, 30);
	err = z_connect(fd, &secs);
	cr_assert_eq(err, 0, "connect: errno %d (%s), LAST_ERROR %d", err, strerror(err),
		     zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR));
	fprintf(stderr, "handshake: zsock client vs s_server, %s: %.1f ms\n", cipher, secs * 1e3);
	cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), suite, "suite 0x%04x, want 0x%04x",
		     zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), suite);
	cr_assert_eq(zt_tls_opt_or(fd, ZSOCK_TLS_VERIFY_RESULT), -1, "a PSK session verified a chain?");
	zi_rev_bulk(fd, XFER_BYTES, 4096, 0x95c + (uint64_t)suite);
	zt_close(fd);
	zi_prog_wait_line(h, "CONNECTION CLOSED", 10000);
	out = zi_prog_stop(h, NULL);
	cr_assert(zi_has_line(out, "Ciphersuite:", cipher), "s_server did not say %s:\n%s", cipher,
		  out);
	cr_assert(zi_has_line(out, "Protocol version: TLSv1.2", NULL), "not TLS 1.2:\n%s", out);
	cr_assert(zi_has_line(out, "CONNECTION CLOSED", NULL), "s_server did not see the close:\n%s",
		  out);
	cr_assert_not(zi_has_line(out, "unexpected eof", NULL),
		      "the zsock close reached s_server without close_notify:\n%s", out);
	cr_assert_not(zi_has_line(out, "PSK warning", NULL), "not the identity s_server expects:\n%s",
		      out);
	free(out);
	psk_down();
}

ZI_TEST(tls_psk, client_ccm8, .timeout = 90)
{
	client_bulk(PSK_CCM8, "PSK-AES128-CCM8");
}

ZI_TEST(tls_psk, client_gcm, .timeout = 90)
{
	client_bulk(PSK_GCM, "PSK-AES128-GCM-SHA256");
}

/* ---- s_client -> zsock server ----------------------------------------------------------- */

static void server_bulk(int suite, const char *cipher)
{
	const uint64_t seed_a = 0xa11ce, seed_b = 0xb0b;
	uint32_t rx_crc, tx_crc, want_rx;
	struct acc a;
	int lfd, h;

	psk_up(PSK_ID);
	lfd = z_listener(suite);
	want_rx = zi_stream_file(path("in.bin"), seed_a, XFER_BYTES);
	h = s_client(zi_fmt("-quiet -psk %s -psk_identity %s -cipher %s", PSK_HEX, PSK_ID, cipher),
		     zi_fmt("<%s >%s 2>%s", path("in.bin"), path("out.bin"), path("err.txt")));
	z_accept(lfd, &a);
	if (a.fd < 0)
		zi_ossl_client_failed(h, path("err.txt"),
				      zi_fmt("accept: errno %d (%s)%s", a.err, strerror(a.err),
					     a.no_conn ? " (no connection)" : ""));
	fprintf(stderr, "handshake: zsock server vs s_client, %s: %.1f ms\n", cipher, a.secs * 1e3);
	cr_assert_eq(zt_tls_opt_or(a.fd, TLS_CIPHERSUITE_USED), suite, "suite 0x%04x, want 0x%04x",
		     zt_tls_opt_or(a.fd, TLS_CIPHERSUITE_USED), suite);
	zi_answer_stream(a.fd, XFER_BYTES, seed_a, seed_b, &rx_crc, &tx_crc);
	cr_assert_eq(rx_crc, want_rx, "CRC s_client -> zsock");
	zt_close(a.fd);
	zt_close(lfd);
	zi_ossl_client_check(h, path("out.bin"), path("err.txt"), XFER_BYTES, seed_b, tx_crc);
	fprintf(stderr, "server_bulk: %u bytes each way, CRC in %08x, out %08x\n", XFER_BYTES,
		rx_crc, tx_crc);
	psk_down();
}

ZI_TEST(tls_psk, server_ccm8, .timeout = 90)
{
	server_bulk(PSK_CCM8, "PSK-AES128-CCM8");
}

ZI_TEST(tls_psk, server_gcm, .timeout = 90)
{
	server_bulk(PSK_GCM, "PSK-AES128-GCM-SHA256");
}

/* ---- failures --------------------------------------------------------------------------- */

/* The zsock client against s_server holding key (hex) for identity id:
 * connect fails with ECONNABORTED; LAST_ERROR is 256 + the alert s_server
 * sent (BearSSL's numbering, as on the certificate path). */
static void client_fails(const char *key, const char *id, int alert)
{
	double secs;
	char *out;
	int h, fd, err, le;

	psk_up(PSK_ID);
	h = s_server(zi_fmt("-naccept 1 -msg -psk %s -psk_identity %s -cipher PSK-AES128-CCM8", key,
			    id));
	fd = z_socket(0);
	zt_timeouts(fd, 30);
	err = z_connect(fd, &secs);
	le = zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR);
	fprintf(stderr, "connect: errno %d (%s), LAST_ERROR %d, after %.1f ms\n", err, strerror(err),
		le, secs * 1e3);
	cr_assert_eq(err, ECONNABORTED, "connect: errno %d (%s), want ECONNABORTED", err,
		     strerror(err));
	cr_assert_eq(le, 256 + alert, "LAST_ERROR %d, want 256 + %d", le, alert);
	cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), -1000 - ENOTCONN);
	zt_close(fd);
	zi_prog_wait_exit(h, 10000);
	out = zi_prog_stop(h, NULL);
	fprintf(stderr, "s_server said:\n%s\n", out);
	cr_assert_eq(zi_has_line(out, "PSK warning", NULL), strcmp(id, PSK_ID) != 0,
		     "s_server and our identity:\n%s", out);
	free(out);
	psk_down();
}

ZI_TEST(tls_psk, client_wrong_psk, .timeout = 60)
{
	client_fails(PSK_WRONG_HEX, PSK_ID, 20); /* bad_record_mac: our Finished */
}

/* s_server expecting another identity does not refuse ours: its callback
 * only warns ("PSK warning: client identity not what we expected") and
 * goes on with its one key, so an identity it does not know fails as a
 * wrong key does (unknown_psk_identity from a server: server_unknown_id,
 * and tests/loopback/test_tls.c psk_unknown_identity) */
ZI_TEST(tls_psk, client_unknown_id, .timeout = 60)
{
	client_fails(PSK_WRONG_HEX, "someone-else", 20);
}

/* s_client with key (hex) and identity id against the zsock server:
 * accept fails with ECONNABORTED; s_client hears the alert (want). */
static void server_fails(const char *key, const char *id, const char *want)
{
	struct acc a;
	char *out;
	int lfd, h, st;

	psk_up(PSK_ID);
	lfd = z_listener(0);
	h = s_client(zi_fmt("-psk %s -psk_identity %s -cipher PSK-AES128-GCM-SHA256", key, id), NULL);
	z_accept(lfd, &a);
	out = zi_ossl_client_wait(h, &st);
	fprintf(stderr, "accept: fd %d errno %d (%s); s_client status %d\n", a.fd, a.err,
		strerror(a.err), st);
	cr_assert_eq(a.fd, -1, "accept succeeded");
	cr_assert_eq(a.err, ECONNABORTED, "accept: errno %d (%s), want ECONNABORTED", a.err,
		     strerror(a.err));
	cr_assert_neq(st, 0, "s_client succeeded:\n%s", out);
	cr_assert(zi_has_line(out, "alert", want), "s_client did not hear \"%s\":\n%s", want, out);
	free(out);
	zt_close(lfd);
	psk_down();
}

ZI_TEST(tls_psk, server_wrong_psk, .timeout = 60)
{
	server_fails(PSK_WRONG_HEX, PSK_ID, "bad record mac");
}

ZI_TEST(tls_psk, server_unknown_id, .timeout = 60)
{
	server_fails(PSK_HEX, "someone-else", "unknown psk identity");
}

/* ---- ALPN (TLS_ALPN_LIST on the core, RFC 7301) ----------------------------------------- */

/* ZSOCK_TLS_ALPN_USED of fd ("" none). */
static const char *alpn_of(int fd)
{
	static char buf[64];
	socklen_t len = sizeof(buf);

	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_ALPN_USED, buf, &len), 0,
		     "ZSOCK_TLS_ALPN_USED: errno %d", errno);
	return buf;
}

/* The zsock client offers y, x to s_server -alpn x: x, and s_server saw
 * both. */
ZI_TEST(tls_psk, client_alpn, .timeout = 60)
{
	static const char *offer[] = { "y", "x" };
	double secs;
	char *out;
	int h, fd, err;

	psk_up(PSK_ID);
	h = s_server(zi_fmt("-naccept 1 -alpn x -psk %s -psk_identity %s -cipher PSK-AES128-CCM8",
			    PSK_HEX, PSK_ID));
	fd = z_socket(0);
	zt_timeouts(fd, 30);
	zt_tls_set(fd, TLS_ALPN_LIST, offer, sizeof(offer));
	err = z_connect(fd, &secs);
	cr_assert_eq(err, 0, "connect: errno %d (%s)", err, strerror(err));
	cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), PSK_CCM8);
	cr_assert_str_eq(alpn_of(fd), "x");
	cr_assert_eq(zt_tls_opt_or(fd, ZSOCK_TLS_VERIFY_RESULT), -1);
	zt_close(fd);
	zi_prog_wait_exit(h, 10000);
	out = zi_prog_stop(h, NULL);
	cr_assert(zi_has_line(out, "ALPN protocols advertised by the client", "y, x"),
		  "s_server:\n%s", out);
	free(out);
	psk_down();
}

/* s_client -alpn y,x against the zsock server's x: "ALPN protocol: x";
 * against a server with only z: no_application_protocol, accept fails
 * with ECONNABORTED. */
ZI_TEST(tls_psk, server_alpn, .timeout = 60)
{
	static const char *ours[] = { "x" }, *none[] = { "z" };
	struct acc a;
	char *out;
	int lfd, h, st;

	psk_up(PSK_ID);
	for (int round = 0; round < 2; round++) {
		lfd = z_listener(0);
		zt_tls_set(lfd, TLS_ALPN_LIST, round ? none : ours, sizeof(ours));
		h = s_client(zi_fmt("-alpn y,x -psk %s -psk_identity %s -cipher PSK-AES128-GCM-SHA256",
				    PSK_HEX, PSK_ID), NULL);
		z_accept(lfd, &a);
		if (round == 0) {
			cr_assert_geq(a.fd, 0, "accept: errno %d (%s)", a.err, strerror(a.err));
			cr_assert_str_eq(alpn_of(a.fd), "x");
			zt_close(a.fd);
		} else {
			cr_assert_eq(a.fd, -1, "accept succeeded");
			cr_assert_eq(a.err, ECONNABORTED, "accept: errno %d (%s)", a.err,
				     strerror(a.err));
		}
		out = zi_ossl_client_wait(h, &st);
		if (round == 0)
			cr_assert(zi_has_line(out, "ALPN protocol: x", NULL), "s_client:\n%s", out);
		else
			cr_assert(zi_has_line(out, "alert", "no application protocol"),
				  "s_client:\n%s", out);
		free(out);
		zt_close(lfd);
	}
	psk_down();
}

/* ---- non-blocking ------------------------------------------------------------------------ */

ZI_TEST(tls_psk, client_nonblocking, .timeout = 60)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[16], *out;
	int h, fd;

	psk_up(PSK_ID);
	h = s_server(zi_fmt("-rev -naccept 1 -psk %s -psk_identity %s -cipher PSK-AES128-GCM-SHA256",
			    PSK_HEX, PSK_ID));
	fd = z_socket(0);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	len = zi_addr(ZI_LINUX_IP4, TLS_PORT, &ss);
	zt_tls_connect_nb(fd, (struct sockaddr *)&ss, len, 10000);
	cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), PSK_GCM);
	cr_assert_eq(zt_poll1(fd, ZSOCK_POLLIN, 200), 0, "readable with nothing sent");
	errno = 0;
	cr_assert_eq(zsock_recv(fd, buf, sizeof(buf), 0), -1);
	cr_assert_eq(errno, EAGAIN, "recv with nothing there: errno %d", errno);
	cr_assert_eq(zsock_send(fd, "abcdef\n", 7, 0), 7, "send: errno %d", errno);
	cr_assert_neq(zt_poll1(fd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, 0, "no POLLIN for the reply");
	cr_assert_eq(zsock_recv(fd, buf, sizeof(buf), 0), 7);
	cr_assert_arr_eq(buf, "fedcba\n", 7);
	zt_close(fd);
	zi_prog_wait_line(h, "CONNECTION CLOSED", 10000);
	out = zi_prog_stop(h, NULL);
	cr_assert(zi_has_line(out, "CONNECTION CLOSED", NULL), "s_server:\n%s", out);
	free(out);
	psk_down();
}

/* ---- resumption (TLS_SESSION_CACHE) --------------------------------------------------- */

/* Three zsock client connections to one s_server with the client cache
 * on, the third after TLS_SESSION_CACHE_PURGE: only the second resumes
 * (s_server prints "Reused session-id" during a resumed handshake). */
ZI_TEST(tls_psk, resumption_client, .timeout = 60)
{
	bool reused[4];
	int resumed[4], h;
	double secs[4];
	char *out;

	psk_up(PSK_ID);
	h = s_server(zi_fmt("-psk %s -psk_identity %s -cipher PSK-AES128-GCM-SHA256", PSK_HEX, PSK_ID));
	for (int i = 1; i <= 3; i++) {
		int fd = z_socket(0), err, one = 1;

		zt_timeouts(fd, 30);
		zt_tls_set(fd, TLS_SESSION_CACHE, &one, sizeof(one));
		if (i == 3)
			zt_tls_set(fd, TLS_SESSION_CACHE_PURGE, &one, sizeof(one));
		err = z_connect(fd, &secs[i]);
		cr_assert_eq(err, 0, "connection %d: connect errno %d (%s)", i, err, strerror(err));
		resumed[i] = zt_tls_opt_or(fd, ZSOCK_TLS_SESSION_RESUMED);
		cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), PSK_GCM);
		zi_ossl_mark(h, fd, i);
		zt_close(fd);
	}
	fprintf(stderr, "handshakes: full %.1f ms, resumed %.1f ms, after the purge %.1f ms\n",
		secs[1] * 1e3, secs[2] * 1e3, secs[3] * 1e3);
	out = zi_prog_stop(h, NULL);
	zi_ossl_reused(out, 3, reused);
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(reused[i], i == 2, "connection %d: s_server %s", i,
			     reused[i] ? "resumed it" : "did not resume it");
		cr_assert_eq(resumed[i], i == 2, "connection %d: ZSOCK_TLS_SESSION_RESUMED %d", i,
			     resumed[i]);
	}
	free(out);
	psk_down();
}

/* s_client -reconnect (one full handshake, five resumed) against the
 * zsock server with its session cache on. */
ZI_TEST(tls_psk, resumption_server, .timeout = 60)
{
	int resumed[6], lfd, h, one = 1;
	char *out;

	psk_up(PSK_ID);
	lfd = z_listener(0);
	zt_tls_set(lfd, TLS_SESSION_CACHE, &one, sizeof(one));
	h = s_client(zi_fmt("-reconnect -psk %s -psk_identity %s -cipher PSK-AES128-CCM8", PSK_HEX,
			    PSK_ID), NULL);
	for (int i = 0; i < 6; i++) {
		struct acc a;

		z_accept(lfd, &a);
		cr_assert_geq(a.fd, 0, "connection %d: accept errno %d (%s)", i, a.err, strerror(a.err));
		resumed[i] = zt_tls_opt_or(a.fd, ZSOCK_TLS_SESSION_RESUMED);
		cr_assert_eq(zt_tls_opt_or(a.fd, TLS_CIPHERSUITE_USED), PSK_CCM8);
		zi_close_after_eof(a.fd, i);
	}
	zt_close(lfd);
	out = zi_ossl_client_ok(h);
	cr_assert_eq(resumed[0], 0);
	for (int i = 1; i < 6; i++)
		cr_assert_eq(resumed[i], 1, "connection %d: ZSOCK_TLS_SESSION_RESUMED %d", i,
			     resumed[i]);
	{
		int reused = 0;

		for (const char *p = out; (p = strstr(p, "Reused, TLSv1.2")) != NULL; p++)
			reused++;
		cr_assert_eq(reused, 5, "s_client resumed %d times:\n%s", reused, out);
	}
	free(out);
	psk_down();
}
