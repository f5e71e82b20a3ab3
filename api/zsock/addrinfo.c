/*
 * zsock_getaddrinfo, zsock_freeaddrinfo, zsock_gai_strerror,
 * zsock_getnameinfo: names and addresses without DNS.
 *
 * Memory. Result nodes come from a static pool of CONFIG_ZSOCK_ADDRINFO_MAX
 * struct zsock_addrinfo (each holds its own sockaddr_storage and a 256-byte
 * canonical name, about 430 bytes on LP64). A call counts the nodes it
 * needs first and takes them all at once under the pool lock, so it either
 * gets its whole list or fails with EAI_MEMORY having taken nothing. The
 * pool keeps one "taken" flag per node; freeaddrinfo walks the list and
 * returns node after node while each one is a taken node of the pool, and
 * stops at the first pointer that is not (a foreign node, a node already
 * free, a cycle), so misuse can leak a list but never corrupt the pool.
 * Allocation and free are O(CONFIG_ZSOCK_ADDRINFO_MAX) and O(list length).
 *
 * Order of checks and of results follows glibc (checked by the differential
 * test in tests/unit/test_addrinfo.c): host and service both NULL, flags,
 * AI_CANONNAME without a host, family, socket type and protocol, service,
 * then host. Results are address-major, and for each address SOCK_STREAM
 * (IPPROTO_TCP) before SOCK_DGRAM (IPPROTO_UDP). A NULL host gives ::1 then
 * 127.0.0.1, or with AI_PASSIVE 0.0.0.0 then ::, as glibc's sorting does on
 * Linux.
 *
 * Deliberate deviations from glibc, each for a reason:
 *  - Numeric hosts are parsed with zsock_inet_pton, so only the strict
 *    forms are numeric: "127.1", "0x7f.0.0.1" and "010.1.1.1" (inet_aton
 *    forms glibc also takes) are not addresses here and give EAI_NONAME.
 *  - "[v6]" is a numeric IPv6 host (CONFORMANCE.md; URLs write it that
 *    way). glibc rejects it. Inside brackets only IPv6 is allowed.
 *  - An IPv6 scope suffix must be decimal ("fe80::1%2"); an interface name
 *    ("%eth0") gives EAI_NONAME, since the engine has no if_nametoindex.
 *  - A service is numeric only if it is one or more decimal digits; the
 *    value must be <= 65535, otherwise EAI_NONAME. glibc reads the service
 *    with strtoul: it takes " 80", "+80" and "" (as port 0), and truncates
 *    65536 to port 0. Here "", " 80" and "+80" are names, which are unknown
 *    (EAI_SERVICE, or EAI_NONAME with AI_NUMERICSERV).
 *  - Only SOCK_STREAM/IPPROTO_TCP and SOCK_DGRAM/IPPROTO_UDP exist in the
 *    engine. Socket type 0 gives those two results (glibc adds a SOCK_RAW
 *    one); SOCK_RAW, SOCK_SEQPACKET, or a protocol other than TCP/UDP with
 *    a matching type give EAI_SOCKTYPE (glibc builds raw, SCTP, UDP-Lite
 *    results); socket type 0 with another protocol gives EAI_SERVICE, as
 *    glibc does when a service is named.
 *  - Names: there is no DNS client yet, so every name but "localhost" gives
 *    EAI_NONAME. "localhost" (any case, no trailing dot) is the loopback
 *    address of the requested family: ::1 then 127.0.0.1 for AF_UNSPEC,
 *    the order a NULL host gets (RFC 6761: localhost is always loopback;
 *    glibc reads /etc/hosts, whose contents vary by machine).
 *  - AI_ADDRCONFIG is accepted and ignored: the engine always has both
 *    loopback families, and glibc's answer depends on the host's interfaces.
 *    AI_IDN and friends are accepted and ignored (no name is converted).
 *  - res NULL: EAI_SYSTEM with errno EFAULT (glibc crashes). On any error
 *    *res is set to NULL.
 *
 * getnameinfo: the host is always numeric (no reverse DNS, so glibc's
 * "localhost" for 127.0.0.1 is not reproduced; NI_NAMEREQD gives EAI_NONAME
 * whenever a host is asked for). The IPv6 scope id is not printed. A salen
 * shorter than the family's sockaddr gives EAI_FAMILY (POSIX and glibc);
 * sa NULL gives EAI_FAIL. Deviation: both host and serv skipped (NULL or
 * length 0) gives EAI_NONAME as POSIX says, where glibc returns 0. Nothing
 * is written to either buffer unless the whole call succeeds (glibc may
 * leave the host written and a partial service behind on EAI_OVERFLOW).
 */
