/*
 * What the bare-metal port asks of this board (engine/port/baremetal/
 * baremetal.h, engine/port/port.h): the SysTick clock, a seed, the console
 * for panics, and the Ethernet interface with QEMU user networking's
 * static address (10.0.2.15/24, gateway 10.0.2.2).
 */
#include "board.h"
#include "engine/port/baremetal/baremetal.h"
#include "engine/port/port.h"

#include <errno.h>
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "netif/ethernet.h"

uint32_t zs_bm_board_systick_hz(void)
{
	return BOARD_SYSTICK_HZ;
}

uint32_t zs_bm_board_seed(void)
{
	/* the host's clock: differs from boot to boot, which is all ISNs need */
	return (uint32_t)board_host_ms() * 2654435761u;
}

void zs_bm_board_console(const char *s)
{
	board_console_write(s, strlen(s));
}

_Noreturn void zs_bm_board_fatal(void)
{
	board_exit(70);
}

static struct netif eth;

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
