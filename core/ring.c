/* ring.c - allocation of the per-thread rings; the hot path is inline in
 * ring_internal.h and the draining loop lives in the writer. */
#include <stdlib.h>
#include <string.h>

#include "ring_internal.h"

#define RING_MIN_BYTES 4096u
#define RING_MAX_BYTES (1ull << 31)

uint64_t ttlog__ring_capacity(size_t bytes)
{
	uint64_t cap = RING_MIN_BYTES;

	if (bytes > RING_MAX_BYTES)
		bytes = RING_MAX_BYTES;
	while (cap < bytes)
		cap <<= 1;
	return cap;
}

struct ttlog__ring *ttlog__ring_new(size_t bytes)
{
	uint64_t cap = ttlog__ring_capacity(bytes);
	struct ttlog__ring *r;

	r = aligned_alloc(TTLOG__CACHELINE, sizeof(*r));
	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->buf = aligned_alloc(TTLOG__CACHELINE, (size_t)cap);
	if (r->buf == NULL) {
		free(r);
		return NULL;
	}
	r->cap = cap;
	r->mask = cap - 1;
	r->high_water = cap / 2;
	/* Half the ring: a record can always be written into an empty ring
	 * wherever its head is, padding included. */
	r->max_record = (uint32_t)(cap / 2);
	return r;
}

void ttlog__ring_free(struct ttlog__ring *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

void ttlog__ring_reset(struct ttlog__ring *r)
{
	atomic_store(&r->head, 0);
	r->phead = 0;
	atomic_store(&r->tail, 0);
	r->cached_tail = 0;
	atomic_store(&r->produced, 0);
	atomic_store(&r->dropped_full, 0);
	atomic_store(&r->dropped_large, 0);
	atomic_store(&r->truncated, 0);
	atomic_store(&r->closed, 0);
}

uint64_t ttlog__ring_used(const struct ttlog__ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	return head - tail;
}
