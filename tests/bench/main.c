/*
 * main.c - ttlog-bench: ttlog against spdlog in one run.
 *
 *   ttlog-bench [--runs N] [--quick] [--no-pin] [--ttlog-clock C]
 *               [--only abc]
 *
 * (a) hot-path latency per call, (b) burst rate with the writer draining,
 * (c) writer drain rate to a null and an encoding listener; every figure
 * measured --runs times and printed as median (min-max) in markdown tables.
 * Progress goes to stderr, the report to stdout.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "bench.h"
#include "report.h"

#define MIB ((size_t)1 << 20)
/* Bytes of the largest benchmark record (8 fields) and of the 3-field one
 * in a ttlog ring: header, timestamp, call site, values, aligned to 8. */
#define REC8_BYTES 96u
#define REC3_BYTES 56u

static const int field_counts[] = {0, 3, 8};
#define NFIELD_COUNTS 3
static const int spdlog_kinds[BENCH_SPDLOG_NKINDS] = {
	BENCH_SPDLOG_ASYNC_NULL, BENCH_SPDLOG_ASYNC_FILE,
	BENCH_SPDLOG_SYNC_NULL, BENCH_SPDLOG_SYNC_FILE};
static const char *const spdlog_labels[BENCH_SPDLOG_NKINDS] = {
	BENCH_L_ASYNC, BENCH_L_ASYNC_FILE, BENCH_L_SYNC_NULL,
	BENCH_L_SYNC_FILE};
static const int burst_threads[] = {1, 2, 4};
#define NBURST_THREADS 3

static struct bench_hist hist;

static void die(const char *what, int rc)
{
	fprintf(stderr, "ttlog-bench: %s failed: %s\n", what,
		ttlog_strerror(rc));
	exit(1);
}

static size_t pow2_at_least(uint64_t bytes)
{
	size_t n = 4096;
	while (n < bytes)
		n <<= 1;
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ttlog-bench [--runs N] [--quick] [--no-pin] "
		"[--ttlog-clock C]\n"
		"  --runs N         measure everything N times (default 5, "
		"max 64)\n"
		"  --quick          small counts and 2 runs: a smoke test, "
		"not figures\n"
		"  --no-pin         leave the latency thread unpinned\n"
		"  --ttlog-clock C  ttlog's event clock: auto (default), "
		"tsc, realtime, coarse\n"
		"  --only SECTIONS  run only these of a (latency), b (burst), "
		"c (drain)\n");
}

static const struct {
	const char *name;
	int clock;
} clocks[] = {
	{"auto", TTLOG_CLOCK_AUTO},
	{"tsc", TTLOG_CLOCK_TSC},
	{"realtime", TTLOG_CLOCK_REALTIME},
	{"coarse", TTLOG_CLOCK_COARSE},
};

static int clock_by_name(struct bench_config *c, const char *name)
{
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		if (strcmp(name, clocks[i].name) == 0) {
			c->clock = clocks[i].clock;
			c->clock_name = clocks[i].name;
			return 0;
		}
	}
	return -1;
}

static void config_init(struct bench_config *c, int argc, char **argv)
{
	int runs = 0;

	memset(c, 0, sizeof(*c));
	c->pin = 1;
	c->clock = TTLOG_CLOCK_AUTO;
	c->clock_name = "auto (TSC when invariant)";
	c->sections = "abc";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = atoi(argv[++i]);
			if (runs < 1 || runs > BENCH_MAX_RUNS) {
				usage(stderr);
				exit(2);
			}
		} else if (strcmp(argv[i], "--quick") == 0) {
			c->quick = 1;
		} else if (strcmp(argv[i], "--no-pin") == 0) {
			c->pin = 0;
		} else if (strcmp(argv[i], "--ttlog-clock") == 0 &&
			   i + 1 < argc && clock_by_name(c, argv[i + 1]) == 0) {
			i++;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
			   argv[i + 1][strspn(argv[i + 1], "abc")] == '\0') {
			c->sections = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			exit(0);
		} else {
			usage(stderr);
			exit(2);
		}
	}
	c->runs = runs ? runs : c->quick ? 2 : 5;
	c->lat_samples = c->quick ? 20000 : 500000;
	c->lat_warmup = c->lat_samples / 10;
	c->burst_ttlog = c->quick ? 100000 : 1000000;
	c->burst_spdlog = c->quick ? 20000 : 200000;
	c->drain_events = c->quick ? 100000 : 1000000;
	/* The latency rows are flushed between rows, so a ring that holds
	 * one row's calls cannot drop, however slowly the writer drains. */
	c->lat_ring =
		pow2_at_least((c->lat_samples + c->lat_warmup) * REC8_BYTES);
	/* Room for two bursts: the burst rows measure the log call, and say
	 * what a ring smaller than the burst costs in a separate row. */
	c->burst_ring = pow2_at_least(2 * c->burst_ttlog * REC3_BYTES);
	/* The producer wakes the writer past half the ring; the pre-fill must
	 * stay below that for the writer to sit idle until the flush. */
	c->drain_ring = pow2_at_least(4 * c->drain_events * REC3_BYTES);
}

