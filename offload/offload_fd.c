/*
 * Offloaded fds: z_reserve_fd / z_finalize_fd / z_free_fd, and the adapter
 * that turns a driver's struct socket_op_vtable (POSIX returns: -1 and
 * errno) into an fd object of the engine (-errno returns, references, wait
 * queue for poll).
 *
 * One adapter per finalized fd, from a fixed pool. It counts references
 * like every fd object: the fd table holds one, each call in flight one.
 * The driver's close runs once, when the fd is closed; calls that start
 * after it get EBADF and never reach the driver.
 *
 * Poll: the adapter owns a wait queue. While somebody polls the fd, the
 * driver holds the adapter's zsock_poll_notify handle (ZFD_IOCTL_POLL_
 * PREPARE .. POLL_DONE) and calls zsock_poll_notify() when readiness may
 * have changed; readiness itself comes from ZFD_IOCTL_POLL_UPDATE.
 */
#include <zsock/socket_offload.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "engine/fdtable.h"
#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#include "engine/reactor/waitq.h"
#include "offload/offload.h"

struct zsock_poll_notify {
	struct zs_waitq wq;
};

struct adapter {
	_Atomic int refs;
	bool used;                    /* pool_lock */
	bool ready;                   /* wq and lock initialised */
	_Atomic bool closed;
	void *obj;
	const struct socket_op_vtable *vt;
	struct zs_lock lock;          /* linked count and the PREPARE/DONE pairing */
	int linked;                   /* poll nodes on notify.wq */
	struct zsock_poll_notify notify;
};

#define N_ADAPTERS (2 * CONFIG_ZVFS_OPEN_MAX)

static struct adapter adapters[N_ADAPTERS];
static struct zs_lock pool_lock;
static uint32_t pool_used;
static struct zs_once pool_once = ZS_ONCE_INIT;
static const struct zs_fd_vtable adapter_vtable;

static void pool_init(void)
{
	zs_lock_init(&pool_lock);
}

void *zs_offload_context(void *obj, const struct zs_fd_vtable *vt)
{
	return vt == &adapter_vtable ? ((struct adapter *)obj)->obj : obj;
}

uint32_t zs_offload_in_use(void)
{
	uint32_t n;

	zs_port_once(&pool_once, pool_init);
	zs_lock_take(&pool_lock);
	n = pool_used;
	zs_lock_give(&pool_lock);
	return n + zs_dispatcher_in_use();
}

/* ---- the driver's calls, POSIX returns made -errno ---------------------------- */

static int neg(long rc)
{
	if (rc >= 0)
		return (int)rc;
	return errno > 0 ? -errno : -EIO;
}

static ssize_t neg_ssize(ssize_t rc)
{
	if (rc >= 0)
		return rc;
	return errno > 0 ? -errno : -EIO;
}

static int do_ioctl(struct adapter *a, unsigned int request, ...)
{
	va_list ap;
	int rc;

	if (a->vt->fd_vtable.ioctl == NULL)
		return -EOPNOTSUPP;
	va_start(ap, request);
	errno = 0;
	rc = a->vt->fd_vtable.ioctl(a->obj, request, ap);
	va_end(ap);
	return neg(rc);
}

/* Each socket call: refuse after close, else the driver's function or EOPNOTSUPP. */
#define FORWARD(a, fn, ...)                                        \
	(atomic_load(&(a)->closed) ? -EBADF :                     \
	 (a)->vt->fn == NULL ? -EOPNOTSUPP :                      \
	 (errno = 0, neg((a)->vt->fn((a)->obj, __VA_ARGS__))))

static int ad_bind(void *o, const struct sockaddr *addr, socklen_t len)
{
	return FORWARD((struct adapter *)o, bind, addr, len);
}

static int ad_connect(void *o, const struct sockaddr *addr, socklen_t len)
{
	return FORWARD((struct adapter *)o, connect, addr, len);
}

static int ad_listen(void *o, int backlog)
{
	return FORWARD((struct adapter *)o, listen, backlog);
}

static int ad_accept(void *o, struct sockaddr *addr, socklen_t *len)
{
	return FORWARD((struct adapter *)o, accept, addr, len);
}

static int ad_shutdown(void *o, int how)
{
	return FORWARD((struct adapter *)o, shutdown, how);
}

static int ad_getsockopt(void *o, int level, int name, void *val, socklen_t *len)
{
	return FORWARD((struct adapter *)o, getsockopt, level, name, val, len);
}

