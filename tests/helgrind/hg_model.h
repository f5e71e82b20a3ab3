/*
 * What Helgrind does not model, told to it: C11 atomics, pthread_once and
 * pthread_timedjoin_np.
 *
 * Helgrind knows the happens-before edges of pthreads (mutexes, condition
 * variables, semaphores, barriers, create/join) and nothing else: an
 * atomic store-release followed by a load-acquire that reads it is, to
 * Helgrind, two unordered accesses. zsock hands almost everything between
 * application threads and the reactor over such pairs: the SPSC rings'
 * head and tail (engine/netbuf/ring.h), the state word of every event
 * (engine/port/posix/port_posix.c: a waiter that sees SET while spinning
 * never touches the mutex), the done flag of a reactor call (the caller's
 * stack frame is written by the reactor and reused by the caller), the
 * wait queues' fired lists, net_buf ownership. Unannotated, one test of
 * test_stress gives some 230 reports, nearly all on data published that
 * way, so real problems cannot be seen among them.
 *
 * This header is force-included (-include) into the copy of the engine,
 * zt and the test sources that the helgrind suite builds
 * (tests/loopback/meson.build). It wraps GCC's __atomic builtins, which
 * <stdatomic.h>'s macros expand to, so that no engine source changes:
 *
 *  - an operation with release semantics (release, acq_rel, seq_cst) first
 *    does ANNOTATE_HAPPENS_BEFORE(object);
 *  - an operation with acquire semantics (acquire, consume, acq_rel,
 *    seq_cst) afterwards does ANNOTATE_HAPPENS_AFTER(object);
 *  - relaxed operations give no edge (as C11 says);
 *  - the atomic object itself is excluded from race checking
 *    (VALGRIND_HG_DISABLE_CHECKING): concurrent atomic accesses are not a
 *    data race by definition.
 *
 * What is NOT modelled: fences (atomic_thread_fence; Helgrind has no
 * address to hang them on) and the total order of seq_cst operations, and
 * the edges are per address and cumulative (Helgrind's user "SO"s), so an
 * acquire also synchronises with releases that C11 would not pair with it.
 * That errs on the side of fewer reports; ThreadSanitizer (the tsan
 * configuration of scripts/test.sh), which models each memory order, is
 * the check for the orders themselves. What Helgrind adds on top: races on
 * plain data between those edges under its own scheduling, lock-order
 * inversions over every lock ever taken (not only deadlocks that happen),
 * and misuse of the pthread API.
 */
#ifndef ZSOCK_TESTS_HG_MODEL_H
#define ZSOCK_TESTS_HG_MODEL_H

#include <stdatomic.h>
#include <valgrind/helgrind.h>

#define ZS_HG_REL_(mo) \
	((mo) == __ATOMIC_RELEASE || (mo) == __ATOMIC_ACQ_REL || (mo) == __ATOMIC_SEQ_CST)
#define ZS_HG_ACQ_(mo)                                                          \
	((mo) == __ATOMIC_ACQUIRE || (mo) == __ATOMIC_CONSUME ||               \
	 (mo) == __ATOMIC_ACQ_REL || (mo) == __ATOMIC_SEQ_CST)

/* Before the access: not checked, and a release publishes here. */
#define ZS_HG_PRE_(p, rel)                                          \
	do {                                                        \
		VALGRIND_HG_DISABLE_CHECKING((p), sizeof(*(p)));    \
		if (rel)                                            \
			ANNOTATE_HAPPENS_BEFORE((p));               \
	} while (0)

/* After the access: an acquire sees what was published here. */
#define ZS_HG_POST_(p, acq)                         \
	do {                                        \
		if (acq)                            \
			ANNOTATE_HAPPENS_AFTER((p)); \
	} while (0)

/*
 * Each wrapper names the builtin it wraps inside its own expansion, where
 * the preprocessor does not expand it again: the real builtin is called.
 * Pointers are evaluated once; the builtins get the memory orders as
 * written (constants).
 */
#define __atomic_load(P, RET, MO)                                  \
	({                                                         \
		__auto_type zs_hg_p_ = (P);                        \
		int zs_hg_mo_ = (MO);                              \
		ZS_HG_PRE_(zs_hg_p_, 0);                           \
		__atomic_load(zs_hg_p_, (RET), (MO));         \
		ZS_HG_POST_(zs_hg_p_, ZS_HG_ACQ_(zs_hg_mo_));      \
	})

