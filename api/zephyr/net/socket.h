/*
 * Shim: <zephyr/net/socket.h> for Zephyr application code built against
 * zsock on a host. Everything lives in <zsock/socket.h>: the zsock_*
 * functions, struct zsock_pollfd, ZSOCK_POLL*, ZSOCK_MSG_*, ZSOCK_SHUT_*,
 * zsock_fd_set, ZSOCK_FD_*, ZSOCK_FD_SETSIZE, struct zsock_timeval,
 * struct zsock_addrinfo. This header adds the few names Zephyr's header
 * offers that <zsock/socket.h> does not (below), and <zephyr/net/net_ip.h>
 * as Zephyr's does.
 *
 * Differences from Zephyr worth knowing:
 *  - struct sockaddr*, AF_*, SOCK_*, IPPROTO_*, SOL_SOCKET, SO_*,
 *    TCP_NODELAY, AI_*, NI_*, EAI_* are the host's (Linux values; Zephyr
 *    uses the same numbers for most of them, but not for all SO_* options:
 *    code that hard-codes numbers instead of names may differ).
 *  - zsock_getaddrinfo() returns the host's EAI_* codes. DNS_EAI_* below
 *    are aliases of them, so comparisons written for Zephyr keep working.
 *  - With CONFIG_NET_SOCKETS_POSIX_NAMES (build option
 *    net_sockets_posix_names) the plain names socket(), close() ... map to
 *    zsock, through <zsock/posix_names.h> (see its caveats).
 *  - Zephyr's kernel headers (<zephyr/kernel.h>, k_sleep, ...) are not
 *    provided.
 */
#ifndef ZSOCK_ZEPHYR_NET_SOCKET_H
#define ZSOCK_ZEPHYR_NET_SOCKET_H

#include <zsock/socket.h>
#include <zephyr/net/net_ip.h>
#include <stdlib.h>

/* recvmsg: control data truncated (Linux's MSG_CTRUNC, same value as
 * Zephyr's). zsock never returns ancillary data. */
#ifndef ZSOCK_MSG_CTRUNC
#define ZSOCK_MSG_CTRUNC MSG_CTRUNC
#endif

/* Zephyr's names for the getaddrinfo() error codes. */
#ifndef DNS_EAI_BADFLAGS
#define DNS_EAI_BADFLAGS EAI_BADFLAGS
#define DNS_EAI_NONAME   EAI_NONAME
#define DNS_EAI_AGAIN    EAI_AGAIN
#define DNS_EAI_FAIL     EAI_FAIL
#define DNS_EAI_FAMILY   EAI_FAMILY
#define DNS_EAI_SOCKTYPE EAI_SOCKTYPE
#define DNS_EAI_SERVICE  EAI_SERVICE
#define DNS_EAI_MEMORY   EAI_MEMORY
#define DNS_EAI_SYSTEM   EAI_SYSTEM
#define DNS_EAI_OVERFLOW EAI_OVERFLOW
#ifdef EAI_NODATA
#define DNS_EAI_NODATA   EAI_NODATA
#endif
#ifdef EAI_ADDRFAMILY
#define DNS_EAI_ADDRFAMILY EAI_ADDRFAMILY
#endif
#endif

/* Zephyr's getnameinfo() limits; glibc has them only with _DEFAULT_SOURCE. */
#ifndef NI_MAXHOST
#define NI_MAXHOST 1025
#endif
#ifndef NI_MAXSERV
#define NI_MAXSERV 32
#endif

#endif /* ZSOCK_ZEPHYR_NET_SOCKET_H */
