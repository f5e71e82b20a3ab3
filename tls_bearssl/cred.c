/*
 * The TLS credential store: <zsock/tls_credentials.h> for applications,
 * tls_bearssl/cred.h for the TLS sockets.
 *
 * Table. CONFIG_TLS_MAX_CREDENTIALS_NUMBER entries, each the caller's
 * pointer and length (registered, never copied: tls_credential_get() reads
 * them back) and, for certificates and keys, the decoded form: one block
 * of the credential arena (cred_arena.h) on which the entry holds one
 * reference. Lookups are linear, O(entries).
 *
 * Decoded forms, each one block, array or struct first, bytes after it:
 *   CA_CERTIFICATE      br_x509_trust_anchor[n], then each anchor's DN and
 *                       public key (RSA n and e, or EC point) bytes
 *   PUBLIC_CERTIFICATE  br_x509_certificate[n], end entity first; DER input:
 *                       pointing into the caller's buffer; PEM input:
 *                       pointing to the DER that follows the array
 *   PRIVATE_KEY         br_rsa_private_key or br_ec_private_key, then its
 *                       component bytes
 *   PSK, PSK_ID         none: the caller's bytes are used as they are
 * A DER certificate credential gets a second block, the store's copy (the
 * array again, then a copy of the caller's DER), when the first
 * zs_cred_acquire() without nocopy needs it; the entry holds a reference
 * on it too, and every later acquisition shares it.
 *
 * Format. Input whose first byte is 0x30 (an ASN.1 SEQUENCE) is DER: one
 * or more whole SEQUENCEs back to back, covering the buffer exactly.
 * Anything else is read as PEM: objects named CERTIFICATE or X509
 * CERTIFICATE for certificates (any other object is an error); for keys
 * exactly one RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY object, EC
 * PARAMETERS objects being skipped (openssl ecparam writes them). Text
 * outside objects is ignored, a trailing NUL included (Zephyr users pass
 * sizeof of a PEM string).
 *
 * Certificate input is decoded twice: a sizing pass that counts the
 * certificates and bytes, then, into the block it sized, a filling pass
 * running the same code over the same bytes. Keys are decoded once into
 * BearSSL's decoder and copied out.
 *
 * Locks. table_lock guards the table and the arena and is held only for
 * bookkeeping and copies. add_lock serialises tls_credential_add(): the
 * decoders' state (about 3 KiB) is static, not on the caller's stack, and
 * the decoding runs under add_lock alone. Order: add_lock, then
 * table_lock. Only an add fills a table slot, so a slot an add finds free
 * stays free until that add publishes its entry.
 */
#include "tls_bearssl/cred.h"
#include "tls_bearssl/cred_arena.h"

#include <errno.h>
#include <string.h>

#include "engine/port/port.h"

struct cred {
	const unsigned char *buf; /* the caller's bytes, as registered */
	size_t len;
	void *blob;               /* decoded form (arena block) or NULL */
	void *copy;               /* DER PUBLIC_CERTIFICATE: the store's copy, or NULL */
	sec_tag_t tag;
	uint32_t n;               /* trust anchors or certificates in blob */
	uint8_t type;             /* enum tls_credential_type; NONE: free slot */
	uint8_t key_type;         /* key: BR_KEYTYPE_*; certificate: chain[0]'s signer */
	bool pem;                 /* buf is PEM (blob holds the DER) */
};

static struct zs_lock table_lock;
static struct zs_lock add_lock;
static struct cred table[CONFIG_TLS_MAX_CREDENTIALS_NUMBER];

/* Decoder state, used under add_lock only. */
static br_pem_decoder_context pem_ctx;
static union {
	br_x509_decoder_context x509;
	br_skey_decoder_context skey;
} dec;

static struct zs_once store_init_once = ZS_ONCE_INIT;

/* Locks and arena; once, by store_start(). */
static void store_init(void)
{
	zs_lock_init(&table_lock);
	zs_lock_init(&add_lock);
	zs_arena_init();
}

