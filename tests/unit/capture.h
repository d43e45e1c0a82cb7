/* capture.h - an in-process listener for tests that keeps a copy of every
 * event it is given, and one that counts per-thread sequences. */
#ifndef TTLOG_TEST_CAPTURE_H
#define TTLOG_TEST_CAPTURE_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/listener.h>

#define CAPTURE_MAX_FIELDS 24

struct captured {
	uint64_t time_ns;
	uint32_t tid;
	int level;
	unsigned flags;
	char msg[128];
	unsigned nfields;
	struct ttlog_field f[CAPTURE_MAX_FIELDS]; /* str.ptr owned (malloc) */
	char keys[CAPTURE_MAX_FIELDS][64];
	/* ttlog_batch_origin(): host, service, input, peer, peer_id, relay */
	char origin[6][96];
};

struct capture {
	struct captured *ev;
	size_t n, cap;
	size_t batches;
	/* What consume() returns (TTLOG_LISTENER_OK by default); tests change
	 * it while the writer thread reads it. */
	_Atomic int answer;
	int flushes;
	int reopens;
	size_t n_at_reopen; /* events seen when reopen() was called */
};

static int capture_consume(void *state, struct ttlog_batch *b)
{
	struct capture *c = state;
	if (c->answer != TTLOG_LISTENER_OK)
		return c->answer;
	c->batches++;
	for (size_t i = 0; i < ttlog_batch_count(b); i++) {
		struct ttlog_event e;
		struct ttlog_field_iter it;
		struct ttlog_field f;
		struct captured *x;

		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 64;
			c->ev = realloc(c->ev, c->cap * sizeof(*c->ev));
		}
		x = &c->ev[c->n++];
		memset(x, 0, sizeof(*x));
		ttlog_batch_event(b, i, &e);
		x->time_ns = e.time_ns;
		x->tid = e.tid;
		x->level = e.level;
		x->flags = e.flags;
		strncpy(x->msg, e.msg, sizeof(x->msg) - 1);
		const struct ttlog_origin *o = ttlog_batch_origin(b, i);
		const char *os[6] = {o->host, o->service, o->input,
				     o->peer, o->peer_id, o->relay};
		for (int k = 0; k < 6; k++)
			strncpy(x->origin[k], os[k], sizeof(x->origin[k]) - 1);
		ttlog_field_iter_init(&it, &e);
		while (ttlog_field_next(&it, &f) &&
		       x->nfields < CAPTURE_MAX_FIELDS) {
			strncpy(x->keys[x->nfields], f.key, 63);
			if (f.type == TTLOG_TYPE_STR) {
				char *copy = malloc(f.v.str.len + 1);
				memcpy(copy, f.v.str.ptr, f.v.str.len);
				copy[f.v.str.len] = 0;
				f.v.str.ptr = copy;
			}
			x->f[x->nfields++] = f;
		}
	}
	return TTLOG_LISTENER_OK;
}

static int capture_flush(void *state)
{
	((struct capture *)state)->flushes++;
	return 0;
}

static int capture_reopen(void *state)
{
	struct capture *c = state;
	c->reopens++;
	c->n_at_reopen = c->n;
	return 0;
}

static void capture_reset(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (unsigned k = 0; k < c->ev[i].nfields; k++)
			if (c->ev[i].f[k].type == TTLOG_TYPE_STR)
				free((void *)c->ev[i].f[k].v.str.ptr);
	free(c->ev);
	memset(c, 0, sizeof(*c));
}

static void capture_destroy(void *state)
{
	(void)state; /* the test owns the struct and reads it after */
}

/* create() receives the struct capture * as its options. */
static int capture_create(const void *options, void **state)
{
	*state = (void *)(uintptr_t)options;
	return 0;
}

static const struct ttlog_listener_api capture_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "capture",
	.create = capture_create,
	.consume = capture_consume,
	.flush = capture_flush,
	.destroy = capture_destroy,
	.reopen = capture_reopen,
};

/* Starts the library with one capture listener, the given ring size and
 * what its queue does when full. */
static inline int capture_start_queue(struct capture *c, size_t ring_bytes,
				      enum ttlog_level level,
				      enum ttlog_queue_policy when_full)
{
	static struct ttlog_listener_config l;
	struct ttlog_options o;

	l.api = &capture_api;
	l.options = c;
	l.name = "capture";
	l.queue_policy = when_full;
	ttlog_options_init(&o);
	o.level = level;
	if (ring_bytes)
		o.ring_bytes = ring_bytes;
	o.listeners = &l;
	o.nlisteners = 1;
	return ttlog_init(&o);
}

/* The same with the default queue (drop_oldest). */
static inline int capture_start(struct capture *c, size_t ring_bytes,
				enum ttlog_level level)
{
	return capture_start_queue(c, ring_bytes, level,
				   TTLOG_QUEUE_DROP_OLDEST);
}

#endif /* TTLOG_TEST_CAPTURE_H */
