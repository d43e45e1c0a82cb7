/* test_fmt_syslog.c - the forward plugin's RFC 5424 formatter (fmt.h):
 * exact output for events with every value type, escaping, SD-NAME and
 * header sanitising, PRI for every level, timestamps (against gmtime_r
 * over five centuries), doubles (against printf and strtod on random
 * values), octet counts at every width, invalid UTF-8, and the output
 * read back by the agent's own syslog parser and TCP framer.
 * Ends with a speed figure (printed, never asserted). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch_internal.h"
#include "crc32c.h"
#include "fmt.h"
#include "ingest_internal.h"
#include "parse_internal.h"
#include "testutil.h"

#define T0 1700000000123456789ull /* 2023-11-14T22:13:20.123456789Z */
#define TS0 "2023-11-14T22:13:20.123456Z"

static const struct ttlog__syslog_fmt g_fmt = {"host1", "app", "42", 1, NULL};

/* ---- building events ---- */

static void ev_init(struct ttlog__in_event *ev, int level, const char *msg,
		    const char *file, uint32_t line, uint64_t t)
{
	memset(ev, 0, sizeof(*ev));
	ev->level = level;
	ev->msg = msg;
	ev->msg_len = strlen(msg);
	ev->source = file;
	ev->line = line;
	ev->time_ns = t;
}

static struct ttlog__in_field *add(struct ttlog__in_event *ev, const char *key,
				   enum ttlog_type type)
{
	struct ttlog__in_field *f = &ev->fields[ev->nfields++];

	assert_true(ev->nfields <= TTLOG__IN_MAX_FIELDS);
	f->key = key;
	f->key_len = strlen(key);
	f->type = type;
	return f;
}

static void add_i64(struct ttlog__in_event *ev, const char *key, int64_t v)
{
	add(ev, key, TTLOG_TYPE_I64)->v.i64 = v;
}

static void add_u64(struct ttlog__in_event *ev, const char *key, uint64_t v)
{
	add(ev, key, TTLOG_TYPE_U64)->v.u64 = v;
}

static void add_f64(struct ttlog__in_event *ev, const char *key, double v)
{
	add(ev, key, TTLOG_TYPE_F64)->v.f64 = v;
}

static void add_bool(struct ttlog__in_event *ev, const char *key, int v)
{
	add(ev, key, TTLOG_TYPE_BOOL)->v.b = v;
}

static void add_strn(struct ttlog__in_event *ev, const char *key, const char *v,
		     size_t len)
{
	struct ttlog__in_field *f = add(ev, key, TTLOG_TYPE_STR);
	f->v.str.ptr = v;
	f->v.str.len = len;
}

static void add_str(struct ttlog__in_event *ev, const char *key, const char *v)
{
	add_strn(ev, key, v, strlen(v));
}

static struct ttlog_batch *new_batch(void)
{
	struct ttlog_batch *b = ttlog__batch_new(64, 1 << 16, 1);
	assert_non_null(b);
	return b;
}

/* Appends ev and returns it as read back from the batch. */
static struct ttlog_event push(struct ttlog_batch *b,
			       const struct ttlog__in_event *ev)
{
	struct ttlog_event e;

	assert_int_equal(ttlog__batch_add_in(b, ev, 1, 0, 1u << 30), 0);
	assert_int_equal(ttlog_batch_event(b, ttlog_batch_count(b) - 1, &e), 0);
	return e;
}

/* ---- reading the output ---- */

/* Checks that the n bytes at p are exactly one "LEN SP MSG" with LEN the
 * byte count of MSG (no leading zero) and returns where MSG starts. */
static size_t check_frame(const char *p, size_t n)
{
	size_t i = 0, len = 0;

	assert_true(n > 2 && p[0] >= '1' && p[0] <= '9');
	while (i < n && p[i] >= '0' && p[i] <= '9')
		len = len * 10 + (size_t)(p[i++] - '0');
	assert_true(i < n && p[i] == ' ');
	i++;
	assert_int_equal(len, n - i);
	return i;
}

/* The message of one formatted event (NUL-terminated, caller frees). */
static char *fmt_msg(const struct ttlog__syslog_fmt *f,
		     const struct ttlog_event *e, size_t *len)
{
	struct ttlog__fmt_buf out = {0};
	size_t at;
	char *m;

	assert_int_equal(ttlog__fmt_syslog_event(f, e, NULL, &out), 0);
	at = check_frame(out.p, out.len);
	m = malloc(out.len - at + 1);
	assert_non_null(m);
	memcpy(m, out.p + at, out.len - at);
	m[out.len - at] = 0;
	if (len != NULL)
		*len = out.len - at;
	ttlog__fmt_buf_free(&out);
	return m;
}

static void expect(const struct ttlog__syslog_fmt *f,
		   const struct ttlog_event *e, const char *want)
{
	char *m = fmt_msg(f, e, NULL);
	assert_string_equal(m, want);
	free(m);
}

/* The value of SD param `key` in message m, as written (escapes kept). */
static char *param(const char *m, const char *key)
{
	char pat[64];
	const char *p, *q;
	char *v;

	snprintf(pat, sizeof(pat), " %s=\"", key);
	p = strstr(m, pat);
	assert_non_null(p);
	p += strlen(pat);
	for (q = p; *q != '"'; q += *q == '\\' ? 2 : 1)
		assert_true(*q != 0);
	v = strndup(p, (size_t)(q - p));
	assert_non_null(v);
	return v;
}

/* NUL-terminates the buffer's contents (not counted in len). */
static int room_for_nul(struct ttlog__fmt_buf *out)
{
	char *p = realloc(out->p, out->len + 1);
	if (p == NULL)
		return -1;
	p[out->len] = 0;
	out->p = p;
	out->cap = out->len + 1;
	return 0;
}

/* ---- the tests ---- */

static void test_fmt_every_value_type_exact(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog__fmt_buf out = {0};
	static const char want[] =
		"205 <14>1 " TS0 " host1 app 42 - [fields@32473 i=\"-5\" "
		"u=\"18446744073709551615\" f=\"0.25\" big=\"-1e+300\" "
		"t=\"true\" n=\"false\" s=\"a\\\"b\\\\c\\]d\" e=\"\"]"
		"[src@32473 file=\"src/a.c\" line=\"12\"] hello world";
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "hello world", "src/a.c", 12, T0);
	add_i64(&ev, "i", -5);
	add_u64(&ev, "u", UINT64_MAX);
	add_f64(&ev, "f", 0.25);
	add_f64(&ev, "big", -1e300);
	add_bool(&ev, "t", 1);
	add_bool(&ev, "n", 0);
	add_str(&ev, "s", "a\"b\\c]d");
	add_str(&ev, "e", "");
	e = push(b, &ev);
	/* Appended after what the buffer holds, which stays. */
	out.p = malloc(4);
	out.cap = 4;
	memcpy(out.p, "XY", 2);
	out.len = 2;
	assert_int_equal(ttlog__fmt_syslog_event(&g_fmt, &e, NULL, &out), 0);
	assert_int_equal(out.len, 2 + strlen(want));
	assert_memory_equal(out.p, "XY", 2);
	assert_memory_equal(out.p + 2, want, strlen(want));
	/* A second event follows the first. */
	assert_int_equal(ttlog__fmt_syslog_event(&g_fmt, &e, NULL, &out), 0);
	assert_int_equal(out.len, 2 + 2 * strlen(want));
	assert_memory_equal(out.p + 2 + strlen(want), want, strlen(want));
	ttlog__fmt_buf_free(&out);
	assert_null(out.p);
	assert_int_equal(out.len, 0);
	assert_int_equal(out.cap, 0);
	ttlog__fmt_buf_free(&out); /* twice is harmless */

	/* Extremes of the integers. */
	ev_init(&ev, TTLOG_LEVEL_INFO, "x", "f", 1, T0);
	add_i64(&ev, "min", INT64_MIN);
	add_i64(&ev, "max", INT64_MAX);
	add_i64(&ev, "zero", 0);
	add_u64(&ev, "u0", 0);
	e = push(b, &ev);
	expect(&g_fmt, &e,
	       "<14>1 " TS0 " host1 app 42 - [fields@32473 "
	       "min=\"-9223372036854775808\" max=\"9223372036854775807\" "
	       "zero=\"0\" u0=\"0\"][src@32473 file=\"f\" line=\"1\"] x");
	ttlog_batch_unref(b);
}

