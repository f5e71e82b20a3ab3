/*
 * ECDHE_ECDSA pieces of the handshake (RFC 8422, formerly RFC 4492, with
 * the TLS 1.2 signature encoding of RFC 5246 s4.7): P-256 only, on
 * BearSSL's constant-time curve and ECDSA code, the implementations its
 * *_get_default() functions pick for the target (m31 where 32x32->64
 * multiplications are fast, m15 on a Cortex-M3 build: BR_LOMUL). An
 * ECDHE_ECDSA handshake took 2.4 times BearSSL's own TLS one on x86-64
 * while this file used m15 everywhere (bench/dtls_bench.c).
 *
 *   ServerKeyExchange = params || sig_alg(2) || sig<0..2^16-1>
 *   params            = curve_type(1) = 3 (named_curve) || curve(2) = 23
 *                       (secp256r1) || point<1..255> (65, uncompressed)
 *   signed            = SHA-256(client_random || server_random || params),
 *                       sig_alg 0x0403 (sha256, ecdsa), ASN.1 DER signature
 *   premaster         = X coordinate of the shared point (32 bytes)
 *
 * Stack: the chain check keeps BearSSL's minimal X.509 context (about
 * 3.2 KiB) on the stack for the duration of one call; nothing here holds
 * memory outside struct zs_dtls.
 */
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <string.h>

bool zs_dtls_suite_ecdhe(uint16_t s)
{
	return s == ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
	       || s == ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
}

/* The P-256 group order n: a scalar must be in [1, n-1]. */
static const uint8_t p256_n[32] = {
	0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
	0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
};

/* 1 when 0 < k < n, computed without early exit (k is secret). */
static int scalar_ok(const uint8_t k[32])
{
	/* borrow of n - 1 - k across the bytes: none means k <= n - 1 */
	int borrow = 1, nz = 0;
	for (int i = 31; i >= 0; i--) {
		int v = (int)p256_n[i] - (int)k[i] - borrow;
		borrow = v < 0;
		nz |= k[i];
	}
	return !borrow && nz != 0;
}

int zs_dtls_ec_keygen(struct zs_dtls *d, uint8_t pub[65])
{
	/* rejection sampling: a random 256-bit string is >= n with
	 * probability about 2^-32, so this loops once in practice */
	do
		d->rand(d->rand_arg, d->ec_priv, 32);
	while (!scalar_ok(d->ec_priv));
	size_t n = br_ec_get_default()->mulgen(pub, d->ec_priv, 32,
					       BR_EC_secp256r1);
	return n == 65 ? 0 : -EINVAL;
}

int zs_dtls_ec_shared(struct zs_dtls *d, const uint8_t *peer, size_t len,
		      uint8_t pre[32])
{
	uint8_t pt[65];
	if (len != 65 || peer[0] != 4)
		return -EINVAL;
	memcpy(pt, peer, 65);
	/* mul() checks the point is on the curve */
	uint32_t ok = br_ec_get_default()->mul(pt, 65, d->ec_priv, 32,
					       BR_EC_secp256r1);
	memcpy(pre, pt + 1, 32);
	memset(pt, 0, sizeof pt);
	memset(d->ec_priv, 0, sizeof d->ec_priv);
	return ok ? 0 : -EINVAL;
}

/* ---- certificates ------------------------------------------------------- */

size_t zs_dtls_put_certs(const struct zs_dtls *d, uint8_t *b, size_t room)
{
	size_t total = 0;
	for (size_t i = 0; i < d->chain_len; i++)
		total += 3 + d->chain[i].data_len;
	if (room < 3 + total || total > 0xFFFFFF)
		return 0;
	put24(b, (uint32_t)total);
	uint8_t *p = b + 3;
	for (size_t i = 0; i < d->chain_len; i++) {
		put24(p, (uint32_t)d->chain[i].data_len);
		memcpy(p + 3, d->chain[i].data, d->chain[i].data_len);
		p += 3 + d->chain[i].data_len;
	}
	return 3 + total;
}

