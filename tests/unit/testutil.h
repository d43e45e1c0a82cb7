/* testutil.h - helpers shared by the unit tests. */
#ifndef TTLOG_TESTUTIL_H
#define TTLOG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* TTLOG_TEST_SCALE shrinks loop counts under valgrind (see
 * tests/CMakeLists.txt); at least `min` is always returned. */
static inline uint64_t test_scaled(uint64_t n, uint64_t min)
{
	const char *s = getenv("TTLOG_TEST_SCALE");
	double f = s ? strtod(s, NULL) : 1.0;
	uint64_t v = (uint64_t)((double)n * (f > 0 ? f : 1.0));
	return v < min ? min : v;
}

#endif /* TTLOG_TESTUTIL_H */
