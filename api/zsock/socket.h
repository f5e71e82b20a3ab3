/*
 * zsock: the Zephyr BSD sockets API over an event-driven lwIP engine.
 *
 * Conventions for every function in this header, unless its comment says
 * otherwise:
 *  - Errors are POSIX: the function returns -1 (NULL for pointers) and sets
 *    errno. EBADF for a closed, never-opened or negative fd; EFAULT for a
 *    NULL pointer where a buffer is required; EINVAL for a bad length.
 *  - Buffers passed in are only borrowed for the duration of the call: zsock
 *    copies what it needs and keeps no pointer to caller memory on return.
 *  - "Blocks" means the call may sleep on the socket's wait queue until the
 *    condition holds, the socket's timeout (SO_RCVTIMEO / SO_SNDTIMEO)
 *    expires (EAGAIN), or another thread closes the fd (EINTR, Zephyr's
 *    rule). Non-blocking sockets (O_NONBLOCK) and MSG_DONTWAIT return EAGAIN
 *    at once instead.
 *  - The engine starts itself on the first call (loopback 127.0.0.1 and ::1
 *    always present); see <zsock/engine.h> for other interfaces.
 *  - Every function is thread-safe. None may be called from the reactor
 *    context (an engine callback).
 *
 * On a hosted platform the address types and constants (struct sockaddr,
 * AF_*, SOCK_*, IPPROTO_*, SOL_SOCKET, SO_*, O_NONBLOCK) are the platform's,
 * so this header can be included next to <sys/socket.h>. On bare metal
 * (no sockets in the C library) <zsock/net_types.h> defines them with
 * Zephyr's values.
 */
#ifndef ZSOCK_SOCKET_H
#define ZSOCK_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <zsock/zsock_config.h>

#if CONFIG_ZSOCK_HOSTED
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <netdb.h>
#include <fcntl.h>
#else
#include <zsock/net_types.h>  /* bare metal: Zephyr's values */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- poll ------------------------------------------------------------ */

/** One entry of zsock_poll(). */
struct zsock_pollfd {
	int fd;        /**< socket; entries with fd < 0 are ignored */
	short events;  /**< ZSOCK_POLL* bits wanted */
	short revents; /**< bits that hold, written by zsock_poll() */
};

#define ZSOCK_POLLIN   0x0001 /**< data, EOF, a pending connection or an error */
#define ZSOCK_POLLPRI  0x0002 /**< never reported (no urgent data) */
#define ZSOCK_POLLOUT  0x0004 /**< a send would not block */
#define ZSOCK_POLLERR  0x0008 /**< pending error (SO_ERROR); always reported */
#define ZSOCK_POLLHUP  0x0010 /**< both directions shut; always reported */
#define ZSOCK_POLLNVAL 0x0020 /**< fd not open; always reported */

/* ---- flags ------------------------------------------------------------ */

#define ZSOCK_MSG_PEEK     0x02  /**< read without consuming */
#define ZSOCK_MSG_TRUNC    0x20  /**< recv: return the real datagram length */
#define ZSOCK_MSG_DONTWAIT 0x40  /**< this call only: do not block */
#define ZSOCK_MSG_WAITALL  0x100 /**< stream recv: wait for the full length */

#define ZSOCK_SHUT_RD   0
#define ZSOCK_SHUT_WR   1
#define ZSOCK_SHUT_RDWR 2

/* ---- SOCKS5 (connect through a proxy) ---------------------------------- */

/*
 * SO_SOCKS5 (SOL_SOCKET, TCP sockets only): connect() goes through the
 * SOCKS5 proxy (RFC 1928) whose address this option holds. The value is a
 * struct sockaddr_in / sockaddr_in6 of the socket's own family; optlen 0
 * clears it. getsockopt gives the address back (*optlen 0 when unset).
 * connect() then opens TCP to the proxy and runs the SOCKS5 exchange
 * (method selection, optional RFC 1929 username/password, CONNECT to the
 * address given to connect()) from the calling thread. The exchange is
 * synchronous, as Zephyr's: connect() blocks until the proxy answers even
 * on a non-blocking socket (no EINPROGRESS), bounded as a whole by
 * SO_SNDTIMEO (ETIMEDOUT when it expires). Exactly the proxy's reply bytes
 * are consumed: data the destination sends right after it is kept.
 * getpeername() reports the destination, not the proxy. On failure the
 * connection to the proxy is reset and connect() may be called again.
 * Errors of connect() added by the proxy: EACCES (no acceptable method,
 * credentials refused, or REP 0x02 not allowed), ECONNREFUSED (REP 0x01
 * general failure, 0x05 refused), ENETUNREACH (0x03), EHOSTUNREACH (0x04),
 * ETIMEDOUT (0x06, or SO_SNDTIMEO), EOPNOTSUPP (0x07), EAFNOSUPPORT (0x08),
 * EPROTO (a malformed or truncated reply, the proxy closing early).
 *
 * Zephyr's SO_SOCKS5 is 60, which on Linux is SO_ZEROCOPY
 * (<asm-generic/socket.h>): zsock keeps the host's SO_* values, so it
 * uses a value of its own, outside Linux's range, and defines SO_SOCKS5
 * as that value when the host has no SO_SOCKS5.
 */
