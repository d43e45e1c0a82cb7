/*
 * test_wire.c - the native protocol codec (wire/wire.h,
 * docs/native-protocol.md): framing, every message's encoding and parsing,
 * the limits, and decoding DATA payloads that the library itself encoded
 * back into events.
 *
 * Payload tests build real batches (ttlog__batch_add, ttlog__batch_add_in)
 * and encode them with ttlog_batch_encode(), so the decoder is checked
 * against the encoder that senders run. Hand-made CBOR covers what the
 * encoder never writes (other key orders, short floats, bad input).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lz4frame.h>

#include "testutil.h"

#include "batch_internal.h"
#include "ingest_internal.h"
#include "vals.h"
#include "wire.h"
#include "wire_payload.h"

#define MAX_DECODED (64u << 20)

/* ------------------------------------------------------------------ */
/* A CBOR writer for hand-made input                                    */
/* ------------------------------------------------------------------ */

struct cb {
	unsigned char *d;
	size_t n, cap;
};

static void cb_raw(struct cb *b, const void *p, size_t n)
{
	if (b->cap - b->n < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->n < n)
			cap *= 2;
		b->d = realloc(b->d, cap);
		assert_non_null(b->d);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void cb_byte(struct cb *b, unsigned char c)
{
	cb_raw(b, &c, 1);
}

static void cb_head(struct cb *b, unsigned mt, uint64_t v)
{
	unsigned char h[9];
	size_t n;

	if (v < 24) {
		h[0] = (unsigned char)(mt << 5 | v);
		n = 1;
	} else if (v <= 0xFF) {
		h[0] = (unsigned char)(mt << 5 | 24);
		n = 2;
	} else if (v <= 0xFFFF) {
		h[0] = (unsigned char)(mt << 5 | 25);
		n = 3;
	} else if (v <= 0xFFFFFFFFu) {
		h[0] = (unsigned char)(mt << 5 | 26);
		n = 5;
	} else {
		h[0] = (unsigned char)(mt << 5 | 27);
		n = 9;
	}
	for (size_t i = 1; i < n; i++)
		h[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	cb_raw(b, h, n);
}

static void cb_uint(struct cb *b, uint64_t v)
{
	cb_head(b, 0, v);
}

static void cb_text(struct cb *b, const char *s)
{
	cb_head(b, 3, strlen(s));
	cb_raw(b, s, strlen(s));
}

static void cb_bytes(struct cb *b, const void *p, size_t n)
{
	cb_head(b, 2, n);
	cb_raw(b, p, n);
}

static void cb_free(struct cb *b)
{
	free(b->d);
	memset(b, 0, sizeof(*b));
}

/* An exact-size heap copy, so that ASan and valgrind see any read past
 * the end. */
static unsigned char *dup_exact(const void *p, size_t n)
{
	unsigned char *q = malloc(n ? n : 1);
	assert_non_null(q);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/* ------------------------------------------------------------------ */
/* Framing                                                              */
/* ------------------------------------------------------------------ */

static void test_header_layout(void **state)
{
	unsigned char h[TTLOG_WIRE_HDR];
	(void)state;

	ttlog__wire_put_header(h, TTLOG_WIRE_DATA, 0x01020304);
	assert_memory_equal(h, "\x01\x02\x03\x05\x02", 5);
	ttlog__wire_put_header(h, 0x40, 0);
	assert_memory_equal(h, "\x00\x00\x00\x01\x40", 5);
}

/* A stream of one of each message, and what each one is. */
struct stream {
	unsigned char d[4096];
	size_t n;
	uint8_t types[8];
	size_t ends[8];
	int count;
};

static void stream_add(struct stream *s, const void *p, size_t n)
{
	assert_true(n <= sizeof(s->d) - s->n);
	memcpy(s->d + s->n, p, n);
	s->types[s->count] = ((const unsigned char *)p)[4];
	s->n += n;
	s->ends[s->count++] = s->n;
}

static struct ttlog__wire_hello sample_hello(void)
{
	struct ttlog__wire_hello h;

	memset(&h, 0, sizeof(h));
	h.version_min = 1;
	h.version_max = 3;
	h.role = TTLOG_WIRE_SENDER;
	for (int i = 0; i < TTLOG_WIRE_ID_LEN; i++)
		h.id[i] = (uint8_t)(0xA0 + i);
	strcpy(h.service, "checkout");
	strcpy(h.host, "web-1.example.com");
	strcpy(h.software, "ttlog 0.1.0");
	h.max_frame = 16u << 20;
	h.heartbeat_ms = 10000;
	return h;
}

static void make_stream(struct stream *s)
{
	struct ttlog__wire_hello h = sample_hello();
	unsigned char buf[TTLOG_WIRE_HELLO_CAP];
	unsigned char data[TTLOG_WIRE_DATA_PREFIX + 3];
	size_t n;

	memset(s, 0, sizeof(*s));
	n = ttlog__wire_hello_encode(&h, buf, sizeof(buf));
	assert_true(n > 0);
	stream_add(s, buf, n);
	ttlog__wire_data_prefix(data, 7, TTLOG_WIRE_DATA_LZ4, 2, 3);
	memcpy(data + TTLOG_WIRE_DATA_PREFIX, "abc", 3);
	stream_add(s, data, sizeof(data));
	ttlog__wire_ack_encode(buf, 7);
	stream_add(s, buf, TTLOG_WIRE_U64_MSG);
	ttlog__wire_heartbeat_encode(buf, 99);
	stream_add(s, buf, TTLOG_WIRE_U64_MSG);
	/* An ignorable type with an empty body. */
	ttlog__wire_put_header(buf, 0x41, 0);
	stream_add(s, buf, TTLOG_WIRE_HDR);
	n = ttlog__wire_close_encode(buf, sizeof(buf), TTLOG_WIRE_CLOSE_NORMAL,
				     "bye");
	stream_add(s, buf, n);
}

/* Checks message k of the stream as framed by ttlog__wire_next. */
static void check_msg(const struct stream *s, int k,
		      const struct ttlog__wire_msg *m, size_t used)
{
	size_t start = k ? s->ends[k - 1] : 0;

	assert_int_equal(m->type, s->types[k]);
	assert_int_equal(used, s->ends[k] - start);
	assert_int_equal(m->len, used - TTLOG_WIRE_HDR);
	assert_ptr_equal(m->body, s->d + start + TTLOG_WIRE_HDR);
}

static void test_next_frames_every_message(void **state)
{
	struct stream s;
	struct ttlog__wire_msg m;
	size_t off = 0, used;
	char err[128];
	int k = 0;
	(void)state;

	make_stream(&s);
	while (off < s.n) {
		assert_int_equal(ttlog__wire_next(s.d + off, s.n - off, 65536,
						  &m, &used, err, sizeof(err)),
				 1);
		check_msg(&s, k++, &m, used);
		off += used;
	}
	assert_int_equal(k, s.count);
	assert_int_equal(
		ttlog__wire_next(s.d, 0, 65536, &m, &used, err, sizeof(err)),
		0);
}

/* Bytes arrive one at a time into a buffer; after each, every whole
 * message is taken. Each message comes out exactly when its last byte
 * arrives, never before. */
static void test_next_one_byte_at_a_time(void **state)
{
	struct stream s;
	struct ttlog__wire_msg m;
	size_t start = 0, used;
	char err[128];
	int k = 0;
	(void)state;

	make_stream(&s);
	for (size_t have = 0; have <= s.n; have++) {
		int r;
		while ((r = ttlog__wire_next(s.d + start, have - start, 65536,
					     &m, &used, err, sizeof(err))) ==
		       1) {
			assert_int_equal(start + used, have);
			check_msg(&s, k++, &m, used);
			start += used;
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(k, s.count);
	assert_int_equal(start, s.n);
}

/* Every split of the stream in two pieces, the second appended later. */
static void test_next_every_two_piece_split(void **state)
{
	struct stream s;
	(void)state;

	make_stream(&s);
	for (size_t cut = 0; cut <= s.n; cut++) {
		struct ttlog__wire_msg m;
		size_t start = 0, used, have = cut;
		char err[128];
		int k = 0;

		for (int piece = 0; piece < 2; piece++) {
			while (ttlog__wire_next(s.d + start, have - start,
						65536, &m, &used, err,
						sizeof(err)) == 1) {
				check_msg(&s, k++, &m, used);
				start += used;
			}
			have = s.n;
		}
		assert_int_equal(k, s.count);
	}
}

static void test_next_limits(void **state)
{
	unsigned char buf[300] = {0};
	struct ttlog__wire_msg m;
	size_t used;
	char err[128];
	(void)state;

	/* Length 0: an error as soon as the 4 length bytes are in. */
	assert_int_equal(
		ttlog__wire_next(buf, 3, 100, &m, &used, err, sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(
		ttlog__wire_next(buf, 4, 100, &m, &used, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "length 0"));

	/* Exactly max_frame (header included) is accepted. */
	ttlog__wire_put_header(buf, TTLOG_WIRE_DATA, 100 - TTLOG_WIRE_HDR);
	assert_int_equal(
		ttlog__wire_next(buf, 99, 100, &m, &used, err, sizeof(err)), 0);
	assert_int_equal(
		ttlog__wire_next(buf, 100, 100, &m, &used, err, sizeof(err)),
		1);
	assert_int_equal(used, 100);
	assert_int_equal(m.len, 95);
	/* One byte over: refused from the length alone. */
	assert_int_equal(
		ttlog__wire_next(buf, 4, 99, &m, &used, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "message of 100 bytes is over the limit of 99");
	/* The largest length field, whatever the limit. */
	memset(buf, 0xFF, 4);
	assert_int_equal(
		ttlog__wire_next(buf, 4, SIZE_MAX, &m, &used, err, sizeof(err)),
		0);
	assert_int_equal(ttlog__wire_next(buf, 4, TTLOG_WIRE_HELLO_MAX, &m,
					  &used, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "message of 4294967299 bytes is over the "
				 "limit of 65536");
	/* A body of 0 bytes (type only) is fine. */
	ttlog__wire_put_header(buf, 0x77, 0);
	assert_int_equal(
		ttlog__wire_next(buf, 5, 5, &m, &used, err, sizeof(err)), 1);
	assert_int_equal(m.type, 0x77);
	assert_int_equal(m.len, 0);
	/* A null err is allowed. */
	memset(buf, 0, 4);
	assert_int_equal(ttlog__wire_next(buf, 4, 100, &m, &used, NULL, 0), -1);
}

/* ------------------------------------------------------------------ */
/* Hello                                                                */
/* ------------------------------------------------------------------ */

static void assert_hello_equal(const struct ttlog__wire_hello *a,
			       const struct ttlog__wire_hello *b)
{
	assert_int_equal(a->version_min, b->version_min);
	assert_int_equal(a->version_max, b->version_max);
	assert_int_equal(a->role, b->role);
	assert_memory_equal(a->id, b->id, TTLOG_WIRE_ID_LEN);
	assert_string_equal(a->service, b->service);
	assert_string_equal(a->host, b->host);
	assert_string_equal(a->software, b->software);
	assert_true(a->max_frame == b->max_frame);
	assert_true(a->window == b->window);
	assert_true(a->last_seq == b->last_seq);
	assert_true(a->heartbeat_ms == b->heartbeat_ms);
	/* Only a sender says how far back it still holds frames. */
	assert_true(b->oldest ==
		    (a->role == TTLOG_WIRE_RECEIVER ? 0 : a->oldest));
}

/* Encodes h, frames it and parses it into *out. */
static void hello_round_trip(const struct ttlog__wire_hello *h,
			     struct ttlog__wire_hello *out)
{
	unsigned char buf[TTLOG_WIRE_HELLO_CAP];
	struct ttlog__wire_msg m;
	size_t n, used;
	char err[256];

	n = ttlog__wire_hello_encode(h, buf, sizeof(buf));
	assert_true(n > TTLOG_WIRE_HDR);
	assert_int_equal(
		ttlog__wire_next(buf, n, n, &m, &used, err, sizeof(err)), 1);
	assert_int_equal(used, n);
	assert_int_equal(m.type, TTLOG_WIRE_HELLO);
	unsigned char *body = dup_exact(m.body, m.len);
	if (ttlog__wire_hello_parse(body, m.len, out, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	free(body);
}

static void test_hello_round_trip(void **state)
{
	struct ttlog__wire_hello h = sample_hello(), got;
	(void)state;

	hello_round_trip(&h, &got);
	assert_hello_equal(&h, &got);
	h.oldest = 4711;
	hello_round_trip(&h, &got);
	assert_true(got.oldest == 4711);

	/* A receiver's answer, with every number at its largest. */
	h.role = TTLOG_WIRE_RECEIVER;
	h.version_min = h.version_max = UINT32_MAX;
	h.max_frame = UINT64_MAX;
	h.window = UINT64_MAX - 1;
	h.last_seq = 1234567890123ull;
	h.heartbeat_ms = 0;
	h.service[0] = h.host[0] = h.software[0] = '\0';
	hello_round_trip(&h, &got);
	assert_hello_equal(&h, &got);
}

static void test_hello_longest_fits_cap(void **state)
{
	struct ttlog__wire_hello h = sample_hello(), got;
	unsigned char buf[TTLOG_WIRE_HELLO_CAP];
	size_t n;
	(void)state;

	/* Every string at its longest, not even NUL-terminated, every
	 * number needing 9 bytes. */
	memset(h.service, 's', sizeof(h.service));
	memset(h.host, 'h', sizeof(h.host));
	memset(h.software, 'w', sizeof(h.software));
	h.version_min = h.version_max = UINT32_MAX;
	h.max_frame = h.window = h.last_seq = h.heartbeat_ms = UINT64_MAX;
	h.oldest = UINT64_MAX;
	n = ttlog__wire_hello_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 618);
	/* Any smaller buffer is refused, never overrun. */
	for (size_t cap = 0; cap < n; cap++) {
		unsigned char *small = malloc(cap ? cap : 1);
		assert_int_equal(ttlog__wire_hello_encode(&h, small, cap), 0);
		free(small);
	}
	hello_round_trip(&h, &got);
	assert_int_equal(strlen(got.service), sizeof(h.service) - 1);
	assert_int_equal(strlen(got.host), sizeof(h.host) - 1);
	assert_int_equal(strlen(got.software), sizeof(h.software) - 1);
}

static const char *const hello_keys[] = {
	"v_min",    "v_max",	 "role",   "id",       "service",     "host",
	"software", "max_frame", "window", "last_seq", "heartbeat_ms"};
#define NKEYS 11
#define K_ID 3
#define K_STRINGS_FIRST 4
#define K_STRINGS_LAST 6

/* A hello body with every key; key `omit` left out, key `wrong` written
 * with a value of the wrong type, `extra` written before the keys. */
static void build_hello(struct cb *b, int omit, int wrong,
			void (*extra)(struct cb *), int nextra)
{
	unsigned char id[TTLOG_WIRE_ID_LEN] = {1, 2, 3};

	cb_head(b, 5, (uint64_t)(NKEYS - (omit >= 0) + nextra));
	if (extra != NULL)
		extra(b);
	for (int k = 0; k < NKEYS; k++) {
		if (k == omit)
			continue;
		cb_text(b, hello_keys[k]);
		if (k == wrong) {
			if (k >= K_ID && k <= K_STRINGS_LAST)
				cb_uint(b, 1);
			else
				cb_text(b, "1");
			continue;
		}
		if (k == K_ID)
			cb_bytes(b, id, sizeof(id));
		else if (k >= K_STRINGS_FIRST && k <= K_STRINGS_LAST)
			cb_text(b, "x");
		else if (k == 7)
			cb_uint(b, 65536);
		else
			cb_uint(b, 1);
	}
}

static int parse_cb(const struct cb *b, struct ttlog__wire_hello *h, char *err,
		    size_t errlen)
{
	unsigned char *body = dup_exact(b->d, b->n);
	int r = ttlog__wire_hello_parse(body, b->n, h, err, errlen);
	free(body);
	return r;
}

static void test_hello_required_keys(void **state)
{
	struct ttlog__wire_hello h;
	char err[256];
	(void)state;

	for (int k = 0; k < NKEYS; k++) {
		struct cb b = {0};
		int required = k <= K_ID || k == 7;

		build_hello(&b, k, -1, NULL, 0);
		err[0] = '\0';
		assert_int_equal(parse_cb(&b, &h, err, sizeof(err)),
				 required ? -1 : 0);
		if (required) {
			char want[64];
			snprintf(want, sizeof(want),
				 "hello: field \"%s\" is missing",
				 hello_keys[k]);
			assert_string_equal(err, want);
		}
		cb_free(&b);
	}
}

static void test_hello_wrong_types(void **state)
{
	struct ttlog__wire_hello h;
	char err[256];
	(void)state;

	for (int k = 0; k < NKEYS; k++) {
		struct cb b = {0};

		build_hello(&b, -1, k, NULL, 0);
		err[0] = '\0';
		assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
		assert_non_null(strstr(err, hello_keys[k]));
		cb_free(&b);
	}
	struct cb b = {0};
	build_hello(&b, -1, 7, NULL, 0);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_string_equal(
		err, "hello: field \"max_frame\" is not an unsigned integer");
	cb_free(&b);
}

static void extra_keys(struct cb *b)
{
	/* 1: a nested mix of everything. */
	cb_text(b, "future");
	cb_head(b, 4, 4);
	cb_head(b, 5, 2);
	cb_text(b, "a");
	cb_head(b, 4, 2);
	cb_uint(b, 1);
	cb_head(b, 4, 1);
	cb_head(b, 4, 0);
	cb_uint(b, 1);
	cb_text(b, "deep");
	cb_byte(b, 0xFB); /* float64 */
	cb_raw(b, "\x3f\xf8\0\0\0\0\0\0", 8);
	cb_byte(b, 0xF6); /* null */
	cb_head(b, 1, 1000);
	/* 2: a tagged value (epoch time). */
	cb_text(b, "started");
	cb_head(b, 6, 1);
	cb_uint(b, 1700000000);
	/* 3: a byte string under a key that looks like a known one. */
	cb_text(b, "v_min2");
	cb_bytes(b, "zz", 2);
	/* 4: half and single floats, true. */
	cb_text(b, "f");
	cb_head(b, 4, 3);
	cb_raw(b, "\xf9\x3c\x00", 3);
	cb_raw(b, "\xfa\x3f\x80\x00\x00", 5);
	cb_byte(b, 0xF5);
}

static void test_hello_unknown_keys_are_ignored(void **state)
{
	struct ttlog__wire_hello h;
	struct cb b = {0};
	char err[256] = "";
	(void)state;

	build_hello(&b, -1, -1, extra_keys, 4);
	if (parse_cb(&b, &h, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(h.version_min, 1);
	assert_true(h.max_frame == 65536);
	assert_string_equal(h.host, "x");
	cb_free(&b);
}

static int nest_depth;

static void extra_nested(struct cb *b)
{
	cb_text(b, "nest");
	for (int i = 0; i < nest_depth; i++)
		cb_head(b, 4, 1);
	cb_uint(b, 0);
}

static void test_hello_unknown_key_nesting_is_bounded(void **state)
{
	struct ttlog__wire_hello h;
	char err[256];
	(void)state;

	/* The value at depth 1 + 15 arrays = 16 levels: fine. */
	nest_depth = 15;
	struct cb b = {0};
	build_hello(&b, -1, -1, extra_nested, 1);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), 0);
	cb_free(&b);
	nest_depth = 16;
	build_hello(&b, -1, -1, extra_nested, 1);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nested too deeply"));
	cb_free(&b);
	/* Deeper than any stack would bear: refused just the same. */
	nest_depth = 100000;
	build_hello(&b, -1, -1, extra_nested, 1);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	cb_free(&b);
}

static void extra_bad(struct cb *b)
{
	cb_text(b, "x");
	cb_byte(b, 0x9F); /* an indefinite-length array */
	cb_byte(b, 0xFF);
}

static void extra_huge(struct cb *b)
{
	cb_text(b, "x");
	cb_head(b, 5, UINT64_MAX); /* a map claiming 2^64 - 1 pairs */
}

static void test_hello_malformed(void **state)
{
	struct ttlog__wire_hello h;
	struct cb b = {0};
	char err[256];
	(void)state;

	build_hello(&b, -1, -1, extra_bad, 1);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "indefinite"));
	cb_free(&b);
	build_hello(&b, -1, -1, extra_huge, 1);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	cb_free(&b);

	/* Not a map; an empty body; trailing bytes. */
	cb_head(&b, 4, 0);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: the body is not a CBOR map");
	cb_free(&b);
	assert_int_equal(ttlog__wire_hello_parse((const unsigned char *)"", 0,
						 &h, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "end of data"));
	build_hello(&b, -1, -1, NULL, 0);
	cb_byte(&b, 0);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after the map"));
	cb_free(&b);

	/* Every proper prefix of a good hello is an error. */
	build_hello(&b, -1, -1, extra_keys, 4);
	for (size_t n = 0; n < b.n; n++) {
		unsigned char *p = dup_exact(b.d, n);
		assert_int_equal(
			ttlog__wire_hello_parse(p, n, &h, err, sizeof(err)),
			-1);
		free(p);
	}
	cb_free(&b);

	/* A key that is not a text string. */
	cb_head(&b, 5, 1);
	cb_uint(&b, 1);
	cb_uint(&b, 1);
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a text string"));
	cb_free(&b);
}

/* A hello with every key and the given values for a few. */
static int parse_with(uint64_t vmin, uint64_t vmax, uint64_t role, size_t idlen,
		      uint64_t max_frame, char *err, size_t errlen)
{
	unsigned char id[32] = {0};
	struct ttlog__wire_hello h;
	struct cb b = {0};
	int r;

	cb_head(&b, 5, 5);
	cb_text(&b, "v_min");
	cb_uint(&b, vmin);
	cb_text(&b, "v_max");
	cb_uint(&b, vmax);
	cb_text(&b, "role");
	cb_uint(&b, role);
	cb_text(&b, "id");
	cb_bytes(&b, id, idlen);
	cb_text(&b, "max_frame");
	cb_uint(&b, max_frame);
	r = parse_cb(&b, &h, err, errlen);
	cb_free(&b);
	return r;
}

static void test_hello_bad_values(void **state)
{
	char err[256];
	(void)state;

	assert_int_equal(parse_with(1, 1, 0, 16, 65536, err, sizeof(err)), 0);
	assert_int_equal(parse_with(2, 1, 0, 16, 65536, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: v_min 2 is over v_max 1");
	assert_int_equal(parse_with(0, 1, 0, 16, 65536, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"v_min\" is 0"));
	assert_int_equal(
		parse_with(1, 1ull << 32, 0, 16, 65536, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "v_max"));
	assert_int_equal(parse_with(1, 1, 2, 16, 65536, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"role\" is 2"));
	assert_int_equal(parse_with(1, 1, 1, 15, 65536, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: field \"id\" is 15 bytes, not 16");
	assert_int_equal(parse_with(1, 1, 1, 17, 65536, err, sizeof(err)), -1);
	assert_int_equal(parse_with(1, 1, 1, 16, 63, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_frame"));
	assert_int_equal(parse_with(1, 1, 1, 16, 64, err, sizeof(err)), 0);

	/* The same key twice. */
	struct ttlog__wire_hello h;
	struct cb b = {0};
	build_hello(&b, -1, -1, NULL, 0);
	b.d[0]++; /* one more pair */
	cb_text(&b, "host");
	cb_text(&b, "again");
	assert_int_equal(parse_cb(&b, &h, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: field \"host\" appears twice");
	cb_free(&b);
}

static void test_hello_strings_are_cleaned(void **state)
{
	unsigned char id[16] = {0};
	struct ttlog__wire_hello h;
	struct cb b = {0};
	char err[256], big[400];
	(void)state;

	memset(big, 'a', sizeof(big));
	big[254] = '\xC3'; /* a two-byte character across the cut */
	big[255] = '\xA9';
	cb_head(&b, 5, 8);
	cb_text(&b, "v_min");
	cb_uint(&b, 1);
	cb_text(&b, "v_max");
	cb_uint(&b, 1);
	cb_text(&b, "role");
	cb_uint(&b, 0);
	cb_text(&b, "id");
	cb_bytes(&b, id, 16);
	cb_text(&b, "max_frame");
	cb_uint(&b, 1u << 20);
	cb_text(&b, "service");
	cb_bytes(&b, "a\0b\nc\x1b[31m\xff\xc3\xa9", 13);
	cb_text(&b, "host");
	cb_bytes(&b, big, sizeof(big));
	cb_text(&b, "software");
	cb_bytes(&b, "ttlog \xc2\x85", 8); /* U+0085, a C1 control */
	if (parse_cb(&b, &h, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(h.service, "a?b?c?[31m?\xc3\xa9");
	/* Cut before the character that would not fit whole. */
	assert_int_equal(strlen(h.host), 254);
	assert_string_equal(h.software, "ttlog ?");
	cb_free(&b);
}

static void test_version_choose(void **state)
{
	char err[128];
	(void)state;

	assert_int_equal(
		ttlog__wire_version_choose(1, 1, 1, 1, err, sizeof(err)), 1);
	assert_int_equal(
		ttlog__wire_version_choose(1, 3, 2, 5, err, sizeof(err)), 3);
	assert_int_equal(
		ttlog__wire_version_choose(2, 5, 1, 3, err, sizeof(err)), 3);
	assert_int_equal(
		ttlog__wire_version_choose(1, 9, 4, 4, err, sizeof(err)), 4);
	assert_int_equal(
		ttlog__wire_version_choose(3, 3, 3, 7, err, sizeof(err)), 3);
	err[0] = '\0';
	assert_int_equal(
		ttlog__wire_version_choose(1, 1, 2, 3, err, sizeof(err)), 0);
	assert_string_equal(err, "peer speaks versions 2..3, this build 1..1");
	assert_int_equal(
		ttlog__wire_version_choose(4, 6, 1, 3, err, sizeof(err)), 0);
	assert_string_equal(err, "peer speaks versions 1..3, this build 4..6");
	assert_int_equal(
		ttlog__wire_version_choose(0, 0, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(ttlog__wire_version_choose(UINT32_MAX, UINT32_MAX, 1,
						    UINT32_MAX, err,
						    sizeof(err)),
			 UINT32_MAX);
}

/* ------------------------------------------------------------------ */
/* DATA, ACK, HEARTBEAT, CLOSE                                          */
/* ------------------------------------------------------------------ */

static void test_data_round_trip(void **state)
{
	unsigned char buf[TTLOG_WIRE_DATA_PREFIX + 5];
	struct ttlog__wire_msg m;
	const unsigned char *payload;
	size_t used, plen;
	uint64_t seq;
	uint32_t flags, count;
	char err[128];
	(void)state;

	ttlog__wire_data_prefix(buf, 0x0102030405060708ull,
				TTLOG_WIRE_DATA_LZ4 | TTLOG_WIRE_DATA_RESENT,
				0xA0B0C0D0, 5);
	assert_memory_equal(buf,
			    "\x00\x00\x00\x16\x02"
			    "\x01\x02\x03\x04\x05\x06\x07\x08"
			    "\x00\x00\x00\x03"
			    "\xA0\xB0\xC0\xD0",
			    TTLOG_WIRE_DATA_PREFIX);
	memcpy(buf + TTLOG_WIRE_DATA_PREFIX, "hello", 5);
	assert_int_equal(ttlog__wire_next(buf, sizeof(buf), 1000, &m, &used,
					  err, sizeof(err)),
			 1);
	assert_int_equal(ttlog__wire_data_parse(&m, &seq, &flags, &count,
						&payload, &plen, err,
						sizeof(err)),
			 0);
	assert_true(seq == 0x0102030405060708ull);
	assert_int_equal(flags, 3);
	assert_int_equal(count, 0xA0B0C0D0);
	assert_int_equal(plen, 5);
	assert_ptr_equal(payload, buf + TTLOG_WIRE_DATA_PREFIX);

	/* An empty payload is well-formed here (the decoder refuses it). */
	ttlog__wire_data_prefix(buf, 1, 0, 0, 0);
	assert_int_equal(ttlog__wire_next(buf, TTLOG_WIRE_DATA_PREFIX, 1000, &m,
					  &used, err, sizeof(err)),
			 1);
	assert_int_equal(ttlog__wire_data_parse(&m, &seq, &flags, &count,
						&payload, &plen, err,
						sizeof(err)),
			 0);
	assert_int_equal(plen, 0);
}

static void test_data_errors(void **state)
{
	unsigned char buf[TTLOG_WIRE_DATA_PREFIX];
	struct ttlog__wire_msg m;
	const unsigned char *payload;
	size_t plen;
	uint64_t seq;
	uint32_t flags, count;
	char err[128];
	(void)state;

	ttlog__wire_data_prefix(buf, 1, 0, 0, 0);
	m.type = TTLOG_WIRE_DATA;
	m.body = buf + TTLOG_WIRE_HDR;
	for (m.len = 0; m.len < TTLOG_WIRE_DATA_FIXED; m.len++) {
		unsigned char *p = dup_exact(m.body, m.len);
		struct ttlog__wire_msg s = {TTLOG_WIRE_DATA, p, m.len};
		assert_int_equal(ttlog__wire_data_parse(&s, &seq, &flags,
							&count, &payload, &plen,
							err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "DATA body of"));
		free(p);
	}
	ttlog__wire_data_prefix(buf, 0, 0, 0, 0);
	assert_int_equal(ttlog__wire_data_parse(&m, &seq, &flags, &count,
						&payload, &plen, err,
						sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "seq 0"));
	ttlog__wire_data_prefix(buf, 5, 0x104, 0, 0);
	assert_int_equal(ttlog__wire_data_parse(&m, &seq, &flags, &count,
						&payload, &plen, err,
						sizeof(err)),
			 -1);
	assert_string_equal(err, "DATA 5: unknown flags 0x104");
	m.type = TTLOG_WIRE_ACK;
	assert_int_equal(ttlog__wire_data_parse(&m, &seq, &flags, &count,
						&payload, &plen, err,
						sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not DATA"));
}

static void test_ack_and_heartbeat(void **state)
{
	unsigned char buf[TTLOG_WIRE_U64_MSG];
	struct ttlog__wire_msg m;
	size_t used;
	uint64_t v;
	char err[128];
	(void)state;

	ttlog__wire_ack_encode(buf, 0x1122334455667788ull);
	assert_memory_equal(buf,
			    "\x00\x00\x00\x09\x03\x11\x22\x33\x44\x55\x66\x77"
			    "\x88",
			    TTLOG_WIRE_U64_MSG);
	assert_int_equal(ttlog__wire_next(buf, sizeof(buf), 13, &m, &used, err,
					  sizeof(err)),
			 1);
	assert_int_equal(ttlog__wire_u64_parse(&m, &v, err, sizeof(err)), 0);
	assert_true(v == 0x1122334455667788ull);

	ttlog__wire_heartbeat_encode(buf, UINT64_MAX);
	assert_int_equal(buf[4], TTLOG_WIRE_HEARTBEAT);
	assert_int_equal(ttlog__wire_next(buf, sizeof(buf), 13, &m, &used, err,
					  sizeof(err)),
			 1);
	assert_int_equal(ttlog__wire_u64_parse(&m, &v, err, sizeof(err)), 0);
	assert_true(v == UINT64_MAX);

	m.len = 7;
	assert_int_equal(ttlog__wire_u64_parse(&m, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "HEARTBEAT body of 7 bytes, not 8");
	m.len = 9;
	assert_int_equal(ttlog__wire_u64_parse(&m, &v, err, sizeof(err)), -1);
	m.len = 8;
	m.type = TTLOG_WIRE_CLOSE;
	assert_int_equal(ttlog__wire_u64_parse(&m, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not ACK or HEARTBEAT"));
}

static void close_round_trip(uint16_t code, const char *reason, uint16_t *got,
			     char *out, size_t cap)
{
	unsigned char buf[TTLOG_WIRE_HDR + 2 + TTLOG_WIRE_REASON_MAX];
	struct ttlog__wire_msg m;
	size_t n, used;
	char err[128];

	n = ttlog__wire_close_encode(buf, sizeof(buf), code, reason);
	assert_true(n >= TTLOG_WIRE_HDR + 2);
	assert_int_equal(ttlog__wire_next(buf, n, sizeof(buf), &m, &used, err,
					  sizeof(err)),
			 1);
	assert_int_equal(used, n);
	assert_int_equal(
		ttlog__wire_close_parse(&m, got, out, cap, err, sizeof(err)),
		0);
}

static void test_close_round_trip(void **state)
{
	char reason[TTLOG_WIRE_REASON_MAX + 1];
	uint16_t code;
	(void)state;

	close_round_trip(TTLOG_WIRE_CLOSE_VERSION,
			 "peer speaks versions 2..3, this build 1..1", &code,
			 reason, sizeof(reason));
	assert_int_equal(code, TTLOG_WIRE_CLOSE_VERSION);
	assert_string_equal(reason,
			    "peer speaks versions 2..3, this build 1..1");
	close_round_trip(0xFFFF, NULL, &code, reason, sizeof(reason));
	assert_int_equal(code, 0xFFFF);
	assert_string_equal(reason, "");
	/* A small reason buffer cuts. */
	close_round_trip(1, "abcdef", &code, reason, 4);
	assert_string_equal(reason, "abc");
	close_round_trip(1, "abcdef", &code, reason, 1);
	assert_string_equal(reason, "");
}

static void test_close_reason_limits(void **state)
{
	unsigned char buf[3000];
	char big[2001], reason[2048];
	struct ttlog__wire_msg m;
	uint16_t code;
	size_t n;
	char err[128];
	(void)state;

	/* Encoding cuts at 1024 bytes. */
	memset(big, 'r', 2000);
	big[2000] = '\0';
	n = ttlog__wire_close_encode(buf, sizeof(buf), 3, big);
	assert_int_equal(n, TTLOG_WIRE_HDR + 2 + 1024);
	/* ... at a character boundary: é (2 bytes) at 1023..1024 goes. */
	big[1023] = '\xC3';
	big[1024] = '\xA9';
	n = ttlog__wire_close_encode(buf, sizeof(buf), 3, big);
	assert_int_equal(n, TTLOG_WIRE_HDR + 2 + 1023);
	/* ... and to the room given. */
	n = ttlog__wire_close_encode(buf, 10, 3, "abcdefgh");
	assert_int_equal(n, 10);
	assert_memory_equal(buf + 7, "abc", 3);
	assert_int_equal(ttlog__wire_close_encode(buf, 6, 3, "x"), 0);
	assert_int_equal(ttlog__wire_close_encode(buf, 7, 3, "x"), 7);

	/* Parsing a longer reason than allowed cuts it at 1024. */
	memset(buf, 'q', sizeof(buf));
	buf[0] = 0;
	buf[1] = 3;
	m.type = TTLOG_WIRE_CLOSE;
	m.body = buf;
	m.len = 2 + 2000;
	assert_int_equal(ttlog__wire_close_parse(&m, &code, reason,
						 sizeof(reason), err,
						 sizeof(err)),
			 0);
	assert_int_equal(code, 3);
	assert_int_equal(strlen(reason), 1024);

	/* Control characters and bad UTF-8 become '?'. */
	memcpy(buf + 2, "a\0b\r\n\x7f\xff\xe2\x82\xac.", 11);
	m.len = 13;
	assert_int_equal(ttlog__wire_close_parse(&m, &code, reason,
						 sizeof(reason), err,
						 sizeof(err)),
			 0);
	assert_string_equal(reason, "a?b????\xe2\x82\xac.");

	/* Too short, wrong type. */
	m.len = 1;
	assert_int_equal(ttlog__wire_close_parse(&m, &code, reason,
						 sizeof(reason), err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "CLOSE body of 1 bytes"));
	m.len = 2;
	assert_int_equal(ttlog__wire_close_parse(&m, &code, reason,
						 sizeof(reason), err,
						 sizeof(err)),
			 0);
	assert_string_equal(reason, "");
	m.type = TTLOG_WIRE_DATA;
	assert_int_equal(ttlog__wire_close_parse(&m, &code, reason,
						 sizeof(reason), err,
						 sizeof(err)),
			 -1);
}

/* ------------------------------------------------------------------ */
/* Payloads: capturing what the decoder passes                          */
/* ------------------------------------------------------------------ */

/* Events deep-copied out of the callback, which may keep nothing. */
struct got {
	struct ttlog__in_event *ev;
	size_t n, cap;
	size_t stop_at; /* 1-based event whose callback returns stop_rc */
	int stop_rc;
};

static char *copy_bytes(char **p, const char *s, size_t n)
{
	char *r = *p;
	if (n > 0)
		memcpy(r, s, n);
	*p += n;
	return r;
}

static int got_fn(void *arg, const struct ttlog__in_event *ev)
{
	struct got *g = arg;
	struct ttlog__in_event *e;
	size_t need;
	char *p;

	assert_non_null(ev->msg);
	assert_non_null(ev->source);
	assert_true(ev->nfields <= TTLOG__IN_MAX_FIELDS);
	assert_true(ev->level >= 0 && ev->level <= TTLOG_LEVEL_FATAL);
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->ev = realloc(g->ev, g->cap * sizeof(*g->ev));
		assert_non_null(g->ev);
	}
	e = &g->ev[g->n++];
	*e = *ev;
	need = ev->msg_len + strlen(ev->source) + 1;
	for (uint32_t i = 0; i < ev->nfields; i++) {
		need += ev->fields[i].key_len;
		if (ev->fields[i].type == TTLOG_TYPE_STR)
			need += ev->fields[i].v.str.len;
	}
	p = malloc(need + 1);
	assert_non_null(p);
	e->msg = copy_bytes(&p, ev->msg, ev->msg_len);
	e->source = copy_bytes(&p, ev->source, strlen(ev->source) + 1);
	for (uint32_t i = 0; i < ev->nfields; i++) {
		struct ttlog__in_field *f = &e->fields[i];
		f->key = copy_bytes(&p, f->key, f->key_len);
		if (f->type == TTLOG_TYPE_STR)
			f->v.str.ptr =
				copy_bytes(&p, f->v.str.ptr, f->v.str.len);
	}
	if (g->stop_at == g->n)
		return g->stop_rc;
	return 0;
}

static void got_free(struct got *g)
{
	/* Each event's copy starts at its msg. */
	for (size_t i = 0; i < g->n; i++)
		free((char *)g->ev[i].msg);
	free(g->ev);
	memset(g, 0, sizeof(*g));
}

/* Decodes an exact-size copy of the payload with a fresh scratch. */
static int decode(const void *payload, size_t len, uint32_t flags, size_t max,
		  struct got *g, char *err, size_t errlen)
{
	struct ttlog__wire_scratch s = {0};
	unsigned char *p = dup_exact(payload, len);
	size_t n = 12345;
	int r;

	r = ttlog__wire_payload_decode(p, len, flags, max, &s, got_fn, g, &n,
				       err, errlen);
	assert_int_equal(n, g->n);
	ttlog__wire_scratch_free(&s);
	free(p);
	return r;
}

/* Checks that the decoded events are those of batch b. */
static void assert_events_match(struct ttlog_batch *b, const struct got *g)
{
	assert_int_equal(g->n, ttlog_batch_count(b));
	for (size_t i = 0; i < g->n; i++) {
		const struct ttlog__in_event *d = &g->ev[i];
		struct ttlog_event e;
		struct ttlog_field_iter it;
		struct ttlog_field f;
		uint32_t k = 0;

		assert_int_equal(ttlog_batch_event(b, i, &e), 0);
		assert_true(d->time_ns == e.time_ns);
		assert_int_equal(d->tid, e.tid);
		assert_int_equal(d->line, e.line);
		assert_int_equal(d->level, e.level);
		assert_int_equal(d->truncated,
				 (e.flags & TTLOG_EVENT_TRUNCATED) != 0);
		assert_int_equal(d->msg_len, strlen(e.msg));
		assert_memory_equal(d->msg, e.msg, d->msg_len);
		assert_string_equal(d->source, e.file);
		assert_int_equal(d->nfields, e.nfields);
		ttlog_field_iter_init(&it, &e);
		while (ttlog_field_next(&it, &f)) {
			const struct ttlog__in_field *x = &d->fields[k++];
			assert_int_equal(x->key_len, strlen(f.key));
			assert_memory_equal(x->key, f.key, x->key_len);
			switch (f.type) {
			case TTLOG_TYPE_I64:
				/* The format keeps numbers, not C types. */
				if (f.v.i64 >= 0) {
					assert_int_equal(x->type,
							 TTLOG_TYPE_U64);
					assert_true(x->v.u64 ==
						    (uint64_t)f.v.i64);
				} else {
					assert_int_equal(x->type,
							 TTLOG_TYPE_I64);
					assert_true(x->v.i64 == f.v.i64);
				}
				break;
			case TTLOG_TYPE_U64:
				assert_int_equal(x->type, TTLOG_TYPE_U64);
				assert_true(x->v.u64 == f.v.u64);
				break;
			case TTLOG_TYPE_F64:
				assert_int_equal(x->type, TTLOG_TYPE_F64);
				assert_memory_equal(&x->v.f64, &f.v.f64, 8);
				break;
			case TTLOG_TYPE_BOOL:
				assert_int_equal(x->type, TTLOG_TYPE_BOOL);
				assert_int_equal(x->v.b != 0, f.v.b);
				break;
			default:
				assert_int_equal(x->type, TTLOG_TYPE_STR);
				assert_int_equal(x->v.str.len, f.v.str.len);
				assert_memory_equal(x->v.str.ptr, f.v.str.ptr,
						    f.v.str.len);
				break;
			}
		}
		assert_int_equal(k, d->nfields);
	}
}

/* Encodes b both ways and checks both decode to its events. */
static void assert_round_trip(struct ttlog_batch *b)
{
	static const enum ttlog_encoding encs[] = {TTLOG_ENCODING_CBOR,
						   TTLOG_ENCODING_CBOR_LZ4};
	for (int i = 0; i < 2; i++) {
		const void *data;
		size_t len;
		struct got g = {0};
		char err[256] = "";

		assert_int_equal(ttlog_batch_encode(b, encs[i], &data, &len),
				 0);
		if (decode(data, len, i ? TTLOG_WIRE_DATA_LZ4 : 0, MAX_DECODED,
			   &g, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_events_match(b, &g);
		got_free(&g);
	}
}

static void add(struct ttlog_batch *b, struct ttlog_callsite *cs,
		uint64_t time_ns, uint32_t tid, uint8_t flags, struct vals *v)
{
	const void *p = v->d != NULL ? (const void *)v->d : (const void *)"";
	assert_int_equal(
		ttlog__batch_add(b, cs, time_ns, tid, flags, p, v->len), 0);
	v->len = 0;
}

/* ------------------------------------------------------------------ */
/* Payloads: round trips                                                */
/* ------------------------------------------------------------------ */

static const char *const all_keys[] = {"i", "u", "d", "b", "s"};
static const uint8_t all_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_U64,
				    TTLOG_TYPE_F64, TTLOG_TYPE_BOOL,
				    TTLOG_TYPE_STR};
static struct ttlog_callsite cs_all =
	CALLSITE("all types", "src/all.c", 123, TTLOG_LEVEL_WARN, 5, all_keys,
		 all_types);
static struct ttlog_callsite cs_none =
	CALLSITE("", "", 0, TTLOG_LEVEL_TRACE, 0, NULL, NULL);
static const char *const one_key[] = {"\xff key"};
static const uint8_t one_str[] = {TTLOG_TYPE_STR};
static struct ttlog_callsite cs_fatal =
	CALLSITE("bad \xc3\x28 msg", "\xfe.c", 0xFFFFFFFFu, TTLOG_LEVEL_FATAL,
		 1, one_key, one_str);

static void test_payload_all_value_types(void **state)
{
	static const int64_t ints[] = {INT64_MIN, -1,  0,    1,	   INT64_MAX,
				       -24,	  -25, -256, -257, -65537};
	static const uint64_t uints[] = {0,	    23,		 24,
					 255,	    256,	 65535,
					 65536,	    0xFFFFFFFFu, 0x100000000ull,
					 UINT64_MAX};
	static const uint64_t dbits[] = {
		0x0000000000000000ull, 0x8000000000000000ull, /* +-0 */
		0x3FF8000000000000ull,			      /* 1.5 */
		0x7FF0000000000000ull, 0xFFF0000000000000ull, /* inf */
		0x7FF8000000000001ull, 0xFFF4000000000123ull, /* NaNs */
		0x0000000000000001ull,			      /* denormal */
		0x7FEFFFFFFFFFFFFFull, 0xC00921FB54442D18ull};
	static const char *const strs[] = {"",	       "plain",	       "a\0b",
					   "\xff\xfe", "\xe2\x82\xac", "\xc3"};
	static const size_t slens[] = {0, 5, 3, 2, 3, 1};
	struct ttlog_batch *b = ttlog__batch_new(256, 1 << 16, 42);
	struct vals v = {0};
	(void)state;

	assert_non_null(b);
	for (int i = 0; i < 10; i++) {
		vals_i64(&v, ints[i]);
		vals_u64(&v, uints[i]);
		vals_f64_bits(&v, dbits[i]);
		vals_bool(&v, i & 1);
		vals_str(&v, strs[i % 6], slens[i % 6]);
		add(b, &cs_all, 1700000000123456789ull + (uint64_t)i,
		    (uint32_t)(i * 1000), (uint8_t)(i & 1), &v);
		if (i % 3 == 0)
			add(b, &cs_none, 0, 0, 0, &v);
	}
	vals_str(&v, "x\0y", 3);
	add(b, &cs_fatal, UINT64_MAX, UINT32_MAX, 1, &v);
	assert_round_trip(b);

	/* And a few values checked by hand. */
	const void *data;
	size_t len;
	struct got g = {0};
	char err[256];
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &data, &len), 0);
	assert_int_equal(decode(data, len, TTLOG_WIRE_DATA_LZ4, MAX_DECODED, &g,
				err, sizeof(err)),
			 0);
	assert_int_equal(g.n, 15);
	assert_int_equal(g.ev[0].fields[0].type, TTLOG_TYPE_I64);
	assert_true(g.ev[0].fields[0].v.i64 == INT64_MIN);
	assert_int_equal(g.ev[0].level, TTLOG_LEVEL_WARN);
	assert_string_equal(g.ev[0].source, "src/all.c");
	assert_int_equal(g.ev[0].line, 123);
	assert_int_equal(g.ev[1].msg_len, 0); /* cs_none: empty message */
	assert_string_equal(g.ev[1].source, "");
	assert_int_equal(g.ev[1].nfields, 0);
	const struct ttlog__in_event *last = &g.ev[g.n - 1];
	assert_true(last->time_ns == UINT64_MAX);
	assert_int_equal(last->tid, UINT32_MAX);
	assert_int_equal(last->line, UINT32_MAX);
	assert_int_equal(last->level, TTLOG_LEVEL_FATAL);
	assert_int_equal(last->truncated, 1);
	assert_int_equal(last->fields[0].key_len, 5);
	assert_memory_equal(last->fields[0].v.str.ptr, "x\0y", 3);
	got_free(&g);
	vals_free(&v);
	ttlog_batch_unref(b);
}

static void test_payload_empty_and_keyless_batches(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(4, 4096, 1);
	(void)state;

	assert_non_null(b);
	assert_round_trip(b);
	ttlog_batch_unref(b);
	/* Only call sites without keys: no key table at all. */
	struct vals v = {0};
	b = ttlog__batch_new(4, 4096, 2);
	assert_non_null(b);
	add(b, &cs_none, 1, 2, 0, &v);
	add(b, &cs_none, 3, 4, 1, &v);
	assert_round_trip(b);
	ttlog_batch_unref(b);
}

/* 64 fields: the most an event can have, reached through ingest. */
static void test_payload_64_fields_via_ingest(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(16, 1 << 16, 3);
	struct ttlog__in_event ev;
	char keys[TTLOG__IN_MAX_FIELDS][8];
	(void)state;

	assert_non_null(b);
	memset(&ev, 0, sizeof(ev));
	ev.level = TTLOG_LEVEL_ERROR;
	ev.msg = "sixty-four";
	ev.msg_len = 10;
	ev.source = "jsonl";
	ev.time_ns = 1;
	ev.line = 77;
	ev.tid = 4242;
	ev.nfields = TTLOG__IN_MAX_FIELDS;
	for (int i = 0; i < TTLOG__IN_MAX_FIELDS; i++) {
		struct ttlog__in_field *f = &ev.fields[i];
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		f->key = keys[i];
		f->key_len = strlen(keys[i]);
		switch (i % 5) {
		case 0:
			f->type = TTLOG_TYPE_I64;
			f->v.i64 = -i;
			break;
		case 1:
			f->type = TTLOG_TYPE_U64;
			f->v.u64 = UINT64_MAX - (uint64_t)i;
			break;
		case 2:
			f->type = TTLOG_TYPE_F64;
			f->v.f64 = i / 3.0;
			break;
		case 3:
			f->type = TTLOG_TYPE_BOOL;
			f->v.b = 1;
			break;
		default:
			f->type = TTLOG_TYPE_STR;
			f->v.str.ptr = "v\0\xff";
			f->v.str.len = 3;
			break;
		}
	}
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	ev.truncated = 1;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	assert_round_trip(b);

	const void *data;
	size_t len;
	struct got g = {0};
	char err[256];
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &data, &len), 0);
	assert_int_equal(decode(data, len, TTLOG_WIRE_DATA_LZ4, MAX_DECODED, &g,
				err, sizeof(err)),
			 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ev[0].nfields, 64);
	assert_int_equal(g.ev[0].line, 77);
	assert_int_equal(g.ev[0].tid, 4242);
	assert_int_equal(g.ev[0].truncated, 0);
	assert_int_equal(g.ev[1].truncated, 1);
	assert_string_equal(g.ev[0].source, "jsonl");
	assert_memory_equal(g.ev[0].fields[63].key, "k63", 3);
	assert_true(g.ev[0].fields[0].type == TTLOG_TYPE_U64); /* -0 */
	assert_true(g.ev[0].fields[5].v.i64 == -5);
	got_free(&g);
	ttlog_batch_unref(b);
}

static const char *const big_keys[] = {"blob", "n"};
static const uint8_t big_types[] = {TTLOG_TYPE_STR, TTLOG_TYPE_U64};
static struct ttlog_callsite cs_big =
	CALLSITE("big", "big.c", 1, TTLOG_LEVEL_INFO, 2, big_keys, big_types);

/* A batch whose CBOR is past 1 MiB: several linked LZ4 blocks. */
static struct ttlog_batch *big_batch(void)
{
	struct ttlog_batch *b = ttlog__batch_new(512, 4u << 20, 9);
	struct vals v = {0};
	char blob[3000];

	assert_non_null(b);
	for (int i = 0; i < 400; i++) {
		for (size_t k = 0; k < sizeof(blob); k++)
			blob[k] = (char)('a' + (k * 7 + (size_t)i) % 26 +
					 (k % 97 == 0 ? i % 5 : 0));
		vals_str(&v, blob, sizeof(blob) - (size_t)i);
		vals_u64(&v, (uint64_t)i);
		add(b, &cs_big, (uint64_t)i, 1, 0, &v);
	}
	vals_free(&v);
	return b;
}

static void test_payload_large_multi_block(void **state)
{
	struct ttlog_batch *b = big_batch();
	(void)state;

	assert_round_trip(b);
	ttlog_batch_unref(b);
}

/* Frames other senders might make: no content size, 64 KiB blocks,
 * linked, block checksums. The buffer grows as it goes. */
static void test_payload_lz4_without_content_size(void **state)
{
	struct ttlog_batch *b = big_batch();
	LZ4F_preferences_t prefs;
	const void *cbor;
	size_t clen, bound, n;
	unsigned char *frame;
	struct got g = {0};
	char err[256] = "";
	(void)state;

	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR, &cbor, &clen), 0);
	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockLinked;
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	bound = LZ4F_compressFrameBound(clen, &prefs);
	frame = malloc(bound);
	assert_non_null(frame);
	n = LZ4F_compressFrame(frame, bound, cbor, clen, &prefs);
	assert_false(LZ4F_isError(n));
	if (decode(frame, n, TTLOG_WIRE_DATA_LZ4, MAX_DECODED, &g, err,
		   sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_events_match(b, &g);
	got_free(&g);

	/* The limit holds while growing, too. */
	assert_int_equal(decode(frame, n, TTLOG_WIRE_DATA_LZ4, clen - 1, &g,
				err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "over the limit"));
	assert_int_equal(decode(frame, n, TTLOG_WIRE_DATA_LZ4, clen, &g, err,
				sizeof(err)),
			 0);
	got_free(&g);

	/* Two frames back to back: the second is trailing garbage. */
	unsigned char *two = malloc(2 * n);
	assert_non_null(two);
	memcpy(two, frame, n);
	memcpy(two + n, frame, n);
	assert_int_equal(decode(two, 2 * n, TTLOG_WIRE_DATA_LZ4, MAX_DECODED,
				&g, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "after the frame"));
	got_free(&g);
	free(two);
	free(frame);
	ttlog_batch_unref(b);
}

static void test_payload_max_decoded(void **state)
{
	struct ttlog_batch *b = big_batch();
	const void *cbor, *lz;
	size_t clen, zlen;
	struct got g = {0};
	char err[256];
	(void)state;

	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR, &cbor, &clen), 0);
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &lz, &zlen), 0);
	assert_true(zlen < clen / 10);
	/* Exactly the content size is enough; one byte less is not, and
	 * nothing is decoded then. */
	assert_int_equal(decode(lz, zlen, TTLOG_WIRE_DATA_LZ4, clen, &g, err,
				sizeof(err)),
			 0);
	assert_int_equal(g.n, 400);
	got_free(&g);
	assert_int_equal(decode(lz, zlen, TTLOG_WIRE_DATA_LZ4, clen - 1, &g,
				err, sizeof(err)),
			 -1);
	assert_int_equal(g.n, 0);
	assert_non_null(strstr(err, "over the limit"));
	assert_non_null(strstr(err, "offset"));
	/* Uncompressed, the same limit applies to the payload. */
	assert_int_equal(decode(cbor, clen, 0, clen - 1, &g, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "over the limit"));
	assert_int_equal(decode(cbor, clen, 0, clen, &g, err, sizeof(err)), 0);
	got_free(&g);
	ttlog_batch_unref(b);
}

/* One scratch serves payload after payload, big and small. */
static void test_payload_scratch_reuse(void **state)
{
	struct ttlog_batch *big = big_batch();
	struct ttlog_batch *small = ttlog__batch_new(8, 4096, 1);
	struct ttlog__wire_scratch s = {0};
	struct vals v = {0};
	(void)state;

	vals_i64(&v, -7);
	vals_u64(&v, 7);
	vals_f64(&v, 0.25);
	vals_bool(&v, true);
	vals_lit(&v, "ok");
	add(small, &cs_all, 5, 5, 0, &v);
	for (int round = 0; round < 6; round++) {
		struct ttlog_batch *b = round % 2 ? small : big;
		int lz = round % 3 != 0;
		const void *data;
		size_t len, n;
		struct got g = {0};
		char err[256] = "";

		assert_int_equal(ttlog_batch_encode(b,
						    lz ? TTLOG_ENCODING_CBOR_LZ4
						       : TTLOG_ENCODING_CBOR,
						    &data, &len),
				 0);
		if (ttlog__wire_payload_decode(data, len,
					       lz ? TTLOG_WIRE_DATA_LZ4 : 0,
					       MAX_DECODED, &s, got_fn, &g, &n,
					       err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_events_match(b, &g);
		got_free(&g);
		/* A failed decode leaves the scratch usable. */
		assert_int_equal(
			ttlog__wire_payload_decode(data, len / 2,
						   lz ? TTLOG_WIRE_DATA_LZ4 : 0,
						   MAX_DECODED, &s, got_fn, &g,
						   &n, err, sizeof(err)),
			-1);
		got_free(&g);
	}
	ttlog__wire_scratch_free(&s);
	ttlog__wire_scratch_free(&s); /* twice is harmless */
	vals_free(&v);
	ttlog_batch_unref(big);
	ttlog_batch_unref(small);
}

/* ------------------------------------------------------------------ */
/* Payloads: bad input                                                  */
/* ------------------------------------------------------------------ */

static const char *const two_keys[] = {"n", "s"};
static const uint8_t two_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_STR};
static struct ttlog_callsite cs_two =
	CALLSITE("two", "two.c", 2, TTLOG_LEVEL_INFO, 2, two_keys, two_types);

static struct ttlog_batch *small_batch(void)
{
	struct ttlog_batch *b = ttlog__batch_new(8, 4096, 5);
	struct vals v = {0};

	assert_non_null(b);
	vals_i64(&v, -300);
	vals_lit(&v, "abc");
	add(b, &cs_two, 1700000000000000000ull, 17, 0, &v);
	vals_i64(&v, 1);
	vals_f64(&v, 1.5);
	vals_bool(&v, false);
	vals_bool(&v, true);
	vals_lit(&v, "\xff");
	add(b, &cs_all, 1700000000000000001ull, 18, 1, &v);
	vals_i64(&v, 5);
	vals_lit(&v, "");
	add(b, &cs_two, 1700000000000000002ull, 17, 0, &v);
	vals_free(&v);
	return b;
}

static void test_payload_truncated_at_every_offset(void **state)
{
	struct ttlog_batch *b = small_batch();
	(void)state;

	for (int lz = 0; lz < 2; lz++) {
		const void *data;
		size_t len;

		assert_int_equal(ttlog_batch_encode(b,
						    lz ? TTLOG_ENCODING_CBOR_LZ4
						       : TTLOG_ENCODING_CBOR,
						    &data, &len),
				 0);
		for (size_t cut = 0; cut < len; cut++) {
			struct got g = {0};
			char err[256] = "";

			assert_int_equal(
				decode(data, cut, lz ? TTLOG_WIRE_DATA_LZ4 : 0,
				       MAX_DECODED, &g, err, sizeof(err)),
				-1);
			if (strstr(err, "offset") == NULL)
				fail_msg("cut at %zu: \"%s\"", cut, err);
			assert_true(g.n < 3);
			got_free(&g);
		}
	}
	ttlog_batch_unref(b);
}

static void test_payload_flipped_bytes(void **state)
{
	static const unsigned char flips[] = {0x01, 0x02, 0x10, 0x20,
					      0x40, 0x80, 0xFF};
	struct ttlog_batch *b = small_batch();
	unsigned long failed = 0, total = 0;
	(void)state;

	for (int lz = 0; lz < 2; lz++) {
		const void *data;
		size_t len;

		assert_int_equal(ttlog_batch_encode(b,
						    lz ? TTLOG_ENCODING_CBOR_LZ4
						       : TTLOG_ENCODING_CBOR,
						    &data, &len),
				 0);
		for (size_t at = 0; at < len; at++) {
			for (size_t k = 0; k < sizeof(flips); k++) {
				unsigned char *p = dup_exact(data, len);
				struct got g = {0};
				char err[256] = "";
				int r;

				p[at] ^= flips[k];
				r = decode(p, len, lz ? TTLOG_WIRE_DATA_LZ4 : 0,
					   MAX_DECODED, &g, err, sizeof(err));
				assert_true(r == 0 || r == -1);
				if (r != 0 && strstr(err, "offset") == NULL)
					fail_msg("flip %zu ^ 0x%02x: \"%s\"",
						 at, flips[k], err);
				failed += r != 0;
				total++;
				got_free(&g);
				free(p);
			}
		}
	}
	/* The LZ4 content checksum catches every flip there. */
	assert_true(failed > total / 2);
	ttlog_batch_unref(b);
}

static void test_payload_callback_abort(void **state)
{
	struct ttlog_batch *b = small_batch();
	const void *data;
	size_t len;
	struct got g = {0};
	char err[256];
	(void)state;

	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &data, &len), 0);
	g.stop_at = 2;
	g.stop_rc = 77;
	assert_int_equal(decode(data, len, TTLOG_WIRE_DATA_LZ4, MAX_DECODED, &g,
				err, sizeof(err)),
			 77);
	assert_int_equal(g.n, 2);
	got_free(&g);
	g.stop_at = 1;
	g.stop_rc = -5;
	assert_int_equal(decode(data, len, TTLOG_WIRE_DATA_LZ4, MAX_DECODED, &g,
				err, sizeof(err)),
			 -5);
	assert_int_equal(g.n, 1);
	got_free(&g);
	ttlog_batch_unref(b);
}

/* Hand-made batches. `sites` and `events` are written by callbacks. */
struct hand {
	int order; /* 0: v seq callsites events; 1: events first */
	int v;
	int extra_key;
	void (*sites)(struct cb *);
	void (*events)(struct cb *);
};

static void site_basic(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 5);
	cb_text(b, "m");
	cb_text(b, "f.c");
	cb_uint(b, 9);
	cb_uint(b, 2);
	cb_head(b, 4, 2);
	cb_text(b, "a");
	cb_bytes(b, "b\xff", 2);
}

/* [time, tid, cs, flags] with two values. */
static void event_head(struct cb *b, uint64_t cs, uint64_t nvals)
{
	cb_head(b, 4, 4 + nvals);
	cb_uint(b, 1000);
	cb_uint(b, 7);
	cb_uint(b, cs);
	cb_uint(b, 0);
}

static void events_floats(struct cb *b)
{
	cb_head(b, 4, 3);
	event_head(b, 0, 2);
	cb_raw(b, "\xf9\x3e\x00", 3);	      /* half 1.5 */
	cb_raw(b, "\xfa\xc0\x20\x00\x00", 5); /* single -2.5 */
	event_head(b, 0, 2);
	cb_raw(b, "\xf9\x7c\x00", 3); /* half +inf */
	cb_raw(b, "\xf9\x00\x01", 3); /* smallest half denormal */
	event_head(b, 0, 2);
	cb_raw(b, "\xf9\xfe\x00", 3); /* half NaN */
	cb_raw(b, "\xf9\x80\x00", 3); /* half -0 */
}

static unsigned char *hand_make(const struct hand *h, size_t *len)
{
	struct cb b = {0};

	cb_head(&b, 5, 4 + (h->extra_key != 0));
	if (h->order == 1) {
		cb_text(&b, "events");
		h->events(&b);
	}
	if (h->extra_key) {
		cb_text(&b, "later");
		cb_head(&b, 5, 1);
		cb_text(&b, "x");
		cb_head(&b, 4, 2);
		cb_uint(&b, 1);
		cb_head(&b, 6, 55);
		cb_uint(&b, 2);
	}
	cb_text(&b, "v");
	cb_uint(&b, (uint64_t)h->v);
	cb_text(&b, "seq");
	cb_uint(&b, 3);
	cb_text(&b, "callsites");
	h->sites(&b);
	if (h->order == 0) {
		cb_text(&b, "events");
		h->events(&b);
	}
	*len = b.n;
	return b.d;
}

static int hand_decode(const struct hand *h, struct got *g, char *err,
		       size_t errlen)
{
	size_t len;
	unsigned char *p = hand_make(h, &len);
	int r = decode(p, len, 0, MAX_DECODED, g, err, errlen);
	free(p);
	return r;
}

/* 2^k, exactly, without libm. */
static double pow2(int k)
{
	double r = 1;
	for (; k > 0; k--)
		r *= 2;
	for (; k < 0; k++)
		r /= 2;
	return r;
}

static void test_payload_short_floats_and_key_order(void **state)
{
	struct hand h = {0, 1, 0, site_basic, events_floats};
	struct got g = {0};
	char err[256] = "";
	(void)state;

	for (h.order = 0; h.order < 2; h.order++) {
		for (h.extra_key = 0; h.extra_key < 2; h.extra_key++) {
			if (hand_decode(&h, &g, err, sizeof(err)) != 0)
				fail_msg("%s", err);
			assert_int_equal(g.n, 3);
			assert_true(g.ev[0].fields[0].v.f64 == 1.5);
			assert_true(g.ev[0].fields[1].v.f64 == -2.5);
			assert_true(isinf(g.ev[1].fields[0].v.f64));
			assert_true(g.ev[1].fields[1].v.f64 == pow2(-24));
			assert_true(isnan(g.ev[2].fields[0].v.f64));
			assert_true(g.ev[2].fields[1].v.f64 == 0.0);
			assert_true(signbit(g.ev[2].fields[1].v.f64));
			assert_int_equal(g.ev[0].fields[0].type,
					 TTLOG_TYPE_F64);
			assert_int_equal(g.ev[0].level, TTLOG_LEVEL_INFO);
			assert_string_equal(g.ev[0].source, "f.c");
			assert_int_equal(g.ev[0].line, 9);
			assert_int_equal(g.ev[0].fields[1].key_len, 2);
			assert_memory_equal(g.ev[0].fields[1].key, "b\xff", 2);
			got_free(&g);
		}
	}
}

/* Every half-precision value converts exactly. */
static void test_payload_every_half_float(void **state)
{
	(void)state;
	for (uint32_t hbits = 0; hbits < 0x10000; hbits++) {
		unsigned e = (hbits >> 10) & 0x1F, m = hbits & 0x3FF;
		double want, got = 0;
		struct cb b = {0};
		struct got g = {0};
		char err[256];

		if (e == 0)
			want = m * pow2(-24);
		else if (e == 31)
			want = m ? NAN : INFINITY;
		else
			want = (m + 1024) * pow2((int)e - 25);
		if (hbits & 0x8000)
			want = -want;
		cb_head(&b, 5, 4);
		cb_text(&b, "v");
		cb_uint(&b, 1);
		cb_text(&b, "seq");
		cb_uint(&b, 1);
		cb_text(&b, "callsites");
		site_basic(&b);
		cb_text(&b, "events");
		cb_head(&b, 4, 1);
		event_head(&b, 0, 2);
		cb_byte(&b, 0xF9);
		cb_byte(&b, (unsigned char)(hbits >> 8));
		cb_byte(&b, (unsigned char)hbits);
		cb_byte(&b, 0xF4);
		assert_int_equal(
			decode(b.d, b.n, 0, MAX_DECODED, &g, err, sizeof(err)),
			0);
		got = g.ev[0].fields[0].v.f64;
		if (isnan(want))
			assert_true(isnan(got));
		else
			assert_memory_equal(&got, &want, sizeof(got));
		assert_int_equal(g.ev[0].fields[1].type, TTLOG_TYPE_BOOL);
		assert_int_equal(g.ev[0].fields[1].v.b, 0);
		got_free(&g);
		cb_free(&b);
	}
}

static void site_level9(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 5);
	cb_text(b, "m");
	cb_text(b, "f.c");
	cb_uint(b, 9);
	cb_uint(b, 9); /* no such level */
	cb_head(b, 4, 0);
}

static void events_one_plain(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 0);
}

static void test_payload_level_past_fatal_is_fatal(void **state)
{
	struct hand h = {0, 1, 0, site_level9, events_one_plain};
	struct got g = {0};
	char err[256] = "";
	(void)state;

	if (hand_decode(&h, &g, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(g.ev[0].level, TTLOG_LEVEL_FATAL);
	got_free(&g);
}

/* Version 2: events with flag 2 carry their own message before the
 * values; the others take the call site's. */
static void events_own_msg(struct cb *b)
{
	cb_head(b, 4, 3);
	cb_head(b, 4, 4 + 1 + 2);
	cb_uint(b, 1000);
	cb_uint(b, 7);
	cb_uint(b, 0);
	cb_uint(b, 2);
	cb_text(b, "own text");
	cb_uint(b, 1);
	cb_text(b, "x");
	event_head(b, 0, 2);
	cb_uint(b, 2);
	cb_text(b, "y");
	cb_head(b, 4, 4 + 1 + 2);
	cb_uint(b, 1001);
	cb_uint(b, 7);
	cb_uint(b, 0);
	cb_uint(b, 3); /* truncated, own message */
	cb_bytes(b, "\xff\0z", 3);
	cb_uint(b, 3);
	cb_text(b, "z");
}

static void events_own_msg_int(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 4 + 1 + 2);
	cb_uint(b, 1000);
	cb_uint(b, 7);
	cb_uint(b, 0);
	cb_uint(b, 2);
	cb_uint(b, 5);
	cb_uint(b, 1);
	cb_text(b, "x");
}

static void test_payload_v2_own_messages(void **state)
{
	struct hand h = {0, 2, 0, site_basic, events_own_msg};
	struct got g = {0};
	char err[256] = "";
	(void)state;

	if (hand_decode(&h, &g, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.ev[0].msg_len, 8);
	assert_memory_equal(g.ev[0].msg, "own text", 8);
	assert_true(g.ev[0].msg_varies);
	assert_int_equal(g.ev[0].fields[0].v.u64, 1);
	assert_int_equal(g.ev[1].msg_len, 1);
	assert_memory_equal(g.ev[1].msg, "m", 1);
	assert_false(g.ev[1].msg_varies);
	assert_int_equal(g.ev[1].fields[0].v.u64, 2);
	assert_int_equal(g.ev[2].msg_len, 3);
	assert_memory_equal(g.ev[2].msg, "\xff\0z", 3);
	assert_true(g.ev[2].msg_varies);
	assert_true(g.ev[2].truncated);
	assert_int_equal(g.ev[2].fields[1].v.str.len, 1);
	got_free(&g);
}

/* Bad input: each makes the decoder fail with a message naming it. */
static void site_65_keys(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 5);
	cb_text(b, "m");
	cb_text(b, "f.c");
	cb_uint(b, 1);
	cb_uint(b, 1);
	cb_head(b, 4, 65);
	for (int i = 0; i < 65; i++)
		cb_text(b, "k");
}

static void site_4_items(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 4);
	cb_text(b, "m");
	cb_text(b, "f.c");
	cb_uint(b, 1);
	cb_uint(b, 1);
}

static void site_line_big(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 5);
	cb_text(b, "m");
	cb_text(b, "f.c");
	cb_uint(b, 1ull << 32);
	cb_uint(b, 1);
	cb_head(b, 4, 0);
}

static void site_file_int(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 5);
	cb_text(b, "m");
	cb_uint(b, 1);
	cb_uint(b, 1);
	cb_uint(b, 1);
	cb_head(b, 4, 0);
}

static void sites_huge_count(struct cb *b)
{
	cb_head(b, 4, 0xFFFFFFFFFFull);
}

static void sites_not_array(struct cb *b)
{
	cb_text(b, "no");
}

static void events_bad_index(struct cb *b)
{
	cb_head(b, 4, 2);
	event_head(b, 0, 2);
	cb_uint(b, 1);
	cb_uint(b, 2);
	event_head(b, 1, 2);
	cb_uint(b, 1);
	cb_uint(b, 2);
}

static void events_wrong_count(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 3);
	cb_uint(b, 1);
	cb_uint(b, 2);
	cb_uint(b, 3);
}

static void events_short_array(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 3);
	cb_uint(b, 1700000000000000000ull);
	cb_uint(b, 1);
	cb_uint(b, 0);
}

static void events_null_value(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_uint(b, 1);
	cb_byte(b, 0xF6);
}

static void events_array_value(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_head(b, 4, 0);
	cb_uint(b, 1);
}

static void events_tag_value(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_head(b, 6, 1);
	cb_uint(b, 1);
	cb_uint(b, 1);
}

static void events_neg_too_big(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_head(b, 1, 1ull << 63); /* -2^63 - 1 */
	cb_uint(b, 1);
}

static void events_neg_min(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_head(b, 1, (1ull << 63) - 1); /* INT64_MIN */
	cb_uint(b, 1);
}

static void events_indefinite(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_byte(b, 0x7F); /* indefinite text */
	cb_text(b, "a");
	cb_byte(b, 0xFF);
	cb_uint(b, 1);
}

static void events_string_past_end(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_uint(b, 1);
	cb_head(b, 3, 1000);
}

static void events_tid_big(struct cb *b)
{
	cb_head(b, 4, 1);
	cb_head(b, 4, 6);
	cb_uint(b, 1);
	cb_uint(b, 1ull << 32);
	cb_uint(b, 0);
	cb_uint(b, 0);
	cb_uint(b, 1);
	cb_uint(b, 1);
}

static void events_huge_count(struct cb *b)
{
	cb_head(b, 4, UINT64_MAX);
}

static void events_reserved_info(struct cb *b)
{
	cb_head(b, 4, 1);
	event_head(b, 0, 2);
	cb_byte(b, 0x1C); /* uint with additional information 28 */
	cb_uint(b, 1);
}

static void test_payload_bad_structure(void **state)
{
	static const struct {
		struct hand h;
		const char *want; /* in the error */
		size_t delivered;
	} cases[] = {
		{{0, 3, 0, site_basic, events_floats}, "version 3", 0},
		{{0, 0, 0, site_basic, events_floats}, "version 0", 0},
		/* Flag 2 means nothing in version 1: one item too many. */
		{{0, 1, 0, site_basic, events_own_msg},
		 "event 0: 3 items after the flags for the 2 keys",
		 0},
		{{0, 2, 0, site_basic, events_own_msg_int},
		 "event 0: the message is not a string",
		 0},
		{{0, 1, 0, site_65_keys, events_one_plain},
		 "more than 64 keys",
		 0},
		{{0, 1, 0, site_4_items, events_one_plain},
		 "not an array of 5 items",
		 0},
		{{0, 1, 0, site_line_big, events_one_plain}, "line", 0},
		{{0, 1, 0, site_file_int, events_one_plain},
		 "the file is not a string",
		 0},
		{{0, 1, 0, sites_huge_count, events_one_plain},
		 "call sites cannot fit",
		 0},
		{{0, 1, 0, sites_not_array, events_one_plain},
		 "\"callsites\" is not an array",
		 0},
		{{0, 1, 0, site_basic, events_bad_index},
		 "event 1: call site 1 out of range (1 call sites)",
		 1},
		{{0, 1, 0, site_basic, events_wrong_count},
		 "3 items after the flags for the 2 keys of call site 0",
		 0},
		{{0, 1, 0, site_basic, events_short_array},
		 "not an array of 4 items",
		 0},
		{{0, 1, 0, site_basic, events_null_value}, "null", 0},
		{{0, 1, 0, site_basic, events_array_value},
		 "array, map or tag",
		 0},
		{{0, 1, 0, site_basic, events_tag_value},
		 "array, map or tag",
		 0},
		{{0, 1, 0, site_basic, events_neg_too_big},
		 "below INT64_MIN",
		 0},
		{{0, 1, 0, site_basic, events_indefinite}, "indefinite", 0},
		{{0, 1, 0, site_basic, events_string_past_end},
		 "past the end",
		 0},
		{{0, 1, 0, site_basic, events_tid_big}, "tid", 0},
		{{0, 1, 0, site_basic, events_huge_count},
		 "events cannot fit",
		 0},
		{{0, 1, 0, site_basic, events_reserved_info}, "reserved", 0},
		/* Events first: checked whole before any is delivered. */
		{{1, 1, 0, site_basic, events_bad_index}, "out of range", 1},
		{{1, 3, 0, site_basic, events_floats}, "version 3", 0},
		{{1, 1, 0, site_basic, events_string_past_end},
		 "past the end",
		 0},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		char err[256] = "";

		assert_int_equal(hand_decode(&cases[i].h, &g, err, sizeof(err)),
				 -1);
		if (strstr(err, cases[i].want) == NULL ||
		    strstr(err, "offset") == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
				 cases[i].want);
		assert_int_equal(g.n, cases[i].delivered);
		got_free(&g);
	}

	/* INT64_MIN itself is fine. */
	struct hand h = {0, 1, 0, site_basic, events_neg_min};
	struct got g = {0};
	char err[256] = "";
	if (hand_decode(&h, &g, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(g.ev[0].fields[0].v.i64 == INT64_MIN);
	got_free(&g);
}

static void test_payload_bad_top_level(void **state)
{
	static const struct {
		const char *hex;
		const char *want;
	} cases[] = {
		{"", "end of data"},
		{"80", "not a CBOR map"},
		{"a0", "\"v\" is missing"},
		{"a1617601", "\"seq\" is missing"},
		{"a2617601617601", "appears twice"},
		{"a3617601637365710169", "past the end"},
		{"a201016176", "not a text string"},
		{"bf", "indefinite"},
		{"b9ffff", "cannot fit"},
		{"a461760163736571016963616c6c7369746573806665766"
		 "56e74738000",
		 "1 bytes after the batch map"},
		{"a46176f563736571016963616c6c7369746573806665766"
		 "56e747380",
		 "\"v\" is not an unsigned integer"},
		{"a46176016373657120", "\"seq\" is not an unsigned integer"},
		{"a461760163736571016963616c6c73697465738066657665"
		 "6e747360",
		 "\"events\" is not an array"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char buf[128];
		size_t n = strlen(cases[i].hex) / 2;
		struct got g = {0};
		char err[256] = "";

		for (size_t k = 0; k < n; k++)
			sscanf(cases[i].hex + 2 * k, "%2hhx", &buf[k]);
		assert_int_equal(
			decode(buf, n, 0, MAX_DECODED, &g, err, sizeof(err)),
			-1);
		if (strstr(err, cases[i].want) == NULL ||
		    strstr(err, "offset") == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
				 cases[i].want);
		got_free(&g);
	}
	/* A well-formed empty batch, keys in another order. */
	static const char ok[] = "a46665766"
				 "56e7473806373657101"
				 "6963616c6c73697465738061760"
				 "1";
	unsigned char buf[64];
	size_t n = strlen(ok) / 2;
	struct got g = {0};
	char err[256] = "";
	for (size_t k = 0; k < n; k++)
		sscanf(ok + 2 * k, "%2hhx", &buf[k]);
	if (decode(buf, n, 0, MAX_DECODED, &g, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	got_free(&g);
	/* Not an LZ4 frame at all. */
	assert_int_equal(decode(buf, n, TTLOG_WIRE_DATA_LZ4, MAX_DECODED, &g,
				err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "LZ4 frame"));
	assert_non_null(strstr(err, "offset"));
}

/* ------------------------------------------------------------------ */
/* Speed                                                                */
/* ------------------------------------------------------------------ */

static const char *const http_keys[] = {"status", "path", "ms"};
static const uint8_t http_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_STR,
				     TTLOG_TYPE_F64};
static struct ttlog_callsite cs_http =
	CALLSITE("request done", "server/http.c", 512, TTLOG_LEVEL_INFO, 3,
		 http_keys, http_types);

static int count_fn(void *arg, const struct ttlog__in_event *ev)
{
	uint64_t *sum = arg;
	*sum += ev->nfields + ev->fields[1].v.str.len;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_payload_decode_speed(void **state)
{
	enum { N = 2000 };
	struct ttlog_batch *b = ttlog__batch_new(N, 1 << 20, 1);
	struct ttlog__wire_scratch s = {0};
	struct vals v = {0};
	char path[32];
	(void)state;

	assert_non_null(b);
	for (int i = 0; i < N; i++) {
		vals_i64(&v, 200 + i % 5);
		snprintf(path, sizeof(path), "/api/v1/items/%d", i % 300);
		vals_str(&v, path, strlen(path));
		vals_f64(&v, 0.125 * (i % 97));
		add(b, &cs_http, 1700000000000000000ull + (uint64_t)i * 1000,
		    (uint32_t)(1000 + i % 8), 0, &v);
	}
	vals_free(&v);
	for (int lz = 0; lz < 2; lz++) {
		const void *data;
		size_t len, n;
		uint64_t sum = 0, events = 0;
		double t0, t1, budget = 0.3 * (double)test_scaled(100, 1) / 100;
		char err[256];

		assert_int_equal(ttlog_batch_encode(b,
						    lz ? TTLOG_ENCODING_CBOR_LZ4
						       : TTLOG_ENCODING_CBOR,
						    &data, &len),
				 0);
		t0 = now_s();
		do {
			for (int r = 0; r < 10; r++) {
				assert_int_equal(
					ttlog__wire_payload_decode(
						data, len,
						lz ? TTLOG_WIRE_DATA_LZ4 : 0,
						MAX_DECODED, &s, count_fn, &sum,
						&n, err, sizeof(err)),
					0);
				events += n;
			}
			t1 = now_s();
		} while (t1 - t0 < budget);
		printf("decode speed (%s, %d events of 3 fields, %zu bytes): "
		       "%.2f M events/s\n",
		       lz ? "CBOR+LZ4" : "CBOR", N, len,
		       (double)events / (t1 - t0) / 1e6);
		assert_true(sum > 0);
	}
	ttlog__wire_scratch_free(&s);
	ttlog_batch_unref(b);
}

/* ------------------------------------------------------------------ */
/* The worked example of docs/native-protocol.md                        */
/* ------------------------------------------------------------------ */

static void unhex(const char *hex, unsigned char *out, size_t *n)
{
	size_t k = 0;
	for (const char *p = hex; *p != '\0';) {
		if (*p == ' ' || *p == '\n') {
			p++;
			continue;
		}
		assert_int_equal(sscanf(p, "%2hhx", &out[k]), 1);
		k++;
		p += 2;
	}
	*n = k;
}

/* The sender's hello, the DATA and the ACK exactly as documented. */
static const char doc_hello[] = "0000009301"
				"ac"
				"6576 5f6d696e 01"
				"6576 5f6d6178 01"
				"64 726f6c65 00"
				"62 6964 50 00112233445566778899aabbccddeeff"
				"67 73657276696365 68 636865636b6f7574"
				"64 686f7374 64 77656231"
				"68 736f667477617265 6b 74746c6f6720302e312e30"
				"69 6d61785f6672616d65 1a 01000000"
				"66 77696e646f77 00"
				"68 6c6173745f736571 00"
				"6c 6865617274626561745f6d73 19 2710"
				"66 6f6c64657374 01";
static const char doc_hello_receiver[] =
	"0000008d01"
	"ab"
	"65 765f6d696e 01"
	"65 765f6d6178 01"
	"64 726f6c65 01"
	"62 6964 50 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	"67 73657276696365 60"
	"64 686f7374 6a 636f6c6c6563746f7231"
	"68 736f667477617265 6b 74746c6f6720302e312e30"
	"69 6d61785f6672616d65 1a 04000000"
	"66 77696e646f77 1a 04000000"
	"68 6c6173745f736571 00"
	"6c 6865617274626561745f6d73 19 2710";
static const char doc_data[] =
	"0000005c02"
	"0000000000000001"
	"00000000"
	"00000001"
	"a461760163736571076963616c6c7369746573818562686963612e63030284616e"
	"61786173626f6b666576656e747381881b17979cfe3d85cd15182a000021fb3ff8"
	"00000000000041fff5";
static const char doc_ack[] = "0000000903 0000000000000001";

static void test_documented_example(void **state)
{
	struct ttlog__wire_hello h;
	unsigned char want[700], got[TTLOG_WIRE_HELLO_CAP];
	size_t n, wn;
	struct ttlog__wire_msg m;
	size_t used;
	char err[256];
	(void)state;

	memset(&h, 0, sizeof(h));
	h.version_min = h.version_max = 1;
	h.role = TTLOG_WIRE_SENDER;
	for (int i = 0; i < 16; i++)
		h.id[i] = (uint8_t)(i * 0x11);
	strcpy(h.service, "checkout");
	strcpy(h.host, "web1");
	strcpy(h.software, "ttlog 0.1.0");
	h.max_frame = 16u << 20;
	h.heartbeat_ms = 10000;
	h.oldest = 1;
	n = ttlog__wire_hello_encode(&h, got, sizeof(got));
	unhex(doc_hello, want, &wn);
	assert_int_equal(n, wn);
	assert_memory_equal(got, want, n);

	/* The receiver's answer. */
	memset(&h, 0, sizeof(h));
	h.version_min = h.version_max = 1;
	h.role = TTLOG_WIRE_RECEIVER;
	for (int i = 0; i < 16; i++)
		h.id[i] = (uint8_t)(0xF0 + i);
	strcpy(h.host, "collector1");
	strcpy(h.software, "ttlog 0.1.0");
	h.max_frame = h.window = 64u << 20;
	h.heartbeat_ms = 10000;
	n = ttlog__wire_hello_encode(&h, got, sizeof(got));
	unhex(doc_hello_receiver, want, &wn);
	assert_int_equal(n, wn);
	assert_memory_equal(got, want, n);

	/* The DATA: the batch of docs/cbor-batch.md, uncompressed. */
	unhex(doc_data, want, &wn);
	ttlog__wire_data_prefix(got, 1, 0, 1, wn - TTLOG_WIRE_DATA_PREFIX);
	assert_memory_equal(got, want, TTLOG_WIRE_DATA_PREFIX);
	assert_int_equal(
		ttlog__wire_next(want, wn, 65536, &m, &used, err, sizeof(err)),
		1);
	assert_int_equal(used, wn);
	uint64_t seq;
	uint32_t flags, count;
	const unsigned char *payload;
	size_t plen;
	assert_int_equal(ttlog__wire_data_parse(&m, &seq, &flags, &count,
						&payload, &plen, err,
						sizeof(err)),
			 0);
	struct got g = {0};
	assert_int_equal(
		decode(payload, plen, flags, MAX_DECODED, &g, err, sizeof(err)),
		0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ev[0].tid, 42);
	assert_true(g.ev[0].fields[0].v.i64 == -2);
	got_free(&g);

	unhex(doc_ack, want, &wn);
	ttlog__wire_ack_encode(got, 1);
	assert_int_equal(wn, TTLOG_WIRE_U64_MSG);
	assert_memory_equal(got, want, wn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_next_frames_every_message),
		cmocka_unit_test(test_next_one_byte_at_a_time),
		cmocka_unit_test(test_next_every_two_piece_split),
		cmocka_unit_test(test_next_limits),
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_longest_fits_cap),
		cmocka_unit_test(test_hello_required_keys),
		cmocka_unit_test(test_hello_wrong_types),
		cmocka_unit_test(test_hello_unknown_keys_are_ignored),
		cmocka_unit_test(test_hello_unknown_key_nesting_is_bounded),
		cmocka_unit_test(test_hello_malformed),
		cmocka_unit_test(test_hello_bad_values),
		cmocka_unit_test(test_hello_strings_are_cleaned),
		cmocka_unit_test(test_version_choose),
		cmocka_unit_test(test_data_round_trip),
		cmocka_unit_test(test_data_errors),
		cmocka_unit_test(test_ack_and_heartbeat),
		cmocka_unit_test(test_close_round_trip),
		cmocka_unit_test(test_close_reason_limits),
		cmocka_unit_test(test_payload_all_value_types),
		cmocka_unit_test(test_payload_empty_and_keyless_batches),
		cmocka_unit_test(test_payload_64_fields_via_ingest),
		cmocka_unit_test(test_payload_large_multi_block),
		cmocka_unit_test(test_payload_lz4_without_content_size),
		cmocka_unit_test(test_payload_max_decoded),
		cmocka_unit_test(test_payload_scratch_reuse),
		cmocka_unit_test(test_payload_truncated_at_every_offset),
		cmocka_unit_test(test_payload_flipped_bytes),
		cmocka_unit_test(test_payload_callback_abort),
		cmocka_unit_test(test_payload_short_floats_and_key_order),
		cmocka_unit_test(test_payload_every_half_float),
		cmocka_unit_test(test_payload_level_past_fatal_is_fatal),
		cmocka_unit_test(test_payload_v2_own_messages),
		cmocka_unit_test(test_payload_bad_structure),
		cmocka_unit_test(test_payload_bad_top_level),
		cmocka_unit_test(test_payload_decode_speed),
		cmocka_unit_test(test_documented_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
