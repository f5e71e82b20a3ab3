/*
 * tls_bench: what TLS over BearSSL costs on zsock.
 *
 *   tls_bench [--seconds N] [--nodelay] [--smoke]
 *
 * Everything runs over the engine's loopback (127.0.0.1) in one process:
 * the client in the main thread, the server in a second thread, as the
 * other benchmarks do (docs/benchmarks.md). BearSSL works in the calling
 * threads, so a handshake costs the client's and the server's thread one
 * after the other, plus the reactor moving the TCP segments.
 *
 * Output: one line per figure, "name value unit"; lines starting with '#'
 * say what was negotiated. MB is 10^6 bytes.
 *
 *   handshake_full_ecdsa_p256     handshakes/s  full handshakes, server
 *   handshake_full_rsa2048        handshakes/s  certificate ECDSA P-256 or
 *                                               RSA-2048, the suite BearSSL
 *                                               picks by default
 *   handshake_resumed             handshakes/s  abbreviated handshakes
 *                                               (TLS_SESSION_CACHE on both
 *                                               ends, ECDSA certificate)
 *   *_cpu                         us            process CPU time (every
 *                                               thread, reactor included)
 *                                               per handshake
 *   bulk_tcp                      MB/s          one way, 16 KiB sends, plain
 *                                               zsock TCP
 *   bulk_tls_aes128gcm            MB/s          the same over TLS with
 *   bulk_tls_chacha20poly1305     MB/s          ECDHE_ECDSA_WITH_AES_128_GCM_
 *                                               SHA256 / _CHACHA20_POLY1305_
 *                                               SHA256
 *   ratio_tls_aes128gcm_tcp       ratio         TLS over TCP of the same run
 *   ratio_tls_chacha20poly1305_tcp ratio
 *   ram_tls_socket                bytes         one TLS socket object (options,
 *                                               state, credentials)
 *   ram_tls_session               bytes         one TLS session (BearSSL context,
 *                                               X.509 state, I/O buffer)
 *   ram_tcp_conn                  bytes         what the TCP under it costs
 *   ram_tls_conn                  bytes         the three together
 *   tls_iobuf_size                bytes         CONFIG_ZSOCK_TLS_IOBUF_SIZE
 *
 * A handshake, as counted: on the client zsock_socket(), the TLS options,
 * zsock_connect() (TCP connect, then the handshake, with the server's chain
 * verified against its CA and the name bench.test), zsock_close(); on the
 * server zsock_accept() (which returns once its side of the handshake is
 * done), zsock_recv() until the client's close, zsock_close(). The client
 * closes only after the server's accept has returned (an atomic counter
 * between the threads, no data on the wire), so each one counted was
 * completed by both ends; the rate is those per second of wall time.
 * (The wait matters: a close_notify that reaches a peer in the same read
 * as the other end's last handshake flight makes that peer's handshake
 * fail with ECONNABORTED in tls_bearssl/tls_sock.c today.)
 *
 * A bulk window: the receiver starts it after a warm-up (0.2 s, less in
 * smoke mode) and ends it when the sender's stream ends, so everything
 * sent has been received and decrypted. The sender ends a TLS stream
 * with zsock_shutdown(SHUT_WR), which waits until BearSSL's records and
 * the close_notify are in TCP.
 *
 * --seconds N: each measurement's length (default 3). --nodelay: set
 * TCP_NODELAY on every socket (Nagle's algorithm off; the default keeps
 * it on, as a plain application would). --smoke: a tiny run
 * that checks that every figure is there and positive, that resumed
 * handshakes did resume, that the suites asked for were the ones used and
 * that every TLS socket and session came back; exit status 0 or 1. No figure is ever
 * compared with a threshold: a loaded machine passes.
 *
 * The certificates below were made once with the openssl CLI for this
 * benchmark (valid 2020 to 2120); their keys protect nothing.
 */
