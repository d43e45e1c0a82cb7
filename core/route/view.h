/*
 * view.h - one event as match expressions, templates and processors read
 * it, whichever form it is in: an event of a batch (call site + encoded
 * values) or a work event that processors are changing (an in_event).
 */
#ifndef TTLOG_ROUTE_VIEW_H
#define TTLOG_ROUTE_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/batch.h>

#include "ingest_internal.h"

struct ttlog__view {
	uint64_t time_ns; /* since the epoch, UTC */
	int level;	  /* enum ttlog_level */
	const char *msg;  /* not NUL-terminated */
	size_t msg_len;
	const struct ttlog_origin *origin; /* never NULL */
	/* The fields: a batch event's (cs and vals, `in` NULL) or a work
	 * event's (`in`, which then also gave msg and level). */
	const struct ttlog_callsite *cs;
	const unsigned char *vals;
	const struct ttlog__in_event *in;
};

/* Fills v with event i of b (i < ttlog_batch_count(b)). */
void ttlog__view_batch(struct ttlog__view *v, const struct ttlog_batch *b,
		       size_t i);
/* Fills v with a work event (fields, message and level from ev). */
void ttlog__view_work(struct ttlog__view *v, const struct ttlog__in_event *ev,
		      const struct ttlog_origin *origin);

/*
 * Looks up the field `key` (key_len bytes, no NUL needed). When the event
 * has the key more than once, the last one counts (as the JSON encoding
 * writes it). Fills out->type and out->v; out->key is not set.
 * @return 1 when found, 0 when the event has no such field.
 */
int ttlog__view_field(const struct ttlog__view *v, const char *key,
		      size_t key_len, struct ttlog_field *out);

/* Number of fields, and field i in order (key_len set from the key). */
size_t ttlog__view_nfields(const struct ttlog__view *v);

#endif /* TTLOG_ROUTE_VIEW_H */
