/*
 * zsock_getaddrinfo / freeaddrinfo / gai_strerror / getnameinfo without DNS
 * (api/zsock/addrinfo.c).
 *
 * The core is a differential test against the host libc (glibc on Debian):
 * each row of a table of tricky inputs runs through both, and the return
 * codes and result lists must agree. Rows where addrinfo.c documents a
 * deliberate difference carry our expected answer instead and say why.
 * Only inputs glibc answers without the network are compared (numeric
 * hosts, AI_NUMERICHOST, NI_NUMERICHOST), so no row depends on DNS.
 *
 * Every test ends by checking that the node pool is whole again: it takes
 * single nodes until EAI_MEMORY and counts them.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include "tests/common/checked_test.h"
#include <zsock/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define POOL_MAX CONFIG_ZSOCK_ADDRINFO_MAX

/* ---- helpers ----------------------------------------------------------- */

/* Take one-node lists until EAI_MEMORY; give them back; return the count. */
static int pool_free_count(void)
{
	static struct zsock_addrinfo *held[POOL_MAX + 1];
	struct zsock_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	int n = 0, rc, i;

	while (n <= POOL_MAX) {
		rc = zsock_getaddrinfo("192.0.2.1", "1", &hints, &held[n]);
		if (rc != 0) {
			cr_expect_eq(rc, EAI_MEMORY, "pool probe: %d", rc);
			break;
		}
		n++;
	}
	for (i = 0; i < n; i++)
		zsock_freeaddrinfo(held[i]);
	return n;
}

static void teardown(void)
{
	cr_expect_eq(pool_free_count(), POOL_MAX, "addrinfo pool leak");
}

TestSuite(addrinfo);
#define ATEST(name, ...) CHECKED_TEST(addrinfo, name, teardown, ##__VA_ARGS__)

/* One result as text: family/address/port/type/protocol/addrlen/scope/canon. */
static void fmt_one(char *out, size_t size, int family, const struct sockaddr *sa,
		    socklen_t len, int socktype, int protocol, const char *canon)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0, scope = 0;

	if (family == AF_INET && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		port = ntohs(sin->sin_port);
	} else if (family == AF_INET6 && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		port = ntohs(sin6->sin6_port);
		scope = sin6->sin6_scope_id;
	}
	snprintf(out, size, "%d/%s/%u/%d/%d/%u/%u/%s ", family == AF_INET ? 4 : family == AF_INET6 ? 6 : family,
		 a, port, socktype, protocol, (unsigned int)len, scope, canon ? canon : "-");
}

/* Our list as text; checks the node invariants on the way. */
static void fmt_ours(char *out, size_t size, const struct zsock_addrinfo *ai, int flags)
{
	size_t used = 0;

	out[0] = '\0';
	for (; ai != NULL; ai = ai->ai_next) {
		cr_assert_eq((void *)ai->ai_addr, (void *)&ai->_ai_addr, "ai_addr outside the node");
		cr_expect_eq(ai->ai_flags, flags);
		cr_expect_eq(ai->ai_addrlen, ai->ai_family == AF_INET ?
			     sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		fmt_one(out + used, size - used, ai->ai_family, ai->ai_addr, ai->ai_addrlen,
			ai->ai_socktype, ai->ai_protocol, ai->ai_canonname);
		used = strlen(out);
	}
}

/* glibc's list as text, without its SOCK_RAW entries (no raw sockets here). */
static void fmt_glibc(char *out, size_t size, const struct addrinfo *ai)
{
	size_t used = 0;
	const char *canon = NULL;

	out[0] = '\0';
	for (; ai != NULL; ai = ai->ai_next) {
		/* glibc names the first node; a dropped raw node cannot be first */
		if (ai->ai_canonname)
			canon = ai->ai_canonname;
		if (ai->ai_socktype == SOCK_RAW)
			continue;
		fmt_one(out + used, size - used, ai->ai_family, ai->ai_addr, ai->ai_addrlen,
			ai->ai_socktype, ai->ai_protocol, canon);
		canon = NULL;
		used = strlen(out);
	}
}

static int ours_text(const char *host, const char *serv, int family, int socktype,
		     int protocol, int flags, char *out, size_t size)
{
	struct zsock_addrinfo hints = {
		.ai_flags = flags, .ai_family = family,
		.ai_socktype = socktype, .ai_protocol = protocol,
	};
	struct zsock_addrinfo *res = (void *)1;
	int rc = zsock_getaddrinfo(host, serv, &hints, &res);

	out[0] = '\0';
	if (rc == 0) {
		cr_assert_not_null(res);
		fmt_ours(out, size, res, flags);
		zsock_freeaddrinfo(res);
	} else {
		cr_expect_null(res, "*res not cleared on error");
	}
	return rc;
}

static int glibc_text(const char *host, const char *serv, int family, int socktype,
		      int protocol, int flags, char *out, size_t size)
{
	struct addrinfo hints = {
		.ai_flags = flags, .ai_family = family,
		.ai_socktype = socktype, .ai_protocol = protocol,
	};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, serv, &hints, &res);

	out[0] = '\0';
	if (rc == 0) {
		fmt_glibc(out, size, res);
		freeaddrinfo(res);
	}
	return rc;
}

