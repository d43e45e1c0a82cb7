/*
 * bench.h - shared pieces of ttlog-bench: the cycle timer, the latency
 * histogram, per-run series, and the interface of each measured logger.
 *
 * Included from C (the ttlog side and the driver) and from C++ (the spdlog
 * side), so everything here is plain C that also compiles as C++.
 */
#ifndef TTLOG_BENCH_H
#define TTLOG_BENCH_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__x86_64__) && !defined(__i386__)
#error "ttlog-bench times calls with rdtsc/rdtscp; it needs x86"
#endif
#include <x86intrin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Cycle timer                                                          */
/* ------------------------------------------------------------------ */

/*
 * Start and end of a timed region. The lfence pair keeps earlier work out
 * of the region and the rdtsc from running ahead of it; rdtscp waits for the
 * region's instructions to finish before it reads. cpuid would serialise
 * harder but is a VM exit (microseconds) under KVM. The empty asm statements
 * keep the compiler from moving memory accesses across either end.
 */
static inline uint64_t bench_tsc_begin(void)
{
	uint64_t t;
	__asm__ __volatile__("" ::: "memory");
	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	__asm__ __volatile__("" ::: "memory");
	return t;
}

static inline uint64_t bench_tsc_end(void)
{
	unsigned aux;
	uint64_t t;
	__asm__ __volatile__("" ::: "memory");
	t = __rdtscp(&aux);
	_mm_lfence();
	__asm__ __volatile__("" ::: "memory");
	return t;
}

/* Nanoseconds per TSC tick, set by bench_tsc_calibrate(). */
extern double bench_ns_per_tick;
/* Measures the TSC rate against CLOCK_MONOTONIC_RAW over about ms
 * milliseconds; sets bench_ns_per_tick and returns the TSC frequency in Hz. */
double bench_tsc_calibrate(unsigned ms);
/* The step in which the TSC advances, in ticks: the greatest common divisor
 * of the deltas between back-to-back reads that occur in at least 1% of
 * them. 1 on a TSC that counts every cycle; on AMD Zen the TSC is updated at
 * 100 MHz, so it moves in steps of (TSC MHz / 100) ticks, 10 ns. No single
 * timing can resolve less. */
uint64_t bench_tsc_step(void);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* ------------------------------------------------------------------ */
/* Log-linear histogram of tick counts (HdrHistogram layout)            */
/* ------------------------------------------------------------------ */

/*
 * Values below 2^BENCH_HIST_SUB_BITS are counted exactly; above, every
 * power of two is split into 2^(BENCH_HIST_SUB_BITS-1) equal buckets, so a
 * bucket is at most 1/64 of its value wide (1.6% with 7 bits).
 */
#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_HALF (BENCH_HIST_SUB / 2)
#define BENCH_HIST_BUCKETS                                                     \
	(BENCH_HIST_SUB + (64 - BENCH_HIST_SUB_BITS) * BENCH_HIST_HALF)

struct bench_hist {
	uint64_t total;
	uint64_t max;
	uint64_t sum; /* for the mean, which the TSC's step does not bias */
	uint64_t counts[BENCH_HIST_BUCKETS];
};

static inline unsigned bench_hist_index(uint64_t v)
{
	unsigned shift;

	if (v < BENCH_HIST_SUB)
		return (unsigned)v;
	shift = (unsigned)(63 - __builtin_clzll(v)) - BENCH_HIST_SUB_BITS + 1;
	return BENCH_HIST_SUB + (shift - 1) * BENCH_HIST_HALF +
	       (unsigned)(v >> shift) - BENCH_HIST_HALF;
}

static inline void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->counts[bench_hist_index(v)]++;
	h->total++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Mean of the fastest p% of the values (bucket midpoints above the exact
 * range): a centre that neither the TSC step nor rare stalls (preemption,
 * page faults) bias. */
