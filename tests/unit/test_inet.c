/*
 * zsock_inet_pton / zsock_inet_ntop: fixed expectations (RFC 4291 text,
 * RFC 5952 output, the reject list of CONFORMANCE.md) and a differential
 * test against the host libc's inet_pton / inet_ntop, which on Debian is
 * glibc. Random inputs come from a fixed-seed generator so a failure
 * reproduces.
 */
#include <criterion/criterion.h>
#include <zsock/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CANARY 0x5a

/* ---- helpers ----------------------------------------------------------- */

/* xorshift64*: small, deterministic, the same on every libc. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static unsigned int rng_below(unsigned int n)
{
	return rng() % n;
}

static void words_to_bytes(const uint16_t w[8], uint8_t out[16])
{
	int i;

	for (i = 0; i < 8; i++) {
		out[2 * i] = (uint8_t)(w[i] >> 8);
		out[2 * i + 1] = (uint8_t)w[i];
	}
}

static size_t addr_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

#if CONFIG_ZSOCK_HOSTED
/* Run both implementations on s and require the same answer. */
static void diff_pton(int af, const char *s)
{
	uint8_t ours[16], ref[16];
	int r_ours, r_ref;

	memset(ours, CANARY, sizeof(ours));
	memset(ref, CANARY, sizeof(ref));
	r_ours = zsock_inet_pton((sa_family_t)af, s, ours);
	r_ref = inet_pton(af, s, ref);
	cr_assert_eq(r_ours, r_ref, "af %d \"%s\": zsock %d, libc %d", af, s,
		     r_ours, r_ref);
	if (r_ours == 1)
		cr_assert_arr_eq(ours, ref, addr_len(af), "af %d \"%s\"", af,
				 s);
	else
		cr_assert_arr_eq(ours, ref, sizeof(ours),
				 "af %d \"%s\": dst written on reject", af, s);
}

/* Format with both implementations; require the same text. */
static void diff_ntop(int af, const uint8_t *a)
{
	char ours[64], ref[64];
	const char *r_ref;
	char *r_ours;

	r_ours = zsock_inet_ntop((sa_family_t)af, a, ours, sizeof(ours));
	r_ref = inet_ntop(af, a, ref, sizeof(ref));
	cr_assert_not_null(r_ref);
	cr_assert_eq(r_ours, ours, "af %d: zsock failed on libc's \"%s\"", af,
		     ref);
	cr_assert_str_eq(ours, ref);
}
#else
/* picolibc has no inet_pton / inet_ntop: no reference to compare with */
static void diff_pton(int af, const char *s)
{
	(void)af;
	(void)s;
}

static void diff_ntop(int af, const uint8_t *a)
{
	(void)af;
	(void)a;
}
#endif

/* ---- pton: IPv4 -------------------------------------------------------- */

struct v4_case {
	const char *text;
	uint8_t bytes[4];
};

static const struct v4_case v4_valid[] = {
	{ "0.0.0.0", { 0, 0, 0, 0 } },
	{ "255.255.255.255", { 255, 255, 255, 255 } },
	{ "1.2.3.4", { 1, 2, 3, 4 } },
	{ "127.0.0.1", { 127, 0, 0, 1 } },
	{ "10.0.100.9", { 10, 0, 100, 9 } },
	{ "192.168.200.254", { 192, 168, 200, 254 } },
	{ "199.99.9.0", { 199, 99, 9, 0 } },
	{ "250.251.252.253", { 250, 251, 252, 253 } },
};

