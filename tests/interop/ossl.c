/* The OpenSSL CLI peers of the TLS interop suites; see ossl.h. */
#define _GNU_SOURCE
#include "ossl.h"
#include "netns.h"
#include "zt.h"
#include "zt_certs.h"
#include "zt_tls.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

void zi_ossl_need(void)
{
	if (!zt_certs_have_openssl())
		zi_skip("the openssl CLI is missing (scripts/install-packages.sh installs it)");
	if (zi_sh("command -v timeout >/dev/null") != 0)
		zi_skip("timeout(1) is missing");
}

void zi_ossl_up(void)
{
	zi_up();
	zi_ossl_need();
}

const char *zi_fmt(const char *f, ...)
{
	static char bufs[8][2048];
	static unsigned int next;
	char *b = bufs[next++ % 8];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(b, sizeof(bufs[0]), f, ap);
	va_end(ap);
	cr_assert_lt(n, (int)sizeof(bufs[0]), "zi_fmt: too long");
	return b;
}

/* cmd through /bin/sh -c in the namespace, echoed to stderr first */
static int sh_start(const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };

	fprintf(stderr, "[%s] $ %s\n", zi_ns_name(), cmd);
	return zi_prog_start(argv);
}

int zi_ossl_server(const char *at, const char *args, const char *fifo)
{
	const char *cmd;
	int h;

	if (access(fifo, F_OK) != 0)
		cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
	cmd = zi_fmt("exec timeout 120 openssl s_server -accept %s %s 0<>%s 2>&1", at, args, fifo);
	h = sh_start(cmd);
	cr_assert(zi_prog_wait_line(h, "ACCEPT", 15000), "s_server did not start: %s", cmd);
	return h;
}

int zi_ossl_client(const char *to, const char *args, const char *redir)
{
	return sh_start(zi_fmt("timeout 60 openssl s_client -connect %s %s %s & p=$!; "
			       "trap 'kill $p' TERM; wait $p; echo EXIT=$?",
			       to, args, redir != NULL ? redir : "</dev/null 2>&1"));
}

char *zi_ossl_client_wait(int h, int *status)
{
	bool done = zi_prog_wait_line(h, "EXIT=", 60000);
	char *out = zi_prog_stop(h, NULL);
	const char *e = strstr(out, "EXIT=");

	cr_assert(done && e != NULL, "s_client did not finish; its output:\n%s", out);
	*status = atoi(e + 5);
	return out;
}

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void zi_rev_bulk(int fd, uint64_t bytes, size_t max_line, uint64_t seed)
{
	static char out[32768], exp[32768], in[32768];
	static uint8_t raw[8192];
	uint64_t rng = seed | 1, off = 0, total = 0, lines = 0;
	uint32_t tx_crc = 0, rx_crc = 0, exp_crc = 0;

	while (total < bytes) {
		size_t b = 0;

		while (b < 16384 && total + b < bytes) {
			size_t len = max_line <= 64 ? 64 : 64 + (size_t)(zt_rand(&rng) % (max_line - 63));

			zt_pattern(seed, off, raw, len - 1);
			off += len - 1;
			for (size_t j = 0; j < len - 1; j++) {
				out[b + j] = alphabet[raw[j] & 63];
				exp[b + len - 2 - j] = out[b + j];
			}
			out[b + len - 1] = '\n';
			exp[b + len - 1] = '\n';
			b += len;
			lines++;
		}
		zt_send_all(fd, out, b);
		tx_crc = zt_crc32(tx_crc, out, b);
		zt_recv_all(fd, in, b);
		rx_crc = zt_crc32(rx_crc, in, b);
		exp_crc = zt_crc32(exp_crc, exp, b);
		for (size_t i = 0; i < b; i++)
			cr_assert_eq(in[i], exp[i], "byte %llu of the reply is wrong",
				     (unsigned long long)(total + i));
		total += b;
	}
	cr_assert_eq(rx_crc, exp_crc, "CRC of the reply %08x, want %08x", rx_crc, exp_crc);
	fprintf(stderr, "rev_bulk: %llu bytes in %llu lines each way, CRC sent %08x, received %08x\n",
		(unsigned long long)total, (unsigned long long)lines, tx_crc, rx_crc);
}

uint32_t zi_stream_file(const char *path, uint64_t seed, uint64_t len)
{
	static uint8_t buf[16384];
	FILE *f = fopen(path, "wb");
	uint32_t crc = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);

		zt_pattern(seed, off, buf, n);
		crc = zt_crc32(crc, buf, n);
		cr_assert_eq(fwrite(buf, 1, n, f), n);
	}
	fclose(f);
	return crc;
}

