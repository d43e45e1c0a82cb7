/* test_log.c - the application API: level gate, typed fields, truncation,
 * drops, init/shutdown/flush, listener answers and statistics. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <ttlog/ttlog.h>

#include "capture.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "testutil.h"

static struct capture cap;

static int teardown(void **state)
{
	(void)state;
	ttlog_shutdown();
	capture_reset(&cap);
	ttlog_set_level(TTLOG_LEVEL_INFO);
	return 0;
}

static int evaluations;
static int side_effect(void)
{
	return ++evaluations;
}

static void test_level_gate_does_not_evaluate_arguments(void **state)
{
	(void)state;
	evaluations = 0;
	/* Before init nothing is logged and nothing evaluated. */
	TTLOG_FATAL("before init", TTLOG_KV("n", side_effect()));
	assert_int_equal(evaluations, 0);

	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_WARN), 0);
	TTLOG_INFO("filtered", TTLOG_KV("n", side_effect()));
	TTLOG_DEBUG("filtered", TTLOG_KV("n", side_effect()),
		    TTLOG_KV("m", side_effect()));
	assert_int_equal(evaluations, 0);
	TTLOG_WARN("kept", TTLOG_KV("n", side_effect()));
	assert_int_equal(evaluations, 1);
	ttlog_set_level(TTLOG_LEVEL_TRACE);
	TTLOG_TRACE("kept too", TTLOG_KV("n", side_effect()));
	assert_int_equal(evaluations, 2);
	ttlog_flush();
	assert_int_equal(cap.n, 2);
	assert_string_equal(cap.ev[0].msg, "kept");
	assert_int_equal(cap.ev[0].level, TTLOG_LEVEL_WARN);
	assert_int_equal(cap.ev[1].f[0].v.i64, 2);
	assert_int_equal(cap.ev[1].level, TTLOG_LEVEL_TRACE);
}

static void *log_one_info(void *arg)
{
	(void)arg;
	TTLOG_INFO("from another thread");
	return NULL;
}

static void test_set_level_applies_to_every_thread_at_once(void **state)
{
	pthread_t t;
	(void)state;
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	assert_int_equal(ttlog_get_level(), TTLOG_LEVEL_INFO);
	ttlog_set_level(TTLOG_LEVEL_ERROR);
	assert_int_equal(ttlog_get_level(), TTLOG_LEVEL_ERROR);
	pthread_create(&t, NULL, log_one_info, NULL);
	pthread_join(t, NULL);
	ttlog_set_level(TTLOG_LEVEL_OFF);
	TTLOG_FATAL("off");
	ttlog_set_level(TTLOG_LEVEL_INFO);
	pthread_create(&t, NULL, log_one_info, NULL);
	pthread_join(t, NULL);
	ttlog_flush();
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.ev[0].msg, "from another thread");
	/* Out-of-range levels are refused. */
	ttlog_set_level((enum ttlog_level)42);
	assert_int_equal(ttlog_get_level(), TTLOG_LEVEL_INFO);
	assert_string_equal(ttlog_level_name(TTLOG_LEVEL_WARN), "WARN");
	assert_string_equal(ttlog_level_name((enum ttlog_level) - 1), "?");
}

