/*
 * multiline.c - the multiline joiner of the tail input (see
 * multiline_internal.h for the contract and the decisions it records).
 *
 * A joiner keeps one event's text in a buffer that only grows, by
 * doubling, up to max_bytes: after a file's first long event it stops
 * allocating. Each line is looked at once: a start pattern runs once per
 * line with match data the joiner owns, so that one compiled rule serves
 * every file of an input without locks.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multiline_internal.h"

/* Work a start pattern may do on one line; past these the line counts as
 * not matching (it continues the event), so a hostile line costs a
 * bounded amount of time. */
#define ML_MATCH_LIMIT 100000u
#define ML_DEPTH_LIMIT 1000u
#define ML_HEAP_LIMIT_KIB 256u
/* The buffer's first size: most events are one short line. */
#define ML_FIRST_CAP 256u

struct ttlog__ml_rule {
	int mode;
	bool jit;
	pcre2_code *code; /* TTLOG__ML_START only */
	pcre2_match_context *mc;
	uint64_t timeout_ms;
	size_t max_bytes;
};

struct ttlog__ml {
	const struct ttlog__ml_rule *r;
	pcre2_match_data *md;
	char *buf; /* the pending event's text */
	size_t len, cap;
	uint32_t lines;	  /* lines in buf; 0: nothing pending */
	bool more;	  /* BACKSLASH: buf ends in the '\' of its last line */
	bool dropping;	  /* an event was cut: its further lines are dropped */
	bool seen;	  /* a line came (last_ms is meaningful) */
	uint64_t last_ms; /* when the last line came, dropped ones included */
	uint64_t end_off; /* file offset after the last line in buf */
	uint64_t dropped;
};

/* ------------------------------------------------------------------ */
/* Presets and rules                                                    */
/* ------------------------------------------------------------------ */

/* Java: a line with a first character that is neither blank nor the
 * beginning of "Caused by:", "Suppressed:" or "... N more" begins an
 * event; frames ("\tat ...") are indented. An empty line continues. */
static const char java_start[] =
	"^(?!Caused by:|Suppressed:|\\.\\.\\. \\d+ more)[^ \\t]";

/* Python: as Java's, but the lines a traceback adds without indentation
 * continue too: its header, the sentences that chain two tracebacks, and
 * the final exception line, recognised by the usual endings of exception
 * class names (ValueError, foo.BarException, KeyboardInterrupt,
 * SystemExit, StopIteration, UserWarning, ExceptionGroup) followed by
 * ':' or the end of the line. */
static const char python_start[] =
	"^(?!Traceback \\(most recent call last\\):"
	"|During handling of the above exception"
	"|The above exception was the direct cause"
	"|[A-Za-z_][\\w.]*(?:Error|Exception|Exit|Interrupt|Iteration"
	"|Warning|Group)(?::|$))[^ \\t]";

int ttlog__ml_preset(const char *name, struct ttlog__ml_opts *o)
{
	if (name == NULL || o == NULL)
		return -1;
	if (strcmp(name, "java") == 0)
		o->start = java_start;
	else if (strcmp(name, "python") == 0)
		o->start = python_start;
	else
		return -1;
	o->mode = TTLOG__ML_START;
	return 0;
}

int ttlog__ml_rule_new(const struct ttlog__ml_opts *o,
		       struct ttlog__ml_rule **out, char *err, size_t errlen)
{
	struct ttlog__ml_rule *r;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE at = 0;
	int ec;

