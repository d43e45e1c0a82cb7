/*
 * proc_redact.c - the redact processor: every match of `pattern:` in the
 * message and in the string fields named by `in:` (msg for the message,
 * "*" for the message and every string field) becomes `replace:`.
 *
 * It works in two passes so that a failure leaves the event as it was
 * and the scratch is grown once per event: the first pass finds every
 * match of every target (a match limit hit is FAILED, nothing written),
 * the second reserves the total size of the new strings and writes them.
 * Matches are found as Perl's s///g does: left to right, not
 * overlapping; an empty match inserts the replacement and the search goes
 * on one byte further, so a pattern that matches the empty string ends.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_regex.h"
#include "work.h"

#define MAX_REPLACE 1024

struct span {
	size_t a, e;
};

/* One string to rewrite: the message (field -1) or a field. */
struct target {
	int field;
	size_t first, nspans, new_len;
};

struct redact {
	struct ttlog__proc_re re;
	const char *replace;
	size_t rlen;
	char *replace_own;
	char **in;
	size_t nin;
	int in_msg;
	int in_all;	    /* in: ["*"]: the message and every string field */
	struct span *spans; /* reused from event to event */
	size_t nspans, cap;
};

static void redact_free(void *st)
{
	struct redact *r = st;

	if (r == NULL)
		return;
	ttlog__proc_re_destroy(&r->re);
	ttlog__proc_strs_free(r->in, r->nin);
	free(r->replace_own);
	free(r->spans);
	free(r);
}

static void *redact_compile(const struct ttlog__cfg_node *sec, const char *path,
			    struct ttlog__diag *d)
{
	static const char *const keys[] = {"pattern", "replace", "in", NULL};
	struct redact *r = calloc(1, sizeof(*r));
	const char *rep = "***";
	int bad = 0;

