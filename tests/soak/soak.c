/*
 * soak: mixed TCP, UDP and TLS load on the engine over loopback for a
 * chosen time, with the engine's memory figures sampled all along
 * (docs/reliability.md, "Soak").
 *
 *   soak [--seconds N] [--interval S] [--csv FILE]
 *
 * What runs at once (threads of this process, all on zsock sockets):
 *  - TCP: 4 clients, each opening a connection (IPv4 and IPv6 in turn),
 *    sending 1 B .. 512 KiB in random chunks of up to 32 KiB to an echo
 *    server and checking every echoed byte (memcmp of each chunk, CRC-32
 *    of the whole stream), then closing (half of the time shutdown(SHUT_WR)
 *    and wait for the server's EOF first), and again. One connection in four
 *    sends and receives through the zero-copy calls (zsock_buf_alloc,
 *    zsock_send_buf, zsock_recv_buf, zsock_buf_release). 4 server threads
 *    accept from two listeners (IPv4, IPv6) and echo.
 *  - UDP: 2 clients send requests (sequence number, length, CRC-32, 1 ..
 *    1400 bytes of payload) to an echo server on each family and wait for
 *    the reply with that sequence number (10 s); every 500 requests the
 *    client socket is closed and opened again.
 *  - TLS: up to 2 clients (fewer when CONFIG_ZSOCK_TLS_SESSIONS or
 *    CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS are small) make full TLS 1.2
 *    connections to a zsock TLS echo server (certificate chain and CA from
 *    the test PKI, tests/common/zt_certs.h; host name checked), every other
 *    one with the session cache on (resumed handshakes), move 1 B .. 64 KiB
 *    in chunks of up to 8 KiB, check it and close; one server thread per
 *    client.
 *
 * Every 100 ms the main thread reads zsock_engine_stats(); every interval
 * (default: a sixtieth of the run, 1 .. 60 s) it prints one CSV line:
 * elapsed time, bytes checked, connections and requests done, errors, and
 * for each pool the mean of the interval's samples next to the highest
 * sample so far (*_max) or the engine's own high-water mark (*_hw).
 *
 * At the end the clients stop after their current connection, the servers
 * after theirs, and the program checks (each failure is printed as a
 * "# FAIL: ..." line; the last line is "# PASS" or "# FAIL (n reasons)"):
 *  - no error: no failed call, no data mismatch, no lost UDP request;
 *  - every pool back to idle: no socket, fd, net_buf, TLS socket or session
 *    in use, lwIP's heap and pbufs back to their figures before the load,
 *    and once the credentials are deleted, an empty credential arena;
 *  - no growth: for each in-use figure, the mean over the last quarter of
 *    the run is at most 1.2 times the mean over the first quarter (without
 *    its first interval, the warm-up) plus a small slack; the engine's
 *    high-water marks rise by at most 10 % of their pool after the first
 *    quarter.
 * lwIP's TCP PCB count is printed but not judged: it includes TIME_WAIT
 * PCBs, which live 2 MSL (120 s) and so climb to a plateau.
 *
 * Exit status 0 on PASS, 1 on FAIL, 2 on a usage or set-up error.
 * scripts/soak.sh runs it for a long time and plots the CSV; the meson
 * suite 'soak' runs it for 30 s. Under ThreadSanitizer the poll sets are
 * held by idle threads (see HOLD_POLLSETS below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <zsock/engine.h>
#include <zsock/net_buf.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#include "zt_certs.h"

/* ---- configuration -------------------------------------------------------------- */

#define TCP_CLIENTS   4
#define TCP_MAX_TOTAL (512u * 1024u)
#define TCP_MAX_CHUNK (32u * 1024u)
#define UDP_CLIENTS   2
#define UDP_MAX_LOAD  1400u
#define UDP_REOPEN    500
#define TLS_CLIENTS_MAX 2
#define TLS_MAX_TOTAL (64u * 1024u)
#define TLS_MAX_CHUNK (8u * 1024u)
/* every blocking call is bounded, so a hang becomes an error; generous, so
 * that a loaded machine that does not schedule the process for seconds
 * (the watch thread reports it) does not look like a lost reply */
#define IO_TIMEOUT_MS 30000
#define UDP_WAIT_MS   10000
#define SAMPLE_MS     100
#define STOP_GRACE_MS 60000   /* threads must be done this long after stop */
#define IDLE_WAIT_MS  20000   /* and the pools idle this long after that */

#define TAG_CA  1
#define TAG_SRV 10
#define SERVER_NAME "server.test"

/* TLS clients: each holds one session and its server thread one more; the
 * listener takes a TLS socket but no session. */
#define TLS_BY_SESSIONS (CONFIG_ZSOCK_TLS_SESSIONS / 2)
#define TLS_BY_SLOTS    ((CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS - 1) / 2)
#define TLS_CLIENTS_MIN2(a, b) ((a) < (b) ? (a) : (b))
#if CONFIG_ZSOCK_TLS
#define TLS_CLIENTS TLS_CLIENTS_MIN2(TLS_CLIENTS_MAX, TLS_CLIENTS_MIN2(TLS_BY_SESSIONS, TLS_BY_SLOTS))
#else
#define TLS_CLIENTS 0
#endif

/* ---- shared state ---------------------------------------------------------------- */

static atomic_bool stop;         /* clients: finish the connection, then return */
static atomic_bool servers_stop; /* servers: set once every client has returned */
static _Atomic uint64_t n_bytes, n_tcp, n_udp, n_tls, n_tls_resumed, n_errors, n_udp_lost, n_udp_late;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t t0_ms;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* zt_certs.c's assertions (tests/soak/shim/criterion/criterion.h) */
void soak_fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "# FAIL: set-up: ");
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fprintf(stdout, "\n");
	fflush(stdout);
	exit(2);
}

/* A failed call or a data mismatch in a worker: counted, the first 20 printed. */
__attribute__((format(printf, 1, 2)))
static void soak_error(const char *fmt, ...)
{
	va_list ap;
	uint64_t n = atomic_fetch_add(&n_errors, 1);

	if (n >= 20)
		return;
	pthread_mutex_lock(&err_lock);
	printf("# error at %.1f s: ", (double)(now_ms() - t0_ms) / 1000.0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("%s\n", n == 19 ? " (further errors are only counted)" : "");
	fflush(stdout);
	pthread_mutex_unlock(&err_lock);
}

/* ---- data ---------------------------------------------------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* xorshift64*: state must not be 0 */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rnd(s) % (uint64_t)(hi - lo + 1));
}

