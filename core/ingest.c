/*
 * ingest.c - adding events that came from outside (agent inputs) to a
 * batch.
 *
 * A log macro's call site is static data of the application; an ingested
 * event has none, so the batch makes one and owns it: one allocation
 * holding the struct, the key and type arrays and the strings. Events with
 * the same level, source, line, message, keys and types share one, found
 * through a small hash table, so a stream of similar events keeps the call
 * site table (and the CBOR encoding) short. Everything after that is the
 * path of ordinary events: the same value layout, the same encoders.
 *
 * A message that varies from event to event (msg_varies: syslog, JSON
 * lines, stdin) is not part of the call site: a call site per distinct
 * message cost an allocation, a hash of the text, two copies and a table
 * entry per event, a quarter of a relaying agent's time. Such an event
 * keeps its message in its own bytes (TTLOG__EVENT_OWN_MSG) and shares
 * the call site of its shape (source, level, keys and types).
 */
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "ingest_internal.h"

/* U+FFFD: an embedded NUL in a message or key would end the C string that
 * encoders read, silently cutting it; it is shown as a replacement
 * character instead. */
static const char replacement[] = "\xEF\xBF\xBD";

static size_t text_len(const char *s, size_t n)
{
	size_t len = n;
	const char *z = n > 0 ? memchr(s, 0, n) : NULL;

	/* The common case, no NUL at all, is one vectorised scan. */
	for (; z != NULL; z = memchr(z + 1, 0, (size_t)(s + n - z - 1)))
		len += sizeof(replacement) - 2;
	return len;
}

static char *put_text(char *dst, const char *s, size_t n)
{
	if (n == 0 || memchr(s, 0, n) == NULL) {
		if (n > 0)
			memcpy(dst, s, n);
		dst += n;
		*dst++ = 0;
		return dst;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0) {
			memcpy(dst, replacement, sizeof(replacement) - 1);
			dst += sizeof(replacement) - 1;
		} else {
			*dst++ = s[i];
		}
	}
	*dst++ = 0;
	return dst;
}

/* Eight bytes a step: every ingested syslog message is hashed whole, and
 * byte-wise FNV was a quarter of a relaying agent's time. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t w;

	for (; n >= 8; n -= 8, c += 8) {
		memcpy(&w, c, 8);
		h = (h ^ w) * 0x9E3779B97F4A7C15ull;
		h ^= h >> 29;
	}
	for (; n > 0; n--, c++)
		h = (h ^ *c) * 1099511628211ull; /* FNV-1a for the tail */
	return h;
}

/* The message an event's call site is made with. */
struct site_msg {
	const char *p;
	size_t len;
};

static uint64_t event_hash(const struct ttlog__in_event *ev, struct site_msg m)
{
	uint64_t h = 14695981039346656037ull;
	unsigned char lvl = (unsigned char)ev->level;
	h = hash_bytes(h, &lvl, 1);
	h = hash_bytes(h, ev->source, strlen(ev->source) + 1);
	h = hash_bytes(h, &ev->line, sizeof(ev->line));
	h = hash_bytes(h, m.p, m.len);
	for (uint32_t i = 0; i < ev->nfields; i++) {
		unsigned char t = (unsigned char)ev->fields[i].type;
		h = hash_bytes(h, &t, 1);
		h = hash_bytes(h, ev->fields[i].key, ev->fields[i].key_len);
		h = hash_bytes(h, "", 1);
	}
	return h;
}

/* Whether owned call site cs was made from an event like ev. */
static int same_site(const struct ttlog__owned_cs *o,
		     const struct ttlog__in_event *ev, struct site_msg m)
{
	const struct ttlog_callsite *cs = &o->cs;
	if (cs->level != ev->level || cs->nfields != ev->nfields ||
	    cs->line != ev->line || strcmp(cs->file, ev->source) != 0 ||
	    o->msg_len != m.len || memcmp(o->msg, m.p, m.len))
		return 0;
	for (uint32_t i = 0; i < ev->nfields; i++)
		if (cs->types[i] != ev->fields[i].type ||
		    o->key_lens[i] != ev->fields[i].key_len ||
		    memcmp(o->keys_raw[i], ev->fields[i].key,
			   ev->fields[i].key_len) != 0)
			return 0;
	return 1;
}

/* Makes the owned call site for ev: one block, freed with the batch. */
static struct ttlog__owned_cs *site_new(const struct ttlog__in_event *ev,
					struct site_msg m)
{
	size_t n = ev->nfields, strings = 0;
	struct ttlog__owned_cs *o;
	char *p;

	strings += text_len(m.p, m.len) + 1 + m.len;
	strings += strlen(ev->source) + 1;
	for (size_t i = 0; i < n; i++)
		strings += text_len(ev->fields[i].key, ev->fields[i].key_len) +
			   1 + ev->fields[i].key_len;
	o = malloc(sizeof(*o) + n * (sizeof(char *) * 2 + sizeof(size_t) + 1) +
		   strings);
	if (o == NULL)
		return NULL;
	memset(o, 0, sizeof(*o));
	const char **keys = (const char **)(o + 1);
	const char **raw = keys + n;
	size_t *lens = (size_t *)(raw + n);
	uint8_t *types = (uint8_t *)(lens + n);
	p = (char *)(types + n);

