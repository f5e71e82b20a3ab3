/*
 * Fuzz target net_buf: call sequences of the native zero-copy API
 * (<zsock/net_buf.h>), right and wrong, over loopback.
 *
 * Once per process: a TCP pair (A connected to B) and a UDP pair (U0 bound
 * and connected to U1; U1 bound, not connected), all non-blocking, TCP
 * with TCP_NODELAY. Each input is a small program, one opcode byte and its
 * operand bytes per step (at most MAX_STEPS steps):
 *
 *   ALLOC    zsock_buf_alloc(0) into a free slot of the table
 *   FILL     set a transmit buffer's len (any value, also > size) and bytes
 *   LINK     point a transmit buffer's frags at a pointer (see below)
 *   UNLINK   frags = NULL
 *   SEND     zsock_send_buf(socket, pointer, flags)
 *   SENDTO   zsock_sendto_buf(socket, pointer, flags, destination)
 *   RECV     zsock_recv_buf(socket, &chain or NULL, flags) into a slot
 *   RELEASE  zsock_buf_release(pointer)
 *   PEER     zsock_buf_peer(pointer, ...)
 *   POLL     zsock_poll over the four sockets, timeout 0; POLLIN must mean
 *            a chain can be taken, POLLOUT (TCP) that one buffer can be sent
 *   BSD_SEND, BSD_RECV  zsock_send / zsock_recv on the TCP pair (the APIs
 *            mix on one socket)
 *
 * A "pointer" is a slot's buffer in whatever state (owned, sent, released,
 * empty: NULL), NULL, a zeroed struct on the stack, one on the heap, a
 * stack copy of an owned buffer, a pointer into the middle of a buffer, a
 * transmit buffer's storage, or a frag of a received chain: so chains get
 * loops, foreign buffers, buffers already sent, received chains as frags.
 * flags are MSG_DONTWAIT, 0 or a bit more than MSG_DONTWAIT.
 *
 * The table is the program's model of what it owns: transmit buffers from
 * ALLOC (TX), received chain heads (RX), and stale pointers it gave away
 * (GONE). From the model each call's outcome follows, as the header states
 * it; a miss is an abort():
 *   - release of an owned chain (every buffer TX, no loop) or an owned RX
 *     head succeeds; of anything else fails with EINVAL and changes nothing
 *     (a TX chain with a len > size may fail: see docs/fuzzing.md);
 *   - a send of anything but an owned, well-formed TX chain fails (an owned
 *     RX head is not sent on TCP: it would be forwarded, see step_send); an owned
 *     one succeeds with its byte count or fails with an errno the header
 *     lists for the case (TCP: EAGAIN, EMSGSIZE; and nothing else on a
 *     healthy connection); on failure the caller still owns every buffer;
 *   - a bad flag or a NULL chain is EINVAL; recv_buf gives a chain whose
 *     buffers add up to its return value and tot_len;
 *   - every TCP byte arrives once, in order and intact (each sent byte is
 *     byte i of a per-direction stream, written just before the send); a
 *     UDP datagram arrives whole and intact, from the right port;
 *   - after each input everything still owned is released (each buffer on
 *     its own: this checks that failed calls left them usable) and all
 *     four sockets are drained until the engine is idle again: every byte
 *     sent received, tx_bufs_in_use and rx_bufs_in_use back to their
 *     starting values, sockets and fds unchanged, every UDP datagram
 *     received or counted in rx_drops; SETTLE_MS without that is a leak.
 * So inputs are independent, and a crash input reproduces alone.
 *
 * The model stays exact because a buffer given back cannot come back to
 * this caller within one input: pools hand out the oldest free buffer
 * first, and an input takes at most MAX_ALLOCS + 2 * MAX_BSD_SENDS
 * transmit buffers (the header's caveat on stale pointers).
 */
#include <zsock/engine.h>
#include <zsock/net_buf.h>
#include <zsock/socket.h>
#include <zsock/zsock_config.h>

#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "fuzz.h"

#define NSLOT 16
#define MAX_STEPS 64
#define MAX_ALLOCS 48
#define MAX_BSD_SENDS 16
#define BSD_MAX 2048
#define SETTLE_MS 10000
#define WALK_MAX (CONFIG_NET_BUF_TX_COUNT + CONFIG_NET_BUF_RX_COUNT)

enum { TCP_A, TCP_B, UDP_0, UDP_1, NSOCK };
static const char *const sock_name[NSOCK] = { "TCP A", "TCP B", "UDP 0", "UDP 1" };

enum slot_state { S_EMPTY, S_TX, S_RX, S_GONE };

struct slot {
	struct net_buf *b;
	enum slot_state st;
	int sock;	/* S_RX: the socket it came from */
};

