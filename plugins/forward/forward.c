/*
 * forward.c - the forward listener: ships batches to remote collectors.
 *
 *   listeners:
 *     - name: upstream
 *       type: forward
 *       endpoints: tls://collector-a:5171, tls://collector-b:5171
 *       format: ttlog            # ttlog | syslog | jsonl
 *       tls: {ca_file: /etc/ttlog/ca.pem}
 *       spool: {dir: /var/lib/ttlog/spool, max_bytes: 1GiB}
 *
 * With format ttlog (the native protocol, docs/native-protocol.md) every
 * batch becomes one frame with a sequence number. Frames stay in memory
 * (up to window.max_bytes) until the collector acknowledges them, and are
 * sent again after a reconnect. With a spool, each frame is also appended
 * to disk before consume() says OK, so a restart, even after SIGKILL,
 * resends everything not acknowledged; past the memory cap frames are read
 * back from the spool. Without a spool, a full window answers RETRY and
 * the writer's queue policy applies (counted).
 *
 * syslog and jsonl have no acknowledgements: what the kernel has taken is
 * considered sent; bytes still in our buffers when a connection breaks are
 * sent again, whole messages only, on the next one.
 *
 * This file is the plugin's glue: the option table, create, start,
 * consume, flush, draining, destroy and the listener table. The rest is in
 * fwd_native.c (the native protocol), fwd_text.c (syslog and JSON lines),
 * fwd_conn.c (endpoints, connecting, back-off), fwd_stream.c (TLS, reading,
 * heartbeats, timeouts) and fwd_metrics.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "forward_internal.h"
#include "spool_options.h"

#define OPT(field) offsetof(struct fwd_options, field)

static const struct ttlog_option_value fwd_formats[] = {{"ttlog", FWD_TTLOG},
							{"syslog", FWD_SYSLOG},
							{"jsonl", FWD_JSONL},
							{NULL, 0}};
static const struct ttlog_option_spec fwd_option_table[] = {
	{TTLOG_OPTION_STRING, "endpoints", NULL, OPT(endpoints),
	 "collectors, tried in order: tls://HOST:PORT (the default scheme), "
	 "tcp://HOST:PORT or unix:///PATH, separated by commas",
	 NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_ENUM_VALUES, "format", "ttlog", OPT(format),
	 "ttlog: the native protocol, acknowledged, resent after failures; "
	 "syslog: RFC 5424 with fields as structured data, octet-counted; "
	 "jsonl: one JSON object per line (syslog and jsonl cannot be "
	 "acknowledged)",
	 TTLOG_OPTION_VALUES(fwd_formats), 0},
	{TTLOG_OPTION_STRING, "service", "", OPT(service),
	 "service name announced in the native protocol's hello", NULL, 0},
	{TTLOG_OPTION_DURATION, "connect_timeout", "10s",
	 OPT(connect_timeout_ms),
	 "connecting, the TLS handshake and the hello must finish within this",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "write_timeout", "30s", OPT(write_timeout_ms),
	 "a connection that takes no bytes for this long is closed", NULL, 0},
	{TTLOG_OPTION_DURATION, "ack_timeout", "30s", OPT(ack_timeout_ms),
	 "ttlog: a connection that acknowledges nothing for this long while "
	 "frames wait is closed and the frames are sent elsewhere",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "heartbeat", "10s", OPT(heartbeat_ms),
	 "ttlog: a heartbeat is sent after this long without sending; a peer "
	 "silent for three of its intervals is considered gone",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "drain_timeout", "5s", OPT(drain_timeout_ms),
	 "at shutdown, how long to wait for acknowledgements (or for text to "
	 "be written) before giving up; the spool keeps what is left",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "reconnect.initial", "200ms",
	 OPT(reconnect_initial_ms),
	 "first wait after every endpoint failed; doubles on each further "
	 "round, with jitter",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "reconnect.max", "30s", OPT(reconnect_max_ms),
	 "longest wait between rounds of connection attempts", NULL, 0},
	{TTLOG_OPTION_SIZE, "window.max_bytes", "64MiB", OPT(window_bytes),
	 "memory for data not yet acknowledged (ttlog) or not yet written "
	 "(syslog, jsonl); past it frames stay in the spool only, or, "
	 "without one, the listener pushes back",
	 NULL, 0},
	{TTLOG_OPTION_BOOL, "compress", "true", OPT(compress),
	 "ttlog: compress frames with LZ4", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ca_file", "", OPT(tls_ca_file),
	 "PEM file of CA certificates to verify collectors with (default: "
	 "the system's trust store)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ca_dir", "", OPT(tls_ca_dir),
	 "directory of hashed CA certificates", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.cert", "", OPT(tls_cert),
	 "client certificate chain (PEM), for collectors that require one",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.key", "", OPT(tls_key),
	 "private key of tls.cert (PEM)", NULL, 0},
	TTLOG_TLS_MIN_VERSION_OPTION(
		OPT(tls_min_version),
		"oldest TLS version accepted (1.3 is preferred when both sides "
		"have it)"),
	{TTLOG_OPTION_STRING, "tls.ciphers", "", OPT(tls_ciphers),
	 "OpenSSL cipher list for TLS 1.2", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ciphersuites", "", OPT(tls_ciphersuites),
	 "OpenSSL cipher suites for TLS 1.3", NULL, 0},
	{TTLOG_OPTION_BOOL, "tls.verify", "true", OPT(tls_verify),
	 "verify the collector's certificate chain and name; turning it off "
	 "is logged as a warning",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.server_name", "", OPT(tls_server_name),
	 "name to send (SNI) and verify instead of the endpoint's host", NULL,
	 0},
	{TTLOG_OPTION_STRING, "tls.pin_sha256", "", OPT(tls_pins),
	 "SHA-256 fingerprints (hex, ':' allowed) of accepted collector "
	 "certificates, separated by commas; checked in addition to "
	 "verification",
	 NULL, 0},
	TTLOG_SPOOL_OPTION_SPECS(struct fwd_options,
				 "ttlog: directory of the disk spool (empty: "
				 "memory only); frames are written there "
				 "before they are taken",
				 spool_dir, spool_max_bytes,
				 spool_segment_bytes, spool_fsync,
				 spool_fsync_interval_ms, spool_overflow),
	{TTLOG_OPTION_STRING, "syslog.hostname", "", OPT(syslog_hostname),
	 "syslog: HOSTNAME (default: this host's name); messages relayed "
	 "from a syslog input keep their own, as they keep APP-NAME, PROCID, "
	 "MSGID and PRI",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "syslog.app_name", "ttlog", OPT(syslog_app_name),
	 "syslog: APP-NAME", NULL, 0},
	{TTLOG_OPTION_STRING, "syslog.sd_id", "fields@32473", OPT(syslog_sd_id),
	 "syslog: SD-ID of the element carrying the fields", NULL, 0},
	{TTLOG_OPTION_INT, "syslog.facility", "1", OPT(syslog_facility),
	 "syslog: facility number 0..23 (1: user)", NULL, 0},
	{0},
};

uint64_t ttlog__fwd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ttlog__fwd_report(struct fwd *f, int level, const char *what,
		       const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	f->host->log(f->host, level, what, "%s", detail);
}

/* ------------------------------------------------------------------ */
/* Shared helpers                                                     */
/* ------------------------------------------------------------------ */

