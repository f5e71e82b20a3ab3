/*
 * Helpers shared by the fuzz targets: a checked assertion that aborts (so
 * libFuzzer reports the input as a crash and saves it), and a reader that
 * takes parameters from the front of an input.
 */
#ifndef ZSOCK_FUZZ_H
#define ZSOCK_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noreturn, format(printf, 4, 5)))
static inline void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n%s:%d: FUZZ CHECK FAILED: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* cond MUST hold; otherwise print what and abort. The message arguments
 * are evaluated only on failure. */
#define FZ_CHECK(cond, ...)                                             \
	do {                                                            \
		if (!(cond))                                            \
			fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/* Reads parameters off the front of an input; past the end it gives 0s. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	if (in->n == 0)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t hi = fz_u8(in);

	return (uint16_t)(hi << 8 | fz_u8(in));
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t hi = fz_u16(in);

	return hi << 16 | fz_u16(in);
}

/* Up to len bytes into out; the bytes past the input are 0. */
static inline void fz_bytes(struct fz_in *in, void *out, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	if (k > 0)	/* libFuzzer may pass NULL for an empty input */
		memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

/*
 * The next string: the bytes up to a NUL (consumed) or the end of the
 * input, copied into a malloc'd, NUL-terminated block of exactly its size
 * (so ASan catches a read past its end). The caller frees it.
 */
static inline char *fz_str(struct fz_in *in)
{
	const uint8_t *nul = in->n > 0 ? memchr(in->p, 0, in->n) : NULL;
	size_t len = nul != NULL ? (size_t)(nul - in->p) : in->n;
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	if (len > 0)
		memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	in->n -= len;
	if (nul != NULL) {
		in->p++;
		in->n--;
	}
	return s;
}

#endif
