/*
 * SO_SOCKS5: connect() through a SOCKS5 proxy (RFC 1928), with optional
 * username/password authentication (RFC 1929).
 *
 * The options live in s->opt like the other reactor-side options
 * (zs_socks5_set / zs_socks5_get run in the reactor, from sockopt.c).
 * connect_r (tcp.c) asks zs_socks5_redirect() whether the socket has a
 * proxy; if so the TCP connection goes to the proxy, and zs_tcp_connect()
 * runs zs_socks5_exchange() on the calling thread once it is up. The
 * exchange reads with exact lengths, so no byte after the proxy's reply is
 * consumed. Every reply is checked against strict bounds: a bad version,
 * reserved byte, address type or length, or a reply cut short, is EPROTO.
 * The checks are one pure function, zs_socks5_reply(), which says how many
 * bytes to read next and what a complete reply means; the exchange only
 * reads what it asks for (and fuzz/fuzz_socks5.c calls it directly).
 */
#include "engine/sock/sock.h"

#include <errno.h>
#include <string.h>

#include <zsock/socket.h>

#define SOCKS5_VER        0x05
#define AUTH_VER          0x01 /* RFC 1929 sub-negotiation */
#define METHOD_NONE       0x00
#define METHOD_USERPASS   0x02
#define METHOD_REFUSED    0xff
#define CMD_CONNECT       0x01
#define ATYP_IPV4         0x01
#define ATYP_DOMAIN       0x03
#define ATYP_IPV6         0x04

/* ---- options (reactor) ------------------------------------------------------------ */

/*
 * Credentials live apart from the socket, in CONFIG_ZSOCK_SOCKS5_AUTH_MAX
 * slots: few sockets connect through a proxy with a password, and 510
 * bytes in every socket would double its size on a microcontroller.
 * Reactor only, like the options.
 */
struct s5_auth {
	bool used;
	uint8_t ulen, plen;
	char user[255], pass[255];
};
static struct s5_auth auths[CONFIG_ZSOCK_SOCKS5_AUTH_MAX];

static struct s5_auth *auth_of(const struct zs_sockopts *o)
{
	return o->socks5_auth != 0 ? &auths[o->socks5_auth - 1] : NULL;
}

void zs_socks5_release(struct zs_sock *s)
{
	struct s5_auth *a = auth_of(&s->opt);

	ZS_ASSERT_REACTOR();
	if (a != NULL) {
		memset(a, 0, sizeof(*a));
		s->opt.socks5_auth = 0;
	}
}

/* The socket's slot, or a free one (NULL: none left). */
static struct s5_auth *auth_take(struct zs_sock *s)
{
	struct s5_auth *a = auth_of(&s->opt);

	for (int i = 0; a == NULL && i < CONFIG_ZSOCK_SOCKS5_AUTH_MAX; i++) {
		if (!auths[i].used) {
			a = &auths[i];
			a->used = true;
			s->opt.socks5_auth = (uint8_t)(i + 1);
		}
	}
	return a;
}

int zs_socks5_set(struct zs_sock *s, int name, const void *val, socklen_t len)
{
	struct zs_sockopts *o = &s->opt;

	if (s->type != SOCK_STREAM)
		return -ENOPROTOOPT;
	if (name == ZSOCK_SO_SOCKS5) {
		ip_addr_t ip;
		uint16_t port;
		int rc;

		if (len == 0) {
			o->socks5_on = false;
			return 0;
		}
		rc = zs_addr_from_sockaddr(s, val, len, &ip, &port);
		if (rc < 0)
			return rc;
		if (port == 0 || ip_addr_isany(&ip))
			return -EINVAL;
		o->socks5_ip = ip;
		o->socks5_port = port;
		o->socks5_on = true;
		return 0;
	}
	if (name == ZSOCK_SO_SOCKS5_AUTH) {
		struct zsock_socks5_auth a;
		struct s5_auth *slot;
		size_t ul, pl;

		if (len == 0) {
			zs_socks5_release(s);
			return 0;
		}
		if ((int)len < (int)sizeof(a))
			return -EINVAL;
		memcpy(&a, val, sizeof(a));
		ul = strnlen(a.user, sizeof(a.user));
		pl = strnlen(a.pass, sizeof(a.pass));
		if (ul == 0) {
			zs_socks5_release(s);
			memset(&a, 0, sizeof(a));
			return 0;
		}
		if (ul > 255 || pl == 0 || pl > 255) {
			memset(&a, 0, sizeof(a));
			return -EINVAL;
		}
		slot = auth_take(s);
		if (slot == NULL) {
			memset(&a, 0, sizeof(a));
			return -ENOMEM;
		}
		memset(slot->pass, 0, sizeof(slot->pass));
		memcpy(slot->user, a.user, ul);
		memcpy(slot->pass, a.pass, pl);
		slot->ulen = (uint8_t)ul;
		slot->plen = (uint8_t)pl;
		memset(&a, 0, sizeof(a));
		return 0;
	}
	return -ENOPROTOOPT;
}

