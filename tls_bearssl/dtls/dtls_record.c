/*
 * DTLS 1.2 record layer (RFC 6347 s4.1) and the TLS 1.2 stream framing that
 * shares its AEAD code, plus the flight sender and the retransmission timer.
 *
 * Record layouts (big endian):
 *
 *   DTLS: type(1) version(2) epoch(2) seq(6) length(2) | fragment
 *   TLS:  type(1) version(2)                 length(2) | fragment
 *
 * Both AEAD suites here protect a record the same way (RFC 5288 s3,
 * RFC 6655 s3): fragment = explicit_nonce(8) || ciphertext || tag, with
 *
 *   nonce = salt(4, from the key block) || explicit_nonce(8)
 *   AAD   = seq64(8) || type(1) || version(2) || plaintext length(2)
 *
 * where seq64 is epoch(2) || seq(6) in DTLS (RFC 6347 s4.1.2.1) and the
 * implicit 64-bit counter in TLS. We send seq64 as the explicit nonce: it
 * never repeats under one key, which is all CCM and GCM need. Tags: 8 bytes
 * (CCM_8), 16 (GCM). So a sealed record is 13 + 8 + tag bytes longer than
 * its plaintext; everything is sealed and opened in place.
 *
 * Epoch 0 is plaintext; epoch 1 is the only protected one (no
 * renegotiation). Its keys are installed as soon as the key block is known,
 * and a record's epoch field, not the arrival of ChangeCipherSpec, selects
 * them: a Finished that overtakes its ChangeCipherSpec is still read.
 */
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <string.h>

size_t zs_dtls_ctx_size(void)
{
	return sizeof(struct zs_dtls);
}

static bool suite_ccm8(uint16_t s)
{
	return s == ZS_DTLS_PSK_WITH_AES_128_CCM_8
	       || s == ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
}

size_t zs_dtls_tag_len(uint16_t suite)
{
	return suite_ccm8(suite) ? 8 : 16;
}

static bool suite_psk(uint16_t s)
{
	return s == ZS_DTLS_PSK_WITH_AES_128_CCM_8
	       || s == ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
}

/* ---- AEAD --------------------------------------------------------------- */

static void cipher_set(struct zs_dtls_cipher *c, uint16_t suite,
		       const uint8_t key[16], const uint8_t salt[4])
{
	c->suite = suite;
	memcpy(c->salt, salt, 4);
	if (suite_ccm8(suite))
		br_aes_ct_ctrcbc_init(&c->aes.ccm, key, 16);
	else
		br_aes_ct_ctr_init(&c->aes.gcm, key, 16);
}

static void aead_aad(uint8_t aad[13], uint64_t seq64, uint8_t type,
		     uint16_t version, size_t len)
{
	put16(aad, (uint32_t)(seq64 >> 48));
	put48(aad + 2, seq64);
	aad[8] = type;
	put16(aad + 9, version);
	put16(aad + 11, (uint32_t)len);
}

/* Encrypt (enc 1) or decrypt data[0..len) in place under nonce
 * salt || explicit[8] with the 13-byte AAD. Encrypting writes the tag to
 * tag[]; decrypting checks it (1 good, 0 bad; constant time in BearSSL). */
static int aead_run(struct zs_dtls_cipher *c, int enc,
		    const uint8_t explicit[8], const uint8_t aad[13],
		    uint8_t *data, size_t len, uint8_t *tag)
{
	uint8_t nonce[12];
	memcpy(nonce, c->salt, 4);
	memcpy(nonce + 4, explicit, 8);
	if (suite_ccm8(c->suite)) {
		br_ccm_context cc;
		br_ccm_init(&cc, &c->aes.ccm.vtable);
		if (!br_ccm_reset(&cc, nonce, 12, 13, len, 8))
			return 0;
		br_ccm_aad_inject(&cc, aad, 13);
		br_ccm_flip(&cc);
		br_ccm_run(&cc, enc, data, len);
		if (enc) {
			br_ccm_get_tag(&cc, tag);
			return 1;
		}
		return (int)br_ccm_check_tag(&cc, tag);
	}
	br_gcm_context gc;
	br_gcm_init(&gc, &c->aes.gcm.vtable, br_ghash_ctmul);
	br_gcm_reset(&gc, nonce, 12);
	br_gcm_aad_inject(&gc, aad, 13);
	br_gcm_flip(&gc);
	br_gcm_run(&gc, enc, data, len);
	if (enc) {
		br_gcm_get_tag(&gc, tag);
		return 1;
	}
	return (int)br_gcm_check_tag(&gc, tag);
}

