/*
 * view_read.c - reading snapshots and binary logs as a stream of events.
 *
 * Three layers, each pulling from the one below:
 *
 *   input    read(2) into a small buffer; the file offset of every byte
 *            is known, so errors can name it.
 *   LZ4      LZ4F_decompress() fed one part of the frame at a time (the
 *            header, one block, the end mark, the content checksum; a
 *            small walker over the frame format finds where each part
 *            ends), so that a failure is pinned to the start of its part
 *            and not to wherever a read happened to end. Decompressed
 *            content goes to a buffer from which whole CBOR items are
 *            taken.
 *   items    a snapshot is one frame holding a CBOR sequence (header,
 *            events, trailer), parsed item by item as each becomes
 *            complete; a binary log is one batch per frame, decoded by
 *            the same decoder the agent uses for the native protocol
 *            (wire_payload.c) once its frame is complete and verified.
 *
 * Which of the two a file is, is decided by its first CBOR item
 * (view_snap_detect()), never by its name.
 *
 * A failure in the LZ4 layer (the file ends, a block is corrupt) is held
 * back until every complete item decoded before it has been delivered,
 * so that what is printed of a damaged file does not depend on how its
 * bytes happened to arrive.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4frame.h>

#include "cbor_read.h"
#include "view_frame.h"
#include "view_read.h"
#include "wire.h"
#include "wire_payload.h"

#define CHUNK_DEFAULT 65536
/* Room offered to the decoder on each call: one 64 KiB block decodes
 * straight into the buffer. */
#define OUT_ROOM 65536

static const unsigned char lz4_magic[4] = {0x04, 0x22, 0x4D, 0x18};

/* Where the decompressed content from content offset `content` on came
 * from: the block of the frame starting at file offset `file`. */
struct blk {
	uint64_t content, file;
};

struct rd {
	const struct view_read_opts *o;
	struct view_result *res;
	struct view_file file;
	size_t max_item;

	/* Input: a file descriptor, or memory when fd < 0. */
	int fd;
	const unsigned char *mem;
	size_t mem_len, mem_pos, chunk;
	unsigned char *in;
	size_t in_pos, in_len, in_cap;
	uint64_t in_off; /* file offset of in[0] */
	int eof;

	/* LZ4. */
	LZ4F_dctx *z;
	struct view_frame part; /* the part being fed to the decoder */
	uint64_t frame_off;	/* where the current frame starts */
	int frame_done;
	/* A failure below the items, not reported yet; cut: it is the end
	 * of the file. */
	int pend, pend_cut, pend_reported;
	char pend_msg[VIEW_ERR_LEN];

	/* Content of the current frame; buf[pos..len) is not consumed yet
	 * and starts at content offset base + pos. */
	unsigned char *buf;
	size_t pos, len, cap;
	uint64_t base;
	struct blk *blk;
	size_t nblk, blk_cap;
	size_t tried; /* bytes there were at the last incomplete item */

	struct view_snap_header hdr;
	struct view_buf scratch;
	struct ttlog__wire_scratch ws;
};

static void set_err(struct view_result *res, int status, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));

static void set_err(struct view_result *res, int status, const char *fmt,
		    va_list ap)
{
	if (res->status != VIEW_OK)
		return; /* the first failure is the one to report */
	res->status = status;
	vsnprintf(res->err, sizeof(res->err), fmt, ap);
}

