/*
 * test_multiline.c - the multiline joiner of the tail input
 * (core/parse/multiline_internal.h): each way of joining, the presets on
 * real-looking traces, the timeout, the cut at max_bytes with its dropped
 * lines, and the file offsets events carry for the input's checkpoints.
 *
 * Lines are fed as a file would give them: each with the offset after its
 * '\n', so that an event's end_off can be checked against the file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

#include "multiline_internal.h"

#define MAX_EVENTS 64

struct got {
	uint32_t n;
	char *text[MAX_EVENTS];
	size_t len[MAX_EVENTS];
	uint32_t lines[MAX_EVENTS];
	int cut[MAX_EVENTS];
	uint64_t end_off[MAX_EVENTS];
};

/* A joiner with its rule, the events it emitted, and the file offset
 * reached so far. */
struct fix {
	struct ttlog__ml_rule *r;
	struct ttlog__ml *m;
	struct got g;
	uint64_t off;
	uint64_t now;
};

static void on_event(void *arg, const char *text, size_t len, uint32_t lines,
		     int cut, uint64_t end_off)
{
	struct got *g = arg;

	assert_true(g->n < MAX_EVENTS);
	g->text[g->n] = malloc(len + 1);
	assert_non_null(g->text[g->n]);
	memcpy(g->text[g->n], text, len);
	g->text[g->n][len] = '\0';
	g->len[g->n] = len;
	g->lines[g->n] = lines;
	g->cut[g->n] = cut;
	g->end_off[g->n] = end_off;
	g->n++;
}

static void fix_init(struct fix *f, const struct ttlog__ml_opts *o)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	assert_int_equal(ttlog__ml_rule_new(o, &f->r, err, sizeof(err)), 0);
	f->m = ttlog__ml_new(f->r);
	assert_non_null(f->m);
	f->now = 1000;
}

static void fix_destroy(struct fix *f)
{
	for (uint32_t i = 0; i < f->g.n; i++)
		free(f->g.text[i]);
	ttlog__ml_free(f->m);
	ttlog__ml_rule_free(f->r);
}

/* Feeds one line of the file (the offset moves past its '\n'). */
static void feed(struct fix *f, const char *line)
{
	size_t len = strlen(line);

	f->off += len + 1;
	assert_int_equal(ttlog__ml_feed(f->m, line, len, f->now, f->off,
					on_event, &f->g),
			 0);
}

static void flush(struct fix *f)
{
	(void)ttlog__ml_flush(f->m, f->now, 1, on_event, &f->g);
}

static void check_event(const struct fix *f, uint32_t i, const char *text,
			uint32_t lines, int cut)
{
	assert_true(i < f->g.n);
	assert_string_equal(f->g.text[i], text);
	assert_int_equal(f->g.len[i], strlen(text));
	assert_int_equal(f->g.lines[i], lines);
	assert_int_equal(f->g.cut[i], cut);
}

static void test_ml_start_joins_until_next_start(void **state)
{
	struct ttlog__ml_opts o = {.mode = TTLOG__ML_START,
				   .start = "^\\d{4}-\\d\\d-\\d\\d",
				   .timeout_ms = 1000,
				   .max_bytes = 1 << 20};
	struct fix f;

	(void)state;
	fix_init(&f, &o);
	feed(&f, "before the first start");
	feed(&f, "  still before");
	assert_int_equal(f.g.n, 0);
	assert_int_equal(ttlog__ml_pending(f.m),
			 strlen("before the first "
				"start\n  still before"));
	feed(&f, "2024-01-02 one");
	check_event(&f, 0, "before the first start\n  still before", 2, 0);
	assert_int_equal(f.g.end_off[0], 38); /* 23 + 15 */
	feed(&f, "continued");
	feed(&f, "");
	feed(&f, "2024-01-03 two");
	check_event(&f, 1, "2024-01-02 one\ncontinued\n", 3, 0);
	/* The end of "2024-01-02 one", "continued" and the empty line. */
	assert_int_equal(f.g.end_off[1], 38 + 15 + 10 + 1);
	assert_int_equal(f.g.n, 2);
	flush(&f);
	check_event(&f, 2, "2024-01-03 two", 1, 0);
	assert_int_equal(f.g.end_off[2], f.off);
	assert_int_equal(ttlog__ml_pending(f.m), 0);
	assert_int_equal(ttlog__ml_dropped_lines(f.m), 0);
	fix_destroy(&f);
}

