/*
 * template_internal.h - where an expansion goes: a growable buffer (the
 * set processor, ttlog__tmpl_expand) or a caller's fixed array cut to its
 * size while counting what the whole would need (the public
 * ttlog_template_expand(), snprintf-like).
 */
#ifndef TTLOG_ROUTE_TEMPLATE_INTERNAL_H
#define TTLOG_ROUTE_TEMPLATE_INTERNAL_H

#include <stddef.h>

#include "template.h"

struct ttlog__tmpl_sink {
	struct ttlog__buf *buf; /* when set, out and cap are unused */
	char *out;
	size_t cap;
	size_t len; /* bytes the expansion has so far, cut or not */
};

void ttlog__tmpl_sink_put(struct ttlog__tmpl_sink *s, const void *d, size_t n);
/* Expands t for v into s; never allocates unless s->buf must grow. */
void ttlog__tmpl_expand_sink(const struct ttlog__tmpl *t,
			     const struct ttlog__view *v,
			     struct ttlog__tmpl_sink *s);

#endif /* TTLOG_ROUTE_TEMPLATE_INTERNAL_H */
