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
	int facility;	      /* 0..23; 1 (user) by default */
	/* SD-ID of the fields' element: "fields@32473" by default. An SD-ID
	 * with '@' needs a private enterprise number; 32473 is the one
	 * RFC 5612 reserves for documentation, so users who care set theirs. */
	const char *sd_id;
};

/*
 * Appends one event as "LEN SP SYSLOG-MSG" (octet counting) to *out:
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
 * PRI = facility * 8 + severity (TRACE/DEBUG 7, INFO 6, WARN 4, ERROR 3,
 * FATAL 2); TIMESTAMP in UTC with microseconds; MSGID "-"; the fields as
 * one SD-ELEMENT [sd_id key="value" ...] (or "-" without fields), keys
 * made valid SD-NAMEs (printable ASCII except = SP ] ", at most 32 bytes;
 * other bytes become '_'), values with '"', '\' and ']' escaped by '\';
 * the source file and line as a second element [origin@32473 file= line=];
 * the message as UTF-8 (invalid sequences replaced by U+FFFD), no BOM.
 * HOSTNAME, APP-NAME and PROCID are cut to RFC 5424's lengths and made
 * printable ASCII.
 * @return 0, or -1 when out of memory.
 */
struct ttlog__fmt_buf {
	char *p;
	size_t len, cap;
};
int ttlog__fmt_syslog_event(const struct ttlog__syslog_fmt *f,
			    const struct ttlog_event *ev,
			    struct ttlog__fmt_buf *out);

void ttlog__fmt_buf_free(struct ttlog__fmt_buf *b);

#endif /* TTLOG_FMT_H */
