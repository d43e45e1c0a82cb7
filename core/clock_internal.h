/*
 * clock_internal.h - event timestamps.
 *
 * Producers read a raw tick (the TSC where it is invariant, else the
 * real-time clock) and the writer converts ticks to nanoseconds since the
 * epoch. The conversion re-anchors to CLOCK_REALTIME every second, so a
 * wall-clock step shows up within a second and TSC rate error never
 * accumulates beyond one second's worth.
 */
#ifndef TTLOG_CLOCK_INTERNAL_H
#define TTLOG_CLOCK_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include <ttlog/ttlog.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define TTLOG__HAVE_TSC 1
#else
#define TTLOG__HAVE_TSC 0
#endif

/* Resolved kind (never AUTO), set by ttlog_init before any ring exists. */
extern int ttlog__clock_kind;

static inline uint64_t ttlog__clock_ts_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Producer side: the raw timestamp of an event. */
static inline uint64_t ttlog__clock_raw(void)
{
#if TTLOG__HAVE_TSC
	if (ttlog__clock_kind == TTLOG_CLOCK_TSC)
		return __rdtsc();
#endif
	if (ttlog__clock_kind == TTLOG_CLOCK_COARSE)
		return ttlog__clock_ts_ns(CLOCK_REALTIME_COARSE);
	return ttlog__clock_ts_ns(CLOCK_REALTIME);
}

/* Writer side: converts raw timestamps of one run to wall time. */
struct ttlog__clock {
	int kind;
	uint64_t tsc_base, ns_base;	/* long baseline for the rate */
	uint64_t tsc_anchor, ns_anchor; /* re-taken every second */
	double ns_per_tick;
};

/* Resolves TTLOG_CLOCK_AUTO to what this machine supports. */
int ttlog__clock_resolve(enum ttlog_clock wanted);
/* Calibrates (about 2 ms for the TSC). */
void ttlog__clock_init(struct ttlog__clock *c, int kind);
/* Re-anchors when a second has passed since the last anchor. */
void ttlog__clock_update(struct ttlog__clock *c);

static inline uint64_t ttlog__clock_to_ns(const struct ttlog__clock *c,
					  uint64_t raw)
{
	if (c->kind != TTLOG_CLOCK_TSC)
		return raw;
	double d = (double)(int64_t)(raw - c->tsc_anchor) * c->ns_per_tick;
	return (uint64_t)((int64_t)c->ns_anchor + (int64_t)d);
}

#endif /* TTLOG_CLOCK_INTERNAL_H */
