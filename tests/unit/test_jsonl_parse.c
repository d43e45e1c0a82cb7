/* test_jsonl_parse.c - the JSON-lines input's parser: every value type,
 * number limits, string escapes and UTF-8, nesting, the reserved keys in
 * every spelling, each syntax error with its message and byte offset, and
 * the field limit. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "parse_internal.h"
#include "testutil.h"

/* Lines are parsed from an exact-size heap copy, so that a read past the
 * end shows under ASan and valgrind; the copy and the scratch live until
 * the next parse (the event points into both). */
static char *g_buf;
static struct ttlog__scratch g_s;
static struct ttlog__in_event g_ev;
static char g_err[160];

static int parse_n(const char *line, size_t len)
{
	free(g_buf);
	g_buf = malloc(len ? len : 1);
	assert_non_null(g_buf);
	memcpy(g_buf, line, len);
	g_err[0] = '\0';
	return ttlog__jsonl_parse(g_buf, len, &g_ev, &g_s, g_err,
				  sizeof(g_err));
}

static const struct ttlog__in_event *ok(const char *line)
{
	int r = parse_n(line, strlen(line));
	if (r != 0)
		print_message("  err: %s\n", g_err);
	assert_int_equal(r, 0);
	assert_string_equal(g_ev.source, "jsonl");
	return &g_ev;
}

static void bad(const char *line, const char *want)
{
	assert_int_equal(parse_n(line, strlen(line)), -1);
	assert_string_equal(g_err, want);
}

static const struct ttlog__in_field *get(const char *key, int type)
{
	for (uint32_t i = 0; i < g_ev.nfields; i++)
		if (g_ev.fields[i].key_len == strlen(key) &&
		    memcmp(g_ev.fields[i].key, key, strlen(key)) == 0) {
			assert_int_equal(g_ev.fields[i].type, type);
			return &g_ev.fields[i];
		}
	fail_msg("no field %s", key);
	return NULL;
}

static void str_is(const char *key, const char *want, size_t len)
{
	const struct ttlog__in_field *f = get(key, TTLOG_TYPE_STR);
	assert_int_equal(f->v.str.len, len);
	assert_memory_equal(f->v.str.ptr, want, len);
}

#define STR_IS(key, lit) str_is(key, lit, sizeof(lit) - 1)

static void msg_is(const char *want)
{
	assert_int_equal(g_ev.msg_len, strlen(want));
	assert_memory_equal(g_ev.msg, want, strlen(want));
}

static void test_jsonl_every_value_type(void **state)
{
	(void)state;
	ok("{\"s\":\"x\",\"i\":-5,\"u\":18446744073709551615,\"f\":1.5,"
	   "\"t\":true,\"b\":false,\"n\":null,\"o\":{\"a\": [1, 2]},"
	   "\"a\":[ ],\"e\":1e3,\"z\":-0}");
	assert_int_equal(g_ev.nfields, 11);
	STR_IS("s", "x");
	assert_int_equal(get("i", TTLOG_TYPE_I64)->v.i64, -5);
	assert_int_equal(get("u", TTLOG_TYPE_U64)->v.u64, UINT64_MAX);
	assert_true(get("f", TTLOG_TYPE_F64)->v.f64 == 1.5);
	assert_int_equal(get("t", TTLOG_TYPE_BOOL)->v.b, 1);
	assert_int_equal(get("b", TTLOG_TYPE_BOOL)->v.b, 0);
	/* null has no field type of its own: its JSON text, like the
	 * compound values. */
	STR_IS("n", "null");
	STR_IS("o", "{\"a\":[1,2]}");
	STR_IS("a", "[]");
	/* An exponent makes a double even when the value is whole. */
	assert_true(get("e", TTLOG_TYPE_F64)->v.f64 == 1000.0);
	assert_int_equal(get("z", TTLOG_TYPE_I64)->v.i64, 0);
	/* Fields are in line order. */
	assert_int_equal(g_ev.fields[0].key[0], 's');
	assert_int_equal(g_ev.fields[10].key[0], 'z');
}

