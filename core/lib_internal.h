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
struct ttlog__routing;

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
	/* ttlog__host_start()'s routing, for the writer it starts. */
	struct ttlog__routing *routing_start;
	/* Kept after shutdown so the last run's figures stay readable. */
	_Atomic uint64_t delivered, batches, listener_dropped, dropped_nomem;
	_Atomic uint64_t ingested;	  /* events from ttlog__ingest() */
	_Atomic uint64_t dropped_invalid; /* ingested events refused */
	_Atomic uint64_t filtered_level;  /* ingested below the level */
};

extern struct ttlog__lib ttlog__lib;

/* ttlog_init() that also keeps `arg` until ttlog_shutdown(), which calls
 * release(arg) once the listeners are destroyed. On failure release is not
 * called: the caller still owns arg. */
int ttlog__init_owned(const struct ttlog_options *o, void (*release)(void *),
		      void *arg);

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
/* A snapshot (snapshot_internal.h) after draining the rings, on the writer
 * thread; returns its result. TTLOG_EINVAL when snapshots are off. */
int ttlog__writer_snapshot(struct ttlog__writer *w, const char *trigger,
			   const char *reason);

/* The host API (host_internal.h) is built on the functions above. */
int ttlog__writer_listener_stats(struct ttlog__writer *w, size_t i,
				 struct ttlog_listener_stats *out);
/* The watchdog's count of listener i's callbacks that held the writer
 * thread too long (not in the public stats: that struct cannot grow). */
int ttlog__writer_listener_stalls(struct ttlog__writer *w, size_t i,
				  uint64_t *out);

#endif /* TTLOG_LIB_INTERNAL_H */
