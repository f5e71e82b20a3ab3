/*
 * TLS-PSK over a stream for the TLS sockets: the DTLS/TLS-PSK core
 * (dtls/dtls.h) in stream mode, behind the face of BearSSL's engine.
 *
 * tls_sock.c drives BearSSL through five state bits and buf/ack pairs
 * (br_ssl_engine_current_state(), _sendrec_buf/_ack, _recvrec_buf/_ack,
 * _sendapp_buf/_ack, _recvapp_buf/_ack, _flush, _close, _last_error).
 * BearSSL has no PSK suites, so a PSK connection runs on the core instead;
 * this adapter gives the core the same face, so that the socket's pump,
 * recv, send and poll code is one code path for both.
 *
 * Memory: the caller's buffer (the session's I/O buffer), split in two:
 *
 *   in[0..in_cap)    one incoming record at a time. recvrec_buf() asks for
 *                    exactly the bytes that complete it (the 5-byte header,
 *                    then the body the header announces), as BearSSL does,
 *                    so nothing past a record is ever read from the
 *                    transport. The core decrypts it in place: its
 *                    plaintext (app, app_len) lies inside in[] and is
 *                    handed out by recvapp_buf() until acknowledged.
 *   out[0..out_cap)  sealed records waiting for the transport
 *                    (out[out_sent..out_len)), or, when none wait, the
 *                    plaintext being gathered for the next record at
 *                    out + PSK_PT_OFF (stage bytes; sealed in place by
 *                    flush, or when max_plain bytes are there).
 *
 * Invariants: out_sent <= out_len <= out_cap; stage > 0 only while
 * out_len == 0; app != NULL only while in_len is a whole record.
 *
 * The peer does not learn our record limit (the core has no
 * max_fragment_length): a record longer than in_cap ends the connection
 * (BR_ERR_TOO_LARGE). With the default 33178-byte buffer in_cap is 16765,
 * room for any record a TLS 1.2 AEAD peer may send.
 *
 * Not thread-safe: the socket's lock is held around every call.
 */
#ifndef ZSOCK_TLS_PSK_STREAM_H
#define ZSOCK_TLS_PSK_STREAM_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_bearssl/dtls/dtls.h"

/* where a record's plaintext starts: TLS header and explicit nonce */
#define PSK_PT_OFF (ZS_TLS_HDR + ZS_DTLS_AEAD_EXPLICIT)
/* what sealing adds: that and the largest tag (GCM's 16 bytes) */
#define PSK_REC_OVERHEAD (PSK_PT_OFF + 16)

struct zs_psk_stream {
	struct zs_dtls d;
	br_hmac_drbg_context drbg;    /* the core's randomness */

	uint8_t *in;
	size_t in_cap;
	size_t in_len;                /* bytes of the current record */
	uint8_t *app;                 /* its plaintext not yet taken */
	size_t app_len;

	uint8_t *out;
	size_t out_cap;
	size_t out_len, out_sent;     /* sealed bytes, and how many went */
	size_t stage;                 /* plaintext gathered at out + PSK_PT_OFF */
	size_t max_plain;             /* plaintext of our largest record */

	int err;                      /* a failure of ours (-errno), sticky */
	bool closing;                 /* close() ran: no more data from us */
};

/**
 * Set ps up over buf[0..len) (caller-owned, kept until the connection
 * ends) with cfg (stream mode; cfg->rand is filled in here from a DRBG
 * seeded with seed[0..seed_len), or by BearSSL's system seeder when seed
 * is NULL), and, for a client, queue its ClientHello, offering offer (a
 * session of an earlier connection, copied; NULL: none) if it fits.
 * cfg->alpn (its array and names) is kept by pointer, as zs_dtls_init()
 * says: it MUST stay valid until the connection ends; the protocol chosen
 * is zs_dtls_alpn(&ps->d) once the handshake is done, and a server's
 * refusal (no protocol in common) its no_application_protocol alert
 * (zs_psk_last_error(): BR_ERR_SEND_FATAL_ALERT + 120, the client's
 * BR_ERR_RECV_FATAL_ALERT + 120).
 * Returns 0, or zs_dtls_init()'s -EINVAL, -ENOBUFS when len cannot hold
 * two 512-byte records, -EIO when the system seeder fails.
 */
int zs_psk_start(struct zs_psk_stream *ps, struct zs_dtls_config *cfg, uint8_t *buf,
		 size_t len, const void *seed, size_t seed_len,
		 const struct zs_dtls_session *offer);

/** BR_SSL_CLOSED, or BR_SSL_SENDREC | _RECVREC | _SENDAPP | _RECVAPP bits. */
unsigned zs_psk_state(struct zs_psk_stream *ps);

/* The buf/ack pairs, as BearSSL's: a _buf call returns NULL (and *len 0)
 * when the state bit is clear; an _ack MUST NOT exceed what _buf gave. */
uint8_t *zs_psk_sendrec_buf(struct zs_psk_stream *ps, size_t *len);
void zs_psk_sendrec_ack(struct zs_psk_stream *ps, size_t len);
uint8_t *zs_psk_recvrec_buf(struct zs_psk_stream *ps, size_t *len);
void zs_psk_recvrec_ack(struct zs_psk_stream *ps, size_t len);
uint8_t *zs_psk_sendapp_buf(struct zs_psk_stream *ps, size_t *len);
void zs_psk_sendapp_ack(struct zs_psk_stream *ps, size_t len);
uint8_t *zs_psk_recvapp_buf(struct zs_psk_stream *ps, size_t *len);
void zs_psk_recvapp_ack(struct zs_psk_stream *ps, size_t len);

/** Seal the gathered plaintext into a record now (br_ssl_engine_flush). */
void zs_psk_flush(struct zs_psk_stream *ps);

/** Seal what is gathered, then queue close_notify (br_ssl_engine_close). */
void zs_psk_close(struct zs_psk_stream *ps);

/**
 * As br_ssl_engine_last_error(): BR_ERR_OK, BR_ERR_RECV_FATAL_ALERT + the
 * alert the peer sent, BR_ERR_SEND_FATAL_ALERT + the one the core sent on
 * failing, BR_ERR_TOO_LARGE (a record beyond in_cap).
 */
int zs_psk_last_error(const struct zs_psk_stream *ps);

#endif
