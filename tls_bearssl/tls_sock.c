/*
 * TLS sockets over BearSSL.
 *
 * A TLS socket is an fd object (one of a fixed pool) that owns a transport
 * (a stream socket of any implementation, held through its vtable, not
 * through an fd) and, from the start of its handshake, one session of a
 * second fixed pool: BearSSL's client or server context, the X.509 state
 * and the I/O buffer; a listener never takes one. Nothing is allocated
 * after start-up. All record work runs in the calling thread,
 * never in the reactor (DESIGN.md: a slow handshake must not stall it):
 *
 *   send  -> sendapp buffer -> BearSSL seals a record -> transport send
 *   recv  <- recvapp buffer <- BearSSL opens a record <- transport recv
 *
 * pump() moves records between BearSSL and the transport without blocking;
 * a blocking call that can make no progress sleeps on the transport's wait
 * queue (wait_io) with the socket's lock released, so poll, send and recv
 * from other threads go on meanwhile.
 *
 * Poll: a TLS socket is readable when decrypted data (or the end, or an
 * error) is there, not when TCP bytes arrive. poll_events() pumps when it
 * can take the lock without waiting; the bits it computes are kept in
 * t->ready, and whoever changes them wakes the transport's pollers
 * (vtable poll_wake), which is where pollers of a TLS fd sleep.
 *
 * Locking: t->lock guards the BearSSL context and everything the handshake
 * and the records touch; it is never held while sleeping. t->hs, t->ready
 * and t->closed are atomics so that poll can read them without it.
 *
 * Handshake deadline (docs/security.md): a server handshake that accept()
 * starts on a listener without SO_SNDTIMEO must end within
 * CONFIG_ZSOCK_TLS_HANDSHAKE_TIMEOUT_MS (t->hs_deadline), so that a client
 * that connects and then sends nothing, or half a ClientHello, cannot hold
 * a session, or a blocking accept(), for ever. advance() fails a handshake
 * past its deadline with ETIMEDOUT; a blocking accept() then closes that
 * connection and waits for the next one instead of returning the error.
 *
 * TLS-PSK: BearSSL has no PSK suites. A connection that is to use a PSK
 * runs on the project's DTLS/TLS-PSK core in stream mode instead
 * (psk_stream.h puts it behind BearSSL's engine interface, so everything
 * above -- pump, recv, send, poll, shutdown, close -- is one code path).
 * start() picks the PSK path when all of these hold:
 *   - the socket is IPPROTO_TLS_1_2;
 *   - a client's tags give a PSK with its identity (the first tag holding
 *     a PSK, as zs_cred_acquire() resolves it); a server's tags include
 *     one with both a PSK and an identity (its clients' identities are
 *     looked up over all its tags, zs_cred_psk_lookup()), and the server
 *     has no certificate with a key -- or it has, and its
 *     TLS_CIPHERSUITE_LIST names a PSK suite (otherwise the certificate's
 *     clients keep being served by BearSSL, as before PSK existed);
 *   - no TLS_CIPHERSUITE_LIST was set, or it names TLS_PSK_WITH_AES_128_
 *     CCM_8 (0xC0A8) or _GCM_SHA256 (0x00A8).
 * The core then gets the list's PSK suites in its order (none set: both,
 * CCM_8 first; a server takes the first of its own list the client
 * offers). ECDHE_ECDSA, which the core also does, stays BearSSL's.
 * TLS_SESSION_CACHE works on the PSK path too: clients keep the core's
 * sessions beside BearSSL's (the same key, plus the engine), servers share
 * the core's own LRU (psk_scache), both emptied by TLS_SESSION_CACHE_PURGE.
 * TLS_ALPN_LIST works on the PSK path too (the core's ALPN, RFC 7301;
 * ZSOCK_TLS_ALPN_USED from zs_dtls_alpn()), with two differences from
 * BearSSL's: a server whose list has nothing in common with the client's
 * ends the handshake with no_application_protocol (120, RFC 7301 s3.2;
 * BearSSL goes on without a protocol), and the list may hold at most
 * ZS_DTLS_MAX_ALPN (4) names (more: the handshake's start fails with
 * EINVAL). There is no peer certificate (ZSOCK_TLS_VERIFY_RESULT -1) and
 * no max_fragment_length; a record from the peer longer than the buffer's
 * input side ends the connection (with the default buffer, 16765 bytes:
 * any record). Everything else -- and every socket the rule does not
 * pick -- is BearSSL as before; BearSSL gets a list without the PSK
 * suites, and a list of PSK suites alone with no PSK to use them fails
 * the handshake's start with ECONNABORTED.
 */
#include "tls_bearssl/tls.h"
#include "tls_bearssl/cred.h"
#include "tls_bearssl/psk_stream.h"
#include "tls_bearssl/secsock.h"

#include <bearssl.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <zsock/socket.h>

#include "engine/fdtable.h"
#include "engine/optval.h"
#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#include "engine/reactor/waitq.h"
#include "lwip/timeouts.h"
#include "engine/sock/native.h"

enum hs_state {
	HS_IDLE,       /* no connection yet (or a listener) */
	HS_CONNECTING, /* non-blocking TCP connect in flight */
	HS_RUNNING,    /* handshake under way */
	HS_DONE,       /* application data flows */
	HS_FAILED,     /* t->err says why */
};

#define N_ALPN (CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS > 0 ? CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS : 1)

/*
 * The X.509 engine BearSSL calls: the minimal validator wrapped so that
 * TLS_PEER_VERIFY_NONE and _OPTIONAL can go on with an unverified peer.
 * The end-entity certificate is also decoded on the side, which gives its
 * key when the validator refuses the chain.
 */
struct xwrap {
	const br_x509_class *vtable;
	br_x509_minimal_context mini;
	br_x509_decoder_context dec;
	int level;       /* TLS_PEER_VERIFY_* */
	int result;      /* -1 nothing checked, 0 verified, else BR_ERR_X509_* */
	unsigned ncert;  /* certificates seen in this chain */
};

struct zs_tls {
	struct zs_secsock_io io;      /* the transport, one reference of ours; first (secsock.h) */
	_Atomic int refs;
	bool used;                    /* slot taken (pool_lock) */
	bool lock_ready;
	struct zs_lock lock;

	int family;
	int proto;
	uint16_t version;             /* BR_TLS10 .. BR_TLS12 */
	bool server;
	_Atomic bool listening;
	bool nonblock;
	bool rd_shut, wr_shut;
	bool eof;                     /* the transport ended */
	int ioerr;                    /* the transport failed: -errno */
	bool err_reported;            /* SO_ERROR gave t->err once */
	_Atomic bool closed;
	_Atomic int hs;
	_Atomic int ready;            /* ZSOCK_POLL* bits, see compute_ready() */
	int err;                      /* HS_FAILED: -errno */
	int32_t rcvtimeo_ms, sndtimeo_ms;
	_Atomic int64_t hs_deadline;  /* the default server handshake deadline
				       * (zs_port_now_ms() scale), ZS_FOREVER: none */

	/* options */
	struct zs_secopt opt;         /* the SOL_TLS options DTLS sockets also take */
	uint16_t suites[CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES];
	const char *alpn[N_ALPN];

	/* the session */
	struct zs_tls_creds creds;
	bool creds_held;
	bool resumed;
	unsigned char sid[32];        /* offered (client) or loaded (server) id */
	size_t sid_len;
	struct tls_session *sess;     /* from the handshake's start until the end */
};

/*
 * What a connection needs on top of its socket: BearSSL's context and the
 * X.509 state, or the PSK core (psk set), and the I/O buffer either uses.
 * Taken when a handshake starts, given back when the socket goes; a
 * listener never has one.
 */
struct tls_session {
	struct zs_tls *owner;
	bool used;                    /* pool_lock */
	bool psk;                     /* ps runs the connection, not BearSSL */
	union {
		struct {
			struct xwrap xw;
			union {
				br_ssl_client_context c;
				br_ssl_server_context s;
			} ctx;
		};
		struct zs_psk_stream ps;
	};
	unsigned char iobuf[CONFIG_ZSOCK_TLS_IOBUF_SIZE];
};

static struct zs_tls slots[CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS];
static struct tls_session sessions[CONFIG_ZSOCK_TLS_SESSIONS];
static struct zs_lock pool_lock;
static uint32_t pool_used, pool_high, sess_used, sess_high;
static const struct zs_fd_vtable tls_vtable;

/* every suite BearSSL implements, in its default order (from a client
 * context initialised once) */
static uint16_t all_suites[BR_MAX_CIPHER_SUITES];
static size_t n_all_suites;
/* BearSSL has no system seeder here: seed each context from zs_port_entropy */
static bool port_seed;

/* ---- session caches ---------------------------------------------------------- */

/*
 * Client side: sessions to offer again, keyed by the peer's address and
 * port, the host name, the verification level (a session made without
 * checking the peer is never offered by a socket that wants it checked)
 * and the engine (BearSSL's parameters, or the PSK core's session, which
 * the core offers only with the identity it was made with).
 */
struct csession {
	bool used;
	bool psk;
	uint32_t stamp;
	int family;
	uint16_t port;
	unsigned char addr[16];
	uint64_t host_hash;
	int level;
	union {
		br_ssl_session_parameters p;  /* !psk */
		struct zs_dtls_session ds;    /* psk */
	};
};

static struct zs_lock cache_lock;
static struct csession csessions[CONFIG_NET_SOCKETS_TLS_MAX_CLIENT_SESSION_COUNT];
static uint32_t cstamp;

/* Server side: BearSSL's LRU behind a lock (servers run in many threads). */
#if CONFIG_ZSOCK_TLS_SERVER_SESSION_CACHE > 0
#define SCACHE_BYTES CONFIG_ZSOCK_TLS_SERVER_SESSION_CACHE
#else
#define SCACHE_BYTES 1
#endif
static struct {
	const br_ssl_session_cache_class *vtable;
	br_ssl_session_cache_lru lru;
	unsigned char store[SCACHE_BYTES];
} scache;