static void test_jsonl_integer_limits_and_huge_numbers(void **state)
{
	(void)state;
	ok("{\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	   "\"u\":9223372036854775808,\"umax\":18446744073709551615,"
	   "\"over\":18446744073709551616,\"under\":-9223372036854775809,"
	   "\"tiny\":1e-400,\"frac\":-2.5E+2}");
	assert_int_equal(get("min", TTLOG_TYPE_I64)->v.i64, INT64_MIN);
	assert_int_equal(get("max", TTLOG_TYPE_I64)->v.i64, INT64_MAX);
	assert_int_equal(get("u", TTLOG_TYPE_U64)->v.u64,
			 (uint64_t)INT64_MAX + 1);
	assert_int_equal(get("umax", TTLOG_TYPE_U64)->v.u64, UINT64_MAX);
	/* Beyond 64 bits: the exact digits, as a string field. */
	STR_IS("over", "18446744073709551616");
	STR_IS("under", "-9223372036854775809");
	assert_true(get("tiny", TTLOG_TYPE_F64)->v.f64 == 0.0);
	assert_true(get("frac", TTLOG_TYPE_F64)->v.f64 == -250.0);
	/* Infinity has no JSON form: refused. */
	bad("{\"a\":1e400}", "byte 5: number out of range");
	bad("{\"a\":-1e400}", "byte 5: number out of range");
	/* A nested number is kept as text, unchecked. */
	ok("{\"a\":[1e400, -1e400]}");
	STR_IS("a", "[1e400,-1e400]");
}

