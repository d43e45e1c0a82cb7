/*
 * host.c - the API of host_internal.h: what a program hosting the library
 * with inputs of its own (ttlog-agent) asks of the writer: running code on
 * its thread, events from outside (ingest), swapping listeners, snapshots,
 * the listeners' own figures and the backlog of the listeners that make
 * inputs pause (queue.when_full: block).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "batch_internal.h"
#include "clock_internal.h"
#include "durable_internal.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "writer_internal.h"

/* A writer-thread-only function called from elsewhere: a bug in the
 * caller. Said once per function, so that it is found, then quiet. */
static int off_thread(const struct ttlog__writer *w, _Atomic int *said,
		      const char *fn)
{
	if (w != NULL && ttlog__writer_self == w)
		return 0;
	if (!atomic_exchange(said, 1))
		fprintf(stderr,
			"ttlog: internal error: %s() called %s; it runs on "
			"the writer thread only\n",
			fn, w == NULL ? "without a writer" : "off its thread");
	return 1;
}

int ttlog__host_start(const struct ttlog_options *o,
		      struct ttlog__routing *routing, void (*release)(void *),
		      void *arg, struct ttlog__writer **w)
{
	int rc;

	/* The writer takes it before it dispatches anything. */
	ttlog__lib.routing_start = routing;
	rc = ttlog__init_owned(o, release, arg);
	ttlog__lib.routing_start = NULL;

	*w = rc == 0 ? ttlog__host_writer() : NULL;
	return rc;
}

struct ttlog__writer *ttlog__host_writer(void)
{
	struct ttlog__writer *w;

	pthread_mutex_lock(&ttlog__lib.lock);
	w = ttlog__lib.running ? ttlog__lib.writer : NULL;
	pthread_mutex_unlock(&ttlog__lib.lock);
	return w;
}

int ttlog__host_call(struct ttlog__writer *w,
		     int (*fn)(struct event_base *, void *), void *arg)
{
	return w == NULL ? TTLOG_ENOTRUNNING : ttlog__writer_call(w, fn, arg);
}

int ttlog__host_reconfigure(struct ttlog__writer *w,
			    const struct ttlog_options *o, const int *keep_from,
			    struct ttlog__routing *routing)
{
	struct ttlog__reconfigure r = {o, keep_from, 0, routing};

	return ttlog__host_call(w, ttlog__writer_reconfigure, &r);
}

struct loss_set {
	ttlog__host_loss_fn fn;
	void *arg;
	uint64_t limit_ms;
};

static int set_loss(struct event_base *base, void *arg)
{
	struct loss_set *c = arg;
	struct ttlog__writer *w = ttlog__writer_self;
	(void)base;

	w->loss_fn = c->fn;
	w->loss_arg = c->arg;
	w->drain_limit_ms = c->limit_ms;
	return 0;
}

int ttlog__host_on_loss(struct ttlog__writer *w, ttlog__host_loss_fn fn,
			void *arg, uint64_t drain_limit_ms)
{
	struct loss_set c = {fn, arg, drain_limit_ms};

	return ttlog__host_call(w, set_loss, &c);
}

int ttlog__host_snapshot(struct ttlog__writer *w, const char *trigger,
			 const char *reason)
{
	return w == NULL ? TTLOG_ENOTRUNNING
			 : ttlog__writer_snapshot(w, trigger, reason);
}

static int count_retiring(struct event_base *base, void *arg)
{
	(void)base;
	*(size_t *)arg = ttlog__writer_retire_poll(ttlog__writer_self);
	return 0;
}

size_t ttlog__host_retiring(struct ttlog__writer *w)
{
	size_t n = 0;

	if (w != NULL)
		(void)ttlog__host_call(w, count_retiring, &n);
	return n;
}

int ttlog__host_ingest(struct ttlog__writer *w,
		       const struct ttlog__in_event *ev, uint32_t source_id)
{
	static _Atomic int said;
	uint64_t now;
	int rc;

	if (off_thread(w, &said, __func__))
		return TTLOG_EINVAL;
	/* service.level holds for events from outside as for the program's
	 * own: below it they are counted (filtered_level) and go no
	 * further, which is not an error of the input's. */
	if ((int)ev->level <
	    atomic_load_explicit(&ttlog__gate, memory_order_relaxed)) {
		atomic_fetch_add(&ttlog__lib.ingested, 1);
		atomic_fetch_add(&ttlog__lib.filtered_level, 1);
		return 0;
	}
	/* Only an event without a time of its own needs the clock. */
	now = ev->time_ns != 0 ? ev->time_ns
			       : ttlog__clock_ts_ns(CLOCK_REALTIME);
	for (int tries = 0; tries < 2; tries++) {
		if (w->ingest == NULL) {
			w->ingest = ttlog__writer_batch_new(w);
			w->ingest_born_ns = ttlog__clock_ts_ns(CLOCK_MONOTONIC);
		}
		if (w->ingest == NULL)
			break;
		rc = ttlog__batch_add_in(w->ingest, ev, source_id, now,
					 ttlog__lib.max_value);
		if (rc == 0) {
			atomic_fetch_add(&ttlog__lib.ingested, 1);
			return 0;
		}
		if (rc == TTLOG_EINVAL) {
			/* The event, not the memory: no batch would take it. */
			atomic_fetch_add(&ttlog__lib.ingested, 1);
			atomic_fetch_add(&ttlog__lib.dropped_invalid, 1);
			return TTLOG_EINVAL;
		}
		if (rc < 0)
			break;
		ttlog__writer_dispatch(
			w, w->ingest); /* full: hand it out, start another */
		w->ingest = NULL;
	}
	atomic_fetch_add(&ttlog__lib.ingested, 1);
	atomic_fetch_add(&ttlog__lib.dropped_nomem, 1);
	return TTLOG_ENOMEM;
}

