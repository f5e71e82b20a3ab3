/*
 * zsock_poll: one waiter, linked to the wait queue of every polled socket.
 *
 * The fds are looked up once (a reference each), linked once, then tested;
 * the thread sleeps on its single event and, when woken, tests again. An
 * event on any socket costs one signal, however many sockets are polled.
 * Testing is a few atomic loads per socket, no syscall.
 *
 * A thread with a poll set (engine/pollset.h) keeps its registrations
 * between calls, and an event costs the same however many fds are polled;
 * the plain way below serves the others.
 *
 * Zephyr's rule: closing a polled fd from another thread makes the poll
 * return -1/EINTR.
 */
#include <zsock/socket.h>

#include <errno.h>

#include "engine/fdtable.h"
#include "engine/pollset.h"
#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#include "engine/reactor/waitq.h"
#include "engine/sock/native.h"
#include "engine/stats.h"

struct entry {
	void *obj;
	const struct zs_fd_vtable *vt;
	struct zs_wait_node node;
};

/* Returns the ready count, or -EINTR when a polled fd was closed. */
static int scan(struct zsock_pollfd *fds, struct entry *e, int nfds)
{
	int i, n = 0;

	for (i = 0; i < nfds; i++) {
		int ev;

		if (fds[i].fd < 0) {
			fds[i].revents = 0;
			continue;
		}
		if (e[i].obj == NULL) {
			fds[i].revents = ZSOCK_POLLNVAL;
			n++;
			continue;
		}
		ev = e[i].vt->poll_events ? e[i].vt->poll_events(e[i].obj) : 0;
		ZS_COUNT(poll_tests, 1);
		if (ev & ZS_POLL_CLOSED)
			return -EINTR;
		fds[i].revents = (short)(ev & (fds[i].events | ZSOCK_POLLERR |
					       ZSOCK_POLLHUP | ZSOCK_POLLNVAL));
		if (fds[i].revents)
			n++;
	}
	return n;
}

int zsock_poll(struct zsock_pollfd *fds, int nfds, int timeout)
{
	struct entry e[CONFIG_NET_SOCKETS_POLL_MAX];
	struct zs_wait_node pool_node;
	bool want_out = false;
	struct zs_waiter *w;
	int64_t deadline;
	int i, n, rc;

	rc = zs_engine_ensure();
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	if (nfds < 0 || nfds > CONFIG_NET_SOCKETS_POLL_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (fds == NULL && nfds > 0) {
		errno = EFAULT;
		return -1;
	}
	/* a port without a reactor thread runs it here, or a caller polling
	 * with no timeout would never see anything change */
	if (timeout == 0)
		zs_port_pump();
	rc = zs_pollset_poll(fds, nfds, timeout);
	if (rc != -ENOSPC) {
		if (rc < 0) {
			errno = -rc;
			return -1;
		}
		return rc;
	}
	/* no poll set for this thread: the plain way */
	deadline = timeout < 0 ? ZS_FOREVER : zs_port_now_ms() + timeout;
	w = zs_waiter_self();
	for (i = 0; i < nfds; i++) {
		e[i].obj = fds[i].fd < 0 ? NULL : zs_fd_get(fds[i].fd, &e[i].vt);
		if (e[i].obj != NULL && timeout != 0 && e[i].vt->poll_link)
			e[i].vt->poll_link(e[i].obj, &e[i].node, w);
		if (fds[i].fd >= 0 && (fds[i].events & ZSOCK_POLLOUT))
			want_out = true;
	}
	/* POLLOUT of a native socket also needs room in the transmit pool */
	if (want_out && timeout != 0)
		zs_waitq_add(zs_sock_pool_waitq(), &pool_node, w);
	for (;;) {
		n = scan(fds, e, nfds);
		if (n != 0 || timeout == 0)
			break;
		if (zs_event_wait(&w->ev, deadline) == -ETIMEDOUT) {
			n = scan(fds, e, nfds);
			break;
		}
		ZS_COUNT(poll_wakeups, 1);
	}
	if (want_out && timeout != 0)
		zs_waitq_del(zs_sock_pool_waitq(), &pool_node);
	for (i = 0; i < nfds; i++) {
		if (e[i].obj == NULL)
			continue;
		if (timeout != 0 && e[i].vt->poll_link)
			e[i].vt->poll_unlink(e[i].obj, &e[i].node);
		zs_fd_put(e[i].obj, e[i].vt);
	}
	if (n < 0) {
		errno = -n;
		return -1;
	}
	return n;
}
