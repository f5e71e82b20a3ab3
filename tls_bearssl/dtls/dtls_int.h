/*
 * Between the files of the DTLS core (dtls_record.c, dtls_hs.c,
 * dtls_cookie.c); nothing outside tls_bearssl/dtls includes this.
 */
#ifndef ZSOCK_TLS_DTLS_INT_H
#define ZSOCK_TLS_DTLS_INT_H

#include "tls_bearssl/dtls/dtls.h"

#define DTLS_V12 0xFEFD   /* RFC 6347 s4.1: {254, 253} */
#define DTLS_V10 0xFEFF
#define TLS_V12 0x0303
#define HS_HDR 12         /* RFC 6347 s4.2.2 handshake header */

enum {
	CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APP = 23,
};
enum {
	HT_CLIENT_HELLO = 1, HT_SERVER_HELLO = 2, HT_HELLO_VERIFY = 3,
	HT_CERTIFICATE = 11, HT_SERVER_KX = 12, HT_CERT_REQUEST = 13,
	HT_SERVER_DONE = 14, HT_CLIENT_KX = 16,
	HT_FINISHED = 20,
};
#define NO_ALERT 255
#define EXT_ALPN 0x0010  /* RFC 7301 s3.1 */
#define ZS_DTLS_ALPN_NONE 255  /* d->alpn_sel: nothing selected */

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	put16(p + 1, v);
}
static inline void put48(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(v >> (40 - 8 * i));
}
static inline uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}
static inline uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | get16(p + 1);
}
static inline uint64_t get48(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v;
}

/* Constant-time equality of secrets (Finished, cookies): the time does not
 * depend on where they differ. 1 equal, 0 not. */
static inline int zs_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= (uint8_t)(a[i] ^ b[i]);
	return acc == 0;
}

/* dtls_record.c */
/** AEAD tag length of suite: 8 (CCM_8) or 16 (GCM). */
size_t zs_dtls_tag_len(uint16_t suite);
/** Derive the key block from d->master and install both directions'
 *  epoch-1 keys (RFC 5246 s6.3). */
void zs_dtls_install_keys(struct zs_dtls *d);
/** Fatal: record err, queue alert (NO_ALERT: none), state FAILED.
 *  Returns err. */
int zs_dtls_fail(struct zs_dtls *d, uint8_t alert, int err);
/** Arm nothing, rewind the send cursor to the start of the flight. */
void zs_dtls_flight_resend(struct zs_dtls *d);

/* dtls_hs.c */
/** The body of a handshake record (one or more fragments). Returns 0 or a
 *  negative errno when the handshake failed. */
int zs_dtls_hs_input(struct zs_dtls *d, const uint8_t *p, size_t len,
		     uint16_t epoch, uint64_t rec_seq, uint32_t now);
/** A ChangeCipherSpec came (well formed). Returns 0 or the failure. */
int zs_dtls_hs_ccs(struct zs_dtls *d);
/** Client: queue the first ClientHello. */
int zs_dtls_hs_start(struct zs_dtls *d, uint32_t now);
/** Start sending a new flight at time now (timer reset to min). */
void zs_dtls_flight_start(struct zs_dtls *d);
/** Server: drop this association's session from the cache (it failed). */
void zs_dtls_cache_forget(struct zs_dtls *d);

/* dtls_ecdhe.c */
bool zs_dtls_suite_ecdhe(uint16_t suite);
/** New ephemeral scalar in d->ec_priv; its public point (04 || X || Y). */
int zs_dtls_ec_keygen(struct zs_dtls *d, uint8_t pub[65]);
/** X of d->ec_priv times peer (checked on the curve); wipes ec_priv. */
int zs_dtls_ec_shared(struct zs_dtls *d, const uint8_t *peer, size_t len,
		      uint8_t pre[32]);
/** Certificate body for d->chain into b; 0 if room is short. */
size_t zs_dtls_put_certs(const struct zs_dtls *d, uint8_t *b, size_t room);
/** Check a Certificate body and keep the leaf's P-256 key: 0, -EINVAL
 *  (malformed, not P-256), -EACCES (chain not trusted). The verdict goes
 *  to d->verify_res; verify_optional: 0 on an untrusted chain too. */
int zs_dtls_check_certs(struct zs_dtls *d, const uint8_t *b, size_t n);
size_t zs_dtls_ske_sign(const struct zs_dtls *d, const uint8_t *params,
			size_t plen, uint8_t sig[72]);
int zs_dtls_ske_verify(const struct zs_dtls *d, const uint8_t *params,
		       size_t plen, const uint8_t *sig, size_t slen);

#endif
