/*
 * The DTLS 1.2 / TLS-PSK protocol core: records, handshake, timers, with no
 * socket, clock, heap or sleep of its own.
 *
 * BearSSL has neither DTLS nor PSK suites; this core builds them on its
 * constant-time primitives (TLS 1.2 PRF, HMAC-SHA256, SHA-256, AES-CCM and
 * AES-GCM over br_aes_ct). It knows nothing about the transport:
 *
 *   received datagram --> zs_dtls_input()  --> application bytes (in place)
 *   zs_dtls_output()  --> datagram to send     (handshake flights, alerts)
 *   zs_dtls_seal()    --> datagram to send     (application data)
 *   zs_dtls_deadline() : when to call zs_dtls_output() again if nothing
 *                        arrives (the retransmission timer)
 *
 * Time is the caller's: every call that may start or test a timer takes
 * `now`, a millisecond counter that may wrap (deadlines compare modulo 2^32).
 * No function blocks, allocates or reads a clock. All state lives in a
 * struct zs_dtls the caller provides; its size is fixed at build time
 * (zs_dtls_ctx_size(); ZS_DTLS_REASM_SIZE and ZS_DTLS_FLIGHT_SIZE below are
 * the two buffers in it).
 *
 * A server answers a ClientHello without a valid cookie with
 * zs_dtls_cookie_answer(), from the datagram alone and with no state
 * (RFC 6347 s4.2.1); only a ClientHello that passes it is worth a context.
 *
 * Modes: DTLS 1.2 over datagrams (RFC 6347), and TLS 1.2 over a stream
 * (RFC 5246: 5-byte record header, implicit sequence numbers, 4-byte
 * handshake headers, no cookie, no retransmission, every error fatal)
 * sharing the AEAD, key schedule and handshake code.
 *
 * Suites: PSK (RFC 4279) and ECDHE_ECDSA on P-256 (RFC 8422), each with
 * AES-128-CCM_8 (RFC 6655, 7251) or AES-128-GCM (RFC 5288, 5289). No
 * renegotiation (an empty renegotiation_info is sent and answered,
 * RFC 5746), no extended master secret, no client certificates (a
 * CertificateRequest gets an empty Certificate). ALPN (RFC 7301) in both
 * roles, every handshake (a resumed one too): the server's order decides,
 * nothing in common is a fatal no_application_protocol (zs_dtls_alpn).
 *
 * Session resumption by session ID (RFC 5246 s7.3, the abbreviated
 * handshake; its DTLS flights in RFC 6347 s4.2.4 Figure 2), no tickets.
 * A server resumes from a struct zs_dtls_cache the caller owns and shares
 * among its contexts (ZS_DTLS_SESSION_SLOTS slots of 120 bytes, LRU: 964
 * bytes with the default 8); a client offers a struct zs_dtls_session
 * (116 bytes) it exported from an earlier association
 * (zs_dtls_session_get/set, zs_dtls_resumed). Resumption adds 64 bytes to
 * struct zs_dtls on Cortex-M3, 72 on x86-64. No extended master secret
 * (RFC 7627): OpenSSL 3.0 resumes sessions without it in both roles
 * (it insists on it only for a session that was made with it).
 *
 * Not thread-safe: one context, one caller at a time (the socket layer
 * holds its lock around these calls).
 */
#ifndef ZSOCK_TLS_DTLS_H
#define ZSOCK_TLS_DTLS_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- build constants ---------------------------------------------------- */
/* They shape struct zs_dtls: set them for the whole build (every file that
 * includes this header), never per file. */

/* Largest handshake message this side accepts (body + 12-byte header); a
 * bigger one ends the handshake with a fatal alert. Costs this many bytes
 * plus one bit per byte for the fragment map. PSK messages are under 300
 * bytes (512 is enough for PSK only); the peer's Certificate message (the
 * whole chain) needs more: a P-256 leaf and intermediate take about 1100. */
