/*
 * The engine's DNS client (api/zsock/dns.c) over a TAP device, in a
 * network namespace each test makes and removes (see netns.h):
 *
 *   dnsmasq    a real server on 192.0.2.1 and 2001:db8::1, port 53:
 *              A, AAAA only, both, CNAME, NXDOMAIN, over IPv4 and IPv6,
 *              a silent first server before it
 *   silent     a server address nothing answers: EAI_AGAIN, not before
 *              timeout * retries
 *   responder  a small Linux UDP server thread of this test on port 5353:
 *              malformed replies (EAI_FAIL, at once), garbage (ignored:
 *              EAI_AGAIN after the timeouts), replies from the wrong port
 *              (ignored), the first query dropped (answered on the retry),
 *              SERVFAIL (EAI_AGAIN), IPv6 with "[addr]:port"
 *
 * The server list comes from the ZSOCK_DNS environment variable, set by
 * each test before it resolves. Times use the build's dns_timeout_ms and
 * dns_retries (CONFIG_ZSOCK_DNS_TIMEOUT_MS, CONFIG_ZSOCK_DNS_RETRIES).
 */
#define _GNU_SOURCE
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/socket.h>
#include "zsock/dns.h"

#define TMO CONFIG_ZSOCK_DNS_TIMEOUT_MS
#define TRIES CONFIG_ZSOCK_DNS_RETRIES
#define SLACK_MS 1500
#define SILENT_IP4 "192.0.2.99" /* on the link, but nothing has it */

/* ---- helpers -------------------------------------------------------------------- */

static int resolve(const char *servers, const char *name, int family, struct zs_dns_addr *out,
		   int *count, int64_t *ms)
{
	int64_t t0;
	int rc;

	cr_assert_eq(setenv("ZSOCK_DNS", servers, 1), 0);
	t0 = zt_now_ms();
	rc = zs_dns_resolve(name, family, out, 8, count);
	*ms = zt_now_ms() - t0;
	fprintf(stderr, "resolve %s via %s (family %d): rc %d (%s), %d addresses, %lld ms\n", name,
		servers, family, rc, rc ? gai_strerror(rc) : "ok", *count, (long long)*ms);
	return rc;
}

static void expect_addrs(const struct zs_dns_addr *out, int count, const char *const *want)
{
	int n = 0;

	for (; want[n] != NULL; n++) {
		uint8_t bin[16] = { 0 };
		int fam = strchr(want[n], ':') ? AF_INET6 : AF_INET;

		cr_assert_lt(n, count, "only %d addresses, %s missing", count, want[n]);
		cr_assert_eq(inet_pton(fam, want[n], bin), 1);
		cr_assert_eq(out[n].family, fam, "address %d: family %d, want %s", n, out[n].family,
			     want[n]);
		cr_assert_arr_eq(out[n].addr, bin, fam == AF_INET ? 4 : 16, "address %d is not %s",
				 n, want[n]);
	}
	cr_assert_eq(count, n, "%d addresses, want %d", count, n);
}

static void expect_ok(const char *servers, const char *name, int family, const char *const *want)
{
	struct zs_dns_addr out[8];
	int count = -1;
	int64_t ms;
	int rc = resolve(servers, name, family, out, &count, &ms);

	cr_assert_eq(rc, 0, "%s: rc %d (%s)", name, rc, gai_strerror(rc));
	expect_addrs(out, count, want);
}

static void expect_err(const char *servers, const char *name, int family, int want)
{
	struct zs_dns_addr out[8];
	int count = -1;
	int64_t ms;
	int rc = resolve(servers, name, family, out, &count, &ms);

	cr_assert_eq(rc, want, "%s: rc %d (%s), want %d (%s)", name, rc, gai_strerror(rc), want,
		     gai_strerror(want));
	cr_assert_eq(count, 0);
	/* a definite answer comes at once, not after a timeout */
	if (want == EAI_NONAME)
		cr_assert_lt(ms, TMO, "%s: an answer took %lld ms", name, (long long)ms);
}

#define ADDRS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- dnsmasq --------------------------------------------------------------------- */

