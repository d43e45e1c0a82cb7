/*
 * input_kafka_offsets.c - at-least-once for the kafka input: which
 * offsets may be committed, and the group's rebalances.
 *
 * After each hand-over to the listeners (ttlog__host_ingest_commit()) a
 * note records, for every partition read since its last note, the offset
 * after its last message and the number of the batch that now holds it.
 * Once ttlog__host_durable() reaches that number the offset is the
 * partition's durable offset, and only durable offsets are committed
 * (rd_kafka_commit, asynchronous: the writer never waits for a broker), at
 * most every TTLOG__KAFKA_COMMIT_EVERY_NS and at once at a revoke and at
 * stop. Committing ourselves rather than storing offsets for librdkafka's
 * auto-commit keeps one path for the periodic, the revoke's and the last
 * commit, and gives each commit's result (commit errors are counted; the
 * offsets are committed again with the next).
 *
 * A revoke commits what is durable and forgets the rest: its notes are
 * void (the partition's epoch changes at its next assignment), and the
 * messages after the committed offset are read again by the partition's
 * next owner. Those duplicates are bounded by what was handed on and not
 * yet durable and committed at the revoke - at a SIGKILL, by what was
 * read past the last commit (docs/kafka.md).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "input_internal.h"
#include "input_kafka.h"

struct ttlog__kafka_part *ttlog__kafka_part_get(struct ttlog__kafka *k,
						const char *topic,
						int32_t partition)
{
	struct ttlog__kafka_part *p;

	for (size_t i = 0; i < k->nparts; i++)
		if (k->parts[i].partition == partition &&
		    strcmp(k->parts[i].topic, topic) == 0)
			return &k->parts[i];
	if (k->nparts == k->parts_cap) {
		size_t cap = k->parts_cap ? k->parts_cap * 2 : 16;
		p = realloc(k->parts, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		k->parts = p;
		k->parts_cap = cap;
	}
	p = &k->parts[k->nparts];
	memset(p, 0, sizeof(*p));
	if ((p->topic = strdup(topic)) == NULL)
		return NULL;
	p->partition = partition;
	p->next = p->noted = p->durable = p->committed = -1;
	snprintf(p->peer, sizeof(p->peer), "%s/%d", topic, (int)partition);
	k->nparts++;
	return p;
}

void ttlog__kafka_parts_free(struct ttlog__kafka *k)
{
	for (size_t i = 0; i < k->nparts; i++) {
		ttlog__kafka_part_unqueue(&k->parts[i]);
		free(k->parts[i].topic);
	}
	free(k->parts);
	free(k->pend);
	k->parts = NULL;
	k->pend = NULL;
	k->nparts = k->parts_cap = k->pend_len = k->pend_cap = 0;
}

static int pend_push(struct ttlog__kafka *k, const struct ttlog__kafka_pend *e)
{
	if (k->pend_len == k->pend_cap) {
		size_t cap = k->pend_cap ? k->pend_cap * 2 : 256;
		struct ttlog__kafka_pend *n;
		if (cap > TTLOG__KAFKA_PEND_MAX)
			return -1;
		n = malloc(cap * sizeof(*n));
		if (n == NULL)
			return -1;
		/* Unrolled from the ring into the new array. */
		for (size_t i = 0; i < k->pend_len; i++)
			n[i] = k->pend[(k->pend_head + i) % k->pend_cap];
		free(k->pend);
		k->pend = n;
		k->pend_head = 0;
		k->pend_cap = cap;
	}
	k->pend[(k->pend_head + k->pend_len) % k->pend_cap] = *e;
	k->pend_len++;
	return 0;
}

void ttlog__kafka_note(struct ttlog__kafka *k, uint64_t no)
{
	for (size_t i = 0; i < k->nparts; i++) {
		struct ttlog__kafka_part *p = &k->parts[i];
		struct ttlog__kafka_pend e = {no, p->next, (uint32_t)i,
					      p->epoch};
		if (!p->assigned || p->next <= p->noted)
			continue;
		/* Full: noted at a later turn, with a later number. */
		if (pend_push(k, &e) == 0)
			p->noted = p->next;
	}
}

/* Commits the durable offsets not yet committed; asynchronous. */
static void commit(struct ttlog__kafka *k)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	rd_kafka_resp_err_t e;

	for (size_t i = 0; i < k->nparts; i++) {
		struct ttlog__kafka_part *p = &k->parts[i];
		if (!p->assigned || p->durable <= p->committed)
			continue;
		if (l == NULL && (l = rd_kafka_topic_partition_list_new(
					  (int)k->nparts)) == NULL)
			return;
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition)
			->offset = p->durable;
		p->committed = p->durable;
	}
	if (l == NULL)
		return;
	k->last_commit_ns = ttlog__input_now_ns();
	e = rd_kafka_commit(k->rk, l, 1);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		k->in->st.kafka_commit_errors++;
		ttlog__kafka_warn(k, "cannot commit offsets",
				  rd_kafka_err2str(e));
		for (int i = 0; i < l->cnt; i++) {
			struct ttlog__kafka_part *p = ttlog__kafka_part_get(
				k, l->elems[i].topic, l->elems[i].partition);
			if (p != NULL)
				p->committed = -1;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}

