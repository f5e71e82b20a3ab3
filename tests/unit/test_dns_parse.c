/*
 * The DNS client's pure parts (api/zsock/dns.c): zs_dns_build_query,
 * zs_dns_reply_matches, zs_dns_parse_reply, with replies written byte by
 * byte, and every malformation we know of: truncation at every length,
 * compression pointer loops, forward and out-of-range pointers, wrong id,
 * question, class, flags and rcodes, CNAME chains and loops. Plus the
 * resolver's paths that end before any packet is sent (server list and
 * name checks).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <zsock/zsock_config.h>
#if CONFIG_ZSOCK_HOSTED
#include <netdb.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if CONFIG_ZSOCK_HOSTED
#include <sys/socket.h>
#else
#include <zsock/socket.h>   /* no sockets in picolibc: AF_* and EAI_* are zsock's */
#endif

#include "zsock/dns.h"

/* ---- a tiny message writer ---------------------------------------------------- */

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void u8(struct msg *m, uint8_t v)
{
	cr_assert_lt(m->n, sizeof(m->b));
	m->b[m->n++] = v;
}

static void u16(struct msg *m, uint16_t v)
{
	u8(m, (uint8_t)(v >> 8));
	u8(m, (uint8_t)v);
}

static void u32(struct msg *m, uint32_t v)
{
	u16(m, (uint16_t)(v >> 16));
	u16(m, (uint16_t)v);
}

/* "a.b" as uncompressed labels with the final 0 */
static void name(struct msg *m, const char *s)
{
	while (*s != '\0') {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		u8(m, (uint8_t)l);
		for (size_t i = 0; i < l; i++)
			u8(m, (uint8_t)s[i]);
		s += l + (dot ? 1 : 0);
	}
	u8(m, 0);
}

static void ptr(struct msg *m, uint16_t off)
{
	u16(m, (uint16_t)(0xc000 | off));
}

static void header(struct msg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an)
{
	m->n = 0;
	u16(m, id);
	u16(m, flags);
	u16(m, qd);
	u16(m, an);
	u16(m, 0);
	u16(m, 0);
}

static void question(struct msg *m, const char *qname, uint16_t qtype)
{
	name(m, qname);
	u16(m, qtype);
	u16(m, 1);
}

/* type, class IN, ttl, rdlength: the owner is written before */
static void rr_head(struct msg *m, uint16_t type, uint16_t rdlen)
{
	u16(m, type);
	u16(m, 1);
	u32(m, 300);
	u16(m, rdlen);
}

static void rr_a(struct msg *m, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	rr_head(m, 1, 4);
	u8(m, a);
	u8(m, b);
	u8(m, c);
	u8(m, d);
}

#define ID 0x4d2a
#define RESP 0x8180 /* QR, RD, RA, NOERROR */

static int parse(const struct msg *m, uint16_t qtype, struct zs_dns_addr *out, int max, int *count)
{
	return zs_dns_parse_reply(m->b, m->n, ID, qtype, out, max, count);
}

static void expect_fail(const struct msg *m, uint16_t qtype, int want)
{
	struct zs_dns_addr out[4];
	int count = 77;
	int rc = parse(m, qtype, out, 4, &count);

	cr_assert_eq(rc, want, "rc %d, want %d", rc, want);
	cr_assert_eq(count, 0);
}

/* ---- queries ------------------------------------------------------------------ */

