/*
 * test_kafka_input_decode.c - the kafka input's decoders
 * (agent/inputs/input_kafka_decode.c): which format a message is read as
 * (`format: auto` and the ttlog-format header), and the cbor map of
 * kafka/kafka_conf.h into an event and its origin. The CBOR here is built
 * by hand from the layout that header describes, not by the listener's
 * encoder, so that the two are checked against the document.
 */
#include <stdint.h>
#include <string.h>

#include "input_kafka.h"
#include "kafka_conf.h"
#include "parse_internal.h"
#include "testutil.h"

/* ---- a tiny CBOR writer ---- */

struct cb {
	unsigned char b[4096];
	size_t n;
};

static void head(struct cb *c, unsigned major, uint64_t v)
{
	unsigned char m = (unsigned char)(major << 5);

	if (v < 24) {
		c->b[c->n++] = (unsigned char)(m | v);
	} else if (v < 256) {
		c->b[c->n++] = m | 24;
		c->b[c->n++] = (unsigned char)v;
	} else if (v < 65536) {
		c->b[c->n++] = m | 25;
		c->b[c->n++] = (unsigned char)(v >> 8);
		c->b[c->n++] = (unsigned char)v;
	} else {
		c->b[c->n++] = m | 27;
		for (int i = 7; i >= 0; i--)
			c->b[c->n++] = (unsigned char)(v >> (8 * i));
	}
}

static void text(struct cb *c, const char *s)
{
	head(c, 3, strlen(s));
	memcpy(c->b + c->n, s, strlen(s));
	c->n += strlen(s);
}

static void f64(struct cb *c, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	c->b[c->n++] = 0xfb;
	for (int i = 7; i >= 0; i--)
		c->b[c->n++] = (unsigned char)(u >> (8 * i));
}

/* What one test decodes into. */
struct fx {
	struct cb c;
	struct ttlog__in_event ev;
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS];
	struct ttlog__scratch s;
	char err[256];
};

static int decode(struct fx *f)
{
	memset(f->org, 0, sizeof(f->org));
	return ttlog__kafka_cbor_decode(f->c.b, f->c.n, &f->ev, f->org, &f->s,
					f->err, sizeof(f->err));
}

static int str_is(const char *p, size_t n, const char *want)
{
	return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

/* ---- tests ---- */

static void test_kafka_detect_header_then_first_byte(void **state)
{
	(void)state;
	/* A header decides, whatever the value looks like. */
	assert_int_equal(ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, "cbor", 4,
					     "{\"a\":1}", 7),
			 TTLOG_KAFKA_FMT_CBOR);
	assert_int_equal(
		ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, "ttlog", 5, "x", 1),
		TTLOG_KAFKA_FMT_TTLOG);
	assert_int_equal(
		ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, "syslog", 6, "{", 1),
		TTLOG_KAFKA_FMT_SYSLOG);
	/* An unknown header value: undecodable. */
	assert_int_equal(
		ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, "xml", 3, "<a/>", 4),
		-1);
	/* Without one, the first byte. */
	assert_int_equal(ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, NULL, 0,
					     "{\"msg\":1}", 9),
			 TTLOG_KAFKA_FMT_JSON);
	assert_int_equal(ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, NULL, 0,
					     "<13>1 -", 7),
			 TTLOG_KAFKA_FMT_SYSLOG);
	assert_int_equal(
		ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, NULL, 0, "plain", 5),
		TTLOG__KAFKA_FMT_RAW);
	assert_int_equal(
		ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, NULL, 0, NULL, 0),
		TTLOG__KAFKA_FMT_RAW);
	/* A configured format is not second-guessed. */
	assert_int_equal(
		ttlog__kafka_detect(TTLOG_KAFKA_FMT_JSON, "cbor", 4, "<", 1),
		TTLOG_KAFKA_FMT_JSON);
}