void *ttlog__fwd_ring_grow(void *items, size_t elem, size_t *head, size_t len,
			   size_t *cap)
{
	size_t ncap = *cap ? 2 * *cap : 64;
	unsigned char *n = malloc(ncap * elem);
	const unsigned char *o = items;

	if (n == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		memcpy(n + i * elem, o + ((*head + i) % *cap) * elem, elem);
	free(items);
	*cap = ncap;
	*head = 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* consume                                                              */
/* ------------------------------------------------------------------ */

static int fwd_consume(void *state, struct ttlog_batch *b)
{
	struct fwd *f = state;
	int rc = TTLOG_LISTENER_OK;

	if (ttlog_batch_count(b) == 0 && !f->defer)
		return TTLOG_LISTENER_OK;
	if (f->spool_waiting)
		return TTLOG_LISTENER_RETRY; /* the spool is not ours yet */
	if (ttlog__fwd_durable_reserve(f) != 0)
		return TTLOG_LISTENER_RETRY; /* out of memory: later */
	if (ttlog_batch_count(b) > 0)
		rc = f->format == FWD_TTLOG ? ttlog__fwd_native_consume(f, b)
					    : ttlog__fwd_text_consume(f, b);
	if (rc == TTLOG_LISTENER_OK)
		ttlog__fwd_durable_took(f, ttlog_batch_seq(b));
	return rc;
}

/* ------------------------------------------------------------------ */
/* create, start, destroy                                               */
/* ------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s != NULL && s[0] != 0 ? strdup(s) : NULL;
}

/* Tells the host how many taken events will never be delivered. */
static void fwd_lost(struct fwd *f, size_t events)
{
	if (events > 0 && TTLOG_HOST_HAS(f->host, lost))
		f->host->lost(f->host, events,
			      f->format == FWD_TTLOG
				      ? "not acknowledged by the collector, "
					"no spool"
				      : "not written to the collector");
}

static void fwd_destroy(void *state)
{
	struct fwd *f = state;

	if (f == NULL)
		return;
	/* Destroyed before draining gave up (a reload removed the listener,
	 * or the agent's shutdown_timeout came first): the frames no
	 * collector acknowledged and no spool keeps are lost; said here. */
	if (f->format == FWD_TTLOG && f->spool == NULL && !f->draining_done &&
	    f->wlen > 0) {
		size_t left = 0;
		for (size_t i = 0; i < f->wlen; i++)
			left += f->win[(f->whead + i) % f->wcap].count;
		f->st.dropped_shutdown += left;
		fwd_lost(f, left);
	} else if (f->format != FWD_TTLOG && !f->draining_done && f->blen > 0) {
		/* Messages not known to be written (one bound each). */
		f->st.dropped_shutdown += f->blen;
		fwd_lost(f, f->blen);
	}
	ttlog__fwd_conn_close(f, NULL);
	while (f->wlen > 0)
		ttlog__fwd_native_win_pop(f);
	free(f->win);
	free(f->sentq);
	free(f->bounds);
	free(f->dur);
	if (f->pend != NULL)
		evbuffer_free(f->pend);
	ttlog__fmt_buf_free(&f->fbuf);
	if (f->retry_ev != NULL)
		event_free(f->retry_ev);
	if (f->tick_ev != NULL)
		event_free(f->tick_ev);
	if (f->dns != NULL)
		evdns_base_free(f->dns, 1);
	ttlog__fwd_spool_close(f);
	if (f->ctx != NULL)
		SSL_CTX_free(f->ctx);
	for (size_t i = 0; i < f->nep; i++) {
		free(f->ep[i].host);
		free(f->ep[i].path);
		free(f->ep[i].text);
	}
	free(f->ep);
	for (size_t i = 0; i < 8; i++)
		free(f->tls_strings[i]);
	for (size_t i = 0; i < 3; i++)
		free(f->sfmt_strings[i]);
	free(f->server_name);
	free(f->service);
	free(f);
}

static int split_pins(struct fwd *f, const char *list, char *err, size_t errlen)
{
	char *copy, *save = NULL, *tok;

	if (list == NULL || list[0] == 0)
		return 0;
	copy = strdup(list);
	if (copy == NULL)
		return -1;
	f->tls_strings[7] = copy;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (f->tls.npins == TTLOG_TLS_MAX_PINS) {
			snprintf(err, errlen,
				 "tls.pin_sha256: more than %d fingerprints",
				 TTLOG_TLS_MAX_PINS);
			return -1;
		}
		f->tls.pins[f->tls.npins++] = tok;
	}
	return 0;
}

static int fwd_create(const void *options, const struct ttlog_host *host,
		      void **state)
{
	const struct fwd_options *o = options;
	struct fwd *f = calloc(1, sizeof(*f));
	char err[512] = "";
	int any_tls = 0;

	if (f == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot create",
			  "out of memory");
		return TTLOG_ENOMEM;
	}
	f->host = host;
	f->format = o->format;
	f->service = strdup(o->service && o->service[0] ? o->service : "ttlog");
	f->connect_timeout_ms = o->connect_timeout_ms;
	f->write_timeout_ms = o->write_timeout_ms;
	f->ack_timeout_ms = o->ack_timeout_ms;
	f->heartbeat_ms = o->heartbeat_ms;
	f->drain_timeout_ms = o->drain_timeout_ms;
	f->reconnect_initial_ms =
		o->reconnect_initial_ms ? o->reconnect_initial_ms : 1;
	f->reconnect_max_ms = o->reconnect_max_ms < f->reconnect_initial_ms
				      ? f->reconnect_initial_ms
				      : o->reconnect_max_ms;
	f->backoff_ms = f->reconnect_initial_ms;
	f->window_bytes = o->window_bytes ? o->window_bytes : 1;
	f->compress = o->compress;
	f->fsync_interval_ms = o->spool_fsync == TTLOG_SPOOL_FSYNC_INTERVAL
				       ? o->spool_fsync_interval_ms
				       : 0;
	if (f->service == NULL)
		goto nomem;
	if (ttlog__fwd_parse_endpoints(f, o->endpoints, err, sizeof(err)) != 0)
		goto fail;
	for (size_t i = 0; i < f->nep; i++)
		any_tls |= f->ep[i].scheme == FWD_TLS;

	/* TLS */
	f->tls.ca_file = f->tls_strings[0] = dup_or_null(o->tls_ca_file);
	f->tls.ca_dir = f->tls_strings[1] = dup_or_null(o->tls_ca_dir);
	f->tls.cert = f->tls_strings[2] = dup_or_null(o->tls_cert);
	f->tls.key = f->tls_strings[3] = dup_or_null(o->tls_key);
	f->tls.ciphers = f->tls_strings[4] = dup_or_null(o->tls_ciphers);
	f->tls.ciphersuites = f->tls_strings[5] =
		dup_or_null(o->tls_ciphersuites);
	f->tls.min_version = o->tls_min_version;
	f->tls.verify = o->tls_verify;
	f->server_name = dup_or_null(o->tls_server_name);
	if ((f->tls.cert == NULL) != (f->tls.key == NULL)) {
		snprintf(err, sizeof(err),
			 "tls.cert and tls.key: set both or neither");
		goto fail;
	}
	if (split_pins(f, o->tls_pins, err, sizeof(err)) != 0)
		goto fail;
	if (any_tls) {
		int n = ttlog__tls_parse_pins(&f->tls, f->pins, err,
					      sizeof(err));
		if (n < 0)
			goto fail;
		f->npins = (size_t)n;
		f->ctx = ttlog__tls_client_ctx(&f->tls, err, sizeof(err));
		if (f->ctx == NULL)
			goto fail;
	}

	/* syslog */
	if (o->syslog_facility < 0 || o->syslog_facility > 23) {
		snprintf(err, sizeof(err),
			 "syslog.facility: %lld is not in 0..23",
			 (long long)o->syslog_facility);
		goto fail;
	}
	f->sfmt.facility = (int)o->syslog_facility;
	f->sfmt.hostname = f->sfmt_strings[0] = dup_or_null(o->syslog_hostname);
	f->sfmt.app_name = f->sfmt_strings[1] = dup_or_null(o->syslog_app_name);
	f->sfmt.sd_id = f->sfmt_strings[2] = dup_or_null(o->syslog_sd_id);
	if (f->sfmt.hostname == NULL) {
		if (gethostname(f->hostname, sizeof(f->hostname) - 1) != 0)
			strcpy(f->hostname, "-");
		f->sfmt.hostname = f->hostname;
	}
	snprintf(f->procid, sizeof(f->procid), "%d", (int)getpid());
	f->sfmt.procid = f->procid;

	/* the native protocol's identity, and the spool */
	if (o->spool_dir != NULL && o->spool_dir[0] != 0) {
		struct ttlog__spool_opts so = {
			.dir = o->spool_dir,
			.max_bytes = o->spool_max_bytes,
			.segment_bytes = o->spool_segment_bytes,
			.fsync = o->spool_fsync,
			.overflow = o->spool_overflow,
		};
		if (f->format != FWD_TTLOG) {
			snprintf(err, sizeof(err),
				 "spool.dir: only format ttlog has a spool "
				 "(syslog and jsonl are never acknowledged)");
			goto fail;
		}
		if (o->spool_max_bytes <= o->spool_segment_bytes) {
			snprintf(err, sizeof(err),
				 "spool.max_bytes (%llu) must be larger than "
				 "spool.segment_bytes (%llu)",
				 (unsigned long long)o->spool_max_bytes,
				 (unsigned long long)o->spool_segment_bytes);
			goto fail;
		}
		if (ttlog__fwd_spool_open(f, &so, err, sizeof(err)) != 0)
			goto fail;
	} else if (getrandom(f->id, sizeof(f->id), 0) !=
		   (ssize_t)sizeof(f->id)) {
		snprintf(err, sizeof(err), "getrandom: %s", strerror(errno));
		goto fail;
	} else {
		f->next_send = 1;
		f->spool_cursor = UINT64_MAX;
	}
	f->conn_fd = -1;
	f->pend = evbuffer_new();
	if (f->pend == NULL)
		goto nomem;
	ttlog__fwd_durable_defer(f);
	if (any_tls && !f->tls.verify)
		ttlog__fwd_report(f, TTLOG_LEVEL_WARN, "insecure",
				  "WARNING: tls.verify is off: the collector's "
				  "certificate is not checked, anyone on the "
				  "path can read and change the logs");
	*state = f;
	return 0;
nomem:
	snprintf(err, sizeof(err), "out of memory");
fail:
	host->log(host, TTLOG_LEVEL_ERROR, "refused", "%s", err);
	fwd_destroy(f);
	return TTLOG_ECONFIG;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ttlog__fwd_tick(arg);
}

