/* Helpers shared by the TLS suites; see zt_tls.h. */
#include "zt_tls.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

char *zt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n, "%s: short read", path);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

void zt_tls_set(int fd, int name, const void *v, socklen_t len)
{
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, name, v, len), 0,
		     "setsockopt(SOL_TLS, %d, len %u): errno %d (%s)", name, (unsigned)len, errno,
		     strerror(errno));
}

int zt_tls_opt_or(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (zsock_getsockopt(fd, SOL_TLS, name, &v, &len) != 0)
		return -1000 - errno;
	return v;
}

void zt_timeouts(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

void zt_tls_connect_nb(int fd, const struct sockaddr *sa, socklen_t len, int wait_ms)
{
	int64_t end = zt_now_ms() + wait_ms;
	int polls = 0;

	errno = 0;
	cr_assert_eq(zsock_connect(fd, sa, len), -1, "a non-blocking TLS connect completed at once");
	cr_assert_eq(errno, EINPROGRESS, "non-blocking connect: errno %d (%s)", errno,
		     strerror(errno));
	for (;;) {
		short re = zt_poll1(fd, ZSOCK_POLLOUT, 200);

		polls++;
		cr_assert_eq(re & (ZSOCK_POLLERR | ZSOCK_POLLHUP), 0,
			     "poll: revents 0x%x during the handshake (LAST_ERROR %d)", re,
			     zt_tls_opt_or(fd, ZSOCK_TLS_LAST_ERROR));
		if (re & ZSOCK_POLLOUT)
			return;
		cr_assert_lt(zt_now_ms(), end, "no POLLOUT in %d ms (%d polls)", wait_ms, polls);
	}
}

void zt_tls_idle(int wait_ms)
{
	struct zsock_engine_stats st;
	int64_t end = zt_now_ms() + wait_ms;

	for (;;) {
		zt_stats(&st);
		if (st.tls_in_use == 0 && st.tls_sessions_in_use == 0)
			return;
		cr_assert_lt(zt_now_ms(), end, "after every close: %u TLS sockets, %u TLS sessions",
			     st.tls_in_use, st.tls_sessions_in_use);
		zt_sleep_ms(20);
	}
}
