/*
 * TLS-PSK over a stream behind BearSSL's engine interface: see
 * psk_stream.h for the buffer layout and its invariants.
 *
 * Where the core and BearSSL differ, and what the adapter does about it:
 *  - BearSSL fails silently and is CLOSED at once; the core queues a fatal
 *    alert first. The adapter reports SENDREC until that alert is out,
 *    then CLOSED, so the socket's pump sends it like any record.
 *  - BearSSL answers a close_notify with its own; zs_dtls_close() does
 *    nothing on a context the peer closed, so here the peer's
 *    close_notify goes unanswered (RFC 5246 s7.2.1 asks for an answer;
 *    OpenSSL and BearSSL peers do not wait for it). After our own
 *    close_notify the connection reads on until the peer's, dropping its
 *    data as BearSSL does.
 *  - The core has no max_fragment_length: a record longer than the input
 *    side of the buffer is a failure of ours (BR_ERR_TOO_LARGE, no alert:
 *    the core has no call that seals one for us).
 */
#include "tls_bearssl/psk_stream.h"

#include <errno.h>
#include <string.h>

#include "engine/port/port.h"

/* the core keeps no clock; a stream runs no timer, but the calls take one */
static uint32_t now32(void)
{
	return (uint32_t)zs_port_now_ms();
}

static void drbg_rand(void *arg, void *buf, size_t len)
{
	br_hmac_drbg_generate(arg, buf, len);
}

/* Take what the core has to send (flights, alerts) while out[] is free
 * for it: not while plaintext is gathered there. */
static void refill(struct zs_psk_stream *ps)
{
	if (ps->stage > 0)
		return;
	while (ps->out_len < ps->out_cap) {
		int n = zs_dtls_output(&ps->d, ps->out + ps->out_len, ps->out_cap - ps->out_len,
				       now32());

		if (n <= 0) /* nothing more, or -ENOBUFS: after the transport took some */
			break;
		ps->out_len += (size_t)n;
	}
}

int zs_psk_start(struct zs_psk_stream *ps, struct zs_dtls_config *cfg, uint8_t *buf,
		 size_t len, const void *seed, size_t seed_len,
		 const struct zs_dtls_session *offer)
{
	static const size_t frags[] = { 16384, 4096, 2048, 1024, 512 };
	size_t i, out = 0;
	int rc;

	memset(ps, 0, sizeof(*ps));
	/* the largest record size that fits both ways; the rest is input's,
	 * which must take whatever size the peer picked */
	for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		if (len >= 2 * (frags[i] + PSK_REC_OVERHEAD)) {
			out = frags[i] + PSK_REC_OVERHEAD;
			ps->max_plain = frags[i];
			break;
		}
	}
	if (out == 0)
		return -ENOBUFS;
	ps->in = buf;
	ps->in_cap = len - out;
	ps->out = buf + len - out;
	ps->out_cap = out;

	br_hmac_drbg_init(&ps->drbg, &br_sha256_vtable, seed, seed_len);
	if (seed == NULL) { /* the system's seeder, as BearSSL's engine would */
		br_prng_seeder sys = br_prng_seeder_system(NULL);

		if (sys == NULL || !sys(&ps->drbg.vtable))
			return -EIO;
	}
	cfg->rand = drbg_rand;
	cfg->rand_arg = &ps->drbg;
	rc = zs_dtls_init(&ps->d, cfg, true);
	if (rc < 0)
		return rc;
	if (!cfg->server) {
		/* 0 (it does not fit this context) means a full handshake */
		if (offer != NULL && zs_dtls_session_set(&ps->d, offer) < 0)
			return -EINVAL;
		rc = zs_dtls_connect(&ps->d, now32());
		if (rc < 0)
			return rc;
		refill(ps);
	}
	return 0;
}

static bool failed(const struct zs_psk_stream *ps)
{
	return ps->err != 0 || zs_dtls_state(&ps->d) == ZS_DTLS_FAILED;
}

/* The peer's close_notify came: nothing more will. */
static bool peer_closed(const struct zs_psk_stream *ps)
{
	return zs_dtls_state(&ps->d) == ZS_DTLS_CLOSED &&
	       zs_dtls_alert_received(&ps->d) == ZS_ALERT_CLOSE_NOTIFY;
}

unsigned zs_psk_state(struct zs_psk_stream *ps)
{
	bool sending = ps->out_sent < ps->out_len;
	unsigned st = 0;

	if (ps->err != 0)
		return BR_SSL_CLOSED;
	if (failed(ps) || peer_closed(ps))
		return sending ? BR_SSL_SENDREC : BR_SSL_CLOSED; /* the alert goes first */
	if (sending)
		st |= BR_SSL_SENDREC;
	if (ps->app != NULL)
		st |= BR_SSL_RECVAPP;
	else
		st |= BR_SSL_RECVREC;
	if (zs_dtls_state(&ps->d) == ZS_DTLS_ESTABLISHED && !ps->closing && ps->out_len == 0)
		st |= BR_SSL_SENDAPP;
	return st;
}