/* Send a query from Linux until the server answers (it is listening). */
static void wait_server(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, port, &ss);
	int64_t end = zt_now_ms() + 10000;
	uint8_t q[ZS_DNS_QUERY_MAX], r[512];
	int n = zs_dns_build_query(q, sizeof(q), 0x7777, "v4.test", ZS_DNS_TYPE_A);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		cr_assert_lt(zt_now_ms(), end, "dnsmasq never answered on %s", ip);
		sendto(fd, q, (size_t)n, 0, (struct sockaddr *)&ss, len);
		if (poll(&p, 1, 200) == 1 && recv(fd, r, sizeof(r), 0) > 0)
			break;
	}
	close(fd);
}

static void dnsmasq_up(void)
{
	char *argv[] = {
		"/bin/sh", "-c",
		"exec dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts"
		" --user=root --pid-file= --log-facility=- --bind-interfaces --port=53"
		" --listen-address=" ZI_LINUX_IP4 " --listen-address=" ZI_LINUX_IP6
		" --local=/test/"
		" --host-record=v4.test,192.0.2.10"
		" --host-record=v6only.test,2001:db8::10"
		" --host-record=both.test,192.0.2.20,2001:db8::20"
		" --host-record=many.test,192.0.2.31"
		" --host-record=many.test,192.0.2.32"
		" --cname=alias.test,v4.test"
		" --address=/nx.test/"
		" 2>&1",
		NULL
	};

	zi_up();
	if (zi_sh("command -v dnsmasq >/dev/null") != 0)
		zi_skip("dnsmasq is missing (Debian package dnsmasq-base)");
	zi_prog_start(argv);
	wait_server(ZI_LINUX_IP4, 53);
	wait_server(ZI_LINUX_IP6, 53);
}

ZI_TEST(dnsmasq, a_record, .timeout = 60)
{
	dnsmasq_up();
	expect_ok(ZI_LINUX_IP4, "v4.test", AF_INET, ADDRS("192.0.2.10"));
	expect_ok(ZI_LINUX_IP4, "V4.Test.", AF_INET, ADDRS("192.0.2.10"));
	/* AF_UNSPEC: the AAAA query gets NODATA */
	expect_ok(ZI_LINUX_IP4, "v4.test", AF_UNSPEC, ADDRS("192.0.2.10"));
	expect_err(ZI_LINUX_IP4, "v4.test", AF_INET6, EAI_NONAME);
}

ZI_TEST(dnsmasq, aaaa_only, .timeout = 60)
{
	dnsmasq_up();
	expect_ok(ZI_LINUX_IP4, "v6only.test", AF_UNSPEC, ADDRS("2001:db8::10"));
	expect_ok(ZI_LINUX_IP4, "v6only.test", AF_INET6, ADDRS("2001:db8::10"));
	expect_err(ZI_LINUX_IP4, "v6only.test", AF_INET, EAI_NONAME);
}

ZI_TEST(dnsmasq, both_families_v4_first, .timeout = 60)
{
	dnsmasq_up();
	expect_ok(ZI_LINUX_IP4, "both.test", AF_UNSPEC, ADDRS("192.0.2.20", "2001:db8::20"));
	expect_ok(ZI_LINUX_IP4, "both.test", AF_INET6, ADDRS("2001:db8::20"));
	expect_ok(ZI_LINUX_IP4, "both.test", AF_INET, ADDRS("192.0.2.20"));
}

ZI_TEST(dnsmasq, several_records_and_cname, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count;
	int64_t ms;

	dnsmasq_up();
	cr_assert_eq(resolve(ZI_LINUX_IP4, "many.test", AF_INET, out, &count, &ms), 0);
	cr_assert_eq(count, 2);
	/* the CNAME and the A record of its target come in one reply */
	expect_ok(ZI_LINUX_IP4, "alias.test", AF_INET, ADDRS("192.0.2.10"));
	expect_ok(ZI_LINUX_IP4, "alias.test", AF_UNSPEC, ADDRS("192.0.2.10"));
	expect_err(ZI_LINUX_IP4, "alias.test", AF_INET6, EAI_NONAME);
}

ZI_TEST(dnsmasq, nxdomain, .timeout = 60)
{
	dnsmasq_up();
	expect_err(ZI_LINUX_IP4, "nosuch.test", AF_UNSPEC, EAI_NONAME);
	expect_err(ZI_LINUX_IP4, "nx.test", AF_INET, EAI_NONAME);
	expect_err(ZI_LINUX_IP4, "deep.name.nx.test", AF_INET6, EAI_NONAME);
}

