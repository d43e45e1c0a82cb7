/*
 * writer_internal.h - the writer thread's state, shared by the files that
 * make up the writer: writer.c (the loop and its lifecycle),
 * writer_drain.c (rings into batches), writer_listeners.c (listener
 * queues, dispatch and reconfiguration) and host.c (what the agent asks
 * of the writer). Nothing outside core/ includes it.
 */
#ifndef TTLOG_WRITER_INTERNAL_H
#define TTLOG_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "clock_internal.h"
#include "host_internal.h"

struct event;
struct event_base;
struct ttlog__ring;
struct ttlog__cursor;
struct ttlog__plugin_host;
struct ttlog__watchdog;

struct ttlog__listener {
	const struct ttlog_listener_api *api;
	void *state;
	const char *name;
	/* What create2()/start2() were given (plugin_host.c); NULL for a
	 * listener of the older callbacks. Moves with the listener. */
	struct ttlog__plugin_host *host;
	size_t queue_max;
	int level;  /* events below it are not offered */
	int policy; /* enum ttlog_queue_policy */
	/* Batches answered with RETRY, oldest first (a ring buffer), each
	 * with the bytes it was counted for when queued: a batch grows while
	 * queued (a listener encodes it, then answers RETRY), and what is
	 * taken off the count must be what was put on. */
	struct ttlog__queued {
		struct ttlog_batch *b;
		size_t bytes;
		uint64_t no; /* the writer's dispatch number of the batch */
	} * q;
	size_t qhead, qlen, qcap, qbytes;
	_Atomic uint64_t in, out, dropped_full, dropped_error, retries;
	_Atomic uint64_t qbytes_seen;
	/* Set at the first queue-full drop, which is logged, and cleared
	 * (logged again, with the count) once the queue has emptied: one
	 * pair of lines per episode, however many batches go. */
	int dropping;
	uint64_t dropped_before; /* dropped_full when the episode began */
	/* Callbacks the watchdog saw hold the writer thread too long. */
	_Atomic uint64_t stalls;
	uint64_t next_flush_ns; /* the periodic flush(), monotonic */
};

struct ttlog__writer {
	pthread_t thread;
	struct event_base *base;
	struct event *timer, *wake;
	struct event *drain_ev;	  /* at stop: waits for draining listeners */
	struct event *snap_timer; /* periodic snapshots */
	struct ttlog_options opts;
	struct ttlog__clock clock;
	struct ttlog__listener *l;
	/* match: and processors: of the listeners (route.h), borrowed
	 * from the host; NULL: every listener gets every event. routing_all
	 * is the same even when it does nothing (for the statistics). */
	struct ttlog__routing *routing, *routing_all;
	size_t nl;
	/* Listeners a reconfiguration replaced that still deliver what they
	 * took (a forwarder waiting for acknowledgements): each cycle asks
	 * them again, and destroys them once draining() says they are done. */
	struct ttlog__listener *retiring;
	size_t nretiring;
	uint64_t seq;
	/* Batches handed to the listeners so far (numbered in the order of
	 * dispatch, which is not the order of batch seqs), and the highest
	 * number every listener has taken that the taken function was told
	 * (ttlog__host_on_taken()). */
	uint64_t dispatched, taken_told;
	/* The durable number last computed (ttlog__writer_durable() never
	 * goes below it), and, while non-zero, that a listener's durable()
	 * must not call the taken function: a batch is being handed out
	 * (the dispatch tells it when done), or the listeners are being
	 * destroyed at shutdown. */
	uint64_t durable_told;
	int quiet;
	ttlog__host_taken_fn taken_fn;
	void *taken_arg;
	/* Reports a listener callback that holds this thread (NULL when
	 * its thread could not start). */
	struct ttlog__watchdog *dog;
	uint64_t next_tick_ns; /* the once-a-second listener tick */
	/* Shutdown: when the drain began, how long it may take (0: as long
	 * as the listeners want), and whether it was cut short. */
	uint64_t stop_began_ns, drain_limit_ms;
	int drain_expired;
	ttlog__host_loss_fn loss_fn; /* ttlog__host_on_loss() */
	void *loss_arg;
	/* The rings drained in one cycle, copied from the registry, and
	 * whether each was closed before it was drained. */
	struct ttlog__drain_slot {
		struct ttlog__ring *ring;
		int closed;
	} * snap;
	struct ttlog__cursor *cur;
	struct ttlog__cursor **heap;
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
	uint64_t ingest_born_ns; /* when its first event came, monotonic */
};

