/*
 * <zsock/net_buf.h>: the native zero-copy API.
 *
 * The BSD calls copy once each way (the copy POSIX requires). These calls
 * copy nothing: received data is read in place, in the buffers the stack
 * received it into, and data to send is written straight into the buffers
 * the stack transmits from.
 *
 *   receive   zsock_recv_buf() takes the next chain of a socket; the caller
 *             reads chain->data[0 .. len) of each buffer along ->frags, then
 *             gives the chain back with zsock_buf_release(). The release is
 *             what frees the stack's memory and, on TCP, opens the receive
 *             window by the chain's length: a caller that holds chains
 *             slows the peer down (real backpressure, never a drop).
 *   send      zsock_buf_alloc() takes an empty buffer from the engine's
 *             transmit pool; the caller writes up to ->size bytes at ->data,
 *             sets ->len, links more buffers through ->frags if it likes,
 *             and hands the chain over with zsock_send_buf() (or
 *             zsock_sendto_buf()). The engine owns it from then on and
 *             returns it to the pool when the peer has acknowledged it (TCP)
 *             or the datagram has left (UDP).
 *   forward   a received chain handed to zsock_send_buf() on a TCP socket
 *             is sent as it is, from the buffers it was received into
 *             (a relay, an echo, a gateway between two connections: no
 *             copy at all). Its receive window opens at once, as a release
 *             would open it; its buffers return to the stack when the peer
 *             it was sent to has acknowledged them.
 *   poll      zsock_poll() reports POLLIN when zsock_recv_buf() would not
 *             block and POLLOUT when zsock_send_buf() of one buffer would
 *             not block (the socket's transmit ring and the pool both have
 *             room). The native and BSD calls can be mixed on one socket.
 *
 * Ownership, exactly:
 *   - A buffer is owned by the engine or by one caller, never both. The
 *     caller owns a chain from a successful zsock_recv_buf() or
 *     zsock_buf_alloc() until a successful zsock_buf_release(),
 *     zsock_send_buf() or zsock_sendto_buf(); a call that fails leaves the
 *     chain with the caller.
 *   - Received chains are read-only: data, len and frags must not be
 *     changed, nor the bytes at data (a forwarded TCP buffer goes out
 *     with the checksum its bytes arrived with). Transmit buffers are the caller's to fill: data[0 .. size)
 *     may be written, len set to at most size, frags linked to other
 *     buffers the caller owns. data and size must not be changed.
 *   - Misuse is detected, answered with -1/EINVAL, and never corrupts a
 *     pool: releasing a chain twice, releasing or sending a buffer the
 *     engine owns (one already handed over), a pointer that is no buffer
 *     of the engine, a frag of a received chain instead of its head. (As
 *     with free(), a stale pointer whose buffer has since been given to
 *     the same caller again cannot be told apart from the new one; buffers
 *     are reused oldest-first, which makes that rare.)
 *
 * Threads: any thread may call any of these; calls on one socket are
 * serialised per direction like zsock_recv/zsock_send. A chain may be
 * released from a different thread than the one that took it.
 *
 * Closing a socket while holding chains it gave you is allowed; the chains
 * stay valid until released, and the socket's memory is reclaimed after the
 * last release. A TCP socket closed with chains still held resets the
 * connection, as a close with unread data does.
 */
#ifndef ZSOCK_NET_BUF_H
#define ZSOCK_NET_BUF_H

#include <stddef.h>
#include <stdint.h>

#include <zsock/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ZSOCK_LIST_T_DEFINED
#define ZSOCK_LIST_T_DEFINED
/** Engine-private list link (see engine/list.h). */
struct zs_list {
	struct zs_list *next, *prev;
};
#endif

/**
 * One buffer of a chain. The fields above the line are the caller's view;
 * everything below it belongs to the engine and must not be touched.
 */
