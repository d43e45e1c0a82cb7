/*
 * writer.c - the writer thread: one libevent loop that drains the rings into
 * batches and hands them to the listeners.
 *
 * The loop wakes on a timer (flush_interval_ms), on the eventfd that
 * producers write when a ring passes its high-water mark, and for flush and
 * stop requests. Everything after the rings runs here, so listener state
 * needs no locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch_internal.h"
#include "clock_internal.h"
#include "ingest_internal.h"
#include "lib_internal.h"
#include "snapshot_internal.h"
#include "registry_internal.h"

struct listener {
	const struct ttlog_listener_api *api;
	void *state;
	const char *name;
	size_t queue_max;
	int level;  /* events below it are not offered */
	int policy; /* enum ttlog_queue_policy */
	/* Batches answered with RETRY, oldest first (a ring buffer), each
	 * with the bytes it was counted for when queued: a batch grows while
	 * queued (a listener encodes it, then answers RETRY), and what is
	 * taken off the count must be what was put on. */
	struct queued {
		struct ttlog_batch *b;
		size_t bytes;
	} * q;
	size_t qhead, qlen, qcap, qbytes;
	_Atomic uint64_t in, out, dropped_full, dropped_error, retries;
	_Atomic uint64_t qbytes_seen;
};

struct ttlog__writer {
	pthread_t thread;
	struct event_base *base;
	struct event *timer, *wake;
	struct event *drain_ev;	  /* at stop: waits for draining listeners */
	struct event *snap_timer; /* periodic snapshots */
	struct ttlog_options opts;
	struct ttlog__clock clock;
	struct listener *l;
	size_t nl;
	uint64_t seq;
	/* The rings drained in one cycle, copied from the registry, and
	 * whether each was closed before it was drained. */
	struct snap {
		struct ttlog__ring *ring;
		int closed;
	} * snap;
	struct cursor *cur;
	struct cursor **heap;
	size_t snap_cap;

	pthread_mutex_t mu; /* guards the fields below */
	pthread_cond_t cv;
	uint64_t flush_req, flush_done;
	int stop, reopen, started, start_rc;
	/* A function to run on the writer thread (ttlog__run_on_writer). */
	int (*call_fn)(struct event_base *, void *);
	void *call_arg;
	int call_rc, call_done;

	/* Events from the agent's inputs, waiting for the end of the cycle
	 * (writer thread only). */
	struct ttlog_batch *ingest;
};

/* The writer of the calling thread, when it is a writer thread. */
static _Thread_local struct ttlog__writer *tls_writer;

/* ------------------------------------------------------------------ */
/* Listener queues                                                      */
/* ------------------------------------------------------------------ */

static void queue_pop(struct listener *l)
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

/* Holds a batch back for a listener that answered RETRY. When the backlog
 * would pass queue_max the oldest batches go first, each counted. */
