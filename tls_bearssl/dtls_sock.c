/*
 * DTLS 1.2 sockets: zsock_socket(AF_INET or AF_INET6, SOCK_DGRAM,
 * IPPROTO_DTLS_1_2), the Zephyr secure-sockets way, on the protocol core
 * of tls_bearssl/dtls/.
 *
 * A DTLS socket is an fd object (one of a fixed pool of
 * CONFIG_ZSOCK_DTLS_SOCKETS) that owns a UDP socket (held through its
 * vtable, as TLS holds its TCP one), one association (struct zs_dtls) and
 * two datagram buffers of CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE bytes: rx holds
 * the datagram being read (records are opened in place, and an opened
 * application record waits there for recv), tx the datagram being sent.
 * All of it is in the slot: nothing is taken when a handshake starts and
 * nothing is allocated after start-up. Record work runs in the calling
 * thread, never in the reactor.
 *
 * Client (the default role): connect() fixes the peer on the UDP socket
 * and runs the handshake; a sendto() with an address on a socket not yet
 * connected connects first. The peer's close_notify is EOF (recv gives 0).
 *
 * Server (TLS_DTLS_ROLE_SERVER): bind(), then recv/recvfrom/poll. A
 * datagram from a peer the socket has no association with goes through
 * zs_dtls_cookie_answer() first: a ClientHello without a valid cookie gets
 * a HelloVerifyRequest and leaves no state (RFC 6347 s4.2.1); one with a
 * valid cookie starts the association, whose handshake then runs inside
 * recv and poll. One client at a time: while one is served, datagrams of
 * other peers get cookie answers only; a ClientHello with a valid cookie
 * from another address is dropped (its client retransmits it and gets in
 * once the current one has gone), unless the current client has sent
 * nothing for CONFIG_ZSOCK_DTLS_SERVER_IDLE_MS: then the new client, which
 * has just proved its address, takes the socket over. Without that, a
 * client that vanished (a lost close_notify, a crash) would hold the
 * server for good. A new valid ClientHello from the
 * current client's address after its handshake ended replaces the
 * association (RFC 6347 s4.2.8: the client restarted). The association
 * ends with the client's close_notify, a fatal alert, or a failed
 * handshake; the socket then waits for the next client (its recv does not
 * report the end: a datagram server outlives its clients).
 *
 * Retransmission: a blocking call waits for the transport or the core's
 * timer, whichever comes first. For sockets nobody is in a call on (a
 * poll set sleeps on the UDP socket's wait queue) one lwIP timer in the
 * reactor wakes the UDP socket of each association whose timer is due;
 * the woken poll services it (timer_* below).
 *
 * Locking: s->lock guards the association, the buffers and the options;
 * it is never held while sleeping. s->st, s->ready, s->closed and s->tdl
 * are atomics for poll and the timer. close() takes the lock too (it
 * queues close_notify, then sets s->closed): a call another thread is in
 * meanwhile finishes first, or finds s->closed once it has the lock and
 * ends with EINTR, sending and receiving alike.
 */
#include "tls_bearssl/tls.h"
#include "tls_bearssl/cred.h"
#include "tls_bearssl/dtls/dtls.h"
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
#include "engine/sock/native.h"
#include "lwip/timeouts.h"

#define DGRAM CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE
/* application bytes one send takes: the datagram minus the record's cost */
#define APP_MAX (DGRAM - ZS_DTLS_RECORD_OVERHEAD)
/* handshake datagrams: the core fragments its flights to this */
#define HS_MTU (DGRAM < 1400 ? DGRAM : 1400)
/* datagrams one service() reads before it lets the caller go on */
#define SERVICE_BUDGET 64

enum ds_state {
	DS_IDLE,      /* no association (a client before connect, a server between clients) */
	DS_HANDSHAKE, /* under way */
	DS_DONE,      /* application data flows */
	DS_FAILED,    /* client: s->err says why (a server goes back to IDLE) */
};

struct zs_dtls_sock {
	struct zs_secsock_io io;      /* the UDP socket, one reference of ours; first (secsock.h) */
	_Atomic int refs;
	bool used;                    /* slot taken (pool_lock) */
	bool lock_ready;
	struct zs_lock lock;

	int family;
	bool server;                  /* TLS_DTLS_ROLE */
	bool nonblock;
	bool rd_shut, wr_shut;
	bool eof;                     /* client: the server's close_notify came */
	bool err_reported;            /* SO_ERROR gave s->err once */
	bool creds_held;
	bool resumed;
	_Atomic bool closed;
	_Atomic int st;               /* enum ds_state */
	_Atomic int ready;            /* ZSOCK_POLL* bits, see compute_ready() */
	_Atomic int64_t tdl;          /* the core's timer (zs_port_now_ms scale), ZS_FOREVER: none */
	int64_t last_rx;              /* server: when its client was last heard from */
	int err;                      /* DS_FAILED: -errno */
	int32_t rcvtimeo_ms, sndtimeo_ms;

	/* options */
	struct zs_secopt opt;         /* the SOL_TLS options TLS sockets also take */
	uint16_t suites[ZS_DTLS_MAX_SUITES];
	const char *alpn[ZS_DTLS_MAX_ALPN]; /* TLS_ALPN_LIST: the caller's strings */
	uint32_t tmo_min, tmo_max;    /* TLS_DTLS_HANDSHAKE_TIMEOUT_MIN/MAX, ms */

	/* the association */
	struct sockaddr_storage peer; /* server: the client served */
	socklen_t peer_len;
	struct zs_tls_creds creds;
	uint8_t *app;                 /* an opened application record in rx, or NULL */
	size_t app_len;
	size_t rx_len, rx_off;        /* rx[rx_off..rx_len): records not yet opened */
	struct zs_dtls d;
	uint8_t rx[DGRAM];
	uint8_t tx[DGRAM];
};

static struct zs_dtls_sock slots[CONFIG_ZSOCK_DTLS_SOCKETS];
static struct zs_lock pool_lock;
static uint32_t pool_used, pool_high;
static const struct zs_fd_vtable dtls_vtable;

/* the suites of the core, in the order a socket without a list offers them */
static const uint16_t core_suites[ZS_DTLS_MAX_SUITES] = {
	ZS_DTLS_PSK_WITH_AES_128_CCM_8,
	ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
	ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
	ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
};

/* ---- randomness, cookies and the session caches -------------------------------- */

static struct zs_lock drbg_lock;
static br_hmac_drbg_context drbg;
static int seed_err;                  /* -errno: the port gave no seed */
static uint8_t cookie_secret[32];

/* Client sessions, keyed by the peer's address and TLS_HOSTNAME. */
struct ckey {
	uint8_t addr[20];             /* family, port, address */
	uint8_t addr_len;             /* 0: free */
	uint8_t host_hash[32];
};

struct csess {
	struct ckey k;
	uint32_t stamp;
	struct zs_dtls_session s;
};

static struct zs_lock cache_lock;    /* both caches; taken inside a socket's lock */
static struct csess csessions[CONFIG_NET_SOCKETS_TLS_MAX_CLIENT_SESSION_COUNT];
static uint32_t cclock;
static struct zs_dtls_cache scache;  /* every server socket's (the core's LRU) */

