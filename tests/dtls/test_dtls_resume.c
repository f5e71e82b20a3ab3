/*
 * Session resumption in the DTLS core (RFC 5246 s7.3, RFC 6347 s4.2.4
 * Figure 2), in memory (dtls_pair.h): a full handshake fills the server's
 * cache and the client exports its session; the next association offers
 * it and runs the abbreviated handshake (no Certificate, key exchange or
 * ServerHelloDone on the wire: dp_pair counts the plaintext handshake
 * messages each side sends). Then loss, reordering and duplication, the
 * reversed last flight, unknown and evicted IDs, LRU order, a tampered
 * master secret, another PSK identity, no cache, ECDHE_ECDSA, and the TLS
 * stream mode.
 */
#include <criterion/criterion.h>

#include "dtls_pair.h"
#include "dtls_pki.h"
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <stdio.h>

static struct dp_pair P;
static struct zs_dtls_cache C;
static struct dtls_pki K;

/* Like dp_start, offering sess (when not NULL); returns what
 * zs_dtls_session_set() said (1 offered, 0 not). */
static int start_with(struct dp_pair *p, const struct zs_dtls_session *sess)
{
	cr_assert_eq(zs_dtls_init(&p->c.d, &p->c.cfg, false), 0);
	int offered = 0;
	if (sess) {
		offered = zs_dtls_session_set(&p->c.d, sess);
		cr_assert_geq(offered, 0);
	}
	cr_assert_eq(zs_dtls_connect(&p->c.d, p->now), 0);
	return offered;
}

/* Run to completion, through loss: the side whose last flight was lost
 * waits for the peer's timer. */
static void run_done(struct dp_pair *p)
{
	dp_settle(p, 200);
	dp_assert_done(p);
}

/* Data both ways, no loss: every record once. */
static void data_ok(struct dp_pair *p)
{
	p->loss = 0;
	while (dp_step(p))
		;
	p->c.log_len = p->s.log_len = 0;
	for (int i = 0; i < 5; i++) {
		cr_assert_gt(dp_send(p, &p->c, "ping", 4), 0);
		cr_assert_gt(dp_send(p, &p->s, "pong!", 5), 0);
	}
	while (dp_step(p))
		;
	cr_assert_eq(p->s.log_len, 20);
	cr_assert_arr_eq(p->s.log, "pingpingpingpingping", 20);
	cr_assert_eq(p->c.log_len, 25);
}

static void pair_psk(uint64_t seed, const uint16_t *suite)
{
	dp_init(&P, seed);
	P.s.cfg.cache = &C;
	if (suite)
		dp_client_suite(&P, suite);
}

/* A full PSK handshake; its session, as the client exports it. */
static struct zs_dtls_session full(uint64_t seed, const uint16_t *suite)
{
	pair_psk(seed, suite);
	cr_assert_eq(dp_start(&P), 0);
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.c.d));
	cr_assert_not(zs_dtls_resumed(&P.s.d));
	cr_assert_gt(P.hs_sent[0][HT_CLIENT_KX], 0);
	struct zs_dtls_session s, ss;
	cr_assert_eq(zs_dtls_session_get(&P.c.d, &s), 0);
	cr_assert_eq(zs_dtls_session_get(&P.s.d, &ss), 0);
	cr_assert_eq(s.id_len, 32);
	cr_assert_arr_eq(s.id, ss.id, 32);
	cr_assert_arr_eq(s.master, ss.master, 48, "both sides, one secret");
	cr_assert_arr_eq(s.peer, ss.peer, 32, "both: SHA-256(identity)");
	cr_assert_eq(s.suite, zs_dtls_suite(&P.c.d));
	return s;
}

/* A fresh cache, a full PSK handshake (seed a) into it, then a new pair
 * (seed b) to resume in; the session to offer. */
static struct zs_dtls_session resumable(uint64_t a, uint64_t b)
{
	zs_dtls_cache_init(&C);
	struct zs_dtls_session s = full(a, NULL);
	pair_psk(b, NULL);
	return s;
}