double bench_hist_mean_below(const struct bench_hist *h, double p);
/* Empties *h. */
void bench_hist_reset(struct bench_hist *h);
/* The highest value equivalent to the bucket holding percentile p (0..100)
 * of the recorded values, as HdrHistogram reports it; the exact maximum for
 * p = 100; 0 when empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

/*
 * Times `stmt` once per iteration into histogram h, n times. `stmt` may use
 * the loop counter `bench_i` (uint64_t). Expanded in each measured file so
 * the measured call is inlined exactly as an application would write it.
 */
#define BENCH_TIMED_LOOP(h, n, stmt)                                           \
	do {                                                                   \
		for (uint64_t bench_i = 0; bench_i < (n); bench_i++) {         \
			uint64_t bench_t0 = bench_tsc_begin();                 \
			stmt;                                                  \
			bench_hist_add((h), bench_tsc_end() - bench_t0);       \
		}                                                              \
	} while (0)

/* ------------------------------------------------------------------ */
/* Per-run figures                                                      */
/* ------------------------------------------------------------------ */

#define BENCH_MAX_RUNS 64

/* One figure measured once per run. */
struct bench_series {
	int n;
	double v[BENCH_MAX_RUNS];
};

void bench_series_add(struct bench_series *s, double x);
double bench_series_median(const struct bench_series *s);
double bench_series_min(const struct bench_series *s);
double bench_series_max(const struct bench_series *s);

/* ------------------------------------------------------------------ */
/* Burst driver (burst.c)                                               */
/* ------------------------------------------------------------------ */

/* A logger under a burst: `log` logs n events from the calling thread as
 * fast as it can; `settle` (main thread, between runs) waits until what was
 * logged has left the producers' buffers; `dropped` reads a drop counter. */
struct bench_burst {
	int threads;
	uint64_t events; /* per thread and run */
	uint64_t warmup; /* per thread, once, before the first run */
	void (*log)(void *ctx, uint64_t n);
	void (*settle)(void *ctx);
	uint64_t (*dropped)(void *ctx);
	void *ctx;
};

/*
 * Starts b->threads threads, warms them up, then runs `runs` bursts in
 * which every thread logs b->events; appends the aggregate events/s of each
 * run (all events over the time from the first thread's start to the last
 * thread's end) to *rate and the events dropped during it to *dropped.
 * @return 0, or -errno when a thread could not be started.
 */
int bench_burst_run(const struct bench_burst *b, int runs,
		    struct bench_series *rate, struct bench_series *dropped);

/* ------------------------------------------------------------------ */
/* Machine (sysinfo.c)                                                  */
/* ------------------------------------------------------------------ */

/* Copies the CPU model, "kernel release machine" and the current clock
 * source into the buffers ("?" when unknown). */
void bench_sysinfo(char *cpu, size_t cpu_len, char *kernel, size_t kernel_len,
		   char *clocksource, size_t cs_len);
/* CPU time of the whole machine and of this process, in clock ticks. */
struct bench_cpu_sample {
	uint64_t busy;	/* every CPU, not idle or iowait (includes steal) */
	uint64_t total; /* every CPU, all states */
	uint64_t steal; /* taken by the hypervisor */
	uint64_t self;	/* this process, user and system */
};
void bench_cpu_read(struct bench_cpu_sample *s);
/* Median round trip, in ns, of n wake-ups of a thread blocked in read() on
 * an eventfd, between threads pinned to the first and the last CPU: what a
 * logger pays when it wakes a sleeping writer or worker. On a VM it moves
 * with the host (an idle vCPU must be rescheduled by the host), and it
 * moves spdlog's async figures with it. 0 when it cannot be measured. */
double bench_wake_rtt_ns(int n);
/* Online CPUs. */
int bench_ncpus(void);
/* Pins the calling thread to cpu, or lets it run anywhere when cpu < 0.
 * Returns 0 or -errno. */
int bench_pin(int cpu);

/* ------------------------------------------------------------------ */
/* ttlog side (ttlog_side.c)                                            */
/* ------------------------------------------------------------------ */

