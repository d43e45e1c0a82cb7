/*
 * fwd_native.c - the forward listener's native protocol
 * (docs/native-protocol.md): the window of frames in memory, taking a
 * batch as a frame (and appending it to the spool), sending frames from
 * memory or replaying them from the spool within the peer's window, the
 * hello, and the collector's ACK, HEARTBEAT and CLOSE.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>
#include <ttlog/version.h>

#include "forward_internal.h"

/* ------------------------------------------------------------------ */
/* The window of frames in memory                                     */
/* ------------------------------------------------------------------ */

static int win_push(struct fwd *f, const struct fwd_frame *fr)
{
	if (f->wlen == f->wcap) {
		struct fwd_frame *w = ttlog__fwd_ring_grow(
			f->win, sizeof(*w), &f->whead, f->wlen, &f->wcap);
		if (w == NULL)
			return -1;
		f->win = w;
	}
	f->win[(f->whead + f->wlen) % f->wcap] = *fr;
	f->wlen++;
	f->win_bytes += fr->len;
	return 0;
}

void ttlog__fwd_native_win_pop(struct fwd *f)
{
	struct fwd_frame *fr = &f->win[f->whead];

	f->win_bytes -= fr->len;
	ttlog_batch_unref(fr->batch);
	f->whead = (f->whead + 1) % f->wcap;
	f->wlen--;
}

void ttlog__fwd_acked(struct fwd *f, uint64_t seq)
{
	if (seq <= f->acked)
		return;
	if (seq > f->last_seq)
		seq = f->last_seq; /* checked by the caller; never trust it */
	while (f->wlen > 0 && f->win[f->whead].seq <= seq) {
		f->st.events_acked += f->win[f->whead].count;
		ttlog__fwd_native_win_pop(f);
	}
	while (f->slen > 0 && f->sentq[f->shead].seq <= seq) {
		/* Sent from the spool (not in the window): counted here. */
		if (f->sentq[f->shead].seq > f->mem_hi)
			f->st.events_acked += f->sentq[f->shead].count;
		f->inflight -= f->sentq[f->shead].bytes;
		f->shead = (f->shead + 1) % f->scap;
		f->slen--;
	}
	f->acked = seq;
	if (f->mem_hi < seq)
		f->mem_hi = seq;
	if (f->next_send <= seq)
		f->next_send = seq + 1;
	if (f->spool != NULL)
		(void)ttlog__spool_ack(f->spool, seq);
	f->ack_wait_ms = ttlog__fwd_now_ms();
	ttlog__fwd_durable_check(f);
}

/* ------------------------------------------------------------------ */
/* consume                                                            */
/* ------------------------------------------------------------------ */

int ttlog__fwd_native_consume(struct fwd *f, struct ttlog_batch *b)
{
	struct fwd_frame fr;
	const void *data;
	size_t len;
	uint32_t flags = f->compress ? TTLOG_WIRE_DATA_LZ4 : 0;
	uint64_t max = f->peer_max_frame ? f->peer_max_frame : (64u << 20);
	char err[256];

	if (ttlog_batch_encode(b,
			       f->compress ? TTLOG_ENCODING_CBOR_LZ4
					   : TTLOG_ENCODING_CBOR,
			       &data, &len) != 0)
		return TTLOG_LISTENER_RETRY; /* out of memory: later */
	if (len + TTLOG_WIRE_DATA_PREFIX > max) {
		f->st.dropped_too_large += ttlog_batch_count(b);
		ttlog__fwd_report(
			f, TTLOG_LEVEL_ERROR, "dropped",
			"a batch of %zu bytes is over the collector's "
			"frame limit of %llu bytes; dropped",
			len, (unsigned long long)max);
		return TTLOG_LISTENER_ERROR;
	}
	fr.seq = f->last_seq + 1;
	fr.batch = b;
	fr.payload = data;
	fr.len = len;
	fr.count = (uint32_t)ttlog_batch_count(b);
	if (f->spool != NULL) {
		int rc;
		/* Frames the cap deletes from (acked, mem_hi] are still
		 * sent from memory: not lost (yet). */
		ttlog__spool_set_held(f->spool, f->mem_hi);
		rc = ttlog__spool_append(f->spool, fr.seq, flags, fr.count,
					 data, len, err, sizeof(err));
		if (rc == TTLOG_SPOOL_FULL)
			return TTLOG_LISTENER_RETRY;
		if (rc != 0) {
			ttlog__fwd_report(f, TTLOG_LEVEL_ERROR, "spool",
					  "spool: %s", err);
			return TTLOG_LISTENER_RETRY;
		}
		f->last_seq = fr.seq;
		/* In memory too while there is room and nothing older is
		 * waiting on disk only (memory holds a prefix). */
		if (f->mem_hi == fr.seq - 1 &&
		    f->win_bytes + len <= f->window_bytes &&
		    win_push(f, &fr) == 0) {
			ttlog_batch_ref(b);
			f->mem_hi = fr.seq;
		}
	} else {
		if (f->wlen > 0 && f->win_bytes + len > f->window_bytes)
			return TTLOG_LISTENER_RETRY;
		if (win_push(f, &fr) != 0)
			return TTLOG_LISTENER_RETRY;
		ttlog_batch_ref(b);
		f->last_seq = fr.seq;
		f->mem_hi = fr.seq;
	}
	if (f->state == FWD_READY)
		ttlog__fwd_pump(f);
	return TTLOG_LISTENER_OK;
}

