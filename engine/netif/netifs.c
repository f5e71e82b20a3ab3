/*
 * The engine's interfaces: loopback (lwIP makes it in lwip_init()) plus up
 * to ZS_NETIF_MAX TAP netifs in a static table, from ZSOCK_NETIF at
 * start-up or zsock_engine_add_netif() later.
 *
 * Adding is all or nothing. A spec text is parsed in the caller's thread
 * (pure code); the reactor then checks the whole batch against the table
 * (room, names not yet taken, IPv6 prefix) before it opens any device, and
 * if device k fails, devices 0..k-1 of the same batch are taken down again.
 * So a failed call leaves the engine exactly as it was.
 *
 * IPv6 prefixes: lwIP 2.1.3 stores no prefix length with an address; it
 * treats the /64 around each address as on-link (ip6_addr_netcmp) and
 * everything else as off-link, and there is no IPv6 gateway key. A /64 is
 * therefore the only length that means what it says, and any other is
 * refused (EINVAL) rather than silently read as /64.
 */
#include <zsock/engine.h>

#include "engine/engine_init.h"
#include "engine/netif/netif_spec.h"
#include "engine/netif/netifs.h"
#include "engine/netif/pcap.h"
#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#if CONFIG_ZSOCK_HOSTED
#include "engine/netif/tapif.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/netif.h"

static struct netif *loop;
#if CONFIG_ZSOCK_HOSTED
static struct zs_tapif tapifs[ZS_NETIF_MAX];
#endif

/* see netifs.h */
struct netif *zs_netif_find(const char *name)
{
	ZS_ASSERT_REACTOR();
	if (name == NULL)
		return NULL;
	if (strcmp(name, "lo") == 0)
		return loop;
#if CONFIG_ZSOCK_HOSTED
	for (int i = 0; i < ZS_NETIF_MAX; i++) {
		if (tapifs[i].used && strcmp(tapifs[i].name, name) == 0)
			return &tapifs[i].netif;
	}
#endif
	return NULL;
}

/* see netifs.h */
const char *zs_netif_name(const struct netif *n)
{
	ZS_ASSERT_REACTOR();
	if (n != NULL && n == loop)
		return "lo";
#if CONFIG_ZSOCK_HOSTED
	for (int i = 0; i < ZS_NETIF_MAX; i++) {
		if (tapifs[i].used && n == &tapifs[i].netif)
			return tapifs[i].name;
	}
#endif
	return NULL;
}

/* Reactor: bring up sp[0 .. n-1], all or nothing. */
static int netifs_add(const struct zs_netif_spec *sp, int n)
{
#if CONFIG_ZSOCK_HOSTED
	struct zs_tapif *added[ZS_NETIF_MAX];
	int i, j, free_slots = 0, rc;

	ZS_ASSERT_REACTOR();
	for (i = 0; i < ZS_NETIF_MAX; i++)
		free_slots += !tapifs[i].used;
	if (n > free_slots)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		if (sp[i].has_ip6 && sp[i].ip6_prefix != 64)
			return -EINVAL;
		if (zs_netif_find(sp[i].name) != NULL)
			return -EEXIST;
		for (j = 0; j < i; j++) {
			if (strcmp(sp[i].name, sp[j].name) == 0)
				return -EEXIST;
		}
	}

	for (i = 0, j = 0; i < n; i++) {
		bool make_default = sp[i].has_gw4 && netif_default == NULL;

		while (tapifs[j].used)
			j++;
		rc = zs_tapif_up(&tapifs[j], &sp[i], make_default);
		if (rc < 0) {
			while (i-- > 0)
				zs_tapif_down(added[i]);
			return rc;
		}
		added[i] = &tapifs[j];
	}
	return 0;
#else
	(void)sp;
	(void)n;
	return -ENODEV;
#endif
}

/* see engine/engine_init.h */
int zs_engine_netifs_init(void)
{
	struct netif *n;

	ZS_ASSERT_REACTOR();
	NETIF_FOREACH(n) {
		if (n->name[0] == 'l' && n->name[1] == 'o')
			loop = n;
	}
#if LWIP_IPV6 && LWIP_IPV6_SEND_ROUTER_SOLICIT
	/* lwIP solicits routers on every netif with a valid address in slot
	 * 0, loopback (::1) included, and fills the link-layer option of a
	 * netif without one from uninitialised heap bytes. No router answers
	 * on loopback: don't ask. */
	if (loop != NULL)
		loop->rs_count = 0;
#endif
	{
		int rc = zs_port_netifs_init();

		if (rc < 0)
			return rc;
	}
#if CONFIG_ZSOCK_HOSTED
	{
		struct zs_netif_spec sp[ZS_NETIF_MAX];
		const char *env;
		int rc;

		env = getenv("ZSOCK_PCAP");
		if (env != NULL && env[0] != '\0') {
			rc = zs_pcap_open(env);
			if (rc < 0)
				return rc;
		}
		env = getenv("ZSOCK_NETIF");
		if (env != NULL) {
			rc = zs_netif_spec_parse(env, sp, ZS_NETIF_MAX);
			if (rc > 0)
				rc = netifs_add(sp, rc);
			if (rc < 0)
				return rc;
		}
	}
#endif
	return 0;
}

struct add_call {
	const struct zs_netif_spec *sp;
	int n;
};

static int add_in_reactor(void *arg)
{
	struct add_call *c = arg;

	return netifs_add(c->sp, c->n);
}

/* see zsock/engine.h */
int zsock_engine_add_netif(const char *spec)
{
	struct zs_netif_spec sp[ZS_NETIF_MAX];
	struct add_call c;
	int rc;

	if (spec == NULL) {
		errno = EFAULT;
		return -1;
	}
	/* parse first: a wrong text neither starts the engine nor waits */
	rc = zs_netif_spec_parse(spec, sp, ZS_NETIF_MAX);
	if (rc == 0)
		rc = -EINVAL;
	if (rc > 0) {
		c.sp = sp;
		c.n = rc;
		rc = zs_engine_ensure();
		if (rc == 0)
			rc = zs_reactor_call(add_in_reactor, &c);
	}
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}
