/*
 * test_common.c - the shared helpers of common/: byte order, the
 * calendar and RFC 3339, UTF-8, numbers as text, addresses, error
 * sentences, the growable buffer.
 *
 * The expected bytes are written out by hand, not computed with the code
 * under test, so that a helper that swapped the wrong way round (or wrote
 * one byte too many) fails here rather than in a peer.
 */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "addr.h"
#include "buf.h"
#include "byteorder.h"
#include "civil_time.h"
#include "dtoa.h"
#include "errf.h"
#include "level.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* byte order                                                           */
/* ------------------------------------------------------------------ */

/* Guards on both sides of every write: a store must touch its bytes only. */
#define GUARD 0xA5

static void check_guarded(const unsigned char *buf, size_t width,
			  const unsigned char *want)
{
	assert_int_equal(buf[0], GUARD);
	assert_memory_equal(buf + 1, want, width);
	assert_int_equal(buf[1 + width], GUARD);
}

/* Stores v in n bytes (2, 4 or 8) at p, big-endian when be, and reads it
 * back from want with the matching load. */
static void put_width(unsigned char *p, unsigned n, int be, uint64_t v)
{
	if (n == 2)
		be ? ttlog__put_be16(p, (uint16_t)v)
		   : ttlog__put_le16(p, (uint16_t)v);
	else if (n == 4)
		be ? ttlog__put_be32(p, (uint32_t)v)
		   : ttlog__put_le32(p, (uint32_t)v);
	else
		be ? ttlog__put_be64(p, v) : ttlog__put_le64(p, v);
}

static uint64_t get_width(const unsigned char *p, unsigned n, int be)
{
	if (n == 2)
		return be ? ttlog__get_be16(p) : ttlog__get_le16(p);
	if (n == 4)
		return be ? ttlog__get_be32(p) : ttlog__get_le32(p);
	return be ? ttlog__get_be64(p) : ttlog__get_le64(p);
}

static void test_byteorder_all_widths_both_orders(void **state)
{
	static const struct {
		unsigned n;
		uint64_t v;
		unsigned char be[8], le[8];
	} cases[] = {
		{2, 0x1234, {0x12, 0x34}, {0x34, 0x12}},
		{4,
		 0x12345678u,
		 {0x12, 0x34, 0x56, 0x78},
		 {0x78, 0x56, 0x34, 0x12}},
		{8,
		 0x0123456789ABCDEFull,
		 {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF},
		 {0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01}},
	};
	unsigned char b[10];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int be = 0; be <= 1; be++) {
			const unsigned char *want =
				be ? cases[i].be : cases[i].le;

			memset(b, GUARD, sizeof(b));
			put_width(b + 1, cases[i].n, be, cases[i].v);
			check_guarded(b, cases[i].n, want);
			assert_true(get_width(want, cases[i].n, be) ==
				    cases[i].v);
		}
	}
}

/* The top bit set in every byte: a load that widened a byte through a
 * signed type would smear ones over the bytes above it. */
static void test_byteorder_high_bytes_do_not_sign_extend(void **state)
{
	unsigned char ff[8], b[8];

	(void)state;
	memset(ff, 0xFF, sizeof(ff));
	assert_int_equal(ttlog__get_be16(ff), 0xFFFF);
	assert_int_equal(ttlog__get_be32(ff), 0xFFFFFFFFu);
	assert_true(ttlog__get_be64(ff) == UINT64_MAX);
	assert_int_equal(ttlog__get_le16(ff), 0xFFFF);
	assert_int_equal(ttlog__get_le32(ff), 0xFFFFFFFFu);
	assert_true(ttlog__get_le64(ff) == UINT64_MAX);

	b[0] = 0x80;
	b[1] = 0x01;
	assert_int_equal(ttlog__get_be16(b), 0x8001);
	assert_int_equal(ttlog__get_le16(b), 0x0180);
}

/* Round trips over values that exercise every byte on its own. */
static void test_byteorder_round_trips_every_byte_position(void **state)
{
	unsigned char b[8];

	(void)state;
	for (unsigned shift = 0; shift < 64; shift += 8) {
		uint64_t v = (uint64_t)0x81 << shift;

		ttlog__put_be64(b, v);
		assert_true(ttlog__get_be64(b) == v);
		assert_int_equal(b[7 - shift / 8], 0x81);
		ttlog__put_le64(b, v);
		assert_true(ttlog__get_le64(b) == v);
		assert_int_equal(b[shift / 8], 0x81);
		if (shift < 32) {
			ttlog__put_be32(b, (uint32_t)v);
			assert_int_equal(ttlog__get_be32(b), (uint32_t)v);
			ttlog__put_le32(b, (uint32_t)v);
			assert_int_equal(ttlog__get_le32(b), (uint32_t)v);
		}
		if (shift < 16) {
			ttlog__put_be16(b, (uint16_t)v);
			assert_int_equal(ttlog__get_be16(b), (uint16_t)v);
			ttlog__put_le16(b, (uint16_t)v);
			assert_int_equal(ttlog__get_le16(b), (uint16_t)v);
		}
	}
}

/* The variable widths of CBOR item heads (1, 2, 4 or 8 bytes) and of
 * their writer; a store writes the low n bytes of its value, and a width
 * of 0 reads 0 and writes nothing. */
static void test_byteorder_variable_width(void **state)
{
	static const unsigned char src[8] = {0xFE, 0xDC, 0xBA, 0x98,
					     0x76, 0x54, 0x32, 0x10};
	unsigned char b[10];

	(void)state;
	assert_true(ttlog__get_be_n(src, 0) == 0);
	assert_true(ttlog__get_be_n(src, 1) == 0xFE);
	assert_true(ttlog__get_be_n(src, 3) == 0xFEDCBA);
	assert_true(ttlog__get_be_n(src, 8) == 0xFEDCBA9876543210ull);

	memset(b, GUARD, sizeof(b));
	ttlog__put_be_n(b + 1, 0xFEDCBA9876543210ull, 3);
	check_guarded(b, 3, (const unsigned char[]){0x54, 0x32, 0x10});
	memset(b, GUARD, sizeof(b));
	ttlog__put_be_n(b + 1, 0xFEDCBA9876543210ull, 0);
	assert_int_equal(b[1], GUARD);
}

/* No alignment is assumed: the fields of a wire message or a spool record
 * sit at odd offsets. */
static void test_byteorder_unaligned(void **state)
{
	unsigned char b[16];

	(void)state;
	for (size_t off = 0; off < 8; off++) {
		memset(b, 0, sizeof(b));
		ttlog__put_be64(b + off, 0x1122334455667788ull);
		assert_int_equal(b[off], 0x11);
		assert_true(ttlog__get_be64(b + off) == 0x1122334455667788ull);
		ttlog__put_le32(b + off, 0xCAFEBABEu);
		assert_int_equal(b[off], 0xBE);
		assert_int_equal(ttlog__get_le32(b + off), 0xCAFEBABEu);
	}
}

