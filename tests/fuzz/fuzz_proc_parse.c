/* fuzz_proc_parse.c - the processors that read a message: arbitrary bytes
 * go through the logfmt parser directly, then as the message of a work
 * event through parse (json, logfmt, regex) and redact (a pattern that
 * matches the empty string). Checked (abort() on a violation): the
 * logfmt event's strings point into the line or the scratch and its keys
 * are distinct; a processor returns KEEP or FAILED, a FAILED one left the
 * event as it was, and every string of the event points into the input,
 * the scratch or a processor's own names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_event.h"
#include "parse_internal.h"
#include "proc.h"

static void check_logfmt(const char *in, size_t n, struct ttlog__scratch *s)
{
	struct ttlog__in_event ev;
	char err[128];
	size_t at;

	ttlog__scratch_reset(s);
	fuzz_check(ttlog__scratch_reserve(s, n + 1) == 0);
	if (ttlog__logfmt_parse(in, n, &ev, s, err, sizeof(err)) < 0) {
		fuzz_check(sscanf(err, "byte %zu: ", &at) == 1 && at <= n);
		return;
	}
	fuzz_check(ev.nfields >= 1 && ev.nfields <= TTLOG__IN_MAX_FIELDS);
	fuzz_check(fuzz_keys_distinct(&ev));
	fuzz_check(s->len <= n + 1);
	for (uint32_t i = 0; i < ev.nfields; i++) {
		const struct ttlog__in_field *f = &ev.fields[i];
		fuzz_check(f->key_len > 0 &&
			   fuzz_inside(f->key, f->key_len, in, n));
		fuzz_check(f->type == TTLOG_TYPE_STR ||
			   f->type == TTLOG_TYPE_BOOL);
		if (f->type == TTLOG_TYPE_STR)
			fuzz_check(fuzz_inside(f->v.str.ptr, f->v.str.len, in,
					       n) ||
				   fuzz_inside(f->v.str.ptr, f->v.str.len, s->p,
					       s->len));
	}
}

static const char *const items[] = {
	"{type: parse, format: json, keep_original: false}",
	"{type: parse, format: logfmt, types: {n: int, f: float, b: bool}}",
	("{type: parse, format: regex, pattern: "
	 "'^(?<a>\\w+)[ =:]+(?<n>\\d+)?(?<rest>.*)$', types: {n: int}}"),
	"{type: redact, pattern: 'a*|(x+x+)+y', replace: '[r]'}",
};
#define NITEMS (sizeof(items) / sizeof(items[0]))
static struct ttlog__proc *procs[NITEMS];

/* Compiles the processors once: they keep no state between events that
 * matters here (none of them samples or throttles). */
static void setup(void)
{
	if (procs[0] != NULL)
		return;
	for (size_t i = 0; i < NITEMS; i++) {
		struct ttlog__diag d = {0};
		struct ttlog__cfg_doc *doc = ttlog__cfg_load_string(
			"fuzz.yaml", items[i], strlen(items[i]), &d);
		fuzz_check(doc != NULL);
		procs[i] = ttlog__proc_compile(ttlog__cfg_root(doc), "p", &d);
		fuzz_check(procs[i] != NULL);
		ttlog__cfg_free(doc);
	}
}

static void check_proc(struct ttlog__proc *p, const char *in, size_t n,
		       struct ttlog__scratch *s)
{
	struct ttlog__work w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.s = s;
	ttlog__scratch_reset(s);
	w.ev.msg = in;
	w.ev.msg_len = n;
	rc = ttlog__proc_apply(p, &w, 0);
	fuzz_check(rc == TTLOG__PROC_KEEP || rc == TTLOG__PROC_FAILED);
	if (rc == TTLOG__PROC_FAILED) {
		fuzz_check(w.ev.msg == in && w.ev.msg_len == n);
		fuzz_check(w.ev.nfields == 0 && !w.changed);
		return;
	}
	fuzz_check(fuzz_inside(w.ev.msg, w.ev.msg_len, in, n) ||
		   fuzz_inside(w.ev.msg, w.ev.msg_len, s->p, s->len) ||
		   w.ev.msg_len == 0);
	fuzz_check(w.ev.nfields <= TTLOG__IN_MAX_FIELDS);
	for (uint32_t i = 0; i < w.ev.nfields; i++) {
		const struct ttlog__in_field *f = &w.ev.fields[i];
		/* A JSON member may have the key "", as on the JSON-lines
		 * input. */
		fuzz_check(f->key != NULL);
		if (f->type == TTLOG_TYPE_STR)
			fuzz_check(fuzz_inside(f->v.str.ptr, f->v.str.len, in,
					       n) ||
				   fuzz_inside(f->v.str.ptr, f->v.str.len, s->p,
					       s->len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlog__scratch s = {0};
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	/* An exact-size copy, so that a read past the end is caught. */
	memcpy(copy, data, size);
	setup();
	check_logfmt(copy, size, &s);
	for (size_t i = 0; i < NITEMS; i++)
		check_proc(procs[i], copy, size, &s);
	ttlog__scratch_destroy(&s);
	free(copy);
	return 0;
}
