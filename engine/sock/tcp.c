/*
 * TCP sockets.
 *
 * Receive: lwIP hands the reactor a pbuf chain; on_recv wraps each pbuf in
 * an rx net_buf header (no copy) and puts the chain on the rx ring. recv()
 * copies out of it (the one copy of the BSD path) and moves consumed chains
 * to the done ring; the reactor then frees the pbufs and calls tcp_recved():
 * the window opens only as fast as the application reads. When the rings
 * are full on_recv returns ERR_MEM and lwIP keeps the data (refused_data)
 * until zs_tcp_work() asks for it again.
 *
 * Send: send() copies into tx net_bufs on the tx ring (the one copy); the
 * reactor passes their storage to tcp_write() without TCP_WRITE_FLAG_COPY
 * and keeps them on the in-flight list until on_sent reports them
 * acknowledged; only then do they return to the pool. Retransmissions read
 * the same storage. Backpressure: the ring, the pool and lwIP's send buffer.
 *
 * ACKs: lwIP acknowledges every second full segment at once, from inside
 * tcp_input(), before the application has seen the data; an application
 * that answers (echo, request/response) then sends its data in a segment of
 * its own, and the peer ACKs both. on_recv() turns that immediate ACK into
 * a delayed one and posts the socket's work: the work runs in the next
 * reactor step, after the application's reply when it has one (on one
 * context the application runs between the two steps), and the reply
 * carries the ACK; else the work sends the ACK itself (ack_owed). An ACK
 * waits at most until the next reactor step, not for lwIP's timer (on one
 * context: until the application next waits in a zsock call, like every
 * other piece of the engine's work there).
 *
 * Close: unread data makes close() reset the connection (as Linux does);
 * otherwise queued data is sent, then FIN, and the socket object lives on,
 * owned by the reactor, until the peer has acknowledged everything.
 */
#include "engine/sock/sock.h"
#include "engine/stats.h"

#include <errno.h>
#include <string.h>

#include "engine/lwip_port/csum.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/netif.h"

#define TCP_POLL_INTERVAL 2 /* lwIP slow ticks (500 ms): retry stuck work */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);
static void pump(struct zs_sock *s);

static void attach(struct zs_sock *s, struct tcp_pcb *pcb)
{
	s->pcb.tcp = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_poll(pcb, on_poll, TCP_POLL_INTERVAL);
}

static void detach(struct zs_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;

	if (pcb == NULL)
		return;
	tcp_arg(pcb, NULL);
	if (pcb->state != LISTEN) {
		tcp_recv(pcb, NULL);
		tcp_sent(pcb, NULL);
		tcp_err(pcb, NULL);
		tcp_poll(pcb, NULL, 0);
	} else {
		tcp_accept(pcb, NULL);
	}
	s->pcb.tcp = NULL;
}

static void remember_addrs(struct zs_sock *s, struct tcp_pcb *pcb)
{
	s->local_ip = pcb->local_ip;
	s->local_port = pcb->local_port;
	s->remote_ip = pcb->remote_ip;
	s->remote_port = pcb->remote_port;
}

/** Wrap a received chain in rx headers. NULL when the pool is short. */
static struct net_buf *wrap_chain(struct pbuf *p)
{
	struct net_buf *head = NULL, *prev = NULL;
	struct pbuf *q;

	for (q = p; q != NULL; q = q->next) {
		struct net_buf *b;

		if (q->len == 0)
			continue;
		b = zs_pool_alloc(&zs_rx_pool);
		if (b == NULL) {
			if (head != NULL)
				zs_buf_free_chain(head);
			return NULL;
		}
		b->data = q->payload;
		b->len = q->len;
		if (zs_csum_rx_take(q, &b->csum, &b->csum_hlen))
			b->csum_len = b->len;
		if (prev != NULL)
			prev->frags = b;
		else
			head = b;
		prev = b;
	}
	if (head != NULL) {
		head->owner = p;
		head->tot_len = p->tot_len;
		head->credit = p->tot_len;
	}
	return head;
}

/* ---- lwIP callbacks (reactor) --------------------------------------------------- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct zs_sock *s = arg;
	struct net_buf *head;

	(void)err;
	if (s == NULL) {
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (p == NULL) {
		zs_sock_set(s, ZS_SF_RX_EOF);
		zs_sock_notify(s);
		return ERR_OK;
	}
	if (zs_sock_flags(s) & ZS_SF_RX_SHUT) {
		/* SHUT_RD: discard, keep the window open */
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (!zs_sock_rx_room(s))
		return ERR_MEM;
	head = wrap_chain(p);
	if (head == NULL)
		return ERR_MEM;
	ZS_COUNT(rx_bytes, p->tot_len);
	zs_ring_put(&s->rx, head);
	zs_sock_notify(s);
	if (pcb->flags & TF_ACK_NOW) {
		/* lwIP's tcp_ack() set it (every second segment): let the reply
		 * carry it, or zs_tcp_work() send it (see the top of this file) */
		tcp_clear_flags(pcb, TF_ACK_NOW);
		tcp_set_flags(pcb, TF_ACK_DELAY);
		s->ack_owed = true;
		zs_reactor_post(&s->work);
	}
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct zs_sock *s = arg;
	uint32_t left = len;
	bool freed = false;

	(void)pcb;
	if (s == NULL)
		return ERR_OK;
	while (left > 0 && !zs_list_empty(&s->inflight)) {
		struct net_buf *b = zs_container_of(s->inflight.next, struct net_buf, node);
		uint32_t take = b->len - s->acked_head;

		if (take > left)
			take = left;
		s->acked_head += take;
		left -= take;
		if (s->acked_head == b->len && b != s->tx_cur) {
			zs_list_remove(&b->node);
			zs_nbuf_free_out(b);
			s->acked_head = 0;
			freed = true;
		}
	}
	if (freed)
		zs_waitq_wake(&zs_tx_pool_wq);
	/* Inside an lwIP callback only write more; closing steps that may
	 * abort this PCB run from the work queue, outside lwIP. */
	pump(s);
	if (zs_sock_flags(s) & (ZS_SF_CLOSED | ZS_SF_TX_SHUT))
		zs_reactor_post(&s->work);
	return ERR_OK;
}