/* Server side on the PSK path: the core's LRU (ZS_DTLS_SESSION_SLOTS
 * sessions, 964 bytes with the default 8), behind the same lock; the core
 * uses it only in a server handshake's zs_dtls_input(). */
#if CONFIG_ZSOCK_TLS_SERVER_SESSION_CACHE > 0
static struct zs_dtls_cache psk_scache;
#define PSK_SCACHE_BYTES sizeof(psk_scache)
#else
#define PSK_SCACHE_BYTES 0
#endif


static struct zs_tls *of_server_ctx(br_ssl_server_context *sc)
{
	struct tls_session *ss = (struct tls_session *)(void *)((char *)sc -
				 offsetof(struct tls_session, ctx.s));

	return ss->owner;
}

static void scache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
			const br_ssl_session_parameters *p)
{
	(void)ctx;
	zs_lock_take(&cache_lock);
	scache.lru.vtable->save(&scache.lru.vtable, sc, p);
	zs_lock_give(&cache_lock);
}

static int scache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		       br_ssl_session_parameters *p)
{
	struct zs_tls *t = of_server_ctx(sc);
	int found;

	(void)ctx;
	zs_lock_take(&cache_lock);
	found = scache.lru.vtable->load(&scache.lru.vtable, sc, p);
	zs_lock_give(&cache_lock);
	if (found) {
		/* resumed if the handshake ends with this id (checked in done()) */
		memcpy(t->sid, p->session_id, p->session_id_len);
		t->sid_len = p->session_id_len;
	}
	return found;
}

static const br_ssl_session_cache_class scache_class = {
	.context_size = sizeof(scache),
	.save = scache_save,
	.load = scache_load,
};

static uint64_t host_hash(const struct zs_tls *t)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const char *c;

	if (!t->opt.has_host)
		return 0;
	for (c = t->opt.host; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return h | 1;
}

/* The cache key of t's connection; false when the peer is unknown. */
static bool csession_key(struct zs_tls *t, struct csession *k)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(k, 0, sizeof(*k));
	if (t->io.ivt->getpeername(t->io.inner, (struct sockaddr *)&ss, &len) < 0)
		return false;
	k->family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		memcpy(k->addr, &in->sin_addr, 4);
		k->port = in->sin_port;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		memcpy(k->addr, &in6->sin6_addr, 16);
		k->port = in6->sin6_port;
	}
	k->host_hash = host_hash(t);
	k->level = t->opt.verify;
	k->psk = t->sess != NULL && t->sess->psk;
	return true;
}

static bool csession_same(const struct csession *a, const struct csession *b)
{
	return a->family == b->family && a->port == b->port && a->level == b->level &&
	       a->psk == b->psk && a->host_hash == b->host_hash &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

/* The session stored under k's key, into *out (k may be out). */
static bool csession_find(const struct csession *k, struct csession *out)
{
	bool found = false;
	size_t i;

	zs_lock_take(&cache_lock);
	for (i = 0; i < CONFIG_NET_SOCKETS_TLS_MAX_CLIENT_SESSION_COUNT; i++) {
		if (csessions[i].used && csession_same(&csessions[i], k)) {
			*out = csessions[i];
			csessions[i].stamp = ++cstamp;
			found = true;
			break;
		}
	}
	zs_lock_give(&cache_lock);
	return found;
}

/* Keep k, its key and its session, in place of any under the same key. */
static void csession_store(const struct csession *k)
{
	struct csession *victim = &csessions[0];
	size_t i;

	zs_lock_take(&cache_lock);
	for (i = 0; i < CONFIG_NET_SOCKETS_TLS_MAX_CLIENT_SESSION_COUNT; i++) {
		struct csession *c = &csessions[i];

		if (c->used && csession_same(c, k)) {
			victim = c;
			break;
		}
		if (!c->used || (victim->used && c->stamp < victim->stamp))
			victim = c;
	}
	*victim = *k;
	victim->used = true;
	victim->stamp = ++cstamp;
	zs_lock_give(&cache_lock);
}

static void caches_purge(void)
{
	zs_lock_take(&cache_lock);
	zs_secsock_wipe(csessions, sizeof(csessions));
#if CONFIG_ZSOCK_TLS_SERVER_SESSION_CACHE > 0
	zs_dtls_cache_init(&psk_scache);
#endif
	memset(scache.store, 0, sizeof(scache.store));
	br_ssl_session_cache_lru_init(&scache.lru, scache.store, sizeof(scache.store));
	zs_lock_give(&cache_lock);
}

/* ---- start-up ---------------------------------------------------------------- */

static struct zs_once tls_init_once_once = ZS_ONCE_INIT;

static bool is_gcm(uint16_t suite)
{
	switch (suite) {
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
	case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
	case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return true;
	default:
		return false;
	}
}

/*
 * BearSSL's default order puts ChaCha20-Poly1305 first, the right choice
 * where AES is computed in software (a Cortex-M). With AES instructions
 * AES-GCM is about three times faster (bench/tls_bench): the ECDHE AES-GCM
 * suites move to the front, the rest keep their order.
 */
static void gcm_first(uint16_t *suites, size_t n)
{
	uint16_t out[BR_MAX_CIPHER_SUITES];
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (is_gcm(suites[i]))
			out[k++] = suites[i];
	for (i = 0; i < n; i++)
		if (!is_gcm(suites[i]))
			out[k++] = suites[i];
	memcpy(suites, out, n * sizeof(*suites));
}

static void tls_init_once(void)
{
	/* the first session, not yet used, is the probe (static ones would
	 * keep 6.5 KiB of RAM for nothing, too much on a small board) */
	struct tls_session *probe = &sessions[0];

	zs_lock_init(&pool_lock);
	zs_lock_init(&cache_lock);
	br_ssl_client_init_full(&probe->ctx.c, &probe->xw.mini, NULL, 0);
	n_all_suites = probe->ctx.c.eng.suites_num;
	memcpy(all_suites, probe->ctx.c.eng.suites_buf, n_all_suites * sizeof(uint16_t));
	memset(&probe->xw, 0, sizeof(probe->xw));
	memset(&probe->ctx, 0, sizeof(probe->ctx));
	/* BearSSL seeds itself from the OS where it knows one (/dev/urandom);
	 * elsewhere (bare metal) the port gives the seed */
	port_seed = br_prng_seeder_system(NULL) == 0;
	if (br_aes_x86ni_ctr_get_vtable() != NULL || br_aes_pwr8_ctr_get_vtable() != NULL)
		gcm_first(all_suites, n_all_suites);
	scache.vtable = &scache_class;
	br_ssl_session_cache_lru_init(&scache.lru, scache.store, sizeof(scache.store));
}

static void tls_init(void)
{
	zs_port_once(&tls_init_once_once, tls_init_once);
}

/* ---- X.509 wrapper ------------------------------------------------------------- */

static struct xwrap *xw_of(const br_x509_class **ctx)
{
	return (struct xwrap *)(void *)ctx;
}

static void xw_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct xwrap *x = xw_of(ctx);

	x->ncert = 0;
	x->result = -1;
	if (x->level != TLS_PEER_VERIFY_NONE)
		x->mini.vtable->start_chain(&x->mini.vtable, server_name);
}

static void xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct xwrap *x = xw_of(ctx);

	if (x->level != TLS_PEER_VERIFY_NONE)
		x->mini.vtable->start_cert(&x->mini.vtable, length);
	if (x->ncert == 0)
		br_x509_decoder_init(&x->dec, NULL, NULL);
}

static void xw_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct xwrap *x = xw_of(ctx);

	if (x->level != TLS_PEER_VERIFY_NONE)
		x->mini.vtable->append(&x->mini.vtable, buf, len);
	/* BearSSL 0.6's decoder resumes after a failure when pushed more bytes
	 * and then reads past a table (fuzz/corpus/tls/regress-*): stop at the
	 * first error */
	if (x->ncert == 0 && x->dec.err == 0)
		br_x509_decoder_push(&x->dec, buf, len);
}

static void xw_end_cert(const br_x509_class **ctx)
{
	struct xwrap *x = xw_of(ctx);

	if (x->level != TLS_PEER_VERIFY_NONE)
		x->mini.vtable->end_cert(&x->mini.vtable);
	x->ncert++;
}

static unsigned xw_end_chain(const br_x509_class **ctx)
{
	struct xwrap *x = xw_of(ctx);
	unsigned err;

	if (x->level == TLS_PEER_VERIFY_NONE)
		return 0;
	err = x->mini.vtable->end_chain(&x->mini.vtable);
	x->result = (int)err;
	return x->level == TLS_PEER_VERIFY_REQUIRED ? err : 0;
}

static const br_x509_pkey *xw_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct xwrap *x = (struct xwrap *)(void *)ctx;

	if (x->result == 0)
		return x->mini.vtable->get_pkey(&x->mini.vtable, usages);
	/* unverified, and allowed to be: the end entity's key as decoded */
	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&x->dec);
}

static const br_x509_class xw_class = {
	.context_size = sizeof(struct xwrap),
	.start_chain = xw_start_chain,
	.start_cert = xw_start_cert,
	.append = xw_append,
	.end_cert = xw_end_cert,
	.end_chain = xw_end_chain,
	.get_pkey = xw_get_pkey,
};

/* ---- slots --------------------------------------------------------------------- */

static struct zs_tls *slot_alloc(void)
{
	struct zs_tls *t = NULL;
	size_t i;

