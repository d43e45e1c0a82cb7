/*
 * test_encode_cbor.c - the CBOR batch encoding (docs/cbor-batch.md) and its
 * LZ4 frame.
 *
 * Batches are built with the writer's internal API, so every value takes
 * exactly the bytes a producer would have written. The encoding is then
 * read back by three independent decoders: libcbor, liblz4's frame API and
 * the lz4 command, and python's cbor2.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cbor.h>
#include <lz4frame.h>

#include "testutil.h"

#include "batch_internal.h"
#include "ingest_internal.h"

/* cbor2 is a Debian package: only the system interpreter sees it. */
#define SYSTEM_PYTHON3 "/usr/bin/python3"

#include "vals.h"

static struct ttlog_batch *new_batch(uint64_t seq)
{
	struct ttlog_batch *b = ttlog__batch_new(64, 1u << 16, seq);
	assert_non_null(b);
	return b;
}

/* Adds one event and empties v for the next. */
static void add_event(struct ttlog_batch *b, struct ttlog_callsite *cs,
		      uint64_t time_ns, uint32_t tid, uint8_t flags,
		      struct vals *v)
{
	/* Never a null source, even for an event without values. */
	const void *p = v->d != NULL ? (const void *)v->d : (const void *)"";

	assert_int_equal(
		ttlog__batch_add(b, cs, time_ns, tid, flags, p, v->len), 0);
	v->len = 0;
}

static const unsigned char *encode(struct ttlog_batch *b,
				   enum ttlog_encoding enc, size_t *len)
{
	const void *data = NULL;
	*len = 0;
	assert_int_equal(ttlog_batch_encode(b, enc, &data, len), 0);
	assert_non_null(data);
	return data;
}

/* ------------------------------------------------------------------ */
/* Reading the encoding back with libcbor                               */
/* ------------------------------------------------------------------ */

/* The whole encoding as one item; trailing bytes fail the test. */
static cbor_item_t *decode_all(const unsigned char *data, size_t len)
{
	struct cbor_load_result res;
	cbor_item_t *item = cbor_load(data, len, &res);

	assert_int_equal(res.error.code, CBOR_ERR_NONE);
	assert_non_null(item);
	assert_int_equal(res.read, len);
	return item;
}

static bool is_text(const cbor_item_t *it, const char *s, size_t n)
{
	return cbor_isa_string(it) && cbor_string_is_definite(it) &&
	       cbor_string_length(it) == n &&
	       (n == 0 || memcmp(cbor_string_handle(it), s, n) == 0);
}

static void assert_text(const cbor_item_t *it, const void *s, size_t n)
{
	assert_true(cbor_isa_string(it));
	assert_true(cbor_string_is_definite(it));
	assert_int_equal(cbor_string_length(it), n);
	if (n > 0)
		assert_memory_equal(cbor_string_handle(it), s, n);
}

static void assert_bytes(const cbor_item_t *it, const void *s, size_t n)
{
	assert_true(cbor_isa_bytestring(it));
	assert_true(cbor_bytestring_is_definite(it));
	assert_int_equal(cbor_bytestring_length(it), n);
	if (n > 0)
		assert_memory_equal(cbor_bytestring_handle(it), s, n);
}

static uint64_t get_uint(const cbor_item_t *it)
{
	assert_true(cbor_isa_uint(it));
	return cbor_get_int(it);
}

static int64_t get_i64(const cbor_item_t *it)
{
	uint64_t n;

	if (cbor_isa_uint(it)) {
		n = cbor_get_int(it);
		assert_true(n <= (uint64_t)INT64_MAX);
		return (int64_t)n;
	}
	assert_true(cbor_isa_negint(it));
	n = cbor_get_int(it); /* the value is -1 - n */
	assert_true(n <= (uint64_t)INT64_MAX);
	return -1 - (int64_t)n;
}

static uint64_t get_f64_bits(const cbor_item_t *it)
{
	double d;
	uint64_t bits;

	assert_true(cbor_isa_float_ctrl(it));
	assert_int_equal(cbor_float_get_width(it), CBOR_FLOAT_64);
	d = cbor_float_get_float8(it);
	memcpy(&bits, &d, sizeof(bits));
	return bits;
}

static cbor_item_t *at(const cbor_item_t *array, size_t i)
{
	assert_true(cbor_isa_array(array));
	assert_true(cbor_array_is_definite(array));
	assert_true(i < cbor_array_size(array));
	return cbor_array_handle(array)[i];
}

/* The value of key in a definite map with text keys; fails when absent. */
static cbor_item_t *member(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *p;

	assert_true(cbor_isa_map(map));
	assert_true(cbor_map_is_definite(map));
	p = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (is_text(p[i].key, key, strlen(key)))
			return p[i].value;
	fail_msg("no key \"%s\" in the batch map", key);
	return NULL;
}

/* Field k of event i: events[i][5 + k]. */
static cbor_item_t *field(const cbor_item_t *root, size_t i, size_t k)
{
	return at(at(member(root, "events"), i), 5 + k);
}

/* Asserts that origin entry o is these six strings and nothing else. */
static void assert_origin(const cbor_item_t *o, const char *const want[6])
{
	assert_true(cbor_isa_array(o));
	assert_int_equal(cbor_array_size(o), 6);
	for (size_t k = 0; k < 6; k++)
		assert_text(at(o, k), want[k], strlen(want[k]));
}

/* ------------------------------------------------------------------ */
/* Wire bytes of one value                                              */
/* ------------------------------------------------------------------ */

static const char *const one_keys[] = {"x"};
static const uint8_t one_i64[] = {TTLOG_TYPE_I64};
static const uint8_t one_u64[] = {TTLOG_TYPE_U64};
static const uint8_t one_f64[] = {TTLOG_TYPE_F64};
static const uint8_t one_bool[] = {TTLOG_TYPE_BOOL};
static const uint8_t one_str[] = {TTLOG_TYPE_STR};
static struct ttlog_callsite cs_one_i64 =
	CALLSITE("one", "t.c", 1, TTLOG_LEVEL_INFO, 1, one_keys, one_i64);
static struct ttlog_callsite cs_one_u64 =
	CALLSITE("one", "t.c", 2, TTLOG_LEVEL_INFO, 1, one_keys, one_u64);
static struct ttlog_callsite cs_one_f64 =
	CALLSITE("one", "t.c", 3, TTLOG_LEVEL_INFO, 1, one_keys, one_f64);
static struct ttlog_callsite cs_one_bool =
	CALLSITE("one", "t.c", 4, TTLOG_LEVEL_INFO, 1, one_keys, one_bool);