#define _GNU_SOURCE /* EAI_ADDRFAMILY, EAI_NODATA, ... and AI_IDN in <netdb.h> */
#include <zsock/socket.h>

#include "dns.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine/port/port.h"

#ifndef CONFIG_ZSOCK_ADDRINFO_MAX
#define CONFIG_ZSOCK_ADDRINFO_MAX 16
#endif

/* ---- the node pool -------------------------------------------------------- */

static struct zsock_addrinfo ai_pool[CONFIG_ZSOCK_ADDRINFO_MAX];
static bool ai_taken[CONFIG_ZSOCK_ADDRINFO_MAX];	/* under ai_lock */
static struct zs_lock ai_lock;
static atomic_int ai_lock_state;	/* 0 none, 1 being initialised, 2 ready */

static void pool_lock(void)
{
	int expect = 0;

	if (atomic_load_explicit(&ai_lock_state, memory_order_acquire) != 2) {
		if (atomic_compare_exchange_strong(&ai_lock_state, &expect, 1)) {
			zs_lock_init(&ai_lock);
			atomic_store_explicit(&ai_lock_state, 2, memory_order_release);
		} else {
			/* Another thread is in zs_lock_init: a few instructions. */
			while (atomic_load_explicit(&ai_lock_state, memory_order_acquire) != 2)
				;
		}
	}
	zs_lock_take(&ai_lock);
}

/* Index of ai in the pool, or -1 if it is not the start of a pool node. */
static int pool_index(const struct zsock_addrinfo *ai)
{
	uintptr_t p = (uintptr_t)ai, base = (uintptr_t)ai_pool;

	if (p < base || p >= base + sizeof(ai_pool))
		return -1;
	if ((p - base) % sizeof(ai_pool[0]) != 0)
		return -1;
	return (int)((p - base) / sizeof(ai_pool[0]));
}

/* Take n nodes (all or none), zeroed and linked in order. */
static struct zsock_addrinfo *pool_take(int n)
{
	int idx[CONFIG_ZSOCK_ADDRINFO_MAX];
	int got = 0, i;

	pool_lock();
	for (i = 0; i < CONFIG_ZSOCK_ADDRINFO_MAX && got < n; i++) {
		if (!ai_taken[i])
			idx[got++] = i;
	}
	if (got < n) {
		zs_lock_give(&ai_lock);
		return NULL;
	}
	for (i = 0; i < n; i++)
		ai_taken[idx[i]] = true;
	zs_lock_give(&ai_lock);

	for (i = 0; i < n; i++) {
		struct zsock_addrinfo *ai = &ai_pool[idx[i]];

		memset(ai, 0, sizeof(*ai));
		ai->ai_addr = (struct sockaddr *)&ai->_ai_addr;
		ai->ai_next = i + 1 < n ? &ai_pool[idx[i + 1]] : NULL;
	}
	return &ai_pool[idx[0]];
}

/* see zsock/socket.h */
void zsock_freeaddrinfo(struct zsock_addrinfo *ai)
{
	if (ai == NULL)
		return;
	pool_lock();
	while (ai != NULL) {
		int i = pool_index(ai);

		if (i < 0 || !ai_taken[i])
			break;	/* foreign, already free, or a cycle: stop */
		ai = ai->ai_next;
		ai_taken[i] = false;
	}
	zs_lock_give(&ai_lock);
}

/* ---- services -------------------------------------------------------------- */

#define SVC_TCP 1u
#define SVC_UDP 2u

/*
 * Well-known services: official names, aliases and protocols as in Debian's
 * /etc/services (netbase). mqtt, coap and secure-mqtt are not in that file;
 * they are IANA's registrations (TCP and UDP for each; CoAP over TCP is
 * RFC 8323). The order matters to getnameinfo: the first entry with the
 * port and protocol wins.
 */