void zs_dtls_install_keys(struct zs_dtls *d)
{
	/* RFC 5246 s6.3: key_block = PRF(master, "key expansion",
	 * server_random + client_random); AEAD suites take no MAC keys:
	 * client key, server key, client salt, server salt. */
	uint8_t kb[40];
	br_tls_prf_seed_chunk seed[2] = {
		{ d->server_random, 32 }, { d->client_random, 32 },
	};
	br_tls12_sha256_prf(kb, sizeof kb, d->master, 48, "key expansion", 2,
			    seed);
	const uint8_t *ck = kb, *sk = kb + 16, *cs = kb + 32, *ss = kb + 36;
	cipher_set(&d->wc, d->suite, d->server ? sk : ck, d->server ? ss : cs);
	cipher_set(&d->rc, d->suite, d->server ? ck : sk, d->server ? cs : ss);
	memset(kb, 0, sizeof kb);
	if (!d->stream)
		d->r_epoch_max = 1;
}

/* ---- replay window, RFC 6347 s4.1.2.6 ----------------------------------- */

/* 1 if seq may be new (not seen, not left of the window). */
static int window_check(const struct zs_dtls_window *w, uint64_t seq)
{
	if (w->bits == 0 || seq > w->top)
		return 1;
	uint64_t back = w->top - seq;
	if (back >= 64)
		return 0;
	return !(w->bits >> back & 1);
}

/* Only after the record authenticated (s4.1.2.6: else forged numbers could
 * move the window). */
static void window_mark(struct zs_dtls_window *w, uint64_t seq)
{
	if (w->bits == 0) {
		w->top = seq;
		w->bits = 1;
	} else if (seq > w->top) {
		uint64_t shift = seq - w->top;
		w->bits = shift >= 64 ? 1 : (w->bits << shift) | 1;
		w->top = seq;
	} else {
		w->bits |= (uint64_t)1 << (w->top - seq);
	}
}

/* ---- init and accessors ------------------------------------------------- */

/* What this side can do with cfg: PSK suites, ECDHE_ECDSA suites. */
static void cfg_can(const struct zs_dtls_config *cfg, bool *psk, bool *ec)
{
	if (cfg->server) {
		*psk = cfg->psk_lookup != NULL;
		*ec = cfg->chain && cfg->chain_len && cfg->ec_key
		      && cfg->ec_key->curve == BR_EC_secp256r1;
	} else {
		*psk = cfg->psk_len > 0;
		*ec = cfg->verify_none || cfg->verify_optional || cfg->n_tas > 0;
	}
}

static int cfg_suites(struct zs_dtls *d, const struct zs_dtls_config *cfg)
{
	static const uint16_t dflt[] = {
		ZS_DTLS_PSK_WITH_AES_128_CCM_8,
		ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
		ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	};
	bool psk, ec;
	cfg_can(cfg, &psk, &ec);
	const uint16_t *list = cfg->n_suites ? cfg->suites : dflt;
	size_t n = cfg->n_suites ? cfg->n_suites : 4;
	for (size_t i = 0; i < n; i++) {
		bool is_psk = suite_psk(list[i]);
		bool is_ec = zs_dtls_suite_ecdhe(list[i]);
		if (!is_psk && !is_ec)
			return -EINVAL;
		if ((is_psk && !psk) || (is_ec && !ec)) {
			if (cfg->n_suites)
				return -EINVAL; /* asked for, cannot do */
			continue;               /* default list: skip it */
		}
		d->suites[d->n_suites++] = list[i];
	}
	return d->n_suites ? 0 : -EINVAL;
}

/* RFC 7301 s3.1: names of 1..255 bytes, no more than we can carry. */
static int cfg_alpn(const struct zs_dtls_config *cfg)
{
	if (cfg->n_alpn == 0)
		return 0;
	if (cfg->n_alpn > ZS_DTLS_MAX_ALPN || !cfg->alpn)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_alpn; i++) {
		const char *a = cfg->alpn[i];
		size_t n = 0;
		while (a && n < 256 && a[n])
			n++;
		if (n == 0 || n > 255)
			return -EINVAL;
	}
	return 0;
}

