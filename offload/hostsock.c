/*
 * hostsock: the host (Linux) kernel's sockets as zsock fds, an offload
 * driver written only against the public API (<zsock/socket_offload.h>),
 * as a third-party driver would be. Semantics for the user are in
 * <zsock/hostsock.h>; this comment is about how it works.
 *
 * Objects. A fixed pool of CONFIG_ZVFS_OPEN_MAX struct hs, handed out
 * next-fit (a freed slot is taken again only after every other free one,
 * see "Late calls" below). Each wraps one host fd, always O_NONBLOCK on the
 * host; the zsock-level blocking mode is the flag h->nonblock.
 *
 * Lifetime: h->refs counts the fd (1, dropped by close), zsock (1, from
 * z_finalize_fd to ZFD_IOCTL_RELEASE, after which no zsock call can reach
 * the object) and every call running in the driver (hs_enter / hs_put). The host fd is removed from
 * epoll and closed, and the slot freed, when refs reaches 0 (hs_release,
 * in whichever thread drops the last reference), so no call ever uses a
 * closed or reused host fd number. hs_enter refuses an object whose refs
 * is 0 or that is closing (EBADF).
 *
 * Close while a call blocks: hs_close sets h->closing, then, if any call
 * holds a reference, shuts the host socket down (SHUT_RDWR). A blocked
 * call sleeps in poll(2) on the host fd; the shutdown makes that fd ready
 * (POLLHUP/POLLIN/POLLOUT, for listening, connecting and unconnected UDP
 * sockets too), the call sees h->closing and fails with EINTR. closing is
 * stored before refs is read, and a call raises refs before it reads
 * closing (both seq_cst), so either the close sees the call and shuts the
 * socket down, or the call sees the close and gives up: no waiter can
 * sleep on a socket nobody will wake.
 *
 * Blocking calls: try the host call with MSG_DONTWAIT; on EAGAIN, and only
 * for a blocking socket, poll(2) the host fd for the direction needed
 * until the deadline taken from SO_RCVTIMEO / SO_SNDTIMEO at the start of
 * the call (kept here, in ms, 0 = forever); repeat. One function,
 * hs_xfer(), does every send and receive over a struct msghdr; a blocking
 * stream send (and MSG_WAITALL receive) steps through the iovecs without
 * copying them: a partly done iovec goes alone, the rest as a sub-array.
 *
 * Poll. zsock asks readiness with ZFD_IOCTL_POLL_UPDATE (poll(2) on the
 * host fd with timeout 0). While a zsock_poll() sleeps on the socket, it
 * has registered a zsock_poll_notify handle (POLL_PREPARE .. POLL_DONE,
 * at most HS_NOTIFY_MAX per socket, kept under h->lock). One watcher
 * thread for the whole driver, started by the first socket, sleeps in
 * epoll_wait() on every hostsock fd (EPOLLIN | EPOLLOUT | EPOLLRDHUP,
 * edge-triggered: one wake-up per change, never a busy loop) and calls
 * zsock_poll_notify() on every handle of a socket that got an event,
 * under h->lock, so a handle is never notified after its POLL_DONE. The
 * epoll tag is (generation << 32 | slot): the generation changes when the
 * slot is freed, so an event that was already on its way for a closed
 * socket never reaches the next socket in that slot.
 *
 * Locks: the adapter's lock (offload_fd.c, around PREPARE and DONE) ->
 * h->lock -> the wait queue lock inside zsock_poll_notify(); pool_lock
 * alone. No lock is held across a host call that can block.
 *
 * Late calls. <zsock/socket_offload.h> allows a call that started before
 * zsock_close() to enter the driver after hs_close has run (the adapter's
 * closed check and its call into the driver are not one step). zsock's
 * reference keeps the slot ours until ZFD_IOCTL_RELEASE, so such a call
 * meets this object, sees it closing and fails with EBADF; the slot can
 * go to a new socket only after the release.
 *
 * Departures from the project's style, deliberate: this file includes
 * <pthread.h> and calls the host's socket API directly rather than going
 * through engine/port/, because it is a driver for one host (Linux, for
 * epoll and accept4) written as an outsider would; and it keeps POSIX
 * returns (-1 + errno) at its edge, as the offload contract requires,
 * with -errno inside.
 */
