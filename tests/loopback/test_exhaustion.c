/*
 * Exhaustion and recovery over loopback (docs/reliability.md): each test
 * uses up one fixed resource of the engine on purpose, checks that every
 * call then fails with the errno the API documents (or waits, where that
 * is the documented behaviour), releases the load, and checks that full
 * service returns: a TCP transfer and a UDP round trip over IPv4 and IPv6
 * work, the ZT_TEST leak check finds no socket, fd, net_buf, TLS socket or
 * session in use, and lwIP's heap and pbufs are back to their figures from
 * before the test. Sizes come from <zsock/zsock_config.h>, so the tests
 * hold for any configuration (a part that a configuration cannot reach is
 * skipped with the reason).
 *
 *   fds            the fd table (CONFIG_ZVFS_OPEN_MAX): socket() ENFILE,
 *                  TLS socket() ENFILE, socketpair() ENFILE, accept()
 *                  ENFILE and the connection closed; one close frees one fd
 *   socket_objects native socket objects (CONFIG_NET_MAX_CONTEXTS): socket()
 *                  ENOMEM; a connection arriving then is reset (the
 *                  listener has nothing to accept)
 *   tx_bufs        transmit net_bufs (CONFIG_NET_BUF_TX_COUNT): peers that do
 *                  not read, non-blocking sends until EAGAIN; then send
 *                  EAGAIN on every TCP socket, no POLLOUT, a blocking send
 *                  times out with EAGAIN, zsock_buf_alloc() ENOMEM / EAGAIN;
 *                  UDP still works; a blocked sender completes on release
 *   rx_flood       one receiver nobody reads: the sender gets EAGAIN and no
 *                  POLLOUT; then every byte arrives, in order
 *   rx_bufs        receive net_buf headers (CONFIG_NET_BUF_RX_COUNT): many
 *                  flooded receivers; UDP datagrams are then dropped and
 *                  counted (rx_drops); every TCP byte arrives once read
 *   udp_full_receiver  datagrams to a receiver whose ring is full: dropped
 *                  and counted in rx_drops, the sender never fails, what
 *                  was queued reads back intact and in order
 *   lwip_heap      large datagrams held unread on loopback fill lwIP's heap
 *                  (CONFIG_LWIP_MEM_SIZE): sendto() ENOMEM, TCP stalls
 *                  (data queued, none lost), connect() ENOMEM; all of it
 *                  recovers once the datagrams are read
 *   tcp_pcbs       lwIP TCP PCBs (CONFIG_NET_MAX_CONN): socket() ENOMEM,
 *                  connect() again after a failed one ENOMEM, a connect to a
 *                  listener with no PCB left waits (EINPROGRESS after
 *                  SO_SNDTIMEO) and completes when one is freed
 *   listen_pcbs    lwIP's listening PCBs (16 at most): listen() ENOMEM, the
 *                  socket stays usable
 *   listen_backlog more connects than the backlog: the extra ones wait (the
 *                  SYN is dropped, as on Linux) and complete once accept()
 *                  makes room; a backlog above the engine's cap is capped
 *   tls_slots      TLS socket objects (CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS):
 *                  socket() ENOMEM, accept() ENOMEM (the client is reset)
 *   tls_sessions   TLS sessions (CONFIG_ZSOCK_TLS_SESSIONS): connect()
 *                  ENOMEM, and accept() ENOMEM with the client reset
 *   dns            lookups in parallel against a server that never answers,
 *                  with fewer fds free than lookups: every call ends within
 *                  the configured timeout with EAI_AGAIN (it had a socket)
 *                  or EAI_SYSTEM / ENFILE (it had none); result nodes
 *                  (CONFIG_ZSOCK_ADDRINFO_MAX): EAI_MEMORY
 *
 * connect() ENOMEM, accept() ENOMEM on TLS listeners, the 16-listener
 * limit and getaddrinfo()'s EAI_SYSTEM / ENFILE are what the engine does
 * but <zsock/socket.h> does not list (docs/reliability.md, "Found").
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zsock/engine.h>
#include <zsock/net_buf.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#include "zt.h"
#include "zt_certs.h"
#include "zt_tls.h"

/* more than any table of any configuration the tests fill */
#define MANY (CONFIG_ZVFS_OPEN_MAX + CONFIG_NET_MAX_CONTEXTS + 16)

/* ---- lwIP's figures before and after ------------------------------------------- */

struct lwip_base {
	uint32_t mem, pbufs, udp_pcbs;
};

static void lwip_base_take(struct lwip_base *b)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	b->mem = st.lwip_mem_used;
	b->pbufs = st.lwip_pbuf_in_use;
	b->udp_pcbs = st.lwip_udp_pcbs;
}

/* lwIP's heap, pbufs and UDP PCBs back to b (closes finish asynchronously:
 * up to 5 s). TCP PCBs are not compared: TIME_WAIT ones stay 2 MSL. */
static void lwip_back(const struct lwip_base *b)
{
	struct zsock_engine_stats st;
	int64_t end = zt_now_ms() + 5000;

	for (;;) {
		zt_stats(&st);
		if (st.lwip_mem_used == b->mem && st.lwip_pbuf_in_use == b->pbufs &&
		    st.lwip_udp_pcbs == b->udp_pcbs)
			return;
		cr_assert_lt(zt_now_ms(), end,
			     "lwIP not back after the load: heap %u bytes (before %u), pbufs %u "
			     "(before %u), UDP PCBs %u (before %u)",
			     st.lwip_mem_used, b->mem, st.lwip_pbuf_in_use, b->pbufs,
			     st.lwip_udp_pcbs, b->udp_pcbs);
		zt_sleep_ms(20);
	}
}

/* ---- full service ----------------------------------------------------------------- */

static void set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)), 0,
		     "setsockopt(%d): errno %d", opt, errno);
}

static void set_nonblock(int fd)
{
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0, "fcntl: errno %d", errno);
}

/* 64 KiB each way over a fresh TCP pair, a datagram each way over UDP. */
static void service_family(int family)
{
	static uint8_t out[65536], in[65536];
	int cli, srv, a, b;
	char dg[64];

	zt_tcp_pair(family, &cli, &srv);
	set_timeo(cli, SO_RCVTIMEO, 10000);
	set_timeo(srv, SO_RCVTIMEO, 10000);
	zt_pattern(7, 0, out, sizeof(out));
	zt_send_all(cli, out, sizeof(out));
	zt_recv_all(srv, in, sizeof(in));
	cr_assert_eq(zt_pattern_check(7, 0, in, sizeof(in)), sizeof(in), "TCP data differs");
	zt_send_all(srv, in, sizeof(in));
	zt_recv_all(cli, out, sizeof(out));
	cr_assert_eq(zt_pattern_check(7, 0, out, sizeof(out)), sizeof(out), "TCP echo differs");
	zt_close(cli);
	zt_close(srv);

	zt_udp_pair(family, &a, &b);
	set_timeo(a, SO_RCVTIMEO, 5000);
	set_timeo(b, SO_RCVTIMEO, 5000);
	cr_assert_eq(zsock_send(a, "service", 7, 0), 7, "UDP send: errno %d", errno);
	cr_assert_eq(zsock_recv(b, dg, sizeof(dg), 0), 7, "UDP recv: errno %d", errno);
	cr_assert_eq(zsock_send(b, "back", 4, 0), 4, "UDP send: errno %d", errno);
	cr_assert_eq(zsock_recv(a, dg, sizeof(dg), 0), 4, "UDP recv: errno %d", errno);
	zt_close(a);
	zt_close(b);
}

/* Everything works again and lwIP is back where it was. */
static void full_service(const struct lwip_base *b)
{
	service_family(AF_INET);
	service_family(AF_INET6);
	lwip_back(b);
}

/* A call that must fail with -1 and errno err; what names it in the message. */
#define FAILS_WITH(call, err, what)                                                        \
	do {                                                                               \
		long rc_;                                                                  \
		int e_;                                                                    \
		errno = 0;                                                                 \
		rc_ = (long)(call);                                                        \
		e_ = errno;                                                                \
		cr_assert_eq(rc_, -1, "%s: returned %ld, want -1 with %s", what, rc_,      \
			     strerror(err));                                               \
		cr_assert_eq(e_, err, "%s: errno %d (%s), want %d (%s)", what, e_,         \
			     strerror(e_), err, strerror(err));                            \
	} while (0)

/* ---- fds ----------------------------------------------------------------------------- */

ZT_TEST(exhaustion, fds, .timeout = 60)
{
	static int fds[MANY];
	int pairs[CONFIG_NET_SOCKETPAIR_MAX][2];
	struct zsock_engine_stats st;
	struct lwip_base base;
	int n = 0, npairs = 0, l, c, fd, free_fds, free_objs, sv[2] = { -7, -7 };
	uint16_t port;
	ssize_t r;
	char ch;

	lwip_base_take(&base);
	/* a connection waiting in a backlog: accept() will need an fd */
	l = zt_listener(AF_INET, 4, &port);
	c = zt_connect(AF_INET, port);
	set_timeo(c, SO_RCVTIMEO, 5000);
	cr_assert(zt_poll1(l, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, "the connection is not queued");
	/* socketpair fds have no socket object: use them until the fd table
	 * is the smaller of the two */
	zt_stats(&st);
	free_fds = CONFIG_ZVFS_OPEN_MAX - (int)st.fds_in_use;
	free_objs = CONFIG_NET_MAX_CONTEXTS - (int)st.sockets_in_use;
	while (free_fds > free_objs && npairs < CONFIG_NET_SOCKETPAIR_MAX - 1) {
		cr_assert_eq(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[npairs]), 0,
			     "socketpair: errno %d", errno);
		npairs++;
		free_fds -= 2;
	}
	if (free_fds > free_objs) {
		for (int i = 0; i < npairs; i++) {
			zt_close(pairs[i][0]);
			zt_close(pairs[i][1]);
		}
		zt_close(c);
		zt_close(l);
		cr_skip_test("the fd table (%d) cannot be filled before the socket objects (%d)",
			     CONFIG_ZVFS_OPEN_MAX, CONFIG_NET_MAX_CONTEXTS);
	}

	for (;;) {
		fd = zsock_socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			break;
		cr_assert_lt(n, MANY, "more sockets than the tables hold");
		fds[n++] = fd;
	}
	cr_assert_eq(errno, ENFILE, "socket() with the fd table full: errno %d (%s), want ENFILE",
		     errno, strerror(errno));
	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, CONFIG_ZVFS_OPEN_MAX, "fds in use %u", st.fds_in_use);

	/* every way of making an fd says ENFILE */
	FAILS_WITH(zsock_socket(AF_INET6, SOCK_STREAM, 0), ENFILE, "TCP socket");
