/*
 * The DTLS 1.2 handshake (RFC 6347 s4.2), PSK (RFC 4279 s2) or
 * ECDHE_ECDSA (RFC 8422, pieces in dtls_ecdhe.c), both roles:
 *
 *   client                                server
 *   ClientHello (no cookie)      -->
 *                                <--      HelloVerifyRequest (stateless,
 *                                         dtls_cookie.c, no context yet)
 *   ClientHello (cookie)         -->
 *                                <--      ServerHello
 *                                         ECDHE: Certificate
 *                                         [PSK: ServerKeyExchange: hint]
 *                                         ECDHE: ServerKeyExchange, signed
 *                                         [ECDHE: CertificateRequest]
 *                                         ServerHelloDone
 *   [ECDHE: Certificate, empty]
 *   ClientKeyExchange (identity / point)
 *   ChangeCipherSpec, Finished   -->
 *                                <--      ChangeCipherSpec, Finished
 *
 * Resumption (RFC 5246 s7.3, RFC 6347 s4.2.4 Figure 2): the ClientHello
 * offers a session ID; a server that has it in its cache (and still takes
 * its suite) answers with the same ID and the abbreviated handshake runs,
 * keys from the stored master secret and the two new randoms:
 *
 *   ClientHello (cookie, id)     -->
 *                                <--      ServerHello (same id)
 *                                         ChangeCipherSpec, Finished
 *   ChangeCipherSpec, Finished   -->
 *
 * The flights swap roles: the server's is timed (it waits for the
 * client's Finished, resending on its timer or on a repeated ClientHello),
 * the client's is the last one, sent again only when the server repeats
 * its flight. Any other answer (a new or empty ID) is a full handshake.
 *
 * Extensions: ClientHello carries renegotiation_info (empty), for
 * ECDHE_ECDSA supported_groups, ec_point_formats and signature_algorithms,
 * and with a list ALPN (RFC 7301); ServerHello answers renegotiation_info
 * and ALPN (the server's first name the client offers, chosen in every
 * handshake, resumed or not). The chosen name is kept as an index into the
 * caller's list (d->alpn_sel), never copied.
 *
 * The same code runs TLS 1.2 over a stream (d->stream): no cookie round,
 * 4-byte message headers, no fragments or retransmission (stream_input()).
 *
 * Incoming messages: one at a time, the one numbered rx_msg_seq, assembled
 * from its fragments in d->reasm with a bit per byte received (overlaps and
 * duplicates are harmless). Fragments of later messages are dropped, not
 * buffered: the peer's retransmission brings them back (RFC 6347 s4.2.2
 * allows either), which costs a round trip under reordering but no RAM.
 * Fragments of earlier messages mean the peer repeats its last flight
 * because ours was lost: we resend ours (s4.2.4).
 *
 * Transcript: SHA-256 over every message as if unfragmented, 12-byte
 * header with fragment_offset 0 and fragment_length = length (s4.2.6),
 * from the ClientHello that carries the cookie on; the first ClientHello
 * and the HelloVerifyRequest are left out.
 */
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <string.h>

enum hs_step {
	C_WAIT_SH = 1,   /* ServerHello or HelloVerifyRequest */
	C_WAIT_SKE_SHD,  /* PSK: ServerKeyExchange or ServerHelloDone */
	C_WAIT_SHD,
	C_WAIT_CERT,     /* ECDHE: Certificate */
	C_WAIT_SKE_EC,   /* ECDHE: ServerKeyExchange */
	C_WAIT_CR_SHD,   /* ECDHE: CertificateRequest or ServerHelloDone */
	C_WAIT_FIN,
	S_WAIT_CH,
	S_WAIT_CKE,
	S_WAIT_FIN,
	HS_DONE,
};

/* ---- the transcript ----------------------------------------------------- */

/* A message into the transcript, hdr pointing at its 12-byte DTLS header
 * (fragment fields 0 / length). TLS (stream mode) hashes the 4-byte TLS
 * header, type and length, which are the first 4 of the 12. */
static void hash_msg(struct zs_dtls *d, const uint8_t *hdr, size_t body)
{
	if (d->stream) {
		br_sha256_update(&d->transcript, hdr, 4);
		br_sha256_update(&d->transcript, hdr + HS_HDR, body);
	} else {
		br_sha256_update(&d->transcript, hdr, HS_HDR + body);
	}
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, data, len);
	br_sha256_out(&c, out);
}

static uint16_t wire_version(const struct zs_dtls *d)
{
	return d->stream ? TLS_V12 : DTLS_V12;
}

/* ---- the outgoing flight ------------------------------------------------ */

void zs_dtls_flight_start(struct zs_dtls *d)
{
	d->flight_used = 0;
	d->n_fmsg = 0;
	d->last_flight = false;
	d->timer_on = false;
	d->tmo_cur = d->tmo_min;
	/* fix (fuzz_dtls): where the peer's answer to this flight begins */
	d->rx_flight_seq = d->rx_msg_seq;
}

/* Where the body of the next message goes; *room: how much fits. */
static uint8_t *msg_body(struct zs_dtls *d, size_t *room)
{
	size_t at = d->flight_used + HS_HDR;
	*room = at < ZS_DTLS_FLIGHT_SIZE && d->n_fmsg < ZS_DTLS_FLIGHT_MSGS
			? ZS_DTLS_FLIGHT_SIZE - at
			: 0;
	return d->flight + (at < ZS_DTLS_FLIGHT_SIZE ? at : 0);
}

/* Close the message whose body msg_body() gave: header, transcript. */
static void msg_end(struct zs_dtls *d, uint8_t type, size_t body, uint8_t epoch)
{
	uint8_t *h = d->flight + d->flight_used;
	h[0] = type;
	put24(h + 1, (uint32_t)body);
	put16(h + 4, d->tx_msg_seq++);
	put24(h + 6, 0);
	put24(h + 9, (uint32_t)body);
	hash_msg(d, h, body);
	struct zs_dtls_flight_msg *m = &d->fmsg[d->n_fmsg++];
	m->off = d->flight_used;
	m->len = (uint16_t)(HS_HDR + body);
	m->epoch = epoch;
	d->flight_used = (uint16_t)(d->flight_used + HS_HDR + body);
}

