/*
 * The native (lwIP) socket implementation as the rest of zsock sees it:
 * a factory and a counter, no lwIP types. The offload registry will list
 * it next to other implementations.
 */
#ifndef ZSOCK_NATIVE_H
#define ZSOCK_NATIVE_H

#include <stdint.h>

/**
 * Create a native socket and give it the lowest free fd. family AF_INET or
 * AF_INET6, type SOCK_STREAM or SOCK_DGRAM (SOCK_NONBLOCK and SOCK_CLOEXEC
 * bits ignored here), proto 0 or the matching IPPROTO_*.
 * Returns the fd, or -EAFNOSUPPORT, -EPROTOTYPE, -EPROTONOSUPPORT, -ENFILE,
 * -ENOMEM. Blocks briefly (the PCB is made in the reactor).
 */
int zs_sock_create(int family, int type, int proto);

/** Native socket objects alive now, including closing ones. */
uint32_t zs_sock_in_use(void);

#endif