static void test_jsonl_string_escapes_and_unicode(void **state)
{
	(void)state;
	ok("{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"u\":\"\\u00e9\\u20AC\","
	   "\"p\":\"\\ud83d\\ude00\",\"z\":\"a\\u0000b\",\"raw\":\"\xC3\xA9"
	   "\xE2\x82\xAC\xF0\x9F\x98\x80\",\"\\u006bey\":1}");
	STR_IS("e", "\"\\/\b\f\n\r\t");
	STR_IS("u", "\xC3\xA9\xE2\x82\xAC");
	STR_IS("p", "\xF0\x9F\x98\x80");
	STR_IS("z", "a\0b");
	STR_IS("raw", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
	/* Keys are decoded too. */
	assert_int_equal(get("key", TTLOG_TYPE_I64)->v.i64, 1);
}

static void test_jsonl_bad_strings_are_refused(void **state)
{
	(void)state;
	bad("{\"a\":\"\\ud83d\"}",
	    "byte 6: unpaired high surrogate in \\u escape");
	bad("{\"a\":\"\\ud83d\\u0041\"}",
	    "byte 6: unpaired high surrogate in \\u escape");
	bad("{\"a\":\"\\ud83dx\"}",
	    "byte 6: unpaired high surrogate in \\u escape");
	bad("{\"a\":\"\\ude00\"}",
	    "byte 6: unpaired low surrogate in \\u escape");
	bad("{\"a\":\"\\u12G4\"}",
	    "byte 6: invalid \\u escape (expected 4 hex digits)");
	bad("{\"a\":\"\\u12\"}",
	    "byte 6: invalid \\u escape (expected 4 hex digits)");
	bad("{\"a\":\"\\x\"}", "byte 6: invalid escape");
	bad("{\"a\":\"x\x01\"}",
	    "byte 7: control character in string (escape it)");
	bad("{\"a\":\"x\ty\"}",
	    "byte 7: control character in string (escape it)");
	/* Overlong, surrogate, above U+10FFFF, stray continuation byte,
	 * cut sequence. */
	bad("{\"a\":\"\xC0\x80\"}", "byte 6: invalid UTF-8");
	bad("{\"a\":\"\xED\xA0\x80\"}", "byte 6: invalid UTF-8");
	bad("{\"a\":\"\xF4\x90\x80\x80\"}", "byte 6: invalid UTF-8");
	bad("{\"a\":\"x\x80\"}", "byte 7: invalid UTF-8");
	bad("{\"a\":\"\xE2\x82\"}", "byte 6: invalid UTF-8");
	bad("{\"\xFF\":1}", "byte 2: invalid UTF-8");
	bad("{\"a\":\"x", "byte 5: unterminated string");
	bad("{\"a\":\"x\\", "byte 5: unterminated string");
}

static void test_jsonl_nesting_is_limited_to_32_levels(void **state)
{
	char line[256];
	size_t n;
	(void)state;

	/* The line's object and 31 arrays: 32 levels. */
	n = (size_t)snprintf(line, sizeof(line), "{\"a\":");
	for (int i = 0; i < 31; i++)
		line[n++] = '[';
	for (int i = 0; i < 31; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = '\0';
	ok(line);
	assert_int_equal(get("a", TTLOG_TYPE_STR)->v.str.len, 62);
	/* One more is refused where it opens. */
	n = (size_t)snprintf(line, sizeof(line), "{\"a\":");
	for (int i = 0; i < 32; i++)
		line[n++] = '[';
	for (int i = 0; i < 32; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = '\0';
	bad(line, "byte 36: nesting deeper than 32 levels");
	/* Objects count the same. */
	bad("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}"
	    "}}}",
	    "byte 160: nesting deeper than 32 levels");
}

static void test_jsonl_nested_values_are_compact_json_text(void **state)
{
	(void)state;
	ok("{\"o\": { \"k\" : [ 1 , \"a b\" , {\"x\":null}, \"q\\\" ]\" ] } }");
	STR_IS("o", "{\"k\":[1,\"a b\",{\"x\":null},\"q\\\" ]\"]}");
	/* Without whitespace it is the line's own text. */
	ok("{\"o\":[true,false]}");
	assert_ptr_equal(get("o", TTLOG_TYPE_STR)->v.str.ptr, g_buf + 5);
	bad("{\"a\":{\"b\":1,}}", "byte 12: expected a string key");
	bad("{\"a\":[1,]}", "byte 8: expected a value");
	bad("{\"a\":{\"b\" 1}}", "byte 10: expected ':' after object key");
}

static void test_jsonl_reserved_keys_in_every_spelling(void **state)
{
	(void)state;
	ok("{\"time\":\"2003-10-11T22:14:15.003Z\",\"level\":\"warn\","
	   "\"msg\":\"hello\",\"k\":1}");
	assert_int_equal(g_ev.time_ns, 1065910455003000000ull);
	assert_int_equal(g_ev.level, TTLOG_LEVEL_WARN);
	msg_is("hello");
	assert_int_equal(g_ev.nfields, 1);
	ok("{\"timestamp\":1065910455.25,\"severity\":3,\"message\":\"m\"}");
	assert_int_equal(g_ev.time_ns, 1065910455250000000ull);
	assert_int_equal(g_ev.level, TTLOG_LEVEL_ERROR);
	msg_is("m");
	assert_int_equal(g_ev.nfields, 0);
	ok("{\"ts\":1065910455,\"lvl\":7}");
	assert_int_equal(g_ev.time_ns, 1065910455000000000ull);
	assert_int_equal(g_ev.level, TTLOG_LEVEL_DEBUG);
	assert_int_equal(g_ev.msg_len, 0);
	/* Defaults. */
	ok("{}");
	assert_int_equal(g_ev.time_ns, 0);
	assert_int_equal(g_ev.level, TTLOG_LEVEL_INFO);
	assert_int_equal(g_ev.nfields, 0);
}

static void test_jsonl_level_names_and_numbers(void **state)
{
	static const struct {
		const char *v;
		int level;
	} cases[] = {
		{"\"trace\"", TTLOG_LEVEL_TRACE},
		{"\"DEBUG\"", TTLOG_LEVEL_DEBUG},
		{"\"Info\"", TTLOG_LEVEL_INFO},
		{"\"informational\"", TTLOG_LEVEL_INFO},
		{"\"notice\"", TTLOG_LEVEL_INFO},
		{"\"WARNING\"", TTLOG_LEVEL_WARN},
		{"\"Err\"", TTLOG_LEVEL_ERROR},
		{"\"error\"", TTLOG_LEVEL_ERROR},
		{"\"critical\"", TTLOG_LEVEL_FATAL},
		{"\"crit\"", TTLOG_LEVEL_FATAL},
		{"\"alert\"", TTLOG_LEVEL_FATAL},
		{"\"emerg\"", TTLOG_LEVEL_FATAL},
		{"\"emergency\"", TTLOG_LEVEL_FATAL},
		{"\"panic\"", TTLOG_LEVEL_FATAL},
		{"\"fatal\"", TTLOG_LEVEL_FATAL},
		{"0", TTLOG_LEVEL_FATAL},
		{"2", TTLOG_LEVEL_FATAL},
		{"4", TTLOG_LEVEL_WARN},
		{"5", TTLOG_LEVEL_INFO},
		{"6", TTLOG_LEVEL_INFO},
	};
	char line[64];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "{\"level\":%s}", cases[i].v);
		assert_int_equal(ok(line)->level, cases[i].level);
		assert_int_equal(g_ev.nfields, 0);
	}
}

static void test_jsonl_reserved_values_that_do_not_fit_stay_fields(void **state)
{
	(void)state;
	/* An unknown level: INFO, and the value kept under its key. */
	ok("{\"level\":\"verbose\"}");
	assert_int_equal(g_ev.level, TTLOG_LEVEL_INFO);
	STR_IS("level", "verbose");
	ok("{\"lvl\":\"warnings\"}");
	STR_IS("lvl", "warnings");
	ok("{\"severity\":8}");
	assert_int_equal(g_ev.level, TTLOG_LEVEL_INFO);
	assert_int_equal(get("severity", TTLOG_TYPE_I64)->v.i64, 8);
	ok("{\"level\":2.0}");
	assert_int_equal(g_ev.level, TTLOG_LEVEL_INFO);
	/* ... a later good one still sets it. */
	ok("{\"level\":\"x\",\"lvl\":\"error\"}");
	assert_int_equal(g_ev.level, TTLOG_LEVEL_ERROR);
	assert_int_equal(g_ev.nfields, 1);
	/* Times that do not parse, a message that is not a string. */
	ok("{\"time\":\"yesterday\",\"ts\":-1,\"timestamp\":true,\"msg\":5}");
	assert_int_equal(g_ev.time_ns, 0);
	assert_int_equal(g_ev.msg_len, 0);
	assert_int_equal(g_ev.nfields, 4);
	STR_IS("time", "yesterday");
	assert_int_equal(get("ts", TTLOG_TYPE_I64)->v.i64, -1);
	assert_int_equal(get("msg", TTLOG_TYPE_I64)->v.i64, 5);
	ok("{\"time\":\"2003-10-11T22:14:15Zjunk\"}");
	assert_int_equal(g_ev.time_ns, 0);
	/* The first that fits wins; later ones are fields. A repeated key
	 * counts once, with its last value. */
	ok("{\"msg\":\"a\",\"message\":\"b\",\"msg\":\"c\",\"ts\":1,"
	   "\"time\":2}");
	msg_is("c");
	STR_IS("message", "b");
	assert_int_equal(g_ev.time_ns, 1000000000u);
	assert_int_equal(g_ev.nfields, 2);
	assert_int_equal(g_ev.duplicate_keys, 1);
}

static void test_jsonl_syntax_errors_give_the_byte(void **state)
{
	(void)state;
	bad("{\"a\" 1}", "byte 5: expected ':' after object key");
	bad("{\"a\":}", "byte 5: expected a value");
	bad("{\"a\":1,}", "byte 7: expected a string key");
	bad("{a:1}", "byte 1: expected a string key");
	bad("{\"a\":1 \"b\":2}", "byte 7: expected ',' or '}' after object "
				 "member");
	bad("[1]", "byte 0: expected '{' to start a JSON object");
	bad("\"x\"", "byte 0: expected '{' to start a JSON object");
	bad("{\"a\":[1 2]}", "byte 8: expected ',' or ']' after array element");
	bad("{\"a\":tru}", "byte 5: expected a value");
	bad("{\"a\":nul", "byte 5: expected a value");
	bad("{\"a\":01}", "byte 5: invalid number: leading zero");
	bad("{\"a\":1.}", "byte 7: invalid number: expected a digit after '.'");
	bad("{\"a\":1e}",
	    "byte 7: invalid number: expected a digit in the exponent");
	bad("{\"a\":-}", "byte 6: invalid number: expected a digit");
	bad("{\"a\":+1}", "byte 5: expected a value");
	bad("{\"a\":.5}", "byte 5: expected a value");
	bad("{\"a\":NaN}", "byte 5: expected a value");
	bad("{\"a\":1", "byte 6: expected ',' or '}' after object member");
	bad("{", "byte 1: expected a string key");
	bad("{\"a\":1}x", "byte 7: trailing characters after the object");
	bad("{\"a\":1} {\"b\":2}",
	    "byte 8: trailing characters after the object");
	assert_int_equal(parse_n("{\"a\":1}\n\0", 9), -1);
	assert_string_equal(g_err,
			    "byte 8: trailing characters after the object");
	bad("", "byte 0: empty line, expected a JSON object");
	bad(" \t\r\n", "byte 0: empty line, expected a JSON object");
}

static void test_jsonl_whitespace_bom_line_end_and_duplicates(void **state)
{
	(void)state;
	ok("\xEF\xBB\xBF {\n\t\"a\" : 1 ,\"a\":2 }\r\n");
	assert_int_equal(g_ev.nfields, 1);
	assert_int_equal(g_ev.fields[0].v.i64, 2);
	assert_int_equal(g_ev.duplicate_keys, 1);
	/* A BOM anywhere else is not whitespace. */
	bad(" \xEF\xBB\xBF{}", "byte 1: expected '{' to start a JSON object");
}

static void test_jsonl_huge_integer_is_kept_exactly(void **state)
{
	(void)state;
	ok("{\"n\":123456789012345678901234567890,"
	   "\"m\":-123456789012345678901234567890,"
	   "\"d\":0.1000000000000000055511151231257827}");
	STR_IS("n", "123456789012345678901234567890");
	STR_IS("m", "-123456789012345678901234567890");
	/* A number with a fraction is a double: its digits are not kept. */
	assert_true(get("d", TTLOG_TYPE_F64)->v.f64 == 0.1);
	assert_int_equal(g_ev.duplicate_keys, 0);
}

/* Through a batch to the JSON-lines output: the digits come out exactly
 * (as a JSON string), and so does a double's shortest form. */
static void test_jsonl_huge_integer_exact_in_json_output(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(64, 1u << 16, 1);
	const void *data;
	size_t len;
	char *out;
	(void)state;

	assert_non_null(b);
	ok("{\"msg\":\"m\",\"n\":123456789012345678901234567890,"
	   "\"d\":0.1000000000000000055511151231257827,\"msg\":\"last\"}");
	assert_int_equal(ttlog__batch_add_in(b, &g_ev, 1, 1, 4096), 0);
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &data, &len), 0);
	out = strndup(data, len);
	assert_non_null(out);
	assert_non_null(strstr(out, ",\"msg\":\"last\","));
	assert_non_null(
		strstr(out, ",\"n\":\"123456789012345678901234567890\","));
	assert_non_null(strstr(out, ",\"d\":0.1}"));
	free(out);
	ttlog_batch_unref(b);
}

