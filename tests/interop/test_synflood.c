/*
 * A SYN flood against a zsock listener (docs/security.md), over the TAP of
 * a test namespace (netns.h):
 *
 *   spoofed_syns   from the Linux side of the TAP a raw socket sends
 *                  FLOOD_SYNS SYNs to the engine's listener, from spoofed
 *                  source addresses of the namespace's own subnet
 *                  (192.0.2.10 .. 192.0.2.249, owned by nobody: the
 *                  engine's ARP requests for them go unanswered, so its
 *                  SYN-ACKs die in the engine's ARP queue) and random
 *                  ports. Meanwhile and afterwards: lwIP's TCP PCBs never
 *                  exceed the pool and grow by at most the listener's
 *                  backlog, its heap and pbufs stay within their pools; a
 *                  connection made before the flood carries data during
 *                  it; another listener accepts a Linux client during it;
 *                  Linux clients of the flooded listener connect (during
 *                  the flood if the backlog lets them, otherwise once the
 *                  SYN_RCVD entries time out: the figures are printed);
 *                  after the flood every counter is back to its idle
 *                  value.
 *
 * lwIP 2.1.3 has no SYN cookies: a SYN_RCVD PCB counts against the
 * listener's backlog (TCP_LISTEN_BACKLOG) until the handshake completes or
 * TCP_SYN_RCVD_TIMEOUT (20 s) passes. Nothing leaves the namespace: the
 * spoofed addresses are on its own link and exist nowhere.
 */
#define _GNU_SOURCE
#include "netns.h"
#include "zt.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/zsock_config.h>

#define FLOOD_PORT 5001
#define OTHER_PORT 5002
#define FLOOD_SYNS 3000
#define FLOOD_MS 3000        /* spread over about this long */
#define BACKLOG 8

/* ---- the flood ------------------------------------------------------------------ */

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct flood {
	atomic_bool done;
	int sent;       /* SYNs the kernel took */
	int err;        /* errno of a failed send, 0 */
	int64_t t_start, t_end;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(FLOOD_PORT) };
	uint64_t rnd = 0x5eed5eedULL;
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	f->t_start = zt_now_ms();
	if (fd < 0) {
		f->err = errno;
		goto out;
	}
	inet_pton(AF_INET, ZI_ENGINE_IP4, &dst.sin_addr);
	for (int i = 0; i < FLOOD_SYNS; i++) {
		struct {
			struct iphdr ip;
			struct tcphdr tcp;
		} pkt;
		struct {
			uint32_t src, dst;
			uint8_t zero, proto;
			uint16_t len;
			struct tcphdr tcp;
		} ph;
		uint64_t r = zt_rand(&rnd);

		memset(&pkt, 0, sizeof(pkt));
		pkt.ip.version = 4;
		pkt.ip.ihl = 5;
		pkt.ip.ttl = 64;
		pkt.ip.protocol = IPPROTO_TCP;
		pkt.ip.tot_len = htons(sizeof(pkt));
		/* 192.0.2.10 .. 192.0.2.249: the test's own link, nobody's address */
		pkt.ip.saddr = htonl(0xc0000200u | (uint32_t)(10 + r % 240));
		pkt.ip.daddr = dst.sin_addr.s_addr;
		pkt.tcp.source = htons((uint16_t)(1024 + (r >> 8) % 60000));
		pkt.tcp.dest = htons(FLOOD_PORT);
		pkt.tcp.seq = htonl((uint32_t)(r >> 24));
		pkt.tcp.doff = 5;
		pkt.tcp.syn = 1;
		pkt.tcp.window = htons(64240);
		ph.src = pkt.ip.saddr;
		ph.dst = pkt.ip.daddr;
		ph.zero = 0;
		ph.proto = IPPROTO_TCP;
		ph.len = htons(sizeof(pkt.tcp));
		ph.tcp = pkt.tcp;
		pkt.tcp.check = htons(csum(&ph, sizeof(ph), 0));
		/* the kernel fills the IP checksum (IP_HDRINCL) */
		if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) ==
		    (ssize_t)sizeof(pkt))
			f->sent++;
		else if (f->err == 0)
			f->err = errno;
		if (i % 10 == 9) /* FLOOD_SYNS over about FLOOD_MS */
			zt_sleep_ms(FLOOD_MS * 10 / FLOOD_SYNS);
	}
	close(fd);
out:
	f->t_end = zt_now_ms();
	atomic_store(&f->done, true);
	return NULL;
}

/* ---- Linux clients ---------------------------------------------------------------- */

/* A non-blocking Linux connect to the engine at port. */
static int l_connect_start(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ZI_ENGINE_IP4, port, &ss);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "Linux socket: %s", strerror(errno));
	cr_assert(connect(fd, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS,
		  "Linux connect: %s", strerror(errno));
	return fd;
}

