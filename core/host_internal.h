/*
 * host_internal.h - the one internal API between core and a program that
 * hosts the library with inputs of its own (ttlog-agent): start the
 * library, run code on its writer thread, hand it events from outside,
 * swap its listeners, and read what only the writer may read. It is the
 * only core header the agent includes; everything takes the writer
 * explicitly (core/host.c).
 *
 * "Writer thread only" functions called from another thread do nothing,
 * print one line naming the function to stderr (a bug in the caller, not
 * a condition to handle) and return TTLOG_EINVAL (or 0).
 */
#ifndef TTLOG_HOST_INTERNAL_H
#define TTLOG_HOST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "ingest_internal.h" /* struct ttlog__in_event: what inputs hand in */

struct event_base;
struct ttlog__writer;

/* ttlog_init() for a host: also keeps `arg` until ttlog_shutdown(), which
 * calls release(arg) once the listeners are destroyed (release may be
 * NULL), and returns the writer in *w. On failure release is not called. */
struct ttlog__routing;
/* routing: the listeners' match: and processors: (route.h), borrowed
 * until ttlog_shutdown() or the reconfiguration that replaces it; NULL:
 * none. */
int ttlog__host_start(const struct ttlog_options *o,
		      struct ttlog__routing *routing, void (*release)(void *),
		      void *arg, struct ttlog__writer **w);

/* "listener NAME (type TYPE): create failed" for the listener that made
 * the last ttlog_init() (or reload) fail with TTLOG_ELISTENER, else "".
 * Static storage, overwritten by the next attempt (core/plugin_host.c). */
const char *ttlog__listener_failure(void);
/* The same failure in parts: the listener's name, and the reason alone
 * ("create failed: cannot open: /x: Permission denied", with the last
 * error the listener reported through its host); both "" when none. */
void ttlog__listener_failure_parts(const char **name, const char **reason);

/* The running library's writer, or NULL. Valid until ttlog_shutdown(). */
struct ttlog__writer *ttlog__host_writer(void);

/* Runs fn(base, arg) on w's thread between cycles and returns its result
 * (at once when called on that thread). TTLOG_ENOTRUNNING when w is NULL. */
int ttlog__host_call(struct ttlog__writer *w,
		     int (*fn)(struct event_base *, void *), void *arg);

/*
 * Replaces the listeners with o->listeners (the rest of o is ignored).
 * keep_from[i] names the current listener that new listener i continues
 * (its state, files, connections and queue move over as they are; its
 * config entry is only used for the name), or -1 for a new one, created
 * and started here. Everything accepted before the call is delivered to
 * the current listeners first; those not kept are flushed and destroyed.
 * On error nothing changes. Not from a listener callback.
 * @return 0, TTLOG_ENOTRUNNING (w NULL), or the error of a new listener.
 */
int ttlog__host_reconfigure(struct ttlog__writer *w,
			    const struct ttlog_options *o, const int *keep_from,
			    struct ttlog__routing *routing);

/*
 * What the host is told when a listener is finished (at shutdown, or
 * removed by a reload) with events it never delivered: held back after
 * RETRY, or given up on by the listener itself (a collector that never
 * acknowledged, with no spool). Called on the writer thread, once per
 * such listener; `listener` and `reason` are borrowed for the call.
 * Without a function the library prints "ttlog: listener NAME: N events
 * lost at shutdown (REASON)" itself.
 */
typedef void (*ttlog__host_loss_fn)(void *arg, const char *listener,
				    uint64_t events, const char *reason,
				    int at_shutdown);
/* Sets the loss function (NULL: the library's line) and how long the
 * shutdown may wait for listeners still draining (0: as long as each
 * wants); after that their undelivered events are lost, and said so. */
int ttlog__host_on_loss(struct ttlog__writer *w, ttlog__host_loss_fn fn,
			void *arg, uint64_t drain_limit_ms);

/* How many listeners a reconfiguration replaced are still delivering what
 * they took (they are destroyed once done, on the writer thread); 0 when
 * w is NULL. The code of their plugins must stay loaded until then. */
size_t ttlog__host_retiring(struct ttlog__writer *w);

/* A snapshot after draining the rings, written on the writer thread;
 * TTLOG_EINVAL when snapshots are off, TTLOG_ENOTRUNNING when w is NULL. */
int ttlog__host_snapshot(struct ttlog__writer *w, const char *trigger,
			 const char *reason);

/*
 * Writer thread only (input callbacks): adds an event that came from
 * outside; it is handed to the listeners at the end of the cycle, or at
 * once when the pending batch is full. source_id is recorded as the
 * event's tid (an input's number). Returns 0, TTLOG_EINVAL for an invalid
 * event (counted in dropped_invalid, see ttlog__batch_add_in()), or
 * TTLOG_ENOMEM (counted in dropped_no_memory).
 */
int ttlog__host_ingest(struct ttlog__writer *w,
		       const struct ttlog__in_event *ev, uint32_t source_id);
/* Writer thread only: hands the events ingested so far to the listeners
 * now (instead of at the end of the cycle), so that an input that
 * acknowledges to its sender does so only after every listener took them
 * or queued them. */
