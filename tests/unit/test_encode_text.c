/*
 * test_encode_text.c - the human-readable text and the JSON-lines batch
 * encodings.
 *
 * Batches are built with the writer's internal API, so every value takes
 * exactly the bytes a producer would have written. Text lines are compared
 * byte for byte. JSON lines are compared byte for byte where the exact form
 * matters and are always read back by python's json module through
 * jsonl_check.py, strictly: UTF-8 only, no duplicate keys, no NaN/Infinity.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "batch_internal.h"

/* 2025-11-25T20:31:38.123456789Z */
#define T0 1764102698123456789ull
#define T0_TEXT "2025-11-25T20:31:38.123456Z"
#define T0_JSON "2025-11-25T20:31:38.123456789Z"

#include "vals.h"

static struct ttlog_batch *new_batch(void)
{
	struct ttlog_batch *b = ttlog__batch_new(64, 1u << 16, 1);
	assert_non_null(b);
	return b;
}

/* Adds one event and empties v for the next. */
static void add_event(struct ttlog_batch *b, struct ttlog_callsite *cs,
		      uint64_t time_ns, uint32_t tid, uint8_t flags,
		      struct vals *v)
{
	/* Never a null source, even for an event without values. */
	const void *p = v->d != NULL ? (const void *)v->d : (const void *)"";

	assert_int_equal(
		ttlog__batch_add(b, cs, time_ns, tid, flags, p, v->len), 0);
	v->len = 0;
}

/* The encoding as a NUL-terminated copy (caller frees); neither format
 * may contain a NUL byte of its own. */
static char *encode(struct ttlog_batch *b, enum ttlog_encoding enc)
{
	const void *data = NULL;
	size_t len = 0;
	char *s;

	assert_int_equal(ttlog_batch_encode(b, enc, &data, &len), 0);
	s = malloc(len + 1);
	assert_non_null(s);
	if (len > 0)
		memcpy(s, data, len);
	s[len] = '\0';
	assert_int_equal(strlen(s), len);
	return s;
}

/* ------------------------------------------------------------------ */
/* Building expected output                                             */
/* ------------------------------------------------------------------ */

