/*
 * view_out.h - writing events as the file listener's text or json format
 * would, with the same encoders (ttlog_batch_encode()): events are
 * gathered in a batch and the batch is encoded and written when it is
 * full or flushed.
 *
 * On top of the encodings: the level of a text line may be colored. The
 * sender (the event's origin, binary logs of batch version 3; for a
 * snapshot's events, which have none, the snapshot's service) is
 * shown as the encoders show it: JSON keys host, service, input, peer,
 * peer_id, relay when not empty; text " (service@host)" when the event
 * has a host or a service.
 */
#ifndef TTLOG_VIEW_OUT_H
#define TTLOG_VIEW_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "ingest_internal.h"
#include "view_snap.h"

struct ttlog_batch;

/* Caller-owned; view_out_init() then view_out_destroy(). */
struct view_out {
	FILE *f; /* borrowed */
	int json, color;
	struct ttlog_batch *b; /* events not written yet */
	/* The origin of events without one of their own (JSON): the file's
	 * service (view_out_set_service()), or empty. */
	struct ttlog__origin *none;
	int err; /* errno of the first failed write */
};

/* json: JSON lines, else text; color: ANSI colors for the text level. */
void view_out_init(struct view_out *o, FILE *f, int json, int color);
/* Writes what is pending, then frees everything. */
void view_out_destroy(struct view_out *o);

/*
 * Sets the service that JSON objects of the following events without an
 * origin of their own carry (NULL: none, as for a binary log). Flushes
 * what is pending first, so that each event keeps the service of its own
 * file. @return 0 or -1.
 */
int view_out_set_service(struct view_out *o, const struct view_str *service);

/* Adds one event (copied). @return 0, or -1 when out of memory or a
 * write failed (o->err). */
int view_out_event(struct view_out *o, const struct ttlog__in_event *ev);

/* Encodes and writes the pending events, and flushes the stream.
 * @return 0, or -1 (o->err, ENOMEM when out of memory). */
int view_out_flush(struct view_out *o);

#endif /* TTLOG_VIEW_OUT_H */
