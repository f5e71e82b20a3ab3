/* Interop fixture: namespace, TAP, helper programs; see netns.h. */
#define _GNU_SOURCE
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zsock/engine.h>

extern char **environ;

#define NS_PREFIX "zsock-t-"
#define PEER_PREFIX "zsock-p-"
#define NETNS_DIR "/run/netns"

/* One test per process, so plain statics are this test's state. */
static char ns_name[32];
static bool ns_made;
static char peer_name[32];
static bool peer_made;
static bool engine_attached;

struct prog {
	pid_t pid;          /* 0: slot free */
	int out;            /* read end of its stdout */
	char *buf;          /* everything read so far, NUL-terminated */
	size_t len, cap;
};
static struct prog progs[ZI_PROG_MAX];

const char *zi_ns_name(void)
{
	return ns_name;
}

/* ---- running commands ------------------------------------------------------ */

/* Spawn argv with stdout to out_fd (or stderr when out_fd < 0); stdin from
 * /dev/null. Returns the pid or -1. posix_spawn, not fork: the engine's
 * threads may hold locks a forked child would inherit. */
static pid_t spawn(char *const argv[], int out_fd, int close_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : 2, 1);
	if (close_fd >= 0)
		posix_spawn_file_actions_addclose(&fa, close_fd);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* argv for "ip netns exec NS sh -c CMD" (or plain "sh -c CMD" before the
 * namespace exists). */
static int run_cmd(const char *cmd, int out_fd, int close_fd, pid_t *pid_out)
{
	char *argv[8];
	int n = 0;
	pid_t pid;

	if (ns_made) {
		argv[n++] = "ip";
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = ns_name;
	}
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = (char *)cmd;
	argv[n] = NULL;
	pid = spawn(argv, out_fd, close_fd);
	if (pid < 0)
		return -1;
	*pid_out = pid;
	return 0;
}

static int vsh(const char *fmt, va_list ap)
{
	char *cmd;
	pid_t pid;
	int rc;

	if (vasprintf(&cmd, fmt, ap) < 0)
		return -1;
	fprintf(stderr, "[%s] $ %s\n", ns_name, cmd);
	rc = run_cmd(cmd, -1, -1, &pid);
	free(cmd);
	return rc < 0 ? -1 : wait_status(pid);
}

int zi_sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(fmt, ap);
	va_end(ap);
	return rc;
}

void zi_sh_ok(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = zi_sh("%s", cmd);
	cr_assert_eq(rc, 0, "command failed (status %d): %s", rc, cmd);
}

/* Append everything readable from fd (blocking until EOF when wait_eof,
 * else until poll says nothing more within wait_ms). */
static void slurp(struct prog *p, int wait_ms, bool wait_eof)
{
	int64_t end = zt_now_ms() + wait_ms;

	for (;;) {
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		int64_t left = end - zt_now_ms();
		ssize_t n;

		if (p->out < 0)
			return;
		if (!wait_eof && left <= 0)
			return;
		if (poll(&pfd, 1, wait_eof ? 1000 : (int)left) <= 0) {
			if (wait_eof && zt_now_ms() < end)
				continue;
			return;
		}
		if (p->cap - p->len < 1024) {
			p->cap = p->cap * 2 + 4096;
			p->buf = realloc(p->buf, p->cap);
			if (p->buf == NULL)
				abort();
		}
		n = read(p->out, p->buf + p->len, p->cap - p->len - 1);
		if (n <= 0) {
			close(p->out);
			p->out = -1;
			return;
		}
		p->len += (size_t)n;
		p->buf[p->len] = '\0';
		if (!wait_eof)
			return;
	}
}

char *zi_sh_output(int *status, const char *fmt, ...)
{
	struct prog p = { .out = -1 };
	char *cmd;
	va_list ap;
	int fds[2], rc;
	pid_t pid;

	va_start(ap, fmt);
	rc = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return NULL;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(cmd);
		return NULL;
	}
	rc = run_cmd(cmd, fds[1], fds[0], &pid);
	free(cmd);
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		return NULL;
	}
	p.out = fds[0];
	slurp(&p, 60000, true);
	if (p.out >= 0)
		close(p.out);
	rc = wait_status(pid);
	if (status != NULL)
		*status = rc;
	if (p.buf == NULL)
		p.buf = strdup("");
	return p.buf;
}

/* ---- skipping ------------------------------------------------------------- */

void zi_skip(const char *why)
{
	const char *req = getenv("ZSOCK_TEST_REQUIRE_INTEROP");

	zi_fini();
	if (req != NULL && strcmp(req, "1") == 0)
		cr_assert_fail("ZSOCK_TEST_REQUIRE_INTEROP=1 but: %s", why);
	fprintf(stderr, "\n*** skipped: %s ***\n\n", why);
	cr_skip_test("skipped: %s", why);
	abort();	/* not reached */
}