int zs_dtls_init(struct zs_dtls *d, const struct zs_dtls_config *cfg,
		 bool stream)
{
	memset(d, 0, sizeof *d);
	if (!cfg->rand || cfg->n_suites > ZS_DTLS_MAX_SUITES
	    || cfg->psk_len > ZS_DTLS_PSK_MAX
	    || cfg->psk_id_len > ZS_DTLS_PSK_ID_MAX
	    || cfg->psk_hint_len > ZS_DTLS_PSK_ID_MAX)
		return -EINVAL;
	uint16_t mtu = cfg->mtu ? cfg->mtu : 1200;
	uint32_t tmin = cfg->timeout_min_ms ? cfg->timeout_min_ms : 1000;
	uint32_t tmax = cfg->timeout_max_ms ? cfg->timeout_max_ms : 60000;
	if (mtu < 64 || tmin > tmax)
		return -EINVAL;
	int rc = cfg_suites(d, cfg);
	if (rc == 0)
		rc = cfg_alpn(cfg);
	if (rc < 0)
		return rc;
	d->server = cfg->server;
	d->stream = stream;
	d->mtu = mtu;
	d->tmo_min = tmin;
	d->tmo_max = tmax;
	d->tmo_cur = tmin;
	/* (lengths checked above; a zero length may come with NULL) */
	if (cfg->server) {
		d->psk_id_len = (uint8_t)cfg->psk_hint_len;
		if (d->psk_id_len)
			memcpy(d->psk_id, cfg->psk_hint, d->psk_id_len);
	} else {
		d->psk_len = (uint8_t)cfg->psk_len;
		if (d->psk_len)
			memcpy(d->psk, cfg->psk, d->psk_len);
		d->psk_id_len = (uint8_t)cfg->psk_id_len;
		if (d->psk_id_len)
			memcpy(d->psk_id, cfg->psk_id, d->psk_id_len);
	}
	d->psk_lookup = cfg->psk_lookup;
	d->psk_arg = cfg->psk_arg;
	d->rand = cfg->rand;
	d->rand_arg = cfg->rand_arg;
	d->tas = cfg->tas;
	d->n_tas = cfg->n_tas;
	d->x509_days = cfg->x509_days;
	d->x509_seconds = cfg->x509_seconds;
	d->server_name = cfg->server_name;
	d->verify_none = cfg->verify_none;
	d->verify_optional = cfg->verify_optional && !cfg->verify_none;
	d->verify_res = -1;
	d->alpn = cfg->n_alpn ? cfg->alpn : NULL;
	d->n_alpn = (uint8_t)cfg->n_alpn;
	d->alpn_sel = ZS_DTLS_ALPN_NONE;
	d->chain = cfg->chain;
	d->chain_len = cfg->chain_len;
	d->ec_key = cfg->ec_key;
	d->cache = cfg->server ? cfg->cache : NULL;
	d->alert_sent = d->alert_rcvd = d->pending_alert = NO_ALERT;
	d->state = ZS_DTLS_IDLE;
	return 0;
}

enum zs_dtls_state zs_dtls_state(const struct zs_dtls *d)
{
	return (enum zs_dtls_state)d->state;
}

uint16_t zs_dtls_suite(const struct zs_dtls *d)
{
	return d->suite;
}

int zs_dtls_error(const struct zs_dtls *d)
{
	return d->state == ZS_DTLS_FAILED ? d->err : 0;
}

int zs_dtls_alert_received(const struct zs_dtls *d)
{
	return d->alert_rcvd == NO_ALERT ? -1 : d->alert_rcvd;
}

int zs_dtls_alert_sent(const struct zs_dtls *d)
{
	return d->alert_sent == NO_ALERT ? -1 : d->alert_sent;
}

int zs_dtls_verify_result(const struct zs_dtls *d)
{
	return d->verify_res;
}

const struct zs_dtls_stats *zs_dtls_stats(const struct zs_dtls *d)
{
	return &d->stats;
}

