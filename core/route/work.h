/*
 * work.h - the work event's scratch (struct ttlog__work in proc.h), shared
 * by every processor.
 *
 * Processors copy what they make (a redacted message, a parsed field, a
 * set value) into w->s, and the event's strings then point into it. When
 * the scratch has to grow it may move; these functions then re-point
 * every string of w->ev that was inside the old scratch (msg, dup_key,
 * field keys and string values), so that what earlier processors put
 * there stays valid. A processor must not keep its own pointers into the
 * scratch across one of these calls (it re-reads them from w->ev, or
 * keeps offsets).
 */
#ifndef TTLOG_ROUTE_WORK_H
#define TTLOG_ROUTE_WORK_H

#include <stddef.h>

#include "proc.h"

/*
 * Makes room for n more bytes at w->s->p + w->s->len (the scratch's len
 * is not changed: the caller writes and then adds what it used).
 * @return 0, or -1 when out of memory (nothing changed).
 */
int ttlog__work_scratch_reserve(struct ttlog__work *w, size_t n);

/*
 * Appends len bytes (which may themselves be in the scratch) and a NUL
 * that is not counted in the result's length.
 * @return where the copy is, valid until the scratch is reset or moved
 *         (re-read it from w->ev after another put); NULL when out of
 *         memory (nothing changed).
 */
const char *ttlog__work_scratch_put(struct ttlog__work *w, const void *bytes,
				    size_t len);

#endif /* TTLOG_ROUTE_WORK_H */