#define ZSOCK_SO_SOCKS5 0x7a50
#ifndef SO_SOCKS5
#define SO_SOCKS5 ZSOCK_SO_SOCKS5
#endif

/*
 * ZSOCK_SO_SOCKS5_AUTH (SOL_SOCKET, TCP sockets, zsock only): credentials
 * for SO_SOCKS5. With them set, connect() offers the username/password
 * method (RFC 1929) next to "no authentication". The value is a struct
 * zsock_socks5_auth: user and pass NUL-terminated, 1..255 bytes each
 * (EINVAL otherwise, and for an optlen short of the struct); user "" or
 * optlen 0 clears them. getsockopt gives user back with pass all zero
 * (the password is never read back). Credentials are kept in a fixed
 * table of CONFIG_ZSOCK_SOCKS5_AUTH_MAX entries, not in the socket: when
 * that many sockets hold credentials, setting them on another fails with
 * ENOMEM. Closing the socket wipes them; accepted sockets never inherit
 * them.
 */
#define ZSOCK_SO_SOCKS5_AUTH 0x7a51

struct zsock_socks5_auth {
	char user[256]; /**< NUL-terminated, 1..255 bytes ("" clears) */
	char pass[256]; /**< NUL-terminated, 1..255 bytes */
};

/* ---- secure sockets (TLS over BearSSL; docs/tls.md) --------------------- */

/*
 * zsock_socket(AF_INET or AF_INET6, SOCK_STREAM, IPPROTO_TLS_1_2) makes a
 * TLS socket: TCP underneath, records protected by BearSSL in the calling
 * thread. IPPROTO_TLS_1_0 / _1_1 / _1_2 fix the protocol version to exactly
 * that one. The values are Zephyr's. SO_PROTOCOL reads the one given.
 * A TLS socket takes one of CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS socket
 * objects (socket() fails with ENOMEM when none is free) and, when its
 * handshake starts, one of CONFIG_ZSOCK_TLS_SESSIONS sessions (connect()
 * and accept() fail with ENOMEM when none is free); a listener needs no
 * session. No TLS call allocates memory. Semantics and errno values:
 * docs/tls.md.
 */
#define IPPROTO_TLS_1_0 256
#define IPPROTO_TLS_1_1 257
#define IPPROTO_TLS_1_2 258
#define IPPROTO_DTLS_1_0 272  /**< rejected: EPROTONOSUPPORT (DTLS 1.2 only) */
#define IPPROTO_DTLS_1_2 273

/*
 * zsock_socket(AF_INET or AF_INET6, SOCK_DGRAM, IPPROTO_DTLS_1_2) makes a
 * DTLS 1.2 socket (docs/dtls.md): UDP underneath, records protected by
 * zsock's own DTLS core (tls_bearssl/dtls/, on BearSSL's primitives) in
 * the calling thread. It takes one of CONFIG_ZSOCK_DTLS_SOCKETS socket
 * objects, each with its association and two datagram buffers of
 * CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE bytes in it (socket() fails with ENOMEM
 * when none is free); nothing is allocated later. Another type: EPROTOTYPE.
 * Suites: TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8), TLS_PSK_WITH_AES_128_GCM_
 * SHA256 (0x00A8), TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE),
 * TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xC02B), offered or accepted
 * in that order unless TLS_CIPHERSUITE_LIST says otherwise, each only
 * where the sec tags allow it (PSK: a PSK, and a client its identity;
 * ECDSA: a client's CA or TLS_PEER_VERIFY_NONE, a server's EC chain+key).
 *
 * Client (TLS_DTLS_ROLE_CLIENT, the default): connect() runs the
 * handshake and blocks until it ends (SO_SNDTIMEO bounds it: ETIMEDOUT);
 * non-blocking: EINPROGRESS, then poll POLLOUT (done) or POLLERR (failed,
 * SO_ERROR tells). sendto() with an address on a client that never
 * connected connects first. connect errors: ECONNABORTED (this side
 * failed the handshake: the chain, a bad Finished, or no suite the
 * credentials allow), ECONNRESET (the peer sent a fatal alert, e.g.
 * unknown_psk_identity), ETIMEDOUT (the retransmission timer passed
 * TLS_DTLS_HANDSHAKE_TIMEOUT_MAX), EISCONN, EALREADY (handshake under
 * way); a failure stays: later sends and receives give it.
 *
 * Server (TLS_DTLS_ROLE_SERVER, set before anything else): bind(), then
 * recv/recvfrom/poll. A ClientHello without a valid cookie is answered
 * with a HelloVerifyRequest and leaves no state; the handshake then runs
 * inside recv and poll. One client at a time; recvfrom gives its address,
 * send/sendto go to it (ENOTCONN while there is none; the address given
 * to sendto is ignored); getpeername gives it once its handshake is done.
 * The client's close_notify, a fatal alert or a failed handshake frees
 * the socket for the next client without an error to the application.
 * connect(): EOPNOTSUPP. listen(), accept(): EOPNOTSUPP.
 *
 * Data: one send is one record is one datagram, at most
 * CONFIG_ZSOCK_DTLS_DATAGRAM_SIZE - 37 bytes (EMSGSIZE beyond); sendmsg
 * gathers its iovecs into one. One recv returns one record: bytes past the
 * buffer are discarded, MSG_TRUNC returns the record's real length, recvmsg
 * sets MSG_TRUNC in msg_flags, MSG_PEEK leaves the record. Records are
 * not retransmitted (datagrams), but never delivered twice, altered or
 * replayed. A client's recv returns 0 after the server's close_notify;
 * send then gives EPIPE. close() sends close_notify. poll: POLLIN only
 * when an opened record (or EOF, or an error) is there. FIONREAD: the
 * next record's size. The zero-copy calls (zsock_recv_buf, ...): EOPNOTSUPP.
 */