static int ad_setsockopt(void *o, int level, int name, const void *val, socklen_t len)
{
	return FORWARD((struct adapter *)o, setsockopt, level, name, val, len);
}

static int ad_getsockname(void *o, struct sockaddr *addr, socklen_t *len)
{
	return FORWARD((struct adapter *)o, getsockname, addr, len);
}

static int ad_getpeername(void *o, struct sockaddr *addr, socklen_t *len)
{
	return FORWARD((struct adapter *)o, getpeername, addr, len);
}

static ssize_t ad_sendto(void *o, const void *buf, size_t len, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	struct adapter *a = o;

	if (atomic_load(&a->closed))
		return -EBADF;
	errno = 0;
	if (a->vt->sendto != NULL)
		return neg_ssize(a->vt->sendto(a->obj, buf, len, flags, to, tolen));
	if (a->vt->fd_vtable.write != NULL && flags == 0 && to == NULL)
		return neg_ssize(a->vt->fd_vtable.write(a->obj, buf, len));
	return -EOPNOTSUPP;
}

static ssize_t ad_recvfrom(void *o, void *buf, size_t len, int flags,
			   struct sockaddr *from, socklen_t *fromlen)
{
	struct adapter *a = o;

	if (atomic_load(&a->closed))
		return -EBADF;
	errno = 0;
	if (a->vt->recvfrom != NULL)
		return neg_ssize(a->vt->recvfrom(a->obj, buf, len, flags, from, fromlen));
	if (a->vt->fd_vtable.read != NULL && flags == 0 && from == NULL)
		return neg_ssize(a->vt->fd_vtable.read(a->obj, buf, len));
	return -EOPNOTSUPP;
}

static ssize_t ad_sendmsg(void *o, const struct msghdr *msg, int flags)
{
	struct adapter *a = o;

	if (atomic_load(&a->closed))
		return -EBADF;
	if (a->vt->sendmsg == NULL)
		return -EOPNOTSUPP;
	errno = 0;
	return neg_ssize(a->vt->sendmsg(a->obj, msg, flags));
}

static ssize_t ad_recvmsg(void *o, struct msghdr *msg, int flags)
{
	struct adapter *a = o;

	if (atomic_load(&a->closed))
		return -EBADF;
	if (a->vt->recvmsg == NULL)
		return -EOPNOTSUPP;
	errno = 0;
	return neg_ssize(a->vt->recvmsg(a->obj, msg, flags));
}

static int ad_fcntl(void *o, int cmd, int flags)
{
	struct adapter *a = o;

	if (atomic_load(&a->closed))
		return -EBADF;
	switch (cmd) {
	case F_GETFL:
		return do_ioctl(a, ZFD_IOCTL_FCNTL_GETFL);
	case F_SETFL:
		return do_ioctl(a, ZFD_IOCTL_FCNTL_SETFL, flags);
	default:
		return -EINVAL;
	}
}

static int ad_ioctl(void *o, unsigned long request, void *arg)
{
	struct adapter *a = o;

	if (atomic_load(&a->closed))
		return -EBADF;
	return do_ioctl(a, (unsigned int)request, arg);
}

/* ---- poll ------------------------------------------------------------------------ */

void zsock_poll_notify(struct zsock_poll_notify *n)
{
	if (n != NULL)
		zs_waitq_wake(&n->wq);
}

static int ad_poll_events(void *o)
{
	struct adapter *a = o;
	struct zsock_pollfd pfd = { .fd = -1, .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };

	if (atomic_load(&a->closed))
		return ZS_POLL_CLOSED;
	if (do_ioctl(a, ZFD_IOCTL_POLL_UPDATE, &pfd) < 0)
		return 0; /* no poll support: never ready */
	return pfd.revents;
}

static void ad_poll_wake(void *o)
{
	zs_waitq_wake(&((struct adapter *)o)->notify.wq);
}

static void ad_poll_link(void *o, struct zs_wait_node *node, struct zs_waiter *w)
{
	struct adapter *a = o;

	zs_waitq_add(&a->notify.wq, node, w);
	zs_lock_take(&a->lock);
	if (a->linked++ == 0 && !atomic_load(&a->closed))
		do_ioctl(a, ZFD_IOCTL_POLL_PREPARE, &a->notify);
	zs_lock_give(&a->lock);
}

static void ad_poll_unlink(void *o, struct zs_wait_node *node)
{
	struct adapter *a = o;

	zs_waitq_del(&a->notify.wq, node);
	zs_lock_take(&a->lock);
	if (--a->linked == 0 && !atomic_load(&a->closed))
		do_ioctl(a, ZFD_IOCTL_POLL_DONE, &a->notify);
	zs_lock_give(&a->lock);
}

