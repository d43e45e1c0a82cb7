/*
 * test_expr.c - match: expressions (core/route/expr.h): the language, its
 * semantics on events in both forms, and every compile error with the
 * byte it points at.
 *
 * Each expression is evaluated on the same event twice: as event 0 of a
 * real batch (ttlog__batch_add_in, then ttlog__view_batch) and as a work
 * event (ttlog__view_work), and both answers must be the expected one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

#include "batch_internal.h"
#include "expr.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "view.h"

struct fix {
	struct ttlog__in_event ev;
	struct ttlog__origin *origin;
	struct ttlog_batch *b;
	struct ttlog__view bv, wv;
};

static struct fix F;

static void set_i64(struct ttlog__in_field *f, const char *k, int64_t v)
{
	f->key = k;
	f->key_len = strlen(k);
	f->type = TTLOG_TYPE_I64;
	f->v.i64 = v;
}

static void set_u64(struct ttlog__in_field *f, const char *k, uint64_t v)
{
	f->key = k;
	f->key_len = strlen(k);
	f->type = TTLOG_TYPE_U64;
	f->v.u64 = v;
}

static void set_f64(struct ttlog__in_field *f, const char *k, double v)
{
	f->key = k;
	f->key_len = strlen(k);
	f->type = TTLOG_TYPE_F64;
	f->v.f64 = v;
}

static void set_str(struct ttlog__in_field *f, const char *k, const char *v)
{
	f->key = k;
	f->key_len = strlen(k);
	f->type = TTLOG_TYPE_STR;
	f->v.str.ptr = v;
	f->v.str.len = strlen(v);
}

static int setup(void **state)
{
	struct ttlog__in_event *ev = &F.ev;
	uint32_t n = 0;

	(void)state;
	memset(&F, 0, sizeof(F));
	ev->level = TTLOG_LEVEL_WARN;
	ev->msg = "connection timeout after 30s";
	ev->msg_len = strlen(ev->msg);
	ev->msg_varies = 1;
	ev->source = "test";
	ev->time_ns = 1;
	set_i64(&ev->fields[n++], "status", 503);
	set_u64(&ev->fields[n++], "big", UINT64_MAX);
	set_i64(&ev->fields[n++], "neg", -5);
	set_u64(&ev->fields[n++], "small", 3);
	set_f64(&ev->fields[n++], "ratio", 0.25);
	set_f64(&ev->fields[n++], "huge", 1e19);
	ev->fields[n].key = "ok";
	ev->fields[n].key_len = 2;
	ev->fields[n].type = TTLOG_TYPE_BOOL;
	ev->fields[n++].v.b = 1;
	set_str(&ev->fields[n++], "code", "500");
	set_str(&ev->fields[n++], "name", "alice");
	set_str(&ev->fields[n++], "a b", "spaced");
	set_i64(&ev->fields[n++], "x.y-z", 7);
	set_str(&ev->fields[n++], "empty", "");
	set_str(&ev->fields[n++], "quote", "it's \"q\"\n");
	ev->nfields = n;
	F.origin = ttlog__origin_make("web-2", "billing", "syslog",
				      "10.0.0.7:514", "", "");
	assert_non_null(F.origin);
	ev->origin = F.origin;
	F.b = ttlog__batch_new(16, 1u << 16, 1);
	assert_non_null(F.b);
	assert_int_equal(ttlog__batch_add_in(F.b, ev, 1, 1, 4096), 0);
	ttlog__view_batch(&F.bv, F.b, 0);
	ttlog__view_work(&F.wv, ev, &F.origin->pub);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ttlog_batch_unref(F.b);
	ttlog__origin_unref(F.origin);
	return 0;
}

static struct ttlog__expr *compile_ok(const char *src)
{
	char err[256];
	size_t off = 99;
	struct ttlog__expr *e =
		ttlog__expr_compile(src, strlen(src), &off, err, sizeof(err));

	if (e == NULL)
		fail_msg("'%.200s' did not compile: byte %zu: %s", src, off,
			 err);
	return e;
}

/* src must compile and give `want` on both forms of the event. */
static void check(const char *src, bool want)
{
	struct ttlog__expr *e = compile_ok(src);

	if (ttlog__expr_eval(e, &F.bv) != want)
		fail_msg("'%.200s' on the batch event: expected %s", src,
			 want ? "true" : "false");
	if (ttlog__expr_eval(e, &F.wv) != want)
		fail_msg("'%.200s' on the work event: expected %s", src,
			 want ? "true" : "false");
	ttlog__expr_free(e);
}