	zs_lock_take(&pool_lock);
	for (i = 0; i < CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS; i++) {
		if (!slots[i].used) {
			t = &slots[i];
			t->used = true;
			if (++pool_used > pool_high)
				pool_high = pool_used;
			break;
		}
	}
	zs_lock_give(&pool_lock);
	if (t == NULL)
		return NULL;
	if (!t->lock_ready) {
		zs_lock_init(&t->lock);
		t->lock_ready = true;
	}
	/* the options and state; the session was wiped when freed */
	memset(&t->io, 0, sizeof(t->io));
	memset(&t->family, 0, sizeof(*t) - offsetof(struct zs_tls, family));
	atomic_store(&t->refs, 1);
	atomic_store(&t->hs, HS_IDLE);
	atomic_store(&t->ready, 0);
	atomic_store(&t->closed, false);
	t->opt.verify = -1;
	t->rcvtimeo_ms = -1;
	t->sndtimeo_ms = -1;
	atomic_store(&t->hs_deadline, ZS_FOREVER);
	return t;
}

/* A free session for t, or NULL. */
static struct tls_session *session_alloc(struct zs_tls *t)
{
	struct tls_session *ss = NULL;
	size_t i;

	zs_lock_take(&pool_lock);
	for (i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS; i++) {
		if (!sessions[i].used) {
			ss = &sessions[i];
			ss->used = true;
			ss->owner = t;
			if (++sess_used > sess_high)
				sess_high = sess_used;
			break;
		}
	}
	zs_lock_give(&pool_lock);
	return ss;
}

static void watch_del(struct zs_tls *t);

static void slot_free(struct zs_tls *t)
{
	struct tls_session *ss = t->sess;

	watch_del(t); /* before the transport goes: the timer may use it */
	if (t->creds_held)
		zs_cred_release(&t->creds);
	t->creds_held = false;
	if (t->io.inner != NULL)
		t->io.ivt->unref(t->io.inner);
	t->io.inner = NULL;
	t->sess = NULL;
	if (ss != NULL) /* keys, secrets and plaintext */
		zs_secsock_wipe(&ss->xw, sizeof(*ss) - offsetof(struct tls_session, xw));
	zs_lock_take(&pool_lock);
	if (ss != NULL) {
		ss->used = false;
		ss->owner = NULL;
		sess_used--;
	}
	t->used = false;
	pool_used--;
	zs_lock_give(&pool_lock);
}

static void tls_ref(void *obj)
{
	atomic_fetch_add(&((struct zs_tls *)obj)->refs, 1);
}

static void tls_unref(void *obj)
{
	struct zs_tls *t = obj;

	if (atomic_fetch_sub(&t->refs, 1) == 1)
		slot_free(t);
}

uint32_t zs_tls_in_use(void)
{
	return zs_secsock_figure(tls_init, &pool_lock, &pool_used);
}

uint32_t zs_tls_high_water(void)
{
	return zs_secsock_figure(tls_init, &pool_lock, &pool_high);
}

uint32_t zs_tls_sessions_in_use(void)
{
	return zs_secsock_figure(tls_init, &pool_lock, &sess_used);
}

uint32_t zs_tls_sessions_high_water(void)
{
	return zs_secsock_figure(tls_init, &pool_lock, &sess_high);
}

size_t zs_tls_socket_bytes(void)
{
	return sizeof(struct zs_tls);
}

size_t zs_tls_session_bytes(void)
{
	return sizeof(struct tls_session);
}

size_t zs_tls_static_bytes(void)
{
	return sizeof(slots) + sizeof(sessions) + sizeof(csessions) + sizeof(scache) +
	       PSK_SCACHE_BYTES + CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA;
}

/* The default server handshake deadline, ms (0: none); see tls.h. */
#ifndef CONFIG_ZSOCK_TLS_HANDSHAKE_TIMEOUT_MS
#define CONFIG_ZSOCK_TLS_HANDSHAKE_TIMEOUT_MS 10000 /* meson_options.txt's default */
#endif
static _Atomic int32_t hs_timeout_ms = CONFIG_ZSOCK_TLS_HANDSHAKE_TIMEOUT_MS;

void zs_tls_handshake_timeout_set(int32_t ms)
{
	atomic_store(&hs_timeout_ms, ms < 0 ? 0 : ms);
}

/* ---- the engine and the transport ------------------------------------------------- */

/* The BearSSL engine of t's session: only once a handshake started, and
 * not on the PSK path. */
static br_ssl_engine_context *eng(struct zs_tls *t)
{
	return t->server ? &t->sess->ctx.s.eng : &t->sess->ctx.c.eng;
}

/*
 * The engine as the rest of this file sees it: BearSSL's, or the PSK
 * core's behind the same interface (psk_stream.h). Only once a handshake
 * started (t->sess set, and start() chose).
 */
static bool on_psk(const struct zs_tls *t)
{
	return t->sess->psk;
}

static unsigned state(struct zs_tls *t)
{
	return on_psk(t) ? zs_psk_state(&t->sess->ps) : br_ssl_engine_current_state(eng(t));
}

static unsigned char *sendrec_buf(struct zs_tls *t, size_t *len)
{
	return on_psk(t) ? zs_psk_sendrec_buf(&t->sess->ps, len) :
			   br_ssl_engine_sendrec_buf(eng(t), len);
}

static void sendrec_ack(struct zs_tls *t, size_t len)
{
	if (on_psk(t))
		zs_psk_sendrec_ack(&t->sess->ps, len);
	else
		br_ssl_engine_sendrec_ack(eng(t), len);
}

static unsigned char *recvrec_buf(struct zs_tls *t, size_t *len)
{
	return on_psk(t) ? zs_psk_recvrec_buf(&t->sess->ps, len) :
			   br_ssl_engine_recvrec_buf(eng(t), len);
}

static void recvrec_ack(struct zs_tls *t, size_t len)
{
	/* a PSK server's handshake may read and write the shared session
	 * cache here (dtls.h: calls on contexts sharing one MUST NOT run at
	 * once); its records after the handshake do not */
	bool shared = on_psk(t) && t->server && t->opt.cache && atomic_load(&t->hs) == HS_RUNNING;

	if (!on_psk(t)) {
		br_ssl_engine_recvrec_ack(eng(t), len);
		return;
	}
	if (shared)
		zs_lock_take(&cache_lock);
	zs_psk_recvrec_ack(&t->sess->ps, len);
	if (shared)
		zs_lock_give(&cache_lock);
}

static unsigned char *sendapp_buf(struct zs_tls *t, size_t *len)
{
	return on_psk(t) ? zs_psk_sendapp_buf(&t->sess->ps, len) :
			   br_ssl_engine_sendapp_buf(eng(t), len);
}

static void sendapp_ack(struct zs_tls *t, size_t len)
{
	if (on_psk(t))
		zs_psk_sendapp_ack(&t->sess->ps, len);
	else
		br_ssl_engine_sendapp_ack(eng(t), len);
}

static unsigned char *recvapp_buf(struct zs_tls *t, size_t *len)
{
	return on_psk(t) ? zs_psk_recvapp_buf(&t->sess->ps, len) :
			   br_ssl_engine_recvapp_buf(eng(t), len);
}

static void recvapp_ack(struct zs_tls *t, size_t len)
{
	if (on_psk(t))
		zs_psk_recvapp_ack(&t->sess->ps, len);
	else
		br_ssl_engine_recvapp_ack(eng(t), len);
}

static void flush(struct zs_tls *t)
{
	if (on_psk(t))
		zs_psk_flush(&t->sess->ps);
	else
		br_ssl_engine_flush(eng(t), 0);
}

/* Queue close_notify. */
static void close_notify(struct zs_tls *t)
{
	if (on_psk(t))
		zs_psk_close(&t->sess->ps);
	else
		br_ssl_engine_close(eng(t));
}

static int last_error(struct zs_tls *t)
{
	return on_psk(t) ? zs_psk_last_error(&t->sess->ps) : br_ssl_engine_last_error(eng(t));
}

/*
 * Move records between BearSSL and the transport as far as neither
 * blocks. Returns how many transfers were made. A transport error lands
 * in t->ioerr, its end in t->eof.
 */
static int pump(struct zs_tls *t)
{
	int moved = 0;

	for (;;) {
		unsigned st = state(t);
		unsigned char *buf;
		size_t len;
		ssize_t n;

		if (st == BR_SSL_CLOSED || t->ioerr != 0)
			break;
		if (st & BR_SSL_SENDREC) {
			buf = sendrec_buf(t, &len);
			n = t->io.ivt->sendto(t->io.inner, buf, len, ZSOCK_MSG_DONTWAIT, NULL, 0);
			if (n > 0) {
				sendrec_ack(t, (size_t)n);
				moved++;
				continue;
			}
			if (n != -EAGAIN) {
				t->ioerr = n < 0 ? (int)n : -EPIPE;
				break;
			}
		}
		/* a handshake that just finished stops here: a record behind it
		 * (the peer's first data, or its close_notify) is read once the
		 * caller has seen the handshake done, not before */
		if ((st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) && atomic_load(&t->hs) == HS_RUNNING)
			break;
		if ((st & BR_SSL_RECVREC) && !t->eof) {
			buf = recvrec_buf(t, &len);
			n = t->io.ivt->recvfrom(t->io.inner, buf, len, ZSOCK_MSG_DONTWAIT, NULL, NULL);
			if (n > 0) {
				recvrec_ack(t, (size_t)n);
				moved++;
				continue;
			}
			if (n == 0)
				t->eof = true;
			else if (n != -EAGAIN)
				t->ioerr = (int)n;
		}
		break;
	}
	return moved;
}

/* The transport events a stalled engine waits for. */
static int wanted(struct zs_tls *t)
{
	unsigned st;
	int ev = 0;

	if (atomic_load(&t->hs) == HS_CONNECTING)
		return ZSOCK_POLLOUT;
	st = state(t);
	if (st & BR_SSL_SENDREC)
		ev |= ZSOCK_POLLOUT;
	if ((st & BR_SSL_RECVREC) && !t->eof)
		ev |= ZSOCK_POLLIN;
	return ev;
}

