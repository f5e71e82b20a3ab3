/*
 * Socket offloading (<zsock/socket_offload.h>): the registry, the fds a
 * driver makes with z_reserve_fd / z_finalize_fd / z_free_fd, the adapter
 * that forwards every zsock_* call to the driver's socket_op_vtable, poll
 * and select across offloaded and native fds, and the offload interfaces.
 *
 * The test driver lives in this file. It registers eight entries with
 * different priorities, families and is_supported answers (listed below),
 * claiming only sockets nobody else makes: AF_INET / AF_INET6 SOCK_RAW with
 * protocol numbers 251..254, any family with protocol 252, AF_PACKET. The
 * engine's own sockets (AF_INET/AF_INET6 STREAM/DGRAM, proto 0/TCP/UDP/TLS)
 * still go to the native entries. Each driver object records every vtable
 * call it receives with its arguments, returns what the test told it to,
 * and counts calls that arrive after its close. At the end of every test
 * each driver object must have been closed exactly once, with no call after
 * it and no poll registration left (drv_check_all), then the engine's leak
 * check runs (fds, sockets, buffers, offload_in_use).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <zsock/socket_offload.h>
#include <zsock/zsock_config.h>

#include "zt.h"

/* ---- the registry log --------------------------------------------------------- */

#define LOG_MAX 64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *consulted[LOG_MAX]; /* is_supported calls, in order */
static int nconsulted;
static const char *made[LOG_MAX];      /* handler calls, in order */
static int made_family[LOG_MAX], made_type[LOG_MAX], made_proto[LOG_MAX];
static int nmade;
static int wrong_family;               /* is_supported asked for another family */

static void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	nconsulted = 0;
	nmade = 0;
	wrong_family = 0;
	pthread_mutex_unlock(&log_lock);
}

static void log_consult(const char *entry, int entry_family, int family)
{
	pthread_mutex_lock(&log_lock);
	if (nconsulted < LOG_MAX)
		consulted[nconsulted++] = entry;
	if (entry_family != AF_UNSPEC && entry_family != family)
		wrong_family++;
	pthread_mutex_unlock(&log_lock);
}

static void log_made(const char *entry, int family, int type, int proto)
{
	pthread_mutex_lock(&log_lock);
	if (nmade < LOG_MAX) {
		made[nmade] = entry;
		made_family[nmade] = family;
		made_type[nmade] = type;
		made_proto[nmade] = proto;
		nmade++;
	}
	pthread_mutex_unlock(&log_lock);
}

/* The log as "a,b,c" (test thread). */
static void log_join(const char **log, int n, char *out, size_t size)
{
	int i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(out, log[i], size - strlen(out) - 1);
		if (i + 1 < n)
			strncat(out, ",", size - strlen(out) - 1);
	}
}

static void assert_consulted(const char *expected)
{
	char got[512];

	pthread_mutex_lock(&log_lock);
	log_join(consulted, nconsulted, got, sizeof(got));
	pthread_mutex_unlock(&log_lock);
	cr_assert_str_eq(got, expected, "is_supported asked in this order: \"%s\", expected \"%s\"",
			 got, expected);
}

static void assert_made(const char *expected)
{
	char got[512];

	pthread_mutex_lock(&log_lock);
	log_join(made, nmade, got, sizeof(got));
	pthread_mutex_unlock(&log_lock);
	cr_assert_str_eq(got, expected, "handlers called: \"%s\", expected \"%s\"", got, expected);
}

/* ---- the driver objects ------------------------------------------------------------ */

enum op {
	OP_READ, OP_WRITE, OP_CLOSE, OP_IOCTL, OP_SHUTDOWN, OP_BIND, OP_CONNECT, OP_LISTEN,
	OP_ACCEPT, OP_SENDTO, OP_RECVFROM, OP_GETSOCKOPT, OP_SETSOCKOPT, OP_SENDMSG,
	OP_RECVMSG, OP_GETPEERNAME, OP_GETSOCKNAME,
	OP_POLL, /* ZFD_IOCTL_POLL_*: counted apart from the other ioctls */
	OP_N
};

#define NREG_MAX 8
#define NREQ_MAX 16

struct drv {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool used;
	bool closed;
	const char *entry;            /* the handler that made it */
	const struct socket_op_vtable *vt;
	int family, type, proto, fd;
	int calls[OP_N];
	_Atomic bool close_returned;  /* the driver's close has returned */
	int after_close;              /* calls that entered after that */
	int releases;                 /* ZFD_IOCTL_RELEASE: once, after the close */
	int early_releases;           /* ... that came before the close */
	/* what the next calls return: ret < 0 means -1 with errno err */
	long ret[OP_N];
	int err[OP_N];
	/* arguments of the last call */
	const void *addr;
	socklen_t addrlen;
	socklen_t *addrlenp;
	const void *buf;
	size_t len;
	int flags;
	int ival;                     /* backlog, how */
	int level, optname;
	const void *optval;
	socklen_t optlen;
	socklen_t *optlenp;
	const struct msghdr *msg;
	unsigned int req;
	void *arg;
	int iarg;
	unsigned int reqs[NREQ_MAX];  /* non-poll ioctl requests, in order */
	int nreqs;
	int fl;                       /* O_* status flags */
	int fionread;
	char rx[32];                  /* what recvfrom / read / recvmsg hand out */
	size_t rxlen;
	/* poll */
	short ready;                  /* ZSOCK_POLL* bits that hold */
	struct zsock_poll_notify *reg[NREG_MAX];
	int nreg;
	int prepares, dones, updates;
	int bad_pairing;              /* PREPARE twice, DONE unknown, table full */
	int closed_registered;        /* close came with a PREPARE still open */
	/* recvfrom blocks until release_recv (in-flight close test) */
	bool block_recv, release_recv, in_recv;
};

#define NDRV 64

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct drv drvs[NDRV];

static struct drv *drv_new(const char *entry, const struct socket_op_vtable *vt, int family,
			   int type, int proto, int fd)
{
	struct drv *d = NULL;
	int i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < NDRV; i++) {
		if (!drvs[i].used) {
			d = &drvs[i];
			memset(d, 0, sizeof(*d));
			pthread_mutex_init(&d->lock, NULL);
			pthread_cond_init(&d->cv, NULL);
			d->used = true;
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	if (d == NULL)
		return NULL;
	d->entry = entry;
	d->vt = vt;
	d->family = family;
	d->type = type;
	d->proto = proto;
	d->fd = fd;
	d->fl = O_RDWR;
	return d;
}

/* The live (not closed) driver object behind fd; test thread. */
static struct drv *drv_by_fd(int fd)
{
	struct drv *found = NULL;
	int i, n = 0;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < NDRV; i++) {
		struct drv *d = &drvs[i];

		if (!d->used)
			continue;
		pthread_mutex_lock(&d->lock);
		if (!d->closed && d->fd == fd) {
			found = d;
			n++;
		}
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&pool_lock);
	cr_assert_eq(n, 1, "%d live driver objects for fd %d", n, fd);
	return found;
}

/* Read an int member of d under its lock. */
static int dget(struct drv *d, const int *field)
{
	int v;

	pthread_mutex_lock(&d->lock);
	v = *field;
	pthread_mutex_unlock(&d->lock);
	return v;
}

#define DGET(d, member) dget((d), &(d)->member)

static bool dget_bool(struct drv *d, const bool *field)
{
	bool v;

	pthread_mutex_lock(&d->lock);
	v = *field;
	pthread_mutex_unlock(&d->lock);
	return v;
}

static int dcalls(struct drv *d, enum op op)
{
	return dget(d, &d->calls[op]);
}

/* Set what the next calls of op return (test thread, before the call). */
static void dret(struct drv *d, enum op op, long ret, int err)
{
	pthread_mutex_lock(&d->lock);
	d->ret[op] = ret;
	d->err[op] = err;
	pthread_mutex_unlock(&d->lock);
}

/* Total calls d received (poll ioctls excluded). */
static int dtotal(struct drv *d)
{
	int i, n = 0;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < OP_N; i++)
		if (i != OP_POLL)
			n += d->calls[i];
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* Readiness changes: set it and notify every registered poller (any thread). */
static void drv_set_ready(struct drv *d, short bits)
{
	int i;

	pthread_mutex_lock(&d->lock);
	d->ready = bits;
	for (i = 0; i < d->nreg; i++)
		zsock_poll_notify(d->reg[i]);
	pthread_mutex_unlock(&d->lock);
}

/* Each driver object: closed exactly once, nothing after, poll pairing kept. */
static void drv_check_all(void)
{
	int i;

	for (i = 0; i < NDRV; i++) {
		struct drv *d = &drvs[i];
		int closes, after, rel, early, nreg, bad, creg, prep, done;

		pthread_mutex_lock(&pool_lock);
		if (!d->used) {
			pthread_mutex_unlock(&pool_lock);
			continue;
		}
		pthread_mutex_unlock(&pool_lock);
		pthread_mutex_lock(&d->lock);
		closes = d->calls[OP_CLOSE];
		after = d->after_close;
		rel = d->releases;
		early = d->early_releases;
		nreg = d->nreg;
		bad = d->bad_pairing;
		creg = d->closed_registered;
		prep = d->prepares;
		done = d->dones;
		pthread_mutex_unlock(&d->lock);
		cr_assert_eq(closes, 1, "driver object %d (%s, proto %d, fd %d): close ran %d times",
			     i, d->entry, d->proto, d->fd, closes);
		cr_assert_eq(after, 0, "driver object %d (%s): %d calls after its close", i,
			     d->entry, after);
		if (d->vt->fd_vtable.ioctl != NULL) {
			cr_assert_eq(rel, 1, "driver object %d (%s): released %d times", i,
				     d->entry, rel);
			cr_assert_eq(early, 0, "driver object %d (%s): released before its close",
				     i, d->entry);
		}
		cr_assert_eq(nreg, 0, "driver object %d (%s): %d notify handles still registered",
			     i, d->entry, nreg);
		cr_assert_eq(bad, 0, "driver object %d (%s): %d PREPARE/DONE pairing errors", i,
			     d->entry, bad);
		cr_assert_eq(creg, 0, "driver object %d (%s): closed while a PREPARE was open", i,
			     d->entry);
		cr_assert_eq(prep, done, "driver object %d (%s): %d PREPARE, %d DONE", i, d->entry,
			     prep, done);
	}
}

/* ---- the vtable functions ------------------------------------------------------------ */

/* ZFD_IOCTL_RELEASE: zsock's last word, not a call; counted apart. */
static void released(struct drv *d)
{
	pthread_mutex_lock(&d->lock);
	d->releases++;
	if (!atomic_load(&d->close_returned))
		d->early_releases++;
	pthread_mutex_unlock(&d->lock);
}

static struct drv *enter(void *obj, enum op op)
{
	struct drv *d = obj;
	bool late = atomic_load(&d->close_returned); /* before anything else */

	pthread_mutex_lock(&d->lock);
	if (late)
		d->after_close++;
	d->calls[op]++;
	return d;
}

/* Unlock and return d->ret[op] (or -1 with errno d->err[op]). */
static long leave(struct drv *d, enum op op)
{
	long r = d->ret[op];
	int e = d->err[op];

	pthread_mutex_unlock(&d->lock);
	if (r < 0) {
		errno = e;
		return -1;
	}
	return r;
}

static void fill_addr(struct sockaddr *addr, socklen_t *len, uint16_t port)
{
	struct sockaddr_in sin;
	socklen_t n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(0xc0000209); /* 192.0.2.9 */
	memcpy(addr, &sin, n);
	*len = sizeof(sin);
}

static int make(const char *entry, const struct socket_op_vtable *vt, int family, int type,
		int proto);
static const struct socket_op_vtable vt_full;

static ssize_t d_read(void *obj, void *buf, size_t sz)
{
	struct drv *d = enter(obj, OP_READ);

	d->buf = buf;
	d->len = sz;
	if (d->ret[OP_READ] >= 0)
		memcpy(buf, d->rx, sz < d->rxlen ? sz : d->rxlen);
	return leave(d, OP_READ);
}

static ssize_t d_write(void *obj, const void *buf, size_t sz)
{
	struct drv *d = enter(obj, OP_WRITE);

	d->buf = buf;
	d->len = sz;
	return leave(d, OP_WRITE);
}

