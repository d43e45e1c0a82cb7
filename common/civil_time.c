/*
 * civil_time.c - the calendar and RFC 3339 (civil_time.h).
 *
 * The day arithmetic counts from 0000-03-01, which puts the leap day at
 * the end of each year: a 400-year era has 146097 days, and within it
 * every fourth year but every hundredth (save the era's last) is one day
 * longer. 719468 is the number of days from 0000-03-01 to 1970-01-01.
 */
#include "civil_time.h"

#define NS_PER_SEC 1000000000u
#define DAYS_PER_ERA 146097
#define DAYS_0000_03_01_TO_EPOCH 719468

/* ------------------------------------------------------------------ */
/* The calendar                                                         */
/* ------------------------------------------------------------------ */

int ttlog__is_leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned ttlog__days_in_month(int64_t y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30,
					     31, 31, 30, 31, 30, 31};

	return m == 2 && ttlog__is_leap_year(y) ? 29 : days[m - 1];
}

int64_t ttlog__days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2; /* the year from March */
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400); /* 0..399 */
	unsigned doy =
		(153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	 /* 0..146096 */

	return era * DAYS_PER_ERA + (int64_t)doe - DAYS_0000_03_01_TO_EPOCH;
}

void ttlog__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += DAYS_0000_03_01_TO_EPOCH;
	int64_t era = (z >= 0 ? z : z - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
	unsigned doe = (unsigned)(z - era * DAYS_PER_ERA); /* 0..146096 */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* 0..365 */
	unsigned mp = (5 * doy + 2) / 153; /* 0 = March .. 11 = February */

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ------------------------------------------------------------------ */
/* RFC 3339, written                                                    */
/* ------------------------------------------------------------------ */

static char *put2(char *w, unsigned v)
{
	w[0] = (char)('0' + v / 10);
	w[1] = (char)('0' + v % 10);
	return w + 2;
}

void ttlog__rfc3339_seconds(char *out, uint64_t ns)
{
	uint64_t sec = ns / NS_PER_SEC;
	unsigned s = (unsigned)(sec % 86400), mo, d;
	int64_t y64;
	unsigned y;
	char *w = out;

	ttlog__civil_from_days((int64_t)(sec / 86400), &y64, &mo, &d);
	y = (unsigned)y64; /* 1970 to 2554 */
	w = put2(w, y / 100);
	w = put2(w, y % 100);
	*w++ = '-';
	w = put2(w, mo);
	*w++ = '-';
	w = put2(w, d);
	*w++ = 'T';
	w = put2(w, s / 3600);
	*w++ = ':';
	w = put2(w, s / 60 % 60);
	*w++ = ':';
	put2(w, s % 60);
}

size_t ttlog__rfc3339_tail(char *out, uint64_t ns, unsigned digits)
{
	uint32_t frac = (uint32_t)(ns % NS_PER_SEC);
	size_t n = 0;

	if (digits > 9)
		digits = 9;
	if (digits > 0) {
		out[n++] = '.';
		for (unsigned i = digits; i < 9; i++)
			frac /= 10;
		for (unsigned i = digits; i > 0; i--) {
			out[n + i - 1] = (char)('0' + frac % 10);
			frac /= 10;
		}
		n += digits;
	}
	out[n++] = 'Z';
	return n;
}

size_t ttlog__rfc3339_format(char *out, uint64_t ns, unsigned digits)
{
	size_t n = TTLOG__RFC3339_SECONDS_LEN;

	ttlog__rfc3339_seconds(out, ns);
	n += ttlog__rfc3339_tail(out + n, ns, digits);
	out[n] = '\0';
	return n;
}

/* ------------------------------------------------------------------ */
/* RFC 3339, read                                                       */
/* ------------------------------------------------------------------ */

/* Exactly n digits at s as a number; -1 when one is not a digit. */
static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

size_t ttlog__rfc3339_scan(const char *s, size_t n, struct ttlog__rfc3339 *t)
{
	uint32_t frac = 0;
	size_t i = TTLOG__RFC3339_SECONDS_LEN, nd = 0;
	int sign = 0, oh = 0, om = 0;

	/* The shortest is the seconds and a 'Z'. */
	if (n < TTLOG__RFC3339_SECONDS_LEN + 1 || s[4] != '-' || s[7] != '-' ||
	    s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return 0;
	t->year = digits(s, 4);
	t->month = digits(s + 5, 2);
	t->day = digits(s + 8, 2);
	t->hour = digits(s + 11, 2);
	t->minute = digits(s + 14, 2);
	t->second = digits(s + 17, 2);
	if (t->year < 0 || t->month < 1 || t->month > 12 || t->day < 1 ||
	    (unsigned)t->day >
		    ttlog__days_in_month(t->year, (unsigned)t->month) ||
	    t->hour < 0 || t->hour > 23 || t->minute < 0 || t->minute > 59 ||
	    t->second < 0 || t->second > 60)
		return 0;
	if (s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nd < 9)
				frac = frac * 10 + (uint32_t)(s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0)
			return 0;
		for (size_t k = nd; k < 9; k++)
			frac *= 10;
	}
	if (i >= n)
		return 0;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i < 6 || s[i + 3] != ':')
			return 0;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return 0;
		i += 6;
	} else {
		return 0;
	}
	t->frac_ns = frac;
	t->offset_minutes = sign * (oh * 60 + om);
	return i;
}

int64_t ttlog__rfc3339_epoch(const struct ttlog__rfc3339 *t)
{
	return ttlog__days_from_civil(t->year, (unsigned)t->month,
				      (unsigned)t->day) *
		       86400 +
	       t->hour * 3600 + t->minute * 60 + t->second -
	       (int64_t)t->offset_minutes * 60;
}
