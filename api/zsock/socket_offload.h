/*
 * <zsock/socket_offload.h>: socket offloading (Zephyr's API) and zsock's
 * socket implementation registry.
 *
 * An implementation of sockets (the engine's own, its TLS sockets, a modem
 * driver, the host kernel's sockets through hostsock) registers itself with
 * NET_SOCKET_OFFLOAD_REGISTER. zsock_socket() walks the registry in
 * priority order (lower number first); the first entry whose family matches
 * (or is AF_UNSPEC) and whose is_supported() says yes creates the socket
 * with its handler. The engine's native sockets are the entry "native" at
 * CONFIG_NET_SOCKETS_PRIORITY_DEFAULT, its TLS sockets "native_tls" at
 * CONFIG_NET_SOCKETS_TLS_PRIORITY.
 *
 * A handler makes a socket the Zephyr way:
 *
 *     int fd = z_reserve_fd();                 // -1, errno ENFILE
 *     ... create the driver's object obj ...
 *     z_finalize_fd(fd, obj, (const struct fd_op_vtable *)&my_vtable);
 *     return fd;                               // or z_free_fd(fd), -1 + errno
 *
 * after which every zsock_* call on fd goes to my_vtable with obj. The
 * driver's functions follow POSIX: return -1 and set errno on error.
 *
 * Threads: zsock calls a driver's functions from the application threads
 * that use its sockets, concurrently for different sockets and, as for any
 * socket, concurrently for one socket (a recv in one thread, a send in
 * another). fd_vtable.close is called exactly once per finalized fd. A call
 * that starts after zsock_close() has returned gets EBADF and never reaches
 * the driver; a call that started before (in another thread) may be in the
 * driver, or still enter it, while close runs and after it returns: the
 * driver keeps obj usable until ZFD_IOCTL_RELEASE (below), which comes once
 * no call can reach obj any more (offload/hostsock.c holds a reference
 * until then), and close should wake a call blocked in it.
 * zsock_get_context_object() gives the driver's obj.
 */
#ifndef ZSOCK_SOCKET_OFFLOAD_H
#define ZSOCK_SOCKET_OFFLOAD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <zsock/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the vtable of an offloaded socket ----------------------------------- */

/** The file half of a socket vtable (Zephyr's struct fd_op_vtable). */
struct fd_op_vtable {
	/** recv(fd, buf, len, 0) without flags; NULL: zsock uses recvfrom. */
	ssize_t (*read)(void *obj, void *buf, size_t sz);
	/** send(fd, buf, len, 0); NULL: zsock uses sendto. */
	ssize_t (*write)(void *obj, const void *buf, size_t sz);
	/** The fd was closed (once). Returns 0 or -1 + errno; obj is dead after. */
	int (*close)(void *obj);
	/**
	 * ioctl: FIONBIO, FIONREAD, F_GETFL/F_SETFL (zsock_fcntl comes here as
	 * ZFD_IOCTL_FCNTL_*), and the poll requests below. -1 + errno
	 * (EOPNOTSUPP) for what the driver does not know.
	 */
	int (*ioctl)(void *obj, unsigned int request, va_list args);
};

/**
 * Zephyr's struct socket_op_vtable: fd_vtable first, then the socket calls.
 * Each has the zsock_* call's arguments (obj for the fd) and returns as it
 * does: -1 and errno on error. A NULL member makes that call fail with
 * EOPNOTSUPP.
 */
struct socket_op_vtable {
	struct fd_op_vtable fd_vtable;
	int (*shutdown)(void *obj, int how);
	int (*bind)(void *obj, const struct sockaddr *addr, socklen_t addrlen);
	int (*connect)(void *obj, const struct sockaddr *addr, socklen_t addrlen);
	int (*listen)(void *obj, int backlog);
	/** Returns a new fd (the driver reserves and finalizes it). */
	int (*accept)(void *obj, struct sockaddr *addr, socklen_t *addrlen);
	ssize_t (*sendto)(void *obj, const void *buf, size_t len, int flags,
			  const struct sockaddr *dest_addr, socklen_t addrlen);
	ssize_t (*recvfrom)(void *obj, void *buf, size_t max_len, int flags,
			    struct sockaddr *src_addr, socklen_t *addrlen);
	int (*getsockopt)(void *obj, int level, int optname, void *optval, socklen_t *optlen);
	int (*setsockopt)(void *obj, int level, int optname, const void *optval, socklen_t optlen);
	ssize_t (*sendmsg)(void *obj, const struct msghdr *msg, int flags);
	ssize_t (*recvmsg)(void *obj, struct msghdr *msg, int flags);
	int (*getpeername)(void *obj, struct sockaddr *addr, socklen_t *addrlen);
	int (*getsockname)(void *obj, struct sockaddr *addr, socklen_t *addrlen);
};

