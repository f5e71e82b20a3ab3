/*
 * zt_tls: helpers the TLS suites share (tests/loopback/test_tls.c,
 * test_exhaustion.c, test_security.c, tests/interop/test_tls*.c). Hosted
 * builds; every function asserts with cr_assert: test thread only.
 */
#ifndef ZT_TLS_H
#define ZT_TLS_H

#include <stddef.h>

#include <zsock/socket.h>

/**
 * The whole file at path in a malloc()ed buffer the caller MUST free(), a
 * NUL after its last byte (not counted in *len). Asserts it can be read.
 */
char *zt_read_file(const char *path, size_t *len);

/** zsock_setsockopt(fd, SOL_TLS, name, v, len) asserting 0. */
void zt_tls_set(int fd, int name, const void *v, socklen_t len);

/**
 * An int SOL_TLS option without asserting (for failure messages and
 * expected failures): the value, or -1000 - errno when the read fails.
 */
int zt_tls_opt_or(int fd, int name);

/** SO_RCVTIMEO and SO_SNDTIMEO of fd both sec seconds; asserts. */
void zt_timeouts(int fd, int sec);

/**
 * Connect the non-blocking TLS socket fd to sa, asserting EINPROGRESS, then
 * poll it until POLLOUT (the handshake complete), up to wait_ms; asserts no
 * POLLERR or POLLHUP comes first.
 */
void zt_tls_connect_nb(int fd, const struct sockaddr *sa, socklen_t len, int wait_ms);

/**
 * Wait (up to wait_ms) until the engine holds no TLS socket and no TLS
 * session (closes end asynchronously); asserts it gets there.
 */
void zt_tls_idle(int wait_ms);

#endif
