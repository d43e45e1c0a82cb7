/*
 * cbor_read.h - the small CBOR reader of the native protocol (internal to
 * ttlog_wire).
 *
 * It reads exactly what ttlog writes (docs/cbor-batch.md and the hello of
 * docs/native-protocol.md): items with definite lengths of major types 0
 * to 7, floats of 16, 32 and 64 bits. Indefinite lengths (additional
 * information 31) and the reserved values 28 to 30 are errors. Tags
 * (major type 6) are not items ttlog writes: a typed read refuses them,
 * and ttlog__cbor_skip() steps over a tag together with the item it tags,
 * so a newer peer may send a tagged value under a hello key we ignore.
 *
 * A reader is a cursor over a buffer it never reads past. Each function
 * either advances the cursor and returns 0, or returns -1 and records why
 * (a fixed phrase) and where (the offset from the start of the buffer);
 * callers turn that into their own error message. The hot functions are
 * inline: the payload decoder calls them several times per field.
 */
#ifndef TTLOG_CBOR_READ_H
#define TTLOG_CBOR_READ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "byteorder.h"
#include "ingest_internal.h"

enum ttlog__cbor_major {
	TTLOG__CBOR_UINT = 0,
	TTLOG__CBOR_NINT = 1,
	TTLOG__CBOR_BYTES = 2,
	TTLOG__CBOR_TEXT = 3,
	TTLOG__CBOR_ARRAY = 4,
	TTLOG__CBOR_MAP = 5,
	TTLOG__CBOR_TAG = 6,
	TTLOG__CBOR_SIMPLE = 7,
};

/* Additional information values of major type 7 that ttlog reads. */
#define TTLOG__CBOR_FALSE 20
#define TTLOG__CBOR_TRUE 21
#define TTLOG__CBOR_F16 25
#define TTLOG__CBOR_F32 26
#define TTLOG__CBOR_F64 27

/* Deepest nesting ttlog__cbor_skip() accepts (the top item is depth 1). */
#define TTLOG__CBOR_MAX_DEPTH 16

struct ttlog__cbor {
	const unsigned char *p;	    /* next byte to read */
	const unsigned char *start; /* offsets count from here */
	const unsigned char *end;
	const char *why; /* after a failure: what was wrong */
	size_t at;	 /* after a failure: offset of the item */
};

/* One item's initial byte and argument. For strings, arg is the length
 * and str the bytes (already consumed); for arrays and maps the number of
 * items or pairs; for major type 7 the raw bits of a float or the simple
 * value. */
struct ttlog__cbor_item {
	uint8_t major;
	uint8_t info; /* additional information, 0..27 */
	uint64_t arg;
	const unsigned char *str;
};

static inline void ttlog__cbor_init(struct ttlog__cbor *c, const void *p,
				    size_t n)
{
	c->p = c->start = (const unsigned char *)p;
	c->end = n > 0 ? c->start + n : c->start; /* p may be NULL then */
	c->why = NULL;
	c->at = 0;
}

static inline size_t ttlog__cbor_left(const struct ttlog__cbor *c)
{
	return (size_t)(c->end - c->p);
}

static inline size_t ttlog__cbor_offset(const struct ttlog__cbor *c,
					const unsigned char *at)
{
	return (size_t)(at - c->start);
}

/* Records a failure at `at` and returns -1. */
static inline int ttlog__cbor_fail(struct ttlog__cbor *c,
				   const unsigned char *at, const char *why)
{
	c->why = why;
	c->at = (size_t)(at - c->start);
	return -1;
}

/*
 * Reads one item head. Strings are consumed whole (it->str points at their
 * bytes); for every other type only the head is. Fails on the end of the
 * buffer, an indefinite length, a reserved value, or a string longer than
 * what is left.
 */
static inline int ttlog__cbor_read(struct ttlog__cbor *c,
				   struct ttlog__cbor_item *it)
{
	const unsigned char *h = c->p;
	size_t left = (size_t)(c->end - h);
	unsigned ib, info;

