/* report.c - prints the figures as markdown tables, with ratios and the
 * targets they are held against. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ttlog/version.h>

#include "report.h"

#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "?"
#endif

/* Targets from the issue. */
#define TARGET_P50_NS 25.0
#define TARGET_VS_ASYNC 20.0
#define TARGET_BURST 30e6
#define TARGET_DRAIN_LZ4 5e6

/* Formatting: one cell is "median (min–max)". */
struct cell {
	char s[128];
};

static void num(char *buf, size_t len, double v)
{
	if (v != 0 && v < 10 && v > -10)
		snprintf(buf, len, "%.2f", v);
	else if (v < 100 && v > -100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

/* The series scaled by k, the unit after the median. */
static struct cell cell_u(const struct bench_series *s, double k,
			  const char *unit)
{
	struct cell c;
	char med[32], lo[32], hi[32];

	if (s->n == 0) {
		snprintf(c.s, sizeof(c.s), "–");
		return c;
	}
	num(med, sizeof(med), bench_series_median(s) * k);
	num(lo, sizeof(lo), bench_series_min(s) * k);
	num(hi, sizeof(hi), bench_series_max(s) * k);
	if (s->n == 1 || strcmp(lo, hi) == 0)
		snprintf(c.s, sizeof(c.s), "%s%s", med, unit);
	else
		snprintf(c.s, sizeof(c.s), "%s%s (%s–%s)", med, unit, lo, hi);
	return c;
}

static struct cell cell(const struct bench_series *s, double k)
{
	return cell_u(s, k, "");
}

/* A count: integers, "0" when every run had none. */
static struct cell count_cell(const struct bench_series *s)
{
	struct cell c;
	double lo = bench_series_min(s), hi = bench_series_max(s);

	if (s->n == 0)
		snprintf(c.s, sizeof(c.s), "–");
	else if (lo == hi)
		snprintf(c.s, sizeof(c.s), "%.0f", lo);
	else
		snprintf(c.s, sizeof(c.s), "%.0f (%.0f–%.0f)",
			 bench_series_median(s), lo, hi);
	return c;
}

/* Per-run a[i] / b[i]: the runs of two rows are paired by index. */
static struct bench_series ratio(const struct bench_series *a,
				 const struct bench_series *b)
{
	struct bench_series r;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < a->n && i < b->n; i++)
		if (b->v[i] > 0)
			bench_series_add(&r, a->v[i] / b->v[i]);
	return r;
}

static const struct bench_lat_row *find_lat(const struct bench_report *r,
					    const char *logger, int nfields)
{
	for (int i = 0; i < r->nlat; i++)
		if (strcmp(r->lat[i].logger, logger) == 0 &&
		    r->lat[i].nfields == nfields)
			return &r->lat[i];
	return NULL;
}

static const struct bench_burst_row *find_burst(const struct bench_report *r,
						const char *logger, int threads)
{
	for (int i = 0; i < r->nburst; i++)
		if (strcmp(r->burst[i].logger, logger) == 0 &&
		    r->burst[i].threads == threads)
			return &r->burst[i];
	return NULL;
}

static int tsc_invariant(void)
{
	char line[4096];
	int yes = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		yes = strstr(line, " constant_tsc") != NULL &&
		      strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return yes;
}

void bench_print_header(const struct bench_report *r)
{
	const struct bench_config *c = r->cfg;
	char cpu[256], kernel[256], cs[64], when[64], load[64] = "?";
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	bench_sysinfo(cpu, sizeof(cpu), kernel, sizeof(kernel), cs, sizeof(cs));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	f = fopen("/proc/loadavg", "re");
	if (f != NULL) {
		if (fgets(load, sizeof(load), f) != NULL)
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}

	printf("# ttlog-bench%s\n\n", c->quick ? " (--quick: smoke run, "
						 "not figures)"
					       : "");
	printf("| | |\n|---|---|\n");
	printf("| CPU | %s, %d online CPUs |\n", cpu, bench_ncpus());
	printf("| kernel | %s |\n", kernel);
	printf("| clock source | %s |\n", cs);
	printf("| TSC | %.1f MHz, calibrated against CLOCK_MONOTONIC_RAW "
	       "over 200 ms; invariant: %s |\n",
	       r->tsc_hz / 1e6, tsc_invariant() ? "yes" : "no");
	printf("| TSC step | %llu ticks = %.1f ns: the smallest interval one "
	       "rdtsc pair can resolve; percentiles move in steps of it, "
	       "means do not |\n",
	       (unsigned long long)r->tsc_step,
	       (double)r->tsc_step * 1e9 / r->tsc_hz);
	printf("| cross-CPU wake-up | %.1f µs median round trip of an eventfd "
	       "ping-pong between threads asleep on CPU 0 and CPU %d |\n",
	       r->wake0 / 1e3, bench_ncpus() - 1);
	printf("| load average at start | %s |\n", load);
	printf("| build | %s, CMAKE_BUILD_TYPE=%s |\n", "gcc " __VERSION__,
	       BENCH_BUILD_TYPE);
	printf("| libraries | ttlog %s, event clock %s; %s |\n",
	       TTLOG_VERSION_STRING, c->clock_name, bench_spdlog_version());
	printf("| runs | %d; a cell is the median of the runs, (min–max) "
	       "after it |\n",
	       c->runs);
	printf("| date | %s |\n\n", when);
}

static void print_latency(const struct bench_report *r)
{
	const struct bench_config *c = r->cfg;

	printf("## (a) Hot-path latency per call\n\n");
	printf("| logger | fields | p50 ns | p99 ns | p99.9 ns | max µs | "
	       "mean ns | mean≤p99 ns | p50 − timer | mean≤p99 − timer | "
	       "dropped |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < r->nlat; i++) {
		const struct bench_lat_row *l = &r->lat[i];
		char f[16];

		if (l->nfields < 0)
			snprintf(f, sizeof(f), "–");
		else
			snprintf(f, sizeof(f), "%d", l->nfields);
		printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | "
		       "%s |\n",
		       l->logger, f, cell(&l->p50, 1).s, cell(&l->p99, 1).s,
		       cell(&l->p999, 1).s, cell(&l->max, 1e-3).s,
		       cell(&l->mean, 1).s, cell(&l->tmean, 1).s,
		       l->nfields < 0 ? "–" : cell(&l->net50, 1).s,
		       l->nfields < 0 ? "–" : cell(&l->nettmean, 1).s,
		       l->nfields < 0 ? "–" : count_cell(&l->dropped).s);
	}
	printf("\n%llu timed calls per row and run after %llu warm-up calls; "
	       "each call between `lfence; rdtsc; lfence` and "
	       "`rdtscp; lfence`, recorded in ticks in a log-linear "
	       "histogram (64 buckets per power of two, values reported as "
	       "their bucket's upper bound) and converted with the "
	       "calibrated TSC rate. Raw figures include the timer; the "
	       "timer row times an empty region, and `p50 − timer` subtracts "
	       "that run's timer p50. `mean≤p99` is the mean of the fastest "
	       "99%% of the calls: unlike a percentile it is not rounded to "
	       "the TSC step, and unlike the mean a few preempted calls do "
	       "not move it; `mean≤p99 − timer` subtracts the timer's. The "
	       "latency thread is %s.\n\n",
	       (unsigned long long)c->lat_samples,
	       (unsigned long long)c->lat_warmup,
	       c->pin ? "pinned to the last CPU, the writer and spdlog's "
			"worker free to run on the others"
		      : "not pinned");
	printf("* ttlog: `TTLOG_INFO(\"request done\", TTLOG_KV(\"id\", i), "
	       "TTLOG_KV(\"ms\", 4.2), TTLOG_KV(\"path\", \"/api/v1\"))` (3 "
	       "fields; 8 adds status, bytes, ok, method, user); the writer "
	       "runs (20 ms interval) with a listener whose consume() returns "
	       "OK; ring %zu MiB, flushed between rows so no row can drop; "
	       "dropped = the dropped_* counters of ttlog_stats plus "
	       "listener drops.\n",
	       c->lat_ring / (1u << 20));
	printf("* spdlog: `spdlog::info(\"request done {} {} {}\", i, 4.2, "
	       "\"/api/v1\")` (values only, no keys) through the default "
	       "logger. async: spdlog::async_factory, queue 8192, 1 worker "
	       "thread, overflow policy **block** (a full queue makes the "
	       "caller wait instead of dropping; dropped = the pool's overrun "
	       "counter); sinks: null_sink_mt, and basic_file_sink_mt writing "
	       "/tmp/ttlog-bench-spdlog-*.log with the default pattern (no "
	       "flush per call). sync: the same two sinks. Sync loggers "
	       "cannot drop. Loggers made with the factories at level info "
	       "(spdlog::null_logger_mt() would set level off).\n\n");
}

