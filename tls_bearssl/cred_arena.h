/*
 * The credential arena: CONFIG_ZSOCK_TLS_CREDENTIAL_ARENA static bytes cut
 * into reference-counted blocks, for what decoding credentials produces
 * (tls_bearssl/cred.c). No malloc.
 *
 * A block is named by its id (zs_arena_id()), a uint32_t that
 * zs_cred_acquire() keeps in struct zs_tls_creds.held. Block payloads are
 * aligned for any struct of pointers, size_t and ints (BearSSL's key and
 * certificate structs).
 *
 * Not thread-safe: every call MUST be made under the store's table lock
 * (cred.c), except zs_arena_wipe().
 */
#ifndef ZSOCK_TLS_CRED_ARENA_H
#define ZSOCK_TLS_CRED_ARENA_H

#include <stddef.h>
#include <stdint.h>

/** Make the whole arena one free block. Once, before any other call. */
void zs_arena_init(void);

/**
 * A block of at least len bytes with a reference count of 1, or NULL when
 * no free block is big enough (first fit).
 */
__attribute__((warn_unused_result))
void *zs_arena_alloc(size_t len);

/** The id of the block whose payload starts at p (from zs_arena_alloc()). */
uint32_t zs_arena_id(const void *p);

/** Take one more reference on block id; it MUST be allocated. */
void zs_arena_ref(uint32_t id);

/**
 * Drop one reference on block id. At 0 its bytes are wiped and the block
 * merges with its free neighbours.
 */
void zs_arena_unref(uint32_t id);

/** Bytes in allocated blocks, headers included. */
size_t zs_arena_used(void);

/** Zero n bytes at p with stores the compiler may not drop (key material). */
void zs_arena_wipe(void *p, size_t n);

#endif /* ZSOCK_TLS_CRED_ARENA_H */
