/*
 * The DTLS core, client and server in one process over in-memory queues
 * (dtls_pair.h): every suite, fragmentation, loss/reordering/duplication
 * with a fake clock, replay, wrong keys and identities, cookies, garbage,
 * the reassembly bound, the timer, and the TLS stream record mode.
 */
#include <criterion/criterion.h>

#include "dtls_pair.h"
#include "tls_bearssl/dtls/dtls_int.h"

#include <errno.h>
#include <stdio.h>

static struct dp_pair P; /* big (the queues): static, one per test process */

static void handshake_ok(struct dp_pair *p)
{
	cr_assert_eq(dp_start(p), 0);
	dp_run(p, 40);
	cr_assert(dp_done(p), "client %d (err %d) server up %d state %d (err %d)",
		  zs_dtls_state(&p->c.d), p->c.err, p->s.up,
		  zs_dtls_state(&p->s.d), p->s.err);
}

/* Each side sends n records of varying sizes; both logs must match. */
static void exchange(struct dp_pair *p, int n)
{
	static uint8_t want_c[DP_LOG], want_s[DP_LOG];
	size_t lc = 0, ls = 0;
	for (int i = 0; i < n; i++) {
		uint8_t m[300];
		size_t len = 1 + (size_t)(i * 37) % sizeof m;
		for (size_t k = 0; k < len; k++)
			m[k] = (uint8_t)(i + k);
		cr_assert_gt(dp_send(p, &p->c, m, len), 0);
		memcpy(want_s + ls, m, len);
		ls += len;
		m[0] ^= 0xFF;
		cr_assert_gt(dp_send(p, &p->s, m, len), 0);
		memcpy(want_c + lc, m, len);
		lc += len;
		while (dp_step(p))
			;
	}
	cr_assert_eq(p->s.log_len, ls, "server got %zu of %zu", p->s.log_len,
		     ls);
	cr_assert_eq(p->c.log_len, lc);
	cr_assert_eq((size_t)p->s.n_app, (size_t)n);
	cr_assert_eq((size_t)p->c.n_app, (size_t)n);
}

Test(dtls, ctx_size_documented)
{
	cr_assert_eq(zs_dtls_ctx_size(), sizeof(struct zs_dtls));
	cr_log_info("struct zs_dtls: %zu bytes (reassembly %d, flight %d)",
		    zs_dtls_ctx_size(), ZS_DTLS_REASM_SIZE,
		    ZS_DTLS_FLIGHT_SIZE);
	printf("sizeof(struct zs_dtls) = %zu\n", zs_dtls_ctx_size());
}

Test(dtls, handshake_ccm8)
{
	dp_init(&P, 1);
	uint16_t s[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8 };
	dp_client_suite(&P, s);
	handshake_ok(&P);
	cr_assert_eq(zs_dtls_suite(&P.c.d), ZS_DTLS_PSK_WITH_AES_128_CCM_8);
	cr_assert_eq(zs_dtls_suite(&P.s.d), ZS_DTLS_PSK_WITH_AES_128_CCM_8);
	cr_assert_eq(P.cookies_sent, 1);
	cr_assert_eq(zs_dtls_stats(&P.c.d)->retransmits, 0);
	exchange(&P, 20);
}

