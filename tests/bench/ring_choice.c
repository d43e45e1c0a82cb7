/*
 * ring_choice.c - the measurement behind the choice of queue (DESIGN.md §3):
 * per-thread SPSC byte rings (what libttlog uses) against one shared
 * bounded MPMC array queue with per-slot sequence numbers, the usual
 * alternative. Same 40-byte records, same single consumer draining
 * everything, 1, 2 and 4 producer threads.
 *
 *   ttlog-ring-choice [--runs N] [--events N]
 *
 * Reported: producer time per enqueue (median over runs, min-max), total
 * events/s through the consumer, and how often a producer found the queue
 * full (it then retries, so every event arrives and the counts match).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring_internal.h"

#define REC 40
#define MAX_PRODUCERS 4
#define QUEUE_BYTES (1u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- shared MPMC queue: slots of REC bytes plus a sequence ---- */

struct slot {
	_Atomic uint64_t seq;
	unsigned char data[REC];
	unsigned char pad[64 - REC - 8];
};

struct mpmc {
	_Alignas(64) _Atomic uint64_t enq;
	_Alignas(64) _Atomic uint64_t deq;
	_Alignas(64) struct slot *slots;
	uint64_t mask;
};

static void mpmc_init(struct mpmc *q, size_t nslots)
{
	q->slots = aligned_alloc(64, nslots * sizeof(struct slot));
	q->mask = nslots - 1;
	for (size_t i = 0; i < nslots; i++)
		atomic_init(&q->slots[i].seq, i);
	atomic_init(&q->enq, 0);
	atomic_init(&q->deq, 0);
}

static int mpmc_push(struct mpmc *q, const void *rec)
{
	uint64_t pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
	for (;;) {
		struct slot *s = &q->slots[pos & q->mask];
		uint64_t seq =
			atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t dif = (int64_t)seq - (int64_t)pos;
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
				    &q->enq, &pos, pos + 1,
				    memory_order_relaxed,
				    memory_order_relaxed)) {
				memcpy(s->data, rec, REC);
				atomic_store_explicit(&s->seq, pos + 1,
						      memory_order_release);
				return 1;
			}
		} else if (dif < 0) {
			return 0; /* full */
		} else {
			pos = atomic_load_explicit(&q->enq,
						   memory_order_relaxed);
		}
	}
}

static int mpmc_pop(struct mpmc *q, void *rec)
{
	uint64_t pos = atomic_load_explicit(&q->deq, memory_order_relaxed);
	struct slot *s = &q->slots[pos & q->mask];
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if ((int64_t)seq - (int64_t)(pos + 1) < 0)
		return 0;
	memcpy(rec, s->data, REC);
	atomic_store_explicit(&s->seq, pos + q->mask + 1, memory_order_release);
	atomic_store_explicit(&q->deq, pos + 1, memory_order_relaxed);
	return 1;
}

/* ---- the run ---- */

struct run {
	int kind; /* 0 SPSC rings, 1 MPMC */
	int nprod;
	uint64_t events; /* per producer */
	struct ttlog__ring *rings[MAX_PRODUCERS];
	struct mpmc q;
	_Atomic int done;
	uint64_t prod_ns[MAX_PRODUCERS];
	uint64_t full[MAX_PRODUCERS];
	pthread_barrier_t go;
};

struct prod_arg {
	struct run *r;
	int id;
};

static void *producer(void *arg)
{
	struct prod_arg *a = arg;
	struct run *r = a->r;
	unsigned char rec[REC];
	uint64_t full = 0;

	memset(rec, a->id, sizeof(rec));
	pthread_barrier_wait(&r->go);
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < r->events; i++) {
		memcpy(rec + 8, &i, sizeof(i));
		if (r->kind == 0) {
			struct ttlog__ring *ring = r->rings[a->id];
			unsigned char *p;
			while ((p = ttlog__ring_reserve(ring, REC)) == NULL) {
				full++;
				sched_yield();
			}
			struct ttlog__rec_hdr h = {REC, 0};
			memcpy(p, &h, sizeof(h));
			memcpy(p + 8, rec + 8, REC - 8);
			ttlog__ring_commit(ring, REC);
		} else {
			while (!mpmc_push(&r->q, rec)) {
				full++;
				sched_yield();
			}
		}
	}
	r->prod_ns[a->id] = now_ns() - t0;
	r->full[a->id] = full;
	return NULL;
}

