/*
 * test_file_paths.c - the file listener with a templated path
 * (plugins/file/file_paths.c): one file per service and per day, the
 * max_open_files bound with its evictions, idle files closed, values that
 * try to leave the directory, refused options, and a constant path that
 * stays the single file it always was.
 *
 * The plugin is loaded with dlopen as the registry loads it and driven
 * through its callbacks on batches built with the writer's internal API.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/listener.h>
#include <ttlog/template.h>

#include "batch_internal.h"
#include "file_internal.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "plugin_host.h"
#include "plugin_load.h"
#include "testutil.h"

/* 2026-03-05T23:59:59Z and one second later, the next day. */
#define DAY1 1772755199000000000ull
#define DAY2 1772755200000000000ull

static void *handle;
static const struct ttlog_listener_api *api;
static struct ttlog__plugin_host *host;
static char dir[256];

static int group_setup(void **state)
{
	(void)state;
	api = test_load_listener(TTLOG_FILE_PLUGIN, &handle);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return dlclose(handle);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ttlog-paths-XXXXXX");
	assert_non_null(mkdtemp(dir));
	umask(022);
	host = ttlog__plugin_host_new("f");
	assert_non_null(host);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;

	ttlog__plugin_host_free(host);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void opts_init(struct ttlog__file_options *o, const char *tail)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, tail);
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->format = TTLOG__FILE_TEXT;
	o->rotate_keep = 7;
	o->rotate_size = 100ull << 20; /* the option's default */
	o->fsync = TTLOG__FILE_FSYNC_EVERY_BATCH;
	o->fsync_interval_ms = 1000;
	o->mode = "0640";
	o->max_open_files = 64;
}

static struct ttlog__file *create(const struct ttlog__file_options *o)
{
	void *st = NULL;

	assert_int_equal(api->create2(o, ttlog__plugin_host_api(host), &st), 0);
	return st;
}

/* A batch of events "<service> <n>" with the given services and times. */
static struct ttlog_batch *batch(const char *const *svc, const uint64_t *t,
				 int n, int first)
{
	struct ttlog_batch *b = ttlog__batch_new(4096, 1u << 20, 1);
	struct ttlog__in_event ev;
	char msg[64];

	assert_non_null(b);
	for (int i = 0; i < n; i++) {
		struct ttlog__origin *o =
			ttlog__origin_make("h", svc[i], "in", "", "", "");
		memset(&ev, 0, sizeof(ev));
		snprintf(msg, sizeof(msg), "m%d", first + i);
		ev.time_ns = t ? t[i] : DAY1;
		ev.origin = o;
		ev.level = TTLOG_LEVEL_INFO;
		ev.msg = msg;
		ev.msg_len = strlen(msg);
		ev.msg_varies = 1;
		ev.source = "test";
		assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
		ttlog__origin_unref(o);
	}
	return b;
}

static void consume(struct ttlog__file *f, struct ttlog_batch *b)
{
	assert_int_equal(api->consume(f, b), TTLOG_LISTENER_OK);
	ttlog_batch_unref(b);
}

/* The messages of a text file joined by ',' ("m0,m2"), or NULL. */
static char *msgs_of(const char *tail)
{
	char path[600], line[512];
	static char out[8192];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, tail);
	fp = fopen(path, "r");
	if (fp == NULL)
		return NULL;
	out[0] = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *m = strstr(line, " INFO ");
		assert_non_null(m);
		m += 6;
		m[strcspn(m, " \n")] = 0;
		if (out[0])
			strcat(out, ",");
		strcat(out, m);
	}
	fclose(fp);
	return out;
}

static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load(c);
}

/* metrics() figures by name, for the checks. */
struct seen {
	double open_files, evictions;
	int n;
};

static void emit(void *ctx, const struct ttlog_metric *m)
{
	struct seen *s = ctx;

	s->n++;
	if (strcmp(m->name, "open_files") == 0)
		s->open_files = m->kind == TTLOG_METRIC_GAUGE ? m->value : -1;
	if (strcmp(m->name, "evictions") == 0)
		s->evictions = m->kind == TTLOG_METRIC_COUNTER ? m->value : -1;
}

