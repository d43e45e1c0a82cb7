/* batch.c - building, reading and releasing batches; lazy encodings. */
#include <stdlib.h>

#include "batch_internal.h"

/* Call sites remember the epoch of the last batch that listed them. Epochs
 * never repeat within a process, across ttlog_init() calls too. */
static uint64_t batch_epoch;

struct ttlog_batch *ttlog__batch_new(size_t max_events, size_t max_bytes,
				     uint64_t seq)
{
	struct ttlog_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->ev = malloc(max_events * sizeof(*b->ev));
	b->data = malloc(max_bytes);
	b->cs_cap = 64;
	b->cs = malloc(b->cs_cap * sizeof(*b->cs));
	if (b->ev == NULL || b->data == NULL || b->cs == NULL) {
		free(b->ev);
		free(b->data);
		free(b->cs);
		free(b);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	b->ev_cap = max_events;
	b->data_cap = max_bytes;
	b->seq = seq;
	b->epoch = ++batch_epoch;
	return b;
}

static int add_callsite(struct ttlog_batch *b, struct ttlog_callsite *cs)
{
	if (b->ncs == b->cs_cap) {
		const struct ttlog_callsite **t =
			realloc(b->cs, 2 * b->cs_cap * sizeof(*b->cs));
		if (t == NULL)
			return -1;
		b->cs = t;
		b->cs_cap *= 2;
	}
	cs->priv.epoch = b->epoch;
	cs->priv.index = b->ncs;
	b->cs[b->ncs++] = cs;
	return 0;
}

/* Lists origin o in b's table (one reference) unless it is there. */
static int add_origin(struct ttlog_batch *b, struct ttlog__origin *o)
{
	if (o->epoch == b->epoch)
		return 0;
	if (b->norig == TTLOG__BATCH_MAX_ORIGINS)
		return 1;
	if (b->norig == b->orig_cap) {
		uint32_t cap = b->orig_cap ? 2 * b->orig_cap : 4;
		struct ttlog__origin **t;
		if (cap > TTLOG__BATCH_MAX_ORIGINS)
			cap = TTLOG__BATCH_MAX_ORIGINS;
		t = realloc(b->orig, cap * sizeof(*b->orig));
		if (t == NULL)
			return -1;
		b->orig = t;
		b->orig_cap = cap;
	}
	ttlog__origin_ref(o);
	o->epoch = b->epoch;
	o->index = b->norig;
	b->orig[b->norig++] = o;
	return 0;
}

int ttlog__batch_add(struct ttlog_batch *b, struct ttlog_callsite *cs,
		     uint64_t time_ns, uint32_t tid, uint8_t flags,
		     const void *vals, size_t vlen)
{
	return ttlog__batch_add_o(b, cs, NULL, time_ns, tid, flags, vals, vlen);
}

int ttlog__batch_add_o(struct ttlog_batch *b, struct ttlog_callsite *cs,
		       struct ttlog__origin *origin, uint64_t time_ns,
		       uint32_t tid, uint8_t flags, const void *vals,
		       size_t vlen)
{
	struct ttlog__event *e;
	int rc;

	if (b->n == b->ev_cap)
		return 1;
	if (origin == NULL)
		origin = ttlog__origin_self();
	if (b->data_cap - b->data_len < vlen) {
		unsigned char *d;
		if (b->n > 0)
			return 1;
		d = realloc(b->data, vlen);
		if (d == NULL)
			return -1;
		b->data = d;
		b->data_cap = vlen;
	}
	rc = add_origin(b, origin);
	if (rc != 0)
		return rc;
	if (cs->priv.epoch != b->epoch && add_callsite(b, cs) != 0)
		return -1;
	e = &b->ev[b->n++];
	e->origin = (uint16_t)origin->index;
	e->time_ns = time_ns;
	e->off = (uint32_t)b->data_len;
	e->cs = cs->priv.index;
	e->tid = tid;
	e->flags = flags;
	b->nown_msg += (flags & TTLOG__EVENT_OWN_MSG) != 0;
	memcpy(b->data + b->data_len, vals, vlen);
	b->data_len += vlen;
	return 0;
}

struct ttlog_batch *ttlog__batch_filter(struct ttlog_batch *b, int level,
					int *oom)
{
	size_t keep = 0, bytes = 0;
	struct ttlog_batch *nb;

	*oom = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->cs[b->ev[i].cs]->level >= level)
			keep++;
	if (keep == b->n) {
		ttlog_batch_ref(b);
		return b;
	}
	if (keep == 0)
		return NULL;
	bytes = b->data_len;
	nb = ttlog__batch_new(keep, bytes ? bytes : 1, b->seq);
	if (nb == NULL) {
		*oom = 1;
		return NULL;
	}
	ttlog_batch_ref(b);
	nb->parent = b;
	for (size_t i = 0; i < b->n; i++) {
		const struct ttlog__event *e = &b->ev[i];
		/* Values of consecutive events are contiguous. */
		size_t end = i + 1 < b->n ? b->ev[i + 1].off : b->data_len;
		struct ttlog_callsite *cs =
			(struct ttlog_callsite *)(uintptr_t)b->cs[e->cs];
		if (cs->level < level)
			continue;
		if (ttlog__batch_add_o(nb, cs, b->orig[e->origin], e->time_ns,
				       e->tid, e->flags, b->data + e->off,
				       end - e->off) != 0) {
			ttlog_batch_unref(nb);
			*oom = 1;
			return NULL;
		}
	}
	return nb;
}

