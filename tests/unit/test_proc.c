/* test_proc.c - the processors (core/route/proc*.c) but parse
 * (test_proc_parse.c): the dispatcher, remove, rename, redact, sample,
 * throttle and drop, each compiled from YAML and applied to work events,
 * and every option error with its place. */
#include "proc_test.h"

static void test_proc_type_required_and_suggested(void **state)
{
	(void)state;
	proc_err("{fields: [a]}",
		 "t.yaml:1:1: processors[0]: missing key 'type' (one of: "
		 "set, remove, rename, redact, parse, sample, throttle, drop)");
	proc_err("{type: redcat, pattern: x}",
		 "t.yaml:1:8: processors[0].type: unknown processor type "
		 "'redcat' (did you mean 'redact'?); types: set, remove, "
		 "rename, "
		 "redact, parse, sample, throttle, drop");
	proc_err("{type: zzzzzz}",
		 "t.yaml:1:8: processors[0].type: unknown processor type "
		 "'zzzzzz'; types: set, remove, rename, redact, parse, sample, "
		 "throttle, drop");
	proc_err("[drop]", "t.yaml:1:1: processors[0]: expected a map such "
			   "as {type: drop}");
}

static void test_proc_unknown_key_suggested_runner_keys_ignored(void **state)
{
	struct ttlog__proc *p;

	(void)state;
	proc_err("{type: redact, patern: x}",
		 "t.yaml:1:16: processors[0]: unknown key 'patern' (did you "
		 "mean 'pattern'?)");
	proc_err("{type: drop, rate: 1}",
		 "t.yaml:1:14: processors[0]: unknown key 'rate'");
	p = proc_new("{type: drop, match: 'level >= INFO', name: d}");
	assert_string_equal(ttlog__proc_type(p), "drop");
	ttlog__proc_free(p);
}

static void test_proc_remove_every_occurrence(void **state)
{
	struct ttlog__proc *p = proc_new("{type: remove, fields: [a, c]}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "m");
	work_str(&w, "a", "1");
	work_str(&w, "b", "2");
	work_str(&w, "a", "3");
	work_str(&w, "c", "4");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(w.ev.nfields, 1);
	want_str(&w, "b", "2");
	assert_true(w.changed);
	/* Nothing to remove: not changed. */
	w.changed = 0;
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	assert_false(w.changed);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
	proc_err("{type: remove}", "t.yaml:1:1: processors[0]: missing key "
				   "'fields' (a list of field names)");
	proc_err("{type: remove, fields: a}",
		 "t.yaml:1:24: processors[0].fields: expected a non-empty "
		 "list such as [a, b]");
	proc_err("{type: remove, fields: [a, '']}",
		 "t.yaml:1:28: processors[0].fields: expected a non-empty "
		 "name in the list");
}

static void test_proc_rename_replaces_existing_key(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: rename, fields: {a: b, x: y}}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "m");
	work_str(&w, "b", "old b");
	work_str(&w, "a", "A");
	work_str(&w, "z", "Z");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	assert_int_equal(w.ev.nfields, 2);
	assert_int_equal(w.ev.fields[0].key_len, 1);
	assert_memory_equal(w.ev.fields[0].key, "b", 1);
	want_str(&w, "b", "A");
	want_str(&w, "z", "Z");
	assert_null(work_get(&w, "a"));
	assert_true(w.changed);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
	proc_err("{type: rename, fields: [a]}",
		 "t.yaml:1:24: processors[0].fields: expected a non-empty map "
		 "such as {old: new}");
	proc_err("{type: rename, fields: {a: [b]}}",
		 "t.yaml:1:28: processors[0].fields: expected a non-empty new "
		 "name for 'a'");
}

