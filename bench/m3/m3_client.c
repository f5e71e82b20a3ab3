/*
 * m3_client: the host side of the Cortex-M3 benchmarks. Plain POSIX
 * sockets to a server in QEMU (lm3s6965evb) reached through user-net
 * hostfwd on 127.0.0.1:PORT; works against any TCP server (socat, a
 * Linux echo server) just as well.
 *
 *   m3_client --port P --workload discard|echo|rr [--host H] [--bytes N]
 *             [--size S] [--count N] [--warmup N] [--seconds T]
 *             [--window W] [--timeout T] [--stats-port P2] [--csv]
 *
 * discard  connect, send N bytes (default 16 MiB) in writes of S (default
 *          16384), shut down our side and wait for the server's close, so
 *          the last byte is known to have arrived; Mbit/s over
 *          connect-to-close.
 * echo     send N bytes (default 8 MiB) while reading them back, at most W
 *          (default 64 KiB) in flight; every byte is checked against a
 *          counter-based pattern. Mbit/s each way over connect to last byte
 *          back (the send side's own figure is printed too).
 * rr       TCP_NODELAY; send S bytes (default 1), read S back, repeat N
 *          times (default 2000) after a warm-up of 50; median, p90, p99 and
 *          minimum latency and requests/s.
 * --seconds T  run discard/echo/rr for T seconds instead of N bytes/count.
 * --stats-port P2  before and after the workload send "S\n" to P2 and print
 *          the line that comes back; if both are "key=integer" lists, also
 *          the difference of each key.
 *
 * Output (stdout): the stats lines, one human line, and with --csv a last
 * line
 *   workload,size,bytes_or_count,seconds,mbit_s,median_us,p90_us,p99_us,min_us,req_s
 * (--csv-header prints that header). Exit status 0, or 1 on any error with
 * the reason on stderr. Every wait is bounded by --timeout (default 60 s
 * without progress), so a hung guest cannot hang the client.
 *
 * QEMU's hostfwd accepts a connection before the guest is listening and
 * closes it at once when the guest refuses it. So for the first 5 s after
 * start, a connection that is refused, or closed/reset within 1 s of being
 * made and before the server sent anything, is retried from scratch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define KIB		1024ull
#define MIB		(1024ull * 1024ull)
#define RETRY_WINDOW	5.0	/* s after start in which a refusal is retried */
#define EARLY_CLOSE	1.0	/* s after connect: a close before it is a refusal */
#define RX_CHUNK	(64 * 1024)
#define STATS_LINE_MAX	4096
#define STATS_KEYS_MAX	64

enum workload { WL_NONE, WL_DISCARD, WL_ECHO, WL_RR };

/* results of a step: success, an error, or a refusal worth retrying */
enum { ST_OK = 0, ST_FAIL = -1, ST_EARLY = -2 };

struct opts {
	const char *host;
	const char *port;
	const char *stats_port;
	enum workload wl;
	uint64_t bytes;
	size_t size;
	uint64_t count;
	uint64_t warmup;
	double seconds;		/* 0: by bytes / count */
	size_t window;
	double timeout;
	bool csv;
};

struct result {
	double seconds;
	uint64_t amount;	/* bytes, or requests measured */
	double mbit_s;
	double tx_mbit_s;	/* echo: the send side's own rate */
	double median_us, p90_us, p99_us, min_us, req_s;
};

struct conn {
	int fd;
	double t_conn;		/* when the connection was made */
	bool got_data;		/* the server has sent something */
	const char *what;	/* for messages */
};

static double t_start;
static char err_msg[512];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	return ST_FAIL;
}

static int timeout_ms(const struct opts *o)
{
	double ms = o->timeout * 1000.0;

	return ms > 2e9 ? 2000000000 : (int)ms;
}

/* ---- the data pattern -------------------------------------------------- */

/* splitmix64's finaliser: byte i of the stream is byte i%8 of mix(i/8), so
 * any offset can be produced or checked without state */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void pattern(uint8_t *dst, uint64_t off, size_t len)
{
	uint64_t w = off >> 3;
	unsigned int sh = (unsigned int)(off & 7);
	uint64_t v = mix(w) >> (8 * sh);

	for (size_t i = 0; i < len; i++) {
		dst[i] = (uint8_t)v;
		v >>= 8;
		if (++sh == 8) {
			sh = 0;
			v = mix(++w);
		}
	}
}

