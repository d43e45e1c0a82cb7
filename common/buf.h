/*
 * buf.h - the one growth policy for heap arrays (ttlog__grow), and the
 * growable byte buffer built on it (struct ttlog__buf) for the encoders
 * and the metrics page.
 *
 * A failed allocation of a ttlog__buf is sticky: every later growth
 * fails and `oom` stays set until a reset, so an encoder checks once at
 * the end.
 * In ttlog_common (static, hidden visibility); the appends are inline
 * because the encoders call them once per byte or field.
 */
#ifndef TTLOG_BUF_H
#define TTLOG_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Grows the array p, of *cap elements of `size` bytes each, to hold at
 * least `need` elements (need > *cap), doubling from `first` (or from
 * *cap when it is larger) so that a reused array stops reallocating once
 * it has seen its largest use.
 * @return the new array, with *cap updated (p is then invalid); or NULL,
 *         with p and *cap untouched, when memory or size_t runs out.
 */
void *ttlog__grow(void *p, size_t *cap, size_t need, size_t size, size_t first);

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
/* Empties the buffer and forgets a failed allocation; keeps the memory. */
static inline void ttlog__buf_reset(struct ttlog__buf *b)
{
	b->len = 0;
	b->oom = 0;
}

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

#endif /* TTLOG_BUF_H */
