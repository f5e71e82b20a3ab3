/*
 * The TLS credential store (tls_bearssl/cred.c): every return value of
 * <zsock/tls_credentials.h>, DER and PEM input, the table and arena
 * limits, what zs_cred_acquire() resolves a tag list to, the lifetime of
 * acquired credentials across a delete, the store's copy of a chain
 * (TLS_CERT_NOCOPY), and threads adding, acquiring and deleting at once.
 *
 * Keys and certificates are made at test time by the openssl command in a
 * mkdtemp() directory, read into memory and the directory removed (once
 * per test process, only by tests that need them): RSA-2048 and P-256 CAs,
 * leaves signed by them (and an EC leaf signed by the RSA CA), a 2-cert
 * chain, keys in PKCS#1/SEC1 and PKCS#8, PEM and DER.
 *
 * Every test ends with an empty store: no entry, no arena byte in use.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include "tests/common/checked_test.h"
#include "tls_bearssl/cred.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void teardown(void)
{
	cr_expect_eq(zs_cred_count(), 0, "credentials left in the table");
	cr_expect_eq(zs_cred_arena_used(), 0, "arena bytes leaked");
}

TestSuite(cred);

/* teardown() runs at the end of every test body: see checked_test.h */
#define UTEST(name, ...) CHECKED_TEST(cred, name, teardown, ##__VA_ARGS__)

/* ---- fixtures made by openssl ------------------------------------------- */

struct file {
	unsigned char b[8192]; /* always NUL-terminated after n bytes */
	size_t n;
};

static struct fx {
	struct file ca_rsa_pem, ca_rsa_der, ca_ec_pem, ca_ec_der;
	struct file leaf_rsa_pem, leaf_rsa_der, leaf_ec_pem, leaf_ec_der;
	struct file leaf_ecrsa_pem;     /* EC key, signed by the RSA CA */
	struct file chain_rsa_pem, chain_rsa_der; /* leaf_rsa then ca_rsa */
	struct file rsa_trad_pem, rsa_trad_der, rsa_p8_pem, rsa_p8_der;
	struct file ec_params_pem;      /* EC PARAMETERS + EC PRIVATE KEY */
	struct file ec_trad_pem, ec_trad_der, ec_p8_pem, ec_p8_der;
	struct file rsa_enc_pem;        /* ENCRYPTED PRIVATE KEY */
} fx;
static bool fx_made;

static const char gen_script[] =
	"set -e\n"
	"cat > cnf <<EOF\n"
	"[req]\n"
	"distinguished_name = dn\n"
	"prompt = no\n"
	"[dn]\n"
	"CN = unused\n"
	"[ca]\n"
	"basicConstraints = critical,CA:TRUE\n"
	"keyUsage = critical,keyCertSign,cRLSign\n"
	"[leaf]\n"
	"basicConstraints = CA:FALSE\n"
	"subjectAltName = DNS:localhost\n"
	"EOF\n"
	"openssl genrsa -out ca_rsa.key 2048\n"
	"openssl req -config cnf -x509 -new -key ca_rsa.key -subj '/CN=zsock RSA CA' "
	"-extensions ca -days 30 -out ca_rsa.pem\n"
	"openssl ecparam -name prime256v1 -genkey -noout -out ca_ec.key\n"
	"openssl req -config cnf -x509 -new -key ca_ec.key -subj '/CN=zsock EC CA' "
	"-extensions ca -days 30 -out ca_ec.pem\n"
	"openssl genrsa -out leaf_rsa.key 2048\n"
	"openssl ecparam -name prime256v1 -genkey -out leaf_ec.key\n"
	"sign() {\n"
	"  openssl req -config cnf -new -key $1 -subj /CN=localhost -out $3.csr\n"
	"  openssl x509 -req -in $3.csr -CA $2.pem -CAkey $2.key -CAcreateserial "
	"-days 30 -extfile cnf -extensions leaf -out $3.pem\n"
	"}\n"
	"sign leaf_rsa.key ca_rsa leaf_rsa\n"
	"sign leaf_ec.key ca_ec leaf_ec\n"
	"sign leaf_ec.key ca_rsa leaf_ecrsa\n"
	"for c in ca_rsa ca_ec leaf_rsa leaf_ec; do\n"
	"  openssl x509 -in $c.pem -outform DER -out $c.der\n"
	"done\n"
	"cat leaf_rsa.pem ca_rsa.pem > chain_rsa.pem\n"
	"cat leaf_rsa.der ca_rsa.der > chain_rsa.der\n"
	"openssl rsa -in leaf_rsa.key -traditional -out rsa_trad.pem\n"
	"openssl rsa -in leaf_rsa.key -traditional -outform DER -out rsa_trad.der\n"
	"openssl pkcs8 -topk8 -nocrypt -in leaf_rsa.key -out rsa_p8.pem\n"
	"openssl pkcs8 -topk8 -nocrypt -in leaf_rsa.key -outform DER -out rsa_p8.der\n"
	"openssl ec -in leaf_ec.key -out ec_trad.pem\n"
	"openssl ec -in leaf_ec.key -outform DER -out ec_trad.der\n"
	"openssl pkcs8 -topk8 -nocrypt -in leaf_ec.key -out ec_p8.pem\n"
	"openssl pkcs8 -topk8 -nocrypt -in leaf_ec.key -outform DER -out ec_p8.der\n"
	"openssl pkcs8 -topk8 -in leaf_rsa.key -passout pass:zsock -out rsa_enc.pem\n";

static void load(const char *dir, const char *name, struct file *f)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "rb");
	cr_assert_not_null(fp, "cannot open %s", path);
	f->n = fread(f->b, 1, sizeof(f->b) - 1, fp);
	cr_assert(feof(fp) && f->n > 0, "%s: empty or larger than %zu bytes", path,
		  sizeof(f->b) - 1);
	fclose(fp);
	f->b[f->n] = 0;
}