/** Option level of the TLS options below (getsockopt/setsockopt). */
#define SOL_TLS 282

/**
 * TLS_SEC_TAG_LIST (read, write): the credentials the socket uses, as an
 * array of sec_tag_t (<zsock/tls_credentials.h>); optlen a multiple of
 * sizeof(sec_tag_t), at most CONFIG_NET_SOCKETS_TLS_MAX_CREDENTIALS tags
 * (EINVAL otherwise). Read: as many tags as fit, *optlen set to their size.
 * Taken when the handshake starts (connect, accept): credentials added or
 * deleted later do not change a running session.
 */
#define TLS_SEC_TAG_LIST 1
/**
 * TLS_HOSTNAME (write): NUL-terminated host name, sent as SNI and matched
 * against the server certificate's DNS names (not its IP addresses: BearSSL
 * matches DNS names only). optval NULL (or optlen 0) removes it: no SNI
 * and no name check. Unset by default (no name check). Longer than 255
 * bytes: EINVAL.
 */
#define TLS_HOSTNAME 2
/**
 * TLS_CIPHERSUITE_LIST (read, write): array of int, IANA cipher suite
 * numbers, in preference order; at most CONFIG_NET_SOCKETS_TLS_MAX_CIPHERSUITES
 * entries; a suite neither BearSSL nor zsock's PSK core implements
 * (TLS_PSK_WITH_AES_128_CCM_8 0xC0A8, _GCM_SHA256 0x00A8): EINVAL. optlen 0
 * restores the default list. Read: the list in force (the default list,
 * BearSSL's, when none was set).
 */
#define TLS_CIPHERSUITE_LIST 3
/** TLS_CIPHERSUITE_USED (read): int, the IANA number negotiated; ENOTCONN before the handshake completes. */
#define TLS_CIPHERSUITE_USED 4
/**
 * TLS_PEER_VERIFY (write; read too in zsock): int, TLS_PEER_VERIFY_NONE,
 * _OPTIONAL or _REQUIRED. Defaults: REQUIRED for clients, NONE for
 * servers. NONE: the peer's chain is not checked. OPTIONAL: it is checked,
 * a failure is recorded (ZSOCK_TLS_VERIFY_RESULT) and the handshake goes
 * on. REQUIRED: a failure aborts the handshake with ECONNABORTED and a TLS
 * alert to the peer. A server with OPTIONAL or REQUIRED asks the client
 * for a certificate; REQUIRED then refuses a client without one.
 */
#define TLS_PEER_VERIFY 5
/**
 * TLS_DTLS_ROLE (read, write; DTLS sockets only, ENOPROTOOPT on TLS):
 * int, TLS_DTLS_ROLE_CLIENT (default) or _SERVER; EINVAL for another
 * value, EISCONN once a handshake started.
 */
#define TLS_DTLS_ROLE 6
/**
 * TLS_ALPN_LIST (read, write): array of const char * (NUL-terminated
 * protocol names, 1..255 bytes each), at most
 * CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS; optlen is the array's size in
 * bytes. The strings must stay valid while the socket lives (as Zephyr's).
 * Read: the array set. The protocol negotiated: ZSOCK_TLS_ALPN_USED.
 */
#define TLS_ALPN_LIST 7
/**
 * TLS_DTLS_HANDSHAKE_TIMEOUT_MIN / _MAX (read, write; DTLS only,
 * ENOPROTOOPT on TLS): uint32_t, ms. The retransmission timer of a
 * handshake flight starts at MIN and doubles on each expiry; the handshake
 * fails (ETIMEDOUT) when it would pass MAX. Defaults 1000 and 60000
 * (RFC 6347 s4.2.4.1). optlen other than 4, 0 or above INT32_MAX: EINVAL;
 * MIN above MAX fails the next handshake's start with EINVAL.
 */
#define TLS_DTLS_HANDSHAKE_TIMEOUT_MIN 8
#define TLS_DTLS_HANDSHAKE_TIMEOUT_MAX 9
/**
 * TLS_CERT_NOCOPY (write, read): int, TLS_CERT_NOCOPY_NONE (default) or
 * TLS_CERT_NOCOPY_OPTIONAL. With OPTIONAL the socket sends its own
 * certificate chain straight from the DER buffer given to
 * tls_credential_add(), and the credential store never makes its copy of
 * that DER: the caller keeps the buffer valid until every socket that used
 * it is closed. With NONE the chain comes from one copy in the store, made
 * the first time a socket needs it (shared by all such sockets). PEM input
 * is decoded into the store either way.
 */
