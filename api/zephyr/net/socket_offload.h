/*
 * Shim: <zephyr/net/socket_offload.h> for Zephyr offload drivers and
 * applications on a host: the offloading API is <zsock/socket_offload.h>.
 */
#ifndef ZSOCK_ZEPHYR_NET_SOCKET_OFFLOAD_H
#define ZSOCK_ZEPHYR_NET_SOCKET_OFFLOAD_H

#include <zsock/socket.h>
#include <zsock/socket_offload.h>

#endif /* ZSOCK_ZEPHYR_NET_SOCKET_OFFLOAD_H */
