/*
 * dtls_bench: what DTLS 1.2 costs on zsock (tls_bearssl/dtls_sock.c), with
 * TLS over TCP and plain UDP of the same run as the yardsticks.
 *
 *   dtls_bench [--seconds N] [--smoke]
 *
 * Everything runs over the engine's loopback (127.0.0.1) in one process:
 * the client in the main thread, the server in a second thread, as
 * tls_bench does. Record and handshake work runs in the calling threads,
 * so a handshake costs both threads one after the other, plus the reactor
 * moving the datagrams or segments.
 *
 * Output: one line per figure, "name value unit"; lines starting with '#'
 * say what was negotiated and counted. MB is 10^6 bytes. The suites, by
 * the names the figures use:
 *
 *   psk_ccm8    0xC0A8  TLS_PSK_WITH_AES_128_CCM_8
 *   psk_gcm     0x00A8  TLS_PSK_WITH_AES_128_GCM_SHA256
 *   ecdsa_ccm8  0xC0AE  TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
 *   ecdsa_gcm   0xC02B  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
 *
 * Figures:
 *
 *   dtls_handshake_<suite>        handshakes/s  full DTLS handshakes, the
 *                                               suite forced by the client
 *   dtls_handshake_resumed_psk_gcm   handshakes/s  abbreviated handshakes
 *   dtls_handshake_resumed_ecdsa_gcm handshakes/s  (TLS_SESSION_CACHE on
 *                                               both ends)
 *   tls_psk_handshake_ccm8        handshakes/s  TLS-PSK over TCP, the same
 *   tls_psk_handshake_gcm                       core in stream mode
 *   tls_handshake_ecdsa_gcm       handshakes/s  BearSSL's TLS 1.2 over TCP
 *   *_cpu                         us            process CPU time (every
 *                                               thread, reactor included)
 *                                               per handshake
 *   ratio_dtls_tls_psk_ccm8       ratio         DTLS handshakes/s over the
 *   ratio_dtls_tls_psk_gcm                      TLS ones of the same run,
 *   ratio_dtls_tls_ecdsa_gcm                    same suite
 *   udp_bulk                      MB/s          one way, 1024-byte datagrams,
 *                                               plain zsock UDP, delivered
 *   dtls_bulk_<suite>             MB/s          the same in 1024-byte DTLS
 *                                               records (application bytes)
 *   *_loss                        fraction      datagrams sent but never
 *                                               delivered, of those sent
 *   ratio_dtls_udp_<suite>        ratio         dtls_bulk over udp_bulk
 *   ram_dtls_socket               bytes         one DTLS socket object
 *                                               (zs_dtls_sock_bytes(): options,
 *                                               association, two datagrams)
 *   dtls_datagram_size            bytes         CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE
 *
 * A handshake, as counted: on the client zsock_socket(), the options,
 * zsock_connect() (the handshake: for ECDSA the server's chain verified
 * against its CA and the name bench.test), one 16-byte record sent and
 * read back, zsock_close() (close_notify). The server is one socket for
 * the whole run: for DTLS a TLS_DTLS_ROLE_SERVER socket that echoes each
 * record to its sender and goes back to waiting after a client's
 * close_notify (one client at a time, dtls_sock.c's rule); for TLS a
 * listener whose accepted connections are echoed to their end. The echo
 * proves that both ends finished the handshake; the rate is handshakes per
 * second of wall time. TCP_NODELAY is on for the TLS peers (a request and
 * its answer, as with DTLS, which has no Nagle).
 *
 * A bulk window: the sender sends for the warm-up (0.2 s, less in smoke
 * mode) plus N seconds; the receiver opens its window a warm-up after the
 * first datagram and closes it at the last one, counting only what it got.
 * Datagrams the receiver could not take (the engine's receive ring was
 * full) are lost, not retried: *_loss says how many, against what the
 * sender's calls accepted.
 *
 * --seconds N: each measurement's length (default 3). --smoke: a tiny run
 * that checks every figure is there and positive, every handshake was
 * echoed by both ends, the suite used was the one forced, resumed
 * handshakes did resume (and full ones did not), something was delivered
 * in each bulk run, and every DTLS and TLS socket came back (DTLS through
 * zs_dtls_sock_in_use() of tls_bearssl/tls.h, TLS through the engine's
 * statistics); exit status 0 or 1. No figure is ever compared with a
 * threshold: a loaded machine passes.
 *
 * The certificates below were made once with the openssl CLI for this
 * benchmark (EC P-256, valid 2020 to 2120); their keys protect nothing.
 */
