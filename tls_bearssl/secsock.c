/*
 * The part of TLS and DTLS sockets that is the same for both; see
 * secsock.h. Each kind keeps its own limits (the lists' capacity, which
 * suites it knows) and its own options: the set and get functions here
 * answer -ENOPROTOOPT for those.
 */
#include "tls_bearssl/secsock.h"

#include <errno.h>
#include <string.h>

#include "engine/optval.h"
#include "engine/reactor/waitq.h"
#include "engine/sock/native.h"

/* see secsock.h */
int zs_secopt_set(struct zs_secopt *o, const struct zs_secopt_lists *l, int name,
		  const void *val, socklen_t len)
{
	size_t n, i;
	int v, rc;

	switch (name) {
	case TLS_SEC_TAG_LIST:
		if (len % sizeof(sec_tag_t) != 0)
			return -EINVAL;
		n = len / sizeof(sec_tag_t);
		if (n > CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS)
			return -EINVAL;
		if (n > 0)
			memcpy(o->tags, val, len);
		o->ntags = n;
		return 0;
	case TLS_HOSTNAME:
		if (val == NULL || len == 0) {
			o->has_host = false;
			o->host[0] = 0;
			return 0;
		}
		n = strnlen(val, len);
		if (n > ZS_SECOPT_HOST_MAX)
			return -EINVAL;
		memcpy(o->host, val, n);
		o->host[n] = 0;
		o->has_host = true;
		return 0;
	case TLS_CIPHERSUITE_LIST:
		if (len % sizeof(int) != 0)
			return -EINVAL;
		n = len / sizeof(int);
		if (n > l->suites_max)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			memcpy(&v, (const int *)val + i, sizeof(v));
			if (!l->suite_known(v))
				return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			memcpy(&v, (const int *)val + i, sizeof(v));
			l->suites[i] = (uint16_t)v;
		}
		o->nsuites = n;
		return 0;
	case TLS_PEER_VERIFY:
		rc = zs_optval_get_int(val, len, &v);
		if (rc < 0)
			return rc;
		if (v < TLS_PEER_VERIFY_NONE || v > TLS_PEER_VERIFY_REQUIRED)
			return -EINVAL;
		o->verify = v;
		return 0;
	case TLS_ALPN_LIST:
		if (len % sizeof(const char *) != 0)
			return -EINVAL;
		n = len / sizeof(const char *);
		if (n > l->alpn_max)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			const char *p;

			memcpy(&p, (const char *const *)val + i, sizeof(p));
			if (p == NULL || p[0] == 0 || strnlen(p, 256) > 255)
				return -EINVAL;
		}
		if (n > 0)
			memcpy(l->alpn, val, len);
		o->nalpn = n;
		return 0;
	case TLS_CERT_NOCOPY:
	case TLS_NATIVE:
	case TLS_SESSION_CACHE:
		rc = zs_optval_get_int(val, len, &v);
		if (rc < 0)
			return rc;
		if (v != 0 && v != 1)
			return -EINVAL;
		if (name == TLS_CERT_NOCOPY)
			o->nocopy = v;
		else if (name == TLS_NATIVE)
			o->native = v;
		else
			o->cache = v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

/* see secsock.h */
int zs_secopt_get(const struct zs_secopt *o, const struct zs_secopt_lists *l, bool server,
		  int name, void *val, socklen_t *len)
{
	const uint16_t *list = o->nsuites > 0 ? l->suites : l->suites_all;
	size_t total = o->nsuites > 0 ? o->nsuites : l->n_suites_all, n, i;

	switch (name) {
	case TLS_SEC_TAG_LIST:
		n = *len / sizeof(sec_tag_t);
		if (n > o->ntags)
			n = o->ntags;
		memcpy(val, o->tags, n * sizeof(sec_tag_t));
		*len = (socklen_t)(n * sizeof(sec_tag_t));
		return 0;
	case TLS_CIPHERSUITE_LIST:
		n = *len / sizeof(int);
		if (n > total)
			n = total;
		for (i = 0; i < n; i++) {
			int v = list[i];

			memcpy((int *)val + i, &v, sizeof(v));
		}
		*len = (socklen_t)(n * sizeof(int));
		return 0;
	case TLS_PEER_VERIFY:
		return zs_optval_put_int(val, len, zs_secopt_level(o, server));
	case TLS_ALPN_LIST:
		n = *len / sizeof(const char *);
		if (n > o->nalpn)
			n = o->nalpn;
		memcpy(val, l->alpn, n * sizeof(const char *));
		*len = (socklen_t)(n * sizeof(const char *));
		return 0;
	case TLS_CERT_NOCOPY:
		return zs_optval_put_int(val, len, o->nocopy);
	case TLS_NATIVE:
		return zs_optval_put_int(val, len, o->native);
	case TLS_SESSION_CACHE:
		return zs_optval_put_int(val, len, o->cache);
	case TLS_HOSTNAME:
		return -EINVAL; /* write only */
	default:
		return -ENOPROTOOPT;
	}
}

/* see secsock.h */
int zs_secopt_level(const struct zs_secopt *o, bool server)
{
	if (o->verify >= 0)
		return o->verify;
	return server ? TLS_PEER_VERIFY_NONE : TLS_PEER_VERIFY_REQUIRED;
}

/* see secsock.h */
void zs_secsock_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

/* see secsock.h */
int64_t zs_secsock_deadline(int32_t ms)
{
	return ms < 0 ? ZS_FOREVER : zs_port_now_ms() + ms;
}