static int d_close(void *obj)
{
	struct drv *d = enter(obj, OP_CLOSE);
	long r;
	int e;

	if (d->nreg > 0)
		d->closed_registered++;
	d->closed = true;
	pthread_cond_broadcast(&d->cv);
	r = leave(d, OP_CLOSE);
	e = errno;
	atomic_store(&d->close_returned, true);
	errno = e;
	return (int)r;
}

static int reg_find(struct drv *d, struct zsock_poll_notify *n)
{
	int i;

	for (i = 0; i < d->nreg; i++)
		if (d->reg[i] == n)
			return i;
	return -1;
}

static int d_ioctl(void *obj, unsigned int req, va_list args)
{
	struct drv *d = obj;
	struct zsock_poll_notify *n;
	long r = 0;
	int e, i, v;

	if (req == ZFD_IOCTL_RELEASE) {
		released(d);
		return 0;
	}
	if (req == ZFD_IOCTL_POLL_UPDATE || req == ZFD_IOCTL_POLL_PREPARE ||
	    req == ZFD_IOCTL_POLL_DONE) {
		enter(obj, OP_POLL);
		switch (req) {
		case ZFD_IOCTL_POLL_UPDATE: {
			struct zsock_pollfd *p = va_arg(args, struct zsock_pollfd *);

			p->revents = (short)(d->ready &
					     (p->events | ZSOCK_POLLERR | ZSOCK_POLLHUP));
			d->updates++;
			break;
		}
		case ZFD_IOCTL_POLL_PREPARE:
			n = va_arg(args, struct zsock_poll_notify *);
			d->prepares++;
			if (n == NULL || reg_find(d, n) >= 0 || d->nreg == NREG_MAX)
				d->bad_pairing++;
			else
				d->reg[d->nreg++] = n;
			break;
		default:
			n = va_arg(args, struct zsock_poll_notify *);
			d->dones++;
			i = reg_find(d, n);
			if (i < 0) {
				d->bad_pairing++;
			} else {
				d->reg[i] = d->reg[d->nreg - 1];
				d->nreg--;
			}
			break;
		}
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	enter(obj, OP_IOCTL);
	if (d->nreqs < NREQ_MAX)
		d->reqs[d->nreqs++] = req;
	d->req = req;
	if (d->err[OP_IOCTL] != 0) {
		e = d->err[OP_IOCTL];
		pthread_mutex_unlock(&d->lock);
		errno = e;
		return -1;
	}
	switch (req) {
	case ZFD_IOCTL_FCNTL_GETFL:
		r = d->fl;
		break;
	case ZFD_IOCTL_FCNTL_SETFL:
		d->iarg = va_arg(args, int);
		d->fl = O_RDWR | (d->iarg & O_NONBLOCK);
		break;
	case FIONREAD:
		d->arg = va_arg(args, void *);
		memcpy(d->arg, &d->fionread, sizeof(int));
		break;
	case FIONBIO:
		d->arg = va_arg(args, void *);
		memcpy(&v, d->arg, sizeof(v));
		d->iarg = v;
		d->fl = O_RDWR | (v ? O_NONBLOCK : 0);
		break;
	default:
		pthread_mutex_unlock(&d->lock);
		errno = ENOTTY;
		return -1;
	}
	pthread_mutex_unlock(&d->lock);
	return (int)r;
}

/* A driver that knows no ioctl at all (no poll support). */
static int d_ioctl_none(void *obj, unsigned int req, va_list args)
{
	struct drv *d;

	(void)args;
	if (req == ZFD_IOCTL_RELEASE) { /* not known here either: EOPNOTSUPP */
		released(obj);
		errno = EOPNOTSUPP;
		return -1;
	}
	d = enter(obj, req == ZFD_IOCTL_POLL_UPDATE || req == ZFD_IOCTL_POLL_PREPARE ||
			       req == ZFD_IOCTL_POLL_DONE ? OP_POLL : OP_IOCTL);
	pthread_mutex_unlock(&d->lock);
	errno = EOPNOTSUPP;
	return -1;
}

static int d_shutdown(void *obj, int how)
{
	struct drv *d = enter(obj, OP_SHUTDOWN);

	d->ival = how;
	return (int)leave(d, OP_SHUTDOWN);
}

static int d_bind(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct drv *d = enter(obj, OP_BIND);

	d->addr = addr;
	d->addrlen = len;
	return (int)leave(d, OP_BIND);
}

static int d_connect(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct drv *d = enter(obj, OP_CONNECT);

	d->addr = addr;
	d->addrlen = len;
	return (int)leave(d, OP_CONNECT);
}

static int d_listen(void *obj, int backlog)
{
	struct drv *d = enter(obj, OP_LISTEN);

	d->ival = backlog;
	return (int)leave(d, OP_LISTEN);
}

static int d_accept(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct drv *d = enter(obj, OP_ACCEPT);
	long r = d->ret[OP_ACCEPT];
	int e = d->err[OP_ACCEPT];
	int family = d->family, type = d->type, proto = d->proto;

	d->addr = addr;
	d->addrlenp = len;
	pthread_mutex_unlock(&d->lock);
	if (r < 0) {
		errno = e;
		return -1;
	}
	if (addr != NULL && len != NULL)
		fill_addr(addr, len, 4242);
	return make("accept", &vt_full, family, type, proto);
}

static ssize_t d_sendto(void *obj, const void *buf, size_t len, int flags,
			const struct sockaddr *to, socklen_t tolen)
{
	struct drv *d = enter(obj, OP_SENDTO);

	d->buf = buf;
	d->len = len;
	d->flags = flags;
	d->addr = to;
	d->addrlen = tolen;
	return leave(d, OP_SENDTO);
}

static ssize_t d_recvfrom(void *obj, void *buf, size_t len, int flags, struct sockaddr *from,
			  socklen_t *fromlen)
{
	struct drv *d = enter(obj, OP_RECVFROM);

	d->buf = buf;
	d->len = len;
	d->flags = flags;
	d->addr = from;
	d->addrlenp = fromlen;
	if (d->block_recv) {
		d->in_recv = true;
		while (!d->release_recv)
			pthread_cond_wait(&d->cv, &d->lock);
		d->in_recv = false;
	}
	if (d->ret[OP_RECVFROM] >= 0) {
		memcpy(buf, d->rx, len < d->rxlen ? len : d->rxlen);
		if (from != NULL && fromlen != NULL)
			fill_addr(from, fromlen, 4343);
	}
	return leave(d, OP_RECVFROM);
}

static int d_getsockopt(void *obj, int level, int name, void *val, socklen_t *len)
{
	struct drv *d = enter(obj, OP_GETSOCKOPT);
	int v = 1234;

	d->level = level;
	d->optname = name;
	d->optval = val;
	d->optlenp = len;
	if (d->ret[OP_GETSOCKOPT] >= 0 && *len >= sizeof(v)) {
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
	}
	return (int)leave(d, OP_GETSOCKOPT);
}

static int d_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	struct drv *d = enter(obj, OP_SETSOCKOPT);

	d->level = level;
	d->optname = name;
	d->optval = val;
	d->optlen = len;
	return (int)leave(d, OP_SETSOCKOPT);
}

static ssize_t d_sendmsg(void *obj, const struct msghdr *msg, int flags)
{
	struct drv *d = enter(obj, OP_SENDMSG);

	d->msg = msg;
	d->flags = flags;
	return leave(d, OP_SENDMSG);
}

static ssize_t d_recvmsg(void *obj, struct msghdr *msg, int flags)
{
	struct drv *d = enter(obj, OP_RECVMSG);

	d->msg = msg;
	d->flags = flags;
	if (d->ret[OP_RECVMSG] >= 0 && msg->msg_iovlen > 0) {
		size_t n = msg->msg_iov[0].iov_len < d->rxlen ? msg->msg_iov[0].iov_len : d->rxlen;

		memcpy(msg->msg_iov[0].iov_base, d->rx, n);
		msg->msg_flags = MSG_TRUNC;
	}
	return leave(d, OP_RECVMSG);
}

static int d_getpeername(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct drv *d = enter(obj, OP_GETPEERNAME);

	d->addr = addr;
	d->addrlenp = len;
	if (d->ret[OP_GETPEERNAME] >= 0)
		fill_addr(addr, len, 5151);
	return (int)leave(d, OP_GETPEERNAME);
}

static int d_getsockname(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct drv *d = enter(obj, OP_GETSOCKNAME);

	d->addr = addr;
	d->addrlenp = len;
	if (d->ret[OP_GETSOCKNAME] >= 0)
		fill_addr(addr, len, 5252);
	return (int)leave(d, OP_GETSOCKNAME);
}

/* Every member but read/write; poll supported. */
static const struct socket_op_vtable vt_full = {
	.fd_vtable = { .close = d_close, .ioctl = d_ioctl },
	.shutdown = d_shutdown,
	.bind = d_bind,
	.connect = d_connect,
	.listen = d_listen,
	.accept = d_accept,
	.sendto = d_sendto,
	.recvfrom = d_recvfrom,
	.getsockopt = d_getsockopt,
	.setsockopt = d_setsockopt,
	.sendmsg = d_sendmsg,
	.recvmsg = d_recvmsg,
	.getpeername = d_getpeername,
	.getsockname = d_getsockname,
};

/* Only close: every other call must give EOPNOTSUPP. */
static const struct socket_op_vtable vt_null = {
	.fd_vtable = { .close = d_close },
};

/* The socket calls, but an ioctl that knows nothing (no POLL_UPDATE). */
static const struct socket_op_vtable vt_nopoll = {
	.fd_vtable = { .close = d_close, .ioctl = d_ioctl_none },
	.shutdown = d_shutdown,
	.bind = d_bind,
	.connect = d_connect,
	.listen = d_listen,
	.sendto = d_sendto,
	.recvfrom = d_recvfrom,
};

/* The file half only: read/write instead of recvfrom/sendto. */
static const struct socket_op_vtable vt_rw = {
	.fd_vtable = { .read = d_read, .write = d_write, .close = d_close, .ioctl = d_ioctl },
};

/* ---- the registry entries ------------------------------------------------------------- */

/*
 * name         prio  family      accepts                            makes
 * t_unspec        5  AF_UNSPEC   proto 252, any family and type     vt_full
 * t_inet_a       10  AF_INET     SOCK_RAW, proto 253                vt_full
 * t_inet6        12  AF_INET6    SOCK_RAW, proto 253                vt_full
 * t_fail         15  AF_INET     SOCK_RAW, proto 251                -1, ENETDOWN
 * t_inet_b       20  AF_INET     SOCK_RAW, proto 251, 253, 254      vt_full
 * (native_tls    45, native 50: the engine's)
 * t_pkt_lo       60  AF_PACKET   proto 1                            vt_full
 * t_pkt_main     80  AF_PACKET   proto 3 (fails half-way), 10 full,
 *                                11 null, 12 nopoll, 13 rw
 * t_pkt_hi      100  AF_PACKET   proto 1, 2                         vt_full
 *
 * They are declared below out of priority order, so link order is not
 * priority order.
 */

static int make(const char *entry, const struct socket_op_vtable *vt, int family, int type,
		int proto)
{
	struct drv *d;
	int fd;

	log_made(entry, family, type, proto);
	fd = z_reserve_fd();
	if (fd < 0)
		return -1; /* errno from z_reserve_fd */
	d = drv_new(entry, vt, family, type, proto, fd);
	if (d == NULL) {
		z_free_fd(fd);
		errno = ENOMEM;
		return -1;
	}
	z_finalize_fd(fd, d, &vt->fd_vtable);
	return fd;
}