static int take_key(struct zs_dtls *d, const br_x509_pkey *pk)
{
	if (!pk || pk->key_type != BR_KEYTYPE_EC
	    || pk->key.ec.curve != BR_EC_secp256r1 || pk->key.ec.qlen != 65)
		return -EINVAL;
	memcpy(d->peer_key, pk->key.ec.q, 65);
	return 0;
}

/* verify_none: only decode the leaf for its key. */
static int leaf_key(struct zs_dtls *d, const uint8_t *der, size_t len)
{
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	if (br_x509_decoder_last_error(&dc) != 0)
		return -EINVAL;
	return take_key(d, br_x509_decoder_get_pkey(&dc));
}

/* Certificate message body: certificate_list<0..2^24-1> of
 * ASN.1Cert<1..2^24-1>, end entity first (RFC 5246 s7.4.2). */
int zs_dtls_check_certs(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (n < 3 || get24(b) != n - 3 || n == 3)
		return -EINVAL;
	const uint8_t *p = b + 3, *end = b + n;
	if (d->verify_none) {
		if (end - p < 3 || get24(p) > (size_t)(end - p - 3))
			return -EINVAL;
		return leaf_key(d, p + 3, get24(p));
	}
	br_x509_minimal_context xc;
	br_x509_minimal_init(&xc, &br_sha256_vtable, d->tas, d->n_tas);
	br_x509_minimal_set_hash(&xc, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_hash(&xc, br_sha384_ID, &br_sha384_vtable);
	br_x509_minimal_set_hash(&xc, br_sha512_ID, &br_sha512_vtable);
	br_x509_minimal_set_ecdsa(&xc, br_ec_get_default(),
				  br_ecdsa_vrfy_asn1_get_default());
	br_x509_minimal_set_rsa(&xc, br_rsa_pkcs1_vrfy_get_default());
	br_x509_minimal_set_time(&xc, d->x509_days, d->x509_seconds);
	const br_x509_class **vt = &xc.vtable;
	(*vt)->start_chain(vt, d->server_name);
	while (p < end) {
		if (end - p < 3 || get24(p) > (size_t)(end - p - 3))
			return -EINVAL;
		size_t len = get24(p);
		(*vt)->start_cert(vt, (uint32_t)len);
		(*vt)->append(vt, p + 3, len);
		(*vt)->end_cert(vt);
		p += 3 + len;
	}
	unsigned err = (*vt)->end_chain(vt), usages = 0;
	const br_x509_pkey *pk = err ? NULL : (*vt)->get_pkey(vt, &usages);
	if (!err && !(usages & BR_KEYTYPE_SIGN))
		err = BR_ERR_X509_FORBIDDEN_KEY_USAGE;
	/* BR_ERR_X509_* codes are 32..63 */
	d->verify_res = (int8_t)(err < 127 ? err : 127);
	if (!err)
		return take_key(d, pk);
	if (!d->verify_optional)
		return -EACCES;
	/* TLS_PEER_VERIFY_OPTIONAL: the verdict is kept, the handshake goes
	 * on with the leaf's key (its framing was checked above) */
	return leaf_key(d, b + 6, get24(b + 3));
}

/* ---- ServerKeyExchange signature ---------------------------------------- */

static void params_hash(const struct zs_dtls *d, const uint8_t *params,
			size_t plen, uint8_t h[32])
{
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, d->client_random, 32);
	br_sha256_update(&c, d->server_random, 32);
	br_sha256_update(&c, params, plen);
	br_sha256_out(&c, h);
}

size_t zs_dtls_ske_sign(const struct zs_dtls *d, const uint8_t *params,
			size_t plen, uint8_t sig[72])
{
	uint8_t h[32];
	params_hash(d, params, plen, h);
	return br_ecdsa_sign_asn1_get_default()(br_ec_get_default(),
						 &br_sha256_vtable, h,
						 d->ec_key, sig);
}

int zs_dtls_ske_verify(const struct zs_dtls *d, const uint8_t *params,
		       size_t plen, const uint8_t *sig, size_t slen)
{
	uint8_t h[32];
	params_hash(d, params, plen, h);
	br_ec_public_key pk = { BR_EC_secp256r1, (unsigned char *)d->peer_key,
				65 };
	return br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), h, 32,
						 &pk, sig, slen)
		       ? 0
		       : -EACCES;
}