#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#include "tls_bearssl/tls.h"   /* zs_dtls_sock_in_use(), zs_dtls_sock_bytes() */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a CA and a server certificate it signed (CN and SAN DNS:bench.test) */
static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBcDCCARWgAwIBAgIBATAKBggqhkjOPQQDAjAeMRwwGgYDVQQDDBN6c29jayBk\n"
	"dGxzIGJlbmNoIENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMjAwMTAxMDAwMDAwWjAe\n"
	"MRwwGgYDVQQDDBN6c29jayBkdGxzIGJlbmNoIENBMFkwEwYHKoZIzj0CAQYIKoZI\n"
	"zj0DAQcDQgAEbj6Lr5RogET6AVWhCbPWK/Jpvpt/0G75+G/Cw4CraBI2W1hx8Ihl\n"
	"C/UrQbGHlkygMJP6Evi+5hIK/nljiqxx06NCMEAwDwYDVR0TAQH/BAUwAwEB/zAO\n"
	"BgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFFmnZRk6hjG+NRhbPvztbwgVqt/QMAoG\n"
	"CCqGSM49BAMCA0kAMEYCIQDyUQzRfgahIU1oSsF7/WRBmwGrilL69nrii9TetXz3\n"
	"qQIhAKXojYYwweZi8cRuHZEHFbeCLuzUfhFMtZyq0sfOaB68\n"
	"-----END CERTIFICATE-----\n";

static const char cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBsTCCAVigAwIBAgIBAjAKBggqhkjOPQQDAjAeMRwwGgYDVQQDDBN6c29jayBk\n"
	"dGxzIGJlbmNoIENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMjAwMTAxMDAwMDAwWjAV\n"
	"MRMwEQYDVQQDDApiZW5jaC50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
	"kv/vquZ3cR2ZfPdgtgIO9inZzfP92nRiSw+fLTIwI5J4AXVdrMt87IZWN65HB2mi\n"
	"DE164b2pApUpM0lAVxVCa6OBjTCBijAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQE\n"
	"AwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAVBgNVHREEDjAMggpiZW5jaC50ZXN0\n"
	"MB8GA1UdIwQYMBaAFFmnZRk6hjG+NRhbPvztbwgVqt/QMB0GA1UdDgQWBBTPcmmY\n"
	"ef/Tc0+aPl2/QoSACThX6DAKBggqhkjOPQQDAgNHADBEAiBA6jHciflYMXufBR+k\n"
	"W+2U6dGtYFQEELMl9h7g3GJRBAIgOd+sYc7eTwoqd4jQFDvBR/PKO8FrX46M45X8\n"
	"wAgNbWE=\n"
	"-----END CERTIFICATE-----\n";

static const char key_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIKAN82iIpk/icaVzcu34K9D6ntpDRrgblqtPptoM4bb5oAoGCCqGSM49\n"
	"AwEHoUQDQgAEkv/vquZ3cR2ZfPdgtgIO9inZzfP92nRiSw+fLTIwI5J4AXVdrMt8\n"
	"7IZWN65HB2miDE164b2pApUpM0lAVxVCaw==\n"
	"-----END EC PRIVATE KEY-----\n";

