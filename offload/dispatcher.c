/*
 * The socket dispatcher (Zephyr's CONFIG_NET_SOCKETS_OFFLOAD_DISPATCHER):
 * zsock_dispatcher_socket() returns an fd bound to no implementation yet.
 *
 *   - close before any other call reaches no implementation;
 *   - SO_BINDTODEVICE names an interface: an offload interface's factory
 *     (net_if_socket_offload_set) makes the socket, an engine interface
 *     makes an engine socket bound to that device;
 *   - SOL_TLS TLS_NATIVE 1 asks for the engine's TLS over whatever
 *     transport the dispatch then picks (the default, or the interface's);
 *   - F_SETFL/F_GETFL are kept until then (SOCK_NONBLOCK comes that way);
 *   - any other call (poll included) dispatches to the registry's choice
 *     for (family, type, proto) and is forwarded.
 *
 * After the dispatch the fd keeps naming the dispatcher object, which
 * forwards every call to the real socket (one indirection). The real
 * socket is made under its own fd number, detached from it, and the number
 * freed; the dispatcher holds the table's reference on it plus one of its
 * own, so a call in flight never sees it freed under it.
 */
#include <zsock/socket_offload.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "engine/fdtable.h"
#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#include "offload/offload.h"
#include "tls_bearssl/tls.h"

struct disp {
	_Atomic int refs;
	bool used;                     /* pool_lock */
	bool lock_ready;
	struct zs_lock lock;           /* the dispatch */
	int family, type, proto;
	int flags;                     /* O_NONBLOCK kept until the dispatch */
	bool tls_native;
	_Atomic bool closed;
	void *_Atomic target;          /* set once, by the dispatch */
	const struct zs_fd_vtable *tvt;
};

static struct disp disps[CONFIG_ZVFS_OPEN_MAX];
static struct zs_lock pool_lock;
static uint32_t pool_used;
static struct zs_once pool_once = ZS_ONCE_INIT;
static const struct zs_fd_vtable disp_vtable;

static void pool_init(void)
{
	zs_lock_init(&pool_lock);
}

uint32_t zs_dispatcher_in_use(void)
{
	uint32_t n;

	zs_port_once(&pool_once, pool_init);
	zs_lock_take(&pool_lock);
	n = pool_used;
	zs_lock_give(&pool_lock);
	return n;
}

/* ---- the dispatch ---------------------------------------------------------------- */

/* errno of a Zephyr-style factory, as -errno */
static int made(int fd)
{
	if (fd >= 0)
		return fd;
	return errno > 0 ? -errno : -EIO;
}

/*
 * Make the real socket with create (NULL: the registry) and adopt it;
 * device: an engine interface to bind it to. Returns 0 or -errno.
 */
static int dispatch(struct disp *d, net_socket_create_t create, const char *device)
{
	const struct zs_fd_vtable *vt;
	void *obj;
	int fd, rc = 0;

	zs_lock_take(&d->lock);
	if (atomic_load(&d->target) != NULL)
		goto out; /* another call dispatched first */
	if (atomic_load(&d->closed)) {
		rc = -EBADF;
		goto out;
	}
	if (d->tls_native) {
		/* the engine's TLS over the chosen transport */
		int tcp = create != NULL ? made(create(d->family, SOCK_STREAM, IPPROTO_TCP))
					 : zs_registry_create(d->family, SOCK_STREAM, IPPROTO_TCP);

		fd = tcp;
		if (tcp >= 0) {
			fd = zs_tls_wrap(tcp, d->family, d->proto);
			if (fd < 0)
				zs_fd_close_fresh(tcp);
		}
	} else {
		errno = 0;
		fd = create != NULL ? made(create(d->family, d->type, d->proto))
				    : zs_registry_create(d->family, d->type, d->proto);
	}
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	obj = zs_fd_detach(fd, &vt);
	zs_fd_unreserve(fd);
	if (obj == NULL) { /* its number was closed by someone guessing */
		rc = -EBADF;
		goto out;
	}
	vt->ref(obj); /* ours, beside the table's we took over */
	d->tvt = vt;
	if ((d->flags & O_NONBLOCK) && vt->fcntl != NULL)
		vt->fcntl(obj, F_SETFL, O_NONBLOCK);
	if (device != NULL && vt->setsockopt != NULL)
		rc = vt->setsockopt(obj, SOL_SOCKET, SO_BINDTODEVICE, device,
				    (socklen_t)strlen(device) + 1);
	atomic_store(&d->target, obj);
out:
	zs_lock_give(&d->lock);
	return rc;
}

