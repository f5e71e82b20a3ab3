/*
 * The board's benchmark image: the same workloads three ways, side by side
 * in one image so they share everything but the path under test:
 *
 *   port 7 / 9     echo / discard on zsock's BSD calls (servers.c)
 *   port 1007/1009 echo / discard on zsock's native zero-copy calls
 *   port 2007/2009 echo / discard on lwIP's raw API in the reactor
 *                  (bench/m3/raw_servers.c: lwIP without sockets)
 *   port 4242      stats: busy/idle CPU time, for instructions per byte
 *
 * Request/response latency uses the echo ports with small messages (the
 * servers answer each read at once; the rr kind only adds TCP_NODELAY,
 * which the raw servers do not need: they answer from the receive
 * callback). Driven from the host by scripts/bench-m3.sh.
 */
#include "servers.h"
#include "raw_servers.h"

#include <errno.h>
#include <stdio.h>

#include "engine/reactor/reactor.h"

static int start_raw(void *arg)
{
	(void)arg;
	return raw_servers_start(2007, 2009, 2010);
}

int main(void)
{
	int rc;

	if ((rc = servers_listen(SERVER_RR, 7, false)) < 0 ||
	    (rc = servers_listen(SERVER_DISCARD, 9, false)) < 0 ||
	    (rc = servers_listen(SERVER_RR, 1007, true)) < 0 ||
	    (rc = servers_listen(SERVER_DISCARD, 1009, true)) < 0 ||
	    (rc = servers_listen(SERVER_STATS, 4242, false)) < 0) {
		printf("bench_servers: listen: %d\n", rc);
		return 1;
	}
	/* lwIP's raw API only runs in the reactor: start the raw servers there */
	rc = zs_reactor_call(start_raw, NULL);
	if (rc < 0) {
		printf("bench_servers: raw servers: %d\n", rc);
		return 1;
	}
	printf("bench_servers: bsd 7/9, native 1007/1009, raw 2007/2009, stats 4242\n");
	fflush(stdout);
	rc = servers_run();
	printf("bench_servers: %d\n", rc);
	return 1;
}