/* ------------------------------------------------------------------ */
/* civil time                                                           */
/* ------------------------------------------------------------------ */

static void test_civil_leap_years_and_month_lengths(void **state)
{
	(void)state;
	assert_true(ttlog__is_leap_year(2024));
	assert_false(ttlog__is_leap_year(2023));
	assert_false(ttlog__is_leap_year(1900)); /* a hundredth year */
	assert_true(ttlog__is_leap_year(2000));	 /* but every 400th is */
	assert_false(ttlog__is_leap_year(2100));
	assert_true(ttlog__is_leap_year(0));
	assert_true(ttlog__is_leap_year(-4));
	assert_false(ttlog__is_leap_year(-100));
	assert_true(ttlog__is_leap_year(-400));

	assert_int_equal(ttlog__days_in_month(2000, 2), 29);
	assert_int_equal(ttlog__days_in_month(1900, 2), 28);
	assert_int_equal(ttlog__days_in_month(2023, 2), 28);
	assert_int_equal(ttlog__days_in_month(2023, 1), 31);
	assert_int_equal(ttlog__days_in_month(2023, 4), 30);
	assert_int_equal(ttlog__days_in_month(2023, 12), 31);
}

/* Fixed points, worked out independently (python's datetime, and
 * 0000-01-01 as 0001-01-01 less the 366 days of the leap year 0). */
static void test_civil_days_from_civil_fixed_points(void **state)
{
	static const struct {
		int64_t y;
		unsigned m, d;
		int64_t days;
	} cases[] = {
		{1970, 1, 1, 0},       {1969, 12, 31, -1},
		{1970, 3, 1, 59},      {2000, 2, 29, 11016},
		{2000, 3, 1, 11017},   {1, 1, 1, -719162},
		{0, 1, 1, -719528},    {0, 2, 29, -719469},
		{0, 3, 1, -719468},    {9999, 12, 31, 2932896},
		{2554, 7, 21, 213503},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t y;
		unsigned m, d;

		assert_true(ttlog__days_from_civil(cases[i].y, cases[i].m,
						   cases[i].d) ==
			    cases[i].days);
		ttlog__civil_from_days(cases[i].days, &y, &m, &d);
		assert_true(y == cases[i].y);
		assert_int_equal(m, cases[i].m);
		assert_int_equal(d, cases[i].d);
	}
}

/* Every day from 0000-01-01 to 9999-12-31 (and a step beyond both ends):
 * each is the day after the one before, in the calendar's own terms, and
 * reads back to its number. */
static void test_civil_every_day_round_trips(void **state)
{
	int64_t first = ttlog__days_from_civil(-1, 12, 1);
	int64_t last = ttlog__days_from_civil(10000, 2, 1);
	int64_t py, y;
	unsigned pm, pd, m, d;

	(void)state;
	ttlog__civil_from_days(first, &py, &pm, &pd);
	assert_true(py == -1 && pm == 12 && pd == 1);
	for (int64_t z = first + 1; z <= last; z++) {
		ttlog__civil_from_days(z, &y, &m, &d);
		if (pd < ttlog__days_in_month(py, pm)) {
			if (!(y == py && m == pm && d == pd + 1))
				fail_msg("day %lld follows %lld-%u-%u as "
					 "%lld-%u-%u",
					 (long long)z, (long long)py, pm, pd,
					 (long long)y, m, d);
		} else {
			assert_int_equal(d, 1);
			assert_int_equal(m, pm == 12 ? 1 : pm + 1);
			assert_true(y == (pm == 12 ? py + 1 : py));
		}
		assert_true(ttlog__days_from_civil(y, m, d) == z);
		py = y;
		pm = m;
		pd = d;
	}
	assert_true(py == 10000 && pm == 2 && pd == 1);
}

static void test_rfc3339_format_digits_and_ends(void **state)
{
	char b[TTLOG__RFC3339_MAX];

	(void)state;
	assert_int_equal(ttlog__rfc3339_format(b, 0, 0), 20);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	assert_int_equal(ttlog__rfc3339_format(b, 1795638698123456789ull, 3),
			 24);
	assert_string_equal(b, "2026-11-25T20:31:38.123Z");
	ttlog__rfc3339_format(b, 1795638698123456789ull, 6);
	assert_string_equal(b, "2026-11-25T20:31:38.123456Z");
	ttlog__rfc3339_format(b, 1795638698123456789ull, 9);
	assert_string_equal(b, "2026-11-25T20:31:38.123456789Z");
	/* Cut, not rounded: rounding would carry into the next second. */
	ttlog__rfc3339_format(b, 1795638698999999999ull, 6);
	assert_string_equal(b, "2026-11-25T20:31:38.999999Z");
	ttlog__rfc3339_format(b, 1795638698000000007ull, 9);
	assert_string_equal(b, "2026-11-25T20:31:38.000000007Z");
	/* A leap day, and the last nanosecond a uint64 holds. */
	ttlog__rfc3339_format(b, 951782400000000000ull, 1);
	assert_string_equal(b, "2000-02-29T00:00:00.0Z");
	assert_int_equal(ttlog__rfc3339_format(b, UINT64_MAX, 9),
			 TTLOG__RFC3339_MAX - 1);
	assert_string_equal(b, "2554-07-21T23:34:33.709551615Z");
}

/* The seconds and the tail write exactly their bytes and no NUL. */
static void test_rfc3339_seconds_and_tail_write_no_more(void **state)
{
	char b[40];

	(void)state;
	memset(b, '#', sizeof(b));
	ttlog__rfc3339_seconds(b, 1795638698123456789ull);
	assert_memory_equal(b, "2026-11-25T20:31:38#",
			    TTLOG__RFC3339_SECONDS_LEN + 1);
	memset(b, '#', sizeof(b));
	assert_int_equal(ttlog__rfc3339_tail(b, 1795638698123456789ull, 6), 8);
	assert_memory_equal(b, ".123456Z#", 9);
	memset(b, '#', sizeof(b));
	assert_int_equal(ttlog__rfc3339_tail(b, 1795638698123456789ull, 0), 1);
	assert_memory_equal(b, "Z#", 2);
}

/* xorshift64: a fixed sequence, so that a failure repeats. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Against the C library, which the encoders used before, over random
 * times up to 2554. */
