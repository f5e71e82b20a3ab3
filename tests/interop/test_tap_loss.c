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
 */
#define _GNU_SOURCE
#include "bulk.h"
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

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