static bool is_raw(int type)
{
	return (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_RAW;
}

static bool pkt_hi_ok(int family, int type, int proto)
{
	(void)type;
	log_consult("t_pkt_hi", AF_PACKET, family);
	return proto == 1 || proto == 2;
}

static int pkt_hi_make(int family, int type, int proto)
{
	return make("t_pkt_hi", &vt_full, family, type, proto);
}

static bool inet_b_ok(int family, int type, int proto)
{
	log_consult("t_inet_b", AF_INET, family);
	return is_raw(type) && (proto == 251 || proto == 253 || proto == 254);
}

static int inet_b_make(int family, int type, int proto)
{
	return make("t_inet_b", &vt_full, family, type, proto);
}

static _Atomic int half_fd = -1; /* the fd t_pkt_main reserved before failing */

static bool pkt_main_ok(int family, int type, int proto)
{
	(void)type;
	log_consult("t_pkt_main", AF_PACKET, family);
	return proto == 3 || (proto >= 10 && proto <= 13);
}

static int pkt_main_make(int family, int type, int proto)
{
	int fd;

	switch (proto) {
	case 3: /* fails after z_reserve_fd, before z_finalize_fd */
		log_made("t_pkt_main", family, type, proto);
		fd = z_reserve_fd();
		if (fd < 0)
			return -1;
		atomic_store(&half_fd, fd);
		z_free_fd(fd);
		errno = ENOBUFS;
		return -1;
	case 10:
		return make("t_pkt_main", &vt_full, family, type, proto);
	case 11:
		return make("t_pkt_main", &vt_null, family, type, proto);
	case 12:
		return make("t_pkt_main", &vt_nopoll, family, type, proto);
	default:
		return make("t_pkt_main", &vt_rw, family, type, proto);
	}
}

static bool fail_ok(int family, int type, int proto)
{
	log_consult("t_fail", AF_INET, family);
	return is_raw(type) && proto == 251;
}

static int fail_make(int family, int type, int proto)
{
	log_made("t_fail", family, type, proto);
	errno = ENETDOWN;
	return -1;
}

static bool inet6_ok(int family, int type, int proto)
{
	log_consult("t_inet6", AF_INET6, family);
	return is_raw(type) && proto == 253;
}

static int inet6_make(int family, int type, int proto)
{
	return make("t_inet6", &vt_full, family, type, proto);
}

static bool inet_a_ok(int family, int type, int proto)
{
	log_consult("t_inet_a", AF_INET, family);
	return is_raw(type) && proto == 253;
}

static int inet_a_make(int family, int type, int proto)
{
	return make("t_inet_a", &vt_full, family, type, proto);
}

static bool pkt_lo_ok(int family, int type, int proto)
{
	(void)type;
	log_consult("t_pkt_lo", AF_PACKET, family);
	return proto == 1;
}

static int pkt_lo_make(int family, int type, int proto)
{
	return make("t_pkt_lo", &vt_full, family, type, proto);
}

static bool unspec_ok(int family, int type, int proto)
{
	(void)type;
	log_consult("t_unspec", AF_UNSPEC, family);
	return proto == 252;
}

static int unspec_make(int family, int type, int proto)
{
	return make("t_unspec", &vt_full, family, type, proto);
}

NET_SOCKET_OFFLOAD_REGISTER(t_pkt_hi, 100, AF_PACKET, pkt_hi_ok, pkt_hi_make);
NET_SOCKET_OFFLOAD_REGISTER(t_inet_b, 20, AF_INET, inet_b_ok, inet_b_make);
NET_SOCKET_OFFLOAD_REGISTER(t_pkt_main, 80, AF_PACKET, pkt_main_ok, pkt_main_make);
NET_SOCKET_OFFLOAD_REGISTER(t_fail, 15, AF_INET, fail_ok, fail_make);
NET_SOCKET_OFFLOAD_REGISTER(t_inet6, 12, AF_INET6, inet6_ok, inet6_make);
NET_SOCKET_OFFLOAD_REGISTER(t_inet_a, 10, AF_INET, inet_a_ok, inet_a_make);
NET_SOCKET_OFFLOAD_REGISTER(t_pkt_lo, 60, AF_PACKET, pkt_lo_ok, pkt_lo_make);
NET_SOCKET_OFFLOAD_REGISTER(t_unspec, 5, AF_UNSPEC, unspec_ok, unspec_make);

#define P_HALF 3
#define P_FULL 10
#define P_NULL 11
#define P_NOPOLL 12
#define P_RW 13

/* ---- helpers ----------------------------------------------------------------------- */

/*
 * Every test: the registry log starts empty; at the end every driver object
 * passes drv_check_all(), then ZT_TEST's leak check runs.
 */
#define OFF_TEST(suite, name, ...)                                \
	static void off_body_##suite##_##name(void);              \
	ZT_TEST(suite, name, ##__VA_ARGS__)                       \
	{                                                         \
		log_reset();                                      \
		off_body_##suite##_##name();                      \
		drv_check_all();                                  \
	}                                                         \
	static void off_body_##suite##_##name(void)

/* An offloaded socket from t_pkt_main (proto P_*); asserts. */
static int off_socket(int proto, struct drv **out)
{
	int fd = zsock_socket(AF_PACKET, SOCK_RAW, proto);

	cr_assert_geq(fd, 0, "socket(AF_PACKET, SOCK_RAW, %d): errno %d", proto, errno);
	*out = drv_by_fd(fd);
	return fd;
}

static struct zsock_engine_stats stats(void)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	return st;
}

#define EXPECT_FAIL(call, e)                                                             \
	do {                                                                             \
		errno = 0;                                                               \
		long rc_ = (long)(call);                                                 \
		int err_ = errno;                                                        \
		cr_assert_eq(rc_, -1, "%s: returned %ld, expected -1", #call, rc_);      \
		cr_assert_eq(err_, (e), "%s: errno %d (%s), expected %d (%s)", #call,    \
			     err_, strerror(err_), (e), strerror(e));                    \
	} while (0)

/* Wait (up to 10 s) for cond, re-evaluated every 2 ms; then assert it. */
#define WAIT_FOR(cond)                                                         \
	do {                                                                   \
		int64_t end_ = zt_now_ms() + 10000;                            \
		while (!(cond) && zt_now_ms() < end_)                          \
			zt_sleep_ms(2);                                        \
		cr_assert(cond, "still not true after 10 s: %s", #cond);       \
	} while (0)

/* ---- poll set holders: make the next pollers poll the plain way ------------------------- */

struct holders {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int polled;
	bool go;
	int n;
	pthread_t t[CONFIG_ZSOCK_POLLSETS + 1];
};

static void *holder_fn(void *arg)
{
	struct holders *h = arg;

	zsock_poll(NULL, 0, 0); /* takes a poll set for this thread */
	pthread_mutex_lock(&h->m);
	h->polled++;
	pthread_cond_broadcast(&h->cv);
	while (!h->go)
		pthread_cond_wait(&h->cv, &h->m);
	pthread_mutex_unlock(&h->m);
	return NULL;
}

/* Every poll set taken by an idle thread: pollers from now on go the plain way. */
static void hold_all_sets(struct holders *h)
{
	int i, polled;

	pthread_mutex_init(&h->m, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->polled = 0;
	h->go = false;
	h->n = CONFIG_ZSOCK_POLLSETS;
	for (i = 0; i < h->n; i++)
		h->t[i] = zt_spawn(holder_fn, h);
	pthread_mutex_lock(&h->m);
	while (h->polled < h->n)
		pthread_cond_wait(&h->cv, &h->m);
	polled = h->polled;
	pthread_mutex_unlock(&h->m);
	cr_assert_eq(polled, h->n);
}

static void release_sets(struct holders *h)
{
	int i;

	pthread_mutex_lock(&h->m);
	h->go = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->m);
	for (i = 0; i < h->n; i++)
		cr_assert(zt_join(h->t[i], 10000), "holder thread hangs");
}

/* A thread that polls (or selects) once and records the outcome. */
struct poller {
	struct zsock_pollfd p[4];
	int n;
	int timeout;
	int rc;
	int err;
};

static void *poller_fn(void *arg)
{
	struct poller *p = arg;

	errno = 0;
	p->rc = zsock_poll(p->p, p->n, p->timeout);
	p->err = errno;
	return NULL;
}

/* ======================================================================================
 * The registry
 * ====================================================================================== */

/*
 * Lower priority numbers are asked first, whatever the link order; the
 * first is_supported that says yes wins and no entry after it is asked.
 */
OFF_TEST(registry, priority_order_lower_first)
{
	struct drv *d;
	int fd;

	/* 253: t_inet_a (10) and t_inet_b (20) both take it: t_inet_a wins */
	fd = zsock_socket(AF_INET, SOCK_RAW, 253);
	cr_assert_geq(fd, 0, "errno %d", errno);
	assert_consulted("t_unspec,t_inet_a");
	assert_made("t_inet_a");
	d = drv_by_fd(fd);
	cr_assert_str_eq(d->entry, "t_inet_a");
	cr_assert_eq(d->family, AF_INET);
	cr_assert_eq(d->type, SOCK_RAW);
	cr_assert_eq(d->proto, 253);
	zt_close(fd);

	/* 254: t_inet_a and t_fail say no, t_inet_b (20) takes it */
	log_reset();
	fd = zsock_socket(AF_INET, SOCK_RAW, 254);
	cr_assert_geq(fd, 0, "errno %d", errno);
	assert_consulted("t_unspec,t_inet_a,t_fail,t_inet_b");
	assert_made("t_inet_b");
	cr_assert_str_eq(drv_by_fd(fd)->entry, "t_inet_b");
	zt_close(fd);

	/* above the engine's priorities: AF_PACKET 1 goes to t_pkt_lo (60),
	 * not t_pkt_hi (100) declared first */
	log_reset();
	fd = zsock_socket(AF_PACKET, SOCK_RAW, 1);
	cr_assert_geq(fd, 0, "errno %d", errno);
	assert_consulted("t_unspec,t_pkt_lo");
	assert_made("t_pkt_lo");
	zt_close(fd);

	/* AF_PACKET 2: only t_pkt_hi (100), asked last */
	log_reset();
	fd = zsock_socket(AF_PACKET, SOCK_DGRAM, 2);
	cr_assert_geq(fd, 0, "errno %d", errno);
	assert_consulted("t_unspec,t_pkt_lo,t_pkt_main,t_pkt_hi");
	assert_made("t_pkt_hi");
	d = drv_by_fd(fd);
	cr_assert_eq(d->family, AF_PACKET);
	cr_assert_eq(d->type, SOCK_DGRAM);
	cr_assert_eq(d->proto, 2);
	zt_close(fd);
}

/* An entry is asked only for its own family; AF_UNSPEC entries for every family. */
OFF_TEST(registry, family_match_or_unspec)
{
	static const int fams[] = { AF_INET, AF_INET6, AF_PACKET, AF_NETLINK };
	struct drv *d;
	int fd, i;

	for (i = 0; i < 4; i++) {
		log_reset();
		fd = zsock_socket(fams[i], SOCK_DGRAM, 252);
		cr_assert_geq(fd, 0, "family %d, proto 252: errno %d", fams[i], errno);
		assert_consulted("t_unspec");
		assert_made("t_unspec");
		d = drv_by_fd(fd);
		cr_assert_eq(d->family, fams[i], "the handler got family %d, expected %d",
			     d->family, fams[i]);
		cr_assert_eq(d->type, SOCK_DGRAM);
		cr_assert_eq(d->proto, 252);
		zt_close(fd);
	}

	/* AF_INET6 253: the AF_INET entries t_inet_a / t_inet_b are not asked */
	log_reset();
	fd = zsock_socket(AF_INET6, SOCK_RAW, 253);
	cr_assert_geq(fd, 0, "errno %d", errno);
	assert_consulted("t_unspec,t_inet6");
	assert_made("t_inet6");
	cr_assert_eq(drv_by_fd(fd)->family, AF_INET6);
	zt_close(fd);

	/* AF_INET 254 walks the AF_INET entries and never asks t_inet6 */
	log_reset();
	fd = zsock_socket(AF_INET, SOCK_RAW, 254);
	cr_assert_geq(fd, 0, "errno %d", errno);
	assert_consulted("t_unspec,t_inet_a,t_fail,t_inet_b");
	zt_close(fd);
	pthread_mutex_lock(&log_lock);
	i = wrong_family;
	pthread_mutex_unlock(&log_lock);
	cr_assert_eq(i, 0, "%d is_supported calls for a family the entry does not have", i);
}

/* A handler's -1 + errno comes back from zsock_socket; no later entry is tried. */
OFF_TEST(registry, handler_error_comes_back)
{
	struct zsock_engine_stats before = stats(), after;

	EXPECT_FAIL(zsock_socket(AF_INET, SOCK_RAW, 251), ENETDOWN);
	/* t_inet_b (20) would take 251 too: the walk stops at t_fail */
	assert_consulted("t_unspec,t_inet_a,t_fail");
	assert_made("t_fail");
	pthread_mutex_lock(&log_lock);
	cr_assert_eq(made_family[0], AF_INET);
	cr_assert_eq(made_type[0], SOCK_RAW);
	cr_assert_eq(made_proto[0], 251);
	pthread_mutex_unlock(&log_lock);
	after = stats();
	cr_assert_eq(after.fds_in_use, before.fds_in_use);
	cr_assert_eq(after.offload_in_use, 0);
}

/* Nobody takes it: EAFNOSUPPORT, and nothing is left behind. */
OFF_TEST(registry, no_implementation_eafnosupport)
{
	struct zsock_engine_stats before = stats(), after;

	EXPECT_FAIL(zsock_socket(AF_PACKET, SOCK_RAW, 99), EAFNOSUPPORT);
	assert_consulted("t_unspec,t_pkt_lo,t_pkt_main,t_pkt_hi");
	assert_made("");
	log_reset();
	EXPECT_FAIL(zsock_socket(AF_NETLINK, SOCK_RAW, 0), EAFNOSUPPORT);
	assert_consulted("t_unspec");
	assert_made("");
	log_reset();
	EXPECT_FAIL(zsock_socket(AF_BLUETOOTH, SOCK_STREAM, 253), EAFNOSUPPORT);
	assert_made("");
	after = stats();
	cr_assert_eq(after.fds_in_use, before.fds_in_use);
	cr_assert_eq(after.sockets_in_use, before.sockets_in_use);
	cr_assert_eq(after.offload_in_use, 0);
}

/* The engine's own sockets: the offload entries are asked, say no, the native entry makes them. */
OFF_TEST(registry, native_sockets_stay_native)
{
	static const struct {
		int family, type, proto;
	} kinds[] = {
		{ AF_INET, SOCK_STREAM, 0 },
		{ AF_INET, SOCK_DGRAM, 0 },
		{ AF_INET, SOCK_STREAM, IPPROTO_TCP },
		{ AF_INET, SOCK_DGRAM, IPPROTO_UDP },
		{ AF_INET6, SOCK_STREAM, 0 },
		{ AF_INET6, SOCK_DGRAM, IPPROTO_UDP },
	};
	struct zsock_engine_stats before = stats(), st;
	int fds[6], i, cli, srv;
	char buf[4];

	for (i = 0; i < 6; i++) {
		fds[i] = zsock_socket(kinds[i].family, kinds[i].type, kinds[i].proto);
		cr_assert_geq(fds[i], 0, "kind %d: errno %d", i, errno);
		st = stats();
		cr_assert_eq(st.sockets_in_use, before.sockets_in_use + (uint32_t)i + 1,
			     "kind %d: %u native sockets, expected %u", i, st.sockets_in_use,
			     before.sockets_in_use + (uint32_t)i + 1);
		cr_assert_eq(st.offload_in_use, 0, "kind %d made an offloaded fd", i);
	}
	assert_made("");
	for (i = 0; i < 6; i++)
		zt_close(fds[i]);

	/* a TLS socket: the engine's native_tls entry */
	log_reset();
	before = stats();
	fds[0] = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
	cr_assert_geq(fds[0], 0, "TLS socket: errno %d", errno);
	st = stats();
	cr_assert_eq(st.tls_in_use, before.tls_in_use + 1);
	cr_assert_eq(st.offload_in_use, 0);
	assert_made("");
	zt_close(fds[0]);

	/* and they work: a TCP exchange over loopback */
	zt_tcp_pair(AF_INET, &cli, &srv);
	zt_send_all(cli, "abc", 3);
	zt_recv_all(srv, buf, 3);
	cr_assert_arr_eq(buf, "abc", 3);
	zt_close(cli);
	zt_close(srv);
	assert_made("");
}

/* ======================================================================================
 * fds: z_reserve_fd / z_finalize_fd / z_free_fd
 * ====================================================================================== */

/* Reserve and free: lowest free number, reserved numbers are not sockets, freeing reaches nothing. */
OFF_TEST(fd, reserved_never_finalized_reaches_nothing)
{
	struct zsock_engine_stats before, st;
	struct zsock_pollfd p;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct drv *d;
	int off, r1, r2, r3;

	off = off_socket(P_FULL, &d);
	before = stats();
	r1 = z_reserve_fd();
	cr_assert_geq(r1, 0, "errno %d", errno);
	cr_assert_neq(r1, off);
	r2 = z_reserve_fd();
	cr_assert_gt(r2, r1, "lowest free first: %d after %d", r2, r1);
	st = stats();
	cr_assert_eq(st.fds_in_use, before.fds_in_use + 2);
	/* a reserved number names no socket */
	EXPECT_FAIL(zsock_bind(r1, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
	EXPECT_FAIL(zsock_close(r1), EBADF);
	p = (struct zsock_pollfd){ .fd = r1, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(&p, 1, 0), 1);
	cr_assert_eq(p.revents, ZSOCK_POLLNVAL);
	/* still reserved after that close: the next number is a new one */
	r3 = z_reserve_fd();
	cr_assert(r3 != r1 && r3 != r2, "reserved fd %d handed out again", r3);
	z_free_fd(r3);
	z_free_fd(r1);
	z_free_fd(r2);
	st = stats();
	cr_assert_eq(st.fds_in_use, before.fds_in_use);
	cr_assert_eq(st.offload_in_use, 1);
	/* the lowest free again */
	r3 = z_reserve_fd();
	cr_assert_eq(r3, r1);
	z_free_fd(r3);
	/* nothing reached the live driver object, which still works */
	cr_assert_eq(dtotal(d), 0, "the driver got %d calls", dtotal(d));
	assert_made("t_pkt_main");
	cr_assert_eq(zsock_listen(off, 3), 0);
	cr_assert_eq(dcalls(d, OP_LISTEN), 1);
	zt_close(off);
}

/* Full table: z_reserve_fd gives ENFILE, and so does a driver's zsock_socket. */
OFF_TEST(fd, reserve_enfile_when_full, .timeout = 60)
{
	static int res[CONFIG_ZVFS_OPEN_MAX];
	static int nat[CONFIG_ZVFS_OPEN_MAX];
	struct zsock_engine_stats before = stats(), st;
	int nres = 0, nnat, i, fd, e;

	/* a quarter native sockets, the rest reserved numbers */
	nnat = CONFIG_ZVFS_OPEN_MAX / 4;
	for (i = 0; i < nnat; i++)
		nat[i] = zt_socket(AF_INET, SOCK_DGRAM);
	for (;;) {
		errno = 0;
		fd = z_reserve_fd();
		if (fd < 0)
			break;
		cr_assert_lt(nres, CONFIG_ZVFS_OPEN_MAX, "more fds than the table holds");
		res[nres++] = fd;
	}
	e = errno;
	cr_assert_eq(fd, -1);
	cr_assert_eq(e, ENFILE, "z_reserve_fd on a full table: errno %d", e);
	cr_assert_eq((uint32_t)(nres + nnat) + before.fds_in_use, CONFIG_ZVFS_OPEN_MAX,
		     "%d reserved + %d native + %u before != %d", nres, nnat, before.fds_in_use,
		     CONFIG_ZVFS_OPEN_MAX);
	st = stats();
	cr_assert_eq(st.fds_in_use, CONFIG_ZVFS_OPEN_MAX);

	/* the driver's handler meets the full table and says so */
	EXPECT_FAIL(zsock_socket(AF_PACKET, SOCK_RAW, P_FULL), ENFILE);
	assert_made("t_pkt_main");
	EXPECT_FAIL(zsock_socket(AF_INET, SOCK_DGRAM, 0), ENFILE);
	st = stats();
	cr_assert_eq(st.offload_in_use, 0);

	/* one native socket closed: its number is the one reserved next */
	zt_close(nat[nnat / 2]);
	fd = z_reserve_fd();
	cr_assert_eq(fd, nat[nnat / 2], "z_reserve_fd gave %d, the free one is %d", fd,
		     nat[nnat / 2]);
	z_free_fd(fd);
	nat[nnat / 2] = -1;

	for (i = 0; i < nres; i++)
		z_free_fd(res[i]);
	for (i = 0; i < nnat; i++)
		if (nat[i] >= 0)
			zt_close(nat[i]);
	st = stats();
	cr_assert_eq(st.fds_in_use, before.fds_in_use);
}

/* A handler that reserves an fd, fails and gives it back leaks nothing. */
OFF_TEST(fd, handler_failing_half_way_leaks_nothing)
{
	struct zsock_engine_stats before = stats(), st;
	int i, fd, reserved;

	EXPECT_FAIL(zsock_socket(AF_PACKET, SOCK_RAW, P_HALF), ENOBUFS);
	assert_made("t_pkt_main");
	reserved = atomic_load(&half_fd);
	cr_assert_geq(reserved, 0);
	st = stats();
	cr_assert_eq(st.fds_in_use, before.fds_in_use);
	cr_assert_eq(st.offload_in_use, 0);
	/* its number is free again: the lowest */
	fd = z_reserve_fd();
	cr_assert_eq(fd, reserved);
	z_free_fd(fd);
	/* many times over the table's size: nothing accumulates */
	for (i = 0; i < 3 * CONFIG_ZVFS_OPEN_MAX; i++) {
		errno = 0;
		fd = zsock_socket(AF_PACKET, SOCK_RAW, P_HALF);
		cr_assert(fd == -1 && errno == ENOBUFS, "round %d: %d, errno %d", i, fd, errno);
	}
	st = stats();
	cr_assert_eq(st.fds_in_use, before.fds_in_use);
	cr_assert_eq(st.offload_in_use, 0);
	cr_assert_eq(atomic_load(&half_fd), reserved);
}

/* ======================================================================================
 * Forwarding: every call reaches its vtable member with its arguments
 * ====================================================================================== */

OFF_TEST(forward, bind_connect_listen_shutdown_names)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(7) };
	struct sockaddr_storage ss;
	struct sockaddr_in *got = (struct sockaddr_in *)&ss;
	socklen_t len;
	struct drv *d;
	int fd = off_socket(P_FULL, &d);

	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(dcalls(d, OP_BIND), 1);
	cr_assert_eq(d->addr, &sin);
	cr_assert_eq(d->addrlen, sizeof(sin));
	dret(d, OP_BIND, -1, EADDRINUSE);
	EXPECT_FAIL(zsock_bind(fd, (struct sockaddr *)&sin, 3), EADDRINUSE);
	cr_assert_eq(dcalls(d, OP_BIND), 2);
	cr_assert_eq(d->addrlen, 3);

	cr_assert_eq(zsock_connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(d->addr, &sin);
	cr_assert_eq(d->addrlen, sizeof(sin));
	dret(d, OP_CONNECT, -1, EINPROGRESS);
	EXPECT_FAIL(zsock_connect(fd, (struct sockaddr *)&sin, sizeof(sin)), EINPROGRESS);
	dret(d, OP_CONNECT, -1, ECONNREFUSED);
	EXPECT_FAIL(zsock_connect(fd, (struct sockaddr *)&sin, sizeof(sin)), ECONNREFUSED);
	cr_assert_eq(dcalls(d, OP_CONNECT), 3);

	cr_assert_eq(zsock_listen(fd, 7), 0);
	cr_assert_eq(d->ival, 7);
	dret(d, OP_LISTEN, -1, EOPNOTSUPP);
	EXPECT_FAIL(zsock_listen(fd, 0), EOPNOTSUPP);
	cr_assert_eq(d->ival, 0);

	cr_assert_eq(zsock_shutdown(fd, ZSOCK_SHUT_WR), 0);
	cr_assert_eq(d->ival, ZSOCK_SHUT_WR);
	dret(d, OP_SHUTDOWN, -1, ENOTCONN);
	EXPECT_FAIL(zsock_shutdown(fd, ZSOCK_SHUT_RDWR), ENOTCONN);
	cr_assert_eq(d->ival, ZSOCK_SHUT_RDWR);

	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	cr_assert_eq(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(d->addr, &ss);
	cr_assert_eq(d->addrlenp, &len);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(got->sin_family, AF_INET);
	cr_assert_eq(ntohs(got->sin_port), 5252);
	dret(d, OP_GETSOCKNAME, -1, ENOBUFS);
	EXPECT_FAIL(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), ENOBUFS);

	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	cr_assert_eq(zsock_getpeername(fd, (struct sockaddr *)&ss, &len), 0);
	cr_assert_eq(d->addr, &ss);
	cr_assert_eq(d->addrlenp, &len);
	cr_assert_eq(ntohs(got->sin_port), 5151);
	dret(d, OP_GETPEERNAME, -1, ENOTCONN);
	EXPECT_FAIL(zsock_getpeername(fd, (struct sockaddr *)&ss, &len), ENOTCONN);
	cr_assert_eq(dcalls(d, OP_GETPEERNAME), 2);

	/* nothing else was called */
	cr_assert_eq(dtotal(d), 13, "%d calls", dtotal(d));
	zt_close(fd);
}

OFF_TEST(forward, send_recv_sendto_recvfrom)
{
	static const char out[10] = "0123456789";
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_storage from;
	socklen_t fromlen;
	char in[16];
	struct drv *d;
	int fd = off_socket(P_FULL, &d);

	/* send: sendto with no address; a short count comes back unchanged */
	dret(d, OP_SENDTO, 7, 0);
	cr_assert_eq(zsock_send(fd, out, sizeof(out), MSG_DONTWAIT), 7);
	cr_assert_eq(dcalls(d, OP_SENDTO), 1);
	cr_assert_eq(d->buf, out);
	cr_assert_eq(d->len, sizeof(out));
	cr_assert_eq(d->flags, MSG_DONTWAIT);
	cr_assert_null(d->addr);
	cr_assert_eq(d->addrlen, 0);

	dret(d, OP_SENDTO, 10, 0);
	cr_assert_eq(zsock_sendto(fd, out, sizeof(out), 0, (struct sockaddr *)&to, sizeof(to)), 10);
	cr_assert_eq(d->addr, &to);
	cr_assert_eq(d->addrlen, sizeof(to));
	cr_assert_eq(d->flags, 0);
	dret(d, OP_SENDTO, -1, EAGAIN);
	EXPECT_FAIL(zsock_send(fd, out, 4, 0), EAGAIN);
	dret(d, OP_SENDTO, -1, EMSGSIZE);
	EXPECT_FAIL(zsock_sendto(fd, out, 4, 0, (struct sockaddr *)&to, sizeof(to)), EMSGSIZE);
	cr_assert_eq(dcalls(d, OP_SENDTO), 4);

	/* recv: recvfrom with no address */
	pthread_mutex_lock(&d->lock);
	memcpy(d->rx, "hello", 5);
	d->rxlen = 5;
	pthread_mutex_unlock(&d->lock);
	dret(d, OP_RECVFROM, 5, 0);
	memset(in, 0, sizeof(in));
	cr_assert_eq(zsock_recv(fd, in, sizeof(in), MSG_PEEK), 5);
	cr_assert_arr_eq(in, "hello", 5);
	cr_assert_eq(d->buf, in);
	cr_assert_eq(d->len, sizeof(in));
	cr_assert_eq(d->flags, MSG_PEEK);
	cr_assert_null(d->addr);
	cr_assert_null(d->addrlenp);

	memset(&from, 0, sizeof(from));
	fromlen = sizeof(from);
	cr_assert_eq(zsock_recvfrom(fd, in, 3, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen),
		     5);
	cr_assert_eq(d->len, 3);
	cr_assert_eq(d->addr, &from);
	cr_assert_eq(d->addrlenp, &fromlen);
	cr_assert_eq(fromlen, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(((struct sockaddr_in *)&from)->sin_port), 4343);
	dret(d, OP_RECVFROM, -1, EWOULDBLOCK);
	EXPECT_FAIL(zsock_recv(fd, in, sizeof(in), 0), EWOULDBLOCK);
	dret(d, OP_RECVFROM, 0, 0);
	cr_assert_eq(zsock_recv(fd, in, sizeof(in), 0), 0, "EOF (0) comes back as 0");
	cr_assert_eq(dcalls(d, OP_RECVFROM), 4);
	cr_assert_eq(dcalls(d, OP_READ) + dcalls(d, OP_WRITE), 0);
	zt_close(fd);
}

OFF_TEST(forward, sendmsg_recvmsg)
{
	char a[4] = "abcd", b[3] = "efg", in[8];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec riov[1] = { { in, sizeof(in) } };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(11) };
	struct msghdr msg, rmsg;
	struct drv *d;
	int fd = off_socket(P_FULL, &d);

	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &to;
	msg.msg_namelen = sizeof(to);
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	dret(d, OP_SENDMSG, 7, 0);
	cr_assert_eq(zsock_sendmsg(fd, &msg, MSG_DONTWAIT), 7);
	cr_assert_eq(dcalls(d, OP_SENDMSG), 1);
	cr_assert_eq(d->msg, &msg);
	cr_assert_eq(d->flags, MSG_DONTWAIT);
	dret(d, OP_SENDMSG, -1, ENOBUFS);
	EXPECT_FAIL(zsock_sendmsg(fd, &msg, 0), ENOBUFS);
	/* zsock's own check before any implementation */
	EXPECT_FAIL(zsock_sendmsg(fd, NULL, 0), EFAULT);
	cr_assert_eq(dcalls(d, OP_SENDMSG), 2);

	pthread_mutex_lock(&d->lock);
	memcpy(d->rx, "xyz", 3);
	d->rxlen = 3;
	pthread_mutex_unlock(&d->lock);
	memset(&rmsg, 0, sizeof(rmsg));
	rmsg.msg_iov = riov;
	rmsg.msg_iovlen = 1;
	dret(d, OP_RECVMSG, 3, 0);
	cr_assert_eq(zsock_recvmsg(fd, &rmsg, MSG_PEEK), 3);
	cr_assert_eq(d->msg, &rmsg);
	cr_assert_eq(d->flags, MSG_PEEK);
	cr_assert_arr_eq(in, "xyz", 3);
	cr_assert_eq(rmsg.msg_flags, MSG_TRUNC, "msg_flags 0x%x", rmsg.msg_flags);
	dret(d, OP_RECVMSG, -1, ECONNRESET);
	EXPECT_FAIL(zsock_recvmsg(fd, &rmsg, 0), ECONNRESET);
	cr_assert_eq(dcalls(d, OP_RECVMSG), 2);
	zt_close(fd);
}

OFF_TEST(forward, getsockopt_setsockopt)
{
	struct drv *d;
	int fd = off_socket(P_FULL, &d), v = 0, one = 1;
	socklen_t vl = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
	cr_assert_eq(dcalls(d, OP_GETSOCKOPT), 1);
	cr_assert_eq(d->level, SOL_SOCKET);
	cr_assert_eq(d->optname, SO_RCVBUF);
	cr_assert_eq(d->optval, &v);
	cr_assert_eq(d->optlenp, &vl);
	cr_assert_eq(v, 1234);
	cr_assert_eq(vl, sizeof(int));
	dret(d, OP_GETSOCKOPT, -1, ENOPROTOOPT);
	EXPECT_FAIL(zsock_getsockopt(fd, IPPROTO_TCP, 0x5a5a, &v, &vl), ENOPROTOOPT);
	cr_assert_eq(d->level, IPPROTO_TCP);
	cr_assert_eq(d->optname, 0x5a5a);

	cr_assert_eq(zsock_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	cr_assert_eq(dcalls(d, OP_SETSOCKOPT), 1);
	cr_assert_eq(d->level, IPPROTO_TCP);
	cr_assert_eq(d->optname, TCP_NODELAY);
	cr_assert_eq(d->optval, &one);
	cr_assert_eq(d->optlen, sizeof(one));
	dret(d, OP_SETSOCKOPT, -1, EINVAL);
	EXPECT_FAIL(zsock_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, 1), EINVAL);
	cr_assert_eq(d->optname, SO_BROADCAST);
	cr_assert_eq(d->optlen, 1);
	cr_assert_eq(dcalls(d, OP_SETSOCKOPT), 2);
	zt_close(fd);
}

OFF_TEST(forward, fcntl_and_ioctl)
{
	struct drv *d;
	int fd = off_socket(P_FULL, &d), n = -1, on = 1, off = 0;

	/* fcntl goes to ioctl as ZFD_IOCTL_FCNTL_GETFL / SETFL */
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR);
	cr_assert_eq(dcalls(d, OP_IOCTL), 1);
	cr_assert_eq(d->req, ZFD_IOCTL_FCNTL_GETFL, "request 0x%x", d->req);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(d->req, ZFD_IOCTL_FCNTL_SETFL, "request 0x%x", d->req);
	cr_assert_eq(d->iarg & O_NONBLOCK, O_NONBLOCK, "SETFL argument 0x%x", d->iarg);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, 0), 0);
	cr_assert_eq(d->iarg, 0);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR);
	dret(d, OP_IOCTL, 0, EINVAL);
	EXPECT_FAIL(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), EINVAL);
	EXPECT_FAIL(zsock_fcntl(fd, F_GETFL, 0), EINVAL);
	dret(d, OP_IOCTL, 0, 0);
	cr_assert_eq(dcalls(d, OP_IOCTL), 7);

	/* ioctl: the request and the caller's pointer reach the driver */
	pthread_mutex_lock(&d->lock);
	d->fionread = 42;
	pthread_mutex_unlock(&d->lock);
	cr_assert_eq(zsock_ioctl(fd, FIONREAD, &n), 0);
	cr_assert_eq(d->req, FIONREAD);
	cr_assert_eq(d->arg, &n);
	cr_assert_eq(n, 42);
	cr_assert_eq(zsock_ioctl(fd, FIONBIO, &on), 0);
	cr_assert_eq(d->req, FIONBIO);
	cr_assert_eq(d->arg, &on);
	cr_assert_eq(d->iarg, 1);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	cr_assert_eq(zsock_ioctl(fd, FIONBIO, &off), 0);
	cr_assert_eq(d->iarg, 0);
	/* the driver's own error for a request it does not know */
	EXPECT_FAIL(zsock_ioctl(fd, 0x5a5a, &n), ENOTTY);
	cr_assert_eq(d->req, 0x5a5a);
	dret(d, OP_IOCTL, 0, EIO);
	EXPECT_FAIL(zsock_ioctl(fd, FIONREAD, &n), EIO);
	dret(d, OP_IOCTL, 0, 0);
	cr_assert_eq(dcalls(d, OP_IOCTL), 13);
	zt_close(fd);
}