static void queue_push(struct listener *l, struct ttlog_batch *b)
{
	size_t bytes = ttlog__batch_bytes(b);

	if (l->policy == TTLOG_QUEUE_DROP_NEWEST &&
	    l->qbytes + bytes > l->queue_max) {
		count_listener_drop(&l->dropped_full, b->n);
		return;
	}
	while (l->qlen > 0 && l->qbytes + bytes > l->queue_max) {
		count_listener_drop(&l->dropped_full, l->q[l->qhead].b->n);
		queue_pop(l);
	}
	if (bytes > l->queue_max) {
		count_listener_drop(&l->dropped_full, b->n);
		return;
	}
	if (l->qlen == l->qcap) {
		size_t cap = l->qcap ? 2 * l->qcap : 8;
		struct queued *q = malloc(cap * sizeof(*q));
		if (q == NULL) {
			count_listener_drop(&l->dropped_full, b->n);
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
	l->q[(l->qhead + l->qlen) % l->qcap] = (struct queued){b, bytes};
	l->qlen++;
	l->qbytes += bytes;
	atomic_store(&l->qbytes_seen, l->qbytes);
}

/* Offers one batch; returns the listener's answer after counting it. */
static int offer(struct listener *l, struct ttlog_batch *b)
{
	int rc = l->api->consume(l->state, b);

	if (rc == TTLOG_LISTENER_OK)
		atomic_fetch_add(&l->out, b->n);
	else if (rc == TTLOG_LISTENER_RETRY)
		atomic_fetch_add(&l->retries, 1);
	else
		count_listener_drop(&l->dropped_error, b->n);
	return rc;
}

/* Offers held-back batches in order until the listener pushes back. */
static void queue_pump(struct listener *l)
{
	while (l->qlen > 0) {
		if (offer(l, l->q[l->qhead].b) == TTLOG_LISTENER_RETRY)
			return;
		queue_pop(l);
	}
}

static void dispatch(struct ttlog__writer *w, struct ttlog_batch *b)
{
	/* One filtered view per level, shared by listeners of that level. */
	struct ttlog_batch *by_level[TTLOG_LEVEL_OFF + 1] = {0};
	int computed[TTLOG_LEVEL_OFF + 1] = {0};

	if (b->n == 0) {
		ttlog_batch_unref(b);
		return;
	}
	/* Before any listener sees it: a listener that crashes the process
	 * finds the batch in the crash snapshot. */
	ttlog__snap_history_add(b);
	atomic_fetch_add(&ttlog__lib.delivered, b->n);
	atomic_fetch_add(&ttlog__lib.batches, 1);
	for (size_t i = 0; i < w->nl; i++) {
		struct listener *l = &w->l[i];
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
		atomic_fetch_add(&l->in, lb->n);
		queue_pump(l);
		if (l->qlen > 0 || offer(l, lb) == TTLOG_LISTENER_RETRY)
			queue_push(l, lb);
	}
	for (int k = 0; k <= TTLOG_LEVEL_OFF; k++)
		if (by_level[k] != NULL)
			ttlog_batch_unref(by_level[k]);
	ttlog_batch_unref(b);
}

/* ------------------------------------------------------------------ */
/* Draining                                                             */
/* ------------------------------------------------------------------ */

static struct ttlog_batch *batch_new(struct ttlog__writer *w)
{
	return ttlog__batch_new(w->opts.batch_max_events,
				w->opts.batch_max_bytes, ++w->seq);
}

/* A ring being drained: its records from tail up to the head seen when the
 * cycle began, in the ring's (time) order. */
struct cursor {
	struct ttlog__ring *ring;
	uint64_t tail, head;
	uint64_t raw; /* timestamp of the record at tail */
};

/* Skips padding; returns 0 when the cursor has no record left. */
static int cursor_load(struct cursor *c)
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
static void heap_down(struct cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < n && h[l]->raw < h[m]->raw)
			m = l;
		if (r < n && h[r]->raw < h[m]->raw)
			m = r;
		if (m == i)
			return;
		struct cursor *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void release_all(struct cursor **h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		atomic_store_explicit(&h[i]->ring->tail, h[i]->tail,
				      memory_order_release);
}

/* Moves the records of the heap's cursors into batches, oldest first,
 * dispatching each batch that fills up. */
static void drain_merge(struct ttlog__writer *w, struct cursor **h, size_t n)
{
	struct ttlog_batch *b = batch_new(w);

	for (size_t i = n / 2; i-- > 0;)
		heap_down(h, n, i);
	while (n > 0) {
		struct cursor *c = h[0];
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
			dispatch(w, b);
			b = batch_new(w);
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
		dispatch(w, b);
}

/* One cycle: drains every ring as far as it was filled when the cycle
 * began, then frees the rings of threads that have exited. Returns the
 * number of bytes found. */
static uint64_t drain_all(struct ttlog__writer *w)
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
		struct snap *s = realloc(w->snap, cap * sizeof(*s));
		struct cursor *c = realloc(w->cur, cap * sizeof(*c));
		struct cursor **h = realloc(w->heap, cap * sizeof(*h));
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
		struct cursor *c = &w->cur[i];
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
		dispatch(w, w->ingest);
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

static void pump_all(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++)
		queue_pump(&w->l[i]);
}

static void flush_listeners(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++)
		if (w->l[i].api->flush != NULL)
			(void)w->l[i].api->flush(w->l[i].state);
}

/* ------------------------------------------------------------------ */
/* The loop                                                             */
/* ------------------------------------------------------------------ */

/* ABI 1.1 callbacks exist only in tables of that minor or later. */
static int has_1_1(const struct ttlog_listener_api *api)
{
	return (api->abi_version & 0xFFFFu) >= 1;
}

static int any_draining(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++) {
		const struct ttlog_listener_api *api = w->l[i].api;
		if (has_1_1(api) && api->draining != NULL &&
		    api->draining(w->l[i].state))
			return 1;
	}
	return 0;
}