#define _GNU_SOURCE
#ifndef ZSOCK_NO_POSIX_NAMES
#define ZSOCK_NO_POSIX_NAMES 1 /* this file uses the host's socket calls */
#endif
#include <zsock/hostsock.h>
#include <zsock/socket_offload.h>
#include <zsock/zsock_config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "offload/offload.h" /* zs_hostsock_create: the interface "host"'s handler */

/** hostsock objects: one per open fd at most, so the fd table's size. */
#define HS_MAX CONFIG_ZVFS_OPEN_MAX
/** zsock_poll_notify handles one socket holds at once (one per adapter
 *  today; more would come from several pollers of the socket). */
#define HS_NOTIFY_MAX 4
/** epoll events the watcher takes per epoll_wait(). */
#define HS_EVENTS_MAX 64
/** Longest timeout kept, ms (about 31 years): deadlines never overflow. */
#define HS_TIMEO_MAX_MS ((int64_t)1000 * 1000 * 1000 * 1000)

struct hs {
	_Atomic int refs;             /* the fd's 1 + one per call in the driver; 0: free */
	_Atomic bool closing;         /* hs_close ran */
	_Atomic bool nonblock;        /* zsock-level O_NONBLOCK */
	_Atomic int64_t rcvtimeo_ms;  /* SO_RCVTIMEO, 0 = forever */
	_Atomic int64_t sndtimeo_ms;  /* SO_SNDTIMEO, 0 = forever */
	/* written before refs goes 0 -> 1, constant while refs > 0 */
	int hfd;                      /* the host socket */
	int family;
	int type;                     /* SOCK_STREAM, SOCK_DGRAM, ... without flags */
	bool used;                    /* pool_lock */
	pthread_mutex_t lock;         /* gen, notify, nnotify */
	uint32_t gen;                 /* changes when the slot is freed */
	struct zsock_poll_notify *notify[HS_NOTIFY_MAX];
	int nnotify;
};

static struct hs pool[HS_MAX];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t pool_next;              /* next-fit cursor, pool_lock */
static unsigned int pool_in_use;      /* pool_lock */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;                  /* errno of a failed start, final */
static int epfd = -1;                 /* the watcher's epoll instance */

static const struct socket_op_vtable hs_vtable;

/* ---- helpers --------------------------------------------------------------- */

/* The POSIX edge: -errno becomes -1 + errno. */
static int posix_int(int rc)
{
	if (rc >= 0)
		return rc;
	errno = -rc;
	return -1;
}

static ssize_t posix_ssize(ssize_t rc)
{
	if (rc >= 0)
		return rc;
	errno = (int)-rc;
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline for a timeout in ms (0: none, -1). */
static int64_t deadline_of(int64_t timeout_ms)
{
	return timeout_ms == 0 ? -1 : now_ms() + timeout_ms;
}

/* ---- the pool and object lifetime ------------------------------------------ */

static void hs_release(struct hs *h)
{
	/* refs is 0: nothing uses hfd any more and nobody can enter again */
	epoll_ctl(epfd, EPOLL_CTL_DEL, h->hfd, NULL); /* ENOENT if never added */
	close(h->hfd);
	pthread_mutex_lock(&h->lock);
	h->gen++;      /* events still on their way are stale from here */
	h->nnotify = 0;
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&pool_lock);
	h->used = false;
	pool_in_use--;
	pthread_mutex_unlock(&pool_lock);
}

static void hs_put(struct hs *h)
{
	if (atomic_fetch_sub(&h->refs, 1) == 1)
		hs_release(h);
}

/* Take a call's reference; false (the caller fails with EBADF) when the
 * object is free or closing. */
static bool hs_enter(struct hs *h)
{
	int r = atomic_load(&h->refs);

	do {
		if (r <= 0)
			return false;
	} while (!atomic_compare_exchange_weak(&h->refs, &r, r + 1));
	if (atomic_load(&h->closing)) {
		hs_put(h);
		return false;
	}
	return true;
}

