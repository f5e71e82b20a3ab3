/*
 * The board's memcpy (boards/lm3s6965evb/memcpy.c) against a byte loop:
 * every alignment of source and destination, lengths around each path's
 * edges (the byte head, 32-byte blocks, the word and byte tails), and
 * guard bytes on both sides that must not change.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#define SPAN 1480
#define GUARD 8

static uint8_t src_buf[SPAN + 2 * GUARD];
static uint8_t dst_buf[SPAN + 2 * GUARD];

static void check_one(size_t soff, size_t doff, size_t n)
{
	uint8_t *d = dst_buf + GUARD + doff;
	const uint8_t *s = src_buf + GUARD + soff;

	for (size_t i = 0; i < sizeof(src_buf); i++)
		src_buf[i] = (uint8_t)(i * 7u + 1u);
	memset(dst_buf, 0xA5, sizeof(dst_buf));
	cr_assert_eq(memcpy(d, s, n), d);
	for (size_t i = 0; i < sizeof(dst_buf); i++) {
		uint8_t want = 0xA5;

		if (dst_buf + i >= d && dst_buf + i < d + n)
			want = s[dst_buf + i - d];
		cr_assert_eq(dst_buf[i], want, "src +%u dst +%u len %u: byte %u",
			     (unsigned)soff, (unsigned)doff, (unsigned)n, (unsigned)i);
	}
}

Test(memcpy, every_alignment_and_edge_length)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 15, 16, 31, 32,
				       33, 35, 36, 39, 40, 63, 64, 65, 67, 95, 96, 100,
				       127, 128, 131, 255, 256, 259, 511, 512, 600, 655 };

	for (size_t so = 0; so < 4; so++)
		for (size_t dof = 0; dof < 4; dof++)
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
				check_one(so, dof, lens[k]);
}

/* A full segment, aligned on both sides: the block path end to end. */
Test(memcpy, segment)
{
	check_one(0, 0, 1460);
	check_one(4, 0, 1460);
	check_one(2, 2, 1460);
}
