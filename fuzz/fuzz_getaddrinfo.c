/*
 * Fuzz target getaddrinfo: zsock_getaddrinfo, zsock_freeaddrinfo and
 * zsock_getnameinfo (api/zsock/addrinfo.c), without any DNS traffic: the
 * server list is set to "" before the first input, so a name (anything
 * that is not numeric or "localhost") ends in EAI_NONAME before a socket
 * exists. A name that resolves, or EAI_AGAIN / EAI_FAIL, is a failure.
 *
 * Input, mode byte first:
 *   even  getaddrinfo: flags, family, socket type, protocol, which of
 *         host / service / hints / res are NULL and how the list is freed,
 *         then host and service, NUL-separated
 *   odd   getnameinfo: an address built from the input bytes (family,
 *         length, port, address, scope), flags, buffer lengths
 *
 * Checked, each an abort() when it fails:
 *  - getaddrinfo returns 0 or a documented EAI_* code, in glibc's order of
 *    checks for the first four (both NULL, flags, AI_CANONNAME without a
 *    host, family); *res is NULL on every error; never EAI_MEMORY (every
 *    list is freed), never a resolved name;
 *  - each node: ai_addr points into the node, family, length, type and
 *    protocol consistent with each other and with the hints, ai_flags the
 *    hints' flags, the port the decimal service (or a service name known
 *    for that protocol), the address the numeric host (v4-mapped with
 *    AF_INET6 + AI_V4MAPPED), loopback for "localhost", the loopback or
 *    any-address for a NULL host; ai_canonname only on the first node with
 *    AI_CANONNAME, equal to the host; at most 4 nodes, no cycle;
 *  - freeing twice, or a later node before the head, loses nothing: after
 *    every input the whole pool (CONFIG_ZSOCK_ADDRINFO_MAX nodes) can be
 *    taken, and not one node more;
 *  - getnameinfo returns 0 or a documented EAI_* code, with BADFLAGS,
 *    FAIL, FAMILY and NONAME exactly when the header says; nothing written
 *    on failure; on success the host is the numeric address (it parses
 *    back to the same bytes) and the service is the decimal port or a name
 *    that getaddrinfo maps back to the same port.
 */
#define _GNU_SOURCE /* AI_IDN, NI_IDN, EAI_* in <netdb.h> */
#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/zsock_config.h>

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <strings.h>

#include "fuzz.h"

#define POOL CONFIG_ZSOCK_ADDRINFO_MAX

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* No DNS server at all: the set list wins over ZSOCK_DNS and the
	 * dns_servers build option. */
	if (zsock_engine_set_dns("") != 0) {
		fprintf(stderr, "fuzz_getaddrinfo: zsock_engine_set_dns(\"\") failed\n");
		abort();
	}
	return 0;
}

/* ---- getaddrinfo ------------------------------------------------------------ */

enum host_kind { HOST_NULL, HOST_V4, HOST_V6, HOST_LOCALHOST, HOST_NAME };

/* What zsock_getaddrinfo must make of host (as addrinfo.c documents). */
static enum host_kind classify(const char *host, int flags, uint8_t a[16])
{
	size_t len;
	char text[64];
	const char *pct;

	if (host == NULL)
		return HOST_NULL;
	if (zsock_inet_pton(AF_INET, host, a) == 1)
		return HOST_V4;
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	} else if (strcasecmp(host, "localhost") == 0) {
		return flags & AI_NUMERICHOST ? HOST_NAME : HOST_LOCALHOST;
	}
	/* IPv6, optionally with "%decimal" */
	pct = memchr(host, '%', len);
	if (pct != NULL) {
		size_t digits = len - (size_t)(pct - host) - 1;
		unsigned long long v = 0;

		if (digits == 0)
			return HOST_NAME;
		for (size_t i = 1; i <= digits; i++) {
			if (pct[i] < '0' || pct[i] > '9')
				return HOST_NAME;
			v = v * 10 + (unsigned long long)(pct[i] - '0');
			if (v > UINT32_MAX)
				return HOST_NAME;
		}
		if (v > UINT32_MAX)
			return HOST_NAME;
		len = (size_t)(pct - host);
	}
	if (len >= sizeof(text))
		return HOST_NAME;
	memcpy(text, host, len);
	text[len] = '\0';
	return zsock_inet_pton(AF_INET6, text, a) == 1 ? HOST_V6 : HOST_NAME;
}

