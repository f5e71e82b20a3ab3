/*
 * Interface specs: the text of ZSOCK_NETIF and zsock_engine_add_netif(),
 * parsed into plain structs. Pure: no lwIP, no OS call, no allocation, so
 * it is tested on its own and runs in any thread.
 *
 * Grammar (no white space anywhere; keys in any order, each at most once):
 *
 *     specs  = spec *( ";" spec )
 *     spec   = "tap:" NAME *( "," key "=" value )
 *     key    = "ip"  (A.B.C.D/LEN, LEN 1..32)
 *            | "gw"  (A.B.C.D, inside ip's subnet, requires ip)
 *            | "ip6" (IPv6 text/LEN, LEN 1..128)
 *
 * NAME is 1..15 characters (IFNAMSIZ - 1) of [A-Za-z0-9_.-], not "." or
 * "..". Addresses are read with zsock_inet_pton(), so they follow its rules
 * (no leading zeros in a dotted quad). A prefix length is plain decimal
 * without a leading zero. Addresses that can never name one host are
 * refused: IPv4 0/8, 127/8, 224/4 and up, the subnet's network and broadcast
 * addresses (for LEN <= 30); IPv6 ::, ::1 and ff00::/8.
 */
#ifndef ZSOCK_NETIF_SPEC_H
#define ZSOCK_NETIF_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <zsock/zsock_config.h>

/* Interfaces besides loopback, in all (each costs a struct netif, its
 * descriptor and a watch slot in the port). */
#ifndef CONFIG_ZSOCK_NETIF_MAX
#define CONFIG_ZSOCK_NETIF_MAX 4
#endif
#define ZS_NETIF_MAX      CONFIG_ZSOCK_NETIF_MAX
#define ZS_NETIF_NAME_MAX 15	/* Linux IFNAMSIZ - 1 */

enum zs_netif_kind {
	ZS_NETIF_TAP,
};

/** One parsed interface. Addresses in network byte order. */
struct zs_netif_spec {
	enum zs_netif_kind kind;
	char name[ZS_NETIF_NAME_MAX + 1];	/* NUL-terminated */
	bool has_ip4;
	bool has_gw4;				/* implies has_ip4 */
	bool has_ip6;
	uint8_t ip4_prefix;			/* 1..32 when has_ip4 */
	uint8_t ip6_prefix;			/* 1..128 when has_ip6 */
	uint8_t ip4[4];
	uint8_t gw4[4];
	uint8_t ip6[16];
};

/**
 * Parse text into out[0 .. max-1]. Returns the number of specs (0 for an
 * empty text), -EINVAL for any syntax or address error, -ENOSPC for more
 * than max specs. On error, out's contents are unspecified.
 * text MUST NOT be NULL.
 */
int zs_netif_spec_parse(const char *text, struct zs_netif_spec *out, int max);

#endif
