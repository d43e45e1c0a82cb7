/* fuzz_multiline.c - the multiline joiner of the tail input
 * (core/parse/multiline_internal.h). The first byte picks the rule (a
 * start pattern, indent, backslash, the java and python presets) and
 * max_bytes; the rest is a file: its lines are fed with the offsets after
 * their '\n' (a last line without one gets one), then the joiner is
 * flushed. A line beginning with '~' comes after a silence longer than
 * the timeout; one beginning with '!' is preceded by an unforced flush.
 * Checked (abort() on a violation): every line fed is in exactly one
 * emitted event or counted as dropped; an event has a line at least, is
 * no longer than max_bytes, and its end_off lies after the previous
 * event's and within the file; where no byte of an event can have been
 * rewritten (start and indent rules, not a single line that was cut),
 * its text is the file's bytes just before its end_off; nothing is
 * pending after the forced flush. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_event.h"
#include "multiline_internal.h"

#define TIMEOUT_MS 100

static const size_t max_table[] = {1, 3, 8, 16, 64, 256, 4096, 1 << 20};
#define NMAX (sizeof(max_table) / sizeof(max_table[0]))
#define NRULES 5

struct seen {
	const char *file; /* the fed bytes, each line ending in '\n' */
	size_t file_len;
	size_t max_bytes;
	int mode;
	uint64_t lines;
	uint64_t last_end;
};

static void on_event(void *arg, const char *text, size_t len, uint32_t lines,
		     int cut, uint64_t end_off)
{
	struct seen *s = arg;

	fuzz_check(lines >= 1);
	fuzz_check(len <= s->max_bytes);
	fuzz_check(len == 0 || text != NULL);
	fuzz_check(end_off > s->last_end && end_off <= s->file_len);
	/* Each line adds one byte at least: its text or its separator. */
	fuzz_check(len + 1 >= lines);
	if (s->mode != TTLOG__ML_BACKSLASH && (!cut || lines > 1)) {
		fuzz_check(end_off >= len + 1);
		fuzz_check(memcmp(s->file + end_off - 1 - len, text, len) == 0);
		fuzz_check(s->file[end_off - 1] == '\n');
	}
	s->lines += lines;
	s->last_end = end_off;
}

/* The rule of index i, compiled once: rules keep no state. */
static struct ttlog__ml_rule *rule(size_t i, int *mode)
{
	static struct ttlog__ml_rule *rules[NRULES * NMAX];
	static int modes[NRULES * NMAX];
	struct ttlog__ml_opts o = {.timeout_ms = TIMEOUT_MS};
	size_t r = i % NRULES;
	char err[256];

	if (rules[i] == NULL) {
		o.max_bytes = max_table[i / NRULES];
		if (r == 0) {
			o.mode = TTLOG__ML_START;
			o.start = "^(?:\\d{4}-\\d\\d|[A-Z]+:|(a|ab)+c)";
		} else if (r == 1) {
			o.mode = TTLOG__ML_INDENT;
		} else if (r == 2) {
			o.mode = TTLOG__ML_BACKSLASH;
		} else {
			fuzz_check(ttlog__ml_preset(r == 3 ? "java" : "python",
						    &o) == 0);
		}
		fuzz_check(ttlog__ml_rule_new(&o, &rules[i], err,
					      sizeof(err)) == 0);
		modes[i] = o.mode;
	}
	*mode = modes[i];
	return rules[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {0};
	struct ttlog__ml *m;
	uint64_t now = 1, fed = 0, failed = 0;
	size_t i, at, n;
	char *file;

	if (size == 0)
		return 0;
	i = data[0] % (NRULES * NMAX);
	/* The file, with a '\n' after its last line. */
	n = size - 1;
	file = malloc(n + 1);
	fuzz_check(file != NULL);
	if (n > 0)
		memcpy(file, data + 1, n);
	if (n > 0 && file[n - 1] != '\n')
		file[n++] = '\n';
	s.file = file;
	s.file_len = n;
	s.max_bytes = max_table[i / NRULES];
	m = ttlog__ml_new(rule(i, &s.mode));
	fuzz_check(m != NULL);
	for (at = 0; at < n;) {
		const char *line = file + at;
		const char *nl = memchr(line, '\n', n - at);
		size_t len = (size_t)(nl - line);

		if (len > 0 && line[0] == '~')
			now += TIMEOUT_MS + 1;
		if (len > 0 && line[0] == '!')
			(void)ttlog__ml_flush(m, now, 0, on_event, &s);
		at += len + 1;
		fed++;
		if (ttlog__ml_feed(m, line, len, now, at, on_event, &s) != 0)
			failed++;
		fuzz_check(ttlog__ml_last_ms(m) == now);
		now++;
	}
	(void)ttlog__ml_flush(m, now, 1, on_event, &s);
	fuzz_check(ttlog__ml_pending(m) == 0);
	fuzz_check(s.lines + ttlog__ml_dropped_lines(m) + failed == fed);
	ttlog__ml_free(m);
	free(file);
	return 0;
}
