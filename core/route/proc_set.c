/*
 * proc_set.c - the set processor: sets a field (or overwrites it) from a
 * template (template.h).
 *
 *   - {type: set, field: route, value: "$${service}-$${level}"}
 *   - {type: set, field: attempt, value: "$${fields.retry}", as: int}
 *
 * ("$${" in ttlog.yaml is a "${" the loader leaves alone: a bare "${x}"
 * would be the environment variable x.)
 *
 * `as` converts the expansion to string (the default), int, float or
 * bool; text that does not convert leaves the event unchanged and the
 * event counts as failed for this processor. (`type` would be the natural
 * word, but it names the processor kind.) The value's template is
 * compiled at load, so a mistake in it is an error at its column in the
 * file. The expanded text goes into the work's scratch through work.h,
 * which keeps what other processors put there valid.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc_impl.h"
#include "template.h"
#include "work.h"

enum set_as { AS_STRING, AS_INT, AS_FLOAT, AS_BOOL };

static const char *const as_names[] = {"string", "int", "float", "bool", NULL};

static const char *const set_keys[] = {"type",	"match", "name", "field",
				       "value", "as",	 NULL};

struct set_state {
	char *field;
	size_t field_len;
	struct ttlog__tmpl *value;
	enum set_as as;
	struct ttlog__buf out; /* the expansion, reused from event to event */
};

static void set_free(void *state)
{
	struct set_state *st = state;

	if (st == NULL)
		return;
	free(st->field);
	ttlog__tmpl_free(st->value);
	ttlog__buf_free(&st->out);
	free(st);
}

static const struct ttlog__cfg_node *
want_string(const struct ttlog__cfg_node *sec, const char *key,
	    const char *path, struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *n = ttlog__cfg_get(sec, key);

	if (n == NULL) {
		ttlog__diag_add(d, sec, path, "set: `%s` is required", key);
		return NULL;
	}
	if (n->kind != TTLOG__CFG_SCALAR) {
		ttlog__diag_add(d, n, path, "%s: expected a string", key);
		return NULL;
	}
	return n;
}

static void check_keys(const struct ttlog__cfg_node *sec, const char *path,
		       struct ttlog__diag *d)
{
	for (size_t i = 0; i < sec->n; i++) {
		size_t k = 0;
		while (set_keys[k] != NULL && strcmp(set_keys[k], sec->keys[i]))
			k++;
		if (set_keys[k] != NULL)
			continue;
		const char *near = ttlog__cfg_suggest(sec->keys[i], set_keys);
		ttlog__diag_add(d, sec->key_nodes[i], path,
				"set: unknown key \"%s\"%s%s%s (known: field, "
				"value, as)",
				sec->keys[i], near ? " (did you mean \"" : "",
				near ? near : "", near ? "\"?)" : "");
	}
}

/* Compiles the value's template; an error names its column in the file
 * (the scalar's own column, past an opening quote, plus the offset). */
static struct ttlog__tmpl *compile_value(const struct ttlog__cfg_node *n,
					 const char *path,
					 struct ttlog__diag *d)
{
	char err[160];
	size_t off = 0;
	struct ttlog__tmpl *t = ttlog__tmpl_compile(n->str, strlen(n->str), 0,
						    &off, err, sizeof(err));

	if (t == NULL) {
		struct ttlog__cfg_node at = *n;
		/* Every "${" that reached us was written "$${" in the file
		 * (the loader expands the others): one column more each. */
		size_t shift = 0;
		for (size_t i = 0; i + 1 < off; i++)
			shift += n->str[i] == '$' && n->str[i + 1] == '{';
		at.col += (unsigned)(off + shift) + (n->quoted ? 1u : 0u);
		ttlog__diag_add(d, &at, path, "value: %s", err);
	}
	return t;
}

static void *set_compile(const struct ttlog__cfg_node *sec, const char *path,
			 struct ttlog__diag *d)
{
	struct set_state *st = calloc(1, sizeof(*st));
	const struct ttlog__cfg_node *fn, *vn, *an;
	size_t before = d->n;

