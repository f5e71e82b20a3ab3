/*
 * UDP sockets.
 *
 * Receive: each datagram's pbuf chain is wrapped in rx headers (no copy)
 * with its source address in the head's meta, and queued on the rx ring;
 * recvfrom() copies it out once and hands the chain back through the done
 * ring. A full ring or pool drops the datagram and counts it (rx_drops), as
 * a full socket buffer does on any stack.
 *
 * Send: sendto() runs in the reactor while the caller waits, so lwIP's
 * verdict (EHOSTUNREACH, ENOMEM, EMSGSIZE) reaches the caller as it does on
 * Linux. Because the caller's buffer is pinned for the whole call, the
 * datagram is passed to lwIP as a PBUF_REF on it: zero copies in the
 * engine. lwIP copies a PBUF_REF itself if it must queue it (ARP pending).
 */
#include "engine/sock/sock.h"
#include "engine/stats.h"

#include <errno.h>
#include <string.h>

#include "lwip/udp.h"

#define UDP_MAX_V4 65507  /* 65535 - 20 (IPv4) - 8 (UDP) */
/* IPv6 allows 65527 (a 65535-byte payload), but lwIP keeps a packet's
 * length, headers included, in 16 bits (pbuf.tot_len): 65535 - 40 - 8.
 * A deliberate, documented deviation: larger sends fail with EMSGSIZE. */
#define UDP_MAX_V6 65487

/* Buffers in one zsock_sendto_buf() datagram (EMSGSIZE beyond): a 64 KiB
 * datagram at the default net_buf_data_size needs 45. */
#define ZS_UDP_BUF_MAX 64

static void on_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			const ip_addr_t *addr, u16_t port)
{
	struct zs_sock *s = arg;
	struct net_buf *head = NULL, *prev = NULL;
	struct pbuf *q;

	(void)pcb;
	if (s == NULL || (zs_sock_flags(s) & (ZS_SF_RX_SHUT | ZS_SF_CLOSED)))
		goto drop;
	if (!zs_sock_rx_room(s))
		goto drop;
	for (q = p; q != NULL; q = q->next) {
		struct net_buf *b = zs_pool_alloc(&zs_rx_pool);

		if (b == NULL)
			goto drop;
		b->data = q->payload;
		b->len = q->len;
		if (prev != NULL)
			prev->frags = b;
		else
			head = b;
		prev = b;
	}
	head->owner = p;
	head->tot_len = p->tot_len;
	if (IP_IS_V6(addr)) {
		head->meta.family = 6;
		memcpy(head->meta.addr, ip_2_ip6(addr)->addr, 16);
	} else {
		head->meta.family = 4;
		memcpy(head->meta.addr, &ip_2_ip4(addr)->addr, 4);
	}
	head->meta.port = port;
	ZS_COUNT(rx_bytes, p->tot_len);
	zs_ring_put(&s->rx, head);
	zs_sock_notify(s);
	return;
drop:
	if (head != NULL)
		zs_buf_free_chain(head);
	ZS_COUNT(rx_drops, 1);
	pbuf_free(p);
}

int zs_udp_open(struct zs_sock *s)
{
	struct udp_pcb *pcb;

	pcb = udp_new_ip_type(s->family == AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
	if (pcb == NULL)
		return -ENOMEM;
	udp_recv(pcb, on_udp_recv, s);
	s->pcb.udp = pcb;
	zs_sockopt_apply(s);
	return 0;
}

void zs_udp_close(struct zs_sock *s)
{
	ZS_ASSERT_REACTOR();
	zs_sock_set(s, ZS_SF_CLOSED);
	zs_sockopt_release(s);
	if (s->pcb.udp != NULL) {
		udp_remove(s->pcb.udp);
		s->pcb.udp = NULL;
	}
	zs_sock_reactor_release(s);
}

int zs_udp_bind(struct zs_sock *s, const ip_addr_t *ip, uint16_t port)
{
	struct udp_pcb *pcb = s->pcb.udp;
	err_t e;

	if (!zs_addr_is_local(ip) && !ip_addr_ismulticast(ip))
		return -EADDRNOTAVAIL;
	if (zs_sock_flags(s) & ZS_SF_REUSEADDR)
		ip_set_option(pcb, SOF_REUSEADDR);
	e = udp_bind(pcb, ip, port);
	if (e != ERR_OK)
		return -zs_err_to_errno(e);
	s->local_ip = pcb->local_ip;
	s->local_port = pcb->local_port;
	zs_sock_set(s, ZS_SF_BOUND);
	return 0;
}

struct uconn_args {
	struct zs_sock *s;
	ip_addr_t ip;
	uint16_t port;
	bool disconnect;
};

static int uconnect_r(void *p)
{
	struct uconn_args *a = p;
	struct zs_sock *s = a->s;
	err_t e;

	if (a->disconnect) {
		udp_disconnect(s->pcb.udp);
		zs_sock_clear(s, ZS_SF_CONNECTED);
		return 0;
	}
	e = udp_connect(s->pcb.udp, &a->ip, a->port);
	if (e != ERR_OK)
		return -zs_err_to_errno(e);
	s->remote_ip = a->ip;
	s->remote_port = a->port;
	s->local_ip = s->pcb.udp->local_ip;
	s->local_port = s->pcb.udp->local_port;
	zs_sock_set(s, ZS_SF_CONNECTED | ZS_SF_BOUND);
	return 0;
}

int zs_udp_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len)
{
	struct uconn_args a = { .s = s };
	int rc;

	if (addr != NULL && len >= (socklen_t)sizeof(sa_family_t) &&
	    addr->sa_family == AF_UNSPEC) {
		a.disconnect = true;
	} else {
		rc = zs_addr_from_sockaddr(s, addr, len, &a.ip, &a.port);
		if (rc < 0)
			return rc;
	}
	return zs_reactor_call(uconnect_r, &a);
}

