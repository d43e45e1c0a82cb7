/*
 * utf8.h - the one UTF-8 decoder and validator (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), for the encoders, the
 * readers and every writer that must not pass bad bytes on.
 *
 * Static inline rather than in ttlog_common: the encoders call it once per
 * character of every string, and a plugin gets it without linking. It
 * touches nothing but its arguments, so it is async-signal-safe.
 */
#ifndef TTLOG_UTF8_H
#define TTLOG_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the sequence at p (n >= 1 bytes available). When it is valid:
 * returns its length, 1 to 4, with the code point in *cp. When it is not:
 * returns 0, with *bad set to the number of bytes (1 to 3) that one
 * U+FFFD stands for, Unicode's "maximal subpart": the longest prefix that
 * could still have become a valid sequence, or the first byte alone.
 *
 * The second byte's range depends on the first (Unicode's table of
 * well-formed sequences): that is what rules out the overlong forms
 * (E0, F0), the surrogates (ED) and what lies past U+10FFFF (F4).
 */
static inline size_t ttlog__utf8_decode(const unsigned char *p, size_t n,
					uint32_t *cp, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0Fu;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07u;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t k = 1; k < len; k++) {
		if (k >= n || p[k] < lo || p[k] > hi) {
			*bad = k;
			return 0;
		}
		v = (v << 6) | (p[k] & 0x3Fu);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return len;
}

/*
 * Length of the valid UTF-8 sequence starting at p (at most n bytes away,
 * n >= 1), 1 to 4; 0 when the bytes there are not a valid sequence. *cp
 * receives the code point.
 */
static inline size_t ttlog__utf8_next(const unsigned char *p, size_t n,
				      uint32_t *cp)
{
	size_t bad;

	return ttlog__utf8_decode(p, n, cp, &bad);
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

#endif /* TTLOG_UTF8_H */
