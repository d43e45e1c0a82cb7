/* test_view.c - ttlog-view's reader, filters and output (tools/view/).
 *
 * Snapshots are built here from docs/snapshot-format.md with a tiny CBOR
 * writer and liblz4's LZ4F_compressFrame() (the frame parameters the spec
 * names), not with core/snapshot_file.c; binary logs are the core's own
 * TTLOG_ENCODING_CBOR_LZ4 batches, as the file listener writes them.
 * Batches of the versions the core no longer writes (1 and 2), and of a
 * version not known yet (4), are written here by hand (cbor-batch.md).
 * Each event read back is turned into one canonical line of text, so a
 * test states exactly what it expects. */
#include <lz4frame.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "testutil.h"
#include "view_filter.h"
#include "view_out.h"
#include "view_read.h"

#define T0 1700000000100000000ull

/* ------------------------------------------------------------------ */
/* A tiny CBOR writer                                                   */
/* ------------------------------------------------------------------ */

struct cb {
	unsigned char *p;
	size_t len, cap;
};

static void cb_put(struct cb *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* A head in the shortest form (RFC 8949 preferred serialization). */
static void cb_head(struct cb *b, unsigned major, uint64_t v)
{
	unsigned char h[9];
	int n = v < 24		  ? 0
		: v <= 0xFF	  ? 1
		: v <= 0xFFFF	  ? 2
		: v <= 0xFFFFFFFF ? 4
				  : 8;

	h[0] = (unsigned char)(major << 5 | (n == 0   ? v
					     : n == 1 ? 24
					     : n == 2 ? 25
					     : n == 4 ? 26
						      : 27));
	for (int i = 0; i < n; i++)
		h[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	cb_put(b, h, 1 + (size_t)n);
}

static void cb_text(struct cb *b, const char *s)
{
	cb_head(b, 3, strlen(s));
	cb_put(b, s, strlen(s));
}

static void cb_bytes(struct cb *b, const void *p, size_t n)
{
	cb_head(b, 2, n);
	cb_put(b, p, n);
}

static void cb_f64(struct cb *b, double d)
{
	uint64_t u;
	unsigned char h[9] = {0xFB};

	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)(u >> (56 - 8 * i));
	cb_put(b, h, 9);
}

static void cb_byte(struct cb *b, unsigned char c)
{
	cb_put(b, &c, 1);
}

/* The snapshot's one LZ4 frame, as the spec describes it: FLG 0x64
 * (independent blocks, content checksum, no content size), BD 0x40. */
static unsigned char *snap_frame(const struct cb *content, size_t *len)
{
	LZ4F_preferences_t prefs;
	unsigned char *out;
	size_t bound, n;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	bound = LZ4F_compressFrameBound(content->len, &prefs);
	out = malloc(bound);
	assert_non_null(out);
	n = LZ4F_compressFrame(out, bound, content->p, content->len, &prefs);
	assert_false(LZ4F_isError(n));
	assert_int_equal(out[4], 0x64);
	assert_int_equal(out[5], 0x40);
	*len = n;
	return out;
}

static const char *const table[] = {"request done", "shop.c", "id", "ms",
				    "about to crash"};

/* The header of the spec's worked example, plus `extra` unknown keys
 * written by the caller right after (extra counts map pairs). */
static void put_header(struct cb *b, const char *format, uint64_t v, int extra)
{
	cb_head(b, 5, 10 + (uint64_t)extra);
	cb_text(b, "format");
	cb_text(b, format);
	cb_text(b, "v");
	cb_head(b, 0, v);
	cb_text(b, "service");
	cb_text(b, "shop");
	cb_text(b, "host");
	cb_text(b, "web1");
	cb_text(b, "pid");
	cb_head(b, 0, 4242);
	cb_text(b, "trigger");
	cb_text(b, "crash");
	cb_text(b, "reason");
	cb_text(b, "SIGSEGV");
	cb_text(b, "time_ns");
	cb_head(b, 0, 1700000000500000000ull);
	cb_text(b, "strings");
	cb_head(b, 4, 5);
	for (int i = 0; i < 5; i++)
		cb_text(b, table[i]);
	cb_text(b, "omitted");
	cb_head(b, 0, 3);
}

/* The two events of the worked example. */
static void put_example_events(struct cb *b)
{
	cb_head(b, 4, 11);
	cb_head(b, 0, T0);
	cb_head(b, 0, 4242);
	cb_head(b, 0, 2);
	cb_head(b, 0, 0);
	cb_head(b, 0, 1);
	cb_head(b, 0, 12);
	cb_head(b, 0, 0);
	cb_head(b, 0, 2);
	cb_head(b, 0, 17);
	cb_head(b, 0, 3);
	cb_f64(b, 4.2);
	cb_head(b, 4, 7);
	cb_head(b, 0, T0 + 300000000);
	cb_head(b, 0, 4242);
	cb_head(b, 0, 4);
	cb_head(b, 0, 4);
	cb_head(b, 0, 1);
	cb_head(b, 0, 30);
	cb_head(b, 0, 0);
}

static void put_trailer(struct cb *b, uint64_t n)
{
	cb_head(b, 5, 1);
	cb_text(b, "end");
	cb_head(b, 0, n);
}

/* ------------------------------------------------------------------ */
/* Reading into canonical lines                                         */
/* ------------------------------------------------------------------ */

struct got {
	char **ev;
	size_t n;
	int headers;
	uint64_t events_at_header;
	char service[64];
	int kind_at_event;
	size_t stop_at; /* 0: never */
	int waits;
};

static void esc(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F && c != '\\')
			out[k++] = (char)c;
		else
			k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
	}
	out[k] = '\0';
}

/* "TIME TID LEVEL file:line 'msg' key=value... [truncated]" with typed
 * values: u42 i-2 f4.2 true "text" (bytes escaped as \xHH). */
static char *canon(const struct ttlog__in_event *ev)
{
	char *out = malloc(4096), tmp[512], src[256];
	size_t k;

	assert_non_null(out);
	esc(tmp, sizeof(tmp), ev->msg, ev->msg_len);
	esc(src, sizeof(src), ev->source, strlen(ev->source));
	k = (size_t)snprintf(out, 4096, "%llu %u L%d %s:%u '%s'",
			     (unsigned long long)ev->time_ns, ev->tid,
			     ev->level, src, ev->line, tmp);
	for (uint32_t i = 0; i < ev->nfields; i++) {
		const struct ttlog__in_field *f = &ev->fields[i];
		esc(tmp, sizeof(tmp), f->key, f->key_len);
		k += (size_t)snprintf(out + k, 4096 - k, " %s=", tmp);
		switch (f->type) {
		case TTLOG_TYPE_U64:
			k += (size_t)snprintf(out + k, 4096 - k, "u%llu",
					      (unsigned long long)f->v.u64);
			break;
		case TTLOG_TYPE_I64:
			k += (size_t)snprintf(out + k, 4096 - k, "i%lld",
					      (long long)f->v.i64);
			break;
		case TTLOG_TYPE_F64:
			k += (size_t)snprintf(out + k, 4096 - k, "f%.17g",
					      f->v.f64);
			break;
		case TTLOG_TYPE_BOOL:
			k += (size_t)snprintf(out + k, 4096 - k, "%s",
					      f->v.b ? "true" : "false");
			break;
		default:
			esc(tmp, sizeof(tmp), f->v.str.ptr, f->v.str.len);
			k += (size_t)snprintf(out + k, 4096 - k, "\"%s\"", tmp);
		}
	}
	if (ev->truncated)
		k += (size_t)snprintf(out + k, 4096 - k, " [truncated]");
	/* The origin, when it has any string: " {host,service,...}". */
	for (int i = 0; ev->origin != NULL && i < TTLOG__ORIGIN_NFIELDS; i++)
		if (ttlog__origin_get(&ev->origin->pub, i)[0] != 0) {
			const struct ttlog_origin *o = &ev->origin->pub;
			snprintf(out + k, 4096 - k, " {%s,%s,%s,%s,%s,%s}",
				 o->host, o->service, o->input, o->peer,
				 o->peer_id, o->relay);
			break;
		}
	return out;
}

