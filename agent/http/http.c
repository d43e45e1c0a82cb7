/*
 * http.c - the agent's HTTP endpoint: GET (and HEAD) /health and
 * /metrics, on the writer's event loop. Everything here runs on the
 * writer thread, so the view can be read without locks.
 *
 * A small server of its own rather than evhttp: evhttp (libevent 2.1)
 * accepts on its own listener, with no cap on connections, no way to
 * refuse one before it is set up and no accept error callback (out of
 * descriptors, it logs a line per try and spins). Here the listener is
 * ours: connections are capped in total and per peer address, and accept
 * errors go through the accept guard (agent/net/accept_guard.h). The
 * protocol needed is small: one request per connection, answered with
 * `Connection: close`; a request head of at most HTTP_MAX_HEADERS bytes,
 * no body, all within HTTP_TIMEOUT_S.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <ttlog/ttlog.h>

#include "accept_guard.h"
#include "addr.h"
#include "agent_internal.h"
#include "ratelimit.h"
#include "buf.h"
#include "peer_table.h"

/* Requests are a line and a few headers; anything bigger is not a
 * scraper, and a slow peer must not hold a connection for long: the
 * whole request and its answer get HTTP_TIMEOUT_S. */
#define HTTP_MAX_HEADERS 8192
#define HTTP_TIMEOUT_S 10
/* The listen(2) backlog. */
#define HTTP_BACKLOG 64

struct http_conn {
	struct ttlog__http *h;
	struct bufferevent *bev;
	struct event *deadline;
	struct http_conn *prev, *next;
	struct ttlog__peer_key key;
};

struct ttlog__http {
	struct event_base *base;
	struct evconnlistener *lis;
	struct ttlog__accept_guard guard;
	struct ttlog__peer_table peers;
	struct http_conn *conns;
	int64_t max_conns, max_per_peer; /* <= 0: no limit */
	struct ttlog__http_stats st;
	const struct ttlog__agent_view *view;
	struct ttlog__ratelimit warn_rl; /* one warning a second */
	char what[80]; /* "http 127.0.0.1:2020", for the log */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* Wall time: start_time_ns is exported as a Unix timestamp, and the
	 * agent keeps listener_failing_since_ns on the same clock. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- connections ---- */

static void conn_free(struct http_conn *c)
{
	struct ttlog__http *h = c->h;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ttlog__peer_table_del(&h->peers, &c->key);
	h->st.connections--;
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg); /* too slow to ask, or to take the answer */
}

static void on_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg); /* the answer is out: Connection: close */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg); /* EOF or an error before the answer was out */
}

/* Queues the answer and closes the connection once it is written. A HEAD
 * gets the headers of the GET and no body. */
static void reply(struct http_conn *c, int head, int code, const char *reason,
		  const char *type, const char *extra, const void *body,
		  size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	/* One request per connection keeps the server stateless between
	 * scrapes; scrapers reconnect cheaply. */
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			    "Cache-Control: no-store\r\nConnection: close\r\n"
			    "%sContent-Length: %zu\r\n\r\n",
			    code, reason, type, extra, len);
	if (!head && len > 0)
		evbuffer_add(out, body, len);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, on_written, on_event, c);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void reply_text(struct http_conn *c, int head, int code,
		       const char *reason, const char *text)
{
	reply(c, head, code, reason, "text/plain; charset=utf-8", "", text,
	      strlen(text));
}

/* The value of header `name` in the head (lines after the first), or
 * NULL; *len is its length without surrounding blanks. */
static const char *header(const char *head, size_t n, const char *name,
			  size_t *len)
{
	size_t k = strlen(name);
	const char *p = memchr(head, '\n', n), *end = head + n;

	while (p != NULL && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > k && p[k] == ':' &&
		    strncasecmp(p, name, k) == 0) {
			const char *v = p + k + 1, *e = eol;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v &&
			       (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*len = (size_t)(e - v);
			return v;
		}
		p = eol;
	}
	return NULL;
}

/* Answers the request whose head (request line and headers) is the
 * first n bytes of p. */