#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* EC P-256: a CA and a server certificate it signed (CN, SAN DNS:bench.test) */
static const char ec_ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBazCCARGgAwIBAgIBATAKBggqhkjOPQQDAjAcMRowGAYDVQQDDBF6c29jayBi\n"
	"ZW5jaCBFQyBDQTAgFw0yMDAxMDEwMDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowHDEa\n"
	"MBgGA1UEAwwRenNvY2sgYmVuY2ggRUMgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMB\n"
	"BwNCAAQFS8/rUkKvY99JYrwFrxQaMKlr4Bc6i/H2uxU/hFWmeJJ1tL60Qf1cwgup\n"
	"BKraYCNV5S6P0Hf9Ld/tryJsTh7Ao0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1Ud\n"
	"DwEB/wQEAwIBBjAdBgNVHQ4EFgQUZ35zOMb3aPPN3ETbUcPqxKlNlGAwCgYIKoZI\n"
	"zj0EAwIDSAAwRQIgUv3JzKMNIbl3OF/SYcs7KldV/270FR6wF77mTJ1ZvAQCIQCU\n"
	"viJqDM71GF/nKEDRceEBasHB+FS77yZz/lTnPPcEgQ==\n"
	"-----END CERTIFICATE-----\n";

static const char ec_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBsDCCAVagAwIBAgIBAjAKBggqhkjOPQQDAjAcMRowGAYDVQQDDBF6c29jayBi\n"
	"ZW5jaCBFQyBDQTAgFw0yMDAxMDEwMDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowFTET\n"
	"MBEGA1UEAwwKYmVuY2gudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFO/\n"
	"m0ennoDn2hZiWJOMCUtk9aKcfQVJEdaq47hZvhnKO4xaiY8P31ncsZsYkJNbjV6a\n"
	"nf6GInUxnU51SPAkUw2jgY0wgYowDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMC\n"
	"BaAwEwYDVR0lBAwwCgYIKwYBBQUHAwEwFQYDVR0RBA4wDIIKYmVuY2gudGVzdDAf\n"
	"BgNVHSMEGDAWgBRnfnM4xvdo883cRNtRw+rEqU2UYDAdBgNVHQ4EFgQUQCx6Uu6O\n"
	"Z15hqb3t5UY5O9t8abwwCgYIKoZIzj0EAwIDSAAwRQIhAPvMe9cBQffgDN6FW+YT\n"
	"cSUwZMYbWtkZZeTr51LdgbrnAiBcka5qXXc79T1D1elcPNodiutIWH0zcg6hLaih\n"
	"ipM5yw==\n"
	"-----END CERTIFICATE-----\n";

static const char ec_key_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIFgezN0OZgIAoL9mMvnkK1zxH0obvRcEaLIgI76O25ykoAoGCCqGSM49\n"
	"AwEHoUQDQgAEU7+bR6eegOfaFmJYk4wJS2T1opx9BUkR1qrjuFm+Gco7jFqJjw/f\n"
	"WdyxmxiQk1uNXpqd/oYidTGdTnVI8CRTDQ==\n"
	"-----END EC PRIVATE KEY-----\n";

/* RSA-2048: a CA and a server certificate it signed (CN, SAN DNS:bench.test) */
static const char rsa_ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIC+TCCAeGgAwIBAgIBAzANBgkqhkiG9w0BAQsFADAdMRswGQYDVQQDDBJ6c29j\n"
	"ayBiZW5jaCBSU0EgQ0EwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBa\n"
	"MB0xGzAZBgNVBAMMEnpzb2NrIGJlbmNoIFJTQSBDQTCCASIwDQYJKoZIhvcNAQEB\n"
	"BQADggEPADCCAQoCggEBAMsR7qzDL5R+xIiGBeiraqFmOixMwB4PWR0WkW3floSL\n"
	"dSGRlWZGpffxubMjqzGrSLEyUNLaX9r0n48dQv7z4+KEIhv1H9dB1oTpg5Oqqtm1\n"
	"3dkin7NT5/r5tNyApMDPXeDMDRlXHENESmY6PVaeBKxhc5auqFJ8eBKXDw94y98b\n"
	"A6Iy/dbsorgYJvyULDfb0hLunxJ7oDt3zJt5Ae9XcGZvDZZ/Gi19Q8oAiQI6GubS\n"
	"FUIbUug+a/yIumHgm2AY7Lv//slAXUL9bWtEbaeFtJsMz6sarUJj+jRD5PDYT5VR\n"
	"oWXhQx67BCy8miDqzP0FGTJl/6pc8d29fq9Lk1RPMdsCAwEAAaNCMEAwDwYDVR0T\n"
	"AQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFOFe+cay0wnVbyxw\n"
	"Q9TPTK6Dlu6MMA0GCSqGSIb3DQEBCwUAA4IBAQApc6HtZhyhBuuzC/TCyGctbo6t\n"
	"NIjgeZgjWha/VpDKo2zZ5eTm0eT5tIHiMrYU+SA4a4MLLPkr6NvpqM6n4EeUH5gO\n"
	"WbDCE6UGpteXm/GID4Q2KF4sTNptHKeYns+lfO7/6f/uNLX/vogCJpOrutpIur0x\n"
	"KHe9c+YorpMMdUBgOayOGCc9bVRUiDOJCa6cp3HJxVwSxGf2/igEa8kGOKZ6VumD\n"
	"5k+oLWDByxp3iu8h8sVRL0JghkSgVngi8nYKm0aVhGrm3QjQEPlE8ZptG/Rq8W+M\n"
	"VzlEnuryEVxfUPqGVxqEIVVuQ5ATO4mNX3cMA/ciP+dNAk5prf4nWmjJ482d\n"
	"-----END CERTIFICATE-----\n";