/*
 * Sleep until the transport shows one of events (or an error, or its
 * close) or until deadline, with t->lock released meanwhile. Returns 0 or
 * -ETIMEDOUT; the caller tests its condition again either way.
 */
static int wait_io(struct zs_tls *t, int events, int64_t deadline)
{
	return zs_secsock_wait(&t->io, &t->lock, &t->closed, events | ZSOCK_POLLHUP, deadline);
}

/* ---- handshake ------------------------------------------------------------------- */

static int level_of(const struct zs_tls *t)
{
	return zs_secopt_level(&t->opt, t->server);
}

static void fail(struct zs_tls *t, int err)
{
	t->err = err;
	atomic_store(&t->hs, HS_FAILED);
}

/* The -errno of an engine that closed during the handshake. */
static int hs_error(struct zs_tls *t)
{
	if (t->ioerr != 0)
		return t->ioerr;
	if (t->eof && last_error(t) == BR_ERR_OK)
		return -ECONNRESET;
	return -ECONNABORTED;
}

static void done(struct zs_tls *t)
{
	br_ssl_session_parameters p;

	if (on_psk(t)) {
		struct csession k;

		t->resumed = zs_dtls_resumed(&t->sess->ps.d);
		if (!t->server && t->opt.cache && !t->resumed && csession_key(t, &k)) {
			if (zs_dtls_session_get(&t->sess->ps.d, &k.ds) == 0)
				csession_store(&k);
			zs_secsock_wipe(&k, sizeof(k));
		}
		atomic_store(&t->hs, HS_DONE);
		return;
	}
	br_ssl_engine_get_session_parameters(eng(t), &p);
	t->resumed = t->sid_len != 0 && p.session_id_len == t->sid_len &&
		     memcmp(p.session_id, t->sid, t->sid_len) == 0;
	if (!t->server && t->opt.cache && !t->resumed && p.session_id_len != 0) {
		struct csession k;

		if (csession_key(t, &k)) {
			k.p = p;
			csession_store(&k);
			zs_secsock_wipe(&k, sizeof(k));
		}
	}
	zs_secsock_wipe(&p, sizeof(p));
	atomic_store(&t->hs, HS_DONE);
}

/*
 * Split the I/O buffer between incoming and outgoing records. BearSSL's
 * own split gives a buffer under 17306 bytes 512-byte records; this one
 * picks the largest record size that fits both ways (512, 1024, 2048,
 * 4096 or 16384: max_fragment_length has no 8192) and gives the rest to
 * the incoming side, which accepts any record that fits. The size is what
 * a client asks for with max_fragment_length (docs/tls.md).
 */
#define REC_IN_OVERHEAD 325  /* BearSSL's MAX_IN_OVERHEAD */
#define REC_OUT_OVERHEAD 85  /* BearSSL's MAX_OUT_OVERHEAD */

static void set_buffers(br_ssl_engine_context *e, unsigned char *buf, size_t len)
{
	size_t out = 0;
	unsigned k;

	for (k = 14; k >= 9; k--) {
		size_t frag = (size_t)1 << k;

		if (k == 13)
			continue;
		if (len >= 2 * frag + REC_IN_OVERHEAD + REC_OUT_OVERHEAD) {
			out = frag + REC_OUT_OVERHEAD;
			break;
		}
	}
	br_ssl_engine_set_buffers_bidi(e, buf, len - out, buf + len - out, out);
}

/*
 * Where BearSSL has no clock of its own (it reads time() on Unix and
 * Windows only: bare metal), give the X.509 validator the port's wall
 * clock. Without one the validator fails with BR_ERR_X509_TIME_UNKNOWN.
 */
static void set_clock(br_x509_minimal_context *x)
{
#if !CONFIG_ZSOCK_HOSTED
	int64_t now;

	if (zs_port_realtime(&now) == 0 && now >= 0)
		br_x509_minimal_set_time(x, (uint32_t)(now / 86400) + 719528u,  /* days since 0 AD */
					 (uint32_t)(now % 86400));
#else
	(void)x;
#endif
}

/* ---- the PSK path -------------------------------------------------------------------- */

/* The suites the PSK core runs here (it also does ECDHE_ECDSA, which
 * stays BearSSL's). */
static bool psk_suite(uint16_t s)
{
	return s == ZS_DTLS_PSK_WITH_AES_128_CCM_8 || s == ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
}

/* t's TLS_CIPHERSUITE_LIST names a suite of the core. */
static bool list_names_psk(const struct zs_tls *t)
{
	size_t i;

	for (i = 0; i < t->opt.nsuites; i++)
		if (psk_suite(t->suites[i]))
			return true;
	return false;
}

/* Some tag of t holds a PSK and its identity: a server's lookup can find
 * one (zs_cred_acquire() keeps only the first tag's). */
static bool tags_have_psk(const struct zs_tls *t)
{
	size_t i, n;

	for (i = 0; i < t->opt.ntags; i++) {
		n = 0;
		if (tls_credential_get(t->opt.tags[i], TLS_CREDENTIAL_PSK, NULL, &n) != -EFBIG)
			continue;
		n = 0;
		if (tls_credential_get(t->opt.tags[i], TLS_CREDENTIAL_PSK_ID, NULL, &n) == -EFBIG)
			return true;
	}
	return false;
}

/* The rule at the top of the file. Creds acquired, lock held. */
static bool wants_psk(const struct zs_tls *t)
{
	const struct zs_tls_creds *c = &t->creds;

	if (t->version != BR_TLS12 || (t->opt.nsuites > 0 && !list_names_psk(t)))
		return false;
	if (!t->server)
		return c->psk != NULL && c->psk_id != NULL;
	/* a server with a certificate too serves the certificate's clients,
	 * unless its list asks for PSK */
	return tags_have_psk(t) && (c->chain == NULL || list_names_psk(t));
}

/* The core's lookup on a server: the identity against the socket's tags.
 * Called by zs_dtls_input() under t's lock (the store never takes a
 * socket's lock, so this order is safe). */
static int psk_lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *psk, size_t max)
{
	const struct zs_tls *t = arg;
	int rc = zs_cred_psk_lookup(t->opt.tags, t->opt.ntags, id, id_len, psk, max);

	return rc > 0 ? rc : -1; /* unknown identity: unknown_psk_identity */
}

/* Configure the PSK core for this connection and start it. Lock held. */
static int start_psk(struct zs_tls *t)
{
	struct zs_tls_creds *c = &t->creds;
	struct tls_session *ss = t->sess;
	uint16_t suites[ZS_DTLS_MAX_SUITES];
	const struct zs_dtls_session *offer = NULL;
	struct zs_dtls_config cfg;
	unsigned char seed[32];
	struct csession k;
	size_t i, n = 0;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&k, 0, sizeof(k));
	/* the list's PSK suites in its order (zs_dtls_init() refuses the
	 * rest); none set: the core's own, CCM_8 first */
	for (i = 0; i < t->opt.nsuites && n < ZS_DTLS_MAX_SUITES; i++)
		if (psk_suite(t->suites[i]))
			suites[n++] = t->suites[i];
	cfg.server = t->server;
	cfg.suites = n > 0 ? suites : NULL;
	cfg.n_suites = n;
	/* kept by pointer: t->alpn lives as long as t, the names are the
	 * caller's (TLS_ALPN_LIST); more than the core takes: -EINVAL */
	cfg.alpn = t->opt.nalpn > 0 ? t->alpn : NULL;
	cfg.n_alpn = t->opt.nalpn;
	if (!t->server) {
		cfg.psk = c->psk;
		cfg.psk_len = c->psk_len;
		cfg.psk_id = c->psk_id;
		cfg.psk_id_len = c->psk_id_len;
	} else {
		cfg.psk_lookup = psk_lookup;
		cfg.psk_arg = t;
#if CONFIG_ZSOCK_TLS_SERVER_SESSION_CACHE > 0
		if (t->opt.cache)
			cfg.cache = &psk_scache; /* used under cache_lock: recvrec_ack() */
#endif
	}
	ss->psk = true;
	if (!t->server && t->opt.cache && csession_key(t, &k) && csession_find(&k, &k))
		offer = &k.ds;
	if (port_seed) {
		rc = zs_port_entropy(seed, sizeof(seed));
		if (rc < 0)
			return rc;
	}
	rc = zs_psk_start(&ss->ps, &cfg, ss->iobuf, sizeof(ss->iobuf), port_seed ? seed : NULL,
			  port_seed ? sizeof(seed) : 0, offer);
	zs_secsock_wipe(seed, sizeof(seed));
	zs_secsock_wipe(&k, sizeof(k));
	return rc;
}

/* Configure BearSSL (or the PSK core) for this connection and reset it.
 * Lock held. */
