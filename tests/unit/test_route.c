/*
 * test_route.c - the routing runner (core/route/route.c, route_config.c):
 * match: per listener with its level, `else`, global and per-listener
 * processors on real batches, what is copied and what is shared, the
 * counters, and errors placed inside the expression.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch_internal.h"
#include "config_internal.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "route.h"

/* A routing for the listeners of yaml: a map with an optional top-level
 * `processors:` and `listeners:`, each listener a map with match: and
 * processors: (nothing else is read). err gets the first error. */
static struct ttlog__routing *routing_try(const char *yaml, char *err,
					  size_t errlen)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc =
		ttlog__cfg_load_string("r.yaml", yaml, strlen(yaml), &d);
	const struct ttlog__cfg_node *root, *ls, *procs;
	struct ttlog__routing *r;
	int bad = 0;

	assert_non_null(doc);
	root = ttlog__cfg_root(doc);
	ls = ttlog__cfg_get(root, "listeners");
	r = ttlog__routing_new(ls != NULL ? ls->n : 0);
	assert_non_null(r);
	procs = ttlog__cfg_get(root, "processors");
	if (procs != NULL)
		bad |= ttlog__routing_set_processors(r, SIZE_MAX, "global",
						     procs, "processors", &d);
	for (size_t i = 0; ls != NULL && i < ls->n; i++) {
		const struct ttlog__cfg_node *m =
			ttlog__cfg_get(ls->vals[i], "match");
		const struct ttlog__cfg_node *p =
			ttlog__cfg_get(ls->vals[i], "processors");
		char scope[32];
		snprintf(scope, sizeof(scope), "l%zu", i);
		if (m != NULL)
			bad |= ttlog__routing_set_match(r, i, m, "match", &d);
		if (p != NULL)
			bad |= ttlog__routing_set_processors(r, i, scope, p,
							     "processors", &d);
	}
	ttlog__routing_done(r);
	if (err != NULL)
		snprintf(err, errlen, "%s", d.n ? d.msgs[0] : "");
	assert_true(bad ? d.n > 0 : d.n == 0);
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
	if (bad) {
		ttlog__routing_free(r);
		return NULL;
	}
	return r;
}

static struct ttlog__routing *routing(const char *yaml)
{
	char err[512];
	struct ttlog__routing *r = routing_try(yaml, err, sizeof(err));

	if (r == NULL)
		fail_msg("%s", err);
	return r;
}

/* Events: i = 0..n-1, service "svc<i % 3>", level i % 6, message
 * "event <i> password=s3cret", field n = i. */
static struct ttlog_batch *batch_of(size_t n)
{
	struct ttlog_batch *b = ttlog__batch_new(n, 1 << 16, 1);
	struct ttlog__origin *o[3];

	assert_non_null(b);
	for (int k = 0; k < 3; k++) {
		char svc[8];
		snprintf(svc, sizeof(svc), "svc%d", k);
		o[k] = ttlog__origin_make("h", svc, "in", "1.2.3.4:5", NULL,
					  NULL);
		assert_non_null(o[k]);
	}
	for (size_t i = 0; i < n; i++) {
		struct ttlog__in_event ev;
		char msg[64];
		memset(&ev, 0, offsetof(struct ttlog__in_event, fields));
		snprintf(msg, sizeof(msg), "event %zu password=s3cret", i);
		ev.time_ns = 1700000000000000000ull + i;
		ev.origin = o[i % 3];
		ev.level = (int)(i % 6);
		ev.msg = msg;
		ev.msg_len = strlen(msg);
		ev.msg_varies = 1;
		ev.source = "test";
		ev.nfields = 1;
		ev.fields[0].key = "n";
		ev.fields[0].key_len = 1;
		ev.fields[0].type = TTLOG_TYPE_U64;
		ev.fields[0].v.u64 = i;
		assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 0, 4096), 0);
	}
	for (int k = 0; k < 3; k++)
		ttlog__origin_unref(o[k]); /* the batch holds them */
	return b;
}

/* Field n of every event of b, as a string "0,3,6". */
static void ns_of(struct ttlog_batch *b, char *out, size_t cap)
{
	size_t at = 0;

	out[0] = 0;
	for (size_t i = 0; b != NULL && i < ttlog_batch_count(b); i++) {
		struct ttlog_event e;
		struct ttlog_field_iter it;
		struct ttlog_field f;
		assert_int_equal(ttlog_batch_event(b, i, &e), 0);
		ttlog_field_iter_init(&it, &e);
		while (ttlog_field_next(&it, &f))
			if (strcmp(f.key, "n") == 0)
				at += (size_t)snprintf(
					out + at, cap - at, "%s%llu",
					at ? "," : "",
					(unsigned long long)f.v.u64);
	}
}