static void test_rfc3339_format_matches_gmtime(void **state)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;
	uint64_t n = test_scaled(200000, 1000);

	(void)state;
	for (uint64_t i = 0; i < n; i++) {
		char got[TTLOG__RFC3339_MAX], want[64];
		struct tm tm;
		time_t t;
		uint64_t ns;

		ns = i < 4 ? (uint64_t[]){0, 1, UINT64_MAX - 1, UINT64_MAX}[i]
			   : next_random(&x);
		t = (time_t)(ns / 1000000000u);
		assert_non_null(gmtime_r(&t, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 ".%06uZ", (unsigned)(ns % 1000000000u / 1000u));
		ttlog__rfc3339_format(got, ns, 6);
		if (strcmp(got, want) != 0)
			fail_msg("%llu: %s, the C library %s",
				 (unsigned long long)ns, got, want);
	}
}

/* Scans s (a heap copy of exactly its bytes, so that the sanitizers see a
 * read past the end) and returns the span. */
static size_t scan_exact(const char *s, size_t n, struct ttlog__rfc3339 *t)
{
	char *copy = malloc(n > 0 ? n : 1);
	size_t r;

	assert_non_null(copy);
	memcpy(copy, s, n);
	r = ttlog__rfc3339_scan(copy, n, t);
	free(copy);
	return r;
}

static int64_t scan_epoch(const char *s)
{
	struct ttlog__rfc3339 t;

	if (scan_exact(s, strlen(s), &t) != strlen(s))
		fail_msg("\"%s\" did not scan whole", s);
	return ttlog__rfc3339_epoch(&t);
}

static void test_rfc3339_scan_accepts_the_forms(void **state)
{
	struct ttlog__rfc3339 t;

	(void)state;
	assert_int_equal(scan_exact("2026-11-25T20:31:38Z", 20, &t), 20);
	assert_int_equal(t.year, 2026);
	assert_int_equal(t.month, 11);
	assert_int_equal(t.day, 25);
	assert_int_equal(t.hour, 20);
	assert_int_equal(t.minute, 31);
	assert_int_equal(t.second, 38);
	assert_int_equal(t.frac_ns, 0);
	assert_int_equal(t.offset_minutes, 0);
	assert_true(ttlog__rfc3339_epoch(&t) == 1795638698);

	/* The span ends at the zone: what follows is the caller's. */
	assert_int_equal(scan_exact("2026-11-25t20:31:38.5z rest", 27, &t), 22);
	assert_int_equal(t.frac_ns, 500000000);
	assert_int_equal(
		scan_exact("2026-11-25 20:31:38.123456789123+01:30", 38, &t),
		38);
	assert_int_equal(t.frac_ns, 123456789);
	assert_int_equal(t.offset_minutes, 90);
	assert_int_equal(scan_exact("2026-11-25T20:31:38-23:59", 25, &t), 25);
	assert_int_equal(t.offset_minutes, -(23 * 60 + 59));

	assert_true(scan_epoch("2026-11-25T21:31:38+01:00") == 1795638698);
	assert_true(scan_epoch("1970-01-01T00:00:00+00:01") == -60);
	/* A leap second is the first second of the next minute. */
	assert_true(scan_epoch("2016-12-31T23:59:60Z") == 1483228800);
	assert_true(scan_epoch("2000-02-29T00:00:00Z") == 951782400);
	/* The bounds of four-digit years. */
	assert_true(scan_epoch("0000-01-01T00:00:00Z") == -62167219200ll);
	assert_true(scan_epoch("9999-12-31T23:59:59Z") == 253402300799ll);
}

static void test_rfc3339_scan_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"2026-11-25T20:31:38",	     /* no zone */
		"2026-11-25T20:31:38+0100",  /* no colon in the offset */
		"2026-11-25T20:31:38+01:0",  /* short offset */
		"2026-11-25T20:31:38+24:00", /* offset hours */
		"2026-11-25T20:31:38+01:60", /* offset minutes */
		"2026-11-25T20:31:38.Z",     /* a point without digits */
		"2026-11-25T20:31:38 Z",
		"2026-11-25X20:31:38Z",
		"2026/11/25T20:31:38Z",
		"2026-11-25T20-31-38Z",
		"20261125T203138Z", /* the basic format */
		"2026-13-25T20:31:38Z",
		"2026-00-25T20:31:38Z",
		"2026-11-00T20:31:38Z",
		"2026-11-31T20:31:38Z",
		"2023-02-29T00:00:00Z", /* not a leap year */
		"1900-02-29T00:00:00Z", /* nor a hundredth */
		"2000-02-30T00:00:00Z",
		"2026-11-25T24:00:00Z",
		"2026-11-25T20:60:00Z",
		"2026-11-25T20:31:61Z",
		"2026-11-2aT20:31:38Z",
		"-026-11-25T20:31:38Z",
		"2026-11--5T20:31:38Z",
		"2026-11-25T-1:31:38Z",
		"+2026-11-25T20:31:38Z",
	};
	struct ttlog__rfc3339 t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (scan_exact(bad[i], strlen(bad[i]), &t) != 0)
			fail_msg("\"%s\" scanned", bad[i]);
}

/* Every proper prefix of a date-time is no date-time, and scanning it
 * reads none of the bytes past its end (heap copies of exact size). */
static void test_rfc3339_scan_truncated_reads_nothing_past_n(void **state)
{
	static const char *const good[] = {
		"2026-11-25T20:31:38Z",
		"2026-11-25T20:31:38.123456789+01:00",
		"2026-11-25T20:31:38-00:30",
	};
	struct ttlog__rfc3339 t;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t n = strlen(good[i]);

		assert_int_equal(scan_exact(good[i], n, &t), n);
		for (size_t k = 0; k < n; k++)
			if (scan_exact(good[i], k, &t) != 0)
				fail_msg("%zu bytes of \"%s\" scanned", k,
					 good[i]);
	}
}

/* Written with nine digits and read back, a time is the same
 * nanosecond. */