#define TLS_CERT_NOCOPY 10
/**
 * TLS_NATIVE (write, read): int 0/1. Accepted and stored; it selects the
 * native TLS implementation under the offload dispatcher (which does not
 * exist yet), so it changes nothing today.
 */
#define TLS_NATIVE 11
/**
 * TLS_SESSION_CACHE (write, read): int, TLS_SESSION_CACHE_DISABLED
 * (default) or _ENABLED. A client with it on stores the session after a
 * full handshake (key: peer address and port, plus TLS_HOSTNAME) and offers
 * it on the next connect to the same peer; a server with it on keeps
 * sessions in a fixed LRU cache shared by all servers and resumes them.
 * Both caches are fixed memory (docs/tls.md). DTLS sockets have caches of their own, alike
 * (a server's of ZS_DTLS_SESSION_SLOTS sessions; docs/dtls.md).
 */
#define TLS_SESSION_CACHE 12
/** TLS_SESSION_CACHE_PURGE (write, any value): forget every cached session, client and server side. */
#define TLS_SESSION_CACHE_PURGE 13

#define TLS_PEER_VERIFY_NONE 0
#define TLS_PEER_VERIFY_OPTIONAL 1
#define TLS_PEER_VERIFY_REQUIRED 2
#define TLS_DTLS_ROLE_CLIENT 0
#define TLS_DTLS_ROLE_SERVER 1
#define TLS_CERT_NOCOPY_NONE 0
#define TLS_CERT_NOCOPY_OPTIONAL 1
#define TLS_SESSION_CACHE_DISABLED 0
#define TLS_SESSION_CACHE_ENABLED 1

/*
 * zsock's own SOL_TLS options (read only), outside Zephyr's numbers.
 * ZSOCK_TLS_ALPN_USED: the protocol negotiated, NUL-terminated, into a
 *   char buffer (*optlen set to strlen + 1; "" when none; ENOTCONN before
 *   the handshake completes; EINVAL if the buffer is too small).
 * ZSOCK_TLS_VERIFY_RESULT: int, 0 when the peer's chain verified, else
 *   BearSSL's X.509 error code (54 expired, 56 wrong server name, 62 not
 *   trusted; the list is in docs/tls.md), -1 when no chain was checked.
 * ZSOCK_TLS_SESSION_RESUMED: int, 1 if the last handshake resumed a
 *   session, 0 otherwise; ENOTCONN before the handshake completes.
 * ZSOCK_TLS_LAST_ERROR: int, the sticky BearSSL error of the socket
 *   (br_ssl_engine_last_error: 0 none, BR_ERR_* codes; a fatal alert from
 *   the peer is 256 + its alert number, one sent is 512 + alert).
 */
#define ZSOCK_TLS_ALPN_USED 0x7a60
#define ZSOCK_TLS_VERIFY_RESULT 0x7a61
#define ZSOCK_TLS_SESSION_RESUMED 0x7a62
#define ZSOCK_TLS_LAST_ERROR 0x7a63

/** Size of a socket fd table: fds are 0 .. ZSOCK_FD_SETSIZE - 1. */
#define ZSOCK_FD_SETSIZE CONFIG_ZVFS_OPEN_MAX

/* ---- sockets ---------------------------------------------------------- */

/**
 * Create a socket. family AF_INET or AF_INET6; type SOCK_STREAM (proto 0,
 * IPPROTO_TCP, or IPPROTO_TLS_1_0/_1_1/_1_2 for a TLS socket, see above)
 * or SOCK_DGRAM (proto 0, IPPROTO_UDP, or IPPROTO_DTLS_1_2 for a DTLS
 * socket, see above).
 * Returns the lowest free fd.
 * Errors: EAFNOSUPPORT (family), EPROTOTYPE / EPROTONOSUPPORT (type, proto;
 * IPPROTO_DTLS_1_0; IPPROTO_DTLS_1_2 on a stream), ENFILE (fd table
 * full), ENOMEM (no socket object, PCB, TLS or DTLS socket object left).
 * Does not block.
 */
int zsock_socket(int family, int type, int proto);

/**
 * Close a socket. Queued send data is still delivered (TCP: FIN follows it,
 * and the engine keeps the buffers until the peer has acknowledged them);
 * unread received data makes it reset the connection instead, as Linux
 * does. Wakes every thread blocked on the fd; those calls fail with EINTR
 * (poll too). The fd number is free for reuse on return.
 * Errors: EBADF. Does not block.
 */
int zsock_close(int sock);

/**
 * Shut down part of a connection. how: ZSOCK_SHUT_RD (recv returns 0 and
 * blocked readers wake), ZSOCK_SHUT_WR (FIN after queued data; later sends
 * fail with EPIPE), ZSOCK_SHUT_RDWR. Errors: EBADF, EINVAL (how),
 * ENOTCONN (stream socket not connected). Does not block.
 */