static int fail(struct rd *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports a failure now. Returns -1. */
static int fail(struct rd *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err(r->res, status, fmt, ap);
	va_end(ap);
	return -1;
}

static int pend(struct rd *r, int status, int cut, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Holds a failure of the input or LZ4 layer back (see the top). */
static int pend(struct rd *r, int status, int cut, const char *fmt, ...)
{
	va_list ap;

	if (r->pend)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->pend_msg, sizeof(r->pend_msg), fmt, ap);
	va_end(ap);
	r->pend = status;
	r->pend_cut = cut;
	return -1;
}

static int report_pend(struct rd *r)
{
	r->pend_reported = 1;
	return fail(r, r->pend, "%s", r->pend_msg);
}

/* ------------------------------------------------------------------ */
/* Input                                                                */
/* ------------------------------------------------------------------ */

/* Reads more input after what is buffered. Returns 1, 0 at the end of
 * the file, or -1 (held back). */
static int src_read(struct rd *r)
{
	size_t want;
	ssize_t n;

	if (r->in_pos > 0) {
		memmove(r->in, r->in + r->in_pos, r->in_len - r->in_pos);
		r->in_off += r->in_pos;
		r->in_len -= r->in_pos;
		r->in_pos = 0;
	}
	if (r->eof)
		return 0;
	want = r->in_cap - r->in_len;
	if (want > r->chunk)
		want = r->chunk;
	if (r->o->cb.wait != NULL)
		r->o->cb.wait(r->o->arg);
	if (r->fd >= 0) {
		do
			n = read(r->fd, r->in + r->in_len, want);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return pend(r, VIEW_UNREADABLE, 0,
				    "byte %" PRIu64 ": read error: %s",
				    r->in_off + r->in_len, strerror(errno));
	} else {
		n = (ssize_t)(r->mem_len - r->mem_pos < want
				      ? r->mem_len - r->mem_pos
				      : want);
		if (n > 0)
			memcpy(r->in + r->in_len, r->mem + r->mem_pos,
			       (size_t)n);
		r->mem_pos += (size_t)n;
	}
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->in_len += (size_t)n;
	return 1;
}

/* ------------------------------------------------------------------ */
/* LZ4                                                                  */
/* ------------------------------------------------------------------ */

/* The file offset of the piece of the frame that gave content offset
 * coff (the start of the frame when no record is left). */
static uint64_t file_at(const struct rd *r, uint64_t coff)
{
	for (size_t i = r->nblk; i > 0; i--)
		if (r->blk[i - 1].content <= coff)
			return r->blk[i - 1].file;
	return r->frame_off;
}

static int note_blk(struct rd *r, uint64_t content)
{
	if (r->nblk > 0 && r->blk[r->nblk - 1].file == r->part.off)
		return 0; /* the same block, still being decoded */
	if (r->nblk == r->blk_cap) {
		size_t cap = r->blk_cap ? r->blk_cap * 2 : 16;
		struct blk *b = realloc(r->blk, cap * sizeof(*b));
		if (b == NULL)
			return -1;
		r->blk = b;
		r->blk_cap = cap;
	}
	r->blk[r->nblk].content = content;
	r->blk[r->nblk].file = r->part.off;
	r->nblk++;
	return 0;
}

/* Makes OUT_ROOM bytes of room after buf[len), dropping what was
 * consumed, then growing the buffer. */
static int room(struct rd *r)
{
	size_t keep = 0, cap;
	unsigned char *b;

	if (r->cap - r->len >= OUT_ROOM)
		return 0;
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
		/* Records of content that is gone, except the one the
		 * remaining content starts in. */
		while (keep + 1 < r->nblk &&
		       r->blk[keep + 1].content <= r->base)
			keep++;
		memmove(r->blk, r->blk + keep,
			(r->nblk - keep) * sizeof(*r->blk));
		r->nblk -= keep;
		if (r->cap - r->len >= OUT_ROOM)
			return 0;
	}
	if (r->len > r->max_item)
		return pend(r, VIEW_DAMAGED, 0,
			    "byte %" PRIu64 ": corrupt: over %zu bytes of "
			    "content in one item (a batch or an event); not "
			    "a file ttlog writes",
			    r->part.off, r->max_item);
	cap = r->cap * 2 > r->len + OUT_ROOM ? r->cap * 2 : r->len + OUT_ROOM;
	b = realloc(r->buf, cap);
	if (b == NULL)
		return pend(r, VIEW_UNREADABLE, 0,
			    "byte %" PRIu64 ": out of memory", r->part.off);
	r->buf = b;
	r->cap = cap;
	return 0;
}

/*
 * Decompresses more of the current frame into the buffer. Returns 0 when
 * content was added or the frame ended (frame_done), -1 on a failure
 * (held back).
 */
