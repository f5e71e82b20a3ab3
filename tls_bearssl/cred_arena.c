/*
 * The credential arena (see cred_arena.h): first fit over one static array,
 * freed blocks coalesced at once.
 *
 * Layout. The array is a sequence of blocks that tiles it exactly, from
 * offset 0 to ARENA_BYTES. Each block starts with a struct blk: its size
 * (header included, a multiple of ARENA_ALIGN) and its reference count, 0
 * meaning free. The payload follows the header, so it is ARENA_ALIGN
 * aligned. A block's id is its offset (the arena is at most 16 MiB, well
 * within a uint32_t).
 *
 * Invariants: the sizes of all blocks add up to ARENA_BYTES; no two free
 * blocks are adjacent; used == the sum of the sizes of allocated blocks.
 *
 * Costs. Allocation walks the blocks from the start and takes the first
 * free one big enough, splitting off the rest when the rest can hold a
 * header and ARENA_ALIGN bytes; a free walks from the start to find the
 * block before. Both are O(blocks); a store of tens of credentials has
 * tens of blocks. A freed payload is wiped byte by byte (private keys live
 * here), O(its size).
 */
#include "tls_bearssl/cred_arena.h"

#include <zsock/zsock_config.h>

#include "engine/port/port.h"

/* What payloads hold: BearSSL structs of pointers, size_t and ints. */
union arena_align {
	void *p;
	size_t z;
	uint32_t u;
};

#define ARENA_ALIGN ((size_t)_Alignof(union arena_align))
#define ARENA_BYTES (CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA / ARENA_ALIGN * ARENA_ALIGN)

struct blk {
	uint32_t size; /* bytes, header included; a multiple of ARENA_ALIGN */
	uint32_t refs; /* 0: free */
};

#define HDR sizeof(struct blk)

_Static_assert(HDR % ARENA_ALIGN == 0, "payloads must stay aligned");
_Static_assert(ARENA_BYTES >= 2 * HDR && ARENA_BYTES <= UINT32_MAX,
	       "CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA out of range");

static _Alignas(union arena_align) unsigned char arena[ARENA_BYTES];
static size_t used;

/* The block at offset off. */
static struct blk *at(uint32_t off)
{
	return (struct blk *)(void *)(arena + off);
}

/* see cred_arena.h */
void zs_arena_init(void)
{
	at(0)->size = (uint32_t)ARENA_BYTES;
	at(0)->refs = 0;
	used = 0;
}

/* see cred_arena.h */
void *zs_arena_alloc(size_t len)
{
	uint32_t need, off;

	if (len > ARENA_BYTES - HDR)
		return NULL;
	need = (uint32_t)(HDR + (len + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);
	for (off = 0; off < ARENA_BYTES; off += at(off)->size) {
		struct blk *b = at(off);

		if (b->refs != 0 || b->size < need)
			continue;
		if (b->size - need >= HDR + ARENA_ALIGN) {
			struct blk *rest = at(off + need);

			rest->size = b->size - need;
			rest->refs = 0;
			b->size = need;
		}
		b->refs = 1;
		used += b->size;
		return b + 1;
	}
	return NULL;
}

/* see cred_arena.h */
uint32_t zs_arena_id(const void *p)
{
	const unsigned char *c = p;

	ZS_ASSERT(c >= arena + HDR && c < arena + ARENA_BYTES);
	return (uint32_t)(c - arena - HDR);
}

/* see cred_arena.h */
void zs_arena_ref(uint32_t id)
{
	ZS_ASSERT(id < ARENA_BYTES && at(id)->refs > 0);
	at(id)->refs++;
}

/* see cred_arena.h */
void zs_arena_unref(uint32_t id)
{
	struct blk *b = at(id);
	uint32_t off, prev = 0;

	ZS_ASSERT(id < ARENA_BYTES && b->refs > 0);
	if (--b->refs != 0)
		return;
	zs_arena_wipe(b + 1, b->size - HDR);
	used -= b->size;
	if (id + b->size < ARENA_BYTES && at(id + b->size)->refs == 0)
		b->size += at(id + b->size)->size;
	for (off = 0; off < id; off += at(off)->size)
		prev = off;
	if (id != 0 && at(prev)->refs == 0)
		at(prev)->size += b->size;
}

/* see cred_arena.h */
size_t zs_arena_used(void)
{
	return used;
}

/* see cred_arena.h */
void zs_arena_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}