/* At stop, after the last flush: the loop keeps running (so that
 * forwarders can collect acknowledgements) until no listener is draining;
 * each listener bounds its own wait. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__writer *w = arg;
	struct timeval tv = {0, 10000};
	(void)fd;
	(void)what;

	pump_all(w);
	drain_all(w);
	if (!any_draining(w) || w->drain_ev == NULL ||
	    event_add(w->drain_ev, &tv) != 0)
		event_base_loopbreak(w->base);
}

static void stop_loop(struct ttlog__writer *w)
{
	if (w->drain_ev != NULL)
		return; /* already waiting */
	if (!any_draining(w)) {
		event_base_loopbreak(w->base);
		return;
	}
	w->drain_ev = evtimer_new(w->base, on_drain, w);
	on_drain(-1, 0, w);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__writer *w = arg;
	(void)fd;
	(void)what;
	pump_all(w);
	drain_all(w);
}

static void on_snap_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__writer *w = arg;
	(void)fd;
	(void)what;
	drain_all(w);
	(void)ttlog__snap_write("periodic", "periodic");
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__writer *w = arg;
	uint64_t v, req;
	int stop, reopen;
	int (*fn)(struct event_base *, void *);
	(void)what;

	while (read(fd, &v, sizeof(v)) > 0)
		;
	atomic_store_explicit(&ttlog__lib.wake_pending, 0,
			      memory_order_release);
	pthread_mutex_lock(&w->mu);
	fn = w->call_done ? NULL : w->call_fn;
	pthread_mutex_unlock(&w->mu);
	if (fn != NULL) {
		int rc = fn(w->base, w->call_arg);
		pthread_mutex_lock(&w->mu);
		w->call_rc = rc;
		w->call_done = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	pthread_mutex_lock(&w->mu);
	req = w->flush_req;
	stop = w->stop;
	reopen = w->reopen;
	w->reopen = 0;
	pthread_mutex_unlock(&w->mu);

	pump_all(w);
	drain_all(w);
	if (!stop && req == w->flush_done)
		return;
	/* One pass has taken everything logged before the request, which
	 * happened before this callback. On stop, a few more passes take
	 * what threads still inside a log call when the gate closed wrote;
	 * the bound keeps a thread that ignores shutdown from holding it. */
	for (int i = 0; stop && i < 16 && drain_all(w) > 0; i++)
		;
	pump_all(w);
	flush_listeners(w);
	/* After the flush, so what was written before the request lands in
	 * the old file, everything after in the new one. */
	for (size_t i = 0; reopen && i < w->nl; i++)
		if (w->l[i].api->reopen != NULL)
			(void)w->l[i].api->reopen(w->l[i].state);
	pthread_mutex_lock(&w->mu);
	w->flush_done = req;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (stop)
		stop_loop(w);
}

static void listeners_destroy(struct ttlog__writer *w)
{
	for (size_t i = 0; i < w->nl; i++) {
		struct listener *l = &w->l[i];
		/* Whatever a listener still refuses at the end is lost:
		 * count it. */
		while (l->qlen > 0) {
			count_listener_drop(&l->dropped_full,
					    l->q[l->qhead].b->n);
			queue_pop(l);
		}
		free(l->q);
		l->q = NULL;
		l->qcap = 0;
		if (l->state != NULL || l->api->create == NULL)
			l->api->destroy(l->state);
		l->state = NULL;
	}
}

