/*
 * kaf_produce.c - handing messages to librdkafka and taking its delivery
 * reports.
 *
 * rd_kafka_producev() copies the message and returns at once; a full
 * local queue (buffer.max_bytes) is answered QUEUE_FULL, which the caller
 * turns into RETRY: back-pressure to the listener's queue, never a wait
 * on the writer thread. Every message's opaque is its batch's tracker;
 * the report of its last message completes the batch, and batches are
 * confirmed to the host (durable()) in the order they were taken. A
 * message that fails for good is counted under librdkafka's name of the
 * reason and still completes its batch: it is lost, and said so once per
 * reason.
 *
 * Reports, statistics and errors are served by rd_kafka_poll(), which
 * only the writer thread calls (kafka.c wakes it through a pipe that
 * librdkafka writes to when its queue gets work), so none of this needs
 * a lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "kafka_internal.h"

void ttlog__kaf_lost(struct kaf *k, const char *reason, const char *topic,
		     uint64_t events)
{
	struct kaf_reason *r = NULL;

	for (size_t i = 0; i < KAF_REASONS; i++) {
		if (k->reasons[i].name == NULL) {
			r = &k->reasons[i];
			r->name = reason;
			/* The first loss for this reason: said once, with
			 * where it went; the count is in /metrics. */
			k->host->log(k->host, TTLOG_LEVEL_ERROR,
				     "messages lost",
				     "topic %s: %s: %llu events lost (further "
				     "losses for this reason are counted in "
				     "kafka_events_lost_total)",
				     topic ? topic : "?", reason,
				     (unsigned long long)events);
			break;
		}
		if (strcmp(k->reasons[i].name, reason) == 0) {
			r = &k->reasons[i];
			break;
		}
	}
	if (r != NULL)
		r->events += events;
	else
		k->lost_other += events;
}

void ttlog__kaf_settle(struct kaf *k)
{
	uint64_t last = 0;
	int any = 0;
	struct kaf_batch *t;

	/* Closing: what was purged is not delivered; a spool keeps it
	 * unacknowledged for the next owner, and nothing is confirmed. */
	if (k->closing)
		return;
	while ((t = k->head) != NULL && t->taken && t->pending == 0) {
		if (t->redo > 0) {
			/* Timed out in librdkafka: sent again from the
			 * spool, complete when that copy is reported. */
			(void)ttlog__kaf_spool_resend(k, t);
			break;
		}
		k->head = t->next;
		if (k->head == NULL)
			k->tail = NULL;
		last = t->seq;
		any = 1;
		free(t);
	}
	if (any && k->spool != NULL)
		ttlog__kaf_spool_done(k, last);
	else if (any && k->defer)
		k->host->durable(k->host, last);
}

void ttlog__kaf_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
			    void *opaque)
{
	struct kaf *k = opaque;
	struct kaf_batch *t = m->_private;
	int64_t lat = rd_kafka_message_latency(m);
	(void)rk;

	if (t == NULL)
		return;
	if (t->pending > 0)
		t->pending--;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		k->st.msgs_delivered++;
		k->st.bytes_delivered += m->len;
		k->st.events_delivered += t->per_msg;
		if (lat >= 0) {
			k->st.lat_sum_us += (uint64_t)lat;
			k->st.lat_count++;
			if ((uint64_t)lat > k->st.lat_max_us)
				k->st.lat_max_us = (uint64_t)lat;
		}
	} else if (k->spool != NULL && !k->closing &&
		   (m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
		    m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
		    m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
		/* Its record is still in the spool: read again from there
		 * (kaf_spool.c), not lost. */
		t->redo++;
	} else if (k->closing || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
		   m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		if (k->spool == NULL)
			k->st.lost_shutdown += t->per_msg;
	} else {
		ttlog__kaf_lost(k, rd_kafka_err2name(m->err),
				m->rkt ? rd_kafka_topic_name(m->rkt) : NULL,
				t->per_msg);
	}
	ttlog__kaf_settle(k);
}

/* The handle of topic, from a small cache: a message given by name makes
 * librdkafka look the topic up (a lock and string compares) each time,
 * by handle it does not. NULL (out of memory): go by name. */
static rd_kafka_topic_t *topic_handle(struct kaf *k, const char *topic)
{
	struct kaf_topic *e;

	for (size_t i = 0; i < KAF_TOPICS; i++)
		if (k->topics[i].name != NULL &&
		    strcmp(k->topics[i].name, topic) == 0)
			return k->topics[i].rkt;
	/* A new topic takes the slot after the last one taken; the old
	 * handle only drops our reference, messages in flight keep
	 * theirs. */
	e = &k->topics[k->topic_next];
	k->topic_next = (k->topic_next + 1) % KAF_TOPICS;
	ttlog__kaf_topic_drop(e);
	e->name = strdup(topic);
	if (e->name == NULL)
		return NULL;
	e->rkt = rd_kafka_topic_new(k->rk, topic, NULL);
	if (e->rkt == NULL) {
		free(e->name);
		e->name = NULL;
	}
	return e->rkt;
}

void ttlog__kaf_topic_drop(struct kaf_topic *e)
{
	if (e->rkt != NULL)
		rd_kafka_topic_destroy(e->rkt);
	free(e->name);
	e->rkt = NULL;
	e->name = NULL;
}