/* ioctl requests zsock sends (va_list arguments after the request) */
#define ZFD_IOCTL_FCNTL_GETFL 0x7a70   /**< (): returns the O_* flags */
#define ZFD_IOCTL_FCNTL_SETFL 0x7a71   /**< (int flags): O_NONBLOCK */
/**
 * ZFD_IOCTL_POLL_UPDATE (struct zsock_pollfd *pfd): set pfd->revents to
 * the ZSOCK_POLL* bits that hold now (of pfd->events, plus POLLERR and
 * POLLHUP); return 0. Must not block. A driver without it is never
 * ready in zsock_poll (which still returns on its timeout or other fds).
 */
#define ZFD_IOCTL_POLL_UPDATE 0x7a72
/**
 * ZFD_IOCTL_POLL_PREPARE (struct zsock_poll_notify *n): from now until
 * ZFD_IOCTL_POLL_DONE with the same n, call zsock_poll_notify(n) (any
 * thread) whenever the socket's readiness may have changed, so that a
 * zsock_poll() sleeping on it wakes up and asks POLL_UPDATE again. Return
 * 0. Several n may be registered on one socket at once (several threads
 * polling it); each is a distinct pointer.
 */
#define ZFD_IOCTL_POLL_PREPARE 0x7a73
/** ZFD_IOCTL_POLL_DONE (struct zsock_poll_notify *n): forget n; never notify it again. */
#define ZFD_IOCTL_POLL_DONE 0x7a74
/**
 * ZFD_IOCTL_RELEASE (): zsock's last word on obj, sent once, after the
 * driver's close, when no zsock call is in the driver for it and none can
 * enter any more. A driver that frees or reuses obj should wait for it (a
 * call that started before zsock_close() may enter the driver after its
 * close, see above); one that does not know it returns -1 / EOPNOTSUPP.
 */
#define ZFD_IOCTL_RELEASE 0x7a75

/** Opaque to drivers: what POLL_PREPARE hands over. */
struct zsock_poll_notify;

/** Wake whoever polls through n. Any thread, never blocks, cheap when nobody waits. */
void zsock_poll_notify(struct zsock_poll_notify *n);

/* ---- fds ----------------------------------------------------------------- */

/** Reserve the lowest free fd. Returns it, or -1 with errno ENFILE. Does not block. */
int z_reserve_fd(void);

/**
 * Bind reserved fd to obj and vtable (a struct socket_op_vtable whose
 * first member is the fd_op_vtable, as Zephyr casts it). From here the fd
 * works with every zsock_* call, zsock_poll and zsock_select included.
 * Undefined for an fd not reserved by z_reserve_fd. Does not block.
 */
void z_finalize_fd(int fd, void *obj, const struct fd_op_vtable *vtable);

/** Give back a reserved fd that was never finalized. Does not block. */
void z_free_fd(int fd);

/* ---- the registry ----------------------------------------------------------- */

/** One implementation of sockets (Zephyr's struct net_socket_register). */
struct net_socket_register {
	int family;                 /**< AF_INET, AF_INET6, ... or AF_UNSPEC (any) */
	int prio;                   /**< lower first */
	bool is_offloaded;
	bool (*is_supported)(int family, int type, int proto);
	/** Make the socket: returns its fd, or -1 with errno. */
	int (*handler)(int family, int type, int proto);
	const char *name;
};