static void rnd_fill(uint64_t *s, uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t v = rnd(s);

		for (int k = 0; k < 8 && i < len; k++, i++)
			buf[i] = (uint8_t)(v >> (8 * k));
	}
}

/* ---- sockets ------------------------------------------------------------------------ */

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	in6->sin6_addr = in6addr_loopback;
	return sizeof(*in6);
}

static const char *fam_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static int set_timeouts(int fd, int rcv_ms, int snd_ms)
{
	struct timeval r = { rcv_ms / 1000, (rcv_ms % 1000) * 1000 };
	struct timeval s = { snd_ms / 1000, (snd_ms % 1000) * 1000 };

	if (zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r)) != 0 ||
	    zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof(s)) != 0)
		return -1;
	return 0;
}

/* A socket bound to the loopback address, ephemeral port in *port; -1 on error. */
static int bound(int family, int type, int proto, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, 0, &ss);
	int fd = zsock_socket(family, type, proto);

	if (fd < 0)
		return -1;
	if (zsock_bind(fd, (struct sockaddr *)&ss, len) != 0)
		goto fail;
	len = sizeof(ss);
	if (zsock_getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		goto fail;
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
fail:
	zsock_close(fd);
	return -1;
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = zsock_send(fd, buf + done, len - done, 0);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Receive exactly len bytes; MSG_WAITALL when waitall. 0, or -1 (errno; EPIPE at EOF). */
static int recv_all(int fd, uint8_t *buf, size_t len, bool waitall)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = zsock_recv(fd, buf + done, len - done, waitall ? ZSOCK_MSG_WAITALL : 0);

		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Zero-copy send of len bytes: chains of transmit net_bufs. */
static int send_zc(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct net_buf *head = NULL, *tail = NULL;
		int nb = 0;

		/* a chain of up to 8 buffers */
		while (done < len && nb < 8) {
			struct net_buf *b = zsock_buf_alloc(IO_TIMEOUT_MS);
			size_t n;

			if (b == NULL) {
				int e = errno;

				if (head != NULL)
					zsock_buf_release(head);
				errno = e;
				return -1;
			}
			n = len - done < b->size ? len - done : b->size;
			memcpy(b->data, buf + done, n);
			b->len = (uint16_t)n;
			done += n;
			nb++;
			if (tail != NULL)
				tail->frags = b;
			else
				head = b;
			tail = b;
		}
		if (zsock_send_buf(fd, head, 0) < 0) {
			int e = errno;

			zsock_buf_release(head);
			errno = e;
			return -1;
		}
	}
	return 0;
}

/* Zero-copy receive of exactly len bytes. A chain holding more than wanted
 * leaves the rest in carry (*ncarry bytes, at most cap), taken first by the
 * next call. */
static int recv_zc(int fd, uint8_t *buf, size_t len, uint8_t *carry, size_t *ncarry, size_t cap)
{
	size_t done = 0;

	if (*ncarry > 0) {
		size_t n = *ncarry < len ? *ncarry : len;

		memcpy(buf, carry, n);
		memmove(carry, carry + n, *ncarry - n);
		*ncarry -= n;
		done = n;
	}
	while (done < len) {
		struct net_buf *chain = NULL;
		ssize_t n = zsock_recv_buf(fd, &chain, 0);

		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return -1;
		for (struct net_buf *b = chain; b != NULL; b = b->frags) {
			size_t take = b->len;
			size_t room = len - done;

			if (take > room) {
				if (*ncarry + (take - room) > cap) {
					zsock_buf_release(chain);
					errno = EMSGSIZE; /* more than was ever sent */
					return -1;
				}
				memcpy(buf + done, b->data, room);
				memcpy(carry + *ncarry, b->data + room, take - room);
				*ncarry += take - room;
				done += room;
			} else {
				memcpy(buf + done, b->data, take);
				done += take;
			}
		}
		if (zsock_buf_release(chain) != 0)
			return -1;
	}
	return 0;
}

/* ---- TCP echo ------------------------------------------------------------------------- */

struct server {
	int lfd[2];        /* listeners polled by this thread (-1: none) */
	bool tls;
	int id;
};

static void echo_conn(int c, bool tls)
{
	static _Thread_local uint8_t buf[16384];

	if (set_timeouts(c, IO_TIMEOUT_MS, IO_TIMEOUT_MS) != 0) {
		soak_error("%s server: setsockopt: errno %d (%s)", tls ? "TLS" : "TCP", errno,
			   strerror(errno));
		return;
	}
	for (;;) {
		ssize_t n = zsock_recv(c, buf, sizeof(buf), 0);

		if (n == 0)
			return;
		if (n < 0) {
			soak_error("%s server: recv: errno %d (%s)", tls ? "TLS" : "TCP", errno,
				   strerror(errno));
			return;
		}
		if (send_all(c, buf, (size_t)n) != 0) {
			soak_error("%s server: send: errno %d (%s)", tls ? "TLS" : "TCP", errno,
				   strerror(errno));
			return;
		}
	}
}

/* Poll the listeners (so the thread sees stop), accept, echo until EOF. */
static void *server_main(void *arg)
{
	struct server *sv = arg;

	while (!atomic_load(&servers_stop)) {
		struct zsock_pollfd p[2];
		int np = 0, rc;

		for (int i = 0; i < 2; i++) {
			if (sv->lfd[i] >= 0)
				p[np++] = (struct zsock_pollfd){ .fd = sv->lfd[i], .events = ZSOCK_POLLIN };
		}
		rc = zsock_poll(p, np, 200);
		if (rc < 0) {
			if (atomic_load(&servers_stop))
				break; /* the listeners were closed under us */
			soak_error("server %d: poll: errno %d (%s)", sv->id, errno, strerror(errno));
			sleep_ms(100);
			continue;
		}
		for (int i = 0; i < np; i++) {
			int c;

			if (!(p[i].revents & ZSOCK_POLLIN))
				continue;
			/* another server thread may have taken it: the TCP listeners
			 * are non-blocking; the TLS one blocks (accept runs the
			 * handshake), and the stop closes it under a waiting accept */
			c = zsock_accept(p[i].fd, NULL, NULL);
			if (c < 0) {
				if (errno != EAGAIN && !atomic_load(&servers_stop))
					soak_error("%s server %d: accept: errno %d (%s)",
						   sv->tls ? "TLS" : "TCP", sv->id, errno,
						   strerror(errno));
				continue;
			}
			echo_conn(c, sv->tls);
			if (zsock_close(c) != 0)
				soak_error("server %d: close: errno %d", sv->id, errno);
		}
	}
	return NULL;
}