struct usend_args {
	struct zs_sock *s;
	const struct iovec *iov;
	size_t iovcnt;
	size_t len;
	bool to;
	ip_addr_t ip;
	uint16_t port;
};

/* The datagram as PBUF_REFs on the caller's buffers, chained in order. */
static struct pbuf *ref_chain(const struct iovec *iov, size_t iovcnt)
{
	struct pbuf *head = NULL;
	size_t i;

	for (i = 0; i < iovcnt; i++) {
		struct pbuf *q;

		if (iov[i].iov_len == 0)
			continue;
		q = pbuf_alloc(PBUF_RAW, (u16_t)iov[i].iov_len, PBUF_REF);
		if (q == NULL) {
			if (head != NULL)
				pbuf_free(head);
			return NULL;
		}
		q->payload = iov[i].iov_base;
		if (head == NULL)
			head = q;
		else
			pbuf_cat(head, q);
	}
	return head;
}

static int usend_r(void *p)
{
	struct usend_args *a = p;
	struct zs_sock *s = a->s;
	struct pbuf *pb;
	err_t e;

	if (s->pcb.udp == NULL)
		return -EBADF;
	if (a->len == 0)
		pb = pbuf_alloc(PBUF_TRANSPORT, 0, PBUF_RAM);
	else
		pb = ref_chain(a->iov, a->iovcnt);
	if (pb == NULL) {
		ZS_COUNT(tx_drops, 1);
		return -ENOMEM;
	}
	if (a->to)
		e = udp_sendto(s->pcb.udp, pb, &a->ip, a->port);
	else
		e = udp_send(s->pcb.udp, pb);
	pbuf_free(pb);
	if (e != ERR_OK) {
		ZS_COUNT(tx_drops, 1);
		if (e == ERR_RTE)
			return -ENETUNREACH;
		return -zs_err_to_errno(e);
	}
	s->local_ip = s->pcb.udp->local_ip;
	s->local_port = s->pcb.udp->local_port;
	zs_sock_set(s, ZS_SF_BOUND);
	ZS_COUNT(tx_bytes, a->len);
	return 0;
}

ssize_t zs_udp_sendmsg(struct zs_sock *s, const struct iovec *iov, size_t iovcnt, int flags,
		       const struct sockaddr *to, socklen_t tolen)
{
	struct usend_args a = { .s = s, .iov = iov, .iovcnt = iovcnt };
	uint32_t f = zs_sock_flags(s);
	int rc;

	(void)flags;
	a.len = zs_iov_total(iov, iovcnt);
	if (f & ZS_SF_TX_SHUT)
		return -EPIPE;
	if (a.len > (s->family == AF_INET6 ? UDP_MAX_V6 : UDP_MAX_V4))
		return -EMSGSIZE;
	if (to != NULL) {
		rc = zs_addr_from_sockaddr(s, to, tolen, &a.ip, &a.port);
		if (rc < 0)
			return rc;
		a.to = true;
	} else if (!(f & ZS_SF_CONNECTED)) {
		return -EDESTADDRREQ;
	}
	rc = zs_reactor_call(usend_r, &a);
	return rc < 0 ? rc : (ssize_t)a.len;
}

static bool dgram_readable(struct zs_sock *s)
{
	return zs_ring_count(&s->rx) > 0 ||
	       (zs_sock_flags(s) & (ZS_SF_RX_SHUT | ZS_SF_CLOSED));
}

/*
 * rx_lock held: wait for the next datagram. Returns 0 with *h the head of
 * rx (NULL after SHUT_RD), or -EAGAIN / -EINTR / a wait's error with *h
 * NULL.
 */
