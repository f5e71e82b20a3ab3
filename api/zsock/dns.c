/*
 * The engine's DNS client: A and AAAA lookups for zsock_getaddrinfo().
 *
 * It is an application of the engine: queries go out on zsock UDP sockets
 * from the calling thread (zsock_socket, zsock_sendto, zsock_poll,
 * zsock_recvfrom), so they take whatever interface routes to the server
 * (a TAP, loopback). Nothing is allocated: the queries, the receive buffer
 * and the answers live on the caller's stack (about 3 KiB).
 *
 * Servers. The list given to zsock_engine_set_dns(), else the environment
 * variable ZSOCK_DNS, read at every lookup, else the build option
 * dns_servers (CONFIG_ZSOCK_DNS_SERVERS): a comma
 * separated list of up to ZS_DNS_MAX_SERVERS entries (more are ignored),
 * each "A.B.C.D", "A.B.C.D:PORT", "V6ADDR" or "[V6ADDR]:PORT" (port 53 when
 * none is given; blanks around entries are ignored). An empty list means
 * no DNS: every name gives EAI_NONAME, as before this client existed. A
 * list with a malformed entry gives EAI_FAIL (a configuration error is not
 * hidden behind a half-used list).
 *
 * Transport and timing. One UDP socket per server family, bound to a
 * random port in 49152..65535 (lwIP's own ephemeral ports are sequential),
 * opened for the lookup and closed at its end. Every query gets a random
 * id (zs_port_random). For AF_UNSPEC the A and AAAA queries are sent
 * together, as glibc does, so they share the waits. Tries: for each of
 * CONFIG_ZSOCK_DNS_RETRIES rounds, each server in list order in turn gets
 * the queries still unanswered and CONFIG_ZSOCK_DNS_TIMEOUT_MS to answer
 * them; a reply that settles every query ends the wait at once. With no
 * answer at all a lookup thus takes servers * retries * timeout (2 x 2 s
 * for one server by default) and then gives EAI_AGAIN. A reply is
 * accepted only from an address and port the query was sent to, with the
 * query's id and question (zs_dns_reply_matches); other datagrams are
 * dropped and the wait goes on. Late replies from an earlier server or
 * round are still accepted while a later one is waited for.
 *
 * Outcome of one query (zs_dns_parse_reply): addresses, NODATA or
 * NXDOMAIN are final, whichever server says so. SERVFAIL, REFUSED, other
 * rcodes, a malformed reply or one with TC set (no TCP fallback) count as
 * that server failing for this round: the next server is asked at once.
 * When no server gives a final answer the query fails with EAI_FAIL if
 * every try got a failing reply that was not SERVFAIL, and EAI_AGAIN if any
 * try timed out (or could not be sent) or got SERVFAIL.
 *
 * AF_UNSPEC combines the two: addresses from either make a success (A
 * results first, then AAAA: a fixed order; getaddrinfo may sort them),
 * even if the other type got NXDOMAIN (as glibc does).
 * Otherwise NXDOMAIN from either gives EAI_NONAME, then EAI_AGAIN if either
 * is EAI_AGAIN, then EAI_FAIL, and NODATA for both gives EAI_NONAME.
 *
 * Not done: search domains, /etc/resolv.conf, EDNS0, TCP, DNSSEC, caching.
 */
#define _GNU_SOURCE /* EAI_* beyond POSIX in <netdb.h> */
#include "dns.h"

#include <zsock/engine.h>
#include <zsock/socket.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/port/port.h"

#ifndef CONFIG_ZSOCK_DNS_SERVERS
#define CONFIG_ZSOCK_DNS_SERVERS ""
#endif
#ifndef CONFIG_ZSOCK_DNS_TIMEOUT_MS
#define CONFIG_ZSOCK_DNS_TIMEOUT_MS 2000
#endif
#ifndef CONFIG_ZSOCK_DNS_RETRIES
#define CONFIG_ZSOCK_DNS_RETRIES 2
#endif

#define CNAME_MAX_LINKS 8
#define RX_BUF_SIZE 1500 /* replies above 512 bytes (no EDNS asked) are not expected */

/* ---- wire helpers ------------------------------------------------------- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* A name in wire form, lower case, with its final 0 label. */
struct dname {
	uint8_t b[255];
	size_t n;
};

