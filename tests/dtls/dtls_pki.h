/*
 * The test PKI of tests/common/zt_certs.h in BearSSL's forms, for the
 * ECDHE_ECDSA tests: the EC CA as a trust anchor, a server chain and its
 * P-256 key, the current time as br_x509_minimal_set_time() wants it;
 * and the zs_dtls_config fields that put them to use.
 * Header-only; static storage, one PKI per test process.
 */
#ifndef ZSOCK_TEST_DTLS_PKI_H
#define ZSOCK_TEST_DTLS_PKI_H

#include <bearssl.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tls_bearssl/dtls/dtls.h"
#include "zt_certs.h"

struct dtls_pki {
	br_x509_trust_anchor ta;
	uint8_t dn[512];
	size_t dn_len;
	uint8_t ca_q[65];
	br_x509_certificate chain[2];   /* ec_leaf, ec_int */
	br_x509_certificate self[1];    /* ec_self */
	br_skey_decoder_context leaf_key, self_key;
	uint32_t days, seconds;
};

static void pki_dn(void *ctx, const void *buf, size_t len)
{
	struct dtls_pki *k = ctx;
	if (k->dn_len + len <= sizeof k->dn) {
		memcpy(k->dn + k->dn_len, buf, len);
		k->dn_len += len;
	}
}

static void pki_cert(br_x509_certificate *c, const char *name)
{
	size_t len;
	const uint8_t *der = zt_certs_load(name, &len);
	c->data = (unsigned char *)der;
	c->data_len = len;
}

static void pki_key(br_skey_decoder_context *kc, const char *name)
{
	size_t len;
	const uint8_t *der = zt_certs_load(name, &len);
	br_skey_decoder_init(kc);
	br_skey_decoder_push(kc, der, len);
	cr_assert_eq(br_skey_decoder_last_error(kc), 0, "key %s", name);
	cr_assert_eq(br_skey_decoder_key_type(kc), BR_KEYTYPE_EC);
}

/* Make (once per process) and load. */
static void pki_load(struct dtls_pki *k)
{
	memset(k, 0, sizeof *k);
	zt_certs_make();
	size_t len;
	const uint8_t *ca = zt_certs_load("ec_ca.der", &len);
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, pki_dn, k);
	br_x509_decoder_push(&dc, ca, len);
	cr_assert_eq(br_x509_decoder_last_error(&dc), 0);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	cr_assert_eq(pk->key_type, BR_KEYTYPE_EC);
	memcpy(k->ca_q, pk->key.ec.q, pk->key.ec.qlen);
	k->ta.dn.data = k->dn;
	k->ta.dn.len = k->dn_len;
	k->ta.flags = BR_X509_TA_CA;
	k->ta.pkey.key_type = BR_KEYTYPE_EC;
	k->ta.pkey.key.ec.curve = pk->key.ec.curve;
	k->ta.pkey.key.ec.q = k->ca_q;
	k->ta.pkey.key.ec.qlen = pk->key.ec.qlen;
	pki_cert(&k->chain[0], "ec_leaf.der");
	pki_cert(&k->chain[1], "ec_int.der");
	pki_cert(&k->self[0], "ec_self.der");
	pki_key(&k->leaf_key, "ec_leaf.sec1.der");
	pki_key(&k->self_key, "ec_self.key.der");
	/* days since 0000-01-01 (719528 to 1970-01-01), seconds in the day */
	time_t now = time(NULL);
	k->days = (uint32_t)(719528 + now / 86400);
	k->seconds = (uint32_t)(now % 86400);
}

/* Skips the test, saying so, where there is no openssl to make the PKI. */
static inline void pki_need_openssl(void)
{
	if (!zt_certs_have_openssl()) {
		printf("skipped: no openssl binary to make the test PKI\n");
		cr_skip_test("skipped: no openssl binary to make the test PKI");
	}
}

/* A client cfg that checks the server's chain against k's CA, now, for
 * the name "server.test" (its PSK settings left as they are). */
static inline void pki_client_cfg(struct zs_dtls_config *cfg,
				  const struct dtls_pki *k)
{
	cfg->tas = &k->ta;
	cfg->n_tas = 1;
	cfg->x509_days = k->days;
	cfg->x509_seconds = k->seconds;
	cfg->server_name = "server.test";
}

/* A server cfg that presents k's ec_leaf chain and key and takes no PSK. */
static inline void pki_server_cfg(struct zs_dtls_config *cfg,
				  struct dtls_pki *k)
{
	cfg->psk_lookup = NULL;
	cfg->chain = k->chain;
	cfg->chain_len = 2;
	cfg->ec_key = br_skey_decoder_get_ec(&k->leaf_key);
}

#endif
