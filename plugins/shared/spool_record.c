/*
 * spool_record.c - a spool record on disk (format in docs/spool.md):
 * CRC-32C, encoding a record's header, the record parser step() and the
 * buffered cursor that every reader of records goes through (the scan at
 * open, the reader that feeds the sender, the count of a partly
 * acknowledged segment that the cap deletes, and ttlog__spool_scan() for
 * the fuzzer), so that all of them agree on what is a record and what is
 * skipped.
 *
 * Counting corruption: the cursor gathers each damaged run (the bytes
 * between two good records) and what it cost (records, their events from
 * the headers it can still read, bytes) into the caller's damage record.
 * Each segment remembers how far its corruption has been counted (and the
 * `stats` file keeps that across restarts, spool_stats.c), so that the
 * reader, which passes the same bad bytes again after every rewind, does
 * not count them a second time; the counters therefore say how much is
 * damaged, not how often it was read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "spool_internal.h"

#define SCAN_CHUNK 256 /* small, so the fuzzer crosses refills */

static const unsigned char magic[4] = {'T', 'S', 'R', '1'};

/* ------------------------------------------------------------------ */
/* CRC-32C                                                              */
/* ------------------------------------------------------------------ */

void ttlog__spool_rec_encode(unsigned char *h, uint64_t seq, uint32_t flags,
			     uint32_t count, const void *payload, size_t len)
{
	uint32_t crc;

	memcpy(h, magic, 4);
	ttlog__put_le32(h + 4, (uint32_t)(TTLOG__SPOOL_BODY_HDR + len));
	ttlog__put_le64(h + 12, seq);
	ttlog__put_le32(h + 20, flags);
	ttlog__put_le32(h + 24, count);
	crc = ttlog__crc32c(0, h + TTLOG__SPOOL_REC_HDR, TTLOG__SPOOL_BODY_HDR);
	crc = ttlog__crc32c(crc, payload, len);
	ttlog__put_le32(h + 8, crc);
}

/* ------------------------------------------------------------------ */
/* the record parser                                                    */
/* ------------------------------------------------------------------ */

enum { ST_END, ST_REC, ST_SKIP, ST_MORE };

/* The offset of the first magic in p[from, avail), 0 when there is none
 * (from is at least 1). */
static size_t find_magic(const unsigned char *p, size_t from, size_t avail)
{
	while (from + 4 <= avail) {
		const unsigned char *t =
			memchr(p + from, magic[0], avail - from);
		if (t == NULL)
			return 0;
		from = (size_t)(t - p);
		if (from + 4 <= avail && memcmp(t, magic, 4) == 0)
			return from;
		from++;
	}
	return 0;
}

static int plausible_len(uint32_t blen)
{
	return blen >= TTLOG__SPOOL_BODY_HDR && blen <= TTLOG__SPOOL_MAX_BODY;
}

/*
 * Looks at the data from p: avail bytes are at hand, remain (>= avail)
 * are left to the end of the data. prev is the last good seq before p.
 * Returns ST_END (nothing left), ST_REC (a good record of *n bytes, in
 * *rec), ST_SKIP (*n >= 1 bad bytes to pass over) or ST_MORE (decide with
 * *n bytes at hand; avail < *n <= remain). Every byte ends up in exactly
 * one record or skip, so the loop over it always finishes.
 */
