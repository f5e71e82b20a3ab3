/*
 * zsock: plain POSIX names for the zsock socket API (Zephyr's
 * CONFIG_NET_SOCKETS_POSIX_NAMES idea, for a hosted build).
 *
 * After this header, plain POSIX networking code such as
 *
 *     int fd = socket(AF_INET, SOCK_STREAM, 0);
 *     struct pollfd p = { .fd = fd, .events = POLLIN };
 *     poll(&p, 1, 1000);
 *     close(fd);
 *
 * calls zsock_socket(), zsock_poll() and zsock_close(), not the host
 * kernel. It is included by <zsock/socket.h> when the build option
 * net_sockets_posix_names is on (CONFIG_NET_SOCKETS_POSIX_NAMES = 1), and a
 * program may include it directly whatever the option says: it never
 * looks at the option.
 *
 * ==========================================================================
 *  WARNING: close(), fcntl(), ioctl(), poll() and select() are renamed for
 *  EVERY fd in the translation unit, not only for sockets. With this header
 *  in effect, close() on a file, a pipe or stdin goes to zsock_close() and
 *  fails with EBADF (the file stays open); fcntl()/ioctl() on a file fail
 *  likewise, and poll()/select() cannot wait on host fds. Zephyr behaves
 *  the same way with CONFIG_NET_SOCKETS_POSIX_NAMES. In code that mixes
 *  files and sockets, do not use this header: call zsock_close(),
 *  zsock_poll() ... by name. read() and write() are NOT mapped: on a zsock
 *  fd they reach the host kernel and act on whatever host fd has that
 *  number. Use recv()/send().
 * ==========================================================================
 *
 * <zsock/socket.h> pulls this header in only when
 * CONFIG_NET_SOCKETS_POSIX_NAMES is 1 and ZSOCK_NO_POSIX_NAMES is not
 * defined: define ZSOCK_NO_POSIX_NAMES (e.g. -DZSOCK_NO_POSIX_NAMES) for a
 * source file that includes <zsock/socket.h> but must keep the host's
 * close(), poll() ... (zsock's own sources, code that mixes files and
 * sockets).
 *
 * Include order. This header first includes every host header that
 * declares one of the names it maps (<sys/socket.h>, <poll.h>, <netdb.h>,
 * <unistd.h>, <arpa/inet.h>, <sys/select.h>, <sys/time.h>, <fcntl.h>,
 * <sys/ioctl.h>, ...), then defines its macros. A host header included
 * later is already past its include guard and expands to nothing, so the
 * program may include the host headers before or after this one. A host
 * header outside that list that declares one of these names after this
 * header would see the macros (none is known in glibc).
 *
 * Mappings (object-like macros unless said otherwise, so they also apply
 * to function pointers, (name)(...) calls and any other use of the
 * identifier after this header, including struct members and local
 * variables with those names: such a member simply gets the zsock_ name,
 * consistently within the translation unit):
 *
 *   socket bind connect listen accept shutdown close
 *   send recv sendto recvfrom sendmsg recvmsg
 *   setsockopt getsockopt getsockname getpeername socketpair
 *   ioctl gethostname inet_pton inet_ntop
 *   getaddrinfo freeaddrinfo gai_strerror getnameinfo
 *                          -> zsock_<name>, same arguments.
 *   poll                   -> zsock_poll; nfds_t converts to int (more than
 *                             INT_MAX entries are not possible anyway).
 *   fcntl                  -> zsock_posix_fcntl(fd, cmd, ...), an inline
 *                             variadic wrapper (fcntl(fd, F_GETFL) passes
 *                             no third argument); the int argument is read
 *                             only for F_SETFL.
 *   select                 -> zsock_posix_select(), an inline wrapper that
 *                             takes a struct timeval *, copies it into a
 *                             struct zsock_timeval and back (so it works
 *                             whatever the host's time_t / suseconds_t).
 *   struct pollfd          -> struct zsock_pollfd (macro on the tag
 *                             "pollfd"; same layout, checked below).
 *   struct addrinfo        -> struct zsock_addrinfo (macro on the tag
 *                             "addrinfo"). The layout is Zephyr's, NOT
 *                             glibc's (ai_next comes first, the address is
 *                             stored inside the node), but the field names
 *                             are the same, so code that uses the fields by
 *                             name compiles and works. Code that passes the
 *                             list to a host library expecting glibc's
 *                             struct addrinfo does not.
 *   fd_set                 -> zsock_fd_set (macro on the typedef name).
 *   FD_ZERO FD_SET FD_CLR FD_ISSET -> ZSOCK_FD_* (redefined).
 *   FD_SETSIZE             -> ZSOCK_FD_SETSIZE (CONFIG_ZVFS_OPEN_MAX, 256
 *                             by default, where glibc says 1024).
 *   POLLIN POLLPRI POLLOUT POLLERR POLLHUP POLLNVAL -> ZSOCK_POLL*
 *   MSG_PEEK MSG_TRUNC MSG_DONTWAIT MSG_WAITALL     -> ZSOCK_MSG_*
 *   SHUT_RD SHUT_WR SHUT_RDWR                        -> ZSOCK_SHUT_*
 *                             Redefined to the zsock values; on Linux they
 *                             are equal to the host's (checked below).
 *
 * Not mapped, because they are the host's on a hosted build and zsock uses
 * them as they are: struct sockaddr*, socklen_t, struct msghdr, struct
 * iovec, AF_*, SOCK_*, IPPROTO_*, SOL_SOCKET, SO_*, TCP_NODELAY,
 * O_NONBLOCK, F_GETFL/F_SETFL, FIONREAD/FIONBIO, AI_*, NI_*, EAI_*,
 * htons() and friends, INET_ADDRSTRLEN/INET6_ADDRSTRLEN. Other MSG_* flags
 * (MSG_NOSIGNAL, MSG_OOB, ...) keep the host values; zsock does not
 * implement them.
 *
 * Further caveats:
 *  - glibc with _GNU_SOURCE declares accept(), bind() ... with a
 *    transparent union, so it accepts a struct sockaddr_in * without a
 *    cast. zsock takes struct sockaddr *: write the usual cast.
 *  - inet_pton() and inet_ntop() take the family as sa_family_t and the
 *    size as size_t in zsock; values convert implicitly.
 *  - gethostname() returns the engine's name (CONFIG_NET_HOSTNAME), not
 *    the host's.
 *  - A name the program has #undef'd after this header is the host's again.
 */