Test(dns_query, exact_bytes)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		2, 'v', '4', 4, 't', 'e', 's', 't', 0,
		0x00, 0x1c, 0x00, 0x01,
	};
	uint8_t buf[ZS_DNS_QUERY_MAX];
	int n;

	n = zs_dns_build_query(buf, sizeof(buf), 0x1234, "v4.test", ZS_DNS_TYPE_AAAA);
	cr_assert_eq(n, (int)sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
	/* a trailing dot is the same name */
	memset(buf, 0, sizeof(buf));
	n = zs_dns_build_query(buf, sizeof(buf), 0x1234, "v4.test.", ZS_DNS_TYPE_AAAA);
	cr_assert_eq(n, (int)sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
	/* exactly enough room, one byte less */
	cr_assert_eq(zs_dns_build_query(buf, sizeof(want), 1, "v4.test", 1), (int)sizeof(want));
	cr_assert_eq(zs_dns_build_query(buf, sizeof(want) - 1, 1, "v4.test", 1), EAI_OVERFLOW);
	cr_assert_eq(zs_dns_build_query(NULL, 0, 1, "v4.test", 1), EAI_OVERFLOW);
}

Test(dns_query, invalid_names)
{
	uint8_t buf[512];
	char big[300];
	const char *bad[] = { "", ".", "..", "a..b", ".a", "a..", "a.b..", NULL };

	for (int i = 0; bad[i] != NULL; i++)
		cr_assert_eq(zs_dns_build_query(buf, sizeof(buf), 1, bad[i], 1), EAI_NONAME,
			     "\"%s\"", bad[i]);
	cr_assert_eq(zs_dns_build_query(buf, sizeof(buf), 1, NULL, 1), EAI_NONAME);

	/* labels of 63 bytes are fine, 64 not */
	memset(big, 'a', 63);
	big[63] = '\0';
	cr_assert_gt(zs_dns_build_query(buf, sizeof(buf), 1, big, 1), 0);
	memset(big, 'a', 64);
	big[64] = '\0';
	cr_assert_eq(zs_dns_build_query(buf, sizeof(buf), 1, big, 1), EAI_NONAME);

	/* 253 characters (255 on the wire) are fine, 254 not */
	for (int i = 0; i < 253; i++)
		big[i] = i % 2 ? '.' : 'a';
	big[253] = '\0';
	cr_assert_eq(zs_dns_build_query(buf, sizeof(buf), 1, big, 1), 12 + 255 + 4);
	big[253] = '.';
	big[254] = '\0';
	cr_assert_eq(zs_dns_build_query(buf, sizeof(buf), 1, big, 1), 12 + 255 + 4,
		     "a trailing dot does not count");
	memset(big, 'a', 254);
	for (int i = 1; i < 254; i += 2)
		big[i] = '.';
	big[253] = 'b';
	big[254] = '\0';
	cr_assert_eq(zs_dns_build_query(buf, sizeof(buf), 1, big, 1), EAI_NONAME);
}

Test(dns_query, reply_matches)
{
	uint8_t q[ZS_DNS_QUERY_MAX];
	struct msg m;
	int n = zs_dns_build_query(q, sizeof(q), ID, "v4.test", 1);

	cr_assert_gt(n, 0);
	header(&m, ID, RESP, 1, 0);
	question(&m, "V4.Test", 1);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)n), 1, "case does not matter");
	header(&m, ID + 1, RESP, 1, 0);
	question(&m, "v4.test", 1);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)n), 0, "id");
	header(&m, ID, 0x0100, 1, 0);
	question(&m, "v4.test", 1);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)n), 0, "QR clear");
	header(&m, ID, RESP, 1, 0);
	question(&m, "v5.test", 1);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)n), 0, "name");
	header(&m, ID, RESP, 1, 0);
	question(&m, "v4.test", 28);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)n), 0, "type");
	header(&m, ID, RESP, 0, 0);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)n), 0, "no question");
	header(&m, ID, RESP, 1, 0);
	question(&m, "v4.test", 1);
	cr_assert_eq(zs_dns_reply_matches(m.b, m.n - 1, q, (size_t)n), 0, "short");
	/* letters of the name fold, type and class bytes do not: 0x41 ('A')
	 * and 0x61 ('a') are different types (found by fuzz/fuzz_dns.c) */
	{
		int qa = zs_dns_build_query(q, sizeof(q), ID, "v4.test", 0x0041);

		cr_assert_gt(qa, 0);
		header(&m, ID, RESP, 1, 0);
		question(&m, "v4.test", 0x0061);
		cr_assert_eq(zs_dns_reply_matches(m.b, m.n, q, (size_t)qa), 0, "type 0x61 vs 0x41");
	}
}

/* ---- good replies ---------------------------------------------------------------- */

/* v4.test A: two answers, owners compressed to the question */
static const uint8_t good_a[] = {
	0x4d, 0x2a, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	2, 'v', '4', 4, 't', 'e', 's', 't', 0, 0x00, 0x01, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04,
	192, 0, 2, 10,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04,
	192, 0, 2, 11,
};

