/*
 * level.h - the one table of level spellings: what the configuration
 * (service.level, a listener's level), ttlog-view's --level filter and
 * ttlog-agent's inputs (a JSON line's "level", a syslog severity) accept,
 * so that a word one of them takes is taken by all (docs/levels.md).
 *
 * In ttlog_common (static, hidden visibility).
 */
#ifndef TTLOG_COMMON_LEVEL_H
#define TTLOG_COMMON_LEVEL_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/listener.h> /* struct ttlog_option_value */

/*
 * Every spelling with its TTLOG_LEVEL_*, in lower case: the six level
 * names and "off" first, then the other names the inputs meet (syslog's
 * severity keywords, "warning", "critical", ...). Ends with {NULL, 0}. The
 * configuration's option tables use it as it is (TTLOG_OPTION_ENUM_VALUES).
 */
extern const struct ttlog_option_value ttlog__level_values[];

/* The level a spelling names (any case; s need not be terminated), or -1.
 * "off" is not an event's level: -1 unless allow_off. */
int ttlog__level_parse(const char *s, size_t len, int allow_off);

/* The level of a syslog severity (RFC 5424: 0 emerg ... 7 debug). */
int ttlog__level_from_severity(uint64_t severity);

/* The level names without their synonyms (with "off" only when
 * with_off), joined by sep, into buf (cut to len). Returns buf. */
const char *ttlog__level_list(const char *sep, int with_off, char *buf,
			      size_t len);

#endif /* TTLOG_COMMON_LEVEL_H */
