/* test_template.c - route templates (core/route/template.c), the public
 * template API (template_api.c), the work scratch (work.c) and the set
 * processor (proc_set.c), whose functions are called directly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/template.h>

#include "batch_internal.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "proc_impl.h"
#include "template.h"
#include "testutil.h"
#include "parse_internal.h"
#include "work.h"

/* 2026-03-05T07:08:09Z, day 64 of the year. */
#define T0 1772694489000000000ull

static struct ttlog__origin *orig;

static int setup(void **state)
{
	(void)state;
	orig = ttlog__origin_make("db1", "shop", "syslog", "10.0.0.1:514",
				  "CN=x", "");
	return orig == NULL;
}

static int teardown(void **state)
{
	(void)state;
	ttlog__origin_unref(orig);
	return 0;
}

static void event(struct ttlog__in_event *ev, const char *msg)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = T0;
	ev->origin = orig;
	ev->level = TTLOG_LEVEL_WARN;
	ev->msg = msg;
	ev->msg_len = strlen(msg);
	ev->msg_varies = 1;
	ev->source = "test";
}

static void add_str(struct ttlog__in_event *ev, const char *k, const char *v)
{
	struct ttlog__in_field *f = &ev->fields[ev->nfields++];
	f->key = k;
	f->key_len = strlen(k);
	f->type = TTLOG_TYPE_STR;
	f->v.str.ptr = v;
	f->v.str.len = strlen(v);
}

static void add_num(struct ttlog__in_event *ev, const char *k,
		    enum ttlog_type t, uint64_t bits)
{
	struct ttlog__in_field *f = &ev->fields[ev->nfields++];
	f->key = k;
	f->key_len = strlen(k);
	f->type = t;
	f->v.u64 = bits;
}

/* Expands src for ev (a work view) into a static string. */
static const char *expand(const char *src, unsigned flags,
			  const struct ttlog__in_event *ev)
{
	static char out[1024];
	struct ttlog__buf b = {0};
	struct ttlog__view v;
	size_t off = 99;
	char err[128];
	struct ttlog__tmpl *t = ttlog__tmpl_compile(src, strlen(src), flags,
						    &off, err, sizeof(err));

	assert_non_null(t);
	ttlog__view_work(&v, ev, &orig->pub);
	assert_int_equal(ttlog__tmpl_expand(t, &v, &b), 0);
	assert_true(b.len < sizeof(out));
	memcpy(out, b.p, b.len);
	out[b.len] = 0;
	ttlog__buf_free(&b);
	ttlog__tmpl_free(t);
	return out;
}

static void test_tmpl_names_and_values(void **state)
{
	struct ttlog__in_event ev;
	double d = 0.1;
	uint64_t bits;
	(void)state;

	event(&ev, "disk full");
	add_str(&ev, "user", "ann");
	add_num(&ev, "n", TTLOG_TYPE_I64, (uint64_t)(int64_t)-42);
	add_num(&ev, "u", TTLOG_TYPE_U64, UINT64_MAX);
	memcpy(&bits, &d, 8);
	add_num(&ev, "d", TTLOG_TYPE_F64, bits);
	add_num(&ev, "ok", TTLOG_TYPE_BOOL, 1);
	assert_string_equal(
		expand("${host}/${service}/${input}/${peer}/"
		       "${peer_id}/${relay}/${level}/${msg}",
		       0, &ev),
		"db1/shop/syslog/10.0.0.1:514/CN=x//WARN/disk full");
	assert_string_equal(
		expand("${fields.user} ${user} ${n} ${u} ${d} ${ok} "
		       "[${missing}]",
		       0, &ev),
		"ann ann -42 18446744073709551615 0.1 true []");
	assert_string_equal(expand("$$5 $x %Y", 0, &ev), "$5 $x %Y");
	assert_string_equal(
		expand("%Y-%m-%d %H:%M:%S %j %%", TTLOG__TMPL_DATE, &ev),
		"2026-03-05 07:08:09 064 %");
}

static void test_tmpl_path_values_stay_one_component(void **state)
{
	struct ttlog__in_event ev;
	char big[400];
	(void)state;

	event(&ev, "m");
	add_str(&ev, "a", "../../etc");
	add_str(&ev, "b", "");
	add_str(&ev, "c", "x\ny");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	add_str(&ev, "big", big);
	assert_string_equal(
		expand("/logs/${a}/${b}/${c}.log", TTLOG__TMPL_PATH, &ev),
		"/logs/_._.._etc/_/x_y.log");
	assert_int_equal(strlen(expand("${big}", TTLOG__TMPL_PATH, &ev)), 255);
	/* Without the flag the value is as it is. */
	assert_string_equal(expand("${a}", 0, &ev), "../../etc");
}

static void compile_fails(const char *src, unsigned flags, size_t want_off,
			  const char *want)
{
	size_t off = 999;
	char err[128] = "";

	assert_null(ttlog__tmpl_compile(src, strlen(src), flags, &off, err,
					sizeof(err)));
	assert_int_equal(off, want_off);
	assert_non_null(strstr(err, want));
}