/* Callers leave room: a flight holds at most 4 messages and a CCS. */
static void msg_ccs(struct zs_dtls *d)
{
	struct zs_dtls_flight_msg *m = &d->fmsg[d->n_fmsg++];
	m->off = d->flight_used;
	m->len = 0;
	m->epoch = 0;
	d->w_epoch = 1;
}

/* ---- key schedule ------------------------------------------------------- */

/* RFC 5246 s8.1: master = PRF(pre, "master secret", cr + sr)[48]; the
 * key block follows. Wipes pre. */
static void derive_master(struct zs_dtls *d, uint8_t *pre, size_t len)
{
	br_tls_prf_seed_chunk seed[2] = {
		{ d->client_random, 32 }, { d->server_random, 32 },
	};
	br_tls12_sha256_prf(d->master, 48, pre, len, "master secret", 2,
			    seed);
	memset(pre, 0, len);
	zs_dtls_install_keys(d);
}

/* RFC 4279 s2: premaster = uint16 N, N zero bytes, uint16 N, psk. */
static void derive_master_psk(struct zs_dtls *d)
{
	uint8_t pre[4 + 2 * ZS_DTLS_PSK_MAX];
	size_t n = d->psk_len;
	put16(pre, (uint32_t)n);
	memset(pre + 2, 0, n);
	put16(pre + 2 + n, (uint32_t)n);
	memcpy(pre + 4 + n, d->psk, n);
	memset(d->psk, 0, sizeof d->psk);
	derive_master(d, pre, 4 + 2 * n);
}

static bool offers_ecdhe(const struct zs_dtls *d)
{
	for (size_t i = 0; i < d->n_suites; i++)
		if (zs_dtls_suite_ecdhe(d->suites[i]))
			return true;
	return false;
}

/* RFC 5246 s7.4.9: PRF(master, label, SHA-256(transcript so far))[12]. */
static void verify_data(const struct zs_dtls *d, bool of_server,
			uint8_t out[12])
{
	uint8_t h[32];
	br_sha256_out(&d->transcript, h);
	br_tls_prf_seed_chunk seed = { h, 32 };
	br_tls12_sha256_prf(out, 12, d->master, 48,
			    of_server ? "server finished" : "client finished",
			    1, &seed);
}

static int put_finished(struct zs_dtls *d)
{
	size_t room;
	uint8_t *b = msg_body(d, &room);
	if (room < 12 || d->n_fmsg >= ZS_DTLS_FLIGHT_MSGS)
		return -ENOBUFS;
	verify_data(d, d->server, b);
	msg_end(d, HT_FINISHED, 12, 1);
	return 0;
}

/* ---- ALPN (RFC 7301) ----------------------------------------------------- */

/* The ClientHello's ALPN extension, header included; 0: none. */
static size_t alpn_ext_len(const struct zs_dtls *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_alpn; i++)
		n += 1 + strlen(d->alpn[i]);
	return n ? 4 + 2 + n : 0;
}

/* An ALPN extension_data: a list of 2..2^16-1 bytes that names tile
 * exactly, none empty (s3.1). 1 well formed, 0 not. */
static int alpn_list_ok(const uint8_t *v, size_t len)
{
	if (len < 3 || get16(v) != len - 2)
		return 0;
	for (size_t i = 2; i < len; i += 1 + v[i])
		if (v[i] == 0 || v[i] > len - i - 1)
			return 0;
	return 1;
}

/* Index in our list of name[0..n), or ZS_DTLS_ALPN_NONE. */
static uint8_t alpn_find(const struct zs_dtls *d, const uint8_t *name,
			 size_t n)
{
	for (size_t i = 0; i < d->n_alpn; i++)
		if (strlen(d->alpn[i]) == n && memcmp(d->alpn[i], name, n) == 0)
			return (uint8_t)i;
	return ZS_DTLS_ALPN_NONE;
}

/* Server: the first of our names that the client's list v (checked by
 * alpn_list_ok) holds; ZS_DTLS_ALPN_NONE when none is there. */
static uint8_t alpn_choose(const struct zs_dtls *d, const uint8_t *v,
			   size_t len)
{
	uint8_t best = ZS_DTLS_ALPN_NONE;
	for (size_t i = 2; i < len; i += 1 + v[i]) {
		uint8_t k = alpn_find(d, v + i + 1, v[i]);
		if (k < best)
			best = k;
	}
	return best;
}

/* ---- client ------------------------------------------------------------- */

static int put_client_hello(struct zs_dtls *d)
{
	size_t room;
	uint8_t *b = msg_body(d, &room), *p = b;
	bool ec = offers_ecdhe(d);
	size_t alpn = alpn_ext_len(d);
	size_t ext = 5 + (ec ? 22 : 0) + alpn;
	size_t sid = d->sess_offered ? d->sess_id_len : 0;
	size_t need = 2 + 32 + 1 + sid + 1 + d->cookie_len + 2
		      + 2 * d->n_suites + 2 + 2 + ext;
	/* TLS (stream mode) has no cookie field: RFC 5246 s7.4.1.2 */
	if (room < need)
		return -ENOBUFS;
	put16(p, wire_version(d));
	memcpy(p + 2, d->client_random, 32);
	p += 34;
	*p++ = (uint8_t)sid;                        /* session_id */
	memcpy(p, d->sess_id, sid);
	p += sid;
	if (!d->stream) {
		*p++ = d->cookie_len;
		memcpy(p, d->cookie, d->cookie_len);
		p += d->cookie_len;
	}
	put16(p, 2u * d->n_suites);
	p += 2;
	for (size_t i = 0; i < d->n_suites; i++, p += 2)
		put16(p, d->suites[i]);
	*p++ = 1;                                   /* compression: null */
	*p++ = 0;
	/* extensions: an empty renegotiation_info (RFC 5746 s3.4), which
	 * OpenSSL wants to see from a client that never renegotiates; for
	 * ECDHE_ECDSA what we can do: supported_groups secp256r1,
	 * ec_point_formats uncompressed (RFC 8422 s5.1), signature_algorithms
	 * ecdsa_secp256r1_sha256 (RFC 5246 s7.4.1.4.1) */
	static const uint8_t ec_ext[22] = {
		0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17,
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,
		0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03,
	};
	put16(p, (uint32_t)ext);
	put16(p + 2, 0xFF01);
	put16(p + 4, 1);
	p[6] = 0;
	p += 7;
	if (ec) {
		memcpy(p, ec_ext, sizeof ec_ext);
		p += sizeof ec_ext;
	}
	if (alpn) {
		/* RFC 7301 s3.1: protocol_name_list<2..2^16-1> of
		 * ProtocolName<1..2^8-1>, ours in order of preference */
		put16(p, EXT_ALPN);
		put16(p + 2, (uint32_t)(alpn - 4));
		put16(p + 4, (uint32_t)(alpn - 6));
		p += 6;
		for (size_t i = 0; i < d->n_alpn; i++) {
			size_t n = strlen(d->alpn[i]);
			*p++ = (uint8_t)n;
			memcpy(p, d->alpn[i], n);
			p += n;
		}
	}
	msg_end(d, HT_CLIENT_HELLO, (size_t)(p - b), 0);
	return 0;
}