/* src must fail to compile at byte off with a message containing msg. */
static void check_err(const char *src, size_t len, size_t off, const char *msg)
{
	char err[256] = "unset";
	size_t at = 99999;
	struct ttlog__expr *e =
		ttlog__expr_compile(src, len, &at, err, sizeof(err));

	if (e != NULL) {
		ttlog__expr_free(e);
		fail_msg("'%s' compiled; expected an error", src);
	}
	if (at != off || strstr(err, msg) == NULL)
		fail_msg("'%s': got byte %zu '%s', expected byte %zu '%s'", src,
			 at, err, off, msg);
}

#define ERR(src, off, msg) check_err(src, strlen(src), off, msg)

static void test_expr_comparison_operators(void **state)
{
	(void)state;
	check("fields.status == 503", true);
	check("fields.status != 503", false);
	check("fields.status < 504", true);
	check("fields.status <= 503", true);
	check("fields.status > 503", false);
	check("fields.status >= 503", true);
	check("fields.status >= 504", false);
	check("fields.name == \"alice\"", true);
	check("fields.name != 'alice'", false);
	check("fields.name < \"alicf\"", true);
	check("fields.name > \"alic\"", true); /* longer is greater */
	check("fields.name <= \"alice\"", true);
	check("fields.empty == \"\"", true);
	check("fields.quote == 'it\\'s \"q\"\\n'", true);
	check("fields.quote == \"it's \\\"q\\\"\\n\"", true);
	check("fields.ok == true", true);
	check("fields.ok != true", false);
	check("fields.ok == false", false);
}

static void test_expr_precedence_and_short_circuit(void **state)
{
	(void)state;
	/* and binds tighter than or */
	check("fields.status == 1 and fields.neg == 1 or fields.ok == true",
	      true);
	check("fields.ok == true or fields.status == 1 and fields.neg == 1",
	      true);
	check("(fields.ok == true or fields.status == 1) and fields.neg == 1",
	      false);
	/* not applies to the test or parenthesis right after it */
	check("not fields.status == 1 and fields.ok == true", true);
	check("not (fields.ok == true or fields.status == 1)", false);
	check("not not fields.ok == true", true);
	check("not fields.ok == true or fields.neg == -5", true);
	check("((((fields.neg == -5))))", true);
	check("fields.neg == -5 and (fields.neg == 1 or (fields.status == 503 "
	      "and not fields.ok == false))",
	      true);
	check("level == WARN AND msg == 'x' Or fields.ok == true", true);
	/* a long chain is not recursion */
	static char big[40000];
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
				      "%sfields.status == %d", i ? " or " : "",
				      1000 + i);
	check(big, false);
	memcpy(big + n, " or fields.status == 503", 25);
	check(big, true);
}

static void test_expr_numbers_mix_i64_u64_f64(void **state)
{
	(void)state;
	/* u64 above INT64_MAX, against every kind */
	check("fields.big == 18446744073709551615", true);
	check("fields.big > 9223372036854775807", true);
	check("fields.big > -1", true);
	check("fields.big < -1", false);
	check("fields.big > -1.5", true);
	check("fields.small > -1.5", true);
	check("fields.small < 3.5", true);
	check("fields.small > 2.5", true);
	check("fields.small == 3", true);
	check("fields.big > -1e30", true);
	check("fields.neg < -1e30", false);
	check("fields.big < 1.8446744073709552e19", true); /* 2^64 */
	check("fields.big >= 1e19", true);
	check("fields.neg < 18446744073709551615", true);
	check("fields.neg > -9223372036854775808", true);
	check("fields.neg == -5.0", true);
	check("fields.neg < -4.5", true);
	check("fields.neg > -5.5", true);
	check("fields.status == 503.0", true);
	check("fields.status < 503.5", true);
	check("fields.status > 502.99", true);
	check("fields.ratio == 0.25", true);
	check("fields.ratio == .25", true);
	check("fields.ratio < 1", true);
	check("fields.ratio > 0", true);
	check("fields.ratio == 2.5e-1", true);
	check("fields.huge > 18446744073709551615", false); /* 1e19 < 2^64-1 */
	check("fields.huge < 18446744073709551615", true);
	check("fields.huge > 9223372036854775807", true);
	/* integers beyond 64 bits are doubles */
	check("fields.big < 100000000000000000000", true);
}

