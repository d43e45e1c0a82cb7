/* test_config.c - the ttlog.yaml loader: the tree and its marks, every
 * load error with its exact message and place, ${VAR} expansion, the
 * scalar forms, the suggestion and the diagnostics. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"
#include "testutil.h"

/* Loads text as "t.yaml"; the caller frees both. */
static struct ttlog__cfg_doc *load(const char *text, struct ttlog__diag *d)
{
	return ttlog__cfg_load_string("t.yaml", text, strlen(text), d);
}

/* Loads text and checks that it fails with exactly these messages, in
 * this order. want ends with NULL. */
static void expect_errors(const char *text, const char *const *want)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc = load(text, &d);
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	for (size_t i = 0; i < d.n; i++)
		print_message("  got: %s\n", d.msgs[i]);
	assert_null(doc);
	assert_int_equal(d.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(d.msgs[i], want[i]);
	ttlog__diag_free(&d);
}

static void expect_error(const char *text, const char *want)
{
	const char *const list[] = {want, NULL};
	expect_errors(text, list);
}

/* Writes text to a new temporary file; returns its path (static). */
static const char *temp_file(const char *text, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_config_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void assert_scalar(const struct ttlog__cfg_node *n, const char *s,
			  unsigned line, unsigned col)
{
	assert_non_null(n);
	assert_int_equal(n->kind, TTLOG__CFG_SCALAR);
	assert_string_equal(n->str, s);
	assert_int_equal(n->line, line);
	assert_int_equal(n->col, col);
}

static void test_config_good_file_has_nested_maps_seqs_and_marks(void **state)
{
	static const char text[] = "service:\n"
				   "  name: app\n"
				   "  level: info\n"
				   "listeners:\n"
				   "  - name: a\n"
				   "    rotate: {size: 100MiB, keep: 5}\n"
				   "  - name: \"b\"\n"
				   "    args: [x, 'y']\n";
	struct ttlog__diag d = {0};
	(void)state;
	struct ttlog__cfg_doc *doc = load(text, &d);
	assert_non_null(doc);
	assert_int_equal(d.n, 0);

	const struct ttlog__cfg_node *root = ttlog__cfg_root(doc);
	assert_int_equal(root->kind, TTLOG__CFG_MAP);
	assert_int_equal(root->n, 2);
	assert_string_equal(root->file, "t.yaml");
	assert_int_equal(root->line, 1);
	assert_int_equal(root->col, 1);
	assert_string_equal(root->keys[0], "service");
	assert_string_equal(root->keys[1], "listeners");
	assert_scalar(root->key_nodes[1], "listeners", 4, 1);

	const struct ttlog__cfg_node *svc = ttlog__cfg_get(root, "service");
	assert_ptr_equal(svc, root->vals[0]);
	assert_int_equal(svc->kind, TTLOG__CFG_MAP);
	assert_int_equal(svc->line, 2);
	assert_int_equal(svc->col, 3);
	assert_scalar(ttlog__cfg_get(svc, "name"), "app", 2, 9);
	assert_scalar(ttlog__cfg_get(svc, "level"), "info", 3, 10);
	assert_false(ttlog__cfg_get(svc, "level")->quoted);

	const struct ttlog__cfg_node *ls = ttlog__cfg_get(root, "listeners");
	assert_int_equal(ls->kind, TTLOG__CFG_SEQ);
	assert_int_equal(ls->n, 2);
	assert_null(ls->keys);
	assert_null(ls->key_nodes);
	assert_int_equal(ls->line, 5);
	assert_int_equal(ls->col, 3);

	const struct ttlog__cfg_node *l0 = ls->vals[0];
	assert_int_equal(l0->kind, TTLOG__CFG_MAP);
	assert_int_equal(l0->line, 5);
	assert_int_equal(l0->col, 5);
	const struct ttlog__cfg_node *rot = ttlog__cfg_get(l0, "rotate");
	assert_int_equal(rot->kind, TTLOG__CFG_MAP);
	assert_int_equal(rot->line, 6);
	assert_int_equal(rot->col, 13);
	assert_scalar(ttlog__cfg_get(rot, "size"), "100MiB", 6, 20);
	assert_scalar(ttlog__cfg_get(rot, "keep"), "5", 6, 34);
	assert_scalar(rot->key_nodes[1], "keep", 6, 28);

	const struct ttlog__cfg_node *l1 = ls->vals[1];
	assert_scalar(ttlog__cfg_get(l1, "name"), "b", 7, 11);
	assert_true(ttlog__cfg_get(l1, "name")->quoted);
	const struct ttlog__cfg_node *args = ttlog__cfg_get(l1, "args");
	assert_int_equal(args->kind, TTLOG__CFG_SEQ);
	assert_int_equal(args->n, 2);
	assert_scalar(args->vals[0], "x", 8, 12);
	assert_false(args->vals[0]->quoted);
	assert_scalar(args->vals[1], "y", 8, 15);
	assert_true(args->vals[1]->quoted);

	ttlog__cfg_free(doc);
	ttlog__diag_free(&d);
}

static void test_config_get_finds_keys_only_in_maps(void **state)
{
	struct ttlog__diag d = {0};
	(void)state;
	struct ttlog__cfg_doc *doc = load("a: 1\nb: [a]\n", &d);
	assert_non_null(doc);
	const struct ttlog__cfg_node *root = ttlog__cfg_root(doc);
	assert_scalar(ttlog__cfg_get(root, "a"), "1", 1, 4);
	assert_null(ttlog__cfg_get(root, "c"));
	assert_null(ttlog__cfg_get(root, "A"));
	/* A sequence holding "a" is not a map with "a". */
	assert_null(ttlog__cfg_get(ttlog__cfg_get(root, "b"), "a"));
	assert_null(ttlog__cfg_get(root->vals[0], "a"));
	assert_null(ttlog__cfg_get(NULL, "a"));
	ttlog__cfg_free(doc);
	ttlog__diag_free(&d);
}

static void test_config_empty_inputs_are_empty_maps(void **state)
{
	static const char *const empties[] = {"", "# only a comment\n", "---\n",
					      "---\n...\n", "\n\n"};
	(void)state;
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct ttlog__diag d = {0};
		struct ttlog__cfg_doc *doc = load(empties[i], &d);
		assert_non_null(doc);
		assert_int_equal(d.n, 0);
		assert_int_equal(ttlog__cfg_root(doc)->kind, TTLOG__CFG_MAP);
		assert_int_equal(ttlog__cfg_root(doc)->n, 0);
		ttlog__cfg_free(doc);
	}
	/* A quoted empty string is a value, not an empty document. */
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc = load("--- \"\"\n", &d);
	assert_non_null(doc);
	assert_scalar(ttlog__cfg_root(doc), "", 1, 5);
	assert_true(ttlog__cfg_root(doc)->quoted);
	ttlog__cfg_free(doc);
	doc = load("just text\n", &d);
	assert_non_null(doc);
	assert_scalar(ttlog__cfg_root(doc), "just text", 1, 1);
	ttlog__cfg_free(doc);
	assert_int_equal(d.n, 0);
}

