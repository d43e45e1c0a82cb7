/*
 * input_budget.c - what a stream input's connections may cost it: the
 * bytes of incomplete messages they hold (a memory budget per input) and
 * how long they may take to say something useful (deadlines). Anyone who
 * can reach a listening port can open connections and start messages it
 * never finishes; without these, each such connection could pin up to
 * max_frame (16 MiB) until idle_timeout (docs/network-exposure.md).
 *
 * Memory. Every connection may hold TTLOG__CONN_FREE_BYTES of an
 * incomplete message (and one read more, see input_internal.h). A larger
 * one (a frame header says its size; a line may grow to max_message)
 * first reserves its size from max_buffer; until it gets a reservation
 * its read watermark stays where it is, so libevent reads no more from it
 * and the rest waits in the kernel, which pushes back on the sender.
 * Reservations are granted in order: first to connections that already
 * delivered a whole message or presented a verified client certificate
 * (proven), then to the others, each group oldest waiter first, and never
 * past a waiter that is ahead. So a crowd of peers that start large frames and stall
 * can hold max_buffer for at most frame_timeout, and a sender that has
 * delivered before is served next.
 *
 * Deadlines, checked once a second: a connection must finish its TLS
 * handshake and (native protocol) its hello within hello_timeout, and a
 * message it started must be complete within frame_timeout. A proven
 * connection's clock for a message starts when its reservation is
 * granted, not while it waits behind others.
 *
 * After a burst, freed buffers are handed back to the system
 * (malloc_trim), so that an attack's peak does not stay as resident
 * memory. Everything here runs on the writer thread.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"

/* How often the deadlines are looked at. */
#define SWEEP_MS 1000
/* Bytes given back to the heap since the last trim that make one worth
 * its cost (a walk over the heap's free pages). */
#define TRIM_BYTES ((size_t)4 << 20)

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

size_t ttlog__input_budget_watermark(const struct ttlog__input_conn *c)
{
	return (c->reserved > TTLOG__CONN_FREE_BYTES ? c->reserved
						     : TTLOG__CONN_FREE_BYTES) +
	       TTLOG__CONN_READ_BYTES;
}

/* Only when it changes: libevent re-arms the read event each time. */
static void set_watermark(struct ttlog__input_conn *c)
{
	size_t mark = ttlog__input_budget_watermark(c);

	if (!c->lingering && mark != c->mark) {
		c->mark = mark;
		bufferevent_setwatermark(c->bev, EV_READ, 0, mark);
	}
}

/* A waiter got its reservation outside its own read callback. */
static void wake(struct ttlog__input_conn *c)
{
	set_watermark(c);
	ttlog__input_conn_kick(c);
}

/* Is a ahead of b in the queue for a reservation? */
static int ahead(const struct ttlog__input_conn *a,
		 const struct ttlog__input_conn *b)
{
	if (a->proven != b->proven)
		return a->proven;
	return b->waiting == 0 || a->waiting < b->waiting;
}

static struct ttlog__input_conn *first_waiter(struct ttlog__input *in)
{
	struct ttlog__input_conn *best = NULL;

	for (struct ttlog__input_conn *c = in->conns; c != NULL; c = c->next)
		if (c->waiting != 0 && !c->lingering &&
		    (best == NULL || ahead(c, best)))
			best = c;
	return best;
}

static void grant(struct ttlog__input_conn *c, size_t want)
{
	struct ttlog__input *in = c->in;

	in->reserved += want - c->reserved;
	c->reserved = want;
	if (c->waiting != 0 && c->proven)
		c->partial_ms = mono_ms(); /* its clock starts now */
	c->waiting = 0;
	c->want = 0;
	if (in->reserved > in->trim_from)
		in->trim_from = in->reserved;
}

/* Budget came back: serves the waiters in order while the first fits. */
static void serve_waiters(struct ttlog__input *in)
{
	struct ttlog__input_conn *c;

	while ((c = first_waiter(in)) != NULL &&
	       in->reserved - c->reserved + c->want <= in->max_buffer) {
		grant(c, c->want);
		wake(c);
	}
}

static void release_to(struct ttlog__input_conn *c, size_t keep)
{
	struct ttlog__input *in = c->in;

	if (c->reserved <= keep)
		return;
	in->reserved -= c->reserved - keep;
	c->reserved = keep;
	serve_waiters(in);
}

/* Asks for `want` bytes in all; granted at once if it fits and nobody
 * waits ahead, else the connection waits (reading no further). */
static void reserve(struct ttlog__input_conn *c, size_t want)
{
	struct ttlog__input *in = c->in;
	struct ttlog__input_conn *w;

	if (in->reserved - c->reserved + want <= in->max_buffer &&
	    ((w = first_waiter(in)) == NULL || w == c || !ahead(w, c))) {
		grant(c, want);
		return;
	}
	c->want = want;
	if (c->waiting == 0) {
		c->waiting = ++in->wait_tick;
		in->st.budget_waits++;
	}
}

