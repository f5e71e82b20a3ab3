/*
 * The POSIX edge of the native zero-copy API (<zsock/net_buf.h>): fd
 * lookups and -errno -> -1 + errno, as socket.c does for the BSD calls.
 */
#include <zsock/net_buf.h>

#include <errno.h>

#include "engine/fdtable.h"
#include "engine/reactor/reactor.h"
#include "engine/sock/native.h"

static ssize_t fail(ssize_t neg_errno)
{
	errno = (int)-neg_errno;
	return -1;
}

ssize_t zsock_recv_buf(int sock, struct net_buf **chain, int flags)
{
	const struct zs_fd_vtable *vt;
	void *obj;
	ssize_t rc = zs_engine_ensure();

	if (chain != NULL)
		*chain = NULL;
	if (rc < 0)
		return fail(rc);
	obj = zs_fd_get(sock, &vt);
	if (obj == NULL)
		return fail(-EBADF);
	if (vt->recv_buf == NULL)
		rc = -EOPNOTSUPP;
	else if (chain == NULL)
		rc = -EINVAL;
	else
		rc = vt->recv_buf(obj, chain, flags);
	zs_fd_put(obj, vt);
	return rc < 0 ? fail(rc) : rc;
}

ssize_t zsock_sendto_buf(int sock, struct net_buf *chain, int flags,
			 const struct sockaddr *dest, socklen_t addrlen)
{
	const struct zs_fd_vtable *vt;
	void *obj;
	ssize_t rc = zs_engine_ensure();

	if (rc < 0)
		return fail(rc);
	obj = zs_fd_get(sock, &vt);
	if (obj == NULL)
		return fail(-EBADF);
	if (vt->send_buf == NULL)
		rc = -EOPNOTSUPP;
	else if (chain == NULL)
		rc = -EINVAL;
	else
		rc = vt->send_buf(obj, chain, flags, dest, addrlen);
	zs_fd_put(obj, vt);
	return rc < 0 ? fail(rc) : rc;
}

ssize_t zsock_send_buf(int sock, struct net_buf *chain, int flags)
{
	return zsock_sendto_buf(sock, chain, flags, NULL, 0);
}

int zsock_buf_release(struct net_buf *chain)
{
	int rc = zs_nbuf_release(chain);

	return rc < 0 ? (int)fail(rc) : 0;
}

struct net_buf *zsock_buf_alloc(int32_t timeout_ms)
{
	int rc = zs_engine_ensure();
	struct net_buf *b;

	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	b = zs_nbuf_alloc(timeout_ms, &rc);
	if (b == NULL)
		errno = rc;
	return b;
}

int zsock_buf_peer(const struct net_buf *chain, struct sockaddr *addr, socklen_t *addrlen)
{
	int rc = zs_nbuf_peer(chain, addr, addrlen);

	return rc < 0 ? (int)fail(rc) : 0;
}
