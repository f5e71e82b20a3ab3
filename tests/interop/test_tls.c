/*
 * TLS sockets against OpenSSL (CONFORMANCE.md "Secure sockets": "It
 * interoperates with OpenSSL as both client and server"), over the TAP of
 * a network namespace each test makes (netns.h). The certificates are made
 * by the openssl CLI at test time (tests/common/zt_certs.h): an EC chain
 * (leaf <- intermediate <- root), an RSA leaf and root, an expired leaf, a
 * self-signed one and client certificates.
 *
 *   client_*        zsock client -> openssl s_server -rev at 192.0.2.1:4433
 *                   (it sends each line back reversed): 1 MiB of text lines
 *                   (64 .. 4096 bytes, one record each way) each way, every byte and the CRC-32 of each direction
 *                   checked, for ECDHE-ECDSA and ECDHE-RSA with AES-GCM and
 *                   ChaCha20-Poly1305 (s_server -cipher picks the suite;
 *                   TLS_CIPHERSUITE_USED and s_server's summary must say
 *                   it); the zsock close must reach s_server as close_notify
 *   server_*        openssl s_client -> zsock server at 192.0.2.2:4433:
 *                   1 MiB binary each way (s_client's stdin and stdout are
 *                   files), s_client verifying the zsock chain and host
 *                   name, exit status 0 (close_notify received)
 *   *_small_records s_server -max_send_frag 512 with 4 KiB lines;
 *                   s_client -maxfraglen 512: zsock must send records of at
 *                   most 512 bytes (OpenSSL refuses bigger ones)
 *   verify_*        wrong host name, unknown CA, expired, self-signed server
 *                   under TLS_PEER_VERIFY NONE / OPTIONAL / REQUIRED:
 *                   REQUIRED fails connect() with ECONNABORTED and s_server
 *                   (-msg) receives a fatal alert; NONE and OPTIONAL carry
 *                   data; ZSOCK_TLS_VERIFY_RESULT says what was found
 *   resumption_*    the zsock client's second session resumes ("Reused
 *                   session-id" in s_server's output and
 *                   ZSOCK_TLS_SESSION_RESUMED), not after
 *                   TLS_SESSION_CACHE_PURGE; the zsock server resumes
 *                   s_client -reconnect's sessions
 *   alpn_*          TLS_ALPN_LIST against s_server -alpn / s_client -alpn
 *   ciphers_*       TLS_CIPHERSUITE_LIST is exactly what the zsock client
 *                   offers (s_server's "Client cipher list"), and what the
 *                   zsock server accepts
 *   mutual_*        zsock server with TLS_PEER_VERIFY REQUIRED: s_client
 *                   with a good certificate, none, one from another CA
 *   bad_clients,    garbage, half a ClientHello, a client gone after its
 *   bad_servers     ClientHello; garbage, a truncated record, a server gone
 *                   after the ClientHello: a clean error, every TLS slot
 *                   back, and a good session afterwards
 *
 * Needs root (netns.h) and the openssl CLI; otherwise skipped ("skipped:
 * ..."; a failure under ZSOCK_TEST_REQUIRE_INTEROP=1).
 */
#define _GNU_SOURCE
#include "netns.h"
#include "ossl.h"
#include "zt.h"
#include "zt_certs.h"
#include "zt_tls.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#define TLS_PORT     4433
#define CAPTURE_PORT 4499
#define XFER_BYTES   (1u << 20)
#define SERVER_NAME  "server.test"

#define TAG_CA 1   /* what a zsock socket trusts */
#define TAG_ME 2   /* a zsock socket's own chain and key */

/*
 * A build whose TLS buffer cannot hold a full 16 KiB record: OpenSSL
 * clients ask for 512-byte records (max_fragment_length) and send no
 * bigger ones (-max_send_frag: at the smallest buffer, 1434, BearSSL's
 * server does not grant a request for exactly its own maximum, so the
 * request alone is not enough there). The zsock client asks by itself.
 */
#define FULL_IOBUF 33178
#define SMALL_IOBUF (CONFIG_ZSOCK_TLS_IOBUF_SIZE < FULL_IOBUF)
#define SMALL_ARGS (SMALL_IOBUF ? "-maxfraglen 512 -max_send_frag 512" : "")

#define X509_EXPIRED         54
#define X509_BAD_SERVER_NAME 56
#define X509_NOT_TRUSTED     62
#define RECV_ALERT(a)        (256 + (a))

#define P(name) zt_certs_path(name)

/* The certificate s_server presents */
enum srv_cert { CERT_EC, CERT_RSA, CERT_EXPIRED, CERT_SELF };

static const char *cert_args(enum srv_cert c)
{
	switch (c) {
	case CERT_EC:
		return zi_fmt("-cert %s -key %s -cert_chain %s", P("ec_leaf.pem"), P("ec_leaf.key"),
			      P("ec_int.pem"));
	case CERT_RSA:
		return zi_fmt("-cert %s -key %s", P("rsa_leaf.pem"), P("rsa_leaf.key"));
	case CERT_EXPIRED:
		return zi_fmt("-cert %s -key %s", P("ec_expired.pem"), P("ec_expired.key"));
	case CERT_SELF:
		return zi_fmt("-cert %s -key %s", P("ec_self.pem"), P("ec_self.key"));
	}
	return "";
}

/* ---- set-up ------------------------------------------------------------------- */

static void tls_up(void)
{
	zi_ossl_up();
	zt_certs_make();
}

static void add_cred(sec_tag_t tag, enum tls_credential_type type, const char *name)
{
	zt_certs_add(tag, type, name);
}

static void add_ca(const char *name)
{
	add_cred(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, name);
}

static void add_me(const char *cert, const char *key)
{
	add_cred(TAG_ME, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, cert);
	add_cred(TAG_ME, TLS_CREDENTIAL_PRIVATE_KEY, key);
}

/* ---- OpenSSL programs ---------------------------------------------------------- */

/* openssl s_server on 192.0.2.1:4433 with args (ossl.h); waits for its
 * "ACCEPT" line. */
static int s_server(const char *args)
{
	return zi_ossl_server(zi_fmt(ZI_LINUX_IP4 ":%d", TLS_PORT), args, P("stdin.fifo"));
}

/* openssl s_client to the engine (192.0.2.2:4433) with args, stdin and
 * stdout as redir says (ossl.h). */