int zsock_shutdown(int sock, int how);

/**
 * Bind to a local address; port 0 picks an ephemeral port.
 * Errors: EBADF, EFAULT (addr NULL), EINVAL (addrlen short, already bound),
 * EAFNOSUPPORT (family differs from the socket's), EADDRINUSE,
 * EADDRNOTAVAIL (no interface has that address). Does not block.
 */
int zsock_bind(int sock, const struct sockaddr *addr, socklen_t addrlen);

/**
 * Connect. Stream: starts the handshake and blocks until it completes;
 * non-blocking sockets return -1/EINPROGRESS and report completion as
 * ZSOCK_POLLOUT (success) or ZSOCK_POLLERR with SO_ERROR set. Datagram: sets
 * the default peer and the receive filter, does not block.
 * Errors: EBADF, EFAULT, EINVAL (addrlen), EAFNOSUPPORT, EISCONN, EALREADY
 * (a connect is in progress), ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EINTR
 * (closed by another thread), EINPROGRESS (non-blocking, or SO_SNDTIMEO
 * expired: as on Linux the handshake goes on and completes as a
 * non-blocking one would), ENOMEM (lwIP's heap cannot queue the SYN, or a
 * socket whose earlier connect failed finds no TCP PCB free for the new
 * attempt). With SO_SOCKS5 set the connect goes through a
 * proxy, always blocking, with the errors listed at SO_SOCKS5.
 */
int zsock_connect(int sock, const struct sockaddr *addr, socklen_t addrlen);

/**
 * Listen for connections. backlog <= 0 means 1; it is capped at what the
 * engine can hold. Errors: EBADF, EOPNOTSUPP (not a stream socket), EINVAL
 * (connected), ENOMEM (no listening PCB left: at most
 * min(CONFIG_NET_MAX_CONTEXTS, 16) listeners at once; the socket stays
 * usable). Does not block.
 */
int zsock_listen(int sock, int backlog);

/**
 * Take the next connection from a listening socket. If addr is not NULL,
 * *addrlen gives its size on entry and the peer's full address length on
 * return (the address is truncated to the buffer). Blocks while the backlog
 * is empty. Errors: EBADF, EINVAL (not listening, or addr without addrlen),
 * EOPNOTSUPP (datagram socket), EAGAIN, EINTR, ENFILE (no fd left: the
 * connection is closed), ENOMEM (a TLS listener with no TLS socket object
 * or session free: the connection is closed, its peer sees a reset).
 * A blocking TLS listener runs the server handshake before it returns:
 * ECONNABORTED, ECONNRESET (the handshake failed, docs/tls.md), ETIMEDOUT
 * (the listener's SO_SNDTIMEO passed). Without SO_SNDTIMEO the handshake
 * has the build's deadline (zsock_tls_handshake_timeout_ms, 10 s): a client
 * that passes it is dropped and accept goes on waiting for the next one.
 * A non-blocking TLS listener returns the fd at once; its handshake runs
 * as it is polled or used and fails with ETIMEDOUT past that deadline.
 */
int zsock_accept(int sock, struct sockaddr *addr, socklen_t *addrlen);

/**
 * Send. Stream: copies len bytes into the engine (one copy) and returns how
 * many were taken: a blocking call waits for room until all are queued,
 * and returns fewer only when a timeout, an error or a close interrupts it
 * after some progress; never 0 for len > 0. Datagram: sends one datagram
 * of exactly len bytes while the caller waits, straight from buf (no copy
 * in the engine), or fails: at most 65507 bytes over IPv4 and 65487 over
 * IPv6 (lwIP holds a packet's length, headers included, in 16 bits: a
 * deliberate deviation from Linux's 65527), EMSGSIZE beyond. dest_addr is ignored on a connected stream
 * socket; a datagram socket needs it unless connected.
 * Errors: EBADF, EFAULT (buf NULL with len > 0), EINVAL (addrlen, or len
 * above SSIZE_MAX), EAGAIN,
 * EPIPE (shut down for writing or closed by the peer; no SIGPIPE is raised),
 * ECONNRESET, ENOTCONN, EDESTADDRREQ, EMSGSIZE, ENOMEM, EINTR, EHOSTUNREACH.
 */
ssize_t zsock_sendto(int sock, const void *buf, size_t len, int flags,
		     const struct sockaddr *dest_addr, socklen_t addrlen);

/** zsock_sendto() without an address. */
ssize_t zsock_send(int sock, const void *buf, size_t len, int flags);

/**
 * Receive. Stream: copies up to max_len bytes (one copy, from the engine's
 * receive ring); returns 0 at EOF or after SHUT_RD. MSG_WAITALL waits for
 * max_len bytes unless EOF, an error, a timeout or a close intervenes, and
 * then returns what it has. Datagram: one datagram per call; bytes beyond
 * max_len are discarded unless MSG_PEEK; with MSG_TRUNC the datagram's real
 * length is returned. MSG_PEEK leaves the data queued. If src_addr is not
 * NULL, *addrlen works as in zsock_accept().
 * Consuming data opens the TCP window again.
 * Errors: EBADF, EFAULT (buf NULL with max_len > 0), EINVAL, ENOTCONN
 * (stream not connected), EAGAIN, ECONNRESET, EINTR. Blocks while nothing
 * is queued.
 */