/* v6only.test AAAA, owner written out in upper case */
static const uint8_t good_aaaa[] = {
	0x4d, 0x2a, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	6, 'v', '6', 'o', 'n', 'l', 'y', 4, 't', 'e', 's', 't', 0, 0x00, 0x1c, 0x00, 0x01,
	6, 'V', '6', 'O', 'N', 'L', 'Y', 4, 'T', 'E', 'S', 'T', 0,
	0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x10,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

/* www.test CNAME a.test, a.test CNAME b.test, b.test A 192.0.2.20, and an
 * A record for another owner that must be ignored; the CNAME data and
 * owners use pointers into earlier names */
static void cname_chain(struct msg *m, bool reversed)
{
	size_t a_name, b_name;

	header(m, ID, RESP, 1, 4);
	question(m, "www.test", 1);	/* www at 12, test at 16 */
	if (!reversed) {
		ptr(m, 12);				/* www.test */
		rr_head(m, 5, 4);
		u8(m, 1);
		a_name = m->n - 1;			/* "a" label at a_name */
		u8(m, 'a');
		ptr(m, 16);				/* a.test */
		ptr(m, (uint16_t)a_name);		/* a.test */
		rr_head(m, 5, 4);
		b_name = m->n;
		u8(m, 1);
		u8(m, 'b');
		ptr(m, 16);				/* b.test */
		ptr(m, (uint16_t)b_name);
		rr_a(m, 192, 0, 2, 20);
		name(m, "c.test");
		rr_a(m, 192, 0, 2, 99);
	} else {
		/* the address first, then the links from the end */
		name(m, "b.test");
		b_name = 12 + 10 + 4;		/* right after the question */
		rr_a(m, 192, 0, 2, 20);
		name(m, "a.test");
		a_name = m->n - 8;
		rr_head(m, 5, 2);
		ptr(m, (uint16_t)b_name);
		ptr(m, 12);
		rr_head(m, 5, 2);
		ptr(m, (uint16_t)a_name);
		name(m, "c.test");
		rr_a(m, 192, 0, 2, 99);
	}
}

Test(dns_parse, a_records)
{
	struct zs_dns_addr out[4];
	int count = -1;

	cr_assert_eq(zs_dns_parse_reply(good_a, sizeof(good_a), ID, 1, out, 4, &count), 0);
	cr_assert_eq(count, 2);
	cr_assert_eq(out[0].family, AF_INET);
	cr_assert_arr_eq(out[0].addr, ((uint8_t[]){ 192, 0, 2, 10 }), 4);
	cr_assert_eq(out[1].family, AF_INET);
	cr_assert_arr_eq(out[1].addr, ((uint8_t[]){ 192, 0, 2, 11 }), 4);
	/* room for one */
	cr_assert_eq(zs_dns_parse_reply(good_a, sizeof(good_a), ID, 1, out, 1, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_arr_eq(out[0].addr, ((uint8_t[]){ 192, 0, 2, 10 }), 4);
}

Test(dns_parse, aaaa_only)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };
	struct zs_dns_addr out[4];
	int count = -1;

	cr_assert_eq(zs_dns_parse_reply(good_aaaa, sizeof(good_aaaa), ID, 28, out, 4, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(out[0].family, AF_INET6);
	cr_assert_arr_eq(out[0].addr, want, 16);
	/* the same reply read as an answer to an A query: question type differs */
	cr_assert_eq(zs_dns_parse_reply(good_aaaa, sizeof(good_aaaa), ID, 1, out, 4, &count),
		     EAI_FAIL);
}

Test(dns_parse, cname_chain_in_order_and_reversed)
{
	for (int rev = 0; rev < 2; rev++) {
		struct zs_dns_addr out[4];
		struct msg m;
		int count = -1;

		cname_chain(&m, rev);
		cr_assert_eq(parse(&m, 1, out, 4, &count), 0, "reversed %d", rev);
		cr_assert_eq(count, 1, "the unrelated c.test A record is ignored");
		cr_assert_arr_eq(out[0].addr, ((uint8_t[]){ 192, 0, 2, 20 }), 4);
	}
}

Test(dns_parse, cname_without_address_is_nodata)
{
	struct msg m;

	header(&m, ID, RESP, 1, 1);
	question(&m, "www.test", 1);
	ptr(&m, 12);
	rr_head(&m, 5, 8);
	name(&m, "a.test");
	expect_fail(&m, 1, EAI_NONAME);
}

static void chain_of(struct msg *m, int links)
{
	char owner[32], target[32];

	header(m, ID, RESP, 1, (uint16_t)(links + 1));
	question(m, "n0.test", 1);
	for (int i = 0; i < links; i++) {
		snprintf(owner, sizeof(owner), "n%d.test", i);
		snprintf(target, sizeof(target), "n%d.test", i + 1);
		name(m, owner);
		rr_head(m, 5, (uint16_t)(strlen(target) + 2));
		name(m, target);
	}
	snprintf(owner, sizeof(owner), "n%d.test", links);
	name(m, owner);
	rr_a(m, 192, 0, 2, 30);
}

Test(dns_parse, cname_chain_limit_and_loop)
{
	struct zs_dns_addr out[2];
	struct msg m;
	int count;

	chain_of(&m, 8);
	cr_assert_eq(parse(&m, 1, out, 2, &count), 0, "8 links are followed");
	cr_assert_eq(count, 1);
	chain_of(&m, 9);
	expect_fail(&m, 1, EAI_FAIL);

	/* www.test -> a.test -> www.test */
	header(&m, ID, RESP, 1, 3);
	question(&m, "www.test", 1);
	name(&m, "www.test");
	rr_head(&m, 5, 8);
	name(&m, "a.test");
	name(&m, "a.test");
	rr_head(&m, 5, 10);
	name(&m, "www.test");
	name(&m, "www.test");
	rr_a(&m, 192, 0, 2, 1);
	expect_fail(&m, 1, EAI_FAIL);
}

/* ---- rcodes, flags, question ------------------------------------------------------- */

static void empty_reply(struct msg *m, uint16_t flags)
{
	header(m, ID, flags, 1, 0);
	question(m, "nx.test", 1);
}

Test(dns_parse, rcodes)
{
	struct msg m;

	empty_reply(&m, 0x8183);
	expect_fail(&m, 1, EAI_NONAME);	/* NXDOMAIN */
	empty_reply(&m, 0x8180);
	expect_fail(&m, 1, EAI_NONAME);	/* NOERROR, no answer (NODATA) */
	empty_reply(&m, 0x8182);
	expect_fail(&m, 1, EAI_AGAIN);	/* SERVFAIL */
	empty_reply(&m, 0x8181);
	expect_fail(&m, 1, EAI_FAIL);	/* FORMERR */
	empty_reply(&m, 0x8184);
	expect_fail(&m, 1, EAI_FAIL);	/* NOTIMP */
	empty_reply(&m, 0x8185);
	expect_fail(&m, 1, EAI_FAIL);	/* REFUSED */
	empty_reply(&m, 0x818f);
	expect_fail(&m, 1, EAI_FAIL);
}

Test(dns_parse, only_other_types_is_nodata)
{
	struct msg m;

	/* an A query answered with an AAAA record only */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	rr_head(&m, 28, 16);
	for (int i = 0; i < 16; i++)
		u8(&m, (uint8_t)i);
	expect_fail(&m, 1, EAI_NONAME);
	/* an A record of class CH is not an address */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	u16(&m, 1);
	u16(&m, 3);
	u32(&m, 0);
	u16(&m, 4);
	u32(&m, 0xc0000201);
	expect_fail(&m, 1, EAI_NONAME);
}

Test(dns_parse, header_and_question)
{
	struct zs_dns_addr out[4];
	struct msg m;
	int count;

	cr_assert_eq(zs_dns_parse_reply(good_a, sizeof(good_a), ID + 1, 1, out, 4, &count),
		     EAI_FAIL, "wrong id");
	cr_assert_eq(count, 0);

	memcpy(m.b, good_a, sizeof(good_a));
	m.n = sizeof(good_a);
	m.b[2] = 0x01; /* QR clear */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[2] = 0x83; /* TC */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[2] = 0x81 | (2 << 3); /* opcode STATUS */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[2] = 0x81;
	m.b[5] = 0; /* qdcount 0 */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[5] = 2; /* qdcount 2 */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[5] = 1;
	m.b[24] = 3; /* qclass CH */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[24] = 1;
	m.b[22] = 28; /* qtype AAAA */
	expect_fail(&m, 1, EAI_FAIL);
	m.b[22] = 1;
	cr_assert_eq(parse(&m, 1, out, 4, &count), 0, "restored");
	cr_assert_eq(parse(&m, 5, out, 4, &count), EAI_FAIL, "only A and AAAA are parsed");
	cr_assert_eq(zs_dns_parse_reply(NULL, 10, ID, 1, out, 4, &count), EAI_FAIL);
	cr_assert_eq(zs_dns_parse_reply(m.b, m.n, ID, 1, out, 4, NULL), EAI_FAIL);
}

/* ---- malformations --------------------------------------------------------------- */

static void truncate_all(const uint8_t *good, size_t len, uint16_t qtype)
{
	/* every prefix in a buffer of exactly that size, so ASan sees any
	 * read past the end */
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct zs_dns_addr out[4];
		int count = 77, rc;

		memcpy(copy, good, n);
		rc = zs_dns_parse_reply(copy, n, ID, qtype, out, 4, &count);
		free(copy);
		cr_assert_eq(rc, EAI_FAIL, "cut at %zu of %zu: rc %d", n, len, rc);
		cr_assert_eq(count, 0);
	}
}

Test(dns_parse, truncation_at_every_length)
{
	struct msg m;

	truncate_all(good_a, sizeof(good_a), 1);
	truncate_all(good_aaaa, sizeof(good_aaaa), 28);
	cname_chain(&m, false);
	truncate_all(m.b, m.n, 1);
	cname_chain(&m, true);
	truncate_all(m.b, m.n, 1);
}

Test(dns_parse, compression_pointers)
{
	struct msg m;
	size_t at;

	/* owner is a pointer to itself */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	at = m.n;
	ptr(&m, (uint16_t)at);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* two names pointing at each other: label "x" then a pointer to the
	 * next name, which points back at the first */
	header(&m, ID, RESP, 1, 2);
	question(&m, "v4.test", 1);
	at = m.n;
	u8(&m, 1);
	u8(&m, 'x');
	ptr(&m, (uint16_t)(at + 4 + 10 + 4));
	rr_a(&m, 1, 2, 3, 4);
	ptr(&m, (uint16_t)at);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* a label then a pointer back to that label: a loop behind a label */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	at = m.n;
	u8(&m, 1);
	u8(&m, 'x');
	ptr(&m, (uint16_t)at);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* forward pointer to a well-formed name later on */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, (uint16_t)(m.n + 2 + 14));
	rr_a(&m, 1, 2, 3, 4);
	name(&m, "v4.test");
	expect_fail(&m, 1, EAI_FAIL);

	/* out of range */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 0x3fff);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* into the header */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 4);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* the question itself compressed (it can only point into the header) */
	header(&m, ID, RESP, 1, 0);
	ptr(&m, 0);
	u16(&m, 1);
	u16(&m, 1);
	expect_fail(&m, 1, EAI_FAIL);

	/* a pointer chain that goes backwards every hop is fine: the owner
	 * is "v4" then a pointer to "test" in the question */
	{
		struct zs_dns_addr out[2];
		int count;
		struct msg g;

		header(&g, ID, RESP, 1, 1);
		question(&g, "v4.test", 1);
		u8(&g, 2);
		u8(&g, 'v');
		u8(&g, '4');
		ptr(&g, 15);
		rr_a(&g, 1, 2, 3, 4);
		cr_assert_eq(parse(&g, 1, out, 2, &count), 0);
		cr_assert_eq(count, 1);
	}
}

