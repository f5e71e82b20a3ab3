/*
 * An in-memory client/server pair of DTLS cores for the tests: two
 * datagram queues with seeded loss, reordering and duplication, a fake
 * millisecond clock, the server's stateless cookie gate in front of its
 * context, and logs of the application data each side received.
 * Header-only (static functions): each test file is one executable.
 */
#ifndef ZSOCK_TEST_DTLS_PAIR_H
#define ZSOCK_TEST_DTLS_PAIR_H

#include "tls_bearssl/dtls/dtls.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#define DP_QLEN 256
#define DP_DGRAM 1500
#define DP_LOG 65536

struct dp_dgram {
	uint16_t len;
	uint8_t b[DP_DGRAM];
};

struct dp_queue {
	struct dp_dgram q[DP_QLEN];
	size_t n;
};

struct dp_side {
	struct zs_dtls d;
	bool up;                  /* server: context created */
	struct zs_dtls_config cfg;
	uint8_t log[DP_LOG];      /* application data received, in order */
	size_t log_len;
	size_t n_app;             /* records of it */
	int err;                  /* first negative return seen */
};

struct dp_pair {
	struct dp_side c, s;
	struct dp_queue to_s, to_c;
	uint32_t now;
	uint64_t rng;
	/* impairments, percent */
	unsigned loss, reorder, dup;
	unsigned mutate;          /* percent: also deliver a damaged copy */
	uint8_t secret[32];
	uint8_t addr[6];
	size_t cookies_sent;
	/* handshake messages each side's core put out in plaintext (epoch 0,
	 * counted at their first fragment, retransmissions included), by
	 * type: [0] the client's, [1] the server's */
	unsigned hs_sent[2][32];
	/* server keys by identity */
	const char *known_id;
	const uint8_t *known_psk;
	size_t known_psk_len;
};

