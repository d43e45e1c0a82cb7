/* origin.c - origins: making, sharing and caching them (origin_internal.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "origin_internal.h"

/* How many bytes of s are kept: at most TTLOG__ORIGIN_MAX_FIELD, not
 * ending inside a UTF-8 sequence, up to an embedded NUL. */
static size_t kept_len(const char *p, size_t n)
{
	const char *z = n > 0 ? memchr(p, 0, n) : NULL;

	if (z != NULL)
		n = (size_t)(z - p);
	if (n <= TTLOG__ORIGIN_MAX_FIELD)
		return n;
	n = TTLOG__ORIGIN_MAX_FIELD;
	while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static uint64_t hash_str(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		h = (h ^ (c < 0x20 || c == 0x7F ? '?' : c)) * 1099511628211ull;
	}
	return (h ^ 0xFF) * 1099511628211ull; /* separates the strings */
}

static uint64_t hash_all(const struct ttlog__origin_str s[])
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++)
		h = s[i].p != NULL
			    ? hash_str(h, s[i].p, kept_len(s[i].p, s[i].len))
			    : hash_str(h, "", 0);
	return h;
}

struct ttlog__origin *
ttlog__origin_new(const struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS])
{
	size_t len[TTLOG__ORIGIN_NFIELDS], total = 0;
	struct ttlog__origin *o;
	char *d;
	const char **f;

	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++) {
		len[i] = s[i].p != NULL ? kept_len(s[i].p, s[i].len) : 0;
		total += len[i] + 1;
	}
	o = malloc(sizeof(*o) + total);
	if (o == NULL)
		return NULL;
	atomic_init(&o->refs, 1);
	o->hash = hash_all(s);
	o->epoch = 0;
	o->index = 0;
	d = (char *)(o + 1);
	f = &o->pub.host;
	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++) {
		f[i] = d;
		for (size_t k = 0; k < len[i]; k++) {
			unsigned char c = (unsigned char)s[i].p[k];
			*d++ = c < 0x20 || c == 0x7F ? '?' : (char)c;
		}
		*d++ = 0;
	}
	return o;
}

struct ttlog__origin *ttlog__origin_make(const char *host, const char *service,
					 const char *input, const char *peer,
					 const char *peer_id, const char *relay)
{
	const char *v[] = {host, service, input, peer, peer_id, relay};
	struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS];

	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++) {
		s[i].p = v[i];
		s[i].len = v[i] != NULL ? strlen(v[i]) : 0;
	}
	return ttlog__origin_new(s);
}

int ttlog__origin_equal(const struct ttlog__origin *o,
			const struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS])
{
	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++) {
		const char *have = ttlog__origin_get(&o->pub, i);
		size_t n = s[i].p != NULL ? kept_len(s[i].p, s[i].len) : 0;
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[i].p[k];
			char want = c < 0x20 || c == 0x7F ? '?' : (char)c;
			if (have[k] != want)
				return 0;
		}
		if (have[n] != 0)
			return 0;
	}
	return 1;
}

void ttlog__origin_ref(struct ttlog__origin *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void ttlog__origin_unref(struct ttlog__origin *o)
{
	if (o != NULL &&
	    atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
		free(o);
}

/* ---- this process ---- */

static struct ttlog__origin empty_origin = {
	.pub = {"", "", "", "", "", ""}, .refs = 1, /* never freed */
};
static struct ttlog__origin *self_origin;

struct ttlog__origin *ttlog__origin_self(void)
{
	return self_origin != NULL ? self_origin : &empty_origin;
}

int ttlog__origin_self_set(const char *service)
{
	char host[256];
	struct ttlog__origin *o;

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	o = ttlog__origin_make(host, service, NULL, NULL, NULL, NULL);
	if (o == NULL)
		return -1;
	ttlog__origin_self_clear();
	self_origin = o;
	return 0;
}

void ttlog__origin_self_clear(void)
{
	/* Batches still alive hold their own references. */
	ttlog__origin_unref(self_origin);
	self_origin = NULL;
}

/* ---- cache ---- */

struct ttlog__origin *
ttlog__origin_cache_get(struct ttlog__origin_cache *c,
			const struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS])
{
	uint64_t h = hash_all(s);
	size_t i = (size_t)(h % TTLOG__ORIGIN_CACHE_SLOTS);
	struct ttlog__origin *o = c->slot[i];

	if (o != NULL && o->hash == h && ttlog__origin_equal(o, s))
		return o;
	/* A miss replaces whatever held the slot: batches that use the old
	 * one keep their own references. */
	o = ttlog__origin_new(s);
	if (o == NULL)
		return NULL;
	ttlog__origin_unref(c->slot[i]);
	c->slot[i] = o;
	return o;
}

void ttlog__origin_cache_clear(struct ttlog__origin_cache *c)
{
	for (size_t i = 0; i < TTLOG__ORIGIN_CACHE_SLOTS; i++) {
		ttlog__origin_unref(c->slot[i]);
		c->slot[i] = NULL;
	}
}