static struct zs_once init_once = ZS_ONCE_INIT;
static struct zs_work arm_work;

static void arm_work_fn(struct zs_work *w);

static void dtls_init_once(void)
{
	uint8_t seed[32];

	zs_lock_init(&pool_lock);
	zs_lock_init(&drbg_lock);
	zs_lock_init(&cache_lock);
	zs_work_init(&arm_work, arm_work_fn);
	zs_dtls_cache_init(&scache);
	seed_err = zs_port_entropy(seed, sizeof(seed));
	if (seed_err == 0) {
		br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof(seed));
		br_hmac_drbg_generate(&drbg, cookie_secret, sizeof(cookie_secret));
	}
	memset(seed, 0, sizeof(seed));
}

static void dtls_init(void)
{
	zs_port_once(&init_once, dtls_init_once);
}

/* The core's zs_dtls_rand_fn: one generator for every socket. */
static void rnd(void *arg, void *buf, size_t len)
{
	(void)arg;
	zs_lock_take(&drbg_lock);
	br_hmac_drbg_generate(&drbg, buf, len);
	zs_lock_give(&drbg_lock);
}

/* A transport address as bytes (family, port, address): the cookie's and
 * the client cache's key. Returns the length, 0 for an unknown family. */
static size_t addr_key(const struct sockaddr_storage *ss, uint8_t out[20])
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		out[0] = 4;
		memcpy(out + 1, &a->sin_port, 2);
		memcpy(out + 3, &a->sin_addr, 4);
		return 7;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		out[0] = 6;
		memcpy(out + 1, &a->sin6_port, 2);
		memcpy(out + 3, &a->sin6_addr, 16);
		return 19;
	}
	return 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint8_t ka[20], kb[20];
	size_t n = addr_key(a, ka);

	return n > 0 && n == addr_key(b, kb) && memcmp(ka, kb, n) == 0;
}

/* The client cache's key of s's peer. Returns false if it has none. Lock held. */
static bool csess_key(struct zs_dtls_sock *s, struct ckey *k)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	br_sha256_context h;

	memset(&ss, 0, sizeof(ss));
	memset(k, 0, sizeof(*k));
	if (s->io.ivt->getpeername(s->io.inner, (struct sockaddr *)&ss, &len) < 0)
		return false;
	br_sha256_init(&h);
	if (s->opt.has_host)
		br_sha256_update(&h, s->opt.host, strlen(s->opt.host) + 1);
	br_sha256_out(&h, k->host_hash);
	k->addr_len = (uint8_t)addr_key(&ss, k->addr);
	return k->addr_len > 0;
}

/* The entry for k, or NULL; with lru, the entry to fill instead of NULL
 * (a free one, else the least recently used). cache_lock held. */
static struct csess *csess_find(const struct ckey *k, bool lru)
{
	struct csess *slot = NULL;
	size_t i;

	for (i = 0; i < CONFIG_NET_SOCKETS_TLS_MAX_CLIENT_SESSION_COUNT; i++) {
		struct csess *c = &csessions[i];

		if (memcmp(&c->k, k, sizeof(*k)) == 0)
			return c;
		if (lru && (slot == NULL || c->k.addr_len == 0 ||
			    (slot->k.addr_len != 0 && c->stamp < slot->stamp)))
			slot = c;
	}
	return slot;
}

/* Offer the session cached for s's peer, if any. Lock held. */
static void csess_offer(struct zs_dtls_sock *s)
{
	struct ckey k;
	struct csess *c;

	if (!csess_key(s, &k))
		return;
	zs_lock_take(&cache_lock);
	c = csess_find(&k, false);
	if (c != NULL) {
		zs_dtls_session_set(&s->d, &c->s);
		c->stamp = ++cclock;
	}
	zs_lock_give(&cache_lock);
}

/* Keep the association's session for the next connect to this peer. */
static void csess_store(struct zs_dtls_sock *s)
{
	struct zs_dtls_session sess;
	struct ckey k;
	struct csess *c;

	if (!csess_key(s, &k) || zs_dtls_session_get(&s->d, &sess) < 0)
		return;
	zs_lock_take(&cache_lock);
	c = csess_find(&k, true);
	c->k = k;
	c->s = sess;
	c->stamp = ++cclock;
	zs_lock_give(&cache_lock);
	zs_secsock_wipe(&sess, sizeof(sess));
}

/* A failed association's session must not come back (RFC 5246 s7.2.2). Lock held. */
static void csess_forget(struct zs_dtls_sock *s)
{
	struct ckey k;
	struct csess *c;

	if (!csess_key(s, &k))
		return;
	zs_lock_take(&cache_lock);
	c = csess_find(&k, false);
	if (c != NULL)
		zs_secsock_wipe(c, sizeof(*c));
	zs_lock_give(&cache_lock);
}

static void caches_purge(void)
{
	zs_lock_take(&cache_lock);
	zs_secsock_wipe(csessions, sizeof(csessions));
	zs_dtls_cache_init(&scache);
	zs_lock_give(&cache_lock);
}

/* ---- slots ------------------------------------------------------------------------ */

static struct zs_dtls_sock *slot_alloc(void)
{
	struct zs_dtls_sock *s = NULL;
	size_t i;

	zs_lock_take(&pool_lock);
	for (i = 0; i < CONFIG_ZSOCK_DTLS_SOCKETS; i++) {
		if (!slots[i].used) {
			s = &slots[i];
			s->used = true;
			if (++pool_used > pool_high)
				pool_high = pool_used;
			break;
		}
	}
	zs_lock_give(&pool_lock);
	if (s == NULL)
		return NULL;
	if (!s->lock_ready) {
		zs_lock_init(&s->lock);
		s->lock_ready = true;
	}
	/* options and state; the association and buffers were wiped when freed */
	memset(&s->io, 0, sizeof(s->io));
	memset(&s->family, 0, offsetof(struct zs_dtls_sock, d) - offsetof(struct zs_dtls_sock, family));
	atomic_store(&s->refs, 1);
	atomic_store(&s->st, DS_IDLE);
	atomic_store(&s->ready, 0);
	atomic_store(&s->closed, false);
	atomic_store(&s->tdl, ZS_FOREVER);
	s->opt.verify = -1;
	s->rcvtimeo_ms = -1;
	s->sndtimeo_ms = -1;
	return s;
}

/* End the association (keys, secrets, plaintext) and its credentials. Lock held. */
static void assoc_wipe(struct zs_dtls_sock *s)
{
	if (s->creds_held)
		zs_cred_release(&s->creds);
	s->creds_held = false;
	s->app = NULL;
	s->app_len = 0;
	s->rx_len = s->rx_off = 0;
	zs_secsock_wipe(&s->d, offsetof(struct zs_dtls_sock, tx) + sizeof(s->tx) -
			       offsetof(struct zs_dtls_sock, d));
	atomic_store(&s->tdl, ZS_FOREVER);
}

static void slot_free(struct zs_dtls_sock *s)
{
	void *inner;

	assoc_wipe(s);
	zs_lock_take(&pool_lock); /* the timer looks at inner under it */
	inner = s->io.inner;
	s->io.inner = NULL;
	zs_lock_give(&pool_lock);
	if (inner != NULL)
		s->io.ivt->unref(inner);
	zs_lock_take(&pool_lock);
	s->used = false;
	pool_used--;
	zs_lock_give(&pool_lock);
}

