/* test_durable.c - the durable number (ttlog__host_durable()): what the
 * inputs that keep a position in their source (tail, journal) wait for.
 * A listener of ABI 1.4 that calls defer_durable() holds it back until
 * it confirms with durable(); the others do not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "durable_internal.h"
#include "host_internal.h"
#include "ingest_internal.h"
#include "testutil.h"

/* A listener that keeps what it takes in memory and confirms later, like
 * a forwarder waiting for its collector's acknowledgements. */
struct holder {
	const struct ttlog_host *host;
	int defer;	    /* calls defer_durable() in create2() */
	int confirm_now;    /* confirms each batch inside consume() */
	_Atomic int answer; /* what consume() returns */
	uint64_t seq[64];   /* ttlog_batch_seq() of the batches taken */
	size_t n;
};

static int holder_create2(const void *options, const struct ttlog_host *host,
			  void **state)
{
	struct holder *h = (struct holder *)(uintptr_t)options;

	h->host = host;
	if (h->defer) {
		assert_true(TTLOG_HOST_HAS(host, durable));
		host->defer_durable(host);
	}
	*state = h;
	return 0;
}

static int holder_consume(void *state, struct ttlog_batch *b)
{
	struct holder *h = state;

	if (h->answer != TTLOG_LISTENER_OK)
		return h->answer;
	if (h->n < 64)
		h->seq[h->n++] = ttlog_batch_seq(b);
	if (h->confirm_now)
		h->host->durable(h->host, ttlog_batch_seq(b));
	return TTLOG_LISTENER_OK;
}

static void holder_destroy(void *state)
{
	(void)state; /* the test owns it */
}

static const struct ttlog_listener_api holder_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "holder",
	.consume = holder_consume,
	.destroy = holder_destroy,
	.create2 = holder_create2,
};

/* What the writer said after a step, read on its thread. */
struct probe {
	int level;		/* of the next event ingested */
	struct holder *confirm; /* confirm_seq of it, or NULL */
	uint64_t confirm_seq;
	uint64_t no, taken, durable; /* after the step */
	uint64_t told, calls;	     /* the taken function's */
};

static void on_taken(void *arg, uint64_t taken)
{
	struct probe *p = arg;
	p->told = taken;
	p->calls++;
}

static void read_back(struct probe *p)
{
	struct ttlog__writer *w = ttlog__host_writer();

	p->no = ttlog__host_dispatched(w);
	p->taken = ttlog__host_taken(w);
	p->durable = ttlog__host_durable(w);
}

static int watch(struct event_base *base, void *arg)
{
	(void)base;
	return ttlog__host_on_taken(ttlog__host_writer(), on_taken, arg);
}

static int unwatch(struct event_base *base, void *arg)
{
	(void)base;
	(void)arg;
	return ttlog__host_on_taken(ttlog__host_writer(), NULL, NULL);
}

/* One event at p->level, committed: one batch handed out. */
static int ingest_one(struct event_base *base, void *arg)
{
	struct probe *p = arg;
	struct ttlog__in_event ev;
	struct ttlog__writer *w = ttlog__host_writer();
	(void)base;

	memset(&ev, 0, sizeof(ev));
	ev.level = p->level;
	ev.msg = "line";
	ev.msg_len = 4;
	ev.source = "test";
	if (ttlog__host_ingest(w, &ev, 1) != 0 ||
	    ttlog__host_ingest_commit(w) != 0)
		return -1;
	read_back(p);
	return 0;
}

static int confirm(struct event_base *base, void *arg)
{
	struct probe *p = arg;
	const struct ttlog_host *host = p->confirm->host;
	(void)base;

	host->durable(host, p->confirm_seq);
	read_back(p);
	return 0;
}

static int look(struct event_base *base, void *arg)
{
	(void)base;
	read_back(arg);
	return 0;
}

#define CALL(fn, p)                                                            \
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), fn, p), 0)

static void step_ingest(struct probe *p, int level)
{
	p->level = level;
	CALL(ingest_one, p);
}

static void step_confirm(struct probe *p, struct holder *h, uint64_t seq)
{
	p->confirm = h;
	p->confirm_seq = seq;
	CALL(confirm, p);
}

static int start(struct ttlog_listener_config *l, size_t n)
{
	struct ttlog_options o;

	ttlog_options_init(&o);
	o.listeners = l;
	o.nlisteners = n;
	return ttlog_init(&o);
}

static void config(struct ttlog_listener_config *l, const char *name,
		   const struct ttlog_listener_api *api, void *opts)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->api = api;
	l->options = opts;
	l->queue_policy = TTLOG_QUEUE_BLOCK;
}

/* Taken at once by both, durable only once the holder confirms; each
 * confirmation moves it to that batch and tells the taken function. */