static const struct service {
	const char *name;
	const char *alias[2];
	uint16_t port;
	uint8_t protos;
} services[] = {
	{ "echo",        { NULL },            7,    SVC_TCP | SVC_UDP },
	{ "discard",     { "sink", "null" },  9,    SVC_TCP | SVC_UDP },
	{ "ftp",         { NULL },            21,   SVC_TCP },
	{ "ssh",         { NULL },            22,   SVC_TCP },
	{ "telnet",      { NULL },            23,   SVC_TCP },
	{ "smtp",        { "mail" },          25,   SVC_TCP },
	{ "domain",      { NULL },            53,   SVC_TCP | SVC_UDP },
	{ "http",        { "www" },           80,   SVC_TCP },
	{ "pop3",        { "pop-3" },         110,  SVC_TCP },
	{ "ntp",         { NULL },            123,  SVC_UDP },
	{ "imap2",       { "imap" },          143,  SVC_TCP },
	{ "snmp",        { NULL },            161,  SVC_TCP | SVC_UDP },
	{ "https",       { NULL },            443,  SVC_TCP | SVC_UDP },
	{ "mqtt",        { NULL },            1883, SVC_TCP | SVC_UDP },
	{ "coap",        { NULL },            5683, SVC_TCP | SVC_UDP },
	{ "secure-mqtt", { NULL },            8883, SVC_TCP | SVC_UDP },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Service names are case-sensitive, as in glibc. */
static const struct service *service_by_name(const char *name)
{
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(services); i++) {
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
		for (j = 0; j < ARRAY_LEN(services[i].alias); j++) {
			if (services[i].alias[j] != NULL &&
			    strcmp(services[i].alias[j], name) == 0)
				return &services[i];
		}
	}
	return NULL;
}

static const struct service *service_by_port(unsigned int port, uint8_t proto)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(services); i++) {
		if (services[i].port == port && (services[i].protos & proto))
			return &services[i];
	}
	return NULL;
}

/*
 * One or more decimal digits: *port gets the value (or 65536 for anything
 * larger) and 1 is returned. Anything else: 0.
 */
static int parse_decimal_port(const char *s, unsigned long *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			v = 65536;	/* saturate: stays "too large" */
	}
	*port = v;
	return 1;
}

/* ---- getaddrinfo ------------------------------------------------------------ */

/*
 * glibc also accepts its deprecated AI_IDN_ALLOW_UNASSIGNED (0x100) and
 * AI_IDN_USE_STD3_ASCII_RULES (0x200); spelled as numbers since naming them
 * warns.
 */
#define AI_FLAGS_KNOWN (AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | \
			AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG | AI_NUMERICSERV | \
			AI_IDN | AI_CANONIDN | 0x0100 | 0x0200)

/* Addresses a name may give (DNS answers beyond are dropped). */
#define AI_PLAN_MAX_ADDRS 8

/* At most two types (type 0: TCP and UDP); addresses: two for a NULL host
 * or "localhost" with AF_UNSPEC, up to AI_PLAN_MAX_ADDRS from DNS. */
struct ai_plan {
	int ntypes;
	int type[2];
	int proto[2];
	uint16_t port[2];	/* host order, per type */
	int naddrs;
	struct sockaddr_storage addr[AI_PLAN_MAX_ADDRS];
};

static void plan_addr4(struct ai_plan *p, const uint8_t a[static 4])
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->addr[p->naddrs++];

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, a, 4);
}

static void plan_addr6(struct ai_plan *p, const uint8_t a[static 16], uint32_t scope)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->addr[p->naddrs++];

	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, a, 16);
	sin6->sin6_scope_id = scope;
}

