/*
 * spool.h - a listener's disk spool: records (the forwarder's native
 * frames, the Kafka listener's messages) kept on disk until the peer
 * acknowledges them, so that an agent restart or a long outage loses
 * nothing that was accepted (within the size cap). Shared by the plugins
 * that need one (plugins/shared).
 *
 * A spool is a directory owned by one forwarder (a lock file stops a
 * second process from using it):
 *   id            16 random bytes: the sender id, stable across restarts
 *   acked         the highest acknowledged seq (u64) + CRC-32C, rewritten
 *                 in place
 *   stats         the loss counters and what they need across a restart
 *                 (text with a CRC-32C), replaced atomically
 *   NNNNNNNNNNNNNNNNNNNN.seg  append-only segments, named by the seq of
 *                 their first record (20 decimal digits), holding records:
 *       u32 magic "TSR1" | u32 body length | u32 CRC-32C of the body |
 *       body = u64 seq | u32 flags | u32 count | payload
 *   (little-endian). The format is in docs/spool.md.
 *
 * Reading never trusts the disk: a record with a bad magic, an impossible
 * length, a CRC mismatch, a seq not above the previous one, or a tail cut
 * short is skipped and counted (the reader resynchronises on the next
 * magic), never a crash or a hang.
 *
 * Not thread-safe; a listener uses it from the writer thread only.
 */
#ifndef TTLOG_SPOOL_H
#define TTLOG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

enum ttlog__spool_fsync {
	TTLOG_SPOOL_FSYNC_NEVER = 0,	/* the kernel writes back */
	TTLOG_SPOOL_FSYNC_INTERVAL = 1, /* ttlog__spool_sync() on a timer */
	TTLOG_SPOOL_FSYNC_ALWAYS = 2,	/* fdatasync after every append */
};

enum ttlog__spool_overflow {
	/* The spool is full: delete the oldest segment (its unacknowledged
	 * records are counted as dropped) to make room. The default. */
	TTLOG_SPOOL_DROP_OLDEST = 0,
	/* Refuse the new record (TTLOG_SPOOL_FULL); the forwarder answers
	 * RETRY and the writer's queue policy applies. */
	TTLOG_SPOOL_DROP_NEWEST = 1,
};

/* What a spool lost, told once to the owner's reporter (see
 * ttlog__spool_opts.on_loss) as it happens; its counts are in the
 * statistics already. */
enum ttlog__spool_loss_kind {
	/* The size cap deleted records that were in no memory. */
	TTLOG_SPOOL_LOSS_CAP = 0,
	/* The cap had deleted them while the caller still held them in
	 * memory, and the caller let them go (a restart, a handover, the
	 * close) before the collector acknowledged them. */
	TTLOG_SPOOL_LOSS_HELD = 1,
	/* Damaged on disk (CRC, header, cut short). */
	TTLOG_SPOOL_LOSS_DAMAGE = 2,
	/* Missing at open without a record of why: between the acknowledged
	 * seq and the oldest segment (a crash between deleting a segment
	 * and counting it, or a spool written by a version that did not
	 * keep the counts). */
	TTLOG_SPOOL_LOSS_GAP = 3,
};

struct ttlog__spool_loss {
	int kind;	     /* enum ttlog__spool_loss_kind */
	const char *segment; /* file name (no directory), or "" */
	uint64_t offset;     /* DAMAGE: the first damaged byte in it */
	uint64_t records, events, bytes;
	/* Records among them whose events are an estimate (the segment's
	 * average per record): their header could not be read. */
	uint64_t estimated;
	uint64_t seq_lo, seq_hi; /* the seqs lost; 0, 0 when not known */
	const char *reason;	 /* DAMAGE: "CRC mismatch", "cut short"... */
};

/* Called on the spool's thread; l is borrowed for the call. */
typedef void (*ttlog__spool_loss_fn)(void *arg,
				     const struct ttlog__spool_loss *l);

struct ttlog__spool_opts {
	const char *dir;	/* created 0700 if missing */
	uint64_t max_bytes;	/* cap on all segments; > segment_bytes */
	uint64_t segment_bytes; /* a new segment starts past this size */
	int fsync;		/* enum ttlog__spool_fsync */
	int overflow;		/* enum ttlog__spool_overflow */
	/* Told of every loss (may be NULL); ttlog__spool_set_reporter()
	 * changes it later. Not read by set_opts(). */
	ttlog__spool_loss_fn on_loss;
	void *loss_arg;
};

struct ttlog__spool_rec {
	uint64_t seq;
	uint32_t flags, count;
	const unsigned char *payload; /* valid until the next read/close */
	size_t len;
};

struct ttlog__spool_stats {
	uint64_t bytes;	   /* all segment files now */
	uint64_t segments; /* files now */
	uint64_t records;  /* unacknowledged records now (estimate) */
	uint64_t events;   /* the events in them (estimate) */
	uint64_t appended; /* records written since open */
	/* The loss counters below are totals over the spool's life: they
	 * are kept in its `stats` file and go on across restarts. */
	uint64_t corrupt_records;   /* records lost to damage */
	uint64_t corrupt_bytes;	    /* bytes skipped with them */
	uint64_t corrupt_events;    /* their events (some estimated) */
	uint64_t corrupt_estimated; /* records whose events are estimated */
	uint64_t dropped_records;   /* lost to the size cap (in no memory) */
	uint64_t dropped_events;    /* sum of their counts */
	uint64_t gap_records;	    /* found missing at open, see LOSS_GAP */
	/* Deleted by the cap but held in the caller's memory, not yet
	 * acknowledged: lost if the caller lets them go (now). */
	uint64_t held_records, held_events;
	uint64_t write_errors;
	uint64_t fsync_errors;
};

