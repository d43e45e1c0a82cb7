/*
 * wire_lz4.c - the LZ4 frame around a compressed DATA payload, decoded
 * into the caller's scratch buffer for wire_payload.c, within a limit on
 * the decoded size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lz4frame.h>

#include "buf.h"
#include "errf.h"
#include "wire_payload.h"

static int lz4_fail(LZ4F_dctx *z, char *err, size_t errlen, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

static int lz4_fail(LZ4F_dctx *z, char *err, size_t errlen, const char *fmt,
		    ...)
{
	va_list ap;

	LZ4F_resetDecompressionContext(z);
	va_start(ap, fmt);
	ttlog__verrf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Makes s->buf hold at least `need` bytes. Returns 0 or -1. */
static int grow_buf(struct ttlog__wire_scratch *s, size_t need)
{
	unsigned char *q;

	if (need <= s->cap)
		return 0;
	q = ttlog__grow(s->buf, &s->cap, need, 1, 16);
	if (q == NULL)
		return -1;
	s->buf = q;
	return 0;
}

int ttlog__wire_lz4_decode(const unsigned char *src, size_t len, size_t max,
			   struct ttlog__wire_scratch *s, size_t *outlen,
			   char *err, size_t errlen)
{
	LZ4F_dctx *z = s->lz4;
	LZ4F_frameInfo_t fi;
	LZ4F_decompressOptions_t opt;
	size_t in, out = 0, want, r;

	if (z == NULL) {
		if (LZ4F_isError(LZ4F_createDecompressionContext(
			    &z, LZ4F_VERSION))) {
			ttlog__errf(err, errlen, "LZ4 frame: out of memory");
			return -1;
		}
		s->lz4 = z;
	}
	memset(&fi, 0, sizeof(fi));
	in = len;
	r = LZ4F_getFrameInfo(z, &fi, src, &in);
	if (LZ4F_isError(r))
		return lz4_fail(z, err, errlen,
				"LZ4 frame: bad header: %s at offset 0",
				LZ4F_getErrorName(r));
	if (fi.contentSize > 0) {
		if (fi.contentSize > max)
			return lz4_fail(z, err, errlen,
					"LZ4 frame: content of %llu bytes is "
					"over the limit of %zu at offset 6",
					(unsigned long long)fi.contentSize,
					max);
		want = (size_t)fi.contentSize;
	} else {
		want = len > max / 4 ? max : len * 4;
		if (want < 65536)
			want = max < 65536 ? max : 65536;
	}
	if (want == 0)
		want = 1; /* never a null buffer */
	if (grow_buf(s, want) != 0)
		return lz4_fail(z, err, errlen, "LZ4 frame: out of memory");
	memset(&opt, 0, sizeof(opt));
	for (;;) {
		size_t lim = s->cap < max ? s->cap : max;
		size_t dn = lim - out, sn = len - in;

		r = LZ4F_decompress(z, s->buf + out, &dn, src + in, &sn, &opt);
		if (LZ4F_isError(r))
			return lz4_fail(z, err, errlen,
					"LZ4 frame: %s at offset %zu",
					LZ4F_getErrorName(r), in);
		out += dn;
		in += sn;
		if (r == 0)
			break;
		if (dn == 0 && sn == 0 && out < lim)
			return lz4_fail(z, err, errlen,
					"LZ4 frame: truncated at offset %zu",
					in);
		if (dn == 0 && sn == 0) {
			/* No progress with the output full: more room. */
			if (lim >= max)
				return lz4_fail(z, err, errlen,
						"LZ4 frame: decoded size over "
						"the limit of %zu bytes at "
						"offset %zu",
						max, in);
			want = s->cap > max / 2 ? max : s->cap * 2;
			if (grow_buf(s, want) != 0)
				return lz4_fail(z, err, errlen,
						"LZ4 frame: out of memory");
		}
	}
	if (in != len) {
		ttlog__errf(
			err, errlen,
			"LZ4 frame: %zu bytes after the frame at offset %zu",
			len - in, in);
		return -1;
	}
	*outlen = out;
	return 0;
}
