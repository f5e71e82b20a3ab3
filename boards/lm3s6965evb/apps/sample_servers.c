/*
 * The board's sample: TCP echo (port 7), discard (port 9) and
 * request/response (port 10), and UDP echo (port 7), on zsock, served from
 * one zsock_poll() loop at 10.0.2.15 (also the footprint build: TCP, UDP
 * and poll), and a stats port (4242: send "S\n", get CPU time and the
 * high-water marks back). With QEMU's user network the host reaches them through
 * forwarded ports:
 *
 *   QEMU_M3_HOSTFWD=tcp:127.0.0.1:5007-:7,tcp:127.0.0.1:5009-:9,tcp:127.0.0.1:5010-:10 \
 *     boards/lm3s6965evb/qemu-run build-m3/boards/lm3s6965evb/sample_servers.elf
 *   socat - TCP:127.0.0.1:5007
 */
#include "servers.h"

#include <stdio.h>

int main(void)
{
	int rc;

	if ((rc = servers_listen(SERVER_ECHO, 7, false)) < 0 ||
	    (rc = servers_listen(SERVER_DISCARD, 9, false)) < 0 ||
	    (rc = servers_listen(SERVER_RR, 10, false)) < 0 ||
	    (rc = servers_listen(SERVER_STATS, 4242, false)) < 0 ||
	    (rc = servers_udp_echo(7)) < 0) {
		printf("sample_servers: listen: %d\n", rc);
		return 1;
	}
	printf("sample_servers: TCP echo 7, discard 9, rr 10, stats 4242, UDP echo 7 on 10.0.2.15\n");
	fflush(stdout);
	rc = servers_run();
	printf("sample_servers: %d\n", rc);
	return 1;
}