static void test_proc_redact_every_match_msg_and_fields(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: redact, pattern: 'pw=\\S+', replace: 'pw=#', "
			 "in: [msg, q]}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "login pw=abc ok pw=de pw=f");
	work_str(&w, "q", "pw=1 x");
	work_str(&w, "r", "pw=2");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "login pw=# ok pw=# pw=#");
	want_str(&w, "q", "pw=# x");
	want_str(&w, "r", "pw=2");
	assert_true(w.changed);
	ttlog__proc_free(p);
	/* Default: the message only, "***". */
	p = proc_new("{type: redact, pattern: '\\d{4}'}");
	work_init(&w, &s, "card 1234 5678 9");
	work_str(&w, "q", "1234");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "card *** *** 9");
	want_str(&w, "q", "1234");
	/* No match: unchanged. */
	work_init(&w, &s, "nothing");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	assert_false(w.changed);
	want_msg(&w, "nothing");
	ttlog__proc_free(p);
	/* "*": the message and every string field, whatever its name. */
	p = proc_new("{type: redact, pattern: 'pw=\\S+', in: ['*']}");
	work_init(&w, &s, "a pw=1");
	work_str(&w, "q", "pw=2 b");
	work_str(&w, "anything", "c pw=3");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "a ***");
	want_str(&w, "q", "*** b");
	want_str(&w, "anything", "c ***");
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_redact_empty_and_overlapping_matches_end(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: redact, pattern: 'x*', replace: '-'}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "axxb");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "-a--b-");
	work_init(&w, &s, "");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "-");
	ttlog__proc_free(p);
	/* Matches do not overlap: "aaa" holds one "aa" then an "a". */
	p = proc_new("{type: redact, pattern: 'aa', replace: 'X'}");
	work_init(&w, &s, "aaa");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, "Xa");
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_redact_scratch_growth_moves_strings(void **state)
{
	struct ttlog__proc *p = proc_new(
		"{type: redact, pattern: 'k', replace: '<redacted-value>', "
		"in: [msg, f0, f1, f2, f3, f4, f5, f6, f7]}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;
	char msg[301], want[301 * 16 + 1], *o = want;
	static const char *keys[] = {"f0", "f1", "f2", "f3",
				     "f4", "f5", "f6", "f7"};

	(void)state;
	memset(msg, 'k', 300);
	msg[300] = '\0';
	for (int i = 0; i < 300; i++, o += 16)
		memcpy(o, "<redacted-value>", 16);
	*o = '\0';
	/* A small scratch that the first event's redaction must grow,
	 * then a second processor run whose sources already live in it. */
	assert_int_equal(ttlog__scratch_reserve(&s, 16), 0);
	work_init(&w, &s, msg);
	for (int i = 0; i < 8; i++)
		work_str(&w, keys[i], msg);
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	want_msg(&w, want);
	for (int i = 0; i < 8; i++)
		want_str(&w, keys[i], want);
	/* Again, on strings that are now in the scratch, which has to
	 * grow while they are read. */
	ttlog__proc_free(p);
	/* 'v' (of "value") becomes 40 bytes: 55 per "<redacted-value>". */
	p = proc_new(
		"{type: redact, pattern: 'v', replace: "
		"'VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV', in: [msg, f3]}");
	/* A block allocated after the scratch, so that realloc cannot grow
	 * it in place: the scratch moves (checked). */
	uintptr_t before = (uintptr_t)s.p;
	void *block = malloc(100000);
	assert_non_null(block);
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_KEEP);
	assert_true((uintptr_t)s.p != before);
	free(block);
	/* Every string now lives in the scratch where it is now, not where
	 * it was. */
	assert_true(w.ev.msg >= s.p && w.ev.msg + w.ev.msg_len <= s.p + s.len);
	for (int i = 0; i < 8; i++) {
		const struct ttlog_strn *v = &work_get(&w, keys[i])->v.str;
		assert_true(v->ptr >= s.p && v->ptr + v->len <= s.p + s.len);
	}
	assert_int_equal(w.ev.msg_len, 300 * 55);
	for (int i = 0; i < 300; i++) {
		assert_memory_equal(w.ev.msg + i * 55, "<redacted-", 10);
		assert_memory_equal(w.ev.msg + i * 55 + 50, "alue>", 5);
	}
	assert_int_equal(work_get(&w, "f3")->v.str.len, 300 * 55);
	assert_memory_equal(work_get(&w, "f3")->v.str.ptr, w.ev.msg, 300 * 55);
	want_str(&w, "f0", want);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_redact_match_limit_fails_unchanged(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: redact, pattern: '(a+)+$', in: [msg, f]}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;
	char bad[64];

	(void)state;
	memset(bad, 'a', 40);
	strcpy(bad + 40, "b");
	work_init(&w, &s, "aaa");
	work_str(&w, "f", bad);
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_FAILED);
	/* The message matched before the field failed: unchanged too. */
	want_msg(&w, "aaa");
	want_str(&w, "f", bad);
	assert_false(w.changed);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_redact_option_errors(void **state)
{
	char big[1200 + 64];

	(void)state;
	proc_err("{type: redact}", "t.yaml:1:1: processors[0]: missing key "
				   "'pattern' (a PCRE2 regular expression)");
	proc_err("{type: redact, pattern: 'a(b'}",
		 "t.yaml:1:25: processors[0].pattern: invalid regular "
		 "expression at offset 3: missing closing parenthesis");
	proc_err("{type: redact, pattern: x, in: msg}",
		 "t.yaml:1:32: processors[0].in: expected a non-empty list "
		 "such as [a, b]");
	proc_err("{type: redact, pattern: x, replace: [a]}",
		 "t.yaml:1:37: processors[0].replace: expected a string");
	strcpy(big, "{type: redact, pattern: x, replace: '");
	memset(big + strlen(big), 'r', 1100);
	strcpy(big + 37 + 1100, "'}");
	proc_err(big, "t.yaml:1:37: processors[0].replace: longer than 1024 "
		      "bytes");
}

