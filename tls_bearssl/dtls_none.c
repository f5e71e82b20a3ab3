/*
 * A build without DTLS sockets (no TLS, or zsock_dtls_sockets = 0):
 * IPPROTO_DTLS_1_2 sockets fail with EPROTONOSUPPORT and the figures are
 * zero.
 */
#include "tls_bearssl/tls.h"

#include <errno.h>

int zs_dtls_sock_create(int family, int type)
{
	(void)family;
	(void)type;
	return -EPROTONOSUPPORT;
}

uint32_t zs_dtls_sock_in_use(void)
{
	return 0;
}

uint32_t zs_dtls_sock_high_water(void)
{
	return 0;
}

size_t zs_dtls_sock_bytes(void)
{
	return 0;
}

size_t zs_dtls_static_bytes(void)
{
	return 0;
}

void zs_dtls_server_idle_set(int32_t ms)
{
	(void)ms;
}
