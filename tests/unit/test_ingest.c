/* test_ingest.c - events from outside (agent inputs) in batches: copied
 * messages, keys and values, shared call sites, limits, and the encoders
 * and level filter working on them like on any event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "batch_internal.h"
#include "capture.h"
#include "ingest_internal.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "testutil.h"

#define T0 1700000000123456789ull

static void set_str(struct ttlog__in_field *f, const char *key, const char *val,
		    size_t len)
{
	f->key = key;
	f->key_len = strlen(key);
	f->type = TTLOG_TYPE_STR;
	f->v.str.ptr = val;
	f->v.str.len = len;
}

/* An event like a parsed syslog line; strings live in caller buffers. */
static void make(struct ttlog__in_event *ev, int level, const char *msg,
		 const char *host)
{
	memset(ev, 0, sizeof(*ev));
	ev->level = level;
	ev->msg = msg;
	ev->msg_len = strlen(msg);
	ev->source = "syslog";
	ev->time_ns = T0;
	set_str(&ev->fields[0], "host", host, strlen(host));
	ev->fields[1].key = "severity";
	ev->fields[1].key_len = 8;
	ev->fields[1].type = TTLOG_TYPE_U64;
	ev->fields[1].v.u64 = 6;
	ev->fields[2].key = "ratio";
	ev->fields[2].key_len = 5;
	ev->fields[2].type = TTLOG_TYPE_F64;
	ev->fields[2].v.f64 = -0.5;
	ev->fields[3].key = "ok";
	ev->fields[3].key_len = 2;
	ev->fields[3].type = TTLOG_TYPE_BOOL;
	ev->fields[3].v.b = 7; /* any non-zero is true */
	ev->nfields = 4;
}

static void test_ingested_event_is_copied_and_read_back(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(16, 4096, 1);
	struct ttlog__in_event ev;
	char msg[32], host[32];
	struct ttlog_event e;
	struct ttlog_field_iter it;
	struct ttlog_field f;
	(void)state;

	strcpy(msg, "disk full");
	strcpy(host, "db1");
	make(&ev, TTLOG_LEVEL_ERROR, msg, host);
	assert_int_equal(ttlog__batch_add_in(b, &ev, 7, 42, 4096), 0);
	/* The caller's buffers are reused at once: nothing may point there. */
	memset(msg, 'X', sizeof(msg) - 1);
	memset(host, 'Y', sizeof(host) - 1);
	assert_int_equal(ttlog_batch_event(b, 0, &e), 0);
	assert_string_equal(e.msg, "disk full");
	assert_string_equal(e.file, "syslog");
	assert_int_equal(e.level, TTLOG_LEVEL_ERROR);
	assert_int_equal(e.tid, 7);
	assert_true(e.time_ns == T0);
	ttlog_field_iter_init(&it, &e);
	assert_true(ttlog_field_next(&it, &f));
	assert_string_equal(f.key, "host");
	assert_int_equal(f.v.str.len, 3);
	assert_memory_equal(f.v.str.ptr, "db1", 3);
	assert_true(ttlog_field_next(&it, &f));
	assert_int_equal(f.type, TTLOG_TYPE_U64);
	assert_int_equal(f.v.u64, 6);
	assert_true(ttlog_field_next(&it, &f));
	assert_true(f.v.f64 == -0.5);
	assert_true(ttlog_field_next(&it, &f));
	assert_int_equal(f.type, TTLOG_TYPE_BOOL);
	assert_true(f.v.b);
	assert_false(ttlog_field_next(&it, &f));
	ttlog_batch_unref(b);
}

