/*
 * crshim: a small stand-in for Criterion's <criterion/criterion.h>, used
 * only by the ThreadSanitizer build (-Dcriterion_shim=true), where Debian's
 * Criterion 2.4 cannot start (Snaipe/Criterion#274). See ../README.md.
 *
 * Only the subset of the Criterion API the zsock tests use is provided:
 * Test, TestSuite, ParameterizedTest(Parameters), the old-style
 * cr_assert_* / cr_expect_* macros, cr_skip_test and cr_log_*. The runner
 * (main) is in runner.c.
 *
 * Every argument of an assertion is evaluated once; the optional message
 * arguments only when the assertion fails. The optional message MUST start
 * with a string literal (as in every use in the tests).
 */
#ifndef CRSHIM_CRITERION_H
#define CRSHIM_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- test and suite options ------------------------------------------------ */

/** Options of Test(...) and TestSuite(...), given as designated initializers. */
struct criterion_test_extra_data {
	int crs_unused_;          /* keeps the initializer non-empty */
	void (*init)(void);       /* run in the test process before the test */
	void (*fini)(void);       /* run in the test process after it */
	int signal;               /* the test passes only if killed by this */
	int exit_code;            /* the test passes only if it exits with this */
	bool disabled;            /* not run, reported as skipped */
	const char *description;
	double timeout;           /* seconds; 0: none */
	void *data;
};

/** Parameters of a parameterized test: length elements of size bytes. */
struct criterion_test_params {
	size_t size;
	void *params;
	size_t length;
	void (*cleanup)(struct criterion_test_params *);
};

/* Registration records (internal). */
struct crs_test {
	const char *suite;
	const char *name;
	const char *file;
	int line;
	void (*fn)(void);                                   /* plain test */
	void (*pfn)(void);                                  /* parameterized: takes a pointer */
	struct criterion_test_params (*params)(void);
	const struct criterion_test_extra_data *opts;
	struct crs_test *next;
};

struct crs_suite {
	const char *name;
	const struct criterion_test_extra_data *opts;
	struct crs_suite *next;
};

void crs_register_test(struct crs_test *t);
void crs_register_suite(struct crs_suite *s);

#define CRS_ID_(Kind, Suite, Name) crs_##Kind##_##Suite##_##Name

/** Test(suite, name, .opt = value...) { body } */
#define Test(Suite, Name, ...)                                                   \
	static void CRS_ID_(fn, Suite, Name)(void);                              \
	static const struct criterion_test_extra_data CRS_ID_(opt, Suite, Name) = { \
		.crs_unused_ = 0, __VA_ARGS__ };                                 \
	static struct crs_test CRS_ID_(rec, Suite, Name) = {                     \
		#Suite, #Name, __FILE__, __LINE__, CRS_ID_(fn, Suite, Name),     \
		NULL, NULL, &CRS_ID_(opt, Suite, Name), NULL };                  \
	__attribute__((constructor)) static void CRS_ID_(reg, Suite, Name)(void) \
	{                                                                        \
		crs_register_test(&CRS_ID_(rec, Suite, Name));                   \
	}                                                                        \
	static void CRS_ID_(fn, Suite, Name)(void)