/* ---- the differential table --------------------------------------------- */

#define SAME NULL, 0, NULL	/* no deviation: compare with glibc */
#define T SOCK_STREAM
#define U SOCK_DGRAM
#define V4 AF_INET
#define V6 AF_INET6

struct gai_row {
	const char *host, *serv;
	int family, socktype, protocol, flags;
	const char *why;	/* NULL, or the documented deviation */
	int rc;			/* our answer when why != SAME */
	const char *list;	/* our list when why != SAME and rc == 0 */
};

static const struct gai_row gai_rows[] = {
	/* numeric IPv4 and IPv6 hosts, every socket type */
	{ "1.2.3.4", "80", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", NULL, 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "80", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "80", 0, U, 0, 0, SAME },
	{ "0.0.0.0", "0", 0, 0, 0, 0, SAME },
	{ "255.255.255.255", "65535", V4, U, 0, 0, SAME },
	{ "::1", "80", 0, 0, 0, 0, SAME },
	{ "::", "0", V6, T, 0, 0, SAME },
	{ "2001:db8::1", "443", 0, 0, 0, 0, SAME },
	{ "1:2:3:4:5:6:7:8", "1", 0, T, 0, 0, SAME },
	{ "::ffff:1.2.3.4", "80", 0, T, 0, 0, SAME },
	{ "::1.2.3.4", "80", 0, T, 0, 0, SAME },
	{ "FE80::ABCD", "80", 0, T, 0, 0, SAME },
	{ "fe80::1%1", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "fe80::1%4294967295", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "1.2.3.4", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "::1", "80", 0, T, 0, AI_NUMERICHOST | AI_NUMERICSERV, SAME },
	/* not addresses (with AI_NUMERICHOST so glibc does not ask DNS) */
	{ "", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "256.1.1.1", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "1.2.3.4.5", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ " 1.2.3.4", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "1.2.3.4 ", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ ":::", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "1::2::3", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "::1 ", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "[1.2.3.4]", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "foo.invalid", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "localhost", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	{ "fe80::1%", "80", 0, T, 0, AI_NUMERICHOST, SAME },
	/* ports */
	{ "1.2.3.4", "0", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "65535", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "00080", 0, T, 0, AI_NUMERICSERV, SAME },
	{ "1.2.3.4", "-1", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "80x", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "80x", 0, T, 0, AI_NUMERICSERV, SAME },
	{ "1.2.3.4", "0x50", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "80 ", 0, T, 0, 0, SAME },
	/* service names */
	{ "1.2.3.4", "echo", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "discard", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "sink", 0, U, 0, 0, SAME },
	{ "1.2.3.4", "ftp", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "ssh", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "ssh", 0, U, 0, 0, SAME },
	{ "1.2.3.4", "ssh", 0, 0, IPPROTO_UDP, 0, SAME },
	{ "1.2.3.4", "telnet", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "smtp", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "mail", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "domain", 0, 0, 0, 0, SAME },
	{ "::1", "http", 0, 0, 0, 0, SAME },
	{ "::1", "www", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "pop3", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "ntp", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "ntp", 0, T, 0, 0, SAME },
	{ "1.2.3.4", "imap", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "imap2", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "snmp", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "https", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "HTTP", 0, 0, 0, 0, SAME },
	{ "1.2.3.4", "http", 0, 0, 0, AI_NUMERICSERV, SAME },
	{ "1.2.3.4", "no-such-service", 0, 0, 0, 0, SAME },
	/* family */
	{ "1.2.3.4", "80", AF_UNIX, T, 0, 0, SAME },
	{ "1.2.3.4", "80", -1, T, 0, 0, SAME },
	{ "1.2.3.4", "80", 3, 9, 0, 0, SAME },
	{ "::1", "80", V4, T, 0, 0, SAME },
	{ "1.2.3.4", "80", V6, T, 0, 0, SAME },
	{ "1.2.3.4", "80", V6, T, 0, AI_V4MAPPED, SAME },
	{ "1.2.3.4", "80", V6, T, 0, AI_V4MAPPED | AI_ALL, SAME },
	{ "1.2.3.4", "80", V4, T, 0, AI_V4MAPPED, SAME },
	{ "::ffff:1.2.3.4", "80", V4, T, 0, 0, SAME },
	{ "::ffff:1.2.3.4", "80", V6, T, 0, AI_V4MAPPED, SAME },
	{ "::1", "80x", V4, T, 0, 0, SAME },
	{ "::1", "80x", V4, T, 0, AI_NUMERICSERV, SAME },
	/* socket type and protocol */
	{ "1.2.3.4", "80", 0, 9, 0, 0, SAME },
	{ "1.2.3.4", "80", 0, -1, 0, 0, SAME },
	{ "1.2.3.4", "80", 0, T | SOCK_NONBLOCK, 0, 0, SAME },
	{ "1.2.3.4", "80x", 0, 9, 0, 0, SAME },
	{ "1.2.3.4", "80", 0, T, IPPROTO_TCP, 0, SAME },
	{ "1.2.3.4", "80", 0, U, IPPROTO_UDP, 0, SAME },
	{ "1.2.3.4", "80", 0, T, IPPROTO_UDP, 0, SAME },
	{ "1.2.3.4", "80", 0, U, IPPROTO_TCP, 0, SAME },
	{ "1.2.3.4", "80", 0, T, 99, 0, SAME },
	{ "1.2.3.4", "80", 0, 0, IPPROTO_TCP, 0, SAME },
	{ "1.2.3.4", "80", 0, 0, IPPROTO_UDP, 0, SAME },
	{ "1.2.3.4", NULL, 0, 0, IPPROTO_TCP, 0, SAME },
	{ "1.2.3.4", "80", 0, 0, 99, 0, SAME },
	{ "1.2.3.4", "80", 0, 0, -1, 0, SAME },
	{ "1.2.3.4", "ssh", 0, 0, 99, 0, SAME },
	/* flags */
	{ "1.2.3.4", "80", 0, T, 0, 0x800, SAME },
	{ "1.2.3.4", "80", 0, T, 0, 0x10000, SAME },
	{ "1.2.3.4", "80", 3, T, 0, 0x800, SAME },
	{ "1.2.3.4", "80", 0, 0, 0, AI_CANONNAME, SAME },
	{ "2001:db8::1", NULL, 0, T, 0, AI_CANONNAME, SAME },
	{ "1.2.3.4", "80", 0, 0, 0, 0x7f & ~AI_ADDRCONFIG, SAME },
	{ "1.2.3.4", "80", 0, T, 0, AI_IDN | AI_CANONIDN | 0x300, SAME },
	{ NULL, "80", 0, T, 0, AI_CANONNAME, SAME },
	{ NULL, NULL, 0, 0, 0, 0, SAME },
	{ NULL, NULL, 0, 0, 0, AI_PASSIVE, SAME },
	{ NULL, NULL, 0, 0, 0, 0x800, SAME },
	{ NULL, NULL, 3, 9, 0, 0, SAME },
	/* NULL host: loopback, or the any-address with AI_PASSIVE */
	{ NULL, "80", 0, 0, 0, 0, SAME },
	{ NULL, "80", 0, T, 0, 0, SAME },
	{ NULL, "80", V4, T, 0, 0, SAME },
	{ NULL, "80", V6, U, 0, 0, SAME },
	{ NULL, "80", 0, 0, 0, AI_PASSIVE, SAME },
	{ NULL, "80", V4, T, 0, AI_PASSIVE, SAME },
	{ NULL, "80", V6, T, 0, AI_PASSIVE, SAME },
	{ NULL, "domain", 0, 0, 0, AI_PASSIVE | AI_NUMERICHOST, SAME },
	{ NULL, "80", V6, T, 0, AI_V4MAPPED, SAME },
	{ "LOCALHOST", "80", V4, T, 0, 0, SAME },

	/* ---- deviations (see the design comment of addrinfo.c) ---- */
	{ "[::1]", "80", 0, T, 0, 0, "brackets are accepted", 0, "6/::1/80/1/6/28/0/- " },
	{ "[fe80::1%2]", "80", V6, T, 0, AI_NUMERICHOST, "brackets are accepted", 0,
	  "6/fe80::1/80/1/6/28/2/- " },
	{ "[::1]", "80", 0, T, 0, AI_CANONNAME, "brackets are accepted", 0,
	  "6/::1/80/1/6/28/0/[::1] " },
	{ "[::1]", "80", V4, T, 0, 0, "brackets are accepted", EAI_ADDRFAMILY, NULL },
	{ "[::1", "80", 0, T, 0, AI_NUMERICHOST, "brackets are accepted", EAI_NONAME, NULL },
	{ "[]", "80", 0, T, 0, AI_NUMERICHOST, "brackets are accepted", EAI_NONAME, NULL },
	{ "127.1", "80", 0, T, 0, AI_NUMERICHOST, "inet_pton forms only", EAI_NONAME, NULL },
	{ "1.2.3", "80", 0, T, 0, AI_NUMERICHOST, "inet_pton forms only", EAI_NONAME, NULL },
	{ "010.1.1.1", "80", 0, T, 0, AI_NUMERICHOST, "inet_pton forms only", EAI_NONAME, NULL },
	{ "0x7f.0.0.1", "80", 0, T, 0, AI_NUMERICHOST, "inet_pton forms only", EAI_NONAME, NULL },
	{ "fe80::1%lo", "80", 0, T, 0, AI_NUMERICHOST, "decimal scope only", EAI_NONAME, NULL },
	{ "1.2.3.4", "65536", 0, T, 0, 0, "port > 65535", EAI_NONAME, NULL },
	{ "1.2.3.4", "99999", 0, T, 0, AI_NUMERICSERV, "port > 65535", EAI_NONAME, NULL },
	{ "1.2.3.4", "4294967376", 0, T, 0, 0, "port > 65535", EAI_NONAME, NULL },
	{ "1.2.3.4", "99999999999999999999", 0, T, 0, 0, "port > 65535", EAI_NONAME, NULL },
	{ "1.2.3.4", "-1", 0, T, 0, AI_NUMERICSERV, "digits only", EAI_NONAME, NULL },
	{ "1.2.3.4", " 80", 0, T, 0, 0, "digits only", EAI_SERVICE, NULL },
	{ "1.2.3.4", "+80", 0, T, 0, AI_NUMERICSERV, "digits only", EAI_NONAME, NULL },
	{ "1.2.3.4", "", 0, T, 0, 0, "digits only", EAI_SERVICE, NULL },
	{ "1.2.3.4", "", 0, T, 0, AI_NUMERICSERV, "digits only", EAI_NONAME, NULL },
	{ "1.2.3.4", "80", 0, SOCK_RAW, 0, 0, "TCP and UDP only", EAI_SOCKTYPE, NULL },
	{ "1.2.3.4", NULL, 0, SOCK_RAW, 0, 0, "TCP and UDP only", EAI_SOCKTYPE, NULL },
	{ "1.2.3.4", "80", 0, SOCK_SEQPACKET, 0, 0, "TCP and UDP only", EAI_SOCKTYPE, NULL },
	{ "1.2.3.4", "80", 0, U, IPPROTO_UDPLITE, 0, "TCP and UDP only", EAI_SOCKTYPE, NULL },
	{ "1.2.3.4", NULL, 0, 0, 99, 0, "TCP and UDP only", EAI_SERVICE, NULL },
	{ "1.2.3.4", "mqtt", 0, 0, 0, 0, "IANA names", 0,
	  "4/1.2.3.4/1883/1/6/16/0/- 4/1.2.3.4/1883/2/17/16/0/- " },
	{ "1.2.3.4", "secure-mqtt", 0, T, 0, 0, "IANA names", 0, "4/1.2.3.4/8883/1/6/16/0/- " },
	{ "::1", "coap", 0, U, 0, 0, "IANA names", 0, "6/::1/5683/2/17/28/0/- " },
	{ "localhost", "80", 0, T, 0, 0, "localhost is both loopbacks", 0,
	  "6/::1/80/1/6/28/0/- 4/127.0.0.1/80/1/6/16/0/- " },
	{ "localhost", "80", V6, T, 0, AI_CANONNAME, "localhost is both loopbacks", 0,
	  "6/::1/80/1/6/28/0/localhost " },
	{ "localhost.", "80", 0, T, 0, 0, "no DNS", EAI_NONAME, NULL },
	{ "example.invalid", "80", 0, T, 0, 0, "no DNS", EAI_NONAME, NULL },
	{ "example.invalid", "80x", 0, T, 0, 0, "no DNS", EAI_SERVICE, NULL },
};

static const char *show(const char *s)
{
	return s ? s : "(null)";
}

ATEST(differential_getaddrinfo)
{
	char ours[1024], theirs[1024];
	size_t i;
	int same = 0, deviations = 0;

	for (i = 0; i < sizeof(gai_rows) / sizeof(gai_rows[0]); i++) {
		const struct gai_row *r = &gai_rows[i];
		int rc = ours_text(r->host, r->serv, r->family, r->socktype, r->protocol,
				   r->flags, ours, sizeof(ours));

		if (r->why == NULL) {
			int grc = glibc_text(r->host, r->serv, r->family, r->socktype,
					     r->protocol, r->flags, theirs, sizeof(theirs));

			cr_expect_eq(rc, grc, "row %zu [%s][%s] f%d t%d p%d fl%#x: rc %d, glibc %d",
				     i, show(r->host), show(r->serv), r->family, r->socktype,
				     r->protocol, r->flags, rc, grc);
			cr_expect_str_eq(ours, theirs, "row %zu [%s][%s]: list differs",
					 i, show(r->host), show(r->serv));
			same++;
		} else {
			cr_expect_eq(rc, r->rc, "row %zu [%s][%s] (%s): rc %d, want %d",
				     i, show(r->host), show(r->serv), r->why, rc, r->rc);
			cr_expect_str_eq(ours, r->list ? r->list : "", "row %zu [%s][%s] (%s)",
					 i, show(r->host), show(r->serv), r->why);
			deviations++;
		}
	}
	cr_log_info("getaddrinfo: %d rows equal to glibc, %d documented deviations",
		    same, deviations);
}

/* Spot checks written out by hand, so the formatter is not trusted blindly. */
ATEST(result_fields)
{
	struct zsock_addrinfo hints = { .ai_socktype = SOCK_DGRAM };
	struct zsock_addrinfo *res = NULL;
	const struct sockaddr_in6 *sin6;

	cr_assert_eq(zsock_getaddrinfo("2001:db8::5", "5683", &hints, &res), 0);
	cr_assert_not_null(res);
	cr_expect_null(res->ai_next);
	cr_expect_eq(res->ai_family, AF_INET6);
	cr_expect_eq(res->ai_socktype, SOCK_DGRAM);
	cr_expect_eq(res->ai_protocol, IPPROTO_UDP);
	cr_expect_eq(res->ai_addrlen, sizeof(struct sockaddr_in6));
	cr_expect_null(res->ai_canonname);
	sin6 = (const struct sockaddr_in6 *)res->ai_addr;
	cr_expect_eq(sin6->sin6_family, AF_INET6);
	cr_expect_eq(((const uint8_t *)&sin6->sin6_port)[0], 5683 >> 8, "port not network order");
	cr_expect_eq(((const uint8_t *)&sin6->sin6_port)[1], 5683 & 0xff);
	cr_expect_eq(sin6->sin6_addr.s6_addr[0], 0x20);
	cr_expect_eq(sin6->sin6_addr.s6_addr[15], 5);
	zsock_freeaddrinfo(res);

	/* hints NULL: both socket types, both with the port */
	cr_assert_eq(zsock_getaddrinfo("10.0.0.1", "http", NULL, &res), 0);
	cr_expect_eq(res->ai_socktype, SOCK_STREAM);
	cr_expect_null(res->ai_next, "http is TCP only");
	zsock_freeaddrinfo(res);
	cr_assert_eq(zsock_getaddrinfo("10.0.0.1", "53", NULL, &res), 0);
	cr_assert_not_null(res->ai_next);
	cr_expect_eq(res->ai_next->ai_socktype, SOCK_DGRAM);
	cr_expect_eq(((const struct sockaddr_in *)res->ai_next->ai_addr)->sin_port, htons(53));
	cr_expect_null(res->ai_next->ai_next);
	zsock_freeaddrinfo(res);
}

ATEST(null_res_is_eai_system)
{
	errno = 0;
	cr_expect_eq(zsock_getaddrinfo("1.2.3.4", "80", NULL, NULL), EAI_SYSTEM);
	cr_expect_eq(errno, EFAULT);
}

/* ---- gai_strerror ------------------------------------------------------- */

ATEST(gai_strerror_every_code)
{
	static const int codes[] = {
		EAI_BADFLAGS, EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_NODATA, EAI_FAMILY,
		EAI_SOCKTYPE, EAI_SERVICE, EAI_ADDRFAMILY, EAI_MEMORY, EAI_SYSTEM,
		EAI_OVERFLOW, EAI_INPROGRESS, EAI_CANCELED, EAI_NOTCANCELED,
		EAI_ALLDONE, EAI_INTR, EAI_IDN_ENCODE,
	};
	static const int unknown[] = { 0, 1, -13, -99, -106, -1000, INT_MIN, INT_MAX };
	const size_t n = sizeof(codes) / sizeof(codes[0]);
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *s = zsock_gai_strerror(codes[i]);

		cr_assert_not_null(s, "code %d", codes[i]);
		cr_expect_gt(strlen(s), 0);
		cr_expect_str_neq(s, "Unknown error", "code %d has no text", codes[i]);
		/* glibc knows the same codes (its table misses EAI_OVERFLOW) */
		if (codes[i] != EAI_OVERFLOW)
			cr_expect_str_neq(gai_strerror(codes[i]), "Unknown error", "code %d",
					  codes[i]);
		for (j = 0; j < i; j++)
			cr_expect_str_neq(s, zsock_gai_strerror(codes[j]), "%d and %d share a text",
					  codes[i], codes[j]);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cr_expect_str_eq(zsock_gai_strerror(unknown[i]), "Unknown error", "%d", unknown[i]);
		cr_expect_str_eq(gai_strerror(unknown[i]), "Unknown error", "glibc %d", unknown[i]);
	}
}

/* ---- the pool ------------------------------------------------------------- */

ATEST(freeaddrinfo_null)
{
	zsock_freeaddrinfo(NULL);
}

ATEST(pool_exhaustion_and_recovery)
{
	static struct zsock_addrinfo *lists[POOL_MAX];
	struct zsock_addrinfo hints = { .ai_family = AF_INET };	/* 2 nodes a list */
	struct zsock_addrinfo *one, *res = (void *)1;
	int n = 0, i;

	while (n < POOL_MAX && zsock_getaddrinfo("192.0.2.7", "7", &hints, &lists[n]) == 0)
		n++;
	cr_expect_eq(n, POOL_MAX / 2);
	cr_expect_eq(zsock_getaddrinfo("192.0.2.7", "7", &hints, &res), EAI_MEMORY);
	cr_expect_null(res);
	if (POOL_MAX % 2 == 1) {
		/* all or nothing: the failed call left the last node free */
		hints.ai_socktype = SOCK_STREAM;
		cr_expect_eq(zsock_getaddrinfo("192.0.2.7", "7", &hints, &one), 0);
		zsock_freeaddrinfo(one);
		hints.ai_socktype = 0;
	}
	zsock_freeaddrinfo(lists[0]);
	cr_expect_eq(zsock_getaddrinfo("192.0.2.7", "7", &hints, &lists[0]), 0, "no recovery");
	for (i = 0; i < n; i++)
		zsock_freeaddrinfo(lists[i]);
	cr_expect_eq(pool_free_count(), POOL_MAX);
	/* and the whole pool can be one list's worth again */
	for (i = 0; i < n; i++)
		cr_expect_eq(zsock_getaddrinfo("::1", "7", NULL, &lists[i]), 0);
	for (i = 0; i < n; i++)
		zsock_freeaddrinfo(lists[i]);
}

ATEST(freeaddrinfo_misuse_keeps_pool)
{
	struct zsock_addrinfo foreign = { 0 };
	struct zsock_addrinfo *res, *res2;

	/* a node that is not the pool's: ignored */
	foreign.ai_next = NULL;
	zsock_freeaddrinfo(&foreign);
	cr_expect_eq(pool_free_count(), POOL_MAX);

	/* a pointer into the middle of a pool node: ignored, list still taken */
	cr_assert_eq(zsock_getaddrinfo("1.2.3.4", "80", NULL, &res), 0);
	zsock_freeaddrinfo((struct zsock_addrinfo *)((char *)res + 8));
	cr_expect_eq(pool_free_count(), POOL_MAX - 2);

	/* a list ending in a foreign node: the pool part is returned */
	res->ai_next->ai_next = &foreign;
	foreign.ai_next = res;	/* and a cycle behind it */
	zsock_freeaddrinfo(res);
	cr_expect_eq(pool_free_count(), POOL_MAX);

	/* double free: the second one must not free another caller's nodes */
	cr_assert_eq(zsock_getaddrinfo("1.2.3.4", "80", NULL, &res), 0);
	zsock_freeaddrinfo(res);
	cr_assert_eq(zsock_getaddrinfo("5.6.7.8", "80", NULL, &res2), 0);
	if (res2 != res)
		zsock_freeaddrinfo(res);	/* res is free now: ignored */
	cr_expect_eq(pool_free_count(), POOL_MAX - 2, "double free took a live list");
	cr_expect_eq(((struct sockaddr_in *)res2->ai_addr)->sin_addr.s_addr,
		     inet_addr("5.6.7.8"));
	zsock_freeaddrinfo(res2);
}

static void *pool_thread(void *arg)
{
	int i, bad = 0;

	(void)arg;
	for (i = 0; i < 20000; i++) {
		struct zsock_addrinfo *res;
		int rc = zsock_getaddrinfo("::1", "80", NULL, &res);

		if (rc == 0) {
			if (res->ai_next == NULL || res->ai_family != AF_INET6)
				bad++;
			zsock_freeaddrinfo(res);
		} else if (rc != EAI_MEMORY) {
			bad++;
		}
	}
	return (void *)(intptr_t)bad;
}

ATEST(pool_threads)
{
	pthread_t t[4];
	void *bad;
	int i;

	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, pool_thread, NULL), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &bad);
		cr_expect_null(bad, "thread %d saw a broken list", i);
	}
}