static void test_tmpl_errors_with_offsets(void **state)
{
	struct ttlog__tmpl *t;
	(void)state;

	compile_fails("abc${host", 0, 3, "unterminated");
	compile_fails("ab${}", 0, 4, "empty name");
	compile_fails("${fields.}", 0, 2, "empty name");
	compile_fails("x/%Y/%q", TTLOG__TMPL_DATE, 5, "unknown date pattern");
	compile_fails("x%", TTLOG__TMPL_DATE, 1, "unknown date pattern");
	t = ttlog__tmpl_compile("a$$b%q", 6, 0, NULL, NULL, 0);
	assert_non_null(t);
	assert_true(ttlog__tmpl_is_constant(t));
	ttlog__tmpl_free(t);
	t = ttlog__tmpl_compile("%Y", 2, TTLOG__TMPL_DATE, NULL, NULL, 0);
	assert_false(ttlog__tmpl_is_constant(t));
	ttlog__tmpl_free(t);
}

static void test_public_api_snprintf_like(void **state)
{
	struct ttlog_template *t = NULL;
	struct ttlog__in_event ev;
	struct ttlog_batch *b = ttlog__batch_new(16, 4096, 1);
	char out[8], err[64];
	(void)state;

	event(&ev, "hello");
	add_str(&ev, "user", "../x");
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	assert_int_equal(ttlog_template_compile("${service}/${user}/%d",
						TTLOG_TEMPLATE_PATH |
							TTLOG_TEMPLATE_DATE,
						&t, err, sizeof(err)),
			 0);
	assert_false(ttlog_template_is_constant(t));
	/* "shop/_._x/05" is 12 bytes: cut to 7 and NUL-terminated. */
	assert_int_equal(ttlog_template_expand(t, b, 0, out, sizeof(out)), 12);
	assert_string_equal(out, "shop/_.");
	assert_int_equal(ttlog_template_expand(t, b, 0, NULL, 0), 12);
	assert_int_equal(ttlog_template_expand(t, b, 1, out, sizeof(out)),
			 TTLOG_EINVAL);
	ttlog_template_free(t);
	assert_int_equal(
		ttlog_template_compile("a/${x", 0, &t, err, sizeof(err)),
		TTLOG_EINVAL);
	assert_null(t);
	assert_string_equal(err, "column 3: unterminated ${ (no closing })");
	ttlog_batch_unref(b);
}

/* ---- the work scratch ---- */

static void test_work_scratch_repoints_event(void **state)
{
	struct ttlog__scratch s = {0};
	struct ttlog__work w = {.origin = &orig->pub, .s = &s};
	const char *a, *k, *m;
	(void)state;

	event(&w.ev, "x");
	assert_int_equal(ttlog__work_scratch_reserve(&w, 4), 0);
	m = ttlog__work_scratch_put(&w, "new message", 11);
	k = ttlog__work_scratch_put(&w, "key", 3);
	a = ttlog__work_scratch_put(&w, "value", 5);
	w.ev.msg = m;
	w.ev.msg_len = 11;
	add_str(&w.ev, "key", "value");
	w.ev.fields[0].key = k;
	w.ev.fields[0].v.str.ptr = a;
	/* Enough to move the block, copying from inside it as well. */
	for (int i = 0; i < 200; i++)
		assert_non_null(ttlog__work_scratch_put(&w, w.ev.msg, 11));
	assert_true(w.ev.msg >= s.p && w.ev.msg < s.p + s.len);
	assert_memory_equal(w.ev.msg, "new message", 11);
	assert_memory_equal(w.ev.fields[0].key, "key", 3);
	assert_memory_equal(w.ev.fields[0].v.str.ptr, "value", 5);
	ttlog__scratch_destroy(&s);
}

/* ---- the set processor ---- */

static void *set_compile_yaml(const char *yaml, struct ttlog__diag *d)
{
	struct ttlog__cfg_doc *doc =
		ttlog__cfg_load_string("t.yaml", yaml, strlen(yaml), d);
	void *st;

	for (size_t i = 0; doc == NULL && i < d->n; i++)
		print_message("%s\n", d->msgs[i]);
	assert_non_null(doc);
	st = ttlog__proc_set.compile(ttlog__cfg_root(doc), "processors[0]", d);
	ttlog__cfg_free(doc);
	return st;
}

