/* test_proc_parse.c - the parse processor (core/route/proc_parse.c) and
 * the logfmt parser (core/parse/logfmt_parse.c). */
#include "proc_test.h"

static void test_logfmt_pairs_quotes_bare_keys(void **state)
{
	const char *line = "a=1 b=\"x \\\"y\\\" z\" flag c= d=\"plain\" a=2";
	struct ttlog__scratch s = {0};
	struct ttlog__in_event ev;
	char err[128];

	(void)state;
	assert_int_equal(ttlog__scratch_reserve(&s, strlen(line) + 1), 0);
	assert_int_equal(ttlog__logfmt_parse(line, strlen(line), &ev, &s, err,
					     sizeof(err)),
			 0);
	assert_int_equal(ev.nfields, 5);
	assert_int_equal(ev.duplicate_keys, 1);
	/* a keeps its place and takes its last value. */
	assert_memory_equal(ev.fields[0].key, "a", 1);
	assert_int_equal(ev.fields[0].v.str.len, 1);
	assert_memory_equal(ev.fields[0].v.str.ptr, "2", 1);
	assert_int_equal(ev.fields[1].v.str.len, 7);
	assert_memory_equal(ev.fields[1].v.str.ptr, "x \"y\" z", 7);
	assert_int_equal(ev.fields[2].type, TTLOG_TYPE_BOOL);
	assert_int_equal(ev.fields[2].v.b, 1);
	assert_int_equal(ev.fields[3].v.str.len, 0);
	assert_memory_equal(ev.fields[4].v.str.ptr, "plain", 5);
	ttlog__scratch_destroy(&s);
}

static void test_logfmt_errors_name_the_byte(void **state)
{
	static const struct {
		const char *line, *err;
	} bad[] = {
		{"", "byte 0: empty line, expected key=value"},
		{"   ", "byte 0: empty line, expected key=value"},
		{"a=1 =2", "byte 4: expected a key before '='"},
		{"a=\"open", "byte 2: unterminated quoted value"},
		{"a=\"x\"y", "byte 5: expected a space after a quoted value"},
		{"k\"ey=1", "byte 1: '\"' inside a key"},
	};
	struct ttlog__scratch s = {0};
	struct ttlog__in_event ev;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i].line);
		ttlog__scratch_reset(&s);
		assert_int_equal(ttlog__scratch_reserve(&s, n + 1), 0);
		assert_int_equal(ttlog__logfmt_parse(bad[i].line, n, &ev, &s,
						     err, sizeof(err)),
				 -1);
		assert_string_equal(err, bad[i].err);
	}
	/* The caller must have reserved room. */
	ttlog__scratch_destroy(&s);
	assert_int_equal(
		ttlog__logfmt_parse("a=1", 3, &ev, &s, err, sizeof(err)), -1);
}