static void free_inflight(struct zs_sock *s)
{
	struct zs_list *n;

	while ((n = zs_list_pop(&s->inflight)) != NULL)
		zs_nbuf_free_out(zs_container_of(n, struct net_buf, node));
	s->tx_cur = NULL;
	s->acked_head = 0;
	zs_waitq_wake(&zs_tx_pool_wq);
}

static void on_err(void *arg, err_t err)
{
	struct zs_sock *s = arg;
	uint32_t f;
	int e;

	if (s == NULL)
		return;
	s->pcb.tcp = NULL; /* lwIP has freed it */
	f = zs_sock_flags(s);
	if (f & ZS_SF_CONNECTING)
		e = err == ERR_RST ? ECONNREFUSED : ETIMEDOUT;
	else if (err == ERR_RST)
		e = ECONNRESET;
	else if (err == ERR_ABRT)
		e = ETIMEDOUT;
	else
		e = zs_err_to_errno(err);
	atomic_store(&s->conn_error, e);
	atomic_store(&s->so_error, e);
	zs_sock_clear(s, ZS_SF_CONNECTING);
	zs_sock_set(s, ZS_SF_DEAD);
	free_inflight(s);
	zs_sock_notify(s);
	if (f & ZS_SF_CLOSED)
		zs_sock_reactor_release(s);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct zs_sock *s = arg;

	(void)pcb;
	if (s != NULL)
		zs_reactor_post(&s->work);
	return ERR_OK;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct zs_sock *s = arg;

	(void)err;
	if (s == NULL)
		return ERR_OK;
	remember_addrs(s, pcb);
	zs_sock_set(s, ZS_SF_CONNECTED);
	zs_sock_clear(s, ZS_SF_CONNECTING);
	zs_sock_notify(s);
	pump(s);
	return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct zs_sock *l = arg;
	struct zs_sock *c;

	if (l == NULL || newpcb == NULL || err != ERR_OK)
		return ERR_VAL;
	if ((int)zs_ring_count(&l->rx) >= l->backlog)
		return ERR_MEM; /* lwIP resets the connection */
	c = zs_sock_alloc(l->family, SOCK_STREAM, IPPROTO_TCP);
	if (c == NULL)
		return ERR_MEM;
	/* the object's first reference is the reactor's */
	c->reactor_ref = true;
	c->listener = l;
	attach(c, newpcb);
	remember_addrs(c, newpcb);
	zs_sockopt_inherit(c, l);
	if (zs_sock_flags(l) & ZS_SF_NODELAY) {
		tcp_nagle_disable(newpcb);
		zs_sock_set(c, ZS_SF_NODELAY);
	}
	zs_sock_set(c, ZS_SF_CONNECTED | ZS_SF_BOUND);
	tcp_backlog_delayed(newpcb);
	c->backlog_pending = true;
	zs_ring_put(&l->rx, c);
	zs_sock_notify(l);
	return ERR_OK;
}

/* ---- reactor work ------------------------------------------------------------- */

/* Window bytes the application gave back since the reactor last looked:
 * chains consumed or released (done) and chains it forwarded (nbuf.c). */
static uint32_t take_credit(struct zs_sock *s)
{
	return zs_sock_drain_done(s) +
	       atomic_exchange_explicit(&s->fwd_credit, 0, memory_order_acq_rel);
}

static void open_window(struct zs_sock *s, uint32_t bytes);

/*
 * Queue what the tx ring holds on the PCB, give lwIP the window the
 * application opened (credit: bytes it consumed), then send. The window
 * update comes after the writes: when it is large enough that tcp_recved()
 * sends it at once, it leaves on the data just queued (an echo, a reply)
 * instead of in an ACK of its own. With credit for more than one buffer,
 * each full-sized buffer goes out with its share of the window (a segment
 * each, every one of them opening the window a little further): a peer
 * that ACKs every segment at once (QEMU's slirp does) then has room to
 * send data with each of its ACKs, instead of an ACK of its own for every
 * segment after the first (an echo of a burst of segments: 0.5 ACKs per
 * segment from slirp before, 0.05 after).
 */
static void pump_with_credit(struct zs_sock *s, uint32_t credit)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	bool wrote = false;

	if (credit == 0 && s->tx_cur == NULL && zs_ring_count(&s->tx) == 0)
		return; /* on_sent() with nothing queued: the common case */
	if (pcb == NULL || !(zs_sock_flags(s) & ZS_SF_CONNECTED) || s->fin_sent) {
		open_window(s, credit);
		return;
	}
	for (;;) {
		struct net_buf *b = s->tx_cur;
		uint32_t room, n;
		u8_t flags = 0;
		err_t e;

		if (b == NULL) {
			b = zs_ring_get(&s->tx);
			if (b == NULL)
				break;
			b->off = 0;
			zs_list_append(&s->inflight, &b->node);
			s->tx_cur = b;
		}
		room = tcp_sndbuf(pcb);
		if (room == 0)
			break;
		n = (uint32_t)(b->len - b->off);
		if (n > room)
			n = room;
		if (n < (uint32_t)(b->len - b->off) || zs_ring_count(&s->tx) > 0)
			flags |= TCP_WRITE_FLAG_MORE;
		if (b->csum_len == b->len && b->off == 0 && n == b->len)
			zs_csum_tx_keep(b->data, (uint16_t)n, b->csum_hlen, b->csum); /* whole, forwarded */
		e = tcp_write(pcb, b->data + b->off, (u16_t)n, flags);
		if (e != ERR_OK)
			break; /* ERR_MEM: retried on ack or poll */
		b->off = (uint16_t)(b->off + n);
		ZS_COUNT(tx_bytes, n);
		wrote = true;
		if (b->off == b->len)
			s->tx_cur = NULL;
		if (credit > n && n >= tcp_mss(pcb) && s->tx_cur == NULL &&
		    zs_ring_count(&s->tx) > 0) {
			/* a full segment, and more to write: it leaves now with
			 * its share (smaller writes still coalesce) */
			open_window(s, n);
			credit -= n;
			pcb = s->pcb.tcp;
			if (pcb == NULL)
				return;
			tcp_output(pcb);
		}
	}
	open_window(s, credit);
	pcb = s->pcb.tcp;
	if (wrote && pcb != NULL) {
		tcp_output(pcb);
		zs_sock_notify(s);
	}
}