static void serve(struct http_conn *c, const char *p, size_t n)
{
	const struct ttlog__agent_view *view = c->h->view;
	const char *eol = memchr(p, '\n', n), *sp1, *sp2, *v;
	char path[256];
	struct ttlog__buf body = {0};
	size_t line = eol != NULL ? (size_t)(eol - p) : n, plen, vlen;
	int metrics, code, get, head;

	/* METHOD SP TARGET SP HTTP/1.x, within the first line. */
	sp1 = memchr(p, ' ', line);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(p + line - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1 ||
	    sp1[1] != '/' || (size_t)(p + line - sp2 - 1) < 8 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		reply_text(c, 0, 400, "Bad Request", "bad request\n");
		return;
	}
	get = sp1 - p == 3 && memcmp(p, "GET", 3) == 0;
	head = sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0;
	/* A query string does not change the route. */
	plen = strcspn(sp1 + 1, "? ");
	if (plen >= sizeof(path))
		plen = sizeof(path) - 1;
	memcpy(path, sp1 + 1, plen);
	path[plen] = 0;
	/* No request here has a body. */
	if ((v = header(p, n, "Transfer-Encoding", &vlen)) != NULL ||
	    ((v = header(p, n, "Content-Length", &vlen)) != NULL &&
	     !(vlen == 1 && v[0] == '0'))) {
		reply_text(c, head, 413, "Payload Too Large",
			   "no request body is accepted\n");
		return;
	}
	metrics = strcmp(path, "/metrics") == 0;
	if (!metrics && strcmp(path, "/health") != 0) {
		reply_text(c, head, 404, "Not Found", "not found\n");
		return;
	}
	if (!get && !head) {
		reply(c, 0, 405, "Method Not Allowed",
		      "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
		      "method not allowed\n", 19);
		return;
	}
	if (metrics) {
		code = ttlog__metrics_render(view, &body) == 0 ? 200 : 500;
		if (code == 200)
			reply(c, head, 200, "OK", "text/plain; version=0.0.4",
			      "", body.p, body.len);
	} else {
		code = ttlog__health_render(view, now_ns(), &body);
		if (code == 200 || code == 503)
			reply(c, head, code,
			      code == 200 ? "OK" : "Service Unavailable",
			      "application/json", "", body.p, body.len);
	}
	if (code == 500)
		reply_text(c, head, 500, "Internal Server Error",
			   "out of memory\n");
	ttlog__buf_free(&body);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	size_t n;

	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0) {
		/* The read watermark stops reading at this size. */
		if (evbuffer_get_length(in) >= HTTP_MAX_HEADERS)
			reply_text(c, 0, 431, "Request Header Fields Too Large",
				   "request head too large\n");
		return;
	}
	n = (size_t)end.pos;
	serve(c, (const char *)evbuffer_pullup(in, (ev_ssize_t)n), n);
}

/* Logs a refused connection, at most once a second (the rest are
 * counted and reported with the next line). */
static void warn_refused(struct ttlog__http *h, const struct sockaddr *sa,
			 const char *why)
{
	char host[INET6_ADDRSTRLEN] = "unix";
	uint64_t suppressed;

	if (!ttlog__ratelimit_pass(&h->warn_rl, now_ns(), 1000000000u,
				   &suppressed))
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)(const void *)sa)
				   ->sin_addr,
			  host, sizeof(host));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)sa)
				   ->sin6_addr,
			  host, sizeof(host));
	TTLOG_WARN("http refused a connection",
		   TTLOG_KV("socket", (const char *)h->what),
		   TTLOG_KV("peer", (const char *)host),
		   TTLOG_KV("reason", why), TTLOG_KV("suppressed", suppressed));
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct ttlog__http *h = arg;
	struct timeval tv = {HTTP_TIMEOUT_S, 0};
	struct ttlog__peer_key key;
	struct http_conn *c;
	char why[128];
	int rc;
	(void)l;
	(void)salen;

	ttlog__accept_guard_ok(&h->guard);
	/* Refused at once: the peer learns now, rather than waiting in the
	 * backlog (docs/network-exposure.md). */
	if (h->max_conns > 0 && h->st.connections >= (uint64_t)h->max_conns) {
		close(fd);
		h->st.refused_total++;
		snprintf(why, sizeof(why),
			 "too many connections (http.max_connections %" PRId64
			 ")",
			 h->max_conns);
		warn_refused(h, sa, why);
		return;
	}
	ttlog__peer_key_from(sa, &key);
	rc = ttlog__peer_table_add(&h->peers, &key, h->max_per_peer);
	if (rc != 0) {
		close(fd);
		h->st.refused_per_peer += rc == 1;
		snprintf(why, sizeof(why),
			 rc == 1 ? "too many connections from this address "
				   "(http.max_connections_per_peer %" PRId64 ")"
				 : "out of memory",
			 h->max_per_peer);
		warn_refused(h, sa, why);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->bev = bufferevent_socket_new(h->base, fd,
						BEV_OPT_CLOSE_ON_FREE);
	if (c != NULL && c->bev != NULL)
		c->deadline = evtimer_new(h->base, on_deadline, c);
	if (c == NULL || c->bev == NULL || c->deadline == NULL) {
		if (c != NULL && c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		ttlog__peer_table_del(&h->peers, &key);
		warn_refused(h, sa, "out of memory");
		return;
	}
	c->h = h;
	c->key = key;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->st.connections++;
	h->st.accepted++;
	evtimer_add(c->deadline, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_MAX_HEADERS);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct ttlog__http *h = arg;
	(void)l;

	h->st.accept_errors++;
	h->st.refused_fds += ttlog__accept_guard_error(&h->guard, h->what,
						       h->st.connections);
}

/* ---- the listening socket ---- */

/*
 * Parses "HOST:PORT" with HOST a numeric IPv4 address or a bracketed IPv6
 * one. A bare port or a host name is refused on purpose: which interfaces
 * expose the agent's counters is the configuration's decision, not a
 * default hidden here.
 */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *sslen)
{
	struct ttlog__addr a;
	char why[512];

	/* The caller says what is wrong in its own words (an address, not a
	 * name), so the parser's sentence is not passed on. */
	if (ttlog__addr_parse(s, TTLOG__ADDR_ALLOW_BARE, &a, why,
			      sizeof(why)) != 0)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (a.bracketed) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, a.host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)a.port_num);
		*sslen = sizeof(*in6);
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, a.host, &in4->sin_addr) != 1)
			return -1;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)a.port_num);
		*sslen = sizeof(*in4);
	}
	return 0;
}

