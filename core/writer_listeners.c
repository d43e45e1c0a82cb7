/*
 * writer_listeners.c - the writer's side of the listeners: creating and
 * starting them, holding back batches a listener answered RETRY for (a
 * bounded queue per listener), offering every batch to every listener at
 * its level, and swapping the set at a reload. Writer thread only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "batch_internal.h"
#include "durable_internal.h"
#include "lib_internal.h"
#include "listener_abi.h"
#include "plugin_host.h"
#include "snapshot_internal.h"
#include "writer_internal.h"

/* ------------------------------------------------------------------ */
/* Listener queues                                                      */
/* ------------------------------------------------------------------ */

static void queue_pop(struct ttlog__listener *l)
{
	struct ttlog_batch *b = l->q[l->qhead].b;

	l->qbytes -= l->q[l->qhead].bytes;
	l->qhead = (l->qhead + 1) % l->qcap;
	l->qlen--;
	atomic_store(&l->qbytes_seen, l->qbytes);
	ttlog_batch_unref(b);
}

static void count_listener_drop(_Atomic uint64_t *c, size_t n)
{
	atomic_fetch_add(c, n);
	atomic_fetch_add(&ttlog__lib.listener_dropped, n);
}

static const char *when_full_name(int policy)
{
	return policy == TTLOG_QUEUE_BLOCK	   ? "block"
	       : policy == TTLOG_QUEUE_DROP_NEWEST ? "drop_newest"
						   : "drop_oldest";
}

/* A full queue dropped n events: counted, and said once per episode with
 * the listener's name (the counters alone do not say when it began). */
static void queue_full_drop(struct ttlog__listener *l, size_t n)
{
	count_listener_drop(&l->dropped_full, n);
	if (l->dropping)
		return;
	l->dropping = 1;
	l->dropped_before = atomic_load(&l->dropped_full) - n;
	TTLOG__LOG(TTLOG_LEVEL_WARN, "listener queue full, events dropped",
		   TTLOG_KV("listener", l->name ? l->name : "listener"),
		   TTLOG_KV("when_full", when_full_name(l->policy)),
		   TTLOG_KV("max_bytes", (uint64_t)l->queue_max),
		   TTLOG_KV("events", (uint64_t)n));
}

/* The listener took a batch with nothing left queued: the episode of
 * drops, if any, is over. */
static void queue_drained(struct ttlog__listener *l)
{
	if (!l->dropping)
		return;
	l->dropping = 0;
	TTLOG__LOG(TTLOG_LEVEL_INFO, "listener queue drained",
		   TTLOG_KV("listener", l->name ? l->name : "listener"),
		   TTLOG_KV("dropped",
			    atomic_load(&l->dropped_full) - l->dropped_before));
}

/* Holds a batch back for a listener that answered RETRY. When the backlog
 * would pass queue_max, drop_oldest makes room by dropping the oldest
 * batches; drop_newest drops the batch that does not fit, and so does
 * block: its host stops reading its inputs well before that (see
 * ttlog__host_pushback()), so what still arrives is the program's own
 * events, which cannot wait, or the reads already under way. Every
 * dropped event is counted. */
static void queue_push(struct ttlog__listener *l, struct ttlog_batch *b,
		       uint64_t no)
{
	size_t bytes = ttlog__batch_bytes(b);

	if (l->policy != TTLOG_QUEUE_DROP_OLDEST &&
	    l->qbytes + bytes > l->queue_max) {
		queue_full_drop(l, b->n);
		return;
	}
	while (l->qlen > 0 && l->qbytes + bytes > l->queue_max) {
		queue_full_drop(l, l->q[l->qhead].b->n);
		queue_pop(l);
	}
	if (bytes > l->queue_max) {
		queue_full_drop(l, b->n);
		return;
	}
	if (l->qlen == l->qcap) {
		size_t cap = l->qcap ? 2 * l->qcap : 8;
		struct ttlog__queued *q = malloc(cap * sizeof(*q));
		if (q == NULL) {
			queue_full_drop(l, b->n);
			return;
		}
		for (size_t i = 0; i < l->qlen; i++)
			q[i] = l->q[(l->qhead + i) % l->qcap];
		free(l->q);
		l->q = q;
		l->qcap = cap;
		l->qhead = 0;
	}
	ttlog_batch_ref(b);
	l->q[(l->qhead + l->qlen) % l->qcap] =
		(struct ttlog__queued){b, bytes, no};
	l->qlen++;
	l->qbytes += bytes;
	atomic_store(&l->qbytes_seen, l->qbytes);
}