ZI_TEST(dnsmasq, over_ipv6, .timeout = 60)
{
	dnsmasq_up();
	expect_ok(ZI_LINUX_IP6, "both.test", AF_UNSPEC, ADDRS("192.0.2.20", "2001:db8::20"));
	expect_ok("[" ZI_LINUX_IP6 "]:53", "v4.test", AF_INET, ADDRS("192.0.2.10"));
	expect_err(ZI_LINUX_IP6, "nosuch.test", AF_INET, EAI_NONAME);
}

/* The first server never answers: the second one does, after the first
 * one's timeout. */
ZI_TEST(dnsmasq, silent_first_server, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count;
	int64_t ms;

	dnsmasq_up();
	cr_assert_eq(resolve(SILENT_IP4 ", " ZI_LINUX_IP4, "both.test", AF_UNSPEC, out, &count, &ms),
		     0);
	expect_addrs(out, count, ADDRS("192.0.2.20", "2001:db8::20"));
	cr_assert_geq(ms, TMO - 10, "answered after %lld ms, before the first server's timeout",
		      (long long)ms);
	cr_assert_lt(ms, TMO + SLACK_MS, "took %lld ms", (long long)ms);
}

/* ---- nobody answers --------------------------------------------------------------- */

ZI_TEST(silent, no_server_answers, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count;
	int64_t ms;

	zi_up();
	cr_assert_eq(resolve(SILENT_IP4, "v4.test", AF_UNSPEC, out, &count, &ms), EAI_AGAIN);
	cr_assert_eq(count, 0);
	cr_assert_geq(ms, (int64_t)TMO * TRIES - 10, "gave up after %lld ms, before %d x %d ms",
		      (long long)ms, TRIES, TMO);
	cr_assert_lt(ms, (int64_t)TMO * TRIES + SLACK_MS, "took %lld ms", (long long)ms);
}

/* ---- a responder of our own ------------------------------------------------------------ */

enum mode {
	ANSWER,      /* a good answer: A 192.0.2.77 or AAAA 2001:db8::77 */
	DROP_FIRST,  /* drop the first query, answer the others */
	MALFORMED,   /* id and question right, the answer record cut short */
	GARBAGE,     /* random bytes */
	WRONG_PORT,  /* a good answer, sent from another port */
	SERVFAIL,
};

struct responder {
	enum mode mode;
	int fd, fd2;
	atomic_int queries;
	atomic_bool stop;
	pthread_t thread;
};

static size_t make_reply(enum mode mode, const uint8_t *q, size_t n, uint8_t *r)
{
	uint16_t qtype;
	size_t k;

	if (n < 17 || n > 300)
		return 0;
	memcpy(r, q, n);
	qtype = (uint16_t)((q[n - 4] << 8) | q[n - 3]);
	r[2] = 0x81;
	r[3] = mode == SERVFAIL ? 0x82 : 0x80;
	r[6] = 0;
	r[7] = mode == SERVFAIL ? 0 : 1;
	k = n;
	if (mode == SERVFAIL)
		return k;
	static const uint8_t rr[] = { 0xc0, 0x0c, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 60, 0x00 };
	memcpy(r + k, rr, sizeof(rr));
	r[k + 3] = (uint8_t)qtype;
	k += sizeof(rr);
	if (mode == MALFORMED)
		return k; /* rdlength cut in half, no data */
	if (qtype == ZS_DNS_TYPE_A) {
		static const uint8_t a[] = { 4, 192, 0, 2, 77 };

		memcpy(r + k, a, sizeof(a));
		k += sizeof(a);
	} else {
		static const uint8_t a6[] = { 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					      0, 0, 0, 0, 0, 0, 0, 0x77 };

		memcpy(r + k, a6, sizeof(a6));
		k += sizeof(a6);
	}
	return k;
}

