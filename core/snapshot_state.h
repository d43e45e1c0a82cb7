/*
 * snapshot_state.h - the flight recorder's state and what its files share;
 * only core/snapshot*.c include it (the rest of the core uses
 * snapshot_internal.h):
 *   snapshot.c          set-up and configuration, the writer's side
 *                       (enter/leave, a requested or periodic snapshot),
 *                       retention of old files, the statistics
 *   snapshot_collect.c  the history of batches and the merge of it with
 *                       the rings' records in time order
 *   snapshot_file.c     writing one snapshot file: names, the string
 *                       table, CBOR into the LZ4 frame (async-signal-safe)
 *   snapshot_crash.c    the crash handlers and the threads' alternate
 *                       signal stacks
 */
#ifndef TTLOG_SNAPSHOT_STATE_H
#define TTLOG_SNAPSHOT_STATE_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lz4w_internal.h"
#include "snapshot_internal.h"

#define TTLOG__SNAP_HIST_SLOTS 4096  /* batches held at most */
#define TTLOG__SNAP_TABLE_CAP 16384  /* string table slots (a power of two) */
#define TTLOG__SNAP_MAX_STRINGS 8192 /* strings in the table; others inline */
#define TTLOG__SNAP_MAX_RINGS 1024   /* rings read; the others' omitted */
#define TTLOG__SNAP_NAME_MAX_LEN 200
#define TTLOG__SNAP_NCRASH 5 /* the signals in snapshot_crash.c */

struct ttlog__ring;
struct ttlog_callsite;

struct ttlog__snap_slot {
	struct ttlog_batch *b;
	size_t bytes;
};

/* An event as a snapshot reads it, from the history or a ring. */
struct ttlog__snap_ev {
	uint64_t t;
	uint32_t tid;
	uint8_t flags;
	int own; /* msg is the event's own, not the call site's */
	const struct ttlog_callsite *cs;
	const char *msg;
	size_t msg_len;
	const unsigned char *vals;
	/* The sender of an event from outside (an input's, a relay's):
	 * written as fields host and service; NULL for the process's own. */
	const struct ttlog_origin *origin;
};

/* One source of events in time order: the history, or one ring. */
struct ttlog__snap_cursor {
	const struct ttlog__ring *ring; /* NULL: the history */
	uint64_t pos, end;		/* ring positions */
	size_t slot, ev;		/* history position */
	struct ttlog__snap_ev e;	/* the current event */
};

struct ttlog__snap_tentry {
	const char *s;
	uint32_t idx;
};

struct ttlog__snap_state {
	int on;
	int on_crash;
	char dir[PATH_MAX];
	int dirfd;
	char service[256]; /* as configured, for the header */
	char name_svc[64]; /* [A-Za-z0-9._-] only, for file names */
	char host[256];
	size_t hist_max;
	uint32_t keep, interval_ms;
	uint64_t max_bytes;
	const struct ttlog__clock *clock;

	/* History: a ring buffer of slots, oldest at hhead. */
	struct ttlog__snap_slot *hist;
	size_t hhead, hn;
	_Atomic size_t hbytes, hevents; /* also read by ttlog_snapshot_stats */

	/* Set aside at start for the writing of a snapshot. */
	struct ttlog__lz4w lz;
	struct ttlog__snap_tentry *table;
	const char **strs;
	uint32_t nstrs;
	struct ttlog__snap_cursor *cur;
	struct ttlog__snap_cursor **heap;
	size_t ncur;
	uint64_t omitted_now;
	char name[TTLOG__SNAP_NAME_MAX_LEN + 16];
	char tmp[TTLOG__SNAP_NAME_MAX_LEN + 32];
	const char *err_step;
	int err_no;

	int writer_tid;
	_Atomic int busy, crashing, in_crash, writing;
	_Atomic uint64_t seq, written, failed, sync_failed, omitted,
		last_events;
	struct sigaction old[TTLOG__SNAP_NCRASH];
	int installed;
	pthread_mutex_t stats_mu; /* last_file, last_error */
	char last_file[256];
	char last_error[256];
};

/* The one recorder of the process (snapshot.c). */
extern struct ttlog__snap_state ttlog__snap;

/* snapshot.c */

/* Sleeps ms milliseconds (async-signal-safe). */
void ttlog__snap_nap_ms(long ms);

/* snapshot_collect.c */

/* Drops the oldest batch of the history (there is one). */
void ttlog__snap_hist_drop_oldest(void);
/* Sets the cursors up: the history, and each ring from its tail to its
 * head as they are now. locked: the library lock may be taken (not in a
 * signal handler, where the list is read as it is). */
void ttlog__snap_capture(int locked);
/* Calls fn for every event, oldest first; returns how many. Each call
 * starts from the captured positions, so two calls see the same events. */
uint64_t ttlog__snap_each_event(void (*fn)(const struct ttlog__snap_ev *));

/* snapshot_file.c (all async-signal-safe) */

/* Appends s to dst (capacity cap, NUL-terminated); returns the length. */
size_t ttlog__snap_cat(char *dst, size_t len, size_t cap, const char *s);
/* Appends v in decimal, at least width digits. */
size_t ttlog__snap_cat_u64(char *dst, size_t len, size_t cap, uint64_t v,
			   int width);
/* Records the failed step and errno; returns -err. */
int ttlog__snap_fail(const char *step, int err);
/* Writes one snapshot. locked: see ttlog__snap_capture(). Returns 0 or
 * -errno, with err_step naming the step; *placed says whether the file is
 * in place under its name. */
int ttlog__snap_write_file(const char *trigger, const char *reason, int locked,
			   uint64_t *nevents, int *placed);

/* snapshot_crash.c */

void ttlog__snap_install(void);
void ttlog__snap_uninstall(void);

#endif /* TTLOG_SNAPSHOT_STATE_H */