/* The watchdog's mark around one callback of l (watchdog_internal.h). */
static void mark(struct ttlog__listener *l, const char *what)
{
	ttlog__writer_mark(l->name, what, &l->stalls);
}

static void call_flush(struct ttlog__listener *l)
{
	mark(l, "flush");
	(void)l->api->flush(l->state);
	ttlog__writer_unmark();
}

/* Offers one batch, the no'th handed out; returns the listener's answer
 * after counting it. A listener that confirms durability itself has the
 * batch remembered first, so that it may confirm it inside consume(). */
static int offer(struct ttlog__listener *l, struct ttlog_batch *b, uint64_t no)
{
	struct ttlog__durable_fifo *df = ttlog__plugin_host_durable(l->host);
	int rc;

	if (df != NULL)
		ttlog__durable_fifo_push(df, ttlog_batch_seq(b), no, l->name);
	mark(l, "consume");
	rc = l->api->consume(l->state, b);
	ttlog__writer_unmark();
	if (df != NULL && rc != TTLOG_LISTENER_OK)
		ttlog__durable_fifo_unpush(df, ttlog_batch_seq(b), no);

	if (rc == TTLOG_LISTENER_OK)
		atomic_fetch_add(&l->out, b->n);
	else if (rc == TTLOG_LISTENER_RETRY)
		atomic_fetch_add(&l->retries, 1);
	else
		count_listener_drop(&l->dropped_error, b->n);
	return rc;
}

/* Offers held-back batches in order until the listener pushes back. */
static void queue_pump(struct ttlog__listener *l)
{
	int took = 0;

	while (l->qlen > 0) {
		if (offer(l, l->q[l->qhead].b, l->q[l->qhead].no) ==
		    TTLOG_LISTENER_RETRY)
			return;
		queue_pop(l);
		took = 1;
	}
	if (took)
		queue_drained(l);
}

/* Offers lb to l, behind what it holds back already; a batch it queues
 * takes a reference of its own, the caller keeps its. */
static void hand_to(struct ttlog__listener *l, struct ttlog_batch *lb,
		    uint64_t no)
{
	int rc;

	atomic_fetch_add(&l->in, lb->n);
	queue_pump(l);
	if (l->qlen > 0) {
		queue_push(l, lb, no); /* behind what waits already */
		return;
	}
	rc = offer(l, lb, no);
	if (rc == TTLOG_LISTENER_RETRY)
		queue_push(l, lb, no);
	else if (rc == TTLOG_LISTENER_OK)
		queue_drained(l); /* it takes batches again */
}

/*
 * Dispatch with match: and processors: (route.h): the global processors
 * first, then each listener gets what its match selects at its level,
 * through its own processors. Memory running out loses the events of the
 * listeners concerned, counted as their errors.
 */
static void route_dispatch(struct ttlog__writer *w, struct ttlog_batch *b,
			   uint64_t no)
{
	size_t n = b->n;
	int oom;

	b = ttlog__routing_global(w->routing, b, &oom);
	if (b == NULL) {
		if (oom)
			for (size_t i = 0; i < w->nl; i++)
				count_listener_drop(&w->l[i].dropped_error, n);
		return;
	}
	oom = ttlog__routing_prepare(w->routing, b) != 0;
	for (size_t i = 0; i < w->nl; i++) {
		struct ttlog__listener *l = &w->l[i];
		struct ttlog_batch *lb;
		int lost;

		lb = oom ? NULL
			 : ttlog__routing_select(w->routing, i, b, l->level,
						 &lost);
		if (oom || (lb == NULL && lost)) {
			count_listener_drop(&l->dropped_error, b->n);
			continue;
		}
		if (lb != NULL) {
			hand_to(l, lb, no);
			ttlog_batch_unref(lb); /* queued ones hold their own */
		}
	}
	ttlog_batch_unref(b);
}

static void dispatch(struct ttlog__writer *w, struct ttlog_batch *b);

void ttlog__writer_dispatch(struct ttlog__writer *w, struct ttlog_batch *b)
{
	/* Between the number being given and the last listener's offer, a
	 * listener's durable() must not tell the inputs anything: the batch
	 * counts as taken by the listeners not offered it yet. */
	w->quiet++;
	dispatch(w, b);
	w->quiet--;
	ttlog__writer_taken_check(w);
}

