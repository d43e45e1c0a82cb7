/* buf.c - see buf.h. */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"

void *ttlog__grow(void *p, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t n = *cap > first ? *cap : first;

	if (n == 0)
		n = 1;
	while (n < need) {
		if (n > SIZE_MAX / 2) {
			n = need;
			break;
		}
		n *= 2;
	}
	if (size == 0 || n > SIZE_MAX / size)
		return NULL;
	p = realloc(p, n * size);
	if (p != NULL)
		*cap = n;
	return p;
}

int ttlog__buf_grow(struct ttlog__buf *b, size_t more)
{
	unsigned char *p;

	if (b->oom)
		return -1;
	if (more > SIZE_MAX - b->len) {
		b->oom = 1;
		return -1;
	}
	p = ttlog__grow(b->p, &b->cap, b->len + more, 1, 256);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	return 0;
}

void ttlog__buf_free(struct ttlog__buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
