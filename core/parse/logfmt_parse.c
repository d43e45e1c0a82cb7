/*
 * logfmt_parse.c - key=value lines (the format of Go's logfmt and of
 * Heroku's router) into fields, for the parse processor. The grammar is
 * the one in parse_internal.h; it is deliberately small, since logfmt has
 * no specification, and every byte sequence either parses or is an error
 * with its offset, never a guess.
 */
#include <string.h>

#include "errf.h"
#include "parse_internal.h"

static int fail(char *err, size_t errlen, size_t at, const char *what)
{
	ttlog__errf(err, errlen, "byte %zu: %s", at, what);
	return -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The quoted value at t + *i (its opening quote): unescaped into the
 * scratch when it has a backslash, else pointing into t. */
static int quoted(const char *t, size_t n, size_t *i, struct ttlog__scratch *s,
		  struct ttlog_strn *out, char *err, size_t errlen)
{
	size_t start = ++*i, k;
	int esc = 0;

	for (k = start; k < n && t[k] != '"'; k++) {
		if (t[k] == '\\') {
			esc = 1;
			k++;
		}
	}
	if (k >= n)
		return fail(err, errlen, start - 1,
			    "unterminated quoted value");
	*i = k + 1;
	if (!esc) {
		out->ptr = t + start;
		out->len = k - start;
		return 0;
	}
	char *o = s->p + s->len, *o0 = o;
	for (size_t j = start; j < k; j++) {
		if (t[j] != '\\') {
			*o++ = t[j];
			continue;
		}
		char c = t[++j];
		*o++ = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
	}
	out->ptr = o0;
	out->len = (size_t)(o - o0);
	s->len += out->len;
	return 0;
}

static void add(struct ttlog__in_event *ev, struct ttlog__keyset *ks,
		const char *k, size_t kl, const struct ttlog__in_field *f)
{
	uint32_t slot;
	int at = ttlog__keyset_find(ks, ev, k, kl, &slot);

	if (at >= 0) {
		if (ev->duplicate_keys++ == 0) {
			ev->dup_key = ev->fields[at].key;
			ev->dup_key_len = kl;
		}
		ev->fields[at].type = f->type;
		ev->fields[at].v = f->v;
		return;
	}
	if (ev->nfields >= TTLOG__IN_MAX_FIELDS) {
		ev->truncated = 1;
		return;
	}
	ttlog__keyset_add(ks, slot, ev->nfields);
	ev->fields[ev->nfields] = *f;
	ev->fields[ev->nfields].key = k;
	ev->fields[ev->nfields].key_len = kl;
	ev->nfields++;
}

int ttlog__logfmt_parse(const char *t, size_t n, struct ttlog__in_event *ev,
			struct ttlog__scratch *s, char *err, size_t errlen)
{
	struct ttlog__keyset ks;
	struct ttlog__in_field f;
	size_t i = 0, k0, k1;
	int pairs = 0;

	ev->nfields = 0;
	ev->truncated = 0;
	ev->duplicate_keys = 0;
	ev->dup_key = NULL;
	ev->dup_key_len = 0;
	if (s->cap - s->len < n + 1 || s->p == NULL)
		return fail(err, errlen, 0, "scratch too small");
	ttlog__keyset_init(&ks);
	for (;;) {
		while (i < n && is_space(t[i]))
			i++;
		if (i >= n)
			break;
		if (t[i] == '=' || t[i] == '"')
			return fail(err, errlen, i,
				    t[i] == '=' ? "expected a key before '='"
						: "expected a key, got '\"'");
		k0 = i;
		while (i < n && !is_space(t[i]) && t[i] != '=' && t[i] != '"')
			i++;
		if (i < n && t[i] == '"')
			return fail(err, errlen, i, "'\"' inside a key");
		k1 = i;
		if (i >= n || t[i] != '=') {
			/* A bare key is a flag: true. */
			f.type = TTLOG_TYPE_BOOL;
			f.v.b = 1;
		} else if (++i < n && t[i] == '"') {
			f.type = TTLOG_TYPE_STR;
			if (quoted(t, n, &i, s, &f.v.str, err, errlen) < 0)
				return -1;
			if (i < n && !is_space(t[i]))
				return fail(err, errlen, i,
					    "expected a space after a quoted "
					    "value");
		} else {
			size_t v0 = i;
			while (i < n && !is_space(t[i]))
				i++;
			f.type = TTLOG_TYPE_STR;
			f.v.str.ptr = t + v0;
			f.v.str.len = i - v0;
		}
		add(ev, &ks, t + k0, k1 - k0, &f);
		pairs++;
	}
	if (pairs == 0)
		return fail(err, errlen, 0, "empty line, expected key=value");
	return 0;
}