static void test_expr_strings_and_numbers(void **state)
{
	(void)state;
	/* a string that is entirely a number compares as one */
	check("fields.code == 500", true);
	check("fields.code > 499.5", true);
	check("fields.code == 500.0", true);
	check("fields.status == \"503\"", true);
	check("fields.status == \"503.0\"", true);
	check("fields.status < \"1e3\"", true);
	/* otherwise the comparison is false, != too */
	check("fields.name == 1", false);
	check("fields.name != 1", false);
	check("fields.status == \"503 \"", false);
	check("fields.status != \"abc\"", false);
	check("fields.code == \"500\"", true); /* bytes */
	check("fields.code == \"500.0\"", false);
	/* bools compare with bools only */
	check("fields.status == true", false);
	check("fields.status != true", false);
	check("fields.ok == 1", false);
	check("fields.ok != \"true\"", false);
	check("fields.name == true", false);
}

static void test_expr_missing_field_is_false(void **state)
{
	(void)state;
	check("fields.nope == 1", false);
	check("fields.nope != 1", false);
	check("fields.nope < 1", false);
	check("fields.nope =~ \"\"", false);
	check("fields.nope !~ \"x\"", false);
	check("fields.nope in [1, \"a\"]", false);
	check("exists(fields.nope)", false);
	check("not fields.nope == 1", true);
	check("exists(fields.status)", true);
	check("exists(fields.empty)", true);
	check("exists(fields.\"a b\")", true);
	check("exists(host) and exists(level) and exists(msg)", true);
	check("exists(peer_id)", false); /* empty origin string */
	check("exists(relay)", false);
	check("not exists(fields.trace_id)", true);
}

static void test_expr_levels(void **state)
{
	(void)state;
	check("level == WARN", true);
	check("level == warn", true);
	check("level == \"warn\"", true);
	check("level == 'Warn'", true);
	check("level == warning", true); /* as common/level.h spells it */
	check("level == \"warning\"", true);
	check("level >= WARN", true);
	check("level > WARN", false);
	check("level >= INFO", true);
	check("level < ERROR", true);
	check("level <= TRACE", false);
	check("level != FATAL", true);
	check("level in [ERROR, FATAL]", false);
	check("level in [debug, \"WARN\"]", true);
	check("level =~ \"^W\"", true);
	check("level !~ \"ERR\"", true);
}

static void test_expr_origin_names(void **state)
{
	(void)state;
	check("host == \"web-2\"", true);
	check("service == \"billing\"", true);
	check("input == \"syslog\"", true);
	check("peer == \"10.0.0.7:514\"", true);
	check("peer_id == \"\"", true);
	check("relay == \"\"", true);
	check("host != \"web-1\"", true);
	check("service =~ \"^bill\"", true);
	check("host in [\"web-1\", \"web-2\", \"web-3\"]", true);
	check("host in [\"web-1\", \"web-3\"]", false);
	check("msg == \"connection timeout after 30s\"", true);
	check("msg > \"conn\"", true);
}

static void test_expr_field_names(void **state)
{
	(void)state;
	check("fields.\"a b\" == \"spaced\"", true);
	check("fields.'a b' == \"spaced\"", true);
	check("fields.x.y-z == 7", true);
	check("fields.\"x.y-z\" == 7", true);
	check("fields.\"x.y\" == 7", false);
}

static void test_expr_regex(void **state)
{
	(void)state;
	check("msg =~ \"timeout|refused\"", true);
	check("msg =~ \"^timeout\"", false);
	check("msg !~ \"timeout\"", false);
	check("msg !~ \"refused\"", true);
	check("msg =~ \"after \\\\d+s$\"", true); /* \\d in the source */
	check("fields.name =~ \"^al\"", true);
	check("fields.status =~ \"5\"", false); /* numbers are not text */
	check("fields.status !~ \"5\"", false);
	check("fields.code =~ \"^5\"", true);
	/* case matters unless the pattern says (?i) */
	check("msg =~ \"TIMEOUT\"", false);
	check("msg =~ \"(?i)TIMEOUT\"", true);
}