static void *responder_main(void *arg)
{
	struct responder *rs = arg;
	uint64_t seed = 12345;

	while (!atomic_load(&rs->stop)) {
		struct pollfd p = { .fd = rs->fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		uint8_t q[512], r[512];
		ssize_t n;
		size_t k;
		int nq;

		if (poll(&p, 1, 50) != 1)
			continue;
		n = recvfrom(rs->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n <= 0)
			continue;
		nq = atomic_fetch_add(&rs->queries, 1) + 1;
		switch (rs->mode) {
		case DROP_FIRST:
			if (nq == 1)
				continue;
			k = make_reply(ANSWER, q, (size_t)n, r);
			break;
		case GARBAGE:
			k = 12 + zt_rand(&seed) % 100;
			for (size_t i = 0; i < k; i++)
				r[i] = (uint8_t)zt_rand(&seed);
			break;
		default:
			k = make_reply(rs->mode, q, (size_t)n, r);
			break;
		}
		sendto(rs->mode == WRONG_PORT ? rs->fd2 : rs->fd, r, k, 0, (struct sockaddr *)&from,
		       flen);
	}
	return NULL;
}

static int linux_udp(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind %s:%u: %s", ip, port,
		     strerror(errno));
	return fd;
}

static void responder_start(struct responder *rs, enum mode mode, const char *ip)
{
	memset(rs, 0, sizeof(*rs));
	rs->mode = mode;
	rs->fd = linux_udp(ip, 5353);
	rs->fd2 = linux_udp(ip, 5354);
	rs->thread = zt_spawn(responder_main, rs);
}

static int responder_stop(struct responder *rs)
{
	atomic_store(&rs->stop, true);
	cr_assert(zt_join(rs->thread, 5000), "responder thread stuck");
	close(rs->fd);
	close(rs->fd2);
	return atomic_load(&rs->queries);
}

/* Run one lookup against a responder; returns rc, *ms its time, *nq the
 * queries the responder saw. */
static int against(enum mode mode, const char *ip, const char *servers, int family,
		   struct zs_dns_addr *out, int *count, int64_t *ms, int *nq)
{
	struct responder rs;
	int rc;

	zi_up();
	responder_start(&rs, mode, ip);
	rc = resolve(servers, "r.test", family, out, count, ms);
	*nq = responder_stop(&rs);
	return rc;
}

ZI_TEST(responder, answer_on_port_5353, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert_eq(against(ANSWER, ZI_LINUX_IP4, ZI_LINUX_IP4 ":5353", AF_UNSPEC, out, &count,
			     &ms, &nq), 0);
	expect_addrs(out, count, ADDRS("192.0.2.77", "2001:db8::77"));
	cr_assert_eq(nq, 2, "one A and one AAAA query, saw %d", nq);
	cr_assert_lt(ms, TMO);
}

ZI_TEST(responder, answer_over_ipv6_bracketed, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert_eq(against(ANSWER, ZI_LINUX_IP6, "[" ZI_LINUX_IP6 "]:5353", AF_INET6, out,
			     &count, &ms, &nq), 0);
	expect_addrs(out, count, ADDRS("2001:db8::77"));
	cr_assert_eq(nq, 1);
}

/* Malformed replies (right id and question, a broken record): EAI_FAIL,
 * without waiting for a timeout; every round asks again. */
ZI_TEST(responder, malformed_reply_is_eai_fail, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert_eq(against(MALFORMED, ZI_LINUX_IP4, ZI_LINUX_IP4 ":5353", AF_INET, out, &count,
			     &ms, &nq), EAI_FAIL);
	cr_assert_eq(count, 0);
	cr_assert_eq(nq, TRIES, "one query per round, saw %d", nq);
	cr_assert_lt(ms, TMO, "took %lld ms: a malformed reply must not wait for the timeout",
		     (long long)ms);
}

/* Garbage does not match the query (id, question): dropped like any stray
 * datagram, so the lookup times out: EAI_AGAIN. */
ZI_TEST(responder, garbage_is_ignored, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert_eq(against(GARBAGE, ZI_LINUX_IP4, ZI_LINUX_IP4 ":5353", AF_INET, out, &count,
			     &ms, &nq), EAI_AGAIN);
	cr_assert_eq(nq, TRIES);
	cr_assert_geq(ms, (int64_t)TMO * TRIES - 10);
}

/* A good answer from the right address but another port is not accepted. */
ZI_TEST(responder, reply_from_wrong_port_is_ignored, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert_eq(against(WRONG_PORT, ZI_LINUX_IP4, ZI_LINUX_IP4 ":5353", AF_INET, out, &count,
			     &ms, &nq), EAI_AGAIN);
	cr_assert_geq(ms, (int64_t)TMO * TRIES - 10);
}

