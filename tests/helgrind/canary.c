/*
 * The helgrind suite's self-test: two races that Helgrind MUST report
 * under hg_model.h, so that a suite gone blind (atomics modelled as
 * stronger than they are, checking disabled too widely, valgrind not
 * really running) fails instead of passing quietly. run.sh --expect-errors
 * turns "errors found" into a pass.
 *
 *  - plain data published with a relaxed flag: relaxed gives no edge;
 *  - plain data written by two threads with no synchronisation at all.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

static int payload;
static atomic_int ready;
static int counter;

static void *publisher(void *arg)
{
	(void)arg;
	payload = 42;
	atomic_store_explicit(&ready, 1, memory_order_relaxed);
	counter++;
	return NULL;
}

Test(canary, relaxed_publication_and_a_plain_race)
{
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, publisher, NULL), 0);
	while (atomic_load_explicit(&ready, memory_order_relaxed) == 0)
		sched_yield();
	cr_assert_eq(payload, 42);
	counter++;
	cr_assert_eq(pthread_join(t, NULL), 0);
}