static void test_set_sets_and_overwrites(void **state)
{
	struct ttlog__diag d = {0};
	struct ttlog__scratch s = {0};
	struct ttlog__work w = {.origin = &orig->pub, .s = &s};
	void *st =
		set_compile_yaml("type: set\nfield: route\n"
				 "value: \"$${service}-$${level}-$${user}\"\n",
				 &d);
	(void)state;

	assert_int_equal(d.n, 0);
	assert_non_null(st);
	event(&w.ev, "m");
	add_str(&w.ev, "user", "ann");
	assert_int_equal(ttlog__proc_set.apply(st, &w, 0), TTLOG__PROC_KEEP);
	assert_true(w.changed);
	assert_int_equal(w.ev.nfields, 2);
	assert_memory_equal(w.ev.fields[1].key, "route", 5);
	assert_int_equal(w.ev.fields[1].v.str.len, 13);
	assert_memory_equal(w.ev.fields[1].v.str.ptr, "shop-WARN-ann", 13);
	/* Again: the same field is overwritten, not added. */
	w.changed = 0;
	assert_int_equal(ttlog__proc_set.apply(st, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(w.ev.nfields, 2);
	assert_true(w.changed);
	/* A full event takes no new field. */
	event(&w.ev, "m");
	w.ev.nfields = TTLOG__IN_MAX_FIELDS;
	for (int i = 0; i < TTLOG__IN_MAX_FIELDS; i++) {
		w.ev.fields[i].key = "k";
		w.ev.fields[i].key_len = 1;
		w.ev.fields[i].type = TTLOG_TYPE_BOOL;
	}
	assert_int_equal(ttlog__proc_set.apply(st, &w, 0), TTLOG__PROC_FAILED);
	assert_int_equal(w.ev.nfields, TTLOG__IN_MAX_FIELDS);
	ttlog__proc_set.free(st);
	ttlog__scratch_destroy(&s);
	ttlog__diag_free(&d);
}

static void test_set_converts_or_fails(void **state)
{
	struct ttlog__diag d = {0};
	struct ttlog__scratch s = {0};
	struct ttlog__work w = {.origin = &orig->pub, .s = &s};
	void *si = set_compile_yaml("field: n\nvalue: '$${v}'\nas: int\n", &d);
	void *sf =
		set_compile_yaml("field: n\nvalue: '$${v}'\nas: float\n", &d);
	void *sb = set_compile_yaml("field: n\nvalue: '$${v}'\nas: bool\n", &d);
	(void)state;

	assert_int_equal(d.n, 0);
	event(&w.ev, "m");
	add_str(&w.ev, "v", "-17");
	assert_int_equal(ttlog__proc_set.apply(si, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(w.ev.fields[1].type, TTLOG_TYPE_I64);
	assert_int_equal(w.ev.fields[1].v.i64, -17);
	assert_int_equal(ttlog__proc_set.apply(sf, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(w.ev.fields[1].type, TTLOG_TYPE_F64);
	assert_true(w.ev.fields[1].v.f64 == -17.0);
	assert_int_equal(ttlog__proc_set.apply(sb, &w, 0), TTLOG__PROC_FAILED);
	w.ev.fields[0].v.str.ptr = "false";
	w.ev.fields[0].v.str.len = 5;
	assert_int_equal(ttlog__proc_set.apply(sb, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(w.ev.fields[1].type, TTLOG_TYPE_BOOL);
	assert_false(w.ev.fields[1].v.b);
	w.ev.fields[0].v.str.ptr = "12x";
	w.ev.fields[0].v.str.len = 3;
	w.changed = 0;
	assert_int_equal(ttlog__proc_set.apply(si, &w, 0), TTLOG__PROC_FAILED);
	assert_int_equal(ttlog__proc_set.apply(sf, &w, 0), TTLOG__PROC_FAILED);
	assert_false(w.changed);
	ttlog__proc_set.free(si);
	ttlog__proc_set.free(sf);
	ttlog__proc_set.free(sb);
	ttlog__scratch_destroy(&s);
	ttlog__diag_free(&d);
}

static void test_set_errors_name_place(void **state)
{
	struct ttlog__diag d = {0};
	(void)state;

	assert_null(
		set_compile_yaml("field: x\nvalue: \"$${a}$${host\"\n", &d));
	assert_int_equal(d.n, 1);
	/* The scalar starts at column 8, its text at 9; "$${host" at 14. */
	assert_non_null(strstr(d.msgs[0], "t.yaml:2:14: processors[0]: value: "
					  "unterminated"));
	ttlog__diag_free(&d);
	memset(&d, 0, sizeof(d));
	assert_null(set_compile_yaml("feild: x\nvalue: y\nas: long\n", &d));
	assert_int_equal(d.n, 3);
	assert_non_null(strstr(d.msgs[0], "did you mean \"field\""));
	assert_non_null(strstr(d.msgs[1], "`field` is required"));
	assert_non_null(strstr(d.msgs[2], "t.yaml:3:5: processors[0]: as:"));
	ttlog__diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmpl_names_and_values),
		cmocka_unit_test(test_tmpl_path_values_stay_one_component),
		cmocka_unit_test(test_tmpl_errors_with_offsets),
		cmocka_unit_test(test_public_api_snprintf_like),
		cmocka_unit_test(test_work_scratch_repoints_event),
		cmocka_unit_test(test_set_sets_and_overwrites),
		cmocka_unit_test(test_set_converts_or_fails),
		cmocka_unit_test(test_set_errors_name_place),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
