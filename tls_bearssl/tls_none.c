/*
 * A build without TLS (-Dtls=disabled, CONFIG_ZSOCK_TLS = 0): no BearSSL,
 * no TLS sockets. The registry's native_tls entry stays, so
 * zsock_socket() with an IPPROTO_TLS_* protocol fails with EPROTONOSUPPORT
 * here rather than finding no implementation (EAFNOSUPPORT); the figures
 * for the statistics are all zero.
 */
#include "tls_bearssl/tls.h"

#include <errno.h>

int zs_tls_create(int family, int type, int proto)
{
	(void)family;
	(void)type;
	(void)proto;
	return -EPROTONOSUPPORT;
}

int zs_tls_wrap(int fd, int family, int proto)
{
	(void)fd;
	(void)family;
	(void)proto;
	return -EPROTONOSUPPORT;
}

uint32_t zs_tls_in_use(void)
{
	return 0;
}

uint32_t zs_tls_high_water(void)
{
	return 0;
}

uint32_t zs_tls_sessions_in_use(void)
{
	return 0;
}

uint32_t zs_tls_sessions_high_water(void)
{
	return 0;
}

size_t zs_tls_socket_bytes(void)
{
	return 0;
}

size_t zs_tls_session_bytes(void)
{
	return 0;
}

size_t zs_tls_static_bytes(void)
{
	return 0;
}

size_t zs_cred_arena_used(void)
{
	return 0;
}

size_t zs_cred_count(void)
{
	return 0;
}
