/*
 * test_common.c - the shared helpers of common/: byte order.
 *
 * The expected bytes are written out by hand, not computed with the code
 * under test, so that a helper that swapped the wrong way round (or wrote
 * one byte too many) fails here rather than in a peer.
 */
#include <stdint.h>
#include <string.h>

#include "testutil.h"

#include "byteorder.h"

/* ------------------------------------------------------------------ */
/* byte order                                                           */
/* ------------------------------------------------------------------ */

/* Guards on both sides of every write: a store must touch its bytes only. */
#define GUARD 0xA5

static void check_guarded(const unsigned char *buf, size_t width,
			  const unsigned char *want)
{
	assert_int_equal(buf[0], GUARD);
	assert_memory_equal(buf + 1, want, width);
	assert_int_equal(buf[1 + width], GUARD);
}

/* Stores v in n bytes (2, 4 or 8) at p, big-endian when be, and reads it
 * back from want with the matching load. */
static void put_width(unsigned char *p, unsigned n, int be, uint64_t v)
{
	if (n == 2)
		be ? ttlog__put_be16(p, (uint16_t)v)
		   : ttlog__put_le16(p, (uint16_t)v);
	else if (n == 4)
		be ? ttlog__put_be32(p, (uint32_t)v)
		   : ttlog__put_le32(p, (uint32_t)v);
	else
		be ? ttlog__put_be64(p, v) : ttlog__put_le64(p, v);
}

static uint64_t get_width(const unsigned char *p, unsigned n, int be)
{
	if (n == 2)
		return be ? ttlog__get_be16(p) : ttlog__get_le16(p);
	if (n == 4)
		return be ? ttlog__get_be32(p) : ttlog__get_le32(p);
	return be ? ttlog__get_be64(p) : ttlog__get_le64(p);
}

static void test_byteorder_all_widths_both_orders(void **state)
{
	static const struct {
		unsigned n;
		uint64_t v;
		unsigned char be[8], le[8];
	} cases[] = {
		{2, 0x1234, {0x12, 0x34}, {0x34, 0x12}},
		{4,
		 0x12345678u,
		 {0x12, 0x34, 0x56, 0x78},
		 {0x78, 0x56, 0x34, 0x12}},
		{8,
		 0x0123456789ABCDEFull,
		 {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF},
		 {0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01}},
	};
	unsigned char b[10];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int be = 0; be <= 1; be++) {
			const unsigned char *want =
				be ? cases[i].be : cases[i].le;

			memset(b, GUARD, sizeof(b));
			put_width(b + 1, cases[i].n, be, cases[i].v);
			check_guarded(b, cases[i].n, want);
			assert_true(get_width(want, cases[i].n, be) ==
				    cases[i].v);
		}
	}
}

/* The top bit set in every byte: a load that widened a byte through a
 * signed type would smear ones over the bytes above it. */
static void test_byteorder_high_bytes_do_not_sign_extend(void **state)
{
	unsigned char ff[8], b[8];

	(void)state;
	memset(ff, 0xFF, sizeof(ff));
	assert_int_equal(ttlog__get_be16(ff), 0xFFFF);
	assert_int_equal(ttlog__get_be32(ff), 0xFFFFFFFFu);
	assert_true(ttlog__get_be64(ff) == UINT64_MAX);
	assert_int_equal(ttlog__get_le16(ff), 0xFFFF);
	assert_int_equal(ttlog__get_le32(ff), 0xFFFFFFFFu);
	assert_true(ttlog__get_le64(ff) == UINT64_MAX);

	b[0] = 0x80;
	b[1] = 0x01;
	assert_int_equal(ttlog__get_be16(b), 0x8001);
	assert_int_equal(ttlog__get_le16(b), 0x0180);
}

/* Round trips over values that exercise every byte on its own. */
static void test_byteorder_round_trips_every_byte_position(void **state)
{
	unsigned char b[8];

	(void)state;
	for (unsigned shift = 0; shift < 64; shift += 8) {
		uint64_t v = (uint64_t)0x81 << shift;

		ttlog__put_be64(b, v);
		assert_true(ttlog__get_be64(b) == v);
		assert_int_equal(b[7 - shift / 8], 0x81);
		ttlog__put_le64(b, v);
		assert_true(ttlog__get_le64(b) == v);
		assert_int_equal(b[shift / 8], 0x81);
		if (shift < 32) {
			ttlog__put_be32(b, (uint32_t)v);
			assert_int_equal(ttlog__get_be32(b), (uint32_t)v);
			ttlog__put_le32(b, (uint32_t)v);
			assert_int_equal(ttlog__get_le32(b), (uint32_t)v);
		}
		if (shift < 16) {
			ttlog__put_be16(b, (uint16_t)v);
			assert_int_equal(ttlog__get_be16(b), (uint16_t)v);
			ttlog__put_le16(b, (uint16_t)v);
			assert_int_equal(ttlog__get_le16(b), (uint16_t)v);
		}
	}
}

/* The variable widths of CBOR item heads (1, 2, 4 or 8 bytes) and of
 * their writer; a store writes the low n bytes of its value, and a width
 * of 0 reads 0 and writes nothing. */
static void test_byteorder_variable_width(void **state)
{
	static const unsigned char src[8] = {0xFE, 0xDC, 0xBA, 0x98,
					     0x76, 0x54, 0x32, 0x10};
	unsigned char b[10];

	(void)state;
	assert_true(ttlog__get_be_n(src, 0) == 0);
	assert_true(ttlog__get_be_n(src, 1) == 0xFE);
	assert_true(ttlog__get_be_n(src, 3) == 0xFEDCBA);
	assert_true(ttlog__get_be_n(src, 8) == 0xFEDCBA9876543210ull);

	memset(b, GUARD, sizeof(b));
	ttlog__put_be_n(b + 1, 0xFEDCBA9876543210ull, 3);
	check_guarded(b, 3, (const unsigned char[]){0x54, 0x32, 0x10});
	memset(b, GUARD, sizeof(b));
	ttlog__put_be_n(b + 1, 0xFEDCBA9876543210ull, 0);
	assert_int_equal(b[1], GUARD);
}

/* No alignment is assumed: the fields of a wire message or a spool record
 * sit at odd offsets. */
static void test_byteorder_unaligned(void **state)
{
	unsigned char b[16];

	(void)state;
	for (size_t off = 0; off < 8; off++) {
		memset(b, 0, sizeof(b));
		ttlog__put_be64(b + off, 0x1122334455667788ull);
		assert_int_equal(b[off], 0x11);
		assert_true(ttlog__get_be64(b + off) == 0x1122334455667788ull);
		ttlog__put_le32(b + off, 0xCAFEBABEu);
		assert_int_equal(b[off], 0xBE);
		assert_int_equal(ttlog__get_le32(b + off), 0xCAFEBABEu);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byteorder_all_widths_both_orders),
		cmocka_unit_test(test_byteorder_high_bytes_do_not_sign_extend),
		cmocka_unit_test(
			test_byteorder_round_trips_every_byte_position),
		cmocka_unit_test(test_byteorder_variable_width),
		cmocka_unit_test(test_byteorder_unaligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
