/*
 * kafka.c - the Kafka listener: every event (or every batch, format
 * ttlog) becomes a message of a topic, through librdkafka's idempotent
 * producer (acks=all).
 *
 *   listeners:
 *     - name: kafka
 *       type: kafka
 *       brokers: kafka-1:9092,kafka-2:9092
 *       topic: logs.${service}
 *       key: ${host}
 *       format: json             # json | cbor | ttlog | syslog
 *       spool: {dir: /var/lib/ttlog/kafka-spool}
 *
 * Nothing here waits: produce() copies into librdkafka's queue or says it
 * is full (RETRY), and librdkafka's background threads talk to the
 * brokers. When its queue gets work for us (delivery reports,
 * statistics, errors) it writes a byte to a pipe whose read end the host
 * watches; the writer thread then serves the queue with rd_kafka_poll(),
 * so every callback runs on the writer thread. A 100 ms timer does the
 * same in case a wake-up is missed.
 *
 * Without a spool an OK means "in librdkafka's memory": the listener
 * defers durability (ABI 1.4) and confirms a batch once every message of
 * it has a delivery report. With a spool (kaf_spool.c) the batch's
 * messages are written there first, which makes the OK durable, and are
 * produced from the spool.
 *
 * This file is the glue: create, start, consume, flush, draining,
 * destroy and the listener table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "kafka_internal.h"

uint64_t ttlog__kaf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct kaf_batch *track(struct kaf *k, uint64_t seq, uint32_t events)
{
	struct kaf_batch *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->seq = seq;
	t->events = events;
	t->per_msg = 1;
	if (k->tail != NULL)
		k->tail->next = t;
	else
		k->head = t;
	k->tail = t;
	return t;
}

/* The batch a RETRY left half produced was not offered again (the
 * listener's queue dropped it): what was produced of it completes it. */
static void abandon_current(struct kaf *k)
{
	if (k->cur == NULL)
		return;
	k->cur->taken = 1;
	k->cur = NULL;
	k->cur_ptr = NULL;
	ttlog__kaf_settle(k);
}

static int kaf_consume(void *state, struct ttlog_batch *b)
{
	struct kaf *k = state;
	struct kaf_batch *t;
	size_t index = 0;
	int rc;

	if (k->spool != NULL)
		return ttlog__kaf_spool_consume(k, b);
	if (k->cur != NULL && k->cur_ptr == b &&
	    k->cur->seq == ttlog_batch_seq(b)) {
		t = k->cur;
		index = k->cur_index;
	} else {
		abandon_current(k);
		t = track(k, ttlog_batch_seq(b),
			  (uint32_t)ttlog_batch_count(b));
		if (t == NULL)
			return TTLOG_LISTENER_RETRY; /* out of memory: later */
	}
	rc = ttlog__kaf_format_batch(k, b, t, &index);
	if (rc == 1) {
		/* librdkafka's queue is full: the same batch comes again,
		 * and goes on from this message. */
		k->cur = t;
		k->cur_ptr = b;
		k->cur_index = index;
		return TTLOG_LISTENER_RETRY;
	}
	if (rc < 0) {
		/* Out of memory part way: what was produced completes the
		 * batch; the rest is lost and counted. */
		ttlog__kaf_lost(k, "out of memory", NULL,
				ttlog_batch_count(b) > index
					? ttlog_batch_count(b) - index
					: 0);
	}
	k->cur = NULL;
	k->cur_ptr = NULL;
	t->taken = 1;
	ttlog__kaf_settle(k);
	return TTLOG_LISTENER_OK;
}

static void on_wake(int fd, unsigned events, void *arg)
{
	struct kaf *k = arg;
	char buf[256];
	(void)events;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	ttlog__kaf_poll(k);
	ttlog__kaf_spool_pump(k);
}

static void on_timer(void *arg)
{
	struct kaf *k = arg;

	ttlog__kaf_poll(k);
	ttlog__kaf_spool_pump(k);
	ttlog__kaf_spool_tick(k);
}

static int kaf_start(void *state, const struct ttlog_host *host)
{
	struct kaf *k = state;

	k->watch =
		host->watch_new(host, k->pipe_rd, TTLOG_HOST_READ, on_wake, k);
	k->timer = host->timer_new(host, on_timer, k);
	if (k->watch == NULL || k->timer == NULL ||
	    host->timer_start(k->timer, 100, 1) != 0) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot start",
			  "no memory for the watch or the timer");
		return TTLOG_ENOMEM;
	}
	ttlog__kaf_spool_pump(k);
	return 0;
}

