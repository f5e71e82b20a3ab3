/*
 * The benchmark programs' main: options, output, the watchdog, and the
 * loop over implementations and workloads (bench_main(), see bench.h).
 * The workloads themselves are in workloads.c and peer.c, the measuring
 * instruments they share in measure.c.
 */
#define _GNU_SOURCE
#include "bench_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------------ */

/* the workloads, as bits of bench_opt.workloads */
enum {
	W_BULK = 1 << 0, W_RR = 1 << 1, W_UDP = 1 << 2, W_UDP_PACED = 1 << 3,
	W_POLL = 1 << 4, W_FOOTPRINT = 1 << 5,
	W_TAP_BULK_TX = 1 << 6, W_TAP_BULK_RX = 1 << 7, W_TAP_RR = 1 << 8,
	W_RR_PACED = 1 << 9,
};

/* rr_paced: 1-byte round trips with this pause before each */
#define RR_PACED_GAP_US 1000

static const struct {
	const char *name;
	unsigned bit;
} workload_names[] = {
	{ "bulk", W_BULK }, { "rr", W_RR }, { "udp", W_UDP }, { "udp_paced", W_UDP_PACED },
	{ "poll", W_POLL }, { "footprint", W_FOOTPRINT }, { "tap_bulk_tx", W_TAP_BULK_TX },
	{ "tap_bulk_rx", W_TAP_BULK_RX }, { "tap_rr", W_TAP_RR }, { "rr_paced", W_RR_PACED },
};

struct opts bench_opt;

/* ---- output ---------------------------------------------------------------------- */

/* see bench.h */
void bench_result(const char *impl, const char *workload, const char *param,
		  const char *metric, double value, const char *unit)
{
	/* counts and sizes in full, measurements to 6 significant digits */
	if (value == floor(value) && fabs(value) < 1e15)
		printf("%s,%s,%s,%s,%.0f,%s\n", impl, workload, param, metric, value, unit);
	else
		printf("%s,%s,%s,%s,%.6g,%s\n", impl, workload, param, metric, value, unit);
	fflush(stdout);
}

/* see bench.h */
void bench_na(const char *impl, const char *workload, const char *param,
	      const char *metric, const char *why)
{
	printf("%s,%s,%s,%s,n/a,%s\n", impl, workload, param, metric, why);
	fflush(stdout);
}

/* What is running, for the watchdog's message (set by the main thread). */
static const char *volatile cur_impl = "-";
static const char *volatile cur_what = "start-up";

/* see bench_priv.h */
void bench_fail(const char *impl, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: %s %s: ", impl, what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_alarm(int sig)
{
	char msg[256];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg), "bench: watchdog: %s %s still running after %d s, giving up\n",
		     cur_impl, cur_what, bench_opt.timeout);
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		_exit(3);
	_exit(3);
}

/* ---- parsing ------------------------------------------------------------------ */

static int parse_list(const char *s, struct list *l)
{
	char *end;

	l->n = 0;
	while (*s != '\0') {
		long v = strtol(s, &end, 10);

		if (end == s || v <= 0 || v > 1 << 24 || l->n == MAX_LIST)
			return -1;
		l->v[l->n++] = (int)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return l->n > 0 ? 0 : -1;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	long port = PEER_PORT;

	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (colon != NULL) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port <= 0 || port > 65533)
			return -1;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* see bench_priv.h */
void bench_param(char *buf, size_t len, int v)
{
	snprintf(buf, len, "%d", v);
}

/* ---- main -------------------------------------------------------------------------------- */

static void usage(FILE *f, const char *prog, const struct bench_impl *const *impls, int n)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  --impl NAME          run one implementation of this program:", prog);
	for (int i = 0; i < n; i++)
		fprintf(f, " %s", impls[i]->name);
	fprintf(f, "\n"
		"  --workload LIST      bulk,rr,rr_paced,udp,udp_paced,poll,footprint (default: all;\n"
		"                       with --peer: tap_bulk_tx,tap_bulk_rx,tap_rr)\n"
		"  --warmup S           seconds before each measured window (0.2)\n"
		"  --duration S         measured seconds per bulk/udp/poll point (0.5)\n"
		"  --rr-duration S      measured seconds per request/response point (1)\n"
		"  --rr-min N           round trips per RR point, at least (1000)\n"
		"  --sizes LIST         bulk write sizes (64,256,1024,4096,16384,65536)\n"
		"  --rr-sizes LIST      request/response sizes (1,1024)\n"
		"  --udp-size N         datagram payload bytes (64)\n"
		"  --udp-window N       udp_paced: datagrams the sender may be ahead (32)\n"
		"  --poll-n LIST        connections polled (1,16,256,1024)\n"
		"  --tap-sizes LIST     write sizes against the peer (1024,16384)\n"
		"  --dist-dir DIR       write RR latency quantiles to DIR/<workload>-<impl>-<size>.dat\n"
		"  --netif SPEC         attach the stack to tap:NAME,ip=A.B.C.D/LEN,gw=A.B.C.D\n"
		"  --peer ADDR[:PORT]   run the tap_* workloads against a peer (port %d)\n"
		"  --serve ADDR[:PORT]  be that peer: sink on PORT, source on PORT+1, echo on PORT+2\n"
		"  --timeout S          give up (exit 3) after S seconds (600; smoke 50)\n"
		"  --smoke              tiny durations: prove that everything runs\n"
		"Output: CSV lines impl,workload,param,metric,value,unit on stdout.\n",
		PEER_PORT);
}

