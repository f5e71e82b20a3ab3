/*
 * bench_linux: the workloads on the Linux kernel's sockets ("linux"), the
 * host's upper bound. Also the peer of the runs over TAP and veth
 * (--serve).
 *
 * The kernel's fds share the process's RLIMIT_NOFILE with everything
 * else; init raises the soft limit to the hard one so that the poll
 * workload's 2N + 1 sockets fit.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int lx_init(const char *netif)
{
	struct rlimit rl;

	if (netif != NULL) {
		fprintf(stderr, "bench_linux: --netif is for the user-space stacks; "
				"the kernel routes by itself\n");
		return -1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

static const char *lx_cannot_hold(int nsockets)
{
	static char why[128];
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)nsockets + 16) {
		snprintf(why, sizeof(why), "needs %d fds; RLIMIT_NOFILE is %llu", nsockets + 16,
			 (unsigned long long)rl.rlim_cur);
		return why;
	}
	return NULL;
}

static int lx_socket(int type)
{
	return socket(AF_INET, type | SOCK_CLOEXEC, 0);
}

static int lx_bind(int fd, const struct sockaddr_in *sa)
{
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
}

static int lx_listen(int fd, int backlog)
{
	return listen(fd, backlog);
}

static int lx_accept(int fd)
{
	return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

static int lx_connect(int fd, const struct sockaddr_in *sa)
{
	return connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
}

static int lx_local_addr(int fd, struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);

	return getsockname(fd, (struct sockaddr *)sa, &len);
}

static ssize_t lx_send(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t lx_recv(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, 0);
}

static int lx_poll(struct pollfd *fds, int nfds, int timeout_ms)
{
	return poll(fds, (nfds_t)nfds, timeout_ms);
}

static int lx_shutdown_wr(int fd)
{
	return shutdown(fd, SHUT_WR);
}

static int lx_set_nonblocking(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static int lx_set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static const struct bench_impl linux_impl = {
	.name = "linux",
	.init = lx_init,
	.cannot_hold = lx_cannot_hold,
	.socket = lx_socket,
	.bind = lx_bind,
	.listen = lx_listen,
	.accept = lx_accept,
	.connect = lx_connect,
	.local_addr = lx_local_addr,
	.send = lx_send,
	.recv = lx_recv,
	.poll = lx_poll,
	.shutdown_wr = lx_shutdown_wr,
	.close = close,
	.set_nonblocking = lx_set_nonblocking,
	.set_nodelay = lx_set_nodelay,
};

int main(int argc, char **argv)
{
	const struct bench_impl *impls[] = { &linux_impl };

	return bench_main(argc, argv, impls, 1);
}