static void test_config_syntax_errors_use_libyaml_problem_and_mark(void **state)
{
	(void)state;
	expect_error("a: [1, 2\nb: 3\n",
		     "t.yaml:2:2: a: did not find expected ',' or ']' (while "
		     "parsing a flow sequence at line 1, column 4)");
	expect_error("a:\n  b: 1\n c: 2\n",
		     "t.yaml:3:2: did not find expected key (while parsing a "
		     "block mapping at line 1, column 1)");
	expect_error("a: 1\n...\nb: 2\n",
		     "t.yaml:3:1: did not find expected <document start>");
	expect_error("a: 'open\n",
		     "t.yaml:1:4: found unexpected end of stream at line 2, "
		     "column 1 (while scanning a quoted scalar starting "
		     "here)");
}

static void test_config_duplicate_keys_name_the_first(void **state)
{
	static const char *const want[] = {
		"t.yaml:4:3: b.c: duplicate key \"c\" (first at line 3)",
		"t.yaml:5:1: a: duplicate key \"a\" (first at line 1)",
		"t.yaml:6:11: f.x: duplicate key \"x\" (first at line 6)",
		NULL,
	};
	(void)state;
	expect_errors("a: 1\nb:\n  c: 2\n  c: 3\na: 4\nf: {x: 1, x: 2}\n",
		      want);
}

static void test_config_duplicate_keys_found_in_large_maps(void **state)
{
	/* Past 16 keys the loader switches to a hash set; the duplicate
	 * must be found there as well, and only it. */
	char text[8192], want[128];
	size_t len = 0;
	(void)state;
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"key%d: %d\n", i, i);
	snprintf(text + len, sizeof(text) - len, "key250: again\n");
	snprintf(want, sizeof(want),
		 "t.yaml:301:1: key250: duplicate key \"key250\" (first at "
		 "line 251)");
	expect_error(text, want);

	/* Without the duplicate, all 300 load and are found. */
	struct ttlog__diag d = {0};
	text[len] = 0;
	struct ttlog__cfg_doc *doc = load(text, &d);
	assert_non_null(doc);
	assert_int_equal(ttlog__cfg_root(doc)->n, 300);
	assert_scalar(ttlog__cfg_get(ttlog__cfg_root(doc), "key299"), "299",
		      300, 9);
	ttlog__cfg_free(doc);
	ttlog__diag_free(&d);
}

