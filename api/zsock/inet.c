/*
 * zsock_inet_pton / zsock_inet_ntop: text <-> binary IPv4 and IPv6 addresses.
 *
 * Both directions are small hand-written scanners and printers: no locale,
 * no allocation, no stdio. Each works in a local buffer and copies to the
 * caller's only once the whole result is known to be good, so a rejected
 * input leaves dst untouched and a short buffer is never written at all.
 *
 * The accepted and printed forms are those of glibc on Linux, checked by a
 * differential test (tests/unit/test_inet.c):
 *
 *  - IPv4 text is exactly four decimal parts 0..255 split by '.', nothing
 *    else: no sign, no hex, no spaces, no empty part. A part with a leading
 *    zero ("01", "00") is rejected, since some parsers read it as octal.
 *  - IPv6 text is RFC 4291 section 2.2: up to eight groups of 1..4 hex
 *    digits (either case), at most one "::" standing for one or more zero
 *    groups, and optionally a dotted IPv4 tail (same rules as above) as the
 *    last 32 bits. A lone leading or trailing ':' is rejected, and so is a
 *    "::" that would stand for no group at all.
 *  - IPv6 output is RFC 5952 section 4: lowercase, no leading zeros, the
 *    longest run of two or more zero groups as "::" (the first on a tie), a
 *    single zero group printed as "0". The last 32 bits print as a dotted
 *    quad for ::ffff:0:0/96 (v4-mapped) and, as glibc does, for the
 *    deprecated v4-compatible form, i.e. when exactly the first six groups
 *    are zero ("::1.2.3.4"; "::1" and "::2" stay as they are since there
 *    seven groups are zero).
 *
 * Deviation: POSIX leaves a NULL src or dst undefined; here it fails with
 * EFAULT instead of crashing. The family is checked first.
 */
#include <zsock/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define INET6_TEXT_MAX sizeof("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")

/* Parse a whole dotted quad ending at the NUL. Returns 1 or 0. */
static int pton4(const char *s, uint8_t out[static 4])
{
	uint8_t tmp[4];
	int part;

	for (part = 0; part < 4; part++) {
		unsigned int v = 0;
		int digits = 0;

		if (part > 0) {
			if (*s != '.')
				return 0;
			s++;
		}
		while (*s >= '0' && *s <= '9') {
			if (digits > 0 && v == 0)
				return 0;	/* leading zero */
			v = v * 10 + (unsigned int)(*s - '0');
			if (v > 255)
				return 0;
			digits++;
			s++;
		}
		if (digits == 0)
			return 0;
		tmp[part] = (uint8_t)v;
	}
	if (*s != '\0')
		return 0;
	memcpy(out, tmp, sizeof(tmp));
	return 1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Groups are stored left to right in tmp; gap remembers the byte offset of
 * the "::". At the end the bytes after the gap slide right to fill 16.
 */
static int pton6(const char *s, uint8_t out[static 16])
{
	uint8_t tmp[16];
	int n = 0;		/* bytes filled in tmp */
	int gap = -1;		/* byte offset of "::", -1 if none */

	if (*s == ':') {
		if (s[1] != ':')
			return 0;
		gap = 0;
		s += 2;
		if (*s == '\0')
			goto done;
	}
	for (;;) {
		const char *group = s;
		unsigned int v = 0;
		int digits = 0;
		int h;

		while ((h = hex_value(*s)) >= 0) {
			if (digits == 4)
				return 0;
			v = (v << 4) | (unsigned int)h;
			digits++;
			s++;
		}
		if (*s == '.') {
			/* IPv4 tail: re-read this group as a dotted quad. */
			if (n > 12 || !pton4(group, tmp + n))
				return 0;
			n += 4;
			break;
		}
		if (digits == 0 || n == 16)
			return 0;
		tmp[n++] = (uint8_t)(v >> 8);
		tmp[n++] = (uint8_t)v;
		if (*s == '\0')
			break;
		if (*s != ':')
			return 0;
		s++;
		if (*s == ':') {
			if (gap >= 0)
				return 0;
			gap = n;
			s++;
			if (*s == '\0')
				break;
		}
	}
done:
	if (gap >= 0) {
		if (n == 16)
			return 0;	/* "::" must stand for a group */
		memmove(tmp + gap + (16 - n), tmp + gap, (size_t)(n - gap));
		memset(tmp + gap, 0, (size_t)(16 - n));
	} else if (n != 16) {
		return 0;
	}
	memcpy(out, tmp, sizeof(tmp));
	return 1;
}

/* see zsock/socket.h */
int zsock_inet_pton(sa_family_t family, const char *src, void *dst)
{
	if (family != AF_INET && family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (src == NULL || dst == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (family == AF_INET)
		return pton4(src, dst);
	return pton6(src, dst);
}

/* Append the decimal form of v (0..255); returns the new end. */
static char *put_dec8(char *p, unsigned int v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *put_quad(char *p, const uint8_t a[static 4])
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*p++ = '.';
		p = put_dec8(p, a[i]);
	}
	return p;
}

/* Append v (0..0xffff) in lowercase hex without leading zeros. */
static char *put_hex16(char *p, unsigned int v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = digits[(v >> shift) & 0xf];
	return p;
}

/* Writes the NUL-terminated text into buf; returns its length. */
static size_t ntop4(const uint8_t a[static 4], char *buf)
{
	char *p = put_quad(buf, a);

	*p = '\0';
	return (size_t)(p - buf);
}

static size_t ntop6(const uint8_t a[static 16], char *buf)
{
	unsigned int w[8];
	int best = -1, best_len = 0;
	int run = -1, run_len = 0;
	int quad;
	char *p = buf;
	int i;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];

	/* Longest run of zero groups; strict '>' keeps the first on a tie. */
	for (i = 0; i < 8; i++) {
		if (w[i] != 0) {
			run = -1;
			continue;
		}
		if (run < 0) {
			run = i;
			run_len = 0;
		}
		run_len++;
		if (run_len > best_len) {
			best = run;
			best_len = run_len;
		}
	}
	if (best_len < 2) {
		best = -1;	/* a single zero group is not compressed */
		best_len = 0;
	}

	/* v4-compatible (::a.b.c.d) or v4-mapped (::ffff:a.b.c.d) */
	quad = best == 0 &&
	       (best_len == 6 || (best_len == 5 && w[5] == 0xffff));

	for (i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best) {
				*p++ = ':';
				*p++ = ':';
			}
			continue;
		}
		if (i > 0 && i != best + best_len)
			*p++ = ':';
		if (quad && i == 6) {
			p = put_quad(p, a + 12);
			break;
		}
		p = put_hex16(p, w[i]);
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* see zsock/socket.h */
char *zsock_inet_ntop(sa_family_t family, const void *src, char *dst,
		      size_t size)
{
	char buf[INET6_TEXT_MAX];
	size_t len;

	if (family != AF_INET && family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if (src == NULL || dst == NULL) {
		errno = EFAULT;
		return NULL;
	}
	if (family == AF_INET)
		len = ntop4(src, buf);
	else
		len = ntop6(src, buf);
	if (len >= size) {
		errno = ENOSPC;
		return NULL;
	}
	memcpy(dst, buf, len + 1);
	return dst;
}

#if !CONFIG_ZSOCK_HOSTED
/* <zsock/net_types.h>: the C library has no sockets to define them */
const struct in6_addr in6addr_any = IN6ADDR_ANY_INIT;
const struct in6_addr in6addr_loopback = IN6ADDR_LOOPBACK_INIT;
#endif
