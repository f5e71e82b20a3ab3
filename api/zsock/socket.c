/*
 * The POSIX edge: every zsock_* call starts the engine if needed, looks the
 * fd up, runs the object's operation, and turns its -errno into -1 + errno
 * here and nowhere else.
 */
#include <zsock/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "engine/fdtable.h"
#include "engine/reactor/reactor.h"
#include "engine/sock/native.h"
#include "offload/offload.h"

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
#if CONFIG_NET_SOCKETS_OFFLOAD_DISPATCHER
	fd = zs_dispatcher_create(family, type, proto);
#else
	fd = zs_registry_create(family, type, proto);
#endif
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

/* ---- scatter/gather ---------------------------------------------------------- */

/* Check a msghdr once for every implementation: -errno or 0. */
static int check_msg(const struct msghdr *msg)
{
	size_t i, total = 0;

	if (msg == NULL)
		return -EFAULT;
	if (msg->msg_iovlen > ZSOCK_IOV_MAX)
		return -EMSGSIZE;
	if (msg->msg_iovlen > 0 && msg->msg_iov == NULL)
		return -EFAULT;
	for (i = 0; i < msg->msg_iovlen; i++) {
		size_t len = msg->msg_iov[i].iov_len;

		if (msg->msg_iov[i].iov_base == NULL && len > 0)
			return -EFAULT;
		if (len > SSIZE_MAX - total)
			return -EINVAL;
		total += len;
	}
	if (msg->msg_name != NULL && (int)msg->msg_namelen < 0)
		return -EINVAL;
	return 0;
}

ssize_t zsock_sendmsg(int sock, const struct msghdr *msg, int flags)
{
	const struct zs_fd_vtable *vt;
	void *obj = get(sock, &vt);
	ssize_t rc;

	if (obj == NULL)
		return -1;
	rc = check_msg(msg);
	if (rc == 0)
		rc = vt->sendmsg ? vt->sendmsg(obj, msg, flags) : -EOPNOTSUPP;
	zs_fd_put(obj, vt);
	return rc < 0 ? fail((int)rc) : rc;
}

ssize_t zsock_recvmsg(int sock, struct msghdr *msg, int flags)
{
	const struct zs_fd_vtable *vt;
	void *obj = get(sock, &vt);
	ssize_t rc;

	if (obj == NULL)
		return -1;
	rc = check_msg(msg);
	if (rc == 0)
		rc = vt->recvmsg ? vt->recvmsg(obj, msg, flags) : -EOPNOTSUPP;
	zs_fd_put(obj, vt);
	return rc < 0 ? fail((int)rc) : rc;
}

/* ---- ioctl, host name, context ------------------------------------------------ */

int zsock_ioctl(int sock, unsigned long request, ...)
{
	const struct zs_fd_vtable *vt;
	void *obj = get(sock, &vt);
	void *arg;
	va_list ap;
	int rc;

	if (obj == NULL)
		return -1;
	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (arg == NULL)
		rc = -EFAULT;
	else
		rc = vt->ioctl ? vt->ioctl(obj, request, arg) : -EINVAL;
	zs_fd_put(obj, vt);
	return rc < 0 ? fail(rc) : rc;
}

int zsock_gethostname(char *buf, size_t len)
{
	static const char name[] = CONFIG_NET_HOSTNAME;

	if (buf == NULL)
		return fail(-EFAULT);
	if (len < sizeof(name)) {
		memcpy(buf, name, len);
		return fail(-ENAMETOOLONG);
	}
	memcpy(buf, name, sizeof(name));
	return 0;
}

void *zsock_get_context_object(int sock)
{
	const struct zs_fd_vtable *vt;
	void *obj = get(sock, &vt);

	void *ctx;

	if (obj == NULL)
		return NULL;
	ctx = zs_offload_context(obj, vt); /* a driver's own object, not the adapter */
	zs_fd_put(obj, vt); /* valid while the fd stays open: see socket.h */
	return ctx;
}