static struct ttlog_callsite cs_one_str =
	CALLSITE("one", "t.c", 5, TTLOG_LEVEL_INFO, 1, one_keys, one_str);

/*
 * Encodes a batch of one event with one field and checks that the encoding
 * ends with the flags item (0x00) followed by exactly `want`: the value is
 * the last item of the batch, so this pins its head and payload bytes.
 */
static void assert_value_wire(struct ttlog_callsite *cs, struct vals *v,
			      const unsigned char *want, size_t wantlen)
{
	struct ttlog_batch *b = new_batch(1);
	const unsigned char *enc;
	size_t len;

	add_event(b, cs, 1, 1, 0, v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	assert_true(len > wantlen);
	assert_int_equal(enc[len - wantlen - 1], 0x00);
	assert_memory_equal(enc + len - wantlen, want, wantlen);
	ttlog_batch_unref(b);
}

static void assert_i64_wire(int64_t x, const unsigned char *want,
			    size_t wantlen)
{
	struct vals v = {0};
	vals_i64(&v, x);
	assert_value_wire(&cs_one_i64, &v, want, wantlen);
	vals_free(&v);
}

static void assert_u64_wire(uint64_t x, const unsigned char *want,
			    size_t wantlen)
{
	struct vals v = {0};
	vals_u64(&v, x);
	assert_value_wire(&cs_one_u64, &v, want, wantlen);
	vals_free(&v);
}

#define WIRE(...)                                                              \
	(const unsigned char[]){__VA_ARGS__},                                  \
		sizeof((const unsigned char[]){__VA_ARGS__})

/* ------------------------------------------------------------------ */
/* Running commands on temporary files                                  */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

static const char *const ints_keys[] = {"min", "max", "minus_one", "zero",
					"umax"};
static const uint8_t ints_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_I64,
				     TTLOG_TYPE_I64, TTLOG_TYPE_I64,
				     TTLOG_TYPE_U64};
static struct ttlog_callsite cs_ints = CALLSITE(
	"ints", "ints.c", 10, TTLOG_LEVEL_INFO, 5, ints_keys, ints_types);

