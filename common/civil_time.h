/*
 * civil_time.h - the proleptic Gregorian calendar in UTC, and RFC 3339
 * date-times written and read without the C library's time functions.
 *
 * Nothing here allocates, locks, reads the locale or the time zone, or
 * touches anything but its arguments: every function is async-signal-safe
 * and thread-safe, which the snapshot writer's crash path relies on.
 * In ttlog_common (static, position-independent, hidden visibility): a
 * plugin that uses it carries its own copy and exports none of it.
 */
#ifndef TTLOG_CIVIL_TIME_H
#define TTLOG_CIVIL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* ---- the calendar ---- */

/* 1 when y is a leap year (y may be 0 or negative: year 0 is 1 BC). */
int ttlog__is_leap_year(int64_t y);

/* Days in month m (1 to 12) of year y. */
unsigned ttlog__days_in_month(int64_t y, unsigned m);

/*
 * Days from 1970-01-01 to y-m-d (negative before it), after Howard
 * Hinnant's days_from_civil. m is 1 to 12 and d 1 to 31; a day past the
 * end of its month counts on into the next one. Exact for |y| below 2^40.
 */
int64_t ttlog__days_from_civil(int64_t y, unsigned m, unsigned d);

/* The date of day z, counted from 1970-01-01 (negative before it): the
 * inverse of ttlog__days_from_civil(). */
void ttlog__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* ---- RFC 3339, written ---- */

/* "YYYY-MM-DDTHH:MM:SS", without a NUL. */
#define TTLOG__RFC3339_SECONDS_LEN 19
/* The longest ttlog__rfc3339_format() result and its NUL: nine digits of
 * fraction. */
#define TTLOG__RFC3339_MAX 31

/*
 * Writes "YYYY-MM-DDTHH:MM:SS" of the second that holds ns (nanoseconds
 * since the epoch, UTC) into out: exactly TTLOG__RFC3339_SECONDS_LEN
 * bytes, no NUL. A uint64 of nanoseconds ends in 2554, so the year always
 * has four digits.
 */
void ttlog__rfc3339_seconds(char *out, uint64_t ns);

/*
 * Writes what follows the seconds: a '.' and the first `digits` (1 to 9)
 * digits of ns's fraction of a second (cut, not rounded), then 'Z'; with
 * digits 0, the 'Z' alone. No NUL.
 * @return the bytes written (digits + 2, or 1).
 */
size_t ttlog__rfc3339_tail(char *out, uint64_t ns, unsigned digits);

/*
 * Writes ns as "YYYY-MM-DDTHH:MM:SS[.fraction]Z" with `digits` (0 to 9)
 * digits of fraction, NUL-terminated, into out (room for
 * TTLOG__RFC3339_MAX bytes).
 * @return the length, NUL not counted.
 */
size_t ttlog__rfc3339_format(char *out, uint64_t ns, unsigned digits);

/* ---- RFC 3339, read ---- */

/* A date-time as it was written. */
struct ttlog__rfc3339 {
	int year;	    /* 0 to 9999 */
	int month;	    /* 1 to 12 */
	int day;	    /* 1 to the length of the month */
	int hour;	    /* 0 to 23 */
	int minute;	    /* 0 to 59 */
	int second;	    /* 0 to 60 (60: a leap second) */
	uint32_t frac_ns;   /* the fraction's first nine digits, in ns */
	int offset_minutes; /* the zone, east of UTC: +01:00 is 60 */
};

/*
 * Reads an RFC 3339 date-time, "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|
 * -hh:mm)", from the start of s (n bytes; no NUL needed). 'T' may also be
 * 't' or a space and 'Z' also 'z'; the fraction has at least one digit,
 * and those after the ninth are read over and ignored; the offset is at
 * most 23:59. Every field is range-checked, the day against its month.
 * @return the number of bytes the date-time spans (what follows is the
 *         caller's), or 0 when s does not start with one (*t undefined).
 */
size_t ttlog__rfc3339_scan(const char *s, size_t n, struct ttlog__rfc3339 *t);

/*
 * Seconds from 1970-01-01T00:00:00Z to t (negative before), its zone
 * applied; a leap second reads as the first second of the next minute,
 * as it does in most software. The fraction is left to the caller.
 */
int64_t ttlog__rfc3339_epoch(const struct ttlog__rfc3339 *t);

#endif /* TTLOG_CIVIL_TIME_H */