/* One input's state. The foreign objects live here, on the stack. */
struct prog {
	struct slot slot[NSLOT];
	struct net_buf stack_fake;	/* a zeroed struct, not a buffer */
	struct net_buf stack_copy;	/* a copy of a live buffer */
	int allocs, bsd_sends;
};

/* ---- process state ------------------------------------------------------------ */

static int fds[NSOCK];
static uint16_t udp_port[2];		/* host order, of UDP_0 and UDP_1 */
static struct zsock_engine_stats base;	/* the idle engine, after set-up */
static struct net_buf *heap_fake;	/* a zeroed struct on the heap */

/* TCP streams: direction 0 is A to B, 1 is B to A. */
static uint64_t tcp_sent[2], tcp_rcvd[2];
/* UDP datagrams per receiving socket (index 0: UDP_0): sure to arrive
 * unless dropped, possibly arriving, arrived. */
static uint64_t udp_expect[2], udp_maybe[2], udp_rcvd[2];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t tcp_byte(int dir, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull + (uint64_t)dir * 0xbf58476d1ce4e5b9ull;

	return (uint8_t)(x >> 56);
}

static uint8_t udp_byte(size_t k, size_t total)
{
	return (uint8_t)(((uint32_t)k * 0x9e3779b1u + (uint32_t)total * 0x85ebca6bu) >> 24);
}

static int is_tcp(int s)
{
	return s == TCP_A || s == TCP_B;
}

/* The TCP direction a socket sends in; it receives in the other. */
static int send_dir(int s)
{
	return s == TCP_A ? 0 : 1;
}

