/*
 * snapshot_collect.c - what a snapshot holds: the history, the last
 * batches the writer dispatched, each held by a reference, up to a size in
 * bytes (no copy, and the events keep the call sites their batch owns);
 * and the merge of that history with the records still in the threads'
 * rings by timestamp. The merge reads only what was set aside at start,
 * so the crash path can run it.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <string.h>

#include "batch_internal.h"
#include "clock_internal.h"
#include "lib_internal.h"
#include "heap_internal.h"
#include "snapshot_state.h"

/* ------------------------------------------------------------------ */
/* History                                                              */
/* ------------------------------------------------------------------ */

/* The i-th batch of the history, 0 the oldest. */
static struct ttlog__snap_slot *hist_at(size_t i)
{
	size_t k = (ttlog__snap.hhead + i) % TTLOG__SNAP_HIST_SLOTS;

	return &ttlog__snap.hist[k];
}

void ttlog__snap_hist_drop_oldest(void)
{
	struct ttlog__snap_slot *s = hist_at(0);
	struct ttlog_batch *b = s->b;

	ttlog__snap.hbytes -= s->bytes;
	ttlog__snap.hevents -= b->n;
	ttlog__snap.hhead = (ttlog__snap.hhead + 1) % TTLOG__SNAP_HIST_SLOTS;
	ttlog__snap.hn--;
	ttlog_batch_unref(b);
}

void ttlog__snap_history_add(struct ttlog_batch *b)
{
	size_t bytes;

	if (!ttlog__snap.on || b->n == 0)
		return;
	/* What the batch holds now: its values, events and owned call
	 * sites' table, before any listener adds an encoding. */
	bytes = ttlog__batch_bytes(b);
	ttlog__snap_enter();
	while (ttlog__snap.hn > 0 &&
	       (ttlog__snap.hn == TTLOG__SNAP_HIST_SLOTS ||
		ttlog__snap.hbytes + bytes > ttlog__snap.hist_max))
		ttlog__snap_hist_drop_oldest();
	ttlog_batch_ref(b);
	*hist_at(ttlog__snap.hn) = (struct ttlog__snap_slot){b, bytes};
	ttlog__snap.hbytes += bytes;
	ttlog__snap.hevents += b->n;
	/* Last: a crash handler on this thread sees a whole slot. */
	ttlog__snap.hn++;
	ttlog__snap_leave();
}

/* ------------------------------------------------------------------ */
/* Events in time order                                                 */
/* ------------------------------------------------------------------ */

/* Loads the cursor's current event into c->e; 0 when it has none left. */
static int cursor_event(struct ttlog__snap_cursor *c)
{
	struct ttlog__snap_ev *e = &c->e;

	if (c->ring == NULL) {
		while (c->slot < ttlog__snap.hn) {
			const struct ttlog_batch *b = hist_at(c->slot)->b;
			if (c->ev < b->n) {
				const struct ttlog__event *x = &b->ev[c->ev];
				e->t = x->time_ns;
				e->tid = x->tid;
				e->own = (x->flags & TTLOG__EVENT_OWN_MSG) != 0;
				e->flags = x->flags & TTLOG_EVENT_TRUNCATED;
				e->cs = b->cs[x->cs];
				e->vals = ttlog__event_bytes(
					b, x, &e->msg,
					e->own ? &e->msg_len : NULL);
				e->origin = b->orig[x->origin] !=
							    ttlog__origin_self()
						    ? &b->orig[x->origin]->pub
						    : NULL;
				return 1;
			}
			c->slot++;
			c->ev = 0;
		}
		return 0;
	}
	const struct ttlog__ring *r = c->ring;
	while (c->pos < c->end) {
		const unsigned char *p = r->buf + (c->pos & r->mask);
		struct ttlog__rec_hdr h;
		uint64_t raw;

		memcpy(&h, p, sizeof(h));
		/* A record that cannot be one ends the ring's part. */
		if (h.size == 0 || h.size % 8 != 0 ||
		    h.size > c->end - c->pos ||
		    (c->pos & r->mask) + h.size > r->cap) {
			c->pos = c->end;
			return 0;
		}
		if (h.flags & TTLOG__REC_PAD) {
			c->pos += h.size;
			continue;
		}
		if (h.size < TTLOG__REC_FIXED) {
			c->pos = c->end;
			return 0;
		}
		memcpy(&raw, p + 8, 8);
		memcpy(&e->cs, p + 16, sizeof(e->cs));
		e->t = ttlog__clock_to_ns(ttlog__snap.clock, raw);
		e->tid = r->tid;
		e->own = 0;
		e->flags = (h.flags & TTLOG__REC_TRUNC) ? TTLOG_EVENT_TRUNCATED
							: 0;
		e->msg = e->cs->msg;
		e->msg_len = 0; /* not read: only an own message's is */
		e->vals = p + TTLOG__REC_FIXED;
		e->origin = NULL;
		return 1;
	}
	return 0;
}

