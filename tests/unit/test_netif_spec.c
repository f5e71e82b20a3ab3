/*
 * The ZSOCK_NETIF parser: the forms the docs show, then every way to get it
 * wrong, each on its own so a failure names the rule that broke.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "engine/netif/netif_spec.h"

#include <errno.h>
#include <string.h>

static struct zs_netif_spec sp[ZS_NETIF_MAX];

static int parse(const char *text)
{
	memset(sp, 0xa5, sizeof(sp));
	return zs_netif_spec_parse(text, sp, ZS_NETIF_MAX);
}

Test(netif_spec, empty_text_is_no_interface)
{
	cr_assert_eq(parse(""), 0);
}

Test(netif_spec, name_only)
{
	cr_assert_eq(parse("tap:tap0"), 1);
	cr_assert_eq(sp[0].kind, ZS_NETIF_TAP);
	cr_assert_str_eq(sp[0].name, "tap0");
	cr_assert_not(sp[0].has_ip4);
	cr_assert_not(sp[0].has_gw4);
	cr_assert_not(sp[0].has_ip6);
}

Test(netif_spec, issue_example)
{
	static const uint8_t ip[4] = { 192, 0, 2, 2 }, gw[4] = { 192, 0, 2, 1 };

	cr_assert_eq(parse("tap:tap0,ip=192.0.2.2/24,gw=192.0.2.1"), 1);
	cr_assert_str_eq(sp[0].name, "tap0");
	cr_assert(sp[0].has_ip4);
	cr_assert_eq(sp[0].ip4_prefix, 24);
	cr_assert_arr_eq(sp[0].ip4, ip, 4);
	cr_assert(sp[0].has_gw4);
	cr_assert_arr_eq(sp[0].gw4, gw, 4);
	cr_assert_not(sp[0].has_ip6);
}

Test(netif_spec, ipv6)
{
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

	cr_assert_eq(parse("tap:zt0,ip6=2001:db8::2/64"), 1);
	cr_assert(sp[0].has_ip6);
	cr_assert_eq(sp[0].ip6_prefix, 64);
	cr_assert_arr_eq(sp[0].ip6, ip6, 16);
	cr_assert_not(sp[0].has_ip4);
}

Test(netif_spec, all_keys_any_order)
{
	cr_assert_eq(parse("tap:a,ip6=2001:db8::2/64,gw=192.0.2.1,"
			   "ip=192.0.2.2/24"), 1);
	cr_assert(sp[0].has_ip4 && sp[0].has_gw4 && sp[0].has_ip6);
}

Test(netif_spec, edge_prefixes)
{
	cr_assert_eq(parse("tap:a,ip=192.0.2.2/32,ip6=2001:db8::2/128"), 1);
	cr_assert_eq(sp[0].ip4_prefix, 32);
	cr_assert_eq(sp[0].ip6_prefix, 128);
	cr_assert_eq(parse("tap:a,ip=192.0.2.2/1,ip6=2001:db8::2/1"), 1);
	/* /31 and /32 have no network or broadcast address (RFC 3021) */
	cr_assert_eq(parse("tap:a,ip=192.0.2.0/31"), 1);
	cr_assert_eq(parse("tap:a,ip=192.0.2.255/32"), 1);
}

Test(netif_spec, name_characters_and_length)
{
	cr_assert_eq(parse("tap:A-b_c.9"), 1);
	cr_assert_eq(parse("tap:123456789012345"), 1);	/* 15 */
	cr_assert_str_eq(sp[0].name, "123456789012345");
}

Test(netif_spec, several)
{
	cr_assert_eq(parse("tap:t0,ip=192.0.2.2/24,gw=192.0.2.1;"
			   "tap:t1,ip=198.51.100.2/24;"
			   "tap:t2,ip6=2001:db8:1::2/64;"
			   "tap:t3"), 4);
	cr_assert_str_eq(sp[0].name, "t0");
	cr_assert(sp[0].has_gw4);
	cr_assert_str_eq(sp[1].name, "t1");
	cr_assert_eq(sp[1].ip4[0], 198);
	cr_assert_not(sp[1].has_gw4);
	cr_assert_str_eq(sp[2].name, "t2");
	cr_assert(sp[2].has_ip6 && !sp[2].has_ip4);
	cr_assert_str_eq(sp[3].name, "t3");
}

Test(netif_spec, too_many)
{
	cr_assert_eq(parse("tap:a;tap:b;tap:c;tap:d;tap:e"), -ENOSPC);
}

Test(netif_spec, syntax_error_wins_over_too_many)
{
	cr_assert_eq(parse("tap:a;tap:b;tap:c;tap:d;tap:e,x=1"), -EINVAL);
}

Test(netif_spec, max_is_honoured)
{
	struct zs_netif_spec one[1];

	cr_assert_eq(zs_netif_spec_parse("tap:a", one, 1), 1);
	cr_assert_eq(zs_netif_spec_parse("tap:a;tap:b", one, 1), -ENOSPC);
}

/*
 * Every rejected form. Criterion runs each parameter in a fresh process and
 * copies the parameter bytes, not what they point to: hence text by value.
 */
