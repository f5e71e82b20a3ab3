/*
 * Offloading as the rest of zsock sees it: the registry zsock_socket()
 * walks (registry.c), the adapter that makes a driver's socket_op_vtable an
 * fd object (offload_fd.c), and the offload-only interfaces (iface.c).
 */
#ifndef ZSOCK_OFFLOAD_H
#define ZSOCK_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <zsock/socket_offload.h>

#include "engine/fdtable.h"

/**
 * Make a socket with the first registered implementation, in priority
 * order, whose family matches (or is AF_UNSPEC) and whose is_supported()
 * accepts (family, type, proto). Returns the fd, the handler's -errno, or
 * -EAFNOSUPPORT when no implementation takes it.
 */
int zs_registry_create(int family, int type, int proto);

/** The registry in priority order (sorted on first use); returns its length. */
size_t zs_registry_entries(const struct net_socket_register ***out);

/**
 * hostsock (offload/hostsock.c, built with CONFIG_ZSOCK_HOSTSOCK): make a
 * host kernel socket as a zsock fd, the handler of the interface "host".
 * Returns the fd, or -1 with errno as zsock_hostsock_socket() in
 * <zsock/hostsock.h> lists them.
 */
int zs_hostsock_create(int family, int type, int proto);

/** The object a driver gave z_finalize_fd() for (obj, vt) of the fd table; obj itself otherwise. */
void *zs_offload_context(void *obj, const struct zs_fd_vtable *vt);

/** Offloaded fds alive now (adapters in use, closing ones included). */
uint32_t zs_offload_in_use(void);

/**
 * A dispatcher socket (offload/dispatcher.c): an fd bound to no
 * implementation until its first call. Returns the fd, -ENFILE or -ENOMEM.
 */
int zs_dispatcher_create(int family, int type, int proto);
/** Dispatcher objects alive now. */
uint32_t zs_dispatcher_in_use(void);

/** The socket factory net_if_socket_offload_set() gave nif; NULL: the engine's. */
net_socket_create_t zs_net_if_creator(struct net_if *nif);

#endif
