/*
 * Echo, discard and request/response servers on lwIP's raw TCP API; see
 * raw_servers.h. Runs in lwIP's context only (NO_SYS).
 *
 * Rules of lwIP 2.1.3's raw API this file relies on:
 *  - a recv callback that returns ERR_OK owns the pbuf; the window only
 *    reopens when tcp_recved() is called, so echo calls it for the bytes
 *    it has written back and no sooner: a slow reader throttles the peer
 *    instead of making us drop or buffer without bound;
 *  - after tcp_abort() inside a callback the callback must return ERR_ABRT
 *    (and only then); tcp_abort() calls the error callback synchronously,
 *    so ours is detached first;
 *  - the error callback runs after lwIP has freed the PCB;
 *  - tcp_close() in ESTABLISHED or CLOSE_WAIT resets the connection when
 *    received data has not been tcp_recved(), so echo closes only once its
 *    queue is empty; if tcp_close() fails, the PCB is still ours and the
 *    close is retried from the poll (or sent) callback. (2.1.3 itself
 *    turns a FIN it cannot allocate into a deferred close and returns
 *    ERR_OK, but other versions and states may fail.)
 *  - a PCB handed to tcp_close() may still get callbacks (ACKs of our
 *    last bytes): the callbacks are removed before closing, so lwIP's
 *    defaults see them instead of a pool entry that has been reused.
 */
#include "raw_servers.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "lwip/opt.h"
#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#ifndef RAW_SERVERS_MAX_CONNS
#define RAW_SERVERS_MAX_CONNS	8
#endif
#ifndef RAW_SERVERS_BACKLOG
#define RAW_SERVERS_BACKLOG	4
#endif
/* coarse timer ticks (2 * TCP_TMR_INTERVAL each) between polls; a poll
 * only retries a write or a close that ran out of memory */
#define RAW_POLL_TICKS		2

struct raw_server {
	struct tcp_pcb *lpcb;	/* listening PCB, NULL when not started */
	enum raw_server_kind kind;
	struct raw_server_stats st;
};

struct raw_conn {
	struct tcp_pcb *pcb;	/* NULL: entry free */
	struct raw_server *srv;
	struct pbuf *q;		/* received, not yet written back */
	bool fin;		/* the peer has closed its side */
	bool closing;		/* tcp_close() failed: retry */
};

static struct raw_server servers[RAW_SERVER_KINDS];
static struct raw_conn conns[RAW_SERVERS_MAX_CONNS];
static bool started;

static err_t conn_recv_echo(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
			    err_t err);
static err_t conn_recv_discard(void *arg, struct tcp_pcb *pcb,
			       struct pbuf *p, err_t err);
static err_t conn_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static err_t conn_poll(void *arg, struct tcp_pcb *pcb);
static void conn_err(void *arg, err_t err);

static bool is_echo(const struct raw_conn *c)
{
	return c->srv->kind != RAW_SERVER_DISCARD;
}

static struct raw_conn *conn_alloc(void)
{
	for (unsigned int i = 0; i < RAW_SERVERS_MAX_CONNS; i++)
		if (conns[i].pcb == NULL)
			return &conns[i];
	return NULL;
}

/* Give the entry back; the PCB is no longer ours (closed, aborted or
 * freed by lwIP). */
static void conn_free(struct raw_conn *c)
{
	if (c->q != NULL)
		pbuf_free(c->q);
	c->q = NULL;
	c->pcb = NULL;
	c->srv = NULL;
	c->fin = false;
	c->closing = false;
}

static void conn_attach(struct raw_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	tcp_arg(pcb, c);
	tcp_recv(pcb, is_echo(c) ? conn_recv_echo : conn_recv_discard);
	tcp_sent(pcb, is_echo(c) ? conn_sent : NULL);
	tcp_err(pcb, conn_err);
	tcp_poll(pcb, conn_poll, RAW_POLL_TICKS);
}

static void conn_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

/* Reset the connection from inside one of its callbacks; the caller
 * returns what this returns. */
static err_t conn_abort(struct raw_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	c->srv->st.errors++;
	conn_detach(pcb);	/* tcp_abort() would call conn_err() */
	conn_free(c);
	tcp_abort(pcb);
	return ERR_ABRT;
}