int zs_dtls_fail(struct zs_dtls *d, uint8_t alert, int err)
{
	if (d->state == ZS_DTLS_FAILED)
		return d->err;
	d->state = ZS_DTLS_FAILED;
	d->err = err;
	/* a timeout is no fatal alert: the session stays resumable */
	if (err != -ETIMEDOUT)
		zs_dtls_cache_forget(d);
	memset(d->master, 0, sizeof d->master);
	d->pending_alert = alert;
	d->sending = false;
	d->timer_on = false;
	return err;
}

int zs_dtls_connect(struct zs_dtls *d, uint32_t now)
{
	if (d->server)
		return -EINVAL;
	if (d->state != ZS_DTLS_IDLE)
		return -EALREADY;
	return zs_dtls_hs_start(d, now);
}

/* ---- sealing ------------------------------------------------------------ */

static size_t hdr_len(const struct zs_dtls *d)
{
	return d->stream ? ZS_TLS_HDR : ZS_DTLS_HDR;
}

/* Bytes between the record start and the plaintext, and after it. */
static size_t pt_offset(const struct zs_dtls *d, uint16_t epoch)
{
	return hdr_len(d) + (epoch ? ZS_DTLS_AEAD_EXPLICIT : 0);
}

static size_t pt_trailer(const struct zs_dtls *d, uint16_t epoch)
{
	return epoch ? zs_dtls_tag_len(d->wc.suite) : 0;
}

/* The plaintext is already at rec + pt_offset(epoch); write the header,
 * encrypt in place, return the record length. */
static size_t seal_inplace(struct zs_dtls *d, uint8_t type, uint16_t epoch,
			   uint8_t *rec, size_t ptlen)
{
	uint16_t ver = d->stream ? TLS_V12 : DTLS_V12;
	uint64_t seq = d->w_seq[epoch ? 1 : 0]++;
	uint64_t seq64 = d->stream ? seq : ((uint64_t)epoch << 48 | seq);
	size_t h = hdr_len(d), flen = ptlen;

	rec[0] = type;
	put16(rec + 1, ver);
	if (epoch) {
		uint8_t *pt = rec + pt_offset(d, epoch), aad[13];
		put16(rec + h, (uint32_t)(seq64 >> 48));
		put48(rec + h + 2, seq64);
		aead_aad(aad, seq64, type, ver, ptlen);
		aead_run(&d->wc, 1, rec + h, aad, pt, ptlen, pt + ptlen);
		flen += ZS_DTLS_AEAD_EXPLICIT + zs_dtls_tag_len(d->wc.suite);
	}
	if (!d->stream) {
		put16(rec + 3, epoch);
		put48(rec + 5, seq);
	}
	put16(rec + h - 2, (uint32_t)flen);
	d->stats.tx_records++;
	return h + flen;
}

int zs_dtls_seal(struct zs_dtls *d, const void *data, size_t len, uint8_t *out,
		 size_t cap)
{
	if (d->state != ZS_DTLS_ESTABLISHED)
		return -ENOTCONN;
	if (len > 16384)
		return -EMSGSIZE;
	/* the flight first: data overtaking our Finished is what a TLS peer
	 * calls an unexpected record, and a DTLS peer drops */
	if (d->sending)
		return -EAGAIN;
	/* RFC 6347 s4.1: a sequence number never wraps within an epoch;
	 * with no renegotiation the association ends there */
	if (!d->stream && d->w_seq[1] >= ((uint64_t)1 << 48) - 1)
		return -EOVERFLOW;
	size_t off = pt_offset(d, 1);
	if (cap < off + len + pt_trailer(d, 1))
		return -ENOBUFS;
	memmove(out + off, data, len);
	return (int)seal_inplace(d, CT_APP, 1, out, len);
}

void zs_dtls_close(struct zs_dtls *d)
{
	if (d->state == ZS_DTLS_FAILED || d->state == ZS_DTLS_CLOSED)
		return;
	d->state = ZS_DTLS_CLOSED;
	d->pending_alert = ZS_ALERT_CLOSE_NOTIFY;
	d->sending = false;
	d->timer_on = false;
}

/* ---- output: alerts, flights, the timer --------------------------------- */