static void test_ml_indent_continues_indented_lines(void **state)
{
	struct ttlog__ml_opts o = {.mode = TTLOG__ML_INDENT,
				   .timeout_ms = 1000,
				   .max_bytes = 1 << 20};
	struct fix f;

	(void)state;
	fix_init(&f, &o);
	feed(&f, "\tindented first line");
	feed(&f, "a");
	feed(&f, " b");
	feed(&f, "\tc");
	feed(&f, "");
	feed(&f, "d");
	flush(&f);
	assert_int_equal(f.g.n, 4);
	check_event(&f, 0, "\tindented first line", 1, 0);
	check_event(&f, 1, "a\n b\n\tc", 3, 0);
	check_event(&f, 2, "", 1, 0);
	check_event(&f, 3, "d", 1, 0);
	assert_int_equal(f.g.end_off[1], 21 + 2 + 3 + 3);
	assert_int_equal(f.g.end_off[2], 21 + 2 + 3 + 3 + 1);
	fix_destroy(&f);
}

static void test_ml_backslash_removed_and_emitted_at_once(void **state)
{
	struct ttlog__ml_opts o = {.mode = TTLOG__ML_BACKSLASH,
				   .timeout_ms = 1000,
				   .max_bytes = 1 << 20};
	struct fix f;

	(void)state;
	fix_init(&f, &o);
	feed(&f, "one");
	/* A line without a backslash ends its event at once. */
	check_event(&f, 0, "one", 1, 0);
	assert_int_equal(f.g.end_off[0], 4);
	feed(&f, "a \\");
	feed(&f, "b\\");
	assert_int_equal(f.g.n, 1);
	assert_int_equal(ttlog__ml_pending(f.m), strlen("a \nb\\"));
	feed(&f, "c");
	check_event(&f, 1, "a \nb\nc", 3, 0);
	assert_int_equal(f.g.end_off[1], 4 + 4 + 3 + 2);
	/* A line left waiting keeps its backslash when flushed. */
	feed(&f, "tail\\");
	flush(&f);
	check_event(&f, 2, "tail\\", 1, 0);
	feed(&f, "\\");
	feed(&f, "");
	check_event(&f, 3, "\n", 2, 0);
	fix_destroy(&f);
}

static void test_ml_timeout_not_due_due_force(void **state)
{
	struct ttlog__ml_opts o = {.mode = TTLOG__ML_INDENT,
				   .timeout_ms = 500,
				   .max_bytes = 1 << 20};
	struct fix f;

	(void)state;
	fix_init(&f, &o);
	assert_int_equal(ttlog__ml_flush(f.m, 99999, 1, on_event, &f.g), 0);
	feed(&f, "a");
	feed(&f, " b");
	assert_int_equal(ttlog__ml_last_ms(f.m), 1000);
	assert_int_equal(ttlog__ml_flush(f.m, 1499, 0, on_event, &f.g), 0);
	assert_int_equal(f.g.n, 0);
	assert_int_equal(ttlog__ml_flush(f.m, 1500, 0, on_event, &f.g), 1);
	check_event(&f, 0, "a\n b", 2, 0);
	assert_int_equal(f.g.end_off[0], 5);
	assert_int_equal(ttlog__ml_pending(f.m), 0);
	assert_int_equal(ttlog__ml_flush(f.m, 5000, 0, on_event, &f.g), 0);

	/* Forced: at once, whatever the age. */
	feed(&f, "c");
	assert_int_equal(ttlog__ml_flush(f.m, 1000, 1, on_event, &f.g), 1);
	check_event(&f, 1, "c", 1, 0);

	/* A line after a silence is judged as after the flush. */
	feed(&f, "d");
	f.now = 1600;
	feed(&f, " e");
	check_event(&f, 2, "d", 1, 0);
	assert_int_equal(ttlog__ml_pending(f.m), 2);
	f.now = 1700;
	feed(&f, " f");
	assert_int_equal(f.g.n, 3);
	flush(&f);
	check_event(&f, 3, " e\n f", 2, 0);
	fix_destroy(&f);

	/* timeout_ms 0: never due by age. */
	o.timeout_ms = 0;
	fix_init(&f, &o);
	feed(&f, "a");
	assert_int_equal(ttlog__ml_flush(f.m, UINT64_MAX, 0, on_event, &f.g),
			 0);
	f.now = UINT64_MAX;
	feed(&f, " b");
	flush(&f);
	check_event(&f, 0, "a\n b", 2, 0);
	fix_destroy(&f);
}

