/*
 * The engine's interfaces by name, for the socket layer (SO_BINDTODEVICE).
 *
 * Names are the ones users write: "lo" for lwIP's loopback netif, and for
 * a TAP the OS device name from its spec ("tap0"), which is longer than
 * lwIP's own two-letter netif names and so is kept here, not in lwIP.
 * Start-up (zs_engine_netifs_init) is declared in engine/engine_init.h,
 * zsock_engine_add_netif() in <zsock/engine.h>.
 */
#ifndef ZSOCK_NETIF_NETIFS_H
#define ZSOCK_NETIF_NETIFS_H

struct netif;

/**
 * Reactor only. The netif called name ("lo", or a TAP's device name), or
 * NULL if there is none (or name is NULL). The netif stays valid for the
 * life of the engine: interfaces are never removed once up.
 */
struct netif *zs_netif_find(const char *name);

/**
 * Reactor only. The name zs_netif_find() knows n by, or NULL for a netif
 * zsock did not set up. The string is static; do not free it.
 */
const char *zs_netif_name(const struct netif *n);

#endif
