/*
 * burst.c - runs a logger's burst loop on several threads at once.
 *
 * The threads live for every run of one configuration, so their buffers
 * (ttlog rings) are allocated and paged in by the warm-up, not by the first
 * measured burst. Barriers separate the runs; the main thread settles the
 * logger and reads the drop counter between them, never during a burst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "bench.h"

struct worker {
	const struct bench_burst *b;
	pthread_barrier_t *bar;
	int runs;
	pthread_t thread;
	uint64_t start[BENCH_MAX_RUNS], end[BENCH_MAX_RUNS];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct bench_burst *b = w->b;

	(void)bench_pin(-1);
	b->log(b->ctx, b->warmup);
	pthread_barrier_wait(w->bar); /* warm */
	for (int r = 0; r < w->runs; r++) {
		pthread_barrier_wait(w->bar); /* go */
		w->start[r] = bench_now_ns();
		b->log(b->ctx, b->events);
		w->end[r] = bench_now_ns();
		pthread_barrier_wait(w->bar); /* done */
	}
	return NULL;
}

int bench_burst_run(const struct bench_burst *b, int runs,
		    struct bench_series *rate, struct bench_series *dropped)
{
	pthread_barrier_t bar;
	struct worker *w;
	int rc = 0, started = 0;

	if (runs > BENCH_MAX_RUNS)
		runs = BENCH_MAX_RUNS;
	w = calloc((size_t)b->threads, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	pthread_barrier_init(&bar, NULL, (unsigned)b->threads + 1);
	for (int i = 0; i < b->threads; i++) {
		w[i].b = b;
		w[i].bar = &bar;
		w[i].runs = runs;
		rc = -pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
		if (rc != 0)
			break;
		started++;
	}
	if (rc != 0) {
		/* The started threads wait at a barrier that can never
		 * fill; the caller reports the error and exits. */
		return rc;
	}
	pthread_barrier_wait(&bar); /* warm */
	b->settle(b->ctx);
	for (int r = 0; r < runs; r++) {
		uint64_t d0 = b->dropped(b->ctx), first = UINT64_MAX, last = 0;

		pthread_barrier_wait(&bar); /* go */
		pthread_barrier_wait(&bar); /* done */
		for (int i = 0; i < b->threads; i++) {
			if (w[i].start[r] < first)
				first = w[i].start[r];
			if (w[i].end[r] > last)
				last = w[i].end[r];
		}
		bench_series_add(rate, (double)b->events * b->threads * 1e9 /
					       (double)(last - first));
		bench_series_add(dropped, (double)(b->dropped(b->ctx) - d0));
		b->settle(b->ctx);
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	pthread_barrier_destroy(&bar);
	free(w);
	return 0;
}