int zs_dtls_hs_start(struct zs_dtls *d, uint32_t now)
{
	(void)now;
	d->rand(d->rand_arg, d->client_random, 32);
	br_sha256_init(&d->transcript);
	zs_dtls_flight_start(d);
	d->state = ZS_DTLS_HANDSHAKE;
	d->hs_step = C_WAIT_SH;
	int rc = put_client_hello(d);
	if (rc < 0)
		return zs_dtls_fail(d, NO_ALERT, rc);
	zs_dtls_flight_resend(d);
	return 0;
}

/* RFC 6347 s4.2.1: answer with the same ClientHello plus the cookie. */
static int on_hello_verify(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (n < 3 || b[2] != n - 3)  /* the cookie fits: 255 bytes at most */
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	d->cookie_len = b[2];
	memcpy(d->cookie, b + 3, d->cookie_len);
	br_sha256_init(&d->transcript);
	zs_dtls_flight_start(d);
	int rc = put_client_hello(d);
	if (rc < 0)
		return zs_dtls_fail(d, ZS_ALERT_INTERNAL_ERROR, rc);
	zs_dtls_flight_resend(d);
	return 0;
}

/* What a hello's extensions say, as far as we care. */
struct ext_info {
	bool reneg;        /* renegotiation_info, empty */
	bool p256;         /* supported_groups absent or lists secp256r1 */
	bool ecdsa_sha256; /* signature_algorithms absent or lists 0x0403 */
	const uint8_t *alpn; /* ALPN's extension_data (well formed), or NULL */
	size_t alpn_len;
};

static bool list16_has(const uint8_t *p, size_t n, uint32_t want)
{
	if (n < 2 || get16(p) != n - 2 || (n & 1))
		return false;
	for (size_t i = 2; i < n; i += 2)
		if (get16(p + i) == want)
			return true;
	return false;
}

/* Walk an extensions block: 1 well formed, 0 not. */
static int scan_extensions(const uint8_t *p, size_t n, struct ext_info *x)
{
	x->reneg = false;
	x->p256 = x->ecdsa_sha256 = true;
	x->alpn = NULL;
	x->alpn_len = 0;
	if (n == 0)
		return 1;
	if (n < 2 || get16(p) != n - 2)
		return 0;
	p += 2;
	n -= 2;
	while (n) {
		if (n < 4 || get16(p + 2) > n - 4)
			return 0;
		uint32_t type = get16(p), len = get16(p + 2);
		const uint8_t *v = p + 4;
		if (type == 0xFF01) {
			if (len != 1 || v[0] != 0)
				return 0;
			x->reneg = true;
		} else if (type == 0x000a) {
			x->p256 = list16_has(v, len, 23);
		} else if (type == 0x000d) {
			x->ecdsa_sha256 = list16_has(v, len, 0x0403);
		} else if (type == EXT_ALPN) {
			/* malformed, or twice (RFC 5246 s7.4.1.4) */
			if (x->alpn || !alpn_list_ok(v, len))
				return 0;
			x->alpn = v;
			x->alpn_len = len;
		}
		p += 4 + len;
		n -= 4 + len;
	}
	return 1;
}

static bool suite_ours(const struct zs_dtls *d, uint16_t s)
{
	for (size_t i = 0; i < d->n_suites; i++)
		if (d->suites[i] == s)
			return true;
	return false;
}

static int on_server_hello(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	/* version(2) random(32) session_id<0..32> suite(2) compression(1)
	 * extensions */
	if (n < 38 || b[34] > 32 || n < 38u + b[34])
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	if (get16(b) != wire_version(d))
		return zs_dtls_fail(d, ZS_ALERT_PROTOCOL_VERSION,
				    -ECONNABORTED);
	const uint8_t *p = b + 35 + b[34];
	uint16_t suite = (uint16_t)get16(p);
	struct ext_info x;
	if (!suite_ours(d, suite) || p[2] != 0)
		return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
				    -ECONNABORTED);
	if (!scan_extensions(p + 3, n - (size_t)(p + 3 - b), &x))
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	if (x.alpn) {
		/* RFC 5246 s7.4.1.4: an extension we did not offer ends the
		 * handshake; RFC 7301 s3.1: one name, one of ours */
		if (!d->n_alpn)
			return zs_dtls_fail(d, ZS_ALERT_UNSUPPORTED_EXTENSION,
					    -ECONNABORTED);
		if (x.alpn[2] != x.alpn_len - 3)
			return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR,
					    -ECONNABORTED);
		d->alpn_sel = alpn_find(d, x.alpn + 3, x.alpn[2]);
		if (d->alpn_sel == ZS_DTLS_ALPN_NONE)
			return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
					    -ECONNABORTED);
	}
	memcpy(d->server_random, b + 2, 32);
	d->suite = suite;
	size_t sid_len = b[34];
	if (d->sess_offered && sid_len == d->sess_id_len
	    && memcmp(b + 35, d->sess_id, sid_len) == 0) {
		/* resumed: s7.4.1.3, the session's suite it must be */
		if (suite != d->sess_suite)
			return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
					    -ECONNABORTED);
		d->resumed = true;
		/* a checking client offers verified sessions only */
		if (d->sess_flags & ZS_DTLS_SESSION_VERIFIED)
			d->verify_res = 0;
		zs_dtls_install_keys(d);     /* master[]: the offered one */
		d->hs_step = C_WAIT_FIN;
		return 0;
	}
	/* a full handshake: the offered session is gone, the new ID (if
	 * any) names the one about to be made */
	if (d->sess_offered) {
		d->sess_offered = false;
		memset(d->master, 0, sizeof d->master);
		memset(d->peer_digest, 0, sizeof d->peer_digest);
	}
	d->sess_flags = (uint8_t)((d->stream ? ZS_DTLS_SESSION_STREAM : 0)
				  | (zs_dtls_suite_ecdhe(suite) && !d->verify_none
					     ? ZS_DTLS_SESSION_VERIFIED : 0));
	d->sess_id_len = (uint8_t)sid_len;
	memcpy(d->sess_id, b + 35, sid_len);
	d->hs_step = zs_dtls_suite_ecdhe(suite) ? C_WAIT_CERT : C_WAIT_SKE_SHD;
	return 0;
}

