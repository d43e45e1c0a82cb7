/*
 * kaf_spool.c - the Kafka listener's write-ahead spool (spool.dir).
 *
 * consume() turns a batch into its messages and appends them as one
 * record (kaf_record.c; the record's count is the batch's events) before
 * it answers OK, so the OK is as durable as spool.fsync makes it and a
 * SIGKILL while the cluster is away loses nothing. A reader then
 * produces records in seq order while librdkafka has room (a full queue
 * stops it until delivery reports free some), so memory stays bounded
 * however long the brokers are gone. A record is acknowledged in the
 * spool once each of its messages has a delivery report; a message that
 * timed out in librdkafka has its record produced again (at-least-once:
 * the other messages of that record are then duplicated). At start the
 * records not acknowledged are produced again, some of which the cluster
 * may have had already.
 *
 * Across a reload the old and the new instance of a listener would open
 * the same directory, which the spool's lock refuses; as the forward
 * listener does (fwd_spool.c), the new instance attaches to the open
 * spool as heir and answers RETRY until the old one is destroyed, then
 * continues from the spool's acknowledged seq. (The forward plugin's
 * registry holds forward instances, hence this one of its own.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ttlog/ttlog.h>

#include "kafka_internal.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct kaf_spool_ref *refs;

static void on_loss(void *arg, const struct ttlog__spool_loss *l)
{
	struct kaf *k = arg;
	static const char *const kinds[] = {
		"the size cap deleted", "the size cap deleted (held)",
		"damage destroyed", "found missing"};

	k->host->log(
		k->host, TTLOG_LEVEL_ERROR, "spool dropped",
		"spool %s: %s %llu records (%llu events, seq %llu-%llu) "
		"%s%s%s not delivered to Kafka: lost",
		k->spool ? ttlog__spool_dir(k->spool) : "", kinds[l->kind & 3],
		(unsigned long long)l->records, (unsigned long long)l->events,
		(unsigned long long)l->seq_lo, (unsigned long long)l->seq_hi,
		l->segment, l->reason ? ": " : "", l->reason ? l->reason : "");
}

/* Takes the spool's state: the reader starts after what is
 * acknowledged. */
static void load(struct kaf *k)
{
	uint64_t acked = ttlog__spool_acked(k->spool);

	k->last_rec = ttlog__spool_last_seq(k->spool);
	if (k->last_rec < acked)
		k->last_rec = acked;
	k->read_rec = acked;
	ttlog__spool_rewind(k->spool, acked);
	if (k->last_rec > acked)
		k->host->log(k->host, TTLOG_LEVEL_INFO, "replaying",
			     "%llu records kept in spool %s are produced "
			     "again (Kafka may have some of them already)",
			     (unsigned long long)(k->last_rec - acked),
			     ttlog__spool_dir(k->spool));
}

int ttlog__kaf_spool_open(struct kaf *k, const struct kaf_options *o, char *err,
			  size_t errlen)
{
	struct ttlog__spool_opts so = {
		.dir = o->spool_dir,
		.max_bytes = o->spool_max_bytes,
		.segment_bytes = o->spool_segment_bytes,
		.fsync = o->spool_fsync,
		.overflow = o->spool_overflow,
		.on_loss = on_loss,
		.loss_arg = k,
	};
	struct kaf_spool_ref *r;
	struct stat st;
	int rc = -1;

	k->spool_opts = so;
	k->spool_opts.dir = NULL;
	k->fsync_interval_ms = o->spool_fsync == TTLOG_SPOOL_FSYNC_INTERVAL
				       ? o->spool_fsync_interval_ms
				       : 0;
	pthread_mutex_lock(&mu);
	for (r = refs; r != NULL; r = r->next)
		if (stat(so.dir, &st) == 0 && r->dev == (uint64_t)st.st_dev &&
		    r->ino == (uint64_t)st.st_ino)
			break;
	if (r != NULL) {
		if (r->heir != NULL ||
		    strcmp(r->owner->host->name, k->host->name) != 0) {
			snprintf(err, errlen,
				 "spool.dir: %s is in use by listener \"%s\" "
				 "(each kafka listener needs its own)",
				 so.dir, r->owner->host->name);
			goto out;
		}
		r->heir = k;
		k->spool_ref = r;
		k->spool = r->spool;
		k->spool_waiting = 1;
		rc = 0;
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "spool.dir: out of memory");
		goto out;
	}
	if (ttlog__spool_open(&so, &r->spool, err, errlen) != 0 ||
	    ttlog__spool_dir_key(r->spool, &r->dev, &r->ino) != 0) {
		if (r->spool != NULL)
			ttlog__spool_close(r->spool);
		free(r);
		goto out;
	}
	r->owner = k;
	r->next = refs;
	refs = r;
	k->spool_ref = r;
	k->spool = r->spool;
	rc = 0;