/* ---- getnameinfo ------------------------------------------------------------ */

static socklen_t make_sa(struct sockaddr_storage *ss, const char *addr, unsigned int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
}

ATEST(differential_getnameinfo)
{
	static const char *addrs[] = {
		"1.2.3.4", "0.0.0.0", "255.255.255.255", "127.0.0.1", "::", "::1",
		"2001:db8::1", "::ffff:10.1.2.3", "::10.1.2.3", "fe80::1:2:3:4",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	/* ports where Debian's /etc/services has no name beyond our table */
	static const unsigned int ports[] = {
		0, 7, 9, 22, 23, 25, 53, 80, 110, 123, 143, 161, 443, 12345, 65535,
	};
	static const int flagsets[] = {
		NI_NUMERICHOST, NI_NUMERICHOST | NI_NUMERICSERV, NI_NUMERICHOST | NI_DGRAM,
		NI_NUMERICHOST | NI_DGRAM | NI_NUMERICSERV, NI_NUMERICHOST | NI_NOFQDN,
		NI_NUMERICHOST | 0x100, NI_NUMERICHOST | 0x40000,
	};
	struct sockaddr_storage ss;
	size_t a, p, f;
	int rows = 0;

	for (a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
		for (p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
			for (f = 0; f < sizeof(flagsets) / sizeof(flagsets[0]); f++) {
				char h1[NI_MAXHOST], s1[NI_MAXSERV], h2[NI_MAXHOST], s2[NI_MAXSERV];
				socklen_t len = make_sa(&ss, addrs[a], ports[p]);
				int rc1, rc2;

				memset(h1, 0, sizeof(h1));
				memset(s1, 0, sizeof(s1));
				memset(h2, 0, sizeof(h2));
				memset(s2, 0, sizeof(s2));
				rc1 = zsock_getnameinfo((struct sockaddr *)&ss, len, h1, sizeof(h1),
							s1, sizeof(s1), flagsets[f]);
				rc2 = getnameinfo((struct sockaddr *)&ss, len, h2, sizeof(h2),
						  s2, sizeof(s2), flagsets[f]);
				cr_expect_eq(rc1, rc2, "%s port %u flags %#x: %d, glibc %d",
					     addrs[a], ports[p], flagsets[f], rc1, rc2);
				cr_expect_str_eq(h1, h2, "%s port %u flags %#x", addrs[a], ports[p],
						 flagsets[f]);
				cr_expect_str_eq(s1, s2, "%s port %u flags %#x", addrs[a], ports[p],
						 flagsets[f]);
				rows++;
			}
		}
	}
	/* short or mismatched salen, unknown family: EAI_FAMILY in both */
	{
		static const struct { const char *addr; int delta; int family; } odd[] = {
			{ "1.2.3.4", -1, 0 }, { "1.2.3.4", 1, 0 }, { "::1", -1, 0 },
			{ "::1", -4, 0 }, { "1.2.3.4", 0, AF_INET6 }, { "::1", 0, AF_INET },
			{ "1.2.3.4", 0, 3 /* AF_AX25 */ }, { "1.2.3.4", 0, AF_UNSPEC },
		};
		for (a = 0; a < sizeof(odd) / sizeof(odd[0]); a++) {
			char h1[64] = "", s1[32] = "", h2[64] = "", s2[32] = "";
			socklen_t len = make_sa(&ss, odd[a].addr, 80);
			int rc1, rc2;

			len = (socklen_t)((int)len + odd[a].delta);
			if (odd[a].family != 0)
				ss.ss_family = (sa_family_t)odd[a].family;
			rc1 = zsock_getnameinfo((struct sockaddr *)&ss, len, h1, sizeof(h1), s1,
						sizeof(s1), NI_NUMERICHOST);
			rc2 = getnameinfo((struct sockaddr *)&ss, len, h2, sizeof(h2), s2,
					  sizeof(s2), NI_NUMERICHOST);
			cr_expect_eq(rc1, rc2, "odd row %zu: %d, glibc %d", a, rc1, rc2);
			cr_expect_str_eq(h1, h2, "odd row %zu", a);
			cr_expect_str_eq(s1, s2, "odd row %zu", a);
			rows++;
		}
	}
	cr_log_info("getnameinfo: %d cases equal to glibc", rows);
}

/* Deviations: no reverse DNS; POSIX's EAI_NONAME when nothing is asked for. */
ATEST(getnameinfo_documented)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(&ss, "127.0.0.1", 1883);
	char h[64], s[32];

	/* without NI_NUMERICHOST still numeric (glibc: "localhost") */
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), s,
				       sizeof(s), 0), 0);
	cr_expect_str_eq(h, "127.0.0.1");
	cr_expect_str_eq(s, "mqtt");	/* IANA name, not in Debian's services */
	len = make_sa(&ss, "::1", 5683);
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), s,
				       sizeof(s), NI_DGRAM), 0);
	cr_expect_str_eq(h, "::1");
	cr_expect_str_eq(s, "coap");
	len = make_sa(&ss, "::1", 8883);
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, NULL, 0, s, sizeof(s), 0), 0);
	cr_expect_str_eq(s, "secure-mqtt");

	/* NI_NAMEREQD: no reverse lookup, so never a name */
	memset(h, 'x', sizeof(h));
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), s,
				       sizeof(s), NI_NAMEREQD), EAI_NONAME);
	cr_expect_eq(h[0], 'x', "written on error");
	/* ... but it only concerns the host */
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, NULL, 0, s, sizeof(s),
				       NI_NAMEREQD), 0);

	/* both parts skipped */
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, NULL, 0, NULL, 0, 0),
		     EAI_NONAME);
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, 0, s, 0, 0), EAI_NONAME);
	/* one part skipped */
	memset(s, 'x', sizeof(s));
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), s, 0, 0), 0);
	cr_expect_str_eq(h, "::1");
	cr_expect_eq(s[0], 'x');
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), NULL, 5, 0), 0);

	/* AF_UNIX is not an address family here (glibc prints the path) */
	ss.ss_family = AF_UNIX;
	cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), s, sizeof(s),
				       0), EAI_FAMILY);

	/* sa NULL */
	cr_expect_eq(zsock_getnameinfo(NULL, 16, h, sizeof(h), s, sizeof(s), 0), EAI_FAIL);
}

