/*
 * Address types and constants for platforms whose C library has no
 * sockets (bare-metal builds: CONFIG_ZSOCK_HOSTED = 0). <zsock/socket.h>
 * includes it; a program includes <zsock/socket.h>, never this file.
 *
 * The values are Zephyr's (<zephyr/net/net_ip.h>, <zephyr/net/socket.h>),
 * so code written for Zephyr's sockets means the same here. Hosted builds
 * use the platform's own <sys/socket.h> and friends instead.
 */
#ifndef ZSOCK_NET_TYPES_H
#define ZSOCK_NET_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>   /* ssize_t */
#include <sys/time.h>    /* struct timeval */
#include <fcntl.h>       /* O_NONBLOCK, F_GETFL, F_SETFL */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- families, types, protocols ---------------------------------------- */

#define AF_UNSPEC 0
#define AF_INET   1
#define AF_INET6  2
#define AF_PACKET 3
#define AF_UNIX   6
#define AF_LOCAL  AF_UNIX
#define PF_UNSPEC AF_UNSPEC
#define PF_INET   AF_INET
#define PF_INET6  AF_INET6
#define PF_UNIX   AF_UNIX
#define PF_LOCAL  AF_UNIX

#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_RAW    3
/* or'ed into the type given to socket() */
#define SOCK_NONBLOCK 0x4000
#define SOCK_CLOEXEC  0x80000

#define IPPROTO_IP     0
#define IPPROTO_ICMP   1
#define IPPROTO_TCP    6
#define IPPROTO_UDP    17
#define IPPROTO_IPV6   41
#define IPPROTO_ICMPV6 58
#define IPPROTO_RAW    255

#ifndef SSIZE_MAX
#define SSIZE_MAX ((ssize_t)(SIZE_MAX >> 1))
#endif

typedef uint16_t sa_family_t;
typedef uint32_t socklen_t;
typedef uint16_t in_port_t;
typedef uint32_t in_addr_t;

/* ---- addresses ------------------------------------------------------------- */

struct in_addr {
	in_addr_t s_addr; /**< network byte order */
};

struct in6_addr {
	union {
		uint8_t s6_addr[16];
		uint16_t s6_addr16[8];
		uint32_t s6_addr32[4];
	};
};
#define s6_addr s6_addr

struct sockaddr {
	sa_family_t sa_family;
	char sa_data[14];
};

struct sockaddr_in {
	sa_family_t sin_family;
	in_port_t sin_port;      /**< network byte order */
	struct in_addr sin_addr;
	uint8_t sin_zero[8];
};

struct sockaddr_in6 {
	sa_family_t sin6_family;
	in_port_t sin6_port;     /**< network byte order */
	uint32_t sin6_flowinfo;
	struct in6_addr sin6_addr;
	uint32_t sin6_scope_id;
};

#define UNIX_PATH_MAX 108
struct sockaddr_un {
	sa_family_t sun_family;
	char sun_path[UNIX_PATH_MAX];
};

struct sockaddr_storage {
	sa_family_t ss_family;
	_Alignas(8) unsigned char ss_data[120];
};

#define INADDR_ANY       ((in_addr_t)0x00000000)
#define INADDR_BROADCAST ((in_addr_t)0xffffffff)
#define INADDR_NONE      ((in_addr_t)0xffffffff)
#define INADDR_LOOPBACK  ((in_addr_t)0x7f000001)

#define INET_ADDRSTRLEN  16
#define INET6_ADDRSTRLEN 46

#define IN6ADDR_ANY_INIT      { { { 0 } } }
#define IN6ADDR_LOOPBACK_INIT { { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } } }
extern const struct in6_addr in6addr_any;
extern const struct in6_addr in6addr_loopback;

/* byte order: Cortex-M is little-endian */
#define htons(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define ntohs(x) htons(x)
#define htonl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))
#define ntohl(x) htonl(x)

/* ---- messages ---------------------------------------------------------------- */

struct iovec {
	void *iov_base;
	size_t iov_len;
};

struct msghdr {
	void *msg_name;
	socklen_t msg_namelen;
	struct iovec *msg_iov;
	size_t msg_iovlen;
	void *msg_control;
	size_t msg_controllen;
	int msg_flags;
};

struct cmsghdr {
	socklen_t cmsg_len;
	int cmsg_level;
	int cmsg_type;
};

#define CMSG_ALIGN_(len) (((len) + sizeof(void *) - 1) & ~(sizeof(void *) - 1))
#define CMSG_DATA(c)     ((unsigned char *)(c) + CMSG_ALIGN_(sizeof(struct cmsghdr)))
#define CMSG_SPACE(len)  (CMSG_ALIGN_(sizeof(struct cmsghdr)) + CMSG_ALIGN_(len))
#define CMSG_LEN(len)    (CMSG_ALIGN_(sizeof(struct cmsghdr)) + (len))
#define CMSG_FIRSTHDR(m)                                                   \
	((m)->msg_controllen >= sizeof(struct cmsghdr) ? (struct cmsghdr *)(m)->msg_control \
						       : (struct cmsghdr *)NULL)
#define CMSG_NXTHDR(m, c)                                                  \
	(((unsigned char *)(c) + CMSG_ALIGN_((c)->cmsg_len) + sizeof(struct cmsghdr) > \
	  (unsigned char *)(m)->msg_control + (m)->msg_controllen)                    \
		 ? (struct cmsghdr *)NULL                                            \
		 : (struct cmsghdr *)((unsigned char *)(c) + CMSG_ALIGN_((c)->cmsg_len)))