/* see secsock.h */
int zs_secsock_wait(const struct zs_secsock_io *io, struct zs_lock *lock,
		    const _Atomic bool *closed, int events, int64_t until)
{
	struct zs_waiter *w = zs_waiter_self();
	struct zs_wait_node node, pool_node;
	bool pool = events & ZSOCK_POLLOUT;
	int ev, rc = 0;

	io->ivt->poll_link(io->inner, &node, w);
	if (pool) /* POLLOUT of a native socket also needs room in the tx pool */
		zs_waitq_add(zs_sock_pool_waitq(), &pool_node, w);
	zs_lock_give(lock);
	ev = io->ivt->poll_events(io->inner);
	if (!(ev & (events | ZSOCK_POLLERR | ZS_POLL_CLOSED)) && !atomic_load(closed))
		rc = zs_event_wait(&w->ev, until);
	zs_lock_take(lock);
	if (pool)
		zs_waitq_del(zs_sock_pool_waitq(), &pool_node);
	io->ivt->poll_unlink(io->inner, &node);
	return rc;
}

/* see secsock.h */
uint32_t zs_secsock_figure(void (*init)(void), struct zs_lock *lock, const uint32_t *counter)
{
	uint32_t n;

	init();
	zs_lock_take(lock);
	n = *counter;
	zs_lock_give(lock);
	return n;
}

/* see secsock.h */
int zs_secsock_setsockopt(const struct zs_secsock_edge *e, int level, int name,
			  const void *val, socklen_t len)
{
	_Atomic int32_t ms;
	int rc;

	if ((int)len < 0)
		return -EINVAL;
	if (level == SOL_TLS) {
		/* as the engine's sockets: a value the length says is there
		 * (TLS_HOSTNAME NULL means "none") */
		if (val == NULL && len > 0 && name != TLS_HOSTNAME)
			return -EFAULT;
		zs_lock_take(e->lock);
		rc = e->set_tls(e->obj, name, val, len);
		zs_lock_give(e->lock);
		return rc;
	}
	rc = e->io.ivt->setsockopt(e->io.inner, level, name, val, len);
	if (rc == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
	    zs_optval_get_timeo(val, len, &ms) == 0) {
		zs_lock_take(e->lock);
		if (name == SO_RCVTIMEO) {
			*e->rcvtimeo_ms = atomic_load(&ms);
		} else {
			*e->sndtimeo_ms = atomic_load(&ms);
			if (e->snd_clears != NULL)
				atomic_store(e->snd_clears, ZS_FOREVER);
		}
		zs_lock_give(e->lock);
	}
	return rc;
}

/* see secsock.h */
int zs_secsock_getsockopt(const struct zs_secsock_edge *e, int level, int name, void *val,
			  socklen_t *len)
{
	int rc;

	if (val == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (level == SOL_TLS) {
		zs_lock_take(e->lock);
		rc = e->get_tls(e->obj, name, val, len);
		zs_lock_give(e->lock);
		return rc;
	}
	if (level == SOL_SOCKET && name == SO_PROTOCOL)
		return zs_optval_put_int(val, len, e->proto);
	if (level == SOL_SOCKET && name == SO_ERROR) {
		zs_lock_take(e->lock);
		if (atomic_load(e->st) == e->failed && !*e->err_reported) {
			*e->err_reported = true;
			rc = zs_optval_put_int(val, len, -*e->err);
			zs_lock_give(e->lock);
			return rc;
		}
		zs_lock_give(e->lock);
	}
	return e->io.ivt->getsockopt(e->io.inner, level, name, val, len);
}

/* see secsock.h */
int zs_secsock_fcntl(const struct zs_secsock_io *io, struct zs_lock *lock, bool *nonblock,
		     int cmd, int flags)
{
	int rc = io->ivt->fcntl(io->inner, cmd, flags);

	if (rc >= 0 && cmd == F_SETFL) {
		zs_lock_take(lock);
		*nonblock = (flags & O_NONBLOCK) != 0;
		zs_lock_give(lock);
	}
	return rc;
}

/* see secsock.h */
bool zs_secsock_hold(const struct zs_secsock_io *io, struct zs_secsock_io *to)
{
	if (io->ivt->poll_wake == NULL)
		return false;
	io->ivt->ref(io->inner);
	*to = *io;
	return true;
}

/* see secsock.h */
void zs_secsock_wake_all(struct zs_secsock_io *held, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		held[i].ivt->poll_wake(held[i].inner);
		held[i].ivt->unref(held[i].inner);
	}
}

/* see secsock.h */
int zs_secsock_bind(void *obj, const struct sockaddr *addr, socklen_t len)
{
	const struct zs_secsock_io *io = obj;

	return io->ivt->bind(io->inner, addr, len);
}

/* see secsock.h */
int zs_secsock_getsockname(void *obj, struct sockaddr *addr, socklen_t *len)
{
	const struct zs_secsock_io *io = obj;

	return io->ivt->getsockname(io->inner, addr, len);
}

/* see secsock.h */
int zs_secsock_getpeername(void *obj, struct sockaddr *addr, socklen_t *len)
{
	const struct zs_secsock_io *io = obj;

	return io->ivt->getpeername(io->inner, addr, len);
}

/* see secsock.h */
void zs_secsock_poll_link(void *obj, struct zs_wait_node *node, struct zs_waiter *w)
{
	const struct zs_secsock_io *io = obj;

	io->ivt->poll_link(io->inner, node, w);
}

/* see secsock.h */
void zs_secsock_poll_unlink(void *obj, struct zs_wait_node *node)
{
	const struct zs_secsock_io *io = obj;

	io->ivt->poll_unlink(io->inner, node);
}

/* see secsock.h */
void zs_secsock_poll_wake(void *obj)
{
	const struct zs_secsock_io *io = obj;

	if (io->ivt->poll_wake != NULL)
		io->ivt->poll_wake(io->inner);
}