static void test_every_value_type_keeps_its_type_and_value(void **state)
{
	(void)state;
	char c = 'x';
	signed char sc = -5;
	unsigned char uc = 250;
	short s = -30000;
	unsigned short us = 65000;
	int i = INT32_MIN;
	unsigned u = UINT32_MAX;
	long l = INT64_MIN;
	unsigned long ul = UINT64_MAX;
	long long ll = INT64_MAX;
	unsigned long long ull = 1;
	float f = 0.5f;
	double d = -0.0;
	bool b = true;
	char buf[] = "mutable";
	const char *null_str = NULL;

	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	TTLOG_INFO("types", TTLOG_KV("c", c), TTLOG_KV("sc", sc),
		   TTLOG_KV("uc", uc), TTLOG_KV("s", s), TTLOG_KV("us", us),
		   TTLOG_KV("i", i), TTLOG_KV("u", u), TTLOG_KV("l", l),
		   TTLOG_KV("ul", ul), TTLOG_KV("ll", ll), TTLOG_KV("ull", ull),
		   TTLOG_KV("f", f), TTLOG_KV("d", d), TTLOG_KV("b", b),
		   TTLOG_KV("buf", buf), TTLOG_KV("lit", "literal"),
		   TTLOG_KV("null", null_str),
		   TTLOG_KV_STR("bytes", "a\0b\0", 4), TTLOG_KV("nan", NAN),
		   TTLOG_KV("inf", -INFINITY));
	ttlog_flush();
	assert_int_equal(cap.n, 1);
	struct captured *e = &cap.ev[0];
	assert_int_equal(e->nfields, 20);
	static const int types[] = {
		TTLOG_TYPE_I64, TTLOG_TYPE_I64,	 TTLOG_TYPE_U64,
		TTLOG_TYPE_I64, TTLOG_TYPE_U64,	 TTLOG_TYPE_I64,
		TTLOG_TYPE_U64, TTLOG_TYPE_I64,	 TTLOG_TYPE_U64,
		TTLOG_TYPE_I64, TTLOG_TYPE_U64,	 TTLOG_TYPE_F64,
		TTLOG_TYPE_F64, TTLOG_TYPE_BOOL, TTLOG_TYPE_STR,
		TTLOG_TYPE_STR, TTLOG_TYPE_STR,	 TTLOG_TYPE_STR,
		TTLOG_TYPE_F64, TTLOG_TYPE_F64};
	for (unsigned k = 0; k < 20; k++)
		if ((int)e->f[k].type != types[k])
			fail_msg("field %s has type %d, expected %d",
				 e->keys[k], e->f[k].type, types[k]);
	assert_int_equal(e->f[0].v.i64, 'x');
	assert_int_equal(e->f[1].v.i64, -5);
	assert_int_equal(e->f[2].v.u64, 250);
	assert_int_equal(e->f[3].v.i64, -30000);
	assert_int_equal(e->f[4].v.u64, 65000);
	assert_int_equal(e->f[5].v.i64, INT32_MIN);
	assert_int_equal(e->f[6].v.u64, UINT32_MAX);
	assert_true(e->f[7].v.i64 == INT64_MIN);
	assert_true(e->f[8].v.u64 == UINT64_MAX);
	assert_true(e->f[9].v.i64 == INT64_MAX);
	assert_int_equal(e->f[10].v.u64, 1);
	assert_true(e->f[11].v.f64 == 0.5);
	assert_true(e->f[12].v.f64 == 0.0 && signbit(e->f[12].v.f64));
	assert_true(e->f[13].v.b);
	assert_string_equal(e->f[14].v.str.ptr, "mutable");
	assert_string_equal(e->f[15].v.str.ptr, "literal");
	assert_string_equal(e->f[16].v.str.ptr, "(null)");
	assert_int_equal(e->f[17].v.str.len, 4);
	assert_memory_equal(e->f[17].v.str.ptr, "a\0b\0", 4);
	assert_true(isnan(e->f[18].v.f64));
	assert_true(isinf(e->f[19].v.f64) && e->f[19].v.f64 < 0);
	assert_string_equal(e->keys[19], "inf");
}

static void test_twenty_four_fields_fit_in_one_event(void **state)
{
	(void)state;
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	TTLOG_INFO(
		"wide", TTLOG_KV("k0", 0), TTLOG_KV("k1", 1), TTLOG_KV("k2", 2),
		TTLOG_KV("k3", 3), TTLOG_KV("k4", 4), TTLOG_KV("k5", 5),
		TTLOG_KV("k6", 6), TTLOG_KV("k7", 7), TTLOG_KV("k8", 8),
		TTLOG_KV("k9", 9), TTLOG_KV("k10", 10), TTLOG_KV("k11", 11),
		TTLOG_KV("k12", 12), TTLOG_KV("k13", 13), TTLOG_KV("k14", 14),
		TTLOG_KV("k15", 15), TTLOG_KV("k16", 16), TTLOG_KV("k17", 17),
		TTLOG_KV("k18", 18), TTLOG_KV("k19", 19), TTLOG_KV("k20", 20),
		TTLOG_KV("k21", 21), TTLOG_KV("k22", 22),
		TTLOG_KV("k23", "last"));
	ttlog_flush();
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.ev[0].nfields, 24);
	for (int k = 0; k < 23; k++) {
		char key[8];
		snprintf(key, sizeof(key), "k%d", k);
		assert_string_equal(cap.ev[0].keys[k], key);
		assert_int_equal(cap.ev[0].f[k].v.i64, k);
	}
	assert_string_equal(cap.ev[0].f[23].v.str.ptr, "last");
}