/* SOCK_NONBLOCK in the type reaches the driver as ZFD_IOCTL_FCNTL_SETFL O_NONBLOCK. */
OFF_TEST(forward, sock_nonblock_becomes_setfl)
{
	struct drv *d;
	int fd;

	fd = zsock_socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, P_FULL);
	cr_assert_geq(fd, 0, "errno %d", errno);
	d = drv_by_fd(fd);
	pthread_mutex_lock(&d->lock);
	cr_assert_eq(d->nreqs, 1, "%d ioctls at creation", d->nreqs);
	cr_assert_eq(d->reqs[0], ZFD_IOCTL_FCNTL_SETFL, "request 0x%x", d->reqs[0]);
	cr_assert_eq(d->iarg & O_NONBLOCK, O_NONBLOCK, "SETFL argument 0x%x", d->iarg);
	pthread_mutex_unlock(&d->lock);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
	zt_close(fd);

	/* without it: no ioctl at creation */
	fd = off_socket(P_FULL, &d);
	cr_assert_eq(DGET(d, nreqs), 0);
	cr_assert_eq(dtotal(d), 0);
	zt_close(fd);
}

/* accept returns the driver's new fd, which reaches the new object. */
OFF_TEST(forward, accept_returns_driver_fd)
{
	struct zsock_engine_stats before;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct drv *d, *d2;
	int fd = off_socket(P_FULL, &d), nfd;

	memset(&ss, 0, sizeof(ss));
	nfd = zsock_accept(fd, (struct sockaddr *)&ss, &len);
	cr_assert_geq(nfd, 0, "accept: errno %d", errno);
	cr_assert_neq(nfd, fd);
	cr_assert_eq(dcalls(d, OP_ACCEPT), 1);
	cr_assert_eq(d->addr, &ss);
	cr_assert_eq(d->addrlenp, &len);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 4242);
	d2 = drv_by_fd(nfd);
	cr_assert_str_eq(d2->entry, "accept");
	cr_assert_eq(zsock_listen(nfd, 9), 0);
	cr_assert_eq(dcalls(d2, OP_LISTEN), 1);
	cr_assert_eq(d2->ival, 9);
	cr_assert_eq(dcalls(d, OP_LISTEN), 0);

	/* NULL address: passed through */
	nfd = zsock_accept(fd, NULL, NULL);
	cr_assert_geq(nfd, 0, "accept: errno %d", errno);
	cr_assert_null(d->addr);
	cr_assert_null(d->addrlenp);
	zt_close(nfd);

	/* failure: no fd made */
	before = stats();
	dret(d, OP_ACCEPT, -1, ECONNABORTED);
	EXPECT_FAIL(zsock_accept(fd, (struct sockaddr *)&ss, &len), ECONNABORTED);
	cr_assert_eq(stats().fds_in_use, before.fds_in_use);
	cr_assert_eq(dcalls(d, OP_ACCEPT), 3);

	zt_close(d2->fd);
	zt_close(fd);
}

