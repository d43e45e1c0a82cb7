/*
 * route.h - routing and processing (docs/routing.md): global processors
 * before routing, a match: per listener (or `match: else`), processors per
 * listener on that listener's copy only.
 *
 * The configuration (listeners/pipeline.c) compiles a struct
 * ttlog__routing with one route per listener, in the listeners' order,
 * and hands it to the writer with the listeners (ttlog__host_start(),
 * ttlog__host_reconfigure()). The writer borrows it; its owner frees it
 * after the writer let go (ttlog_shutdown(), or the reconfiguration that
 * replaced it). Everything below but the compile functions and the stats
 * runs on the writer thread.
 */
#ifndef TTLOG_ROUTE_ROUTE_H
#define TTLOG_ROUTE_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/batch.h>

#include "config_internal.h"
#include "host_internal.h"

struct ttlog__routing;

/* An empty routing for n listeners (every listener gets every event).
 * NULL when out of memory. */
struct ttlog__routing *ttlog__routing_new(size_t nlisteners);
void ttlog__routing_free(struct ttlog__routing *r);

/*
 * Compiles listener li's `match:` node (a string: an expression, or
 * "else": the events that no listener's match selected). Errors go to d
 * with FILE:LINE:COL of the place inside the expression. @return 0 or -1.
 */
int ttlog__routing_set_match(struct ttlog__routing *r, size_t li,
			     const struct ttlog__cfg_node *n, const char *path,
			     struct ttlog__diag *d);
/*
 * Compiles a `processors:` list: the global one (li == SIZE_MAX) or
 * listener li's. scope names it in the stats ("global" or the listener's
 * name; copied). @return 0 or -1 (errors in d).
 */
int ttlog__routing_set_processors(struct ttlog__routing *r, size_t li,
				  const char *scope,
				  const struct ttlog__cfg_node *seq,
				  const char *path, struct ttlog__diag *d);
/* Finishes r once every listener's part is compiled. */
void ttlog__routing_done(struct ttlog__routing *r);
/* The place of byte off of scalar n's text (for errors inside it). */
void ttlog__route_place(const struct ttlog__cfg_node *n, size_t off,
			struct ttlog__cfg_node *at);
/* Whether r does anything at all (else the writer skips it). */
int ttlog__routing_active(const struct ttlog__routing *r);
/* After a reload: processors of r that have the scope, name and type of
 * one in old continue its counts. */
void ttlog__routing_adopt(struct ttlog__routing *r,
			  const struct ttlog__routing *old);

/* ---- writer thread ---- */

/*
 * The global processors applied to b. Consumes the caller's reference to
 * b and returns one to the result: b itself when nothing changed, a new
 * batch with the same seq otherwise, NULL when every event was dropped or
 * memory ran out (*oom set; the events are counted lost by the caller).
 */
struct ttlog_batch *ttlog__routing_global(struct ttlog__routing *r,
					  struct ttlog_batch *b, int *oom);
/* Evaluates every listener's match on every event of b, once, for the
 * selections that follow. @return 0, or -1 out of memory. */
int ttlog__routing_prepare(struct ttlog__routing *r,
			   const struct ttlog_batch *b);
/*
 * What listener li receives of b (after ttlog__routing_prepare(r, b)):
 * the events its match selects at or above `level`, then its own
 * processors. Returns a new reference (b itself when it takes all of it
 * unchanged), or NULL when nothing is left or (*oom set) memory ran out.
 */
struct ttlog_batch *ttlog__routing_select(struct ttlog__routing *r, size_t li,
					  struct ttlog_batch *b, int level,
					  int *oom);

/* ---- statistics (any thread; counts are relaxed atomics) ---- */

/* struct ttlog__proc_stat: host_internal.h */
/* Events that no listener took: every listener has a match:, none is
 * `else`, and none matched them. */
uint64_t ttlog__routing_unrouted(const struct ttlog__routing *r);
/* Fills up to cap entries and returns how many processors there are. */
size_t ttlog__routing_stats(const struct ttlog__routing *r,
			    struct ttlog__proc_stat *out, size_t cap);

#endif /* TTLOG_ROUTE_ROUTE_H */