/* ---- connections ------------------------------------------------------- */

/* The server went away: a refusal if it happened right after connecting
 * and before it ever answered, otherwise an error. */
static int peer_gone(const struct conn *c, const char *how, const char *where)
{
	bool early = !c->got_data && now() - c->t_conn < EARLY_CLOSE;

	snprintf(err_msg, sizeof(err_msg), "%s: %s %s%s", c->what, how,
		 where, early ? " (server not listening yet?)" : "");
	return early ? ST_EARLY : ST_FAIL;
}

static int is_gone_errno(int e)
{
	return e == ECONNRESET || e == EPIPE || e == ECONNABORTED;
}

/* A non-blocking connection to host:port, made within the timeout. */
static int conn_open(const struct opts *o, const char *port, const char *what,
		     struct conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, r, e = 0;

	c->fd = -1;
	c->got_data = false;
	c->what = what;
	r = getaddrinfo(o->host, port, &hints, &ai);
	if (r != 0)
		return fail("%s: %s:%s: %s", what, o->host, port,
			    gai_strerror(r));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return fail("%s: socket: %s", what, strerror(errno));
	}
	r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r < 0 && errno != EINPROGRESS) {
		e = errno;
		goto bad;
	}
	if (r < 0) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		do {
			r = poll(&pfd, 1, timeout_ms(o));
		} while (r < 0 && errno == EINTR);
		if (r == 0) {
			close(fd);
			return fail("%s: connect to %s:%s: no answer in %g s",
				    what, o->host, port, o->timeout);
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
					&len) < 0)
			e = errno;
		if (e != 0)
			goto bad;
	}
	c->fd = fd;
	c->t_conn = now();
	return ST_OK;
bad:
	close(fd);
	snprintf(err_msg, sizeof(err_msg), "%s: connect to %s:%s: %s", what,
		 o->host, port, strerror(e));
	return e == ECONNREFUSED || e == ECONNRESET ? ST_EARLY : ST_FAIL;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Blocking from here on, every call bounded by the timeout (rr, stats). */
static int conn_blocking(const struct opts *o, struct conn *c)
{
	struct timeval tv;
	int fl = fcntl(c->fd, F_GETFL);

	tv.tv_sec = (time_t)o->timeout;
	tv.tv_usec = (suseconds_t)((o->timeout - (double)tv.tv_sec) * 1e6);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return fail("%s: socket options: %s", c->what, strerror(errno));
	return ST_OK;
}