/* The timer row of the current run, subtracted from the others. */
static double timer_p50, timer_tmean;

/* Records the percentiles of hist into a latency row. */
static void lat_record(struct bench_lat_row *row, uint64_t dropped)
{
	double k = bench_ns_per_tick;
	double p50 = k * (double)bench_hist_percentile(&hist, 50);
	double tmean = k * bench_hist_mean_below(&hist, 99);

	bench_series_add(&row->p50, p50);
	bench_series_add(&row->mean, k * (double)hist.sum / (double)hist.total);
	bench_series_add(&row->tmean, tmean);
	bench_series_add(&row->nettmean, tmean - timer_tmean);
	bench_series_add(&row->p99,
			 k * (double)bench_hist_percentile(&hist, 99));
	bench_series_add(&row->p999,
			 k * (double)bench_hist_percentile(&hist, 99.9));
	bench_series_add(&row->max, k * (double)hist.max);
	bench_series_add(&row->net50, p50 - timer_p50);
	bench_series_add(&row->dropped, (double)dropped);
}

/* ------------------------------------------------------------------ */
/* (a) hot-path latency                                                 */
/* ------------------------------------------------------------------ */

static void latency_warmup(const struct bench_config *c)
{
	/* Page in the whole ring: positions only move forward, so logging
	 * twice its size in flushed chunks touches every page. */
	uint64_t chunk = c->lat_ring / 2 / REC8_BYTES;
	for (int i = 0; i < 4; i++) {
		bench_ttlog_log(8, chunk);
		bench_ttlog_flush();
	}
	for (int k = 0; k < BENCH_SPDLOG_NKINDS; k++) {
		if (bench_spdlog_select(spdlog_kinds[k], 1) != 0)
			exit(1);
		bench_spdlog_log(8, c->lat_warmup);
		bench_spdlog_settle();
	}
}

static int latency(const struct bench_config *c, struct bench_lat_row *rows)
{
	int n = 0, rc;
	uint64_t samples = c->lat_samples, warm = c->lat_warmup;

	rc = bench_ttlog_start(c->lat_ring, 20, BENCH_SINK_NULL);
	if (rc != 0)
		die("ttlog_init", rc);
	/* Pinned after the writer and spdlog's worker exist, so they keep
	 * every CPU and the scheduler puts them on the other one. */
	if (c->pin)
		(void)bench_pin(bench_ncpus() - 1);
	latency_warmup(c);

	for (int run = 0; run < c->runs; run++) {
		struct bench_lat_row *row = rows;

		fprintf(stderr, "ttlog-bench: (a) latency, run %d/%d\n",
			run + 1, c->runs);
		row->logger = BENCH_L_TIMER;
		row->nfields = -1;
		bench_timer_overhead(warm, &hist);
		bench_hist_reset(&hist);
		bench_timer_overhead(samples, &hist);
		timer_p50 = bench_ns_per_tick *
			    (double)bench_hist_percentile(&hist, 50);
		timer_tmean =
			bench_ns_per_tick * bench_hist_mean_below(&hist, 99);
		lat_record(row++, 0);

		for (int f = 0; f < NFIELD_COUNTS; f++, row++) {
			uint64_t d0 = bench_ttlog_dropped();
			row->logger = BENCH_L_TTLOG;
			row->nfields = field_counts[f];
			bench_ttlog_latency(field_counts[f], warm, &hist);
			bench_hist_reset(&hist);
			bench_ttlog_latency(field_counts[f], samples, &hist);
			bench_ttlog_flush();
			lat_record(row, bench_ttlog_dropped() - d0);
		}
		for (int k = 0; k < BENCH_SPDLOG_NKINDS; k++) {
			if (bench_spdlog_select(spdlog_kinds[k], 1) != 0)
				exit(1);
			for (int f = 0; f < NFIELD_COUNTS; f++, row++) {
				uint64_t d0 = bench_spdlog_overruns();
				row->logger = spdlog_labels[k];
				row->nfields = field_counts[f];
				bench_spdlog_latency(field_counts[f], warm,
						     &hist);
				bench_hist_reset(&hist);
				bench_spdlog_latency(field_counts[f], samples,
						     &hist);
				bench_spdlog_settle();
				lat_record(row, bench_spdlog_overruns() - d0);
			}
		}
		n = (int)(row - rows);
	}
	if (c->pin)
		(void)bench_pin(-1);
	bench_ttlog_stop();
	return n;
}