static const char *const v4_reject[] = {
	"", "0", "1", "1.2", "1.2.3", "1.2.3.4.5", "1.2.3.4.",
	"256.1.1.1", "1.256.1.1", "1.1.256.1", "1.1.1.256", "999.1.1.1",
	"1000.1.1.1", "4294967296.1.1.1", "1.2.3.99999999999999999999",
	" 1.2.3.4", "1.2.3.4 ", "\t1.2.3.4", "1.2.3.4\n", "1 .2.3.4",
	"+1.2.3.4", "-1.2.3.4", "1.2.3.-4", "1.+2.3.4",
	"0x1.2.3.4", "0X1.2.3.4", "1.2.3.0x4", "a.b.c.d", "1.2.3.4x",
	"1..2.3", "1.2..3", ".1.2.3", ".1.2.3.4", "1.2.3.", "...", "....",
	"1,2,3,4", "1.2.3.4/8", "1.2.3.4:80", "::1", "::ffff:1.2.3.4",
	/* leading zeros: glibc rejects them (octal ambiguity) */
	"01.2.3.4", "1.02.3.4", "1.2.03.4", "1.2.3.04", "00.0.0.0",
	"000.000.000.000", "001.2.3.4", "0255.1.1.1", "1.2.3.00",
};

Test(inet_pton, v4_valid)
{
	size_t i;

	for (i = 0; i < sizeof(v4_valid) / sizeof(v4_valid[0]); i++) {
		uint8_t out[4];

		memset(out, CANARY, sizeof(out));
		cr_assert_eq(zsock_inet_pton(AF_INET, v4_valid[i].text, out),
			     1, "\"%s\"", v4_valid[i].text);
		cr_assert_arr_eq(out, v4_valid[i].bytes, 4, "\"%s\"",
				 v4_valid[i].text);
		diff_pton(AF_INET, v4_valid[i].text);
	}
}

Test(inet_pton, v4_reject_leaves_dst)
{
	size_t i;

	for (i = 0; i < sizeof(v4_reject) / sizeof(v4_reject[0]); i++) {
		uint8_t out[16], canary[16];

		memset(out, CANARY, sizeof(out));
		memset(canary, CANARY, sizeof(canary));
		cr_assert_eq(zsock_inet_pton(AF_INET, v4_reject[i], out), 0,
			     "\"%s\" accepted", v4_reject[i]);
		cr_assert_arr_eq(out, canary, sizeof(out), "\"%s\"",
				 v4_reject[i]);
		diff_pton(AF_INET, v4_reject[i]);
	}
}

Test(inet_pton, v4_leading_zero_like_glibc)
{
	static const char *const in[] = {
		"01.2.3.4", "00.0.0.0", "0.0.0.00", "10.0.0.010", "0.0.0.0",
		"100.0.0.0", "1.0.0.0",
	};
	static const int want[] = { 0, 0, 0, 0, 1, 1, 1 };
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint8_t out[4];

		cr_assert_eq(zsock_inet_pton(AF_INET, in[i], out), want[i],
			     "\"%s\"", in[i]);
#if CONFIG_ZSOCK_HOSTED /* picolibc has no inet_pton */
		cr_assert_eq(inet_pton(AF_INET, in[i], out), want[i],
			     "libc on \"%s\" changed", in[i]);
#endif
	}
}

/* ---- pton: IPv6 -------------------------------------------------------- */

struct v6_case {
	const char *text;
	uint16_t w[8];
};