static void test_jsonl_repeated_key_last_wins_in_first_place(void **state)
{
	(void)state;
	ok("{\"a\":1,\"b\":2,\"a\":3,\"c\":4,\"a\":\"x\"}");
	assert_int_equal(g_ev.nfields, 3);
	assert_memory_equal(g_ev.fields[0].key, "a", 1);
	STR_IS("a", "x");
	assert_memory_equal(g_ev.fields[1].key, "b", 1);
	assert_memory_equal(g_ev.fields[2].key, "c", 1);
	assert_int_equal(g_ev.duplicate_keys, 2);
	assert_int_equal(g_ev.dup_key_len, 1);
	assert_memory_equal(g_ev.dup_key, "a", 1);
	/* A reserved key too: the last msg is the message; a last value
	 * that does not fit makes the key an ordinary field again, and the
	 * group's next key that fits is the message. */
	ok("{\"msg\":\"first\",\"msg\":\"last\"}");
	msg_is("last");
	assert_int_equal(g_ev.nfields, 0);
	assert_int_equal(g_ev.duplicate_keys, 1);
	ok("{\"k\":0,\"msg\":\"a\",\"message\":\"b\",\"msg\":5}");
	msg_is("b");
	assert_int_equal(g_ev.nfields, 2);
	assert_memory_equal(g_ev.fields[1].key, "msg", 3);
	assert_int_equal(get("msg", TTLOG_TYPE_I64)->v.i64, 5);
	/* Escapes are compared decoded: "\u0061" is "a". */
	ok("{\"a\":1,\"\\u0061\":2}");
	assert_int_equal(g_ev.nfields, 1);
	assert_int_equal(g_ev.fields[0].v.i64, 2);
}

