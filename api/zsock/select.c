/*
 * zsock_select: zsock_poll() in another coat. The sets become one pollfd
 * per fd named in any set (so a wake-up still costs one signal), and the
 * results go back as bits:
 *   readable   POLLIN, or POLLERR / POLLHUP (a read would not block)
 *   writable   POLLOUT, or POLLERR / POLLHUP (a refused connect shows here)
 *   exception  POLLPRI or POLLERR
 * An fd that is not open fails the call with EBADF, as on Linux.
 */
#include <zsock/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <string.h>

void zsock_fdset_zero(zsock_fd_set *set)
{
	if (set != NULL)
		memset(set, 0, sizeof(*set));
}

void zsock_fdset_add(int fd, zsock_fd_set *set)
{
	if (set != NULL && fd >= 0 && fd < ZSOCK_FD_SETSIZE)
		set->bitset[fd / 32] |= 1u << (fd % 32);
}

void zsock_fdset_del(int fd, zsock_fd_set *set)
{
	if (set != NULL && fd >= 0 && fd < ZSOCK_FD_SETSIZE)
		set->bitset[fd / 32] &= ~(1u << (fd % 32));
}

int zsock_fdset_has(int fd, const zsock_fd_set *set)
{
	if (set == NULL || fd < 0 || fd >= ZSOCK_FD_SETSIZE)
		return 0;
	return (set->bitset[fd / 32] >> (fd % 32)) & 1u;
}

static int timeout_ms(const struct zsock_timeval *tv, int *ms)
{
	long long t;

	if (tv == NULL) {
		*ms = -1;
		return 0;
	}
	if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
		return -EINVAL;
	/* round up: select must not return before the timeout */
	t = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	*ms = t > INT_MAX ? INT_MAX : (int)t;
	return 0;
}

int zsock_select(int nfds, zsock_fd_set *readfds, zsock_fd_set *writefds,
		 zsock_fd_set *exceptfds, struct zsock_timeval *timeout)
{
	struct zsock_pollfd pfd[ZSOCK_FD_SETSIZE];
	int n = 0, i, fd, ms, rc, count = 0;

	if (nfds < 0 || nfds > ZSOCK_FD_SETSIZE || timeout_ms(timeout, &ms) < 0) {
		errno = EINVAL;
		return -1;
	}
	for (fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (zsock_fdset_has(fd, readfds))
			ev |= ZSOCK_POLLIN;
		if (zsock_fdset_has(fd, writefds))
			ev |= ZSOCK_POLLOUT;
		if (zsock_fdset_has(fd, exceptfds))
			ev |= ZSOCK_POLLPRI;
		if (ev != 0) {
			pfd[n].fd = fd;
			pfd[n].events = ev;
			pfd[n++].revents = 0;
		}
	}
	rc = zsock_poll(pfd, n, ms);
	if (rc < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (pfd[i].revents & ZSOCK_POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	}
	zsock_fdset_zero(readfds);
	zsock_fdset_zero(writefds);
	zsock_fdset_zero(exceptfds);
	for (i = 0; i < n; i++) {
		short r = pfd[i].revents;
		bool bad = r & (ZSOCK_POLLERR | ZSOCK_POLLHUP);

		fd = pfd[i].fd;
		if ((pfd[i].events & ZSOCK_POLLIN) && ((r & ZSOCK_POLLIN) || bad)) {
			zsock_fdset_add(fd, readfds);
			count++;
		}
		if ((pfd[i].events & ZSOCK_POLLOUT) && ((r & ZSOCK_POLLOUT) || bad)) {
			zsock_fdset_add(fd, writefds);
			count++;
		}
		if ((pfd[i].events & ZSOCK_POLLPRI) && (r & (ZSOCK_POLLPRI | ZSOCK_POLLERR))) {
			zsock_fdset_add(fd, exceptfds);
			count++;
		}
	}
	return count;
}
