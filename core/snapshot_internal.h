/*
 * snapshot_internal.h - the flight recorder (snapshot*.c): a bounded history
 * of the batches the writer handed out, and snapshot files made of that
 * history and whatever is still in the rings (docs/snapshot-format.md).
 *
 * Threads: everything but the crash handler runs on the writer thread. The
 * crash handler runs on the thread that crashed, while the others go on;
 * the writer marks the stretches in which it changes what a snapshot reads
 * (draining rings, adding to the history, writing a snapshot) with
 * ttlog__snap_enter()/leave(), and the crash handler waits, boundedly, for
 * it to be outside them and keeps it out while it writes.
 */
#ifndef TTLOG_SNAPSHOT_INTERNAL_H
#define TTLOG_SNAPSHOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/ttlog.h>

struct ttlog__clock;
struct ttlog_batch;

/* Sets the recorder up from o (snapshot_dir NULL: off), allocating every
 * buffer the crash path needs, and installs the crash handlers. clock is
 * the writer's (it converts ring timestamps). Called by the writer's start
 * with writer_tid the writer thread's id, before the writer runs. Returns
 * 0, TTLOG_ENOMEM or TTLOG_EINVAL. Retention runs once here. */
int ttlog__snap_start(const struct ttlog_options *o,
		      const struct ttlog__clock *clock);
/* The writer thread's kernel id, for the crash handler. */
void ttlog__snap_set_writer(int tid);
/* Restores the previous signal handlers and frees everything. After the
 * writer stopped. */
void ttlog__snap_stop(void);
/* Whether snapshots are on; the periodic interval in ms (0: none). */
int ttlog__snap_on(void);
uint32_t ttlog__snap_interval_ms(void);

/* Writer thread: keeps b (a reference) in the history, dropping the oldest
 * batches beyond the size limit. */
void ttlog__snap_history_add(struct ttlog_batch *b);

/* Writer thread: writes a snapshot of the history and the rings. trigger
 * is "request", "periodic" or "signal". Returns 0, TTLOG_EINVAL (off), or
 * -errno of the failed step (counted; printed to stderr). */
int ttlog__snap_write(const char *trigger, const char *reason);

/* Writer thread: around changes to what a snapshot reads. enter() waits
 * while a crash handler is writing. */
void ttlog__snap_enter(void);
void ttlog__snap_leave(void);

/* Per thread: an alternate signal stack, so that a stack overflow can
 * still run the crash handler. enter() installs one unless the thread has
 * one (its own or the application's); exit() removes and frees ours. */
void ttlog__snap_thread_enter(void);
void ttlog__snap_thread_exit(void);

void ttlog__snap_stats(struct ttlog_snapshot_stats *out);

#endif /* TTLOG_SNAPSHOT_INTERNAL_H */
