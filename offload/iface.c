/*
 * Interfaces for offloading (<zsock/socket_offload.h>): a fixed table of
 * names. An entry is either one of the engine's own interfaces ("lo", a
 * TAP), made on first lookup, or one a driver added for itself ("host").
 * Each can carry the socket factory that net_if_socket_offload_set() gave
 * it, which the dispatcher uses for SO_BINDTODEVICE.
 */
#include <zsock/socket_offload.h>

#include <errno.h>
#include <string.h>

#include "engine/port/port.h"
#include "engine/reactor/reactor.h"
#include "engine/netif/netifs.h"
#include "offload/offload.h"

#define NAME_MAX_LEN 15

struct net_if {
	char name[NAME_MAX_LEN + 1];
	bool used;
	bool offloaded;               /* added by a driver, not an engine netif */
	net_socket_create_t create;   /* NULL: the engine's sockets */
};

/* drivers' interfaces, and apart the engine's (remembered on first lookup),
 * so drivers filling their table never hide an engine interface */
static struct net_if ifaces[CONFIG_ZSOCK_OFFLOAD_IFACES];
static struct net_if engine_ifaces[CONFIG_ZSOCK_OFFLOAD_IFACES];
static struct zs_lock lock;
static struct zs_once once = ZS_ONCE_INIT;

static struct net_if *add_locked(const char *name, bool offloaded);

static void init(void)
{
	zs_lock_init(&lock);
#if CONFIG_ZSOCK_HOSTSOCK
	/* the host kernel's sockets, as the interface "host" */
	{
		struct net_if *host = add_locked("host", true);

		if (host != NULL)
			host->create = zs_hostsock_create;
	}
#endif
}

static struct net_if *find_in(struct net_if *table, const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_ZSOCK_OFFLOAD_IFACES; i++)
		if (table[i].used && strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static struct net_if *find_locked(const char *name)
{
	struct net_if *nif = find_in(ifaces, name);

	return nif != NULL ? nif : find_in(engine_ifaces, name);
}

static struct net_if *add_locked(const char *name, bool offloaded)
{
	struct net_if *table = offloaded ? ifaces : engine_ifaces;
	size_t i;

	for (i = 0; i < CONFIG_ZSOCK_OFFLOAD_IFACES; i++) {
		if (!table[i].used) {
			memset(&table[i], 0, sizeof(table[i]));
			strcpy(table[i].name, name);
			table[i].offloaded = offloaded;
			table[i].used = true;
			return &table[i];
		}
	}
	return NULL;
}

static int engine_has(void *arg)
{
	return zs_netif_find(arg) != NULL;
}

static bool name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strnlen(name, NAME_MAX_LEN + 1) <= NAME_MAX_LEN;
}

struct net_if *zsock_net_if_get_by_name(const char *name)
{
	struct net_if *nif;

	if (!name_ok(name))
		return NULL;
	zs_port_once(&once, init);
	zs_lock_take(&lock);
	nif = find_locked(name);
	zs_lock_give(&lock);
	if (nif != NULL)
		return nif;
	/* one of the engine's: remembered from the first lookup on */
	if (zs_engine_ensure() < 0 || zs_reactor_call(engine_has, (void *)name) != 1)
		return NULL;
	zs_lock_take(&lock);
	nif = find_locked(name);
	if (nif == NULL)
		nif = add_locked(name, false);
	zs_lock_give(&lock);
	return nif;
}

struct net_if *zsock_net_if_add_offloaded(const char *name)
{
	struct net_if *nif;

	if (!name_ok(name)) {
		errno = EINVAL;
		return NULL;
	}
	zs_port_once(&once, init);
	/* a name the engine's interfaces already have is taken too */
	if (zs_engine_ensure() < 0 || zs_reactor_call(engine_has, (void *)name) == 1) {
		errno = EEXIST;
		return NULL;
	}
	zs_lock_take(&lock);
	if (find_locked(name) != NULL) {
		zs_lock_give(&lock);
		errno = EEXIST;
		return NULL;
	}
	nif = add_locked(name, true);
	zs_lock_give(&lock);
	if (nif == NULL)
		errno = ENOMEM;
	return nif;
}

void net_if_socket_offload_set(struct net_if *iface, net_socket_create_t socket_offload)
{
	if (iface == NULL)
		return;
	zs_port_once(&once, init);
	zs_lock_take(&lock);
	iface->create = socket_offload;
	zs_lock_give(&lock);
}

net_socket_create_t zs_net_if_creator(struct net_if *nif)
{
	net_socket_create_t c;

	zs_port_once(&once, init);
	zs_lock_take(&lock);
	c = nif->create;
	zs_lock_give(&lock);
	return c;
}