static int s_client(const char *args, const char *redir)
{
	return zi_ossl_client(zi_fmt(ZI_ENGINE_IP4 ":%d", TLS_PORT), args, redir);
}

static int count_lines(const char *out, const char *prefix)
{
	const char *s = out;
	int n = 0;

	while (s != NULL && *s != '\0') {
		if (strncmp(s, prefix, strlen(prefix)) == 0)
			n++;
		s = strchr(s, '\n');
		if (s != NULL)
			s++;
	}
	return n;
}

/* A received fatal alert in s_server/s_client -msg output ("<<< TLS 1.2,
 * Alert [length 0002], fatal bad_certificate"); a copy or NULL. */
static char *fatal_alert_received(const char *out)
{
	const char *s = out;

	while (s != NULL && *s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);

		if (strncmp(s, "<<< ", 4) == 0) {
			char *line = strndup(s, len);

			if (strstr(line, "Alert") != NULL && strstr(line, "fatal") != NULL)
				return line;
			free(line);
		}
		s = nl != NULL ? nl + 1 : NULL;
	}
	return NULL;
}

/* ---- zsock sockets -------------------------------------------------------------- */

static int get_int(int fd, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, name, &v, &len), 0,
		     "getsockopt(SOL_TLS, %d): errno %d (%s)", name, errno, strerror(errno));
	return v;
}

static void set_int(int fd, int name, int v)
{
	zt_tls_set(fd, name, &v, sizeof(v));
}

/* A zsock TLS client socket: trusts TAG_CA (and presents TAG_ME when
 * with_cert), host name host (NULL: none), verify level (-1: default). */
static int z_client(const char *host, int verify, bool with_cert)
{
	sec_tag_t tags[] = { TAG_CA, TAG_ME };
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	zt_tls_set(fd, TLS_SEC_TAG_LIST, tags, (socklen_t)((with_cert ? 2 : 1) * sizeof(sec_tag_t)));
	if (host != NULL)
		zt_tls_set(fd, TLS_HOSTNAME, host, (socklen_t)strlen(host) + 1);
	if (verify >= 0)
		set_int(fd, TLS_PEER_VERIFY, verify);
	zt_timeouts(fd, 30);
	return fd;
}

/* connect to s_server; returns 0 or the errno */
static int z_connect(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ZI_LINUX_IP4, TLS_PORT, &ss);

	return zsock_connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
}

/* A zsock TLS listener on 192.0.2.2:4433 with tags TAG_ME (and TAG_CA). */
static int z_listener(bool with_ca)
{
	sec_tag_t tags[] = { TAG_ME, TAG_CA };
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ZI_ENGINE_IP4, TLS_PORT, &ss);
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	zt_tls_set(fd, TLS_SEC_TAG_LIST, tags, (socklen_t)((with_ca ? 2 : 1) * sizeof(sec_tag_t)));
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	cr_assert_eq(zsock_listen(fd, 4), 0, "listen: errno %d", errno);
	return fd;
}

/* The server half, in a thread so that an accept() that never returns is
 * reported as such: poll the listener, then accept. No asserts. */
struct acc {
	int lfd;
	int poll_ms;
	int fd;
	int err;
	bool no_conn;
};

static void *acc_main(void *arg)
{
	struct acc *a = arg;
	struct zsock_pollfd p = { .fd = a->lfd, .events = ZSOCK_POLLIN };
	int rc = zsock_poll(&p, 1, a->poll_ms);

	a->fd = -1;
	if (rc <= 0) {
		a->err = rc < 0 ? errno : ETIMEDOUT;
		a->no_conn = rc == 0;
		return NULL;
	}
	a->fd = zsock_accept(a->lfd, NULL, NULL);
	if (a->fd < 0) {
		a->err = errno;
	} else {
		struct timeval tv = { .tv_sec = 30 };

		zsock_setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		zsock_setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return NULL;
}

/* Accept in a helper thread, waiting up to wait_ms for it to return. */
static void z_accept(int lfd, struct acc *a, int wait_ms)
{
	pthread_t t;

	*a = (struct acc){ .lfd = lfd, .poll_ms = wait_ms, .fd = -1 };
	t = zt_spawn(acc_main, a);
	cr_assert(zt_join(t, wait_ms + 20000), "accept() did not return");
}

/* Every TLS socket and session given back (the engine's counters), and
 * every TLS slot can be taken again (closes may take a moment). */
static void assert_all_slots_free(void)
{
	int fds[CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS];
	int64_t end = zt_now_ms() + 3000;
	int n = 0;

	zt_tls_idle(3000);
	while (n < CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS) {
		int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

		if (fd >= 0) {
			fds[n++] = fd;
			continue;
		}
		cr_assert_eq(errno, ENOMEM, "TLS socket: errno %d", errno);
		cr_assert_lt(zt_now_ms(), end, "only %d of %d TLS slots free: a slot leaked", n,
			     CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS);
		zt_sleep_ms(20);
	}
	for (int i = 0; i < n; i++)
		zt_close(fds[i]);
}

/* An errno a failed TLS call may give: a real error, not "try again". */
static bool clean_errno(int e)
{
	return e != 0 && e != EAGAIN && e != EWOULDBLOCK && e != EINPROGRESS && e != EINTR &&
	       e != EALREADY;
}

/* ---- data ------------------------------------------------------------------------- */

/* Write to s_server's stdin (the FIFO): it sends it to its client. */
static void fifo_write(const char *text)
{
	int fd = open(P("stdin.fifo"), O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open the FIFO: %s", strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* ---- Linux plain TCP peers -------------------------------------------------------------- */

static int l_listener(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, port, &ss);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind %s:%u: %s", ip, port,
		     strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static int l_connect(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, port, &ss);
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "Linux connect to %s:%u: %s", ip,
		     port, strerror(errno));
	return fd;
}

/* What a Linux peer read until the other side went away. No asserts. */
struct drain {
	size_t bytes;
	uint8_t first[8];
	bool ended;        /* EOF or reset, not a timeout */
	int err;
};

static void l_drain(int fd, struct drain *d)
{
	uint8_t buf[4096];
	struct timeval tv = { .tv_sec = 10 };

	memset(d, 0, sizeof(*d));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			d->ended = true;
			d->err = n < 0 ? errno : 0;
			return;
		}
		if (n < 0) {
			d->err = errno;
			return;
		}
		for (ssize_t i = 0; i < n && d->bytes + (size_t)i < sizeof(d->first); i++)
			d->first[d->bytes + (size_t)i] = buf[i];
		d->bytes += (size_t)n;
	}
}