static int parse_workloads(const char *s, unsigned *out)
{
	char buf[256], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*out = 0;
	for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(workload_names) / sizeof(workload_names[0]); i++) {
			if (strcmp(w, workload_names[i].name) == 0)
				break;
		}
		if (i == sizeof(workload_names) / sizeof(workload_names[0]))
			return -1;
		*out |= workload_names[i].bit;
	}
	return *out != 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv)
{
	bool smoke = false, have_dur = false, have_warm = false, have_rr = false, have_min = false;
	bool have_timeout = false;

	parse_list("64,256,1024,4096,16384,65536", &bench_opt.bulk_sizes);
	parse_list("1,1024", &bench_opt.rr_sizes);
	parse_list("1,16,256,1024", &bench_opt.poll_n);
	parse_list("1024,16384", &bench_opt.tap_sizes);
	bench_opt.udp_size = 64;
	bench_opt.udp_window = 32;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (strcmp(a, "--smoke") == 0) {
			smoke = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 1;
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--impl") == 0)
			bench_opt.impl = v;
		else if (strcmp(a, "--workload") == 0)
			bad = parse_workloads(v, &bench_opt.workloads);
		else if (strcmp(a, "--warmup") == 0)
			bench_opt.warmup = atof(v), have_warm = true;
		else if (strcmp(a, "--duration") == 0)
			bench_opt.duration = atof(v), have_dur = true;
		else if (strcmp(a, "--rr-duration") == 0)
			bench_opt.rr_duration = atof(v), have_rr = true;
		else if (strcmp(a, "--rr-min") == 0)
			bench_opt.rr_min = atoi(v), have_min = true;
		else if (strcmp(a, "--sizes") == 0)
			bad = parse_list(v, &bench_opt.bulk_sizes);
		else if (strcmp(a, "--rr-sizes") == 0)
			bad = parse_list(v, &bench_opt.rr_sizes);
		else if (strcmp(a, "--poll-n") == 0)
			bad = parse_list(v, &bench_opt.poll_n);
		else if (strcmp(a, "--tap-sizes") == 0)
			bad = parse_list(v, &bench_opt.tap_sizes);
		else if (strcmp(a, "--udp-size") == 0)
			bench_opt.udp_size = atoi(v);
		else if (strcmp(a, "--udp-window") == 0)
			bench_opt.udp_window = atoi(v);
		else if (strcmp(a, "--dist-dir") == 0)
			bench_opt.dist_dir = v;
		else if (strcmp(a, "--netif") == 0)
			bench_opt.netif = v;
		else if (strcmp(a, "--peer") == 0)
			bad = parse_addr(v, &bench_opt.peer), bench_opt.have_peer = true;
		else if (strcmp(a, "--serve") == 0)
			bad = parse_addr(v, &bench_opt.serve_at), bench_opt.serve = true;
		else if (strcmp(a, "--timeout") == 0)
			bench_opt.timeout = atoi(v), have_timeout = true;
		else
			bad = -1;
		if (bad < 0) {
			fprintf(stderr, "bench: bad %s %s\n", a, v);
			return -1;
		}
	}
	bench_opt.smoke = smoke;
	if (!have_warm)
		bench_opt.warmup = smoke ? 0.02 : 0.2;
	if (!have_dur)
		bench_opt.duration = smoke ? 0.05 : 0.5;
	if (!have_rr)
		bench_opt.rr_duration = smoke ? 0.05 : 1.0;
	if (!have_min)
		bench_opt.rr_min = smoke ? 20 : 1000;
	if (!have_timeout)
		bench_opt.timeout = smoke ? 50 : 600;
	if (bench_opt.workloads == 0)
		bench_opt.workloads = bench_opt.have_peer ? W_TAP_BULK_TX | W_TAP_BULK_RX | W_TAP_RR :
			W_BULK | W_RR | W_RR_PACED | W_UDP | W_UDP_PACED | W_POLL | W_FOOTPRINT;
	if (bench_opt.warmup < 0 || bench_opt.duration <= 0 || bench_opt.rr_duration <= 0 || bench_opt.rr_min < 1 ||
	    bench_opt.udp_size < 8 || bench_opt.udp_size > 1472 || bench_opt.udp_window < 1 || bench_opt.timeout < 1) {
		fprintf(stderr, "bench: an option is out of range\n");
		return -1;
	}
	if ((bench_opt.workloads & (W_TAP_BULK_TX | W_TAP_BULK_RX | W_TAP_RR)) && !bench_opt.have_peer) {
		fprintf(stderr, "bench: the tap_* workloads need --peer\n");
		return -1;
	}
	return 0;
}