Test(dtls, handshake_gcm)
{
	dp_init(&P, 2);
	uint16_t s[] = { ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	dp_client_suite(&P, s);
	handshake_ok(&P);
	cr_assert_eq(zs_dtls_suite(&P.s.d),
		     ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256);
	exchange(&P, 20);
}

Test(dtls, server_picks_by_its_own_list)
{
	dp_init(&P, 3);
	uint16_t cs[] = { ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
			  ZS_DTLS_PSK_WITH_AES_128_CCM_8 };
	uint16_t ss[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8,
			  ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	P.c.cfg.suites = cs;
	P.c.cfg.n_suites = 2;
	P.s.cfg.suites = ss;
	P.s.cfg.n_suites = 2;
	handshake_ok(&P);
	cr_assert_eq(zs_dtls_suite(&P.c.d), ZS_DTLS_PSK_WITH_AES_128_CCM_8);
}

Test(dtls, no_common_suite)
{
	dp_init(&P, 4);
	uint16_t cs[] = { ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	uint16_t ss[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8 };
	P.c.cfg.suites = cs;
	P.c.cfg.n_suites = 1;
	P.s.cfg.suites = ss;
	P.s.cfg.n_suites = 1;
	cr_assert_eq(dp_start(&P), 0);
	dp_run(&P, 5);
	cr_assert_eq(zs_dtls_alert_sent(&P.s.d), ZS_ALERT_HANDSHAKE_FAILURE);
	cr_assert_eq(zs_dtls_alert_received(&P.c.d),
		     ZS_ALERT_HANDSHAKE_FAILURE);
	cr_assert_eq(zs_dtls_error(&P.c.d), -ECONNRESET);
}

Test(dtls, psk_hint_sent)
{
	dp_init(&P, 5);
	P.s.cfg.psk_hint = (const uint8_t *)"hint";
	P.s.cfg.psk_hint_len = 4;
	handshake_ok(&P);
	exchange(&P, 3);
}

/* Fragments: the server's flight in 64-byte datagrams, the client's in
 * 110 (its cookie ClientHello, 108 bytes, must stay whole: the stateless
 * check takes only unfragmented ones). */
Test(dtls, small_mtu_fragments)
{
	uint16_t suites[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8,
			      ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	for (int i = 0; i < 2; i++) {
		dp_init(&P, 6 + (uint64_t)i);
		dp_client_suite(&P, &suites[i]);
		P.s.cfg.mtu = 64;
		P.c.cfg.mtu = 110;
		P.s.cfg.psk_hint = (const uint8_t *)"a rather long identity hint";
		P.s.cfg.psk_hint_len = 27;
		P.c.cfg.psk_id = (const uint8_t *)"client1";
		handshake_ok(&P);
		cr_assert_gt(zs_dtls_stats(&P.s.d)->tx_records, 5);
		exchange(&P, 5);
	}
}

/* Loss, reordering, duplication on both queues, many seeds: the handshake
 * completes through retransmission; data without loss (duplication and
 * reordering kept) arrives exactly once, in full. */
Test(dtls, lossy_handshake, .timeout = 60)
{
	unsigned total_rtx = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		dp_init(&P, seed * 7919);
		P.loss = 20;
		P.reorder = 25;
		P.dup = 10;
		P.s.cfg.mtu = 64 + (unsigned)(seed % 3) * 40;
		P.c.cfg.mtu = 110;
		P.c.cfg.timeout_max_ms = 60000;
		P.s.cfg.timeout_max_ms = 60000;
		if (seed & 1) {
			static const uint16_t g =
				ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
			dp_client_suite(&P, &g);
		}
		cr_assert_eq(dp_start(&P), 0);
		/* the server may finish first and the client still needs
		 * its Finished: run until both are up (the client's last
		 * flight lost and the server done: only the client's timer
		 * can bring it back) */
		dp_settle(&P, 200);
		cr_assert(dp_done(&P), "seed %llu: c %d/%d s %d/%d",
			  (unsigned long long)seed, zs_dtls_state(&P.c.d),
			  P.c.err, zs_dtls_state(&P.s.d), P.s.err);
		total_rtx += zs_dtls_stats(&P.c.d)->retransmits
			     + zs_dtls_stats(&P.s.d)->retransmits;
		P.loss = 0;
		while (dp_step(&P))
			;
		P.c.log_len = P.s.log_len = P.c.n_app = P.s.n_app = 0;
		exchange(&P, 30);
	}
	cr_assert_gt(total_rtx, 0);
	cr_log_info("retransmissions over 40 lossy handshakes: %u", total_rtx);
}

/* With loss in the data phase too: nothing arrives twice or altered. */
Test(dtls, lossy_data_at_most_once)
{
	dp_init(&P, 99);
	handshake_ok(&P);
	P.loss = 30;
	P.dup = 30;
	P.reorder = 30;
	uint8_t seen[200] = { 0 };
	for (int i = 0; i < 200; i++) {
		uint8_t m[4] = { (uint8_t)i, 0xA5, (uint8_t)(0xFF - i), 0x5A };
		dp_send(&P, &P.c, m, 4);
	}
	while (dp_step(&P))
		;
	cr_assert_eq(P.s.log_len, 4 * P.s.n_app);
	for (size_t k = 0; k < P.s.n_app; k++) {
		const uint8_t *m = P.s.log + 4 * k;
		cr_assert(m[1] == 0xA5 && m[0] + m[2] == 0xFF && m[3] == 0x5A);
		cr_assert_eq(seen[m[0]], 0, "record %u delivered twice", m[0]);
		seen[m[0]] = 1;
	}
	cr_assert_lt(P.s.n_app, 200);
	cr_assert_gt(P.s.n_app, 50);
}

Test(dtls, replayed_record_dropped)
{
	dp_init(&P, 10);
	handshake_ok(&P);
	uint8_t rec[100], copy[100];
	int n = zs_dtls_seal(&P.c.d, "hello", 5, rec, sizeof rec);
	cr_assert_gt(n, 0);
	memcpy(copy, rec, (size_t)n);
	uint8_t *app;
	size_t alen;
	cr_assert_eq(zs_dtls_input(&P.s.d, rec, (size_t)n, P.now, &app, &alen),
		     n);
	cr_assert_eq(alen, 5);
	cr_assert_arr_eq(app, "hello", 5);
	memcpy(rec, copy, (size_t)n);
	cr_assert_eq(zs_dtls_input(&P.s.d, rec, (size_t)n, P.now, &app, &alen),
		     n);
	cr_assert_null(app);
	cr_assert_eq(zs_dtls_stats(&P.s.d)->rx_replayed, 1);

	/* out of order within the window: accepted once each; a record 64
	 * behind the newest: too old */
	uint8_t r[70][64];
	int len[70];
	for (int i = 0; i < 70; i++) {
		len[i] = zs_dtls_seal(&P.c.d, "x", 1, r[i], sizeof r[i]);
		cr_assert_gt(len[i], 0);
	}
	size_t before = zs_dtls_stats(&P.s.d)->rx_replayed;
	cr_assert_eq(zs_dtls_input(&P.s.d, r[69], (size_t)len[69], P.now, &app,
				   &alen), len[69]);
	cr_assert_not_null(app);
	cr_assert_eq(zs_dtls_input(&P.s.d, r[10], (size_t)len[10], P.now, &app,
				   &alen), len[10]);
	cr_assert_not_null(app, "59 behind: inside the window");
	cr_assert_eq(zs_dtls_input(&P.s.d, r[5], (size_t)len[5], P.now, &app,
				   &alen), len[5]);
	cr_assert_null(app, "64 behind: left of the window");
	cr_assert_eq(zs_dtls_stats(&P.s.d)->rx_replayed, before + 1);
}

Test(dtls, tampered_record_dropped_not_fatal)
{
	dp_init(&P, 11);
	handshake_ok(&P);
	uint8_t rec[100];
	int n = zs_dtls_seal(&P.c.d, "hello", 5, rec, sizeof rec);
	rec[n - 1] ^= 1;
	uint8_t *app;
	size_t alen;
	cr_assert_eq(zs_dtls_input(&P.s.d, rec, (size_t)n, P.now, &app, &alen),
		     n);
	cr_assert_null(app);
	cr_assert_eq(zs_dtls_stats(&P.s.d)->rx_bad_mac, 1);
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_ESTABLISHED);
	exchange(&P, 2);
}

Test(dtls, wrong_psk_alert_both_sides)
{
	dp_init(&P, 12);
	static const uint8_t other[16] = "0123456789abcdeX";
	P.known_psk = other;
	cr_assert_eq(dp_start(&P), 0);
	dp_run(&P, 5);
	/* the second failed Finished (the client's retransmission) ends it */
	cr_assert_eq(zs_dtls_stats(&P.s.d)->rx_bad_mac, 2);
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_alert_sent(&P.s.d), ZS_ALERT_BAD_RECORD_MAC);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_FAILED);
	cr_assert_eq(zs_dtls_alert_received(&P.c.d), ZS_ALERT_BAD_RECORD_MAC);
	cr_assert_eq(zs_dtls_error(&P.c.d), -ECONNRESET);
	cr_assert_eq(zs_dtls_error(&P.s.d), -ECONNABORTED);
}

Test(dtls, unknown_identity)
{
	dp_init(&P, 13);
	P.known_id = "someone-else";
	cr_assert_eq(dp_start(&P), 0);
	dp_run(&P, 5);
	cr_assert_eq(zs_dtls_alert_sent(&P.s.d), ZS_ALERT_UNKNOWN_PSK_IDENTITY);
	cr_assert_eq(zs_dtls_alert_received(&P.c.d),
		     ZS_ALERT_UNKNOWN_PSK_IDENTITY);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_FAILED);
}