/* Socket types and protocols from the hints. Returns 0 or an EAI_* code. */
static int plan_types(struct ai_plan *p, int socktype, int protocol)
{
	bool tcp, udp;

	switch (socktype) {
	case 0:
		if (protocol != 0 && protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
			return EAI_SERVICE;
		tcp = protocol != IPPROTO_UDP;
		udp = protocol != IPPROTO_TCP;
		break;
	case SOCK_STREAM:
		if (protocol != 0 && protocol != IPPROTO_TCP)
			return EAI_SOCKTYPE;
		tcp = true;
		udp = false;
		break;
	case SOCK_DGRAM:
		if (protocol != 0 && protocol != IPPROTO_UDP)
			return EAI_SOCKTYPE;
		tcp = false;
		udp = true;
		break;
	default:
		return EAI_SOCKTYPE;
	}
	p->ntypes = 0;
	if (tcp) {
		p->type[p->ntypes] = SOCK_STREAM;
		p->proto[p->ntypes++] = IPPROTO_TCP;
	}
	if (udp) {
		p->type[p->ntypes] = SOCK_DGRAM;
		p->proto[p->ntypes++] = IPPROTO_UDP;
	}
	return 0;
}

/* Ports for the planned types; drops types the service lacks. */
static int plan_service(struct ai_plan *p, const char *service, int flags)
{
	const struct service *svc;
	unsigned long port;
	int i, kept = 0;

	if (service == NULL) {
		p->port[0] = p->port[1] = 0;
		return 0;
	}
	if (parse_decimal_port(service, &port)) {
		if (port > 65535)
			return EAI_NONAME;
		p->port[0] = p->port[1] = (uint16_t)port;
		return 0;
	}
	if (flags & AI_NUMERICSERV)
		return EAI_NONAME;
	svc = service_by_name(service);
	if (svc == NULL)
		return EAI_SERVICE;
	for (i = 0; i < p->ntypes; i++) {
		uint8_t need = p->proto[i] == IPPROTO_TCP ? SVC_TCP : SVC_UDP;

		if (svc->protos & need) {
			p->type[kept] = p->type[i];
			p->proto[kept] = p->proto[i];
			p->port[kept++] = svc->port;
		}
	}
	p->ntypes = kept;
	return kept > 0 ? 0 : EAI_SERVICE;
}

static const uint8_t any4[4], loop4[4] = { 127, 0, 0, 1 };
static const uint8_t any6[16], loop6[16] = { [15] = 1 };

/* The loopback (or with passive the any-) addresses for family. */
static void plan_default(struct ai_plan *p, int family, bool passive)
{
	if (passive) {
		if (family != AF_INET6)
			plan_addr4(p, any4);
		if (family != AF_INET)
			plan_addr6(p, any6, 0);
	} else {
		if (family != AF_INET)
			plan_addr6(p, loop6, 0);
		if (family != AF_INET6)
			plan_addr4(p, loop4);
	}
}

/*
 * IPv6 text, optionally with a decimal "%scope", ending at end (exclusive).
 * Returns 1 with a and *scope filled, or 0.
 */
static int parse_v6(const char *s, size_t len, uint8_t a[static 16], uint32_t *scope)
{
	char text[INET6_ADDRSTRLEN];
	const char *pct = memchr(s, '%', len);
	size_t alen = pct != NULL ? (size_t)(pct - s) : len;
	unsigned long v = 0;

	if (alen >= sizeof(text))
		return 0;
	memcpy(text, s, alen);
	text[alen] = '\0';
	if (zsock_inet_pton(AF_INET6, text, a) != 1)
		return 0;
	*scope = 0;
	if (pct != NULL) {
		const char *d = pct + 1, *end = s + len;

		if (d == end)
			return 0;
		for (; d < end; d++) {
			if (*d < '0' || *d > '9')
				return 0;
			v = v * 10 + (unsigned long)(*d - '0');
			if (v > UINT32_MAX)
				return 0;
		}
		*scope = (uint32_t)v;
	}
	return 1;
}

static int ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;

		if (x != *b)
			return 0;
	}
	return *a == *b;
}

static const uint8_t v4mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

/*
 * A name, through the engine's DNS client (api/zsock/dns.c): IPv6 answers
 * first, then IPv4 (glibc's usual order for hosts with both, and the order
 * "localhost" gives). AF_INET6 with AI_V4MAPPED asks for both and maps the
 * A records when there is no AAAA (or always, with AI_ALL).
 */
static int plan_dns(struct ai_plan *p, const char *host, int family, int flags)
{
	struct zs_dns_addr d[AI_PLAN_MAX_ADDRS];
	bool mapped = family == AF_INET6 && (flags & AI_V4MAPPED);
	int n = 0, i, rc, have6 = 0;

	rc = zs_dns_resolve(host, mapped ? AF_UNSPEC : family, d, AI_PLAN_MAX_ADDRS, &n);
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (d[i].family == AF_INET6) {
			plan_addr6(p, d[i].addr, 0);
			have6++;
		}
	}
	for (i = 0; i < n; i++) {
		uint8_t m[16];

		if (d[i].family != AF_INET)
			continue;
		if (!mapped) {
			plan_addr4(p, d[i].addr);
		} else if (have6 == 0 || (flags & AI_ALL)) {
			memcpy(m, v4mapped_prefix, 12);
			memcpy(m + 12, d[i].addr, 4);
			plan_addr6(p, m, 0);
		}
	}
	return p->naddrs > 0 ? 0 : EAI_NONAME;
}