/* The message is bytes: invalid UTF-8 and NUL bytes are matched, and only
 * msg_len bytes are looked at. */
static void test_expr_regex_bytes_and_limits(void **state)
{
	struct ttlog__in_event ev = F.ev;
	struct ttlog__view v;
	struct ttlog__expr *e;
	static const char m[] = "ab\xff\xfe\0cd--tail";

	(void)state;
	ev.msg = m;
	ev.msg_len = 7; /* "ab\xff\xfe\0cd" */
	ttlog__view_work(&v, &ev, &F.origin->pub);
	e = compile_ok("msg =~ \"\\\\xff\\\\xfe\\\\x00cd$\"");
	assert_true(ttlog__expr_eval(e, &v));
	ttlog__expr_free(e);
	e = compile_ok("msg =~ \"tail\"");
	assert_false(ttlog__expr_eval(e, &v));
	ttlog__expr_free(e);
	e = compile_ok("msg == \"ab\"");
	assert_false(ttlog__expr_eval(e, &v));
	ttlog__expr_free(e);

	/* Catastrophic backtracking hits the match limit: no match, and
	 * !~ then holds. */
	char hostile[64];
	memset(hostile, 'a', 40);
	hostile[40] = 'b';
	ev.msg = hostile;
	ev.msg_len = 41;
	ttlog__view_work(&v, &ev, &F.origin->pub);
	e = compile_ok("msg =~ \"^(a|a?)+$\"");
	assert_false(ttlog__expr_eval(e, &v));
	ttlog__expr_free(e);
	e = compile_ok("msg !~ \"^(a|a?)+$\"");
	assert_true(ttlog__expr_eval(e, &v));
	ttlog__expr_free(e);
}

static void test_expr_in_lists(void **state)
{
	(void)state;
	check("fields.status in [500, 503]", true);
	check("fields.status in [500, 502]", false);
	check("fields.status in [\"503\"]", true);
	check("fields.code in [\"x\", 500]", true);
	check("fields.ok in [false, true]", true);
	check("fields.big in [18446744073709551615]", true);
	check("fields.ratio in [0.25]", true);
	check("not fields.status in [1, 2]", true);
}

struct err_case {
	const char *src;
	size_t off;
	const char *msg;
};