static const struct v6_case v6_valid[] = {
	{ "::", { 0 } },
	{ "0:0:0:0:0:0:0:0", { 0 } },
	{ "0000::", { 0 } },
	{ "::0000", { 0 } },
	{ "::1", { 0, 0, 0, 0, 0, 0, 0, 1 } },
	{ "1::", { 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ "1::8", { 1, 0, 0, 0, 0, 0, 0, 8 } },
	{ "1:2:3:4:5:6:7:8", { 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ "1:2:3:4:5:6:7::", { 1, 2, 3, 4, 5, 6, 7, 0 } },
	{ "::2:3:4:5:6:7:8", { 0, 2, 3, 4, 5, 6, 7, 8 } },
	{ "1:2:3::6:7:8", { 1, 2, 3, 0, 0, 6, 7, 8 } },
	{ "2001:db8::1", { 0x2001, 0xdb8, 0, 0, 0, 0, 0, 1 } },
	{ "2001:DB8:0:0:8:800:200C:417A",
	  { 0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a } },
	{ "FF01::101", { 0xff01, 0, 0, 0, 0, 0, 0, 0x101 } },
	{ "aBcD::eF", { 0xabcd, 0, 0, 0, 0, 0, 0, 0xef } },
	{ "0001:02:003:4::", { 1, 2, 3, 4, 0, 0, 0, 0 } },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  { 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
	    0xffff } },
	{ "fe80::202:b3ff:fe1e:8329",
	  { 0xfe80, 0, 0, 0, 0x202, 0xb3ff, 0xfe1e, 0x8329 } },
	{ "::ffff:1.2.3.4", { 0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304 } },
	{ "::FFFF:255.255.255.255",
	  { 0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff } },
	{ "::1.2.3.4", { 0, 0, 0, 0, 0, 0, 0x0102, 0x0304 } },
	{ "::0:1.2.3.4", { 0, 0, 0, 0, 0, 0, 0x0102, 0x0304 } },
	{ "::0.0.0.0", { 0 } },
	{ "1:2:3:4:5:6:1.2.3.4", { 1, 2, 3, 4, 5, 6, 0x0102, 0x0304 } },
	{ "1:2:3:4:5::1.2.3.4", { 1, 2, 3, 4, 5, 0, 0x0102, 0x0304 } },
	{ "1::2.3.4.5", { 1, 0, 0, 0, 0, 0, 0x0203, 0x0405 } },
	{ "64:ff9b::192.0.2.33", { 0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221 } },
};

static const char *const v6_reject[] = {
	"", ":", ":::", "::::", "1::2::3", "::1::", "1:::2", "12345::",
	"::12345", "00000::", "1:2:3:4:5:6:7:8:9", ":1::", ":1", "1:", "1",
	"1::2:", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
	"1::2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", ":1:2:3:4:5:6:7:8",
	"1:2:3:4:5:6:7:8:", " ::1", "::1 ", "::1\n", "\t::", "::g", "g::",
	"::-1", "+1::", "0x1::", "[::1]", "fe80::1%eth0", "::1/128",
	"1.2.3.4", "1.2.3.4::", "::1.2.3.4::", "::ffff:1.2.3",
	"::ffff:1.2.3.4.5", "::1.2.3.4:5", "::1.2.3.", "::.1.2.3",
	"::a.2.3.4", "::1.2.3.4x", "::01.2.3.4", "::ffff:001.2.3.4",
	"::ffff:256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6::1.2.3.4",
	"1:2:3:4:5:6:7:8:1.2.3.4", "1.2.3.4:1::", "::1.2.3.4.",
};

Test(inet_pton, v6_valid)
{
	size_t i;

	for (i = 0; i < sizeof(v6_valid) / sizeof(v6_valid[0]); i++) {
		uint8_t out[16], want[16];

		words_to_bytes(v6_valid[i].w, want);
		memset(out, CANARY, sizeof(out));
		cr_assert_eq(zsock_inet_pton(AF_INET6, v6_valid[i].text, out),
			     1, "\"%s\"", v6_valid[i].text);
		cr_assert_arr_eq(out, want, 16, "\"%s\"", v6_valid[i].text);
		diff_pton(AF_INET6, v6_valid[i].text);
	}
}

Test(inet_pton, v6_reject_leaves_dst)
{
	size_t i;

	for (i = 0; i < sizeof(v6_reject) / sizeof(v6_reject[0]); i++) {
		uint8_t out[16], canary[16];

		memset(out, CANARY, sizeof(out));
		memset(canary, CANARY, sizeof(canary));
		cr_assert_eq(zsock_inet_pton(AF_INET6, v6_reject[i], out), 0,
			     "\"%s\" accepted", v6_reject[i]);
		cr_assert_arr_eq(out, canary, sizeof(out), "\"%s\"",
				 v6_reject[i]);
		diff_pton(AF_INET6, v6_reject[i]);
	}
}

Test(inet_pton, families_do_not_cross)
{
	uint8_t out[16];

	cr_assert_eq(zsock_inet_pton(AF_INET, "::1", out), 0);
	cr_assert_eq(zsock_inet_pton(AF_INET, "::ffff:1.2.3.4", out), 0);
	cr_assert_eq(zsock_inet_pton(AF_INET6, "1.2.3.4", out), 0);
}

/* ---- pton: errors ------------------------------------------------------ */

Test(inet_pton, bad_family)
{
	static const int fam[] = { AF_UNSPEC, AF_UNIX, AF_PACKET, 0xffff };
	size_t i;

	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		uint8_t out[16], canary[16];

		memset(out, CANARY, sizeof(out));
		memset(canary, CANARY, sizeof(canary));
		errno = 0;
		cr_assert_eq(zsock_inet_pton((sa_family_t)fam[i], "1.2.3.4",
					     out), -1);
		cr_assert_eq(errno, EAFNOSUPPORT, "family %d", fam[i]);
		cr_assert_arr_eq(out, canary, sizeof(out));
	}
}

