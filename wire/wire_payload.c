/*
 * wire_payload.c - decoding a DATA payload (docs/cbor-batch.md, in an LZ4
 * frame when the DATA flags say so) back into events for the collector.
 *
 * This runs for every event a collector receives, so it makes one pass
 * over the CBOR and copies nothing it can point at: messages, keys and
 * string values stay in the decoded buffer (or in the payload itself when
 * it was not compressed). Only call-site file names are copied, because
 * an event's source must be a NUL-terminated string. The call-site table,
 * the key table and the LZ4 context live in the caller's scratch and are
 * reused from one payload to the next.
 *
 * Everything is bounded by the input: a count is refused when the bytes
 * left could not hold that many items, so a few bytes cannot make the
 * decoder allocate much.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "buf.h"
#include "cbor_read.h"
#include "errf.h"
#include "origin_internal.h"
#include "wire.h"
#include "wire_payload.h"

/* The smallest encodings: a call site [msg, file, line, level, keys] of
 * one-byte items, an event [time, tid, cs, flags]. */
#define MIN_SITE_BYTES 6
#define MIN_EVENT_BYTES 5

struct site {
	const char *msg;
	size_t msg_len;
	const char *file; /* set once all files are copied */
	size_t file_off;  /* in scratch->strs */
	uint32_t line;
	int level;
	uint32_t nkeys;
	uint32_t key0; /* first key in the key table */
};

struct key {
	const char *p;
	size_t len;
};

struct dec {
	struct ttlog__cbor c;
	struct ttlog__wire_scratch *s;
	uint32_t nsites;
	unsigned version;  /* of the batch: 1, 2 or 3 */
	uint32_t norigins; /* resolved, in s->origins (version 3) */
	size_t nkeys, strs_len;
	char *err;
	size_t errlen;
};

/* A CBOR-level failure the reader recorded, in the context `what`. */
static int bad_cbor(struct dec *d, const char *what)
{
	ttlog__errf(d->err, d->errlen, "batch: %s: %s at offset %zu", what,
		    d->c.why, d->c.at);
	return -1;
}

/* Makes *p hold at least `need` elements of `size` bytes (buf.h's
 * policy, from 16 elements). Returns 0 or -1. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *q;

	if (need <= *cap)
		return 0;
	q = ttlog__grow(*p, cap, need, size, 16);
	if (q == NULL)
		return -1;
	*p = q;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The call-site table                                                  */
/* ------------------------------------------------------------------ */

static int is_string(const struct ttlog__cbor_item *it)
{
	return it->major == TTLOG__CBOR_TEXT || it->major == TTLOG__CBOR_BYTES;
}

static int bad_site(struct dec *d, uint32_t i, const unsigned char *at,
		    const char *what)
{
	ttlog__errf(d->err, d->errlen,
		    "batch: call site %" PRIu32 ": %s at offset %zu", i, what,
		    ttlog__cbor_offset(&d->c, at));
	return -1;
}

/* Reads one unsigned integer that must fit in 32 bits. */
static int site_u32(struct dec *d, uint32_t i, const char *name, uint64_t *v)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = d->c.p;
	char what[64];

	if (ttlog__cbor_read(&d->c, &it) != 0) {
		snprintf(what, sizeof(what), "call site %" PRIu32 " %s", i,
			 name);
		return bad_cbor(d, what);
	}
	if (it.major != TTLOG__CBOR_UINT) {
		snprintf(what, sizeof(what), "%s is not an unsigned integer",
			 name);
		return bad_site(d, i, at, what);
	}
	*v = it.arg;
	return 0;
}