static void *writer_main(void *arg)
{
	struct ttlog__writer *w = arg;
	int rc = 0;

	tls_writer = w;
	ttlog__snap_set_writer((int)gettid());
	ttlog__snap_thread_enter();
	for (size_t i = 0; i < w->nl && rc == 0; i++)
		if (w->l[i].api->start != NULL)
			rc = w->l[i].api->start(w->l[i].state, w->base);
	pthread_mutex_lock(&w->mu);
	w->started = 1;
	w->start_rc = rc ? TTLOG_ELISTENER : 0;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (rc == 0)
		event_base_dispatch(w->base);
	if (w->ingest != NULL) /* emptied by the last drain */
		ttlog_batch_unref(w->ingest);
	listeners_destroy(w);
	ttlog__snap_thread_exit();
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

static void writer_free(struct ttlog__writer *w)
{
	if (w->timer)
		event_free(w->timer);
	if (w->wake)
		event_free(w->wake);
	if (w->drain_ev)
		event_free(w->drain_ev);
	if (w->snap_timer)
		event_free(w->snap_timer);
	if (w->base)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->snap);
	free(w->cur);
	free(w->heap);
	free(w->l);
	free(w);
}

/* One listener from its config, created (not started); on error nothing
 * is left to destroy. Shared by ttlog_init() and reconfiguration. */
static int listener_create(struct listener *l,
			   const struct ttlog_listener_config *c)
{
	char err[512];
	int rc = ttlog__plugin_check_api(c->api, c->name ? c->name : "listener",
					 err, sizeof(err));

	memset(l, 0, sizeof(*l));
	if (rc != 0)
		return rc == TTLOG_EABI ? TTLOG_EABI : TTLOG_EINVAL;
	if ((int)c->level < TTLOG_LEVEL_TRACE ||
	    (int)c->level > TTLOG_LEVEL_OFF)
		return TTLOG_EINVAL;
	l->api = c->api;
	l->name = c->name ? c->name : c->api->name;
	l->queue_max =
		c->queue_bytes ? c->queue_bytes : TTLOG_DEFAULT_QUEUE_BYTES;
	l->level = (int)c->level;
	l->policy = (int)c->queue_policy;
	if (c->api->create != NULL && c->api->create(c->options, &l->state)) {
		memset(l, 0, sizeof(*l));
		return TTLOG_ELISTENER;
	}
	return 0;
}

static int listeners_create(struct ttlog__writer *w,
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

int ttlog__writer_start(const struct ttlog_options *o,
			struct ttlog__writer **out)
{
	struct ttlog__writer *w = calloc(1, sizeof(*w));
	struct timeval tv;
	sigset_t all, old;
	int rc;

	if (w == NULL)
		return TTLOG_ENOMEM;
	w->opts = *o;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	ttlog__clock_init(&w->clock, ttlog__clock_kind);
	rc = ttlog__snap_start(o, &w->clock);
	if (rc != 0) {
		writer_free(w);
		return rc;
	}
	rc = listeners_create(w, o);
	if (rc != 0)
		goto fail;
	w->base = event_base_new();
	if (w->base == NULL) {
		rc = TTLOG_ENOMEM;
		goto fail;
	}
	w->timer = event_new(w->base, -1, EV_PERSIST, on_timer, w);
	w->wake = event_new(w->base, ttlog__lib.wake_fd, EV_READ | EV_PERSIST,
			    on_wake, w);
	tv.tv_sec = o->flush_interval_ms / 1000;
	tv.tv_usec = (o->flush_interval_ms % 1000) * 1000;
	if (w->timer == NULL || w->wake == NULL || event_add(w->timer, &tv) ||
	    event_add(w->wake, NULL)) {
		rc = TTLOG_ENOMEM;
		goto fail;
	}
	if (ttlog__snap_interval_ms() > 0) {
		uint32_t ms = ttlog__snap_interval_ms();
		struct timeval iv = {ms / 1000, (ms % 1000) * 1000};
		w->snap_timer =
			event_new(w->base, -1, EV_PERSIST, on_snap_timer, w);
		if (w->snap_timer == NULL || event_add(w->snap_timer, &iv)) {
			rc = TTLOG_ENOMEM;
			goto fail;
		}
	}
	/* Signals belong to the application's threads: the writer starts
	 * with all of them blocked (so a write to a closed pipe returns
	 * EPIPE instead of killing the process from this thread), except
	 * those of a fault, which must reach the crash handler (a blocked
	 * fault kills the process without running any handler). */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		rc = -rc;
		goto fail;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->started)
		pthread_cond_wait(&w->cv, &w->mu);
	rc = w->start_rc;
	pthread_mutex_unlock(&w->mu);
	if (rc != 0) {
		pthread_join(w->thread, NULL);
		writer_free(w);
		ttlog__snap_stop();
		return rc;
	}
	*out = w;
	return 0;
fail:
	listeners_destroy(w);
	writer_free(w);
	ttlog__snap_stop();
	return rc;
}