static void assert_abbreviated(const struct dp_pair *p)
{
	cr_assert(zs_dtls_resumed(&p->c.d));
	cr_assert(zs_dtls_resumed(&p->s.d));
	const unsigned *c = p->hs_sent[0], *s = p->hs_sent[1];
	cr_assert_gt(s[HT_SERVER_HELLO], 0);
	cr_assert_eq(s[HT_CERTIFICATE] + s[HT_SERVER_KX] + s[HT_SERVER_DONE]
			     + s[HT_CERT_REQUEST], 0, "no full flight");
	cr_assert_eq(c[HT_CLIENT_KX] + c[HT_CERTIFICATE], 0);
}

Test(dtls_resume, psk_both_suites)
{
	static const uint16_t suites[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8,
					   ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	for (int i = 0; i < 2; i++) {
		zs_dtls_cache_init(&C);
		struct zs_dtls_session s = full(100 + (uint64_t)i, &suites[i]);
		data_ok(&P);

		pair_psk(200 + (uint64_t)i, &suites[i]);
		cr_assert_eq(start_with(&P, &s), 1);
		run_done(&P);
		assert_abbreviated(&P);
		cr_assert_eq(zs_dtls_suite(&P.c.d), suites[i]);
		cr_assert_eq(zs_dtls_stats(&P.c.d)->retransmits, 0);
		cr_assert_eq(zs_dtls_stats(&P.s.d)->retransmits, 0);
		/* the client's flight ends it: no timer left on either side */
		uint32_t at;
		cr_assert_not(zs_dtls_deadline(&P.c.d, &at));
		cr_assert_not(zs_dtls_deadline(&P.s.d, &at));
		data_ok(&P);
		/* the session exported again is the same one */
		struct zs_dtls_session again;
		cr_assert_eq(zs_dtls_session_get(&P.c.d, &again), 0);
		cr_assert_arr_eq(&again, &s, sizeof s);
		cr_assert_eq(zs_dtls_session_get(&P.s.d, &again), 0);
		cr_assert_arr_eq(again.id, s.id, 32);

		/* and once more: a session resumes any number of times */
		pair_psk(300 + (uint64_t)i, &suites[i]);
		cr_assert_eq(start_with(&P, &s), 1);
		run_done(&P);
		assert_abbreviated(&P);
		data_ok(&P);
	}
}

/* Seeded loss, reordering and duplication during the abbreviated
 * handshake: it completes through retransmission, data flows once. */
Test(dtls_resume, lossy, .timeout = 60)
{
	unsigned rtx = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct zs_dtls_session s = resumable(seed * 31, seed * 7919);
		P.loss = 20;
		P.reorder = 25;
		P.dup = 10;
		P.s.cfg.mtu = 64 + (unsigned)(seed % 3) * 40;
		P.c.cfg.timeout_max_ms = P.s.cfg.timeout_max_ms = 60000;
		cr_assert_eq(start_with(&P, &s), 1);
		run_done(&P);
		assert_abbreviated(&P);
		rtx += zs_dtls_stats(&P.c.d)->retransmits
		       + zs_dtls_stats(&P.s.d)->retransmits;
		P.dup = 0;
		P.reorder = 0;
		data_ok(&P);
	}
	cr_assert_gt(rtx, 0);
	cr_log_info("retransmissions over 40 lossy resumptions: %u", rtx);
}

/* Damaged copies of the abbreviated handshake's datagrams next to the
 * originals (ASan and UBSan watch in that build): each run completes or
 * fails cleanly, and when it completes both sides agree on whether it
 * was resumed, and damaged copies never get through as data. */
Test(dtls_resume, mutated, .timeout = 60)
{
	int done = 0, resumed = 0;
	for (uint64_t seed = 1; seed <= 150; seed++) {
		struct zs_dtls_session s = resumable(seed * 13, seed * 104729);
		P.mutate = 30;
		P.reorder = 10;
		P.s.cfg.mtu = seed % 2 ? 90 : 0;
		cr_assert_eq(start_with(&P, &s), 1);
		dp_run(&P, 30);
		if (!dp_done(&P)) {
			dp_assert_failed_cleanly(&P);
			continue;
		}
		done++;
		cr_assert_eq(zs_dtls_resumed(&P.c.d), zs_dtls_resumed(&P.s.d),
			     "seed %llu", (unsigned long long)seed);
		resumed += zs_dtls_resumed(&P.c.d);
		for (int i = 0; i < 10; i++)
			dp_send(&P, &P.c, "data", 4);
		dp_assert_data_only(&P);
	}
	cr_log_info("mutated resumptions: %d of 150 completed, %d resumed",
		    done, resumed);
	cr_assert_gt(done, 50);
	cr_assert_gt(resumed, 50);
}

