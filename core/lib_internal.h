/*
 * lib_internal.h - the library's process-wide state, shared by the log path
 * (log.c) and the writer thread (writer.c).
 *
 * Locking: `lock` guards the list of rings, the retired counters, `running`
 * and the level. The hot path takes no lock: it reads the gate, its own
 * thread's ring and the generation.
 */
#ifndef TTLOG_LIB_INTERNAL_H
#define TTLOG_LIB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "ring_internal.h"

struct ttlog__writer;

/* Counters of rings that were freed, kept so the totals never go back. */
struct ttlog__retired {
	uint64_t produced, dropped_full, dropped_large, truncated;
};

struct ttlog__lib {
	/* Read by every log call; written only by init and shutdown. Kept
	 * apart from the lock, which the writer takes every cycle. */
	_Alignas(TTLOG__CACHELINE) _Atomic uint32_t gen; /* bumped by every
							  init and shutdown */
	uint32_t max_value; /* ttlog_options.max_value_bytes */

	_Alignas(TTLOG__CACHELINE) pthread_mutex_t lock;
	struct ttlog__ring *rings; /* registered in this generation */
	uint32_t nrings;
	int running;
	int level; /* configured minimum level */
	struct ttlog_options opts;
	struct ttlog__retired retired;
	/* Failures to allocate a ring: the events are counted as ring-full. */
	_Atomic uint64_t ring_alloc_failed;

	/* Writer wake-up: producers write the eventfd at most once until
	 * the writer clears `wake_pending`. */
	int wake_fd;
	atomic_int wake_pending;

	struct ttlog__writer *writer;
	/* Whatever ttlog__init_owned() was given to keep until shutdown
	 * (the plugins of ttlog_init_from_file()). */
	void (*owned_release)(void *);
	void *owned;
	/* Kept after shutdown so the last run's figures stay readable. */
	_Atomic uint64_t delivered, batches, listener_dropped, dropped_nomem;
	_Atomic uint64_t ingested;	  /* events from ttlog__ingest() */
	_Atomic uint64_t dropped_invalid; /* ingested events refused */
};

extern struct ttlog__lib ttlog__lib;

/* ttlog_init() that also keeps `arg` until ttlog_shutdown(), which calls
 * release(arg) once the listeners are destroyed. On failure release is not
 * called: the caller still owns arg. */
int ttlog__init_owned(const struct ttlog_options *o, void (*release)(void *),
		      void *arg);

/* "listener NAME (type TYPE): create failed" for the listener that made
 * the last ttlog_init() (or reload) fail with TTLOG_ELISTENER, else "".
 * Static storage, overwritten by the next attempt (core/plugin_host.c). */
const char *ttlog__listener_failure(void);

/* Wakes the writer (producers, flush, shutdown). */
void ttlog__wake(void);

/* Folds a ring's counters into the retired totals; lock held. */
void ttlog__retire_counters(struct ttlog__ring *r);

/* Writer: lifecycle (writer.c). start creates the listeners, starts them
 * on the writer's event_base and the thread; stop drains everything,
 * flushes and destroys the listeners and joins the thread. */
int ttlog__writer_start(const struct ttlog_options *o,
			struct ttlog__writer **out);
void ttlog__writer_stop(struct ttlog__writer *w);
/* Blocks until a full drain that began after the call has completed. */
void ttlog__writer_flush(struct ttlog__writer *w);
/* Like flush, then calls every listener's reopen(). */
void ttlog__writer_reopen(struct ttlog__writer *w);
/* Runs fn(base, arg) on the writer thread, between cycles, and returns
 * its result (immediately when called on the writer thread). */
int ttlog__writer_call(struct ttlog__writer *w,
		       int (*fn)(struct event_base *, void *), void *arg);
/* The same for the running library: TTLOG_ENOTRUNNING when stopped. */
int ttlog__run_on_writer(int (*fn)(struct event_base *, void *), void *arg);

/*
 * Replaces the listeners with o->listeners (the rest of o is ignored).
 * keep_from[i] names the current listener that new listener i continues
 * (its state, files, connections and queue move over as they are; its
 * config entry is only used for the name), or -1 for a new one, created
 * and started here. Everything accepted before the call is delivered to
 * the current listeners first; those not kept are flushed and destroyed.
 * On error nothing changes. Not from a listener callback.
 * @return 0, TTLOG_ENOTRUNNING, or the error of a new listener.
 */
int ttlog__reconfigure(const struct ttlog_options *o, const int *keep_from);

struct ttlog__in_event;
/*
 * Writer thread only (input callbacks): adds an event that came from
 * outside; it is handed to the listeners at the end of the cycle, or at
 * once when the pending batch is full. source_id is recorded as the
 * event's tid (an input's number). Returns 0, TTLOG_EINVAL off the writer
 * thread (nothing counted) or for an invalid event (counted in
 * dropped_invalid, see ttlog__batch_add_in()), or TTLOG_ENOMEM (counted
 * in dropped_no_memory).
 */
int ttlog__ingest(const struct ttlog__in_event *ev, uint32_t source_id);
/* Writer thread only: hands the events ingested so far to the listeners
 * now (instead of at the end of the cycle), so that an input that
 * acknowledges to its sender does so only after every listener took them
 * or queued them. Returns 0 or TTLOG_EINVAL off the writer thread. */
int ttlog__ingest_commit(void);
/* A snapshot (snapshot_internal.h) after draining the rings, on the writer
 * thread; returns its result. TTLOG_EINVAL when snapshots are off. */
int ttlog__writer_snapshot(struct ttlog__writer *w, const char *trigger,
			   const char *reason);
/* The same for the running library: TTLOG_ENOTRUNNING when stopped. */
int ttlog__snapshot(const char *trigger, const char *reason);
/* Writer thread only: calls listener i's metrics() (ABI 1.1), if any. */
void ttlog__listener_metrics(size_t i, ttlog_metric_emit_fn emit, void *ctx);
/* Writer thread only: the bytes held back by the most backed-up listener,
 * for inputs that stop reading while listeners push back. */
size_t ttlog__backlog(void);

int ttlog__writer_listener_stats(struct ttlog__writer *w, size_t i,
				 struct ttlog_listener_stats *out);

#endif /* TTLOG_LIB_INTERNAL_H */