static void test_jsonl_65_fields_truncate(void **state)
{
	char line[2048];
	size_t n = 0;
	(void)state;

	line[n++] = '{';
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      "%s\"k%d\":\"v\\n%d\"", i ? "," : "", i,
				      i);
	/* Past the field limit a repeat still replaces a kept value. */
	snprintf(line + n, sizeof(line) - n, ",\"msg\":\"m\",\"k0\":\"z\"}");
	ok(line);
	STR_IS("k0", "z");
	assert_int_equal(g_ev.duplicate_keys, 1);
	assert_int_equal(g_ev.nfields, TTLOG__IN_MAX_FIELDS);
	assert_true(g_ev.truncated);
	STR_IS("k63", "v\n63");
	assert_int_equal(g_ev.fields[63].key_len, 3);
	/* Reserved keys are not fields and still count after the limit. */
	msg_is("m");
	/* 64 fields and reserved keys: not truncated. */
	n = 0;
	line[n++] = '{';
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\"k%d\":%d,",
				      i, i);
	snprintf(line + n, sizeof(line) - n, "\"msg\":\"m\",\"lvl\":4}");
	ok(line);
	assert_int_equal(g_ev.nfields, TTLOG__IN_MAX_FIELDS);
	assert_false(g_ev.truncated);
	assert_int_equal(g_ev.level, TTLOG_LEVEL_WARN);
}