/* Build a ClientHello datagram with the given cookie. */
static size_t client_hello(uint8_t *b, const uint8_t *cookie, size_t clen)
{
	uint8_t *p = b + 25;
	put16(p, 0xFEFD);
	memset(p + 2, 0x11, 32);
	p[34] = 0;
	p[35] = (uint8_t)clen;
	if (clen)
		memcpy(p + 36, cookie, clen);
	uint8_t *q = p + 36 + clen;
	put16(q, 2);
	put16(q + 2, ZS_DTLS_PSK_WITH_AES_128_CCM_8);
	q[4] = 1;
	q[5] = 0;
	size_t body = (size_t)(q + 6 - p);
	b[0] = 22;
	put16(b + 1, 0xFEFD);
	put16(b + 3, 0);
	put48(b + 5, 7);
	put16(b + 11, (uint32_t)(12 + body));
	b[13] = 1;
	put24(b + 14, (uint32_t)body);
	put16(b + 17, 0);
	put24(b + 19, 0);
	put24(b + 22, (uint32_t)body);
	return 25 + body;
}

Test(dtls, cookie_stateless)
{
	uint8_t secret[32] = { 1 }, addr[6] = { 127, 0, 0, 1, 0, 99 };
	uint8_t dg[200], reply[128], cookie[32];
	size_t rlen, n = client_hello(dg, NULL, 0);

	/* no cookie: a HelloVerifyRequest, record number echoed */
	cr_assert_eq(zs_dtls_cookie_answer(secret, 32, addr, 6, dg, n, reply,
					   sizeof reply, &rlen), 0);
	cr_assert_eq(rlen, 60);
	cr_assert_eq(reply[0], 22);
	cr_assert_eq(reply[13], 3);
	cr_assert_eq(get48(reply + 5), 7);
	memcpy(cookie, reply + 28, 32);

	/* the right cookie: go */
	n = client_hello(dg, cookie, 32);
	cr_assert_eq(zs_dtls_cookie_answer(secret, 32, addr, 6, dg, n, reply,
					   sizeof reply, &rlen), 1);
	/* from another address, or one bit off, or another secret: no */
	addr[5] = 100;
	cr_assert_eq(zs_dtls_cookie_answer(secret, 32, addr, 6, dg, n, reply,
					   sizeof reply, &rlen), 0);
	addr[5] = 99;
	cookie[31] ^= 1;
	n = client_hello(dg, cookie, 32);
	cr_assert_eq(zs_dtls_cookie_answer(secret, 32, addr, 6, dg, n, reply,
					   sizeof reply, &rlen), 0);
	cookie[31] ^= 1;
	secret[0] = 2;
	n = client_hello(dg, cookie, 32);
	cr_assert_eq(zs_dtls_cookie_answer(secret, 32, addr, 6, dg, n, reply,
					   sizeof reply, &rlen), 0);
	/* truncated at every length, garbage: dropped, nothing written */
	for (size_t k = 0; k < n; k++) {
		int rc = zs_dtls_cookie_answer(secret, 32, addr, 6, dg, k,
					       reply, sizeof reply, &rlen);
		cr_assert_eq(rc, -EINVAL, "len %zu", k);
		cr_assert_eq(rlen, 0);
	}
	/* too small a reply buffer */
	cr_assert_eq(zs_dtls_cookie_answer(secret, 32, addr, 6, dg, n, reply,
					   59, &rlen), -ENOBUFS);
}

/* Garbage and truncated datagrams at both sides during and after the
 * handshake: dropped, counted, never fatal. */
Test(dtls, garbage_dropped)
{
	dp_init(&P, 14);
	cr_assert_eq(dp_start(&P), 0);
	uint64_t g = 77;
	for (int round = 0; round < 60 && !dp_done(&P); round++) {
		uint8_t junk[300];
		size_t n = dp_next(&g) % sizeof junk;
		dp_rand(&g, junk, n);
		if (n > 13 && junk[0] == 21)
			junk[0] = 24; /* random bytes: never a plain alert */
		if (n > 13 && (round & 1)) {
			/* a plausible DTLS header: epoch 0 anything but an
			 * alert (a plaintext fatal alert ends a handshake, as
			 * it should), epoch 1 alerts and data (dropped: they
			 * fail authentication) */
			static const uint8_t kind[4][2] = {
				{ 20, 0 }, { 22, 0 }, { 23, 1 }, { 21, 1 },
			};
			junk[0] = kind[round / 2 % 4][0];
			junk[1] = 0xFE;
			junk[2] = 0xFD;
			junk[3] = 0;
			junk[4] = kind[round / 2 % 4][1];
			put16(junk + 11, (uint32_t)(n - 13 + (round % 3)));
		}
		dp_feed(&P, &P.c, junk, n);
		if (P.s.up)
			dp_feed(&P, &P.s, junk, n);
		/* and truncations of the real traffic */
		if (P.to_s.n) {
			struct dp_dgram d = P.to_s.q[0];
			size_t cut = dp_next(&g) % d.len;
			dp_server_rx(&P, &(struct dp_dgram){ .len = (uint16_t)cut });
			memcpy(junk, d.b, cut);
			if (P.s.up)
				dp_feed(&P, &P.s, junk, cut);
		}
		dp_step(&P);
		dp_tick(&P);
	}
	dp_run(&P, 20);
	cr_assert(dp_done(&P), "c %d/%d s %d/%d", zs_dtls_state(&P.c.d),
		  P.c.err, zs_dtls_state(&P.s.d), P.s.err);
	cr_assert_gt(zs_dtls_stats(&P.c.d)->rx_dropped, 0);
	for (int i = 0; i < 200; i++) {
		uint8_t junk[100];
		size_t n = dp_next(&g) % sizeof junk;
		dp_rand(&g, junk, n);
		junk[0] = 23;
		if (n > 4) {
			junk[1] = 0xFE;
			junk[3] = 0;
			junk[4] = 1;
		}
		dp_feed(&P, &P.s, junk, n);
		dp_feed(&P, &P.c, junk, n);
	}
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_ESTABLISHED);
	cr_assert_eq(P.s.n_app, 0);
	exchange(&P, 3);
}