/* The real socket, dispatching to the default first if need be; NULL with *rc. */
static void *target(struct disp *d, int *rc)
{
	void *t = atomic_load(&d->target);

	*rc = 0;
	if (t == NULL) {
		*rc = dispatch(d, NULL, NULL);
		t = atomic_load(&d->target);
		if (t == NULL && *rc == 0)
			*rc = -EBADF;
	}
	return t;
}

#define FORWARD(o, op, ...)                                                    \
	do {                                                                   \
		struct disp *d_ = (o);                                         \
		int rc_;                                                       \
		void *t_ = target(d_, &rc_);                                   \
		if (t_ == NULL)                                                \
			return rc_;                                            \
		return d_->tvt->op ? d_->tvt->op(t_, __VA_ARGS__) : -EOPNOTSUPP; \
	} while (0)

static int d_bind(void *o, const struct sockaddr *a, socklen_t l) { FORWARD(o, bind, a, l); }
static int d_connect(void *o, const struct sockaddr *a, socklen_t l) { FORWARD(o, connect, a, l); }
static int d_listen(void *o, int b) { FORWARD(o, listen, b); }
static int d_accept(void *o, struct sockaddr *a, socklen_t *l) { FORWARD(o, accept, a, l); }
static int d_shutdown(void *o, int how) { FORWARD(o, shutdown, how); }
static int d_getsockname(void *o, struct sockaddr *a, socklen_t *l) { FORWARD(o, getsockname, a, l); }
static int d_getpeername(void *o, struct sockaddr *a, socklen_t *l) { FORWARD(o, getpeername, a, l); }
static int d_getsockopt(void *o, int lv, int n, void *v, socklen_t *l) { FORWARD(o, getsockopt, lv, n, v, l); }
static int d_ioctl(void *o, unsigned long r, void *arg) { FORWARD(o, ioctl, r, arg); }

static ssize_t d_sendto(void *o, const void *b, size_t n, int f, const struct sockaddr *to,
			socklen_t tl)
{
	FORWARD(o, sendto, b, n, f, to, tl);
}

static ssize_t d_recvfrom(void *o, void *b, size_t n, int f, struct sockaddr *from,
			  socklen_t *fl)
{
	FORWARD(o, recvfrom, b, n, f, from, fl);
}

static ssize_t d_sendmsg(void *o, const struct msghdr *m, int f) { FORWARD(o, sendmsg, m, f); }
static ssize_t d_recvmsg(void *o, struct msghdr *m, int f) { FORWARD(o, recvmsg, m, f); }

static ssize_t d_recv_buf(void *o, struct net_buf **c, int f) { FORWARD(o, recv_buf, c, f); }

static ssize_t d_send_buf(void *o, struct net_buf *c, int f, const struct sockaddr *to,
			  socklen_t tl)
{
	FORWARD(o, send_buf, c, f, to, tl);
}

/* SO_BINDTODEVICE and TLS_NATIVE choose; the rest dispatches and forwards. */
static int d_setsockopt(void *o, int level, int name, const void *val, socklen_t len)
{
	struct disp *d = o;

	if (atomic_load(&d->target) == NULL) {
		if (level == SOL_TLS && name == TLS_NATIVE) {
			int v;

			if (val == NULL || len < (socklen_t)sizeof(int))
				return -EINVAL;
			memcpy(&v, val, sizeof(v));
			if (v != 0 && v != 1)
				return -EINVAL;
			zs_lock_take(&d->lock);
			d->tls_native = v;
			zs_lock_give(&d->lock);
			return 0;
		}
		if (level == SOL_SOCKET && name == SO_BINDTODEVICE && val != NULL && len > 0) {
			char dev[16];
			size_t n = len < sizeof(dev) - 1 ? len : sizeof(dev) - 1;
			struct net_if *nif;
			net_socket_create_t create;

			memcpy(dev, val, n);
			dev[n] = '\0';
			nif = zsock_net_if_get_by_name(dev);
			if (nif == NULL)
				return -ENODEV;
			create = zs_net_if_creator(nif);
			return dispatch(d, create, create == NULL ? dev : NULL);
		}
	}
	FORWARD(o, setsockopt, level, name, val, len);
}

static int d_fcntl(void *o, int cmd, int flags)
{
	struct disp *d = o;

	if (atomic_load(&d->target) == NULL) {
		zs_lock_take(&d->lock);
		if (atomic_load(&d->target) == NULL) {
			int rc = 0;

			if (cmd == F_SETFL)
				d->flags = flags & O_NONBLOCK;
			else if (cmd == F_GETFL)
				rc = O_RDWR | d->flags;
			else
				rc = -EINVAL;
			zs_lock_give(&d->lock);
			return rc;
		}
		zs_lock_give(&d->lock);
	}
	FORWARD(o, fcntl, cmd, flags);
}

