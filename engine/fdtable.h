/*
 * The fd table, the Zephyr way: reserve a number, finalize it with an object
 * and a const vtable, free it. Every kind of socket (native, TLS, offloaded,
 * socketpair) is an object behind a vtable; a NULL operation means
 * EOPNOTSUPP.
 *
 * Inside the engine every operation returns -errno (or a count); the
 * conversion to -1 + errno happens once, in api/zsock.
 *
 * Lifetime: zs_fd_get() takes a reference on the object under the table
 * lock (vtable->ref), so a close from another thread can free the number at
 * once while calls in flight keep the object alive until they zs_fd_put().
 */
#ifndef ZSOCK_FDTABLE_H
#define ZSOCK_FDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zsock/socket.h>

struct zs_waiter;
struct zs_wait_node;
struct net_buf;

/** poll_events(): the object was closed while polled (poll fails, EINTR). */
#define ZS_POLL_CLOSED 0x10000

struct zs_fd_vtable {
	/* lifetime (required) */
	void (*ref)(void *obj);
	void (*unref)(void *obj);
	/** The fd was closed: wake blocked callers, release the table's ref. */
	int (*close)(void *obj);

	/* socket operations; -errno on error */
	int (*bind)(void *obj, const struct sockaddr *addr, socklen_t len);
	int (*connect)(void *obj, const struct sockaddr *addr, socklen_t len);
	int (*listen)(void *obj, int backlog);
	/** Returns a new fd. */
	int (*accept)(void *obj, struct sockaddr *addr, socklen_t *len);
	ssize_t (*sendto)(void *obj, const void *buf, size_t len, int flags,
			  const struct sockaddr *to, socklen_t tolen);
	ssize_t (*recvfrom)(void *obj, void *buf, size_t len, int flags,
			    struct sockaddr *from, socklen_t *fromlen);
	int (*shutdown)(void *obj, int how);
	int (*getsockopt)(void *obj, int level, int name, void *val, socklen_t *len);
	int (*setsockopt)(void *obj, int level, int name, const void *val, socklen_t len);
	int (*getsockname)(void *obj, struct sockaddr *addr, socklen_t *len);
	int (*getpeername)(void *obj, struct sockaddr *addr, socklen_t *len);
	int (*fcntl)(void *obj, int cmd, int flags);
	/** msg has been checked: iovecs readable/writable, count bounded */
	ssize_t (*sendmsg)(void *obj, const struct msghdr *msg, int flags);
	ssize_t (*recvmsg)(void *obj, struct msghdr *msg, int flags);
	/** request-specific argument, already checked non-NULL */
	int (*ioctl)(void *obj, unsigned long request, void *arg);
	/** the native zero-copy API (<zsock/net_buf.h>); chain checked non-NULL */
	ssize_t (*recv_buf)(void *obj, struct net_buf **chain, int flags);
	ssize_t (*send_buf)(void *obj, struct net_buf *chain, int flags,
			    const struct sockaddr *to, socklen_t tolen);

	/* poll: readiness now (ZSOCK_POLL* bits, or ZS_POLL_CLOSED when the
	 * fd was closed under the poller), and the wait queue to sleep on */
	int (*poll_events)(void *obj);
	void (*poll_link)(void *obj, struct zs_wait_node *node, struct zs_waiter *w);
	void (*poll_unlink)(void *obj, struct zs_wait_node *node);
	/**
	 * Wake whoever is linked through poll_link, as a state change would.
	 * For layers on top of the object (TLS) whose own readiness changed
	 * in an application thread. Any thread. NULL: nothing to wake.
	 */
	void (*poll_wake)(void *obj);
};

/** Reserve the lowest free fd. Returns it, or -ENFILE. Any thread. */
int zs_fd_reserve(void);
/** Bind a reserved fd to obj (the table takes over one reference). */
void zs_fd_finalize(int fd, void *obj, const struct zs_fd_vtable *vt);
/** Release a reserved, never finalized fd. */
void zs_fd_unreserve(int fd);

/**
 * Look up fd and take a reference on its object. Returns the object and
 * sets *vt, or NULL for a free, reserved or out-of-range fd (EBADF).
 */
void *zs_fd_get(int fd, const struct zs_fd_vtable **vt);
/** Drop the reference zs_fd_get() took. */
void zs_fd_put(void *obj, const struct zs_fd_vtable *vt);

/**
 * Close fd: the number is free when this returns; vt->close runs on the
 * object. Returns its result, or -EBADF.
 */
int zs_fd_close(int fd);

/**
 * Unbind fd from its object without closing it: the number goes back to
 * reserved (finalize it with another object, or unreserve it) and the
 * caller owns the table's reference (release it with vt->close()). This is
 * how a layer wraps a socket made by another (TLS over an accepted TCP
 * socket, the dispatcher adopting the socket it had made). Only for a
 * number the application has not been given yet: no poll set can hold its
 * object, so none is told (which also lets a poll that is dispatching a
 * socket call it with its poll set's lock held). Returns the object and
 * sets *vt, or NULL if fd is not open.
 */
void *zs_fd_detach(int fd, const struct zs_fd_vtable **vt);

/**
 * zs_fd_close() for a number the application has not been given yet (as
 * for zs_fd_detach(): no poll set is told, so it may run under a poll
 * set's lock). Returns vt->close()'s result, or -EBADF.
 */
int zs_fd_close_fresh(int fd);

/**
 * A number that changes whenever an fd starts or stops naming an object
 * (finalize, close): equal readings mean every fd still names what it did.
 */
uint32_t zs_fd_generation(void);

/** fds finalized or reserved now. */
uint32_t zs_fd_in_use(void);

void zs_fd_table_init(void);
/** RAM of one table slot (the table is CONFIG_ZVFS_OPEN_MAX of them). */
size_t zs_fd_slot_bytes(void);

#endif
