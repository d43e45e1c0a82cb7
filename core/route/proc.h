/*
 * proc.h - processors (docs/routing.md): small declarative steps that
 * change, parse or drop events, global (before routing) or per listener.
 *
 *   processors:
 *     - {type: drop, match: 'service == "chatty" and level <= DEBUG'}
 *     - {type: redact, pattern: 'password=\S+', replace: 'password=***'}
 *     - {type: parse, format: logfmt}
 *     - {type: sample, rate: 10, key: trace_id}
 *
 * The runner (route.c) owns `match:` and `name:` of each item and calls a
 * processor only for events that match; everything else of the item is the
 * processor's own options. A processor works on a work event: an in_event
 * whose strings point into the batch being read or into the work's
 * scratch. Anything a processor makes (a redacted message, a parsed
 * field) is copied into the scratch first.
 */
#ifndef TTLOG_ROUTE_PROC_H
#define TTLOG_ROUTE_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "config_internal.h"
#include "ingest_internal.h"
#include "view.h"

struct ttlog__work {
	struct ttlog__in_event ev; /* msg, level, time_ns, fields */
	const struct ttlog_origin *origin;
	struct ttlog__scratch *s; /* reset by the runner for each event */
	int changed;		  /* set by a processor that changed ev */
};

enum ttlog__proc_rc {
	TTLOG__PROC_KEEP = 0, /* go on with the next processor */
	TTLOG__PROC_DROP = 1, /* the event goes no further (counted) */
	/* The processor could not do its job on this event (a message that
	 * is not JSON, a scratch that could not grow): the event goes on
	 * unchanged by it, counted as failed. */
	TTLOG__PROC_FAILED = 2
};

struct ttlog__proc;

/*
 * Compiles one item of a processors: list. sec is the item's map; path
 * names it for messages ("listeners[2].processors[0]"). Keys `type`,
 * `match` and `name` are the runner's: the processor ignores them. Every
 * problem is added to d with the place of the node at fault (an unknown
 * key with a did-you-mean, a regex error at its column). @return NULL on
 * error.
 */
struct ttlog__proc *ttlog__proc_compile(const struct ttlog__cfg_node *sec,
					const char *path,
					struct ttlog__diag *d);
/* Runs p on w. now_ns: CLOCK_MONOTONIC, for throttle. Writer thread. */
enum ttlog__proc_rc ttlog__proc_apply(struct ttlog__proc *p,
				      struct ttlog__work *w, uint64_t now_ns);
/* The item's type as written ("redact"). */
const char *ttlog__proc_type(const struct ttlog__proc *p);
void ttlog__proc_free(struct ttlog__proc *p);

#endif /* TTLOG_ROUTE_PROC_H */