/* 1 and the port for a service of one or more decimal digits, else 0. */
static int decimal_service(const char *s, unsigned long *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*s - '0');
	}
	*port = v;
	return 1;
}

static const uint8_t loop6[16] = { [15] = 1 }, any6[16];
static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

static void check_node(const struct zsock_addrinfo *ai, int idx, const char *host,
		       const char *service, int flags, int family, int socktype, int protocol,
		       enum host_kind kind, const uint8_t *a)
{
	const uint8_t *addr;
	unsigned int port;
	unsigned long want_port;

	FZ_CHECK(ai->ai_addr == (const struct sockaddr *)&ai->_ai_addr,
		 "node %d: ai_addr is not the node's own", idx);
	FZ_CHECK(ai->ai_flags == flags, "node %d: ai_flags 0x%x, hints 0x%x", idx, ai->ai_flags,
		 flags);
	FZ_CHECK(ai->ai_addr->sa_family == ai->ai_family, "node %d: family differs", idx);
	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ai->ai_addr;

		FZ_CHECK(ai->ai_addrlen == sizeof(*sin), "node %d: addrlen %u", idx, ai->ai_addrlen);
		addr = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;

		FZ_CHECK(ai->ai_family == AF_INET6, "node %d: family %d", idx, ai->ai_family);
		FZ_CHECK(ai->ai_addrlen == sizeof(*sin6), "node %d: addrlen %u", idx,
			 ai->ai_addrlen);
		addr = (const uint8_t *)&sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	}
	FZ_CHECK(family == AF_UNSPEC || ai->ai_family == family, "node %d: family %d, hints %d",
		 idx, ai->ai_family, family);
	FZ_CHECK((ai->ai_socktype == SOCK_STREAM && ai->ai_protocol == IPPROTO_TCP) ||
			 (ai->ai_socktype == SOCK_DGRAM && ai->ai_protocol == IPPROTO_UDP),
		 "node %d: type %d protocol %d", idx, ai->ai_socktype, ai->ai_protocol);
	FZ_CHECK(socktype == 0 || ai->ai_socktype == socktype, "node %d: type %d, hints %d", idx,
		 ai->ai_socktype, socktype);
	FZ_CHECK(protocol == 0 || ai->ai_protocol == protocol, "node %d: protocol %d, hints %d",
		 idx, ai->ai_protocol, protocol);

	if (service == NULL) {
		FZ_CHECK(port == 0, "node %d: port %u without a service", idx, port);
	} else if (decimal_service(service, &want_port)) {
		FZ_CHECK(port == want_port, "node %d: port %u for \"%s\"", idx, port, service);
	} else {
		/* a name: the port must be one getnameinfo names for this protocol */
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		char name[32];
		unsigned long p;

		FZ_CHECK(!(flags & AI_NUMERICSERV), "node %d: service name with AI_NUMERICSERV", idx);
		FZ_CHECK(zsock_getnameinfo((struct sockaddr *)&sin, sizeof(sin), NULL, 0, name,
					   sizeof(name),
					   ai->ai_socktype == SOCK_DGRAM ? NI_DGRAM : 0) == 0 &&
				 !decimal_service(name, &p),
			 "node %d: \"%s\" gave port %u, which has no name for type %d", idx,
			 service, port, ai->ai_socktype);
	}

	switch (kind) {
	case HOST_NULL:
		if (flags & AI_PASSIVE)
			FZ_CHECK(ai->ai_family == AF_INET ? memcmp(addr, any6, 4) == 0
							  : memcmp(addr, any6, 16) == 0,
				 "node %d: passive NULL host is not the any-address", idx);
		else
			FZ_CHECK(ai->ai_family == AF_INET ? memcmp(addr, "\x7f\0\0\x01", 4) == 0
							  : memcmp(addr, loop6, 16) == 0,
				 "node %d: NULL host is not loopback", idx);
		break;
	case HOST_LOCALHOST:
		FZ_CHECK(ai->ai_family == AF_INET ? memcmp(addr, "\x7f\0\0\x01", 4) == 0
						  : memcmp(addr, loop6, 16) == 0,
			 "node %d: \"%s\" is not loopback", idx, host);
		break;
	case HOST_V4:
		if (ai->ai_family == AF_INET)
			FZ_CHECK(memcmp(addr, a, 4) == 0, "node %d: not the address of \"%s\"", idx,
				 host);
		else
			FZ_CHECK((flags & AI_V4MAPPED) && memcmp(addr, v4mapped, 12) == 0 &&
					 memcmp(addr + 12, a, 4) == 0,
				 "node %d: \"%s\" as IPv6 but not v4-mapped", idx, host);
		break;
	case HOST_V6:
		if (ai->ai_family == AF_INET6)
			FZ_CHECK(memcmp(addr, a, 16) == 0, "node %d: not the address of \"%s\"", idx,
				 host);
		else
			FZ_CHECK(memcmp(a, v4mapped, 12) == 0 && memcmp(addr, a + 12, 4) == 0,
				 "node %d: \"%s\" as IPv4 but not v4-mapped", idx, host);
		break;
	case HOST_NAME:
		FZ_CHECK(0, "\"%s\" resolved with no DNS server", host);
	}

	if ((flags & AI_CANONNAME) && idx == 0) {
		FZ_CHECK(ai->ai_canonname == ai->_ai_canonname &&
				 strncmp(ai->ai_canonname, host, 255) == 0 &&
				 strlen(ai->ai_canonname) == (strlen(host) < 255 ? strlen(host) : 255),
			 "canonname \"%s\" for \"%s\"", ai->ai_canonname ? ai->ai_canonname : "(null)",
			 host);
	} else {
		FZ_CHECK(ai->ai_canonname == NULL, "node %d: canonname set", idx);
	}
}

