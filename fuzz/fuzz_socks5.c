/*
 * Fuzz target socks5: the proxy's answers to zsock's SOCKS5 client
 * (SO_SOCKS5, engine/sock/socks5.c).
 *
 * Input: one flags byte, then the bytes the proxy sends, all phases in a
 * row (method selection reply, RFC 1929 status if the method asks for it,
 * CONNECT reply, then whatever the "destination" sends):
 *
 *   flags bit 0   0: the parser alone, 1: a real connect() through a proxy
 *   flags bit 1   credentials set: the client offers username/password
 *   flags bit 2   (connect) IPv6 socket, proxy and destination; else IPv4
 *   flags 3..5    (connect) the proxy sends its bytes in pieces of
 *                 1 << (bits 3..5) bytes (TCP_NODELAY), 128 and up: at once
 *
 * What must hold, either way: the outcome is exactly what an independent
 * model of RFC 1928 / 1929 (model() below) gives for the byte string,
 * where running out of bytes (the proxy closes early) is EPROTO:
 *
 * - parser: zs_socks5_reply() driven as the exchange drives it, phase by
 *   phase, never asks for more than ZS_SOCKS5_REPLY_MAX bytes in all, and
 *   reads nothing past the bytes it is given (each call gets a heap copy
 *   of exactly len bytes, so ASan sees a read past it); it ends with the
 *   model's verdict after consuming exactly the model's byte count.
 * - connect: a zsock loopback listener is the proxy (this thread), a
 *   worker thread calls zsock_connect() with SO_SOCKS5 set. The proxy
 *   accepts, sends the input (after the flags byte) and half-closes, and
 *   reads what the client sends (all of it when the model says success,
 *   else until the client resets the connection). connect()
 *   returns 0 when the model says success, else -1 with the model's errno
 *   (only the SO_SOCKS5 errors of <zsock/socket.h> can come out of it);
 *   never ETIMEDOUT from SO_SNDTIMEO (10 s). The client's messages are
 *   the greeting, the RFC 1929 request and the CONNECT request, each only
 *   when the exchange got that far, byte for byte (on failure, what the
 *   proxy read before the reset is a prefix of them). On success
 *   getpeername() is the destination and the bytes after the reply reach
 *   the application intact, then EOF. After every input both sockets are
 *   closed (SO_LINGER {1, 0}: both resets, so no end stays in TIME_WAIT)
 *   and the engine returns to its idle counters (sockets, fds, transmit
 *   and receive buffers, TCP PCBs) within 10 s.
 */
#include <zsock/engine.h>
#include <zsock/socket.h>

#include "engine/sock/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"

#define F_CONNECT 0x01
#define F_AUTH    0x02
#define F_V6      0x04

#define DEST_PORT 4242
#define USER      "fuzzuser"
#define PASS      "fuzzpass"

/* ---- the model --------------------------------------------------------- */

struct outcome {
	int err;           /* 0 success, else the errno connect() gives */
	size_t consumed;   /* reply bytes the client reads (all phases) */
	bool auth_sent;    /* the client got to send its RFC 1929 request */
	bool connect_sent; /* ... and its CONNECT request */
};

/* RFC 1928 section 6, REP -> errno, as <zsock/socket.h> lists it. */
static const int rep_err[256] = {
	[0x01] = ECONNREFUSED, [0x02] = EACCES, [0x03] = ENETUNREACH,
	[0x04] = EHOSTUNREACH, [0x05] = ECONNREFUSED, [0x06] = ETIMEDOUT,
	[0x07] = EOPNOTSUPP, [0x08] = EAFNOSUPPORT,
};

static int rep_errno(uint8_t rep)
{
	if (rep == 0)
		return 0;
	return rep_err[rep] != 0 ? rep_err[rep] : EPROTO;
}

static struct outcome model(const uint8_t *b, size_t n, bool offered_auth)
{
	struct outcome o = { .err = EPROTO };
	size_t pos = 0, alen;