static void test_rfc3339_format_then_scan_round_trips(void **state)
{
	uint64_t x = 0x2545F4914F6CDD1Dull;
	uint64_t n = test_scaled(100000, 1000);

	(void)state;
	for (uint64_t i = 0; i < n; i++) {
		char b[TTLOG__RFC3339_MAX];
		struct ttlog__rfc3339 t;
		uint64_t ns;
		size_t len;

		ns = i == 0 ? UINT64_MAX : next_random(&x);
		len = ttlog__rfc3339_format(b, ns, 9);
		assert_int_equal(ttlog__rfc3339_scan(b, len, &t), len);
		assert_true((uint64_t)ttlog__rfc3339_epoch(&t) * 1000000000u +
				    t.frac_ns ==
			    ns);
	}
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                                */
/* ------------------------------------------------------------------ */

/* The test's own encoder (the reference the decoder is held to): the
 * shortest form of cp, which must be a scalar value. */
static size_t ref_encode(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes a heap copy of exactly n bytes (n >= 1), so that the
 * sanitizers see a read past the end. */
static size_t decode_exact(const unsigned char *s, size_t n, uint32_t *cp,
			   size_t *bad)
{
	unsigned char *copy = malloc(n);
	size_t r;

	assert_non_null(copy);
	memcpy(copy, s, n);
	r = ttlog__utf8_decode(copy, n, cp, bad);
	free(copy);
	return r;
}

/* Every scalar value decodes from its shortest form; cut short, it is a
 * bad sequence whose maximal subpart is all that is there. */
static void test_utf8_every_scalar_value_decodes(void **state)
{
	(void)state;
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		unsigned char b[4];
		uint32_t got = 0xFFFFFFFFu;
		size_t len, bad = 0;

		if (cp == 0xD800)
			cp = 0xE000; /* surrogates are no scalar values */
		len = ref_encode(b, cp);
		if (ttlog__utf8_decode(b, len, &got, &bad) != len || got != cp)
			fail_msg("U+%04X: length or value wrong", cp);
		got = 0;
		assert_int_equal(ttlog__utf8_next(b, len, &got), len);
		assert_int_equal(got, cp);
		/* The exact-size copies are slow under the sanitizers: the
		 * boundaries of each length, and a sample between. */
		if (len > 1 && (cp % 251 == 0 || cp == 0x80 || cp == 0x7FF ||
				cp == 0x800 || cp == 0xFFFF || cp == 0x10000 ||
				cp == 0x10FFFF)) {
			for (size_t k = 1; k < len; k++) {
				assert_int_equal(decode_exact(b, k, &got, &bad),
						 0);
				assert_int_equal(bad, k);
			}
		}
	}
}

/* Whether the bytes at b (n of them) start with a valid sequence, by the
 * reference: decode the bits however they fall, and accept only when the
 * value is a scalar value whose shortest form is exactly these bytes. */
static size_t ref_valid_len(const unsigned char *b, size_t n)
{
	unsigned char again[4];
	size_t len;
	uint32_t v;

	if (b[0] < 0x80)
		return 1;
	if ((b[0] & 0xE0) == 0xC0) {
		len = 2;
		v = b[0] & 0x1Fu;
	} else if ((b[0] & 0xF0) == 0xE0) {
		len = 3;
		v = b[0] & 0x0Fu;
	} else if ((b[0] & 0xF8) == 0xF0) {
		len = 4;
		v = b[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((b[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (b[i] & 0x3Fu);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ||
	    ref_encode(again, v) != len || memcmp(again, b, len) != 0)
		return 0;
	return len;
}

/* Every sequence of one to three bytes, and every four-byte sequence whose
 * last two bytes sit at the edges of the continuation range, against the
 * reference: overlong forms, surrogates, stray continuation bytes, leads
 * that no sequence starts with, and values past U+10FFFF. */
static void test_utf8_matches_reference_on_all_short_inputs(void **state)
{
	static const unsigned char edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90,
					     0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
	/* b[3] is set only by the second loop; zeroed so that no build
	 * sees a read of it before. */
	unsigned char b[4] = {0};
	uint32_t cp;
	size_t bad;

	(void)state;
	for (uint32_t x = 0; x < (1u << 24); x++) {
		b[0] = (unsigned char)(x >> 16);
		b[1] = (unsigned char)(x >> 8);
		b[2] = (unsigned char)x;
		for (size_t n = 1; n <= 3; n++) {
			/* Shorter inputs repeat: try each once. */
			if ((n < 3 && (x & 0xFF) != 0) ||
			    (n < 2 && (x & 0xFF00) != 0))
				continue;
			if (ttlog__utf8_decode(b, n, &cp, &bad) !=
			    ref_valid_len(b, n))
				fail_msg("%02X %02X %02X (%zu bytes)", b[0],
					 b[1], b[2], n);
		}
	}
	for (unsigned lead = 0xF0; lead <= 0xFF; lead++)
		for (unsigned b1 = 0; b1 < 256; b1++)
			for (size_t i = 0; i < sizeof(edge); i++)
				for (size_t j = 0; j < sizeof(edge); j++) {
					b[0] = (unsigned char)lead;
					b[1] = (unsigned char)b1;
					b[2] = edge[i];
					b[3] = edge[j];
					if (ttlog__utf8_decode(b, 4, &cp,
							       &bad) !=
					    ref_valid_len(b, 4))
						fail_msg("%02X %02X %02X %02X",
							 b[0], b[1], b[2],
							 b[3]);
				}
}

/* The edges by name, so that a failure reads as what went wrong. */
static void test_utf8_edges_overlongs_and_surrogates(void **state)
{
	static const struct {
		const char *s;
		size_t len; /* 0: invalid */
		uint32_t cp;
	} cases[] = {
		{"\xC2\x80", 2, 0x80},
		{"\xDF\xBF", 2, 0x7FF},
		{"\xE0\xA0\x80", 3, 0x800},
		{"\xED\x9F\xBF", 3, 0xD7FF},
		{"\xEE\x80\x80", 3, 0xE000},
		{"\xEF\xBF\xBF", 3, 0xFFFF},
		{"\xF0\x90\x80\x80", 4, 0x10000},
		{"\xF4\x8F\xBF\xBF", 4, 0x10FFFF},
		{"\xC0\x80", 0, 0},	    /* overlong NUL */
		{"\xC1\xBF", 0, 0},	    /* overlong U+7F */
		{"\xE0\x9F\xBF", 0, 0},	    /* overlong U+7FF */
		{"\xF0\x8F\xBF\xBF", 0, 0}, /* overlong U+FFFF */
		{"\xED\xA0\x80", 0, 0},	    /* U+D800 */
		{"\xED\xBF\xBF", 0, 0},	    /* U+DFFF */
		{"\xF4\x90\x80\x80", 0, 0}, /* U+110000 */
		{"\xF5\x80\x80\x80", 0, 0},
		{"\xFF", 0, 0},
		{"\x80", 0, 0}, /* a continuation byte alone */
		{"\xBF", 0, 0},
		{"\xC2\x41", 0, 0}, /* a lead without its continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned char *p = (const unsigned char *)cases[i].s;
		uint32_t cp = 0;
		size_t bad = 0, n = strlen(cases[i].s);

		if (decode_exact(p, n, &cp, &bad) != cases[i].len ||
		    (cases[i].len != 0 && cp != cases[i].cp))
			fail_msg("case %zu decoded wrong", i);
		assert_int_equal(ttlog__utf8_valid(p, n), cases[i].len != 0);
	}
}

/* Unicode's example of U+FFFD substitution (the Standard, chapter 3, "U+FFFD
 * Substitution of Maximal Subparts"): each maximal subpart is one
 * replacement. */
static void test_utf8_bad_counts_maximal_subparts(void **state)
{
	static const unsigned char in[] = {0x61, 0xF1, 0x80, 0x80, 0xE1,
					   0x80, 0xC2, 0x62, 0x80, 0x63,
					   0x80, 0xBF, 0x64};
	/* What each step consumes: negative for a bad subpart. */
	static const int want[] = {1, -3, -2, -1, 1, -1, 1, -1, -1, 1};
	static const struct {
		const char *s;
		size_t bad;
	} subparts[] = {
		{"\xE0\x80", 1},	 /* E0 needs A0..BF next */
		{"\xED\xA0\x80", 1},	 /* a surrogate: ED needs 80..9F */
		{"\xF4\x90\x80\x80", 1}, /* past U+10FFFF */
		{"\xF0\x90\x80", 3},	 /* cut short */
		{"\xE1\x80\x41", 2},
	};
	size_t i = 0, step = 0;

	(void)state;
	while (i < sizeof(in)) {
		uint32_t cp;
		size_t bad = 0;
		size_t k =
			ttlog__utf8_decode(in + i, sizeof(in) - i, &cp, &bad);

		assert_true(step < sizeof(want) / sizeof(want[0]));
		if (k != 0) {
			assert_int_equal(want[step], (int)k);
			i += k;
		} else {
			assert_int_equal(want[step], -(int)bad);
			i += bad;
		}
		step++;
	}
	assert_int_equal(step, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(subparts) / sizeof(subparts[0]); i++) {
		uint32_t cp;
		size_t bad = 0;

		assert_int_equal(
			decode_exact((const unsigned char *)subparts[i].s,
				     strlen(subparts[i].s), &cp, &bad),
			0);
		assert_int_equal(bad, subparts[i].bad);
	}
}

/* The validator's eight-bytes-at-a-time ASCII path: a bad byte or a
 * multi-byte character at every offset of a long ASCII run. */
static void test_utf8_valid_at_every_offset(void **state)
{
	unsigned char b[40];

	(void)state;
	/* No bytes are valid, whatever lies beyond them. */
	memset(b, 0x80, sizeof(b));
	assert_true(ttlog__utf8_valid(b, 0));
	for (size_t off = 0; off + 2 <= sizeof(b); off++) {
		memset(b, 'a', sizeof(b));
		assert_true(ttlog__utf8_valid(b, sizeof(b)));
		b[off] = 0x80;
		assert_false(ttlog__utf8_valid(b, sizeof(b)));
		b[off] = 0xC3;
		b[off + 1] = 0xA9; /* e acute */
		assert_true(ttlog__utf8_valid(b, sizeof(b)));
		/* Cut after the lead byte. */
		assert_false(ttlog__utf8_valid(b, off + 1));
		assert_true(ttlog__utf8_valid(b, off));
	}
}

/* ------------------------------------------------------------------ */
/* numbers as text                                                      */
/* ------------------------------------------------------------------ */

/* Calls ttlog__dtoa() into a buffer of guards, checks it wrote no more
 * than it says and at most TTLOG__DTOA_MAX bytes, and returns the text
 * NUL-terminated in out. */
static void dtoa_checked(double d, char *out)
{
	char b[TTLOG__DTOA_MAX + 8];
	size_t n;

	memset(b, '#', sizeof(b));
	n = (size_t)(ttlog__dtoa(b, d) - b);
	if (n == 0 || n > TTLOG__DTOA_MAX || b[n] != '#')
		fail_msg("%a: %zu bytes written", d, n);
	memcpy(out, b, n);
	out[n] = '\0';
}

static void test_dtoa_fixed_values(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{0.0, "0"},
		{-0.0, "-0"},
		{1.0, "1"},
		{-42.0, "-42"},
		{0.1, "0.1"},
		{0.1 + 0.2, "0.30000000000000004"},
		{1.0 / 3, "0.3333333333333333"},
		{1e-4, "0.0001"},
		{1e-5, "1e-05"},
		{999999999999999.0, "999999999999999"},
		{1e15, "1e+15"},
		{1e21, "1e+21"},
		{1000000000000000.5, "1000000000000000.5"},
		{562949953421312.25, "562949953421312.2"}, /* ties to even */
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{-2.2250738585072014e-308, "-2.2250738585072014e-308"},
		{5e-324, "5e-324"},
	};
	char got[TTLOG__DTOA_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dtoa_checked(cases[i].v, got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%a: %s, wanted %s", cases[i].v, got,
				 cases[i].want);
	}
}

/* Random doubles of every kind, and the neighbours of every power of
 * ten the fast path scales by, against the rule. */
static void test_dtoa_matches_the_printf_rule(void **state)
{
	uint64_t x = 0xD1B54A32D192ED03ull;
	uint64_t n = test_scaled(100000, 3000);
	char got[TTLOG__DTOA_MAX + 1], want[48];

	(void)state;
	for (int e = -6; e <= 22; e++)
		for (int k = -3; k <= 3; k++) {
			double d = test_next_ulp(pow(10, e), k);

			dtoa_checked(d, got);
			test_shortest_g(d, want, sizeof(want));
			if (strcmp(got, want) != 0)
				fail_msg("%a: %s, wanted %s", d, got, want);
		}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = next_random(&x);
		double d;

		switch (i % 4) {
		case 0: /* any bits that make a finite number */
			memcpy(&d, &r, 8);
			if (!isfinite(d))
				continue;
			break;
		case 1: /* a short decimal */
			d = (double)(r % 10000000) / pow(10, (double)(r >> 60));
			break;
		case 2: /* near a whole number, up to 2e15 */
			d = test_next_ulp((double)(r % 2000000000000000ull),
					  (int)(r >> 62) - 2);
			break;
		default: /* subnormal */
			r &= (1ull << 52) - 1;
			memcpy(&d, &r, 8);
			break;
		}
		if (r & 0x100)
			d = -d;
		dtoa_checked(d, got);
		test_shortest_g(d, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("%a: %s, wanted %s", d, got, want);
	}
}

/* The decimal point is '.' in a locale whose point is a comma (where one
 * is installed: `locale -a`). */
static void test_dtoa_ignores_lc_numeric(void **state)
{
	static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8",
					    "fr_FR.UTF-8", "fr_FR.utf8"};
	char got[TTLOG__DTOA_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (setlocale(LC_NUMERIC, names[i]) != NULL)
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		skip(); /* no comma locale on this machine */
	dtoa_checked(0.1, got);
	assert_string_equal(got, "0.1");
	dtoa_checked(1.5e-300, got); /* through the C library */
	assert_string_equal(got, "1.5e-300");
	dtoa_checked(-2.5e20, got);
	assert_string_equal(got, "-2.5e+20");
	setlocale(LC_NUMERIC, "C");
}

static void test_dtoa_integers_at_their_ends(void **state)
{
	static const struct {
		int64_t v;
		const char *want;
	} i64[] = {{0, "0"},
		   {-1, "-1"},
		   {9, "9"},
		   {10, "10"},
		   {INT64_MAX, "9223372036854775807"},
		   {INT64_MIN, "-9223372036854775808"}};
	char b[TTLOG__U64TOA_MAX + 4];

	(void)state;
	memset(b, '#', sizeof(b));
	assert_int_equal(ttlog__u64toa(b, UINT64_MAX) - b, TTLOG__U64TOA_MAX);
	assert_memory_equal(b, "18446744073709551615#", 21);
	memset(b, '#', sizeof(b));
	assert_int_equal(ttlog__u64toa(b, 0) - b, 1);
	assert_memory_equal(b, "0#", 2);
	for (size_t i = 0; i < sizeof(i64) / sizeof(i64[0]); i++) {
		size_t n;

		memset(b, '#', sizeof(b));
		n = (size_t)(ttlog__i64toa(b, i64[i].v) - b);
		assert_int_equal(n, strlen(i64[i].want));
		assert_true(n <= TTLOG__I64TOA_MAX);
		assert_memory_equal(b, i64[i].want, n);
		assert_int_equal(b[n], '#');
	}
}

/* ------------------------------------------------------------------ */
/* addresses                                                            */
/* ------------------------------------------------------------------ */

#define ALL_FORMS                                                              \
	(TTLOG__ADDR_ALLOW_BARE | TTLOG__ADDR_ALLOW_TCP |                      \
	 TTLOG__ADDR_ALLOW_TLS | TTLOG__ADDR_ALLOW_UDP |                       \
	 TTLOG__ADDR_ALLOW_UNIX)

static void test_addr_every_scheme(void **state)
{
	static const struct {
		const char *s;
		enum ttlog__addr_scheme scheme;
		const char *host, *port;
		unsigned port_num;
		int bracketed;
	} ok[] = {
		{"tcp://127.0.0.1:5514", TTLOG__ADDR_TCP, "127.0.0.1", "5514",
		 5514, 0},
		{"tls://collector.example:6514", TTLOG__ADDR_TLS,
		 "collector.example", "6514", 6514, 0},
		{"udp://0.0.0.0:514", TTLOG__ADDR_UDP, "0.0.0.0", "514", 514,
		 0},
		{"host:1", TTLOG__ADDR_BARE, "host", "1", 1, 0},
		{"tcp://[::1]:5172", TTLOG__ADDR_TCP, "::1", "5172", 5172, 1},
		{"[fe80::1%eth0]:65535", TTLOG__ADDR_BARE, "fe80::1%eth0",
		 "65535", 65535, 1},
		{"tcp://h:007", TTLOG__ADDR_TCP, "h", "7", 7, 0},
	};
	struct ttlog__addr a;
	char err[256];
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		err[0] = 0;
		assert_int_equal(ttlog__addr_parse(ok[i].s, ALL_FORMS, &a, err,
						   sizeof(err)),
				 0);
		assert_int_equal(a.scheme, ok[i].scheme);
		assert_string_equal(a.host, ok[i].host);
		assert_string_equal(a.port, ok[i].port);
		assert_int_equal(a.port_num, ok[i].port_num);
		assert_int_equal(a.bracketed, ok[i].bracketed);
		assert_string_equal(a.path, "");
		assert_string_equal(err, "");
	}
	assert_int_equal(ttlog__addr_parse("unix:///run/ttlog.sock", ALL_FORMS,
					   &a, err, sizeof(err)),
			 0);
	assert_int_equal(a.scheme, TTLOG__ADDR_UNIX);
	assert_string_equal(a.path, "/run/ttlog.sock");
	assert_string_equal(a.host, "");
	/* A datagram socket only where the caller takes one. */
	assert_int_equal(
		ttlog__addr_parse("unixgram:///run/ttlog/log",
				  ALL_FORMS | TTLOG__ADDR_ALLOW_UNIXGRAM, &a,
				  err, sizeof(err)),
		0);
	assert_int_equal(a.scheme, TTLOG__ADDR_UNIXGRAM);
	assert_string_equal(a.path, "/run/ttlog/log");
	assert_int_equal(ttlog__addr_parse("unixgram:///run/ttlog/log",
					   ALL_FORMS, &a, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "unknown scheme"));
	assert_int_equal(ttlog__addr_parse("unixgram://log",
					   TTLOG__ADDR_ALLOW_UNIXGRAM, &a, err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "unixgram:// needs an absolute path"));
}

/* Each refusal quotes the input and names what is wrong. */
static void test_addr_refusals_name_the_part(void **state)
{
	static const struct {
		const char *s, *want;
	} bad[] = {
		{"", "an address is empty"},
		{"ftp://x:21",
		 "ftp://x:21: unknown scheme; expected HOST:PORT, "
		 "tcp://HOST:PORT, tls://HOST:PORT, "
		 "udp://HOST:PORT or unix:///path"},
		{"tcp://127.0.0.1", "tcp://127.0.0.1: expected HOST:PORT "
				    "(missing :PORT)"},
		{"tcp://:5", "tcp://:5: expected HOST:PORT (missing or too "
			     "long HOST)"},
		{"[]:5", "[]:5: expected HOST:PORT (missing or too long HOST)"},
		{"tcp://::1:5", "tcp://::1:5: write an IPv6 address in "
				"brackets ([::1]:PORT)"},
		{"[::1:99", "[::1:99: expected [ADDR]:PORT"},
		{"[::1]99", "[::1]99: expected [ADDR]:PORT"},
		{"h:", "h:: PORT must be a number; port must be 1..65535"},
		{"h:0", "h:0: PORT must be a number; port must be 1..65535"},
		{"h:65536", "h:65536: PORT must be a number; port must be "
			    "1..65535"},
		{"h:123456", "h:123456: PORT must be a number; port must be "
			     "1..65535"},
		{"h:-1", "h:-1: PORT must be a number; port must be 1..65535"},
		{"h:+1", "h:+1: PORT must be a number; port must be 1..65535"},
		{"h:12x",
		 "h:12x: PORT must be a number; port must be 1..65535"},
		{"h: 1", "h: 1: PORT must be a number; port must be 1..65535"},
		{"unix://relative.sock", "unix://relative.sock: unix:// needs "
					 "an absolute path "
					 "(unix:///run/ttlog.sock)"},
		{"unix://", "unix://: unix:// needs an absolute path "
			    "(unix:///run/ttlog.sock)"},
	};
	struct ttlog__addr a;
	char err[256];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(ttlog__addr_parse(bad[i].s, ALL_FORMS, &a, err,
						   sizeof(err)),
				 -1);
		assert_string_equal(err, bad[i].want);
	}
	assert_int_equal(
		ttlog__addr_parse(NULL, ALL_FORMS, &a, err, sizeof(err)), -1);
	assert_string_equal(err, "an address is empty");
}

static void test_addr_port0_only_with_its_flag(void **state)
{
	struct ttlog__addr a;
	char err[256];
	(void)state;

	assert_int_equal(
		ttlog__addr_parse("tcp://h:0",
				  TTLOG__ADDR_ALLOW_TCP | TTLOG__ADDR_PORT0, &a,
				  err, sizeof(err)),
		0);
	assert_string_equal(a.port, "0");
	assert_int_equal(a.port_num, 0);
	assert_int_equal(
		ttlog__addr_parse("tcp://h:00000",
				  TTLOG__ADDR_ALLOW_TCP | TTLOG__ADDR_PORT0, &a,
				  err, sizeof(err)),
		0);
	assert_string_equal(a.port, "0");
	assert_int_equal(
		ttlog__addr_parse("tcp://h:65536",
				  TTLOG__ADDR_ALLOW_TCP | TTLOG__ADDR_PORT0, &a,
				  err, sizeof(err)),
		-1);
	assert_string_equal(err, "tcp://h:65536: PORT must be a number; port "
				 "must be 0..65535");
	assert_int_equal(ttlog__addr_parse("tcp://h:0", TTLOG__ADDR_ALLOW_TCP,
					   &a, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "tcp://h:0: PORT must be a number; port "
				 "must be 1..65535");
}

/* A form the caller did not allow is refused, and the message offers only
 * the forms it does allow. */
static void test_addr_only_the_allowed_forms(void **state)
{
	struct ttlog__addr a;
	char err[256];
	(void)state;

	assert_int_equal(ttlog__addr_parse("udp://h:514",
					   TTLOG__ADDR_ALLOW_TCP |
						   TTLOG__ADDR_ALLOW_UNIX,
					   &a, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "udp://h:514: unknown scheme; expected "
				 "tcp://HOST:PORT or unix:///path");
	assert_int_equal(ttlog__addr_parse("h:514", TTLOG__ADDR_ALLOW_TCP, &a,
					   err, sizeof(err)),
			 -1);
	assert_string_equal(err,
			    "h:514: unknown scheme; expected tcp://HOST:PORT");
	assert_int_equal(ttlog__addr_parse("tcp://h:514",
					   TTLOG__ADDR_ALLOW_BARE, &a, err,
					   sizeof(err)),
			 -1);
	assert_string_equal(err, "tcp://h:514: unknown scheme; expected "
				 "HOST:PORT");
}

static void test_addr_lengths_at_their_limits(void **state)
{
	char s[400], host[300], err[600];
	struct ttlog__addr a;
	(void)state;

	/* A unix path of 107 bytes fits sun_path with its NUL; 108 does not. */
	memset(host, 'p', 107);
	host[0] = '/';
	host[107] = 0;
	snprintf(s, sizeof(s), "unix://%s", host);
	assert_int_equal(ttlog__addr_parse(s, TTLOG__ADDR_ALLOW_UNIX, &a, err,
					   sizeof(err)),
			 0);
	assert_int_equal(strlen(a.path), 107);
	snprintf(s, sizeof(s), "unix://%sp", host);
	assert_int_equal(ttlog__addr_parse(s, TTLOG__ADDR_ALLOW_UNIX, &a, err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "path too long for a unix socket (at most "
				    "107 bytes)"));

	/* A host of 255 bytes fits; 256 does not. */
	memset(host, 'h', 256);
	host[255] = 0;
	snprintf(s, sizeof(s), "%s:1", host);
	assert_int_equal(ttlog__addr_parse(s, TTLOG__ADDR_ALLOW_BARE, &a, err,
					   sizeof(err)),
			 0);
	assert_int_equal(strlen(a.host), 255);
	host[255] = 'h';
	host[256] = 0;
	snprintf(s, sizeof(s), "%s:1", host);
	assert_int_equal(ttlog__addr_parse(s, TTLOG__ADDR_ALLOW_BARE, &a, err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "missing or too long HOST"));

	/* A short err buffer is cut, never overrun. */
	memset(err, '#', sizeof(err));
	assert_int_equal(
		ttlog__addr_parse("h:0", TTLOG__ADDR_ALLOW_BARE, &a, err, 8),
		-1);
	assert_string_equal(err, "h:0: PO");
	assert_int_equal(err[8], '#');
}

/* ------------------------------------------------------------------ */
/* error sentences                                                      */
/* ------------------------------------------------------------------ */

static int wrapped(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int wrapped(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ttlog__verrf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

static void test_errf_formats_cuts_and_returns_minus_one(void **state)
{
	char err[16];
	(void)state;

	assert_int_equal(ttlog__errf(err, sizeof(err), "%s: %d", "port", 70000),
			 -1);
	assert_string_equal(err, "port: 70000");
	/* Cut to len - 1 bytes and terminated; nothing written past len. */
	memset(err, '#', sizeof(err));
	assert_int_equal(ttlog__errf(err, 6, "%s", "0123456789"), -1);
	assert_string_equal(err, "01234");
	assert_int_equal(err[6], '#');
	/* No buffer, or no room: nothing is written, and it still fails. */
	memset(err, '#', sizeof(err));
	assert_int_equal(ttlog__errf(err, 0, "%s", "x"), -1);
	assert_int_equal(err[0], '#');
	assert_int_equal(ttlog__errf(NULL, 99, "%s", "x"), -1);
	/* The va_list form, for wrappers. */
	assert_int_equal(wrapped(err, sizeof(err), "%u/%c", 7u, 'z'), -1);
	assert_string_equal(err, "7/z");
	memset(err, '#', sizeof(err));
	assert_int_equal(wrapped(err, 1, "%s", "abc"), -1);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], '#');
}

/* ------------------------------------------------------------------ */
/* growth and the byte buffer                                           */
/* ------------------------------------------------------------------ */

static void test_grow_doubles_from_first_and_refuses_overflow(void **state)
{
	size_t cap = 0;
	uint32_t *a;
	(void)state;

	a = ttlog__grow(NULL, &cap, 3, sizeof(*a), 16);
	assert_non_null(a);
	assert_int_equal(cap, 16);
	a[15] = 7;
	a = ttlog__grow(a, &cap, 17, sizeof(*a), 16);
	assert_non_null(a);
	assert_int_equal(cap, 32);
	assert_int_equal(a[15], 7); /* realloc kept the contents */
	a = ttlog__grow(a, &cap, 200, sizeof(*a), 16);
	assert_int_equal(cap, 256);
	/* A size that overflows size_t: NULL, the array and cap untouched. */
	assert_null(ttlog__grow(a, &cap, SIZE_MAX / 2, sizeof(*a), 16));
	assert_int_equal(cap, 256);
	assert_int_equal(a[15], 7);
	free(a);
	/* first = 0 still grows. */
	cap = 0;
	a = ttlog__grow(NULL, &cap, 1, sizeof(*a), 0);
	assert_non_null(a);
	assert_int_equal(cap, 1);
	free(a);
}

static void test_buf_appends_resets_and_oom_is_sticky(void **state)
{
	struct ttlog__buf b = {0};
	char big[300];
	(void)state;

	ttlog__buf_puts(&b, "ab");
	ttlog__buf_putc(&b, 'c');
	assert_int_equal(b.len, 3);
	assert_int_equal(b.cap, 256);
	assert_memory_equal(b.p, "abc", 3);
	memset(big, 'x', sizeof(big));
	ttlog__buf_put(&b, big, sizeof(big));
	assert_int_equal(b.len, 303);
	assert_int_equal(b.cap, 512);
	assert_int_equal(b.p[302], 'x');
	/* Reset keeps the memory for the next use. */
	ttlog__buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 512);
	/* A request past size_t fails without asking malloc; later growth
	 * fails too (appends that fit in the room already there still
	 * land) until a reset. */
	ttlog__buf_putc(&b, 'q');
	assert_int_equal(ttlog__buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(b.oom, 1);
	assert_int_equal(ttlog__buf_reserve(&b, 512), -1);
	ttlog__buf_put(&b, big, sizeof(big));
	ttlog__buf_put(&b, big, sizeof(big));
	assert_int_equal(b.len, 301);
	assert_int_equal(b.cap, 512);
	ttlog__buf_reset(&b);
	assert_int_equal(b.oom, 0);
	assert_int_equal(ttlog__buf_reserve(&b, 513), 0);
	assert_int_equal(b.cap, 1024);
	ttlog__buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.cap, 0);
	ttlog__buf_free(&b); /* twice is harmless */
}

/* The one table of level spellings (common/level.c): the words the
 * configuration, ttlog-view and the inputs share, in any case; syslog's
 * keywords mean what their numbers mean; "off" only where allowed. */
static void test_level_spellings_one_table(void **state)
{
	static const struct {
		const char *name;
		int level;
	} want[] = {
		{"trace", 0},	{"DEBUG", 1},	      {"Info", 2},
		{"notice", 2},	{"informational", 2}, {"warn", 3},
		{"WARNING", 3}, {"error", 4},	      {"err", 4},
		{"fatal", 5},	{"critical", 5},      {"crit", 5},
		{"alert", 5},	{"emerg", 5},	      {"emergency", 5},
		{"panic", 5},
	};
	static const char *const severity[8] = {"emerg", "alert",   "crit",
						"err",	 "warning", "notice",
						"info",	 "debug"};
	char list[256];
	size_t n = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(ttlog__level_parse(want[i].name,
						    strlen(want[i].name), 0),
				 want[i].level);
	/* Every spelling in the table is one of those above, or "off". */
	for (const struct ttlog_option_value *v = ttlog__level_values;
	     v->name != NULL; v++)
		n++;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]) + 1);
	for (unsigned s = 0; s < 8; s++)
		assert_int_equal(
			ttlog__level_parse(severity[s], strlen(severity[s]), 0),
			ttlog__level_from_severity(s));
	assert_int_equal(ttlog__level_from_severity(8), 1);
	assert_int_equal(ttlog__level_parse("off", 3, 0), -1);
	assert_int_equal(ttlog__level_parse("off", 3, 1), 6);
	assert_int_equal(ttlog__level_parse("warnx", 4, 0), 3); /* length */
	assert_int_equal(ttlog__level_parse("warnx", 5, 0), -1);
	assert_string_equal(ttlog__level_list("|", 1, list, sizeof(list)),
			    "trace|debug|info|warn|error|fatal|off");
	assert_string_equal(ttlog__level_list(", ", 0, list, sizeof(list)),
			    "trace, debug, info, warn, error, fatal");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byteorder_all_widths_both_orders),
		cmocka_unit_test(test_byteorder_high_bytes_do_not_sign_extend),
		cmocka_unit_test(
			test_byteorder_round_trips_every_byte_position),
		cmocka_unit_test(test_byteorder_variable_width),
		cmocka_unit_test(test_byteorder_unaligned),
		cmocka_unit_test(test_civil_leap_years_and_month_lengths),
		cmocka_unit_test(test_civil_days_from_civil_fixed_points),
		cmocka_unit_test(test_civil_every_day_round_trips),
		cmocka_unit_test(test_rfc3339_format_digits_and_ends),
		cmocka_unit_test(test_rfc3339_seconds_and_tail_write_no_more),
		cmocka_unit_test(test_rfc3339_format_matches_gmtime),
		cmocka_unit_test(test_rfc3339_scan_accepts_the_forms),
		cmocka_unit_test(test_rfc3339_scan_rejects),
		cmocka_unit_test(
			test_rfc3339_scan_truncated_reads_nothing_past_n),
		cmocka_unit_test(test_rfc3339_format_then_scan_round_trips),
		cmocka_unit_test(test_utf8_every_scalar_value_decodes),
		cmocka_unit_test(
			test_utf8_matches_reference_on_all_short_inputs),
		cmocka_unit_test(test_utf8_edges_overlongs_and_surrogates),
		cmocka_unit_test(test_utf8_bad_counts_maximal_subparts),
		cmocka_unit_test(test_utf8_valid_at_every_offset),
		cmocka_unit_test(test_dtoa_fixed_values),
		cmocka_unit_test(test_dtoa_matches_the_printf_rule),
		cmocka_unit_test(test_dtoa_ignores_lc_numeric),
		cmocka_unit_test(test_dtoa_integers_at_their_ends),
		cmocka_unit_test(test_addr_every_scheme),
		cmocka_unit_test(test_addr_refusals_name_the_part),
		cmocka_unit_test(test_addr_port0_only_with_its_flag),
		cmocka_unit_test(test_addr_only_the_allowed_forms),
		cmocka_unit_test(test_addr_lengths_at_their_limits),
		cmocka_unit_test(test_errf_formats_cuts_and_returns_minus_one),
		cmocka_unit_test(
			test_grow_doubles_from_first_and_refuses_overflow),
		cmocka_unit_test(test_buf_appends_resets_and_oom_is_sticky),
		cmocka_unit_test(test_level_spellings_one_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
