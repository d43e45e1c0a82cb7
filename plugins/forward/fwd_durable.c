/*
 * fwd_durable.c - what a forwarder without a spool tells the library
 * about durability (ABI 1.4). Its OK to a batch only means "in my
 * memory", which a SIGKILL of the agent loses; so it defers, remembers
 * where each batch it took ends in what it sends (the frame seq of the
 * native protocol, the stream offset of the text formats), and confirms
 * a batch once everything up to that end is safe: acknowledged by the
 * collector (native), or acknowledged by the collector's TCP (syslog and
 * JSON lines, which have no acknowledgement of their own: the bytes are
 * in the collector's kernel, which outlives this process, though not a
 * crash of the collector). With a spool, OK means "appended to the
 * spool" and nothing is deferred.
 */
#include <stdlib.h>

#include <event2/buffer.h>

#include "forward_internal.h"

void ttlog__fwd_durable_defer(struct fwd *f)
{
	if (f->spool != NULL || f->spool_ref != NULL ||
	    !TTLOG_HOST_HAS(f->host, durable))
		return;
	f->host->defer_durable(f->host);
	f->defer = 1;
}

int ttlog__fwd_durable_reserve(struct fwd *f)
{
	struct fwd_dur *d;

	if (!f->defer || f->dlen < f->dcap)
		return 0;
	d = ttlog__fwd_ring_grow(f->dur, sizeof(*d), &f->dhead, f->dlen,
				 &f->dcap);
	if (d == NULL)
		return -1;
	f->dur = d;
	return 0;
}

/* Where the last batch taken ends, and how far the collector has
 * confirmed, in the same units. */
static uint64_t taken_end(const struct fwd *f)
{
	return f->format == FWD_TTLOG
		       ? f->last_seq
		       : f->pend_base + evbuffer_get_length(f->pend);
}

static uint64_t safe_end(const struct fwd *f)
{
	return f->format == FWD_TTLOG ? f->acked : f->pend_base;
}

void ttlog__fwd_durable_took(struct fwd *f, uint64_t batch_seq)
{
	if (!f->defer)
		return;
	/* Room was reserved before the batch was taken. An empty batch
	 * ends where the one before it did, and is confirmed with it. */
	f->dur[(f->dhead + f->dlen) % f->dcap] =
		(struct fwd_dur){taken_end(f), batch_seq};
	f->dlen++;
	ttlog__fwd_durable_check(f);
}

void ttlog__fwd_durable_check(struct fwd *f)
{
	uint64_t safe = safe_end(f), last = 0;
	int any = 0;

	if (!f->defer)
		return;
	while (f->dlen > 0 && f->dur[f->dhead].end <= safe) {
		last = f->dur[f->dhead].seq;
		any = 1;
		f->dhead = (f->dhead + 1) % f->dcap;
		f->dlen--;
	}
	if (any)
		f->host->durable(f->host, last);
}
