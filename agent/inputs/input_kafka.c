/*
 * input_kafka.c - the kafka input's consumer on the writer's loop.
 *
 * librdkafka's main queue is forwarded to the consumer queue
 * (rd_kafka_poll_set_consumer), so that one queue carries the messages,
 * the rebalances and the commit results; that queue writes a byte to a
 * pipe when it goes from empty to not empty (rd_kafka_queue_io_event_
 * enable), and the pipe is watched on the loop. Nothing here waits:
 * every poll has timeout 0, commits are asynchronous, and a turn reads at
 * most TTLOG__KAFKA_CHUNK messages before it lets the loop serve the
 * other inputs and comes back. Each assigned partition's messages stay
 * in the partition's own queue (not forwarded to the consumer queue, and
 * signalling the same pipe), and a turn takes from them round-robin, so
 * that a partition with a long backlog does not hold the others back.
 *
 * Back-pressure: while ttlog__host_pushback_source() says so the whole
 * assignment is paused (rd_kafka_pause_partitions): the brokers keep what
 * is unread, which is where it is safest. What librdkafka had fetched
 * already is still read. The partitions resume once the listeners take
 * again (the taken callback, and the tick as a safety net).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"
#include "input_kafka.h"
#include "kafka_conf.h"
#include "parse_internal.h"

void ttlog__kafka_warn(struct ttlog__kafka *k, const char *what,
		       const char *why)
{
	uint64_t suppressed;

	if (!ttlog__ratelimit_pass(&k->err_rl, ttlog__input_now_ns(),
				   1000000000u, &suppressed))
		return;
	TTLOG_WARN("kafka input", TTLOG_KV("input", (const char *)k->in->name),
		   TTLOG_KV("what", what), TTLOG_KV("reason", why),
		   TTLOG_KV("suppressed", suppressed));
}

/* Whether the listeners hold back too much: pause, or stay paused. */
static int pushback(struct ttlog__kafka *k)
{
	return ttlog__host_pushback_source(
		k->in->writer, (size_t)k->in->pause_backlog, k->paused);
}

/* One message (or an error the consumer reports as one). */
static void on_message(struct ttlog__kafka *k, rd_kafka_message_t *m)
{
	struct ttlog__input *in = k->in;
	struct ttlog__kafka_part *p;

	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		in->st.errors++;
		ttlog__kafka_warn(k, "consumer error",
				  rd_kafka_message_errstr(m));
		return;
	}
	p = ttlog__kafka_part_get(k, rd_kafka_topic_name(m->rkt), m->partition);
	if (p == NULL) {
		in->st.dropped++;
		ttlog__kafka_warn(k, "out of memory", "a message was skipped");
		return;
	}
	in->st.kafka_messages++;
	in->st.bytes += m->len;
	/* Read past it whatever becomes of it: a message that cannot be
	 * taken would be refused again each time it was read. */
	if (m->offset + 1 > p->next)
		p->next = m->offset + 1;
	ttlog__kafka_ingest(k, m, p);
}

/* Takes up to `quota` messages from queue q (the consumer queue also
 * serves rebalances and commit results). Returns how many. */
static int take(struct ttlog__kafka *k, rd_kafka_queue_t *q, int quota)
{
	int got = 0;

	while (got < quota) {
		rd_kafka_message_t *m =
			q == k->q ? rd_kafka_consumer_poll(k->rk, 0)
				  : rd_kafka_consume_queue(q, 0);
		if (m == NULL)
			break;
		on_message(k, m);
		rd_kafka_message_destroy(m);
		got++;
	}
	return got;
}

/* One turn: the consumer queue (callbacks, errors), then up to a chunk
 * of messages taken round-robin from the partitions' queues, at most
 * TTLOG__KAFKA_QUOTA from one before the next one's turn, starting with
 * a different partition each turn; handed on and noted; back at once
 * when the chunk was full. */
