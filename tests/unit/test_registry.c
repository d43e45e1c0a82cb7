/* test_registry.c - plugin loading and its refusals, option tables applied
 * from YAML, pipelines from ttlog.yaml, per-listener levels and queues. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "../plugins/good_options.h"
#include "registry_internal.h"
#include "testutil.h"

static const char *pdir = TTLOG_TEST_PLUGIN_DIR;
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/ttlog-registry-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	ttlog_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Loads and expects a refusal whose message contains `want`. */
static void expect_refusal(const char *dir, const char *name, int code,
			   const char *want)
{
	struct ttlog__plugin p;
	char err[1024] = "";
	int rc = ttlog__plugin_load(dir, name, &p, err, sizeof(err));
	if (rc != code || strstr(err, want) == NULL)
		fail_msg("loading %s: rc %d (want %d), message \"%s\" lacks "
			 "\"%s\"",
			 name, rc, code, err, want);
}

static void copy_plugin(const char *name, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp %s/%s.so %s", pdir, name, to);
	assert_int_equal(system(cmd), 0);
}

static void test_plugin_loads_by_type_and_by_absolute_path(void **state)
{
	struct ttlog__plugin p;
	char err[1024], path[512];
	(void)state;

	assert_int_equal(ttlog__plugin_load(pdir, "good", &p, err, sizeof(err)),
			 0);
	assert_string_equal(p.api->name, "good");
	assert_non_null(strstr(p.path, "/good.so"));
	ttlog__plugin_unload(&p);
	snprintf(path, sizeof(path), "%s/slow.so", pdir);
	assert_int_equal(
		ttlog__plugin_load("/nowhere", path, &p, err, sizeof(err)), 0);
	assert_string_equal(p.api->name, "slow");
	ttlog__plugin_unload(&p);
}

/* One plugin file loaded twice (a reload loads every plugin again) and
 * the second load unloaded: the next plugin loaded is itself, even when
 * it is opened through the descriptor number the second load had (glibc
 * had kept that /proc/self/fd name for the first plugin's object). */
static void test_second_load_of_a_plugin_never_aliases_the_next(void **state)
{
	struct ttlog__plugin a, b, c;
	char err[1024];
	(void)state;

	assert_int_equal(ttlog__plugin_load(pdir, "good", &a, err, sizeof(err)),
			 0);
	assert_int_equal(ttlog__plugin_load(pdir, "good", &b, err, sizeof(err)),
			 0);
	assert_ptr_equal(a.api, b.api); /* one object, loaded once */
	ttlog__plugin_unload(&b);
	assert_int_equal(ttlog__plugin_load(pdir, "slow", &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.api->name, "slow");
	ttlog__plugin_unload(&c);
	assert_string_equal(a.api->name, "good");
	ttlog__plugin_unload(&a);
}

static void test_plugin_refusals_name_the_file_and_the_reason(void **state)
{
	char path[512], dir[512];
	(void)state;

	expect_refusal(pdir, "abi2", TTLOG_EABI,
		       "built for listener ABI 2.0, this ttlog speaks 1.5");
	expect_refusal(pdir, "abi2", TTLOG_EABI, "/abi2.so");
	expect_refusal(pdir, "short", TTLOG_EABI, "listener table is 24 bytes");
	expect_refusal(pdir, "nosym", TTLOG_EPLUGIN,
		       "no ttlog_listener_entry() symbol");
	expect_refusal(pdir, "missing", TTLOG_EPLUGIN,
		       "no such plugin (listener type \"missing\"");
	expect_refusal(pdir, "../good", TTLOG_EPLUGIN,
		       "a plugin path must be absolute");
	expect_refusal(pdir, "Bad Name", TTLOG_EPLUGIN, "a-z, 0-9");

	/* A symlink to a good plugin, and a directory named like one. */
	snprintf(path, sizeof(path), "%s/link.so", tmp);
	snprintf(dir, sizeof(dir), "%s/good.so", pdir);
	assert_int_equal(symlink(dir, path), 0);
	expect_refusal(tmp, "link", TTLOG_EPLUGIN, "is a symbolic link");
	snprintf(path, sizeof(path), "%s/dir.so", tmp);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_refusal(tmp, "dir", TTLOG_EPLUGIN, "not a regular file");

	/* Writable by others or by the group. */
	chmod(tmp, 0755);
	snprintf(path, sizeof(path), "%s/open.so", tmp);
	copy_plugin("good", path);
	assert_int_equal(chmod(path, 0646), 0);
	expect_refusal(tmp, "open", TTLOG_EPLUGIN,
		       "the file is writable by others (mode 0646)");
	assert_int_equal(chmod(path, 0664), 0);
	expect_refusal(tmp, "open", TTLOG_EPLUGIN,
		       "the file is writable by its group");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chmod(tmp, 0777), 0);
	expect_refusal(tmp, "open", TTLOG_EPLUGIN,
		       "its directory is writable by others");
	assert_int_equal(chmod(tmp, 0755), 0);
	{
		struct ttlog__plugin p;
		char err[1024];
		assert_int_equal(
			ttlog__plugin_load(tmp, "open", &p, err, sizeof(err)),
			0);
		ttlog__plugin_unload(&p);
	}
	/* Owned by somebody else (only root can arrange that). */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		expect_refusal(tmp, "open", TTLOG_EPLUGIN,
			       "is owned by uid 4242");
	}
}

