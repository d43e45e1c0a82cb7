/*
 * fmt.h - how the forward plugin writes events for peers that do not speak
 * the native protocol: RFC 5424 syslog messages with the fields as
 * structured data, octet-counted (RFC 5425/6587) for a TLS or TCP stream.
 * (JSON lines come from the batch's shared JSONL encoding.)
 */
#ifndef TTLOG_FMT_H
#define TTLOG_FMT_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/batch.h>

struct ttlog__syslog_fmt {
	const char *hostname; /* HOSTNAME; NULL or "": gethostname() */
	const char *app_name; /* APP-NAME; NULL or "": "ttlog" */
	const char *procid;   /* PROCID; NULL or "": getpid() */
	int facility;	      /* 0..23 (others: 1, user); 1 by default */
	/* SD-ID of the fields' element: "fields@32473" by default. An SD-ID
	 * with '@' needs a private enterprise number; 32473 is the one
	 * RFC 5612 reserves for documentation, so users who care set theirs.
	 * The source element's SD-ID is "src" followed by this one's "@..."
	 * part (src@32473 by default, or when that does not fit 32 bytes or
	 * there is no '@'). */
	const char *sd_id;
};

/*
 * Appends one event as "LEN SP SYSLOG-MSG" (RFC 6587 octet counting, LEN
 * the byte count of SYSLOG-MSG) to *out:
 *   <PRI>1 SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD
 *   [SP MSG]
 * - PRI = facility * 8 + severity: TRACE/DEBUG 7, INFO 6, WARN 4, ERROR 3,
 *   FATAL 2 (any other level 6).
 * - TIMESTAMP "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" from time_ns, UTC, the
 *   microseconds truncated.
 * - HOSTNAME, APP-NAME, PROCID cut to 255, 48 and 128 bytes, bytes
 *   outside printable ASCII (33..126) made '_'; "-" when empty (no host
 *   name). MSGID is "-".
 * - Relayed syslog: an event whose file is "syslog" (what the agent's
 *   syslog input sets) keeps its original header, from the fields the
 *   input's parser made of it: PRI = facility * 8 + severity (fields
 *   "facility" 0..23 and "severity" 0..7, integers, both needed), and
 *   HOSTNAME, APP-NAME, PROCID, MSGID from the string fields "host",
 *   "app", "procid", "msgid" (MSGID cut to 32 bytes, same rules). Each
 *   one that is missing, empty or of another type is as above, and so is
 *   PRI when either number is out of range. The fields used in the header
 *   (the first usable one of each name) are not repeated in SD.
 * - SD: the fields as [sd_id NAME="VALUE" ...] in their order, repeated
 *   names kept (RFC 5424 allows it), omitted when there are none (those
 *   of a relayed header aside); then,
 *   always, [src@32473 file="FILE" line="LINE"] (so SD is never "-";
 *   "origin" is taken: RFC 5424 registers it with other parameters).
 *   NAMEs are the keys as they are when they are PARAM-NAMEs (1 to 32
 *   bytes of printable ASCII but = ] ") that do not end in '~' and 8
 *   lowercase hex digits; any other key is renamed, so that no two keys
 *   share a name: its first 23 bytes (each byte outside printable ASCII
 *   or one of = ] " made '_'), '~' and the 8 lowercase hex digits of the
 *   CRC-32C of the whole key (an empty key: "~00000000"). Each rename is
 *   counted in out->renamed. VALUEs: integers in decimal; booleans true/false; doubles as the
 *   first of %.15g, %.16g, %.17g that strtod() reads back as the same
 *   value (from %.1g for subnormals; '.' whatever the locale), NaN,
 *   Infinity, -Infinity; strings and FILE as UTF-8, each invalid sequence
 *   (maximal subpart) replaced by U+FFFD, with '"', '\' and ']' escaped
 *   by '\'.
 * - MSG: the message as UTF-8, invalid sequences replaced by U+FFFD, no
 *   BOM added, line ends and other control bytes kept (octet counting
 *   delimits it); left out with its SP when the message is empty.
 * f may be NULL (all defaults). The seconds' text, the host name and the
 * pid are cached per thread, the latter two refreshed when the second
 * changes.
 * @return 0, or -1 when out of memory (*out as it was before the call).
 */
struct ttlog__fmt_buf {
	char *p;
	size_t len, cap;
	/* Keys renamed to be PARAM-NAMEs, counted up (the caller resets),
	 * and the last one (borrowed from the event) for a warning. */
	uint64_t renamed;
	const char *renamed_key;
};
/* o: the event's origin (ttlog_batch_origin()), or NULL: HOSTNAME and
 * APP-NAME are the origin's host and service unless configured. */
int ttlog__fmt_syslog_event(const struct ttlog__syslog_fmt *f,
			    const struct ttlog_event *ev,
			    const struct ttlog_origin *o,
			    struct ttlog__fmt_buf *out);

void ttlog__fmt_buf_free(struct ttlog__fmt_buf *b);

#endif /* TTLOG_FMT_H */
