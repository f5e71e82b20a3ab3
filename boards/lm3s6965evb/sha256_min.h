/*
 * SHA-256 (FIPS 180-4) in a few lines, for board_port.c's seed mixing,
 * which must not depend on BearSSL (the board's library is built without
 * it when TLS is off). Small, not fast. Static functions: include it in
 * one C file.
 */
#ifndef ZSOCK_BOARD_SHA256_MIN_H
#define ZSOCK_BOARD_SHA256_MIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sha256_min {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t blk[64];
};

static uint32_t sha256_min_ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32u - n));
}

static void sha256_min_block(struct sha256_min *s)
{
	static const uint32_t k[64] = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
		0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
		0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
		0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
		0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
		0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
	};
	uint32_t w[16], v[8], t1, t2;
	unsigned i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)s->blk[4 * i] << 24 | (uint32_t)s->blk[4 * i + 1] << 16 |
		       (uint32_t)s->blk[4 * i + 2] << 8 | s->blk[4 * i + 3];
	memcpy(v, s->h, sizeof(v));
	for (i = 0; i < 64; i++) {
		if (i >= 16) {
			uint32_t a = w[(i + 1) & 15], b = w[(i + 14) & 15];

			w[i & 15] += (sha256_min_ror(a, 7) ^ sha256_min_ror(a, 18) ^ (a >> 3)) +
				     (sha256_min_ror(b, 17) ^ sha256_min_ror(b, 19) ^ (b >> 10)) +
				     w[(i + 9) & 15];
		}
		t1 = v[7] + (sha256_min_ror(v[4], 6) ^ sha256_min_ror(v[4], 11) ^ sha256_min_ror(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + k[i] + w[i & 15];
		t2 = (sha256_min_ror(v[0], 2) ^ sha256_min_ror(v[0], 13) ^ sha256_min_ror(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(&v[1], &v[0], 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		s->h[i] += v[i];
}

static void sha256_min_init(struct sha256_min *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->bytes = 0;
}

static void sha256_min_update(struct sha256_min *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len-- > 0) {
		s->blk[s->bytes++ % 64u] = *p++;
		if (s->bytes % 64u == 0)
			sha256_min_block(s);
	}
}

static void sha256_min_final(struct sha256_min *s, uint8_t out[32])
{
	uint64_t bits = s->bytes * 8u;
	uint8_t b = 0x80;
	unsigned i;

	sha256_min_update(s, &b, 1);
	b = 0;
	while (s->bytes % 64u != 56u)
		sha256_min_update(s, &b, 1);
	for (i = 0; i < 8; i++) {
		b = (uint8_t)(bits >> (56 - 8 * i));
		sha256_min_update(s, &b, 1);
	}
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

#endif