static int kaf_flush(void *state)
{
	struct kaf *k = state;

	ttlog__kaf_poll(k);
	ttlog__kaf_spool_pump(k);
	return 0;
}

/* Messages produced and not reported yet. */
static int in_flight(struct kaf *k)
{
	return k->rk != NULL && rd_kafka_outq_len(k->rk) > 0;
}

static int kaf_draining(void *state)
{
	struct kaf *k = state;
	uint64_t now = ttlog__kaf_now_ms();

	if (k->drained || ttlog__kaf_spool_handing_over(k))
		return 0;
	ttlog__kaf_poll(k);
	ttlog__kaf_spool_pump(k);
	if (!in_flight(k) && !ttlog__kaf_spool_unsent(k)) {
		k->drained = 1;
		return 0;
	}
	if (k->drain_deadline_ms == 0)
		k->drain_deadline_ms = now + k->shutdown_timeout_ms;
	if (now < k->drain_deadline_ms)
		return 1;
	k->drained = 1;
	return 0;
}

/* What librdkafka still holds is purged; without a spool it is lost,
 * counted and said once. */
static void give_up(struct kaf *k)
{
	uint64_t left;

	k->closing = 1;
	abandon_current(k);
	if (k->rk == NULL)
		return;
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE |
				      RD_KAFKA_PURGE_F_INFLIGHT |
				      RD_KAFKA_PURGE_F_NON_BLOCKING);
	rd_kafka_poll(k->rk, 0);
	/* Reports not served yet still count: their trackers say how many
	 * messages wait. */
	for (struct kaf_batch *t = k->head; t != NULL; t = t->next)
		if (k->spool == NULL)
			k->st.lost_shutdown +=
				(uint64_t)t->pending * t->per_msg;
	left = k->st.lost_shutdown;
	if (left > 0) {
		k->host->log(k->host, TTLOG_LEVEL_ERROR, "not delivered",
			     "kafka listener %s: %llu events not delivered at "
			     "shutdown (cluster unreachable)",
			     k->host->name, (unsigned long long)left);
		if (TTLOG_HOST_HAS(k->host, lost))
			k->host->lost(k->host, left,
				      "not delivered to Kafka, no spool");
	}
}

static void kaf_destroy(void *state)
{
	struct kaf *k = state;

	if (k == NULL)
		return;
	if (k->rk != NULL) {
		give_up(k);
		if (k->mainq != NULL) {
			rd_kafka_queue_io_event_enable(k->mainq, -1, NULL, 0);
			rd_kafka_queue_destroy(k->mainq);
		}
		for (size_t i = 0; i < KAF_TOPICS; i++)
			ttlog__kaf_topic_drop(&k->topics[i]);
		rd_kafka_destroy(k->rk);
	}
	if (k->host != NULL) {
		k->host->watch_free(k->watch);
		k->host->timer_free(k->timer);
	}
	if (k->pipe_rd >= 0)
		close(k->pipe_rd);
	if (k->pipe_wr >= 0)
		close(k->pipe_wr);
	while (k->head != NULL) {
		struct kaf_batch *t = k->head;
		k->head = t->next;
		free(t);
	}
	ttlog__kaf_spool_close(k);
	ttlog_template_free(k->topic_t);
	ttlog_template_free(k->key_t);
	free(k->topic_const);
	free(k->key_const);
	free(k->topic_buf);
	free(k->key_buf);
	ttlog__fmt_buf_free(&k->fbuf);
	ttlog__buf_free(&k->cbuf);
	ttlog__buf_free(&k->rbuf);
	ttlog__buf_free(&k->pbuf);
	for (size_t i = 0; i < 3; i++)
		free(k->sfmt_strings[i]);
	free(k);
}

static char *dup_or_null(const char *s)
{
	return s != NULL && s[0] != 0 ? strdup(s) : NULL;
}

/* The constant topic and key of format ttlog, expanded once. */
static int expand_const(struct ttlog_template *t, char **out)
{
	int64_t n;

	if (t == NULL)
		return 0;
	n = ttlog_template_expand(t, NULL, 0, NULL, 0);
	if (n < 0 || (*out = malloc((size_t)n + 1)) == NULL)
		return -1;
	ttlog_template_expand(t, NULL, 0, *out, (size_t)n + 1);
	return 0;
}