/* a PSK shared by both ends, under one identity */
static const uint8_t psk_key[16] = { 0x5e, 0x11, 0xa7, 0x03, 0xc9, 0x6d, 0x82, 0x4f,
				     0x1b, 0xe0, 0x37, 0x95, 0x28, 0xfa, 0x64, 0xd6 };
static const char psk_id[] = "dtls-bench";

enum {
	TAG_PSK = 1,        /* both ends of the PSK suites */
	TAG_CA = 2,         /* the ECDSA clients' trust anchor */
	TAG_SERVER_EC = 3,  /* the ECDSA servers' chain and key */
};

#define SERVER_NAME "bench.test"
#define BASE_PORT 4450
#define BULK_RECORD 1024       /* application bytes per datagram in the bulk runs */
#define IO_TIMEOUT_MS 5000     /* a reply that takes longer is a failure */
#define QUIET_MS 20            /* a datagram server looks at its stop flag this often */
#define RX_SIZE 4096

struct suite {
	const char *name;
	int id;                    /* IANA number */
	bool ecdsa;                /* certificates; else the PSK */
};

static const struct suite suites[] = {
	{ "psk_ccm8", 0xC0A8, false },
	{ "psk_gcm", 0x00A8, false },
	{ "ecdsa_ccm8", 0xC0AE, true },
	{ "ecdsa_gcm", 0xC02B, true },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))
enum { PSK_CCM8, PSK_GCM, ECDSA_CCM8, ECDSA_GCM };   /* indices into suites[] */

/* What a run talks over: the protocol, the suite (NULL: plain), the cache. */
struct link {
	int proto;                 /* IPPROTO_DTLS_1_2, IPPROTO_TLS_1_2 or IPPROTO_UDP */
	const struct suite *suite;
	bool cache;                /* TLS_SESSION_CACHE on both ends */
};

static bool smoke;
static int failures;   /* checks that failed (smoke or not): exit status */

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* every thread of the process, the reactor's included */
static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void line(const char *name, double value, const char *unit)
{
	printf("%s %.6g %s\n", name, value, unit);
}

/* A figure that must be positive in smoke mode. */
static void figure(const char *name, double value, const char *unit)
{
	line(name, value, unit);
	if (smoke && !(value > 0)) {
		fprintf(stderr, "dtls_bench: %s is not positive\n", name);
		failures++;
	}
}

/* A check that counts: fmt says what went wrong when !ok. */
static void __attribute__((format(printf, 2, 3))) check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	va_start(ap, fmt);
	fputs("dtls_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static void report(const char *what, int err)
{
	fprintf(stderr, "dtls_bench: %s: %s\n", what, strerror(err));
}

static bool is_stream(const struct link *l)
{
	return l->proto == IPPROTO_TLS_1_2 || l->proto == IPPROTO_TCP;
}

static int set_int(int fd, int level, int name, int v)
{
	return zsock_setsockopt(fd, level, name, &v, sizeof(v));
}

static int get_tls_int(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return zsock_getsockopt(fd, SOL_TLS, name, &v, &len) == 0 ? v : -1;
}

static int set_rcvtimeo(int fd, int ms)
{
	struct zsock_timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* The options both roles share: credentials, cache, Nagle off, reply timeout. */
static bool common_opts(int fd, const struct link *l, bool server)
{
	const struct suite *su = l->suite;
	sec_tag_t tag = su == NULL ? 0 : !su->ecdsa ? TAG_PSK : server ? TAG_SERVER_EC : TAG_CA;

	return (!is_stream(l) || set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) == 0) &&
	       (su == NULL || zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)) == 0) &&
	       (!l->cache || set_int(fd, SOL_TLS, TLS_SESSION_CACHE, TLS_SESSION_CACHE_ENABLED) == 0) &&
	       set_rcvtimeo(fd, server && !is_stream(l) ? QUIET_MS : IO_TIMEOUT_MS) == 0;
}