static struct ttlog__cfg_doc *load(const char *text, struct ttlog__diag *d)
{
	struct ttlog__cfg_doc *doc =
		ttlog__cfg_load_string("t.yaml", text, strlen(text), d);
	assert_non_null(doc);
	return doc;
}

static void test_options_apply_every_type_and_the_defaults(void **state)
{
	struct ttlog__plugin p;
	struct ttlog__diag d = {0};
	char err[1024];
	(void)state;

	assert_int_equal(ttlog__plugin_load(pdir, "good", &p, err, sizeof(err)),
			 0);
	struct ttlog__cfg_doc *doc = load("path: /tmp/x\n"
					  "flag: yes\n"
					  "size: 64KiB\n"
					  "wait: 250ms\n"
					  "mode: gamma\n"
					  "nested:\n"
					  "  size: 2MiB\n",
					  &d);
	struct good_opts *o = ttlog__options_apply(TTLOG__OPTIONS_OF(p.api),
						   ttlog__cfg_root(doc),
						   "listeners[0]", NULL, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(o);
	assert_string_equal(o->path, "/tmp/x");
	assert_string_equal(o->label, "none"); /* default */
	assert_int_equal(o->flag, 1);
	assert_int_equal(o->count, -3); /* default */
	assert_int_equal(o->size, 65536);
	assert_int_equal(o->wait_ms, 250);
	assert_int_equal(o->mode, 2);
	assert_int_equal(o->nested_size, 2u << 20);
	ttlog__options_free(TTLOG__OPTIONS_OF(p.api), o);
	ttlog__cfg_free(doc);

	/* A nested key written flat is the same key: applied, and a bad
	 * value refused (it was once accepted and ignored). */
	doc = load("path: /tmp/x\nnested.size: 3MiB\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(p.api), ttlog__cfg_root(doc),
				 "listeners[0]", NULL, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(o);
	assert_int_equal(o->nested_size, 3u << 20);
	ttlog__options_free(TTLOG__OPTIONS_OF(p.api), o);
	ttlog__cfg_free(doc);
	doc = load("path: /tmp/x\nnested.size: abc\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(p.api), ttlog__cfg_root(doc),
				 "listeners[0]", NULL, &d);
	assert_null(o);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0],
			       "t.yaml:2:14: listeners[0].nested.size: "
			       "expected a size"));
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
	ttlog__plugin_unload(&p);
}