static void test_long_string_is_truncated_and_flagged(void **state)
{
	(void)state;
	struct ttlog_options o;
	struct ttlog_listener_config l = {.api = &capture_api, .options = &cap};
	struct ttlog_stats st;
	char *big = malloc(10000);

	memset(big, 'a', 9999);
	big[9999] = 0;
	ttlog_options_init(&o);
	o.max_value_bytes = 100;
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), 0);
	TTLOG_INFO("big", TTLOG_KV("v", big), TTLOG_KV("after", 7));
	TTLOG_INFO("small", TTLOG_KV_STR("v", big, 100));
	ttlog_flush();
	free(big);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.ev[0].f[0].v.str.len, 100);
	assert_true(cap.ev[0].flags & TTLOG_EVENT_TRUNCATED);
	/* The fields after the truncated one are intact. */
	assert_int_equal(cap.ev[0].f[1].v.i64, 7);
	/* Exactly at the limit is not truncated. */
	assert_int_equal(cap.ev[1].f[0].v.str.len, 100);
	assert_false(cap.ev[1].flags & TTLOG_EVENT_TRUNCATED);
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.delivered, 2);
}

static void test_record_over_half_the_ring_is_dropped_and_counted(void **state)
{
	(void)state;
	struct ttlog_options o;
	struct ttlog_listener_config l = {.api = &capture_api, .options = &cap};
	struct ttlog_stats st;
	char big[3000];

	memset(big, 'b', sizeof(big));
	ttlog_options_init(&o);
	o.ring_bytes = 4096;
	o.max_value_bytes = 8192;
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), 0);
	TTLOG_INFO("too big", TTLOG_KV_STR("v", big, sizeof(big)));
	TTLOG_INFO("fits", TTLOG_KV_STR("v", big, 1000));
	ttlog_flush();
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.produced, 2);
	assert_int_equal(st.dropped_too_large, 1);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.ev[0].msg, "fits");
}

static void test_full_ring_drops_new_events_and_counts_them(void **state)
{
	(void)state;
	struct ttlog_options o;
	struct ttlog_listener_config l = {.api = &capture_api, .options = &cap};
	struct ttlog_stats st;

	ttlog_options_init(&o);
	o.ring_bytes = 4096;
	o.flush_interval_ms = 60000; /* the writer wakes only when told */
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), 0);
	/* Each record is 40 bytes: 102 fit in 4096, the rest are dropped
	 * unless the writer drains in between, which the count allows. */
	for (uint64_t i = 0; i < 1000; i++)
		TTLOG_INFO("seq", TTLOG_KV("i", i), TTLOG_KV("x", 1.0));
	ttlog_flush();
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.produced, 1000);
	assert_true(st.dropped_ring_full > 0);
	assert_int_equal(st.delivered + st.dropped_ring_full, 1000);
	assert_int_equal(cap.n, st.delivered);
	/* The ones that made it are the oldest of each run: in order. */
	for (size_t k = 1; k < cap.n; k++)
		assert_true(cap.ev[k].f[0].v.u64 > cap.ev[k - 1].f[0].v.u64);
	assert_int_equal(cap.ev[0].f[0].v.u64, 0);
}

static void test_shutdown_delivers_everything_logged_before(void **state)
{
	(void)state;
	uint64_t n = test_scaled(100000, 2000);
	struct ttlog_stats st;

	assert_int_equal(capture_start(&cap, 8u << 20, TTLOG_LEVEL_INFO), 0);
	for (uint64_t i = 0; i < n; i++)
		TTLOG_INFO("seq", TTLOG_KV("i", i));
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(cap.n, n);
	for (uint64_t i = 0; i < n; i++)
		if (cap.ev[i].f[0].v.u64 != i)
			fail_msg("event %llu carries %llu",
				 (unsigned long long)i,
				 (unsigned long long)cap.ev[i].f[0].v.u64);
	assert_true(cap.flushes >= 1);
	/* The last run's counters stay readable. */
	assert_int_equal(ttlog_stats(&st), TTLOG_ENOTRUNNING);
	assert_int_equal(st.produced, n);
	assert_int_equal(st.delivered, n);
	assert_int_equal(st.threads, 0);
	/* Logging after shutdown is ignored. */
	TTLOG_FATAL("after");
	assert_int_equal(ttlog_stats(&st), TTLOG_ENOTRUNNING);
	assert_int_equal(st.produced, n);
}

