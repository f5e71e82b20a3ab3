/*
 * Fuzz target dns: the DNS client's pure parts (api/zsock/dns.h) and its
 * server list parser. Nothing is sent: zs_dns_resolve is never called.
 *
 * Input, mode byte first:
 *   even  reply:  qtype selector, max, a NUL-terminated name, then the
 *                 message (to the end of the input, so a read past it is
 *                 a read past libFuzzer's buffer, which ASan catches)
 *   odd   server list: the text given to zsock_engine_set_dns()
 *
 * Checked in reply mode, each an abort() when it fails:
 *  - zs_dns_build_query succeeds exactly for a valid name (labels of
 *    1..63 bytes, 1..253 characters without one trailing dot), writes the
 *    header, labels, type and class it documents, EAI_OVERFLOW one byte
 *    short; the query turned into a reply (QR set, name in another case)
 *    matches it and parses as NODATA;
 *  - zs_dns_reply_matches says 1 exactly when the message has the query's
 *    id, QR, one question, the query's name in any case, and the same type
 *    and class;
 *  - zs_dns_parse_reply returns 0, EAI_NONAME, EAI_AGAIN or EAI_FAIL as the
 *    header allows (id, QR, rcode, qtype A/AAAA); on 0, 1..max addresses
 *    of the asked family, each present in the message; otherwise count 0;
 *    a larger max gives the same first addresses.
 * Server list mode: zsock_engine_set_dns returns 0, or -1 with EINVAL, or
 * ENAMETOOLONG exactly for 256 characters or more; the list is then reset.
 */
#define _GNU_SOURCE /* memmem, EAI_* */
#include "zsock/dns.h"

#include <zsock/engine.h>
#include <zsock/socket.h>

#include <errno.h>
#include <netdb.h>

#include "fuzz.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Valid for zs_dns_build_query: its documented rule, written out again. */
static int name_valid(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] != '.') {
			label++;
			continue;
		}
		if (label == 0 || label > 63)
			return 0;
		label = 0;
	}
	return label >= 1 && label <= 63;
}

/* Build the query for name and check it; returns its length or 0. */
static size_t check_query(uint8_t q[static ZS_DNS_QUERY_MAX], uint16_t id, const char *name,
			  uint16_t qtype)
{
	uint8_t again[ZS_DNS_QUERY_MAX];
	size_t n = strlen(name), pos = 12, i = 0;
	int rc = zs_dns_build_query(q, ZS_DNS_QUERY_MAX, id, name, qtype);

	if (!name_valid(name)) {
		FZ_CHECK(rc == EAI_NONAME, "build_query(\"%s\"): %d for an invalid name", name, rc);
		return 0;
	}
	FZ_CHECK(rc > 0 && rc <= ZS_DNS_QUERY_MAX, "build_query(\"%s\"): %d", name, rc);
	if (name[n - 1] == '.')
		n--;
	FZ_CHECK((size_t)rc == 12 + n + 2 + 4, "build_query(\"%s\"): length %d", name, rc);
	FZ_CHECK(get16(q) == id && get16(q + 2) == 0x0100 && get16(q + 4) == 1 &&
			 get16(q + 6) == 0 && get16(q + 8) == 0 && get16(q + 10) == 0,
		 "build_query(\"%s\"): header", name);
	/* the labels spell the name */
	while (q[pos] != 0) {
		size_t l = q[pos++];

		FZ_CHECK(l <= 63 && i + l <= n && memcmp(q + pos, name + i, l) == 0,
			 "build_query(\"%s\"): label at %zu", name, pos - 1);
		pos += l;
		i += l;
		FZ_CHECK(i == n || name[i] == '.', "build_query(\"%s\"): label boundary", name);
		if (i < n)
			i++;
	}
	FZ_CHECK(i == n && pos + 1 + 4 == (size_t)rc && get16(q + pos + 1) == qtype &&
			 get16(q + pos + 3) == ZS_DNS_CLASS_IN,
		 "build_query(\"%s\"): name, type or class", name);
	FZ_CHECK(zs_dns_build_query(again, (size_t)rc - 1, id, name, qtype) == EAI_OVERFLOW,
		 "build_query(\"%s\") one byte short", name);
	FZ_CHECK(zs_dns_build_query(again, (size_t)rc, id, name, qtype) == rc &&
			 memcmp(again, q, (size_t)rc) == 0,
		 "build_query(\"%s\") in exactly its size", name);
	return (size_t)rc;
}

/* The query itself as a reply, with the name's case flipped: matches, and
 * is a NOERROR reply without answers. */