int ttlog__host_ingest_commit(struct ttlog__writer *w);
/* Writer thread only: the same, but only once the first event ingested
 * since the last hand-over has waited max_age_ns: an input reading a
 * steady stream hands it on in batches of that much time rather than one
 * per read. Returns 1 if it handed them on, else 0 (TTLOG_EINVAL off the
 * writer thread). */
int ttlog__host_ingest_commit_aged(struct ttlog__writer *w,
				   uint64_t max_age_ns);

/* Any thread: how many times listener i's callbacks held the writer
 * thread longer than the watchdog's limit (core/watchdog.c), each said on
 * standard error with its name. 0, TTLOG_EINVAL or TTLOG_ENOTRUNNING. */
int ttlog__host_listener_stalls(size_t i, uint64_t *out);
/* Writer thread only: calls listener i's metrics() (ABI 1.1), if any. */
void ttlog__host_listener_metrics(struct ttlog__writer *w, size_t i,
				  ttlog_metric_emit_fn emit, void *ctx);
/* One processor's counts (docs/routing.md), for /metrics. */
struct ttlog__proc_stat {
	const char *scope; /* "global" or the listener's name */
	const char *name;  /* the item's name:, else "TYPE#INDEX" */
	const char *type;
	uint64_t in;	  /* events the processor ran on (match passed) */
	uint64_t dropped; /* events it dropped (drop, sample, throttle) */
	uint64_t failed;  /* events it could not process (kept unchanged) */
};
/* Writer thread only: fills up to cap processors' counts (strings valid
 * until the next reconfiguration) and returns how many there are; sets
 * *unrouted to the events no listener's match: took. */
size_t ttlog__host_proc_stats(struct ttlog__writer *w,
			      struct ttlog__proc_stat *out, size_t cap,
			      uint64_t *unrouted);

/* Writer thread only: the bytes held back by the most backed-up listener
 * whose queue.when_full is block (TTLOG_QUEUE_BLOCK); listeners that drop
 * when full never count, so that one stuck listener does not stop the
 * inputs for all the others. */
size_t ttlog__host_backlog(const struct ttlog__writer *w);

/*
 * "Taken": every listener has returned OK for a batch (a file listener has
 * written it, by its fsync policy; a forwarder has it in its spool, or in
 * memory when it has none), dropped it and counted that, or was never
 * offered it - except that a listener whose queue.when_full drops is not
 * waited for while it holds batches back (isolation: it must not stall
 * the others). Batches are numbered in the order they are handed out; an
 * input that acknowledges to its sender does so once the number of the
 * batch that holds a frame's events is taken (agent/inputs/input_native.c).
 */
/* Writer thread only: the number of the last batch handed to the
 * listeners (right after ttlog__host_ingest_commit(): the batch with the
 * events just ingested); 0 before the first. */
uint64_t ttlog__host_dispatched(const struct ttlog__writer *w);
/* Writer thread only: every batch up to this number is taken. */
uint64_t ttlog__host_taken(const struct ttlog__writer *w);
/* Writer thread only: every batch up to this number is durable: taken
 * by every listener, also one whose queue.when_full drops (no queue holds
 * it), and confirmed by the listeners whose "taken" is not yet safe from
 * a SIGKILL of the agent (a forward listener without a spool holds what
 * it took in memory until the collector acknowledges it). Never above
 * ttlog__host_taken(). The inputs that save where they stand in their
 * source (tail, journal) save it only up to here. */
uint64_t ttlog__host_durable(const struct ttlog__writer *w);
/* Called on the writer thread when the taken number moves forward (after a
 * batch is handed out, a held-back one is taken or dropped, or the
 * listeners change), and when the durable number does; must not ingest
 * or commit. */
typedef void (*ttlog__host_taken_fn)(void *arg, uint64_t taken);
int ttlog__host_on_taken(struct ttlog__writer *w, ttlog__host_taken_fn fn,
			 void *arg);

/*
 * Writer thread only: whether an input that honours back-pressure should
 * stop reading (paused 0) or stay stopped (paused 1). A listener whose
 * queue.when_full is block has a pause mark, min(pause_backlog, half its
 * queue.max_bytes): reading stops once its queue holds more than that and
 * resumes once every such queue is below half its mark. Listeners that
 * drop when full never pause anything; pause_backlog 0 means never.
 * @return 1 to be (or stay) paused, else 0.
 */
int ttlog__host_pushback(const struct ttlog__writer *w, size_t pause_backlog,
			 int paused);
/*
 * The same for an input whose source keeps what it has not read (tail:
 * the files; journal: the journal): every listener's queue counts, also
 * one whose queue.when_full drops. Reading later loses nothing there,
 * where a listener's dropping would; a listener that stays stuck stops
 * such an input, which /metrics shows as its lag.
 */
int ttlog__host_pushback_source(const struct ttlog__writer *w,
				size_t pause_backlog, int paused);

#endif /* TTLOG_HOST_INTERNAL_H */
