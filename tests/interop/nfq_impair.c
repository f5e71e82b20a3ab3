/*
 * nfq_impair: a bad wire for the interop tests, in user space. The kernel
 * here has no netem (docs/faults.md), so the Linux side of a test's TAP
 * hands its packets to this program through NFQUEUE, and it loses,
 * corrupts, duplicates, reorders and delays them:
 *
 *   iptables -A INPUT  -i zt0 -j NFQUEUE --queue-num 7 --queue-bypass
 *   iptables -A OUTPUT -o zt0 -m mark ! --mark 0x2a17 -j NFQUEUE --queue-num 7 --queue-bypass
 *   nfq_impair -q 7 [-l LOSS%] [-c CORRUPT%] [-F] [-u DUP%] [-r REORDER%]
 *              [-t HOLD_MS] [-d DELAY_MS] [-j JITTER_MS] [-J] [-m MARK] [-s SEED]
 *              [-o IFNAME] [-a AFTER] [-x N]...
 *
 * or, on a router between the Linux peer and the engine (netns.h,
 * zi_peer_up()), which is where a delay belongs (see below):
 *
 *   iptables -A FORWARD -j NFQUEUE --queue-num 7 --queue-bypass
 *   nfq_impair -q 7 -o zt0 ...
 *
 * One queue serves both directions: packets from the OUTPUT hook, or with
 * -o those leaving through IFNAME, go from Linux to the engine ("out"),
 * the others from the engine to Linux ("in"). Each packet, in this order:
 *
 *   loss     with probability LOSS% it gets NF_DROP and nothing else.
 *   corrupt  with probability CORRUPT%, one byte after the IP header (the
 *            transport header or its payload), chosen at random, is XORed
 *            with a random non-zero value, and NOTHING is fixed: the TCP or
 *            UDP checksum no longer matches, so the receiver's checksum
 *            must catch it (a one-byte change always changes the one's-
 *            complement sum). With -F only payload bytes are hit and the
 *            transport checksum is patched to match (RFC 1624), so the
 *            corruption reaches the application: for TLS's record MAC.
 *            The IP header is never touched.
 *   dup      with probability DUP% a copy follows the packet: after its
 *            verdict, the same bytes are sent again through a raw socket
 *            whose packets carry mark MARK (default 0x2a17). With the
 *            INPUT/OUTPUT rules above the mark keeps a copy out of the
 *            queue; a copy of an "out" packet leaves on zt0 like the
 *            original, one of an "in" packet (addressed to Linux itself)
 *            comes back through lo, where no rule queues it, to the same
 *            socket. On a router the copy leaves through the router's own
 *            OUTPUT chain, which queues nothing, towards its destination.
 *   delay    every packet waits DELAY_MS +- JITTER_MS (uniform) before its
 *            verdict. A packet never leaves before one of the same direction
 *            that came earlier (the wire keeps its order: jitter spreads the
 *            gaps, it does not reorder) unless -J, which releases each packet
 *            at its own time, as netem does. In the OUTPUT chain a held
 *            packet still belongs to its socket, and Linux's TCP Small
 *            Queues then allow the socket about two packets in the host:
 *            a delayed TCP sender crawls (2 segments per delay). Delay
 *            forwarded packets instead (FORWARD, -o).
 *   reorder  a packet that carries a payload (TCP or UDP) is held, with
 *            probability REORDER% and when no other packet of its direction
 *            is held, until the next payload packet of the same flow
 *            (addresses, ports, direction) has been accepted, then accepted
 *            right after it: the two arrive swapped. One that sees no
 *            successor within HOLD_MS (default 50) goes alone ("timeouts").
 *
 * -x N (up to 16 times) drops the Nth packet that carries a payload in
 * direction "in", counting from 1: exact losses for a test that must know
 * which segments were lost (test_tap_loss.c, NewReno's partial ACKs).
 * A retransmission is a later packet and passes. Applied before -l.
 *
 * The first AFTER packets of each direction (-a, default 0) pass untouched
 * (to let a handshake through before corruption starts, say).
 *
 * Percentages are decimal (0.5 is one packet in 200). The random numbers
 * come from xorshift64* seeded by -s, so a run's decisions depend only on
 * the seed and the order the packets arrive in.
 *
 * Output on stdout: "ready queue=N" once bound, and at exit (SIGTERM,
 * SIGINT; whatever is held or delayed is released first) one line per
 * direction,
 *
 *   dir=out packets=P dropped=D corrupted=C duplicated=U reordered=R timeouts=T delayed=L max_queued=Q
 *   dir=in  ...
 *
 * and "overruns=N" (netlink receive overruns: the queue is set to fail
 * open, so the kernel then accepted packets without asking us, as it does
 * when the queue is full).
 * Exit status 0, 1 when the queue or the raw sockets could not be set up,
 * 2 for bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#define MAX_PKT   65535
#define QUEUE_MAX 16384  /* packets the kernel may hold for us */

