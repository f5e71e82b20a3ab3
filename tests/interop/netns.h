/*
 * Interop fixture: one throw-away network namespace per test, a TAP device
 * in it for the engine, and the Linux stack on the other end of the wire.
 *
 *   Linux side (kernel)                 engine side (zsock over lwIP)
 *   zt0  192.0.2.1/24  2001:db8::1/64   tap:zt0  192.0.2.2/24  2001:db8::2/64
 *
 * zi_up() creates the namespace "zsock-t-<pid>" (Criterion runs each test
 * in its own process, so the name is unique among running tests), makes
 * zt0 a persistent TAP there, gives the Linux side its addresses, then
 * moves the calling thread into the namespace with setns() and attaches
 * the engine. It MUST run before the first zsock call of the process: the
 * engine's reactor thread inherits the namespace of the thread that starts
 * it. Threads and programs started afterwards (the Linux peers, ping,
 * iptables, the NFQUEUE tool) live in the namespace as well.
 *
 * Only loopback and documentation addresses exist in the namespace, and it
 * has no link to the outside: nothing a test does can leave the machine.
 *
 * Tests are declared with ZI_TEST(), which ends a passing body with the
 * engine's leak check (in the body, not in .fini: Criterion 2.4 reports a
 * test before its .fini runs, so a failure there would be lost), and
 * whose .fini, zi_fini(), stops the helper programs this process started
 * and deletes the namespace, after a failed assertion too. Criterion runs
 * no .fini after cr_skip_test(), so skip with zi_skip(), which cleans up
 * first. A test process that dies (crash, timeout) leaves its namespace
 * behind; zi_up() deletes every "zsock-t-<pid>" (and "zsock-p-<pid>", see
 * zi_peer_up()) whose pid is gone.
 *
 * Without root, ip(8), /dev/net/tun or a tool a test needs (tshark,
 * nfq_impair) the test is skipped with a line "skipped: <reason>" on
 * stderr, unless ZSOCK_TEST_REQUIRE_INTEROP=1 is set, which turns the skip
 * into a failure (for CI, which must run them all).
 *
 * Every function here asserts with cr_assert, so it MUST be called from the
 * test's own thread.
 */
#ifndef ZSOCK_INTEROP_NETNS_H
#define ZSOCK_INTEROP_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Addresses on the wire (documentation ranges only). */
#define ZI_LINUX_IP4  "192.0.2.1"
#define ZI_ENGINE_IP4 "192.0.2.2"
#define ZI_LINUX_IP6  "2001:db8::1"
#define ZI_ENGINE_IP6 "2001:db8::2"
#define ZI_TAP        "zt0"

/**
 * Declare an interop test: ZI_TEST(suite, name, options...) { body },
 * options as for Criterion's Test() (.timeout = ...). The body MUST call
 * zi_up() before any zsock call and close every socket it opens.
 */
#define ZI_TEST(suite, name, ...)                                \
	static void zi_body_##suite##_##name(void);              \
	Test(suite, name, .fini = zi_fini, ##__VA_ARGS__)        \
	{                                                        \
		zi_body_##suite##_##name();                      \
		zi_leak_check();                                 \
	}                                                        \
	static void zi_body_##suite##_##name(void)

/**
 * Make the namespace and its TAP, enter it and attach the engine. Call it
 * first in the test body. Skips the test when the machine cannot do it.
 */
void zi_up(void);

/** The engine's leak check (zt_leak_check()) if zi_up() attached it. */
void zi_leak_check(void);

/** .fini: stop helpers, delete the namespace. Safe if zi_up() never ran
 *  or stopped half-way; never asserts. */
void zi_fini(void);

/**
 * Clean up as zi_fini() does, print "skipped: why" loudly and skip the
 * test (or fail it under ZSOCK_TEST_REQUIRE_INTEROP=1). Does not return.
 */
void zi_skip(const char *why) __attribute__((noreturn));

/** Name of this test's namespace ("" before zi_up()). */
const char *zi_ns_name(void);

/**
 * Run a shell command inside the namespace (through /bin/sh); its output
 * goes to the test's stderr. Returns the exit status (-1 if it could not
 * run or was killed). printf-style.
 */
int zi_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** zi_sh() that asserts exit status 0. */
void zi_sh_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Run a command and return its standard output as a NUL-terminated string
 * in a buffer the caller MUST free(); NULL if it could not run. *status
 * (may be NULL) gets the exit status.
 */
char *zi_sh_output(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Fill *ss with addr (text, v4 or v6) and port (host order); returns the
 * address length. Asserts the text parses.
 */
socklen_t zi_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss);

/* ---- a routed peer ---------------------------------------------------------- */

/*
 * A second namespace "zsock-p-<pid>" for Linux peers that sit one hop away,
 * behind the test namespace acting as a router:
 *
 *   peer ns                      test ns (router)                 engine
 *   zp0 198.51.100.2/24  ==veth==  zp1 198.51.100.1/24
 *       default via .1             zt0 192.0.2.1/24  ==TAP==  192.0.2.2 (gw .1)
 *
 * A packet between a peer socket and the engine is forwarded by the test
 * namespace, where the FORWARD chain sees it in both directions after it
 * has left the sending socket: an impairment that holds packets there
 * (delay) does not count against the sender's TCP Small Queues budget, as
 * it would in the OUTPUT chain of the sender's own stack. The peer's TCP
 * sends one segment per packet (gso_max_segs 1 on zp0). IPv4 only.
 * zi_fini() deletes the namespace; a stale one goes with its test's.
 */
#define ZI_PEER_IP4   "198.51.100.2"
#define ZI_ROUTER_IP4 "198.51.100.1"
#define ZI_PEER_DEV   "zp1"   /* the router's side of the veth pair */

/** Make the peer namespace and its route (after zi_up()). Asserts. */
void zi_peer_up(void);

/** Name of the peer namespace ("" before zi_peer_up()). */
const char *zi_peer_ns(void);

/**
 * Move the calling thread into the peer namespace; returns a descriptor
 * of the namespace it was in, for zi_peer_leave(). Sockets made meanwhile
 * belong to the peer namespace for good. Any thread; -1 on failure.
 */
int zi_peer_enter(void);

/** Return to the namespace zi_peer_enter() saved; closes fd. */
void zi_peer_leave(int fd);

/* ---- helper programs ------------------------------------------------------ */

/**
 * Start argv[0] (a path) with argv inside the namespace, standard output
 * to a pipe this process reads with zi_prog_wait_line() and zi_prog_stop().
 * At most ZI_PROG_MAX at once; zi_fini() kills what is left. Returns a
 * handle >= 0.
 */
int zi_prog_start(char *const argv[]);
#define ZI_PROG_MAX 4

/**
 * Read the program's output until a line starting with prefix arrives or
 * wait_ms passes. Returns true if it did.
 */
bool zi_prog_wait_line(int h, const char *prefix, int wait_ms);

/**
 * Send SIGTERM, wait for the exit (up to 5 s, then SIGKILL) and return all
 * output the program wrote (caller free()s; never NULL). *status gets the
 * exit status (-1 if killed).
 */
char *zi_prog_stop(int h, int *status);

/* ---- iptables ------------------------------------------------------------- */

/**
 * Packets matched so far by the rules in chain (e.g. "INPUT") whose target
 * is target (e.g. "DROP"), summed; -1 if iptables fails.
 */
long long zi_ipt_packets(const char *chain, const char *target);

#endif