static void test_kafka_cbor_every_key(void **state)
{
	struct fx f = {0};
	(void)state;

	head(&f.c, 5, 7);
	text(&f.c, "t");
	head(&f.c, 0, 1700000000123456789ull);
	text(&f.c, "l");
	head(&f.c, 0, TTLOG_LEVEL_WARN);
	text(&f.c, "m");
	text(&f.c, "disk almost full");
	text(&f.c, "o");
	head(&f.c, 5, 3);
	text(&f.c, "host");
	text(&f.c, "web1");
	text(&f.c, "service");
	text(&f.c, "api");
	text(&f.c, "peer");
	text(&f.c, "10.0.0.5:4000");
	text(&f.c, "s");
	head(&f.c, 4, 3);
	text(&f.c, "src/disk.c");
	head(&f.c, 0, 321);
	head(&f.c, 0, 77);
	text(&f.c, "f");
	head(&f.c, 4, 5);
	head(&f.c, 4, 2);
	text(&f.c, "free");
	head(&f.c, 0, 1024);
	head(&f.c, 4, 2);
	text(&f.c, "delta");
	head(&f.c, 1, 4); /* -5 */
	head(&f.c, 4, 2);
	text(&f.c, "ratio");
	f64(&f.c, 0.25);
	head(&f.c, 4, 2);
	text(&f.c, "ok");
	f.c.b[f.c.n++] = 0xf5; /* true */
	head(&f.c, 4, 2);
	text(&f.c, "free"); /* keys may repeat */
	text(&f.c, "lots");
	text(&f.c, "x");
	head(&f.c, 0, 1);

	assert_int_equal(decode(&f), 0);
	assert_true(f.ev.time_ns == 1700000000123456789ull);
	assert_int_equal(f.ev.level, TTLOG_LEVEL_WARN);
	assert_true(str_is(f.ev.msg, f.ev.msg_len, "disk almost full"));
	assert_true(f.ev.msg_varies);
	assert_true(f.ev.truncated);
	assert_string_equal(f.ev.source, "src/disk.c");
	assert_int_equal(f.ev.line, 321);
	assert_int_equal(f.ev.tid, 77);
	assert_true(str_is(f.org[TTLOG__ORIGIN_HOST].p,
			   f.org[TTLOG__ORIGIN_HOST].len, "web1"));
	assert_true(str_is(f.org[TTLOG__ORIGIN_SERVICE].p,
			   f.org[TTLOG__ORIGIN_SERVICE].len, "api"));
	assert_true(str_is(f.org[TTLOG__ORIGIN_PEER].p,
			   f.org[TTLOG__ORIGIN_PEER].len, "10.0.0.5:4000"));
	assert_null(f.org[TTLOG__ORIGIN_INPUT].p);
	assert_int_equal(f.ev.nfields, 5);
	assert_true(str_is(f.ev.fields[0].key, f.ev.fields[0].key_len, "free"));
	assert_int_equal(f.ev.fields[0].type, TTLOG_TYPE_U64);
	assert_true(f.ev.fields[0].v.u64 == 1024);
	assert_int_equal(f.ev.fields[1].type, TTLOG_TYPE_I64);
	assert_true(f.ev.fields[1].v.i64 == -5);
	assert_int_equal(f.ev.fields[2].type, TTLOG_TYPE_F64);
	assert_true(f.ev.fields[2].v.f64 == 0.25);
	assert_int_equal(f.ev.fields[3].type, TTLOG_TYPE_BOOL);
	assert_true(f.ev.fields[3].v.b);
	assert_int_equal(f.ev.fields[4].type, TTLOG_TYPE_STR);
	assert_true(str_is(f.ev.fields[4].v.str.ptr, f.ev.fields[4].v.str.len,
			   "lots"));
	ttlog__scratch_destroy(&f.s);
}

/* Only a message: the input's defaults, no origin, and a later
 * version's key passed over whatever it holds. */
