/*
 * view_snap.h - the items of a snapshot (docs/snapshot-format.md): the
 * header, an event, the trailer; and telling a snapshot from a binary log
 * by the first item of the content.
 *
 * Pure functions over one complete CBOR item in memory (the reader finds
 * its extent first), so that tests and the fuzzer can call them directly.
 * Every function reads only the n bytes it is given.
 */
#ifndef TTLOG_VIEW_SNAP_H
#define TTLOG_VIEW_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "ingest_internal.h"

/* Bytes with a length; p is NUL-terminated where a comment says so. */
struct view_str {
	const char *p;
	size_t len;
};

/* Which optional header keys were present. */
#define VIEW_SNAP_HAS_SERVICE 0x01u
#define VIEW_SNAP_HAS_HOST 0x02u
#define VIEW_SNAP_HAS_PID 0x04u
#define VIEW_SNAP_HAS_TRIGGER 0x08u
#define VIEW_SNAP_HAS_REASON 0x10u
#define VIEW_SNAP_HAS_TIME 0x20u
#define VIEW_SNAP_HAS_OMITTED 0x40u

/* The version of the snapshot format this build reads. */
#define VIEW_SNAP_VERSION 1
/* The batch versions of binary logs read (docs/cbor-batch.md). */
#define VIEW_BATCH_VERSION_MAX 3

/*
 * A parsed header. Every string is a NUL-terminated copy owned by the
 * header (an empty string when its key was missing); freed by
 * view_snap_header_destroy().
 */
struct view_snap_header {
	struct view_str service, host, trigger, reason;
	uint64_t pid, time_ns, omitted;
	unsigned has; /* VIEW_SNAP_HAS_* */
	/* The string table, in order; each entry NUL-terminated. */
	struct view_str *strings;
	size_t nstrings;
	char *arena; /* holds every string above */
};

/* Why an item was refused, and where: the offset from the item's first
 * byte. */
struct view_snap_err {
	char msg[256];
	size_t at;
};

/* What the first item of a file's content is. */
enum view_snap_kind {
	VIEW_SNAP_FOREIGN = 0, /* neither: err says why */
	VIEW_SNAP_IS_SNAPSHOT = 1,
	VIEW_SNAP_IS_BATCH = 2,
};

/*
 * Looks at the first item of a file's content (p[0..n), one whole item):
 * a map with "format" is a snapshot header, and must say
 * "ttlog-snapshot" in version 1; a map with "callsites" and "events" is
 * a batch (cbor-batch.md), of version 1 to VIEW_BATCH_VERSION_MAX.
 * Anything else is foreign, as is a snapshot or batch of another version.
 */
enum view_snap_kind view_snap_detect(const unsigned char *p, size_t n,
				     struct view_snap_err *e);

/*
 * The version ("v") of the batch p[0..n), when it is one this build does
 * not read: returns -1 with e->msg naming it. 0 otherwise, also when the
 * item is not a well-formed batch (the decoder says what is wrong).
 */
int view_snap_batch_version(const unsigned char *p, size_t n,
			    struct view_snap_err *e);

/*
 * Parses a header item. Unknown keys are skipped; "format" and "v" must
 * be present and right. A known key of the wrong type, or twice, is an
 * error. h is zeroed first.
 * @return 0; 1 when the format or version is not one this build reads;
 *         -1 when the item is malformed (or memory ran out). h holds
 *         nothing to free after a failure.
 */
int view_snap_header_parse(const unsigned char *p, size_t n,
			   struct view_snap_header *h, struct view_snap_err *e);
void view_snap_header_destroy(struct view_snap_header *h);

/* A growable buffer for the NUL-terminated copies an event needs. */
struct view_buf {
	char *p;
	size_t len, cap;
};
/* Makes room for need bytes in all (cap >= need). @return 0 or -1. */
int view_buf_reserve(struct view_buf *b, size_t need);
void view_buf_free(struct view_buf *b);

/*
 * Parses one event array into *ev, resolving string references through
 * h. ev's strings point into p, into h, or into scratch (the source file
 * as a NUL-terminated string), so they live until the next call or
 * until one of them changes. A level above FATAL is given as FATAL, as
 * the batch decoder does. @return 0 or -1 with e set.
 */
int view_snap_event_parse(const struct view_snap_header *h,
			  const unsigned char *p, size_t n,
			  struct ttlog__in_event *ev, struct view_buf *scratch,
			  struct view_snap_err *e);

/* Parses the trailer map {"end": N} (other keys are skipped) into
 * *count. @return 0 or -1 with e set. */
int view_snap_trailer_parse(const unsigned char *p, size_t n, uint64_t *count,
			    struct view_snap_err *e);

#endif /* TTLOG_VIEW_SNAP_H */
