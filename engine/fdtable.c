/* The fd table; see fdtable.h. O(n) reserve (lowest free first), O(1) get. */
#include "engine/fdtable.h"
#include "engine/pollset.h"
#include "engine/port/port.h"

#include <stdatomic.h>

#include <errno.h>

enum { SLOT_FREE, SLOT_RESERVED, SLOT_OPEN };

struct slot {
	int state;
	void *obj;
	const struct zs_fd_vtable *vt;
};

static struct zs_lock table_lock;
static struct slot table[CONFIG_ZVFS_OPEN_MAX];
/* bumped (under table_lock) whenever an fd starts or stops naming an object */
static _Atomic uint32_t generation = 1;

uint32_t zs_fd_generation(void)
{
	return atomic_load_explicit(&generation, memory_order_acquire);
}

size_t zs_fd_slot_bytes(void)
{
	return sizeof(struct slot);
}

void zs_fd_table_init(void)
{
	zs_lock_init(&table_lock);
}

int zs_fd_reserve(void)
{
	int fd;

	zs_lock_take(&table_lock);
	for (fd = 0; fd < CONFIG_ZVFS_OPEN_MAX; fd++) {
		if (table[fd].state == SLOT_FREE) {
			table[fd].state = SLOT_RESERVED;
			zs_lock_give(&table_lock);
			return fd;
		}
	}
	zs_lock_give(&table_lock);
	return -ENFILE;
}

void zs_fd_finalize(int fd, void *obj, const struct zs_fd_vtable *vt)
{
	ZS_ASSERT(fd >= 0 && fd < CONFIG_ZVFS_OPEN_MAX);
	zs_lock_take(&table_lock);
	ZS_ASSERT(table[fd].state == SLOT_RESERVED);
	table[fd].obj = obj;
	table[fd].vt = vt;
	table[fd].state = SLOT_OPEN;
	atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
	zs_lock_give(&table_lock);
}

void zs_fd_unreserve(int fd)
{
	ZS_ASSERT(fd >= 0 && fd < CONFIG_ZVFS_OPEN_MAX);
	zs_lock_take(&table_lock);
	ZS_ASSERT(table[fd].state == SLOT_RESERVED);
	table[fd].state = SLOT_FREE;
	zs_lock_give(&table_lock);
}

void *zs_fd_get(int fd, const struct zs_fd_vtable **vt)
{
	void *obj = NULL;

	if (fd < 0 || fd >= CONFIG_ZVFS_OPEN_MAX)
		return NULL;
	zs_lock_take(&table_lock);
	if (table[fd].state == SLOT_OPEN) {
		obj = table[fd].obj;
		*vt = table[fd].vt;
		(*vt)->ref(obj);
	}
	zs_lock_give(&table_lock);
	return obj;
}

void zs_fd_put(void *obj, const struct zs_fd_vtable *vt)
{
	vt->unref(obj);
}

/* Take the object off an open fd, leaving the slot in state; NULL if not open. */
static void *unbind(int fd, int state, const struct zs_fd_vtable **vt)
{
	void *obj = NULL;

	if (fd < 0 || fd >= CONFIG_ZVFS_OPEN_MAX)
		return NULL;
	zs_lock_take(&table_lock);
	if (table[fd].state == SLOT_OPEN) {
		obj = table[fd].obj;
		*vt = table[fd].vt;
		table[fd].state = state;
		table[fd].obj = NULL;
		table[fd].vt = NULL;
		atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
	}
	zs_lock_give(&table_lock);
	return obj;
}

int zs_fd_close(int fd)
{
	const struct zs_fd_vtable *vt;
	void *obj = unbind(fd, SLOT_FREE, &vt);

	if (obj == NULL)
		return -EBADF;
	zs_pollset_forget(obj); /* poll sets that still hold it let go */
	return vt->close(obj);
}

void *zs_fd_detach(int fd, const struct zs_fd_vtable **vt)
{
	return unbind(fd, SLOT_RESERVED, vt);
}

int zs_fd_close_fresh(int fd)
{
	const struct zs_fd_vtable *vt;
	void *obj = zs_fd_detach(fd, &vt);

	if (obj == NULL)
		return -EBADF;
	zs_fd_unreserve(fd);
	return vt->close(obj);
}

uint32_t zs_fd_in_use(void)
{
	uint32_t n = 0;
	int fd;

	zs_lock_take(&table_lock);
	for (fd = 0; fd < CONFIG_ZVFS_OPEN_MAX; fd++)
		n += table[fd].state != SLOT_FREE;
	zs_lock_give(&table_lock);
	return n;
}