int zs_socks5_get(struct zs_sock *s, int name, void *val, socklen_t *len)
{
	const struct zs_sockopts *o = &s->opt;

	if (s->type != SOCK_STREAM)
		return -ENOPROTOOPT;
	if (name == ZSOCK_SO_SOCKS5) {
		if (!o->socks5_on) {
			*len = 0; /* as SO_BINDTODEVICE: nothing set, nothing stored */
			return 0;
		}
		zs_addr_to_sockaddr(s->family, &o->socks5_ip, o->socks5_port, val, len);
		return 0;
	}
	if (name == ZSOCK_SO_SOCKS5_AUTH) {
		struct zsock_socks5_auth a;

		const struct s5_auth *slot = auth_of(o);

		if ((int)*len < (int)sizeof(a))
			return -EINVAL;
		memset(&a, 0, sizeof(a));
		if (slot != NULL)
			memcpy(a.user, slot->user, slot->ulen); /* never the password */
		memcpy(val, &a, sizeof(a));
		*len = sizeof(a);
		return 0;
	}
	return -ENOPROTOOPT;
}

bool zs_socks5_redirect(struct zs_sock *s, struct zs_socks5_req *r, ip_addr_t *ip,
			uint16_t *port)
{
	const struct zs_sockopts *o = &s->opt;

	ZS_ASSERT_REACTOR();
	if (s->type != SOCK_STREAM || !o->socks5_on)
		return false;
	r->dest_ip = *ip;
	r->dest_port = *port;
	r->ulen = r->plen = 0;
	if (auth_of(o) != NULL) {
		r->ulen = auth_of(o)->ulen;
		r->plen = auth_of(o)->plen;
		memcpy(r->user, auth_of(o)->user, r->ulen);
		memcpy(r->pass, auth_of(o)->pass, r->plen);
	}
	*ip = o->socks5_ip;
	*port = o->socks5_port;
	return true;
}

/* ---- the exchange (application side) ------------------------------------------------ */

static bool s5_readable(struct zs_sock *s)
{
	return zs_ring_count(&s->rx) > 0 ||
	       (zs_sock_flags(s) & (ZS_SF_RX_EOF | ZS_SF_RX_SHUT | ZS_SF_DEAD | ZS_SF_CLOSED));
}

static bool s5_writable(struct zs_sock *s)
{
	return (!zs_ring_full(&s->tx) && zs_pool_in_use(&zs_tx_pool) < zs_tx_pool.count) ||
	       (zs_sock_flags(s) & (ZS_SF_TX_SHUT | ZS_SF_DEAD | ZS_SF_CLOSED));
}

/* The waits below map the deadline's -EAGAIN to ETIMEDOUT: connect()
 * through a proxy never returns EAGAIN or EINPROGRESS. */

static int send_all(struct zs_sock *s, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = zs_tcp_send(s, buf + sent, len - sent, ZSOCK_MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return n < 0 ? (int)n : -EPROTO;
		rc = zs_sock_wait(s, s5_writable, deadline, true);
		if (rc < 0)
			return rc == -EAGAIN ? -ETIMEDOUT : rc;
	}
	return 0;
}

/** Read exactly len bytes; the proxy closing first is a malformed reply. */
static int recv_exact(struct zs_sock *s, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { .iov_base = buf + got, .iov_len = len - got };
		ssize_t n = zs_tcp_recv(s, &iov, 1, ZSOCK_MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return -EPROTO; /* EOF inside a reply */
		if (n != -EAGAIN)
			return (int)n;
		rc = zs_sock_wait(s, s5_readable, deadline, false);
		if (rc < 0)
			return rc == -EAGAIN ? -ETIMEDOUT : rc;
	}
	return 0;
}

/** REP of a CONNECT reply -> errno (0 for success, EPROTO if unknown). */
static int rep_errno(uint8_t rep)
{
	switch (rep) {
	case 0x00: return 0;
	case 0x01: return ECONNREFUSED;  /* general failure */
	case 0x02: return EACCES;        /* not allowed by the ruleset */
	case 0x03: return ENETUNREACH;
	case 0x04: return EHOSTUNREACH;
	case 0x05: return ECONNREFUSED;
	case 0x06: return ETIMEDOUT;     /* TTL expired */
	case 0x07: return EOPNOTSUPP;    /* command not supported */
	case 0x08: return EAFNOSUPPORT;  /* address type not supported */
	default:   return EPROTO;
	}
}