/* ---- namespace ------------------------------------------------------------- */

/* Delete namespaces left by test processes that died before their fini. */
static void delete_stale(void)
{
	DIR *d = opendir(NETNS_DIR);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;

		/* the prefixes have the same length */
		if (strncmp(e->d_name, NS_PREFIX, strlen(NS_PREFIX)) != 0 &&
		    strncmp(e->d_name, PEER_PREFIX, strlen(PEER_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(NS_PREFIX), &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		fprintf(stderr, "interop: deleting stale namespace %s\n", e->d_name);
		zi_sh("ip netns delete %s", e->d_name);
	}
	closedir(d);
}

/* The engine's attach gives zt0 its carrier, but Linux turns the link on
 * (operstate UP, a real queueing discipline in place of the one that
 * discards everything) a little later, in its link-watch work. Until then
 * Linux drops what it sends on zt0, e.g. the reply to the engine's first
 * ARP request, and a test would start with a one-second retry. */
static void wait_link_up(void)
{
	int64_t end = zt_now_ms() + 5000;

	for (;;) {
		char *out = zi_sh_output(NULL, "ip -o link show dev " ZI_TAP);
		bool up = out != NULL && strstr(out, "state UP") != NULL;

		free(out);
		if (up)
			return;
		cr_assert_lt(zt_now_ms(), end, "Linux never saw " ZI_TAP " up after the engine attached");
		zt_sleep_ms(10);
	}
}

void zi_up(void)
{
	char path[64];
	int fd, rc;

	if (geteuid() != 0)
		zi_skip("interop tests need root (network namespaces, TAP)");
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		zi_skip("/dev/net/tun is missing");
	if (zi_sh("ip -V >/dev/null") != 0)
		zi_skip("ip(8) from iproute2 is missing");
	delete_stale();

	snprintf(ns_name, sizeof(ns_name), NS_PREFIX "%d", (int)getpid());
	zi_sh("ip netns delete %s 2>/dev/null", ns_name);
	if (zi_sh("ip netns add %s", ns_name) != 0)
		zi_skip("cannot create a network namespace (ip netns add)");
	ns_made = true;
	if (zi_sh("ip tuntap add dev " ZI_TAP " mode tap") != 0)
		zi_skip("cannot create a TAP device (ip tuntap add)");
	zi_sh_ok("ip link set lo up && "
		 "ip addr add " ZI_LINUX_IP4 "/24 dev " ZI_TAP " && "
		 "ip -6 addr add " ZI_LINUX_IP6 "/64 dev " ZI_TAP " nodad && "
		 "ip link set " ZI_TAP " up");

	/* This thread moves; the engine's reactor, started below, follows. */
	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	cr_assert_eq(rc, 0, "setns(%s): %s", path, strerror(errno));

	engine_attached = true;
	rc = zsock_engine_add_netif("tap:" ZI_TAP ",ip=" ZI_ENGINE_IP4 "/24,gw=" ZI_LINUX_IP4
				    ",ip6=" ZI_ENGINE_IP6 "/64");
	cr_assert_eq(rc, 0, "zsock_engine_add_netif: %s", strerror(errno));
	wait_link_up();
}

void zi_leak_check(void)
{
	if (engine_attached)
		zt_leak_check();
}

void zi_fini(void)
{
	for (int h = 0; h < ZI_PROG_MAX; h++) {
		if (progs[h].pid > 0)
			free(zi_prog_stop(h, NULL));
	}
	if (ns_made) {
		/* from outside: "ip netns exec" runs in a private mount namespace,
		 * where unmounting the namespace file would not reach ours */
		ns_made = false;
		if (peer_made) {
			peer_made = false;
			zi_sh("ip netns delete %s", peer_name);
		}
		zi_sh("ip netns delete %s", ns_name);
	}
}

/* ---- a routed peer ------------------------------------------------------------ */

const char *zi_peer_ns(void)
{
	return peer_name;
}

void zi_peer_up(void)
{
	int rc;

	cr_assert(ns_made, "zi_peer_up before zi_up");
	snprintf(peer_name, sizeof(peer_name), PEER_PREFIX "%d", (int)getpid());
	/* "ip netns add" from this process's mount namespace, not from within
	 * "ip netns exec" (whose private mounts would take the name with them) */
	ns_made = false;
	zi_sh("ip netns delete %s 2>/dev/null", peer_name);
	rc = zi_sh("ip netns add %s", peer_name);
	ns_made = true;
	cr_assert_eq(rc, 0, "ip netns add %s failed", peer_name);
	peer_made = true;
	/* the veth pair starts in the test namespace; one end moves */
	zi_sh_ok("ip link add " ZI_PEER_DEV " type veth peer name zp0 netns %s", peer_name);
	zi_sh_ok("ip addr add " ZI_ROUTER_IP4 "/24 dev " ZI_PEER_DEV " && "
		 "ip link set " ZI_PEER_DEV " up && sysctl -qw net.ipv4.ip_forward=1");
	zi_sh_ok("ip netns exec %s sh -c 'ip link set lo up && "
		 "ip addr add " ZI_PEER_IP4 "/24 dev zp0 && ip link set zp0 gso_max_segs 1 && "
		 "ip link set zp0 up && ip route add default via " ZI_ROUTER_IP4 "'", peer_name);
}

int zi_peer_enter(void)
{
	char path[64];
	int old, fd, rc;

	old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), NETNS_DIR "/%s", peer_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (old < 0 || fd < 0) {
		if (old >= 0)
			close(old);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	if (rc != 0) {
		close(old);
		return -1;
	}
	return old;
}

void zi_peer_leave(int fd)
{
	if (fd < 0)
		return;
	if (setns(fd, CLONE_NEWNET) != 0)
		abort();	/* a thread left in the wrong namespace: stop here */
	close(fd);
}

socklen_t zi_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':') == NULL) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, addr, &in->sin_addr), 1, "bad address %s", addr);
		return sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1, "bad address %s", addr);
		return sizeof(*in6);
	}
}