static void test_similar_events_share_one_call_site(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(2000, 1 << 20, 1);
	struct ttlog__in_event ev;
	(void)state;

	/* 1000 events of 4 shapes: same message and keys, other values. */
	for (int i = 0; i < 1000; i++) {
		char host[16];
		snprintf(host, sizeof(host), "h%d", i);
		make(&ev, i % 2 ? TTLOG_LEVEL_INFO : TTLOG_LEVEL_WARN,
		     i % 4 < 2 ? "up" : "down", host);
		assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	}
	assert_int_equal(ttlog_batch_count(b), 1000);
	assert_int_equal(ttlog_batch_callsites(b), 4);
	/* A different key or type is a different call site. */
	make(&ev, TTLOG_LEVEL_INFO, "up", "x");
	ev.fields[1].type = TTLOG_TYPE_I64;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	make(&ev, TTLOG_LEVEL_INFO, "up", "x");
	ev.fields[0].key = "hostname";
	ev.fields[0].key_len = 8;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	assert_int_equal(ttlog_batch_callsites(b), 6);
	/* 5000 distinct messages: the table grows and stays correct. */
	for (int i = 0; i < 5000; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "m%d", i);
		make(&ev, TTLOG_LEVEL_INFO, msg, "h");
		int rc = ttlog__batch_add_in(b, &ev, 1, 1, 4096);
		assert_true(rc == 0 || rc == 1);
	}
	struct ttlog_event e;
	assert_int_equal(ttlog_batch_event(b, 1002, &e), 0);
	assert_string_equal(e.msg, "m0");
	ttlog_batch_unref(b);
}

static void test_nul_in_message_and_key_is_shown_not_cut(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(4, 4096, 1);
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog_field_iter it;
	struct ttlog_field f;
	const void *json;
	size_t len;
	(void)state;

	make(&ev, TTLOG_LEVEL_INFO, "a", "h");
	ev.msg = "a\0b";
	ev.msg_len = 3;
	ev.fields[0].key = "k\0y";
	ev.fields[0].key_len = 3;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	/* Same bytes: the same call site; "a" alone is another. */
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	make(&ev, TTLOG_LEVEL_INFO, "a", "h");
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	assert_int_equal(ttlog_batch_callsites(b), 2);
	ttlog_batch_event(b, 0, &e);
	assert_string_equal(e.msg, "a\xEF\xBF\xBD"
				   "b");
	ttlog_field_iter_init(&it, &e);
	ttlog_field_next(&it, &f);
	assert_string_equal(f.key, "k\xEF\xBF\xBDy");
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &json, &len), 0);
	assert_non_null(strstr(json, "\"msg\":\"a\xEF\xBF\xBD"
				     "b\""));
	ttlog_batch_unref(b);
}

static void test_long_values_are_cut_and_flagged(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(4, 1 << 16, 1);
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog_field_iter it;
	struct ttlog_field f;
	char big[10000];
	(void)state;

	memset(big, 'z', sizeof(big));
	make(&ev, TTLOG_LEVEL_INFO, "big", "h");
	set_str(&ev.fields[0], "payload", big, sizeof(big));
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 100), 0);
	make(&ev, TTLOG_LEVEL_INFO, "parser cut it", "h");
	ev.truncated = 1;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 100), 0);
	make(&ev, TTLOG_LEVEL_INFO, "fine", "h");
	ev.time_ns = 0; /* none given: the caller's now */
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 99, 100), 0);
	ttlog_batch_event(b, 0, &e);
	assert_true(e.flags & TTLOG_EVENT_TRUNCATED);
	ttlog_field_iter_init(&it, &e);
	ttlog_field_next(&it, &f);
	assert_int_equal(f.v.str.len, 100);
	ttlog_batch_event(b, 1, &e);
	assert_true(e.flags & TTLOG_EVENT_TRUNCATED);
	ttlog_batch_event(b, 2, &e);
	assert_false(e.flags & TTLOG_EVENT_TRUNCATED);
	assert_int_equal(e.time_ns, 99);
	/* Bad input is refused, not half added. */
	ev.level = TTLOG_LEVEL_OFF;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 100), TTLOG_EINVAL);
	ev.level = TTLOG_LEVEL_INFO;
	ev.nfields = TTLOG__IN_MAX_FIELDS + 1;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 100), TTLOG_EINVAL);
	assert_int_equal(ttlog_batch_count(b), 3);
	ttlog_batch_unref(b);
}