static void test_config_aliases_and_anchors_are_refused(void **state)
{
	static const char *const want[] = {
		"t.yaml:1:7: base: anchors are not supported",
		"t.yaml:2:4: a: aliases are not supported",
		"t.yaml:3:8: b.x: aliases are not supported",
		NULL,
	};
	(void)state;
	expect_errors("base: &b {x: 1}\na: *b\nb: {x: *b}\n", want);
	/* The dropped alias still counts in the index of what follows. */
	static const char *const seq[] = {
		"t.yaml:1:3: [0]: aliases are not supported",
		"t.yaml:2:3: [1]: environment variable TTLOG_TEST_UNSET is not "
		"set (write ${TTLOG_TEST_UNSET:-default} for a default)",
		NULL,
	};
	unsetenv("TTLOG_TEST_UNSET");
	expect_errors("- *undefined\n- ${TTLOG_TEST_UNSET}\n", seq);
}

static void test_config_second_document_is_refused(void **state)
{
	(void)state;
	expect_error("a: 1\n---\nb: 2\n",
		     "t.yaml:2:1: more than one document (ttlog.yaml is one "
		     "document; remove this \"---\" and what follows, or "
		     "merge them)");
}

static void test_config_non_scalar_keys_are_refused(void **state)
{
	static const char *const want[] = {
		"t.yaml:1:3: map keys must be scalars",
		"t.yaml:4:5: s: map keys must be scalars",
		NULL,
	};
	(void)state;
	expect_errors("? [a, b]\n: c\ns:\n  ? {x: 1}\n  : d\ne: f\n", want);
}