static void test_durable_waits_for_the_deferring_listener(void **s)
{
	static struct capture cap;
	static struct holder h = {.defer = 1};
	static struct ttlog_listener_config l[2];
	struct probe p = {0};
	uint64_t no[3], calls;
	(void)s;

	config(&l[0], "file", &capture_api, &cap);
	config(&l[1], "fwd", &holder_api, &h);
	assert_int_equal(start(l, 2), 0);
	CALL(watch, &p);
	for (int i = 0; i < 3; i++) {
		step_ingest(&p, TTLOG_LEVEL_INFO);
		no[i] = p.no;
		assert_int_equal(p.taken, p.no);
		assert_int_equal(p.durable, no[0] - 1);
	}
	assert_int_equal(h.n, 3);
	calls = p.calls;

	/* A seq it never took, or a repeat, changes nothing. */
	step_confirm(&p, &h, 999999);
	assert_int_equal(p.durable, no[0] - 1);
	assert_int_equal(p.calls, calls);

	step_confirm(&p, &h, h.seq[0]);
	assert_int_equal(p.durable, no[0]);
	assert_true(p.calls > calls); /* told, though taken did not move */
	calls = p.calls;
	step_confirm(&p, &h, h.seq[0]);
	assert_int_equal(p.durable, no[0]);
	assert_int_equal(p.calls, calls);

	/* The last one confirms those before it too. */
	step_confirm(&p, &h, h.seq[2]);
	assert_int_equal(p.durable, no[2]);
	assert_int_equal(p.durable, p.taken);
	CALL(unwatch, NULL);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

/* A listener that does not defer, or that answered RETRY, or confirms
 * inside consume(), never holds durable behind taken for long. */
static void test_durable_equals_taken_without_deferral(void **s)
{
	static struct holder plain = {0};
	static struct holder quick = {.defer = 1, .confirm_now = 1};
	static struct ttlog_listener_config l[2];
	struct probe p = {0};
	(void)s;

	config(&l[0], "plain", &holder_api, &plain);
	config(&l[1], "quick", &holder_api, &quick);
	assert_int_equal(start(l, 2), 0);
	step_ingest(&p, TTLOG_LEVEL_INFO);
	assert_true(p.no > 0);
	assert_int_equal(p.durable, p.no);

	/* RETRY: not taken, so not remembered as taken either; once taken
	 * and confirmed, durable catches up with taken. */
	quick.answer = TTLOG_LISTENER_RETRY;
	step_ingest(&p, TTLOG_LEVEL_INFO);
	assert_int_equal(p.taken, p.no - 1);
	assert_int_equal(p.durable, p.no - 1);
	quick.answer = TTLOG_LISTENER_OK;
	assert_int_equal(ttlog_flush(), 0);
	CALL(look, &p);
	assert_int_equal(p.taken, p.no);
	assert_int_equal(p.durable, p.no);
	assert_int_equal(quick.n, 2);
	assert_int_equal(ttlog_shutdown(), 0);
}

/* What a queue holds, read on the writer's thread. */
struct held {
	int push_stream, push_source;
};

static int look_pushback(struct event_base *base, void *arg)
{
	struct held *h = arg;
	struct ttlog__writer *w = ttlog__host_writer();
	(void)base;

	h->push_stream = ttlog__host_pushback(w, 1, 0);
	h->push_source = ttlog__host_pushback_source(w, 1, 0);
	return 0;
}

/* A listener whose queue drops when full and holds a batch back: taken
 * passes it (isolation of the inputs that acknowledge), durable does not
 * (tail and journal would lose it with a SIGKILL), and only the inputs
 * whose source keeps what is unread are paused by it. */
static void test_durable_waits_for_a_dropping_queue(void **s)
{
	static struct holder slow = {0};
	static struct holder plain = {0};
	static struct ttlog_listener_config l[2];
	struct probe p = {0};
	struct held hd = {0};
	(void)s;

	config(&l[0], "plain", &holder_api, &plain);
	config(&l[1], "slow", &holder_api, &slow);
	l[1].queue_policy = TTLOG_QUEUE_DROP_NEWEST;
	assert_int_equal(start(l, 2), 0);
	slow.answer = TTLOG_LISTENER_RETRY;
	step_ingest(&p, TTLOG_LEVEL_INFO);
	assert_int_equal(p.taken, p.no);
	assert_int_equal(p.durable, p.no - 1);
	CALL(look_pushback, &hd);
	assert_int_equal(hd.push_stream, 0);
	assert_int_equal(hd.push_source, 1);
	slow.answer = TTLOG_LISTENER_OK;
	assert_int_equal(ttlog_flush(), 0);
	CALL(look, &p);
	assert_int_equal(p.durable, p.no);
	CALL(look_pushback, &hd);
	assert_int_equal(hd.push_source, 0);
	assert_int_equal(ttlog_shutdown(), 0);
}

/* A level-filtered holder is offered copies that keep the parent's seq;
 * batches it is not offered do not wait for it. */
static void test_durable_filtered_listener(void **s)
{
	static struct holder all = {.defer = 1};
	static struct holder warn = {.defer = 1};
	static struct ttlog_listener_config l[2];
	struct probe p = {0};
	uint64_t first;
	(void)s;

	config(&l[0], "all", &holder_api, &all);
	config(&l[1], "warn", &holder_api, &warn);
	l[1].level = TTLOG_LEVEL_WARN;
	assert_int_equal(start(l, 2), 0);
	step_ingest(&p, TTLOG_LEVEL_WARN);
	first = p.no;
	step_ingest(&p, TTLOG_LEVEL_INFO); /* "warn" never sees it */
	assert_int_equal(all.n, 2);
	assert_int_equal(warn.n, 1);
	assert_int_equal(warn.seq[0], all.seq[0]); /* the parent's seq */
	assert_int_equal(p.durable, first - 1);

	step_confirm(&p, &all, all.seq[1]);
	assert_int_equal(p.durable, first - 1); /* "warn" holds it */
	step_confirm(&p, &warn, warn.seq[0]);
	assert_int_equal(p.durable, p.no); /* the INFO batch too */
	assert_int_equal(ttlog_shutdown(), 0);
}

/* A reload that removes a holder with unconfirmed batches: they no longer
 * hold durable back (what it loses is its own lost() to report). */
static void test_durable_forgets_a_removed_listener(void **s)
{
	static struct capture cap;
	static struct holder h = {.defer = 1};
	static struct ttlog_listener_config l[2];
	struct ttlog_options o;
	struct probe p = {0};
	int keep[1] = {0};
	(void)s;

	config(&l[0], "file", &capture_api, &cap);
	config(&l[1], "fwd", &holder_api, &h);
	assert_int_equal(start(l, 2), 0);
	CALL(watch, &p);
	step_ingest(&p, TTLOG_LEVEL_INFO);
	step_ingest(&p, TTLOG_LEVEL_INFO);
	assert_int_equal(p.durable, p.no - 2);
	uint64_t calls = p.calls;

	ttlog_options_init(&o);
	o.listeners = l;
	o.nlisteners = 1;
	assert_int_equal(
		ttlog__host_reconfigure(ttlog__host_writer(), &o, keep, NULL),
		0);
	CALL(look, &p);
	assert_int_equal(p.durable, p.no);
	assert_true(p.calls > calls); /* and the inputs were told */
	step_ingest(&p, TTLOG_LEVEL_INFO);
	assert_int_equal(p.durable, p.no);
	CALL(unwatch, NULL);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

/* The per-listener memory: confirmation by a point in the order of
 * taking (seqs are not in that order), and the bound. */
static void test_durable_fifo_order_and_bound(void **s)
{
	struct ttlog__durable_fifo f = {0};
	(void)s;

	/* Taken in the order 5, 3, 7 (a batch from the inputs numbered
	 * before two from the rings): confirming 3 confirms 5 too. */
	ttlog__durable_fifo_push(&f, 5, 1, "t");
	ttlog__durable_fifo_push(&f, 3, 2, "t");
	ttlog__durable_fifo_push(&f, 7, 3, "t");
	assert_int_equal(ttlog__durable_fifo_oldest(&f), 1);
	assert_int_equal(ttlog__durable_fifo_confirm(&f, 3), 1);
	assert_int_equal(ttlog__durable_fifo_oldest(&f), 3);
	assert_int_equal(ttlog__durable_fifo_confirm(&f, 5), 0); /* done */
	/* A refused batch is forgotten again. */
	ttlog__durable_fifo_push(&f, 8, 4, "t");
	ttlog__durable_fifo_unpush(&f, 8, 4);
	assert_int_equal(ttlog__durable_fifo_confirm(&f, 8), 0);
	assert_int_equal(ttlog__durable_fifo_confirm(&f, 7), 1);
	assert_int_equal(ttlog__durable_fifo_oldest(&f), 0);

	/* Past the bound the newest entry stands for the later batches:
	 * memory stays bounded, and it keeps its older dispatch number. */
	for (uint64_t i = 1; i <= TTLOG__DURABLE_MAX + 10; i++)
		ttlog__durable_fifo_push(&f, 100 + i, i, "t");
	assert_int_equal(f.len, TTLOG__DURABLE_MAX);
	assert_int_equal(f.cap, TTLOG__DURABLE_MAX);
	assert_int_equal(
		ttlog__durable_fifo_confirm(&f, 100 + TTLOG__DURABLE_MAX), 0);
	assert_int_equal(
		ttlog__durable_fifo_confirm(&f, 100 + TTLOG__DURABLE_MAX - 1),
		1);
	assert_int_equal(ttlog__durable_fifo_oldest(&f), TTLOG__DURABLE_MAX);
	assert_int_equal(
		ttlog__durable_fifo_confirm(&f, 100 + TTLOG__DURABLE_MAX + 10),
		1);
	assert_int_equal(ttlog__durable_fifo_oldest(&f), 0);
	ttlog__durable_fifo_destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durable_waits_for_the_deferring_listener),
		cmocka_unit_test(test_durable_equals_taken_without_deferral),
		cmocka_unit_test(test_durable_waits_for_a_dropping_queue),
		cmocka_unit_test(test_durable_filtered_listener),
		cmocka_unit_test(test_durable_forgets_a_removed_listener),
		cmocka_unit_test(test_durable_fifo_order_and_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