enum { DIR_IN, DIR_OUT, NDIR };
static const char *const dir_name[NDIR] = { "in", "out" };

struct pkt {
	uint32_t id;
	int dir;
	uint8_t *data;      /* the bytes, when changed (corrupt) or to copy (dup) */
	int len;
	bool changed;       /* verdict carries data */
	bool dup;           /* send a copy after the verdict */
	bool payload;       /* TCP or UDP with a payload */
	uint8_t flow[36];
	int64_t due_us;     /* delay: when to release */
	uint64_t order;     /* arrival number: ties in the heap */
};

struct counts {
	unsigned long packets, dropped, corrupted, duplicated, reordered, timeouts, delayed;
	unsigned long max_queued, queued;
};

static volatile sig_atomic_t stop;

static struct {
	struct nfq_q_handle *qh;
	uint32_t loss, corrupt, dup, reorder;   /* parts per million */
	bool fix_sum, jitter_reorders;
	unsigned int out_ifindex;       /* -o: packets leaving here are "out" */
	unsigned long after;            /* -a: packets per direction left alone first */
	unsigned long exact[16];        /* -x: payload packets "in" to drop, 1-based */
	size_t nexact;
	unsigned long payload_in;       /* payload packets seen "in" so far */
	int hold_ms, delay_ms, jitter_ms;
	uint32_t mark;
	uint64_t rng;
	int raw4, raw6;
	uint64_t arrivals;
	/* delayed packets: a binary min-heap on (due_us, order) */
	struct pkt **heap;
	size_t nheap, capheap;
	int64_t last_due[NDIR];
	/* reorder: at most one held packet per direction */
	struct pkt *held[NDIR];
	int64_t held_since[NDIR];
	struct counts c[NDIR];
	unsigned long overruns;
} st;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: reproducible for a given seed */
static uint32_t rand32(void)
{
	st.rng ^= st.rng >> 12;
	st.rng ^= st.rng << 25;
	st.rng ^= st.rng >> 27;
	return (uint32_t)((st.rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* true with probability ppm / 1e6; draws nothing when ppm is 0, so an
 * impairment that is off does not shift the others' random sequence */
static bool chance(uint32_t ppm)
{
	return ppm != 0 && rand32() % 1000000u < ppm;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "nfq_impair: out of memory\n");
		exit(1);
	}
	return p;
}

/* A packet's bytes, for a verdict that carries them: libnetfilter_queue
 * sends the payload padded to 4 bytes (NFA_ALIGN), so the copy is too. */
static uint8_t *copy_packet(const uint8_t *raw, int len)
{
	size_t padded = ((size_t)len + 3) & ~(size_t)3;
	uint8_t *p = xmalloc(padded);

	memcpy(p, raw, (size_t)len);
	memset(p + len, 0, padded - (size_t)len);
	return p;
}

/* ---- packet parsing --------------------------------------------------------- */

/* Where the transport header starts and which protocol it is, for IPv4 and
 * IPv6 without extension headers; false for anything else. */
static bool l4_of(const uint8_t *p, int len, unsigned int *l4, unsigned int *end, int *proto)
{
	unsigned int total;

	if (len < 1)
		return false;
	if (p[0] >> 4 == 4) {
		if (len < 20)
			return false;
		*l4 = (p[0] & 15u) * 4;
		total = (unsigned int)p[2] << 8 | p[3];
		*proto = p[9];
		/* a fragment after the first has no transport header */
		if ((((unsigned int)p[6] << 8 | p[7]) & 0x1fff) != 0)
			*proto = -1;
	} else if (p[0] >> 4 == 6) {
		if (len < 40)
			return false;
		*l4 = 40;
		total = 40 + ((unsigned int)p[4] << 8 | p[5]);
		*proto = p[6];
	} else {
		return false;
	}
	*end = total < (unsigned int)len ? total : (unsigned int)len;
	return *l4 < *end;
}

/* The payload (after the TCP or UDP header) and the flow of a packet:
 * addresses and ports in wire order. Returns false when it is neither. */
static bool payload_of(const uint8_t *p, int len, unsigned int *off, unsigned int *end,
		       uint8_t flow[36])
{
	unsigned int l4, hdr;
	int proto;

	memset(flow, 0, 36);
	if (!l4_of(p, len, &l4, end, &proto))
		return false;
	if (proto == IPPROTO_TCP) {
		if (*end < l4 + 20)
			return false;
		hdr = (p[l4 + 12] >> 4) * 4u;
	} else if (proto == IPPROTO_UDP) {
		hdr = 8;
	} else {
		return false;
	}
	if (*end < l4 + hdr)
		return false;
	if (p[0] >> 4 == 4)
		memcpy(flow, p + 12, 8);
	else
		memcpy(flow, p + 8, 32);
	memcpy(flow + 32, p + l4, 4);
	*off = l4 + hdr;
	return true;
}

/* RFC 1624 eqn. 3: the checksum after 16-bit word old became new */
static uint16_t sum_update(uint16_t sum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~sum + (uint32_t)(uint16_t)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Flip one byte after the IP header (payload only with -F, and then patch
 * the transport checksum). Returns false when there is nothing to hit. */
static bool corrupt(uint8_t *p, int len)
{
	unsigned int l4, end, off, pos, sum_at;
	uint8_t flow[36], x = (uint8_t)(1 + rand32() % 255);
	int proto;

	if (!st.fix_sum) {
		if (!l4_of(p, len, &l4, &end, &proto))
			return false;
		pos = l4 + rand32() % (end - l4);
		p[pos] ^= x;
		return true;
	}
	if (!payload_of(p, len, &off, &end, flow) || off >= end)
		return false;
	l4_of(p, len, &l4, &end, &proto);
	pos = off + rand32() % (end - off);
	sum_at = l4 + (proto == IPPROTO_TCP ? 16 : 6);
	{
		unsigned int w = (pos - l4) & ~1u;  /* the 16-bit word, from the header's start */
		uint16_t old = (uint16_t)(p[l4 + w] << 8 | (l4 + w + 1 < end ? p[l4 + w + 1] : 0));
		uint16_t sum = (uint16_t)(p[sum_at] << 8 | p[sum_at + 1]), new;

		p[pos] ^= x;
		new = (uint16_t)(p[l4 + w] << 8 | (l4 + w + 1 < end ? p[l4 + w + 1] : 0));
		if (proto == IPPROTO_UDP && sum == 0)
			return true;	/* IPv4 UDP without checksum: nothing to fix */
		sum = sum_update(sum, old, new);
		if (proto == IPPROTO_UDP && sum == 0)
			sum = 0xffff;
		p[sum_at] = (uint8_t)(sum >> 8);
		p[sum_at + 1] = (uint8_t)sum;
	}
	return true;
}

/* ---- leaving ------------------------------------------------------------------ */

static void send_copy(const struct pkt *k)
{
	ssize_t n;

	if (k->data[0] >> 4 == 4) {
		struct sockaddr_in to = { .sin_family = AF_INET };

		memcpy(&to.sin_addr, k->data + 16, 4);
		n = sendto(st.raw4, k->data, (size_t)k->len, 0, (struct sockaddr *)&to, sizeof(to));
	} else {
		struct sockaddr_in6 to = { .sin6_family = AF_INET6 };

		memcpy(&to.sin6_addr, k->data + 24, 16);
		n = sendto(st.raw6, k->data, (size_t)k->len, 0, (struct sockaddr *)&to, sizeof(to));
	}
	if (n != k->len)
		fprintf(stderr, "nfq_impair: duplicate not sent: %s\n", n < 0 ? strerror(errno) : "short");
}

/* The verdict, then the copy if any; frees k. */
static void emit(struct pkt *k)
{
	int rc = nfq_set_verdict(st.qh, k->id, NF_ACCEPT, k->changed ? (uint32_t)k->len : 0,
				 k->changed ? k->data : NULL);

	if (rc < 0)
		fprintf(stderr, "nfq_impair: verdict %u: %s\n", k->id, strerror(errno));
	if (k->dup)
		send_copy(k);
	st.c[k->dir].queued--;
	free(k->data);
	free(k);
}

/* After loss, corruption and delay: the reordering stage. */
static void forward(struct pkt *k)
{
	int d = k->dir;
	struct pkt *h = st.held[d];

	if (st.reorder == 0 || !k->payload) {
		emit(k);
	} else if (h != NULL && memcmp(h->flow, k->flow, sizeof(k->flow)) == 0) {
		/* the later one first, then the one held back */
		st.held[d] = NULL;
		emit(k);
		emit(h);
		st.c[d].reordered++;
	} else if (h == NULL && chance(st.reorder)) {
		st.held[d] = k;
		st.held_since[d] = now_us();
	} else {
		emit(k);
	}
}

static bool heap_less(const struct pkt *a, const struct pkt *b)
{
	return a->due_us < b->due_us || (a->due_us == b->due_us && a->order < b->order);
}

static void heap_push(struct pkt *k)
{
	size_t i;

	if (st.nheap == st.capheap) {
		st.capheap = st.capheap * 2 + 256;
		st.heap = realloc(st.heap, st.capheap * sizeof(*st.heap));
		if (st.heap == NULL) {
			fprintf(stderr, "nfq_impair: out of memory\n");
			exit(1);
		}
	}
	i = st.nheap++;
	while (i > 0 && heap_less(k, st.heap[(i - 1) / 2])) {
		st.heap[i] = st.heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	st.heap[i] = k;
}

static struct pkt *heap_pop(void)
{
	struct pkt *top = st.heap[0], *last = st.heap[--st.nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= st.nheap)
			break;
		if (c + 1 < st.nheap && heap_less(st.heap[c + 1], st.heap[c]))
			c++;
		if (!heap_less(st.heap[c], last))
			break;
		st.heap[i] = st.heap[c];
		i = c;
	}
	if (st.nheap > 0)
		st.heap[i] = last;
	return top;
}

/* Release what is due (everything when all). */
static void release(bool all)
{
	int64_t now = now_us();

	while (st.nheap > 0 && (all || st.heap[0]->due_us <= now))
		forward(heap_pop());
	for (int d = 0; d < NDIR; d++) {
		if (st.held[d] != NULL && (all || now - st.held_since[d] >= st.hold_ms * 1000LL)) {
			struct pkt *h = st.held[d];

			st.held[d] = NULL;
			emit(h);
			st.c[d].timeouts++;
		}
	}
}

/* poll() timeout: until the next packet is due, at most 100 ms */
static int next_wait_ms(void)
{
	int64_t now = now_us(), next = now + 100000;

	if (st.nheap > 0 && st.heap[0]->due_us < next)
		next = st.heap[0]->due_us;
	for (int d = 0; d < NDIR; d++) {
		if (st.held[d] != NULL && st.held_since[d] + st.hold_ms * 1000LL < next)
			next = st.held_since[d] + st.hold_ms * 1000LL;
	}
	if (next <= now)
		return 0;
	return (int)((next - now + 999) / 1000);
}

/* ---- arriving ------------------------------------------------------------------ */

/* -x: is k the Nth payload packet "in" for one of the Ns given? */
static bool exact_drop(const struct pkt *k)
{
	if (k->dir != DIR_IN || !k->payload || st.nexact == 0)
		return false;
	st.payload_in++;
	for (size_t i = 0; i < st.nexact; i++)
		if (st.exact[i] == st.payload_in)
			return true;
	return false;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *raw = NULL;
	int len = nfq_get_payload(nfa, &raw);
	unsigned int off, end;
	struct pkt *k;
	struct counts *c;

	(void)qh;
	(void)msg;
	(void)data;
	if (ph == NULL)
		return 0;
	k = xmalloc(sizeof(*k));
	memset(k, 0, sizeof(*k));
	k->id = ntohl(ph->packet_id);
	if (st.out_ifindex != 0)
		k->dir = nfq_get_outdev(nfa) == st.out_ifindex ? DIR_OUT : DIR_IN;
	else
		k->dir = ph->hook == NF_INET_LOCAL_OUT || ph->hook == NF_INET_POST_ROUTING ?
			 DIR_OUT : DIR_IN;
	k->order = st.arrivals++;
	c = &st.c[k->dir];
	c->packets++;
	/* once stopping (SIGTERM), what still arrives passes at once: the
	 * queue's teardown (nfq_destroy_queue) hands us the packets still in
	 * the socket after release(true) has emptied the heap */
	if (c->packets <= st.after || stop) {
		if (++c->queued > c->max_queued)
			c->max_queued = c->queued;
		emit(k);
		return 0;
	}
	if (len > 0) {
		k->len = len;
		k->payload = payload_of(raw, len, &off, &end, k->flow) && off < end;
	}
	if (exact_drop(k)) {
		if (nfq_set_verdict(st.qh, k->id, NF_DROP, 0, NULL) < 0)
			fprintf(stderr, "nfq_impair: verdict %u: %s\n", k->id, strerror(errno));
		c->dropped++;
		free(k);
		return 0;
	}
	if (chance(st.loss)) {
		if (nfq_set_verdict(st.qh, k->id, NF_DROP, 0, NULL) < 0)
			fprintf(stderr, "nfq_impair: verdict %u: %s\n", k->id, strerror(errno));
		c->dropped++;
		free(k);
		return 0;
	}
	if (len > 0 && chance(st.corrupt)) {
		k->data = copy_packet(raw, len);
		if (corrupt(k->data, len)) {
			k->changed = true;
			c->corrupted++;
		}
	}
	if (len > 0 && chance(st.dup)) {
		if (k->data == NULL)
			k->data = copy_packet(raw, len);
		k->dup = true;
		c->duplicated++;
	}
	if (++c->queued > c->max_queued)
		c->max_queued = c->queued;
	if (st.delay_ms > 0) {
		int64_t d = st.delay_ms * 1000LL;

		if (st.jitter_ms > 0)
			d += (int64_t)(rand32() % (2u * (uint32_t)st.jitter_ms * 1000u + 1u)) -
			     st.jitter_ms * 1000LL;
		k->due_us = now_us() + (d > 0 ? d : 0);
		if (!st.jitter_reorders) {
			if (k->due_us < st.last_due[k->dir])
				k->due_us = st.last_due[k->dir];
			st.last_due[k->dir] = k->due_us;
		}
		heap_push(k);
		c->delayed++;
		return 0;
	}
	forward(k);
	return 0;
}

/* ---- set-up ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: nfq_impair -q QUEUE [-l LOSS%%] [-c CORRUPT%%] [-F] [-u DUP%%]\n"
			"       [-r REORDER%%] [-t HOLD_MS] [-d DELAY_MS] [-j JITTER_MS] [-J]\n"
			"       [-m MARK] [-s SEED] [-o IFNAME] [-a AFTER] [-x N]...\n");
	exit(2);
}

static uint32_t ppm_arg(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end != '\0' || !(v >= 0 && v <= 100))
		usage();
	return (uint32_t)(v * 10000.0 + 0.5);
}

static int raw_socket(int family)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0) {
		fprintf(stderr, "nfq_impair: raw socket: %s\n", strerror(errno));
		exit(1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &st.mark, sizeof(st.mark)) < 0) {
		fprintf(stderr, "nfq_impair: SO_MARK: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct sigaction sa;
	static char buf[MAX_PKT + 4096];
	long queue = -1;
	int c, fd;

	st.hold_ms = 50;
	st.mark = 0x2a17;
	st.rng = 0x5eed0f2e0d3e12ull;
	while ((c = getopt(argc, argv, "q:l:c:Fu:r:t:d:j:Jm:s:o:a:x:")) != -1) {
		switch (c) {
		case 'q': queue = strtol(optarg, NULL, 10); break;
		case 'l': st.loss = ppm_arg(optarg); break;
		case 'c': st.corrupt = ppm_arg(optarg); break;
		case 'F': st.fix_sum = true; break;
		case 'u': st.dup = ppm_arg(optarg); break;
		case 'r': st.reorder = ppm_arg(optarg); break;
		case 't': st.hold_ms = (int)strtol(optarg, NULL, 10); break;
		case 'd': st.delay_ms = (int)strtol(optarg, NULL, 10); break;
		case 'j': st.jitter_ms = (int)strtol(optarg, NULL, 10); break;
		case 'J': st.jitter_reorders = true; break;
		case 'm': st.mark = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': st.rng = strtoull(optarg, NULL, 0) * 0x9e3779b97f4a7c15ull | 1; break;
		case 'a': st.after = strtoul(optarg, NULL, 10); break;
		case 'x':
			if (st.nexact == sizeof(st.exact) / sizeof(st.exact[0]))
				usage();
			st.exact[st.nexact++] = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			st.out_ifindex = if_nametoindex(optarg);
			if (st.out_ifindex == 0) {
				fprintf(stderr, "nfq_impair: no interface %s\n", optarg);
				return 2;
			}
			break;
		default: usage();
		}
	}
	if (queue < 0 || queue > 65535 || st.hold_ms < 1 || st.delay_ms < 0 || st.jitter_ms < 0 ||
	    st.jitter_ms > 60000 || st.delay_ms > 60000 || optind != argc)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	st.raw4 = raw_socket(AF_INET);
	st.raw6 = raw_socket(AF_INET6);
	h = nfq_open();
	if (h == NULL) {
		fprintf(stderr, "nfq_impair: nfq_open: %s\n", strerror(errno));
		return 1;
	}
	st.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
	if (st.qh == NULL) {
		fprintf(stderr, "nfq_impair: bind queue %ld: %s\n", queue, strerror(errno));
		nfq_close(h);
		return 1;
	}
	/* whole packets: a corrupted one goes back whole in its verdict */
	if (nfq_set_mode(st.qh, NFQNL_COPY_PACKET, MAX_PKT) < 0) {
		fprintf(stderr, "nfq_impair: set mode: %s\n", strerror(errno));
		nfq_close(h);
		return 1;
	}
	/* room for the packets a delay holds (the default is 1024) */
	nfq_set_queue_maxlen(st.qh, QUEUE_MAX);
	/* a full queue or socket lets packets through rather than drop them:
	 * loss is only what -l decides */
	nfq_set_queue_flags(st.qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
	fd = nfq_fd(h);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
	printf("ready queue=%ld\n", queue);
	fflush(stdout);

	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, next_wait_ms()) > 0) {
			for (int i = 0; i < 64; i++) {
				ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

				if (n > 0) {
					nfq_handle_packet(h, buf, (int)n);
					continue;
				}
				if (n < 0 && errno == ENOBUFS)
					st.overruns++;
				else if (n < 0 && errno != EAGAIN && errno != EINTR)
					fprintf(stderr, "nfq_impair: recv: %s\n", strerror(errno));
				break;
			}
		}
		release(false);
	}
	release(true);
	for (int d = 0; d < NDIR; d++) {
		const struct counts *k = &st.c[d];

		printf("dir=%s packets=%lu dropped=%lu corrupted=%lu duplicated=%lu reordered=%lu "
		       "timeouts=%lu delayed=%lu max_queued=%lu\n",
		       dir_name[d], k->packets, k->dropped, k->corrupted, k->duplicated, k->reordered,
		       k->timeouts, k->delayed, k->max_queued);
	}
	printf("overruns=%lu\n", st.overruns);
	fflush(stdout);
	nfq_destroy_queue(st.qh);
	nfq_close(h);
	free(st.heap);
	close(st.raw4);
	close(st.raw6);
	return 0;
}