static uint64_t dp_next(uint64_t *s)
{
	/* xorshift64*: a seeded, reproducible stream; not for keys */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void dp_rand(void *arg, void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(dp_next(arg) >> 32);
}

static int dp_lookup(void *arg, const uint8_t *id, size_t id_len,
		     uint8_t *psk, size_t psk_max)
{
	struct dp_pair *p = arg;
	if (!p->known_id || id_len != strlen(p->known_id)
	    || memcmp(id, p->known_id, id_len) != 0
	    || p->known_psk_len > psk_max)
		return -1;
	memcpy(psk, p->known_psk, p->known_psk_len);
	return (int)p->known_psk_len;
}

static void dp_push(struct dp_pair *p, struct dp_queue *q, const uint8_t *b,
		    size_t len);

/* A damaged copy: bit flips, a cut, a length or fragment field changed,
 * bytes repeated -- the things a fuzzer would try first. */
static void dp_push_mutant(struct dp_pair *p, struct dp_queue *q,
			   const uint8_t *b, size_t len)
{
	uint8_t m[DP_DGRAM];
	size_t n = len;
	memcpy(m, b, len);
	unsigned kind = (unsigned)(dp_next(&p->rng) % 6);
	size_t at = n ? (size_t)(dp_next(&p->rng) % n) : 0;
	switch (kind) {
	case 0: /* a few bit flips */
		for (int i = 0; i < 3 && n; i++)
			m[dp_next(&p->rng) % n] ^=
				(uint8_t)(1u << (dp_next(&p->rng) % 8));
		break;
	case 1: /* cut */
		n = at;
		break;
	case 2: /* a record or handshake length field */
		if (n > 25) {
			static const size_t fields[] = { 11, 12, 14, 15, 16,
							 20, 21, 23, 24 };
			m[fields[dp_next(&p->rng) % 9]] =
				(uint8_t)dp_next(&p->rng);
		}
		break;
	case 3: /* repeat a tail */
		if (n && n + (n - at) <= sizeof m) {
			memcpy(m + n, m + at, n - at);
			n += n - at;
		}
		break;
	case 4: /* random byte anywhere */
		if (n)
			m[at] = (uint8_t)dp_next(&p->rng);
		break;
	default: /* 0xFF run */
		for (size_t i = at; i < n && i < at + 8; i++)
			m[i] = 0xFF;
	}
	unsigned save = p->mutate;
	p->mutate = 0;
	dp_push(p, q, m, n);
	p->mutate = save;
}

static void dp_push(struct dp_pair *p, struct dp_queue *q, const uint8_t *b,
		    size_t len)
{
	unsigned copies = 1;
	if (p->mutate && dp_next(&p->rng) % 100 < p->mutate)
		dp_push_mutant(p, q, b, len);
	if (p->loss && dp_next(&p->rng) % 100 < p->loss)
		return;
	if (p->dup && dp_next(&p->rng) % 100 < p->dup)
		copies = 2;
	while (copies-- && q->n < DP_QLEN) {
		size_t at = q->n;
		if (p->reorder && q->n && dp_next(&p->rng) % 100 < p->reorder)
			at = dp_next(&p->rng) % q->n;
		memmove(&q->q[at + 1], &q->q[at], (q->n - at) * sizeof q->q[0]);
		q->q[at].len = (uint16_t)len;
		memcpy(q->q[at].b, b, len);
		q->n++;
	}
}

static bool dp_pop(struct dp_queue *q, struct dp_dgram *out)
{
	if (!q->n)
		return false;
	*out = q->q[0];
	memmove(&q->q[0], &q->q[1], (q->n - 1) * sizeof q->q[0]);
	q->n--;
	return true;
}

static void dp_note(struct dp_side *s, int rc)
{
	if (rc < 0 && !s->err)
		s->err = rc;
}

/* Feed one datagram to a side; application data goes to its log. */
static void dp_feed(struct dp_pair *p, struct dp_side *s, uint8_t *b,
		    size_t len)
{
	size_t off = 0;
	while (off < len) {
		uint8_t *app;
		size_t app_len;
		int n = zs_dtls_input(&s->d, b + off, len - off, p->now, &app,
				      &app_len);
		if (n < 0) {
			dp_note(s, n);
			return;
		}
		if (app && s->log_len + app_len <= DP_LOG) {
			memcpy(s->log + s->log_len, app, app_len);
			s->log_len += app_len;
			s->n_app++;
		}
		off += (size_t)n;
	}
}

/* The server's front door: no context until a ClientHello has a cookie. */
static void dp_server_rx(struct dp_pair *p, struct dp_dgram *g)
{
	if (p->s.up) {
		dp_feed(p, &p->s, g->b, g->len);
		return;
	}
	uint8_t reply[128];
	size_t rlen;
	int rc = zs_dtls_cookie_answer(p->secret, sizeof p->secret, p->addr,
				       sizeof p->addr, g->b, g->len, reply,
				       sizeof reply, &rlen);
	if (rc == 0) {
		p->cookies_sent++;
		dp_push(p, &p->to_c, reply, rlen);
	} else if (rc == 1) {
		if (zs_dtls_init(&p->s.d, &p->s.cfg, false) == 0) {
			p->s.up = true;
			dp_feed(p, &p->s, g->b, g->len);
		}
	}
}

/* Count the plaintext handshake messages in a datagram side s sent. */
static void dp_count(struct dp_pair *p, struct dp_side *s, const uint8_t *b,
		     size_t len)
{
	unsigned *cnt = p->hs_sent[s == &p->c ? 0 : 1];
	for (size_t off = 0; off + ZS_DTLS_HDR <= len;) {
		size_t flen = (size_t)b[off + 11] << 8 | b[off + 12];
		bool hs0 = b[off] == 22 && b[off + 3] == 0 && b[off + 4] == 0;
		const uint8_t *f = b + off + ZS_DTLS_HDR, *end = f + flen;
		if (off + ZS_DTLS_HDR + flen > len)
			break;
		while (hs0 && end - f >= 12) {
			size_t fo = (size_t)f[6] << 16 | f[7] << 8 | f[8];
			size_t fl = (size_t)f[9] << 16 | f[10] << 8 | f[11];
			if (fo == 0 && f[0] < 32)
				cnt[f[0]]++;
			if (fl > (size_t)(end - f) - 12)
				break;
			f += 12 + fl;
		}
		off += ZS_DTLS_HDR + flen;
	}
}

static bool dp_drain_out(struct dp_pair *p, struct dp_side *s,
			 struct dp_queue *q)
{
	uint8_t b[DP_DGRAM];
	bool any = false;
	if (s == &p->s && !p->s.up)
		return false;
	for (;;) {
		int n = zs_dtls_output(&s->d, b, sizeof b, p->now);
		if (n <= 0) {
			dp_note(s, n);
			return any;
		}
		any = true;
		dp_count(p, s, b, (size_t)n);
		dp_push(p, q, b, (size_t)n);
	}
}

/* Move everything that can move now; true if something did. */
static bool dp_step(struct dp_pair *p)
{
	bool any = dp_drain_out(p, &p->c, &p->to_s);
	any |= dp_drain_out(p, &p->s, &p->to_c);
	struct dp_dgram g;
	while (dp_pop(&p->to_s, &g)) {
		any = true;
		dp_server_rx(p, &g);
		dp_drain_out(p, &p->s, &p->to_c);
	}
	while (dp_pop(&p->to_c, &g)) {
		any = true;
		dp_feed(p, &p->c, g.b, g.len);
		dp_drain_out(p, &p->c, &p->to_s);
	}
	return any;
}

/* Advance the clock to the earliest deadline of either side. */
static bool dp_tick(struct dp_pair *p)
{
	uint32_t a, best = 0;
	bool have = false;
	struct dp_side *sides[2] = { &p->c, &p->s };
	for (int i = 0; i < 2; i++) {
		if (i == 1 && !p->s.up)
			continue;
		if (zs_dtls_deadline(&sides[i]->d, &a)
		    && (!have || (int32_t)(a - best) < 0)) {
			best = a;
			have = true;
		}
	}
	if (!have)
		return false;
	if ((int32_t)(best - p->now) > 0)
		p->now = best;
	return true;
}

static bool dp_done(const struct dp_pair *p)
{
	return zs_dtls_state(&p->c.d) == ZS_DTLS_ESTABLISHED && p->s.up
	       && zs_dtls_state(&p->s.d) == ZS_DTLS_ESTABLISHED;
}

static bool dp_failed(const struct dp_pair *p)
{
	return zs_dtls_state(&p->c.d) == ZS_DTLS_FAILED
	       || (p->s.up && zs_dtls_state(&p->s.d) == ZS_DTLS_FAILED);
}

/* Run until both are established, or something failed, or max_ticks timer
 * expiries passed. */
static void dp_run(struct dp_pair *p, int max_ticks)
{
	for (int t = 0; t <= max_ticks; t++) {
		while (dp_step(p))
			;
		if (dp_done(p) || dp_failed(p))
			return;
		if (!dp_tick(p))
			return;
	}
}

/* Default set-up: PSK "0123456789abcdef", identity "client1". */
static const uint8_t dp_psk[16] = "0123456789abcdef";

static void dp_init(struct dp_pair *p, uint64_t seed)
{
	memset(p, 0, sizeof *p);
	p->rng = seed ? seed : 1;
	memset(p->secret, 0x5A, sizeof p->secret);
	memcpy(p->addr, "\x7f\x00\x00\x01\x30\x39", 6);
	p->known_id = "client1";
	p->known_psk = dp_psk;
	p->known_psk_len = sizeof dp_psk;
	p->c.cfg = (struct zs_dtls_config){
		.psk = dp_psk, .psk_len = sizeof dp_psk,
		.psk_id = (const uint8_t *)"client1", .psk_id_len = 7,
		.rand = dp_rand, .rand_arg = &p->rng,
		.timeout_min_ms = 100, .timeout_max_ms = 6400,
	};
	p->s.cfg = (struct zs_dtls_config){
		.server = true, .psk_lookup = dp_lookup, .psk_arg = p,
		.rand = dp_rand, .rand_arg = &p->rng,
		.timeout_min_ms = 100, .timeout_max_ms = 6400,
	};
	p->now = 1000;
}

static int dp_start(struct dp_pair *p)
{
	int rc = zs_dtls_init(&p->c.d, &p->c.cfg, false);
	if (rc == 0)
		rc = zs_dtls_connect(&p->c.d, p->now);
	return rc;
}

/* Seal len bytes from side s into the queue towards the other side. */
static int dp_send(struct dp_pair *p, struct dp_side *s, const void *data,
		   size_t len)
{
	uint8_t b[DP_DGRAM];
	int n = zs_dtls_seal(&s->d, data, len, b, sizeof b);
	if (n > 0)
		dp_push(p, s == &p->c ? &p->to_s : &p->to_c, b, (size_t)n);
	return n;
}

/* The client offers *suite alone (suite outlives the pair's use). */
static inline void dp_client_suite(struct dp_pair *p, const uint16_t *suite)
{
	p->c.cfg.suites = suite;
	p->c.cfg.n_suites = 1;
}

/* dp_run() for first ticks, then up to 50 more rounds of one tick and 10:
 * through loss, the side whose last flight was lost waits for the peer's
 * timer. */
static inline void dp_settle(struct dp_pair *p, int first)
{
	dp_run(p, first);
	for (int k = 0; k < 50 && !dp_done(p) && !dp_failed(p); k++) {
		dp_tick(p);
		dp_run(p, 10);
	}
}

/* Fails the test unless both sides are established, saying each side's
 * state, error and alerts. */
static inline void dp_assert_done(const struct dp_pair *p)
{
	cr_assert(dp_done(p),
		  "c %d/%d alert s %d r %d; s %d/%d alert s %d r %d",
		  zs_dtls_state(&p->c.d), p->c.err, zs_dtls_alert_sent(&p->c.d),
		  zs_dtls_alert_received(&p->c.d), zs_dtls_state(&p->s.d),
		  p->s.err, zs_dtls_alert_sent(&p->s.d),
		  zs_dtls_alert_received(&p->s.d));
}

/* A run that did not complete failed cleanly: the side that failed (the
 * client if it did) holds a negative error. */
static inline void dp_assert_failed_cleanly(struct dp_pair *p)
{
	struct zs_dtls *d = zs_dtls_state(&p->c.d) == ZS_DTLS_FAILED
				    ? &p->c.d : &p->s.d;
	if (zs_dtls_state(d) == ZS_DTLS_FAILED)
		cr_assert_lt(zs_dtls_error(d), 0);
}

/* Once the client has sent its 10 "data" records: the queues run dry, the
 * server got whole copies only (damaged ones never get through as data). */
static inline void dp_assert_data_only(struct dp_pair *p)
{
	while (dp_step(p))
		;
	cr_assert_eq(p->s.log_len, 4 * p->s.n_app);
	cr_assert_leq(p->s.n_app, 10);
	for (size_t k = 0; k < p->s.n_app; k++)
		cr_assert_arr_eq(p->s.log + 4 * k, "data", 4);
}

/* ---- stream mode: two byte pipes, bytes handed over in random cuts ---- */

struct sp_side {
	struct zs_dtls d;
	uint8_t in[1 << 15];      /* received, not yet consumed */
	size_t in_len;
	uint8_t log[DP_LOG];
	size_t log_len;
	int err;
};

/* a's output into b's input. */
static inline void sp_move(struct sp_side *a, struct sp_side *b)
{
	for (;;) {
		size_t room = sizeof b->in - b->in_len;
		int n = zs_dtls_output(&a->d, b->in + b->in_len, room, 0);
		if (n <= 0) {
			if (n < 0 && !a->err)
				a->err = n;
			return;
		}
		b->in_len += (size_t)n;
	}
}

/* b reads a random prefix of what it has (a TCP read of any size). */
static inline bool sp_read(struct sp_side *b, uint64_t *rng)
{
	if (!b->in_len)
		return false;
	size_t have = 1 + (size_t)(dp_next(rng) % b->in_len), off = 0;
	for (;;) {
		uint8_t *app;
		size_t alen;
		int n = zs_dtls_input(&b->d, b->in + off, have - off, 0, &app,
				      &alen);
		if (n < 0) {
			if (!b->err)
				b->err = n;
			b->in_len = 0;
			return true;
		}
		if (n == 0)
			break;
		if (app && b->log_len + alen <= DP_LOG) {
			memcpy(b->log + b->log_len, app, alen);
			b->log_len += alen;
		}
		off += (size_t)n;
	}
	memmove(b->in, b->in + off, b->in_len - off);
	b->in_len -= off;
	return off > 0;
}

static inline void sp_run(struct sp_side *c, struct sp_side *s, uint64_t *rng)
{
	for (int i = 0; i < 2000; i++) {
		sp_move(c, s);
		sp_move(s, c);
		/* stop once one failed and its alert got across */
		if (!c->in_len && !s->in_len && (c->err || s->err))
			return;
		sp_read(s, rng);
		sp_read(c, rng);
	}
}

#endif
