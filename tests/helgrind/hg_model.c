/* See hg_model.h: pthread_timedjoin_np and pthread_once as Helgrind
 * sees them. Built with hg_model.h force-included, like zt.c: undo its
 * renames here, where the real functions are called. */
#define _GNU_SOURCE
#undef pthread_timedjoin_np
#undef pthread_once
#include <pthread.h>
#include <time.h>
#include <valgrind/helgrind.h>

int zs_hg_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime);
int zs_hg_once(pthread_once_t *control, void (*routine)(void));

int zs_hg_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime)
{
	int rc = pthread_timedjoin_np(t, ret, abstime);

	/* what vgpreload_helgrind's pthread_join wrapper does after a join */
	if (rc == 0)
		VALGRIND_DO_CLIENT_REQUEST_STMT(_VG_USERREQ__HG_PTHREAD_JOIN_POST, t, 0, 0, 0, 0);
	return rc;
}

/* The routine and control of the innermost zs_hg_once() of this thread
 * (a once routine may itself call pthread_once). */
static _Thread_local void (*once_routine)(void);
static _Thread_local pthread_once_t *once_control;

static void once_trampoline(void)
{
	pthread_once_t *control = once_control;

	once_routine();
	ANNOTATE_HAPPENS_BEFORE(control);
}

int zs_hg_once(pthread_once_t *control, void (*routine)(void))
{
	void (*outer_routine)(void) = once_routine;
	pthread_once_t *outer_control = once_control;
	int rc;

	once_routine = routine;
	once_control = control;
	rc = pthread_once(control, once_trampoline);
	once_routine = outer_routine;
	once_control = outer_control;
	ANNOTATE_HAPPENS_AFTER(control);
	return rc;
}