struct client {
	int id;
	uint16_t port[2];  /* IPv4, IPv6 */
	uint64_t seed;
};

static void *tcp_client_main(void *arg)
{
	struct client *cl = arg;
	static _Thread_local uint8_t out[TCP_MAX_CHUNK], in[TCP_MAX_CHUNK], carry[TCP_MAX_CHUNK + 65536];
	uint64_t s = cl->seed;

	for (uint64_t iter = 0; !atomic_load(&stop); iter++) {
		int family = iter % 2 ? AF_INET6 : AF_INET;
		struct sockaddr_storage ss;
		socklen_t len = loopback(family, cl->port[iter % 2], &ss);
		uint32_t total = rnd_range(&s, 1, TCP_MAX_TOTAL), sent = 0;
		uint32_t crc_out = 0, crc_in = 0;
		bool zc = rnd(&s) % 4 == 0, halfclose = rnd(&s) % 2 == 0;
		size_t ncarry = 0;
		const char *what = "socket";
		int fd = zsock_socket(family, SOCK_STREAM, 0);

		if (fd < 0)
			goto fail;
		what = "setsockopt";
		if (set_timeouts(fd, IO_TIMEOUT_MS, IO_TIMEOUT_MS) != 0)
			goto fail;
		what = "connect";
		if (zsock_connect(fd, (struct sockaddr *)&ss, len) != 0)
			goto fail;
		while (sent < total) {
			uint32_t n = rnd_range(&s, 1, TCP_MAX_CHUNK);

			if (n > total - sent)
				n = total - sent;
			rnd_fill(&s, out, n);
			crc_out = crc32_update(crc_out, out, n);
			what = "send";
			if ((zc ? send_zc(fd, out, n) : send_all(fd, out, n)) != 0)
				goto fail;
			what = "recv";
			if ((zc ? recv_zc(fd, in, n, carry, &ncarry, sizeof(carry))
				: recv_all(fd, in, n, rnd(&s) % 2 == 0)) != 0)
				goto fail;
			crc_in = crc32_update(crc_in, in, n);
			if (memcmp(in, out, n) != 0) {
				soak_error("TCP client %d (%s): echo differs at offset %u of %u",
					   cl->id, fam_name(family), sent, total);
				zsock_close(fd);
				goto next;
			}
			sent += n;
			atomic_fetch_add(&n_bytes, 2 * (uint64_t)n);
		}
		if (crc_in != crc_out || ncarry != 0) {
			soak_error("TCP client %d: stream CRC %08x, echo %08x, %zu bytes too many",
				   cl->id, crc_out, crc_in, ncarry);
			zsock_close(fd);
			goto next;
		}
		if (halfclose) {
			char c;

			what = "shutdown";
			if (zsock_shutdown(fd, ZSOCK_SHUT_WR) != 0)
				goto fail;
			what = "recv (EOF)";
			if (zsock_recv(fd, &c, 1, 0) != 0)
				goto fail;
		}
		what = "close";
		if (zsock_close(fd) != 0) {
			fd = -1;
			goto fail;
		}
		atomic_fetch_add(&n_tcp, 1);
		continue;
fail:
		soak_error("TCP client %d (%s%s): %s: errno %d (%s)", cl->id, fam_name(family),
			   zc ? ", zero-copy" : "", what, errno, strerror(errno));
		if (fd >= 0)
			zsock_close(fd);
		sleep_ms(10);
next:;
	}
	return NULL;
}

/* ---- UDP echo -------------------------------------------------------------------------- */

struct udp_server {
	int fd;
};

static void *udp_server_main(void *arg)
{
	struct udp_server *u = arg;
	uint8_t buf[2048];

	while (!atomic_load(&servers_stop)) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = zsock_recvfrom(u->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

		if (n < 0) {
			if (errno != EAGAIN)
				soak_error("UDP server: recvfrom: errno %d (%s)", errno, strerror(errno));
			continue;
		}
		if (zsock_sendto(u->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) != n)
			soak_error("UDP server: sendto: errno %d (%s)", errno, strerror(errno));
	}
	return NULL;
}

struct udp_hdr {
	uint32_t seq;
	uint32_t crc;
	uint16_t len;
} __attribute__((packed));

static void *udp_client_main(void *arg)
{
	struct client *cl = arg;
	uint8_t req[sizeof(struct udp_hdr) + UDP_MAX_LOAD], rep[2048];
	uint64_t s = cl->seed;
	uint32_t seq = 0;
	int fd = -1, family = AF_INET;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;

	while (!atomic_load(&stop)) {
		struct udp_hdr h;
		uint32_t n = rnd_range(&s, 1, UDP_MAX_LOAD);
		int64_t deadline;
		bool got = false;

		if (fd < 0 || seq % UDP_REOPEN == 0) {
			if (fd >= 0 && zsock_close(fd) != 0)
				soak_error("UDP client %d: close: errno %d", cl->id, errno);
			family = (seq / UDP_REOPEN) % 2 ? AF_INET6 : AF_INET;
			sslen = loopback(family, cl->port[family == AF_INET ? 0 : 1], &ss);
			fd = zsock_socket(family, SOCK_DGRAM, 0);
			if (fd < 0 || set_timeouts(fd, 200, IO_TIMEOUT_MS) != 0) {
				soak_error("UDP client %d: socket: errno %d (%s)", cl->id, errno,
					   strerror(errno));
				if (fd >= 0)
					zsock_close(fd);
				fd = -1;
				sleep_ms(100);
				continue;
			}
		}
		seq++;
		rnd_fill(&s, req + sizeof(h), n);
		h.seq = seq;
		h.len = (uint16_t)n;
		h.crc = crc32_update(0, req + sizeof(h), n);
		memcpy(req, &h, sizeof(h));
		if (zsock_sendto(fd, req, sizeof(h) + n, 0, (struct sockaddr *)&ss, sslen) !=
		    (ssize_t)(sizeof(h) + n)) {
			soak_error("UDP client %d: sendto: errno %d (%s)", cl->id, errno, strerror(errno));
			continue;
		}
		deadline = now_ms() + UDP_WAIT_MS;
		while (!got && now_ms() < deadline) {
			struct udp_hdr r;
			ssize_t m = zsock_recv(fd, rep, sizeof(rep), 0);

			if (m < 0) {
				if (errno != EAGAIN)
					soak_error("UDP client %d: recv: errno %d (%s)", cl->id, errno,
						   strerror(errno));
				continue;
			}
			if ((size_t)m < sizeof(r)) {
				soak_error("UDP client %d: a %zd-byte reply", cl->id, m);
				continue;
			}
			memcpy(&r, rep, sizeof(r));
			if (r.seq < seq) {
				atomic_fetch_add(&n_udp_late, 1);
				continue;
			}
			if (r.seq != seq || r.len != n || (size_t)m != sizeof(r) + n ||
			    memcmp(rep, req, sizeof(r) + n) != 0 ||
			    crc32_update(0, rep + sizeof(r), n) != h.crc) {
				soak_error("UDP client %d: reply %u (%zd bytes) for request %u (%u bytes) differs",
					   cl->id, r.seq, m, seq, n);
				got = true;
				continue;
			}
			got = true;
			atomic_fetch_add(&n_udp, 1);
			atomic_fetch_add(&n_bytes, 2 * (uint64_t)n);
		}
		if (!got && !atomic_load(&stop)) {
			atomic_fetch_add(&n_udp_lost, 1);
			soak_error("UDP client %d (%s): no reply to request %u within %d ms", cl->id,
				   fam_name(family), seq, UDP_WAIT_MS);
		}
	}
	if (fd >= 0 && zsock_close(fd) != 0)
		soak_error("UDP client %d: close: errno %d", cl->id, errno);
	return NULL;
}

