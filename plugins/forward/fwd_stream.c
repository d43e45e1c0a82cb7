/*
 * fwd_stream.c - the forward listener's connection once its socket is
 * connected: wrapping it in TLS (bufferevent_openssl) and checking the
 * handshake, reading the collector's bytes, the connection's events, and,
 * every 100 ms, the connect, acknowledgement and silence timeouts and our
 * heartbeats.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "forward_internal.h"

static void send_heartbeat(struct fwd *f, uint64_t v)
{
	unsigned char m[TTLOG_WIRE_U64_MSG];

	ttlog__wire_heartbeat_encode(m, v);
	evbuffer_add(bufferevent_get_output(f->bev), m, sizeof(m));
	f->last_tx_ms = ttlog__fwd_now_ms();
}

void ttlog__fwd_became_ready(struct fwd *f)
{
	f->state = FWD_READY;
	f->st.connects++;
	f->backoff_ms = f->reconnect_initial_ms;
	f->failed_round = 0;
	f->last_rx_ms = f->last_tx_ms = f->ack_wait_ms = ttlog__fwd_now_ms();
	if (f->error_reported || f->st.connects > 1) {
		ttlog__fwd_report(f, TTLOG_LEVEL_INFO, "connected",
				  "%s (%llu frames unacknowledged)",
				  f->ep[f->cur].text,
				  (unsigned long long)(f->last_seq - f->acked));
	}
	f->error_reported = 0;
	f->last_error[0] = 0;
	ttlog__fwd_pump(f);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                          */
/* ------------------------------------------------------------------ */

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
			ttlog__fwd_fail(
				f, -1,
				"the peer does not speak the ttlog protocol "
				"(first bytes %02x %02x %02x %02x)",
				mg[0], mg[1], mg[2], mg[3]);
			return;
		}
		f->magic_seen = 1;
	}
	for (;;) {
		size_t avail = evbuffer_get_length(in), used;
		size_t want =
			avail < FWD_OUR_MAX_FRAME ? avail : FWD_OUR_MAX_FRAME;
		const unsigned char *p;
		int rc;
		if (avail == 0)
			return;
		p = evbuffer_pullup(in, (ev_ssize_t)want);
		rc = ttlog__wire_next(p, want, FWD_OUR_MAX_FRAME, &m, &used,
				      err, sizeof(err));
		if (rc == 0)
			return;
		if (rc < 0) {
			f->st.protocol_errors++;
			ttlog__fwd_fail(f, -1, "%s", err);
			return;
		}
		if (ttlog__fwd_native_message(f, &m) != 0)
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

/* The receiver ended a TLS connection after our handshake finished and
 * before its hello, without an alert we could read. Over TLS 1.3 that is
 * how a receiver refuses a client's certificate, or its lack of one: the
 * client has finished its handshake when the refusal comes, and the
 * alert can be lost (a reset discards what was not read yet), so half
 * the refusals looked like a plain close. Says which cause is likely. */
static void fail_before_hello(struct fwd *f, const char *what)
{
	if (SSL_get_certificate(f->ssl) == NULL)
		ttlog__fwd_fail(f, -1,
				"the receiver %s before its hello (over TLS "
				"this is how one that requires a client "
				"certificate refuses a sender without: set "
				"tls.cert and tls.key)",
				what);
	else
		ttlog__fwd_fail(f, -1,
				"the receiver %s before its hello (over TLS "
				"this is how one refuses a client certificate "
				"it does not trust: see its log)",
				what);
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
			ttlog__fwd_fail(f, 7, "%s", why);
			return;
		}
		if (f->format == FWD_TTLOG) {
			ttlog__fwd_native_send_hello(f);
		} else {
			ttlog__fwd_became_ready(f);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		ttlog__fwd_fail(f, -1, "nothing could be written for %llu ms",
				(unsigned long long)f->write_timeout_ms);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();
		if (f->ssl != NULL) {
			int r = tls_error(f, why, sizeof(why));
			if (r != 8 || why[0] != 0) {
				ttlog__fwd_fail(f,
						f->state < FWD_READY ? r : -1,
						"TLS: %s", why);
				return;
			}
			if (f->state == FWD_HELLO && err != 0) {
				snprintf(why, sizeof(why),
					 "reset the connection (%s)",
					 evutil_socket_error_to_string(err));
				fail_before_hello(f, why);
				return;
			}
		}
		ttlog__fwd_fail(f, -1, "%s",
				err ? evutil_socket_error_to_string(err)
				    : "connection error");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (f->state < FWD_READY && f->ssl != NULL) {
			int r = tls_error(f, why, sizeof(why));
			if (r == 8 && f->state == FWD_HELLO) {
				fail_before_hello(f, "closed the connection");
				return;
			}
			ttlog__fwd_fail(
				f, r,
				"TLS: the peer closed during the handshake%s%s",
				why[0] ? ": " : "", why);
			return;
		}
		ttlog__fwd_fail(f, -1, "the peer closed the connection");
	}
}

