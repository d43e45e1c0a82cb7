/*
 * ingest_internal.h - events that arrive from outside the process (the
 * agent's syslog, JSON-lines and stdin inputs) rather than from a log
 * macro. Their message and keys are only known at run time, so a batch
 * keeps its own copy of them as a call site it owns.
 *
 * A parser fills a struct ttlog__in_event whose strings point into the
 * input buffer or into a scratch buffer owned by the parser's caller; the
 * batch copies everything it keeps.
 */
#ifndef TTLOG_INGEST_INTERNAL_H
#define TTLOG_INGEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/ttlog.h>

/* Most fields an ingested event keeps; a parser counts and reports the
 * rest as dropped fields (event flag, see below). */
#define TTLOG__IN_MAX_FIELDS 64

struct ttlog__in_field {
	const char *key; /* not NUL-terminated */
	size_t key_len;
	enum ttlog_type type;
	union {
		int64_t i64;
		uint64_t u64;
		double f64;
		int b;
		struct ttlog_strn str;
	} v;
};

struct ttlog__origin;

struct ttlog__in_event {
	uint64_t time_ns; /* since the epoch; 0 when the input had none */
	/* Where it came from (origin_internal.h), borrowed: the batch takes
	 * its own reference. NULL: this process's own origin. */
	struct ttlog__origin *origin;
	int level;	 /* enum ttlog_level */
	const char *msg; /* not NUL-terminated; may be empty */
	size_t msg_len;
	/* The message is the event's own text (syslog, JSON lines, stdin),
	 * not the constant of a log call (the native protocol). The batch
	 * then keeps it with the event; otherwise it is part of the call
	 * site, of which the batch makes one per distinct message. */
	int msg_varies;
	/* The source, recorded as the call site's file (e.g. "syslog"). */
	const char *source;
	/* Events forwarded by another ttlog (the native protocol) keep their
	 * origin: the source line of the log call and the thread id. 0 means
	 * none: line 0, and the input's number as the thread id. Parsers of
	 * foreign formats set both to 0. */
	uint32_t line;
	uint32_t tid;
	uint32_t nfields;
	int truncated; /* fields or values were cut to the limits */
	/* Keys the message repeated: the parser kept the last value of each
	 * (docs/network-exposure.md) and counts the others here, with the
	 * first such key (not NUL-terminated, valid as the fields' keys) for
	 * the input's warning. */
	uint32_t duplicate_keys;
	const char *dup_key;
	size_t dup_key_len;
	struct ttlog__in_field fields[TTLOG__IN_MAX_FIELDS];
};

/* A growable scratch buffer a parser may copy unescaped strings into. The
 * caller owns it and reuses it between messages; parse results point into
 * it and stay valid until the next reset. */
struct ttlog__scratch {
	char *p;
	size_t len, cap;
};

#endif /* TTLOG_INGEST_INTERNAL_H */
