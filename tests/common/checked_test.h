/*
 * CHECKED_TEST: a Criterion Test whose end-of-test checks run inside the
 * test. Criterion 2.4 prints an assertion that fails in a suite's .fini but
 * still reports the test as passed, so leak checks there would never fail
 * anything; here check() runs after the body, where a failure counts.
 */
#ifndef ZSOCK_CHECKED_TEST_H
#define ZSOCK_CHECKED_TEST_H

#include <criterion/criterion.h>

#define CHECKED_TEST(suite, name, check, ...)                     \
	static void checked_body_##suite##_##name(void);           \
	Test(suite, name, ##__VA_ARGS__)                           \
	{                                                          \
		checked_body_##suite##_##name();                   \
		check();                                           \
	}                                                          \
	static void checked_body_##suite##_##name(void)

#endif