static int step(const unsigned char *p, size_t avail, uint64_t remain,
		uint64_t prev, size_t *n, struct ttlog__spool_rec *rec,
		unsigned *why)
{
	uint32_t blen;
	size_t total, j;

	if (remain == 0)
		return ST_END;
	if (avail < TTLOG__SPOOL_REC_HDR) {
		if (remain >= TTLOG__SPOOL_REC_HDR) {
			*n = TTLOG__SPOOL_REC_HDR;
			return ST_MORE;
		}
		if (avail < remain) {
			*n = (size_t)remain;
			return ST_MORE;
		}
		*n = avail; /* a few bytes at the end: no room for a record */
		*why = TTLOG__SPOOL_CUT_SHORT;
		return ST_SKIP;
	}
	*why = TTLOG__SPOOL_BAD_HEADER;
	if (memcmp(p, magic, 4) != 0)
		goto bad;
	blen = ttlog__get_le32(p + 4);
	if (!plausible_len(blen))
		goto bad;
	total = TTLOG__SPOOL_REC_HDR + (size_t)blen;
	if (avail < total) {
		if (remain >= total) {
			*n = total;
			return ST_MORE;
		}
		/* Runs past the end: torn, or a damaged length. */
		*why = TTLOG__SPOOL_CUT_SHORT;
		goto bad;
	}
	if (ttlog__crc32c(0, p + TTLOG__SPOOL_REC_HDR, blen) !=
	    ttlog__get_le32(p + 8)) {
		/* The length is believed (and the whole record skipped) when
		 * it leads exactly to the end of the data or to another
		 * plausible header; otherwise it may be the damaged field,
		 * and the next magic is searched from the next byte. */
		*why = TTLOG__SPOOL_BAD_CRC;
		if (remain == total) {
			*n = total;
			return ST_SKIP;
		}
		if (remain < (uint64_t)total + 8)
			goto bad;
		if (avail < total + 8) {
			*n = total + 8;
			return ST_MORE;
		}
		if (memcmp(p + total, magic, 4) == 0 &&
		    plausible_len(ttlog__get_le32(p + total + 4))) {
			*n = total;
			return ST_SKIP;
		}
		goto bad;
	}
	rec->seq = ttlog__get_le64(p + 12);
	rec->flags = ttlog__get_le32(p + 20);
	rec->count = ttlog__get_le32(p + 24);
	rec->payload = p + TTLOG__SPOOL_REC_MIN;
	rec->len = blen - TTLOG__SPOOL_BODY_HDR;
	*n = total;
	/* Intact but out of order: its extent is known, skip it whole. */
	*why = TTLOG__SPOOL_BAD_ORDER;
	return rec->seq > prev ? ST_REC : ST_SKIP;
bad:
	j = find_magic(p, 1, avail);
	if (j > 0)
		*n = j;
	else if (avail == remain)
		*n = avail;
	else
		*n = avail - 3; /* keep what may be the start of a magic */
	return ST_SKIP;
}

/* ------------------------------------------------------------------ */
/* the buffered cursor                                                  */
/* ------------------------------------------------------------------ */

void ttlog__spool_cursor_start(struct ttlog__spool_cursor *c, int fd,
			       const unsigned char *mem, uint64_t size,
			       uint64_t first)
{
	c->fd = fd;
	c->mem = mem;
	c->size = size;
	c->off = 0;
	c->len = c->pos = 0;
	c->prev = first > 0 ? first - 1 : 0;
	c->good_end = 0;
	c->in_garbage = 0;
	c->upper = 0;
	memset(&c->run, 0, sizeof(c->run));
	c->run_counts = 0;
}

/* Makes at least need bytes available from pos; fewer only at the real
 * end of the data (then size is corrected). 0 or -1 with errno. */
static int cursor_fill(struct ttlog__spool_cursor *c, size_t need)
{
	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->off += c->pos;
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->cap < need || c->cap < c->chunk) {
		size_t nc = c->cap ? c->cap : c->chunk;
		while (nc < need || nc < c->chunk)
			nc *= 2;
		unsigned char *b = realloc(c->buf, nc);
		if (b == NULL) {
			errno = ENOMEM;
			return -1;
		}
		c->buf = b;
		c->cap = nc;
	}
	while (c->len < need) {
		uint64_t at = c->off + c->len;
		size_t room = c->cap - c->len;
		ssize_t r;
		if (c->fd >= 0) {
			r = pread(c->fd, c->buf + c->len, room, (off_t)at);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
		} else {
			uint64_t left = at < c->size ? c->size - at : 0;
			r = (ssize_t)(left < room ? left : room);
			memcpy(c->buf + c->len, c->mem + at, (size_t)r);
		}
		if (r == 0) {
			c->size = at; /* shorter than it was */
			break;
		}
		c->len += (size_t)r;
		if (c->off + c->len > c->size)
			c->size = c->off + c->len; /* grew meanwhile */
	}
	return 0;
}

/*
 * A record header at p (whatever its magic, length and CRC say) whose seq
 * is the one the run expects next: the record it starts is taken as lost
 * and its count field as its events. A false match needs exactly that
 * 64-bit seq at that place, which random bytes hardly give.
 */
static void run_header(struct ttlog__spool_cursor *c, const unsigned char *p,
		       size_t avail)
{
	uint64_t want = c->prev + 1 + c->run.records;

	if (avail < TTLOG__SPOOL_REC_MIN || ttlog__get_le64(p + 12) != want ||
	    (c->upper != 0 && want >= c->upper))
		return;
	c->run.records++;
	c->run.events += ttlog__get_le32(p + 24);
}