static void test_init_twice_and_shutdown_without_init_are_refused(void **s)
{
	(void)s;
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
	assert_int_equal(ttlog_flush(), TTLOG_ENOTRUNNING);
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	assert_int_equal(ttlog_init(NULL), TTLOG_EALREADY);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
	/* And it starts again, with a fresh count. */
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	TTLOG_INFO("second run");
	ttlog_flush();
	assert_int_equal(cap.n, 1);
}

static void test_bad_options_are_refused(void **state)
{
	(void)state;
	struct ttlog_options o;

	ttlog_options_init(&o);
	o.level = (enum ttlog_level)9;
	assert_int_equal(ttlog_init(&o), TTLOG_EINVAL);
	ttlog_options_init(&o);
	o.flush_interval_ms = 0;
	assert_int_equal(ttlog_init(&o), TTLOG_EINVAL);
	ttlog_options_init(&o);
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), TTLOG_EINVAL);
	ttlog_options_init(&o);
	o.struct_size = 4;
	assert_int_equal(ttlog_init(&o), TTLOG_EINVAL);
	/* Nothing was left running by the refusals. */
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
}

static void test_listener_of_another_abi_major_is_refused(void **state)
{
	(void)state;
	struct ttlog_listener_api api = capture_api;
	struct ttlog_listener_config l = {.api = &api, .options = &cap};
	struct ttlog_options o;

	ttlog_options_init(&o);
	o.listeners = &l;
	o.nlisteners = 1;
	api.abi_version = (2u << 16) | 0u;
	assert_int_equal(ttlog_init(&o), TTLOG_EABI);
	api = capture_api;
	api.struct_size = 16;
	assert_int_equal(ttlog_init(&o), TTLOG_EABI);
	assert_string_equal(ttlog_strerror(TTLOG_EABI),
			    "incompatible ABI version");
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
}

static int fail_create(const void *options, void **state)
{
	(void)options;
	(void)state;
	return TTLOG_EINVAL;
}

static int fail_start(void *state, struct event_base *base)
{
	(void)state;
	(void)base;
	return TTLOG_ESYSTEM;
}

static void test_listener_that_fails_to_start_fails_init(void **state)
{
	(void)state;
	struct ttlog_listener_api api = capture_api;
	struct ttlog_listener_config l = {.api = &api, .options = &cap};
	struct ttlog_options o;

	ttlog_options_init(&o);
	o.listeners = &l;
	o.nlisteners = 1;
	api.create = fail_create;
	assert_int_equal(ttlog_init(&o), TTLOG_ELISTENER);
	api = capture_api;
	api.start = fail_start;
	assert_int_equal(ttlog_init(&o), TTLOG_ELISTENER);
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
	/* A clean init still works afterwards. */
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
}

static void test_listener_retry_holds_batches_and_offers_them_again(void **s)
{
	(void)s;
	struct ttlog_listener_stats ls;

	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	cap.answer = TTLOG_LISTENER_RETRY;
	for (int i = 0; i < 10; i++)
		TTLOG_INFO("held", TTLOG_KV("i", i));
	ttlog_flush();
	assert_int_equal(cap.n, 0);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_in, 10);
	assert_int_equal(ls.events_out, 0);
	assert_true(ls.retries >= 1);
	assert_true(ls.queue_bytes > 0);
	cap.answer = TTLOG_LISTENER_OK;
	TTLOG_INFO("held", TTLOG_KV("i", 10));
	ttlog_flush();
	/* The held batch came first, then the new one: nothing lost, order
	 * kept. */
	assert_int_equal(cap.n, 11);
	for (int i = 0; i < 11; i++)
		assert_int_equal(cap.ev[i].f[0].v.i64, i);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_out, 11);
	assert_int_equal(ls.queue_bytes, 0);
	assert_int_equal(ttlog_listener_stats(1, &ls), TTLOG_EINVAL);
}

/* A listener that encodes every batch it is offered (as a forwarder does)
 * before answering: the batch grows while it waits in the queue. */
