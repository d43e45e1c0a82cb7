/*
 * input_native.c - the receiving side of the native protocol
 * (docs/native-protocol.md) on one stream connection of a `ttlog` input:
 * the magic and hello, DATA frames decoded back into events and ingested,
 * an ACK once they are queued to every listener, duplicates dropped by
 * (sender id, seq), heartbeats answered, CLOSE with a reason on errors.
 *
 * The order that makes "acknowledged" mean "will not be lost, nor written
 * twice": the frame's seq is saved as accepted (native_state.c), its
 * events are decoded, ingested and handed on (ttlog__host_ingest_commit()),
 * and once every listener has taken that batch (a file listener wrote
 * it by its fsync policy, a forwarder has it in its spool;
 * ttlog__native_taken()) the seq is saved as taken, and only then ACKed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <ttlog/ttlog.h>
#include <ttlog/version.h>

#include "byteorder.h"
#include "input_internal.h"
#include "wire.h"
#include "wire_payload.h"

enum ttlog__native_state {
	NATIVE_MAGIC = 0, /* waiting for the sender's magic */
	NATIVE_HELLO,	  /* waiting for its hello */
	NATIVE_READY,
	NATIVE_CLOSING /* a CLOSE is being written; reading stopped */
};

/* How long a CLOSE may take to go out before the connection is
 * dropped. */
#define CLOSE_FLUSH_MS 1000
/* ACKs owed on one connection, kept apart at most (ack_owe()). */
#define ACKS_MAX 1024

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- senders ---- */

static int sender_find(struct ttlog__input *in, const uint8_t id[16])
{
	struct ttlog__native_sender *s = in->senders;
	size_t h, oldest = 0;

	memcpy(&h, id, sizeof(h));
	for (size_t i = 0; i < TTLOG__NATIVE_SENDERS; i++) {
		size_t k = (h + i) % TTLOG__NATIVE_SENDERS;
		if (!s[k].live) {
			memset(&s[k], 0, sizeof(s[k]));
			memcpy(s[k].id, id, 16);
			s[k].live = 1;
			s[k].used = ++in->sender_tick;
			return (int)k;
		}
		if (memcmp(s[k].id, id, 16) == 0) {
			s[k].used = ++in->sender_tick;
			return (int)k;
		}
		if (s[k].used < s[oldest].used)
			oldest = k;
	}
	/* Full: forget the sender heard from least recently. A frame it
	 * resends later may then be delivered twice (at-least-once). */
	memset(&s[oldest], 0, sizeof(s[oldest]));
	memcpy(s[oldest].id, id, 16);
	s[oldest].live = 1;
	s[oldest].used = ++in->sender_tick;
	return (int)oldest;
}

/* ---- writing ---- */

static void put(struct ttlog__input_conn *c, const void *p, size_t n)
{
	evbuffer_add(bufferevent_get_output(c->bev), p, n);
}

/* Sends CLOSE and stops reading; the connection is freed once the
 * message is out (or after CLOSE_FLUSH_MS by the idle timer). */
static void send_close(struct ttlog__input_conn *c, uint16_t code,
		       const char *reason)
{
	unsigned char m[TTLOG_WIRE_HDR + 2 + TTLOG_WIRE_REASON_MAX];
	size_t n = ttlog__wire_close_encode(m, sizeof(m), code, reason);

	put(c, m, n);
	c->nstate = NATIVE_CLOSING;
	ttlog__input_conn_linger(c, CLOSE_FLUSH_MS);
}

void ttlog__native_accepted(struct ttlog__input_conn *c)
{
	c->nstate = NATIVE_MAGIC;
	c->sender = -1;
	c->last_rx_ms = mono_ms();
	/* Both sides open with the magic; over TLS it waits in the
	 * buffer until the handshake is done. */
	put(c, TTLOG_WIRE_MAGIC, TTLOG_WIRE_MAGIC_LEN);
}

/* ---- reading ---- */