static void dtls_ref(void *obj)
{
	atomic_fetch_add(&((struct zs_dtls_sock *)obj)->refs, 1);
}

static void dtls_unref(void *obj)
{
	struct zs_dtls_sock *s = obj;

	if (atomic_fetch_sub(&s->refs, 1) == 1)
		slot_free(s);
}

uint32_t zs_dtls_sock_in_use(void)
{
	return zs_secsock_figure(dtls_init, &pool_lock, &pool_used);
}

uint32_t zs_dtls_sock_high_water(void)
{
	return zs_secsock_figure(dtls_init, &pool_lock, &pool_high);
}

size_t zs_dtls_sock_bytes(void)
{
	return sizeof(struct zs_dtls_sock);
}

size_t zs_dtls_static_bytes(void)
{
	return sizeof(slots) + sizeof(csessions) + sizeof(scache) + sizeof(drbg);
}

#ifndef CONFIG_ZSOCK_DTLS_SERVER_IDLE_MS
#define CONFIG_ZSOCK_DTLS_SERVER_IDLE_MS 10000 /* meson_options.txt's default */
#endif
static _Atomic int32_t server_idle_ms = CONFIG_ZSOCK_DTLS_SERVER_IDLE_MS;

void zs_dtls_server_idle_set(int32_t ms)
{
	atomic_store(&server_idle_ms, ms < 0 ? 0 : ms);
}

/* ---- the retransmission timer of sockets nobody waits in -------------------------- */

static _Atomic int64_t timer_at = ZS_FOREVER; /* when the armed lwIP timer fires */

static void timer_fire(void *arg);

/* (Re)arm the timer for the earliest due association. Reactor, pool_lock held. */
static void timer_arm_locked(void)
{
	int64_t next = ZS_FOREVER, now = zs_port_now_ms();
	size_t i;

	for (i = 0; i < CONFIG_ZSOCK_DTLS_SOCKETS; i++) {
		int64_t d = atomic_load(&slots[i].tdl);

		if (slots[i].used && slots[i].io.inner != NULL && d < next)
			next = d;
	}
	if (next == atomic_load(&timer_at))
		return;
	if (atomic_load(&timer_at) != ZS_FOREVER)
		sys_untimeout(timer_fire, NULL);
	atomic_store(&timer_at, next);
	if (next != ZS_FOREVER)
		sys_timeout(next > now ? (u32_t)(next - now) : 0, timer_fire, NULL);
}

static void timer_fire(void *arg)
{
	static struct zs_secsock_io wake[CONFIG_ZSOCK_DTLS_SOCKETS]; /* the reactor's alone */
	int64_t now = zs_port_now_ms();
	size_t i, n = 0;

	(void)arg;
	zs_lock_take(&pool_lock);
	atomic_store(&timer_at, ZS_FOREVER);
	for (i = 0; i < CONFIG_ZSOCK_DTLS_SOCKETS; i++) {
		struct zs_dtls_sock *s = &slots[i];
		int64_t d = atomic_load(&s->tdl);

		if (!s->used || s->io.inner == NULL || d > now)
			continue;
		/* the woken service sets the next one; until then none, so a
		 * socket that nobody services does not keep the reactor busy.
		 * Only the deadline that was due: a thread that serviced the
		 * socket meanwhile has set its next one, and may be about to
		 * sleep until it (before it links to be woken, so this wake
		 * would miss it); erasing that one left it asleep for good */
		if (!atomic_compare_exchange_strong(&s->tdl, &d, ZS_FOREVER))
			continue;
		if (zs_secsock_hold(&s->io, &wake[n]))
			n++;
	}
	timer_arm_locked();
	zs_lock_give(&pool_lock);
	zs_secsock_wake_all(wake, n);
}

static void arm_work_fn(struct zs_work *w)
{
	(void)w;
	zs_lock_take(&pool_lock);
	timer_arm_locked();
	zs_lock_give(&pool_lock);
}

/* Publish the core's next deadline; have the reactor arm for it. Lock held. */
static void deadline_update(struct zs_dtls_sock *s, uint32_t now32)
{
	int64_t d = ZS_FOREVER;
	uint32_t at;

	int st = atomic_load(&s->st);

	if ((st == DS_HANDSHAKE || st == DS_DONE) && zs_dtls_deadline(&s->d, &at))
		d = zs_port_now_ms() + (int32_t)(at - now32);
	atomic_store(&s->tdl, d);
	if (d < atomic_load(&timer_at))
		zs_reactor_post(&arm_work);
}

/* ---- the association --------------------------------------------------------------- */

static bool may_block(const struct zs_dtls_sock *s, int flags)
{
	return !s->nonblock && !(flags & ZSOCK_MSG_DONTWAIT);
}

static uint32_t now32(void)
{
	return (uint32_t)zs_port_now_ms();
}

static bool is_psk(uint16_t suite)
{
	return suite == ZS_DTLS_PSK_WITH_AES_128_CCM_8 || suite == ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
}

static bool suite_known(int v)
{
	size_t i;

	for (i = 0; i < ZS_DTLS_MAX_SUITES; i++)
		if (core_suites[i] == v)
			return true;
	return false;
}

/* The core's zs_dtls_psk_lookup_fn: the server's sec tags. */
static int psk_lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *psk, size_t psk_max)
{
	struct zs_dtls_sock *s = arg;
	int n = zs_cred_psk_lookup(s->opt.tags, s->opt.ntags, id, id_len, psk, psk_max);

	return n > 0 ? n : -1;
}

static int level_of(const struct zs_dtls_sock *s)
{
	return zs_secopt_level(&s->opt, s->server);
}

/*
 * Set up s->d for a new association from the options and the sec tags.
 * Of the suites asked for (TLS_CIPHERSUITE_LIST, or all), those the
 * credentials allow: PSK with a PSK (a client also needs its identity),
 * ECDHE_ECDSA with trust anchors or no verification (client) or an EC
 * chain and key (server). Returns 0, -ENOMEM (credentials), -ECONNABORTED
 * (no suite left), or -errno from the core. Lock held.
 */