/* Close our side; from inside a callback, whose return value this is. */
static err_t conn_close(struct raw_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	/* after a successful tcp_close() the PCB may be gone at once or live
	 * on in FIN_WAIT/LAST_ACK; either way it must not call us again */
	conn_detach(pcb);
	if (tcp_close(pcb) != ERR_OK) {
		/* no memory for the FIN: still ours, retry from poll/sent */
		c->closing = true;
		conn_attach(c);
		return ERR_OK;
	}
	conn_free(c);
	return ERR_OK;
}

/*
 * Write back as much of the queue as the send buffer takes, and open the
 * receive window by exactly that much. What does not fit stays queued
 * until conn_sent() (ACKs freed room) or conn_poll() (tcp_write ran out of
 * segments or heap with nothing in flight, so no ACK will come).
 */
static err_t echo_flush(struct raw_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	u32_t done = 0;

	while (c->q != NULL) {
		struct pbuf *h = c->q;
		u16_t room = tcp_sndbuf(pcb);
		u16_t n = LWIP_MIN(h->len, room);
		u8_t flags = TCP_WRITE_FLAG_COPY;
		err_t err;

		if (h->len == 0) {
			/* an empty link would make no progress below */
			c->q = h->next;
			h->next = NULL;
			pbuf_free(h);
			continue;
		}
		if (n == 0)
			break;
		if (h->tot_len > n)
			flags |= TCP_WRITE_FLAG_MORE;	/* no PSH yet */
		err = tcp_write(pcb, h->payload, n, flags);
		if (err == ERR_MEM)
			break;
		if (err != ERR_OK)
			return conn_abort(c);
		/* copied: drop those bytes, keeping the chain's tot_len right */
		c->q = pbuf_free_header(h, n);
		done += n;
	}
	if (done > 0) {
		/* done <= the send buffer we started with, so it fits u16_t */
		tcp_recved(pcb, (u16_t)done);
		c->srv->st.bytes_out += done;
		/* inside tcp_input() this defers to its own tcp_output();
		 * from poll it sends now; a failure is retried by lwIP's timers */
		(void)tcp_output(pcb);
	}
	if (c->fin && c->q == NULL)
		return conn_close(c);
	return ERR_OK;
}

static err_t conn_recv_echo(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
			    err_t err)
{
	struct raw_conn *c = arg;

	LWIP_UNUSED_ARG(pcb);
	LWIP_ASSERT("raw_servers: recv without a connection", c != NULL);
	if (err != ERR_OK) {
		/* 2.1.3 never does this; if data came with it, it is lost and
		 * the stream cannot be echoed faithfully */
		if (p != NULL)
			pbuf_free(p);
		return conn_abort(c);
	}
	if (p == NULL) {
		/* FIN: close once everything received has been written back */
		c->fin = true;
		return echo_flush(c);
	}
	c->srv->st.bytes_in += p->tot_len;
	if (c->q == NULL) {
		c->q = p;
	} else if ((u32_t)c->q->tot_len + p->tot_len > 0xffffu) {
		/* tot_len is 16 bits; the queue never exceeds the receive
		 * window (at most 0xffff without window scaling) */
		pbuf_free(p);
		return conn_abort(c);
	} else {
		pbuf_cat(c->q, p);	/* the queue takes over our reference */
	}
	return echo_flush(c);
}

static err_t conn_recv_discard(void *arg, struct tcp_pcb *pcb,
			       struct pbuf *p, err_t err)
{
	struct raw_conn *c = arg;

	LWIP_ASSERT("raw_servers: recv without a connection", c != NULL);
	if (p == NULL)
		return err == ERR_OK ? conn_close(c) : conn_abort(c);
	c->srv->st.bytes_in += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return err == ERR_OK ? ERR_OK : conn_abort(c);
}

static err_t conn_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct raw_conn *c = arg;

	LWIP_UNUSED_ARG(pcb);
	LWIP_UNUSED_ARG(len);
	if (c == NULL)
		return ERR_OK;
	if (c->closing)
		return conn_close(c);
	return echo_flush(c);
}

static err_t conn_poll(void *arg, struct tcp_pcb *pcb)
{
	struct raw_conn *c = arg;

	LWIP_UNUSED_ARG(pcb);
	if (c == NULL)
		return ERR_OK;
	if (c->closing)
		return conn_close(c);
	if (is_echo(c) && c->q != NULL)
		return echo_flush(c);
	return ERR_OK;
}