static const char rsa_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIDPTCCAiWgAwIBAgIBBDANBgkqhkiG9w0BAQsFADAdMRswGQYDVQQDDBJ6c29j\n"
	"ayBiZW5jaCBSU0EgQ0EwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBa\n"
	"MBUxEzARBgNVBAMMCmJlbmNoLnRlc3QwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAw\n"
	"ggEKAoIBAQDXUcJ+4QzrSxj7Z8OircM3OQWRv/UH9zDhp41WzeQRQ4xErFizgTaT\n"
	"IiLoCOYp4LkH+FLOlDQnYL3wAcviViY4UXBQ5kXaJblBdVQK2hs7eyXm1t7pQ8sA\n"
	"j9lvm43irxVd2M0dM2nOuq9leEo7McXWI7Sj9tVS2j31fNLH711gWE0Jflp4Tgrb\n"
	"/p0tBY40c3BbwhkjcCIXCBbVVsQ/uXIcdXhYnnuvWIXUlRgqr0+mEwiqV7b1tfCt\n"
	"4ke2k3F/m71ylC0ldh+vEIYMu+PjKeVV6qeoLIFDakzGvuh2YpyZee+IV0hfPztA\n"
	"xvNF8viRqqqP/83aKZIOh9qX6grXvkxXAgMBAAGjgY0wgYowDAYDVR0TAQH/BAIw\n"
	"ADAOBgNVHQ8BAf8EBAMCBaAwEwYDVR0lBAwwCgYIKwYBBQUHAwEwFQYDVR0RBA4w\n"
	"DIIKYmVuY2gudGVzdDAfBgNVHSMEGDAWgBThXvnGstMJ1W8scEPUz0yug5bujDAd\n"
	"BgNVHQ4EFgQUmjGE5i+/rrJSZy2MON4HPz6YSfgwDQYJKoZIhvcNAQELBQADggEB\n"
	"AGfz7pP+W6p0fNEM78SMRSXb5GlXLF6uzlpuOk0MZ+VhdOqWTQq43o9+F3y7U/Na\n"
	"Ryg46kMwHqXXiYqYPBrh9rLeggeiib8R9/7JpZGD6XHSIhynZjtFeYEOmgMWfUz2\n"
	"1UB9bd3wzqyXzlInhuTHr1SJihUmeGO7D28EgrVx6RjasD1eeDNzwqA3tOyrzPfj\n"
	"kDakWsKaJB6zsP/6QbzI+of1Lino66RMqs1Bc4Dv1B2ot8aJoFWT13ryxyzaYagf\n"
	"uHlXjsLfjyk0mgz20ipfCBzfghYdjQogSI9IihgWpv6oJp9T7aMePBP4XrcqtF56\n"
	"AxgWVdS6xyUakNcTIXCfkTI=\n"
	"-----END CERTIFICATE-----\n";