static bool server_opts(int fd, const struct link *l, const struct sockaddr_in *sa)
{
	return (!is_stream(l) || set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) == 0) &&
	       (l->proto != IPPROTO_DTLS_1_2 ||
		set_int(fd, SOL_TLS, TLS_DTLS_ROLE, TLS_DTLS_ROLE_SERVER) == 0) &&
	       zsock_bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	       (!is_stream(l) || zsock_listen(fd, 4) == 0);
}

/* The client's: the suite forced, the name checked, connect (the handshake). */
static bool client_opts(int fd, const struct link *l, const struct sockaddr_in *sa)
{
	const struct suite *su = l->suite;

	return (su == NULL || set_int(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, su->id) == 0) &&
	       (su == NULL || !su->ecdsa ||
		zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, SERVER_NAME, sizeof(SERVER_NAME)) == 0) &&
	       zsock_connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
}

/*
 * A socket of link l on 127.0.0.1:port: a server bound there (listening
 * for a stream), or a client connected to it (for TLS and DTLS: with the
 * handshake done). Returns the fd, or -1 (reported).
 */
static int link_open(const struct link *l, bool server, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = zsock_socket(AF_INET, is_stream(l) ? SOCK_STREAM : SOCK_DGRAM, l->proto);
	bool ok;

	zsock_inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0) {
		report("socket", errno);
		return -1;
	}
	ok = common_opts(fd, l, server) &&
	     (server ? server_opts(fd, l, &sa) : client_opts(fd, l, &sa));
	if (!ok) {
		report(server ? "server: set-up" : "client: set-up or connect", errno);
		zsock_close(fd);
		return -1;
	}
	return fd;
}

/* ---- the server thread ------------------------------------------------------------- */

/*
 * One server socket until stopped. Echo mode: every record (datagram) or
 * every byte (stream) goes back to its sender. Count mode (bulk, datagrams
 * only): records are counted, and timed as the header says.
 */
struct server {
	const struct link *l;
	int fd;
	pthread_t thread;
	bool count;
	double warmup;
	_Atomic bool stop;
	/* results, read after the join */
	unsigned long served;      /* echo: records (datagram) or connections (stream) echoed */
	unsigned long failed;
	int first_err;
	unsigned long long records, bytes;
	unsigned long long mark_bytes, window_bytes; /* at the mark; from the mark to the last */
	double first, mark, last;
};

static unsigned char rx_buf[RX_SIZE];   /* the server thread's */

static void server_fail(struct server *s, const char *what, int err)
{
	report(what, err);
	if (s->failed++ == 0)
		s->first_err = err;
}

static void tally(struct server *s, size_t n)
{
	double t = now_s();

	if (s->records++ == 0)
		s->first = t;
	s->bytes += n;
	s->last = t;
	if (s->mark == 0 && t - s->first >= s->warmup) {
		s->mark = t;
		s->mark_bytes = s->bytes;
	}
}

static void dgram_serve(struct server *s)
{
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = zsock_recvfrom(s->fd, rx_buf, sizeof(rx_buf), 0,
					   (struct sockaddr *)&from, &fl);

		if (n < 0 && errno != EAGAIN) {
			server_fail(s, "server: recvfrom", errno);
			break;
		}
		if (n < 0) {
			if (atomic_load(&s->stop))
				break;   /* quiet for QUIET_MS: everything sent was read */
			continue;
		}
		if (s->count) {
			tally(s, (size_t)n);
		} else if (zsock_sendto(s->fd, rx_buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n) {
			s->served++;
		} else {
			server_fail(s, "server: sendto", errno);
		}
	}
	s->window_bytes = s->mark > 0 ? s->bytes - s->mark_bytes : 0;
}

