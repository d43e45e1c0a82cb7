/*
 * test_input_lists.c - the list options of an input entry (paths, exclude,
 * match): a string or a list of strings, and errors that name the item.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent_internal.h"
#include "config_internal.h"

struct doc {
	struct ttlog__cfg_doc *doc;
	struct ttlog__diag d;
	struct ttlog__input_list l;
};

/* Loads text and reads its `key` as a list; returns the call's result. */
static int get(struct doc *t, const char *text, const char *key)
{
	memset(t, 0, sizeof(*t));
	t->doc = ttlog__cfg_load_string("t.yaml", text, strlen(text), &t->d);
	assert_non_null(t->doc);
	return ttlog__input_list_get(ttlog__cfg_root(t->doc), key, "inputs[0]",
				     &t->l, &t->d);
}

static void done(struct doc *t)
{
	ttlog__input_list_free(&t->l);
	ttlog__cfg_free(t->doc);
	ttlog__diag_free(&t->d);
}

static void test_list_of_strings_in_order(void **state)
{
	struct doc t;
	(void)state;

	assert_int_equal(get(&t, "paths: [\"/a\", /b, '/c']\n", "paths"), 0);
	assert_int_equal(t.l.n, 3);
	assert_string_equal(t.l.v[0], "/a");
	assert_string_equal(t.l.v[2], "/c");
	assert_null(t.l.v[3]);
	assert_int_equal(t.d.n, 0);
	done(&t);
}

static void test_single_string_is_list_of_one(void **state)
{
	struct doc t;
	(void)state;

	assert_int_equal(get(&t, "paths: /var/log/x.log\n", "paths"), 0);
	assert_int_equal(t.l.n, 1);
	assert_string_equal(t.l.v[0], "/var/log/x.log");
	done(&t);
}

static void test_absent_key_is_empty(void **state)
{
	struct doc t;
	(void)state;

	assert_int_equal(get(&t, "name: x\n", "match"), 0);
	assert_int_equal(t.l.n, 0);
	assert_null(t.l.v);
	done(&t);
}

static void test_bad_item_named_with_place(void **state)
{
	struct doc t;
	(void)state;

	assert_int_equal(get(&t, "match:\n  - A=1\n  - {x: 1}\n", "match"), -1);
	assert_int_equal(t.d.n, 1);
	assert_string_equal(t.d.msgs[0], "t.yaml:3:5: inputs[0].match[1]: "
					 "expected a string, got a map");
	assert_int_equal(t.l.n, 0);
	done(&t);
}

static void test_map_empty_list_and_empty_string_refused(void **state)
{
	struct doc t;
	(void)state;

	assert_int_equal(get(&t, "paths: {a: b}\n", "paths"), -1);
	assert_non_null(strstr(t.d.msgs[0], "t.yaml:1:8: inputs[0].paths: "));
	done(&t);
	assert_int_equal(get(&t, "paths: []\n", "paths"), -1);
	assert_non_null(strstr(t.d.msgs[0], "empty list"));
	done(&t);
	assert_int_equal(get(&t, "paths: ['']\n", "paths"), -1);
	assert_non_null(strstr(t.d.msgs[0], "inputs[0].paths[0]: must not"));
	done(&t);
}

static void test_copy_and_equal(void **state)
{
	struct doc t;
	struct ttlog__input_list c;
	(void)state;

	assert_int_equal(get(&t, "m: [A=1, '+', B=2]\n", "m"), 0);
	assert_int_equal(ttlog__input_list_copy(&c, &t.l), 0);
	assert_true(ttlog__input_list_equal(&c, &t.l));
	free(c.v[2]);
	c.v[2] = strdup("B=3");
	assert_false(ttlog__input_list_equal(&c, &t.l));
	ttlog__input_list_free(&c);
	assert_false(ttlog__input_list_equal(&c, &t.l));
	done(&t);
}

static void test_misplaced_list_named(void **state)
{
	struct ttlog__input_opts o;
	char *one[] = {"x", NULL};
	(void)state;

	memset(&o, 0, sizeof(o));
	o.type = TTLOG__INPUT_SYSLOG;
	assert_null(ttlog__input_list_misplaced(&o));
	o.paths.v = one;
	o.paths.n = 1;
	assert_string_equal(ttlog__input_list_misplaced(&o), "paths");
	o.type = TTLOG__INPUT_JOURNAL;
	assert_null(ttlog__input_list_misplaced(&o));
	o.exclude = o.paths;
	assert_string_equal(ttlog__input_list_misplaced(&o), "exclude");
	o.type = TTLOG__INPUT_TAIL;
	assert_null(ttlog__input_list_misplaced(&o));
	o.match = o.paths;
	assert_string_equal(ttlog__input_list_misplaced(&o), "match");
	assert_false(ttlog__input_listens(TTLOG__INPUT_TAIL));
	assert_true(ttlog__input_listens(TTLOG__INPUT_SYSLOG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_of_strings_in_order),
		cmocka_unit_test(test_single_string_is_list_of_one),
		cmocka_unit_test(test_absent_key_is_empty),
		cmocka_unit_test(test_bad_item_named_with_place),
		cmocka_unit_test(test_map_empty_list_and_empty_string_refused),
		cmocka_unit_test(test_copy_and_equal),
		cmocka_unit_test(test_misplaced_list_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
