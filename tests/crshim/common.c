/*
 * crshim: the parts every runner shares (see crshim_internal.h): test
 * registration and order, effective options, names, message formatting
 * and output, cr_log_*, and the string and array comparisons of the
 * assertions. Plain C and stdio only, so that it builds on bare metal.
 */
#define _GNU_SOURCE
#include "crshim_internal.h"

#include <stdio.h>
#include <string.h>

int crs_opt_verbose;
bool crs_opt_short_names;

#if CRS_ONE_CONTEXT
/* One static buffer: the stack is small, and with one context a message
 * is never formatted while another one is. No locking either. */
static char msg_store[CRS_MSG_MAX];
#define MSG_BUF(m) char *const m = msg_store
#define lock_stderr() ((void)0)
#define unlock_stderr() ((void)0)
#else
/* On the stack: threads of a test may fail at the same time. */
#define MSG_BUF(m) char m[CRS_MSG_MAX]
#define lock_stderr() flockfile(stderr)
#define unlock_stderr() funlockfile(stderr)
#endif

/* ---- registration ------------------------------------------------------------ */

static struct crs_test *tests_head;
static struct crs_suite *suites_head;

void crs_register_test(struct crs_test *t)
{
	t->next = tests_head;
	tests_head = t;
}

void crs_register_suite(struct crs_suite *s)
{
	s->next = suites_head;
	suites_head = s;
}

const struct crs_suite *crs_find_suite(const char *name)
{
	for (const struct crs_suite *s = suites_head; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static int cmp_tests(const struct crs_test *x, const struct crs_test *y)
{
	int c = strcmp(x->suite, y->suite);

	return c != 0 ? c : strcmp(x->name, y->name);
}

struct crs_test *crs_sorted_tests(void)
{
	struct crs_test *sorted = NULL, *t, **pp;

	/* Insertion sort of the list: a few hundred tests at most, and no
	 * memory to allocate (bare metal). */
	while ((t = tests_head) != NULL) {
		tests_head = t->next;
		for (pp = &sorted; *pp != NULL && cmp_tests(*pp, t) <= 0; pp = &(*pp)->next)
			;
		t->next = *pp;
		*pp = t;
	}
	tests_head = sorted;
	return sorted;
}

bool crs_opt_disabled(const struct crs_test *t, const struct crs_suite *s)
{
	return t->opts->disabled || (s != NULL && s->opts->disabled);
}

int crs_opt_signal(const struct crs_test *t, const struct crs_suite *s)
{
	if (t->opts->signal != 0)
		return t->opts->signal;
	return s != NULL ? s->opts->signal : 0;
}

int crs_opt_exit_code(const struct crs_test *t, const struct crs_suite *s)
{
	if (t->opts->exit_code != 0)
		return t->opts->exit_code;
	return s != NULL ? s->opts->exit_code : 0;
}

void crs_test_name(char *buf, size_t n, const struct crs_test *t, long index)
{
	if (index >= 0)
		snprintf(buf, n, "%s::%s[%ld]", t->suite, t->name, index);
	else
		snprintf(buf, n, "%s::%s", t->suite, t->name);
}

void crs_test_path(char *buf, size_t n, const struct crs_test *t)
{
	snprintf(buf, n, "%s/%s", t->suite, t->name);
}

/* ---- output -------------------------------------------------------------------- */

const char *crs_short_file(const char *file)
{
	const char *s;

	if (!crs_opt_short_names)
		return file;
	s = strrchr(file, '/');
	return s != NULL ? s + 1 : file;
}

/* Print text with every line prefixed by "[----]   ". */
static void print_block(const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		int len = nl != NULL ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "[----]   %.*s\n", len, p);
		p += len + (nl != NULL);
	}
}

void crs_vformat(char *buf, size_t n, const char *dflt, const char *fmt, va_list ap)
{
	if (fmt[0] == '\1' && fmt[1] != '\0')
		vsnprintf(buf, n, fmt + 1, ap);
	else
		snprintf(buf, n, "%s", dflt);
}

void crs_report_failure(const char *file, int line, const char *dflt,
			const char *fmt, va_list ap)
{
	MSG_BUF(msg);

	crs_vformat(msg, CRS_MSG_MAX, dflt, fmt, ap);
	lock_stderr();
	fprintf(stderr, "[----] %s:%d: Assertion Failed\n", crs_short_file(file), line);
	print_block(msg);
	unlock_stderr();
	fflush(stderr);
}