/* ------------------------------------------------------------------ */
/* (b) burst                                                            */
/* ------------------------------------------------------------------ */

static void ttlog_burst_log(void *ctx, uint64_t n)
{
	(void)ctx;
	bench_ttlog_log(3, n);
}

static void ttlog_burst_settle(void *ctx)
{
	(void)ctx;
	bench_ttlog_flush();
}

static uint64_t ttlog_burst_dropped(void *ctx)
{
	(void)ctx;
	return bench_ttlog_dropped();
}

static void spdlog_burst_log(void *ctx, uint64_t n)
{
	(void)ctx;
	bench_spdlog_log(3, n);
}

static void spdlog_burst_settle(void *ctx)
{
	(void)ctx;
	bench_spdlog_settle();
}

static uint64_t spdlog_burst_dropped(void *ctx)
{
	(void)ctx;
	return bench_spdlog_overruns();
}

static void burst_row(const struct bench_config *c, struct bench_burst_row *row,
		      struct bench_burst *b, const char *label)
{
	int rc;

	fprintf(stderr, "ttlog-bench: (b) burst, %s, %d thread(s)\n", label,
		b->threads);
	row->logger = label;
	row->threads = b->threads;
	row->events = b->events;
	rc = bench_burst_run(b, c->runs, &row->rate, &row->dropped);
	if (rc != 0)
		die("starting the burst threads", rc);
}