/* Opens the listening socket here rather than through evhttp_bind_socket
 * so that a failure can say why (errno), which evhttp does not report. */
static int open_listener(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd, rc;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	/* "[::]:2020" means IPv6 only; IPv4 is configured separately. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
	    listen(fd, HTTP_BACKLOG) != 0)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int ttlog__http_check_listen(const char *listen_on, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;

	if (parse_listen(listen_on, &ss, &sslen) == 0)
		return 0;
	snprintf(err, errlen,
		 "%s: expected IPV4:PORT or [IPV6]:PORT (e.g. 127.0.0.1:2020)",
		 listen_on ? listen_on : "(null)");
	return TTLOG_EINVAL;
}

int ttlog__http_start(struct event_base *base, const char *listen_on,
		      const struct ttlog__agent_view *view,
		      struct ttlog__http **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct ttlog__http *h;
	int fd;

	if (out != NULL)
		*out = NULL;
	if (base == NULL || view == NULL || out == NULL) {
		snprintf(err, errlen, "http: invalid argument");
		return TTLOG_EINVAL;
	}
	if (ttlog__http_check_listen(listen_on, err, errlen) != 0 ||
	    parse_listen(listen_on, &ss, &sslen) != 0) {
		return TTLOG_EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "%s: out of memory", listen_on);
		return TTLOG_ENOMEM;
	}
	h->base = base;
	h->view = view;
	h->max_conns = TTLOG__HTTP_MAX_CONNECTIONS;
	h->max_per_peer = TTLOG__HTTP_MAX_CONNECTIONS_PER_PEER;
	snprintf(h->what, sizeof(h->what), "http %s", listen_on);
	fd = open_listener(&ss, sslen);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", listen_on, strerror(-fd));
		free(h);
		return fd;
	}
	/* On success the listener owns fd and frees it with itself. */
	h->lis = evconnlistener_new(
		base, on_accept, h,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (h->lis == NULL) {
		close(fd);
		free(h);
		snprintf(err, errlen, "%s: cannot watch the socket", listen_on);
		return TTLOG_ESYSTEM;
	}
	evconnlistener_set_error_cb(h->lis, on_accept_error);
	if (ttlog__accept_guard_init(&h->guard, base, h->lis) != 0) {
		ttlog__http_stop(h);
		snprintf(err, errlen, "%s: out of memory", listen_on);
		return TTLOG_ENOMEM;
	}
	*out = h;
	return 0;
}

void ttlog__http_stop(struct ttlog__http *h)
{
	if (h == NULL)
		return;
	/* Closes the listening socket and every open connection; requests
	 * in flight are dropped, which a scraper retries. */
	ttlog__accept_guard_destroy(&h->guard);
	evconnlistener_free(h->lis);
	while (h->conns != NULL)
		conn_free(h->conns);
	ttlog__peer_table_destroy(&h->peers);
	free(h);
}

void ttlog__http_set_view(struct ttlog__http *h,
			  const struct ttlog__agent_view *view)
{
	h->view = view;
}

void ttlog__http_set_limits(struct ttlog__http *h, int64_t max_connections,
			    int64_t max_per_peer)
{
	h->max_conns = max_connections;
	h->max_per_peer = max_per_peer;
}

const struct ttlog__http_stats *
ttlog__http_get_stats(const struct ttlog__http *h)
{
	return &h->st;
}
