/*
 * kaf_record.c - the payload of one spool record of the Kafka listener:
 * the messages one batch became, each as
 *
 *   u8 format | u16 topic length | u32 key length (0xffffffff: no key) |
 *   u32 value length | topic | key | value
 *
 * little-endian, one after the other (docs/kafka.md, "Spool"). The
 * record's count is the batch's events. Reading checks every length
 * against what is left, so a damaged payload that passed the spool's CRC
 * is refused rather than read past its end.
 */
#include <string.h>

#include "kafka_internal.h"

#define NO_KEY 0xffffffffu
#define HEAD 11

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void ttlog__kaf_record_put(struct ttlog__buf *rec, const struct kaf_msg *m)
{
	unsigned char h[HEAD];
	size_t tl = m->topic_len > 0xffff ? 0xffff : m->topic_len;

	h[0] = (unsigned char)m->format;
	put_le(h + 1, tl, 2);
	put_le(h + 3, m->key != NULL ? m->key_len : NO_KEY, 4);
	put_le(h + 7, m->len, 4);
	ttlog__buf_put(rec, h, sizeof(h));
	ttlog__buf_put(rec, m->topic, tl);
	if (m->key != NULL)
		ttlog__buf_put(rec, m->key, m->key_len);
	ttlog__buf_put(rec, m->value, m->len);
}

int ttlog__kaf_record_next(const void *rec, size_t len, size_t *off,
			   struct kaf_msg *m)
{
	const unsigned char *p = (const unsigned char *)rec + *off;
	size_t left = len - *off;
	uint64_t tl, kl, vl, need;

	if (*off >= len)
		return 0;
	if (left < HEAD)
		return -1;
	tl = get_le(p + 1, 2);
	kl = get_le(p + 3, 4);
	vl = get_le(p + 7, 4);
	need = HEAD + tl + (kl == NO_KEY ? 0 : kl) + vl;
	if (need > left || ttlog__kafka_format_name(p[0]) == NULL)
		return -1;
	m->format = p[0];
	m->topic = (const char *)p + HEAD;
	m->topic_len = tl;
	m->key = kl == NO_KEY ? NULL : m->topic + tl;
	m->key_len = kl == NO_KEY ? 0 : kl;
	m->value = (const unsigned char *)m->topic + tl + m->key_len;
	m->len = vl;
	*off += need;
	return 1;
}