#if CONFIG_ZSOCK_TLS
	FAILS_WITH(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), ENFILE, "TLS socket");
#endif
	FAILS_WITH(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ENFILE, "socketpair");
	cr_assert(sv[0] == -7 && sv[1] == -7, "socketpair wrote sv on failure");
	/* accept: no fd for the connection, which is closed */
	FAILS_WITH(zsock_accept(l, NULL, NULL), ENFILE, "accept");
	errno = 0;
	r = zsock_recv(c, &ch, 1, 0);
	cr_assert(r == 0 || (r == -1 && errno == ECONNRESET),
		  "the client of a connection accept() could not take: recv %zd, errno %d (%s)", r,
		  errno, strerror(errno));
	zt_stats(&st);
	cr_assert_eq(st.sockets_in_use, (uint32_t)(n + 2),
		     "socket objects %u: the refused connection's was not returned", st.sockets_in_use);

	/* one close frees one fd: the lowest, reused at once */
	zt_close(fds[n / 2]);
	fd = zsock_socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(fd, fds[n / 2], "socket() after a close gave fd %d, want %d (errno %d)", fd,
		     fds[n / 2], errno);
	fds[n / 2] = fd;
	FAILS_WITH(zsock_socket(AF_INET, SOCK_DGRAM, 0), ENFILE, "UDP socket");

	/* release */
	for (int i = 0; i < n; i++)
		zt_close(fds[i]);
	for (int i = 0; i < npairs; i++) {
		zt_close(pairs[i][0]);
		zt_close(pairs[i][1]);
	}
	zt_close(c);
	zt_close(l);
	full_service(&base);
}

/* ---- socket objects ------------------------------------------------------------------ */

ZT_TEST(exhaustion, socket_objects, .timeout = 60)
{
	static int fds[MANY];
	struct zsock_engine_stats st;
	struct lwip_base base;
	struct sockaddr_storage ss;
	socklen_t len;
	int n = 0, l, c[16], nc = 0, late, fd, need, a;
	uint16_t port;
	char ch;
	ssize_t r;

	lwip_base_take(&base);
	/* Connections waiting in a backlog hold a socket object and no fd:
	 * enough of them make the objects run out before the fds. */
	need = CONFIG_NET_MAX_CONTEXTS - CONFIG_ZVFS_OPEN_MAX + 1;
	if (need < 1)
		need = 1;
	if (need > 16 || need > CONFIG_NET_SOCKET_RING_SIZE)
		cr_skip_test("%d socket objects against %d fds: the objects cannot run out first",
			     CONFIG_NET_MAX_CONTEXTS, CONFIG_ZVFS_OPEN_MAX);
	l = zt_listener(AF_INET, need + 1, &port);
	for (nc = 0; nc < need; nc++)
		c[nc] = zt_connect(AF_INET, port);
	/* the accepted sides exist once the handshakes are done */
	for (int64_t end = zt_now_ms() + 5000;;) {
		zt_stats(&st);
		if (st.sockets_in_use == (uint32_t)(1 + 2 * nc))
			break;
		cr_assert_lt(zt_now_ms(), end, "%u socket objects, want %d", st.sockets_in_use,
			     1 + 2 * nc);
		zt_sleep_ms(5);
	}
	/* a client made now connects once the objects are gone */
	late = zt_socket(AF_INET, SOCK_STREAM);
	set_timeo(late, SO_RCVTIMEO, 5000);

	for (;;) {
		fd = zsock_socket(AF_INET6, SOCK_DGRAM, 0);
		if (fd < 0)
			break;
		cr_assert_lt(n, MANY, "more sockets than the tables hold");
		fds[n++] = fd;
	}
	cr_assert_eq(errno, ENOMEM, "socket() with every socket object taken: errno %d (%s), want ENOMEM",
		     errno, strerror(errno));
	zt_stats(&st);
	cr_assert_eq(st.sockets_in_use, CONFIG_NET_MAX_CONTEXTS, "socket objects in use %u",
		     st.sockets_in_use);
	cr_assert_lt(st.fds_in_use, CONFIG_ZVFS_OPEN_MAX, "the fds ran out too (%u)", st.fds_in_use);
	FAILS_WITH(zsock_socket(AF_INET, SOCK_STREAM, 0), ENOMEM, "TCP socket");
#if CONFIG_ZSOCK_TLS
	FAILS_WITH(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), ENOMEM, "TLS socket");
#endif
	/* the fd a failed socket() reserved was given back */
	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, (uint32_t)(n + nc + 2), "fds in use %u after failed socket() calls",
		     st.fds_in_use);

	/* A connection arriving now finds no object for the accepted side:
	 * lwIP resets it. The client sees the reset on connect or on its first
	 * read; the listener has nothing new to accept. */
	len = zt_loopback(AF_INET, port, &ss);
	errno = 0;
	if (zsock_connect(late, (struct sockaddr *)&ss, len) == 0) {
		errno = 0;
		r = zsock_recv(late, &ch, 1, 0);
		cr_assert(r == -1 && errno == ECONNRESET,
			  "connect with no socket object for the accepted side succeeded, then "
			  "recv %zd errno %d (%s), want ECONNRESET", r, errno, strerror(errno));
	} else {
		cr_assert(errno == ECONNREFUSED || errno == ECONNRESET,
			  "connect with no socket object for the accepted side: errno %d (%s)", errno,
			  strerror(errno));
	}
	for (int i = 0; i < nc; i++) {
		a = zt_accept(l);
		zt_close(a);
	}
	set_nonblock(l);
	FAILS_WITH(zsock_accept(l, NULL, NULL), EAGAIN, "accept of a reset connection");

	/* one close frees one object */
	zt_close(fds[0]);
	fds[0] = zt_socket(AF_INET, SOCK_DGRAM);

	for (int i = 0; i < n; i++)
		zt_close(fds[i]);
	for (int i = 0; i < nc; i++)
		zt_close(c[i]);
	zt_close(late);
	zt_close(l);
	full_service(&base);
}

/* ---- transmit net_bufs ------------------------------------------------------------- */

/* Non-blocking sends of the stream seed until EAGAIN holds for 100 ms (the
 * reactor moves buffers on meanwhile). Returns the bytes taken. */
static uint64_t send_until_eagain(int fd, uint64_t seed, uint64_t off)
{
	static uint8_t chunk[16384];
	uint64_t start = off;
	int idle = 0;

	while (idle < 20) {
		ssize_t n;

		zt_pattern(seed, off, chunk, sizeof(chunk));
		n = zsock_send(fd, chunk, sizeof(chunk), ZSOCK_MSG_DONTWAIT);
		if (n > 0) {
			off += (uint64_t)n;
			idle = 0;
			continue;
		}
		cr_assert(n == -1 && errno == EAGAIN, "non-blocking send: %zd, errno %d (%s)", n,
			  errno, strerror(errno));
		idle++;
		zt_sleep_ms(5);
	}
	return off - start;
}