Test(inet_pton, null_pointers)
{
	uint8_t out[16];

	errno = 0;
	cr_assert_eq(zsock_inet_pton(AF_INET, NULL, out), -1);
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_eq(zsock_inet_pton(AF_INET6, NULL, out), -1);
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_eq(zsock_inet_pton(AF_INET, "1.2.3.4", NULL), -1);
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_eq(zsock_inet_pton(AF_INET6, "::1", NULL), -1);
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_eq(zsock_inet_pton(AF_INET6, NULL, NULL), -1);
	cr_assert_eq(errno, EFAULT);
}

/* ---- ntop -------------------------------------------------------------- */

Test(inet_ntop, v4)
{
	size_t i;

	for (i = 0; i < sizeof(v4_valid) / sizeof(v4_valid[0]); i++) {
		char buf[INET_ADDRSTRLEN];

		cr_assert_eq(zsock_inet_ntop(AF_INET, v4_valid[i].bytes, buf,
					     sizeof(buf)), buf);
		cr_assert_str_eq(buf, v4_valid[i].text);
		diff_ntop(AF_INET, v4_valid[i].bytes);
	}
}

/* RFC 5952 section 4 and the embedded-IPv4 forms glibc prints. */
static const struct v6_case v6_print[] = {
	/* 4.1: no leading zeros */
	{ "2001:db8::1", { 0x2001, 0x0db8, 0, 0, 0, 0, 0, 0x0001 } },
	{ "a:b0:c00:d000:1:10:100:1000",
	  { 0xa, 0xb0, 0xc00, 0xd000, 1, 0x10, 0x100, 0x1000 } },
	/* 4.2.1: shorten as much as possible */
	{ "2001:db8::2:1", { 0x2001, 0xdb8, 0, 0, 0, 0, 2, 1 } },
	/* 4.2.2: a single zero group is not compressed */
	{ "2001:db8:0:1:1:1:1:1", { 0x2001, 0xdb8, 0, 1, 1, 1, 1, 1 } },
	{ "1:0:2:3:4:5:6:7", { 1, 0, 2, 3, 4, 5, 6, 7 } },
	{ "0:1:2:3:4:5:6:7", { 0, 1, 2, 3, 4, 5, 6, 7 } },
	{ "1:2:3:4:5:6:7:0", { 1, 2, 3, 4, 5, 6, 7, 0 } },
	/* 4.2.3: the longest run; the first one on a tie */
	{ "2001:0:0:1::1", { 0x2001, 0, 0, 1, 0, 0, 0, 1 } },
	{ "2001:db8::1:0:0:1", { 0x2001, 0xdb8, 0, 0, 1, 0, 0, 1 } },
	{ "1::2:0:0:3:4", { 1, 0, 0, 2, 0, 0, 3, 4 } },
	{ "1:0:0:2::3", { 1, 0, 0, 2, 0, 0, 0, 3 } },
	{ "0:0:1::", { 0, 0, 1, 0, 0, 0, 0, 0 } },
	{ "::1:0:0:0", { 0, 0, 0, 0, 1, 0, 0, 0 } },
	/* 4.3: lowercase */
	{ "2001:db8::aaaa:bbbb", { 0x2001, 0xdb8, 0, 0, 0, 0, 0xaaaa, 0xbbbb } },
	{ "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
	  { 0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345,
	    0x6789 } },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  { 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
	    0xffff } },
	/* edges of "::" */
	{ "::", { 0 } },
	{ "::1", { 0, 0, 0, 0, 0, 0, 0, 1 } },
	{ "1::", { 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ "fe80::202:b3ff:fe1e:8329",
	  { 0xfe80, 0, 0, 0, 0x202, 0xb3ff, 0xfe1e, 0x8329 } },
	/* 5: v4-mapped */
	{ "::ffff:1.2.3.4", { 0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304 } },
	{ "::ffff:0.0.0.0", { 0, 0, 0, 0, 0, 0xffff, 0, 0 } },
	{ "::ffff:0.0.0.1", { 0, 0, 0, 0, 0, 0xffff, 0, 1 } },
	{ "::ffff:255.255.255.255",
	  { 0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff } },
	/* v4-compatible, as glibc: exactly the first six groups zero */
	{ "::1.2.3.4", { 0, 0, 0, 0, 0, 0, 0x0102, 0x0304 } },
	{ "::0.1.0.2", { 0, 0, 0, 0, 0, 0, 1, 2 } },
	{ "::1.2.0.0", { 0, 0, 0, 0, 0, 0, 0x0102, 0 } },
	{ "::255.255.0.0", { 0, 0, 0, 0, 0, 0, 0xffff, 0 } },
	{ "::2", { 0, 0, 0, 0, 0, 0, 0, 2 } },
	{ "::ffff", { 0, 0, 0, 0, 0, 0, 0, 0xffff } },
	/* not embedded-IPv4 */
	{ "::1:0:0", { 0, 0, 0, 0, 0, 1, 0, 0 } },
	{ "::fffe:102:304", { 0, 0, 0, 0, 0, 0xfffe, 0x0102, 0x0304 } },
	{ "::ffff:0:102:304", { 0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304 } },
	{ "1::102:304", { 1, 0, 0, 0, 0, 0, 0x0102, 0x0304 } },
	{ "64:ff9b::c000:221", { 0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221 } },
	{ "::1:102:304", { 0, 0, 0, 0, 0, 1, 0x0102, 0x0304 } },
};

