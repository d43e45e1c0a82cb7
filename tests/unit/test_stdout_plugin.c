/* test_stdout_plugin.c - the stdout listener through ttlog_init_from_file:
 * text and JSON, stdout and stderr, colours on a terminal only, NO_COLOR,
 * and a pipe nobody reads, which must not block the writer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "testutil.h"
#include "unread_pipe.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ttlog-stdout-XXXXXX");
	assert_non_null(mkdtemp(dir));
	unsetenv("NO_COLOR");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("NO_COLOR");
	return 0;
}

static const char *config(const char *options)
{
	static char path[300];
	snprintf(path, sizeof(path), "%s/ttlog.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"service:\n"
		"  plugin_dir: %s\n"
		"listeners:\n"
		"  - name: console\n"
		"    type: stdout\n"
		"%s",
		TTLOG_TEST_BUILD_PLUGIN_DIR, options);
	fclose(f);
	return path;
}

/* Runs one logging session with fd `which` pointing at `target`, and
 * returns what was written there (malloc'd). target < 0: a file. */
static char *capture(int which, const char *options, int target_fd, int read_fd)
{
	char path[300], *out = calloc(1, 65536);
	int saved = dup(which), fd = target_fd;

	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/out", dir);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		read_fd = fd;
	}
	fflush(NULL);
	dup2(fd, which);
	int rc = ttlog_init_from_file(config(options));
	if (rc == 0) {
		TTLOG_INFO("request done", TTLOG_KV("id", 42),
			   TTLOG_KV("path", "/a b"));
		TTLOG_ERROR("it broke", TTLOG_KV("code", -1));
		rc = ttlog_shutdown();
	}
	dup2(saved, which);
	close(saved);
	assert_int_equal(rc, 0);
	if (target_fd < 0)
		lseek(read_fd, 0, SEEK_SET);
	ssize_t n = read(read_fd, out, 65535);
	assert_true(n > 0);
	if (target_fd < 0)
		close(fd);
	return out;
}

static void test_text_to_stdout_without_colour_when_not_a_terminal(void **s)
{
	(void)s;
	char *out = capture(STDOUT_FILENO, "", -1, -1);
	assert_non_null(
		strstr(out, "Z INFO request done id=42 path=\"/a b\"\n"));
	assert_non_null(strstr(out, "Z ERROR it broke code=-1\n"));
	assert_null(strchr(out, '\033'));
	free(out);
}

static void test_json_to_stderr(void **s)
{
	(void)s;
	char *out = capture(STDERR_FILENO,
			    "    format: json\n    stream: stderr\n", -1, -1);
	assert_non_null(strstr(out, "\"level\":\"INFO\",\"host\":\""));
	assert_non_null(strstr(out, "\"msg\":\"request done\""));
	assert_non_null(strstr(out, "\"id\":42,\"path\":\"/a b\"}\n"));
	assert_non_null(strstr(out, "\"msg\":\"it broke\""));

	/* And a strict JSON reader takes every line: "request done" is
	 * 72657175657374...; id is an integer. */
	char path[300], cmd[1024], line[512];
	int id_ok = 0, msg_ok = 0;
	snprintf(path, sizeof(path), "%s/json", dir);
	FILE *f = fopen(path, "w");
	fputs(out, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s %s/jsonl_check.py %s",
		 TTLOG_TEST_PYTHON3, TTLOG_TEST_SOURCE_DIR, path);
	FILE *py = popen(cmd, "r");
	assert_non_null(py);
	while (fgets(line, sizeof(line), py) != NULL) {
		id_ok |= strcmp(line, "0 id i:42\n") == 0;
		msg_ok |=
			strcmp(line, "0 msg s:7265717565737420646f6e65\n") == 0;
	}
	assert_int_equal(pclose(py), 0);
	assert_true(id_ok);
	assert_true(msg_ok);
	free(out);
}

static void test_colour_always_marks_the_level(void **s)
{
	(void)s;
	char *out = capture(STDOUT_FILENO, "    color: always\n", -1, -1);
	assert_non_null(strstr(out, " \033[32mINFO\033[0m request done"));
	assert_non_null(strstr(out, " \033[31mERROR\033[0m it broke"));
	free(out);
}

static int open_pty(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	*slave = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(*slave >= 0);
	return m;
}

static void test_colour_auto_on_a_terminal_and_no_color(void **s)
{
	int slave, m = open_pty(&slave);
	(void)s;

	char *out = capture(STDOUT_FILENO, "", slave, m);
	assert_non_null(strstr(out, "\033[32mINFO\033[0m"));
	free(out);
	setenv("NO_COLOR", "1", 1);
	out = capture(STDOUT_FILENO, "", slave, m);
	assert_non_null(strstr(out, "INFO request done"));
	assert_null(strchr(out, '\033'));
	free(out);
	close(slave);
	close(m);
}

static void test_unknown_option_is_refused_with_a_suggestion(void **s)
{
	(void)s;
	int saved = dup(STDERR_FILENO), fd;
	char path[300], buf[4096] = "";

	snprintf(path, sizeof(path), "%s/err", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDERR_FILENO);
	int rc = ttlog_init_from_file(config("    colour: never\n"));
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(rc, TTLOG_ECONFIG);
	lseek(fd, 0, SEEK_SET);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_non_null(strstr(buf, "ttlog.yaml:6:5: listeners[0].colour: "
				    "unknown option (did you mean "
				    "\"color\"?)"));
}

static void test_an_unread_pipe_never_blocks_and_lines_stay_whole(void **s)
{
	const int n = 20000;
	struct ttlog_listener_stats st;
	int p[2], saved = dup(STDOUT_FILENO);
	size_t len = 0, cap = 0;
	char *buf = NULL;
	(void)s;

	assert_int_equal(pipe(p), 0);
	/* The test's own end only; the listener's end is as a shell would
	 * give it: blocking. */
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	fflush(NULL);
	dup2(p[1], STDOUT_FILENO);
	close(p[1]);
	/* A writer stuck in write() never finishes a flush: the alarm ends
	 * the test as a failure instead of hanging it. */
	alarm(60);
	assert_int_equal(
		ttlog_init_from_file(config("    format: json\n"
					    "    queue: {max_bytes: 64KiB}\n")),
		0);
	unread_pipe_log_then_read(p[0], n, &st, &buf, &len, &cap);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_int_equal(ttlog_shutdown(), 0);
	while (read_some(p[0], &buf, &len, &cap) != 0)
		;
	alarm(0);
	close(p[0]);
	/* Whole lines, each event once, in order. */
	assert_int_equal(assert_whole_seq_lines(buf, len), st.events_out);
	free(buf);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_text_to_stdout_without_colour_when_not_a_terminal),
		T(test_json_to_stderr),
		T(test_colour_always_marks_the_level),
		T(test_colour_auto_on_a_terminal_and_no_color),
		T(test_unknown_option_is_refused_with_a_suggestion),
		T(test_an_unread_pipe_never_blocks_and_lines_stay_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