static int on_hello(struct ttlog__input_conn *c,
		    const struct ttlog__wire_msg *m)
{
	struct ttlog__input *in = c->in;
	struct ttlog__wire_hello peer, h;
	struct ttlog__native_sender *s;
	unsigned char buf[1024];
	char err[256], why[400];
	uint64_t last;
	uint32_t v;
	size_t n;

	if (ttlog__wire_hello_parse(m->body, m->len, &peer, err, sizeof(err)) !=
	    0) {
		snprintf(why, sizeof(why), "bad hello: %s", err);
		goto refuse;
	}
	if (peer.role != TTLOG_WIRE_SENDER) {
		snprintf(why, sizeof(why),
			 "the peer's hello says it is not a "
			 "sender");
		goto refuse;
	}
	v = ttlog__wire_version_choose(TTLOG_WIRE_VERSION_MIN,
				       TTLOG_WIRE_VERSION_MAX, peer.version_min,
				       peer.version_max, err, sizeof(err));
	if (v == 0) {
		in->st.protocol_errors++;
		ttlog__input_warn(in, c->peer, err);
		send_close(c, TTLOG_WIRE_CLOSE_VERSION, err);
		return -1;
	}
	c->sender = sender_find(in, peer.id);
	s = &in->senders[c->sender];
	/* Frames below the sender's oldest that we never delivered will not
	 * come: a gap before the first frame we would see, which on_data
	 * cannot notice (docs/native-protocol.md, "oldest"). Counted once:
	 * the gap is then taken as passed, for this connection and the
	 * next, and saved. */
	if (peer.oldest > s->accepted_seq + 1) {
		uint64_t first = s->accepted_seq + 1;
		in->st.missing_frames += peer.oldest - first;
		TTLOG_WARN("sender lost frames",
			   TTLOG_KV("input", (const char *)in->name),
			   TTLOG_KV("peer", (const char *)c->peer),
			   TTLOG_KV("missing", peer.oldest - first),
			   TTLOG_KV("first_missing_seq", first),
			   TTLOG_KV("last_missing_seq", peer.oldest - 1));
		if (s->last_seq == s->accepted_seq)
			s->last_seq = peer.oldest - 1;
		s->accepted_seq = peer.oldest - 1;
		ttlog__native_state_put(in, (size_t)c->sender);
	}
	last = s->last_seq;
	memset(&h, 0, sizeof(h));
	h.version_min = h.version_max = v;
	h.role = TTLOG_WIRE_RECEIVER;
	memcpy(h.id, in->instance_id, sizeof(h.id));
	snprintf(h.service, sizeof(h.service), "ttlog-agent");
	if (gethostname(h.host, sizeof(h.host) - 1) != 0)
		h.host[0] = 0;
	snprintf(h.software, sizeof(h.software), "ttlog %s",
		 TTLOG_VERSION_STRING);
	h.max_frame = in->max_frame;
	h.window = in->window;
	h.last_seq = last;
	h.heartbeat_ms = peer.heartbeat_ms;
	n = ttlog__wire_hello_encode(&h, buf, sizeof(buf));
	put(c, buf, n);
	c->nstate = NATIVE_READY;
	c->greeted = 1;
	return 0;
refuse:
	in->st.protocol_errors++;
	ttlog__input_warn(in, c->peer, why);
	send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, why);
	return -1;
}

struct ingest_ctx {
	struct ttlog__input *in;
	uint64_t events, dropped, invalid;
};

static int ingest_one(void *arg, const struct ttlog__in_event *ev)
{
	struct ingest_ctx *x = arg;

	int rc = ttlog__host_ingest(x->in->writer, ev, x->in->id);

	/* The library counts both failures too (dropped_invalid,
	 * dropped_no_memory); an event it refuses is malformed here. */
	if (rc == TTLOG_EINVAL)
		x->invalid++;
	else if (rc != 0)
		x->dropped++;
	else
		x->events++;
	return 0;
}

/*
 * The origin of relayed events (wire_payload.h origin_fn), for one entry
 * of a batch's origin table. The first agent that takes an event in
 * names itself: this input, the peer and its certificate subject fill an
 * origin that has no peer yet (an application's own events). An origin
 * that has one already came through another agent: it is kept as it is,
 * and the peer that delivered it becomes its relay. host and service are
 * always the sender's.
 */
static struct ttlog__origin *relay_origin(void *arg,
					  const struct ttlog__origin_str s[])
{
	struct ttlog__input_conn *c = arg;
	struct ttlog__input *in = c->in;
	struct ttlog__origin_str o[TTLOG__ORIGIN_NFIELDS];
	struct ttlog__origin *r;

	memcpy(o, s, sizeof(o));
	if (o[TTLOG__ORIGIN_PEER].len == 0) {
		o[TTLOG__ORIGIN_INPUT].p = in->name;
		o[TTLOG__ORIGIN_INPUT].len = strlen(in->name);
		o[TTLOG__ORIGIN_PEER].p = c->peer;
		o[TTLOG__ORIGIN_PEER].len = strlen(c->peer);
		o[TTLOG__ORIGIN_PEER_ID].p = c->peer_id;
		o[TTLOG__ORIGIN_PEER_ID].len = strlen(c->peer_id);
		o[TTLOG__ORIGIN_RELAY].len = 0;
	} else {
		o[TTLOG__ORIGIN_RELAY].p = c->peer;
		o[TTLOG__ORIGIN_RELAY].len = strlen(c->peer);
	}
	r = ttlog__origin_cache_get(&in->origins, o);
	if (r != NULL)
		ttlog__origin_ref(r); /* the decoder's own reference */
	return r;
}

