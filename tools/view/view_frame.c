/*
 * view_frame.c - following the parts of an LZ4 frame as its bytes are
 * fed to the decoder (see view_frame.h).
 */
#include <string.h>

#include "byteorder.h"
#include "view_frame.h"

#define MAGIC 0x184D2204u
#define MAGIC_SKIPPABLE 0x184D2A50u /* low 4 bits free */
#define MIN_HEADER 7		    /* magic, FLG, BD, header checksum */
#define FLG_BLOCK_CHECKSUM 0x10u
#define FLG_CONTENT_SIZE 0x08u
#define FLG_CONTENT_CHECKSUM 0x04u
#define FLG_DICT_ID 0x01u

void view_frame_begin(struct view_frame *f, uint64_t off)
{
	memset(f, 0, sizeof(*f));
	f->kind = VIEW_FRAME_HEADER;
	f->off = off;
}

size_t view_frame_want(const struct view_frame *f)
{
	uint64_t len = f->len;

	if (len == 0)
		len = f->kind == VIEW_FRAME_HEADER ? MIN_HEADER : 4;
	return (size_t)(len - f->done);
}

/* The length of the part, once its first bytes tell it. */
static void learn_length(struct view_frame *f)
{
	if (f->kind == VIEW_FRAME_HEADER && f->len == 0 && f->done >= 5) {
		uint32_t magic = ttlog__get_le32(f->b);
		f->flg = f->b[4];
		if ((magic & 0xFFFFFFF0u) == MAGIC_SKIPPABLE)
			f->len = 8; /* magic, then the size of its data */
		else if (magic == MAGIC)
			f->len = MIN_HEADER +
				 (f->flg & FLG_CONTENT_SIZE ? 8 : 0) +
				 (f->flg & FLG_DICT_ID ? 4 : 0);
		else
			f->len = MIN_HEADER; /* liblz4 refuses it there */
	} else if (f->kind == VIEW_FRAME_BLOCK && f->len == 0 && f->done >= 4) {
		uint32_t size = ttlog__get_le32(f->b);
		/* The high bit marks a block stored as it is. */
		f->len = size == 0 ? 4
				   : 4 + (size & 0x7FFFFFFFu) +
					     (f->flg & FLG_BLOCK_CHECKSUM ? 4
									  : 0);
	}
}

void view_frame_fed(struct view_frame *f, const unsigned char *b, size_t n)
{
	uint64_t next;

	for (size_t i = 0; i < n && f->done + i < sizeof(f->b); i++)
		f->b[f->done + i] = b[i];
	f->done += n;
	learn_length(f);
	if (f->len == 0 || f->done < f->len)
		return;
	/* Complete: the next part starts right after it. */
	next = f->off + f->len;
	if (f->kind == VIEW_FRAME_HEADER &&
	    (ttlog__get_le32(f->b) & 0xFFFFFFF0u) == MAGIC_SKIPPABLE) {
		f->kind = VIEW_FRAME_SKIP;
		f->len = ttlog__get_le32(f->b + 4);
	} else if (f->kind == VIEW_FRAME_HEADER ||
		   (f->kind == VIEW_FRAME_BLOCK &&
		    ttlog__get_le32(f->b) != 0)) {
		f->kind = VIEW_FRAME_BLOCK;
		f->len = 0;
	} else if (f->kind == VIEW_FRAME_BLOCK &&
		   (f->flg & FLG_CONTENT_CHECKSUM)) {
		f->kind = VIEW_FRAME_CHECKSUM;
		f->len = 4;
	} else {
		/* The decoder says the frame is done; should it ask for
		 * more anyway, it gets a byte at a time. */
		f->kind = VIEW_FRAME_END;
		f->len = 1;
	}
	f->off = next;
	f->done = 0;
}

const char *view_frame_part_name(const struct view_frame *f)
{
	switch (f->kind) {
	case VIEW_FRAME_HEADER:
		return "in its header";
	case VIEW_FRAME_SKIP:
		return "in a skippable frame";
	case VIEW_FRAME_BLOCK:
		return "in the block that starts there";
	case VIEW_FRAME_CHECKSUM:
		return "in its content checksum";
	default:
		return "after its end";
	}
}