/* ---- poll: dispatches too ------------------------------------------------------------ */

static int d_poll_events(void *o)
{
	struct disp *d = o;
	int rc;
	void *t;

	if (atomic_load(&d->closed))
		return ZS_POLL_CLOSED;
	t = target(d, &rc);
	if (t == NULL)
		return ZSOCK_POLLERR;
	return d->tvt->poll_events ? d->tvt->poll_events(t) : 0;
}

static void d_poll_link(void *o, struct zs_wait_node *node, struct zs_waiter *w)
{
	struct disp *d = o;
	int rc;
	void *t = target(d, &rc);

	if (t != NULL && d->tvt->poll_link != NULL)
		d->tvt->poll_link(t, node, w);
}

static void d_poll_unlink(void *o, struct zs_wait_node *node)
{
	struct disp *d = o;
	void *t = atomic_load(&d->target);

	if (t != NULL && d->tvt->poll_unlink != NULL)
		d->tvt->poll_unlink(t, node);
}

static void d_poll_wake(void *o)
{
	struct disp *d = o;
	void *t = atomic_load(&d->target);

	if (t != NULL && d->tvt->poll_wake != NULL)
		d->tvt->poll_wake(t);
}

/* ---- lifetime --------------------------------------------------------------------------- */

static void d_ref(void *o)
{
	atomic_fetch_add(&((struct disp *)o)->refs, 1);
}

static void d_unref(void *o)
{
	struct disp *d = o;
	void *t;

	if (atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	t = atomic_load(&d->target);
	if (t != NULL)
		d->tvt->unref(t); /* ours */
	zs_lock_take(&pool_lock);
	atomic_store(&d->target, NULL);
	d->tvt = NULL;
	d->used = false;
	pool_used--;
	zs_lock_give(&pool_lock);
}

static int d_close(void *o)
{
	struct disp *d = o;
	void *t;
	int rc = 0;

	zs_lock_take(&d->lock); /* a dispatch in progress finishes first */
	atomic_store(&d->closed, true);
	t = atomic_load(&d->target);
	zs_lock_give(&d->lock);
	if (t != NULL)
		rc = d->tvt->close(t); /* the table's reference we took over */
	d_unref(d);
	return rc;
}

static const struct zs_fd_vtable disp_vtable = {
	.ref = d_ref,
	.unref = d_unref,
	.close = d_close,
	.bind = d_bind,
	.connect = d_connect,
	.listen = d_listen,
	.accept = d_accept,
	.sendto = d_sendto,
	.recvfrom = d_recvfrom,
	.shutdown = d_shutdown,
	.getsockopt = d_getsockopt,
	.setsockopt = d_setsockopt,
	.getsockname = d_getsockname,
	.getpeername = d_getpeername,
	.fcntl = d_fcntl,
	.sendmsg = d_sendmsg,
	.recvmsg = d_recvmsg,
	.ioctl = d_ioctl,
	.recv_buf = d_recv_buf,
	.send_buf = d_send_buf,
	.poll_events = d_poll_events,
	.poll_link = d_poll_link,
	.poll_unlink = d_poll_unlink,
	.poll_wake = d_poll_wake,
};

int zs_dispatcher_create(int family, int type, int proto)
{
	struct disp *d = NULL;
	size_t i;
	int fd;

	zs_port_once(&pool_once, pool_init);
	fd = zs_fd_reserve();
	if (fd < 0)
		return fd;
	zs_lock_take(&pool_lock);
	for (i = 0; i < CONFIG_ZVFS_OPEN_MAX; i++) {
		if (!disps[i].used) {
			d = &disps[i];
			d->used = true;
			pool_used++;
			break;
		}
	}
	zs_lock_give(&pool_lock);
	if (d == NULL) { /* as many as fds: a number free means one is free, but be safe */
		zs_fd_unreserve(fd);
		return -ENOMEM;
	}
	if (!d->lock_ready) {
		zs_lock_init(&d->lock);
		d->lock_ready = true;
	}
	d->family = family;
	d->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	d->proto = proto;
	d->flags = (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0;
	d->tls_native = false;
	d->tvt = NULL;
	atomic_store(&d->target, NULL);
	atomic_store(&d->closed, false);
	atomic_store(&d->refs, 1); /* the table's */
	zs_fd_finalize(fd, d, &disp_vtable);
	return fd;
}

int zsock_dispatcher_socket(int family, int type, int proto)
{
	int rc = zs_engine_ensure();

	if (rc >= 0)
		rc = zs_dispatcher_create(family, type, proto);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}