/* ------------------------------------------------------------------ */
/* Sending                                                            */
/* ------------------------------------------------------------------ */

static void unref_batch(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	ttlog_batch_unref(arg);
}

static int sent_push(struct fwd *f, uint64_t seq, size_t bytes, uint32_t count)
{
	if (f->slen == f->scap) {
		struct fwd_sent *q = ttlog__fwd_ring_grow(
			f->sentq, sizeof(*q), &f->shead, f->slen, &f->scap);
		if (q == NULL)
			return -1;
		f->sentq = q;
	}
	f->sentq[(f->shead + f->slen) % f->scap] =
		(struct fwd_sent){seq, bytes, count};
	f->slen++;
	f->inflight += bytes;
	return 0;
}

static int send_frame(struct fwd *f, struct evbuffer *out)
{
	unsigned char prefix[TTLOG_WIRE_DATA_PREFIX];
	uint64_t seq = f->next_send;
	uint32_t flags, count;
	size_t len;
	char err[256];

	if (seq <= f->mem_hi) {
		const struct fwd_frame *fr =
			&f->win[(f->whead + (seq - f->win[f->whead].seq)) %
				f->wcap];
		flags = f->compress ? TTLOG_WIRE_DATA_LZ4 : 0;
		if (seq <= f->max_sent)
			flags |= TTLOG_WIRE_DATA_RESENT;
		len = fr->len;
		count = fr->count;
		ttlog__wire_data_prefix(prefix, seq, flags, count, len);
		ttlog_batch_ref(fr->batch);
		if (evbuffer_add(out, prefix, sizeof(prefix)) != 0 ||
		    evbuffer_add_reference(out, fr->payload, len, unref_batch,
					   fr->batch) != 0) {
			ttlog_batch_unref(fr->batch);
			return -1;
		}
	} else {
		struct ttlog__spool_rec rec;
		int rc;
		if (f->spool_cursor != seq - 1)
			ttlog__spool_rewind(f->spool, seq - 1);
		rc = ttlog__spool_next(f->spool, &rec, err, sizeof(err));
		if (rc < 0)
			ttlog__fwd_report(f, TTLOG_LEVEL_ERROR, "spool",
					  "spool: %s", err);
		if (rc <= 0)
			return -1;
		/* Records lost to corruption or the size cap leave a gap;
		 * the collector counts it. */
		seq = rec.seq;
		f->spool_cursor = seq;
		flags = rec.flags;
		if (seq <= f->max_sent)
			flags |= TTLOG_WIRE_DATA_RESENT;
		len = rec.len;
		count = rec.count;
		ttlog__wire_data_prefix(prefix, seq, flags, count, len);
		if (evbuffer_add(out, prefix, sizeof(prefix)) != 0 ||
		    evbuffer_add(out, rec.payload, len) != 0)
			return -1;
	}
	if (f->slen == 0)
		f->ack_wait_ms = ttlog__fwd_now_ms();
	(void)sent_push(f, seq, len + sizeof(prefix), count);
	f->st.frames_sent++;
	f->st.bytes_sent += len;
	if (flags & TTLOG_WIRE_DATA_RESENT)
		f->st.frames_resent++;
	if (seq > f->max_sent)
		f->max_sent = seq;
	f->next_send = seq + 1;
	return 0;
}

void ttlog__fwd_pump(struct fwd *f)
{
	struct evbuffer *out;
	uint64_t window;

	if (f->state != FWD_READY || f->bev == NULL)
		return;
	out = bufferevent_get_output(f->bev);
	if (f->format != FWD_TTLOG) {
		ttlog__fwd_text_confirm(f);
		ttlog__fwd_text_pump(f, out);
		return;
	}
	window = f->peer_window ? f->peer_window : UINT64_MAX;
	while (f->next_send <= f->last_seq && f->inflight < window &&
	       evbuffer_get_length(out) < FWD_OUT_HIGH)
		if (send_frame(f, out) != 0)
			break;
	f->last_tx_ms = ttlog__fwd_now_ms();
}

/* ------------------------------------------------------------------ */
/* The hello and the collector's messages                             */
/* ------------------------------------------------------------------ */

/* The lowest seq still held (window or spool) and not acknowledged, or
 * the next seq when none is: what the hello tells the collector, so that
 * it counts frames lost below it (docs/native-protocol.md). */
static uint64_t oldest_held(const struct fwd *f)
{
	uint64_t o = 0;

	if (f->wlen > 0)
		return f->win[f->whead].seq;
	if (f->spool != NULL)
		o = ttlog__spool_oldest(f->spool);
	return o != 0 ? o : f->last_seq + 1;
}

