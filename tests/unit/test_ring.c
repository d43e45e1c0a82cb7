/* test_ring.c - the SPSC byte ring: reservation, wrap-around padding,
 * fullness, the high-water signal, and a two-thread stress of ordering. */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "ring_internal.h"
#include "testutil.h"

/* Consumes one record the way the writer does; returns its size, 0 when
 * the ring is empty. Padding is skipped and reported through *pads. */
static uint32_t consume_one(struct ttlog__ring *r, void *out, size_t cap,
			    int *pads)
{
	uint64_t tail = atomic_load(&r->tail);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	while (tail < head) {
		struct ttlog__rec_hdr h;
		memcpy(&h, r->buf + (tail & r->mask), sizeof(h));
		if (h.flags & TTLOG__REC_PAD) {
			tail += h.size;
			if (pads)
				(*pads)++;
			continue;
		}
		if (out)
			memcpy(out, r->buf + (tail & r->mask),
			       h.size < cap ? h.size : cap);
		atomic_store_explicit(&r->tail, tail + h.size,
				      memory_order_release);
		return h.size;
	}
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return 0;
}

static void put(struct ttlog__ring *r, uint32_t size, uint64_t tag)
{
	unsigned char *p = ttlog__ring_reserve(r, size);
	struct ttlog__rec_hdr h = {size, 0};
	assert_non_null(p);
	memcpy(p, &h, sizeof(h));
	memcpy(p + 8, &tag, sizeof(tag));
	ttlog__ring_commit(r, size);
}

static void test_ring_capacity_rounds_up_to_power_of_two(void **state)
{
	(void)state;
	assert_int_equal(ttlog__ring_capacity(1), 4096);
	assert_int_equal(ttlog__ring_capacity(4097), 8192);
	assert_int_equal(ttlog__ring_capacity(1 << 20), 1 << 20);
	struct ttlog__ring *r = ttlog__ring_new(5000);
	assert_non_null(r);
	assert_int_equal(r->cap, 8192);
	assert_int_equal(r->max_record, 4096);
	ttlog__ring_free(r);
}

static void test_ring_full_returns_null_until_consumed(void **state)
{
	(void)state;
	struct ttlog__ring *r = ttlog__ring_new(4096);
	unsigned char *p;
	int n = 0;
	while ((p = ttlog__ring_reserve(r, 64)) != NULL) {
		struct ttlog__rec_hdr h = {64, 0};
		memcpy(p, &h, sizeof(h));
		ttlog__ring_commit(r, 64);
		n++;
	}
	/* Exactly the capacity, no byte more or less. */
	assert_int_equal(n, 4096 / 64);
	assert_int_equal(ttlog__ring_used(r), 4096);
	assert_int_equal(consume_one(r, NULL, 0, NULL), 64);
	assert_non_null(ttlog__ring_reserve(r, 64));
	assert_null(ttlog__ring_reserve(r, 128));
	ttlog__ring_free(r);
}

static void test_ring_wraps_with_padding_and_keeps_records_whole(void **state)
{
	(void)state;
	struct ttlog__ring *r = ttlog__ring_new(4096);
	unsigned char rec[2048];
	uint64_t tag;
	int pads = 0;

	/* 3000 bytes in, 3000 out: the next 2048-byte record cannot fit in
	 * the 1096 bytes left before the end and must start at 0. */
	put(r, 1000, 1);
	put(r, 1000, 2);
	put(r, 1000, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(consume_one(r, NULL, 0, &pads), 1000);
	put(r, 2048, 4);
	assert_int_equal(r->phead, 3000 + 1096 + 2048);
	assert_int_equal(consume_one(r, rec, sizeof(rec), &pads), 2048);
	memcpy(&tag, rec + 8, sizeof(tag));
	assert_int_equal(tag, 4);
	assert_int_equal(pads, 1);
	assert_int_equal(ttlog__ring_used(r), 0);
	ttlog__ring_free(r);
}

static void test_ring_commit_signals_above_high_water(void **state)
{
	(void)state;
	struct ttlog__ring *r = ttlog__ring_new(4096);
	int signals = 0;

	for (int i = 0; i < 4096 / 256; i++) {
		unsigned char *p = ttlog__ring_reserve(r, 256);
		struct ttlog__rec_hdr h = {256, 0};
		assert_non_null(p);
		memcpy(p, &h, sizeof(h));
		int s = ttlog__ring_commit(r, 256);
		/* Above half full (2048 bytes) and only then. */
		assert_int_equal(s, (i + 1) * 256 > 2048);
		signals += s;
	}
	assert_int_equal(signals, 16 - 8);
	/* Once drained, the fresh tail clears the signal. */
	while (consume_one(r, NULL, 0, NULL) > 0)
		;
	assert_non_null(ttlog__ring_reserve(r, 256));
	assert_int_equal(ttlog__ring_commit(r, 256), 0);
	ttlog__ring_free(r);
}

/* Two threads: the producer writes records of varying size tagged with a
 * sequence number; the consumer checks every one arrives, in order. */
struct stress {
	struct ttlog__ring *r;
	uint64_t n;
	uint64_t full;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	for (uint64_t i = 0; i < s->n;) {
		uint32_t size = (uint32_t)(16 + (i % 13) * 8);
		unsigned char *p = ttlog__ring_reserve(s->r, size);
		if (p == NULL) {
			/* Let the consumer run (valgrind runs one thread at
			 * a time). */
			s->full++;
			sched_yield();
			continue;
		}
		struct ttlog__rec_hdr h = {size, 0};
		memcpy(p, &h, sizeof(h));
		memcpy(p + 8, &i, sizeof(i));
		ttlog__ring_commit(s->r, size);
		i++;
	}
	return NULL;
}

static void test_ring_spsc_stress_keeps_order_without_gaps(void **state)
{
	(void)state;
	struct stress s = {ttlog__ring_new(4096), test_scaled(2000000, 20000),
			   0};
	pthread_t t;
	unsigned char rec[256];
	uint64_t expect = 0;

	pthread_create(&t, NULL, stress_producer, &s);
	while (expect < s.n) {
		uint32_t size = consume_one(s.r, rec, sizeof(rec), NULL);
		uint64_t got;
		if (size == 0) {
			sched_yield();
			continue;
		}
		memcpy(&got, rec + 8, sizeof(got));
		if (got != expect)
			fail_msg("record %llu arrived where %llu was due",
				 (unsigned long long)got,
				 (unsigned long long)expect);
		assert_int_equal(size, 16 + (expect % 13) * 8);
		expect++;
	}
	pthread_join(t, NULL);
	assert_int_equal(ttlog__ring_used(s.r), 0);
	ttlog__ring_free(s.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_capacity_rounds_up_to_power_of_two),
		cmocka_unit_test(test_ring_full_returns_null_until_consumed),
		cmocka_unit_test(
			test_ring_wraps_with_padding_and_keeps_records_whole),
		cmocka_unit_test(test_ring_commit_signals_above_high_water),
		cmocka_unit_test(
			test_ring_spsc_stress_keeps_order_without_gaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
