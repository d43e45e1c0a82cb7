/*
 * view_snap.c - parsing the items of a snapshot (docs/snapshot-format.md)
 * with the bounds-checked CBOR reader of wire/cbor_read.h.
 *
 * The reader hands over one whole item at a time, so a parser here never
 * waits for data: running out of bytes inside an item means the item is
 * malformed. Counts are checked against the bytes left before anything
 * is allocated from them, so a few bytes cannot make the parser allocate
 * much.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cbor_read.h"
#include "view_snap.h"

#define FORMAT_NAME "ttlog-snapshot"

static int fail(struct view_snap_err *e, const struct ttlog__cbor *c,
		const unsigned char *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records what was wrong at `at` (a position in the item). */
static int fail(struct view_snap_err *e, const struct ttlog__cbor *c,
		const unsigned char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->at = ttlog__cbor_offset(c, at);
	return -1;
}

/* A failure the CBOR reader recorded, in the context `what`. */
static int bad_cbor(struct view_snap_err *e, const struct ttlog__cbor *c,
		    const char *what)
{
	snprintf(e->msg, sizeof(e->msg), "%s: %s", what, c->why);
	e->at = c->at;
	return -1;
}

static int is_string(const struct ttlog__cbor_item *it)
{
	return it->major == TTLOG__CBOR_TEXT || it->major == TTLOG__CBOR_BYTES;
}

/* Copies at most 40 bytes of s into out for a message, with anything
 * that is not printable ASCII shown as '?': the text comes from a file
 * that may be anything, and goes to a terminal. */