/* ---- TLS -------------------------------------------------------------------------------- */

#if CONFIG_ZSOCK_TLS
static int tls_listener(int family, uint16_t *port)
{
	const sec_tag_t tags[] = { TAG_SRV };
	int on = TLS_SESSION_CACHE_ENABLED;
	int fd = bound(family, SOCK_STREAM, IPPROTO_TLS_1_2, port);

	if (fd < 0)
		return -1;
	if (zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags)) != 0 ||
	    zsock_setsockopt(fd, SOL_TLS, TLS_SESSION_CACHE, &on, sizeof(on)) != 0 ||
	    set_timeouts(fd, IO_TIMEOUT_MS, IO_TIMEOUT_MS) != 0 || zsock_listen(fd, 4) != 0) {
		zsock_close(fd);
		return -1;
	}
	return fd;
}

static void *tls_client_main(void *arg)
{
	struct client *cl = arg;
	static _Thread_local uint8_t out[TLS_MAX_CHUNK], in[TLS_MAX_CHUNK];
	const sec_tag_t tags[] = { TAG_CA };
	uint64_t s = cl->seed;

	for (uint64_t iter = 0; !atomic_load(&stop); iter++) {
		struct sockaddr_storage ss;
		socklen_t len = loopback(AF_INET, cl->port[0], &ss);
		uint32_t total = rnd_range(&s, 1, TLS_MAX_TOTAL), sent = 0;
		int cache = iter % 2 ? TLS_SESSION_CACHE_ENABLED : TLS_SESSION_CACHE_DISABLED;
		const char *what = "socket";
		int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

		if (fd < 0)
			goto fail;
		what = "setsockopt";
		if (set_timeouts(fd, IO_TIMEOUT_MS, IO_TIMEOUT_MS) != 0 ||
		    zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags)) != 0 ||
		    zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, SERVER_NAME, sizeof(SERVER_NAME)) != 0 ||
		    zsock_setsockopt(fd, SOL_TLS, TLS_SESSION_CACHE, &cache, sizeof(cache)) != 0)
			goto fail;
		what = "connect (handshake)";
		if (zsock_connect(fd, (struct sockaddr *)&ss, len) != 0)
			goto fail;
		{
			int resumed = 0;
			socklen_t rlen = sizeof(resumed);

			what = "getsockopt(ZSOCK_TLS_SESSION_RESUMED)";
			if (zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_SESSION_RESUMED, &resumed, &rlen) != 0)
				goto fail;
			if (resumed)
				atomic_fetch_add(&n_tls_resumed, 1);
		}
		while (sent < total) {
			uint32_t n = rnd_range(&s, 1, TLS_MAX_CHUNK);

			if (n > total - sent)
				n = total - sent;
			rnd_fill(&s, out, n);
			what = "send";
			if (send_all(fd, out, n) != 0)
				goto fail;
			what = "recv";
			if (recv_all(fd, in, n, true) != 0)
				goto fail;
			if (memcmp(in, out, n) != 0) {
				soak_error("TLS client %d: echo differs at offset %u of %u", cl->id, sent,
					   total);
				zsock_close(fd);
				goto next;
			}
			sent += n;
			atomic_fetch_add(&n_bytes, 2 * (uint64_t)n);
		}
		what = "close";
		if (zsock_close(fd) != 0) {
			fd = -1;
			goto fail;
		}
		atomic_fetch_add(&n_tls, 1);
		continue;
fail:
		soak_error("TLS client %d: %s: errno %d (%s)", cl->id, what, errno, strerror(errno));
		if (fd >= 0)
			zsock_close(fd);
		sleep_ms(10);
next:;
	}
	return NULL;
}
#endif

/* ---- poll sets under ThreadSanitizer ------------------------------------------------------ */

/*
 * Under TSan the poll sets (CONFIG_ZSOCK_POLLSETS) are held by threads that
 * outlive the load, so that no worker takes one: engine/pollset.c's
 * acquire() writes a set's fields under sets_lock only while
 * zs_pollset_forget(), run by a close in another thread, reads them under
 * the set's lock, a data race TSan reports when a thread polls for the
 * first time (or after another exited) while a socket is closed
 * (reported; remove once acquire() takes the set's lock). Without TSan the
 * workers use them.
 */
#if defined(__SANITIZE_THREAD__)
#define HOLD_POLLSETS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HOLD_POLLSETS 1
#endif
#endif
#ifndef HOLD_POLLSETS
#define HOLD_POLLSETS 0
#endif

static atomic_int sets_held;
static atomic_bool sets_release;

static void *holder_main(void *arg)
{
	(void)arg;
	(void)zsock_poll(NULL, 0, 0); /* a thread's first poll takes a set */
	atomic_fetch_add(&sets_held, 1);
	while (!atomic_load(&sets_release))
		sleep_ms(50);
	return NULL;
}