/** TestSuite(suite, .opt = value...); applies to every test of the suite. */
#define TestSuite(Name, ...)                                                     \
	static const struct criterion_test_extra_data crs_sopt_##Name = {        \
		.crs_unused_ = 0, __VA_ARGS__ };                                 \
	static struct crs_suite crs_srec_##Name = { #Name, &crs_sopt_##Name, NULL }; \
	__attribute__((constructor)) static void crs_sreg_##Name(void)           \
	{                                                                        \
		crs_register_suite(&crs_srec_##Name);                            \
	}                                                                        \
	extern const int crs_suite_decl_##Name

/** ParameterizedTestParameters(suite, name) { return cr_make_param_array(...); } */
#define ParameterizedTestParameters(Suite, Name)                                 \
	static struct criterion_test_params CRS_ID_(par, Suite, Name)(void)

/**
 * ParameterizedTest(Type *param, suite, name, .opt = value...) { body }
 * The body runs once per element, each in its own process, with param
 * pointing at the element.
 */
#define ParameterizedTest(Param, Suite, Name, ...)                               \
	static struct criterion_test_params CRS_ID_(par, Suite, Name)(void);     \
	static void CRS_ID_(fn, Suite, Name)(Param);                             \
	static const struct criterion_test_extra_data CRS_ID_(opt, Suite, Name) = { \
		.crs_unused_ = 0, __VA_ARGS__ };                                 \
	static struct crs_test CRS_ID_(rec, Suite, Name) = {                     \
		#Suite, #Name, __FILE__, __LINE__, NULL,                         \
		(void (*)(void))CRS_ID_(fn, Suite, Name),                        \
		CRS_ID_(par, Suite, Name), &CRS_ID_(opt, Suite, Name), NULL };   \
	__attribute__((constructor)) static void CRS_ID_(reg, Suite, Name)(void) \
	{                                                                        \
		crs_register_test(&CRS_ID_(rec, Suite, Name));                   \
	}                                                                        \
	static void CRS_ID_(fn, Suite, Name)(Param)

/** cr_make_param_array(Type, array, count [, cleanup]) */
#define cr_make_param_array(Type, Array, Len, ...)                               \
	((struct criterion_test_params){ .size = sizeof(Type),                   \
		.params = (void *)(Array), .length = (Len), __VA_ARGS__ })

/* ---- failure reporting (internal) -------------------------------------------- */

/*
 * fmt is "\1" followed by the caller's optional format: the marker keeps
 * the format non-empty (-Wformat-zero-length) when no message is given.
 */
__attribute__((noreturn, format(printf, 4, 5)))
void crs_fatal_(const char *file, int line, const char *dflt, const char *fmt, ...);
__attribute__((format(printf, 4, 5)))
void crs_expect_fail_(const char *file, int line, const char *dflt, const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2)))
void crs_skip_(const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
void crs_log_(int level, const char *fmt, ...);
/* Helpers that need the operands' values: they report and return cond. */
bool crs_str_cmp_(int op, const char *a, const char *b, const char *text,
		  char *buf, size_t n);
bool crs_arr_cmp_(bool want_eq, const void *a, const void *b, size_t size,
		  const char *text, char *buf, size_t n);

/* Fatal is the literal 1 (cr_assert_*) or 0 (cr_expect_*). */
#define CRS_FAIL_(Fatal, Dflt, ...) CRS_FAIL_##Fatal##_(Dflt, __VA_ARGS__)
#define CRS_FAIL_1_(Dflt, ...) crs_fatal_(__FILE__, __LINE__, (Dflt), "\1" __VA_ARGS__)
#define CRS_FAIL_0_(Dflt, ...) crs_expect_fail_(__FILE__, __LINE__, (Dflt), "\1" __VA_ARGS__)

#define CRS_CHECK_(Fatal, Cond, Dflt, ...)                                       \
	do {                                                                     \
		if (!(Cond))                                                     \
			CRS_FAIL_(Fatal, Dflt, __VA_ARGS__);                     \
	} while (0)

#define CRS_STR_(Fatal, Op, Text, A, B, ...)                                     \
	do {                                                                     \
		char crs_msg_[512];                                              \
		if (!crs_str_cmp_((Op), (A), (B), Text, crs_msg_, sizeof(crs_msg_))) \
			CRS_FAIL_(Fatal, crs_msg_, __VA_ARGS__);                 \
	} while (0)

#define CRS_ARR_(Fatal, WantEq, Text, A, B, Size, ...)                           \
	do {                                                                     \
		char crs_msg_[512];                                              \
		if (!crs_arr_cmp_((WantEq), (A), (B), (Size), Text, crs_msg_,    \
				  sizeof(crs_msg_)))                             \
			CRS_FAIL_(Fatal, crs_msg_, __VA_ARGS__);                 \
	} while (0)

/* String comparisons for crs_str_cmp_. */
enum { CRS_STR_EQ_, CRS_STR_NE_, CRS_STR_LT_, CRS_STR_LE_, CRS_STR_GT_, CRS_STR_GE_,
       CRS_STR_EMPTY_, CRS_STR_NOT_EMPTY_ };

/* ---- assertions: cr_assert_* end the test, cr_expect_* go on ------------------ */

/* The operand texts are stringized here, before any macro in them expands. */
#define CRS_CMP_TEXT_(A, Op, B) "The expression (" #A ") " #Op " (" #B ") is false."

#define cr_assert(Cond, ...)      CRS_CHECK_(1, Cond, "The expression " #Cond " is false.", __VA_ARGS__)
#define cr_expect(Cond, ...)      CRS_CHECK_(0, Cond, "The expression " #Cond " is false.", __VA_ARGS__)
#define cr_assert_not(Cond, ...)  CRS_CHECK_(1, !(Cond), "The expression !(" #Cond ") is false.", __VA_ARGS__)
#define cr_expect_not(Cond, ...)  CRS_CHECK_(0, !(Cond), "The expression !(" #Cond ") is false.", __VA_ARGS__)

#define cr_assert_fail(...) CRS_FAIL_1_("The conditions for this assertion were not met.", __VA_ARGS__)
#define cr_expect_fail(...) CRS_FAIL_0_("The conditions for this assertion were not met.", __VA_ARGS__)

#define cr_assert_eq(A, B, ...)   CRS_CHECK_(1, (A) == (B), CRS_CMP_TEXT_(A, ==, B), __VA_ARGS__)
#define cr_expect_eq(A, B, ...)   CRS_CHECK_(0, (A) == (B), CRS_CMP_TEXT_(A, ==, B), __VA_ARGS__)
#define cr_assert_neq(A, B, ...)  CRS_CHECK_(1, (A) != (B), CRS_CMP_TEXT_(A, !=, B), __VA_ARGS__)
#define cr_expect_neq(A, B, ...)  CRS_CHECK_(0, (A) != (B), CRS_CMP_TEXT_(A, !=, B), __VA_ARGS__)
#define cr_assert_lt(A, B, ...)   CRS_CHECK_(1, (A) < (B), CRS_CMP_TEXT_(A, <, B), __VA_ARGS__)
#define cr_expect_lt(A, B, ...)   CRS_CHECK_(0, (A) < (B), CRS_CMP_TEXT_(A, <, B), __VA_ARGS__)
#define cr_assert_leq(A, B, ...)  CRS_CHECK_(1, (A) <= (B), CRS_CMP_TEXT_(A, <=, B), __VA_ARGS__)
#define cr_expect_leq(A, B, ...)  CRS_CHECK_(0, (A) <= (B), CRS_CMP_TEXT_(A, <=, B), __VA_ARGS__)
#define cr_assert_gt(A, B, ...)   CRS_CHECK_(1, (A) > (B), CRS_CMP_TEXT_(A, >, B), __VA_ARGS__)
#define cr_expect_gt(A, B, ...)   CRS_CHECK_(0, (A) > (B), CRS_CMP_TEXT_(A, >, B), __VA_ARGS__)
#define cr_assert_geq(A, B, ...)  CRS_CHECK_(1, (A) >= (B), CRS_CMP_TEXT_(A, >=, B), __VA_ARGS__)
#define cr_expect_geq(A, B, ...)  CRS_CHECK_(0, (A) >= (B), CRS_CMP_TEXT_(A, >=, B), __VA_ARGS__)

#define cr_assert_null(V, ...)      CRS_CHECK_(1, (V) == NULL, #V " is not null.", __VA_ARGS__)
#define cr_expect_null(V, ...)      CRS_CHECK_(0, (V) == NULL, #V " is not null.", __VA_ARGS__)
#define cr_assert_not_null(V, ...)  CRS_CHECK_(1, (V) != NULL, #V " is null.", __VA_ARGS__)
#define cr_expect_not_null(V, ...)  CRS_CHECK_(0, (V) != NULL, #V " is null.", __VA_ARGS__)

static inline bool crs_float_near_(double a, double b, double eps)
{
	double d = a - b;

	return (d < 0 ? -d : d) <= eps;
}
#define CRS_FLT_TEXT_(A, Op, B, Eps) "The expression (" #A ") " #Op " (" #B ") within " #Eps " is false."
#define cr_assert_float_eq(A, B, Eps, ...) \
	CRS_CHECK_(1, crs_float_near_((A), (B), (Eps)), CRS_FLT_TEXT_(A, ==, B, Eps), __VA_ARGS__)
#define cr_expect_float_eq(A, B, Eps, ...) \
	CRS_CHECK_(0, crs_float_near_((A), (B), (Eps)), CRS_FLT_TEXT_(A, ==, B, Eps), __VA_ARGS__)
#define cr_assert_float_neq(A, B, Eps, ...) \
	CRS_CHECK_(1, !crs_float_near_((A), (B), (Eps)), CRS_FLT_TEXT_(A, !=, B, Eps), __VA_ARGS__)
#define cr_expect_float_neq(A, B, Eps, ...) \
	CRS_CHECK_(0, !crs_float_near_((A), (B), (Eps)), CRS_FLT_TEXT_(A, !=, B, Eps), __VA_ARGS__)

#define CRS_STR_TEXT_(A, Op, B) "(as strings) (" #A ") " #Op " (" #B ")"
#define cr_assert_str_eq(A, B, ...)   CRS_STR_(1, CRS_STR_EQ_, CRS_STR_TEXT_(A, ==, B), A, B, __VA_ARGS__)
#define cr_expect_str_eq(A, B, ...)   CRS_STR_(0, CRS_STR_EQ_, CRS_STR_TEXT_(A, ==, B), A, B, __VA_ARGS__)
#define cr_assert_str_neq(A, B, ...)  CRS_STR_(1, CRS_STR_NE_, CRS_STR_TEXT_(A, !=, B), A, B, __VA_ARGS__)
#define cr_expect_str_neq(A, B, ...)  CRS_STR_(0, CRS_STR_NE_, CRS_STR_TEXT_(A, !=, B), A, B, __VA_ARGS__)
#define cr_assert_str_lt(A, B, ...)   CRS_STR_(1, CRS_STR_LT_, CRS_STR_TEXT_(A, <, B), A, B, __VA_ARGS__)
#define cr_expect_str_lt(A, B, ...)   CRS_STR_(0, CRS_STR_LT_, CRS_STR_TEXT_(A, <, B), A, B, __VA_ARGS__)
#define cr_assert_str_leq(A, B, ...)  CRS_STR_(1, CRS_STR_LE_, CRS_STR_TEXT_(A, <=, B), A, B, __VA_ARGS__)
#define cr_expect_str_leq(A, B, ...)  CRS_STR_(0, CRS_STR_LE_, CRS_STR_TEXT_(A, <=, B), A, B, __VA_ARGS__)
#define cr_assert_str_gt(A, B, ...)   CRS_STR_(1, CRS_STR_GT_, CRS_STR_TEXT_(A, >, B), A, B, __VA_ARGS__)
#define cr_expect_str_gt(A, B, ...)   CRS_STR_(0, CRS_STR_GT_, CRS_STR_TEXT_(A, >, B), A, B, __VA_ARGS__)
#define cr_assert_str_geq(A, B, ...)  CRS_STR_(1, CRS_STR_GE_, CRS_STR_TEXT_(A, >=, B), A, B, __VA_ARGS__)
#define cr_expect_str_geq(A, B, ...)  CRS_STR_(0, CRS_STR_GE_, CRS_STR_TEXT_(A, >=, B), A, B, __VA_ARGS__)
#define cr_assert_str_empty(A, ...)     CRS_STR_(1, CRS_STR_EMPTY_, "(" #A ") is empty", A, "", __VA_ARGS__)
#define cr_expect_str_empty(A, ...)     CRS_STR_(0, CRS_STR_EMPTY_, "(" #A ") is empty", A, "", __VA_ARGS__)
#define cr_assert_str_not_empty(A, ...) CRS_STR_(1, CRS_STR_NOT_EMPTY_, "(" #A ") is not empty", A, "", __VA_ARGS__)
#define cr_expect_str_not_empty(A, ...) CRS_STR_(0, CRS_STR_NOT_EMPTY_, "(" #A ") is not empty", A, "", __VA_ARGS__)

/** cr_assert_arr_eq(a, b, size_in_bytes [, fmt, ...]): memcmp() == 0 */
#define CRS_ARR_TEXT_(A, Op, B) "(" #A ")[0..Size] " #Op " (" #B ")[0..Size]"
#define cr_assert_arr_eq(A, B, Size, ...)   CRS_ARR_(1, true, CRS_ARR_TEXT_(A, ==, B), A, B, Size, __VA_ARGS__)
#define cr_expect_arr_eq(A, B, Size, ...)   CRS_ARR_(0, true, CRS_ARR_TEXT_(A, ==, B), A, B, Size, __VA_ARGS__)
#define cr_assert_arr_neq(A, B, Size, ...)  CRS_ARR_(1, false, CRS_ARR_TEXT_(A, !=, B), A, B, Size, __VA_ARGS__)
#define cr_expect_arr_neq(A, B, Size, ...)  CRS_ARR_(0, false, CRS_ARR_TEXT_(A, !=, B), A, B, Size, __VA_ARGS__)

/* ---- skipping and logging ------------------------------------------------------ */

/** End the test now, reported as skipped (the .fini does not run, as in Criterion). */
#define cr_skip_test(...) crs_skip_("\1" __VA_ARGS__)

enum crs_log_level_ { CRS_LOG_INFO_ = 1, CRS_LOG_WARN_, CRS_LOG_ERROR_ };

/** cr_log_info is shown with --verbose only; warn and error always. */
#define cr_log_info(...)  crs_log_(CRS_LOG_INFO_, __VA_ARGS__)
#define cr_log_warn(...)  crs_log_(CRS_LOG_WARN_, __VA_ARGS__)
#define cr_log_error(...) crs_log_(CRS_LOG_ERROR_, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