static int on_header(void *arg, const struct view_file *f)
{
	struct got *g = arg;

	g->headers++;
	g->events_at_header = f->events;
	snprintf(g->service, sizeof(g->service), "%s", f->snap->service.p);
	return 0;
}

static int on_event(void *arg, const struct view_file *f,
		    const struct ttlog__in_event *ev)
{
	struct got *g = arg;

	assert_int_equal(f->events, g->n);
	g->kind_at_event = f->kind;
	g->ev = realloc(g->ev, (g->n + 1) * sizeof(*g->ev));
	assert_non_null(g->ev);
	g->ev[g->n++] = canon(ev);
	return g->stop_at != 0 && g->n >= g->stop_at;
}

static void on_wait(void *arg)
{
	((struct got *)arg)->waits++;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->ev[i]);
	free(g->ev);
	memset(g, 0, sizeof(*g));
}

static int read_mem(const void *p, size_t n, size_t chunk, struct got *g,
		    struct view_result *res)
{
	struct view_read_opts o = {
		.cb = {.header = on_header, .event = on_event, .wait = on_wait},
		.arg = g,
		.chunk = chunk,
	};

	return view_read_mem(p, n, "t", &o, res);
}

/* The complete example snapshot: header, 2 events, trailer. */
static unsigned char *example_snapshot(size_t *len)
{
	struct cb b = {0};
	unsigned char *f;

	put_header(&b, "ttlog-snapshot", 1, 0);
	put_example_events(&b);
	put_trailer(&b, 2);
	f = snap_frame(&b, len);
	free(b.p);
	return f;
}

static const char *const example_lines[] = {
	"1700000000100000000 4242 L2 shop.c:12 'request done' id=u17 "
	"ms=f4.2000000000000002",
	"1700000000400000000 4242 L4 shop.c:30 'about to crash'",
};

/* ------------------------------------------------------------------ */
/* Snapshots                                                            */
/* ------------------------------------------------------------------ */

static void test_view_reads_the_spec_example(void **state)
{
	struct view_result res;
	struct got g = {0};
	size_t len;
	unsigned char *f = example_snapshot(&len);
	(void)state;

	assert_int_equal(read_mem(f, len, 0, &g, &res), VIEW_OK);
	assert_int_equal(res.kind, VIEW_KIND_SNAPSHOT);
	assert_int_equal(g.kind_at_event, VIEW_KIND_SNAPSHOT);
	assert_int_equal(res.events, 2);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.ev[0], example_lines[0]);
	assert_string_equal(g.ev[1], example_lines[1]);
	assert_int_equal(g.headers, 1);
	assert_int_equal(g.events_at_header, 0);
	assert_string_equal(g.service, "shop");
	got_free(&g);
	free(f);
}

static void test_view_header_fields_and_unknown_keys(void **state)
{
	struct view_snap_header h;
	struct view_snap_err e;
	struct cb b = {0};
	(void)state;

	/* Unknown keys of every shape, before and after the known ones. */
	cb_head(&b, 5, 13);
	cb_text(&b, "zz_future");
	cb_head(&b, 5, 1);
	cb_text(&b, "a");
	cb_head(&b, 4, 2);
	cb_byte(&b, 0xF6); /* null */
	cb_f64(&b, 1.0);
	cb_text(&b, "format");
	cb_text(&b, "ttlog-snapshot");
	cb_text(&b, "v");
	cb_head(&b, 0, 1);
	cb_text(&b, "strings");
	cb_head(&b, 4, 2);
	cb_text(&b, "m");
	cb_bytes(&b, "f\0\xff", 3);
	cb_text(&b, "tagged");
	cb_head(&b, 6, 1);
	cb_head(&b, 0, 1700000000);
	cb_text(&b, "service");
	cb_text(&b, "svc");
	cb_text(&b, "host");
	cb_text(&b, "h1");
	cb_text(&b, "pid");
	cb_head(&b, 0, 99);
	cb_text(&b, "trigger");
	cb_text(&b, "request");
	cb_text(&b, "reason");
	cb_text(&b, "deploy");
	cb_text(&b, "time_ns");
	cb_head(&b, 0, 5);
	cb_text(&b, "omitted");
	cb_head(&b, 0, 7);
	cb_text(&b, "other");
	cb_bytes(&b, "x", 1);

	assert_int_equal(view_snap_header_parse(b.p, b.len, &h, &e), 0);
	assert_string_equal(h.service.p, "svc");
	assert_string_equal(h.host.p, "h1");
	assert_string_equal(h.trigger.p, "request");
	assert_string_equal(h.reason.p, "deploy");
	assert_int_equal(h.pid, 99);
	assert_int_equal(h.time_ns, 5);
	assert_int_equal(h.omitted, 7);
	assert_int_equal(h.has, 0x7F);
	assert_int_equal(h.nstrings, 2);
	assert_string_equal(h.strings[0].p, "m");
	assert_int_equal(h.strings[1].len, 3);
	assert_memory_equal(h.strings[1].p, "f\0\xff", 4); /* NUL-ended */
	view_snap_header_destroy(&h);

	/* Without the optional keys: empty strings, nothing flagged. */
	b.len = 0;
	cb_head(&b, 5, 2);
	cb_text(&b, "v");
	cb_head(&b, 0, 1);
	cb_text(&b, "format");
	cb_text(&b, "ttlog-snapshot");
	assert_int_equal(view_snap_header_parse(b.p, b.len, &h, &e), 0);
	assert_int_equal(h.has, 0);
	assert_string_equal(h.service.p, "");
	assert_int_equal(h.nstrings, 0);
	view_snap_header_destroy(&h);

	/* A known key of the wrong type is malformed, with its offset. */
	b.len = 0;
	cb_head(&b, 5, 3);
	cb_text(&b, "format");
	cb_text(&b, "ttlog-snapshot");
	cb_text(&b, "v");
	cb_head(&b, 0, 1);
	cb_text(&b, "pid");
	cb_text(&b, "4242");
	assert_int_equal(view_snap_header_parse(b.p, b.len, &h, &e), -1);
	assert_non_null(strstr(e.msg, "\"pid\" is not an unsigned integer"));
	assert_int_equal(e.at, b.len - 5);
	free(b.p);
}

