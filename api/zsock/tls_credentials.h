/*
 * <zsock/tls_credentials.h>: the TLS credential store (Zephyr's API).
 *
 * Credentials are registered under a security tag (sec_tag_t) and a type;
 * a TLS socket names the tags it uses with TLS_SEC_TAG_LIST. The store is a
 * fixed table of CONFIG_TLS_MAX_CREDENTIALS_NUMBER entries plus a fixed
 * arena of CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA bytes for what decoding
 * produces; it never calls malloc.
 *
 * Ownership (Zephyr's contract): tls_credential_add() keeps the caller's
 * pointer, it does not copy the buffer. The caller keeps the buffer valid
 * and unchanged until tls_credential_delete(). What a handshake needs is
 * decoded once, when the credential is added: CA certificates become
 * trust anchors (their names and keys in the arena), private keys their
 * components, certificate chains their list of DER certificates (PEM is
 * decoded to DER in the arena). A socket's own chain is sent from a copy
 * in the arena unless the socket sets TLS_CERT_NOCOPY (<zsock/socket.h>).
 *
 * Format: DER by default; PEM ("-----BEGIN ...") is recognised and
 * accepted for certificates and keys. A CA credential may hold several
 * certificates (PEM, or DER certificates back to back): each becomes a
 * trust anchor. A certificate credential may hold the end-entity
 * certificate followed by its intermediates.
 *
 * A credential in use by a live socket is never freed under it: deleting
 * it removes it from the table at once (get gives -ENOENT, the tag and type
 * can be added again), and what the sockets use is released when the last
 * of them closes.
 *
 * Thread-safe; none of these functions blocks (a short internal lock).
 * Unlike the socket calls, they return a negative errno value, not
 * -1 + errno (as Zephyr's).
 */
#ifndef ZSOCK_TLS_CREDENTIALS_H
#define ZSOCK_TLS_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A security tag: any value but TLS_SEC_TAG_NONE names a set of credentials. */
typedef int sec_tag_t;

/** Not a tag (-1): rejected by tls_credential_add() (-EINVAL). */
#define TLS_SEC_TAG_NONE (-1)

enum tls_credential_type {
	TLS_CREDENTIAL_NONE,
	/** Trusted CA certificate(s): verify the peer. */
	TLS_CREDENTIAL_CA_CERTIFICATE,
	/** This side's certificate (chain): sent to the peer. */
	TLS_CREDENTIAL_PUBLIC_CERTIFICATE,
	/** This side's private key (RSA or EC, PKCS#1/SEC1 or PKCS#8). */
	TLS_CREDENTIAL_PRIVATE_KEY,
	/** Pre-shared key bytes: TLS 1.2 sockets whose tags hold one (with its
	 *  identity) use the PSK suites (tls_bearssl/tls_sock.c gives the rule). */
	TLS_CREDENTIAL_PSK,
	/** Pre-shared key identity: a client's to send, a server's to look up. */
	TLS_CREDENTIAL_PSK_ID,
};

/** Zephyr's older name for TLS_CREDENTIAL_PUBLIC_CERTIFICATE. */
#define TLS_CREDENTIAL_SERVER_CERTIFICATE TLS_CREDENTIAL_PUBLIC_CERTIFICATE

/**
 * Register credential bytes under tag and type. The buffer is not copied
 * (see above): keep it valid until tls_credential_delete().
 *
 * Returns 0, or
 *  -EEXIST  tag already has a credential of this type;
 *  -ENOMEM  the table is full, or the arena has no room for the decoded form;
 *  -EINVAL  cred NULL, credlen 0, tag TLS_SEC_TAG_NONE, unknown type, or
 *           bytes that do not decode as the type says (certificates and keys
 *           are parsed here; PSK and PSK identity are taken as they are).
 */
int tls_credential_add(sec_tag_t tag, enum tls_credential_type type,
		       const void *cred, size_t credlen);

/**
 * Copy the bytes registered under tag and type (as they were added) into
 * cred, whose size is *credlen; *credlen is set to the length.
 *
 * Returns 0, or
 *  -ENOENT  no such credential;
 *  -EFBIG   cred is too small: *credlen holds the length needed, nothing copied;
 *  -EINVAL  credlen NULL, or cred NULL with a non-zero *credlen.
 */
int tls_credential_get(sec_tag_t tag, enum tls_credential_type type,
		       void *cred, size_t *credlen);

/**
 * Remove the credential registered under tag and type. Sockets that use it
 * keep what they took until they close.
 *
 * Returns 0, or -ENOENT (no such credential).
 */
int tls_credential_delete(sec_tag_t tag, enum tls_credential_type type);

#ifdef __cplusplus
}
#endif

#endif /* ZSOCK_TLS_CREDENTIALS_H */
