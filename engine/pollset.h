/*
 * Poll sets: zsock_poll() registrations that outlive one call.
 *
 * A plain poll over N fds looks up, links, tests and unlinks N sockets on
 * every call, so with one busy socket among 1024 idle ones each event pays
 * for all 1024. A poll set keeps the registrations of the last array a
 * thread polled: while the array (fds and events) and the fd table's
 * generation are unchanged, a call tests only the sockets that were ready
 * last time (poll is level-triggered) and those whose wait queue fired
 * since (tracked wait nodes, waitq.h), plus one cheap compare over the
 * array. Anything else rebuilds the set, which costs what a plain poll
 * costs.
 *
 * Sets are a fixed pool (build option zsock_pollsets); a thread takes one
 * on its first poll and gives it back when it ends. A thread that finds
 * none free polls the plain way. A set holds a reference on each object it
 * registers; closing an fd makes every set drop the object at once
 * (zs_pollset_forget), and a poll asleep on it returns EINTR (Zephyr's rule
 * for a polled fd closed by another thread).
 */
#ifndef ZSOCK_POLLSET_H
#define ZSOCK_POLLSET_H

#include <zsock/socket.h>

/**
 * zsock_poll() through the calling thread's poll set. fds/nfds already
 * checked (nfds <= CONFIG_NET_SOCKETS_POLL_MAX). Returns the ready count,
 * -EINTR, or -ENOSPC when no set is available: poll the plain way then.
 */
int zs_pollset_poll(struct zsock_pollfd *fds, int nfds, int timeout);

/** Set up the pool of sets; once, at engine start. */
void zs_pollset_init(void);

/** fd table: obj's fd was closed; every set lets go of obj. Any thread. */
void zs_pollset_forget(void *obj);

#endif