	if (left == 0)
		return ttlog__cbor_fail(c, h, "unexpected end of data");
	ib = h[0];
	info = ib & 31u;
	it->major = (uint8_t)(ib >> 5);
	it->info = (uint8_t)info;
	if (info < 24) {
		it->arg = info;
		c->p = h + 1;
	} else if (info < 28) {
		unsigned n = 1u << (info - 24);
		if (left - 1 < n)
			return ttlog__cbor_fail(c, h, "truncated item head");
		it->arg = ttlog__get_be_n(h + 1, n);
		c->p = h + 1 + n;
	} else if (info == 31) {
		return ttlog__cbor_fail(c, h,
					"indefinite length (not supported)");
	} else {
		return ttlog__cbor_fail(c, h,
					"reserved additional information");
	}
	if (it->major == TTLOG__CBOR_BYTES || it->major == TTLOG__CBOR_TEXT) {
		if (it->arg > (uint64_t)(c->end - c->p))
			return ttlog__cbor_fail(c, h,
						"string runs past the end");
		it->str = c->p;
		c->p += (size_t)it->arg;
	} else {
		it->str = NULL;
	}
	return 0;
}

/*
 * Skips one whole item: nested arrays and maps (up to
 * TTLOG__CBOR_MAX_DEPTH levels), tags with the item they tag. Never
 * recursive; an array or map that announces more items than bytes are
 * left fails at once.
 */
int ttlog__cbor_skip(struct ttlog__cbor *c);

/* The value of a major-type-7 float item (16, 32 or 64 bits; info is
 * TTLOG__CBOR_F16..F64) as a double; half and single precision are
 * widened exactly, NaN payloads kept where the width allows. */
double ttlog__cbor_float(unsigned info, uint64_t bits);

/* Whether it is a text string of exactly the name_len bytes of name (an
 * item of another type, an integer key say, is not). */
static inline int ttlog__cbor_is(const struct ttlog__cbor_item *it,
				 const char *name, size_t name_len)
{
	return it->major == TTLOG__CBOR_TEXT && it->str != NULL &&
	       it->arg == name_len && memcmp(it->str, name, name_len) == 0;
}

/* One field value of a batch or a snapshot (docs/cbor-batch.md): an
 * integer, a float (half and single precision accepted too), a bool or a
 * string, into f->type and f->v. On failure the reader holds why and
 * where. Shared by the payload decoder and ttlog-view's snapshot reader. */
static inline int ttlog__wire_read_value(struct ttlog__cbor *c,
					 struct ttlog__in_field *f)
{
	struct ttlog__cbor_item v;
	const unsigned char *at = c->p;

	if (ttlog__cbor_read(c, &v) != 0)
		return -1;
	switch (v.major) {
	case TTLOG__CBOR_UINT:
		f->type = TTLOG_TYPE_U64;
		f->v.u64 = v.arg;
		return 0;
	case TTLOG__CBOR_NINT:
		if (v.arg > (uint64_t)INT64_MAX)
			return ttlog__cbor_fail(
				c, at, "negative integer below INT64_MIN");
		f->type = TTLOG_TYPE_I64;
		f->v.i64 = -1 - (int64_t)v.arg;
		return 0;
	case TTLOG__CBOR_BYTES:
	case TTLOG__CBOR_TEXT:
		f->type = TTLOG_TYPE_STR;
		f->v.str.ptr = (const char *)v.str;
		f->v.str.len = (size_t)v.arg;
		return 0;
	case TTLOG__CBOR_SIMPLE:
		switch (v.info) {
		case TTLOG__CBOR_FALSE:
		case TTLOG__CBOR_TRUE:
			f->type = TTLOG_TYPE_BOOL;
			f->v.b = v.info == TTLOG__CBOR_TRUE;
			return 0;
		case TTLOG__CBOR_F64:
			f->type = TTLOG_TYPE_F64;
			memcpy(&f->v.f64, &v.arg, sizeof(double));
			return 0;
		case TTLOG__CBOR_F16:
		case TTLOG__CBOR_F32:
			f->type = TTLOG_TYPE_F64;
			f->v.f64 = ttlog__cbor_float(v.info, v.arg);
			return 0;
		default:
			return ttlog__cbor_fail(
				c, at, "a value is null, undefined or simple");
		}
	default:
		return ttlog__cbor_fail(c, at,
					"a value is an array, map or tag");
	}
}

#endif /* TTLOG_CBOR_READ_H */
