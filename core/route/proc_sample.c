/*
 * proc_sample.c - the sample processor: keeps 1 event in `rate:`.
 *
 * With `key: FIELD` the decision is a hash of the field's value, so that
 * every event of one trace (one request id, one user) is kept or dropped
 * together, by every agent and across restarts: the hash has no seed.
 * Events without the field, and every event without `key:`, are decided
 * by a counter: the 1st, the (rate+1)th, ... are kept, exactly one in
 * rate.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_util.h"

struct sample {
	uint64_t rate, n;
	char *key;
};

static void sample_free(void *st)
{
	struct sample *s = st;

	if (s == NULL)
		return;
	free(s->key);
	free(s);
}

static void *sample_compile(const struct ttlog__cfg_node *sec, const char *path,
			    struct ttlog__diag *d)
{
	static const char *const keys[] = {"rate", "key", NULL};
	struct sample *s = calloc(1, sizeof(*s));
	const char *key = NULL;
	int bad = 0, r;

	if (s == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		return NULL;
	}
	bad |= ttlog__proc_keys_check(sec, path, keys, d) > 0;
	r = ttlog__proc_opt_uint(sec, "rate", path, d, 1, 1000000000, &s->rate);
	bad |= ttlog__proc_required(r, sec, path, d, "rate",
				    "keep 1 event in rate");
	bad |= ttlog__proc_opt_str(sec, "key", path, d, &key) < 0;
	if (key != NULL && (s->key = strdup(key)) == NULL)
		bad = 1;
	if (bad) {
		sample_free(s);
		return NULL;
	}
	return s;
}

/* FNV-1a over the value's text, then a 64-bit finaliser (the low bits of
 * FNV alone are poorly mixed for a modulo). A number hashes as its
 * decimal text, so 42 and "42" agree. */
static uint64_t value_hash(const struct ttlog__in_field *f)
{
	char buf[40];
	const char *p = buf;
	size_t n;
	uint64_t h = 14695981039346656037u;

	switch (f->type) {
	case TTLOG_TYPE_STR:
		p = f->v.str.ptr;
		n = f->v.str.len;
		break;
	case TTLOG_TYPE_I64:
		n = (size_t)snprintf(buf, sizeof(buf), "%" PRId64, f->v.i64);
		break;
	case TTLOG_TYPE_U64:
		n = (size_t)snprintf(buf, sizeof(buf), "%" PRIu64, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		n = (size_t)snprintf(buf, sizeof(buf), "%.17g", f->v.f64);
		break;
	default:
		p = f->v.b ? "true" : "false";
		n = strlen(p);
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211u;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return h;
}

static enum ttlog__proc_rc sample_apply(void *st, struct ttlog__work *w,
					uint64_t now_ns)
{
	struct sample *s = st;
	int at = s->key != NULL ? ttlog__work_find(w, s->key, strlen(s->key))
				: -1;

	(void)now_ns;
	if (at >= 0)
		return value_hash(&w->ev.fields[at]) % s->rate == 0
			       ? TTLOG__PROC_KEEP
			       : TTLOG__PROC_DROP;
	return s->n++ % s->rate == 0 ? TTLOG__PROC_KEEP : TTLOG__PROC_DROP;
}

const struct ttlog__proc_kind ttlog__proc_sample = {"sample", sample_compile,
						    sample_apply, sample_free};
