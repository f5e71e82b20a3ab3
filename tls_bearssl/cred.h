/*
 * The credential store as the TLS sockets see it (tls_bearssl/cred.c holds
 * the table, the arena and the decoding; <zsock/tls_credentials.h> is the
 * public half).
 *
 * A socket starting a handshake calls zs_cred_acquire() with its sec tags:
 * it gets the decoded trust anchors, its own chain and key, each backed by
 * a reference on the arena blocks they live in, so a tls_credential_delete()
 * meanwhile frees nothing it uses. zs_cred_release() drops the references.
 */
#ifndef ZSOCK_TLS_CRED_H
#define ZSOCK_TLS_CRED_H

#include <bearssl.h>

#include "tls_bearssl/tls.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

/* Arena blocks one acquisition may hold references on. */
#define ZS_CRED_MAX_HELD (2 * CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS + 2)

/** What a socket's sec tags resolve to. Filled by zs_cred_acquire(). */
struct zs_tls_creds {
	/* every trust anchor of every CA credential of the tags, in tag order,
	 * at most CONFIG_ZSOCK_TLS_MAX_TRUST_ANCHORS (more: -ENOMEM) */
	br_x509_trust_anchor ta[CONFIG_ZSOCK_TLS_MAX_TRUST_ANCHORS];
	size_t n_ta;

	/* the first tag (in list order) holding both a certificate and a
	 * private key: this side's chain (end entity first) and key;
	 * chain NULL when no tag has both */
	const br_x509_certificate *chain;
	size_t chain_len;
	int key_type;                     /**< BR_KEYTYPE_RSA or BR_KEYTYPE_EC; 0 none */
	const br_rsa_private_key *rsa;    /**< key_type RSA */
	const br_ec_private_key *ec;      /**< key_type EC */
	/** BR_KEYTYPE_RSA or _EC: the key type of whoever signed chain[0]
	 *  (what br_ssl_server_init_full_ec() asks for) */
	unsigned chain_signer_key_type;

	/* PSK of the first tag that has one, with that tag's identity (a client's PSK
	 * suites use them; a server looks identities up with
	 * zs_cred_psk_lookup()) */
	const unsigned char *psk;
	size_t psk_len;
	const unsigned char *psk_id;
	size_t psk_id_len;

	/* private to cred.c: the references to drop (arena block ids) */
	uint32_t held[ZS_CRED_MAX_HELD];
	size_t n_held;
};

/**
 * Resolve tags[0..ntags) into *out, taking a reference on everything it
 * points into. Tags with no credential are skipped (no error). nocopy: the
 * socket set TLS_CERT_NOCOPY_OPTIONAL, so a DER chain points into the
 * caller's registered buffer; otherwise into the store's copy, made now if
 * it does not exist yet.
 * PSK and PSK identity point to the caller's registered bytes and hold
 * nothing: they stay valid only as long as they stay registered.
 * Returns 0, or -ENOMEM (more trust anchors than the array holds; no arena
 * room for the chain's copy; more than ZS_CRED_MAX_HELD blocks, which
 * takes more than 2 * CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS tags). On
 * error nothing is held and *out is zeroed.
 * Any thread; does not block beyond the store's lock.
 */
int zs_cred_acquire(const sec_tag_t *tags, size_t ntags, bool nocopy,
		    struct zs_tls_creds *out);

/**
 * Server side of a PSK handshake: the PSK of the first of tags[0..ntags)
 * whose TLS_CREDENTIAL_PSK_ID equals id[0..id_len), copied into
 * psk[0..psk_max). Returns its length (> 0), -ENOENT (no tag has that
 * identity with a PSK), -EMSGSIZE (the PSK is longer than psk_max).
 * Copies, holds nothing. Any thread; does not block beyond the store's
 * lock (never take it with a socket's lock held in the other order:
 * the store never takes a socket's).
 */
int zs_cred_psk_lookup(const sec_tag_t *tags, size_t ntags, const uint8_t *id,
		       size_t id_len, uint8_t *psk, size_t psk_max);

/** Drop what zs_cred_acquire() took (harmless on a zeroed struct). */
void zs_cred_release(struct zs_tls_creds *c);

/* zs_cred_arena_used() and zs_cred_count(): tls_bearssl/tls.h */

#endif
