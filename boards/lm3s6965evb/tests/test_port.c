/*
 * The bare-metal port on the board itself: its clock against the host's
 * (semihosting), its busy/idle accounting, and waits that pump the engine.
 * Bounds are one-sided where time is involved: a busy host only makes
 * things later, never earlier.
 */
#include <criterion/criterion.h>

#include <zsock/socket.h>

#include <errno.h>

#include "board.h"
#include "engine/port/baremetal/baremetal.h"
#include "engine/port/port.h"

/* A 500 ms wait lasts at least 500 ms of the host's time: the clock does
 * not run fast (it once counted a millisecond twice whenever it was read
 * with the SysTick interrupt pending, so idle time ran at double speed). */
Test(port, clock_not_faster_than_host)
{
	uint64_t h0, h1;
	int64_t t0, t1;

	t0 = zs_port_now_ms();
	h0 = board_host_ms();
	cr_assert_eq(zsock_poll(NULL, 0, 500), 0);
	h1 = board_host_ms();
	t1 = zs_port_now_ms();
	cr_assert_geq(t1 - t0, 500, "the wait ended early on its own clock");
	/* the host clock has 10 ms steps */
	cr_assert_geq(h1 - h0, 480, "500 ms of the port's clock took %u ms of the host's",
		      (unsigned)(h1 - h0));
}

/* Fine ticks never go backwards, across many millisecond boundaries. */
Test(port, ticks_monotonic)
{
	uint64_t last = zs_bm_ticks();
	int64_t end = zs_port_now_ms() + 50;

	while (zs_port_now_ms() < end) {
		uint64_t now = zs_bm_ticks();

		cr_assert_geq(now, last);
		last = now;
	}
}

/* Sleeping in a wait counts as idle: a 200 ms wait is mostly idle time,
 * and busy plus idle add up to the elapsed ticks. */
Test(port, wait_counts_as_idle)
{
	uint64_t b0, i0, b1, i1, t0, t1;

	t0 = zs_bm_ticks();
	zs_bm_cpu_ticks(&b0, &i0);
	cr_assert_eq(zsock_poll(NULL, 0, 200), 0);
	zs_bm_cpu_ticks(&b1, &i1);
	t1 = zs_bm_ticks();
	cr_assert_geq(i1 - i0, (t1 - t0) * 9 / 10, "idle %lu of %lu ticks",
		      (unsigned long)(i1 - i0), (unsigned long)(t1 - t0));
	cr_assert_leq((b1 - b0) + (i1 - i0), t1 - t0);
}

/* A zero-timeout poll runs the engine: a datagram sent to ourselves is
 * seen by polling with timeout 0 alone. */
Test(port, zero_timeout_poll_pumps)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct zsock_pollfd pfd;
	int fd, i, n = 0;

	fd = zsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	cr_assert_geq(fd, 0);
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(zsock_getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	cr_assert_eq(zsock_sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
	pfd = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
	for (i = 0; i < 100 && n == 0; i++)
		n = zsock_poll(&pfd, 1, 0);
	cr_assert_eq(n, 1, "never readable with timeout 0");
	zsock_close(fd);
}

/* The port's sources: only 0..7, and each once. */
static void nop_ready(void *arg)
{
	(void)arg;
}

static int watch_call(void *arg)
{
	int *rc = arg;

	rc[0] = zs_port_watch(8, nop_ready, NULL);
	rc[1] = zs_port_watch(-1, nop_ready, NULL);
	rc[2] = zs_port_watch(BOARD_SOURCE_ETHERNET, nop_ready, NULL); /* taken by the board */
	rc[3] = zs_port_watch(7, NULL, NULL);
	return 0;
}

#include "engine/reactor/reactor.h"

Test(port, watch_arguments)
{
	int rc[4];

	cr_assert_eq(zs_engine_ensure(), 0);
	zs_reactor_call(watch_call, rc);
	cr_assert_eq(rc[0], -EINVAL);
	cr_assert_eq(rc[1], -EINVAL);
	cr_assert_eq(rc[2], -ENOSPC);
	cr_assert_eq(rc[3], -EINVAL);
}

#if !CONFIG_ZSOCK_TLS
/* A build without TLS (-Dtls=disabled, as cross.ini): TLS sockets are
 * refused with EPROTONOSUPPORT, not "no implementation" (EAFNOSUPPORT). */
Test(port, tls_disabled_build_refuses_tls)
{
	cr_assert_eq(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), -1);
	cr_assert_eq(errno, EPROTONOSUPPORT);
	cr_assert_eq(zsock_socket(AF_INET6, SOCK_STREAM, IPPROTO_TLS_1_0), -1);
	cr_assert_eq(errno, EPROTONOSUPPORT);
}
#endif