/* RFC 4279 s2: psk_identity_hint<0..2^16-1>. The hint does not change
 * which key we use (one PSK per client context), so it is only checked. */
static int on_server_kx(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (n < 2 || get16(b) != n - 2)
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	d->hs_step = C_WAIT_SHD;
	return 0;
}

static int on_certificate(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (zs_dtls_check_certs(d, b, n) < 0)
		return zs_dtls_fail(d, ZS_ALERT_BAD_CERTIFICATE, -ECONNABORTED);
	/* verify_optional went on past a failed check: nothing to resume
	 * where checks count (zs_dtls_session_set) */
	if (d->verify_res != 0)
		d->sess_flags &= (uint8_t)~ZS_DTLS_SESSION_VERIFIED;
	sha256(d->peer_key, 65, d->peer_digest);     /* the session's peer */
	d->hs_step = C_WAIT_SKE_EC;
	return 0;
}

/* ServerKeyExchange for ECDHE (see dtls_ecdhe.c for the layout): the
 * signature by the certificate's key, then the server's ephemeral point
 * replaces that key in d->peer_key. */
static int on_server_kx_ec(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (n < 4 + 65 + 4 || b[0] != 3 || get16(b + 1) != 23 || b[3] != 65)
		return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
				    -ECONNABORTED);
	const uint8_t *sig = b + 4 + 65;
	if (get16(sig) != 0x0403)
		return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
				    -ECONNABORTED);
	if (get16(sig + 2) != n - (4 + 65 + 4))
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	if (zs_dtls_ske_verify(d, b, 4 + 65, sig + 4, get16(sig + 2)) < 0)
		return zs_dtls_fail(d, ZS_ALERT_DECRYPT_ERROR, -ECONNABORTED);
	memcpy(d->peer_key, b + 4, 65);
	d->hs_step = C_WAIT_CR_SHD;
	return 0;
}

/* The client key exchange message and the premaster, either kind. */
static int put_client_kx(struct zs_dtls *d)
{
	size_t room;
	uint8_t *b = msg_body(d, &room);
	if (!zs_dtls_suite_ecdhe(d->suite)) {
		if (room < 2u + d->psk_id_len + HS_HDR + 12)
			return -ENOBUFS;
		put16(b, d->psk_id_len);
		memcpy(b + 2, d->psk_id, d->psk_id_len);
		msg_end(d, HT_CLIENT_KX, 2u + d->psk_id_len, 0);
		sha256(d->psk_id, d->psk_id_len, d->peer_digest);
		derive_master_psk(d);
		return 0;
	}
	if (d->cert_request) {
		/* RFC 5246 s7.4.6: no certificate to offer, an empty list */
		if (room < 3)
			return -ENOBUFS;
		put24(b, 0);
		msg_end(d, HT_CERTIFICATE, 3, 0);
		b = msg_body(d, &room);
	}
	if (room < 66 + HS_HDR + 12)
		return -ENOBUFS;
	uint8_t pre[32];
	b[0] = 65;
	if (zs_dtls_ec_keygen(d, b + 1) < 0
	    || zs_dtls_ec_shared(d, d->peer_key, 65, pre) < 0)
		return -EINVAL;
	msg_end(d, HT_CLIENT_KX, 66, 0);
	derive_master(d, pre, 32);
	return 0;
}

static int on_server_done(struct zs_dtls *d, size_t n)
{
	if (n != 0)
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	zs_dtls_flight_start(d);
	int rc = put_client_kx(d);
	if (rc == -ENOBUFS)
		return zs_dtls_fail(d, ZS_ALERT_INTERNAL_ERROR, rc);
	if (rc < 0)
		return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
				    -ECONNABORTED);
	msg_ccs(d);
	if (put_finished(d) < 0)
		return zs_dtls_fail(d, ZS_ALERT_INTERNAL_ERROR, -ENOBUFS);
	d->hs_step = C_WAIT_FIN;
	zs_dtls_flight_resend(d);
	return 0;
}

/* ---- server ------------------------------------------------------------- */

/* ---- the session cache (server) ---------------------------------------- */

void zs_dtls_cache_init(struct zs_dtls_cache *c)
{
	memset(c, 0, sizeof *c);
}

static struct zs_dtls_cache_slot *cache_find(struct zs_dtls_cache *c,
					     const uint8_t *id, size_t len)
{
	/* IDs are public (sent in clear): a plain compare is fine */
	for (size_t i = 0; len && i < ZS_DTLS_SESSION_SLOTS; i++) {
		struct zs_dtls_cache_slot *e = &c->slot[i];
		if (e->s.id_len == len && memcmp(e->s.id, id, len) == 0)
			return e;
	}
	return NULL;
}

/* RFC 5246 s7.2.2: a session whose connection ended in a fatal alert
 * MUST NOT be resumed (called from zs_dtls_fail()). */
void zs_dtls_cache_forget(struct zs_dtls *d)
{
	if (!d->server || !d->cache)
		return;
	struct zs_dtls_cache_slot *e = cache_find(d->cache, d->sess_id,
						  d->sess_id_len);
	if (e)
		memset(e, 0, sizeof *e);
}

/* A full handshake completed: into the free or least recently used slot
 * (ages compared modulo 2^32). */
static void cache_store(struct zs_dtls *d)
{
	struct zs_dtls_cache *c = d->cache;
	struct zs_dtls_cache_slot *e = &c->slot[0];
	for (size_t i = 0; i < ZS_DTLS_SESSION_SLOTS; i++) {
		struct zs_dtls_cache_slot *t = &c->slot[i];
		if (t->s.id_len == 0) {
			e = t;
			break;
		}
		if (c->clock - t->stamp > c->clock - e->stamp)
			e = t;
	}
	memcpy(e->s.id, d->sess_id, 32);
	e->s.id_len = d->sess_id_len;
	e->s.flags = d->sess_flags;
	e->s.suite = d->suite;
	memcpy(e->s.master, d->master, 48);
	memcpy(e->s.peer, d->peer_digest, 32);
	e->stamp = ++c->clock;
}

