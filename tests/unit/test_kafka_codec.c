/* test_kafka_codec.c - the Kafka listener's encoders (plugins/kafka): the
 * per-event CBOR map of format cbor (kaf_cbor.c), read back with libcbor,
 * and the spool record codec (kaf_record.c), round trip and damage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "batch_internal.h"
#include "ingest_internal.h"
#include "kafka_internal.h"
#include "origin_internal.h"
#include "testutil.h"

#define T0 1772694489000000000ull

static struct ttlog__origin *orig;

static int setup(void **state)
{
	(void)state;
	orig = ttlog__origin_make("db1", "shop", "", "10.0.0.1:514", "", "");
	return orig == NULL;
}

static int teardown(void **state)
{
	(void)state;
	ttlog__origin_unref(orig);
	return 0;
}

static void add(struct ttlog__in_event *ev, const char *k, enum ttlog_type t,
		uint64_t bits, const char *s)
{
	struct ttlog__in_field *f = &ev->fields[ev->nfields++];
	f->key = k;
	f->key_len = strlen(k);
	f->type = t;
	if (t == TTLOG_TYPE_STR) {
		f->v.str.ptr = s;
		f->v.str.len = strlen(s);
	} else {
		f->v.u64 = bits;
	}
}

/* One event in a batch of its own, as the CBOR map, parsed. */
static cbor_item_t *encode(struct ttlog__in_event *ev, struct ttlog__buf *out)
{
	struct ttlog_batch *b = ttlog__batch_new(16, 4096, 1);
	struct ttlog_event e;
	struct cbor_load_result r;
	cbor_item_t *item;

	assert_non_null(b);
	assert_int_equal(ttlog__batch_add_in(b, ev, 1, 1, 4096), 0);
	assert_int_equal(ttlog_batch_event(b, 0, &e), 0);
	ttlog__buf_reset(out);
	ttlog__kaf_cbor_event(out, &e, ttlog_batch_origin(b, 0));
	assert_false(out->oom);
	item = cbor_load(out->p, out->len, &r);
	assert_non_null(item);
	assert_int_equal(r.read, out->len); /* nothing after the map */
	ttlog_batch_unref(b);
	return item;
}

static void assert_key(const struct cbor_pair *p, const char *k)
{
	assert_true(cbor_isa_string(p->key));
	assert_int_equal(cbor_string_length(p->key), strlen(k));
	assert_memory_equal(cbor_string_handle(p->key), k, strlen(k));
}

static void assert_text(const cbor_item_t *it, const char *s)
{
	assert_true(cbor_isa_string(it) && cbor_string_is_definite(it));
	assert_int_equal(cbor_string_length(it), strlen(s));
	assert_memory_equal(cbor_string_handle(it), s, strlen(s));
}

static void test_cbor_map_has_every_part_in_order(void **state)
{
	struct ttlog__in_event ev;
	struct ttlog__buf out = {0};
	double pi = 3.25;
	uint64_t pib;
	cbor_item_t *m, *f, *s, *o;
	struct cbor_pair *p;
	(void)state;

	memcpy(&pib, &pi, sizeof(pib));
	memset(&ev, 0, sizeof(ev));
	ev.time_ns = T0;
	ev.origin = orig;
	ev.level = TTLOG_LEVEL_ERROR;
	ev.msg = "disk full";
	ev.msg_len = 9;
	ev.msg_varies = 1;
	ev.source = "app.c";
	ev.line = 42;
	ev.tid = 7;
	ev.truncated = 1;
	add(&ev, "n", TTLOG_TYPE_I64, (uint64_t)-5, NULL);
	add(&ev, "big", TTLOG_TYPE_U64, UINT64_MAX, NULL);
	add(&ev, "pi", TTLOG_TYPE_F64, pib, NULL);
	add(&ev, "ok", TTLOG_TYPE_BOOL, 1, NULL);
	add(&ev, "n", TTLOG_TYPE_STR, 0, "again");
	m = encode(&ev, &out);
	assert_true(cbor_isa_map(m) && cbor_map_is_definite(m));
	assert_int_equal(cbor_map_size(m), 7);
	p = cbor_map_handle(m);
	assert_key(&p[0], "t");
	assert_int_equal(cbor_get_int(p[0].value), T0);
	assert_key(&p[1], "l");
	assert_int_equal(cbor_get_int(p[1].value), TTLOG_LEVEL_ERROR);
	assert_key(&p[2], "m");
	assert_text(p[2].value, "disk full");
	assert_key(&p[3], "o");
	o = p[3].value;
	/* Only the origin strings that are set. */
	assert_int_equal(cbor_map_size(o), 3);
	assert_key(&cbor_map_handle(o)[0], "host");
	assert_text(cbor_map_handle(o)[0].value, "db1");
	assert_key(&cbor_map_handle(o)[1], "service");
	assert_key(&cbor_map_handle(o)[2], "peer");
	assert_text(cbor_map_handle(o)[2].value, "10.0.0.1:514");
	assert_key(&p[4], "s");
	s = p[4].value;
	assert_int_equal(cbor_array_size(s), 3);
	assert_text(cbor_array_handle(s)[0], "app.c");
	assert_int_equal(cbor_get_int(cbor_array_handle(s)[1]), 42);
	assert_int_equal(cbor_get_int(cbor_array_handle(s)[2]), 7);
	assert_key(&p[5], "f");
	f = p[5].value;
	assert_int_equal(cbor_array_size(f), 5);
	/* -5 is a negative integer: major type 1, argument 4. */
	assert_true(
		cbor_isa_negint(cbor_array_handle(cbor_array_handle(f)[0])[1]));
	assert_int_equal(
		cbor_get_int(cbor_array_handle(cbor_array_handle(f)[0])[1]), 4);
	assert_int_equal(
		cbor_get_uint64(cbor_array_handle(cbor_array_handle(f)[1])[1]),
		UINT64_MAX);
	assert_true(cbor_float_get_float8(cbor_array_handle(
			    cbor_array_handle(f)[2])[1]) == pi);
	assert_true(
		cbor_get_bool(cbor_array_handle(cbor_array_handle(f)[3])[1]));
	/* A repeated key stays, in the event's order. */
	assert_text(cbor_array_handle(cbor_array_handle(f)[4])[0], "n");
	assert_text(cbor_array_handle(cbor_array_handle(f)[4])[1], "again");
	assert_key(&p[6], "x");
	assert_int_equal(cbor_get_int(p[6].value), TTLOG_EVENT_TRUNCATED);
	cbor_decref(&m);
	ttlog__buf_free(&out);
}