/* The fixtures, made on first use in this test process. */
static const struct fx *F(void)
{
	char dir[] = "/tmp/zsock-cred-XXXXXX", cmd[1024], path[512];
	FILE *fp;
	int rc;

	if (fx_made)
		return &fx;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/gen.sh", dir);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(gen_script, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "cd %s && sh gen.sh > gen.log 2>&1", dir);
	rc = system(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/gen.log >&2; rm -rf %s", dir, dir);
		cr_assert_eq(system(cmd), 0);
		cr_assert_fail("openssl failed (%d)", rc);
	}
	load(dir, "ca_rsa.pem", &fx.ca_rsa_pem);
	load(dir, "ca_rsa.der", &fx.ca_rsa_der);
	load(dir, "ca_ec.pem", &fx.ca_ec_pem);
	load(dir, "ca_ec.der", &fx.ca_ec_der);
	load(dir, "leaf_rsa.pem", &fx.leaf_rsa_pem);
	load(dir, "leaf_rsa.der", &fx.leaf_rsa_der);
	load(dir, "leaf_ec.pem", &fx.leaf_ec_pem);
	load(dir, "leaf_ec.der", &fx.leaf_ec_der);
	load(dir, "leaf_ecrsa.pem", &fx.leaf_ecrsa_pem);
	load(dir, "chain_rsa.pem", &fx.chain_rsa_pem);
	load(dir, "chain_rsa.der", &fx.chain_rsa_der);
	load(dir, "rsa_trad.pem", &fx.rsa_trad_pem);
	load(dir, "rsa_trad.der", &fx.rsa_trad_der);
	load(dir, "rsa_p8.pem", &fx.rsa_p8_pem);
	load(dir, "rsa_p8.der", &fx.rsa_p8_der);
	load(dir, "leaf_ec.key", &fx.ec_params_pem);
	load(dir, "ec_trad.pem", &fx.ec_trad_pem);
	load(dir, "ec_trad.der", &fx.ec_trad_der);
	load(dir, "ec_p8.pem", &fx.ec_p8_pem);
	load(dir, "ec_p8.der", &fx.ec_p8_der);
	load(dir, "rsa_enc.pem", &fx.rsa_enc_pem);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert(memcmp(fx.rsa_trad_pem.b, "-----BEGIN RSA PRIVATE KEY", 26) == 0);
	cr_assert(memcmp(fx.rsa_p8_pem.b, "-----BEGIN PRIVATE KEY", 22) == 0);
	cr_assert(strstr((char *)fx.ec_params_pem.b, "BEGIN EC PARAMETERS") != NULL);
	cr_assert(memcmp(fx.ec_trad_pem.b, "-----BEGIN EC PRIVATE KEY", 25) == 0);
	cr_assert(memcmp(fx.rsa_enc_pem.b, "-----BEGIN ENCRYPTED PRIVATE KEY", 32) == 0);
	fx_made = true;
	return &fx;
}

/* ---- helpers ------------------------------------------------------------ */

static int add_file(sec_tag_t tag, enum tls_credential_type type, const struct file *f)
{
	return tls_credential_add(tag, type, f->b, f->n);
}

static void del(sec_tag_t tag, enum tls_credential_type type)
{
	cr_assert_eq(tls_credential_delete(tag, type), 0, "delete %d/%d", tag, type);
}

/* A tag with this side's chain, key and a CA: cert, key, ca. */
static void add_set(sec_tag_t tag, const struct file *cert, const struct file *key,
		    const struct file *ca)
{
	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, cert), 0);
	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_PRIVATE_KEY, key), 0);
	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_CA_CERTIFICATE, ca), 0);
}

static void del_set(sec_tag_t tag)
{
	del(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE);
	del(tag, TLS_CREDENTIAL_PRIVATE_KEY);
	del(tag, TLS_CREDENTIAL_CA_CERTIFICATE);
}

static bool within(const void *p, const void *base, size_t len)
{
	uintptr_t x = (uintptr_t)p, b = (uintptr_t)base;

	return x >= b && x < b + len;
}

/* n copies of f back to back (a CA bundle); free() it. */
static unsigned char *repeat(const struct file *f, size_t n)
{
	unsigned char *b = malloc(f->n * n);
	size_t i;

	cr_assert_not_null(b);
	for (i = 0; i < n; i++)
		memcpy(b + i * f->n, f->b, f->n);
	return b;
}

/* BearSSL's own decoding of a DER key file, to compare with the store's. */
static void decode_key(const struct file *der, br_skey_decoder_context *sk)
{
	br_skey_decoder_init(sk);
	br_skey_decoder_push(sk, der->b, der->n);
	cr_assert_eq(br_skey_decoder_last_error(sk), 0);
}

/* ---- add, get, delete --------------------------------------------------- */

UTEST(add_get_delete)
{
	static const char psk[] = "0123456789abcdef";
	char buf[64];
	size_t len = sizeof(buf);

	cr_assert_eq(tls_credential_add(7, TLS_CREDENTIAL_PSK, psk, 16), 0);
	cr_assert_eq(zs_cred_count(), 1);
	cr_assert_eq(zs_cred_arena_used(), 0, "a PSK takes no arena");
	cr_assert_eq(tls_credential_get(7, TLS_CREDENTIAL_PSK, buf, &len), 0);
	cr_assert_eq(len, 16);
	cr_assert_arr_eq(buf, psk, 16);
	cr_assert_eq(tls_credential_add(7, TLS_CREDENTIAL_PSK, psk, 4), -EEXIST);
	cr_assert_eq(tls_credential_add(7, TLS_CREDENTIAL_PSK_ID, "id", 2), 0,
		     "same tag, other type");
	cr_assert_eq(tls_credential_add(8, TLS_CREDENTIAL_PSK, psk, 4), 0,
		     "same type, other tag");
	cr_assert_eq(tls_credential_delete(7, TLS_CREDENTIAL_PSK), 0);
	len = sizeof(buf);
	cr_assert_eq(tls_credential_get(7, TLS_CREDENTIAL_PSK, buf, &len), -ENOENT);
	cr_assert_eq(tls_credential_delete(7, TLS_CREDENTIAL_PSK), -ENOENT);
	cr_assert_eq(tls_credential_add(7, TLS_CREDENTIAL_PSK, psk, 8), 0, "added again");
	len = sizeof(buf);
	cr_assert_eq(tls_credential_get(7, TLS_CREDENTIAL_PSK, buf, &len), 0);
	cr_assert_eq(len, 8);
	del(7, TLS_CREDENTIAL_PSK);
	del(7, TLS_CREDENTIAL_PSK_ID);
	del(8, TLS_CREDENTIAL_PSK);
}

UTEST(tag_zero_and_negative_tags_work)
{
	cr_assert_eq(tls_credential_add(0, TLS_CREDENTIAL_PSK, "k", 1), 0);
	cr_assert_eq(tls_credential_add(-2, TLS_CREDENTIAL_PSK, "k", 1), 0);
	cr_assert_eq(tls_credential_add(-2, TLS_CREDENTIAL_PSK, "k", 1), -EEXIST);
	del(0, TLS_CREDENTIAL_PSK);
	del(-2, TLS_CREDENTIAL_PSK);
}