uint8_t *zs_psk_sendrec_buf(struct zs_psk_stream *ps, size_t *len)
{
	*len = ps->out_len - ps->out_sent;
	if (ps->err != 0 || *len == 0) {
		*len = 0;
		return NULL;
	}
	return ps->out + ps->out_sent;
}

void zs_psk_sendrec_ack(struct zs_psk_stream *ps, size_t len)
{
	ps->out_sent += len;
	if (ps->out_sent < ps->out_len)
		return;
	ps->out_len = ps->out_sent = 0;
	refill(ps);
}

/* Bytes that complete the current record: its header first, then the
 * body the header announces (0 when the record is whole). */
static size_t missing(const struct zs_psk_stream *ps)
{
	if (ps->in_len < ZS_TLS_HDR)
		return ZS_TLS_HDR - ps->in_len;
	return ZS_TLS_HDR + ((size_t)ps->in[3] << 8 | ps->in[4]) - ps->in_len;
}

uint8_t *zs_psk_recvrec_buf(struct zs_psk_stream *ps, size_t *len)
{
	*len = 0;
	if (!(zs_psk_state(ps) & BR_SSL_RECVREC))
		return NULL;
	*len = missing(ps);
	return ps->in + ps->in_len;
}

/* The record in in[] is whole or its header is: give it to the core. */
static void process(struct zs_psk_stream *ps)
{
	uint8_t *app;
	size_t app_len;
	int rc = zs_dtls_input(&ps->d, ps->in, ps->in_len, now32(), &app, &app_len);

	if (rc < 0) {
		ps->stage = 0; /* data not yet sealed goes with the connection */
		refill(ps);   /* the alert */
		return;
	}
	if (rc == 0) { /* the header only (the core checked it) */
		if (ps->in_len + missing(ps) > ps->in_cap)
			ps->err = -EMSGSIZE;
		return;
	}
	if (app != NULL && app_len > 0) {
		ps->app = app;
		ps->app_len = app_len;
	} else {
		ps->in_len = 0;
	}
	refill(ps); /* an answer: the next flight */
}

void zs_psk_recvrec_ack(struct zs_psk_stream *ps, size_t len)
{
	size_t was = ps->in_len;

	ps->in_len += len;
	/* once when the header is complete, once when the record is */
	if ((was < ZS_TLS_HDR && ps->in_len >= ZS_TLS_HDR) || missing(ps) == 0)
		process(ps);
}

uint8_t *zs_psk_sendapp_buf(struct zs_psk_stream *ps, size_t *len)
{
	*len = 0;
	if (!(zs_psk_state(ps) & BR_SSL_SENDAPP))
		return NULL;
	*len = ps->max_plain - ps->stage;
	return ps->out + PSK_PT_OFF + ps->stage;
}

void zs_psk_sendapp_ack(struct zs_psk_stream *ps, size_t len)
{
	ps->stage += len;
	if (ps->stage == ps->max_plain)
		zs_psk_flush(ps);
}

uint8_t *zs_psk_recvapp_buf(struct zs_psk_stream *ps, size_t *len)
{
	*len = ps->app != NULL ? ps->app_len : 0;
	return ps->app;
}

void zs_psk_recvapp_ack(struct zs_psk_stream *ps, size_t len)
{
	ps->app += len;
	ps->app_len -= len;
	if (ps->app_len > 0)
		return;
	ps->app = NULL;
	ps->in_len = 0;
}

void zs_psk_flush(struct zs_psk_stream *ps)
{
	int n;

	if (ps->stage == 0 || ps->out_len != 0 || failed(ps))
		return;
	/* the plaintext is where the record's goes: sealed in place */
	n = zs_dtls_seal(&ps->d, ps->out + PSK_PT_OFF, ps->stage, ps->out, ps->out_cap);
	ps->stage = 0;
	if (n < 0) {
		/* -EOVERFLOW after 2^64 records, or the core not established
		 * (it failed meanwhile): the gathered bytes cannot go */
		if (!failed(ps))
			ps->err = n;
		return;
	}
	ps->out_len = (size_t)n;
}

void zs_psk_close(struct zs_psk_stream *ps)
{
	zs_psk_flush(ps);
	ps->closing = true;
	zs_dtls_close(&ps->d);
	if (ps->out_len == 0)
		refill(ps);
}

int zs_psk_last_error(const struct zs_psk_stream *ps)
{
	int a;

	if (ps->err == -EMSGSIZE)
		return BR_ERR_TOO_LARGE;
	if (ps->err != 0)
		return BR_ERR_BAD_STATE;
	if (zs_dtls_state(&ps->d) != ZS_DTLS_FAILED)
		return BR_ERR_OK;
	a = zs_dtls_alert_received(&ps->d);
	if (a >= 0)
		return BR_ERR_RECV_FATAL_ALERT + a;
	a = zs_dtls_alert_sent(&ps->d);
	if (a >= 0)
		return BR_ERR_SEND_FATAL_ALERT + a;
	return BR_ERR_BAD_STATE;
}