out:
	pthread_mutex_unlock(&mu);
	if (rc == 0 && !k->spool_waiting)
		load(k);
	return rc;
}

/* The heir becomes the owner: the old instance is gone, and what it
 * had produced without a report is produced again from the spool. */
static void take_over(struct kaf *h, const struct kaf *from)
{
	char err[256];

	/* The listener's counters never go back across a reload. */
	h->st = from->st;
	memcpy(h->reasons, from->reasons, sizeof(h->reasons));
	h->lost_other = from->lost_other;
	if (ttlog__spool_set_opts(h->spool, &h->spool_opts, err, sizeof(err)) !=
	    0)
		h->host->log(h->host, TTLOG_LEVEL_ERROR, "spool",
			     "%s; the previous options stay", err);
	ttlog__spool_set_reporter(h->spool, on_loss, h);
	h->spool_waiting = 0;
	load(h);
	ttlog__kaf_spool_pump(h);
}

void ttlog__kaf_spool_close(struct kaf *k)
{
	struct kaf_spool_ref *r = k->spool_ref;
	struct kaf *heir = NULL;
	int last = 0;

	if (r == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (r->heir == k) {
		r->heir = NULL; /* a failed reload: nothing moved */
	} else if (r->heir != NULL) {
		heir = r->owner = r->heir;
		r->heir = NULL;
	} else {
		for (struct kaf_spool_ref **p = &refs; *p; p = &(*p)->next)
			if (*p == r) {
				*p = r->next;
				break;
			}
		last = 1;
	}
	pthread_mutex_unlock(&mu);
	if (heir != NULL)
		take_over(heir, k);
	if (last) {
		struct ttlog__spool_stats st;
		ttlog__spool_get_stats(r->spool, &st);
		if (st.records > 0)
			k->host->log(k->host, TTLOG_LEVEL_WARN, "spool closed",
				     "%llu records (about %llu events) not "
				     "delivered stay in spool %s; they are "
				     "produced at the next start",
				     (unsigned long long)st.records,
				     (unsigned long long)st.events,
				     ttlog__spool_dir(r->spool));
		ttlog__spool_close(r->spool);
		free(r);
	}
	k->spool = NULL;
	k->spool_ref = NULL;
}

int ttlog__kaf_spool_handing_over(const struct kaf *k)
{
	int yes;

	if (k->spool_ref == NULL)
		return 0;
	pthread_mutex_lock(&mu);
	yes = k->spool_waiting ||
	      (k->spool_ref->owner == k && k->spool_ref->heir != NULL);
	pthread_mutex_unlock(&mu);
	return yes;
}

int ttlog__kaf_spool_consume(struct kaf *k, struct ttlog_batch *b)
{
	struct kaf_batch scratch = {0};
	size_t index = 0, n = ttlog_batch_count(b);
	char err[256];
	int rc;

	if (k->spool_waiting)
		return TTLOG_LISTENER_RETRY; /* not ours yet */
	if (n == 0)
		return TTLOG_LISTENER_OK;
	ttlog__buf_reset(&k->rbuf);
	if (ttlog__kaf_format_batch(k, b, &scratch, &index) != 0 || k->rbuf.oom)
		return TTLOG_LISTENER_RETRY; /* out of memory: later */
	rc = ttlog__spool_append(k->spool, k->last_rec + 1, 0, (uint32_t)n,
				 k->rbuf.p, k->rbuf.len, err, sizeof(err));
	if (rc == TTLOG_SPOOL_FULL)
		return TTLOG_LISTENER_RETRY;
	if (rc != 0) {
		k->host->log(k->host, TTLOG_LEVEL_ERROR, "spool write failed",
			     "%s", err);
		return TTLOG_LISTENER_ERROR;
	}
	k->last_rec++;
	ttlog__kaf_spool_pump(k);
	return TTLOG_LISTENER_OK;
}

/* Produces the messages of the current record from pump_off on; 1 when
 * librdkafka's queue filled up part way. */
static int produce_record(struct kaf *k)
{
	struct kaf_msg m;
	char topic[256];
	size_t off = k->pump_off;
	int rc;

	while ((rc = ttlog__kaf_record_next(k->pbuf.p, k->pbuf.len, &off,
					    &m)) == 1) {
		snprintf(topic, sizeof(topic), "%.*s", (int)m.topic_len,
			 m.topic);
		if (ttlog__kaf_produce(k, k->pump_t, topic, m.key, m.key_len,
				       m.format, m.value, m.len) == 1)
			return 1;
		k->pump_off = off;
	}
	if (rc < 0)
		ttlog__kaf_lost(k, "spool record damaged", NULL,
				k->pump_t->per_msg);
	k->pump_t->taken = 1;
	k->pump_t = NULL;
	if (k->pump_resend) {
		k->pump_resend = 0;
		ttlog__spool_rewind(k->spool, k->read_rec);
	}
	return 0;
}

/* Copies rec and makes it the current record, with tracker t (NULL: a
 * new one). -1 when out of memory. */
static int begin(struct kaf *k, const struct ttlog__spool_rec *rec,
		 struct kaf_batch *t)
{
	struct kaf_msg m;
	size_t off = 0;

	ttlog__buf_reset(&k->pbuf);
	ttlog__buf_put(&k->pbuf, rec->payload, rec->len);
	if (k->pbuf.oom)
		return -1;
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return -1;
		t->seq = rec->seq;
		t->events = rec->count;
		if (k->tail != NULL)
			k->tail->next = t;
		else
			k->head = t;
		k->tail = t;
	}
	t->per_msg =
		ttlog__kaf_record_next(rec->payload, rec->len, &off, &m) == 1 &&
				m.format == TTLOG_KAFKA_FMT_TTLOG
			? rec->count
			: 1;
	t->taken = 0;
	t->redo = 0;
	k->pump_t = t;
	k->pump_off = 0;
	return 0;
}