static int start(struct zs_tls *t)
{
	struct zs_tls_creds *c = &t->creds;
	struct tls_session *ss;
	br_ssl_engine_context *e;
	int level = level_of(t), rc;

	if (t->sess == NULL)
		t->sess = session_alloc(t);
	if (t->sess == NULL)
		return -ENOMEM;
	ss = t->sess;
	ss->psk = false;
	rc = zs_cred_acquire(t->opt.tags, t->opt.ntags, t->opt.nocopy, c);
	if (rc < 0)
		return rc;
	t->creds_held = true;
	if (wants_psk(t))
		return start_psk(t);
	ss->xw.vtable = &xw_class;
	ss->xw.level = level;
	ss->xw.result = -1;
	if (!t->server) {
		br_ssl_client_init_full(&ss->ctx.c, &ss->xw.mini, c->ta, c->n_ta);
		set_clock(&ss->xw.mini);
		e = &ss->ctx.c.eng;
		br_ssl_engine_set_x509(e, &ss->xw.vtable);
		if (c->key_type == BR_KEYTYPE_RSA)
			br_ssl_client_set_single_rsa(&ss->ctx.c, c->chain, c->chain_len, c->rsa,
						     br_rsa_pkcs1_sign_get_default());
		else if (c->key_type == BR_KEYTYPE_EC)
			br_ssl_client_set_single_ec(&ss->ctx.c, c->chain, c->chain_len, c->ec,
						    BR_KEYTYPE_SIGN, c->chain_signer_key_type,
						    br_ec_get_default(),
						    br_ecdsa_sign_asn1_get_default());
	} else {
		if (c->key_type == BR_KEYTYPE_RSA)
			br_ssl_server_init_full_rsa(&ss->ctx.s, c->chain, c->chain_len, c->rsa);
		else if (c->key_type == BR_KEYTYPE_EC)
			br_ssl_server_init_full_ec(&ss->ctx.s, c->chain, c->chain_len,
						   c->chain_signer_key_type, c->ec);
		else
			return -ECONNABORTED; /* a server needs a certificate and its key */
		e = &ss->ctx.s.eng;
		if (level != TLS_PEER_VERIFY_NONE) {
			br_x509_minimal_init_full(&ss->xw.mini, c->ta, c->n_ta);
			set_clock(&ss->xw.mini);
			br_ssl_engine_set_x509(e, &ss->xw.vtable);
			/* to check the client's CertificateVerify */
			br_ssl_engine_set_default_rsavrfy(e);
			br_ssl_engine_set_default_ecdsa(e);
			br_ssl_server_set_trust_anchor_names_alt(&ss->ctx.s, c->ta, c->n_ta);
			if (level == TLS_PEER_VERIFY_OPTIONAL)
				br_ssl_engine_add_flags(e, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
		}
		if (t->opt.cache && CONFIG_ZSOCK_TLS_SERVER_SESSION_CACHE > 0)
			br_ssl_server_set_cache(&ss->ctx.s, &scache.vtable);
	}
	br_ssl_engine_set_versions(e, t->version, t->version);
	if (t->opt.nsuites > 0) {
		/* the list less the PSK suites, which BearSSL does not know */
		uint16_t own[CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES];
		size_t i, n = 0;

		for (i = 0; i < t->opt.nsuites; i++)
			if (!psk_suite(t->suites[i]))
				own[n++] = t->suites[i];
		if (n == 0)
			return -ECONNABORTED; /* PSK suites only, and no PSK to use them */
		br_ssl_engine_set_suites(e, own, n);
	} else if (!t->server)
		br_ssl_engine_set_suites(e, all_suites, n_all_suites);
	if (t->opt.nalpn > 0)
		br_ssl_engine_set_protocol_names(e, t->alpn, t->opt.nalpn);
	set_buffers(e, ss->iobuf, sizeof(ss->iobuf));
	if (port_seed) {
		unsigned char seed[32];

		rc = zs_port_entropy(seed, sizeof(seed));
		if (rc < 0)
			return rc;
		br_ssl_engine_inject_entropy(e, seed, sizeof(seed));
		zs_secsock_wipe(seed, sizeof(seed));
	}
	if (t->server)
		return br_ssl_server_reset(&ss->ctx.s) ? 0 : -EINVAL;

	{
		struct csession k;
		bool resume = t->opt.cache && csession_key(t, &k) && csession_find(&k, &k);

		if (resume) {
			br_ssl_engine_set_session_parameters(e, &k.p);
			memcpy(t->sid, k.p.session_id, k.p.session_id_len);
			t->sid_len = k.p.session_id_len;
			zs_secsock_wipe(&k, sizeof(k));
		}
		rc = br_ssl_client_reset(&ss->ctx.c, t->opt.has_host ? t->opt.host : NULL, resume);
	}
	return rc ? 0 : -EINVAL;
}

/*
 * BearSSL fails a handshake without telling the peer. When the failure was
 * found here (the peer's certificate did not verify, a client sent none
 * that was required, no common version or suite...) and our side still
 * sends in the clear (it has not sent ChangeCipherSpec), send the fatal
 * alert as a plaintext record, so the peer stops at once and knows why.
 * Best effort, never blocks.
 */
static void alert_peer(struct zs_tls *t)
{
	br_ssl_engine_context *e;
	unsigned char rec[7];
	int err;

	if (on_psk(t))
		return; /* the core sent its own */
	e = eng(t);
	err = br_ssl_engine_last_error(e);
	if (t->ioerr != 0 || t->eof || err <= BR_ERR_OK || err >= BR_ERR_RECV_FATAL_ALERT ||
	    err == BR_ERR_IO || e->out.vtable != &br_sslrec_out_clear_vtable)
		return;
	if (err == BR_ERR_X509_EXPIRED)
		rec[6] = 45;  /* certificate_expired */
	else if (err == BR_ERR_X509_NOT_TRUSTED)
		rec[6] = 48;  /* unknown_ca */
	else if (err >= BR_ERR_X509_OK && err < BR_ERR_X509_OK + 32)
		rec[6] = 42;  /* bad_certificate */
	else if (err == BR_ERR_UNSUPPORTED_VERSION || err == BR_ERR_BAD_VERSION)
		rec[6] = 70;  /* protocol_version */
	else
		rec[6] = 40;  /* handshake_failure */
	rec[0] = 21; /* alert */
	rec[1] = (unsigned char)(t->version >> 8);
	rec[2] = (unsigned char)t->version;
	rec[3] = 0;
	rec[4] = 2;
	rec[5] = 2;  /* fatal */
	t->io.ivt->sendto(t->io.inner, rec, sizeof(rec), ZSOCK_MSG_DONTWAIT, NULL, 0);
}

/*
 * Drive the connection as far as it goes without blocking: finish a
 * non-blocking connect, run the handshake, move records. Lock held.
 */
static void advance(struct zs_tls *t)
{
	int hs = atomic_load(&t->hs), rc;
	unsigned st;

	if (hs == HS_CONNECTING) {
		int ev = t->io.ivt->poll_events(t->io.inner);

		if (ev & ZSOCK_POLLERR) {
			int e = 0;
			socklen_t len = sizeof(e);

			t->io.ivt->getsockopt(t->io.inner, SOL_SOCKET, SO_ERROR, &e, &len);
			fail(t, e != 0 ? -e : -ECONNREFUSED);
			return;
		}
		if (!(ev & ZSOCK_POLLOUT))
			return;
		rc = start(t);
		if (rc < 0) {
			fail(t, rc);
			return;
		}
		atomic_store(&t->hs, hs = HS_RUNNING);
	}
	if (hs != HS_RUNNING && hs != HS_DONE)
		return;
	pump(t);
	if (hs != HS_RUNNING)
		return;
	st = state(t);
	if (st == BR_SSL_CLOSED) {
		alert_peer(t);
		fail(t, hs_error(t));
	}
	else if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))
		done(t);
	else if (t->ioerr != 0)
		fail(t, t->ioerr);
	else if (t->eof)
		fail(t, -ECONNRESET); /* the peer left mid-handshake */
	else if (zs_port_now_ms() >= atomic_load(&t->hs_deadline))
		fail(t, -ETIMEDOUT); /* a stalled client: the session goes back at close */
}

/* Run the handshake to its end or to deadline. Lock held. */
static int handshake_wait(struct zs_tls *t, int64_t deadline)
{
	for (;;) {
		int hs;

		advance(t);
		hs = atomic_load(&t->hs);
		if (hs == HS_DONE)
			return 0;
		if (hs == HS_FAILED)
			return t->err;
		if (atomic_load(&t->closed))
			return -EINTR;
		if (wait_io(t, wanted(t), deadline) == -ETIMEDOUT) {
			advance(t);
			if (atomic_load(&t->hs) == HS_DONE)
				return 0;
			fail(t, -ETIMEDOUT);
			return -ETIMEDOUT;
		}
	}
}

/* How long a blocking call may wait for the handshake: SO_SNDTIMEO, or the
 * default deadline of a server handshake. Lock held. */
static int64_t hs_wait_deadline(const struct zs_tls *t)
{
	int64_t d = zs_secsock_deadline(t->sndtimeo_ms), h = atomic_load(&t->hs_deadline);

	return h < d ? h : d;
}

static bool may_block(const struct zs_tls *t, int flags)
{
	return !t->nonblock && !(flags & ZSOCK_MSG_DONTWAIT);
}

/* Before data moves: the handshake must be done. Lock held. */
static int need_session(struct zs_tls *t, int flags)
{
	switch (atomic_load(&t->hs)) {
	case HS_DONE:
		return 0;
	case HS_FAILED:
		return t->err;
	case HS_IDLE:
		return -ENOTCONN;
	default:
		if (!may_block(t, flags)) {
			advance(t);
			if (atomic_load(&t->hs) == HS_DONE)
				return 0;
			return atomic_load(&t->hs) == HS_FAILED ? t->err : -EAGAIN;
		}
		return handshake_wait(t, hs_wait_deadline(t));
	}
}

/* ---- poll readiness -------------------------------------------------------------------- */

/* ZSOCK_POLL* bits of t now, given its transport's. Lock held. */
static int compute_ready(struct zs_tls *t, int iev)
{
	unsigned st;
	int ev = 0;

	switch (atomic_load(&t->hs)) {
	case HS_FAILED:
		return ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLIN | ZSOCK_POLLOUT;
	case HS_DONE:
		break;
	default:
		return iev & (ZSOCK_POLLERR | ZSOCK_POLLHUP);
	}
	st = state(t);
	if ((st & BR_SSL_RECVAPP) || st == BR_SSL_CLOSED || t->eof || t->ioerr || t->rd_shut)
		ev |= ZSOCK_POLLIN;
	if (((st & BR_SSL_SENDAPP) && (iev & ZSOCK_POLLOUT)) || st == BR_SSL_CLOSED || t->ioerr)
		ev |= ZSOCK_POLLOUT;
	if (t->ioerr)
		ev |= ZSOCK_POLLERR;
	if (st == BR_SSL_CLOSED && (t->eof || t->ioerr))
		ev |= ZSOCK_POLLHUP;
	return ev;
}

