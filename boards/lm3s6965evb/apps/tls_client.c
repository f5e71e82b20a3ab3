/*
 * The board as a TLS 1.2 client: connect to `openssl s_server` on the host
 * (10.0.2.2, QEMU's user-network gateway), verify its certificate against
 * a CA compiled into the image and its name, then either fetch s_server
 * -www's status page with an HTTP/1.0 GET or push BYTES through s_server
 * -rev (it sends every line back reversed) and check what comes back.
 *
 *   tls_client.elf PORT HOSTNAME ec|rsa get
 *   tls_client.elf PORT HOSTNAME ec|rsa rev BYTES
 *
 * ec or rsa: which test CA to trust (tests/pki: TEST ONLY, their keys are
 * public). HOSTNAME is TLS_HOSTNAME: SNI and the name the certificate must
 * carry (server.test); verification is REQUIRED, the default.
 *
 * Exit status: 0 everything checked, 1 a socket call failed, 2 usage,
 * 3 the handshake was refused with ECONNABORTED (a name or certificate that
 * does not verify: the negative test), 4 the data that came back was wrong.
 *
 * Prints the suite negotiated (TLS_CIPHERSUITE_USED), the connect time
 * (TCP and handshake) as wall time and as the board's busy time, and the
 * peak stack use. Under QEMU's -icount shift=0 (QEMU_M3_ICOUNT=0) the busy
 * time counts instructions: 1 ns of busy time is one instruction.
 *
 * Records are 512 bytes both ways (zsock_tls_iobuf_size 1434, tls.ini):
 * the client asks the server for them with max_fragment_length.
 * Run by tests/tls_client_test.sh.
 */
#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "engine/port/baremetal/baremetal.h"
#include "engine/port/port.h"
#include "tls_client_certs.h"   /* ec_ca, rsa_ca: generated from tests/pki */

#define EXIT_SOCK    1
#define EXIT_USAGE   2
#define EXIT_REFUSED 3
#define EXIT_DATA    4

#define CA_TAG 1
#define LINE 512   /* one line of the rev test: 511 bytes and '\n', one record */
#define DEPTH 4    /* lines in flight */

static char buf[LINE];

static int fail(const char *what, int code)
{
	printf("tls_client: %s: errno %d\n", what, errno);
	return code;
}

static const char *suite_name(int id)
{
	switch (id) {
	case 0xCCA9: return "ECDHE-ECDSA-CHACHA20-POLY1305";
	case 0xCCA8: return "ECDHE-RSA-CHACHA20-POLY1305";
	case 0xC02B: return "ECDHE-ECDSA-AES128-GCM-SHA256";
	case 0xC02C: return "ECDHE-ECDSA-AES256-GCM-SHA384";
	case 0xC02F: return "ECDHE-RSA-AES128-GCM-SHA256";
	case 0xC030: return "ECDHE-RSA-AES256-GCM-SHA384";
	default: return "?";
	}
}

/* Busy time of the board in microseconds (the CPU's, not waiting). */
static uint64_t busy_us(void)
{
	uint64_t busy;

	zs_bm_cpu_ticks(&busy, NULL);
	return busy * 1000000u / zs_bm_board_systick_hz();
}