struct bad_text {
	char text[80];
};

static const struct bad_text bad[] = {
	/* structure */
	{ ";" }, { "tap:a;" }, { ";tap:a" }, { "tap:a;;tap:b" }, { "tap" },
	{ "tap:" }, { "tun:a" }, { "TAP:a" },
	{ "tap:a," }, { "tap:a,,ip=192.0.2.2/24" }, { ",tap:a" }, { " tap:a" },
	{ "tap:a " },
	{ "tap: a" }, { "tap:a, ip=192.0.2.2/24" },
	{ "tap:a,ip =192.0.2.2/24" },
	/* names */
	{ "tap:1234567890123456" }, { "tap:." }, { "tap:.." }, { "tap:a/b" },
	{ "tap:a:b" },
	{ "tap:a b" }, { "tap:a\tb" }, { "tap:\xc3\xa9" },
	/* keys */
	{ "tap:a,foo=1" }, { "tap:a,ip" }, { "tap:a,ip=" },
	{ "tap:a,IP=192.0.2.2/24" },
	{ "tap:a,ip4=192.0.2.2/24" }, { "tap:a,gw6=2001:db8::1" },
	{ "tap:a,=1" },
	{ "tap:a,ip=192.0.2.2/24,ip=192.0.2.3/24" },
	{ "tap:a,ip=192.0.2.2/24,gw=192.0.2.1,gw=192.0.2.3" },
	{ "tap:a,ip6=2001:db8::2/64,ip6=2001:db8::3/64" },
	/* prefix lengths */
	{ "tap:a,ip=192.0.2.2" }, { "tap:a,ip=192.0.2.2/" },
	{ "tap:a,ip=192.0.2.2/0" },
	{ "tap:a,ip=192.0.2.2/33" }, { "tap:a,ip=192.0.2.2/024" },
	{ "tap:a,ip=192.0.2.2/+24" },
	{ "tap:a,ip=192.0.2.2/-1" }, { "tap:a,ip=192.0.2.2/2x" },
	{ "tap:a,ip=192.0.2.2/1000" },
	{ "tap:a,ip=192.0.2.2/24/24" }, { "tap:a,ip6=2001:db8::2" },
	{ "tap:a,ip6=2001:db8::2/0" },
	{ "tap:a,ip6=2001:db8::2/129" }, { "tap:a,ip6=2001:db8::2/064" },
	/* address text */
	{ "tap:a,ip=192.0.2/24" }, { "tap:a,ip=192.0.2.256/24" },
	{ "tap:a,ip=192.0.2.02/24" },
	{ "tap:a,ip=192.0.2.2.1/24" }, { "tap:a,ip=2001:db8::2/24" },
	{ "tap:a,ip=/24" },
	{ "tap:a,ip=192.0.2.2 /24" }, { "tap:a,ip6=192.0.2.2/64" },
	{ "tap:a,ip6=2001:db8:::2/64" },
	{ "tap:a,ip6=2001:db8::g/64" }, { "tap:a,ip6=/64" },
	{ "tap:a,ip6=1111:2222:3333:4444:5555:6666:7777:8888:9999/64" },
	{ "tap:a,ip=192.0.2.2/24,gw=192.0.2" },
	{ "tap:a,ip=192.0.2.2/24,gw=" },
	{ "tap:a,ip=192.0.2.2/24,gw=192.0.2.1/24" },
	/* addresses that cannot be a host's */
	{ "tap:a,ip=0.0.0.0/24" }, { "tap:a,ip=0.1.2.3/8" },
	{ "tap:a,ip=127.0.0.1/8" },
	{ "tap:a,ip=224.0.0.1/24" }, { "tap:a,ip=255.255.255.255/24" },
	{ "tap:a,ip=192.0.2.0/24" }, { "tap:a,ip=192.0.2.255/24" },
	{ "tap:a,ip6=::/64" }, { "tap:a,ip6=::1/128" },
	{ "tap:a,ip6=ff02::1/64" },
	/* gateways */
	{ "tap:a,gw=192.0.2.1" }, { "tap:a,gw=192.0.2.1,ip6=2001:db8::2/64" },
	{ "tap:a,ip=192.0.2.2/24,gw=192.0.2.2" },
	{ "tap:a,ip=192.0.2.2/24,gw=198.51.100.1" },
	{ "tap:a,ip=192.0.2.2/24,gw=192.0.2.255" },
	{ "tap:a,ip=192.0.2.2/24,gw=192.0.2.0" },
	{ "tap:a,ip=192.0.2.2/32,gw=192.0.2.1" },
	/* one bad spec spoils the lot */
	{ "tap:a,ip=192.0.2.2/24;tap:b,ip=192.0.2.300/24" },
};

ParameterizedTestParameters(netif_spec, rejects)
{
	return cr_make_param_array(struct bad_text, bad,
				   sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(const struct bad_text *b, netif_spec, rejects)
{
	cr_assert_eq(parse(b->text), -EINVAL, "accepted \"%s\"", b->text);
}