/* The ClientHello offers session sid: resume it when the cache has it,
 * made in this mode, with a suite both this server and the client's list
 * still take. PSK: the ClientHello names no identity (that comes in
 * ClientKeyExchange, which an abbreviated handshake has not), and none is
 * needed: only the holder of the session's master secret, derived from
 * the PSK of the identity that made it, can produce the Finished, and the
 * slot's peer digest names that identity. Revoking a PSK therefore means
 * purging the cache too (zs_dtls_cache_init). */
static void resume_lookup(struct zs_dtls *d, const uint8_t *sid,
			  size_t sid_len, const uint8_t *cs, size_t ns)
{
	if (!d->cache)
		return;
	struct zs_dtls_cache_slot *e = cache_find(d->cache, sid, sid_len);
	if (!e || !(e->s.flags & ZS_DTLS_SESSION_STREAM) != !d->stream
	    || !suite_ours(d, e->s.suite))
		return;
	bool offered = false;
	for (size_t j = 0; j < ns; j += 2)
		offered |= get16(cs + j) == e->s.suite;
	if (!offered)
		return;
	d->resumed = true;
	d->suite = e->s.suite;
	memcpy(d->sess_id, e->s.id, 32);
	d->sess_id_len = e->s.id_len;
	d->sess_flags = e->s.flags;
	memcpy(d->master, e->s.master, 48);
	memcpy(d->peer_digest, e->s.peer, 32);
	e->stamp = ++d->cache->clock;
}

/* Pick our first suite the client offers; note renegotiation_info or the
 * SCSV (RFC 5746 s3.6) so the ServerHello can answer it. */
static int on_client_hello(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (n < 35 || b[34] > 32 || n < 35u + b[34] + 1)
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	/* DTLS versions count down: 1.2 is FEFD, below 1.0's FEFF; TLS
	 * ones up: a client offering above 1.2 takes 1.2 (s7.4.1.2) */
	if (d->stream ? get16(b) < TLS_V12 : get16(b) > DTLS_V12)
		return zs_dtls_fail(d, ZS_ALERT_PROTOCOL_VERSION,
				    -ECONNABORTED);
	memcpy(d->client_random, b + 2, 32);
	const uint8_t *sid = b + 35;
	size_t sid_len = b[34];
	const uint8_t *p = b + 35 + b[34], *end = b + n;
	/* lengths compared as sizes, never pointers past the end */
	if (!d->stream) {
		if ((size_t)(end - p) < 1u + p[0] + 2)
			return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR,
					    -ECONNABORTED);
		p += 1 + p[0];                       /* cookie */
	} else if (end - p < 2) {
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	}
	size_t ns = get16(p), left = (size_t)(end - p);
	const uint8_t *s = p + 2;
	if ((ns & 1) || left < 2 + ns + 1 || left < 2 + ns + 1 + s[ns])
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	p = s + ns + 1 + s[ns];                      /* past compression */
	struct ext_info x;
	if (!scan_extensions(p, (size_t)(end - p), &x))
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	/* ECDHE only when the client takes P-256 and ECDSA-SHA256 */
	bool ec_ok = x.p256 && x.ecdsa_sha256;
	d->suite = 0;
	for (size_t i = 0; i < d->n_suites && !d->suite; i++) {
		if (zs_dtls_suite_ecdhe(d->suites[i]) && !ec_ok)
			continue;
		for (size_t j = 0; j < ns; j += 2)
			if (get16(s + j) == d->suites[i])
				d->suite = d->suites[i];
	}
	for (size_t j = 0; j < ns; j += 2)
		if (get16(s + j) == 0x00FF)
			x.reneg = true;
	/* ALPN, resumed or not (RFC 7301 s3.1); before the cache lookup,
	 * so that this failure does not cost the session (s7.2.2 forgets
	 * a session whose connection ends in a fatal alert) */
	if (d->n_alpn && x.alpn && d->suite) {
		d->alpn_sel = alpn_choose(d, x.alpn, x.alpn_len);
		if (d->alpn_sel == ZS_DTLS_ALPN_NONE)
			return zs_dtls_fail(d, ZS_ALERT_NO_APPLICATION_PROTOCOL,
					    -ECONNABORTED);
	}
	resume_lookup(d, sid, sid_len, s, ns);
	if (!d->suite)
		return zs_dtls_fail(d, ZS_ALERT_HANDSHAKE_FAILURE,
				    -ECONNABORTED);
	return x.reneg ? 1 : 0;
}

/* Certificate and the signed ServerKeyExchange. */
static int put_server_ec(struct zs_dtls *d)
{
	size_t room;
	uint8_t *b = msg_body(d, &room);
	size_t n = zs_dtls_put_certs(d, b, room);
	if (n == 0)
		return -ENOBUFS;
	msg_end(d, HT_CERTIFICATE, n, 0);
	b = msg_body(d, &room);
	if (room < 4 + 65 + 4 + 72)
		return -ENOBUFS;
	b[0] = 3;
	put16(b + 1, 23);
	b[3] = 65;
	if (zs_dtls_ec_keygen(d, b + 4) < 0)
		return -EINVAL;
	uint8_t *sig = b + 4 + 65;
	size_t slen = zs_dtls_ske_sign(d, b, 4 + 65, sig + 4);
	if (slen == 0)
		return -EINVAL;
	put16(sig, 0x0403);
	put16(sig + 2, (uint32_t)slen);
	msg_end(d, HT_SERVER_KX, 4 + 65 + 4 + slen, 0);
	return 0;
}

