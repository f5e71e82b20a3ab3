/*
 * ECDHE_ECDSA in memory (dtls_pair.h): both suites with a verified chain,
 * the checks that must refuse (wrong name, untrusted chain, a lying
 * signature), verify_none, fragmentation of the Certificate message, loss.
 * The PKI is made with the openssl CLI (tests/common/zt_certs.h): without
 * it the tests print "skipped: ..." and skip.
 */
#include <criterion/criterion.h>

#include "dtls_pair.h"
#include "dtls_pki.h"
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <stdio.h>

static struct dp_pair P;
static struct dtls_pki K;

static void setup(uint64_t seed, uint16_t suite)
{
	pki_need_openssl();
	pki_load(&K);
	dp_init(&P, seed);
	static uint16_t s;
	s = suite;
	dp_client_suite(&P, &s);
	P.c.cfg.psk_len = 0;
	pki_client_cfg(&P.c.cfg, &K);
	pki_server_cfg(&P.s.cfg, &K);
}

/* The server presents the self-signed ec_self alone, with its key. */
static void self_signed(void)
{
	P.s.cfg.chain = K.self;
	P.s.cfg.chain_len = 1;
	P.s.cfg.ec_key = br_skey_decoder_get_ec(&K.self_key);
}

static void run_ok(void)
{
	cr_assert_eq(dp_start(&P), 0);
	dp_settle(&P, 40);
	dp_assert_done(&P);
	P.loss = 0;
	cr_assert_gt(dp_send(&P, &P.c, "ping", 4), 0);
	cr_assert_gt(dp_send(&P, &P.s, "pong!", 5), 0);
	while (dp_step(&P))
		;
	cr_assert_eq(P.s.log_len, 4);
	cr_assert_arr_eq(P.s.log, "ping", 4);
	cr_assert_eq(P.c.log_len, 5);
}

static void run_refused(int alert)
{
	cr_assert_eq(dp_start(&P), 0);
	dp_run(&P, 5);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_alert_sent(&P.c.d), alert, "sent %d",
		     zs_dtls_alert_sent(&P.c.d));
	cr_assert_eq(zs_dtls_alert_received(&P.s.d), alert);
}