UTEST(get_returns_the_bytes_as_added)
{
	const struct fx *f = F();
	static unsigned char buf[8192];
	size_t len = sizeof(buf);

	cr_assert_eq(add_file(1, TLS_CREDENTIAL_CA_CERTIFICATE, &f->ca_rsa_pem), 0);
	cr_assert_eq(add_file(1, TLS_CREDENTIAL_PRIVATE_KEY, &f->rsa_trad_der), 0);
	cr_assert_eq(tls_credential_get(1, TLS_CREDENTIAL_CA_CERTIFICATE, buf, &len), 0);
	cr_assert_eq(len, f->ca_rsa_pem.n, "PEM comes back as PEM");
	cr_assert_arr_eq(buf, f->ca_rsa_pem.b, len);
	len = sizeof(buf);
	cr_assert_eq(tls_credential_get(1, TLS_CREDENTIAL_PRIVATE_KEY, buf, &len), 0);
	cr_assert_eq(len, f->rsa_trad_der.n);
	cr_assert_arr_eq(buf, f->rsa_trad_der.b, len);
	del(1, TLS_CREDENTIAL_CA_CERTIFICATE);
	del(1, TLS_CREDENTIAL_PRIVATE_KEY);
}

UTEST(get_efbig_and_einval)
{
	char buf[8];
	size_t len;

	cr_assert_eq(tls_credential_add(3, TLS_CREDENTIAL_PSK_ID, "identity-12", 11), 0);
	memset(buf, 'x', sizeof(buf));
	len = sizeof(buf);
	cr_assert_eq(tls_credential_get(3, TLS_CREDENTIAL_PSK_ID, buf, &len), -EFBIG);
	cr_assert_eq(len, 11, "the length needed is written back");
	cr_assert_eq(memcmp(buf, "xxxxxxxx", 8), 0, "nothing copied");
	len = 0;
	cr_assert_eq(tls_credential_get(3, TLS_CREDENTIAL_PSK_ID, NULL, &len), -EFBIG,
		     "NULL with 0 asks for the length");
	cr_assert_eq(len, 11);
	len = 4;
	cr_assert_eq(tls_credential_get(3, TLS_CREDENTIAL_PSK_ID, NULL, &len), -EINVAL);
	cr_assert_eq(tls_credential_get(3, TLS_CREDENTIAL_PSK_ID, buf, NULL), -EINVAL);
	del(3, TLS_CREDENTIAL_PSK_ID);
}

UTEST(get_and_delete_of_what_is_not_there)
{
	char buf[8];
	size_t len = sizeof(buf);

	cr_assert_eq(tls_credential_get(1, TLS_CREDENTIAL_PSK, buf, &len), -ENOENT);
	cr_assert_eq(tls_credential_get(0, TLS_CREDENTIAL_NONE, buf, &len), -ENOENT,
		     "free slots are not entries of type NONE");
	cr_assert_eq(tls_credential_delete(0, TLS_CREDENTIAL_NONE), -ENOENT);
	cr_assert_eq(tls_credential_delete(TLS_SEC_TAG_NONE, TLS_CREDENTIAL_PSK), -ENOENT);
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK, "k", 1), 0);
	cr_assert_eq(tls_credential_get(1, TLS_CREDENTIAL_PSK_ID, buf, &len), -ENOENT);
	cr_assert_eq(tls_credential_get(2, TLS_CREDENTIAL_PSK, buf, &len), -ENOENT);
	cr_assert_eq(tls_credential_delete(1, TLS_CREDENTIAL_PSK_ID), -ENOENT);
	del(1, TLS_CREDENTIAL_PSK);
}

/* ---- -EINVAL ------------------------------------------------------------ */

UTEST(add_einval_arguments)
{
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK, NULL, 4), -EINVAL);
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK, "k", 0), -EINVAL);
	cr_assert_eq(tls_credential_add(TLS_SEC_TAG_NONE, TLS_CREDENTIAL_PSK, "k", 1), -EINVAL);
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_NONE, "k", 1), -EINVAL);
	cr_assert_eq(tls_credential_add(1, (enum tls_credential_type)99, "k", 1), -EINVAL);
	cr_assert_eq(tls_credential_add(1, (enum tls_credential_type)-1, "k", 1), -EINVAL);
}

/* Every bad input for type: -EINVAL, and nothing left behind. */
static void expect_einval(enum tls_credential_type type, const void *b, size_t n,
			  const char *what)
{
	cr_expect_eq(tls_credential_add(5, type, b, n), -EINVAL, "%s", what);
	cr_expect_eq(zs_cred_count(), 0, "%s", what);
	cr_expect_eq(zs_cred_arena_used(), 0, "%s", what);
}

