/*
 * nfq_reorder: a small NFQUEUE impairment for the interop tests. It swaps
 * TCP data segments on the wire so that the receiver sees them out of
 * order.
 *
 *   iptables -A OUTPUT -o zt0 -p tcp -j NFQUEUE --queue-num 7 --queue-bypass
 *   nfq_reorder -q 7 [-p PERCENT] [-s SEED] [-t HOLD_MS]
 *
 * Every packet of the queue comes here (one queue may serve both
 * directions). A segment that carries data is, with probability PERCENT
 * (default 25), held: no verdict yet. When the next data segment of the
 * same flow (addresses and ports, one direction) arrives it is accepted
 * first and the held one right after it, so the two leave in swapped order
 * ("reordered"). A held segment that sees no successor within HOLD_MS
 * (default 50) is released alone ("timeouts"). Everything else passes at
 * once, in order: segments without payload (pure ACKs, SYN, FIN), other
 * flows' segments, other protocols. At most one segment is held at a time.
 * Nothing is dropped or changed.
 *
 * Output on stdout: "ready queue=N" once bound to the queue, and on exit
 * (SIGTERM, SIGINT) one line
 *
 *   reordered=R timeouts=T held=H data=D packets=P
 *
 * Exit status 0, or 1 when the queue could not be bound (e.g. another
 * program holds it, or no nfnetlink_queue in the kernel).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
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

/* bytes of each packet copied to us: IPv6 header + a TCP header with options */
#define COPY_RANGE 128

static volatile sig_atomic_t stop;

static struct {
	struct nfq_q_handle *qh;
	unsigned int percent;
	int hold_ms;
	uint64_t rng;
	bool holding;
	uint32_t held_id;
	uint8_t held_flow[36];
	int64_t held_since;
	unsigned long reordered, timeouts, held, data, packets;
} st;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: reproducible for a given seed */
static unsigned int rand_percent(void)
{
	st.rng ^= st.rng >> 12;
	st.rng ^= st.rng << 25;
	st.rng ^= st.rng >> 27;
	return (unsigned int)((st.rng * 0x2545f4914f6cdd1dull) >> 33) % 100;
}

/* A TCP segment's payload length and flow (addresses and ports, in wire
 * order: one direction of one connection). Returns false for anything
 * that is not TCP over IPv4 or IPv6 (without extension headers), or whose
 * headers we cannot see whole. */
static bool tcp_segment(const uint8_t *p, int len, unsigned int *payload, uint8_t flow[36])
{
	unsigned int ihl, total, doff;

	memset(flow, 0, 36);
	if (len < 1)
		return false;
	if (p[0] >> 4 == 4) {
		if (len < 20 || p[9] != IPPROTO_TCP)
			return false;
		ihl = (p[0] & 15u) * 4;
		total = (unsigned int)p[2] << 8 | p[3];
		memcpy(flow, p + 12, 8);
	} else if (p[0] >> 4 == 6) {
		if (len < 40 || p[6] != IPPROTO_TCP)
			return false;
		ihl = 40;
		total = 40 + ((unsigned int)p[4] << 8 | p[5]);
		memcpy(flow, p + 8, 32);
	} else {
		return false;
	}
	if ((unsigned int)len < ihl + 13)
		return false;
	memcpy(flow + 32, p + ihl, 4);
	doff = (p[ihl + 12] >> 4) * 4u;
	*payload = total > ihl + doff ? total - ihl - doff : 0;
	return true;
}

static void accept_id(uint32_t id)
{
	if (nfq_set_verdict(st.qh, id, NF_ACCEPT, 0, NULL) < 0)
		fprintf(stderr, "nfq_reorder: verdict %u: %s\n", id, strerror(errno));
}

static void release_held(void)
{
	if (st.holding) {
		accept_id(st.held_id);
		st.holding = false;
	}
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *pkt = NULL;
	int len = nfq_get_payload(nfa, &pkt);
	unsigned int payload = 0;
	uint8_t flow[36];
	uint32_t id;

	(void)qh;
	(void)msg;
	(void)data;
	if (ph == NULL)
		return 0;
	id = ntohl(ph->packet_id);
	st.packets++;
	if (!tcp_segment(pkt, len, &payload, flow) || payload == 0) {
		accept_id(id);
		return 0;
	}
	st.data++;
	if (st.holding && memcmp(flow, st.held_flow, sizeof(flow)) == 0) {
		/* the later segment first, then the one held back */
		accept_id(id);
		release_held();
		st.reordered++;
	} else if (!st.holding && rand_percent() < st.percent) {
		st.holding = true;
		st.held_id = id;
		memcpy(st.held_flow, flow, sizeof(flow));
		st.held_since = now_ms();
		st.held++;
	} else {
		accept_id(id);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfq_reorder -q QUEUE [-p PERCENT] [-s SEED] [-t HOLD_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct sigaction sa;
	static char buf[65536 + 4096];
	long queue = -1;
	int c, fd, one = 1;

	st.percent = 25;
	st.hold_ms = 50;
	st.rng = 0x5eed0f2e0d3e12ull;
	while ((c = getopt(argc, argv, "q:p:s:t:")) != -1) {
		switch (c) {
		case 'q': queue = strtol(optarg, NULL, 10); break;
		case 'p': st.percent = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 's': st.rng = strtoull(optarg, NULL, 0) | 1; break;
		case 't': st.hold_ms = (int)strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (queue < 0 || queue > 65535 || st.percent > 100 || st.hold_ms < 1)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = nfq_open();
	if (h == NULL) {
		fprintf(stderr, "nfq_reorder: nfq_open: %s\n", strerror(errno));
		return 1;
	}
	st.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
	if (st.qh == NULL) {
		fprintf(stderr, "nfq_reorder: bind queue %ld: %s\n", queue, strerror(errno));
		nfq_close(h);
		return 1;
	}
	if (nfq_set_mode(st.qh, NFQNL_COPY_PACKET, COPY_RANGE) < 0) {
		fprintf(stderr, "nfq_reorder: set mode: %s\n", strerror(errno));
		nfq_close(h);
		return 1;
	}
	/* a full queue or socket lets packets through rather than drop them:
	 * this tool reorders, loss comes from the iptables rules */
	nfq_set_queue_flags(st.qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
	fd = nfq_fd(h);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 4 << 20);
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	printf("ready queue=%ld\n", queue);
	fflush(stdout);

	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait = st.holding ? 5 : 100;

		if (poll(&p, 1, wait) > 0) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n > 0)
				nfq_handle_packet(h, buf, (int)n);
			else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
				fprintf(stderr, "nfq_reorder: recv: %s\n", strerror(errno));
		}
		if (st.holding && now_ms() - st.held_since >= st.hold_ms) {
			release_held();
			st.timeouts++;
		}
	}
	release_held();
	printf("reordered=%lu timeouts=%lu held=%lu data=%lu packets=%lu\n",
	       st.reordered, st.timeouts, st.held, st.data, st.packets);
	fflush(stdout);
	nfq_destroy_queue(st.qh);
	nfq_close(h);
	return 0;
}