/* Run the chosen workloads on one implementation; 0 if all ran. */
static int run_impl(const struct bench_impl *im)
{
	int rc = 0;

	cur_impl = im->name;
	if (bench_opt.workloads & W_BULK) {
		cur_what = "bulk";
		for (int i = 0; i < bench_opt.bulk_sizes.n; i++)
			rc |= bench_run_bulk(im, bench_opt.bulk_sizes.v[i]);
	}
	if (bench_opt.workloads & W_RR) {
		cur_what = "rr";
		for (int i = 0; i < bench_opt.rr_sizes.n; i++)
			rc |= bench_run_rr(im, "tcp_rr", bench_opt.rr_sizes.v[i], 0);
	}
	if (bench_opt.workloads & W_RR_PACED) {
		cur_what = "rr_paced";
		rc |= bench_run_rr(im, "tcp_rr_paced", 1, RR_PACED_GAP_US);
	}
	if (bench_opt.workloads & W_UDP) {
		cur_what = "udp";
		rc |= bench_run_udp(im, "udp", bench_opt.udp_size, 0);
	}
	if (bench_opt.workloads & W_UDP_PACED) {
		cur_what = "udp_paced";
		rc |= bench_run_udp(im, "udp_paced", bench_opt.udp_size, bench_opt.udp_window);
	}
	if (bench_opt.workloads & W_POLL) {
		cur_what = "poll";
		rc |= bench_run_poll(im);
	}
	if (bench_opt.workloads & W_FOOTPRINT) {
		cur_what = "footprint";
		if (im->footprint != NULL)
			im->footprint();
		else
			bench_na(im->name, "footprint", "-", "socket_bytes",
				 "no static tables (kernel memory)");
	}
	if (bench_opt.workloads & (W_TAP_BULK_TX | W_TAP_BULK_RX | W_TAP_RR)) {
		cur_what = "peer check";
		if (bench_peer_ready(im) < 0)
			return -1;
	}
	if (bench_opt.workloads & W_TAP_BULK_TX) {
		cur_what = "tap_bulk_tx";
		for (int i = 0; i < bench_opt.tap_sizes.n; i++)
			rc |= bench_run_tap_bulk_tx(im, bench_opt.tap_sizes.v[i]);
	}
	if (bench_opt.workloads & W_TAP_BULK_RX) {
		cur_what = "tap_bulk_rx";
		for (int i = 0; i < bench_opt.tap_sizes.n; i++)
			rc |= bench_run_tap_bulk_rx(im, bench_opt.tap_sizes.v[i]);
	}
	if (bench_opt.workloads & W_TAP_RR) {
		cur_what = "tap_rr";
		for (int i = 0; i < bench_opt.rr_sizes.n; i++)
			rc |= bench_run_tap_rr(im, bench_opt.rr_sizes.v[i]);
	}
	return rc != 0 ? -1 : 0;
}

/* see bench.h */
int bench_main(int argc, char **argv, const struct bench_impl *const *impls, int n)
{
	int rc = parse_args(argc, argv), failed = 0, ran = 0;

	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr, argv[0], impls, n);
		return rc > 0 ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	if (bench_opt.dist_dir != NULL)
		mkdir(bench_opt.dist_dir, 0777);	/* may exist */
	for (int i = 0; i < n; i++) {
		const struct bench_impl *im = impls[i];

		if (bench_opt.impl != NULL && strcmp(bench_opt.impl, im->name) != 0)
			continue;
		ran++;
		cur_impl = im->name;
		cur_what = "init";
		alarm((unsigned)bench_opt.timeout);
		if (im->init(bench_opt.netif) < 0) {
			bench_fail(im->name, "init", "the stack did not start");
			failed++;
			continue;
		}
		if (bench_opt.serve)
			return bench_serve(im);
		if (run_impl(im) < 0)
			failed++;
		alarm(0);
	}
	if (ran == 0) {
		fprintf(stderr, "bench: no implementation named %s here\n", bench_opt.impl);
		usage(stderr, argv[0], impls, n);
		return 2;
	}
	return failed ? 1 : 0;
}