static int send_all(const struct opts *o, struct conn *c, const void *buf,
		    size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return fail("%s: send: no progress in %g s", c->what,
				    o->timeout);
		if (n < 0 && is_gone_errno(errno))
			return peer_gone(c, strerror(errno), "while sending");
		if (n < 0)
			return fail("%s: send: %s", c->what, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return ST_OK;
}

static int recv_all(const struct opts *o, struct conn *c, void *buf,
		    size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(c->fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return fail("%s: no reply in %g s", c->what,
				    o->timeout);
		if (n < 0 && is_gone_errno(errno))
			return peer_gone(c, strerror(errno), "while receiving");
		if (n < 0)
			return fail("%s: recv: %s", c->what, strerror(errno));
		if (n == 0)
			return peer_gone(c, "closed by the server",
					 "before the reply was complete");
		c->got_data = true;
		p += n;
		len -= (size_t)n;
	}
	return ST_OK;
}

/* Wait for the server's close after ours (blocking socket); data is an
 * error: the server sent more than it should have. */
static int wait_close_blocking(const struct opts *o, struct conn *c)
{
	uint8_t b[256];
	ssize_t n;

	if (shutdown(c->fd, SHUT_WR) < 0)
		return fail("%s: shutdown: %s", c->what, strerror(errno));
	do {
		n = recv(c->fd, b, sizeof(b), 0);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return ST_OK;
	if (n > 0)
		return fail("%s: the server sent %zd unexpected bytes", c->what,
			    n);
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return fail("%s: the server did not close in %g s", c->what,
			    o->timeout);
	return fail("%s: at close: %s", c->what, strerror(errno));
}

/* ---- stats exchange ---------------------------------------------------- */

static int stats_query(const struct opts *o, char *line, size_t cap,
		       bool may_retry)
{
	struct conn c;
	size_t len = 0;
	int st;

	st = conn_open(o, o->stats_port, "stats", &c);
	if (st == ST_OK)
		st = conn_blocking(o, &c);
	if (st == ST_OK)
		st = send_all(o, &c, "S\n", 2);
	while (st == ST_OK) {
		ssize_t n = recv(c.fd, line + len, cap - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			st = fail("stats: no reply in %g s", o->timeout);
		} else if (n < 0 && !is_gone_errno(errno)) {
			st = fail("stats: recv: %s", strerror(errno));
		} else if (n <= 0) {
			/* a line without its newline is still a line */
			if (len > 0)
				break;
			st = peer_gone(&c, n == 0 ? "closed by the server" :
				       strerror(errno), "before its line");
		} else {
			c.got_data = true;
			len += (size_t)n;
			line[len] = '\0';
			if (memchr(line, '\n', len) != NULL)
				break;
			if (len == cap - 1)
				st = fail("stats: line longer than %zu bytes",
					  cap - 1);
		}
	}
	conn_close(&c);
	if (st == ST_EARLY && !may_retry)
		st = ST_FAIL;
	if (st != ST_OK)
		return st;
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	return ST_OK;
}

struct kv {
	char key[64];
	long long val;
};

/* "k=v k=v ..." (blank, comma or semicolon separated) with integer values:
 * the number of pairs, or -1 if the line is anything else. */
static int parse_kv(const char *line, struct kv *kv, int max)
{
	int n = 0;
	const char *p = line;

	for (;;) {
		const char *eq, *end;
		char *num_end;
		size_t klen;

		p += strspn(p, " \t,;");
		if (*p == '\0')
			return n;
		end = p + strcspn(p, " \t,;");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p || n == max)
			return -1;
		klen = (size_t)(eq - p);
		if (klen >= sizeof(kv[n].key))
			return -1;
		memcpy(kv[n].key, p, klen);
		kv[n].key[klen] = '\0';
		errno = 0;
		kv[n].val = strtoll(eq + 1, &num_end, 0);
		if (errno != 0 || num_end == eq + 1 || num_end != end)
			return -1;
		n++;
		p = end;
	}
}

static void print_stats(const char *before, const char *after)
{
	struct kv a[STATS_KEYS_MAX], b[STATS_KEYS_MAX];
	int na, nb;

	printf("stats_before: %s\n", before);
	printf("stats_after: %s\n", after);
	nb = parse_kv(before, b, STATS_KEYS_MAX);
	na = parse_kv(after, a, STATS_KEYS_MAX);
	if (na <= 0 || nb <= 0)
		return;
	/* differences only for the keys both lines have */
	printf("stats_delta:");
	for (int i = 0; i < na; i++) {
		for (int j = 0; j < nb; j++) {
			if (strcmp(a[i].key, b[j].key) == 0) {
				printf(" %s=%lld", a[i].key,
				       (long long)((unsigned long long)a[i].val -
						   (unsigned long long)b[j].val));
				break;
			}
		}
	}
	printf("\n");
}

/* ---- workloads --------------------------------------------------------- */

static int run_discard(const struct opts *o, struct result *res)
{
	uint64_t target = o->seconds > 0 ? UINT64_MAX : o->bytes;
	uint64_t sent = 0;
	uint8_t *buf = malloc(o->size);
	uint8_t rbuf[4096];
	bool shut = false;
	struct conn c;
	double t0, t1;
	int st;

	if (buf == NULL)
		return fail("out of memory");
	pattern(buf, 0, o->size);
	t0 = now();
	st = conn_open(o, o->port, "discard", &c);
	while (st == ST_OK) {
		struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
		int r;

		if (!shut && (sent >= target ||
			      (o->seconds > 0 && now() - t0 >= o->seconds))) {
			if (shutdown(c.fd, SHUT_WR) < 0) {
				st = fail("discard: shutdown: %s",
					  strerror(errno));
				break;
			}
			shut = true;
		}
		if (!shut)
			pfd.events |= POLLOUT;
		r = poll(&pfd, 1, timeout_ms(o));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = fail("discard: poll: %s", strerror(errno));
			break;
		}
		if (r == 0) {
			st = fail("discard: no progress in %g s (%" PRIu64
				  " bytes sent%s)", o->timeout, sent,
				  shut ? ", waiting for the close" : "");
			break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(c.fd, rbuf, sizeof(rbuf), 0);

			if (n == 0 && shut)
				break;		/* done: everything arrived */
			if (n == 0) {
				st = peer_gone(&c, "closed by the server",
					       "while sending");
			} else if (n < 0 && is_gone_errno(errno)) {
				st = peer_gone(&c, strerror(errno),
					       shut ? "instead of closing" :
					       "while sending");
			} else if (n < 0 && errno != EAGAIN &&
				   errno != EINTR) {
				st = fail("discard: recv: %s", strerror(errno));
			} else if (n > 0) {
				st = fail("discard: the server sent %zd bytes",
					  n);
			}
			if (st != ST_OK)
				break;
		}
		while (!shut && (pfd.revents & POLLOUT) && sent < target) {
			uint64_t left = target - sent;
			size_t want = left < o->size ? (size_t)left : o->size;
			ssize_t n = send(c.fd, buf, want, MSG_NOSIGNAL);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0 && is_gone_errno(errno)) {
				st = peer_gone(&c, strerror(errno),
					       "while sending");
				break;
			}
			if (n < 0) {
				st = fail("discard: send: %s", strerror(errno));
				break;
			}
			sent += (uint64_t)n;
			if (o->seconds > 0 && now() - t0 >= o->seconds)
				break;
		}
	}
	t1 = now();
	conn_close(&c);
	free(buf);
	if (st != ST_OK)
		return st;
	res->seconds = t1 - t0;
	res->amount = sent;
	res->mbit_s = (double)sent * 8 / res->seconds / 1e6;
	return ST_OK;
}