/* Take the whole pool, node by node, then one more: that must fail. */
static void check_pool_whole(void)
{
	struct zsock_addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct zsock_addrinfo *held[POOL + 1];
	int i, rc;

	for (i = 0; i < POOL; i++) {
		rc = zsock_getaddrinfo(NULL, "1", &hints, &held[i]);
		FZ_CHECK(rc == 0, "node %d of the pool of %d: %d (a node leaked)", i, POOL, rc);
	}
	rc = zsock_getaddrinfo(NULL, "1", &hints, &held[POOL]);
	FZ_CHECK(rc == EAI_MEMORY && held[POOL] == NULL, "a node beyond the pool of %d: %d", POOL,
		 rc);
	for (i = 0; i < POOL; i++)
		zsock_freeaddrinfo(held[i]);
}

static const int known_codes[] = {
	EAI_NONAME, EAI_SERVICE, EAI_FAMILY, EAI_ADDRFAMILY, EAI_SOCKTYPE, EAI_BADFLAGS,
};

static void getaddrinfo_mode(struct fz_in *in)
{
	static const int families[3] = { AF_UNSPEC, AF_INET, AF_INET6 };
	static const int types[3] = { 0, SOCK_STREAM, SOCK_DGRAM };
	static const int protos[3] = { 0, IPPROTO_TCP, IPPROTO_UDP };
	static const int bits[7] = { AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV,
				     AI_V4MAPPED, AI_ALL, AI_ADDRCONFIG };
	uint8_t fb = fz_u8(in), extra = fz_u8(in), fam = fz_u8(in), typ = fz_u8(in);
	uint8_t pro = fz_u8(in), nulls = fz_u8(in);
	struct zsock_addrinfo hints, *res = NULL, stray;
	int flags = 0, family, socktype, protocol, rc, n = 0;
	char *host_buf = fz_str(in), *service_buf = fz_str(in);
	const char *host = (nulls & 1) ? NULL : host_buf;
	const char *service = (nulls & 2) ? NULL : service_buf;
	bool use_hints = !(nulls & 4);
	uint8_t a[16];
	enum host_kind kind;
	const struct zsock_addrinfo *ai;
	bool known = false;

	for (int i = 0; i < 7; i++)
		flags |= (fb >> i & 1) ? bits[i] : 0;
	if (fb & 0x80)
		flags |= 1 << (extra % 16);	/* AI_IDN, ..., and unknown bits */
	family = fam < 0xc0 ? families[fam % 3] : fam - 0xc0;
	socktype = typ < 0xc0 ? types[typ % 3] : typ - 0xc0;
	protocol = pro < 0xc0 ? protos[pro % 3] : pro - 0xc0;
	if (!use_hints)
		flags = family = socktype = protocol = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = flags;
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_protocol = protocol;

	if (nulls & 8) {
		errno = 0;
		rc = zsock_getaddrinfo(host, service, use_hints ? &hints : NULL, NULL);
		FZ_CHECK(rc == EAI_SYSTEM && errno == EFAULT, "res NULL: %d errno %d", rc, errno);
		goto out;
	}
	res = &stray;	/* must become NULL on an error */
	rc = zsock_getaddrinfo(host, service, use_hints ? &hints : NULL, &res);
	FZ_CHECK(zsock_gai_strerror(rc) != NULL, "gai_strerror(%d) is NULL", rc);
	kind = classify(host, flags, a);

	/* the first checks, in glibc's order */
	if (host == NULL && service == NULL) {
		FZ_CHECK(rc == EAI_NONAME, "host and service NULL: %d", rc);
	} else if (flags & ~0x7ff) {
		FZ_CHECK(rc == EAI_BADFLAGS, "unknown flags 0x%x: %d", flags, rc);
	} else if ((flags & AI_CANONNAME) && host == NULL) {
		FZ_CHECK(rc == EAI_BADFLAGS, "AI_CANONNAME without a host: %d", rc);
	} else if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
		FZ_CHECK(rc == EAI_FAMILY, "family %d: %d", family, rc);
	}
	if (rc != 0) {
		for (size_t i = 0; i < sizeof(known_codes) / sizeof(known_codes[0]); i++)
			known = known || rc == known_codes[i];
		FZ_CHECK(known, "getaddrinfo(\"%s\", \"%s\") returned %d (%s)", host ? host : "NULL",
			 service ? service : "NULL", rc, zsock_gai_strerror(rc));
		FZ_CHECK(res == NULL, "error %d with *res set", rc);
		goto out;
	}

	FZ_CHECK(res != NULL, "success without a list");
	for (ai = res; ai != NULL; ai = ai->ai_next, n++) {
		FZ_CHECK(n < 4, "more than 4 nodes, or a cycle");
		check_node(ai, n, host, service, flags, family, socktype, protocol, kind, a);
	}
	/* free the list: plainly, twice, a later node first, or then a stray node */
	switch ((nulls >> 4) & 3) {
	case 0:
		zsock_freeaddrinfo(res);
		break;
	case 1:
		zsock_freeaddrinfo(res);
		zsock_freeaddrinfo(res);
		break;
	case 2:
		zsock_freeaddrinfo(res->ai_next);
		zsock_freeaddrinfo(res);
		break;
	case 3:
		zsock_freeaddrinfo(res);
		memset(&stray, 0, sizeof(stray));
		zsock_freeaddrinfo(&stray);
		break;
	}
