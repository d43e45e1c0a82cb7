/* test_queue.c - a listener's queue when it is full (queue.when_full):
 * drop_oldest, drop_newest and block, each counted, and the backlog that
 * pauses the agent's inputs, which only block listeners make. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "host_internal.h"
#include "ingest_internal.h"
#include "testutil.h"

/* Listener 0 ("stuck") answers RETRY while told to; listener 1
 * ("healthy") takes everything. Both are at level ERROR, as the events
 * the tests hand in, so that the library's own log lines about the
 * queues reach only listener 2 ("watch") and the queues' sizes stay
 * exact. */
static struct capture stuck, healthy, watch;
static const int all6[] = {0, 1, 2, 3, 4, 5};

static void start(enum ttlog_queue_policy stuck_policy, size_t stuck_bytes,
		  enum ttlog_queue_policy healthy_policy)
{
	static struct ttlog_listener_config l[3];
	struct ttlog_options o;

	capture_reset(&stuck);
	capture_reset(&healthy);
	capture_reset(&watch);
	memset(l, 0, sizeof(l));
	l[0].api = &capture_api;
	l[0].options = &stuck;
	l[0].name = "stuck";
	l[0].queue_bytes = stuck_bytes;
	l[0].queue_policy = stuck_policy;
	l[1].api = &capture_api;
	l[1].options = &healthy;
	l[1].name = "healthy";
	l[1].queue_policy = healthy_policy;
	l[0].level = l[1].level = TTLOG_LEVEL_ERROR;
	l[2].api = &capture_api;
	l[2].options = &watch;
	l[2].name = "watch";
	ttlog_options_init(&o);
	o.listeners = l;
	o.nlisteners = 3;
	assert_int_equal(ttlog_init(&o), 0);
}

static void stop(void)
{
	stuck.answer = TTLOG_LISTENER_OK;
	ttlog_flush();
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&stuck);
	capture_reset(&healthy);
	capture_reset(&watch);
}

/* One event, "ev N", handed to the listeners as a batch of its own (as an
 * input's read does), then what the inputs would be told. */
struct step {
	int i;
	size_t pause_backlog;
	size_t backlog;
	int pause, stay;
};

static int do_step(struct event_base *base, void *arg)
{
	struct step *s = arg;
	struct ttlog__writer *w = ttlog__host_writer();
	struct ttlog__in_event ev;
	char msg[32];
	(void)base;

	if (s->i >= 0) {
		snprintf(msg, sizeof(msg), "ev %d", s->i);
		memset(&ev, 0, sizeof(ev));
		ev.level = TTLOG_LEVEL_ERROR;
		ev.msg = msg;
		ev.msg_len = strlen(msg);
		ev.source = "test";
		ev.time_ns = 1700000000000000000ull;
		assert_int_equal(ttlog__host_ingest(w, &ev, 7), 0);
		assert_int_equal(ttlog__host_ingest_commit(w), 0);
	}
	s->backlog = ttlog__host_backlog(w);
	s->pause = ttlog__host_pushback(w, s->pause_backlog, 0);
	s->stay = ttlog__host_pushback(w, s->pause_backlog, 1);
	return 0;
}

static struct step step(int i, size_t pause_backlog)
{
	struct step s = {i, pause_backlog, 0, 0, 0};

	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_step, &s),
			 0);
	return s;
}

/* The bytes one batch of one such event holds in a queue. */
static size_t one_batch_bytes(void)
{
	struct ttlog_listener_stats ls;
	size_t bytes;

	start(TTLOG_QUEUE_DROP_OLDEST, 0, TTLOG_QUEUE_DROP_OLDEST);
	stuck.answer = TTLOG_LISTENER_RETRY;
	(void)step(0, 0);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	bytes = (size_t)ls.queue_bytes;
	assert_true(bytes > 0);
	stop();
	return bytes;
}

/* The ingested events (source 7) a listener got, in order. */
static void assert_msgs(const struct capture *c, const int *want, size_t n)
{
	size_t got = 0;

	for (size_t k = 0; k < c->n; k++) {
		char msg[32];
		if (c->ev[k].tid != 7)
			continue; /* the library's own log */
		assert_true(got < n);
		snprintf(msg, sizeof(msg), "ev %d", want[got++]);
		assert_string_equal(c->ev[k].msg, msg);
	}
	assert_int_equal(got, n);
}

/* How many of the library's own events with this message a listener got,
 * and the value of `key` (an integer) in the last one. */
static size_t own_events(const struct capture *c, const char *msg,
			 const char *key, int64_t *value)
{
	size_t n = 0;

	for (size_t k = 0; k < c->n; k++) {
		if (c->ev[k].tid == 7 || strcmp(c->ev[k].msg, msg) != 0)
			continue;
		n++;
		for (unsigned f = 0; f < c->ev[k].nfields; f++)
			if (strcmp(c->ev[k].keys[f], key) == 0)
				*value = c->ev[k].f[f].v.i64;
	}
	return n;
}

/* Five batches offered to a stuck listener whose queue holds two, then
 * it recovers and a sixth comes: which three were dropped. The healthy
 * listener gets all six whatever the stuck one does. */