void ttlog__kaf_spool_pump(struct kaf *k)
{
	struct ttlog__spool_rec rec;
	char err[256];
	int rc;

	if (k->spool == NULL || k->spool_waiting || k->closing)
		return;
	for (;;) {
		if (k->pump_t != NULL && produce_record(k) == 1)
			return;
		if (k->read_rec >= k->last_rec)
			break;
		rc = ttlog__spool_next(k->spool, &rec, err, sizeof(err));
		if (rc < 0)
			k->host->log(k->host, TTLOG_LEVEL_ERROR,
				     "spool read failed", "%s", err);
		if (rc != 1)
			break;
		k->read_rec = rec.seq;
		if (begin(k, &rec, NULL) != 0)
			break; /* out of memory: the timer tries again */
	}
	ttlog__kaf_settle(k);
}

int ttlog__kaf_spool_resend(struct kaf *k, struct kaf_batch *t)
{
	struct ttlog__spool_rec rec;
	char err[256];

	if (k->spool == NULL || k->pump_t != NULL || k->closing)
		return -1;
	ttlog__spool_rewind(k->spool, t->seq - 1);
	if (ttlog__spool_next(k->spool, &rec, err, sizeof(err)) != 1 ||
	    rec.seq != t->seq || begin(k, &rec, t) != 0) {
		/* Gone from the spool (the cap deleted it, counted there). */
		ttlog__spool_rewind(k->spool, k->read_rec);
		t->redo = 0;
		return -1;
	}
	k->st.spool_resent++;
	k->pump_resend = 1;
	if (produce_record(k) == 1)
		return 0;
	return 0;
}

void ttlog__kaf_spool_done(struct kaf *k, uint64_t seq)
{
	if (k->spool != NULL && !k->spool_waiting)
		(void)ttlog__spool_ack(k->spool, seq);
}

void ttlog__kaf_spool_tick(struct kaf *k)
{
	uint64_t now = ttlog__kaf_now_ms();

	if (k->spool == NULL || k->spool_waiting || k->fsync_interval_ms == 0 ||
	    now - k->last_sync_ms < k->fsync_interval_ms)
		return;
	k->last_sync_ms = now;
	(void)ttlog__spool_sync(k->spool);
}

int ttlog__kaf_spool_unsent(const struct kaf *k)
{
	return k->spool != NULL && !k->spool_waiting &&
	       (k->read_rec < k->last_rec || k->head != NULL);
}