out:
	free(host_buf);
	free(service_buf);
}

/* ---- getnameinfo ------------------------------------------------------------ */

static void getnameinfo_mode(struct fz_in *in)
{
	uint8_t fam = fz_u8(in), lensel = fz_u8(in), fl = fz_u8(in), fl2 = fz_u8(in);
	uint8_t hsel = fz_u8(in), ssel = fz_u8(in);
	uint16_t port = fz_u16(in);
	uint32_t scope = fz_u32(in);
	uint8_t addr[16];
	struct sockaddr_storage ss;
	socklen_t salen, full;
	int family, flags = fl, rc;
	size_t hostlen = hsel & 0x80 ? NI_MAXHOST : (size_t)(hsel & 0x3f);
	size_t servlen = ssel & 0x80 ? NI_MAXSERV : (size_t)(ssel & 0x0f);
	bool host_null = hsel & 0x40, serv_null = ssel & 0x40, sa_null = lensel == 0xff;
	char *host, *serv;
	char want_host[INET6_ADDRSTRLEN];
	const void *ap;
	bool want_h, want_s;

	fz_bytes(in, addr, sizeof(addr));
	family = fam % 4 == 0 ? AF_INET : fam % 4 == 1 ? AF_INET6 : fam % 4 == 2 ? AF_UNSPEC : fam;
	if (fl2 & 1)
		flags |= 1 << (8 + (fl2 >> 1) % 8);	/* unknown bits */

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
		s6->sin6_scope_id = scope;
		full = sizeof(*s6);
		ap = &s6->sin6_addr;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
		full = sizeof(*s4);
		ap = &s4->sin_addr;
	}
	switch (lensel % 4) {
	case 0: salen = full; break;
	case 1: salen = full - 1; break;
	case 2: salen = sizeof(ss); break;
	default: salen = lensel % 32; break;
	}

	host = malloc(hostlen > 0 ? hostlen : 1);
	serv = malloc(servlen > 0 ? servlen : 1);
	if (host == NULL || serv == NULL)
		abort();
	memset(host, 0x5a, hostlen > 0 ? hostlen : 1);
	memset(serv, 0x5a, servlen > 0 ? servlen : 1);
	rc = zsock_getnameinfo(sa_null ? NULL : (struct sockaddr *)&ss, salen,
			       host_null ? NULL : host, (socklen_t)hostlen,
			       serv_null ? NULL : serv, (socklen_t)servlen, flags);
	want_h = !host_null && hostlen > 0;
	want_s = !serv_null && servlen > 0;

	if (flags & ~0xff)
		FZ_CHECK(rc == EAI_BADFLAGS, "getnameinfo flags 0x%x: %d", flags, rc);
	else if (sa_null)
		FZ_CHECK(rc == EAI_FAIL, "getnameinfo sa NULL: %d", rc);
	else if ((family != AF_INET && family != AF_INET6) || salen < full)
		FZ_CHECK(rc == EAI_FAMILY, "getnameinfo family %d salen %u: %d", family, salen, rc);
	else if (!want_h && !want_s)
		FZ_CHECK(rc == EAI_NONAME, "getnameinfo with nothing wanted: %d", rc);
	else if (want_h && (flags & NI_NAMEREQD))
		FZ_CHECK(rc == EAI_NONAME, "getnameinfo NI_NAMEREQD: %d", rc);
	else
		FZ_CHECK(rc == 0 || rc == EAI_OVERFLOW, "getnameinfo: %d", rc);

	if (rc != 0) {
		for (size_t i = 0; i < hostlen; i++)
			FZ_CHECK((uint8_t)host[i] == 0x5a, "getnameinfo %d wrote host byte %zu", rc, i);
		for (size_t i = 0; i < servlen; i++)
			FZ_CHECK((uint8_t)serv[i] == 0x5a, "getnameinfo %d wrote serv byte %zu", rc, i);
	}
	if (rc == EAI_OVERFLOW || rc == 0) {
		size_t need_h;
		bool fits_h, fits_s;
		unsigned long p;

		FZ_CHECK(zsock_inet_ntop((sa_family_t)family, ap, want_host, sizeof(want_host)) != NULL,
			 "inet_ntop");
		need_h = strlen(want_host) + 1;
		fits_h = !want_h || need_h <= hostlen;
		/* a numeric service needs at most 6 bytes, a name at most 12 */
		fits_s = !want_s || servlen >= 12 ||
			 (servlen >= 6 && (flags & NI_NUMERICSERV));
		if (fits_h && fits_s)
			FZ_CHECK(rc == 0, "getnameinfo EAI_OVERFLOW with room (host %zu, serv %zu)",
				 hostlen, servlen);
		if (!fits_h)
			FZ_CHECK(rc == EAI_OVERFLOW, "getnameinfo fit \"%s\" in %zu bytes", want_host,
				 hostlen);
		if (rc == 0 && want_h) {
			uint8_t back[16];

			FZ_CHECK(strcmp(host, want_host) == 0, "getnameinfo host \"%.*s\", want \"%s\"",
				 (int)hostlen, host, want_host);
			FZ_CHECK(zsock_inet_pton((sa_family_t)family, host, back) == 1 &&
					 memcmp(back, ap, family == AF_INET ? 4 : 16) == 0,
				 "getnameinfo host \"%s\" does not parse back", host);
		}
		if (rc == 0 && want_s) {
			FZ_CHECK(memchr(serv, 0, servlen) != NULL, "service not NUL-terminated");
			if (flags & NI_NUMERICSERV) {
				FZ_CHECK(decimal_service(serv, &p) && p == port,
					 "NI_NUMERICSERV service \"%s\" for port %u", serv, port);
			} else if (!decimal_service(serv, &p)) {
				/* a name: getaddrinfo must map it back to the port */
				struct zsock_addrinfo h = { .ai_flags = AI_PASSIVE,
							    .ai_family = AF_INET,
							    .ai_socktype = (flags & NI_DGRAM)
										   ? SOCK_DGRAM
										   : SOCK_STREAM };
				struct zsock_addrinfo *r = NULL;
				int g = zsock_getaddrinfo(NULL, serv, &h, &r);

				FZ_CHECK(g == 0 && r != NULL &&
						 ntohs(((struct sockaddr_in *)r->ai_addr)->sin_port) ==
							 port,
					 "service \"%s\" for port %u does not map back (%d)", serv,
					 port, g);
				zsock_freeaddrinfo(r);
			} else {
				FZ_CHECK(p == port, "service \"%s\" for port %u", serv, port);
			}
		}
	}
	free(host);
	free(serv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t mode = fz_u8(&in);

	if (mode & 1)
		getnameinfo_mode(&in);
	else
		getaddrinfo_mode(&in);
	check_pool_whole();
	return 0;
}
