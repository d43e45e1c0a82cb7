/*
 * template.h - text made from an event, for plugins: a file name per
 * service and day, a topic per level.
 *
 *   "/var/log/ttlog/${service}/%Y-%m-%d.jsonl"    "logs.${level}"
 *
 * ${name} is one of the event's origin strings (host, service, input,
 * peer, peer_id, relay; struct ttlog_origin), level (its name, "INFO"),
 * msg, or fields.NAME for the field NAME; a plain NAME that is none of
 * the former also names a field. A value the event lacks expands to "".
 * Numbers expand in decimal (doubles in their shortest exact form),
 * booleans as true and false. "$$" is one '$'; another '$' not followed
 * by '{' is kept as it is.
 *
 * With TTLOG_TEMPLATE_DATE, %Y %m %d %H %M %S and %j (day of the year,
 * 001-366) are the event's time in UTC and "%%" is one '%'; any other
 * '%' pattern is a compile error. With TTLOG_TEMPLATE_PATH every expanded
 * value (not the template's own text) becomes one safe file name
 * component: '/', control characters and a leading '.' become '_', it is
 * cut to 255 bytes and an empty value is "_". A sender can then never
 * name a file outside the directories the template's text spells out.
 *
 * Thread-safety: a compiled template is immutable; expanding it from
 * several threads at once is safe. Expanding never allocates.
 */
#ifndef TTLOG_TEMPLATE_H
#define TTLOG_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/batch.h>
#include <ttlog/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ttlog_template;

#define TTLOG_TEMPLATE_DATE 0x1u /* %Y %m %d %H %M %S %j %% */
#define TTLOG_TEMPLATE_PATH 0x2u /* values as safe path components */

/*
 * Compiles src (NUL-terminated).
 * @param flags  TTLOG_TEMPLATE_* ORed, or 0.
 * @param out    set to the template (caller frees with
 *               ttlog_template_free()), or NULL on error.
 * @param err    when not NULL, filled on error with "column N: what is
 *               wrong" (N counts bytes of src from 1), cut to errlen.
 * @return 0, TTLOG_EINVAL (a syntax error: an unterminated "${", an empty
 *         name, an unknown % pattern) or TTLOG_ENOMEM.
 */
TTLOG_EXPORT int ttlog_template_compile(const char *src, unsigned flags,
					struct ttlog_template **out, char *err,
					size_t errlen);

/*
 * Expands t for event i of b into out, as snprintf() does: at most cap
 * bytes, NUL included, always NUL-terminated when cap > 0.
 * @param b    borrowed; the caller holds a reference. May be NULL for a
 *             constant template (ttlog_template_is_constant()).
 * @return the length of the whole expansion (NUL not counted), which is
 *         cap or more when out was too small; or TTLOG_EINVAL when i is
 *         out of range, t is NULL, or b is NULL and t is not constant.
 */
TTLOG_EXPORT int64_t ttlog_template_expand(const struct ttlog_template *t,
					   const struct ttlog_batch *b,
					   size_t i, char *out, size_t cap);

/* 1 when the expansion is the same for every event (no ${...} and no
 * date pattern): a plugin may then expand it once. */
TTLOG_EXPORT int ttlog_template_is_constant(const struct ttlog_template *t);

/* Frees t; NULL is allowed. */
TTLOG_EXPORT void ttlog_template_free(struct ttlog_template *t);

#ifdef __cplusplus
}
#endif

#endif /* TTLOG_TEMPLATE_H */