static const char *printable(const unsigned char *s, size_t n, char *out,
			     size_t cap)
{
	size_t i, k = n < cap - 4 ? n : cap - 4;

	for (i = 0; i < k; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7F ? (char)s[i] : '?';
	if (k < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

void view_buf_free(struct view_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int view_buf_reserve(struct view_buf *b, size_t need)
{
	char *p;

	if (need <= b->cap)
		return 0;
	p = ttlog__grow(b->p, &b->cap, need, 1, 256);
	if (p == NULL)
		return -1;
	b->p = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Telling a snapshot from a batch                                      */
/* ------------------------------------------------------------------ */

static void version_fail(struct view_snap_err *e, const struct ttlog__cbor *c,
			 uint64_t v)
{
	fail(e, c, c->start,
	     "batch format version %" PRIu64 "; this ttlog-view reads 1 to %d",
	     v, VIEW_BATCH_VERSION_MAX);
}

int view_snap_batch_version(const unsigned char *p, size_t n,
			    struct view_snap_err *e)
{
	struct ttlog__cbor c;
	struct ttlog__cbor_item it, key, val;

	ttlog__cbor_init(&c, p, n);
	if (ttlog__cbor_read(&c, &it) != 0 || it.major != TTLOG__CBOR_MAP)
		return 0;
	/* The encoder writes "v" first: this reads little more. */
	for (uint64_t i = 0; i < it.arg; i++) {
		if (ttlog__cbor_read(&c, &key) != 0)
			return 0;
		if (!ttlog__cbor_is(&key, "v", 1)) {
			if (ttlog__cbor_skip(&c) != 0)
				return 0;
			continue;
		}
		if (ttlog__cbor_read(&c, &val) != 0 ||
		    val.major != TTLOG__CBOR_UINT ||
		    (val.arg >= 1 && val.arg <= VIEW_BATCH_VERSION_MAX))
			return 0;
		version_fail(e, &c, val.arg);
		return -1;
	}
	return 0;
}

enum view_snap_kind view_snap_detect(const unsigned char *p, size_t n,
				     struct view_snap_err *e)
{
	struct ttlog__cbor c;
	struct ttlog__cbor_item it, format = {0};
	const unsigned char *at;
	int has_format = 0, has_v = 0, has_sites = 0, has_events = 0;
	uint64_t v = 0;
	char shown[48];

	ttlog__cbor_init(&c, p, n);
	if (ttlog__cbor_read(&c, &it) != 0 || it.major != TTLOG__CBOR_MAP) {
		fail(e, &c, c.start,
		     "not a ttlog snapshot or binary log: the content does "
		     "not start with a CBOR map");
		return VIEW_SNAP_FOREIGN;
	}
	for (uint64_t i = 0; i < it.arg; i++) {
		struct ttlog__cbor_item key, val;

		at = c.p;
		if (ttlog__cbor_read(&c, &key) != 0 ||
		    key.major != TTLOG__CBOR_TEXT) {
			fail(e, &c, at,
			     "not a ttlog snapshot or binary log: a key of "
			     "the first map is not a text string");
			return VIEW_SNAP_FOREIGN;
		}
		if (ttlog__cbor_is(&key, "format", 6) ||
		    ttlog__cbor_is(&key, "v", 1)) {
			int is_v = key.arg == 1;
			at = c.p;
			if (ttlog__cbor_read(&c, &val) != 0 ||
			    (is_v && val.major != TTLOG__CBOR_UINT) ||
			    (!is_v && val.major != TTLOG__CBOR_TEXT)) {
				fail(e, &c, at,
				     "not a ttlog snapshot or binary log: "
				     "\"%s\" is not %s",
				     is_v ? "v" : "format",
				     is_v ? "an unsigned integer" : "text");
				return VIEW_SNAP_FOREIGN;
			}
			if (is_v) {
				has_v = 1;
				v = val.arg;
			} else {
				has_format = 1;
				format = val;
			}
			continue;
		}
		has_sites |= ttlog__cbor_is(&key, "callsites", 9);
		has_events |= ttlog__cbor_is(&key, "events", 6);
		if (ttlog__cbor_skip(&c) != 0) {
			bad_cbor(e, &c, "the first map");
			return VIEW_SNAP_FOREIGN;
		}
	}
	if (has_format) {
		if (!ttlog__cbor_is(&format, FORMAT_NAME,
				    sizeof(FORMAT_NAME) - 1)) {
			fail(e, &c, c.start,
			     "not a ttlog snapshot: its \"format\" is \"%s\"",
			     printable(format.str, (size_t)format.arg, shown,
				       sizeof(shown)));
			return VIEW_SNAP_FOREIGN;
		}
		if (!has_v) {
			fail(e, &c, c.start,
			     "a snapshot header without a version (\"v\")");
			return VIEW_SNAP_FOREIGN;
		}
		if (v != VIEW_SNAP_VERSION) {
			fail(e, &c, c.start,
			     "snapshot format version %" PRIu64
			     ", this build reads version 1",
			     v);
			return VIEW_SNAP_FOREIGN;
		}
		return VIEW_SNAP_IS_SNAPSHOT;
	}
	if (has_sites && has_events) {
		if (has_v && (v < 1 || v > VIEW_BATCH_VERSION_MAX)) {
			version_fail(e, &c, v);
			return VIEW_SNAP_FOREIGN;
		}
		return VIEW_SNAP_IS_BATCH;
	}
	fail(e, &c, c.start,
	     "not a ttlog snapshot or binary log: the first map has neither "
	     "\"format\" nor \"callsites\" and \"events\"");
	return VIEW_SNAP_FOREIGN;
}

/* ------------------------------------------------------------------ */
/* The header                                                           */
/* ------------------------------------------------------------------ */

enum {
	K_FORMAT,
	K_V,
	K_SERVICE,
	K_HOST,
	K_PID,
	K_TRIGGER,
	K_REASON,
	K_TIME,
	K_STRINGS,
	K_OMITTED,
	NKEYS
};

static const char *const key_names[NKEYS] = {
	"format",  "v",	     "service", "host",	   "pid",
	"trigger", "reason", "time_ns", "strings", "omitted"};

/* The CBOR major type each key's value must have; strings accept both
 * text and bytes (TTLOG__CBOR_TEXT stands for either). */
static const uint8_t key_types[NKEYS] = {
	TTLOG__CBOR_TEXT,  TTLOG__CBOR_UINT, TTLOG__CBOR_TEXT, TTLOG__CBOR_TEXT,
	TTLOG__CBOR_UINT,  TTLOG__CBOR_TEXT, TTLOG__CBOR_TEXT, TTLOG__CBOR_UINT,
	TTLOG__CBOR_ARRAY, TTLOG__CBOR_UINT};

static int header_key(const struct ttlog__cbor_item *k)
{
	for (int i = 0; i < NKEYS; i++)
		if (ttlog__cbor_is(k, key_names[i], strlen(key_names[i])))
			return i;
	return -1;
}

static const char empty[] = "";

/* Copies it (a string) into the arena as a NUL-terminated string. */
static void put_str(struct view_str *s, const struct ttlog__cbor_item *it,
		    char **arena)
{
	s->p = *arena;
	s->len = (size_t)it->arg;
	if (s->len > 0)
		memcpy(*arena, it->str, s->len);
	(*arena)[s->len] = '\0';
	*arena += s->len + 1;
}

/*
 * First pass: checks every value's type, notes where each known value
 * starts (val[k]) and adds up the bytes the copies take.
 */
static int header_scan(struct ttlog__cbor *c, struct view_snap_err *e,
		       const unsigned char *val[NKEYS], size_t *bytes,
		       size_t *nstrings)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = c->p;

	if (ttlog__cbor_read(c, &it) != 0)
		return bad_cbor(e, c, "header");
	if (it.major != TTLOG__CBOR_MAP)
		return fail(e, c, at, "the header is not a map");
	if (it.arg > ttlog__cbor_left(c) / 2)
		return fail(e, c, at, "a header of %" PRIu64 " keys cannot fit",
			    it.arg);
	for (uint64_t i = 0, n = it.arg; i < n; i++) {
		struct ttlog__cbor_item key, v;
		int k;

		at = c->p;
		if (ttlog__cbor_read(c, &key) != 0)
			return bad_cbor(e, c, "header key");
		if (key.major != TTLOG__CBOR_TEXT)
			return fail(e, c, at,
				    "a header key is not a text string");
		k = header_key(&key);
		if (k < 0) {
			/* Later minor versions add keys: skipped. */
			if (ttlog__cbor_skip(c) != 0)
				return bad_cbor(e, c, "header value");
			continue;
		}
		if (val[k] != NULL)
			return fail(e, c, at, "header key \"%s\" appears twice",
				    key_names[k]);
		at = val[k] = c->p;
		if (ttlog__cbor_read(c, &v) != 0)
			return bad_cbor(e, c, key_names[k]);
		if (key_types[k] == TTLOG__CBOR_TEXT ? !is_string(&v)
						     : v.major != key_types[k])
			return fail(e, c, at, "header \"%s\" is not %s",
				    key_names[k],
				    key_types[k] == TTLOG__CBOR_TEXT
					    ? "a string"
				    : key_types[k] == TTLOG__CBOR_UINT
					    ? "an unsigned integer"
					    : "an array");
		if (k == K_FORMAT && v.major != TTLOG__CBOR_TEXT)
			return fail(e, c, at, "header \"format\" is not text");
		if (k != K_STRINGS) {
			if (is_string(&v))
				*bytes += (size_t)v.arg + 1;
			continue;
		}
		if (v.arg > ttlog__cbor_left(c))
			return fail(e, c, at,
				    "a string table of %" PRIu64
				    " strings cannot fit",
				    v.arg);
		*nstrings = (size_t)v.arg;
		for (size_t s = 0; s < *nstrings; s++) {
			struct ttlog__cbor_item str;
			at = c->p;
			if (ttlog__cbor_read(c, &str) != 0)
				return bad_cbor(e, c, "string table");
			if (!is_string(&str))
				return fail(e, c, at,
					    "string %zu of the table is not a "
					    "string",
					    s);
			*bytes += (size_t)str.arg + 1;
		}
	}
	if (ttlog__cbor_left(c) != 0)
		return fail(e, c, c->p, "%zu bytes after the header",
			    ttlog__cbor_left(c));
	return 0;
}

int view_snap_header_parse(const unsigned char *p, size_t n,
			   struct view_snap_header *h, struct view_snap_err *e)
{
	const unsigned char *val[NKEYS] = {0};
	struct view_str *strs[NKEYS] = {0};
	struct ttlog__cbor c;
	struct ttlog__cbor_item it = {0};
	size_t bytes = 0, nstrings = 0;
	char *arena;

	memset(h, 0, sizeof(*h));
	ttlog__cbor_init(&c, p, n);
	if (header_scan(&c, e, val, &bytes, &nstrings) != 0)
		return -1;
	/* The values were checked; reading them again cannot fail. */
	if (val[K_FORMAT] == NULL) {
		fail(e, &c, c.start, "not a ttlog snapshot: no \"format\"");
		return 1;
	}
	c.p = val[K_FORMAT];
	ttlog__cbor_read(&c, &it);
	if (!ttlog__cbor_is(&it, FORMAT_NAME, sizeof(FORMAT_NAME) - 1)) {
		char shown[48];
		fail(e, &c, val[K_FORMAT],
		     "not a ttlog snapshot: its \"format\" is \"%s\"",
		     printable(it.str, (size_t)it.arg, shown, sizeof(shown)));
		return 1;
	}
	if (val[K_V] == NULL) {
		fail(e, &c, c.start,
		     "a snapshot header without a version (\"v\")");
		return 1;
	}
	c.p = val[K_V];
	ttlog__cbor_read(&c, &it);
	if (it.arg != VIEW_SNAP_VERSION) {
		fail(e, &c, val[K_V],
		     "snapshot format version %" PRIu64
		     ", this build reads version 1",
		     it.arg);
		return 1;
	}

	h->arena = arena = malloc(bytes + 1);
	h->strings = calloc(nstrings ? nstrings : 1, sizeof(*h->strings));
	if (arena == NULL || h->strings == NULL) {
		view_snap_header_destroy(h);
		return fail(e, &c, c.start, "out of memory for the header");
	}
	h->nstrings = nstrings;
	strs[K_SERVICE] = &h->service;
	strs[K_HOST] = &h->host;
	strs[K_TRIGGER] = &h->trigger;
	strs[K_REASON] = &h->reason;
	for (int k = 0; k < NKEYS; k++) {
		if (strs[k] != NULL)
			strs[k]->p = empty;
		if (val[k] == NULL)
			continue;
		c.p = val[k];
		ttlog__cbor_read(&c, &it);
		switch (k) {
		case K_SERVICE:
		case K_HOST:
		case K_TRIGGER:
		case K_REASON:
			put_str(strs[k], &it, &arena);
			break;
		case K_PID:
			h->pid = it.arg;
			break;
		case K_TIME:
			h->time_ns = it.arg;
			break;
		case K_OMITTED:
			h->omitted = it.arg;
			break;
		case K_STRINGS:
			for (size_t s = 0; s < nstrings; s++) {
				struct ttlog__cbor_item str = {0};
				ttlog__cbor_read(&c, &str);
				put_str(&h->strings[s], &str, &arena);
			}
			break;
		default:
			break;
		}
	}
	h->has = (val[K_SERVICE] ? VIEW_SNAP_HAS_SERVICE : 0) |
		 (val[K_HOST] ? VIEW_SNAP_HAS_HOST : 0) |
		 (val[K_PID] ? VIEW_SNAP_HAS_PID : 0) |
		 (val[K_TRIGGER] ? VIEW_SNAP_HAS_TRIGGER : 0) |
		 (val[K_REASON] ? VIEW_SNAP_HAS_REASON : 0) |
		 (val[K_TIME] ? VIEW_SNAP_HAS_TIME : 0) |
		 (val[K_OMITTED] ? VIEW_SNAP_HAS_OMITTED : 0);
	return 0;
}

void view_snap_header_destroy(struct view_snap_header *h)
{
	free(h->arena);
	free(h->strings);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------ */
/* Events                                                               */
/* ------------------------------------------------------------------ */

/* An unsigned integer event item; `name` says which for an error. */
static int read_uint(struct ttlog__cbor *c, struct view_snap_err *e,
		     const char *name, uint64_t max, uint64_t *v)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = c->p;

	if (ttlog__cbor_read(c, &it) != 0)
		return bad_cbor(e, c, name);
	if (it.major != TTLOG__CBOR_UINT)
		return fail(e, c, at, "the %s is not an unsigned integer",
			    name);
	if (it.arg > max)
		return fail(e, c, at, "the %s %" PRIu64 " is over %" PRIu64,
			    name, it.arg, max);
	*v = it.arg;
	return 0;
}

/*
 * A string reference: an index into the header's table, or the string
 * itself. *table is set when the string came from the table (and so is
 * NUL-terminated).
 */
static int read_ref(const struct view_snap_header *h, struct ttlog__cbor *c,
		    struct view_snap_err *e, const char *name,
		    struct view_str *out, int *table)
{
	struct ttlog__cbor_item it;
	const unsigned char *at = c->p;

	if (ttlog__cbor_read(c, &it) != 0)
		return bad_cbor(e, c, name);
	if (it.major == TTLOG__CBOR_UINT) {
		if (it.arg >= h->nstrings)
			return fail(e, c, at,
				    "the %s refers to string %" PRIu64
				    " of a table of %zu",
				    name, it.arg, h->nstrings);
		*out = h->strings[it.arg];
		*table = 1;
		return 0;
	}
	if (!is_string(&it))
		return fail(e, c, at,
			    "the %s is neither a string nor an index into "
			    "the string table",
			    name);
	out->p = (const char *)it.str;
	out->len = (size_t)it.arg;
	*table = 0;
	return 0;
}

/* U+FFFD for a NUL byte: the source file becomes a C string, which a NUL
 * would silently cut (ingest.c does the same for messages and keys). */
static const char replacement[] = "\xEF\xBF\xBD";

/* The source file as a NUL-terminated string: the table's copy when it
 * has no NUL inside, else a copy in scratch. */
static const char *file_cstr(struct view_str s, int table,
			     struct view_buf *scratch)
{
	size_t nuls = 0, k = 0;

	for (const char *z = s.len ? memchr(s.p, 0, s.len) : NULL; z != NULL;
	     z = memchr(z + 1, 0, (size_t)(s.p + s.len - z - 1)))
		nuls++;
	if (table && nuls == 0)
		return s.p;
	if (view_buf_reserve(scratch, s.len + nuls * 2 + 1) != 0)
		return NULL;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '\0') {
			memcpy(scratch->p + k, replacement, 3);
			k += 3;
		} else {
			scratch->p[k++] = s.p[i];
		}
	}
	scratch->p[k] = '\0';
	return scratch->p;
}

/* One field value (cbor_read.h); the reader's complaint, with the field. */
static int read_value(struct ttlog__cbor *c, struct view_snap_err *e,
		      uint32_t i, struct ttlog__in_field *f)
{
	if (ttlog__wire_read_value(c, f) == 0)
		return 0;
	snprintf(e->msg, sizeof(e->msg), "field %" PRIu32 ": %s", i, c->why);
	e->at = c->at;
	return -1;
}

int view_snap_event_parse(const struct view_snap_header *h,
			  const unsigned char *p, size_t n,
			  struct ttlog__in_event *ev, struct view_buf *scratch,
			  struct view_snap_err *e)
{
	struct ttlog__cbor c;
	struct ttlog__cbor_item it;
	struct view_str msg, file;
	uint64_t t, tid, level, line, flags, nf;
	int table;

	ttlog__cbor_init(&c, p, n);
	if (ttlog__cbor_read(&c, &it) != 0)
		return bad_cbor(e, &c, "event");
	if (it.major != TTLOG__CBOR_ARRAY)
		return fail(e, &c, c.start, "the event is not an array");
	if (it.arg < 7 || (it.arg - 7) % 2 != 0)
		return fail(e, &c, c.start,
			    "an event of %" PRIu64
			    " items, not 7 plus 2 per field",
			    it.arg);
	nf = (it.arg - 7) / 2;
	if (nf > TTLOG__IN_MAX_FIELDS)
		return fail(e, &c, c.start,
			    "an event of %" PRIu64 " fields (at most %d)", nf,
			    TTLOG__IN_MAX_FIELDS);
	if (read_uint(&c, e, "time", UINT64_MAX, &t) != 0 ||
	    read_uint(&c, e, "tid", UINT32_MAX, &tid) != 0 ||
	    read_uint(&c, e, "level", UINT64_MAX, &level) != 0 ||
	    read_ref(h, &c, e, "message", &msg, &table) != 0)
		return -1;
	if (read_ref(h, &c, e, "file", &file, &table) != 0)
		return -1;
	/* Snapshots have their own format, without origins: their events
	 * are the process's own, named by the header. */
	ev->origin = NULL;
	ev->duplicate_keys = 0;
	ev->source = file_cstr(file, table, scratch);
	if (ev->source == NULL)
		return fail(e, &c, c.start, "out of memory");
	if (read_uint(&c, e, "line", UINT32_MAX, &line) != 0 ||
	    read_uint(&c, e, "flags", UINT64_MAX, &flags) != 0)
		return -1;
	ev->time_ns = t;
	ev->tid = (uint32_t)tid;
	/* Levels past FATAL are not written by ttlog; shown as FATAL. */
	ev->level = level > TTLOG_LEVEL_FATAL ? TTLOG_LEVEL_FATAL : (int)level;
	ev->msg = msg.p;
	ev->msg_len = msg.len;
	ev->msg_varies = 1;
	ev->line = (uint32_t)line;
	ev->truncated = (flags & 1u) != 0;
	ev->nfields = (uint32_t)nf;
	for (uint32_t i = 0; i < ev->nfields; i++) {
		struct ttlog__in_field *f = &ev->fields[i];
		struct view_str key;

		if (read_ref(h, &c, e, "key", &key, &table) != 0)
			return -1;
		f->key = key.p;
		f->key_len = key.len;
		if (read_value(&c, e, i, f) != 0)
			return -1;
	}
	if (ttlog__cbor_left(&c) != 0)
		return fail(e, &c, c.p, "%zu bytes after the event",
			    ttlog__cbor_left(&c));
	return 0;
}

/* ------------------------------------------------------------------ */
/* The trailer                                                          */
/* ------------------------------------------------------------------ */

int view_snap_trailer_parse(const unsigned char *p, size_t n, uint64_t *count,
			    struct view_snap_err *e)
{
	struct ttlog__cbor c;
	struct ttlog__cbor_item it;
	const unsigned char *at;
	int seen = 0;

	ttlog__cbor_init(&c, p, n);
	if (ttlog__cbor_read(&c, &it) != 0)
		return bad_cbor(e, &c, "trailer");
	if (it.major != TTLOG__CBOR_MAP)
		return fail(e, &c, c.start, "the trailer is not a map");
	if (it.arg > ttlog__cbor_left(&c) / 2)
		return fail(e, &c, c.start,
			    "a trailer of %" PRIu64 " keys cannot fit", it.arg);
	for (uint64_t i = 0; i < it.arg; i++) {
		struct ttlog__cbor_item key;

		at = c.p;
		if (ttlog__cbor_read(&c, &key) != 0)
			return bad_cbor(e, &c, "trailer key");
		if (key.major != TTLOG__CBOR_TEXT)
			return fail(e, &c, at,
				    "a trailer key is not a text string");
		if (!ttlog__cbor_is(&key, "end", 3)) {
			if (ttlog__cbor_skip(&c) != 0)
				return bad_cbor(e, &c, "trailer value");
			continue;
		}
		if (seen)
			return fail(e, &c, at,
				    "trailer key \"end\" appears twice");
		seen = 1;
		if (read_uint(&c, e, "trailer's \"end\"", UINT64_MAX, count))
			return -1;
	}
	if (!seen)
		return fail(e, &c, c.start, "the trailer has no \"end\"");
	if (ttlog__cbor_left(&c) != 0)
		return fail(e, &c, c.p, "%zu bytes after the trailer",
			    ttlog__cbor_left(&c));
	return 0;
}