static bool dname_eq(const struct dname *a, const struct dname *b)
{
	return a->n == b->n && memcmp(a->b, b->b, a->n) == 0;
}

/*
 * Read the possibly compressed name at *off into out; *off moves past the
 * name's bytes in place (after its first pointer or final 0). Every pointer
 * must point below the previous one (the first below itself) and not into
 * the header, so following pointers always ends. Returns false if malformed.
 */
static bool read_name(const uint8_t *msg, size_t len, size_t *off, struct dname *out)
{
	size_t pos = *off, limit = 0, end = 0;
	bool jumped = false;

	out->n = 0;
	for (;;) {
		uint8_t b;

		if (pos >= len)
			return false;
		b = msg[pos];
		if ((b & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return false;
			target = ((size_t)(b & 0x3f) << 8) | msg[pos + 1];
			if (target < 12 || target >= (jumped ? limit : pos))
				return false;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			limit = target;
			pos = target;
			continue;
		}
		if ((b & 0xc0) != 0)
			return false; /* 01 and 10 label types */
		if (b == 0) {
			if (out->n + 1 > sizeof(out->b))
				return false;
			out->b[out->n++] = 0;
			if (!jumped)
				end = pos + 1;
			*off = end;
			return true;
		}
		if (len - pos - 1 < b)
			return false;
		if (out->n + 1 + b + 1 > sizeof(out->b))
			return false;
		out->b[out->n++] = b;
		for (size_t i = 0; i < b; i++)
			out->b[out->n++] = lower(msg[pos + 1 + i]);
		pos += 1 + (size_t)b;
	}
}

/* ---- query --------------------------------------------------------------- */

int zs_dns_build_query(uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t qtype)
{
	size_t nlen, pos = 12, need;
	const char *p;

	if (name == NULL)
		return EAI_NONAME;
	nlen = strlen(name);
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (nlen == 0 || nlen > 253)
		return EAI_NONAME;
	/* labels must be 1..63 bytes */
	p = name;
	while (p < name + nlen) {
		const char *dot = memchr(p, '.', (size_t)(name + nlen - p));
		size_t l = dot != NULL ? (size_t)(dot - p) : (size_t)(name + nlen - p);

		if (l == 0 || l > 63)
			return EAI_NONAME;
		p += l + (dot != NULL ? 1 : 0);
		if (dot != NULL && p == name + nlen)
			return EAI_NONAME; /* "a..": an empty label before the final dot */
	}
	need = 12 + nlen + 2 + 4; /* header, length bytes and labels, 0, type, class */
	if (buf == NULL || len < need)
		return EAI_OVERFLOW;

	put16(buf, id);
	put16(buf + 2, 0x0100); /* RD */
	put16(buf + 4, 1);
	put16(buf + 6, 0);
	put16(buf + 8, 0);
	put16(buf + 10, 0);
	p = name;
	while (p < name + nlen) {
		const char *dot = memchr(p, '.', (size_t)(name + nlen - p));
		size_t l = dot != NULL ? (size_t)(dot - p) : (size_t)(name + nlen - p);

		buf[pos++] = (uint8_t)l;
		memcpy(buf + pos, p, l);
		pos += l;
		p += l + 1;
	}
	buf[pos++] = 0;
	put16(buf + pos, qtype);
	put16(buf + pos + 2, ZS_DNS_CLASS_IN);
	pos += 4;
	return (int)pos;
}

int zs_dns_reply_matches(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen)
{
	if (msg == NULL || query == NULL || len < qlen || qlen < 12 + 1 + 4)
		return 0;
	if (get16(msg) != get16(query) || (msg[2] & 0x80) == 0 || get16(msg + 4) != 1)
		return 0;
	/* the question as the query has it: an uncompressed name (a pointer at
	 * offset 12 could only point into the header), letters in any case,
	 * then type and class, exactly (0x61 is not 0x41 there) */
	for (size_t i = 12; i < qlen - 4; i++) {
		if (lower(msg[i]) != lower(query[i]))
			return 0;
	}
	return memcmp(msg + qlen - 4, query + qlen - 4, 4) == 0;
}

/* ---- reply ---------------------------------------------------------------- */

struct rr {
	struct dname owner;
	uint16_t type, class;
	size_t rdata, rdlen;
};

/* Read the resource record at *off; false if it runs past the end. */
static bool read_rr(const uint8_t *msg, size_t len, size_t *off, struct rr *rr)
{
	if (!read_name(msg, len, off, &rr->owner))
		return false;
	if (len - *off < 10)
		return false;
	rr->type = get16(msg + *off);
	rr->class = get16(msg + *off + 2);
	rr->rdlen = get16(msg + *off + 8);
	rr->rdata = *off + 10;
	if (len - rr->rdata < rr->rdlen)
		return false;
	*off = rr->rdata + rr->rdlen;
	return true;
}

/* The CNAME target in rr's data, which it must fill exactly. */
static bool cname_target(const uint8_t *msg, const struct rr *rr, struct dname *out)
{
	size_t end = rr->rdata + rr->rdlen, off = rr->rdata;

	/* names inside the data are read within the data's bounds, but may
	 * point back anywhere earlier in the message */
	if (!read_name(msg, end, &off, out))
		return false;
	return off == end;
}

int zs_dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, uint16_t qtype,
		       struct zs_dns_addr *out, int max, int *count)
{
	struct dname target;
	struct rr rr;
	size_t off, answers;
	uint16_t flags, ancount;
	int links, n = 0;