/* Applies text to the good plugin's table and checks the messages. */
static void expect_option_errors(const char *text, const char *const *want,
				 size_t nwant)
{
	struct ttlog__plugin p;
	struct ttlog__diag d = {0};
	char err[1024];

	assert_int_equal(ttlog__plugin_load(pdir, "good", &p, err, sizeof(err)),
			 0);
	struct ttlog__cfg_doc *doc = load(text, &d);
	void *o = ttlog__options_apply(TTLOG__OPTIONS_OF(p.api),
				       ttlog__cfg_root(doc), "listeners[1]",
				       NULL, &d);
	assert_null(o);
	for (size_t i = 0; i < nwant; i++) {
		int found = 0;
		for (size_t k = 0; k < d.n; k++)
			found |= strcmp(d.msgs[k], want[i]) == 0;
		if (!found) {
			for (size_t k = 0; k < d.n; k++)
				print_message("got: %s\n", d.msgs[k]);
			fail_msg("missing: %s", want[i]);
		}
	}
	assert_int_equal(d.n, nwant);
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
	ttlog__plugin_unload(&p);
}

static void test_option_errors_name_line_column_and_key(void **state)
{
	(void)state;
	static const char *const want[] = {
		"t.yaml:2:7: listeners[1].size: expected a size such as "
		"100MiB, got \"big\"",
		"t.yaml:3:7: listeners[1].wait: expected a duration such as "
		"30s "
		"or 200ms, got \"10\"",
		"t.yaml:4:7: listeners[1].mode: expected one of "
		"alpha|beta|gamma, got \"gama\" (did you mean \"gamma\"?)",
		"t.yaml:5:1: listeners[1].sise: unknown option (did you mean "
		"\"size\"?)",
		"t.yaml:7:3: listeners[1].nested.siz: unknown option (did you "
		"mean \"size\"?)",
		"t.yaml:8:8: listeners[1].count: expected an integer such as "
		"7, "
		"got \"many\"",
		"t.yaml:9:7: listeners[1].flag: expected true or false, got "
		"\"maybe\"",
	};
	expect_option_errors("path: /tmp/x\n"
			     "size: big\n"
			     "wait: 10\n"
			     "mode: gama\n"
			     "sise: 1KiB\n"
			     "nested:\n"
			     "  siz: 1\n"
			     "count: many\n"
			     "flag: maybe\n",
			     want, sizeof(want) / sizeof(want[0]));
	static const char *const want2[] = {
		"t.yaml:1:1: listeners[1]: missing required option \"path\" "
		"(file to append JSON lines to)",
		"t.yaml:1:8: listeners[1].label: expected a string, got a list",
	};
	expect_option_errors("label: [a, b]\n", want2, 2);
}

static void test_option_table_prints_as_help(void **state)
{
	struct ttlog__plugin p;
	char err[1024], *text = NULL;
	size_t len = 0;
	(void)state;

	assert_int_equal(ttlog__plugin_load(pdir, "good", &p, err, sizeof(err)),
			 0);
	FILE *f = open_memstream(&text, &len);
	ttlog__options_help(TTLOG__OPTIONS_OF(p.api), f);
	fclose(f);
	assert_non_null(strstr(text, "good: test listener with every option"));
	assert_non_null(strstr(text, "path"));
	assert_non_null(strstr(text, "(required)"));
	assert_non_null(strstr(text, "nested.size"));
	assert_non_null(strstr(text, "one of: alpha|beta|gamma"));
	assert_non_null(strstr(text, "duration"));
	free(text);
	ttlog__plugin_unload(&p);
}

/* An ENUM_VALUES option stores the value paired with the name, not its
 * position, and its errors and help list the names as ENUM's do. */
enum shade { SHADE_LIGHT = 10, SHADE_DARK = 20 };
struct shade_opts {
	int shade;
};
static const struct ttlog_option_value shades[] = {
	{"light", SHADE_LIGHT}, {"dark", SHADE_DARK}, {NULL, 0}};
static const struct ttlog_option_spec shade_spec[] = {
	{TTLOG_OPTION_ENUM_VALUES, "shade", "light",
	 offsetof(struct shade_opts, shade), "how dark",
	 TTLOG_OPTION_VALUES(shades), 0},
	{0},
};
static const struct ttlog_listener_api shade_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "shade",
	.description = "named enum values",
	.options = shade_spec,
	.options_size = sizeof(struct shade_opts),
};

