/*
 * batch_internal.h - how the writer builds batches and how encoders walk
 * them. Listeners use only include/ttlog/batch.h.
 *
 * A batch owns a copy of the value bytes of each record drained from a ring
 * (the part after the record header), an array of events pointing into that
 * copy, and the table of call sites used by its events. The call site table
 * is filled while the batch is built, so the encodings, which may be
 * computed later, depend on nothing outside the batch but the call sites
 * themselves (static storage of the application).
 */
#ifndef TTLOG_BATCH_INTERNAL_H
#define TTLOG_BATCH_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ttlog/batch.h>

#include "buf.h"
#include "origin_internal.h"

#define TTLOG__NENCODINGS 4

struct ttlog__event {
	uint64_t time_ns;
	uint32_t off; /* of the event's bytes in the batch's data */
	uint32_t cs;  /* index into the batch's call site table */
	uint32_t tid;
	uint8_t flags;	 /* TTLOG_EVENT_*, TTLOG__EVENT_OWN_MSG */
	uint16_t origin; /* index into the batch's origin table */
};

/*
 * The event carries its own message (ingested syslog, JSON lines, stdin:
 * text that differs from event to event). Its bytes in the batch's data
 * start with the message, a 32-bit length then the bytes and a NUL, and
 * the values follow; its call site's message is "". Without this flag the
 * bytes are only the values and the message is the call site's. Never
 * shown to listeners as a flag: ttlog_batch_event() gives the message.
 * The CBOR encoding writes the same bit (docs/cbor-batch.md, version 2).
 */
#define TTLOG__EVENT_OWN_MSG 0x02u

/* A call site the batch made for ingested events (ingest.c). */
struct ttlog__owned_cs {
	struct ttlog_callsite cs;
	const char *msg; /* the message bytes as received (may hold NULs) */
	size_t msg_len;
	const char **keys_raw; /* likewise for the keys */
	size_t *key_lens;
	uint64_t hash;
	struct ttlog__owned_cs *next;
};

struct ttlog_batch {
	atomic_uint refs;
	uint64_t seq;
	uint64_t epoch; /* marks call sites already in the table */
	struct ttlog__event *ev;
	size_t n, ev_cap;
	unsigned char *data;
	size_t data_len, data_cap;
	const struct ttlog_callsite **cs;
	uint32_t ncs, cs_cap;
	/* The origins of the events, one reference each. */
	struct ttlog__origin **orig;
	uint32_t norig, orig_cap;
	struct ttlog__buf enc[TTLOG__NENCODINGS];
	unsigned char enc_done[TTLOG__NENCODINGS];
	/* Call sites this batch owns, and their hash table. */
	struct ttlog__owned_cs *owned;
	struct ttlog__owned_cs **sites;
	size_t nowned, site_cap;
	/* Events with TTLOG__EVENT_OWN_MSG (the CBOR encoding's version). */
	size_t nown_msg;
	/* A filtered copy points at its parent's call sites, some of which
	 * the parent may own: it holds a reference to the parent. */
	struct ttlog_batch *parent;
};

/* A new empty batch with one reference, room for max_events events and
 * max_bytes of values. Freed by the last ttlog_batch_unref(). NULL when out
 * of memory. */
struct ttlog_batch *ttlog__batch_new(size_t max_events, size_t max_bytes,
				     uint64_t seq);

/*
 * Appends one event whose value bytes (vlen at vals) are copied. Writer
 * thread only, before the batch is handed out.
 * @return 0; 1 when the batch is full (nothing added; an empty batch grows
 *         instead, so any record fits); -1 when out of memory.
 */
int ttlog__batch_add(struct ttlog_batch *b, struct ttlog_callsite *cs,
		     uint64_t time_ns, uint32_t tid, uint8_t flags,
		     const void *vals, size_t vlen);
/* The same with the event's origin (NULL: this process's own). */
int ttlog__batch_add_o(struct ttlog_batch *b, struct ttlog_callsite *cs,
		       struct ttlog__origin *origin, uint64_t time_ns,
		       uint32_t tid, uint8_t flags, const void *vals,
		       size_t vlen);

/*
 * The events of b at or above `level`, for a listener with a level filter.
 * Returns b itself with a new reference when every event qualifies, NULL
 * when none does (*oom stays 0) or memory ran out (*oom set), else a new
 * batch with the same seq. Writer thread only.
 */
struct ttlog_batch *ttlog__batch_filter(struct ttlog_batch *b, int level,
					int *oom);

struct ttlog__in_event;
/*
 * Appends an event that came from outside the process (ingest.c): its
 * message, keys and values are copied; string values longer than
 * max_value are cut and the event flagged. now_ns stands in for a missing
 * timestamp.
 * @return 0; 1 when the batch is full (nothing added, as
 *         ttlog__batch_add()); TTLOG_EINVAL when the event itself is
 *         invalid (too many fields, a level outside TRACE..FATAL, no
 *         source, a message over 4 GiB): retrying cannot help;
 *         TTLOG_ENOMEM when out of memory.
 */
int ttlog__batch_add_in(struct ttlog_batch *b, const struct ttlog__in_event *ev,
			uint32_t tid, uint64_t now_ns, uint32_t max_value);
void ttlog__batch_free_owned(struct ttlog_batch *b);

/* Bytes the batch holds (for queue limits). */
size_t ttlog__batch_bytes(const struct ttlog_batch *b);

/* Decodes the value of type `type` at p into f->v and returns the byte
 * after it. Values are stored as the producer wrote them: 8 bytes for
 * numbers and bools, a 32-bit length then the bytes for strings. */
static inline const unsigned char *
ttlog__value_decode(const unsigned char *p, uint8_t type, struct ttlog_field *f)
{
	f->type = (enum ttlog_type)type;
	if (type == TTLOG_TYPE_STR) {
		uint32_t len;
		memcpy(&len, p, sizeof(len));
		f->v.str.ptr = (const char *)(p + sizeof(len));
		f->v.str.len = len;
		return p + sizeof(len) + len;
	}
	if (type == TTLOG_TYPE_BOOL) {
		uint64_t u;
		memcpy(&u, p, sizeof(u));
		f->v.b = u != 0;
	} else {
		memcpy(&f->v.u64, p, sizeof(uint64_t));
	}
	return p + 8;
}

/* The values of event e of b, and its message: the event's own or its
 * call site's. msg_len may be NULL. */
static inline const unsigned char *
ttlog__event_bytes(const struct ttlog_batch *b, const struct ttlog__event *e,
		   const char **msg, size_t *msg_len)
{
	const unsigned char *p = b->data + e->off;
	uint32_t len;

	if (!(e->flags & TTLOG__EVENT_OWN_MSG)) {
		*msg = b->cs[e->cs]->msg;
		if (msg_len != NULL)
			*msg_len = strlen(*msg);
		return p;
	}
	memcpy(&len, p, sizeof(len));
	*msg = (const char *)p + sizeof(len);
	if (msg_len != NULL)
		*msg_len = len;
	return p + sizeof(len) + len + 1;
}

/* The encoders, each appending the whole batch to out. Return 0 or
 * TTLOG_ENOMEM. */
int ttlog__encode_cbor(const struct ttlog_batch *b, struct ttlog__buf *out);
int ttlog__encode_lz4(const void *src, size_t len, struct ttlog__buf *out);
int ttlog__encode_text(const struct ttlog_batch *b, struct ttlog__buf *out);
int ttlog__encode_jsonl(const struct ttlog_batch *b, struct ttlog__buf *out);

#endif /* TTLOG_BATCH_INTERNAL_H */