/* Damaged copies of real datagrams delivered next to the originals (a
 * cheap mutation fuzzer over the record and handshake parsers; ASan and
 * UBSan watch in that build). Each run either completes or fails cleanly:
 * a damaged plaintext handshake message may end a handshake, as it should. */
Test(dtls, mutated_datagrams, .timeout = 60)
{
	int done = 0, failed = 0;
	for (uint64_t seed = 1; seed <= 300; seed++) {
		dp_init(&P, seed * 104729);
		P.mutate = 30;
		P.reorder = 10;
		P.s.cfg.mtu = seed % 2 ? 90 : 0;
		P.c.cfg.mtu = 120;
		P.s.cfg.psk_hint = (const uint8_t *)"hint";
		P.s.cfg.psk_hint_len = seed % 3 ? 4 : 0;
		if (seed & 4) {
			static const uint16_t g =
				ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
			dp_client_suite(&P, &g);
		}
		cr_assert_eq(dp_start(&P), 0);
		dp_run(&P, 30);
		if (dp_done(&P)) {
			done++;
			for (int i = 0; i < 10; i++) {
				dp_send(&P, &P.c, "data", 4);
				dp_send(&P, &P.s, "atad", 4);
			}
			dp_assert_data_only(&P);
		} else {
			failed++;
			dp_assert_failed_cleanly(&P);
		}
	}
	cr_log_info("mutated runs: %d completed, %d failed cleanly", done,
		    failed);
	cr_assert_gt(done, 100);
}

/* A handshake message longer than ZS_DTLS_REASM_SIZE: a fatal alert, no
 * write past the buffer (ASan watches). */
Test(dtls, reassembly_bound)
{
	dp_init(&P, 15);
	cr_assert_eq(dp_start(&P), 0);
	uint8_t b[100];
	memset(b, 0, sizeof b);
	b[0] = 22;
	put16(b + 1, 0xFEFD);
	put16(b + 11, 12 + 40);
	b[13] = 2;                                   /* ServerHello */
	/* header + body one byte over the buffer */
	put24(b + 14, ZS_DTLS_REASM_SIZE - 12 + 1);
	put16(b + 17, 0);
	put24(b + 19, ZS_DTLS_REASM_SIZE - 12 + 1 - 40);
	put24(b + 22, 40);
	uint8_t *app;
	size_t alen;
	int rc = zs_dtls_input(&P.c.d, b, 25 + 40, P.now, &app, &alen);
	cr_assert_eq(rc, -EMSGSIZE);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_FAILED);
	uint8_t out[100];
	int n = zs_dtls_output(&P.c.d, out, sizeof out, P.now);
	cr_assert_eq(n, 15);
	cr_assert_eq(out[0], 21);
	cr_assert_eq(out[14], ZS_ALERT_HANDSHAKE_FAILURE);

	/* the largest message that fits is taken in fragments */
	dp_init(&P, 16);
	cr_assert_eq(dp_start(&P), 0);
	uint8_t out2[200];
	zs_dtls_output(&P.c.d, out2, sizeof out2, P.now);
	size_t len = ZS_DTLS_REASM_SIZE - 12;
	for (size_t off = 0; off < len; off += 40) {
		size_t f = len - off < 40 ? len - off : 40;
		put24(b + 14, (uint32_t)len);
		put24(b + 19, (uint32_t)off);
		put24(b + 22, (uint32_t)f);
		put16(b + 11, (uint32_t)(12 + f));
		put48(b + 5, off);
		memset(b + 25, 0, f);
		rc = zs_dtls_input(&P.c.d, b, 25 + f, P.now, &app, &alen);
		if (rc < 0)
			break;
	}
	/* complete, then refused as a malformed ServerHello (all zeroes) */
	cr_assert_eq(rc, -ECONNABORTED);
	cr_assert_gt(zs_dtls_output(&P.c.d, out2, sizeof out2, P.now), 0);
	cr_assert_eq(zs_dtls_alert_sent(&P.c.d), ZS_ALERT_PROTOCOL_VERSION);
}

/* The retransmission timer: min, doubling, give up past max. */
Test(dtls, timer_doubles_then_gives_up)
{
	dp_init(&P, 17);
	P.c.cfg.timeout_min_ms = 100;
	P.c.cfg.timeout_max_ms = 800;
	cr_assert_eq(dp_start(&P), 0);
	uint8_t out[300];
	uint32_t t = P.now, at;
	cr_assert_gt(zs_dtls_output(&P.c.d, out, sizeof out, t), 0);
	cr_assert_eq(zs_dtls_output(&P.c.d, out, sizeof out, t), 0);
	uint32_t want[] = { 100, 200, 400, 800 };
	for (int i = 0; i < 4; i++) {
		cr_assert(zs_dtls_deadline(&P.c.d, &at));
		cr_assert_eq(at - t, want[i], "step %d: %u", i, at - t);
		cr_assert_eq(zs_dtls_output(&P.c.d, out, sizeof out, at - 1),
			     0);
		t = at;
		int n = zs_dtls_output(&P.c.d, out, sizeof out, t);
		if (i < 3)
			cr_assert_gt(n, 0, "resend %d", i);
		else
			cr_assert_eq(n, -ETIMEDOUT);
	}
	cr_assert_eq(zs_dtls_error(&P.c.d), -ETIMEDOUT);
	cr_assert_eq(zs_dtls_stats(&P.c.d)->retransmits, 3);
	cr_assert_not(zs_dtls_deadline(&P.c.d, &at));
}

Test(dtls, close_notify)
{
	dp_init(&P, 18);
	handshake_ok(&P);
	zs_dtls_close(&P.c.d);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_CLOSED);
	cr_assert_lt(dp_send(&P, &P.c, "x", 1), 0);
	while (dp_step(&P))
		;
	cr_assert_eq(zs_dtls_state(&P.s.d), ZS_DTLS_CLOSED);
	cr_assert_eq(zs_dtls_alert_received(&P.s.d), ZS_ALERT_CLOSE_NOTIFY);
}

Test(dtls, config_checked)
{
	struct zs_dtls d;
	struct zs_dtls_config c = { .rand = dp_rand };
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "no psk");
	c.psk = dp_psk;
	c.psk_len = sizeof dp_psk;
	uint16_t bad = 0x1301;
	c.suites = &bad;
	c.n_suites = 1;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "suite");
	c.n_suites = 0;
	c.mtu = 40;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "mtu");
	c.mtu = 0;
	cr_assert_eq(zs_dtls_init(&d, &c, false), 0);
	cr_assert_eq(zs_dtls_seal(&d, "x", 1, (uint8_t[64]){ 0 }, 64),
		     -ENOTCONN);
	c.server = true;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "no lookup");
}

