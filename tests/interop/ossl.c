/* The OpenSSL CLI peers of the TLS interop suites; see ossl.h. */
#define _GNU_SOURCE
#include "ossl.h"
#include "netns.h"
#include "zt_certs.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