void zi_answer_stream(int fd, uint64_t len, uint64_t seed_in, uint64_t seed_out, uint32_t *rx_crc,
		      uint32_t *tx_crc)
{
	static uint8_t buf[16384];
	uint64_t got = 0, sent = 0, first_bad = UINT64_MAX;

	*rx_crc = 0;
	*tx_crc = 0;
	while (got < len) {
		ssize_t n = zsock_recv(fd, buf, sizeof(buf), 0);
		size_t bad;

		cr_assert_gt(n, 0, "server recv after %llu bytes: %zd, errno %d (%s), LAST_ERROR %d",
			     (unsigned long long)got, n, errno, strerror(errno),
			     zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR));
		bad = zt_pattern_check(seed_in, got, buf, (size_t)n);
		if (bad < (size_t)n && first_bad == UINT64_MAX)
			first_bad = got + bad;
		*rx_crc = zt_crc32(*rx_crc, buf, (size_t)n);
		got += (uint64_t)n;
		zt_pattern(seed_out, sent, buf, (size_t)n);
		zt_send_all(fd, buf, (size_t)n);
		*tx_crc = zt_crc32(*tx_crc, buf, (size_t)n);
		sent += (uint64_t)n;
	}
	cr_assert_eq(first_bad, UINT64_MAX, "byte %llu from s_client is wrong",
		     (unsigned long long)first_bad);
}

void zi_ossl_client_failed(int h, const char *err_path, const char *what)
{
	size_t elen;
	int st;
	char *out = zi_ossl_client_wait(h, &st);
	char *err_txt = zt_read_file(err_path, &elen);

	free(out);
	cr_assert_fail("%s; s_client status %d, stderr:\n%s", what, st, err_txt);
	abort();	/* not reached: cr_assert_fail does not return */
}

void zi_ossl_client_check(int h, const char *out_path, const char *err_path, uint64_t len,
			  uint64_t seed, uint32_t crc)
{
	size_t n, elen;
	int st;
	char *out = zi_ossl_client_wait(h, &st);
	char *err_txt = zt_read_file(err_path, &elen);
	char *data;

	cr_assert_eq(st, 0, "s_client exit status %d; stderr:\n%s", st, err_txt);
	data = zt_read_file(out_path, &n);
	cr_assert_eq(n, len, "s_client received %zu bytes of %llu; stderr:\n%s", n,
		     (unsigned long long)len, err_txt);
	cr_assert_eq(zt_pattern_check(seed, 0, data, n), n, "s_client got a wrong byte at %zu",
		     zt_pattern_check(seed, 0, data, n));
	cr_assert_eq(zt_crc32(0, data, n), crc, "CRC zsock -> s_client");
	free(data);
	free(err_txt);
	free(out);
}

void zi_ossl_mark(int h, int fd, int i)
{
	char mark[16];

	snprintf(mark, sizeof(mark), "conn-%d\n", i);
	zt_send_all(fd, mark, strlen(mark));
	mark[strlen(mark) - 1] = '\0';
	cr_assert(zi_prog_wait_line(h, mark, 10000), "s_server did not get %s", mark);
}

void zi_ossl_reused(const char *out, int n, bool reused[])
{
	const char *prev = out;

	for (int i = 1; i <= n; i++) {
		const char *mark = zi_fmt("\nconn-%d\n", i);
		const char *at = strstr(out, mark);
		char *sect;

		cr_assert_not_null(at, "no %s in s_server's output:\n%s", mark + 1, out);
		sect = strndup(prev, (size_t)(at - prev));
		reused[i] = strstr(sect, "Reused session-id") != NULL;
		free(sect);
		prev = at;
	}
}

void zi_close_after_eof(int fd, int i)
{
	char c;
	ssize_t n = zsock_recv(fd, &c, 1, 0);

	cr_assert_eq(n, 0, "connection %d: recv %zd (errno %d), want 0 (close_notify)", i, n, errno);
	zt_close(fd);
}

char *zi_ossl_client_ok(int h)
{
	int st;
	char *out = zi_ossl_client_wait(h, &st);

	cr_assert_eq(st, 0, "s_client status %d:\n%s", st, out);
	return out;
}

bool zi_prog_wait_exit(int h, int ms)
{
	return !zi_prog_wait_line(h, "\001never printed", ms);
}

char *zi_find_line(const char *out, const char *a, const char *b)
{
	const char *s = out;

	while (s != NULL && *s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		char *line = strndup(s, len);

		if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
			return line;
		free(line);
		s = nl != NULL ? nl + 1 : NULL;
	}
	return NULL;
}

bool zi_has_line(const char *out, const char *a, const char *b)
{
	char *line = zi_find_line(out, a, b);
	bool hit = line != NULL;

	free(line);
	return hit;
}