Test(dns_parse, bad_labels_and_records)
{
	struct msg m;
	char label[64];

	/* label type 01 and 10 */
	for (int t = 0; t < 2; t++) {
		header(&m, ID, RESP, 1, 1);
		question(&m, "v4.test", 1);
		u8(&m, t ? 0x80 : 0x40);
		u8(&m, 0);
		rr_a(&m, 1, 2, 3, 4);
		expect_fail(&m, 1, EAI_FAIL);
	}

	/* an A record of 5 bytes, an AAAA of 4 */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	rr_head(&m, 1, 5);
	u32(&m, 0xc0000201);
	u8(&m, 0);
	expect_fail(&m, 1, EAI_FAIL);
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 28);
	ptr(&m, 12);
	rr_head(&m, 28, 4);
	u32(&m, 0xc0000201);
	expect_fail(&m, 28, EAI_FAIL);

	/* rdlength past the end */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	rr_head(&m, 16, 200);
	u32(&m, 0);
	expect_fail(&m, 1, EAI_FAIL);

	/* a malformed record after the good one still fails the reply */
	header(&m, ID, RESP, 1, 2);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	rr_a(&m, 1, 2, 3, 4);
	ptr(&m, 0x3ff0);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* a CNAME whose data is not exactly one name */
	header(&m, ID, RESP, 1, 2);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	rr_head(&m, 5, 9);
	name(&m, "a.test");
	u8(&m, 0);
	name(&m, "a.test");
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);

	/* a CNAME name running past its data into the next bytes */
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	ptr(&m, 12);
	rr_head(&m, 5, 3);
	name(&m, "a.test");
	expect_fail(&m, 1, EAI_FAIL);

	/* an owner name of 257 bytes: 4 labels of 63 plus a 1-byte label */
	memset(label, 'a', 63);
	label[63] = '\0';
	header(&m, ID, RESP, 1, 1);
	question(&m, "v4.test", 1);
	for (int i = 0; i < 4; i++) {
		u8(&m, 63);
		for (int k = 0; k < 63; k++)
			u8(&m, 'a');
	}
	u8(&m, 1);
	u8(&m, 'b');
	u8(&m, 0);
	rr_a(&m, 1, 2, 3, 4);
	expect_fail(&m, 1, EAI_FAIL);
}