static _Atomic int enc_answer;
static _Atomic size_t enc_events;

static int enc_consume(void *state, struct ttlog_batch *b)
{
	const void *data;
	size_t len;
	(void)state;
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &data, &len), 0);
	if (enc_answer == TTLOG_LISTENER_OK)
		enc_events += ttlog_batch_count(b);
	return enc_answer;
}

static void enc_destroy(void *state)
{
	(void)state;
}

static const struct ttlog_listener_api enc_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "encode-then-answer",
	.consume = enc_consume,
	.destroy = enc_destroy,
};

static void test_queue_bytes_survive_batches_growing_while_queued(void **s)
{
	(void)s;
	static struct ttlog_listener_config l;
	struct ttlog_listener_stats ls;
	struct ttlog_options o;

	l.api = &enc_api;
	l.queue_bytes = 1u << 20;
	ttlog_options_init(&o);
	o.listeners = &l;
	o.nlisteners = 1;
	enc_events = 0;
	assert_int_equal(ttlog_init(&o), 0);
	/* Found by the forwarding benchmark: the queue counted a batch
	 * without its encoding when queued and with it when taken off, the
	 * count wrapped, and every later batch was dropped as "queue full". */
	for (int round = 0; round < 3; round++) {
		enc_answer = TTLOG_LISTENER_RETRY;
		for (int i = 0; i < 20; i++) {
			TTLOG_INFO("grows", TTLOG_KV("i", i),
				   TTLOG_KV("pad", "some text to compress"));
			ttlog_flush();
		}
		enc_answer = TTLOG_LISTENER_OK;
		TTLOG_INFO("grows", TTLOG_KV("i", -1));
		ttlog_flush();
		assert_int_equal(ttlog_listener_stats(0, &ls), 0);
		assert_int_equal(ls.queue_bytes, 0);
		assert_int_equal(ls.dropped_queue_full, 0);
		assert_int_equal(enc_events, (size_t)(round + 1) * 21);
	}
	assert_int_equal(ttlog_shutdown(), 0);
}

static void test_listener_backlog_over_limit_drops_oldest_counted(void **s)
{
	(void)s;
	static struct ttlog_listener_config l;
	struct ttlog_listener_stats ls;
	struct ttlog_stats st;
	struct ttlog_options o;

	l.api = &capture_api;
	l.options = &cap;
	l.queue_bytes = 1; /* no batch fits: every one is dropped */
	ttlog_options_init(&o);
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), 0);
	cap.answer = TTLOG_LISTENER_RETRY;
	for (int i = 0; i < 3; i++) {
		TTLOG_INFO("lost", TTLOG_KV("i", i));
		ttlog_flush();
	}
	/* The first drop is said once, by the library's own line; logged on
	 * the writer thread while it handed the first batch out, it came
	 * with the next flush and met the same full queue. */
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_in, 4);
	assert_int_equal(ls.dropped_queue_full, 4);
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.listener_dropped, 4);
	assert_int_equal(st.delivered, 4);

	cap.answer = TTLOG_LISTENER_ERROR;
	TTLOG_INFO("error");
	ttlog_flush();
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.dropped_error, 1);
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.listener_dropped, 5);
}

static void test_listener_still_refusing_at_shutdown_is_counted(void **s)
{
	(void)s;
	struct ttlog_stats st;

	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	cap.answer = TTLOG_LISTENER_RETRY;
	for (int i = 0; i < 5; i++)
		TTLOG_INFO("refused", TTLOG_KV("i", i));
	assert_int_equal(ttlog_shutdown(), 0);
	ttlog_stats(&st);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.listener_dropped, 5);
}

struct two_threads {
	int id;
	pthread_barrier_t *go;
};

static void *log_interleaved(void *arg)
{
	struct two_threads *t = arg;
	pthread_barrier_wait(t->go);
	for (int i = 0; i < 200; i++)
		TTLOG_INFO("tick", TTLOG_KV("t", t->id), TTLOG_KV("i", i));
	return NULL;
}

