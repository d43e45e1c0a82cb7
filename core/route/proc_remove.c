/*
 * proc_remove.c - the remove processor: `fields: [a, b]` takes every
 * field with one of those keys out of the event.
 */
#include <stdlib.h>

#include "proc_util.h"

static void *remove_compile(const struct ttlog__cfg_node *sec, const char *path,
			    struct ttlog__diag *d)
{
	static const char *const keys[] = {"fields", NULL};
	struct ttlog__proc_names *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	r = ttlog__proc_opt_strs(sec, "fields", path, d, &s->v, &s->n);
	r = ttlog__proc_required(r, sec, path, d, "fields",
				 "a list of field names");
	if (ttlog__proc_keys_check(sec, path, keys, d) > 0 || r) {
		ttlog__proc_names_free(s);
		return NULL;
	}
	return s;
}

static enum ttlog__proc_rc remove_apply(void *st, struct ttlog__work *w,
					uint64_t now_ns)
{
	const struct ttlog__proc_names *s = st;
	uint32_t out = 0;

	(void)now_ns;
	for (uint32_t i = 0; i < w->ev.nfields; i++) {
		size_t k;
		for (k = 0;
		     k < s->n && !ttlog__work_key_is(&w->ev.fields[i], s->v[k]);
		     k++)
			;
		if (k < s->n)
			continue;
		if (out != i)
			w->ev.fields[out] = w->ev.fields[i];
		out++;
	}
	if (out != w->ev.nfields) {
		w->ev.nfields = out;
		w->changed = 1;
	}
	return TTLOG__PROC_KEEP;
}

const struct ttlog__proc_kind ttlog__proc_remove = {
	"remove", remove_compile, remove_apply, ttlog__proc_names_free};