static void run_full_queue(enum ttlog_queue_policy policy, const int *want)
{
	static const int all[] = {0, 1, 2, 3, 4, 5};
	size_t one = one_batch_bytes();
	struct ttlog_listener_stats ls;
	struct ttlog_stats st;
	int64_t logged = 0;

	start(policy, 2 * one + one / 2, TTLOG_QUEUE_DROP_OLDEST);
	stuck.answer = TTLOG_LISTENER_RETRY;
	for (int i = 0; i < 5; i++)
		(void)step(i, 0);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_in, 5);
	assert_int_equal(ls.dropped_queue_full, 3);
	assert_int_equal(ls.queue_bytes, 2 * one);
	assert_int_equal(ttlog_stats(&st), 0);
	assert_int_equal(st.listener_dropped, 3);
	stuck.answer = TTLOG_LISTENER_OK;
	(void)step(5, 0);
	assert_msgs(&stuck, want, 3);
	assert_msgs(&healthy, all, 6);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.events_out, 3);
	assert_int_equal(ls.queue_bytes, 0);
	/* Said once when the drops began and once when they ended, with
	 * how many, however many batches went. */
	ttlog_flush();
	assert_int_equal(own_events(&watch,
				    "listener queue full, events dropped",
				    "events", &logged),
			 1);
	assert_int_equal(own_events(&watch, "listener queue drained", "dropped",
				    &logged),
			 1);
	assert_int_equal(logged, 3);
	stop();
}

static void test_drop_oldest_keeps_the_newest_and_counts(void **s)
{
	static const int want[] = {3, 4, 5};
	(void)s;
	run_full_queue(TTLOG_QUEUE_DROP_OLDEST, want);
}

static void test_drop_newest_keeps_the_oldest_and_counts(void **s)
{
	static const int want[] = {0, 1, 5};
	(void)s;
	run_full_queue(TTLOG_QUEUE_DROP_NEWEST, want);
}

/* A block queue that fills anyway (nothing paused the producers: the
 * program's own events cannot wait) drops what does not fit, counted. */
static void test_block_queue_full_anyway_drops_the_newest_counted(void **s)
{
	static const int want[] = {0, 1, 5};
	(void)s;
	run_full_queue(TTLOG_QUEUE_BLOCK, want);
}

/* A stuck listener that drops when full never pauses the inputs however
 * much it holds; the healthy one keeps receiving. */
static void test_backlog_ignores_listeners_that_drop(void **s)
{
	size_t one = one_batch_bytes();
	struct ttlog_listener_stats ls;
	struct step r = {0};
	(void)s;

	start(TTLOG_QUEUE_DROP_OLDEST, 0, TTLOG_QUEUE_BLOCK);
	stuck.answer = TTLOG_LISTENER_RETRY;
	for (int i = 0; i < 6; i++)
		r = step(i, one);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.queue_bytes, 6 * one);
	assert_int_equal(r.backlog, 0);
	assert_int_equal(r.pause, 0);
	assert_int_equal(r.stay, 0);
	assert_msgs(&healthy, all6, 6);
	stop();
}

/* A block listener pauses the inputs past its mark, min(pause_backlog,
 * half its queue), before its queue is full, and lets them resume below
 * half the mark. */
static void test_backlog_of_a_block_listener_pauses_and_resumes(void **s)
{
	size_t one = one_batch_bytes();
	struct ttlog_listener_stats ls;
	struct step r;
	(void)s;

	start(TTLOG_QUEUE_BLOCK, 8 * one + one / 2, TTLOG_QUEUE_DROP_OLDEST);
	stuck.answer = TTLOG_LISTENER_RETRY;
	/* Mark: pause_backlog, 2 batches. */
	r = step(0, 2 * one);
	assert_int_equal(r.backlog, one);
	assert_int_equal(r.pause, 0);
	assert_int_equal(r.stay, 1); /* not below half the mark yet */
	r = step(1, 2 * one);
	assert_int_equal(r.pause, 0); /* at the mark, not over it */
	r = step(2, 2 * one);
	assert_int_equal(r.backlog, 3 * one);
	assert_int_equal(r.pause, 1);
	assert_int_equal(r.stay, 1);
	/* Mark: half the queue (4.25 batches) when pause_backlog is
	 * higher; paused before anything is dropped. */
	r = step(3, (size_t)1 << 30);
	assert_int_equal(r.pause, 0);
	r = step(4, (size_t)1 << 30);
	assert_int_equal(r.backlog, 5 * one);
	assert_int_equal(r.pause, 1);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.dropped_queue_full, 0);
	/* pause_backlog 0: this input never pauses. */
	r = step(-1, 0);
	assert_int_equal(r.pause, 0);
	assert_int_equal(r.stay, 0);
	/* The listener takes its queue: the inputs may read again. */
	stuck.answer = TTLOG_LISTENER_OK;
	r = step(5, 2 * one);
	assert_int_equal(r.backlog, 0);
	assert_int_equal(r.stay, 0);
	assert_msgs(&stuck, all6, 6);
	assert_msgs(&healthy, all6, 6);
	stop();
}

/* The enum only grows; a value past it is refused, not taken as one. */
static void test_unknown_queue_policy_is_refused(void **s)
{
	static struct ttlog_listener_config l;
	struct ttlog_options o;
	(void)s;

	memset(&l, 0, sizeof(l));
	l.api = &capture_api;
	l.options = &stuck;
	l.queue_policy = (enum ttlog_queue_policy)(TTLOG_QUEUE_BLOCK + 1);
	ttlog_options_init(&o);
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), TTLOG_EINVAL);
	assert_int_equal(ttlog_shutdown(), TTLOG_ENOTRUNNING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_oldest_keeps_the_newest_and_counts),
		cmocka_unit_test(test_drop_newest_keeps_the_oldest_and_counts),
		cmocka_unit_test(
			test_block_queue_full_anyway_drops_the_newest_counted),
		cmocka_unit_test(test_backlog_ignores_listeners_that_drop),
		cmocka_unit_test(
			test_backlog_of_a_block_listener_pauses_and_resumes),
		cmocka_unit_test(test_unknown_queue_policy_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