/* Every buffer size below the needed one: EAI_OVERFLOW, nothing written. */
static void overflow_case(const char *addr, unsigned int port, int flags)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(&ss, addr, port);
	char hfull[NI_MAXHOST], sfull[NI_MAXSERV], h[NI_MAXHOST], s[NI_MAXSERV];
	size_t hneed, sneed, n;

	cr_assert_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, hfull, sizeof(hfull), sfull,
				       sizeof(sfull), flags), 0);
	hneed = strlen(hfull) + 1;
	sneed = strlen(sfull) + 1;
	for (n = 1; n <= hneed; n++) {
		int want = n < hneed ? EAI_OVERFLOW : 0;
		char gh[NI_MAXHOST];
		int grc;

		memset(h, '#', sizeof(h));
		memset(s, '#', sizeof(s));
		cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, (socklen_t)n, s,
					       sizeof(s), flags), want, "%s host len %zu", addr, n);
		if (want) {
			cr_expect_eq(h[0], '#', "%s: host written on overflow", addr);
			cr_expect_eq(s[0], '#', "%s: serv written on overflow", addr);
		} else {
			cr_expect_str_eq(h, hfull);
			cr_expect_str_eq(s, sfull);
		}
		cr_expect_eq(h[n], '#', "%s: wrote past hostlen %zu", addr, n);
		/* glibc agrees on the code (the host part only, numeric) */
		grc = getnameinfo((struct sockaddr *)&ss, len, gh, (socklen_t)n, NULL, 0,
				  flags | NI_NUMERICHOST);
		cr_expect_eq(grc, want, "glibc %s host len %zu: %d", addr, n, grc);
	}
	for (n = 1; n <= sneed; n++) {
		int want = n < sneed ? EAI_OVERFLOW : 0;
		char gs[NI_MAXSERV];
		int grc;

		memset(h, '#', sizeof(h));
		memset(s, '#', sizeof(s));
		cr_expect_eq(zsock_getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), s,
					       (socklen_t)n, flags), want, "%s serv len %zu", addr, n);
		if (want) {
			cr_expect_eq(h[0], '#', "%s: host written on overflow", addr);
			cr_expect_eq(s[0], '#', "%s: serv written on overflow", addr);
		}
		cr_expect_eq(s[n], '#', "%s: wrote past servlen %zu", addr, n);
		if (port != 1883) {
			grc = getnameinfo((struct sockaddr *)&ss, len, NULL, 0, gs, (socklen_t)n,
					  flags | NI_NUMERICHOST);
			cr_expect_eq(grc, want, "glibc %s serv len %zu: %d", addr, n, grc);
		}
	}
}

ATEST(getnameinfo_overflow_every_size)
{
	overflow_case("1.2.3.4", 80, 0);
	overflow_case("255.255.255.255", 65535, NI_NUMERICSERV);
	overflow_case("::1", 12345, NI_NUMERICHOST);
	overflow_case("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 443, NI_DGRAM);
	overflow_case("::ffff:255.255.255.255", 0, 0);
	overflow_case("2001:db8::1", 1883, 0);
}