static void test_threads_interleave_in_time_order_within_a_drain(void **s)
{
	(void)s;
	struct ttlog_options o;
	struct ttlog_listener_config l = {.api = &capture_api, .options = &cap};
	pthread_barrier_t go;
	pthread_t t[2];
	struct two_threads a[2] = {{0, &go}, {1, &go}};
	int seen[2] = {0, 0};

	ttlog_options_init(&o);
	o.flush_interval_ms = 60000;
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), 0);
	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, log_interleaved, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	ttlog_flush();
	assert_int_equal(cap.n, 400);
	assert_int_equal(cap.batches, 1);
	for (size_t k = 0; k < cap.n; k++) {
		int id = (int)cap.ev[k].f[0].v.i64;
		if (k > 0)
			assert_true(cap.ev[k].time_ns >= cap.ev[k - 1].time_ns);
		assert_int_equal(cap.ev[k].f[1].v.i64, seen[id]);
		seen[id]++;
	}
	assert_true(cap.ev[0].tid != 0);
}

static void test_timestamps_are_wall_clock_time(void **state)
{
	(void)state;
	struct timespec a, b;
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	clock_gettime(CLOCK_REALTIME, &a);
	TTLOG_INFO("now");
	clock_gettime(CLOCK_REALTIME, &b);
	ttlog_flush();
	assert_int_equal(cap.n, 1);
	uint64_t lo = (uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec;
	uint64_t hi = (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec;
	/* TSC conversion is calibrated over 2 ms: allow 1 ms either side. */
	assert_true(cap.ev[0].time_ns + 1000000 >= lo);
	assert_true(cap.ev[0].time_ns <= hi + 1000000);
}

static void test_reopen_follows_everything_logged_before_it(void **state)
{
	(void)state;
	assert_int_equal(ttlog_reopen(), TTLOG_ENOTRUNNING);
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	for (int i = 0; i < 5; i++)
		TTLOG_INFO("before", TTLOG_KV("i", i));
	assert_int_equal(ttlog_reopen(), 0);
	assert_int_equal(cap.reopens, 1);
	assert_int_equal(cap.n_at_reopen, 5);
	TTLOG_INFO("after");
	ttlog_flush();
	assert_int_equal(cap.n, 6);
	assert_int_equal(cap.reopens, 1);
}

static int fail_create_once(const void *options, void **state)
{
	(void)options;
	(void)state;
	return TTLOG_EINVAL;
}

static void test_reconfigure_keeps_moves_adds_and_removes_listeners(void **s)
{
	static struct capture a, b, c;
	struct ttlog_listener_config two[2] = {
		{.api = &capture_api, .options = &a, .name = "a"},
		{.api = &capture_api, .options = &b, .name = "b"}};
	struct ttlog_listener_config next[2] = {
		{.api = &capture_api, .options = NULL, .name = "b"},
		{.api = &capture_api, .options = &c, .name = "c"}};
	struct ttlog_listener_api broken = capture_api;
	struct ttlog_listener_stats ls;
	struct ttlog_options o;
	int keep[2] = {1, -1};
	(void)s;

	ttlog_options_init(&o);
	o.listeners = two;
	o.nlisteners = 2;
	assert_int_equal(
		ttlog__host_reconfigure(ttlog__host_writer(), &o, keep, NULL),
		TTLOG_ENOTRUNNING);
	assert_int_equal(ttlog_init(&o), 0);
	TTLOG_INFO("before", TTLOG_KV("i", 1));
	TTLOG_INFO("before", TTLOG_KV("i", 2));

	/* A new listener that cannot be created: nothing changes. */
	broken.create = fail_create_once;
	next[1].api = &broken;
	o.listeners = next;
	assert_int_equal(
		ttlog__host_reconfigure(ttlog__host_writer(), &o, keep, NULL),
		TTLOG_ELISTENER);
	assert_int_equal(ttlog_listener_stats(1, &ls), 0); /* still a, b */
	assert_int_equal(a.n, 2); /* delivered before the attempt */

	next[1].api = &capture_api;
	assert_int_equal(
		ttlog__host_reconfigure(ttlog__host_writer(), &o, keep, NULL),
		0);
	TTLOG_INFO("after", TTLOG_KV("i", 3));
	assert_int_equal(ttlog_flush(), 0);
	/* a: removed after everything before the change reached it. */
	assert_int_equal(a.n, 2);
	assert_true(a.flushes >= 1);
	/* b: kept, so it saw everything, in order. */
	assert_int_equal(b.n, 3);
	assert_int_equal(b.ev[2].f[0].v.i64, 3);
	/* c: new, only what came after. */
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ev[0].msg, "after");
	/* Statistics follow the new order; b's counters moved with it. */
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_out, 3);
	assert_int_equal(ttlog_listener_stats(1, &ls), 0);
	assert_int_equal(ls.events_out, 1);
	assert_int_equal(ttlog_listener_stats(2, &ls), TTLOG_EINVAL);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&a);
	capture_reset(&b);
	capture_reset(&c);
}

