/*
 * Fuzz target netif_spec: zs_netif_spec_parse (engine/netif/netif_spec.h),
 * the parser of ZSOCK_NETIF and zsock_engine_add_netif().
 *
 * Input: one byte for max (0 .. ZS_NETIF_MAX + 1), then the text up to the
 * first NUL. Checked, each an abort() when it fails:
 *  - the result is a count 0 .. max, -EINVAL or -ENOSPC; 0 exactly for the
 *    empty text; a count is the number of ';'-separated specs; -ENOSPC only
 *    when there are more specs than max;
 *  - every spec parsed obeys the grammar in netif_spec.h: a NUL-terminated
 *    name of 1..15 characters of [A-Za-z0-9_.-], not "." or ".."; prefixes
 *    in range; gw only with ip, inside its subnet, not equal to it; no
 *    address that cannot name one host;
 *  - printed back in the same syntax (with zsock_inet_ntop), the specs
 *    parse again to the same values.
 * The structs are on the heap, exactly max of them, so a write past out[max-1]
 * is caught by ASan.
 */
#include "engine/netif/netif_spec.h"

#include <zsock/socket.h>

#include <errno.h>

#include "fuzz.h"

static uint32_t be32(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static int ip4_host_ok(uint32_t a, unsigned int prefix)
{
	uint32_t hostmask = prefix == 32 ? 0 : 0xffffffffu >> prefix;
	uint32_t top = a >> 24, host = a & hostmask;

	if (top == 0 || top == 127 || top >= 224)
		return 0;
	return prefix > 30 || (host != 0 && host != hostmask);
}

static void check_spec(const struct zs_netif_spec *sp, const char *text)
{
	static const uint8_t zero[16], loop[16] = { [15] = 1 };
	size_t n = strnlen(sp->name, sizeof(sp->name));

	FZ_CHECK(sp->kind == ZS_NETIF_TAP, "\"%s\": kind %d", text, (int)sp->kind);
	FZ_CHECK(n >= 1 && n <= ZS_NETIF_NAME_MAX, "\"%s\": name of %zu bytes", text, n);
	FZ_CHECK(strcmp(sp->name, ".") != 0 && strcmp(sp->name, "..") != 0,
		 "\"%s\": name \"%s\"", text, sp->name);
	for (size_t i = 0; i < n; i++) {
		char c = sp->name[i];

		FZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '_' || c == '.' || c == '-',
			 "\"%s\": name byte 0x%02x", text, (unsigned char)c);
	}
	if (sp->has_ip4) {
		FZ_CHECK(sp->ip4_prefix >= 1 && sp->ip4_prefix <= 32, "\"%s\": ip prefix %u",
			 text, sp->ip4_prefix);
		FZ_CHECK(ip4_host_ok(be32(sp->ip4), sp->ip4_prefix),
			 "\"%s\": ip4 that names no host accepted", text);
	}
	if (sp->has_gw4) {
		uint32_t mask;

		FZ_CHECK(sp->has_ip4, "\"%s\": gw without ip", text);
		mask = 0xffffffffu << (32 - sp->ip4_prefix);
		FZ_CHECK(be32(sp->gw4) != be32(sp->ip4) &&
				 (be32(sp->gw4) & mask) == (be32(sp->ip4) & mask) &&
				 ip4_host_ok(be32(sp->gw4), sp->ip4_prefix),
			 "\"%s\": gw outside the subnet, equal to ip, or no host", text);
	}
	if (sp->has_ip6) {
		FZ_CHECK(sp->ip6_prefix >= 1 && sp->ip6_prefix <= 128, "\"%s\": ip6 prefix %u",
			 text, sp->ip6_prefix);
		FZ_CHECK(sp->ip6[0] != 0xff && memcmp(sp->ip6, zero, 16) != 0 &&
				 memcmp(sp->ip6, loop, 16) != 0,
			 "\"%s\": ip6 that names no host accepted", text);
	}
}

/* Append sp in the ZSOCK_NETIF syntax; returns the new end. */
static char *print_spec(char *p, const struct zs_netif_spec *sp)
{
	char a[INET6_ADDRSTRLEN];

	p += sprintf(p, "tap:%s", sp->name);
	if (sp->has_ip4) {
		FZ_CHECK(zsock_inet_ntop(AF_INET, sp->ip4, a, sizeof(a)) != NULL, "ntop ip");
		p += sprintf(p, ",ip=%s/%u", a, sp->ip4_prefix);
	}
	if (sp->has_gw4) {
		FZ_CHECK(zsock_inet_ntop(AF_INET, sp->gw4, a, sizeof(a)) != NULL, "ntop gw");
		p += sprintf(p, ",gw=%s", a);
	}
	if (sp->has_ip6) {
		FZ_CHECK(zsock_inet_ntop(AF_INET6, sp->ip6, a, sizeof(a)) != NULL, "ntop ip6");
		p += sprintf(p, ",ip6=%s/%u", a, sp->ip6_prefix);
	}
	return p;
}

static int same_spec(const struct zs_netif_spec *a, const struct zs_netif_spec *b)
{
	return a->kind == b->kind && strcmp(a->name, b->name) == 0 &&
	       a->has_ip4 == b->has_ip4 && a->has_gw4 == b->has_gw4 && a->has_ip6 == b->has_ip6 &&
	       (!a->has_ip4 || (a->ip4_prefix == b->ip4_prefix && memcmp(a->ip4, b->ip4, 4) == 0)) &&
	       (!a->has_gw4 || memcmp(a->gw4, b->gw4, 4) == 0) &&
	       (!a->has_ip6 || (a->ip6_prefix == b->ip6_prefix && memcmp(a->ip6, b->ip6, 16) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	int max = fz_u8(&in) % (ZS_NETIF_MAX + 2);
	char *text = fz_str(&in);
	struct zs_netif_spec *out = malloc(sizeof(*out) * (size_t)(max > 0 ? max : 1));
	int rc, specs = 1;

	if (out == NULL)
		abort();
	for (const char *c = text; *c != '\0'; c++)
		specs += *c == ';';
	rc = zs_netif_spec_parse(text, out, max);
	if (text[0] == '\0') {
		FZ_CHECK(rc == 0, "empty text gives %d", rc);
	} else if (rc >= 0) {
		FZ_CHECK(rc == specs && rc <= max, "\"%s\" (max %d): %d specs, the text has %d",
			 text, max, rc, specs);
	} else {
		FZ_CHECK(rc == -EINVAL || rc == -ENOSPC, "\"%s\": returned %d", text, rc);
		FZ_CHECK(rc != -ENOSPC || specs > max, "\"%s\": ENOSPC with %d specs, max %d",
			 text, specs, max);
	}

	if (rc > 0) {
		/* At most ZS_NETIF_MAX + 1 specs of at most 15 + ~100 characters each. */
		char printed[(ZS_NETIF_MAX + 1) * 160];
		struct zs_netif_spec again[ZS_NETIF_MAX + 1];
		char *p = printed;
		int rc2;

		for (int i = 0; i < rc; i++) {
			check_spec(&out[i], text);
			if (i > 0)
				*p++ = ';';
			p = print_spec(p, &out[i]);
		}
		rc2 = zs_netif_spec_parse(printed, again, rc);
		FZ_CHECK(rc2 == rc, "\"%s\" printed as \"%s\" parses to %d, not %d", text, printed,
			 rc2, rc);
		for (int i = 0; i < rc; i++)
			FZ_CHECK(same_spec(&out[i], &again[i]), "\"%s\" printed as \"%s\": spec %d differs",
				 text, printed, i);
	}
	free(out);
	free(text);
	return 0;
}