/* What the in-process listener does with each batch. */
enum bench_sink {
	BENCH_SINK_NULL = 0,	 /* counts events, returns OK */
	BENCH_SINK_CBOR = 1,	 /* ttlog_batch_encode(CBOR) */
	BENCH_SINK_CBOR_LZ4 = 2, /* ttlog_batch_encode(CBOR_LZ4) */
};

/* What the listener saw since ttlog was started. */
struct bench_sink_counts {
	uint64_t events;
	uint64_t batches;
	uint64_t bytes;	     /* encoded output */
	uint64_t cbor_bytes; /* CBOR before LZ4 (CBOR_LZ4 only) */
	uint64_t errors;
};

/* ttlog_init with one bench listener and the event clock set by
 * bench_ttlog_set_clock() (default AUTO). Returns 0 or a TTLOG_E* code. */
int bench_ttlog_start(size_t ring_bytes, uint32_t flush_interval_ms,
		      enum bench_sink sink);
/* An enum ttlog_clock for every later bench_ttlog_start(). */
void bench_ttlog_set_clock(int clock);
void bench_ttlog_stop(void);
/* ttlog_flush(). */
void bench_ttlog_flush(void);
/* Every event lost so far: the dropped_* counters and listener drops. */
uint64_t bench_ttlog_dropped(void);
/* Bytes in the rings now. */
uint64_t bench_ttlog_ring_bytes(void);
/* The listener's counters; read after bench_ttlog_flush(). */
void bench_ttlog_sink_counts(struct bench_sink_counts *out);
/* Logs n events with nfields (0, 3 or 8) fields, untimed. */
void bench_ttlog_log(int nfields, uint64_t n);
/* Logs n events with nfields fields, each timed into h. */
void bench_ttlog_latency(int nfields, uint64_t n, struct bench_hist *h);
/* Times an empty region n times into h: the timer's own cost. */
void bench_timer_overhead(uint64_t n, struct bench_hist *h);

/* ------------------------------------------------------------------ */
/* spdlog side (spdlog_side.cpp)                                        */
/* ------------------------------------------------------------------ */

/* The async loggers: spdlog::async_factory, a queue of 8192, 1 worker
 * thread, overflow policy block. Every logger keeps the default level
 * (info) and pattern. */
enum bench_spdlog_kind {
	BENCH_SPDLOG_ASYNC_NULL = 0, /* async, null_sink_mt */
	BENCH_SPDLOG_ASYNC_FILE = 1, /* async, basic_file_sink_mt */
	BENCH_SPDLOG_SYNC_NULL = 2,  /* null_sink_mt */
	BENCH_SPDLOG_SYNC_FILE = 3,  /* basic_file_sink_mt */
	BENCH_SPDLOG_NKINDS = 4
};

/* Creates the thread pool and the loggers; the file loggers write to
 * files in dir (truncated). Returns 0, or -1 after printing why. */
int bench_spdlog_start(const char *dir);
/* Drops every logger, stops the pool and removes the files. */
void bench_spdlog_stop(void);
/* Makes `kind` spdlog's default logger, the one spdlog::info() uses;
 * recreating (truncating) the file logger first when asked. */
int bench_spdlog_select(int kind, int truncate_file);
/* spdlog::info() n times with nfields (0, 3 or 8) values, untimed. */
void bench_spdlog_log(int nfields, uint64_t n);
/* The same, each call timed into h. */
void bench_spdlog_latency(int nfields, uint64_t n, struct bench_hist *h);
/* Waits until the default logger has written everything (async: the
 * queue is empty), then flushes it. */
void bench_spdlog_settle(void);
/* Messages the async queue overran (always 0 with the block policy). */
uint64_t bench_spdlog_overruns(void);
/* "spdlog 1.10.0, fmt 9.1.0". */
const char *bench_spdlog_version(void);

#ifdef __cplusplus
}
#endif

#endif /* TTLOG_BENCH_H */