static void dispatch(struct ttlog__writer *w, struct ttlog_batch *b)
{
	/* One filtered view per level, shared by listeners of that level. */
	struct ttlog_batch *by_level[TTLOG_LEVEL_OFF + 1] = {0};
	int computed[TTLOG_LEVEL_OFF + 1] = {0};
	uint64_t no;

	if (b->n == 0) {
		ttlog_batch_unref(b);
		return;
	}
	no = ++w->dispatched;
	/* Before any listener sees it: a listener that crashes the process
	 * finds the batch in the crash snapshot. */
	ttlog__snap_history_add(b);
	atomic_fetch_add(&ttlog__lib.delivered, b->n);
	atomic_fetch_add(&ttlog__lib.batches, 1);
	if (w->routing != NULL) {
		route_dispatch(w, b, no);
		return;
	}
	for (size_t i = 0; i < w->nl; i++) {
		struct ttlog__listener *l = &w->l[i];
		struct ttlog_batch *lb = b;

		if (l->level > TTLOG_LEVEL_TRACE) {
			if (!computed[l->level]) {
				int oom;
				by_level[l->level] =
					ttlog__batch_filter(b, l->level, &oom);
				computed[l->level] = oom ? -1 : 1;
			}
			if (computed[l->level] < 0) {
				count_listener_drop(&l->dropped_error, b->n);
				continue;
			}
			lb = by_level[l->level];
			if (lb == NULL)
				continue; /* nothing at its level */
		}
		hand_to(l, lb, no);
	}
	for (int k = 0; k <= TTLOG_LEVEL_OFF; k++)
		if (by_level[k] != NULL)
			ttlog_batch_unref(by_level[k]);
	ttlog_batch_unref(b);
}

void ttlog__writer_pump(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++)
		queue_pump(&w->l[i]);
	ttlog__writer_taken_check(w);
}

uint64_t ttlog__writer_queued_floor(const struct ttlog__writer *w, int all)
{
	uint64_t taken = w->dispatched;

	/* A queue holds its batches in dispatch order: everything before
	 * its oldest is taken (or was dropped, and counted). */
	for (size_t i = 0; i < w->nl; i++) {
		const struct ttlog__listener *l = &w->l[i];
		if ((all || l->policy == TTLOG_QUEUE_BLOCK) && l->qlen > 0 &&
		    l->q[l->qhead].no - 1 < taken)
			taken = l->q[l->qhead].no - 1;
	}
	return taken;
}

uint64_t ttlog__writer_taken(const struct ttlog__writer *w)
{
	/* Only the queues of block listeners count: one that drops when
	 * full is left behind by design (isolation), and waiting for it
	 * would stall the others through the inputs that acknowledge. */
	return ttlog__writer_queued_floor(w, 0);
}

void ttlog__writer_taken_check(struct ttlog__writer *w)
{
	uint64_t taken = ttlog__writer_taken(w);
	uint64_t durable = ttlog__writer_durable(w);
	int moved = 0;

	/* Kept up to date without a function too: the durable number never
	 * goes back below what it was last seen at. */
	if (durable > w->durable_told) {
		w->durable_told = durable;
		moved = 1;
	}
	if (w->taken_fn == NULL)
		return;
	if (taken > w->taken_told) {
		w->taken_told = taken;
		moved = 1;
	}
	if (moved)
		w->taken_fn(w->taken_arg, taken);
}

void ttlog__writer_flush_listeners(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++)
		if (w->l[i].api->flush != NULL)
			call_flush(&w->l[i]);
}

void ttlog__writer_tick(struct ttlog__writer *w)
{
	uint64_t now = ttlog__clock_ts_ns(CLOCK_MONOTONIC);

	for (size_t i = 0; i < w->nl; i++) {
		struct ttlog__listener *l = &w->l[i];
		uint64_t ms = ttlog__plugin_host_flush_ms(l->host);

		if (l->api->flush == NULL || ms == 0 || now < l->next_flush_ns)
			continue;
		/* The first tick only sets the clock: a listener just
		 * started has nothing buffered for long yet. */
		if (l->next_flush_ns != 0)
			call_flush(l);
		l->next_flush_ns = now + ms * 1000000u;
	}
	if (now < w->next_tick_ns)
		return;
	w->next_tick_ns = now + 1000000000u;
	for (size_t i = 0; i < w->nl; i++)
		if (w->l[i].host != NULL)
			ttlog__plugin_host_tick(w->l[i].host);
	/* A listener retiring after a reload still reports (a run of
	 * repeated lines is counted until it ends). */
	for (size_t i = 0; i < w->nretiring; i++)
		if (w->retiring[i].host != NULL)
			ttlog__plugin_host_tick(w->retiring[i].host);
}

