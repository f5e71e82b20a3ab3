/*
 * Socket options of native (lwIP) sockets. docs/options.md lists each one
 * with its effect, default and errors.
 *
 * Options held in atomics (the timeouts, SO_ERROR, the flag bits) are read
 * and written by the calling thread. Everything else lives in s->opt and is
 * touched by the reactor only: getsockopt/setsockopt run there through
 * zs_reactor_call(), store the value and push it onto the PCB at once. The
 * same state is pushed onto every PCB the socket gets later
 * (zs_sockopt_apply from open, listen and a new connect) and copied to
 * accepted sockets (zs_sockopt_inherit), so a value set before bind,
 * listen or a failed connect is not lost.
 */
#include "engine/optval.h"
#include "engine/sock/sock.h"
#include "engine/netif/netifs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lwip/igmp.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#define DEFAULT_TTL        64   /* Linux's ip_default_ttl and hop limit */
#define DEFAULT_MCAST_TTL  1
#define DEFAULT_KEEPIDLE   7200 /* s, as Linux (and lwIP) */
#define DEFAULT_KEEPINTVL  75
#define DEFAULT_KEEPCNT    9
#define MAX_KEEP_S         32767 /* Linux's MAX_TCP_KEEPIDLE / KEEPINTVL */
#define MAX_KEEPCNT        127
#define MAX_PRIORITY       7    /* Zephyr: NET_MAX_PRIORITIES - 1 */

void zs_sockopt_init(struct zs_sock *s)
{
	struct zs_sockopts *o = &s->opt;

	memset(o, 0, sizeof(*o));
	o->rcvbuf = TCP_WND;
	o->sndbuf = TCP_SND_BUF;
	o->v6only = true;
	o->rcvlowat = 1;
	o->sndlowat = 1;
	o->keep_idle = DEFAULT_KEEPIDLE;
	o->keep_intvl = DEFAULT_KEEPINTVL;
	o->keep_cnt = DEFAULT_KEEPCNT;
	o->ttl = DEFAULT_TTL;
	o->mcast_ttl = DEFAULT_MCAST_TTL;
}

/* ---- applying to PCBs (reactor) ---------------------------------------------- */

/* so_options, tos, ttl and the bound netif: common to every PCB kind */
#define APPLY_IP(pcb, o, on, off)                                                \
	do {                                                                     \
		(pcb)->so_options = (u8_t)(((pcb)->so_options & ~(off)) | (on)); \
		(pcb)->tos = (u8_t)(o)->tos;                                     \
		(pcb)->ttl = (u8_t)(o)->ttl;                                     \
		(pcb)->netif_idx = (o)->netif_idx;                               \
	} while (0)

void zs_sockopt_apply(struct zs_sock *s)
{
	const struct zs_sockopts *o = &s->opt;
	uint32_t f = zs_sock_flags(s);
	u8_t reuse = ((f & ZS_SF_REUSEADDR) || o->reuseport) ? SOF_REUSEADDR : 0;

	ZS_ASSERT_REACTOR();
	if (s->pcb.any == NULL)
		return;
	if (s->type == SOCK_STREAM) {
		struct tcp_pcb *pcb = s->pcb.tcp;
		u8_t ka = o->keepalive ? SOF_KEEPALIVE : 0;

		if (pcb->state == LISTEN) {
			/* a smaller struct: only the common IP part exists */
			struct tcp_pcb_listen *lpcb = (struct tcp_pcb_listen *)pcb;

			APPLY_IP(lpcb, o, reuse | ka, SOF_REUSEADDR | SOF_KEEPALIVE);
			return;
		}
		APPLY_IP(pcb, o, reuse | ka, SOF_REUSEADDR | SOF_KEEPALIVE);
		pcb->keep_idle = (u32_t)o->keep_idle * 1000u;
		pcb->keep_intvl = (u32_t)o->keep_intvl * 1000u;
		pcb->keep_cnt = (u32_t)o->keep_cnt;
		if (f & ZS_SF_NODELAY)
			tcp_nagle_disable(pcb);
		else
			tcp_nagle_enable(pcb);
	} else {
		struct udp_pcb *pcb = s->pcb.udp;
		u8_t bc = o->broadcast ? SOF_BROADCAST : 0;

		APPLY_IP(pcb, o, reuse | bc, SOF_REUSEADDR | SOF_BROADCAST);
		udp_set_multicast_ttl(pcb, (u8_t)o->mcast_ttl);
	}
}

