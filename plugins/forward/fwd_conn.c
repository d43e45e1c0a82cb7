/*
 * fwd_conn.c - the forward listener's connection attempts: the endpoints
 * in order with back-off, name lookup (libevent's asynchronous resolver,
 * so the writer thread never blocks) and connecting the socket; failures
 * close the connection and plan the next attempt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "forward_internal.h"

const char *const ttlog__fwd_tls_reasons[FWD_TLS_REASONS] = {
	"verify",	  "hostname",
	"expired",	  "unknown_ca",
	"no_client_cert", "protocol_version",
	"not_tls",	  "pin",
	"other",	  "none"};

const char *ttlog__fwd_state_name(int state)
{
	static const char *const names[] = {"idle",	  "resolving",
					    "connecting", "tls_handshake",
					    "hello",	  "ready"};
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
		ttlog__fwd_report(f, TTLOG_LEVEL_WARN, "connection failed",
				  "%s", msg);
		f->last_report_ms = now;
		f->error_reported = 1;
	}
	/* Cut to fit: it is only compared with the next message. */
	snprintf(f->last_error, sizeof(f->last_error), "%.*s",
		 (int)sizeof(f->last_error) - 1, msg);
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
void ttlog__fwd_fail(struct fwd *f, int tls_reason, const char *fmt, ...)
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
/* Connecting                                                           */
/* ------------------------------------------------------------------ */

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
		ttlog__fwd_fail(f, -1, "connect: %s", strerror(err));
		return;
	}
	ttlog__fwd_stream_open(f, fd);
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
		ttlog__fwd_fail(f, -1, "socket: %s", strerror(errno));
		return;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, sa, salen) == 0) {
		ttlog__fwd_stream_open(f, fd);
		return;
	}
	if (errno != EINPROGRESS && errno != EAGAIN) {
		int e = errno;
		evutil_closesocket(fd);
		ttlog__fwd_fail(f, -1, "connect: %s", strerror(e));
		return;
	}
	f->conn_ev = event_new(f->base, fd, EV_WRITE, on_tcp_ready, f);
	if (f->conn_ev == NULL || event_add(f->conn_ev, NULL) != 0) {
		evutil_closesocket(fd);
		ttlog__fwd_fail(f, -1, "out of memory");
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
		ttlog__fwd_fail(f, -1, "cannot resolve %s: %s",
				f->ep[f->cur].host,
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
		ttlog__fwd_fail(f, -1, "cannot start the name resolver");
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