void ttlog__fwd_native_send_hello(struct fwd *f)
{
	struct ttlog__wire_hello h;
	unsigned char buf[1024];
	size_t n;
	struct evbuffer *out = bufferevent_get_output(f->bev);

	memset(&h, 0, sizeof(h));
	h.version_min = TTLOG_WIRE_VERSION_MIN;
	h.version_max = TTLOG_WIRE_VERSION_MAX;
	h.role = TTLOG_WIRE_SENDER;
	memcpy(h.id, f->id, sizeof(h.id));
	snprintf(h.service, sizeof(h.service), "%s", f->service);
	snprintf(h.host, sizeof(h.host), "%s", f->sfmt.hostname);
	snprintf(h.software, sizeof(h.software), "ttlog %s",
		 TTLOG_VERSION_STRING);
	h.max_frame = FWD_OUR_MAX_FRAME;
	h.heartbeat_ms = f->heartbeat_ms;
	h.oldest = oldest_held(f);
	n = ttlog__wire_hello_encode(&h, buf, sizeof(buf));
	evbuffer_add(out, TTLOG_WIRE_MAGIC, TTLOG_WIRE_MAGIC_LEN);
	evbuffer_add(out, buf, n);
	f->state = FWD_HELLO;
}

static int on_hello(struct fwd *f, const struct ttlog__wire_msg *m)
{
	char err[256];
	uint32_t v;

	if (ttlog__wire_hello_parse(m->body, m->len, &f->peer, err,
				    sizeof(err)) != 0) {
		ttlog__fwd_fail(f, -1, "bad hello from the collector: %s", err);
		return -1;
	}
	if (f->peer.role != TTLOG_WIRE_RECEIVER) {
		ttlog__fwd_fail(
			f, -1, "the peer says it is a sender, not a collector");
		return -1;
	}
	v = ttlog__wire_version_choose(
		TTLOG_WIRE_VERSION_MIN, TTLOG_WIRE_VERSION_MAX,
		f->peer.version_min, f->peer.version_max, err, sizeof(err));
	if (v == 0) {
		ttlog__fwd_fail(f, -1, "no common protocol version: %s", err);
		return -1;
	}
	f->peer_window = f->peer.window;
	f->peer_max_frame = f->peer.max_frame;
	f->peer_heartbeat_ms = f->peer.heartbeat_ms;
	/* The collector already has everything up to last_seq (sent on an
	 * earlier connection whose acknowledgement was lost). */
	if (f->peer.last_seq > f->acked && f->peer.last_seq <= f->last_seq)
		ttlog__fwd_acked(f, f->peer.last_seq);
	f->next_send = f->acked + 1;
	ttlog__fwd_became_ready(f);
	return 0;
}

/* Handles one message from the collector; -1 when the connection was
 * closed. */
int ttlog__fwd_native_message(struct fwd *f, const struct ttlog__wire_msg *m)
{
	char err[256], reason[TTLOG_WIRE_REASON_MAX + 1];
	uint64_t v;
	uint16_t code;

	if (f->state == FWD_HELLO) {
		if (m->type == TTLOG_WIRE_CLOSE &&
		    ttlog__wire_close_parse(m, &code, reason, sizeof(reason),
					    err, sizeof(err)) == 0) {
			f->st.peer_closes++;
			ttlog__fwd_fail(
				f, -1,
				"the collector refused the connection (code "
				"%u): %s",
				code, reason);
			return -1;
		}
		if (m->type != TTLOG_WIRE_HELLO) {
			f->st.protocol_errors++;
			ttlog__fwd_fail(f, -1,
					"expected a hello, got message type %u",
					m->type);
			return -1;
		}
		return on_hello(f, m);
	}
	switch (m->type) {
	case TTLOG_WIRE_ACK:
		if (ttlog__wire_u64_parse(m, &v, err, sizeof(err)) != 0 ||
		    v >= f->next_send) {
			f->st.protocol_errors++;
			ttlog__fwd_fail(f, -1, "bad acknowledgement (%s)",
					err[0] ? err : "of a frame never sent");
			return -1;
		}
		ttlog__fwd_acked(f, v);
		ttlog__fwd_pump(f);
		return 0;
	case TTLOG_WIRE_HEARTBEAT:
		return 0;
	case TTLOG_WIRE_CLOSE:
		f->st.peer_closes++;
		if (ttlog__wire_close_parse(m, &code, reason, sizeof(reason),
					    err, sizeof(err)) != 0)
			snprintf(reason, sizeof(reason), "(unreadable: %s)",
				 err);
		ttlog__fwd_fail(
			f, -1,
			"the collector closed the connection (code %u): %s",
			code, reason);
		return -1;
	default:
		if (m->type >= TTLOG_WIRE_IGNORABLE)
			return 0;
		f->st.protocol_errors++;
		ttlog__fwd_fail(f, -1,
				"unexpected message type %u from the collector",
				m->type);
		return -1;
	}
}