#define __atomic_load_n(P, MO)                                     \
	({                                                         \
		__auto_type zs_hg_p_ = (P);                        \
		int zs_hg_mo_ = (MO);                              \
		ZS_HG_PRE_(zs_hg_p_, 0);                           \
		__auto_type zs_hg_r_ = __atomic_load_n(zs_hg_p_, (MO)); \
		ZS_HG_POST_(zs_hg_p_, ZS_HG_ACQ_(zs_hg_mo_));      \
		zs_hg_r_;                                          \
	})

#define __atomic_store(P, VAL, MO)                                 \
	({                                                         \
		__auto_type zs_hg_p_ = (P);                        \
		int zs_hg_mo_ = (MO);                              \
		ZS_HG_PRE_(zs_hg_p_, ZS_HG_REL_(zs_hg_mo_));       \
		__atomic_store(zs_hg_p_, (VAL), (MO));        \
	})

#define __atomic_store_n(P, VAL, MO)                               \
	({                                                         \
		__auto_type zs_hg_p_ = (P);                        \
		int zs_hg_mo_ = (MO);                              \
		ZS_HG_PRE_(zs_hg_p_, ZS_HG_REL_(zs_hg_mo_));       \
		__atomic_store_n(zs_hg_p_, (VAL), (MO));      \
	})

/* read-modify-write: both halves */
#define ZS_HG_RMW_(BUILTIN, P, MO, ...)                                   \
	({                                                                \
		__auto_type zs_hg_p_ = (P);                               \
		int zs_hg_mo_ = (MO);                                     \
		ZS_HG_PRE_(zs_hg_p_, ZS_HG_REL_(zs_hg_mo_));              \
		__auto_type zs_hg_r_ = BUILTIN(zs_hg_p_, __VA_ARGS__, (MO)); \
		ZS_HG_POST_(zs_hg_p_, ZS_HG_ACQ_(zs_hg_mo_));             \
		zs_hg_r_;                                                 \
	})

#define __atomic_exchange_n(P, VAL, MO) ZS_HG_RMW_(__atomic_exchange_n, P, MO, (VAL))
#define __atomic_fetch_add(P, VAL, MO) ZS_HG_RMW_(__atomic_fetch_add, P, MO, (VAL))
#define __atomic_fetch_sub(P, VAL, MO) ZS_HG_RMW_(__atomic_fetch_sub, P, MO, (VAL))
#define __atomic_fetch_and(P, VAL, MO) ZS_HG_RMW_(__atomic_fetch_and, P, MO, (VAL))
#define __atomic_fetch_or(P, VAL, MO) ZS_HG_RMW_(__atomic_fetch_or, P, MO, (VAL))
#define __atomic_fetch_xor(P, VAL, MO) ZS_HG_RMW_(__atomic_fetch_xor, P, MO, (VAL))
#define __atomic_fetch_nand(P, VAL, MO) ZS_HG_RMW_(__atomic_fetch_nand, P, MO, (VAL))
#define __atomic_add_fetch(P, VAL, MO) ZS_HG_RMW_(__atomic_add_fetch, P, MO, (VAL))
#define __atomic_sub_fetch(P, VAL, MO) ZS_HG_RMW_(__atomic_sub_fetch, P, MO, (VAL))
#define __atomic_and_fetch(P, VAL, MO) ZS_HG_RMW_(__atomic_and_fetch, P, MO, (VAL))
#define __atomic_or_fetch(P, VAL, MO) ZS_HG_RMW_(__atomic_or_fetch, P, MO, (VAL))
#define __atomic_xor_fetch(P, VAL, MO) ZS_HG_RMW_(__atomic_xor_fetch, P, MO, (VAL))
#define __atomic_nand_fetch(P, VAL, MO) ZS_HG_RMW_(__atomic_nand_fetch, P, MO, (VAL))

