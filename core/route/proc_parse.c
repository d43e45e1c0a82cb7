/*
 * proc_parse.c - the parse processor: the message (or a string field,
 * `from:`) read as JSON, logfmt or a regular expression with named
 * groups, its members added to the event as fields.
 *
 * Everything that can fail is done on a side event first (the parsed
 * fields and their type conversions); the work event is changed only
 * when all of it succeeded, so a FAILED event goes on exactly as it came.
 * Parsed strings point into the source text or into the work's scratch,
 * reserved once for the source's length before parsing so that it does
 * not move while the side event points into it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_internal.h"
#include "proc_regex.h"
#include "work.h"

enum fmt { F_JSON, F_LOGFMT, F_REGEX };
enum conv { C_INT, C_FLOAT, C_BOOL };

struct conv_rule {
	char *name;
	enum conv to;
};

struct group {
	char *name;
	uint32_t num;
};

struct parse {
	enum fmt fmt;
	struct ttlog__proc_re re;
	struct group *groups;
	size_t ngroups;
	char *from; /* NULL: the message */
	int keep_original;
	struct conv_rule *types;
	size_t ntypes;
	struct ttlog__in_event tmp; /* the side event, reused */
};

static void parse_free(void *st)
{
	struct parse *p = st;

	if (p == NULL)
		return;
	ttlog__proc_re_destroy(&p->re);
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->groups[i].name);
	free(p->groups);
	for (size_t i = 0; i < p->ntypes; i++)
		free(p->types[i].name);
	free(p->types);
	free(p->from);
	free(p);
}

