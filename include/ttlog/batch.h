/*
 * batch.h - reading the batches the writer hands to listeners.
 *
 * A batch is an immutable, reference-counted set of events drained from the
 * rings in one writer cycle, with the call sites (message, file, line, keys)
 * they refer to. Listeners read it only through these functions, so the
 * layout behind them can change without breaking plugins.
 *
 * Thread-safety: reading events and ttlog_batch_ref/unref are safe from any
 * thread. ttlog_batch_encode() computes an encoding on first use and caches
 * it; call it from one thread at a time (listeners run on the writer thread,
 * so a listener that passes a batch to another thread encodes it first).
 */
#ifndef TTLOG_BATCH_H
#define TTLOG_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ttlog/ttlog.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ttlog_batch;

/* The event carries at least one string value that was truncated to
 * ttlog_options.max_value_bytes. */
#define TTLOG_EVENT_TRUNCATED 0x01u

/* One event, as seen through a batch. Pointers are borrowed from the batch
 * and valid while the caller holds a reference to it. */
struct ttlog_event {
	uint64_t time_ns; /* nanoseconds since the Unix epoch, UTC */
	uint32_t tid;	  /* kernel thread id of the logging thread */
	uint32_t line;
	const char *msg;
	const char *file;
	uint8_t level; /* enum ttlog_level */
	uint8_t flags; /* TTLOG_EVENT_* */
	uint16_t nfields;
	uint32_t callsite; /* index of the call site within this batch */
	const void *priv[2];
};

struct ttlog_field {
	const char *key;      /* borrowed, NUL-terminated */
	enum ttlog_type type; /* selects the member of v */
	union {
		int64_t i64;
		uint64_t u64;
		double f64;
		bool b;
		struct ttlog_strn str; /* not NUL-terminated */
	} v;
};

struct ttlog_field_iter {
	const void *priv[3];
	uint32_t index;
};

/*
 * Where an event came from (docs/routing.md, "Origin"). Every string is
 * set ("" when unknown), NUL-terminated and borrowed from the batch.
 * Fields are only ever appended.
 *
 * host and service are the sender's own: the program that logged (its
 * ttlog_options.service and host name), a syslog message's HOSTNAME and
 * APP-NAME, a JSON line's "host" and "service". input, peer and peer_id
 * name the first ttlog agent's input that took the event in, the address
 * it came from and that peer's TLS client certificate subject. Relays
 * over the native protocol keep all of them, so a collector sees the
 * original sender; relay is the address of the agent that delivered the
 * event to this one when that agent was not its first.
 */
struct ttlog_origin {
	const char *host;
	const char *service;
	const char *input;
	const char *peer;
	const char *peer_id;
	const char *relay;
};

/* Number of events in the batch. */
TTLOG_EXPORT size_t ttlog_batch_count(const struct ttlog_batch *b);
/* Number of distinct call sites the batch's events refer to. */
TTLOG_EXPORT size_t ttlog_batch_callsites(const struct ttlog_batch *b);
/* Sequence number of the batch, counting from 1 in each ttlog_init(). A
 * listener with a level filter sees a filtered copy that keeps the seq of
 * the batch it came from. */
TTLOG_EXPORT uint64_t ttlog_batch_seq(const struct ttlog_batch *b);

/*
 * Fills *out with event i (0 <= i < ttlog_batch_count(b)).
 * @return 0, or TTLOG_EINVAL when i is out of range.
 */
TTLOG_EXPORT int ttlog_batch_event(const struct ttlog_batch *b, size_t i,
				   struct ttlog_event *out);

/* The origin of event i, valid while the caller holds a reference to b;
 * NULL when i is out of range. */
TTLOG_EXPORT const struct ttlog_origin *
ttlog_batch_origin(const struct ttlog_batch *b, size_t i);

/* Starts iterating the fields of *ev, which must outlive the iterator. */
TTLOG_EXPORT void ttlog_field_iter_init(struct ttlog_field_iter *it,
					const struct ttlog_event *ev);
/* Fills *out with the next field; false when there are no more. */
TTLOG_EXPORT bool ttlog_field_next(struct ttlog_field_iter *it,
				   struct ttlog_field *out);

enum ttlog_encoding {
	TTLOG_ENCODING_CBOR = 0,     /* docs/cbor-batch.md */
	TTLOG_ENCODING_CBOR_LZ4 = 1, /* the CBOR in one LZ4 frame */
	TTLOG_ENCODING_TEXT = 2,     /* one human-readable line per event */
	TTLOG_ENCODING_JSONL = 3     /* one JSON object per line */
};

/*
 * Returns an encoding of the whole batch, computed on first request and
 * shared by every later caller.
 * @param data  set to the bytes, borrowed from the batch (valid while a
 *              reference is held).
 * @return 0, TTLOG_EINVAL or TTLOG_ENOMEM.
 */
TTLOG_EXPORT int ttlog_batch_encode(struct ttlog_batch *b,
				    enum ttlog_encoding enc, const void **data,
				    size_t *len);

/* Takes a reference; the batch lives until the last ttlog_batch_unref(). */
TTLOG_EXPORT void ttlog_batch_ref(struct ttlog_batch *b);
TTLOG_EXPORT void ttlog_batch_unref(struct ttlog_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* TTLOG_BATCH_H */
