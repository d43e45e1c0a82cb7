/* parse_common.c - what the input parsers share: the scratch buffer, error
 * text, RFC 3339 timestamps and the syslog severity scale. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "civil_time.h"
#include "parse_internal.h"

int ttlog__scratch_reserve(struct ttlog__scratch *s, size_t n)
{
	char *p;

	if (s->cap - s->len >= n && s->p != NULL)
		return 0;
	if (n > SIZE_MAX / 2 - s->len)
		return -1;
	/* need >= 1: a first reserve of 0 bytes still allocates, so that a
	 * parser may always write its terminating NUL. */
	p = ttlog__grow(s->p, &s->cap, s->len + (n ? n : 1), 1, 256);
	if (p == NULL)
		return -1;
	s->p = p;
	return 0;
}

void ttlog__scratch_reset(struct ttlog__scratch *s)
{
	s->len = 0;
}

void ttlog__scratch_destroy(struct ttlog__scratch *s)
{
	free(s->p);
	s->p = NULL;
	s->len = s->cap = 0;
}

size_t ttlog__rfc3339_parse(const char *s, size_t n, uint64_t *time_ns)
{
	struct ttlog__rfc3339 t;
	size_t len = ttlog__rfc3339_scan(s, n, &t);
	int64_t secs;

	if (len == 0 || t.year < 1970)
		return 0;
	secs = ttlog__rfc3339_epoch(&t);
	/* An offset can take 1970-01-01 below the epoch; uint64 ns end in
	 * 2554. */
	if (secs < 0 || (uint64_t)secs > (UINT64_MAX - t.frac_ns) / 1000000000u)
		return 0;
	*time_ns = (uint64_t)secs * 1000000000u + t.frac_ns;
	return len;
}

/* The table is probed with a mask, and holds indices in a byte. */
_Static_assert((2 * TTLOG__IN_MAX_FIELDS & (2 * TTLOG__IN_MAX_FIELDS - 1)) ==
			       0 &&
		       TTLOG__IN_MAX_FIELDS < 255,
	       "keyset: 2 * TTLOG__IN_MAX_FIELDS slots of uint8_t");

void ttlog__keyset_init(struct ttlog__keyset *ks)
{
	memset(ks->slot, 0, sizeof(ks->slot));
}

int ttlog__keyset_find(const struct ttlog__keyset *ks,
		       const struct ttlog__in_event *ev, const char *k,
		       size_t kl, uint32_t *free)
{
	const uint32_t mask = sizeof(ks->slot) - 1;
	uint32_t h = 2166136261u;

	/* FNV-1a: keys are short, and a key is hashed once. */
	for (size_t i = 0; i < kl; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	for (h &= mask; ks->slot[h] != 0; h = (h + 1) & mask) {
		const struct ttlog__in_field *f = &ev->fields[ks->slot[h] - 1];
		if (f->key_len == kl && memcmp(f->key, k, kl) == 0)
			return ks->slot[h] - 1;
	}
	*free = h;
	return -1;
}

void ttlog__keyset_add(struct ttlog__keyset *ks, uint32_t free, uint32_t index)
{
	ks->slot[free] = (uint8_t)(index + 1);
}

void ttlog__in_event_reset(struct ttlog__in_event *ev, const char *source)
{
	memset(ev, 0, offsetof(struct ttlog__in_event, fields));
	ev->level = TTLOG_LEVEL_INFO;
	ev->msg = "";
	ev->msg_varies = 1;
	ev->source = source;
}
