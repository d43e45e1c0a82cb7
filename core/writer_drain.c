/*
 * writer_drain.c - one writer cycle: every ring is read from its tail up to
 * the head seen when the cycle began, and the records of all threads are
 * merged by timestamp into batches (a min-heap of cursors), each handed to
 * the listeners as it fills. Rings of exited threads are freed here.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "lib_internal.h"
#include "ring_internal.h"
#include "snapshot_internal.h"
#include "heap_internal.h"
#include "writer_internal.h"

struct ttlog_batch *ttlog__writer_batch_new(struct ttlog__writer *w)
{
	return ttlog__batch_new(w->opts.batch_max_events,
				w->opts.batch_max_bytes, ++w->seq);
}

/* A ring being drained: its records from tail up to the head seen when the
 * cycle began, in the ring's (time) order. */
struct ttlog__cursor {
	struct ttlog__ring *ring;
	uint64_t tail, head;
	uint64_t raw; /* timestamp of the record at tail */
};

/* Skips padding; returns 0 when the cursor has no record left. */
static int cursor_load(struct ttlog__cursor *c)
{
	const struct ttlog__ring *r = c->ring;

	while (c->tail < c->head) {
		const unsigned char *p = r->buf + (c->tail & r->mask);
		struct ttlog__rec_hdr h;
		memcpy(&h, p, sizeof(h));
		if (!(h.flags & TTLOG__REC_PAD)) {
			memcpy(&c->raw, p + 8, 8);
			return 1;
		}
		c->tail += h.size;
	}
	return 0;
}

/* Min-heap of cursors by timestamp: the batch interleaves threads in time
 * order (each thread's own order is its ring's order). */
TTLOG__HEAP_DOWN(heap_down, struct ttlog__cursor, raw)

static void release_all(struct ttlog__cursor **h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		atomic_store_explicit(&h[i]->ring->tail, h[i]->tail,
				      memory_order_release);
}

/* Moves the records of the heap's cursors into batches, oldest first,
 * dispatching each batch that fills up. */
static void drain_merge(struct ttlog__writer *w, struct ttlog__cursor **h,
			size_t n)
{
	struct ttlog_batch *b = ttlog__writer_batch_new(w);

	for (size_t i = n / 2; i-- > 0;)
		heap_down(h, n, i);
	while (n > 0) {
		struct ttlog__cursor *c = h[0];
		const unsigned char *p =
			c->ring->buf + (c->tail & c->ring->mask);
		struct ttlog__rec_hdr hd;
		struct ttlog_callsite *cs;
		int rc = -1;

		memcpy(&hd, p, sizeof(hd));
		memcpy(&cs, p + 16, sizeof(cs));
		if (b != NULL)
			rc = ttlog__batch_add(
				b, cs, ttlog__clock_to_ns(&w->clock, c->raw),
				c->ring->tid,
				(hd.flags & TTLOG__REC_TRUNC)
					? TTLOG_EVENT_TRUNCATED
					: 0,
				p + TTLOG__REC_FIXED,
				hd.size - TTLOG__REC_FIXED);
		if (rc == 1) {
			/* Full: give producers the space back, hand the batch
			 * out, and put this record in a fresh one. */
			release_all(h, n);
			ttlog__writer_dispatch(w, b);
			b = ttlog__writer_batch_new(w);
			continue;
		}
		if (rc < 0)
			atomic_fetch_add(&ttlog__lib.dropped_nomem, 1);
		c->tail += hd.size;
		if (!cursor_load(c)) {
			atomic_store_explicit(&c->ring->tail, c->tail,
					      memory_order_release);
			h[0] = h[--n];
		}
		heap_down(h, n, 0);
	}
	if (b != NULL)
		ttlog__writer_dispatch(w, b);
}

uint64_t ttlog__writer_drain(struct ttlog__writer *w)
{
	size_t n = 0, nh = 0;
	uint64_t found = 0;

	/* Rings and history change until the end: a crash handler on
	 * another thread waits for that. */
	ttlog__snap_enter();
	ttlog__clock_update(&w->clock);
	pthread_mutex_lock(&ttlog__lib.lock);
	if (ttlog__lib.nrings > w->snap_cap) {
		size_t cap = ttlog__lib.nrings * 2;
		struct ttlog__drain_slot *s =
			realloc(w->snap, cap * sizeof(*s));
		struct ttlog__cursor *c = realloc(w->cur, cap * sizeof(*c));
		struct ttlog__cursor **h = realloc(w->heap, cap * sizeof(*h));
		if (s != NULL)
			w->snap = s;
		if (c != NULL)
			w->cur = c;
		if (h != NULL)
			w->heap = h;
		if (s != NULL && c != NULL && h != NULL)
			w->snap_cap = cap;
	}
	/* If that allocation failed, the rings left out wait a cycle. */
	for (struct ttlog__ring *r = ttlog__lib.rings; r && n < w->snap_cap;
	     r = r->next)
		w->snap[n++].ring = r;
	pthread_mutex_unlock(&ttlog__lib.lock);

	for (size_t i = 0; i < n; i++) {
		struct ttlog__ring *r = w->snap[i].ring;
		struct ttlog__cursor *c = &w->cur[i];
		/* Read before the head: a ring seen closed has had its last
		 * record published already. */
		w->snap[i].closed =
			atomic_load_explicit(&r->closed, memory_order_acquire);
		c->ring = r;
		c->tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		c->head = atomic_load_explicit(&r->head, memory_order_acquire);
		found += c->head - c->tail;
		if (cursor_load(c))
			w->heap[nh++] = c;
		else
			atomic_store_explicit(&r->tail, c->tail,
					      memory_order_release);
	}
	if (nh > 0)
		drain_merge(w, w->heap, nh);
	if (w->ingest != NULL && w->ingest->n > 0) {
		ttlog__writer_dispatch(w, w->ingest);
		w->ingest = NULL;
	}

	/* Reap; only this thread removes rings, so the snapshot is valid. */
	pthread_mutex_lock(&ttlog__lib.lock);
	for (size_t i = 0; i < n; i++) {
		struct ttlog__ring **pp = &ttlog__lib.rings;
		if (!w->snap[i].closed)
			continue;
		while (*pp != w->snap[i].ring)
			pp = &(*pp)->next;
		*pp = w->snap[i].ring->next;
		ttlog__lib.nrings--;
		ttlog__retire_counters(w->snap[i].ring);
		ttlog__ring_free(w->snap[i].ring);
	}
	pthread_mutex_unlock(&ttlog__lib.lock);
	ttlog__snap_leave();
	return found;
}
