/*
 * encode_cbor.c - the CBOR encoding of a batch (docs/cbor-batch.md) and its
 * LZ4 frame.
 *
 * The encoder writes CBOR directly rather than building a libcbor item
 * tree: a batch is encoded on the writer's critical path, and a tree costs
 * an allocation per item. Test code decodes the output with libcbor and
 * python's cbor2 to keep this honest.
 */
#include <lz4frame.h>

#include "batch_internal.h"
#include "cbor_internal.h"
#include "utf8.h"

/* Writes a major type and argument; the caller reserved 9 bytes. */
static inline void head(struct ttlog__buf *b, unsigned mt, uint64_t v)
{
	b->len += ttlog__cbor_head(b->p + b->len, mt, v);
}

static void put_head(struct ttlog__buf *b, unsigned mt, uint64_t v)
{
	if (ttlog__buf_reserve(b, 9) == 0)
		head(b, mt, v);
}

/* A text string when the bytes are UTF-8, else a byte string, so that the
 * output is always valid CBOR and no byte is lost. */
static void put_str(struct ttlog__buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (ttlog__buf_reserve(b, 9 + n) != 0)
		return;
	head(b, ttlog__utf8_valid(u, n) ? TTLOG__MT_TSTR : TTLOG__MT_BSTR, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void put_cstr(struct ttlog__buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static void put_value(struct ttlog__buf *b, const struct ttlog_field *f)
{
	switch (f->type) {
	case TTLOG_TYPE_I64:
		if (ttlog__buf_reserve(b, 9) == 0)
			b->len += ttlog__cbor_i64(b->p + b->len, f->v.i64);
		break;
	case TTLOG_TYPE_U64:
		put_head(b, TTLOG__MT_UINT, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		if (ttlog__buf_reserve(b, 9) == 0)
			b->len += ttlog__cbor_f64(b->p + b->len, f->v.f64);
		break;
	case TTLOG_TYPE_BOOL:
		put_head(b, TTLOG__MT_SIMPLE, f->v.b ? 21 : 20);
		break;
	case TTLOG_TYPE_STR:
	default:
		put_str(b, f->v.str.ptr, f->v.str.len);
		break;
	}
}

int ttlog__encode_cbor(const struct ttlog_batch *bt, struct ttlog__buf *b)
{
	put_head(b, TTLOG__MT_MAP, 5);
	put_cstr(b, "v");
	/* Version 3: events carry their origin (docs/cbor-batch.md). */
	put_head(b, TTLOG__MT_UINT, 3);
	put_cstr(b, "seq");
	put_head(b, TTLOG__MT_UINT, bt->seq);

	put_cstr(b, "origins");
	put_head(b, TTLOG__MT_ARRAY, bt->norig);
	for (uint32_t i = 0; i < bt->norig; i++) {
		put_head(b, TTLOG__MT_ARRAY, TTLOG__ORIGIN_NFIELDS);
		for (int k = 0; k < TTLOG__ORIGIN_NFIELDS; k++)
			put_cstr(b, ttlog__origin_get(&bt->orig[i]->pub, k));
	}

	put_cstr(b, "callsites");
	put_head(b, TTLOG__MT_ARRAY, bt->ncs);
	for (uint32_t i = 0; i < bt->ncs; i++) {
		const struct ttlog_callsite *cs = bt->cs[i];
		put_head(b, TTLOG__MT_ARRAY, 5);
		put_cstr(b, cs->msg);
		put_cstr(b, cs->file);
		put_head(b, TTLOG__MT_UINT, cs->line);
		put_head(b, TTLOG__MT_UINT, cs->level);
		put_head(b, TTLOG__MT_ARRAY, cs->nfields);
		for (unsigned k = 0; k < cs->nfields; k++)
			put_cstr(b, cs->keys[k]);
	}

	put_cstr(b, "events");
	put_head(b, TTLOG__MT_ARRAY, bt->n);
	for (size_t i = 0; i < bt->n; i++) {
		const struct ttlog__event *e = &bt->ev[i];
		const struct ttlog_callsite *cs = bt->cs[e->cs];
		const unsigned char *p = bt->data + e->off;
		unsigned own = e->flags & TTLOG__EVENT_OWN_MSG ? 1 : 0;
		struct ttlog_field f = {0};

		if (ttlog__buf_reserve(b, 6 * 9) != 0)
			break;
		head(b, TTLOG__MT_ARRAY, 5u + own + cs->nfields);
		head(b, TTLOG__MT_UINT, e->time_ns);
		head(b, TTLOG__MT_UINT, e->tid);
		head(b, TTLOG__MT_UINT, e->cs);
		head(b, TTLOG__MT_UINT, e->flags);
		head(b, TTLOG__MT_UINT, e->origin);
		if (own) {
			const char *msg;
			size_t msg_len;
			p = ttlog__event_bytes(bt, e, &msg, &msg_len);
			put_str(b, msg, msg_len);
		}
		for (unsigned k = 0; k < cs->nfields; k++) {
			p = ttlog__value_decode(p, cs->types[k], &f);
			put_value(b, &f);
		}
	}
	return b->oom ? TTLOG_ENOMEM : 0;
}

int ttlog__encode_lz4(const void *src, size_t len, struct ttlog__buf *out)
{
	LZ4F_preferences_t prefs;
	size_t bound, n;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentSize = len;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.blockSizeID = LZ4F_max256KB;
	bound = LZ4F_compressFrameBound(len, &prefs);
	if (ttlog__buf_reserve(out, bound) != 0)
		return TTLOG_ENOMEM;
	n = LZ4F_compressFrame(out->p + out->len, bound, src, len, &prefs);
	if (LZ4F_isError(n))
		return TTLOG_ENOMEM;
	out->len += n;
	return 0;
}
