/* fuzz_snapshot.c - ttlog-view's reader (tools/view/view_read.c) on any
 * file, snapshots first of all.
 *
 * The first input byte is a mode: bit 0 set, the rest is the content of
 * a snapshot (the CBOR sequence), which this target puts into one LZ4
 * frame as the snapshot writer does, so that mutations reach the CBOR
 * parsers instead of breaking the frame; bit 0 clear, the rest is the
 * file as it is (LZ4 framing, binary logs, garbage). Bit 1 selects JSON
 * output instead of text; bits 2-5 a read size for the second pass.
 *
 * Every event is checked (abort() on a violation: level, field count,
 * a NUL-terminated source, every byte of every string readable) and
 * passed through the filters and the output encoders. The file is then
 * read again in small reads, which must give the same status, error
 * message and events: the reader's result may not depend on how the
 * bytes arrive. */
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "view_filter.h"
#include "view_out.h"
#include "view_read.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

struct ctx {
	struct view_filter filt;
	struct view_out out;
	uint64_t hash, n;
	int headers;
};

static void mix(struct ctx *c, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		c->hash = (c->hash ^ u[i]) * 1099511628211ull;
}

static int on_header(void *arg, const struct view_file *f)
{
	struct ctx *c = arg;
	const struct view_snap_header *h = f->snap;

	check(f->kind == VIEW_KIND_SNAPSHOT && h != NULL && f->events == 0);
	check(strlen(h->service.p) <= h->service.len);
	mix(c, h->service.p, h->service.len);
	mix(c, h->host.p, h->host.len);
	for (size_t i = 0; i < h->nstrings; i++) {
		check(h->strings[i].p[h->strings[i].len] == '\0');
		mix(c, h->strings[i].p, h->strings[i].len);
	}
	c->headers++;
	return view_out_set_service(&c->out, &h->service) != 0;
}

static int on_event(void *arg, const struct view_file *f,
		    const struct ttlog__in_event *ev)
{
	struct ctx *c = arg;
	int m;

	check(f->events == c->n);
	check(ev->level >= 0 && ev->level <= 5);
	check(ev->nfields <= TTLOG__IN_MAX_FIELDS);
	check(ev->truncated == 0 || ev->truncated == 1);
	check(ev->source != NULL);
	mix(c, &ev->time_ns, sizeof(ev->time_ns));
	mix(c, &ev->tid, sizeof(ev->tid));
	mix(c, &ev->level, sizeof(ev->level));
	mix(c, &ev->line, sizeof(ev->line));
	mix(c, ev->msg, ev->msg_len);
	mix(c, ev->source, strlen(ev->source) + 1);
	for (uint32_t i = 0; i < ev->nfields; i++) {
		const struct ttlog__in_field *fl = &ev->fields[i];
		mix(c, fl->key, fl->key_len);
		mix(c, &fl->type, sizeof(fl->type));
		if (fl->type == TTLOG_TYPE_STR)
			mix(c, fl->v.str.ptr, fl->v.str.len);
		else if (fl->type == TTLOG_TYPE_BOOL)
			check(fl->v.b == 0 || fl->v.b == 1);
		else
			check(fl->type >= TTLOG_TYPE_I64 &&
			      fl->type <= TTLOG_TYPE_F64);
	}
	c->n++;
	m = view_filter_match(&c->filt, ev, NULL, NULL);
	check(m >= 0);
	return view_out_event(&c->out, ev) != 0;
}

static void read_once(const unsigned char *p, size_t n, size_t chunk, int json,
		      FILE *sink, struct ctx *c, struct view_result *res)
{
	struct view_read_opts o = {
		.cb = {.header = on_header, .event = on_event},
		.chunk = chunk,
		.max_item = 1u << 20,
	};
	char err[256];

	memset(c, 0, sizeof(*c));
	c->hash = 14695981039346656037ull;
	view_filter_init(&c->filt);
	check(view_filter_set_grep(&c->filt, "a|b", err, sizeof(err)) == 0);
	check(view_filter_add_field(&c->filt, "id=1", err, sizeof(err)) == 0);
	view_out_init(&c->out, sink, json, !json);
	o.arg = c;
	view_read_mem(p, n, "fuzz", &o, res);
	check(res->status == VIEW_OK || res->status == VIEW_UNREADABLE ||
	      res->status == VIEW_DAMAGED);
	check(res->events == c->n);
	check(res->status == VIEW_OK || res->err[0] != '\0');
	check(strlen(res->err) < sizeof(res->err));
	view_out_destroy(&c->out);
	view_filter_destroy(&c->filt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct view_result r1, r2;
	struct ctx c1, c2;
	unsigned char *frame = NULL;
	const unsigned char *file;
	size_t len;
	int json;

	if (size == 0)
		return 0;
	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	check(sink != NULL);
	json = (data[0] & 2) != 0;
	file = data + 1;
	len = size - 1;
	if (data[0] & 1) {
		LZ4F_preferences_t prefs;
		size_t bound;

		memset(&prefs, 0, sizeof(prefs));
		prefs.frameInfo.blockSizeID = LZ4F_max64KB;
		prefs.frameInfo.blockMode = LZ4F_blockIndependent;
		prefs.frameInfo.contentChecksumFlag =
			LZ4F_contentChecksumEnabled;
		bound = LZ4F_compressFrameBound(len, &prefs);
		frame = malloc(bound);
		check(frame != NULL);
		len = LZ4F_compressFrame(frame, bound, file, len, &prefs);
		check(!LZ4F_isError(len));
		file = frame;
	}
	read_once(file, len, 0, json, sink, &c1, &r1);
	read_once(file, len, 1 + ((data[0] >> 2) & 15), json, sink, &c2, &r2);
	check(r1.status == r2.status && r1.kind == r2.kind);
	check(strcmp(r1.err, r2.err) == 0);
	check(r1.events == r2.events && c1.hash == c2.hash);
	check(c1.headers == c2.headers && c1.headers <= 1);
	free(frame);
	return 0;
}