static void test_view_string_refs_by_index_and_inline(void **state)
{
	static const char *const want[] = {
		/* msg, file and key by index */
		"1700000000100000000 7 L1 shop.c:5 'request done' id=u1",
		/* msg, file and key inline (text) */
		"1700000000100000001 7 L3 inline.c:6 'own message' key=u2",
		/* inline byte strings; a NUL in the file shows as U+FFFD (one
		 * line split in two: the parentheses tell clang the
		 * concatenation is meant) */
		("1700000000100000002 7 L2 a\\xef\\xbf\\xbdb:7 'm\\xff' "
		 "k\\xfe=u3"),
	};
	struct view_result res;
	struct got g = {0};
	struct cb b = {0};
	unsigned char *f;
	size_t len;
	(void)state;

	put_header(&b, "ttlog-snapshot", 1, 0);
	cb_head(&b, 4, 9);
	cb_head(&b, 0, T0);
	cb_head(&b, 0, 7);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 0);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 5);
	cb_head(&b, 0, 0);
	cb_head(&b, 0, 2);
	cb_head(&b, 0, 1);
	cb_head(&b, 4, 9);
	cb_head(&b, 0, T0 + 1);
	cb_head(&b, 0, 7);
	cb_head(&b, 0, 3);
	cb_text(&b, "own message");
	cb_text(&b, "inline.c");
	cb_head(&b, 0, 6);
	cb_head(&b, 0, 0);
	cb_text(&b, "key");
	cb_head(&b, 0, 2);
	cb_head(&b, 4, 9);
	cb_head(&b, 0, T0 + 2);
	cb_head(&b, 0, 7);
	cb_head(&b, 0, 2);
	cb_bytes(&b, "m\xff", 2);
	cb_bytes(&b, "a\0b", 3);
	cb_head(&b, 0, 7);
	cb_head(&b, 0, 0);
	cb_bytes(&b, "k\xfe", 2);
	cb_head(&b, 0, 3);
	put_trailer(&b, 3);
	f = snap_frame(&b, &len);

	assert_int_equal(read_mem(f, len, 0, &g, &res), VIEW_OK);
	assert_int_equal(g.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(g.ev[i], want[i]);
	got_free(&g);
	free(f);
	free(b.p);
}

static void test_view_every_value_type(void **state)
{
	struct view_result res;
	struct got g = {0};
	struct cb b = {0};
	unsigned char *f;
	size_t len;
	(void)state;

	put_header(&b, "ttlog-snapshot", 1, 0);
	cb_head(&b, 4, 7 + 2 * 12);
	cb_head(&b, 0, T0);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 9); /* a level past FATAL: shown as FATAL */
	cb_head(&b, 0, 0);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 0);
	cb_head(&b, 0, 1 | 4); /* truncated, and an unknown bit */
	cb_text(&b, "u");
	cb_head(&b, 0, UINT64_MAX);
	cb_text(&b, "n");
	cb_head(&b, 1, 1); /* -2 */
	cb_text(&b, "min");
	cb_head(&b, 1, (uint64_t)INT64_MAX); /* INT64_MIN */
	cb_text(&b, "d");
	cb_f64(&b, -0.5);
	cb_text(&b, "z");
	cb_f64(&b, -0.0);
	cb_text(&b, "h");
	cb_byte(&b, 0xF9); /* half 1.5 */
	cb_byte(&b, 0x3E);
	cb_byte(&b, 0x00);
	cb_text(&b, "s");
	cb_byte(&b, 0xFA); /* single 0.25 */
	cb_put(&b, "\x3e\x80\x00\x00", 4);
	cb_text(&b, "t");
	cb_byte(&b, 0xF5);
	cb_text(&b, "f");
	cb_byte(&b, 0xF4);
	cb_text(&b, "txt");
	cb_text(&b, "a b\n");
	cb_text(&b, "bin");
	cb_bytes(&b, "\x00\xff", 2);
	cb_text(&b, "e");
	cb_text(&b, "");
	put_trailer(&b, 1);
	f = snap_frame(&b, &len);

	assert_int_equal(read_mem(f, len, 0, &g, &res), VIEW_OK);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.ev[0],
			    "1700000000100000000 1 L5 shop.c:0 'request done' "
			    "u=u18446744073709551615 n=i-2 "
			    "min=i-9223372036854775808 d=f-0.5 z=f-0 h=f1.5 "
			    "s=f0.25 t=true f=false txt=\"a b\\x0a\" "
			    "bin=\"\\x00\\xff\" e=\"\" [truncated]");
	got_free(&g);
	free(f);
	free(b.p);
}