static void check_echo(const uint8_t *q, size_t qlen, uint16_t qtype)
{
	uint8_t *r = malloc(qlen);
	struct zs_dns_addr out[1];
	int count = -1, rc;

	if (r == NULL)
		abort();
	memcpy(r, q, qlen);
	r[2] |= 0x80;
	for (size_t i = 12; i < qlen - 4; i++) {
		if ((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z'))
			r[i] ^= 0x20;
	}
	FZ_CHECK(zs_dns_reply_matches(r, qlen, q, qlen) == 1, "the query echoed does not match");
	rc = zs_dns_parse_reply(r, qlen, get16(q), qtype, out, 1, &count);
	if (qtype == ZS_DNS_TYPE_A || qtype == ZS_DNS_TYPE_AAAA)
		FZ_CHECK(rc == EAI_NONAME && count == 0, "echoed query: %d count %d", rc, count);
	else
		FZ_CHECK(rc == EAI_FAIL && count == 0, "echoed query, qtype %u: %d", qtype, rc);
	free(r);
}

static void check_matches(const uint8_t *msg, size_t len, const uint8_t *q, size_t qlen)
{
	int want = len >= qlen && get16(msg) == get16(q) && (msg[2] & 0x80) &&
		   get16(msg + 4) == 1 && memcmp(msg + qlen - 4, q + qlen - 4, 4) == 0;
	int rc;

	for (size_t i = 12; want && i < qlen - 4; i++)
		want = lower(msg[i]) == lower(q[i]);
	rc = zs_dns_reply_matches(msg, len, q, qlen);
	FZ_CHECK(rc == want, "reply_matches %d, want %d (type/class bytes %02x%02x %02x%02x)", rc,
		 want, len >= qlen ? msg[qlen - 4] : 0, len >= qlen ? msg[qlen - 3] : 0,
		 q[qlen - 4], q[qlen - 3]);
}

static void check_parse(const uint8_t *msg, size_t len, uint16_t id, uint16_t qtype, int max)
{
	struct zs_dns_addr *out = max > 0 ? malloc(sizeof(*out) * (size_t)max) : NULL;
	struct zs_dns_addr all[ZS_DNS_MAX_ANSWERS];
	int count = -1, count_all = -1, rc, rc_all;
	int family = qtype == ZS_DNS_TYPE_A ? AF_INET : AF_INET6;
	size_t alen = qtype == ZS_DNS_TYPE_A ? 4 : 16;

	if (max > 0 && out == NULL)
		abort();
	rc = zs_dns_parse_reply(msg, len, id, qtype, out, max, &count);
	FZ_CHECK(rc == 0 || rc == EAI_NONAME || rc == EAI_AGAIN || rc == EAI_FAIL,
		 "parse_reply returned %d", rc);
	if (qtype != ZS_DNS_TYPE_A && qtype != ZS_DNS_TYPE_AAAA)
		FZ_CHECK(rc == EAI_FAIL, "parse_reply for qtype %u: %d", qtype, rc);
	if (len < 12 || get16(msg) != id || !(msg[2] & 0x80) || (msg[2] & 0x7a) ||
	    get16(msg + 4) != 1)
		FZ_CHECK(rc == EAI_FAIL, "parse_reply of a bad header: %d", rc);
	if (rc == EAI_AGAIN)
		FZ_CHECK((msg[3] & 0x0f) == 2, "EAI_AGAIN without SERVFAIL");
	if (rc != 0) {
		FZ_CHECK(count == 0, "parse_reply %d with count %d", rc, count);
		free(out);
		return;
	}
	FZ_CHECK((msg[3] & 0x0f) == 0, "addresses from rcode %u", msg[3] & 0x0f);
	FZ_CHECK(count >= 1 && count <= max, "parse_reply 0 with count %d, max %d", count, max);
	for (int i = 0; i < count; i++) {
		FZ_CHECK(out[i].family == family, "address %d of family %d", i, out[i].family);
		FZ_CHECK(memmem(msg + 12, len - 12, out[i].addr, alen) != NULL,
			 "address %d is not in the message", i);
		for (size_t k = alen; k < sizeof(out[i].addr); k++)
			FZ_CHECK(out[i].addr[k] == 0, "address %d: byte %zu past it set", i, k);
	}
	rc_all = zs_dns_parse_reply(msg, len, id, qtype, all, ZS_DNS_MAX_ANSWERS, &count_all);
	FZ_CHECK(rc_all == 0 && count_all >= count, "max %d: %d addresses, max 16: rc %d, %d",
		 max, count, rc_all, count_all);
	for (int i = 0; i < count; i++)
		FZ_CHECK(all[i].family == out[i].family &&
				 memcmp(all[i].addr, out[i].addr, sizeof(all[i].addr)) == 0,
			 "address %d differs with a larger max", i);
	free(out);
}

static void reply_mode(struct fz_in *in, uint8_t mode)
{
	static const uint16_t types[4] = { ZS_DNS_TYPE_A, ZS_DNS_TYPE_AAAA, ZS_DNS_TYPE_CNAME, 0 };
	uint8_t sel = fz_u8(in);
	uint16_t raw = fz_u16(in);
	uint16_t qtype = types[sel % 4] != 0 ? types[sel % 4] : raw;
	int max = fz_u8(in) % (ZS_DNS_MAX_ANSWERS + 2);
	char *name = fz_str(in);
	const uint8_t *msg = in->n > 0 ? in->p : (const uint8_t *)"";
	size_t len = in->n;
	uint16_t id = len >= 2 ? get16(msg) : 0;
	uint8_t q[ZS_DNS_QUERY_MAX];
	size_t qlen;

	if (mode & 2)
		id ^= 1;	/* the wrong id */
	qlen = check_query(q, id, name, qtype);
	if (qlen > 0) {
		check_echo(q, qlen, qtype);
		check_matches(msg, len, q, qlen);
	}
	check_parse(msg, len, id, qtype, max);
	free(name);
}

static void servers_mode(struct fz_in *in)
{
	char *list = fz_str(in);
	int rc;

	errno = 0;
	rc = zsock_engine_set_dns(list);
	if (strlen(list) >= 256)
		FZ_CHECK(rc == -1 && errno == ENAMETOOLONG, "set_dns of %zu chars: %d errno %d",
			 strlen(list), rc, errno);
	else
		FZ_CHECK(rc == 0 || (rc == -1 && errno == EINVAL), "set_dns(\"%s\"): %d errno %d",
			 list, rc, errno);
	FZ_CHECK(zsock_engine_set_dns(NULL) == 0, "set_dns(NULL) failed");
	free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t mode = fz_u8(&in);

	if (mode & 1)
		servers_mode(&in);
	else
		reply_mode(&in, mode);
	return 0;
}