/* 1 connected, 0 still trying, -errno failed */
static int l_connect_state(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, 0) != 1)
		return 0;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err == 0 ? 1 : -err;
}

static int z_listener(uint16_t port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = zi_addr(ZI_ENGINE_IP4, port, &ss);
	int fd = zt_socket(AF_INET, SOCK_STREAM);

	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "zsock bind: %s",
		     strerror(errno));
	cr_assert_eq(zsock_listen(fd, backlog), 0, "zsock listen: %s", strerror(errno));
	return fd;
}

/* Accept the connection a Linux client made and carry a byte each way. */
static void serve_one(int lfd, int l)
{
	struct timeval tv = { .tv_sec = 5 };
	char b = 0;
	int z;

	cr_assert(zt_poll1(lfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, "the engine has nothing to accept");
	z = zsock_accept(lfd, NULL, NULL);
	cr_assert_geq(z, 0, "zsock accept: %s", strerror(errno));
	cr_assert_eq(zsock_setsockopt(z, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(fcntl(l, F_SETFL, 0), 0);
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(send(l, "x", 1, MSG_NOSIGNAL), 1);
	cr_assert_eq(zsock_recv(z, &b, 1, 0), 1, "zsock recv: %s", strerror(errno));
	cr_assert_eq(zsock_send(z, "y", 1, 0), 1);
	cr_assert_eq(recv(l, &b, 1, 0), 1, "Linux recv: %s", strerror(errno));
	cr_assert_eq(b, 'y');
	close(l);                 /* Linux closes first: no TIME_WAIT in the engine */
	cr_assert_eq(zsock_recv(z, &b, 1, 0), 0, "zsock recv after Linux's FIN: %s", strerror(errno));
	zt_close(z);
}

struct peak {
	uint32_t pcbs, mem, pbufs;
};

static void sample(struct peak *pk)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	if (st.lwip_tcp_pcbs > pk->pcbs)
		pk->pcbs = st.lwip_tcp_pcbs;
	if (st.lwip_mem_used > pk->mem)
		pk->mem = st.lwip_mem_used;
	if (st.lwip_pbuf_in_use > pk->pbufs)
		pk->pbufs = st.lwip_pbuf_in_use;
}

ZI_TEST(synflood, spoofed_syns, .timeout = 180)
{
	struct flood f = { 0 };
	struct zsock_engine_stats base, st;
	struct peak pk = { 0 };
	int lfd, ofd, za, zb, l_during, l_other, l_after = -1, rc;
	int64_t t_during = 0, t_after = 0, ok_during = -1, ok_after = -1, t_expired = -1, end;
	bool other_ok = false;
	char b;
	pthread_t t;

	zi_up();
	lfd = z_listener(FLOOD_PORT, BACKLOG);
	ofd = z_listener(OTHER_PORT, BACKLOG);
	zt_tcp_pair(AF_INET, &za, &zb); /* an established connection (loopback) */
	{
		/* and one over the TAP, made before the flood */
		int l = l_connect_start(OTHER_PORT);
		struct pollfd p = { .fd = l, .events = POLLOUT };

		cr_assert_eq(poll(&p, 1, 5000), 1, "Linux connect before the flood");
		serve_one(ofd, l);
	}
	/* idle figures: the listeners (their PCBs are of another pool) and the
	 * loopback pair's two PCBs; the TAP connection is gone (Linux closed
	 * first: no TIME_WAIT left in the engine) */
	end = zt_now_ms() + 5000;
	for (;;) {
		zt_stats(&base);
		if (base.lwip_tcp_pcbs == 2)
			break;
		cr_assert_lt(zt_now_ms(), end, "%u TCP PCBs before the flood, want the pair's 2",
			     base.lwip_tcp_pcbs);
		zt_sleep_ms(50);
	}
	fprintf(stderr, "idle: %u TCP PCBs, heap %u bytes, %u pbufs (pools: %d PCBs, %d heap "
		"bytes, %d pbufs)\n", base.lwip_tcp_pcbs, base.lwip_mem_used, base.lwip_pbuf_in_use,
		CONFIG_NET_MAX_CONN, CONFIG_LWIP_MEM_SIZE, CONFIG_LWIP_PBUF_POOL_SIZE);

	t = zt_spawn(flood_main, &f);
	zt_sleep_ms(500); /* the backlog is full by now */
	l_during = l_connect_start(FLOOD_PORT);
	t_during = zt_now_ms();
	l_other = l_connect_start(OTHER_PORT);
	while (!atomic_load(&f.done)) {
		sample(&pk);
		if (ok_during < 0 && l_connect_state(l_during) == 1)
			ok_during = zt_now_ms() - t_during;
		if (!other_ok && l_connect_state(l_other) == 1)
			other_ok = true;
		/* the established connection carries data during the flood */
		cr_assert_eq(zsock_send(za, "p", 1, 0), 1);
		cr_assert_eq(zsock_recv(zb, &b, 1, 0), 1);
		zt_sleep_ms(20);
	}
	cr_assert(zt_join(t, 10000), "flood thread");
	cr_assert_eq(f.err, 0, "raw socket: %s (%d SYNs sent)", strerror(f.err), f.sent);
	cr_assert_eq(f.sent, FLOOD_SYNS);
	fprintf(stderr, "flood: %d SYNs in %lld ms\n", f.sent, (long long)(f.t_end - f.t_start));
	cr_assert(other_ok || l_connect_state(l_other) == 1,
		  "another listener of the engine could not be reached during the flood");
	serve_one(ofd, l_other);

	/* after the flood: a fresh client, and the one that started during it */
	l_after = l_connect_start(FLOOD_PORT);
	t_after = zt_now_ms();
	end = zt_now_ms() + 90000;
	while (ok_during < 0 || ok_after < 0) {
		sample(&pk);
		zt_stats(&st);
		if (t_expired < 0 && st.lwip_tcp_pcbs < base.lwip_tcp_pcbs + BACKLOG)
			t_expired = zt_now_ms();
		if (ok_during < 0) {
			rc = l_connect_state(l_during);
			cr_assert_geq(rc, 0, "the client from during the flood failed: %s", strerror(-rc));
			if (rc == 1)
				ok_during = zt_now_ms() - t_during;
		}
		if (ok_after < 0) {
			rc = l_connect_state(l_after);
			cr_assert_geq(rc, 0, "the client after the flood failed: %s", strerror(-rc));
			if (rc == 1)
				ok_after = zt_now_ms() - t_after;
		}
		cr_assert_lt(zt_now_ms(), end, "no Linux client got through 90 s after the flood");
		zt_sleep_ms(50);
	}
	fprintf(stderr, "flooded listener (backlog %d): the SYN_RCVD PCBs began to expire %lld ms "
		"after the flood began; a client that started 0.5 s into the flood connected after "
		"%lld ms (%lld ms after the flood began); one that started when the flood ended, after "
		"%lld ms (%lld ms after the flood began)\n", BACKLOG,
		(long long)(t_expired < 0 ? -1 : t_expired - f.t_start), (long long)ok_during,
		(long long)(t_during + ok_during - f.t_start), (long long)ok_after,
		(long long)(t_after + ok_after - f.t_start));
	fprintf(stderr, "peaks: %u TCP PCBs (idle %u, pool %d), heap %u bytes (idle %u, pool %d), "
		"%u pbufs (idle %u, pool %d)\n", pk.pcbs, base.lwip_tcp_pcbs, CONFIG_NET_MAX_CONN,
		pk.mem, base.lwip_mem_used, CONFIG_LWIP_MEM_SIZE, pk.pbufs, base.lwip_pbuf_in_use,
		CONFIG_LWIP_PBUF_POOL_SIZE);
	/* bounded: SYN_RCVD PCBs by the backlog (+2 for the Linux clients and
	 * the loopback pair), everything within its pool */
	cr_assert_leq(pk.pcbs, base.lwip_tcp_pcbs + BACKLOG + 2 + 2, "TCP PCBs peaked at %u", pk.pcbs);
	cr_assert_leq(pk.pcbs, CONFIG_NET_MAX_CONN);
	cr_assert_leq(pk.mem, CONFIG_LWIP_MEM_SIZE);
	cr_assert_leq(pk.pbufs, CONFIG_LWIP_PBUF_POOL_SIZE);
	/* the engine queued them in the order they connected */
	if (t_during + ok_during <= t_after + ok_after) {
		serve_one(lfd, l_during);
		serve_one(lfd, l_after);
	} else {
		serve_one(lfd, l_after);
		serve_one(lfd, l_during);
	}
	zt_close(za);
	zt_close(zb);

	/* every counter back to idle: no SYN_RCVD PCB left, the pair's two PCBs
	 * down to the TIME_WAIT one of the side that closed first */
	end = zt_now_ms() + 30000;
	for (;;) {
		zt_stats(&st);
		if (st.lwip_tcp_pcbs <= 1 && st.lwip_mem_used == base.lwip_mem_used &&
		    st.lwip_pbuf_in_use == base.lwip_pbuf_in_use)
			break;
		cr_assert_lt(zt_now_ms(), end, "not back to idle: %u TCP PCBs (want 1 at most), heap %u "
			     "(idle %u), pbufs %u (idle %u)", st.lwip_tcp_pcbs,
			     st.lwip_mem_used, base.lwip_mem_used, st.lwip_pbuf_in_use,
			     base.lwip_pbuf_in_use);
		zt_sleep_ms(100);
	}
	zt_close(lfd);
	zt_close(ofd);
}