static void test_filtered_copy_outlives_its_parent(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(8, 4096, 5);
	struct ttlog__in_event ev;
	struct ttlog_batch *warn;
	struct ttlog_event e;
	int oom;
	const void *text;
	size_t len;
	(void)state;

	make(&ev, TTLOG_LEVEL_INFO, "info", "h");
	ttlog__batch_add_in(b, &ev, 1, 1, 4096);
	make(&ev, TTLOG_LEVEL_ERROR, "error", "h");
	ttlog__batch_add_in(b, &ev, 1, 1, 4096);
	warn = ttlog__batch_filter(b, TTLOG_LEVEL_WARN, &oom);
	assert_non_null(warn);
	assert_true(warn != b);
	/* The parent goes away first (a listener held the copy back): the
	 * copy's call sites, owned by the parent, must still be there. */
	ttlog_batch_unref(b);
	assert_int_equal(ttlog_batch_count(warn), 1);
	assert_int_equal(ttlog_batch_seq(warn), 5);
	ttlog_batch_event(warn, 0, &e);
	assert_string_equal(e.msg, "error");
	assert_int_equal(
		ttlog_batch_encode(warn, TTLOG_ENCODING_TEXT, &text, &len), 0);
	assert_non_null(strstr(text, " ERROR error host=h severity=6"));
	ttlog_batch_unref(warn);
}

/* Syslog, JSON lines and stdin messages vary from event to event: they
 * stay with their events, and all events of one shape share a call site,
 * through every way a listener reads a batch. */
static void test_varying_messages_stay_with_their_events(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(4096, 1 << 20, 1), *err;
	struct ttlog__in_event ev;
	struct ttlog_event e;
	struct ttlog_field_iter it;
	struct ttlog_field f;
	char msg[32];
	const void *text;
	size_t len;
	int oom;
	(void)state;

	for (int i = 0; i < 3000; i++) {
		snprintf(msg, sizeof(msg), "request %d done", i);
		make(&ev, i % 3 == 2 ? TTLOG_LEVEL_ERROR : TTLOG_LEVEL_INFO,
		     msg, "h");
		ev.msg_varies = 1;
		ev.fields[1].v.u64 = (uint64_t)i;
		assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
		memset(msg, 'X', sizeof(msg) - 1); /* reused by the parser */
	}
	/* One call site per level, not one per message. */
	assert_int_equal(ttlog_batch_callsites(b), 2);
	for (int i = 0; i < 3000; i += 299) {
		char want[32];
		snprintf(want, sizeof(want), "request %d done", i);
		assert_int_equal(ttlog_batch_event(b, (size_t)i, &e), 0);
		assert_string_equal(e.msg, want);
		assert_int_equal(e.flags, 0); /* the internal bit is hidden */
		ttlog_field_iter_init(&it, &e);
		assert_true(ttlog_field_next(&it, &f));
		assert_string_equal(f.key, "host");
		assert_true(ttlog_field_next(&it, &f));
		assert_int_equal(f.v.u64, (uint64_t)i);
	}
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_TEXT, &text, &len), 0);
	assert_non_null(
		strstr(text, " INFO request 1 done host=h severity=1 "));
	assert_int_equal(
		ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &text, &len), 0);
	assert_non_null(strstr(text, "\"msg\":\"request 2999 done\""));
	/* A filtered copy keeps each message with its event. */
	err = ttlog__batch_filter(b, TTLOG_LEVEL_ERROR, &oom);
	assert_non_null(err);
	ttlog_batch_unref(b);
	assert_int_equal(ttlog_batch_count(err), 1000);
	assert_int_equal(ttlog_batch_event(err, 999, &e), 0);
	assert_string_equal(e.msg, "request 2999 done");
	assert_int_equal(e.level, TTLOG_LEVEL_ERROR);
	ttlog_batch_unref(err);

	/* An embedded NUL is shown, not a cut; a long message fits. */
	b = ttlog__batch_new(4, 64, 1);
	make(&ev, TTLOG_LEVEL_INFO, "a", "h");
	ev.msg = "a\0b";
	ev.msg_len = 3;
	ev.msg_varies = 1;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	ttlog_batch_event(b, 0, &e);
	assert_string_equal(e.msg, "a\xEF\xBF\xBD"
				   "b");
	ttlog_field_iter_init(&it, &e);
	assert_true(ttlog_field_next(&it, &f));
	assert_memory_equal(f.v.str.ptr, "h", 1);
	char big[5000];
	memset(big, 'q', sizeof(big));
	make(&ev, TTLOG_LEVEL_INFO, "", "h");
	ev.msg = big;
	ev.msg_len = sizeof(big);
	ev.msg_varies = 1;
	/* Full (64 bytes of room, not empty): refused, then a new batch
	 * that grows takes it. */
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 1);
	ttlog_batch_unref(b);
	b = ttlog__batch_new(4, 64, 1);
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), 0);
	ttlog_batch_event(b, 0, &e);
	assert_int_equal(strlen(e.msg), sizeof(big));
	ttlog_batch_unref(b);
}