static void setup_fail(const char *what)
{
	fprintf(stderr, "fuzz_net_buf: set-up: %s failed, errno %d\n", what, errno);
	abort();
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (zsock_getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		setup_fail("getsockname");
	return ntohs(sin.sin_port);
}

static void loop4(struct sockaddr_in *sin, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin;
	int one = 1, l;

	(void)argc;
	(void)argv;
	/* the embedded default: loopback only, no capture */
	unsetenv("ZSOCK_NETIF");
	unsetenv("ZSOCK_PCAP");

	l = zsock_socket(AF_INET, SOCK_STREAM, 0);
	loop4(&sin, 0);
	if (l < 0 || zsock_bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    zsock_listen(l, 1) != 0)
		setup_fail("TCP listener");
	loop4(&sin, bound_port(l));
	fds[TCP_A] = zsock_socket(AF_INET, SOCK_STREAM, 0);
	if (fds[TCP_A] < 0 || zsock_connect(fds[TCP_A], (struct sockaddr *)&sin, sizeof(sin)) != 0)
		setup_fail("TCP connect");
	fds[TCP_B] = zsock_accept(l, NULL, NULL);
	if (fds[TCP_B] < 0 || zsock_close(l) != 0)
		setup_fail("TCP accept");

	for (int u = 0; u < 2; u++) {
		fds[UDP_0 + u] = zsock_socket(AF_INET, SOCK_DGRAM, 0);
		loop4(&sin, 0);
		if (fds[UDP_0 + u] < 0 ||
		    zsock_bind(fds[UDP_0 + u], (struct sockaddr *)&sin, sizeof(sin)) != 0)
			setup_fail("UDP bind");
		udp_port[u] = bound_port(fds[UDP_0 + u]);
	}
	loop4(&sin, udp_port[1]);
	if (zsock_connect(fds[UDP_0], (struct sockaddr *)&sin, sizeof(sin)) != 0)
		setup_fail("UDP connect");

	for (int s = 0; s < NSOCK; s++) {
		if (is_tcp(s) &&
		    zsock_setsockopt(fds[s], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			setup_fail("TCP_NODELAY");
		if (zsock_fcntl(fds[s], F_SETFL, O_NONBLOCK) != 0)
			setup_fail("O_NONBLOCK");
	}
	heap_fake = calloc(1, sizeof(*heap_fake));
	if (heap_fake == NULL || zsock_engine_stats(&base) != 0)
		setup_fail("stats");
	return 0;
}

/* ---- the model ------------------------------------------------------------------- */

/* The slot that owns p (TX or RX), or -1. */
static int owned_slot(const struct prog *pg, const struct net_buf *p)
{
	for (int i = 0; i < NSLOT; i++) {
		if (p != NULL && pg->slot[i].b == p &&
		    (pg->slot[i].st == S_TX || pg->slot[i].st == S_RX))
			return i;
	}
	return -1;
}

/* A free slot for a new buffer: empty first, else a stale one; or -1. */
static int free_slot(const struct prog *pg)
{
	for (int i = 0; i < NSLOT; i++) {
		if (pg->slot[i].st == S_EMPTY)
			return i;
	}
	for (int i = 0; i < NSLOT; i++) {
		if (pg->slot[i].st == S_GONE)
			return i;
	}
	return -1;
}

/* A chain from p as the model sees it. */
struct walk {
	bool owned;	/* every buffer an owned TX buffer, no loop, p not NULL */
	bool len_bad;	/* some len > size */
	int n;
	int idx[NSLOT];
	size_t bytes;
};

static struct walk walk_tx(const struct prog *pg, const struct net_buf *p)
{
	struct walk w = { .owned = p != NULL };
	bool seen[NSLOT] = { false };

	for (const struct net_buf *q = p; q != NULL; q = q->frags) {
		int i = owned_slot(pg, q);

		if (i < 0 || pg->slot[i].st != S_TX || seen[i]) {
			w.owned = false;	/* foreign, not ours, RX, or a loop */
			break;
		}
		seen[i] = true;
		w.idx[w.n++] = i;
		w.len_bad = w.len_bad || q->len > q->size;
		w.bytes += q->len;
	}
	return w;
}

static void give_away(struct prog *pg, const struct walk *w)
{
	for (int k = 0; k < w->n; k++)
		pg->slot[w->idx[k]].st = S_GONE;
}

/*
 * A pointer from a selector byte: high nibble the kind, low nibble a slot.
 * Kinds 0..9 are the slot's own pointer (most programs want real buffers).
 */
static struct net_buf *pick(struct prog *pg, uint8_t sel)
{
	struct slot *sl = &pg->slot[sel & 15];

	switch (sel >> 4) {
	case 10:
		return NULL;
	case 11:
		return &pg->stack_fake;
	case 12:
		return heap_fake;
	case 13:
		memset(&pg->stack_copy, 0, sizeof(pg->stack_copy));
		if (sl->st == S_TX || sl->st == S_RX)
			pg->stack_copy = *sl->b;
		return &pg->stack_copy;
	case 14:
		/* inside a buffer's struct: never a buffer */
		return sl->b != NULL ? (struct net_buf *)((char *)sl->b + 1 + (sel & 7)) : NULL;
	case 15:
		if (sl->st == S_RX && sl->b->frags != NULL)
			return sl->b->frags;	/* a frag of a received chain */
		if (sl->st == S_TX)
			return (struct net_buf *)sl->b->data;	/* its storage */
		return NULL;
	default:
		return sl->b;
	}
}

static int pick_flags(uint8_t sel)
{
	switch (sel % 4) {
	case 0:
	case 1:
		return ZSOCK_MSG_DONTWAIT;
	case 2:
		return 0;	/* the sockets are non-blocking */
	default:
		return ZSOCK_MSG_DONTWAIT | (sel & 4 ? ZSOCK_MSG_PEEK : 0x8000);
	}
}

/* ---- receiving --------------------------------------------------------------------- */

/* Check a chain zsock_recv_buf() gave on socket s (n bytes), advance the
 * stream counters. */
static void check_received(int s, const struct net_buf *h, ssize_t n)
{
	size_t total = 0;
	int nbufs = 0;
	const struct net_buf *b;

	FZ_CHECK(h != NULL, "%s: recv_buf %zd without a chain", sock_name[s], n);
	FZ_CHECK(h->tot_len == (uint32_t)n, "%s: recv_buf %zd, tot_len %u", sock_name[s], n,
		 h->tot_len);
	for (b = h; b != NULL; b = b->frags) {
		FZ_CHECK(++nbufs <= WALK_MAX, "%s: a received chain without end", sock_name[s]);
		FZ_CHECK(b->len == 0 || b->data != NULL, "%s: a received buffer without data",
			 sock_name[s]);
		for (size_t k = 0; k < b->len; k++) {
			if (is_tcp(s)) {
				int dir = 1 - send_dir(s);
				uint64_t off = tcp_rcvd[dir] + total + k;

				FZ_CHECK(b->data[k] == tcp_byte(dir, off),
					 "%s: stream byte %llu wrong (0x%02x, want 0x%02x)",
					 sock_name[s], (unsigned long long)off, b->data[k],
					 tcp_byte(dir, off));
			} else {
				FZ_CHECK(b->data[k] == udp_byte(total + k, (size_t)n),
					 "%s: byte %zu of a %zd-byte datagram wrong", sock_name[s],
					 total + k, n);
			}
		}
		total += b->len;
	}
	FZ_CHECK(total == (size_t)n, "%s: chain holds %zu bytes, recv_buf said %zd", sock_name[s],
		 total, n);
	if (is_tcp(s)) {
		int dir = 1 - send_dir(s);

		tcp_rcvd[dir] += (uint64_t)n;
		FZ_CHECK(tcp_rcvd[dir] <= tcp_sent[dir], "%s: more bytes received than sent",
			 sock_name[s]);
	} else {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		uint16_t p;

		udp_rcvd[s - UDP_0]++;
		FZ_CHECK(zsock_buf_peer(h, (struct sockaddr *)&from, &fl) == 0,
			 "%s: buf_peer of a datagram: errno %d", sock_name[s], errno);
		p = ntohs(from.sin_port);
		FZ_CHECK(fl == sizeof(from) && from.sin_family == AF_INET &&
				 from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
				 (p == udp_port[0] || p == udp_port[1]),
			 "%s: a datagram from port %u", sock_name[s], p);
	}
}

/* recv_buf(DONTWAIT) on s: returns 1 with *h held, 0 if nothing there. */
static int take(int s, struct net_buf **h)
{
	ssize_t n = zsock_recv_buf(fds[s], h, ZSOCK_MSG_DONTWAIT);

	if (n < 0) {
		FZ_CHECK(errno == EAGAIN, "%s: recv_buf errno %d", sock_name[s], errno);
		FZ_CHECK(*h == NULL, "%s: failed recv_buf left a chain", sock_name[s]);
		return 0;
	}
	FZ_CHECK(n > 0 || !is_tcp(s), "%s: end of stream on a live connection", sock_name[s]);
	check_received(s, *h, n);
	return 1;
}

/* ---- the steps ---------------------------------------------------------------------- */

static void step_alloc(struct prog *pg)
{
	int i = free_slot(pg);
	struct net_buf *b;

	if (i < 0 || pg->allocs >= MAX_ALLOCS)
		return;
	pg->allocs++;
	b = zsock_buf_alloc(0);
	FZ_CHECK(b != NULL, "buf_alloc(0) with the pool far from empty: errno %d", errno);
	FZ_CHECK(b->len == 0 && b->frags == NULL && b->data != NULL &&
			 b->size == CONFIG_NET_BUF_DATA_SIZE,
		 "buf_alloc: len %u size %u frags %p", b->len, b->size, (void *)b->frags);
	FZ_CHECK(owned_slot(pg, b) < 0, "buf_alloc gave a buffer the caller already owns");
	pg->slot[i] = (struct slot){ b, S_TX, -1 };
}

static void step_fill(struct prog *pg, uint8_t sel, uint16_t v)
{
	struct slot *sl = &pg->slot[sel & 15];
	struct net_buf *b = sl->b;

	if (sl->st != S_TX)
		return;
	switch (sel >> 6) {
	case 0:
	case 1:
		b->len = (uint16_t)(v % (b->size + 1u));
		break;
	case 2:
		b->len = (uint16_t)(v % 64);
		break;
	default:
		b->len = (uint16_t)(v % 2 ? UINT16_MAX : b->size + 1u + v % 16);
		break;
	}
	memset(b->data, v & 0xff, b->len < b->size ? b->len : b->size);
}

static void step_link(struct prog *pg, uint8_t sel, uint8_t target)
{
	struct slot *sl = &pg->slot[sel & 15];

	if (sl->st == S_TX)
		sl->b->frags = pick(pg, target);
}

/* Write the streams' bytes into an owned chain about to be sent on s. */
static void stamp(int s, const struct net_buf *h, size_t bytes)
{
	size_t off = 0;

	for (const struct net_buf *b = h; b != NULL; b = b->frags) {
		for (size_t k = 0; k < b->len; k++, off++)
			b->data[k] = is_tcp(s) ? tcp_byte(send_dir(s), tcp_sent[send_dir(s)] + off)
					       : udp_byte(off, bytes);
	}
}

/* A destination for SENDTO; *len 0 and NULL for none. *to_udp gets the
 * receiving socket (0 or 1), -1 if none of ours, -2 if unsure. */
static const struct sockaddr *pick_dest(uint8_t sel, uint16_t port, struct sockaddr_storage *ss,
					socklen_t *len, int from, int *to_udp)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*to_udp = -1;
	*len = sizeof(*sin);
	switch (sel % 8) {
	case 0:
	case 1:
		port = udp_port[sel % 2];
		/* fall through */
	case 2:
		loop4(sin, port);
		break;
	case 3:
		sin6->sin6_family = AF_INET6;	/* on an IPv4 socket */
		sin6->sin6_port = htons(port);
		sin6->sin6_addr.s6_addr[15] = 1;
		*len = sizeof(*sin6);
		return (struct sockaddr *)ss;
	case 4:
		sin->sin_family = AF_INET;	/* anywhere: no route but loopback */
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl((uint32_t)port << 16 | sel);
		return (struct sockaddr *)ss;
	case 5:
		loop4(sin, port);
		*len = sizeof(*sin) - 1 - sel % 8;	/* too short */
		return (struct sockaddr *)ss;
	case 6:
		ss->ss_family = AF_UNIX;
		return (struct sockaddr *)ss;
	default:
		*len = 0;	/* the connected peer */
		if (from == UDP_0)
			*to_udp = 1;
		return NULL;
	}
	/* 127.0.0.1:port: ours if the port is; U0 is connected to U1, so
	 * what it sends to itself may well be dropped */
	if (port == udp_port[1])
		*to_udp = 1;
	else if (port == udp_port[0])
		*to_udp = from == UDP_1 ? 0 : -2;
	return (struct sockaddr *)ss;
}

static void step_send(struct prog *pg, int s, uint8_t psel, uint8_t fsel, bool sendto,
		      uint8_t dsel, uint16_t port)
{
	struct net_buf *p = pick(pg, psel);
	int flags = pick_flags(fsel);
	struct walk w = walk_tx(pg, p);
	bool sendable = w.owned && !w.len_bad && !(flags & ~ZSOCK_MSG_DONTWAIT);
	struct sockaddr_storage ss;
	socklen_t dlen = 0;
	const struct sockaddr *dest = NULL;
	int to_udp = s == UDP_0 ? 1 : -1;
	ssize_t rc;
	int e;

	if (is_tcp(s)) {
		int i = owned_slot(pg, p);

		/* an owned received chain on TCP would be forwarded (a success,
		 * <zsock/net_buf.h>): its bytes are another stream's, which the
		 * model of each direction's bytes cannot follow; test_native's
		 * forward tests cover it */
		if (i >= 0 && pg->slot[i].st == S_RX)
			return;
	}
	if (sendto)
		dest = pick_dest(dsel, port, &ss, &dlen, s, &to_udp);
	if (sendable)
		stamp(s, p, w.bytes);
	errno = 0;
	rc = sendto ? zsock_sendto_buf(fds[s], p, flags, dest, dlen) : zsock_send_buf(fds[s], p, flags);
	e = errno;
	if (!sendable) {
		/* EINVAL; a TCP socket given a destination may say EISCONN first */
		FZ_CHECK(rc == -1, "%s: send of a chain that is not the caller's, or with flags "
				   "0x%x, returned %zd", sock_name[s], flags, rc);
		FZ_CHECK(e == EINVAL || (is_tcp(s) && dest != NULL && e == EISCONN) ||
				 (!is_tcp(s) && e == EMSGSIZE),
			 "%s: send of a bad chain or with bad flags: errno %d, want EINVAL",
			 sock_name[s], e);
		return;
	}
	if (rc < 0) {
		if (is_tcp(s))
			FZ_CHECK(e == EAGAIN || e == EMSGSIZE || (sendto && dest != NULL && e == EISCONN),
				 "%s: send_buf of %zu bytes: errno %d", sock_name[s], w.bytes, e);
		else
			FZ_CHECK(e == EAGAIN || e == EMSGSIZE || e == ENOMEM || e == EHOSTUNREACH ||
					 e == ENETUNREACH || e == EAFNOSUPPORT || e == EINVAL ||
					 e == EDESTADDRREQ || e == EACCES,
				 "%s: sendto_buf of %zu bytes: errno %d", sock_name[s], w.bytes, e);
		return;	/* still ours: checked when the input ends */
	}
	FZ_CHECK((size_t)rc == w.bytes, "%s: send_buf returned %zd for a chain of %zu bytes",
		 sock_name[s], rc, w.bytes);
	give_away(pg, &w);
	if (is_tcp(s)) {
		tcp_sent[send_dir(s)] += w.bytes;
	} else if (to_udp >= 0) {
		udp_expect[to_udp]++;
	} else if (to_udp == -2) {
		udp_maybe[0]++;
	}
}

static void step_recv(struct prog *pg, int s, uint8_t fsel)
{
	int i = free_slot(pg);
	struct net_buf *h = (struct net_buf *)1;
	int flags = pick_flags(fsel);
	ssize_t n;

	if (i < 0)
		return;
	if (fsel & 0x80) {
		errno = 0;
		n = zsock_recv_buf(fds[s], NULL, ZSOCK_MSG_DONTWAIT);
		FZ_CHECK(n == -1 && errno == EINVAL, "%s: recv_buf(NULL): %zd errno %d",
			 sock_name[s], n, errno);
		return;
	}
	errno = 0;
	n = zsock_recv_buf(fds[s], &h, flags);
	if (flags & ~ZSOCK_MSG_DONTWAIT) {
		FZ_CHECK(n == -1 && errno == EINVAL && h == NULL,
			 "%s: recv_buf flags 0x%x: %zd errno %d", sock_name[s], flags, n, errno);
		return;
	}
	if (n < 0) {
		FZ_CHECK(errno == EAGAIN && h == NULL, "%s: recv_buf errno %d", sock_name[s], errno);
		return;
	}
	FZ_CHECK(n > 0 || !is_tcp(s), "%s: end of stream on a live connection", sock_name[s]);
	check_received(s, h, n);
	pg->slot[i] = (struct slot){ h, S_RX, s };
}

static void step_release(struct prog *pg, uint8_t psel)
{
	struct net_buf *p = pick(pg, psel);
	int i = owned_slot(pg, p);
	struct walk w = walk_tx(pg, p);
	int rc, e;

	errno = 0;
	rc = zsock_buf_release(p);
	e = errno;
	if (i >= 0 && pg->slot[i].st == S_RX) {
		FZ_CHECK(rc == 0, "release of an owned received chain: errno %d", e);
		pg->slot[i].st = S_GONE;
	} else if (w.owned && !w.len_bad) {
		FZ_CHECK(rc == 0, "release of an owned chain of %d buffers: errno %d", w.n, e);
		give_away(pg, &w);
	} else if (w.owned && rc == 0) {
		give_away(pg, &w);	/* len > size: either way, see the docs */
	} else {
		FZ_CHECK(rc == -1 && e == EINVAL, "release of a pointer the caller does not own: "
						  "%d errno %d", rc, e);
	}
}

static void step_peer(struct prog *pg, uint8_t psel)
{
	struct net_buf *p = pick(pg, psel);
	int i = owned_slot(pg, p);
	struct sockaddr_storage ss;
	socklen_t len = (psel & 1) ? sizeof(ss) : 2;	/* truncated too */
	int rc;

	errno = 0;
	rc = zsock_buf_peer(p, (struct sockaddr *)&ss, &len);
	if (i >= 0 && pg->slot[i].st == S_RX) {
		if (is_tcp(pg->slot[i].sock))
			FZ_CHECK(rc == -1 && errno == ENOTSUP, "buf_peer of a TCP chain: %d errno %d",
				 rc, errno);
		else
			FZ_CHECK(rc == 0 && len == sizeof(struct sockaddr_in),
				 "buf_peer of a datagram: %d errno %d len %u", rc, errno, len);
	} else {
		FZ_CHECK(rc == -1 && errno == EINVAL, "buf_peer of no received head: %d errno %d",
			 rc, errno);
	}
}

static void step_poll(struct prog *pg, uint8_t sel)
{
	struct zsock_pollfd pf[NSOCK];
	int rc, ready = 0;

	for (int s = 0; s < NSOCK; s++)
		pf[s] = (struct zsock_pollfd){ .fd = fds[s], .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };
	rc = zsock_poll(pf, NSOCK, 0);
	FZ_CHECK(rc >= 0, "poll: errno %d", errno);
	for (int s = 0; s < NSOCK; s++) {
		ready += pf[s].revents != 0;
		FZ_CHECK(!(pf[s].revents & (ZSOCK_POLLNVAL | ZSOCK_POLLERR | ZSOCK_POLLHUP)),
			 "%s: poll revents 0x%x", sock_name[s], pf[s].revents);
	}
	FZ_CHECK(rc == ready, "poll returned %d, %d sockets have events", rc, ready);

	/* act on one socket's promise */
	{
		int s = sel % NSOCK;

		if ((sel & 4) && (pf[s].revents & ZSOCK_POLLIN)) {
			int i = free_slot(pg);
			struct net_buf *h = NULL;

			if (i >= 0) {
				FZ_CHECK(take(s, &h), "%s: POLLIN, but recv_buf has nothing",
					 sock_name[s]);
				pg->slot[i] = (struct slot){ h, S_RX, s };
			}
		}
		if ((sel & 8) && is_tcp(s) && (pf[s].revents & ZSOCK_POLLOUT) &&
		    pg->allocs < MAX_ALLOCS) {
			struct net_buf *b = zsock_buf_alloc(0);
			ssize_t n;

			pg->allocs++;
			FZ_CHECK(b != NULL, "%s: POLLOUT, but buf_alloc(0): errno %d", sock_name[s],
				 errno);
			b->len = 1;
			b->data[0] = tcp_byte(send_dir(s), tcp_sent[send_dir(s)]);
			n = zsock_send_buf(fds[s], b, ZSOCK_MSG_DONTWAIT);
			FZ_CHECK(n == 1, "%s: POLLOUT, but send_buf of one buffer: %zd errno %d",
				 sock_name[s], n, errno);
			tcp_sent[send_dir(s)]++;
		}
	}
}

static void step_bsd_send(struct prog *pg, int s, uint16_t len)
{
	uint8_t buf[BSD_MAX];
	int dir = send_dir(s);
	ssize_t n;

	if (pg->bsd_sends >= MAX_BSD_SENDS)
		return;
	pg->bsd_sends++;
	len %= BSD_MAX;
	for (size_t k = 0; k < len; k++)
		buf[k] = tcp_byte(dir, tcp_sent[dir] + k);
	n = zsock_send(fds[s], buf, len, ZSOCK_MSG_DONTWAIT);
	if (n < 0) {
		FZ_CHECK(errno == EAGAIN, "%s: send errno %d", sock_name[s], errno);
		return;
	}
	FZ_CHECK((size_t)n <= len && (n > 0 || len == 0), "%s: send(%u) returned %zd",
		 sock_name[s], len, n);
	tcp_sent[dir] += (uint64_t)n;
}

static void step_bsd_recv(int s, uint16_t len)
{
	uint8_t buf[BSD_MAX];
	int dir = 1 - send_dir(s);
	ssize_t n;

	len %= BSD_MAX;
	n = zsock_recv(fds[s], buf, len, ZSOCK_MSG_DONTWAIT);
	if (n < 0) {
		FZ_CHECK(errno == EAGAIN, "%s: recv errno %d", sock_name[s], errno);
		return;
	}
	FZ_CHECK((size_t)n <= len && (n > 0 || len == 0), "%s: recv(%u) returned %zd (end of "
							  "stream?)", sock_name[s], len, n);
	for (ssize_t k = 0; k < n; k++)
		FZ_CHECK(buf[k] == tcp_byte(dir, tcp_rcvd[dir] + (uint64_t)k),
			 "%s: recv: stream byte %llu wrong", sock_name[s],
			 (unsigned long long)(tcp_rcvd[dir] + (uint64_t)k));
	tcp_rcvd[dir] += (uint64_t)n;
	FZ_CHECK(tcp_rcvd[dir] <= tcp_sent[dir], "%s: more bytes received than sent", sock_name[s]);
}

/* ---- the end of an input ------------------------------------------------------------- */

/*
 * Speed, not correctness: the last TCP segment of an input waits for the
 * peer's delayed ACK (a 100 ms tick) before its buffer returns to the pool.
 * One more byte from A to B (a segment of its own, TCP_NODELAY) carries A's
 * ACK of everything B sent, and lwIP acknowledges at once a second segment
 * while an ACK is pending, so B acknowledges A's data; if that byte found
 * no ACK pending at B it makes one, and the next nudge NUDGE_MS later
 * answers it. Only one direction is nudged: bytes crossing in both
 * directions each clear the other side's pending ACK and never bring one.
 * The bytes are part of the A-to-B stream and are checked like any other.
 */
static void nudge(void)
{
	uint8_t byte = tcp_byte(0, tcp_sent[0]);

	if (zsock_send(fds[TCP_A], &byte, 1, ZSOCK_MSG_DONTWAIT) == 1)
		tcp_sent[0]++;
	else
		FZ_CHECK(errno == EAGAIN, "TCP A: send errno %d", errno);
}

#define NUDGE_MS 1
#define NUDGES_MAX 4

/* Give back everything owned, each buffer on its own, then drain until idle. */
static void settle(struct prog *pg, uint64_t drops0, const uint64_t sent0[2])
{
	struct zsock_engine_stats st;
	int64_t start = now_ms(), deadline = start + SETTLE_MS, last_nudge = start;
	int nudges = 0;

	for (int i = 0; i < NSLOT; i++) {
		struct slot *sl = &pg->slot[i];

		if (sl->st == S_TX) {
			sl->b->frags = NULL;
			if (sl->b->len > sl->b->size)
				sl->b->len = 0;
		}
	}
	for (int i = 0; i < NSLOT; i++) {
		struct slot *sl = &pg->slot[i];

		if (sl->st == S_TX || sl->st == S_RX)
			FZ_CHECK(zsock_buf_release(sl->b) == 0,
				 "slot %d (%s) still owned by the caller cannot be released: errno %d",
				 i, sl->st == S_TX ? "transmit" : "received", errno);
		sl->st = S_EMPTY;
	}

	for (;;) {
		struct zsock_pollfd pf[NSOCK];
		uint64_t drops;
		bool tcp_done, bufs_done, udp_done;

		for (int s = 0; s < NSOCK; s++) {
			struct net_buf *h = NULL;

			while (take(s, &h)) {
				FZ_CHECK(zsock_buf_release(h) == 0, "%s: release while draining: errno %d",
					 sock_name[s], errno);
				h = NULL;
			}
		}
		FZ_CHECK(zsock_engine_stats(&st) == 0, "stats: errno %d", errno);
		drops = st.rx_drops - drops0;
		tcp_done = tcp_rcvd[0] == tcp_sent[0] && tcp_rcvd[1] == tcp_sent[1];
		bufs_done = st.tx_bufs_in_use == base.tx_bufs_in_use &&
			    st.rx_bufs_in_use == base.rx_bufs_in_use;
		udp_done = udp_rcvd[0] + udp_rcvd[1] + drops >= udp_expect[0] + udp_expect[1];
		if (tcp_done && bufs_done && udp_done)
			break;
		if (tcp_done && st.tx_bufs_in_use != base.tx_bufs_in_use && nudges < NUDGES_MAX &&
		    (tcp_sent[0] != sent0[0] || tcp_sent[1] != sent0[1]) &&
		    now_ms() - last_nudge >= NUDGE_MS) {
			nudge();
			nudges++;
			last_nudge = now_ms();
		}
		FZ_CHECK(now_ms() < deadline,
			 "not idle %d ms after the input: TCP A->B %llu/%llu B->A %llu/%llu bytes, "
			 "tx bufs %u (idle %u), rx bufs %u (idle %u), datagrams %llu + %llu dropped "
			 "of %llu",
			 SETTLE_MS, (unsigned long long)tcp_rcvd[0], (unsigned long long)tcp_sent[0],
			 (unsigned long long)tcp_rcvd[1], (unsigned long long)tcp_sent[1],
			 st.tx_bufs_in_use, base.tx_bufs_in_use, st.rx_bufs_in_use,
			 base.rx_bufs_in_use, (unsigned long long)(udp_rcvd[0] + udp_rcvd[1]),
			 (unsigned long long)drops, (unsigned long long)(udp_expect[0] + udp_expect[1]));
		for (int s = 0; s < NSOCK; s++)
			pf[s] = (struct zsock_pollfd){ .fd = fds[s], .events = ZSOCK_POLLIN };
		(void)zsock_poll(pf, NSOCK, 1);	/* data wakes it early; ACKs take a tick */
	}
	for (int u = 0; u < 2; u++)
		FZ_CHECK(udp_rcvd[u] <= udp_expect[u] + udp_maybe[u],
			 "UDP %d: %llu datagrams received, at most %llu sent to it", u,
			 (unsigned long long)udp_rcvd[u],
			 (unsigned long long)(udp_expect[u] + udp_maybe[u]));
	FZ_CHECK(st.sockets_in_use == base.sockets_in_use && st.fds_in_use == base.fds_in_use,
		 "sockets %u (idle %u), fds %u (idle %u)", st.sockets_in_use, base.sockets_in_use,
		 st.fds_in_use, base.fds_in_use);
	/* the counts start again at the next input */
	for (int u = 0; u < 2; u++) {
		udp_expect[u] = udp_rcvd[u] = udp_maybe[u] = 0;
	}
}

enum op { ALLOC, FILL, LINK, UNLINK, SEND, SENDTO, RECV, RELEASE, PEER, POLL, BSD_SEND, BSD_RECV,
	  NOPS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct prog pg;
	struct zsock_engine_stats st;
	uint64_t sent0[2] = { tcp_sent[0], tcp_sent[1] };

	memset(&pg, 0, sizeof(pg));
	FZ_CHECK(zsock_engine_stats(&st) == 0, "stats: errno %d", errno);

	for (int step = 0; step < MAX_STEPS && in.n > 0; step++) {
		uint8_t op = fz_u8(&in), a = fz_u8(&in), b = fz_u8(&in);

		switch (op % NOPS) {
		case ALLOC:
			step_alloc(&pg);
			break;
		case FILL:
			step_fill(&pg, a, (uint16_t)(b << 8 | fz_u8(&in)));
			break;
		case LINK:
			step_link(&pg, a, b);
			break;
		case UNLINK:
			if (pg.slot[a & 15].st == S_TX)
				pg.slot[a & 15].b->frags = NULL;
			break;
		case SEND:
			step_send(&pg, (op >> 4) % NSOCK, a, b, false, 0, 0);
			break;
		case SENDTO: {
			uint8_t d = fz_u8(&in);

			step_send(&pg, (op >> 4) % NSOCK, a, b, true, d, fz_u16(&in));
			break;
		}
		case RECV:
			step_recv(&pg, (op >> 4) % NSOCK, a);
			break;
		case RELEASE:
			step_release(&pg, a);
			break;
		case PEER:
			step_peer(&pg, a);
			break;
		case POLL:
			step_poll(&pg, a);
			break;
		case BSD_SEND:
			step_bsd_send(&pg, (op >> 4) % 2, (uint16_t)(a << 8 | b));
			break;
		case BSD_RECV:
			step_bsd_recv((op >> 4) % 2, (uint16_t)(a << 8 | b));
			break;
		}
	}
	settle(&pg, st.rx_drops, sent0);
	return 0;
}