/* First thing in every entry point: the store needs no engine. */
static void store_start(void)
{
	zs_port_once(&store_init_once, store_init);
}

/* The entry for tag and type, or NULL. Under table_lock. */
static struct cred *find(sec_tag_t tag, enum tls_credential_type type)
{
	size_t i;

	if (type == TLS_CREDENTIAL_NONE)
		return NULL; /* the type of free slots */
	for (i = 0; i < CONFIG_TLS_MAX_CREDENTIALS_NUMBER; i++) {
		if (table[i].type == type && table[i].tag == tag)
			return &table[i];
	}
	return NULL;
}

/* Drop a reference on the block at p (NULL: nothing). Under table_lock. */
static void block_put(void *p)
{
	if (p != NULL)
		zs_arena_unref(zs_arena_id(p));
}

/* zs_arena_alloc() under table_lock. */
static void *block_alloc(size_t len)
{
	void *p;

	zs_lock_take(&table_lock);
	p = zs_arena_alloc(len);
	zs_lock_give(&table_lock);
	return p;
}

/* ---- input formats ------------------------------------------------------ */

/*
 * Length of the DER SEQUENCE at p[0..len), header included, or 0 when
 * p does not start with a whole one (definite length of at most 4 bytes).
 */
static size_t der_seq_len(const unsigned char *p, size_t len)
{
	size_t hdr, body = 0, i;

	if (len < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80) {
		hdr = 2;
		body = p[1];
	} else {
		hdr = 2 + (size_t)(p[1] & 0x7f);
		if (hdr == 2 || hdr > 6 || len < hdr)
			return 0;
		for (i = 2; i < hdr; i++)
			body = body << 8 | p[i];
	}
	return body <= len - hdr ? hdr + body : 0;
}

/*
 * Run the PEM decoder over buf[0..len), then over one "\n" (a last line
 * without its newline still ends its object). At each object begin(ctx,
 * name) returns 1 to take its bytes (pushed to sink(ctx, ...)), 0 to skip
 * it, or -errno to stop; after a taken object end(ctx) returns 0 or
 * -errno. Returns 0, -EINVAL (bad base64, an unfinished object, no object
 * taken) or what a callback returned. Under add_lock.
 *
 * CRs never reach the decoder: BearSSL 0.6 leaves a hole in the object
 * name where a BEGIN line has its CR ("CERTIFICATE-----" and a stray
 * byte), so CRLF files would not match any name.
 */
static int pem_walk(const unsigned char *buf, size_t len,
		    int (*begin)(void *ctx, const char *name),
		    void (*sink)(void *ctx, const void *src, size_t n),
		    int (*end)(void *ctx), void *ctx)
{
	/* a one-byte input; two bytes so that lim stays inside the array
	 * (GCC 12 -Warray-bounds on arm-none-eabi rejects &nl + 1) */
	static const unsigned char nl[2] = "\n";
	const unsigned char *stop = buf, *lim = buf + len;
	bool in = false, taken = false, tail = false;
	size_t ntaken = 0;
	int rc;

	br_pem_decoder_init(&pem_ctx);
	for (;;) {
		if (buf == lim) {
			if (tail)
				break;
			tail = true;
			buf = stop = nl;
			lim = nl + 1;
		}
		if (buf == stop) {
			if (*buf == '\r') {
				stop = ++buf;
				continue;
			}
			stop = memchr(buf, '\r', (size_t)(lim - buf));
			if (stop == NULL)
				stop = lim;
		}
		buf += br_pem_decoder_push(&pem_ctx, buf, (size_t)(stop - buf));
		switch (br_pem_decoder_event(&pem_ctx)) {
		case BR_PEM_BEGIN_OBJ:
			rc = begin(ctx, br_pem_decoder_name(&pem_ctx));
			if (rc < 0)
				return rc;
			taken = rc == 1;
			in = true;
			br_pem_decoder_setdest(&pem_ctx, taken ? sink : NULL, ctx);
			break;
		case BR_PEM_END_OBJ:
			in = false;
			if (taken) {
				rc = end(ctx);
				if (rc < 0)
					return rc;
				ntaken++;
			}
			break;
		case BR_PEM_ERROR:
			return -EINVAL;
		default:
			break;
		}
	}
	return in || ntaken == 0 ? -EINVAL : 0;
}