struct net_buf {
	struct net_buf *frags;   /**< next buffer of the same chain, or NULL */
	uint8_t *data;           /**< first payload byte */
	uint16_t len;            /**< payload bytes at data */
	uint16_t size;           /**< transmit buffers: room at data; 0 on received ones */
	uint32_t tot_len;        /**< received chain head: bytes in the whole chain */
	/* ---- engine-private ---------------------------------------------- */
	struct zs_list node;     /* pool free list or a socket's in-flight list */
	uint16_t off;            /* bytes of this buffer already consumed */
	uint8_t own;             /* ZS_OWN_*, atomic builtins: who holds it */
	uint8_t chains;          /* rx head held by a caller: received chains it joins */
	uint32_t credit;         /* rx head: window bytes to give back on free */
	void *owner;             /* rx head: the struct pbuf it wraps */
	void *sock;              /* rx head held by a caller: its socket */
	void *pool;              /* struct zs_pool * it returns to */
	uint32_t magic;          /* pool free/used marker */
	uint16_t csum;           /* rx: sum of the TCP segment data[0 .. csum_len) came in */
	uint16_t csum_len;       /* rx: len when csum was taken; 0: no sum known */
	uint8_t csum_hlen;       /* rx: its TCP header's length, in front of data */
	struct {
		uint8_t addr[16];
		uint16_t port;   /* host order */
		uint8_t family;  /* 4 or 6, 0 if none */
	} meta;                  /* datagram source address */
};

/**
 * Take the next received chain of sock, without copying.
 *
 * TCP: the chain holds every byte received and not yet read, oldest first
 * (if a zsock_recv() read part of that data already, the chain starts
 * after it): what arrived as several segments since the last call comes
 * as one chain, taken, released and counted against the window as one. A
 * chain holds at most as many buffers as a zsock_send_buf() takes (the
 * transmit ring, CONFIG_NET_SOCKET_RING_SIZE, and the forwarding budget,
 * half of lwIP's PBUF_POOL_SIZE) unless lwIP handed over a longer one at
 * once (segments it had to reorder); the rest waits for the next call. UDP:
 * the chain is one whole datagram (zsock_buf_peer() gives its source).
 *
 * flags: 0 or ZSOCK_MSG_DONTWAIT. Blocks until data, end of stream or an
 * error unless the socket is non-blocking or MSG_DONTWAIT is given; honours
 * SO_RCVTIMEO.
 *
 * Returns the chain's length in bytes with *chain set: the caller owns it
 * until zsock_buf_release(). TCP returns 0 only at end of stream (peer
 * closed or SHUT_RD), with *chain = NULL. UDP returns 0 for an empty
 * datagram, with a chain to release (a datagram socket has no end of
 * stream; after SHUT_RD it returns 0 with *chain = NULL). Returns -1 with
 * *chain = NULL and errno:
 *   EBADF       sock is not an open fd
 *   EOPNOTSUPP  sock is not a native TCP/UDP socket (e.g. a socketpair)
 *   EINVAL      chain is NULL, or flags has a bit other than MSG_DONTWAIT
 *   ENOTCONN    TCP socket not connected, or a listener
 *   EAGAIN      nothing to take (non-blocking), or SO_RCVTIMEO passed
 *   ECONNRESET, ETIMEDOUT, ...  the connection died (TCP)
 *   EINTR       the fd was closed by another thread while waiting
 */
ssize_t zsock_recv_buf(int sock, struct net_buf **chain, int flags);

/**
 * The source address of a received datagram chain (UDP), written as
 * recvfrom() would: *addrlen in, the full size out, truncated to the space
 * given. Does not block.
 * Returns 0, or -1 with errno EINVAL (chain is not a received chain head
 * held by the caller, addrlen NULL) or ENOTSUP (no address: a TCP chain).
 */
int zsock_buf_peer(const struct net_buf *chain, struct sockaddr *addr, socklen_t *addrlen);

/**
 * Give back a chain the caller owns: a received chain (its head, as
 * zsock_recv_buf() returned it) or transmit buffers from zsock_buf_alloc()
 * that were not sent (the whole chain along ->frags).
 *
 * For a received TCP chain this opens the receive window by its length.
 * Does not block. Returns 0, or -1 with errno EINVAL when chain is NULL, is
 * no buffer of the engine, is not owned by the caller (released twice,
 * already sent), or is a frag rather than a head, or (a transmit chain) has
 * a buffer whose data was moved or whose len exceeds its size; nothing is
 * changed then.
 */