	if (r == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	bad |= ttlog__proc_keys_check(sec, path, keys, d) > 0;
	bad |= ttlog__proc_re_compile(&r->re, sec, "pattern", path, d) < 0;
	bad |= ttlog__proc_opt_str(sec, "replace", path, d, &rep) < 0;
	if (strlen(rep) > MAX_REPLACE) {
		char p[256];
		snprintf(p, sizeof(p), "%s.replace", path != NULL ? path : "");
		ttlog__diag_add(d, ttlog__cfg_get(sec, "replace"), p,
				"longer than %d bytes", MAX_REPLACE);
		bad = 1;
	}
	switch (ttlog__proc_opt_strs(sec, "in", path, d, &r->in, &r->nin)) {
	case -1:
		bad = 1;
		break;
	case 0:
		r->in_msg = 1;
		break;
	default:
		for (size_t i = 0; i < r->nin; i++) {
			r->in_all |= strcmp(r->in[i], "*") == 0;
			r->in_msg |= strcmp(r->in[i], "msg") == 0 ||
				     strcmp(r->in[i], "*") == 0;
		}
	}
	r->replace_own = strdup(rep);
	if (bad || r->replace_own == NULL) {
		redact_free(r);
		return NULL;
	}
	r->replace = r->replace_own;
	r->rlen = strlen(rep);
	return r;
}

static int add_span(struct redact *r, size_t a, size_t e)
{
	if (r->nspans == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct span *n = realloc(r->spans, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		r->spans = n;
		r->cap = cap;
	}
	r->spans[r->nspans].a = a;
	r->spans[r->nspans].e = e;
	r->nspans++;
	return 0;
}

/* Finds the matches in s; t->new_len is its length once redacted.
 * @return 0, or -1 when a limit was hit or memory ran out. */
static int find(struct redact *r, const char *s, size_t len, struct target *t)
{
	size_t start = 0, gone = 0;
	uint32_t opts = 0;

	t->first = r->nspans;
	for (;;) {
		int rc = ttlog__proc_re_match(&r->re, s, len, start, opts);
		if (rc == PCRE2_ERROR_NOMATCH) {
			if (opts == 0 || start >= len)
				break;
			/* No non-empty match where an empty one was: the
			 * next search starts one byte further. */
			start++;
			opts = 0;
			continue;
		}
		if (rc < 0)
			return -1;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->re.md);
		size_t prev =
			r->nspans > t->first ? r->spans[r->nspans - 1].e : 0;
		/* \K can report a match that ends before it starts. */
		if (ov[1] < ov[0] || ov[0] < prev || ov[1] > len)
			return -1;
		if (add_span(r, ov[0], ov[1]) < 0)
			return -1;
		gone += ov[1] - ov[0];
		start = ov[1];
		opts = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED
				      : 0;
	}
	t->nspans = r->nspans - t->first;
	t->new_len = len - gone + t->nspans * r->rlen;
	return 0;
}

/* Writes s with t's spans replaced at the end of the scratch. */
static const char *rewrite(const struct redact *r, struct ttlog__scratch *sc,
			   const char *s, size_t len, const struct target *t)
{
	char *o0 = sc->p + sc->len, *o = o0;
	size_t at = 0;

	for (size_t i = t->first; i < t->first + t->nspans; i++) {
		memcpy(o, s + at, r->spans[i].a - at);
		o += r->spans[i].a - at;
		memcpy(o, r->replace, r->rlen);
		o += r->rlen;
		at = r->spans[i].e;
	}
	memcpy(o, s + at, len - at);
	sc->len += t->new_len;
	return o0;
}

static int wanted(const struct redact *r, const struct ttlog__in_field *f)
{
	if (f->type != TTLOG_TYPE_STR)
		return 0;
	if (r->in_all)
		return 1;
	for (size_t i = 0; i < r->nin; i++)
		if (strcmp(r->in[i], "msg") != 0 &&
		    ttlog__work_key_is(f, r->in[i]))
			return 1;
	return 0;
}

static enum ttlog__proc_rc redact_apply(void *st, struct ttlog__work *w,
					uint64_t now_ns)
{
	struct redact *r = st;
	struct ttlog__in_event *ev = &w->ev;
	struct target t[1 + TTLOG__IN_MAX_FIELDS];
	size_t nt = 0, total = 0;

	(void)now_ns;
	r->nspans = 0;
	if (r->in_msg) {
		t[nt].field = -1;
		if (find(r, ev->msg, ev->msg_len, &t[nt]) < 0)
			return TTLOG__PROC_FAILED;
		total += t[nt].nspans ? t[nt].new_len : 0;
		nt += t[nt].nspans > 0;
	}
	for (uint32_t i = 0; i < ev->nfields; i++) {
		const struct ttlog__in_field *f = &ev->fields[i];
		if (!wanted(r, f))
			continue;
		t[nt].field = (int)i;
		if (find(r, f->v.str.ptr, f->v.str.len, &t[nt]) < 0)
			return TTLOG__PROC_FAILED;
		total += t[nt].nspans ? t[nt].new_len : 0;
		nt += t[nt].nspans > 0;
	}
	if (nt == 0)
		return TTLOG__PROC_KEEP;
	/* Once: the strings written below stay where they are. */
	if (ttlog__work_scratch_reserve(w, total) < 0)
		return TTLOG__PROC_FAILED;
	for (size_t i = 0; i < nt; i++) {
		if (t[i].field < 0) {
			ev->msg = rewrite(r, w->s, ev->msg, ev->msg_len, &t[i]);
			ev->msg_len = t[i].new_len;
			continue;
		}
		struct ttlog_strn *v = &ev->fields[t[i].field].v.str;
		v->ptr = rewrite(r, w->s, v->ptr, v->len, &t[i]);
		v->len = t[i].new_len;
	}
	w->changed = 1;
	return TTLOG__PROC_KEEP;
}

const struct ttlog__proc_kind ttlog__proc_redact = {"redact", redact_compile,
						    redact_apply, redact_free};
