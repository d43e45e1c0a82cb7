/* buf_internal.h - a growable byte buffer for the encoders. A failed
 * allocation is sticky: later appends do nothing and `oom` stays set, so an
 * encoder checks once at the end. */
#ifndef TTLOG_BUF_INTERNAL_H
#define TTLOG_BUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ttlog__buf {
	unsigned char *p;
	size_t len;
	size_t cap;
	int oom;
};

/* Makes room for `more` bytes; returns 0, or -1 (and sets oom). */
int ttlog__buf_grow(struct ttlog__buf *b, size_t more);
/* Releases the memory; the buffer is empty and usable again. */
void ttlog__buf_free(struct ttlog__buf *b);

static inline int ttlog__buf_reserve(struct ttlog__buf *b, size_t more)
{
	if (b->cap - b->len >= more)
		return 0;
	return ttlog__buf_grow(b, more);
}

static inline void ttlog__buf_put(struct ttlog__buf *b, const void *d, size_t n)
{
	if (n == 0 || ttlog__buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void ttlog__buf_putc(struct ttlog__buf *b, unsigned char c)
{
	if (ttlog__buf_reserve(b, 1) != 0)
		return;
	b->p[b->len++] = c;
}

static inline void ttlog__buf_puts(struct ttlog__buf *b, const char *s)
{
	ttlog__buf_put(b, s, strlen(s));
}

#endif /* TTLOG_BUF_INTERNAL_H */