void ttlog__writer_reopen_listeners(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++)
		if (w->l[i].api->reopen != NULL) {
			mark(&w->l[i], "reopen");
			(void)w->l[i].api->reopen(w->l[i].state);
			ttlog__writer_unmark();
		}
}

static int listener_draining(struct ttlog__listener *l)
{
	int rc;

	if (!ttlog__api_has_1_1(l->api) || l->api->draining == NULL)
		return 0;
	mark(l, "draining");
	rc = l->api->draining(l->state);
	ttlog__writer_unmark();
	return rc;
}

static void listener_fini(struct ttlog__writer *w, struct ttlog__listener *l,
			  int at_shutdown);

size_t ttlog__writer_retire_poll(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nretiring;) {
		/* What it answered RETRY to is offered again; how long it
		 * may take is the listener's own bound (draining()), as at
		 * shutdown. */
		queue_pump(&w->retiring[i]);
		if (listener_draining(&w->retiring[i])) {
			i++;
		} else {
			listener_fini(w, &w->retiring[i], 0);
			w->retiring[i] = w->retiring[--w->nretiring];
		}
	}
	return w->nretiring;
}

/* A replaced listener: destroyed now, or retired while it still has
 * something on its way (a reload must neither wait for it nor lose it). */
static void listener_retire(struct ttlog__writer *w, struct ttlog__listener *l)
{
	struct ttlog__listener *r;

	if (!listener_draining(l)) {
		listener_fini(w, l, 0);
		return;
	}
	r = realloc(w->retiring, (w->nretiring + 1) * sizeof(*r));
	if (r == NULL) {
		listener_fini(w, l, 0); /* what it held is counted as lost */
		return;
	}
	w->retiring = r;
	memcpy(&w->retiring[w->nretiring], l, sizeof(*l));
	/* Its configured name belongs to the configuration being replaced;
	 * its host's copy of that name lives as long as the listener (the
	 * plugin's type name where there is no host). */
	w->retiring[w->nretiring++].name =
		l->host != NULL ? ttlog__plugin_host_name(l->host)
				: l->api->name;
}

int ttlog__writer_draining(struct ttlog__writer *w)
{
	if (ttlog__writer_retire_poll(w) > 0)
		return 1;
	for (size_t i = 0; i < w->nl; i++)
		if (listener_draining(&w->l[i]))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

/* One listener from its config, created (not started); on error nothing
 * is left to destroy. Shared by ttlog_init() and reconfiguration. */
static int listener_create(struct ttlog__listener *l,
			   const struct ttlog_listener_config *c)
{
	char err[512];
	int rc = ttlog__listener_api_check(
		c->api, c->name ? c->name : "listener", err, sizeof(err));

	memset(l, 0, sizeof(*l));
	if (rc != 0)
		return rc == TTLOG_EABI ? TTLOG_EABI : TTLOG_EINVAL;
	if ((int)c->level < TTLOG_LEVEL_TRACE ||
	    (int)c->level > TTLOG_LEVEL_OFF)
		return TTLOG_EINVAL;
	if ((int)c->queue_policy < TTLOG_QUEUE_DROP_OLDEST ||
	    (int)c->queue_policy > TTLOG_QUEUE_BLOCK)
		return TTLOG_EINVAL;
	l->api = c->api;
	l->name = c->name ? c->name : c->api->name;
	l->queue_max =
		c->queue_bytes ? c->queue_bytes : TTLOG_DEFAULT_QUEUE_BYTES;
	l->level = (int)c->level;
	l->policy = (int)c->queue_policy;
	rc = ttlog__listener_call_create(l, c->options);
	if (rc != 0)
		memset(l, 0, sizeof(*l));
	return rc;
}

int ttlog__writer_listeners_create(struct ttlog__writer *w,
				   const struct ttlog_options *o)
{
	w->l = calloc(o->nlisteners ? o->nlisteners : 1, sizeof(*w->l));
	if (w->l == NULL)
		return TTLOG_ENOMEM;
	for (size_t i = 0; i < o->nlisteners; i++) {
		int rc = listener_create(&w->l[i], &o->listeners[i]);
		if (rc != 0)
			return rc; /* w->nl: the ones to destroy */
		w->nl = i + 1;
	}
	return 0;
}

int ttlog__writer_listeners_start(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++)
		if (ttlog__listener_call_start(&w->l[i], w->base) != 0)
			return TTLOG_ELISTENER;
	return 0;
}