/* What the run used of the sizes tls.ini sets, and the stack. */
static void print_usage(void)
{
	struct zsock_engine_stats st;
	struct zsock_engine_footprint fp;

	if (zsock_engine_stats(&st) == 0 && zsock_engine_footprint(&fp) == 0)
		printf("tls_client: used: credential arena %lu of %u bytes, tx net_bufs %lu of %lu"
		       " at most; TLS session %lu bytes, TLS socket %lu bytes\n",
		       (unsigned long)st.tls_cred_arena_used, (unsigned)CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA,
		       (unsigned long)st.tx_bufs_high_water, (unsigned long)st.tx_bufs_total,
		       (unsigned long)fp.tls_session_bytes, (unsigned long)fp.tls_socket_bytes);
	printf("tls_client: peak stack %lu bytes\n", (unsigned long)board_stack_peak());
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t r = zsock_send(fd, c, n, 0);

		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* A streaming substring search: feed bytes, true once needle was seen. */
struct match {
	const char *needle;
	size_t at;
	bool seen;
};

static void match_feed(struct match *m, const char *p, size_t n)
{
	size_t len = strlen(m->needle);

	for (size_t i = 0; i < n && !m->seen; i++) {
		if (p[i] == m->needle[m->at])
			m->at++;
		else
			m->at = p[i] == m->needle[0] ? 1 : 0;
		if (m->at == len)
			m->seen = true;
	}
}

/* GET / from s_server -www: its status page, to the end (close_notify). */
static int do_get(int fd, const char *suite)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	static const char status[] = "HTTP/1.0 200 ok\r\n";
	char cipher[64];
	struct match m_cipher = { .needle = cipher }, m_end = { .needle = "</BODY></HTML>" };
	size_t total = 0, head = 0;
	bool head_ok = true;

	/* the page tells the session it saw: "New, TLSv1.2, Cipher is NAME" */
	snprintf(cipher, sizeof(cipher), "New, TLSv1.2, Cipher is %s\n", suite);
	if (send_all(fd, req, sizeof(req) - 1) < 0)
		return fail("send", EXIT_SOCK);
	for (;;) {
		ssize_t r = zsock_recv(fd, buf, sizeof(buf), 0);

		if (r < 0)
			return fail("recv", EXIT_SOCK);
		if (r == 0)
			break;
		for (size_t i = 0; i < (size_t)r && head < sizeof(status) - 1; i++, head++)
			if (buf[i] != status[head])
				head_ok = false;
		match_feed(&m_cipher, buf, (size_t)r);
		match_feed(&m_end, buf, (size_t)r);
		total += (size_t)r;
	}
	printf("tls_client: GET: %lu bytes, status %s, cipher line %s, end of page %s\n",
	       (unsigned long)total, head_ok && head == sizeof(status) - 1 ? "200" : "WRONG",
	       m_cipher.seen ? "seen" : "MISSING", m_end.seen ? "seen" : "MISSING");
	return head_ok && head == sizeof(status) - 1 && m_cipher.seen && m_end.seen ? 0 : EXIT_DATA;
}

/* Byte k of line i (never '\n' or '\r'). */
static char line_byte(uint32_t i, uint32_t k)
{
	return (char)('!' + (i * 31u + k * 7u + (k >> 5)) % 90u);
}

