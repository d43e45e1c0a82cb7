/*
 * view_filter.h - which events ttlog-view shows: level, time range,
 * message regex, field values, service, host. An event is shown when it passes
 * every filter that is set.
 *
 * The setters parse the text of a command-line option; on a bad value
 * they return -1 and write a sentence into err that names what was wrong
 * (the caller adds the option's name).
 */
#ifndef TTLOG_VIEW_FILTER_H
#define TTLOG_VIEW_FILTER_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest_internal.h"
#include "view_snap.h"

struct view_field_match {
	char *key; /* owned copies */
	size_t key_len;
	char *val;
	size_t val_len;
	int is_num; /* val reads as a number: num holds it */
	double num;
};

/* Caller-owned; view_filter_init() then view_filter_destroy(). */
struct view_filter {
	int level; /* the lowest level shown (TRACE: every level) */
	int has_since, has_until;
	uint64_t since_ns, until_ns; /* both inclusive */
	int has_grep;
	regex_t re;
	struct view_field_match *fields;
	size_t nfields;
	/* --service and --host: names, owned copies; none: any. */
	char **services, **hosts;
	size_t nservices, nhosts;
	struct view_buf msg; /* the message NUL-terminated, for regexec */
};

void view_filter_init(struct view_filter *f);
void view_filter_destroy(struct view_filter *f);

/*
 * A level name, case-insensitive: trace, debug, info, warn, error,
 * fatal. Returns the enum ttlog_level or -1.
 */
int view_level_parse(const char *s);

/*
 * A point in time, as nanoseconds since the Unix epoch: RFC 3339
 * ("2026-11-25T20:31:38Z", "2026-11-25T20:31:38.123456+01:00"; the zone
 * is required), or a duration before now_ns: a whole number followed by
 * s, m, h or d ("10m", "2h", "30s", "1d"). Times before the epoch become
 * 0, times past 2554 (the end of a uint64 of nanoseconds) the largest.
 * @return 0, or -1 with err set.
 */
int view_time_parse(const char *s, uint64_t now_ns, uint64_t *out, char *err,
		    size_t errlen);

/* --level: events of this level and above. */
int view_filter_set_level(struct view_filter *f, const char *name, char *err,
			  size_t errlen);
/* --since / --until (see view_time_parse). */
int view_filter_set_since(struct view_filter *f, const char *s, uint64_t now_ns,
			  char *err, size_t errlen);
int view_filter_set_until(struct view_filter *f, const char *s, uint64_t now_ns,
			  char *err, size_t errlen);
/* --grep: a POSIX extended regular expression searched for in the
 * message. */
int view_filter_set_grep(struct view_filter *f, const char *re, char *err,
			 size_t errlen);
/*
 * --field key=value, repeatable, every one must match: the event has a
 * field named key (byte for byte) whose value's text form is value:
 * integers in decimal (42, -7), booleans true and false, strings byte
 * for byte. A floating-point field matches a value that reads as the
 * same number (4.2, 4.20, 42e-1; nan matches NaN, inf infinity).
 */
int view_filter_add_field(struct view_filter *f, const char *kv, char *err,
			  size_t errlen);
/*
 * --service NAME and --host NAME, each repeatable: the event's service
 * (host) is one of the names given, byte for byte. The event's service is
 * its origin's (a version-3 batch) when that is not empty, else the one
 * of the snapshot's header; "" asks for events that have none. Both
 * options given: both must match.
 */
int view_filter_add_service(struct view_filter *f, const char *name, char *err,
			    size_t errlen);
int view_filter_add_host(struct view_filter *f, const char *name, char *err,
			 size_t errlen);

/*
 * Whether ev passes. service, host: the file's (a snapshot's header),
 * NULL when the file names none (a binary log); an event's own origin
 * comes first. @return 1, 0, or -1 when out of memory.
 */
int view_filter_match(struct view_filter *f, const struct ttlog__in_event *ev,
		      const struct view_str *service,
		      const struct view_str *host);

#endif /* TTLOG_VIEW_FILTER_H */
