/*
 * forward_conn.c - the forward listener's connection: endpoints in order
 * with back-off, name lookup (libevent's asynchronous resolver, so the
 * writer thread never blocks), TLS through bufferevent_openssl, the native
 * protocol's hello, acknowledgements and heartbeats, and sending frames or
 * text as fast as the peer's window and the socket allow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include <ttlog/version.h>

#include "addr.h"
#include "forward_internal.h"

/* Bytes kept queued in the connection's output; refilled when it drops
 * under the low mark. */
#define OUT_HIGH (4u << 20)
#define OUT_LOW (1u << 20)
/* Largest message we accept from a collector (ACK, HEARTBEAT, CLOSE). */
#define OUR_MAX_FRAME 65536

const char *const ttlog__fwd_tls_reasons[FWD_TLS_REASONS] = {
	"verify",	  "hostname",
	"expired",	  "unknown_ca",
	"no_client_cert", "protocol_version",
	"not_tls",	  "pin",
	"other",	  "none"};

const char *ttlog__fwd_state_name(int state)
{
	static const char *const names[] = {"idle", "resolving", "connecting",
					    "hello", "ready"};
	return state >= 0 && state <= FWD_READY ? names[state] : "?";
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                            */
/* ------------------------------------------------------------------ */

/* An endpoint without a scheme is TLS: the default is the safe one. */
#define ENDPOINT_FORMS                                                         \
	(TTLOG__ADDR_ALLOW_BARE | TTLOG__ADDR_ALLOW_TCP |                      \
	 TTLOG__ADDR_ALLOW_TLS | TTLOG__ADDR_ALLOW_UNIX)

static int parse_one(struct fwd_endpoint *e, const char *s, size_t n, char *err,
		     size_t errlen)
{
	char buf[1100], why[1300];
	struct ttlog__addr a;

	if (n == 0 || n >= sizeof(buf)) {
		snprintf(err, errlen,
			 "endpoints: an entry is empty or too long");
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	e->text = strdup(buf);
	/* A sender has no use for port 0: it cannot connect to "any". */
	if (ttlog__addr_parse(buf, ENDPOINT_FORMS, &a, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "endpoints: %s", why);
		return -1;
	}
	switch (a.scheme) {
	case TTLOG__ADDR_UNIX:
		e->scheme = FWD_UNIX;
		e->path = strdup(a.path);
		return e->text && e->path ? 0 : -1;
	case TTLOG__ADDR_TCP:
		e->scheme = FWD_TCP;
		break;
	default: /* tls:// or bare */
		e->scheme = FWD_TLS;
		break;
	}
	e->host = strdup(a.host);
	memcpy(e->port, a.port, sizeof(a.port));
	return e->text && e->host ? 0 : -1;
}

int ttlog__fwd_parse_endpoints(struct fwd *f, const char *list, char *err,
			       size_t errlen)
{
	const char *p = list;

	if (list == NULL) {
		snprintf(err, errlen, "endpoints: required");
		return -1;
	}
	while (*p != 0) {
		size_t n;
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		struct fwd_endpoint *ep =
			realloc(f->ep, (f->nep + 1) * sizeof(*ep));
		if (ep == NULL)
			return -1;
		f->ep = ep;
		memset(&f->ep[f->nep], 0, sizeof(f->ep[0]));
		f->nep++;
		if (parse_one(&f->ep[f->nep - 1], p, n, err, errlen) != 0)
			return -1;
		p += n;
	}
	if (f->nep == 0) {
		snprintf(err, errlen, "endpoints: no endpoint given");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Failing and retrying                                                 */
/* ------------------------------------------------------------------ */

static void on_retry(evutil_socket_t fd, short what, void *arg);
static void start_attempt(struct fwd *f);

void ttlog__fwd_conn_close(struct fwd *f, const char *why)
{
	(void)why;
	if (f->dnsreq != NULL) {
		struct evdns_getaddrinfo_request *r = f->dnsreq;
		f->dnsreq = NULL;
		evdns_getaddrinfo_cancel(r);
	}
	if (f->conn_ev != NULL) {
		event_free(f->conn_ev);
		f->conn_ev = NULL;
		evutil_closesocket(f->conn_fd);
		f->conn_fd = -1;
	}
	if (f->bev != NULL) {
		bufferevent_free(f->bev); /* frees the SSL and the socket */
		f->bev = NULL;
		f->ssl = NULL;
	}
	if (f->ssl != NULL) {
		SSL_free(f->ssl);
		f->ssl = NULL;
	}
	if (f->state == FWD_READY)
		f->st.disconnects++;
	f->state = FWD_IDLE;
	f->magic_seen = 0;
	/* Everything not acknowledged goes again on the next connection. */
	f->shead = f->slen = 0;
	f->inflight = 0;
	f->next_send = f->acked + 1;
	f->spool_cursor = UINT64_MAX;
	f->fed = f->pend_base;
}

/* Reports a failure; the same message is repeated at most every 30 s. */
static void report_failure(struct fwd *f, const char *msg)
{
	static const uint64_t quiet_ms = 30000;
	uint64_t now = ttlog__fwd_now_ms();

	if (strcmp(msg, f->last_error) != 0 ||
	    now - f->last_report_ms >= quiet_ms || !f->error_reported) {
		ttlog__fwd_report(f, "%s", msg);
		TTLOG_WARN(
			"forward: connection failed",
			TTLOG_KV("endpoint", (const char *)f->ep[f->cur].text),
			TTLOG_KV("reason", msg));
		f->last_report_ms = now;
		f->error_reported = 1;
	}
	snprintf(f->last_error, sizeof(f->last_error), "%s", msg);
}

static void schedule(struct fwd *f, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};

	if (f->retry_ev == NULL)
		f->retry_ev = evtimer_new(f->base, on_retry, f);
	if (f->retry_ev != NULL)
		evtimer_add(f->retry_ev, &tv);
}

/* Closes the connection after a failure and plans the next attempt: the
 * next endpoint at once, or, after a whole round of failures, a wait that
 * doubles each round (jittered to 50..100%). */
static void fail(struct fwd *f, int tls_reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct fwd *f, int tls_reason, const char *fmt, ...)
{
	char msg[600];
	int n, was_ready = f->state == FWD_READY;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s: ", f->ep[f->cur].text);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (!was_ready)
		f->st.connect_failures++;
	if (tls_reason >= 0 && tls_reason < FWD_TLS_REASONS)
		f->st.tls_failures[tls_reason]++;
	report_failure(f, msg);
	ttlog__fwd_conn_close(f, msg);
	if (was_ready) {
		/* A working connection broke: try the same endpoint again
		 * soon, then move on. */
		f->failed_round = 0;
		schedule(f, f->reconnect_initial_ms);
		return;
	}
	f->cur = (f->cur + 1) % f->nep;
	if (++f->failed_round < f->nep) {
		schedule(f, 0);
		return;
	}
	f->failed_round = 0;
	{
		uint32_t r = 0;
		uint64_t wait = f->backoff_ms;
		(void)!getrandom(&r, sizeof(r), GRND_NONBLOCK);
		wait = wait / 2 + (wait / 2 ? r % (wait / 2 + 1) : 0);
		schedule(f, wait);
		f->backoff_ms *= 2;
		if (f->backoff_ms > f->reconnect_max_ms)
			f->backoff_ms = f->reconnect_max_ms;
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;
	(void)fd;
	(void)what;
	if (f->state == FWD_IDLE)
		start_attempt(f);
}

/* ------------------------------------------------------------------ */
/* Sending                                                              */
/* ------------------------------------------------------------------ */

static void unref_batch(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	ttlog_batch_unref(arg);
}

static int sent_push(struct fwd *f, uint64_t seq, size_t bytes)
{
	if (f->slen == f->scap) {
		struct fwd_sent *q = ttlog__fwd_ring_grow(
			f->sentq, sizeof(*q), &f->shead, f->slen, &f->scap);
		if (q == NULL)
			return -1;
		f->sentq = q;
	}
	f->sentq[(f->shead + f->slen) % f->scap] =
		(struct fwd_sent){seq, bytes};
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
			ttlog__fwd_report(f, "spool: %s", err);
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
	(void)sent_push(f, seq, len + sizeof(prefix));
	f->st.frames_sent++;
	f->st.bytes_sent += len;
	if (flags & TTLOG_WIRE_DATA_RESENT)
		f->st.frames_resent++;
	if (seq > f->max_sent)
		f->max_sent = seq;
	f->next_send = seq + 1;
	return 0;
}

static void pump_text(struct fwd *f, struct evbuffer *out)
{
	char chunk[65536];
	size_t have = evbuffer_get_length(f->pend);

	while (f->fed < f->pend_base + have &&
	       evbuffer_get_length(out) < OUT_HIGH) {
		struct evbuffer_ptr pos;
		size_t off = (size_t)(f->fed - f->pend_base);
		ev_ssize_t n;
		if (evbuffer_ptr_set(f->pend, &pos, off, EVBUFFER_PTR_SET) != 0)
			break;
		n = evbuffer_copyout_from(f->pend, &pos, chunk, sizeof(chunk));
		if (n <= 0 || evbuffer_add(out, chunk, (size_t)n) != 0)
			break;
		f->fed += (uint64_t)n;
		f->st.bytes_sent += (uint64_t)n;
	}
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
		pump_text(f, out);
		return;
	}
	window = f->peer_window ? f->peer_window : UINT64_MAX;
	while (f->next_send <= f->last_seq && f->inflight < window &&
	       evbuffer_get_length(out) < OUT_HIGH)
		if (send_frame(f, out) != 0)
			break;
	f->last_tx_ms = ttlog__fwd_now_ms();
}

static void send_heartbeat(struct fwd *f, uint64_t v)
{
	unsigned char m[TTLOG_WIRE_U64_MSG];

	ttlog__wire_heartbeat_encode(m, v);
	evbuffer_add(bufferevent_get_output(f->bev), m, sizeof(m));
	f->last_tx_ms = ttlog__fwd_now_ms();
}

/* ------------------------------------------------------------------ */
/* Receiving                                                            */
/* ------------------------------------------------------------------ */

static void became_ready(struct fwd *f)
{
	f->state = FWD_READY;
	f->st.connects++;
	f->backoff_ms = f->reconnect_initial_ms;
	f->failed_round = 0;
	f->last_rx_ms = f->last_tx_ms = f->ack_wait_ms = ttlog__fwd_now_ms();
	if (f->error_reported || f->st.connects > 1) {
		ttlog__fwd_report(f, "%s: connected", f->ep[f->cur].text);
		TTLOG_INFO(
			"forward: connected",
			TTLOG_KV("endpoint", (const char *)f->ep[f->cur].text),
			TTLOG_KV("unacked_frames", f->last_seq - f->acked));
	}
	f->error_reported = 0;
	f->last_error[0] = 0;
	ttlog__fwd_pump(f);
}

static int on_hello(struct fwd *f, const struct ttlog__wire_msg *m)
{
	char err[256];
	uint32_t v;

	if (ttlog__wire_hello_parse(m->body, m->len, &f->peer, err,
				    sizeof(err)) != 0) {
		fail(f, -1, "bad hello from the collector: %s", err);
		return -1;
	}
	if (f->peer.role != TTLOG_WIRE_RECEIVER) {
		fail(f, -1, "the peer says it is a sender, not a collector");
		return -1;
	}
	v = ttlog__wire_version_choose(
		TTLOG_WIRE_VERSION_MIN, TTLOG_WIRE_VERSION_MAX,
		f->peer.version_min, f->peer.version_max, err, sizeof(err));
	if (v == 0) {
		fail(f, -1, "no common protocol version: %s", err);
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
	became_ready(f);
	return 0;
}

/* Handles one message from the collector; -1 when the connection was
 * closed. */
static int on_message(struct fwd *f, const struct ttlog__wire_msg *m)
{
	char err[256], reason[TTLOG_WIRE_REASON_MAX + 1];
	uint64_t v;
	uint16_t code;

	if (f->state == FWD_HELLO) {
		if (m->type == TTLOG_WIRE_CLOSE &&
		    ttlog__wire_close_parse(m, &code, reason, sizeof(reason),
					    err, sizeof(err)) == 0) {
			f->st.peer_closes++;
			fail(f, -1,
			     "the collector refused the connection (code "
			     "%u): %s",
			     code, reason);
			return -1;
		}
		if (m->type != TTLOG_WIRE_HELLO) {
			f->st.protocol_errors++;
			fail(f, -1, "expected a hello, got message type %u",
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
			fail(f, -1, "bad acknowledgement (%s)",
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
		fail(f, -1, "the collector closed the connection (code %u): %s",
		     code, reason);
		return -1;
	default:
		if (m->type >= TTLOG_WIRE_IGNORABLE)
			return 0;
		f->st.protocol_errors++;
		fail(f, -1, "unexpected message type %u from the collector",
		     m->type);
		return -1;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct fwd *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ttlog__wire_msg m;
	char err[256];

	f->last_rx_ms = ttlog__fwd_now_ms();
	if (f->format != FWD_TTLOG) {
		/* syslog and JSON-lines collectors have nothing to say. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!f->magic_seen) {
		unsigned char mg[TTLOG_WIRE_MAGIC_LEN];
		if (evbuffer_get_length(in) < TTLOG_WIRE_MAGIC_LEN)
			return;
		evbuffer_remove(in, mg, sizeof(mg));
		if (memcmp(mg, TTLOG_WIRE_MAGIC, TTLOG_WIRE_MAGIC_LEN) != 0) {
			f->st.protocol_errors++;
			fail(f, -1,
			     "the peer does not speak the ttlog protocol "
			     "(first bytes %02x %02x %02x %02x)",
			     mg[0], mg[1], mg[2], mg[3]);
			return;
		}
		f->magic_seen = 1;
	}
	for (;;) {
		size_t avail = evbuffer_get_length(in), used;
		size_t want = avail < OUR_MAX_FRAME ? avail : OUR_MAX_FRAME;
		const unsigned char *p;
		int rc;
		if (avail == 0)
			return;
		p = evbuffer_pullup(in, (ev_ssize_t)want);
		rc = ttlog__wire_next(p, want, OUR_MAX_FRAME, &m, &used, err,
				      sizeof(err));
		if (rc == 0)
			return;
		if (rc < 0) {
			f->st.protocol_errors++;
			fail(f, -1, "%s", err);
			return;
		}
		if (on_message(f, &m) != 0)
			return;
		evbuffer_drain(in, used);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ttlog__fwd_pump(arg);
}

/* The connection's TLS error, through libevent's copy of OpenSSL's error
 * queue. */
static int tls_error(struct fwd *f, char *out, size_t outlen)
{
	unsigned long e, first = 0;
	const char *reason;

	while ((e = bufferevent_get_openssl_error(f->bev)) != 0)
		if (first == 0)
			first = e;
	reason = ttlog__tls_describe_code(f->ssl, first, out, outlen);
	for (int i = 0; i < FWD_TLS_REASONS; i++)
		if (strcmp(reason, ttlog__fwd_tls_reasons[i]) == 0)
			return i;
	return 8; /* other */
}

static void send_hello(struct fwd *f)
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
	h.max_frame = OUR_MAX_FRAME;
	h.heartbeat_ms = f->heartbeat_ms;
	n = ttlog__wire_hello_encode(&h, buf, sizeof(buf));
	evbuffer_add(out, TTLOG_WIRE_MAGIC, TTLOG_WIRE_MAGIC_LEN);
	evbuffer_add(out, buf, n);
	f->state = FWD_HELLO;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct fwd *f = arg;
	char why[512];
	(void)bev;

	if (what & BEV_EVENT_CONNECTED) {
		if (f->ssl != NULL &&
		    ttlog__tls_check_pins(f->ssl, (const uint8_t(*)[32])f->pins,
					  f->npins, why, sizeof(why)) != 0) {
			fail(f, 7, "%s", why);
			return;
		}
		if (f->format == FWD_TTLOG) {
			send_hello(f);
		} else {
			became_ready(f);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		fail(f, -1, "nothing could be written for %llu ms",
		     (unsigned long long)f->write_timeout_ms);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();
		if (f->ssl != NULL) {
			int r = tls_error(f, why, sizeof(why));
			if (r != 8 || why[0] != 0) {
				fail(f, f->state < FWD_READY ? r : -1,
				     "TLS: %s", why);
				return;
			}
		}
		fail(f, -1, "%s",
		     err ? evutil_socket_error_to_string(err)
			 : "connection error");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (f->state < FWD_READY && f->ssl != NULL) {
			int r = tls_error(f, why, sizeof(why));
			if (r == 8 && f->state == FWD_HELLO) {
				fail(f, -1,
				     "the peer closed the connection "
				     "before its hello");
				return;
			}
			fail(f, r,
			     "TLS: the peer closed during the handshake%s%s",
			     why[0] ? ": " : "", why);
			return;
		}
		fail(f, -1, "the peer closed the connection");
	}
}

/* ------------------------------------------------------------------ */
/* Connecting                                                           */
/* ------------------------------------------------------------------ */

/* The TCP (or unix) connection is up: wraps it in TLS or not. */
static void open_stream(struct fwd *f, evutil_socket_t fd)
{
	const struct fwd_endpoint *e = &f->ep[f->cur];
	struct timeval wtv = {(time_t)(f->write_timeout_ms / 1000),
			      (suseconds_t)(f->write_timeout_ms % 1000) * 1000};
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	char err[256];

	if (e->scheme == FWD_TLS) {
		const char *name = f->server_name ? f->server_name : e->host;
		f->ssl = ttlog__tls_client_ssl(f->ctx, &f->tls, name, err,
					       sizeof(err));
		if (f->ssl == NULL) {
			evutil_closesocket(fd);
			fail(f, -1, "TLS: %s", err);
			return;
		}
		f->bev = bufferevent_openssl_socket_new(
			f->base, fd, f->ssl, BUFFEREVENT_SSL_CONNECTING, opts);
		if (f->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(f->bev, 1);
		else
			SSL_free(f->ssl);
	} else {
		f->bev = bufferevent_socket_new(f->base, fd, opts);
	}
	if (f->bev == NULL) {
		f->ssl = NULL;
		evutil_closesocket(fd);
		fail(f, -1, "out of memory");
		return;
	}
	bufferevent_setcb(f->bev, on_read, on_write, on_event, f);
	bufferevent_setwatermark(f->bev, EV_WRITE, OUT_LOW, 0);
	if (f->write_timeout_ms > 0)
		bufferevent_set_timeouts(f->bev, NULL, &wtv);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	/* Without TLS the stream is ready now; with it, BEV_EVENT_CONNECTED
	 * comes once the handshake is done. */
	if (e->scheme != FWD_TLS)
		on_event(f->bev, BEV_EVENT_CONNECTED, f);
}

static void on_tcp_ready(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	(void)what;

	event_free(f->conn_ev);
	f->conn_ev = NULL;
	f->conn_fd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		evutil_closesocket(fd);
		fail(f, -1, "connect: %s", strerror(err));
		return;
	}
	open_stream(f, fd);
}

/* Connects the socket ourselves, so that a refused or unreachable
 * endpoint is told apart from a TLS failure. */
static void connect_addr(struct fwd *f, const struct sockaddr *sa,
			 socklen_t salen)
{
	evutil_socket_t fd;
	int one = 1;

	f->state = FWD_CONNECTING;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		fail(f, -1, "socket: %s", strerror(errno));
		return;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, sa, salen) == 0) {
		open_stream(f, fd);
		return;
	}
	if (errno != EINPROGRESS && errno != EAGAIN) {
		int e = errno;
		evutil_closesocket(fd);
		fail(f, -1, "connect: %s", strerror(e));
		return;
	}
	f->conn_ev = event_new(f->base, fd, EV_WRITE, on_tcp_ready, f);
	if (f->conn_ev == NULL || event_add(f->conn_ev, NULL) != 0) {
		evutil_closesocket(fd);
		fail(f, -1, "out of memory");
		return;
	}
	f->conn_fd = fd;
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct fwd *f = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* closed meanwhile; f may be gone */
	f->dnsreq = NULL;
	if (result != 0 || res == NULL) {
		fail(f, -1, "cannot resolve %s: %s", f->ep[f->cur].host,
		     evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	connect_addr(f, res->ai_addr, res->ai_addrlen);
	evutil_freeaddrinfo(res);
}

static void start_attempt(struct fwd *f)
{
	const struct fwd_endpoint *e = &f->ep[f->cur];
	struct evutil_addrinfo hints, *res = NULL;

	f->conn_start_ms = ttlog__fwd_now_ms();
	f->magic_seen = 0;
	if (e->scheme == FWD_UNIX) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, e->path, strlen(e->path));
		connect_addr(f, (struct sockaddr *)&sun, sizeof(sun));
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
	if (evutil_getaddrinfo(e->host, e->port, &hints, &res) == 0) {
		connect_addr(f, res->ai_addr, res->ai_addrlen);
		evutil_freeaddrinfo(res);
		return;
	}
	/* A name: the asynchronous resolver (it reads /etc/hosts too). */
	hints.ai_flags = EVUTIL_AI_NUMERICSERV | EVUTIL_AI_ADDRCONFIG;
	if (f->dns == NULL)
		f->dns = evdns_base_new(f->base,
					EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (f->dns == NULL) {
		fail(f, -1, "cannot start the name resolver");
		return;
	}
	f->state = FWD_RESOLVING;
	f->dnsreq = evdns_getaddrinfo(f->dns, e->host, e->port, &hints,
				      on_resolved, f);
	/* NULL also when the answer came at once (callback already run). */
}

void ttlog__fwd_conn_start(struct fwd *f)
{
	f->state = FWD_IDLE;
	start_attempt(f);
}

/* Every 100 ms: timeouts, heartbeats, the spool's interval fsync. */
void ttlog__fwd_tick(struct fwd *f)
{
	uint64_t now = ttlog__fwd_now_ms();

	if (f->state >= FWD_RESOLVING && f->state < FWD_READY &&
	    f->connect_timeout_ms > 0 &&
	    now - f->conn_start_ms >= f->connect_timeout_ms) {
		fail(f, -1, "not connected after %llu ms (%s)",
		     (unsigned long long)f->connect_timeout_ms,
		     ttlog__fwd_state_name(f->state));
		return;
	}
	if (f->state == FWD_READY && f->format == FWD_TTLOG) {
		if (f->slen > 0 && f->ack_timeout_ms > 0 &&
		    now - f->ack_wait_ms >= f->ack_timeout_ms) {
			f->st.ack_timeouts++;
			fail(f, -1, "no acknowledgement for %llu ms",
			     (unsigned long long)(now - f->ack_wait_ms));
			return;
		}
		if (f->peer_heartbeat_ms > 0 &&
		    now - f->last_rx_ms >= 3 * f->peer_heartbeat_ms) {
			fail(f, -1, "the collector has been silent for %llu ms",
			     (unsigned long long)(now - f->last_rx_ms));
			return;
		}
		if (f->heartbeat_ms > 0 &&
		    now - f->last_tx_ms >= f->heartbeat_ms)
			send_heartbeat(f, now);
	}
	if (f->spool != NULL && f->fsync_interval_ms > 0) {
		if (now - f->last_sync_ms >= f->fsync_interval_ms) {
			(void)ttlog__spool_sync(f->spool);
			f->last_sync_ms = now;
		}
	}
}