/* ---- lifetime --------------------------------------------------------------------- */

static void ad_ref(void *o)
{
	atomic_fetch_add(&((struct adapter *)o)->refs, 1);
}

/* zsock's last word to the driver on obj (ZFD_IOCTL_RELEASE). */
static void release_driver(const struct fd_op_vtable *vt, void *obj, ...)
{
	va_list ap;

	if (vt->ioctl == NULL)
		return;
	va_start(ap, obj);
	vt->ioctl(obj, ZFD_IOCTL_RELEASE, ap); /* EOPNOTSUPP from drivers without it */
	va_end(ap);
}

static void ad_unref(void *o)
{
	struct adapter *a = o;

	if (atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	/* the table's reference went with the close, and no call holds one:
	 * nothing of zsock reaches obj any more */
	release_driver(&a->vt->fd_vtable, a->obj);
	zs_lock_take(&pool_lock);
	a->used = false;
	a->obj = NULL;
	a->vt = NULL;
	pool_used--;
	zs_lock_give(&pool_lock);
}

static int ad_close(void *o)
{
	struct adapter *a = o;
	int rc = 0;

	zs_lock_take(&a->lock);
	atomic_store(&a->closed, true);
	if (a->linked > 0) /* pollers still registered: the driver lets go first */
		do_ioctl(a, ZFD_IOCTL_POLL_DONE, &a->notify);
	zs_lock_give(&a->lock);
	zs_waitq_wake(&a->notify.wq); /* pollers see ZS_POLL_CLOSED */
	if (a->vt->fd_vtable.close != NULL) {
		errno = 0;
		rc = neg(a->vt->fd_vtable.close(a->obj));
	}
	ad_unref(a); /* the table's */
	return rc;
}

static const struct zs_fd_vtable adapter_vtable = {
	.ref = ad_ref,
	.unref = ad_unref,
	.close = ad_close,
	.bind = ad_bind,
	.connect = ad_connect,
	.listen = ad_listen,
	.accept = ad_accept,
	.sendto = ad_sendto,
	.recvfrom = ad_recvfrom,
	.shutdown = ad_shutdown,
	.getsockopt = ad_getsockopt,
	.setsockopt = ad_setsockopt,
	.getsockname = ad_getsockname,
	.getpeername = ad_getpeername,
	.fcntl = ad_fcntl,
	.sendmsg = ad_sendmsg,
	.recvmsg = ad_recvmsg,
	.ioctl = ad_ioctl,
	.recv_buf = NULL, /* the zero-copy API is the engine's own */
	.send_buf = NULL,
	.poll_events = ad_poll_events,
	.poll_link = ad_poll_link,
	.poll_unlink = ad_poll_unlink,
	.poll_wake = ad_poll_wake,
};

/* ---- the fd calls of <zsock/socket_offload.h> ---------------------------------------- */

int z_reserve_fd(void)
{
	int rc = zs_engine_ensure();

	if (rc == 0)
		rc = zs_fd_reserve();
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

void z_free_fd(int fd)
{
	zs_fd_unreserve(fd);
}

void z_finalize_fd(int fd, void *obj, const struct fd_op_vtable *vtable)
{
	struct adapter *a = NULL;
	size_t i;

	zs_port_once(&pool_once, pool_init);
	zs_lock_take(&pool_lock);
	for (i = 0; i < N_ADAPTERS; i++) {
		if (!adapters[i].used) {
			a = &adapters[i];
			a->used = true;
			pool_used++;
			break;
		}
	}
	zs_lock_give(&pool_lock);
	/* twice as many adapters as fds: only closed fds with calls still in
	 * flight hold one beyond their number. If none is free anyway, the
	 * driver's object is closed and released, and the number stays
	 * reserved, so it names nothing (EBADF) instead of being handed out
	 * again while the driver's caller still holds it */
	if (a == NULL) {
		if (vtable->close != NULL)
			vtable->close(obj);
		release_driver(vtable, obj);
		return;
	}
	if (!a->ready) {
		zs_lock_init(&a->lock);
		zs_waitq_init(&a->notify.wq);
		a->ready = true;
	}
	a->obj = obj;
	a->vt = (const struct socket_op_vtable *)vtable;
	a->linked = 0;
	atomic_store(&a->closed, false);
	atomic_store(&a->refs, 1); /* the table's */
	zs_fd_finalize(fd, a, &adapter_vtable);
}