void ttlog__kafka_advance(struct ttlog__kafka *k, int force)
{
	uint64_t durable = ttlog__host_durable(k->in->writer);

	while (k->pend_len > 0) {
		struct ttlog__kafka_pend *e = &k->pend[k->pend_head];
		struct ttlog__kafka_part *p;
		if (e->no > durable)
			break;
		p = &k->parts[e->part];
		if (p->assigned && p->epoch == e->epoch &&
		    e->offset > p->durable)
			p->durable = e->offset;
		k->pend_head = (k->pend_head + 1) % k->pend_cap;
		k->pend_len--;
	}
	if (force || ttlog__input_now_ns() - k->last_commit_ns >=
			     TTLOG__KAFKA_COMMIT_EVERY_NS)
		commit(k);
}

void ttlog__kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			    rd_kafka_topic_partition_list_t *offsets,
			    void *opaque)
{
	struct ttlog__kafka *k = opaque;
	int failed = err != RD_KAFKA_RESP_ERR_NO_ERROR;
	(void)rk;

	if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return;
	for (int i = 0; offsets != NULL && i < offsets->cnt; i++) {
		rd_kafka_topic_partition_t *t = &offsets->elems[i];
		struct ttlog__kafka_part *p;
		if (t->err == RD_KAFKA_RESP_ERR_NO_ERROR && !failed)
			continue;
		failed = 1;
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			err = t->err;
		/* Committed again with the next commit. */
		p = ttlog__kafka_part_get(k, t->topic, t->partition);
		if (p != NULL && p->committed == t->offset)
			p->committed = -1;
	}
	if (!failed) {
		k->in->st.kafka_commits++;
		return;
	}
	k->in->st.kafka_commit_errors++;
	ttlog__kafka_warn(k, "an offset commit failed", rd_kafka_err2str(err));
}

void ttlog__kafka_pause(struct ttlog__kafka *k, int on)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	k->paused = on;
	if (rd_kafka_assignment(k->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    l == NULL)
		return;
	if (on)
		(void)rd_kafka_pause_partitions(k->rk, l);
	else
		(void)rd_kafka_resume_partitions(k->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

static void assign(struct ttlog__kafka *k,
		   rd_kafka_topic_partition_list_t *parts, int cooperative)
{
	rd_kafka_error_t *e = NULL;
	rd_kafka_resp_err_t r = RD_KAFKA_RESP_ERR_NO_ERROR;

	for (int i = 0; i < parts->cnt; i++) {
		struct ttlog__kafka_part *p = ttlog__kafka_part_get(
			k, parts->elems[i].topic, parts->elems[i].partition);
		if (p == NULL)
			continue;
		p->assigned = 1;
		p->epoch++;
		p->next = p->noted = p->durable = p->committed = -1;
	}
	if (cooperative)
		e = rd_kafka_incremental_assign(k->rk, parts);
	else
		r = rd_kafka_assign(k->rk, parts);
	if (e != NULL) {
		ttlog__kafka_warn(k, "cannot take the assignment",
				  rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	} else if (r != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ttlog__kafka_warn(k, "cannot take the assignment",
				  rd_kafka_err2str(r));
	}
	/* Paused stays paused, for the new partitions too. */
	if (k->paused)
		(void)rd_kafka_pause_partitions(k->rk, parts);
	/* Each partition's messages stay in its own queue (which signals
	 * the same pipe), for the turns to take them round-robin. */
	for (int i = 0; i < parts->cnt; i++) {
		struct ttlog__kafka_part *p = ttlog__kafka_part_get(
			k, parts->elems[i].topic, parts->elems[i].partition);
		if (p == NULL || p->q != NULL)
			continue;
		p->q = rd_kafka_queue_get_partition(k->rk, p->topic,
						    p->partition);
		if (p->q == NULL)
			continue;
		rd_kafka_queue_forward(p->q, NULL);
		rd_kafka_queue_io_event_enable(p->q, k->pipe[1], "1", 1);
	}
}

void ttlog__kafka_part_unqueue(struct ttlog__kafka_part *p)
{
	if (p->q == NULL)
		return;
	rd_kafka_queue_io_event_enable(p->q, -1, NULL, 0);
	rd_kafka_queue_destroy(p->q);
	p->q = NULL;
}

static void revoke(struct ttlog__kafka *k,
		   rd_kafka_topic_partition_list_t *parts, int cooperative)
{
	rd_kafka_error_t *e = NULL;

	/* What is durable now is committed before the partitions go. */
	ttlog__kafka_advance(k, 1);
	for (int i = 0; i < parts->cnt; i++) {
		struct ttlog__kafka_part *p = ttlog__kafka_part_get(
			k, parts->elems[i].topic, parts->elems[i].partition);
		if (p == NULL)
			continue;
		p->assigned = 0;
		ttlog__kafka_part_unqueue(p);
	}
	if (cooperative)
		e = rd_kafka_incremental_unassign(k->rk, parts);
	else
		(void)rd_kafka_assign(k->rk, NULL);
	if (e != NULL)
		rd_kafka_error_destroy(e);
}

void ttlog__kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts,
			       void *opaque)
{
	struct ttlog__kafka *k = opaque;
	const char *proto = rd_kafka_rebalance_protocol(rk);
	int coop = proto != NULL && strcmp(proto, "COOPERATIVE") == 0;

	k->in->st.kafka_rebalances++;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		assign(k, parts, coop);
		return;
	}
	if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
		ttlog__kafka_warn(k, "rebalance failed", rd_kafka_err2str(err));
	revoke(k, parts, coop);
}
