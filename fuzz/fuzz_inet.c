/*
 * Fuzz target inet: zsock_inet_pton and zsock_inet_ntop (api/zsock/inet.c).
 *
 * The input up to its first NUL is parsed as AF_INET and as AF_INET6; the
 * first 4 and 16 input bytes are also printed as addresses. Checked, each
 * an abort() when it fails:
 *  - pton returns 1 or 0 and leaves dst untouched on 0;
 *  - pton accepts exactly what glibc's inet_pton accepts, with the same
 *    bytes (inet.c promises glibc's forms);
 *  - an address prints with ntop, the text is glibc's inet_ntop text, it
 *    parses back to the same bytes and prints the same again;
 *  - ntop into any buffer shorter than text + NUL fails with ENOSPC and
 *    writes nothing; exactly text + NUL succeeds.
 */
#include <zsock/socket.h>

#include <arpa/inet.h>
#include <errno.h>

#include "fuzz.h"

#define TEXT_MAX 64	/* > INET6_ADDRSTRLEN: room to see an overlong text */

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static const char *fname(int family)
{
	return family == AF_INET ? "AF_INET" : "AF_INET6";
}

/* Print a (4 or 16 bytes) and check every promise of ntop about it. */
static void check_ntop(int family, const uint8_t *a)
{
	char text[TEXT_MAX], again[TEXT_MAX], ref[TEXT_MAX];
	uint8_t back[16];
	size_t len, size;

	FZ_CHECK(zsock_inet_ntop((sa_family_t)family, a, text, sizeof(text)) == text,
		 "%s ntop failed, errno %d", fname(family), errno);
	len = strlen(text);
	FZ_CHECK(len < (family == AF_INET ? INET_ADDRSTRLEN : INET6_ADDRSTRLEN),
		 "%s ntop text \"%s\" is longer than the ADDRSTRLEN promise", fname(family), text);
	FZ_CHECK(inet_ntop(family, a, ref, sizeof(ref)) != NULL, "glibc inet_ntop failed");
	FZ_CHECK(strcmp(text, ref) == 0, "%s ntop \"%s\", glibc \"%s\"", fname(family), text, ref);

	memset(back, 0xa5, sizeof(back));
	FZ_CHECK(zsock_inet_pton((sa_family_t)family, text, back) == 1,
		 "%s ntop text \"%s\" does not parse back", fname(family), text);
	FZ_CHECK(memcmp(back, a, alen(family)) == 0,
		 "%s \"%s\" parses back to other bytes", fname(family), text);
	FZ_CHECK(zsock_inet_ntop((sa_family_t)family, back, again, sizeof(again)) == again &&
			 strcmp(text, again) == 0,
		 "%s \"%s\" prints again as \"%s\"", fname(family), text, again);

	/* Every short buffer, each of exactly its size on the heap. */
	for (size = 0; size <= len + 1; size++) {
		uint8_t *dst = malloc(size > 0 ? size : 1);
		char *r;
		size_t i;

		if (dst == NULL)
			abort();
		memset(dst, 0x5a, size > 0 ? size : 1);
		errno = 0;
		r = zsock_inet_ntop((sa_family_t)family, a, (char *)dst, size);
		if (size <= len) {
			FZ_CHECK(r == NULL && errno == ENOSPC,
				 "%s ntop \"%s\" into %zu bytes: %p errno %d", fname(family), text,
				 size, (void *)r, errno);
			for (i = 0; i < size; i++)
				FZ_CHECK(dst[i] == 0x5a, "%s ntop into %zu bytes wrote byte %zu",
					 fname(family), size, i);
		} else {
			FZ_CHECK(r == (char *)dst && memcmp(dst, text, len + 1) == 0,
				 "%s ntop \"%s\" into exactly %zu bytes failed", fname(family),
				 text, size);
		}
		free(dst);
	}
}

static void check_pton(int family, const char *s)
{
	uint8_t a[16], ref[16];
	int rc, grc;

	memset(a, 0xa5, sizeof(a));
	rc = zsock_inet_pton((sa_family_t)family, s, a);
	grc = inet_pton(family, s, ref);
	FZ_CHECK(rc == 0 || rc == 1, "%s pton returned %d", fname(family), rc);
	FZ_CHECK(rc == grc, "%s pton \"%s\": zsock %d, glibc %d", fname(family), s, rc, grc);
	if (rc == 0) {
		for (size_t i = 0; i < sizeof(a); i++)
			FZ_CHECK(a[i] == 0xa5, "%s pton rejected \"%s\" but wrote dst",
				 fname(family), s);
		return;
	}
	FZ_CHECK(memcmp(a, ref, alen(family)) == 0, "%s pton \"%s\": other bytes than glibc",
		 fname(family), s);
	for (size_t i = alen(family); i < sizeof(a); i++)
		FZ_CHECK(a[i] == 0xa5, "%s pton wrote past the address", fname(family));
	check_ntop(family, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t raw[16];
	char *s;

	memset(raw, 0, sizeof(raw));
	if (size > 0)
		memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
	check_ntop(AF_INET, raw);
	check_ntop(AF_INET6, raw);

	s = fz_str(&in);
	check_pton(AF_INET, s);
	check_pton(AF_INET6, s);
	free(s);
	return 0;
}