Test(inet_ntop, v6_rfc5952)
{
	size_t i;

	for (i = 0; i < sizeof(v6_print) / sizeof(v6_print[0]); i++) {
		char buf[INET6_ADDRSTRLEN];
		uint8_t a[16];

		words_to_bytes(v6_print[i].w, a);
		cr_assert_eq(zsock_inet_ntop(AF_INET6, a, buf, sizeof(buf)),
			     buf, "\"%s\"", v6_print[i].text);
		cr_assert_str_eq(buf, v6_print[i].text);
		diff_ntop(AF_INET6, a);
	}
}

static void check_enospc(int af, const uint8_t *a)
{
	char full[64], buf[64];
	size_t len, size, j;

	cr_assert_not_null(zsock_inet_ntop((sa_family_t)af, a, full,
					   sizeof(full)));
	len = strlen(full);
	for (size = 0; size <= len; size++) {
		memset(buf, CANARY, sizeof(buf));
		errno = 0;
		cr_assert_null(zsock_inet_ntop((sa_family_t)af, a, buf, size),
			       "\"%s\" fit in %zu bytes", full, size);
		cr_assert_eq(errno, ENOSPC, "\"%s\" size %zu", full, size);
		for (j = size; j < sizeof(buf); j++)
			cr_assert_eq((unsigned char)buf[j], CANARY,
				     "\"%s\" size %zu: byte %zu written", full,
				     size, j);
#if CONFIG_ZSOCK_HOSTED /* picolibc has no inet_ntop */
		/* libc agrees the size is too short */
		cr_assert_null(inet_ntop(af, a, buf, size));
#endif
	}
	/* exactly enough room */
	memset(buf, CANARY, sizeof(buf));
	cr_assert_eq(zsock_inet_ntop((sa_family_t)af, a, buf, len + 1), buf);
	cr_assert_str_eq(buf, full);
	for (j = len + 1; j < sizeof(buf); j++)
		cr_assert_eq((unsigned char)buf[j], CANARY);
}