#ifndef ZS_DTLS_REASM_SIZE
#define ZS_DTLS_REASM_SIZE 2048
#endif

/* Room for this side's last flight, kept for retransmission (messages with
 * their 12-byte headers, unfragmented). The PSK flights take under 200; an
 * ECDHE_ECDSA server's holds its chain plus about 260 bytes. */
#ifndef ZS_DTLS_FLIGHT_SIZE
#define ZS_DTLS_FLIGHT_SIZE 2048
#endif

/* Largest PSK and identity (RFC 4279 s5.3: at least 64 bytes of key and
 * 128 of identity must be supported). */
#ifndef ZS_DTLS_PSK_MAX
#define ZS_DTLS_PSK_MAX 64
#endif
#ifndef ZS_DTLS_PSK_ID_MAX
#define ZS_DTLS_PSK_ID_MAX 128
#endif

/* During the handshake, this many handshake records of the new epoch that
 * fail authentication end it with bad_record_mac (see zs_dtls_input()).
 * 1 would let one damaged datagram kill a handshake; 2 means the peer's
 * retransmitted Finished failed too, i.e. the keys differ. */
#ifndef ZS_DTLS_HS_BADMAC_LIMIT
#define ZS_DTLS_HS_BADMAC_LIMIT 2
#endif

/* Cipher suites offered or accepted, at most. */
#define ZS_DTLS_MAX_SUITES 4

/* ALPN protocol names (RFC 7301) offered or accepted, at most. */
#define ZS_DTLS_MAX_ALPN 4

/* Sessions a struct zs_dtls_cache holds (server side of resumption);
 * each slot costs sizeof(struct zs_dtls_session) + 4 = 120 bytes, the
 * cache 4 more in all. */
#ifndef ZS_DTLS_SESSION_SLOTS
#define ZS_DTLS_SESSION_SLOTS 8
#endif

/* ---- constants ---------------------------------------------------------- */

#define ZS_DTLS_PSK_WITH_AES_128_CCM_8       0xC0A8 /* RFC 6655 */
#define ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256  0x00A8 /* RFC 5487 */
#define ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 0xC0AE         /* RFC 7251 */
#define ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 0xC02B    /* RFC 5289 */

#define ZS_DTLS_HDR 13          /* DTLS record header, RFC 6347 s4.1 */
#define ZS_TLS_HDR 5            /* TLS record header, RFC 5246 s6.2.1 */
#define ZS_DTLS_AEAD_EXPLICIT 8 /* explicit nonce part, RFC 5288 s3 */
/* Worst-case bytes a sealed record adds to its plaintext (DTLS header,
 * explicit nonce, a 16-byte GCM tag). */
#define ZS_DTLS_RECORD_OVERHEAD (ZS_DTLS_HDR + ZS_DTLS_AEAD_EXPLICIT + 16)

/* Alert descriptions (RFC 5246 s7.2, RFC 4279 s2). */
enum {
	ZS_ALERT_CLOSE_NOTIFY = 0,
	ZS_ALERT_UNEXPECTED_MESSAGE = 10,
	ZS_ALERT_BAD_RECORD_MAC = 20,
	ZS_ALERT_RECORD_OVERFLOW = 22,
	ZS_ALERT_HANDSHAKE_FAILURE = 40,
	ZS_ALERT_BAD_CERTIFICATE = 42,
	ZS_ALERT_ILLEGAL_PARAMETER = 47,
	ZS_ALERT_DECODE_ERROR = 50,
	ZS_ALERT_DECRYPT_ERROR = 51,
	ZS_ALERT_PROTOCOL_VERSION = 70,
	ZS_ALERT_INTERNAL_ERROR = 80,
	ZS_ALERT_UNSUPPORTED_EXTENSION = 110,
	ZS_ALERT_UNKNOWN_PSK_IDENTITY = 115,
	ZS_ALERT_NO_APPLICATION_PROTOCOL = 120, /* RFC 7301 s3.2 */
};