/* ---- stream record mode (TLS 1.2 framing, RFC 5246 s6.2) ---------------- */

static void stream_pair(struct zs_dtls *a, struct zs_dtls *b, uint16_t suite)
{
	uint64_t r = 5;
	struct zs_dtls_config c = { .rand = dp_rand, .rand_arg = &r,
				    .psk = dp_psk, .psk_len = 16 };
	cr_assert_eq(zs_dtls_init(a, &c, true), 0);
	c.server = true;
	c.psk_lookup = dp_lookup;
	cr_assert_eq(zs_dtls_init(b, &c, true), 0);
	struct zs_dtls *both[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		struct zs_dtls *d = both[i];
		d->suite = suite;
		memset(d->master, 0x42, 48);
		memset(d->client_random, 1, 32);
		memset(d->server_random, 2, 32);
		zs_dtls_install_keys(d);
		d->r_epoch_max = 1;
		d->w_epoch = 1;
		d->state = ZS_DTLS_ESTABLISHED;
	}
}

Test(dtls, stream_records)
{
	uint16_t suites[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8,
			      ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	for (int s = 0; s < 2; s++) {
		static struct zs_dtls a, b;
		stream_pair(&a, &b, suites[s]);
		uint8_t stream[4096];
		size_t len = 0;
		for (int i = 0; i < 10; i++) {
			char m[32];
			int n = snprintf(m, sizeof m, "record %d", i);
			int r = zs_dtls_seal(&a, m, (size_t)n, stream + len,
					     sizeof stream - len);
			cr_assert_eq((size_t)r, 5 + 8 + (size_t)n
						     + zs_dtls_tag_len(suites[s]));
			len += (size_t)r;
		}
		/* byte by byte: 0 until a record is whole */
		size_t off = 0, have = 0;
		int got = 0;
		while (off < len) {
			uint8_t *app;
			size_t alen;
			have = have < len ? have + 1 : len;
			int r = zs_dtls_input(&b, stream + off, have - off, 0,
					      &app, &alen);
			cr_assert_geq(r, 0);
			if (r == 0)
				continue;
			char m[32];
			int n = snprintf(m, sizeof m, "record %d", got++);
			cr_assert_eq(alen, (size_t)n);
			cr_assert_arr_eq(app, m, (size_t)n);
			off += (size_t)r;
		}
		cr_assert_eq(got, 10);
		/* a tampered record is fatal on a stream */
		int r = zs_dtls_seal(&a, "zz", 2, stream, sizeof stream);
		stream[r - 1] ^= 0x80;
		uint8_t *app;
		size_t alen;
		cr_assert_eq(zs_dtls_input(&b, stream, (size_t)r, 0, &app, &alen),
			     -ECONNABORTED);
		cr_assert_eq(zs_dtls_alert_sent(&b), -1);
		uint8_t out[64];
		int n = zs_dtls_output(&b, out, sizeof out, 0);
		cr_assert_eq(n, 5 + 8 + 2 + (int)zs_dtls_tag_len(suites[s]));
		cr_assert_eq(out[0], 21);
	}
}

/* The whole PSK handshake over a stream (TLS 1.2 framing, RFC 5246), the
 * bytes handed over in random cuts: then data both ways. */
Test(dtls, stream_handshake_psk)
{
	uint16_t suites[] = { ZS_DTLS_PSK_WITH_AES_128_CCM_8,
			      ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256 };
	for (int i = 0; i < 2; i++) {
		static struct sp_side c, s;
		memset(&c, 0, sizeof c);
		memset(&s, 0, sizeof s);
		dp_init(&P, 50 + (uint64_t)i);
		dp_client_suite(&P, &suites[i]);
		P.s.cfg.psk_hint = (const uint8_t *)"hint";
		P.s.cfg.psk_hint_len = (size_t)i * 4;
		cr_assert_eq(zs_dtls_init(&c.d, &P.c.cfg, true), 0);
		cr_assert_eq(zs_dtls_init(&s.d, &P.s.cfg, true), 0);
		cr_assert_eq(zs_dtls_connect(&c.d, 0), 0);
		uint64_t rng = 9 + (uint64_t)i;
		for (int k = 0; k < 400 && (zs_dtls_state(&c.d)
					    != ZS_DTLS_ESTABLISHED
					    || zs_dtls_state(&s.d)
					    != ZS_DTLS_ESTABLISHED); k++) {
			sp_move(&c, &s);
			sp_move(&s, &c);
			sp_read(&s, &rng);
			sp_read(&c, &rng);
		}
		cr_assert_eq(zs_dtls_state(&c.d), ZS_DTLS_ESTABLISHED,
			     "client err %d / %d", c.err, s.err);
		cr_assert_eq(zs_dtls_state(&s.d), ZS_DTLS_ESTABLISHED);
		cr_assert_eq(zs_dtls_suite(&s.d), suites[i]);
		cr_assert(!zs_dtls_deadline(&c.d, &(uint32_t){ 0 }),
			  "a stream arms no timer");
		for (int k = 0; k < 50; k++) {
			uint8_t m[1000];
			memset(m, k, sizeof m);
			int n = zs_dtls_seal(&c.d, m, sizeof m, c.in, 0);
			cr_assert_eq(n, -ENOBUFS);
			n = zs_dtls_seal(&c.d, m, sizeof m,
					 s.in + s.in_len, sizeof s.in - s.in_len);
			cr_assert_gt(n, 0);
			s.in_len += (size_t)n;
			while (sp_read(&s, &rng))
				;
		}
		while (s.in_len)
			sp_read(&s, &rng);
		cr_assert_eq(s.log_len, 50000);
		for (size_t k = 0; k < 50000; k++)
			cr_assert_eq(s.log[k], (uint8_t)(k / 1000));
		/* a flipped bit on a stream is fatal */
		int n = zs_dtls_seal(&s.d, "abc", 3, c.in, sizeof c.in);
		c.in[n - 2] ^= 4;
		c.in_len = (size_t)n;
		uint8_t *app;
		size_t alen;
		cr_assert_eq(zs_dtls_input(&c.d, c.in, c.in_len, 0, &app, &alen),
			     -ECONNABORTED);
	}
}

/* Stream mode, wrong key: the server cannot read the client's Finished
 * (bad_record_mac, fatal at once on a stream). */
Test(dtls, stream_wrong_psk)
{
	static struct sp_side c, s;
	memset(&c, 0, sizeof c);
	memset(&s, 0, sizeof s);
	dp_init(&P, 60);
	static const uint8_t other[16] = "0123456789abcdeX";
	P.known_psk = other;
	cr_assert_eq(zs_dtls_init(&c.d, &P.c.cfg, true), 0);
	cr_assert_eq(zs_dtls_init(&s.d, &P.s.cfg, true), 0);
	cr_assert_eq(zs_dtls_connect(&c.d, 0), 0);
	uint64_t rng = 3;
	sp_run(&c, &s, &rng);
	cr_assert_eq(s.err, -ECONNABORTED);
	cr_assert_eq(zs_dtls_alert_sent(&s.d), ZS_ALERT_BAD_RECORD_MAC,
		     "sent %d, client err %d alert %d", zs_dtls_alert_sent(&s.d),
		     c.err, zs_dtls_alert_received(&c.d));
	cr_assert_eq(c.err, -ECONNRESET);
	cr_assert_eq(zs_dtls_alert_received(&c.d), ZS_ALERT_BAD_RECORD_MAC);
}


/* A forged handshake record into b (size bytes, zeroed first): record
 * version ver and sequence number rseq, one fragment of flen bytes at
 * offset 0 of a message of type and length mlen, message_seq mseq. */
static void forge_hs(uint8_t *b, size_t size, uint16_t ver, uint64_t rseq,
		     uint8_t type, uint32_t mlen, uint16_t mseq, uint32_t flen)
{
	memset(b, 0, size);
	b[0] = 22;
	put16(b + 1, ver);
	put48(b + 5, rseq);
	put16(b + 11, (uint16_t)(12 + flen));
	b[13] = type;
	put24(b + 14, mlen);
	put16(b + 17, mseq);
	put24(b + 22, flen);
}

/* Found by fuzz/fuzz_dtls.c: two forged datagrams, a HelloVerifyRequest
 * with a junk cookie and a ServerHello, take the client past C_WAIT_SH
 * with a ClientHello the stateless gate refuses. The gate answers every
 * copy of it with a HelloVerifyRequest (message_seq 1, older than the
 * client's next); the client took each for the server repeating its last
 * flight and sent its ClientHello again: an endless exchange with the
 * clock stopped. An old HelloVerifyRequest must not trigger a resend. */
Test(dtls, old_hello_verify_no_ping_pong)
{
	dp_init(&P, 31);
	cr_assert_eq(dp_start(&P), 0);
	dp_drain_out(&P, &P.c, &P.to_s);             /* the first ClientHello */
	uint8_t b[128];
	forge_hs(b, sizeof b, 0xFEFF, 0, 3, 7, 0, 7); /* HelloVerifyRequest */
	put16(b + 25, 0xFEFF);
	b[27] = 4;
	memcpy(b + 28, "junk", 4);
	dp_feed(&P, &P.c, b, 13 + 12 + 7);
	forge_hs(b, sizeof b, 0xFEFD, 1, 2, 38, 1, 38); /* ServerHello, seq 1 */
	put16(b + 25, 0xFEFD);
	memset(b + 27, 0x42, 32);
	put16(b + 60, ZS_DTLS_PSK_WITH_AES_128_CCM_8);
	dp_feed(&P, &P.c, b, 13 + 12 + 38);
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_HANDSHAKE);
	int steps = 0;
	while (steps < 50 && dp_step(&P))
		steps++;
	cr_assert_lt(steps, 50, "client and cookie gate still exchanging: "
		     "%zu HelloVerifyRequests, %u retransmissions",
		     P.cookies_sent, zs_dtls_stats(&P.c.d)->retransmits);
	cr_assert_leq(P.cookies_sent, 2);
}