static void print_burst(const struct bench_report *r)
{
	const struct bench_config *c = r->cfg;

	printf("## (b) Burst: events/s of the producer loop\n\n");
	printf("| logger | threads | events per thread | M events/s, all "
	       "threads | ns per event per thread | dropped per run |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < r->nburst; i++) {
		const struct bench_burst_row *b = &r->burst[i];
		struct bench_series per = {0};

		for (int k = 0; k < b->rate.n; k++)
			bench_series_add(&per, 1e9 * b->threads / b->rate.v[k]);
		printf("| %s | %d%s | %llu | %s | %s | %s |\n", b->logger,
		       b->threads, b->threads > bench_ncpus() ? " (over)" : "",
		       (unsigned long long)b->events, cell(&b->rate, 1e-6).s,
		       cell(&per, 1).s, count_cell(&b->dropped).s);
	}
	printf("\nEvery thread logs the 3-field event in a tight loop; the "
	       "rate is all threads' events over the time from the first "
	       "thread's start to the last thread's end. Threads are "
	       "started and warmed up (%d× the events, pages of the ring "
	       "touched) once per row, then run all the bursts. ttlog: "
	       "writer draining concurrently to the null listener (flush "
	       "interval 1 ms); ring %zu MiB per thread (holds two bursts, so "
	       "the rate is the log call's) except the default-ring row "
	       "(1 MiB, 20 ms), where the burst is larger than the ring and "
	       "the writer, woken past half of it, must keep up. spdlog: as "
	       "in (a); with the block policy the async rate is the "
	       "worker's. \"(over)\": more producer threads than CPUs; "
	       "ttlog's writer and spdlog's worker are one thread more, so on "
	       "2 CPUs 2 producers already compete with them.\n\n",
	       3, c->burst_ring / (1u << 20));
}