UTEST(add_einval_certificates)
{
	const struct fx *f = F();
	static const enum tls_credential_type types[] = {
		TLS_CREDENTIAL_CA_CERTIFICATE, TLS_CREDENTIAL_PUBLIC_CERTIFICATE,
	};
	static const char bad_b64[] = "-----BEGIN CERTIFICATE-----\n"
				      "MIIB*&^%$\n"
				      "-----END CERTIFICATE-----\n";
	static const char not_x509[] = "-----BEGIN CERTIFICATE-----\n"
				       "MAMCAQE=\n" /* SEQUENCE { INTEGER 1 } */
				       "-----END CERTIFICATE-----\n";
	static const char unfinished[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
	static const unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const unsigned char bad_len[] = { 0x30, 0x80, 0x00, 0x00 };
	static unsigned char trailing[8192 + 4];
	unsigned char *pem_mix;
	size_t i, mixlen;

	memcpy(trailing, f->ca_rsa_der.b, f->ca_rsa_der.n);
	trailing[f->ca_rsa_der.n] = 0x30;
	mixlen = f->ca_rsa_pem.n + f->rsa_p8_pem.n;
	pem_mix = malloc(mixlen);
	cr_assert_not_null(pem_mix);
	memcpy(pem_mix, f->ca_rsa_pem.b, f->ca_rsa_pem.n);
	memcpy(pem_mix + f->ca_rsa_pem.n, f->rsa_p8_pem.b, f->rsa_p8_pem.n);

	for (i = 0; i < 2; i++) {
		expect_einval(types[i], "hello, world", 12, "text, no PEM object");
		expect_einval(types[i], garbage, sizeof(garbage), "a SEQUENCE, not X.509");
		expect_einval(types[i], bad_len, sizeof(bad_len), "indefinite length");
		expect_einval(types[i], f->ca_rsa_der.b, f->ca_rsa_der.n / 2, "truncated DER");
		expect_einval(types[i], f->ca_rsa_der.b, f->ca_rsa_der.n - 1, "one byte short");
		expect_einval(types[i], trailing, f->ca_rsa_der.n + 1, "a stray byte after");
		expect_einval(types[i], bad_b64, strlen(bad_b64), "bad base64");
		expect_einval(types[i], not_x509, strlen(not_x509), "PEM, not X.509");
		expect_einval(types[i], unfinished, strlen(unfinished), "no END line");
		expect_einval(types[i], f->ca_rsa_pem.b, f->ca_rsa_pem.n / 2, "truncated PEM");
		expect_einval(types[i], f->rsa_p8_pem.b, f->rsa_p8_pem.n, "a key");
		expect_einval(types[i], f->rsa_trad_der.b, f->rsa_trad_der.n, "a DER key");
		expect_einval(types[i], pem_mix, mixlen, "a certificate, then a key");
	}
	free(pem_mix);
}

UTEST(add_einval_keys)
{
	const struct fx *f = F();
	const enum tls_credential_type k = TLS_CREDENTIAL_PRIVATE_KEY;
	static const unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned char *two;

	two = malloc(f->rsa_trad_pem.n + f->ec_trad_pem.n);
	cr_assert_not_null(two);
	memcpy(two, f->rsa_trad_pem.b, f->rsa_trad_pem.n);
	memcpy(two + f->rsa_trad_pem.n, f->ec_trad_pem.b, f->ec_trad_pem.n);

	expect_einval(k, f->rsa_enc_pem.b, f->rsa_enc_pem.n, "encrypted PKCS#8");
	expect_einval(k, two, f->rsa_trad_pem.n + f->ec_trad_pem.n, "two keys");
	expect_einval(k, garbage, sizeof(garbage), "a SEQUENCE, not a key");
	expect_einval(k, f->rsa_trad_der.b, f->rsa_trad_der.n / 2, "truncated DER");
	expect_einval(k, f->rsa_p8_der.b, f->rsa_p8_der.n - 1, "one byte short");
	expect_einval(k, f->ec_trad_pem.b, f->ec_trad_pem.n / 2, "truncated PEM");
	expect_einval(k, f->ca_rsa_pem.b, f->ca_rsa_pem.n, "a certificate");
	expect_einval(k, f->ca_rsa_der.b, f->ca_rsa_der.n, "a DER certificate");
	expect_einval(k, "secret", 6, "text");
	free(two);
}

UTEST(psk_bytes_are_not_parsed)
{
	static const unsigned char junk[] = { 0x30, 0xff, 0x00 };

	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK, junk, sizeof(junk)), 0);
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK_ID, "-----BEGIN x", 12), 0);
	del(1, TLS_CREDENTIAL_PSK);
	del(1, TLS_CREDENTIAL_PSK_ID);
}

/* ---- formats ------------------------------------------------------------ */

UTEST(der_and_pem_accepted)
{
	const struct fx *f = F();
	const struct file *certs[] = {
		&f->ca_rsa_pem, &f->ca_rsa_der, &f->ca_ec_pem, &f->ca_ec_der,
		&f->leaf_rsa_pem, &f->leaf_rsa_der, &f->chain_rsa_pem, &f->chain_rsa_der,
	};
	const struct file *keys[] = {
		&f->rsa_trad_pem, &f->rsa_trad_der, &f->rsa_p8_pem, &f->rsa_p8_der,
		&f->ec_params_pem, &f->ec_trad_pem, &f->ec_trad_der, &f->ec_p8_pem,
		&f->ec_p8_der,
	};
	size_t i;

	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		cr_expect_eq(add_file(1, TLS_CREDENTIAL_CA_CERTIFICATE, certs[i]), 0, "CA %zu", i);
		cr_expect_eq(add_file(1, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, certs[i]), 0,
			     "cert %zu", i);
		tls_credential_delete(1, TLS_CREDENTIAL_CA_CERTIFICATE);
		tls_credential_delete(1, TLS_CREDENTIAL_PUBLIC_CERTIFICATE);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cr_expect_eq(add_file(1, TLS_CREDENTIAL_PRIVATE_KEY, keys[i]), 0, "key %zu", i);
		tls_credential_delete(1, TLS_CREDENTIAL_PRIVATE_KEY);
	}
}

UTEST(pem_with_its_nul_and_crlf)
{
	const struct fx *f = F();
	static unsigned char crlf[16384];
	size_t i, n = 0;

	/* sizeof("-----BEGIN ...") counts the NUL: Zephyr code passes that */
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, f->ca_ec_pem.b,
					f->ca_ec_pem.n + 1), 0);
	for (i = 0; i < f->ca_rsa_pem.n; i++) {
		if (f->ca_rsa_pem.b[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = f->ca_rsa_pem.b[i];
	}
	n -= 2; /* and no line end after the END line */
	cr_assert_eq(tls_credential_add(2, TLS_CREDENTIAL_CA_CERTIFICATE, crlf, n), 0);
	del(1, TLS_CREDENTIAL_CA_CERTIFICATE);
	del(2, TLS_CREDENTIAL_CA_CERTIFICATE);
}

/* ---- -ENOMEM ------------------------------------------------------------ */

UTEST(table_full)
{
	int i;

	for (i = 0; i < CONFIG_TLS_MAX_CREDENTIALS_NUMBER; i++)
		cr_assert_eq(tls_credential_add(i, TLS_CREDENTIAL_PSK, "k", 1), 0, "entry %d", i);
	cr_assert_eq(zs_cred_count(), CONFIG_TLS_MAX_CREDENTIALS_NUMBER);
	cr_assert_eq(tls_credential_add(i, TLS_CREDENTIAL_PSK, "k", 1), -ENOMEM);
	cr_assert_eq(tls_credential_add(i, TLS_CREDENTIAL_PSK_ID, "k", 1), -ENOMEM);
	cr_assert_eq(tls_credential_add(0, TLS_CREDENTIAL_PSK, "k", 1), -EEXIST,
		     "a duplicate is still a duplicate");
	cr_assert_eq(tls_credential_add(i, TLS_CREDENTIAL_PSK, NULL, 1), -EINVAL);
	del(3, TLS_CREDENTIAL_PSK);
	cr_assert_eq(tls_credential_add(i, TLS_CREDENTIAL_PSK, "k", 1), 0, "a slot again");
	cr_assert_eq(tls_credential_add(3, TLS_CREDENTIAL_PSK, "k", 1), -ENOMEM);
	for (i = 0; i <= CONFIG_TLS_MAX_CREDENTIALS_NUMBER; i++) {
		if (i != 3)
			del(i, TLS_CREDENTIAL_PSK);
	}
}

UTEST(arena_full_and_recovers)
{
	const struct fx *f = F();
	sec_tag_t tag;
	size_t per_ta, copies, before;
	unsigned char *bundle;
	int rc = 0;

	cr_assert_eq(add_file(1, TLS_CREDENTIAL_CA_CERTIFICATE, &f->ca_rsa_der), 0);
	per_ta = zs_cred_arena_used();
	del(1, TLS_CREDENTIAL_CA_CERTIFICATE);

	/* bundles of about a third of the arena: full after 2 or 3 */
	copies = CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA / per_ta / 3 + 1;
	bundle = repeat(&f->ca_rsa_der, copies);
	for (tag = 0; tag < CONFIG_TLS_MAX_CREDENTIALS_NUMBER; tag++) {
		before = zs_cred_arena_used();
		rc = tls_credential_add(tag, TLS_CREDENTIAL_CA_CERTIFICATE, bundle,
					copies * f->ca_rsa_der.n);
		if (rc != 0)
			break;
	}
	cr_assert_eq(rc, -ENOMEM, "the arena fills before the table");
	cr_assert_geq(tag, 2);
	cr_assert_eq(zs_cred_count(), (size_t)tag, "the failed add left no entry");
	cr_assert_eq(zs_cred_arena_used(), before, "and no block");

	/* a small credential still fits in what is left; a bundle does not */
	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_CA_CERTIFICATE, &f->ca_ec_der), 0);
	del(tag, TLS_CREDENTIAL_CA_CERTIFICATE);
	del(0, TLS_CREDENTIAL_CA_CERTIFICATE);
	cr_assert_eq(tls_credential_add(tag, TLS_CREDENTIAL_CA_CERTIFICATE, bundle,
					copies * f->ca_rsa_der.n), 0, "room again");
	del(tag, TLS_CREDENTIAL_CA_CERTIFICATE);
	while (--tag > 0)
		del(tag, TLS_CREDENTIAL_CA_CERTIFICATE);
	cr_assert_eq(zs_cred_arena_used(), 0);

	/* after all that coalescing, one block as big as the arena allows */
	copies = CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA / per_ta * 9 / 10;
	free(bundle);
	bundle = repeat(&f->ca_rsa_der, copies);
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, bundle,
					copies * f->ca_rsa_der.n), 0, "%zu anchors", copies);
	del(1, TLS_CREDENTIAL_CA_CERTIFICATE);
	free(bundle);
}

