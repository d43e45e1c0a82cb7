/* utf8_internal.h - UTF-8 validation for the encoders (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF). */
#ifndef TTLOG_UTF8_INTERNAL_H
#define TTLOG_UTF8_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length of the valid UTF-8 sequence starting at p (at most n bytes away),
 * 1 to 4; 0 when the bytes there are not a valid sequence. *cp receives the
 * code point.
 */
static inline size_t ttlog__utf8_next(const unsigned char *p, size_t n,
				      uint32_t *cp)
{
	unsigned char c = p[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1Fu;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0Fu;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0u) != 0x80u)
			return 0;
		v = (v << 6) | (p[i] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* True when all n bytes at p are valid UTF-8. */
static inline int ttlog__utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		/* Runs of ASCII are the common case: check 8 at a time. */
		while (i + 8 <= n) {
			uint64_t w;
			__builtin_memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		size_t k = ttlog__utf8_next(p + i, n - i, &cp);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

#endif /* TTLOG_UTF8_INTERNAL_H */