/* Receive len bytes of stream seed from offset off and check them. */
static void recv_check(int fd, uint64_t seed, uint64_t off, uint64_t len)
{
	static uint8_t buf[16384];

	while (len > 0) {
		size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t n = zsock_recv(fd, buf, want, 0);
		size_t bad;

		cr_assert_gt(n, 0, "recv of stream %llu at %llu: %zd, errno %d (%s)",
			     (unsigned long long)seed, (unsigned long long)off, n, errno,
			     strerror(errno));
		bad = zt_pattern_check(seed, off, buf, (size_t)n);
		cr_assert_eq(bad, (size_t)n, "stream %llu differs at byte %llu",
			     (unsigned long long)seed, (unsigned long long)(off + bad));
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
}

struct blocked_send {
	int fd;
	size_t len;
	ssize_t rc;
	int err;
	atomic_bool done;
};

static void *blocked_send_main(void *arg)
{
	struct blocked_send *b = arg;
	static uint8_t buf[32768];

	zt_pattern(99, 0, buf, b->len);
	errno = 0;
	b->rc = zsock_send(b->fd, buf, b->len, 0);
	b->err = errno;
	atomic_store(&b->done, true);
	return NULL;
}

struct blocked_alloc {
	struct net_buf *buf;
	int err;
	atomic_bool done;
};

static void *blocked_alloc_main(void *arg)
{
	struct blocked_alloc *b = arg;

	errno = 0;
	b->buf = zsock_buf_alloc(-1);
	b->err = errno;
	atomic_store(&b->done, true);
	return NULL;
}

static void udp_round_trip(int family)
{
	int a, b;
	char dg[16];

	zt_udp_pair(family, &a, &b);
	set_timeo(b, SO_RCVTIMEO, 5000);
	cr_assert_eq(zsock_send(a, "udp", 3, 0), 3, "UDP send: errno %d (%s)", errno, strerror(errno));
	cr_assert_eq(zsock_recv(b, dg, sizeof(dg), 0), 3, "UDP recv: errno %d (%s)", errno,
		     strerror(errno));
	zt_close(a);
	zt_close(b);
}

#define TX_CONNS_MAX 64

/* Take every buffer the transmit pool has (the test holds them). */
static void grab_free(struct net_buf **held, int *nheld)
{
	struct net_buf *b;

	while (*nheld < CONFIG_NET_BUF_TX_COUNT && (b = zsock_buf_alloc(0)) != NULL)
		held[(*nheld)++] = b;
}

ZT_TEST(exhaustion, tx_bufs, .timeout = 60)
{
	struct { int cli, srv; uint64_t sent; } c[TX_CONNS_MAX];
	static uint8_t big_chunk[4096];
	static struct net_buf *held[CONFIG_NET_BUF_TX_COUNT];
	int nheld = 0, extra_sent = 0;
	struct zsock_engine_stats st0, st;
	struct lwip_base base;
	struct blocked_send bs = { 0 };
	struct blocked_alloc ba = { 0 };
	pthread_t ts, ta;
	int n = 0, fcli, fsrv;
	struct net_buf *nb;
	char byte = 'x';

	lwip_base_take(&base);
	zt_stats(&st0);
	/* connections whose receivers do not read, until the pool is empty */
	for (;;) {
		cr_assert_lt(n, TX_CONNS_MAX, "the pool of %d transmit net_bufs never ran out",
			     CONFIG_NET_BUF_TX_COUNT);
		cr_assert_leq(2 * n + 4, CONFIG_NET_MAX_CONTEXTS, "out of sockets before net_bufs");
		zt_tcp_pair(n % 2 ? AF_INET6 : AF_INET, &c[n].cli, &c[n].srv);
		set_nonblock(c[n].cli);
		c[n].sent = send_until_eagain(c[n].cli, (uint64_t)n + 1, 0);
		n++;
		zt_stats(&st);
		if (st.tx_bufs_in_use == st.tx_bufs_total)
			break;
	}
	/* Buffers still in flight come back as they are acknowledged (delayed
	 * ACKs): fill the rings again, and take what no ring takes with
	 * zsock_buf_alloc(), until nothing has moved for 10 rounds of 50 ms
	 * (every receive window closed, every ring or the pool full). */
	for (int pass = 0, quiet = 0; quiet < 10; pass++) {
		bool moved = false;
		int k0;

		cr_assert_lt(pass, 400, "the transmit pool does not stay empty");
		for (int i = 0; i < n; i++) {
			ssize_t k;

			zt_pattern((uint64_t)i + 1, c[i].sent, big_chunk, sizeof(big_chunk));
			k = zsock_send(c[i].cli, big_chunk, sizeof(big_chunk), ZSOCK_MSG_DONTWAIT);
			if (k > 0) {
				c[i].sent += (uint64_t)k;
				moved = true;
			}
		}
		k0 = nheld;
		grab_free(held, &nheld);
		moved = moved || nheld != k0;
		zt_sleep_ms(50);
		zt_stats(&st);
		quiet = !moved && st.tx_bufs_in_use == st.tx_bufs_total ? quiet + 1 : 0;
	}
	cr_log_info("transmit pool empty: %d connections, %d buffers held by the test", n, nheld);
	cr_assert_eq(st.tx_bufs_total, CONFIG_NET_BUF_TX_COUNT);
	cr_assert_eq(st.tx_bufs_high_water, CONFIG_NET_BUF_TX_COUNT);
	cr_assert_gt(st.tx_alloc_failures, st0.tx_alloc_failures, "no allocation failure counted");

	/* Every check below first takes whatever buffer came back meanwhile
	 * (a late ACK), so that it sees the pool empty. */
	/* every TCP send: EAGAIN; no POLLOUT; a blocking one times out */
	for (int i = 0; i < n; i++) {
		grab_free(held, &nheld);
		FAILS_WITH(zsock_send(c[i].cli, &byte, 1, 0), EAGAIN, "send on a full connection");
		cr_assert_eq(zt_poll1(c[i].cli, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT, 0,
			     "POLLOUT with no transmit buffer");
	}
	zt_tcp_pair(AF_INET, &fcli, &fsrv);
	grab_free(held, &nheld);
	FAILS_WITH(zsock_send(fcli, &byte, 1, ZSOCK_MSG_DONTWAIT), EAGAIN,
		   "send on a fresh connection");
	cr_assert_eq(zt_poll1(fcli, ZSOCK_POLLOUT, 0) & ZSOCK_POLLOUT, 0,
		     "POLLOUT on a fresh connection with no transmit buffer");
	/* the waits: a buffer that comes back during one ends it early, and
	 * rightly; such a try is repeated (up to 20 times: under load, late
	 * ACKs of the full connections kept 5 tries from timing out once in a
	 * CI rehearsal). A try that sent its byte waits for that byte's ACK
	 * (lwIP delays it up to 250 ms) and takes the buffer it frees before
	 * the next: else each try's buffer came back during the next one's
	 * wait, and 20 tries in a row succeeded (once, in a CI rehearsal) */
	set_timeo(fcli, SO_SNDTIMEO, 200);
	for (int k = 0;; k++) {
		ssize_t r;

		cr_assert_lt(k, 20, "a blocking send never timed out: buffers keep coming back");
		grab_free(held, &nheld);
		errno = 0;
		r = zsock_send(fcli, &byte, 1, 0);
		if (r == -1) {
			cr_assert_eq(errno, EAGAIN, "blocking send with SO_SNDTIMEO: errno %d (%s)",
				     errno, strerror(errno));
			cr_log_info("a blocking send timed out at try %d", k + 1);
			break;
		}
		cr_assert_eq(r, 1, "blocking send: %zd", r);
		extra_sent++;
		zt_sleep_ms(300);
	}
	set_timeo(fcli, SO_SNDTIMEO, 0);
	/* the native API */
	grab_free(held, &nheld);
	errno = 0;
	nb = zsock_buf_alloc(0);
	cr_assert_null(nb, "zsock_buf_alloc(0) with the pool empty");
	cr_assert_eq(errno, ENOMEM, "zsock_buf_alloc(0): errno %d, want ENOMEM", errno);
	for (int k = 0;; k++) {
		cr_assert_lt(k, 20, "zsock_buf_alloc(100) never timed out: buffers keep coming back");
		errno = 0;
		nb = zsock_buf_alloc(100);
		if (nb == NULL) {
			cr_assert_eq(errno, EAGAIN, "zsock_buf_alloc(100): errno %d, want EAGAIN",
				     errno);
			break;
		}
		held[nheld++] = nb;
	}
	/* UDP sends from the caller's buffer: unaffected */
	udp_round_trip(AF_INET);
	udp_round_trip(AF_INET6);

	/* two threads wait for buffers */
	grab_free(held, &nheld);
	bs.fd = fcli;
	bs.len = 20000;
	ts = zt_spawn(blocked_send_main, &bs);
	ta = zt_spawn(blocked_alloc_main, &ba);
	zt_sleep_ms(100);
	if (atomic_load(&bs.done) || atomic_load(&ba.done))
		cr_log_warn("a waiter got a buffer that came back late (send %d, alloc %d)",
			    atomic_load(&bs.done), atomic_load(&ba.done));
	cr_log_info("%d buffers held by the test", nheld);

	/* release: the buffers the test held, then the receivers read
	 * everything, every byte as sent */
	for (int i = 0; i < nheld; i++)
		cr_assert_eq(zsock_buf_release(held[i]), 0, "release: errno %d", errno);
	for (int i = 0; i < n; i++) {
		set_timeo(c[i].srv, SO_RCVTIMEO, 10000);
		recv_check(c[i].srv, (uint64_t)i + 1, 0, c[i].sent);
	}
	cr_assert(zt_join(ts, 5000), "the blocked send did not complete after the release");
	cr_assert(zt_join(ta, 5000), "zsock_buf_alloc(-1) did not return after the release");
	cr_assert_eq(bs.rc, (ssize_t)bs.len, "blocked send: %zd, errno %d", bs.rc, bs.err);
	cr_assert_not_null(ba.buf, "zsock_buf_alloc(-1): errno %d", ba.err);
	cr_assert_eq(zsock_buf_release(ba.buf), 0, "release: errno %d", errno);
	set_timeo(fsrv, SO_RCVTIMEO, 10000);
	for (int k = 0; k < extra_sent; k++) /* bytes of the blocking sends that got through */
		cr_assert_eq(zsock_recv(fsrv, &byte, 1, 0), 1, "recv: errno %d", errno);
	recv_check(fsrv, 99, 0, bs.len);
	/* the senders go on */
	for (int i = 0; i < n; i++) {
		cr_assert_eq(zsock_send(c[i].cli, &byte, 1, ZSOCK_MSG_DONTWAIT), 1,
			     "send after the release: errno %d", errno);
		cr_assert_eq(zsock_recv(c[i].srv, &byte, 1, 0), 1, "recv: errno %d", errno);
		zt_close(c[i].cli);
		zt_close(c[i].srv);
	}
	zt_close(fcli);
	zt_close(fsrv);
	full_service(&base);
}

/* ---- receive: a flooded receiver ------------------------------------------------------ */

struct stream_send {
	int fd;
	uint64_t seed, from, to;
	int err;
	bool ok;
};

static void *stream_send_main(void *arg)
{
	struct stream_send *s = arg;
	static uint8_t chunk[16384];
	uint64_t off = s->from;

	while (off < s->to) {
		size_t n = s->to - off < sizeof(chunk) ? (size_t)(s->to - off) : sizeof(chunk);
		ssize_t r;

		zt_pattern(s->seed, off, chunk, n);
		r = zsock_send(s->fd, chunk, n, 0);
		if (r <= 0) {
			s->err = errno;
			return NULL;
		}
		off += (uint64_t)r;
	}
	s->ok = true;
	return NULL;
}

#define FLOOD_TOTAL (2u * 1024u * 1024u)

ZT_TEST(exhaustion, rx_flood, .timeout = 60)
{
	struct zsock_engine_stats st;
	struct lwip_base base;
	struct stream_send ss = { 0 };
	pthread_t t;
	uint64_t sent;
	int cli, srv, queued = 0;

	lwip_base_take(&base);
	zt_tcp_pair(AF_INET6, &cli, &srv);
	set_nonblock(cli);
	/* until a whole pass takes nothing and the receiver's queue stays put
	 * (a starved reactor also makes send() say EAGAIN for a while) */
	sent = 0;
	for (int pass = 0, last = -1;; pass++) {
		uint64_t more = send_until_eagain(cli, 5, sent);

		cr_assert_lt(pass, 100, "the sender is never held back");
		sent += more;
		cr_assert_eq(zsock_ioctl(srv, FIONREAD, &queued), 0, "FIONREAD: errno %d", errno);
		if (more == 0 && queued == last)
			break;
		last = queued;
	}
	cr_assert_gt(sent, 0);
	/* the sender is held back, nothing is dropped: what is queued at the
	 * receiver is at most its window */
	FAILS_WITH(zsock_send(cli, "x", 1, 0), EAGAIN, "send to a receiver that does not read");
	cr_assert_eq(zt_poll1(cli, ZSOCK_POLLOUT, 100) & ZSOCK_POLLOUT, 0,
		     "POLLOUT towards a receiver that does not read");
	cr_assert_eq(zsock_ioctl(srv, FIONREAD, &queued), 0, "FIONREAD: errno %d", errno);
	cr_assert_gt(queued, 0, "nothing queued at the receiver");
	cr_assert_leq(queued, CONFIG_NET_TCP_WINDOW, "more queued (%d) than the window", queued);
	cr_assert_lt((uint64_t)queued, sent, "the sender's own buffers hold nothing");
	zt_stats(&st);
	cr_assert_gt(st.rx_bufs_in_use, 0);
	cr_assert_gt(st.tx_bufs_in_use, 0);

	/* the rest of the stream from a blocking sender while the receiver reads */
	cr_assert_eq(zsock_fcntl(cli, F_SETFL, 0), 0);
	ss = (struct stream_send){ .fd = cli, .seed = 5, .from = sent, .to = FLOOD_TOTAL };
	t = zt_spawn(stream_send_main, &ss);
	set_timeo(srv, SO_RCVTIMEO, 10000);
	recv_check(srv, 5, 0, FLOOD_TOTAL);
	cr_assert(zt_join(t, 10000), "the sender did not finish");
	cr_assert(ss.ok, "sender: errno %d (%s)", ss.err, strerror(ss.err));
	zt_close(cli);
	cr_assert_eq(zsock_recv(srv, &queued, 1, 0), 0, "EOF after the stream");
	zt_close(srv);
	full_service(&base);
}

/* ---- receive net_buf headers --------------------------------------------------------- */

ZT_TEST(exhaustion, rx_bufs, .timeout = 60)
{
	struct { int cli, srv; uint64_t sent; } c[TX_CONNS_MAX];
	struct zsock_engine_stats st0, st;
	struct lwip_base base;
	int n = 0, u, v, fcli, fsrv;
	uint16_t uport;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];
	static uint8_t big[CONFIG_NET_TCP_WINDOW];

	lwip_base_take(&base);
	zt_stats(&st0);
	/* receivers that do not read: each holds up to a window of segments,
	 * one receive header each */
	for (;;) {
		cr_assert_lt(n, TX_CONNS_MAX, "the pool of %d receive headers never ran out",
			     CONFIG_NET_BUF_RX_COUNT);
		cr_assert_leq(2 * n + 8, CONFIG_NET_MAX_CONTEXTS, "out of sockets before headers");
		zt_tcp_pair(n % 2 ? AF_INET6 : AF_INET, &c[n].cli, &c[n].srv);
		zt_pattern((uint64_t)n + 100, 0, big, sizeof(big));
		set_timeo(c[n].cli, SO_SNDTIMEO, 5000);
		zt_send_all(c[n].cli, big, sizeof(big));
		c[n].sent = sizeof(big);
		n++;
		/* the segments reach the receiver */
		for (int k = 0; k < 50; k++) {
			zt_stats(&st);
			if (st.tx_bufs_in_use == 0 || st.rx_bufs_in_use == st.rx_bufs_total)
				break;
			zt_sleep_ms(10);
		}
		if (st.rx_bufs_in_use == st.rx_bufs_total)
			break;
	}
	cr_assert_eq(st.rx_bufs_high_water, CONFIG_NET_BUF_RX_COUNT);
	cr_log_info("receive headers exhausted by %d flooded connections", n);
	/* a datagram now: no header for it, dropped and counted */
	u = zt_udp_bound(AF_INET, &uport);
	v = zt_socket(AF_INET, SOCK_DGRAM);
	len = zt_loopback(AF_INET, uport, &ss);
	zt_stats(&st0);
	cr_assert_eq(zsock_sendto(v, "lost", 4, 0, (struct sockaddr *)&ss, len), 4,
		     "sendto: errno %d (%s)", errno, strerror(errno));
	for (int64_t end = zt_now_ms() + 5000;;) {
		zt_stats(&st);
		if (st.rx_drops != st0.rx_drops)
			break;
		cr_assert_lt(zt_now_ms(), end, "the datagram was not dropped (rx_drops %llu)",
			     (unsigned long long)st.rx_drops);
		zt_sleep_ms(10);
	}
	FAILS_WITH(zsock_recv(u, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EAGAIN,
		   "recv of a datagram that found no receive header");
	cr_assert_eq(st.rx_drops, st0.rx_drops + 1, "rx_drops %llu, before %llu",
		     (unsigned long long)st.rx_drops, (unsigned long long)st0.rx_drops);
	cr_assert_gt(st.rx_alloc_failures, 0, "no allocation failure counted");
	/* TCP data on a new connection waits inside lwIP */
	zt_tcp_pair(AF_INET, &fcli, &fsrv);
	cr_assert_eq(zsock_send(fcli, "held", 4, 0), 4);
	zt_sleep_ms(50);
	FAILS_WITH(zsock_recv(fsrv, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EAGAIN,
		   "recv of TCP data that found no receive header");

	/* release: every byte of every receiver, in order */
	for (int i = 0; i < n; i++) {
		set_timeo(c[i].srv, SO_RCVTIMEO, 10000);
		recv_check(c[i].srv, (uint64_t)i + 100, 0, c[i].sent);
	}
	set_timeo(fsrv, SO_RCVTIMEO, 5000);
	cr_assert_eq(zsock_recv(fsrv, buf, 4, ZSOCK_MSG_WAITALL), 4,
		     "the held TCP data after the release: errno %d", errno);
	cr_assert_arr_eq(buf, "held", 4);
	cr_assert_eq(zsock_sendto(v, "found", 5, 0, (struct sockaddr *)&ss, len), 5);
	set_timeo(u, SO_RCVTIMEO, 5000);
	cr_assert_eq(zsock_recv(u, buf, sizeof(buf), 0), 5, "datagram after the release: errno %d",
		     errno);
	for (int i = 0; i < n; i++) {
		zt_close(c[i].cli);
		zt_close(c[i].srv);
	}
	zt_close(fcli);
	zt_close(fsrv);
	zt_close(u);
	zt_close(v);
	full_service(&base);
}

/* ---- UDP to a full receiver ----------------------------------------------------------- */

ZT_TEST(exhaustion, udp_full_receiver, .timeout = 60)
{
	struct zsock_engine_stats st0, st;
	struct lwip_base base;
	struct sockaddr_storage ss;
	socklen_t len;
	const int total = 2 * CONFIG_NET_SOCKET_RING_SIZE + 10;
	int r, s, got = 0;
	uint16_t port;
	uint8_t dg[200];

	lwip_base_take(&base);
	r = zt_udp_bound(AF_INET6, &port);
	s = zt_socket(AF_INET6, SOCK_DGRAM);
	len = zt_loopback(AF_INET6, port, &ss);
	zt_stats(&st0);
	for (int i = 0; i < total; i++) {
		zt_pattern((uint64_t)i, 0, dg, sizeof(dg));
		cr_assert_eq(zsock_sendto(s, dg, sizeof(dg), 0, (struct sockaddr *)&ss, len),
			     (ssize_t)sizeof(dg), "sendto %d to a full receiver: errno %d (%s)", i,
			     errno, strerror(errno));
	}
	/* every datagram is either queued or dropped once the reactor has
	 * delivered them all */
	for (int64_t end = zt_now_ms() + 5000;;) {
		zt_stats(&st);
		if (st.rx_drops - st0.rx_drops >= (uint64_t)(total - CONFIG_NET_SOCKET_RING_SIZE))
			break;
		cr_assert_lt(zt_now_ms(), end, "only %llu datagrams dropped of %d sent",
			     (unsigned long long)(st.rx_drops - st0.rx_drops), total);
		zt_sleep_ms(10);
	}
	zt_sleep_ms(50);
	zt_stats(&st);
	/* what was queued reads back whole and in order */
	for (;;) {
		ssize_t n = zsock_recv(r, dg, sizeof(dg), ZSOCK_MSG_DONTWAIT);

		if (n < 0) {
			cr_assert_eq(errno, EAGAIN, "recv: errno %d", errno);
			break;
		}
		cr_assert_eq(n, (ssize_t)sizeof(dg));
		cr_assert_eq(zt_pattern_check((uint64_t)got, 0, dg, sizeof(dg)), sizeof(dg),
			     "datagram %d is not the %dth sent", got, got);
		got++;
	}
	cr_assert_eq(got, CONFIG_NET_SOCKET_RING_SIZE, "%d datagrams queued, want the ring's %d",
		     got, CONFIG_NET_SOCKET_RING_SIZE);
	cr_assert_eq(st.rx_drops - st0.rx_drops, (uint64_t)(total - got),
		     "rx_drops rose by %llu, %d datagrams were not delivered",
		     (unsigned long long)(st.rx_drops - st0.rx_drops), total - got);
	/* delivered again */
	cr_assert_eq(zsock_sendto(s, dg, 10, 0, (struct sockaddr *)&ss, len), 10);
	set_timeo(r, SO_RCVTIMEO, 5000);
	cr_assert_eq(zsock_recv(r, dg, sizeof(dg), 0), 10, "recv after the drops: errno %d", errno);
	zt_close(r);
	zt_close(s);
	full_service(&base);
}

/* ---- lwIP's heap ----------------------------------------------------------------------- */

#define HEAP_RECEIVERS_MAX 64
#define HEAP_DGRAM 60000

/*
 * The loopback interface copies every packet into lwIP's heap, and a
 * datagram queued unread at a UDP socket keeps its copy. Large datagrams
 * to receivers that do not read fill the heap; smaller ones then fill its
 * gaps, down to 1 byte: no packet header fits any more.
 */
ZT_TEST(exhaustion, lwip_heap, .timeout = 60)
{
	static uint8_t dg[HEAP_DGRAM];
	struct { int fd; uint16_t port; int n; size_t len[CONFIG_NET_SOCKET_RING_SIZE]; }
		rcv[HEAP_RECEIVERS_MAX];
	struct zsock_engine_stats st0, st;
	struct lwip_base base;
	struct sockaddr_storage ss;
	socklen_t len;
	size_t size = HEAP_DGRAM;
	int nr = 0, s, cli, srv, late, seq = 0, enomem = 0, rc, err;
	uint16_t lport;
	int l;
	static uint8_t tcp_out[20000];

	lwip_base_take(&base);
	zt_stats(&st0);
	/* made before: a TCP pair, a listener and a client for later */
	zt_tcp_pair(AF_INET, &cli, &srv);
	l = zt_listener(AF_INET, 4, &lport);
	late = zt_socket(AF_INET, SOCK_STREAM);
	s = zt_socket(AF_INET, SOCK_DGRAM);

	while (size >= 1) {
		if (nr == 0 || rcv[nr - 1].n == CONFIG_NET_SOCKET_RING_SIZE) {
			cr_assert_lt(nr, HEAP_RECEIVERS_MAX, "the heap of %d bytes never filled",
				     CONFIG_LWIP_MEM_SIZE);
			rcv[nr].fd = zt_udp_bound(AF_INET, &rcv[nr].port);
			rcv[nr].n = 0;
			nr++;
		}
		len = zt_loopback(AF_INET, rcv[nr - 1].port, &ss);
		zt_pattern((uint64_t)seq, 0, dg, size);
		errno = 0;
		if (zsock_sendto(s, dg, size, 0, (struct sockaddr *)&ss, len) == (ssize_t)size) {
			rcv[nr - 1].len[rcv[nr - 1].n++] = size;
			seq++;
			continue;
		}
		cr_assert_eq(errno, ENOMEM, "sendto (%zu bytes) with the heap full: errno %d (%s), "
			     "want ENOMEM", size, errno, strerror(errno));
		enomem++;
		size /= 2;
	}
	zt_stats(&st);
	cr_assert_gt(enomem, 0);
	cr_assert_geq(st.tx_drops - st0.tx_drops, (uint64_t)enomem,
		      "tx_drops rose by %llu for %d failed sends",
		      (unsigned long long)(st.tx_drops - st0.tx_drops), enomem);
	cr_assert_gt(st.lwip_mem_used, CONFIG_LWIP_MEM_SIZE / 2, "heap used %u of %d",
		     st.lwip_mem_used, CONFIG_LWIP_MEM_SIZE);
	cr_log_info("heap full: %u of %d bytes in %d datagrams", st.lwip_mem_used,
		    CONFIG_LWIP_MEM_SIZE, seq);

	/* TCP: sends are queued (the engine's net_bufs), nothing arrives yet */
	zt_pattern(77, 0, tcp_out, sizeof(tcp_out));
	set_timeo(cli, SO_SNDTIMEO, 5000);
	cr_assert_eq(zsock_send(cli, tcp_out, sizeof(tcp_out), 0), (ssize_t)sizeof(tcp_out),
		     "send with the heap full: errno %d (%s)", errno, strerror(errno));
	/* a new connection: the SYN finds no memory */
	len = zt_loopback(AF_INET, lport, &ss);
	set_timeo(late, SO_SNDTIMEO, 300);
	errno = 0;
	rc = zsock_connect(late, (struct sockaddr *)&ss, len);
	err = errno;
	cr_log_info("connect with the heap full: %d errno %d (%s)", rc, err, strerror(err));
	/* lwIP cannot queue the SYN: ENOMEM (not in zsock_connect()'s list) */
	cr_assert_eq(rc, -1, "connect with the heap full succeeded");
	cr_assert_eq(err, ENOMEM, "connect with the heap full: errno %d (%s), want ENOMEM", err,
		     strerror(err));

	/* release: every datagram reads back intact */
	seq = 0;
	for (int r = 0; r < nr; r++) {
		for (int i = 0; i < rcv[r].n; i++, seq++) {
			ssize_t n = zsock_recv(rcv[r].fd, dg, sizeof(dg), ZSOCK_MSG_DONTWAIT);

			cr_assert_eq(n, (ssize_t)rcv[r].len[i], "datagram %d: %zd bytes (errno %d), want %zu",
				     seq, n, errno, rcv[r].len[i]);
			cr_assert_eq(zt_pattern_check((uint64_t)seq, 0, dg, (size_t)n), (size_t)n,
				     "datagram %d differs", seq);
		}
		FAILS_WITH(zsock_recv(rcv[r].fd, dg, sizeof(dg), ZSOCK_MSG_DONTWAIT), EAGAIN,
			   "recv beyond the datagrams sent");
		zt_close(rcv[r].fd);
	}
	/* the stalled TCP data arrives, all of it */
	set_timeo(srv, SO_RCVTIMEO, 10000);
	{
		int64_t t = zt_now_ms();

		recv_check(srv, 77, 0, sizeof(tcp_out));
		cr_log_info("stalled TCP data arrived %lld ms after the release",
			    (long long)(zt_now_ms() - t));
	}
	/* the same socket connects now */
	set_timeo(late, SO_SNDTIMEO, 0);
	cr_assert_eq(zsock_connect(late, (struct sockaddr *)&ss, len), 0,
		     "connect again after the release: errno %d (%s)", errno, strerror(errno));
	{
		int a = zt_accept(l);

		zt_close(a);
	}
	zt_close(late);
	zt_close(l);
	zt_close(s);
	zt_close(cli);
	zt_close(srv);
	full_service(&base);
}

/* ---- lwIP TCP PCBs --------------------------------------------------------------------- */

/*
 * Connections whose client closed and whose server did not hold two PCBs
 * (FIN_WAIT_2, CLOSE_WAIT) for one socket object and one fd, and lwIP
 * does not reclaim them (it reclaims TIME_WAIT, LAST_ACK and CLOSING ones):
 * enough of them use up CONFIG_NET_MAX_CONN before any other table.
 */
ZT_TEST(exhaustion, tcp_pcbs, .timeout = 60)
{
	static int srv[CONFIG_NET_MAX_CONN];
	struct zsock_engine_stats st;
	struct lwip_base base;
	struct sockaddr_storage ss, dead;
	socklen_t len, dlen;
	int ns = 0, l, refused, extra = -1, pend, free_pcbs, u, a, soerr = -1;
	socklen_t olen = sizeof(soerr);
	uint16_t port, dport;
	int64_t t;
	char ch;

	lwip_base_take(&base);
	l = zt_listener(AF_INET, 8, &port);
	len = zt_loopback(AF_INET, port, &ss);
	/* a socket whose connect was refused: lwIP freed its PCB */
	u = zt_listener(AF_INET, 1, &dport);
	zt_close(u);
	dlen = zt_loopback(AF_INET, dport, &dead);
	refused = zt_socket(AF_INET, SOCK_STREAM);
	FAILS_WITH(zsock_connect(refused, (struct sockaddr *)&dead, dlen), ECONNREFUSED,
		   "connect to a closed port");

	for (;;) {
		int c;

		zt_stats(&st);
		free_pcbs = CONFIG_NET_MAX_CONN - (int)st.lwip_tcp_pcbs;
		if (free_pcbs <= 2)
			break;
		if (st.sockets_in_use + 3 > CONFIG_NET_MAX_CONTEXTS ||
		    st.fds_in_use + 3 > CONFIG_ZVFS_OPEN_MAX) {
			for (int i = 0; i < ns; i++)
				zt_close(srv[i]);
			zt_close(refused);
			zt_close(l);
			cr_skip_test("%d TCP PCBs outlast %d socket objects / %d fds",
				     CONFIG_NET_MAX_CONN, CONFIG_NET_MAX_CONTEXTS,
				     CONFIG_ZVFS_OPEN_MAX);
		}
		c = zt_connect(AF_INET, port);
		srv[ns++] = zt_accept(l);
		zt_close(c);
	}
	if (free_pcbs == 2) {
		extra = zt_socket(AF_INET, SOCK_STREAM);
		free_pcbs--;
	}
	/* the last PCB */
	pend = zt_socket(AF_INET, SOCK_STREAM);
	zt_stats(&st);
	cr_assert_eq(st.lwip_tcp_pcbs, CONFIG_NET_MAX_CONN, "TCP PCBs in use %u", st.lwip_tcp_pcbs);

	/* a TCP socket needs a PCB at once: ENOMEM (UDP has its own) */
	FAILS_WITH(zsock_socket(AF_INET, SOCK_STREAM, 0), ENOMEM, "TCP socket");
	FAILS_WITH(zsock_socket(AF_INET6, SOCK_STREAM, 0), ENOMEM, "TCP socket (IPv6)");
#if CONFIG_ZSOCK_TLS
	FAILS_WITH(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), ENOMEM, "TLS socket");
#endif
	u = zt_socket(AF_INET, SOCK_DGRAM);
	zt_close(u);
	/* connect again after a failed connect needs a new PCB: ENOMEM
	 * (zsock_connect()'s errno list does not name it) */
	FAILS_WITH(zsock_connect(refused, (struct sockaddr *)&ss, len), ENOMEM,
		   "connect after a refused connect, no PCB left");
	/* the listener has no PCB for the connection: lwIP drops the SYN and
	 * the client retries it; connect waits (EINPROGRESS after SO_SNDTIMEO) */
	set_timeo(pend, SO_SNDTIMEO, 300);
	FAILS_WITH(zsock_connect(pend, (struct sockaddr *)&ss, len), EINPROGRESS,
		   "connect to a listener with no PCB left");
	cr_assert_eq(zt_poll1(pend, ZSOCK_POLLOUT, 200), 0, "the pending connect settled");

	/* one connection closed frees one PCB: the SYN's retry gets through */
	t = zt_now_ms();
	zt_close(srv[--ns]);
	cr_assert(zt_poll1(pend, ZSOCK_POLLOUT, 10000) & ZSOCK_POLLOUT,
		  "the pending connect did not complete once a PCB was free");
	cr_assert_eq(zsock_getsockopt(pend, SOL_SOCKET, SO_ERROR, &soerr, &olen), 0);
	cr_assert_eq(soerr, 0, "SO_ERROR %d after the connect completed", soerr);
	cr_log_info("the waiting connect completed %lld ms after a PCB was freed",
		    (long long)(zt_now_ms() - t));
	a = zt_accept(l);
	cr_assert_eq(zsock_send(pend, "p", 1, 0), 1);
	cr_assert_eq(zsock_recv(a, &ch, 1, 0), 1);
	zt_close(a);
	zt_close(pend);

	/* release: the closes leave TIME_WAIT PCBs, which lwIP reclaims */
	for (int i = 0; i < ns; i++)
		zt_close(srv[i]);
	if (extra >= 0)
		zt_close(extra);
	set_timeo(refused, SO_SNDTIMEO, 0);
	cr_assert_eq(zsock_connect(refused, (struct sockaddr *)&ss, len), 0,
		     "connect after the release: errno %d (%s)", errno, strerror(errno));
	a = zt_accept(l);
	zt_close(a);
	zt_close(refused);
	zt_close(l);
	full_service(&base);
}

/* ---- listening PCBs -------------------------------------------------------------------- */

ZT_TEST(exhaustion, listen_pcbs, .timeout = 60)
{
	static int ls[CONFIG_NET_MAX_CONTEXTS];
	struct lwip_base base;
	struct zsock_engine_stats st;
	int n = 0, fd, c, a;
	uint16_t port;

	lwip_base_take(&base);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = zt_loopback(AF_INET6, 0, &ss);

		zt_stats(&st);
		cr_assert_lt(st.sockets_in_use, CONFIG_NET_MAX_CONTEXTS,
			     "every socket object listens, no listen() failed");
		fd = zt_socket(AF_INET6, SOCK_STREAM);
		cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0);
		if (zsock_listen(fd, 2) != 0)
			break;
		ls[n++] = fd;
	}
	cr_assert_eq(errno, ENOMEM, "listen() with no listening PCB left: errno %d (%s), want ENOMEM",
		     errno, strerror(errno));
	cr_log_info("%d listening sockets at most (CONFIG_NET_MAX_CONTEXTS %d)", n,
		    CONFIG_NET_MAX_CONTEXTS);
	cr_assert_geq(n, 1);
	/* the socket is left as it was: it can try again */
	zt_close(ls[--n]);
	cr_assert_eq(zsock_listen(fd, 2), 0, "listen after a listener closed: errno %d", errno);
	port = zt_local_port(fd);
	c = zt_connect(AF_INET6, port);
	a = zt_accept(fd);
	zt_close(a);
	zt_close(c);
	zt_close(fd);
	for (int i = 0; i < n; i++)
		zt_close(ls[i]);
	full_service(&base);
}

