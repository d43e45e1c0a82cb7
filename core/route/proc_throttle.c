/*
 * proc_throttle.c - the throttle processor: at most `rate:` events per
 * `per:` for each value of `key:`, a token bucket per value.
 *
 * A bucket holds up to rate tokens and starts full; it refills
 * continuously at rate per `per`; an event takes one token or is
 * dropped. Tokens are counted in units of 1/per_ns of a token, in
 * integers, so that a refill is exact: rate * per_ns stays below 2^64
 * with rate <= 1,000,000 and per <= 1h.
 *
 * The buckets live in a table of at most max_keys entries, a hash table
 * with a list in order of last use: when it is full, a new value takes
 * the bucket used longest ago (that value starts afresh when it comes
 * back). A value is known by a 64-bit hash, its length and its first 48
 * bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_util.h"

#define PREFIX 48
#define NIL UINT32_MAX

struct bucket {
	uint64_t hash, tokens, last_ns;
	size_t len;
	uint32_t chain, prev, next; /* hash chain; use list */
	char prefix[PREFIX];
};

struct throttle {
	uint64_t rate, per_ns, max_keys;
	char *key;	/* NULL: one bucket for all */
	int origin_key; /* 1 + index in origin_names, or 0: a field */
	struct bucket *b;
	uint32_t *heads, mask, used, newest, oldest;
};

static const char *const origin_names[] = {
	"host", "service", "input", "peer", "peer_id", "relay", NULL};

static void throttle_free(void *st)
{
	struct throttle *t = st;

	if (t == NULL)
		return;
	free(t->key);
	free(t->b);
	free(t->heads);
	free(t);
}