void crs_log_(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "[----]", "[----]", "[WARN]", "[ERR ]" };
	MSG_BUF(msg);
	va_list ap;

	if (level == CRS_LOG_INFO_ && crs_opt_verbose == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, CRS_MSG_MAX, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s %s\n", tag[level >= 1 && level <= 3 ? level : 0], msg);
	fflush(stderr);
}

void crs_result(struct crs_stats *st, enum crs_result res, const char *name,
		const char *why, double secs, bool print_pass)
{
	int len;

	switch (res) {
	case CRS_PASS:
		st->tested++;
		st->passing++;
		if (!print_pass)
			break;
		if (secs >= 0)
			fprintf(stderr, "[PASS] %s: (%.2fs)\n", name, secs);
		else
			fprintf(stderr, "[PASS] %s\n", name);
		break;
	case CRS_CRASH:
		st->crashing++;
		/* fall through */
	case CRS_FAIL:
		st->tested++;
		st->failing++;
		if (secs >= 0) {
			fprintf(stderr, "[FAIL] %s: %s(%.2fs)\n", name, why, secs);
			break;
		}
		/* no time: drop the separator that preceded it */
		len = (int)strlen(why);
		while (len > 0 && why[len - 1] == ' ')
			len--;
		if (len > 0)
			fprintf(stderr, "[FAIL] %s: %.*s\n", name, len, why);
		else
			fprintf(stderr, "[FAIL] %s\n", name);
		break;
	case CRS_SKIP:
		st->skipped++;
		fprintf(stderr, "[SKIP] %s: %s\n", name, why);
		break;
	}
	fflush(stderr);
}

void crs_print_synthesis(const struct crs_stats *st)
{
	fprintf(stderr, "[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: %u",
		st->tested, st->passing, st->failing, st->crashing);
	if (st->skipped > 0)
		fprintf(stderr, " | Skipped: %u", st->skipped);
	fprintf(stderr, "\n");
}

/* ---- assertion helpers -------------------------------------------------------------- */

bool crs_str_cmp_(int op, const char *a, const char *b, const char *text,
		  char *buf, size_t n)
{
	int c;
	bool ok;

	if (a == NULL || b == NULL) {
		snprintf(buf, n, "The expression %s is false: %s is NULL.", text,
			 a == NULL ? "actual" : "expected");
		return false;
	}
	c = strcmp(a, b);
	switch (op) {
	case CRS_STR_EQ_: ok = c == 0; break;
	case CRS_STR_NE_: ok = c != 0; break;
	case CRS_STR_LT_: ok = c < 0; break;
	case CRS_STR_LE_: ok = c <= 0; break;
	case CRS_STR_GT_: ok = c > 0; break;
	case CRS_STR_GE_: ok = c >= 0; break;
	case CRS_STR_EMPTY_: ok = a[0] == '\0'; break;
	default: ok = a[0] != '\0'; break;
	}
	if (!ok) {
		if (op == CRS_STR_EMPTY_ || op == CRS_STR_NOT_EMPTY_)
			snprintf(buf, n, "The expression %s is false: actual=`%s`.", text, a);
		else
			snprintf(buf, n, "The expression %s is false: actual=`%s` expected=`%s`.",
				 text, a, b);
	}
	return ok;
}

bool crs_arr_cmp_(bool want_eq, const void *a, const void *b, size_t size,
		  const char *text, char *buf, size_t n)
{
	const unsigned char *pa = a, *pb = b;
	size_t i = 0;

	if (a == NULL || b == NULL) {
		snprintf(buf, n, "The expression %s is false: %s is NULL.", text,
			 a == NULL ? "actual" : "expected");
		return false;
	}
	while (i < size && pa[i] == pb[i])
		i++;
	if ((i == size) == want_eq)
		return true;
	if (want_eq)
		snprintf(buf, n, "The expression %s is false: first difference at byte %zu "
			 "of %zu (0x%02x, expected 0x%02x).", text, i, size, pa[i], pb[i]);
	else
		snprintf(buf, n, "The expression %s is false (%zu equal bytes).", text, size);
	return false;
}
