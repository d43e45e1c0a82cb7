/* stats.c - the histogram, per-run series and the TSC calibration. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_ns_per_tick = 1.0;

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t raw_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads the TSC and the clock as close together as possible: of a few
 * tries, the one with the shortest TSC window around the clock read. */
static void read_pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	*tsc = *ns = 0;
	for (int i = 0; i < 16; i++) {
		uint64_t a = bench_tsc_begin();
		uint64_t t = raw_ns();
		uint64_t b = bench_tsc_end();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = t;
		}
	}
}

double bench_tsc_calibrate(unsigned ms)
{
	struct timespec pause = {(time_t)(ms / 1000),
				 (long)(ms % 1000) * 1000000L};
	uint64_t t0, n0, t1, n1;

	read_pair(&t0, &n0);
	nanosleep(&pause, NULL);
	read_pair(&t1, &n1);
	bench_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
	return 1e9 / bench_ns_per_tick;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b != 0) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

uint64_t bench_tsc_step(void)
{
	enum { READS = 100000, SMALL = 4096 };
	static uint32_t seen[SMALL];
	uint64_t prev = __rdtsc(), step = 0;

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < READS; i++) {
		uint64_t t = __rdtsc();
		if (t - prev < SMALL)
			seen[t - prev]++;
		prev = t;
	}
	for (uint64_t d = 1; d < SMALL; d++)
		if (seen[d] >= READS / 100)
			step = gcd(step, d);
	return step ? step : 1;
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* The largest value that falls into bucket i. */
static uint64_t bucket_high(unsigned i)
{
	unsigned shift;
	uint64_t sub;

	if (i < BENCH_HIST_SUB)
		return i;
	shift = (i - BENCH_HIST_SUB) / BENCH_HIST_HALF + 1;
	sub = (i - BENCH_HIST_SUB) % BENCH_HIST_HALF + BENCH_HIST_HALF;
	return ((sub + 1) << shift) - 1;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	uint64_t want, seen = 0;

	if (h->total == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	/* The smallest value with at least p% of the samples at or below
	 * it; never less than one sample. */
	want = (uint64_t)((p / 100.0) * (double)h->total + 0.999999);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t v = bucket_high(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

double bench_hist_mean_below(const struct bench_hist *h, double p)
{
	uint64_t want, seen = 0;
	double sum = 0;

	if (h->total == 0)
		return 0;
	want = (uint64_t)((p / 100.0) * (double)h->total + 0.999999);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS && seen < want; i++) {
		uint64_t n = h->counts[i];
		/* Buckets below BENCH_HIST_SUB hold one value each. */
		double mid = i < BENCH_HIST_SUB
				     ? (double)i
				     : ((double)(bucket_high(i - 1) + 1) +
					(double)bucket_high(i)) /
					       2;
		if (n > want - seen)
			n = want - seen;
		sum += mid * (double)n;
		seen += n;
	}
	return sum / (double)seen;
}

void bench_series_add(struct bench_series *s, double x)
{
	if (s->n < BENCH_MAX_RUNS)
		s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_series_median(const struct bench_series *s)
{
	double v[BENCH_MAX_RUNS];

	if (s->n == 0)
		return 0;
	memcpy(v, s->v, (size_t)s->n * sizeof(v[0]));
	qsort(v, (size_t)s->n, sizeof(v[0]), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

double bench_series_min(const struct bench_series *s)
{
	double m = s->n ? s->v[0] : 0;
	for (int i = 1; i < s->n; i++)
		if (s->v[i] < m)
			m = s->v[i];
	return m;
}

double bench_series_max(const struct bench_series *s)
{
	double m = s->n ? s->v[0] : 0;
	for (int i = 1; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}