static int read_site(struct dec *d, uint32_t i, struct site *st)
{
	struct ttlog__wire_scratch *s = d->s;
	struct ttlog__cbor_item it, file;
	const unsigned char *at = d->c.p;
	uint64_t line, level;
	struct key *keys;

	if (ttlog__cbor_read(&d->c, &it) != 0)
		return bad_cbor(d, "call site");
	if (it.major != TTLOG__CBOR_ARRAY || it.arg != 5)
		return bad_site(d, i, at, "not an array of 5 items");
	at = d->c.p;
	if (ttlog__cbor_read(&d->c, &it) != 0)
		return bad_cbor(d, "call site message");
	if (!is_string(&it))
		return bad_site(d, i, at, "the message is not a string");
	st->msg = (const char *)it.str;
	st->msg_len = (size_t)it.arg;
	at = d->c.p;
	if (ttlog__cbor_read(&d->c, &file) != 0)
		return bad_cbor(d, "call site file");
	if (!is_string(&file))
		return bad_site(d, i, at, "the file is not a string");
	at = d->c.p;
	if (site_u32(d, i, "the line", &line) != 0)
		return -1;
	if (line > UINT32_MAX)
		return bad_site(d, i, at, "the line is over 2^32 - 1");
	if (site_u32(d, i, "the level", &level) != 0)
		return -1;
	at = d->c.p;
	if (ttlog__cbor_read(&d->c, &it) != 0)
		return bad_cbor(d, "call site keys");
	if (it.major != TTLOG__CBOR_ARRAY)
		return bad_site(d, i, at, "the keys are not an array");
	if (it.arg > TTLOG__IN_MAX_FIELDS)
		return bad_site(d, i, at, "more than 64 keys");
	if (it.arg > ttlog__cbor_left(&d->c))
		return bad_site(d, i, at, "more keys than bytes left");
	if (grow(&s->keys, &s->keys_cap, d->nkeys + (size_t)it.arg,
		 sizeof(struct key)) != 0)
		return bad_site(d, i, at, "out of memory");
	keys = s->keys;
	st->key0 = (uint32_t)d->nkeys;
	st->nkeys = (uint32_t)it.arg;
	for (uint32_t k = 0; k < st->nkeys; k++) {
		struct ttlog__cbor_item key;
		at = d->c.p;
		if (ttlog__cbor_read(&d->c, &key) != 0)
			return bad_cbor(d, "call site key");
		if (!is_string(&key))
			return bad_site(d, i, at, "a key is not a string");
		keys[d->nkeys].p = (const char *)key.str;
		keys[d->nkeys].len = (size_t)key.arg;
		d->nkeys++;
	}
	st->line = (uint32_t)line;
	/* Levels past FATAL are not written by ttlog; shown as FATAL. */
	st->level = level > TTLOG_LEVEL_FATAL ? TTLOG_LEVEL_FATAL : (int)level;
	/* The file, NUL-terminated, in the string scratch. Offsets, since
	 * the scratch may move while the table grows. */
	if (grow((void **)&s->strs, &s->strs_cap,
		 d->strs_len + (size_t)file.arg + 1, 1) != 0)
		return bad_site(d, i, at, "out of memory");
	memcpy(s->strs + d->strs_len, file.str, (size_t)file.arg);
	s->strs[d->strs_len + (size_t)file.arg] = '\0';
	st->file_off = d->strs_len;
	d->strs_len += (size_t)file.arg + 1;
	return 0;
}