/* The rule of fmt.h spelt out the slow way: the first of %.15g, %.16g,
 * %.17g that reads back (from one digit for subnormals). */
static void ref_f64(double d, char *out, size_t n)
{
	if (isnan(d)) {
		snprintf(out, n, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, n, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	test_shortest_g(d, out, n);
}

/* Formats the doubles in v[0..n) as fields of one event and compares each
 * with ref_f64(). */
static void check_doubles(const double *v, size_t n)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char *m;
	const char *p;

	assert_true(n <= TTLOG__IN_MAX_FIELDS);
	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	for (size_t i = 0; i < n; i++)
		add_f64(&ev, "v", v[i]);
	e = push(b, &ev);
	m = fmt_msg(&g_fmt, &e, NULL);
	p = m;
	for (size_t i = 0; i < n; i++) {
		char want[48], pat[64];
		ref_f64(v[i], want, sizeof(want));
		snprintf(pat, sizeof(pat), " v=\"%s\"", want);
		if (strncmp(p = strstr(p, " v=\""), pat, strlen(pat)) != 0)
			fail_msg("%a: wanted %s, got %.30s", v[i], want, p);
		p += strlen(pat);
	}
	free(m);
	ttlog_batch_unref(b);
}

static void test_fmt_doubles_match_the_printf_rule(void **state)
{
	double v[64];
	size_t nv = 0, n = test_scaled(400000, 5000);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	(void)state;

	/* Around every power of ten that the short cuts scale by, and the
	 * ends of their ranges. */
	for (int e = -6; e <= 17; e++) {
		double p = pow(10, e);
		for (int s = -2; s <= 2; s++) {
			v[nv++] = test_next_ulp(p, s);
			if (nv == 64) {
				check_doubles(v, nv);
				nv = 0;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		double d;
		uint64_t r;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = x;
		switch (i % 5) {
		case 0: /* any bits */
			memcpy(&d, &r, 8);
			break;
		case 1: /* a short decimal */
			d = (double)(r % 10000000) / pow(10, (double)(r >> 60));
			break;
		case 2: /* 15 to 17 digits between 1e-5 and 1e16 */
			d = ldexp((double)(r >> 11), -53) *
			    pow(10, (double)((r & 31) % 22) - 5);
			break;
		case 3: /* sums that miss their decimal */
			d = (double)(r % 1000) * 0.001 + 0.1;
			break;
		default: /* near whole numbers */
			d = test_next_ulp((double)(r % 2000000000000000ull),
					  (int)(r >> 62) - 2);
			break;
		}
		if (r & 0x100)
			d = -d;
		v[nv++] = d;
		if (nv == 64) {
			check_doubles(v, nv);
			nv = 0;
		}
	}
	check_doubles(v, nv);
}

static void test_fmt_doubles_shortest_round_trip(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{0.1, "0.1"},
		{0.25, "0.25"},
		{1.0, "1"},
		{-3.0, "-3"},
		{0.0, "0"},
		{-0.0, "-0"},
		{1.0 / 3, "0.3333333333333333"},
		{0.1 + 0.2, "0.30000000000000004"},
		{123456789012345.0, "123456789012345"},
		{999999999999999.0, "999999999999999"},
		{1e15, "1e+15"},
		{9007199254740992.0, "9007199254740992"},
		{18014398509481984.0, "18014398509481984"},
		{1000000000000000.5, "1000000000000000.5"},
		{1e-5, "1e-05"},
		{1.5e-7, "1.5e-07"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"},
		{5e-324, "5e-324"},
		{-1.5e-320, "-1.5e-320"},
		{12.5, "12.5"},
		{562949953421312.25, "562949953421312.2"}, /* a tie: even */
		{562949953421312.75, "562949953421312.8"},
		{0.0001, "0.0001"},
		{0.00012345678901234567, "0.00012345678901234567"},
		{99999.999999999985, "99999.99999999999"},
		{999999999999999.9, "999999999999999.9"},
	};
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char *m, *v;
	uint64_t x = 88172645463325252ull;
	size_t n = test_scaled(20000, 500);
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		add_f64(&ev, "v", cases[i].v);
	add_f64(&ev, "nan", NAN);
	add_f64(&ev, "inf", INFINITY);
	add_f64(&ev, "ninf", -INFINITY);
	e = push(b, &ev);
	m = fmt_msg(&g_fmt, &e, NULL);
	/* The params in order: find each after the previous one. */
	const char *p = m;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char pat[64];
		snprintf(pat, sizeof(pat), " v=\"%s\"", cases[i].want);
		const char *q = strstr(p, pat);
		if (q == NULL)
			fail_msg("%.17g: wanted %s in %s", cases[i].v,
				 cases[i].want, p);
		p = q + strlen(pat);
	}
	assert_non_null(strstr(p, " nan=\"NaN\" inf=\"Infinity\" "
				  "ninf=\"-Infinity\"]"));
	free(m);

	/* Random bit patterns read back exactly (NaNs aside), in at most 17
	 * significant digits. */
	for (size_t i = 0; i < n; i++) {
		double d;
		uint64_t bits;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bits = x;
		memcpy(&d, &bits, 8);
		if (isnan(d) || isinf(d))
			continue;
		ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
		add_f64(&ev, "v", d);
		e = push(b, &ev);
		m = fmt_msg(&g_fmt, &e, NULL);
		if (ttlog_batch_count(b) >= 60) {
			ttlog_batch_unref(b);
			b = new_batch();
		}
		v = param(m, "v");
		char *end;
		double back = strtod(v, &end);
		if (*end != 0 || memcmp(&back, &d, 8) != 0)
			fail_msg("%.17g came out as %s", d, v);
		assert_true(strspn(v, "-0123456789.e+") == strlen(v));
		free(v);
		free(m);
	}
	ttlog_batch_unref(b);
}

static void test_fmt_keys_are_made_sd_names(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "k", "f", 1, T0);
	add_i64(&ev, "a b", 1);
	add_i64(&ev, "x=y", 2);
	add_i64(&ev, "q\"", 3);
	add_i64(&ev, "]", 4);
	add_i64(&ev, "\xC3\xA9t\xC3\xA9", 5); /* "été": 2 bytes each */
	add_i64(&ev, "\x01tab\t\x7F", 6);
	add_i64(&ev, "abcdefghijklmnopqrstuvwxyz012345", 7);  /* 32 */
	add_i64(&ev, "abcdefghijklmnopqrstuvwxyz0123456", 8); /* 33 */
	add_i64(&ev, "", 9);
	add_i64(&ev, "dup", 10);
	add_i64(&ev, "dup", 11); /* repeated names are kept, in order */
	add_i64(&ev, "ok@!#$%&'()*+,-./:;<>?[\\^_`{|}~", 12);
	e = push(b, &ev);
	expect(&g_fmt, &e,
	       "<14>1 " TS0 " host1 app 42 - [fields@32473 "
	       "a_b~1c724a5e=\"1\" x_y~87ee3ca9=\"2\" q_~9c1cc50b=\"3\" "
	       "_~bc70c551=\"4\" __t__~d8a1358a=\"5\" "
	       "_tab__~9231ecfb=\"6\" "
	       "abcdefghijklmnopqrstuvwxyz012345=\"7\" "
	       "abcdefghijklmnopqrstuvw~d6d70807=\"8\" ~00000000=\"9\" "
	       "dup=\"10\" dup=\"11\" "
	       "ok@!#$%&'()*+,-./:;<>?[\\^_`{|}~=\"12\"]"
	       "[src@32473 file=\"f\" line=\"1\"] k");
	ttlog_batch_unref(b);
}

static void test_fmt_no_fields_no_msg_and_src(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	(void)state;

	/* Without fields there is no fields element; the source element is
	 * always there, so STRUCTURED-DATA is never "-". */
	ev_init(&ev, TTLOG_LEVEL_WARN, "just text", "main.c", 99, T0);
	e = push(b, &ev);
	expect(&g_fmt, &e,
	       "<12>1 " TS0 " host1 app 42 - [src@32473 file=\"main.c\" "
	       "line=\"99\"] just text");
	/* An empty message: no SP after the structured data. */
	ev_init(&ev, TTLOG_LEVEL_WARN, "", "main.c", 0, T0);
	add_bool(&ev, "b", 1);
	e = push(b, &ev);
	expect(&g_fmt, &e,
	       "<12>1 " TS0 " host1 app 42 - [fields@32473 b=\"true\"]"
	       "[src@32473 file=\"main.c\" line=\"0\"]");
	/* The file name is a PARAM-VALUE: escaped and made UTF-8. */
	ev_init(&ev, TTLOG_LEVEL_WARN, "m", "we\"ird]\\dir/\xFF.c", 5, T0);
	e = push(b, &ev);
	expect(&g_fmt, &e,
	       "<12>1 " TS0 " host1 app 42 - [src@32473 "
	       "file=\"we\\\"ird\\]\\\\dir/\xEF\xBF\xBD.c\" line=\"5\"] m");
	/* Newlines (and other control bytes) in the message are kept:
	 * octet counting makes them safe. A leading space too. */
	ev_init(&ev, TTLOG_LEVEL_WARN, " two\nlines\r\n", "f", 4294967295u, T0);
	e = push(b, &ev);
	expect(&g_fmt, &e,
	       "<12>1 " TS0 " host1 app 42 - [src@32473 file=\"f\" "
	       "line=\"4294967295\"]  two\nlines\r\n");
	/* A NULL file or message in a hand-made event. */
	e.file = NULL;
	e.msg = NULL;
	expect(&g_fmt, &e,
	       "<12>1 " TS0 " host1 app 42 - [src@32473 file=\"\" "
	       "line=\"4294967295\"]");
	ttlog_batch_unref(b);
}

static void test_fmt_pri_for_every_level_and_facility(void **state)
{
	static const unsigned sev[] = {7, 7, 6, 4, 3, 2};
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog__syslog_fmt f = g_fmt;
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	e = push(b, &ev);
	for (int fac = -2; fac <= 25; fac++) {
		for (int lvl = 0; lvl <= TTLOG_LEVEL_OFF + 1; lvl++) {
			char want[16];
			char *m;
			int eff = fac < 0 || fac > 23 ? 1 : fac;
			unsigned s = lvl < 6 ? sev[lvl] : 6;
			f.facility = fac;
			e.level = (uint8_t)lvl;
			m = fmt_msg(&f, &e, NULL);
			snprintf(want, sizeof(want), "<%u>1 ",
				 (unsigned)eff * 8 + s);
			assert_memory_equal(m, want, strlen(want));
			free(m);
		}
	}
	/* A few by hand. */
	f.facility = 0;
	e.level = TTLOG_LEVEL_FATAL;
	expect(&f, &e,
	       "<2>1 " TS0 " host1 app 42 - [src@32473 file=\"f\" "
	       "line=\"1\"] m");
	f.facility = 23;
	e.level = TTLOG_LEVEL_TRACE;
	expect(&f, &e,
	       "<191>1 " TS0 " host1 app 42 - [src@32473 file=\"f\" "
	       "line=\"1\"] m");
	f.facility = 16; /* local0 */
	e.level = TTLOG_LEVEL_ERROR;
	expect(&f, &e,
	       "<131>1 " TS0 " host1 app 42 - [src@32473 file=\"f\" "
	       "line=\"1\"] m");
	ttlog_batch_unref(b);
}

/* The timestamp of a formatted event. */
static void ts_of(const struct ttlog_event *e, char *ts)
{
	char *m = fmt_msg(&g_fmt, e, NULL);
	const char *p = strchr(m, ' ');

	assert_non_null(p);
	memcpy(ts, p + 1, 27);
	ts[27] = 0;
	free(m);
}

static void test_fmt_timestamps(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000000Z"},
		{999, "1970-01-01T00:00:00.000000Z"}, /* truncated */
		{1999, "1970-01-01T00:00:00.000001Z"},
		{999999999, "1970-01-01T00:00:00.999999Z"},
		{1000000000, "1970-01-01T00:00:01.000000Z"},
		{T0, TS0},
		{T0 + 1, TS0}, /* same second: from the cache */
		{T0 + 876543211, "2023-11-14T22:13:21.000000Z"},
		{T0 + 3600 * 1000000000ull, "2023-11-14T23:13:20.123456Z"},
		{T0 - 1000000000ull, "2023-11-14T22:13:19.123456Z"}, /* back */
		{951782400000000000ull, "2000-02-29T00:00:00.000000Z"},
		{951868799999999999ull, "2000-02-29T23:59:59.999999Z"},
		{4107542400000000000ull, "2100-03-01T00:00:00.000000Z"},
		{4107456000000000000ull, "2100-02-28T00:00:00.000000Z"},
		{1709164800000000000ull, "2024-02-29T00:00:00.000000Z"},
		{94694399000000000ull, "1972-12-31T23:59:59.000000Z"},
		{T0, TS0}, /* and back again */
		{UINT64_MAX, "2554-07-21T23:34:33.709551Z"},
	};
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char ts[28], want[40];
	uint64_t x = 2463534242ull;
	size_t n = test_scaled(200000, 2000);
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	e = push(b, &ev);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e.time_ns = cases[i].ns;
		ts_of(&e, ts);
		assert_string_equal(ts, cases[i].want);
	}
	/* Events of one batch, seconds apart, read back in order. */
	for (int i = 0; i < 5; i++) {
		ev.time_ns = T0 + (uint64_t)i * 86400000000000ull * 366;
		push(b, &ev);
	}
	for (size_t i = 1; i < ttlog_batch_count(b); i++) {
		char *m;
		assert_int_equal(ttlog_batch_event(b, i, &e), 0);
		m = fmt_msg(&g_fmt, &e, NULL);
		assert_non_null(strstr(m, i == 1   ? " " TS0 " "
					  : i == 2 ? " 2024-11-14T22:13:20.12"
					  : i == 3 ? " 2025-11-15T22:13:20.12"
					  : i == 4
						  ? " 2026-11-16T22:13:20.12"
						  : " 2027-11-17T22:13:20.12"));
		free(m);
	}
	/* Random seconds up to 2554 against gmtime_r. */
	for (size_t i = 0; i < n; i++) {
		struct tm tm;
		time_t t;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		e.time_ns = x % UINT64_MAX;
		t = (time_t)(e.time_ns / 1000000000u);
		assert_non_null(gmtime_r(&t, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + 19, sizeof(want) - 19, ".%06uZ",
			 (unsigned)(e.time_ns % 1000000000u / 1000u));
		ts_of(&e, ts);
		assert_string_equal(ts, want);
	}
	ttlog_batch_unref(b);
}