/* ---- listen backlog -------------------------------------------------------------------- */

/* Non-blocking connects of n clients to port; *c gets their fds. */
static void connect_nb(int family, uint16_t port, int *c, int n)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, port, &ss);

	for (int i = 0; i < n; i++) {
		c[i] = zt_socket(family, SOCK_STREAM);
		set_nonblock(c[i]);
		FAILS_WITH(zsock_connect(c[i], (struct sockaddr *)&ss, len), EINPROGRESS,
			   "non-blocking connect");
	}
}

/* How many of c[0..n) are connected (POLLOUT); asserts none failed. */
static int connected(const int *c, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		short ev = zt_poll1(c[i], ZSOCK_POLLOUT, 0);

		cr_assert_eq(ev & (ZSOCK_POLLERR | ZSOCK_POLLHUP), 0,
			     "client %d of a full backlog failed (revents 0x%x)", i, ev);
		k += (ev & ZSOCK_POLLOUT) != 0;
	}
	return k;
}

/* Wait (up to 5 s) until at least want of c[0..n) are connected. */
static void wait_connected(const int *c, int n, int want)
{
	int64_t end = zt_now_ms() + 5000;
	int k;

	while ((k = connected(c, n)) < want) {
		cr_assert_lt(zt_now_ms(), end, "%d of %d clients connected, want %d", k, n, want);
		zt_sleep_ms(10);
	}
}