int zsock_buf_release(struct net_buf *chain);

/**
 * Take an empty transmit buffer: data points at size bytes of storage
 * (the build option net_buf_data_size), len is 0, frags NULL.
 *
 * timeout_ms: 0 returns at once, -1 waits for ever, otherwise waits up to
 * that long for a buffer to come back to the pool.
 * Returns the buffer (owned by the caller), or NULL with errno ENOMEM (pool
 * empty, timeout 0) or EAGAIN (the wait timed out).
 */
struct net_buf *zsock_buf_alloc(int32_t timeout_ms);

/**
 * Hand a chain of transmit buffers to a connected socket, without copying;
 * or, on TCP, forward a received chain.
 *
 * TCP: the chain's bytes are queued in order after everything sent before
 * (by either API); all of it or none of it is taken. UDP (connected): the
 * chain is one datagram, sent before the call returns.
 *
 * Forwarding (TCP only): chain may be the head of a received chain the
 * caller owns, from zsock_recv_buf() on any socket (TCP or UDP, this one
 * included). Its bytes are sent from the buffers they arrived in, and a
 * buffer of a TCP segment that arrived in one piece and leaves in one is
 * not even read: its checksum comes from the one it arrived with
 * (zsock_engine_stats' tx_csum_reused counts those bytes). For the
 * socket it came from the chain counts as released (its TCP window opens
 * now); its buffers stay in use until this socket's peer acknowledges
 * them. So that forwarded buffers never hold all of lwIP's receive buffers
 * (the acknowledgements need some), at most half of PBUF_POOL_SIZE of them
 * are in flight at once, over all sockets (the forwarding budget); a
 * forward that does not fit waits, or fails with EAGAIN when non-blocking,
 * even when POLLOUT is set (POLLOUT promises room for one transmit
 * buffer): retry when the peer has acknowledged, e.g. after the next
 * POLLIN or a short timeout, or forward with a blocking call.
 *
 * flags: 0 or ZSOCK_MSG_DONTWAIT. A blocking socket waits for room on its
 * transmit ring for the whole chain (SO_SNDTIMEO applies), and for room in
 * the forwarding budget.
 *
 * Returns the bytes taken (the chain's total length; 0 for an empty chain),
 * and the engine owns the chain. On failure returns -1 and errno:
 *   EINVAL      chain NULL, a buffer not owned by the caller or not a
 *               transmit buffer (a buffer inside a received chain, a
 *               received chain on a UDP socket), len > size, a flag other
 *               than MSG_DONTWAIT
 *   EAGAIN      no room now (non-blocking) or SO_SNDTIMEO passed
 *   EMSGSIZE    TCP chain of more buffers than the transmit ring holds, or
 *               a forwarded one of more than the forwarding budget;
 *               UDP datagram too long
 * and the caller still owns the chain (to retry or release). Every other
 * failure (EBADF, EOPNOTSUPP, ENOTCONN, EPIPE, ECONNRESET, EDESTADDRREQ,
 * EHOSTUNREACH, ENOMEM, EINTR when another thread closes the fd while the
 * call waits ...) also leaves the chain with the caller.
 */
ssize_t zsock_send_buf(int sock, struct net_buf *chain, int flags);

/**
 * zsock_send_buf() for a UDP socket with a destination (NULL/0: the
 * connected peer), as sendto(). Same returns; errno also EAFNOSUPPORT,
 * EINVAL for a bad address, EISCONN for a TCP socket given a dest.
 * A datagram is at most 64 buffers (EMSGSIZE beyond).
 */
ssize_t zsock_sendto_buf(int sock, struct net_buf *chain, int flags,
			 const struct sockaddr *dest, socklen_t addrlen);

#ifdef __cplusplus
}
#endif

#endif