static int lz_more(struct rd *r)
{
	for (;;) {
		size_t feed, sn, dn, rc;
		const unsigned char *src;

		if (r->pend)
			return -1;
		if (r->in_pos == r->in_len) {
			int k = src_read(r);
			if (k < 0)
				return -1;
			if (k == 0)
				return pend(r, VIEW_DAMAGED, 1,
					    "byte %" PRIu64
					    ": truncated: the file ends inside "
					    "the LZ4 frame that starts at byte "
					    "%" PRIu64,
					    r->in_off + r->in_len,
					    r->frame_off);
		}
		if (room(r) != 0)
			return -1;
		feed = r->in_len - r->in_pos;
		if (feed > view_frame_want(&r->part))
			feed = view_frame_want(&r->part);
		sn = feed;
		dn = r->cap - r->len;
		src = r->in + r->in_pos;
		rc = LZ4F_decompress(r->z, r->buf + r->len, &dn, src, &sn,
				     NULL);
		if (LZ4F_isError(rc)) {
			LZ4F_resetDecompressionContext(r->z);
			return pend(
				r, VIEW_DAMAGED, 0,
				"byte %" PRIu64 ": corrupt LZ4 frame: %s "
				"(%s; the frame starts at byte %" PRIu64 ")",
				r->part.off, LZ4F_getErrorName(rc),
				view_frame_part_name(&r->part), r->frame_off);
		}
		if (dn > 0) {
			if (note_blk(r, r->base + r->len) != 0)
				return pend(r, VIEW_UNREADABLE, 0,
					    "byte %" PRIu64 ": out of memory",
					    r->part.off);
			r->len += dn;
		}
		r->in_pos += sn;
		view_frame_fed(&r->part, src, sn);
		if (rc == 0) {
			r->frame_done = 1;
			return 0;
		}
		if (dn > 0)
			return 0;
		if (sn == 0)
			return pend(r, VIEW_DAMAGED, 0,
				    "byte %" PRIu64 ": the LZ4 decoder makes "
				    "no progress",
				    r->part.off);
	}
}

/*
 * Starts the next frame at the current input position. Returns 1, 0 at
 * the end of the file, -1 on a failure (reported). The first frame of a
 * file must start with the LZ4 magic number, or the file is not one
 * ttlog-view reads at all.
 */