static void pump(struct zs_sock *s)
{
	pump_with_credit(s, 0);
}

static bool tx_drained(struct zs_sock *s)
{
	return s->tx_cur == NULL && zs_ring_count(&s->tx) == 0;
}

static void open_window(struct zs_sock *s, uint32_t bytes)
{
	while (bytes > 0 && s->pcb.tcp != NULL) {
		u16_t n = bytes > 0xffff ? 0xffff : (u16_t)bytes;

		tcp_recved(s->pcb.tcp, n);
		bytes -= n;
	}
}

/* Closing a connected socket: RST if data went unread, else FIN after data. */
static void close_step(struct zs_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;

	if (pcb == NULL) {
		zs_sock_reactor_release(s);
		return;
	}
	if (!s->fin_sent) {
		if (zs_ring_count(&s->rx) > 0 || pcb->refused_data != NULL ||
		    pcb->rcv_wnd != TCP_WND_MAX(pcb)) {
			detach(s);
			tcp_abort(pcb);
			zs_sock_reactor_release(s);
			return;
		}
		pump(s);
		if (!tx_drained(s))
			return;
		if (tcp_close(pcb) != ERR_OK)
			return; /* out of memory: on_poll retries */
		s->fin_sent = true;
		tcp_recv(pcb, NULL); /* lwIP's default: data now draws a RST */
	}
	if (zs_list_empty(&s->inflight)) {
		detach(s);
		zs_sock_reactor_release(s);
	}
}

/* The ACK on_recv() put off, unless data sent since carried it. */
static void send_owed_ack(struct zs_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;

	if (!s->ack_owed)
		return;
	s->ack_owed = false;
	if (pcb != NULL && (pcb->flags & TF_ACK_DELAY)) {
		tcp_ack_now(pcb);
		tcp_output(pcb);
	}
}

void zs_tcp_work(struct zs_sock *s)
{
	struct tcp_pcb *pcb;
	uint32_t f = zs_sock_flags(s);
	uint32_t credit;

	ZS_ASSERT_REACTOR();
	if (!s->reactor_ref) {
		zs_sock_drain_done(s); /* chains a native caller released late */
		return;
	}
	if (f & ZS_SF_LISTENING)
		return;
	credit = take_credit(s);
	if (f & ZS_SF_RX_SHUT) {
		/* move unread data out: it is discarded, the window reopens (as
		 * the rx ring's consumer: a reader may still be inside a call) */
		struct net_buf *b;

		zs_lock_take(&s->rx_lock);
		while ((b = zs_ring_get(&s->rx)) != NULL) {
			uint32_t n = b->credit;

			if (b->owner != NULL)
				pbuf_free(b->owner);
			zs_buf_free_chain(b);
			open_window(s, n);
		}
		zs_lock_give(&s->rx_lock);
	}
	pcb = s->pcb.tcp;
	if (pcb != NULL && pcb->refused_data != NULL && zs_sock_rx_room(s)) {
		if (tcp_process_refused_data(pcb) == ERR_ABRT)
			return;
	}
	pcb = s->pcb.tcp;
	if (pcb != NULL && s->backlog_pending && (f & ZS_SF_ACCEPTED)) {
		tcp_backlog_accepted(pcb);
		s->backlog_pending = false;
		s->listener = NULL;
	}
	if (f & ZS_SF_CLOSED) {
		/* the FIN or RST carries an owed ACK, or lwIP's timer sends it */
		s->ack_owed = false;
		open_window(s, credit);
		/* close() sets the flag before its reactor call runs: SO_LINGER
		 * {1, 0} must abort here too, not begin the orderly close */
		if (!zs_sockopt_close_abort(s))
			close_step(s);
		return;
	}
	pump_with_credit(s, credit);
	pcb = s->pcb.tcp;
	if (pcb != NULL && (f & ZS_SF_TX_SHUT) && !s->fin_sent && tx_drained(s)) {
		if (tcp_shutdown(pcb, 0, 1) == ERR_OK)
			s->fin_sent = true;
		zs_sock_notify(s);
	}
	send_owed_ack(s);
}

