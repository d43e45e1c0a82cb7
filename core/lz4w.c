/*
 * lz4w.c - LZ4 frames written with memory set aside in advance
 * (lz4w_internal.h). The frame format is lz4's doc/lz4_Frame_format.md;
 * XXH32 is Yann Collet's published algorithm, written here from its
 * specification.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4.h>

#include "byteorder.h"
#include "lz4w_internal.h"

/* ------------------------------------------------------------------ */
/* XXH32                                                                */
/* ------------------------------------------------------------------ */

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

static uint32_t rotl(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t round32(uint32_t acc, uint32_t in)
{
	return rotl(acc + in * P2, 13) * P1;
}

void ttlog__xxh32_init(struct ttlog__xxh32 *h)
{
	memset(h, 0, sizeof(*h));
	h->v[0] = P1 + P2;
	h->v[1] = P2;
	h->v[2] = 0;
	h->v[3] = 0u - P1;
}

static void stripe(struct ttlog__xxh32 *h, const unsigned char *p)
{
	for (int i = 0; i < 4; i++)
		h->v[i] = round32(h->v[i], ttlog__get_le32(p + 4 * i));
}

void ttlog__xxh32_update(struct ttlog__xxh32 *h, const void *data, size_t n)
{
	const unsigned char *p = data;

	h->total += n;
	if (h->buf_len > 0) {
		size_t take = 16 - h->buf_len < n ? 16 - h->buf_len : n;
		memcpy(h->buf + h->buf_len, p, take);
		h->buf_len += take;
		p += take;
		n -= take;
		if (h->buf_len < 16)
			return;
		stripe(h, h->buf);
		h->buf_len = 0;
	}
	for (; n >= 16; p += 16, n -= 16)
		stripe(h, p);
	if (n > 0)
		memcpy(h->buf, p, n);
	h->buf_len = n;
}

uint32_t ttlog__xxh32_digest(const struct ttlog__xxh32 *h)
{
	const unsigned char *p = h->buf;
	size_t n = h->buf_len;
	uint32_t r;

	if (h->total >= 16)
		r = rotl(h->v[0], 1) + rotl(h->v[1], 7) + rotl(h->v[2], 12) +
		    rotl(h->v[3], 18);
	else
		r = P5; /* seed 0 */
	r += (uint32_t)h->total;
	for (; n >= 4; p += 4, n -= 4)
		r = rotl(r + ttlog__get_le32(p) * P3, 17) * P4;
	for (; n > 0; p++, n--)
		r = rotl(r + *p * P5, 11) * P1;
	r ^= r >> 15;
	r *= P2;
	r ^= r >> 13;
	r *= P3;
	r ^= r >> 16;
	return r;
}

/* ------------------------------------------------------------------ */
/* Frames                                                               */
/* ------------------------------------------------------------------ */

int ttlog__lz4w_init(struct ttlog__lz4w *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->out_cap = (size_t)LZ4_compressBound(TTLOG__LZ4W_BLOCK);
	w->in = malloc(TTLOG__LZ4W_BLOCK);
	w->out = malloc(4 + w->out_cap);
	w->state = malloc((size_t)LZ4_sizeofState());
	if (w->in == NULL || w->out == NULL || w->state == NULL) {
		ttlog__lz4w_free(w);
		return -1;
	}
	return 0;
}

void ttlog__lz4w_free(struct ttlog__lz4w *w)
{
	free(w->in);
	free(w->out);
	free(w->state);
	w->in = w->out = NULL;
	w->state = NULL;
}

static void put_raw(struct ttlog__lz4w *w, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0 && w->err == 0) {
		ssize_t k = write(w->fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			return;
		}
		if (k == 0) {
			w->err = EIO;
			return;
		}
		c += k;
		n -= (size_t)k;
		w->bytes += (uint64_t)k;
	}
}

void ttlog__lz4w_begin(struct ttlog__lz4w *w, int fd)
{
	/* Magic; FLG: version 01, independent blocks, block checksums,
	 * content checksum; BD: 64 KiB blocks; the descriptor's checksum.
	 * Block checksums let a reader that prints as it goes check each
	 * block before it shows a byte of it, not only the whole at the
	 * end. */
	unsigned char h[7] = {0x04, 0x22, 0x4D, 0x18, 0x74, 0x40, 0};
	struct ttlog__xxh32 x;

	w->fd = fd;
	w->err = 0;
	w->bytes = 0;
	w->in_len = 0;
	ttlog__xxh32_init(&w->sum);
	ttlog__xxh32_init(&x);
	ttlog__xxh32_update(&x, h + 4, 2);
	h[6] = (unsigned char)(ttlog__xxh32_digest(&x) >> 8);
	put_raw(w, h, sizeof(h));
}

/* XXH32 of one block as stored. */
static uint32_t block_sum(const void *p, size_t n)
{
	struct ttlog__xxh32 x;

	ttlog__xxh32_init(&x);
	ttlog__xxh32_update(&x, p, n);
	return ttlog__xxh32_digest(&x);
}

static void flush_block(struct ttlog__lz4w *w)
{
	unsigned char sum[4];
	int n;

	if (w->in_len == 0)
		return;
	ttlog__xxh32_update(&w->sum, w->in, w->in_len);
	n = LZ4_compress_fast_extState(w->state, (const char *)w->in,
				       (char *)w->out + 4, (int)w->in_len,
				       (int)w->out_cap, 1);
	if (n > 0 && (size_t)n < w->in_len) {
		ttlog__put_le32(w->out, (uint32_t)n);
		put_raw(w, w->out, 4 + (size_t)n);
		ttlog__put_le32(sum, block_sum(w->out + 4, (size_t)n));
	} else { /* did not shrink: stored, flagged by the high bit */
		ttlog__put_le32(w->out, (uint32_t)w->in_len | 0x80000000u);
		put_raw(w, w->out, 4);
		put_raw(w, w->in, w->in_len);
		ttlog__put_le32(sum, block_sum(w->in, w->in_len));
	}
	put_raw(w, sum, sizeof(sum));
	w->in_len = 0;
}

void ttlog__lz4w_put(struct ttlog__lz4w *w, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0) {
		size_t take = TTLOG__LZ4W_BLOCK - w->in_len;
		if (take > n)
			take = n;
		memcpy(w->in + w->in_len, c, take);
		w->in_len += take;
		c += take;
		n -= take;
		if (w->in_len == TTLOG__LZ4W_BLOCK)
			flush_block(w);
	}
}

int ttlog__lz4w_end(struct ttlog__lz4w *w)
{
	unsigned char tail[8] = {0};

	flush_block(w);
	ttlog__put_le32(tail + 4, ttlog__xxh32_digest(&w->sum));
	put_raw(w, tail, sizeof(tail));
	return w->err;
}
