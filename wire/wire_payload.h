/*
 * wire_payload.h - decoding the payload of a native DATA message (a
 * CBOR+LZ4 batch, docs/cbor-batch.md) back into events, for the receiving
 * side (the agent's `ttlog` input). Apart from wire.h because its events
 * are core's ingest type: the sending side (the forward plugin) does not
 * see core's headers through it.
 */
#ifndef TTLOG_WIRE_PAYLOAD_H
#define TTLOG_WIRE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "ingest_internal.h"
#include "origin_internal.h"

/*
 * Decoding a DATA payload back into events.
 *
 * The decoder decompresses (when lz4) into *scratch (grown as needed, at
 * most max_decoded bytes, else an error), checks the batch map (v 1 to 3),
 * and calls fn once per event, in order, with a ttlog__in_event whose
 * strings point into the scratch buffers (valid during the call): time_ns,
 * level, msg, source = the call site's file (NUL-terminated copy), line,
 * tid, the fields with their keys, truncated = the event's flag bit 0,
 * origin = the event's origin as scratch->origin_fn made it from the
 * batch's origin table (version 3; each entry once per batch: fn gets a
 * new reference that the decoder releases after the batch), or
 * scratch->v2_origin for batches of versions 1 and 2, which have none.
 * Text and byte strings both become TTLOG_TYPE_STR; integers become I64
 * (negative) or U64; floats F64 (16/32/64-bit CBOR floats accepted).
 *
 * A structural error (bad CBOR, a call-site index out of range, a value
 * count that differs from the call site's keys, over 64 fields, lengths
 * past the end) stops the decoding: the events already passed to fn stay
 * passed; the function returns -1 with err naming what and the byte
 * offset in the decoded CBOR. If fn returns non-zero, decoding stops and
 * that value is returned.
 *
 * Details: a call-site level above FATAL is passed as FATAL (5); lines
 * and thread ids must fit in 32 bits; null, undefined, tags and nested
 * items as values are errors. max_decoded bounds the CBOR in both forms
 * (the payload itself when not compressed). Events are delivered as they
 * are read when "v" and "callsites" come before "events" in the map (as
 * ttlog writes them); otherwise once the rest of the map has been read.
 * @return 0, -1, or fn's non-zero value. *nevents = events passed to fn
 *         (including one whose fn call returned non-zero).
 */
struct ttlog__wire_scratch {
	unsigned char *buf; /* decompressed CBOR */
	size_t cap;
	char *strs; /* NUL-terminated copies (call-site files) */
	size_t strs_cap;
	/* Private to the decoder, kept between calls: the call-site table,
	 * the keys of all call sites, the LZ4 decompression context. A
	 * zeroed struct is ready to use. */
	void *sites, *keys, *lz4, *origins;
	size_t sites_cap, keys_cap, origins_cap;
	/* Set by the caller: makes an origin (a new reference) from one
	 * entry of a batch's origin table; NULL: ttlog__origin_new(). The
	 * receiving input applies its view here (its name, the peer, the
	 * relay). v2_origin: the origin of events of older batches
	 * (borrowed; NULL means the receiving process's own). */
	struct ttlog__origin *(*origin_fn)(void *arg,
					   const struct ttlog__origin_str s[]);
	void *origin_arg;
	struct ttlog__origin *v2_origin;
};
/* wire_lz4.c: decompresses the LZ4 frame src[0..len) into s->buf, at
 * most max bytes, setting *outlen. The frame's content size, when
 * declared, sizes the buffer at once; otherwise it doubles as needed. The
 * frame must fill src exactly. Returns 0, or -1 with err ("LZ4 frame:
 * ... at offset N"). */
int ttlog__wire_lz4_decode(const unsigned char *src, size_t len, size_t max,
			   struct ttlog__wire_scratch *s, size_t *outlen,
			   char *err, size_t errlen);
typedef int (*ttlog__wire_event_fn)(void *arg,
				    const struct ttlog__in_event *ev);
int ttlog__wire_payload_decode(const unsigned char *payload, size_t len,
			       uint32_t flags, size_t max_decoded,
			       struct ttlog__wire_scratch *scratch,
			       ttlog__wire_event_fn fn, void *arg,
			       size_t *nevents, char *err, size_t errlen);
void ttlog__wire_scratch_free(struct ttlog__wire_scratch *s);

#endif /* TTLOG_WIRE_PAYLOAD_H */