/* A MAP option (ABI 1.5) hands over key, value, ..., NULL in the YAML's
 * order; a nested value is refused at its line; a check() reason that
 * names one entry ("props.linger.ms: ...") is placed at that entry. */
struct props_opts {
	char **props;
};
static const struct ttlog_option_spec props_spec[] = {
	{TTLOG_OPTION_MAP, "props", NULL, offsetof(struct props_opts, props),
	 "passed on", NULL, 0},
	{0},
};
static const struct ttlog_listener_api props_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "props",
	.description = "a map option",
	.options = props_spec,
	.options_size = sizeof(struct props_opts),
};

static void test_map_option_keeps_entries_in_order(void **state)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;
	struct props_opts *o;
	(void)state;

	doc = load("props:\n  linger.ms: 5\n  acks: all\n  idem: true\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&props_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_non_null(o);
	assert_non_null(o->props);
	assert_string_equal(o->props[0], "linger.ms");
	assert_string_equal(o->props[1], "5");
	assert_string_equal(o->props[2], "acks");
	assert_string_equal(o->props[3], "all");
	assert_string_equal(o->props[4], "idem");
	assert_string_equal(o->props[5], "true");
	assert_null(o->props[6]);
	const struct ttlog__cfg_node *at = ttlog__options_locate(
		TTLOG__OPTIONS_OF(&props_api), ttlog__cfg_root(doc),
		"props.acks: no such value");
	assert_non_null(at);
	assert_int_equal(at->line, 3);
	assert_null(ttlog__options_locate(TTLOG__OPTIONS_OF(&props_api),
					  ttlog__cfg_root(doc),
					  "props.nope: unknown"));
	assert_null(ttlog__options_locate(TTLOG__OPTIONS_OF(&props_api),
					  ttlog__cfg_root(doc),
					  "not a key: at all"));
	ttlog__options_free(TTLOG__OPTIONS_OF(&props_api), o);
	ttlog__cfg_free(doc);
	assert_int_equal(d.n, 0);

	doc = load("{}\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&props_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_non_null(o);
	assert_null(o->props);
	ttlog__options_free(TTLOG__OPTIONS_OF(&props_api), o);
	ttlog__cfg_free(doc);

	doc = load("props:\n  a: 1\n  b:\n    c: 2\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&props_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_null(o);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "t.yaml:4:5: l.props.b: expected a "
				       "text, number or boolean, got a map");
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);

	doc = load("props: 7\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&props_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_null(o);
	assert_int_equal(d.n, 1);
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
}

static void test_enum_values_store_the_named_value(void **state)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;
	struct shade_opts *o;
	char *text = NULL;
	size_t len = 0;
	(void)state;

	doc = load("shade: dark\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&shade_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_non_null(o);
	assert_int_equal(o->shade, SHADE_DARK);
	ttlog__options_free(TTLOG__OPTIONS_OF(&shade_api), o);
	ttlog__cfg_free(doc);

	doc = load("{}\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&shade_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_non_null(o);
	assert_int_equal(o->shade, SHADE_LIGHT); /* the default, by name */
	ttlog__options_free(TTLOG__OPTIONS_OF(&shade_api), o);
	ttlog__cfg_free(doc);
	assert_int_equal(d.n, 0);

	doc = load("shade: drak\n", &d);
	o = ttlog__options_apply(TTLOG__OPTIONS_OF(&shade_api),
				 ttlog__cfg_root(doc), "l", NULL, &d);
	assert_null(o);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0],
			    "t.yaml:1:8: l.shade: expected one of light|dark, "
			    "got \"drak\" (did you mean \"dark\"?)");
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);

	FILE *f = open_memstream(&text, &len);
	ttlog__options_help(TTLOG__OPTIONS_OF(&shade_api), f);
	fclose(f);
	assert_non_null(strstr(text, "choice"));
	assert_non_null(strstr(text, "one of: light|dark"));
	free(text);
}