/* The named groups of the pattern, which become the fields. */
static int groups_get(struct parse *p, const struct ttlog__cfg_node *sec,
		      const char *path, struct ttlog__diag *d)
{
	uint32_t n = 0, size = 0;
	PCRE2_SPTR table;

	pcre2_pattern_info(p->re.code, PCRE2_INFO_NAMECOUNT, &n);
	pcre2_pattern_info(p->re.code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(p->re.code, PCRE2_INFO_NAMETABLE, &table);
	if (n == 0) {
		char pp[256];
		snprintf(pp, sizeof(pp), "%s.pattern",
			 path != NULL ? path : "");
		ttlog__diag_add(d, ttlog__cfg_get(sec, "pattern"), pp,
				"has no named group such as "
				"(?<name>...); each named group becomes a "
				"field");
		return -1;
	}
	p->groups = calloc(n, sizeof(*p->groups));
	if (p->groups == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *e = table + i * size;
		p->groups[i].num = (uint32_t)(e[0] << 8 | e[1]);
		p->groups[i].name = strdup((const char *)e + 2);
		if (p->groups[i].name == NULL)
			return -1;
		p->ngroups++;
	}
	return 0;
}

static int types_get(struct parse *p, const struct ttlog__cfg_node *sec,
		     const char *path, struct ttlog__diag *d)
{
	static const char *const names[] = {"int", "float", "bool", NULL};
	const struct ttlog__cfg_node *m = ttlog__cfg_get(sec, "types");
	char tp[256];
	int bad = 0;

	if (m == NULL)
		return 0;
	snprintf(tp, sizeof(tp), "%s.types", path != NULL ? path : "");
	if (m->kind != TTLOG__CFG_MAP || m->n == 0) {
		ttlog__diag_add(d, m, tp,
				"expected a map such as {status: int}");
		return -1;
	}
	p->types = calloc(m->n, sizeof(*p->types));
	if (p->types == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct ttlog__cfg_node *v = m->vals[i];
		size_t k = 0;
		while (v->kind == TTLOG__CFG_SCALAR && names[k] != NULL &&
		       strcmp(names[k], v->str) != 0)
			k++;
		if (v->kind != TTLOG__CFG_SCALAR || names[k] == NULL) {
			ttlog__diag_add(d, v, tp,
					"type of '%s': expected int, float or "
					"bool",
					m->keys[i]);
			bad = 1;
			continue;
		}
		p->types[p->ntypes].to = (enum conv)k;
		p->types[p->ntypes].name = strdup(m->keys[i]);
		if (p->types[p->ntypes++].name == NULL)
			return -1;
	}
	return bad ? -1 : 0;
}

static void *parse_compile(const struct ttlog__cfg_node *sec, const char *path,
			   struct ttlog__diag *d)
{
	static const char *const keys[] = {"format",	    "pattern", "from",
					   "keep_original", "types",   NULL};
	static const char *const fmts[] = {"json", "logfmt", "regex", NULL};
	struct parse *p = calloc(1, sizeof(*p));
	const char *fmt = NULL, *from = NULL;
	char fp[256];
	int bad = 0, r;

	if (p == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	p->keep_original = 1;
	bad |= ttlog__proc_keys_check(sec, path, keys, d) > 0;
	r = ttlog__proc_opt_str(sec, "format", path, d, &fmt);
	snprintf(fp, sizeof(fp), "%s.format", path != NULL ? path : "");
	if (r == 0) {
		ttlog__diag_add(d, sec, path,
				"missing key 'format' (json, logfmt or regex)");
		bad = 1;
	} else if (r > 0) {
		size_t k = 0;
		while (fmts[k] != NULL && strcmp(fmts[k], fmt) != 0)
			k++;
		if (fmts[k] == NULL) {
			const char *hint = ttlog__cfg_suggest(fmt, fmts);
			ttlog__diag_add(d, ttlog__cfg_get(sec, "format"), fp,
					"unknown format '%s'%s%s%s; expected "
					"json, logfmt or regex",
					fmt, hint ? " (did you mean '" : "",
					hint ? hint : "", hint ? "'?)" : "");
			bad = 1;
		}
		p->fmt = (enum fmt)k;
	} else {
		bad = 1;
	}
	/* The pattern is checked whenever the format is known, so that one
	 * load reports it with the other problems. */
	int fmt_ok = r > 0 && fmts[p->fmt] != NULL;
	if (fmt_ok && p->fmt == F_REGEX) {
		if (ttlog__proc_re_compile(&p->re, sec, "pattern", path, d) <
			    0 ||
		    groups_get(p, sec, path, d) < 0)
			bad = 1;
	} else if (fmt_ok && ttlog__cfg_get(sec, "pattern") != NULL) {
		snprintf(fp, sizeof(fp), "%s.pattern",
			 path != NULL ? path : "");
		ttlog__diag_add(d, ttlog__cfg_get(sec, "pattern"), fp,
				"only for format: regex");
		bad = 1;
	}
	bad |= ttlog__proc_opt_str(sec, "from", path, d, &from) < 0;
	if (from != NULL && strcmp(from, "msg") != 0 &&
	    (p->from = strdup(from)) == NULL)
		bad = 1;
	bad |= ttlog__proc_opt_bool(sec, "keep_original", path, d,
				    &p->keep_original) < 0;
	bad |= types_get(p, sec, path, d) < 0;
	if (bad) {
		parse_free(p);
		return NULL;
	}
	return p;
}

/* Converts a string field as `types:` says; -1 when it does not fit. */
static int convert(struct ttlog__in_field *f, enum conv to)
{
	char buf[64], *end;

	if (f->type != TTLOG_TYPE_STR)
		return 0;
	if (f->v.str.len == 0 || f->v.str.len >= sizeof(buf))
		return -1;
	memcpy(buf, f->v.str.ptr, f->v.str.len);
	buf[f->v.str.len] = '\0';
	errno = 0;
	switch (to) {
	case C_INT: {
		long long v = strtoll(buf, &end, 10);
		if (*end != '\0' || errno != 0 || buf[0] == ' ')
			return -1;
		f->type = TTLOG_TYPE_I64;
		f->v.i64 = v;
		return 0;
	}
	case C_FLOAT: {
		double v = strtod(buf, &end);
		if (*end != '\0' || errno != 0 || buf[0] == ' ')
			return -1;
		f->type = TTLOG_TYPE_F64;
		f->v.f64 = v;
		return 0;
	}
	default:
		if (strcmp(buf, "true") != 0 && strcmp(buf, "false") != 0)
			return -1;
		f->type = TTLOG_TYPE_BOOL;
		f->v.b = buf[0] == 't';
		return 0;
	}
}

static int run_regex(struct parse *p, const char *src, size_t len)
{
	PCRE2_SIZE *ov;

	p->tmp.nfields = 0;
	if (ttlog__proc_re_match(&p->re, src, len, 0, 0) < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(p->re.md);
	for (size_t i = 0; i < p->ngroups; i++) {
		uint32_t g = p->groups[i].num;
		if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
			continue;
		struct ttlog__in_field *f = &p->tmp.fields[p->tmp.nfields++];
		f->key = p->groups[i].name;
		f->key_len = strlen(f->key);
		f->type = TTLOG_TYPE_STR;
		f->v.str.ptr = src + ov[2 * g];
		f->v.str.len = ov[2 * g + 1] - ov[2 * g];
	}
	return 0;
}

/* The parsed "msg" or "message" string, taken out of the side event. */
static int take_msg(struct ttlog__in_event *t, struct ttlog_strn *out)
{
	static const char *const names[] = {"msg", "message"};

	for (size_t n = 0; n < 2; n++) {
		for (uint32_t i = 0; i < t->nfields; i++) {
			struct ttlog__in_field *f = &t->fields[i];
			if (f->type != TTLOG_TYPE_STR ||
			    !ttlog__work_key_is(f, names[n]))
				continue;
			*out = f->v.str;
			memmove(f, f + 1, (t->nfields - i - 1) * sizeof(*f));
			t->nfields--;
			return 1;
		}
	}
	return 0;
}

static enum ttlog__proc_rc parse_apply(void *st, struct ttlog__work *w,
				       uint64_t now_ns)
{
	struct parse *p = st;
	struct ttlog__in_event *ev = &w->ev, *t = &p->tmp;
	int src = -1, r;
	const char *text;
	size_t len;

	(void)now_ns;
	if (p->from != NULL) {
		src = ttlog__work_find(w, p->from, strlen(p->from));
		if (src < 0 || ev->fields[src].type != TTLOG_TYPE_STR)
			return TTLOG__PROC_FAILED;
	}
	len = src < 0 ? ev->msg_len : ev->fields[src].v.str.len;
	if (p->fmt != F_REGEX && ttlog__work_scratch_reserve(w, len + 1) < 0)
		return TTLOG__PROC_FAILED;
	/* Read after the reserve, which may have moved it. */
	text = src < 0 ? ev->msg : ev->fields[src].v.str.ptr;
	if (p->fmt == F_JSON)
		r = ttlog__json_fields_parse(text, len, t, w->s, NULL, 0);
	else if (p->fmt == F_LOGFMT)
		r = ttlog__logfmt_parse(text, len, t, w->s, NULL, 0);
	else
		r = run_regex(p, text, len);
	if (r < 0)
		return TTLOG__PROC_FAILED;
	for (size_t k = 0; k < p->ntypes; k++) {
		for (uint32_t i = 0; i < t->nfields; i++)
			if (ttlog__work_key_is(&t->fields[i],
					       p->types[k].name) &&
			    convert(&t->fields[i], p->types[k].to) < 0)
				return TTLOG__PROC_FAILED;
	}
	/* From here on nothing fails: the event changes. */
	if (!p->keep_original && src >= 0) {
		ttlog__work_del(w, (uint32_t)src);
	} else if (!p->keep_original) {
		struct ttlog_strn m = {"", 0};
		take_msg(t, &m);
		ev->msg = m.ptr;
		ev->msg_len = m.len;
	}
	for (uint32_t i = 0; i < t->nfields; i++) {
		const struct ttlog__in_field *f = &t->fields[i];
		int at = ttlog__work_find(w, f->key, f->key_len);
		if (at >= 0) {
			ev->fields[at].type = f->type;
			ev->fields[at].v = f->v;
		} else if (ev->nfields < TTLOG__IN_MAX_FIELDS) {
			ev->fields[ev->nfields++] = *f;
		} else {
			ev->truncated = 1;
		}
	}
	if (t->truncated)
		ev->truncated = 1;
	w->changed = 1;
	return TTLOG__PROC_KEEP;
}

const struct ttlog__proc_kind ttlog__proc_parse = {"parse", parse_compile,
						   parse_apply, parse_free};
