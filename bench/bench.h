/*
 * The benchmark driver: one set of workloads, run over interchangeable
 * socket implementations.
 *
 *   bench_zsock   zsock, BSD calls ("zsock-bsd") and native zero-copy calls
 *                 ("zsock-native"); impl_zsock.c
 *   bench_lwip    lwIP 2.1.3's own sockets API, Debian's liblwip
 *                 ("lwip-sock"); impl_lwip.c
 *   bench_linux   the Linux kernel's sockets ("linux"); impl_linux.c
 *
 * Each program is driver.c linked with one impl_*.c, which hands its
 * struct bench_impl table(s) to bench_main(). The stacks cannot share a
 * process: zsock's library carries its own lwIP, with the same symbol
 * names as Debian's liblwip.
 *
 * The driver only ever talks to a stack through struct bench_impl, so a
 * workload is the same code on every stack: the same threads, buffers,
 * loops and clock readings. Addresses are IPv4 only (struct sockaddr_in);
 * poll uses the host's struct pollfd and POLL* values, which zsock's
 * struct zsock_pollfd and ZSOCK_POLL* match (impl_zsock.c checks it at
 * compile time).
 *
 * Results go to stdout as CSV lines, one figure each:
 *
 *     impl,workload,param,metric,value,unit
 *
 * A figure a stack cannot produce (too few sockets in its build, no such
 * counter) is printed with value "n/a" and the reason in the unit column,
 * never as a made-up number. Diagnostics go to stderr.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Byte counters of a stack that keeps them (zsock), for copies per byte. */
struct bench_counters {
	uint64_t tx_copied;  /* payload bytes copied from callers on send */
	uint64_t tx_bytes;   /* payload bytes handed to the protocol */
	uint64_t rx_copied;  /* payload bytes copied out to callers on receive */
	uint64_t rx_bytes;   /* payload bytes received from the protocol */
};

/**
 * One socket implementation. Every call has the POSIX shape of the call it
 * is named after: -1 with errno on failure. fds are the implementation's
 * own (zsock and lwIP number their sockets apart from the kernel's).
 * Calls marked optional may be NULL.
 */
struct bench_impl {
	const char *name;   /* the column in the results: "zsock-bsd", ... */

	/* Start the stack, once per process, before any other call. netif is
	 * NULL (loopback only) or an interface in ZSOCK_NETIF syntax,
	 * "tap:NAME,ip=A.B.C.D/LEN,gw=A.B.C.D", for the runs against a peer.
	 * Returns 0, or -1 with a message on stderr. */
	int (*init)(const char *netif);

	/* Why the stack cannot hold nsockets sockets at once, or NULL if it
	 * can. The driver asks before workloads that need many. */
	const char *(*cannot_hold)(int nsockets);

	int (*socket)(int type);                  /* AF_INET, SOCK_STREAM or SOCK_DGRAM */
	int (*bind)(int fd, const struct sockaddr_in *sa);
	int (*listen)(int fd, int backlog);
	int (*accept)(int fd);
	int (*connect)(int fd, const struct sockaddr_in *sa);
	int (*local_addr)(int fd, struct sockaddr_in *sa);  /* getsockname() */
	ssize_t (*send)(int fd, const void *buf, size_t len);
	ssize_t (*recv)(int fd, void *buf, size_t len);
	int (*poll)(struct pollfd *fds, int nfds, int timeout_ms);
	int (*shutdown_wr)(int fd);
	int (*close)(int fd);
	int (*set_nonblocking)(int fd, bool on);
	int (*set_nodelay)(int fd);               /* TCP_NODELAY on */

	/*
	 * Zero-copy hooks (optional; both or neither). When present, the
	 * workloads move payload with them instead of send/recv.
	 *
	 * send_zc: send up to len bytes written in place into the stack's own
	 * transmit buffers, the first 8 bytes of each buffer holding seq (a
	 * zero-copy producer writes its data where it will be sent; only the
	 * sequence number is written, so no payload is copied). Returns the
	 * bytes taken, which may be fewer than len (a short write). For a
	 * datagram socket the whole len is one datagram.
	 *
	 * recv_zc: take the next received data (at most what arrived, no
	 * length limit), read its first 8 bytes in place into *word (0 if
	 * shorter), give it back, and return its length; 0 at end of stream.
	 */
	ssize_t (*send_zc)(int fd, size_t len, uint64_t seq);
	ssize_t (*recv_zc)(int fd, uint64_t *word);

	/* Byte counters (optional): what copies per byte is computed from. */
	int (*counters)(struct bench_counters *out);

	/* Print the "footprint" workload's lines (optional): static RAM per
	 * socket and per connection. */
	void (*footprint)(void);
};

/**
 * The program: parse argv, start the implementation(s) and run the
 * workloads asked for. impls[0 .. n) are the implementations this binary
 * holds; "--impl NAME" picks one, otherwise all of them run, one after
 * the other for each workload. Returns the exit status: 0 when every
 * workload ran, 1 when one failed, 2 on a usage error.
 */
int bench_main(int argc, char **argv, const struct bench_impl *const *impls, int n);

/* ---- output (driver.c) ----------------------------------------------------- */

/** Print one figure: "impl,workload,param,metric,value,unit". */
void bench_result(const char *impl, const char *workload, const char *param,
		  const char *metric, double value, const char *unit);

/** Print a figure that does not exist here: value "n/a", unit = why (no commas). */
void bench_na(const char *impl, const char *workload, const char *param,
	      const char *metric, const char *why);

#endif