/* Read one TLS record (header and body) from a Linux socket; 0 if it
 * could not. No asserts. */
static size_t l_read_record(int fd, uint8_t *buf, size_t size)
{
	size_t body;

	if (recv(fd, buf, 5, MSG_WAITALL) != 5)
		return 0;
	body = ((size_t)buf[3] << 8) | buf[4];
	if (5 + body > size || recv(fd, buf + 5, body, MSG_WAITALL) != (ssize_t)body)
		return 0;
	return 5 + body;
}

/* A real OpenSSL ClientHello: s_client connects to a Linux listener of
 * ours, which keeps its first record. */
static size_t capture_client_hello(uint8_t *buf, size_t size)
{
	struct pollfd p;
	char *argv[4];
	size_t n;
	int l, c, h;
	struct timeval tv = { .tv_sec = 10 };

	l = l_listener(ZI_LINUX_IP4, CAPTURE_PORT);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)zi_fmt("timeout 20 openssl s_client -connect " ZI_LINUX_IP4 ":%d -servername "
				 SERVER_NAME " </dev/null 2>&1", CAPTURE_PORT);
	argv[3] = NULL;
	h = zi_prog_start(argv);
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 15000), 1, "s_client never connected to the capture port");
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(c, 0);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = l_read_record(c, buf, size);
	close(c);
	close(l);
	free(zi_prog_stop(h, NULL));
	cr_assert_gt(n, 9, "no ClientHello captured");
	cr_assert_eq(buf[0], 22, "record type %u", buf[0]);
	cr_assert_eq(buf[5], 1, "handshake type %u", buf[5]);
	return n;
}

/* ---- zsock client -> s_server ------------------------------------------------------- */

/*
 * s_server -rev (one connection) presenting cert, its -cipher picking the
 * suite; the zsock client trusts ca; 1 MiB each way in lines of line_len;
 * the suite must be want (IANA) and ossl_name in s_server's summary; the
 * zsock close must reach s_server as a close_notify ("CONNECTION CLOSED",
 * no "unexpected eof").
 */
static void client_bulk(enum srv_cert cert, const char *cipher, const char *extra, const char *ca,
			int want, const char *ossl_name, size_t line_len)
{
	char *out, *line;
	int h, fd, err;

	tls_up();
	add_ca(ca);
	h = s_server(zi_fmt("-rev -naccept 1 -cipher %s %s %s", cipher, cert_args(cert), extra));
	fd = z_client(SERVER_NAME, TLS_PEER_VERIFY_REQUIRED, false);
	err = z_connect(fd);
	cr_assert_eq(err, 0, "connect: errno %d (%s), LAST_ERROR %d, VERIFY_RESULT %d", err,
		     strerror(err), zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR),
		     zt_tls_opt_or(fd, ZSOCK_TLS_VERIFY_RESULT));
	cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), want, "suite 0x%04x, want 0x%04x",
		     zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), want);
	cr_assert_eq(get_int(fd, ZSOCK_TLS_VERIFY_RESULT), 0);
	zi_rev_bulk(fd, XFER_BYTES, line_len, 0x7e57 + (uint64_t)want);
	zt_close(fd);
	zi_prog_wait_line(h, "CONNECTION CLOSED", 10000);
	out = zi_prog_stop(h, NULL);
	line = zi_find_line(out, "Ciphersuite:", NULL);
	cr_assert_not_null(line, "no Ciphersuite line from s_server:\n%s", out);
	cr_assert_not_null(strstr(line, ossl_name), "s_server: \"%s\", want %s", line, ossl_name);
	free(line);
	cr_assert_not_null(zi_find_line(out, "Protocol version: TLSv1.2", NULL), "not TLS 1.2:\n%s", out);
	cr_assert_not_null(zi_find_line(out, "CONNECTION CLOSED", NULL),
			   "s_server did not see the close:\n%s", out);
	cr_assert_null(zi_find_line(out, "unexpected eof", NULL),
		       "the zsock close reached s_server without close_notify:\n%s", out);
	free(out);
}

ZI_TEST(tls, client_ecdsa_aes128gcm, .timeout = 90)
{
	client_bulk(CERT_EC, "ECDHE-ECDSA-AES128-GCM-SHA256", "", "ec_ca.der", 0xC02B,
		    "ECDHE-ECDSA-AES128-GCM-SHA256", 4096);
}

ZI_TEST(tls, client_ecdsa_chacha, .timeout = 90)
{
	client_bulk(CERT_EC, "ECDHE-ECDSA-CHACHA20-POLY1305", "", "ec_ca.pem", 0xCCA9,
		    "ECDHE-ECDSA-CHACHA20-POLY1305", 4096);
}

ZI_TEST(tls, client_rsa_aes256gcm, .timeout = 90)
{
	client_bulk(CERT_RSA, "ECDHE-RSA-AES256-GCM-SHA384", "", "rsa_ca.der", 0xC030,
		    "ECDHE-RSA-AES256-GCM-SHA384", 4096);
}

ZI_TEST(tls, client_rsa_chacha, .timeout = 90)
{
	client_bulk(CERT_RSA, "ECDHE-RSA-CHACHA20-POLY1305", "", "rsa_ca.pem", 0xCCA8,
		    "ECDHE-RSA-CHACHA20-POLY1305", 4096);
}