#define __atomic_test_and_set(P, MO)                                           \
	({                                                                     \
		__auto_type zs_hg_p_ = (P);                                    \
		int zs_hg_mo_ = (MO);                                          \
		ZS_HG_PRE_((char *)zs_hg_p_, ZS_HG_REL_(zs_hg_mo_));           \
		_Bool zs_hg_r_ = __atomic_test_and_set(zs_hg_p_, (MO));   \
		ZS_HG_POST_((char *)zs_hg_p_, ZS_HG_ACQ_(zs_hg_mo_));          \
		zs_hg_r_;                                                      \
	})

#define __atomic_clear(P, MO)                                          \
	({                                                             \
		__auto_type zs_hg_p_ = (P);                            \
		int zs_hg_mo_ = (MO);                                  \
		ZS_HG_PRE_((char *)zs_hg_p_, ZS_HG_REL_(zs_hg_mo_));   \
		__atomic_clear(zs_hg_p_, (MO));                   \
	})

#define __atomic_exchange(P, VAL, RET, MO)                         \
	({                                                         \
		__auto_type zs_hg_p_ = (P);                        \
		int zs_hg_mo_ = (MO);                              \
		ZS_HG_PRE_(zs_hg_p_, ZS_HG_REL_(zs_hg_mo_));       \
		__atomic_exchange(zs_hg_p_, (VAL), (RET), (MO)); \
		ZS_HG_POST_(zs_hg_p_, ZS_HG_ACQ_(zs_hg_mo_));      \
	})

/* A compare-exchange releases if it may succeed with release order and
 * acquires if either outcome has acquire order. */
#define ZS_HG_CAS_(BUILTIN, P, EXP, DES, WEAK, SMO, FMO)                          \
	({                                                                        \
		__auto_type zs_hg_p_ = (P);                                       \
		int zs_hg_smo_ = (SMO), zs_hg_fmo_ = (FMO);                       \
		ZS_HG_PRE_(zs_hg_p_, ZS_HG_REL_(zs_hg_smo_));                     \
		_Bool zs_hg_r_ = BUILTIN(zs_hg_p_, (EXP), (DES), (WEAK), (SMO), (FMO));                             \
		ZS_HG_POST_(zs_hg_p_, ZS_HG_ACQ_(zs_hg_smo_) || ZS_HG_ACQ_(zs_hg_fmo_)); \
		zs_hg_r_;                                                         \
	})

#define __atomic_compare_exchange(P, EXP, DES, WEAK, SMO, FMO) \
	ZS_HG_CAS_(__atomic_compare_exchange, P, EXP, DES, WEAK, SMO, FMO)
#define __atomic_compare_exchange_n(P, EXP, DES, WEAK, SMO, FMO) \
	ZS_HG_CAS_(__atomic_compare_exchange_n, P, EXP, DES, WEAK, SMO, FMO)

/*
 * Joins. Helgrind 3.19 intercepts pthread_join but not
 * pthread_timedjoin_np, which zt_join() (tests/common/zt.c) uses so that a
 * thread that never ends fails the test instead of hanging it: without
 * this, every result a test thread leaves for the joiner (struct blocker's
 * rc, err, returned_at in test_stress.c...) is reported as a race with the
 * joiner's read. The name is redirected (the declaration in <pthread.h>
 * too) to zs_hg_timedjoin_np() in hg_model.c, which joins and then sends
 * Helgrind the same JOIN_POST request its own pthread_join wrapper sends.
 * An object-like macro because <pthread.h> is included after this file.
 */
#define pthread_timedjoin_np zs_hg_timedjoin_np

/*
 * pthread_once. Helgrind 3.19 does not intercept it either, and glibc's
 * fast path (an acquire load of the control word) is invisible to it, so
 * whatever the once routine wrote is "raced" by every later caller:
 * zs_port_at_thread_exit() reading exit_key (created in
 * exit_key_create() by the first thread to poll) was the report.
 * zs_hg_once() (hg_model.c) runs the routine through a trampoline that
 * ends with ANNOTATE_HAPPENS_BEFORE(control) and does
 * ANNOTATE_HAPPENS_AFTER(control) after every call: POSIX's guarantee,
 * which ThreadSanitizer models by intercepting pthread_once.
 */
#define pthread_once zs_hg_once

#endif /* ZSOCK_TESTS_HG_MODEL_H */