static int assoc_init(struct zs_dtls_sock *s)
{
	struct zs_dtls_config cfg;
	struct zs_tls_creds *c = &s->creds;
	const uint16_t *want = s->opt.nsuites > 0 ? s->suites : core_suites;
	size_t nwant = s->opt.nsuites > 0 ? s->opt.nsuites : ZS_DTLS_MAX_SUITES, i;
	uint16_t suites[ZS_DTLS_MAX_SUITES];
	bool verify_none = level_of(s) == TLS_PEER_VERIFY_NONE;
	bool psk_ok, ec_ok;
	int64_t unix_now;
	int rc;

	if (seed_err < 0)
		return seed_err;
	rc = zs_cred_acquire(s->opt.tags, s->opt.ntags, s->opt.nocopy, c);
	if (rc < 0)
		return rc;
	s->creds_held = true;
	memset(&cfg, 0, sizeof(cfg));
	cfg.server = s->server;
	if (s->server) {
		psk_ok = c->psk != NULL;
		ec_ok = c->chain != NULL && c->key_type == BR_KEYTYPE_EC;
	} else {
		psk_ok = c->psk != NULL && c->psk_id != NULL;
		ec_ok = c->n_ta > 0 || level_of(s) != TLS_PEER_VERIFY_REQUIRED;
	}
	for (i = 0; i < nwant; i++)
		if (is_psk(want[i]) ? psk_ok : ec_ok)
			suites[cfg.n_suites++] = want[i];
	if (cfg.n_suites == 0)
		return -ECONNABORTED;
	cfg.suites = suites;
	if (s->server) {
		cfg.psk_lookup = psk_lookup;
		cfg.psk_arg = s;
		cfg.chain = c->chain;
		cfg.chain_len = c->chain_len;
		cfg.ec_key = c->key_type == BR_KEYTYPE_EC ? c->ec : NULL;
		cfg.cache = s->opt.cache ? &scache : NULL;
	} else {
		cfg.psk = c->psk;
		cfg.psk_len = c->psk_len;
		cfg.psk_id = c->psk_id;
		cfg.psk_id_len = c->psk_id_len;
		cfg.tas = c->ta;
		cfg.n_tas = c->n_ta;
		cfg.verify_none = verify_none;
		cfg.verify_optional = level_of(s) == TLS_PEER_VERIFY_OPTIONAL;
		cfg.server_name = s->opt.has_host ? s->opt.host : NULL;
		/* days since 0000-01-01 and seconds in the day; no wall clock:
		 * day 0, and a chain that is checked fails on its dates */
		if (zs_port_realtime(&unix_now) == 0 && unix_now >= 0) {
			cfg.x509_days = (uint32_t)(unix_now / 86400) + 719528u;
			cfg.x509_seconds = (uint32_t)(unix_now % 86400);
		}
	}
	cfg.alpn = s->alpn;
	cfg.n_alpn = s->opt.nalpn;
	cfg.rand = rnd;
	cfg.mtu = HS_MTU;
	cfg.timeout_min_ms = s->tmo_min;
	cfg.timeout_max_ms = s->tmo_max;
	return zs_dtls_init(&s->d, &cfg, false);
}

/* A datagram out to the peer; one the transport refuses now is lost like
 * one the network loses (the core's timer resends a flight). Lock held. */
static ssize_t put(struct zs_dtls_sock *s, const uint8_t *b, size_t n)
{
	if (s->server)
		return s->io.ivt->sendto(s->io.inner, b, n, ZSOCK_MSG_DONTWAIT,
					 (const struct sockaddr *)&s->peer, s->peer_len);
	return s->io.ivt->sendto(s->io.inner, b, n, ZSOCK_MSG_DONTWAIT, NULL, 0);
}

static void assoc_end(struct zs_dtls_sock *s, int err);

/* Send what the core has to send (flights, their retransmissions, alerts). Lock held. */
static void flush(struct zs_dtls_sock *s, uint32_t now)
{
	int st = atomic_load(&s->st);

	if (st != DS_HANDSHAKE && st != DS_DONE)
		return;
	for (;;) {
		int n = zs_dtls_output(&s->d, s->tx, sizeof(s->tx), now);

		if (n == 0)
			return;
		if (n < 0) {
			assoc_end(s, n);
			return;
		}
		put(s, s->tx, (size_t)n);
	}
}

/*
 * The association is over: err < 0 it failed, 0 it closed. A client keeps
 * a failure (DS_FAILED, every later call gives it) and a close (EOF); a
 * server forgets both and waits for the next client. Lock held.
 */
static void assoc_end(struct zs_dtls_sock *s, int err)
{
	if (err == -EMSGSIZE)
		err = -ECONNABORTED; /* a handshake message past the reassembly bound */
	if (s->server) {
		assoc_wipe(s);
		s->peer_len = 0;
		atomic_store(&s->st, DS_IDLE);
		return;
	}
	if (err == 0) {
		s->eof = true;
		return;
	}
	if (s->opt.cache)
		csess_forget(s);
	s->err = err;
	atomic_store(&s->st, DS_FAILED);
	atomic_store(&s->tdl, ZS_FOREVER);
}

/* Feed records to the core; server contexts share the session cache. */
static int input(struct zs_dtls_sock *s, uint32_t now, uint8_t **app, size_t *app_len)
{
	bool shared = s->server && s->opt.cache;
	int r;

	if (shared)
		zs_lock_take(&cache_lock);
	r = zs_dtls_input(&s->d, s->rx + s->rx_off, s->rx_len - s->rx_off, now, app, app_len);
	if (shared)
		zs_lock_give(&cache_lock);
	return r;
}

/* Open the next record of rx. Lock held; rx holds unopened records. */
static void open_record(struct zs_dtls_sock *s, uint32_t now)
{
	uint8_t *app = NULL;
	size_t app_len = 0;
	int r = input(s, now, &app, &app_len);

	if (r <= 0) { /* a fatal error (its alert is queued), or nothing consumed */
		s->rx_len = s->rx_off = 0;
		flush(s, now);
		if (r < 0)
			assoc_end(s, r);
		return;
	}
	s->rx_off += (size_t)r;
	if (s->rx_off >= s->rx_len)
		s->rx_len = s->rx_off = 0;
	if (app != NULL) {
		s->app = app;
		s->app_len = app_len;
		if (s->rx_len == 0) /* rx stays put while the record waits */
			s->rx_len = s->rx_off = (size_t)(app - s->rx) + app_len;
	}
	flush(s, now);
	if (atomic_load(&s->st) != DS_HANDSHAKE && atomic_load(&s->st) != DS_DONE)
		return;
	switch (zs_dtls_state(&s->d)) {
	case ZS_DTLS_ESTABLISHED:
		if (atomic_load(&s->st) == DS_HANDSHAKE) {
			s->resumed = zs_dtls_resumed(&s->d);
			if (!s->server && s->opt.cache)
				csess_store(s);
			atomic_store(&s->st, DS_DONE);
		}
		break;
	case ZS_DTLS_CLOSED:
		if (!s->wr_shut && s->app == NULL) /* the peer's close_notify */
			assoc_end(s, 0);
		break;
	case ZS_DTLS_FAILED:
		assoc_end(s, zs_dtls_error(&s->d));
		break;
	default:
		break;
	}
}

/* The ClientHello's random (RFC 6347 s4.2: record 13, handshake 12, version 2). */
static const uint8_t *hello_random(const uint8_t *dgram, size_t len)
{
	return len >= ZS_DTLS_HDR + 12 + 2 + 32 ? dgram + ZS_DTLS_HDR + 12 + 2 : NULL;
}

/*
 * Server: a datagram of len bytes in rx from `from`. Answers a ClientHello
 * without a valid cookie; starts an association on one with a valid cookie
 * when the socket is free (or its client restarted); drops the rest.
 * Returns true when rx now holds records of the association. Lock held.
 */