static int put_alert(struct zs_dtls *d, uint8_t *out, size_t room)
{
	uint16_t ep = d->w_epoch;
	uint8_t desc = d->pending_alert;
	if (room < pt_offset(d, ep) + 2 + pt_trailer(d, ep))
		return -ENOBUFS;
	uint8_t *pt = out + pt_offset(d, ep);
	pt[0] = desc == ZS_ALERT_CLOSE_NOTIFY ? 1 : 2; /* warning / fatal */
	pt[1] = desc;
	d->pending_alert = NO_ALERT;
	d->alert_sent = desc;
	return (int)seal_inplace(d, CT_ALERT, ep, out, 2);
}

/* Stream mode: the message as TLS sends it (4-byte header: the first 4
 * bytes of the stored 12, then the body) from the cursor on, as much as
 * max bytes of plaintext (and one record) hold. */
static size_t put_stream_msg(struct zs_dtls *d,
			     const struct zs_dtls_flight_msg *m, uint8_t *rec,
			     size_t max)
{
	const uint8_t *msg = d->flight + m->off;
	size_t total = m->len - HS_HDR + 4, rest = total - d->cur_off;
	size_t n = rest < max ? rest : max;
	if (n > 16384)
		n = 16384;
	uint8_t *pt = rec + pt_offset(d, m->epoch);
	for (size_t i = 0; i < n; i++) {
		size_t at = d->cur_off + i;
		pt[i] = at < 4 ? msg[at] : msg[HS_HDR + at - 4];
	}
	d->cur_off = (uint16_t)(d->cur_off + n);
	if (d->cur_off == total) {
		d->cur_msg++;
		d->cur_off = 0;
	}
	return seal_inplace(d, CT_HANDSHAKE, m->epoch, rec, n);
}

/* Fill one datagram from the flight cursor (RFC 6347 s4.2.3: fragments of
 * at most the room left, records packed while they fit). */
static size_t put_flight(struct zs_dtls *d, uint8_t *out, size_t room)
{
	size_t used = 0;
	while (d->cur_msg < d->n_fmsg) {
		const struct zs_dtls_flight_msg *m = &d->fmsg[d->cur_msg];
		size_t ovh = pt_offset(d, m->epoch) + pt_trailer(d, m->epoch);
		size_t left = room - used;
		uint8_t *rec = out + used;
		if (m->len == 0) { /* ChangeCipherSpec */
			if (left < ovh + 1)
				break;
			rec[pt_offset(d, m->epoch)] = 1;
			used += seal_inplace(d, CT_CCS, m->epoch, rec, 1);
			d->cur_msg++;
			continue;
		}
		const uint8_t *msg = d->flight + m->off;
		if (d->stream) {
			if (left < ovh + 1)
				break;
			used += put_stream_msg(d, m, rec, left - ovh);
			continue;
		}
		size_t body = m->len - HS_HDR, rest = body - d->cur_off;
		if (left < ovh + HS_HDR + (rest ? 1 : 0))
			break;
		size_t frag = left - ovh - HS_HDR;
		if (frag > rest)
			frag = rest;
		uint8_t *pt = rec + pt_offset(d, m->epoch);
		memcpy(pt, msg, 6);                 /* type, length, msg_seq */
		put24(pt + 6, d->cur_off);
		put24(pt + 9, (uint32_t)frag);
		memcpy(pt + HS_HDR, msg + HS_HDR + d->cur_off, frag);
		used += seal_inplace(d, CT_HANDSHAKE, m->epoch, rec,
				     HS_HDR + frag);
		d->cur_off = (uint16_t)(d->cur_off + frag);
		if (d->cur_off == body) {
			d->cur_msg++;
			d->cur_off = 0;
		}
	}
	return used;
}

static bool due(uint32_t now, uint32_t at)
{
	return (int32_t)(now - at) >= 0;
}

void zs_dtls_flight_resend(struct zs_dtls *d)
{
	d->cur_msg = 0;
	d->cur_off = 0;
	d->sending = d->n_fmsg > 0;
}

