/*
 * The socket implementation registry (<zsock/socket_offload.h>): entries
 * from the linker section "zsock_socket_register", sorted by priority once,
 * walked by zsock_socket(). The engine's own entries are here too, so the
 * section always exists and this object file is always linked (socket.c
 * calls zs_registry_create).
 */
#include <zsock/socket_offload.h>

#include <errno.h>

#include "engine/port/port.h"
#include "engine/sock/native.h"
#include "offload/offload.h"
#include "tls_bearssl/tls.h"

extern const struct net_socket_register __start_zsock_socket_register[];
extern const struct net_socket_register __stop_zsock_socket_register[];

static const struct net_socket_register *sorted[CONFIG_ZSOCK_SOCKET_IMPLEMENTATIONS];
static size_t n_sorted;
static struct zs_once sort_once = ZS_ONCE_INIT;

/* ---- the engine's own entries ------------------------------------------------ */

static bool native_supported(int family, int type, int proto)
{
	(void)type;
	/* every inet socket that is not TLS: the factory gives the exact
	 * errno for a type or protocol it does not make */
	return (family == AF_INET || family == AF_INET6) && !ZS_PROTO_IS_TLS(proto);
}

static int native_create(int family, int type, int proto)
{
	int fd = zs_sock_create(family, type, proto);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

static bool tls_supported(int family, int type, int proto)
{
	(void)type;
	return (family == AF_INET || family == AF_INET6) && ZS_PROTO_IS_TLS(proto);
}

static int tls_create(int family, int type, int proto)
{
	int fd = zs_tls_create(family, type, proto);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

NET_SOCKET_REGISTER(native, CONFIG_NET_SOCKETS_PRIORITY_DEFAULT, AF_UNSPEC, native_supported,
		    native_create);
NET_SOCKET_REGISTER(native_tls, CONFIG_NET_SOCKETS_TLS_PRIORITY, AF_UNSPEC, tls_supported,
		    tls_create);

/* ---- sorting and walking ----------------------------------------------------- */

static void sort_entries(void)
{
	const struct net_socket_register *e;
	size_t i;

	for (e = __start_zsock_socket_register; e < __stop_zsock_socket_register; e++) {
		ZS_ASSERT(n_sorted < CONFIG_ZSOCK_SOCKET_IMPLEMENTATIONS);
		if (n_sorted == CONFIG_ZSOCK_SOCKET_IMPLEMENTATIONS)
			break; /* more than the build allows: the rest are ignored */
		/* insertion, stable: equal priorities keep link order */
		for (i = n_sorted; i > 0 && sorted[i - 1]->prio > e->prio; i--)
			sorted[i] = sorted[i - 1];
		sorted[i] = e;
		n_sorted++;
	}
}

size_t zs_registry_entries(const struct net_socket_register ***out)
{
	zs_port_once(&sort_once, sort_entries);
	*out = sorted;
	return n_sorted;
}

int zs_registry_create(int family, int type, int proto)
{
	const struct net_socket_register **list;
	size_t i, n = zs_registry_entries(&list);

	for (i = 0; i < n; i++) {
		const struct net_socket_register *e = list[i];
		int fd;

		if (e->family != AF_UNSPEC && e->family != family)
			continue;
		if (e->is_supported != NULL && !e->is_supported(family, type, proto))
			continue;
		errno = 0;
		fd = e->handler(family, type, proto);
		if (fd >= 0)
			return fd;
		return errno != 0 ? -errno : -EIO;
	}
	return -EAFNOSUPPORT;
}
