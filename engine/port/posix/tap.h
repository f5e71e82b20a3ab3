/*
 * Linux TAP devices, seen through an OS-neutral door: a descriptor that
 * reads and writes whole Ethernet frames (no packet-information prefix, no
 * virtio header). The implementation (tap.c) is the only file in zsock that
 * includes Linux headers; a port without TAP leaves it out of the build.
 *
 * Every call here is non-blocking and may run in any thread, but zsock
 * calls them from the reactor only.
 */
#ifndef ZSOCK_PORT_TAP_H
#define ZSOCK_PORT_TAP_H

#include <stddef.h>

/** One piece of a frame to gather (a struct iovec without <sys/uio.h>). */
struct zs_tap_seg {
	const void *base;
	size_t len;
};

/** Most segments one zs_tap_writev() takes. */
#define ZS_TAP_SEG_MAX 64

/**
 * Attach to the TAP device name (at most 15 characters), creating it if it
 * does not exist; a device created here vanishes when its descriptor is
 * closed, a persistent one stays. The descriptor is non-blocking and
 * close-on-exec. Returns it (>= 0) or -errno: -ENOENT (no /dev/net/tun),
 * -EPERM (creating needs CAP_NET_ADMIN), -EBUSY (another process holds the
 * device), -EINVAL (name taken by a device that is not a TAP, bad name).
 */
int zs_tap_open(const char *name);

/**
 * Read one frame into buf. Returns its length, or -EAGAIN when none is
 * waiting, or another -errno. A frame longer than len is cut to len (the
 * rest is lost): pass a buffer longer than the largest frame expected and
 * treat a full one as suspect.
 */
int zs_tap_read(int fd, void *buf, size_t len);

/**
 * Send the frame made of seg[0 .. n-1] in one write (1 <= n <=
 * ZS_TAP_SEG_MAX). Returns the bytes written (the whole frame) or -errno:
 * -EAGAIN (the device's queue is full), -EIO (the Linux side is down).
 * The segments are only read during the call.
 */
int zs_tap_writev(int fd, const struct zs_tap_seg *seg, int n);

/** Close a descriptor from zs_tap_open(). */
void zs_tap_close(int fd);

#endif
