/*
 * Shim: <zephyr/net/socket_offload.h> for Zephyr offload drivers and
 * applications on a host.
 *
 * The offloading API (NET_SOCKET_OFFLOAD_REGISTER, struct
 * socket_op_vtable, z_reserve_fd, z_finalize_fd,
 * net_if_socket_offload_set) belongs in <zsock/socket_offload.h>, which
 * arrives with the socket offloading work. Until that header exists this
 * shim provides only <zsock/socket.h>; once <zsock/socket_offload.h> is
 * installed next to <zsock/socket.h> this shim picks it up with no change.
 */
#ifndef ZSOCK_ZEPHYR_NET_SOCKET_OFFLOAD_H
#define ZSOCK_ZEPHYR_NET_SOCKET_OFFLOAD_H

#include <zsock/socket.h>

#if defined(__has_include)
#if __has_include(<zsock/socket_offload.h>)
#include <zsock/socket_offload.h>
#endif
#endif

#endif /* ZSOCK_ZEPHYR_NET_SOCKET_OFFLOAD_H */