/* Found by fuzz/fuzz_dtls.c: a client that has part of the server's
 * flight (ServerHello) but cannot finish it (a forged fragment of the
 * next message, with another length, holds it back until the timer)
 * took the server's repeat of that same flight for a sign that its
 * ClientHello was lost and resent it; the server, seeing that old
 * ClientHello, resent its flight, and so on for ever, with the clock
 * stopped (the timer, re-armed by each resend, never fired). Only a
 * message from before the flight being received means ours was lost. */
Test(dtls, repeat_of_current_flight_no_ping_pong)
{
	struct dp_dgram g, flight;
	dp_init(&P, 32);
	P.s.cfg.psk_hint = (const uint8_t *)"hint";   /* SH, SKE, SHD */
	P.s.cfg.psk_hint_len = 4;
	cr_assert_eq(dp_start(&P), 0);
	dp_drain_out(&P, &P.c, &P.to_s);
	cr_assert(dp_pop(&P.to_s, &g));                 /* ClientHello */
	dp_server_rx(&P, &g);
	cr_assert(dp_pop(&P.to_c, &g));                 /* HelloVerifyRequest */
	dp_feed(&P, &P.c, g.b, g.len);
	dp_drain_out(&P, &P.c, &P.to_s);
	cr_assert(dp_pop(&P.to_s, &g));                 /* with the cookie */
	dp_server_rx(&P, &g);
	cr_assert(P.s.up);
	dp_drain_out(&P, &P.s, &P.to_c);
	cr_assert(dp_pop(&P.to_c, &flight));            /* the whole flight */
	size_t sh = 13 + get16(flight.b + 11);
	cr_assert_lt(sh, flight.len);
	memcpy(g.b, flight.b, sh);                      /* ServerHello alone */
	dp_feed(&P, &P.c, g.b, sh);
	uint8_t f[13 + 12 + 1];                         /* a forged SKE piece */
	forge_hs(f, sizeof f, 0xFEFD, 77, 12, 999, 2, 1);
	dp_feed(&P, &P.c, f, sizeof f);
	dp_feed(&P, &P.c, flight.b, flight.len);        /* the rest: held back */
	cr_assert_eq(zs_dtls_state(&P.c.d), ZS_DTLS_HANDSHAKE);
	dp_feed(&P, &P.c, flight.b, flight.len);        /* the server repeats */
	int steps = 0;
	while (steps < 50 && dp_step(&P))
		steps++;
	cr_assert_lt(steps, 50, "client and server still resending: %u and %u",
		     zs_dtls_stats(&P.c.d)->retransmits,
		     zs_dtls_stats(&P.s.d)->retransmits);
	dp_run(&P, 20);                                 /* the timer clears it */
	cr_assert(dp_done(&P));
}