static void test_jsonl_scratch_reuse_and_null_err(void **state)
{
	struct ttlog__scratch s = {0};
	struct ttlog__in_event ev;
	static const char line[] = "{\"k\":\"a\\tb\"}";
	(void)state;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(ttlog__jsonl_parse(line, sizeof(line) - 1, &ev,
						    &s, NULL, 0),
				 0);
		assert_int_equal(ev.fields[0].v.str.len, 3);
		assert_memory_equal(ev.fields[0].v.str.ptr, "a\tb", 3);
		assert_true(ev.fields[0].v.str.ptr >= s.p &&
			    ev.fields[0].v.str.ptr < s.p + s.len);
	}
	assert_int_equal(ttlog__jsonl_parse("x", 1, &ev, &s, NULL, 0), -1);
	ttlog__scratch_destroy(&s);
}

static int teardown(void **state)
{
	(void)state;
	free(g_buf);
	g_buf = NULL;
	ttlog__scratch_destroy(&g_s);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonl_every_value_type),
		cmocka_unit_test(test_jsonl_integer_limits_and_huge_numbers),
		cmocka_unit_test(test_jsonl_string_escapes_and_unicode),
		cmocka_unit_test(test_jsonl_bad_strings_are_refused),
		cmocka_unit_test(test_jsonl_nesting_is_limited_to_32_levels),
		cmocka_unit_test(
			test_jsonl_nested_values_are_compact_json_text),
		cmocka_unit_test(test_jsonl_reserved_keys_in_every_spelling),
		cmocka_unit_test(test_jsonl_level_names_and_numbers),
		cmocka_unit_test(
			test_jsonl_reserved_values_that_do_not_fit_stay_fields),
		cmocka_unit_test(test_jsonl_syntax_errors_give_the_byte),
		cmocka_unit_test(
			test_jsonl_whitespace_bom_line_end_and_duplicates),
		cmocka_unit_test(test_jsonl_65_fields_truncate),
		cmocka_unit_test(test_jsonl_huge_integer_is_kept_exactly),
		cmocka_unit_test(test_jsonl_huge_integer_exact_in_json_output),
		cmocka_unit_test(
			test_jsonl_repeated_key_last_wins_in_first_place),
		cmocka_unit_test(test_jsonl_scratch_reuse_and_null_err),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