/* s_server sends 512-byte records: each 4 KiB line arrives in 8 */
ZI_TEST(tls, client_small_records, .timeout = 90)
{
	client_bulk(CERT_EC, "ECDHE-ECDSA-AES256-GCM-SHA384", "-max_send_frag 512", "ec_ca.der",
		    0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384", 4096);
}

/* ---- s_client -> zsock server --------------------------------------------------------- */

/*
 * s_client (stdin: 1 MiB of stream A from a file; stdout: to a file)
 * against the zsock server with an RSA or EC chain, its -cipher picking
 * the suite, verifying the chain and the name. The server reads stream A
 * and answers each piece with as many bytes of stream B, then closes.
 * s_client must exit 0 (it got close_notify) with stream B in its file.
 */
static void server_bulk(bool rsa, const char *cipher, const char *extra, int want)
{
	const uint64_t seed_a = 0xa11ce, seed_b = 0xb0b;
	uint32_t rx_crc, tx_crc, want_rx;
	struct acc a;
	int lfd, h;

	tls_up();
	if (rsa)
		add_me("rsa_leaf.der", "rsa_leaf.key.der");
	else
		add_me("ec_leaf_chain.der", "ec_leaf.key.der");
	lfd = z_listener(false);
	want_rx = zi_stream_file(P("in.bin"), seed_a, XFER_BYTES);
	h = s_client(zi_fmt("-quiet -cipher %s -CAfile %s -verify_return_error -servername " SERVER_NAME
			    " -verify_hostname " SERVER_NAME " %s %s",
			    cipher, P(rsa ? "rsa_ca.pem" : "ec_ca.pem"),
			    SMALL_ARGS, extra),
		     zi_fmt("<%s >%s 2>%s", P("in.bin"), P("out.bin"), P("err.txt")));
	z_accept(lfd, &a, 20000);
	if (a.fd < 0)
		zi_ossl_client_failed(h, P("err.txt"),
				      zi_fmt("accept: errno %d (%s)%s", a.err, strerror(a.err),
					     a.no_conn ? " (no connection)" : ""));
	cr_assert_eq(zt_tls_opt_or(a.fd, TLS_CIPHERSUITE_USED), want, "suite 0x%04x, want 0x%04x",
		     zt_tls_opt_or(a.fd, TLS_CIPHERSUITE_USED), want);
	zi_answer_stream(a.fd, XFER_BYTES, seed_a, seed_b, &rx_crc, &tx_crc);
	zt_close(a.fd);
	zt_close(lfd);
	zi_ossl_client_check(h, P("out.bin"), P("err.txt"), XFER_BYTES, seed_b, tx_crc);
	cr_assert_eq(rx_crc, want_rx, "CRC s_client -> zsock");
	fprintf(stderr, "server_bulk: %u bytes each way, CRC in %08x, out %08x\n", XFER_BYTES,
		rx_crc, tx_crc);
}

ZI_TEST(tls, server_ecdsa_aes256gcm, .timeout = 90)
{
	server_bulk(false, "ECDHE-ECDSA-AES256-GCM-SHA384", "", 0xC02C);
}

ZI_TEST(tls, server_ecdsa_chacha, .timeout = 90)
{
	server_bulk(false, "ECDHE-ECDSA-CHACHA20-POLY1305", "", 0xCCA9);
}

ZI_TEST(tls, server_rsa_aes128gcm, .timeout = 90)
{
	server_bulk(true, "ECDHE-RSA-AES128-GCM-SHA256", "", 0xC02F);
}

ZI_TEST(tls, server_rsa_chacha, .timeout = 90)
{
	server_bulk(true, "ECDHE-RSA-CHACHA20-POLY1305", "", 0xCCA8);
}

/* s_client negotiates 512-byte fragments and sends 512-byte records: the
 * zsock server must keep to them too (OpenSSL refuses a longer record). */
ZI_TEST(tls, server_small_records, .timeout = 90)
{
	server_bulk(false, "ECDHE-ECDSA-AES128-GCM-SHA256",
		    SMALL_IOBUF ? "" : "-maxfraglen 512 -max_send_frag 512", 0xC02B);
}

/* ---- verification ----------------------------------------------------------------------- */

/*
 * The zsock client at level against s_server presenting cert, trusting
 * ca, checking host: REQUIRED must fail connect() with ECONNABORTED and
 * send s_server a fatal alert; NONE and OPTIONAL carry data both ways.
 * ZSOCK_TLS_VERIFY_RESULT: -1 for NONE, code otherwise.
 */
static void verify_case(enum srv_cert cert, const char *ca, const char *host, int level, int code)
{
	char buf[32], *out, *alert;
	int h, fd, err, vr;

	tls_up();
	add_ca(ca);
	h = s_server(zi_fmt("-naccept 1 -msg %s", cert_args(cert)));
	fd = z_client(host, level, false);
	err = z_connect(fd);
	vr = zt_tls_opt_or(fd, ZSOCK_TLS_VERIFY_RESULT);
	if (level == TLS_PEER_VERIFY_REQUIRED) {
		cr_assert_neq(err, 0, "REQUIRED: the handshake succeeded (VERIFY_RESULT %d)", vr);
		cr_assert_eq(err, ECONNABORTED, "REQUIRED: connect errno %d (%s), want ECONNABORTED",
			     err, strerror(err));
		cr_assert_eq(vr, code, "REQUIRED: VERIFY_RESULT %d, want %d", vr, code);
		cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), -1000 - ENOTCONN);
		zi_prog_wait_line(h, "<<< TLS 1.2, Alert", 10000);
		zt_close(fd);
		zi_prog_wait_exit(h, 10000);
		out = zi_prog_stop(h, NULL);
		alert = fatal_alert_received(out);
		cr_assert_not_null(alert, "s_server received no fatal alert from the zsock client:\n%s",
				   out);
		fprintf(stderr, "s_server received: %s\n", alert);
		free(alert);
	} else {
		cr_assert_eq(err, 0, "level %d: connect errno %d (%s), LAST_ERROR %d", level, err,
			     strerror(err), zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR));
		cr_assert_eq(vr, level == TLS_PEER_VERIFY_NONE ? -1 : code,
			     "level %d: VERIFY_RESULT %d", level, vr);
		zt_send_all(fd, "hello-from-zsock\n", 17);
		cr_assert(zi_prog_wait_line(h, "hello-from-zsock", 10000), "s_server got no data");
		fifo_write("from-s_server\n");
		cr_assert_eq(zsock_recv(fd, buf, 14, ZSOCK_MSG_WAITALL), 14, "recv: errno %d", errno);
		cr_assert_arr_eq(buf, "from-s_server\n", 14);
		zt_close(fd);
		cr_assert(zi_prog_wait_exit(h, 10000), "s_server did not see the close");
		out = zi_prog_stop(h, NULL);
		cr_assert_not_null(zi_find_line(out, "<<< ", "warning close_notify"),
				   "the zsock close reached s_server without close_notify:\n%s", out);
		alert = fatal_alert_received(out);
		cr_assert_null(alert, "a fatal alert at level %d: %s", level, alert);
	}
	free(out);
}

