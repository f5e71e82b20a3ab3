/*
 * bench_lwip: the workloads on lwIP 2.1.3's own sockets API ("lwip-sock"),
 * as Debian builds it (liblwip0 / liblwip-dev): the socket layer zsock
 * replaces, on the same lwIP version.
 *
 * Debian's build (its lwipopts.h, made for the Hurd): NO_SYS=0 with a
 * tcpip thread and LWIP_TCPIP_CORE_LOCKING=1, so lwip_send() and friends
 * run the protocol in the calling thread under the core lock, and the
 * tcpip thread handles input and timers. LWIP_NETIF_LOOPBACK=1 but
 * LWIP_HAVE_LOOPIF=0: there is no built-in loopback interface, so init
 * adds one for 127.0.0.1/8 shaped like lwIP's own loopif (output through
 * netif_loop_output(), which copies each packet and hands it to the tcpip
 * thread). Checksums are computed on it: Debian's build has no per-netif
 * checksum control (zsock's loopback skips them).
 *
 * Sockets: lwipopts.h leaves MEMP_NUM_NETCONN at lwIP's default of 4, but
 * Debian's patch "max_sockets" adds LWIP_SOCKET_OPEN_COUNT=1, which keeps
 * the sockets in a heap-allocated list instead of that array: any number
 * of sockets, found by walking the list (every socket call costs a scan
 * over the sockets that exist, which the poll workload shows).
 *
 * --netif tap:NAME,ip=A.B.C.D/LEN,gw=A.B.C.D attaches the existing TAP
 * device NAME through a minimal netif of this file, not Debian's tapif:
 * that one receives into PBUF_POOL pbufs, and in Debian's liblwip a pool
 * element holds 592 payload bytes while pbuf_alloc() fills up to
 * PBUF_POOL_BUFSIZE (1536) into one, so every frame above 592 bytes
 * overruns the heap (valgrind: "invalid write ... after a block of size
 * 616"; the process dies in malloc). This netif reads each frame straight
 * into a PBUF_RAM pbuf (one copy, the kernel's) and sends with writev()
 * from the pbuf chain, like zsock's TAP netif; a reader thread feeds
 * tcpip_input().
 *
 * lwIP's headers include the host's socket headers here (Debian sets
 * LWIP_SOCKET_EXTERNAL_HEADERS to posix/sockets.h), so struct sockaddr_in,
 * struct pollfd, O_NONBLOCK and TCP_NODELAY are the host's; this file is
 * the only one that includes lwIP.
 */
#include "bench.h"

#include <lwip/api.h>
#include <lwip/etharp.h>
#include <lwip/ethip6.h>
#include <lwip/netif.h>
#include <lwip/priv/sockets_priv.h>
#include <lwip/sockets.h>
#include <lwip/sys.h>
#include <lwip/tcp.h>
#include <lwip/tcpip.h>
#include <lwip/udp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define TAP_FRAME_MAX 1518   /* Ethernet with a VLAN tag, no FCS */

static struct netif lo_netif, tap_netif;
static int tap_fd = -1;

static err_t lo_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
	(void)dst;
	return netif_loop_output(nif, p);
}

/* lwIP's netif_loopif_init(), which Debian's build leaves out */
static err_t lo_init(struct netif *nif)
{
	nif->name[0] = 'l';
	nif->name[1] = 'o';
	nif->output = lo_output;
	return ERR_OK;
}

static void tcpip_ready(void *arg)
{
	sys_sem_signal((sys_sem_t *)arg);
}

/* ---- the TAP netif ---------------------------------------------------------------- */

/* Any thread holding the core (lwIP's rule for linkoutput). */
static err_t tap_linkoutput(struct netif *nif, struct pbuf *p)
{
	struct iovec iov[16];
	uint8_t flat[TAP_FRAME_MAX];
	struct pbuf *q;
	int n = 0;

	(void)nif;
	for (q = p; q != NULL && n < 16; q = q->next)
		iov[n++] = (struct iovec){ .iov_base = q->payload, .iov_len = q->len };
	if (q != NULL) {	/* a long chain: flatten it (rare) */
		if (p->tot_len > sizeof(flat))
			return ERR_IF;
		pbuf_copy_partial(p, flat, p->tot_len, 0);
		iov[0] = (struct iovec){ .iov_base = flat, .iov_len = p->tot_len };
		n = 1;
	}
	return writev(tap_fd, iov, n) == (ssize_t)p->tot_len ? ERR_OK : ERR_IF;
}

