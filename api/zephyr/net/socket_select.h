/*
 * Shim: <zephyr/net/socket_select.h> for Zephyr application code on a host.
 * zsock_fd_set, ZSOCK_FD_*, struct zsock_timeval and zsock_select() are
 * declared in <zsock/socket.h>, which this header includes.
 */
#ifndef ZSOCK_ZEPHYR_NET_SOCKET_SELECT_H
#define ZSOCK_ZEPHYR_NET_SOCKET_SELECT_H

#include <zsock/socket.h>

#endif /* ZSOCK_ZEPHYR_NET_SOCKET_SELECT_H */