int zs_dtls_output(struct zs_dtls *d, uint8_t *out, size_t cap, uint32_t now)
{
	size_t room = cap < d->mtu || d->stream ? cap : d->mtu;
	if (d->pending_alert != NO_ALERT)
		return put_alert(d, out, room);
	if (d->state == ZS_DTLS_FAILED || d->state == ZS_DTLS_CLOSED)
		return 0;
	if (d->timer_on && !d->sending && due(now, d->deadline)) {
		/* RFC 6347 s4.2.4.1: double the timer on each expiry. We give
		 * up once it has reached the maximum (as Zephyr's
		 * TLS_DTLS_HANDSHAKE_TIMEOUT_MAX reads). */
		if (d->tmo_cur >= d->tmo_max)
			return zs_dtls_fail(d, NO_ALERT, -ETIMEDOUT);
		d->tmo_cur = d->tmo_cur * 2 > d->tmo_max ? d->tmo_max
							 : d->tmo_cur * 2;
		d->timer_on = false;
		d->stats.retransmits++;
		zs_dtls_flight_resend(d);
		/* a fragment with a forged type or length must not block
		 * the message for good: start it again from the peer's
		 * retransmission */
		if (d->reasm_conflict)
			d->reasm_active = d->reasm_conflict = false;
	}
	if (!d->sending)
		return 0;
	size_t n = put_flight(d, out, room);
	if (n == 0)
		return -ENOBUFS;
	if (d->cur_msg == d->n_fmsg) {
		d->sending = false;
		/* a stream retransmits nothing: TCP does */
		if (!d->last_flight && d->state == ZS_DTLS_HANDSHAKE
		    && !d->stream) {
			d->timer_on = true;
			d->deadline = now + d->tmo_cur;
		}
	}
	return (int)n;
}

bool zs_dtls_deadline(const struct zs_dtls *d, uint32_t *at)
{
	if (!d->timer_on || d->sending)
		return false;
	*at = d->deadline;
	return true;
}

/* ---- input -------------------------------------------------------------- */

static int on_alert(struct zs_dtls *d, const uint8_t *p, size_t len,
		    uint16_t epoch)
{
	/* once keyed, a plaintext alert is anyone's forgery: ignore it */
	if (len < 2 || (d->state == ZS_DTLS_ESTABLISHED && epoch == 0))
		return 0;
	if (p[1] == ZS_ALERT_CLOSE_NOTIFY) {
		d->alert_rcvd = p[1];
		if (d->state != ZS_DTLS_FAILED)
			d->state = ZS_DTLS_CLOSED;
		d->timer_on = d->sending = false;
		return 0;
	}
	if (p[0] != 2)
		return 0; /* warnings other than close_notify: nothing to do */
	d->alert_rcvd = p[1];
	return zs_dtls_fail(d, NO_ALERT, -ECONNRESET);
}

static int dispatch(struct zs_dtls *d, uint8_t type, uint8_t *p, size_t len,
		    uint16_t epoch, uint64_t seq, uint32_t now, uint8_t **app,
		    size_t *app_len)
{
	switch (type) {
	case CT_ALERT:
		return on_alert(d, p, len, epoch);
	case CT_HANDSHAKE:
		if (d->state == ZS_DTLS_CLOSED)
			return 0;
		return zs_dtls_hs_input(d, p, len, epoch, seq, now);
	case CT_CCS:
		/* a marker only: the epoch field selects the keys */
		if (len == 1 && p[0] == 1)
			return zs_dtls_hs_ccs(d);
		if (d->stream)
			return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR,
					    -ECONNABORTED);
		d->stats.rx_dropped++;
		return 0;
	case CT_APP:
		if (epoch == 0 || d->state != ZS_DTLS_ESTABLISHED) {
			d->stats.rx_dropped++;
			return 0;
		}
		*app = p;
		*app_len = len;
		return 0;
	}
	d->stats.rx_dropped++;
	return 0;
}

/* Open a protected record in place: 1 good, 0 failed authentication, -1
 * malformed. *pt, *ptlen: the plaintext. */
static int open_inplace(struct zs_dtls *d, uint8_t type, uint16_t ver,
			uint64_t seq64, uint8_t *frag, size_t flen,
			uint8_t **pt, size_t *ptlen)
{
	size_t tag = zs_dtls_tag_len(d->rc.suite);
	if (flen < ZS_DTLS_AEAD_EXPLICIT + tag)
		return -1;
	/* we send the sequence number as explicit nonce; a peer may send
	 * anything unique there (RFC 5288 s3), so take it from the record */
	*pt = frag + ZS_DTLS_AEAD_EXPLICIT;
	*ptlen = flen - ZS_DTLS_AEAD_EXPLICIT - tag;
	uint8_t aad[13];
	aead_aad(aad, seq64, type, ver, *ptlen);
	return aead_run(&d->rc, 0, frag, aad, *pt, *ptlen, *pt + *ptlen);
}

