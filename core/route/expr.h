/*
 * expr.h - match: expressions (docs/routing.md), compiled once when the
 * configuration loads and evaluated on the writer thread for every event,
 * without allocating.
 *
 *   level >= WARN and service == "billing" and fields.status >= 500
 *   msg =~ "timeout|refused" or not exists(fields.trace_id)
 *   host in ["web-1", "web-2"] and input != "syslog"
 */
#ifndef TTLOG_ROUTE_EXPR_H
#define TTLOG_ROUTE_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "view.h"

struct ttlog__expr;

/*
 * Compiles src (len bytes). On error returns NULL, sets *err_off to the
 * byte offset in src where the problem is and writes a message without
 * place to err ("expected a value after '=='", "unknown name 'lvl'; did
 * you mean 'level'?", a regular expression's own error...). Out of memory
 * is reported the same way.
 */
struct ttlog__expr *ttlog__expr_compile(const char *src, size_t len,
					size_t *err_off, char *err,
					size_t errlen);
/* Whether the event matches. Writer thread only (compiled regexes keep
 * their match data in the expression); never allocates. */
bool ttlog__expr_eval(struct ttlog__expr *e, const struct ttlog__view *v);
void ttlog__expr_free(struct ttlog__expr *e);

#endif /* TTLOG_ROUTE_EXPR_H */
