/*
 * The OpenSSL CLI as the Linux peer of the TLS interop suites
 * (test_tls.c, test_tls_psk.c; test_dtls_sock.c and test_faults.c use the
 * checks and zi_fmt) and the small text helpers around it.
 *
 * Both peers run through /bin/sh -c inside the test's namespace, their
 * output coming to a zi_prog_start() pipe:
 *   - s_server's stdin is a FIFO opened read-write, which never reaches EOF
 *     (EOF on stdin stops s_server); zi_ossl_server() returns once it has
 *     printed "ACCEPT". Its own messages are buffered and reach the pipe
 *     only at its exit: tests that check them run it with -naccept 1 and
 *     wait with zi_prog_wait_exit().
 *   - s_client runs in the background of a shell that traps SIGTERM (so
 *     that zi_prog_stop() reaches s_client too) and prints "EXIT=<status>"
 *     when it ends, which zi_ossl_client_wait() waits for.
 * Each is bounded by timeout(1): 120 s for a server, 60 s for a client.
 *
 * Everything here asserts: test thread only.
 */
#ifndef ZSOCK_INTEROP_OSSL_H
#define ZSOCK_INTEROP_OSSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Skip the test unless the openssl CLI and timeout(1) are there. */
void zi_ossl_need(void);

/** zi_up(), then zi_ossl_need(). */
void zi_ossl_up(void);

/**
 * printf into one of 8 rotating static buffers of 2 KiB (each valid for
 * the next 7 calls); asserts the text fits.
 */
const char *zi_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/**
 * openssl s_server -accept at (host:port) args, its stdin the FIFO fifo
 * (made when missing). Waits up to 15 s for "ACCEPT"; returns the
 * zi_prog handle.
 */
int zi_ossl_server(const char *at, const char *args, const char *fifo);

/**
 * openssl s_client -connect to (host:port) args, stdin and stdout as the
 * shell redirections redir say (NULL: stdin /dev/null, all output to the
 * pipe). Returns the zi_prog handle.
 */
int zi_ossl_client(const char *to, const char *args, const char *redir);

/**
 * Wait (up to 60 s) for s_client's end, then stop it: its exit status in
 * *status, all its output returned (caller free()s). Asserts it ended.
 */
char *zi_ossl_client_wait(int h, int *status);

/**
 * bytes (at least) to s_server -rev and back, in text lines of 64 ..
 * max_line (<= 8192) bytes (characters of the stream seed, then '\n'),
 * sent in batches of about 16 KiB; each line must come back reversed.
 * Asserts every byte and the CRC-32 of the reply.
 */
void zi_rev_bulk(int fd, uint64_t bytes, size_t max_line, uint64_t seed);

/**
 * Connection i on the zsock side ends with the peer's close_notify: recv()
 * gives 0 (asserted); then fd is closed.
 */
void zi_close_after_eof(int fd, int i);

/** zi_ossl_client_wait() asserting exit status 0; s_client's output (caller frees). */
char *zi_ossl_client_ok(int h);

/*
 * Sessions of a zsock client against one s_server, told apart in its
 * output by a line "conn-<i>" each sends (s_server prints "Reused
 * session-id" during a resumed handshake, before the session's data).
 */

/** Send "conn-<i>" on fd and wait (10 s) until s_server h prints it. */
void zi_ossl_mark(int h, int fd, int i);

/**
 * In s_server's output out, the sessions marked 1 .. n: reused[i] whether
 * the handshake of session i (between marks i - 1 and i) resumed; reused
 * MUST have n + 1 entries (reused[0] is not written). Asserts every mark
 * is there.
 */
void zi_ossl_reused(const char *out, int n, bool reused[]);

/*
 * A bulk run against s_client -quiet (the server_* tests): its stdin a
 * file of stream seed_a (zt_pattern), which the zsock server reads and
 * answers piece by piece with as many bytes of stream seed_b, its stdout
 * and stderr to files.
 */

/** Write len bytes of stream seed to the file at path; returns their CRC-32. */
uint32_t zi_stream_file(const char *path, uint64_t seed, uint64_t len);

/**
 * The zsock side: receive len bytes of stream seed_in on the TLS socket
 * fd, answering each piece with as many bytes of stream seed_out; the
 * CRC-32 of each way in *rx_crc and *tx_crc. Asserts every call and that
 * every byte received is right.
 */
void zi_answer_stream(int fd, uint64_t len, uint64_t seed_in, uint64_t seed_out, uint32_t *rx_crc,
		      uint32_t *tx_crc);

/**
 * The zsock server did not get s_client's connection (what says how):
 * wait for s_client and fail with its status and its stderr (err_path).
 */
void zi_ossl_client_failed(int h, const char *err_path, const char *what)
	__attribute__((noreturn));

/**
 * s_client's end after the run: exit status 0 (close_notify came), and
 * out_path holding exactly len bytes of stream seed whose CRC-32 is crc.
 */
void zi_ossl_client_check(int h, const char *out_path, const char *err_path, uint64_t len,
			  uint64_t seed, uint32_t crc);

/** Wait until program h exits (its output ends), up to ms; true if it did. */
bool zi_prog_wait_exit(int h, int ms);

/**
 * The first line of out that holds a (and b, when not NULL): a malloc()ed
 * copy the caller MUST free(), or NULL.
 */
char *zi_find_line(const char *out, const char *a, const char *b);

/** Whether out has a line holding a (and b, when not NULL). */
bool zi_has_line(const char *out, const char *a, const char *b);

#endif