UTEST(too_many_trust_anchors)
{
	const struct fx *f = F();
	const size_t max = CONFIG_ZSOCK_TLS_MAX_TRUST_ANCHORS;
	unsigned char *bundle = repeat(&f->ca_ec_der, max + 1);
	sec_tag_t tags[] = { 1, 2 };
	struct zs_tls_creds c;
	size_t used;

	/* exactly max: fine */
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, bundle,
					max * f->ca_ec_der.n), 0);
	cr_assert_eq(zs_cred_acquire(tags, 1, false, &c), 0);
	cr_assert_eq(c.n_ta, max);
	zs_cred_release(&c);

	/* one more in a second tag: -ENOMEM, nothing held */
	cr_assert_eq(add_file(2, TLS_CREDENTIAL_CA_CERTIFICATE, &f->ca_rsa_der), 0);
	used = zs_cred_arena_used();
	cr_assert_eq(zs_cred_acquire(tags, 2, false, &c), -ENOMEM);
	cr_assert_eq(c.n_held, 0);
	cr_assert_eq(c.n_ta, 0);
	del(1, TLS_CREDENTIAL_CA_CERTIFICATE);
	del(2, TLS_CREDENTIAL_CA_CERTIFICATE);
	cr_assert_eq(zs_cred_arena_used(), 0, "the failed acquire held nothing");

	/* max + 1 in one credential: it registers, but no socket can take it */
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, bundle,
					(max + 1) * f->ca_ec_der.n), 0);
	used = zs_cred_arena_used();
	cr_assert_eq(zs_cred_acquire(tags, 1, true, &c), -ENOMEM);
	cr_assert_eq(zs_cred_arena_used(), used);
	del(1, TLS_CREDENTIAL_CA_CERTIFICATE);
	free(bundle);
}

/* ---- what zs_cred_acquire() resolves ------------------------------------ */

UTEST(acquire_rsa)
{
	const struct fx *f = F();
	sec_tag_t tag = 10;
	struct zs_tls_creds c;
	br_skey_decoder_context sk;
	const br_rsa_private_key *want;

	add_set(tag, &f->chain_rsa_pem, &f->rsa_p8_pem, &f->ca_rsa_pem);
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), 0);

	cr_assert_eq(c.n_ta, 1);
	cr_assert_eq(c.ta[0].flags, BR_X509_TA_CA);
	cr_assert_eq(c.ta[0].pkey.key_type, BR_KEYTYPE_RSA);
	cr_assert_eq(c.ta[0].pkey.key.rsa.nlen, 256);
	cr_assert_eq(c.ta[0].pkey.key.rsa.elen, 3);
	cr_assert_gt(c.ta[0].dn.len, 10);
	cr_assert_not_null(memmem(c.ta[0].dn.data, c.ta[0].dn.len, "zsock RSA CA", 12),
			   "the DN holds the CN");

	cr_assert_eq(c.chain_len, 2);
	cr_assert_eq(c.chain[0].data_len, f->leaf_rsa_der.n);
	cr_assert_arr_eq(c.chain[0].data, f->leaf_rsa_der.b, f->leaf_rsa_der.n);
	cr_assert_eq(c.chain[1].data_len, f->ca_rsa_der.n);
	cr_assert_arr_eq(c.chain[1].data, f->ca_rsa_der.b, f->ca_rsa_der.n);
	cr_assert_eq(c.chain_signer_key_type, BR_KEYTYPE_RSA);

	cr_assert_eq(c.key_type, BR_KEYTYPE_RSA);
	cr_assert_not_null(c.rsa);
	cr_assert_null(c.ec);
	cr_assert_eq(c.rsa->n_bitlen, 2048);
	decode_key(&f->rsa_p8_der, &sk);
	want = br_skey_decoder_get_rsa(&sk);
	cr_assert_eq(c.rsa->plen, want->plen);
	cr_assert_arr_eq(c.rsa->p, want->p, want->plen);
	cr_assert_arr_eq(c.rsa->q, want->q, want->qlen);
	cr_assert_arr_eq(c.rsa->dp, want->dp, want->dplen);
	cr_assert_arr_eq(c.rsa->dq, want->dq, want->dqlen);
	cr_assert_arr_eq(c.rsa->iq, want->iq, want->iqlen);

	cr_assert_null(c.psk);
	cr_assert_eq(c.n_held, 3, "the CA, chain and key blocks");
	zs_cred_release(&c);
	cr_assert_eq(c.n_held, 0);
	del_set(tag);
}

