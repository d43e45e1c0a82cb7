/*
 * lz4w_internal.h - a streaming writer of LZ4 frames that never allocates
 * once set up, for the snapshot writer, which must also run inside a crash
 * handler (docs/snapshot-format.md).
 *
 * liblz4's frame API may allocate on its first use of a context and its
 * behaviour there is an implementation detail; the block API with a state
 * the caller provides (LZ4_compress_fast_extState) is pure computation. So
 * the frame around the blocks, and its XXH32 checksums, are written here:
 * independent blocks of at most 64 KiB each with its checksum, a content
 * checksum, no content size (the length is not known until the end).
 */
#ifndef TTLOG_LZ4W_INTERNAL_H
#define TTLOG_LZ4W_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define TTLOG__LZ4W_BLOCK (64u * 1024u)

/* XXH32 (seed 0), fed in pieces. */
struct ttlog__xxh32 {
	uint32_t v[4];
	uint64_t total;
	unsigned char buf[16];
	size_t buf_len;
};

void ttlog__xxh32_init(struct ttlog__xxh32 *h);
void ttlog__xxh32_update(struct ttlog__xxh32 *h, const void *p, size_t n);
uint32_t ttlog__xxh32_digest(const struct ttlog__xxh32 *h);

struct ttlog__lz4w {
	unsigned char *in; /* the block being filled */
	size_t in_len;
	unsigned char *out; /* a compressed block and its size */
	size_t out_cap;
	void *state; /* LZ4_sizeofState() bytes */
	struct ttlog__xxh32 sum;
	int fd;
	int err;	/* errno of the first failed write; 0 */
	uint64_t bytes; /* written to fd */
};

/* Allocates the buffers (about 200 KiB). 0 or -1 (out of memory). */
int ttlog__lz4w_init(struct ttlog__lz4w *w);
void ttlog__lz4w_free(struct ttlog__lz4w *w);

/* The functions below are async-signal-safe: they call only write(). */

/* Starts a frame on fd (writes its header). */
void ttlog__lz4w_begin(struct ttlog__lz4w *w, int fd);
/* Appends content; blocks are compressed and written as they fill. */
void ttlog__lz4w_put(struct ttlog__lz4w *w, const void *p, size_t n);
/* Writes the last block, the end mark and the checksum. Returns 0 or the
 * errno of the first write that failed. */
int ttlog__lz4w_end(struct ttlog__lz4w *w);

#endif /* TTLOG_LZ4W_INTERNAL_H */