/* Check received echo bytes against the pattern at their offset. */
static int echo_check(const uint8_t *got, uint64_t off, size_t len,
		      uint8_t *scratch)
{
	pattern(scratch, off, len);
	if (memcmp(got, scratch, len) == 0)
		return ST_OK;
	for (size_t i = 0; i < len; i++)
		if (got[i] != scratch[i])
			return fail("echo: byte %" PRIu64 " differs: sent 0x%02x,"
				    " got back 0x%02x", off + i, scratch[i],
				    got[i]);
	return ST_OK;
}

static int run_echo(const struct opts *o, struct result *res)
{
	uint64_t target = o->seconds > 0 ? UINT64_MAX : o->bytes;
	uint64_t sent = 0, rcvd = 0;
	uint8_t *sbuf = malloc(o->size);
	uint8_t *rbuf = malloc(RX_CHUNK);
	uint8_t *scratch = malloc(RX_CHUNK);
	double t0, t_tx = 0, t_rx = 0;
	struct conn c = { .fd = -1 };
	int st;

	if (sbuf == NULL || rbuf == NULL || scratch == NULL) {
		st = fail("out of memory");
		goto out;
	}
	t0 = now();
	st = conn_open(o, o->port, "echo", &c);
	while (st == ST_OK) {
		struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
		int r;

		if (o->seconds > 0 && target == UINT64_MAX &&
		    now() - t0 >= o->seconds)
			target = sent;		/* stop sending, drain */
		if (sent == target && rcvd == target)
			break;
		if (sent < target && sent - rcvd < o->window)
			pfd.events |= POLLOUT;
		r = poll(&pfd, 1, timeout_ms(o));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = fail("echo: poll: %s", strerror(errno));
			break;
		}
		if (r == 0) {
			st = fail("echo: no progress in %g s (%" PRIu64
				  " bytes sent, %" PRIu64 " back)",
				  o->timeout, sent, rcvd);
			break;
		}
		while (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(c.fd, rbuf, RX_CHUNK, 0);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == 0 || (n < 0 && is_gone_errno(errno))) {
				char where[96];

				snprintf(where, sizeof(where), "after %" PRIu64
					 " of %" PRIu64 " bytes came back",
					 rcvd, sent);
				st = peer_gone(&c, n == 0 ?
					       "closed by the server" :
					       strerror(errno), where);
				break;
			}
			if (n < 0) {
				st = fail("echo: recv: %s", strerror(errno));
				break;
			}
			c.got_data = true;
			if ((uint64_t)n > sent - rcvd) {
				st = fail("echo: %" PRIu64 " bytes came back, "
					  "only %" PRIu64 " were sent",
					  rcvd + (uint64_t)n, sent);
				break;
			}
			st = echo_check(rbuf, rcvd, (size_t)n, scratch);
			if (st != ST_OK)
				break;
			rcvd += (uint64_t)n;
			t_rx = now();
		}
		if (st != ST_OK)
			break;
		while ((pfd.revents & POLLOUT) && sent < target &&
		       sent - rcvd < o->window) {
			uint64_t room = o->window - (sent - rcvd);
			size_t want = o->size;
			ssize_t n;

			if (room < want)
				want = (size_t)room;
			if (target - sent < want)
				want = (size_t)(target - sent);
			pattern(sbuf, sent, want);
			n = send(c.fd, sbuf, want, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0 && is_gone_errno(errno)) {
				st = peer_gone(&c, strerror(errno),
					       "while sending");
				break;
			}
			if (n < 0) {
				st = fail("echo: send: %s", strerror(errno));
				break;
			}
			sent += (uint64_t)n;
			t_tx = now();
		}
	}
	if (st == ST_OK && rcvd == 0)
		st = fail("echo: nothing sent in %g s", o->seconds);
	if (st == ST_OK) {
		/* the stream is complete; the server must close after it */
		if (conn_blocking(o, &c) == ST_OK)
			st = wait_close_blocking(o, &c);
		else
			st = ST_FAIL;
	}
	if (st == ST_OK) {
		res->seconds = t_rx - t0;
		res->amount = rcvd;
		res->mbit_s = (double)rcvd * 8 / res->seconds / 1e6;
		res->tx_mbit_s = (double)sent * 8 / (t_tx - t0) / 1e6;
	}