static const char rsa_key_pem[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIIEowIBAAKCAQEA11HCfuEM60sY+2fDoq3DNzkFkb/1B/cw4aeNVs3kEUOMRKxY\n"
	"s4E2kyIi6AjmKeC5B/hSzpQ0J2C98AHL4lYmOFFwUOZF2iW5QXVUCtobO3sl5tbe\n"
	"6UPLAI/Zb5uN4q8VXdjNHTNpzrqvZXhKOzHF1iO0o/bVUto99XzSx+9dYFhNCX5a\n"
	"eE4K2/6dLQWONHNwW8IZI3AiFwgW1VbEP7lyHHV4WJ57r1iF1JUYKq9PphMIqle2\n"
	"9bXwreJHtpNxf5u9cpQtJXYfrxCGDLvj4ynlVeqnqCyBQ2pMxr7odmKcmXnviFdI\n"
	"Xz87QMbzRfL4kaqqj//N2imSDofal+oK175MVwIDAQABAoIBABPMeqK5upCM1w8Q\n"
	"SK7Aj+btMS695LU8TLwwcMXOvc4RP33LDobxoTKLR4QS2Wh4DPDc1m8UtUJPr3dj\n"
	"uuXPf8kwQoXLKW4jMjMrgN7/P3911ejcJiLIhItDLukHzSv5vHBk2zYjAEjYOquN\n"
	"EYpQNn2idTLvI0jF35T0oC8ZOqVSnf33cPkjb8NYy02xf+2RR/GUQlNIjU+NKPdd\n"
	"W21b9VtzVlJ0vcwkWBM8fIpAPauZKqYNtVHNnoN6lxtvwFh13FMlK0acfy86rRsV\n"
	"8Z4ZON9ND55q4nhPlhoZWzAg9aBOd4Fg4cdv2OtAVCg56wZy3lIBmDHQimhxVhqK\n"
	"ti2h3NECgYEA+iM0R1+yvOIMEB/picR9VfuKlXdccIbGvC53vmcayT7dr+XLIYC7\n"
	"iUwbjTVsJ5Kd+vsDOdxYNfzAaBp7V0Tqxjw03sa8SJd23r8Wig4QjzXidp6sZOKS\n"
	"6mHGNd3kP9DyG5q/ijru44AZSAsU9XERt1pJ0Dxa+Wcml0JgDDzL2BECgYEA3F2m\n"
	"mDVMsmst4H/WvTqEl53w1/B2iWg3wnfffezA9ERRntb3OWCSin0F/u3k31csJRcB\n"
	"QHMGliHsUJ+P+RWz1ACMciuAxm4Md24HXjwJyEr7yIbVpuUOI7ZafBXp5n1ZROZY\n"
	"7WOMksiP9P8e++IBcV7oRecDgvfAXq0Ubp02BecCgYAYbF2LZoWuOagR3vvPjtbq\n"
	"EVB7vZbSCebXsvXQKoMMCU5eAWLvF4G4Ky05gXDZAFDak63B9YjLZK1ovMU0RS9j\n"
	"Qber1N3HfLqHj0LlIfBt+0XsbRvKEfFkXz2aPtste/pXxalUFuMCZZySUzqtqGeh\n"
	"bnhsk6gSWAcFl96G81y38QKBgQDVeCsv+0Hm/Iiel3hwKsXTEf8DUD+j8D9DtVfc\n"
	"5oIsnhnrIxaukGykl2Q9hjpWWF29OEHQKx1QRmBj4Y5YnrtrPXTQDHBcyLJu5zlg\n"
	"Agz/6BNsN6G0YOOHmNiip5/D1d2qLvIqVGsSrhM2JAXhvxfiuSuMu7LdJh9GF6hZ\n"
	"VxXENQKBgCjq1q7Y8RTuhIOKP3XfSv83bc4cyKN7UfoG6DcQxNzo9bLlwDNnhPFZ\n"
	"3r/luKf2oO1qSwrCfCh2HtTUj7DmZr5HV9ookKMszF1UO26dIieo4/GzNAm+g7Fu\n"
	"kvcGpR+lVKrL+UGIHyTnG8P+ceb2+SPn7V+kQj3aZ1KDRfwdlBUn\n"
	"-----END RSA PRIVATE KEY-----\n";

enum {
	TAG_CA_EC = 1,    /* the client's trust anchors */
	TAG_CA_RSA = 2,
	TAG_SERVER_EC = 10,
	TAG_SERVER_RSA = 20,
};

#define SERVER_NAME "bench.test"
#define BASE_PORT 4430
#define SEND_SIZE (16 * 1024)
#define RECV_SIZE (64 * 1024)

/* IANA numbers of the suites the bulk runs ask for */
#define SUITE_ECDHE_ECDSA_AES_128_GCM_SHA256 0xC02B
#define SUITE_ECDHE_ECDSA_CHACHA20_POLY1305_SHA256 0xCCA9

static bool smoke;
static bool nodelay;
static int failures;   /* checks that failed (smoke or not): exit status */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void figure(const char *name, double value, const char *unit)
{
	printf("%s %.6g %s\n", name, value, unit);
	if (smoke && !(value > 0)) {
		fprintf(stderr, "tls_bench: %s is not positive\n", name);
		failures++;
	}
}

/* What went wrong on fd: errno's text and, for a TLS socket, BearSSL's code. */
static void report(const char *what, int fd, int err)
{
	int last = 0;
	socklen_t len = sizeof(last);

	if (fd >= 0 && zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_LAST_ERROR, &last, &len) == 0 && last != 0)
		fprintf(stderr, "tls_bench: %s: %s (BearSSL error %d)\n", what, strerror(err), last);
	else
		fprintf(stderr, "tls_bench: %s: %s\n", what, strerror(err));
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	zsock_inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	return sa;
}

