/*
 * What the bare-metal port asks of this board (engine/port/baremetal/
 * baremetal.h, engine/port/port.h): the SysTick clock, seeds, the wall
 * clock, the console for panics, and the Ethernet interface with QEMU user
 * networking's static address (10.0.2.15/24, gateway 10.0.2.2).
 */
#include "board.h"
#include "engine/port/baremetal/baremetal.h"
#include "engine/port/port.h"

#include <errno.h>
#include <semihost.h>   /* picolibc's semihosting calls */
#include <string.h>
#include <time.h>

#include "sha256_min.h"

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "netif/ethernet.h"

static struct netif eth;

uint32_t zs_bm_board_systick_hz(void)
{
	return BOARD_SYSTICK_HZ;
}

uint32_t zs_bm_board_seed(void)
{
	/* the host's clock: differs from boot to boot, which is all ISNs need */
	return (uint32_t)board_host_ms() * 2654435761u;
}

/*
 * Seed material for TLS (zs_port_entropy).
 *
 * NOT A SECURE SOURCE. The LM3S6965 has no TRNG, and QEMU emulates none;
 * a real board MUST use its hardware generator here instead. What this
 * gathers only varies from run to run: the host's clock (semihosting
 * SYS_TIME, and SYS_ELAPSED, QEMU's nanoseconds since it started, read 64
 * times) and SysTick's counter read around each of those semihosting
 * calls (a trap into QEMU, whose length in guest time follows the host's
 * scheduling; under -icount the counter does not vary at all, and the
 * host's nanoseconds are all that is left). Someone who knows roughly
 * when the board ran can search it. All of it, with the MAC, a call
 * counter and what the previous call gathered, goes through SHA-256 into
 * a 32-byte pool; the output is SHA-256(pool || block number) per 32
 * bytes, and the pool is hashed once more before the next call mixes it.
 */
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define ENTROPY_SAMPLES 64

int zs_bm_board_entropy(void *buf, size_t len)
{
	static uint8_t pool[32];
	static uint32_t calls;
	struct sha256_min h;
	uint8_t *out = buf, block[32];
	uint32_t n;
	time_t now = time(NULL);
	uint64_t t;

	sha256_min_init(&h);
	sha256_min_update(&h, pool, sizeof(pool));
	calls++;
	sha256_min_update(&h, &calls, sizeof(calls));
	sha256_min_update(&h, eth.hwaddr, sizeof(eth.hwaddr));
	sha256_min_update(&h, &now, sizeof(now));
	for (n = 0; n < ENTROPY_SAMPLES; n++) {
		uint32_t before = SYST_CVR, after;

		t = sys_semihost_elapsed();   /* a trap into QEMU */
		after = SYST_CVR;
		sha256_min_update(&h, &before, sizeof(before));
		sha256_min_update(&h, &t, sizeof(t));
		sha256_min_update(&h, &after, sizeof(after));
	}
	t = zs_bm_ticks();
	sha256_min_update(&h, &t, sizeof(t));
	sha256_min_final(&h, pool);
	for (n = 0; len > 0; n++) {
		size_t k = len < sizeof(block) ? len : sizeof(block);

		sha256_min_init(&h);
		sha256_min_update(&h, pool, sizeof(pool));
		sha256_min_update(&h, &n, sizeof(n));
		sha256_min_final(&h, block);
		memcpy(out, block, k);
		out += k;
		len -= k;
	}
	sha256_min_init(&h);
	sha256_min_update(&h, pool, sizeof(pool));
	sha256_min_update(&h, "next", 4);
	sha256_min_final(&h, pool);
	memset(block, 0, sizeof(block));
	return 0;
}

/* The host's clock: picolibc's time() is semihosting SYS_TIME (and
 * SYS_ELAPSED) here. */
int zs_bm_board_realtime(int64_t *unix_secs)
{
	time_t now = time(NULL);

	if (now == (time_t)-1 || now <= 0)
		return -ENOTSUP;
	*unix_secs = (int64_t)now;
	return 0;
}

void zs_bm_board_console(const char *s)
{
	board_console_write(s, strlen(s));
}

_Noreturn void zs_bm_board_fatal(void)
{
	board_exit(70);
}

static void eth_ready(void *arg)
{
	board_eth_service(arg);
}

int zs_port_netifs_init(void)
{
	ip4_addr_t ip, mask, gw;
	int rc;

	IP4_ADDR(&ip, 10, 0, 2, 15);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 10, 0, 2, 2);
	if (netif_add(&eth, &ip, &mask, &gw, NULL, board_eth_netif_init, ethernet_input) == NULL)
		return -ENODEV;
#if LWIP_IPV6
	netif_create_ip6_linklocal_address(&eth, 1);
#endif
	netif_set_default(&eth);
	netif_set_up(&eth);
	rc = zs_port_watch(BOARD_SOURCE_ETHERNET, eth_ready, &eth);
	if (rc < 0) {
		netif_remove(&eth);
		return rc;
	}
	return 0;
}