static void test_paths_one_file_per_service(void **state)
{
	static const char *const svc[] = {"a", "a", "b", "a", "b", "b"};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	(void)state;

	opts_init(&o, "logs/${service}/app.log");
	f = create(&o);
	consume(f, batch(svc, NULL, 6, 0));
	assert_string_equal(msgs_of("logs/a/app.log"), "m0,m1,m3");
	assert_string_equal(msgs_of("logs/b/app.log"), "m2,m4,m5");
	assert_int_equal(get(&f->c.open_files), 2);
	assert_int_equal(get(&f->c.events), 6);
	/* One fsync per file written by the batch (every_batch). */
	assert_int_equal(get(&f->c.fsyncs), 2);
	api->destroy(f);
}

static void test_paths_date_boundary_names_a_new_file(void **state)
{
	static const char *const svc[] = {"a", "a", "a", "a"};
	static const uint64_t t[] = {DAY1, DAY1, DAY2,
				     DAY2 + 3600ull * 1000000000};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	(void)state;

	opts_init(&o, "%Y/%m/${service}-%Y-%m-%d.log");
	f = create(&o);
	consume(f, batch(svc, t, 4, 0));
	assert_string_equal(msgs_of("2026/03/a-2026-03-05.log"), "m0,m1");
	assert_string_equal(msgs_of("2026/03/a-2026-03-06.log"), "m2,m3");
	api->destroy(f);
}

static void test_paths_eviction_keeps_every_event_in_order(void **state)
{
	static const char *const svc[] = {"a", "b", "c", "d", "a", "c", "b"};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	char want[4][256] = {{0}};
	(void)state;

	opts_init(&o, "${service}.log");
	o.max_open_files = 2;
	f = create(&o);
	for (int round = 0; round < 5; round++)
		consume(f, batch(svc, NULL, 7, round * 7));
	for (int i = 0; i < 35; i++) {
		char *w = want[svc[i % 7][0] - 'a'];
		char m[16];
		snprintf(m, sizeof(m), "%sm%d", w[0] ? "," : "", i);
		strcat(w, m);
	}
	assert_string_equal(msgs_of("a.log"), want[0]);
	assert_string_equal(msgs_of("b.log"), want[1]);
	assert_string_equal(msgs_of("c.log"), want[2]);
	assert_string_equal(msgs_of("d.log"), want[3]);
	assert_int_equal(get(&f->c.open_files), 2);
	/* As a two-entry LRU of the same sequence evicts. */
	char lru[2] = {0, 0};
	uint64_t evicted = 0;
	for (int i = 0; i < 35; i++) {
		char c = svc[i % 7][0];
		if (lru[0] == c)
			continue;
		if (lru[1] == c) {
			lru[1] = lru[0];
			lru[0] = c;
			continue;
		}
		evicted += lru[1] != 0;
		lru[1] = lru[0];
		lru[0] = c;
	}
	assert_true(evicted > 20);
	assert_int_equal(get(&f->c.evictions), evicted);
	struct seen m = {0};
	api->metrics(f, emit, &m);
	assert_int_equal(m.n, 4);
	assert_true(m.open_files == 2 && m.evictions == (double)evicted);
	assert_int_equal(get(&f->c.path_drops), 0);
	api->destroy(f);
}

static void test_paths_values_cannot_leave_the_directory(void **state)
{
	static const char *const svc[] = {"../../etc", "..", "", "a/b", ".x"};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	struct dirent *e;
	DIR *d;
	int n = 0;
	(void)state;

	opts_init(&o, "in/${service}/x.log");
	f = create(&o);
	consume(f, batch(svc, NULL, 5, 0));
	api->destroy(f);
	assert_string_equal(msgs_of("in/_._.._etc/x.log"), "m0");
	assert_string_equal(msgs_of("in/_./x.log"), "m1");
	assert_string_equal(msgs_of("in/_/x.log"), "m2");
	assert_string_equal(msgs_of("in/a_b/x.log"), "m3");
	assert_string_equal(msgs_of("in/_x/x.log"), "m4");
	/* Nothing else was made, in the directory or beside it. */
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 1);
}

/* A write cut short by RLIMIT_FSIZE (the tests run as root, so
 * permissions cannot make one fail) in the middle of a run: the batch is
 * answered RETRY, and the same batch offered again goes on from the byte
 * reached, in the same file, neither losing nor repeating an event. */