/* The reversed flights: the client's CCS+Finished (its last flight) is
 * lost; the server, still waiting, resends ServerHello+CCS+Finished on
 * its timer, and that repeat makes the client resend its flight (RFC 6347
 * s4.2.4). The client, done, arms no timer of its own. */
Test(dtls_resume, client_last_flight_lost)
{
	struct zs_dtls_session s = resumable(7, 8);
	cr_assert_eq(start_with(&P, &s), 1);
	for (int i = 0; i < 20
		     && zs_dtls_state(&P.c.d) != ZS_DTLS_ESTABLISHED; i++)
		dp_step(&P);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_ESTABLISHED);
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_HANDSHAKE);
	dp_drain_out(&P, &P.c, &P.to_s);
	cr_assert_gt(P.to_s.n, 0);
	P.to_s.n = 0;                       /* lost: CCS and Finished */
	uint32_t at;
	cr_assert_not(zs_dtls_deadline(&P.c.d, &at), "client: last flight");
	cr_assert(zs_dtls_deadline(&P.s.d, &at), "server: timer armed");
	cr_assert_eq(at - P.now, 100);
	/* the client's data meanwhile is not taken before its Finished */
	cr_assert_gt(dp_send(&P, &P.c, "early", 5), 0);
	while (dp_step(&P))
		;
	cr_assert_eq(P.s.log_len, 0);
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_HANDSHAKE);
	cr_assert(dp_tick(&P));
	while (dp_step(&P))
		;
	cr_assert(dp_done(&P));
	cr_assert_eq(zs_dtls_stats(&P.s.d)->retransmits, 1);
	cr_assert_eq(zs_dtls_stats(&P.c.d)->retransmits, 1);
	cr_assert_not(zs_dtls_deadline(&P.s.d, &at));
	assert_abbreviated(&P);
	data_ok(&P);
	/* a late repeat of the client's flight: the server, done, and not
	 * the last to speak, stays quiet */
	unsigned before = zs_dtls_stats(&P.s.d)->retransmits;
	zs_dtls_flight_resend(&P.c.d);
	while (dp_step(&P))
		;
	cr_assert_eq(zs_dtls_stats(&P.s.d)->retransmits, before);
	cr_assert_eq(P.to_c.n, 0);
}

/* The server's whole flight lost: the client's timer resends the
 * ClientHello, the server answers with its flight again. */
Test(dtls_resume, server_flight_lost)
{
	struct zs_dtls_session s = resumable(9, 10);
	cr_assert_eq(start_with(&P, &s), 1);
	for (int i = 0; i < 20 && !(P.s.up && zs_dtls_state(&P.s.d)
					     == ZS_DTLS_HANDSHAKE); i++) {
		dp_drain_out(&P, &P.c, &P.to_s);
		struct dp_dgram g;
		if (dp_pop(&P.to_s, &g))
			dp_server_rx(&P, &g);
		if (dp_pop(&P.to_c, &g))
			dp_feed(&P, &P.c, g.b, g.len);
	}
	cr_assert(P.s.up);
	dp_drain_out(&P, &P.s, &P.to_c);
	P.to_c.n = 0;                       /* lost: SH, CCS, Finished */
	uint32_t at;
	cr_assert(zs_dtls_deadline(&P.c.d, &at));
	run_done(&P);
	cr_assert_geq(zs_dtls_stats(&P.c.d)->retransmits, 1);
	cr_assert_geq(zs_dtls_stats(&P.s.d)->retransmits, 1);
	assert_abbreviated(&P);
	data_ok(&P);
}

