/*
 * memcpy() for the Cortex-M3, in place of picolibc's.
 *
 * picolibc's ARMv7-M memcpy moves a word with an LDR/STR pair (about 0.56
 * instructions per byte with its loop). This one moves a 32-byte block
 * with one LDMIA/STMIA pair of eight registers and a two-instruction loop
 * (0.125 instructions per byte) when source and destination share their
 * alignment, as the copies on zsock's paths do (a received pbuf to the
 * caller, the caller to a transmit net_buf, lwIP's TCP_WRITE_FLAG_COPY)
 * when the caller's buffer is word-aligned. On the silicon a load or
 * store multiple of n registers takes n + 1 cycles against about 2n for
 * the pairs, so the gain is not only in the count of instructions QEMU's
 * -icount measures.
 *
 * LDM/STM fault on an unaligned address; LDR/STR do not (the M3 handles
 * unaligned single loads and stores unless CCR.UNALIGN_TRP is set, which
 * this board never sets, as picolibc's memcpy assumes too): the
 * destination is aligned first, and a source that is still not aligned is
 * read with eight unaligned loads per block (0.375 instructions per byte).
 * Copies under 40 bytes go a word, then a byte, at a time.
 *
 * GCC must not turn the loops below back into a call to memcpy.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* an unaligned word (the M3 loads and stores it in one instruction) */
struct uword {
	uint32_t w;
} __attribute__((packed, may_alias));

#define BLOCK_REGS "{r3, r4, r5, r6, r8, r9, r10, r12}"
#define BLOCK_CLOBBERS "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r12", "cc", "memory"

__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n >= 40) {
		size_t blocks;

		/* bytes up to a word boundary of the destination */
		while (((uintptr_t)d & 3u) != 0) {
			*d++ = *s++;
			n--;
		}
		blocks = n / 32;
		n %= 32;
		if (((uintptr_t)s & 3u) == 0) {
			/* both aligned: a load and a store multiple per block */
			__asm__ volatile("1:\n\t"
					 "ldmia %[s]!, " BLOCK_REGS "\n\t"
					 "stmia %[d]!, " BLOCK_REGS "\n\t"
					 "subs %[k], %[k], #1\n\t"
					 "bne 1b"
					 : [s] "+r"(s), [d] "+r"(d), [k] "+r"(blocks)
					 :
					 : BLOCK_CLOBBERS);
		} else {
			/* the source is not: eight unaligned loads, a store multiple */
			__asm__ volatile("1:\n\t"
					 "ldr r3, [%[s], #0]\n\t"
					 "ldr r4, [%[s], #4]\n\t"
					 "ldr r5, [%[s], #8]\n\t"
					 "ldr r6, [%[s], #12]\n\t"
					 "ldr r8, [%[s], #16]\n\t"
					 "ldr r9, [%[s], #20]\n\t"
					 "ldr r10, [%[s], #24]\n\t"
					 "ldr r12, [%[s], #28]\n\t"
					 "adds %[s], %[s], #32\n\t"
					 "stmia %[d]!, " BLOCK_REGS "\n\t"
					 "subs %[k], %[k], #1\n\t"
					 "bne 1b"
					 : [s] "+r"(s), [d] "+r"(d), [k] "+r"(blocks)
					 :
					 : BLOCK_CLOBBERS);
		}
	}
	/* the tail, and short copies: words (unaligned ones are fine), bytes */
	while (n >= 4) {
		((struct uword *)(void *)d)->w = ((const struct uword *)(const void *)s)->w;
		d += 4;
		s += 4;
		n -= 4;
	}
	while (n > 0) {
		*d++ = *s++;
		n--;
	}
	return dst;
}
