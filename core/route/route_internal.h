/*
 * route_internal.h - the compiled routing (route.h), shared by the
 * runner (route.c) and the compiler (route_config.c).
 */
#ifndef TTLOG_ROUTE_INTERNAL_H
#define TTLOG_ROUTE_INTERNAL_H

#include <stdatomic.h>

#include "expr.h"
#include "ingest_internal.h"
#include "parse_internal.h"
#include "proc.h"
#include "route.h"

/* One item of a processors: list. */
struct ttlog__route_item {
	struct ttlog__proc *p;
	struct ttlog__expr *match; /* NULL: every event */
	char *scope, *name;
	_Atomic uint64_t in, dropped, failed;
};

struct ttlog__chain {
	struct ttlog__route_item *it;
	size_t n;
};

struct ttlog__route {
	struct ttlog__expr *match; /* NULL: no match: */
	int is_else;		   /* match: else */
	struct ttlog__chain procs;
	unsigned char *keep; /* per event of the prepared batch */
	size_t keep_cap;
};

struct ttlog__routing {
	size_t n;
	struct ttlog__route *rt;
	struct ttlog__chain global;
	int any_match; /* a listener has match: (expression or else) */
	int has_else;
	int takes_all; /* a listener has no match: */
	/* The prepared batch: events some match selected. */
	unsigned char *any;
	size_t any_cap;
	int prepared;
	/* Events no listener took (every listener has a match, none is
	 * else, and none matched). */
	_Atomic uint64_t unrouted;
	int unrouted_said; /* the first such events were logged */
	struct ttlog__scratch scratch;
	struct ttlog__work work;
};

#endif /* TTLOG_ROUTE_INTERNAL_H */
