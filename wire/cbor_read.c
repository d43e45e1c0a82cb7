/*
 * cbor_read.c - the parts of the CBOR reader that are not on the hot path
 * (cbor_read.h): skipping a whole item, and widening floats.
 */
#include "cbor_read.h"

int ttlog__cbor_skip(struct ttlog__cbor *c)
{
	/* Items still to read at each open level; level 0 is the item the
	 * caller asked to skip. */
	uint64_t pending[TTLOG__CBOR_MAX_DEPTH];
	int depth = 0;
	struct ttlog__cbor_item it;

	pending[0] = 1;
	for (;;) {
		const unsigned char *h = c->p;
		uint64_t n = 0;

		if (ttlog__cbor_read(c, &it) != 0)
			return -1;
		pending[depth]--;
		switch (it.major) {
		case TTLOG__CBOR_ARRAY:
			n = it.arg;
			break;
		case TTLOG__CBOR_MAP:
			/* Pairs: twice as many items. Every item takes a
			 * byte at least, so a count above what is left
			 * cannot be right (and 2 * arg cannot wrap then). */
			if (it.arg > ttlog__cbor_left(c))
				return ttlog__cbor_fail(
					c, h, "more items than bytes left");
			n = 2 * it.arg;
			break;
		case TTLOG__CBOR_TAG:
			n = 1; /* the tagged item */
			break;
		case TTLOG__CBOR_SIMPLE:
			if (it.info == 24 && it.arg < 32)
				return ttlog__cbor_fail(
					c, h, "malformed simple value");
			break;
		default:
			break;
		}
		if (n > 0) {
			if (n > ttlog__cbor_left(c))
				return ttlog__cbor_fail(
					c, h, "more items than bytes left");
			if (depth + 1 >= TTLOG__CBOR_MAX_DEPTH)
				return ttlog__cbor_fail(c, h,
							"nested too deeply");
			pending[++depth] = n;
		}
		while (pending[depth] == 0) {
			if (depth == 0)
				return 0;
			depth--;
		}
	}
}

double ttlog__cbor_float(unsigned info, uint64_t bits)
{
	uint64_t out;
	double d;

	if (info == TTLOG__CBOR_F64) {
		out = bits;
	} else if (info == TTLOG__CBOR_F32) {
		uint32_t u = (uint32_t)bits;
		float f;
		memcpy(&f, &u, sizeof(f));
		return (double)f;
	} else {
		/* Half precision: 1 sign bit, 5 exponent bits (bias 15), 10
		 * mantissa bits; rebuilt as binary64 bit by bit, no libm. */
		uint64_t sign = (bits >> 15) & 1u;
		unsigned e = (unsigned)(bits >> 10) & 0x1Fu;
		uint64_t m = bits & 0x3FFu;

		if (e == 0) {
			/* Zero or subnormal: m * 2^-24, exact in a double. */
			d = (double)m / 16777216.0;
			return sign ? -d : d;
		}
		if (e == 31)
			out = (sign << 63) | (0x7FFull << 52) | (m << 42);
		else
			out = (sign << 63) | ((uint64_t)(e - 15 + 1023) << 52) |
			      (m << 42);
	}
	memcpy(&d, &out, sizeof(d));
	return d;
}