static void turn(struct ttlog__kafka *k)
{
	struct ttlog__input *in = k->in;
	int got, step;

	if (k->rk == NULL || k->closing)
		return;
	if (!k->paused && pushback(k))
		ttlog__kafka_pause(k, 1);
	got = take(k, k->q, TTLOG__KAFKA_CHUNK);
	do {
		step = 0;
		/* By index: a rebalance served above may have grown parts. */
		for (size_t j = 0; j < k->nparts && got < TTLOG__KAFKA_CHUNK;
		     j++) {
			size_t i = (k->rr + j) % k->nparts;
			int n, quota = TTLOG__KAFKA_CHUNK - got;
			if (k->parts[i].q == NULL)
				continue;
			if (quota > TTLOG__KAFKA_QUOTA)
				quota = TTLOG__KAFKA_QUOTA;
			n = take(k, k->parts[i].q, quota);
			got += n;
			step += n;
		}
	} while (step > 0 && got < TTLOG__KAFKA_CHUNK);
	if (k->nparts > 0)
		k->rr = (k->rr + 1) % k->nparts;
	if (got > 0) {
		(void)ttlog__host_ingest_commit(in->writer);
		ttlog__kafka_note(k, ttlog__host_dispatched(in->writer));
	}
	/* The listeners may have made it durable within the commit. */
	ttlog__kafka_advance(k, 0);
	if (got >= TTLOG__KAFKA_CHUNK)
		event_active(k->wake, EV_TIMEOUT, 0);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	(void)what;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	turn(arg);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	turn(arg);
}

/* Commits that fell due, resuming that the taken callback missed. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__kafka *k = arg;
	(void)fd;
	(void)what;

	ttlog__kafka_taken(k->in);
	/* Rebalances and commit results wait in the queue too. */
	turn(k);
}

void ttlog__kafka_taken(struct ttlog__input *in)
{
	struct ttlog__kafka *k = in->kafka;

	if (k == NULL || k->rk == NULL)
		return;
	ttlog__kafka_advance(k, 0);
	if (k->paused && !pushback(k)) {
		ttlog__kafka_pause(k, 0);
		event_active(k->wake, EV_TIMEOUT, 0);
	}
}

static void kafka_free(struct ttlog__kafka *k)
{
	if (k->io != NULL)
		event_free(k->io);
	if (k->wake != NULL)
		event_free(k->wake);
	if (k->tick != NULL)
		event_free(k->tick);
	if (k->q != NULL)
		rd_kafka_queue_destroy(k->q);
	ttlog__kafka_parts_free(k); /* their queues, before the handle */
	if (k->rk != NULL)
		rd_kafka_destroy(k->rk);
	for (int i = 0; i < 2; i++)
		if (k->pipe[i] >= 0)
			close(k->pipe[i]);
	ttlog__wire_scratch_free(&k->ws);
	ttlog__scratch_destroy(&k->sbuf);
	free(k);
}

/* Subscribes to the topics (patterns as they are: librdkafka takes a
 * leading ^ as a regex). */
