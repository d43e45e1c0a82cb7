/*
 * kaf_format.c - a batch as Kafka messages, in the formats kafka_conf.h
 * defines: json (the batch's JSON lines, one line per message), syslog
 * (an RFC 5424 message without the octet count), cbor (the map of
 * kaf_cbor.c) and ttlog (the whole batch, the native protocol's payload,
 * as one message; a batch larger than message.max.bytes goes as cbor
 * messages instead, which the header says).
 *
 * Without a spool each message is produced as it is made; with one, the
 * messages are collected into the batch's spool record (kaf_record.c)
 * and produced from the spool later (kaf_spool.c).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "kafka_internal.h"

/* Expands t for event i into *buf (grown as needed); NULL when out of
 * memory. b may be NULL for a constant template. */
static const char *expand(const struct ttlog_template *t,
			  const struct ttlog_batch *b, size_t i, char **buf,
			  size_t *cap, size_t *len)
{
	int64_t n = ttlog_template_expand(t, b, i, *buf, *cap);

	if (n < 0)
		return NULL;
	if ((size_t)n >= *cap) {
		char *nb = realloc(*buf, (size_t)n + 1);
		if (nb == NULL)
			return NULL;
		*buf = nb;
		*cap = (size_t)n + 1;
		n = ttlog_template_expand(t, b, i, *buf, *cap);
	}
	*len = (size_t)n;
	return *buf;
}

/* Where one message goes: produced now, or into the spool record. */
static int emit(struct kaf *k, struct kaf_batch *t, const char *topic,
		const char *key, size_t keylen, int fmt, const void *v,
		size_t len)
{
	if (k->spool != NULL) {
		struct kaf_msg m = {fmt,    topic, key, strlen(topic),
				    keylen, v,	   len};
		ttlog__kaf_record_put(&k->rbuf, &m);
		return 0;
	}
	return ttlog__kaf_produce(k, t, topic, key, keylen, fmt, v, len);
}

/* The value of event i in format fmt (json lines: the next line). */
static int event_value(struct kaf *k, struct ttlog_batch *b, size_t i, int fmt,
		       const char **v, size_t *len)
{
	struct ttlog_event ev;

	if (ttlog_batch_event(b, i, &ev) != 0)
		return -1;
	if (fmt == TTLOG_KAFKA_FMT_SYSLOG) {
		const char *sp;
		k->fbuf.len = 0;
		if (ttlog__fmt_syslog_event(&k->sfmt, &ev,
					    ttlog_batch_origin(b, i),
					    &k->fbuf) != 0)
			return -1;
		/* Leave out the octet count ("LEN "): Kafka frames it. */
		sp = memchr(k->fbuf.p, ' ', k->fbuf.len);
		*v = sp + 1;
		*len = k->fbuf.len - (size_t)(sp + 1 - k->fbuf.p);
		return 0;
	}
	ttlog__buf_reset(&k->cbuf);
	ttlog__kaf_cbor_event(&k->cbuf, &ev, ttlog_batch_origin(b, i));
	if (k->cbuf.oom)
		return -1;
	*v = (const char *)k->cbuf.p;
	*len = k->cbuf.len;
	return 0;
}

/* The batch's JSON lines, and where line `i` starts (*pos, advanced). */
static int json_line(struct ttlog_batch *b, size_t *pos, const char **v,
		     size_t *len)
{
	const char *data, *nl;
	size_t all;

	if (ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, (const void **)&data,
			       &all) != 0)
		return -1;
	if (*pos >= all) {
		*len = 0;
		*v = data + all;
		return 0;
	}
	nl = memchr(data + *pos, '\n', all - *pos);
	*v = data + *pos;
	*len = nl ? (size_t)(nl - *v) : all - *pos;
	*pos += *len + 1;
	return 0;
}

/* Per event: json, syslog, cbor (also ttlog's too-large fallback). */
static int per_event(struct kaf *k, struct ttlog_batch *b, struct kaf_batch *t,
		     size_t *index, int fmt)
{
	size_t n = ttlog_batch_count(b), tl, kl = 0, pos = 0;
	const char *topic, *key = NULL, *v;
	size_t len;

	t->per_msg = 1;
	/* JSON lines: where the resumed event's line starts, kept from the
	 * offer that stopped there. */
	pos = *index > 0 ? k->cur_pos : 0;
	for (; *index < n; ++*index) {
		size_t i = *index, line = pos;
		topic = k->topic_const ? k->topic_const
				       : expand(k->topic_t, b, i, &k->topic_buf,
						&k->topic_cap, &tl);
		if (k->key_const) {
			key = k->key_const;
			kl = strlen(key);
		} else if (k->key_t) {
			key = expand(k->key_t, b, i, &k->key_buf, &k->key_cap,
				     &kl);
			if (key == NULL)
				return -1;
		}
		if (topic == NULL)
			return -1;
		if (fmt == TTLOG_KAFKA_FMT_JSON) {
			if (json_line(b, &pos, &v, &len) != 0)
				return -1;
		} else if (event_value(k, b, i, fmt, &v, &len) != 0) {
			return -1;
		}
		if (emit(k, t, topic, key, kl, fmt, v, len) == 1) {
			k->cur_pos = line; /* resume at this event */
			return 1;
		}
	}
	return 0;
}

int ttlog__kaf_format_batch(struct kaf *k, struct ttlog_batch *b,
			    struct kaf_batch *t, size_t *index)
{
	const void *data;
	size_t len;

	if (k->format != TTLOG_KAFKA_FMT_TTLOG)
		return per_event(k, b, t, index, k->format);
	if (ttlog_batch_encode(b, TTLOG_ENCODING_CBOR_LZ4, &data, &len) != 0)
		return -1;
	if (len > k->msg_max)
		return per_event(k, b, t, index, TTLOG_KAFKA_FMT_CBOR);
	if (*index > 0)
		return 0;
	t->per_msg = (uint32_t)ttlog_batch_count(b);
	if (emit(k, t, k->topic_const, k->key_const,
		 k->key_const ? strlen(k->key_const) : 0, TTLOG_KAFKA_FMT_TTLOG,
		 data, len) == 1)
		return 1;
	*index = 1;
	return 0;
}