/* ---- the server thread ------------------------------------------------------ */

/*
 * Serves one listener until stopped: accept (for TLS: the handshake), read
 * to the end of the stream, close. For the bulk runs it also times what it
 * reads: the window opens `warmup` seconds after the first byte and closes
 * at the end of the stream.
 */
struct server {
	int lfd;
	pthread_t thread;
	double warmup;
	_Atomic bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long accepts;          /* accept calls returned (fd or error); lock */
	_Atomic unsigned long finished; /* connections read to their end or failed */
	/* results, read after the join */
	unsigned long accepted;
	unsigned long failed;      /* accepts or reads that failed */
	int first_err;             /* errno of the first failure */
	unsigned long long window_bytes;
	double window_s;
};

static unsigned char rx_buf[RECV_SIZE];

static void server_fail(struct server *s, int err)
{
	if (s->failed++ == 0)
		s->first_err = err;
}

static void server_read(struct server *s, int c)
{
	unsigned long long total = 0, mark_bytes = 0;
	double first = 0, mark = 0;
	bool marked = false;
	ssize_t n;

	while ((n = zsock_recv(c, rx_buf, sizeof(rx_buf), 0)) > 0) {
		if (total == 0)
			first = now_s();
		total += (unsigned long long)n;
		if (!marked && now_s() - first >= s->warmup) {
			mark = now_s();
			mark_bytes = total;
			marked = true;
		}
	}
	if (n < 0) {
		report("server: recv", c, errno);
		server_fail(s, errno);
		return;
	}
	if (total > 0 && marked && total > mark_bytes) {
		s->window_bytes = total - mark_bytes;
		s->window_s = now_s() - mark;
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	for (;;) {
		int c = zsock_accept(s->lfd, NULL, NULL);
		int err = errno;

		pthread_mutex_lock(&s->lock);
		s->accepts++;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (c < 0) {
			if (atomic_load(&s->stop))
				break;
			report("server: accept", -1, err);
			server_fail(s, err);
			if (err == EBADF || err == EINVAL)
				break;
			continue;
		}
		s->accepted++;
		server_read(s, c);
		zsock_close(c);
		atomic_fetch_add(&s->finished, 1);
	}
	return NULL;
}

/* A listener on 127.0.0.1:port: TLS with the server credentials of tag, or
 * plain TCP when tag is 0. */
static int listener_open(uint16_t port, sec_tag_t tag, bool cache)
{
	struct sockaddr_in sa = loopback(port);
	int one = 1, on = TLS_SESSION_CACHE_ENABLED;
	int fd = zsock_socket(AF_INET, SOCK_STREAM, tag != 0 ? IPPROTO_TLS_1_2 : IPPROTO_TCP);

	if (fd < 0) {
		report("listener: socket", -1, errno);
		return -1;
	}
	zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* accepted sockets inherit TCP_NODELAY (docs/options.md) */
	if (nodelay && zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		report("listener: TCP_NODELAY", fd, errno);
		zsock_close(fd);
		return -1;
	}
	if ((tag != 0 && zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)) < 0) ||
	    (cache && zsock_setsockopt(fd, SOL_TLS, TLS_SESSION_CACHE, &on, sizeof(on)) < 0) ||
	    zsock_bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || zsock_listen(fd, 8) < 0) {
		report("listener: set-up", fd, errno);
		zsock_close(fd);
		return -1;
	}
	return fd;
}