int zs_tcp_open(struct zs_sock *s)
{
	struct tcp_pcb *pcb;

	pcb = tcp_new_ip_type(s->family == AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
	if (pcb == NULL)
		return -ENOMEM;
	attach(s, pcb);
	zs_sockopt_apply(s);
	return 0;
}

void zs_tcp_close(struct zs_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	uint32_t f = zs_sock_flags(s);

	ZS_ASSERT_REACTOR();
	zs_sock_set(s, ZS_SF_CLOSED);
	if (pcb == NULL) {
		zs_sock_reactor_release(s);
		return;
	}
	if (zs_sockopt_close_abort(s))
		return;
	if ((f & ZS_SF_LISTENING) || !(f & ZS_SF_CONNECTED)) {
		/* LISTEN, CLOSED or SYN_SENT: lwIP frees the PCB at once */
		detach(s);
		if (pcb->state == SYN_SENT || tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		zs_sock_reactor_release(s);
		return;
	}
	open_window(s, take_credit(s));
	close_step(s);
}

/* ---- reactor halves of the control path --------------------------------------- */

int zs_tcp_bind(struct zs_sock *s, const ip_addr_t *ip, uint16_t port)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	err_t e;

	if (pcb == NULL || pcb->state != CLOSED)
		return -EINVAL;
	if (!zs_addr_is_local(ip))
		return -EADDRNOTAVAIL;
	if (zs_sock_flags(s) & ZS_SF_REUSEADDR)
		ip_set_option(pcb, SOF_REUSEADDR);
	e = tcp_bind(pcb, ip, port);
	if (e != ERR_OK)
		return -zs_err_to_errno(e);
	s->local_ip = pcb->local_ip;
	s->local_port = pcb->local_port;
	zs_sock_set(s, ZS_SF_BOUND);
	return 0;
}

struct connect_args {
	struct zs_sock *s;
	ip_addr_t ip;
	uint16_t port;
	struct zs_socks5_req *s5;  /* filled when SO_SOCKS5 redirects */
	bool via_proxy;
};

static int connect_r(void *p)
{
	struct connect_args *a = p;
	struct zs_sock *s = a->s;
	uint32_t f = zs_sock_flags(s);
	err_t e;

	if (f & ZS_SF_CLOSED)
		return -EBADF;
	if (f & ZS_SF_CONNECTING)
		return -EALREADY;
	if (f & (ZS_SF_CONNECTED | ZS_SF_LISTENING))
		return -EISCONN;
	if (s->pcb.tcp == NULL) {
		/* an earlier attempt failed: start again with a new PCB */
		int rc = zs_tcp_open(s);

		if (rc < 0)
			return rc;
		zs_sock_clear(s, ZS_SF_DEAD | ZS_SF_BOUND);
		atomic_store(&s->conn_error, 0);
	}
	if (zs_sock_flags(s) & ZS_SF_REUSEADDR)
		ip_set_option(s->pcb.tcp, SOF_REUSEADDR);
	if (zs_sock_flags(s) & ZS_SF_NODELAY)
		tcp_nagle_disable(s->pcb.tcp);
	atomic_store(&s->so_error, 0);
	a->via_proxy = zs_socks5_redirect(s, a->s5, &a->ip, &a->port);
	e = tcp_connect(s->pcb.tcp, &a->ip, a->port, on_connected);
	if (e != ERR_OK)
		return e == ERR_RTE ? -ENETUNREACH : -zs_err_to_errno(e);
	s->remote_ip = a->ip;
	s->remote_port = a->port;
	s->local_ip = s->pcb.tcp->local_ip;
	s->local_port = s->pcb.tcp->local_port;
	zs_sock_set(s, ZS_SF_CONNECTING | ZS_SF_BOUND);
	return 0;
}

static bool connect_done(struct zs_sock *s)
{
	return !(zs_sock_flags(s) & ZS_SF_CONNECTING);
}

/* ---- SO_SOCKS5: the connection to the proxy, then the exchange ---------------- */

struct socks5_end_args {
	struct zs_sock *s;
	const struct zs_socks5_req *r;
	int err;                   /* 0: success */
};

/* Success: the peer is the destination from now on (getpeername).
 * Failure: reset the connection to the proxy and leave the socket as a
 * failed connect does, so that connect() may be called again. */
static int socks5_end_r(void *p)
{
	struct socks5_end_args *a = p;
	struct zs_sock *s = a->s;
	struct tcp_pcb *pcb = s->pcb.tcp;
	void *b;

	if (zs_sock_flags(s) & ZS_SF_CLOSED)
		return 0; /* zs_tcp_close() has taken it over */
	if (a->err == 0) {
		s->remote_ip = a->r->dest_ip;
		s->remote_port = a->r->dest_port;
		return 0;
	}
	if (pcb != NULL) {
		detach(s);
		tcp_abort(pcb);
	}
	free_inflight(s);
	while ((b = zs_ring_get(&s->tx)) != NULL)
		zs_buf_free_chain(b);
	zs_sock_drain_rx(s);
	s->rx_head_off = 0; /* the caller, the only reader, waits for this call */
	s->fin_sent = false;
	atomic_store(&s->conn_error, a->err);
	atomic_store(&s->so_error, 0);
	zs_sock_clear(s, ZS_SF_CONNECTED | ZS_SF_CONNECTING | ZS_SF_RX_EOF);
	zs_sock_set(s, ZS_SF_DEAD);
	zs_sock_notify(s);
	return 0;
}

/* Blocking even on a non-blocking socket; SO_SNDTIMEO bounds it all. */
static int socks5_connect(struct zs_sock *s, struct zs_socks5_req *r)
{
	int64_t deadline = zs_deadline(atomic_load(&s->sndtimeo_ms));
	struct socks5_end_args e = { .s = s, .r = r };
	int rc;

	rc = zs_sock_wait(s, connect_done, deadline, false);
	if (rc == -EAGAIN)
		rc = -ETIMEDOUT;
	if (rc == 0 && !(zs_sock_flags(s) & ZS_SF_CONNECTED)) {
		/* the proxy could not be reached: a plain failed connect */
		rc = atomic_exchange(&s->so_error, 0);
		memset(r, 0, sizeof(*r));
		return rc != 0 ? -rc : -ECONNABORTED;
	}
	if (rc == 0)
		rc = zs_socks5_exchange(s, r, deadline);
	if (rc != -EINTR) {
		e.err = -rc;
		zs_reactor_call(socks5_end_r, &e);
	}
	memset(r, 0, sizeof(*r)); /* the password */
	return rc;
}

int zs_tcp_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len)
{
	struct zs_socks5_req s5;
	struct connect_args a = { .s = s, .s5 = &s5 };
	int rc;

	rc = zs_addr_from_sockaddr(s, addr, len, &a.ip, &a.port);
	if (rc < 0)
		return rc;
	rc = zs_reactor_call(connect_r, &a);
	if (rc < 0)
		return rc;
	if (a.via_proxy)
		return socks5_connect(s, &s5);
	if (!zs_sock_may_block(s, 0))
		return -EINPROGRESS;
	rc = zs_sock_wait(s, connect_done, zs_deadline(atomic_load(&s->sndtimeo_ms)), false);
	if (rc == -EAGAIN)
		return -EINPROGRESS; /* as Linux: the handshake goes on */
	if (rc < 0)
		return rc;
	if (zs_sock_flags(s) & ZS_SF_CONNECTED)
		return 0;
	rc = atomic_exchange(&s->so_error, 0);
	return rc != 0 ? -rc : -ECONNABORTED;
}