/* ---- stalls ------------------------------------------------------------------------------ */

/*
 * A watch thread that makes no zsock call tells a stall of the machine
 * from one of the engine: it wakes every 50 ms and records how late it
 * was (the process was not scheduled), and it watches the main thread's
 * zsock_engine_stats() calls, which wait for the reactor: one that has not
 * returned after 3 s means the reactor is not running (or starved). Both
 * are printed as "# note:" lines and as the last two CSV columns
 * (sched_gap_ms, reactor_ms: the worst of the interval). With --stall-dump
 * PREFIX a reactor stall also gets every thread's stack (gdb -p) written to
 * PREFIX-N.txt, at most 3 times.
 */
static _Atomic int64_t probe_since;   /* a stats call in flight since (ms), 0: none */
static _Atomic int64_t gap_iv, probe_iv, gap_all, probe_all;
static atomic_bool watch_stop;
static const char *dump_prefix;

static void max_store(_Atomic int64_t *a, int64_t v)
{
	int64_t cur = atomic_load(a);

	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

static void stall_dump(int n, int64_t waited)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "gdb -p %d -batch -ex 'info threads' -ex 'thread apply all bt' >'%s-%d.txt' 2>&1",
		 (int)getpid(), dump_prefix, n);
	pthread_mutex_lock(&err_lock);
	printf("# note: stacks of every thread after %lld ms of reactor stall: %s-%d.txt\n",
	       (long long)waited, dump_prefix, n);
	fflush(stdout);
	pthread_mutex_unlock(&err_lock);
	if (system(cmd) != 0) {
		pthread_mutex_lock(&err_lock);
		printf("# note: gdb failed (%s)\n", cmd);
		pthread_mutex_unlock(&err_lock);
	}
}

static void *watch_main(void *arg)
{
	int64_t last = now_ms(), noted = 0;
	int dumps = 0;

	(void)arg;
	while (!atomic_load(&watch_stop)) {
		int64_t t, gap, since;

		sleep_ms(50);
		t = now_ms();
		gap = t - last - 50;
		last = t;
		max_store(&gap_iv, gap);
		max_store(&gap_all, gap);
		if (gap >= 1000) {
			pthread_mutex_lock(&err_lock);
			printf("# note: at %.1f s a thread that makes no zsock call had not run for "
			       "%lld ms (the machine was busy)\n",
			       (double)(t - t0_ms) / 1000.0, (long long)gap);
			fflush(stdout);
			pthread_mutex_unlock(&err_lock);
		}
		since = atomic_load(&probe_since);
		if (since == 0)
			noted = 0;
		else if (since != noted && t - since >= 3000) {
			noted = since; /* once per stalled call */
			pthread_mutex_lock(&err_lock);
			printf("# note: at %.1f s a zsock_engine_stats() call has waited %lld ms for "
			       "the reactor, while this thread ran\n",
			       (double)(t - t0_ms) / 1000.0, (long long)(t - since));
			fflush(stdout);
			pthread_mutex_unlock(&err_lock);
			if (dump_prefix != NULL && dumps < 3)
				stall_dump(++dumps, t - since);
		}
	}
	return NULL;
}

/* ---- figures ----------------------------------------------------------------------------- */

enum {
	M_SOCKETS, M_FDS, M_TX, M_RX, M_LWIP_MEM, M_PBUFS, M_TCP_PCBS, M_UDP_PCBS,
	M_TLS, M_TLS_SESS, M_ARENA, M_COUNT
};

static const struct {
	const char *name;
	bool judged;      /* in the growth check */
	double slack;     /* absolute slack of the growth check */
} metric[M_COUNT] = {
	[M_SOCKETS]  = { "sockets", true, 4 },
	[M_FDS]      = { "fds", true, 4 },
	[M_TX]       = { "tx_bufs", true, 32 },
	[M_RX]       = { "rx_bufs", true, 32 },
	[M_LWIP_MEM] = { "lwip_mem", true, 65536 },
	[M_PBUFS]    = { "pbufs", true, 8 },
	[M_TCP_PCBS] = { "tcp_pcbs", false, 0 },   /* TIME_WAIT: a plateau */
	[M_UDP_PCBS] = { "udp_pcbs", true, 4 },
	[M_TLS]      = { "tls", true, 1 },
	[M_TLS_SESS] = { "tls_sessions", true, 1 },
	[M_ARENA]    = { "cred_arena", true, 4096 },
};

static void figures(const struct zsock_engine_stats *st, double *v)
{
	v[M_SOCKETS] = st->sockets_in_use;
	v[M_FDS] = st->fds_in_use;
	v[M_TX] = st->tx_bufs_in_use;
	v[M_RX] = st->rx_bufs_in_use;
	v[M_LWIP_MEM] = st->lwip_mem_used;
	v[M_PBUFS] = st->lwip_pbuf_in_use;
	v[M_TCP_PCBS] = st->lwip_tcp_pcbs;
	v[M_UDP_PCBS] = st->lwip_udp_pcbs;
	v[M_TLS] = st->tls_in_use;
	v[M_TLS_SESS] = st->tls_sessions_in_use;
	v[M_ARENA] = st->tls_cred_arena_used;
}

/* the engine's own high-water marks */
enum { H_TX, H_RX, H_TLS, H_TLS_SESS, H_COUNT };

static void hws(const struct zsock_engine_stats *st, uint32_t *h)
{
	h[H_TX] = st->tx_bufs_high_water;
	h[H_RX] = st->rx_bufs_high_water;
	h[H_TLS] = st->tls_high_water;
	h[H_TLS_SESS] = st->tls_sessions_high_water;
}

struct interval {
	double mean[M_COUNT];
	uint32_t hw[H_COUNT];
};

static FILE *csv;
static int n_fail;

__attribute__((format(printf, 1, 2)))
static void verdict_fail(const char *fmt, ...)
{
	va_list ap;

	printf("# FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	n_fail++;
}

static void csv_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void csv_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (csv != NULL) {
		va_start(ap, fmt);
		vfprintf(csv, fmt, ap);
		va_end(ap);
		fflush(csv);
	}
}

static bool stats(struct zsock_engine_stats *st)
{
	int64_t t = now_ms(), d;
	int rc;

	atomic_store(&probe_since, t);
	rc = zsock_engine_stats(st);
	atomic_store(&probe_since, 0);
	d = now_ms() - t;
	max_store(&probe_iv, d);
	max_store(&probe_all, d);
	if (rc != 0) {
		soak_error("zsock_engine_stats: errno %d", errno);
		return false;
	}
	return true;
}