static void test_paths_failed_write_resumes_exactly(void **state)
{
	static const char *const svc[] = {"a", "a", "b", "b",
					  "a", "a", "a", "b"};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	struct ttlog_batch *b;
	struct rlimit saved, small = {150, 150};
	(void)state;

	opts_init(&o, "${service}.log");
	o.fsync = TTLOG__FILE_FSYNC_NEVER;
	f = create(&o);
	/* 36-byte lines: a.log takes m0 m1 m4 m5 and 6 bytes of m6. */
	b = batch(svc, NULL, 8, 0);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &saved);
	small.rlim_max = saved.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(api->consume(f, b), TTLOG_LISTENER_RETRY);
	assert_int_equal(api->consume(f, b), TTLOG_LISTENER_RETRY);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	assert_int_equal(get(&f->c.write_errors), 2);
	assert_int_equal(get(&f->c.events), 0);
	assert_int_equal(api->consume(f, b), TTLOG_LISTENER_OK);
	ttlog_batch_unref(b);
	assert_int_equal(get(&f->c.events), 8);
	assert_string_equal(msgs_of("a.log"), "m0,m1,m4,m5,m6");
	assert_string_equal(msgs_of("b.log"), "m2,m3,m7");
	api->destroy(f);
}

static void test_paths_idle_files_close(void **state)
{
	static const char *const a[] = {"a"}, *const b[] = {"b"};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	struct timespec ts = {0, 20 * 1000000};
	(void)state;

	opts_init(&o, "${service}.log");
	o.idle_close_ms = 10;
	f = create(&o);
	consume(f, batch(a, NULL, 1, 0));
	assert_int_equal(get(&f->c.open_files), 1);
	nanosleep(&ts, NULL);
	consume(f, batch(b, NULL, 1, 1));
	assert_int_equal(get(&f->c.idle_closes), 1);
	assert_int_equal(get(&f->c.open_files), 1);
	assert_string_equal(msgs_of("a.log"), "m0");
	assert_string_equal(msgs_of("b.log"), "m1");
	api->destroy(f);
}

static void test_paths_constant_path_is_one_file(void **state)
{
	static const char *const svc[] = {"a", "b"};
	struct ttlog__file_options o;
	struct ttlog__file *f;
	(void)state;

	opts_init(&o, "plain-100%%-$$.log");
	f = create(&o);
	assert_null(f->paths);
	assert_true(f->fd >= 0); /* opened at creation, as always */
	consume(f, batch(svc, NULL, 2, 0));
	assert_string_equal(msgs_of("plain-100%-$.log"), "m0,m1");
	assert_int_equal(get(&f->c.open_files), 0);
	struct seen m = {0};
	api->metrics(f, emit, &m);
	assert_int_equal(m.n, 0); /* no new figures for a single file */
	api->destroy(f);
}

static void refused(struct ttlog__file_options *o, const char *want)
{
	char err[600] = "";
	void *st = NULL;

	assert_int_equal(api->check(o, err, sizeof(err)), TTLOG_EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, want);
	assert_int_not_equal(api->create2(o, ttlog__plugin_host_api(host), &st),
			     0);
	assert_null(st);
}

static void test_paths_bad_options_refused(void **state)
{
	struct ttlog__file_options o;
	char err[600] = "";
	(void)state;

	char want[300];
	size_t col = strlen(dir) + 2; /* where the tail starts */

	opts_init(&o, "${service");
	snprintf(want, sizeof(want), "path: column %zu: unterminated ${", col);
	refused(&o, want);
	opts_init(&o, "x-%Q.log");
	snprintf(want, sizeof(want), "path: column %zu: unknown date pattern",
		 col + 2);
	refused(&o, want);
	opts_init(&o, "${}.log");
	refused(&o, "empty name");
	opts_init(&o, "${service}.log");
	o.format = TTLOG__FILE_BINARY;
	refused(&o, "format: binary cannot be used with a templated path");
	opts_init(&o, "${service}.log");
	o.rotate_interval_ms = 1000;
	refused(&o, "rotate.interval: not with a templated path");
	opts_init(&o, "${service}.log");
	o.rotate_size = 1000;
	refused(&o, "rotate.size: not with a templated path");
	opts_init(&o, "${service}.log");
	o.dir_mode = "0999";
	refused(&o, "dir_mode:");
	/* A good templated path passes check() without making anything. */
	opts_init(&o, "new/${service}/%Y.log");
	assert_int_equal(api->check(&o, err, sizeof(err)), 0);
	assert_null(msgs_of("new"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paths_one_file_per_service,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_paths_date_boundary_names_a_new_file, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_paths_eviction_keeps_every_event_in_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_paths_values_cannot_leave_the_directory, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_paths_failed_write_resumes_exactly, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_paths_idle_files_close,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_paths_constant_path_is_one_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_bad_options_refused,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