/* ---- ALPN (RFC 7301), both modes ---------------------------------------- */

static const char *const alpn_h2_h1[] = { "h2", "http/1.1" };
static const char *const alpn_h1[] = { "http/1.1" };
static const char *const alpn_abc[] = { "a", "b", "c" };
static const char *const alpn_cb[] = { "c", "b" };
static const char *const alpn_x[] = { "x" };
static const char *const alpn_y[] = { "y" };

static struct sp_side AC, AS;

/* dp_init(seed) with these lists (n 0: none), client context made and
 * connected in the mode asked for (its ClientHello queued, not sent). */
static void alpn_start(bool stream, uint64_t seed, const char *const *cl,
		       size_t nc, const char *const *sl, size_t ns)
{
	dp_init(&P, seed);
	P.c.cfg.alpn = cl;
	P.c.cfg.n_alpn = nc;
	P.s.cfg.alpn = sl;
	P.s.cfg.n_alpn = ns;
	if (!stream) {
		cr_assert_eq(dp_start(&P), 0);
		return;
	}
	memset(&AC, 0, sizeof AC);
	memset(&AS, 0, sizeof AS);
	cr_assert_eq(zs_dtls_init(&AC.d, &P.c.cfg, true), 0);
	cr_assert_eq(zs_dtls_init(&AS.d, &P.s.cfg, true), 0);
	cr_assert_eq(zs_dtls_connect(&AC.d, 0), 0);
}

/* The two contexts of the mode. */
static struct zs_dtls *alpn_c(bool stream)
{
	return stream ? &AC.d : &P.c.d;
}

static struct zs_dtls *alpn_s(bool stream)
{
	return stream ? &AS.d : &P.s.d;
}

/* DTLS: through the cookie round, up to the ClientHello with the cookie
 * (in P.to_s, built from the client's list as it is now); a stream has
 * none. */
static void alpn_past_cookie(bool stream)
{
	if (stream)
		return;
	dp_step(&P);
	cr_assert_eq(P.cookies_sent, 1);
	cr_assert_eq(P.to_s.n, 1);
}

/* Run what alpn_start began to its end. */
static void alpn_finish(bool stream)
{
	if (!stream) {
		dp_run(&P, 40);
		return;
	}
	/* sp_read() takes a random prefix: a 1 KiB record needs many */
	uint64_t rng = P.rng;
	for (int k = 0; k < 20000 && !AC.err && !AS.err
			&& (zs_dtls_state(&AC.d) != ZS_DTLS_ESTABLISHED
			    || zs_dtls_state(&AS.d) != ZS_DTLS_ESTABLISHED); k++) {
		sp_move(&AC, &AS);
		sp_move(&AS, &AC);
		sp_read(&AS, &rng);
		sp_read(&AC, &rng);
	}
	/* the alert of a failure across */
	sp_run(&AC, &AS, &rng);
}

static void alpn_done(bool stream)
{
	cr_assert_eq(zs_dtls_state(alpn_c(stream)), ZS_DTLS_ESTABLISHED,
		     "stream %d: client err %d alert sent %d rcvd %d", stream,
		     zs_dtls_error(alpn_c(stream)),
		     zs_dtls_alert_sent(alpn_c(stream)),
		     zs_dtls_alert_received(alpn_c(stream)));
	cr_assert_eq(zs_dtls_state(alpn_s(stream)), ZS_DTLS_ESTABLISHED);
}

/* Handshake with the lists; both established; what each side selected. */
static void alpn_ok(bool stream, uint64_t seed, const char *const *cl,
		    size_t nc, const char *const *sl, size_t ns)
{
	alpn_start(stream, seed, cl, nc, sl, ns);
	cr_assert_null(zs_dtls_alpn(alpn_c(stream)), "not before the end");
	alpn_finish(stream);
	alpn_done(stream);
}

/* The handshake ended: the client with `by` (-ECONNRESET: an alert came),
 * having sent or received alert `a`; the server likewise. */
static void alpn_failed(bool stream, int c_err, int s_err, int alert)
{
	struct zs_dtls *c = alpn_c(stream), *s = alpn_s(stream);
	cr_assert_eq(zs_dtls_state(c), ZS_DTLS_FAILED, "stream %d", stream);
	cr_assert_eq(zs_dtls_state(s), ZS_DTLS_FAILED, "stream %d", stream);
	cr_assert_eq(zs_dtls_error(c), c_err, "client %d", zs_dtls_error(c));
	cr_assert_eq(zs_dtls_error(s), s_err, "server %d", zs_dtls_error(s));
	struct zs_dtls *sender = c_err == -ECONNRESET ? s : c;
	struct zs_dtls *rcvr = sender == s ? c : s;
	cr_assert_eq(zs_dtls_alert_sent(sender), alert, "sent %d",
		     zs_dtls_alert_sent(sender));
	cr_assert_eq(zs_dtls_alert_received(rcvr), alert);
	cr_assert_null(zs_dtls_alpn(c));
	cr_assert_null(zs_dtls_alpn(s));
}

Test(dtls, alpn_match)
{
	for (int m = 0; m < 2; m++) {
		alpn_ok(m, 70, alpn_h2_h1, 2, alpn_h1, 1);
		/* pointers into each side's own list */
		cr_assert_eq(zs_dtls_alpn(alpn_c(m)), alpn_h2_h1[1]);
		cr_assert_eq(zs_dtls_alpn(alpn_s(m)), alpn_h1[0]);
		cr_assert_eq(zs_dtls_verify_result(alpn_c(m)), -1, "PSK");
		cr_assert_eq(zs_dtls_verify_result(alpn_s(m)), -1);
	}
}

/* The server's order wins: the client prefers b, the server c. */
Test(dtls, alpn_server_preference)
{
	for (int m = 0; m < 2; m++) {
		alpn_ok(m, 71, alpn_abc + 1, 2, alpn_cb, 2);
		cr_assert_str_eq(zs_dtls_alpn(alpn_c(m)), "c");
		cr_assert_eq(zs_dtls_alpn(alpn_s(m)), alpn_cb[0]);
		alpn_ok(m, 72, alpn_abc, 3, alpn_cb + 1, 1);
		cr_assert_str_eq(zs_dtls_alpn(alpn_c(m)), "b");
	}
}