/* Random corruptions of good replies: never a crash, and a success always
 * has 1..max addresses of the asked family. */
Test(dns_parse, random_corruption)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	struct msg base[4];
	const uint16_t types[4] = { 1, 28, 1, 1 };

	memcpy(base[0].b, good_a, sizeof(good_a));
	base[0].n = sizeof(good_a);
	memcpy(base[1].b, good_aaaa, sizeof(good_aaaa));
	base[1].n = sizeof(good_aaaa);
	cname_chain(&base[2], false);
	cname_chain(&base[3], true);
	for (int iter = 0; iter < 200000; iter++) {
		int k = iter % 4, flips, count, rc;
		struct zs_dns_addr out[3];
		struct msg m = base[k];
		uint8_t *heap;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		flips = 1 + (int)(s % 4);
		for (int f = 0; f < flips; f++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			m.b[(s >> 8) % m.n] = (uint8_t)(s >> 32);
		}
		if ((s >> 40) % 4 == 0)
			m.n = (s >> 44) % m.n;
		heap = malloc(m.n ? m.n : 1);
		memcpy(heap, m.b, m.n);
		rc = zs_dns_parse_reply(heap, m.n, ID, types[k], out, 3, &count);
		free(heap);
		if (rc == 0) {
			cr_assert(count >= 1 && count <= 3);
			for (int i = 0; i < count; i++)
				cr_assert_eq(out[i].family, types[k] == 1 ? AF_INET : AF_INET6);
		} else {
			cr_assert(rc == EAI_FAIL || rc == EAI_NONAME || rc == EAI_AGAIN);
			cr_assert_eq(count, 0);
		}
	}
}