static void *throttle_compile(const struct ttlog__cfg_node *sec,
			      const char *path, struct ttlog__diag *d)
{
	static const char *const keys[] = {"rate", "per", "key", "max_keys",
					   NULL};
	struct throttle *t = calloc(1, sizeof(*t));
	const char *key = NULL;
	uint64_t slots = 2;
	int bad = 0, r;

	if (t == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	t->per_ns = 1000000000u;
	t->max_keys = 10000;
	bad |= ttlog__proc_keys_check(sec, path, keys, d) > 0;
	r = ttlog__proc_opt_uint(sec, "rate", path, d, 1, 1000000, &t->rate);
	bad |= ttlog__proc_required(r, sec, path, d, "rate",
				    "events per 'per'");
	bad |= ttlog__proc_opt_duration_ns(sec, "per", path, d, 3600000,
					   &t->per_ns) < 0;
	bad |= ttlog__proc_opt_uint(sec, "max_keys", path, d, 1, 1000000,
				    &t->max_keys) < 0;
	bad |= ttlog__proc_opt_str(sec, "key", path, d, &key) < 0;
	if (key != NULL && (t->key = strdup(key)) == NULL)
		bad = 1;
	for (size_t i = 0; key != NULL && origin_names[i] != NULL; i++)
		if (strcmp(key, origin_names[i]) == 0)
			t->origin_key = (int)i + 1;
	while (!bad && slots < 2 * t->max_keys)
		slots *= 2;
	if (!bad) {
		t->b = calloc(t->max_keys, sizeof(*t->b));
		t->heads = malloc(slots * sizeof(*t->heads));
		if (t->b == NULL || t->heads == NULL) {
			ttlog__diag_add(d, sec, path, "out of memory");
			bad = 1;
		}
	}
	if (bad) {
		throttle_free(t);
		return NULL;
	}
	memset(t->heads, 0xff, slots * sizeof(*t->heads));
	t->mask = (uint32_t)(slots - 1);
	t->newest = t->oldest = NIL;
	return t;
}

/* The text the bucket is chosen by; "" when the event lacks it. */
static void key_text(const struct throttle *t, const struct ttlog__work *w,
		     char *buf, size_t len, const char **p, size_t *n)
{
	*p = "";
	*n = 0;
	if (t->key == NULL)
		return;
	if (t->origin_key) {
		const struct ttlog_origin *o = w->origin;
		const char *v = NULL;
		if (o == NULL)
			return;
		const char *const vals[] = {o->host, o->service, o->input,
					    o->peer, o->peer_id, o->relay};
		v = vals[t->origin_key - 1];
		if (v != NULL) {
			*p = v;
			*n = strlen(v);
		}
		return;
	}
	int at = ttlog__work_find(w, t->key, strlen(t->key));
	if (at < 0)
		return;
	const struct ttlog__in_field *f = &w->ev.fields[at];
	switch (f->type) {
	case TTLOG_TYPE_STR:
		*p = f->v.str.ptr;
		*n = f->v.str.len;
		return;
	case TTLOG_TYPE_I64:
		*n = (size_t)snprintf(buf, len, "%lld", (long long)f->v.i64);
		break;
	case TTLOG_TYPE_U64:
		*n = (size_t)snprintf(buf, len, "%llu",
				      (unsigned long long)f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		*n = (size_t)snprintf(buf, len, "%.17g", f->v.f64);
		break;
	default:
		*n = (size_t)snprintf(buf, len, "%s",
				      f->v.b ? "true" : "false");
	}
	*p = buf;
}

static void unlink_use(struct throttle *t, uint32_t i)
{
	struct bucket *b = &t->b[i];

	if (b->prev != NIL)
		t->b[b->prev].next = b->next;
	else
		t->newest = b->next;
	if (b->next != NIL)
		t->b[b->next].prev = b->prev;
	else
		t->oldest = b->prev;
}

static void push_newest(struct throttle *t, uint32_t i)
{
	t->b[i].prev = NIL;
	t->b[i].next = t->newest;
	if (t->newest != NIL)
		t->b[t->newest].prev = i;
	t->newest = i;
	if (t->oldest == NIL)
		t->oldest = i;
}

/* Takes bucket i out of its hash chain. */
static void unchain(struct throttle *t, uint32_t i)
{
	uint32_t *at = &t->heads[t->b[i].hash & t->mask];

	while (*at != i)
		at = &t->b[*at].chain;
	*at = t->b[i].chain;
}

static uint32_t bucket_get(struct throttle *t, const char *p, size_t n,
			   uint64_t now_ns)
{
	uint64_t h = 14695981039346656037u;
	size_t pl = n < PREFIX ? n : PREFIX;
	uint32_t i;

	for (size_t k = 0; k < n; k++)
		h = (h ^ (unsigned char)p[k]) * 1099511628211u;
	h ^= h >> 29;
	for (i = t->heads[h & t->mask]; i != NIL; i = t->b[i].chain) {
		const struct bucket *b = &t->b[i];
		if (b->hash == h && b->len == n &&
		    memcmp(b->prefix, p, pl) == 0) {
			unlink_use(t, i);
			push_newest(t, i);
			return i;
		}
	}
	if (t->used < t->max_keys) {
		i = t->used++;
	} else {
		i = t->oldest;
		unlink_use(t, i);
		unchain(t, i);
	}
	struct bucket *b = &t->b[i];
	b->hash = h;
	b->len = n;
	memcpy(b->prefix, p, pl);
	b->tokens = t->rate * t->per_ns;
	b->last_ns = now_ns;
	b->chain = t->heads[h & t->mask];
	t->heads[h & t->mask] = i;
	push_newest(t, i);
	return i;
}

static enum ttlog__proc_rc throttle_apply(void *st, struct ttlog__work *w,
					  uint64_t now_ns)
{
	struct throttle *t = st;
	char buf[40];
	const char *p;
	size_t n;
	struct bucket *b;
	uint64_t full = t->rate * t->per_ns, dt;

	key_text(t, w, buf, sizeof(buf), &p, &n);
	b = &t->b[bucket_get(t, p, n, now_ns)];
	dt = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	/* More than per_ns fills any bucket: no overflow below. */
	if (dt > t->per_ns)
		dt = t->per_ns;
	b->tokens = full - b->tokens < dt * t->rate ? full
						    : b->tokens + dt * t->rate;
	if (now_ns > b->last_ns)
		b->last_ns = now_ns;
	if (b->tokens < t->per_ns)
		return TTLOG__PROC_DROP;
	b->tokens -= t->per_ns;
	return TTLOG__PROC_KEEP;
}

const struct ttlog__proc_kind ttlog__proc_throttle = {
	"throttle", throttle_compile, throttle_apply, throttle_free};