Test(inet_ntop, enospc_every_short_size)
{
	static const uint8_t v4[][4] = {
		{ 0, 0, 0, 0 }, { 1, 2, 3, 4 }, { 255, 255, 255, 255 },
	};
	size_t i;

	for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		check_enospc(AF_INET, v4[i]);
	for (i = 0; i < sizeof(v6_print) / sizeof(v6_print[0]); i++) {
		uint8_t a[16];

		words_to_bytes(v6_print[i].w, a);
		check_enospc(AF_INET6, a);
	}
}

Test(inet_ntop, bad_family)
{
	static const int fam[] = { AF_UNSPEC, AF_UNIX, AF_PACKET, 0xffff };
	uint8_t a[16] = { 1, 2, 3, 4 };
	size_t i;

	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		char buf[64], canary[64];

		memset(buf, CANARY, sizeof(buf));
		memset(canary, CANARY, sizeof(canary));
		errno = 0;
		cr_assert_null(zsock_inet_ntop((sa_family_t)fam[i], a, buf,
					       sizeof(buf)));
		cr_assert_eq(errno, EAFNOSUPPORT, "family %d", fam[i]);
		cr_assert_arr_eq(buf, canary, sizeof(buf));
	}
}

Test(inet_ntop, null_pointers)
{
	uint8_t a[16] = { 0 };
	char buf[64];

	errno = 0;
	cr_assert_null(zsock_inet_ntop(AF_INET, NULL, buf, sizeof(buf)));
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_null(zsock_inet_ntop(AF_INET6, NULL, buf, sizeof(buf)));
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_null(zsock_inet_ntop(AF_INET, a, NULL, 64));
	cr_assert_eq(errno, EFAULT);
	errno = 0;
	cr_assert_null(zsock_inet_ntop(AF_INET6, a, NULL, 0));
	cr_assert_eq(errno, EFAULT);
}

/* ---- round trips ------------------------------------------------------- */

Test(inet, round_trip_text)
{
	size_t i;

	/* text -> bytes -> canonical text -> the same bytes */
	for (i = 0; i < sizeof(v6_valid) / sizeof(v6_valid[0]); i++) {
		uint8_t a[16], b[16];
		char buf[INET6_ADDRSTRLEN];

		cr_assert_eq(zsock_inet_pton(AF_INET6, v6_valid[i].text, a), 1);
		cr_assert_not_null(zsock_inet_ntop(AF_INET6, a, buf,
						   sizeof(buf)));
		cr_assert_eq(zsock_inet_pton(AF_INET6, buf, b), 1, "\"%s\"",
			     buf);
		cr_assert_arr_eq(a, b, 16, "\"%s\" -> \"%s\"",
				 v6_valid[i].text, buf);
	}
	/* canonical text survives unchanged */
	for (i = 0; i < sizeof(v6_print) / sizeof(v6_print[0]); i++) {
		uint8_t a[16];
		char buf[INET6_ADDRSTRLEN];

		cr_assert_eq(zsock_inet_pton(AF_INET6, v6_print[i].text, a), 1,
			     "\"%s\"", v6_print[i].text);
		cr_assert_not_null(zsock_inet_ntop(AF_INET6, a, buf,
						   sizeof(buf)));
		cr_assert_str_eq(buf, v6_print[i].text);
	}
}