	/* method selection: VER METHOD */
	if (n < 2)
		return o;
	o.consumed = 2;
	if (b[0] != 5)
		return o;
	if (b[1] == 0xff) {
		o.err = EACCES;
		return o;
	}
	pos = 2;
	if (b[1] == 0x02 && offered_auth) {
		/* username/password: VER(1) STATUS */
		o.auth_sent = true;
		if (n < 4)
			return o;
		o.consumed = 4;
		if (b[2] != 1)
			return o;
		if (b[3] != 0) {
			o.err = EACCES;
			return o;
		}
		pos = 4;
	} else if (b[1] != 0x00) {
		return o;
	}
	/* CONNECT reply: VER REP RSV ATYP ADDR PORT */
	o.connect_sent = true;
	if (n - pos < 4)
		return o;
	o.consumed = pos + 4;
	if (b[pos] != 5 || b[pos + 2] != 0)
		return o;
	if (rep_errno(b[pos + 1]) != 0) {
		o.err = rep_errno(b[pos + 1]);
		return o;
	}
	if (b[pos + 3] == 1) {
		alen = 4;
	} else if (b[pos + 3] == 4) {
		alen = 16;
	} else if (b[pos + 3] == 3) {
		if (n - pos < 5)
			return o;
		o.consumed = pos + 5;
		if (b[pos + 4] == 0)
			return o;
		alen = 1 + (size_t)b[pos + 4];
	} else {
		return o;
	}
	if (n - pos - 4 < alen + 2)
		return o;
	o.consumed = pos + 4 + alen + 2;
	o.err = 0;
	return o;
}

/* ---- the parser alone -------------------------------------------------- */

/* One phase as read_reply() in socks5.c runs it; *pos advances by the
 * bytes taken. Returns the verdict, or -EPROTO when the bytes run out. */
static int parse_phase(enum zs_socks5_phase ph, const uint8_t *b, size_t n, size_t *pos,
		       bool offered, bool *use_auth)
{
	size_t len = 0;
	int need;

	for (;;) {
		uint8_t *copy = malloc(len > 0 ? len : 1);

		FZ_CHECK(copy != NULL, "malloc");
		if (len > 0)
			memcpy(copy, b + *pos, len);
		need = zs_socks5_reply(ph, copy, len, offered, use_auth);
		free(copy);
		if (need <= 0)
			break;
		FZ_CHECK(len + (size_t)need <= ZS_SOCKS5_REPLY_MAX,
			 "phase %d asks for %d more after %zu bytes", ph, need, len);
		if (n - *pos - len < (size_t)need) {
			*pos += n - *pos; /* EOF inside the reply */
			return -EPROTO;
		}
		len += (size_t)need;
	}
	*pos += len;
	return need;
}

static void run_parser(const uint8_t *b, size_t n, bool offered)
{
	struct outcome o = model(b, n, offered);
	size_t pos = 0;
	bool use_auth = false, unused;
	int rc;

	rc = parse_phase(ZS_S5_METHOD, b, n, &pos, offered, &use_auth);
	FZ_CHECK(rc != 0 || !use_auth || offered, "username/password taken without offering it");
	if (rc == 0 && use_auth)
		rc = parse_phase(ZS_S5_AUTH, b, n, &pos, true, &unused);
	if (rc == 0)
		rc = parse_phase(ZS_S5_CONNECT, b, n, &pos, false, &unused);
	FZ_CHECK(rc == -o.err, "parser says %d, the model %d", rc, -o.err);
	/* a cut reply consumes all there was; the model stops where it decided */
	FZ_CHECK(rc == -EPROTO || pos == o.consumed, "parser took %zu bytes, the model %zu", pos,
		 o.consumed);
}

/* ---- connect() through a loopback proxy ------------------------------- */

static int lfd[2];                    /* proxy listeners: IPv4, IPv6 */
static struct sockaddr_storage proxy_addr[2], dest_addr[2];
static socklen_t addr_len[2];
static struct zsock_engine_stats idle;

/* the worker's job */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job {
	int fd, v6;
	bool go, done;
	int rc, err;
	uint8_t rest[8192];   /* read after a successful connect */
	size_t rest_len;
	int rest_err;         /* errno of the read that did not end in EOF */
	struct sockaddr_storage peer;
	socklen_t peer_len;
} job;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		int rc, e;

		pthread_mutex_lock(&mu);
		while (!job.go)
			pthread_cond_wait(&cv, &mu);
		job.go = false;
		pthread_mutex_unlock(&mu);

		errno = 0;
		rc = zsock_connect(job.fd, (struct sockaddr *)&dest_addr[job.v6], addr_len[job.v6]);
		e = errno;
		job.rest_len = 0;
		job.rest_err = 0;
		if (rc == 0) {
			job.peer_len = sizeof(job.peer);
			if (zsock_getpeername(job.fd, (struct sockaddr *)&job.peer, &job.peer_len) < 0)
				job.peer_len = 0;
			for (;;) {
				ssize_t k = zsock_recv(job.fd, job.rest + job.rest_len,
						       sizeof(job.rest) - job.rest_len, 0);

				if (k <= 0) {
					job.rest_err = k < 0 ? errno : 0;
					break;
				}
				job.rest_len += (size_t)k;
				if (job.rest_len == sizeof(job.rest))
					break;
			}
		}
		pthread_mutex_lock(&mu);
		job.rc = rc;
		job.err = e;
		job.done = true;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	zsock_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void set_addr(struct sockaddr_storage *ss, socklen_t *len, int v6, const char *ip,
		     uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		*len = sizeof(*a);
	}
}

