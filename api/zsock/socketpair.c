/*
 * zsock_socketpair: the POSIX edge of engine/sockpair. Reserve two fds,
 * take a pair, finalize; any failure gives back what was taken.
 */
#include <zsock/socket.h>

#include <errno.h>

#include "engine/fdtable.h"
#include "engine/reactor/reactor.h"
#include "engine/sockpair/sockpair.h"

static int fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

/* see zsock/socket.h */
int zsock_socketpair(int family, int type, int proto, int *sv)
{
	void *end[2];
	int fd0, fd1, rc;

	rc = zs_engine_ensure();
	if (rc < 0)
		return fail(rc);
	rc = zs_sockpair_check(family, type, proto);
	if (rc < 0)
		return fail(rc);
	if (sv == NULL)
		return fail(-EFAULT);
	fd0 = zs_fd_reserve();
	if (fd0 < 0)
		return fail(fd0);
	fd1 = zs_fd_reserve();
	if (fd1 < 0) {
		zs_fd_unreserve(fd0);
		return fail(fd1);
	}
	rc = zs_sockpair_open(type, end);
	if (rc < 0) {
		zs_fd_unreserve(fd1);
		zs_fd_unreserve(fd0);
		return fail(rc);
	}
	zs_fd_finalize(fd0, end[0], &zs_sockpair_vtable);
	zs_fd_finalize(fd1, end[1], &zs_sockpair_vtable);
	sv[0] = fd0;
	sv[1] = fd1;
	return 0;
}
