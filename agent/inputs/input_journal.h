/*
 * input_journal.h - the journal input (type: journal): the systemd
 * journal read through sd-journal on the writer's loop, each entry an
 * event, its cursor saved in STATE_DIR/input-NAME.journal once the
 * listeners hold the entry durably (docs/journal.md). Writer thread.
 */
#ifndef TTLOG_INPUT_JOURNAL_H
#define TTLOG_INPUT_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "host_internal.h" /* struct ttlog__in_event */
#include "origin_internal.h"

struct ttlog__input;
struct ttlog__input_opts;

/* Entries read in one turn of the loop at most, so that a journal with a
 * long backlog does not hold the writer thread from everything else. */
#define TTLOG__JOURNAL_CHUNK 256

/* Counts of what the field mapping left out of events. */
struct ttlog__journal_skips {
	uint64_t not_utf8; /* values that are not valid UTF-8 */
	uint64_t too_long; /* values over max_message */
	uint64_t too_many; /* fields past TTLOG__IN_MAX_FIELDS */
};

/*
 * Builds ev from one journal entry (journal_fields.c). data[i] is a field
 * as sd_journal_enumerate_data() gives it, "NAME=value" in len[i] bytes
 * (borrowed: ev points into it). MESSAGE is the message (cut at
 * max_message, ev->truncated), PRIORITY the level (syslog severities, as
 * ttlog__level_from_severity(); none or unreadable: info), _HOSTNAME the
 * host and _SYSTEMD_UNIT, else SYSLOG_IDENTIFIER, the service (both set
 * in org, else left as they are); every other field is a string field,
 * except those whose name starts with "__" (the journal's own), values
 * that are not UTF-8 or longer than max_message, and the fields past
 * TTLOG__IN_MAX_FIELDS, which are left out and counted in sk.
 * realtime_us: the entry's __REALTIME_TIMESTAMP (0: none).
 */
void ttlog__journal_map(struct ttlog__in_event *ev, const void *const *data,
			const size_t *len, size_t n, uint64_t realtime_us,
			size_t max_message,
			struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS],
			struct ttlog__journal_skips *sk);

/*
 * Checks a `match` list: each term FIELD=value (FIELD of A-Z, 0-9 and _,
 * not starting with a digit) or "+" between two terms.
 * @return -1 with err naming the term, or 0.
 */
int ttlog__journal_match_check(const char *const *terms, size_t n, char *err,
			       size_t errlen);

/* input_journal.c: opens the journal and seeks (saved cursor, else
 * start_at); reading starts with ttlog__journal_enable(). 0 or -1 with
 * err. */
int ttlog__journal_start(struct ttlog__input *in,
			 const struct ttlog__input_opts *o, char *err,
			 size_t errlen);
void ttlog__journal_enable(struct ttlog__input *in);
/* Saves the durable cursor (with sync) and closes the journal. At
 * shutdown (shutdown 1) the cursors of entries handed on but not yet
 * durable are kept for ttlog__journal_after_shutdown(). */
void ttlog__journal_stop(struct ttlog__input *in, int shutdown);
/* The durable batch number moved: saves the newest durable cursor, at
 * most once a second. */
void ttlog__journal_taken(struct ttlog__input *in);
struct ttlog__input_stats;
/* The journal's own counters into out (fields_skipped). */
void ttlog__journal_get_stats(const struct ttlog__input *in,
			      struct ttlog__input_stats *out);
/* The reload key: "journal NAME" and the options that decide where it
 * reads (paths, match, start_at). */
int ttlog__journal_key(const struct ttlog__input_opts *o, char *key,
		       size_t keylen);

#endif /* TTLOG_INPUT_JOURNAL_H */