/* Echo what c sends until its end (a 0 from recv); true if it got there. */
static bool echo_stream(struct server *s, int c)
{
	ssize_t n;

	while ((n = zsock_recv(c, rx_buf, sizeof(rx_buf), 0)) > 0) {
		if (zsock_send(c, rx_buf, (size_t)n, 0) != n) {
			server_fail(s, "server: send", errno);
			return false;
		}
	}
	if (n < 0)
		server_fail(s, "server: recv", errno);
	return n == 0;
}

static void stream_serve(struct server *s)
{
	for (;;) {
		int c = zsock_accept(s->fd, NULL, NULL);

		if (c < 0) {
			int err = errno;

			if (atomic_load(&s->stop))
				break;
			server_fail(s, "server: accept", err);
			if (err == EBADF || err == EINVAL)
				break;
			continue;
		}
		if (set_rcvtimeo(c, IO_TIMEOUT_MS) < 0)
			server_fail(s, "server: SO_RCVTIMEO", errno);
		if (echo_stream(s, c))
			s->served++;
		zsock_close(c);
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	if (is_stream(s->l))
		stream_serve(s);
	else
		dgram_serve(s);
	return NULL;
}

static int server_start(struct server *s, const struct link *l, uint16_t port, bool count)
{
	int rc;

	*s = (struct server){ .l = l, .count = count, .warmup = smoke ? 0.02 : 0.2 };
	s->fd = link_open(l, true, port);
	if (s->fd < 0) {
		failures++;
		return -1;
	}
	rc = pthread_create(&s->thread, NULL, server_main, s);
	if (rc != 0) {
		report("pthread_create", rc);
		zsock_close(s->fd);
		failures++;
	}
	return rc == 0 ? 0 : -1;
}

/*
 * Stop. A datagram server ends once it has been quiet for QUIET_MS after
 * the flag; a listener is closed under its accept, which wakes (EINTR).
 */
static void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	if (is_stream(s->l))
		zsock_close(s->fd);
	pthread_join(s->thread, NULL);
	if (!is_stream(s->l))
		zsock_close(s->fd);
	check(s->failed == 0, "the server saw %lu failures, the first: %s", s->failed,
	      strerror(s->first_err));
}

/* ---- handshakes ---------------------------------------------------------------------- */

struct round {
	int suite;                 /* TLS_CIPHERSUITE_USED */
	bool resumed;
};

