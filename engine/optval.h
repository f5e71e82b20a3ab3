/*
 * Option values as setsockopt/getsockopt pass them: an int or a struct
 * timeval behind a pointer and a length. Shared by every socket kind.
 * A length that is negative as an int is refused like a short one.
 */
#ifndef ZSOCK_OPTVAL_H
#define ZSOCK_OPTVAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <zsock/socket.h>

/** Store v: 0, or -EINVAL when *len is short (then nothing is written). */
int zs_optval_put_int(void *val, socklen_t *len, int v);
/** Read an int: 0, or -EINVAL when len is short. */
int zs_optval_get_int(const void *val, socklen_t len, int *v);
/** Store a timeout of ms (-1 forever: {0, 0}) as a struct timeval. */
int zs_optval_put_timeo(void *val, socklen_t *len, int32_t ms);
/**
 * Read a struct timeval into *out in ms, rounded up so that no call
 * returns before the timeout; {0, 0} means forever (-1). Returns 0,
 * -EINVAL (short), -EDOM (a negative part or tv_usec >= 1000000, as Linux).
 */
int zs_optval_get_timeo(const void *val, socklen_t len, _Atomic int32_t *out);

#endif