enum zs_dtls_state {
	ZS_DTLS_IDLE,        /* initialised, handshake not started */
	ZS_DTLS_HANDSHAKE,   /* under way */
	ZS_DTLS_ESTABLISHED, /* application data flows */
	ZS_DTLS_CLOSED,      /* close_notify sent or received */
	ZS_DTLS_FAILED,      /* zs_dtls_error() says why */
};

/* ---- configuration ------------------------------------------------------ */

/**
 * Server side: find the PSK for identity id[0..id_len). Copy it into
 * psk[0..psk_max) and return its length (1..psk_max), or return a negative
 * number when the identity is unknown (the handshake then ends with an
 * unknown_psk_identity alert, RFC 4279 s2). Called once per handshake,
 * from zs_dtls_input(); it MUST NOT block or call back into the core.
 */
typedef int (*zs_dtls_psk_lookup_fn)(void *arg, const uint8_t *id,
				     size_t id_len, uint8_t *psk,
				     size_t psk_max);

/** Fill buf[0..len) with random bytes (a seeded DRBG is fine). */
typedef void (*zs_dtls_rand_fn)(void *arg, void *buf, size_t len);

/* ---- sessions (RFC 5246 s7.3, resumption by session ID) ----------------- */

#define ZS_DTLS_SESSION_VERIFIED 1 /* ECDHE client: the chain was checked */
#define ZS_DTLS_SESSION_STREAM 2   /* made over TLS, not DTLS */

/**
 * What an abbreviated handshake needs of an earlier association. It holds
 * the master secret: keep it as secret as a key, and wipe it when done.
 * Plain bytes: the caller may copy, store and compare it as it likes.
 */
struct zs_dtls_session {
	uint8_t id[32];
	uint8_t id_len;   /* 1..32; 0: no session */
	uint8_t flags;    /* ZS_DTLS_SESSION_* */
	uint16_t suite;
	uint8_t master[48];
	/* who the peer was: PSK suites, SHA-256 of the PSK identity; an
	 * ECDHE_ECDSA client, SHA-256 of the server's public key (the leaf's
	 * uncompressed P-256 point); an ECDHE_ECDSA server, zeroes */
	uint8_t peer[32];
};

/**
 * A server's session cache: ZS_DTLS_SESSION_SLOTS sessions, the least
 * recently used replaced first. The caller owns it (static or in the
 * listener, all zeroes or zs_dtls_cache_init() to start) and names it in
 * the config of every server context that shares it. The core reads it in
 * zs_dtls_input() when a ClientHello offers a session ID, and writes it
 * there when a handshake completes or a resumed one fails: calls on
 * contexts that share a cache MUST NOT run concurrently (the socket layer
 * holds one lock over them, or one per cache). A resumption proves the
 * client holds the session's master secret, not its PSK: after revoking a
 * PSK or changing the server's suites or chain, empty the cache too.
 */
struct zs_dtls_cache {
	struct zs_dtls_cache_slot {
		struct zs_dtls_session s;
		uint32_t stamp;       /* LRU: higher is more recent */
	} slot[ZS_DTLS_SESSION_SLOTS];
	uint32_t clock;
};

/**
 * What zs_dtls_init() reads. Every pointer is read during zs_dtls_init()
 * only, except psk_lookup / rand and their args, which the context calls
 * later, cache and alpn: those MUST stay valid for the context's life.
 */