static int next_dgram(struct zs_sock *s, int flags, int64_t deadline, struct net_buf **h)
{
	int rc;

	for (;;) {
		uint32_t f = zs_sock_flags(s);

		*h = zs_ring_peek(&s->rx);
		if (*h != NULL || (f & ZS_SF_RX_SHUT))
			return 0;
		if (f & ZS_SF_CLOSED)
			return -EINTR;
		if (!zs_sock_may_block(s, flags))
			return -EAGAIN;
		rc = zs_sock_wait_unlocked(s, &s->rx_lock, dgram_readable, deadline, false);
		if (rc < 0)
			return rc;
	}
}

ssize_t zs_udp_recvmsg(struct zs_sock *s, const struct iovec *iov, size_t iovcnt, int flags,
		       struct sockaddr *from, socklen_t *fromlen, int *msg_flags)
{
	int64_t deadline = zs_deadline(atomic_load(&s->rcvtimeo_ms));
	struct zs_iov_cursor cur;
	struct net_buf *h = NULL, *b;
	size_t got = 0, len = zs_iov_total(iov, iovcnt);
	ssize_t rc = 0;

	if (msg_flags != NULL)
		*msg_flags = 0;
	zs_iov_cursor_init(&cur, iov, iovcnt);
	zs_lock_take(&s->rx_lock);
	rc = next_dgram(s, flags, deadline, &h);
	if (h != NULL) {
		for (b = h; b != NULL && got < len; b = b->frags)
			got += zs_iov_put(&cur, b->data, b->len < len - got ? b->len : len - got);
		ZS_COUNT(rx_bytes_copied, got);
		if (from != NULL)
			zs_addr_to_sockaddr_raw(h->meta.family == 6 ? AF_INET6 : AF_INET,
						h->meta.addr, h->meta.port, from, fromlen);
		if (msg_flags != NULL && h->tot_len > got)
			*msg_flags |= ZSOCK_MSG_TRUNC;
		rc = (flags & ZSOCK_MSG_TRUNC) ? (ssize_t)h->tot_len : (ssize_t)got;
		if (!(flags & ZSOCK_MSG_PEEK)) {
			/* counted in held on its way, as in zs_tcp_recv() */
			atomic_fetch_add_explicit(&s->held, 1, memory_order_acq_rel);
			zs_ring_get(&s->rx);
			zs_ring_put(&s->done, h);
			atomic_fetch_sub_explicit(&s->held, 1, memory_order_acq_rel);
			zs_reactor_post(&s->work);
		}
	}
	zs_lock_give(&s->rx_lock);
	return rc;
}

/* see sock.h */
ssize_t zs_udp_recv_buf(struct zs_sock *s, struct net_buf **chain, int flags)
{
	int64_t deadline = zs_deadline(atomic_load(&s->rcvtimeo_ms));
	struct net_buf *h;
	ssize_t rc;

	zs_lock_take(&s->rx_lock);
	rc = next_dgram(s, flags, deadline, &h);
	if (h != NULL) {
		zs_nbuf_give(s, h);
		*chain = h;
		rc = (ssize_t)h->tot_len;
	}
	zs_lock_give(&s->rx_lock);
	return rc;
}

/* see sock.h: the datagram goes out as PBUF_REFs on the caller's buffers */
ssize_t zs_udp_send_buf(struct zs_sock *s, struct net_buf *chain, int flags,
			const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov[ZS_UDP_BUF_MAX];
	struct net_buf *b;
	size_t bytes, n = 0;
	/* the engine's while lwIP reads it: a second send or release of the
	 * same chain from another thread fails instead of racing */
	int nbufs = zs_nbuf_claim_tx(chain, &bytes);
	ssize_t rc;

	if (nbufs < 0)
		return nbufs;
	if (nbufs > ZS_UDP_BUF_MAX) {
		zs_nbuf_unclaim_tx(chain);
		return -EMSGSIZE;
	}
	for (b = chain; b != NULL; b = b->frags) {
		iov[n].iov_base = b->data;
		iov[n].iov_len = b->len;
		n++;
	}
	rc = zs_udp_sendmsg(s, iov, n, flags, to, tolen);
	if (rc < 0) {
		zs_nbuf_unclaim_tx(chain);
		return rc;
	}
	zs_nbuf_free_tx(chain);
	return rc;
}

/* see sock.h */
int zs_udp_next_size(struct zs_sock *s)
{
	struct net_buf *h;
	int n;

	zs_lock_take(&s->rx_lock);
	h = zs_ring_peek(&s->rx);
	n = h != NULL ? (int)h->tot_len : 0;
	zs_lock_give(&s->rx_lock);
	return n;
}

short zs_udp_poll_events(struct zs_sock *s)
{
	uint32_t f = zs_sock_flags(s);
	short ev = 0;

	if (zs_ring_count(&s->rx) > 0 || (f & ZS_SF_RX_SHUT))
		ev |= ZSOCK_POLLIN;
	if (!(f & ZS_SF_TX_SHUT))
		ev |= ZSOCK_POLLOUT;
	if (atomic_load(&s->so_error) != 0)
		ev |= ZSOCK_POLLERR;
	return ev;
}