static void test_config_nul_bytes_are_refused(void **state)
{
	static const char *const want[] = {
		"t.yaml:1:4: a: contains a NUL byte (\\0), which is not "
		"allowed",
		"t.yaml:2:1: contains a NUL byte (\\0), which is not allowed",
		NULL,
	};
	struct ttlog__diag d = {0};
	(void)state;
	expect_errors("a: \"x\\0y\"\n\"k\\0\": 1\n", want);
	/* A raw NUL byte in the text is stopped by libyaml itself. */
	assert_null(ttlog__cfg_load_string("t.yaml", "a: 1\0\n", 6, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "t.yaml:1:5: control characters are "
				       "not allowed (#x00)");
	ttlog__diag_free(&d);
}

static void test_config_unknown_tags_are_refused(void **state)
{
	struct ttlog__diag d = {0};
	(void)state;
	expect_error("a: !custom x\n",
		     "t.yaml:1:4: a: unsupported tag \"!custom\" (only YAML's "
		     "own tags such as !!str are understood)");
	/* YAML's own tags load; !!str and "!" keep a value a string. */
	struct ttlog__cfg_doc *doc = load(
		"a: !!str 10\nb: ! true\nc: !!int 12\nd: !!map {x: 1}\n", &d);
	assert_non_null(doc);
	const struct ttlog__cfg_node *r = ttlog__cfg_root(doc);
	assert_scalar(ttlog__cfg_get(r, "a"), "10", 1, 4);
	assert_true(ttlog__cfg_get(r, "a")->quoted);
	assert_true(ttlog__cfg_get(r, "b")->quoted);
	assert_false(ttlog__cfg_get(r, "c")->quoted);
	assert_int_equal(ttlog__cfg_get(r, "d")->kind, TTLOG__CFG_MAP);
	ttlog__cfg_free(doc);
	ttlog__diag_free(&d);
}

static void test_config_deep_nesting_is_refused(void **state)
{
	char text[256], want[512];
	size_t len;
	(void)state;
	/* 63 levels under the root map load... */
	len = (size_t)snprintf(text, sizeof(text), "a: ");
	for (int i = 0; i < 63; i++)
		text[len++] = '[';
	for (int i = 0; i < 63; i++)
		text[len++] = ']';
	text[len] = 0;
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc = load(text, &d);
	assert_non_null(doc);
	ttlog__cfg_free(doc);
	/* ...the 64th does not. */
	len = (size_t)snprintf(text, sizeof(text), "a: ");
	for (int i = 0; i < 64; i++)
		text[len++] = '[';
	for (int i = 0; i < 64; i++)
		text[len++] = ']';
	text[len] = 0;
	len = (size_t)snprintf(want, sizeof(want), "t.yaml:1:67: a");
	for (int i = 0; i < 63; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "[0]");
	snprintf(want + len, sizeof(want) - len,
		 ": nested deeper than 64 levels");
	expect_error(text, want);
}

static void test_config_env_references_are_expanded(void **state)
{
	static const char text[] =
		"host: ${TTLOG_TEST_HOST}:514\n"
		"dflt: ${TTLOG_TEST_UNSET:-fallback}\n"
		"empty_dflt: ${TTLOG_TEST_EMPTY:-fallback}\n"
		"empty: \"[${TTLOG_TEST_EMPTY}]\"\n"
		"literal: $HOME and $$ and $ {X} and $\n"
		"once: ${TTLOG_TEST_REF}\n"
		"single: '${TTLOG_TEST_HOST}'\n"
		"twice: ${TTLOG_TEST_HOST}/${TTLOG_TEST_HOST}\n"
		"colon: ${TTLOG_TEST_UNSET:-a:-b}\n"
		"nodflt: ${TTLOG_TEST_UNSET:-}\n"
		"${TTLOG_TEST_HOST}: key\n"
		"list: [\"${TTLOG_TEST_HOST}\"]\n"
		"kept: /l/$${service}/${TTLOG_TEST_HOST}-$${x\n"
		"tmpl: /l/${service}/${fields.app}/${host}\n";
	struct ttlog__diag d = {0};
	(void)state;
	setenv("TTLOG_TEST_HOST", "example.org", 1);
	setenv("TTLOG_TEST_EMPTY", "", 1);
	setenv("TTLOG_TEST_REF", "${TTLOG_TEST_HOST}", 1);
	setenv("host", "h-env", 1);
	unsetenv("service");
	unsetenv("TTLOG_TEST_UNSET");
	struct ttlog__cfg_doc *doc = load(text, &d);
	assert_non_null(doc);
	const struct ttlog__cfg_node *r = ttlog__cfg_root(doc);
	assert_scalar(ttlog__cfg_get(r, "host"), "example.org:514", 1, 7);
	assert_string_equal(ttlog__cfg_get(r, "dflt")->str, "fallback");
	assert_string_equal(ttlog__cfg_get(r, "empty_dflt")->str, "fallback");
	assert_string_equal(ttlog__cfg_get(r, "empty")->str, "[]");
	assert_string_equal(ttlog__cfg_get(r, "literal")->str,
			    "$HOME and $$ and $ {X} and $");
	/* Not recursive: the value of a variable is used as it is. */
	assert_string_equal(ttlog__cfg_get(r, "once")->str,
			    "${TTLOG_TEST_HOST}");
	assert_string_equal(ttlog__cfg_get(r, "single")->str, "example.org");
	assert_string_equal(ttlog__cfg_get(r, "twice")->str,
			    "example.org/example.org");
	assert_string_equal(ttlog__cfg_get(r, "colon")->str, "a:-b");
	assert_string_equal(ttlog__cfg_get(r, "nodflt")->str, "");
	/* Keys are not expanded. */
	assert_non_null(ttlog__cfg_get(r, "${TTLOG_TEST_HOST}"));
	assert_null(ttlog__cfg_get(r, "example.org"));
	assert_string_equal(ttlog__cfg_get(r, "list")->vals[0]->str,
			    "example.org");
	/* "$${" is a "${" kept for a template, closed or not. */
	assert_string_equal(ttlog__cfg_get(r, "kept")->str,
			    "/l/${service}/example.org-${x");
	/* A template's names are left for it unless the environment has
	 * them (host, here). */
	assert_string_equal(ttlog__cfg_get(r, "tmpl")->str,
			    "/l/${service}/${fields.app}/h-env");
	ttlog__cfg_free(doc);
	assert_int_equal(d.n, 0);
	unsetenv("TTLOG_TEST_HOST");
	unsetenv("TTLOG_TEST_EMPTY");
	unsetenv("TTLOG_TEST_REF");
	unsetenv("host");
}

static void test_config_env_errors_are_reported(void **state)
{
	static const char *const want[] = {
		"t.yaml:1:4: a: environment variable TTLOG_TEST_UNSET is not "
		"set (write ${TTLOG_TEST_UNSET:-default} for a default)",
		"t.yaml:2:4: b: invalid environment variable name \"1A\" (use "
		"letters, digits and '_', not starting with a digit)",
		"t.yaml:3:4: c: invalid environment variable name \"\" (use "
		"letters, digits and '_', not starting with a digit)",
		"t.yaml:4:4: d: invalid environment variable name \"A-b\" (use "
		"letters, digits and '_', not starting with a digit)",
		"t.yaml:5:4: e: unterminated \"${\" (missing \"}\")",
		"t.yaml:6:4: f: the default of ${A} cannot contain \"${\" "
		"(defaults are not expanded)",
		/* Both problems of one value. */
		"t.yaml:7:5: g[0]: environment variable TTLOG_TEST_UNSET is "
		"not set (write ${TTLOG_TEST_UNSET:-default} for a default)",
		"t.yaml:7:5: g[0]: unterminated \"${\" (missing \"}\")",
		NULL,
	};
	(void)state;
	unsetenv("TTLOG_TEST_UNSET");
	expect_errors("a: ${TTLOG_TEST_UNSET}\n"
		      "b: ${1A}\n"
		      "c: ${}\n"
		      "d: ${A-b}\n"
		      "e: \"${X\"\n"
		      "f: ${A:-${B}}\n"
		      "g: [\"${TTLOG_TEST_UNSET} ${Y\"]\n",
		      want);
}

static void test_config_several_errors_in_one_run(void **state)
{
	static const char *const want[] = {
		"t.yaml:2:4: b: aliases are not supported",
		"t.yaml:3:1: a: duplicate key \"a\" (first at line 1)",
		"t.yaml:4:4: c: environment variable TTLOG_TEST_UNSET is not "
		"set (write ${TTLOG_TEST_UNSET:-default} for a default)",
		"t.yaml:5:4: d: unsupported tag \"!foo\" (only YAML's own tags "
		"such as !!str are understood)",
		"t.yaml:7:1: e: did not find expected ',' or ']' (while "
		"parsing a flow sequence at line 6, column 4)",
		NULL,
	};
	(void)state;
	unsetenv("TTLOG_TEST_UNSET");
	expect_errors("a: 1\n"
		      "b: *x\n"
		      "a: 2\n"
		      "c: ${TTLOG_TEST_UNSET}\n"
		      "d: !foo x\n"
		      "e: [1, 2\n",
		      want);
}

static void test_config_file_loads_with_its_name(void **state)
{
	static const char text[] = "service:\n  name: x\n";
	struct ttlog__diag d = {0};
	(void)state;
	const char *path = temp_file(text, sizeof(text) - 1);
	struct ttlog__cfg_doc *doc = ttlog__cfg_load_file(path, &d);
	assert_non_null(doc);
	const struct ttlog__cfg_node *name = ttlog__cfg_get(
		ttlog__cfg_get(ttlog__cfg_root(doc), "service"), "name");
	assert_scalar(name, "x", 2, 9);
	assert_string_equal(name->file, path);
	ttlog__cfg_free(doc);
	assert_int_equal(d.n, 0);
	unlink(path);
}

static void test_config_missing_file_and_directory_are_reported(void **state)
{
	struct ttlog__diag d = {0};
	char want[256];
	(void)state;
	assert_null(ttlog__cfg_load_file("/nonexistent/ttlog.yaml", &d));
	assert_int_equal(d.n, 1);
	snprintf(want, sizeof(want), "/nonexistent/ttlog.yaml: cannot open: %s",
		 strerror(ENOENT));
	assert_string_equal(d.msgs[0], want);
	assert_null(ttlog__cfg_load_file("/tmp", &d));
	assert_int_equal(d.n, 2);
	snprintf(want, sizeof(want), "/tmp: cannot read: %s", strerror(EISDIR));
	assert_string_equal(d.msgs[1], want);
	ttlog__diag_free(&d);
}

static void test_config_invalid_utf8_is_reported_with_place(void **state)
{
	/* "é" is one column; the bad byte is the seventh character of the
	 * second line. */
	static const char text[] = "a: 1\nb: \xc3\xa9\xc3\xa9 \xff\n";
	struct ttlog__diag d = {0};
	char want[256];
	(void)state;
	const char *path = temp_file(text, sizeof(text) - 1);
	assert_null(ttlog__cfg_load_file(path, &d));
	assert_int_equal(d.n, 1);
	snprintf(want, sizeof(want),
		 "%s:2:7: invalid leading UTF-8 octet (#xFF)", path);
	assert_string_equal(d.msgs[0], want);
	unlink(path);
	ttlog__diag_free(&d);
	/* libyaml names the byte that breaks the sequence, here "(" after a
	 * lead byte; a byte order mark is not a column. */
	expect_error("\xef\xbb\xbf"
		     "a: \xc3(\n",
		     "t.yaml:1:5: invalid trailing UTF-8 octet (#x28)");
}

static void test_config_one_megabyte_file_loads(void **state)
{
	/* 4 lines per listener, then a flat map of labels. */
	size_t cap = 2u << 20, len = 0, nl = 0, nlab = 0;
	char *text = malloc(cap);
	struct ttlog__diag d = {0};
	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text, cap,
				"service:\n  name: big\n"
				"listeners:\n");
	for (; len < (1u << 19); nl++)
		len += (size_t)snprintf(text + len, cap - len,
					"  - name: l%zu\n"
					"    type: file\n"
					"    path: /var/log/app/l%zu.log\n"
					"    rotate: {size: 100MiB, keep: 5}\n",
					nl, nl);
	len += (size_t)snprintf(text + len, cap - len, "labels:\n");
	for (; len < (1u << 20); nlab++)
		len += (size_t)snprintf(text + len, cap - len,
					"  label%zu: value%zu\n", nlab, nlab);
	const char *path = temp_file(text, len);
	struct ttlog__cfg_doc *doc = ttlog__cfg_load_file(path, &d);
	assert_non_null(doc);
	const struct ttlog__cfg_node *r = ttlog__cfg_root(doc);
	const struct ttlog__cfg_node *ls = ttlog__cfg_get(r, "listeners");
	assert_int_equal(ls->n, nl);
	const struct ttlog__cfg_node *last = ls->vals[nl - 1];
	assert_int_equal(last->line, 4 + 4 * (nl - 1));
	snprintf(text, cap, "/var/log/app/l%zu.log", nl - 1);
	assert_scalar(ttlog__cfg_get(last, "path"), text, 4 + 4 * (nl - 1) + 2,
		      11);
	const struct ttlog__cfg_node *lab = ttlog__cfg_get(r, "labels");
	assert_int_equal(lab->n, nlab);
	snprintf(text, cap, "label%zu", nlab - 1);
	assert_string_equal(lab->keys[nlab - 1], text);
	assert_int_equal(lab->key_nodes[nlab - 1]->line,
			 4 + 4 * nl + nlab - 1 + 1);
	ttlog__cfg_free(doc);
	assert_int_equal(d.n, 0);
	unlink(path);
	free(text);
}