static void test_expr_compile_errors_name_byte_and_cause(void **state)
{
	static const struct err_case cases[] = {
		{"", 0, "empty expression"},
		{"  \t\n", 0, "empty expression"},
		{"lvl == WARN", 0, "unknown name 'lvl'; did you mean 'level'?"},
		{"hots == \"a\"", 0, "did you mean 'host'?"},
		{"sevrice == \"a\"", 0, "did you mean 'service'?"},
		{"xyz == 1", 0, "unknown name 'xyz' (names: level"},
		{"fields == 1", 0, "expected '.NAME' after 'fields'"},
		{"fields. == 1", 7, "expected a field name after 'fields.'"},
		{"level >= WRN", 9,
		 "unknown level 'WRN'; did you mean 'WARN'?"},
		{"level == 3", 9, "'level' compares with a level"},
		{"level == \"loud\"", 9, "'level' compares with a level"},
		{"service == billing", 11, "strings are quoted"},
		{"service == WARN", 11,
		 "level names compare only with 'level'"},
		{"level ==", 8, "expected a value after '=='"},
		{"level == )", 9, "expected a value after '=='"},
		{"fields.ok < true", 12, "true and false compare only with =="},
		{"fields.ok >= false", 13, "true and false compare only"},
		{"host", 4, "expected an operator"},
		{"host host", 5, "expected an operator"},
		{"host = \"a\"", 5, "unexpected '='; did you mean '=='?"},
		{"host == \"a\" $", 12, "unexpected character '$'"},
		{"host == \"a\" \x01", 12, "unexpected byte 0x01"},
		{"host == \"a", 8, "unterminated string"},
		{"host == 'a\\'", 8, "unterminated string"},
		{"host == \"a\\", 8, "unterminated string"},
		{"host == \"a\\qb\"", 10, "unknown escape '\\q'"},
		{"host == \"a\" host", 12, "expected 'and', 'or' or the end"},
		{"host == \"a\")", 11, "unexpected ')': no '(' to close"},
		{"(host == \"a\"", 12,
		 "expected ')' to close the '(' at byte 0"},
		{"host == \"a\" and", 15, "expected a name"},
		{"and host == \"a\"", 0, "expected a name"},
		{"not", 3, "expected a name"},
		{"()", 1, "expected a name"},
		{"fields.status == 5x", 17, "invalid number '5x'"},
		{"fields.status == 1.2.3", 17, "invalid number"},
		{"fields.status == 1e", 17, "invalid number"},
		{"host in [\"a\", \"b\"", 17, "expected ',' or ']'"},
		{"host in []", 9, "empty list"},
		{"host in [\"a\",]", 13, "expected a value after 'in'"},
		{"host in \"a\"", 8, "expected '[' after 'in'"},
		{"exists host", 7, "expected '(' after 'exists'"},
		{"exists(host", 11, "expected ')' after the name"},
		{"exists(1)", 7, "expected a name"},
		{"msg =~ 5", 7, "expected a quoted regular expression"},
		{"msg !~ \"a\\\\\"", 11, "\\ at end of pattern"},
		{"msg =~ \"(*UTF)a\"", 13, "using UTF is disabled"},
		/* the byte PCRE2 could not use */
		{"msg =~ \"*a\"", 8, "quantifier does not follow"},
		{"msg =~ 'ab{2,1}'", 13, "numbers out of order"},
		{"msg =~ \"a(b\"", 11, "missing closing parenthesis"},
		{"msg =~ \"\\\\n(a[b\"", 15, "missing terminating ]"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ERR(cases[i].src, cases[i].off, cases[i].msg);
}

static void test_expr_limits_nesting_and_length(void **state)
{
	char src[400];
	size_t n = 0;

	(void)state;
	/* 64 levels of parentheses compile; the 65th is refused where it
	 * opens. */
	for (int i = 0; i < 64; i++)
		src[n++] = '(';
	n += (size_t)sprintf(src + n, "level == WARN");
	for (int i = 0; i < 64; i++)
		src[n++] = ')';
	src[n] = '\0';
	check(src, true);
	n = 0;
	for (int i = 0; i < 65; i++)
		src[n++] = '(';
	strcpy(src + n, "level == WARN");
	ERR(src, 64, "nesting deeper than 64");
	n = 0;
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(src + n, "not ");
	strcpy(src + n, "level == WARN");
	ERR(src, 256, "nesting deeper than 64");

	/* 64 KiB is the most an expression may be. */
	size_t big = 65537;
	char *s = malloc(big);
	assert_non_null(s);
	memset(s, ' ', big);
	memcpy(s, "level == WARN", 13);
	struct ttlog__expr *e;
	size_t off;
	char err[128];
	e = ttlog__expr_compile(s, big - 1, &off, err, sizeof(err));
	assert_non_null(e);
	assert_true(ttlog__expr_eval(e, &F.bv));
	ttlog__expr_free(e);
	check_err(s, big, 65536, "expression longer than 65536 bytes");
	free(s);

	/* No NUL needed, and none looked for: the length decides. */
	e = ttlog__expr_compile("level == WARNxyz", 13, &off, err, sizeof(err));
	assert_non_null(e);
	ttlog__expr_free(e);
	/* A tiny error buffer is cut, not overrun. */
	err[2] = 'Z';
	assert_null(ttlog__expr_compile("lvl", 3, &off, err, 2));
	assert_int_equal(err[1], '\0');
	assert_int_equal(err[2], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expr_comparison_operators),
		cmocka_unit_test(test_expr_precedence_and_short_circuit),
		cmocka_unit_test(test_expr_numbers_mix_i64_u64_f64),
		cmocka_unit_test(test_expr_strings_and_numbers),
		cmocka_unit_test(test_expr_missing_field_is_false),
		cmocka_unit_test(test_expr_levels),
		cmocka_unit_test(test_expr_origin_names),
		cmocka_unit_test(test_expr_field_names),
		cmocka_unit_test(test_expr_regex),
		cmocka_unit_test(test_expr_regex_bytes_and_limits),
		cmocka_unit_test(test_expr_in_lists),
		cmocka_unit_test(test_expr_compile_errors_name_byte_and_cause),
		cmocka_unit_test(test_expr_limits_nesting_and_length),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