/* Wait up to wait_ms for the pools to be idle and lwIP's heap and pbufs back
 * to base; *st gets the last figures. */
static bool wait_idle(int wait_ms, const struct zsock_engine_stats *base, struct zsock_engine_stats *st)
{
	int64_t end = now_ms() + wait_ms;

	for (;;) {
		bool idle;

		if (!stats(st))
			return false;
		idle = st->sockets_in_use == 0 && st->fds_in_use == 0 && st->tx_bufs_in_use == 0 &&
		       st->rx_bufs_in_use == 0 && st->tls_in_use == 0 &&
		       st->tls_sessions_in_use == 0 && st->lwip_mem_used == base->lwip_mem_used &&
		       st->lwip_pbuf_in_use == base->lwip_pbuf_in_use &&
		       st->lwip_udp_pcbs == base->lwip_udp_pcbs;
		if (idle || now_ms() >= end)
			return idle;
		sleep_ms(50);
	}
}

static bool join_by(pthread_t t, int64_t deadline, const char *what)
{
	struct timespec ts;
	int64_t left = deadline - now_ms();

	clock_gettime(CLOCK_REALTIME, &ts);
	if (left < 0)
		left = 0;
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(t, NULL, &ts) != 0) {
		verdict_fail("%s still running %d s after the stop: a call hangs", what,
			     STOP_GRACE_MS / 1000);
		return false;
	}
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: soak [--seconds N (1..86400, default 600)] [--interval S] [--csv FILE]\n"
			"            [--stall-dump PREFIX]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long seconds = 600, interval = 0;
	const char *csv_path = NULL;
	struct zsock_engine_stats base, st;
	struct server tcp_sv[TCP_CLIENTS];
	struct client tcp_cl[TCP_CLIENTS], udp_cl[UDP_CLIENTS];
	struct udp_server udp_sv[2];
	pthread_t t_tcp_sv[TCP_CLIENTS], t_tcp_cl[TCP_CLIENTS], t_udp_sv[2], t_udp_cl[UDP_CLIENTS];
	pthread_t t_hold[CONFIG_ZSOCK_POLLSETS + 1], t_watch;
	int tcp_l[2] = { -1, -1 };
#if CONFIG_ZSOCK_TLS && TLS_CLIENTS > 0
	struct server tls_sv[TLS_CLIENTS];
	struct client tls_cl[TLS_CLIENTS];
	pthread_t t_tls_sv[TLS_CLIENTS], t_tls_cl[TLS_CLIENTS];
	int tls_l = -1;
	uint16_t tls_port = 0;
#endif
	uint16_t tcp_port[2], udp_port[2];
	struct interval *iv;
	size_t n_iv = 0, max_iv;
	uint32_t arena_after_setup;
	double sum[M_COUNT], peak[M_COUNT];
	int nsum = 0;
	int64_t next_sample, next_line, end_ms, deadline;
	bool ok_join = true;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc)
			interval = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
			csv_path = argv[++i];
		else if (strcmp(argv[i], "--stall-dump") == 0 && i + 1 < argc)
			dump_prefix = argv[++i];
		else
			usage();
	}
	if (seconds < 1 || seconds > 86400)
		usage();
	if (interval == 0)
		interval = seconds / 60 < 1 ? 1 : (seconds / 60 > 60 ? 60 : seconds / 60);
	if (interval < 1 || interval > seconds)
		usage();
	if (csv_path != NULL && (csv = fopen(csv_path, "w")) == NULL) {
		fprintf(stderr, "soak: %s: %s\n", csv_path, strerror(errno));
		return 2;
	}
	max_iv = (size_t)(seconds / interval) + 2;
	iv = calloc(max_iv, sizeof(*iv));
	if (iv == NULL)
		return 2;
	crc_init();

	/* ---- set-up ---- */
	if (zsock_engine_stats(&base) != 0) {
		printf("# FAIL: set-up: the engine does not start: errno %d (%s)\n", errno, strerror(errno));
		return 2;
	}
	printf("# soak: %ld s, a line every %ld s; %d TCP, %d UDP, %d TLS clients; "
	       "pools: %d fds, %d sockets, %d tx / %d rx net_bufs, %d TCP PCBs, lwIP heap %d bytes, "
	       "%d TLS sockets, %d TLS sessions\n",
	       seconds, interval, TCP_CLIENTS, UDP_CLIENTS, TLS_CLIENTS, CONFIG_ZVFS_OPEN_MAX,
	       CONFIG_NET_MAX_CONTEXTS, CONFIG_NET_BUF_TX_COUNT, CONFIG_NET_BUF_RX_COUNT,
	       CONFIG_NET_MAX_CONN, CONFIG_LWIP_MEM_SIZE, CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS,
	       CONFIG_ZSOCK_TLS_SESSIONS);
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		tcp_l[f] = bound(family, SOCK_STREAM, 0, &tcp_port[f]);
		if (tcp_l[f] < 0 || zsock_fcntl(tcp_l[f], F_SETFL, O_NONBLOCK) != 0 ||
		    zsock_listen(tcp_l[f], 16) != 0)
			soak_fatal("TCP listener (%s): errno %d", fam_name(family), errno);
		udp_sv[f].fd = bound(family, SOCK_DGRAM, 0, &udp_port[f]);
		if (udp_sv[f].fd < 0 || set_timeouts(udp_sv[f].fd, 200, IO_TIMEOUT_MS) != 0)
			soak_fatal("UDP server (%s): errno %d", fam_name(family), errno);
	}