struct zs_dtls_config {
	bool server;
	/* client: suites offered, in this order; server: accepted, the first
	 * of this list the client offers wins. 1..ZS_DTLS_MAX_SUITES entries;
	 * none (n_suites 0): all that the rest of cfg allows (zs_dtls_init) */
	const uint16_t *suites;
	size_t n_suites;
	/* client: the PSK and its identity (copied) */
	const uint8_t *psk;
	size_t psk_len;
	const uint8_t *psk_id;
	size_t psk_id_len;
	/* server: optional identity hint sent in ServerKeyExchange (copied;
	 * at most ZS_DTLS_PSK_ID_MAX), and the lookup */
	const uint8_t *psk_hint;
	size_t psk_hint_len;
	zs_dtls_psk_lookup_fn psk_lookup;
	void *psk_arg;
	zs_dtls_rand_fn rand;
	void *rand_arg;
	/* ECDHE_ECDSA, client: the server's chain is checked against these
	 * trust anchors with BearSSL's minimal X.509 engine at the given
	 * time (days since 0000-01-01 and seconds in the day, as
	 * br_x509_minimal_set_time(): the core reads no clock), and its name
	 * against server_name when not NULL. verify_none: take the leaf's key
	 * unchecked (tests, TLS_PEER_VERIFY_NONE). All kept by pointer: they
	 * MUST stay valid until the handshake ends. */
	const br_x509_trust_anchor *tas;
	size_t n_tas;
	uint32_t x509_days, x509_seconds;
	const char *server_name;
	bool verify_none;
	/* ECDHE_ECDSA client: check the chain as with tas, but on failure
	 * record the verdict (zs_dtls_verify_result) and go on with the
	 * leaf's key (TLS_PEER_VERIFY_OPTIONAL). verify_none wins over it.
	 * Allowed without trust anchors (every chain then fails, 62). */
	bool verify_optional;
	/* ALPN (RFC 7301): protocol names, NUL-terminated, 1..255 bytes
	 * each, at most ZS_DTLS_MAX_ALPN; client: offered in this order;
	 * server: its preference, the first of this list the client offers
	 * wins (none in common: a fatal no_application_protocol alert).
	 * Kept by pointer (array and strings): they MUST stay valid for the
	 * context's life. n_alpn 0: no ALPN (a server ignores the client's). */
	const char *const *alpn;
	size_t n_alpn;
	/* ECDHE_ECDSA, server: its chain (end entity first) and P-256 key,
	 * kept by pointer likewise */
	const br_x509_certificate *chain;
	size_t chain_len;
	const br_ec_private_key *ec_key;
	/* server: the session cache shared with other contexts (kept by
	 * pointer: it MUST outlive the context), NULL: no resumption and an
	 * empty session ID in ServerHello */
	struct zs_dtls_cache *cache;
	/* largest datagram to send, bytes (0: 1200); at least 64 */
	uint16_t mtu;
	/* retransmission timer, RFC 6347 s4.2.4.1: starts at min, doubles on
	 * each expiry; the handshake fails (-ETIMEDOUT) when it would exceed
	 * max. 0: 1000 and 60000 (the RFC's values). */
	uint32_t timeout_min_ms;
	uint32_t timeout_max_ms;
};

/* ---- the context (fields private: read them through the functions) ---- */

/* One direction's record protection: AES-128 in CCM_8 or GCM mode. */
struct zs_dtls_cipher {
	uint16_t suite;      /* 0: none (epoch 0, plaintext) */
	uint8_t salt[4];     /* implicit nonce part, RFC 5288 s3 */
	union {
		br_aes_ct_ctrcbc_keys ccm;
		br_aes_ct_ctr_keys gcm;
	} aes;
};

/* RFC 6347 s4.1.2.6: the highest sequence number seen and a bit per one of
 * the 64 below it (bit i: top - i was received). */
struct zs_dtls_window {
	uint64_t top;
	uint64_t bits;  /* 0: nothing received yet */
};

struct zs_dtls_stats {
	uint32_t rx_records;     /* records accepted */
	uint32_t rx_dropped;     /* malformed, wrong epoch, undecryptable */
	uint32_t rx_replayed;    /* dropped by the replay window */
	uint32_t rx_bad_mac;     /* of which failed authentication */
	uint32_t tx_records;
	uint32_t retransmits;    /* flights resent (timer or peer's repeat) */
};

/* A message of the last flight, in d->flight. */
struct zs_dtls_flight_msg {
	uint16_t off;   /* in flight[]: 12-byte header + body; CCS: unused */
	uint16_t len;   /* header + body; 0 for a ChangeCipherSpec */
	uint8_t epoch;  /* epoch to send it in */
};
#define ZS_DTLS_FLIGHT_MSGS 6