static int make_producer(struct kaf *k, const struct kaf_options *o, char *err,
			 size_t errlen)
{
	rd_kafka_conf_t *c = ttlog__kaf_conf_new(o, err, errlen);
	char v[32];
	size_t vl = sizeof(v);
	int fds[2];

	if (c == NULL)
		return -1;
	if (rd_kafka_conf_get(c, "message.max.bytes", v, &vl) ==
	    RD_KAFKA_CONF_OK)
		k->msg_max = (size_t)strtoull(v, NULL, 10);
	if (k->msg_max < 1024)
		k->msg_max = 1024;
	/* Room for the record batch framing and headers. */
	k->msg_max -= 512;
	rd_kafka_conf_set_opaque(c, k);
	rd_kafka_conf_set_dr_msg_cb(c, ttlog__kaf_on_delivery);
	rd_kafka_conf_set_stats_cb(c, ttlog__kaf_on_stats);
	rd_kafka_conf_set_error_cb(c, ttlog__kaf_on_error);
	/* librdkafka's own log lines go through the host's log, served on
	 * the writer thread from the main queue like everything else. */
	rd_kafka_conf_set_log_cb(c, ttlog__kaf_on_log);
	if (ttlog__kafka_conf_set(c, "log.queue", "true", NULL, err, errlen) !=
	    0) {
		rd_kafka_conf_destroy(c);
		return -1;
	}
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, errlen);
	if (k->rk == NULL) {
		rd_kafka_conf_destroy(c);
		return -1;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	k->pipe_rd = fds[0];
	k->pipe_wr = fds[1];
	k->mainq = rd_kafka_queue_get_main(k->rk);
	rd_kafka_set_log_queue(k->rk, NULL);
	rd_kafka_queue_io_event_enable(k->mainq, k->pipe_wr, "1", 1);
	return 0;
}

static int kaf_create(const void *options, const struct ttlog_host *host,
		      void **state)
{
	const struct kaf_options *o = options;
	struct kaf *k = calloc(1, sizeof(*k));
	char err[512] = "";

	if (k == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot create",
			  "out of memory");
		return TTLOG_ENOMEM;
	}
	k->host = host;
	k->pipe_rd = k->pipe_wr = -1;
	k->format = o->format;
	k->shutdown_timeout_ms = o->shutdown_timeout_ms;
	if (ttlog__kaf_check(o, err, sizeof(err)) != 0 ||
	    ttlog__kaf_templates(o, &k->topic_t, &k->key_t, err, sizeof(err)) !=
		    0)
		goto fail;
	if (k->format == TTLOG_KAFKA_FMT_TTLOG &&
	    (expand_const(k->topic_t, &k->topic_const) != 0 ||
	     expand_const(k->key_t, &k->key_const) != 0))
		goto nomem;
	k->sfmt.facility = (int)o->syslog_facility;
	k->sfmt.hostname = k->sfmt_strings[0] = dup_or_null(o->syslog_hostname);
	k->sfmt.app_name = k->sfmt_strings[1] = dup_or_null(o->syslog_app_name);
	k->sfmt.sd_id = k->sfmt_strings[2] = dup_or_null(o->syslog_sd_id);
	snprintf(k->procid, sizeof(k->procid), "%d", (int)getpid());
	k->sfmt.procid = k->procid;
	if (make_producer(k, o, err, sizeof(err)) != 0)
		goto fail;
	if (o->spool_dir != NULL && o->spool_dir[0] != 0) {
		if (ttlog__kaf_spool_open(k, o, err, sizeof(err)) != 0)
			goto fail;
	} else if (TTLOG_HOST_HAS(host, durable)) {
		host->defer_durable(host);
		k->defer = 1;
	}
	if (o->tls_enabled && !o->tls_verify)
		host->log(host, TTLOG_LEVEL_WARN, "insecure",
			  "WARNING: tls.verify is off: the brokers' "
			  "certificates are not checked");
	*state = k;
	return 0;
nomem:
	snprintf(err, sizeof(err), "out of memory");
fail:
	host->log(host, TTLOG_LEVEL_ERROR, "refused", "%s", err);
	kaf_destroy(k);
	return TTLOG_ECONFIG;
}

static const struct ttlog_listener_api kaf_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "kafka",
	.description = "produces events to Kafka topics (librdkafka's "
		       "idempotent producer, acks=all): JSON, CBOR, RFC 5424 "
		       "syslog or whole ttlog batches, with a disk spool",
	.options = ttlog__kaf_option_table,
	.options_size = sizeof(struct kaf_options),
	.consume = kaf_consume,
	.flush = kaf_flush,
	.destroy = kaf_destroy,
	.metrics = ttlog__kaf_metrics,
	.draining = kaf_draining,
	.create2 = kaf_create,
	.start2 = kaf_start,
	.check = ttlog__kaf_check,
};

TTLOG_LISTENER_ENTRY(kaf_api)
