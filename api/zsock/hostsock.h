/*
 * <zsock/hostsock.h>: the host kernel's own sockets as zsock sockets.
 *
 * hostsock is an offload driver (<zsock/socket_offload.h>) built when the
 * Meson option `hostsock` is enabled (CONFIG_ZSOCK_HOSTSOCK = 1, the
 * default on hosted builds). Each of its sockets is a zsock fd backed by
 * one socket of the host (Linux) kernel: every zsock_* call works on it
 * (zsock_poll and zsock_select too, mixed with the engine's native fds in
 * one call), but the data goes through the host's TCP/IP stack, never
 * through the engine's lwIP. The driver is also the handler of the
 * offload interface "host" (zsock_net_if_get_by_name("host")).
 *
 * Semantics of a hostsock fd, where they differ from or add to
 * <zsock/socket.h>:
 *  - Errors: the host's own errno values, unchanged (zsock uses the host's
 *    errno numbering on Linux, so they compare equal to the E* constants).
 *    What a call accepts and refuses is the host kernel's decision, except
 *    for the few points listed here, which the driver decides itself.
 *  - Blocking: the host fd is always non-blocking on the host; whether a
 *    zsock call blocks is the driver's flag, set by SOCK_NONBLOCK in the
 *    type, zsock_fcntl(F_SETFL, O_NONBLOCK) or zsock_ioctl(FIONBIO), and
 *    per call by MSG_DONTWAIT. A blocking connect, accept, send, sendto,
 *    sendmsg, recv, recvfrom or recvmsg sleeps in the host's poll(2) on
 *    that one fd until it can go on, the socket's timeout passes, or the
 *    fd is closed. A blocking stream send returns only when all bytes are
 *    queued (fewer only if a timeout, an error or a close interrupts it
 *    after some progress); MSG_WAITALL on a stream receive waits for the
 *    full length the same way. A blocking connect waits for the handshake
 *    and reports its SO_ERROR (ECONNREFUSED, ETIMEDOUT, ...).
 *  - SO_RCVTIMEO / SO_SNDTIMEO (SOL_SOCKET, struct timeval) are kept by
 *    the driver, not the host: rounded up to whole milliseconds, {0, 0}
 *    waits forever, EINVAL if optlen is shorter than struct timeval, EDOM
 *    if a part is negative or tv_usec >= 1000000. An expired timeout gives
 *    EAGAIN; SO_SNDTIMEO also bounds a blocking connect, which then fails
 *    with EINPROGRESS while the handshake goes on, as on Linux; SO_RCVTIMEO
 *    bounds accept. Every other option goes to the host's setsockopt /
 *    getsockopt unchanged (SO_BINDTODEVICE names a host interface).
 *  - Close: zsock_close() never waits for calls that other threads have
 *    blocked in; if there are any, it shuts the host socket down
 *    (shutdown(SHUT_RDWR), so their poll(2) wakes) and they fail with
 *    EINTR (zsock's rule for a close under a blocked call). The host fd is
 *    closed when the last call using it has returned. A host SO_LINGER
 *    with a non-zero time makes that host close(2) block, as on Linux.
 *  - accept returns a new hostsock fd: blocking, with the listener's
 *    SO_RCVTIMEO / SO_SNDTIMEO (Linux copies both to accepted sockets).
 *    If the new fd cannot be made (ENFILE: zsock's fd table is full;
 *    ENOMEM: no hostsock object left) the host connection is closed.
 *  - Sends never raise SIGPIPE (EPIPE instead): MSG_NOSIGNAL is always
 *    added.
 *  - zsock_ioctl: FIONBIO and FIONREAD (the host's answer); other
 *    requests fail with EOPNOTSUPP.
 *  - Memory: a fixed pool of CONFIG_ZVFS_OPEN_MAX hostsock objects (one per
 *    open fd, plus closed ones while a call still runs on them); no
 *    allocation after that. One watcher thread for the whole driver,
 *    started by the first hostsock socket, sleeps in epoll_wait() on every
 *    hostsock fd and wakes the zsock_poll() callers of the sockets that
 *    changed; it lives until the process exits.
 *  - The host socket lives in the network namespace of the thread that
 *    called zsock_hostsock_socket() (accept: the listener's).
 */
#ifndef ZSOCK_HOSTSOCK_H
#define ZSOCK_HOSTSOCK_H

#include <zsock/socket.h>
#include <zsock/zsock_config.h>

#ifdef __cplusplus
extern "C" {
#endif

#if CONFIG_ZSOCK_HOSTSOCK

/**
 * Make a host kernel socket and return it as a zsock fd (the lowest free
 * one). family, type and proto are the host's socket() arguments:
 * AF_INET / AF_INET6 with SOCK_STREAM (TCP) or SOCK_DGRAM (UDP) are what
 * the driver is made and tested for; anything else is passed to the host
 * as it is, and refused with the host's errno (EAFNOSUPPORT,
 * EPROTONOSUPPORT, EINVAL, ...) when the host refuses it. SOCK_NONBLOCK in
 * type makes the zsock socket non-blocking; SOCK_CLOEXEC is accepted
 * (the host fd always has it).
 * Returns the fd, which the caller owns and MUST close with zsock_close().
 * Errors: the host socket()'s errno; ENFILE (zsock's fd table is full);
 * ENOMEM (all CONFIG_ZVFS_OPEN_MAX hostsock objects in use); ENOSPC or
 * ENOMEM from the host's epoll_ctl (fs.epoll.max_user_watches); EAGAIN or
 * EMFILE when the driver's first use cannot start its watcher thread or
 * epoll instance (that failure is final for the process).
 * Does not block. Any thread.
 */
int zsock_hostsock_socket(int family, int type, int proto);

/**
 * hostsock objects alive now: open hostsock fds, plus closed ones whose
 * host socket is still in use by a call another thread made before the
 * close (it goes back when that call returns). 0 when nothing leaks.
 * Does not block beyond a short lock. Any thread.
 */
unsigned int zsock_hostsock_in_use(void);

#endif /* CONFIG_ZSOCK_HOSTSOCK */

#ifdef __cplusplus
}
#endif

#endif /* ZSOCK_HOSTSOCK_H */