	o->cs.msg = p;
	p = put_text(p, m.p, m.len);
	o->msg = p; /* the bytes as received, for comparisons */
	if (m.len > 0)
		memcpy(p, m.p, m.len);
	p += m.len;
	o->msg_len = m.len;
	o->cs.file = p;
	p = put_text(p, ev->source, strlen(ev->source));
	for (size_t i = 0; i < n; i++) {
		const struct ttlog__in_field *f = &ev->fields[i];
		keys[i] = p;
		p = put_text(p, f->key, f->key_len);
		raw[i] = p;
		memcpy(p, f->key, f->key_len);
		p += f->key_len;
		lens[i] = f->key_len;
		types[i] = (uint8_t)f->type;
	}
	o->cs.line = ev->line;
	o->cs.level = (uint8_t)ev->level;
	o->cs.nfields = (uint8_t)n;
	o->cs.keys = keys;
	o->cs.types = types;
	o->keys_raw = raw;
	o->key_lens = lens;
	return o;
}

/* Finds or makes the call site; NULL when out of memory. */
static struct ttlog__owned_cs *site_get(struct ttlog_batch *b,
					const struct ttlog__in_event *ev)
{
	struct site_msg m = {ev->msg_varies ? "" : ev->msg,
			     ev->msg_varies ? 0 : ev->msg_len};
	uint64_t h = event_hash(ev, m);
	struct ttlog__owned_cs *o;
	size_t i;

	if (b->nowned * 2 >= b->site_cap) {
		size_t cap = b->site_cap ? b->site_cap * 2 : 64;
		struct ttlog__owned_cs **t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return NULL;
		for (size_t k = 0; k < b->site_cap; k++) {
			if (b->sites[k] == NULL)
				continue;
			for (i = b->sites[k]->hash & (cap - 1); t[i];
			     i = (i + 1) & (cap - 1))
				;
			t[i] = b->sites[k];
		}
		free(b->sites);
		b->sites = t;
		b->site_cap = cap;
	}
	for (i = h & (b->site_cap - 1); (o = b->sites[i]) != NULL;
	     i = (i + 1) & (b->site_cap - 1))
		if (o->hash == h && same_site(o, ev, m))
			return o;
	o = site_new(ev, m);
	if (o == NULL)
		return NULL;
	o->hash = h;
	o->next = b->owned;
	b->owned = o;
	b->nowned++;
	b->sites[i] = o;
	return o;
}

int ttlog__batch_add_in(struct ttlog_batch *b, const struct ttlog__in_event *ev,
			uint32_t tid, uint64_t now_ns, uint32_t max_value)
{
	unsigned char stack[4096], *vals = stack;
	size_t need = 0, off = 0, msg_len = 0;
	uint8_t flags = ev->truncated ? TTLOG_EVENT_TRUNCATED : 0;
	int rc;

	if (ev->nfields > TTLOG__IN_MAX_FIELDS || ev->level < 0 ||
	    ev->level >= TTLOG_LEVEL_OFF || ev->source == NULL)
		return TTLOG_EINVAL;
	if (ev->msg_varies) {
		msg_len = text_len(ev->msg, ev->msg_len);
		if (msg_len > UINT32_MAX)
			return TTLOG_EINVAL;
		need = 4 + msg_len + 1;
		flags |= TTLOG__EVENT_OWN_MSG;
	}
	for (uint32_t i = 0; i < ev->nfields; i++)
		need += ev->fields[i].type == TTLOG_TYPE_STR
				? 4 + (ev->fields[i].v.str.len > max_value
					       ? max_value
					       : ev->fields[i].v.str.len)
				: 8;
	if (need > sizeof(stack) && (vals = malloc(need)) == NULL)
		return TTLOG_ENOMEM;
	if (ev->msg_varies) {
		uint32_t len = (uint32_t)msg_len;
		memcpy(vals, &len, 4);
		put_text((char *)vals + 4, ev->msg, ev->msg_len);
		off = 4 + msg_len + 1;
	}
	for (uint32_t i = 0; i < ev->nfields; i++) {
		const struct ttlog__in_field *f = &ev->fields[i];
		if (f->type == TTLOG_TYPE_STR) {
			uint32_t len = (uint32_t)f->v.str.len;
			if (f->v.str.len > max_value) {
				len = max_value;
				flags |= TTLOG_EVENT_TRUNCATED;
			}
			memcpy(vals + off, &len, 4);
			memcpy(vals + off + 4, f->v.str.ptr, len);
			off += 4 + len;
		} else {
			uint64_t u = f->type == TTLOG_TYPE_BOOL
					     ? (uint64_t)(f->v.b != 0)
					     : f->v.u64;
			if (f->type == TTLOG_TYPE_F64)
				memcpy(&u, &f->v.f64, 8);
			memcpy(vals + off, &u, 8);
			off += 8;
		}
	}
	struct ttlog__owned_cs *o = site_get(b, ev);
	rc = o == NULL ? -1
		       : ttlog__batch_add_o(b, &o->cs, ev->origin,
					    ev->time_ns ? ev->time_ns : now_ns,
					    ev->tid ? ev->tid : tid, flags,
					    vals, off);
	if (rc < 0) /* ttlog__batch_add_o() fails only without memory */
		rc = TTLOG_ENOMEM;
	if (vals != stack)
		free(vals);
	return rc;
}

void ttlog__batch_free_owned(struct ttlog_batch *b)
{
	struct ttlog__owned_cs *o = b->owned, *next;
	for (; o != NULL; o = next) {
		next = o->next;
		free(o);
	}
	free(b->sites);
	b->owned = NULL;
	b->sites = NULL;
	b->nowned = b->site_cap = 0;
}
