/*
 * kaf_cbor.c - one event as the CBOR map kafka_conf.h defines (format
 * cbor): definite lengths only, text keys "t" "l" "m" "o" "s" "f" "x" in
 * that order, absent ones left out. A small writer of our own rather than
 * libcbor's item trees: one pass, no allocation per item, into a buffer
 * the listener reuses for every message.
 */
#include <string.h>

#include "kafka_internal.h"

/* The head of an item: major type and argument, shortest form. */
static void head(struct ttlog__buf *b, unsigned major, uint64_t v)
{
	unsigned char h[9];
	size_t n;

	h[0] = (unsigned char)(major << 5);
	if (v < 24) {
		h[0] |= (unsigned char)v;
		n = 1;
	} else if (v <= 0xff) {
		h[0] |= 24;
		h[1] = (unsigned char)v;
		n = 2;
	} else if (v <= 0xffff) {
		h[0] |= 25;
		h[1] = (unsigned char)(v >> 8);
		h[2] = (unsigned char)v;
		n = 3;
	} else if (v <= 0xffffffffu) {
		h[0] |= 26;
		for (int i = 0; i < 4; i++)
			h[1 + i] = (unsigned char)(v >> (24 - 8 * i));
		n = 5;
	} else {
		h[0] |= 27;
		for (int i = 0; i < 8; i++)
			h[1 + i] = (unsigned char)(v >> (56 - 8 * i));
		n = 9;
	}
	ttlog__buf_put(b, h, n);
}

static void text(struct ttlog__buf *b, const char *s, size_t len)
{
	head(b, 3, len);
	ttlog__buf_put(b, s, len);
}

static void ctext(struct ttlog__buf *b, const char *s)
{
	text(b, s, strlen(s));
}

static void f64(struct ttlog__buf *b, double d)
{
	unsigned char h[9];
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	h[0] = 0xfb;
	for (int i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)(bits >> (56 - 8 * i));
	ttlog__buf_put(b, h, sizeof(h));
}

static void value(struct ttlog__buf *b, const struct ttlog_field *f)
{
	switch (f->type) {
	case TTLOG_TYPE_I64:
		if (f->v.i64 >= 0)
			head(b, 0, (uint64_t)f->v.i64);
		else /* -1 - n, computed without overflow */
			head(b, 1, (uint64_t)(-(f->v.i64 + 1)));
		break;
	case TTLOG_TYPE_U64:
		head(b, 0, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		f64(b, f->v.f64);
		break;
	case TTLOG_TYPE_BOOL:
		ttlog__buf_putc(b, f->v.b ? 0xf5 : 0xf4);
		break;
	default:
		text(b, f->v.str.ptr ? f->v.str.ptr : "", f->v.str.len);
		break;
	}
}

void ttlog__kaf_cbor_event(struct ttlog__buf *out, const struct ttlog_event *ev,
			   const struct ttlog_origin *o)
{
	const char *on[6] = {"host", "service", "input",
			     "peer", "peer_id", "relay"};
	const char *ov[6] = {NULL};
	struct ttlog_field_iter it;
	struct ttlog_field f;
	size_t norigin = 0, entries = 3;

	if (o != NULL) {
		ov[0] = o->host;
		ov[1] = o->service;
		ov[2] = o->input;
		ov[3] = o->peer;
		ov[4] = o->peer_id;
		ov[5] = o->relay;
		for (int i = 0; i < 6; i++)
			norigin += ov[i] != NULL && ov[i][0] != 0;
	}
	entries += norigin > 0;
	entries += ev->line > 0;
	entries += ev->nfields > 0;
	entries += ev->flags != 0;
	head(out, 5, entries);
	ctext(out, "t");
	head(out, 0, ev->time_ns);
	ctext(out, "l");
	head(out, 0, ev->level);
	ctext(out, "m");
	ctext(out, ev->msg ? ev->msg : "");
	if (norigin > 0) {
		ctext(out, "o");
		head(out, 5, norigin);
		for (int i = 0; i < 6; i++)
			if (ov[i] != NULL && ov[i][0] != 0) {
				ctext(out, on[i]);
				ctext(out, ov[i]);
			}
	}
	if (ev->line > 0) {
		ctext(out, "s");
		head(out, 4, 3);
		ctext(out, ev->file ? ev->file : "");
		head(out, 0, ev->line);
		head(out, 0, ev->tid);
	}
	if (ev->nfields > 0) {
		ctext(out, "f");
		head(out, 4, ev->nfields);
		ttlog_field_iter_init(&it, ev);
		for (uint16_t i = 0; i < ev->nfields; i++) {
			if (!ttlog_field_next(&it, &f)) {
				/* Cannot happen; keeps the array's length. */
				head(out, 4, 2);
				ctext(out, "");
				ctext(out, "");
				continue;
			}
			head(out, 4, 2);
			ctext(out, f.key ? f.key : "");
			value(out, &f);
		}
	}
	if (ev->flags != 0) {
		ctext(out, "x");
		head(out, 0, ev->flags);
	}
}