Test(dtls_ecdhe, ccm8, .timeout = 60)
{
	setup(1, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	run_ok();
	cr_assert_eq(zs_dtls_suite(&P.s.d),
		     ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
}

Test(dtls_ecdhe, gcm, .timeout = 60)
{
	setup(2, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	run_ok();
	cr_assert_eq(zs_dtls_suite(&P.c.d),
		     ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
}

/* Server with both kinds configured and its own order; client offers all. */
Test(dtls_ecdhe, mixed_lists, .timeout = 60)
{
	setup(3, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	P.c.cfg.n_suites = 0;               /* everything cfg allows */
	P.c.cfg.psk_len = sizeof dp_psk;
	P.s.cfg.psk_lookup = dp_lookup;
	static const uint16_t ss[] = { ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
				       ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	P.s.cfg.suites = ss;
	P.s.cfg.n_suites = 2;
	run_ok();
	cr_assert_eq(zs_dtls_suite(&P.c.d),
		     ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
}

Test(dtls_ecdhe, fragmented_certificate, .timeout = 60)
{
	setup(4, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.s.cfg.mtu = 100;
	P.c.cfg.mtu = 200;
	run_ok();
	cr_assert_gt(zs_dtls_stats(&P.s.d)->tx_records, 15);
}

Test(dtls_ecdhe, lossy, .timeout = 60)
{
	for (uint64_t seed = 1; seed <= 8; seed++) {
		setup(seed * 31, seed & 1
					 ? ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
					 : ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
		P.loss = 20;
		P.reorder = 25;
		P.dup = 10;
		P.s.cfg.mtu = 300;
		P.c.cfg.timeout_max_ms = P.s.cfg.timeout_max_ms = 60000;
		run_ok();
	}
}

Test(dtls_ecdhe, wrong_name, .timeout = 60)
{
	setup(5, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.c.cfg.server_name = "other.test";
	run_refused(ZS_ALERT_BAD_CERTIFICATE);
}

Test(dtls_ecdhe, untrusted_chain, .timeout = 60)
{
	setup(6, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	self_signed();
	run_refused(ZS_ALERT_BAD_CERTIFICATE);
}

Test(dtls_ecdhe, verify_none_takes_self_signed, .timeout = 60)
{
	setup(7, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	self_signed();
	P.c.cfg.tas = NULL;
	P.c.cfg.n_tas = 0;
	P.c.cfg.verify_none = true;
	run_ok();
}

/* The server signs with a key that is not its certificate's: the client
 * refuses the ServerKeyExchange. */
Test(dtls_ecdhe, key_not_the_certificates, .timeout = 60)
{
	setup(8, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.s.cfg.ec_key = br_skey_decoder_get_ec(&K.self_key);
	run_refused(ZS_ALERT_DECRYPT_ERROR);
}

/* A time outside the chain's validity. */
Test(dtls_ecdhe, expired_at_given_time, .timeout = 60)
{
	setup(9, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.c.cfg.x509_days = K.days + 365 * 200;
	run_refused(ZS_ALERT_BAD_CERTIFICATE);
}

/* TLS_PEER_VERIFY_OPTIONAL: the chain is checked, a failure recorded
 * (BearSSL's code), the handshake goes on with the leaf's key. */
Test(dtls_ecdhe, verify_optional, .timeout = 60)
{
	/* a chain from an unknown CA: 62, BR_ERR_X509_NOT_TRUSTED */
	setup(20, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	static struct zs_dtls_cache cache;
	zs_dtls_cache_init(&cache);
	self_signed();
	P.s.cfg.cache = &cache;
	P.c.cfg.verify_optional = true;
	run_ok();
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), BR_ERR_X509_NOT_TRUSTED);
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), 62);
	cr_assert_eq(zs_dtls_verify_result(&P.s.d), -1, "server: nothing");
	/* such a session is not marked verified, and never offered where
	 * checks count (verify_optional among them) */
	struct zs_dtls_session sess;
	cr_assert_eq(zs_dtls_session_get(&P.c.d, &sess), 0);
	cr_assert_not(sess.flags & ZS_DTLS_SESSION_VERIFIED);
	cr_assert_eq(zs_dtls_init(&P.c.d, &P.c.cfg, false), 0);
	cr_assert_eq(zs_dtls_session_set(&P.c.d, &sess), 0);
	/* a good chain, a wrong name: 56, BR_ERR_X509_BAD_SERVER_NAME */
	setup(21, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	P.c.cfg.server_name = "other.test";
	P.c.cfg.verify_optional = true;
	run_ok();
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), 56);
	/* a good chain: 0 */
	setup(22, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.c.cfg.verify_optional = true;
	run_ok();
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), 0);
	/* no trust anchors at all: every chain fails, the handshake not */
	setup(23, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.c.cfg.tas = NULL;
	P.c.cfg.n_tas = 0;
	P.c.cfg.verify_optional = true;
	run_ok();
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), 62);
	/* a key that is not the certificate's is still refused */
	setup(24, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	self_signed();
	P.s.cfg.ec_key = br_skey_decoder_get_ec(&K.leaf_key);
	P.c.cfg.verify_optional = true;
	run_refused(ZS_ALERT_DECRYPT_ERROR);
}

/* The verdict in the other modes: required gives the code with its
 * failure, verify_none (which wins over verify_optional) -1. */
Test(dtls_ecdhe, verify_result_other_modes, .timeout = 60)
{
	setup(25, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	run_ok();
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), 0);
	setup(26, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	P.c.cfg.server_name = "other.test";
	run_refused(ZS_ALERT_BAD_CERTIFICATE);
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), 56);
	setup(27, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	self_signed();
	P.c.cfg.verify_none = true;
	P.c.cfg.verify_optional = true;
	run_ok();
	cr_assert_eq(zs_dtls_verify_result(&P.c.d), -1);
}

/* ALPN rides along with certificates as with PSK. */
Test(dtls_ecdhe, alpn, .timeout = 60)
{
	static const char *const cl[] = { "coap", "mqtt" };
	static const char *const sl[] = { "mqtt" };
	setup(28, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	P.c.cfg.alpn = cl;
	P.c.cfg.n_alpn = 2;
	P.s.cfg.alpn = sl;
	P.s.cfg.n_alpn = 1;
	run_ok();
	cr_assert_eq(zs_dtls_alpn(&P.c.d), cl[1]);
	cr_assert_eq(zs_dtls_alpn(&P.s.d), sl[0]);
}

Test(dtls_ecdhe, config_checked)
{
	struct zs_dtls d;
	struct zs_dtls_config c = { .rand = dp_rand, .server = true };
	uint16_t s = ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
	c.suites = &s;
	c.n_suites = 1;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "no chain");
	c.server = false;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "no anchors");
	c.verify_optional = true;
	cr_assert_eq(zs_dtls_init(&d, &c, false), 0, "optional: none needed");
	c.verify_optional = false;
	c.verify_none = true;
	cr_assert_eq(zs_dtls_init(&d, &c, false), 0);
}

/* Damaged copies of real datagrams next to the originals, as in
 * test_dtls_mem.c, over the Certificate and ServerKeyExchange parsers:
 * each run completes or fails cleanly (ASan and UBSan watch). */
Test(dtls_ecdhe, mutated_datagrams, .timeout = 120)
{
	int done = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		setup(seed * 7, seed & 1
					? ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
					: ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
		P.mutate = 30;
		P.s.cfg.mtu = seed % 3 ? 200 : 0;
		cr_assert_eq(dp_start(&P), 0);
		dp_run(&P, 30);
		if (dp_done(&P))
			done++;
		else if (zs_dtls_state(&P.c.d) == ZS_DTLS_FAILED)
			cr_assert_lt(zs_dtls_error(&P.c.d), 0);
	}
	cr_log_info("mutated ECDHE runs: %d of 40 completed", done);
	cr_assert_gt(done, 8);
}