out:
	conn_close(&c);
	free(sbuf);
	free(rbuf);
	free(scratch);
	return st;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest sample with at least pct % at or below it */
static double rank_us(const uint64_t *v, size_t n, unsigned int pct)
{
	size_t k = (pct * n + 99) / 100;	/* ceil, in integers */

	if (k < 1)
		k = 1;
	return (double)v[k - 1] / 1e3;
}

static int run_rr(const struct opts *o, struct result *res)
{
	size_t cap = o->seconds > 0 ? 4096 : (size_t)o->count;
	uint64_t *lat = malloc(cap * sizeof(*lat));
	uint8_t *req = malloc(o->size);
	uint8_t *rsp = malloc(o->size);
	struct conn c = { .fd = -1 };
	uint64_t t_meas = 0, t_end = 0;
	size_t n = 0;
	int st, one = 1;

	if (lat == NULL || req == NULL || rsp == NULL) {
		st = fail("out of memory");
		goto out;
	}
	st = conn_open(o, o->port, "rr", &c);
	if (st == ST_OK)
		st = conn_blocking(o, &c);
	if (st == ST_OK &&
	    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		st = fail("rr: TCP_NODELAY: %s", strerror(errno));
	for (uint64_t i = 0; st == ST_OK; i++) {
		bool measured = i >= o->warmup;
		uint64_t t0, t1;

		if (measured && o->seconds <= 0 && n == o->count)
			break;
		if (measured && o->seconds > 0 && n > 0 &&
		    (double)(now_ns() - t_meas) / 1e9 >= o->seconds)
			break;
		pattern(req, i * o->size, o->size);
		t0 = now_ns();
		st = send_all(o, &c, req, o->size);
		if (st == ST_OK)
			st = recv_all(o, &c, rsp, o->size);
		t1 = now_ns();
		if (st != ST_OK)
			break;
		if (memcmp(req, rsp, o->size) != 0) {
			size_t k = 0;

			while (req[k] == rsp[k])
				k++;
			st = fail("rr: request %" PRIu64 " byte %zu: sent 0x%02x,"
				  " got back 0x%02x", i, k, req[k], rsp[k]);
			break;
		}
		if (!measured)
			continue;
		if (n == 0)
			t_meas = t0;
		if (n == cap) {
			uint64_t *l = realloc(lat, 2 * cap * sizeof(*lat));

			if (l == NULL) {
				st = fail("out of memory");
				break;
			}
			lat = l;
			cap *= 2;
		}
		lat[n++] = t1 - t0;
		t_end = t1;
	}
	if (st == ST_OK)
		st = wait_close_blocking(o, &c);
	if (st == ST_OK && n == 0)
		st = fail("rr: no request measured");
	if (st == ST_OK) {
		qsort(lat, n, sizeof(*lat), cmp_u64);
		res->seconds = (double)(t_end - t_meas) / 1e9;
		res->amount = n;
		res->min_us = (double)lat[0] / 1e3;
		res->median_us = n % 2 ? (double)lat[n / 2] / 1e3 :
			((double)lat[n / 2 - 1] + (double)lat[n / 2]) / 2e3;
		res->p90_us = rank_us(lat, n, 90);
		res->p99_us = rank_us(lat, n, 99);
		res->req_s = (double)n / res->seconds;
	}
out:
	conn_close(&c);
	free(lat);
	free(req);
	free(rsp);
	return st;
}

/* ---- main -------------------------------------------------------------- */

static const char *wl_name(enum workload wl)
{
	switch (wl) {
	case WL_DISCARD:
		return "discard";
	case WL_ECHO:
		return "echo";
	case WL_RR:
		return "rr";
	default:
		return "?";
	}
}

static void print_result(const struct opts *o, const struct result *r)
{
	switch (o->wl) {
	case WL_DISCARD:
		printf("discard size=%zu: %" PRIu64 " bytes in %.3f s, "
		       "%.1f Mbit/s\n", o->size, r->amount, r->seconds,
		       r->mbit_s);
		break;
	case WL_ECHO:
		printf("echo size=%zu window=%zu: %" PRIu64 " bytes each way in "
		       "%.3f s, %.1f Mbit/s each way (send side %.1f)\n",
		       o->size, o->window, r->amount, r->seconds, r->mbit_s,
		       r->tx_mbit_s);
		break;
	default:
		printf("rr size=%zu: %" PRIu64 " requests in %.3f s, "
		       "%.0f req/s, median %.1f us, p90 %.1f us, p99 %.1f us,"
		       " min %.1f us\n", o->size, r->amount, r->seconds,
		       r->req_s, r->median_us, r->p90_us, r->p99_us,
		       r->min_us);
		break;
	}
	if (!o->csv)
		return;
	if (o->wl == WL_RR)
		printf("rr,%zu,%" PRIu64 ",%.6f,,%.2f,%.2f,%.2f,%.2f,%.1f\n",
		       o->size, r->amount, r->seconds, r->median_us, r->p90_us,
		       r->p99_us, r->min_us, r->req_s);
	else
		printf("%s,%zu,%" PRIu64 ",%.6f,%.3f,,,,,\n", wl_name(o->wl),
		       o->size, r->amount, r->seconds, r->mbit_s);
}

/* stats before, the workload, stats after */
static int run_once(const struct opts *o, struct result *res, char *before,
		    char *after)
{
	int st;

	if (o->stats_port != NULL) {
		st = stats_query(o, before, STATS_LINE_MAX, true);
		if (st != ST_OK)
			return st;
	}
	switch (o->wl) {
	case WL_DISCARD:
		st = run_discard(o, res);
		break;
	case WL_ECHO:
		st = run_echo(o, res);
		break;
	default:
		st = run_rr(o, res);
		break;
	}
	if (st != ST_OK || o->stats_port == NULL)
		return st;
	/* the workload went through: no refusal to retry any more */
	return stats_query(o, after, STATS_LINE_MAX, false);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: m3_client --port P --workload discard|echo|rr [options]\n"
		"  --host H          server address (127.0.0.1)\n"
		"  --bytes N         discard/echo bytes, K/M/G suffixes "
		"(16M discard, 8M echo)\n"
		"  --size S          write size (16384), rr message size (1)\n"
		"  --count N         rr requests measured (2000)\n"
		"  --warmup N        rr requests before measuring (50)\n"
		"  --seconds T       run for T s instead of --bytes/--count\n"
		"  --window W        echo bytes in flight at most (64K)\n"
		"  --timeout T       seconds any wait may last (60)\n"
		"  --stats-port P2   query \"S\\n\" before and after\n"
		"  --csv             also print a CSV line (last line)\n"
		"  --csv-header      print the CSV header and exit\n");
}