struct listen_args {
	struct zs_sock *s;
	int backlog;
};

static int listen_r(void *p)
{
	struct listen_args *a = p;
	struct zs_sock *s = a->s;
	uint32_t f = zs_sock_flags(s);
	struct tcp_pcb *lpcb;
	err_t e = ERR_OK;

	if (f & (ZS_SF_CONNECTED | ZS_SF_CONNECTING | ZS_SF_DEAD) || s->pcb.tcp == NULL)
		return -EINVAL;
	s->backlog = a->backlog;
	if (f & ZS_SF_LISTENING) {
		tcp_backlog_set(s->pcb.tcp, (u8_t)a->backlog);
		return 0;
	}
	if (!(f & ZS_SF_BOUND)) {
		int rc = zs_tcp_bind(s, s->family == AF_INET6 ? IP6_ADDR_ANY : IP4_ADDR_ANY, 0);

		if (rc < 0)
			return rc;
	}
	lpcb = tcp_listen_with_backlog_and_err(s->pcb.tcp, (u8_t)a->backlog, &e);
	if (lpcb == NULL)
		return e == ERR_USE ? -EADDRINUSE : -ENOMEM;
	/* the old PCB is gone; the listening one takes its place */
	s->pcb.tcp = lpcb;
	zs_sockopt_apply(s);
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, on_accept);
	zs_sock_set(s, ZS_SF_LISTENING);
	return 0;
}

int zs_tcp_listen(struct zs_sock *s, int backlog)
{
	struct listen_args a = { .s = s, .backlog = backlog };

	if (a.backlog <= 0)
		a.backlog = 1;
	if (a.backlog > ZS_RING_SIZE)
		a.backlog = ZS_RING_SIZE;
	if (a.backlog > 255)
		a.backlog = 255;
	return zs_reactor_call(listen_r, &a);
}

static int reject_r(void *p)
{
	struct zs_sock *c = p;

	c->listener = NULL;
	zs_tcp_close(c);
	return 0;
}

static bool accept_ready(struct zs_sock *s)
{
	return zs_ring_count(&s->rx) > 0 || !(zs_sock_flags(s) & ZS_SF_LISTENING);
}

int zs_tcp_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len)
{
	struct zs_sock *c;
	int fd, rc = 0;

	if (addr != NULL && len == NULL)
		return -EINVAL;
	if (!(zs_sock_flags(s) & ZS_SF_LISTENING))
		return -EINVAL;
	zs_lock_take(&s->rx_lock);
	for (;;) {
		c = zs_ring_get(&s->rx);
		if (c != NULL)
			break;
		if (!(zs_sock_flags(s) & ZS_SF_LISTENING)) {
			rc = -EINVAL;
			break;
		}
		if (!zs_sock_may_block(s, 0)) {
			rc = -EAGAIN;
			break;
		}
		rc = zs_sock_wait_unlocked(s, &s->rx_lock, accept_ready,
					   zs_deadline(atomic_load(&s->rcvtimeo_ms)), false);
		if (rc < 0)
			break;
	}
	zs_lock_give(&s->rx_lock);
	if (c == NULL)
		return rc;

	fd = zs_fd_reserve();
	if (fd < 0) {
		zs_reactor_call(reject_r, c);
		return fd;
	}
	if (addr != NULL)
		zs_addr_to_sockaddr(c->family, &c->remote_ip, c->remote_port, addr, len);
	zs_sock_ref(c); /* the fd table's */
	zs_sock_set(c, ZS_SF_ACCEPTED);
	zs_reactor_post(&c->work); /* tcp_backlog_accepted() */
	zs_fd_finalize(fd, c, &zs_sock_vtable);
	return fd;
}

struct nodelay_args {
	struct zs_sock *s;
	bool on;
};

static int nodelay_r(void *p)
{
	struct nodelay_args *a = p;

	if (a->on)
		zs_sock_set(a->s, ZS_SF_NODELAY);
	else
		zs_sock_clear(a->s, ZS_SF_NODELAY);
	if (a->s->pcb.tcp != NULL && a->s->pcb.tcp->state != LISTEN) {
		if (a->on)
			tcp_nagle_disable(a->s->pcb.tcp);
		else
			tcp_nagle_enable(a->s->pcb.tcp);
	}
	return 0;
}

int zs_tcp_set_nodelay(struct zs_sock *s, bool on)
{
	struct nodelay_args a = { .s = s, .on = on };

	return zs_reactor_call(nodelay_r, &a);
}

/* ---- application side ------------------------------------------------------------ */