/* Addresses for a non-NULL host. Returns 0 or an EAI_* code. */
static int plan_host(struct ai_plan *p, const char *host, int family, int flags)
{
	size_t len = strlen(host);
	uint8_t a[16];
	uint32_t scope;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		if (!parse_v6(host + 1, len - 2, a, &scope))
			return EAI_NONAME;
		goto v6;
	}
	if (zsock_inet_pton(AF_INET, host, a) == 1) {
		if (family == AF_INET6) {
			uint8_t m[16];

			if (!(flags & AI_V4MAPPED))
				return EAI_ADDRFAMILY;
			memcpy(m, v4mapped_prefix, 12);
			memcpy(m + 12, a, 4);
			plan_addr6(p, m, 0);
		} else {
			plan_addr4(p, a);
		}
		return 0;
	}
	if (parse_v6(host, len, a, &scope))
		goto v6;
	if (!(flags & AI_NUMERICHOST) && ascii_caseeq(host, "localhost")) {
		plan_default(p, family, false);
		return 0;
	}
	if (flags & AI_NUMERICHOST)
		return EAI_NONAME;
	return plan_dns(p, host, family, flags);

v6:
	if (family == AF_INET) {
		/* glibc's rule: a v4-mapped address asked for as AF_INET. */
		if (memcmp(a, v4mapped_prefix, 12) != 0)
			return EAI_ADDRFAMILY;
		plan_addr4(p, a + 12);
		return 0;
	}
	plan_addr6(p, a, scope);
	return 0;
}

/* see zsock/socket.h */
int zsock_getaddrinfo(const char *host, const char *service,
		      const struct zsock_addrinfo *hints,
		      struct zsock_addrinfo **res)
{
	struct ai_plan plan;
	struct zsock_addrinfo *list, *ai;
	int flags = 0, family = AF_UNSPEC, socktype = 0, protocol = 0;
	int rc, i, j;

	if (res == NULL) {
		errno = EFAULT;
		return EAI_SYSTEM;
	}
	*res = NULL;
	if (hints != NULL) {
		flags = hints->ai_flags;
		family = hints->ai_family;
		socktype = hints->ai_socktype;
		protocol = hints->ai_protocol;
	}
	if (host == NULL && service == NULL)
		return EAI_NONAME;
	if (flags & ~AI_FLAGS_KNOWN)
		return EAI_BADFLAGS;
	if ((flags & AI_CANONNAME) && host == NULL)
		return EAI_BADFLAGS;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return EAI_FAMILY;

	memset(&plan, 0, sizeof(plan));
	rc = plan_types(&plan, socktype, protocol);
	if (rc == 0)
		rc = plan_service(&plan, service, flags);
	if (rc == 0) {
		if (host == NULL)
			plan_default(&plan, family, (flags & AI_PASSIVE) != 0);
		else
			rc = plan_host(&plan, host, family, flags);
	}
	if (rc != 0)
		return rc;

	list = pool_take(plan.naddrs * plan.ntypes);
	if (list == NULL)
		return EAI_MEMORY;

	ai = list;
	for (i = 0; i < plan.naddrs; i++) {
		for (j = 0; j < plan.ntypes; j++, ai = ai->ai_next) {
			ai->ai_flags = flags;
			ai->ai_family = plan.addr[i].ss_family;
			ai->ai_socktype = plan.type[j];
			ai->ai_protocol = plan.proto[j];
			ai->_ai_addr = plan.addr[i];
			if (ai->ai_family == AF_INET) {
				struct sockaddr_in *sin = (struct sockaddr_in *)&ai->_ai_addr;

				sin->sin_port = htons(plan.port[j]);
				ai->ai_addrlen = sizeof(struct sockaddr_in);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ai->_ai_addr;

				sin6->sin6_port = htons(plan.port[j]);
				ai->ai_addrlen = sizeof(struct sockaddr_in6);
			}
		}
	}
	if (flags & AI_CANONNAME) {
		/* The host text itself, on the first node (glibc does the same). */
		size_t n = strlen(host);

		if (n >= sizeof(list->_ai_canonname))
			n = sizeof(list->_ai_canonname) - 1;
		memcpy(list->_ai_canonname, host, n);
		list->_ai_canonname[n] = '\0';
		list->ai_canonname = list->_ai_canonname;
	}
	*res = list;
	return 0;
}

