/*
 * http.c - the agent's HTTP endpoint: GET /health and GET /metrics, served
 * by evhttp on the writer's event loop. Everything here runs on the writer
 * thread, so the view can be read without locks.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <ttlog/ttlog.h>

#include "addr.h"
#include "agent_internal.h"
#include "buf.h"

/* Requests are a line and a few headers; anything bigger is not a
 * scraper, and a slow peer must not hold a connection for long. */
#define HTTP_MAX_HEADERS 8192
#define HTTP_TIMEOUT_S 10

struct ttlog__http {
	struct evhttp *http;
	const struct ttlog__agent_view *view;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* Wall time: start_time_ns is exported as a Unix timestamp, and the
	 * agent keeps listener_failing_since_ns on the same clock. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void reply(struct evhttp_request *req, int code, const char *reason,
		  const char *type, const void *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	/* One request per connection keeps the server stateless between
	 * scrapes; scrapers reconnect cheaply. */
	evhttp_add_header(h, "Connection", "close");
	if (b != NULL && len > 0)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
		       const char *text)
{
	reply(req, code, reason, "text/plain; charset=utf-8", text,
	      strlen(text));
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct ttlog__http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct ttlog__buf body = {0};
	int metrics, code;

	if (path == NULL) {
		reply_text(req, HTTP_BADREQUEST, "Bad Request",
			   "bad request\n");
		return;
	}
	metrics = strcmp(path, "/metrics") == 0;
	if (!metrics && strcmp(path, "/health") != 0) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
		return;
	}
	/* evhttp answers HEAD with the headers of the GET and no body. */
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed",
			   "method not allowed\n");
		return;
	}
	if (metrics) {
		code = ttlog__metrics_render(h->view, &body) == 0 ? 200 : 500;
		if (code == 200)
			reply(req, 200, "OK", "text/plain; version=0.0.4",
			      body.p, body.len);
	} else {
		code = ttlog__health_render(h->view, now_ns(), &body);
		if (code == 200 || code == 503)
			reply(req, code,
			      code == 200 ? "OK" : "Service Unavailable",
			      "application/json", body.p, body.len);
	}
	if (code == 500)
		reply_text(req, HTTP_INTERNAL, "Internal Server Error",
			   "out of memory\n");
	ttlog__buf_free(&body);
}

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
	    listen(fd, 64) != 0)
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
	if (h == NULL || (h->http = evhttp_new(base)) == NULL) {
		free(h);
		snprintf(err, errlen, "%s: out of memory", listen_on);
		return TTLOG_ENOMEM;
	}
	h->view = view;
	/* Every method reaches on_request, which answers 405; evhttp itself
	 * would answer 501 to methods outside this set. */
	evhttp_set_allowed_methods(
		h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
				 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
				 EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
	evhttp_set_gencb(h->http, on_request, h);
	fd = open_listener(&ss, sslen);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", listen_on, strerror(-fd));
		evhttp_free(h->http);
		free(h);
		return fd;
	}
	/* On success the listener owns fd and evhttp_free() closes it. */
	if (evhttp_accept_socket_with_handle(h->http, fd) == NULL) {
		snprintf(err, errlen, "%s: cannot watch the socket", listen_on);
		close(fd);
		evhttp_free(h->http);
		free(h);
		return TTLOG_ESYSTEM;
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
	evhttp_free(h->http);
	free(h);
}

void ttlog__http_set_view(struct ttlog__http *h,
			  const struct ttlog__agent_view *view)
{
	h->view = view;
}