static void test_ml_max_bytes_cuts_and_counts_dropped(void **state)
{
	struct ttlog__ml_opts o = {.mode = TTLOG__ML_START,
				   .start = "^S",
				   .timeout_ms = 1000,
				   .max_bytes = 10};
	struct fix f;

	(void)state;
	fix_init(&f, &o);
	feed(&f, "S1234");
	feed(&f, "abcd"); /* "S1234\nabcd": exactly 10 bytes */
	assert_int_equal(f.g.n, 0);
	feed(&f, ""); /* would make 11: cut */
	check_event(&f, 0, "S1234\nabcd", 2, 1);
	assert_int_equal(f.g.end_off[0], 11);
	feed(&f, "more");
	assert_int_equal(ttlog__ml_dropped_lines(f.m), 2);
	assert_int_equal(ttlog__ml_pending(f.m), 0);
	assert_int_equal(ttlog__ml_flush(f.m, 1001, 0, on_event, &f.g), 0);
	feed(&f, "S2");
	feed(&f, "x");
	flush(&f);
	check_event(&f, 1, "S2\nx", 2, 0);
	assert_int_equal(f.g.end_off[1], f.off);

	/* A first line longer than max_bytes is cut inside. */
	feed(&f, "S0123456789abc");
	check_event(&f, 2, "S012345678", 1, 1);
	assert_int_equal(f.g.end_off[2], f.off);
	feed(&f, "dropped");
	assert_int_equal(ttlog__ml_dropped_lines(f.m), 3);
	/* After a silence the dropping ends: the line begins an event. */
	f.now += 1000;
	feed(&f, "kept");
	flush(&f);
	check_event(&f, 3, "kept", 1, 0);
	assert_int_equal(ttlog__ml_dropped_lines(f.m), 3);
	assert_int_equal(f.g.n, 4);
	fix_destroy(&f);
}

static void test_ml_backslash_cut_drops_to_end_of_event(void **state)
{
	struct ttlog__ml_opts o = {.mode = TTLOG__ML_BACKSLASH,
				   .timeout_ms = 1000,
				   .max_bytes = 8};
	struct fix f;

	(void)state;
	fix_init(&f, &o);
	feed(&f, "abc\\");
	feed(&f, "def\\"); /* "abc\ndef\\": 8 */
	feed(&f, "g\\");   /* cut; the '\' that joined it goes */
	check_event(&f, 0, "abc\ndef", 2, 1);
	assert_int_equal(f.g.end_off[0], 10);
	feed(&f, "h\\");
	feed(&f, "i"); /* the last line of the cut event */
	assert_int_equal(ttlog__ml_dropped_lines(f.m), 3);
	feed(&f, "next");
	check_event(&f, 1, "next", 1, 0);
	assert_int_equal(f.g.n, 2);
	fix_destroy(&f);
}

/* The Java trace of an uncaught exception with a cause, as the JVM
 * prints it, of `frames` frames in all. */
static char *java_trace(uint32_t frames, uint32_t *nlines)
{
	size_t cap = (size_t)frames * 64 + 4096, len = 0;
	char *s = malloc(cap);
	uint32_t n = 0;

	assert_non_null(s);
	len += (size_t)sprintf(s + len, "Exception in thread \"main\" "
					"java.lang.IllegalStateException: x\n");
	n++;
	for (uint32_t i = 0; i < frames; i++) {
		if (i == frames / 2) {
			len += (size_t)sprintf(s + len,
					       "Caused by: java.io.IOException"
					       ": disk\n");
			n++;
		}
		len += (size_t)sprintf(s + len, "\tat com.a.B%u.c(B.java:%u)\n",
				       i, i + 10);
		n++;
	}
	len += (size_t)sprintf(s + len, "\t... 12 more\n");
	n++;
	assert_true(len < cap);
	s[len - 1] = '\0'; /* the text of the event: no final '\n' */
	*nlines = n;
	return s;
}

