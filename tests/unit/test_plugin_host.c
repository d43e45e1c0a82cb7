/* test_plugin_host.c - the listener ABI 1.2 host (core/plugin_host.c) and
 * the older ABI beside it: a plugin built for 1.1 still loads, starts with
 * an event_base and receives events; a 1.2 plugin logs under its name,
 * gets timers and fd watches, is bounded in how much it may log, and is
 * named when its create2 fails. Plugins from tests/plugins. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "host_internal.h"
#include "lib_internal.h"
#include "plugin_host.h"
#include "registry_internal.h"
#include "testutil.h"

static const char *pdir = TTLOG_TEST_PLUGIN_DIR;
static char tmp[256];
static int stderr_saved = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/ttlog-host-XXXXXX");
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

static const char *in_tmp(const char *name)
{
	static char path[4][300];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(path[slot], sizeof(path[slot]), "%s/%s", tmp, name);
	return path[slot];
}

static const char *write_config(const char *body)
{
	const char *path = in_tmp("ttlog.yaml");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "service:\n  plugin_dir: %s\n  level: debug\n%s", pdir,
		body);
	fclose(f);
	return path;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Standard error into a file until stderr_end(), which returns it. */
static void stderr_begin(void)
{
	int fd = open(in_tmp("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	stderr_saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *stderr_end(void)
{
	fflush(stderr);
	dup2(stderr_saved, STDERR_FILENO);
	close(stderr_saved);
	return slurp(in_tmp("stderr.txt"));
}

static char *stderr_now(void)
{
	return slurp(in_tmp("stderr.txt"));
}

/* Waits up to 5 s for `needle` in the file at path. */
static int wait_for_text(const char *path, const char *needle)
{
	for (int i = 0; i < 500; i++) {
		char *t = slurp(path);
		int found = strstr(t, needle) != NULL;
		free(t);
		if (found)
			return 1;
		usleep(10000);
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */

static void test_abi_1_1_plugin_loads_starts_and_receives_events(void **s)
{
	struct ttlog__plugin p;
	char err[1024] = "", body[512], *out;
	const char *path = in_tmp("old.jsonl");
	(void)s;

	/* The loader takes the 1.1 table as it is. */
	assert_int_equal(
		ttlog__plugin_load(pdir, "old11", &p, err, sizeof(err)), 0);
	assert_int_equal(p.api->abi_version, (1u << 16) | 1u);
	ttlog__plugin_unload(&p);

	snprintf(body, sizeof(body),
		 "listeners:\n  - name: legacy\n    type: old11\n"
		 "    path: %s\n",
		 path);
	/* Its reserved slots hold a function that aborts: were they read
	 * as create2/start2, this would not return. */
	assert_int_equal(ttlog_init_from_file(write_config(body)), 0);
	for (int i = 0; i < 3; i++)
		TTLOG_INFO("old", TTLOG_KV("i", i));
	assert_int_equal(ttlog_shutdown(), 0);
	out = slurp(path);
	/* start(state, base) got the writer's loop, before any batch. */
	assert_true(strncmp(out, "started base=1\n", 15) == 0);
	assert_int_equal(count_of(out, "\"msg\":\"old\""), 3);
	assert_non_null(strstr(out, "\"i\":2"));
	free(out);
}

static void test_hosted_listener_logs_by_name_and_its_timers_fire(void **s)
{
	char body[512], *err, *out;
	const char *path = in_tmp("hosted.jsonl");
	(void)s;

	snprintf(body, sizeof(body),
		 "listeners:\n  - name: mine\n    type: hosted\n"
		 "    path: %s\n",
		 path);
	stderr_begin();
	assert_int_equal(ttlog_init_from_file(write_config(body)), 0);
	/* A one-shot timer, a periodic one and a read watch, all from
	 * start2() through the host. */
	assert_true(wait_for_text(path, "oneshot\n"));
	assert_true(wait_for_text(path, "tick\n"));
	assert_true(wait_for_text(path, "watch\n"));
	TTLOG_INFO("payload", TTLOG_KV("n", 7));
	/* The report from the timer went through the library's log too, as
	 * an event naming the listener. */
	assert_true(wait_for_text(path, "\"report\":\"timer fired\""));
	assert_int_equal(ttlog_shutdown(), 0);
	err = stderr_end();
	/* Lines on stderr carry the instance name, not the type. */
	assert_int_equal(count_of(err, "ttlog: listener mine: created: "
				       "name=mine\n"),
			 1);
	assert_int_equal(count_of(err, "ttlog: listener mine: timer fired\n"),
			 1);
	assert_int_equal(count_of(err, "hosted:"), 0);
	out = slurp(path);
	assert_int_equal(count_of(out, "\"msg\":\"payload\""), 1);
	assert_int_equal(count_of(out, "\"listener\":\"mine\""), 1);
	assert_int_equal(count_of(out, "oneshot\n"), 1);
	assert_int_equal(count_of(out, "watch\n"), 1);
	free(out);
	free(err);
}

static void test_create2_failure_names_the_listener(void **s)
{
	char body[512], *err;
	(void)s;

	snprintf(body, sizeof(body),
		 "listeners:\n  - name: fine\n    type: hosted\n"
		 "    path: %s\n"
		 "  - name: bad\n    type: hosted\n    fail: true\n"
		 "    path: %s\n",
		 in_tmp("a.jsonl"), in_tmp("b.jsonl"));
	stderr_begin();
	assert_int_equal(ttlog_init_from_file(write_config(body)),
			 TTLOG_ELISTENER);
	err = stderr_end();
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
	/* The listener's own reason, under its name... */
	assert_int_equal(count_of(err, "ttlog: listener bad: refused: fail is "
				       "set\n"),
			 1);
	/* ...and the library's verdict, naming it. */
	assert_int_equal(count_of(err, "ttlog: listener bad: create failed: "
				       "type hosted\n"),
			 1);
	/* One line: which listener, where its section is, and why. */
	snprintf(body, sizeof(body),
		 "ttlog: cannot start: listener bad (%s:8): create failed: "
		 "refused: fail is set\n",
		 in_tmp("ttlog.yaml"));
	assert_int_equal(count_of(err, body), 1);
	/* The verdict carries the listener's own reason, so that a
	 * caller's single line says why (ttlog-agent's "cannot start"). */
	assert_string_equal(ttlog__listener_failure(),
			    "listener bad (type hosted): create failed: "
			    "refused: fail is set");
	{
		const char *name, *reason;
		ttlog__listener_failure_parts(&name, &reason);
		assert_string_equal(name, "bad");
		assert_string_equal(reason,
				    "create failed: refused: fail is set");
	}
	assert_null(strstr(err, "listener fine: create failed"));
	free(err);
}

static void test_host_log_is_bounded_per_listener(void **s)
{
	char body[512], *err = NULL;
	double t0, elapsed;
	size_t lines;
	(void)s;

	/* 25 lines in create2, then one per tick (every 10 ms): the host
	 * lets 10 a second through and says how many it left out. */
	snprintf(body, sizeof(body),
		 "listeners:\n  - name: loud\n    type: hosted\n"
		 "    spam: 25\n    tick_log: true\n    path: %s\n",
		 in_tmp("loud.jsonl"));
	stderr_begin();
	t0 = now_s();
	assert_int_equal(ttlog_init_from_file(write_config(body)), 0);
	for (int i = 0; i < 500; i++) {
		free(err);
		err = stderr_now();
		if (strstr(err, "earlier lines suppressed") != NULL)
			break;
		usleep(10000);
	}
	assert_int_equal(ttlog_shutdown(), 0);
	elapsed = now_s() - t0;
	free(err);
	err = stderr_end();
	assert_int_equal(count_of(err, "ttlog: listener loud: spam: "), 10);
	assert_non_null(strstr(err, "earlier lines suppressed)"));
	lines = count_of(err, "ttlog: listener loud: ");
	assert_true(lines > 10);
	assert_true((double)lines <= 10.0 * (elapsed + 1.0));
	free(err);
}

/* A clock the test moves: the host's bounds read it instead of time. */
static uint64_t fake_ns;

static uint64_t fake_now(void *arg)
{
	(void)arg;
	return fake_ns;
}

/* The count N of every "(repeated N times" in text, summed. */
static uint64_t repeats_in(const char *text, size_t *lines)
{
	uint64_t sum = 0;
	const char *p = text;

	*lines = 0;
	while ((p = strstr(p, "(repeated ")) != NULL) {
		sum += strtoull(p + strlen("(repeated "), NULL, 10);
		(*lines)++;
		p++;
	}
	return sum;
}

/* A host named "fwd" on the fake clock, its standard error captured. */
static struct ttlog__plugin_host *fake_host(const struct ttlog_host **pub)
{
	struct ttlog__plugin_host *h = ttlog__plugin_host_new("fwd");

	assert_non_null(h);
	*pub = ttlog__plugin_host_api(h);
	fake_ns = 100000000000u;
	ttlog__plugin_host_set_clock(h, fake_now, NULL);
	stderr_begin();
	return h;
}

static void test_identical_lines_print_once_then_counts(void **s)
{
	const struct ttlog_host *pub;
	struct ttlog__plugin_host *h = fake_host(&pub);
	const uint64_t step = 10000000u; /* 10 ms: 1,200 lines in 12 s */
	char *err;
	size_t summaries;
	(void)s;

	for (int i = 0; i < 1200; i++) {
		pub->log(pub, TTLOG_LEVEL_ERROR, "spool", "%s: write: %s",
			 "/var/spool/x", "No space left on device");
		fake_ns += step;
		if (i % 100 == 99) /* the writer's once-a-second tick */
			ttlog__plugin_host_tick(h);
	}
	/* Still within the quiet period: the run is not over yet. */
	ttlog__plugin_host_tick(h);
	err = stderr_now();
	assert_int_equal(count_of(err, "No space left on device"), 3);
	free(err);
	/* Two seconds without it: the final count. */
	fake_ns += 2000000000u;
	ttlog__plugin_host_tick(h);
	err = stderr_end();
	/* The line once, then a count at 5 s and 10 s (from the tick, or
	 * the next repeat, whichever comes first) and when it stopped. */
	assert_int_equal(count_of(err, "ttlog: listener fwd: spool: "
				       "/var/spool/x: write: No space left "
				       "on device"),
			 4);
	assert_int_equal(count_of(err, "\n"), 4);
	assert_int_equal(repeats_in(err, &summaries), 1199);
	assert_int_equal(summaries, 3);
	assert_non_null(strstr(err, "(repeated 500 times in the last 5s)"));
	assert_non_null(strstr(err, "(repeated 200 times in the last 4s)"));
	free(err);
	ttlog__plugin_host_free(h);
}

static void test_a_different_line_ends_a_run_with_its_count(void **s)
{
	const struct ttlog_host *pub;
	struct ttlog__plugin_host *h = fake_host(&pub);
	char *err, *first, *count, *other;
	size_t summaries;
	(void)s;

	for (int i = 0; i < 8; i++)
		pub->log(pub, TTLOG_LEVEL_WARN, "connect failed", "refused");
	pub->log(pub, TTLOG_LEVEL_INFO, "connected", NULL);
	/* A run cut short by the end of the listener is counted too. */
	pub->log(pub, TTLOG_LEVEL_INFO, "connected", NULL);
	ttlog__plugin_host_free(h);
	err = stderr_end();
	first = strstr(err, "connect failed: refused\n");
	count = strstr(err, "connect failed: refused (repeated 7 times");
	other = strstr(err, "listener fwd: connected\n");
	assert_non_null(first);
	assert_non_null(count);
	assert_non_null(other);
	assert_true(first < count && count < other);
	assert_int_equal(repeats_in(err, &summaries), 8);
	assert_int_equal(summaries, 2);
	free(err);
}

/* flush() runs on the writer's timer in any program: the buffered
 * listener writes only in flush(), and its file fills without
 * ttlog_flush() or shutdown. */
static void test_flush_runs_on_a_timer_while_running(void **s)
{
	char body[512];
	const char *out = in_tmp("buffered.jsonl");
	(void)s;

	snprintf(body, sizeof(body),
		 "listeners:\n  - name: buf\n    type: buffered\n"
		 "    path: %s\n",
		 out);
	assert_int_equal(ttlog_init_from_file(write_config(body)), 0);
	TTLOG_INFO("held until flush");
	assert_true(wait_for_text(out, "held until flush"));
	assert_int_equal(ttlog_shutdown(), 0);
}

/* In an application (no loss callback) the library says a listener's loss
 * at shutdown itself, with its name and the count it held. */
static void test_shutdown_names_the_listener_and_its_loss(void **s)
{
	char *err;
	(void)s;

	stderr_begin();
	assert_int_equal(ttlog_init_from_file(write_config(
				 "listeners:\n  - name: stuck\n    type: slow\n"
				 "    level: error\n")),
			 0);
	for (int i = 0; i < 25; i++)
		TTLOG_ERROR("held", TTLOG_KV("i", (int64_t)i));
	TTLOG_INFO("below the listener's level");
	assert_int_equal(ttlog_shutdown(), 0);
	err = stderr_end();
	assert_non_null(strstr(err, "ttlog: listener stuck: 25 events lost at "
				    "shutdown (still refused (RETRY) at the "
				    "end)\n"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_abi_1_1_plugin_loads_starts_and_receives_events),
		T(test_hosted_listener_logs_by_name_and_its_timers_fire),
		T(test_create2_failure_names_the_listener),
		T(test_host_log_is_bounded_per_listener),
		T(test_identical_lines_print_once_then_counts),
		T(test_a_different_line_ends_a_run_with_its_count),
		T(test_flush_runs_on_a_timer_while_running),
		T(test_shutdown_names_the_listener_and_its_loss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