static void test_fmt_header_fields_are_sanitised(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog__syslog_fmt f = {"my host\xC3\xA9", "a\tb", "1 2", 1,
				      NULL};
	char host[300], app[61], pid[201], want[1024], sys[256];
	char *m;
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	e = push(b, &ev);
	expect(&f, &e,
	       "<14>1 " TS0 " my_host__ a_b 1_2 - [src@32473 file=\"f\" "
	       "line=\"1\"] m");
	/* Cut to 255, 48 and 128 bytes. */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	memset(app, 'a', sizeof(app) - 1);
	app[sizeof(app) - 1] = 0;
	memset(pid, '9', sizeof(pid) - 1);
	pid[sizeof(pid) - 1] = 0;
	f.hostname = host;
	f.app_name = app;
	f.procid = pid;
	snprintf(want, sizeof(want), "<14>1 %s %.255s %.48s %.128s - [", TS0,
		 host, app, pid);
	m = fmt_msg(&f, &e, NULL);
	assert_memory_equal(m, want, strlen(want));
	free(m);
	/* Defaults: this host's name, "ttlog", this process's id; a NULL
	 * format is all defaults. */
	assert_int_equal(gethostname(sys, sizeof(sys)), 0);
	sys[sizeof(sys) - 1] = 0;
	for (char *s = sys; *s != 0; s++)
		if (*s <= ' ' || *s > '~')
			*s = '_';
	snprintf(want, sizeof(want), "<14>1 %s %s ttlog %ld - [src@32473 ", TS0,
		 sys[0] ? sys : "-", (long)getpid());
	f.hostname = "";
	f.app_name = "";
	f.procid = "";
	m = fmt_msg(&f, &e, NULL);
	assert_memory_equal(m, want, strlen(want));
	free(m);
	m = fmt_msg(NULL, &e, NULL);
	assert_memory_equal(m, want, strlen(want));
	free(m);
	/* The pid is cached per thread and looked up again when the second
	 * changes: a forked child has its own from its next second on. */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct ttlog__fmt_buf out = {0};
		int found;
		e.time_ns += 1000000000u;
		snprintf(want, sizeof(want), " ttlog %ld - ", (long)getpid());
		if (ttlog__fmt_syslog_event(NULL, &e, NULL, &out) != 0 ||
		    room_for_nul(&out) != 0)
			_exit(2);
		found = strstr(out.p, want) != NULL;
		ttlog__fmt_buf_free(&out);
		/* The parent's batch too, so that valgrind's leak check of
		 * this child finds nothing. */
		ttlog_batch_unref(b);
		_exit(found ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ttlog_batch_unref(b);
}

static void test_fmt_sd_id_option(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog__syslog_fmt f = g_fmt;
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	add_i64(&ev, "k", 1);
	e = push(b, &ev);
	/* The source element takes the enterprise number of the fields'. */
	f.sd_id = "app@12345";
	expect(&f, &e,
	       "<14>1 " TS0 " host1 app 42 - [app@12345 k=\"1\"]"
	       "[src@12345 file=\"f\" line=\"1\"] m");
	/* Made an SD-NAME like the keys. */
	f.sd_id = "my fields=x@1.2.3";
	expect(&f, &e,
	       "<14>1 " TS0 " host1 app 42 - [my_fields_x@1.2.3 k=\"1\"]"
	       "[src@1.2.3 file=\"f\" line=\"1\"] m");
	/* Without '@' (an IANA name): the source keeps src@32473. */
	f.sd_id = "meta";
	expect(&f, &e,
	       "<14>1 " TS0 " host1 app 42 - [meta k=\"1\"]"
	       "[src@32473 file=\"f\" line=\"1\"] m");
	/* Cut to 32 bytes first; "src" + "@..." too long: src@32473. */
	f.sd_id = "abcdefghijklmnopqrstuvwxyz@12345678";
	expect(&f, &e,
	       "<14>1 " TS0 " host1 app 42 - "
	       "[abcdefghijklmnopqrstuvwxyz@12345 k=\"1\"]"
	       "[src@12345 file=\"f\" line=\"1\"] m");
	f.sd_id = "ab@12345678901234567890123456789";
	expect(&f, &e,
	       "<14>1 " TS0 " host1 app 42 - "
	       "[ab@12345678901234567890123456789 k=\"1\"]"
	       "[src@32473 file=\"f\" line=\"1\"] m");
	f.sd_id = "";
	expect(&f, &e,
	       "<14>1 " TS0 " host1 app 42 - [fields@32473 k=\"1\"]"
	       "[src@32473 file=\"f\" line=\"1\"] m");
	ttlog_batch_unref(b);
}

static void test_fmt_invalid_utf8_is_replaced(void **state)
{
	/* Each ill-formed part becomes one U+FFFD per maximal subpart, as
	 * Unicode recommends. */
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"plain", "plain"},
		{"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
		 "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"}, /* é€😀 */
		{"a\xC3(b", "a\xEF\xBF\xBD(b"},
		{"\x80", "\xEF\xBF\xBD"},
		{"\xBF\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},
		{"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"}, /* overlong '/' */
		{"\xE0\x80\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
		{"\xED\xA0\x80",
		 "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* D800 */
		{"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
				     "\xEF\xBF\xBD"}, /* 110000 */
		{"\xF0\x9F\x98x", "\xEF\xBF\xBDx"},   /* cut short */
		{"\xE2\x82", "\xEF\xBF\xBD"},	      /* at the end */
		{"\xF5\xFE\xFF", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
		{"\xEF\xBB\xBF"
		 "bom",
		 "\xEF\xBB\xBF"
		 "bom"}, /* valid: kept */
	};
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char want[256];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[64];
		snprintf(msg, sizeof(msg), "m:%s", cases[i].in);
		ev_init(&ev, TTLOG_LEVEL_INFO, msg, "f", 1, T0);
		add_str(&ev, "v", cases[i].in);
		e = push(b, &ev);
		snprintf(want, sizeof(want),
			 "<14>1 " TS0 " host1 app 42 - [fields@32473 "
			 "v=\"%s\"][src@32473 file=\"f\" line=\"1\"] m:%s",
			 cases[i].want, cases[i].want);
		expect(&g_fmt, &e, want);
		if (ttlog_batch_count(b) >= 60) {
			ttlog_batch_unref(b);
			b = new_batch();
		}
	}
	/* A NUL inside a value is a valid character and is kept. */
	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	add_strn(&ev, "v", "a\0b", 3);
	e = push(b, &ev);
	{
		size_t len;
		char *m = fmt_msg(&g_fmt, &e, &len);
		assert_non_null(memmem(m, len, "v=\"a\0b\"", 7));
		free(m);
	}
	ttlog_batch_unref(b);
}

static void test_fmt_octet_count_at_every_width(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog__syslog_fmt f = {"h", "a", "1", 1, NULL};
	struct ttlog__fmt_buf out = {0};
	char *big = malloc(2 << 20);
	size_t widths[8] = {0}, total = 0, at, nmsg = 0;
	(void)state;

	assert_non_null(big);
	memset(big, 'x', 2 << 20);
	/* Message lengths from the shortest possible (two digits) past
	 * 1 MiB (seven), each appended to one buffer. */
	for (size_t len = 0; len < (2u << 20) - 1000; len = len * 3 / 2 + 1) {
		struct ttlog__fmt_buf one = {0};
		size_t before = out.len;
		ev_init(&ev, TTLOG_LEVEL_INFO, "", "", 0, 0);
		ev.msg = big;
		ev.msg_len = len;
		e = push(b, &ev);
		assert_int_equal(ttlog__fmt_syslog_event(&f, &e, NULL, &out),
				 0);
		at = check_frame(out.p + before, out.len - before);
		widths[at - 1]++;
		/* The same bytes as into an empty buffer. */
		assert_int_equal(ttlog__fmt_syslog_event(&f, &e, NULL, &one),
				 0);
		assert_int_equal(one.len, out.len - before);
		assert_memory_equal(one.p, out.p + before, one.len);
		ttlog__fmt_buf_free(&one);
		nmsg++;
		if (ttlog_batch_count(b) >= 8) {
			ttlog_batch_unref(b);
			b = new_batch();
		}
	}
	for (int w = 2; w <= 7; w++)
		if (widths[w] == 0)
			fail_msg("no message with a %d-digit count", w);
	/* An escaped value doubles: counted after escaping. */
	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	memset(big, '"', 1000);
	add_strn(&ev, "q", big, 1000);
	e = push(b, &ev);
	{
		size_t len;
		char *m = fmt_msg(&g_fmt, &e, &len);
		assert_true(len > 2000);
		free(m);
	}
	/* The agent's TCP framer cuts the stream into the same messages. */
	for (at = 0; at < out.len; total++) {
		const char *msg;
		size_t mlen, used;
		char err[128];
		assert_int_equal(ttlog__syslog_frame(out.p + at, out.len - at,
						     4 << 20, &msg, &mlen,
						     &used, err, sizeof(err)),
				 1);
		at += used;
	}
	assert_int_equal(total, nmsg);
	ttlog__fmt_buf_free(&out);
	free(big);
	ttlog_batch_unref(b);
}

static const struct ttlog__in_field *get(const struct ttlog__in_event *ev,
					 const char *key, int nth)
{
	for (uint32_t i = 0; i < ev->nfields; i++)
		if (ev->fields[i].key_len == strlen(key) &&
		    memcmp(ev->fields[i].key, key, strlen(key)) == 0 &&
		    nth-- == 0)
			return &ev->fields[i];
	fail_msg("no field %s", key);
	return NULL;
}

static void want_str(const struct ttlog__in_event *ev, const char *key, int nth,
		     const char *want, size_t len)
{
	const struct ttlog__in_field *f = get(ev, key, nth);

	assert_int_equal(f->type, TTLOG_TYPE_STR);
	assert_int_equal(f->v.str.len, len);
	assert_memory_equal(f->v.str.ptr, want, len);
}

/* Long keys that share their first 32 bytes stay apart: each is renamed
 * to its own PARAM-NAME, counted, and a collector reading the message
 * gets both values. A valid name that looks renamed is renamed too. */
static void test_fmt_long_keys_never_collide(void **state)
{
	static const char k1[] = "relayed.exampleSDID@32473.param12345678a";
	static const char k2[] = "relayed.exampleSDID@32473.param12345678b";
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev, in;
	struct ttlog__scratch s = {0};
	struct ttlog__fmt_buf out = {0};
	struct ttlog_event e;
	char err[160], n1[64], n2[64];
	const char *m;
	size_t at;
	(void)state;

	assert_int_equal(strlen(k1), 40);
	ev_init(&ev, TTLOG_LEVEL_INFO, "m", "f", 1, T0);
	add_str(&ev, k1, "one");
	add_str(&ev, k2, "two");
	add_str(&ev, "x~0123abcd", "looks renamed");
	add_str(&ev, "x~0123abcD", "does not");
	e = push(b, &ev);
	assert_int_equal(ttlog__fmt_syslog_event(&g_fmt, &e, NULL, &out), 0);
	assert_int_equal(out.renamed, 3);
	at = check_frame(out.p, out.len);
	m = out.p + at;
	assert_int_equal(
		ttlog__syslog_parse(m, out.len - at, &in, &s, err, sizeof(err)),
		0);
	assert_int_equal(in.duplicate_keys, 0);
	/* The first 23 bytes, '~', the CRC-32C of the whole key. */
	ttlog__crc32c_init();
	snprintf(n1, sizeof(n1), "fields@32473.%.23s~%08x", k1,
		 ttlog__crc32c(0, (const unsigned char *)k1, 40));
	snprintf(n2, sizeof(n2), "fields@32473.%.23s~%08x", k2,
		 ttlog__crc32c(0, (const unsigned char *)k2, 40));
	assert_string_not_equal(n1, n2);
	want_str(&in, n1, 0, "one", 3);
	want_str(&in, n2, 0, "two", 3);
	snprintf(n1, sizeof(n1), "fields@32473.x~0123abcd~%08x",
		 ttlog__crc32c(0, (const unsigned char *)"x~0123abcd", 10));
	want_str(&in, n1, 0, "looks renamed", 13);
	want_str(&in, "fields@32473.x~0123abcD", 0, "does not", 8);
	ttlog__fmt_buf_free(&out);
	ttlog__scratch_destroy(&s);
	ttlog_batch_unref(b);
}

static void test_fmt_read_back_by_the_agent_parser(void **state)
{
	static const char nasty[] = "q\"uo]te\\s [x=\"y\"] \\\\\" end\\";
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev, in;
	struct ttlog__scratch s = {0};
	struct ttlog_event e;
	char err[160], name[64];
	char *m;
	size_t len;
	(void)state;

	ev_init(&ev, TTLOG_LEVEL_ERROR, "disk \"full\" ]\n on /", "x/y.c", 321,
		T0);
	add_i64(&ev, "seq", -17);
	add_u64(&ev, "n", 42);
	add_f64(&ev, "r", 0.1);
	add_bool(&ev, "ok", 0);
	add_str(&ev, "s", nasty);
	add_str(&ev, "s", "second");
	add_str(&ev, "bad key", "\xFF");
	add_str(&ev, "e", "");
	e = push(b, &ev);
	m = fmt_msg(&g_fmt, &e, &len);
	assert_int_equal(ttlog__syslog_parse(m, len, &in, &s, err, sizeof(err)),
			 0);
	assert_int_equal(in.level, TTLOG_LEVEL_ERROR);
	assert_true(in.time_ns == T0 / 1000 * 1000);
	assert_int_equal(get(&in, "facility", 0)->v.u64, 1);
	assert_int_equal(get(&in, "severity", 0)->v.u64, 3);
	want_str(&in, "host", 0, "host1", 5);
	want_str(&in, "app", 0, "app", 3);
	want_str(&in, "procid", 0, "42", 2);
	want_str(&in, "fields@32473.seq", 0, "-17", 3);
	want_str(&in, "fields@32473.n", 0, "42", 2);
	want_str(&in, "fields@32473.r", 0, "0.1", 3);
	want_str(&in, "fields@32473.ok", 0, "false", 5);
	/* A repeated param: the parser keeps the last value. */
	want_str(&in, "fields@32473.s", 0, "second", 6);
	assert_int_equal(in.duplicate_keys, 1);
	ttlog__crc32c_init();
	snprintf(name, sizeof(name), "fields@32473.bad_key~%08x",
		 ttlog__crc32c(0, (const unsigned char *)"bad key", 7));
	want_str(&in, name, 0, "\xEF\xBF\xBD", 3);
	want_str(&in, "fields@32473.e", 0, "", 0);
	want_str(&in, "src@32473.file", 0, "x/y.c", 5);
	want_str(&in, "src@32473.line", 0, "321", 3);
	/* 5 header-derived fields, 7 fields, 2 source params. */
	assert_int_equal(in.nfields, 2 + 3 + 7 + 2);
	assert_int_equal(in.msg_len, strlen("disk \"full\" ]\n on /"));
	assert_memory_equal(in.msg, "disk \"full\" ]\n on /", in.msg_len);
	free(m);

	/* A message starting with a space and one that is empty. */
	ev_init(&ev, TTLOG_LEVEL_DEBUG, "", "f", 1, T0);
	e = push(b, &ev);
	m = fmt_msg(&g_fmt, &e, &len);
	assert_int_equal(ttlog__syslog_parse(m, len, &in, &s, err, sizeof(err)),
			 0);
	assert_int_equal(in.msg_len, 0);
	assert_int_equal(get(&in, "severity", 0)->v.u64, 7);
	free(m);
	ttlog__scratch_destroy(&s);
	ttlog_batch_unref(b);
}

/* ---- relayed syslog: the original header ---- */

/* The relay's own values, none of which a relayed message may show. */
static const struct ttlog__syslog_fmt g_relay = {"relay", "relayapp", "9999", 1,
						 NULL};

/* An event as the agent's syslog input makes it: file "syslog", line 0,
 * the message its own. */
static void syslog_init(struct ttlog__in_event *ev, int level, const char *msg)
{
	ev_init(ev, level, msg, "syslog", 0, T0);
	ev->msg_varies = 1;
}

/* The six fields the syslog parser makes of an RFC 5424 header, in its
 * order. */
static void add_syslog_header(struct ttlog__in_event *ev)
{
	add_u64(ev, "facility", 4);
	add_u64(ev, "severity", 2);
	add_str(ev, "host", "db1");
	add_str(ev, "app", "sshd");
	add_str(ev, "procid", "42");
	add_str(ev, "msgid", "ID7");
}

static void test_fmt_relayed_syslog_keeps_its_header(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev, in;
	struct ttlog__scratch s = {0};
	struct ttlog_event e;
	char err[160];
	char *m;
	size_t len;
	static const char want[] =
		"<34>1 " TS0 " db1 sshd 42 ID7 [fields@32473 "
		"exampleSDID@32473.iut=\"3\"][src@32473 file=\"syslog\" "
		"line=\"0\"] msg";
	(void)state;

	/* PRI 4 * 8 + 2; the relay's facility (1) and the level's severity
	 * would make <10>. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_syslog_header(&ev);
	add_str(&ev, "exampleSDID@32473.iut", "3");
	e = push(b, &ev);
	expect(&g_relay, &e, want);
	/* Nothing of the relay's configuration or defaults is used. */
	expect(NULL, &e, want);
	/* Another syslog parser reads the original header back, and the
	 * header fields are not repeated in the structured data. */
	m = fmt_msg(&g_relay, &e, &len);
	assert_int_equal(ttlog__syslog_parse(m, len, &in, &s, err, sizeof(err)),
			 0);
	assert_int_equal(get(&in, "facility", 0)->v.u64, 4);
	assert_int_equal(get(&in, "severity", 0)->v.u64, 2);
	want_str(&in, "host", 0, "db1", 3);
	want_str(&in, "app", 0, "sshd", 4);
	want_str(&in, "procid", 0, "42", 2);
	want_str(&in, "msgid", 0, "ID7", 3);
	want_str(&in, "fields@32473.exampleSDID@32473.iut", 0, "3", 1);
	assert_int_equal(in.nfields, 6 + 1 + 2);
	free(m);

	/* Header fields among the others: those left keep their order. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_str(&ev, "a.b", "1");
	add_str(&ev, "msgid", "ID7");
	add_u64(&ev, "severity", 2);
	add_str(&ev, "c.d", "2");
	add_str(&ev, "host", "db1");
	add_u64(&ev, "facility", 4);
	add_str(&ev, "procid", "42");
	add_str(&ev, "app", "sshd");
	add_str(&ev, "e.f", "3");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<34>1 " TS0 " db1 sshd 42 ID7 [fields@32473 a.b=\"1\" "
	       "c.d=\"2\" e.f=\"3\"][src@32473 file=\"syslog\" line=\"0\"] "
	       "msg");
	/* Only header fields: no fields element at all. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_syslog_header(&ev);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<34>1 " TS0 " db1 sshd 42 ID7 [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	/* The extremes of PRI. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_u64(&ev, "facility", 0);
	add_u64(&ev, "severity", 0);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<0>1 " TS0 " relay - - - [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	syslog_init(&ev, TTLOG_LEVEL_DEBUG, "msg");
	add_u64(&ev, "facility", 23);
	add_u64(&ev, "severity", 7);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<191>1 " TS0 " relay - - - [src@32473 "
	       "file=\"syslog\" line=\"0\"] msg");
	/* Non-negative i64s count as well (a producer other than the
	 * parser). */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_i64(&ev, "facility", 16);
	add_i64(&ev, "severity", 3);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<131>1 " TS0 " relay - - - [src@32473 "
	       "file=\"syslog\" line=\"0\"] msg");
	/* A repeated name: the first goes into the header, the next stays
	 * a field. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_str(&ev, "host", "db1");
	add_str(&ev, "host", "db2");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<10>1 " TS0 " db1 - - - [fields@32473 host=\"db2\"]"
	       "[src@32473 file=\"syslog\" line=\"0\"] msg");
	ttlog__scratch_destroy(&s);
	ttlog_batch_unref(b);
}

static void test_fmt_relayed_syslog_absent_fields_fall_back(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char want[1024], sys[256];
	(void)state;

	/* No names (an RFC 5424 "- - - -"): the relay's host, "-" for the
	 * rest. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_u64(&ev, "facility", 4);
	add_u64(&ev, "severity", 2);
	add_str(&ev, "x.y", "1");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<34>1 " TS0 " relay - - - [fields@32473 x.y=\"1\"]"
	       "[src@32473 file=\"syslog\" line=\"0\"] msg");
	/* ... or this host when none is configured; never "ttlog" or this
	 * process: they would name a program of another host. */
	assert_int_equal(gethostname(sys, sizeof(sys)), 0);
	sys[sizeof(sys) - 1] = 0;
	for (char *c = sys; *c != 0; c++)
		if (*c <= ' ' || *c > '~')
			*c = '_';
	snprintf(want, sizeof(want),
		 "<34>1 " TS0 " %s - - - [fields@32473 x.y=\"1\"]"
		 "[src@32473 file=\"syslog\" line=\"0\"] msg",
		 sys[0] ? sys : "-");
	expect(NULL, &e, want);
	/* Each one on its own. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_str(&ev, "host", "db1");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<10>1 " TS0 " db1 - - - [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	snprintf(want, sizeof(want),
		 "<10>1 " TS0 " db1 - - - [src@32473 file=\"syslog\" "
		 "line=\"0\"] msg");
	expect(NULL, &e, want);
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_str(&ev, "app", "sshd");
	add_str(&ev, "msgid", "ID7");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<10>1 " TS0 " relay sshd - ID7 [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_str(&ev, "procid", "42");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<10>1 " TS0 " relay - 42 - [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	snprintf(want, sizeof(want),
		 "<10>1 " TS0 " %s - 42 - [src@32473 file=\"syslog\" "
		 "line=\"0\"] msg",
		 sys[0] ? sys : "-");
	expect(NULL, &e, want);
	/* Empty strings and other types are not usable: the relay's values
	 * in the header, and the fields stay. (A string before each: read as
	 * one, a number would borrow its length.) */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	add_str(&ev, "host", "");
	add_str(&ev, "x", "abc");
	add_i64(&ev, "app", 5);
	add_str(&ev, "y", "abc");
	add_bool(&ev, "procid", 1);
	add_str(&ev, "z", "abc");
	add_f64(&ev, "msgid", 7);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<10>1 " TS0 " relay - - - [fields@32473 host=\"\" "
	       "x=\"abc\" app=\"5\" y=\"abc\" procid=\"true\" z=\"abc\" "
	       "msgid=\"7\"][src@32473 file=\"syslog\" line=\"0\"] msg");
	/* A syslog event without any of them is formatted as any other. */
	syslog_init(&ev, TTLOG_LEVEL_FATAL, "msg");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<10>1 " TS0 " relay - - - [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	ttlog_batch_unref(b);
}

static void test_fmt_relayed_syslog_invalid_pri_falls_back(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog__syslog_fmt f = g_relay;
	(void)state;

	/* Facility 99: PRI is the relay's facility (1) and the level's
	 * severity (WARN, 4); facility and severity stay fields, the names
	 * still go into the header. */
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_u64(&ev, "facility", 99);
	add_u64(&ev, "severity", 2);
	add_str(&ev, "host", "db1");
	add_str(&ev, "app", "sshd");
	add_str(&ev, "procid", "42");
	add_str(&ev, "msgid", "ID7");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " db1 sshd 42 ID7 [fields@32473 facility=\"99\" "
	       "severity=\"2\"][src@32473 file=\"syslog\" line=\"0\"] msg");
	/* The relay's facility is the configured one. */
	f.facility = 16;
	expect(&f, &e,
	       "<132>1 " TS0 " db1 sshd 42 ID7 [fields@32473 facility=\"99\" "
	       "severity=\"2\"][src@32473 file=\"syslog\" line=\"0\"] msg");
	/* Just past the ranges. */
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_u64(&ev, "facility", 24);
	add_u64(&ev, "severity", 0);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "facility=\"24\" severity=\"0\"][src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_u64(&ev, "facility", 4);
	add_u64(&ev, "severity", 8);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "facility=\"4\" severity=\"8\"][src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	/* One without the other. */
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_u64(&ev, "facility", 4);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "facility=\"4\"][src@32473 file=\"syslog\" line=\"0\"] msg");
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_u64(&ev, "severity", 2);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "severity=\"2\"][src@32473 file=\"syslog\" line=\"0\"] msg");
	/* Not integers, or negative. */
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_str(&ev, "facility", "4");
	add_u64(&ev, "severity", 2);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "facility=\"4\" severity=\"2\"][src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_i64(&ev, "facility", -1);
	add_u64(&ev, "severity", 2);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "facility=\"-1\" severity=\"2\"][src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	syslog_init(&ev, TTLOG_LEVEL_WARN, "msg");
	add_u64(&ev, "facility", 4);
	add_f64(&ev, "severity", 2);
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<12>1 " TS0 " relay - - - [fields@32473 "
	       "facility=\"4\" severity=\"2\"][src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	ttlog_batch_unref(b);
}

static void
test_fmt_application_event_with_header_names_is_unchanged(void **state)
{
	/* Files that are not exactly the syslog input's source. */
	static const char *const files[] = {"src/a.c", "syslog.c", "Syslog",
					    "syslogd", "sys",	   ""};
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char want[512];
	(void)state;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ev_init(&ev, TTLOG_LEVEL_INFO, "msg", files[i], 7, T0);
		add_syslog_header(&ev);
		add_str(&ev, "exampleSDID@32473.iut", "3");
		e = push(b, &ev);
		snprintf(want, sizeof(want),
			 "<14>1 " TS0 " relay relayapp 9999 - [fields@32473 "
			 "facility=\"4\" severity=\"2\" host=\"db1\" "
			 "app=\"sshd\" procid=\"42\" msgid=\"ID7\" "
			 "exampleSDID@32473.iut=\"3\"][src@32473 "
			 "file=\"%s\" line=\"7\"] msg",
			 files[i]);
		expect(&g_relay, &e, want);
	}
	/* The application's own "host" alone: in SD, the relay's in the
	 * header. */
	ev_init(&ev, TTLOG_LEVEL_INFO, "msg", "src/a.c", 7, T0);
	add_str(&ev, "host", "db1");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<14>1 " TS0 " relay relayapp 9999 - [fields@32473 "
	       "host=\"db1\"][src@32473 file=\"src/a.c\" line=\"7\"] msg");
	ttlog_batch_unref(b);
}

