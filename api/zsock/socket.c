/*
 * The POSIX edge: every zsock_* call starts the engine if needed, looks the
 * fd up, runs the object's operation, and turns its -errno into -1 + errno
 * here and nowhere else.
 */
#include <zsock/socket.h>

#include <errno.h>

#include "engine/fdtable.h"
#include "engine/reactor/reactor.h"
#include "engine/sock/native.h"

static int fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

/* Look up fd with a reference, or set errno and return NULL. */
static void *get(int fd, const struct zs_fd_vtable **vt)
{
	int rc = zs_engine_ensure();
	void *obj;

	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	obj = zs_fd_get(fd, vt);
	if (obj == NULL)
		errno = EBADF;
	return obj;
}

#define CALL_INT(fd, op, ...)                                          \
	do {                                                           \
		const struct zs_fd_vtable *vt;                         \
		void *obj = get((fd), &vt);                            \
		int rc_;                                               \
		if (obj == NULL)                                       \
			return -1;                                     \
		rc_ = vt->op ? vt->op(obj, __VA_ARGS__) : -EOPNOTSUPP; \
		zs_fd_put(obj, vt);                                    \
		return rc_ < 0 ? fail(rc_) : rc_;                      \
	} while (0)

int zsock_socket(int family, int type, int proto)
{
	int rc = zs_engine_ensure();
	int fd;

	if (rc < 0)
		return fail(rc);
	fd = zs_sock_create(family, type, proto);
	if (fd < 0)
		return fail(fd);
	if (type & SOCK_NONBLOCK)
		zsock_fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

int zsock_close(int sock)
{
	int rc = zs_engine_ensure();

	if (rc < 0)
		return fail(rc);
	rc = zs_fd_close(sock);
	return rc < 0 ? fail(rc) : 0;
}

int zsock_shutdown(int sock, int how)
{
	CALL_INT(sock, shutdown, how);
}

int zsock_bind(int sock, const struct sockaddr *addr, socklen_t addrlen)
{
	CALL_INT(sock, bind, addr, addrlen);
}

int zsock_connect(int sock, const struct sockaddr *addr, socklen_t addrlen)
{
	CALL_INT(sock, connect, addr, addrlen);
}

int zsock_listen(int sock, int backlog)
{
	CALL_INT(sock, listen, backlog);
}

int zsock_accept(int sock, struct sockaddr *addr, socklen_t *addrlen)
{
	CALL_INT(sock, accept, addr, addrlen);
}

ssize_t zsock_sendto(int sock, const void *buf, size_t len, int flags,
		     const struct sockaddr *dest_addr, socklen_t addrlen)
{
	const struct zs_fd_vtable *vt;
	void *obj = get(sock, &vt);
	ssize_t rc;

	if (obj == NULL)
		return -1;
	rc = vt->sendto ? vt->sendto(obj, buf, len, flags, dest_addr, addrlen) : -EOPNOTSUPP;
	zs_fd_put(obj, vt);
	return rc < 0 ? fail((int)rc) : rc;
}

ssize_t zsock_send(int sock, const void *buf, size_t len, int flags)
{
	return zsock_sendto(sock, buf, len, flags, NULL, 0);
}

ssize_t zsock_recvfrom(int sock, void *buf, size_t max_len, int flags,
		       struct sockaddr *src_addr, socklen_t *addrlen)
{
	const struct zs_fd_vtable *vt;
	void *obj = get(sock, &vt);
	ssize_t rc;

	if (obj == NULL)
		return -1;
	rc = vt->recvfrom ? vt->recvfrom(obj, buf, max_len, flags, src_addr, addrlen)
			  : -EOPNOTSUPP;
	zs_fd_put(obj, vt);
	return rc < 0 ? fail((int)rc) : rc;
}

ssize_t zsock_recv(int sock, void *buf, size_t max_len, int flags)
{
	return zsock_recvfrom(sock, buf, max_len, flags, NULL, NULL);
}

int zsock_fcntl(int sock, int cmd, int flags)
{
	CALL_INT(sock, fcntl, cmd, flags);
}

int zsock_getsockopt(int sock, int level, int optname, void *optval, socklen_t *optlen)
{
	CALL_INT(sock, getsockopt, level, optname, optval, optlen);
}

int zsock_setsockopt(int sock, int level, int optname, const void *optval, socklen_t optlen)
{
	CALL_INT(sock, setsockopt, level, optname, optval, optlen);
}

int zsock_getsockname(int sock, struct sockaddr *addr, socklen_t *addrlen)
{
	CALL_INT(sock, getsockname, addr, addrlen);
}

int zsock_getpeername(int sock, struct sockaddr *addr, socklen_t *addrlen)
{
	CALL_INT(sock, getpeername, addr, addrlen);
}