static bool server_admit(struct zs_dtls_sock *s, const struct sockaddr_storage *from,
			 socklen_t from_len, size_t len)
{
	uint8_t key[20], reply[128];
	size_t klen = addr_key(from, key), rlen = 0;
	int st = atomic_load(&s->st), rc;
	bool current = s->peer_len > 0 && same_addr(from, &s->peer);

	if (klen == 0)
		return false;
	if (current && st == DS_HANDSHAKE) {
		s->last_rx = zs_port_now_ms();
		return true; /* the core answers its client's retransmissions */
	}
	rc = zs_dtls_cookie_answer(cookie_secret, sizeof(cookie_secret), key, klen, s->rx, len,
				   reply, sizeof(reply), &rlen);
	if (rc == 0) {
		s->io.ivt->sendto(s->io.inner, reply, rlen, ZSOCK_MSG_DONTWAIT,
				  (const struct sockaddr *)from, from_len);
		return false;
	}
	if (rc < 0) { /* not a ClientHello: the current client's records */
		if (current)
			s->last_rx = zs_port_now_ms();
		return current;
	}
	if (st != DS_IDLE) {
		const uint8_t *r = hello_random(s->rx, len);
		/* the client started over (RFC 6347 s4.2.8) -- but a copy of the
		 * hello that began this association (the network duplicates)
		 * is not a new one */
		bool restart = current && st == DS_DONE && r != NULL &&
			       memcmp(r, s->d.client_random, 32) != 0;
		/* the current client went silent: the new one takes over */
		bool idle = !current &&
			    zs_port_now_ms() - s->last_rx >= atomic_load(&server_idle_ms);

		if (!restart && !idle)
			return false;
		assoc_wipe(s);
		atomic_store(&s->st, DS_IDLE);
	}
	memcpy(&s->peer, from, sizeof(*from));
	s->peer_len = from_len;
	rc = assoc_init(s);
	if (rc < 0) {
		assoc_wipe(s);
		s->peer_len = 0;
		return false;
	}
	s->resumed = false;
	s->last_rx = zs_port_now_ms();
	atomic_store(&s->st, DS_HANDSHAKE);
	return true;
}

/* Take the next datagram from the transport into rx. Returns 1 if one
 * came (used or dropped), 0 if none is there. Lock held, rx empty. */
static int take_datagram(struct zs_dtls_sock *s)
{
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	ssize_t n;

	memset(&from, 0, sizeof(from));
	n = s->io.ivt->recvfrom(s->io.inner, s->rx, sizeof(s->rx), ZSOCK_MSG_DONTWAIT | ZSOCK_MSG_TRUNC,
				(struct sockaddr *)&from, &from_len);
	if (n < 0)
		return 0; /* EAGAIN; a UDP socket has no other lasting error */
	if ((size_t)n > sizeof(s->rx))
		return 1; /* larger than any record this socket takes: dropped */
	if (s->server && !server_admit(s, &from, from_len, (size_t)n))
		return 1;
	if (atomic_load(&s->st) != DS_HANDSHAKE && atomic_load(&s->st) != DS_DONE)
		return 1; /* a client that failed or closed reads nothing more */
	s->rx_len = (size_t)n;
	s->rx_off = 0;
	return 1;
}

/*
 * Move the association on without blocking: resend a due flight, open
 * what arrived, up to one application record (which waits in s->app for
 * recv). Returns how many datagrams and records were handled. Lock held.
 */
static int service(struct zs_dtls_sock *s)
{
	uint32_t now = now32();
	int moved = 0, budget = SERVICE_BUDGET;

	if (atomic_load(&s->st) == DS_IDLE && !s->server)
		return 0;
	flush(s, now);
	while (s->app == NULL && budget > 0) {
		if (s->rx_off < s->rx_len) {
			open_record(s, now);
		} else if (take_datagram(s) == 0) {
			break;
		}
		moved++;
		budget--;
	}
	if (budget == 0 && s->io.ivt->poll_wake != NULL)
		s->io.ivt->poll_wake(s->io.inner); /* more queued: let a poller come back */
	deadline_update(s, now);
	return moved;
}

/*
 * Sleep until the transport shows one of events (or closes), until
 * deadline, or until the core's timer, with s->lock released meanwhile.
 * Returns 0, or -ETIMEDOUT once deadline has passed.
 */
static int wait_io(struct zs_dtls_sock *s, int events, int64_t deadline)
{
	int64_t until = atomic_load(&s->tdl);

	if (deadline < until)
		until = deadline;
	zs_secsock_wait(&s->io, &s->lock, &s->closed, events, until);
	return zs_port_now_ms() >= deadline ? -ETIMEDOUT : 0;
}

/* Wait for a client handshake to end. Returns 0 or -errno. Lock held. */
static int handshake_wait(struct zs_dtls_sock *s, int flags, int64_t deadline)
{
	for (;;) {
		int st;

		service(s);
		st = atomic_load(&s->st);
		if (st == DS_DONE)
			return 0;
		if (st == DS_FAILED)
			return s->err;
		if (atomic_load(&s->closed))
			return -EINTR;
		if (!may_block(s, flags))
			return -EAGAIN;
		if (wait_io(s, ZSOCK_POLLIN, deadline) == -ETIMEDOUT) {
			service(s);
			if (atomic_load(&s->st) == DS_DONE)
				return 0;
			if (atomic_load(&s->st) == DS_FAILED)
				return s->err;
			return -EAGAIN;
		}
	}
}

/* ---- poll readiness ------------------------------------------------------------------ */

/* ZSOCK_POLL* bits of s now, given its transport's. Lock held. */
static int compute_ready(struct zs_dtls_sock *s, int iev)
{
	int st = atomic_load(&s->st), ev = 0;

	if (st == DS_FAILED)
		return ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLIN | ZSOCK_POLLOUT;
	if (s->app != NULL || s->eof || s->rd_shut)
		ev |= ZSOCK_POLLIN;
	if (st == DS_DONE && ((iev & ZSOCK_POLLOUT) || s->eof || s->wr_shut))
		ev |= ZSOCK_POLLOUT;
	if (s->eof)
		ev |= ZSOCK_POLLHUP;
	return ev | (iev & ZSOCK_POLLERR);
}

/* Release the lock, first publishing s's readiness; wake its pollers if it changed. */
static void unlock(struct zs_dtls_sock *s)
{
	int ev = compute_ready(s, s->io.ivt->poll_events(s->io.inner));
	int old = atomic_exchange(&s->ready, ev);

	zs_lock_give(&s->lock);
	if (ev != old && s->io.ivt->poll_wake != NULL)
		s->io.ivt->poll_wake(s->io.inner);
}

static int dtls_poll_events(void *obj)
{
	struct zs_dtls_sock *s = obj;
	int iev;

	if (atomic_load(&s->closed))
		return ZS_POLL_CLOSED;
	iev = s->io.ivt->poll_events(s->io.inner);
	if (iev & ZS_POLL_CLOSED)
		return iev;
	if (atomic_load(&s->st) == DS_IDLE && !s->server)
		return iev & (ZSOCK_POLLOUT | ZSOCK_POLLERR); /* as an unconnected UDP socket */
	if (zs_lock_try(&s->lock)) {
		service(s);
		unlock(s);
	}
	return atomic_load(&s->ready);
}

/* ---- connect and the handshake -------------------------------------------------------- */