ssize_t zsock_recvfrom(int sock, void *buf, size_t max_len, int flags,
		       struct sockaddr *src_addr, socklen_t *addrlen);

/** zsock_recvfrom() without an address. */
ssize_t zsock_recv(int sock, void *buf, size_t max_len, int flags);

/**
 * Wait for readiness on nfds sockets. timeout in ms: 0 never blocks, -1
 * waits forever, T > 0 returns 0 no earlier than T ms. Returns the number of
 * entries with a non-zero revents. ERR, HUP and NVAL are reported even when
 * not asked for. A wake-up costs one signal to the caller, whatever nfds.
 * Errors: EFAULT (fds NULL with nfds > 0), EINVAL (nfds < 0 or larger than
 * CONFIG_NET_SOCKETS_POLL_MAX), EINTR (another thread closed one of the
 * polled fds: Zephyr's rule).
 */
int zsock_poll(struct zsock_pollfd *fds, int nfds, int timeout);

/**
 * fcntl: F_GETFL returns the status flags (O_RDWR | O_NONBLOCK if set);
 * F_SETFL takes O_NONBLOCK from flags (other bits ignored) and returns 0.
 * Errors: EBADF, EINVAL (other commands). Does not block.
 */
int zsock_fcntl(int sock, int cmd, int flags);

/**
 * Read an option. *optlen gives the buffer size on entry and the stored
 * size on return. Every option, its effect in zsock, default and errors:
 * docs/options.md (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6).
 * SO_ERROR reading clears it; timeouts are struct timeval.
 * Errors: EBADF, EFAULT (NULL optval or optlen), EINVAL (*optlen short or
 * negative), ENOPROTOOPT (unknown level or option). Does not block.
 */
int zsock_getsockopt(int sock, int level, int optname, void *optval,
		     socklen_t *optlen);

/**
 * Set an option (see zsock_getsockopt() for the list). Timeouts take a
 * struct timeval, rounded up to whole milliseconds; {0, 0} means wait
 * forever. Errors: EBADF, EFAULT, EINVAL (optlen short), EDOM (a timeval
 * with a negative part or tv_usec >= 1000000, as Linux), ENOPROTOOPT
 * (unknown, or read-only such as SO_TYPE). Does not block.
 */
int zsock_setsockopt(int sock, int level, int optname, const void *optval,
		     socklen_t optlen);

/**
 * Local address (the ephemeral port after an implicit bind; the any-address
 * and port 0 before any bind). *addrlen as in zsock_accept().
 * Errors: EBADF, EFAULT, EINVAL. Does not block.
 */
int zsock_getsockname(int sock, struct sockaddr *addr, socklen_t *addrlen);

/**
 * Peer address. Errors: EBADF, EFAULT, EINVAL, ENOTCONN. Does not block.
 */
int zsock_getpeername(int sock, struct sockaddr *addr, socklen_t *addrlen);

/* ---- addresses --------------------------------------------------------- */

/**
 * Text to binary address. family AF_INET (dotted quad, exactly four
 * decimal parts, no leading garbage) or AF_INET6 (RFC 4291 text, embedded
 * IPv4 tail allowed). dst receives 4 or 16 bytes in network order.
 * Returns 1 on success, 0 if src is not a valid address (dst untouched),
 * -1/EAFNOSUPPORT for another family. Does not block.
 */
int zsock_inet_pton(sa_family_t family, const char *src, void *dst);

/**
 * Binary to text address. IPv6 in the shortest RFC 5952 form; v4-mapped
 * addresses as ::ffff:a.b.c.d. Returns dst, or NULL with errno ENOSPC when
 * size is too short, EAFNOSUPPORT for another family. Does not block.
 */
char *zsock_inet_ntop(sa_family_t family, const void *src, char *dst,
		      size_t size);

/* ---- socketpair ----------------------------------------------------------- */

/**
 * Create a pair of connected local sockets (no network involved) and store
 * their fds in sv[0] and sv[1]. family AF_UNIX; type SOCK_STREAM or
 * SOCK_DGRAM (SOCK_NONBLOCK honoured on both ends); proto 0. Each direction
 * buffers CONFIG_NET_SOCKETPAIR_BUFFER_SIZE bytes (a datagram costs its
 * length + 4; the largest is that size - 4, larger ones give EMSGSIZE).
 * send/recv/sendmsg/recvmsg/poll/close/shutdown behave as for TCP (stream)
 * or UDP (datagram): data written before a close can still be read, then
 * recv gives 0 (datagram too); a send to a closed or SHUT_RD peer fails
 * with EPIPE; a full buffer gives EAGAIN or blocks (a blocking stream send
 * returns once everything is queued, or with the count so far when a
 * timeout, EPIPE or a close intervenes). poll: POLLIN for data or EOF,
 * POLLOUT for room, POLLHUP once the peer closed. bind and connect give
 * EISCONN, listen EINVAL, accept EOPNOTSUPP, an address given to sendto
 * or sendmsg EISCONN. getsockname/getpeername give an unnamed AF_UNIX
 * address (only sa_family, length sizeof(sa_family_t), as Linux); recvfrom
 * stores no address (*addrlen 0). Options: SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
 * SO_ERROR (always 0), SO_RCVTIMEO, SO_SNDTIMEO; others ENOPROTOOPT.
 * ioctl FIONREAD/FIONBIO as for native sockets.
 * Errors: EFAULT (sv NULL), EAFNOSUPPORT (family), EPROTOTYPE (type),
 * EPROTONOSUPPORT (proto), ENFILE (fewer than two fds free), ENOMEM
 * (all CONFIG_NET_SOCKETPAIR_MAX pairs in use); nothing leaks, sv is left
 * untouched. Does not block.
 */