/* NULL members give EOPNOTSUPP (and a NULL ioctl: no poll readiness). */
OFF_TEST(forward, null_members_eopnotsupp)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[8] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg;
	struct zsock_pollfd p;
	struct drv *d;
	int fd = off_socket(P_NULL, &d), v = 0;
	socklen_t vl = sizeof(v);

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	EXPECT_FAIL(zsock_bind(fd, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
	EXPECT_FAIL(zsock_connect(fd, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
	EXPECT_FAIL(zsock_listen(fd, 1), EOPNOTSUPP);
	EXPECT_FAIL(zsock_accept(fd, (struct sockaddr *)&ss, &len), EOPNOTSUPP);
	EXPECT_FAIL(zsock_send(fd, buf, sizeof(buf), 0), EOPNOTSUPP);
	EXPECT_FAIL(zsock_sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sin, sizeof(sin)),
		    EOPNOTSUPP);
	EXPECT_FAIL(zsock_recv(fd, buf, sizeof(buf), 0), EOPNOTSUPP);
	EXPECT_FAIL(zsock_recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len),
		    EOPNOTSUPP);
	EXPECT_FAIL(zsock_sendmsg(fd, &msg, 0), EOPNOTSUPP);
	EXPECT_FAIL(zsock_recvmsg(fd, &msg, 0), EOPNOTSUPP);
	EXPECT_FAIL(zsock_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), EOPNOTSUPP);
	EXPECT_FAIL(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, vl), EOPNOTSUPP);
	EXPECT_FAIL(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), EOPNOTSUPP);
	EXPECT_FAIL(zsock_getpeername(fd, (struct sockaddr *)&ss, &len), EOPNOTSUPP);
	EXPECT_FAIL(zsock_shutdown(fd, ZSOCK_SHUT_RD), EOPNOTSUPP);
	EXPECT_FAIL(zsock_fcntl(fd, F_GETFL, 0), EOPNOTSUPP);
	EXPECT_FAIL(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), EOPNOTSUPP);
	EXPECT_FAIL(zsock_ioctl(fd, FIONREAD, &v), EOPNOTSUPP);
	/* no ioctl: never ready, poll runs into its timeout */
	p = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };
	cr_assert_eq(zsock_poll(&p, 1, 50), 0);
	cr_assert_eq(p.revents, 0);
	cr_assert_eq(dtotal(d), 0, "the driver got %d calls", dtotal(d));
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(dcalls(d, OP_CLOSE), 1);
}