	*out = NULL;
	if (o->mode != TTLOG__ML_START && o->mode != TTLOG__ML_INDENT &&
	    o->mode != TTLOG__ML_BACKSLASH) {
		snprintf(err, errlen, "mode: unknown mode %d", o->mode);
		return -1;
	}
	if (o->max_bytes == 0) {
		snprintf(err, errlen, "max_bytes: must be at least 1 byte");
		return -1;
	}
	if (o->mode == TTLOG__ML_START &&
	    (o->start == NULL || o->start[0] == '\0')) {
		snprintf(err, errlen, "start: an empty pattern");
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->mode = o->mode;
	r->timeout_ms = o->timeout_ms;
	r->max_bytes = o->max_bytes;
	if (o->mode == TTLOG__ML_START) {
		/* Lines are any bytes: no UTF mode, which would make invalid
		 * UTF-8 an error at every match. */
		r->code = pcre2_compile((PCRE2_SPTR)o->start,
					PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF,
					&ec, &at, NULL);
		if (r->code == NULL) {
			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, errlen, "start: %s at offset %zu",
				 (const char *)msg, (size_t)at);
			free(r);
			return -1;
		}
		r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
		r->mc = pcre2_match_context_create(NULL);
		if (r->mc == NULL) {
			ttlog__ml_rule_free(r);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		pcre2_set_match_limit(r->mc, ML_MATCH_LIMIT);
		pcre2_set_depth_limit(r->mc, ML_DEPTH_LIMIT);
		pcre2_set_heap_limit(r->mc, ML_HEAP_LIMIT_KIB);
	}
	*out = r;
	return 0;
}

void ttlog__ml_rule_free(struct ttlog__ml_rule *r)
{
	if (r == NULL)
		return;
	pcre2_match_context_free(r->mc);
	pcre2_code_free(r->code);
	free(r);
}

/* ------------------------------------------------------------------ */
/* Joiners                                                              */
/* ------------------------------------------------------------------ */

struct ttlog__ml *ttlog__ml_new(const struct ttlog__ml_rule *r)
{
	struct ttlog__ml *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->r = r;
	if (r->code != NULL) {
		m->md = pcre2_match_data_create(1, NULL);
		if (m->md == NULL) {
			free(m);
			return NULL;
		}
		/* One match now, so that the interpreter (where there is no
		 * JIT) keeps its backtracking frames in the match data from
		 * here on rather than allocating them at the first line. */
		(void)pcre2_match(r->code, (PCRE2_SPTR) "", 0, 0, 0, m->md,
				  r->mc);
	}
	return m;
}

void ttlog__ml_free(struct ttlog__ml *m)
{
	if (m == NULL)
		return;
	pcre2_match_data_free(m->md);
	free(m->buf);
	free(m);
}

/* Whether the line begins an event by its own content; errors, the match
 * limit among them, count as no match. */
static bool is_start(struct ttlog__ml *m, const char *line, size_t len)
{
	const struct ttlog__ml_rule *r = m->r;
	PCRE2_SPTR s = (PCRE2_SPTR)(len > 0 ? line : "");

	switch (r->mode) {
	case TTLOG__ML_START:
		if (r->jit)
			return pcre2_jit_match(r->code, s, len, 0, 0, m->md,
					       r->mc) >= 0;
		return pcre2_match(r->code, s, len, 0, 0, m->md, r->mc) >= 0;
	case TTLOG__ML_INDENT:
		return len == 0 || (line[0] != ' ' && line[0] != '\t');
	default:
		/* BACKSLASH: only the previous line decides (m->more). */
		return false;
	}
}

/* Makes room for `need` bytes in all. The buffer never grows past
 * max_bytes, which every caller's `need` respects. */
static int reserve(struct ttlog__ml *m, size_t need)
{
	size_t cap = m->cap > ML_FIRST_CAP ? m->cap : ML_FIRST_CAP;
	char *p;

	if (need <= m->cap)
		return 0;
	while (cap < need && cap <= m->r->max_bytes / 2)
		cap *= 2;
	if (cap < need || cap > m->r->max_bytes)
		cap = need > m->r->max_bytes ? need : m->r->max_bytes;
	p = realloc(m->buf, cap);
	if (p == NULL)
		return -1;
	m->buf = p;
	m->cap = cap;
	return 0;
}

/* Hands on the pending event and forgets it (keeping the buffer). */
static void emit(struct ttlog__ml *m, int cut, ttlog__ml_emit_fn fn, void *arg)
{
	fn(arg, m->len > 0 ? m->buf : "", m->len, m->lines, cut, m->end_off);
	m->len = 0;
	m->lines = 0;
	m->more = false;
}

/* The pending event is cut: emitted as far as it got. In BACKSLASH mode
 * its last '\' joined it to a line that is now dropped, so it goes. */
static void cut(struct ttlog__ml *m, ttlog__ml_emit_fn fn, void *arg)
{
	if (m->more)
		m->len--;
	emit(m, 1, fn, arg);
	m->dropping = true;
}

static bool ends_in_backslash(const char *line, size_t len)
{
	return len > 0 && line[len - 1] == '\\';
}

/* A line that is dropped after a cut; in BACKSLASH mode the cut event
 * ends with the first dropped line that does not ask for another. */
static void drop(struct ttlog__ml *m, const char *line, size_t len)
{
	m->dropped++;
	if (m->r->mode == TTLOG__ML_BACKSLASH && !ends_in_backslash(line, len))
		m->dropping = false;
}

/* Starts the pending event with `line`. A first line longer than
 * max_bytes is the one case where a line is cut: the event is then
 * emitted at once with its first max_bytes. */
static int begin(struct ttlog__ml *m, const char *line, size_t len,
		 uint64_t end_off, ttlog__ml_emit_fn fn, void *arg)
{
	size_t max = m->r->max_bytes;
	size_t n = len < max ? len : max;

	if (reserve(m, n) != 0)
		return -1;
	if (n > 0)
		memcpy(m->buf, line, n);
	m->len = n;
	m->lines = 1;
	m->end_off = end_off;
	m->dropping = false;
	if (len > max) {
		emit(m, 1, fn, arg);
		/* Its continuations belong to the cut event; a backslash
		 * line's continuation too, though its '\' was cut off. */
		m->dropping = m->r->mode != TTLOG__ML_BACKSLASH ||
			      ends_in_backslash(line, len);
		return 0;
	}
	m->more = m->r->mode == TTLOG__ML_BACKSLASH &&
		  ends_in_backslash(line, len);
	if (m->r->mode == TTLOG__ML_BACKSLASH && !m->more)
		emit(m, 0, fn, arg);
	return 0;
}

/* Adds `line` to the pending event, or cuts the event when it would not
 * fit in max_bytes (the line is then dropped). */
static int append(struct ttlog__ml *m, const char *line, size_t len,
		  uint64_t end_off, ttlog__ml_emit_fn fn, void *arg)
{
	/* The separator: a '\n' after the last line, or in place of its
	 * trailing backslash. */
	size_t at = m->more ? m->len - 1 : m->len;
	size_t room = m->r->max_bytes - at;

	if (room < 1 || len > room - 1 || m->lines == UINT32_MAX) {
		cut(m, fn, arg);
		drop(m, line, len);
		return 0;
	}
	if (reserve(m, at + 1 + len) != 0)
		return -1;
	m->buf[at] = '\n';
	if (len > 0)
		memcpy(m->buf + at + 1, line, len);
	m->len = at + 1 + len;
	m->lines++;
	m->end_off = end_off;
	m->more = m->r->mode == TTLOG__ML_BACKSLASH &&
		  ends_in_backslash(line, len);
	if (m->r->mode == TTLOG__ML_BACKSLASH && !m->more)
		emit(m, 0, fn, arg);
	return 0;
}

/* Whether the last line came timeout_ms or more before now_ms (never
 * with no timeout). */
static bool due(const struct ttlog__ml *m, uint64_t now_ms)
{
	uint64_t t = m->r->timeout_ms;

	return t > 0 && m->seen && now_ms >= m->last_ms &&
	       now_ms - m->last_ms >= t;
}

int ttlog__ml_feed(struct ttlog__ml *m, const char *line, size_t len,
		   uint64_t now_ms, uint64_t end_off, ttlog__ml_emit_fn fn,
		   void *arg)
{
	bool start;

	/* A line after a silence of timeout_ms is judged as after the
	 * flush the input's timer would have made by then, so the result
	 * does not depend on how punctual that timer is. */
	if (due(m, now_ms))
		(void)ttlog__ml_flush(m, now_ms, 1, fn, arg);
	m->seen = true;
	m->last_ms = now_ms;
	if (m->r->mode == TTLOG__ML_BACKSLASH)
		start = !m->more;
	else
		start = is_start(m, line, len);
	if (m->dropping) {
		if (!start || (m->r->mode == TTLOG__ML_BACKSLASH)) {
			drop(m, line, len);
			return 0;
		}
		m->dropping = false;
	}
	if (m->lines > 0 && !start)
		return append(m, line, len, end_off, fn, arg);
	if (m->lines > 0)
		emit(m, 0, fn, arg);
	return begin(m, line, len, end_off, fn, arg);
}

int ttlog__ml_flush(struct ttlog__ml *m, uint64_t now_ms, int force,
		    ttlog__ml_emit_fn fn, void *arg)
{
	if (!force && !due(m, now_ms))
		return 0;
	/* After a silence a cut event is over: its next line is judged
	 * afresh. */
	m->dropping = false;
	if (m->lines == 0)
		return 0;
	emit(m, 0, fn, arg);
	return 1;
}

size_t ttlog__ml_pending(const struct ttlog__ml *m)
{
	/* An event of one empty line is pending too. */
	if (m->lines == 0)
		return 0;
	return m->len > 0 ? m->len : 1;
}

uint64_t ttlog__ml_last_ms(const struct ttlog__ml *m)
{
	return m->last_ms;
}

uint64_t ttlog__ml_dropped_lines(const struct ttlog__ml *m)
{
	return m->dropped;
}