static bool tx_pool_has_room(void)
{
	return zs_pool_in_use(&zs_tx_pool) < zs_tx_pool.count;
}

static bool writable(struct zs_sock *s)
{
	uint32_t f = zs_sock_flags(s);

	if (f & (ZS_SF_TX_SHUT | ZS_SF_DEAD | ZS_SF_CLOSED))
		return true;
	if (!(f & ZS_SF_CONNECTED))
		return !(f & ZS_SF_CONNECTING);
	return !zs_ring_full(&s->tx) && tx_pool_has_room();
}

/** Whether a send may go on in state f: 0, or the -errno it fails with. */
static int send_state(struct zs_sock *s, uint32_t f)
{
	int e;

	if (f & ZS_SF_TX_SHUT)
		return -EPIPE;
	if (f & ZS_SF_DEAD) {
		e = atomic_load(&s->conn_error);
		return e != 0 ? -e : -EPIPE;
	}
	if (f & ZS_SF_CLOSED)
		return -EINTR;
	if (!(f & (ZS_SF_CONNECTED | ZS_SF_CONNECTING)))
		return -ENOTCONN;
	return 0;
}

/** Copy as much of buf as the ring and pool take. Returns bytes queued. */
static size_t fill_tx(struct zs_sock *s, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len && !zs_ring_full(&s->tx)) {
		struct net_buf *b = zs_pool_alloc(&zs_tx_pool);
		size_t n;

		if (b == NULL)
			break;
		n = len - done;
		if (n > zs_tx_pool.data_size)
			n = zs_tx_pool.data_size;
		memcpy(b->data, buf + done, n);
		b->len = (uint16_t)n;
		b->tot_len = (uint32_t)n;
		zs_ring_put(&s->tx, b);
		done += n;
	}
	if (done > 0)
		ZS_COUNT(tx_bytes_copied, done);
	return done;
}

ssize_t zs_tcp_send(struct zs_sock *s, const void *buf, size_t len, int flags)
{
	int64_t deadline = zs_deadline(atomic_load(&s->sndtimeo_ms));
	size_t sent = 0;
	ssize_t rc = 0;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	zs_lock_take(&s->tx_lock);
	for (;;) {
		uint32_t f = zs_sock_flags(s);
		size_t n;

		rc = send_state(s, f);
		if (rc < 0)
			break;
		if (len == 0)
			break;
		if (f & ZS_SF_CONNECTED) {
			n = fill_tx(s, (const uint8_t *)buf + sent, len - sent);
			if (n > 0) {
				sent += n;
				zs_reactor_post(&s->work);
			}
			if (sent == len)
				break;
		}
		if (!zs_sock_may_block(s, flags)) {
			rc = -EAGAIN;
			break;
		}
		rc = zs_sock_wait_unlocked(s, &s->tx_lock, writable, deadline, true);
		if (rc < 0)
			break;
	}
	zs_lock_give(&s->tx_lock);
	return sent > 0 ? (ssize_t)sent : rc;
}

/** Copy up to want bytes of chain h, starting off bytes in, to c. */
static size_t copy_chain(const struct net_buf *h, uint32_t off, struct zs_iov_cursor *c,
			 size_t want)
{
	size_t got = 0;
	const struct net_buf *b;

	for (b = h; b != NULL && got < want; b = b->frags) {
		size_t n;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off;
		if (n > want - got)
			n = want - got;
		got += zs_iov_put(c, b->data + off, n);
		off = 0;
	}
	return got;
}

static bool readable(struct zs_sock *s)
{
	return zs_ring_count(&s->rx) > 0 ||
	       (zs_sock_flags(s) & (ZS_SF_RX_EOF | ZS_SF_RX_SHUT | ZS_SF_DEAD | ZS_SF_CLOSED));
}

ssize_t zs_tcp_recv(struct zs_sock *s, const struct iovec *iov, size_t iovcnt, int flags)
{
	int64_t deadline = zs_deadline(atomic_load(&s->rcvtimeo_ms));
	struct zs_iov_cursor cur;
	size_t len = zs_iov_total(iov, iovcnt);
	size_t copied = 0;
	ssize_t rc = 0;
	uint32_t f = zs_sock_flags(s);

	if ((f & ZS_SF_LISTENING) ||
	    !(f & (ZS_SF_CONNECTED | ZS_SF_CONNECTING | ZS_SF_DEAD)))
		return -ENOTCONN;
	zs_iov_cursor_init(&cur, iov, iovcnt);
	zs_lock_take(&s->rx_lock);
	for (;;) {
		bool consumed = false;

		f = zs_sock_flags(s); /* before the ring: EOF is set after the last push */
		if (f & ZS_SF_RX_SHUT)
			break;
		if (flags & ZSOCK_MSG_PEEK) {
			uint32_t i = 0, off = s->rx_head_off;
			struct net_buf *h;

			while (copied < len && (h = zs_ring_peek_at(&s->rx, i++)) != NULL) {
				copied += copy_chain(h, off, &cur, len - copied);
				off = 0;
			}
		} else {
			struct net_buf *h;

			while (copied < len && (h = zs_ring_peek(&s->rx)) != NULL) {
				size_t n = copy_chain(h, s->rx_head_off, &cur, len - copied);

				copied += n;
				s->rx_head_off += (uint32_t)n;
				if (s->rx_head_off == h->tot_len) {
					/* counted in held on its way from rx to done, as
					 * zs_nbuf_give() does: the reactor must never see
					 * room that is not there, or done overflows and the
					 * chain is lost (sock.h, zs_sock_rx_room) */
					atomic_fetch_add_explicit(&s->held, 1, memory_order_acq_rel);
					zs_ring_get(&s->rx);
					zs_ring_put(&s->done, h);
					atomic_fetch_sub_explicit(&s->held, 1, memory_order_acq_rel);
					s->rx_head_off = 0;
					consumed = true;
				}
			}
		}
		if (consumed)
			zs_reactor_post(&s->work);
		if (copied == len || (copied > 0 && !(flags & ZSOCK_MSG_WAITALL)) ||
		    (copied > 0 && (flags & ZSOCK_MSG_PEEK)))
			break;
		if (zs_ring_count(&s->rx) > 0)
			continue;
		if (f & ZS_SF_RX_EOF)
			break;
		if (f & ZS_SF_DEAD) {
			if (copied == 0)
				rc = -atomic_load(&s->conn_error);
			break;
		}
		if (f & ZS_SF_CLOSED) {
			rc = -EINTR;
			break;
		}
		if (!zs_sock_may_block(s, flags)) {
			rc = -EAGAIN;
			break;
		}
		rc = zs_sock_wait_unlocked(s, &s->rx_lock, readable, deadline, false);
		if (rc < 0)
			break;
	}
	zs_lock_give(&s->rx_lock);
	if (copied > 0) {
		ZS_COUNT(rx_bytes_copied, copied);
		return (ssize_t)copied;
	}
	return rc;
}

