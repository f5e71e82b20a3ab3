/* One checked bulk TCP run over the TAP; see bulk.h. */
#define _GNU_SOURCE
#include "bulk.h"
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/socket.h>

#define PORT 5001

/* The Linux end, in its own thread: accept or connect, then transfer. */
struct linux_end {
	int fd;                          /* listening or unconnected socket */
	bool listening;
	struct sockaddr_storage dst;     /* where to connect */
	socklen_t dst_len;
	struct zi_xfer *x;
};

static void *linux_end_run(void *arg)
{
	struct linux_end *e = arg;
	int fd = e->fd;

	if (e->listening) {
		struct pollfd p = { .fd = e->fd, .events = POLLIN };

		if (poll(&p, 1, e->x->deadline_ms) != 1) {
			e->x->err = ETIMEDOUT;
			e->x->where = "accept (no connection came)";
			return NULL;
		}
		fd = accept(e->fd, NULL, NULL);
		if (fd < 0) {
			e->x->err = errno;
			e->x->where = "accept";
			return NULL;
		}
	} else if (connect(fd, (struct sockaddr *)&e->dst, e->dst_len) != 0) {
		e->x->err = errno;
		e->x->where = "connect";
		return NULL;
	}
	zi_xfer_linux(fd, e->x);
	if (fd != e->fd)
		close(fd);
	return NULL;
}

static void check_side(const char *who, const struct zi_xfer *x)
{
	cr_assert_eq(x->err, 0, "%s: %s failed: %s (sent %llu, received %llu)",
		     who, x->where, strerror(x->err),
		     (unsigned long long)x->sent, (unsigned long long)x->received);
	cr_assert_eq(x->first_bad, ZI_NO_BAD, "%s: wrong byte at stream offset %llu", who,
		     (unsigned long long)x->first_bad);
}

void zi_bulk_run(struct zi_bulk *b)
{
	const char *zaddr = b->family == AF_INET ? ZI_ENGINE_IP4 : ZI_ENGINE_IP6;
	const char *laddr = b->family == AF_INET ? ZI_LINUX_IP4 : ZI_LINUX_IP6;
	struct linux_end le = { .fd = -1 };
	struct sockaddr_storage ss, peer;
	socklen_t len, plen = sizeof(peer);
	int one = 1, zfd, zl = -1;
	int64_t t0;
	pthread_t th;

	zi_xfer_init(&b->z, b->zsock_sends, 0x2a0000 + b->family, 0x1a0000 + b->family,
		     b->deadline_ms);
	zi_xfer_init(&b->l, b->linux_sends, 0x1a0000 + b->family, 0x2a0000 + b->family,
		     b->deadline_ms);
	b->z.blocking = b->zsock_blocking;
	le.x = &b->l;

	if (b->zsock_listens) {
		zl = zt_socket(b->family, SOCK_STREAM);
		len = zi_addr(zaddr, PORT, &ss);
		cr_assert_eq(zsock_bind(zl, (struct sockaddr *)&ss, len), 0, "zsock bind: %s",
			     strerror(errno));
		cr_assert_eq(zsock_listen(zl, 1), 0, "zsock listen: %s", strerror(errno));
		le.fd = socket(b->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(le.fd, 0, "socket: %s", strerror(errno));
		le.dst_len = zi_addr(zaddr, PORT, &le.dst);
	} else {
		le.fd = socket(b->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(le.fd, 0, "socket: %s", strerror(errno));
		setsockopt(le.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		len = zi_addr(laddr, PORT, &ss);
		cr_assert_eq(bind(le.fd, (struct sockaddr *)&ss, len), 0, "bind %s: %s", laddr,
			     strerror(errno));
		cr_assert_eq(listen(le.fd, 1), 0, "listen: %s", strerror(errno));
		le.listening = true;
	}

	t0 = zt_now_ms();
	th = zt_spawn(linux_end_run, &le);
	if (b->zsock_listens) {
		zfd = zsock_accept(zl, (struct sockaddr *)&peer, &plen);
		cr_assert_geq(zfd, 0, "zsock accept: %s", strerror(errno));
		zt_close(zl);
	} else {
		zfd = zt_socket(b->family, SOCK_STREAM);
		len = zi_addr(laddr, PORT, &ss);
		cr_assert_eq(zsock_connect(zfd, (struct sockaddr *)&ss, len), 0,
			     "zsock connect to %s: %s", laddr, strerror(errno));
		cr_assert_eq(zsock_getpeername(zfd, (struct sockaddr *)&peer, &plen), 0,
			     "getpeername: %s", strerror(errno));
	}
	/* the engine sees the Linux address, whichever side connected */
	{
		struct sockaddr_storage want;

		zi_addr(laddr, 0, &want);
		cr_assert_eq(peer.ss_family, b->family, "peer family %d", peer.ss_family);
		if (b->family == AF_INET)
			cr_assert_eq(((struct sockaddr_in *)&peer)->sin_addr.s_addr,
				     ((struct sockaddr_in *)&want)->sin_addr.s_addr,
				     "peer address is not %s", laddr);
		else
			cr_assert_eq(memcmp(&((struct sockaddr_in6 *)&peer)->sin6_addr,
					    &((struct sockaddr_in6 *)&want)->sin6_addr, 16), 0,
				     "peer address is not %s", laddr);
	}

	zi_xfer_zsock(zfd, &b->z);
	cr_assert(zt_join(th, b->deadline_ms + 10000), "Linux side hangs");
	zt_close(zfd);
	close(le.fd);

	fprintf(stderr, "timing: %s: %lld ms (zsock sent %llu, received %llu; "
		"%.0f KiB/s)\n", b->label, (long long)(zt_now_ms() - t0),
		(unsigned long long)b->z.sent, (unsigned long long)b->z.received,
		(double)(b->z.sent + b->z.received) / 1024.0 /
			((double)(zt_now_ms() - t0 + 1) / 1000.0));

	check_side("zsock", &b->z);
	check_side("linux", &b->l);
	cr_assert_eq(b->z.sent, b->zsock_sends, "zsock sent %llu of %llu",
		     (unsigned long long)b->z.sent, (unsigned long long)b->zsock_sends);
	cr_assert_eq(b->l.sent, b->linux_sends, "linux sent %llu of %llu",
		     (unsigned long long)b->l.sent, (unsigned long long)b->linux_sends);
	cr_assert_eq(b->l.received, b->z.sent, "Linux received %llu of %llu bytes",
		     (unsigned long long)b->l.received, (unsigned long long)b->z.sent);
	cr_assert_eq(b->z.received, b->l.sent, "zsock received %llu of %llu bytes",
		     (unsigned long long)b->z.received, (unsigned long long)b->l.sent);
	cr_assert_eq(b->l.rx_crc, b->z.tx_crc, "zsock->Linux CRC %08x != %08x",
		     b->l.rx_crc, b->z.tx_crc);
	cr_assert_eq(b->z.rx_crc, b->l.tx_crc, "Linux->zsock CRC %08x != %08x",
		     b->z.rx_crc, b->l.tx_crc);
}