/* A vtable with only read/write: send/recv without flags or address use them. */
OFF_TEST(forward, read_write_when_no_sendto_recvfrom)
{
	static const char out[5] = "hello";
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char in[8];
	struct drv *d;
	int fd = off_socket(P_RW, &d);

	dret(d, OP_WRITE, 4, 0);
	cr_assert_eq(zsock_send(fd, out, sizeof(out), 0), 4);
	cr_assert_eq(dcalls(d, OP_WRITE), 1);
	cr_assert_eq(d->buf, out);
	cr_assert_eq(d->len, sizeof(out));
	dret(d, OP_WRITE, -1, EPIPE);
	EXPECT_FAIL(zsock_send(fd, out, sizeof(out), 0), EPIPE);

	pthread_mutex_lock(&d->lock);
	memcpy(d->rx, "abc", 3);
	d->rxlen = 3;
	pthread_mutex_unlock(&d->lock);
	dret(d, OP_READ, 3, 0);
	cr_assert_eq(zsock_recv(fd, in, sizeof(in), 0), 3);
	cr_assert_eq(dcalls(d, OP_READ), 1);
	cr_assert_eq(d->buf, in);
	cr_assert_eq(d->len, sizeof(in));
	cr_assert_arr_eq(in, "abc", 3);
	dret(d, OP_READ, -1, EAGAIN);
	EXPECT_FAIL(zsock_recv(fd, in, sizeof(in), 0), EAGAIN);

	/* what read/write cannot say: no sendto/recvfrom member, EOPNOTSUPP */
	EXPECT_FAIL(zsock_sendto(fd, out, 5, 0, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
	EXPECT_FAIL(zsock_recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&ss, &len),
		    EOPNOTSUPP);
	EXPECT_FAIL(zsock_bind(fd, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
	cr_assert_eq(dcalls(d, OP_WRITE), 2);
	cr_assert_eq(dcalls(d, OP_READ), 2);
	zt_close(fd);
}

/* Zephyr's zsock_get_context_object gives the obj passed to z_finalize_fd. */
OFF_TEST(forward, context_object_is_driver_object)
{
	struct drv *d;
	int fd = off_socket(P_FULL, &d);

	cr_assert_eq(zsock_get_context_object(fd), d, "context object %p, driver object %p",
		     zsock_get_context_object(fd), (void *)d);
	zt_close(fd);
}

/* ======================================================================================
 * close
 * ====================================================================================== */

/* close runs once; after it every call is EBADF and reaches nothing. */
OFF_TEST(close, once_then_ebadf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[4] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg;
	struct zsock_pollfd p;
	zsock_fd_set rs;
	struct zsock_timeval tv = { 0, 0 };
	struct drv *d;
	int fd = off_socket(P_FULL, &d), v = 0, total;
	socklen_t vl = sizeof(v);

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	cr_assert_eq(zsock_listen(fd, 1), 0);
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(dcalls(d, OP_CLOSE), 1);
	total = dtotal(d);
	cr_assert_eq(total, 2);
	cr_assert_eq(stats().offload_in_use, 0);

	EXPECT_FAIL(zsock_close(fd), EBADF);
	EXPECT_FAIL(zsock_bind(fd, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
	EXPECT_FAIL(zsock_connect(fd, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
	EXPECT_FAIL(zsock_listen(fd, 1), EBADF);
	EXPECT_FAIL(zsock_accept(fd, (struct sockaddr *)&ss, &len), EBADF);
	EXPECT_FAIL(zsock_send(fd, buf, sizeof(buf), 0), EBADF);
	EXPECT_FAIL(zsock_sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sin, sizeof(sin)),
		    EBADF);
	EXPECT_FAIL(zsock_recv(fd, buf, sizeof(buf), 0), EBADF);
	EXPECT_FAIL(zsock_recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len), EBADF);
	EXPECT_FAIL(zsock_sendmsg(fd, &msg, 0), EBADF);
	EXPECT_FAIL(zsock_recvmsg(fd, &msg, 0), EBADF);
	EXPECT_FAIL(zsock_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), EBADF);
	EXPECT_FAIL(zsock_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, vl), EBADF);
	EXPECT_FAIL(zsock_getsockname(fd, (struct sockaddr *)&ss, &len), EBADF);
	EXPECT_FAIL(zsock_getpeername(fd, (struct sockaddr *)&ss, &len), EBADF);
	EXPECT_FAIL(zsock_shutdown(fd, ZSOCK_SHUT_RD), EBADF);
	EXPECT_FAIL(zsock_fcntl(fd, F_GETFL, 0), EBADF);
	EXPECT_FAIL(zsock_ioctl(fd, FIONREAD, &v), EBADF);
	p = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_poll(&p, 1, 0), 1);
	cr_assert_eq(p.revents, ZSOCK_POLLNVAL);
	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(fd, &rs);
	EXPECT_FAIL(zsock_select(fd + 1, &rs, NULL, NULL, &tv), EBADF);
	cr_assert_null(zsock_get_context_object(fd));
	cr_assert_eq(dtotal(d), total, "the closed object got %d more calls", dtotal(d) - total);
	cr_assert_eq(DGET(d, calls[OP_POLL]), 0);
}

/* The driver's close error comes back; the fd is gone all the same. */
OFF_TEST(close, driver_error_comes_back)
{
	struct drv *d;
	int fd = off_socket(P_FULL, &d);

	dret(d, OP_CLOSE, -1, ECONNRESET);
	EXPECT_FAIL(zsock_close(fd), ECONNRESET);
	cr_assert_eq(dcalls(d, OP_CLOSE), 1);
	EXPECT_FAIL(zsock_close(fd), EBADF);
	EXPECT_FAIL(zsock_listen(fd, 1), EBADF);
	cr_assert_eq(dcalls(d, OP_CLOSE), 1);
	cr_assert_eq(stats().offload_in_use, 0);
}

struct recv_thread {
	int fd;
	ssize_t rc;
	int err;
};

static void *recv_fn(void *arg)
{
	struct recv_thread *r = arg;
	char buf[8];

	errno = 0;
	r->rc = zsock_recv(r->fd, buf, sizeof(buf), 0);
	r->err = errno;
	return NULL;
}

/*
 * A call already inside the driver when another thread closes the fd: the
 * close returns, the number is free at once (a new socket may take it and
 * its calls go to the new object), the adapter lives until the call comes
 * back, whose result reaches the caller unchanged.
 */
OFF_TEST(close, call_in_flight_keeps_object, .timeout = 60)
{
	struct recv_thread r = { .rc = 0 };
	struct drv *d, *d2;
	pthread_t t;
	int fd = off_socket(P_FULL, &d), fd2;

	pthread_mutex_lock(&d->lock);
	d->block_recv = true;
	d->ret[OP_RECVFROM] = -1;
	d->err[OP_RECVFROM] = ECONNABORTED;
	pthread_mutex_unlock(&d->lock);
	r.fd = fd;
	t = zt_spawn(recv_fn, &r);
	WAIT_FOR(dget_bool(d, &d->in_recv));
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(dcalls(d, OP_CLOSE), 1);
	cr_assert(dget_bool(d, &d->in_recv), "the recv left the driver on its own");
	cr_assert_eq(stats().offload_in_use, 1, "the adapter of the call in flight");

	/* the number is free: a new socket gets it, and its own object */
	fd2 = off_socket(P_FULL, &d2);
	cr_assert_eq(fd2, fd, "the closed number %d is not reused (got %d)", fd, fd2);
	cr_assert_neq(d2, d);
	cr_assert_eq(zsock_listen(fd2, 2), 0);
	cr_assert_eq(dcalls(d2, OP_LISTEN), 1);
	cr_assert_eq(dcalls(d, OP_LISTEN), 0);

	pthread_mutex_lock(&d->lock);
	d->release_recv = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->lock);
	cr_assert(zt_join(t, 10000), "recv does not return");
	cr_assert_eq(r.rc, -1);
	cr_assert_eq(r.err, ECONNABORTED, "errno %d", r.err);
	cr_assert_eq(dcalls(d, OP_RECVFROM), 1);
	zt_close(fd2);
}

struct closer {
	int fd;
	_Atomic int *go;
	int rc, err;
};

static void *closer_fn(void *arg)
{
	struct closer *c = arg;

	while (!atomic_load(c->go))
		;
	errno = 0;
	c->rc = zsock_close(c->fd);
	c->err = errno;
	return NULL;
}

/* Two threads close one offloaded fd at once: one wins, the other gets EBADF, close runs once. */
OFF_TEST(close, concurrent_close_runs_once, .timeout = 60)
{
	struct closer c[2];
	_Atomic int go;
	pthread_t t[2];
	struct drv *d;
	int round, i, fd, wins;

	for (round = 0; round < 50; round++) {
		fd = off_socket(P_FULL, &d);
		atomic_store(&go, 0);
		for (i = 0; i < 2; i++) {
			c[i] = (struct closer){ .fd = fd, .go = &go };
			t[i] = zt_spawn(closer_fn, &c[i]);
		}
		atomic_store(&go, 1);
		wins = 0;
		for (i = 0; i < 2; i++) {
			cr_assert(zt_join(t[i], 10000), "close hangs");
			if (c[i].rc == 0)
				wins++;
			else
				cr_assert_eq(c[i].err, EBADF, "round %d: close %d, errno %d", round,
					     c[i].rc, c[i].err);
		}
		cr_assert_eq(wins, 1, "round %d: %d closes succeeded", round, wins);
		cr_assert_eq(dcalls(d, OP_CLOSE), 1, "round %d", round);
	}
}

struct hammer {
	_Atomic int fd;               /* -1: stop */
	_Atomic long calls[2];        /* calls each thread finished */
	_Atomic int next;             /* thread index */
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	int me = atomic_fetch_add(&h->next, 1), fd;

	while ((fd = atomic_load(&h->fd)) >= 0) {
		zsock_listen(fd, 1);
		atomic_fetch_add(&h->calls[me], 1);
	}
	return NULL;
}

/*
 * The header: the driver's close runs exactly once, and a call that starts
 * after zsock_close() has returned gets EBADF without reaching the driver
 * (a call that started before may still enter it: the driver keeps obj
 * usable until its own calls return). Two threads call zsock_listen on the
 * fd in a loop while the test thread closes it, 1000 times over; after each
 * close the test thread calls on the closed number itself, which must not
 * reach the driver. Calls from the racing threads that entered the driver
 * after its close are counted and printed, not failed (the contract allows
 * them).
 */
OFF_TEST(close, calls_after_close_returns_never_reach_driver, .timeout = 120)
{
	struct hammer h = { .fd = CONFIG_ZVFS_OPEN_MAX };
	pthread_t t[2];
	struct drv *d;
	int round, i, fd, n, after = 0, rounds_hit = 0, closes, listens;
	long seen[2];

	for (i = 0; i < 2; i++)
		t[i] = zt_spawn(hammer_fn, &h);
	for (round = 0; round < 1000; round++) {
		fd = off_socket(P_FULL, &d);
		atomic_store(&h.fd, fd);
		while (dcalls(d, OP_LISTEN) < 10)
			;
		zt_close(fd);
		/* move the threads off this fd; once each has finished two more
		 * calls, none can still reach the object */
		for (i = 0; i < 2; i++)
			seen[i] = atomic_load(&h.calls[i]);
		atomic_store(&h.fd, CONFIG_ZVFS_OPEN_MAX); /* out of range: EBADF */
		for (i = 0; i < 2; i++)
			while (atomic_load(&h.calls[i]) < seen[i] + 2)
				;
		/* a call that starts now, after close returned, never reaches it */
		pthread_mutex_lock(&d->lock);
		listens = d->calls[OP_LISTEN];
		pthread_mutex_unlock(&d->lock);
		errno = 0;
		cr_assert_eq(zsock_listen(fd, 1), -1, "round %d: listen after close", round);
		cr_assert_eq(errno, EBADF, "round %d: listen after close: errno %d", round, errno);
		pthread_mutex_lock(&d->lock);
		cr_assert_eq(d->calls[OP_LISTEN], listens, "round %d: a call after close reached "
			     "the driver", round);
		closes = d->calls[OP_CLOSE];
		n = d->after_close;
		pthread_mutex_unlock(&d->lock);
		cr_assert_eq(closes, 1, "round %d: close ran %d times", round, closes);
		after += n;
		rounds_hit += n > 0;
		/* recycle the object (drv_check_all does not see it again) */
		pthread_mutex_lock(&pool_lock);
		d->used = false;
		pthread_mutex_unlock(&pool_lock);
	}
	atomic_store(&h.fd, -1);
	for (i = 0; i < 2; i++)
		cr_assert(zt_join(t[i], 10000), "hammer thread hangs");
	cr_log_info("%d calls from racing threads entered a driver object after its close, "
		    "in %d of 1000 rounds (allowed: they started before close returned)",
		    after, rounds_hit);
}

/* ======================================================================================
 * poll and select
 * ====================================================================================== */

/* One offloaded fd and native fds in one zsock_poll. */
OFF_TEST(poll, offloaded_and_native_together, .timeout = 60)
{
	struct zsock_pollfd p[3];
	struct drv *d;
	int fd = off_socket(P_FULL, &d), a, b, rc;
	char c;

	zt_udp_pair(AF_INET, &a, &b);
	p[0] = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	p[2] = (struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLOUT };

	/* only the native writable one */
	cr_assert_eq(zsock_poll(p, 3, 0), 1);
	cr_assert_eq(p[0].revents, 0);
	cr_assert_eq(p[1].revents, 0);
	cr_assert_eq(p[2].revents, ZSOCK_POLLOUT);
	cr_assert_geq(DGET(d, updates), 1, "POLL_UPDATE never asked");

	/* the driver is readable */
	drv_set_ready(d, ZSOCK_POLLIN);
	cr_assert_eq(zsock_poll(p, 2, 0), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	cr_assert_eq(p[1].revents, 0);

	/* and the native one too */
	cr_assert_eq(zsock_send(a, "x", 1, 0), 1);
	do {
		rc = zsock_poll(p, 2, 5000);
	} while (rc == 1 && p[1].revents == 0);
	cr_assert_eq(rc, 2, "poll: %d, errno %d", rc, errno);
	cr_assert_eq(p[0].revents, ZSOCK_POLLIN);
	cr_assert_eq(p[1].revents, ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 1);

	/* only the bits asked, plus ERR and HUP */
	drv_set_ready(d, ZSOCK_POLLOUT);
	cr_assert_eq(zsock_poll(p, 1, 0), 0);
	cr_assert_eq(p[0].revents, 0);
	p[0].events = ZSOCK_POLLOUT;
	cr_assert_eq(zsock_poll(p, 1, 0), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLOUT);
	p[0].events = ZSOCK_POLLIN;
	drv_set_ready(d, ZSOCK_POLLERR | ZSOCK_POLLHUP);
	cr_assert_eq(zsock_poll(p, 1, 0), 1);
	cr_assert_eq(p[0].revents, ZSOCK_POLLERR | ZSOCK_POLLHUP, "revents 0x%x", p[0].revents);

	zt_close(fd);
	cr_assert_eq(DGET(d, nreg), 0, "a notify handle is still registered after close");
	zt_close(a);
	zt_close(b);
}

/*
 * zsock_poll blocked on an offloaded fd (and an idle native one): a
 * zsock_poll_notify() without a change makes it ask POLL_UPDATE again and
 * sleep on; readiness set from another thread and notified wakes it.
 */
static void notify_wakes(bool plain)
{
	struct holders h;
	struct poller pl;
	struct drv *d;
	int fd, a, b, updates;
	pthread_t t;

	if (plain)
		hold_all_sets(&h);
	fd = off_socket(P_FULL, &d);
	zt_udp_pair(AF_INET, &a, &b);
	memset(&pl, 0, sizeof(pl));
	pl.p[0] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	pl.p[1] = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
	pl.n = 2;
	pl.timeout = 30000;
	t = zt_spawn(poller_fn, &pl);
	WAIT_FOR(DGET(d, nreg) == 1 && DGET(d, updates) >= 1);
	zt_sleep_ms(20); /* let it reach its sleep */

	/* a notify with nothing new: asked again, still asleep */
	updates = DGET(d, updates);
	drv_set_ready(d, 0);
	WAIT_FOR(DGET(d, updates) > updates);
	cr_assert_eq(DGET(d, nreg), 1, "the registration went away while polling");

	drv_set_ready(d, ZSOCK_POLLIN);
	cr_assert(zt_join(t, 25000), "poll was not woken");
	cr_assert_eq(pl.rc, 1, "poll: %d, errno %d", pl.rc, pl.err);
	cr_assert_eq(pl.p[0].revents, 0);
	cr_assert_eq(pl.p[1].revents, ZSOCK_POLLIN);
	if (plain) {
		/* the plain way lets go when the call returns */
		cr_assert_eq(DGET(d, nreg), 0);
		cr_assert_eq(DGET(d, prepares), DGET(d, dones));
		release_sets(&h);
	}
	zt_close(fd);
	cr_assert_eq(DGET(d, nreg), 0);
	zt_close(a);
	zt_close(b);
}

OFF_TEST(poll, notify_wakes_blocked_poll_set, .timeout = 60)
{
	notify_wakes(false);
}

OFF_TEST(poll, notify_wakes_blocked_poll_plain, .timeout = 60)
{
	notify_wakes(true);
}

/* Two threads asleep on one offloaded fd: one readiness change wakes both. */
OFF_TEST(poll, two_pollers_one_fd, .timeout = 60)
{
	struct poller pl[2];
	struct drv *d;
	pthread_t t[2];
	int fd = off_socket(P_FULL, &d), i;

	for (i = 0; i < 2; i++) {
		memset(&pl[i], 0, sizeof(pl[i]));
		pl[i].p[0] = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
		pl[i].n = 1;
		pl[i].timeout = 30000;
		t[i] = zt_spawn(poller_fn, &pl[i]);
	}
	WAIT_FOR(DGET(d, nreg) >= 1 && DGET(d, updates) >= 2);
	zt_sleep_ms(20);
	drv_set_ready(d, ZSOCK_POLLIN);
	for (i = 0; i < 2; i++) {
		cr_assert(zt_join(t[i], 25000), "poller %d was not woken", i);
		cr_assert_eq(pl[i].rc, 1, "poller %d: %d, errno %d", i, pl[i].rc, pl[i].err);
		cr_assert_eq(pl[i].p[0].revents, ZSOCK_POLLIN);
	}
	zt_close(fd);
	cr_assert_eq(DGET(d, nreg), 0);
}

/*
 * PREPARE/DONE pairing. The plain way: each blocking call registers and
 * lets go before it returns. A poll set (a thread polling repeatedly) may
 * keep its registration between calls: only at close must none be left.
 */
OFF_TEST(poll, prepare_done_pairing_plain, .timeout = 60)
{
	struct holders h;
	struct zsock_pollfd p;
	struct drv *d;
	int fd, i;

	hold_all_sets(&h);
	fd = off_socket(P_FULL, &d);
	p = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
	for (i = 0; i < 5; i++) {
		cr_assert_eq(zsock_poll(&p, 1, 10), 0);
		cr_assert_eq(DGET(d, nreg), 0, "call %d: still registered after return", i);
		cr_assert_geq(DGET(d, prepares), i + 1, "call %d slept unregistered", i);
		cr_assert_eq(DGET(d, prepares), DGET(d, dones));
	}
	release_sets(&h);
	zt_close(fd);
}

struct repoller {
	int fd, native;
	int rounds;
	int bad;              /* polls that failed */
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool done, go;
};

static void *repoller_fn(void *arg)
{
	struct repoller *r = arg;
	struct zsock_pollfd p[2];
	int i, rc;

	for (i = 0; i < r->rounds; i++) {
		p[0] = (struct zsock_pollfd){ .fd = r->fd, .events = ZSOCK_POLLIN };
		p[1] = (struct zsock_pollfd){ .fd = r->native, .events = ZSOCK_POLLIN };
		rc = zsock_poll(p, 2, 5);
		if (rc < 0)
			r->bad++;
	}
	/* stay alive (keeping the poll set) until told */
	pthread_mutex_lock(&r->m);
	r->done = true;
	pthread_cond_broadcast(&r->cv);
	while (!r->go)
		pthread_cond_wait(&r->cv, &r->m);
	pthread_mutex_unlock(&r->m);
	return NULL;
}

OFF_TEST(poll, prepare_done_pairing_poll_set, .timeout = 60)
{
	struct repoller r;
	struct drv *d;
	pthread_t t;
	int fd = off_socket(P_FULL, &d), a, b, i;

	zt_udp_pair(AF_INET, &a, &b);
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.m, NULL);
	pthread_cond_init(&r.cv, NULL);
	r.fd = fd;
	r.native = b;
	r.rounds = 40;
	t = zt_spawn(repoller_fn, &r);
	/* readiness flips while it polls */
	for (i = 0; i < 20; i++) {
		drv_set_ready(d, (i & 1) ? ZSOCK_POLLIN : 0);
		zt_sleep_ms(2);
	}
	pthread_mutex_lock(&r.m);
	while (!r.done)
		pthread_cond_wait(&r.cv, &r.m);
	pthread_mutex_unlock(&r.m);
	cr_assert_eq(r.bad, 0, "%d polls failed", r.bad);
	cr_assert_geq(DGET(d, prepares), 1, "never registered");
	cr_assert_eq(DGET(d, bad_pairing), 0);
	/* the poller is idle but alive; close: nothing may stay registered */
	zt_close(fd);
	cr_assert_eq(DGET(d, nreg), 0, "a notify handle outlives the close");
	cr_assert_eq(DGET(d, prepares), DGET(d, dones));
	cr_assert_eq(DGET(d, closed_registered), 0, "close ran before DONE");
	pthread_mutex_lock(&r.m);
	r.go = true;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.m);
	cr_assert(zt_join(t, 10000));
	zt_close(a);
	zt_close(b);
}