int zsock_socketpair(int family, int type, int proto, int *sv);

/* ---- names -------------------------------------------------------------- */

/* glibc shows these codes only with _GNU_SOURCE; zsock returns them anyway */
#ifndef EAI_ADDRFAMILY
#define EAI_ADDRFAMILY (-9)
#endif
#ifndef EAI_NODATA
#define EAI_NODATA (-5)
#endif

/**
 * One result of zsock_getaddrinfo(). The address and name live inside the
 * node itself; the list is owned by the caller until zsock_freeaddrinfo().
 */
struct zsock_addrinfo {
	struct zsock_addrinfo *ai_next;
	int ai_flags;
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	socklen_t ai_addrlen;
	struct sockaddr *ai_addr;    /**< points at _ai_addr */
	char *ai_canonname;          /**< NULL unless AI_CANONNAME */

	struct sockaddr_storage _ai_addr;
	char _ai_canonname[256];
};

/**
 * Resolve host and service into a list of socket addresses. host: numeric
 * IPv4, IPv6 or bracketed IPv6 text (never touches the network), or a name
 * (A and AAAA through the engine's DNS client, over zsock UDP sockets, to
 * the servers of ZSOCK_DNS=addr[:port],... or the dns_servers build option,
 * dns_timeout_ms per try, dns_retries rounds; IPv6 answers first; no server
 * configured: EAI_NONAME; "localhost" is built in: ::1 and 127.0.0.1), or
 * NULL (the any-address with AI_PASSIVE, loopback otherwise). service: a decimal
 * port, or a few well-known names unless AI_NUMERICSERV. hints (may be
 * NULL) filters ai_family, ai_socktype, ai_protocol and sets ai_flags
 * (AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV, AI_CANONNAME,
 * AI_ADDRCONFIG, AI_V4MAPPED, AI_ALL). Result nodes come from a fixed pool
 * (CONFIG_ZSOCK_ADDRINFO_MAX nodes); *res is the caller's until
 * zsock_freeaddrinfo(). Returns 0 or an EAI_* code (not errno): EAI_NONAME
 * (host and service NULL, a port above 65535, a name with AI_NUMERICHOST),
 * EAI_SERVICE, EAI_FAMILY, EAI_ADDRFAMILY, EAI_SOCKTYPE, EAI_BADFLAGS,
 * EAI_MEMORY (pool empty), EAI_AGAIN, EAI_FAIL, EAI_SYSTEM (errno EFAULT
 * for a NULL res; ENFILE when no fd is free for the lookup's socket); on
 * any error *res is set to NULL. Blocks only while a
 * DNS query is in flight. Differences from glibc: see zsock/addrinfo.c.
 */
int zsock_getaddrinfo(const char *host, const char *service,
		      const struct zsock_addrinfo *hints,
		      struct zsock_addrinfo **res);

/**
 * Return a whole list from zsock_getaddrinfo() to the pool. NULL is
 * allowed. A node not from the pool, or already returned, is ignored (the
 * walk stops there), so misuse never corrupts the pool.
 */
void zsock_freeaddrinfo(struct zsock_addrinfo *ai);

/** A static English text for an EAI_* code; never NULL. */
const char *zsock_gai_strerror(int errcode);

/**
 * Address to text: numeric host (names need DNS reverse lookups, which the
 * engine does not do: without NI_NUMERICHOST the numeric form is returned,
 * and NI_NAMEREQD gives EAI_NONAME) and numeric or well-known service.
 * host or serv may be NULL or have length 0: that part is skipped. Nothing
 * is written unless the call succeeds. Returns 0 or EAI_FAMILY (not
 * AF_INET/AF_INET6, or salen shorter than that family's sockaddr),
 * EAI_OVERFLOW (a buffer too short), EAI_NONAME (both parts skipped, or
 * NI_NAMEREQD with a host wanted), EAI_BADFLAGS, EAI_FAIL (sa NULL).
 * Does not block.
 */
int zsock_getnameinfo(const struct sockaddr *sa, socklen_t salen,
		      char *host, socklen_t hostlen,
		      char *serv, socklen_t servlen, int flags);

/* ---- scatter/gather ----------------------------------------------------- */

/** iovecs per sendmsg/recvmsg call, as Linux's IOV_MAX. */
#define ZSOCK_IOV_MAX 1024