/* ---- the resolver's offline paths ---------------------------------------------------- */

Test(dns_resolve, configuration_and_arguments)
{
	struct zs_dns_addr out[4];
	int count = 5;

	setenv("ZSOCK_DNS", "", 1);
	cr_assert_eq(zs_dns_resolve("v4.test", AF_UNSPEC, out, 4, &count), EAI_NONAME,
		     "no server: names do not resolve");
	cr_assert_eq(count, 0);
	const char *bad[] = { "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:x", "[192.0.2.1]:53",
			      "[2001:db8::1", "[2001:db8::1]x", "2001:db8::zz", "host.test",
			      "192.0.2.1, nope", "192.0.2.1:", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		setenv("ZSOCK_DNS", bad[i], 1);
		cr_assert_eq(zs_dns_resolve("v4.test", AF_INET, out, 4, &count), EAI_FAIL,
			     "ZSOCK_DNS=\"%s\"", bad[i]);
	}
	setenv("ZSOCK_DNS", "192.0.2.1", 1);
	cr_assert_eq(zs_dns_resolve("a..b", AF_INET, out, 4, &count), EAI_NONAME);
	cr_assert_eq(zs_dns_resolve("v4.test", AF_UNIX, out, 4, &count), EAI_FAMILY);
	cr_assert_eq(zs_dns_resolve(NULL, AF_INET, out, 4, &count), EAI_SYSTEM);
	cr_assert_eq(zs_dns_resolve("v4.test", AF_INET, out, 0, &count), EAI_SYSTEM);
	cr_assert_eq(zs_dns_resolve("v4.test", AF_INET, NULL, 4, &count), EAI_SYSTEM);
	cr_assert_eq(zs_dns_resolve("v4.test", AF_INET, out, 4, NULL), EAI_SYSTEM);
}