struct zs_dtls {
	/* configuration (copied) */
	bool server;
	bool stream;
	uint16_t suites[ZS_DTLS_MAX_SUITES];
	uint8_t n_suites;
	uint16_t mtu;
	uint32_t tmo_min, tmo_max;
	uint8_t psk[ZS_DTLS_PSK_MAX];
	uint8_t psk_len;
	uint8_t psk_id[ZS_DTLS_PSK_ID_MAX];
	uint8_t psk_id_len;    /* client: own identity; server: the hint */
	zs_dtls_psk_lookup_fn psk_lookup;
	void *psk_arg;
	zs_dtls_rand_fn rand;
	void *rand_arg;
	const br_x509_trust_anchor *tas;
	size_t n_tas;
	uint32_t x509_days, x509_seconds;
	const char *server_name;
	bool verify_none;
	bool verify_optional;            /* never with verify_none */
	uint8_t n_alpn;
	uint8_t alpn_sel;                /* index into alpn[]; 255 none */
	int8_t verify_res;               /* zs_dtls_verify_result() */
	const char *const *alpn;
	const br_x509_certificate *chain;
	size_t chain_len;
	const br_ec_private_key *ec_key;
	struct zs_dtls_cache *cache;

	/* state */
	uint8_t state;         /* enum zs_dtls_state */
	uint8_t hs_step;       /* dtls_hs.c: what is expected next */
	int err;               /* sticky negative errno once FAILED */
	uint8_t alert_sent, alert_rcvd;  /* descriptions; 255 none */
	uint8_t pending_alert;           /* to send; 255 none */
	uint8_t hs_badmac;               /* see ZS_DTLS_HS_BADMAC_LIMIT */
	uint16_t suite;        /* negotiated, 0 before ServerHello */

	/* record layer (RFC 6347 s4.1) */
	uint16_t w_epoch;                /* epoch of alerts and data sent */
	uint16_t r_epoch_max;            /* highest read epoch keyed */
	uint64_t w_seq[2];               /* next sequence number per epoch */
	uint64_t r_seq_stream;           /* stream mode: implicit read seq */
	struct zs_dtls_window win[2];    /* per epoch; epoch 0's unused */
	struct zs_dtls_cipher wc, rc;    /* epoch-1 keys, write and read */

	/* handshake (RFC 6347 s4.2) */
	uint8_t client_random[32], server_random[32];
	uint8_t master[48];
	br_sha256_context transcript;    /* RFC 5246 s7.4.9 */
	uint8_t ec_priv[32];             /* ECDHE: our ephemeral scalar */
	uint8_t peer_key[65];            /* client: the server's P-256 key */
	bool cert_request;               /* client: send an empty Certificate */
	/* the session (RFC 5246 s7.3): its ID (client: offered, then the one
	 * ServerHello gave; server: the one it gave), the peer digest and
	 * flags of struct zs_dtls_session; its master secret is master[],
	 * kept after the handshake when the ID is not empty. sess_offered:
	 * client, master[] holds the offered session's secret */
	uint8_t sess_id[32];
	uint8_t sess_id_len;
	uint8_t sess_flags;
	uint8_t peer_digest[32];
	uint16_t sess_suite;             /* client: the offered one's */
	bool sess_offered;
	bool resumed;                    /* the abbreviated handshake ran */
	uint8_t cookie[255];
	uint8_t cookie_len;
	uint16_t tx_msg_seq;             /* next message_seq to send */
	uint16_t rx_msg_seq;             /* next message_seq expected */
	uint16_t rx_flight_seq;          /* rx_msg_seq when our flight began:
					  * older ones mean it was lost */
	/* reassembly of the message rx_msg_seq: reasm holds its 12-byte header
	 * (fragment fields rewritten to 0 / length) and body; reasm_map has
	 * one bit per body byte received. reasm_len 0: nothing yet.
	 * Invariant: reasm_len <= ZS_DTLS_REASM_SIZE - 12. */
	uint8_t reasm[ZS_DTLS_REASM_SIZE];
	uint8_t reasm_map[(ZS_DTLS_REASM_SIZE + 7) / 8];
	uint32_t reasm_len;              /* body length of the message */
	uint32_t sbuf_len;               /* stream mode: bytes at reasm + 8 */
	uint8_t reasm_epoch;             /* all its fragments came in it */
	bool reasm_active;
	bool reasm_conflict;             /* a fragment disagreed on type, len */