static void test_cbor_int64_extremes_round_trip(void **state)
{
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	cbor_item_t *root;
	size_t len;

	(void)state;
	vals_i64(&v, INT64_MIN);
	vals_i64(&v, INT64_MAX);
	vals_i64(&v, -1);
	vals_i64(&v, 0);
	vals_u64(&v, UINT64_MAX);
	add_event(b, &cs_ints, 1, 1, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);

	assert_true(cbor_isa_negint(field(root, 0, 0)));
	assert_true(get_i64(field(root, 0, 0)) == INT64_MIN);
	assert_true(cbor_isa_uint(field(root, 0, 1)));
	assert_true(get_i64(field(root, 0, 1)) == INT64_MAX);
	assert_true(cbor_isa_negint(field(root, 0, 2)));
	assert_true(get_i64(field(root, 0, 2)) == -1);
	assert_true(cbor_isa_uint(field(root, 0, 3)));
	assert_true(get_i64(field(root, 0, 3)) == 0);
	assert_true(get_uint(field(root, 0, 4)) == UINT64_MAX);

	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static void test_cbor_int64_extremes_use_major_types_0_and_1(void **state)
{
	(void)state;
	assert_i64_wire(INT64_MIN, WIRE(0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF,
					0xFF, 0xFF, 0xFF));
	assert_i64_wire(INT64_MAX, WIRE(0x1B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF,
					0xFF, 0xFF, 0xFF));
	assert_i64_wire(-1, WIRE(0x20));
	assert_i64_wire(0, WIRE(0x00));
	assert_u64_wire(UINT64_MAX, WIRE(0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					 0xFF, 0xFF, 0xFF));
}

static void test_cbor_integer_heads_are_shortest(void **state)
{
	(void)state;
	assert_u64_wire(23, WIRE(0x17));
	assert_u64_wire(24, WIRE(0x18, 0x18));
	assert_u64_wire(255, WIRE(0x18, 0xFF));
	assert_u64_wire(256, WIRE(0x19, 0x01, 0x00));
	assert_u64_wire(65535, WIRE(0x19, 0xFF, 0xFF));
	assert_u64_wire(65536, WIRE(0x1A, 0x00, 0x01, 0x00, 0x00));
	assert_u64_wire(UINT32_MAX, WIRE(0x1A, 0xFF, 0xFF, 0xFF, 0xFF));
	assert_u64_wire(
		(uint64_t)UINT32_MAX + 1,
		WIRE(0x1B, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
	assert_i64_wire(24, WIRE(0x18, 0x18));
	assert_i64_wire(-24, WIRE(0x37));
	assert_i64_wire(-25, WIRE(0x38, 0x18));
	assert_i64_wire(-256, WIRE(0x38, 0xFF));
	assert_i64_wire(-257, WIRE(0x39, 0x01, 0x00));
	assert_i64_wire(-65537, WIRE(0x3A, 0x00, 0x01, 0x00, 0x00));
	assert_i64_wire(-(int64_t)UINT32_MAX - 1,
			WIRE(0x3A, 0xFF, 0xFF, 0xFF, 0xFF));
	assert_i64_wire(
		-(int64_t)UINT32_MAX - 2,
		WIRE(0x3B, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
}

static const char *const dbl_keys[] = {"nan",	"nan_payload", "snan_neg",
				       "inf",	"neg_inf",     "neg_zero",
				       "tenth", "denorm_min",  "max"};
static const uint8_t dbl_types[] = {
	TTLOG_TYPE_F64, TTLOG_TYPE_F64, TTLOG_TYPE_F64,
	TTLOG_TYPE_F64, TTLOG_TYPE_F64, TTLOG_TYPE_F64,
	TTLOG_TYPE_F64, TTLOG_TYPE_F64, TTLOG_TYPE_F64};
static struct ttlog_callsite cs_doubles = CALLSITE(
	"doubles", "dbl.c", 20, TTLOG_LEVEL_INFO, 9, dbl_keys, dbl_types);

static void test_cbor_doubles_round_trip_bit_for_bit(void **state)
{
	/* Written as bits so no floating-point operation touches them. */
	static const uint64_t bits[] = {
		0x7FF8000000000000u, /* the default quiet NaN */
		0x7FF800000000BEEFu, /* quiet NaN with a payload */
		0xFFF0000000000001u, /* signalling NaN, sign bit set */
		0x7FF0000000000000u, /* +inf */
		0xFFF0000000000000u, /* -inf */
		0x8000000000000000u, /* -0.0 */
		0x3FB999999999999Au, /* 0.1 */
		0x0000000000000001u, /* 5e-324 */
		0x7FEFFFFFFFFFFFFFu, /* DBL_MAX */
	};
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	cbor_item_t *root;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		vals_f64_bits(&v, bits[i]);
	add_event(b, &cs_doubles, 1, 1, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		uint64_t got = get_f64_bits(field(root, 0, i));
		assert_memory_equal(&got, &bits[i], sizeof(got));
	}
	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static void test_cbor_doubles_are_always_float64(void **state)
{
	struct vals v = {0};

	(void)state;
	/* 1.5 and -0.0 fit a half float; the encoder must not shrink them. */
	vals_f64(&v, 1.5);
	assert_value_wire(
		&cs_one_f64, &v,
		WIRE(0xFB, 0x3F, 0xF8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
	vals_f64_bits(&v, 0x8000000000000000u);
	assert_value_wire(
		&cs_one_f64, &v,
		WIRE(0xFB, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
	vals_f64_bits(&v, 0x7FF800000000BEEFu);
	assert_value_wire(
		&cs_one_f64, &v,
		WIRE(0xFB, 0x7F, 0xF8, 0x00, 0x00, 0x00, 0x00, 0xBE, 0xEF));
	vals_free(&v);
}

static const char *const bool_keys[] = {"yes", "no"};
static const uint8_t bool_types[] = {TTLOG_TYPE_BOOL, TTLOG_TYPE_BOOL};
static struct ttlog_callsite cs_bools = CALLSITE(
	"bools", "bool.c", 30, TTLOG_LEVEL_INFO, 2, bool_keys, bool_types);

static void test_cbor_bools_round_trip(void **state)
{
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	cbor_item_t *root;
	size_t len;

	(void)state;
	vals_bool(&v, true);
	vals_bool(&v, false);
	add_event(b, &cs_bools, 1, 1, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	assert_true(cbor_is_bool(field(root, 0, 0)));
	assert_true(cbor_get_bool(field(root, 0, 0)));
	assert_true(cbor_is_bool(field(root, 0, 1)));
	assert_false(cbor_get_bool(field(root, 0, 1)));
	cbor_decref(&root);
	ttlog_batch_unref(b);

	/* Simple values 21 and 20, one byte each. */
	vals_bool(&v, true);
	assert_value_wire(&cs_one_bool, &v, WIRE(0xF5));
	vals_bool(&v, false);
	assert_value_wire(&cs_one_bool, &v, WIRE(0xF4));
	vals_free(&v);
}

/* Strings: valid UTF-8 comes back as a text string, anything else as a
 * byte string, with identical bytes either way. */
struct str_case {
	const char *s;
	size_t n;
	bool text;
};

/* clang-format off */
#define STR_CASE(lit, text) {lit, sizeof(lit) - 1, text}
/* clang-format on */

static const struct str_case str_cases[] = {
	STR_CASE("", true),
	STR_CASE("a\0b\0\0c", true), /* NUL is valid UTF-8 */
	STR_CASE("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9D\x84\x9E", true),
	STR_CASE("\xF0\x9F\x98\x80", true),	 /* U+1F600 */
	STR_CASE("\xF4\x8F\xBF\xBF", true),	 /* U+10FFFF, the last */
	STR_CASE("\xFF", false),		 /* never valid */
	STR_CASE("abc\xE2\x82", false),		 /* truncated at the end */
	STR_CASE("\xE2\x82x", false),		 /* truncated mid-string */
	STR_CASE("\xC0\xAF", false),		 /* overlong '/' */
	STR_CASE("\xE0\x80\xAF", false),	 /* overlong, 3 bytes */
	STR_CASE("\xED\xA0\x80", false),	 /* surrogate U+D800 */
	STR_CASE("\xF4\x90\x80\x80", false),	 /* U+110000 */
	STR_CASE("\x80", false),		 /* lone continuation */
	STR_CASE("abcdefghijklmnop\xFF", false), /* after 8-byte ASCII runs */
	STR_CASE("abcdefgh\xC3\xA9", true),
	STR_CASE("abcdefg\xFF", false), /* the last of 8 bytes */
};

static const char *const str_keys[] = {"s0",  "s1",  "s2",  "s3", "s4",	 "s5",
				       "s6",  "s7",  "s8",  "s9", "s10", "s11",
				       "s12", "s13", "s14", "s15"};
static const uint8_t str_types[] = {
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR,
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR,
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR,
	TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_strings = CALLSITE(
	"strings", "str.c", 40, TTLOG_LEVEL_INFO, 16, str_keys, str_types);

static void test_cbor_strings_round_trip_as_text_or_bytes(void **state)
{
	const size_t ncases = sizeof(str_cases) / sizeof(str_cases[0]);
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	cbor_item_t *root;
	size_t len;

	(void)state;
	assert_int_equal(ncases, cs_strings.nfields);
	for (size_t i = 0; i < ncases; i++)
		vals_str(&v, str_cases[i].s, str_cases[i].n);
	add_event(b, &cs_strings, 1, 1, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	for (size_t i = 0; i < ncases; i++) {
		const cbor_item_t *it = field(root, 0, i);
		if (str_cases[i].text != cbor_isa_string(it))
			fail_msg("case %zu: expected a %s string", i,
				 str_cases[i].text ? "text" : "byte");
		if (str_cases[i].text)
			assert_text(it, str_cases[i].s, str_cases[i].n);
		else
			assert_bytes(it, str_cases[i].s, str_cases[i].n);
	}
	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static const char *const badcs_keys[] = {"ok", "k\xFF"};
static const uint8_t badcs_types[] = {TTLOG_TYPE_BOOL, TTLOG_TYPE_BOOL};
static struct ttlog_callsite cs_bad_utf8 =
	CALLSITE("bad \xFF msg", "f\xC0\xAF.c", 50, TTLOG_LEVEL_WARN, 2,
		 badcs_keys, badcs_types);

static void test_cbor_callsite_strings_follow_text_or_bytes_rule(void **state)
{
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	const cbor_item_t *cs, *keys;
	cbor_item_t *root;
	size_t len;

	(void)state;
	vals_bool(&v, true);
	vals_bool(&v, false);
	add_event(b, &cs_bad_utf8, 1, 1, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	cs = at(member(root, "callsites"), 0);
	assert_bytes(at(cs, 0), "bad \xFF msg", 9);
	assert_bytes(at(cs, 1), "f\xC0\xAF.c", 5);
	keys = at(cs, 4);
	assert_text(at(keys, 0), "ok", 2);
	assert_bytes(at(keys, 1), "k\xFF", 2);
	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static void test_cbor_string_heads_are_shortest(void **state)
{
	static const struct {
		size_t n;
		unsigned char head[5];
		size_t headlen;
	} cases[] = {
		{23, {0x77}, 1},
		{24, {0x78, 0x18}, 2},
		{255, {0x78, 0xFF}, 2},
		{256, {0x79, 0x01, 0x00}, 3},
		{65535, {0x79, 0xFF, 0xFF}, 3},
		{65536, {0x7A, 0x00, 0x01, 0x00, 0x00}, 5},
	};
	struct vals v = {0};
	unsigned char *want = malloc(5 + 65536);

	(void)state;
	assert_non_null(want);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].n, hl = cases[i].headlen;
		memcpy(want, cases[i].head, hl);
		memset(want + hl, 'a' + (int)i, n);
		vals_str(&v, want + hl, n);
		assert_value_wire(&cs_one_str, &v, want, hl + n);
	}
	/* And a byte string uses major type 2 with the same argument. */
	want[0] = 0x58;
	want[1] = 0x18;
	memset(want + 2, 0xFF, 24);
	vals_str(&v, want + 2, 24);
	assert_value_wire(&cs_one_str, &v, want, 26);
	free(want);
	vals_free(&v);
}

/* ------------------------------------------------------------------ */
/* Batch layout                                                         */
/* ------------------------------------------------------------------ */

static const char *const req_keys[] = {"id", "path"};
static const uint8_t req_types[] = {TTLOG_TYPE_U64, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_req =
	CALLSITE("request done", "src/app.c", 1234, TTLOG_LEVEL_WARN, 2,
		 req_keys, req_types);

static const char *const none_keys[] = {NULL};
static const uint8_t none_types[] = {0};
static struct ttlog_callsite cs_none =
	CALLSITE("no fields", "src/other.c", 7, TTLOG_LEVEL_FATAL, 0, none_keys,
		 none_types);

static void test_cbor_batch_map_has_v_seq_origins_callsites_events(void **state)
{
	static const char *const order[] = {"v", "seq", "origins", "callsites",
					    "events"};
	static const char *const empty[6] = {"", "", "", "", "", ""};
	const uint64_t seq = 0x123456789ull;
	const uint64_t t0 = 1764102698123456789ull;
	struct ttlog_batch *b = new_batch(seq);
	struct vals v = {0};
	const unsigned char *enc;
	const cbor_item_t *css, *cs, *evs, *ev;
	const struct cbor_pair *pairs;
	cbor_item_t *root;
	size_t len;

	(void)state;
	vals_u64(&v, 77);
	vals_str(&v, "/x", 2);
	add_event(b, &cs_req, t0, 4242, 0, &v);
	add_event(b, &cs_none, t0 + 1, 0xFFFFFFFFu, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);

	/* A definite map of five text keys, in this order. */
	assert_true(cbor_isa_map(root));
	assert_true(cbor_map_is_definite(root));
	assert_int_equal(cbor_map_size(root), 5);
	pairs = cbor_map_handle(root);
	for (size_t i = 0; i < 5; i++)
		assert_true(is_text(pairs[i].key, order[i], strlen(order[i])));
	assert_int_equal(get_uint(member(root, "v")), 3);
	assert_true(get_uint(member(root, "seq")) == seq);

	/* origins: the process's own, empty before ttlog_init(). */
	assert_int_equal(cbor_array_size(member(root, "origins")), 1);
	assert_origin(at(member(root, "origins"), 0), empty);

	/* callsites: [msg, file, line, level, [keys...]] */
	css = member(root, "callsites");
	assert_int_equal(cbor_array_size(css), 2);
	cs = at(css, 0);
	assert_int_equal(cbor_array_size(cs), 5);
	assert_text(at(cs, 0), "request done", 12);
	assert_text(at(cs, 1), "src/app.c", 9);
	assert_int_equal(get_uint(at(cs, 2)), 1234);
	assert_int_equal(get_uint(at(cs, 3)), TTLOG_LEVEL_WARN);
	assert_int_equal(cbor_array_size(at(cs, 4)), 2);
	assert_text(at(at(cs, 4), 0), "id", 2);
	assert_text(at(at(cs, 4), 1), "path", 4);
	cs = at(css, 1);
	assert_int_equal(cbor_array_size(cs), 5);
	assert_text(at(cs, 0), "no fields", 9);
	assert_text(at(cs, 1), "src/other.c", 11);
	assert_int_equal(get_uint(at(cs, 2)), 7);
	assert_int_equal(get_uint(at(cs, 3)), TTLOG_LEVEL_FATAL);
	assert_true(cbor_isa_array(at(cs, 4)));
	assert_int_equal(cbor_array_size(at(cs, 4)), 0);

	/* events: [time_ns, tid, callsite, flags, origin, values...] */
	evs = member(root, "events");
	assert_int_equal(cbor_array_size(evs), 2);
	ev = at(evs, 0);
	assert_int_equal(cbor_array_size(ev), 5 + 2);
	assert_true(get_uint(at(ev, 0)) == t0);
	assert_int_equal(get_uint(at(ev, 1)), 4242);
	assert_int_equal(get_uint(at(ev, 2)), 0);
	assert_int_equal(get_uint(at(ev, 3)), 0);
	assert_int_equal(get_uint(at(ev, 4)), 0);
	assert_int_equal(get_uint(at(ev, 5)), 77);
	assert_text(at(ev, 6), "/x", 2);
	ev = at(evs, 1);
	assert_int_equal(cbor_array_size(ev), 5);
	assert_true(get_uint(at(ev, 0)) == t0 + 1);
	assert_int_equal(get_uint(at(ev, 1)), 0xFFFFFFFFu);
	assert_int_equal(get_uint(at(ev, 2)), 1);
	assert_int_equal(get_uint(at(ev, 3)), 0);
	assert_int_equal(get_uint(at(ev, 4)), 0);

	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static void test_cbor_empty_batch_has_empty_arrays(void **state)
{
	/* clang-format off */
	static const unsigned char want[] = {
		0xA5, 0x61, 'v', 0x03, 0x63, 's', 'e', 'q', 0x18, 0x2A,
		0x67, 'o', 'r', 'i', 'g', 'i', 'n', 's', 0x80,
		0x69, 'c', 'a', 'l', 'l', 's', 'i', 't', 'e', 's', 0x80,
		0x66, 'e', 'v', 'e', 'n', 't', 's', 0x80,
	};
	/* clang-format on */
	struct ttlog_batch *b = new_batch(42);
	const unsigned char *enc;
	size_t len;

	(void)state;
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(enc, want, sizeof(want));
	ttlog_batch_unref(b);
}

static void test_cbor_callsite_table_lists_each_callsite_once(void **state)
{
	static const struct ttlog_callsite *const by_event[] = {
		&cs_req, &cs_req, &cs_none, &cs_req, &cs_none};
	static const uint64_t want_index[] = {0, 0, 1, 0, 1};
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	const cbor_item_t *css, *evs;
	cbor_item_t *root;
	size_t len;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		if (by_event[i] == &cs_req) {
			vals_u64(&v, i);
			vals_str(&v, "p", 1);
			add_event(b, &cs_req, i, 1, 0, &v);
		} else {
			add_event(b, &cs_none, i, 1, 0, &v);
		}
	}
	assert_int_equal(ttlog_batch_callsites(b), 2);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	css = member(root, "callsites");
	assert_int_equal(cbor_array_size(css), 2);
	assert_text(at(at(css, 0), 0), "request done", 12);
	assert_text(at(at(css, 1), 0), "no fields", 9);
	evs = member(root, "events");
	assert_int_equal(cbor_array_size(evs), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(get_uint(at(at(evs, i), 2)), want_index[i]);
		assert_int_equal(get_uint(at(at(evs, i), 0)), i);
	}
	assert_int_equal(get_uint(at(at(evs, 3), 5)), 3);
	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static void test_cbor_truncated_event_carries_flag_1(void **state)
{
	struct ttlog_batch *b = new_batch(1);
	struct vals v = {0};
	const unsigned char *enc;
	const cbor_item_t *evs;
	cbor_item_t *root;
	size_t len;

	(void)state;
	vals_u64(&v, 1);
	vals_str(&v, "whole", 5);
	add_event(b, &cs_req, 1, 1, 0, &v);
	vals_u64(&v, 2);
	vals_str(&v, "cut sh", 6);
	add_event(b, &cs_req, 2, 1, TTLOG_EVENT_TRUNCATED, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	evs = member(root, "events");
	assert_int_equal(get_uint(at(at(evs, 0), 3)), 0);
	assert_int_equal(get_uint(at(at(evs, 1), 3)), 1);
	assert_text(at(at(evs, 1), 6), "cut sh", 6);
	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

/* The worked example of docs/cbor-batch.md, byte for byte. */
static const char *const tiny_keys[] = {"n", "x", "s", "ok"};
static const uint8_t tiny_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_F64,
				     TTLOG_TYPE_STR, TTLOG_TYPE_BOOL};
static struct ttlog_callsite cs_tiny =
	CALLSITE("hi", "a.c", 3, TTLOG_LEVEL_INFO, 4, tiny_keys, tiny_types);

static void test_cbor_tiny_batch_matches_documented_bytes(void **state)
{
	/* clang-format off */
	static const unsigned char want[] = {
		0xA5,                                     /* map(5) */
		0x61, 0x76, 0x03,                         /* "v": 3 */
		0x63, 0x73, 0x65, 0x71, 0x07,             /* "seq": 7 */
		0x67, 0x6F, 0x72, 0x69, 0x67, 0x69, 0x6E, /* "origins" */
		0x73,
		0x81, 0x86,                               /* [[ */
		0x60, 0x60, 0x60, 0x60, 0x60, 0x60,       /* "" x 6]] */
		0x69, 0x63, 0x61, 0x6C, 0x6C, 0x73, 0x69, /* "callsites" */
		0x74, 0x65, 0x73,
		0x81, 0x85,                               /* [[ */
		0x62, 0x68, 0x69,                         /* "hi" */
		0x63, 0x61, 0x2E, 0x63,                   /* "a.c" */
		0x03, 0x02,                               /* line 3, INFO */
		0x84, 0x61, 0x6E, 0x61, 0x78,             /* ["n", "x", */
		0x61, 0x73, 0x62, 0x6F, 0x6B,             /* "s", "ok"]] */
		0x66, 0x65, 0x76, 0x65, 0x6E, 0x74, 0x73, /* "events" */
		0x81, 0x89,                               /* [[ */
		0x1B, 0x17, 0x97, 0x9C, 0xFE,             /* time_ns */
		0x3D, 0x85, 0xCD, 0x15,
		0x18, 0x2A,                               /* tid 42 */
		0x00, 0x00,                               /* callsite, flags */
		0x00,                                     /* origin */
		0x21,                                     /* -2 */
		0xFB, 0x3F, 0xF8, 0x00, 0x00,             /* 1.5 */
		0x00, 0x00, 0x00, 0x00,
		0x41, 0xFF,                               /* h'FF' */
		0xF5,                                     /* true]] */
	};
	/* clang-format on */
	struct ttlog_batch *b = new_batch(7);
	struct vals v = {0};
	const unsigned char *enc;
	size_t len;

	(void)state;
	vals_i64(&v, -2);
	vals_f64(&v, 1.5);
	vals_str(&v, "\xFF", 1);
	vals_bool(&v, true);
	add_event(b, &cs_tiny, 1700000000123456789ull, 42, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(enc, want, sizeof(want));
	ttlog_batch_unref(b);
	vals_free(&v);
}

/* ------------------------------------------------------------------ */
/* LZ4                                                                  */
/* ------------------------------------------------------------------ */

static const char *const big_keys[] = {"i", "blob", "d"};
static const uint8_t big_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_STR,
				    TTLOG_TYPE_F64};
static struct ttlog_callsite cs_big =
	CALLSITE("big", "big.c", 60, TTLOG_LEVEL_DEBUG, 3, big_keys, big_types);

/* A batch whose CBOR is larger than one 256 KiB LZ4 block, so the frame
 * has several blocks, made of runs of 8 random bytes so that LZ4 has work
 * to do but cannot shrink it to almost nothing. */
static struct ttlog_batch *big_batch(void)
{
	enum { NEVENTS = 6, BLOB = 60000 };
	struct ttlog_batch *b = ttlog__batch_new(NEVENTS, 1u << 20, 9);
	unsigned char *blob = malloc(BLOB);
	struct vals v = {0};
	uint64_t x = 88172645463325252ull;

	assert_non_null(b);
	assert_non_null(blob);
	for (int i = 0; i < NEVENTS; i++) {
		for (size_t k = 0; k < BLOB; k++) {
			if (k % 8 == 0) { /* xorshift64 */
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
			}
			blob[k] = (unsigned char)x;
		}
		vals_i64(&v, -i);
		vals_str(&v, blob, BLOB);
		vals_f64(&v, i * 0.25);
		add_event(b, &cs_big, (uint64_t)i, 1, 0, &v);
	}
	free(blob);
	vals_free(&v);
	return b;
}

static void test_cbor_lz4_frame_decompresses_to_the_cbor_bytes(void **state)
{
	struct ttlog_batch *b = big_batch();
	const unsigned char *cbor, *lz;
	size_t cbor_len, lz_len, hdr, pos, outpos = 0, r = 1;
	LZ4F_dctx *dctx = NULL;
	LZ4F_frameInfo_t info;
	unsigned char *out;

	(void)state;
	cbor = encode(b, TTLOG_ENCODING_CBOR, &cbor_len);
	lz = encode(b, TTLOG_ENCODING_CBOR_LZ4, &lz_len);
	assert_true(cbor_len > 256 * 1024);
	assert_true(lz_len < cbor_len);

	assert_false(LZ4F_isError(
		LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
	memset(&info, 0, sizeof(info));
	hdr = lz_len;
	assert_false(LZ4F_isError(LZ4F_getFrameInfo(dctx, &info, lz, &hdr)));
	assert_true(info.contentSize == cbor_len);
	assert_int_equal(info.contentChecksumFlag, LZ4F_contentChecksumEnabled);
	assert_int_equal(info.blockSizeID, LZ4F_max256KB);
	assert_int_equal(info.frameType, LZ4F_frame);

	/* One byte of spare room so that extra output would show. */
	out = malloc(cbor_len + 1);
	assert_non_null(out);
	pos = hdr;
	while (pos < lz_len) {
		size_t dst = cbor_len + 1 - outpos, src = lz_len - pos;
		r = LZ4F_decompress(dctx, out + outpos, &dst, lz + pos, &src,
				    NULL);
		assert_false(LZ4F_isError(r));
		pos += src;
		outpos += dst;
		if (r == 0)
			break;
	}
	assert_int_equal(r, 0);	       /* the frame ended, checksum verified */
	assert_int_equal(pos, lz_len); /* and nothing follows it */
	assert_int_equal(outpos, cbor_len);
	assert_memory_equal(out, cbor, cbor_len);
	free(out);
	LZ4F_freeDecompressionContext(dctx);
	ttlog_batch_unref(b);
}

static void test_cbor_lz4_frame_is_read_by_the_lz4_command(void **state)
{
	struct ttlog_batch *b = big_batch();
	const unsigned char *cbor, *lz;
	size_t cbor_len, lz_len, out_len;
	char path[] = "/tmp/ttlog-cbor-lz4-XXXXXX";
	char cmd[128];
	char *out;
	int status;

	(void)state;
	cbor = encode(b, TTLOG_ENCODING_CBOR, &cbor_len);
	lz = encode(b, TTLOG_ENCODING_CBOR_LZ4, &lz_len);
	write_temp(path, lz, lz_len);
	snprintf(cmd, sizeof(cmd), "lz4 -dc %s", path);
	out = run_capture(cmd, &out_len, &status);
	unlink(path);
	assert_int_equal(status, 0);
	assert_int_equal(out_len, cbor_len);
	assert_memory_equal(out, cbor, cbor_len);
	free(out);
	ttlog_batch_unref(b);
}

static void test_cbor_encode_is_computed_once_and_shared(void **state)
{
	struct ttlog_batch *b = new_batch(3);
	struct vals v = {0};
	const unsigned char *c1, *c2, *c3, *l1, *l2;
	size_t n1, n2, n3, m1, m2;

	(void)state;
	vals_u64(&v, 5);
	vals_str(&v, "/shared", 7);
	add_event(b, &cs_req, 1, 1, 0, &v);
	/* LZ4 first: it computes the CBOR it compresses, which later CBOR
	 * requests must get, not a second copy. */
	l1 = encode(b, TTLOG_ENCODING_CBOR_LZ4, &m1);
	c1 = encode(b, TTLOG_ENCODING_CBOR, &n1);
	l2 = encode(b, TTLOG_ENCODING_CBOR_LZ4, &m2);
	c2 = encode(b, TTLOG_ENCODING_CBOR, &n2);
	assert_ptr_equal(c1, c2);
	assert_int_equal(n1, n2);
	assert_ptr_equal(l1, l2);
	assert_int_equal(m1, m2);
	assert_ptr_not_equal(c1, l1);
	/* Each encoding is held, and counted, exactly once: 19 bytes of
	 * values (8 + 4 + 7), one event, the CBOR and the LZ4 frame. */
	assert_int_equal(ttlog__batch_bytes(b),
			 19 + sizeof(struct ttlog__event) + n1 + m1);
	/* A second reference sees the same bytes. */
	ttlog_batch_ref(b);
	c3 = encode(b, TTLOG_ENCODING_CBOR, &n3);
	assert_ptr_equal(c3, c1);
	assert_int_equal(n3, n1);
	ttlog_batch_unref(b);
	ttlog_batch_unref(b);
	vals_free(&v);
}

/* ------------------------------------------------------------------ */
/* python3 cbor2                                                        */
/* ------------------------------------------------------------------ */

static const char *const py_keys[] = {"min", "umax", "neg_zero", "half",
				      "yes", "name", "raw",	 "empty"};
static const uint8_t py_types[] = {
	TTLOG_TYPE_I64,	 TTLOG_TYPE_U64, TTLOG_TYPE_F64, TTLOG_TYPE_F64,
	TTLOG_TYPE_BOOL, TTLOG_TYPE_STR, TTLOG_TYPE_STR, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_py =
	CALLSITE("caf\xC3\xA9 open", "py.c", 70, TTLOG_LEVEL_ERROR, 8, py_keys,
		 py_types);

/* Loads the file with cbor2, insists that the item uses every byte, and
 * prints values with ascii() so the output does not depend on a locale. */
static const char cbor2_script[] =
	"import io, sys, cbor2\n"
	"data = open(sys.argv[1], \"rb\").read()\n"
	"f = io.BytesIO(data)\n"
	"obj = cbor2.CBORDecoder(f).decode()\n"
	"assert f.tell() == len(data), \"trailing bytes\"\n"
	"print(sorted(obj.keys()) == [\"callsites\", \"events\", \"origins\", "
	"\"seq\", \"v\"], obj[\"v\"], obj[\"seq\"])\n"
	"print(len(obj[\"callsites\"]), len(obj[\"events\"]))\n"
	"for o in obj[\"origins\"]:\n"
	"    print(ascii(o))\n"
	"print(ascii(obj[\"callsites\"][0]))\n"
	"for e in obj[\"events\"]:\n"
	"    print(\" \".join(ascii(x) for x in e))\n";

static void test_cbor_python_cbor2_reads_batch(void **state)
{
	static const char want[] =
		"True 3 18446744073709551615\n"
		"2 3\n"
		"['', '', '', '', '', '']\n"
		"['caf\\xe9 open', 'py.c', 70, 4, ['min', 'umax', 'neg_zero', "
		"'half', 'yes', 'name', 'raw', 'empty']]\n"
		"1 7 0 0 0 -9223372036854775808 18446744073709551615 -0.0 0.5 "
		"True 'h\\xe9' b'\\xff\\x00' ''\n"
		"2 7 1 1 0 True\n"
		"3 7 0 0 0 -1 0 1e+300 -inf False '' b'\\xc0\\xaf' 'x'\n";
	static const char *const one_key[] = {"ok"};
	static const uint8_t one_type[] = {TTLOG_TYPE_BOOL};
	static struct ttlog_callsite cs_py2 = CALLSITE(
		"second", "py.c", 71, TTLOG_LEVEL_INFO, 1, one_key, one_type);
	struct ttlog_batch *b = new_batch(UINT64_MAX);
	struct vals v = {0};
	const unsigned char *enc;
	char path[] = "/tmp/ttlog-cbor2-XXXXXX";
	char *cmd, *out;
	size_t len, out_len, cmd_len;
	int status;

	(void)state;
	vals_i64(&v, INT64_MIN);
	vals_u64(&v, UINT64_MAX);
	vals_f64_bits(&v, 0x8000000000000000u);
	vals_f64(&v, 0.5);
	vals_bool(&v, true);
	vals_str(&v, "h\xC3\xA9", 3);
	vals_str(&v, "\xFF\x00", 2);
	vals_str(&v, "", 0);
	add_event(b, &cs_py, 1, 7, 0, &v);
	vals_bool(&v, true);
	add_event(b, &cs_py2, 2, 7, TTLOG_EVENT_TRUNCATED, &v);
	vals_i64(&v, -1);
	vals_u64(&v, 0);
	vals_f64(&v, 1e300);
	vals_f64_bits(&v, 0xFFF0000000000000u);
	vals_bool(&v, false);
	vals_str(&v, "", 0);
	vals_str(&v, "\xC0\xAF", 2);
	vals_str(&v, "x", 1);
	add_event(b, &cs_py, 3, 7, 0, &v);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);

	write_temp(path, enc, len);
	cmd_len = sizeof(cbor2_script) + sizeof(path) + 64;
	cmd = malloc(cmd_len);
	assert_non_null(cmd);
	snprintf(cmd, cmd_len, "%s -c '%s' %s", SYSTEM_PYTHON3, cbor2_script,
		 path);
	out = run_capture(cmd, &out_len, &status);
	unlink(path);
	assert_int_equal(status, 0);
	assert_string_equal(out, want);
	free(out);
	free(cmd);
	ttlog_batch_unref(b);
	vals_free(&v);
}

/* ------------------------------------------------------------------ */
/* Events that carry their own message (since version 2)                */
/* ------------------------------------------------------------------ */

/* A syslog-like ingested event: its message varies, keys "host", "n".
 * origin: the event's (NULL: the process's own). */
static void add_varying_o(struct ttlog_batch *b, int level, const char *msg,
			  size_t msg_len, uint64_t n, int varies,
			  struct ttlog__origin *origin)
{
	struct ttlog__in_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.origin = origin;
	ev.level = level;
	ev.msg = msg;
	ev.msg_len = msg_len;
	ev.msg_varies = varies;
	ev.source = "syslog";
	ev.time_ns = 1000 + n;
	ev.fields[0].key = "host";
	ev.fields[0].key_len = 4;
	ev.fields[0].type = TTLOG_TYPE_STR;
	ev.fields[0].v.str.ptr = "db1";
	ev.fields[0].v.str.len = 3;
	ev.fields[1].key = "n";
	ev.fields[1].key_len = 1;
	ev.fields[1].type = TTLOG_TYPE_U64;
	ev.fields[1].v.u64 = n;
	ev.nfields = 2;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 9, 1, 4096), 0);
}

static void add_varying(struct ttlog_batch *b, int level, const char *msg,
			size_t msg_len, uint64_t n, int varies)
{
	add_varying_o(b, level, msg, msg_len, n, varies, NULL);
}

static void test_cbor_events_carry_their_own_message(void **state)
{
	struct ttlog_batch *b = new_batch(3);
	const unsigned char *enc;
	cbor_item_t *root, *sites, *events, *e;
	size_t len;
	(void)state;

	add_varying(b, TTLOG_LEVEL_INFO, "disk 1 full", 11, 0, 1);
	add_varying(b, TTLOG_LEVEL_INFO, "disk 2 full", 11, 1, 1);
	add_varying(b, TTLOG_LEVEL_INFO, "constant", 8, 2, 0);
	add_varying(b, TTLOG_LEVEL_INFO, "bad \xFF", 5, 3, 1);
	/* Two messages, one shape: one call site, and one for "constant". */
	assert_int_equal(ttlog_batch_callsites(b), 2);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	assert_int_equal(cbor_map_size(root), 5);
	assert_true(is_text(cbor_map_handle(root)[0].key, "v", 1));
	assert_int_equal(get_uint(cbor_map_handle(root)[0].value), 3);
	sites = cbor_map_handle(root)[3].value;
	events = cbor_map_handle(root)[4].value;
	assert_int_equal(cbor_array_size(sites), 2);
	assert_text(at(at(sites, 0), 0), "", 0);
	assert_text(at(at(sites, 1), 0), "constant", 8);
	assert_int_equal(cbor_array_size(events), 4);
	e = at(events, 0);
	assert_int_equal(cbor_array_size(e), 5 + 1 + 2);
	assert_int_equal(get_uint(at(e, 2)), 0);
	assert_int_equal(get_uint(at(e, 3)), 2);
	assert_int_equal(get_uint(at(e, 4)), 0);
	assert_text(at(e, 5), "disk 1 full", 11);
	assert_text(at(e, 6), "db1", 3);
	assert_int_equal(get_uint(at(e, 7)), 0);
	assert_text(at(at(events, 1), 5), "disk 2 full", 11);
	e = at(events, 2); /* the call site's message: no flag, no item */
	assert_int_equal(cbor_array_size(e), 5 + 2);
	assert_int_equal(get_uint(at(e, 2)), 1);
	assert_int_equal(get_uint(at(e, 3)), 0);
	assert_text(at(e, 5), "db1", 3);
	/* Not UTF-8: a byte string, every byte kept. */
	assert_bytes(at(at(events, 3), 5), "bad \xFF", 5);
	cbor_decref(&root);
	ttlog_batch_unref(b);

	/* Only call-site messages: version 3 all the same (a version-1 or
	 * version-2 reader refuses it by its number). */
	b = new_batch(4);
	add_varying(b, TTLOG_LEVEL_INFO, "constant", 8, 0, 0);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	assert_int_equal(get_uint(cbor_map_handle(root)[0].value), 3);
	cbor_decref(&root);
	ttlog_batch_unref(b);
}

/* ------------------------------------------------------------------ */
/* Version 3: the origins table                                         */
/* ------------------------------------------------------------------ */

/* Events of two origins, added by both paths (ttlog__batch_add_o and an
 * ingested event's origin): one table entry per origin, in order of first
 * use, and each event the index of its own. */
static void test_cbor_origins_table_lists_each_origin_once(void **state)
{
	static const char *const want_a[6] = {
		"web-1", "billing", "native", "10.0.0.7:4242", "cn=web-1", ""};
	static const char *const want_b[6] = {"db-2", "",	   "syslog",
					      "",     "h\xC3\xA9", "10.0.0.1"};
	static const uint64_t want_index[] = {0, 1, 0, 1};
	struct ttlog__origin *a, *o2;
	struct ttlog_batch *b = new_batch(5);
	struct vals v = {0};
	const unsigned char *enc;
	const cbor_item_t *origins, *evs;
	cbor_item_t *root;
	size_t len;
	(void)state;

	a = ttlog__origin_make("web-1", "billing", "native", "10.0.0.7:4242",
			       "cn=web-1", NULL);
	o2 = ttlog__origin_make("db-2", NULL, "syslog", NULL, "h\xC3\xA9",
				"10.0.0.1");
	assert_non_null(a);
	assert_non_null(o2);
	vals_u64(&v, 1);
	vals_str(&v, "/a", 2);
	assert_int_equal(ttlog__batch_add_o(b, &cs_req, a, 1, 1, 0, v.d, v.len),
			 0);
	v.len = 0;
	add_varying_o(b, TTLOG_LEVEL_WARN, "from b", 6, 1, 1, o2);
	add_varying_o(b, TTLOG_LEVEL_WARN, "from a", 6, 2, 1, a);
	add_varying_o(b, TTLOG_LEVEL_WARN, "b again", 7, 3, 1, o2);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	root = decode_all(enc, len);
	origins = member(root, "origins");
	assert_int_equal(cbor_array_size(origins), 2);
	assert_origin(at(origins, 0), want_a);
	assert_origin(at(origins, 1), want_b);
	evs = member(root, "events");
	assert_int_equal(cbor_array_size(evs), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(get_uint(at(at(evs, i), 4)), want_index[i]);
	/* The batch holds its own references: the encoding outlives ours. */
	ttlog__origin_unref(a);
	ttlog__origin_unref(o2);
	assert_string_equal(ttlog_batch_origin(b, 3)->relay, "10.0.0.1");
	cbor_decref(&root);
	ttlog_batch_unref(b);
	vals_free(&v);
}

static void test_cbor_python_cbor2_reads_own_messages_and_origins(void **state)
{
	static const char want[] =
		"True 3 7\n"
		"1 3\n"
		"['', '', '', '', '', '']\n"
		"['web-1', 'billing', 'native', '', '', 'r\\xe9lay']\n"
		"['', 'syslog', 0, 3, ['host', 'n']]\n"
		"1000 9 0 2 0 'w\\xe9 1' 'db1' 0\n"
		"1001 9 0 2 1 'w\\xe9 2' 'db1' 1\n"
		"1002 9 0 2 0 'w\\xe9 3' 'db1' 2\n";
	struct ttlog_batch *b = new_batch(7);
	struct ttlog__origin *o;
	const unsigned char *enc;
	char path[] = "/tmp/ttlog-cbor2-XXXXXX";
	char *cmd, *out;
	size_t len, out_len, cmd_len;
	int status;
	(void)state;

	o = ttlog__origin_make("web-1", "billing", "native", NULL, NULL,
			       "r\xC3\xA9lay");
	assert_non_null(o);
	add_varying(b, TTLOG_LEVEL_WARN, "w\xC3\xA9 1", 5, 0, 1);
	add_varying_o(b, TTLOG_LEVEL_WARN, "w\xC3\xA9 2", 5, 1, 1, o);
	add_varying(b, TTLOG_LEVEL_WARN, "w\xC3\xA9 3", 5, 2, 1);
	ttlog__origin_unref(o);
	enc = encode(b, TTLOG_ENCODING_CBOR, &len);
	write_temp(path, enc, len);
	cmd_len = sizeof(cbor2_script) + sizeof(path) + 64;
	cmd = malloc(cmd_len);
	assert_non_null(cmd);
	snprintf(cmd, cmd_len, "%s -c '%s' %s", SYSTEM_PYTHON3, cbor2_script,
		 path);
	out = run_capture(cmd, &out_len, &status);
	unlink(path);
	assert_int_equal(status, 0);
	assert_string_equal(out, want);
	free(out);
	free(cmd);
	ttlog_batch_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cbor_int64_extremes_round_trip),
		cmocka_unit_test(
			test_cbor_int64_extremes_use_major_types_0_and_1),
		cmocka_unit_test(test_cbor_integer_heads_are_shortest),
		cmocka_unit_test(test_cbor_doubles_round_trip_bit_for_bit),
		cmocka_unit_test(test_cbor_doubles_are_always_float64),
		cmocka_unit_test(test_cbor_bools_round_trip),
		cmocka_unit_test(test_cbor_strings_round_trip_as_text_or_bytes),
		cmocka_unit_test(
			test_cbor_callsite_strings_follow_text_or_bytes_rule),
		cmocka_unit_test(test_cbor_string_heads_are_shortest),
		cmocka_unit_test(
			test_cbor_batch_map_has_v_seq_origins_callsites_events),
		cmocka_unit_test(test_cbor_empty_batch_has_empty_arrays),
		cmocka_unit_test(
			test_cbor_callsite_table_lists_each_callsite_once),
		cmocka_unit_test(test_cbor_truncated_event_carries_flag_1),
		cmocka_unit_test(test_cbor_tiny_batch_matches_documented_bytes),
		cmocka_unit_test(
			test_cbor_lz4_frame_decompresses_to_the_cbor_bytes),
		cmocka_unit_test(
			test_cbor_lz4_frame_is_read_by_the_lz4_command),
		cmocka_unit_test(test_cbor_encode_is_computed_once_and_shared),
		cmocka_unit_test(test_cbor_python_cbor2_reads_batch),
		cmocka_unit_test(test_cbor_events_carry_their_own_message),
		cmocka_unit_test(
			test_cbor_origins_table_lists_each_origin_once),
		cmocka_unit_test(
			test_cbor_python_cbor2_reads_own_messages_and_origins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
