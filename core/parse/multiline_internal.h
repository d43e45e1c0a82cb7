/*
 * multiline_internal.h - joins the lines of a file into events that span
 * several lines (a stack trace, a wrapped message), for the tail input.
 *
 * A rule says where an event begins: at a line matching a start pattern
 * (PCRE2), or at any line that does not continue the previous one
 * (continuation: an indented line, or a line after one ending in a
 * backslash). A joiner is one file's state: the event being built, which
 * is emitted when the next event begins, when it reaches max_bytes, or
 * when no line came for `timeout` (ttlog__ml_flush()). Lines are joined
 * with '\n'; a backslash that joined two lines is removed.
 *
 * The joiner also carries the file offset after the last line of the
 * event it emits, so that the tail input can save, as the place to resume
 * from, the end of the last event it handed on and never the middle of
 * one.
 *
 * Decisions the signatures below leave open (multiline.c):
 * - Events hold whole lines. The line that would take an event past
 *   max_bytes is dropped: the event is emitted at once as it is, cut
 *   (never longer than max_bytes), and that line and the event's further
 *   lines are dropped and counted, up to the next line that begins an
 *   event (START, INDENT), up to and including the first line without a
 *   trailing backslash (BACKSLASH), or up to a silence of timeout_ms.
 *   Only a first line longer than max_bytes is cut inside: the event is
 *   its first max_bytes, emitted at once, cut.
 * - Dropped lines lie after the cut event's end_off: an input that
 *   resumes from there reads them again, and they then come as an event
 *   of their own (at least once, never lost).
 * - A line that would continue an event while none is pending begins one
 *   (text before the first start line, an indented first line).
 * - INDENT: an empty line begins an event. The presets: an empty line
 *   continues (blank lines inside Python's chained tracebacks).
 * - BACKSLASH: any trailing '\' asks for the next line (no escaping); it
 *   is replaced by the joining '\n'. An event flushed while it waits for
 *   its next line keeps its '\'; a cut event loses it.
 * - timeout_ms 0 means no timeout (only a forced flush). ttlog__ml_feed()
 *   applies the timeout too: a line that comes timeout_ms or more after
 *   the last one is handled as after a flush, whatever the input's timer
 *   did. max_bytes 0 is refused by ttlog__ml_rule_new().
 * - A start pattern that fails to run (match limit) counts as no match.
 * - python: the traceback's header continues the line before it (no
 *   lookahead needed); its final line is recognised by the usual endings
 *   of exception names (...Error, ...Exception, ...Exit, ...Interrupt,
 *   ...Iteration, ...Warning, ...Group, then ':' or the end): an
 *   exception named otherwise, or a note after it, begins an event.
 * - fn must not call back into the same joiner; out of memory in
 *   ttlog__ml_feed() drops that line and leaves the joiner as it was
 *   (an event emitted before the failure stays emitted).
 */
#ifndef TTLOG_MULTILINE_INTERNAL_H
#define TTLOG_MULTILINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

enum ttlog__ml_mode {
	TTLOG__ML_START = 1,	 /* a line matching `start` begins an event */
	TTLOG__ML_INDENT = 2,	 /* a line beginning with a space or a tab
				  * continues the previous one */
	TTLOG__ML_BACKSLASH = 3, /* a line ending in '\' is continued by the
				  * next one */
};

struct ttlog__ml_opts {
	int mode;	     /* enum ttlog__ml_mode */
	const char *start;   /* TTLOG__ML_START: the pattern, borrowed */
	uint64_t timeout_ms; /* emit an event whose last line is this old */
	size_t max_bytes;    /* an event is cut here: flagged, the lines
			      * after it up to the next start are dropped
			      * and counted */
};

/*
 * Fills o from a preset: "java" (an event begins at a line that is not
 * indented and does not start with "Caused by:", "Suppressed:" or
 * "... N more") or "python" (a traceback: "Traceback (most recent call
 * last):", its indented frames, and the final "Error: ..." line, joined
 * to the line that introduced it). Leaves timeout_ms and max_bytes.
 * @return 0, or -1 for an unknown name.
 */
int ttlog__ml_preset(const char *name, struct ttlog__ml_opts *o);

/* A compiled rule, shared by every file of an input (read only). */
struct ttlog__ml_rule;
/* @return 0 with *out, or -1 with err ("start: ... at offset N"). */
int ttlog__ml_rule_new(const struct ttlog__ml_opts *o,
		       struct ttlog__ml_rule **out, char *err, size_t errlen);
void ttlog__ml_rule_free(struct ttlog__ml_rule *r);

/* One file's joiner; NULL when out of memory. */
struct ttlog__ml *ttlog__ml_new(const struct ttlog__ml_rule *r);
void ttlog__ml_free(struct ttlog__ml *m);

/* A finished event: its text (borrowed for the call), the number of lines
 * in it, whether it was cut at max_bytes, and the file offset after its
 * last line (as given to ttlog__ml_feed()). */
typedef void (*ttlog__ml_emit_fn)(void *arg, const char *text, size_t len,
				  uint32_t lines, int cut, uint64_t end_off);

/*
 * Feeds one line (without its '\n'), read at now_ms, which ends at file
 * offset end_off. Emits the event it completes, if any, through fn:
 * the previous event when this line begins a new one, or this event when
 * this line ends it (a line without a trailing backslash).
 * @return 0, or -1 when out of memory (the line is then dropped, and the
 *         caller counts it).
 */
int ttlog__ml_feed(struct ttlog__ml *m, const char *line, size_t len,
		   uint64_t now_ms, uint64_t end_off, ttlog__ml_emit_fn fn,
		   void *arg);

/*
 * Emits the pending event if its last line came timeout_ms or more before
 * now_ms, or at once when force is non-zero (the file is done, the input
 * stops).
 * @return 1 when an event was emitted, else 0.
 */
int ttlog__ml_flush(struct ttlog__ml *m, uint64_t now_ms, int force,
		    ttlog__ml_emit_fn fn, void *arg);

/* Bytes of the event being built (0: none pending; an event of one empty
 * line counts 1), and when its last line came, a dropped one included
 * (for the input's timer). */
size_t ttlog__ml_pending(const struct ttlog__ml *m);
uint64_t ttlog__ml_last_ms(const struct ttlog__ml *m);
/* Lines dropped after a cut at max_bytes, since the joiner began. */
uint64_t ttlog__ml_dropped_lines(const struct ttlog__ml *m);

#endif /* TTLOG_MULTILINE_INTERNAL_H */