static void count_skip(struct ttlog__spool_cursor *c,
		       const struct ttlog__spool_counters *k, uint64_t at,
		       const unsigned char *p, size_t avail, size_t n,
		       unsigned why)
{
	if (!c->in_garbage) {
		memset(&c->run, 0, sizeof(c->run));
		c->run.offset = at;
		c->run_counts = k != NULL && k->d != NULL &&
				(k->mark == NULL || at >= *k->mark);
	}
	run_header(c, p, avail);
	c->run.bytes += n;
	c->run.reasons |= why;
	if (k != NULL && k->mark != NULL && at + n > *k->mark)
		*k->mark = at + n;
	c->in_garbage = 1;
}

/* The run ends at a good record of seq next (0: at the end of the data,
 * where c->upper bounds it if known): its lost records are known now. */
static void run_end(struct ttlog__spool_cursor *c,
		    const struct ttlog__spool_counters *k, uint64_t next)
{
	struct ttlog__spool_damage *r = &c->run, *d;
	uint64_t headers = r->records;

	c->in_garbage = 0;
	if (!c->run_counts)
		return;
	if (next == 0)
		next = c->upper;
	if (next > c->prev + 1 && next - c->prev - 1 > r->records)
		r->records = next - c->prev - 1;
	if (r->records == 0)
		r->records = 1; /* damage that held no frame of ours */
	r->unknown = r->records - headers;
	if (next > c->prev + 1 || headers > 0) {
		r->seq_lo = c->prev + 1;
		r->seq_hi = next > c->prev + 1 ? next - 1 : c->prev + headers;
	}
	d = k->d;
	if (d->records == 0 || r->offset < d->offset)
		d->offset = r->offset;
	if (r->seq_lo != 0 && (d->seq_lo == 0 || r->seq_lo < d->seq_lo))
		d->seq_lo = r->seq_lo;
	if (r->seq_hi > d->seq_hi)
		d->seq_hi = r->seq_hi;
	d->records += r->records;
	d->bytes += r->bytes;
	d->events += r->events;
	d->unknown += r->unknown;
	d->reasons |= r->reasons;
	c->run_counts = 0;
}

int ttlog__spool_cursor_next(struct ttlog__spool_cursor *c,
			     struct ttlog__spool_rec *rec,
			     const struct ttlog__spool_counters *k)
{
	for (;;) {
		uint64_t at = c->off + c->pos;
		uint64_t remain = c->size > at ? c->size - at : 0;
		size_t avail = c->len - c->pos, n = 0;
		unsigned why = 0;
		/* No buffer yet before the first read. */
		const unsigned char *p = c->buf ? c->buf + c->pos : c->buf;
		if (avail > remain)
			avail = (size_t)remain;
		switch (step(p, avail, remain, c->prev, &n, rec, &why)) {
		case ST_REC:
			if (c->in_garbage)
				run_end(c, k, rec->seq);
			c->pos += n;
			c->prev = rec->seq;
			c->good_end = at + n;
			return 1;
		case ST_SKIP:
			count_skip(c, k, at, p, avail, n, why);
			c->pos += n;
			break;
		case ST_MORE:
			if (cursor_fill(c, n) != 0)
				return -1;
			break;
		default: {
			struct stat st;
			if (c->fd >= 0) {
				/* A segment being appended to may have
				 * grown. */
				if (fstat(c->fd, &st) != 0)
					return -1;
				if ((uint64_t)st.st_size > c->size) {
					c->size = (uint64_t)st.st_size;
					break;
				}
			}
			if (c->in_garbage)
				run_end(c, k, 0);
			return 0;
		}
		}
	}
}

size_t
ttlog__spool_scan(const unsigned char *data, size_t len,
		  void (*fn)(void *arg, const struct ttlog__spool_rec *rec),
		  void *arg, uint64_t *corrupt_records, uint64_t *corrupt_bytes)
{
	struct ttlog__spool_cursor c = {.chunk = SCAN_CHUNK};
	struct ttlog__spool_rec rec;
	struct ttlog__spool_damage d = {0};
	struct ttlog__spool_counters k = {&d, NULL};
	size_t good = 0;

	ttlog__crc32c_init();
	ttlog__spool_cursor_start(&c, -1, data, data != NULL ? len : 0, 0);
	while (ttlog__spool_cursor_next(&c, &rec, &k) == 1) {
		good++;
		if (fn != NULL)
			fn(arg, &rec);
	}
	free(c.buf);
	if (corrupt_records != NULL)
		*corrupt_records = d.records;
	if (corrupt_bytes != NULL)
		*corrupt_bytes = d.bytes;
	return good;
}
