/* buf.c - growth of struct ttlog__buf. */
#include <stdlib.h>

#include "buf_internal.h"

int ttlog__buf_grow(struct ttlog__buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	unsigned char *p;

	if (b->oom)
		return -1;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void ttlog__buf_free(struct ttlog__buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
