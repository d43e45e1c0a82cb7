/*
 * ratelimit.h - at most one log line per interval, with the count of
 * those left out since the last one: what the agent's warnings about
 * peers use, so that a peer that keeps misbehaving cannot flood the
 * agent's own log. Not thread-safe; each owner uses its own.
 */
#ifndef TTLOG_RATELIMIT_H
#define TTLOG_RATELIMIT_H

#include <stdint.h>

struct ttlog__ratelimit {
	uint64_t last_ns;    /* when the last line went out */
	uint64_t suppressed; /* lines left out since */
	int armed;	     /* a line went out once */
};

/* Whether a line may go out at now_ns (any one monotonic clock): then
 * *suppressed is the count left out since the last one, and the count
 * starts again; else this one is counted as left out. */
static inline int ttlog__ratelimit_pass(struct ttlog__ratelimit *rl,
					uint64_t now_ns, uint64_t every_ns,
					uint64_t *suppressed)
{
	if (rl->armed && now_ns - rl->last_ns < every_ns) {
		rl->suppressed++;
		return 0;
	}
	*suppressed = rl->suppressed;
	rl->armed = 1;
	rl->last_ns = now_ns;
	rl->suppressed = 0;
	return 1;
}

#endif /* TTLOG_RATELIMIT_H */