/* ---- gai_strerror ------------------------------------------------------------ */

/* see zsock/socket.h; 0 is not an EAI_* code, so "Unknown error" as in glibc */
const char *zsock_gai_strerror(int errcode)
{
	switch (errcode) {
	case EAI_BADFLAGS:   return "Invalid flags in hints";
	case EAI_NONAME:     return "Host or service not known";
	case EAI_AGAIN:      return "Name server temporarily unavailable, try again";
	case EAI_FAIL:       return "Unrecoverable failure in name resolution";
	case EAI_NODATA:     return "Host has no address";
	case EAI_FAMILY:     return "Address family not supported";
	case EAI_SOCKTYPE:   return "Socket type not supported";
	case EAI_SERVICE:    return "Service not available for this socket type";
	case EAI_ADDRFAMILY: return "Host has no address in the requested family";
	case EAI_MEMORY:     return "Out of result memory";
	case EAI_SYSTEM:     return "System error, see errno";
	case EAI_OVERFLOW:   return "Buffer too small for the result";
	case EAI_INPROGRESS: return "Request still in progress";
	case EAI_CANCELED:   return "Request cancelled";
	case EAI_NOTCANCELED: return "Request could not be cancelled";
	case EAI_ALLDONE:    return "No request left in progress";
	case EAI_INTR:       return "Interrupted by a signal";
	case EAI_IDN_ENCODE: return "Name could not be encoded as IDN";
	default:             return "Unknown error";
	}
}

/* ---- getnameinfo ----------------------------------------------------------------- */

/* Plus glibc's deprecated NI_IDN_ALLOW_UNASSIGNED and _USE_STD3_ASCII_RULES. */
#define NI_FLAGS_KNOWN (NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | \
			NI_NAMEREQD | NI_DGRAM | NI_IDN | 64 | 128)

/* see zsock/socket.h */
int zsock_getnameinfo(const struct sockaddr *sa, socklen_t salen,
		      char *host, socklen_t hostlen,
		      char *serv, socklen_t servlen, int flags)
{
	char htext[INET6_ADDRSTRLEN];
	char stext[sizeof("65535")];
	const char *sname = NULL;
	const void *addr;
	unsigned int port;
	bool want_host = host != NULL && hostlen > 0;
	bool want_serv = serv != NULL && servlen > 0;
	size_t hlen = 0, slen = 0;

	if (flags & ~NI_FLAGS_KNOWN)
		return EAI_BADFLAGS;
	if (sa == NULL)
		return EAI_FAIL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (salen < sizeof(*sin))
			return EAI_FAMILY;
		addr = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (salen < sizeof(*sin6))
			return EAI_FAMILY;
		addr = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else {
		return EAI_FAMILY;
	}
	if (!want_host && !want_serv)
		return EAI_NONAME;

	if (want_host) {
		if (flags & NI_NAMEREQD)
			return EAI_NONAME;	/* no reverse DNS */
		if (zsock_inet_ntop(sa->sa_family, addr, htext, sizeof(htext)) == NULL)
			return EAI_FAIL;	/* cannot happen: htext fits any address */
		hlen = strlen(htext);
		if (hlen >= hostlen)
			return EAI_OVERFLOW;
	}
	if (want_serv) {
		if (!(flags & NI_NUMERICSERV)) {
			const struct service *svc =
				service_by_port(port, (flags & NI_DGRAM) ? SVC_UDP : SVC_TCP);

			if (svc != NULL)
				sname = svc->name;
		}
		if (sname == NULL) {
			/* port <= 65535: at most five digits */
			char *d = stext + sizeof(stext) - 1;

			*d = '\0';
			do {
				*--d = (char)('0' + port % 10);
				port /= 10;
			} while (port != 0);
			sname = d;
		}
		slen = strlen(sname);
		if (slen >= servlen)
			return EAI_OVERFLOW;
	}
	if (want_host)
		memcpy(host, htext, hlen + 1);
	if (want_serv)
		memcpy(serv, sname, slen + 1);
	return 0;
}