static void cursor_next(struct ttlog__snap_cursor *c)
{
	if (c->ring == NULL) {
		c->ev++;
		return;
	}
	struct ttlog__rec_hdr h;
	memcpy(&h, c->ring->buf + (c->pos & c->ring->mask), sizeof(h));
	c->pos += h.size;
}

/* Records of a ring part, for the omitted count. */
static uint64_t count_records(const struct ttlog__ring *r, uint64_t pos,
			      uint64_t end)
{
	struct ttlog__snap_cursor c = {.ring = r, .pos = pos, .end = end};
	uint64_t n = 0;

	while (cursor_event(&c)) {
		n++;
		cursor_next(&c);
	}
	return n;
}

void ttlog__snap_capture(int locked)
{
	const struct ttlog__ring *r;

	ttlog__snap.ncur = 0;
	ttlog__snap.omitted_now = 0;
	ttlog__snap.cur[ttlog__snap.ncur++] =
		(struct ttlog__snap_cursor){.ring = NULL};
	if (locked)
		pthread_mutex_lock(&ttlog__lib.lock);
	for (r = ttlog__lib.rings; r != NULL; r = r->next) {
		uint64_t tail =
			atomic_load_explicit(&r->tail, memory_order_acquire);
		uint64_t head =
			atomic_load_explicit(&r->head, memory_order_acquire);
		if (head == tail)
			continue;
		if (ttlog__snap.ncur == TTLOG__SNAP_MAX_RINGS + 1) {
			ttlog__snap.omitted_now += count_records(r, tail, head);
			continue;
		}
		ttlog__snap.cur[ttlog__snap.ncur++] =
			(struct ttlog__snap_cursor){
				.ring = r, .pos = tail, .end = head};
	}
	if (locked)
		pthread_mutex_unlock(&ttlog__lib.lock);
}

TTLOG__HEAP_DOWN(heap_down, struct ttlog__snap_cursor, e.t)

uint64_t ttlog__snap_each_event(void (*fn)(const struct ttlog__snap_ev *))
{
	size_t n = 0;
	uint64_t count = 0;

	for (size_t i = 0; i < ttlog__snap.ncur; i++) {
		struct ttlog__snap_cursor *k =
			&ttlog__snap.cur[ttlog__snap.ncur +
					 i]; /* the working copy */
		*k = ttlog__snap.cur[i];
		if (cursor_event(k))
			ttlog__snap.heap[n++] = k;
	}
	for (size_t i = n / 2; i-- > 0;)
		heap_down(ttlog__snap.heap, n, i);
	while (n > 0) {
		struct ttlog__snap_cursor *k = ttlog__snap.heap[0];
		fn(&k->e);
		count++;
		cursor_next(k);
		if (!cursor_event(k))
			ttlog__snap.heap[0] = ttlog__snap.heap[--n];
		heap_down(ttlog__snap.heap, n, 0);
	}
	return count;
}