	if (count != NULL)
		*count = 0;
	if (msg == NULL || count == NULL || (out == NULL && max > 0) ||
	    (qtype != ZS_DNS_TYPE_A && qtype != ZS_DNS_TYPE_AAAA))
		return EAI_FAIL;
	if (len < 12 || get16(msg) != id)
		return EAI_FAIL;
	flags = get16(msg + 2);
	if ((flags & 0x8000) == 0 || (flags & 0x7800) != 0 || (flags & 0x0200) != 0)
		return EAI_FAIL; /* not a response, not QUERY, truncated */
	if (get16(msg + 4) != 1)
		return EAI_FAIL;
	ancount = get16(msg + 6);

	off = 12;
	if (!read_name(msg, len, &off, &target) || len - off < 4)
		return EAI_FAIL;
	if (get16(msg + off) != qtype || get16(msg + off + 2) != ZS_DNS_CLASS_IN)
		return EAI_FAIL;
	off += 4;

	switch (flags & 0x000f) {
	case 0:
		break;
	case 2:
		return EAI_AGAIN; /* SERVFAIL */
	case 3:
		return EAI_NONAME; /* NXDOMAIN */
	default:
		return EAI_FAIL; /* FORMERR, NOTIMP, REFUSED, ... */
	}

	/* every answer record must be well formed, whether used or not */
	answers = off;
	for (unsigned i = 0; i < ancount; i++) {
		if (!read_rr(msg, len, &off, &rr))
			return EAI_FAIL;
		if (rr.class != ZS_DNS_CLASS_IN)
			continue;
		if ((rr.type == ZS_DNS_TYPE_A && rr.rdlen != 4) ||
		    (rr.type == ZS_DNS_TYPE_AAAA && rr.rdlen != 16))
			return EAI_FAIL;
		if (rr.type == ZS_DNS_TYPE_CNAME) {
			struct dname t;

			if (!cname_target(msg, &rr, &t))
				return EAI_FAIL;
		}
	}

	/* follow the CNAME chain from the question's name */
	for (links = 0;; links++) {
		bool found = false;

		off = answers;
		for (unsigned i = 0; i < ancount && !found; i++) {
			(void)read_rr(msg, len, &off, &rr); /* checked above */
			if (rr.class == ZS_DNS_CLASS_IN && rr.type == ZS_DNS_TYPE_CNAME &&
			    dname_eq(&rr.owner, &target)) {
				(void)cname_target(msg, &rr, &target);
				found = true;
			}
		}
		if (!found)
			break;
		if (links == CNAME_MAX_LINKS)
			return EAI_FAIL; /* a loop, or too long */
	}