static void expect_refused(struct cb *b, int status, const char *needle)
{
	struct view_result res;
	struct got g = {0};
	unsigned char *f;
	size_t len;

	f = snap_frame(b, &len);
	assert_int_equal(read_mem(f, len, 0, &g, &res), status);
	if (strstr(res.err, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", res.err, needle);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.headers, 0);
	got_free(&g);
	free(f);
}

static void test_view_wrong_format_or_version_is_refused(void **state)
{
	struct cb b = {0};
	(void)state;

	put_header(&b, "ttlog-snapshoX", 1, 0);
	put_example_events(&b);
	put_trailer(&b, 2);
	expect_refused(&b, VIEW_UNREADABLE,
		       "byte 0: not a ttlog snapshot: its \"format\" is "
		       "\"ttlog-snapshoX\"");
	b.len = 0;
	put_header(&b, "ttlog-snapshot", 2, 0);
	put_example_events(&b);
	put_trailer(&b, 2);
	expect_refused(&b, VIEW_UNREADABLE,
		       "snapshot format version 2, this build reads version 1");
	free(b.p);
}

static void test_view_headerless_file_is_refused(void **state)
{
	struct cb b = {0};
	(void)state;

	put_example_events(&b);
	put_trailer(&b, 2);
	expect_refused(&b, VIEW_UNREADABLE,
		       "not a ttlog snapshot or binary log: the content does "
		       "not start with a CBOR map");
	/* A map that is neither a header nor a batch. */
	b.len = 0;
	cb_head(&b, 5, 1);
	cb_text(&b, "hello");
	cb_text(&b, "world");
	expect_refused(&b, VIEW_UNREADABLE,
		       "neither \"format\" nor \"callsites\" and \"events\"");
	free(b.p);
}

/* Reads a damaged snapshot; checks the status, the message and that the
 * events delivered are the first `events` of the example. */
static void expect_damaged(const unsigned char *f, size_t len, size_t events,
			   const char *needle)
{
	struct view_result res;
	struct got g = {0};

	assert_int_equal(read_mem(f, len, 0, &g, &res), VIEW_DAMAGED);
	if (strstr(res.err, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", res.err, needle);
	assert_int_equal(g.n, events);
	assert_int_equal(res.events, events);
	for (size_t i = 0; i < g.n && i < 2; i++)
		assert_string_equal(g.ev[i], example_lines[i]);
	got_free(&g);
}

static void test_view_missing_trailer_is_detected(void **state)
{
	struct cb b = {0};
	unsigned char *f;
	size_t len;
	(void)state;

	put_header(&b, "ttlog-snapshot", 1, 0);
	put_example_events(&b);
	f = snap_frame(&b, &len);
	/* The frame itself is whole: the byte named is its end. */
	expect_damaged(f, len, 2, "without its trailer");
	{
		char want[64];
		snprintf(want, sizeof(want), "byte %zu: corrupt", len);
		expect_damaged(f, len, 2, want);
	}
	free(f);
	free(b.p);
}

static void test_view_trailer_count_mismatch_is_detected(void **state)
{
	struct cb b = {0};
	unsigned char *f;
	size_t len;
	(void)state;

	put_header(&b, "ttlog-snapshot", 1, 0);
	put_example_events(&b);
	put_trailer(&b, 3);
	f = snap_frame(&b, &len);
	expect_damaged(f, len, 2,
		       "the trailer counts 3 events, the snapshot holds 2");
	free(f);
	/* Anything after the trailer is damage too. */
	b.len -= 6; /* {"end": 3} */
	put_trailer(&b, 2);
	put_trailer(&b, 2);
	f = snap_frame(&b, &len);
	expect_damaged(f, len, 2, "data after the trailer");
	free(f);
	free(b.p);
}

static void test_view_bad_string_ref_names_event_and_offset(void **state)
{
	struct cb b = {0};
	unsigned char *f;
	size_t len, at;
	char want[160];
	(void)state;

	put_header(&b, "ttlog-snapshot", 1, 0);
	put_example_events(&b);
	cb_head(&b, 4, 7);
	cb_head(&b, 0, T0);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 2);
	at = b.len; /* content offset of the bad reference */
	cb_head(&b, 0, 5);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 1);
	cb_head(&b, 0, 0);
	put_trailer(&b, 3);
	f = snap_frame(&b, &len);
	snprintf(want, sizeof(want),
		 "corrupt: event 2: the message refers to string 5 of a "
		 "table of 5 (decompressed content offset %zu)",
		 at);
	expect_damaged(f, len, 2, want);
	free(f);
	free(b.p);
}

static void test_view_snapshot_cut_anywhere_gives_a_prefix(void **state)
{
	struct view_result res;
	struct got g = {0};
	size_t len;
	unsigned char *f = example_snapshot(&len);
	char want[64];
	(void)state;

	for (size_t cut = 1; cut < len; cut++) {
		assert_int_equal(read_mem(f, cut, 0, &g, &res), VIEW_DAMAGED);
		snprintf(want, sizeof(want), "byte %zu: truncated", cut);
		if (strstr(res.err, want) == NULL)
			fail_msg("cut at %zu: \"%s\"", cut, res.err);
		assert_true(g.n <= 2);
		for (size_t i = 0; i < g.n; i++)
			assert_string_equal(g.ev[i], example_lines[i]);
		got_free(&g);
	}
	/* An empty file is an empty binary log: nothing, and no error. */
	assert_int_equal(read_mem(f, 0, 0, &g, &res), VIEW_OK);
	assert_int_equal(g.n, 0);
	assert_int_equal(res.kind, VIEW_KIND_UNKNOWN);
	free(f);
}

static void test_view_results_do_not_depend_on_read_sizes(void **state)
{
	static const size_t chunks[] = {1, 2, 3, 5, 7, 64, 0};
	struct cb b = {0};
	unsigned char *f;
	uint64_t x = 88172645463325252ull;
	size_t len;
	(void)state;

	/* A snapshot of a few blocks (values that do not compress), with
	 * a corrupt byte in its last block. */
	put_header(&b, "ttlog-snapshot", 1, 0);
	for (int i = 0; i < 400; i++) {
		char v[600];
		for (size_t k = 0; k < sizeof(v); k++) {
			x ^= x << 13; /* xorshift64 */
			x ^= x >> 7;
			x ^= x << 17;
			v[k] = (char)(' ' + x % 90);
		}
		cb_head(&b, 4, 9);
		cb_head(&b, 0, T0 + (uint64_t)i);
		cb_head(&b, 0, 1);
		cb_head(&b, 0, 2);
		cb_head(&b, 0, 0);
		cb_head(&b, 0, 1);
		cb_head(&b, 0, (uint64_t)i);
		cb_head(&b, 0, 0);
		cb_head(&b, 0, 2);
		cb_head(&b, 3, sizeof(v));
		cb_put(&b, v, sizeof(v));
	}
	put_trailer(&b, 400);
	f = snap_frame(&b, &len);
	assert_true(len > 3 * 65536);
	for (int damaged = 0; damaged < 2; damaged++) {
		struct view_result first;
		struct got g0 = {0};

		if (damaged)
			f[len - 100] ^= 0x55;
		read_mem(f, len, 0, &g0, &first);
		assert_int_equal(first.status,
				 damaged ? VIEW_DAMAGED : VIEW_OK);
		assert_int_equal(g0.n, damaged ? g0.n : 400);
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]);
		     c++) {
			struct view_result res;
			struct got g = {0};
			read_mem(f, len, chunks[c], &g, &res);
			assert_int_equal(res.status, first.status);
			assert_string_equal(res.err, first.err);
			assert_int_equal(g.n, g0.n);
			for (size_t i = 0; i < g.n; i++)
				assert_string_equal(g.ev[i], g0.ev[i]);
			/* The caller heard of every read before it. */
			if (!damaged)
				assert_true(g.waits >=
					    (int)(len / (chunks[c] ? chunks[c]
								   : 65536)));
			got_free(&g);
		}
		got_free(&g0);
	}
	free(f);
	free(b.p);
}

static void test_view_other_damage(void **state)
{
	struct view_result res;
	struct got g = {0};
	size_t len;
	unsigned char *f = example_snapshot(&len), *g2;
	char want[96];
	(void)state;

	/* A second frame after the snapshot's. */
	g2 = malloc(2 * len);
	assert_non_null(g2);
	memcpy(g2, f, len);
	memcpy(g2 + len, f, len);
	snprintf(want, sizeof(want),
		 "byte %zu: corrupt: data after the snapshot's LZ4 frame", len);
	expect_damaged(g2, 2 * len, 2, want);
	/* The content checksum, named where it is. */
	memcpy(g2, f, len);
	g2[len - 1] ^= 1;
	snprintf(want, sizeof(want), "byte %zu: corrupt LZ4 frame: ", len - 4);
	expect_damaged(g2, len, 2, want);
	/* A text file is not a ttlog file at all. */
	assert_int_equal(read_mem("hello\n", 6, 0, &g, &res), VIEW_UNREADABLE);
	assert_string_equal(res.err, "byte 0: not a ttlog snapshot or binary "
				     "log: it does not start with an LZ4 "
				     "frame");
	got_free(&g);
	/* A callback that says stop is obeyed at once. */
	g.stop_at = 1;
	assert_int_equal(read_mem(f, len, 0, &g, &res), VIEW_STOPPED);
	assert_int_equal(g.n, 1);
	got_free(&g);
	free(g2);
	free(f);
}

/* ------------------------------------------------------------------ */
/* Binary logs                                                          */
/* ------------------------------------------------------------------ */

/* Appends one batch of n events, encoded by the core as the file
 * listener writes it (version 3). own: events carry their own message.
 * origin: theirs (NULL: the process's own). */
static void put_batch_o(struct cb *file, uint64_t seq, int own, int first,
			int n, struct ttlog__origin *origin, uint32_t *version)
{
	struct ttlog_batch *b = ttlog__batch_new(64, 4096, seq);
	const void *data;
	size_t len;

	assert_non_null(b);
	for (int i = 0; i < n; i++) {
		struct ttlog__in_event ev;
		char msg[32];
		memset(&ev, 0, sizeof(ev));
		snprintf(msg, sizeof(msg), own ? "own %d" : "same", first + i);
		ev.time_ns = T0 + (uint64_t)(first + i);
		ev.level = (first + i) % 6;
		ev.msg = msg;
		ev.msg_len = strlen(msg);
		ev.msg_varies = own;
		ev.source = "app.c";
		ev.line = 12;
		ev.tid = 77;
		ev.nfields = 2;
		ev.fields[0].key = "i";
		ev.fields[0].key_len = 1;
		ev.fields[0].type = TTLOG_TYPE_U64;
		ev.fields[0].v.u64 = (uint64_t)(first + i);
		ev.fields[1].key = "s";
		ev.fields[1].key_len = 1;
		ev.fields[1].type = TTLOG_TYPE_STR;
		ev.fields[1].v.str.ptr = "x y";
		ev.fields[1].v.str.len = 3;
		ev.origin = origin;
		assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	}
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR, &data, &len), 0);
	*version = ((const unsigned char *)data)[3]; /* a5 61 76 VERSION */
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &data, &len), 0);
	cb_put(file, data, len);
	ttlog_batch_unref(b);
}

