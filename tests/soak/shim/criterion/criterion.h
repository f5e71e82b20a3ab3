/*
 * The few Criterion assertions tests/common/zt_certs.c uses, for the soak
 * program (tests/soak/soak.c), which is plain C and has no test runner: a
 * failed assertion prints its message and ends the process with status 2.
 * Only zt_certs.c is compiled against this header.
 */
#ifndef SOAK_CRITERION_SHIM_H
#define SOAK_CRITERION_SHIM_H

#include <stddef.h>

void soak_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define cr_assert(cond, ...)          do { if (!(cond)) soak_fatal(__VA_ARGS__); } while (0)
#define cr_assert_fail(...)           soak_fatal(__VA_ARGS__)
#define cr_assert_not_null(p, ...)    cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_eq(a, b, ...)       cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...)       cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...)      cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...)       cr_assert((a) > (b), __VA_ARGS__)

#endif