/* BYTES through s_server -rev in lines of LINE bytes, DEPTH in flight. */
static int do_rev(int fd, uint32_t bytes)
{
	uint32_t lines = (bytes + LINE - 1) / LINE, sent = 0, got = 0;
	int64_t t0 = zs_port_now_ms();
	uint64_t b0 = busy_us();

	while (got < lines) {
		while (sent < lines && sent - got < DEPTH) {
			for (uint32_t k = 0; k < LINE - 1; k++)
				buf[k] = line_byte(sent, k);
			buf[LINE - 1] = '\n';
			if (send_all(fd, buf, LINE) < 0)
				return fail("send", EXIT_SOCK);
			sent++;
		}
		/* the line comes back reversed, '\n' still last */
		for (uint32_t have = 0; have < LINE;) {
			ssize_t r = zsock_recv(fd, buf + have, LINE - have, 0);

			if (r <= 0)
				return fail(r == 0 ? "recv: early end" : "recv", EXIT_SOCK);
			have += (uint32_t)r;
		}
		for (uint32_t k = 0; k < LINE - 1; k++) {
			if (buf[k] != line_byte(got, LINE - 2 - k)) {
				printf("tls_client: rev: line %lu byte %lu differs\n",
				       (unsigned long)got, (unsigned long)k);
				return EXIT_DATA;
			}
		}
		if (buf[LINE - 1] != '\n') {
			printf("tls_client: rev: line %lu does not end in a newline\n", (unsigned long)got);
			return EXIT_DATA;
		}
		got++;
	}
	/* s_server ends the connection (close_notify) on a line "CLOSE" */
	if (send_all(fd, "CLOSE\n", 6) < 0)
		return fail("send CLOSE", EXIT_SOCK);
	if (zsock_recv(fd, buf, sizeof(buf), 0) != 0)
		return fail("recv: no clean end after CLOSE", EXIT_DATA);
	{
		int64_t ms = zs_port_now_ms() - t0;
		uint64_t busy = busy_us() - b0;

		printf("tls_client: rev: %lu bytes each way intact in %ld ms (%lu ms busy), %lu KiB/s each way\n",
		       (unsigned long)lines * LINE, (long)ms, (unsigned long)(busy / 1000u),
		       (unsigned long)(ms > 0 ? (uint64_t)lines * LINE * 1000u / 1024u / (uint64_t)ms : 0));
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 30 };
	sec_tag_t tags[] = { CA_TAG };
	const unsigned char *ca;
	size_t ca_len;
	int fd, suite = 0, rc;
	socklen_t len;
	int64_t t0;
	uint64_t b0;

	if (argc < 5 || (strcmp(argv[4], "rev") == 0 && argc < 6)) {
		printf("usage: tls_client PORT HOSTNAME ec|rsa get | rev BYTES\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[3], "ec") == 0) {
		ca = ec_ca;
		ca_len = sizeof(ec_ca);
	} else if (strcmp(argv[3], "rsa") == 0) {
		ca = rsa_ca;
		ca_len = sizeof(rsa_ca);
	} else {
		printf("tls_client: CA %s: ec or rsa\n", argv[3]);
		return EXIT_USAGE;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	if (zsock_inet_pton(AF_INET, "10.0.2.2", &sa.sin_addr) != 1)
		return fail("inet_pton", EXIT_SOCK);
	if (tls_credential_add(CA_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, ca, ca_len) != 0)
		return fail("tls_credential_add", EXIT_SOCK);

	fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
	if (fd < 0)
		return fail("socket", EXIT_SOCK);
	if (zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags)) < 0 ||
	    zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, argv[2], strlen(argv[2]) + 1) < 0 ||
	    zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return fail("setsockopt", EXIT_SOCK);

	t0 = zs_port_now_ms();
	b0 = busy_us();
	if (zsock_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno, last = 0, verify = 0;

		len = sizeof(last);
		zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_LAST_ERROR, &last, &len);
		len = sizeof(verify);
		zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_VERIFY_RESULT, &verify, &len);
		printf("tls_client: connect to %s: errno %d%s, BearSSL error %d, X.509 result %d\n",
		       argv[2], err, err == ECONNABORTED ? " (ECONNABORTED)" : "", last, verify);
		zsock_close(fd);
		print_usage();
		return err == ECONNABORTED ? EXIT_REFUSED : EXIT_SOCK;
	}
	{
		int64_t ms = zs_port_now_ms() - t0;
		uint64_t busy = busy_us() - b0;

		len = sizeof(suite);
		if (zsock_getsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_USED, &suite, &len) < 0)
			return fail("getsockopt TLS_CIPHERSUITE_USED", EXIT_SOCK);
		printf("tls_client: connected to %s (%s CA): suite 0x%04X %s\n", argv[2], argv[3],
		       (unsigned)suite, suite_name(suite));
		printf("tls_client: connect (TCP + handshake) %ld ms, busy %lu us"
		       " (= instructions x 1000 under -icount shift=0)\n",
		       (long)ms, (unsigned long)busy);
	}
	if (strcmp(argv[4], "get") == 0)
		rc = do_get(fd, suite_name(suite));
	else if (strcmp(argv[4], "rev") == 0)
		rc = do_rev(fd, (uint32_t)strtoul(argv[5], NULL, 0));
	else
		rc = EXIT_USAGE;
	zsock_close(fd);
	print_usage();
	printf("tls_client: %s\n", rc == 0 ? "ok" : "FAILED");
	return rc;
}
