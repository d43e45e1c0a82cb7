/*
 * route.c - running routes and processors on the writer thread
 * (route.h). Compiling them from the configuration is in route_config.c.
 *
 * A batch is never changed: a processor that changes or drops an event
 * makes the runner build a new batch. Until the first such event nothing
 * is copied; from then on, events that stay as they were are copied as
 * bytes with their call site, and changed ones go through the path of
 * ingested events (ttlog__batch_add_in()), which gives them a call site of
 * the new batch. The new batch keeps the old one alive, whose call sites
 * it may point at.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch_internal.h"
#include "clock_internal.h"
#include "lib_internal.h"
#include "route_internal.h"

/* ---- building the result ---- */

/* Makes room in nb for one more event of up to `bytes` value bytes. */
static int reserve(struct ttlog_batch *nb, size_t bytes)
{
	if (nb->n == nb->ev_cap) {
		size_t cap = nb->ev_cap ? 2 * nb->ev_cap : 16;
		struct ttlog__event *e = realloc(nb->ev, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		nb->ev = e;
		nb->ev_cap = cap;
	}
	if (nb->data_cap - nb->data_len < bytes) {
		size_t cap = nb->data_cap * 2 > nb->data_len + bytes
				     ? nb->data_cap * 2
				     : nb->data_len + bytes;
		unsigned char *d = realloc(nb->data, cap);
		if (d == NULL)
			return -1;
		nb->data = d;
		nb->data_cap = cap;
	}
	return 0;
}

/* The value bytes of event i of b. */
static size_t event_len(const struct ttlog_batch *b, size_t i)
{
	size_t end = i + 1 < b->n ? b->ev[i + 1].off : b->data_len;
	return end - b->ev[i].off;
}

/* Copies event i of b into nb as it is. */
static int copy_event(struct ttlog_batch *nb, const struct ttlog_batch *b,
		      size_t i)
{
	const struct ttlog__event *e = &b->ev[i];
	size_t len = event_len(b, i);
	struct ttlog_callsite *cs =
		(struct ttlog_callsite *)(uintptr_t)b->cs[e->cs];

	if (reserve(nb, len) != 0)
		return -1;
	return ttlog__batch_add_o(nb, cs, b->orig[e->origin], e->time_ns,
				  e->tid, e->flags, b->data + e->off, len) == 0
		       ? 0
		       : -1;
}

/* Adds the work event (changed by a processor) to nb. */
static int add_work(struct ttlog_batch *nb, const struct ttlog__work *w)
{
	for (int tries = 0; tries < 8; tries++) {
		int rc = ttlog__batch_add_in(nb, &w->ev, w->ev.tid,
					     w->ev.time_ns,
					     ttlog__lib.max_value);
		if (rc != 1)
			return rc == 0 ? 0 : -1;
		/* Full: grow it; a batch built here has no size limit of
		 * its own, its parent had one. */
		if (reserve(nb, nb->data_cap + 4096) != 0)
			return -1;
	}
	return -1;
}

/* A new batch for the events of b that a chain changed, holding b. */
static struct ttlog_batch *result_new(struct ttlog_batch *b)
{
	struct ttlog_batch *nb = ttlog__batch_new(b->n > 0 ? b->n : 1,
						  b->data_len + 4096, b->seq);

	if (nb != NULL) {
		ttlog_batch_ref(b);
		nb->parent = b;
	}
	return nb;
}

/* ---- the work event ---- */

/* Fills r->work from event i of b (view v). */
static void work_load(struct ttlog__routing *r, const struct ttlog_batch *b,
		      size_t i, const struct ttlog__view *v)
{
	const struct ttlog__event *e = &b->ev[i];
	const struct ttlog_callsite *cs = v->cs;
	struct ttlog__work *w = &r->work;
	const unsigned char *p = v->vals;

	memset(&w->ev, 0, offsetof(struct ttlog__in_event, fields));
	w->ev.time_ns = e->time_ns;
	w->ev.origin = b->orig[e->origin];
	w->ev.level = cs->level;
	w->ev.msg = v->msg;
	w->ev.msg_len = v->msg_len;
	w->ev.msg_varies = 1;
	w->ev.source = cs->file;
	w->ev.line = cs->line;
	w->ev.tid = e->tid;
	w->ev.truncated = (e->flags & TTLOG_EVENT_TRUNCATED) != 0;
	w->ev.nfields = cs->nfields;
	for (uint32_t k = 0; k < cs->nfields; k++) {
		struct ttlog__in_field *f = &w->ev.fields[k];
		struct ttlog_field x;
		p = ttlog__value_decode(p, cs->types[k], &x);
		f->key = cs->keys[k];
		f->key_len = strlen(cs->keys[k]);
		f->type = x.type;
		if (x.type == TTLOG_TYPE_STR)
			f->v.str = x.v.str;
		else if (x.type == TTLOG_TYPE_BOOL)
			f->v.b = x.v.b;
		else
			f->v.u64 = x.v.u64;
	}
	w->origin = &b->orig[e->origin]->pub;
	w->changed = 0;
	ttlog__scratch_reset(w->s);
}

/* ---- chains ---- */

/*
 * Runs chain c on b. Returns a new reference: b itself when no event was
 * changed or dropped, else a new batch (NULL when all were dropped, or
 * with *oom set when memory ran out).
 */
static struct ttlog_batch *run_chain(struct ttlog__routing *r,
				     struct ttlog__chain *c,
				     struct ttlog_batch *b, int *oom)
{
	struct ttlog_batch *nb = NULL;
	uint64_t now = ttlog__clock_ts_ns(CLOCK_MONOTONIC);

	*oom = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct ttlog__view v;
		int loaded = 0, dropped = 0;

		ttlog__view_batch(&v, b, i);
		for (size_t k = 0; k < c->n && !dropped; k++) {
			struct ttlog__route_item *it = &c->it[k];
			enum ttlog__proc_rc rc;
			if (it->match != NULL &&
			    !ttlog__expr_eval(it->match, &v))
				continue;
			if (!loaded) {
				work_load(r, b, i, &v);
				loaded = 1;
			}
			atomic_fetch_add_explicit(&it->in, 1,
						  memory_order_relaxed);
			rc = ttlog__proc_apply(it->p, &r->work, now);
			if (rc == TTLOG__PROC_DROP) {
				atomic_fetch_add_explicit(&it->dropped, 1,
							  memory_order_relaxed);
				dropped = 1;
			} else if (rc == TTLOG__PROC_FAILED) {
				atomic_fetch_add_explicit(&it->failed, 1,
							  memory_order_relaxed);
			}
			/* Later matches see the event as it is now. */
			if (r->work.changed)
				ttlog__view_work(&v, &r->work.ev,
						 r->work.origin);
		}
		if (!dropped && !(loaded && r->work.changed)) {
			if (nb != NULL && copy_event(nb, b, i) != 0)
				goto oom;
			continue;
		}
		if (nb == NULL) {
			nb = result_new(b);
			if (nb == NULL)
				goto oom;
			for (size_t j = 0; j < i; j++)
				if (copy_event(nb, b, j) != 0)
					goto oom;
		}
		if (!dropped && add_work(nb, &r->work) != 0)
			goto oom;
	}
	if (nb == NULL) {
		ttlog_batch_ref(b);
		return b;
	}
	if (nb->n == 0) {
		ttlog_batch_unref(nb);
		return NULL;
	}
	return nb;
oom:
	ttlog_batch_unref(nb);
	*oom = 1;
	return NULL;
}