static void print_drain(const struct bench_report *r)
{
	const struct bench_config *c = r->cfg;

	printf("## (c) Writer drain\n\n");
	printf("| listener | events per run | M events/s | ring MB/s | "
	       "encoded MB/s | encoded B/event | CBOR/LZ4 size | dropped |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < r->ndrain; i++) {
		const struct bench_drain_row *d = &r->drain[i];
		int enc = i > 0;
		printf("| %s | %llu | %s | %s | %s | %s | %s | %s |\n", d->sink,
		       (unsigned long long)d->events, cell(&d->rate, 1e-6).s,
		       cell(&d->ring_mbps, 1).s,
		       enc ? cell(&d->out_mbps, 1).s : "–",
		       enc ? cell(&d->out_per_event, 1).s : "–",
		       cell(&d->lz4_ratio, 1).s, count_cell(&d->dropped).s);
	}
	printf("\nOne thread pre-fills its ring (%zu MiB) with the 3-field "
	       "event while the writer sleeps (flush interval 1 h, pre-fill "
	       "below the ring's wake-up mark); the time of ttlog_flush() is "
	       "the drain: rings to batches (8192 events) to the listener, "
	       "plus one wake-up. MB are 10^6 bytes; ring MB/s counts record "
	       "bytes drained. One discarded warm-up run per listener.\n\n",
	       c->drain_ring / (1u << 20));
}

enum ratio_of { R_P50, R_NET50, R_NETTMEAN, R_P999 };

static void ratio_row(const char *name, const struct bench_report *r,
		      const char *num_logger, enum ratio_of what)
{
	printf("| %s |", name);
	for (int f = 0; f < 3; f++) {
		static const int fc[] = {0, 3, 8};
		const struct bench_lat_row *a = find_lat(r, num_logger, fc[f]);
		const struct bench_lat_row *b =
			find_lat(r, BENCH_L_TTLOG, fc[f]);
		struct bench_series s;

		if (a == NULL || b == NULL) {
			printf(" – |");
			continue;
		}
		switch (what) {
		case R_P50:
			s = ratio(&a->p50, &b->p50);
			break;
		case R_NET50:
			s = ratio(&a->net50, &b->net50);
			break;
		case R_NETTMEAN:
			s = ratio(&a->nettmean, &b->nettmean);
			break;
		default:
			s = ratio(&a->p999, &b->p999);
			break;
		}
		printf(" %s |", cell_u(&s, 1, "×").s);
	}
	printf("\n");
}