/* Datagram mode: one record from buf; RFC 6347 s4.1.2.7: anything wrong
 * with it drops it (the rest of the datagram too when the framing is
 * broken), counted. */
static int input_dgram(struct zs_dtls *d, uint8_t *buf, size_t len,
		       uint32_t now, uint8_t **app, size_t *app_len)
{
	if (len < ZS_DTLS_HDR) {
		d->stats.rx_dropped++;
		return (int)len;
	}
	uint8_t type = buf[0];
	uint16_t ver = (uint16_t)get16(buf + 1);
	uint16_t epoch = (uint16_t)get16(buf + 3);
	uint64_t seq = get48(buf + 5);
	size_t flen = get16(buf + 11), n = ZS_DTLS_HDR + flen;
	if (n > len) {
		d->stats.rx_dropped++;
		return (int)len;
	}
	uint8_t *p = buf + ZS_DTLS_HDR;
	size_t plen = flen;
	if ((ver >> 8) != 0xFE || type < CT_CCS || type > CT_APP
	    || epoch > d->r_epoch_max || flen > 16384 + 256) {
		d->stats.rx_dropped++;
		return (int)n;
	}
	if (epoch == 1) {
		uint64_t seq64 = (uint64_t)1 << 48 | seq;
		if (!window_check(&d->win[1], seq)) {
			d->stats.rx_replayed++;
			return (int)n;
		}
		int ok = open_inplace(d, type, ver, seq64, p, flen, &p, &plen);
		if (ok <= 0) {
			d->stats.rx_dropped++;
			if (ok < 0)
				return (int)n;
			d->stats.rx_bad_mac++;
			/* see zs_dtls_input() in dtls.h: the deviation */
			if (d->state == ZS_DTLS_HANDSHAKE
			    && type == CT_HANDSHAKE
			    && ++d->hs_badmac >= ZS_DTLS_HS_BADMAC_LIMIT)
				return zs_dtls_fail(d, ZS_ALERT_BAD_RECORD_MAC,
						    -ECONNABORTED);
			return (int)n;
		}
		window_mark(&d->win[1], seq);
	}
	d->stats.rx_records++;
	int rc = dispatch(d, type, p, plen, epoch, seq, now, app, app_len);
	return rc < 0 ? rc : (int)n;
}

/* Stream mode: RFC 5246 s6.2; every error is fatal. */
static int input_stream(struct zs_dtls *d, uint8_t *buf, size_t len,
			uint32_t now, uint8_t **app, size_t *app_len)
{
	if (len < ZS_TLS_HDR)
		return 0;
	uint8_t type = buf[0];
	uint16_t ver = (uint16_t)get16(buf + 1);
	size_t flen = get16(buf + 3), n = ZS_TLS_HDR + flen;
	if (type < CT_CCS || type > CT_APP || (ver >> 8) != 3
	    || flen > 16384 + 256)
		return zs_dtls_fail(d, ZS_ALERT_DECODE_ERROR, -ECONNABORTED);
	if (n > len)
		return 0;
	uint8_t *p = buf + ZS_TLS_HDR;
	size_t plen = flen;
	uint16_t epoch = d->r_epoch_max;
	if (epoch) {
		uint64_t seq = d->r_seq_stream++;
		if (open_inplace(d, type, ver, seq, p, flen, &p, &plen) <= 0)
			return zs_dtls_fail(d, ZS_ALERT_BAD_RECORD_MAC,
					    -ECONNABORTED);
	}
	d->stats.rx_records++;
	int rc = dispatch(d, type, p, plen, epoch, 0, now, app, app_len);
	return rc < 0 ? rc : (int)n;
}

int zs_dtls_input(struct zs_dtls *d, uint8_t *buf, size_t len, uint32_t now,
		  uint8_t **app, size_t *app_len)
{
	*app = NULL;
	*app_len = 0;
	if (d->state == ZS_DTLS_FAILED)
		return d->err;
	if (d->stream)
		return input_stream(d, buf, len, now, app, app_len);
	return input_dgram(d, buf, len, now, app, app_len);
}