/* Read len bytes (a stream may give them in pieces). */
static bool recv_all(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = zsock_recv(fd, buf + got, len - got, 0);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* One handshake as counted (see the header). Returns false on failure (reported). */
static bool client_round(const struct link *l, uint16_t port, struct round *r)
{
	static const char ping[16] = "dtls_bench ping";
	char back[sizeof(ping)];
	int fd = link_open(l, false, port);
	bool ok;

	if (fd < 0)
		return false;
	r->suite = get_tls_int(fd, TLS_CIPHERSUITE_USED);
	r->resumed = get_tls_int(fd, ZSOCK_TLS_SESSION_RESUMED) == 1;
	ok = zsock_send(fd, ping, sizeof(ping), 0) == (ssize_t)sizeof(ping) &&
	     recv_all(fd, back, sizeof(back)) && memcmp(back, ping, sizeof(ping)) == 0;
	if (!ok)
		report("client: the echo", errno);
	zsock_close(fd);
	return ok;
}

/* Handshakes per second over link l; each round on its own client socket. */
static double bench_handshakes(const char *name, const struct link *l, uint16_t port,
			       double seconds)
{
	unsigned long n = 0, resumed = 0, wrong = 0, min_n = smoke ? 3 : 10;
	double t0, c0, t = 0, cpu = 0, slowest = 0;
	struct server srv;
	struct round r = { 0 };
	char cpu_name[96];
	bool ok;

	if (server_start(&srv, l, port, false) < 0)
		return 0;
	/* warm-up; with the cache, the session that the counted rounds resume */
	ok = client_round(l, port, &r);
	t0 = now_s();
	c0 = cpu_s();
	while (ok && (n < min_n || now_s() - t0 < seconds)) {
		double h = now_s();

		ok = client_round(l, port, &r);
		if (!ok)
			break;
		h = now_s() - h;
		slowest = h > slowest ? h : slowest;
		n++;
		resumed += r.resumed;
		wrong += r.suite != l->suite->id;
	}
	t = now_s() - t0;
	cpu = cpu_s() - c0;
	server_stop(&srv);

	printf("# %s: suite 0x%04X, %lu handshakes in %.3f s (slowest %.2f ms), %lu resumed, "
	       "%lu echoed by the server\n", name, (unsigned)r.suite, n, t, slowest * 1e3, resumed,
	       srv.served);
	check(ok, "%s: round %lu failed", name, n + 1);
	check(wrong == 0, "%s: %lu handshakes did not use 0x%04X", name, wrong,
	      (unsigned)l->suite->id);
	check(resumed == (l->cache ? n : 0), "%s: %lu of %lu resumed, expected %s", name, resumed, n,
	      l->cache ? "all" : "none");
	check(srv.served == n + 1, "%s: the server echoed %lu, the client counted %lu + 1", name,
	      srv.served, n);
	figure(name, n > 0 ? (double)n / t : 0, "handshakes/s");
	snprintf(cpu_name, sizeof(cpu_name), "%s_cpu", name);
	figure(cpu_name, n > 0 ? cpu * 1e6 / (double)n : 0, "us");
	return n > 0 ? (double)n / t : 0;
}

/* ---- bulk ------------------------------------------------------------------------------- */

static unsigned char tx_buf[BULK_RECORD];

/* Send BULK_RECORD-byte datagrams on fd until `end`; returns those the calls took. */
static unsigned long send_until(int fd, double end, unsigned long *refused)
{
	unsigned long sent = 0;

	while (now_s() < end) {
		ssize_t w = zsock_send(fd, tx_buf, sizeof(tx_buf), 0);

		if (w == (ssize_t)sizeof(tx_buf)) {
			sent++;
		} else if (w < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == ENOMEM)) {
			(*refused)++;   /* no room in the transport now: as lost */
		} else {
			report("client: send", w < 0 ? errno : EIO);
			failures++;
			break;
		}
	}
	return sent;
}

/* One way, client to server, over link l. Returns delivered MB/s, 0 on failure. */
static double bench_bulk(const char *name, const struct link *l, uint16_t port, double seconds)
{
	struct zsock_engine_stats st0 = { 0 }, st1 = { 0 };
	unsigned long sent, refused = 0;
	struct server srv;
	double rate = 0, window;
	char loss_name[96];
	int fd;

	if (server_start(&srv, l, port, true) < 0)
		return 0;
	fd = link_open(l, false, port);
	if (fd < 0) {
		failures++;
		server_stop(&srv);
		return 0;
	}
	if (l->suite != NULL) {
		int used = get_tls_int(fd, TLS_CIPHERSUITE_USED);

		printf("# %s: suite 0x%04X\n", name, (unsigned)used);
		check(used == l->suite->id, "%s: suite 0x%04X used, 0x%04X forced", name,
		      (unsigned)used, (unsigned)l->suite->id);
	}
	memset(tx_buf, 0x5a, sizeof(tx_buf));
	zsock_engine_stats(&st0);
	sent = send_until(fd, now_s() + srv.warmup + seconds, &refused);
	server_stop(&srv);   /* it reads what is queued first */
	zsock_engine_stats(&st1);
	zsock_close(fd);

	window = srv.mark > 0 ? srv.last - srv.mark : 0;
	if (window > 0)
		rate = (double)srv.window_bytes / window / 1e6;
	printf("# %s: %lu sent (%lu more refused by the transport), %llu delivered, %llu bytes "
	       "in a %.3f s window; engine rx_drops +%llu, tx_drops +%llu\n", name, sent, refused,
	       srv.records, srv.window_bytes, window,
	       (unsigned long long)(st1.rx_drops - st0.rx_drops),
	       (unsigned long long)(st1.tx_drops - st0.tx_drops));
	check(srv.records > 0 && srv.records <= sent, "%s: %llu delivered of %lu sent", name,
	      srv.records, sent);
	figure(name, rate, "MB/s");
	snprintf(loss_name, sizeof(loss_name), "%s_loss", name);
	line(loss_name, sent > 0 ? 1.0 - (double)srv.records / (double)sent : 0, "fraction");
	return rate;
}