void zs_sockopt_inherit(struct zs_sock *c, struct zs_sock *l)
{
	ZS_ASSERT_REACTOR();
	c->opt = l->opt;
	c->opt.mcast_n = 0; /* memberships belong to the socket that joined */
	c->opt.socks5_on = false; /* a proxy is for connecting; no secrets copied */
	c->opt.socks5_auth = 0;    /* the listener's slot stays the listener's */
	if (zs_sock_flags(l) & ZS_SF_NODELAY)
		zs_sock_set(c, ZS_SF_NODELAY);
	zs_sockopt_apply(c);
}

bool zs_sockopt_close_abort(struct zs_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	uint32_t f = zs_sock_flags(s);

	ZS_ASSERT_REACTOR();
	if (s->type != SOCK_STREAM || !s->opt.linger_on || s->opt.linger_s != 0 || pcb == NULL)
		return false;
	if (!(f & ZS_SF_CONNECTED) || (f & ZS_SF_LISTENING) || pcb->state == LISTEN)
		return false;
	/* RST now. The callbacks go first, as in tcp.c's own abort on close:
	 * the socket is closing, not dead, so a call still blocked in it
	 * ends with EINTR, not with the abort's error. */
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	s->pcb.tcp = NULL;
	tcp_abort(pcb);
	zs_sock_reactor_release(s);
	return true;
}

void zs_sockopt_release(struct zs_sock *s)
{
	struct zs_sockopts *o = &s->opt;
	uint8_t i;

	ZS_ASSERT_REACTOR();
	for (i = 0; i < o->mcast_n; i++) {
		struct netif *n = netif_get_by_index(o->mcast[i].netif_idx);
		ip4_addr_t g;

		ip4_addr_set_u32(&g, o->mcast[i].group);
		if (n != NULL)
			igmp_leavegroup_netif(n, &g);
	}
	o->mcast_n = 0;
}

/* ---- value helpers --------------------------------------------------------------- */

/** An int option in [lo, hi]: 0, -EINVAL (short or out of range). */
static int get_range(const void *val, socklen_t len, int lo, int hi, int *v)
{
	int rc = zs_optval_get_int(val, len, v);

	if (rc < 0)
		return rc;
	return (*v < lo || *v > hi) ? -EINVAL : 0;
}

/* ---- multicast membership (reactor) ------------------------------------------- */

static struct netif *netif_by_ip4(uint32_t addr)
{
	struct netif *n;

	NETIF_FOREACH(n) {
		if (ip4_addr_get_u32(netif_ip4_addr(n)) == addr)
			return n;
	}
	return NULL;
}

