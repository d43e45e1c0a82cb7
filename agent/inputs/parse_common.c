/* parse_common.c - what the input parsers share: the scratch buffer, error
 * text, RFC 3339 timestamps and the syslog severity scale. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "parse_internal.h"

int ttlog__scratch_reserve(struct ttlog__scratch *s, size_t n)
{
	size_t cap;
	char *p;

	if (s->cap - s->len >= n && s->p != NULL)
		return 0;
	if (n > SIZE_MAX / 2 - s->len)
		return -1;
	/* Doubling keeps a reused scratch from reallocating once it has
	 * seen the largest message. */
	cap = s->cap < 256 ? 256 : s->cap;
	while (cap - s->len < n)
		cap *= 2;
	p = realloc(s->p, cap);
	if (p == NULL)
		return -1;
	s->p = p;
	s->cap = cap;
	return 0;
}

void ttlog__scratch_reset(struct ttlog__scratch *s)
{
	s->len = 0;
}

void ttlog__scratch_destroy(struct ttlog__scratch *s)
{
	free(s->p);
	s->p = NULL;
	s->len = s->cap = 0;
}

void ttlog__in_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int ttlog__level_from_severity(uint64_t severity)
{
	if (severity <= 2)
		return TTLOG_LEVEL_FATAL;
	if (severity == 3)
		return TTLOG_LEVEL_ERROR;
	if (severity == 4)
		return TTLOG_LEVEL_WARN;
	if (severity <= 6)
		return TTLOG_LEVEL_INFO;
	return TTLOG_LEVEL_DEBUG;
}

/* Reads exactly n digits; -1 when one is not a digit. */
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

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), so that no time zone is involved. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

size_t ttlog__rfc3339_parse(const char *s, size_t n, uint64_t *time_ns)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	uint64_t frac = 0;
	size_t i = 19, nd = 0;
	int64_t secs;

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
	    s[16] != ':' || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return 0;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return 0;
	if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return 0;
	if (s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nd < 9)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
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
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	/* An offset can take 1970-01-01 below the epoch; uint64 ns end in
	 * 2554. */
	if (secs < 0 || (uint64_t)secs > (UINT64_MAX - frac) / 1000000000u)
		return 0;
	*time_ns = (uint64_t)secs * 1000000000u + frac;
	return i;
}