/*
 * Entries live in the linker section "zsock_socket_register" (a name that
 * is a C identifier, so the GNU linker provides its __start_ and __stop_
 * symbols on the host; the Cortex-M3 linker script keeps the section and
 * defines the same two symbols). They are sorted by priority on first use.
 * The entry is marked used and retained so that it survives in a static
 * library only if its object file is linked: put it in a file the program
 * references (the driver's own code), as Zephyr's iterable sections need.
 */
#define ZSOCK_SOCKET_REGISTER_(socket_name, _prio, _family, _is_supported, _handler, _off)  \
	static const struct net_socket_register zsock_socket_register_##socket_name          \
		__attribute__((used, section("zsock_socket_register"), aligned(8))) = {       \
			.family = (_family),                                                  \
			.prio = (_prio),                                                      \
			.is_offloaded = (_off),                                               \
			.is_supported = (_is_supported),                                      \
			.handler = (_handler),                                                \
			.name = #socket_name,                                                 \
		}

/** Register an offloaded implementation (Zephyr's macro, same arguments). */
#define NET_SOCKET_OFFLOAD_REGISTER(socket_name, prio, family, is_supported, handler) \
	ZSOCK_SOCKET_REGISTER_(socket_name, prio, family, is_supported, handler, true)
/** Register a native implementation (Zephyr's NET_SOCKET_REGISTER). */
#define NET_SOCKET_REGISTER(socket_name, prio, family, is_supported, handler) \
	ZSOCK_SOCKET_REGISTER_(socket_name, prio, family, is_supported, handler, false)

/* ---- the dispatcher -------------------------------------------------------- */

/**
 * A socket bound to no implementation until its first call (Zephyr's
 * offload dispatcher; what zsock_socket() returns in a build with
 * -Dnet_sockets_offload_dispatcher=true). Until then:
 *   - zsock_close() reaches no implementation;
 *   - setsockopt(SOL_SOCKET, SO_BINDTODEVICE, name) picks the interface's
 *     implementation: an offload interface's factory
 *     (net_if_socket_offload_set), or an engine socket bound to that engine
 *     interface; ENODEV for a name nobody knows;
 *   - setsockopt(SOL_TLS, TLS_NATIVE, 1) makes the socket, when it is made,
 *     the engine's TLS (proto IPPROTO_TLS_1_x) over a stream socket of the
 *     implementation then chosen (the default, or SO_BINDTODEVICE's);
 *   - fcntl(F_SETFL/F_GETFL) is kept (SOCK_NONBLOCK in type too);
 *   - any other call, zsock_poll included, makes the socket with the
 *     registry's choice for (family, type, proto) and is forwarded; an
 *     error making it is that call's error.
 * Returns the fd, or -1 with errno ENFILE or ENOMEM. Does not block.
 */
int zsock_dispatcher_socket(int family, int type, int proto);

/* ---- interfaces ---------------------------------------------------------- */

/** A network interface as offloading sees it (opaque). */
struct net_if;

/** What makes a socket on an interface (Zephyr's net_socket_create_t). */
typedef int (*net_socket_create_t)(int family, int type, int proto);

/**
 * The interface called name: one of the engine's ("lo", a TAP's device
 * name) or one an offload driver added. NULL if there is none. Does not
 * block beyond a short lock.
 */
struct net_if *zsock_net_if_get_by_name(const char *name);

/**
 * Add an interface that exists only for offloading (as a modem driver's),
 * called name (1..15 bytes). Returns it, or NULL with errno EEXIST (the
 * name is taken, by a driver's interface or one of the engine's), EINVAL
 * (name) or ENOMEM (table full: CONFIG_ZSOCK_OFFLOAD_IFACES drivers'
 * interfaces; the engine's have a table of their own). Starts the engine
 * if needed; blocks briefly.
 */
struct net_if *zsock_net_if_add_offloaded(const char *name);

/**
 * Sockets bound to iface with SO_BINDTODEVICE under the dispatcher are
 * made by socket_offload (Zephyr's net_if_socket_offload_set). NULL
 * restores the engine's own.
 */
void net_if_socket_offload_set(struct net_if *iface, net_socket_create_t socket_offload);

#ifdef __cplusplus
}
#endif

#endif /* ZSOCK_SOCKET_OFFLOAD_H */