static int server_start(struct server *s, uint16_t port, sec_tag_t tag, bool cache, double warmup)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->warmup = warmup;
	s->lfd = listener_open(port, tag, cache);
	if (s->lfd < 0)
		return -1;
	if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
		fprintf(stderr, "tls_bench: pthread_create failed\n");
		zsock_close(s->lfd);
		return -1;
	}
	return 0;
}

/* Stop: closing the listener wakes the accept blocked on it (EINTR). */
static void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	zsock_close(s->lfd);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	if (s->failed > 0) {
		fprintf(stderr, "tls_bench: the server saw %lu failures, the first: %s\n", s->failed,
			strerror(s->first_err));
		failures++;
	}
}

/* ---- the client ----------------------------------------------------------------- */

/*
 * A TLS connection to 127.0.0.1:port, verified (both CAs, name
 * bench.test); suite 0 leaves BearSSL's default list. Returns the fd or -1
 * (reported).
 */
static int client_connect(uint16_t port, int suite, bool cache)
{
	static const sec_tag_t tags[] = { TAG_CA_EC, TAG_CA_RSA };
	struct sockaddr_in sa = loopback(port);
	int on = TLS_SESSION_CACHE_ENABLED, one = 1;
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	if (fd < 0) {
		report("client: socket", -1, errno);
		return -1;
	}
	if (zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags)) < 0 ||
	    zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, SERVER_NAME, sizeof(SERVER_NAME)) < 0 ||
	    (suite != 0 && zsock_setsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite, sizeof(suite)) < 0) ||
	    (cache && zsock_setsockopt(fd, SOL_TLS, TLS_SESSION_CACHE, &on, sizeof(on)) < 0) ||
	    (nodelay && zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)) {
		report("client: options", fd, errno);
		zsock_close(fd);
		return -1;
	}
	if (zsock_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		report("client: connect", fd, errno);
		zsock_close(fd);
		return -1;
	}
	return fd;
}

static int tls_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (zsock_getsockopt(fd, SOL_TLS, opt, &v, &len) < 0)
		return -1;
	return v;
}

/* ---- (a), (b): handshakes ---------------------------------------------------------- */

/* Wait until the server's accept number n has returned; false after 10 s. */
static bool server_accepted(struct server *s, unsigned long n)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&s->lock);
	while (s->accepts < n && rc == 0)
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &until);
	rc = s->accepts >= n;
	pthread_mutex_unlock(&s->lock);
	if (!rc)
		fprintf(stderr, "tls_bench: the server never accepted connection %lu\n", n);
	return rc;
}

/*
 * Handshakes per second against a server with the credentials of tag.
 * With resume, both ends cache sessions: one full handshake first stores
 * the session, then every measured one must resume it.
 */
static void bench_handshakes(const char *name, uint16_t port, sec_tag_t tag, bool resume,
			     double seconds)
{
	unsigned long n = 0, resumed = 0, min_n = smoke ? 3 : 10;
	struct server srv;
	double t0, t1, c0, c1;
	char cpu_name[96];
	int fd, suite;

	if (server_start(&srv, port, tag, resume, 0) < 0) {
		failures++;
		return;
	}
	/* warm-up, and the session that the resumed ones use */
	fd = client_connect(port, 0, resume);
	if (fd < 0) {
		failures++;
		server_stop(&srv);
		return;
	}
	suite = tls_int(fd, TLS_CIPHERSUITE_USED);
	if (!server_accepted(&srv, 1))
		failures++;
	zsock_close(fd);

	t0 = now_s();
	c0 = cpu_s();
	do {
		fd = client_connect(port, 0, resume);
		if (fd < 0) {
			failures++;
			break;
		}
		if (tls_int(fd, ZSOCK_TLS_SESSION_RESUMED) == 1)
			resumed++;
		n++;
		if (!server_accepted(&srv, n + 1)) {
			failures++;
			zsock_close(fd);
			break;
		}
		zsock_close(fd);
	} while (n < min_n || now_s() - t0 < seconds);
	t1 = now_s();
	c1 = cpu_s();
	server_stop(&srv);

	printf("# %s: suite 0x%04X, %lu handshakes in %.3f s, %lu resumed, server accepted %lu\n",
	       name, (unsigned)suite, n, t1 - t0, resumed, srv.accepted);
	if (resume ? resumed != n : resumed != 0) {
		fprintf(stderr, "tls_bench: %s: %lu of %lu handshakes resumed, expected %s\n", name,
			resumed, n, resume ? "all" : "none");
		failures++;
	}
	figure(name, n > 0 ? (double)n / (t1 - t0) : 0, "handshakes/s");
	snprintf(cpu_name, sizeof(cpu_name), "%s_cpu", name);
	figure(cpu_name, n > 0 ? (c1 - c0) * 1e6 / (double)n : 0, "us");
}