	/* this side's last flight and the send cursor over it */
	uint8_t flight[ZS_DTLS_FLIGHT_SIZE];
	uint16_t flight_used;
	struct zs_dtls_flight_msg fmsg[ZS_DTLS_FLIGHT_MSGS];
	uint8_t n_fmsg;
	uint8_t cur_msg;                 /* next message to put in a datagram */
	uint16_t cur_off;                /* body offset in it */
	bool sending;                    /* cursor not at the end */
	bool timer_on;                   /* retransmission timer armed */
	bool last_flight;                /* ours ends the handshake: no timer */
	uint32_t deadline;
	uint32_t tmo_cur;

	struct zs_dtls_stats stats;
};

/* ---- functions ---------------------------------------------------------- */

/**
 * sizeof(struct zs_dtls): the RAM one association takes, all of it. With
 * the defaults (2048-byte reassembly and flight buffers) 5976 bytes on
 * Cortex-M3 and 6048 on x86-64 (64 / 72 of them for resumption; 8 / 8 for
 * ALPN and verify_optional: the list's pointer, its length, the selected
 * index and the verdict, the last three in padding); PSK only with both
 * at 512: 2712 / 2784.
 * Stack on top, per call: under 0.5 KiB for PSK; the ECDHE_ECDSA chain
 * check holds BearSSL's X.509 context (a 3.1 KiB frame) and ECDSA signing
 * about 1 KiB more.
 */
size_t zs_dtls_ctx_size(void);

/**
 * Set up d (caller-owned, any alignment the C type has) from cfg.
 * stream: TLS 1.2 over a byte stream instead of DTLS (see the top).
 * Suites: cfg's list must be doable with cfg (a PSK suite needs a PSK on a
 * client and a lookup on a server; an ECDHE_ECDSA one trust anchors or
 * verify_none on a client, a chain and a P-256 key on a server); with no
 * list, every suite cfg allows, PSK first, CCM_8 before GCM.
 * Returns 0, or -EINVAL (a PSK or identity too long, no rand, an unknown or
 * undoable suite, no suite at all, mtu below 64, min timeout above max,
 * more than ZS_DTLS_MAX_ALPN names or one empty, NULL or over 255 bytes).
 */
int zs_dtls_init(struct zs_dtls *d, const struct zs_dtls_config *cfg,
		 bool stream);

/**
 * Client: start the handshake (queues the first ClientHello; take it with
 * zs_dtls_output()). A server starts on the first zs_dtls_input().
 * Returns 0, -EINVAL on a server, -EALREADY if started.
 */
int zs_dtls_connect(struct zs_dtls *d, uint32_t now);