static int put_server_flight(struct zs_dtls *d, bool reneg)
{
	size_t room;
	uint8_t *b = msg_body(d, &room);
	size_t alpn = d->alpn_sel == ZS_DTLS_ALPN_NONE
			      ? 0
			      : strlen(d->alpn[d->alpn_sel]);
	size_t ext = (reneg ? 5 : 0) + (alpn ? 4 + 3 + alpn : 0);
	if (room < 38 + 32 + 2 + ext)
		return -ENOBUFS;
	d->rand(d->rand_arg, d->server_random, 32);
	put16(b, wire_version(d));
	memcpy(b + 2, d->server_random, 32);
	/* the resumed session's ID; with a cache a new one (stored once the
	 * handshake completes); else none: nothing to resume */
	if (!d->resumed) {
		d->sess_id_len = d->cache ? 32 : 0;
		if (d->cache)
			d->rand(d->rand_arg, d->sess_id, 32);
		d->sess_flags = d->stream ? ZS_DTLS_SESSION_STREAM : 0;
	}
	b[34] = d->sess_id_len;
	memcpy(b + 35, d->sess_id, d->sess_id_len);
	size_t n = 35 + d->sess_id_len;
	put16(b + n, d->suite);
	b[n + 2] = 0;
	n += 3;
	if (ext) {
		put16(b + n, (uint32_t)ext);
		n += 2;
	}
	if (reneg) {
		put16(b + n, 0xFF01);
		put16(b + n + 2, 1);
		b[n + 4] = 0;
		n += 5;
	}
	if (alpn) {
		/* RFC 7301 s3.1: the one protocol selected */
		put16(b + n, EXT_ALPN);
		put16(b + n + 2, (uint32_t)(3 + alpn));
		put16(b + n + 4, (uint32_t)(1 + alpn));
		b[n + 6] = (uint8_t)alpn;
		memcpy(b + n + 7, d->alpn[d->alpn_sel], alpn);
		n += 7 + alpn;
	}
	msg_end(d, HT_SERVER_HELLO, n, 0);
	if (d->resumed) {
		/* abbreviated: keys from the session's master secret and
		 * the new randoms, then our ChangeCipherSpec and Finished */
		zs_dtls_install_keys(d);
		msg_ccs(d);
		return put_finished(d);
	}
	if (zs_dtls_suite_ecdhe(d->suite)) {
		int rc = put_server_ec(d);
		if (rc < 0)
			return rc;
	} else if (d->psk_id_len) {
		b = msg_body(d, &room);
		if (room < 2u + d->psk_id_len)
			return -ENOBUFS;
		put16(b, d->psk_id_len);
		memcpy(b + 2, d->psk_id, d->psk_id_len);
		msg_end(d, HT_SERVER_KX, 2u + d->psk_id_len, 0);
	}
	msg_body(d, &room);
	if (d->flight_used + HS_HDR > ZS_DTLS_FLIGHT_SIZE
	    || d->n_fmsg >= ZS_DTLS_FLIGHT_MSGS)
		return -ENOBUFS;
	msg_end(d, HT_SERVER_DONE, 0, 0);
	return 0;
}

static int on_client_hello_msg(struct zs_dtls *d, const uint8_t *msg,
			       size_t n, uint64_t rec_seq)
{
	/* RFC 6347 s4.2.2: our first message number follows the client's
	 * (ServerHello is 1 after a cookie exchange); s4.2.1: reuse its
	 * record number so that our reply does not look replayed to it --
	 * a fatal alert refusing the ClientHello as well (found with
	 * OpenSSL, whose client dropped it as a replay of the
	 * HelloVerifyRequest and waited on) */
	if (!d->stream) {
		d->tx_msg_seq = (uint16_t)get16(msg + 4);
		d->w_seq[0] = rec_seq;
	}
	int reneg = on_client_hello(d, msg + HS_HDR, n);
	if (reneg < 0)
		return reneg;
	br_sha256_init(&d->transcript);
	hash_msg(d, msg, n);
	zs_dtls_flight_start(d);
	int rc = put_server_flight(d, reneg);
	if (rc < 0)
		return zs_dtls_fail(d, ZS_ALERT_INTERNAL_ERROR, rc);
	d->state = ZS_DTLS_HANDSHAKE;
	d->hs_step = d->resumed ? S_WAIT_FIN : S_WAIT_CKE;
	zs_dtls_flight_resend(d);
	return 0;
}

static int on_client_kx(struct zs_dtls *d, const uint8_t *b, size_t n)
{
	if (zs_dtls_suite_ecdhe(d->suite)) {
		/* ClientECDiffieHellmanPublic: point<1..255> */
		uint8_t pre[32];
		if (n < 1 || b[0] != n - 1
		    || zs_dtls_ec_shared(d, b + 1, n - 1, pre) < 0)
			return zs_dtls_fail(d, ZS_ALERT_ILLEGAL_PARAMETER,
					    -ECONNABORTED);
		derive_master(d, pre, 32);
		d->hs_step = S_WAIT_FIN;
		return 0;
	}
	if (n < 2 || get16(b) != n - 2)
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	int k = d->psk_lookup(d->psk_arg, b + 2, n - 2, d->psk,
			      sizeof d->psk);
	if (k <= 0 || k > (int)sizeof d->psk)
		return zs_dtls_fail(d, ZS_ALERT_UNKNOWN_PSK_IDENTITY,
				    -ECONNABORTED);
	sha256(b + 2, n - 2, d->peer_digest);
	d->psk_len = (uint8_t)k;
	derive_master_psk(d);
	d->hs_step = S_WAIT_FIN;
	return 0;
}

/* ---- sessions: the caller's side (see dtls.h) -------------------------- */

int zs_dtls_session_set(struct zs_dtls *d, const struct zs_dtls_session *s)
{
	if (d->server || d->state != ZS_DTLS_IDLE || s->id_len == 0
	    || s->id_len > 32)
		return -EINVAL;
	d->sess_offered = false;
	d->sess_id_len = 0;
	if (!suite_ours(d, s->suite)
	    || !(s->flags & ZS_DTLS_SESSION_STREAM) != !d->stream)
		return 0;
	if (zs_dtls_suite_ecdhe(s->suite)) {
		/* never offer a session made unchecked where checks count */
		if (!d->verify_none && !(s->flags & ZS_DTLS_SESSION_VERIFIED))
			return 0;
	} else {
		uint8_t h[32];
		sha256(d->psk_id, d->psk_id_len, h);
		if (!zs_ct_eq(h, s->peer, 32))
			return 0;
	}
	memcpy(d->sess_id, s->id, s->id_len);
	d->sess_id_len = s->id_len;
	d->sess_flags = s->flags;
	d->sess_suite = s->suite;
	memcpy(d->master, s->master, 48);
	memcpy(d->peer_digest, s->peer, 32);
	d->sess_offered = true;
	return 1;
}

