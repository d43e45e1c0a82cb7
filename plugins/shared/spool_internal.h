/*
 * spool_internal.h - what the pieces of the disk spool share (the API is
 * spool.h, the format docs/spool.md):
 *   spool_record.c   a record on disk: CRC-32C, encoding the header, the
 *                    one record parser and the buffered cursor over it
 *   spool_segment.c  the segment files and their index: naming, listing
 *                    and scanning at open, starting, sealing, deleting,
 *                    and the size cap
 *   spool_reader.c   reading records in seq order for the sender
 *   spool.c          open/close (lock, id, acked), append, ack, sync and
 *                    the statistics
 *   spool_stats.c    the loss accounting: the `stats` file, records held
 *                    in the caller's memory, reporting each loss
 * Everything that reads records goes through one cursor and one parser, so
 * that all of them agree on what is a record and what is skipped.
 */
#ifndef TTLOG_SPOOL_INTERNAL_H
#define TTLOG_SPOOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crc32c.h"
#include "spool.h"

/* The record: u32 magic | u32 body length | u32 CRC-32C of the body |
 * body = u64 seq | u32 flags | u32 count | payload (little-endian). */
#define TTLOG__SPOOL_REC_HDR 12	 /* magic, body length, CRC of the body */
#define TTLOG__SPOOL_BODY_HDR 16 /* seq, flags, count */
#define TTLOG__SPOOL_REC_MIN (TTLOG__SPOOL_REC_HDR + TTLOG__SPOOL_BODY_HDR)
#define TTLOG__SPOOL_MAX_BODY (256u << 20)

/* A segment's name: the seq of its first record in 20 digits, ".seg". */
#define TTLOG__SPOOL_NAME_DIGITS 20
#define TTLOG__SPOOL_NAME_LEN (TTLOG__SPOOL_NAME_DIGITS + 4)

#define TTLOG__SPOOL_ID_LEN 16
#define TTLOG__SPOOL_FILE_CHUNK (256u << 10) /* smallest read from a segment */

/* Why bytes were skipped (bits of ttlog__spool_damage.reasons). */
enum {
	TTLOG__SPOOL_BAD_HEADER = 1, /* no magic, or an impossible length */
	TTLOG__SPOOL_BAD_CRC = 2,    /* a whole record failing its CRC */
	TTLOG__SPOOL_CUT_SHORT = 4,  /* a record running past the end */
	TTLOG__SPOOL_BAD_ORDER = 8,  /* an intact record with a stale seq */
};

/*
 * What a reader skipped: one damaged run is the bytes between two good
 * records (or a good record and an end). Its records are the seqs missing
 * between the good record before it and the one after it (or the next
 * segment's first seq) when that bound is known, else the record headers
 * found in it, and at least 1. Events come from those headers (their
 * count field, when the seq in it is the one expected there); records
 * whose header could not be read are in `unknown`, for an estimate.
 */
struct ttlog__spool_damage {
	uint64_t records, bytes, events, unknown;
	uint64_t offset;	 /* of the first damaged byte counted */
	uint64_t seq_lo, seq_hi; /* the seqs lost (0, 0: none known) */
	unsigned reasons;	 /* TTLOG__SPOOL_BAD_* */
};

/* Reads records from a file (fd >= 0) or a memory image, through one
 * buffer that grows to the largest record met. */
struct ttlog__spool_cursor {
	int fd;
	const unsigned char *mem;
	uint64_t size; /* end of the data, as far as known */
	uint64_t off;  /* data offset of buf[0] */
	unsigned char *buf;
	size_t cap, len, pos;
	size_t chunk;
	uint64_t prev;	   /* last good seq passed */
	uint64_t good_end; /* offset just past the last good record */
	int in_garbage;	   /* the last thing passed was a skip */
	/* The seq of the next segment's first record: a bound on what a
	 * damaged tail lost (0: not known). Set after cursor_start(). */
	uint64_t upper;
	/* The damaged run being passed (in_garbage). */
	struct ttlog__spool_damage run;
	int run_counts; /* it lies past the mark: it is counted */
};

/* Where skipped runs are counted (d); mark (may be NULL) is the offset
 * below which they have been counted already. */
struct ttlog__spool_counters {
	struct ttlog__spool_damage *d;
	uint64_t *mark;
};

struct ttlog__spool_seg {
	uint64_t first;	  /* seq in the name: no record in it is lower */
	uint64_t last;	  /* highest good seq; first - 1 when none */
	uint64_t records; /* good records */
	uint64_t events;  /* sum of their counts */
	uint64_t bytes;	  /* file size */
	uint64_t counted; /* corruption below this offset is counted */
	uint64_t lo;	  /* lowest good seq; 0 when none */
	uint64_t gen;	  /* tells apart two files of the same name */
};

/* Records the cap deleted while the caller held them in memory. */
struct ttlog__spool_held {
	uint64_t lo, hi; /* seqs */
	uint64_t records, events;
};

/* From the `stats` file at open: how far a segment's damage was counted
 * by an earlier run. */
struct ttlog__spool_mark {
	uint64_t first, counted;
};

struct ttlog__spool_reader {
	struct ttlog__spool_cursor c;
	int open;     /* c.fd reads segment `cur` */
	uint64_t cur; /* its first seq and generation */
	uint64_t cur_gen;
	uint64_t want;	/* closed: go on with the first segment >= want */
	uint64_t floor; /* return only records above this */
};