/* ------------------------------------------------------------------ */
/* Opening the stream                                                 */
/* ------------------------------------------------------------------ */

/* The TCP (or unix) connection is up: wraps it in TLS or not. */
void ttlog__fwd_stream_open(struct fwd *f, evutil_socket_t fd)
{
	const struct fwd_endpoint *e = &f->ep[f->cur];
	struct timeval wtv = {(time_t)(f->write_timeout_ms / 1000),
			      (suseconds_t)(f->write_timeout_ms % 1000) * 1000};
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	char err[256];

	if (e->scheme == FWD_TLS) {
		const char *name = f->server_name ? f->server_name : e->host;
		f->state = FWD_TLS_HANDSHAKE;
		f->ssl = ttlog__tls_client_ssl(f->ctx, &f->tls, name, err,
					       sizeof(err));
		if (f->ssl == NULL) {
			evutil_closesocket(fd);
			ttlog__fwd_fail(f, -1, "TLS: %s", err);
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
		ttlog__fwd_fail(f, -1, "out of memory");
		return;
	}
	bufferevent_setcb(f->bev, on_read, on_write, on_event, f);
	bufferevent_setwatermark(f->bev, EV_WRITE, FWD_OUT_LOW, 0);
	if (f->write_timeout_ms > 0)
		bufferevent_set_timeouts(f->bev, NULL, &wtv);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	/* Without TLS the stream is ready now; with it, BEV_EVENT_CONNECTED
	 * comes once the handshake is done. */
	if (e->scheme != FWD_TLS)
		on_event(f->bev, BEV_EVENT_CONNECTED, f);
}

/* What a connection that is not ready yet waits for, for a person. */
static const char *pending_step(int state)
{
	switch (state) {
	case FWD_RESOLVING:
		return "the name lookup did not finish";
	case FWD_CONNECTING:
		return "the TCP connect did not finish";
	case FWD_TLS_HANDSHAKE:
		return "TCP is up; the TLS handshake did not finish";
	case FWD_HELLO:
		return "connected; the receiver's hello did not come";
	default:
		return ttlog__fwd_state_name(state);
	}
}

/* Every 100 ms: timeouts, heartbeats, the spool's interval fsync. */
void ttlog__fwd_tick(struct fwd *f)
{
	uint64_t now = ttlog__fwd_now_ms();

	if (f->state >= FWD_RESOLVING && f->state < FWD_READY &&
	    f->connect_timeout_ms > 0 &&
	    now - f->conn_start_ms >= f->connect_timeout_ms) {
		ttlog__fwd_fail(f, -1, "not connected after %llu ms (%s)",
				(unsigned long long)f->connect_timeout_ms,
				pending_step(f->state));
		return;
	}
	if (f->state == FWD_READY && f->format == FWD_TTLOG) {
		if (f->slen > 0 && f->ack_timeout_ms > 0 &&
		    now - f->ack_wait_ms >= f->ack_timeout_ms) {
			f->st.ack_timeouts++;
			ttlog__fwd_fail(
				f, -1, "no acknowledgement for %llu ms",
				(unsigned long long)(now - f->ack_wait_ms));
			return;
		}
		if (f->peer_heartbeat_ms > 0 &&
		    now - f->last_rx_ms >= 3 * f->peer_heartbeat_ms) {
			ttlog__fwd_fail(
				f, -1,
				"the collector has been silent for %llu ms",
				(unsigned long long)(now - f->last_rx_ms));
			return;
		}
		if (f->heartbeat_ms > 0 &&
		    now - f->last_tx_ms >= f->heartbeat_ms)
			send_heartbeat(f, now);
	}
	/* Text formats: what the collector's TCP acknowledged since the
	 * last write is confirmed here too, so that durable does not wait
	 * for the next batch when the stream goes quiet. */
	if (f->state == FWD_READY && f->format != FWD_TTLOG && f->dlen > 0)
		ttlog__fwd_text_confirm(f);
	if (f->spool != NULL && f->fsync_interval_ms > 0) {
		if (now - f->last_sync_ms >= f->fsync_interval_ms) {
			(void)ttlog__spool_sync(f->spool);
			f->last_sync_ms = now;
		}
	}
}