UTEST(acquire_ec)
{
	const struct fx *f = F();
	sec_tag_t tag = 11;
	struct zs_tls_creds c;
	br_skey_decoder_context sk;
	const br_ec_private_key *want;

	add_set(tag, &f->leaf_ec_der, &f->ec_trad_der, &f->ca_ec_der);
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), 0);
	cr_assert_eq(c.n_ta, 1);
	cr_assert_eq(c.ta[0].flags, BR_X509_TA_CA);
	cr_assert_eq(c.ta[0].pkey.key_type, BR_KEYTYPE_EC);
	cr_assert_eq(c.ta[0].pkey.key.ec.curve, BR_EC_secp256r1);
	cr_assert_eq(c.ta[0].pkey.key.ec.qlen, 65);
	cr_assert_eq(c.ta[0].pkey.key.ec.q[0], 0x04, "an uncompressed point");
	cr_assert_eq(c.chain_len, 1);
	cr_assert_arr_eq(c.chain[0].data, f->leaf_ec_der.b, f->leaf_ec_der.n);
	cr_assert_eq(c.chain_signer_key_type, BR_KEYTYPE_EC);
	cr_assert_eq(c.key_type, BR_KEYTYPE_EC);
	cr_assert_null(c.rsa);
	cr_assert_not_null(c.ec);
	cr_assert_eq(c.ec->curve, BR_EC_secp256r1);
	decode_key(&f->ec_p8_der, &sk);
	want = br_skey_decoder_get_ec(&sk);
	cr_assert_eq(c.ec->xlen, want->xlen);
	cr_assert_arr_eq(c.ec->x, want->x, want->xlen);
	zs_cred_release(&c);
	del_set(tag);
}

UTEST(acquire_signer_and_non_ca_anchor)
{
	const struct fx *f = F();
	sec_tag_t tag = 12;
	struct zs_tls_creds c;

	/* an EC leaf signed by the RSA CA; the leaf itself trusted directly */
	add_set(tag, &f->leaf_ecrsa_pem, &f->ec_params_pem, &f->leaf_rsa_pem);
	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c), 0);
	cr_assert_eq(c.key_type, BR_KEYTYPE_EC);
	cr_assert_eq(c.chain_signer_key_type, BR_KEYTYPE_RSA);
	cr_assert_eq(c.n_ta, 1);
	cr_assert_eq(c.ta[0].flags, 0, "not a CA: direct trust only");
	cr_assert_eq(c.ta[0].pkey.key_type, BR_KEYTYPE_RSA);
	zs_cred_release(&c);
	del_set(tag);
}

UTEST(acquire_ca_bundle_pem)
{
	const struct fx *f = F();
	static unsigned char pem[16384];
	sec_tag_t tag = 13;
	struct zs_tls_creds c;

	memcpy(pem, f->ca_rsa_pem.b, f->ca_rsa_pem.n);
	memcpy(pem + f->ca_rsa_pem.n, f->ca_ec_pem.b, f->ca_ec_pem.n);
	cr_assert_eq(tls_credential_add(tag, TLS_CREDENTIAL_CA_CERTIFICATE, pem,
					f->ca_rsa_pem.n + f->ca_ec_pem.n), 0);
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), 0);
	cr_assert_eq(c.n_ta, 2);
	cr_assert_eq(c.ta[0].pkey.key_type, BR_KEYTYPE_RSA);
	cr_assert_eq(c.ta[1].pkey.key_type, BR_KEYTYPE_EC);
	cr_assert_eq(c.n_held, 1, "one block for both anchors");
	zs_cred_release(&c);
	del(tag, TLS_CREDENTIAL_CA_CERTIFICATE);
}

UTEST(acquire_tag_order_and_absent_tags)
{
	const struct fx *f = F();
	sec_tag_t ab[] = { 999, 1, 998, 2 }, ba[] = { 2, 1 }, none[] = { 5, 6 };
	struct zs_tls_creds c;

	add_set(1, &f->leaf_rsa_der, &f->rsa_trad_pem, &f->ca_rsa_der);
	add_set(2, &f->leaf_ec_pem, &f->ec_p8_pem, &f->ca_ec_pem);

	cr_assert_eq(zs_cred_acquire(ab, 4, false, &c), 0, "absent tags are skipped");
	cr_assert_eq(c.n_ta, 2);
	cr_assert_eq(c.ta[0].pkey.key_type, BR_KEYTYPE_RSA);
	cr_assert_eq(c.ta[1].pkey.key_type, BR_KEYTYPE_EC);
	cr_assert_eq(c.key_type, BR_KEYTYPE_RSA, "the first tag with cert and key");
	zs_cred_release(&c);

	cr_assert_eq(zs_cred_acquire(ba, 2, false, &c), 0);
	cr_assert_eq(c.ta[0].pkey.key_type, BR_KEYTYPE_EC);
	cr_assert_eq(c.ta[1].pkey.key_type, BR_KEYTYPE_RSA);
	cr_assert_eq(c.key_type, BR_KEYTYPE_EC);
	cr_assert_arr_eq(c.chain[0].data, f->leaf_ec_der.b, f->leaf_ec_der.n);
	zs_cred_release(&c);

	/* a certificate without a key in the first tag does not count */
	del(2, TLS_CREDENTIAL_PRIVATE_KEY);
	cr_assert_eq(zs_cred_acquire(ba, 2, false, &c), 0);
	cr_assert_eq(c.key_type, BR_KEYTYPE_RSA);
	cr_assert_eq(c.chain_len, 1);
	cr_assert_arr_eq(c.chain[0].data, f->leaf_rsa_der.b, f->leaf_rsa_der.n);
	zs_cred_release(&c);
	cr_assert_eq(add_file(2, TLS_CREDENTIAL_PRIVATE_KEY, &f->ec_p8_der), 0);

	cr_assert_eq(zs_cred_acquire(none, 2, false, &c), 0, "nothing: not an error");
	cr_assert_eq(c.n_ta, 0);
	cr_assert_null(c.chain);
	cr_assert_eq(c.key_type, 0);
	cr_assert_eq(c.n_held, 0);
	zs_cred_release(&c);
	cr_assert_eq(zs_cred_acquire(NULL, 0, false, &c), 0);
	zs_cred_release(&c);
	del_set(1);
	del_set(2);
}