static void test_config_size_forms(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{"0", 0},
		{"512", 512},
		{"100B", 100},
		{"64KiB", 64ull << 10},
		{"100MiB", 100ull << 20},
		{"2GiB", 2ull << 30},
		{"1TiB", 1ull << 40},
		{"10KB", 10000},
		{"10MB", 10000000},
		{"10GB", 10000000000ull},
		{"3TB", 3000000000000ull},
		{"0KiB", 0},
		{"007B", 7},
		{"16777215TiB", 16777215ull << 40},
		{"18446744073709551615", UINT64_MAX},
		{"18446744073709551615B", UINT64_MAX},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 12345;
		assert_int_equal(ttlog__cfg_parse_size(ok[i].s, &v), 0);
		assert_true(v == ok[i].v);
	}
}

static void test_config_size_rejections(void **state)
{
	static const char *const bad[] = {
		"",
		"big",
		"MiB",
		"-1",
		"-5MiB",
		"+5MiB",
		" 5MiB",
		"5MiB ",
		"5 MiB",
		"5mib",
		"5mb",
		"5Kib",
		"5KiBx",
		"5k",
		"1.5GiB",
		"0x10",
		"16777216TiB",
		"99999999999TiB",
		"18446744073709551616",
		"18446744073709551616B",
		"18446744073709551615KB",
		NULL,
	};
	(void)state;
	for (const char *const *s = bad; *s != NULL; s++) {
		uint64_t v = 777;
		if (ttlog__cfg_parse_size(*s, &v) != -1)
			fail_msg("size \"%s\" was accepted", *s);
		assert_true(v == 777);
	}
	assert_int_equal(ttlog__cfg_parse_size(NULL, &(uint64_t){0}), -1);
}

