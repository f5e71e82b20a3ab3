/*
 * The ZSOCK_NETIF parser (grammar in netif_spec.h).
 *
 * The text is never copied whole or modified: it is walked as slices
 * (pointer + length) split first on ';' (one spec each), then on ',' (the
 * name, then one key=value each), then on '=' and '/'. Only an address is
 * copied, into a small local buffer, to give zsock_inet_pton() the
 * NUL-terminated string it wants. Every rule is checked before a spec
 * counts, and a spec past max is still parsed in full, so a syntax error
 * anywhere wins over -ENOSPC: the caller learns the text is wrong before it
 * learns it is too long.
 */
#include "engine/netif/netif_spec.h"

#include <zsock/socket.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Longest address text accepted: a full IPv6 address with an IPv4 tail. */
#define ADDR_TEXT_MAX sizeof("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")

struct slice {
	const char *s;
	size_t len;
};

static bool slice_is(struct slice a, const char *lit)
{
	return a.len == strlen(lit) && memcmp(a.s, lit, a.len) == 0;
}

/* Split *rest at the first sep: the part before it is returned, *rest keeps
 * what follows (len 0 and s NULL once nothing is left). */
static struct slice slice_take(struct slice *rest, char sep)
{
	struct slice head = *rest;
	const char *hit = memchr(rest->s, sep, rest->len);

	if (hit == NULL) {
		rest->s = NULL;
		rest->len = 0;
		return head;
	}
	head.len = (size_t)(hit - rest->s);
	rest->len -= head.len + 1;
	rest->s = hit + 1;
	return head;
}

/* Decimal 1..maxv, no sign, no leading zero. Returns the value or -EINVAL. */
static int parse_prefix(struct slice t, unsigned int maxv)
{
	unsigned int v = 0;
	size_t i;

	if (t.len == 0 || t.len > 3 || t.s[0] == '0')
		return -EINVAL;
	for (i = 0; i < t.len; i++) {
		if (t.s[i] < '0' || t.s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(t.s[i] - '0');
	}
	return v <= maxv ? (int)v : -EINVAL;
}

static int parse_addr(struct slice t, sa_family_t family, void *dst)
{
	char buf[ADDR_TEXT_MAX];

	if (t.len == 0 || t.len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, t.s, t.len);
	buf[t.len] = '\0';
	return zsock_inet_pton(family, buf, dst) == 1 ? 0 : -EINVAL;
}

/* "ADDR/LEN": both parts required. */
static int parse_addr_prefix(struct slice t, sa_family_t family, void *dst,
			     uint8_t *prefix, unsigned int maxv)
{
	struct slice addr = slice_take(&t, '/');
	int len;

	if (t.s == NULL)
		return -EINVAL;		/* no '/' */
	len = parse_prefix(t, maxv);
	if (len < 0)
		return len;
	*prefix = (uint8_t)len;
	return parse_addr(addr, family, dst);
}

static bool name_ok(struct slice n)
{
	size_t i;

	if (n.len == 0 || n.len > ZS_NETIF_NAME_MAX)
		return false;
	if (slice_is(n, ".") || slice_is(n, ".."))
		return false;
	for (i = 0; i < n.len; i++) {
		char c = n.s[i];

		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

static uint32_t be32(const uint8_t a[static 4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	       (uint32_t)a[2] << 8 | (uint32_t)a[3];
}

/* Can a (host order) be one host's address in a /prefix subnet? */
static bool ip4_host_ok(uint32_t a, unsigned int prefix)
{
	uint32_t hostmask = prefix == 32 ? 0 : 0xffffffffu >> prefix;
	uint32_t top = a >> 24, host = a & hostmask;

	/* "this" network, loopback, multicast and above */
	if (top == 0 || top == 127 || top >= 224)
		return false;
	/* the subnet's network or broadcast address (none in /31, /32) */
	if (prefix <= 30 && (host == 0 || host == hostmask))
		return false;
	return true;
}

static bool ip6_host_ok(const uint8_t a[static 16])
{
	static const uint8_t zero[16], loop[16] = { [15] = 1 };

	return a[0] != 0xff && memcmp(a, zero, 16) != 0 &&
	       memcmp(a, loop, 16) != 0;
}

static int parse_key(struct slice item, struct zs_netif_spec *sp)
{
	struct slice key = slice_take(&item, '=');
	struct slice val = item;

	if (val.s == NULL)
		return -EINVAL;		/* no '=' */
	if (slice_is(key, "ip")) {
		if (sp->has_ip4)
			return -EINVAL;
		sp->has_ip4 = true;
		return parse_addr_prefix(val, AF_INET, sp->ip4,
					 &sp->ip4_prefix, 32);
	}
	if (slice_is(key, "gw")) {
		if (sp->has_gw4)
			return -EINVAL;
		sp->has_gw4 = true;
		return parse_addr(val, AF_INET, sp->gw4);
	}
	if (slice_is(key, "ip6")) {
		if (sp->has_ip6)
			return -EINVAL;
		sp->has_ip6 = true;
		return parse_addr_prefix(val, AF_INET6, sp->ip6,
					 &sp->ip6_prefix, 128);
	}
	return -EINVAL;
}

/* Rules that involve more than one key. */
static int check_spec(const struct zs_netif_spec *sp)
{
	if (sp->has_ip4 && !ip4_host_ok(be32(sp->ip4), sp->ip4_prefix))
		return -EINVAL;
	if (sp->has_gw4) {
		uint32_t ip, gw, mask;

		if (!sp->has_ip4)
			return -EINVAL;
		ip = be32(sp->ip4);
		gw = be32(sp->gw4);
		mask = 0xffffffffu << (32 - sp->ip4_prefix);
		if (gw == ip || (gw & mask) != (ip & mask) ||
		    !ip4_host_ok(gw, sp->ip4_prefix))
			return -EINVAL;
	}
	if (sp->has_ip6 && !ip6_host_ok(sp->ip6))
		return -EINVAL;
	return 0;
}

static int parse_one(struct slice text, struct zs_netif_spec *sp)
{
	struct slice head, name;
	int rc;

	memset(sp, 0, sizeof(*sp));
	head = slice_take(&text, ':');
	if (text.s == NULL || !slice_is(head, "tap"))
		return -EINVAL;
	sp->kind = ZS_NETIF_TAP;

	name = slice_take(&text, ',');
	if (!name_ok(name))
		return -EINVAL;
	memcpy(sp->name, name.s, name.len);
	sp->name[name.len] = '\0';

	while (text.s != NULL) {
		rc = parse_key(slice_take(&text, ','), sp);
		if (rc < 0)
			return rc;
	}
	return check_spec(sp);
}

/* see netif_spec.h */
int zs_netif_spec_parse(const char *text, struct zs_netif_spec *out, int max)
{
	struct slice rest = { text, strlen(text) };
	struct zs_netif_spec spare;
	int n = 0;
	bool full = false;

	if (rest.len == 0)
		return 0;
	while (rest.s != NULL) {
		struct zs_netif_spec *sp = n < max ? &out[n] : &spare;
		int rc = parse_one(slice_take(&rest, ';'), sp);

		if (rc < 0)
			return rc;
		if (n < max)
			n++;
		else
			full = true;
	}
	return full ? -ENOSPC : n;
}
