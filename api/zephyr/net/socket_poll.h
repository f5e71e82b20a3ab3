/*
 * Shim: <zephyr/net/socket_poll.h> for Zephyr application code on a host.
 * struct zsock_pollfd, ZSOCK_POLL* and zsock_poll() are
 * declared in <zsock/socket.h>, which this header includes.
 */
#ifndef ZSOCK_ZEPHYR_NET_SOCKET_POLL_H
#define ZSOCK_ZEPHYR_NET_SOCKET_POLL_H

#include <zsock/socket.h>

#endif /* ZSOCK_ZEPHYR_NET_SOCKET_POLL_H */