static void test_cbor_map_leaves_out_absent_parts(void **state)
{
	struct ttlog__in_event ev;
	struct ttlog__buf out = {0};
	cbor_item_t *m;
	(void)state;

	memset(&ev, 0, sizeof(ev));
	ev.time_ns = 1;
	ev.level = TTLOG_LEVEL_INFO;
	ev.msg = "";
	ev.msg_varies = 1;
	ev.source = "stdin";
	ev.origin = ttlog__origin_make("", "", "", "", "", "");
	m = encode(&ev, &out);
	/* No origin, no source line, no fields, no flags: t, l, m. */
	assert_int_equal(cbor_map_size(m), 3);
	assert_key(&cbor_map_handle(m)[2], "m");
	assert_text(cbor_map_handle(m)[2].value, "");
	cbor_decref(&m);
	ttlog__origin_unref(ev.origin);
	ttlog__buf_free(&out);
}

static void test_record_round_trip_and_damage(void **state)
{
	struct ttlog__buf rec = {0};
	struct kaf_msg in[3] = {
		{TTLOG_KAFKA_FMT_JSON, "logs.web", "h1", 8, 2, "{\"a\":1}", 7},
		{TTLOG_KAFKA_FMT_CBOR, "logs.db", NULL, 7, 0, "\xa0", 1},
		{TTLOG_KAFKA_FMT_TTLOG, "t", "", 1, 0, "", 0},
	};
	struct kaf_msg m;
	size_t off = 0;
	(void)state;

	for (int i = 0; i < 3; i++)
		ttlog__kaf_record_put(&rec, &in[i]);
	assert_false(rec.oom);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			ttlog__kaf_record_next(rec.p, rec.len, &off, &m), 1);
		assert_int_equal(m.format, in[i].format);
		assert_int_equal(m.topic_len, in[i].topic_len);
		assert_memory_equal(m.topic, in[i].topic, m.topic_len);
		/* No key and an empty key stay apart. */
		assert_int_equal(m.key == NULL, in[i].key == NULL);
		assert_int_equal(m.key_len, in[i].key_len);
		assert_int_equal(m.len, in[i].len);
		if (m.len)
			assert_memory_equal(m.value, in[i].value, m.len);
	}
	assert_int_equal(ttlog__kaf_record_next(rec.p, rec.len, &off, &m), 0);
	/* Cut anywhere inside: refused, never read past the end. */
	for (size_t cut = 1; cut < rec.len; cut++) {
		int rc;
		off = 0;
		while ((rc = ttlog__kaf_record_next(rec.p, cut, &off, &m)) == 1)
			assert_true(off <= cut);
		if (rc == 0)
			assert_int_equal(off, cut); /* cut between messages */
	}
	/* An unknown format byte. */
	rec.p[0] = 99;
	off = 0;
	assert_int_equal(ttlog__kaf_record_next(rec.p, rec.len, &off, &m), -1);
	ttlog__buf_free(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cbor_map_has_every_part_in_order),
		cmocka_unit_test(test_cbor_map_leaves_out_absent_parts),
		cmocka_unit_test(test_record_round_trip_and_damage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