/* RFC 7301 s3.2: nothing in common, no_application_protocol (120). */
Test(dtls, alpn_no_overlap)
{
	for (int m = 0; m < 2; m++) {
		alpn_start(m, 73, alpn_x, 1, alpn_y, 1);
		alpn_finish(m);
		alpn_failed(m, -ECONNRESET, -ECONNABORTED,
			    ZS_ALERT_NO_APPLICATION_PROTOCOL);
	}
}

/* Either side without a list: no ALPN, the handshake goes on. */
Test(dtls, alpn_one_side_only)
{
	for (int m = 0; m < 2; m++) {
		alpn_ok(m, 74, NULL, 0, alpn_h1, 1);
		cr_assert_null(zs_dtls_alpn(alpn_c(m)));
		cr_assert_null(zs_dtls_alpn(alpn_s(m)));
		alpn_ok(m, 75, alpn_h1, 1, NULL, 0);
		cr_assert_null(zs_dtls_alpn(alpn_c(m)));
		cr_assert_null(zs_dtls_alpn(alpn_s(m)));
	}
}

/* A ServerHello naming a protocol the client did not offer
 * (illegal_parameter), or ALPN the client did not ask for
 * (unsupported_extension, RFC 5246 s7.4.1.4): the client's list is
 * changed under it once its ClientHello is made. */
Test(dtls, alpn_client_refuses)
{
	for (int m = 0; m < 2; m++) {
		alpn_start(m, 76, alpn_x, 1, alpn_x, 1);
		alpn_past_cookie(m);
		alpn_c(m)->alpn = alpn_y;
		alpn_finish(m);
		alpn_failed(m, -ECONNABORTED, -ECONNRESET,
			    ZS_ALERT_ILLEGAL_PARAMETER);
		alpn_start(m, 77, alpn_x, 1, alpn_x, 1);
		alpn_past_cookie(m);
		alpn_c(m)->n_alpn = 0;
		alpn_finish(m);
		alpn_failed(m, -ECONNABORTED, -ECONNRESET,
			    ZS_ALERT_UNSUPPORTED_EXTENSION);
	}
}

/* A malformed ALPN extension in the ClientHello: decode_error, from a
 * server with a list or without. The ClientHello for the list {"zz"} is
 * damaged in the client's flight before it goes. */
Test(dtls, alpn_malformed)
{
	static const char *const zz[] = { "zz" };
	static const uint8_t ext[] = { 0x00, 0x10, 0x00, 0x05, 0x00, 0x03,
				       0x02, 'z', 'z' };
	/* the byte to change (offset in ext) and its new value */
	static const uint8_t edits[][2] = {
		{ 6, 3 },    /* name runs past the list */
		{ 6, 0 },    /* empty name */
		{ 5, 4 },    /* list length off */
		{ 5, 0 },    /* empty list */
		{ 3, 6 },    /* extension length off (the block's too) */
	};
	for (int m = 0; m < 2; m++) {
		for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
			for (int srv_list = 0; srv_list < 2; srv_list++) {
				alpn_start(m, 78 + e, zz, 1, zz,
					   (size_t)srv_list);
				alpn_past_cookie(m);
				/* DTLS: the datagram on its way; a stream:
				 * the flight not yet output */
				uint8_t *b = m ? AC.d.flight : P.to_s.q[0].b;
				size_t len = m ? AC.d.flight_used
					       : P.to_s.q[0].len;
				uint8_t *at = NULL;
				for (size_t i = 0; i + sizeof ext <= len; i++)
					if (!memcmp(b + i, ext, sizeof ext))
						at = b + i;
				cr_assert_not_null(at);
				at[edits[e][0]] = edits[e][1];
				alpn_finish(m);
				cr_assert_eq(zs_dtls_state(alpn_s(m)),
					     ZS_DTLS_FAILED, "mode %d edit %zu",
					     m, e);
				cr_assert_eq(zs_dtls_alert_sent(alpn_s(m)),
					     ZS_ALERT_DECODE_ERROR);
			}
		}
	}
}

/* A list kept by pointer, checked at init. */
Test(dtls, alpn_config_checked)
{
	struct zs_dtls d;
	static char long_name[257];
	memset(long_name, 'n', 256);
	const char *const five[] = { "1", "2", "3", "4", "5" };
	const char *const empty[] = { "" };
	const char *const null[] = { NULL };
	const char *const too_long[] = { long_name };
	struct zs_dtls_config c = { .rand = dp_rand, .psk = dp_psk,
				    .psk_len = sizeof dp_psk };
	c.alpn = five;
	c.n_alpn = 5;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "5 names");
	c.n_alpn = 4;
	cr_assert_eq(zs_dtls_init(&d, &c, false), 0);
	c.n_alpn = 1;
	c.alpn = empty;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "empty");
	c.alpn = null;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "NULL");
	c.alpn = too_long;
	cr_assert_eq(zs_dtls_init(&d, &c, true), -EINVAL, "256 bytes");
	long_name[255] = 0;
	cr_assert_eq(zs_dtls_init(&d, &c, true), 0, "255 bytes");
	c.alpn = NULL;
	cr_assert_eq(zs_dtls_init(&d, &c, false), -EINVAL, "no array");
	c.n_alpn = 0;
	cr_assert_eq(zs_dtls_init(&d, &c, false), 0);
	cr_assert_null(zs_dtls_alpn(&d));
}

/* The longest list the core takes, 4 names of 255 bytes: a ClientHello
 * of 1138 bytes with the cookie, in one datagram under the default MTU
 * (1200; the stateless cookie gate takes unfragmented ClientHellos only). */
Test(dtls, alpn_long_names)
{
	static char n[4][256];
	static const char *names[4];
	for (int i = 0; i < 4; i++) {
		memset(n[i], 'a' + i, 255);
		names[i] = n[i];
	}
	for (int m = 0; m < 2; m++) {
		alpn_ok(m, 79, names, 4, names + 3, 1);
		cr_assert_eq(zs_dtls_alpn(alpn_c(m)), names[3]);
		cr_assert_eq(zs_dtls_alpn(alpn_s(m)), names[3]);
	}
}