static bool parse_size(const char *s, uint64_t min, uint64_t max,
		       uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K':
		mul = KIB;
		end++;
		break;
	case 'm': case 'M':
		mul = MIB;
		end++;
		break;
	case 'g': case 'G':
		mul = 1024 * MIB;
		end++;
		break;
	}
	if (*end != '\0' || (v != 0 && mul > UINT64_MAX / v))
		return false;
	*out = v * mul;
	return *out >= min && *out <= max;
}

static bool parse_secs(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *out > 0 &&
	       *out < 1e6;
}

static bool parse_port(const char *s)
{
	uint64_t v;

	return parse_size(s, 1, 65535, &v) && strspn(s, "0123456789") ==
	       strlen(s);
}

static const char csv_header[] = "workload,size,bytes_or_count,seconds,"
	"mbit_s,median_us,p90_us,p99_us,min_us,req_s";

int main(int argc, char **argv)
{
	enum { O_HOST = 256, O_PORT, O_WL, O_BYTES, O_SIZE, O_COUNT, O_WARMUP,
	       O_SECONDS, O_WINDOW, O_TIMEOUT, O_STATS, O_CSV, O_CSVH, O_HELP };
	static const struct option lopts[] = {
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "workload", required_argument, NULL, O_WL },
		{ "bytes", required_argument, NULL, O_BYTES },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "stats-port", required_argument, NULL, O_STATS },
		{ "csv", no_argument, NULL, O_CSV },
		{ "csv-header", no_argument, NULL, O_CSVH },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.host = "127.0.0.1",
		.warmup = 50,
		.count = 2000,
		.window = 64 * KIB,
		.timeout = 60,
	};
	struct result res = { 0 };
	static char before[STATS_LINE_MAX], after[STATS_LINE_MAX];
	uint64_t v, bytes = 0, size = 0;
	unsigned int retries = 0;
	int opt, st;

	t_start = now();
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case O_HOST:
			o.host = optarg;
			break;
		case O_PORT:
			o.port = optarg;
			ok = parse_port(optarg);
			break;
		case O_STATS:
			o.stats_port = optarg;
			ok = parse_port(optarg);
			break;
		case O_WL:
			o.wl = !strcmp(optarg, "discard") ? WL_DISCARD :
			       !strcmp(optarg, "echo") ? WL_ECHO :
			       !strcmp(optarg, "rr") ? WL_RR : WL_NONE;
			ok = o.wl != WL_NONE;
			break;
		case O_BYTES:
			ok = parse_size(optarg, 1, UINT64_MAX / 2, &bytes);
			break;
		case O_SIZE:
			ok = parse_size(optarg, 1, MIB, &size);
			break;
		case O_COUNT:
			ok = parse_size(optarg, 1, 100000000, &o.count);
			break;
		case O_WARMUP:
			ok = parse_size(optarg, 0, 100000000, &o.warmup);
			break;
		case O_WINDOW:
			ok = parse_size(optarg, 1, 1024 * MIB, &v);
			o.window = (size_t)v;
			break;
		case O_SECONDS:
			ok = parse_secs(optarg, &o.seconds);
			break;
		case O_TIMEOUT:
			ok = parse_secs(optarg, &o.timeout);
			break;
		case O_CSV:
			o.csv = true;
			break;
		case O_CSVH:
			printf("%s\n", csv_header);
			return 0;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
		if (!ok) {
			fprintf(stderr, "m3_client: bad value for --%s: %s\n",
				lopts[opt - O_HOST].name, optarg);
			return 1;
		}
	}
	if (optind != argc || o.port == NULL || o.wl == WL_NONE) {
		usage(stderr);
		return 1;
	}
	o.bytes = bytes ? bytes : o.wl == WL_ECHO ? 8 * MIB : 16 * MIB;
	o.size = size ? (size_t)size : o.wl == WL_RR ? 1 : 16384;
	if (o.wl == WL_RR && o.size > 64 * KIB) {
		/* a request is sent whole before its reply is read */
		fprintf(stderr, "m3_client: rr --size is at most 65536\n");
		return 1;
	}

	for (;;) {
		st = run_once(&o, &res, before, after);
		if (st != ST_EARLY || now() - t_start >= RETRY_WINDOW)
			break;
		if (retries++ == 0)
			fprintf(stderr, "m3_client: %s; retrying for up to "
				"%g s\n", err_msg, RETRY_WINDOW);
		nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	}
	if (st != ST_OK) {
		fprintf(stderr, "m3_client: %s\n", err_msg);
		return 1;
	}
	if (retries > 0)
		fprintf(stderr, "m3_client: connected after %u retr%s\n",
			retries, retries == 1 ? "y" : "ies");
	if (o.stats_port != NULL)
		print_stats(before, after);
	print_result(&o, &res);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "m3_client: stdout: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
