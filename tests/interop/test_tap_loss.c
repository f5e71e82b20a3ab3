/*
 * Bulk TCP over a bad wire: the Linux side of the TAP drops 5 % of the
 * packets each way (iptables statistic) and swaps data segments (NFQUEUE,
 * nfq_impair -r 25). The streams must still arrive
 * whole and in order, and the test checks that the impairments really
 * acted (iptables counters, nfq_impair's count).
 *
 * IPv4 only: the rules are iptables (not ip6tables) ones.
 * ZSOCK_NFQ_IMPAIR names the tool (set by meson.build); ZSOCK_TEST_SCALE
 * scales the 16 MiB (see stream.h). test_faults.c runs the wider matrix.
 *
 * newreno_partial_ack loses two chosen segments of one window (nfq_impair
 * -x) and checks in the engine's capture that the partial ACK sends the
 * second again at once (lwip-patches/0004).
 */
#define _GNU_SOURCE
#include "bulk.h"
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BULK_MIB 16
#define DEADLINE_MS 600000
#define QUEUE "7"

static int reorder_tool = -1;

static void need_tool(void)
{
	const char *tool = getenv("ZSOCK_NFQ_IMPAIR");

	if (tool == NULL || access(tool, X_OK) != 0)
		zi_skip("ZSOCK_NFQ_IMPAIR does not name the nfq_impair tool");
}

/* Loss both ways; reordering both ways, so whichever way the data flows
 * its segments arrive swapped: at the engine (lwIP's out-of-sequence
 * queue) or at Linux (whose duplicate ACKs then drive lwIP's fast
 * retransmit). */
static void impair(const char *seed)
{
	const char *tool = getenv("ZSOCK_NFQ_IMPAIR");
	char *argv[] = { (char *)tool, "-q", QUEUE, "-r", "25", "-s", (char *)seed, NULL };

	/* Linux hands netfilter whole GSO bursts (up to 64 KiB of segments in
	 * one packet); one segment per packet makes "5 %" mean segments */
	zi_sh_ok("ip link set dev " ZI_TAP " gso_max_segs 1");
	zi_sh_ok("iptables -A INPUT -i " ZI_TAP " -m statistic --mode random --probability 0.05 -j DROP");
	zi_sh_ok("iptables -A OUTPUT -o " ZI_TAP " -m statistic --mode random --probability 0.05 -j DROP");
	/* after the loss rules: a dropped packet is not queued */
	zi_sh_ok("iptables -A INPUT -i " ZI_TAP " -p tcp -j NFQUEUE --queue-num " QUEUE
		 " --queue-bypass");
	zi_sh_ok("iptables -A OUTPUT -o " ZI_TAP " -p tcp -j NFQUEUE --queue-num " QUEUE
		 " --queue-bypass");
	reorder_tool = zi_prog_start(argv);
	cr_assert(zi_prog_wait_line(reorder_tool, "ready", 5000),
		  "nfq_impair did not bind queue " QUEUE);
}

/* The impairments took effect. */
static void check_impaired(void)
{
	long long in_drops = zi_ipt_packets("INPUT", "DROP");
	long long out_drops = zi_ipt_packets("OUTPUT", "DROP");
	unsigned long reordered = 0, packets = 0;
	char *out;
	const char *line;
	int st;

	out = zi_prog_stop(reorder_tool, &st);
	reorder_tool = -1;
	fprintf(stderr, "impairments: iptables dropped %lld in, %lld out; nfq_impair:\n%s",
		in_drops, out_drops, out);
	/* one line per direction: dir=out packets=P dropped=D corrupted=C
	 * duplicated=U reordered=R ... */
	for (line = strstr(out, "dir="); line != NULL; line = strstr(line + 1, "dir=")) {
		unsigned long p = 0, d, c, u, r = 0;

		cr_assert_eq(sscanf(line, "dir=%*s packets=%lu dropped=%lu corrupted=%lu "
				    "duplicated=%lu reordered=%lu", &p, &d, &c, &u, &r), 5,
			     "bad line: %s", line);
		packets += p;
		reordered += r;
	}
	cr_assert_gt(packets, 0, "nfq_impair printed no count (status %d): %s", st, out);
	free(out);
	cr_assert_gt(in_drops, 0, "the INPUT loss rule dropped nothing");
	cr_assert_gt(out_drops, 0, "the OUTPUT loss rule dropped nothing");
	cr_assert_gt(reordered, 0, "nfq_impair reordered nothing (%lu packets seen)", packets);
}