/* Feeds the lines of text (separated by '\n'). */
static void feed_text(struct fix *f, const char *text)
{
	const char *p = text, *nl;
	char *copy;

	for (;;) {
		nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		copy = malloc(n + 1);
		assert_non_null(copy);
		memcpy(copy, p, n);
		copy[n] = '\0';
		feed(f, copy);
		free(copy);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void test_ml_java_trace_of_10000_lines_is_one_event(void **state)
{
	struct ttlog__ml_opts o = {.timeout_ms = 1000, .max_bytes = 1 << 20};
	struct fix f;
	uint32_t n;
	char *trace;

	(void)state;
	assert_int_equal(ttlog__ml_preset("java", &o), 0);
	assert_int_equal(o.mode, TTLOG__ML_START);
	assert_int_equal(o.max_bytes, 1 << 20);
	fix_init(&f, &o);
	trace = java_trace(9997, &n);
	assert_int_equal(n, 10000);
	feed(&f, "2024-01-02 12:00:00 INFO started");
	feed_text(&f, trace);
	assert_int_equal(f.g.n, 1);
	check_event(&f, 0, "2024-01-02 12:00:00 INFO started", 1, 0);
	uint64_t trace_end = f.off;
	feed(&f, "2024-01-02 12:00:01 INFO after");
	assert_int_equal(f.g.n, 2);
	check_event(&f, 1, trace, 10000, 0);
	assert_int_equal(f.g.end_off[1], trace_end);
	assert_int_equal(f.g.end_off[1] - f.g.end_off[0], strlen(trace) + 1);
	/* Not indented "... N more" and "Suppressed:" continue too. */
	feed(&f, "Suppressed: x");
	feed(&f, "... 3 more");
	feed(&f, "Caused by: y");
	flush(&f);
	check_event(&f, 2,
		    "2024-01-02 12:00:01 INFO after\nSuppressed: x\n... 3 "
		    "more\nCaused by: y",
		    4, 0);
	free(trace);
	fix_destroy(&f);
}

static void test_ml_python_traceback_joins_its_introduction(void **state)
{
	static const char tb[] =
		"2024-01-02 12:00:00 ERROR handler failed\n"
		"Traceback (most recent call last):\n"
		"  File \"x.py\", line 3, in <module>\n"
		"    foo()\n"
		"KeyError: 'k'\n"
		"\n"
		"During handling of the above exception, another exception "
		"occurred:\n"
		"\n"
		"Traceback (most recent call last):\n"
		"  File \"x.py\", line 5, in <module>\n"
		"    bar()\n"
		"  File \"x.py\", line 9, in bar\n"
		"    raise ValueError(\"bad\")\n"
		"ValueError: bad";
	struct ttlog__ml_opts o = {.timeout_ms = 1000, .max_bytes = 1 << 20};
	struct fix f;

	(void)state;
	assert_int_equal(ttlog__ml_preset("python", &o), 0);
	fix_init(&f, &o);
	feed_text(&f, tb);
	feed(&f, "2024-01-02 12:00:01 INFO next");
	/* The header joins whatever line came before it (no lookahead);
	 * exception names are recognised by their endings. */
	feed(&f, "Traceback (most recent call last):");
	feed(&f, "  File \"y.py\", line 1, in <module>");
	feed(&f, "mod.sub.ConnectionError: refused");
	feed(&f, "KeyboardInterrupt");
	feed(&f, "ordinary: line");
	flush(&f);
	assert_int_equal(f.g.n, 3);
	check_event(&f, 0, tb, 14, 0);
	check_event(&f, 1,
		    "2024-01-02 12:00:01 INFO next\nTraceback (most recent "
		    "call last):\n  File \"y.py\", line 1, in <module>\n"
		    "mod.sub.ConnectionError: refused\nKeyboardInterrupt",
		    5, 0);
	check_event(&f, 2, "ordinary: line", 1, 0);
	fix_destroy(&f);
}

static void test_ml_bad_rules_are_refused(void **state)
{
	struct ttlog__ml_opts o = {
		.mode = TTLOG__ML_START, .start = "^(ab", .max_bytes = 100};
	struct ttlog__ml_rule *r = (void *)&o;
	char err[256];

	(void)state;
	assert_int_equal(ttlog__ml_rule_new(&o, &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_non_null(strstr(err, "start: "));
	assert_non_null(strstr(err, "at offset 4"));
	o.start = "";
	assert_int_equal(ttlog__ml_rule_new(&o, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "start:"));
	o.start = "^a";
	o.max_bytes = 0;
	assert_int_equal(ttlog__ml_rule_new(&o, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_bytes"));
	o.max_bytes = 10;
	o.mode = 9;
	assert_int_equal(ttlog__ml_rule_new(&o, &r, err, sizeof(err)), -1);
	assert_int_equal(ttlog__ml_preset("ruby", &o), -1);
	assert_int_equal(o.mode, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ml_start_joins_until_next_start),
		cmocka_unit_test(test_ml_indent_continues_indented_lines),
		cmocka_unit_test(test_ml_backslash_removed_and_emitted_at_once),
		cmocka_unit_test(test_ml_timeout_not_due_due_force),
		cmocka_unit_test(test_ml_max_bytes_cuts_and_counts_dropped),
		cmocka_unit_test(test_ml_backslash_cut_drops_to_end_of_event),
		cmocka_unit_test(
			test_ml_java_trace_of_10000_lines_is_one_event),
		cmocka_unit_test(
			test_ml_python_traceback_joins_its_introduction),
		cmocka_unit_test(test_ml_bad_rules_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