enum { REQ_FLUSH, REQ_STOP, REQ_REOPEN };

static void request(struct ttlog__writer *w, int what)
{
	uint64_t one = 1, req;
	ssize_t n;

	pthread_mutex_lock(&w->mu);
	req = ++w->flush_req;
	if (what == REQ_STOP)
		w->stop = 1;
	if (what == REQ_REOPEN)
		w->reopen = 1;
	pthread_mutex_unlock(&w->mu);
	/* Bypass wake_pending: this wake-up must not be merged into one the
	 * writer may be clearing right now. */
	n = write(ttlog__lib.wake_fd, &one, sizeof(one));
	(void)n;
	pthread_mutex_lock(&w->mu);
	while (w->flush_done < req)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void ttlog__writer_flush(struct ttlog__writer *w)
{
	request(w, REQ_FLUSH);
}

void ttlog__writer_reopen(struct ttlog__writer *w)
{
	request(w, REQ_REOPEN);
}

void ttlog__writer_stop(struct ttlog__writer *w)
{
	request(w, REQ_STOP);
	pthread_join(w->thread, NULL);
	writer_free(w);
	ttlog__snap_stop();
}

struct snap_call {
	struct ttlog__writer *w;
	const char *trigger, *reason;
};

static int snap_fn(struct event_base *base, void *arg)
{
	struct snap_call *c = arg;
	(void)base;
	/* Everything logged before the request is in the history then. */
	drain_all(c->w);
	return ttlog__snap_write(c->trigger, c->reason);
}

int ttlog__writer_snapshot(struct ttlog__writer *w, const char *trigger,
			   const char *reason)
{
	struct snap_call c = {w, trigger, reason};

	if (!ttlog__snap_on())
		return TTLOG_EINVAL;
	/* From the writer thread itself (a listener, an input): the rings
	 * are not drained here, the cycle that is running does that. */
	if (tls_writer == w)
		return ttlog__snap_write(trigger, reason);
	return ttlog__writer_call(w, snap_fn, &c);
}

/* ---- reconfiguration ---- */

struct reconfigure {
	const struct ttlog_options *o; /* the new listeners */
	const int *keep_from;	       /* per new listener: old index or -1 */
	int rc;
};

/* One listener from its config; 0 or an error (nothing left behind). */
/* One listener from its config, created and started. */
static int listener_init(struct listener *l,
			 const struct ttlog_listener_config *c,
			 struct event_base *base)
{
	int rc = listener_create(l, c);

	if (rc != 0)
		return rc;
	if (c->api->start != NULL && c->api->start(l->state, base) != 0) {
		c->api->destroy(l->state);
		memset(l, 0, sizeof(*l));
		return TTLOG_ELISTENER;
	}
	return 0;
}

/* Drops what a listener still holds (counted), then destroys it. */
static void listener_fini(struct listener *l)
{
	while (l->qlen > 0) {
		count_listener_drop(&l->dropped_full, l->q[l->qhead].b->n);
		queue_pop(l);
	}
	free(l->q);
	if (l->state != NULL || l->api->create == NULL)
		l->api->destroy(l->state);
	memset(l, 0, sizeof(*l));
}

static int reconfigure_fn(struct event_base *base, void *arg)
{
	struct reconfigure *r = arg;
	struct ttlog__writer *w = tls_writer;
	size_t n = r->o->nlisteners;
	struct listener *nl = calloc(n ? n : 1, sizeof(*nl));
	unsigned char *kept = calloc(w->nl ? w->nl : 1, 1);
	int rc = 0;

	if (nl == NULL || kept == NULL) {
		free(nl);
		free(kept);
		return TTLOG_ENOMEM;
	}
	/* Everything accepted so far goes to the listeners it was accepted
	 * for, before any of them changes. */
	pump_all(w);
	while (drain_all(w) > 0)
		;
	pump_all(w);
	flush_listeners(w);

	for (size_t i = 0; i < n && rc == 0; i++)
		if (r->keep_from[i] < 0)
			rc = listener_init(&nl[i], &r->o->listeners[i], base);
	if (rc != 0) {
		/* The old set stays as it was. */
		for (size_t i = 0; i < n; i++)
			if (r->keep_from[i] < 0 && nl[i].api != NULL)
				listener_fini(&nl[i]);
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
			listener_fini(&w->l[k]);
		}
	free(w->l);
	free(kept);
	w->l = nl;
	w->nl = n;
	return 0;
}

int ttlog__reconfigure(const struct ttlog_options *o, const int *keep_from)
{
	struct reconfigure r = {o, keep_from, 0};
	return ttlog__run_on_writer(reconfigure_fn, &r);
}

int ttlog__writer_call(struct ttlog__writer *w,
		       int (*fn)(struct event_base *, void *), void *arg)
{
	uint64_t one = 1;
	ssize_t n;
	int rc;

	if (tls_writer == w)
		return fn(w->base, arg);
	pthread_mutex_lock(&w->mu);
	/* One call at a time. */
	while (w->call_fn != NULL)
		pthread_cond_wait(&w->cv, &w->mu);
	w->call_fn = fn;
	w->call_arg = arg;
	w->call_done = 0;
	pthread_mutex_unlock(&w->mu);
	n = write(ttlog__lib.wake_fd, &one, sizeof(one));
	(void)n;
	pthread_mutex_lock(&w->mu);
	while (!w->call_done)
		pthread_cond_wait(&w->cv, &w->mu);
	rc = w->call_rc;
	w->call_fn = NULL;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int ttlog__ingest(const struct ttlog__in_event *ev, uint32_t source_id)
{
	struct ttlog__writer *w = tls_writer;
	uint64_t now;
	int rc;

	if (w == NULL)
		return TTLOG_EINVAL;
	/* Only an event without a time of its own needs the clock. */
	now = ev->time_ns != 0 ? ev->time_ns
			       : ttlog__clock_ts_ns(CLOCK_REALTIME);
	for (int tries = 0; tries < 2; tries++) {
		if (w->ingest == NULL)
			w->ingest = batch_new(w);
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
		dispatch(w, w->ingest); /* full: hand it out, start another */
		w->ingest = NULL;
	}
	atomic_fetch_add(&ttlog__lib.ingested, 1);
	atomic_fetch_add(&ttlog__lib.dropped_nomem, 1);
	return TTLOG_ENOMEM;
}

int ttlog__ingest_commit(void)
{
	struct ttlog__writer *w = tls_writer;

	if (w == NULL)
		return TTLOG_EINVAL;
	if (w->ingest != NULL) {
		dispatch(w, w->ingest);
		w->ingest = NULL;
	}
	return 0;
}

void ttlog__listener_metrics(size_t i, ttlog_metric_emit_fn emit, void *ctx)
{
	struct ttlog__writer *w = tls_writer;
	const struct ttlog_listener_api *api;

	if (w == NULL || i >= w->nl)
		return;
	api = w->l[i].api;
	if (has_1_1(api) && api->metrics != NULL && w->l[i].state != NULL)
		api->metrics(w->l[i].state, emit, ctx);
}

size_t ttlog__backlog(void)
{
	struct ttlog__writer *w = tls_writer;
	size_t max = 0;

	for (size_t i = 0; w != NULL && i < w->nl; i++)
		if (w->l[i].qbytes > max)
			max = w->l[i].qbytes;
	return max;
}

int ttlog__writer_listener_stats(struct ttlog__writer *w, size_t i,
				 struct ttlog_listener_stats *out)
{
	struct listener *l;

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