UTEST(acquire_psk)
{
	static const char psk1[] = "psk-one", id1[] = "id-one", psk2[] = "psk-two";
	sec_tag_t tags[] = { 3, 1, 2 };
	struct zs_tls_creds c;

	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK, psk1, 7), 0);
	cr_assert_eq(tls_credential_add(1, TLS_CREDENTIAL_PSK_ID, id1, 6), 0);
	cr_assert_eq(tls_credential_add(2, TLS_CREDENTIAL_PSK, psk2, 7), 0);
	cr_assert_eq(tls_credential_add(3, TLS_CREDENTIAL_PSK_ID, "lonely", 6), 0);
	cr_assert_eq(zs_cred_acquire(tags, 3, false, &c), 0);
	cr_assert_eq((const void *)c.psk, (const void *)psk1, "the caller's bytes");
	cr_assert_eq(c.psk_len, 7);
	cr_assert_eq((const void *)c.psk_id, (const void *)id1, "from the PSK's tag");
	cr_assert_eq(c.psk_id_len, 6);
	cr_assert_eq(c.n_held, 0, "PSKs hold nothing");
	zs_cred_release(&c);
	del(1, TLS_CREDENTIAL_PSK);
	del(1, TLS_CREDENTIAL_PSK_ID);
	del(2, TLS_CREDENTIAL_PSK);
	del(3, TLS_CREDENTIAL_PSK_ID);
}

UTEST(release_of_a_zeroed_struct)
{
	struct zs_tls_creds c;

	memset(&c, 0, sizeof(c));
	zs_cred_release(&c);
	zs_cred_release(&c);
	cr_assert_eq(c.n_held, 0);
}

/* ---- TLS_CERT_NOCOPY: the caller's buffer or the store's copy ------------ */

UTEST(nocopy_points_into_the_callers_buffer)
{
	const struct fx *f = F();
	const struct file *der = &f->chain_rsa_der;
	sec_tag_t tag = 20;
	struct zs_tls_creds c;
	size_t used;

	add_set(tag, der, &f->rsa_trad_der, &f->ca_rsa_der);
	used = zs_cred_arena_used();
	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c), 0);
	cr_assert_eq(c.chain_len, 2);
	cr_assert_eq((const void *)c.chain[0].data, (const void *)der->b);
	cr_assert(within(c.chain[1].data, der->b, der->n));
	cr_assert_eq(c.chain[1].data_len, f->ca_rsa_der.n);
	cr_assert_eq(zs_cred_arena_used(), used, "no copy made");
	zs_cred_release(&c);
	del_set(tag);
}

UTEST(the_copy_is_made_once)
{
	const struct fx *f = F();
	const struct file *der = &f->chain_rsa_der;
	sec_tag_t tag = 21;
	struct zs_tls_creds c1, c2, c3;
	size_t used0, used1;

	add_set(tag, der, &f->rsa_trad_der, &f->ca_rsa_der);
	used0 = zs_cred_arena_used();
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c1), 0);
	used1 = zs_cred_arena_used();
	cr_assert_geq(used1 - used0, der->n, "the copy is in the arena");
	cr_assert(!within(c1.chain[0].data, der->b, der->n));
	cr_assert(!within(c1.chain[1].data, der->b, der->n));
	cr_assert_arr_eq(c1.chain[0].data, f->leaf_rsa_der.b, f->leaf_rsa_der.n);
	cr_assert_arr_eq(c1.chain[1].data, f->ca_rsa_der.b, f->ca_rsa_der.n);

	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c2), 0);
	cr_assert_eq(zs_cred_arena_used(), used1, "no second copy");
	cr_assert_eq(c2.chain, c1.chain, "shared");
	zs_cred_release(&c1);
	zs_cred_release(&c2);
	cr_assert_eq(zs_cred_arena_used(), used1, "the copy stays with the credential");

	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c3), 0);
	cr_assert(within(c3.chain[0].data, der->b, der->n), "nocopy still may");
	zs_cred_release(&c3);
	del_set(tag);
}

UTEST(pem_chain_is_always_in_the_arena)
{
	const struct fx *f = F();
	const struct file *pem = &f->chain_rsa_pem;
	sec_tag_t tag = 22;
	struct zs_tls_creds c;
	size_t used;

	add_set(tag, pem, &f->rsa_p8_der, &f->ca_ec_pem);
	used = zs_cred_arena_used();
	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c), 0);
	cr_assert(!within(c.chain[0].data, pem->b, pem->n));
	cr_assert_arr_eq(c.chain[0].data, f->leaf_rsa_der.b, f->leaf_rsa_der.n);
	zs_cred_release(&c);
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), 0);
	cr_assert_eq(zs_cred_arena_used(), used, "PEM needs no second copy");
	zs_cred_release(&c);
	del_set(tag);
}

UTEST(copy_fails_with_enomem_when_the_arena_is_full)
{
	const struct fx *f = F();
	const struct file *der = &f->chain_rsa_der;
	sec_tag_t tag = 23, filler = 24;
	struct zs_tls_creds c;
	size_t copies, used;
	unsigned char *bundle;
	int rc;

	add_set(tag, der, &f->ec_trad_der, &f->ca_ec_der);
	/* fill the arena with EC anchors, most of one DER chain's size at a time */
	copies = CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA / f->ca_ec_der.n + 1;
	bundle = repeat(&f->ca_ec_der, copies);
	while (copies > 0) {
		rc = tls_credential_add(filler, TLS_CREDENTIAL_CA_CERTIFICATE, bundle,
					copies * f->ca_ec_der.n);
		if (rc == 0)
			filler++;
		else
			copies = copies * 3 / 4;
	}
	cr_assert_lt(zs_cred_count(), CONFIG_TLS_MAX_CREDENTIALS_NUMBER,
		     "the arena filled up, not the table");
	used = zs_cred_arena_used();
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), -ENOMEM, "no room for the copy");
	cr_assert_eq(c.n_held, 0);
	cr_assert_eq(zs_cred_arena_used(), used);
	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c), 0, "nocopy needs none");
	zs_cred_release(&c);
	while (filler-- > 24)
		del(filler, TLS_CREDENTIAL_CA_CERTIFICATE);
	del_set(tag);
	free(bundle);
}

/* ---- delete while acquired ---------------------------------------------- */