static void test_config_duration_forms(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{"0", 0},
		{"0ms", 0},
		{"200ms", 200},
		{"30s", 30000},
		{"5m", 300000},
		{"1h", 3600000},
		{"2d", 172800000},
		{"1500us", 2},
		{"1000us", 1},
		{"1us", 1},
		{"0us", 0},
		{"999999us", 1000},
		{"18446744073709551615ms", UINT64_MAX},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 12345;
		if (ttlog__cfg_parse_duration_ms(ok[i].s, &v) != 0)
			fail_msg("duration \"%s\" was refused", ok[i].s);
		assert_true(v == ok[i].ms);
	}
}

static void test_config_duration_rejections(void **state)
{
	static const char *const bad[] = {
		"",
		"10",
		"1",
		"ms",
		"-1s",
		"+1s",
		" 1s",
		"1s ",
		"1 s",
		"1S",
		"1sec",
		"1ns",
		"1.5s",
		"1M",
		"1H",
		"1msx",
		"1w",
		"1y",
		"213503982335d",
		"18446744073709551615s",
		NULL,
	};
	(void)state;
	for (const char *const *s = bad; *s != NULL; s++) {
		uint64_t v = 777;
		if (ttlog__cfg_parse_duration_ms(*s, &v) != -1)
			fail_msg("duration \"%s\" was accepted", *s);
		assert_true(v == 777);
	}
	assert_int_equal(ttlog__cfg_parse_duration_ms(NULL, &(uint64_t){0}),
			 -1);
}

