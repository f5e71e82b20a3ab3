/*
 * The fd table (engine/fdtable.c): lowest-free reservation, exhaustion,
 * lookups that must fail, reference counting through the vtable, close
 * semantics, and a lookup racing a close from another thread.
 */
#include <criterion/criterion.h>
#include "tests/common/checked_test.h"
#include "engine/fdtable.h"
#include <zsock/zsock_config.h>

#include <errno.h>
#include <limits.h>
#if CONFIG_ZSOCK_HOSTED
#include <pthread.h>
#include <sched.h>
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- a counting object behind a test vtable ---------------------------- */

#define OBJ_ALIVE 0x0b1ec7a1u
#define OBJ_DEAD  0xdeadb0b0u

struct tobj {
	_Atomic uint32_t magic;
	_Atomic int refs;        /* the table's reference counts as one */
	_Atomic int closes;
	_Atomic int refs_taken;
	bool heap;               /* free() it when the last ref goes */
	int close_rc;
};

static _Atomic uint64_t ref_on_dead;    /* ref() or unref() of a dead object */
static _Atomic uint64_t objs_live;

static void tobj_init(struct tobj *o, bool heap)
{
	atomic_store(&o->magic, OBJ_ALIVE);
	atomic_store(&o->refs, 1);
	atomic_store(&o->closes, 0);
	atomic_store(&o->refs_taken, 0);
	o->heap = heap;
	o->close_rc = 0;
	atomic_fetch_add(&objs_live, 1);
}

static void t_ref(void *obj)
{
	struct tobj *o = obj;

	if (atomic_load(&o->magic) != OBJ_ALIVE || atomic_fetch_add(&o->refs, 1) <= 0)
		atomic_fetch_add(&ref_on_dead, 1);
	atomic_fetch_add(&o->refs_taken, 1);
}

static void t_unref(void *obj)
{
	struct tobj *o = obj;
	int left;

	if (atomic_load(&o->magic) != OBJ_ALIVE) {
		atomic_fetch_add(&ref_on_dead, 1);
		return;
	}
	left = atomic_fetch_sub(&o->refs, 1) - 1;
	if (left < 0)
		atomic_fetch_add(&ref_on_dead, 1);
	if (left == 0) {
		atomic_store(&o->magic, OBJ_DEAD);
		atomic_fetch_sub(&objs_live, 1);
		if (o->heap)
			free(o);
	}
}

static int t_close(void *obj)
{
	struct tobj *o = obj;
	int rc = o->close_rc;

	atomic_fetch_add(&o->closes, 1);
	t_unref(o);     /* the table's reference */
	return rc;
}

static const struct zs_fd_vtable tvt = {
	.ref = t_ref,
	.unref = t_unref,
	.close = t_close,
};

/* ---- fixture: the table starts empty and ends empty -------------------- */

static void setup(void)
{
	zs_fd_table_init();
	atomic_store(&ref_on_dead, 0);
	atomic_store(&objs_live, 0);
	cr_assert_eq(zs_fd_in_use(), 0);
}

static void teardown(void)
{
	cr_expect_eq(zs_fd_in_use(), 0, "fd leak");
	cr_expect_eq(atomic_load(&objs_live), 0, "object leak");
	cr_expect_eq(atomic_load(&ref_on_dead), 0, "ref/unref on a dead object");
}

TestSuite(fdtable, .init = setup);

/* teardown() runs at the end of every test body: see checked_test.h */
#define UTEST(name, ...) CHECKED_TEST(fdtable, name, teardown, ##__VA_ARGS__)

static int open_obj(struct tobj *o)
{
	int fd = zs_fd_reserve();

	cr_assert_geq(fd, 0);
	tobj_init(o, false);
	zs_fd_finalize(fd, o, &tvt);
	return fd;
}

UTEST(reserve_lowest_free)
{
	cr_assert_eq(zs_fd_reserve(), 0);
	cr_assert_eq(zs_fd_reserve(), 1);
	cr_assert_eq(zs_fd_reserve(), 2);
	cr_assert_eq(zs_fd_in_use(), 3);
	zs_fd_unreserve(1);
	cr_assert_eq(zs_fd_in_use(), 2);
	cr_assert_eq(zs_fd_reserve(), 1);
	cr_assert_eq(zs_fd_reserve(), 3);
	zs_fd_unreserve(0);
	zs_fd_unreserve(2);
	cr_assert_eq(zs_fd_reserve(), 0);
	cr_assert_eq(zs_fd_reserve(), 2);
	for (int fd = 0; fd < 4; fd++)
		zs_fd_unreserve(fd);
}

UTEST(exhaustion)
{
	int fd;

	for (fd = 0; fd < CONFIG_ZVFS_OPEN_MAX; fd++)
		cr_assert_eq(zs_fd_reserve(), fd);
	cr_assert_eq(zs_fd_in_use(), CONFIG_ZVFS_OPEN_MAX);
	cr_assert_eq(zs_fd_reserve(), -ENFILE);
	cr_assert_eq(zs_fd_reserve(), -ENFILE);
	zs_fd_unreserve(CONFIG_ZVFS_OPEN_MAX / 2);
	cr_assert_eq(zs_fd_reserve(), CONFIG_ZVFS_OPEN_MAX / 2);
	cr_assert_eq(zs_fd_reserve(), -ENFILE);
	for (fd = 0; fd < CONFIG_ZVFS_OPEN_MAX; fd++)
		zs_fd_unreserve(fd);
}