/* Says that a finished listener lost events: the caller's loss function
 * (ttlog-agent prints its own line and sets its exit status), else a
 * line on standard error; and an event in the library's log, which
 * reaches the remaining listeners at a reload (at shutdown nothing
 * drains the rings any more: the line is the record). */
static void report_loss(struct ttlog__writer *w, const char *name,
			uint64_t events, const char *reason, int at_shutdown)
{
	const char *when = at_shutdown ? "shutdown" : "reload";

	if (w->loss_fn != NULL)
		w->loss_fn(w->loss_arg, name, events, reason, at_shutdown);
	else
		fprintf(stderr,
			"ttlog: listener %s: %llu events lost at %s (%s)\n",
			name, (unsigned long long)events, when, reason);
	TTLOG__LOG(TTLOG_LEVEL_ERROR, "events lost", TTLOG_KV("listener", name),
		   TTLOG_KV("events", events), TTLOG_KV("reason", reason),
		   TTLOG_KV("at", when));
}

/* Finishes a listener: what it still holds back is dropped and counted
 * (dropped_queue_full), it is destroyed, and whatever it lost, held back
 * here or given up on itself (the host's lost()), is said once, with its
 * name. Shared by shutdown and by a reload that removes or replaces it,
 * so that neither drops anything silently. */
static void listener_fini(struct ttlog__writer *w, struct ttlog__listener *l,
			  int at_shutdown)
{
	char name[128], own[128] = "", reason[300];
	uint64_t queued = 0, gave_up;

	snprintf(name, sizeof(name), "%s", l->name ? l->name : "listener");
	while (l->qlen > 0) {
		queued += l->q[l->qhead].b->n;
		count_listener_drop(&l->dropped_full, l->q[l->qhead].b->n);
		queue_pop(l);
	}
	free(l->q);
	l->q = NULL;
	l->qcap = 0;
	gave_up = ttlog__listener_call_destroy(l, own, sizeof(own));
	if (gave_up > 0)
		atomic_fetch_add(&ttlog__lib.listener_dropped, gave_up);
	if (queued + gave_up == 0)
		return;
	if (queued == 0)
		snprintf(reason, sizeof(reason), "%s",
			 own[0] ? own : "given up by the listener");
	else
		snprintf(reason, sizeof(reason), "%s%s%s",
			 !at_shutdown ? "held back (RETRY) when a reload "
					"removed or replaced the listener"
			 : w->drain_expired
				 ? "held back (RETRY) when the shutdown "
				   "timeout ended the drain"
				 : "still refused (RETRY) at the end",
			 gave_up ? "; " : "", gave_up ? own : "");
	report_loss(w, name, queued + gave_up, reason, at_shutdown);
}

void ttlog__writer_listeners_destroy(struct ttlog__writer *w)
{
	w->quiet++; /* what a closing listener confirms tells no input */
	for (size_t i = 0; i < w->nl; i++)
		listener_fini(w, &w->l[i], 1);
	/* Replaced by a reload and still delivering when the shutdown
	 * ended the wait: what they hold is lost like the others'. */
	while (w->nretiring > 0)
		listener_fini(w, &w->retiring[--w->nretiring], 1);
	free(w->retiring);
	w->retiring = NULL;
	w->quiet--;
}

/* ---- reconfiguration ---- */

/* One listener from its config; 0 or an error (nothing left behind). */
/* One listener from its config, created and started. */
static int listener_init(struct ttlog__listener *l,
			 const struct ttlog_listener_config *c,
			 struct event_base *base)
{
	int rc = listener_create(l, c);

	if (rc != 0)
		return rc;
	if (ttlog__listener_call_start(l, base) != 0) {
		char unused[8];
		(void)ttlog__listener_call_destroy(l, unused, sizeof(unused));
		memset(l, 0, sizeof(*l));
		return TTLOG_ELISTENER;
	}
	return 0;
}

/* A replaced listener's queue (the batches it answered RETRY to) goes to
 * the new listener of the same name, which takes them before anything
 * newer: a changed section must not turn what was accepted for a listener
 * into a loss. Without a successor the queue stays with the old one,
 * which retires with it (and what it still holds at the end is counted as
 * lost). */