static int membership(struct zs_sock *s, bool join, const void *val, socklen_t len)
{
	struct zs_sockopts *o = &s->opt;
	struct ip_mreqn m;
	struct netif *n = NULL;
	ip4_addr_t g;
	uint8_t i;
	err_t e;

	memset(&m, 0, sizeof(m));
	if ((int)len < (int)sizeof(struct ip_mreq))
		return -EINVAL;
	if (len >= (socklen_t)sizeof(struct ip_mreqn)) {
		memcpy(&m, val, sizeof(m));
	} else {
		struct ip_mreq r;

		memcpy(&r, val, sizeof(r));
		m.imr_multiaddr = r.imr_multiaddr;
		m.imr_address = r.imr_interface;
	}
	ip4_addr_set_u32(&g, m.imr_multiaddr.s_addr);
	if (!ip4_addr_ismulticast(&g))
		return -EINVAL;
	if (m.imr_ifindex != 0) {
		/* the index is lwIP's netif index (netif->num + 1) */
		if (m.imr_ifindex < 0 || m.imr_ifindex > 255 ||
		    (n = netif_get_by_index((u8_t)m.imr_ifindex)) == NULL)
			return -ENODEV;
	} else if (m.imr_address.s_addr != INADDR_ANY) {
		n = netif_by_ip4(m.imr_address.s_addr);
		if (n == NULL)
			return -ENODEV;
	} else if (join) {
		/* as Linux: the socket's device, else the route to the group */
		n = o->netif_idx != NETIF_NO_INDEX ? netif_get_by_index(o->netif_idx)
						   : ip4_route(&g);
		if (n == NULL)
			return -ENODEV;
	}
	for (i = 0; i < o->mcast_n; i++) {
		if (o->mcast[i].group == ip4_addr_get_u32(&g) &&
		    (n == NULL || o->mcast[i].netif_idx == netif_get_index(n)))
			break;
	}
	if (!join) {
		struct netif *jn;

		if (i == o->mcast_n)
			return -EADDRNOTAVAIL;
		jn = netif_get_by_index(o->mcast[i].netif_idx);
		if (jn != NULL)
			igmp_leavegroup_netif(jn, &g);
		o->mcast[i] = o->mcast[--o->mcast_n];
		return 0;
	}
	if (i < o->mcast_n)
		return -EADDRINUSE;
	if (o->mcast_n == ZS_SOCK_MCAST_MAX)
		return -ENOBUFS;
	e = igmp_joingroup_netif(n, &g);
	if (e == ERR_VAL)
		return -EADDRNOTAVAIL; /* the interface does not do IGMP */
	if (e == ERR_MEM)
		return -ENOBUFS; /* lwIP's group table (MEMP_NUM_IGMP_GROUP) is full */
	if (e != ERR_OK)
		return -zs_err_to_errno(e);
	o->mcast[o->mcast_n].group = ip4_addr_get_u32(&g);
	o->mcast[o->mcast_n].netif_idx = netif_get_index(n);
	o->mcast_n++;
	return 0;
}

/* ---- SO_BINDTODEVICE (reactor) --------------------------------------------------- */

static int bind_device(struct zs_sock *s, const void *val, socklen_t len)
{
	char name[ZS_SOCK_IFNAMSIZ];
	size_t n = (int)len < 0 ? 0 : (size_t)len;
	struct netif *nif = NULL;

	if (n > sizeof(name) - 1)
		n = sizeof(name) - 1; /* as Linux: at most IFNAMSIZ - 1 bytes */
	if (n > 0)
		memcpy(name, val, n);
	name[n] = '\0';
	if (name[0] != '\0') {
		nif = zs_netif_find(name);
		if (nif == NULL)
			return -ENODEV;
	}
	memcpy(s->opt.bind_dev, name, sizeof(name));
	s->opt.netif_idx = nif != NULL ? netif_get_index(nif) : NETIF_NO_INDEX;
	return 0;
}

static int put_device(struct zs_sock *s, void *val, socklen_t *len)
{
	size_t n = strlen(s->opt.bind_dev);

	if (n == 0) {
		*len = 0; /* as Linux: not bound, nothing stored */
		return 0;
	}
	if ((size_t)*len < n + 1)
		return -EINVAL;
	memcpy(val, s->opt.bind_dev, n + 1);
	*len = (socklen_t)(n + 1);
	return 0;
}

/* ---- get / set in the reactor ------------------------------------------------------ */

struct opt_args {
	struct zs_sock *s;
	int level, name;
	void *oval;          /* get */
	socklen_t *olen;
	const void *ival;    /* set */
	socklen_t ilen;
};