static void print_ratios(const struct bench_report *r)
{
	static const char *const peers[] = {BENCH_L_ASYNC, BENCH_L_ASYNC_FILE,
					    BENCH_L_SYNC_NULL,
					    BENCH_L_SYNC_FILE};
	char name[160];

	printf("## Ratios (per run; runs paired by index)\n\n");
	for (int p = 0; p < 4 && r->nlat > 0; p++) {
		if (p == 0) {
			printf("| latency, spdlog / ttlog | 0 fields | 3 "
			       "fields | "
			       "8 fields |\n");
			printf("|---|---:|---:|---:|\n");
		}
		snprintf(name, sizeof(name), "%s: p50 raw", peers[p]);
		ratio_row(name, r, peers[p], R_P50);
		snprintf(name, sizeof(name), "%s: p50 − timer", peers[p]);
		ratio_row(name, r, peers[p], R_NET50);
		snprintf(name, sizeof(name), "%s: mean≤p99 − timer", peers[p]);
		ratio_row(name, r, peers[p], R_NETTMEAN);
		snprintf(name, sizeof(name), "%s: p99.9 raw", peers[p]);
		ratio_row(name, r, peers[p], R_P999);
	}

	if (r->nlat > 0)
		printf("\n");
	for (int p = 0; p < 4 && r->nburst > 0; p++) {
		if (p == 0) {
			printf("| burst events/s, ttlog / peer | 1 thread | "
			       "2 threads | 4 threads |\n");
			printf("|---|---:|---:|---:|\n");
		}
		printf("| ttlog / %s |", peers[p]);
		for (int t = 1; t <= 4; t *= 2) {
			const struct bench_burst_row *a =
				find_burst(r, BENCH_L_TTLOG, t);
			const struct bench_burst_row *b =
				find_burst(r, peers[p], t);
			struct bench_series s;
			if (a == NULL || b == NULL) {
				printf(" – |");
				continue;
			}
			s = ratio(&a->rate, &b->rate);
			printf(" %s |", cell_u(&s, 1, "×").s);
		}
		printf("\n");
	}
	printf("\n");
}

static void verdict(char *buf, size_t len, double v, double goal, int le,
		    const char *unit)
{
	int ok = le ? v <= goal : v >= goal;
	char d[32];

	if (ok) {
		snprintf(buf, len, "**met**");
		return;
	}
	num(d, sizeof(d), le ? v - goal : goal - v);
	snprintf(buf, len, "**missed** by %s%s (%.0f%%)", d, unit,
		 100.0 * (le ? v - goal : goal - v) / goal);
}