/* An ID the server does not have: a full handshake, a new session. */
Test(dtls_resume, unknown_id_full_handshake)
{
	zs_dtls_cache_init(&C);
	struct zs_dtls_session s = full(11, NULL);
	s.id[0] ^= 0x80;
	pair_psk(12, NULL);
	cr_assert_eq(start_with(&P, &s), 1);
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.c.d));
	cr_assert_not(zs_dtls_resumed(&P.s.d));
	cr_assert_gt(P.hs_sent[0][HT_CLIENT_KX], 0);
	struct zs_dtls_session n;
	cr_assert_eq(zs_dtls_session_get(&P.c.d, &n), 0);
	cr_assert_arr_neq(n.id, s.id, 32);
	cr_assert_arr_neq(n.master, s.master, 48);
	data_ok(&P);
	/* the new one resumes */
	pair_psk(13, NULL);
	cr_assert_eq(start_with(&P, &n), 1);
	run_done(&P);
	assert_abbreviated(&P);
}

/* LRU: a full cache replaces the least recently used; a resumption
 * counts as a use. */
Test(dtls_resume, evicted_lru)
{
	zs_dtls_cache_init(&C);
	static struct zs_dtls_session s[ZS_DTLS_SESSION_SLOTS + 1];
	for (int i = 0; i < ZS_DTLS_SESSION_SLOTS; i++)
		s[i] = full(20 + (uint64_t)i, NULL);
	/* use the oldest: now s[1] is the least recently used */
	pair_psk(40, NULL);
	cr_assert_eq(start_with(&P, &s[0]), 1);
	run_done(&P);
	assert_abbreviated(&P);
	s[ZS_DTLS_SESSION_SLOTS] = full(41, NULL);       /* evicts s[1] */
	pair_psk(42, NULL);
	cr_assert_eq(start_with(&P, &s[1]), 1);
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.c.d), "s[1] was evicted");
	cr_assert_gt(P.hs_sent[0][HT_CLIENT_KX], 0);
	data_ok(&P);
	/* that full handshake evicted s[2]; s[0] and the newest stay */
	int want[] = { 0, ZS_DTLS_SESSION_SLOTS, 3 };
	for (int k = 0; k < 3; k++) {
		pair_psk(50 + (uint64_t)k, NULL);
		cr_assert_eq(start_with(&P, &s[want[k]]), 1);
		run_done(&P);
		assert_abbreviated(&P);
	}
	pair_psk(60, NULL);
	cr_assert_eq(start_with(&P, &s[2]), 1);
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.s.d));
}

/* A client with the wrong master secret for the ID: the server's Finished
 * (in keys from the real one) does not authenticate; the client ends it
 * with bad_record_mac once the server's retransmission fails too, the
 * server hears the alert, and the session is dropped from the cache
 * (RFC 5246 s7.2.2). */
Test(dtls_resume, tampered_master_fails)
{
	zs_dtls_cache_init(&C);
	struct zs_dtls_session s = full(70, NULL);
	struct zs_dtls_session bad = s;
	bad.master[17] ^= 1;
	pair_psk(71, NULL);
	cr_assert_eq(start_with(&P, &bad), 1);
	dp_run(&P, 20);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_error(&P.c.d), -ECONNABORTED);
	cr_assert_eq(zs_dtls_alert_sent(&P.c.d), ZS_ALERT_BAD_RECORD_MAC);
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_alert_received(&P.s.d), ZS_ALERT_BAD_RECORD_MAC);
	cr_assert_eq(P.s.log_len + P.c.log_len, 0);
	struct zs_dtls_session x;
	cr_assert_eq(zs_dtls_session_get(&P.c.d, &x), -ENOTCONN);
	cr_assert_eq(zs_dtls_session_get(&P.s.d, &x), -ENOTCONN);
	/* the real session is gone with it: a full handshake */
	pair_psk(72, NULL);
	cr_assert_eq(start_with(&P, &s), 1);
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.s.d));
	data_ok(&P);
}

/* The right keys but another transcript on the client: the server's
 * Finished decrypts and does not verify (decrypt_error, RFC 5246
 * s7.4.9). */