/* Start a client association with addr. Lock held. Returns 0 or -errno. */
static int client_start(struct zs_dtls_sock *s, const struct sockaddr *addr, socklen_t len)
{
	int rc;

	switch (atomic_load(&s->st)) {
	case DS_DONE:
		return -EISCONN;
	case DS_HANDSHAKE:
		return -EALREADY;
	case DS_FAILED:
		return s->err;
	default:
		break;
	}
	rc = s->io.ivt->connect(s->io.inner, addr, len); /* UDP: fixes the peer, no packet */
	if (rc < 0)
		return rc;
	rc = assoc_init(s);
	if (rc == 0) {
		if (s->opt.cache)
			csess_offer(s);
		rc = zs_dtls_connect(&s->d, now32());
	}
	if (rc < 0) {
		assoc_wipe(s);
		return rc;
	}
	s->resumed = false;
	atomic_store(&s->st, DS_HANDSHAKE);
	return 0;
}

static int dtls_connect(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct zs_dtls_sock *s = obj;
	int rc;

	zs_lock_take(&s->lock);
	/* a server's peer is whoever completes a handshake */
	rc = s->server ? -EOPNOTSUPP : client_start(s, addr, len);
	if (rc == 0 && s->nonblock) {
		/* the first ClientHello goes; the rest is poll's (a fast peer's
		 * answers would otherwise let the whole handshake run in here) */
		uint32_t now = now32();

		flush(s, now);
		deadline_update(s, now);
		rc = atomic_load(&s->st) == DS_FAILED ? s->err : -EINPROGRESS;
	} else if (rc == 0) {
		rc = handshake_wait(s, 0, zs_secsock_deadline(s->sndtimeo_ms));
		if (rc == -EAGAIN) { /* SO_SNDTIMEO passed */
			assoc_end(s, -ETIMEDOUT);
			rc = -ETIMEDOUT;
		}
	}
	unlock(s);
	return rc;
}

/* Before data moves: the association must be up. Lock held. */
static int need_assoc(struct zs_dtls_sock *s, int flags, int32_t timeo_ms)
{
	switch (atomic_load(&s->st)) {
	case DS_DONE:
		return 0;
	case DS_FAILED:
		return s->err;
	case DS_IDLE:
		return -ENOTCONN;
	default:
		return handshake_wait(s, flags, zs_secsock_deadline(timeo_ms));
	}
}

/* ---- data -------------------------------------------------------------------------------- */

/*
 * Wait for the next application record (it is then in s->app). Returns
 * 0, or 1 at the client's EOF, or -errno. A server waits through its
 * clients' handshakes. Lock held.
 */
static int wait_record(struct zs_dtls_sock *s, int flags)
{
	int64_t deadline = zs_secsock_deadline(s->rcvtimeo_ms);

	for (;;) {
		int st = atomic_load(&s->st);

		if (atomic_load(&s->closed))
			return -EINTR;
		if (s->app != NULL)
			return 0;
		if (st == DS_FAILED)
			return s->err;
		if (s->eof || s->rd_shut)
			return 1;
		if (st == DS_IDLE && !s->server)
			return -ENOTCONN;
		if (service(s) > 0)
			continue;
		if (!may_block(s, flags))
			return -EAGAIN;
		if (wait_io(s, ZSOCK_POLLIN, deadline) == -ETIMEDOUT) {
			service(s);
			if (s->app != NULL)
				return 0;
			return -EAGAIN;
		}
	}
}

/* The peer's address, for recvfrom / recvmsg. Lock held. */
static void peer_addr(struct zs_dtls_sock *s, struct sockaddr *to, socklen_t *len)
{
	socklen_t n;

	if (!s->server) {
		s->io.ivt->getpeername(s->io.inner, to, len);
		return;
	}
	n = *len < s->peer_len ? *len : s->peer_len;
	memcpy(to, &s->peer, n);
	*len = s->peer_len;
}

/* The record waited for is read (or peeked): let it go. Lock held. */
static void record_done(struct zs_dtls_sock *s, int flags)
{
	if (flags & ZSOCK_MSG_PEEK)
		return;
	s->app = NULL;
	s->app_len = 0;
	if (s->rx_off >= s->rx_len)
		s->rx_len = s->rx_off = 0;
}

static ssize_t dtls_recvfrom(void *obj, void *buf, size_t len, int flags,
			     struct sockaddr *from, socklen_t *fromlen)
{
	struct zs_dtls_sock *s = obj;
	ssize_t rc;
	size_t n;

	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (from != NULL && fromlen == NULL)
		return -EFAULT;
	zs_lock_take(&s->lock);
	rc = wait_record(s, flags);
	if (rc == 0) {
		n = s->app_len < len ? s->app_len : len;
		if (n > 0) /* buf may be NULL with len 0 */
			memcpy(buf, s->app, n);
		rc = (flags & ZSOCK_MSG_TRUNC) ? (ssize_t)s->app_len : (ssize_t)n;
		if (from != NULL)
			peer_addr(s, from, fromlen);
		record_done(s, flags);
	} else if (rc == 1) {
		rc = 0;
	}
	unlock(s);
	return rc;
}

static ssize_t dtls_recvmsg(void *obj, struct msghdr *msg, int flags)
{
	struct zs_dtls_sock *s = obj;
	size_t i, off = 0;
	ssize_t rc;

	zs_lock_take(&s->lock);
	rc = wait_record(s, flags);
	msg->msg_flags = 0;
	msg->msg_controllen = 0;
	if (rc == 0) {
		for (i = 0; i < (size_t)msg->msg_iovlen && off < s->app_len; i++) {
			size_t n = msg->msg_iov[i].iov_len;

			if (n > s->app_len - off)
				n = s->app_len - off;
			memcpy(msg->msg_iov[i].iov_base, s->app + off, n);
			off += n;
		}
		if (off < s->app_len)
			msg->msg_flags |= ZSOCK_MSG_TRUNC;
		rc = (flags & ZSOCK_MSG_TRUNC) ? (ssize_t)s->app_len : (ssize_t)off;
		if (msg->msg_name != NULL)
			peer_addr(s, msg->msg_name, &msg->msg_namelen);
		else
			msg->msg_namelen = 0;
		record_done(s, flags);
	} else {
		msg->msg_namelen = 0;
		if (rc == 1)
			rc = 0;
	}
	unlock(s);
	return rc;
}

/*
 * Seal the len bytes at data (which may lie in s->tx) as one record and
 * send it as one datagram. Lock held, association up.
 */
static ssize_t send_record(struct zs_dtls_sock *s, const void *data, size_t len, int flags)
{
	int64_t deadline = zs_secsock_deadline(s->sndtimeo_ms);
	int n;

	if (s->wr_shut || s->eof || zs_dtls_state(&s->d) != ZS_DTLS_ESTABLISHED)
		return -EPIPE;
	if (len > APP_MAX)
		return -EMSGSIZE;
	n = zs_dtls_seal(&s->d, data, len, s->tx, sizeof(s->tx));
	if (n == -EAGAIN) { /* our last flight is still going out: it goes first */
		memmove(s->tx + sizeof(s->tx) - len, data, len);
		flush(s, now32());
		n = zs_dtls_seal(&s->d, s->tx + sizeof(s->tx) - len, len, s->tx, sizeof(s->tx));
	}
	if (n < 0)
		return n == -EAGAIN ? -EAGAIN : n;
	for (;;) {
		ssize_t r = put(s, s->tx, (size_t)n);

		if (r >= 0)
			return (ssize_t)len;
		if (r != -EAGAIN && r != -ENOBUFS && r != -ENOMEM)
			return r;
		/* no room in the transport: the record is sealed (its sequence
		 * number spent); wait for room or give it up like a lost one */
		if (atomic_load(&s->closed))
			return -EINTR;
		if (!may_block(s, flags) || wait_io(s, ZSOCK_POLLOUT, deadline) == -ETIMEDOUT)
			return -EAGAIN;
	}
}