static void test_proc_parse_logfmt_types_and_replacing(void **state)
{
	struct ttlog__proc *p = proc_new(
		"{type: parse, format: logfmt, types: {status: int, t: float, "
		"ok: bool}}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "status=200 t=0.25 ok=true path=/x who=\"a b\"");
	work_str(&w, "path", "old");
	work_str(&w, "z", "1");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	assert_true(w.changed);
	/* The message stays; path is replaced in place; the rest added
	 * after the existing fields. */
	want_msg(&w, "status=200 t=0.25 ok=true path=/x who=\"a b\"");
	assert_int_equal(w.ev.nfields, 6);
	assert_memory_equal(w.ev.fields[0].key, "path", 4);
	want_str(&w, "path", "/x");
	assert_memory_equal(w.ev.fields[2].key, "status", 6);
	assert_int_equal(work_get(&w, "status")->type, TTLOG_TYPE_I64);
	assert_int_equal(work_get(&w, "status")->v.i64, 200);
	assert_int_equal(work_get(&w, "t")->type, TTLOG_TYPE_F64);
	assert_true(work_get(&w, "t")->v.f64 == 0.25);
	assert_int_equal(work_get(&w, "ok")->type, TTLOG_TYPE_BOOL);
	want_str(&w, "who", "a b");
	/* A value that is not of its type: FAILED, unchanged. */
	work_init(&w, &s, "status=ok");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	assert_int_equal(w.ev.nfields, 0);
	assert_false(w.changed);
	/* Not logfmt: FAILED, unchanged. */
	work_init(&w, &s, "=oops");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	assert_int_equal(w.ev.nfields, 0);
	want_msg(&w, "=oops");
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_parse_json_keep_original_false(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: parse, format: json, keep_original: false}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s,
		  "{\"message\":\"hi \\\"x\\\"\",\"n\":5,\"ok\":true,"
		  "\"o\":{\"a\": [1, 2]},\"level\":\"warn\"}");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "hi \"x\"");
	assert_int_equal(w.ev.nfields, 4);
	assert_int_equal(work_get(&w, "n")->type, TTLOG_TYPE_I64);
	assert_int_equal(work_get(&w, "n")->v.i64, 5);
	assert_int_equal(work_get(&w, "ok")->type, TTLOG_TYPE_BOOL);
	/* Nested values stay JSON text; reserved keys are plain fields. */
	want_str(&w, "o", "{\"a\":[1,2]}");
	want_str(&w, "level", "warn");
	assert_int_equal(w.ev.level, TTLOG_LEVEL_INFO);
	/* No msg or message member: the message becomes empty. */
	work_init(&w, &s, "{\"a\":\"b\"}");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "");
	want_str(&w, "a", "b");
	/* Not JSON: FAILED, unchanged. */
	work_init(&w, &s, "{\"a\":");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	want_msg(&w, "{\"a\":");
	assert_int_equal(w.ev.nfields, 0);
	work_init(&w, &s, "[1]");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_parse_json_from_field_in_scratch(void **state)
{
	struct ttlog__proc *red = proc_new(
		"{type: redact, pattern: 'secret', replace: 'hidden-value', "
		"in: [body]}");
	struct ttlog__proc *p = proc_new(
		"{type: parse, format: json, from: body, keep_original: "
		"false}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	/* body is rewritten into the scratch first, then parsed from it
	 * while the scratch grows. */
	work_init(&w, &s, "m");
	work_str(&w, "body", "{\"k\":\"secret\",\"msg\":\"inner\"}");
	assert_int_equal(ttlog__proc_apply(red, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "m");
	assert_null(work_get(&w, "body"));
	want_str(&w, "k", "hidden-value");
	want_str(&w, "msg", "inner");
	/* No such field: FAILED. */
	work_init(&w, &s, "m");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	ttlog__proc_free(p);
	ttlog__proc_free(red);
	ttlog__scratch_destroy(&s);
}

static void test_proc_parse_regex_named_groups(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: parse, format: regex, pattern: "
			 "'^(?<method>[A-Z]+) (?<path>\\S+) (?<code>\\d+)(?: "
			 "(?<extra>.*))?$', types: {code: int}}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "GET /a 404");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_str(&w, "method", "GET");
	want_str(&w, "path", "/a");
	assert_int_equal(work_get(&w, "code")->v.i64, 404);
	/* A group that did not take part adds no field. */
	assert_null(work_get(&w, "extra"));
	assert_int_equal(w.ev.nfields, 3);
	want_msg(&w, "GET /a 404");
	work_init(&w, &s, "nothing like it");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	assert_int_equal(w.ev.nfields, 0);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_parse_option_errors(void **state)
{
	(void)state;
	proc_err("{type: parse}", "t.yaml:1:1: processors[0]: missing key "
				  "'format' (json, logfmt or regex)");
	proc_err("{type: parse, format: jsno}",
		 "t.yaml:1:23: processors[0].format: unknown format 'jsno' "
		 "(did you mean 'json'?); expected json, logfmt or regex");
	proc_err("{type: parse, format: regex}",
		 "t.yaml:1:1: processors[0]: missing key 'pattern' (a PCRE2 "
		 "regular expression)");
	proc_err("{type: parse, format: regex, pattern: '(x'}",
		 "t.yaml:1:39: processors[0].pattern: invalid regular "
		 "expression at offset 2: missing closing parenthesis");
	proc_err("{type: parse, format: regex, pattern: 'x(y)'}",
		 "t.yaml:1:39: processors[0].pattern: has no named group such "
		 "as (?<name>...); each named group becomes a field");
	proc_err("{type: parse, format: json, pattern: x}",
		 "t.yaml:1:38: processors[0].pattern: only for format: regex");
	proc_err("{type: parse, format: json, keep_original: maybe}",
		 "t.yaml:1:44: processors[0].keep_original: expected true or "
		 "false");
	proc_err("{type: parse, format: json, types: {a: integer}}",
		 "t.yaml:1:40: processors[0].types: type of 'a': expected "
		 "int, float or bool");
	/* Two problems, both reported. */
	struct ttlog__diag d = {0};
	const char *two = "{type: parse, format: regex, pattern: 'a(', x: 1}";
	struct ttlog__cfg_doc *doc =
		ttlog__cfg_load_string("t.yaml", two, strlen(two), &d);
	assert_null(ttlog__proc_compile(ttlog__cfg_root(doc), "p", &d));
	assert_int_equal(d.n, 2);
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
	proc_err("{type: parse, format: json, form: x}",
		 "t.yaml:1:29: processors[0]: unknown key 'form' (did you "
		 "mean 'from'?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logfmt_pairs_quotes_bare_keys),
		cmocka_unit_test(test_logfmt_errors_name_the_byte),
		cmocka_unit_test(test_proc_parse_logfmt_types_and_replacing),
		cmocka_unit_test(test_proc_parse_json_keep_original_false),
		cmocka_unit_test(test_proc_parse_json_from_field_in_scratch),
		cmocka_unit_test(test_proc_parse_regex_named_groups),
		cmocka_unit_test(test_proc_parse_option_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