/* see sock.h */
int zs_socks5_reply(enum zs_socks5_phase ph, const uint8_t *rep, size_t len, bool offered_auth,
		    bool *use_auth)
{
	switch (ph) {
	case ZS_S5_METHOD:
		/* VER METHOD */
		if (len < 2)
			return (int)(2 - len);
		if (rep[0] != SOCKS5_VER)
			return -EPROTO;
		if (rep[1] == METHOD_REFUSED)
			return -EACCES;
		if (rep[1] == METHOD_NONE) {
			*use_auth = false;
			return 0;
		}
		if (rep[1] != METHOD_USERPASS || !offered_auth)
			return -EPROTO; /* a method that was not offered */
		*use_auth = true;
		return 0;
	case ZS_S5_AUTH:
		/* RFC 1929: VER STATUS */
		if (len < 2)
			return (int)(2 - len);
		if (rep[0] != AUTH_VER)
			return -EPROTO;
		return rep[1] == 0 ? 0 : -EACCES;
	case ZS_S5_CONNECT: {
		/* VER REP RSV ATYP BND.ADDR BND.PORT */
		size_t total;
		int e;

		if (len < 4)
			return (int)(4 - len);
		if (rep[0] != SOCKS5_VER || rep[2] != 0x00)
			return -EPROTO;
		e = rep_errno(rep[1]);
		if (e != 0)
			return -e; /* the proxy closes now; what follows is not read */
		switch (rep[3]) {
		case ATYP_IPV4:
			total = 4 + 4 + 2;
			break;
		case ATYP_IPV6:
			total = 4 + 16 + 2;
			break;
		case ATYP_DOMAIN:
			if (len < 5)
				return 1;
			if (rep[4] == 0)
				return -EPROTO;
			total = 5 + (size_t)rep[4] + 2; /* <= ZS_SOCKS5_REPLY_MAX */
			break;
		default:
			return -EPROTO;
		}
		return len < total ? (int)(total - len) : 0;
	}
	}
	return -EINVAL;
}

/* Read one reply of phase ph into buf (ZS_SOCKS5_REPLY_MAX bytes), exactly
 * as many bytes as zs_socks5_reply() asks for, and return its verdict. */
static int read_reply(struct zs_sock *s, enum zs_socks5_phase ph, bool offered_auth,
		      bool *use_auth, int64_t deadline)
{
	uint8_t buf[ZS_SOCKS5_REPLY_MAX];
	size_t len = 0;
	int need, rc;

	while ((need = zs_socks5_reply(ph, buf, len, offered_auth, use_auth)) > 0) {
		rc = recv_exact(s, buf + len, (size_t)need, deadline);
		if (rc < 0)
			return rc;
		len += (size_t)need;
	}
	return need;
}

static int negotiate(struct zs_sock *s, const struct zs_socks5_req *r, int64_t deadline)
{
	uint8_t msg[3 + 2 * 255];
	size_t n = 0;
	bool use_auth = false;
	int rc;

	msg[n++] = SOCKS5_VER;
	if (r->ulen > 0) {
		msg[n++] = 2;
		msg[n++] = METHOD_NONE;
		msg[n++] = METHOD_USERPASS;
	} else {
		msg[n++] = 1;
		msg[n++] = METHOD_NONE;
	}
	rc = send_all(s, msg, n, deadline);
	if (rc == 0)
		rc = read_reply(s, ZS_S5_METHOD, r->ulen > 0, &use_auth, deadline);
	if (rc < 0 || !use_auth)
		return rc;

	/* RFC 1929: VER ULEN UNAME PLEN PASSWD -> VER STATUS */
	n = 0;
	msg[n++] = AUTH_VER;
	msg[n++] = r->ulen;
	memcpy(msg + n, r->user, r->ulen);
	n += r->ulen;
	msg[n++] = r->plen;
	memcpy(msg + n, r->pass, r->plen);
	n += r->plen;
	rc = send_all(s, msg, n, deadline);
	memset(msg, 0, sizeof(msg));
	if (rc == 0)
		rc = read_reply(s, ZS_S5_AUTH, true, &use_auth, deadline);
	return rc;
}

static int request(struct zs_sock *s, const struct zs_socks5_req *r, int64_t deadline)
{
	uint8_t msg[4 + 16 + 2];
	size_t n = 0;
	bool unused;
	int rc;

	msg[n++] = SOCKS5_VER;
	msg[n++] = CMD_CONNECT;
	msg[n++] = 0x00; /* RSV */
	if (IP_IS_V6(&r->dest_ip)) {
		msg[n++] = ATYP_IPV6;
		memcpy(msg + n, ip_2_ip6(&r->dest_ip)->addr, 16); /* network order */
		n += 16;
	} else {
		uint32_t a = ip4_addr_get_u32(ip_2_ip4(&r->dest_ip));

		msg[n++] = ATYP_IPV4;
		memcpy(msg + n, &a, 4);
		n += 4;
	}
	msg[n++] = (uint8_t)(r->dest_port >> 8);
	msg[n++] = (uint8_t)r->dest_port;
	rc = send_all(s, msg, n, deadline);
	if (rc < 0)
		return rc;
	return read_reply(s, ZS_S5_CONNECT, false, &unused, deadline);
}

int zs_socks5_exchange(struct zs_sock *s, const struct zs_socks5_req *r, int64_t deadline)
{
	int rc = negotiate(s, r, deadline);

	return rc < 0 ? rc : request(s, r, deadline);
}