Test(dtls_resume, client_finished_mismatch)
{
	struct zs_dtls_session s = resumable(73, 74);
	cr_assert_eq(start_with(&P, &s), 1);
	/* ClientHello, HelloVerifyRequest, the ClientHello with the cookie:
	 * then the client's transcript goes astray */
	struct dp_dgram g;
	dp_drain_out(&P, &P.c, &P.to_s);
	cr_assert(dp_pop(&P.to_s, &g));
	dp_server_rx(&P, &g);
	cr_assert(dp_pop(&P.to_c, &g));
	dp_feed(&P, &P.c, g.b, g.len);
	br_sha256_update(&P.c.d.transcript, "x", 1);
	dp_run(&P, 10);
	cr_assert(P.c.d.resumed, "the server took the ID");
	/* the client refuses the server's Finished (decrypt_error) */
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_alert_sent(&P.c.d), ZS_ALERT_DECRYPT_ERROR);
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_error(&P.s.d), -ECONNRESET);
}

/* A session made under one PSK identity is not offered under another;
 * the other identity's full handshake makes its own. */
Test(dtls_resume, psk_identity_mismatch)
{
	struct zs_dtls_session s = resumable(80, 81);
	P.c.cfg.psk_id = (const uint8_t *)"client2";
	P.known_id = "client2";
	cr_assert_eq(start_with(&P, &s), 0, "not offered");
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.s.d));
	cr_assert_gt(P.hs_sent[0][HT_CLIENT_KX], 0);
	struct zs_dtls_session n;
	cr_assert_eq(zs_dtls_session_get(&P.s.d, &n), 0);
	cr_assert_arr_neq(n.peer, s.peer, 32);
	data_ok(&P);
	/* nor where the suite is not in the list, nor over a stream */
	pair_psk(82, NULL);
	static const uint16_t g = ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
	cr_assert_eq(s.suite, ZS_DTLS_PSK_WITH_AES_128_CCM_8);
	dp_client_suite(&P, &g);
	cr_assert_eq(zs_dtls_init(&P.c.d, &P.c.cfg, false), 0);
	cr_assert_eq(zs_dtls_session_set(&P.c.d, &s), 0);
	cr_assert_eq(zs_dtls_init(&P.c.d, &(struct zs_dtls_config){
		.psk = dp_psk, .psk_len = 16, .psk_id = (const uint8_t *)"client1",
		.psk_id_len = 7, .rand = dp_rand, .rand_arg = &P.rng }, true), 0);
	cr_assert_eq(zs_dtls_session_set(&P.c.d, &s), 0, "DTLS session, TLS");
	/* misuse */
	cr_assert_eq(zs_dtls_init(&P.s.d, &P.s.cfg, false), 0);
	cr_assert_eq(zs_dtls_session_set(&P.s.d, &s), -EINVAL);
	struct zs_dtls_session z = s;
	z.id_len = 0;
	cr_assert_eq(zs_dtls_init(&P.c.d, &P.c.cfg, false), 0);
	cr_assert_eq(zs_dtls_session_set(&P.c.d, &z), -EINVAL);
	cr_assert_eq(zs_dtls_connect(&P.c.d, P.now), 0);
	cr_assert_eq(zs_dtls_session_set(&P.c.d, &s), -EINVAL, "started");
	cr_assert_eq(zs_dtls_session_get(&P.c.d, &z), -ENOTCONN);
}

/* A server without a cache gives no session ID: nothing to export, and
 * an offered session is answered with a full handshake. */
Test(dtls_resume, no_cache)
{
	struct zs_dtls_session s = resumable(90, 91);
	P.s.cfg.cache = NULL;
	cr_assert_eq(start_with(&P, &s), 1);
	run_done(&P);
	cr_assert_not(zs_dtls_resumed(&P.c.d));
	struct zs_dtls_session x;
	cr_assert_eq(zs_dtls_session_get(&P.c.d, &x), -ENOENT);
	cr_assert_eq(zs_dtls_session_get(&P.s.d, &x), -ENOENT);
	static const uint8_t zero[48];
	cr_assert_arr_eq(P.c.d.master, zero, 48, "master secret wiped");
	data_ok(&P);
}

/* ECDHE_ECDSA: the resumed handshake has no Certificate (no chain check,
 * no signature); the session carries the server key's digest and the
 * verified flag; one made with verify_none is not offered where the chain
 * is to be checked. */
