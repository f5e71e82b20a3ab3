/*
 * The engine's DNS client (internal, not installed): A and AAAA lookups
 * over zsock UDP sockets, for zsock_getaddrinfo() names. See dns.c for the
 * policy (servers, retries, error mapping, order of results).
 *
 * Error codes are the platform's EAI_* values from <netdb.h> (negative on
 * glibc, so "0 or a negative EAI_* code").
 */
#ifndef ZSOCK_DNS_H
#define ZSOCK_DNS_H

#include <stddef.h>
#include <stdint.h>

/** One address from an answer: family AF_INET (4 bytes used) or AF_INET6. */
struct zs_dns_addr {
	int family;
	uint8_t addr[16];
};

#define ZS_DNS_TYPE_A     1
#define ZS_DNS_TYPE_CNAME 5
#define ZS_DNS_TYPE_AAAA  28
#define ZS_DNS_CLASS_IN   1

/** Servers used at most (ZSOCK_DNS / CONFIG_ZSOCK_DNS_SERVERS entries). */
#define ZS_DNS_MAX_SERVERS 4
/** Addresses kept per query type (A or AAAA) from one reply. */
#define ZS_DNS_MAX_ANSWERS 16
/** Longest query: 12-byte header, 255-byte name, type and class. */
#define ZS_DNS_QUERY_MAX (12 + 255 + 4)

/**
 * Resolve name into at most max addresses in out (*count of them written).
 * family: AF_UNSPEC (A and AAAA, IPv4 results first), AF_INET or AF_INET6.
 * At most ZS_DNS_MAX_ANSWERS addresses of each family are kept, in the
 * server's order. No search domains: name is looked up as given.
 * Blocks the calling thread while queries are in flight. Returns 0 (with
 * *count >= 1), or EAI_NONAME (NXDOMAIN, no answer of the wanted types, an
 * invalid name, or no server configured), EAI_AGAIN (no server answered in
 * time, or SERVFAIL), EAI_FAIL (only malformed or refused replies),
 * EAI_FAMILY (family), EAI_SYSTEM (errno EFAULT: name/out/count NULL,
 * max < 1, or no socket could be opened). Never EAI_MEMORY.
 */
int zs_dns_resolve(const char *name, int family, struct zs_dns_addr *out, int max, int *count);

/**
 * Write a standard query (RD set, one question, class IN) for name and
 * qtype into buf. name: dot-separated labels of 1..63 bytes, an optional
 * trailing dot, at most 253 characters without it. Returns the query's
 * length (> 0), EAI_NONAME for an invalid name, or EAI_OVERFLOW when len
 * is too small. Pure: no I/O.
 */
int zs_dns_build_query(uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t qtype);

/**
 * True (1) when msg is a response (QR set) to query (as built by
 * zs_dns_build_query): same id, exactly one question, equal to the query's
 * question (name compared case-insensitively, type and class). 0 otherwise.
 * The resolver drops non-matching datagrams silently (strays, spoofs).
 */
int zs_dns_reply_matches(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen);

/**
 * Parse the reply msg to a query with this id and qtype (A or AAAA).
 * Bounds-checked throughout, no allocation. Writes at most max addresses of
 * type qtype, owned by the question's name or by the end of a CNAME chain
 * starting there (CNAMEs followed within the message, up to 8 links, in
 * any record order); *count gets how many. Returns:
 *   0           NOERROR with at least one address
 *   EAI_NONAME  NXDOMAIN, or NOERROR without an address of that type
 *   EAI_AGAIN   SERVFAIL
 *   EAI_FAIL    malformed: short header, wrong id, not a response, opcode
 *               not QUERY, TC set (the truncated answer is not used: no
 *               TCP fallback), qdcount != 1, question type or class not
 *               the query's, a name that runs past the end, a label of
 *               type 01/10, a compression pointer that is not strictly
 *               backwards or points into the header, a name longer than
 *               255 bytes, a record that runs past the end, an A/AAAA
 *               record of the wrong length, a CNAME loop or chain longer
 *               than 8; also FORMERR, NOTIMP, REFUSED and other rcodes.
 * Records after the answer section are not examined.
 */
int zs_dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, uint16_t qtype,
		       struct zs_dns_addr *out, int max, int *count);

#endif