#ifndef ZSOCK_POSIX_NAMES_H
#define ZSOCK_POSIX_NAMES_H

/* Every host header that declares a mapped name, before any macro. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>

#include <zsock/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- checks made while the host names are still the host's ---------- */

#ifdef __cplusplus
#define ZSOCK_PN_ASSERT static_assert
#else
#define ZSOCK_PN_ASSERT _Static_assert
#endif

ZSOCK_PN_ASSERT(sizeof(struct pollfd) == sizeof(struct zsock_pollfd) &&
	       offsetof(struct pollfd, fd) == offsetof(struct zsock_pollfd, fd) &&
	       offsetof(struct pollfd, events) ==
		       offsetof(struct zsock_pollfd, events) &&
	       offsetof(struct pollfd, revents) ==
		       offsetof(struct zsock_pollfd, revents),
	       "struct pollfd and struct zsock_pollfd differ in layout");

#ifdef __linux__
/* The renamed constants keep their host values on Linux, so code built
 * with and without this header agrees on them. */
ZSOCK_PN_ASSERT(POLLIN == ZSOCK_POLLIN && POLLPRI == ZSOCK_POLLPRI &&
	       POLLOUT == ZSOCK_POLLOUT && POLLERR == ZSOCK_POLLERR &&
	       POLLHUP == ZSOCK_POLLHUP && POLLNVAL == ZSOCK_POLLNVAL,
	       "POLL* values differ from ZSOCK_POLL*");
ZSOCK_PN_ASSERT(MSG_PEEK == ZSOCK_MSG_PEEK && MSG_TRUNC == ZSOCK_MSG_TRUNC &&
	       MSG_DONTWAIT == ZSOCK_MSG_DONTWAIT &&
	       MSG_WAITALL == ZSOCK_MSG_WAITALL,
	       "MSG_* values differ from ZSOCK_MSG_*");
ZSOCK_PN_ASSERT(SHUT_RD == ZSOCK_SHUT_RD && SHUT_WR == ZSOCK_SHUT_WR &&
	       SHUT_RDWR == ZSOCK_SHUT_RDWR,
	       "SHUT_* values differ from ZSOCK_SHUT_*");
#endif

#undef ZSOCK_PN_ASSERT

/* ---- wrappers whose signature differs from zsock's ---------------------- */

/** fcntl() for zsock fds: the third argument is optional, as in POSIX. */
static inline int zsock_posix_fcntl(int fd, int cmd, ...)
{
	int arg = 0;

	if (cmd == F_SETFL) {
		va_list ap;

		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
	}
	return zsock_fcntl(fd, cmd, arg);
}