Test(dtls_resume, ecdhe, .timeout = 60)
{
	pki_need_openssl();
	pki_load(&K);
	static const uint16_t suite = ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
	zs_dtls_cache_init(&C);
	struct zs_dtls_session s = { 0 }, unchecked = { 0 };
	for (int round = 0; round < 4; round++) {
		dp_init(&P, 500 + (uint64_t)round);
		P.s.cfg.cache = &C;
		dp_client_suite(&P, &suite);
		P.c.cfg.psk_len = 0;
		pki_client_cfg(&P.c.cfg, &K);
		P.c.cfg.verify_none = round == 2;
		pki_server_cfg(&P.s.cfg, &K);
		const struct zs_dtls_session *offer =
			round == 1 ? &s : round == 3 ? &unchecked : NULL;
		int o = start_with(&P, offer);
		cr_assert_eq(o, round == 1 ? 1 : 0, "round %d", round);
		run_done(&P);
		/* resumed: the session's chain was checked when made */
		cr_assert_eq(zs_dtls_verify_result(&P.c.d),
			     round == 2 ? -1 : 0, "round %d", round);
		if (round == 1) {
			assert_abbreviated(&P);
		} else {
			cr_assert_not(zs_dtls_resumed(&P.s.d));
			cr_assert_gt(P.hs_sent[1][HT_CERTIFICATE], 0);
		}
		data_ok(&P);
		if (round == 0) {
			cr_assert_eq(zs_dtls_session_get(&P.c.d, &s), 0);
			cr_assert(s.flags & ZS_DTLS_SESSION_VERIFIED);
			/* the client names the server's key, the server
			 * (no client certificates) nobody */
			static const uint8_t zero[32];
			cr_assert_arr_neq(s.peer, zero, 32);
			struct zs_dtls_session ss;
			cr_assert_eq(zs_dtls_session_get(&P.s.d, &ss), 0);
			cr_assert_arr_eq(ss.peer, zero, 32);
		}
		if (round == 2) {
			cr_assert_eq(zs_dtls_session_get(&P.c.d, &unchecked), 0);
			cr_assert_not(unchecked.flags & ZS_DTLS_SESSION_VERIFIED);
		}
	}
}

/* ALPN is negotiated again on a resumption (RFC 7301 s3.1 leaves the
 * choice to each handshake); a resumption that fails on ALPN
 * (no_application_protocol, before the server looks in its cache) does
 * not cost the session. */
Test(dtls_resume, alpn)
{
	static const char *const a[] = { "a" }, *const b[] = { "b" },
				 *const ba[] = { "b", "a" };
	struct zs_dtls_session s = resumable(600, 601);
	P.c.cfg.alpn = ba;
	P.c.cfg.n_alpn = 2;
	P.s.cfg.alpn = a;
	P.s.cfg.n_alpn = 1;
	cr_assert_eq(start_with(&P, &s), 1);
	run_done(&P);
	assert_abbreviated(&P);
	cr_assert_eq(zs_dtls_alpn(&P.c.d), ba[1]);
	cr_assert_eq(zs_dtls_alpn(&P.s.d), a[0]);
	/* nothing in common this time */
	pair_psk(602, NULL);
	P.c.cfg.alpn = b;
	P.c.cfg.n_alpn = 1;
	P.s.cfg.alpn = a;
	P.s.cfg.n_alpn = 1;
	cr_assert_eq(start_with(&P, &s), 1);
	dp_run(&P, 20);
	cr_assert_eq(zs_dtls_alert_sent(&P.s.d),
		     ZS_ALERT_NO_APPLICATION_PROTOCOL);
	cr_assert_eq(zs_dtls_error(&P.c.d), -ECONNRESET);
	/* the session is still there: resumed without ALPN */
	pair_psk(603, NULL);
	cr_assert_eq(start_with(&P, &s), 1);
	run_done(&P);
	assert_abbreviated(&P);
	cr_assert_null(zs_dtls_alpn(&P.c.d));
	data_ok(&P);
}

/* ---- TLS 1.2 over a stream ---------------------------------------------- */

static struct sp_side SC, SS;