/* A pretend input: a timer on the writer's loop that ingests `left`
 * events, one per tick, like a socket callback would. */
struct timer_input {
	struct event *ev;
	int left;
	size_t backlog_seen;
};

static void timer_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timer_input *in = arg;
	struct ttlog__in_event ev;
	char msg[32];
	(void)fd;
	(void)what;

	snprintf(msg, sizeof(msg), "tick %d", in->left);
	make(&ev, TTLOG_LEVEL_INFO, msg, "h");
	ev.source = "timer";
	assert_int_equal(ttlog__host_ingest(ttlog__host_writer(), &ev, 9), 0);
	in->backlog_seen = ttlog__host_backlog(ttlog__host_writer());
	if (--in->left == 0)
		event_del(in->ev);
}

static int timer_start(struct event_base *base, void *arg)
{
	struct timer_input *in = arg;
	struct timeval tv = {0, 1000};
	in->ev = event_new(base, -1, EV_PERSIST, timer_tick, in);
	return event_add(in->ev, &tv);
}

static int timer_stop(struct event_base *base, void *arg)
{
	struct timer_input *in = arg;
	(void)base;
	event_free(in->ev);
	return 0;
}

static int ingest_two(struct event_base *base, void *arg)
{
	struct ttlog__in_event ev;
	(void)base;
	(void)arg;
	make(&ev, TTLOG_LEVEL_WARN, "first", "a");
	if (ttlog__host_ingest(ttlog__host_writer(), &ev, 1) != 0)
		return -1;
	make(&ev, TTLOG_LEVEL_WARN, "second", "b");
	return ttlog__host_ingest(ttlog__host_writer(), &ev, 1);
}

/* The capture's answer is read by the writer thread: change it there. */
static int answer;
static int set_answer(struct event_base *base, void *arg)
{
	(void)base;
	((struct capture *)arg)->answer = answer;
	return 0;
}