static void lossy_bulk(bool zsock_sends, const char *label, const char *seed)
{
	struct zi_bulk b = {
		.family = AF_INET,
		.zsock_listens = !zsock_sends,
		.zsock_sends = zsock_sends ? zi_bulk_bytes(BULK_MIB) : 0,
		.linux_sends = zsock_sends ? 0 : zi_bulk_bytes(BULK_MIB),
		.zsock_blocking = true,
		.deadline_ms = DEADLINE_MS,
		.label = label,
	};

	need_tool();
	zi_up();
	impair(seed);
	zi_bulk_run(&b);
	check_impaired();
}

ZI_TEST(loss, linux_to_zsock, .timeout = 660)
{
	lossy_bulk(false, "tcp4 Linux->zsock, 5% loss each way + reordering", "11");
}

ZI_TEST(loss, zsock_to_linux, .timeout = 660)
{
	lossy_bulk(true, "tcp4 zsock->Linux, 5% loss each way + reordering", "12");
}

/* ---- NewReno: a partial ACK resends the next hole at once ------------------ */

/* The engine's frames as its pcap mirror saw them, in the order the
 * reactor handled them (ZSOCK_PCAP, engine/netif/pcap.h). */
struct frame {
	bool tcp;           /* IPv4 TCP between the engine and Linux (else any other frame) */
	bool sent;          /* by the engine (else received) */
	uint32_t seq, ack;
	unsigned int payload;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every frame of the capture (the fields of the TCP ones between the
 * engine and Linux); returns how many. */
static size_t read_tcp_frames(const char *path, struct frame *f, size_t max)
{
	static uint8_t rec[65536 + 16];
	uint8_t engine[4], linux_[4];
	FILE *fp = fopen(path, "rb");
	size_t n = 0;

	cr_assert_not_null(fp, "no capture %s", path);
	cr_assert_eq(inet_pton(AF_INET, ZI_ENGINE_IP4, engine), 1);
	cr_assert_eq(inet_pton(AF_INET, ZI_LINUX_IP4, linux_), 1);
	cr_assert_eq(fread(rec, 1, 24, fp), 24u, "short pcap header");
	cr_assert_eq(rec[0] | rec[1] << 8 | rec[2] << 16 | (uint32_t)rec[3] << 24, 0xa1b2c3d4u,
		     "not a little-endian microsecond pcap");
	while (n < max && fread(rec, 1, 16, fp) == 16) {
		uint32_t caplen = rec[8] | rec[9] << 8 | rec[10] << 16 | (uint32_t)rec[11] << 24;
		const uint8_t *ip = rec + 14, *tcp;
		unsigned int ihl, tot, thl;

		cr_assert_leq(caplen, sizeof(rec), "pcap record of %u bytes", caplen);
		cr_assert_eq(fread(rec, 1, caplen, fp), caplen, "truncated pcap");
		memset(&f[n], 0, sizeof(f[n]));
		n++;
		if (caplen < 14 + 20 + 20 || rec[12] != 0x08 || rec[13] != 0x00 ||
		    ip[0] >> 4 != 4 || ip[9] != IPPROTO_TCP)
			continue;
		ihl = (ip[0] & 15u) * 4;
		tot = (unsigned int)ip[2] << 8 | ip[3];
		tcp = ip + ihl;
		thl = (tcp[12] >> 4) * 4u;
		if (memcmp(ip + 12, engine, 4) == 0 && memcmp(ip + 16, linux_, 4) == 0)
			f[n - 1].sent = true;
		else if (memcmp(ip + 12, linux_, 4) != 0 || memcmp(ip + 16, engine, 4) != 0)
			continue;
		f[n - 1].tcp = true;
		f[n - 1].seq = be32(tcp + 4);
		f[n - 1].ack = be32(tcp + 8);
		f[n - 1].payload = tot > ihl + thl ? tot - ihl - thl : 0;
	}
	fclose(fp);
	return n;
}

/* Two data segments of one window lost (the 30th and the 32nd the engine
 * sends): three duplicate ACKs make it resend the first; Linux's ACK of
 * that stops at the second hole (a partial ACK). lwIP 2.1.3 left fast
 * recovery there and the second hole waited for more duplicate ACKs or the
 * retransmission timeout; with NewReno (RFC 6582, lwip-patches/0004) the
 * reactor sends that segment again while it handles the partial ACK, so
 * it is the capture's very next frame, of any kind (without NewReno,
 * lwIP 2.1.3's timeout resent it 2.9 s later here, after the link's own
 * IPv6 chatter). */
ZI_TEST(loss, newreno_partial_ack, .timeout = 120)
{
	static struct frame f[8192];
	const char *tool = getenv("ZSOCK_NFQ_IMPAIR");
	char path[64];
	char *argv[] = { (char *)tool, "-q", QUEUE, "-x", "30", "-x", "32", NULL };
	struct zi_bulk b = {
		.family = AF_INET,
		.zsock_sends = 256 * 1024,
		.zsock_blocking = true,
		.deadline_ms = 60000,
		.label = "tcp4 zsock->Linux, the 30th and 32nd segments lost",
	};
	unsigned long dropped = 0;
	uint32_t s1 = 0, s2 = 0;
	size_t n, i, data = 0, partial = 0;
	bool resent1 = false;
	char *out;
	const char *line;
	int st;

	need_tool();
	snprintf(path, sizeof(path), "/tmp/zsock-newreno-%d.pcap", (int)getpid());
	unlink(path);
	/* read once, when the engine starts in zi_up() */
	cr_assert_eq(setenv("ZSOCK_PCAP", path, 1), 0);
	zi_up();
	zi_sh_ok("iptables -A INPUT -i zt0 -p tcp -j NFQUEUE --queue-num " QUEUE
		 " --queue-bypass");
	reorder_tool = zi_prog_start(argv);
	cr_assert(zi_prog_wait_line(reorder_tool, "ready", 5000),
		  "nfq_impair did not bind queue " QUEUE);
	zi_bulk_run(&b);
	out = zi_prog_stop(reorder_tool, &st);
	reorder_tool = -1;
	line = strstr(out, "dir=in ");
	cr_assert_not_null(line, "nfq_impair printed no count (status %d): %s", st, out);
	cr_assert_eq(sscanf(line, "dir=in packets=%*u dropped=%lu", &dropped), 1, "%s", line);
	free(out);
	cr_assert_eq(dropped, 2, "nfq_impair dropped %lu segments, not the 2 asked", dropped);

	n = read_tcp_frames(path, f, sizeof(f) / sizeof(f[0]));
	for (i = 0; i < n && s2 == 0; i++) {
		if (!f[i].tcp || !f[i].sent || f[i].payload == 0)
			continue;
		data++;
		if (data == 30)
			s1 = f[i].seq;
		else if (data == 32)
			s2 = f[i].seq;
	}
	cr_assert_neq(s2, 0, "fewer than 32 data segments in %s (%zu frames)", path, n);
	for (; i < n; i++) {
		if (f[i].tcp && f[i].sent && f[i].payload > 0 && f[i].seq == s1)
			resent1 = true;
		if (resent1 && f[i].tcp && !f[i].sent && f[i].ack == s2) {
			partial = i;
			break;
		}
	}
	cr_assert(resent1, "the first lost segment (seq %u) was never resent", s1);
	cr_assert_neq(partial, 0, "no partial ACK (ack %u) after the first resend", s2);
	cr_assert_lt(partial + 1, n, "the capture ends at the partial ACK");
	cr_assert(f[partial + 1].tcp && f[partial + 1].sent && f[partial + 1].payload > 0 &&
		  f[partial + 1].seq == s2,
		  "the frame after the partial ACK (ack %u) is not the second lost segment: "
		  "%s%s seq %u ack %u, %u bytes", s2, f[partial + 1].tcp ? "" : "not TCP, ",
		  f[partial + 1].sent ? "sent" : "received", f[partial + 1].seq,
		  f[partial + 1].ack, f[partial + 1].payload);
	unlink(path);
}