static int frame_begin(struct rd *r, int first)
{
	int k = 1;

	if (r->in_pos == r->in_len && (k = src_read(r)) <= 0)
		return k < 0 ? report_pend(r) : 0;
	while (first && r->in_len - r->in_pos < sizeof(lz4_magic) &&
	       (k = src_read(r)) > 0)
		;
	if (k < 0)
		return report_pend(r);
	if (first) {
		size_t n = r->in_len - r->in_pos;
		if (n > sizeof(lz4_magic))
			n = sizeof(lz4_magic);
		if (memcmp(r->in + r->in_pos, lz4_magic, n) != 0)
			return fail(r, VIEW_UNREADABLE,
				    "byte 0: not a ttlog snapshot or binary "
				    "log: it does not start with an LZ4 frame");
	}
	r->frame_off = r->in_off + r->in_pos;
	view_frame_begin(&r->part, r->frame_off);
	r->frame_done = 0;
	r->pos = r->len = 0;
	r->base = 0;
	r->nblk = 0;
	r->tried = 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Items                                                                */
/* ------------------------------------------------------------------ */

static int content_fail(struct rd *r, uint64_t coff, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports damage found at content offset coff of the current frame. */
static int content_fail(struct rd *r, uint64_t coff, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fail(r, VIEW_DAMAGED,
		    "byte %" PRIu64 ": corrupt: %s (decompressed content "
		    "offset %" PRIu64 ")",
		    file_at(r, coff), what, coff);
}

/* Whether the CBOR reader failed for want of bytes (more may come). */
static int shortage(const char *why)
{
	return strcmp(why, "unexpected end of data") == 0 ||
	       strcmp(why, "truncated item head") == 0 ||
	       strcmp(why, "string runs past the end") == 0 ||
	       strcmp(why, "more items than bytes left") == 0;
}

/*
 * Makes buf[pos..pos + *n) one whole CBOR item of the current frame.
 * Returns 1; 0 at the end of the frame's content; -1 on a failure
 * (reported). An incomplete item is tried again only once the content
 * has doubled, so a large item (a whole batch) is scanned a bounded
 * number of times, not once per block.
 */
static int next_item(struct rd *r, size_t *n)
{
	for (;;) {
		size_t avail = r->len - r->pos;
		int final = r->frame_done || r->pend;

		if (avail == 0 && final)
			return r->pend ? report_pend(r) : 0;
		if (avail > 0 && (final || avail >= 2 * r->tried)) {
			struct ttlog__cbor c;

			ttlog__cbor_init(&c, r->buf + r->pos, avail);
			if (ttlog__cbor_skip(&c) == 0) {
				*n = (size_t)(c.p - c.start);
				r->tried = 0;
				return 1;
			}
			if (!shortage(c.why))
				return content_fail(r, r->base + r->pos + c.at,
						    "%s", c.why);
			if (r->pend)
				return report_pend(r);
			if (r->frame_done)
				return content_fail(
					r, r->base + r->pos + c.at,
					"the frame's content ends inside a "
					"CBOR item (%s)",
					c.why);
			r->tried = avail;
		}
		lz_more(r); /* a failure is held back: see final */
	}
}

/* Hands one event to the caller. */
static int deliver(struct rd *r, const struct ttlog__in_event *ev)
{
	r->file.events = r->res->events;
	if (r->o->cb.event(r->o->arg, &r->file, ev) != 0) {
		r->res->status = VIEW_STOPPED;
		snprintf(r->res->err, sizeof(r->res->err), "stopped");
		return -1;
	}
	r->res->events++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                            */
/* ------------------------------------------------------------------ */

static int snap_item(struct rd *r, size_t n, uint64_t *count, int *trailer)
{
	const unsigned char *item = r->buf + r->pos;
	uint64_t coff = r->base + r->pos, end;
	struct ttlog__in_event ev;
	struct view_snap_err e;

	if (*trailer)
		return content_fail(r, coff, "data after the trailer");
	switch (item[0] >> 5) {
	case TTLOG__CBOR_ARRAY:
		if (view_snap_event_parse(&r->hdr, item, n, &ev, &r->scratch,
					  &e) != 0)
			return content_fail(r, coff + e.at,
					    "event %" PRIu64 ": %s", *count,
					    e.msg);
		++*count;
		return deliver(r, &ev);
	case TTLOG__CBOR_MAP:
		if (view_snap_trailer_parse(item, n, &end, &e) != 0)
			return content_fail(r, coff + e.at, "%s", e.msg);
		if (end != *count)
			return content_fail(r, coff,
					    "the trailer counts %" PRIu64
					    " events, the snapshot holds "
					    "%" PRIu64,
					    end, *count);
		*trailer = 1;
		return 0;
	default:
		return content_fail(r, coff,
				    "an item that is neither an event (array) "
				    "nor the trailer (map)");
	}
}

static int read_snapshot(struct rd *r, size_t n)
{
	struct view_snap_err e;
	uint64_t count = 0;
	int trailer = 0, k;

	k = view_snap_header_parse(r->buf + r->pos, n, &r->hdr, &e);
	if (k > 0)
		return fail(r, VIEW_UNREADABLE, "byte %" PRIu64 ": %s",
			    r->frame_off, e.msg);
	if (k < 0)
		return content_fail(r, r->base + r->pos + e.at, "header: %s",
				    e.msg);
	r->file.snap = &r->hdr;
	if (r->o->cb.header != NULL &&
	    r->o->cb.header(r->o->arg, &r->file) != 0) {
		r->res->status = VIEW_STOPPED;
		snprintf(r->res->err, sizeof(r->res->err), "stopped");
		return -1;
	}
	r->pos += n;
	while ((k = next_item(r, &n)) > 0) {
		if (snap_item(r, n, &count, &trailer) != 0)
			return -1;
		r->pos += n;
	}
	if (k < 0)
		return -1;
	if (!trailer)
		return fail(r, VIEW_DAMAGED,
			    "byte %" PRIu64 ": corrupt: the snapshot ends "
			    "after %" PRIu64 " events without its trailer "
			    "(decompressed content offset %" PRIu64 ")",
			    r->in_off + r->in_pos, count, r->base + r->len);
	/* A snapshot is one frame: anything after it is not ttlog's. */
	if (r->in_pos == r->in_len && (k = src_read(r)) <= 0)
		return k < 0 ? report_pend(r) : 0;
	return fail(r, VIEW_DAMAGED,
		    "byte %" PRIu64 ": corrupt: data after the snapshot's "
		    "LZ4 frame",
		    r->in_off + r->in_pos);
}

/* ------------------------------------------------------------------ */
/* Binary logs                                                          */
/* ------------------------------------------------------------------ */

static int on_batch_event(void *arg, const struct ttlog__in_event *ev)
{
	return deliver(arg, ev) != 0 ? 1 : 0;
}

/*
 * Decodes the batch in buf[pos..len). quiet: the batch is known to be
 * cut short (a torn last frame); its complete events are delivered and
 * the decoder's complaint about the rest is not reported.
 */
static int decode_batch(struct rd *r, int quiet)
{
	struct view_snap_err e;
	const char *msg;
	char err[320];
	size_t nev;
	int rc;

	/* A batch of a later version (a newer ttlog appending to the
	 * file) is not damage: it is refused by its version. */
	if (view_snap_batch_version(r->buf + r->pos, r->len - r->pos, &e) != 0)
		return fail(r, VIEW_UNREADABLE, "byte %" PRIu64 ": %s",
			    r->frame_off, e.msg);
	rc = ttlog__wire_payload_decode(r->buf + r->pos, r->len - r->pos, 0,
					r->max_item, &r->ws, on_batch_event, r,
					&nev, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (r->res->status == VIEW_STOPPED || quiet)
		return -1;
	msg = strncmp(err, "batch: ", 7) == 0 ? err + 7 : err;
	return fail(r, VIEW_DAMAGED,
		    "byte %" PRIu64 ": corrupt batch in the LZ4 frame that "
		    "starts there: %s (offsets count in the frame's "
		    "decompressed content)",
		    r->frame_off, msg);
}

static int read_binary(struct rd *r)
{
	int k;

	for (;;) {
		while (!r->frame_done && lz_more(r) == 0)
			;
		if (!r->frame_done) {
			/* A torn frame, the last write of a run that
			 * stopped (file-format.md, "Torn records"): what
			 * decompressed of it is still worth showing. */
			if (r->pend_cut && r->len > r->pos)
				decode_batch(r, 1);
			return report_pend(r);
		}
		if (decode_batch(r, 0) != 0)
			return -1;
		k = frame_begin(r, 0);
		if (k <= 0)
			return k;
	}
}

/* ------------------------------------------------------------------ */
/* A file                                                               */
/* ------------------------------------------------------------------ */

static int run(struct rd *r)
{
	struct view_snap_err e;
	size_t n = 0;
	int k;

	k = frame_begin(r, 1);
	if (k <= 0)
		return k; /* an empty file: an empty binary log */
	k = next_item(r, &n);
	if (k < 0) {
		/* The first frame is cut before its first item ends. If it
		 * is a torn batch, its complete events are still shown (a
		 * snapshot header gives none), and the cut is reported
		 * again after them. */
		if (r->pend_reported && r->pend_cut && r->len > r->pos) {
			r->res->status = VIEW_OK;
			r->file.kind = VIEW_KIND_BINARY;
			decode_batch(r, 1);
			if (r->res->events == 0)
				r->file.kind = VIEW_KIND_UNKNOWN;
			return report_pend(r);
		}
		return -1;
	}
	if (k == 0)
		return fail(r, VIEW_DAMAGED,
			    "byte %" PRIu64 ": corrupt: an LZ4 frame with "
			    "no content",
			    r->frame_off);
	switch (view_snap_detect(r->buf + r->pos, n, &e)) {
	case VIEW_SNAP_IS_SNAPSHOT:
		r->file.kind = VIEW_KIND_SNAPSHOT;
		return read_snapshot(r, n);
	case VIEW_SNAP_IS_BATCH:
		r->file.kind = VIEW_KIND_BINARY;
		return read_binary(r);
	default:
		return fail(r, VIEW_UNREADABLE, "byte %" PRIu64 ": %s",
			    r->frame_off, e.msg);
	}
}

static int read_any(struct rd *r, const char *name,
		    const struct view_read_opts *o, struct view_result *res)
{
	memset(res, 0, sizeof(*res));
	r->o = o;
	r->res = res;
	r->file.name = name;
	r->chunk = o->chunk ? o->chunk : CHUNK_DEFAULT;
	r->max_item = o->max_item ? o->max_item : VIEW_MAX_ITEM_DEFAULT;
	/* Room for a chunk after up to 3 bytes of an incomplete magic. */
	r->in_cap = r->chunk + sizeof(lz4_magic);
	r->in = malloc(r->in_cap);
	if (r->in == NULL ||
	    LZ4F_isError(LZ4F_createDecompressionContext(&r->z, LZ4F_VERSION)))
		fail(r, VIEW_UNREADABLE, "out of memory");
	else
		run(r);
	res->kind = r->file.kind;
	free(r->in);
	free(r->buf);
	free(r->blk);
	if (r->z != NULL)
		LZ4F_freeDecompressionContext(r->z);
	view_snap_header_destroy(&r->hdr);
	view_buf_free(&r->scratch);
	ttlog__wire_scratch_free(&r->ws);
	return res->status;
}

int view_read_fd(int fd, const char *name, const struct view_read_opts *o,
		 struct view_result *res)
{
	struct rd r;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	return read_any(&r, name, o, res);
}

int view_read_mem(const void *data, size_t len, const char *name,
		  const struct view_read_opts *o, struct view_result *res)
{
	struct rd r;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.mem = data;
	r.mem_len = len;
	return read_any(&r, name, o, res);
}

int view_read_path(const char *path, const char *name,
		   const struct view_read_opts *o, struct view_result *res)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return view_read_fd(STDIN_FILENO, name, o, res);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		memset(res, 0, sizeof(*res));
		res->status = VIEW_UNREADABLE;
		snprintf(res->err, sizeof(res->err), "cannot open: %s",
			 strerror(errno));
		return res->status;
	}
	rc = view_read_fd(fd, name, o, res);
	close(fd);
	return rc;
}