/* The reader thread: one frame per read(), into a pbuf of its own. */
static void *tap_reader(void *arg)
{
	struct netif *nif = arg;

	for (;;) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, TAP_FRAME_MAX, PBUF_RAM);
		ssize_t n;

		if (p == NULL) {
			usleep(1000);
			continue;
		}
		n = read(tap_fd, p->payload, TAP_FRAME_MAX);
		if (n <= 0) {
			pbuf_free(p);
			if (n < 0 && errno == EINTR)
				continue;
			perror("bench_lwip: TAP read");
			return NULL;
		}
		pbuf_realloc(p, (u16_t)n);
		if (nif->input(p, nif) != ERR_OK)
			pbuf_free(p);
	}
}

/* netif_add() init: the device was opened by lw_init() */
static err_t tap_netif_init(struct netif *nif)
{
	static const u8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x4c, 0x57 };

	nif->name[0] = 't';
	nif->name[1] = 'p';
	nif->output = etharp_output;
	nif->output_ip6 = ethip6_output;
	nif->linkoutput = tap_linkoutput;
	nif->mtu = 1500;
	nif->hwaddr_len = 6;
	memcpy(nif->hwaddr, mac, 6);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

	tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tap_fd < 0) {
		perror("bench_lwip: /dev/net/tun");
		return -1;
	}
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "bench_lwip: TAP name too long: %s\n", name);
		return -1;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(tap_fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "bench_lwip: attaching TAP %s: %s\n", name, strerror(errno));
		close(tap_fd);
		tap_fd = -1;
		return -1;
	}
	return 0;
}

/* "tap:NAME,ip=A.B.C.D/LEN,gw=A.B.C.D" into its parts; 0 or -1. */
static int parse_tap(const char *spec, char *name, size_t name_len, ip4_addr_t *ip,
		     ip4_addr_t *mask, ip4_addr_t *gw)
{
	char buf[128], *save = NULL, *tok;
	int have_ip = 0;

	if (strncmp(spec, "tap:", 4) != 0 || strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec + 4);
	ip4_addr_set_zero(gw);
	tok = strtok_r(buf, ",", &save);
	if (tok == NULL || strlen(tok) >= name_len)
		return -1;
	strcpy(name, tok);
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		if (strncmp(tok, "ip=", 3) == 0) {
			char *slash = strchr(tok, '/');
			int len = slash != NULL ? atoi(slash + 1) : 24;

			if (slash != NULL)
				*slash = '\0';
			if (!ip4addr_aton(tok + 3, ip) || len < 1 || len > 32)
				return -1;
			ip4_addr_set_u32(mask, lwip_htonl(len == 32 ? 0xffffffffu : ~(0xffffffffu >> len)));
			have_ip = 1;
		} else if (strncmp(tok, "gw=", 3) == 0) {
			if (!ip4addr_aton(tok + 3, gw))
				return -1;
		} else {
			return -1;
		}
	}
	return have_ip ? 0 : -1;
}

static int lw_init(const char *netif)
{
	ip4_addr_t ip, mask, gw;
	char name[32];
	sys_sem_t ready;

	if (netif != NULL && parse_tap(netif, name, sizeof(name), &ip, &mask, &gw) < 0) {
		fprintf(stderr, "bench_lwip: cannot read --netif %s\n", netif);
		return -1;
	}
	if (sys_sem_new(&ready, 0) != ERR_OK)
		return -1;
	tcpip_init(tcpip_ready, &ready);
	sys_sem_wait(&ready);
	sys_sem_free(&ready);

	LOCK_TCPIP_CORE();
	IP4_ADDR(&ip, 127, 0, 0, 1);
	IP4_ADDR(&mask, 255, 0, 0, 0);
	if (netif_add(&lo_netif, &ip, &mask, &ip, NULL, lo_init, tcpip_input) == NULL) {
		UNLOCK_TCPIP_CORE();
		fprintf(stderr, "bench_lwip: netif_add(loopback) failed\n");
		return -1;
	}
	netif_set_link_up(&lo_netif);
	netif_set_up(&lo_netif);
	netif_set_default(&lo_netif);
	UNLOCK_TCPIP_CORE();

	if (netif != NULL) {
		pthread_t th;

		/* parse again: ip was reused for the loopback above */
		parse_tap(netif, name, sizeof(name), &ip, &mask, &gw);
		if (tap_open(name) < 0)
			return -1;
		LOCK_TCPIP_CORE();
		if (netif_add(&tap_netif, &ip, &mask, &gw, NULL, tap_netif_init, tcpip_input) == NULL) {
			UNLOCK_TCPIP_CORE();
			fprintf(stderr, "bench_lwip: netif_add(%s) failed\n", netif);
			return -1;
		}
		netif_set_link_up(&tap_netif);
		netif_set_up(&tap_netif);
		netif_set_default(&tap_netif);
		UNLOCK_TCPIP_CORE();
		if (pthread_create(&th, NULL, tap_reader, &tap_netif) != 0)
			return -1;
		pthread_detach(th);
	}
	return 0;
}