/* Builds a pipeline from text (plugin_dir filled in) and returns the
 * number of errors, all kept in *d. */
/* What a test caller claims, as ttlog-agent does with its own keys. */
struct claimed_service {
	char *listen;
	int64_t port;
};
static const struct ttlog_option_spec claimed_spec[] = {
	{TTLOG_OPTION_STRING, "web.listen", NULL,
	 offsetof(struct claimed_service, listen), "claimed", NULL, 0},
	{TTLOG_OPTION_INT, "port", "7", offsetof(struct claimed_service, port),
	 "claimed", NULL, 0},
	{0},
};
static const struct ttlog__option_table claimed_table = {
	.name = "service",
	.options = claimed_spec,
	.size = sizeof(struct claimed_service),
};
static const char *const claimed_sections[] = {"inputs", NULL};
static const struct ttlog__cfg_claims claims = {claimed_sections,
						&claimed_table};

static size_t build(const char *body, struct ttlog__diag *d, int agent)
{
	char text[4096];
	struct ttlog__pipeline p;
	snprintf(text, sizeof(text), "service:\n  plugin_dir: %s\n%s", pdir,
		 body);
	struct ttlog__cfg_doc *doc = load(text, d);
	if (ttlog__pipeline_build(ttlog__cfg_root(doc), agent ? &claims : NULL,
				  &p, d) == 0)
		ttlog__pipeline_release(&p);
	ttlog__cfg_free(doc);
	return d->n;
}

/* The YAML defaults and ttlog_options_init() are the same constants. */
static void test_ring_and_queue_defaults_come_from_one_place(void **state)
{
	char text[512];
	struct ttlog__diag d = {0};
	struct ttlog__pipeline p;
	struct ttlog_options o;
	(void)state;

	snprintf(text, sizeof(text),
		 "service:\n  plugin_dir: %s\n"
		 "listeners:\n  - name: a\n    type: good\n"
		 "    path: /tmp/x\n",
		 pdir);
	struct ttlog__cfg_doc *doc = load(text, &d);
	assert_int_equal(ttlog__pipeline_build(ttlog__cfg_root(doc), 0, &p, &d),
			 0);
	ttlog_options_init(&o);
	assert_int_equal(o.ring_bytes, TTLOG_DEFAULT_RING_BYTES);
	assert_int_equal(p.opts.ring_bytes, TTLOG_DEFAULT_RING_BYTES);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.listeners[0].queue_bytes, TTLOG_DEFAULT_QUEUE_BYTES);
	ttlog__pipeline_release(&p);
	ttlog__cfg_free(doc);
}

static int has_msg(const struct ttlog__diag *d, const char *want)
{
	for (size_t k = 0; k < d->n; k++)
		if (strstr(d->msgs[k], want) != NULL)
			return 1;
	for (size_t k = 0; k < d->n; k++)
		print_message("got: %s\n", d->msgs[k]);
	return 0;
}