/* The PCB is already freed: give the entry back, nothing else. */
static void conn_err(void *arg, err_t err)
{
	struct raw_conn *c = arg;

	LWIP_UNUSED_ARG(err);
	if (c == NULL)
		return;
	c->srv->st.errors++;
	conn_free(c);
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct raw_server *s = arg;
	struct raw_conn *c;

	/* lwIP reports a PCB it could not allocate as (NULL, ERR_MEM) and
	 * waits for the peer to retransmit its SYN */
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	c = conn_alloc();
	if (c == NULL) {
		/* no err callback is set yet: nothing runs for this abort */
		s->st.refused++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->srv = s;
	c->q = NULL;
	c->fin = false;
	c->closing = false;
	conn_attach(c);
	/* request/response latency must not wait for an ACK of the last reply */
	if (is_echo(c))
		tcp_nagle_disable(pcb);
	s->st.conns++;
	return ERR_OK;
}

static int listen_on(struct raw_server *s, enum raw_server_kind kind,
		     uint16_t port)
{
	struct tcp_pcb *pcb, *lpcb;
	err_t err;

	s->kind = kind;
	if (port == 0)
		return 0;
	pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (pcb == NULL)
		return -ENOMEM;
	/* no SOF_REUSEADDR: with it, tcp_listen misses a listener on the
	 * same port bound to 0.0.0.0 rather than "any type" (ip_addr_cmp
	 * compares the address type), and two servers would share the port */
	if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		tcp_close(pcb);		/* CLOSED: freed at once, cannot fail */
		return -EADDRINUSE;
	}
	lpcb = tcp_listen_with_backlog_and_err(pcb, RAW_SERVERS_BACKLOG, &err);
	if (lpcb == NULL) {
		tcp_close(pcb);		/* left to us on failure */
		return err == ERR_USE ? -EADDRINUSE : -ENOMEM;
	}
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, srv_accept);
	s->lpcb = lpcb;
	return 0;
}

/* see raw_servers.h */
int raw_servers_start(uint16_t echo_port, uint16_t discard_port,
		      uint16_t rr_port)
{
	const uint16_t ports[RAW_SERVER_KINDS] = {
		[RAW_SERVER_ECHO] = echo_port,
		[RAW_SERVER_DISCARD] = discard_port,
		[RAW_SERVER_RR] = rr_port,
	};
	int ret = 0;

	if (started)
		return -EALREADY;
	if (echo_port == 0 && discard_port == 0 && rr_port == 0)
		return -EINVAL;
	if ((echo_port != 0 && (echo_port == discard_port ||
				echo_port == rr_port)) ||
	    (discard_port != 0 && discard_port == rr_port))
		return -EINVAL;

	for (int k = 0; k < RAW_SERVER_KINDS; k++) {
		struct raw_server_stats zero = { 0 };

		servers[k].st = zero;
		servers[k].lpcb = NULL;
	}
	for (int k = 0; k < RAW_SERVER_KINDS && ret == 0; k++)
		ret = listen_on(&servers[k], (enum raw_server_kind)k, ports[k]);
	if (ret != 0) {
		/* closing a listener never fails and frees it at once */
		for (int k = 0; k < RAW_SERVER_KINDS; k++) {
			if (servers[k].lpcb != NULL)
				tcp_close(servers[k].lpcb);
			servers[k].lpcb = NULL;
		}
		return ret;
	}
	started = true;
	return 0;
}

/* see raw_servers.h */
void raw_servers_stats(uint32_t *conns_out, uint64_t *bytes_in,
		       uint64_t *bytes_out)
{
	uint32_t n = 0;
	uint64_t in = 0, out = 0;

	for (int k = 0; k < RAW_SERVER_KINDS; k++) {
		n += servers[k].st.conns;
		in += servers[k].st.bytes_in;
		out += servers[k].st.bytes_out;
	}
	if (conns_out != NULL)
		*conns_out = n;
	if (bytes_in != NULL)
		*bytes_in = in;
	if (bytes_out != NULL)
		*bytes_out = out;
}

/* see raw_servers.h */
int raw_servers_stats_of(enum raw_server_kind kind,
			 struct raw_server_stats *st)
{
	if ((unsigned int)kind >= RAW_SERVER_KINDS || st == NULL)
		return -EINVAL;
	*st = servers[kind].st;
	return 0;
}

/* see raw_servers.h */
unsigned int raw_servers_active(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < RAW_SERVERS_MAX_CONNS; i++)
		if (conns[i].pcb != NULL)
			n++;
	return n;
}
