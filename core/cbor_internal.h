/* cbor_internal.h - the pieces of CBOR (RFC 8949) that ttlog's writers
 * share: the batch encoder (encode_cbor.c) and the snapshot writer
 * (snapshot_file.c), which must not allocate. Both write into memory they
 * made room in first. */
#ifndef TTLOG_CBOR_INTERNAL_H
#define TTLOG_CBOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "byteorder.h"

enum {
	TTLOG__MT_UINT = 0,
	TTLOG__MT_NINT = 1,
	TTLOG__MT_BSTR = 2,
	TTLOG__MT_TSTR = 3,
	TTLOG__MT_ARRAY = 4,
	TTLOG__MT_MAP = 5,
	TTLOG__MT_SIMPLE = 7
};

/* The most bytes a head takes. */
#define TTLOG__CBOR_HEAD_MAX 9

/* Writes a major type and its argument in the shortest form at p and
 * returns the number of bytes written (1, 2, 3, 5 or 9). */
static inline size_t ttlog__cbor_head(unsigned char *p, unsigned mt, uint64_t v)
{
	unsigned char m = (unsigned char)(mt << 5);

	if (v < 24) {
		p[0] = (unsigned char)(m | v);
		return 1;
	}
	if (v <= 0xFF) {
		p[0] = m | 24;
		p[1] = (unsigned char)v;
		return 2;
	}
	if (v <= 0xFFFF) {
		p[0] = m | 25;
		ttlog__put_be16(p + 1, (uint16_t)v);
		return 3;
	}
	if (v <= 0xFFFFFFFFu) {
		p[0] = m | 26;
		ttlog__put_be32(p + 1, (uint32_t)v);
		return 5;
	}
	p[0] = m | 27;
	ttlog__put_be64(p + 1, v);
	return 9;
}

/* A float64 (always 9 bytes: every double, NaN payloads and -0.0
 * included, comes back bit for bit). */
static inline size_t ttlog__cbor_f64(unsigned char *p, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	p[0] = (TTLOG__MT_SIMPLE << 5) | 27;
	ttlog__put_be64(p + 1, bits);
	return 9;
}

/* A signed integer: major type 0 when >= 0, else 1 (-1 - n, computed
 * without overflow at INT64_MIN). */
static inline size_t ttlog__cbor_i64(unsigned char *p, int64_t v)
{
	return v >= 0 ? ttlog__cbor_head(p, TTLOG__MT_UINT, (uint64_t)v)
		      : ttlog__cbor_head(p, TTLOG__MT_NINT, ~(uint64_t)v);
}

#endif /* TTLOG_CBOR_INTERNAL_H */
