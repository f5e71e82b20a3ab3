/*
 * zt_certs: a test PKI made at test time with the openssl(1) CLI, for the
 * TLS suites (tests/loopback/test_tls.c, tests/interop/test_tls.c).
 *
 * zt_certs_make() creates a fresh directory /tmp/zt-certs-<pid>-XXXXXX and
 * writes into it (every certificate as NAME.pem and NAME.der, every key as
 * NAME.key (PKCS#8 PEM) and NAME.key.der (PKCS#8 DER)):
 *
 *   rsa_ca           RSA-2048 root CA, self-signed    "zsock test RSA CA"
 *   ec_ca            EC P-256 root CA, self-signed    "zsock test EC CA"
 *   ec_int           EC P-256 intermediate CA, signed by ec_ca (pathlen 0)
 *   rsa_leaf         RSA-2048 server leaf, signed by rsa_ca
 *   ec_leaf          EC P-256 server leaf, signed by ec_int (NOT by ec_ca:
 *                    a peer needs the chain ec_leaf_chain to verify it)
 *   ec_expired       EC P-256 server leaf, signed by ec_ca, valid only
 *                    2020-01-01 .. 2021-01-01 (made with openssl ca
 *                    -startdate/-enddate)
 *   ec_self          EC P-256 server leaf, self-signed
 *   ec_client        EC P-256 client certificate (CN and SAN client.test,
 *                    extendedKeyUsage clientAuth), signed by ec_ca
 *   ec_client_rsaca  the same kind of client certificate, signed by rsa_ca
 *
 * Server leaves: CN server.test, subjectAltName DNS:server.test,
 * IP:192.0.2.1, IP:192.0.2.2, IP:127.0.0.1, IP:::1, keyUsage
 * digitalSignature + keyEncipherment, extendedKeyUsage serverAuth +
 * clientAuth. CAs: basicConstraints CA:TRUE (critical), keyUsage
 * keyCertSign + cRLSign.
 *
 * Extra forms:
 *   ec_leaf_chain.pem / .der   ec_leaf then ec_int (PEM blocks, or the two
 *                              DER certificates back to back)
 *   both_ca.pem / .der         rsa_ca then ec_ca
 *   ec_leaf.sec1.der / .sec1.pem, ec_client.sec1.der / .sec1.pem
 *                              SEC1 ("EC PRIVATE KEY") forms of those keys
 *   rsa_leaf.pkcs1.der / .pkcs1.pem  PKCS#1 ("RSA PRIVATE KEY") forms
 *
 * The directory is removed by zt_certs_cleanup() and at the exit of the
 * process that made it; directories of processes that died are removed by
 * the next zt_certs_make(). Each Criterion test is its own process, so each
 * test gets its own PKI (about half a second of openssl time).
 *
 * All functions assert (cr_assert): test thread only.
 */
#ifndef ZT_CERTS_H
#define ZT_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zsock/tls_credentials.h>

/** True when the openssl(1) CLI can be run (to skip instead of fail). */
bool zt_certs_have_openssl(void);

/** Make the PKI (once per process; later calls do nothing). Asserts. */
void zt_certs_make(void);

/** The directory zt_certs_make() filled. */
const char *zt_certs_dir(void);

/**
 * "<dir>/<name>" in one of 16 rotating static buffers (valid for the next
 * 15 calls).
 */
const char *zt_certs_path(const char *name);

/**
 * The bytes of file name, in a static buffer that lives as long as the
 * process (so it can be given to tls_credential_add(), which keeps the
 * pointer). The same name always gives the same buffer. A NUL follows the
 * last byte (not counted in *len). Asserts the file exists and fits.
 */
const uint8_t *zt_certs_load(const char *name, size_t *len);

/** tls_credential_add(tag, type, zt_certs_load(name)) asserting 0. */
void zt_certs_add(sec_tag_t tag, enum tls_credential_type type, const char *name);

/** Remove the directory now (also done at exit). */
void zt_certs_cleanup(void);

#endif