	off = answers;
	for (unsigned i = 0; i < ancount && n < max; i++) {
		(void)read_rr(msg, len, &off, &rr);
		if (rr.class != ZS_DNS_CLASS_IN || rr.type != qtype || !dname_eq(&rr.owner, &target))
			continue;
		out[n].family = qtype == ZS_DNS_TYPE_A ? AF_INET : AF_INET6;
		memset(out[n].addr, 0, sizeof(out[n].addr));
		memcpy(out[n].addr, msg + rr.rdata, rr.rdlen);
		n++;
	}
	*count = n;
	return n > 0 ? 0 : EAI_NONAME;
}

/* ---- servers ---------------------------------------------------------------- */

struct server {
	struct sockaddr_storage sa;
	socklen_t salen;
};

static bool parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* One entry (not NUL-terminated, blanks trimmed) into srv. */
static bool parse_server(const char *s, size_t n, struct server *srv)
{
	char host[64];
	const char *h = s, *port_s = NULL;
	size_t hlen = n, plen = 0;
	bool bracket = false;
	uint16_t port = 53;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		size_t rest;

		if (rb == NULL)
			return false;
		bracket = true;
		h = s + 1;
		hlen = (size_t)(rb - h);
		rest = n - (size_t)(rb + 1 - s);
		if (rest > 0) {
			if (rb[1] != ':')
				return false;
			port_s = rb + 2;
			plen = rest - 1;
		}
	} else {
		const char *colon = memchr(s, ':', n);

		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) == NULL) {
			/* exactly one colon: A.B.C.D:PORT */
			hlen = (size_t)(colon - s);
			port_s = colon + 1;
			plen = n - hlen - 1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (port_s != NULL && !parse_port(port_s, plen, &port))
		return false;

	memset(&srv->sa, 0, sizeof(srv->sa));
	if (!bracket &&
	    zsock_inet_pton(AF_INET, host, &((struct sockaddr_in *)&srv->sa)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)&srv->sa;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		srv->salen = sizeof(*in);
		return true;
	}
	if (zsock_inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&srv->sa)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&srv->sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		srv->salen = sizeof(*in6);
		return true;
	}
	return false;
}

/* zsock_engine_set_dns(): a copy of the list, guarded by a spin flag
 * (set rarely, read once per lookup into the caller's stack). */
#define SET_LIST_MAX 256
static char set_list[SET_LIST_MAX];
static bool set_list_on;
static atomic_flag set_list_busy = ATOMIC_FLAG_INIT;

static void set_list_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&set_list_busy, memory_order_acquire))
		;
}

static void set_list_unlock(void)
{
	atomic_flag_clear_explicit(&set_list_busy, memory_order_release);
}

static int count_servers(const char *list, struct server *srv);

/* see zsock/engine.h */
int zsock_engine_set_dns(const char *list)
{
	struct server tmp[ZS_DNS_MAX_SERVERS];

	if (list != NULL) {
		if (strlen(list) >= SET_LIST_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (count_servers(list, tmp) < 0) {
			errno = EINVAL;
			return -1;
		}
	}
	set_list_lock();
	set_list_on = list != NULL;
	if (list != NULL)
		strcpy(set_list, list);
	set_list_unlock();
	return 0;
}

/* Returns the number of servers (0: none configured) or -1 if malformed. */
static int load_servers(struct server *srv)
{
	char copy[SET_LIST_MAX];
	const char *list = NULL;

	set_list_lock();
	if (set_list_on) {
		strcpy(copy, set_list);
		list = copy;
	}
	set_list_unlock();
	if (list == NULL)
		list = getenv("ZSOCK_DNS");
	if (list == NULL)
		list = CONFIG_ZSOCK_DNS_SERVERS;
	return count_servers(list, srv);
}

/* Parse a server list into srv: the count (0: empty) or -1 if malformed. */
static int count_servers(const char *list, struct server *srv)
{
	int n = 0;

	while (*list != '\0') {
		const char *end = strchr(list, ',');
		size_t len = end != NULL ? (size_t)(end - list) : strlen(list);
		const char *s = list;

		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len > 0) {
			struct server tmp;

			if (!parse_server(s, len, &tmp))
				return -1;
			if (n < ZS_DNS_MAX_SERVERS)
				srv[n++] = tmp;
		}
		if (end == NULL)
			break;
		list = end + 1;
	}
	return n;
}

static bool same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

/* ---- the lookup ------------------------------------------------------------- */

