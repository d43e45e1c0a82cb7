/*
 * parse_internal.h - the message parsers of the agent's inputs and of the
 * processors (core/route/): syslog
 * (RFC 5424 and RFC 3164, with RFC 6587 TCP framing) and JSON lines. They
 * are pure functions over a byte buffer: no sockets, no event loop, no
 * global state but the local time zone (RFC 3164 timestamps).
 *
 * Every parser fills a struct ttlog__in_event (core/ingest_internal.h).
 * Its strings point into the input or into the caller's scratch buffer;
 * each parse call first resets the scratch and reserves room for the whole
 * message, so that the scratch never moves while the event is built. The
 * event's strings therefore stay valid until the input is released or the
 * scratch is used by the next parse call, whichever comes first.
 *
 * Parsers return 0, or -1 with a one-line English reason in err (at most
 * errlen bytes, always NUL-terminated when errlen > 0; err may be NULL).
 * On -1 the event's contents are unspecified.
 */
#ifndef TTLOG_PARSE_INTERNAL_H
#define TTLOG_PARSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "host_internal.h"
#include "level.h"

/* ---- scratch buffer (parse_common.c) ---- */

/* Makes room for n more bytes after s->len; 0, or -1 when out of memory.
 * May move s->p: pointers into the scratch are invalid afterwards. */
/* An event of nothing yet from source: level INFO, message "", its own
 * (msg_varies), no fields, no origin; the fields array is not touched. */
void ttlog__in_event_reset(struct ttlog__in_event *ev, const char *source);

int ttlog__scratch_reserve(struct ttlog__scratch *s, size_t n);
/* Forgets the contents and keeps the memory. */
void ttlog__scratch_reset(struct ttlog__scratch *s);
/* Frees the memory; *s is empty and reusable afterwards. */
void ttlog__scratch_destroy(struct ttlog__scratch *s);

/* ---- helpers shared by the parsers (parse_common.c) ---- */

/*
 * Parses an RFC 3339 date-time, "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)"
 * ('T' may also be 't' or a space, 'Z' also 'z'; second 60, a leap second,
 * counts as the next second; digits of the fraction after the ninth are
 * ignored), from the start of s (n bytes): ttlog__rfc3339_scan() of
 * common/civil_time.h, within the range the inputs accept.
 * @return the number of bytes it spans, or 0 when s does not start with
 *         one, or its year is before 1970, or it is before the epoch or
 *         past uint64 nanoseconds (2554).
 */
size_t ttlog__rfc3339_parse(const char *s, size_t n, uint64_t *time_ns);

/*
 * The keys of an event's fields, to find a repeated key in constant time:
 * an open-addressing table of field indices, at most half full. A parser
 * initialises it per message, looks each new key up, and records where
 * the field went when the key is new.
 */
struct ttlog__keyset {
	uint8_t slot[2 * TTLOG__IN_MAX_FIELDS]; /* field index + 1, 0: free */
};
void ttlog__keyset_init(struct ttlog__keyset *ks);
/* The index of the field of ev whose key is k (kl bytes), or -1 with
 * *free set to the slot that ttlog__keyset_add() fills for it. */
int ttlog__keyset_find(const struct ttlog__keyset *ks,
		       const struct ttlog__in_event *ev, const char *k,
		       size_t kl, uint32_t *free);
/* Records that field `index` of the event has the key looked up last. */
void ttlog__keyset_add(struct ttlog__keyset *ks, uint32_t free, uint32_t index);

/* Levels from names and syslog severities: common/level.h, the table the
 * configuration and ttlog-view use too. */

/* ---- syslog (syslog_parse.c, syslog_frame.c) ---- */

/*
 * Parses one syslog message of len bytes (RFC 5424 or RFC 3164, detected
 * by the "1 " version after <PRI>). See syslog_parse.c for exactly what is
 * accepted. msg is borrowed; ev->source is "syslog".
 * @return 0, or -1 with the reason in err.
 */
int ttlog__syslog_parse(const char *msg, size_t len, struct ttlog__in_event *ev,
			struct ttlog__scratch *s, char *err, size_t errlen);