static void test_pipeline_errors_are_all_reported(void **state)
{
	struct ttlog__diag d = {0};
	(void)state;

	build("listners: []\n"
	      "inputs: []\n"
	      "listeners:\n"
	      "  - name: a\n"
	      "    type: good\n"
	      "    path: /tmp/a\n"
	      "  - name: a\n"
	      "    type: good\n"
	      "    path: /tmp/b\n"
	      "  - name: both\n"
	      "    type: good\n"
	      "    plugin: /x.so\n"
	      "  - name: none\n"
	      "  - name: lvl\n"
	      "    type: good\n"
	      "    path: /tmp/c\n"
	      "    level: loud\n"
	      "  - name: q\n"
	      "    type: slow\n"
	      "    queue:\n"
	      "      policy: drop_middle\n",
	      &d, 0);
	assert_true(has_msg(&d, "t.yaml:3:1: listners: unknown section (did "
				"you mean \"listeners\"?)"));
	assert_true(has_msg(&d, "inputs: unknown section"));
	assert_true(has_msg(&d, "t.yaml:9:11: listeners[1]: a listener "
				"named \"a\" is already defined"));
	assert_true(has_msg(&d, "t.yaml:12:5: listeners[2]: give exactly one "
				"of \"type\""));
	assert_true(has_msg(&d, "t.yaml:15:5: listeners[3]: give exactly one "
				"of \"type\""));
	assert_true(has_msg(&d, "t.yaml:19:12: listeners[4].level: expected "
				"one of trace|debug|info|warn|error|fatal|off, "
				"got \"loud\""));
	assert_true(has_msg(
		&d, "listeners[5].queue.policy: expected one of "
		    "drop_oldest|drop_newest|block, got \"drop_middle\""));
	assert_int_equal(d.n, 7);
	ttlog__diag_free(&d);

	assert_int_equal(build("listeners: {a: 1}\n", &d, 0), 1);
	assert_true(has_msg(&d, "listeners: expected a list of listeners"));
	ttlog__diag_free(&d);
	assert_int_equal(build("  level: chatty\n", &d, 0), 1);
	assert_true(has_msg(&d, "service.level: expected one of"));
	ttlog__diag_free(&d);
	assert_int_equal(build("  ring_size: 1KiB\n", &d, 0), 1);
	assert_true(has_msg(&d, "service.ring_size: must be between 4KiB"));
	ttlog__diag_free(&d);
	/* A caller that claims inputs may have them. */
	assert_int_equal(build("inputs: []\n", &d, 1), 0);
}

/* A listener's check() (ABI 1.3) runs when the pipeline is built, its
 * refusal placed and named; a 1.2 table's slot where check() lies is not
 * read (old12.so aborts if it is); each listener's FILE:LINE is kept. */
/* Two listeners, an ABI 1.2 one and the 1.3 one with check(), each with
 * `extra` added to its section. */
static struct ttlog__cfg_doc *checked_doc(const char *extra,
					  struct ttlog__diag *d)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "service:\n  plugin_dir: %s\n"
		 "listeners:\n"
		 "  - name: old\n    type: old12\n    path: /tmp/x\n%s"
		 "  - name: picky\n    type: checked\n    path: /tmp/x\n%s",
		 pdir, extra, extra);
	return load(text, d);
}

static void test_check_runs_at_build_with_the_place(void **state)
{
	struct ttlog__diag d = {0};
	struct ttlog__pipeline p;
	struct ttlog__cfg_doc *doc;
	(void)state;

	doc = checked_doc("    colour: octarine\n", &d);
	assert_int_equal(ttlog__pipeline_build(ttlog__cfg_root(doc), 0, &p, &d),
			 -1);
	assert_int_equal(d.n, 1);
	/* At the option the reason names (colour), not the section. */
	assert_true(has_msg(&d, "t.yaml:11:13: listeners[1] (picky): colour: "
				"\"octarine\" is visible only to wizards"));
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);

	doc = checked_doc("", &d);
	assert_int_equal(ttlog__pipeline_build(ttlog__cfg_root(doc), 0, &p, &d),
			 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.where[0], "t.yaml:4");
	assert_string_equal(p.where[1], "t.yaml:7");
	ttlog__pipeline_release(&p);
	ttlog__cfg_free(doc);
}

/* Keys a caller claims in the service section are its own: checked
 * (nested keys too) and filled by its table, each unknown key reported
 * once, and unknown to a caller that does not claim them. */