/* ---- certificates ------------------------------------------------------- */

/*
 * Where a pass writes. With base NULL (the sizing pass) it only counts.
 */
struct out {
	unsigned char *base;
	size_t len;
};

/* Append n bytes; returns where they went (NULL when only counting). */
static unsigned char *out_put(struct out *o, const void *src, size_t n)
{
	unsigned char *p = NULL;

	if (o->base != NULL) {
		p = o->base + o->len;
		memcpy(p, src, n);
	}
	o->len += n;
	return p;
}

/* One pass over a certificate credential (sizing, or filling). */
struct cert_pass {
	enum tls_credential_type type; /* CA_ or PUBLIC_CERTIFICATE */
	bool keep_der;        /* PEM certificate chain: DER goes to bytes */
	void *head;           /* filling: the ta[] or chain[] array; sizing: NULL */
	struct out bytes;     /* names and keys (CA), DER (keep_der) */
	size_t n;             /* certificates done */
	size_t start;         /* bytes.len when the current certificate began */
	unsigned signer;      /* signer key type of the first certificate */
};

/* BearSSL's DN callback: the subject DN of a CA certificate, in pieces. */
static void cert_dn(void *ctx, const void *src, size_t n)
{
	struct cert_pass *c = ctx;

	out_put(&c->bytes, src, n);
}

/* A certificate starts: a fresh decoder; its bytes go after what is there. */
static void cert_begin(struct cert_pass *c)
{
	br_x509_decoder_init(&dec.x509,
			     c->type == TLS_CREDENTIAL_CA_CERTIFICATE ? cert_dn : NULL, c);
	c->start = c->bytes.len;
}

/* The current certificate's DER, in pieces (also the PEM sink). */
static void cert_push(void *ctx, const void *src, size_t n)
{
	struct cert_pass *c = ctx;

	br_x509_decoder_push(&dec.x509, src, n);
	if (c->keep_der)
		out_put(&c->bytes, src, n);
}

/*
 * The current certificate is complete: check that it decoded, record it.
 * der/der_len: where its DER is when it is not kept (DER input). Returns
 * 0 or -EINVAL.
 */
static int cert_end(struct cert_pass *c, const unsigned char *der, size_t der_len)
{
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dec.x509);
	unsigned char *at = c->bytes.base ? c->bytes.base + c->start : NULL;

	if (pk == NULL)
		return -EINVAL;
	if (c->n == 0)
		c->signer = (unsigned)br_x509_decoder_get_signer_key_type(&dec.x509);
	if (c->type == TLS_CREDENTIAL_CA_CERTIFICATE) {
		br_x509_trust_anchor ta = {
			.dn = { .data = at, .len = c->bytes.len - c->start },
			.flags = br_x509_decoder_isCA(&dec.x509) ? BR_X509_TA_CA : 0,
			.pkey.key_type = pk->key_type,
		};

		switch (pk->key_type) {
		case BR_KEYTYPE_RSA:
			ta.pkey.key.rsa.n = out_put(&c->bytes, pk->key.rsa.n, pk->key.rsa.nlen);
			ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
			ta.pkey.key.rsa.e = out_put(&c->bytes, pk->key.rsa.e, pk->key.rsa.elen);
			ta.pkey.key.rsa.elen = pk->key.rsa.elen;
			break;
		case BR_KEYTYPE_EC:
			ta.pkey.key.ec.curve = pk->key.ec.curve;
			ta.pkey.key.ec.q = out_put(&c->bytes, pk->key.ec.q, pk->key.ec.qlen);
			ta.pkey.key.ec.qlen = pk->key.ec.qlen;
			break;
		default:
			return -EINVAL;
		}
		if (c->head != NULL)
			((br_x509_trust_anchor *)c->head)[c->n] = ta;
	} else if (c->head != NULL) {
		br_x509_certificate *xc = &((br_x509_certificate *)c->head)[c->n];

		/* BearSSL's struct is not const; it never writes through it */
		xc->data = c->keep_der ? at : (unsigned char *)der;
		xc->data_len = c->keep_der ? c->bytes.len - c->start : der_len;
	}
	c->n++;
	return 0;
}