static void test_fmt_relayed_header_fields_are_sanitised(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event ev;
	struct ttlog_event e;
	char host[300], app[61], pid[201], msgid[41], want[1024];
	char *m;
	(void)state;

	syslog_init(&ev, TTLOG_LEVEL_INFO, "msg");
	add_str(&ev, "host", "my host\xC3\xA9");
	add_str(&ev, "app", "a\tb");
	add_str(&ev, "procid", "1 2");
	add_str(&ev, "msgid",
		"I\x7F"
		"D");
	e = push(b, &ev);
	expect(&g_relay, &e,
	       "<14>1 " TS0 " my_host__ a_b 1_2 I_D [src@32473 file=\"syslog\" "
	       "line=\"0\"] msg");
	/* Cut to 255, 48, 128 and 32 bytes. */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	memset(app, 'a', sizeof(app) - 1);
	app[sizeof(app) - 1] = 0;
	memset(pid, '9', sizeof(pid) - 1);
	pid[sizeof(pid) - 1] = 0;
	memset(msgid, 'M', sizeof(msgid) - 1);
	msgid[sizeof(msgid) - 1] = 0;
	syslog_init(&ev, TTLOG_LEVEL_INFO, "msg");
	add_str(&ev, "host", host);
	add_str(&ev, "app", app);
	add_str(&ev, "procid", pid);
	add_str(&ev, "msgid", msgid);
	e = push(b, &ev);
	snprintf(want, sizeof(want),
		 "<14>1 %s %.255s %.48s %.128s %.32s [src@32473 "
		 "file=\"syslog\" line=\"0\"] msg",
		 TS0, host, app, pid, msgid);
	m = fmt_msg(&g_relay, &e, NULL);
	assert_string_equal(m, want);
	free(m);
	ttlog_batch_unref(b);
}