static void expect(struct ttlog_batch *b, const char *want)
{
	char got[512];

	ns_of(b, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_match_and_level_per_listener_and_else(void **s)
{
	(void)s;
	struct ttlog__routing *r =
		routing("listeners:\n"
			"  - {match: 'service == \"svc0\"'}\n"
			"  - {match: 'fields.n >= 7'}\n"
			"  - {match: else}\n"
			"  - {}\n");
	struct ttlog_batch *b = batch_of(9), *lb;
	int oom;

	assert_true(ttlog__routing_active(r));
	assert_int_equal(ttlog__routing_prepare(r, b), 0);
	lb = ttlog__routing_select(r, 0, b, TTLOG_LEVEL_TRACE, &oom);
	expect(lb, "0,3,6");
	ttlog_batch_unref(lb);
	/* Its own level on top of its match. */
	lb = ttlog__routing_select(r, 0, b, TTLOG_LEVEL_INFO, &oom);
	expect(lb, "3");
	ttlog_batch_unref(lb);
	lb = ttlog__routing_select(r, 1, b, TTLOG_LEVEL_TRACE, &oom);
	expect(lb, "7,8");
	ttlog_batch_unref(lb);
	/* else: what neither match took. */
	lb = ttlog__routing_select(r, 2, b, TTLOG_LEVEL_TRACE, &oom);
	expect(lb, "1,2,4,5");
	ttlog_batch_unref(lb);
	/* No match: everything, the same batch, not a copy. */
	lb = ttlog__routing_select(r, 3, b, TTLOG_LEVEL_TRACE, &oom);
	assert_ptr_equal(lb, b);
	ttlog_batch_unref(lb);
	/* A listener that takes everything: nothing is unrouted. */
	assert_int_equal(ttlog__routing_unrouted(r), 0);
	ttlog_batch_unref(b);
	ttlog__routing_free(r);
}

static void test_events_no_listener_took_are_counted(void **s)
{
	(void)s;
	struct ttlog__routing *r =
		routing("listeners:\n"
			"  - {match: 'service == \"svc1\"'}\n"
			"  - {match: 'level == FATAL'}\n");
	struct ttlog_batch *b = batch_of(12), *lb;
	int oom;

	assert_int_equal(ttlog__routing_prepare(r, b), 0);
	lb = ttlog__routing_select(r, 0, b, TTLOG_LEVEL_TRACE, &oom);
	expect(lb, "1,4,7,10");
	ttlog_batch_unref(lb);
	/* 1,4,7,10 and 5,11 (FATAL) are taken: 6 of 12 went nowhere. */
	assert_int_equal(ttlog__routing_unrouted(r), 6);
	ttlog_batch_unref(b);
	ttlog__routing_free(r);
}

static void test_global_processors_drop_and_change(void **s)
{
	(void)s;
	struct ttlog__routing *r = routing(
		"processors:\n"
		"  - {type: drop, name: quiet, match: 'service == \"svc2\" "
		"and level <= DEBUG'}\n"
		"  - {type: redact, pattern: 'password=\\S+', replace: "
		"'password=***'}\n"
		"listeners:\n"
		"  - {}\n");
	struct ttlog_batch *b = batch_of(12), *nb;
	struct ttlog__proc_stat st[4];
	struct ttlog_event e;
	int oom;

	ttlog_batch_ref(b);
	nb = ttlog__routing_global(r, b, &oom);
	assert_non_null(nb);
	assert_ptr_not_equal(nb, b);
	/* svc2 is 2, 5, 8, 11 at levels 2, 5, 2, 5: none DEBUG or below.
	 * Levels: i % 6, so svc2 at DEBUG never happens; 12 stay. */
	expect(nb, "0,1,2,3,4,5,6,7,8,9,10,11");
	for (size_t i = 0; i < ttlog_batch_count(nb); i++) {
		assert_int_equal(ttlog_batch_event(nb, i, &e), 0);
		assert_null(strstr(e.msg, "s3cret"));
		assert_non_null(strstr(e.msg, "password=***"));
		/* The origin stays the event's. */
		assert_string_equal(ttlog_batch_origin(nb, i)->service,
				    i % 3 == 0	 ? "svc0"
				    : i % 3 == 1 ? "svc1"
						 : "svc2");
	}
	assert_int_equal(ttlog__routing_stats(r, st, 4), 2);
	assert_string_equal(st[0].name, "quiet");
	assert_int_equal(st[0].in, 0);
	assert_string_equal(st[1].name, "redact#1");
	assert_int_equal(st[1].in, 12);
	assert_int_equal(st[1].dropped, 0);
	ttlog_batch_unref(nb);
	ttlog_batch_unref(b);
	ttlog__routing_free(r);
}

static void test_drop_counts_and_unchanged_batches_are_not_copied(void **s)
{
	(void)s;
	struct ttlog__routing *r =
		routing("processors:\n"
			"  - {type: drop, match: 'service == \"svc0\" and "
			"level <= INFO'}\n"
			"listeners:\n"
			"  - {}\n");
	struct ttlog_batch *b = batch_of(12), *nb;
	struct ttlog__proc_stat st;
	int oom;

	ttlog_batch_ref(b);
	nb = ttlog__routing_global(r, b, &oom);
	/* svc0: 0 (TRACE), 3 (WARN), 6 (TRACE), 9 (WARN): 0 and 6 go. */
	expect(nb, "1,2,3,4,5,7,8,9,10,11");
	assert_int_equal(ttlog__routing_stats(r, &st, 1), 1);
	assert_int_equal(st.in, 2);
	assert_int_equal(st.dropped, 2);
	ttlog_batch_unref(nb);
	ttlog_batch_unref(b);

	ttlog__routing_free(r);

	/* Nothing to drop: the batch itself comes back, not a copy. */
	r = routing("processors:\n"
		    "  - {type: drop, match: 'fields.n > 100'}\n"
		    "listeners:\n"
		    "  - {}\n");
	b = batch_of(12);
	ttlog_batch_ref(b);
	nb = ttlog__routing_global(r, b, &oom);
	assert_ptr_equal(nb, b);
	ttlog_batch_unref(nb);
	ttlog_batch_unref(b);
	ttlog__routing_free(r);
}

static void test_listener_processors_change_only_its_copy(void **s)
{
	(void)s;
	struct ttlog__routing *r =
		routing("listeners:\n"
			"  - {match: 'fields.n < 3', processors: [{type: "
			"redact, pattern: 's3cret'}, {type: drop, match: "
			"'fields.n == 1'}]}\n"
			"  - {match: 'fields.n < 3'}\n");
	struct ttlog_batch *b = batch_of(6), *l0, *l1;
	struct ttlog_event e;
	int oom;

	assert_int_equal(ttlog__routing_prepare(r, b), 0);
	l0 = ttlog__routing_select(r, 0, b, TTLOG_LEVEL_TRACE, &oom);
	l1 = ttlog__routing_select(r, 1, b, TTLOG_LEVEL_TRACE, &oom);
	expect(l0, "0,2");
	expect(l1, "0,1,2");
	assert_int_equal(ttlog_batch_event(l0, 0, &e), 0);
	assert_string_equal(e.msg, "event 0 password=***");
	assert_int_equal(ttlog_batch_event(l1, 0, &e), 0);
	assert_string_equal(e.msg, "event 0 password=s3cret");
	assert_int_equal(ttlog_batch_event(b, 0, &e), 0);
	assert_string_equal(e.msg, "event 0 password=s3cret");
	ttlog_batch_unref(l0);
	ttlog_batch_unref(l1);
	ttlog_batch_unref(b);
	ttlog__routing_free(r);
}

static void test_everything_dropped_gives_no_batch(void **s)
{
	(void)s;
	struct ttlog__routing *r = routing("processors:\n"
					   "  - {type: drop}\n"
					   "listeners:\n"
					   "  - {}\n");
	struct ttlog_batch *b = batch_of(5);
	int oom;

	assert_null(ttlog__routing_global(r, b, &oom));
	assert_int_equal(oom, 0);
	ttlog__routing_free(r);
}

static void test_errors_point_inside_the_expression(void **s)
{
	(void)s;
	char err[512];

	/* The quote is column 13, the expression starts at 14 and the
	 * second '=' is 9 bytes into it: line 2, column 23. */
	assert_null(routing_try("listeners:\n"
				"  - {match: 'level >= = WARN'}\n",
				err, sizeof(err)));
	assert_non_null(strstr(err, "r.yaml:2:23: match: "));
	assert_null(routing_try("listeners:\n"
				"  - match: fields.x =~ \"(\"\n",
				err, sizeof(err)));
	assert_non_null(strstr(err, "r.yaml:2:"));
	/* A processor's match, and two processors of one name. */
	assert_null(routing_try("processors:\n"
				"  - {type: drop, match: 'lvl > 1'}\n"
				"listeners: []\n",
				err, sizeof(err)));
	assert_non_null(strstr(err, "processors[0].match"));
	assert_null(routing_try("processors:\n"
				"  - {type: drop, name: a}\n"
				"  - {type: drop, name: a}\n"
				"listeners: []\n",
				err, sizeof(err)));
	assert_non_null(strstr(err, "already in this list"));
}

static void test_reload_adopts_the_counts_of_the_same_processor(void **s)
{
	(void)s;
	const char *yaml = "processors:\n"
			   "  - {type: drop, name: d, match: 'fields.n == 1'}\n"
			   "listeners:\n"
			   "  - {}\n";
	struct ttlog__routing *r = routing(yaml), *r2 = routing(yaml);
	struct ttlog_batch *b = batch_of(3), *nb;
	struct ttlog__proc_stat st;
	int oom;

	nb = ttlog__routing_global(r, b, &oom);
	ttlog_batch_unref(nb);
	ttlog__routing_adopt(r2, r);
	assert_int_equal(ttlog__routing_stats(r2, &st, 1), 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.in, 1);
	ttlog__routing_free(r);
	ttlog__routing_free(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_and_level_per_listener_and_else),
		cmocka_unit_test(test_events_no_listener_took_are_counted),
		cmocka_unit_test(test_global_processors_drop_and_change),
		cmocka_unit_test(
			test_drop_counts_and_unchanged_batches_are_not_copied),
		cmocka_unit_test(test_listener_processors_change_only_its_copy),
		cmocka_unit_test(test_everything_dropped_gives_no_batch),
		cmocka_unit_test(test_errors_point_inside_the_expression),
		cmocka_unit_test(
			test_reload_adopts_the_counts_of_the_same_processor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