/* A driver without POLL_UPDATE is never ready: poll returns on its timeout or other fds. */
OFF_TEST(poll, no_poll_update_never_ready, .timeout = 60)
{
	struct zsock_pollfd p[2];
	struct drv *d;
	int fd = off_socket(P_NOPOLL, &d), a, b, rc;
	char c;

	p[0] = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };
	cr_assert_eq(zsock_poll(p, 1, 0), 0);
	cr_assert_eq(p[0].revents, 0);
	cr_assert_eq(zsock_poll(p, 1, 100), 0);
	cr_assert_eq(p[0].revents, 0);
	cr_assert_geq(DGET(d, calls[OP_POLL]), 1, "POLL_UPDATE never asked");

	/* with a native fd that becomes readable: only that one */
	zt_udp_pair(AF_INET, &a, &b);
	p[1] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	cr_assert_eq(zsock_send(a, "y", 1, 0), 1);
	rc = zsock_poll(p, 2, 5000);
	cr_assert_eq(rc, 1, "poll: %d, errno %d", rc, errno);
	cr_assert_eq(p[0].revents, 0);
	cr_assert_eq(p[1].revents, ZSOCK_POLLIN);
	cr_assert_eq(zsock_recv(b, &c, 1, 0), 1);
	/* the socket calls still work */
	cr_assert_eq(zsock_listen(fd, 1), 0);
	zt_close(fd);
	zt_close(a);
	zt_close(b);
}

