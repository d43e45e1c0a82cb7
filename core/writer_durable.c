/*
 * writer_durable.c - the durable number: the batches every listener has
 * not only taken but would still have after a SIGKILL of the process.
 * Most listeners' OK already means that (a file written, a frame in a
 * spool); one that keeps what it took in memory (a forwarder without a
 * spool, until the collector acknowledges) says so with defer_durable()
 * and confirms batches with durable(). The writer remembers, per such
 * listener, the dispatch number of every batch it took and has not
 * confirmed; the oldest of them holds the durable number back.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "durable_internal.h"
#include "lib_internal.h"
#include "plugin_host.h"
#include "writer_internal.h"

static int fifo_grow(struct ttlog__durable_fifo *f)
{
	size_t cap = f->cap ? 2 * f->cap : 64;
	struct ttlog__durable_ent *e;

	if (cap > TTLOG__DURABLE_MAX)
		cap = TTLOG__DURABLE_MAX;
	if (cap <= f->cap)
		return -1;
	e = malloc(cap * sizeof(*e));
	if (e == NULL)
		return -1;
	for (size_t i = 0; i < f->len; i++)
		e[i] = f->e[(f->head + i) % f->cap];
	free(f->e);
	f->e = e;
	f->cap = cap;
	f->head = 0;
	return 0;
}

void ttlog__durable_fifo_push(struct ttlog__durable_fifo *f, uint64_t seq,
			      uint64_t no, const char *name)
{
	if (f->len == f->cap && fifo_grow(f) != 0) {
		/* Full, or out of memory: the newest entry stands for this
		 * batch too. It keeps its older dispatch number, so nothing
		 * is said durable too early; confirming this seq (or a later
		 * one) releases it. With nothing to merge into, the batch is
		 * not waited for: there is no memory to wait with. */
		if (f->len > 0)
			f->e[(f->head + f->len - 1) % f->cap].seq = seq;
		if (!f->full_said) {
			f->full_said = 1;
			TTLOG__LOG(TTLOG_LEVEL_WARN,
				   "listener holds too many batches "
				   "unconfirmed; durable advances in steps",
				   TTLOG_KV("listener", name ? name : "?"),
				   TTLOG_KV("batches", (uint64_t)f->len));
		}
		return;
	}
	f->e[(f->head + f->len) % f->cap] =
		(struct ttlog__durable_ent){seq, no};
	f->len++;
}

void ttlog__durable_fifo_unpush(struct ttlog__durable_fifo *f, uint64_t seq,
				uint64_t no)
{
	const struct ttlog__durable_ent *t;

	if (f->len == 0)
		return;
	t = &f->e[(f->head + f->len - 1) % f->cap];
	if (t->seq == seq && t->no == no)
		f->len--;
}

int ttlog__durable_fifo_confirm(struct ttlog__durable_fifo *f, uint64_t seq)
{
	size_t i;

	/* Seqs are not in the order of taking, so the confirmed one is
	 * looked for; the entries before it go with it. */
	for (i = 0; i < f->len; i++)
		if (f->e[(f->head + i) % f->cap].seq == seq)
			break;
	if (i == f->len)
		return 0;
	f->head = (f->head + i + 1) % f->cap;
	f->len -= i + 1;
	if (f->len == 0)
		f->full_said = 0;
	return 1;
}

uint64_t ttlog__durable_fifo_oldest(const struct ttlog__durable_fifo *f)
{
	return f->len > 0 ? f->e[f->head].no : 0;
}

void ttlog__durable_fifo_destroy(struct ttlog__durable_fifo *f)
{
	free(f->e);
	f->e = NULL;
	f->head = f->len = f->cap = 0;
}

uint64_t ttlog__writer_durable(const struct ttlog__writer *w)
{
	/* Every listener's queue holds it back, also one whose queue drops
	 * when full: the inputs that wait for durable (tail, journal) read
	 * sources that keep what is not read, and are paused by such a
	 * queue too (ttlog__host_pushback_source()), so waiting stalls
	 * nothing, and a SIGKILL cannot lose what such a queue held. */
	uint64_t d = ttlog__writer_queued_floor(w, 1);

	/* Only the current listeners hold it back: one a reload removed,
	 * or the shutdown finished, counts what it never delivered as lost
	 * (its host's lost()), and must not stop the inputs' checkpoints. */
	for (size_t i = 0; i < w->nl; i++) {
		const struct ttlog__durable_fifo *f =
			ttlog__plugin_host_durable(w->l[i].host);
		uint64_t oldest = f != NULL ? ttlog__durable_fifo_oldest(f) : 0;

		if (oldest != 0 && oldest - 1 < d)
			d = oldest - 1;
	}
	/* Never back (a reload may remove a listener that held it). */
	return d > w->durable_told ? d : w->durable_told;
}

void ttlog__writer_durable_moved(void)
{
	struct ttlog__writer *w = ttlog__writer_self;

	if (w != NULL && w->quiet == 0)
		ttlog__writer_taken_check(w);
}