/* Queues the ACK of `seq`, sent once dispatch number `no` is taken. At
 * most ACKS_MAX are kept per connection: past that, a new one is merged
 * into the newest (ACKs are cumulative, so the frames in between are
 * acknowledged together, once the later batch is taken). A sender with
 * many small frames out while a listener holds them back cannot grow
 * this without bound. */
static int ack_owe(struct ttlog__input_conn *c, uint64_t seq, uint64_t no)
{
	if (c->ack_len > 0 &&
	    (c->ack_len >= ACKS_MAX ||
	     c->acks[(c->ack_head + c->ack_len - 1) % c->ack_cap].no >= no)) {
		struct ttlog__native_ack *t =
			&c->acks[(c->ack_head + c->ack_len - 1) % c->ack_cap];
		if (seq > t->seq)
			t->seq = seq;
		if (no > t->no)
			t->no = no;
		return 0;
	}
	if (c->ack_len == c->ack_cap) {
		size_t cap = c->ack_cap ? 2 * c->ack_cap : 16;
		struct ttlog__native_ack *a = malloc(cap * sizeof(*a));
		if (a == NULL)
			return -1;
		for (size_t i = 0; i < c->ack_len; i++)
			a[i] = c->acks[(c->ack_head + i) % c->ack_cap];
		free(c->acks);
		c->acks = a;
		c->ack_cap = cap;
		c->ack_head = 0;
	}
	c->acks[(c->ack_head + c->ack_len) % c->ack_cap] =
		(struct ttlog__native_ack){seq, no};
	c->ack_len++;
	return 0;
}

/* Sends one cumulative ACK for the owed frames whose batches are taken,
 * after saving the sender's progress. */
static void acks_send(struct ttlog__input_conn *c, uint64_t taken)
{
	struct ttlog__input *in = c->in;
	struct ttlog__native_sender *s;
	unsigned char ack[TTLOG_WIRE_U64_MSG];
	uint64_t top = 0;

	while (c->ack_len > 0 && c->acks[c->ack_head].no <= taken) {
		top = c->acks[c->ack_head].seq;
		c->ack_head = (c->ack_head + 1) % c->ack_cap;
		c->ack_len--;
	}
	if (top == 0 || c->sender < 0 || c->nstate != NATIVE_READY)
		return;
	s = &in->senders[c->sender];
	/* A slot reused for another sender while this one waited: the ACK
	 * is still right for the frames this connection sent. */
	if (top > s->last_seq) {
		s->last_seq = top;
		if (s->doubt_to <= top)
			s->doubt_to = 0;
		ttlog__native_state_put(in, (size_t)c->sender);
	}
	ttlog__wire_ack_encode(ack, top);
	put(c, ack, sizeof(ack));
}

void ttlog__native_taken(struct ttlog__input *in, uint64_t taken)
{
	for (struct ttlog__input_conn *c = in->conns; c != NULL; c = c->next)
		if (c->ack_len > 0)
			acks_send(c, taken);
}

void ttlog__native_expire(struct ttlog__input_conn *c, const char *why)
{
	ttlog__input_warn(c->in, c->peer, why);
	if (c->nstate == NATIVE_READY)
		send_close(c, TTLOG_WIRE_CLOSE_TIMEOUT, why);
	else
		ttlog__input_conn_free(c);
}

void ttlog__native_conn_free(struct ttlog__input_conn *c)
{
	free(c->acks);
	c->acks = NULL;
	c->ack_len = c->ack_cap = c->ack_head = 0;
}

static int owe_and_send(struct ttlog__input_conn *c, uint64_t seq, uint64_t no)
{
	if (ack_owe(c, seq, no) != 0) {
		/* No ACK: the sender resends after a reconnect. */
		ttlog__input_warn(c->in, c->peer, "out of memory for an ACK");
		send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, "out of memory");
		return -1;
	}
	acks_send(c, ttlog__host_taken(c->in->writer));
	return 0;
}

