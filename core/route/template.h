/*
 * template.h - text made from an event: "logs.${service}",
 * "/var/log/ttlog/${host}/${service}/%Y-%m-%d.jsonl", "${fields.user}".
 * Used by the set processor, the file listener's path (through the public
 * include/ttlog/template.h) and later the Kafka topic and key.
 *
 * ${name} is an origin string (host, service, input, peer, peer_id,
 * relay), level, msg, or fields.NAME (also plain NAME for a field when it
 * is not one of the former). With TTLOG__TMPL_DATE, %Y %m %d %H %M %S %j
 * and %% are the event's time in UTC. A missing value expands to "" (or,
 * with TTLOG__TMPL_PATH, to "_").
 */
#ifndef TTLOG_ROUTE_TEMPLATE_H
#define TTLOG_ROUTE_TEMPLATE_H

#include <stddef.h>

#include "buf.h"
#include "view.h"

#define TTLOG__TMPL_DATE 0x1u /* % date patterns */
/* A path: each expanded value becomes one safe path component ('/', NUL,
 * control characters and a leading '.' replaced by '_', cut to 255
 * bytes, "" as "_"), so a sender cannot choose a directory. */
#define TTLOG__TMPL_PATH 0x2u

struct ttlog__tmpl;

/* As ttlog__expr_compile(): NULL with *err_off and err on error. */
struct ttlog__tmpl *ttlog__tmpl_compile(const char *src, size_t len,
					unsigned flags, size_t *err_off,
					char *err, size_t errlen);
/* Whether the expansion depends on the event at all (else it is a
 * constant, computed once). */
int ttlog__tmpl_is_constant(const struct ttlog__tmpl *t);
/* Appends the expansion for v to out. @return 0, or -1 out of memory. */
int ttlog__tmpl_expand(const struct ttlog__tmpl *t, const struct ttlog__view *v,
		       struct ttlog__buf *out);
void ttlog__tmpl_free(struct ttlog__tmpl *t);

#endif /* TTLOG_ROUTE_TEMPLATE_H */