#define TTLOG_SPOOL_FULL 1 /* ttlog__spool_append(): DROP_NEWEST, full */

struct ttlog__spool;

/*
 * Opens (creating) the spool: takes the lock, reads or creates `id`, reads
 * `acked`, scans every segment into an index (first/last seq, records,
 * events, bytes), deletes those wholly acknowledged or without one good
 * record, and finds the last seq (a torn tail of the newest segment is
 * counted as corrupt and cut off, so appends continue after the last good
 * record).
 * Errors name the file: "spool /var/lib/ttlog/s: locked by another
 * process (pid in LOCK)", "spool .../id: short file". One process opens
 * a directory once: the forward plugin shares an open spool between the
 * instances of one listener across a reload (fwd_spool.c).
 * @return 0 or -1 with err.
 */
int ttlog__spool_open(const struct ttlog__spool_opts *o,
		      struct ttlog__spool **out, char *err, size_t errlen);
void ttlog__spool_close(struct ttlog__spool *s);

/* The sender id (16 bytes) kept in `id`. */
const uint8_t *ttlog__spool_id(const struct ttlog__spool *s);
/* The highest seq appended (0 for an empty, new spool) and acknowledged. */
uint64_t ttlog__spool_last_seq(const struct ttlog__spool *s);
uint64_t ttlog__spool_acked(const struct ttlog__spool *s);

/*
 * Appends one record; seq must be above ttlog__spool_last_seq(). Makes a
 * new segment when the current one passes segment_bytes; applies the cap
 * (overflow policy) first. fsync per policy (a failed fsync is counted
 * and returned as an error, never retried on the same data).
 * @return 0, TTLOG_SPOOL_FULL (drop_newest), or -1 with err (write error:
 *         counted; the partial record is cut off again).
 */
int ttlog__spool_append(struct ttlog__spool *s, uint64_t seq, uint32_t flags,
			uint32_t count, const void *payload, size_t len,
			char *err, size_t errlen);

/*
 * The caller holds the records (acked, hi] in memory too and can still
 * send them: the size cap deleting them loses nothing (they are "held",
 * not dropped). A lower hi than before means the caller let some go:
 * held records above it are lost now, counted and reported. Closing the
 * spool lets all of them go.
 */
void ttlog__spool_set_held(struct ttlog__spool *s, uint64_t hi);
/* Changes the reporter of losses (a handover to another owner). */
void ttlog__spool_set_reporter(struct ttlog__spool *s, ttlog__spool_loss_fn fn,
			       void *arg);
/* The lowest seq the spool holds above the acknowledged one; 0 when it
 * holds none. For a segment acknowledged in part, acked + 1. */
uint64_t ttlog__spool_oldest(const struct ttlog__spool *s);

/* Records that everything up to seq is acknowledged: rewrites `acked`
 * (no fsync unless the policy is ALWAYS) and deletes segments whose
 * records are all <= seq. */
int ttlog__spool_ack(struct ttlog__spool *s, uint64_t seq);

/* Reading, in seq order, for sending: rewind to the first record with
 * seq > after, then next() one record at a time. */
void ttlog__spool_rewind(struct ttlog__spool *s, uint64_t after);
/* @return 1 with *rec, 0 at the end (more may be appended later; next()
 *         then returns them), -1 on an I/O error with err. Corrupt
 *         records are skipped and counted, never returned. */
int ttlog__spool_next(struct ttlog__spool *s, struct ttlog__spool_rec *rec,
		      char *err, size_t errlen);

/* fdatasync of the current segment (policy INTERVAL); 0 or -1. */
int ttlog__spool_sync(struct ttlog__spool *s);

void ttlog__spool_get_stats(const struct ttlog__spool *s,
			    struct ttlog__spool_stats *out);

/*
 * Applies max_bytes, segment_bytes, fsync and overflow of o to an open
 * spool (o->dir is not read: the directory stays). What was appended is
 * first synced under the old fsync policy; a smaller cap applies at the
 * next append. Checked as ttlog__spool_open() checks them.
 * @return 0, or -1 with err and nothing changed.
 */
int ttlog__spool_set_opts(struct ttlog__spool *s,
			  const struct ttlog__spool_opts *o, char *err,
			  size_t errlen);

/* The device and inode of the open directory: what tells two spellings
 * of one directory apart from two directories. 0, or -1 (errno). */
int ttlog__spool_dir_key(const struct ttlog__spool *s, uint64_t *dev,
			 uint64_t *ino);
/* The directory as given to ttlog__spool_open(); valid until close. */
const char *ttlog__spool_dir(const struct ttlog__spool *s);

/*
 * For the fuzz target and tests: scans a segment image in memory as the
 * reader would, calling fn for each good record (in order) and counting
 * the skipped ones. Returns the number of good records. The counters are
 * set, not added to; either may be NULL.
 */
size_t ttlog__spool_scan(const unsigned char *data, size_t len,
			 void (*fn)(void *arg,
				    const struct ttlog__spool_rec *rec),
			 void *arg, uint64_t *corrupt_records,
			 uint64_t *corrupt_bytes);

#endif /* TTLOG_SPOOL_H */