/**
 * Feed received bytes. Datagram mode: buf holds one whole datagram; the
 * records in it are processed one per call: the return value is how many
 * bytes of buf this call consumed (call again with buf + n while n < len).
 * Stream mode: buf holds the start of the received stream; returns 0 when
 * it does not yet hold a whole record (read more), else the record's size.
 * A DTLS server context takes the first ClientHello it is given as is: the
 * caller has passed it through zs_dtls_cookie_answer() first.
 *
 * Application data is decrypted in place: when the consumed record carried
 * some, *app points into buf and *app_len is its length (else *app is NULL
 * and *app_len 0); buf MUST stay put while the caller uses it. Each record
 * is delivered at most once (the replay window).
 *
 * Invalid, replayed or undecryptable records are dropped and counted
 * (RFC 6347 s4.1.2.7), except one deviation: during the handshake,
 * ZS_DTLS_HS_BADMAC_LIMIT handshake records of the new epoch (the peer's
 * Finished and its retransmission) that fail authentication are fatal
 * (bad_record_mac), so that a wrong PSK ends both sides after one
 * retransmission instead of at the timer's maximum. (A forger gains
 * nothing new: an unauthenticated fatal alert ends a DTLS 1.2 handshake
 * just as well.)
 *
 * A close_notify from the peer sets the state to CLOSED (the caller's EOF);
 * records after it are dropped.
 *
 * Returns bytes consumed, or a negative errno: -ECONNRESET a fatal alert
 * came (zs_dtls_alert_received()), -ECONNABORTED this side failed the
 * handshake and queued a fatal alert (take it with zs_dtls_output());
 * -EMSGSIZE likewise, for a handshake message longer than
 * ZS_DTLS_REASM_SIZE allows (handshake_failure); later calls on a FAILED
 * context return its sticky error (zs_dtls_error()). Never blocks.
 */
int zs_dtls_input(struct zs_dtls *d, uint8_t *buf, size_t len, uint32_t now,
		  uint8_t **app, size_t *app_len);

/**
 * Take the next datagram (stream mode: record bytes) to send: handshake
 * flights, their retransmissions when the timer at zs_dtls_deadline() has
 * passed, alerts. Writes at most min(cap, mtu) bytes into out (caller-owned;
 * stream mode: cap, records of up to 16 KiB) and returns how many; 0:
 * nothing to send now. Call until it returns 0
 * after every zs_dtls_input(), zs_dtls_close() and deadline.
 * Returns -ETIMEDOUT when the retransmission timer ran past its maximum
 * (the context is FAILED), -ENOBUFS when cap cannot hold one record.
 */
int zs_dtls_output(struct zs_dtls *d, uint8_t *out, size_t cap, uint32_t now);

/**
 * When the caller should call zs_dtls_output() even if nothing arrives.
 * Returns true and sets *at (an absolute time on the caller's clock), or
 * false: no timer runs (also while output is pending: call
 * zs_dtls_output() now). A stream never runs one.
 */
bool zs_dtls_deadline(const struct zs_dtls *d, uint32_t *at);

/**
 * Seal data[0..len) as one application-data record into out[0..cap).
 * Returns the record length (len + up to ZS_DTLS_RECORD_OVERHEAD), or
 * -ENOTCONN (handshake not done, or closed), -EMSGSIZE (len above 16384,
 * RFC 5246 s6.2.1), -ENOBUFS (cap too small), -EAGAIN (handshake output
 * is still waiting: send what zs_dtls_output() gives first, so that the
 * data cannot overtake this side's Finished), -EOVERFLOW (2^48 - 1 records
 * sealed in the epoch: RFC 6347 s4.1 forbids wrapping; close and start a
 * new association). data may lie inside out (it is moved, not copied).
 * Datagram mode: one record is one datagram; keeping it under the path MTU
 * is the caller's business (ZS_DTLS_RECORD_OVERHEAD tells the cost).
 */
int zs_dtls_seal(struct zs_dtls *d, const void *data, size_t len, uint8_t *out,
		 size_t cap);

/** Queue a close_notify (take it with zs_dtls_output()); state CLOSED. */
void zs_dtls_close(struct zs_dtls *d);

/** Where the association is (enum zs_dtls_state). */
enum zs_dtls_state zs_dtls_state(const struct zs_dtls *d);
/** Negotiated suite (IANA number), 0 before ServerHello. */
uint16_t zs_dtls_suite(const struct zs_dtls *d);
/** Sticky negative errno of a FAILED context, else 0. */
int zs_dtls_error(const struct zs_dtls *d);
/** Description of the alert received / sent, or -1 if none. */
int zs_dtls_alert_received(const struct zs_dtls *d);
int zs_dtls_alert_sent(const struct zs_dtls *d);
/** Counters (drops, replays, retransmissions); inside d, read-only. */
const struct zs_dtls_stats *zs_dtls_stats(const struct zs_dtls *d);