void ttlog__input_budget_accepted(struct ttlog__input_conn *c)
{
	c->accepted_ms = mono_ms();
	/* Plain-text lines have nothing to negotiate; TLS has its
	 * handshake and the native protocol its hello. */
	c->greeted = !c->tls && c->in->type != TTLOG__INPUT_TTLOG;
}

void ttlog__input_budget_after_read(struct ttlog__input_conn *c, size_t held,
				    size_t need, int progress)
{
	struct ttlog__input *in = c->in;

	if (c->lingering)
		return;
	/* A native sender is proven by a frame delivered (input_native.c),
	 * not by its hello. */
	if (progress && in->type != TTLOG__INPUT_TTLOG)
		c->proven = 1;
	if (held == 0)
		c->partial_ms = 0;
	else if (progress || c->partial_ms == 0)
		c->partial_ms = mono_ms();
	/* A line's size is unknown until its end: once it outgrows the
	 * free bytes it reserves the most it may become. */
	if (need == 0 && held >= TTLOG__CONN_FREE_BYTES)
		need = in->max_message + 64;
	if (need <= TTLOG__CONN_FREE_BYTES) {
		c->waiting = 0;
		c->want = 0;
		release_to(c, 0);
	} else if (need <= c->reserved) {
		release_to(c, need);
	} else {
		reserve(c, need);
	}
	set_watermark(c);
}

void ttlog__input_budget_conn_free(struct ttlog__input_conn *c)
{
	c->waiting = 0;
	c->lingering = 1; /* no watermark for a connection going away */
	release_to(c, 0);
}

/* Closes c for a passed deadline (why: the reason, for the log). */
static void expire(struct ttlog__input_conn *c, const char *why)
{
	struct ttlog__input *in = c->in;

	if (in->type == TTLOG__INPUT_TTLOG) {
		/* A frame cut short is sent again by its sender. */
		ttlog__native_expire(c, why);
		return;
	}
	/* The start of a line or syslog message that never ended: lost,
	 * and counted with the other messages that could not be read. */
	if (c->partial_ms != 0)
		in->st.malformed++;
	ttlog__input_warn(in, c->peer, why);
	ttlog__input_conn_free(c);
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__input *in = arg;
	struct ttlog__input_conn *c, *next;
	uint64_t now = mono_ms();
	size_t held = 0;
	char why[256];
	(void)fd;
	(void)what;

	for (c = in->conns; c != NULL; c = next) {
		next = c->next;
		if (c->lingering)
			continue;
		held += evbuffer_get_length(bufferevent_get_input(c->bev));
		if (!c->greeted && in->hello_timeout_ms > 0 &&
		    now - c->accepted_ms >= in->hello_timeout_ms) {
			in->st.hello_timeouts++;
			snprintf(why, sizeof(why),
				 "%s not done within hello_timeout (%llu ms)",
				 c->tls && !c->tls_done ? "the TLS handshake"
							: "the hello",
				 (unsigned long long)in->hello_timeout_ms);
			expire(c, why);
			continue;
		}
		/* A proven connection waiting for a reservation is not late:
		 * the others are. */
		if (c->partial_ms != 0 && in->frame_timeout_ms > 0 &&
		    !(c->waiting != 0 && c->proven) &&
		    now - c->partial_ms >= in->frame_timeout_ms) {
			in->st.frame_timeouts++;
			snprintf(why, sizeof(why),
				 "a message not finished within frame_timeout "
				 "(%llu ms; %zu bytes of it arrived)",
				 (unsigned long long)in->frame_timeout_ms,
				 evbuffer_get_length(
					 bufferevent_get_input(c->bev)));
			expire(c, why);
		}
	}
	/* After a burst: give what the buffers used back to the system.
	 * glibc keeps freed heap memory for reuse otherwise, and an
	 * attack's peak would stay resident. */
	if (held + in->reserved + TRIM_BYTES <= in->trim_from) {
		malloc_trim(0);
		in->trim_from = held + in->reserved;
	} else if (held > in->trim_from) {
		in->trim_from = held;
	}
}

size_t ttlog__input_budget_held(const struct ttlog__input *in)
{
	size_t held = 0;

	for (const struct ttlog__input_conn *c = in->conns; c != NULL;
	     c = c->next)
		held += evbuffer_get_length(bufferevent_get_input(c->bev));
	return held;
}

int ttlog__input_budget_start(struct ttlog__input *in, char *err, size_t errlen)
{
	struct timeval tv = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};

	in->sweep = event_new(in->base, -1, EV_PERSIST, sweep, in);
	if (in->sweep == NULL || event_add(in->sweep, &tv) != 0) {
		ttlog__errf(err, errlen, "input %s: out of memory", in->name);
		return TTLOG_ENOMEM;
	}
	return 0;
}

void ttlog__input_budget_stop(struct ttlog__input *in)
{
	if (in->sweep != NULL) {
		event_free(in->sweep);
		in->sweep = NULL;
	}
}