static void test_inputs_on_the_writer_loop_reach_the_listeners(void **s)
{
	static struct capture cap;
	struct ttlog__in_event ev;
	struct ttlog_stats st;
	struct timer_input in = {NULL, 20, 0};
	(void)s;

	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_two, NULL),
		TTLOG_ENOTRUNNING);
	/* queue.when_full: block, so that its queue counts in the backlog
	 * that pauses the inputs (test_queue.c has the other choices). */
	assert_int_equal(capture_start_queue(&cap, 0, TTLOG_LEVEL_INFO,
					     TTLOG_QUEUE_BLOCK),
			 0);
	/* Only the writer thread may ingest. */
	make(&ev, TTLOG_LEVEL_INFO, "wrong thread", "h");
	assert_int_equal(ttlog__host_ingest(ttlog__host_writer(), &ev, 1),
			 TTLOG_EINVAL);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_two, NULL), 0);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), timer_start, &in), 0);
	/* Wait for the timer to have fired 20 times (an event, not a sleep). */
	while (ttlog_stats(&st) == 0 && st.ingested < 22)
		ttlog_flush();
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), timer_stop, &in), 0);
	TTLOG_INFO("from the application");
	ttlog_flush();
	assert_int_equal(cap.n, 23);
	assert_string_equal(cap.ev[0].msg, "first");
	assert_string_equal(cap.ev[1].msg, "second");
	assert_int_equal(cap.ev[0].tid, 1);
	assert_int_equal(cap.ev[2].tid, 9);
	assert_string_equal(cap.ev[2].msg, "tick 20");
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.ingested, 22);
	assert_int_equal(st.produced, 1);
	assert_int_equal(st.delivered, 23);
	assert_int_equal(in.backlog_seen, 0);

	/* A listener that pushes back shows up in the backlog. */
	answer = TTLOG_LISTENER_RETRY;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), set_answer, &cap), 0);
	in.left = 3;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), timer_start, &in), 0);
	while (ttlog_stats(&st) == 0 && st.ingested < 25)
		ttlog_flush();
	/* Read once the timer is stopped on the writer: that call is what
	 * orders its last write before this read. */
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), timer_stop, &in), 0);
	assert_true(in.backlog_seen > 0);
	answer = TTLOG_LISTENER_OK;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), set_answer, &cap), 0);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(cap.n, 26);
	capture_reset(&cap);
}

/* An invalid event is refused as such, not as out of memory. */
static void test_invalid_event_is_refused_as_invalid(void **state)
{
	struct ttlog_batch *b = ttlog__batch_new(4, 4096, 1);
	struct ttlog__in_event ev;
	(void)state;

	make(&ev, TTLOG_LEVEL_OFF, "no such level", "h");
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), TTLOG_EINVAL);
	make(&ev, TTLOG_LEVEL_INFO, "no source", "h");
	ev.source = NULL;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), TTLOG_EINVAL);
	make(&ev, TTLOG_LEVEL_INFO, "too many fields", "h");
	ev.nfields = TTLOG__IN_MAX_FIELDS + 1;
	assert_int_equal(ttlog__batch_add_in(b, &ev, 1, 1, 4096), TTLOG_EINVAL);
	assert_int_equal(ttlog_batch_count(b), 0);
	ttlog_batch_unref(b);
}

static int ingest_invalid(struct event_base *base, void *arg)
{
	struct ttlog__in_event ev;
	(void)base;
	(void)arg;
	make(&ev, TTLOG_LEVEL_OFF, "no such level", "h");
	return ttlog__host_ingest(ttlog__host_writer(), &ev, 1);
}

/* The writer counts an invalid ingested event in dropped_invalid, and
 * ingested, so that the counters still add up; not in no_memory. */
static void test_invalid_ingest_counts_dropped_invalid(void **state)
{
	static struct capture cap;
	struct ttlog_stats st;
	(void)state;

	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_TRACE), 0);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_invalid, NULL),
		TTLOG_EINVAL);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_two, NULL), 0);
	ttlog_flush();
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.dropped_invalid, 1);
	assert_int_equal(st.dropped_no_memory, 0);
	assert_int_equal(st.ingested, 3);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(cap.n, 2);
	capture_reset(&cap);
}

/* "Taken": what an input that acknowledges waits for. */
struct taken_probe {
	uint64_t told, calls;	 /* what the taken function was told */
	uint64_t no, taken_then; /* after the last commit */
};

