/*
 * ring_internal.h - single-producer single-consumer byte ring of
 * variable-length records.
 *
 * The producer is the thread that owns the ring, the consumer the writer.
 * Positions count bytes from 0 and never wrap; the index into the buffer is
 * the position masked by the capacity (a power of two). Records are 8-byte
 * aligned and start with a struct ttlog__rec_hdr. A record that would not fit
 * before the end of the buffer is preceded by a padding record that fills the
 * tail, so a record is always contiguous.
 */
#ifndef TTLOG_RING_INTERNAL_H
#define TTLOG_RING_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TTLOG__CACHELINE 64
#define TTLOG__REC_PAD 0x1u   /* padding to the end of the buffer */
#define TTLOG__REC_TRUNC 0x2u /* a string value was truncated */

struct ttlog__rec_hdr {
	uint32_t size;	/* whole record in bytes, a multiple of 8 */
	uint32_t flags; /* TTLOG__REC_* */
};

/* An event record: the header, the raw timestamp (8 bytes, at offset 8),
 * the call site pointer (at 16), then the values. */
#define TTLOG__REC_FIXED (sizeof(struct ttlog__rec_hdr) + 8 + sizeof(void *))

struct ttlog__ring {
	/* Producer's line: written by the owning thread only. */
	_Alignas(TTLOG__CACHELINE) _Atomic uint64_t head;
	uint64_t phead; /* producer's private head, ahead by any padding */
	uint64_t cached_tail;
	_Atomic uint64_t produced;
	_Atomic uint64_t dropped_full;
	_Atomic uint64_t dropped_large;
	_Atomic uint64_t truncated;
	uint32_t gen; /* library generation the ring is registered in */

	/* Consumer's line: written by the writer only. */
	_Alignas(TTLOG__CACHELINE) _Atomic uint64_t tail;

	/* Set up once, read by both. */
	_Alignas(TTLOG__CACHELINE) unsigned char *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t high_water; /* bytes in use that wake the writer */
	uint32_t max_record; /* larger records are dropped */
	uint32_t tid;
	_Atomic int closed; /* the owning thread exited */
	struct ttlog__ring *next;
};

/* Allocates a ring of at least `bytes` (rounded up to a power of two,
 * minimum 4 KiB). Caller frees with ttlog__ring_free(). NULL when out of
 * memory. */
struct ttlog__ring *ttlog__ring_new(size_t bytes);
void ttlog__ring_free(struct ttlog__ring *r);
/* The capacity ttlog__ring_new(bytes) would give. */
uint64_t ttlog__ring_capacity(size_t bytes);
/* Empties the ring and zeroes its counters; only while nobody uses it. */
void ttlog__ring_reset(struct ttlog__ring *r);

/*
 * Producer: reserves `size` contiguous bytes (a multiple of 8, at most
 * max_record) and returns where to write them, or NULL when the ring is
 * full. The record becomes visible at ttlog__ring_commit().
 */
static inline unsigned char *ttlog__ring_reserve(struct ttlog__ring *r,
						 uint32_t size)
{
	uint64_t head = r->phead;
	uint64_t off = head & r->mask;
	uint64_t contig = r->cap - off;
	uint64_t need = contig < size ? contig + size : size;

	if (head + need - r->cached_tail > r->cap) {
		r->cached_tail =
			atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + need - r->cached_tail > r->cap)
			return NULL;
	}
	if (contig < size) {
		struct ttlog__rec_hdr *pad =
			(struct ttlog__rec_hdr *)(void *)(r->buf + off);
		pad->size = (uint32_t)contig;
		pad->flags = TTLOG__REC_PAD;
		/* The padding is published with the record that follows,
		 * by the release store in ttlog__ring_commit(). */
		r->phead = head + contig;
		return r->buf;
	}
	return r->buf + off;
}

/*
 * Producer: publishes the record reserved last. Returns true when the ring
 * now holds more than its high-water mark, judged with a fresh view of the
 * consumer (loaded only when the cached one suggests it).
 */
static inline int ttlog__ring_commit(struct ttlog__ring *r, uint32_t size)
{
	uint64_t head = r->phead + size;
	r->phead = head;
	atomic_store_explicit(&r->head, head, memory_order_release);
	if (head - r->cached_tail <= r->high_water)
		return 0;
	r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return head - r->cached_tail > r->high_water;
}

/* Consumer: bytes in use now. */
uint64_t ttlog__ring_used(const struct ttlog__ring *r);

#endif /* TTLOG_RING_INTERNAL_H */
