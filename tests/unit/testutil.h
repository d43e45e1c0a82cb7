/* testutil.h - helpers shared by the unit tests. */
#ifndef TTLOG_TESTUTIL_H
#define TTLOG_TESTUTIL_H

#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Writes data to a new file made from the mkstemp() template path. */
static inline void write_temp(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);
	const unsigned char *p = data;

	assert_true(fd >= 0);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			close(fd);
			unlink(path);
			fail_msg("write to %s failed", path);
		}
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

/* Runs cmd and returns its whole standard output (NUL-terminated, caller
 * frees) and, in *status, what pclose() said. */
static inline char *run_capture(const char *cmd, size_t *len, int *status)
{
	FILE *f = popen(cmd, "r");
	size_t cap = 4096, n = 0, r;
	char *out = malloc(cap);

	assert_non_null(f);
	assert_non_null(out);
	while ((r = fread(out + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
	}
	out[n] = '\0';
	*len = n;
	*status = pclose(f);
	return out;
}

/* d moved by `steps` units in the last place (negative: down), through
 * its bits: the neighbours of a value that rounding might confuse. */
static inline double test_next_ulp(double d, int steps)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	u += (uint64_t)(int64_t)steps;
	memcpy(&d, &u, 8);
	return d;
}

/* The reference for doubles written as text (common/dtoa.h), spelt out
 * with the C library: the first of %.15g, %.16g, %.17g that strtod()
 * reads back as d, from %.1g for subnormals. Finite d, C locale. */
static inline void test_shortest_g(double d, char *out, size_t n)
{
	double mag = d < 0 ? -d : d;
	int prec = d != 0 && mag < DBL_MIN ? 1 : 15;

	for (; prec <= 17; prec++) {
		snprintf(out, n, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* The whole file at path (one spare byte after it, for a terminator);
 * its size in *len. Caller frees. */
static inline unsigned char *read_whole_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

#endif /* TTLOG_TESTUTIL_H */