/**
 * The protocol ALPN selected (a pointer into the config's list), or NULL:
 * none offered, none in common, or handshake not done.
 */
const char *zs_dtls_alpn(const struct zs_dtls *d);

/**
 * ECDHE_ECDSA client: 0 the chain verified, else BearSSL's X.509 error
 * code (BR_ERR_X509_*: 62 not trusted, 56 bad server name, ...), -1
 * nothing was checked (PSK, verify_none, server, no Certificate yet).
 * A resumed session gives 0: a checking client offers only sessions
 * whose chain verified (zs_dtls_session_set).
 */
int zs_dtls_verify_result(const struct zs_dtls *d);

/* ---- resumption --------------------------------------------------------- */

/** Empty a session cache (also what a purge is): every slot wiped. */
void zs_dtls_cache_init(struct zs_dtls_cache *c);

/**
 * Client, after zs_dtls_init() and before zs_dtls_connect(): offer s (its
 * ID in the ClientHello; copied, s may go at once). It is offered only
 * where it fits this context: a suite in the list, the same mode (DTLS or
 * stream), for PSK the same identity (s->peer against SHA-256 of
 * cfg.psk_id), for ECDHE_ECDSA made with verification unless this context
 * is verify_none. The core does not look at the server's name or chain
 * again: the caller offers a session only to the peer (address, server
 * name) it was made with, as the TLS sockets' client cache does.
 * Whether the server takes it: zs_dtls_resumed() after the
 * handshake; if it does not, a full handshake runs (and the server may
 * give a new ID). Returns 1 offered, 0 not offered (does not fit: a full
 * handshake follows), -EINVAL (a server, a handshake started, id_len 0 or
 * above 32).
 */
int zs_dtls_session_set(struct zs_dtls *d, const struct zs_dtls_session *s);

/**
 * Either role, once ESTABLISHED (or CLOSED by close_notify after it): copy
 * the association's session into *s, to offer on the next connection to
 * this peer (client) -- it is the offered one after a resumption, else
 * the new one. Returns 0, -ENOTCONN (handshake not complete, or failed: a
 * session ended by a fatal alert MUST NOT be resumed, RFC 5246 s7.2.2),
 * -ENOENT (the server gave no session ID: nothing to resume).
 */
int zs_dtls_session_get(const struct zs_dtls *d, struct zs_dtls_session *s);

/** true when the handshake was the abbreviated one (a resumed session). */
bool zs_dtls_resumed(const struct zs_dtls *d);

/* ---- stateless cookies (dtls_cookie.c), RFC 6347 s4.2.1 ----------------- */

#define ZS_DTLS_COOKIE_LEN 32   /* HMAC-SHA256, untruncated */

/**
 * Server: look at the first datagram from a peer the server has no context
 * for. addr[0..addr_len) is the peer's transport address in any byte form
 * the caller likes (the same every time); secret[0..secret_len) the
 * server's cookie key (rotate it now and then: old cookies die with it).
 *
 * Returns 1 when dgram starts with a ClientHello whose cookie is valid:
 * create a server context and feed it the same datagram. Returns 0 when
 * the datagram held a ClientHello without a valid cookie: a
 * HelloVerifyRequest of *reply_len bytes is in reply (send it back to addr)
 * -- nothing else is kept. Returns -EINVAL (and *reply_len 0) for anything
 * else, to be dropped: not a ClientHello, fragmented, malformed. -ENOBUFS
 * when reply_cap is under 60. Never blocks; touches no global state.
 */
int zs_dtls_cookie_answer(const uint8_t *secret, size_t secret_len,
			  const uint8_t *addr, size_t addr_len,
			  const uint8_t *dgram, size_t len, uint8_t *reply,
			  size_t reply_cap, size_t *reply_len);

#endif
