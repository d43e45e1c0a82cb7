/*
 * template_api.c - the public template API (include/ttlog/template.h):
 * a thin wrapper around the route templates (template.c), which plugins
 * cannot reach because only ttlog_* symbols are exported.
 */
#include <stdio.h>
#include <string.h>

#include <ttlog/template.h>

#include "batch_internal.h"
#include "template.h"
#include "template_internal.h"

/* The public flags are the internal ones; keep them so. */
_Static_assert(TTLOG_TEMPLATE_DATE == TTLOG__TMPL_DATE, "date flag");
_Static_assert(TTLOG_TEMPLATE_PATH == TTLOG__TMPL_PATH, "path flag");

int ttlog_template_compile(const char *src, unsigned flags,
			   struct ttlog_template **out, char *err,
			   size_t errlen)
{
	char why[160];
	size_t off = 0;
	struct ttlog__tmpl *t;

	if (out != NULL)
		*out = NULL;
	if (src == NULL || out == NULL ||
	    (flags & ~(TTLOG_TEMPLATE_DATE | TTLOG_TEMPLATE_PATH)) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "invalid argument");
		return TTLOG_EINVAL;
	}
	why[0] = 0;
	t = ttlog__tmpl_compile(src, strlen(src), flags, &off, why,
				sizeof(why));
	if (t == NULL) {
		int oom = strcmp(why, "out of memory") == 0;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "column %zu: %s", off + 1, why);
		return oom ? TTLOG_ENOMEM : TTLOG_EINVAL;
	}
	*out = (struct ttlog_template *)t;
	return 0;
}

int64_t ttlog_template_expand(const struct ttlog_template *t,
			      const struct ttlog_batch *b, size_t i, char *out,
			      size_t cap)
{
	struct ttlog__tmpl_sink s = {.out = out, .cap = cap};
	struct ttlog__view v;

	const struct ttlog__tmpl *tm = (const struct ttlog__tmpl *)t;

	if (t == NULL || (out == NULL && cap > 0))
		return TTLOG_EINVAL;
	/* A constant reads nothing of an event: no batch needed. */
	if (b == NULL && !ttlog__tmpl_is_constant(tm))
		return TTLOG_EINVAL;
	if (b != NULL && i >= ttlog_batch_count(b))
		return TTLOG_EINVAL;
	if (b != NULL)
		ttlog__view_batch(&v, b, i);
	ttlog__tmpl_expand_sink(tm, b != NULL ? &v : NULL, &s);
	if (cap > 0)
		out[s.len < cap ? s.len : cap - 1] = 0;
	return (int64_t)s.len;
}

int ttlog_template_is_constant(const struct ttlog_template *t)
{
	return ttlog__tmpl_is_constant((const struct ttlog__tmpl *)t);
}

void ttlog_template_free(struct ttlog_template *t)
{
	ttlog__tmpl_free((struct ttlog__tmpl *)t);
}