static int fwd_start(void *state, const struct ttlog_host *host)
{
	struct fwd *f = state;
	struct timeval tv = {0, 100000};

	/* Bufferevents and OpenSSL: the one listener that takes the
	 * escape hatch (it links the libevent libttlog links). */
	f->base = host->event_base(host);
	/* flush() syncs the spool, which spool.fsync sets the pace of. */
	if (TTLOG_HOST_HAS(host, flush_every))
		host->flush_every(host, 0);
	f->tick_ev = f->base != NULL
			     ? event_new(f->base, -1, EV_PERSIST, on_tick, f)
			     : NULL;
	if (f->tick_ev == NULL || event_add(f->tick_ev, &tv) != 0) {
		ttlog__fwd_report(f, TTLOG_LEVEL_ERROR, "cannot start",
				  "no memory for the timer");
		return TTLOG_ENOMEM;
	}
	/* An instance that replaces another one of this listener connects
	 * once that one is gone (fwd_spool.c). */
	if (f->spool_waiting)
		return 0;
	if (f->spool != NULL && f->last_seq > f->acked)
		ttlog__fwd_report(f, TTLOG_LEVEL_INFO, "resending",
				  "%llu frames kept in the spool to %s",
				  (unsigned long long)(f->last_seq - f->acked),
				  f->ep[0].text);
	ttlog__fwd_conn_start(f);
	return 0;
}