/* ---- helper programs ------------------------------------------------------ */

int zi_prog_start(char *const argv[])
{
	char *full[16];
	int fds[2], h, n = 0;
	pid_t pid;

	cr_assert(ns_made, "zi_prog_start before zi_up");
	for (h = 0; h < ZI_PROG_MAX && progs[h].pid != 0; h++)
		;
	cr_assert_lt(h, ZI_PROG_MAX, "too many helper programs");
	full[n++] = "ip";
	full[n++] = "netns";
	full[n++] = "exec";
	full[n++] = ns_name;
	for (int i = 0; argv[i] != NULL; i++) {
		cr_assert_lt(n, 15, "too many arguments");
		full[n++] = argv[i];
	}
	full[n] = NULL;
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
	pid = spawn(full, fds[1], fds[0]);
	close(fds[1]);
	cr_assert_gt(pid, 0, "spawn %s: %s", argv[0], strerror(errno));
	progs[h] = (struct prog){ .pid = pid, .out = fds[0] };
	return h;
}

static bool has_line(const struct prog *p, const char *prefix)
{
	const char *s = p->buf;
	size_t k = strlen(prefix);

	while (s != NULL && *s != '\0') {
		const char *nl = strchr(s, '\n');

		if (nl == NULL)
			return false;	/* only complete lines count */
		if ((size_t)(nl - s) >= k && strncmp(s, prefix, k) == 0)
			return true;
		s = nl + 1;
	}
	return false;
}

bool zi_prog_wait_line(int h, const char *prefix, int wait_ms)
{
	struct prog *p = &progs[h];
	int64_t end = zt_now_ms() + wait_ms;

	while (!(p->buf != NULL && has_line(p, prefix))) {
		int64_t left = end - zt_now_ms();

		if (left <= 0 || p->out < 0)
			return false;
		slurp(p, (int)left, false);
	}
	return true;
}

char *zi_prog_stop(int h, int *status)
{
	struct prog *p = &progs[h];
	int64_t end;
	int st = -1, rc;
	char *out;

	if (p->pid <= 0) {
		if (status != NULL)
			*status = -1;
		return strdup("");
	}
	kill(p->pid, SIGTERM);
	end = zt_now_ms() + 5000;
	while ((rc = waitpid(p->pid, &st, WNOHANG)) == 0 && zt_now_ms() < end) {
		slurp(p, 20, false);
	}
	if (rc == 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
		st = -1;
	} else if (rc > 0) {
		st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	slurp(p, 2000, true);
	if (p->out >= 0)
		close(p->out);
	out = p->buf != NULL ? p->buf : strdup("");
	*p = (struct prog){ .out = -1 };
	if (status != NULL)
		*status = st;
	return out;
}

/* ---- iptables ------------------------------------------------------------- */

long long zi_ipt_packets(const char *chain, const char *target)
{
	char *out, *line, *save = NULL;
	long long sum = 0;
	int st, row = 0;

	out = zi_sh_output(&st, "iptables -L %s -v -x -n", chain);
	if (out == NULL || st != 0) {
		free(out);
		return -1;
	}
	/* "Chain X (policy ...)", the column titles, then one rule a line:
	 * pkts bytes target prot opt in out source destination [extra] */
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		long long pkts, bytes;
		char tgt[32];

		if (row++ < 2)
			continue;
		if (sscanf(line, "%lld %lld %31s", &pkts, &bytes, tgt) == 3 &&
		    strcmp(tgt, target) == 0)
			sum += pkts;
	}
	free(out);
	return sum;
}
