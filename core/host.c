/*
 * host.c - what the agent asks of the running writer: events from its
 * inputs (ingest), the listeners' own figures and the backlog that makes
 * inputs pause. Writer thread only.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "clock_internal.h"
#include "ingest_internal.h"
#include "lib_internal.h"
#include "writer_internal.h"

int ttlog__ingest(const struct ttlog__in_event *ev, uint32_t source_id)
{
	struct ttlog__writer *w = ttlog__writer_self;
	uint64_t now;
	int rc;

	if (w == NULL)
		return TTLOG_EINVAL;
	/* Only an event without a time of its own needs the clock. */
	now = ev->time_ns != 0 ? ev->time_ns
			       : ttlog__clock_ts_ns(CLOCK_REALTIME);
	for (int tries = 0; tries < 2; tries++) {
		if (w->ingest == NULL)
			w->ingest = ttlog__writer_batch_new(w);
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

int ttlog__ingest_commit(void)
{
	struct ttlog__writer *w = ttlog__writer_self;

	if (w == NULL)
		return TTLOG_EINVAL;
	if (w->ingest != NULL) {
		ttlog__writer_dispatch(w, w->ingest);
		w->ingest = NULL;
	}
	return 0;
}

void ttlog__listener_metrics(size_t i, ttlog_metric_emit_fn emit, void *ctx)
{
	struct ttlog__writer *w = ttlog__writer_self;
	const struct ttlog_listener_api *api;

	if (w == NULL || i >= w->nl)
		return;
	api = w->l[i].api;
	if (ttlog__api_has_1_1(api) && api->metrics != NULL &&
	    w->l[i].state != NULL)
		api->metrics(w->l[i].state, emit, ctx);
}

size_t ttlog__backlog(void)
{
	struct ttlog__writer *w = ttlog__writer_self;
	size_t max = 0;

	for (size_t i = 0; w != NULL && i < w->nl; i++)
		if (w->l[i].qbytes > max)
			max = w->l[i].qbytes;
	return max;
}