static void on_taken(void *arg, uint64_t taken)
{
	struct taken_probe *p = arg;
	p->told = taken;
	p->calls++;
}

static int watch_taken(struct event_base *base, void *arg)
{
	(void)base;
	return ttlog__host_on_taken(ttlog__host_writer(), arg ? on_taken : NULL,
				    arg);
}

static int ingest_commit(struct event_base *base, void *arg)
{
	struct taken_probe *p = arg;
	struct ttlog__writer *w = ttlog__host_writer();
	(void)base;
	if (ingest_two(base, NULL) != 0 || ttlog__host_ingest_commit(w) != 0)
		return -1;
	p->no = ttlog__host_dispatched(w);
	p->taken_then = ttlog__host_taken(w);
	return 0;
}

static void test_taken_waits_for_a_block_listener(void **s)
{
	static struct capture cap;
	struct taken_probe p = {0};
	(void)s;

	/* A listener that must not lose (block) is waited for. */
	assert_int_equal(capture_start_queue(&cap, 0, TTLOG_LEVEL_INFO,
					     TTLOG_QUEUE_BLOCK),
			 0);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), watch_taken, &p), 0);
	/* Taken at once by a listener that answers OK. */
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_commit, &p), 0);
	assert_true(p.no > 0);
	assert_int_equal(p.taken_then, p.no);
	assert_int_equal(p.told, p.no);
	uint64_t first = p.no;

	/* Held back (RETRY): handed out, not taken, the function not told. */
	answer = TTLOG_LISTENER_RETRY;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), set_answer, &cap), 0);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_commit, &p), 0);
	assert_true(p.no > first);
	assert_int_equal(p.taken_then, p.no - 1);
	assert_int_equal(p.told, first);
	/* Another batch behind it does not move it either. */
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_commit, &p), 0);
	assert_true(p.taken_then < p.no);
	uint64_t calls = p.calls;

	/* Taken once the listener takes them: told once, up to the last. */
	answer = TTLOG_LISTENER_OK;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), set_answer, &cap), 0);
	assert_int_equal(ttlog_flush(), 0);
	assert_int_equal(p.told, p.no);
	assert_true(p.calls > calls);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), watch_taken, NULL), 0);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(cap.n, 6);
	capture_reset(&cap);
}

/* One that drops when full is not: isolation, or a stuck listener would
 * stop every sender of an acknowledging input. */
static void test_taken_does_not_wait_for_a_dropping_listener(void **s)
{
	static struct capture cap;
	struct taken_probe p = {0};
	(void)s;

	assert_int_equal(capture_start_queue(&cap, 0, TTLOG_LEVEL_INFO,
					     TTLOG_QUEUE_DROP_OLDEST),
			 0);
	answer = TTLOG_LISTENER_RETRY;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), set_answer, &cap), 0);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), ingest_commit, &p), 0);
	assert_true(p.no > 0);
	assert_int_equal(p.taken_then, p.no);
	answer = TTLOG_LISTENER_OK;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), set_answer, &cap), 0);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(cap.n, 2);
	capture_reset(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ingested_event_is_copied_and_read_back),
		cmocka_unit_test(test_similar_events_share_one_call_site),
		cmocka_unit_test(test_nul_in_message_and_key_is_shown_not_cut),
		cmocka_unit_test(test_long_values_are_cut_and_flagged),
		cmocka_unit_test(test_filtered_copy_outlives_its_parent),
		cmocka_unit_test(test_varying_messages_stay_with_their_events),
		cmocka_unit_test(
			test_inputs_on_the_writer_loop_reach_the_listeners),
		cmocka_unit_test(test_invalid_event_is_refused_as_invalid),
		cmocka_unit_test(test_invalid_ingest_counts_dropped_invalid),
		cmocka_unit_test(test_taken_waits_for_a_block_listener),
		cmocka_unit_test(
			test_taken_does_not_wait_for_a_dropping_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