int zs_dtls_session_get(const struct zs_dtls *d, struct zs_dtls_session *s)
{
	if (d->hs_step != HS_DONE || (d->state != ZS_DTLS_ESTABLISHED
				      && d->state != ZS_DTLS_CLOSED))
		return -ENOTCONN;
	if (!d->sess_id_len)
		return -ENOENT;
	memset(s, 0, sizeof *s);
	memcpy(s->id, d->sess_id, d->sess_id_len);
	s->id_len = d->sess_id_len;
	s->flags = d->sess_flags;
	s->suite = d->suite;
	memcpy(s->master, d->master, 48);
	memcpy(s->peer, d->peer_digest, 32);
	return 0;
}

bool zs_dtls_resumed(const struct zs_dtls *d)
{
	return d->resumed && d->hs_step == HS_DONE;
}

const char *zs_dtls_alpn(const struct zs_dtls *d)
{
	if (d->hs_step != HS_DONE || d->alpn_sel >= d->n_alpn)
		return NULL;
	return d->alpn[d->alpn_sel];
}

/* ---- both --------------------------------------------------------------- */

static int on_finished(struct zs_dtls *d, const uint8_t *msg, size_t n)
{
	uint8_t want[12];
	verify_data(d, !d->server, want);
	int ok = n == 12 && zs_ct_eq(want, msg + HS_HDR, 12);
	memset(want, 0, sizeof want);
	if (!ok)
		return zs_dtls_fail(d, ZS_ALERT_DECRYPT_ERROR, -ECONNABORTED);
	hash_msg(d, msg, n);
	d->hs_step = HS_DONE;
	d->state = ZS_DTLS_ESTABLISHED;
	d->timer_on = false;
	if (d->server && !d->resumed && d->cache && d->sess_id_len)
		cache_store(d);
	/* the full handshake ends with the server's Finished, the
	 * abbreviated one with the client's */
	if (d->server != d->resumed) {
		/* ours is the last flight: resent only when the peer
		 * repeats its own (s4.2.4), never on a timer */
		zs_dtls_flight_start(d);
		d->last_flight = true;
		msg_ccs(d);
		if (put_finished(d) < 0)
			return zs_dtls_fail(d, ZS_ALERT_INTERNAL_ERROR,
					    -ENOBUFS);
		zs_dtls_flight_resend(d);
	} else {
		d->sending = false;
	}
	/* both Finished are made: the keys are all that is needed now,
	 * and the master secret only for a session to export */
	if (!d->sess_id_len)
		memset(d->master, 0, sizeof d->master);
	return 0;
}

/* One complete message (reasm: header + body). Messages that the
 * transcript covers are hashed after they are checked. */
static int on_message(struct zs_dtls *d, uint64_t rec_seq)
{
	const uint8_t *msg = d->reasm, *b = msg + HS_HDR;
	uint8_t type = msg[0];
	size_t n = d->reasm_len;
	int rc;

	if (type == HT_FINISHED)
		return d->reasm_epoch == 1 && (d->hs_step == C_WAIT_FIN
					       || d->hs_step == S_WAIT_FIN)
			       ? on_finished(d, msg, n)
			       : zs_dtls_fail(d, ZS_ALERT_UNEXPECTED_MESSAGE,
					      -ECONNABORTED);
	if (d->reasm_epoch != 0)
		return zs_dtls_fail(d, ZS_ALERT_UNEXPECTED_MESSAGE,
				    -ECONNABORTED);
	if (d->hs_step == C_WAIT_SH && type == HT_HELLO_VERIFY && !d->stream)
		return on_hello_verify(d, b, n);
	if (d->hs_step == S_WAIT_CH && type == HT_CLIENT_HELLO)
		return on_client_hello_msg(d, msg, n, rec_seq);

	if (d->hs_step == C_WAIT_SH && type == HT_SERVER_HELLO)
		rc = on_server_hello(d, b, n);
	else if (d->hs_step == C_WAIT_SKE_SHD && type == HT_SERVER_KX)
		rc = on_server_kx(d, b, n);
	else if (d->hs_step == C_WAIT_CERT && type == HT_CERTIFICATE)
		rc = on_certificate(d, b, n);
	else if (d->hs_step == C_WAIT_SKE_EC && type == HT_SERVER_KX)
		rc = on_server_kx_ec(d, b, n);
	else if (d->hs_step == C_WAIT_CR_SHD && type == HT_CERT_REQUEST) {
		d->cert_request = true;
		d->hs_step = C_WAIT_SHD;
		rc = 0;
	} else if ((d->hs_step == C_WAIT_SKE_SHD || d->hs_step == C_WAIT_SHD
		    || d->hs_step == C_WAIT_CR_SHD)
		   && type == HT_SERVER_DONE) {
		hash_msg(d, msg, n);
		return on_server_done(d, n);
	} else if (d->hs_step == S_WAIT_CKE && type == HT_CLIENT_KX)
		rc = on_client_kx(d, b, n);
	else
		return zs_dtls_fail(d, ZS_ALERT_UNEXPECTED_MESSAGE,
				    -ECONNABORTED);
	if (rc == 0)
		hash_msg(d, msg, n);
	return rc;
}

static bool reasm_complete(const struct zs_dtls *d)
{
	size_t n = d->reasm_len;
	for (size_t i = 0; i < n / 8; i++)
		if (d->reasm_map[i] != 0xFF)
			return false;
	for (size_t i = n & ~(size_t)7; i < n; i++)
		if (!(d->reasm_map[i / 8] >> (i % 8) & 1))
			return false;
	return true;
}

/* One fragment: type(1) length(3) message_seq(2) fragment_offset(3)
 * fragment_length(3) body. */