static int read_sites(struct dec *d)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = d->c.p;
	struct site *sites;

	if (ttlog__cbor_read(&d->c, &it) != 0)
		return bad_cbor(d, "callsites");
	if (it.major != TTLOG__CBOR_ARRAY) {
		ttlog__errf(
			d->err, d->errlen,
			"batch: \"callsites\" is not an array at offset %zu",
			ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	if (it.arg > ttlog__cbor_left(&d->c) / MIN_SITE_BYTES) {
		ttlog__errf(d->err, d->errlen,
			    "batch: %" PRIu64
			    " call sites cannot fit in %zu bytes "
			    "at offset %zu",
			    it.arg, ttlog__cbor_left(&d->c),
			    ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	if (grow(&d->s->sites, &d->s->sites_cap, (size_t)it.arg,
		 sizeof(struct site)) != 0) {
		ttlog__errf(d->err, d->errlen,
			    "batch: out of memory at offset %zu",
			    ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	sites = d->s->sites;
	d->nsites = (uint32_t)it.arg;
	d->nkeys = 0;
	d->strs_len = 0;
	for (uint32_t i = 0; i < d->nsites; i++)
		if (read_site(d, i, &sites[i]) != 0)
			return -1;
	for (uint32_t i = 0; i < d->nsites; i++)
		sites[i].file = d->s->strs + sites[i].file_off;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The origin table (version 3)                                         */
/* ------------------------------------------------------------------ */

static void drop_origins(struct dec *d)
{
	struct ttlog__origin **o = d->s->origins;

	for (uint32_t i = 0; i < d->norigins; i++)
		ttlog__origin_unref(o[i]);
	d->norigins = 0;
}

/* [host, service, input, peer, peer_id, relay, ...]: later versions may
 * append strings, which are skipped. */
static int read_origin(struct dec *d, uint32_t i)
{
	struct ttlog__origin_str str[TTLOG__ORIGIN_NFIELDS];
	struct ttlog__cbor_item it;
	const unsigned char *at = d->c.p;
	struct ttlog__origin *o;

	if (ttlog__cbor_read(&d->c, &it) != 0)
		return bad_cbor(d, "origin");
	if (it.major != TTLOG__CBOR_ARRAY || it.arg < TTLOG__ORIGIN_NFIELDS) {
		ttlog__errf(d->err, d->errlen,
			    "batch: origin %" PRIu32
			    ": not an array of 6 strings or more at offset %zu",
			    i, ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	for (uint64_t k = 0; k < it.arg; k++) {
		struct ttlog__cbor_item v;
		at = d->c.p;
		if (ttlog__cbor_read(&d->c, &v) != 0)
			return bad_cbor(d, "origin string");
		if (!is_string(&v)) {
			ttlog__errf(d->err, d->errlen,
				    "batch: origin %" PRIu32 ": item %" PRIu64
				    " is not a string at offset %zu",
				    i, k, ttlog__cbor_offset(&d->c, at));
			return -1;
		}
		if (k < TTLOG__ORIGIN_NFIELDS) {
			str[k].p = (const char *)v.str;
			str[k].len = (size_t)v.arg;
		}
	}
	o = d->s->origin_fn != NULL ? d->s->origin_fn(d->s->origin_arg, str)
				    : ttlog__origin_new(str);
	if (o == NULL) {
		ttlog__errf(d->err, d->errlen,
			    "batch: origin %" PRIu32 ": out of memory", i);
		return -1;
	}
	((struct ttlog__origin **)d->s->origins)[d->norigins++] = o;
	return 0;
}

static int read_origins(struct dec *d)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = d->c.p;

	if (ttlog__cbor_read(&d->c, &it) != 0)
		return bad_cbor(d, "origins");
	if (it.major != TTLOG__CBOR_ARRAY) {
		ttlog__errf(d->err, d->errlen,
			    "batch: \"origins\" is not an array at offset %zu",
			    ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	if (it.arg > ttlog__cbor_left(&d->c) / (TTLOG__ORIGIN_NFIELDS + 1) ||
	    it.arg > TTLOG__BATCH_MAX_ORIGINS) {
		ttlog__errf(d->err, d->errlen,
			    "batch: %" PRIu64
			    " origins cannot fit in %zu bytes at offset %zu",
			    it.arg, ttlog__cbor_left(&d->c),
			    ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	if (grow(&d->s->origins, &d->s->origins_cap, (size_t)it.arg,
		 sizeof(struct ttlog__origin *)) != 0) {
		ttlog__errf(d->err, d->errlen,
			    "batch: out of memory at offset %zu",
			    ttlog__cbor_offset(&d->c, at));
		return -1;
	}
	for (uint32_t i = 0; i < (uint32_t)it.arg; i++)
		if (read_origin(d, i) != 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Events                                                               */
/* ------------------------------------------------------------------ */

static int bad_event(struct dec *d, size_t i, const char *what)
{
	ttlog__errf(d->err, d->errlen, "batch: event %zu: %s at offset %zu", i,
		    what, d->c.at);
	return -1;
}

/* A uint event item; on failure the reader holds why and where. */
static inline int read_uint(struct ttlog__cbor *c, uint64_t *v,
			    const char *not_uint)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = c->p;

	if (ttlog__cbor_read(c, &it) != 0)
		return -1;
	if (it.major != TTLOG__CBOR_UINT)
		return ttlog__cbor_fail(c, at, not_uint);
	*v = it.arg;
	return 0;
}

static int read_events(struct dec *d, ttlog__wire_event_fn fn, void *arg,
		       size_t *nevents)
{
	struct ttlog__cbor *c = &d->c;
	const struct site *sites = d->s->sites;
	const struct key *keys = d->s->keys;
	struct ttlog__cbor_item it;
	struct ttlog__in_event ev;
	const unsigned char *at = c->p;
	uint64_t n;

	if (ttlog__cbor_read(c, &it) != 0)
		return bad_cbor(d, "events");
	if (it.major != TTLOG__CBOR_ARRAY) {
		ttlog__errf(d->err, d->errlen,
			    "batch: \"events\" is not an array at offset %zu",
			    ttlog__cbor_offset(c, at));
		return -1;
	}
	n = it.arg;
	if (n > ttlog__cbor_left(c) / MIN_EVENT_BYTES) {
		ttlog__errf(d->err, d->errlen,
			    "batch: %" PRIu64
			    " events cannot fit in %zu bytes at "
			    "offset %zu",
			    n, ttlog__cbor_left(c), ttlog__cbor_offset(c, at));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t, tid, cs, flags, orig = 0;
		const struct site *st;
		int own, v3 = d->version >= 3;

		at = c->p;
		if (ttlog__cbor_read(c, &it) != 0)
			return bad_event(d, i, c->why);
		if (it.major != TTLOG__CBOR_ARRAY || it.arg < 4) {
			ttlog__cbor_fail(c, at,
					 "not an array of 4 items or more");
			return bad_event(d, i, c->why);
		}
		if (read_uint(c, &t, "the time is not an unsigned integer"))
			return bad_event(d, i, c->why);
		at = c->p;
		if (read_uint(c, &tid, "the tid is not an unsigned integer"))
			return bad_event(d, i, c->why);
		if (tid > UINT32_MAX) {
			ttlog__cbor_fail(c, at, "the tid is over 2^32 - 1");
			return bad_event(d, i, c->why);
		}
		at = c->p;
		if (read_uint(c, &cs,
			      "the call site is not an unsigned integer"))
			return bad_event(d, i, c->why);
		if (cs >= d->nsites) {
			char what[96];
			c->at = ttlog__cbor_offset(c, at);
			snprintf(what, sizeof(what),
				 "call site %" PRIu64 " out of range (%" PRIu32
				 " call sites)",
				 cs, d->nsites);
			return bad_event(d, i, what);
		}
		st = &sites[cs];
		if (read_uint(c, &flags,
			      "the flags are not an unsigned integer"))
			return bad_event(d, i, c->why);
		/* Version 2: flag 2, the event's own message before the
		 * values. */
		own = d->version >= 2 && (flags & 2u) ? 1 : 0;
		if (it.arg - 4 != (uint64_t)st->nkeys + own + v3) {
			char what[96];
			c->at = ttlog__cbor_offset(c, at);
			snprintf(what, sizeof(what),
				 "%" PRIu64
				 " items after the flags for the %" PRIu32
				 " keys of call site %" PRIu64 "%s",
				 it.arg - 4, st->nkeys, cs,
				 own ? " and a message" : "");
			return bad_event(d, i, what);
		}
		/* Version 3: the origin's index after the flags. */
		at = c->p;
		if (v3 && read_uint(c, &orig,
				    "the origin is not an unsigned integer"))
			return bad_event(d, i, c->why);
		if (v3 && orig >= d->norigins) {
			char what[96];
			c->at = ttlog__cbor_offset(c, at);
			snprintf(what, sizeof(what),
				 "origin %" PRIu64 " out of range (%" PRIu32
				 " origins)",
				 orig, d->norigins);
			return bad_event(d, i, what);
		}
		ev.origin = v3 ? ((struct ttlog__origin **)d->s->origins)[orig]
			       : d->s->v2_origin;
		ev.msg = st->msg;
		ev.msg_len = st->msg_len;
		ev.msg_varies = own;
		if (own) {
			struct ttlog__cbor_item m;
			at = c->p;
			if (ttlog__cbor_read(c, &m) != 0)
				return bad_event(d, i, c->why);
			if (!is_string(&m)) {
				ttlog__cbor_fail(c, at,
						 "the message is not a string");
				return bad_event(d, i, c->why);
			}
			ev.msg = (const char *)m.str;
			ev.msg_len = (size_t)m.arg;
		}
		ev.time_ns = t;
		ev.level = st->level;
		ev.source = st->file;
		ev.line = st->line;
		ev.tid = (uint32_t)tid;
		ev.nfields = st->nkeys;
		ev.truncated = (int)(flags & 1u);
		for (uint32_t f = 0; f < st->nkeys; f++) {
			const struct key *k = &keys[st->key0 + f];
			ev.fields[f].key = k->p;
			ev.fields[f].key_len = k->len;
			if (ttlog__wire_read_value(c, &ev.fields[f]) != 0) {
				char what[160];
				snprintf(what, sizeof(what),
					 "field %" PRIu32 ": %s", f, c->why);
				return bad_event(d, i, what);
			}
		}
		++*nevents;
		int rc = fn(arg, &ev);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The batch map                                                        */
/* ------------------------------------------------------------------ */

enum {
	TOP_V = 1,
	TOP_SEQ = 2,
	TOP_SITES = 4,
	TOP_EVENTS = 8,
	TOP_ORIGINS = 16
};

static int top_key(const struct ttlog__cbor_item *k)
{
	if (ttlog__cbor_is(k, "v", 1))
		return TOP_V;
	if (ttlog__cbor_is(k, "seq", 3))
		return TOP_SEQ;
	if (ttlog__cbor_is(k, "callsites", 9))
		return TOP_SITES;
	if (ttlog__cbor_is(k, "events", 6))
		return TOP_EVENTS;
	if (ttlog__cbor_is(k, "origins", 7))
		return TOP_ORIGINS;
	return 0;
}

static const char *top_name(int k)
{
	return k == TOP_V	  ? "v"
	       : k == TOP_SEQ	  ? "seq"
	       : k == TOP_SITES	  ? "callsites"
	       : k == TOP_ORIGINS ? "origins"
				  : "events";
}

static int decode_batch(struct dec *d, ttlog__wire_event_fn fn, void *arg,
			size_t *nevents)
{
	struct ttlog__cbor *c = &d->c;
	struct ttlog__cbor_item it;
	const unsigned char *at = c->p, *events_at = NULL;
	int seen = 0, rc;

	if (ttlog__cbor_read(c, &it) != 0)
		return bad_cbor(d, "batch map");
	if (it.major != TTLOG__CBOR_MAP) {
		ttlog__errf(d->err, d->errlen,
			    "batch: the payload is not a CBOR map at offset 0");
		return -1;
	}
	if (it.arg > ttlog__cbor_left(c) / 2) {
		ttlog__errf(d->err, d->errlen,
			    "batch: a map of %" PRIu64
			    " pairs cannot fit in %zu "
			    "bytes at offset 0",
			    it.arg, ttlog__cbor_left(c));
		return -1;
	}
	for (uint64_t i = 0, n = it.arg; i < n; i++) {
		struct ttlog__cbor_item key, v;
		int k;

		at = c->p;
		if (ttlog__cbor_read(c, &key) != 0)
			return bad_cbor(d, "batch map key");
		if (key.major != TTLOG__CBOR_TEXT) {
			ttlog__errf(
				d->err, d->errlen,
				"batch: a key of the batch map is not a text "
				"string at offset %zu",
				ttlog__cbor_offset(c, at));
			return -1;
		}
		k = top_key(&key);
		if (k == 0) {
			/* Not a key of version 1: skipped. */
			if (ttlog__cbor_skip(c) != 0)
				return bad_cbor(d, "batch map value");
			continue;
		}
		if (seen & k) {
			ttlog__errf(
				d->err, d->errlen,
				"batch: key \"%s\" appears twice at offset %zu",
				top_name(k), ttlog__cbor_offset(c, at));
			return -1;
		}
		seen |= k;
		at = c->p;
		switch (k) {
		case TOP_V:
		case TOP_SEQ:
			if (ttlog__cbor_read(c, &v) != 0)
				return bad_cbor(d, top_name(k));
			if (v.major != TTLOG__CBOR_UINT) {
				ttlog__errf(d->err, d->errlen,
					    "batch: \"%s\" is not an unsigned "
					    "integer at offset %zu",
					    top_name(k),
					    ttlog__cbor_offset(c, at));
				return -1;
			}
			if (k == TOP_V && (v.arg < 1 || v.arg > 3)) {
				ttlog__errf(
					d->err, d->errlen,
					"batch: version %" PRIu64
					" (this build reads 1 to 3) at offset "
					"%zu",
					v.arg, ttlog__cbor_offset(c, at));
				return -1;
			}
			if (k == TOP_V)
				d->version = (unsigned)v.arg;
			break;
		case TOP_SITES:
			if (read_sites(d) != 0)
				return -1;
			break;
		case TOP_ORIGINS:
			if (read_origins(d) != 0)
				return -1;
			break;
		default: /* TOP_EVENTS */
			/* Events are delivered as they are read, so only
			 * once the version and the call sites are known;
			 * before that, they are passed over and come back
			 * after the map. */
			if ((seen & (TOP_V | TOP_SITES)) ==
				    (TOP_V | TOP_SITES) &&
			    (d->version < 3 || (seen & TOP_ORIGINS))) {
				rc = read_events(d, fn, arg, nevents);
				if (rc != 0)
					return rc;
			} else {
				events_at = c->p;
				if (ttlog__cbor_skip(c) != 0)
					return bad_cbor(d, "events");
			}
			break;
		}
	}
	if ((seen & (TOP_V | TOP_SEQ | TOP_SITES | TOP_EVENTS)) !=
	    (TOP_V | TOP_SEQ | TOP_SITES | TOP_EVENTS)) {
		int k = !(seen & TOP_V)	      ? TOP_V
			: !(seen & TOP_SEQ)   ? TOP_SEQ
			: !(seen & TOP_SITES) ? TOP_SITES
					      : TOP_EVENTS;
		ttlog__errf(d->err, d->errlen,
			    "batch: key \"%s\" is missing at offset %zu",
			    top_name(k), ttlog__cbor_offset(c, c->p));
		return -1;
	}
	if (d->version >= 3 && !(seen & TOP_ORIGINS)) {
		ttlog__errf(d->err, d->errlen,
			    "batch: key \"origins\" is missing (version 3) "
			    "at offset %zu",
			    ttlog__cbor_offset(c, c->p));
		return -1;
	}
	if (ttlog__cbor_left(c) != 0) {
		ttlog__errf(
			d->err, d->errlen,
			"batch: %zu bytes after the batch map at offset %zu",
			ttlog__cbor_left(c), ttlog__cbor_offset(c, c->p));
		return -1;
	}
	if (events_at != NULL) {
		const unsigned char *end = c->p;
		c->p = events_at;
		rc = read_events(d, fn, arg, nevents);
		c->p = end;
		if (rc != 0)
			return rc;
	}
	return 0;
}

int ttlog__wire_payload_decode(const unsigned char *payload, size_t len,
			       uint32_t flags, size_t max_decoded,
			       struct ttlog__wire_scratch *scratch,
			       ttlog__wire_event_fn fn, void *arg,
			       size_t *nevents, char *err, size_t errlen)
{
	struct dec d;
	const unsigned char *cbor = payload;
	size_t n = len;

	*nevents = 0;
	if (flags & TTLOG_WIRE_DATA_LZ4) {
		if (ttlog__wire_lz4_decode(payload, len, max_decoded, scratch,
					   &n, err, errlen) != 0)
			return -1;
		cbor = scratch->buf;
	} else if (len > max_decoded) {
		ttlog__errf(
			err, errlen,
			"batch: %zu bytes over the limit of %zu at offset 0",
			len, max_decoded);
		return -1;
	}
	memset(&d, 0, sizeof(d));
	ttlog__cbor_init(&d.c, cbor, n);
	d.s = scratch;
	d.err = err;
	d.errlen = errlen;
	int rc = decode_batch(&d, fn, arg, nevents);
	drop_origins(&d);
	return rc;
}

void ttlog__wire_scratch_free(struct ttlog__wire_scratch *s)
{
	free(s->buf);
	free(s->strs);
	free(s->sites);
	free(s->keys);
	free(s->origins);
	if (s->lz4 != NULL)
		LZ4F_freeDecompressionContext(s->lz4);
	memset(s, 0, sizeof(*s));
}