static void put_batch(struct cb *file, uint64_t seq, int own, int first, int n,
		      uint32_t *version)
{
	put_batch_o(file, seq, own, first, n, NULL, version);
}

/*
 * Appends a batch written by hand in the version-1 or version-2 layout
 * (no origins), or with any other "v": n events like put_batch()'s, one
 * call site each (a call site has one level). own (version 2): flag 2 and
 * the event's own message after the flags.
 */
static void put_old_batch(struct cb *file, uint64_t v, uint64_t seq, int own,
			  int first, int n)
{
	struct cb b = {0};
	unsigned char *f;
	size_t len;
	char msg[32];

	cb_head(&b, 5, 4);
	cb_text(&b, "v");
	cb_head(&b, 0, v);
	cb_text(&b, "seq");
	cb_head(&b, 0, seq);
	cb_text(&b, "callsites");
	cb_head(&b, 4, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		cb_head(&b, 4, 5);
		cb_text(&b, own ? "" : "same");
		cb_text(&b, "app.c");
		cb_head(&b, 0, 12);
		cb_head(&b, 0, (uint64_t)((first + i) % 6));
		cb_head(&b, 4, 2);
		cb_text(&b, "i");
		cb_text(&b, "s");
	}
	cb_text(&b, "events");
	cb_head(&b, 4, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		cb_head(&b, 4, own ? 7 : 6);
		cb_head(&b, 0, T0 + (uint64_t)(first + i));
		cb_head(&b, 0, 77);
		cb_head(&b, 0, (uint64_t)i);
		cb_head(&b, 0, own ? 2 : 0);
		if (own) {
			snprintf(msg, sizeof(msg), "own %d", first + i);
			cb_text(&b, msg);
		}
		cb_head(&b, 0, (uint64_t)(first + i));
		cb_text(&b, "x y");
	}
	f = snap_frame(&b, &len);
	cb_put(file, f, len);
	free(f);
	free(b.p);
}

static void expect_binary_line(const char *line, int i, int own)
{
	char want[160], msg[32];

	/* A call site's message is a constant; an event's own varies. */
	snprintf(msg, sizeof(msg), own ? "own %d" : "same", i);
	snprintf(want, sizeof(want),
		 "%llu 77 L%d app.c:12 '%s' i=u%d s=\"x y\"",
		 (unsigned long long)(T0 + (uint64_t)i), i % 6, msg, i);
	assert_string_equal(line, want);
}

static void test_view_binary_log_of_v1_v2_and_v3_batches(void **state)
{
	struct view_result res;
	struct got g = {0};
	struct cb file = {0};
	uint32_t v3;
	(void)state;

	/* Files written before version 3 stay readable, also with a
	 * version-3 batch appended by a newer ttlog. */
	put_old_batch(&file, 1, 1, 0, 0, 3);
	put_old_batch(&file, 2, 2, 1, 3, 4);
	put_batch(&file, 3, 0, 7, 1, &v3);
	assert_int_equal(v3, 3);
	for (size_t chunk = 0; chunk < 8; chunk += 7) {
		assert_int_equal(read_mem(file.p, file.len, chunk, &g, &res),
				 VIEW_OK);
		assert_int_equal(res.kind, VIEW_KIND_BINARY);
		assert_int_equal(g.kind_at_event, VIEW_KIND_BINARY);
		assert_int_equal(g.headers, 0);
		assert_int_equal(g.n, 8);
		for (int i = 0; i < 8; i++)
			expect_binary_line(g.ev[i], i, i >= 3 && i < 7);
		got_free(&g);
	}
	free(file.p);
}

/* Each event keeps its own origin, from the batch's table. */
static void test_view_binary_v3_origins(void **state)
{
	struct ttlog__origin *a, *b;
	struct view_result res;
	struct got g = {0};
	struct cb file = {0};
	uint32_t v;
	(void)state;

	a = ttlog__origin_make("web-1", "billing", "native", "10.0.0.7:4242",
			       "cn=web-1", "");
	b = ttlog__origin_make("db-2", "", "syslog", "", "", "10.0.0.1:6514");
	assert_non_null(a);
	assert_non_null(b);
	put_batch_o(&file, 1, 0, 0, 2, a, &v);
	assert_int_equal(v, 3);
	put_batch_o(&file, 2, 1, 2, 1, b, &v);
	put_batch_o(&file, 3, 0, 3, 1, NULL, &v);
	assert_int_equal(read_mem(file.p, file.len, 0, &g, &res), VIEW_OK);
	assert_int_equal(g.n, 4);
	assert_string_equal(g.ev[0],
			    "1700000000100000000 77 L0 app.c:12 'same' i=u0 "
			    "s=\"x y\" {web-1,billing,native,10.0.0.7:4242,"
			    "cn=web-1,}");
	assert_string_equal(g.ev[1],
			    "1700000000100000001 77 L1 app.c:12 'same' i=u1 "
			    "s=\"x y\" {web-1,billing,native,10.0.0.7:4242,"
			    "cn=web-1,}");
	assert_string_equal(g.ev[2],
			    "1700000000100000002 77 L2 app.c:12 'own 2' i=u2 "
			    "s=\"x y\" {db-2,,syslog,,,10.0.0.1:6514}");
	/* The process's own origin, empty without ttlog_init(). */
	expect_binary_line(g.ev[3], 3, 0);
	got_free(&g);
	ttlog__origin_unref(a);
	ttlog__origin_unref(b);
	free(file.p);
}

/* A batch of a later version is refused by its number, first in the
 * file or after batches that were shown. */
static void test_view_binary_v4_is_refused(void **state)
{
	struct view_result res;
	struct got g = {0};
	struct cb file = {0};
	char want[128];
	size_t one;
	uint32_t v;
	(void)state;

	put_old_batch(&file, 4, 1, 0, 0, 2);
	assert_int_equal(read_mem(file.p, file.len, 0, &g, &res),
			 VIEW_UNREADABLE);
	assert_string_equal(res.err, "byte 0: batch format version 4; this "
				     "ttlog-view reads 1 to 3");
	assert_int_equal(g.n, 0);
	got_free(&g);
	file.len = 0;
	put_batch(&file, 1, 0, 0, 3, &v);
	one = file.len;
	put_old_batch(&file, 4, 2, 0, 3, 2);
	assert_int_equal(read_mem(file.p, file.len, 0, &g, &res),
			 VIEW_UNREADABLE);
	snprintf(want, sizeof(want),
		 "byte %zu: batch format version 4; this ttlog-view reads 1 "
		 "to 3",
		 one);
	assert_string_equal(res.err, want);
	assert_int_equal(g.n, 3);
	got_free(&g);
	/* Version 0 is no version either. */
	file.len = 0;
	put_old_batch(&file, 0, 1, 0, 0, 2);
	assert_int_equal(read_mem(file.p, file.len, 0, &g, &res),
			 VIEW_UNREADABLE);
	assert_non_null(strstr(res.err, "batch format version 0;"));
	got_free(&g);
	free(file.p);
}