/* The writer whose thread is the calling thread, or NULL. */
extern _Thread_local struct ttlog__writer *ttlog__writer_self;

/* ABI 1.1 callbacks exist only in tables of that minor or later. */
static inline int ttlog__api_has_1_1(const struct ttlog_listener_api *api)
{
	return (api->abi_version & 0xFFFFu) >= 1;
}

/* writer.c: the watchdog's mark around one listener callback (see
 * watchdog_internal.h); nothing when the caller is not the writer
 * thread. name and stalls are borrowed until the unmark. */
void ttlog__writer_mark(const char *name, const char *what,
			_Atomic uint64_t *stalls);
void ttlog__writer_unmark(void);

/* writer_drain.c */
struct ttlog_batch *ttlog__writer_batch_new(struct ttlog__writer *w);
/* One cycle: drains every ring as far as it was filled when the cycle
 * began (and the ingest batch), then frees the rings of threads that have
 * exited. Returns the number of ring bytes found. */
uint64_t ttlog__writer_drain(struct ttlog__writer *w);

/* writer_listeners.c */
/* Hands a batch (a reference is taken over) to every listener. */
void ttlog__writer_dispatch(struct ttlog__writer *w, struct ttlog_batch *b);
/* Offers every listener its held-back batches. */
void ttlog__writer_pump(struct ttlog__writer *w);
/* The highest dispatch number up to which every listener has taken every
 * batch, or dropped it and counted that; the queue of a listener that
 * drops when full is not waited for (see ttlog__host_taken()). */
/* Every batch before the oldest one a listener's queue holds: of block
 * listeners only (all 0), or of every listener (all 1). */
uint64_t ttlog__writer_queued_floor(const struct ttlog__writer *w, int all);
uint64_t ttlog__writer_taken(const struct ttlog__writer *w);
/* Calls the taken function if that number moved since it was last told. */
void ttlog__writer_taken_check(struct ttlog__writer *w);
void ttlog__writer_flush_listeners(struct ttlog__writer *w);
/* From the loop's timer: each listener's periodic flush() and its host's
 * once-a-second tick. */
void ttlog__writer_tick(struct ttlog__writer *w);
void ttlog__writer_reopen_listeners(struct ttlog__writer *w);
/* Non-zero while a listener (or a replaced one still retiring) needs the
 * loop at shutdown. */
int ttlog__writer_draining(struct ttlog__writer *w);
/* Destroys the retiring listeners that are done. Returns how many are
 * left. */
size_t ttlog__writer_retire_poll(struct ttlog__writer *w);
/* Creates the listeners of o (not started); on error w->nl of them exist. */
int ttlog__writer_listeners_create(struct ttlog__writer *w,
				   const struct ttlog_options *o);
/* Starts every listener on the writer thread; 0 or TTLOG_ELISTENER. */
int ttlog__writer_listeners_start(struct ttlog__writer *w);
/* Writer thread, through ttlog__writer_call(): arg is a struct
 * ttlog__reconfigure (see ttlog__host_reconfigure()). */
struct ttlog__reconfigure {
	const struct ttlog_options *o; /* the new listeners */
	const int *keep_from;	       /* per new listener: old index or -1 */
	int rc;
	struct ttlog__routing *routing; /* for the new listeners, or NULL */
};
int ttlog__writer_reconfigure(struct event_base *base, void *arg);
/* Counts what each listener still holds as lost, says so per listener
 * (standard error or the loss callback), then destroys them. */
void ttlog__writer_listeners_destroy(struct ttlog__writer *w);

#endif /* TTLOG_WRITER_INTERNAL_H */