/*
 * Release the lock, first publishing t's readiness; when it changed, wake
 * those who poll t (they sleep on the transport's queue).
 */
static void unlock(struct zs_tls *t)
{
	int ev = compute_ready(t, t->io.ivt->poll_events(t->io.inner));
	int old = atomic_exchange(&t->ready, ev);

	zs_lock_give(&t->lock);
	if (ev != old && t->io.ivt->poll_wake != NULL)
		t->io.ivt->poll_wake(t->io.inner);
}

static int tls_poll_events(void *obj)
{
	struct zs_tls *t = obj;
	int iev;

	if (atomic_load(&t->closed))
		return ZS_POLL_CLOSED;
	iev = t->io.ivt->poll_events(t->io.inner);
	if ((iev & ZS_POLL_CLOSED) || t->listening || atomic_load(&t->hs) == HS_IDLE)
		return iev;
	if (zs_lock_try(&t->lock)) {
		advance(t);
		unlock(t);
	}
	return atomic_load(&t->ready);
}

/* ---- data ------------------------------------------------------------------------------ */

/* What recv gives once no more application data can come. Lock held. */
static int end_result(struct zs_tls *t)
{
	unsigned st = state(t);

	if (t->rd_shut)
		return 0;
	if (st == BR_SSL_CLOSED) {
		if (last_error(t) == BR_ERR_OK)
			return 0; /* close_notify */
		return t->ioerr != 0 ? t->ioerr : -ECONNABORTED;
	}
	if (t->ioerr != 0)
		return t->ioerr;
	return -ECONNRESET; /* the transport ended without close_notify: truncation */
}

static ssize_t tls_recvfrom(void *obj, void *buf, size_t len, int flags,
			    struct sockaddr *from, socklen_t *fromlen)
{
	struct zs_tls *t = obj;
	unsigned char *out = buf;
	int64_t deadline = 0;
	size_t got = 0;
	int rc;

	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (from != NULL && fromlen == NULL)
		return -EFAULT;
	if (t->listening)
		return -ENOTCONN;
	zs_lock_take(&t->lock);
	rc = need_session(t, flags);
	if (rc == 0)
		deadline = zs_secsock_deadline(t->rcvtimeo_ms);
	while (rc == 0 && got < len) {
		unsigned st = state(t);

		if (atomic_load(&t->closed)) {
			rc = -EINTR;
			break;
		}
		if (st & BR_SSL_RECVAPP) {
			size_t avail, n;
			unsigned char *p = recvapp_buf(t, &avail);

			n = avail < len - got ? avail : len - got;
			memcpy(out + got, p, n);
			got += n;
			if (flags & ZSOCK_MSG_PEEK)
				break;
			recvapp_ack(t, n);
			if (!(flags & ZSOCK_MSG_WAITALL))
				break;
			continue;
		}
		if (t->rd_shut || st == BR_SSL_CLOSED || t->eof || t->ioerr != 0) {
			rc = end_result(t);
			break;
		}
		if (pump(t) > 0 || t->eof || t->ioerr != 0)
			continue;
		if (!may_block(t, flags)) {
			rc = -EAGAIN;
			break;
		}
		if (wait_io(t, wanted(t) | ZSOCK_POLLIN, deadline) == -ETIMEDOUT) {
			rc = -EAGAIN;
			break;
		}
	}
	pump(t); /* an acknowledgement may have freed room: let the engine speak */
	unlock(t);
	if (got > 0 || len == 0) {
		if (from != NULL)
			t->io.ivt->getpeername(t->io.inner, from, fromlen);
		return (ssize_t)got;
	}
	return rc;
}

/* Push sealed records into the transport; a blocking caller waits for room. */
static void drain(struct zs_tls *t, bool block, int64_t deadline)
{
	while (pump(t) > 0 || (block && (state(t) & BR_SSL_SENDREC) && t->ioerr == 0 &&
			       !atomic_load(&t->closed))) {
		if (!(state(t) & BR_SSL_SENDREC))
			break;
		if (block && wait_io(t, ZSOCK_POLLOUT, deadline) == -ETIMEDOUT)
			break;
	}
}

static ssize_t tls_sendto(void *obj, const void *buf, size_t len, int flags,
			  const struct sockaddr *to, socklen_t tolen)
{
	struct zs_tls *t = obj;
	const unsigned char *in = buf;
	int64_t deadline = 0;
	size_t sent = 0;
	int rc;

	(void)to; /* a connected stream: the address is ignored, as for TCP */
	(void)tolen;
	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (t->listening)
		return -ENOTCONN;
	zs_lock_take(&t->lock);
	rc = need_session(t, flags);
	if (rc == 0 && t->wr_shut)
		rc = -EPIPE;
	if (rc == 0)
		deadline = zs_secsock_deadline(t->sndtimeo_ms);
	while (rc == 0 && sent < len) {
		unsigned st = state(t);

		if (atomic_load(&t->closed)) {
			rc = -EINTR;
			break;
		}
		if (t->ioerr != 0 || st == BR_SSL_CLOSED) {
			rc = t->ioerr != 0 ? t->ioerr : -EPIPE;
			break;
		}
		if (st & BR_SSL_SENDAPP) {
			size_t room, n;
			unsigned char *p = sendapp_buf(t, &room);

			n = room < len - sent ? room : len - sent;
			memcpy(p, in + sent, n);
			sendapp_ack(t, n);
			sent += n;
			continue;
		}
		if (pump(t) > 0)
			continue;
		if (!may_block(t, flags)) {
			rc = -EAGAIN;
			break;
		}
		if (wait_io(t, ZSOCK_POLLOUT, deadline) == -ETIMEDOUT) {
			rc = -EAGAIN;
			break;
		}
	}
	if (sent > 0) {
		flush(t);
		drain(t, may_block(t, flags), deadline);
	}
	unlock(t);
	if (sent > 0 || len == 0)
		return (ssize_t)sent;
	return rc;
}

static ssize_t tls_sendmsg(void *obj, const struct msghdr *msg, int flags)
{
	ssize_t total = 0, n = 0;
	size_t i;

	for (i = 0; i < (size_t)msg->msg_iovlen; i++) {
		const struct iovec *v = &msg->msg_iov[i];

		if (v->iov_len == 0)
			continue;
		n = tls_sendto(obj, v->iov_base, v->iov_len, total > 0 ? flags | ZSOCK_MSG_DONTWAIT : flags,
			       NULL, 0);
		if (n < 0)
			break;
		total += n;
		if ((size_t)n < v->iov_len)
			break;
	}
	if (total > 0)
		return total;
	return n;
}

static ssize_t tls_recvmsg(void *obj, struct msghdr *msg, int flags)
{
	ssize_t total = 0, n = 0;
	size_t i;

	for (i = 0; i < (size_t)msg->msg_iovlen; i++) {
		struct iovec *v = &msg->msg_iov[i];

		if (v->iov_len == 0)
			continue;
		/* the first iovec waits as asked; later ones take what is there */
		n = tls_recvfrom(obj, v->iov_base, v->iov_len,
				 total > 0 && !(flags & ZSOCK_MSG_WAITALL) ? flags | ZSOCK_MSG_DONTWAIT : flags,
				 NULL, NULL);
		if (n <= 0)
			break;
		total += n;
		if ((size_t)n < v->iov_len || (flags & ZSOCK_MSG_PEEK))
			break;
	}
	msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (total > 0)
		return total;
	return n;
}

/* ---- connection calls ---------------------------------------------------------------- */

static int tls_connect(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct zs_tls *t = obj;
	int rc;

	zs_lock_take(&t->lock);
	switch (atomic_load(&t->hs)) {
	case HS_DONE:
		rc = -EISCONN;
		break;
	case HS_FAILED:
		rc = t->err;
		break;
	case HS_IDLE:
		rc = t->listening ? -EISCONN : 0;
		break;
	default:
		rc = -EALREADY;
		break;
	}
	if (rc == 0)
		atomic_store(&t->hs, HS_CONNECTING);
	zs_lock_give(&t->lock);
	if (rc < 0)
		return rc;

	rc = t->io.ivt->connect(t->io.inner, addr, len); /* may block: no lock held */
	zs_lock_take(&t->lock);
	if (rc == -EINPROGRESS) {
		/* poll or the next call finishes it */
	} else if (rc < 0) {
		atomic_store(&t->hs, HS_IDLE);
	} else {
		rc = start(t);
		if (rc < 0) {
			fail(t, rc);
		} else {
			atomic_store(&t->hs, HS_RUNNING);
			if (t->nonblock) {
				advance(t);
				rc = atomic_load(&t->hs) == HS_DONE ? 0 :
				     atomic_load(&t->hs) == HS_FAILED ? t->err : -EINPROGRESS;
			} else {
				rc = handshake_wait(t, zs_secsock_deadline(t->sndtimeo_ms));
			}
		}
	}
	unlock(t);
	return rc;
}

static int tls_listen(void *obj, int backlog)
{
	struct zs_tls *t = obj;
	int rc;

	zs_lock_take(&t->lock);
	if (atomic_load(&t->hs) != HS_IDLE) {
		zs_lock_give(&t->lock);
		return -EINVAL;
	}
	rc = t->io.ivt->listen(t->io.inner, backlog);
	if (rc == 0) {
		t->server = true;
		atomic_store(&t->listening, true);
	}
	zs_lock_give(&t->lock);
	return rc;
}

/*
 * The deadline of handshakes accepted by a non-blocking listener. Nobody
 * is in a call on such a socket when its deadline passes: its poller
 * sleeps on the transport's wait queue, and a poll set only tests again
 * the sockets whose queue fired. So one lwIP timer (one sys_timeout at a
 * time, in the reactor) wakes the transport of each handshake past its
 * deadline; the woken poll pumps the socket, advance() fails it with
 * ETIMEDOUT and poll reports POLLERR. watch[] is guarded by pool_lock; a
 * watched socket holds a session, so CONFIG_ZSOCK_TLS_SESSIONS entries
 * always suffice, and slot_free() takes a socket out before its transport
 * goes, so the timer may take a reference on t->io.inner under pool_lock.
 */