/* The first query is lost: the retry after one timeout gets the answer. */
ZI_TEST(responder, retry_after_a_lost_query, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert(TRIES >= 2, "needs dns_retries >= 2");
	cr_assert_eq(against(DROP_FIRST, ZI_LINUX_IP4, ZI_LINUX_IP4 ":5353", AF_INET, out, &count,
			     &ms, &nq), 0);
	expect_addrs(out, count, ADDRS("192.0.2.77"));
	cr_assert_eq(nq, 2);
	cr_assert_geq(ms, TMO - 10, "answered after %lld ms: the retry came early", (long long)ms);
	cr_assert_lt(ms, TMO + SLACK_MS);
}

ZI_TEST(responder, servfail_is_eai_again, .timeout = 60)
{
	struct zs_dns_addr out[8];
	int count, nq;
	int64_t ms;

	cr_assert_eq(against(SERVFAIL, ZI_LINUX_IP4, ZI_LINUX_IP4 ":5353", AF_INET, out, &count,
			     &ms, &nq), EAI_AGAIN);
	cr_assert_eq(nq, TRIES);
	cr_assert_lt(ms, TMO, "SERVFAIL must not wait for the timeout");
}

/* getaddrinfo for names goes through the DNS client (api/zsock/addrinfo.c). */
ZI_TEST(dnsmasq, getaddrinfo_names, .timeout = 60)
{
	struct zsock_addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char txt[64];
	int n = 0;

	dnsmasq_up();
	cr_assert_eq(setenv("ZSOCK_DNS", ZI_LINUX_IP4, 1), 0);
	cr_assert_eq(zsock_getaddrinfo("both.test", "80", &hints, &res), 0);
	for (ai = res; ai != NULL; ai = ai->ai_next, n++) {
		const void *a = ai->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		cr_assert_eq(ai->ai_socktype, SOCK_STREAM);
		cr_assert_eq(ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port), 80);
		zsock_inet_ntop(ai->ai_family, a, txt, sizeof(txt));
		cr_assert_str_eq(txt, n == 0 ? "2001:db8::20" : "192.0.2.20", "address %d", n);
	}
	cr_assert_eq(n, 2, "one AAAA and one A");
	zsock_freeaddrinfo(res);

	hints.ai_family = AF_INET6;
	hints.ai_flags = AI_V4MAPPED;
	cr_assert_eq(zsock_getaddrinfo("v4.test", "80", &hints, &res), 0);
	zsock_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, txt, sizeof(txt));
	cr_assert_str_eq(txt, "::ffff:192.0.2.10");
	cr_assert_null(res->ai_next);
	zsock_freeaddrinfo(res);

	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = 0;
	cr_assert_eq(zsock_getaddrinfo("nx.test", "80", &hints, &res), EAI_NONAME);
	cr_assert_null(res);
	hints.ai_flags = AI_NUMERICHOST;
	cr_assert_eq(zsock_getaddrinfo("v4.test", "80", &hints, &res), EAI_NONAME,
		     "AI_NUMERICHOST never asks DNS");
}

/* zsock_engine_set_dns() wins over ZSOCK_DNS; NULL goes back to it. */
ZI_TEST(dnsmasq, engine_set_dns, .timeout = 60)
{
	struct zsock_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res;
	char big[300];

	dnsmasq_up();
	cr_assert_eq(setenv("ZSOCK_DNS", "", 1), 0); /* the environment says: no DNS */
	res = NULL;
	cr_assert_eq(zsock_getaddrinfo("v4.test", "53", &hints, &res), EAI_NONAME);

	cr_assert_eq(zsock_engine_set_dns(ZI_LINUX_IP4), 0);
	cr_assert_eq(zsock_getaddrinfo("v4.test", "53", &hints, &res), 0, "the set list wins");
	cr_assert_eq(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr, htonl(0xc000020a));
	zsock_freeaddrinfo(res);

	cr_assert_eq(zsock_engine_set_dns("192.0.2.1,not-an-address"), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_getaddrinfo("v4.test", "53", &hints, &res), 0, "a bad list changes nothing");
	zsock_freeaddrinfo(res);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(zsock_engine_set_dns(big), -1);
	cr_assert_eq(errno, ENAMETOOLONG);

	cr_assert_eq(zsock_engine_set_dns(NULL), 0);
	res = NULL;
	cr_assert_eq(zsock_getaddrinfo("v4.test", "53", &hints, &res), EAI_NONAME,
		     "back to the environment's empty list");
}