struct ttlog_batch *ttlog__routing_global(struct ttlog__routing *r,
					  struct ttlog_batch *b, int *oom)
{
	struct ttlog_batch *nb;

	*oom = 0;
	if (r == NULL || r->global.n == 0)
		return b;
	nb = run_chain(r, &r->global, b, oom);
	ttlog_batch_unref(b);
	return nb;
}

/* ---- selection ---- */

static int grow_bytes(unsigned char **p, size_t *cap, size_t n)
{
	unsigned char *q;

	if (n <= *cap)
		return 0;
	q = realloc(*p, n);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

int ttlog__routing_prepare(struct ttlog__routing *r,
			   const struct ttlog_batch *b)
{
	struct ttlog__view v;
	size_t unrouted = 0;

	r->prepared = 0;
	if (!r->any_match)
		return 0;
	if (grow_bytes(&r->any, &r->any_cap, b->n) != 0)
		return -1;
	memset(r->any, 0, b->n);
	for (size_t li = 0; li < r->n; li++) {
		struct ttlog__route *rt = &r->rt[li];
		if (rt->match == NULL)
			continue;
		if (grow_bytes(&rt->keep, &rt->keep_cap, b->n) != 0)
			return -1;
		for (size_t i = 0; i < b->n; i++) {
			ttlog__view_batch(&v, b, i);
			rt->keep[i] = ttlog__expr_eval(rt->match, &v);
			r->any[i] |= rt->keep[i];
		}
	}
	for (size_t i = 0; i < b->n; i++)
		unrouted += !r->any[i];
	/* With a listener that takes everything, or one that takes the
	 * rest, no event goes nowhere. */
	if (!r->takes_all && !r->has_else && unrouted > 0) {
		atomic_fetch_add_explicit(&r->unrouted, unrouted,
					  memory_order_relaxed);
		/* Once per configuration: each time would repeat itself, and
		 * the line may itself match no listener. */
		if (!r->unrouted_said) {
			r->unrouted_said = 1;
			TTLOG_WARN("events matched no listener's match: and "
				   "went nowhere (counted in "
				   "ttlog_events_unrouted_total; add a "
				   "listener with match: else to keep them)",
				   TTLOG_KV("events", (uint64_t)unrouted));
		}
	}
	r->prepared = 1;
	return 0;
}

/* The events of b that keep marks (all when NULL) at or above level;
 * a new reference, or NULL when none (or out of memory: *oom). */
static struct ttlog_batch *select_events(struct ttlog_batch *b,
					 const unsigned char *keep, int invert,
					 int level, int *oom)
{
	size_t n = 0;
	struct ttlog_batch *nb;

	for (size_t i = 0; i < b->n; i++)
		n += (keep == NULL || (keep[i] != 0) != invert) &&
		     b->cs[b->ev[i].cs]->level >= level;
	if (n == b->n) {
		ttlog_batch_ref(b);
		return b;
	}
	if (n == 0)
		return NULL;
	nb = result_new(b);
	if (nb == NULL)
		goto oom;
	for (size_t i = 0; i < b->n; i++)
		if ((keep == NULL || (keep[i] != 0) != invert) &&
		    b->cs[b->ev[i].cs]->level >= level &&
		    copy_event(nb, b, i) != 0)
			goto oom;
	return nb;
oom:
	ttlog_batch_unref(nb);
	*oom = 1;
	return NULL;
}

struct ttlog_batch *ttlog__routing_select(struct ttlog__routing *r, size_t li,
					  struct ttlog_batch *b, int level,
					  int *oom)
{
	struct ttlog__route *rt = &r->rt[li];
	struct ttlog_batch *sel, *out;
	const unsigned char *keep = NULL;
	int invert = 0;

	*oom = 0;
	if (rt->match != NULL || rt->is_else) {
		if (!r->prepared) {
			*oom = 1;
			return NULL;
		}
		keep = rt->is_else ? r->any : rt->keep;
		invert = rt->is_else;
	}
	sel = select_events(b, keep, invert, level, oom);
	if (sel == NULL || rt->procs.n == 0)
		return sel;
	out = run_chain(r, &rt->procs, sel, oom);
	ttlog_batch_unref(sel);
	return out;
}

/* ---- statistics ---- */

static size_t chain_stats(const struct ttlog__chain *c,
			  struct ttlog__proc_stat *out, size_t cap, size_t at)
{
	for (size_t k = 0; k < c->n; k++, at++) {
		const struct ttlog__route_item *it = &c->it[k];
		if (at >= cap)
			continue;
		out[at].scope = it->scope;
		out[at].name = it->name;
		out[at].type = ttlog__proc_type(it->p);
		out[at].in =
			atomic_load_explicit(&it->in, memory_order_relaxed);
		out[at].dropped = atomic_load_explicit(&it->dropped,
						       memory_order_relaxed);
		out[at].failed =
			atomic_load_explicit(&it->failed, memory_order_relaxed);
	}
	return at;
}

size_t ttlog__routing_stats(const struct ttlog__routing *r,
			    struct ttlog__proc_stat *out, size_t cap)
{
	size_t at;

	if (r == NULL)
		return 0;
	at = chain_stats(&r->global, out, cap, 0);
	for (size_t li = 0; li < r->n; li++)
		at = chain_stats(&r->rt[li].procs, out, cap, at);
	return at;
}

uint64_t ttlog__routing_unrouted(const struct ttlog__routing *r)
{
	return r != NULL ? atomic_load_explicit(&r->unrouted,
						memory_order_relaxed)
			 : 0;
}