int ttlog__kaf_produce(struct kaf *k, struct kaf_batch *t, const char *topic,
		       const char *key, size_t keylen, int fmt,
		       const void *value, size_t len)
{
	rd_kafka_topic_t *rkt = topic_handle(k, topic);
	rd_kafka_vu_t vu[6];
	rd_kafka_error_t *e;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	size_t n = 0;

	if (rkt != NULL) {
		vu[n].vtype = RD_KAFKA_VTYPE_RKT;
		vu[n++].u.rkt = rkt;
	} else {
		vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
		vu[n++].u.cstr = topic;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
	vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
	vu[n].vtype = RD_KAFKA_VTYPE_KEY;
	vu[n].u.mem.ptr = (void *)(uintptr_t)key;
	vu[n++].u.mem.size = key ? keylen : 0;
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	vu[n].u.mem.ptr = (void *)(uintptr_t)value;
	vu[n++].u.mem.size = len;
	vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
	vu[n++].u.ptr = t;
	/* The format header only where the value cannot tell its format
	 * (kafka_conf.h): json starts with '{' and syslog with '<', and
	 * a header costs librdkafka two more allocations a message. */
	if (fmt != TTLOG_KAFKA_FMT_JSON && fmt != TTLOG_KAFKA_FMT_SYSLOG) {
		const char *fname = ttlog__kafka_format_name(fmt);
		vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
		vu[n].u.header.name = TTLOG_KAFKA_FORMAT_HEADER;
		vu[n].u.header.val = fname;
		vu[n++].u.header.size = (ssize_t)strlen(fname);
	}
	e = rd_kafka_produceva(k->rk, vu, n);
	if (e != NULL) {
		err = rd_kafka_error_code(e);
		rd_kafka_error_destroy(e);
	}
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		k->st.queue_full++;
		return 1;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Refused before it was queued (too large, a fatal
		 * producer error): lost, counted, the batch goes on. */
		ttlog__kaf_lost(k, rd_kafka_err2name(err), topic, t->per_msg);
		return 0;
	}
	t->pending++;
	k->st.msgs_produced++;
	k->st.bytes_produced += len;
	return 0;
}

void ttlog__kaf_poll(struct kaf *k)
{
	if (k->rk != NULL)
		rd_kafka_poll(k->rk, 0);
}

void ttlog__kaf_on_error(rd_kafka_t *rk, int err, const char *reason,
			 void *opaque)
{
	struct kaf *k = opaque;
	(void)rk;

	/* Mostly passing trouble librdkafka retries on its own (a broker
	 * down); the host's log limits the rate. A fatal error of the
	 * idempotent producer stops it: every later message fails and is
	 * counted under _FATAL. */
	k->host->log(k->host,
		     err == RD_KAFKA_RESP_ERR__FATAL ? TTLOG_LEVEL_ERROR
						     : TTLOG_LEVEL_WARN,
		     "kafka", "%s: %s", rd_kafka_err2name(err), reason);
}

void ttlog__kaf_on_log(const rd_kafka_t *rk, int level, const char *fac,
		       const char *buf)
{
	struct kaf *k = rd_kafka_opaque(rk);

	/* Connection failures (FAIL) come again through the error
	 * callback; below warnings is librdkafka's chatter. */
	if (k == NULL || level > 4 || strcmp(fac, "FAIL") == 0)
		return;
	k->host->log(k->host, level <= 3 ? TTLOG_LEVEL_ERROR : TTLOG_LEVEL_WARN,
		     "librdkafka", "%s: %s", fac, buf);
}

/* Finds "\"name\":\"" after p and copies the string value to out. */
static const char *json_str(const char *p, const char *end, const char *name,
			    char *out, size_t cap)
{
	char pat[40];
	const char *s, *q;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	s = memmem(p, (size_t)(end - p), pat, strlen(pat));
	if (s == NULL)
		return NULL;
	s += strlen(pat);
	q = memchr(s, '"', (size_t)(end - s));
	if (q == NULL)
		return NULL;
	n = (size_t)(q - s) < cap - 1 ? (size_t)(q - s) : cap - 1;
	memcpy(out, s, n);
	out[n] = 0;
	return q;
}

static void broker_set(struct kaf *k, const char *name, int up)
{
	size_t i;

	for (i = 0; i < k->nbrokers; i++)
		if (strcmp(k->brokers[i].name, name) == 0)
			break;
	if (i == k->nbrokers) {
		if (k->nbrokers == KAF_BROKERS)
			return;
		k->nbrokers++;
		snprintf(k->brokers[i].name, sizeof(k->brokers[i].name), "%s",
			 name);
		k->brokers[i].up = 0;
	}
	/* A bootstrap entry and the broker it led to share an address:
	 * up when either connection is. */
	k->brokers[i].up |= up;
}

int ttlog__kaf_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kaf *k = opaque;
	const char *p = json, *end = json + len;
	char node[128], state[32];
	(void)rk;

	/* The statistics' "brokers" object: each broker's "nodename"
	 * (host:port) comes before its "state" ("UP", "DOWN", ...). Only
	 * those two strings are read; the rest of the document is not. */
	p = memmem(p, len, "\"brokers\":{", 11);
	for (size_t i = 0; i < k->nbrokers; i++)
		k->brokers[i].up = 0;
	while (p != NULL &&
	       (p = json_str(p, end, "nodename", node, sizeof(node))) != NULL) {
		p = json_str(p, end, "state", state, sizeof(state));
		if (p == NULL)
			break;
		if (node[0] != 0)
			broker_set(k, node, strcmp(state, "UP") == 0);
	}
	return 0; /* librdkafka frees json */
}