#define BACKLOG 3

ZT_TEST(exhaustion, listen_backlog, .timeout = 60)
{
	int c[2 * BACKLOG], a[2 * BACKLOG], l, k, w;
	struct sockaddr_storage ss;
	socklen_t len;
	struct lwip_base base;
	uint16_t port;
	int64_t t;
	char ch;

	lwip_base_take(&base);
	l = zt_listener(AF_INET, BACKLOG, &port);
	len = zt_loopback(AF_INET, port, &ss);
	/* BACKLOG + 2 non-blocking clients and one blocking with SO_SNDTIMEO */
	connect_nb(AF_INET, port, c, BACKLOG + 2);
	wait_connected(c, BACKLOG + 2, BACKLOG);
	zt_sleep_ms(300);
	k = connected(c, BACKLOG + 2);
	cr_assert_eq(k, BACKLOG, "%d of %d clients connected to a backlog of %d", k, BACKLOG + 2,
		     BACKLOG);
	for (int i = BACKLOG; i < BACKLOG + 2; i++)
		cr_assert_eq(zt_poll1(c[i], ZSOCK_POLLOUT, 0), 0, "an extra client settled");
	/* the engine does not refuse them: lwIP drops their SYN, they retry */
	w = zt_socket(AF_INET, SOCK_STREAM);
	set_timeo(w, SO_SNDTIMEO, 300);
	FAILS_WITH(zsock_connect(w, (struct sockaddr *)&ss, len), EINPROGRESS,
		   "blocking connect to a full backlog, SO_SNDTIMEO 300 ms");
	c[BACKLOG + 2] = w;

	/* accept() makes room: the waiting ones get in on their next try */
	t = zt_now_ms();
	for (int i = 0; i < BACKLOG; i++)
		a[i] = zt_accept(l);
	for (int i = BACKLOG; i < 2 * BACKLOG; i++)
		cr_assert(zt_poll1(c[i], ZSOCK_POLLOUT, 10000) & ZSOCK_POLLOUT,
			  "a client that waited for the backlog did not connect (revents 0x%x)",
			  zt_poll1(c[i], ZSOCK_POLLOUT, 0));
	cr_log_info("the waiting clients connected %lld ms after the accepts",
		    (long long)(zt_now_ms() - t));
	for (int i = BACKLOG; i < 2 * BACKLOG; i++)
		a[i] = zt_accept(l);
	/* every connection works (accepted in any order: all send first) */
	for (int i = 0; i < 2 * BACKLOG; i++) {
		cr_assert_eq(zsock_fcntl(c[i], F_SETFL, 0), 0);
		cr_assert_eq(zsock_send(c[i], "b", 1, 0), 1, "send: errno %d", errno);
	}
	for (int i = 0; i < 2 * BACKLOG; i++) {
		set_timeo(a[i], SO_RCVTIMEO, 5000);
		cr_assert_eq(zsock_recv(a[i], &ch, 1, 0), 1, "recv: errno %d", errno);
		zt_close(c[i]);
		zt_close(a[i]);
	}
	zt_close(l);

	/* backlog 0 means 1 */
	l = zt_listener(AF_INET6, 0, &port);
	connect_nb(AF_INET6, port, c, 2);
	wait_connected(c, 2, 1);
	zt_sleep_ms(300);
	cr_assert_eq(connected(c, 2), 1, "backlog 0: want 1 connection queued");
	zt_close(c[0]);
	zt_close(c[1]);
	zt_close(l);

	/* a backlog above the cap (the socket ring, at most 255) is capped */
	{
		enum { CAP = CONFIG_NET_SOCKET_RING_SIZE < 255 ? CONFIG_NET_SOCKET_RING_SIZE : 255 };
		static int cc[CAP + 1];

		if (2 * CAP + 8 > CONFIG_NET_MAX_CONTEXTS || CAP + 8 > CONFIG_ZVFS_OPEN_MAX ||
		    2 * CAP + 8 > CONFIG_NET_MAX_CONN) {
			full_service(&base);
			cr_skip_test("the cap (%d) needs more sockets than the configuration has", CAP);
		}
		l = zt_listener(AF_INET, 100000, &port);
		connect_nb(AF_INET, port, cc, CAP + 1);
		wait_connected(cc, CAP + 1, CAP);
		zt_sleep_ms(200);
		k = connected(cc, CAP + 1);
		cr_assert_eq(k, CAP, "backlog 100000: %d connections queued, want the cap %d", k, CAP);
		/* closing the listener resets what it queued */
		zt_close(l);
		for (int i = 0; i < CAP + 1; i++)
			zt_close(cc[i]);
	}
	full_service(&base);
}