/** select() for zsock fds, taking the host's struct timeval. */
static inline int zsock_posix_select(int nfds, zsock_fd_set *readfds,
				     zsock_fd_set *writefds,
				     zsock_fd_set *exceptfds,
				     struct timeval *timeout)
{
	struct zsock_timeval ztv;
	int ret;

	if (timeout == NULL)
		return zsock_select(nfds, readfds, writefds, exceptfds, NULL);
	ztv.tv_sec = (long)timeout->tv_sec;
	ztv.tv_usec = (long)timeout->tv_usec;
	ret = zsock_select(nfds, readfds, writefds, exceptfds, &ztv);
	/* zsock_select may report the time left, as Linux does. */
	timeout->tv_sec = ztv.tv_sec;
	timeout->tv_usec = ztv.tv_usec;
	return ret;
}

#ifdef __cplusplus
}
#endif

/* ---- the names ------------------------------------------------------------ */

#undef socket
#define socket zsock_socket
#undef socketpair
#define socketpair zsock_socketpair
#undef bind
#define bind zsock_bind
#undef connect
#define connect zsock_connect
#undef listen
#define listen zsock_listen
#undef accept
#define accept zsock_accept
#undef shutdown
#define shutdown zsock_shutdown
#undef close
#define close zsock_close
#undef send
#define send zsock_send
#undef recv
#define recv zsock_recv
#undef sendto
#define sendto zsock_sendto
#undef recvfrom
#define recvfrom zsock_recvfrom
#undef sendmsg
#define sendmsg zsock_sendmsg
#undef recvmsg
#define recvmsg zsock_recvmsg
#undef setsockopt
#define setsockopt zsock_setsockopt
#undef getsockopt
#define getsockopt zsock_getsockopt
#undef getsockname
#define getsockname zsock_getsockname
#undef getpeername
#define getpeername zsock_getpeername
#undef poll
#define poll zsock_poll
#undef select
#define select zsock_posix_select
#undef fcntl
#define fcntl zsock_posix_fcntl
#undef ioctl
#define ioctl zsock_ioctl
#undef getaddrinfo
#define getaddrinfo zsock_getaddrinfo
#undef freeaddrinfo
#define freeaddrinfo zsock_freeaddrinfo
#undef gai_strerror
#define gai_strerror zsock_gai_strerror
#undef getnameinfo
#define getnameinfo zsock_getnameinfo
#undef gethostname
#define gethostname zsock_gethostname
#undef inet_pton
#define inet_pton zsock_inet_pton
#undef inet_ntop
#define inet_ntop zsock_inet_ntop

/* Types: the macros rename the tag / typedef name in later declarations. */
#undef pollfd
#define pollfd zsock_pollfd
#undef addrinfo
#define addrinfo zsock_addrinfo
#undef fd_set
#define fd_set zsock_fd_set

#undef FD_SETSIZE
#define FD_SETSIZE ZSOCK_FD_SETSIZE
#undef FD_ZERO
#define FD_ZERO(set) ZSOCK_FD_ZERO(set)
#undef FD_SET
#define FD_SET(fd, set) ZSOCK_FD_SET(fd, set)
#undef FD_CLR
#define FD_CLR(fd, set) ZSOCK_FD_CLR(fd, set)
#undef FD_ISSET
#define FD_ISSET(fd, set) ZSOCK_FD_ISSET(fd, set)

/* Constants: the zsock values (equal to Linux's, see the checks above). */
#undef POLLIN
#define POLLIN ZSOCK_POLLIN
#undef POLLPRI
#define POLLPRI ZSOCK_POLLPRI
#undef POLLOUT
#define POLLOUT ZSOCK_POLLOUT
#undef POLLERR
#define POLLERR ZSOCK_POLLERR
#undef POLLHUP
#define POLLHUP ZSOCK_POLLHUP
#undef POLLNVAL
#define POLLNVAL ZSOCK_POLLNVAL

#undef MSG_PEEK
#define MSG_PEEK ZSOCK_MSG_PEEK
#undef MSG_TRUNC
#define MSG_TRUNC ZSOCK_MSG_TRUNC
#undef MSG_DONTWAIT
#define MSG_DONTWAIT ZSOCK_MSG_DONTWAIT
#undef MSG_WAITALL
#define MSG_WAITALL ZSOCK_MSG_WAITALL

#undef SHUT_RD
#define SHUT_RD ZSOCK_SHUT_RD
#undef SHUT_WR
#define SHUT_WR ZSOCK_SHUT_WR
#undef SHUT_RDWR
#define SHUT_RDWR ZSOCK_SHUT_RDWR

#endif /* ZSOCK_POSIX_NAMES_H */
