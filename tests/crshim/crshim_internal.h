/*
 * crshim internals: what every runner shares (common.c). A runner
 * provides main() and the parts of the API that end or mark the running
 * test: crs_fatal_, crs_expect_fail_, crs_skip_. runner.c is the hosted
 * one (fork, threads, signals), runner_baremetal.c the one for a single
 * context (setjmp/longjmp).
 */
#ifndef CRSHIM_INTERNAL_H
#define CRSHIM_INTERNAL_H

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * 1 without an OS (bare metal): one context and a small stack, so the
 * message buffers are static and stdio needs no locking. 0 on a hosted
 * system, where test threads may fail at the same time. -DCRS_ONE_CONTEXT
 * overrides the guess.
 */
#ifndef CRS_ONE_CONTEXT
#if defined(__unix__) || defined(__APPLE__)
#define CRS_ONE_CONTEXT 0
#else
#define CRS_ONE_CONTEXT 1
#endif
#endif

/* Longest failure or log message; longer ones are cut. */
#if CRS_ONE_CONTEXT
#define CRS_MSG_MAX 512    /* static RAM of a small board */
#else
#define CRS_MSG_MAX 2048
#endif

/* Options that common.c reads; the runner's argument parsing sets them. */
extern int crs_opt_verbose;         /* --verbose: cr_log_info is printed */
extern bool crs_opt_short_names;    /* -S: base names of source files */

/* ---- registered tests ---------------------------------------------------------- */

/*
 * The registered tests sorted by suite, then name (the run order), as a
 * list linked through ->next; sorts in place, no allocation.
 */
struct crs_test *crs_sorted_tests(void);
const struct crs_suite *crs_find_suite(const char *name);

/* Effective options: the test's, else its suite's (s may be NULL). */
bool crs_opt_disabled(const struct crs_test *t, const struct crs_suite *s);
int crs_opt_signal(const struct crs_test *t, const struct crs_suite *s);
int crs_opt_exit_code(const struct crs_test *t, const struct crs_suite *s);

/* "suite::name", or "suite::name[index]" when index >= 0 (parameterized). */
void crs_test_name(char *buf, size_t n, const struct crs_test *t, long index);
/* "suite/name": what --filter matches. */
void crs_test_path(char *buf, size_t n, const struct crs_test *t);

/* ---- output ----------------------------------------------------------------------- */

const char *crs_short_file(const char *file);

/*
 * The message of a failure or skip: fmt is "\1" + the caller's optional
 * format (see criterion.h); without one, dflt.
 */
void crs_vformat(char *buf, size_t n, const char *dflt, const char *fmt, va_list ap);

/* Print "[----] file:line: Assertion Failed" and the message, to stderr. */
void crs_report_failure(const char *file, int line, const char *dflt,
			const char *fmt, va_list ap);

enum crs_result { CRS_PASS, CRS_FAIL, CRS_CRASH, CRS_SKIP };

struct crs_stats {
	unsigned int tested, passing, failing, crashing, skipped;
};

/*
 * Count a result and print its line: "[PASS] name", "[FAIL] name: why",
 * "[SKIP] name: why". why is "" or ends with ". "; secs < 0: no time
 * shown. A pass is printed only with print_pass.
 */
void crs_result(struct crs_stats *st, enum crs_result res, const char *name,
		const char *why, double secs, bool print_pass);

/* Criterion's closing "[====] Synthesis: ..." line. */
void crs_print_synthesis(const struct crs_stats *st);

#endif