size_t ttlog__batch_bytes(const struct ttlog_batch *b)
{
	size_t n = b->data_len + b->n * sizeof(struct ttlog__event);
	for (int i = 0; i < TTLOG__NENCODINGS; i++)
		n += b->enc[i].len;
	return n;
}

size_t ttlog_batch_count(const struct ttlog_batch *b)
{
	return b->n;
}

size_t ttlog_batch_callsites(const struct ttlog_batch *b)
{
	return b->ncs;
}

uint64_t ttlog_batch_seq(const struct ttlog_batch *b)
{
	return b->seq;
}

int ttlog_batch_event(const struct ttlog_batch *b, size_t i,
		      struct ttlog_event *out)
{
	const struct ttlog__event *e;
	const struct ttlog_callsite *cs;

	if (b == NULL || out == NULL || i >= b->n)
		return TTLOG_EINVAL;
	e = &b->ev[i];
	cs = b->cs[e->cs];
	out->time_ns = e->time_ns;
	out->tid = e->tid;
	out->line = cs->line;
	out->priv[1] = ttlog__event_bytes(b, e, &out->msg, NULL);
	out->file = cs->file;
	out->level = cs->level;
	out->flags = e->flags & (uint8_t)~TTLOG__EVENT_OWN_MSG;
	out->nfields = cs->nfields;
	out->callsite = e->cs;
	out->priv[0] = cs;
	return 0;
}

const struct ttlog_origin *ttlog_batch_origin(const struct ttlog_batch *b,
					      size_t i)
{
	if (b == NULL || i >= b->n)
		return NULL;
	return &b->orig[b->ev[i].origin]->pub;
}

void ttlog_field_iter_init(struct ttlog_field_iter *it,
			   const struct ttlog_event *ev)
{
	it->priv[0] = ev->priv[0];
	it->priv[1] = ev->priv[1];
	it->priv[2] = NULL;
	it->index = 0;
}

bool ttlog_field_next(struct ttlog_field_iter *it, struct ttlog_field *out)
{
	const struct ttlog_callsite *cs = it->priv[0];
	const unsigned char *p = it->priv[1];

	if (cs == NULL || it->index >= cs->nfields)
		return false;
	out->key = cs->keys[it->index];
	it->priv[1] = ttlog__value_decode(p, cs->types[it->index], out);
	it->index++;
	return true;
}

int ttlog_batch_encode(struct ttlog_batch *b, enum ttlog_encoding enc,
		       const void **data, size_t *len)
{
	int rc = 0;
	struct ttlog__buf *out;

	if (b == NULL || data == NULL || len == NULL ||
	    (unsigned)enc >= TTLOG__NENCODINGS)
		return TTLOG_EINVAL;
	out = &b->enc[enc];
	if (!b->enc_done[enc]) {
		switch (enc) {
		case TTLOG_ENCODING_CBOR:
			rc = ttlog__encode_cbor(b, out);
			break;
		case TTLOG_ENCODING_CBOR_LZ4: {
			const void *cbor;
			size_t n;
			rc = ttlog_batch_encode(b, TTLOG_ENCODING_CBOR, &cbor,
						&n);
			if (rc == 0)
				rc = ttlog__encode_lz4(cbor, n, out);
			break;
		}
		case TTLOG_ENCODING_TEXT:
			rc = ttlog__encode_text(b, out);
			break;
		case TTLOG_ENCODING_JSONL:
			rc = ttlog__encode_jsonl(b, out);
			break;
		}
		if (rc != 0) {
			ttlog__buf_free(out);
			return rc;
		}
		b->enc_done[enc] = 1;
	}
	*data = out->p;
	*len = out->len;
	return 0;
}

void ttlog_batch_ref(struct ttlog_batch *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void ttlog_batch_unref(struct ttlog_batch *b)
{
	if (b == NULL ||
	    atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (int i = 0; i < TTLOG__NENCODINGS; i++)
		ttlog__buf_free(&b->enc[i]);
	ttlog__batch_free_owned(b);
	free(b->ev);
	free(b->data);
	free(b->cs);
	for (uint32_t i = 0; i < b->norig; i++)
		ttlog__origin_unref(b->orig[i]);
	free(b->orig);
	if (b->parent != NULL)
		ttlog_batch_unref(b->parent);
	free(b);
}