UTEST(get_fails_on_non_open)
{
	static const int bad[] = { -1, -2, INT_MIN, CONFIG_ZVFS_OPEN_MAX,
				   CONFIG_ZVFS_OPEN_MAX + 1, INT_MAX };
	const struct zs_fd_vtable *vt = NULL;
	int fd;
	size_t i;

	cr_assert_null(zs_fd_get(0, &vt), "free fd");
	cr_assert_null(zs_fd_get(CONFIG_ZVFS_OPEN_MAX - 1, &vt), "free fd");
	fd = zs_fd_reserve();
	cr_assert_null(zs_fd_get(fd, &vt), "reserved, not finalized");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(zs_fd_get(bad[i], &vt), "fd %d", bad[i]);
	cr_assert_null(vt, "*vt written on a failed get");
	cr_assert_eq(zs_fd_close(fd), -EBADF, "close of a reserved fd");
	zs_fd_unreserve(fd);
}

UTEST(get_put_ref_counting)
{
	struct tobj o;
	const struct zs_fd_vtable *vt = NULL;
	int fd = open_obj(&o);
	void *p, *q;

	cr_assert_eq(atomic_load(&o.refs), 1, "finalize takes no ref of its own");
	p = zs_fd_get(fd, &vt);
	cr_assert_eq(p, &o);
	cr_assert_eq(vt, &tvt);
	cr_assert_eq(atomic_load(&o.refs), 2);
	q = zs_fd_get(fd, &vt);
	cr_assert_eq(q, &o);
	cr_assert_eq(atomic_load(&o.refs), 3);
	zs_fd_put(q, vt);
	cr_assert_eq(atomic_load(&o.refs), 2);
	zs_fd_put(p, vt);
	cr_assert_eq(atomic_load(&o.refs), 1);
	cr_assert_eq(atomic_load(&o.closes), 0);
	cr_assert_eq(zs_fd_close(fd), 0);
}

UTEST(close_frees_number_once)
{
	struct tobj o, o2;
	const struct zs_fd_vtable *vt;
	int fd, fd2;

	cr_assert_eq(zs_fd_reserve(), 0);   /* fd 0 taken: the test fd is 1 */
	fd = open_obj(&o);
	cr_assert_eq(fd, 1);
	o.close_rc = -ECONNRESET;
	cr_assert_eq(zs_fd_close(fd), -ECONNRESET, "close returns vt->close's result");
	cr_assert_eq(atomic_load(&o.closes), 1);
	cr_assert_eq(atomic_load(&o.magic), OBJ_DEAD, "the table's ref was the last");
	cr_assert_null(zs_fd_get(fd, &vt));
	cr_assert_eq(zs_fd_close(fd), -EBADF);
	cr_assert_eq(atomic_load(&o.closes), 1, "vt->close ran once");
	cr_assert_eq(zs_fd_in_use(), 1);

	/* the number is reusable at once */
	fd2 = open_obj(&o2);
	cr_assert_eq(fd2, fd);
	cr_assert_eq(zs_fd_get(fd2, &vt), &o2);
	zs_fd_put(&o2, vt);
	cr_assert_eq(zs_fd_close(fd2), 0);
	cr_assert_eq(atomic_load(&o2.closes), 1);
	cr_assert_eq(zs_fd_close(-1), -EBADF);
	cr_assert_eq(zs_fd_close(CONFIG_ZVFS_OPEN_MAX), -EBADF);
	zs_fd_unreserve(0);
}

UTEST(close_while_referenced)
{
	struct tobj o;
	const struct zs_fd_vtable *vt;
	int fd = open_obj(&o);
	void *p = zs_fd_get(fd, &vt);

	cr_assert_eq(p, &o);
	cr_assert_eq(zs_fd_close(fd), 0);
	cr_assert_eq(atomic_load(&o.closes), 1);
	cr_assert_null(zs_fd_get(fd, &vt), "number gone while the object lives");
	cr_assert_eq(zs_fd_reserve(), fd, "number reusable while the object lives");
	zs_fd_unreserve(fd);
	cr_assert_eq(atomic_load(&o.magic), OBJ_ALIVE, "a call in flight keeps it");
	cr_assert_eq(atomic_load(&o.refs), 1);
	zs_fd_put(p, vt);
	cr_assert_eq(atomic_load(&o.magic), OBJ_DEAD);
}

/* ---- get racing close ---------------------------------------------------- */

#if CONFIG_ZSOCK_HOSTED /* a getter thread: bare metal has one context */
#define RACE_ROUNDS 100000

struct race {
	_Atomic int fd;        /* -1 while no object is open */
	_Atomic bool done;
	_Atomic uint64_t hits;
	_Atomic uint64_t misses;
};