static void test_claimed_service_keys(void **state)
{
	char text[4096];
	struct ttlog__diag d = {0};
	struct ttlog__pipeline p;
	(void)state;

	snprintf(text, sizeof(text),
		 "service:\n  plugin_dir: %s\n  level: warn\n"
		 "  web:\n    listen: here\n  port: 9\n",
		 pdir);
	struct ttlog__cfg_doc *doc = load(text, &d);
	assert_int_equal(
		ttlog__pipeline_build(ttlog__cfg_root(doc), &claims, &p, &d),
		0);
	const struct claimed_service *c = p.claimed;
	assert_non_null(c);
	assert_string_equal(c->listen, "here");
	assert_int_equal(c->port, 9);
	assert_int_equal(p.opts.level, TTLOG_LEVEL_WARN);
	ttlog__pipeline_release(&p);
	ttlog__cfg_free(doc);

	assert_int_equal(build("  web:\n    lisen: x\n", &d, 1), 1);
	assert_true(has_msg(&d, "service.web.lisen: unknown option"));
	ttlog__diag_free(&d);
	assert_int_equal(build("  prot: 3\n", &d, 1), 1);
	assert_true(has_msg(&d, "service.prot: unknown option (did you mean "
				"\"port\"?)"));
	ttlog__diag_free(&d);
	assert_int_equal(build("  web:\n    listen: x\n", &d, 0), 1);
	assert_true(has_msg(&d, "service.web: unknown option"));
	ttlog__diag_free(&d);
}

/* Writes a config file and returns its path (static buffer). */
static const char *write_config(const char *body)
{
	static char path[300];
	snprintf(path, sizeof(path), "%s/ttlog.yaml", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"service:\n  plugin_dir: %s\n  level: debug\n  ring_size: "
		"16MiB\n%s",
		pdir, body);
	fclose(f);
	return path;
}

static size_t count_lines(const char *path, const char *needle)
{
	char line[4096];
	size_t n = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void test_init_from_file_delivers_by_listener_level(void **state)
{
	char a[300], b[300], body[1024];
	(void)state;

	snprintf(a, sizeof(a), "%s/a.jsonl", tmp);
	snprintf(b, sizeof(b), "%s/b.jsonl", tmp);
	snprintf(body, sizeof(body),
		 "listeners:\n"
		 "  - name: everything\n"
		 "    type: good\n"
		 "    path: %s\n"
		 "    label: all\n"
		 "  - name: warnings\n"
		 "    type: good\n"
		 "    level: warn\n"
		 "    path: %s\n",
		 a, b);
	assert_int_equal(ttlog_init_from_file(write_config(body)), 0);
	assert_int_equal(ttlog_get_level(), TTLOG_LEVEL_DEBUG);
	TTLOG_TRACE("below the service level");
	TTLOG_DEBUG("debug", TTLOG_KV("n", 1));
	TTLOG_INFO("info", TTLOG_KV("n", 2));
	TTLOG_WARN("warn", TTLOG_KV("n", 3));
	TTLOG_ERROR("error", TTLOG_KV("n", 4));
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(count_lines(a, "opts label=all"), 1);
	assert_int_equal(count_lines(a, "\"msg\":"), 4);
	assert_int_equal(count_lines(a, "below"), 0);
	assert_int_equal(count_lines(b, "\"msg\":"), 2);
	assert_int_equal(count_lines(b, "\"msg\":\"warn\""), 1);
	assert_int_equal(count_lines(b, "\"msg\":\"error\""), 1);
}

static void test_refusing_listener_stalls_nothing_else(void **state)
{
	char a[300], body[1024];
	struct ttlog_stats st;
	struct ttlog_listener_stats ls;
	uint64_t n = test_scaled(50000, 2000);
	(void)state;

	snprintf(a, sizeof(a), "%s/a.jsonl", tmp);
	snprintf(body, sizeof(body),
		 "listeners:\n"
		 "  - name: stuck\n"
		 "    type: slow\n"
		 "    queue:\n"
		 "      max_bytes: 64KiB\n"
		 "      policy: drop_newest\n"
		 "  - name: broken\n"
		 "    type: slow\n"
		 "    fail: true\n"
		 "  - name: fine\n"
		 "    type: good\n"
		 "    path: %s\n",
		 a);
	assert_int_equal(ttlog_init_from_file(write_config(body)), 0);
	for (uint64_t i = 0; i < n; i++)
		TTLOG_INFO("seq", TTLOG_KV("i", i));
	/* The library's one line saying that the stuck queue began to drop
	 * is logged on the writer thread while it hands batches out; the
	 * second flush hands that line out too. */
	assert_int_equal(ttlog_flush(), 0);
	assert_int_equal(ttlog_flush(), 0);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_in, n + 1);
	assert_int_equal(ls.events_out, 0);
	assert_true(ls.dropped_queue_full > 0);
	assert_true(ls.queue_bytes <= 64 * 1024);
	assert_int_equal(ttlog_listener_stats(1, &ls), 0);
	assert_int_equal(ls.dropped_error, n + 1);
	assert_int_equal(ttlog_listener_stats(2, &ls), 0);
	assert_int_equal(ls.events_out, n + 1);
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.produced, n + 1);
	assert_int_equal(st.delivered, n + 1);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(count_lines(a, "\"msg\":\"seq\""), n);
	assert_int_equal(count_lines(a, "listener queue full, events dropped"),
			 1);
	/* Everything the stuck listener held was counted when it ended. */
	ttlog_stats(&st);
	assert_int_equal(st.listener_dropped, 2 * (n + 1));
}