static void test_config_bool_forms(void **state)
{
	static const char *const yes[] = {"true", "yes", "on", NULL};
	static const char *const no[] = {"false", "no", "off", NULL};
	static const char *const bad[] = {"True",  "TRUE", "1", "0",
					  "y",	   "n",	   "",	" true",
					  "true ", "offf", NULL};
	(void)state;
	for (const char *const *s = yes; *s; s++) {
		int b = 0;
		assert_int_equal(ttlog__cfg_parse_bool(*s, &b), 0);
		assert_int_equal(b, 1);
	}
	for (const char *const *s = no; *s; s++) {
		int b = 1;
		assert_int_equal(ttlog__cfg_parse_bool(*s, &b), 0);
		assert_int_equal(b, 0);
	}
	for (const char *const *s = bad; *s; s++) {
		int b = 7;
		if (ttlog__cfg_parse_bool(*s, &b) != -1)
			fail_msg("bool \"%s\" was accepted", *s);
		assert_int_equal(b, 7);
	}
}

static void test_config_integers_are_range_checked(void **state)
{
	int64_t i = 0;
	uint64_t u = 0;
	(void)state;
	assert_int_equal(ttlog__cfg_parse_int64("0", &i), 0);
	assert_true(i == 0);
	assert_int_equal(ttlog__cfg_parse_int64("-42", &i), 0);
	assert_true(i == -42);
	assert_int_equal(ttlog__cfg_parse_int64("+42", &i), 0);
	assert_true(i == 42);
	assert_int_equal(ttlog__cfg_parse_int64("9223372036854775807", &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(ttlog__cfg_parse_int64("-9223372036854775808", &i), 0);
	assert_true(i == INT64_MIN);
	i = 5;
	assert_int_equal(ttlog__cfg_parse_int64("9223372036854775808", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64("-9223372036854775809", &i),
			 -1);
	assert_int_equal(ttlog__cfg_parse_int64("99999999999999999999", &i),
			 -1);
	assert_int_equal(ttlog__cfg_parse_int64("", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64("-", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64("--1", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64(" 1", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64("1 ", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64("1e3", &i), -1);
	assert_int_equal(ttlog__cfg_parse_int64("0x10", &i), -1);
	assert_true(i == 5);

	assert_int_equal(ttlog__cfg_parse_uint64("18446744073709551615", &u),
			 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(ttlog__cfg_parse_uint64("010", &u), 0);
	assert_true(u == 10);
	u = 5;
	assert_int_equal(ttlog__cfg_parse_uint64("18446744073709551616", &u),
			 -1);
	assert_int_equal(ttlog__cfg_parse_uint64("-1", &u), -1);
	assert_int_equal(ttlog__cfg_parse_uint64("+1", &u), -1);
	assert_int_equal(ttlog__cfg_parse_uint64("1MiB", &u), -1);
	assert_int_equal(ttlog__cfg_parse_uint64("", &u), -1);
	assert_int_equal(ttlog__cfg_parse_uint64(NULL, &u), -1);
	assert_true(u == 5);
}

static void test_config_suggest_finds_close_words_only(void **state)
{
	static const char *const keys[] = {"name",	"level", "listeners",
					   "service",	"type",	 "plugin",
					   "max_bytes", NULL};
	static const char *const none[] = {NULL};
	(void)state;
	/* A swap of two letters is one edit. */
	assert_string_equal(ttlog__cfg_suggest("levle", keys), "level");
	assert_string_equal(ttlog__cfg_suggest("lvel", keys), "level");
	assert_string_equal(ttlog__cfg_suggest("Level", keys), "level");
	assert_string_equal(ttlog__cfg_suggest("servcie", keys), "service");
	/* Six letters or more allow two edits, but not three. */
	assert_string_equal(ttlog__cfg_suggest("lstners", keys), "listeners");
	assert_null(ttlog__cfg_suggest("lstnrs", keys));
	assert_string_equal(ttlog__cfg_suggest("max-bytes", keys), "max_bytes");
	assert_string_equal(ttlog__cfg_suggest("tpye", keys), "type");
	assert_null(ttlog__cfg_suggest("xyz", keys));
	assert_null(ttlog__cfg_suggest("lvl", keys));
	assert_null(ttlog__cfg_suggest("colour", keys));
	assert_null(ttlog__cfg_suggest("level", none));
	assert_null(ttlog__cfg_suggest(NULL, keys));
	/* Too long to be a typo of any key. */
	char longw[200];
	memset(longw, 'a', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = 0;
	assert_null(ttlog__cfg_suggest(longw, keys));
}

static void test_config_diag_formats_place_and_path(void **state)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_node at = {.kind = TTLOG__CFG_SCALAR,
				     .file = "f.yaml",
				     .line = 14,
				     .col = 7};
	struct ttlog__cfg_node nowhere = {.kind = TTLOG__CFG_MAP};
	(void)state;
	ttlog__diag_add(&d, &at, "listeners[1].rotate.size",
			"expected a size such as 100MiB, got \"%s\"", "big");
	ttlog__diag_add(&d, &at, NULL, "no path %d", 1);
	ttlog__diag_add(&d, &at, "", "empty path");
	ttlog__diag_add(&d, NULL, "service.level", "no place");
	ttlog__diag_add(&d, &nowhere, "service", "stand-in");
	ttlog__diag_add(&d, NULL, NULL, "bare");
	ttlog__diag_add_file(&d, "f.yaml", "cannot open: %s", "x");
	for (int i = 0; i < 20; i++)
		ttlog__diag_add(&d, NULL, NULL, "more %d", i);
	assert_int_equal(d.n, 27);
	assert_string_equal(d.msgs[0], "f.yaml:14:7: listeners[1].rotate.size: "
				       "expected a size such as 100MiB, got "
				       "\"big\"");
	assert_string_equal(d.msgs[1], "f.yaml:14:7: no path 1");
	assert_string_equal(d.msgs[2], "f.yaml:14:7: empty path");
	assert_string_equal(d.msgs[3], "service.level: no place");
	assert_string_equal(d.msgs[4], "service: stand-in");
	assert_string_equal(d.msgs[5], "bare");
	assert_string_equal(d.msgs[6], "f.yaml: cannot open: x");
	assert_string_equal(d.msgs[26], "more 19");
	ttlog__diag_free(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.msgs);
	/* Usable again after free. */
	ttlog__diag_add(&d, NULL, NULL, "again");
	assert_int_equal(d.n, 1);
	ttlog__diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_config_good_file_has_nested_maps_seqs_and_marks),
		cmocka_unit_test(test_config_get_finds_keys_only_in_maps),
		cmocka_unit_test(test_config_empty_inputs_are_empty_maps),
		cmocka_unit_test(
			test_config_syntax_errors_use_libyaml_problem_and_mark),
		cmocka_unit_test(test_config_duplicate_keys_name_the_first),
		cmocka_unit_test(
			test_config_duplicate_keys_found_in_large_maps),
		cmocka_unit_test(test_config_aliases_and_anchors_are_refused),
		cmocka_unit_test(test_config_second_document_is_refused),
		cmocka_unit_test(test_config_non_scalar_keys_are_refused),
		cmocka_unit_test(test_config_nul_bytes_are_refused),
		cmocka_unit_test(test_config_unknown_tags_are_refused),
		cmocka_unit_test(test_config_deep_nesting_is_refused),
		cmocka_unit_test(test_config_env_references_are_expanded),
		cmocka_unit_test(test_config_env_errors_are_reported),
		cmocka_unit_test(test_config_several_errors_in_one_run),
		cmocka_unit_test(test_config_file_loads_with_its_name),
		cmocka_unit_test(
			test_config_missing_file_and_directory_are_reported),
		cmocka_unit_test(
			test_config_invalid_utf8_is_reported_with_place),
		cmocka_unit_test(test_config_one_megabyte_file_loads),
		cmocka_unit_test(test_config_size_forms),
		cmocka_unit_test(test_config_size_rejections),
		cmocka_unit_test(test_config_duration_forms),
		cmocka_unit_test(test_config_duration_rejections),
		cmocka_unit_test(test_config_bool_forms),
		cmocka_unit_test(test_config_integers_are_range_checked),
		cmocka_unit_test(test_config_suggest_finds_close_words_only),
		cmocka_unit_test(test_config_diag_formats_place_and_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
