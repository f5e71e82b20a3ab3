/*
 * An lwIP Ethernet netif over a TAP descriptor (see tapif.c). The caller
 * (netifs.c) owns the storage: a static array, no allocation here.
 */
#ifndef ZSOCK_NETIF_TAPIF_H
#define ZSOCK_NETIF_TAPIF_H

#include <stdbool.h>

#include "engine/netif/netif_spec.h"
#include "lwip/netif.h"

#define ZS_TAPIF_MTU 1500

struct zs_tapif {
	struct netif netif;	/* netif.state points back to this struct */
	bool used;		/* slot taken: netif added, fd open */
	bool dead;		/* the descriptor failed: no longer watched */
	int fd;			/* from zs_tap_open(), while used */
	char name[ZS_NETIF_NAME_MAX + 1];	/* the OS device name */
};

/**
 * Reactor only. Attach t (unused) to the TAP device sp->name and bring it
 * up with sp's addresses, an IPv6 link-local address from its MAC, and, if
 * make_default, as lwIP's default netif. Returns 0 or -errno (t stays
 * unused, nothing was left behind).
 */
int zs_tapif_up(struct zs_tapif *t, const struct zs_netif_spec *sp,
		bool make_default);

/** Reactor only. Take t down, remove it from lwIP, close the device. */
void zs_tapif_down(struct zs_tapif *t);

#endif