#if CONFIG_ZSOCK_TLS && TLS_CLIENTS > 0
	zt_certs_make();
	zt_certs_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	zt_certs_add(TAG_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
	zt_certs_add(TAG_SRV, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
	tls_l = tls_listener(AF_INET, &tls_port);
	if (tls_l < 0)
		soak_fatal("TLS listener: errno %d (%s)", errno, strerror(errno));
#endif
	if (!stats(&st))
		return 2;
	arena_after_setup = st.tls_cred_arena_used;

	/* ---- load ---- */
	for (int i = 0; HOLD_POLLSETS && i < CONFIG_ZSOCK_POLLSETS; i++)
		pthread_create(&t_hold[i], NULL, holder_main, NULL);
	while (HOLD_POLLSETS && atomic_load(&sets_held) < CONFIG_ZSOCK_POLLSETS)
		sleep_ms(5);
	t0_ms = now_ms();
	pthread_create(&t_watch, NULL, watch_main, NULL);
	for (int i = 0; i < TCP_CLIENTS; i++) {
		tcp_sv[i] = (struct server){ .lfd = { tcp_l[0], tcp_l[1] }, .tls = false, .id = i };
		tcp_cl[i] = (struct client){ .id = i, .port = { tcp_port[0], tcp_port[1] },
					     .seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) };
		pthread_create(&t_tcp_sv[i], NULL, server_main, &tcp_sv[i]);
		pthread_create(&t_tcp_cl[i], NULL, tcp_client_main, &tcp_cl[i]);
	}
	for (int f = 0; f < 2; f++)
		pthread_create(&t_udp_sv[f], NULL, udp_server_main, &udp_sv[f]);
	for (int i = 0; i < UDP_CLIENTS; i++) {
		udp_cl[i] = (struct client){ .id = i, .port = { udp_port[0], udp_port[1] },
					     .seed = 0xd1b54a32d192ed03ULL * (uint64_t)(i + 1) };
		pthread_create(&t_udp_cl[i], NULL, udp_client_main, &udp_cl[i]);
	}
#if CONFIG_ZSOCK_TLS && TLS_CLIENTS > 0
	for (int i = 0; i < TLS_CLIENTS; i++) {
		tls_sv[i] = (struct server){ .lfd = { tls_l, -1 }, .tls = true, .id = i };
		tls_cl[i] = (struct client){ .id = i, .port = { tls_port, 0 },
					     .seed = 0x94d049bb133111ebULL * (uint64_t)(i + 1) };
		pthread_create(&t_tls_sv[i], NULL, server_main, &tls_sv[i]);
		pthread_create(&t_tls_cl[i], NULL, tls_client_main, &tls_cl[i]);
	}
#endif

	csv_line("elapsed_s,bytes,conns,tcp_conns,udp_reqs,tls_conns,errors,"
		 "sockets,sockets_max,fds,fds_max,tx_bufs,tx_bufs_hw,rx_bufs,rx_bufs_hw,"
		 "lwip_mem,lwip_mem_max,pbufs,pbufs_max,tcp_pcbs,udp_pcbs,"
		 "tls,tls_hw,tls_sessions,tls_sessions_hw,cred_arena,sched_gap_ms,reactor_ms\n");
	memset(sum, 0, sizeof(sum));
	for (int m = 0; m < M_COUNT; m++)
		peak[m] = 0;
	end_ms = t0_ms + seconds * 1000;
	next_sample = t0_ms;
	next_line = t0_ms + interval * 1000;
	for (;;) {
		double v[M_COUNT];

		if (stats(&st)) {
			figures(&st, v);
			for (int m = 0; m < M_COUNT; m++) {
				sum[m] += v[m];
				if (v[m] > peak[m])
					peak[m] = v[m];
			}
			nsum++;
		}
		if (now_ms() >= next_line && nsum > 0 && n_iv < max_iv) {
			struct interval *it = &iv[n_iv++];
			uint64_t tcp = atomic_load(&n_tcp), tls = atomic_load(&n_tls);

			for (int m = 0; m < M_COUNT; m++)
				it->mean[m] = sum[m] / nsum;
			hws(&st, it->hw);
			csv_line("%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
				 ",%.1f,%.0f,%.1f,%.0f,%.1f,%u,%.1f,%u,%.0f,%.0f,%.1f,%.0f,%.1f,%.1f"
				 ",%.2f,%u,%.2f,%u,%.0f,%lld,%lld\n",
				 (double)(next_line - t0_ms) / 1000.0, atomic_load(&n_bytes), tcp + tls,
				 tcp, atomic_load(&n_udp), tls, atomic_load(&n_errors),
				 it->mean[M_SOCKETS], peak[M_SOCKETS], it->mean[M_FDS], peak[M_FDS],
				 it->mean[M_TX], st.tx_bufs_high_water, it->mean[M_RX],
				 st.rx_bufs_high_water, it->mean[M_LWIP_MEM], peak[M_LWIP_MEM],
				 it->mean[M_PBUFS], peak[M_PBUFS], it->mean[M_TCP_PCBS],
				 it->mean[M_UDP_PCBS], it->mean[M_TLS], st.tls_high_water,
				 it->mean[M_TLS_SESS], st.tls_sessions_high_water, it->mean[M_ARENA],
				 (long long)atomic_exchange(&gap_iv, 0),
				 (long long)atomic_exchange(&probe_iv, 0));
			memset(sum, 0, sizeof(sum));
			nsum = 0;
			next_line += interval * 1000;
		}
		if (now_ms() >= end_ms)
			break;
		next_sample += SAMPLE_MS;
		if (next_sample > now_ms())
			sleep_ms((int)(next_sample - now_ms()));
	}

	/* ---- stop: clients first (they finish their connection), then servers ---- */
	atomic_store(&stop, true);
	deadline = now_ms() + STOP_GRACE_MS;
	for (int i = 0; i < TCP_CLIENTS; i++)
		ok_join &= join_by(t_tcp_cl[i], deadline, "a TCP client");
	for (int i = 0; i < UDP_CLIENTS; i++)
		ok_join &= join_by(t_udp_cl[i], deadline, "a UDP client");
#if CONFIG_ZSOCK_TLS && TLS_CLIENTS > 0
	for (int i = 0; i < TLS_CLIENTS; i++)
		ok_join &= join_by(t_tls_cl[i], deadline, "a TLS client");
#endif
	/* no client left: the servers stop after their connection; closing
	 * the listeners wakes their polls and accepts (EINTR) */
	atomic_store(&servers_stop, true);
	for (int f = 0; f < 2; f++) {
		if (zsock_close(tcp_l[f]) != 0)
			soak_error("closing a TCP listener: errno %d", errno);
	}
#if CONFIG_ZSOCK_TLS && TLS_CLIENTS > 0
	if (zsock_close(tls_l) != 0)
		soak_error("closing the TLS listener: errno %d", errno);
	for (int i = 0; i < TLS_CLIENTS; i++)
		ok_join &= join_by(t_tls_sv[i], deadline, "a TLS server");
#endif
	for (int i = 0; i < TCP_CLIENTS; i++)
		ok_join &= join_by(t_tcp_sv[i], deadline, "a TCP server");
	for (int f = 0; f < 2; f++)
		ok_join &= join_by(t_udp_sv[f], deadline, "a UDP server");
	atomic_store(&watch_stop, true);
	ok_join &= join_by(t_watch, deadline, "the watch thread");
	atomic_store(&sets_release, true);
	for (int i = 0; HOLD_POLLSETS && i < CONFIG_ZSOCK_POLLSETS; i++)
		ok_join &= join_by(t_hold[i], deadline, "a poll set holder");
	if (!ok_join) {
		printf("# FAIL (threads hang)\n");
		fflush(stdout);
		_exit(1); /* threads still inside zsock calls: no orderly exit */
	}
	for (int f = 0; f < 2; f++) {
		if (zsock_close(udp_sv[f].fd) != 0)
			soak_error("closing a UDP server: errno %d", errno);
	}

	/* ---- verdict ---- */
	printf("# done after %.1f s: %" PRIu64 " bytes checked, %" PRIu64 " TCP and %" PRIu64
	       " TLS connections (%" PRIu64 " resumed), %" PRIu64 " UDP requests (%" PRIu64
	       " late replies), %" PRIu64 " errors\n",
	       (double)(now_ms() - t0_ms) / 1000.0, atomic_load(&n_bytes), atomic_load(&n_tcp),
	       atomic_load(&n_tls), atomic_load(&n_tls_resumed), atomic_load(&n_udp),
	       atomic_load(&n_udp_late), atomic_load(&n_errors));
	printf("# stalls: the process went at most %lld ms unscheduled; a zsock_engine_stats() call "
	       "(a reactor round trip) took at most %lld ms\n", (long long)atomic_load(&gap_all),
	       (long long)atomic_load(&probe_all));
	if (atomic_load(&n_errors) != 0)
		verdict_fail("%" PRIu64 " errors (failed calls, data mismatches, %" PRIu64
			     " lost UDP requests)", atomic_load(&n_errors), atomic_load(&n_udp_lost));
	if (atomic_load(&n_tcp) == 0 || atomic_load(&n_udp) == 0 ||
	    (TLS_CLIENTS > 0 && atomic_load(&n_tls) == 0))
		verdict_fail("a kind of traffic made no progress (TCP %" PRIu64 ", UDP %" PRIu64
			     ", TLS %" PRIu64 ")", atomic_load(&n_tcp), atomic_load(&n_udp),
			     atomic_load(&n_tls));

	if (!wait_idle(IDLE_WAIT_MS, &base, &st))
		verdict_fail("not idle %d s after the load: %u sockets, %u fds, %u tx / %u rx net_bufs, "
			     "%u TLS sockets, %u TLS sessions, lwIP heap %u bytes (before: %u), "
			     "%u pbufs (before: %u), %u UDP PCBs (before: %u)", IDLE_WAIT_MS / 1000,
			     st.sockets_in_use, st.fds_in_use, st.tx_bufs_in_use, st.rx_bufs_in_use,
			     st.tls_in_use, st.tls_sessions_in_use, st.lwip_mem_used,
			     base.lwip_mem_used, st.lwip_pbuf_in_use, base.lwip_pbuf_in_use,
			     st.lwip_udp_pcbs, base.lwip_udp_pcbs);
	else
		printf("# idle again: no socket, fd, net_buf or TLS slot in use; lwIP heap %u bytes, "
		       "%u pbufs (as before the load); %u TCP PCBs left (TIME_WAIT)\n",
		       st.lwip_mem_used, st.lwip_pbuf_in_use, st.lwip_tcp_pcbs);
	printf("# credential arena: %u bytes after set-up, %u at the end\n", arena_after_setup,
	       st.tls_cred_arena_used);
#if CONFIG_ZSOCK_TLS && TLS_CLIENTS > 0
	if (tls_credential_delete(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE) != 0 ||
	    tls_credential_delete(TAG_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE) != 0 ||
	    tls_credential_delete(TAG_SRV, TLS_CREDENTIAL_PRIVATE_KEY) != 0)
		verdict_fail("tls_credential_delete failed");
	if (stats(&st) && (st.tls_cred_arena_used != 0 || st.tls_cred_count != 0))
		verdict_fail("credentials deleted, but the arena holds %u bytes in %u credentials",
			     st.tls_cred_arena_used, st.tls_cred_count);
#endif

	/* growth: last quarter against the first (without its first interval) */
	if (n_iv < 8) {
		printf("# growth not judged: %zu intervals (8 needed; use a longer run or a shorter "
		       "--interval)\n", n_iv);
	} else {
		size_t q = n_iv / 4;

		for (int m = 0; m < M_COUNT; m++) {
			double early = 0, late = 0;

			for (size_t i = 1; i < q; i++)
				early += iv[i].mean[m];
			early /= (double)(q - 1);
			for (size_t i = n_iv - q; i < n_iv; i++)
				late += iv[i].mean[m];
			late /= (double)q;
			printf("# %-12s first quarter %12.1f  last quarter %12.1f%s\n", metric[m].name,
			       early, late, metric[m].judged ? "" : "  (not judged: TIME_WAIT)");
			if (metric[m].judged && late > early * 1.2 + metric[m].slack)
				verdict_fail("%s grew: mean %.1f in the first quarter, %.1f in the last",
					     metric[m].name, early, late);
		}
		static const char *hname[H_COUNT] = { "tx_bufs_hw", "rx_bufs_hw", "tls_hw",
						      "tls_sessions_hw" };
		const uint32_t htotal[H_COUNT] = { CONFIG_NET_BUF_TX_COUNT, CONFIG_NET_BUF_RX_COUNT,
						   CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS,
						   CONFIG_ZSOCK_TLS_SESSIONS };

		for (int h = 0; h < H_COUNT; h++) {
			uint32_t a = iv[q - 1].hw[h], b = iv[n_iv - 1].hw[h];

			printf("# %-16s after the first quarter %u, at the end %u (pool %u)\n", hname[h],
			       a, b, htotal[h]);
			if (b > a + htotal[h] / 10)
				verdict_fail("%s kept rising: %u after the first quarter, %u at the end",
					     hname[h], a, b);
		}
	}
	free(iv);
	if (csv != NULL)
		fclose(csv);
	if (n_fail == 0)
		printf("# PASS\n");
	else
		printf("# FAIL (%d reasons)\n", n_fail);
	return n_fail == 0 ? 0 : 1;
}