static void test_proc_sample_counter_exact(void **state)
{
	struct ttlog__proc *p = proc_new("{type: sample, rate: 10}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;
	int kept = 0;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		work_init(&w, &s, "m");
		int rc = ttlog__proc_apply(p, &w, 0);
		assert_true(rc == TTLOG__PROC_KEEP || rc == TTLOG__PROC_DROP);
		kept += rc == TTLOG__PROC_KEEP;
		/* The first of each 10. */
		assert_int_equal(rc == TTLOG__PROC_KEEP, i % 10 == 0);
	}
	assert_int_equal(kept, 1000);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

static void test_proc_sample_key_same_decision(void **state)
{
	struct ttlog__proc *p = proc_new("{type: sample, rate: 4, key: trace}");
	struct ttlog__proc *q = proc_new("{type: sample, rate: 4, key: trace}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;
	char id[32];
	int kept = 0, rc[2];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "trace-%d", i);
		for (int k = 0; k < 2; k++) {
			work_init(&w, &s, "m");
			work_str(&w, "trace", id);
			rc[k] = ttlog__proc_apply(p, &w, 0);
		}
		/* Same key, same decision; and the same in another
		 * processor (another agent, a restart). */
		assert_int_equal(rc[0], rc[1]);
		work_init(&w, &s, "m");
		work_str(&w, "trace", id);
		assert_int_equal(ttlog__proc_apply(q, &w, 0), rc[0]);
		kept += rc[0] == TTLOG__PROC_KEEP;
	}
	/* A hash keeps about one in four. */
	assert_in_range(kept, 2300, 2700);
	/* Events without the key: the counter, exactly. */
	kept = 0;
	for (int i = 0; i < 100; i++) {
		work_init(&w, &s, "m");
		kept += ttlog__proc_apply(p, &w, 0) == TTLOG__PROC_KEEP;
	}
	assert_int_equal(kept, 25);
	ttlog__proc_free(p);
	ttlog__proc_free(q);
	ttlog__scratch_destroy(&s);
	proc_err("{type: sample}", "t.yaml:1:1: processors[0]: missing key "
				   "'rate' (keep 1 event in rate)");
	proc_err("{type: sample, rate: 0}",
		 "t.yaml:1:22: processors[0].rate: expected a whole number "
		 "from 1 to 1000000000, got \"0\"");
	proc_err("{type: sample, rate: 2, key: [a]}",
		 "t.yaml:1:30: processors[0].key: expected a string");
}

static int throttled(struct ttlog__proc *p, const char *user, uint64_t now)
{
	struct ttlog__scratch s = {0};
	struct ttlog__work w;
	int rc;

	work_init(&w, &s, "m");
	if (user != NULL)
		work_str(&w, "user", user);
	rc = ttlog__proc_apply(p, &w, now);
	ttlog__scratch_destroy(&s);
	return rc;
}

static void test_proc_throttle_token_bucket_fake_clock(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: throttle, rate: 3, per: 1s, key: user}");
	const uint64_t t0 = 5000000000u, sec = 1000000000u;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(throttled(p, "a", t0), TTLOG__PROC_KEEP);
	assert_int_equal(throttled(p, "a", t0), TTLOG__PROC_DROP);
	/* Another key has its own bucket; no key has one too. */
	assert_int_equal(throttled(p, "b", t0), TTLOG__PROC_KEEP);
	assert_int_equal(throttled(p, NULL, t0), TTLOG__PROC_KEEP);
	/* A third of a second gives one token back, not two. */
	assert_int_equal(throttled(p, "a", t0 + sec / 3 + 1), TTLOG__PROC_KEEP);
	assert_int_equal(throttled(p, "a", t0 + sec / 3 + 1), TTLOG__PROC_DROP);
	/* A long pause fills the bucket to rate, no more. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(throttled(p, "a", t0 + 100 * sec),
				 TTLOG__PROC_KEEP);
	assert_int_equal(throttled(p, "a", t0 + 100 * sec), TTLOG__PROC_DROP);
	/* A clock that goes back refills nothing. */
	assert_int_equal(throttled(p, "a", t0), TTLOG__PROC_DROP);
	ttlog__proc_free(p);
}

