/*
 * writer.c - the writer thread: one libevent loop that drains the rings into
 * batches and hands them to the listeners.
 *
 * The loop wakes on a timer (flush_interval_ms), on the eventfd that
 * producers write when a ring passes its high-water mark, and for flush and
 * stop requests. The timer also calls each listener's flush() about once a
 * second (ttlog__writer_tick), so that a listener that buffers shows its
 * output while the program runs, not only at ttlog_flush() or exit.
 * Everything after the rings runs here, so listener state needs no locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "route.h"
#include "batch_internal.h"
#include "clock_internal.h"
#include "lib_internal.h"
#include "snapshot_internal.h"
#include "watchdog_internal.h"
#include "writer_internal.h"

_Thread_local struct ttlog__writer *ttlog__writer_self;

/* ------------------------------------------------------------------ */
/* The loop                                                             */
/* ------------------------------------------------------------------ */

/* At stop, after the last flush: the loop keeps running (so that
 * forwarders can collect acknowledgements) until no listener is draining;
 * each listener bounds its own wait. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__writer *w = arg;
	struct timeval tv = {0, 10000};
	(void)fd;
	(void)what;

	ttlog__writer_pump(w);
	ttlog__writer_drain(w);
	/* The host's limit (ttlog-agent's shutdown_timeout) ends the wait
	 * even while listeners still want it; what they hold then is
	 * counted and said when they are destroyed. */
	if (w->drain_limit_ms > 0 &&
	    ttlog__clock_ts_ns(CLOCK_MONOTONIC) - w->stop_began_ns >=
		    w->drain_limit_ms * 1000000u) {
		w->drain_expired = 1;
		event_base_loopbreak(w->base);
		return;
	}
	if (!ttlog__writer_draining(w) || w->drain_ev == NULL ||
	    event_add(w->drain_ev, &tv) != 0)
		event_base_loopbreak(w->base);
}

static void stop_loop(struct ttlog__writer *w)
{
	if (w->drain_ev != NULL)
		return; /* already waiting */
	w->stop_began_ns = ttlog__clock_ts_ns(CLOCK_MONOTONIC);
	if (!ttlog__writer_draining(w)) {
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
	ttlog__writer_pump(w);
	ttlog__writer_drain(w);
	ttlog__writer_tick(w);
	if (w->nretiring > 0)
		(void)ttlog__writer_retire_poll(w);
}

static void on_snap_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__writer *w = arg;
	(void)fd;
	(void)what;
	ttlog__writer_drain(w);
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

	ttlog__writer_pump(w);
	ttlog__writer_drain(w);
	if (!stop && req == w->flush_done)
		return;
	/* One pass has taken everything logged before the request, which
	 * happened before this callback. On stop, a few more passes take
	 * what threads still inside a log call when the gate closed wrote;
	 * the bound keeps a thread that ignores shutdown from holding it. */
	for (int i = 0; stop && i < 16 && ttlog__writer_drain(w) > 0; i++)
		;
	ttlog__writer_pump(w);
	ttlog__writer_flush_listeners(w);
	/* After the flush, so what was written before the request lands in
	 * the old file, everything after in the new one. */
	if (reopen)
		ttlog__writer_reopen_listeners(w);
	pthread_mutex_lock(&w->mu);
	w->flush_done = req;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (stop)
		stop_loop(w);
}

static void *writer_main(void *arg)
{
	struct ttlog__writer *w = arg;
	int rc = 0;

	ttlog__writer_self = w;
	ttlog__snap_set_writer((int)gettid());
	ttlog__snap_thread_enter();
	rc = ttlog__writer_listeners_start(w);
	pthread_mutex_lock(&w->mu);
	w->started = 1;
	w->start_rc = rc;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (rc == 0)
		event_base_dispatch(w->base);
	if (w->ingest != NULL) /* emptied by the last drain */
		ttlog_batch_unref(w->ingest);
	ttlog__writer_listeners_destroy(w);
	ttlog__snap_thread_exit();
	return NULL;
}

void ttlog__writer_mark(const char *name, const char *what,
			_Atomic uint64_t *stalls)
{
	if (ttlog__writer_self != NULL)
		ttlog__watchdog_enter(ttlog__writer_self->dog, name, what,
				      stalls);
}

void ttlog__writer_unmark(void)
{
	if (ttlog__writer_self != NULL)
		ttlog__watchdog_leave(ttlog__writer_self->dog);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

static void writer_free(struct ttlog__writer *w)
{
	ttlog__watchdog_stop(w->dog);
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
	w->routing_all = ttlog__lib.routing_start;
	w->routing =
		ttlog__routing_active(w->routing_all) ? w->routing_all : NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	ttlog__clock_init(&w->clock, ttlog__clock_kind);
	rc = ttlog__snap_start(o, &w->clock);
	if (rc != 0) {
		writer_free(w);
		return rc;
	}
	rc = ttlog__writer_listeners_create(w, o);
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
	w->dog = ttlog__watchdog_start();
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
	ttlog__writer_listeners_destroy(w);
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
	ttlog__writer_drain(c->w);
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
	if (ttlog__writer_self == w)
		return ttlog__snap_write(trigger, reason);
	return ttlog__writer_call(w, snap_fn, &c);
}

int ttlog__writer_call(struct ttlog__writer *w,
		       int (*fn)(struct event_base *, void *), void *arg)
{
	uint64_t one = 1;
	ssize_t n;
	int rc;

	if (ttlog__writer_self == w)
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