struct query {
	uint16_t qtype;
	uint8_t msg[ZS_DNS_QUERY_MAX];
	size_t len;
	unsigned sent_to;      /* bit per server: replies accepted from these */
	bool done;             /* final: rc is the answer */
	bool inflight;         /* sent to the current server, no reply yet */
	bool soft;             /* a try timed out / unsendable / SERVFAIL */
	bool hard;             /* a try got a malformed or refused reply */
	bool nxdomain;         /* done with NXDOMAIN */
	int rc;
	struct zs_dns_addr addr[ZS_DNS_MAX_ANSWERS];
	int count;
};

/* A UDP socket of family, bound to a random high port when one is free. */
static int open_socket(int family)
{
	int fd = zsock_socket(family, SOCK_DGRAM, IPPROTO_UDP);

	if (fd < 0)
		return -1;
	for (int i = 0; i < 8; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		uint16_t port = (uint16_t)(49152 + zs_port_random() % 16384);

		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			in->sin_family = AF_INET;
			in->sin_port = htons(port);
			len = sizeof(*in);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
			len = sizeof(*in6);
		}
		if (zsock_bind(fd, (struct sockaddr *)&ss, len) == 0)
			return fd;
	}
	return fd; /* sendto binds an ephemeral port */
}

/* Handle one datagram: settle the query it answers, if any. */
static void take_reply(struct query *q, int nq, const struct server *srv, int nsrv, int cur,
		       const uint8_t *buf, size_t len, const struct sockaddr_storage *from)
{
	for (int i = 0; i < nq; i++) {
		int rc, count = 0, s;

		if (q[i].done || !zs_dns_reply_matches(buf, len, q[i].msg, q[i].len))
			continue;
		for (s = 0; s < nsrv; s++) {
			if ((q[i].sent_to & (1u << s)) != 0 && same_sockaddr(&srv[s].sa, from))
				break;
		}
		if (s == nsrv)
			continue; /* not from a server this query went to */
		rc = zs_dns_parse_reply(buf, len, get16(q[i].msg), q[i].qtype, q[i].addr,
					ZS_DNS_MAX_ANSWERS, &count);
		if (rc == 0 || rc == EAI_NONAME) {
			q[i].done = true;
			q[i].rc = rc;
			q[i].count = count;
			q[i].inflight = false;
			/* an NXDOMAIN for one type does not settle the other:
			 * some servers (dnsmasq's --address=/name/ADDR) say
			 * NXDOMAIN for the type they have no address of */
			q[i].nxdomain = rc == EAI_NONAME && (buf[3] & 0x0f) == 3;
		} else {
			if (rc == EAI_AGAIN)
				q[i].soft = true;
			else
				q[i].hard = true;
			if (s == cur)
				q[i].inflight = false; /* on to the next server */
		}
		return;
	}
}

