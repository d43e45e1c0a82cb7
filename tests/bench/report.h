/*
 * report.h - the figures ttlog-bench collects and the markdown tables it
 * prints from them (report.c).
 */
#ifndef TTLOG_BENCH_REPORT_H
#define TTLOG_BENCH_REPORT_H

#include <stdint.h>

#include "bench.h"

/* What each section measures. */
struct bench_config {
	int runs;
	int quick;
	int pin;		/* pin the latency thread to the last CPU */
	int clock;		/* enum ttlog_clock for every ttlog row */
	const char *clock_name; /* as printed */
	const char *sections;	/* of "abc": the sections to run */
	uint64_t lat_samples;	/* timed calls per row and run */
	uint64_t lat_warmup;	/* untimed-for-the-report calls before them */
	size_t lat_ring;	/* ttlog ring for the latency rows */
	uint64_t burst_ttlog;	/* events per thread and run */
	uint64_t burst_spdlog;	/* the same for spdlog, which is far slower */
	size_t burst_ring;	/* ttlog ring for the burst rows */
	uint64_t drain_events;	/* events pre-filled per drain run */
	size_t drain_ring;	/* ttlog ring for the drain rows */
};

/* Row labels; the report finds rows by them. */
#define BENCH_L_TIMER "timer (empty region)"
#define BENCH_L_TTLOG "ttlog"
#define BENCH_L_TTLOG_SMALL "ttlog, default 1 MiB ring"
#define BENCH_L_ASYNC "spdlog async, null sink"
#define BENCH_L_ASYNC_FILE "spdlog async, file in /tmp"
#define BENCH_L_SYNC_NULL "spdlog sync, null sink"
#define BENCH_L_SYNC_FILE "spdlog sync, file in /tmp"

/* One latency row: a logger and a field count, percentiles in ns. */
struct bench_lat_row {
	const char *logger;
	int nfields; /* -1: the timer overhead row */
	struct bench_series p50, p99, p999, max, mean, tmean, net50, nettmean,
		dropped;
};

/* One burst row. */
struct bench_burst_row {
	const char *logger;
	int threads;
	uint64_t events; /* per thread and run */
	struct bench_series rate, dropped;
};

/* One writer drain row. */
struct bench_drain_row {
	const char *sink;
	uint64_t events; /* per run */
	struct bench_series rate, ring_mbps, out_mbps, out_per_event, lz4_ratio,
		dropped;
};

struct bench_report {
	const struct bench_config *cfg;
	double tsc_hz;
	uint64_t tsc_step; /* ticks; see bench_tsc_step() */
	/* CPU time and wall time before section a and after a, b and c
	 * (a section not run takes no time). */
	struct bench_cpu_sample cpu[4];
	uint64_t at_ns[4];
	double wake0, wake1; /* bench_wake_rtt_ns() at start and end */
	struct bench_lat_row *lat;
	int nlat;
	struct bench_burst_row *burst;
	int nburst;
	struct bench_drain_row *drain;
	int ndrain;
};

/* Prints the machine, the build and the configuration. */
void bench_print_header(const struct bench_report *r);
/* Prints the tables, the ratios and the targets. */
void bench_print_results(const struct bench_report *r);

#endif /* TTLOG_BENCH_REPORT_H */
