/*
 * crshim runner for one context (bare metal: no processes, no threads,
 * no signals): main() runs every registered test in turn, sorted by
 * suite and name as runner.c does, all in this one context.
 *
 * Each phase (suite and test .init, the body, test and suite .fini) runs
 * under a setjmp(): a failed cr_assert or a cr_skip_test longjmp()s back
 * here, a failed cr_expect only marks the test. The phases follow runner.c
 * (and Criterion): .fini runs after the body, also after a failed assert
 * in it, but not after a failure in .init or a skip. Nothing is isolated:
 * what a test leaves behind (open sockets, memory, globals) stays for the
 * tests that follow, and a crash or a hang ends the whole run. Tests
 * with .signal or .exit_code need a process of their own and are reported
 * skipped; .timeout is ignored.
 *
 * Arguments: --filter GLOB (on suite/name; '*' and '?'), -l/--list,
 * --verbose (a [RUN ] line before each test, and cr_log_info), -S.
 * Returns 0 when no test failed, 1 otherwise, 2 on a bad argument.
 */
#include "crshim_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum phase { PH_IDLE, PH_INIT, PH_BODY, PH_FINI };

/* The running test. Static: the stack is small and there is one. */
static struct {
	enum phase phase;
	enum phase fail_phase;   /* phase of the first failure */
	int failures;            /* failed assertions and expectations */
	bool skipped;
	char skip_msg[256];
	const struct crs_test *t;
	const struct crs_suite *s;
	void *param;             /* parameterized: the element */
} cur;

/* Where a fatal assertion or a skip returns to: the guarded() running. */
static jmp_buf unwind;

static const char *opt_filter;
static bool opt_list;
static struct crs_stats stats;
static char name_buf[256];

/* ---- ending the test -------------------------------------------------------------- */

__attribute__((noreturn)) static void no_test(const char *what)
{
	fprintf(stderr, "[ERR ] crshim: %s outside a test\n", what);
	fflush(stderr);
	abort();
}

static void count_failure(void)
{
	if (cur.failures++ == 0)
		cur.fail_phase = cur.phase;
}

void crs_fatal_(const char *file, int line, const char *dflt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crs_report_failure(file, line, dflt, fmt, ap);
	va_end(ap);
	if (cur.phase == PH_IDLE)
		no_test("assertion failed");
	count_failure();
	longjmp(unwind, 1);
}

void crs_expect_fail_(const char *file, int line, const char *dflt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crs_report_failure(file, line, dflt, fmt, ap);
	va_end(ap);
	if (cur.phase == PH_IDLE)
		no_test("expectation failed");
	count_failure();
}

void crs_skip_(const char *fmt, ...)
{
	va_list ap;

	if (cur.phase == PH_IDLE)
		no_test("cr_skip_test");
	va_start(ap, fmt);
	crs_vformat(cur.skip_msg, sizeof(cur.skip_msg), "The test was skipped.", fmt, ap);
	va_end(ap);
	cur.skipped = true;
	longjmp(unwind, 1);
}

/* ---- running one test --------------------------------------------------------------- */

static void do_init(void)
{
	if (cur.s != NULL && cur.s->opts->init != NULL)
		cur.s->opts->init();
	if (cur.t->opts->init != NULL)
		cur.t->opts->init();
}

static void do_body(void)
{
	if (cur.t->fn != NULL)
		cur.t->fn();
	else
		((void (*)(void *))cur.t->pfn)(cur.param);
}

static void do_fini(void)
{
	if (cur.t->opts->fini != NULL)
		cur.t->opts->fini();
	if (cur.s != NULL && cur.s->opts->fini != NULL)
		cur.s->opts->fini();
}

/* fn() in a frame of its own: false when a fatal assertion or a skip ended it. */
static bool guarded(void (*fn)(void))
{
	if (setjmp(unwind) != 0)
		return false;
	fn();
	return true;
}