static int lookup(struct query *q, int nq, const struct server *srv, int nsrv)
{
	int fds[2] = { -1, -1 }; /* AF_INET, AF_INET6 */
	uint8_t buf[RX_BUF_SIZE];
	int rc = 0;

	for (int round = 0; round < CONFIG_ZSOCK_DNS_RETRIES; round++) {
		for (int s = 0; s < nsrv; s++) {
			int fam = srv[s].sa.ss_family, fi = fam == AF_INET ? 0 : 1;
			int64_t deadline;
			bool any = false;

			if (fds[fi] < 0 && (fds[fi] = open_socket(fam)) < 0) {
				rc = EAI_SYSTEM;
				goto out;
			}
			for (int i = 0; i < nq; i++) {
				ssize_t n;

				if (q[i].done)
					continue;
				q[i].sent_to |= 1u << s;
				n = zsock_sendto(fds[fi], q[i].msg, q[i].len, 0,
						 (const struct sockaddr *)&srv[s].sa, srv[s].salen);
				q[i].inflight = n == (ssize_t)q[i].len;
				if (!q[i].inflight)
					q[i].soft = true;
				any = any || q[i].inflight;
			}
			if (!any) {
				bool all_done = true;

				for (int i = 0; i < nq; i++)
					all_done = all_done && q[i].done;
				if (all_done)
					goto out;
				continue;
			}

			deadline = zs_port_now_ms() + CONFIG_ZSOCK_DNS_TIMEOUT_MS;
			for (;;) {
				struct zsock_pollfd pfd[2];
				int np = 0, left;
				bool waiting = false;

				for (int i = 0; i < nq; i++)
					waiting = waiting || (!q[i].done && q[i].inflight);
				if (!waiting)
					break;
				left = (int)(deadline - zs_port_now_ms());
				if (left <= 0) {
					for (int i = 0; i < nq; i++) {
						if (!q[i].done && q[i].inflight) {
							q[i].inflight = false;
							q[i].soft = true;
						}
					}
					break;
				}
				for (int f = 0; f < 2; f++) {
					if (fds[f] >= 0)
						pfd[np++] = (struct zsock_pollfd){ .fd = fds[f],
										  .events = ZSOCK_POLLIN };
				}
				if (zsock_poll(pfd, np, left) < 0 && errno != EINTR) {
					rc = EAI_SYSTEM;
					goto out;
				}
				for (int f = 0; f < np; f++) {
					if ((pfd[f].revents & ZSOCK_POLLIN) == 0)
						continue;
					for (;;) {
						struct sockaddr_storage from;
						socklen_t flen = sizeof(from);
						ssize_t n = zsock_recvfrom(pfd[f].fd, buf, sizeof(buf),
									   ZSOCK_MSG_DONTWAIT,
									   (struct sockaddr *)&from, &flen);

						if (n < 0)
							break;
						take_reply(q, nq, srv, nsrv, s, buf, (size_t)n, &from);
					}
				}
			}
		}
	}
out:
	for (int f = 0; f < 2; f++) {
		if (fds[f] >= 0)
			zsock_close(fds[f]);
	}
	return rc;
}

int zs_dns_resolve(const char *name, int family, struct zs_dns_addr *out, int max, int *count)
{
	struct server srv[ZS_DNS_MAX_SERVERS];
	struct query q[2];
	int nsrv, nq = 0, rc, n = 0;

	if (count != NULL)
		*count = 0;
	if (name == NULL || out == NULL || count == NULL || max < 1) {
		errno = EFAULT;
		return EAI_SYSTEM;
	}
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return EAI_FAMILY;
	nsrv = load_servers(srv);
	if (nsrv < 0)
		return EAI_FAIL;
	if (family != AF_INET6)
		q[nq++].qtype = ZS_DNS_TYPE_A;
	if (family != AF_INET)
		q[nq++].qtype = ZS_DNS_TYPE_AAAA;
	for (int i = 0; i < nq; i++) {
		uint16_t id = (uint16_t)zs_port_random();

		/* two queries of one lookup never share an id */
		if (i > 0 && id == get16(q[0].msg))
			id ^= 1;
		rc = zs_dns_build_query(q[i].msg, sizeof(q[i].msg), id, name, q[i].qtype);
		if (rc < 0)
			return EAI_NONAME; /* not a valid domain name */
		q[i].len = (size_t)rc;
		q[i].sent_to = 0;
		q[i].done = q[i].inflight = q[i].soft = q[i].hard = q[i].nxdomain = false;
		q[i].rc = EAI_AGAIN;
		q[i].count = 0;
	}
	if (nsrv == 0)
		return EAI_NONAME;

	rc = lookup(q, nq, srv, nsrv);
	if (rc != 0)
		return rc;

	for (int i = 0; i < nq; i++) {
		if (!q[i].done)
			q[i].rc = q[i].soft || !q[i].hard ? EAI_AGAIN : EAI_FAIL;
		for (int k = 0; k < q[i].count && n < max; k++)
			out[n++] = q[i].addr[k];
	}
	if (n > 0) {
		*count = n;
		return 0;
	}
	/* no address: NXDOMAIN, then AGAIN, then FAIL, then NODATA */
	for (int i = 0; i < nq; i++) {
		if (q[i].nxdomain)
			return EAI_NONAME;
	}
	for (int i = 0; i < nq; i++) {
		if (q[i].rc == EAI_AGAIN)
			return EAI_AGAIN;
	}
	for (int i = 0; i < nq; i++) {
		if (q[i].rc == EAI_FAIL)
			return EAI_FAIL;
	}
	return EAI_NONAME;
}