/* A reload that changes a listener's section replaces it; what the old one
 * answered RETRY to is handed to the new one of the same name, first,
 * instead of being dropped with the old instance. */
static void test_reconfigure_hands_a_held_queue_to_the_successor(void **s)
{
	static struct capture old, succ, other;
	struct ttlog_listener_config one[2] = {
		{.api = &capture_api, .options = &old, .name = "up"},
		{.api = &capture_api, .options = &other, .name = "other"}};
	struct ttlog_listener_config next[2] = {
		{.api = &capture_api, .options = &other, .name = "other"},
		{.api = &capture_api, .options = &succ, .name = "up"}};
	struct ttlog_listener_stats ls;
	struct ttlog_stats st;
	struct ttlog_options o;
	int keep[2] = {1, -1};
	(void)s;

	ttlog_options_init(&o);
	o.listeners = one;
	o.nlisteners = 2;
	assert_int_equal(ttlog_init(&o), 0);
	old.answer = TTLOG_LISTENER_RETRY;
	for (int i = 0; i < 10; i++)
		TTLOG_INFO("held", TTLOG_KV("i", i));
	ttlog_flush();
	assert_int_equal(old.n, 0);
	assert_int_equal(other.n, 10);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_true(ls.queue_bytes > 0);

	o.listeners = next;
	assert_int_equal(
		ttlog__host_reconfigure(ttlog__host_writer(), &o, keep, NULL),
		0);
	TTLOG_INFO("after", TTLOG_KV("i", 10));
	assert_int_equal(ttlog_flush(), 0);
	/* The successor has the ten held events first, then the new one. */
	assert_int_equal(succ.n, 11);
	for (int i = 0; i < 11; i++)
		assert_int_equal(succ.ev[i].f[0].v.i64, i);
	assert_int_equal(old.n, 0);
	assert_int_equal(other.n, 11);
	assert_int_equal(ttlog_listener_stats(1, &ls), 0);
	assert_int_equal(ls.queue_bytes, 0);
	assert_int_equal(ls.dropped_queue_full, 0);
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.listener_dropped, 0);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&old);
	capture_reset(&succ);
	capture_reset(&other);
}

static void test_strerror_names_library_and_system_errors(void **state)
{
	(void)state;
	assert_string_equal(ttlog_strerror(0), "success");
	assert_string_equal(ttlog_strerror(TTLOG_ENOTRUNNING),
			    "ttlog is not initialised");
	assert_string_equal(ttlog_strerror(-2), "No such file or directory");
	assert_string_equal(ttlog_strerror(12345), "unknown error");
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_level_gate_does_not_evaluate_arguments),
		T(test_set_level_applies_to_every_thread_at_once),
		T(test_every_value_type_keeps_its_type_and_value),
		T(test_twenty_four_fields_fit_in_one_event),
		T(test_long_string_is_truncated_and_flagged),
		T(test_record_over_half_the_ring_is_dropped_and_counted),
		T(test_full_ring_drops_new_events_and_counts_them),
		T(test_shutdown_delivers_everything_logged_before),
		T(test_init_twice_and_shutdown_without_init_are_refused),
		T(test_bad_options_are_refused),
		T(test_listener_of_another_abi_major_is_refused),
		T(test_listener_that_fails_to_start_fails_init),
		T(test_listener_retry_holds_batches_and_offers_them_again),
		T(test_queue_bytes_survive_batches_growing_while_queued),
		T(test_listener_backlog_over_limit_drops_oldest_counted),
		T(test_listener_still_refusing_at_shutdown_is_counted),
		T(test_threads_interleave_in_time_order_within_a_drain),
		T(test_timestamps_are_wall_clock_time),
		T(test_reopen_follows_everything_logged_before_it),
		T(test_reconfigure_keeps_moves_adds_and_removes_listeners),
		T(test_reconfigure_hands_a_held_queue_to_the_successor),
		T(test_strerror_names_library_and_system_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
