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

/**
 * Make a socket with the first registered implementation, in priority
 * order, whose family matches (or is AF_UNSPEC) and whose is_supported()
 * accepts (family, type, proto). Returns the fd, the handler's -errno, or
 * -EAFNOSUPPORT when no implementation takes it.
 */
int zs_registry_create(int family, int type, int proto);

/** The registry in priority order (sorted on first use); returns its length. */
size_t zs_registry_entries(const struct net_socket_register ***out);

/** Offloaded fds alive now (adapters in use, closing ones included). */
uint32_t zs_offload_in_use(void);

#endif
