/* test_file_fifo.c - the file listener on a FIFO and on a character
 * device, through ttlog_init_from_file: a FIFO nobody reads never blocks
 * the writer, what it cannot take is held back or dropped (counted), and
 * what comes out is whole lines, each once. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "testutil.h"
#include "unread_pipe.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ttlog-fifo-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *config(const char *path, const char *more)
{
	static char cfg[300];
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/ttlog.yaml", dir);
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f,
		"service:\n"
		"  plugin_dir: %s\n"
		"listeners:\n"
		"  - name: out\n"
		"    type: file\n"
		"    format: json\n"
		"    path: '%s'\n"
		"%s",
		TTLOG_TEST_BUILD_PLUGIN_DIR, path, more);
	fclose(f);
	return cfg;
}

static void test_a_fifo_nobody_reads_never_blocks_the_writer(void **s)
{
	const int n = 20000;
	struct ttlog_listener_stats st;
	char fifo[300], *buf = NULL;
	size_t len = 0, cap = 0;
	int rfd;
	(void)s;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* Nobody has it open for reading: refused, not waited for. */
	assert_int_not_equal(ttlog_init_from_file(config(fifo, "")), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	/* A writer stuck in write() never finishes a flush: the alarm ends
	 * the test as a failure instead of hanging it. */
	alarm(60);
	assert_int_equal(ttlog_init_from_file(config(
				 fifo, "    queue: {max_bytes: 64KiB}\n")),
			 0);
	unread_pipe_log_then_read(rfd, n, &st, &buf, &len, &cap);
	assert_int_equal(ttlog_shutdown(), 0);
	while (read_some(rfd, &buf, &len, &cap) != 0)
		;
	alarm(0);
	close(rfd);
	assert_int_equal(assert_whole_seq_lines(buf, len), st.events_out);
	free(buf);
}

static void test_a_character_device_is_taken(void **s)
{
	struct ttlog_listener_stats st;
	(void)s;

	assert_int_equal(ttlog_init_from_file(config("/dev/null", "")), 0);
	for (int i = 0; i < 1000; i++)
		TTLOG_INFO("n", TTLOG_KV("seq", i));
	ttlog_flush();
	assert_int_equal(ttlog_listener_stats(0, &st), 0);
	assert_true(st.events_in >= 1000);
	assert_int_equal(st.events_out, st.events_in);
	assert_int_equal(ttlog_shutdown(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_a_fifo_nobody_reads_never_blocks_the_writer),
		T(test_a_character_device_is_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