static void test_view_binary_torn_or_corrupt_frames(void **state)
{
	struct view_result res;
	struct got g = {0};
	struct cb file = {0};
	size_t one, two;
	uint32_t v;
	char want[128];
	(void)state;

	put_batch(&file, 1, 0, 0, 3, &v);
	one = file.len;
	put_batch(&file, 2, 1, 3, 4, &v);
	two = file.len;

	/* Cut anywhere in the second frame: the first batch is shown, and
	 * the cut is named where the file ends. */
	for (size_t cut = one + 1; cut < two; cut++) {
		assert_int_equal(read_mem(file.p, cut, 0, &g, &res),
				 VIEW_DAMAGED);
		snprintf(want, sizeof(want),
			 "byte %zu: truncated: the file ends inside the LZ4 "
			 "frame that starts at byte %zu",
			 cut, one);
		assert_string_equal(res.err, want);
		assert_true(g.n >= 3 && g.n <= 7);
		for (size_t i = 0; i < g.n; i++)
			expect_binary_line(g.ev[i], (int)i, i >= 3);
		got_free(&g);
	}
	/* A torn frame whose blocks are complete shows its events: the
	 * frame is cut in its end mark. */
	assert_int_equal(read_mem(file.p, two - 6, 0, &g, &res), VIEW_DAMAGED);
	assert_int_equal(g.n, 7);
	got_free(&g);
	/* A bad content checksum in the second frame: its batch is not
	 * used, and the error names the checksum's offset. */
	file.p[two - 1] ^= 0x80;
	assert_int_equal(read_mem(file.p, two, 0, &g, &res), VIEW_DAMAGED);
	snprintf(want, sizeof(want), "byte %zu: corrupt LZ4 frame: ", two - 4);
	assert_non_null(strstr(res.err, want));
	assert_int_equal(g.n, 3);
	got_free(&g);
	free(file.p);
}

/* ------------------------------------------------------------------ */
/* Filters                                                              */
/* ------------------------------------------------------------------ */

static void make_event(struct ttlog__in_event *ev, int level, uint64_t t,
		       const char *msg)
{
	memset(ev, 0, sizeof(*ev));
	ev->level = level;
	ev->time_ns = t;
	ev->msg = msg;
	ev->msg_len = strlen(msg);
	ev->source = "a.c";
	ev->nfields = 6;
	ev->fields[0] = (struct ttlog__in_field){
		.key = "n", .key_len = 1, .type = TTLOG_TYPE_I64, .v.i64 = -42};
	ev->fields[1] = (struct ttlog__in_field){
		.key = "id", .key_len = 2, .type = TTLOG_TYPE_U64, .v.u64 = 42};
	ev->fields[2] = (struct ttlog__in_field){
		.key = "ok", .key_len = 2, .type = TTLOG_TYPE_BOOL, .v.b = 1};
	ev->fields[3] = (struct ttlog__in_field){.key = "ms",
						 .key_len = 2,
						 .type = TTLOG_TYPE_F64,
						 .v.f64 = 4.2};
	ev->fields[4] = (struct ttlog__in_field){.key = "path",
						 .key_len = 4,
						 .type = TTLOG_TYPE_STR,
						 .v.str = {"/a b", 4}};
	ev->fields[5] = (struct ttlog__in_field){.key = "path",
						 .key_len = 4,
						 .type = TTLOG_TYPE_STR,
						 .v.str = {"/c\0d", 4}};
}

static void test_filter_levels(void **state)
{
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	(void)state;

	assert_int_equal(view_level_parse("TRACE"), 0);
	assert_int_equal(view_level_parse("debug"), 1);
	assert_int_equal(view_level_parse("Info"), 2);
	assert_int_equal(view_level_parse("wArN"), 3);
	assert_int_equal(view_level_parse("error"), 4);
	assert_int_equal(view_level_parse("FATAL"), 5);
	/* The spellings the configuration and the inputs accept
	 * (common/level.c), "off" aside: it is no event's level. */
	assert_int_equal(view_level_parse("warning"), 3);
	assert_int_equal(view_level_parse("CRIT"), 5);
	assert_int_equal(view_level_parse("err"), 4);
	assert_int_equal(view_level_parse("off"), -1);
	assert_int_equal(view_level_parse("warnings"), -1);
	assert_int_equal(view_level_parse(""), -1);

	view_filter_init(&f);
	make_event(&ev, TTLOG_LEVEL_TRACE, T0, "m");
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	assert_int_equal(view_filter_set_level(&f, "warn", err, sizeof(err)),
			 0);
	for (int l = 0; l <= 5; l++) {
		ev.level = l;
		assert_int_equal(view_filter_match(&f, &ev, NULL, NULL),
				 l >= 3);
	}
	assert_int_equal(view_filter_set_level(&f, "loud", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "\"loud\""));
	view_filter_destroy(&f);
}

static void expect_time(const char *s, uint64_t now, uint64_t want)
{
	uint64_t got = 1;
	char err[256] = "";

	if (view_time_parse(s, now, &got, err, sizeof(err)) != 0)
		fail_msg("%s: %s", s, err);
	if (got != want)
		fail_msg("%s: %llu, not %llu", s, (unsigned long long)got,
			 (unsigned long long)want);
}