static void test_init_from_file_with_errors_starts_nothing(void **state)
{
	(void)state;
	assert_int_equal(ttlog_init_from_file(write_config("listeners:\n"
							   "  - name: x\n"
							   "    type: nope\n")),
			 TTLOG_ECONFIG);
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
	assert_int_equal(ttlog_init_from_file("/nonexistent/ttlog.yaml"),
			 TTLOG_ECONFIG);
	assert_int_equal(ttlog_init_from_file(NULL), TTLOG_EINVAL);
}

/* conf/ttlog.yaml and every example load, with the plugins of this build. */
static void test_shipped_configs_are_valid(void **state)
{
	static const char *const files[] = {"conf/ttlog.yaml",
					    "conf/examples/json-stderr.yaml",
					    "conf/examples/file.yaml"};
	char logdir[] = "/tmp/ttlog-shipped-XXXXXX";
	(void)state;

	/* The file listener's check() looks at where its files would go:
	 * the example writes to ${LOG_DIR}, which a user who is not root
	 * cannot create under /var/log. */
	assert_non_null(mkdtemp(logdir));
	setenv("LOG_DIR", logdir, 1);
	setenv("TTLOG_PLUGIN_DIR", TTLOG_TEST_BUILD_PLUGIN_DIR, 1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];
		struct ttlog__diag d = {0};
		struct ttlog__pipeline p;
		snprintf(path, sizeof(path), "%s/%s", TTLOG_TEST_TOP_DIR,
			 files[i]);
		struct ttlog__cfg_doc *doc = ttlog__cfg_load_file(path, &d);
		assert_non_null(doc);
		int rc = ttlog__pipeline_build(ttlog__cfg_root(doc), 0, &p, &d);
		for (size_t k = 0; k < d.n; k++)
			print_message("%s\n", d.msgs[k]);
		assert_int_equal(rc, 0);
		assert_true(p.n >= 1);
		ttlog__pipeline_release(&p);
		ttlog__cfg_free(doc);
	}
	unsetenv("TTLOG_PLUGIN_DIR");
	unsetenv("LOG_DIR");
	assert_int_equal(rmdir(logdir), 0); /* check() created nothing */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_plugin_loads_by_type_and_by_absolute_path),
		T(test_second_load_of_a_plugin_never_aliases_the_next),
		T(test_plugin_refusals_name_the_file_and_the_reason),
		T(test_options_apply_every_type_and_the_defaults),
		T(test_option_errors_name_line_column_and_key),
		T(test_option_table_prints_as_help),
		T(test_enum_values_store_the_named_value),
		T(test_map_option_keeps_entries_in_order),
		T(test_ring_and_queue_defaults_come_from_one_place),
		T(test_claimed_service_keys),
		T(test_pipeline_errors_are_all_reported),
		T(test_check_runs_at_build_with_the_place),
		T(test_init_from_file_delivers_by_listener_level),
		T(test_refusing_listener_stalls_nothing_else),
		T(test_init_from_file_with_errors_starts_nothing),
		T(test_shipped_configs_are_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
