/*
 * Shim: <zephyr/net/net_ip.h> for Zephyr application code on a host.
 *
 * The address types and helpers are the host's: struct sockaddr,
 * struct sockaddr_in / sockaddr_in6, struct in_addr / in6_addr,
 * sa_family_t, socklen_t, AF_*, IPPROTO_*, INADDR_*, htons() / ntohs() /
 * htonl() / ntohl(). Zephyr's own helpers that applications commonly use
 * are defined here on top of zsock:
 *   net_sin(), net_sin6()        struct sockaddr * -> sockaddr_in(6) *
 *   net_addr_pton()              0 or -EINVAL (zsock_inet_pton underneath)
 *   net_addr_ntop()              dst or NULL (zsock_inet_ntop underneath)
 *   NET_IPV4_ADDR_LEN, NET_IPV6_ADDR_LEN   text buffer sizes with the NUL
 * Nothing about interfaces (struct net_if ...): see <zsock/engine.h>.
 */
#ifndef ZSOCK_ZEPHYR_NET_NET_IP_H
#define ZSOCK_ZEPHYR_NET_NET_IP_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <zsock/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NET_IPV4_ADDR_LEN
#define NET_IPV4_ADDR_LEN INET_ADDRSTRLEN
#endif
#ifndef NET_IPV6_ADDR_LEN
#define NET_IPV6_ADDR_LEN INET6_ADDRSTRLEN
#endif

/** The IPv4 view of a generic socket address (no check of the family). */
static inline struct sockaddr_in *net_sin(const struct sockaddr *addr)
{
	return (struct sockaddr_in *)(void *)addr;
}

/** The IPv6 view of a generic socket address (no check of the family). */
static inline struct sockaddr_in6 *net_sin6(const struct sockaddr *addr)
{
	return (struct sockaddr_in6 *)(void *)addr;
}

/**
 * Text to binary address, Zephyr's convention: 0 on success, -EINVAL when
 * src is not an address of that family (or the family is not AF_INET /
 * AF_INET6).
 */
static inline int net_addr_pton(sa_family_t family, const char *src,
				void *dst)
{
	return zsock_inet_pton(family, src, dst) == 1 ? 0 : -EINVAL;
}

/** Binary to text address: dst, or NULL (errno set by zsock_inet_ntop). */
static inline char *net_addr_ntop(sa_family_t family, const void *src,
				  char *dst, size_t size)
{
	return zsock_inet_ntop(family, src, dst, size);
}

#ifdef __cplusplus
}
#endif

#endif /* ZSOCK_ZEPHYR_NET_NET_IP_H */