static int on_data(struct ttlog__input_conn *c, const struct ttlog__wire_msg *m)
{
	struct ttlog__input *in = c->in;
	struct ttlog__native_sender *s = &in->senders[c->sender];
	struct ingest_ctx x = {in, 0, 0, 0};
	const unsigned char *payload;
	uint64_t seq;
	uint32_t flags, count;
	size_t plen, nev;
	char err[256], why[400];

	if (ttlog__wire_data_parse(m, &seq, &flags, &count, &payload, &plen,
				   err, sizeof(err)) != 0) {
		in->st.protocol_errors++;
		ttlog__input_warn(in, c->peer, err);
		send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, err);
		return -1;
	}
	if (seq == 0) {
		in->st.protocol_errors++;
		ttlog__input_warn(in, c->peer, "DATA with seq 0");
		send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, "DATA with seq 0");
		return -1;
	}
	s->used = ++in->sender_tick;
	if (seq <= s->accepted_seq) {
		/* Sent again after a reconnect: taken already, or handed on
		 * and acknowledged once its batch is taken. */
		in->st.dup_frames++;
		return owe_and_send(c, seq,
				    seq <= s->last_seq ? 0 : s->accepted_no);
	}
	if (s->accepted_seq != 0 && seq > s->accepted_seq + 1)
		in->st.missing_frames += seq - s->accepted_seq - 1;
	if (seq <= s->doubt_to) {
		/* Handed on before a crash, not known to be taken: delivered
		 * again rather than risk losing it, and counted. */
		in->st.doubt_frames++;
		in->st.doubt_events += count;
	}
	/* Saved before a single event can reach a listener. */
	s->accepted_seq = seq;
	ttlog__native_state_put(in, (size_t)c->sender);
	/* Batches of older senders (format 1 and 2) have no origin table:
	 * their events get one with what this side knows. */
	static const struct ttlog__origin_str none[TTLOG__ORIGIN_NFIELDS];
	in->wscratch->origin_fn = relay_origin;
	in->wscratch->origin_arg = c;
	in->wscratch->v2_origin = relay_origin(c, none);
	ttlog__origin_unref(in->wscratch->v2_origin); /* the cache keeps it */
	if (ttlog__wire_payload_decode(payload, plen, flags, in->max_frame * 8,
				       in->wscratch, ingest_one, &x, &nev, err,
				       sizeof(err)) != 0) {
		/* Acknowledged all the same: sending it again would fail
		 * again, forever. Counted and reported instead. */
		in->st.bad_frames++;
		in->st.malformed += count > nev ? count - nev : 1;
		snprintf(why, sizeof(why),
			 "frame %llu: %s (%zu of %u events delivered)",
			 (unsigned long long)seq, err, nev, count);
		TTLOG_ERROR("input: a frame did not decode",
			    TTLOG_KV("input", (const char *)in->name),
			    TTLOG_KV("peer", (const char *)c->peer),
			    TTLOG_KV("reason", (const char *)why));
	}
	in->st.events += x.events;
	in->st.dropped += x.dropped;
	in->st.malformed += x.invalid;
	in->st.frames++;
	c->proven = 1; /* served first when the budget is short */
	/* Hand the events to the listeners now; the ACK waits until they
	 * have taken them (at once, unless one holds them back). */
	ttlog__host_ingest_commit(in->writer);
	s->accepted_no = ttlog__host_dispatched(in->writer);
	return owe_and_send(c, seq, s->accepted_no);
}

static int on_message(struct ttlog__input_conn *c,
		      const struct ttlog__wire_msg *m)
{
	struct ttlog__input *in = c->in;
	unsigned char hb[TTLOG_WIRE_U64_MSG];
	char why[TTLOG_WIRE_REASON_MAX + 64], reason[TTLOG_WIRE_REASON_MAX + 1];
	uint16_t code;
	uint64_t v;

	if (c->nstate == NATIVE_HELLO) {
		if (m->type != TTLOG_WIRE_HELLO) {
			snprintf(why, sizeof(why),
				 "expected a hello, got message type %u",
				 m->type);
			in->st.protocol_errors++;
			ttlog__input_warn(in, c->peer, why);
			send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, why);
			return -1;
		}
		return on_hello(c, m);
	}
	switch (m->type) {
	case TTLOG_WIRE_DATA:
		return on_data(c, m);
	case TTLOG_WIRE_HEARTBEAT:
		/* Answered, so that a sender that only listens for our
		 * replies knows we are alive. */
		if (ttlog__wire_u64_parse(m, &v, why, sizeof(why)) == 0) {
			ttlog__wire_heartbeat_encode(hb, v);
			put(c, hb, sizeof(hb));
		}
		return 0;
	case TTLOG_WIRE_CLOSE:
		if (ttlog__wire_close_parse(m, &code, reason, sizeof(reason),
					    why, sizeof(why)) == 0 &&
		    code != TTLOG_WIRE_CLOSE_NORMAL) {
			snprintf(why, sizeof(why),
				 "the sender closed (code %u): %s", code,
				 reason);
			ttlog__input_warn(in, c->peer, why);
		}
		return -1;
	default:
		if (m->type >= TTLOG_WIRE_IGNORABLE)
			return 0;
		snprintf(why, sizeof(why), "unknown message type %u", m->type);
		in->st.protocol_errors++;
		ttlog__input_warn(in, c->peer, why);
		send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, why);
		return -1;
	}
}