struct sb {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sb *s,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (s->cap - s->len < (size_t)n + 1) {
		s->cap = (s->len + (size_t)n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		assert_non_null(s->p);
	}
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

static void sb_hex(struct sb *s, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		sb_add(s, "%02x", u[i]);
}

/* One line of jsonl_check.py output for a string member. */
static void want_str(struct sb *s, int line, const char *key, const void *p,
		     size_t n)
{
	sb_add(s, "%d %s s:", line, key);
	sb_hex(s, p, n);
	sb_add(s, "\n");
}

#define want_lit(s, line, key, lit) want_str(s, line, key, lit, sizeof(lit) - 1)

/* The reserved members that begin every object, as jsonl_check.py prints
 * them. */
static void want_head(struct sb *s, int line, const char *time,
		      const char *level, const char *msg, uint32_t tid,
		      const char *file, uint32_t lineno)
{
	want_str(s, line, "time", time, strlen(time));
	want_str(s, line, "level", level, strlen(level));
	want_str(s, line, "msg", msg, strlen(msg));
	sb_add(s, "%d tid i:%u\n", line, (unsigned)tid);
	want_str(s, line, "file", file, strlen(file));
	sb_add(s, "%d line i:%u\n", line, (unsigned)lineno);
}

/* ------------------------------------------------------------------ */
/* Running jsonl_check.py                                               */
/* ------------------------------------------------------------------ */

/* Runs jsonl_check.py on jsonl and returns its standard output (caller
 * frees) and, in *status, its exit status (-1 if it did not exit). Its
 * standard error goes to the test's, to explain a rejection. */
static char *jsonl_check(const char *jsonl, int *status)
{
	char path[] = "/tmp/ttlog-jsonl-XXXXXX";
	char cmd[1024];
	size_t n;
	char *out;
	int st;

	write_temp(path, jsonl, strlen(jsonl));
	snprintf(cmd, sizeof(cmd), "'%s' '%s/jsonl_check.py' '%s'",
		 TTLOG_TEST_PYTHON3, TTLOG_TEST_SOURCE_DIR, path);
	out = run_capture(cmd, &n, &st);
	unlink(path);
	*status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
	return out;
}

/* Asserts that jsonl_check.py accepts jsonl and prints exactly want. */
static void assert_jsonl_reads_as(const char *jsonl, const struct sb *want)
{
	int status;
	char *out = jsonl_check(jsonl, &status);

	assert_int_equal(status, 0);
	assert_string_equal(out, want->p);
	free(out);
}

/* ------------------------------------------------------------------ */
/* Call sites                                                           */
/* ------------------------------------------------------------------ */

static const char *const req_keys[] = {"id", "ms", "ok", "name"};
static const uint8_t req_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_F64,
				    TTLOG_TYPE_BOOL, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_req = CALLSITE(
	"request done", "app.c", 12, TTLOG_LEVEL_INFO, 4, req_keys, req_types);

static void add_request(struct ttlog_batch *b, uint64_t t, uint8_t flags)
{
	struct vals v = {0};

	vals_i64(&v, 42);
	vals_f64(&v, 4.5);
	vals_bool(&v, true);
	vals_lit(&v, "bob");
	add_event(b, &cs_req, t, 812, flags, &v);
	vals_free(&v);
}

static const char *const s_keys[] = {"s"};
static const uint8_t s_types[] = {TTLOG_TYPE_STR};
static struct ttlog_callsite cs_s =
	CALLSITE("m", "f.c", 1, TTLOG_LEVEL_INFO, 1, s_keys, s_types);

/* ------------------------------------------------------------------ */
/* JSON lines                                                           */
/* ------------------------------------------------------------------ */

/* add_request() at T0 as JSON, without the closing brace. */
#define REQUEST_JSON                                                           \
	"{\"time\":\"" T0_JSON "\",\"level\":\"INFO\","                        \
	"\"msg\":\"request done\",\"tid\":812,\"file\":\"app.c\","             \
	"\"line\":12,\"id\":42,\"ms\":4.5,\"ok\":true,\"name\":\"bob\""

static void test_jsonl_line_has_reserved_keys_then_fields(void **state)
{
	static const char line[] = REQUEST_JSON "}\n";
	struct ttlog_batch *b = new_batch();
	struct sb want = {0};
	char *out;

	(void)state;
	add_request(b, T0, 0);
	add_request(b, T0 + 1, 0);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_int_equal(strlen(out), 2 * strlen(line));
	assert_memory_equal(out, line, strlen(line));

	for (int i = 0; i < 2; i++) {
		want_head(&want, i,
			  i == 0 ? T0_JSON : "2025-11-25T20:31:38.123456790Z",
			  "INFO", "request done", 812, "app.c", 12);
		sb_add(&want, "%d id i:42\n%d ms f:4.5\n%d ok b:true\n", i, i,
		       i);
		want_lit(&want, i, "name", "bob");
	}
	assert_jsonl_reads_as(out, &want);
	free(want.p);
	free(out);
	ttlog_batch_unref(b);
}

static void
test_jsonl_control_chars_quotes_and_backslashes_survive(void **state)
{
	unsigned char raw[32 + 3];
	static const char escaped[] =
		"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
		"\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
		"\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
		"\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
		"\\u007f\\\"\\\\";
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out, *p;

	(void)state;
	for (int c = 0; c < 32; c++)
		raw[c] = (unsigned char)c;
	raw[32] = 0x7F;
	raw[33] = '"';
	raw[34] = '\\';
	vals_str(&v, raw, sizeof(raw));
	add_event(b, &cs_s, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);

	/* The only control character on the line is its newline. */
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			assert_true(*p == '\n' && p[1] == '\0');
	p = strstr(out, ",\"s\":\"");
	assert_non_null(p);
	p += strlen(",\"s\":\"");
	assert_memory_equal(p, escaped, strlen(escaped));
	assert_string_equal(p + strlen(escaped), "\"}\n");

	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	want_str(&want, 0, "s", raw, sizeof(raw));
	assert_jsonl_reads_as(out, &want);
	free(want.p);
	free(out);
	vals_free(&v);
	ttlog_batch_unref(b);
}

/* Invalid UTF-8: each byte that does not belong to a valid sequence
 * becomes one U+FFFD. */
/* clang-format off */
#define BAD(in, json, utf8) {in, sizeof(in) - 1, json, utf8}
static const struct {
	const char *in;
	size_t in_len;
	const char *json; /* the escaped string body */
	const char *utf8; /* what a JSON reader gets */
} bad_utf8[] = {
	BAD("a\xFFz", "a\\ufffdz", "a\xEF\xBF\xBDz"),
	/* a truncated 3-byte sequence, then at the very end */
	BAD("\xE2\x82z", "\\ufffd\\ufffdz", "\xEF\xBF\xBD\xEF\xBF\xBDz"),
	BAD("z\xE2\x82", "z\\ufffd\\ufffd", "z\xEF\xBF\xBD\xEF\xBF\xBD"),
	/* overlong '/' in 2 and in 3 bytes */
	BAD("\xC0\xAF", "\\ufffd\\ufffd", "\xEF\xBF\xBD\xEF\xBF\xBD"),
	BAD("\xE0\x80\xAF", "\\ufffd\\ufffd\\ufffd",
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
	/* the surrogate U+D800 */
	BAD("\xED\xA0\x80", "\\ufffd\\ufffd\\ufffd",
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
	/* U+110000, past the last code point */
	BAD("\xF4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd",
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
	/* a lone continuation byte */
	BAD("\x80", "\\ufffd", "\xEF\xBF\xBD"),
};
#undef BAD
/* clang-format on */

static const char *const eight_keys[] = {"s0", "s1", "s2", "s3",
					 "s4", "s5", "s6", "s7"};
static const uint8_t eight_str[] = {
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR,
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_eight_str =
	CALLSITE("m", "f.c", 1, TTLOG_LEVEL_INFO, 8, eight_keys, eight_str);

static void test_jsonl_invalid_utf8_bytes_become_u_fffd(void **state)
{
	const size_t n = sizeof(bad_utf8) / sizeof(bad_utf8[0]);
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb raw = {0}, want = {0};
	char *out;

	(void)state;
	assert_int_equal(n, cs_eight_str.nfields);
	sb_add(&raw, "{\"time\":\"" T0_JSON "\",\"level\":\"INFO\",\"msg\":"
		     "\"m\",\"tid\":1,\"file\":\"f.c\",\"line\":1");
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	for (size_t i = 0; i < n; i++) {
		vals_str(&v, bad_utf8[i].in, bad_utf8[i].in_len);
		sb_add(&raw, ",\"%s\":\"%s\"", eight_keys[i], bad_utf8[i].json);
		want_str(&want, 0, eight_keys[i], bad_utf8[i].utf8,
			 strlen(bad_utf8[i].utf8));
	}
	sb_add(&raw, "}\n");
	add_event(b, &cs_eight_str, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_string_equal(out, raw.p);
	assert_jsonl_reads_as(out, &want);
	free(raw.p);
	free(want.p);
	free(out);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static void
test_jsonl_valid_utf8_is_kept_and_line_separators_escaped(void **state)
{
	/* clang-format off */
	static const char *const in[] = {
		"\xF0\x9F\x98\x80",           /* U+1F600, 4 bytes */
		"h\xC3\xA9llo \xE2\x82\xAC",  /* 2 and 3 bytes */
		"a\xE2\x80\xA8z",              /* U+2028 */
		"\xE2\x80\xA9",                /* U+2029 */
		"\xF4\x8F\xBF\xBF",           /* U+10FFFF */
		"\xEF\xBF\xBD",                /* U+FFFD itself */
		"abcdefgh\xC3\xA9",             /* after an ASCII run */
		"\xC2\x80\xDF\xBF\xE0\xA0\x80", /* U+0080, U+07FF, U+0800 */
	};
	static const char raw_fields[] =
		",\"s0\":\"\xF0\x9F\x98\x80\""
		",\"s1\":\"h\xC3\xA9llo \xE2\x82\xAC\""
		",\"s2\":\"a\\u2028z\""
		",\"s3\":\"\\u2029\""
		",\"s4\":\"\xF4\x8F\xBF\xBF\""
		",\"s5\":\"\xEF\xBF\xBD\""
		",\"s6\":\"abcdefgh\xC3\xA9\""
		",\"s7\":\"\xC2\x80\xDF\xBF\xE0\xA0\x80\"}\n";
	/* clang-format on */
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out, *p;

	(void)state;
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	for (size_t i = 0; i < 8; i++) {
		vals_str(&v, in[i], strlen(in[i]));
		want_str(&want, 0, eight_keys[i], in[i], strlen(in[i]));
	}
	add_event(b, &cs_eight_str, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	p = strstr(out, ",\"s0\":");
	assert_non_null(p);
	assert_string_equal(p, raw_fields);
	assert_jsonl_reads_as(out, &want);
	free(want.p);
	free(out);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static const char *const dbl_keys[] = {"a", "b", "c", "d", "e", "f", "g"};
static const uint8_t dbl_types[] = {
	TTLOG_TYPE_F64, TTLOG_TYPE_F64, TTLOG_TYPE_F64, TTLOG_TYPE_F64,
	TTLOG_TYPE_F64, TTLOG_TYPE_F64, TTLOG_TYPE_F64};
static struct ttlog_callsite cs_dbl =
	CALLSITE("m", "f.c", 1, TTLOG_LEVEL_INFO, 7, dbl_keys, dbl_types);

static void test_jsonl_doubles_use_shortest_round_trip_form(void **state)
{
	static const double in[] = {0.1,
				    1e300,
				    1.0 / 3.0,
				    -2.5,
				    1e-7,
				    123456.789,
				    1.7976931348623157e308};
	static const char *const form[] = {
		"0.1",	 "1e+300",     "0.3333333333333333",	 "-2.5",
		"1e-07", "123456.789", "1.7976931348623157e+308"};
	static const char *const py[] = {
		"0.1",	 "1e+300",     "0.3333333333333333",	 "-2.5",
		"1e-07", "123456.789", "1.7976931348623157e+308"};
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb raw = {0}, want = {0}, text = {0};
	char *out;

	(void)state;
	sb_add(&text, T0_TEXT " INFO m");
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	for (size_t i = 0; i < 7; i++) {
		vals_f64(&v, in[i]);
		sb_add(&raw, ",\"%s\":%s", dbl_keys[i], form[i]);
		sb_add(&text, " %s=%s", dbl_keys[i], form[i]);
		sb_add(&want, "0 %s f:%s\n", dbl_keys[i], py[i]);
	}
	sb_add(&raw, "}\n");
	sb_add(&text, "\n");
	add_event(b, &cs_dbl, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_non_null(strstr(out, ",\"a\":"));
	assert_string_equal(strstr(out, ",\"a\":"), raw.p);
	assert_jsonl_reads_as(out, &want);
	free(out);
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, text.p);
	free(out);
	free(raw.p);
	free(want.p);
	free(text.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static const char *const two_dbl_keys[] = {"min", "tiny"};
static const uint8_t two_dbl_types[] = {TTLOG_TYPE_F64, TTLOG_TYPE_F64};
static struct ttlog_callsite cs_subnormal = CALLSITE(
	"m", "f.c", 1, TTLOG_LEVEL_INFO, 2, two_dbl_keys, two_dbl_types);

static void test_double_subnormals_use_shortest_form(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char json[128], text[128];
	const char *tail;
	char *out;

	(void)state;
	vals_f64_bits(&v, 1); /* 2^-1074, the smallest subnormal */
	vals_f64(&v, 1e-320);
	add_event(b, &cs_subnormal, T0, 1, 0, &v);

	/* Whatever the form, it must read back to the same double. */
	out = encode(b, TTLOG_ENCODING_JSONL);
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	sb_add(&want, "0 min f:5e-324\n0 tiny f:1e-320\n");
	assert_jsonl_reads_as(out, &want);
	tail = strstr(out, ",\"min\":");
	snprintf(json, sizeof(json), "%s", tail != NULL ? tail : "(none)");
	free(out);
	out = encode(b, TTLOG_ENCODING_TEXT);
	snprintf(text, sizeof(text), "%s", out);
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);

	/* And it must be the shortest that does, as for normal numbers.
	 * (Checked after the cleanup so that a failure leaks nothing.) */
	assert_string_equal(json, ",\"min\":5e-324,\"tiny\":1e-320}\n");
	assert_string_equal(text, T0_TEXT " INFO m min=5e-324 tiny=1e-320\n");
}

static const char *const whole_keys[] = {"one", "neg_zero", "big"};
static const uint8_t whole_types[] = {TTLOG_TYPE_F64, TTLOG_TYPE_F64,
				      TTLOG_TYPE_F64};
static struct ttlog_callsite cs_whole =
	CALLSITE("m", "f.c", 1, TTLOG_LEVEL_INFO, 3, whole_keys, whole_types);

static void test_jsonl_whole_doubles_stay_floating_point(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	vals_f64(&v, 1.0);
	vals_f64(&v, -0.0);
	vals_f64(&v, 1e15);
	add_event(b, &cs_whole, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	/* A reader must see floats, not integers, and -0.0 keeps its sign. */
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	sb_add(&want,
	       "0 one f:1.0\n0 neg_zero f:-0.0\n0 big f:1000000000000000.0\n");
	assert_jsonl_reads_as(out, &want);
	assert_non_null(strstr(out, ",\"one\":1.0,\"neg_zero\":-0.0,"));
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static const char *const special_keys[] = {"nan", "neg_nan", "inf", "neg_inf"};
static const uint8_t special_types[] = {TTLOG_TYPE_F64, TTLOG_TYPE_F64,
					TTLOG_TYPE_F64, TTLOG_TYPE_F64};
static struct ttlog_callsite cs_special = CALLSITE(
	"m", "f.c", 1, TTLOG_LEVEL_INFO, 4, special_keys, special_types);

static void test_jsonl_nan_and_infinities_become_strings(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	vals_f64_bits(&v, 0x7FF8000000000000u);
	vals_f64_bits(&v, 0xFFF800000000BEEFu);
	vals_f64_bits(&v, 0x7FF0000000000000u);
	vals_f64_bits(&v, 0xFFF0000000000000u);
	add_event(b, &cs_special, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_non_null(strstr(out, ",\"nan\":"));
	assert_string_equal(
		strstr(out, ",\"nan\":"),
		",\"nan\":\"NaN\",\"neg_nan\":\"NaN\","
		"\"inf\":\"Infinity\",\"neg_inf\":\"-Infinity\"}\n");
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	want_lit(&want, 0, "nan", "NaN");
	want_lit(&want, 0, "neg_nan", "NaN");
	want_lit(&want, 0, "inf", "Infinity");
	want_lit(&want, 0, "neg_inf", "-Infinity");
	assert_jsonl_reads_as(out, &want);
	free(out);

	/* The text format writes them bare. */
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, T0_TEXT " INFO m nan=nan neg_nan=nan inf=inf "
					 "neg_inf=-inf\n");
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static void test_jsonl_int64_min_and_uint64_max_are_exact(void **state)
{
	static const char *const keys[] = {"min", "max", "umax", "zero"};
	static const uint8_t types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_I64,
					TTLOG_TYPE_U64, TTLOG_TYPE_U64};
	static struct ttlog_callsite cs = CALLSITE(
		"m", "f.c", UINT32_MAX, TTLOG_LEVEL_INFO, 4, keys, types);
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	vals_i64(&v, INT64_MIN);
	vals_i64(&v, INT64_MAX);
	vals_u64(&v, UINT64_MAX);
	vals_u64(&v, 0);
	add_event(b, &cs, T0, UINT32_MAX, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_non_null(strstr(out, ",\"tid\":"));
	assert_string_equal(strstr(out, ",\"tid\":"),
			    ",\"tid\":4294967295,\"file\":\"f.c\","
			    "\"line\":4294967295,"
			    "\"min\":-9223372036854775808,"
			    "\"max\":9223372036854775807,"
			    "\"umax\":18446744073709551615,\"zero\":0}\n");
	want_head(&want, 0, T0_JSON, "INFO", "m", UINT32_MAX, "f.c",
		  UINT32_MAX);
	sb_add(&want, "0 min i:-9223372036854775808\n"
		      "0 max i:9223372036854775807\n"
		      "0 umax i:18446744073709551615\n"
		      "0 zero i:0\n");
	assert_jsonl_reads_as(out, &want);
	free(out);

	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, T0_TEXT " INFO m min=-9223372036854775808 "
					 "max=9223372036854775807 "
					 "umax=18446744073709551615 zero=0\n");
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static const char *const reserved_keys[] = {"time", "level", "msg",	 "tid",
					    "file", "line",  "truncated"};
static const uint8_t reserved_types[] = {
	TTLOG_TYPE_U64, TTLOG_TYPE_U64, TTLOG_TYPE_U64, TTLOG_TYPE_U64,
	TTLOG_TYPE_U64, TTLOG_TYPE_U64, TTLOG_TYPE_U64};
static struct ttlog_callsite cs_reserved = CALLSITE(
	"m", "f.c", 1, TTLOG_LEVEL_INFO, 7, reserved_keys, reserved_types);

static void
test_jsonl_field_named_like_reserved_key_gets_underscore(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	for (uint64_t i = 0; i < 7; i++)
		vals_u64(&v, 100 + i);
	add_event(b, &cs_reserved, T0, 1, TTLOG_EVENT_TRUNCATED, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_non_null(strstr(out, ",\"_time\":"));
	assert_string_equal(strstr(out, ",\"_time\":"),
			    ",\"_time\":100,\"_level\":101,\"_msg\":102,"
			    "\"_tid\":103,\"_file\":104,\"_line\":105,"
			    "\"_truncated\":106,\"truncated\":true}\n");
	want_head(&want, 0, T0_JSON, "INFO", "m", 1, "f.c", 1);
	for (int i = 0; i < 7; i++)
		sb_add(&want, "0 _%s i:%d\n", reserved_keys[i], 100 + i);
	sb_add(&want, "0 truncated b:true\n");
	assert_jsonl_reads_as(out, &want);
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static const char *const clash_keys[] = {"msg", "_msg"};
static const uint8_t clash_types[] = {TTLOG_TYPE_STR, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_clash =
	CALLSITE("m", "f.c", 1, TTLOG_LEVEL_INFO, 2, clash_keys, clash_types);

static void test_jsonl_renamed_key_does_not_clash_with_user_key(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	char *out, *checked;
	bool has_a, has_b;
	int status;

	(void)state;
	vals_lit(&v, "A");
	vals_lit(&v, "B");
	add_event(b, &cs_clash, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	checked = jsonl_check(out, &status);
	has_a = strstr(checked, " s:41\n") != NULL;
	has_b = strstr(checked, " s:42\n") != NULL;
	free(checked);
	free(out);
	vals_free(&v);
	ttlog_batch_unref(b);

	/* Both fields must survive a reader that keeps one value per key:
	 * no duplicate keys (jsonl_check.py exits 1 on one), both values
	 * present. */
	assert_int_equal(status, 0);
	assert_true(has_a);
	assert_true(has_b);
}

static const char *const rep_keys[] = {"a", "msg", "b", "a", "msg", "a"};
static const uint8_t rep_types[] = {TTLOG_TYPE_U64, TTLOG_TYPE_U64,
				    TTLOG_TYPE_U64, TTLOG_TYPE_U64,
				    TTLOG_TYPE_U64, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_rep =
	CALLSITE("m", "f.c", 1, TTLOG_LEVEL_INFO, 6, rep_keys, rep_types);

/* A log call may repeat a key; the object still has each key once, with
 * the last value (what a JSON reader that keeps one would keep). */
static void test_jsonl_repeated_key_written_once_last_value(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	for (int e = 0; e < 2; e++) {
		for (uint64_t i = 0; i < 5; i++)
			vals_u64(&v, 100 + i);
		vals_lit(&v, "last");
		add_event(b, &cs_rep, T0, 1, 0, &v);
	}
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_non_null(strstr(out, ",\"line\":1,"));
	assert_string_equal(strstr(out, ",\"line\":1,") +
				    strlen(",\"line\":1,"),
			    "\"b\":102,\"_msg\":104,\"a\":\"last\"}\n"
			    "{\"time\":\"" T0_JSON "\",\"level\":\"INFO\","
			    "\"msg\":\"m\",\"tid\":1,\"file\":\"f.c\","
			    "\"line\":1,\"b\":102,\"_msg\":104,"
			    "\"a\":\"last\"}\n");
	for (int i = 0; i < 2; i++) {
		want_head(&want, i, T0_JSON, "INFO", "m", 1, "f.c", 1);
		sb_add(&want, "%d b i:102\n%d _msg i:104\n", i, i);
		want_lit(&want, i, "a", "last");
	}
	assert_jsonl_reads_as(out, &want);
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static void test_jsonl_truncated_event_ends_with_truncated_true(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct sb want = {0};
	char *out;

	(void)state;
	add_request(b, T0, 0);
	add_request(b, T0, TTLOG_EVENT_TRUNCATED);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_string_equal(out, REQUEST_JSON "}\n" REQUEST_JSON
					      ",\"truncated\":true}\n");
	for (int i = 0; i < 2; i++) {
		want_head(&want, i, T0_JSON, "INFO", "request done", 812,
			  "app.c", 12);
		sb_add(&want, "%d id i:42\n%d ms f:4.5\n%d ok b:true\n", i, i,
		       i);
		want_lit(&want, i, "name", "bob");
	}
	sb_add(&want, "1 truncated b:true\n");
	assert_jsonl_reads_as(out, &want);
	free(out);
	free(want.p);
	ttlog_batch_unref(b);
}

static const char *const odd_keys[] = {"q\"k", "b\\k"};
static const uint8_t odd_types[] = {TTLOG_TYPE_BOOL, TTLOG_TYPE_BOOL};
static struct ttlog_callsite cs_odd =
	CALLSITE("say \"hi\"\n\xFF", "dir\\a.c", 5, TTLOG_LEVEL_ERROR, 2,
		 odd_keys, odd_types);

static void test_jsonl_message_file_and_keys_are_escaped(void **state)
{
	static const char line[] =
		"{\"time\":\"" T0_JSON "\",\"level\":\"ERROR\","
		"\"msg\":\"say \\\"hi\\\"\\n\\ufffd\",\"tid\":3,"
		"\"file\":\"dir\\\\a.c\",\"line\":5,"
		"\"q\\\"k\":true,\"b\\\\k\":false}\n";
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	vals_bool(&v, true);
	vals_bool(&v, false);
	add_event(b, &cs_odd, T0, 3, 0, &v);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_string_equal(out, line);
	want_head(&want, 0, T0_JSON, "ERROR", "say \"hi\"\n\xEF\xBF\xBD", 3,
		  "dir\\a.c", 5);
	sb_add(&want, "0 q\"k b:true\n0 b\\k b:false\n");
	assert_jsonl_reads_as(out, &want);
	free(out);
	free(want.p);
	vals_free(&v);
	ttlog_batch_unref(b);
}

/* ------------------------------------------------------------------ */
/* Text                                                                 */
/* ------------------------------------------------------------------ */

static void test_text_line_has_time_level_msg_and_fields(void **state)
{
	struct ttlog_batch *b = new_batch();
	char *out;

	(void)state;
	add_request(b, T0, 0);
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, T0_TEXT " INFO request done id=42 ms=4.5 "
					 "ok=true name=bob\n");
	free(out);
	ttlog_batch_unref(b);
}

static const char *const none_keys[] = {NULL};
static const uint8_t none_types[] = {0};
static struct ttlog_callsite cs_tick =
	CALLSITE("tick", "t.c", 1, TTLOG_LEVEL_DEBUG, 0, none_keys, none_types);

static void test_text_time_is_utc_with_microseconds(void **state)
{
	static const uint64_t t[] = {
		0,
		1709251199999999999ull, /* the last ns of 2024-02-29 */
		1709251200000000000ull, /* next second: the cache must move */
		1709251200000001999ull,
		1709251199000000000ull, /* and back */
		4102444800000000000ull, /* 2100-01-01 */
	};
	static const char want_text[] =
		"1970-01-01T00:00:00.000000Z DEBUG tick\n"
		"2024-02-29T23:59:59.999999Z DEBUG tick\n"
		"2024-03-01T00:00:00.000000Z DEBUG tick\n"
		"2024-03-01T00:00:00.000001Z DEBUG tick\n"
		"2024-02-29T23:59:59.000000Z DEBUG tick\n"
		"2100-01-01T00:00:00.000000Z DEBUG tick\n";
	static const char *const want_json[] = {
		"1970-01-01T00:00:00.000000000Z",
		"2024-02-29T23:59:59.999999999Z",
		"2024-03-01T00:00:00.000000000Z",
		"2024-03-01T00:00:00.000001999Z",
		"2024-02-29T23:59:59.000000000Z",
		"2100-01-01T00:00:00.000000000Z",
	};
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb want = {0};
	char *out;

	(void)state;
	for (int i = 0; i < 6; i++)
		add_event(b, &cs_tick, t[i], 9, 0, &v);
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, want_text);
	free(out);
	out = encode(b, TTLOG_ENCODING_JSONL);
	for (int i = 0; i < 6; i++)
		want_head(&want, i, want_json[i], "DEBUG", "tick", 9, "t.c", 1);
	assert_jsonl_reads_as(out, &want);
	free(out);
	free(want.p);
	ttlog_batch_unref(b);
}

static void test_text_and_jsonl_name_every_level(void **state)
{
	static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN",
					    "ERROR", "FATAL", "?"};
	static const uint8_t levels[] = {0, 1, 2, 3, 4, 5, 200};
	static struct ttlog_callsite cs[7];
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	struct sb text = {0}, want = {0};
	char *out;

	(void)state;
	for (int i = 0; i < 7; i++) {
		cs[i] = cs_tick;
		cs[i].level = levels[i];
		add_event(b, &cs[i], 0, 1, 0, &v);
		sb_add(&text, "1970-01-01T00:00:00.000000Z %s tick\n",
		       names[i]);
		want_head(&want, i, "1970-01-01T00:00:00.000000000Z", names[i],
			  "tick", 1, "t.c", 1);
	}
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, text.p);
	free(out);
	out = encode(b, TTLOG_ENCODING_JSONL);
	assert_jsonl_reads_as(out, &want);
	free(out);
	free(text.p);
	free(want.p);
	ttlog_batch_unref(b);
}

static const char *const q_keys[] = {"a", "b", "c", "d", "e", "f",
				     "g", "h", "i", "j", "k", "l"};
static const uint8_t q_types[] = {
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR,
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR,
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_quoting =
	CALLSITE("quoting", "q.c", 1, TTLOG_LEVEL_WARN, 12, q_keys, q_types);

static void test_text_strings_are_quoted_only_when_needed(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	char *out;

	(void)state;
	vals_lit(&v, "abc");
	vals_lit(&v, "a b");
	vals_lit(&v, "k=v");
	vals_lit(&v, "say \"hi\"");
	vals_lit(&v, "");
	vals_lit(&v, "\xFF");
	vals_lit(&v, "back\\slash");
	vals_lit(&v, "tab\there");
	vals_lit(&v, "h\xC3\xA9llo");
	vals_lit(&v, "del\x7F");
	vals_lit(&v, "nul\0");
	vals_lit(&v, "abcdefg\xFF"); /* invalid in the last of 8 bytes */
	add_event(b, &cs_quoting, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out,
			    T0_TEXT " WARN quoting a=abc b=\"a b\" "
				    "c=\"k=v\" d=\"say \\\"hi\\\"\" e=\"\" "
				    "f=\"\\ufffd\" g=\"back\\\\slash\" "
				    "h=\"tab\\there\" i=h\xC3\xA9llo "
				    "j=\"del\\u007f\" k=\"nul\\u0000\" "
				    "l=\"abcdefg\\ufffd\"\n");
	free(out);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static const char *const tb_keys[] = {"yes", "no", "tenth"};
static const uint8_t tb_types[] = {TTLOG_TYPE_BOOL, TTLOG_TYPE_BOOL,
				   TTLOG_TYPE_F64};
static struct ttlog_callsite cs_multi = CALLSITE(
	"two\nlines \"q\"", "m.c", 2, TTLOG_LEVEL_INFO, 3, tb_keys, tb_types);

static void test_text_message_stays_on_one_line(void **state)
{
	struct ttlog_batch *b = new_batch();
	struct vals v = {0};
	char *out;

	(void)state;
	vals_bool(&v, true);
	vals_bool(&v, false);
	vals_f64(&v, 0.1);
	add_event(b, &cs_multi, T0, 1, 0, &v);
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out, T0_TEXT " INFO two\\nlines \\\"q\\\" yes=true "
					 "no=false tenth=0.1\n");
	free(out);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static void test_text_truncated_event_ends_with_marker(void **state)
{
	struct ttlog_batch *b = new_batch();
	char *out;

	(void)state;
	add_request(b, T0, TTLOG_EVENT_TRUNCATED);
	add_request(b, T0, 0);
	out = encode(b, TTLOG_ENCODING_TEXT);
	assert_string_equal(out,
			    T0_TEXT " INFO request done id=42 ms=4.5 "
				    "ok=true name=bob truncated=true\n" T0_TEXT
				    " INFO request done id=42 ms=4.5 "
				    "ok=true name=bob\n");
	free(out);
	ttlog_batch_unref(b);
}

static void test_text_and_jsonl_of_empty_batch_are_empty(void **state)
{
	struct ttlog_batch *b = new_batch();
	const void *data;
	size_t len = 1;

	(void)state;
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_TEXT, &data, &len), 0);
	assert_int_equal(len, 0);
	len = 1;
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &data, &len), 0);
	assert_int_equal(len, 0);
	ttlog_batch_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonl_line_has_reserved_keys_then_fields),
		cmocka_unit_test(
			test_jsonl_control_chars_quotes_and_backslashes_survive),
		cmocka_unit_test(test_jsonl_invalid_utf8_bytes_become_u_fffd),
		cmocka_unit_test(
			test_jsonl_valid_utf8_is_kept_and_line_separators_escaped),
		cmocka_unit_test(
			test_jsonl_doubles_use_shortest_round_trip_form),
		cmocka_unit_test(test_double_subnormals_use_shortest_form),
		cmocka_unit_test(test_jsonl_whole_doubles_stay_floating_point),
		cmocka_unit_test(test_jsonl_nan_and_infinities_become_strings),
		cmocka_unit_test(test_jsonl_int64_min_and_uint64_max_are_exact),
		cmocka_unit_test(
			test_jsonl_field_named_like_reserved_key_gets_underscore),
		cmocka_unit_test(
			test_jsonl_renamed_key_does_not_clash_with_user_key),
		cmocka_unit_test(
			test_jsonl_truncated_event_ends_with_truncated_true),
		cmocka_unit_test(test_jsonl_message_file_and_keys_are_escaped),
		cmocka_unit_test(test_text_line_has_time_level_msg_and_fields),
		cmocka_unit_test(test_text_time_is_utc_with_microseconds),
		cmocka_unit_test(test_text_and_jsonl_name_every_level),
		cmocka_unit_test(test_text_strings_are_quoted_only_when_needed),
		cmocka_unit_test(test_text_message_stays_on_one_line),
		cmocka_unit_test(test_text_truncated_event_ends_with_marker),
		cmocka_unit_test(test_text_and_jsonl_of_empty_batch_are_empty),
		cmocka_unit_test(
			test_jsonl_repeated_key_written_once_last_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