/* Drop the first off bytes of chain h (a zsock_recv() read them already):
 * buffers keep their place in the chain, emptied ones with len 0. */
static void trim_chain(struct net_buf *h, uint32_t off)
{
	struct net_buf *b;

	h->tot_len -= off;
	for (b = h; b != NULL && off > 0; b = b->frags) {
		uint32_t n = off < b->len ? off : b->len;

		b->data += n;
		b->len = (uint16_t)(b->len - n);
		b->csum_len = 0; /* the sum was of the whole buffer */
		off -= n;
	}
}

static uint32_t count_bufs(const struct net_buf *b)
{
	uint32_t n = 0;

	for (; b != NULL; b = b->frags)
		n++;
	return n;
}

/*
 * Link every chain queued on rx behind h (the head of rx) into one and
 * hand it to the caller: one call, one release and one window update for
 * all the segments that arrived since the caller last looked, instead of
 * one of each per segment; at most as many buffers as one zsock_send_buf()
 * takes, so that the chain can always be sent on (forwarded) whole. Returns the bytes of the whole chain (h's
 * tot_len becomes that; the joined heads keep their pbufs and credit for
 * the reactor, zs_sock_drain_done()).
 */
static uint32_t join_queued(struct zs_sock *s, struct net_buf *h)
{
	/* no more buffers than a send or a forward takes at once */
	uint32_t max = zs_nbuf_fwd_max() < ZS_RING_SIZE ? zs_nbuf_fwd_max() : ZS_RING_SIZE;
	uint32_t n = 1, total = h->tot_len, bufs = count_bufs(h);
	struct net_buf *last = h, *next;

	while (n < UINT8_MAX && (next = zs_ring_peek_at(&s->rx, n)) != NULL) {
		uint32_t more = count_bufs(next);

		if (bufs + more > max)
			break;
		while (last->frags != NULL)
			last = last->frags;
		last->frags = next;
		last = next;
		bufs += more;
		total += next->tot_len;
		n++;
	}
	h->tot_len = total;
	zs_nbuf_give_joined(s, h, n);
	return total;
}

/* see sock.h */
ssize_t zs_tcp_recv_buf(struct zs_sock *s, struct net_buf **chain, int flags)
{
	int64_t deadline = zs_deadline(atomic_load(&s->rcvtimeo_ms));
	uint32_t f = zs_sock_flags(s);
	ssize_t rc;

	if ((f & ZS_SF_LISTENING) ||
	    !(f & (ZS_SF_CONNECTED | ZS_SF_CONNECTING | ZS_SF_DEAD)))
		return -ENOTCONN;
	zs_lock_take(&s->rx_lock);
	for (;;) {
		struct net_buf *h;

		f = zs_sock_flags(s); /* before the ring: EOF is set after the last push */
		if (f & ZS_SF_RX_SHUT) {
			rc = 0;
			break;
		}
		h = zs_ring_peek(&s->rx);
		if (h != NULL) {
			if (s->rx_head_off > 0) {
				trim_chain(h, s->rx_head_off);
				s->rx_head_off = 0;
			}
			rc = (ssize_t)join_queued(s, h);
			*chain = h;
			break;
		}
		if (f & ZS_SF_RX_EOF) {
			rc = 0;
			break;
		}
		if (f & ZS_SF_DEAD) {
			rc = -atomic_load(&s->conn_error);
			break;
		}
		if (f & ZS_SF_CLOSED) {
			rc = -EINTR;
			break;
		}
		if (!zs_sock_may_block(s, flags)) {
			rc = -EAGAIN;
			break;
		}
		rc = zs_sock_wait_unlocked(s, &s->rx_lock, readable, deadline, false);
		if (rc < 0)
			break;
	}
	zs_lock_give(&s->rx_lock);
	return rc;
}

static bool ring_has_need(struct zs_sock *s)
{
	uint32_t f = zs_sock_flags(s);

	if (f & (ZS_SF_TX_SHUT | ZS_SF_DEAD | ZS_SF_CLOSED))
		return true;
	if (!(f & ZS_SF_CONNECTED))
		return !(f & ZS_SF_CONNECTING);
	return ZS_RING_SIZE - zs_ring_count(&s->tx) >=
	       atomic_load_explicit(&s->tx_need, memory_order_relaxed);
}

/* ring_has_need, and room in the forwarding budget for as much */
static bool fwd_has_need(struct zs_sock *s)
{
	return ring_has_need(s) &&
	       zs_nbuf_fwd_room(atomic_load_explicit(&s->tx_need, memory_order_relaxed));
}

static bool is_received(const struct net_buf *chain)
{
	return zs_pool_holds(&zs_rx_pool, chain); /* no registry walk per send */
}

