/* level.c - the level spellings of level.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ttlog/ttlog.h>

#include "level.h"

/* The names first, at the index of their value (ttlog__level_list()
 * relies on it), then the synonyms. syslog's severity keywords map as
 * ttlog__level_from_severity() maps their numbers, so that a JSON line
 * with "level":"crit" and one with "level":2 agree. */
const struct ttlog_option_value ttlog__level_values[] = {
	{"trace", TTLOG_LEVEL_TRACE}, {"debug", TTLOG_LEVEL_DEBUG},
	{"info", TTLOG_LEVEL_INFO},   {"warn", TTLOG_LEVEL_WARN},
	{"error", TTLOG_LEVEL_ERROR}, {"fatal", TTLOG_LEVEL_FATAL},
	{"off", TTLOG_LEVEL_OFF},     {"informational", TTLOG_LEVEL_INFO},
	{"notice", TTLOG_LEVEL_INFO}, {"warning", TTLOG_LEVEL_WARN},
	{"err", TTLOG_LEVEL_ERROR},   {"critical", TTLOG_LEVEL_FATAL},
	{"crit", TTLOG_LEVEL_FATAL},  {"alert", TTLOG_LEVEL_FATAL},
	{"emerg", TTLOG_LEVEL_FATAL}, {"emergency", TTLOG_LEVEL_FATAL},
	{"panic", TTLOG_LEVEL_FATAL}, {NULL, 0},
};

int ttlog__level_parse(const char *s, size_t len, int allow_off)
{
	for (const struct ttlog_option_value *v = ttlog__level_values;
	     v->name != NULL; v++)
		if (strlen(v->name) == len && strncasecmp(s, v->name, len) == 0)
			return v->value != TTLOG_LEVEL_OFF || allow_off
				       ? v->value
				       : -1;
	return -1;
}

int ttlog__level_from_severity(uint64_t severity)
{
	/* emerg, alert, crit, err, warning, notice, info, debug */
	static const int by_severity[8] = {
		TTLOG_LEVEL_FATAL, TTLOG_LEVEL_FATAL, TTLOG_LEVEL_FATAL,
		TTLOG_LEVEL_ERROR, TTLOG_LEVEL_WARN,  TTLOG_LEVEL_INFO,
		TTLOG_LEVEL_INFO,  TTLOG_LEVEL_DEBUG,
	};

	return severity < 8 ? by_severity[severity] : TTLOG_LEVEL_DEBUG;
}

const char *ttlog__level_list(const char *sep, int with_off, char *buf,
			      size_t len)
{
	size_t n = 0;

	if (len == 0)
		return buf;
	buf[0] = 0;
	for (const struct ttlog_option_value *v = ttlog__level_values;
	     v->name != NULL && n < len; v++) {
		int w;

		if ((v->value == TTLOG_LEVEL_OFF && !with_off) ||
		    v - ttlog__level_values > TTLOG_LEVEL_OFF)
			continue;
		w = snprintf(buf + n, len - n, "%s%s", n ? sep : "", v->name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}