static int fwd_flush(void *state)
{
	struct fwd *f = state;

	if (f->spool != NULL)
		(void)ttlog__spool_sync(f->spool);
	return 0;
}

static size_t text_pending(struct fwd *f)
{
	ttlog__fwd_text_confirm(f);
	return evbuffer_get_length(f->pend);
}

static int fwd_draining(void *state)
{
	struct fwd *f = state;
	uint64_t now = ttlog__fwd_now_ms();
	size_t left_events = 0;
	int busy;

	/* Replaced by a reload: the next instance takes the spool, and with
	 * it every frame not acknowledged, as soon as this one is gone. */
	if (f->draining_done || f->spool_waiting ||
	    ttlog__fwd_spool_handing_over(f))
		return 0;
	busy = f->format == FWD_TTLOG ? f->acked < f->last_seq
				      : text_pending(f) > 0;
	if (!busy) {
		f->draining_done = 1;
		return 0;
	}
	if (f->drain_deadline_ms == 0)
		f->drain_deadline_ms = now + f->drain_timeout_ms;
	if (now < f->drain_deadline_ms)
		return 1;
	/* Giving up: say what is left and where it is. */
	f->draining_done = 1;
	if (f->format == FWD_TTLOG) {
		for (size_t i = 0; i < f->wlen; i++)
			left_events += f->win[(f->whead + i) % f->wcap].count;
		if (f->spool != NULL) {
			/* They stay in the spool: said when it is closed
			 * (fwd_spool.c), after a reload as at shutdown. */
		} else {
			f->st.dropped_shutdown += left_events;
			fwd_lost(f, left_events);
			ttlog__fwd_report(
				f, TTLOG_LEVEL_ERROR, "unacknowledged",
				"shutting down with %zu events (%llu frames) "
				"not acknowledged by %s: lost (spool.dir "
				"keeps them across restarts)",
				left_events,
				(unsigned long long)(f->last_seq - f->acked),
				f->ep[f->cur].text);
		}
	} else {
		ttlog__fwd_report(f, TTLOG_LEVEL_ERROR, "unwritten",
				  "shutting down with %zu bytes not written "
				  "to %s: lost",
				  text_pending(f), f->ep[f->cur].text);
		/* One bound per message not known to be written. */
		f->st.dropped_shutdown += f->blen;
		fwd_lost(f, f->blen);
	}
	return 0;
}

static const struct ttlog_listener_api fwd_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "forward",
	.description = "ships batches to collectors over TLS, TCP or unix "
		       "sockets: the native protocol (acknowledged, with a "
		       "disk spool), RFC 5424 syslog or JSON lines",
	.options = fwd_option_table,
	.options_size = sizeof(struct fwd_options),
	.consume = fwd_consume,
	.flush = fwd_flush,
	.destroy = fwd_destroy,
	.metrics = ttlog__fwd_metrics,
	.draining = fwd_draining,
	.create2 = fwd_create,
	.start2 = fwd_start,
	.check = ttlog__fwd_check,
};

TTLOG_LISTENER_ENTRY(fwd_api)