Test(inet, round_trip_random)
{
	int n;

	rng_seed(0x1e7a11);
	for (n = 0; n < 5000; n++) {
		int af = (n & 1) ? AF_INET6 : AF_INET;
		uint8_t a[16], b[16];
		char buf[INET6_ADDRSTRLEN];
		size_t j;

		for (j = 0; j < 16; j++)
			a[j] = (uint8_t)(rng_below(3) ? rng() : 0);
		cr_assert_not_null(zsock_inet_ntop((sa_family_t)af, a, buf,
						   sizeof(buf)));
		memset(b, CANARY, sizeof(b));
		cr_assert_eq(zsock_inet_pton((sa_family_t)af, buf, b), 1,
			     "\"%s\"", buf);
		cr_assert_arr_eq(a, b, addr_len(af), "\"%s\"", buf);
	}
}

/* ---- differential against libc ----------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* picolibc has no inet_pton / inet_ntop */
/* 16 random bytes, then zero runs of random place and length. */
static void random_addr6(uint8_t a[16])
{
	uint16_t w[8];
	int i, runs;

	for (i = 0; i < 8; i++) {
		switch (rng_below(4)) {
		case 0:
			w[i] = (uint16_t)rng_below(0x10);
			break;
		case 1:
			w[i] = (uint16_t)rng_below(0x100);
			break;
		default:
			w[i] = (uint16_t)rng();
			break;
		}
	}
	runs = (int)rng_below(4);
	while (runs-- > 0) {
		int start = (int)rng_below(8);
		int len = 1 + (int)rng_below(8 - (unsigned int)start);

		for (i = start; i < start + len; i++)
			w[i] = 0;
	}
	switch (rng_below(8)) {
	case 0:		/* v4-mapped */
		memset(w, 0, 5 * sizeof(w[0]));
		w[5] = 0xffff;
		break;
	case 1:		/* v4-compatible */
		memset(w, 0, 6 * sizeof(w[0]));
		break;
	default:
		break;
	}
	words_to_bytes(w, a);
}

Test(inet_diff, ntop6_random)
{
	int n;

	rng_seed(0xd1ff6);
	for (n = 0; n < 20000; n++) {
		uint8_t a[16];

		random_addr6(a);
		diff_ntop(AF_INET6, a);
	}
}

/* Every address whose groups are each 0, 1, 0xffff or 0x0a0b: 4^8. */
Test(inet_diff, ntop6_group_patterns)
{
	static const uint16_t vals[4] = { 0, 1, 0xffff, 0x0a0b };
	unsigned int pat;

	for (pat = 0; pat < 65536; pat++) {
		uint16_t w[8];
		uint8_t a[16];
		int i;

		for (i = 0; i < 8; i++)
			w[i] = vals[(pat >> (2 * i)) & 3];
		words_to_bytes(w, a);
		diff_ntop(AF_INET6, a);
	}
}

Test(inet_diff, ntop4_random)
{
	int n;

	rng_seed(0xd1ff4);
	for (n = 0; n < 5000; n++) {
		uint8_t a[4];
		int j;

		for (j = 0; j < 4; j++)
			a[j] = (uint8_t)(rng_below(4) ? rng() : rng_below(10));
		diff_ntop(AF_INET, a);
	}
}

static const char mutation_alphabet[] = "0123456789abcdefABCDEFgx:.:.: +-%/[]";

/* Insert, delete, replace or duplicate one character of s (len < cap). */
static void mutate(char *s, size_t cap)
{
	size_t len = strlen(s);
	size_t pos = len ? rng_below((unsigned int)len + 1) : 0;
	char c = mutation_alphabet[rng_below(sizeof(mutation_alphabet) - 1)];

	switch (rng_below(4)) {
	case 0:		/* insert */
		if (len + 1 < cap) {
			memmove(s + pos + 1, s + pos, len - pos + 1);
			s[pos] = c;
		}
		break;
	case 1:		/* delete */
		if (pos < len)
			memmove(s + pos, s + pos + 1, len - pos);
		break;
	case 2:		/* replace */
		if (pos < len)
			s[pos] = c;
		break;
	default:	/* duplicate */
		if (pos < len && len + 1 < cap)
			memmove(s + pos + 1, s + pos, len - pos + 1);
		break;
	}
}