/* ---- TLS --------------------------------------------------------------------------------- */

#if CONFIG_ZSOCK_TLS

#define TAG_CA  1
#define TAG_SRV 10
#define SERVER_NAME "server.test"

static void tls_creds(void)
{
	int64_t t = zt_now_ms();

	if (!zt_certs_have_openssl())
		cr_skip_test("the openssl CLI is missing");
	zt_certs_make();
	cr_log_info("test PKI made in %lld ms", (long long)(zt_now_ms() - t));
	zt_certs_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	zt_certs_add(TAG_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
	zt_certs_add(TAG_SRV, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
}

/* every credential deleted: the table and the arena are empty again */
static void tls_creds_drop(void)
{
	struct zsock_engine_stats st;

	cr_assert_eq(tls_credential_delete(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_SRV, TLS_CREDENTIAL_PRIVATE_KEY), 0);
	zt_stats(&st);
	cr_assert_eq(st.tls_cred_count, 0, "%u credentials left", st.tls_cred_count);
	cr_assert_eq(st.tls_cred_arena_used, 0, "credential arena: %u bytes left",
		     st.tls_cred_arena_used);
}

static void tls_tags(int fd, sec_tag_t tag)
{
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)), 0,
		     "TLS_SEC_TAG_LIST: errno %d", errno);
}