/* pem_walk() callbacks for certificates: every object MUST be one. */
static int cert_pem_begin(void *ctx, const char *name)
{
	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0)
		return -EINVAL;
	cert_begin(ctx);
	return 1;
}

static int cert_pem_end(void *ctx)
{
	return cert_end(ctx, NULL, 0);
}

/* Run pass c over e's bytes. Returns 0 or -EINVAL. Under add_lock. */
static int cert_pass_run(struct cert_pass *c, const struct cred *e)
{
	size_t off, n;
	int rc;

	if (e->pem)
		return pem_walk(e->buf, e->len, cert_pem_begin, cert_push,
				cert_pem_end, c);
	for (off = 0; off < e->len; off += n) {
		n = der_seq_len(e->buf + off, e->len - off);
		if (n == 0)
			return -EINVAL;
		cert_begin(c);
		cert_push(c, e->buf + off, n);
		rc = cert_end(c, e->buf + off, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Decode e's certificates into e->blob. Returns 0, -EINVAL or -ENOMEM. */
static int add_certs(struct cred *e)
{
	const size_t elem = e->type == TLS_CREDENTIAL_CA_CERTIFICATE ?
		sizeof(br_x509_trust_anchor) : sizeof(br_x509_certificate);
	struct cert_pass size = {
		.type = e->type,
		.keep_der = e->pem && e->type == TLS_CREDENTIAL_PUBLIC_CERTIFICATE,
	};
	struct cert_pass fill = size;
	unsigned char *blk;
	int rc;

	rc = cert_pass_run(&size, e);
	if (rc < 0)
		return rc;
	blk = block_alloc(size.n * elem + size.bytes.len);
	if (blk == NULL)
		return -ENOMEM;
	fill.head = blk;
	fill.bytes.base = blk + size.n * elem;
	rc = cert_pass_run(&fill, e);
	ZS_ASSERT(rc == 0 && fill.n == size.n && fill.bytes.len == size.bytes.len);
	e->blob = blk;
	e->n = (uint32_t)size.n;
	if (e->type == TLS_CREDENTIAL_PUBLIC_CERTIFICATE)
		e->key_type = (uint8_t)size.signer;
	return 0;
}

/* ---- private keys ------------------------------------------------------- */

/*
 * pem_walk() callbacks for a key: one key object into dec.skey (ctx counts
 * them), EC PARAMETERS skipped, anything else refused.
 */
static int key_pem_begin(void *ctx, const char *name)
{
	size_t *nkeys = ctx;

	if (strcmp(name, "EC PARAMETERS") == 0)
		return 0;
	if (strcmp(name, "RSA PRIVATE KEY") != 0 && strcmp(name, "EC PRIVATE KEY") != 0 &&
	    strcmp(name, "PRIVATE KEY") != 0)
		return -EINVAL; /* ENCRYPTED PRIVATE KEY among others */
	if (++*nkeys > 1)
		return -EINVAL;
	br_skey_decoder_init(&dec.skey);
	return 1;
}

static void key_push(void *ctx, const void *src, size_t n)
{
	(void)ctx;
	br_skey_decoder_push(&dec.skey, src, n);
}

static int key_pem_end(void *ctx)
{
	(void)ctx;
	return 0;
}

/*
 * Copy the key held by dec.skey into a new block at *blob. Returns 0 or
 * -ENOMEM. Under add_lock.
 */
static int key_store(void **blob)
{
	const br_rsa_private_key *rsa = br_skey_decoder_get_rsa(&dec.skey);
	const br_ec_private_key *ec = br_skey_decoder_get_ec(&dec.skey);
	struct out o;
	void *blk;

	if (rsa != NULL) {
		br_rsa_private_key *k;

		blk = block_alloc(sizeof(*k) + rsa->plen + rsa->qlen + rsa->dplen +
				  rsa->dqlen + rsa->iqlen);
		if (blk == NULL)
			return -ENOMEM;
		k = blk;
		o = (struct out){ .base = (unsigned char *)(k + 1) };
		*k = *rsa;
		k->p = out_put(&o, rsa->p, rsa->plen);
		k->q = out_put(&o, rsa->q, rsa->qlen);
		k->dp = out_put(&o, rsa->dp, rsa->dplen);
		k->dq = out_put(&o, rsa->dq, rsa->dqlen);
		k->iq = out_put(&o, rsa->iq, rsa->iqlen);
	} else {
		br_ec_private_key *k;

		blk = block_alloc(sizeof(*k) + ec->xlen);
		if (blk == NULL)
			return -ENOMEM;
		k = blk;
		o = (struct out){ .base = (unsigned char *)(k + 1) };
		k->curve = ec->curve;
		k->x = out_put(&o, ec->x, ec->xlen);
		k->xlen = ec->xlen;
	}
	*blob = blk;
	return 0;
}

/* Decode e's private key into e->blob. Returns 0, -EINVAL or -ENOMEM. */
static int add_key(struct cred *e)
{
	size_t nkeys = 0;
	int rc = 0;

	if (e->pem) {
		rc = pem_walk(e->buf, e->len, key_pem_begin, key_push, key_pem_end,
			      &nkeys);
	} else if (der_seq_len(e->buf, e->len) == e->len) {
		br_skey_decoder_init(&dec.skey);
		br_skey_decoder_push(&dec.skey, e->buf, e->len);
	} else {
		rc = -EINVAL;
	}
	if (rc == 0 && br_skey_decoder_last_error(&dec.skey) != 0)
		rc = -EINVAL;
	if (rc == 0) {
		e->key_type = (uint8_t)br_skey_decoder_key_type(&dec.skey);
		rc = key_store(&e->blob);
	}
	zs_arena_wipe(&dec.skey, sizeof(dec.skey));
	zs_arena_wipe(&pem_ctx, sizeof(pem_ctx));
	return rc;
}

/* ---- the public API ----------------------------------------------------- */

/* One of the types a credential can have (not NONE). */
static bool type_valid(enum tls_credential_type type)
{
	switch (type) {
	case TLS_CREDENTIAL_CA_CERTIFICATE:
	case TLS_CREDENTIAL_PUBLIC_CERTIFICATE:
	case TLS_CREDENTIAL_PRIVATE_KEY:
	case TLS_CREDENTIAL_PSK:
	case TLS_CREDENTIAL_PSK_ID:
		return true;
	default:
		return false;
	}
}

/* A free slot for tag and type: its index, or -EEXIST or -ENOMEM. */
static int slot_for(sec_tag_t tag, enum tls_credential_type type)
{
	int i, rc = -ENOMEM;

	zs_lock_take(&table_lock);
	if (find(tag, type) != NULL) {
		rc = -EEXIST;
	} else {
		for (i = 0; i < CONFIG_TLS_MAX_CREDENTIALS_NUMBER; i++) {
			if (table[i].type == TLS_CREDENTIAL_NONE) {
				rc = i;
				break;
			}
		}
	}
	zs_lock_give(&table_lock);
	return rc;
}

/* see zsock/tls_credentials.h */
int tls_credential_add(sec_tag_t tag, enum tls_credential_type type,
		       const void *cred, size_t credlen)
{
	struct cred e = {
		.buf = cred, .len = credlen, .tag = tag, .type = (uint8_t)type,
	};
	int slot, rc = 0;

	if (cred == NULL || credlen == 0 || tag == TLS_SEC_TAG_NONE || !type_valid(type))
		return -EINVAL;
	e.pem = e.buf[0] != 0x30;
	store_start();
	zs_lock_take(&add_lock);
	slot = slot_for(tag, type);
	if (slot < 0) {
		rc = slot;
	} else if (type == TLS_CREDENTIAL_CA_CERTIFICATE ||
		   type == TLS_CREDENTIAL_PUBLIC_CERTIFICATE) {
		rc = add_certs(&e);
	} else if (type == TLS_CREDENTIAL_PRIVATE_KEY) {
		rc = add_key(&e);
	}
	if (rc == 0) {
		zs_lock_take(&table_lock);
		table[slot] = e;
		zs_lock_give(&table_lock);
	}
	zs_lock_give(&add_lock);
	return rc;
}

/* see zsock/tls_credentials.h */
int tls_credential_get(sec_tag_t tag, enum tls_credential_type type,
		       void *cred, size_t *credlen)
{
	const struct cred *e;
	int rc = 0;

	if (credlen == NULL || (cred == NULL && *credlen != 0))
		return -EINVAL;
	store_start();
	zs_lock_take(&table_lock);
	e = find(tag, type);
	if (e == NULL) {
		rc = -ENOENT;
	} else if (*credlen < e->len) {
		*credlen = e->len;
		rc = -EFBIG;
	} else {
		memcpy(cred, e->buf, e->len);
		*credlen = e->len;
	}
	zs_lock_give(&table_lock);
	return rc;
}

/* see zsock/tls_credentials.h */
int tls_credential_delete(sec_tag_t tag, enum tls_credential_type type)
{
	struct cred *e;
	int rc = 0;

	store_start();
	zs_lock_take(&table_lock);
	e = find(tag, type);
	if (e == NULL) {
		rc = -ENOENT;
	} else {
		block_put(e->blob);
		block_put(e->copy);
		*e = (struct cred){ .type = TLS_CREDENTIAL_NONE };
	}
	zs_lock_give(&table_lock);
	return rc;
}

/* ---- acquisition (cred.h) ----------------------------------------------- */

/* Take a reference on the block at p for c. Returns 0 or -ENOMEM. */
static int hold(struct zs_tls_creds *c, void *p)
{
	uint32_t id = zs_arena_id(p);

	if (c->n_held == ZS_CRED_MAX_HELD)
		return -ENOMEM;
	zs_arena_ref(id);
	c->held[c->n_held++] = id;
	return 0;
}

/*
 * The store's copy of DER certificate credential e, made now if it does
 * not exist yet: chain[n] pointing into a copy of the DER that follows
 * it. NULL when the arena has no room. Under table_lock.
 */
static void *store_copy(struct cred *e)
{
	const br_x509_certificate *src = e->blob;
	br_x509_certificate *chain;
	unsigned char *der;
	uint32_t i;

	if (e->copy != NULL)
		return e->copy;
	chain = zs_arena_alloc(e->n * sizeof(*chain) + e->len);
	if (chain == NULL)
		return NULL;
	der = (unsigned char *)(chain + e->n);
	memcpy(der, e->buf, e->len);
	for (i = 0; i < e->n; i++) {
		chain[i].data = der + (src[i].data - e->buf);
		chain[i].data_len = src[i].data_len;
	}
	e->copy = chain;
	return chain;
}

/* Add what tag contributes to c (see cred.h). Under table_lock. */
static int acquire_tag(sec_tag_t tag, bool nocopy, struct zs_tls_creds *c)
{
	struct cred *ca = find(tag, TLS_CREDENTIAL_CA_CERTIFICATE);
	struct cred *crt = find(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE);
	struct cred *key = find(tag, TLS_CREDENTIAL_PRIVATE_KEY);
	struct cred *psk = find(tag, TLS_CREDENTIAL_PSK);
	int rc;

	if (ca != NULL) {
		if (ca->n > CONFIG_ZSOCK_TLS_MAX_TRUST_ANCHORS - c->n_ta)
			return -ENOMEM;
		rc = hold(c, ca->blob);
		if (rc < 0)
			return rc;
		memcpy(&c->ta[c->n_ta], ca->blob, ca->n * sizeof(c->ta[0]));
		c->n_ta += ca->n;
	}
	if (c->chain == NULL && crt != NULL && key != NULL) {
		void *chain = crt->pem || nocopy ? crt->blob : store_copy(crt);

		if (chain == NULL)
			return -ENOMEM;
		rc = hold(c, chain);
		if (rc == 0)
			rc = hold(c, key->blob);
		if (rc < 0)
			return rc;
		c->chain = chain;
		c->chain_len = crt->n;
		c->chain_signer_key_type = crt->key_type;
		c->key_type = key->key_type;
		if (key->key_type == BR_KEYTYPE_RSA)
			c->rsa = key->blob;
		else
			c->ec = key->blob;
	}
	if (c->psk == NULL && psk != NULL) {
		const struct cred *id = find(tag, TLS_CREDENTIAL_PSK_ID);

		c->psk = psk->buf;
		c->psk_len = psk->len;
		if (id != NULL) {
			c->psk_id = id->buf;
			c->psk_id_len = id->len;
		}
	}
	return 0;
}

/* see cred.h */
int zs_cred_acquire(const sec_tag_t *tags, size_t ntags, bool nocopy,
		    struct zs_tls_creds *out)
{
	size_t i;
	int rc = 0;

	store_start();
	memset(out, 0, sizeof(*out));
	zs_lock_take(&table_lock);
	for (i = 0; i < ntags && rc == 0; i++)
		rc = acquire_tag(tags[i], nocopy, out);
	zs_lock_give(&table_lock);
	if (rc < 0)
		zs_cred_release(out);
	return rc;
}

/* see cred.h */
int zs_cred_psk_lookup(const sec_tag_t *tags, size_t ntags, const uint8_t *id,
		       size_t id_len, uint8_t *psk, size_t psk_max)
{
	int rc = -ENOENT;
	size_t i;

	store_start();
	zs_lock_take(&table_lock);
	for (i = 0; i < ntags && rc == -ENOENT; i++) {
		const struct cred *k = find(tags[i], TLS_CREDENTIAL_PSK);
		const struct cred *n = find(tags[i], TLS_CREDENTIAL_PSK_ID);

		if (k == NULL || n == NULL || n->len != id_len ||
		    memcmp(n->buf, id, id_len) != 0)
			continue;
		if (k->len > psk_max) {
			rc = -EMSGSIZE;
			break;
		}
		memcpy(psk, k->buf, k->len);
		rc = (int)k->len;
	}
	zs_lock_give(&table_lock);
	return rc;
}

/* see cred.h */
void zs_cred_release(struct zs_tls_creds *c)
{
	size_t i;

	if (c->n_held > 0) {
		zs_lock_take(&table_lock);
		for (i = 0; i < c->n_held; i++)
			zs_arena_unref(c->held[i]);
		zs_lock_give(&table_lock);
	}
	memset(c, 0, sizeof(*c));
}

/* see cred.h */
size_t zs_cred_arena_used(void)
{
	size_t n;

	store_start();
	zs_lock_take(&table_lock);
	n = zs_arena_used();
	zs_lock_give(&table_lock);
	return n;
}

/* see cred.h */
size_t zs_cred_count(void)
{
	size_t i, n = 0;

	store_start();
	zs_lock_take(&table_lock);
	for (i = 0; i < CONFIG_TLS_MAX_CREDENTIALS_NUMBER; i++)
		n += table[i].type != TLS_CREDENTIAL_NONE;
	zs_lock_give(&table_lock);
	return n;
}