/**
 * Send from msg->msg_iov (msg_iovlen entries, at most ZSOCK_IOV_MAX), to
 * msg->msg_name if set. Stream: as zsock_send() over the concatenated
 * buffers (one copy per byte). Datagram: the iovecs form one datagram,
 * handed to lwIP as a chain of references to the caller's buffers (no copy
 * in the engine). msg_control is ignored. Errors: as zsock_sendto(), plus
 * EFAULT (msg NULL, or an iovec with a NULL base and a non-zero length),
 * EMSGSIZE (msg_iovlen above ZSOCK_IOV_MAX, or the datagram too large).
 */
ssize_t zsock_sendmsg(int sock, const struct msghdr *msg, int flags);

/**
 * Receive into msg->msg_iov in order. Stream: as zsock_recv() over the
 * concatenated buffers. Datagram: one datagram; msg_flags gets MSG_TRUNC
 * when it did not fit (the rest is discarded unless MSG_PEEK). msg_name
 * (if set) receives the source address and msg_namelen its length;
 * msg_controllen is set to 0. Returns the bytes stored (or, with MSG_TRUNC
 * in flags, the datagram's real length). Errors: as zsock_recvfrom(), plus
 * EFAULT and EMSGSIZE as for zsock_sendmsg().
 */
ssize_t zsock_recvmsg(int sock, struct msghdr *msg, int flags);

/* ---- ioctl, host name, context ------------------------------------------- */

/**
 * ioctl: FIONREAD stores in the int pointed to by the third argument the
 * bytes queued for reading (stream) or the size of the next datagram (0 if
 * none). FIONBIO takes an int: non-zero sets O_NONBLOCK. Errors: EBADF,
 * EFAULT (NULL argument), EINVAL (ENOTTY on Linux; Zephyr says EINVAL) for
 * other requests. Does not block.
 */
int zsock_ioctl(int sock, unsigned long request, ...);

/**
 * Copy the engine's host name (CONFIG_NET_HOSTNAME, "zsock" by default)
 * with its NUL into buf. Errors: EFAULT (buf NULL), ENAMETOOLONG (len too
 * short; as much as fits is copied, unterminated, as POSIX allows).
 */
int zsock_gethostname(char *buf, size_t len);

/**
 * The object behind fd (for a native socket: its engine socket; for an
 * offloaded one: the driver's object given to z_finalize_fd), or NULL
 * with errno EBADF. These targets have no user-space/kernel split and no
 * permission model: the pointer is the object itself, valid only while the
 * fd stays open, and it MUST NOT be freed or used across a close. Does not
 * block.
 */
void *zsock_get_context_object(int sock);

/* ---- select ------------------------------------------------------------- */

/** A set of fds for zsock_select(): ZSOCK_FD_SETSIZE bits. */
typedef struct {
	uint32_t bitset[(ZSOCK_FD_SETSIZE + 31) / 32];
} zsock_fd_set;

/** select's timeout. */
struct zsock_timeval {
	long tv_sec;
	long tv_usec;
};

/* The ZSOCK_FD_* macros are the API (Zephyr's names); the functions behind
 * them cannot share the type's name in C. */
/** Clear every bit of set. */
void zsock_fdset_zero(zsock_fd_set *set);
/** Add fd to set (ignored when fd is outside 0 .. ZSOCK_FD_SETSIZE - 1). */
void zsock_fdset_add(int fd, zsock_fd_set *set);
/** Remove fd from set (same range rule). */
void zsock_fdset_del(int fd, zsock_fd_set *set);
/** Non-zero when fd is in set (0 outside the range). */
int zsock_fdset_has(int fd, const zsock_fd_set *set);

#define ZSOCK_FD_ZERO(set)       zsock_fdset_zero(set)
#define ZSOCK_FD_SET(fd, set)    zsock_fdset_add(fd, set)
#define ZSOCK_FD_CLR(fd, set)    zsock_fdset_del(fd, set)
#define ZSOCK_FD_ISSET(fd, set)  zsock_fdset_has(fd, set)

/**
 * Wait until one of the fds below nfds in readfds is readable, in writefds
 * writable, or in exceptfds has an error, as zsock_poll() decides
 * readiness (an error or hang-up counts as readable and writable). On
 * return each set holds only its ready fds. timeout NULL waits forever,
 * {0, 0} never blocks. Returns the number of bits set in all three sets.
 * Errors: EBADF (a set names an fd that is not open), EINVAL (nfds < 0 or
 * above ZSOCK_FD_SETSIZE, a negative or out-of-range timeout), EINTR.
 */
int zsock_select(int nfds, zsock_fd_set *readfds, zsock_fd_set *writefds,
		 zsock_fd_set *exceptfds, struct zsock_timeval *timeout);

#ifdef __cplusplus
}
#endif

/* Plain POSIX names (socket, recv, poll, ...) when the build asks for them;
 * code that must keep the host's own sockets defines ZSOCK_NO_POSIX_NAMES. */
#if CONFIG_NET_SOCKETS_POSIX_NAMES && !defined(ZSOCK_NO_POSIX_NAMES)
#include <zsock/posix_names.h>
#endif

#endif /* ZSOCK_SOCKET_H */