static __attribute__((warn_unused_result)) struct hs *hs_alloc(void)
{
	struct hs *h = NULL;
	size_t i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < HS_MAX; i++) {
		size_t k = (pool_next + i) % HS_MAX;

		if (!pool[k].used) {
			h = &pool[k];
			h->used = true;
			pool_in_use++;
			pool_next = (k + 1) % HS_MAX;
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return h;
}

/*
 * Make a zsock fd for host socket hfd, which this function owns from the
 * call on (closed on failure). Returns the fd or -errno (ENOMEM, ENFILE,
 * epoll_ctl's).
 */
static int hs_wrap(int hfd, int family, int type, bool nonblock, int64_t rcvtimeo,
		   int64_t sndtimeo)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct hs *h = hs_alloc();
	uint32_t gen;
	int fd, err;

	if (h == NULL) {
		close(hfd);
		return -ENOMEM;
	}
	h->hfd = hfd;
	h->family = family;
	h->type = type;
	atomic_store(&h->closing, false);
	atomic_store(&h->nonblock, nonblock);
	atomic_store(&h->rcvtimeo_ms, rcvtimeo);
	atomic_store(&h->sndtimeo_ms, sndtimeo);
	pthread_mutex_lock(&h->lock);
	gen = h->gen;
	h->nnotify = 0;
	pthread_mutex_unlock(&h->lock);
	atomic_store(&h->refs, 1); /* publishes the fields above: the fd's reference */

	fd = z_reserve_fd();
	if (fd < 0) {
		err = errno;
		hs_put(h); /* closes hfd */
		return -err;
	}
	ev.data.u64 = (uint64_t)gen << 32 | (uint64_t)(h - pool);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, hfd, &ev) < 0) {
		err = errno;
		z_free_fd(fd);
		hs_put(h);
		return -err;
	}
	atomic_fetch_add(&h->refs, 1); /* zsock's, until ZFD_IOCTL_RELEASE */
	z_finalize_fd(fd, h, &hs_vtable.fd_vtable);
	return fd;
}

/* ---- the watcher ------------------------------------------------------------- */

/* An event for tag: notify every poller of the socket, if it is still the
 * socket that was registered. */
static void hs_event(uint64_t tag)
{
	struct hs *h = &pool[(uint32_t)tag % HS_MAX];
	int i;

	pthread_mutex_lock(&h->lock);
	if (h->gen == (uint32_t)(tag >> 32)) {
		for (i = 0; i < h->nnotify; i++)
			zsock_poll_notify(h->notify[i]);
	}
	pthread_mutex_unlock(&h->lock);
}

static void *hs_watch(void *arg)
{
	struct epoll_event ev[HS_EVENTS_MAX];
	int i, n;

	(void)arg;
	for (;;) {
		n = epoll_wait(epfd, ev, HS_EVENTS_MAX, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL; /* EBADF/EINVAL: cannot happen with our own epfd */
		}
		for (i = 0; i < n; i++)
			hs_event(ev[i].data.u64);
	}
}