/* A dotted-quad-ish string: 2..6 parts, odd numbers, leading zeros. */
static void random_v4_text(char *s, size_t cap)
{
	int parts = 2 + (int)rng_below(5);
	size_t len = 0;
	int i;

	s[0] = '\0';
	for (i = 0; i < parts && len + 8 < cap; i++) {
		unsigned int v;

		switch (rng_below(4)) {
		case 0:
			v = rng_below(10);
			break;
		case 1:
			v = 250 + rng_below(10);
			break;
		default:
			v = rng_below(300);
			break;
		}
		len += (size_t)snprintf(s + len, cap - len, "%s%s%u",
					i ? "." : "",
					rng_below(10) ? "" : "0", v);
	}
}

Test(inet_diff, pton_random)
{
	char s[96];
	size_t i;
	int n, af;

	/* the fixed tables first, for both families */
	for (af = 0; af < 2; af++) {
		int f = af ? AF_INET6 : AF_INET;

		for (i = 0; i < sizeof(v4_valid) / sizeof(v4_valid[0]); i++)
			diff_pton(f, v4_valid[i].text);
		for (i = 0; i < sizeof(v4_reject) / sizeof(v4_reject[0]); i++)
			diff_pton(f, v4_reject[i]);
		for (i = 0; i < sizeof(v6_valid) / sizeof(v6_valid[0]); i++)
			diff_pton(f, v6_valid[i].text);
		for (i = 0; i < sizeof(v6_reject) / sizeof(v6_reject[0]); i++)
			diff_pton(f, v6_reject[i]);
		for (i = 0; i < sizeof(v6_print) / sizeof(v6_print[0]); i++)
			diff_pton(f, v6_print[i].text);
	}

	rng_seed(0x970e);
	for (n = 0; n < 20000; n++) {
		int m, mutations;

		switch (rng_below(5)) {
		case 0: {	/* canonical IPv6 text */
			uint8_t a[16];

			random_addr6(a);
			cr_assert_not_null(inet_ntop(AF_INET6, a, s,
						     sizeof(s)));
			break;
		}
		case 1: {	/* full, uncompressed, mixed-case IPv6 text */
			uint8_t a[16];
			size_t len = 0;
			int g;

			random_addr6(a);
			for (g = 0; g < 8; g++)
				len += (size_t)snprintf(s + len,
						sizeof(s) - len,
						rng_below(2) ? "%s%X" : "%s%04x",
						g ? ":" : "",
						a[2 * g] << 8 | a[2 * g + 1]);
			break;
		}
		case 2: {	/* an IPv6 prefix with a dotted tail */
			uint8_t a[16];
			char tail[32];

			random_addr6(a);
			cr_assert_not_null(inet_ntop(AF_INET6, a, s,
						     sizeof(s)));
			random_v4_text(tail, sizeof(tail));
			s[rng_below((unsigned int)strlen(s) + 1)] = '\0';
			strncat(s, tail, sizeof(s) - strlen(s) - 1);
			break;
		}
		case 3:		/* dotted quad-ish */
			random_v4_text(s, sizeof(s));
			break;
		default:	/* one of the fixed strings */
			i = rng_below(sizeof(v6_reject) / sizeof(v6_reject[0]));
			snprintf(s, sizeof(s), "%s",
				 rng_below(2) ? v6_reject[i] :
				 v6_print[rng_below(sizeof(v6_print) /
						    sizeof(v6_print[0]))].text);
			break;
		}
		mutations = (int)rng_below(4);
		for (m = 0; m < mutations; m++)
			mutate(s, sizeof(s));
		diff_pton(AF_INET, s);
		diff_pton(AF_INET6, s);
	}
}
#endif