static uint64_t drain_rings(struct run *r)
{
	uint64_t got = 0;
	for (int i = 0; i < r->nprod; i++) {
		struct ttlog__ring *g = r->rings[i];
		uint64_t tail =
			atomic_load_explicit(&g->tail, memory_order_relaxed);
		uint64_t head =
			atomic_load_explicit(&g->head, memory_order_acquire);
		unsigned char rec[REC];
		while (tail < head) {
			struct ttlog__rec_hdr h;
			memcpy(&h, g->buf + (tail & g->mask), sizeof(h));
			if (!(h.flags & TTLOG__REC_PAD)) {
				memcpy(rec, g->buf + (tail & g->mask), REC);
				got++;
			}
			tail += h.size;
		}
		atomic_store_explicit(&g->tail, tail, memory_order_release);
	}
	return got;
}

/* Returns total events/s; fills per-producer ns/op and full counts. */
static double run_once(int kind, int nprod, uint64_t events, double *ns_op,
		       double *full_per_event)
{
	struct run *r = calloc(1, sizeof(*r));
	pthread_t t[MAX_PRODUCERS];
	struct prod_arg a[MAX_PRODUCERS];
	uint64_t total = events * (uint64_t)nprod, got = 0;
	unsigned char rec[REC];

	r->kind = kind;
	r->nprod = nprod;
	r->events = events;
	if (kind == 0)
		for (int i = 0; i < nprod; i++)
			r->rings[i] = ttlog__ring_new(QUEUE_BYTES);
	else
		/* The same memory as one ring: 16384 slots of 64 bytes. */
		mpmc_init(&r->q, QUEUE_BYTES / sizeof(struct slot));
	pthread_barrier_init(&r->go, NULL, (unsigned)nprod + 1);
	for (int i = 0; i < nprod; i++) {
		a[i] = (struct prod_arg){r, i};
		pthread_create(&t[i], NULL, producer, &a[i]);
	}
	pthread_barrier_wait(&r->go);
	uint64_t t0 = now_ns();
	while (got < total) {
		uint64_t n = 0;
		if (kind == 0)
			n = drain_rings(r);
		else
			while (mpmc_pop(&r->q, rec))
				n++;
		got += n;
		if (n == 0)
			sched_yield();
	}
	uint64_t elapsed = now_ns() - t0;
	uint64_t prod = 0, full = 0;
	for (int i = 0; i < nprod; i++) {
		pthread_join(t[i], NULL);
		prod += r->prod_ns[i];
		full += r->full[i];
	}
	*ns_op = (double)prod / (double)total;
	*full_per_event = (double)full / (double)total;
	if (kind == 0)
		for (int i = 0; i < nprod; i++)
			ttlog__ring_free(r->rings[i]);
	else
		free(r->q.slots);
	pthread_barrier_destroy(&r->go);
	free(r);
	return (double)total / ((double)elapsed / 1e9);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = 5;
	uint64_t events = 2000000;
	static const int producers[] = {1, 2, 4};
	static const char *const names[] = {"SPSC byte ring per thread",
					    "shared MPMC array queue"};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			events = strtoull(argv[++i], NULL, 10);
	}
	if (runs < 1 || runs > 100)
		runs = 5;
	printf("ring choice: %llu events of %d bytes per producer, %d runs, "
	       "one consumer; median (min-max)\n\n",
	       (unsigned long long)events, REC, runs);
	printf("| queue | producers | producer ns/event | consumer Mevents/s "
	       "| full retries/event |\n|---|---|---|---|---|\n");
	for (size_t p = 0; p < sizeof(producers) / sizeof(producers[0]); p++)
		for (int kind = 0; kind < 2; kind++) {
			double ns[100], rate[100], full[100];
			for (int k = 0; k < runs; k++)
				rate[k] = run_once(kind, producers[p], events,
						   &ns[k], &full[k]);
			qsort(ns, (size_t)runs, sizeof(double), cmp_double);
			qsort(rate, (size_t)runs, sizeof(double), cmp_double);
			qsort(full, (size_t)runs, sizeof(double), cmp_double);
			printf("| %s | %d | %.1f (%.1f-%.1f) | %.1f "
			       "(%.1f-%.1f) "
			       "| %.3f |\n",
			       names[kind], producers[p], ns[runs / 2], ns[0],
			       ns[runs - 1], rate[runs / 2] / 1e6,
			       rate[0] / 1e6, rate[runs - 1] / 1e6,
			       full[runs / 2]);
		}
	return 0;
}