int ttlog__native_read(struct ttlog__input_conn *c)
{
	struct ttlog__input *in = c->in;
	struct evbuffer *b = bufferevent_get_input(c->bev);
	char err[256];

	if (c->nstate == NATIVE_CLOSING) {
		evbuffer_drain(b, evbuffer_get_length(b));
		return 0;
	}
	c->last_rx_ms = mono_ms();
	if (c->nstate == NATIVE_MAGIC) {
		unsigned char mg[TTLOG_WIRE_MAGIC_LEN];
		if (evbuffer_get_length(b) < TTLOG_WIRE_MAGIC_LEN) {
			ttlog__input_budget_after_read(
				c, evbuffer_get_length(b), 0, 0);
			return 0;
		}
		evbuffer_remove(b, mg, sizeof(mg));
		in->st.bytes += sizeof(mg);
		if (memcmp(mg, TTLOG_WIRE_MAGIC, TTLOG_WIRE_MAGIC_LEN) != 0) {
			in->st.protocol_errors++;
			ttlog__input_warn(in, c->peer,
					  "not the ttlog protocol (bad magic)");
			/* Whatever it speaks, it would not read a CLOSE. */
			return -1;
		}
		c->nstate = NATIVE_HELLO;
	}
	for (int progress = 0;; progress = 1) {
		size_t avail = evbuffer_get_length(b), used, limit;
		struct ttlog__wire_msg m;
		unsigned char hdr[TTLOG_WIRE_HDR];
		const unsigned char *p;
		int rc;

		if (avail < TTLOG_WIRE_HDR) {
			ttlog__input_budget_after_read(c, avail, 0, progress);
			return 0;
		}
		limit = c->nstate == NATIVE_HELLO ? TTLOG_WIRE_HELLO_MAX
						  : in->max_frame;
		/* Look at the header first, so that only a whole message is
		 * made contiguous. */
		evbuffer_copyout(b, hdr, sizeof(hdr));
		rc = ttlog__wire_next(hdr, sizeof(hdr), limit, &m, &used, err,
				      sizeof(err));
		if (rc < 0) {
			in->st.protocol_errors++;
			ttlog__input_warn(in, c->peer, err);
			send_close(c, TTLOG_WIRE_CLOSE_TOO_LARGE, err);
			return 0;
		}
		if (rc == 0) {
			size_t need = TTLOG_WIRE_HDR +
				      ((size_t)ttlog__get_be32(hdr) - 1);
			if (avail < need) {
				/* Its size is known: the budget reserves it
				 * before more is read. */
				ttlog__input_budget_after_read(c, avail, need,
							       progress);
				return 0;
			}
			p = evbuffer_pullup(b, (ev_ssize_t)need);
			rc = ttlog__wire_next(p, need, limit, &m, &used, err,
					      sizeof(err));
			if (rc <= 0) {
				in->st.protocol_errors++;
				ttlog__input_warn(in, c->peer, err);
				send_close(c, TTLOG_WIRE_CLOSE_PROTOCOL, err);
				return 0;
			}
		}
		rc = on_message(c, &m);
		in->st.bytes += used;
		evbuffer_drain(b, used);
		if (rc != 0)
			return c->nstate == NATIVE_CLOSING ? 0 : -1;
	}
}

void ttlog__native_free(struct ttlog__input *in)
{
	ttlog__native_state_close(in);
	free(in->senders);
	in->senders = NULL;
	if (in->wscratch != NULL) {
		ttlog__wire_scratch_free(in->wscratch);
		free(in->wscratch);
		in->wscratch = NULL;
	}
}

int ttlog__native_init(struct ttlog__input *in, const char *state_dir,
		       char *err, size_t errlen)
{
	in->state_fd = -1;
	in->senders = calloc(TTLOG__NATIVE_SENDERS, sizeof(*in->senders));
	in->wscratch = calloc(1, sizeof(*in->wscratch));
	if (in->senders == NULL || in->wscratch == NULL ||
	    getrandom(in->instance_id, sizeof(in->instance_id), 0) !=
		    (ssize_t)sizeof(in->instance_id)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return ttlog__native_state_open(in, state_dir, err, errlen);
}
