/*
 * The native (lwIP) socket implementation as the rest of zsock sees it:
 * a factory and a counter, no lwIP types. The offload registry will list
 * it next to other implementations.
 */
#ifndef ZSOCK_NATIVE_H
#define ZSOCK_NATIVE_H

#include <stdint.h>
#include <zsock/net_buf.h>

struct zs_waitq;

/**
 * Create a native socket and give it the lowest free fd. family AF_INET or
 * AF_INET6, type SOCK_STREAM or SOCK_DGRAM (SOCK_NONBLOCK and SOCK_CLOEXEC
 * bits ignored here), proto 0 or the matching IPPROTO_*.
 * Returns the fd, or -EAFNOSUPPORT, -EPROTOTYPE, -EPROTONOSUPPORT, -ENFILE,
 * -ENOMEM. Blocks briefly (the PCB is made in the reactor).
 */
int zs_sock_create(int family, int type, int proto);

/*
 * The buffer half of <zsock/net_buf.h> (nbuf.c); the socket half goes
 * through the fd vtable. Each returns as its zsock_* counterpart, with
 * -errno instead of -1 + errno.
 */
int zs_nbuf_release(struct net_buf *chain);
/** NULL with *err set to ENOMEM or EAGAIN. */
struct net_buf *zs_nbuf_alloc(int32_t timeout_ms, int *err);
int zs_nbuf_peer(const struct net_buf *chain, struct sockaddr *addr, socklen_t *len);

/**
 * The wait queue woken when transmit buffers return to the engine's pool:
 * POLLOUT of a native socket also needs room there, so a poll that asks
 * for POLLOUT sleeps on it too.
 */
struct zs_waitq *zs_sock_pool_waitq(void);

/**
 * Test hook: the forwarding budget (received buffers forwarded and not yet
 * acknowledged, all sockets; <zsock/net_buf.h>, zsock_send_buf) becomes n;
 * 0 restores the default, half of lwIP's PBUF_POOL_SIZE. Set it while
 * nothing is being forwarded.
 */
void zs_nbuf_fwd_max_set(uint32_t n);

/** Native socket objects alive now, including closing ones. */
uint32_t zs_sock_in_use(void);

#endif