struct ttlog__spool {
	struct ttlog__spool_opts o;
	char *dir;
	int dirfd, lockfd, ackfd;
	uint8_t id[TTLOG__SPOOL_ID_LEN];
	uint64_t acked, last_seq, bytes;
	uint64_t gen; /* of the last segment added to the index */
	struct ttlog__spool_seg *segs; /* by first, oldest first */
	size_t nsegs, segcap;
	int wfd;       /* the newest segment open for appending, or -1 */
	int can_reuse; /* the newest segment may be opened for appending */
	int wdirty;    /* written since its last fdatasync */
	int ack_dirty; /* `acked` rewritten since its last fdatasync */
	struct ttlog__spool_reader rd;
	struct ttlog__spool_stats st;
	/* loss accounting (spool_stats.c) */
	ttlog__spool_loss_fn on_loss;
	void *loss_arg;
	struct ttlog__spool_held *held; /* oldest first */
	size_t nheld, heldcap;
	uint64_t held_hi; /* the caller holds (acked, held_hi] */
	uint64_t gone_hi; /* the highest seq whose loss is accounted */
	struct ttlog__spool_mark *marks; /* at open only */
	size_t nmarks;
	int acked_ok; /* `acked` was read intact at open */
};

/* spool_record.c */

/* Writes the TTLOG__SPOOL_REC_MIN bytes that precede the payload in h:
 * magic, body length, the CRC of body header and payload, seq, flags,
 * count. payload is only read. */
void ttlog__spool_rec_encode(unsigned char *h, uint64_t seq, uint32_t flags,
			     uint32_t count, const void *payload, size_t len);
/* Starts c (its chunk and buffer kept) on fd or, with fd < 0, on the
 * memory image mem; first is the lowest seq a good record may have. */
void ttlog__spool_cursor_start(struct ttlog__spool_cursor *c, int fd,
			       const unsigned char *mem, uint64_t size,
			       uint64_t first);
/* The next good record: 1 (rec valid until the next call), 0 at the end
 * of the data, -1 on a read error (errno). k (may be NULL) counts what is
 * skipped. */
int ttlog__spool_cursor_next(struct ttlog__spool_cursor *c,
			     struct ttlog__spool_rec *rec,
			     const struct ttlog__spool_counters *k);

/* spool_segment.c */

/* buf holds TTLOG__SPOOL_NAME_LEN + 1 bytes. */
void ttlog__spool_seg_name(char *buf, uint64_t first);
/* openat() of segment first in the spool directory; fd or -1 (errno). */
int ttlog__spool_seg_open(const struct ttlog__spool *s, uint64_t first,
			  int flags);
/* The index of segment (first, gen), or nsegs. */
size_t ttlog__spool_seg_find(const struct ttlog__spool *s, uint64_t first,
			     uint64_t gen);
int ttlog__spool_seg_delete(struct ttlog__spool *s, size_t i);
/* Lists and scans the segments at open; sets last_seq. 0 or -1 with err. */
int ttlog__spool_load_segments(struct ttlog__spool *s, char *err,
			       size_t errlen);
/* Ends appends to the newest segment (fdatasync per policy, close). */
int ttlog__spool_seal(struct ttlog__spool *s, char *err, size_t errlen);
/* Makes wfd the segment the record for seq goes to. 0 or -1 with err. */
int ttlog__spool_seg_prepare(struct ttlog__spool *s, uint64_t seq, char *err,
			     size_t errlen);
/* The size cap: deletes the oldest segment; its unacknowledged records
 * are lost (counted and reported) or, if the caller holds them, held. */
void ttlog__spool_drop_oldest(struct ttlog__spool *s);

/* spool_stats.c */

/* Reads `stats` (totals, held records, damage marks) at open; a missing
 * file is a new spool, a damaged one is reported and starts at 0. */
void ttlog__spool_stats_load(struct ttlog__spool *s);
/* Replaces `stats` with the current totals (write, sync per policy,
 * rename); a failure is counted in write_errors. */
void ttlog__spool_stats_save(struct ttlog__spool *s);
/* After the segments are scanned at open: held records of the previous
 * run are lost, and so is an unexplained gap below the oldest segment. */
void ttlog__spool_stats_settle(struct ttlog__spool *s);
/* The damage mark of segment first kept by an earlier run, or 0. */
uint64_t ttlog__spool_stats_mark(const struct ttlog__spool *s, uint64_t first);
/* Adds a damaged segment's runs (d) to the totals and reports them; its
 * unknown events are estimated at avg per record. Saves nothing. */
void ttlog__spool_stats_damage(struct ttlog__spool *s, uint64_t first,
			       const struct ttlog__spool_damage *d, double avg);
/* Records [lo, hi] of segment first, deleted by the cap: lost (counted,
 * reported) when nothing holds them, else held. */
void ttlog__spool_stats_dropped(struct ttlog__spool *s, uint64_t first,
				uint64_t records, uint64_t events, uint64_t lo,
				uint64_t hi, int held);
/* Forgets held records at or below acked; saves when that changed. */
void ttlog__spool_stats_acked(struct ttlog__spool *s);
/* The held records and events above acked now. */
void ttlog__spool_stats_held(const struct ttlog__spool *s, uint64_t *records,
			     uint64_t *events);

#endif /* TTLOG_SPOOL_INTERNAL_H */
