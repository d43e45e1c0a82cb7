/* view.c - reading an event's fields in either of its forms (view.h). */
#include <string.h>

#include "batch_internal.h"
#include "origin_internal.h"
#include "view.h"

void ttlog__view_batch(struct ttlog__view *v, const struct ttlog_batch *b,
		       size_t i)
{
	const struct ttlog__event *e = &b->ev[i];

	v->cs = b->cs[e->cs];
	v->vals = ttlog__event_bytes(b, e, &v->msg, &v->msg_len);
	v->time_ns = e->time_ns;
	v->level = v->cs->level;
	v->origin = &b->orig[e->origin]->pub;
	v->in = NULL;
}

void ttlog__view_work(struct ttlog__view *v, const struct ttlog__in_event *ev,
		      const struct ttlog_origin *origin)
{
	v->time_ns = ev->time_ns;
	v->level = ev->level;
	v->msg = ev->msg;
	v->msg_len = ev->msg_len;
	v->origin = origin;
	v->cs = NULL;
	v->vals = NULL;
	v->in = ev;
}

static void in_field(const struct ttlog__in_field *f, struct ttlog_field *out)
{
	out->type = f->type;
	switch (f->type) {
	case TTLOG_TYPE_STR:
		out->v.str = f->v.str;
		break;
	case TTLOG_TYPE_BOOL:
		out->v.b = f->v.b != 0;
		break;
	default:
		out->v.u64 = f->v.u64;
		break;
	}
}

int ttlog__view_field(const struct ttlog__view *v, const char *key,
		      size_t key_len, struct ttlog_field *out)
{
	int found = 0;

	if (v->in != NULL) {
		for (uint32_t i = v->in->nfields; i-- > 0;) {
			const struct ttlog__in_field *f = &v->in->fields[i];
			if (f->key_len == key_len &&
			    memcmp(f->key, key, key_len) == 0) {
				in_field(f, out);
				return 1;
			}
		}
		return 0;
	}
	/* Values are variable-length: walk them in order, keeping the
	 * last match. */
	const unsigned char *p = v->vals;
	struct ttlog_field f;
	for (uint8_t i = 0; i < v->cs->nfields; i++) {
		const char *k = v->cs->keys[i];
		p = ttlog__value_decode(p, v->cs->types[i], &f);
		if (strncmp(k, key, key_len) == 0 && k[key_len] == 0) {
			*out = f;
			found = 1;
		}
	}
	return found;
}

size_t ttlog__view_nfields(const struct ttlog__view *v)
{
	return v->in != NULL ? v->in->nfields : v->cs->nfields;
}