static int tls_listener(uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	tls_tags(fd, TAG_SRV);
	/* accepted sockets inherit them: a server handshake is bounded too */
	set_timeo(fd, SO_SNDTIMEO, 10000);
	set_timeo(fd, SO_RCVTIMEO, 10000);
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(zsock_listen(fd, 4), 0);
	*port = zt_local_port(fd);
	return fd;
}

static int tls_client(void)
{
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	tls_tags(fd, TAG_CA);
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, SERVER_NAME, sizeof(SERVER_NAME)),
		     0);
	set_timeo(fd, SO_SNDTIMEO, 10000);
	set_timeo(fd, SO_RCVTIMEO, 10000);
	return fd;
}

/* accept() in a thread (it runs the server's handshake) */
struct tls_acc {
	int lfd, fd, err;
};

static void *tls_acc_main(void *arg)
{
	struct tls_acc *a = arg;
	struct zsock_pollfd p = { .fd = a->lfd, .events = ZSOCK_POLLIN };

	a->fd = -1;
	if (zsock_poll(&p, 1, 10000) != 1) {
		a->err = ETIMEDOUT;
		return NULL;
	}
	a->fd = zsock_accept(a->lfd, NULL, NULL);
	a->err = a->fd < 0 ? errno : 0;
	return NULL;
}

/* connect cfd to the TLS listener while a thread accepts; *err the connect's errno */
static int tls_handshake(int lfd, uint16_t port, int cfd, int *err, struct tls_acc *acc)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, port, &ss);
	pthread_t t;
	int rc;

	*acc = (struct tls_acc){ .lfd = lfd, .fd = -1 };
	t = zt_spawn(tls_acc_main, acc);
	errno = 0;
	rc = zsock_connect(cfd, (struct sockaddr *)&ss, len);
	*err = rc < 0 ? errno : 0;
	cr_assert(zt_join(t, 20000), "accept() hangs; connect %d, errno %d (%s)", rc, *err,
		  strerror(*err));
	return rc;
}

/* a TLS connection that works: handshake, a ping, close_notify */
static void tls_works(int lfd, uint16_t port)
{
	struct tls_acc acc;
	int cfd = tls_client(), err;
	char buf[4];

	cr_assert_eq(tls_handshake(lfd, port, cfd, &err, &acc), 0, "TLS connect: errno %d (%s)",
		     err, strerror(err));
	cr_assert_geq(acc.fd, 0, "TLS accept: errno %d (%s)", acc.err, strerror(acc.err));
	set_timeo(acc.fd, SO_RCVTIMEO, 10000);
	cr_assert_eq(zsock_send(cfd, "ping", 4, 0), 4);
	cr_assert_eq(zsock_recv(acc.fd, buf, 4, ZSOCK_MSG_WAITALL), 4, "recv: errno %d", errno);
	cr_assert_arr_eq(buf, "ping", 4);
	zt_close(cfd);
	cr_assert_eq(zsock_recv(acc.fd, buf, 1, 0), 0, "close_notify: errno %d", errno);
	zt_close(acc.fd);
}

/* the client of a handshake the server gave up: its connect (or its
 * pending non-blocking one) ends with an error */
static int pending_error(int fd)
{
	int soerr = 0;
	socklen_t olen = sizeof(soerr);
	short ev = zt_poll1(fd, ZSOCK_POLLOUT, 10000);

	cr_assert(ev & (ZSOCK_POLLERR | ZSOCK_POLLHUP), "revents 0x%x: the handshake did not fail",
		  ev);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &olen), 0);
	return soerr;
}
#endif

