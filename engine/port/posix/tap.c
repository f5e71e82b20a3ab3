/*
 * Linux TAP (see tap.h). One open of /dev/net/tun plus TUNSETIFF with
 * IFF_TAP | IFF_NO_PI binds the descriptor to an Ethernet device by name:
 * the kernel attaches to a persistent device of that name (made beforehand
 * with `ip tuntap add ... mode tap`, typically by root, so that an
 * unprivileged process may attach) or creates a transient one. Without
 * IFF_MULTI_QUEUE a device takes one descriptor at a time: a second
 * attacher gets EBUSY.
 *
 * Each read() returns exactly one frame and each write() sends exactly
 * one, so there are no partial frames to reassemble: a short read only
 * happens when the buffer is too small, and the tail is then dropped.
 */
#define _GNU_SOURCE
#include "engine/port/posix/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>

int zs_tap_open(const char *name)
{
	struct ifreq ifr;
	size_t len = strlen(name);
	int fd;

	if (len == 0 || len >= sizeof(ifr.ifr_name))
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, len);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int zs_tap_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)n;
}

int zs_tap_writev(int fd, const struct zs_tap_seg *seg, int n)
{
	struct iovec iov[ZS_TAP_SEG_MAX];
	ssize_t w;
	int i;

	if (n < 1 || n > ZS_TAP_SEG_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)seg[i].base;
		iov[i].iov_len = seg[i].len;
	}
	do {
		w = writev(fd, iov, n);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)w;
}

void zs_tap_close(int fd)
{
	close(fd);
}