static void run(const struct crs_test *t, const struct crs_suite *s, void *param, long index)
{
	static char why[64];
	enum crs_result res = CRS_PASS;
	int want_sig = crs_opt_signal(t, s), want_code = crs_opt_exit_code(t, s);

	crs_test_name(name_buf, sizeof(name_buf), t, index);
	if (opt_list) {
		printf("%s%s\n", name_buf, crs_opt_disabled(t, s) ? " (disabled)" : "");
		return;
	}
	if (crs_opt_disabled(t, s)) {
		crs_result(&stats, CRS_SKIP, name_buf, "Test is disabled", -1, false);
		return;
	}
	if (want_sig != 0 || want_code != 0) {
		/* the test must die or exit(): only a process of its own can */
		if (want_sig != 0)
			snprintf(why, sizeof(why), "expects signal %d: needs fork, not run", want_sig);
		else
			snprintf(why, sizeof(why), "expects exit code %d: needs fork, not run",
				 want_code);
		crs_result(&stats, CRS_SKIP, name_buf, why, -1, false);
		return;
	}
	if (crs_opt_verbose)
		fprintf(stderr, "[RUN ] %s\n", name_buf);

	memset(&cur, 0, sizeof(cur));
	cur.t = t;
	cur.s = s;
	cur.param = param;
	cur.phase = PH_INIT;
	if (guarded(do_init)) {
		cur.phase = PH_BODY;
		guarded(do_body);
		if (!cur.skipped) {
			cur.phase = PH_FINI;
			guarded(do_fini);
		}
	}
	cur.phase = PH_IDLE;
	fflush(stdout);

	why[0] = '\0';
	if (cur.failures > 0) {
		res = CRS_FAIL;
		if (cur.fail_phase == PH_INIT)
			snprintf(why, sizeof(why), "failed in .init. ");
		else if (cur.fail_phase == PH_FINI)
			snprintf(why, sizeof(why), "failed in .fini. ");
	} else if (cur.skipped) {
		res = CRS_SKIP;
	}
	crs_result(&stats, res, name_buf, res == CRS_SKIP ? cur.skip_msg : why, -1, true);
}

/* ---- the run -------------------------------------------------------------------------- */

/* Glob match: '*' any run of characters (also '/'), '?' any one; no classes. */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;   /* let the last '*' take one more character */
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static void usage(const char *argv0, FILE *f)
{
	fprintf(f, "usage: %s [--filter GLOB] [-l|--list] [--verbose] [-S]\n"
		"crshim runner for one context (see tests/crshim/runner_baremetal.c)\n",
		argv0 != NULL ? argv0 : "test");
}

/* 0: run, -1: done (--help), 2: bad arguments. */
static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i] != NULL; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(argv[0], stdout);
			return -1;
		} else if (strcmp(a, "-l") == 0 || strcmp(a, "--list") == 0)
			opt_list = true;
		else if (strcmp(a, "-S") == 0 || strcmp(a, "--short-filename") == 0)
			crs_opt_short_names = true;
		else if (strcmp(a, "--verbose") == 0)
			crs_opt_verbose = 1;
		else if (strncmp(a, "--verbose=", 10) == 0)
			crs_opt_verbose = atoi(a + 10);
		else if (strncmp(a, "--filter=", 9) == 0)
			opt_filter = a + 9;
		else if (strcmp(a, "--filter") == 0 && i + 1 < argc && argv[i + 1] != NULL)
			opt_filter = argv[++i];
		else {
			fprintf(stderr, "crshim: bad argument '%s'\n", a);
			usage(argv[0], stderr);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char path[256];
	int rc = parse_args(argc, argv);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	for (const struct crs_test *t = crs_sorted_tests(); t != NULL; t = t->next) {
		const struct crs_suite *s = crs_find_suite(t->suite);

		if (opt_filter != NULL) {
			crs_test_path(path, sizeof(path), t);
			if (!glob_match(opt_filter, path))
				continue;
		}
		if (t->params == NULL) {
			run(t, s, NULL, -1);
			continue;
		}
		struct criterion_test_params p = t->params();

		for (size_t k = 0; k < p.length; k++)
			run(t, s, (char *)p.params + k * p.size, (long)k);
		if (p.cleanup != NULL)
			p.cleanup(&p);
	}
	if (opt_list)
		return 0;
	crs_print_synthesis(&stats);
	fflush(stdout);
	return stats.failing > 0 ? 1 : 0;
}
