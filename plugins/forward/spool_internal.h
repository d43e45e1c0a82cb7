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
 * Everything that reads records goes through one cursor and one parser, so
 * that all of them agree on what is a record and what is skipped.
 */
#ifndef TTLOG_SPOOL_INTERNAL_H
#define TTLOG_SPOOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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
};

/* Where skipped bytes are counted; mark (may be NULL) is the offset
 * below which they have been counted already. */
struct ttlog__spool_counters {
	uint64_t *records, *bytes, *mark;
};

struct ttlog__spool_seg {
	uint64_t first;	  /* seq in the name: no record in it is lower */
	uint64_t last;	  /* highest good seq; first - 1 when none */
	uint64_t records; /* good records */
	uint64_t events;  /* sum of their counts */
	uint64_t bytes;	  /* file size */
	uint64_t counted; /* corruption below this offset is counted */
	uint64_t gen;	  /* tells apart two files of the same name */
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
};

/* spool_record.c */

/* Fills the CRC tables once per process; before any ttlog__spool_crc32c(). */
void ttlog__spool_crc_init(void);
/* Continues crc (0 to start) over n bytes. */
uint32_t ttlog__spool_crc32c(uint32_t crc, const unsigned char *p, size_t n);
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
/* The size cap: deletes the oldest segment, counting its unacknowledged
 * records and events as dropped. */
void ttlog__spool_drop_oldest(struct ttlog__spool *s);

#endif /* TTLOG_SPOOL_INTERNAL_H */
