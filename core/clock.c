/* clock.c - TSC detection and calibration against CLOCK_REALTIME. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "clock_internal.h"

int ttlog__clock_kind = TTLOG_CLOCK_REALTIME;

/* The TSC is usable only when it ticks at a constant rate in every power
 * state; the kernel says so through the cpu flags. */
static int tsc_is_invariant(void)
{
#if TTLOG__HAVE_TSC
	char line[4096];
	int constant = 0, nonstop = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		constant = strstr(line, " constant_tsc") != NULL;
		nonstop = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return constant && nonstop;
#else
	return 0;
#endif
}

int ttlog__clock_resolve(enum ttlog_clock wanted)
{
	switch (wanted) {
	case TTLOG_CLOCK_TSC:
		return TTLOG__HAVE_TSC ? TTLOG_CLOCK_TSC : TTLOG_CLOCK_REALTIME;
	case TTLOG_CLOCK_REALTIME:
	case TTLOG_CLOCK_COARSE:
		return (int)wanted;
	case TTLOG_CLOCK_AUTO:
	default:
		return tsc_is_invariant() ? TTLOG_CLOCK_TSC
					  : TTLOG_CLOCK_REALTIME;
	}
}

#if TTLOG__HAVE_TSC
/* Reads the TSC and the real-time clock as close together as possible:
 * the pair with the shortest TSC window around the clock read wins. */
static void read_pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	*tsc = *ns = 0;
	for (int i = 0; i < 5; i++) {
		uint64_t a = __rdtsc();
		uint64_t t = ttlog__clock_ts_ns(CLOCK_REALTIME);
		uint64_t b = __rdtsc();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = t;
		}
	}
}
#endif

void ttlog__clock_init(struct ttlog__clock *c, int kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
#if TTLOG__HAVE_TSC
	if (kind == TTLOG_CLOCK_TSC) {
		struct timespec pause = {0, 2000000};
		uint64_t t1, n1;
		read_pair(&c->tsc_base, &c->ns_base);
		nanosleep(&pause, NULL);
		read_pair(&t1, &n1);
		c->ns_per_tick =
			(double)(n1 - c->ns_base) / (double)(t1 - c->tsc_base);
		c->tsc_anchor = t1;
		c->ns_anchor = n1;
	}
#endif
}

void ttlog__clock_update(struct ttlog__clock *c)
{
#if TTLOG__HAVE_TSC
	uint64_t t, n;
	if (c->kind != TTLOG_CLOCK_TSC)
		return;
	if ((double)(__rdtsc() - c->tsc_anchor) * c->ns_per_tick < 1e9)
		return;
	read_pair(&t, &n);
	if (n > c->ns_base && t > c->tsc_base) {
		double rate =
			(double)(n - c->ns_base) / (double)(t - c->tsc_base);
		/* A rate off by more than 1% means the wall clock was
		 * stepped: start a new baseline, keep the old rate. */
		if (rate > c->ns_per_tick * 0.99 &&
		    rate < c->ns_per_tick * 1.01)
			c->ns_per_tick = rate;
		else {
			c->tsc_base = t;
			c->ns_base = n;
		}
	} else {
		c->tsc_base = t;
		c->ns_base = n;
	}
	c->tsc_anchor = t;
	c->ns_anchor = n;
#else
	(void)c;
#endif
}
