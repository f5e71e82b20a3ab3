/*
 * Stateless cookies, RFC 6347 s4.2.1: the server answers a ClientHello
 * without a valid cookie with a HelloVerifyRequest computed from the
 * datagram alone, so a flood of (possibly spoofed) ClientHellos costs it no
 * memory and gets back a reply no bigger than what came in.
 *
 *   cookie = HMAC-SHA256(secret, len16(addr) || addr || client_version ||
 *                        random || session_id || cipher_suites ||
 *                        compression_methods)
 *
 * i.e. the peer's address (as the caller writes it) and every ClientHello
 * field the client must repeat unchanged, but not the cookie itself nor the
 * extensions. Checked in constant time.
 */
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <string.h>

/* The ClientHello fields the cookie covers, from the body b[0..n). */
struct ch_fields {
	const uint8_t *head;   /* version, random, session_id */
	size_t head_len;
	const uint8_t *cookie;
	size_t cookie_len;
	const uint8_t *tail;   /* cipher_suites, compression_methods */
	size_t tail_len;
};

static int parse_ch(const uint8_t *b, size_t n, struct ch_fields *f)
{
	if (n < 35 || b[34] > 32 || n < 35u + b[34] + 1)
		return -EINVAL;
	f->head = b;
	f->head_len = 35u + b[34];
	const uint8_t *p = b + f->head_len, *end = b + n;
	f->cookie_len = p[0];
	f->cookie = p + 1;
	/* lengths compared as sizes, never pointers past the end */
	if ((size_t)(end - p) < 1 + f->cookie_len + 2)
		return -EINVAL;
	p += 1 + f->cookie_len;
	size_t ns = get16(p), left = (size_t)(end - p);
	if (left < 2 + ns + 1 || left < 2 + ns + 1 + p[2 + ns])
		return -EINVAL;
	f->tail = p;
	f->tail_len = 2 + ns + 1 + p[2 + ns];
	return 0;
}

static void cookie_of(const uint8_t *secret, size_t secret_len,
		      const uint8_t *addr, size_t addr_len,
		      const struct ch_fields *f, uint8_t out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	uint8_t alen[2];
	put16(alen, (uint32_t)addr_len);
	br_hmac_key_init(&kc, &br_sha256_vtable, secret, secret_len);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, alen, 2);
	br_hmac_update(&hc, addr, addr_len);
	br_hmac_update(&hc, f->head, f->head_len);
	br_hmac_update(&hc, f->tail, f->tail_len);
	br_hmac_out(&hc, out);
}

/* see dtls.h */
int zs_dtls_cookie_answer(const uint8_t *secret, size_t secret_len,
			  const uint8_t *addr, size_t addr_len,
			  const uint8_t *dgram, size_t len, uint8_t *reply,
			  size_t reply_cap, size_t *reply_len)
{
	*reply_len = 0;
	/* one unfragmented ClientHello in an epoch-0 handshake record */
	if (len < ZS_DTLS_HDR + HS_HDR || dgram[0] != CT_HANDSHAKE
	    || dgram[1] != 0xFE || get16(dgram + 3) != 0)
		return -EINVAL;
	size_t flen = get16(dgram + 11);
	const uint8_t *h = dgram + ZS_DTLS_HDR;
	if (flen > len - ZS_DTLS_HDR || flen < HS_HDR
	    || h[0] != HT_CLIENT_HELLO || get24(h + 6) != 0
	    || get24(h + 9) != get24(h + 1) || get24(h + 1) > flen - HS_HDR)
		return -EINVAL;
	struct ch_fields f;
	if (parse_ch(h + HS_HDR, get24(h + 1), &f) < 0)
		return -EINVAL;

	uint8_t want[32];
	cookie_of(secret, secret_len, addr, addr_len, &f, want);
	int ok = f.cookie_len == ZS_DTLS_COOKIE_LEN
		 && zs_ct_eq(want, f.cookie, ZS_DTLS_COOKIE_LEN);
	if (ok)
		return 1;
	if (reply_cap < ZS_DTLS_HDR + HS_HDR + 3 + ZS_DTLS_COOKIE_LEN)
		return -ENOBUFS;

	/* HelloVerifyRequest: record number and message_seq copied from the
	 * ClientHello (s4.2.1, s4.2.2); server_version DTLS 1.0 as s4.2.1
	 * recommends whatever version follows. */
	uint8_t *r = reply;
	size_t body = 3 + ZS_DTLS_COOKIE_LEN;
	r[0] = CT_HANDSHAKE;
	put16(r + 1, DTLS_V10);
	memcpy(r + 3, dgram + 3, 8);           /* epoch 0, its seq */
	put16(r + 11, (uint32_t)(HS_HDR + body));
	r += ZS_DTLS_HDR;
	r[0] = HT_HELLO_VERIFY;
	put24(r + 1, (uint32_t)body);
	memcpy(r + 4, h + 4, 2);
	put24(r + 6, 0);
	put24(r + 9, (uint32_t)body);
	put16(r + HS_HDR, DTLS_V10);
	r[HS_HDR + 2] = ZS_DTLS_COOKIE_LEN;
	memcpy(r + HS_HDR + 3, want, ZS_DTLS_COOKIE_LEN);
	*reply_len = ZS_DTLS_HDR + HS_HDR + body;
	return 0;
}
