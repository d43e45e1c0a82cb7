/*
 * journal_internal.h - the state of one journal input, shared by
 * input_journal.c (sources, reading, start and stop) and journal_state.c
 * (the cursors: which are durable, the state file, and what a shutdown
 * saves once the listeners are done). Writer thread.
 */
#ifndef TTLOG_JOURNAL_INTERNAL_H
#define TTLOG_JOURNAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-journal.h>

#include "input_journal.h"
#include "parse_internal.h" /* the scratch buffer */
#include "ratelimit.h"

struct event;
struct ttlog__input;

/* How often a paused or idle input looks again (back-pressure, the
 * journal's own timeout, the cursor save). */
#define TTLOG__JOURNAL_WAKE_US 10000
#define TTLOG__JOURNAL_SYNC_EVERY_NS 1000000000u
/* Hand-overs whose cursors wait for durability, at most; past it the
 * newest one absorbs the next (coarser, never ahead of the data). */
#define TTLOG__JOURNAL_PEND_MAX 4096

struct ttlog__jsrc {
	sd_journal *j;
	struct event *io;
	char *key;     /* its record in the state file: "system", a
			* directory, "files" */
	char *last;    /* cursor of the last entry read; NULL: none yet */
	char *durable; /* newest cursor known durable; NULL: none */
	char *saved;   /* the one in the state file */
	int at_unread; /* positioned on an entry not read yet */
	int more;      /* the last turn stopped at its chunk */
	int fresh;     /* read entries in this turn */
};

struct ttlog__jpend {
	uint64_t no;
	size_t src;
	char *cursor;
};

struct ttlog__journal {
	struct ttlog__input *in;
	struct ttlog__jsrc *src;
	size_t nsrc;
	struct event *wake;
	char *state_path;	   /* NULL without state_dir */
	struct ttlog__jpend *pend; /* ring of TTLOG__JOURNAL_PEND_MAX */
	size_t head, len;
	uint64_t saved_ns; /* the last save with fsync */
	int dirty;	   /* a durable cursor is not saved yet */
	int unsynced;	   /* the last save had no fsync */
	struct ttlog__journal_skips sk;
	/* One entry's fields, copied (sd-journal's pointers last only until
	 * the next field is asked for): n fields at offsets doff in buf. */
	const void **data;
	size_t *dlen, *doff, dcap;
	struct ttlog__scratch buf;
	struct ttlog__ratelimit err_rl;
};

/* Logs "journal input" with what and why, at most once a second. */
void ttlog__journal_warn(struct ttlog__journal *jr, const char *what,
			 const char *why);

/* journal_state.c */
/* Saves the durable cursors: at once, without fsync, as they move (a
 * SIGKILL then re-reads only what was not durable yet), and with fsync
 * (sync) at most once a second and at stop, for a power cut. A failure is
 * counted, said, and tried again later. */
void ttlog__journal_save(struct ttlog__journal *jr, int sync);
/* The saved cursors into src[].saved; a damaged file is said once and
 * counted, and every handle then starts per start_at. */
void ttlog__journal_load(struct ttlog__journal *jr);
/* Remembers cursor (taken) as handle src's position once batch no is
 * durable. */
void ttlog__journal_pend_push(struct ttlog__journal *jr, uint64_t no,
			      size_t src, char *cursor);
/* Moves the cursors whose batches are durable to their handles. */
void ttlog__journal_advance(struct ttlog__journal *jr);
/* At shutdown: keeps each handle's newest cursor for
 * ttlog__journal_after_shutdown(). */
void ttlog__journal_keep_leftover(struct ttlog__journal *jr);

#endif /* TTLOG_JOURNAL_INTERNAL_H */