/* Before a send: the association, implicit connect of a client. Lock held. */
static int send_ready(struct zs_dtls_sock *s, int flags, const struct sockaddr *to, socklen_t tolen)
{
	int rc;

	/* closed by another thread while this call waited for the lock: it
	 * ends with EINTR, as recv does (wait_record), and seals nothing
	 * (close sent close_notify: the association is over) */
	if (atomic_load(&s->closed))
		return -EINTR;
	if (!s->server && atomic_load(&s->st) == DS_IDLE && to != NULL) {
		rc = client_start(s, to, tolen);
		if (rc < 0)
			return rc;
	}
	rc = need_assoc(s, flags, s->sndtimeo_ms);
	if (rc == -ENOTCONN && !s->server && to == NULL)
		rc = -EDESTADDRREQ;
	return rc;
}

static ssize_t dtls_sendto(void *obj, const void *buf, size_t len, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	struct zs_dtls_sock *s = obj;
	ssize_t rc;

	if (len > SSIZE_MAX)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return -EFAULT;
	zs_lock_take(&s->lock);
	/* once associated, the address is the peer's: any other is ignored,
	 * as on a connected stream (a DTLS record cannot go elsewhere) */
	rc = send_ready(s, flags, to, tolen);
	if (rc == 0) /* an empty record: buf may be NULL */
		rc = send_record(s, len > 0 ? buf : (const void *)"", len, flags);
	unlock(s);
	return rc;
}

static ssize_t dtls_sendmsg(void *obj, const struct msghdr *msg, int flags)
{
	struct zs_dtls_sock *s = obj;
	size_t i, total = 0;
	ssize_t rc;

	for (i = 0; i < (size_t)msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len > APP_MAX - total)
			return -EMSGSIZE;
		total += msg->msg_iov[i].iov_len;
	}
	zs_lock_take(&s->lock);
	rc = send_ready(s, flags, (const struct sockaddr *)msg->msg_name, msg->msg_namelen);
	if (rc == 0) {
		/* gathered at the end of tx: sealing moves it to its place */
		uint8_t *p = s->tx + sizeof(s->tx) - total;
		size_t off = 0;

		for (i = 0; i < (size_t)msg->msg_iovlen; i++) {
			memcpy(p + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
			off += msg->msg_iov[i].iov_len;
		}
		rc = send_record(s, p, total, flags);
	}
	unlock(s);
	return rc;
}

/* ---- the rest of the socket calls --------------------------------------------------------- */

static int dtls_shutdown(void *obj, int how)
{
	struct zs_dtls_sock *s = obj;

	if (how < ZSOCK_SHUT_RD || how > ZSOCK_SHUT_RDWR)
		return -EINVAL;
	zs_lock_take(&s->lock);
	if (atomic_load(&s->st) != DS_DONE) {
		zs_lock_give(&s->lock);
		return -ENOTCONN;
	}
	if (how != ZSOCK_SHUT_RD && !s->wr_shut) {
		if (zs_dtls_state(&s->d) == ZS_DTLS_ESTABLISHED) {
			zs_dtls_close(&s->d); /* close_notify */
			flush(s, now32());
		}
		s->wr_shut = true;
	}
	if (how != ZSOCK_SHUT_WR)
		s->rd_shut = true;
	unlock(s);
	return 0;
}

static int dtls_close(void *obj)
{
	struct zs_dtls_sock *s = obj;
	int rc;

	zs_lock_take(&s->lock);
	if (atomic_load(&s->st) == DS_DONE && !s->wr_shut &&
	    zs_dtls_state(&s->d) == ZS_DTLS_ESTABLISHED) {
		zs_dtls_close(&s->d); /* close_notify, if the transport takes it now */
		flush(s, now32());
	}
	atomic_store(&s->closed, true);
	atomic_store(&s->tdl, ZS_FOREVER);
	zs_lock_give(&s->lock);
	rc = s->io.ivt->close(s->io.inner); /* wakes whoever waits on it */
	dtls_unref(s);
	return rc;
}

/* A uint32_t option value (TLS_DTLS_HANDSHAKE_TIMEOUT_*; an int is taken too). */
static int get_u32(const void *val, socklen_t len, uint32_t *out)
{
	if (len != sizeof(uint32_t))
		return -EINVAL;
	memcpy(out, val, sizeof(*out));
	return 0;
}

/* Where s keeps its lists, for zs_secopt_set and _get. */
static void lists_of(struct zs_dtls_sock *s, struct zs_secopt_lists *l)
{
	l->suites = s->suites;
	l->suites_max = ZS_DTLS_MAX_SUITES;
	l->suite_known = suite_known;
	l->suites_all = core_suites;
	l->n_suites_all = ZS_DTLS_MAX_SUITES;
	l->alpn = s->alpn;
	l->alpn_max = ZS_DTLS_MAX_ALPN < CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS ?
		      ZS_DTLS_MAX_ALPN : CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS;
}

/* SOL_TLS, lock held (zs_secsock_edge's set_tls). */
static int set_opt(void *obj, int name, const void *val, socklen_t len)
{
	struct zs_dtls_sock *s = obj;
	struct zs_secopt_lists l;
	uint32_t u;
	int v, rc;

	lists_of(s, &l);
	switch (name) {
	case TLS_DTLS_ROLE:
		rc = zs_optval_get_int(val, len, &v);
		if (rc < 0)
			return rc;
		if (v != TLS_DTLS_ROLE_CLIENT && v != TLS_DTLS_ROLE_SERVER)
			return -EINVAL;
		if (atomic_load(&s->st) != DS_IDLE)
			return -EISCONN;
		s->server = v == TLS_DTLS_ROLE_SERVER;
		return 0;
	case TLS_DTLS_HANDSHAKE_TIMEOUT_MIN:
	case TLS_DTLS_HANDSHAKE_TIMEOUT_MAX:
		rc = get_u32(val, len, &u);
		if (rc < 0)
			return rc;
		if (u == 0 || u > INT32_MAX)
			return -EINVAL;
		if (name == TLS_DTLS_HANDSHAKE_TIMEOUT_MIN)
			s->tmo_min = u;
		else
			s->tmo_max = u;
		return 0;
	case TLS_SESSION_CACHE_PURGE:
		caches_purge();
		return 0;
	case TLS_CIPHERSUITE_USED:
	case ZSOCK_TLS_SESSION_RESUMED:
	case ZSOCK_TLS_ALPN_USED:
	case ZSOCK_TLS_VERIFY_RESULT:
		return -EINVAL; /* read only */
	default:
		return zs_secopt_set(&s->opt, &l, name, val, len);
	}
}