/* ---- memory, slots ------------------------------------------------------------------------ */

static void bench_ram(void)
{
	struct zsock_engine_footprint fp;

	figure("ram_dtls_socket", (double)zs_dtls_sock_bytes(), "bytes");
	figure("dtls_datagram_size", CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE, "bytes");
	if (zsock_engine_footprint(&fp) == 0)
		printf("# under each DTLS socket a UDP socket of %u bytes; a TLS connection: %u + %u "
		       "+ %u bytes (socket, session, TCP); %d DTLS sockets, static DTLS RAM %zu "
		       "bytes\n", fp.udp_socket_bytes, fp.tls_socket_bytes, fp.tls_session_bytes,
		       fp.tcp_conn_bytes, CONFIG_ZSOCK_DTLS_SOCKETS, zs_dtls_static_bytes());
}

/* Every DTLS and TLS socket back once the last one closed (a closing one
 * may hold its slot a moment longer). */
static void check_slots(void)
{
	struct zsock_engine_stats st;
	double until = now_s() + 2;
	uint32_t dtls;

	for (;;) {
		dtls = zs_dtls_sock_in_use();
		if (zsock_engine_stats(&st) < 0)
			memset(&st, 0, sizeof(st));
		if ((dtls == 0 && st.tls_in_use == 0 && st.tls_sessions_in_use == 0) ||
		    now_s() >= until)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	check(dtls == 0 && st.tls_in_use == 0 && st.tls_sessions_in_use == 0,
	      "after every close: %u DTLS sockets, %u TLS sockets, %u TLS sessions still taken",
	      dtls, st.tls_in_use, st.tls_sessions_in_use);
	printf("# high water: DTLS sockets %u of %d, TLS sockets %u, TLS sessions %u\n",
	       zs_dtls_sock_high_water(), CONFIG_ZSOCK_DTLS_SOCKETS, st.tls_high_water,
	       st.tls_sessions_high_water);
}

/* ---- main ---------------------------------------------------------------------------------- */

static bool add(sec_tag_t tag, enum tls_credential_type type, const void *cred, size_t len)
{
	int rc = tls_credential_add(tag, type, cred, len);

	if (rc < 0)
		fprintf(stderr, "dtls_bench: tls_credential_add(%d, %d): %s\n", tag, (int)type,
			strerror(-rc));
	return rc == 0;
}

static bool add_credentials(void)
{
	return add(TAG_PSK, TLS_CREDENTIAL_PSK, psk_key, sizeof(psk_key)) &&
	       add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, psk_id, strlen(psk_id)) &&
	       add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, ca_pem, sizeof(ca_pem)) &&
	       add(TAG_SERVER_EC, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, cert_pem, sizeof(cert_pem)) &&
	       add(TAG_SERVER_EC, TLS_CREDENTIAL_PRIVATE_KEY, key_pem, sizeof(key_pem));
}

static void ratio(const char *name, double num, double den)
{
	figure(name, den > 0 ? num / den : 0, "ratio");
}

static void usage(void)
{
	fprintf(stderr, "usage: dtls_bench [--seconds N] [--smoke]\n");
	exit(2);
}

