/*
 * socketpair objects: two connected AF_UNIX ends inside the process, with
 * no reactor and no lwIP behind them (see sockpair.c for the layout).
 *
 * The POSIX edge (api/zsock/socketpair.c) checks the arguments, reserves
 * two fds, takes a pair with zs_sockpair_open() and finalizes the fds with
 * the two end objects and zs_sockpair_vtable.
 */
#ifndef ZSOCK_SOCKPAIR_H
#define ZSOCK_SOCKPAIR_H

#include <stdint.h>

#include "engine/fdtable.h"

/** The vtable of both ends of every pair. */
extern const struct zs_fd_vtable zs_sockpair_vtable;

/**
 * Check socketpair() arguments: family AF_UNIX, type SOCK_STREAM or
 * SOCK_DGRAM (SOCK_NONBLOCK / SOCK_CLOEXEC bits allowed), proto 0.
 * Returns 0, -EAFNOSUPPORT, -EPROTOTYPE or -EPROTONOSUPPORT.
 */
int zs_sockpair_check(int family, int type, int proto);

/**
 * Take a pair from the static pool for a type zs_sockpair_check() accepted
 * (SOCK_NONBLOCK makes both ends non-blocking). On success end[0] and
 * end[1] hold the two end objects, each carrying one reference that the
 * caller MUST hand to zs_fd_finalize() or drop with zs_sockpair_vtable.unref.
 * Returns 0 or -ENOMEM (every pair in use). Any thread; does not block.
 */
__attribute__((warn_unused_result))
int zs_sockpair_open(int type, void *end[static 2]);

/** Pairs taken from the pool now (including ones still referenced by calls in flight). */
uint32_t zs_sockpair_in_use(void);
/** Static RAM of the socketpair table. */
size_t zs_sockpair_bytes(void);

#endif