/* Looks the fd up as fast as it can; every object it gets must be alive. */
static void *getter(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->done)) {
		const struct zs_fd_vtable *vt;
		int fd = atomic_load(&r->fd);
		struct tobj *o;

		if (fd < 0)
			fd = 0;
		o = zs_fd_get(fd, &vt);
		if (o == NULL) {
			atomic_fetch_add(&r->misses, 1);
			continue;
		}
		if (vt != &tvt || atomic_load(&o->magic) != OBJ_ALIVE ||
		    atomic_load(&o->refs) < 1)
			atomic_fetch_add(&ref_on_dead, 1);
		atomic_fetch_add(&r->hits, 1);
		zs_fd_put(o, vt);
	}
	return NULL;
}

UTEST(get_concurrent_with_close, .timeout = 60)
{
	struct race r;
	pthread_t t;
	int i;
	uint64_t closes = 0;

	atomic_store(&r.fd, -1);
	atomic_store(&r.done, false);
	atomic_store(&r.hits, 0);
	atomic_store(&r.misses, 0);
	cr_assert_eq(pthread_create(&t, NULL, getter, &r), 0);
	for (i = 0; i < RACE_ROUNDS; i++) {
		struct tobj *o = malloc(sizeof(*o));
		int fd = zs_fd_reserve();
		int rc;

		cr_assert_not_null(o);
		cr_assert_eq(fd, 0);
		tobj_init(o, true);
		zs_fd_finalize(fd, o, &tvt);
		atomic_store(&r.fd, fd);
		/* let the getter in now and then */
		if (i % 64 == 0)
			sched_yield();
		/* o may be freed by the getter's put as soon as close returns */
		rc = zs_fd_close(fd);
		if (rc == 0)
			closes++;
		atomic_store(&r.fd, -1);
	}
	atomic_store(&r.done, true);
	pthread_join(t, NULL);

	cr_assert_eq(closes, RACE_ROUNDS);
	cr_assert_eq(atomic_load(&ref_on_dead), 0, "a get returned a dead object");
	cr_assert_eq(atomic_load(&objs_live), 0, "an object was never freed");
	cr_assert_gt(atomic_load(&r.hits), 0, "the race never happened");
	cr_log_info("get/close race: %llu hits, %llu misses",
		    (unsigned long long)atomic_load(&r.hits),
		    (unsigned long long)atomic_load(&r.misses));
}
#endif

/* ---- detach: a layer taking over the object behind a number ------------ */

UTEST(detach_keeps_number_reserved_and_hands_over_the_reference)
{
	struct tobj a, b;
	const struct zs_fd_vtable *vt = NULL;
	uint32_t gen;
	int fd = open_obj(&a);
	void *got;

	gen = zs_fd_generation();
	got = zs_fd_detach(fd, &vt);
	cr_assert_eq(got, &a);
	cr_assert_eq(vt, &tvt);
	cr_assert_neq(zs_fd_generation(), gen, "a detach changes what the number names");
	cr_assert_eq(atomic_load(&a.closes), 0, "detach must not close the object");
	cr_assert_eq(atomic_load(&a.refs), 1, "the table's reference moved to the caller");
	cr_assert_null(zs_fd_get(fd, &vt), "a detached number names nothing");
	cr_assert_eq(zs_fd_close(fd), -EBADF);
	cr_assert_eq(zs_fd_in_use(), 1, "the number stays reserved");
	cr_assert_neq(zs_fd_reserve(), fd, "a reserved number is not handed out again");
	zs_fd_unreserve(fd + 1);

	/* finalize the same number with the wrapping object */
	tobj_init(&b, false);
	zs_fd_finalize(fd, &b, &tvt);
	cr_assert_eq(zs_fd_get(fd, &vt), &b);
	zs_fd_put(&b, vt);
	cr_assert_eq(zs_fd_close(fd), 0);
	cr_assert_eq(atomic_load(&b.closes), 1);
	t_close(&a); /* the caller releases what it took over */
	cr_assert_eq(atomic_load(&a.closes), 1);
}

UTEST(detach_of_a_free_or_reserved_number_gives_null)
{
	const struct zs_fd_vtable *vt = NULL;
	int fd;

	cr_assert_null(zs_fd_detach(-1, &vt));
	cr_assert_null(zs_fd_detach(CONFIG_ZVFS_OPEN_MAX, &vt));
	cr_assert_null(zs_fd_detach(0, &vt));
	fd = zs_fd_reserve();
	cr_assert_null(zs_fd_detach(fd, &vt));
	zs_fd_unreserve(fd);
}

UTEST(close_fresh_closes_and_frees_the_number)
{
	struct tobj a;
	int fd = open_obj(&a);

	cr_assert_eq(zs_fd_close_fresh(fd), 0);
	cr_assert_eq(atomic_load(&a.closes), 1);
	cr_assert_eq(zs_fd_in_use(), 0, "the number is free again");
	cr_assert_eq(zs_fd_close_fresh(fd), -EBADF);
}