static int on_fragment(struct zs_dtls *d, const uint8_t *f, uint16_t epoch,
		       uint64_t rec_seq)
{
	uint8_t type = f[0];
	size_t len = get24(f + 1), off = get24(f + 6), flen = get24(f + 9);
	uint16_t seq = (uint16_t)get16(f + 4);

	/* the server's context begins with whatever number the (cookie
	 * checked) ClientHello has */
	if (d->state == ZS_DTLS_IDLE && d->server && type == HT_CLIENT_HELLO
	    && !d->reasm_active) {
		d->rx_msg_seq = seq;
		d->hs_step = S_WAIT_CH;
	}
	/* before its handshake a context takes nothing but a ClientHello
	 * (server) and nothing at all (client) */
	if (d->state == ZS_DTLS_IDLE
	    && (!d->server || type != HT_CLIENT_HELLO)) {
		d->stats.rx_dropped++;
		return 0;
	}
	if (seq < d->rx_msg_seq) {
		/* the peer repeats its last flight: ours was lost (s4.2.4).
		 * Not once we are done and ours was not the last flight: the
		 * peer has it, and answering would ping-pong duplicates. */
		bool ours_needed = d->state == ZS_DTLS_HANDSHAKE
				   || (d->state == ZS_DTLS_ESTABLISHED
				       && d->last_flight);
		/* Fix (fuzz_dtls, regress-hello-verify-ping-pong): never on an
		 * old HelloVerifyRequest. It comes from the stateless cookie
		 * check, which answers every copy of a ClientHello whose
		 * cookie it refuses: once a forged ServerHello has moved us
		 * on, resending for each made an endless exchange. */
		if (type == HT_HELLO_VERIFY)
			ours_needed = false;
		/* Fix (fuzz_dtls, regress-current-flight-ping-pong): only a
		 * message from before the peer's flight we are receiving
		 * says ours was lost (s4.2.4: a retransmission of its
		 * previous flight). One of the current flight, which we have
		 * in part, did too: when the rest was held back (a forged
		 * fragment, until the timer), each side's resend made the
		 * other resend, without end and re-arming the timer. */
		if (seq >= d->rx_flight_seq)
			ours_needed = false;
		if (!d->sending && d->n_fmsg && ours_needed) {
			d->stats.retransmits++;
			zs_dtls_flight_resend(d);
		}
		return 0;
	}
	if (seq > d->rx_msg_seq || d->hs_step == HS_DONE) {
		d->stats.rx_dropped++;
		return 0;
	}
	if (len > ZS_DTLS_REASM_SIZE - HS_HDR)
		return zs_dtls_fail(d, ZS_ALERT_HANDSHAKE_FAILURE, -EMSGSIZE);
	if (!d->reasm_active) {
		d->reasm_active = true;
		d->reasm_conflict = false;
		d->reasm_len = (uint32_t)len;
		d->reasm_epoch = (uint8_t)epoch;
		d->reasm[0] = type;
		memset(d->reasm_map, 0, sizeof d->reasm_map);
	} else if (d->reasm[0] != type || d->reasm_len != len
		   || d->reasm_epoch != epoch) {
		/* one of the two is forged or garbage; the timer's expiry
		 * discards the partial message (dtls_record.c) */
		d->reasm_conflict = true;
		d->stats.rx_dropped++;
		return 0;
	}
	memcpy(d->reasm + HS_HDR + off, f + HS_HDR, flen);
	for (size_t i = off; i < off + flen; i++)
		d->reasm_map[i / 8] |= (uint8_t)(1u << (i % 8));
	if (!reasm_complete(d))
		return 0;
	/* the transcript form: unfragmented header */
	put24(d->reasm + 1, (uint32_t)len);
	put16(d->reasm + 4, seq);
	put24(d->reasm + 6, 0);
	put24(d->reasm + 9, (uint32_t)len);
	d->reasm_active = false;
	d->rx_msg_seq++;
	return on_message(d, rec_seq);
}

/* Stream mode (TLS, RFC 5246 s6.2.1): handshake bytes arrive as a stream,
 * messages (4-byte header: type, length) split over records or several in
 * one. They collect in reasm from offset 8 (sbuf_len bytes), so that a
 * whole message's body sits at reasm + 12 as in datagram mode; its type
 * and length are copied to reasm[0..4) for on_message() and the
 * transcript. */
static int stream_input(struct zs_dtls *d, const uint8_t *p, size_t len)
{
	const size_t cap = ZS_DTLS_REASM_SIZE - 8;
	if (d->state == ZS_DTLS_IDLE && d->server)
		d->hs_step = S_WAIT_CH;
	if (d->state == ZS_DTLS_IDLE && !d->server)
		return zs_dtls_fail(d, ZS_ALERT_UNEXPECTED_MESSAGE,
				    -ECONNABORTED);
	uint8_t *buf = d->reasm + 8;
	while (len) {
		size_t take = cap - d->sbuf_len;
		if (take == 0)
			return zs_dtls_fail(d, ZS_ALERT_HANDSHAKE_FAILURE,
					    -EMSGSIZE);
		if (take > len)
			take = len;
		memcpy(buf + d->sbuf_len, p, take);
		d->sbuf_len += (uint32_t)take;
		p += take;
		len -= take;
		while (d->sbuf_len >= 4) {
			size_t n = get24(buf + 1);
			if (4 + n > cap)
				return zs_dtls_fail(d,
						    ZS_ALERT_HANDSHAKE_FAILURE,
						    -EMSGSIZE);
			if (d->sbuf_len < 4 + n)
				break;
			memcpy(d->reasm, buf, 4);
			d->reasm_len = (uint32_t)n;
			d->reasm_epoch = (uint8_t)d->r_epoch_max;
			int rc = on_message(d, 0);
			if (rc < 0)
				return rc;
			d->sbuf_len -= (uint32_t)(4 + n);
			memmove(buf, buf + 4 + n, d->sbuf_len);
		}
	}
	return 0;
}

/* Stream mode: ChangeCipherSpec switches the read side to the new keys;
 * only where the peer's Finished is due and on a message boundary. */
int zs_dtls_hs_ccs(struct zs_dtls *d)
{
	if (!d->stream)
		return 0; /* DTLS: a marker, the epoch field selects keys */
	if ((d->hs_step != C_WAIT_FIN && d->hs_step != S_WAIT_FIN)
	    || d->rc.suite == 0 || d->sbuf_len != 0 || d->r_epoch_max != 0)
		return zs_dtls_fail(d, ZS_ALERT_UNEXPECTED_MESSAGE,
				    -ECONNABORTED);
	d->r_epoch_max = 1;
	return 0;
}

int zs_dtls_hs_input(struct zs_dtls *d, const uint8_t *p, size_t len,
		     uint16_t epoch, uint64_t rec_seq, uint32_t now)
{
	(void)now;
	if (d->stream)
		return stream_input(d, p, len);
	while (len >= HS_HDR) {
		size_t flen = get24(p + 9);
		if (flen > len - HS_HDR || get24(p + 6) + flen > get24(p + 1)) {
			d->stats.rx_dropped++;
			return 0;
		}
		int rc = on_fragment(d, p, epoch, rec_seq);
		if (rc < 0)
			return rc;
		p += HS_HDR + flen;
		len -= HS_HDR + flen;
	}
	return 0;
}