/* Hands the events ingested so far to the listeners. */
static void ingest_hand_on(struct ttlog__writer *w)
{
	if (w->ingest != NULL) {
		ttlog__writer_dispatch(w, w->ingest);
		w->ingest = NULL;
	}
}

int ttlog__host_ingest_commit(struct ttlog__writer *w)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__))
		return TTLOG_EINVAL;
	ingest_hand_on(w);
	return 0;
}

int ttlog__host_ingest_commit_aged(struct ttlog__writer *w, uint64_t max_age_ns)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__))
		return TTLOG_EINVAL;
	if (w->ingest == NULL ||
	    ttlog__clock_ts_ns(CLOCK_MONOTONIC) - w->ingest_born_ns <
		    max_age_ns)
		return 0;
	ingest_hand_on(w);
	return 1;
}

void ttlog__host_listener_metrics(struct ttlog__writer *w, size_t i,
				  ttlog_metric_emit_fn emit, void *ctx)
{
	static _Atomic int said;
	const struct ttlog_listener_api *api;

	if (off_thread(w, &said, __func__) || i >= w->nl)
		return;
	api = w->l[i].api;
	if (ttlog__api_has_1_1(api) && api->metrics != NULL &&
	    w->l[i].state != NULL)
		api->metrics(w->l[i].state, emit, ctx);
}

size_t ttlog__host_proc_stats(struct ttlog__writer *w,
			      struct ttlog__proc_stat *out, size_t cap,
			      uint64_t *unrouted)
{
	static _Atomic int said;

	*unrouted = 0;
	if (off_thread(w, &said, __func__))
		return 0;
	*unrouted = ttlog__routing_unrouted(w->routing_all);
	return ttlog__routing_stats(w->routing_all, out, cap);
}

size_t ttlog__host_backlog(const struct ttlog__writer *w)
{
	static _Atomic int said;
	size_t max = 0;

	if (off_thread(w, &said, __func__))
		return 0;
	/* Only a listener that asked for back-pressure holds the inputs
	 * up: the others drop (counted) instead, and must not stop the
	 * rest from flowing. */
	for (size_t i = 0; i < w->nl; i++)
		if (w->l[i].policy == TTLOG_QUEUE_BLOCK && w->l[i].qbytes > max)
			max = w->l[i].qbytes;
	return max;
}

uint64_t ttlog__host_dispatched(const struct ttlog__writer *w)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__))
		return 0;
	return w->dispatched;
}

uint64_t ttlog__host_taken(const struct ttlog__writer *w)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__))
		return 0;
	return ttlog__writer_taken(w);
}

uint64_t ttlog__host_durable(const struct ttlog__writer *w)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__))
		return 0;
	return ttlog__writer_durable(w);
}

int ttlog__host_on_taken(struct ttlog__writer *w, ttlog__host_taken_fn fn,
			 void *arg)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__))
		return TTLOG_EINVAL;
	w->taken_fn = fn;
	w->taken_arg = arg;
	w->taken_told = ttlog__writer_taken(w);
	w->durable_told = ttlog__writer_durable(w);
	return 0;
}

/* A block listener's pause mark: the input's pause_backlog, but never
 * more than half the queue, so that the pause comes well before the
 * queue is full and has to drop. */
static size_t pause_mark(const struct ttlog__listener *l, size_t pause_backlog)
{
	size_t half = l->queue_max / 2;

	return pause_backlog < half ? pause_backlog : half;
}

/* all: every listener's queue counts, not only those of block listeners. */
static int pushback(const struct ttlog__writer *w, size_t pause_backlog,
		    int paused, int all)
{
	for (size_t i = 0; i < w->nl; i++) {
		const struct ttlog__listener *l = &w->l[i];
		size_t mark = pause_mark(l, pause_backlog);

		if (!all && l->policy != TTLOG_QUEUE_BLOCK)
			continue;
		/* Resuming at half the mark keeps reading from flapping on
		 * and off around it with every batch. */
		if (paused ? l->qbytes >= mark / 2 : l->qbytes > mark)
			return 1;
	}
	return 0;
}

int ttlog__host_pushback(const struct ttlog__writer *w, size_t pause_backlog,
			 int paused)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__) || pause_backlog == 0)
		return 0;
	return pushback(w, pause_backlog, paused, 0);
}

int ttlog__host_pushback_source(const struct ttlog__writer *w,
				size_t pause_backlog, int paused)
{
	static _Atomic int said;

	if (off_thread(w, &said, __func__) || pause_backlog == 0)
		return 0;
	return pushback(w, pause_backlog, paused, 1);
}

int ttlog__host_listener_stalls(size_t i, uint64_t *out)
{
	int rc;

	pthread_mutex_lock(&ttlog__lib.lock);
	rc = ttlog__lib.running
		     ? ttlog__writer_listener_stalls(ttlog__lib.writer, i, out)
		     : TTLOG_ENOTRUNNING;
	pthread_mutex_unlock(&ttlog__lib.lock);
	return rc;
}