static void queue_hand_on(struct ttlog__listener *old,
			  struct ttlog__listener *nl, size_t n,
			  const int *keep_from)
{
	for (size_t i = 0; i < n && old->qlen > 0; i++) {
		struct ttlog__listener *to = &nl[i];
		struct ttlog__queued *q;
		size_t cap;

		if (keep_from[i] >= 0 || to->qlen > 0 || old->name == NULL ||
		    to->name == NULL || strcmp(old->name, to->name) != 0)
			continue;
		q = to->q;
		cap = to->qcap;
		to->q = old->q;
		to->qcap = old->qcap;
		to->qhead = old->qhead;
		to->qlen = old->qlen;
		to->qbytes = old->qbytes;
		old->q = q;
		old->qcap = cap;
		old->qhead = old->qlen = old->qbytes = 0;
		atomic_store(&to->qbytes_seen, to->qbytes);
		atomic_store(&old->qbytes_seen, 0);
		return;
	}
}

int ttlog__writer_reconfigure(struct event_base *base, void *arg)
{
	struct ttlog__reconfigure *r = arg;
	struct ttlog__writer *w = ttlog__writer_self;
	size_t n = r->o->nlisteners;
	struct ttlog__listener *nl = calloc(n ? n : 1, sizeof(*nl));
	unsigned char *kept = calloc(w->nl ? w->nl : 1, 1);
	int rc = 0;

	if (nl == NULL || kept == NULL) {
		free(nl);
		free(kept);
		return TTLOG_ENOMEM;
	}
	/* Everything accepted so far goes to the listeners it was accepted
	 * for, before any of them changes. */
	ttlog__writer_pump(w);
	while (ttlog__writer_drain(w) > 0)
		;
	ttlog__writer_pump(w);
	ttlog__writer_flush_listeners(w);

	for (size_t i = 0; i < n && rc == 0; i++)
		if (r->keep_from[i] < 0)
			rc = listener_init(&nl[i], &r->o->listeners[i], base);
	if (rc != 0) {
		/* The old set stays as it was. */
		for (size_t i = 0; i < n; i++)
			if (r->keep_from[i] < 0 && nl[i].api != NULL)
				listener_fini(w, &nl[i], 0);
		free(nl);
		free(kept);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		int k = r->keep_from[i];
		if (k < 0 || (size_t)k >= w->nl || kept[k])
			continue;
		/* Moved as it is: state, queue and counters. Atomics are
		 * copied plainly: only this thread writes them. */
		memcpy(&nl[i], &w->l[k], sizeof(nl[i]));
		nl[i].name = r->o->listeners[i].name ? r->o->listeners[i].name
						     : nl[i].name;
		kept[k] = 1;
	}
	for (size_t k = 0; k < w->nl; k++)
		if (!kept[k]) {
			if (w->l[k].api->flush != NULL)
				(void)w->l[k].api->flush(w->l[k].state);
			queue_hand_on(&w->l[k], nl, n, r->keep_from);
			listener_retire(w, &w->l[k]);
		}
	free(w->l);
	free(kept);
	w->l = nl;
	w->nl = n;
	/* Processors that continue keep counting where they were. */
	ttlog__routing_adopt(r->routing, w->routing);
	w->routing = ttlog__routing_active(r->routing) ? r->routing : NULL;
	w->routing_all = r->routing;
	ttlog__writer_taken_check(w);
	return 0;
}

int ttlog__writer_listener_stats(struct ttlog__writer *w, size_t i,
				 struct ttlog_listener_stats *out)
{
	struct ttlog__listener *l;

	if (i >= w->nl)
		return TTLOG_EINVAL;
	l = &w->l[i];
	out->events_in = atomic_load(&l->in);
	out->events_out = atomic_load(&l->out);
	out->dropped_queue_full = atomic_load(&l->dropped_full);
	out->dropped_error = atomic_load(&l->dropped_error);
	out->retries = atomic_load(&l->retries);
	out->queue_bytes = atomic_load(&l->qbytes_seen);
	return 0;
}

int ttlog__writer_listener_stalls(struct ttlog__writer *w, size_t i,
				  uint64_t *out)
{
	if (i >= w->nl)
		return TTLOG_EINVAL;
	*out = atomic_load(&w->l[i].stalls) +
	       ttlog__plugin_host_stalls(w->l[i].host);
	return 0;
}
