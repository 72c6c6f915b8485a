/* check: the unit-test harness. Each test function reports PASS/FAIL/SKIP lines that
 * tests/run.sh counts; a failed CHECK ends that test with the file:line and expression. */
#ifndef RV_CHECK_H
#define RV_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static const char *check_current;
static int check_current_failed;

#define CHECK(cond)                                                                                         \
	do {                                                                                                \
		if (!(cond)) {                                                                              \
			printf("FAIL %s: %s:%d: %s\n", check_current, __FILE__, __LINE__, #cond);          \
			check_current_failed = 1;                                                           \
			return;                                                                             \
		}                                                                                           \
	} while (0)

#define CHECK_EQ(a, b)                                                                                      \
	do {                                                                                                \
		long long _a = (long long)(a), _b = (long long)(b);                                        \
		if (_a != _b) {                                                                             \
			printf("FAIL %s: %s:%d: %s == %s (%lld != %lld)\n", check_current, __FILE__, __LINE__, \
			       #a, #b, _a, _b);                                                             \
			check_current_failed = 1;                                                           \
			return;                                                                             \
		}                                                                                           \
	} while (0)

#define SKIP(...)                                                                                           \
	do {                                                                                                \
		printf("SKIP %s: ", check_current);                                                         \
		printf(__VA_ARGS__);                                                                        \
		printf("\n");                                                                               \
		check_current_failed = -1;                                                                  \
		return;                                                                                     \
	} while (0)

#define RUN(fn)                                                                                             \
	do {                                                                                                \
		check_current = #fn;                                                                        \
		check_current_failed = 0;                                                                   \
		fflush(stdout);                                                                             \
		fn();                                                                                       \
		if (check_current_failed > 0)                                                               \
			check_failures++;                                                                   \
		else if (check_current_failed == 0)                                                         \
			printf("PASS %s\n", #fn);                                                           \
		fflush(stdout);                                                                             \
	} while (0)

#define CHECK_EXIT() return check_failures ? 1 : 0

#endif
