/*
 * Two connected sockets that both send and neither reads: both windows
 * close, each side probes the other's zero window, and then the
 * connection must fall quiet. lwIP 2.1.3 advances SND.NXT over a probe
 * byte the peer did not take, so the peer's pure ACKs arrive one past
 * RCV.NXT, and each was answered with an ACK, for ever: on loopback the
 * reactor spun at full speed (lwip-patches/0001).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "zt.h"

static uint64_t loop_packets(void)
{
	struct zsock_engine_stats st;

	cr_assert_eq(zsock_engine_stats(&st), 0);
	return st.loop_packets;
}

/* send until the socket takes no more: its peer's window is shut */
static void fill(int fd)
{
	static char buf[4096];
	int64_t end = zt_now_ms() + 5000;

	memset(buf, 'z', sizeof(buf));
	while (zt_now_ms() < end) {
		ssize_t n = zsock_send(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);

		if (n < 0) {
			cr_assert_eq(errno, EAGAIN);
			zt_sleep_ms(50);
			/* still nothing taken after a pause: full */
			if (zsock_send(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT) < 0)
				return;
		}
	}
	cr_assert_fail("the send side never filled");
}

ZT_TEST(zero_window, both_sides_full_fall_quiet, .timeout = 30)
{
	uint64_t before, after;
	int a, b;

	zt_tcp_pair(AF_INET, &a, &b);
	fill(a);
	fill(b);
	/* lwIP's first persist probe comes after about one RTO */
	zt_sleep_ms(2500);
	before = loop_packets();
	zt_sleep_ms(500);
	after = loop_packets();
	/* probes and their answers: a handful per second at most */
	cr_assert_lt(after - before, 50, "%llu packets in 500 ms on an idle connection",
		     (unsigned long long)(after - before));
	zt_close(a);
	zt_close(b);
}