static int burst(const struct bench_config *c, struct bench_burst_row *rows)
{
	struct bench_burst b;
	int n = 0, rc;

	for (int t = 0; t < NBURST_THREADS; t++) {
		/* A 1 ms interval: the writer drains during the burst rather
		 * than once after it. */
		rc = bench_ttlog_start(c->burst_ring, 1, BENCH_SINK_NULL);
		if (rc != 0)
			die("ttlog_init", rc);
		b = (struct bench_burst){burst_threads[t],
					 c->burst_ttlog,
					 3 * c->burst_ttlog,
					 ttlog_burst_log,
					 ttlog_burst_settle,
					 ttlog_burst_dropped,
					 NULL};
		burst_row(c, &rows[n++], &b, BENCH_L_TTLOG);
		bench_ttlog_stop();
	}
	/* The same single-thread burst with the default ring and interval:
	 * the burst is larger than the ring, so the writer must keep up
	 * (woken past half the ring) or events drop. */
	rc = bench_ttlog_start(MIB, 20, BENCH_SINK_NULL);
	if (rc != 0)
		die("ttlog_init", rc);
	b = (struct bench_burst){1,
				 c->burst_ttlog,
				 3 * c->burst_ttlog,
				 ttlog_burst_log,
				 ttlog_burst_settle,
				 ttlog_burst_dropped,
				 NULL};
	burst_row(c, &rows[n++], &b, BENCH_L_TTLOG_SMALL);
	bench_ttlog_stop();

	for (int k = 0; k < BENCH_SPDLOG_NKINDS; k++) {
		for (int t = 0; t < NBURST_THREADS; t++) {
			if (bench_spdlog_select(spdlog_kinds[k], 1) != 0)
				exit(1);
			b = (struct bench_burst){burst_threads[t],
						 c->burst_spdlog,
						 c->burst_spdlog / 2,
						 spdlog_burst_log,
						 spdlog_burst_settle,
						 spdlog_burst_dropped,
						 NULL};
			burst_row(c, &rows[n++], &b, spdlog_labels[k]);
		}
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* (c) writer drain                                                     */
/* ------------------------------------------------------------------ */

static const char *const sink_labels[] = {
	"null (consume returns OK)",
	"CBOR (ttlog_batch_encode)",
	"CBOR+LZ4 (ttlog_batch_encode)",
};

static void drain_row(const struct bench_config *c, struct bench_drain_row *row,
		      enum bench_sink sink)
{
	/* The timer never fires during a run: only the flush drains. */
	int rc = bench_ttlog_start(c->drain_ring, 3600u * 1000u, sink);

	if (rc != 0)
		die("ttlog_init", rc);
	row->sink = sink_labels[sink];
	row->events = c->drain_events;
	for (int run = -1; run < c->runs; run++) {
		struct bench_sink_counts s0, s1;
		uint64_t d0 = bench_ttlog_dropped(), ring, t0, t1;
		double sec;

		if (run >= 0)
			fprintf(stderr,
				"ttlog-bench: (c) drain, %s, run %d/%d\n",
				row->sink, run + 1, c->runs);
		bench_ttlog_log(3, c->drain_events);
		ring = bench_ttlog_ring_bytes();
		bench_ttlog_sink_counts(&s0);
		t0 = bench_now_ns();
		bench_ttlog_flush();
		t1 = bench_now_ns();
		bench_ttlog_sink_counts(&s1);
		if (run < 0)
			continue; /* warm-up: allocator, caches, code */
		sec = (double)(t1 - t0) / 1e9;
		bench_series_add(&row->rate,
				 (double)(s1.events - s0.events) / sec);
		bench_series_add(&row->ring_mbps, (double)ring / sec / 1e6);
		bench_series_add(&row->out_mbps,
				 (double)(s1.bytes - s0.bytes) / sec / 1e6);
		bench_series_add(&row->out_per_event,
				 (double)(s1.bytes - s0.bytes) /
					 (double)(s1.events - s0.events));
		if (s1.bytes > s0.bytes && s1.cbor_bytes > s0.cbor_bytes)
			bench_series_add(
				&row->lz4_ratio,
				(double)(s1.cbor_bytes - s0.cbor_bytes) /
					(double)(s1.bytes - s0.bytes));
		/* Events the listener did not see are lost too. */
		bench_series_add(&row->dropped,
				 (double)(bench_ttlog_dropped() - d0 +
					  c->drain_events -
					  (s1.events - s0.events)));
	}
	bench_ttlog_stop();
}

static int drain(const struct bench_config *c, struct bench_drain_row *rows)
{
	drain_row(c, &rows[0], BENCH_SINK_NULL);
	drain_row(c, &rows[1], BENCH_SINK_CBOR);
	drain_row(c, &rows[2], BENCH_SINK_CBOR_LZ4);
	return 3;
}

int main(int argc, char **argv)
{
	static struct bench_lat_row
		lat[1 + NFIELD_COUNTS * (1 + BENCH_SPDLOG_NKINDS)];
	static struct bench_burst_row
		bursts[NBURST_THREADS * (1 + BENCH_SPDLOG_NKINDS) + 1];
	static struct bench_drain_row drains[3];
	struct bench_config cfg;
	struct bench_report r;

	config_init(&cfg, argc, argv);
	bench_ttlog_set_clock(cfg.clock);
	memset(&r, 0, sizeof(r));
	r.cfg = &cfg;
	r.tsc_hz = bench_tsc_calibrate(200);
	r.tsc_step = bench_tsc_step();
	r.wake0 = bench_wake_rtt_ns(1000);
	r.lat = lat;
	r.burst = bursts;
	r.drain = drains;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	bench_print_header(&r);
	fflush(stdout);

	bench_cpu_read(&r.cpu[0]);
	r.at_ns[0] = bench_now_ns();
	if (strpbrk(cfg.sections, "ab") && bench_spdlog_start("/tmp") != 0)
		return 1;
	if (strchr(cfg.sections, 'a'))
		r.nlat = latency(&cfg, lat);
	bench_cpu_read(&r.cpu[1]);
	r.at_ns[1] = bench_now_ns();
	if (strchr(cfg.sections, 'b'))
		r.nburst = burst(&cfg, bursts);
	if (strpbrk(cfg.sections, "ab"))
		bench_spdlog_stop();
	bench_cpu_read(&r.cpu[2]);
	r.at_ns[2] = bench_now_ns();
	if (strchr(cfg.sections, 'c'))
		r.ndrain = drain(&cfg, drains);
	bench_cpu_read(&r.cpu[3]);
	r.at_ns[3] = bench_now_ns();
	r.wake1 = bench_wake_rtt_ns(1000);
	bench_print_results(&r);
	return 0;
}