	if (st == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	check_keys(sec, path, d);
	fn = want_string(sec, "field", path, d);
	vn = want_string(sec, "value", path, d);
	if (fn != NULL && fn->str[0] == 0)
		ttlog__diag_add(d, fn, path, "field: the name is empty");
	else if (fn != NULL) {
		st->field_len = strlen(fn->str);
		st->field = malloc(st->field_len + 1);
		if (st->field == NULL)
			ttlog__diag_add(d, fn, path, "out of memory");
		else
			memcpy(st->field, fn->str, st->field_len + 1);
	}
	if (vn != NULL)
		st->value = compile_value(vn, path, d);
	an = ttlog__cfg_get(sec, "as");
	if (an != NULL) {
		int k = 0;
		while (an->kind == TTLOG__CFG_SCALAR && as_names[k] != NULL &&
		       strcmp(as_names[k], an->str) != 0)
			k++;
		if (an->kind != TTLOG__CFG_SCALAR || as_names[k] == NULL)
			ttlog__diag_add(d, an, path,
					"as: expected one of string, int, "
					"float, bool");
		else
			st->as = (enum set_as)k;
	}
	if (d->n != before) {
		set_free(st);
		return NULL;
	}
	return st;
}

/* Converts text (len bytes, NUL-terminated) into f's value. @return 0, or
 * -1 when the text is not of that kind. */
static int convert(enum set_as as, const char *text, size_t len,
		   struct ttlog__in_field *f)
{
	char *end;

	if (len == 0)
		return -1;
	errno = 0;
	switch (as) {
	case AS_INT:
		/* Digits with an optional '-': no spaces, '+' or hex. */
		if (!(text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
			return -1;
		if (text[0] == '-') {
			f->type = TTLOG_TYPE_I64;
			f->v.i64 = strtoll(text, &end, 10);
		} else {
			f->v.u64 = strtoull(text, &end, 10);
			f->type = f->v.u64 <= INT64_MAX ? TTLOG_TYPE_I64
							: TTLOG_TYPE_U64;
		}
		return errno == 0 && end == text + len ? 0 : -1;
	case AS_FLOAT:
		f->type = TTLOG_TYPE_F64;
		f->v.f64 = strtod(text, &end);
		return end == text + len && isfinite(f->v.f64) &&
				       !isspace((unsigned char)text[0])
			       ? 0
			       : -1;
	case AS_BOOL:
		f->type = TTLOG_TYPE_BOOL;
		f->v.b = strcmp(text, "true") == 0;
		return f->v.b || strcmp(text, "false") == 0 ? 0 : -1;
	case AS_STRING:
	default:
		return -1;
	}
}

static enum ttlog__proc_rc set_apply(void *state, struct ttlog__work *w,
				     uint64_t now_ns)
{
	struct set_state *st = state;
	struct ttlog__in_field nf = {.key = st->field,
				     .key_len = st->field_len};
	struct ttlog__view v;
	uint32_t i, n = w->ev.nfields;
	int found = 0;

	(void)now_ns;
	ttlog__view_work(&v, &w->ev, w->origin);
	ttlog__buf_reset(&st->out);
	if (ttlog__tmpl_expand(st->value, &v, &st->out) != 0)
		return TTLOG__PROC_FAILED;
	ttlog__buf_putc(&st->out, 0); /* for the conversions */
	if (st->out.oom)
		return TTLOG__PROC_FAILED;
	if (st->as != AS_STRING) {
		if (convert(st->as, (const char *)st->out.p, st->out.len - 1,
			    &nf) != 0)
			return TTLOG__PROC_FAILED;
	} else {
		nf.type = TTLOG_TYPE_STR;
		for (i = 0; i < n; i++)
			found |= w->ev.fields[i].key_len == st->field_len &&
				 memcmp(w->ev.fields[i].key, st->field,
					st->field_len) == 0;
		if (!found && n == TTLOG__IN_MAX_FIELDS)
			return TTLOG__PROC_FAILED;
		/* May move the scratch; w->ev is re-pointed with it. */
		nf.v.str.ptr =
			ttlog__work_scratch_put(w, st->out.p, st->out.len - 1);
		nf.v.str.len = st->out.len - 1;
		if (nf.v.str.ptr == NULL)
			return TTLOG__PROC_FAILED;
	}
	/* Every field of that name gets the value, so that whichever one a
	 * reader takes (the last, view.h) says the same. */
	found = 0;
	for (i = 0; i < n; i++) {
		struct ttlog__in_field *f = &w->ev.fields[i];
		if (f->key_len == st->field_len &&
		    memcmp(f->key, st->field, st->field_len) == 0) {
			nf.key = f->key;
			*f = nf;
			found = 1;
		}
	}
	if (!found) {
		if (n == TTLOG__IN_MAX_FIELDS)
			return TTLOG__PROC_FAILED;
		w->ev.fields[n] = nf;
		w->ev.nfields = n + 1;
	}
	w->changed = 1;
	return TTLOG__PROC_KEEP;
}

const struct ttlog__proc_kind ttlog__proc_set = {
	.type = "set",
	.compile = set_compile,
	.apply = set_apply,
	.free = set_free,
};
