/*
 * Fuzz target sockopt: option values from the caller, every socket kind.
 *
 * Once per process: sockets of each kind zsock has, left open: TCP
 * (fresh, listening, connected), UDP (v4, v6), TLS (fresh, listening),
 * a socketpair end, a dispatcher socket and, when built, a hostsock one.
 * Each input is a sequence of steps (at most MAX_STEPS), each
 *
 *   kind (1 byte) | op (1) | level (1) | name (2) | len (2) | len bytes
 *
 * op even: zsock_setsockopt(fd, level, name, bytes, len), the value in a
 * heap block of exactly len bytes (NULL, whatever len, one time in four); not
 * for TLS_ALPN_LIST, whose value is an array of the caller's pointers;
 * op odd: zsock_getsockopt into a heap block of exactly len bytes, optlen
 * len (NULL value or NULL optlen now and then). level picks one of the
 * levels zsock knows, or the raw byte. What must hold: no crash, no
 * sanitizer report; the call returns 0 or -1 with an errno from the set
 * the headers give for options (any errno for hostsock, which passes the
 * host's on, and for the dispatcher socket, which may become one); a get writes nothing past the room it was given (the value
 * block is exactly that size, so ASan sees any byte more).
 */
#include <zsock/socket.h>
#include <zsock/socket_offload.h>
#if CONFIG_ZSOCK_HOSTSOCK
#include <zsock/hostsock.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_STEPS 32
#define MAX_LEN 600

enum { K_TCP, K_LISTEN, K_CONN, K_UDP, K_UDP6, K_TLS, K_TLS_LISTEN, K_PAIR, K_DISP, K_HOST, K_N };

static int fds[K_N];

static const int levels[] = {
	SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, SOL_TLS, IPPROTO_UDP,
};

static bool errno_ok(int e)
{
	switch (e) {
	case EINVAL: case ENOPROTOOPT: case EFAULT: case EDOM: case ENOTCONN:
	case EOPNOTSUPP: case ENODEV: case EADDRNOTAVAIL: case ENOBUFS: case EISCONN:
	case EAFNOSUPPORT: case ENOMEM: case EPROTONOSUPPORT: case EADDRINUSE:
	case EPERM: case EACCES: case ENOTSOCK: case ENOENT: case EALREADY: case EPROTO:
		return true;
	default:
		return false;
	}
}

static int must(int fd, const char *what)
{
	FZ_CHECK(fd >= 0, "%s: errno %d", what, errno);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int pair[2], i;

	(void)argc;
	(void)argv;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[K_TCP] = must(zsock_socket(AF_INET, SOCK_STREAM, 0), "tcp");
	fds[K_LISTEN] = must(zsock_socket(AF_INET, SOCK_STREAM, 0), "listener");
	FZ_CHECK(zsock_bind(fds[K_LISTEN], (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind");
	FZ_CHECK(zsock_listen(fds[K_LISTEN], 4) == 0, "listen");
	FZ_CHECK(zsock_getsockname(fds[K_LISTEN], (struct sockaddr *)&sa, &len) == 0, "name");
	fds[K_CONN] = must(zsock_socket(AF_INET, SOCK_STREAM, 0), "client");
	FZ_CHECK(zsock_connect(fds[K_CONN], (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
	fds[K_UDP] = must(zsock_socket(AF_INET, SOCK_DGRAM, 0), "udp");
	fds[K_UDP6] = must(zsock_socket(AF_INET6, SOCK_DGRAM, 0), "udp6");
	fds[K_TLS] = must(zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), "tls");
	fds[K_TLS_LISTEN] = must(zsock_socket(AF_INET6, SOCK_STREAM, IPPROTO_TLS_1_2), "tls6");
	FZ_CHECK(zsock_listen(fds[K_TLS_LISTEN], 2) == 0, "tls listen");
	FZ_CHECK(zsock_socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0, "socketpair");
	fds[K_PAIR] = pair[0];
	fds[K_DISP] = must(zsock_dispatcher_socket(AF_INET, SOCK_DGRAM, 0), "dispatcher");
#if CONFIG_ZSOCK_HOSTSOCK
	fds[K_HOST] = must(zsock_hostsock_socket(AF_INET, SOCK_DGRAM, 0), "hostsock");
#else
	fds[K_HOST] = fds[K_UDP];
#endif
	for (i = 0; i < K_N; i++)
		zsock_fcntl(fds[i], F_SETFL, O_NONBLOCK); /* nothing here may block */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	int step;

	for (step = 0; step < MAX_STEPS && in.n > 0; step++) {
		int kind = fz_u8(&in) % K_N, fd = fds[kind];
		uint8_t op = fz_u8(&in), lv = fz_u8(&in);
		int level = lv < 6 * 40 ? levels[lv % 6] : lv;
		int name = fz_u16(&in);
		size_t len = fz_u16(&in) % (MAX_LEN + 1);
		unsigned char *buf = malloc(len > 0 ? len : 1);
		socklen_t optlen = (socklen_t)len;
		int rc;

		FZ_CHECK(buf != NULL, "malloc");
		fz_bytes(&in, buf, len);
		errno = 0;
		if (!(op & 1) && level == SOL_TLS && name == TLS_ALPN_LIST) {
			/* its value is an array of the caller's string pointers:
			 * input bytes as pointers would be the caller's fault */
			free(buf);
			continue;
		}
		if (!(op & 1)) {
			const void *val = (op & 6) == 0 ? NULL : buf;

			rc = zsock_setsockopt(fd, level, name, val, optlen);
		} else {
			void *val = (op & 6) == 2 ? NULL : buf;
			socklen_t *lp = (op & 6) == 4 ? NULL : &optlen;

			/* writing past len is what ASan would catch (the block is
			 * exactly len bytes); the length reported may be the
			 * value's full size (SO_SOCKS5 gives an address back as
			 * getsockname does, truncated, with its full length) */
			rc = zsock_getsockopt(fd, level, name, val, lp);
		}
		/* hostsock hands the host's errno back as it is (<zsock/hostsock.h>),
		 * and the dispatcher socket may have become one (SO_BINDTODEVICE host) */
		FZ_CHECK(rc == 0 || (rc == -1 && (kind == K_HOST || kind == K_DISP ? errno > 0 :
						  errno_ok(errno))),
			 "%ssockopt(kind fd %d, level %d, name %d, len %zu) = %d, errno %d",
			 (op & 1) ? "get" : "set", fd, level, name, len, rc, errno);
		free(buf);
	}
	return 0;
}
