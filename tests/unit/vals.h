/* vals.h - building batches by hand in encoder tests: call sites laid out
 * as the logging macros make them, and value bytes as producers write them
 * (8 bytes per number or bool, a 32-bit length then the bytes per string). */
#ifndef TTLOG_TEST_VALS_H
#define TTLOG_TEST_VALS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* clang-format off */
#define CALLSITE(msg, file, line, level, nfields, keys, types)                 \
	{(msg), (file), (line), (level), (nfields), (keys), (types), {0, 0}}
/* clang-format on */

struct vals {
	unsigned char *d;
	size_t len, cap;
};

static inline void vals_raw(struct vals *v, const void *p, size_t n)
{
	if (v->cap - v->len < n) {
		size_t cap = v->cap ? v->cap : 64;
		while (cap - v->len < n)
			cap *= 2;
		v->d = realloc(v->d, cap);
		assert_non_null(v->d);
		v->cap = cap;
	}
	if (n > 0)
		memcpy(v->d + v->len, p, n);
	v->len += n;
}

static inline void vals_i64(struct vals *v, int64_t x)
{
	vals_raw(v, &x, sizeof(x));
}

static inline void vals_u64(struct vals *v, uint64_t x)
{
	vals_raw(v, &x, sizeof(x));
}

static inline void vals_f64(struct vals *v, double d)
{
	vals_raw(v, &d, sizeof(d));
}

static inline void vals_f64_bits(struct vals *v, uint64_t bits)
{
	vals_raw(v, &bits, sizeof(bits));
}

static inline void vals_bool(struct vals *v, bool b)
{
	vals_u64(v, b ? 1u : 0u);
}

static inline void vals_str(struct vals *v, const void *s, size_t n)
{
	uint32_t len = (uint32_t)n;
	vals_raw(v, &len, sizeof(len));
	vals_raw(v, s, n);
}

/* A string literal with its length, embedded NULs included. */
#define vals_lit(v, lit) vals_str((v), (lit), sizeof(lit) - 1)

static inline void vals_free(struct vals *v)
{
	free(v->d);
	memset(v, 0, sizeof(*v));
}

#endif /* TTLOG_TEST_VALS_H */