/* Move the claimed chain onto tx, a buffer per entry (the ring has room). */
static void put_chain(struct zs_sock *s, struct net_buf *chain, bool fwd)
{
	struct net_buf *b, *next;

	if (fwd)
		zs_nbuf_commit_fwd(chain);
	for (b = chain; b != NULL; b = next) {
		next = b->frags;
		b->frags = NULL;
		b->tot_len = b->len;
		if (b->len > 0)
			zs_ring_put(&s->tx, b);
		else if (fwd)
			(void)zs_buf_free(b); /* an emptied header: its pbuf moved on */
		else
			zs_nbuf_free_tx(b); /* nothing to send */
	}
}

/* see sock.h */
ssize_t zs_tcp_send_buf(struct zs_sock *s, struct net_buf *chain, int flags)
{
	int64_t deadline = zs_deadline(atomic_load(&s->sndtimeo_ms));
	bool fwd = is_received(chain);
	size_t bytes;
	int nbufs = fwd ? zs_nbuf_claim_fwd(chain, &bytes) : zs_nbuf_claim_tx(chain, &bytes);
	ssize_t rc;

	if (nbufs < 0)
		return nbufs;
	if (nbufs > ZS_RING_SIZE || (fwd && (uint32_t)nbufs > zs_nbuf_fwd_max())) {
		if (fwd)
			zs_nbuf_unclaim_fwd(chain);
		else
			zs_nbuf_unclaim_tx(chain);
		return -EMSGSIZE;
	}
	zs_lock_take(&s->tx_lock);
	for (;;) {
		uint32_t f = zs_sock_flags(s);

		rc = send_state(s, f);
		if (rc < 0)
			break;
		if ((f & ZS_SF_CONNECTED) &&
		    ZS_RING_SIZE - zs_ring_count(&s->tx) >= (uint32_t)nbufs &&
		    (!fwd || zs_nbuf_fwd_reserve((uint32_t)nbufs))) {
			put_chain(s, chain, fwd);
			if (bytes > 0)
				zs_reactor_post(&s->work);
			chain = NULL; /* the engine's now */
			rc = (ssize_t)bytes;
			break;
		}
		if (!zs_sock_may_block(s, flags)) {
			rc = -EAGAIN;
			break;
		}
		atomic_store_explicit(&s->tx_need, (uint32_t)nbufs, memory_order_relaxed);
		/* the budget frees as the peers acknowledge forwarded buffers:
		 * that wakes the transmit pool's waiters (pool) */
		rc = zs_sock_wait_unlocked(s, &s->tx_lock, fwd ? fwd_has_need : ring_has_need,
					   deadline, fwd);
		if (rc < 0)
			break;
	}
	zs_lock_give(&s->tx_lock);
	if (chain != NULL) { /* failed: the caller's again */
		if (fwd)
			zs_nbuf_unclaim_fwd(chain);
		else
			zs_nbuf_unclaim_tx(chain);
	}
	return rc;
}

/* see sock.h */
int zs_tcp_readable_bytes(struct zs_sock *s)
{
	uint32_t i, n = 0;
	struct net_buf *h;

	if (zs_sock_flags(s) & ZS_SF_LISTENING)
		return -EINVAL;
	zs_lock_take(&s->rx_lock);
	for (i = 0; (h = zs_ring_peek_at(&s->rx, i)) != NULL; i++)
		n += h->tot_len;
	n -= s->rx_head_off;
	zs_lock_give(&s->rx_lock);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

struct shutdown_args {
	struct zs_sock *s;
};

static int shutdown_r(void *p)
{
	zs_tcp_work(((struct shutdown_args *)p)->s);
	return 0;
}

int zs_tcp_shutdown(struct zs_sock *s, int how)
{
	struct shutdown_args a = { .s = s };
	uint32_t f = zs_sock_flags(s);

	if (!(f & (ZS_SF_CONNECTED | ZS_SF_DEAD)) || (f & ZS_SF_LISTENING))
		return -ENOTCONN;
	if (how == ZSOCK_SHUT_RD || how == ZSOCK_SHUT_RDWR)
		zs_sock_set(s, ZS_SF_RX_SHUT);
	if (how == ZSOCK_SHUT_WR || how == ZSOCK_SHUT_RDWR)
		zs_sock_set(s, ZS_SF_TX_SHUT);
	zs_sock_notify(s);
	return zs_reactor_call(shutdown_r, &a);
}

short zs_tcp_poll_events(struct zs_sock *s)
{
	uint32_t f = zs_sock_flags(s);
	short ev = 0;

	if (atomic_load(&s->so_error) != 0)
		ev |= ZSOCK_POLLERR;
	if (f & ZS_SF_LISTENING)
		return (short)(ev | (zs_ring_count(&s->rx) > 0 ? ZSOCK_POLLIN : 0));
	if (f & ZS_SF_DEAD)
		return (short)(ev | ZSOCK_POLLIN | ZSOCK_POLLOUT | ZSOCK_POLLHUP);
	if (zs_ring_count(&s->rx) > 0 || (f & (ZS_SF_RX_EOF | ZS_SF_RX_SHUT)))
		ev |= ZSOCK_POLLIN;
	if ((f & ZS_SF_CONNECTED) && !(f & ZS_SF_TX_SHUT) && writable(s))
		ev |= ZSOCK_POLLOUT;
	if ((f & ZS_SF_RX_EOF) && (f & ZS_SF_TX_SHUT))
		ev |= ZSOCK_POLLHUP;
	if (!(f & (ZS_SF_CONNECTED | ZS_SF_CONNECTING)))
		ev |= ZSOCK_POLLOUT | ZSOCK_POLLHUP; /* as Linux for a fresh socket */
	return ev;
}