static struct zs_tls *watch[CONFIG_ZSOCK_TLS_SESSIONS];
static int64_t watch_at = ZS_FOREVER; /* when the armed timer fires; ZS_FOREVER: none */

static void watch_fire(void *arg);

/* Arm the timer for deadline if it is not armed as early. Reactor, pool_lock held. */
static void watch_arm_locked(int64_t deadline)
{
	int64_t now = zs_port_now_ms();

	if (deadline >= watch_at)
		return;
	if (watch_at != ZS_FOREVER)
		sys_untimeout(watch_fire, NULL);
	sys_timeout(deadline > now ? (u32_t)(deadline - now) : 0, watch_fire, NULL);
	watch_at = deadline;
}

static void watch_fire(void *arg)
{
	static struct zs_secsock_io wake[CONFIG_ZSOCK_TLS_SESSIONS]; /* the reactor's alone */
	int64_t now = zs_port_now_ms(), next = ZS_FOREVER;
	size_t i, n = 0;

	(void)arg;
	zs_lock_take(&pool_lock);
	watch_at = ZS_FOREVER;
	for (i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS; i++) {
		struct zs_tls *t = watch[i];
		int64_t d;

		if (t == NULL)
			continue;
		d = atomic_load(&t->hs_deadline);
		if (atomic_load(&t->hs) != HS_RUNNING || d == ZS_FOREVER) {
			watch[i] = NULL; /* over, or an explicit SO_SNDTIMEO took over */
		} else if (now >= d) {
			watch[i] = NULL;
			if (zs_secsock_hold(&t->io, &wake[n]))
				n++;
		} else if (d < next) {
			next = d;
		}
	}
	if (next != ZS_FOREVER)
		watch_arm_locked(next);
	zs_lock_give(&pool_lock);
	zs_secsock_wake_all(wake, n);
}

static int watch_arm_call(void *arg)
{
	zs_lock_take(&pool_lock);
	watch_arm_locked(*(const int64_t *)arg);
	zs_lock_give(&pool_lock);
	return 0;
}

/* Watch t's handshake deadline (t holds a session, its transport is set). */
static void watch_add(struct zs_tls *t)
{
	int64_t deadline = atomic_load(&t->hs_deadline);
	bool arm;
	size_t i;

	zs_lock_take(&pool_lock);
	for (i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS; i++) {
		if (watch[i] == NULL) {
			watch[i] = t;
			break;
		}
	}
	arm = deadline < watch_at;
	zs_lock_give(&pool_lock);
	if (arm) /* lwIP's timers are the reactor's */
		zs_reactor_call(watch_arm_call, &deadline);
}

static void watch_del(struct zs_tls *t)
{
	size_t i;

	zs_lock_take(&pool_lock);
	for (i = 0; i < CONFIG_ZSOCK_TLS_SESSIONS; i++)
		if (watch[i] == t)
			watch[i] = NULL;
	zs_lock_give(&pool_lock);
}

/* The options an accepted socket takes from its listener. Both locked. */
static void inherit(struct zs_tls *c, const struct zs_tls *l)
{
	c->family = l->family;
	c->proto = l->proto;
	c->version = l->version;
	memcpy(c->opt.tags, l->opt.tags, sizeof(l->opt.tags));
	c->opt.ntags = l->opt.ntags;
	memcpy(c->suites, l->suites, sizeof(l->suites));
	c->opt.nsuites = l->opt.nsuites;
	c->opt.verify = l->opt.verify;
	memcpy(c->alpn, l->alpn, sizeof(l->alpn));
	c->opt.nalpn = l->opt.nalpn;
	c->opt.nocopy = l->opt.nocopy;
	c->opt.native = l->opt.native;
	c->opt.cache = l->opt.cache;
	c->rcvtimeo_ms = l->rcvtimeo_ms;
	c->sndtimeo_ms = l->sndtimeo_ms;
	c->server = true;
}

/*
 * Accept one connection and start (non-blocking listener) or run (blocking
 * one) its server handshake. Returns the new fd, or -errno; *dropped is set
 * when a blocking handshake passed the default deadline: that connection is
 * closed (its session is back) and the caller waits for the next one.
 */
static int accept_one(struct zs_tls *t, struct sockaddr *addr, socklen_t *len, bool *dropped)
{
	struct zs_tls *c;
	const struct zs_fd_vtable *cvt;
	bool listener_nonblock;
	void *cobj;
	int32_t hs_ms;
	int fd, rc;

	*dropped = false;
	fd = t->io.ivt->accept(t->io.inner, addr, len);
	if (fd < 0)
		return fd;
	c = slot_alloc();
	if (c == NULL) {
		zs_fd_close(fd);
		return -ENOMEM;
	}
	cobj = zs_fd_detach(fd, &cvt);
	if (cobj == NULL) { /* someone closed a number they were never given */
		tls_unref(c);
		return -ECONNABORTED;
	}
	c->io.inner = cobj;
	c->io.ivt = cvt;
	cvt->ref(cobj); /* ours; the table's one came with the detach */
	zs_lock_take(&t->lock);
	inherit(c, t);
	listener_nonblock = t->nonblock;
	zs_lock_give(&t->lock);
	c->nonblock = (cvt->fcntl(cobj, F_GETFL, 0) & O_NONBLOCK) != 0;
	/* no SO_SNDTIMEO of its own: the default deadline bounds the handshake */
	hs_ms = atomic_load(&hs_timeout_ms);
	if (c->sndtimeo_ms < 0 && hs_ms > 0)
		atomic_store(&c->hs_deadline, zs_port_now_ms() + hs_ms);

	zs_lock_take(&c->lock);
	rc = start(c);
	if (rc < 0) {
		zs_lock_give(&c->lock);
		cvt->close(cobj);
		zs_fd_unreserve(fd);
		tls_unref(c);
		return rc;
	}
	atomic_store(&c->hs, HS_RUNNING);
	tls_ref(c); /* the table's, from here */
	zs_fd_finalize(fd, c, &tls_vtable);
	if (listener_nonblock) {
		advance(c); /* the rest on the first call or poll */
		rc = 0;
	} else {
		rc = handshake_wait(c, hs_wait_deadline(c));
		*dropped = rc == -ETIMEDOUT && atomic_load(&c->hs_deadline) != ZS_FOREVER;
	}
	unlock(c);
	/* not under c's lock: this may wait for the reactor */
	if (listener_nonblock && atomic_load(&c->hs) == HS_RUNNING &&
	    atomic_load(&c->hs_deadline) != ZS_FOREVER)
		watch_add(c);
	tls_unref(c); /* ours */
	if (rc < 0) {
		zs_fd_close(fd);
		return rc;
	}
	return fd;
}

static int tls_accept(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct zs_tls *t = obj;
	socklen_t room = len != NULL ? *len : 0;
	bool dropped;
	int fd;

	if (!t->listening)
		return -EINVAL;
	/* a blocking accept() serves the next client when one stalls its
	 * handshake past the default deadline (docs/security.md) */
	for (;;) {
		if (len != NULL)
			*len = room; /* a dropped connection's address length is not the buffer's */
		fd = accept_one(t, addr, len, &dropped);
		if (!dropped)
			return fd;
		if (atomic_load(&t->closed))
			return -EINTR; /* the listener was closed meanwhile */
	}
}

static int tls_shutdown(void *obj, int how)
{
	struct zs_tls *t = obj;

	if (how < ZSOCK_SHUT_RD || how > ZSOCK_SHUT_RDWR)
		return -EINVAL;
	zs_lock_take(&t->lock);
	if (atomic_load(&t->hs) != HS_DONE && !t->listening) {
		zs_lock_give(&t->lock);
		return -ENOTCONN;
	}
	if (how != ZSOCK_SHUT_RD && !t->wr_shut && !t->listening) {
		close_notify(t);
		drain(t, !t->nonblock, zs_secsock_deadline(t->sndtimeo_ms));
		t->wr_shut = true;
	}
	if (how != ZSOCK_SHUT_WR)
		t->rd_shut = true;
	unlock(t);
	return t->io.ivt->shutdown(t->io.inner, how);
}

/*
 * A handshake that failed here has queued a fatal alert. Were TCP closed
 * now, the rest of the peer's flight (unread, or still on its way) would
 * make it answer with a reset, which can overtake and drop the alert. So:
 * FIN after the alert, then read the peer's bytes away until it closes
 * too (it does on the alert) or LINGER_MS pass. Lock held; it is released
 * while waiting.
 */
#define LINGER_MS 250

static void linger_failed(struct zs_tls *t)
{
	int64_t until = zs_port_now_ms() + LINGER_MS;
	unsigned char sink[256];

	/* a handshake that timed out sent no alert: nothing to protect */
	if (t->ioerr != 0 || t->eof || t->io.ivt->shutdown == NULL || t->err == -ETIMEDOUT)
		return;
	t->io.ivt->shutdown(t->io.inner, ZSOCK_SHUT_WR);
	for (;;) {
		ssize_t n = t->io.ivt->recvfrom(t->io.inner, sink, sizeof(sink), ZSOCK_MSG_DONTWAIT,
						NULL, NULL);

		if (n > 0)
			continue;
		if (n != -EAGAIN || wait_io(t, ZSOCK_POLLIN, until) == -ETIMEDOUT)
			return;
	}
}