/* Parses line with the agent's syslog parser (now pinned for RFC 3164),
 * appends the event to b and returns it. */
static struct ttlog_event parse_push(struct ttlog_batch *b, const char *line,
				     struct ttlog__in_event *in,
				     struct ttlog__scratch *s)
{
	char err[160];

	if (ttlog__syslog_parse_at(line, strlen(line), 1700000000, in, s, err,
				   sizeof(err)) != 0)
		fail_msg("%s: %s", line, err);
	return push(b, in);
}

static void test_fmt_relayed_through_the_agent_parser(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct ttlog__in_event in;
	struct ttlog__scratch s = {0};
	struct ttlog_event e;
	struct tm tm;
	time_t t;
	char want[512], ts[32];
	(void)state;

	/* RFC 5424's own example 3, with a PROCID. */
	e = parse_push(b,
		       "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com "
		       "su 77 ID47 [exampleSDID@32473 iut=\"3\" "
		       "eventSource=\"Application\" eventID=\"1011\"] 'su "
		       "root' failed for lonvick on /dev/pts/8",
		       &in, &s);
	/* The parser's source is what the formatter looks for. */
	assert_string_equal(e.file, "syslog");
	expect(&g_relay, &e,
	       "<34>1 2003-10-11T22:14:15.003000Z mymachine.example.com su 77 "
	       "ID47 [fields@32473 exampleSDID@32473.iut=\"3\" "
	       "exampleSDID@32473.eventSource=\"Application\" "
	       "exampleSDID@32473.eventID=\"1011\"][src@32473 "
	       "file=\"syslog\" line=\"0\"] 'su root' failed for lonvick on "
	       "/dev/pts/8");
	/* Example 2: PROCID and MSGID "-", no SD: both stay "-". */
	e = parse_push(b,
		       "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 "
		       "myproc - - - %% It's time to make the do-nuts.",
		       &in, &s);
	expect(&g_relay, &e,
	       "<165>1 2003-08-24T12:14:15.000003Z 192.0.2.1 myproc - - "
	       "[src@32473 file=\"syslog\" line=\"0\"] %% It's time to make "
	       "the do-nuts.");
	/* RFC 3164 (its example 1 with a PID): local time, no MSGID. */
	e = parse_push(b,
		       "<13>Oct 11 22:14:15 mymachine su[123]: 'su root' "
		       "failed for lonvick on /dev/pts/8",
		       &in, &s);
	assert_true(in.time_ns != 0);
	t = (time_t)(in.time_ns / 1000000000u);
	assert_non_null(gmtime_r(&t, &tm));
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
	snprintf(want, sizeof(want),
		 "<13>1 %s mymachine su 123 - [src@32473 file=\"syslog\" "
		 "line=\"0\"] 'su root' failed for lonvick on /dev/pts/8",
		 ts);
	expect(&g_relay, &e, want);
	/* RFC 3164 with a tag and no PID. */
	e = parse_push(b, "<86>Oct 11 22:14:15 gw sshd: session opened", &in,
		       &s);
	snprintf(want, sizeof(want),
		 "<86>1 %s gw sshd - - [src@32473 file=\"syslog\" "
		 "line=\"0\"] session opened",
		 ts);
	expect(&g_relay, &e, want);
	/* RFC 3164 with nothing but PRI: the relay's host name only. */
	e = parse_push(b, "<13>hello there", &in, &s);
	expect(&g_relay, &e,
	       "<13>1 1970-01-01T00:00:00.000000Z relay - - - "
	       "[src@32473 file=\"syslog\" line=\"0\"] hello there");
	ttlog__scratch_destroy(&s);
	ttlog_batch_unref(b);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Events per second for 3-field events; the f64 values are whole (kind
 * 0), short decimals (1) or need all 17 digits (2). Kind 3: relayed
 * syslog, the six header fields and one SD param. */
static double speed(int kind, size_t n)
{
	struct ttlog_batch *b = ttlog__batch_new(1024, 1 << 20, 1);
	struct ttlog__in_event ev;
	struct ttlog_event evs[1024];
	struct ttlog__fmt_buf out = {0};
	size_t done = 0;
	double t;

	assert_non_null(b);
	for (int i = 0; i < 1024; i++) {
		if (kind == 3) {
			syslog_init(&ev, TTLOG_LEVEL_FATAL,
				    "Accepted publickey for deploy");
			ev.time_ns = T0 + (uint64_t)i * 2000000u;
			add_syslog_header(&ev);
			add_str(&ev, "exampleSDID@32473.iut", "3");
			evs[i] = push(b, &ev);
			continue;
		}
		ev_init(&ev, TTLOG_LEVEL_INFO, "request served", "srv/http.c",
			214, T0 + (uint64_t)i * 2000000u);
		add_i64(&ev, "status", 200 + i % 3);
		add_str(&ev, "path", i % 2 ? "/api/v1/items" : "/index.html");
		add_f64(&ev, "ms",
			kind == 0   ? (double)(i % 50)
			: kind == 1 ? (double)(i % 5000) / 100
				    : (double)i / 3);
		evs[i] = push(b, &ev);
	}
	t = now_s();
	while (done < n) {
		out.len = 0;
		for (int i = 0; i < 1024; i++)
			assert_int_equal(ttlog__fmt_syslog_event(
						 &g_fmt, &evs[i], NULL, &out),
					 0);
		done += 1024;
	}
	t = now_s() - t;
	check_frame(out.p,
		    (size_t)strtoul(out.p, NULL, 10) + strcspn(out.p, " ") + 1);
	ttlog__fmt_buf_free(&out);
	ttlog_batch_unref(b);
	return (double)done / t;
}

static void test_fmt_speed(void **state)
{
	size_t n = test_scaled(5000000, 20000);
	double r[4];
	(void)state;

	for (int k = 0; k < 4; k++)
		r[k] = speed(k, n);
	print_message("  3-field events (i64, 13-byte string, f64), one core: "
		      "%.2fM/s with whole f64 values, %.2fM/s with short "
		      "decimals, %.2fM/s with 17-digit ones; relayed syslog "
		      "(6 header fields, 1 SD param): %.2fM/s\n",
		      r[0] / 1e6, r[1] / 1e6, r[2] / 1e6, r[3] / 1e6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_every_value_type_exact),
		cmocka_unit_test(test_fmt_doubles_shortest_round_trip),
		cmocka_unit_test(test_fmt_doubles_match_the_printf_rule),
		cmocka_unit_test(test_fmt_keys_are_made_sd_names),
		cmocka_unit_test(test_fmt_long_keys_never_collide),
		cmocka_unit_test(test_fmt_no_fields_no_msg_and_src),
		cmocka_unit_test(test_fmt_pri_for_every_level_and_facility),
		cmocka_unit_test(test_fmt_timestamps),
		cmocka_unit_test(test_fmt_header_fields_are_sanitised),
		cmocka_unit_test(test_fmt_sd_id_option),
		cmocka_unit_test(test_fmt_invalid_utf8_is_replaced),
		cmocka_unit_test(test_fmt_octet_count_at_every_width),
		cmocka_unit_test(test_fmt_read_back_by_the_agent_parser),
		cmocka_unit_test(test_fmt_relayed_syslog_keeps_its_header),
		cmocka_unit_test(
			test_fmt_relayed_syslog_absent_fields_fall_back),
		cmocka_unit_test(
			test_fmt_relayed_syslog_invalid_pri_falls_back),
		cmocka_unit_test(
			test_fmt_application_event_with_header_names_is_unchanged),
		cmocka_unit_test(test_fmt_relayed_header_fields_are_sanitised),
		cmocka_unit_test(test_fmt_relayed_through_the_agent_parser),
		cmocka_unit_test(test_fmt_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