static void stream_run(uint64_t seed, const struct zs_dtls_session *offer,
		       int want_offered)
{
	memset(&SC, 0, sizeof SC);
	memset(&SS, 0, sizeof SS);
	dp_init(&P, seed);
	P.s.cfg.cache = &C;
	cr_assert_eq(zs_dtls_init(&SC.d, &P.c.cfg, true), 0);
	cr_assert_eq(zs_dtls_init(&SS.d, &P.s.cfg, true), 0);
	if (offer)
		cr_assert_eq(zs_dtls_session_set(&SC.d, offer), want_offered);
	cr_assert_eq(zs_dtls_connect(&SC.d, 0), 0);
	uint64_t rng = seed;
	/* (sp_read takes a random prefix: a record may need many tries) */
	for (int k = 0; k < 4000 && (zs_dtls_state(&SC.d) != ZS_DTLS_ESTABLISHED
				    || zs_dtls_state(&SS.d)
				    != ZS_DTLS_ESTABLISHED); k++) {
		sp_move(&SC, &SS);
		sp_move(&SS, &SC);
		sp_read(&SS, &rng);
		sp_read(&SC, &rng);
	}
	cr_assert_eq(zs_dtls_state(&SC.d), ZS_DTLS_ESTABLISHED,
		     "seed %d: c %d s %d", (int)seed, SC.err, SS.err);
	cr_assert_eq(zs_dtls_state(&SS.d), ZS_DTLS_ESTABLISHED,
		     "seed %d: c %d s %d (state %d, alert s %d r %d)", (int)seed,
		     SC.err, SS.err, zs_dtls_state(&SS.d),
		     zs_dtls_alert_sent(&SS.d), zs_dtls_alert_received(&SS.d));
	/* data both ways */
	sp_move(&SC, &SS);
	int n = zs_dtls_seal(&SC.d, "stream!", 7, SS.in + SS.in_len,
			     sizeof SS.in - SS.in_len);
	cr_assert_gt(n, 0);
	SS.in_len += (size_t)n;
	while (SS.in_len)
		sp_read(&SS, &rng);
	cr_assert_eq(SS.log_len, 7);
	cr_assert_arr_eq(SS.log, "stream!", 7);
	n = zs_dtls_seal(&SS.d, "back", 4, SC.in + SC.in_len,
			 sizeof SC.in - SC.in_len);
	cr_assert_gt(n, 0);
	SC.in_len += (size_t)n;
	while (SC.in_len)
		sp_read(&SC, &rng);
	cr_assert_eq(SC.log_len, 4);
}

Test(dtls_resume, stream)
{
	zs_dtls_cache_init(&C);
	stream_run(1, NULL, 0);
	cr_assert_not(zs_dtls_resumed(&SC.d));
	struct zs_dtls_session s;
	cr_assert_eq(zs_dtls_session_get(&SC.d, &s), 0);
	cr_assert(s.flags & ZS_DTLS_SESSION_STREAM);
	for (uint64_t seed = 2; seed < 12; seed++) {
		stream_run(seed, &s, 1);
		cr_assert(zs_dtls_resumed(&SC.d));
		cr_assert(zs_dtls_resumed(&SS.d));
	}
	/* a DTLS session is not offered over a stream */
	struct zs_dtls_session dg = full(14, NULL);
	stream_run(15, &dg, 0);
	cr_assert_not(zs_dtls_resumed(&SS.d));
	/* a tampered master over a stream: fatal at once */
	struct zs_dtls_session bad = s;
	bad.master[0] ^= 1;
	memset(&SC, 0, sizeof SC);
	memset(&SS, 0, sizeof SS);
	dp_init(&P, 16);
	P.s.cfg.cache = &C;
	cr_assert_eq(zs_dtls_init(&SC.d, &P.c.cfg, true), 0);
	cr_assert_eq(zs_dtls_init(&SS.d, &P.s.cfg, true), 0);
	cr_assert_eq(zs_dtls_session_set(&SC.d, &bad), 1);
	cr_assert_eq(zs_dtls_connect(&SC.d, 0), 0);
	uint64_t rng = 3;
	sp_run(&SC, &SS, &rng);
	cr_assert_eq(SC.err, -ECONNABORTED);
	cr_assert_eq(zs_dtls_alert_sent(&SC.d), ZS_ALERT_BAD_RECORD_MAC);
	cr_assert_eq(SS.err, -ECONNRESET);
}