static int tls_close(void *obj)
{
	struct zs_tls *t = obj;
	int rc;

	zs_lock_take(&t->lock);
	if (atomic_load(&t->hs) == HS_DONE && !t->wr_shut && state(t) != BR_SSL_CLOSED) {
		close_notify(t); /* if TCP takes it now */
		pump(t);
	} else if (atomic_load(&t->hs) == HS_FAILED) {
		linger_failed(t);
	}
	atomic_store(&t->closed, true);
	zs_lock_give(&t->lock);
	rc = t->io.ivt->close(t->io.inner); /* wakes whoever waits on it */
	tls_unref(t);
	return rc;
}

/* ---- options ------------------------------------------------------------------------ */

/* TLS_CIPHERSUITE_LIST may name BearSSL's suites and the PSK core's. */
static bool suite_known(int v)
{
	size_t i;

	if (v < 0 || v > 0xffff)
		return false;
	if (psk_suite((uint16_t)v))
		return true;
	for (i = 0; i < n_all_suites; i++)
		if (all_suites[i] == v)
			return true;
	return false;
}

/* Where t keeps its lists, for zs_secopt_set and _get. */
static void lists_of(struct zs_tls *t, struct zs_secopt_lists *l)
{
	l->suites = t->suites;
	l->suites_max = CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES;
	l->suite_known = suite_known;
	l->suites_all = all_suites;
	l->n_suites_all = n_all_suites;
	l->alpn = t->alpn;
	l->alpn_max = CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS;
}

/* SOL_TLS, lock held (zs_secsock_edge's set_tls). */
static int set_tls_opt(void *obj, int name, const void *val, socklen_t len)
{
	struct zs_tls *t = obj;
	struct zs_secopt_lists l;

	lists_of(t, &l);
	switch (name) {
	case TLS_SESSION_CACHE_PURGE:
		caches_purge();
		return 0;
	case TLS_CIPHERSUITE_USED:
	case ZSOCK_TLS_ALPN_USED:
	case ZSOCK_TLS_VERIFY_RESULT:
	case ZSOCK_TLS_SESSION_RESUMED:
	case ZSOCK_TLS_LAST_ERROR:
		return -EINVAL; /* read only */
	default: /* the DTLS options: -ENOPROTOOPT, dtls_sock.c's */
		return zs_secopt_set(&t->opt, &l, name, val, len);
	}
}

/* SOL_TLS, lock held (zs_secsock_edge's get_tls). */
static int get_tls_opt(void *obj, int name, void *val, socklen_t *len)
{
	struct zs_tls *t = obj;
	struct zs_secopt_lists l;
	size_t n;
	const char *s;
	int hs = atomic_load(&t->hs);

	lists_of(t, &l);
	switch (name) {
	case TLS_CIPHERSUITE_USED: {
		br_ssl_session_parameters p;
		int rc;

		if (hs != HS_DONE)
			return -ENOTCONN;
		if (on_psk(t))
			return zs_optval_put_int(val, len, zs_dtls_suite(&t->sess->ps.d));
		br_ssl_engine_get_session_parameters(eng(t), &p);
		rc = zs_optval_put_int(val, len, p.cipher_suite);
		zs_secsock_wipe(&p, sizeof(p));
		return rc;
	}
	case ZSOCK_TLS_ALPN_USED:
		if (hs != HS_DONE)
			return -ENOTCONN;
		s = on_psk(t) ? zs_dtls_alpn(&t->sess->ps.d) :
				br_ssl_engine_get_selected_protocol(eng(t));
		if (s == NULL)
			s = "";
		n = strlen(s) + 1;
		if (*len < n)
			return -EINVAL;
		memcpy(val, s, n);
		*len = (socklen_t)n;
		return 0;
	case ZSOCK_TLS_VERIFY_RESULT:
		if (t->sess == NULL)
			return zs_optval_put_int(val, len, -1);
		return zs_optval_put_int(val, len, on_psk(t) ? zs_dtls_verify_result(&t->sess->ps.d) :
					 t->sess->xw.result);
	case ZSOCK_TLS_SESSION_RESUMED:
		if (hs != HS_DONE)
			return -ENOTCONN;
		return zs_optval_put_int(val, len, t->resumed);
	case ZSOCK_TLS_LAST_ERROR:
		return zs_optval_put_int(val, len, t->sess == NULL || hs == HS_IDLE ||
					 hs == HS_CONNECTING ? 0 : last_error(t));
	case TLS_SESSION_CACHE_PURGE:
		return -EINVAL; /* write only */
	default:
		return zs_secopt_get(&t->opt, &l, t->server, name, val, len);
	}
}

static void edge_of(struct zs_tls *t, struct zs_secsock_edge *e)
{
	*e = (struct zs_secsock_edge){
		.obj = t,
		.set_tls = set_tls_opt,
		.get_tls = get_tls_opt,
		.proto = t->proto,
		.io = t->io,
		.lock = &t->lock,
		.rcvtimeo_ms = &t->rcvtimeo_ms,
		.sndtimeo_ms = &t->sndtimeo_ms,
		.snd_clears = &t->hs_deadline, /* an explicit SO_SNDTIMEO rules */
		.st = &t->hs,
		.failed = HS_FAILED,
		.err = &t->err,
		.err_reported = &t->err_reported,
	};
}

static int tls_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	struct zs_secsock_edge e;

	edge_of(obj, &e);
	return zs_secsock_setsockopt(&e, level, name, val, len);
}

static int tls_getsockopt(void *obj, int level, int name, void *val, socklen_t *len)
{
	struct zs_secsock_edge e;

	edge_of(obj, &e);
	return zs_secsock_getsockopt(&e, level, name, val, len);
}

static int tls_fcntl(void *obj, int cmd, int flags)
{
	struct zs_tls *t = obj;

	return zs_secsock_fcntl(&t->io, &t->lock, &t->nonblock, cmd, flags);
}

static int tls_ioctl(void *obj, unsigned long request, void *arg)
{
	struct zs_tls *t = obj;
	int n = 0;

	switch (request) {
	case FIONREAD:
		zs_lock_take(&t->lock);
		if (atomic_load(&t->hs) == HS_DONE) {
			size_t avail = 0;

			pump(t);
			if (state(t) & BR_SSL_RECVAPP)
				recvapp_buf(t, &avail);
			n = avail > INT_MAX ? INT_MAX : (int)avail;
		}
		unlock(t);
		memcpy(arg, &n, sizeof(n));
		return 0;
	case FIONBIO:
		memcpy(&n, arg, sizeof(n));
		return tls_fcntl(obj, F_SETFL, n ? O_NONBLOCK : 0);
	default:
		return -EINVAL;
	}
}

static const struct zs_fd_vtable tls_vtable = {
	.ref = tls_ref,
	.unref = tls_unref,
	.close = tls_close,
	.bind = zs_secsock_bind,
	.connect = tls_connect,
	.listen = tls_listen,
	.accept = tls_accept,
	.sendto = tls_sendto,
	.recvfrom = tls_recvfrom,
	.shutdown = tls_shutdown,
	.getsockopt = tls_getsockopt,
	.setsockopt = tls_setsockopt,
	.getsockname = zs_secsock_getsockname,
	.getpeername = zs_secsock_getpeername,
	.fcntl = tls_fcntl,
	.sendmsg = tls_sendmsg,
	.recvmsg = tls_recvmsg,
	.ioctl = tls_ioctl,
	/* no zero-copy path: records are sealed and opened in the slot's buffer */
	.recv_buf = NULL,
	.send_buf = NULL,
	.poll_events = tls_poll_events,
	.poll_link = zs_secsock_poll_link,
	.poll_unlink = zs_secsock_poll_unlink,
	.poll_wake = zs_secsock_poll_wake,
};

/* ---- creation ------------------------------------------------------------------------ */

static void zs_tls_nodelay(int fd)
{
	const struct zs_fd_vtable *vt;
	void *obj = zs_fd_get(fd, &vt);
	int one = 1;

	if (obj == NULL)
		return;
	vt->setsockopt(obj, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	zs_fd_put(obj, vt);
}

static int version_of(int proto, uint16_t *version)
{
	switch (proto) {
	case IPPROTO_TLS_1_0: *version = BR_TLS10; return 0;
	case IPPROTO_TLS_1_1: *version = BR_TLS11; return 0;
	case IPPROTO_TLS_1_2: *version = BR_TLS12; return 0;
	default: return -EPROTONOSUPPORT; /* DTLS 1.0; DTLS 1.2 is dtls_sock.c's */
	}
}

int zs_tls_wrap(int fd, int family, int proto)
{
	const struct zs_fd_vtable *ivt;
	struct zs_tls *t;
	uint16_t version;
	void *inner;
	int rc;

	tls_init();
	rc = version_of(proto, &version);
	if (rc < 0)
		return rc;
	t = slot_alloc();
	if (t == NULL)
		return -ENOMEM;
	/* no Nagle: a handshake flight is several small records, and the
	 * second would wait for the peer's delayed ACK (100 ms a round);
	 * accepted sockets inherit it from the listener's TCP socket.
	 * setsockopt(IPPROTO_TCP, TCP_NODELAY, 0) turns it back on. */
	zs_tls_nodelay(fd);
	inner = zs_fd_detach(fd, &ivt); /* the number stays reserved for t */
	if (inner == NULL) { /* closed by a thread guessing numbers */
		tls_unref(t);
		return -EBADF;
	}
	t->io.inner = inner;
	t->io.ivt = ivt;
	ivt->ref(inner);
	t->family = family;
	t->proto = proto;
	t->version = version;
	zs_fd_finalize(fd, t, &tls_vtable);
	return fd;
}

int zs_tls_create(int family, int type, int proto)
{
	uint16_t version;
	int fd, rc;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (proto == IPPROTO_DTLS_1_2)
		return zs_dtls_sock_create(family, type);
	rc = version_of(proto, &version);
	if (rc < 0)
		return rc;
	if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
		return -EPROTOTYPE;
	fd = zs_sock_create(family, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		return fd;
	rc = zs_tls_wrap(fd, family, proto);
	if (rc < 0)
		zs_fd_close(fd);
	return rc;
}