/* ---- (c): bulk ---------------------------------------------------------------------- */

static unsigned char tx_buf[SEND_SIZE];

/*
 * One way, client to server, SEND_SIZE bytes per send. suite < 0: plain
 * TCP; else TLS with that suite (ECDSA server). Returns MB/s, 0 on failure.
 */
static double bench_bulk(const char *name, uint16_t port, int suite, double seconds)
{
	bool tls = suite >= 0;
	double warmup = smoke ? 0.02 : 0.2, end, rate = 0;
	struct server srv;
	int fd;

	if (server_start(&srv, port, tls ? TAG_SERVER_EC : 0, false, warmup) < 0) {
		failures++;
		return 0;
	}
	if (tls) {
		fd = client_connect(port, suite, false);
	} else {
		struct sockaddr_in sa = loopback(port);
		int one = 1;

		fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		if (fd >= 0 && nodelay)
			zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (fd >= 0 && zsock_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			report("client: connect", fd, errno);
			zsock_close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		failures++;
		server_stop(&srv);
		return 0;
	}
	if (tls) {
		int used = tls_int(fd, TLS_CIPHERSUITE_USED);

		printf("# %s: suite 0x%04X\n", name, (unsigned)used);
		if (used != suite) {
			fprintf(stderr, "tls_bench: %s: suite 0x%04X used, 0x%04X asked for\n", name,
				(unsigned)used, (unsigned)suite);
			failures++;
		}
	}
	memset(tx_buf, 0x5a, sizeof(tx_buf));
	end = now_s() + warmup + seconds;
	while (now_s() < end) {
		ssize_t w = zsock_send(fd, tx_buf, sizeof(tx_buf), 0);

		/* a blocking send queues everything or fails */
		if (w != (ssize_t)sizeof(tx_buf)) {
			report("client: send", fd, w < 0 ? errno : EIO);
			failures++;
			break;
		}
	}
	/* end the stream: for TLS this sends the close_notify after the data */
	if (zsock_shutdown(fd, ZSOCK_SHUT_WR) < 0) {
		report("client: shutdown", fd, errno);
		failures++;
	}
	/* the server reads to the end; wait for it before closing */
	while (atomic_load(&srv.finished) == 0 && now_s() < end + 30) {
		struct timespec ts = { .tv_nsec = 1000000 };

		nanosleep(&ts, NULL);
	}
	zsock_close(fd);
	server_stop(&srv);
	if (srv.window_s > 0)
		rate = (double)srv.window_bytes / srv.window_s / 1e6;
	printf("# %s: %llu bytes in %.3f s\n", name, srv.window_bytes, srv.window_s);
	figure(name, rate, "MB/s");
	return rate;
}

/* ---- (d): memory --------------------------------------------------------------------- */

static void bench_ram(void)
{
	struct zsock_engine_footprint fp;

	if (zsock_engine_footprint(&fp) < 0) {
		report("zsock_engine_footprint", -1, errno);
		failures++;
		return;
	}
	figure("ram_tls_socket", fp.tls_socket_bytes, "bytes");
	figure("ram_tls_session", fp.tls_session_bytes, "bytes");
	figure("ram_tcp_conn", fp.tcp_conn_bytes, "bytes");
	figure("ram_tls_conn", (double)fp.tls_socket_bytes + fp.tls_session_bytes + fp.tcp_conn_bytes,
	       "bytes");
	figure("tls_iobuf_size", CONFIG_ZSOCK_TLS_IOBUF_SIZE, "bytes");
	printf("# %d TLS sockets (net_sockets_tls_max_contexts), %d sessions (zsock_tls_sessions), "
	       "engine static RAM %llu bytes\n", CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS,
	       CONFIG_ZSOCK_TLS_SESSIONS, (unsigned long long)fp.static_total);
}

/* ---- main ----------------------------------------------------------------------------- */

static int add(sec_tag_t tag, enum tls_credential_type type, const char *pem)
{
	int rc = tls_credential_add(tag, type, pem, strlen(pem) + 1);

	if (rc < 0)
		fprintf(stderr, "tls_bench: tls_credential_add(%d, %d): %s\n", tag, (int)type,
			strerror(-rc));
	return rc;
}

/* Every TLS socket and session back once the last socket closed (a closing
 * one may hold them a moment longer). */
static void check_slots(void)
{
	struct zsock_engine_stats st;
	double until = now_s() + 2;

	while (zsock_engine_stats(&st) == 0 && (st.tls_in_use != 0 || st.tls_sessions_in_use != 0) &&
	       now_s() < until) {
		struct timespec ts = { .tv_nsec = 10000000 };

		nanosleep(&ts, NULL);
	}
	if (st.tls_in_use != 0 || st.tls_sessions_in_use != 0) {
		fprintf(stderr, "tls_bench: %u TLS sockets, %u sessions still taken after every "
			"socket closed\n", st.tls_in_use, st.tls_sessions_in_use);
		failures++;
	}
	printf("# TLS sockets: high water %u of %d; sessions: %u of %d\n", st.tls_high_water,
	       CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS, st.tls_sessions_high_water,
	       CONFIG_ZSOCK_TLS_SESSIONS);
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_bench [--seconds N] [--nodelay] [--smoke]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3, tcp, aes, chacha;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0); /* figures and errors in the order they happen */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--smoke") == 0) {
			smoke = true;
		} else if (strcmp(argv[i], "--nodelay") == 0) {
			nodelay = true;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			char *end;

			seconds = strtod(argv[++i], &end);
			if (*end != 0 || !(seconds > 0))
				usage();
		} else {
			usage();
		}
	}
	if (smoke)
		seconds = 0.1;
	printf("# %.3g s per measurement, TCP_NODELAY %s\n", seconds, nodelay ? "on" : "off");

	if (add(TAG_CA_EC, TLS_CREDENTIAL_CA_CERTIFICATE, ec_ca_pem) < 0 ||
	    add(TAG_CA_RSA, TLS_CREDENTIAL_CA_CERTIFICATE, rsa_ca_pem) < 0 ||
	    add(TAG_SERVER_EC, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, ec_cert_pem) < 0 ||
	    add(TAG_SERVER_EC, TLS_CREDENTIAL_PRIVATE_KEY, ec_key_pem) < 0 ||
	    add(TAG_SERVER_RSA, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, rsa_cert_pem) < 0 ||
	    add(TAG_SERVER_RSA, TLS_CREDENTIAL_PRIVATE_KEY, rsa_key_pem) < 0)
		return 1;

	bench_handshakes("handshake_full_ecdsa_p256", BASE_PORT, TAG_SERVER_EC, false, seconds);
	bench_handshakes("handshake_full_rsa2048", BASE_PORT + 1, TAG_SERVER_RSA, false, seconds);
	bench_handshakes("handshake_resumed", BASE_PORT + 2, TAG_SERVER_EC, true, seconds);

	tcp = bench_bulk("bulk_tcp", BASE_PORT + 3, -1, seconds);
	aes = bench_bulk("bulk_tls_aes128gcm", BASE_PORT + 4, SUITE_ECDHE_ECDSA_AES_128_GCM_SHA256,
			 seconds);
	chacha = bench_bulk("bulk_tls_chacha20poly1305", BASE_PORT + 5,
			    SUITE_ECDHE_ECDSA_CHACHA20_POLY1305_SHA256, seconds);
	figure("ratio_tls_aes128gcm_tcp", tcp > 0 ? aes / tcp : 0, "ratio");
	figure("ratio_tls_chacha20poly1305_tcp", tcp > 0 ? chacha / tcp : 0, "ratio");

	bench_ram();
	check_slots();
	if (failures > 0)
		fprintf(stderr, "tls_bench: %d check(s) failed\n", failures);
	else if (smoke)
		printf("# smoke: ok\n");
	return failures > 0 ? 1 : 0;
}
