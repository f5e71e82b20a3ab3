/*
 * zt: helpers shared by the zsock test suites (Criterion).
 *
 * Conventions:
 *  - Helpers that can fail assert with cr_assert, so they MUST be called
 *    from the test's own thread only (Criterion ends a test by longjmp,
 *    which is meaningless in another thread). Code that runs in a helper
 *    thread records what it saw in its own struct, and the test thread
 *    asserts on it after zt_join(). Safe in any thread: zt_engine_idle,
 *    zt_now_ms, zt_sleep_ms, zt_crc32, zt_pattern, zt_pattern_check,
 *    zt_rand.
 *  - Helpers never keep pointers to caller memory after they return, except
 *    zt_spawn(), whose arg MUST stay valid until zt_join() returns.
 *  - Every test is declared with ZT_TEST(), which ends it with
 *    zt_leak_check(): a wait (up to ZT_LEAK_WAIT_MS) for the engine to give
 *    back every socket, fd and net_buf, then an assertion that it did. A
 *    test MUST close all its sockets before it returns. TIME_WAIT PCBs
 *    inside lwIP are not checked.
 *  - Bare metal (CONFIG_ZSOCK_HOSTED 0: one context, no threads) has all
 *    but the thread helpers (zt_spawn, zt_join). One boot runs all the
 *    tests of an image, so zt_setup() first closes the fds a failed test
 *    left open (with a warning).
 */
#ifndef ZT_H
#define ZT_H

#include <zsock/zsock_config.h>

#if CONFIG_ZSOCK_HOSTED
#include <pthread.h>
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zsock/engine.h>
#include <zsock/socket.h>

/* ---- fixture --------------------------------------------------------------- */

/** How long the leak check waits for the asynchronous closes to finish, ms. */
#define ZT_LEAK_WAIT_MS 3000

/** Start the engine (so its start-up cost is outside the test body). */
void zt_setup(void);
/** Leak check: sockets, fds, tx and rx net_bufs all back to zero. */
void zt_leak_check(void);

/**
 * Declare a test with the leak check: ZT_TEST(suite, name, options...)
 * { body }, options as for Criterion's Test() (.timeout = ...). The check
 * runs at the end of the test's own body, not in .fini: Criterion 2.4
 * reports a test before its .fini runs, so a failure there would be lost.
 * A body that fails an assertion ends at once and skips the check.
 */
#define ZT_TEST(suite, name, ...)                                \
	static void zt_body_##suite##_##name(void);              \
	Test(suite, name, .init = zt_setup, ##__VA_ARGS__)       \
	{                                                        \
		zt_body_##suite##_##name();                      \
		zt_leak_check();                                 \
	}                                                        \
	static void zt_body_##suite##_##name(void)

/**
 * Wait until the engine holds no socket, fd or net_buf, up to wait_ms.
 * Returns true when it got there; *out (may be NULL) gets the last figures.
 * Any thread.
 */
bool zt_engine_idle(int wait_ms, struct zsock_engine_stats *out);

/** zsock_engine_stats() that asserts success. */
void zt_stats(struct zsock_engine_stats *out);

/* ---- time ----------------------------------------------------------------- */

/** Monotonic milliseconds. */
int64_t zt_now_ms(void);
/** Sleep ms milliseconds (only to let another thread reach a call). */
void zt_sleep_ms(int ms);

/* ---- addresses and sockets -------------------------------------------------- */

/** All families the loopback suites run over. */
#define ZT_FAMILIES { AF_INET, AF_INET6 }

/** Fill *ss with 127.0.0.1 or ::1 and port (host order); returns its length. */
socklen_t zt_loopback(int family, uint16_t port, struct sockaddr_storage *ss);
/** Port (host order) of an AF_INET / AF_INET6 address. */
uint16_t zt_port_of(const struct sockaddr_storage *ss);
/** True when ss is the loopback address of family. */
bool zt_is_loopback(const struct sockaddr_storage *ss, int family);

/** zsock_socket() that asserts success. */
int zt_socket(int family, int type);
/** zsock_close() that asserts success. */
void zt_close(int fd);
/** Local port (host order) from zsock_getsockname(); asserts. */
uint16_t zt_local_port(int fd);

/** A TCP listener on the loopback address, ephemeral port in *port. */
int zt_listener(int family, int backlog, uint16_t *port);
/** A UDP socket bound to the loopback address, ephemeral port in *port. */
int zt_udp_bound(int family, uint16_t *port);
/** Blocking TCP connect to the loopback address at port; asserts. */
int zt_connect(int family, uint16_t port);
/** zsock_accept() that asserts success. */
int zt_accept(int listener);
/**
 * A connected TCP pair over loopback: *cli connected, *srv accepted. The
 * listener is closed before return.
 */
void zt_tcp_pair(int family, int *cli, int *srv);
/** A UDP pair, each bound to loopback and connected to the other. */
void zt_udp_pair(int family, int *a, int *b);

/** Poll one fd; returns revents (0 on timeout); asserts poll did not fail. */
short zt_poll1(int fd, short events, int timeout_ms);

/* ---- data ------------------------------------------------------------------- */

/** CRC-32 (IEEE 802.3, reflected, as zlib's crc32()); start with crc 0. */
uint32_t zt_crc32(uint32_t crc, const void *buf, size_t len);

/**
 * A reproducible byte stream: byte i of stream seed is a function of (seed,
 * i) alone, so a receiver can check any slice without the sender's help.
 */
void zt_pattern(uint64_t seed, uint64_t offset, void *buf, size_t len);
/** Index of the first byte of buf that differs from the stream, or len. */
size_t zt_pattern_check(uint64_t seed, uint64_t offset, const void *buf, size_t len);

/** xorshift64*: a small fixed-seed generator (state MUST NOT be 0). */
uint64_t zt_rand(uint64_t *state);

/**
 * Send all len bytes (blocking socket); asserts every call returns > 0.
 * Test thread only.
 */
void zt_send_all(int fd, const void *buf, size_t len);
/** Receive exactly len bytes (blocking socket); asserts, test thread only. */
void zt_recv_all(int fd, void *buf, size_t len);

/* ---- threads (hosted only) -------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED
/** Start fn(arg) in a new thread; asserts. */
pthread_t zt_spawn(void *(*fn)(void *), void *arg);
/**
 * Join t, waiting at most wait_ms. Returns true if it ended; false if it is
 * still running (a hang: the caller asserts, and the process dies with it).
 */
bool zt_join(pthread_t t, int wait_ms);
#endif

#endif