static void hs_init(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	size_t i;
	int rc;

	for (i = 0; i < HS_MAX; i++)
		pthread_mutex_init(&pool[i].lock, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		init_err = errno;
		return;
	}
	/* the watcher takes no signal: they stay the application's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, hs_watch, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(epfd);
		epfd = -1;
		init_err = rc;
	}
}

/* ---- waiting ----------------------------------------------------------------- */

/*
 * Sleep in poll(2) until the host fd shows ev (or an error or hang-up),
 * the deadline (ms, -1: none) passes (-EAGAIN), or the socket is closed
 * (-EINTR). 0: try the call again.
 */
static int hs_wait(struct hs *h, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = h->hfd, .events = ev };
	int ms, rc;

	for (;;) {
		if (atomic_load(&h->closing))
			return -EINTR;
		ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -EAGAIN;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return atomic_load(&h->closing) ? -EINTR : 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- data -------------------------------------------------------------------- */

enum hs_dir { HS_SEND, HS_RECV };

/* One host sendmsg / recvmsg that never blocks: bytes or -errno. */
static ssize_t host_io(struct hs *h, enum hs_dir dir, struct msghdr *m, int flags)
{
	ssize_t n;

	do {
		if (dir == HS_SEND)
			n = sendmsg(h->hfd, m, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = recvmsg(h->hfd, m, flags | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * Step *idx / *off past n more bytes of in's iovecs and point cur at what
 * is left (a partly done iovec alone, through *part). True when nothing is
 * left. Later calls carry no address or control data.
 */
static bool advance(const struct msghdr *in, struct msghdr *cur, struct iovec *part,
		    size_t *idx, size_t *off, size_t n)
{
	size_t i = *idx, o = *off, cnt = (size_t)in->msg_iovlen;

	while (i < cnt) {
		size_t room = in->msg_iov[i].iov_len - o;

		if (n < room) {
			o += n;
			break;
		}
		n -= room;
		i++;
		o = 0;
	}
	while (i < cnt && o == 0 && in->msg_iov[i].iov_len == 0)
		i++;
	*idx = i;
	*off = o;
	if (i == cnt)
		return true;
	cur->msg_name = NULL;
	cur->msg_namelen = 0;
	cur->msg_control = NULL;
	cur->msg_controllen = 0;
	cur->msg_flags = 0;
	if (o > 0) {
		part->iov_base = (char *)in->msg_iov[i].iov_base + o;
		part->iov_len = in->msg_iov[i].iov_len - o;
		cur->msg_iov = part;
		cur->msg_iovlen = 1;
	} else {
		cur->msg_iov = &in->msg_iov[i];
		cur->msg_iovlen = cnt - i;
	}
	return false;
}

/*
 * Every send and receive. in: the caller's message; out (receive only):
 * where the first call's msg_namelen, msg_controllen and msg_flags go
 * (later calls' flags are or-ed in). Returns bytes or -errno; the caller
 * holds a reference.
 */
static ssize_t hs_xfer(struct hs *h, enum hs_dir dir, const struct msghdr *in,
		       struct msghdr *out, int flags)
{
	bool dontwait = (flags & MSG_DONTWAIT) || atomic_load(&h->nonblock);
	bool stream = h->type == SOCK_STREAM;
	/* keep going after partial progress: a blocking stream send, or a
	 * blocking stream receive with MSG_WAITALL (not with MSG_PEEK) */
	bool all = stream && !dontwait &&
		   (dir == HS_SEND || ((flags & MSG_WAITALL) && !(flags & MSG_PEEK)));
	int64_t deadline = deadline_of(atomic_load(dir == HS_SEND ? &h->sndtimeo_ms
								   : &h->rcvtimeo_ms));
	int hflags = flags & ~(MSG_DONTWAIT | (all ? MSG_WAITALL : 0));
	struct msghdr cur = *in;
	struct iovec part;
	size_t idx = 0, off = 0;
	bool first = true;
	ssize_t done = 0, n;
	int rc;

	for (;;) {
		n = host_io(h, dir, &cur, hflags);
		if (n >= 0) {
			if (out != NULL && first) {
				out->msg_namelen = cur.msg_namelen;
				out->msg_controllen = cur.msg_controllen;
				out->msg_flags = cur.msg_flags;
			} else if (out != NULL) {
				out->msg_flags |= cur.msg_flags;
			}
			first = false;
			if (dir == HS_RECV && n == 0 && done == 0 && atomic_load(&h->closing))
				return -EINTR; /* the close's shutdown, not the peer's EOF */
			done += n;
			/* n == 0: EOF on a receive; on a send, nothing to send (or
			 * a host that took nothing: never loop on it) */
			if (!all || n == 0 || advance(in, &cur, &part, &idx, &off, (size_t)n))
				return done;
			continue;
		}
		if (n == -EAGAIN && !dontwait) {
			rc = hs_wait(h, dir == HS_SEND ? POLLOUT : POLLIN, deadline);
			if (rc == 0)
				continue;
			n = rc;
		} else if (atomic_load(&h->closing)) {
			n = -EINTR; /* EPIPE and the like caused by the close's shutdown */
		}
		return done > 0 ? done : n;
	}
}

static ssize_t hs_sendto(void *obj, const void *buf, size_t len, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	struct hs *h = obj;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = {
		.msg_name = (void *)to,
		.msg_namelen = to != NULL ? tolen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	if (!hs_enter(h))
		return posix_ssize(-EBADF);
	n = hs_xfer(h, HS_SEND, &m, NULL, flags);
	hs_put(h);
	return posix_ssize(n);
}

static ssize_t hs_recvfrom(void *obj, void *buf, size_t len, int flags,
			   struct sockaddr *from, socklen_t *fromlen)
{
	struct hs *h = obj;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (from != NULL) {
		if (fromlen == NULL)
			return posix_ssize(-EINVAL); /* zsock's rule, as accept */
		m.msg_name = from;
		m.msg_namelen = *fromlen;
	}
	if (!hs_enter(h))
		return posix_ssize(-EBADF);
	n = hs_xfer(h, HS_RECV, &m, &m, flags);
	hs_put(h);
	if (n >= 0 && from != NULL)
		*fromlen = m.msg_namelen;
	return posix_ssize(n);
}

static ssize_t hs_sendmsg(void *obj, const struct msghdr *msg, int flags)
{
	struct hs *h = obj;
	ssize_t n;

	if (!hs_enter(h))
		return posix_ssize(-EBADF);
	n = hs_xfer(h, HS_SEND, msg, NULL, flags);
	hs_put(h);
	return posix_ssize(n);
}

static ssize_t hs_recvmsg(void *obj, struct msghdr *msg, int flags)
{
	struct hs *h = obj;
	ssize_t n;

	if (!hs_enter(h))
		return posix_ssize(-EBADF);
	n = hs_xfer(h, HS_RECV, msg, msg, flags);
	hs_put(h);
	return posix_ssize(n);
}

/* ---- connections ------------------------------------------------------------- */

static int hs_connect(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct hs *h = obj;
	socklen_t elen = sizeof(int);
	int rc, err = 0;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	rc = connect(h->hfd, addr, len) < 0 ? -errno : 0;
	if (rc == -EINPROGRESS && !atomic_load(&h->nonblock)) {
		rc = hs_wait(h, POLLOUT, deadline_of(atomic_load(&h->sndtimeo_ms)));
		if (rc == -EAGAIN)
			rc = -EINPROGRESS; /* as Linux: the handshake goes on */
		else if (rc == 0)
			rc = getsockopt(h->hfd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ? -errno
											  : -err;
		/* the handshake is done: connect() once more moves the host
		 * socket from "connecting" to "connected" (Linux answers 0), so
		 * that a later connect fails with EISCONN as after a blocking one */
		if (rc == 0 && connect(h->hfd, addr, len) < 0 && errno != EISCONN)
			rc = -errno;
	}
	hs_put(h);
	return posix_int(rc);
}

static int hs_accept(void *obj, struct sockaddr *addr, socklen_t *addrlen)
{
	struct hs *h = obj;
	int64_t deadline;
	int nfd, rc;

	/* checked here: the host would fail only after taking the connection */
	if (addr != NULL && addrlen == NULL)
		return posix_int(-EINVAL);
	if (!hs_enter(h))
		return posix_int(-EBADF);
	deadline = deadline_of(atomic_load(&h->rcvtimeo_ms));
	for (;;) {
		nfd = accept4(h->hfd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (nfd >= 0) {
			rc = hs_wrap(nfd, h->family, h->type, false, atomic_load(&h->rcvtimeo_ms),
				     atomic_load(&h->sndtimeo_ms));
			break;
		}
		rc = -errno;
		if (rc == -EINTR)
			continue;
		if (rc != -EAGAIN || atomic_load(&h->nonblock))
			break;
		rc = hs_wait(h, POLLIN, deadline);
		if (rc < 0)
			break;
	}
	if (rc < 0 && rc != -EAGAIN && atomic_load(&h->closing))
		rc = -EINTR; /* EINVAL from a listener the close shut down */
	hs_put(h);
	return posix_int(rc);
}

/* ---- calls that go straight to the host ----------------------------------------- */

static int hs_bind(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct hs *h = obj;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	rc = bind(h->hfd, addr, len) < 0 ? -errno : 0;
	hs_put(h);
	return posix_int(rc);
}

static int hs_listen(void *obj, int backlog)
{
	struct hs *h = obj;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	rc = listen(h->hfd, backlog) < 0 ? -errno : 0;
	hs_put(h);
	return posix_int(rc);
}

static int hs_shutdown(void *obj, int how)
{
	struct hs *h = obj;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	rc = shutdown(h->hfd, how) < 0 ? -errno : 0;
	hs_put(h);
	return posix_int(rc);
}

static int hs_getsockname(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct hs *h = obj;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	rc = getsockname(h->hfd, addr, len) < 0 ? -errno : 0;
	hs_put(h);
	return posix_int(rc);
}

static int hs_getpeername(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct hs *h = obj;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	rc = getpeername(h->hfd, addr, len) < 0 ? -errno : 0;
	hs_put(h);
	return posix_int(rc);
}

/* ---- options ----------------------------------------------------------------- */

static _Atomic int64_t *timeo_of(struct hs *h, int level, int name)
{
	if (level != SOL_SOCKET)
		return NULL;
	if (name == SO_RCVTIMEO)
		return &h->rcvtimeo_ms;
	if (name == SO_SNDTIMEO)
		return &h->sndtimeo_ms;
	return NULL;
}

static int hs_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	struct hs *h = obj;
	_Atomic int64_t *timeo = timeo_of(h, level, name);
	struct timeval tv;
	int64_t ms;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	if (timeo == NULL) {
		rc = setsockopt(h->hfd, level, name, val, len) < 0 ? -errno : 0;
	} else if (val == NULL) {
		rc = -EFAULT;
	} else if (len < sizeof(tv)) {
		rc = -EINVAL;
	} else {
		memcpy(&tv, val, sizeof(tv));
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
			rc = -EDOM;
		} else {
			if (tv.tv_sec >= HS_TIMEO_MAX_MS / 1000)
				ms = HS_TIMEO_MAX_MS;
			else
				ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
			atomic_store(timeo, ms);
			rc = 0;
		}
	}
	hs_put(h);
	return posix_int(rc);
}

static int hs_getsockopt(void *obj, int level, int name, void *val, socklen_t *len)
{
	struct hs *h = obj;
	_Atomic int64_t *timeo = timeo_of(h, level, name);
	struct timeval tv;
	int64_t ms;
	int rc;

	if (!hs_enter(h))
		return posix_int(-EBADF);
	if (timeo == NULL) {
		rc = getsockopt(h->hfd, level, name, val, len) < 0 ? -errno : 0;
	} else if (val == NULL || len == NULL) {
		rc = -EFAULT;
	} else if (*len < sizeof(tv)) {
		rc = -EINVAL;
	} else {
		ms = atomic_load(timeo);
		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
		memcpy(val, &tv, sizeof(tv));
		*len = sizeof(tv);
		rc = 0;
	}
	hs_put(h);
	return posix_int(rc);
}

/* ---- ioctl and poll ---------------------------------------------------------------- */

static int hs_poll_update(struct hs *h, struct zsock_pollfd *pfd)
{
	struct pollfd p = { .events = 0 };
	short rev = 0;

	if (!hs_enter(h)) {
		pfd->revents = ZSOCK_POLLNVAL;
		return 0;
	}
	p.fd = h->hfd;
	if (pfd->events & ZSOCK_POLLIN)
		p.events |= POLLIN;
	if (pfd->events & ZSOCK_POLLOUT)
		p.events |= POLLOUT;
	while (poll(&p, 1, 0) < 0) {
		if (errno != EINTR) {
			p.revents = POLLERR;
			break;
		}
	}
	hs_put(h);
	if (p.revents & POLLIN)
		rev |= ZSOCK_POLLIN;
	if (p.revents & POLLOUT)
		rev |= ZSOCK_POLLOUT;
	if (p.revents & POLLERR)
		rev |= ZSOCK_POLLERR;
	if (p.revents & POLLHUP)
		rev |= ZSOCK_POLLHUP;
	if (p.revents & POLLNVAL)
		rev |= ZSOCK_POLLNVAL;
	pfd->revents = rev & (pfd->events | ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLNVAL);
	return 0;
}

static int hs_poll_prepare(struct hs *h, struct zsock_poll_notify *n)
{
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	if (h->nnotify < HS_NOTIFY_MAX)
		h->notify[h->nnotify++] = n;
	else
		rc = -ENOMEM;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static int hs_poll_done(struct hs *h, struct zsock_poll_notify *n)
{
	int i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nnotify; i++) {
		if (h->notify[i] == n) {
			h->notify[i] = h->notify[--h->nnotify];
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int hs_ioctl(void *obj, unsigned int request, va_list args)
{
	struct hs *h = obj;
	int *ip, rc;

	switch (request) {
	case ZFD_IOCTL_FCNTL_GETFL:
		return O_RDWR | (atomic_load(&h->nonblock) ? O_NONBLOCK : 0);
	case ZFD_IOCTL_FCNTL_SETFL:
		atomic_store(&h->nonblock, (va_arg(args, int) & O_NONBLOCK) != 0);
		return 0;
	case FIONBIO:
		ip = va_arg(args, int *);
		atomic_store(&h->nonblock, *ip != 0);
		return 0;
	case FIONREAD:
		ip = va_arg(args, int *);
		if (!hs_enter(h))
			return posix_int(-EBADF);
		rc = ioctl(h->hfd, FIONREAD, ip) < 0 ? -errno : 0;
		hs_put(h);
		return posix_int(rc);
	case ZFD_IOCTL_POLL_UPDATE:
		return posix_int(hs_poll_update(h, va_arg(args, struct zsock_pollfd *)));
	case ZFD_IOCTL_POLL_PREPARE:
		return posix_int(hs_poll_prepare(h, va_arg(args, struct zsock_poll_notify *)));
	case ZFD_IOCTL_POLL_DONE:
		return posix_int(hs_poll_done(h, va_arg(args, struct zsock_poll_notify *)));
	case ZFD_IOCTL_RELEASE:
		hs_put(h); /* zsock's reference: no zsock call can reach h any more */
		return 0;
	default:
		return posix_int(-EOPNOTSUPP);
	}
}

/* ---- close ------------------------------------------------------------------------- */

static int hs_close(void *obj)
{
	struct hs *h = obj;

	atomic_store(&h->closing, true);
	pthread_mutex_lock(&h->lock);
	h->nnotify = 0; /* obj is dead for zsock: nobody is notified any more */
	pthread_mutex_unlock(&h->lock);
	/* calls in the driver (beyond the fd's and zsock's references): wake
	 * their poll(2); they fail with EINTR */
	if (atomic_load(&h->refs) > 2)
		shutdown(h->hfd, SHUT_RDWR);
	hs_put(h); /* the fd's reference: the host fd closes with the last one */
	return 0;
}

static const struct socket_op_vtable hs_vtable = {
	.fd_vtable = {
		.read = NULL,  /* zsock uses recvfrom */
		.write = NULL, /* and sendto */
		.close = hs_close,
		.ioctl = hs_ioctl,
	},
	.shutdown = hs_shutdown,
	.bind = hs_bind,
	.connect = hs_connect,
	.listen = hs_listen,
	.accept = hs_accept,
	.sendto = hs_sendto,
	.recvfrom = hs_recvfrom,
	.getsockopt = hs_getsockopt,
	.setsockopt = hs_setsockopt,
	.sendmsg = hs_sendmsg,
	.recvmsg = hs_recvmsg,
	.getpeername = hs_getpeername,
	.getsockname = hs_getsockname,
};

/* ---- entry points ------------------------------------------------------------------- */

/* see offload/offload.h */
int zs_hostsock_create(int family, int type, int proto)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int hfd, fd;

	pthread_once(&init_once, hs_init);
	if (init_err != 0) {
		errno = init_err;
		return -1;
	}
	hfd = socket(family, base | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (hfd < 0)
		return -1; /* the host's errno */
	fd = hs_wrap(hfd, family, base, (type & SOCK_NONBLOCK) != 0, 0, 0);
	return posix_int(fd);
}

/* see zsock/hostsock.h */
int zsock_hostsock_socket(int family, int type, int proto)
{
	return zs_hostsock_create(family, type, proto);
}

/* see zsock/hostsock.h */
unsigned int zsock_hostsock_in_use(void)
{
	unsigned int n;

	pthread_mutex_lock(&pool_lock);
	n = pool_in_use;
	pthread_mutex_unlock(&pool_lock);
	return n;
}