/* --seconds N and --smoke (which sets its own length); the seconds to run each figure. */
static double parse_args(int argc, char **argv)
{
	double seconds = 3;
	char *end;

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--smoke") == 0)
			smoke = true;
		else if (strcmp(argv[a], "--seconds") != 0 || a + 1 == argc ||
			 !((seconds = strtod(argv[++a], &end)) > 0) || *end != 0)
			usage();
	}
	return smoke ? 0.1 : seconds;
}

/* Every handshake figure and the DTLS-over-TLS ratios; ports from *port on. */
static void run_handshakes(uint16_t *port, double seconds)
{
	double dtls[NSUITES], tls_ccm8, tls_gcm, tls_ecdsa;
	char name[64];

	for (size_t i = 0; i < NSUITES; i++) {
		snprintf(name, sizeof(name), "dtls_handshake_%s", suites[i].name);
		dtls[i] = bench_handshakes(name, &(struct link){ IPPROTO_DTLS_1_2, &suites[i], false },
					   (*port)++, seconds);
	}
	bench_handshakes("dtls_handshake_resumed_psk_gcm",
			 &(struct link){ IPPROTO_DTLS_1_2, &suites[PSK_GCM], true }, (*port)++, seconds);
	bench_handshakes("dtls_handshake_resumed_ecdsa_gcm",
			 &(struct link){ IPPROTO_DTLS_1_2, &suites[ECDSA_GCM], true }, (*port)++,
			 seconds);
	tls_ccm8 = bench_handshakes("tls_psk_handshake_ccm8",
				    &(struct link){ IPPROTO_TLS_1_2, &suites[PSK_CCM8], false },
				    (*port)++, seconds);
	tls_gcm = bench_handshakes("tls_psk_handshake_gcm",
				   &(struct link){ IPPROTO_TLS_1_2, &suites[PSK_GCM], false },
				   (*port)++, seconds);
	tls_ecdsa = bench_handshakes("tls_handshake_ecdsa_gcm",
				     &(struct link){ IPPROTO_TLS_1_2, &suites[ECDSA_GCM], false },
				     (*port)++, seconds);
	ratio("ratio_dtls_tls_psk_ccm8", dtls[PSK_CCM8], tls_ccm8);
	ratio("ratio_dtls_tls_psk_gcm", dtls[PSK_GCM], tls_gcm);
	ratio("ratio_dtls_tls_ecdsa_gcm", dtls[ECDSA_GCM], tls_ecdsa);
}

/* Plain UDP, then each suite, then the DTLS-over-UDP ratios. */
static void run_bulk(uint16_t *port, double seconds)
{
	double dtls[NSUITES], udp;
	char name[64];
	size_t i;

	udp = bench_bulk("udp_bulk", &(struct link){ IPPROTO_UDP, NULL, false }, (*port)++, seconds);
	for (i = 0; i < NSUITES; i++) {
		snprintf(name, sizeof(name), "dtls_bulk_%s", suites[i].name);
		dtls[i] = bench_bulk(name, &(struct link){ IPPROTO_DTLS_1_2, &suites[i], false },
				     (*port)++, seconds);
	}
	for (i = 0; i < NSUITES; i++) {
		snprintf(name, sizeof(name), "ratio_dtls_udp_%s", suites[i].name);
		ratio(name, dtls[i], udp);
	}
}

int main(int argc, char **argv)
{
	double seconds;
	uint16_t port = BASE_PORT;

	setvbuf(stdout, NULL, _IOLBF, 0); /* figures and errors in the order they happen */
	seconds = parse_args(argc, argv);
	printf("# %.3g s per measurement, %d-byte bulk records\n", seconds, BULK_RECORD);
	if (!add_credentials())
		return 1;
	run_handshakes(&port, seconds);
	run_bulk(&port, seconds);
	bench_ram();
	check_slots();
	if (failures > 0)
		fprintf(stderr, "dtls_bench: %d check(s) failed\n", failures);
	else if (smoke)
		printf("# smoke: ok\n");
	return failures > 0 ? 1 : 0;
}
