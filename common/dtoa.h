/*
 * dtoa.h - numbers written as text, the same way by every writer: decimal
 * integers, and doubles in the shortest form among %.15g, %.16g and %.17g
 * that reads back as the same value.
 *
 * The functions write into the caller's buffer, which must have room for
 * the longest result (the _MAX values), add no NUL and return the end of
 * what they wrote. They do not allocate; ttlog__u64toa() and
 * ttlog__i64toa() touch nothing but their arguments. In ttlog_common.
 */
#ifndef TTLOG_DTOA_H
#define TTLOG_DTOA_H

#include <stdint.h>

/* The most bytes each function writes: "18446744073709551615",
 * "-9223372036854775808", "-2.2250738585072014e-308". */
#define TTLOG__U64TOA_MAX 20
#define TTLOG__I64TOA_MAX 20
#define TTLOG__DTOA_MAX 24

/* v in decimal. @return the end of the digits. */
char *ttlog__u64toa(char *w, uint64_t v);

/* v in decimal, with a '-' when negative. @return the end. */
char *ttlog__i64toa(char *w, int64_t v);

/*
 * d, which must be finite, as the first of printf's %.15g, %.16g and
 * %.17g (from %.1g for subnormals, which carry fewer digits) that
 * strtod() reads back as exactly d: "0.1", "42", "-0", "1e+20",
 * "1.5e-05". The decimal point is '.' whatever LC_NUMERIC says. Whole
 * numbers, and everything from 1e-4 to 1e15 where __int128 exists, are
 * computed without the C library; the rest costs a few snprintf() and
 * strtod() calls, so it is not async-signal-safe.
 * @return the end of the text.
 */
char *ttlog__dtoa(char *w, double d);

#endif /* TTLOG_DTOA_H */
