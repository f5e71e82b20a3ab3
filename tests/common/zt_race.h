/*
 * zt_race: the two threads of the close-race tests on byte streams
 * (close_races_active_takes / _sends in tests/loopback/test_socketpair.c
 * and test_tls.c; test_dtls.c takes records with it): a sender and a taker, both non-blocking BSD calls in a
 * loop on one end of a pair, until their stop flag is set or a call fails,
 * while the test closes one end under them.
 *
 * The sender writes byte i of the zt_pattern stream `seed` as byte i of
 * what it sends, ZT_RACE_CHUNK bytes a call (a short send resumes where it
 * stopped). The taker reads up to `want` bytes a call (at most
 * ZT_RACE_TAKE_MAX), checks each against the same stream, and pauses 50 us
 * after each read so that data queues and its takes are longer. Each
 * records the errno that ended it (0: stopped); the taker also EOF, the
 * bytes read and, for the first wrong byte, a message in why. A taker of
 * records (datagrams, test_dtls.c) gives its own check instead of the
 * stream's.
 *
 * Hosted ports only (threads); the structs MUST stay valid until the
 * threads are joined.
 */
#ifndef ZT_RACE_H
#define ZT_RACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_RACE_CHUNK 200
#define ZT_RACE_TAKE_MAX (8 * ZT_RACE_CHUNK)

struct zt_race_taker {
	int fd;
	uint64_t seed;
	size_t want;          /* bytes per read, 1 .. ZT_RACE_TAKE_MAX */
	/* NULL: the zt_pattern stream seed; else called with each read (got
	 * still the bytes before it), returns false for a bad one after
	 * saying why in t->why; ctx is its own */
	bool (*check)(struct zt_race_taker *t, const uint8_t *buf, size_t n);
	void *ctx;
	atomic_bool stop;
	/* results */
	size_t got;
	int err;
	bool eof;
	int bad;              /* reads with a wrong byte */
	char why[128];
};

struct zt_race_sender {
	int fd;
	uint64_t seed;
	unsigned pause_us;    /* after an EAGAIN */
	atomic_bool stop;
	/* results */
	size_t sent;
	int err;
};

/** Thread mains for zt_spawn(); arg is the struct. */
void *zt_race_taker_main(void *arg);
void *zt_race_sender_main(void *arg);

#endif