static const char *lw_cannot_hold(int nsockets)
{
#if LWIP_SOCKET_OPEN_COUNT
	/* Debian: sockets live on the heap, without a limit */
	(void)nsockets;
	return NULL;
#else
	static char why[128];

	if (nsockets <= NUM_SOCKETS)
		return NULL;
	snprintf(why, sizeof(why), "needs %d sockets; this liblwip has %d (MEMP_NUM_NETCONN)",
		 nsockets, NUM_SOCKETS);
	return why;
#endif
}

static int lw_socket(int type)
{
	return lwip_socket(AF_INET, type, 0);
}

static int lw_bind(int fd, const struct sockaddr_in *sa)
{
	return lwip_bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
}

static int lw_accept(int fd)
{
	return lwip_accept(fd, NULL, NULL);
}

static int lw_connect(int fd, const struct sockaddr_in *sa)
{
	return lwip_connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
}

static int lw_local_addr(int fd, struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);

	return lwip_getsockname(fd, (struct sockaddr *)sa, &len);
}

static ssize_t lw_send(int fd, const void *buf, size_t len)
{
	return lwip_send(fd, buf, len, 0);
}

static ssize_t lw_recv(int fd, void *buf, size_t len)
{
	return lwip_recv(fd, buf, len, 0);
}

static int lw_poll(struct pollfd *fds, int nfds, int timeout_ms)
{
	return lwip_poll(fds, (nfds_t)nfds, timeout_ms);
}

static int lw_shutdown_wr(int fd)
{
	return lwip_shutdown(fd, SHUT_WR);
}

static int lw_set_nonblocking(int fd, bool on)
{
	return lwip_fcntl(fd, F_SETFL, on ? O_NONBLOCK : 0);
}

static int lw_set_nodelay(int fd)
{
	int one = 1;

	return lwip_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Sizes from the headers (Debian allocates these from the heap, as
 * MEMP_MEM_MALLOC=1): a lower bound, without the mailboxes and semaphores
 * its port allocates for each netconn. */
static void lw_footprint(void)
{
	static const char *const impl = "lwip-sock";
	unsigned sock = (unsigned)(sizeof(struct lwip_sock) + sizeof(struct netconn));

	bench_result(impl, "footprint", "-", "socket_bytes", sock, "B");
	bench_result(impl, "footprint", "-", "tcp_conn_bytes", sock + sizeof(struct tcp_pcb), "B");
	bench_result(impl, "footprint", "-", "udp_socket_bytes", sock + sizeof(struct udp_pcb), "B");
	bench_result(impl, "footprint", "-", "tcp_pcb_bytes", sizeof(struct tcp_pcb), "B");
}

static const struct bench_impl lwip_impl = {
	.name = "lwip-sock",
	.init = lw_init,
	.cannot_hold = lw_cannot_hold,
	.socket = lw_socket,
	.bind = lw_bind,
	.listen = lwip_listen,
	.accept = lw_accept,
	.connect = lw_connect,
	.local_addr = lw_local_addr,
	.send = lw_send,
	.recv = lw_recv,
	.poll = lw_poll,
	.shutdown_wr = lw_shutdown_wr,
	.close = lwip_close,
	.set_nonblocking = lw_set_nonblocking,
	.set_nodelay = lw_set_nodelay,
	.footprint = lw_footprint,
};

int main(int argc, char **argv)
{
	const struct bench_impl *impls[] = { &lwip_impl };

	return bench_main(argc, argv, impls, 1);
}
