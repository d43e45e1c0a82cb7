/*
 * proc.c - the processors' dispatcher: finds the kind named by `type:`
 * and hands the item's map to it. Each kind lives in its own file
 * (proc_<type>.c) and checks its own options; this file only knows their
 * names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_util.h"

struct ttlog__proc {
	const struct ttlog__proc_kind *kind;
	void *state;
};

static const struct ttlog__proc_kind *const kinds[] = {
	&ttlog__proc_set,      &ttlog__proc_remove, &ttlog__proc_rename,
	&ttlog__proc_redact,   &ttlog__proc_parse,  &ttlog__proc_sample,
	&ttlog__proc_throttle, &ttlog__proc_drop,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* "remove, rename, ..." for messages. */
static void kind_list(char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NKINDS && at < len; i++) {
		int r = snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
				 kinds[i]->type);
		if (r < 0)
			return;
		at += (size_t)r;
	}
}

struct ttlog__proc *ttlog__proc_compile(const struct ttlog__cfg_node *sec,
					const char *path, struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *t;
	const struct ttlog__proc_kind *kind = NULL;
	const char *names[NKINDS + 1];
	char list[256], tp[256];
	struct ttlog__proc *p;

	kind_list(list, sizeof(list));
	if (sec == NULL || sec->kind != TTLOG__CFG_MAP) {
		ttlog__diag_add(d, sec, path,
				"expected a map such as {type: drop}");
		return NULL;
	}
	t = ttlog__cfg_get(sec, "type");
	snprintf(tp, sizeof(tp), "%s.type", path != NULL ? path : "");
	if (t == NULL) {
		ttlog__diag_add(d, sec, path, "missing key 'type' (one of: %s)",
				list);
		return NULL;
	}
	if (t->kind != TTLOG__CFG_SCALAR) {
		ttlog__diag_add(d, t, tp, "expected one of: %s", list);
		return NULL;
	}
	for (size_t i = 0; i < NKINDS; i++) {
		names[i] = kinds[i]->type;
		if (strcmp(kinds[i]->type, t->str) == 0)
			kind = kinds[i];
	}
	names[NKINDS] = NULL;
	if (kind == NULL) {
		const char *hint = ttlog__cfg_suggest(t->str, names);
		if (hint != NULL)
			ttlog__diag_add(d, t, tp,
					"unknown processor type '%s' (did you "
					"mean '%s'?); types: %s",
					t->str, hint, list);
		else
			ttlog__diag_add(d, t, tp,
					"unknown processor type '%s'; types: "
					"%s",
					t->str, list);
		return NULL;
	}
	p = malloc(sizeof(*p));
	if (p == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	p->kind = kind;
	p->state = kind->compile(sec, path, d);
	if (p->state == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

enum ttlog__proc_rc ttlog__proc_apply(struct ttlog__proc *p,
				      struct ttlog__work *w, uint64_t now_ns)
{
	return p->kind->apply(p->state, w, now_ns);
}

const char *ttlog__proc_type(const struct ttlog__proc *p)
{
	return p->kind->type;
}

void ttlog__proc_free(struct ttlog__proc *p)
{
	if (p == NULL)
		return;
	p->kind->free(p->state);
	free(p);
}