#define VERIFY_TESTS(kind, cert, ca, host, code)                                              \
	ZI_TEST(tls, verify_##kind##_none, .timeout = 60)                                     \
	{                                                                                     \
		verify_case(cert, ca, host, TLS_PEER_VERIFY_NONE, code);                      \
	}                                                                                     \
	ZI_TEST(tls, verify_##kind##_optional, .timeout = 60)                                 \
	{                                                                                     \
		verify_case(cert, ca, host, TLS_PEER_VERIFY_OPTIONAL, code);                  \
	}                                                                                     \
	ZI_TEST(tls, verify_##kind##_required, .timeout = 60)                                 \
	{                                                                                     \
		verify_case(cert, ca, host, TLS_PEER_VERIFY_REQUIRED, code);                  \
	}

VERIFY_TESTS(wrong_host, CERT_EC, "ec_ca.der", "wrong.test", X509_BAD_SERVER_NAME)
VERIFY_TESTS(unknown_ca, CERT_EC, "rsa_ca.der", SERVER_NAME, X509_NOT_TRUSTED)
VERIFY_TESTS(expired, CERT_EXPIRED, "ec_ca.der", SERVER_NAME, X509_EXPIRED)
VERIFY_TESTS(self_signed, CERT_SELF, "ec_ca.der", SERVER_NAME, X509_NOT_TRUSTED)

/* ---- resumption ---------------------------------------------------------------------- */

/* Three zsock client sessions to one s_server, the client cache on; the
 * third after TLS_SESSION_CACHE_PURGE. s_server prints "Reused
 * session-id" during a resumed handshake, before the session's data. */
ZI_TEST(tls, resumption_client, .timeout = 60)
{
	int resumed[4];
	bool reused[4];
	char *out;
	int h;

	tls_up();
	add_ca("ec_ca.der");
	h = s_server(cert_args(CERT_EC));
	for (int i = 1; i <= 3; i++) {
		int fd = z_client(SERVER_NAME, -1, false), err;

		set_int(fd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
		if (i == 3)
			set_int(fd, TLS_SESSION_CACHE_PURGE, 1);
		err = z_connect(fd);
		cr_assert_eq(err, 0, "session %d: connect errno %d (%s)", i, err, strerror(err));
		resumed[i] = get_int(fd, ZSOCK_TLS_SESSION_RESUMED);
		zi_ossl_mark(h, fd, i);
		zt_close(fd);
	}
	out = zi_prog_stop(h, NULL);
	zi_ossl_reused(out, 3, reused);
	for (int i = 1; i <= 3; i++)
		cr_assert_eq(reused[i], i == 2, "session %d: s_server %s", i,
			     reused[i] ? "resumed it" : "did not resume it");
	cr_assert_eq(resumed[1], 0, "ZSOCK_TLS_SESSION_RESUMED of the first session");
	cr_assert_eq(resumed[2], 1, "ZSOCK_TLS_SESSION_RESUMED of the second session");
	cr_assert_eq(resumed[3], 0, "ZSOCK_TLS_SESSION_RESUMED after the purge");
	free(out);
}

/* s_client -reconnect: one full handshake, five resumed ones, on the zsock
 * server with its session cache on. */
ZI_TEST(tls, resumption_server, .timeout = 60)
{
	int resumed[6], lfd, h;
	char *out;

	tls_up();
	add_me("ec_leaf_chain.der", "ec_leaf.key.der");
	lfd = z_listener(false);
	set_int(lfd, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED);
	h = s_client(zi_fmt("-reconnect -CAfile %s -verify_return_error -servername " SERVER_NAME
			    " -verify_hostname " SERVER_NAME " %s",
			    P("ec_ca.pem"), SMALL_ARGS),
		     NULL);
	for (int i = 0; i < 6; i++) {
		struct acc a;

		z_accept(lfd, &a, 20000);
		cr_assert_geq(a.fd, 0, "connection %d: accept errno %d (%s)", i, a.err, strerror(a.err));
		resumed[i] = get_int(a.fd, ZSOCK_TLS_SESSION_RESUMED);
		zi_close_after_eof(a.fd, i);
	}
	zt_close(lfd);
	out = zi_ossl_client_ok(h);
	cr_assert_eq(count_lines(out, "New, TLSv1.2"), 1, "s_client:\n%s", out);
	cr_assert_eq(count_lines(out, "Reused, TLSv1.2"), 5, "s_client:\n%s", out);
	cr_assert_eq(resumed[0], 0);
	for (int i = 1; i < 6; i++)
		cr_assert_eq(resumed[i], 1, "connection %d: ZSOCK_TLS_SESSION_RESUMED 0", i);
	free(out);
}

/* ---- ALPN ----------------------------------------------------------------------------- */

ZI_TEST(tls, alpn_client, .timeout = 60)
{
#if CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS < 2
	cr_skip_test("skipped: this build takes fewer than 2 ALPN names (net_sockets_tls_max_app_protocols)");
#else
	static const char *alpn[] = { "spdy/1", "http/1.1" };
	char used[32], *out, *line;
	socklen_t len = sizeof(used);
	int h, fd, err;

	tls_up();
	add_ca("ec_ca.der");
	h = s_server(zi_fmt("-alpn h2,http/1.1 %s", cert_args(CERT_EC)));
	fd = z_client(SERVER_NAME, -1, false);
	zt_tls_set(fd, TLS_ALPN_LIST, alpn, sizeof(alpn));
	err = z_connect(fd);
	cr_assert_eq(err, 0, "connect: errno %d (%s)", err, strerror(err));
	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_ALPN_USED, used, &len), 0);
	cr_assert_str_eq(used, "http/1.1");
	cr_assert(zi_prog_wait_line(h, "ALPN protocols selected: http/1.1", 10000),
		  "s_server did not select http/1.1");
	zt_close(fd);
	out = zi_prog_stop(h, NULL);
	line = zi_find_line(out, "ALPN protocols advertised by the client:", NULL);
	cr_assert_not_null(line, "s_server saw no ALPN offer:\n%s", out);
	cr_assert(strstr(line, "spdy/1") != NULL && strstr(line, "http/1.1") != NULL,
		  "offered: %s", line);
	free(line);
	free(out);
#endif
}

ZI_TEST(tls, alpn_server, .timeout = 60)
{
#if CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS < 2
	cr_skip_test("skipped: this build takes fewer than 2 ALPN names (net_sockets_tls_max_app_protocols)");
#else
	static const char *alpn[] = { "h2", "http/1.1" };
	char used[32], *out, c;
	socklen_t len = sizeof(used);
	struct acc a;
	int lfd, h;

	tls_up();
	add_me("ec_leaf_chain.der", "ec_leaf.key.der");
	lfd = z_listener(false);
	zt_tls_set(lfd, TLS_ALPN_LIST, alpn, sizeof(alpn));
	h = s_client(zi_fmt("-alpn foo,http/1.1 -CAfile %s -verify_return_error -servername "
			    SERVER_NAME " %s", P("ec_ca.pem"), SMALL_ARGS),
		     NULL);
	z_accept(lfd, &a, 20000);
	cr_assert_geq(a.fd, 0, "accept: errno %d (%s)", a.err, strerror(a.err));
	cr_assert_eq(zsock_getsockopt(a.fd, SOL_TLS, ZSOCK_TLS_ALPN_USED, used, &len), 0);
	cr_assert_str_eq(used, "http/1.1");
	cr_assert_eq(zsock_recv(a.fd, &c, 1, 0), 0, "s_client's close: errno %d", errno);
	zt_close(a.fd);
	zt_close(lfd);
	out = zi_ossl_client_ok(h);
	cr_assert_not_null(zi_find_line(out, "ALPN protocol: http/1.1", NULL), "s_client:\n%s", out);
	free(out);
#endif
}

/* ---- cipher suite lists ----------------------------------------------------------------- */

/* What the zsock client offers is exactly its TLS_CIPHERSUITE_LIST, in
 * order (s_server -rev prints the client's list). */
ZI_TEST(tls, ciphers_client_offer, .timeout = 60)
{
	const int suites[] = { 0xC02F, 0xCCA8 };
	char buf[8], *out, *line, *list, *tok, *save = NULL, offered[512] = "";
	int h, fd, err;

	tls_up();
	add_ca("rsa_ca.der");
	h = s_server(zi_fmt("-rev %s", cert_args(CERT_RSA)));
	fd = z_client(SERVER_NAME, -1, false);
	zt_tls_set(fd, TLS_CIPHERSUITE_LIST, suites, sizeof(suites));
	err = z_connect(fd);
	cr_assert_eq(err, 0, "connect: errno %d (%s)", err, strerror(err));
	cr_assert_eq(get_int(fd, TLS_CIPHERSUITE_USED), 0xC02F);
	zt_send_all(fd, "abc\n", 4);
	zt_recv_all(fd, buf, 4);
	cr_assert_arr_eq(buf, "cba\n", 4);
	zt_close(fd);
	zi_prog_wait_line(h, "CONNECTION CLOSED", 10000);
	out = zi_prog_stop(h, NULL);
	line = zi_find_line(out, "Client cipher list:", NULL);
	cr_assert_not_null(line, "no client cipher list from s_server:\n%s", out);
	list = strchr(line, ':') + 1;
	while (*list == ' ')
		list++;
	for (tok = strtok_r(list, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
		if (strstr(tok, "SCSV") != NULL)
			continue;	/* signalling values, not suites */
		if (offered[0] != '\0')
			strcat(offered, ":");
		strncat(offered, tok, sizeof(offered) - strlen(offered) - 2);
	}
	cr_assert_str_eq(offered, "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305",
			 "the zsock client offered %s", offered);
	cr_assert_not_null(zi_find_line(out, "Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256", NULL));
	free(line);
	free(out);
}

/* s_server allows one suite the zsock client does not offer: no session;
 * the client reads s_server's handshake_failure alert (40). */
ZI_TEST(tls, ciphers_client_no_shared, .timeout = 60)
{
	const int suites[] = { 0xC02F };
	char *out;
	int h, fd, err;

	tls_up();
	add_ca("rsa_ca.der");
	h = s_server(zi_fmt("-naccept 1 -cipher ECDHE-RSA-AES256-GCM-SHA384 %s", cert_args(CERT_RSA)));
	fd = z_client(SERVER_NAME, -1, false);
	zt_tls_set(fd, TLS_CIPHERSUITE_LIST, suites, sizeof(suites));
	err = z_connect(fd);
	cr_assert(clean_errno(err), "connect with no shared suite: errno %d", err);
	cr_assert_eq(zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR), RECV_ALERT(40),
		     "LAST_ERROR %d, want 256 + 40 (handshake_failure from s_server)",
		     zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR));
	zt_close(fd);
	zi_prog_wait_exit(h, 10000);
	out = zi_prog_stop(h, NULL);
	cr_assert_not_null(zi_find_line(out, "no shared cipher", NULL), "s_server:\n%s", out);
	free(out);
	assert_all_slots_free();
}

/* The zsock server accepts only its list: it picks AES128 although
 * s_client prefers AES256, and refuses a client with only AES256. */
ZI_TEST(tls, ciphers_server_list, .timeout = 60)
{
	const int suites[] = { 0xC02F };
	char *out, c;
	struct acc a;
	int lfd, h, st;

	tls_up();
	add_me("rsa_leaf.der", "rsa_leaf.key.der");
	lfd = z_listener(false);
	zt_tls_set(lfd, TLS_CIPHERSUITE_LIST, suites, sizeof(suites));
	h = s_client(zi_fmt("-cipher ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256 -CAfile %s "
			    "-verify_return_error %s",
			    P("rsa_ca.pem"), SMALL_ARGS),
		     NULL);
	z_accept(lfd, &a, 20000);
	cr_assert_geq(a.fd, 0, "accept: errno %d (%s)", a.err, strerror(a.err));
	cr_assert_eq(get_int(a.fd, TLS_CIPHERSUITE_USED), 0xC02F);
	cr_assert_eq(zsock_recv(a.fd, &c, 1, 0), 0);
	zt_close(a.fd);
	out = zi_ossl_client_ok(h);
	cr_assert_not_null(zi_find_line(out, "Cipher is ECDHE-RSA-AES128-GCM-SHA256", NULL),
			   "s_client:\n%s", out);
	free(out);

	h = s_client(zi_fmt("-msg -cipher ECDHE-RSA-AES256-GCM-SHA384 -CAfile %s %s", P("rsa_ca.pem"),
			    SMALL_ARGS),
		     NULL);
	z_accept(lfd, &a, 20000);
	cr_assert_lt(a.fd, 0, "the zsock server accepted a suite outside its list");
	cr_assert(clean_errno(a.err) || a.no_conn, "accept errno %d", a.err);
	out = zi_ossl_client_wait(h, &st);
	cr_assert_neq(st, 0, "s_client succeeded:\n%s", out);
	free(out);
	zt_close(lfd);
	assert_all_slots_free();
}

/* ---- client certificates ---------------------------------------------------------------- */

/*
 * zsock server with TLS_PEER_VERIFY REQUIRED (trusting ec_ca); s_client
 * with client certificate cert/key (NULL: none). With a good one a line
 * each way; otherwise accept() fails with ECONNABORTED and s_client gets
 * a fatal alert.
 */
static void mutual_case(const char *cert, const char *key, bool want_ok)
{
	const char *cert_opt = "";
	char *out, *alert, line[64];
	struct acc a;
	size_t len;
	int lfd, h, st;

	tls_up();
	add_me("ec_leaf_chain.der", "ec_leaf.key.der");
	add_ca("ec_ca.der");
	lfd = z_listener(true);
	set_int(lfd, TLS_PEER_VERIFY, TLS_PEER_VERIFY_REQUIRED);
	if (cert != NULL)
		cert_opt = zi_fmt("-cert %s -key %s", P(cert), P(key));
	if (want_ok) {
		FILE *f = fopen(P("hello.txt"), "w");

		cr_assert_not_null(f);
		fputs("hello from s_client\n", f);
		fclose(f);
		h = s_client(zi_fmt("-quiet -CAfile %s -verify_return_error -servername " SERVER_NAME
				    " %s %s", P("ec_ca.pem"), cert_opt,
				    SMALL_ARGS),
			     zi_fmt("<%s >%s 2>%s", P("hello.txt"), P("out.txt"), P("err.txt")));
	} else {
		h = s_client(zi_fmt("-msg -CAfile %s -servername " SERVER_NAME " %s %s", P("ec_ca.pem"),
				    cert_opt, SMALL_ARGS),
			     NULL);
	}
	z_accept(lfd, &a, 20000);
	if (want_ok) {
		cr_assert_geq(a.fd, 0, "accept: errno %d (%s), LAST_ERROR unknown", a.err,
			      strerror(a.err));
		cr_assert_eq(get_int(a.fd, ZSOCK_TLS_VERIFY_RESULT), 0, "client chain not verified");
		zt_recv_all(a.fd, line, 20);
		cr_assert_arr_eq(line, "hello from s_client\n", 20);
		zt_send_all(a.fd, "hello from zsock\n", 17);
		zt_close(a.fd);
		out = zi_ossl_client_wait(h, &st);
		cr_assert_eq(st, 0, "s_client status %d", st);
		free(out);
		out = zt_read_file(P("out.txt"), &len);
		cr_assert_str_eq(out, "hello from zsock\n");
	} else {
		cr_assert_lt(a.fd, 0, "the zsock server accepted a client it must refuse");
		cr_assert_eq(a.err, ECONNABORTED, "refused client: accept errno %d (%s)%s", a.err,
			     strerror(a.err), a.no_conn ? " (no connection)" : "");
		out = zi_ossl_client_wait(h, &st);
		cr_assert_neq(st, 0, "s_client succeeded:\n%s", out);
		alert = fatal_alert_received(out);
		cr_assert_not_null(alert, "s_client received no fatal alert:\n%s", out);
		fprintf(stderr, "s_client received: %s\n", alert);
		free(alert);
	}
	free(out);
	zt_close(lfd);
}

ZI_TEST(tls, mutual_good_cert, .timeout = 60)
{
	mutual_case("ec_client.pem", "ec_client.key", true);
}

ZI_TEST(tls, mutual_no_cert, .timeout = 60)
{
	mutual_case(NULL, NULL, false);
}

ZI_TEST(tls, mutual_other_ca, .timeout = 60)
{
	mutual_case("ec_client_rsaca.pem", "ec_client_rsaca.key", false);
}

/* ---- bad peers ----------------------------------------------------------------------------- */

/* A good session with s_client after the bad ones. */
static void good_s_client(int lfd)
{
	struct acc a;
	char c, *out;
	int h, st;

	h = s_client(zi_fmt("-CAfile %s -verify_return_error -servername " SERVER_NAME " %s",
			    P("ec_ca.pem"), SMALL_ARGS),
		     NULL);
	z_accept(lfd, &a, 20000);
	cr_assert_geq(a.fd, 0, "good client after bad ones: accept errno %d (%s)", a.err,
		      strerror(a.err));
	cr_assert_eq(zsock_recv(a.fd, &c, 1, 0), 0);
	zt_close(a.fd);
	out = zi_ossl_client_wait(h, &st);
	cr_assert_eq(st, 0, "good s_client status %d:\n%s", st, out);
	free(out);
}

static void expect_refused(int lfd, const char *what)
{
	struct acc a;

	z_accept(lfd, &a, 15000);
	cr_assert_lt(a.fd, 0, "%s: accept gave a session", what);
	cr_assert(!a.no_conn, "%s: the listener never reported the connection", what);
	cr_assert(clean_errno(a.err), "%s: accept errno %d (%s)", what, a.err, strerror(a.err));
	fprintf(stderr, "%s: accept errno %d (%s)\n", what, a.err, strerror(a.err));
}

static void expect_dropped(int l, const char *what)
{
	struct drain d;

	l_drain(l, &d);
	cr_assert(d.ended, "%s: the zsock server never closed the connection (recv errno %d)", what,
		  d.err);
	fprintf(stderr, "%s: the zsock server sent %zu bytes (first %02x %02x), then %s\n", what,
		d.bytes, d.first[0], d.first[1], d.err ? "a reset" : "FIN");
	if (d.bytes > 0)
		cr_assert(d.first[0] == 21 || d.first[0] == 22,
			  "%s: the zsock server sent a record of type %u", what, d.first[0]);
	close(l);
}

ZI_TEST(tls, bad_clients, .timeout = 90)
{
	static const char garbage[] = "GET / HTTP/1.1\r\nHost: server.test\r\n\r\n"
				      "\x16\x03\x03\xff\xff not a handshake at all";
	uint8_t hello[4096], reply[5];
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	size_t n;
	int lfd, l;

	tls_up();
	add_me("ec_leaf_chain.der", "ec_leaf.key.der");
	lfd = z_listener(false);
	n = capture_client_hello(hello, sizeof(hello));

	/* garbage */
	l = l_connect(ZI_ENGINE_IP4, TLS_PORT);
	cr_assert_eq(send(l, garbage, sizeof(garbage) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(garbage) - 1);
	expect_refused(lfd, "garbage");
	expect_dropped(l, "garbage");

	/* half a ClientHello, then FIN */
	l = l_connect(ZI_ENGINE_IP4, TLS_PORT);
	cr_assert_eq(send(l, hello, n / 2, MSG_NOSIGNAL), (ssize_t)(n / 2));
	cr_assert_eq(shutdown(l, SHUT_WR), 0);
	expect_refused(lfd, "half a ClientHello");
	expect_dropped(l, "half a ClientHello");

	/* a whole ClientHello, the first bytes of the answer, then a reset */
	l = l_connect(ZI_ENGINE_IP4, TLS_PORT);
	cr_assert_eq(send(l, hello, n, MSG_NOSIGNAL), (ssize_t)n);
	{
		struct acc a;
		pthread_t t;

		a = (struct acc){ .lfd = lfd, .poll_ms = 15000, .fd = -1 };
		t = zt_spawn(acc_main, &a);
		cr_assert_eq(recv(l, reply, sizeof(reply), MSG_WAITALL), (ssize_t)sizeof(reply),
			     "no ServerHello from the zsock server: %s", strerror(errno));
		cr_assert_eq(reply[0], 22, "the zsock server answered a record of type %u", reply[0]);
		setsockopt(l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(l);
		cr_assert(zt_join(t, 30000), "accept() did not return after the client's reset");
		cr_assert_lt(a.fd, 0, "accept gave a session to a client that reset mid-handshake");
		cr_assert(clean_errno(a.err), "client reset mid-handshake: accept errno %d", a.err);
		fprintf(stderr, "client reset mid-handshake: accept errno %d (%s)\n", a.err,
			strerror(a.err));
	}

	good_s_client(lfd);
	zt_close(lfd);
	assert_all_slots_free();
}

/* A Linux server thread that misbehaves after reading the ClientHello. */
enum fake_mode { FAKE_GARBAGE, FAKE_TRUNCATED, FAKE_CLOSE };

struct fake_srv {
	int lfd;
	enum fake_mode mode;
	/* out */
	size_t hello;
	struct drain d;
	int err;
};

static void *fake_srv_main(void *arg)
{
	static const char garbage[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
				      "\x15\x03\x03\x00\x02 junk junk junk";
	static const uint8_t trunc[] = { 22, 3, 3, 0x01, 0x00, 2, 0, 0, 0xfc, 3, 3,
					 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct fake_srv *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 10 };
	uint8_t buf[4096];
	int fd;

	if (poll(&p, 1, 15000) != 1) {
		f->err = ETIMEDOUT;
		return NULL;
	}
	fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		f->err = errno;
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	f->hello = l_read_record(fd, buf, sizeof(buf));
	switch (f->mode) {
	case FAKE_GARBAGE:
		send(fd, garbage, sizeof(garbage) - 1, MSG_NOSIGNAL);
		l_drain(fd, &f->d);
		break;
	case FAKE_TRUNCATED:
		send(fd, trunc, sizeof(trunc), MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		l_drain(fd, &f->d);
		break;
	case FAKE_CLOSE:
		break;
	}
	close(fd);
	return NULL;
}

ZI_TEST(tls, bad_servers, .timeout = 90)
{
	static const char *names[] = { "garbage", "truncated record", "closed after ClientHello" };
	char buf[8];
	int fd, err, h;

	tls_up();
	add_ca("ec_ca.der");
	for (int m = FAKE_GARBAGE; m <= FAKE_CLOSE; m++) {
		struct fake_srv f = { .mode = (enum fake_mode)m };
		pthread_t t;

		f.lfd = l_listener(ZI_LINUX_IP4, TLS_PORT);
		t = zt_spawn(fake_srv_main, &f);
		fd = z_client(SERVER_NAME, -1, false);
		err = z_connect(fd);
		cr_assert_neq(err, 0, "%s: connect succeeded", names[m]);
		cr_assert(clean_errno(err), "%s: connect errno %d (%s)", names[m], err, strerror(err));
		cr_assert_eq(zt_tls_opt_or(fd, TLS_CIPHERSUITE_USED), -1000 - ENOTCONN);
		/* garbage is BearSSL's own error; a transport that ends is not */
		if (m == FAKE_GARBAGE)
			cr_assert_neq(zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR), 0, "%s: LAST_ERROR 0", names[m]);
		fprintf(stderr, "%s: connect errno %d (%s), LAST_ERROR %d\n", names[m], err,
			strerror(err), zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR));
		zt_close(fd);
		cr_assert(zt_join(t, 30000), "%s: the fake server thread hung", names[m]);
		close(f.lfd);
		cr_assert_eq(f.err, 0, "%s: fake server errno %d", names[m], f.err);
		cr_assert_gt(f.hello, 0, "%s: no ClientHello from the zsock client", names[m]);
		if (m != FAKE_CLOSE) {
			cr_assert(f.d.ended, "%s: the zsock client never closed the connection", names[m]);
			if (f.d.bytes > 0)
				cr_assert_eq(f.d.first[0], 21, "%s: the zsock client sent record type %u",
					     names[m], f.d.first[0]);
		}
	}
	assert_all_slots_free();

	/* and a good session */
	h = s_server(zi_fmt("-rev %s", cert_args(CERT_EC)));
	fd = z_client(SERVER_NAME, -1, false);
	err = z_connect(fd);
	cr_assert_eq(err, 0, "good server after bad ones: errno %d (%s)", err, strerror(err));
	zt_send_all(fd, "abc\n", 4);
	zt_recv_all(fd, buf, 4);
	cr_assert_arr_eq(buf, "cba\n", 4);
	zt_close(fd);
	free(zi_prog_stop(h, NULL));
}