/* ttlog__syslog_parse() with "now" given, for RFC 3164 timestamps, which
 * carry no year (tests pin it; the parser uses time(NULL)). */
int ttlog__syslog_parse_at(const char *msg, size_t len, time_t now,
			   struct ttlog__in_event *ev, struct ttlog__scratch *s,
			   char *err, size_t errlen);

/*
 * Cuts the next message off a TCP stream (RFC 6587). A message that starts
 * with a digit is octet-counted ("LEN SP MSG", LEN 1 to max_msg, no
 * leading zero); one that starts with '<' ends at the first LF or NUL,
 * which is not part of it. CR, LF, NUL and SP before a message are
 * skipped (senders put stray line ends between octet-counted messages).
 * @param buf, len  the bytes received and not yet consumed; borrowed
 * @param max_msg   largest message accepted, in bytes
 * @param msg, msg_len  on 1: the message, pointing into buf
 * @param consumed  on 1: bytes to drop from buf, the message included; on
 *                  0: leading separator bytes that may be dropped already
 * @return 1 with one message, 0 when more bytes are needed, -1 on a
 *         framing error (the stream cannot be resynchronised: close it).
 */
int ttlog__syslog_frame(const char *buf, size_t len, size_t max_msg,
			const char **msg, size_t *msg_len, size_t *consumed,
			char *err, size_t errlen);

/* ---- JSON lines (jsonl_parse.c) ---- */

/* Nesting limit of the JSON reader; the line's object is level 1. */
#define TTLOG__JSON_MAX_DEPTH 32

/*
 * Parses one line holding one JSON object (RFC 8259), with or without its
 * line end. See jsonl_parse.c for the reserved keys and how values map to
 * fields. line is borrowed; ev->source is "jsonl".
 * @return 0, or -1 with "byte N: reason" in err (N counted from 0).
 */
int ttlog__jsonl_parse(const char *line, size_t len, struct ttlog__in_event *ev,
		       struct ttlog__scratch *s, char *err, size_t errlen);

/*
 * The members of one JSON object (the grammar of ttlog__jsonl_parse()) as
 * fields of ev, with no reserved keys: "msg", "time" and "level" are
 * fields like any other. Only ev's fields, nfields, truncated and
 * duplicate counts are set. Unlike the parsers above it does not reset the
 * scratch: the caller has reserved len + 1 bytes after s->len (else -1),
 * and strings go after what the scratch already holds, so that it never
 * moves. Used by the parse processor (core/route/proc_parse.c).
 * @return 0, or -1 with "byte N: reason" in err.
 */
int ttlog__json_fields_parse(const char *text, size_t len,
			     struct ttlog__in_event *ev,
			     struct ttlog__scratch *s, char *err,
			     size_t errlen);

/* ---- logfmt (logfmt_parse.c) ---- */

/*
 * Parses one logfmt line into the fields of ev: pairs separated by
 * spaces (SP, HT, CR, LF), each key=value, key="quoted value" or a bare
 * key (a bool field, true). Keys are runs of bytes other than space, '='
 * and '"'. An unquoted value runs to the next space and may be empty
 * (key=); a quoted one takes the escapes \" \\ \n \t \r (any other
 * \x stands for x). Values are string fields: numbers stay strings. A
 * repeated key keeps its last value, at the place of its first
 * occurrence (counted in duplicate_keys). Past TTLOG__IN_MAX_FIELDS keys
 * the rest are dropped and ev->truncated set. Only ev's fields,
 * nfields, truncated and duplicate counts are set. Errors: an empty
 * line (no pair), a '"' or '=' where a key starts, an unterminated quote,
 * a quote right after a quoted value.
 * The scratch is used as by ttlog__json_fields_parse(): the caller has
 * reserved len + 1 bytes after s->len (else -1); it is not reset.
 * @return 0, or -1 with "byte N: reason" in err (N from 0).
 */
int ttlog__logfmt_parse(const char *text, size_t len,
			struct ttlog__in_event *ev, struct ttlog__scratch *s,
			char *err, size_t errlen);

#endif /* TTLOG_PARSE_INTERNAL_H */