ZT_TEST(exhaustion, tls_slots, .timeout = 60)
{
#if CONFIG_ZSOCK_TLS && CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS >= 3
	int fill[CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS], n = 0, lfd, cfd, fd, soerr;
	struct sockaddr_storage ss;
	socklen_t len;
	struct zsock_engine_stats st;
	struct lwip_base base;
	uint16_t port;

	tls_creds();
	lwip_base_take(&base);
	lfd = tls_listener(&port);
	cfd = tls_client();
	for (;;) {
		fd = zsock_socket(n % 2 ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
		if (fd < 0)
			break;
		cr_assert_lt(n, CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS, "more TLS sockets than slots");
		fill[n++] = fd;
	}
	cr_assert_eq(errno, ENOMEM, "TLS socket with every slot taken: errno %d (%s), want ENOMEM",
		     errno, strerror(errno));
	cr_assert_eq(n, CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS - 2);
	zt_stats(&st);
	cr_assert_eq(st.tls_in_use, CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS);
	cr_assert_eq(st.tls_high_water, CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS);
	/* the TCP socket a failed TLS socket() made is gone again; plain TCP works */
	cr_assert_eq(st.fds_in_use, (uint32_t)(n + 2), "fds in use %u", st.fds_in_use);
	service_family(AF_INET);

	/* accept() has no slot for the connection: ENOMEM, the client is reset */
	set_nonblock(cfd);
	len = zt_loopback(AF_INET, port, &ss);
	FAILS_WITH(zsock_connect(cfd, (struct sockaddr *)&ss, len), EINPROGRESS, "TLS connect");
	FAILS_WITH(zsock_accept(lfd, NULL, NULL), ENOMEM, "TLS accept with no TLS slot");
	soerr = pending_error(cfd);
	cr_log_info("the client of an accept() without a slot: SO_ERROR %d (%s)", soerr,
		    strerror(soerr));
	cr_assert(soerr == ECONNRESET || soerr == ECONNABORTED,
		  "the client of an accept() without a slot: SO_ERROR %d (%s)", soerr,
		  strerror(soerr));
	zt_close(cfd);

	/* one slot back: a handshake works */
	zt_close(fill[--n]);
	tls_works(lfd, port);
	for (int i = 0; i < n; i++)
		zt_close(fill[i]);
	zt_close(lfd);
	zt_tls_idle(3000);
	tls_creds_drop();
	full_service(&base);
#else
	cr_skip_test("no TLS, or fewer than 3 TLS sockets");
#endif
}

ZT_TEST(exhaustion, tls_sessions, .timeout = 60)
{
#if CONFIG_ZSOCK_TLS && CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS >= CONFIG_ZSOCK_TLS_SESSIONS + 2
	int stall[CONFIG_ZSOCK_TLS_SESSIONS], plain, lfd, cfd, err;
	struct sockaddr_storage ps, ss;
	socklen_t plen, len;
	struct zsock_engine_stats st;
	struct lwip_base base;
	uint16_t pport, port;
	int64_t end;

	tls_creds();
	lwip_base_take(&base);
	/* clients whose handshake never ends: a plain TCP listener that never
	 * accepts; each holds a session from its first flight on */
	plain = zt_listener(AF_INET, CONFIG_ZSOCK_TLS_SESSIONS + 2, &pport);
	plen = zt_loopback(AF_INET, pport, &ps);
	for (int i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS; i++) {
		stall[i] = tls_client();
		set_nonblock(stall[i]);
		FAILS_WITH(zsock_connect(stall[i], (struct sockaddr *)&ps, plen), EINPROGRESS,
			   "non-blocking TLS connect");
	}
	end = zt_now_ms() + 5000;
	for (;;) {
		for (int i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS; i++)
			(void)zt_poll1(stall[i], ZSOCK_POLLIN, 0); /* drives the handshake */
		zt_stats(&st);
		if (st.tls_sessions_in_use == CONFIG_ZSOCK_TLS_SESSIONS)
			break;
		cr_assert_lt(zt_now_ms(), end, "%u of %d sessions taken by the stalled clients",
			     st.tls_sessions_in_use, CONFIG_ZSOCK_TLS_SESSIONS);
		zt_sleep_ms(10);
	}

	/* client side: connect() ENOMEM */
	cfd = tls_client();
	FAILS_WITH(zsock_connect(cfd, (struct sockaddr *)&ps, plen), ENOMEM,
		   "TLS connect with every session taken");
	zt_close(cfd);

	/* server side: a client takes the last session (its handshake started
	 * before the server's accept), accept() ENOMEM, the client is reset */
	zt_close(stall[CONFIG_ZSOCK_TLS_SESSIONS - 1]);
	lfd = tls_listener(&port);
	cfd = tls_client();
	set_nonblock(cfd);
	len = zt_loopback(AF_INET, port, &ss);
	FAILS_WITH(zsock_connect(cfd, (struct sockaddr *)&ss, len), EINPROGRESS, "TLS connect");
	end = zt_now_ms() + 5000;
	for (;;) {
		(void)zt_poll1(cfd, ZSOCK_POLLIN, 0); /* drives the handshake */
		zt_stats(&st);
		if (st.tls_sessions_in_use == CONFIG_ZSOCK_TLS_SESSIONS)
			break;
		cr_assert_lt(zt_now_ms(), end, "the client did not start its handshake");
		zt_sleep_ms(10);
	}
	FAILS_WITH(zsock_accept(lfd, NULL, NULL), ENOMEM, "TLS accept with every session taken");
	err = pending_error(cfd);
	cr_log_info("the client of an accept() without a session: SO_ERROR %d (%s)", err,
		    strerror(err));
	cr_assert(err == ECONNRESET || err == ECONNABORTED,
		  "the client of an accept() without a session: SO_ERROR %d (%s)", err, strerror(err));
	zt_close(cfd);
	zt_stats(&st);
	cr_assert_eq(st.tls_sessions_high_water, CONFIG_ZSOCK_TLS_SESSIONS);

	/* release: handshakes work */
	for (int i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS - 1; i++)
		zt_close(stall[i]);
	zt_close(plain);
	tls_works(lfd, port);
	tls_works(lfd, port);
	zt_close(lfd);
	zt_tls_idle(3000);
	tls_creds_drop();
	full_service(&base);
#else
	cr_skip_test("no TLS, or fewer than CONFIG_ZSOCK_TLS_SESSIONS + 2 TLS sockets");
#endif
}

/* ---- DNS lookups ------------------------------------------------------------------------- */

/* A DNS server on 127.0.0.1 that reads every query and, until told to
 * answer, drops it. Answers: one A record, 192.0.2.1. */
struct dns_srv {
	int fd;
	atomic_bool stop, answer;
	atomic_int queries;
};

static void *dns_srv_main(void *arg)
{
	struct dns_srv *d = arg;
	uint8_t buf[600];

	while (!atomic_load(&d->stop)) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = zsock_recvfrom(d->fd, buf, 512, 0, (struct sockaddr *)&from, &flen);
		static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
					      192, 0, 2, 1 };

		if (n < 17)
			continue;
		atomic_fetch_add(&d->queries, 1);
		if (!atomic_load(&d->answer))
			continue;
		buf[2] = 0x81;                    /* QR, RD */
		buf[3] = 0x80;                    /* RA, NOERROR */
		buf[7] = buf[n - 3] == 1 ? 1 : 0; /* an A record for A, none for AAAA */
		if (buf[7] == 1) {
			memcpy(buf + n, rr, sizeof(rr));
			n += (ssize_t)sizeof(rr);
		}
		(void)zsock_sendto(d->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

struct lookup {
	char name[32];
	int rc, err;
	int64_t ms;
	struct zsock_addrinfo *res;
};

static void *lookup_main(void *arg)
{
	struct lookup *l = arg;
	struct zsock_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	int64_t t = zt_now_ms();

	errno = 0;
	l->rc = zsock_getaddrinfo(l->name, "80", &hints, &l->res);
	l->err = errno;
	l->ms = zt_now_ms() - t;
	return NULL;
}

/*
 * Under ThreadSanitizer the poll sets (CONFIG_ZSOCK_POLLSETS) are taken by
 * threads that outlive the lookups, so that no lookup thread takes one:
 * engine/pollset.c's acquire() writes a set's fields under sets_lock only
 * while zs_pollset_forget(), run by a close in another thread, reads them
 * under the set's lock, a data race TSan reports (reported; remove this
 * once acquire() takes the set's lock). Elsewhere the lookups use them.
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

struct holder {
	atomic_int taken;
	atomic_bool done;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;

	(void)zsock_poll(NULL, 0, 0); /* a thread's first poll takes a set */
	atomic_fetch_add(&h->taken, 1);
	while (!atomic_load(&h->done))
		zt_sleep_ms(10);
	return NULL;
}

#define DNS_FREE_FDS 3
#define DNS_LOOKUPS  (2 * DNS_FREE_FDS + 2)
/* one server: a lookup that has a socket and no answer takes this long */
#define DNS_GIVE_UP_MS (CONFIG_ZSOCK_DNS_TIMEOUT_MS * CONFIG_ZSOCK_DNS_RETRIES)

ZT_TEST(exhaustion, dns, .timeout = 60)
{
	static int fill[MANY];
	static struct lookup lk[DNS_LOOKUPS];
	struct zsock_addrinfo *held[CONFIG_ZSOCK_ADDRINFO_MAX], *res = NULL;
	struct zsock_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	pthread_t t[DNS_LOOKUPS], ts;
	struct zsock_engine_stats st;
	struct lwip_base base;
	struct dns_srv d = { 0 };
	struct holder hold = { 0 };
	pthread_t th[CONFIG_ZSOCK_POLLSETS + 1];
	int n = 0, again = 0, nofd = 0, rc;
	uint16_t port;
	char list[64];

	lwip_base_take(&base);
	for (int i = 0; HOLD_POLLSETS && i < CONFIG_ZSOCK_POLLSETS; i++)
		th[i] = zt_spawn(holder_main, &hold);
	while (HOLD_POLLSETS && atomic_load(&hold.taken) < CONFIG_ZSOCK_POLLSETS)
		zt_sleep_ms(5);
	d.fd = zt_udp_bound(AF_INET, &port);
	set_timeo(d.fd, SO_RCVTIMEO, 100);
	ts = zt_spawn(dns_srv_main, &d);
	snprintf(list, sizeof(list), "127.0.0.1:%u", port);
	cr_assert_eq(zsock_engine_set_dns(list), 0, "set_dns: errno %d", errno);

	/* fewer fds free than lookups: a lookup needs one for its socket */
	for (;;) {
		zt_stats(&st);
		if (st.fds_in_use + DNS_FREE_FDS >= CONFIG_ZVFS_OPEN_MAX ||
		    st.sockets_in_use + DNS_FREE_FDS >= CONFIG_NET_MAX_CONTEXTS)
			break;
		fill[n++] = zt_socket(AF_INET, SOCK_DGRAM);
	}
	for (int i = 0; i < DNS_LOOKUPS; i++) {
		snprintf(lk[i].name, sizeof(lk[i].name), "host%d.example", i);
		t[i] = zt_spawn(lookup_main, &lk[i]);
	}
	for (int i = 0; i < DNS_LOOKUPS; i++)
		cr_assert(zt_join(t[i], DNS_GIVE_UP_MS + 5000), "getaddrinfo %d still running %d ms "
			  "after its give-up time", i, 5000);
	for (int i = 0; i < DNS_LOOKUPS; i++) {
		cr_log_info("lookup %d: %s (errno %d) after %lld ms", i, zsock_gai_strerror(lk[i].rc),
			    lk[i].err, (long long)lk[i].ms);
		cr_assert_null(lk[i].res, "a failed lookup left a result");
		if (lk[i].rc == EAI_AGAIN) {
			again++;
			cr_assert_geq(lk[i].ms, DNS_GIVE_UP_MS - 50, "EAI_AGAIN after only %lld ms",
				      (long long)lk[i].ms);
		} else {
			cr_assert_eq(lk[i].rc, EAI_SYSTEM, "lookup %d: %d (%s), want EAI_AGAIN or "
				     "EAI_SYSTEM", i, lk[i].rc, zsock_gai_strerror(lk[i].rc));
			cr_assert(lk[i].err == ENFILE || lk[i].err == ENOMEM,
				  "EAI_SYSTEM with errno %d (%s), want ENFILE", lk[i].err,
				  strerror(lk[i].err));
			nofd++;
		}
		cr_assert_leq(lk[i].ms, DNS_GIVE_UP_MS + 5000, "lookup %d took %lld ms", i,
			      (long long)lk[i].ms);
	}
	cr_assert_geq(again, 1, "no lookup got a socket");
	cr_assert_geq(nofd, DNS_LOOKUPS - DNS_FREE_FDS, "%d lookups found no fd", nofd);
	cr_assert_leq(again, DNS_FREE_FDS, "%d lookups had a socket, %d fds were free", again,
		      DNS_FREE_FDS);
	cr_assert_geq(atomic_load(&d.queries), again * CONFIG_ZSOCK_DNS_RETRIES,
		      "the server saw %d queries", atomic_load(&d.queries));
	zt_stats(&st);
	cr_assert_eq(st.fds_in_use, (uint32_t)(n + 1), "the lookups left %u fds open",
		     st.fds_in_use - (uint32_t)(n + 1));

	/* release: the server answers, every lookup in parallel succeeds */
	for (int i = 0; i < n; i++)
		zt_close(fill[i]);
	atomic_store(&d.answer, true);
	for (int i = 0; i < DNS_LOOKUPS; i++)
		t[i] = zt_spawn(lookup_main, &lk[i]);
	for (int i = 0; i < DNS_LOOKUPS; i++) {
		struct sockaddr_in *in;

		cr_assert(zt_join(t[i], DNS_GIVE_UP_MS + 5000), "a lookup hangs");
		cr_assert_eq(lk[i].rc, 0, "lookup %d after the release: %s", i,
			     zsock_gai_strerror(lk[i].rc));
		in = (struct sockaddr_in *)lk[i].res->ai_addr;
		cr_assert_eq(in->sin_addr.s_addr, htonl(0xc0000201), "wrong address");
		zsock_freeaddrinfo(lk[i].res);
	}

	/* result nodes: a fixed pool */
	for (int i = 0; i < CONFIG_ZSOCK_ADDRINFO_MAX; i++)
		cr_assert_eq(zsock_getaddrinfo("127.0.0.1", "80", &hints, &held[i]), 0);
	rc = zsock_getaddrinfo("127.0.0.1", "80", &hints, &res);
	cr_assert_eq(rc, EAI_MEMORY, "getaddrinfo with every result node held: %d (%s)", rc,
		     zsock_gai_strerror(rc));
	cr_assert_null(res);
	rc = zsock_getaddrinfo("ok.example", "80", &hints, &res);
	cr_assert_eq(rc, EAI_MEMORY, "DNS lookup with every result node held: %d (%s)", rc,
		     zsock_gai_strerror(rc));
	zsock_freeaddrinfo(held[0]);
	cr_assert_eq(zsock_getaddrinfo("ok.example", "80", &hints, &held[0]), 0);
	for (int i = 0; i < CONFIG_ZSOCK_ADDRINFO_MAX; i++)
		zsock_freeaddrinfo(held[i]);

	atomic_store(&d.stop, true);
	cr_assert(zt_join(ts, 5000));
	atomic_store(&hold.done, true);
	for (int i = 0; HOLD_POLLSETS && i < CONFIG_ZSOCK_POLLSETS; i++)
		cr_assert(zt_join(th[i], 5000));
	zt_close(d.fd);
	cr_assert_eq(zsock_engine_set_dns(NULL), 0);
	full_service(&base);
}