static void test_proc_throttle_evicts_oldest_key(void **state)
{
	struct ttlog__proc *p = proc_new(
		"{type: throttle, rate: 1, per: 1h, key: user, max_keys: 2}");

	(void)state;
	assert_int_equal(throttled(p, "a", 1), TTLOG__PROC_KEEP);
	assert_int_equal(throttled(p, "b", 1), TTLOG__PROC_KEEP);
	/* a is used again: b is now the oldest. */
	assert_int_equal(throttled(p, "a", 1), TTLOG__PROC_DROP);
	assert_int_equal(throttled(p, "c", 1), TTLOG__PROC_KEEP);
	/* b was evicted for c: it starts with a full bucket; a was kept. */
	assert_int_equal(throttled(p, "a", 1), TTLOG__PROC_DROP);
	assert_int_equal(throttled(p, "b", 1), TTLOG__PROC_KEEP);
	assert_int_equal(throttled(p, "b", 1), TTLOG__PROC_DROP);
	ttlog__proc_free(p);
}

static void test_proc_throttle_origin_key_and_errors(void **state)
{
	struct ttlog__proc *p =
		proc_new("{type: throttle, rate: 1, key: service}");
	struct ttlog_origin o1 = {.service = "api"}, o2 = {.service = "db"};
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "m");
	w.origin = &o1;
	assert_int_equal(ttlog__proc_apply(p, &w, 1), TTLOG__PROC_KEEP);
	assert_int_equal(ttlog__proc_apply(p, &w, 1), TTLOG__PROC_DROP);
	w.origin = &o2;
	assert_int_equal(ttlog__proc_apply(p, &w, 1), TTLOG__PROC_KEEP);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
	proc_err("{type: throttle, per: 1s}",
		 "t.yaml:1:1: processors[0]: missing key 'rate' (events per "
		 "'per')");
	proc_err("{type: throttle, rate: 5, per: 2h}",
		 "t.yaml:1:32: processors[0].per: expected a duration from "
		 "1ms to 3600s such as 1s or 500ms, got \"2h\"");
	proc_err("{type: throttle, rate: 5, max_keys: 0}",
		 "t.yaml:1:37: processors[0].max_keys: expected a whole "
		 "number from 1 to 1000000, got \"0\"");
	proc_err("{type: throttle, rate: 5, max_key: 9}",
		 "t.yaml:1:27: processors[0]: unknown key 'max_key' (did you "
		 "mean 'max_keys'?)");
}

static void test_proc_drop_always(void **state)
{
	struct ttlog__proc *p = proc_new("{type: drop}");
	struct ttlog__scratch s = {0};
	struct ttlog__work w;

	(void)state;
	work_init(&w, &s, "m");
	assert_int_equal(ttlog__proc_apply(p, &w, 0), TTLOG__PROC_DROP);
	ttlog__proc_free(p);
	ttlog__scratch_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_type_required_and_suggested),
		cmocka_unit_test(
			test_proc_unknown_key_suggested_runner_keys_ignored),
		cmocka_unit_test(test_proc_remove_every_occurrence),
		cmocka_unit_test(test_proc_rename_replaces_existing_key),
		cmocka_unit_test(test_proc_redact_every_match_msg_and_fields),
		cmocka_unit_test(
			test_proc_redact_empty_and_overlapping_matches_end),
		cmocka_unit_test(test_proc_redact_scratch_growth_moves_strings),
		cmocka_unit_test(test_proc_redact_match_limit_fails_unchanged),
		cmocka_unit_test(test_proc_redact_option_errors),
		cmocka_unit_test(test_proc_sample_counter_exact),
		cmocka_unit_test(test_proc_sample_key_same_decision),
		cmocka_unit_test(test_proc_throttle_token_bucket_fake_clock),
		cmocka_unit_test(test_proc_throttle_evicts_oldest_key),
		cmocka_unit_test(test_proc_throttle_origin_key_and_errors),
		cmocka_unit_test(test_proc_drop_always),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