static int subscribe(struct ttlog__kafka *k, const struct ttlog__input_opts *o,
		     char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l =
		rd_kafka_topic_partition_list_new((int)o->topics.n);
	rd_kafka_resp_err_t e;

	if (l == NULL)
		return ttlog__errf(err, errlen, "out of memory");
	for (size_t i = 0; i < o->topics.n; i++)
		rd_kafka_topic_partition_list_add(l, o->topics.v[i],
						  RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(k->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ttlog__errf(err, errlen, "topics: %s",
				   rd_kafka_err2str(e));
	return 0;
}

/* `format` (enum ttlog__input_format) as the decoder's formats. */
static const int formats[] = {
	[TTLOG__INPUT_FMT_RAW] = TTLOG__KAFKA_FMT_RAW,
	[TTLOG__INPUT_FMT_JSON] = TTLOG_KAFKA_FMT_JSON,
	[TTLOG__INPUT_FMT_SYSLOG] = TTLOG_KAFKA_FMT_SYSLOG,
	[TTLOG__INPUT_FMT_AUTO] = TTLOG_KAFKA_FMT_AUTO,
	[TTLOG__INPUT_FMT_CBOR] = TTLOG_KAFKA_FMT_CBOR,
	[TTLOG__INPUT_FMT_TTLOG] = TTLOG_KAFKA_FMT_TTLOG,
};

int ttlog__kafka_start(struct ttlog__input *in,
		       const struct ttlog__input_opts *o, char *err,
		       size_t errlen)
{
	struct ttlog__kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf;
	char why[512];

	if (k == NULL)
		return ttlog__errf(err, errlen, "input %s: out of memory",
				   o->name);
	k->in = in;
	k->pipe[0] = k->pipe[1] = -1;
	k->max_frame = (size_t)o->max_frame;
	k->format = o->format_set && o->format >= 0 &&
				    o->format < (int)(sizeof(formats) /
						      sizeof(formats[0]))
			    ? formats[o->format]
			    : TTLOG_KAFKA_FMT_AUTO;
	conf = ttlog__kafka_input_conf(o, why, sizeof(why));
	if (conf == NULL)
		goto fail;
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_rebalance_cb(conf, ttlog__kafka_rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(conf, ttlog__kafka_commit_cb);
	k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (k->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	if (rd_kafka_poll_set_consumer(k->rk) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    (k->q = rd_kafka_queue_get_consumer(k->rk)) == NULL) {
		snprintf(why, sizeof(why), "no consumer queue");
		goto fail;
	}
	if (pipe2(k->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(why, sizeof(why), "pipe: %s", strerror(errno));
		goto fail;
	}
	rd_kafka_queue_io_event_enable(k->q, k->pipe[1], "1", 1);
	k->io = event_new(in->base, k->pipe[0], EV_READ | EV_PERSIST, on_io, k);
	k->wake = evtimer_new(in->base, on_wake, k);
	k->tick = event_new(in->base, -1, EV_PERSIST, on_tick, k);
	if (k->io == NULL || k->wake == NULL || k->tick == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	if (subscribe(k, o, why, sizeof(why)) != 0)
		goto fail;
	in->kafka = k;
	return 0;
fail:
	ttlog__errf(err, errlen, "input %s: %s", o->name, why);
	kafka_free(k);
	return TTLOG_EINVAL;
}

void ttlog__kafka_enable(struct ttlog__input *in)
{
	struct ttlog__kafka *k = in->kafka;
	struct timeval tv = {0, TTLOG__KAFKA_TICK_US};

	if (k == NULL)
		return;
	event_add(k->io, NULL);
	event_add(k->tick, &tv);
	event_active(k->wake, EV_TIMEOUT, 0);
}

void ttlog__kafka_stop(struct ttlog__input *in)
{
	struct ttlog__kafka *k = in->kafka;

	if (k == NULL)
		return;
	/* What is durable now is committed; the rest is read again by
	 * whoever gets the partitions next (docs/kafka.md). Leaving
	 * the group serves the revoke, which commits once more; it waits
	 * for the commits in flight (bounded by the brokers' answer). */
	ttlog__kafka_advance(k, 1);
	k->closing = 1;
	(void)rd_kafka_consumer_close(k->rk);
	in->kafka = NULL;
	kafka_free(k);
}

void ttlog__kafka_get_stats(const struct ttlog__input *in,
			    struct ttlog__input_stats *out)
{
	const struct ttlog__kafka *k = in->kafka;
	uint64_t assigned = 0, lag = 0;

	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nparts; i++) {
		const struct ttlog__kafka_part *p = &k->parts[i];
		int64_t lo, hi;
		if (!p->assigned)
			continue;
		assigned++;
		if (rd_kafka_get_watermark_offsets(k->rk, p->topic,
						   p->partition, &lo, &hi) ==
			    RD_KAFKA_RESP_ERR_NO_ERROR &&
		    hi >= 0 && p->next >= 0 && hi > p->next)
			lag += (uint64_t)(hi - p->next);
	}
	out->kafka_assigned = assigned;
	out->kafka_lag = lag;
	out->paused = k->paused;
}

size_t ttlog__kafka_partition_lags(const struct ttlog__input *in, size_t max,
				   void (*fn)(void *arg, const char *topic,
					      int32_t partition, int64_t lag),
				   void *arg)
{
	const struct ttlog__kafka *k = in->kafka;
	size_t n = 0, left = 0;

	if (k == NULL)
		return 0;
	for (size_t i = 0; i < k->nparts; i++) {
		const struct ttlog__kafka_part *p = &k->parts[i];
		int64_t lo, hi, lag = -1;
		if (!p->assigned)
			continue;
		if (n == max) {
			left++;
			continue;
		}
		if (rd_kafka_get_watermark_offsets(k->rk, p->topic,
						   p->partition, &lo, &hi) ==
			    RD_KAFKA_RESP_ERR_NO_ERROR &&
		    hi >= 0)
			lag = p->next >= 0 ? (hi > p->next ? hi - p->next : 0)
					   : -1;
		fn(arg, p->topic, p->partition, lag);
		n++;
	}
	return left;
}