static void test_kafka_cbor_minimal_and_unknown_keys(void **state)
{
	struct fx f = {0};
	(void)state;

	head(&f.c, 5, 3);
	text(&f.c, "zz");
	head(&f.c, 4, 2);
	head(&f.c, 5, 1);
	text(&f.c, "a");
	head(&f.c, 0, 1);
	text(&f.c, "b");
	text(&f.c, "m");
	text(&f.c, "hi");
	text(&f.c, "q");
	head(&f.c, 0, 9);
	assert_int_equal(decode(&f), 0);
	assert_true(str_is(f.ev.msg, f.ev.msg_len, "hi"));
	assert_int_equal(f.ev.level, TTLOG_LEVEL_INFO);
	assert_string_equal(f.ev.source, "kafka");
	assert_int_equal(f.ev.line, 0);
	assert_int_equal(f.ev.nfields, 0);
	assert_false(f.ev.truncated);
	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++)
		assert_null(f.org[i].p);
	ttlog__scratch_destroy(&f.s);
}

/* Past TTLOG__IN_MAX_FIELDS: the rest is left out, the event flagged. */
static void test_kafka_cbor_too_many_fields_cut(void **state)
{
	struct fx f = {0};
	(void)state;

	head(&f.c, 5, 2);
	text(&f.c, "m");
	text(&f.c, "many");
	text(&f.c, "f");
	head(&f.c, 4, TTLOG__IN_MAX_FIELDS + 6);
	for (int i = 0; i < TTLOG__IN_MAX_FIELDS + 6; i++) {
		head(&f.c, 4, 2);
		text(&f.c, "k");
		head(&f.c, 0, (uint64_t)i);
	}
	assert_int_equal(decode(&f), 0);
	assert_int_equal(f.ev.nfields, TTLOG__IN_MAX_FIELDS);
	assert_true(f.ev.fields[TTLOG__IN_MAX_FIELDS - 1].v.u64 ==
		    TTLOG__IN_MAX_FIELDS - 1);
	assert_true(f.ev.truncated);
	ttlog__scratch_destroy(&f.s);
}

/* Each a message the decoder must refuse, with a reason. */
static void test_kafka_cbor_refuses_malformed(void **state)
{
	static const struct {
		const char *what;
		unsigned char b[24];
		size_t n;
	} bad[] = {
		{"not a map", {0x83, 1, 2, 3}, 4},
		{"empty", {0}, 0},
		{"m not text", {0xa1, 0x61, 'm', 0x05}, 4},
		{"key not text", {0xa1, 0x01, 0x61, 'x'}, 4},
		{"truncated text", {0xa1, 0x61, 'm', 0x65, 'a', 'b'}, 6},
		{"bytes after", {0xa1, 0x61, 'm', 0x61, 'a', 0x00}, 6},
		{"pairs missing", {0xa2, 0x61, 'm', 0x61, 'a'}, 5},
		{"s not 3 items", {0xa1, 0x61, 's', 0x82, 0x61, 'f', 0x01}, 7},
		{"o value not text",
		 {0xa1, 0x61, 'o', 0xa1, 0x61, 'h', 0x01},
		 7},
		{"field not a pair",
		 {0xa1, 0x61, 'f', 0x81, 0x83, 0x61, 'k', 1, 2},
		 9},
		{"field value a map",
		 {0xa1, 0x61, 'f', 0x81, 0x82, 0x61, 'k', 0xa0},
		 8},
		{"l negative", {0xa1, 0x61, 'l', 0x20}, 4},
		{"indefinite map", {0xbf, 0x61, 'm', 0x61, 'a', 0xff}, 6},
	};
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS];
	struct ttlog__scratch s = {0};
	struct ttlog__in_event ev;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		memset(org, 0, sizeof(org));
		if (ttlog__kafka_cbor_decode(bad[i].b, bad[i].n, &ev, org, &s,
					     err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].what);
		assert_true(strncmp(err, "cbor: ", 6) == 0);
	}
	ttlog__scratch_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_detect_header_then_first_byte),
		cmocka_unit_test(test_kafka_cbor_every_key),
		cmocka_unit_test(test_kafka_cbor_minimal_and_unknown_keys),
		cmocka_unit_test(test_kafka_cbor_too_many_fields_cut),
		cmocka_unit_test(test_kafka_cbor_refuses_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