/* Closing an offloaded fd while another thread polls it: poll gives -1/EINTR. */
static void close_under_poll(bool plain)
{
	struct holders h;
	struct poller pl;
	struct drv *d;
	int fd, a, b;
	pthread_t t;

	if (plain)
		hold_all_sets(&h);
	fd = off_socket(P_FULL, &d);
	zt_udp_pair(AF_INET, &a, &b);
	memset(&pl, 0, sizeof(pl));
	pl.p[0] = (struct zsock_pollfd){ .fd = b, .events = ZSOCK_POLLIN };
	pl.p[1] = (struct zsock_pollfd){ .fd = fd, .events = ZSOCK_POLLIN };
	pl.n = 2;
	pl.timeout = 30000;
	t = zt_spawn(poller_fn, &pl);
	WAIT_FOR(DGET(d, nreg) == 1 && DGET(d, updates) >= 1);
	zt_sleep_ms(20);
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert(zt_join(t, 25000), "poll did not return after the close");
	cr_assert_eq(pl.rc, -1, "poll: %d", pl.rc);
	cr_assert_eq(pl.err, EINTR, "errno %d", pl.err);
	cr_assert_eq(dcalls(d, OP_CLOSE), 1);
	cr_assert_eq(DGET(d, nreg), 0);
	cr_assert_eq(DGET(d, closed_registered), 0, "close ran before DONE");
	if (plain)
		release_sets(&h);
	zt_close(a);
	zt_close(b);
}

OFF_TEST(poll, close_from_other_thread_eintr_set, .timeout = 60)
{
	close_under_poll(false);
}

OFF_TEST(poll, close_from_other_thread_eintr_plain, .timeout = 60)
{
	close_under_poll(true);
}

struct selector {
	int fd;
	int rc, err;
	bool isset;
};

static void *select_fn(void *arg)
{
	struct selector *s = arg;
	struct zsock_timeval tv = { 30, 0 };
	zsock_fd_set rs;

	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(s->fd, &rs);
	errno = 0;
	s->rc = zsock_select(s->fd + 1, &rs, NULL, NULL, &tv);
	s->err = errno;
	s->isset = ZSOCK_FD_ISSET(s->fd, &rs);
	return NULL;
}

/* zsock_select sees an offloaded fd readable / writable, and is woken by a notify. */
OFF_TEST(poll, select_sees_offloaded, .timeout = 60)
{
	struct zsock_timeval tv0 = { 0, 0 }, tv = { 0, 50000 };
	struct selector s;
	zsock_fd_set rs, ws;
	struct drv *d, *dn;
	int fd = off_socket(P_FULL, &d), nfd, a, b, nfds, updates;
	pthread_t t;

	zt_udp_pair(AF_INET, &a, &b);
	nfds = (fd > b ? fd : b) + 1;

	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(fd, &rs);
	ZSOCK_FD_SET(b, &rs);
	cr_assert_eq(zsock_select(nfds, &rs, NULL, NULL, &tv0), 0);

	drv_set_ready(d, ZSOCK_POLLIN);
	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(fd, &rs);
	ZSOCK_FD_SET(b, &rs);
	cr_assert_eq(zsock_select(nfds, &rs, NULL, NULL, &tv0), 1);
	cr_assert(ZSOCK_FD_ISSET(fd, &rs));
	cr_assert(!ZSOCK_FD_ISSET(b, &rs));

	drv_set_ready(d, ZSOCK_POLLOUT);
	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(fd, &rs);
	ZSOCK_FD_ZERO(&ws);
	ZSOCK_FD_SET(fd, &ws);
	cr_assert_eq(zsock_select(fd + 1, &rs, &ws, NULL, &tv0), 1);
	cr_assert(!ZSOCK_FD_ISSET(fd, &rs));
	cr_assert(ZSOCK_FD_ISSET(fd, &ws));

	/* an error counts as readable */
	drv_set_ready(d, ZSOCK_POLLERR);
	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(fd, &rs);
	cr_assert_eq(zsock_select(fd + 1, &rs, NULL, NULL, &tv0), 1);
	cr_assert(ZSOCK_FD_ISSET(fd, &rs));

	/* blocked in select, woken by the driver's notify */
	drv_set_ready(d, 0);
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	updates = DGET(d, updates);
	t = zt_spawn(select_fn, &s);
	WAIT_FOR(DGET(d, nreg) >= 1 && DGET(d, updates) > updates);
	zt_sleep_ms(20);
	drv_set_ready(d, ZSOCK_POLLIN);
	cr_assert(zt_join(t, 25000), "select was not woken");
	cr_assert_eq(s.rc, 1, "select: %d, errno %d", s.rc, s.err);
	cr_assert(s.isset);

	/* a driver without poll support: select times out */
	nfd = off_socket(P_NOPOLL, &dn);
	ZSOCK_FD_ZERO(&rs);
	ZSOCK_FD_SET(nfd, &rs);
	ZSOCK_FD_ZERO(&ws);
	ZSOCK_FD_SET(nfd, &ws);
	cr_assert_eq(zsock_select(nfd + 1, &rs, &ws, NULL, &tv), 0);
	cr_assert(!ZSOCK_FD_ISSET(nfd, &rs));
	cr_assert(!ZSOCK_FD_ISSET(nfd, &ws));

	zt_close(nfd);
	zt_close(fd);
	zt_close(a);
	zt_close(b);
}

/* ======================================================================================
 * Interfaces
 * ====================================================================================== */

static int fake_create(int family, int type, int proto)
{
	(void)family;
	(void)type;
	(void)proto;
	errno = ENOSYS;
	return -1;
}

OFF_TEST(iface, add_offloaded_and_lookup)
{
	struct net_if *modem, *lo, *n15;

	errno = 0;
	modem = zsock_net_if_add_offloaded("modem");
	cr_assert_not_null(modem, "errno %d", errno);
	EXPECT_FAIL(zsock_net_if_add_offloaded("modem") == NULL ? -1 : 0, EEXIST);
	EXPECT_FAIL(zsock_net_if_add_offloaded("") == NULL ? -1 : 0, EINVAL);
	EXPECT_FAIL(zsock_net_if_add_offloaded("abcdefghijklmnop") == NULL ? -1 : 0, EINVAL);
	EXPECT_FAIL(zsock_net_if_add_offloaded(NULL) == NULL ? -1 : 0, EINVAL);
	n15 = zsock_net_if_add_offloaded("abcdefghijklmno");
	cr_assert_not_null(n15, "a 15-byte name: errno %d", errno);
	cr_assert_neq(n15, modem);

	cr_assert_eq(zsock_net_if_get_by_name("modem"), modem);
	cr_assert_eq(zsock_net_if_get_by_name("abcdefghijklmno"), n15);
	lo = zsock_net_if_get_by_name("lo");
	cr_assert_not_null(lo, "the engine's loopback is not found");
	cr_assert(lo != modem && lo != n15);
	cr_assert_eq(zsock_net_if_get_by_name("lo"), lo);
	cr_assert_null(zsock_net_if_get_by_name("nosuch"));
	cr_assert_null(zsock_net_if_get_by_name("mode"));
	cr_assert_null(zsock_net_if_get_by_name(""));
	cr_assert_null(zsock_net_if_get_by_name("abcdefghijklmnop"));
	cr_assert_null(zsock_net_if_get_by_name(NULL));
	/* the engine's name is taken */
	EXPECT_FAIL(zsock_net_if_add_offloaded("lo") == NULL ? -1 : 0, EEXIST);

	/* stored without effect here (the dispatcher uses it) */
	net_if_socket_offload_set(modem, fake_create);
	net_if_socket_offload_set(modem, NULL);
	net_if_socket_offload_set(lo, fake_create);
	net_if_socket_offload_set(lo, NULL);
	net_if_socket_offload_set(NULL, fake_create);
	cr_assert_eq(zsock_net_if_get_by_name("modem"), modem);
	cr_assert_eq(zsock_net_if_get_by_name("lo"), lo);
	assert_made("");
}

/* "lo" is the engine's before anybody looked it up. */
OFF_TEST(iface, engine_name_taken_before_lookup)
{
	struct net_if *lo;

	EXPECT_FAIL(zsock_net_if_add_offloaded("lo") == NULL ? -1 : 0, EEXIST);
	lo = zsock_net_if_get_by_name("lo");
	cr_assert_not_null(lo);
}

/*
 * A full table: ENOMEM; the engine's own interfaces are still found. (An
 * interface a build registers by itself, hostsock's "host", takes a slot.)
 */
OFF_TEST(iface, table_full)
{
	char name[16];
	struct net_if *first = NULL, *nif;
	int n = 0, pre;

	pre = zsock_net_if_get_by_name("host") != NULL;
	for (;;) {
		snprintf(name, sizeof(name), "modem%d", n);
		errno = 0;
		nif = zsock_net_if_add_offloaded(name);
		if (nif == NULL)
			break;
		if (first == NULL)
			first = nif;
		n++;
		cr_assert_leq(n, CONFIG_ZSOCK_OFFLOAD_IFACES, "more interfaces than the table holds");
	}
	cr_assert_eq(errno, ENOMEM, "%s: errno %d", name, errno);
	cr_assert_eq(n + pre, CONFIG_ZSOCK_OFFLOAD_IFACES, "%d added, %d there before, table %d", n,
		     pre, CONFIG_ZSOCK_OFFLOAD_IFACES);
	cr_assert_eq(zsock_net_if_get_by_name("modem0"), first);
	cr_assert_not_null(zsock_net_if_get_by_name("lo"),
			   "the engine's loopback is lost once drivers fill the table");
}
