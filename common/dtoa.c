/*
 * dtoa.c - numbers as text (dtoa.h): decimal integers, and doubles by the
 * shortest of %.15g, %.16g and %.17g that reads back as the same value.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h"

/* ------------------------------------------------------------------ */
/* Integers                                                             */
/* ------------------------------------------------------------------ */

char *ttlog__u64toa(char *w, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	memcpy(w, tmp + sizeof(tmp) - n, n);
	return w + n;
}

char *ttlog__i64toa(char *w, int64_t v)
{
	if (v < 0) {
		*w++ = '-';
		return ttlog__u64toa(w, (uint64_t)0 - (uint64_t)v);
	}
	return ttlog__u64toa(w, (uint64_t)v);
}

/* ------------------------------------------------------------------ */
/* Doubles                                                              */
/* ------------------------------------------------------------------ */

/*
 * The rule is printf's: the first of %.15g, %.16g, %.17g that strtod()
 * reads back as the same value. Between 1e-4 and 1e15, where %g writes no
 * exponent, it is computed here in 128-bit integers, as snprintf plus
 * strtod cost some 100 ns each and a full-precision value needs three of
 * each. Elsewhere, and without __int128, the C library does it.
 */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

static const double p10d[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,	1e6, 1e7,
			      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};

static const uint64_t p10u[] = {1ull,
				10ull,
				100ull,
				1000ull,
				10000ull,
				100000ull,
				1000000ull,
				10000000ull,
				100000000ull,
				1000000000ull,
				10000000000ull,
				100000000000ull,
				1000000000000ull,
				10000000000000ull,
				100000000000000ull,
				1000000000000000ull,
				10000000000000000ull,
				100000000000000000ull,
				1000000000000000000ull,
				10000000000000000000ull};

static u128 pow10_128(int k)
{
	return k <= 19 ? (u128)p10u[k] : (u128)p10u[19] * p10u[k - 19];
}

/*
 * mag (1e-4 <= mag < 1e15) is M / 2^F exactly. For p significant digits
 * with decimal exponent X, the digits are mag * 10^k, k = p - 1 - X,
 * rounded to nearest with ties to even as glibc's printf does: the
 * quotient and remainder of M * 10^k by 2^F. m / 10^k reads back as mag
 * when it lies within half a unit in the last place of mag (ties to even,
 * like strtod), tested multiplied through by 4 * 2^F * 10^k. Every product
 * stays below 2^125.
 * @return the end of the text, or NULL when mag is out of reach.
 */
static char *put_f64_exact(char *w, double mag)
{
	uint64_t bits, M, m;
	int F, X = 0, k = 0, found = 0;
	u128 N, q, r, half, A, lo, hi, P;

	memcpy(&bits, &mag, 8);
	M = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	F = 1075 - (int)(bits >> 52);
	if (F < 3 || F > 66)
		return NULL;
	/* A first guess at X; the loop below corrects it. */
	if (mag >= 1) {
		while (X < 14 && mag >= p10d[X + 1])
			X++;
	} else {
		X = -1;
		while (X > -4 && mag * p10d[-X] < 1)
			X--;
	}
	for (int p = 15; p <= 17 && !found; p++) {
		for (;;) {
			k = p - 1 - X;
			if (k < 0 || k > 20)
				return NULL;
			N = (u128)M * pow10_128(k);
			q = N >> F;
			if (q >= p10u[p])
				X++;
			else if (q < p10u[p - 1])
				X--;
			else
				break;
		}
		r = N & (((u128)1 << F) - 1);
		half = (u128)1 << (F - 1);
		m = (uint64_t)q;
		if (r > half || (r == half && (m & 1)))
			m++;
		if (m == p10u[p]) { /* rounded up to the next power */
			m = p10u[p - 1];
			X++;
			k--;
		}
		/* Rounded up to 1e15: %g would write "1e+15", which is not
		 * mag; more digits then. */
		if (k < 0)
			continue;
		P = pow10_128(k);
		A = (u128)m << (F + 2);
		lo = (u128)(4 * M - (M == 1ull << 52 ? 1 : 2)) * P;
		hi = (u128)(4 * M + 2) * P;
		found = (A > lo && A < hi) ||
			((A == lo || A == hi) && !(M & 1));
	}
	if (!found)
		return NULL; /* cannot happen: 17 digits always do */
	/* %g drops trailing zeros, and with them the point. */
	while (k > 0 && m % 10 == 0) {
		m /= 10;
		k--;
	}
	/* k may be 20 (10^20 is past uint64_t); m < 10^17 then. */
	w = ttlog__u64toa(w, k <= 19 ? m / p10u[k] : 0);
	if (k > 0) {
		m = k <= 19 ? m % p10u[k] : m;
		*w++ = '.';
		for (int i = k - 1; i >= 0; i--) {
			w[i] = (char)('0' + m % 10);
			m /= 10;
		}
		w += k;
	}
	return w;
}
#endif

char *ttlog__dtoa(char *w, double d)
{
	char tmp[40];
	double mag = d < 0 ? -d : d;
	int prec = 15;

	/* Whole numbers below 1e15, which %g writes without an exponent,
	 * directly. */
	if (mag < 1e15 && (double)(int64_t)d == d) {
		if (d == 0 && signbit(d)) {
			memcpy(w, "-0", 2);
			return w + 2;
		}
		return ttlog__i64toa(w, (int64_t)d);
	}
#ifdef __SIZEOF_INT128__
	if (mag >= 1e-4 && mag < 1e15) {
		char *end;
		if (d < 0)
			*w = '-';
		end = put_f64_exact(w + (d < 0), mag);
		if (end != NULL)
			return end;
	}
#endif
	/* Subnormals carry fewer digits: from one. */
	if (mag < 2.2250738585072014e-308)
		prec = 1;
	for (; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* Both calls above follow LC_NUMERIC; the output must not: whatever
	 * the locale put between the digits becomes one '.'. */
	for (const char *s = tmp; *s != 0;) {
		char c = *s;
		if ((c >= '0' && c <= '9') || c == '-' || c == '+' ||
		    c == 'e') {
			*w++ = c;
			s++;
			continue;
		}
		*w++ = '.';
		while (*s != 0 && !(*s >= '0' && *s <= '9'))
			s++;
	}
	return w;
}