static void print_targets(const struct bench_report *r)
{
	const struct bench_lat_row *tt = find_lat(r, BENCH_L_TTLOG, 3);
	const struct bench_lat_row *as = find_lat(r, BENCH_L_ASYNC, 3);
	const struct bench_lat_row *tm = find_lat(r, BENCH_L_TIMER, -1);
	const struct bench_burst_row *b1 = find_burst(r, BENCH_L_TTLOG, 1);
	const struct bench_drain_row *dz = r->ndrain >= 3 ? &r->drain[2] : NULL;
	char v[128];

	printf("## Targets\n\n");
	printf("| target | goal | measured | verdict |\n");
	printf("|---|---|---|---|\n");
	if (tt != NULL && tm != NULL) {
		struct bench_series per = {0};
		if (b1 != NULL)
			for (int k = 0; k < b1->rate.n; k++)
				bench_series_add(&per, 1e9 / b1->rate.v[k]);
		verdict(v, sizeof(v), bench_series_median(&tt->net50),
			TARGET_P50_NS, 1, " ns");
		printf("| hot-path p50, 3 fields | ≤ 25 ns | p50 − timer %s ns "
		       "(raw %s, timer %s; TSC step %.1f ns); mean≤p99 − timer "
		       "%s; 1 / burst rate %s | %s |\n",
		       cell(&tt->net50, 1).s, cell(&tt->p50, 1).s,
		       cell(&tm->p50, 1).s,
		       (double)r->tsc_step * 1e9 / r->tsc_hz,
		       cell(&tt->nettmean, 1).s, cell(&per, 1).s, v);
	}
	if (tt != NULL && as != NULL) {
		struct bench_series net = ratio(&as->net50, &tt->net50);
		struct bench_series raw = ratio(&as->p50, &tt->p50);
		struct bench_series mean = ratio(&as->nettmean, &tt->nettmean);
		verdict(v, sizeof(v), bench_series_median(&net),
			TARGET_VS_ASYNC, 0, "×");
		printf("| p50 vs spdlog async (null sink), 3 fields | ≥ 20× "
		       "lower | p50 − timer: %s (raw %s; mean≤p99 − timer %s) "
		       "| %s |\n",
		       cell_u(&net, 1, "×").s, cell_u(&raw, 1, "×").s,
		       cell_u(&mean, 1, "×").s, v);
	}
	if (b1 != NULL) {
		verdict(v, sizeof(v), bench_series_median(&b1->rate) / 1e6,
			TARGET_BURST / 1e6, 0, "M/s");
		printf("| burst, 1 thread | ≥ 30M events/s | %s events/s | "
		       "%s |\n",
		       cell_u(&b1->rate, 1e-6, "M").s, v);
	}
	if (dz != NULL) {
		verdict(v, sizeof(v), bench_series_median(&dz->rate) / 1e6,
			TARGET_DRAIN_LZ4 / 1e6, 0, "M/s");
		printf("| writer drain through CBOR+LZ4 | ≥ 5M events/s | "
		       "%s events/s | %s |\n",
		       cell_u(&dz->rate, 1e-6, "M").s, v);
	}
	printf("\n");
}

/* One row of the conditions table: CPU time between samples i and j. */
static void conditions_row(const struct bench_report *r, const char *name,
			   int i, int j)
{
	const struct bench_cpu_sample *a = &r->cpu[i], *b = &r->cpu[j];
	double total = (double)(b->total - a->total);
	double busy = (double)(b->busy - a->busy);
	double self = (double)(b->self - a->self);
	double steal = (double)(b->steal - a->steal);
	/* The two files account differently; a small negative is zero. */
	double other = busy - self - steal > 0 ? busy - self - steal : 0;

	if (total <= 0)
		return;
	printf("| %s | %.1f | %.0f%% | %.0f%% | %.1f%% | %.0f%% |\n", name,
	       (double)(r->at_ns[j] - r->at_ns[i]) / 1e9, 100 * self / total,
	       100 * other / total, 100 * steal / total,
	       100 * (total - busy) / total);
}

/* How much of the machine something other than the benchmark used while it
 * ran: on a shared 2-CPU VM, the first thing to check when figures move. */
static void print_conditions(const struct bench_report *r)
{
	printf("## Conditions\n\n");
	printf("| section | seconds | this process | other processes and "
	       "kernel | hypervisor steal | idle |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	if (r->nlat > 0)
		conditions_row(r, "(a) latency", 0, 1);
	if (r->nburst > 0)
		conditions_row(r, "(b) burst", 1, 2);
	if (r->ndrain > 0)
		conditions_row(r, "(c) drain", 2, 3);
	conditions_row(r, "whole run", 0, 3);
	printf("\nShares of the CPU time of all %d CPUs, from /proc/stat and "
	       "/proc/self/stat. Other load above a few %% in a section makes "
	       "its figures suspect (a descheduled spdlog worker blocks its "
	       "callers; a descheduled ttlog writer lets rings fill). "
	       "Cross-CPU wake-up round trip: %.1f µs at the start, %.1f µs "
	       "at the end.\n\n",
	       bench_ncpus(), r->wake0 / 1e3, r->wake1 / 1e3);
}

void bench_print_results(const struct bench_report *r)
{
	if (r->nlat > 0)
		print_latency(r);
	if (r->nburst > 0)
		print_burst(r);
	if (r->ndrain > 0)
		print_drain(r);
	if (r->nlat > 0 || r->nburst > 0)
		print_ratios(r);
	print_targets(r);
	print_conditions(r);
	fflush(stdout);
}