#define MSG_PEEK     0x02
#define MSG_TRUNC    0x20
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL  0x100
#define MSG_NOSIGNAL 0       /* no signals here */

#define SHUT_RD   0
#define SHUT_WR   1
#define SHUT_RDWR 2

/* ---- options ------------------------------------------------------------------- */

#define SOL_SOCKET 1

#define SO_DEBUG        1
#define SO_REUSEADDR    2
#define SO_TYPE         3
#define SO_ERROR        4
#define SO_DONTROUTE    5
#define SO_BROADCAST    6
#define SO_SNDBUF       7
#define SO_RCVBUF       8
#define SO_KEEPALIVE    9
#define SO_OOBINLINE    10
#define SO_PRIORITY     12
#define SO_LINGER       13
#define SO_REUSEPORT    15
#define SO_RCVLOWAT     18
#define SO_SNDLOWAT     19
#define SO_RCVTIMEO     20
#define SO_SNDTIMEO     21
#define SO_BINDTODEVICE 25
#define SO_TIMESTAMP    29
#define SO_ACCEPTCONN   30
#define SO_PROTOCOL     38
#define SO_DOMAIN       39

struct linger {
	int l_onoff;
	int l_linger;
};

#define TCP_NODELAY   1
#define TCP_KEEPIDLE  2
#define TCP_KEEPINTVL 3
#define TCP_KEEPCNT   4

#define IP_TOS             1
#define IP_TTL             2
#define IP_PKTINFO         8
#define IP_RECVTOS         13
#define IP_MULTICAST_IF    32
#define IP_MULTICAST_TTL   33
#define IP_MULTICAST_LOOP  34
#define IP_ADD_MEMBERSHIP  35
#define IP_DROP_MEMBERSHIP 36

struct ip_mreq {
	struct in_addr imr_multiaddr;
	struct in_addr imr_interface;
};

struct ip_mreqn {
	struct in_addr imr_multiaddr;
	struct in_addr imr_address;
	int imr_ifindex;
};

struct in_pktinfo {
	unsigned int ipi_ifindex;
	struct in_addr ipi_spec_dst;
	struct in_addr ipi_addr;
};

#define IPV6_UNICAST_HOPS   16
#define IPV6_MULTICAST_IF   17
#define IPV6_MULTICAST_HOPS 18
#define IPV6_MULTICAST_LOOP 19
#define IPV6_ADD_MEMBERSHIP 20
#define IPV6_DROP_MEMBERSHIP 21
#define IPV6_JOIN_GROUP     IPV6_ADD_MEMBERSHIP
#define IPV6_LEAVE_GROUP    IPV6_DROP_MEMBERSHIP
#define IPV6_V6ONLY         26
#define IPV6_RECVPKTINFO    49
#define IPV6_PKTINFO        50
#define IPV6_RECVTCLASS     66
#define IPV6_TCLASS         67

struct ipv6_mreq {
	struct in6_addr ipv6mr_multiaddr;
	unsigned int ipv6mr_interface;
};

struct in6_pktinfo {
	struct in6_addr ipi6_addr;
	unsigned int ipi6_ifindex;
};

/* ioctl requests (Linux's numbers, as Zephyr's ZFD_IOCTL_*) */
#define FIONREAD 0x541B
#define FIONBIO  0x5421

/* ---- names ------------------------------------------------------------------------ */

struct addrinfo {
	int ai_flags;
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	socklen_t ai_addrlen;
	struct sockaddr *ai_addr;
	char *ai_canonname;
	struct addrinfo *ai_next;
};

#define AI_PASSIVE     0x001
#define AI_CANONNAME   0x002
#define AI_NUMERICHOST 0x004
#define AI_V4MAPPED    0x008
#define AI_ALL         0x010
#define AI_ADDRCONFIG  0x020
#define AI_NUMERICSERV 0x400
/* accepted and ignored, as on glibc (IDN is not implemented) */
#define AI_IDN         0x040
#define AI_CANONIDN    0x080

#define NI_NUMERICHOST 1
#define NI_NUMERICSERV 2
#define NI_NOFQDN      4
#define NI_NAMEREQD    8
#define NI_DGRAM       16
#define NI_IDN         32
#define NI_MAXHOST     64
#define NI_MAXSERV     32

#define EAI_BADFLAGS   -1
#define EAI_NONAME     -2
#define EAI_AGAIN      -3
#define EAI_FAIL       -4
#define EAI_NODATA     -5
#define EAI_FAMILY     -6
#define EAI_SOCKTYPE   -7
#define EAI_SERVICE    -8
#define EAI_ADDRFAMILY -9
#define EAI_MEMORY     -10
#define EAI_SYSTEM     -11
#define EAI_OVERFLOW   -12
/* glibc's, for zsock_gai_strerror(); zsock never returns them */
#define EAI_INPROGRESS  -100
#define EAI_CANCELED    -101
#define EAI_NOTCANCELED -102
#define EAI_ALLDONE     -103
#define EAI_INTR        -104
#define EAI_IDN_ENCODE  -105

#ifdef __cplusplus
}
#endif

#endif /* ZSOCK_NET_TYPES_H */
