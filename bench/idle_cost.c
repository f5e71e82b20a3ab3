/*
 * idle_cost: what a started, idle engine costs.
 *
 *   idle_cost [seconds]        (default 10)
 *
 * Starts the engine (loopback only) with one listening TCP socket and one
 * bound UDP socket, then sleeps. Reports the process CPU time used while
 * idle and the reactor's wake-ups per second (each is one lwIP timer tick
 * or a kick). A benchmark, not a test: the figures depend on the machine.
 */
#include <zsock/socket.h>
#include <zsock/engine.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7070) };
	struct zsock_engine_stats a, b;
	struct timespec ts = { .tv_sec = seconds };
	int t = zsock_socket(AF_INET, SOCK_STREAM, 0);
	int u = zsock_socket(AF_INET, SOCK_DGRAM, 0);
	double c0, c1;

	if (t < 0 || u < 0 || zsock_bind(t, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    zsock_listen(t, 1) < 0 || zsock_bind(u, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("idle_cost: set-up");
		return 1;
	}
	zsock_engine_stats(&a);
	c0 = cpu_seconds();
	nanosleep(&ts, NULL);
	c1 = cpu_seconds();
	zsock_engine_stats(&b);
	printf("idle for %d s: CPU %.4f s (%.3f %% of one core), reactor wake-ups %.1f/s\n",
	       seconds, c1 - c0, 100.0 * (c1 - c0) / seconds,
	       (double)(b.reactor_wakeups - a.reactor_wakeups) / seconds);
	zsock_close(t);
	zsock_close(u);
	return 0;
}
