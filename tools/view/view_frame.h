/*
 * view_frame.h - where the parts of an LZ4 frame begin and end
 * (lz4_Frame_format.md): the header, each block (from its size field),
 * the end mark, the content checksum.
 *
 * The reader feeds LZ4F_decompress() one part at a time, never more than
 * view_frame_want() bytes, so that a failure is pinned to the start of the
 * part that holds it, whatever sizes the reads of the file happened to
 * have. The walker only looks at the bytes it is told were fed; it
 * checks nothing (liblz4 does), it only counts.
 */
#ifndef TTLOG_VIEW_FRAME_H
#define TTLOG_VIEW_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum view_frame_kind {
	VIEW_FRAME_HEADER,   /* magic, FLG, BD, [content size], [dict id],
			      * header checksum */
	VIEW_FRAME_SKIP,     /* the data of a skippable frame */
	VIEW_FRAME_BLOCK,    /* size field, data, [block checksum]; a size
			      * of 0 is the end mark */
	VIEW_FRAME_CHECKSUM, /* the content checksum */
	VIEW_FRAME_END,	     /* after the last part */
};

/* The part being fed; caller-owned, set up by view_frame_begin(). */
struct view_frame {
	enum view_frame_kind kind;
	uint64_t off;	    /* its first byte, as a file offset */
	uint64_t len;	    /* its length; 0 while not known yet */
	uint64_t done;	    /* bytes of it fed so far */
	unsigned char b[8]; /* its first bytes: the header, a size field */
	unsigned flg;	    /* the frame's FLG byte */
};

/* Starts a frame whose first byte is at file offset off. */
void view_frame_begin(struct view_frame *f, uint64_t off);

/* How many bytes to feed next: never past the end of the current part,
 * and only up to the bytes that give its length (the first 7 of a
 * header, the 4 of a size field) until those are in. Always >= 1. */
size_t view_frame_want(const struct view_frame *f);

/* Notes that the n bytes at b (n <= view_frame_want()) were fed, and
 * moves to the next part when the current one is complete. */
void view_frame_fed(struct view_frame *f, const unsigned char *b, size_t n);

/* The current part, for a message: "in its header", ... */
const char *view_frame_part_name(const struct view_frame *f);

#endif /* TTLOG_VIEW_FRAME_H */
