/*
 * proc_rename.c - the rename processor: `fields: {old: new}`. It copies
 * nothing: a renamed field's key points at the new name held by the
 * processor, which outlives the event's trip through the processors (the
 * batch copies what it keeps).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_util.h"

/* v holds old and new names in turns: v[2i] -> v[2i + 1]. */
static void *rename_compile(const struct ttlog__cfg_node *sec, const char *path,
			    struct ttlog__diag *d)
{
	static const char *const keys[] = {"fields", NULL};
	const struct ttlog__cfg_node *m = ttlog__cfg_get(sec, "fields");
	struct ttlog__proc_names *s;
	char p[256];
	int bad = ttlog__proc_keys_check(sec, path, keys, d);

	snprintf(p, sizeof(p), "%s.fields", path != NULL ? path : "");
	if (m == NULL) {
		ttlog__diag_add(d, sec, path,
				"missing key 'fields' (a map old: new)");
		return NULL;
	}
	if (m->kind != TTLOG__CFG_MAP || m->n == 0) {
		ttlog__diag_add(d, m, p,
				"expected a non-empty map such as {old: new}");
		return NULL;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (m->vals[i]->kind != TTLOG__CFG_SCALAR ||
		    m->vals[i]->str[0] == '\0' || m->keys[i][0] == '\0') {
			ttlog__diag_add(d, m->vals[i], p,
					"expected a non-empty new name for "
					"'%s'",
					m->keys[i]);
			bad++;
		}
	}
	if (bad)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->v = calloc(2 * m->n, sizeof(char *))) == NULL) {
		free(s);
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	s->n = 2 * m->n;
	for (size_t i = 0; i < m->n; i++) {
		s->v[2 * i] = strdup(m->keys[i]);
		s->v[2 * i + 1] = strdup(m->vals[i]->str);
		if (s->v[2 * i] == NULL || s->v[2 * i + 1] == NULL) {
			ttlog__proc_names_free(s);
			ttlog__diag_add(d, sec, path, "out of memory");
			return NULL;
		}
	}
	return s;
}

/* Renames are applied one pair at a time, in the order written: a field
 * named like the new name is removed first (the renamed field replaces
 * it, at the renamed field's place), then every field named old takes
 * the new name. */
static enum ttlog__proc_rc rename_apply(void *st, struct ttlog__work *w,
					uint64_t now_ns)
{
	const struct ttlog__proc_names *s = st;
	struct ttlog__in_event *ev = &w->ev;

	(void)now_ns;
	for (size_t k = 0; k < s->n; k += 2) {
		const char *from = s->v[k], *to = s->v[k + 1];
		if (ttlog__work_find(w, from, strlen(from)) < 0 ||
		    strcmp(from, to) == 0)
			continue;
		for (uint32_t i = ev->nfields; i-- > 0;)
			if (ttlog__work_key_is(&ev->fields[i], to))
				ttlog__work_del(w, i);
		for (uint32_t i = 0; i < ev->nfields; i++) {
			if (!ttlog__work_key_is(&ev->fields[i], from))
				continue;
			ev->fields[i].key = to;
			ev->fields[i].key_len = strlen(to);
		}
		w->changed = 1;
	}
	return TTLOG__PROC_KEEP;
}

const struct ttlog__proc_kind ttlog__proc_rename = {
	"rename", rename_compile, rename_apply, ttlog__proc_names_free};