static int get_r(void *p)
{
	struct opt_args *a = p;
	struct zs_sock *s = a->s;
	const struct zs_sockopts *o = &s->opt;

	switch (a->level) {
	case SOL_SOCKET:
		switch (a->name) {
		case SO_RCVBUF:     return zs_optval_put_int(a->oval, a->olen, o->rcvbuf);
		case SO_SNDBUF:     return zs_optval_put_int(a->oval, a->olen, o->sndbuf);
		case SO_REUSEPORT:  return zs_optval_put_int(a->oval, a->olen, o->reuseport);
		case SO_KEEPALIVE:  return zs_optval_put_int(a->oval, a->olen, o->keepalive);
		case SO_BROADCAST:  return zs_optval_put_int(a->oval, a->olen, o->broadcast);
		case SO_PRIORITY:   return zs_optval_put_int(a->oval, a->olen, o->priority);
		case SO_BINDTODEVICE: return put_device(s, a->oval, a->olen);
		case SO_DEBUG:      return zs_optval_put_int(a->oval, a->olen, o->debug);
		case SO_DONTROUTE:  return zs_optval_put_int(a->oval, a->olen, o->dontroute);
		case SO_OOBINLINE:  return zs_optval_put_int(a->oval, a->olen, o->oobinline);
		case SO_RCVLOWAT:   return zs_optval_put_int(a->oval, a->olen, o->rcvlowat);
		case SO_SNDLOWAT:   return zs_optval_put_int(a->oval, a->olen, o->sndlowat);
		case ZSOCK_SO_SOCKS5:
		case ZSOCK_SO_SOCKS5_AUTH:
			return zs_socks5_get(s, a->name, a->oval, a->olen);
		case SO_LINGER: {
			struct linger l = { .l_onoff = o->linger_on, .l_linger = o->linger_s };

			if ((int)*a->olen < (int)sizeof(l))
				return -EINVAL;
			memcpy(a->oval, &l, sizeof(l));
			*a->olen = sizeof(l);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	case IPPROTO_TCP:
		switch (a->name) {
		case TCP_KEEPIDLE:  return zs_optval_put_int(a->oval, a->olen, o->keep_idle);
		case TCP_KEEPINTVL: return zs_optval_put_int(a->oval, a->olen, o->keep_intvl);
		case TCP_KEEPCNT:   return zs_optval_put_int(a->oval, a->olen, o->keep_cnt);
		default:            return -ENOPROTOOPT;
		}
	case IPPROTO_IP:
		switch (a->name) {
		case IP_TOS:           return zs_optval_put_int(a->oval, a->olen, o->tos);
		case IP_TTL:           return zs_optval_put_int(a->oval, a->olen, o->ttl);
		case IP_MULTICAST_TTL: return zs_optval_put_int(a->oval, a->olen, o->mcast_ttl);
		default:               return -ENOPROTOOPT;
		}
	case IPPROTO_IPV6:
		switch (a->name) {
		case IPV6_V6ONLY:       return zs_optval_put_int(a->oval, a->olen, o->v6only);
		case IPV6_TCLASS:       return zs_optval_put_int(a->oval, a->olen, o->tos);
		case IPV6_UNICAST_HOPS: return zs_optval_put_int(a->oval, a->olen, o->ttl);
		default:                return -ENOPROTOOPT;
		}
	default:
		return -ENOPROTOOPT;
	}
}

static int set_sol_socket(struct zs_sock *s, int name, const void *val, socklen_t len)
{
	struct zs_sockopts *o = &s->opt;
	int v, rc;

	switch (name) {
	case SO_RCVBUF:
	case SO_SNDBUF:
		rc = get_range(val, len, 0, INT_MAX, &v);
		if (rc == 0)
			*(name == SO_RCVBUF ? &o->rcvbuf : &o->sndbuf) = v;
		return rc;
	case SO_REUSEPORT:
	case SO_KEEPALIVE:
	case SO_BROADCAST:
	case SO_DEBUG:
	case SO_DONTROUTE:
	case SO_OOBINLINE: {
		bool *b = name == SO_REUSEPORT ? &o->reuseport :
			  name == SO_KEEPALIVE ? &o->keepalive :
			  name == SO_BROADCAST ? &o->broadcast :
			  name == SO_DEBUG     ? &o->debug :
			  name == SO_DONTROUTE ? &o->dontroute : &o->oobinline;

		rc = zs_optval_get_int(val, len, &v);
		if (rc == 0)
			*b = v != 0;
		return rc;
	}
	case SO_RCVLOWAT:
	case SO_SNDLOWAT:
		rc = zs_optval_get_int(val, len, &v);
		if (rc == 0) {
			/* as Linux's SO_RCVLOWAT: negative is "all", 0 is 1 */
			v = v < 0 ? INT_MAX : (v == 0 ? 1 : v);
			*(name == SO_RCVLOWAT ? &o->rcvlowat : &o->sndlowat) = v;
		}
		return rc;
	case SO_PRIORITY:
		rc = get_range(val, len, 0, MAX_PRIORITY, &v);
		if (rc == 0)
			o->priority = v;
		return rc;
	case SO_LINGER: {
		struct linger l;

		if ((int)len < (int)sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		/* as Linux: l_onoff 0 keeps the old l_linger */
		o->linger_on = l.l_onoff != 0;
		if (l.l_onoff)
			o->linger_s = l.l_linger < 0 ? INT_MAX : l.l_linger;
		return 0;
	}
	case SO_BINDTODEVICE:
		return bind_device(s, val, len);
	case ZSOCK_SO_SOCKS5:
	case ZSOCK_SO_SOCKS5_AUTH:
		return zs_socks5_set(s, name, val, len);
	default:
		return -ENOPROTOOPT;
	}
}

static int set_r(void *p)
{
	struct opt_args *a = p;
	struct zs_sock *s = a->s;
	struct zs_sockopts *o = &s->opt;
	const void *val = a->ival;
	socklen_t len = a->ilen;
	int v, rc;

	switch (a->level) {
	case SOL_SOCKET:
		rc = set_sol_socket(s, a->name, val, len);
		break;
	case IPPROTO_TCP:
		switch (a->name) {
		case TCP_KEEPIDLE:
			rc = get_range(val, len, 1, MAX_KEEP_S, &v);
			if (rc == 0)
				o->keep_idle = v;
			break;
		case TCP_KEEPINTVL:
			rc = get_range(val, len, 1, MAX_KEEP_S, &v);
			if (rc == 0)
				o->keep_intvl = v;
			break;
		case TCP_KEEPCNT:
			rc = get_range(val, len, 1, MAX_KEEPCNT, &v);
			if (rc == 0)
				o->keep_cnt = v;
			break;
		default:
			return -ENOPROTOOPT;
		}
		break;
	case IPPROTO_IP:
		switch (a->name) {
		case IP_TOS:
			rc = zs_optval_get_int(val, len, &v);
			if (rc == 0)
				o->tos = v & 0xff;
			break;
		case IP_TTL:
			rc = get_range(val, len, -1, 255, &v);
			if (rc == 0 && v == 0)
				rc = -EINVAL;
			if (rc == 0)
				o->ttl = v < 0 ? DEFAULT_TTL : v;
			break;
		case IP_MULTICAST_TTL:
			if (s->type == SOCK_STREAM)
				return -EINVAL; /* as Linux */
			rc = get_range(val, len, -1, 255, &v);
			if (rc == 0)
				o->mcast_ttl = v < 0 ? DEFAULT_MCAST_TTL : v;
			break;
		case IP_ADD_MEMBERSHIP:
		case IP_DROP_MEMBERSHIP:
			if (s->type == SOCK_STREAM)
				return -EPROTO; /* as Linux */
			return membership(s, a->name == IP_ADD_MEMBERSHIP, val, len);
		default:
			return -ENOPROTOOPT;
		}
		break;
	case IPPROTO_IPV6:
		switch (a->name) {
		case IPV6_V6ONLY:
			rc = zs_optval_get_int(val, len, &v);
			if (rc == 0 && (zs_sock_flags(s) & ZS_SF_BOUND))
				rc = -EINVAL; /* as Linux: fixed once bound */
			if (rc == 0)
				o->v6only = v != 0;
			break;
		case IPV6_TCLASS:
			rc = get_range(val, len, -1, 255, &v);
			if (rc == 0)
				o->tos = v < 0 ? 0 : v;
			break;
		case IPV6_UNICAST_HOPS:
			rc = get_range(val, len, -1, 255, &v);
			if (rc == 0)
				o->ttl = v < 0 ? DEFAULT_TTL : v;
			break;
		default:
			return -ENOPROTOOPT;
		}
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (rc == 0)
		zs_sockopt_apply(s);
	return rc;
}

/** Levels this socket answers to: 0, or -ENOPROTOOPT. */
static int level_ok(const struct zs_sock *s, int level)
{
	switch (level) {
	case SOL_SOCKET:   return 0;
	case IPPROTO_TCP:  return s->type == SOCK_STREAM ? 0 : -ENOPROTOOPT;
	case IPPROTO_IP:   return s->family == AF_INET ? 0 : -ENOPROTOOPT;
	case IPPROTO_IPV6: return s->family == AF_INET6 ? 0 : -ENOPROTOOPT;
	default:           return -ENOPROTOOPT;
	}
}

/* ---- entry points (any thread) ------------------------------------------------------ */

int zs_sockopt_get(struct zs_sock *s, int level, int name, void *val, socklen_t *len)
{
	struct opt_args a = { .s = s, .level = level, .name = name, .oval = val, .olen = len };
	uint32_t f = zs_sock_flags(s);
	int rc;

	if (val == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	rc = level_ok(s, level);
	if (rc < 0)
		return rc;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE:       return zs_optval_put_int(val, len, s->type);
		case SO_PROTOCOL:   return zs_optval_put_int(val, len, s->proto);
		case SO_DOMAIN:     return zs_optval_put_int(val, len, s->family);
		case SO_ACCEPTCONN: return zs_optval_put_int(val, len, !!(f & ZS_SF_LISTENING));
		case SO_REUSEADDR:  return zs_optval_put_int(val, len, !!(f & ZS_SF_REUSEADDR));
		case SO_ERROR:
			rc = zs_optval_put_int(val, len, atomic_load(&s->so_error));
			if (rc == 0)
				atomic_store(&s->so_error, 0);
			return rc;
		case SO_RCVTIMEO:   return zs_optval_put_timeo(val, len, atomic_load(&s->rcvtimeo_ms));
		case SO_SNDTIMEO:   return zs_optval_put_timeo(val, len, atomic_load(&s->sndtimeo_ms));
		default:            break;
		}
	}
	if (level == IPPROTO_TCP && name == TCP_NODELAY)
		return zs_optval_put_int(val, len, !!(f & ZS_SF_NODELAY));
	return zs_reactor_call(get_r, &a);
}

int zs_sockopt_set(struct zs_sock *s, int level, int name, const void *val, socklen_t len)
{
	struct opt_args a = { .s = s, .level = level, .name = name, .ival = val, .ilen = len };
	int v, rc;

	/* as Linux, SO_BINDTODEVICE with optlen 0 unbinds without reading;
	 * the SOCKS5 options take optlen 0 as "clear" the same way */
	if (val == NULL && !(level == SOL_SOCKET && len == 0 &&
			     (name == SO_BINDTODEVICE || name == ZSOCK_SO_SOCKS5 ||
			      name == ZSOCK_SO_SOCKS5_AUTH)))
		return -EFAULT;
	rc = level_ok(s, level);
	if (rc < 0)
		return rc;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVTIMEO:
			return zs_optval_get_timeo(val, len, &s->rcvtimeo_ms);
		case SO_SNDTIMEO:
			return zs_optval_get_timeo(val, len, &s->sndtimeo_ms);
		case SO_REUSEADDR:
			rc = zs_optval_get_int(val, len, &v);
			if (rc < 0)
				return rc;
			if (v)
				zs_sock_set(s, ZS_SF_REUSEADDR);
			else
				zs_sock_clear(s, ZS_SF_REUSEADDR);
			return 0; /* zs_tcp_bind / zs_udp_bind put it on the PCB */
		case SO_TYPE:
		case SO_PROTOCOL:
		case SO_DOMAIN:
		case SO_ERROR:
		case SO_ACCEPTCONN:
			return -ENOPROTOOPT; /* read-only, as on Linux */
		default:
			break;
		}
	}
	if (level == IPPROTO_TCP && name == TCP_NODELAY) {
		rc = zs_optval_get_int(val, len, &v);
		return rc < 0 ? rc : zs_tcp_set_nodelay(s, v != 0);
	}
	return zs_reactor_call(set_r, &a);
}