static void wait_idle(void)
{
	struct zsock_engine_stats st;
	int i;

	for (i = 0; i < 10000; i++) {
		FZ_CHECK(zsock_engine_stats(&st) == 0, "stats: errno %d", errno);
		if (st.sockets_in_use == idle.sockets_in_use && st.fds_in_use == idle.fds_in_use &&
		    st.tx_bufs_in_use == idle.tx_bufs_in_use &&
		    st.rx_bufs_in_use == idle.rx_bufs_in_use && st.lwip_tcp_pcbs == idle.lwip_tcp_pcbs)
			return;
		if (i < 100)
			sched_yield();
		else
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	FZ_CHECK(false, "not idle after 10 s: sockets %u/%u fds %u/%u tx %u/%u rx %u/%u pcbs %u/%u",
		 st.sockets_in_use, idle.sockets_in_use, st.fds_in_use, idle.fds_in_use,
		 st.tx_bufs_in_use, idle.tx_bufs_in_use, st.rx_bufs_in_use, idle.rx_bufs_in_use,
		 st.lwip_tcp_pcbs, idle.lwip_tcp_pcbs);
}

/* The client's messages, in order: greeting, RFC 1929 request, CONNECT. */
static size_t client_msgs(const struct outcome *o, bool auth, int v6, uint8_t *out)
{
	size_t n = 0;

	out[n++] = 5;
	if (auth) {
		out[n++] = 2;
		out[n++] = 0;
		out[n++] = 2;
	} else {
		out[n++] = 1;
		out[n++] = 0;
	}
	if (o->auth_sent) {
		out[n++] = 1;
		out[n++] = sizeof(USER) - 1;
		memcpy(out + n, USER, sizeof(USER) - 1);
		n += sizeof(USER) - 1;
		out[n++] = sizeof(PASS) - 1;
		memcpy(out + n, PASS, sizeof(PASS) - 1);
		n += sizeof(PASS) - 1;
	}
	if (o->connect_sent) {
		out[n++] = 5;
		out[n++] = 1;
		out[n++] = 0;
		if (v6) {
			out[n++] = 4;
			memcpy(out + n, &((struct sockaddr_in6 *)&dest_addr[1])->sin6_addr, 16);
			n += 16;
		} else {
			out[n++] = 1;
			memcpy(out + n, &((struct sockaddr_in *)&dest_addr[0])->sin_addr, 4);
			n += 4;
		}
		out[n++] = DEST_PORT >> 8;
		out[n++] = DEST_PORT & 0xff;
	}
	return n;
}

static void run_connect(const uint8_t *b, size_t n, uint8_t flags)
{
	bool auth = flags & F_AUTH;
	int v6 = (flags & F_V6) ? 1 : 0;
	size_t piece = (size_t)1 << ((flags >> 3) & 7);
	struct outcome o = model(b, n, auth);
	struct timeval tv = { .tv_sec = 10 };
	uint8_t want[64 + 2 * 255], got[1024];
	size_t want_len = client_msgs(&o, auth, v6, want), got_len = 0, off;
	int one = 1, cfd, pfd;
	struct zsock_pollfd pf;

	cfd = zsock_socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	FZ_CHECK(cfd >= 0, "socket: errno %d", errno);
	FZ_CHECK(zsock_setsockopt(cfd, SOL_SOCKET, SO_SOCKS5, &proxy_addr[v6], addr_len[v6]) == 0,
		 "SO_SOCKS5: errno %d", errno);
	FZ_CHECK(zsock_setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0,
		 "SO_SNDTIMEO: errno %d", errno);
	if (auth) {
		struct zsock_socks5_auth a = { .user = USER, .pass = PASS };

		FZ_CHECK(zsock_setsockopt(cfd, SOL_SOCKET, ZSOCK_SO_SOCKS5_AUTH, &a, sizeof(a)) == 0,
			 "SO_SOCKS5_AUTH: errno %d", errno);
	}
	linger0(cfd);

	pthread_mutex_lock(&mu);
	job.fd = cfd;
	job.v6 = v6;
	job.done = false;
	job.go = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);

	pf = (struct zsock_pollfd){ .fd = lfd[v6], .events = ZSOCK_POLLIN };
	if (zsock_poll(&pf, 1, 10000) != 1) {
		struct zsock_engine_stats st;

		zsock_engine_stats(&st);
		pthread_mutex_lock(&mu);
		FZ_CHECK(false, "the client never reached the proxy: connect %s %d errno %d; "
			 "sockets %u fds %u tcp pcbs %u", job.done ? "returned" : "still in",
			 job.rc, job.err, st.sockets_in_use, st.fds_in_use, st.lwip_tcp_pcbs);
	}
	pfd = zsock_accept(lfd[v6], NULL, NULL);
	FZ_CHECK(pfd >= 0, "accept: errno %d", errno);
	linger0(pfd);
	zsock_setsockopt(pfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tv.tv_sec = 20; /* a client that hangs fails the checks below, not the run */
	zsock_setsockopt(pfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* all of it, then FIN; a send may fail once the client has reset */
	for (off = 0; off < n;) {
		size_t k = n - off < piece ? n - off : piece;
		ssize_t s = zsock_send(pfd, b + off, k, 0);

		if (s <= 0)
			break;
		off += (size_t)s;
	}
	zsock_shutdown(pfd, ZSOCK_SHUT_WR);
	/* the client's messages: all of them when it succeeds (it then
	 * closes after us, so that neither end lingers in TIME_WAIT), or
	 * until it resets the connection after a failure */
	while (o.err != 0 || got_len < want_len) {
		ssize_t k = zsock_recv(pfd, got + got_len, sizeof(got) - got_len, 0);

		if (k <= 0 || (got_len += (size_t)k) == sizeof(got))
			break;
	}

	pthread_mutex_lock(&mu);
	while (!job.done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);

	if (o.err == 0) {
		FZ_CHECK(job.rc == 0, "connect -1 errno %d, the model says success", job.err);
		FZ_CHECK(got_len == want_len && memcmp(got, want, want_len) == 0,
			 "the proxy read %zu bytes, not the client's %zu", got_len, want_len);
		FZ_CHECK(job.peer_len == addr_len[v6] &&
			 memcmp(&job.peer, &dest_addr[v6], addr_len[v6]) == 0,
			 "getpeername is not the destination (len %u)", (unsigned)job.peer_len);
		FZ_CHECK(job.rest_err == 0 && job.rest_len == n - o.consumed &&
			 memcmp(job.rest, b + o.consumed, job.rest_len) == 0,
			 "after the reply: %zu bytes (errno %d), sent %zu", job.rest_len, job.rest_err,
			 n - o.consumed);
	} else {
		FZ_CHECK(job.rc == -1 && job.err == o.err, "connect %d errno %d, the model: errno %d",
			 job.rc, job.err, o.err);
		FZ_CHECK(got_len <= want_len && memcmp(got, want, got_len) == 0,
			 "the proxy read %zu bytes that are not the client's messages", got_len);
	}
	zsock_close(pfd);
	zsock_close(cfd);
	wait_idle();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static pthread_t th;
	int i;

	(void)argc;
	(void)argv;
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage ss;
		socklen_t len;

		set_addr(&ss, &len, i, i ? "::1" : "127.0.0.1", 0);
		lfd[i] = zsock_socket(i ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		FZ_CHECK(lfd[i] >= 0, "socket: errno %d", errno);
		FZ_CHECK(zsock_bind(lfd[i], (struct sockaddr *)&ss, len) == 0, "bind: errno %d", errno);
		FZ_CHECK(zsock_listen(lfd[i], 4) == 0, "listen: errno %d", errno);
		addr_len[i] = sizeof(proxy_addr[i]);
		FZ_CHECK(zsock_getsockname(lfd[i], (struct sockaddr *)&proxy_addr[i], &addr_len[i]) == 0,
			 "getsockname: errno %d", errno);
		set_addr(&dest_addr[i], &len, i, i ? "2001:db8::77" : "198.51.100.7", DEST_PORT);
		FZ_CHECK(len == addr_len[i], "address lengths");
	}
	FZ_CHECK(zsock_engine_stats(&idle) == 0, "stats: errno %d", errno);
	FZ_CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "pthread_create");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags;

	if (size == 0)
		return 0;
	flags = data[0];
	if (flags & F_CONNECT)
		run_connect(data + 1, size - 1, flags);
	else
		run_parser(data + 1, size - 1, flags & F_AUTH);
	return 0;
}