/* The handshake timer's bound as set, or the core's default. */
static uint32_t tmo_of(const struct zs_dtls_sock *s, int name)
{
	if (name == TLS_DTLS_HANDSHAKE_TIMEOUT_MIN)
		return s->tmo_min != 0 ? s->tmo_min : 1000;
	return s->tmo_max != 0 ? s->tmo_max : 60000;
}

/* SOL_TLS, lock held (zs_secsock_edge's get_tls). */
static int get_opt(void *obj, int name, void *val, socklen_t *len)
{
	struct zs_dtls_sock *s = obj;
	struct zs_secopt_lists l;
	int st = atomic_load(&s->st);
	size_t n;
	uint32_t u;

	lists_of(s, &l);
	switch (name) {
	case TLS_CIPHERSUITE_USED:
		if (st != DS_DONE)
			return -ENOTCONN;
		return zs_optval_put_int(val, len, zs_dtls_suite(&s->d));
	case TLS_DTLS_ROLE:
		return zs_optval_put_int(val, len, s->server ? TLS_DTLS_ROLE_SERVER : TLS_DTLS_ROLE_CLIENT);
	case TLS_DTLS_HANDSHAKE_TIMEOUT_MIN:
	case TLS_DTLS_HANDSHAKE_TIMEOUT_MAX:
		if (*len < (socklen_t)sizeof(uint32_t))
			return -EINVAL;
		u = tmo_of(s, name);
		memcpy(val, &u, sizeof(u));
		*len = sizeof(u);
		return 0;
	case ZSOCK_TLS_SESSION_RESUMED:
		if (st != DS_DONE)
			return -ENOTCONN;
		return zs_optval_put_int(val, len, s->resumed);
	case ZSOCK_TLS_ALPN_USED: {
		const char *p;

		if (st != DS_DONE)
			return -ENOTCONN;
		p = zs_dtls_alpn(&s->d);
		if (p == NULL)
			p = "";
		n = strlen(p) + 1;
		if (*len < n)
			return -EINVAL;
		memcpy(val, p, n);
		*len = (socklen_t)n;
		return 0;
	}
	case ZSOCK_TLS_VERIFY_RESULT:
		return zs_optval_put_int(val, len, st == DS_HANDSHAKE || st == DS_DONE ?
					 zs_dtls_verify_result(&s->d) : -1);
	case TLS_SESSION_CACHE_PURGE:
		return -EINVAL; /* write only */
	default:
		return zs_secopt_get(&s->opt, &l, s->server, name, val, len);
	}
}

static void edge_of(struct zs_dtls_sock *s, struct zs_secsock_edge *e)
{
	*e = (struct zs_secsock_edge){
		.obj = s,
		.set_tls = set_opt,
		.get_tls = get_opt,
		.proto = IPPROTO_DTLS_1_2,
		.io = s->io,
		.lock = &s->lock,
		.rcvtimeo_ms = &s->rcvtimeo_ms,
		.sndtimeo_ms = &s->sndtimeo_ms,
		.st = &s->st,
		.failed = DS_FAILED,
		.err = &s->err,
		.err_reported = &s->err_reported,
	};
}

static int dtls_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	struct zs_secsock_edge e;

	edge_of(obj, &e);
	return zs_secsock_setsockopt(&e, level, name, val, len);
}

static int dtls_getsockopt(void *obj, int level, int name, void *val, socklen_t *len)
{
	struct zs_secsock_edge e;

	edge_of(obj, &e);
	return zs_secsock_getsockopt(&e, level, name, val, len);
}

static int dtls_getpeername(void *obj, struct sockaddr *addr, socklen_t *len)
{
	struct zs_dtls_sock *s = obj;
	int rc = 0;

	if (!s->server)
		return zs_secsock_getpeername(s, addr, len);
	zs_lock_take(&s->lock);
	if (atomic_load(&s->st) != DS_DONE) /* a client is in once its handshake is */
		rc = -ENOTCONN;
	else
		peer_addr(s, addr, len);
	zs_lock_give(&s->lock);
	return rc;
}

static int dtls_fcntl(void *obj, int cmd, int flags)
{
	struct zs_dtls_sock *s = obj;

	return zs_secsock_fcntl(&s->io, &s->lock, &s->nonblock, cmd, flags);
}

static int dtls_ioctl(void *obj, unsigned long request, void *arg)
{
	struct zs_dtls_sock *s = obj;
	int n = 0;

	switch (request) {
	case FIONREAD: /* the next record's size, as UDP gives the next datagram's */
		zs_lock_take(&s->lock);
		service(s);
		if (s->app != NULL)
			n = (int)s->app_len;
		unlock(s);
		memcpy(arg, &n, sizeof(n));
		return 0;
	case FIONBIO:
		memcpy(&n, arg, sizeof(n));
		return dtls_fcntl(obj, F_SETFL, n ? O_NONBLOCK : 0);
	default:
		return -EINVAL;
	}
}

static const struct zs_fd_vtable dtls_vtable = {
	.ref = dtls_ref,
	.unref = dtls_unref,
	.close = dtls_close,
	.bind = zs_secsock_bind,
	.connect = dtls_connect,
	/* listen, accept: EOPNOTSUPP, as on UDP */
	.sendto = dtls_sendto,
	.recvfrom = dtls_recvfrom,
	.shutdown = dtls_shutdown,
	.getsockopt = dtls_getsockopt,
	.setsockopt = dtls_setsockopt,
	.getsockname = zs_secsock_getsockname,
	.getpeername = dtls_getpeername,
	.fcntl = dtls_fcntl,
	.sendmsg = dtls_sendmsg,
	.recvmsg = dtls_recvmsg,
	.ioctl = dtls_ioctl,
	/* recv_buf, send_buf: the zero-copy API is the engine's own sockets' */
	.poll_events = dtls_poll_events,
	.poll_link = zs_secsock_poll_link,
	.poll_unlink = zs_secsock_poll_unlink,
	.poll_wake = zs_secsock_poll_wake,
};

/* ---- creation ----------------------------------------------------------------------------- */

int zs_dtls_sock_create(int family, int type)
{
	const struct zs_fd_vtable *ivt;
	struct zs_dtls_sock *s;
	void *inner;
	int fd;

	dtls_init();
	if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_DGRAM)
		return -EPROTOTYPE;
	if (seed_err < 0)
		return seed_err;
	s = slot_alloc();
	if (s == NULL)
		return -ENOMEM;
	fd = zs_sock_create(family, type, IPPROTO_UDP);
	if (fd < 0) {
		dtls_unref(s);
		return fd;
	}
	inner = zs_fd_detach(fd, &ivt); /* the number stays reserved for s */
	if (inner == NULL) { /* closed by a thread guessing numbers */
		dtls_unref(s);
		return -EBADF;
	}
	ivt->ref(inner); /* ours; the table's goes with close() */
	zs_lock_take(&pool_lock);
	s->io.inner = inner;
	s->io.ivt = ivt;
	zs_lock_give(&pool_lock);
	s->family = family;
	s->nonblock = (type & SOCK_NONBLOCK) != 0;
	zs_fd_finalize(fd, s, &dtls_vtable);
	return fd;
}