UTEST(delete_while_acquired)
{
	const struct fx *f = F();
	static struct file chain, key, ca;
	sec_tag_t tag = 30;
	struct zs_tls_creds c;
	br_skey_decoder_context sk;
	const br_rsa_private_key *want;
	unsigned char dn[1024];
	size_t dnlen, used_new;
	char buf[16];
	size_t len = sizeof(buf);

	chain = f->chain_rsa_der;
	key = f->rsa_trad_der;
	ca = f->ca_rsa_pem;
	add_set(tag, &chain, &key, &ca);
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), 0);
	dnlen = c.ta[0].dn.len;
	memcpy(dn, c.ta[0].dn.data, dnlen);
	del_set(tag);

	cr_assert_eq(tls_credential_get(tag, TLS_CREDENTIAL_PRIVATE_KEY, buf, &len), -ENOENT);
	cr_assert_eq(zs_cred_count(), 0, "gone from the table at once");
	cr_assert_gt(zs_cred_arena_used(), 0, "but the blocks live");

	/* the caller may now reuse its buffers: the acquired data stands */
	memset(chain.b, 0xaa, chain.n);
	memset(key.b, 0xaa, key.n);
	memset(ca.b, 0xaa, ca.n);
	cr_assert_arr_eq(c.chain[0].data, f->leaf_rsa_der.b, f->leaf_rsa_der.n);
	cr_assert_arr_eq(c.chain[1].data, f->ca_rsa_der.b, f->ca_rsa_der.n);
	cr_assert_eq(c.ta[0].dn.len, dnlen);
	cr_assert_arr_eq(c.ta[0].dn.data, dn, dnlen);
	decode_key(&f->rsa_trad_der, &sk);
	want = br_skey_decoder_get_rsa(&sk);
	cr_assert_arr_eq(c.rsa->p, want->p, want->plen);

	/* the tag can be filled again while the old one is held */
	add_set(tag, &f->leaf_ec_pem, &f->ec_p8_pem, &f->ca_ec_pem);
	zs_cred_release(&c);
	used_new = zs_cred_arena_used();
	cr_assert_gt(used_new, 0);
	cr_assert_eq(zs_cred_acquire(&tag, 1, false, &c), 0);
	cr_assert_eq(c.key_type, BR_KEYTYPE_EC);
	zs_cred_release(&c);
	cr_assert_eq(zs_cred_arena_used(), used_new);
	del_set(tag);
}

UTEST(freed_key_bytes_are_wiped)
{
	const struct fx *f = F();
	sec_tag_t tag = 31;
	struct zs_tls_creds c;
	const unsigned char *p, *x;
	size_t plen, xlen, i;

	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, &f->leaf_rsa_der), 0);
	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_PRIVATE_KEY, &f->rsa_p8_pem), 0);
	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c), 0);
	p = c.rsa->p;
	plen = c.rsa->plen;
	zs_cred_release(&c);
	del(tag, TLS_CREDENTIAL_PRIVATE_KEY);
	cr_assert_eq(add_file(tag, TLS_CREDENTIAL_PRIVATE_KEY, &f->ec_trad_pem), 0);
	cr_assert_eq(zs_cred_acquire(&tag, 1, true, &c), 0);
	x = c.ec->x;
	xlen = c.ec->xlen;
	zs_cred_release(&c);
	del(tag, TLS_CREDENTIAL_PRIVATE_KEY);
	del(tag, TLS_CREDENTIAL_PUBLIC_CERTIFICATE);
	/* the arena is static memory: reading a freed block is well defined */
	for (i = 0; i < plen; i++)
		cr_assert_eq(p[i], 0, "RSA p byte %zu left in the arena", i);
	for (i = 0; i < xlen; i++)
		cr_assert_eq(x[i], 0, "EC x byte %zu left in the arena", i);
}

/* ---- threads ------------------------------------------------------------ */

#define RACERS 4
#define LOOPS  150
#define SHARED_TAG 500

static _Atomic unsigned race_bad;
static _Atomic unsigned race_full;

static void race_check(bool ok)
{
	if (!ok)
		atomic_fetch_add(&race_bad, 1);
}

/* 0 or -ENOMEM (a smaller arena than the default may fill) */
static void race_rc(int rc)
{
	if (rc == -ENOMEM)
		atomic_fetch_add(&race_full, 1);
	else
		race_check(rc == 0);
}

static void *racer(void *arg)
{
	const struct fx *f = &fx;
	sec_tag_t own = (sec_tag_t)(intptr_t)arg, tags[] = { own, SHARED_TAG };
	struct zs_tls_creds c;
	bool shared = false;
	int i, rc;

	for (i = 0; i < LOOPS; i++) {
		race_rc(add_file(own, TLS_CREDENTIAL_CA_CERTIFICATE,
				 i & 1 ? &f->ca_rsa_der : &f->ca_ec_pem));
		race_rc(add_file(own, TLS_CREDENTIAL_PUBLIC_CERTIFICATE,
				 i & 2 ? &f->chain_rsa_der : &f->chain_rsa_pem));
		race_rc(add_file(own, TLS_CREDENTIAL_PRIVATE_KEY, &f->rsa_trad_der));
		if (own == 1 && shared) {
			race_check(tls_credential_delete(SHARED_TAG,
							 TLS_CREDENTIAL_CA_CERTIFICATE) == 0);
			shared = false;
		} else if (own == 1) {
			rc = add_file(SHARED_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, &f->ca_ec_der);
			race_rc(rc);
			shared = rc == 0;
		}
		rc = zs_cred_acquire(tags, 2, i % 3 == 0, &c);
		race_rc(rc);
		if (rc == 0 && c.chain != NULL) {
			race_check(c.chain_len == 2 && c.key_type == BR_KEYTYPE_RSA);
			race_check(c.chain[0].data_len == f->leaf_rsa_der.n &&
				   memcmp(c.chain[0].data, f->leaf_rsa_der.b,
					  f->leaf_rsa_der.n) == 0);
		}
		if (rc == 0)
			race_check(c.n_ta <= 2);
		if (i % 4 == 0) /* sometimes the delete comes first */
			zs_cred_release(&c);
		tls_credential_delete(own, TLS_CREDENTIAL_CA_CERTIFICATE);
		tls_credential_delete(own, TLS_CREDENTIAL_PUBLIC_CERTIFICATE);
		tls_credential_delete(own, TLS_CREDENTIAL_PRIVATE_KEY);
		if (rc == 0 && c.chain != NULL)
			race_check(memcmp(c.chain[1].data, f->ca_rsa_der.b,
					  f->ca_rsa_der.n) == 0);
		zs_cred_release(&c);
	}
	return NULL;
}

UTEST(threads_add_acquire_delete, .timeout = 60)
{
	pthread_t t[RACERS];
	intptr_t i;

	F(); /* made before the threads read it */
	for (i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, racer, (void *)(i + 1)), 0);
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	tls_credential_delete(SHARED_TAG, TLS_CREDENTIAL_CA_CERTIFICATE);
	cr_log_info("credential race: %u -ENOMEM", atomic_load(&race_full));
	cr_assert_eq(atomic_load(&race_bad), 0, "wrong results under contention");
	cr_assert_eq(zs_cred_count(), 0);
	cr_assert_eq(zs_cred_arena_used(), 0);
}
