/* work.c - growing a work event's scratch without leaving the event's
 * strings behind (work.h). */
#include <stdint.h>
#include <string.h>

#include "parse_internal.h"
#include "work.h"

/* Moves p by delta when it pointed into [lo, lo + n). The old block is
 * freed by then: only its address is compared, never read. */
static void repoint(const char **p, uintptr_t lo, size_t n, const char *base)
{
	uintptr_t a = (uintptr_t)*p;

	if (*p != NULL && a >= lo && a < lo + n)
		*p = base + (a - lo);
}

static void repoint_event(struct ttlog__in_event *ev, uintptr_t lo, size_t n,
			  const char *base)
{
	repoint(&ev->msg, lo, n, base);
	repoint(&ev->dup_key, lo, n, base);
	for (uint32_t i = 0; i < ev->nfields; i++) {
		struct ttlog__in_field *f = &ev->fields[i];
		repoint(&f->key, lo, n, base);
		if (f->type == TTLOG_TYPE_STR)
			repoint(&f->v.str.ptr, lo, n, base);
	}
}

int ttlog__work_scratch_reserve(struct ttlog__work *w, size_t n)
{
	struct ttlog__scratch *s = w->s;
	uintptr_t lo = (uintptr_t)s->p;
	size_t used = s->len;

	if (s->p != NULL && s->cap - s->len >= n)
		return 0;
	if (ttlog__scratch_reserve(s, n) != 0)
		return -1;
	/* Only addresses inside what was used move: one just past the end
	 * may be another block's. */
	if (lo != 0 && (uintptr_t)s->p != lo)
		repoint_event(&w->ev, lo, used, s->p);
	return 0;
}

const char *ttlog__work_scratch_put(struct ttlog__work *w, const void *bytes,
				    size_t len)
{
	struct ttlog__scratch *s = w->s;
	uintptr_t lo = (uintptr_t)s->p, b = (uintptr_t)bytes;
	int inside = s->p != NULL && b >= lo && b < lo + s->len;
	char *dst;

	if (len > SIZE_MAX - 1 || ttlog__work_scratch_reserve(w, len + 1) != 0)
		return NULL;
	if (inside) /* the source moved with the scratch */
		bytes = s->p + (b - lo);
	dst = s->p + s->len;
	if (len > 0)
		memmove(dst, bytes, len);
	dst[len] = 0;
	s->len += len + 1;
	return dst;
}