static void test_filter_time_parsing(void **state)
{
	static const char *const bad[] = {
		"2023-11-14T22:13:20",
		"2023-11-14T22:13:20.Z",
		"2023-02-29T00:00:00Z",
		"2023-11-14T24:00:00Z",
		"2023-13-01T00:00:00Z",
		"2023-11-14T22:13:20+0100",
		"2023-11-14T22:13:20Zjunk",
		"10",
		"10x",
		"1h30m",
		"-5m",
		"",
		"99999999999999999999999s",
		"yesterday",
	};
	const uint64_t now = 1700000000000000000ull;
	uint64_t t;
	char err[256];
	(void)state;

	expect_time("2023-11-14T22:13:20Z", 0, 1700000000000000000ull);
	expect_time("2023-11-14t22:13:20z", 0, 1700000000000000000ull);
	expect_time("2023-11-14 22:13:20Z", 0, 1700000000000000000ull);
	expect_time("2023-11-14T22:13:20.123456789Z", 0,
		    1700000000123456789ull);
	expect_time("2023-11-14T22:13:20.1234567891234Z", 0,
		    1700000000123456789ull);
	expect_time("2023-11-14T22:13:20.5Z", 0, 1700000000500000000ull);
	expect_time("2023-11-14T23:43:20.5+01:30", 0, 1700000000500000000ull);
	expect_time("2023-11-14T17:13:20-05:00", 0, 1700000000000000000ull);
	expect_time("2000-03-01T00:00:00Z", 0, 951868800ull * 1000000000u);
	expect_time("2024-02-29T00:00:00Z", 0, 1709164800ull * 1000000000u);
	expect_time("2100-01-01T00:00:00Z", 0, 4102444800ull * 1000000000u);
	expect_time("1970-01-01T00:00:00Z", 0, 0);
	expect_time("1969-12-31T23:59:59Z", 0, 0);
	expect_time("9999-12-31T23:59:59Z", 0, UINT64_MAX);
	expect_time("2023-11-14T22:13:60Z", 0, 1700000040000000000ull);
	expect_time("30s", now, now - 30000000000ull);
	expect_time("10m", now, now - 600000000000ull);
	expect_time("2h", now, now - 7200000000000ull);
	expect_time("1d", now, now - 86400000000000ull);
	expect_time("0s", now, now);
	expect_time("100000d", now, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (view_time_parse(bad[i], now, &t, err, sizeof(err)) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_non_null(strstr(err, bad[i]));
	}
}

static void test_filter_since_and_until_are_inclusive(void **state)
{
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	(void)state;

	view_filter_init(&f);
	make_event(&ev, 2, 0, "m");
	assert_int_equal(view_filter_set_since(&f, "2023-11-14T22:13:20Z", 0,
					       err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_set_until(&f, "2023-11-14T22:13:21Z", 0,
					       err, sizeof(err)),
			 0);
	ev.time_ns = 1699999999999999999ull;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	ev.time_ns = 1700000000000000000ull;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.time_ns = 1700000001000000000ull;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.time_ns = 1700000001000000001ull;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	/* Relative: the last 10 minutes of a given now. */
	assert_int_equal(view_filter_set_since(&f, "10m",
					       1700000001000000000ull, err,
					       sizeof(err)),
			 0);
	f.has_until = 0;
	ev.time_ns = 1700000001000000000ull - 600000000000ull;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.time_ns--;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	view_filter_destroy(&f);
}

static void test_filter_grep_on_the_message(void **state)
{
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	(void)state;

	view_filter_init(&f);
	make_event(&ev, 2, T0, "request done in 42 ms");
	assert_int_equal(view_filter_set_grep(&f, "^request (done|failed)", err,
					      sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.msg = "request failed";
	ev.msg_len = 14;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	/* The message is searched within its length, not past it. */
	ev.msg = "a request done";
	ev.msg_len = 14;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	assert_int_equal(
		view_filter_set_grep(&f, "[0-9]+ ms$", err, sizeof(err)), 0);
	ev.msg = "took 42 ms and more";
	ev.msg_len = 10; /* "took 42 ms" */
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.msg_len = 12;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	/* Fields are not searched. */
	assert_int_equal(view_filter_set_grep(&f, "/a b", err, sizeof(err)), 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	assert_int_equal(view_filter_set_grep(&f, "a(", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad regular expression \"a(\""));
	view_filter_destroy(&f);
}

static int field_match(const char *kv)
{
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	int m;

	view_filter_init(&f);
	make_event(&ev, 2, T0, "m");
	assert_int_equal(view_filter_add_field(&f, kv, err, sizeof(err)), 0);
	m = view_filter_match(&f, &ev, NULL, NULL);
	view_filter_destroy(&f);
	return m;
}

static void test_filter_fields_by_text_form(void **state)
{
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	(void)state;

	assert_int_equal(field_match("id=42"), 1);
	assert_int_equal(field_match("id=042"), 0);
	assert_int_equal(field_match("id=-42"), 0);
	assert_int_equal(field_match("n=-42"), 1);
	assert_int_equal(field_match("n=42"), 0);
	assert_int_equal(field_match("ok=true"), 1);
	assert_int_equal(field_match("ok=false"), 0);
	assert_int_equal(field_match("ok=1"), 0);
	assert_int_equal(field_match("ms=4.2"), 1);
	assert_int_equal(field_match("ms=4.20"), 1);
	assert_int_equal(field_match("ms=42e-1"), 1);
	assert_int_equal(field_match("ms=4"), 0);
	assert_int_equal(field_match("ms=four"), 0);
	assert_int_equal(field_match("path=/a b"), 1);
	assert_int_equal(field_match("path=/a"), 0);
	assert_int_equal(field_match("path=/A B"), 0);
	assert_int_equal(field_match("Path=/a b"), 0);
	assert_int_equal(field_match("nope=1"), 0);
	assert_int_equal(field_match("id=42=x"), 0);

	/* Every --field must match; a value with '=' keeps it. */
	view_filter_init(&f);
	make_event(&ev, 2, T0, "m");
	assert_int_equal(view_filter_add_field(&f, "id=42", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_add_field(&f, "ok=true", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	assert_int_equal(view_filter_add_field(&f, "n=-41", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	view_filter_destroy(&f);

	/* Special floats, and u64 at its limit. */
	view_filter_init(&f);
	ev.fields[3].v.f64 = NAN;
	ev.fields[1].v.u64 = UINT64_MAX;
	assert_int_equal(view_filter_add_field(&f, "ms=nan", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_add_field(&f, "id=18446744073709551615",
					       err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	view_filter_destroy(&f);

	view_filter_init(&f);
	assert_int_equal(view_filter_add_field(&f, "=1", err, sizeof(err)), -1);
	assert_int_equal(view_filter_add_field(&f, "key", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "\"key\" is not key=value"));
	view_filter_destroy(&f);
}

static void test_filter_service(void **state)
{
	const struct view_str shop = {"shop", 4}, shopx = {"shopx", 5};
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	(void)state;

	view_filter_init(&f);
	make_event(&ev, 2, T0, "m");
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	assert_int_equal(view_filter_match(&f, &ev, &shop, NULL), 1);
	assert_int_equal(view_filter_add_service(&f, "shop", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, &shop, NULL), 1);
	assert_int_equal(view_filter_match(&f, &ev, &shopx, NULL), 0);
	/* No service at all (a binary log before version 3): no match. */
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	/* Repeated: any of the names. */
	assert_int_equal(view_filter_add_service(&f, "shopx", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, &shopx, NULL), 1);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	view_filter_destroy(&f);
}

/* --service and --host on the event's origin; each repeatable (any of
 * its names), both together (both must match); the file's names stand in
 * for strings the origin lacks. */
static void test_filter_service_and_host_of_the_origin(void **state)
{
	const struct view_str shop = {"shop", 4}, web1 = {"web-1", 5};
	struct ttlog__origin *billing, *bare, *nohost;
	struct ttlog__in_event ev;
	struct view_filter f;
	char err[256];
	(void)state;

	billing = ttlog__origin_make("web-1", "billing", "native", NULL, NULL,
				     NULL);
	bare = ttlog__origin_make(NULL, NULL, "stdin", NULL, NULL, NULL);
	nohost = ttlog__origin_make(NULL, "billing", NULL, NULL, NULL, NULL);
	assert_non_null(billing);
	assert_non_null(bare);
	assert_non_null(nohost);
	make_event(&ev, 2, T0, "m");

	view_filter_init(&f);
	assert_int_equal(
		view_filter_add_service(&f, "billing", err, sizeof(err)), 0);
	ev.origin = billing;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	/* The origin's service comes before the file's. */
	assert_int_equal(view_filter_match(&f, &ev, &shop, NULL), 1);
	ev.origin = bare;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	assert_int_equal(view_filter_match(&f, &ev, &shop, NULL), 0);
	assert_int_equal(view_filter_add_service(&f, "shop", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, &shop, NULL), 1);
	view_filter_destroy(&f);

	/* --host alone, twice. */
	view_filter_init(&f);
	assert_int_equal(view_filter_add_host(&f, "db-2", err, sizeof(err)), 0);
	ev.origin = billing;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	assert_int_equal(view_filter_add_host(&f, "web-1", err, sizeof(err)),
			 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.origin = nohost;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, &web1), 1);
	ev.origin = NULL;
	assert_int_equal(view_filter_match(&f, &ev, NULL, &web1), 1);
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);

	/* With --service too: both. */
	assert_int_equal(
		view_filter_add_service(&f, "billing", err, sizeof(err)), 0);
	ev.origin = billing;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.origin = nohost;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	assert_int_equal(view_filter_match(&f, &ev, NULL, &web1), 1);
	ev.origin = NULL;
	assert_int_equal(view_filter_match(&f, &ev, NULL, &web1), 0);
	view_filter_destroy(&f);

	/* "" asks for events without one. */
	view_filter_init(&f);
	assert_int_equal(view_filter_add_host(&f, "", err, sizeof(err)), 0);
	ev.origin = nohost;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 1);
	ev.origin = billing;
	assert_int_equal(view_filter_match(&f, &ev, NULL, NULL), 0);
	view_filter_destroy(&f);

	ttlog__origin_unref(billing);
	ttlog__origin_unref(bare);
	ttlog__origin_unref(nohost);
}

/* ------------------------------------------------------------------ */
/* Output                                                               */
/* ------------------------------------------------------------------ */

static char *render(int json, int color, const struct view_str *service,
		    const struct ttlog__in_event *ev, int times)
{
	struct view_out o;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	view_out_init(&o, f, json, color);
	assert_int_equal(view_out_set_service(&o, service), 0);
	for (int i = 0; i < times; i++)
		assert_int_equal(view_out_event(&o, ev), 0);
	view_out_destroy(&o);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_out_is_the_core_encoding_plus_color_and_service(void **state)
{
	const struct view_str shop = {"sh\"op", 5};
	struct ttlog__in_event ev;
	char *s;
	(void)state;

	make_event(&ev, TTLOG_LEVEL_WARN, 1700000000123456789ull, "done");
	ev.nfields = 3;
	ev.tid = 9;
	ev.line = 4;
	ev.fields[2].key = "service";
	ev.fields[2].key_len = 7;
	s = render(0, 0, NULL, &ev, 1);
	assert_string_equal(s, "2023-11-14T22:13:20.123456Z WARN done n=-42 "
			       "id=42 service=true\n");
	free(s);
	s = render(0, 1, NULL, &ev, 1);
	assert_string_equal(s,
			    "2023-11-14T22:13:20.123456Z \033[33mWARN\033[0m "
			    "done n=-42 id=42 service=true\n");
	free(s);
	/* JSON: the encoder's line with the snapshot's service as the
	 * origin's; a field named service gets an underscore from the
	 * encoder, and only one. */
	s = render(1, 1, &shop, &ev, 1);
	assert_string_equal(s, "{\"time\":\"2023-11-14T22:13:20.123456789Z\","
			       "\"level\":\"WARN\",\"service\":\"sh\\\"op\","
			       "\"msg\":\"done\",\"tid\":9,"
			       "\"file\":\"a.c\",\"line\":4,\"n\":-42,"
			       "\"id\":42,\"_service\":true}\n");
	free(s);
	/* Without a service to show, the field keeps its name: only a key
	 * the object has already is renamed. */
	s = render(1, 0, NULL, &ev, 1);
	assert_non_null(strstr(s, ",\"service\":true}\n"));
	free(s);
	/* More events than one output batch holds: all, in order. */
	s = render(0, 0, NULL, &ev, 1000);
	assert_int_equal(strlen(s), 1000 * strlen("2023-11-14T22:13:20.123456Z "
						  "WARN done n=-42 id=42 "
						  "service=true\n"));
	free(s);
}

/* The origin as the core's encodings show it: text names service@host
 * when there is either, JSON has every string that is set. */
static void test_out_shows_the_origin(void **state)
{
	struct ttlog__origin *full, *input_only, *svc;
	struct ttlog__in_event ev;
	char *s;
	(void)state;

	full = ttlog__origin_make("web-1", "billing", "native", "10.0.0.7:4242",
				  "cn=\"w\"", "10.0.0.1:6514");
	input_only = ttlog__origin_make(NULL, NULL, "stdin", NULL, NULL, NULL);
	svc = ttlog__origin_make(NULL, "billing", NULL, NULL, NULL, NULL);
	assert_non_null(full);
	assert_non_null(input_only);
	assert_non_null(svc);
	make_event(&ev, TTLOG_LEVEL_INFO, 1700000000123456789ull, "done");
	ev.nfields = 1;
	ev.tid = 9;
	ev.line = 4;

	ev.origin = full;
	s = render(0, 0, NULL, &ev, 1);
	assert_string_equal(s, "2023-11-14T22:13:20.123456Z INFO done n=-42 "
			       "(billing@web-1)\n");
	free(s);
	s = render(1, 0, NULL, &ev, 1);
	assert_string_equal(
		s, "{\"time\":\"2023-11-14T22:13:20.123456789Z\","
		   "\"level\":\"INFO\",\"host\":\"web-1\","
		   "\"service\":\"billing\",\"input\":\"native\","
		   "\"peer\":\"10.0.0.7:4242\",\"peer_id\":\"cn=\\\"w\\\"\","
		   "\"relay\":\"10.0.0.1:6514\",\"msg\":\"done\",\"tid\":9,"
		   "\"file\":\"a.c\",\"line\":4,\"n\":-42}\n");
	free(s);

	/* Neither host nor service: the text line names no sender. */
	ev.origin = input_only;
	s = render(0, 0, NULL, &ev, 1);
	assert_string_equal(s, "2023-11-14T22:13:20.123456Z INFO done n=-42\n");
	free(s);
	s = render(1, 0, NULL, &ev, 1);
	assert_non_null(strstr(s, "\"level\":\"INFO\",\"input\":\"stdin\","
				  "\"msg\":"));
	free(s);
	ev.origin = svc;
	s = render(0, 0, NULL, &ev, 1);
	assert_string_equal(s, "2023-11-14T22:13:20.123456Z INFO done n=-42 "
			       "(billing@-)\n");
	free(s);

	/* No origin (a snapshot, a batch of version 1 or 2): nothing, and
	 * never this process's own origin. */
	ev.origin = NULL;
	assert_int_equal(ttlog__origin_self_set("viewer"), 0);
	s = render(0, 0, NULL, &ev, 1);
	assert_string_equal(s, "2023-11-14T22:13:20.123456Z INFO done n=-42\n");
	free(s);
	s = render(1, 0, NULL, &ev, 1);
	assert_string_equal(s, "{\"time\":\"2023-11-14T22:13:20.123456789Z\","
			       "\"level\":\"INFO\",\"msg\":\"done\","
			       "\"tid\":9,\"file\":\"a.c\",\"line\":4,"
			       "\"n\":-42}\n");
	free(s);
	ttlog__origin_self_clear();

	ttlog__origin_unref(full);
	ttlog__origin_unref(input_only);
	ttlog__origin_unref(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_reads_the_spec_example),
		cmocka_unit_test(test_view_header_fields_and_unknown_keys),
		cmocka_unit_test(test_view_string_refs_by_index_and_inline),
		cmocka_unit_test(test_view_every_value_type),
		cmocka_unit_test(test_view_wrong_format_or_version_is_refused),
		cmocka_unit_test(test_view_headerless_file_is_refused),
		cmocka_unit_test(test_view_missing_trailer_is_detected),
		cmocka_unit_test(test_view_trailer_count_mismatch_is_detected),
		cmocka_unit_test(
			test_view_bad_string_ref_names_event_and_offset),
		cmocka_unit_test(
			test_view_snapshot_cut_anywhere_gives_a_prefix),
		cmocka_unit_test(test_view_results_do_not_depend_on_read_sizes),
		cmocka_unit_test(test_view_other_damage),
		cmocka_unit_test(test_view_binary_log_of_v1_v2_and_v3_batches),
		cmocka_unit_test(test_view_binary_v3_origins),
		cmocka_unit_test(test_view_binary_v4_is_refused),
		cmocka_unit_test(test_view_binary_torn_or_corrupt_frames),
		cmocka_unit_test(test_filter_levels),
		cmocka_unit_test(test_filter_time_parsing),
		cmocka_unit_test(test_filter_since_and_until_are_inclusive),
		cmocka_unit_test(test_filter_grep_on_the_message),
		cmocka_unit_test(test_filter_fields_by_text_form),
		cmocka_unit_test(test_filter_service),
		cmocka_unit_test(test_filter_service_and_host_of_the_origin),
		cmocka_unit_test(
			test_out_is_the_core_encoding_plus_color_and_service),
		cmocka_unit_test(test_out_shows_the_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
