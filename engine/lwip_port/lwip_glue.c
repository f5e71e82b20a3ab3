/* What lwIP needs from its platform (arch/cc.h, lwipopts.h). */
#include "engine/port/port.h"
#include "lwip/opt.h"

void zs_lwip_assert_core(void)
{
	ZS_ASSERT_REACTOR();
}

unsigned int zs_lwip_rand(void)
{
	return zs_port_random();
}

_Noreturn void zs_lwip_panic(const char *msg, const char *file, int line)
{
	zs_port_panic(msg, file, line);
}
