/* test_http.c - the agent's HTTP endpoint: real requests over a socket to
 * the server on the writer loop, the Prometheus exposition checked against
 * ttlog_stats() and by promtool, the health document and its status, and
 * the refusals (404, 405, bad listen addresses, a busy port). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent_internal.h"
#include "buf.h"
#include "capture.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "testutil.h"

/* ---- test double of the inputs' counters ---- */

/* The inputs are written elsewhere; the view's input pointers point at
 * these instead, and this stands in for the real accessor. */
struct fake_input {
	struct ttlog__input_stats s;
};

void ttlog__input_get_stats(const struct ttlog__input *in,
			    struct ttlog__input_stats *out)
{
	*out = ((const struct fake_input *)(const void *)in)->s;
}

/* The fake inputs follow no files. */
size_t ttlog__input_file_lags(const struct ttlog__input *in,
			      void (*fn)(void *arg, const char *path,
					 uint64_t lag),
			      void *arg)
{
	(void)in;
	(void)fn;
	(void)arg;
	return 0;
}

/* Nor partitions. */
size_t ttlog__input_partition_lags(const struct ttlog__input *in,
				   void (*fn)(void *arg, const char *topic,
					      int32_t partition, int64_t lag),
				   void *arg)
{
	(void)in;
	(void)fn;
	(void)arg;
	return 0;
}

/* ---- a tiny HTTP client ---- */

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port nobody listens on now: bind 127.0.0.1:0, read it, close. */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

struct resp {
	int status;
	char *raw;  /* whole response, NUL-terminated; caller frees */
	char *body; /* into raw */
};

/* A connection to 127.0.0.1:port from address src (NULL: any); Linux
 * routes all of 127/8 to lo, so each 127.x.y.z is another peer. */
static int connect_from(int port, const char *src)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (src != NULL) {
		struct sockaddr_in b = {.sin_family = AF_INET};
		assert_int_equal(inet_pton(AF_INET, src, &b.sin_addr), 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof(b)), 0);
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Sends `request` to 127.0.0.1:port from src (NULL: any) and reads to
 * EOF, for at most 5 s. */
static void http_raw_from(int port, const char *src, const char *request,
			  struct resp *r)
{
	double deadline = mono_s() + 5.0;
	size_t len = 0, cap = 4096;
	int fd = connect_from(port, src);

	memset(r, 0, sizeof(*r));
	assert_int_equal(write(fd, request, strlen(request)),
			 (ssize_t)strlen(request));
	r->raw = malloc(cap);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)((deadline - mono_s()) * 1000);
		ssize_t n;

		assert_true(left > 0); /* the server answers in time */
		assert_true(poll(&p, 1, left) >= 0);
		if (len + 1024 > cap)
			r->raw = realloc(r->raw, cap *= 2);
		n = read(fd, r->raw + len, cap - len - 1);
		if (n == 0)
			break;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		assert_true(n > 0);
		len += (size_t)n;
	}
	close(fd);
	r->raw[len] = 0;
	if (sscanf(r->raw, "HTTP/1.1 %d ", &r->status) != 1)
		fail_msg("no status line in %zu bytes: %s", len, r->raw);
	r->body = strstr(r->raw, "\r\n\r\n");
	assert_non_null(r->body);
	r->body += 4;
}

static void http_raw(int port, const char *request, struct resp *r)
{
	http_raw_from(port, NULL, request, r);
}

static void http_req(int port, const char *method, const char *path,
		     struct resp *r)
{
	char req[512];

	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
		 method, path,
		 strcmp(method, "GET") ? "Content-Length: 0\r\n" : "");
	http_raw(port, req, r);
}

/* The value of the sample line that starts with `series` exactly
 * ("name" or "name{labels}"); fails the test when there is none. */
static uint64_t value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
		p += n;
	}
	fail_msg("no sample %s in:\n%s", series, text);
	return 0;
}

/* Runs promtool on text; returns its exit status and prints its output. */
static int promtool_check(const char *text)
{
	char out[] = "/tmp/test_http_promtool_XXXXXX", cmd[128], line[512];
	int fd = mkstemp(out), st;
	FILE *p, *f;

	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics >%s 2>&1", out);
	p = popen(cmd, "w");
	assert_non_null(p);
	fputs(text, p);
	st = pclose(p);
	f = fopen(out, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		printf("promtool: %s", line);
	fclose(f);
	unlink(out);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* ---- the server on the writer loop ---- */

#define WEIRD "we\"ird\\name\nx"
#define WEIRD_PROM "we\\\"ird\\\\name\\nx"
#define WEIRD_JSON "we\\\"ird\\\\name\\nx"

struct fixture {
	struct capture cap[2];
	struct ttlog_listener_config l[2];
	struct fake_input in[2];
	const char *input_names[2];
	const char *input_types[2];
	struct ttlog__input *inputs[2];
	const char *listener_names[2];
	uint64_t failing_since[2];
	struct ttlog__agent_view view;
	/* for the writer-thread calls */
	char listen[64];
	struct ttlog__http *h;
	char err[256];
	int port;
	uint64_t set_since[2];
};

static int do_start(struct event_base *base, void *arg)
{
	struct fixture *f = arg;
	int rc = ttlog__http_start(base, f->listen, &f->view, &f->h, f->err,
				   sizeof(f->err));

	if (rc == 0)
		f->view.http = ttlog__http_get_stats(f->h);
	return rc;
}

static int do_stop(struct event_base *base, void *arg)
{
	(void)base;
	ttlog__http_stop(arg);
	return 0;
}

/* The agent keeps the view on the writer thread; so does the test. */
static int do_set_failing(struct event_base *base, void *arg)
{
	struct fixture *f = arg;
	(void)base;
	f->failing_since[0] = f->set_since[0];
	f->failing_since[1] = f->set_since[1];
	return 0;
}

/* two: the library runs the good and the failing listener; else only
 * capture_start()'s one, and the view shows one listener. */
static void fixture_start_n(struct fixture *f, int two)
{
	struct ttlog_options o;

	memset(f, 0, sizeof(*f));
	if (!two) {
		assert_int_equal(capture_start(&f->cap[0], 0, TTLOG_LEVEL_INFO),
				 0);
		goto view;
	}
	f->l[0].api = &capture_api;
	f->l[0].options = &f->cap[0];
	f->l[0].name = "capture";
	f->l[1].api = &capture_api;
	f->l[1].options = &f->cap[1];
	f->l[1].name = WEIRD;
	/* The second listener fails every batch: its drops must show. */
	f->cap[1].answer = TTLOG_LISTENER_ERROR;
	ttlog_options_init(&o);
	o.level = TTLOG_LEVEL_INFO;
	o.listeners = f->l;
	o.nlisteners = 2;
	assert_int_equal(ttlog_init(&o), 0);
view:
	/* Each counter its own value, named: a field added to the struct
	 * does not shift the others. */
	f->in[0].s = (struct ttlog__input_stats){
		.events = 11,
		.bytes = 1200,
		.malformed = 3,
		.dropped = 4,
		.connections = 5,
		.accepted = 6,
		.refused = 7,
		.errors = 8,
		.paused = 1,
		.tls_failures = 9,
		.frames = 10,
		.dup_frames = 11,
		.missing_frames = 12,
		.bad_frames = 13,
		.protocol_errors = 14,
		.doubt_frames = 15,
		.doubt_events = 16,
		.state_errors = 17,
		.state_damaged = 18,
		.hello_timeouts = 20,
		.frame_timeouts = 21,
		.idle_timeouts = 22,
		.buffered = 23,
		.reserved = 24,
		.budget_waits = 25,
		.kernel_drops = 19,
		.refused_peer = 26,
		.accept_errors = 27,
		.duplicate_keys = 28,
	};
	f->in[1].s = (struct ttlog__input_stats){.events = 21, .bytes = 2200};
	f->input_names[0] = "syslog-tcp";
	f->input_names[1] = "udp \"514\"";
	f->input_types[0] = "syslog";
	f->input_types[1] = "syslog";
	f->inputs[0] = (struct ttlog__input *)(void *)&f->in[0];
	f->inputs[1] = (struct ttlog__input *)(void *)&f->in[1];
	f->listener_names[0] = "capture";
	f->listener_names[1] = WEIRD;
	f->view.writer = ttlog__host_writer();
	f->view.version = "1.2.3";
	f->view.service = "svc\"x";
	f->view.start_time_ns = wall_ns() - 90 * 1000000000ull;
	f->view.reloads = 13;
	f->view.reload_errors = 2;
	f->view.ninputs = 2;
	f->view.input_names = f->input_names;
	f->view.input_types = f->input_types;
	f->view.inputs = f->inputs;
	f->view.nlisteners = two ? 2 : 1;
	f->view.listener_names = f->listener_names;
	f->view.listener_failing_since_ns = f->failing_since;
	f->view.unhealthy_after_ms = 30000;

	f->port = free_port();
	snprintf(f->listen, sizeof(f->listen), "127.0.0.1:%d", f->port);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_start, f),
			 0);
	assert_non_null(f->h);
}

static void fixture_start(struct fixture *f)
{
	fixture_start_n(f, 1);
}

static void fixture_stop(struct fixture *f)
{
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_stop, f->h),
			 0);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&f->cap[0]);
	capture_reset(&f->cap[1]);
}

/* ---- tests ---- */

static void test_metrics_match_stats_and_pass_promtool(void **state)
{
	static struct fixture f;
	const int n = 250;
	struct ttlog_stats st;
	struct resp r;
	char series[128];
	(void)state;

	fixture_start(&f);
	for (int i = 0; i < n; i++)
		TTLOG_INFO("event", TTLOG_KV("i", i));
	assert_int_equal(ttlog_flush(), 0);

	http_req(f.port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(
		strstr(r.raw, "Content-Type: text/plain; version=0.0.4"));
	assert_int_equal(ttlog_stats(&st), 0);

	/* Library counters, as ttlog_stats() has them. */
	assert_int_equal(st.produced, n);
	assert_int_equal(value_of(r.body, "ttlog_events_produced_total"), n);
	assert_int_equal(value_of(r.body, "ttlog_events_delivered_total"),
			 st.delivered);
	assert_int_equal(st.delivered, n);
	assert_int_equal(value_of(r.body, "ttlog_events_ingested_total"), 0);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_events_dropped_total{reason=\"ring_full\"}"),
		st.dropped_ring_full);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_events_dropped_total{reason=\"too_large\"}"),
		st.dropped_too_large);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_events_dropped_total{reason=\"no_memory\"}"),
		st.dropped_no_memory);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_events_dropped_total{reason=\"invalid\"}"),
		st.dropped_invalid);
	assert_int_equal(value_of(r.body, "ttlog_batches_total"), st.batches);
	assert_true(st.batches > 0);
	assert_int_equal(value_of(r.body, "ttlog_ring_bytes_capacity"),
			 st.ring_bytes_total);
	assert_true(st.ring_bytes_total > 0);
	assert_int_equal(value_of(r.body, "ttlog_threads"), st.threads);
	assert_int_equal(st.threads, 1);

	/* Listeners: the good one took everything, the failing one dropped
	 * everything with reason error; names are escaped. */
	assert_int_equal(
		value_of(
			r.body,
			"ttlog_listener_events_in_total{listener=\"capture\"}"),
		n);
	assert_int_equal(value_of(r.body, "ttlog_listener_events_out_total{"
					  "listener=\"capture\"}"),
			 n);
	assert_int_equal(
		value_of(
			r.body,
			"ttlog_listener_events_out_total{listener=\"" WEIRD_PROM
			"\"}"),
		0);
	assert_int_equal(
		value_of(r.body, "ttlog_listener_events_dropped_total{listener="
				 "\"" WEIRD_PROM "\",reason=\"error\"}"),
		n);
	assert_int_equal(
		value_of(r.body, "ttlog_listener_events_dropped_total{listener="
				 "\"" WEIRD_PROM "\",reason=\"queue_full\"}"),
		0);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_listener_retries_total{listener=\"capture\"}"),
		0);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_listener_queue_bytes{listener=\"capture\"}"),
		0);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_listener_failing{listener=\"capture\"}"),
		0);
	/* The raw name never appears unescaped. */
	assert_null(strstr(r.body, "listener=\"we\"ird"));

	/* Inputs, from the double, each field its own value. */
	static const struct {
		const char *name;
		uint64_t v;
	} in[] = {
		{"ttlog_input_events_total", 11},
		{"ttlog_input_bytes_total", 1200},
		{"ttlog_input_malformed_total", 3},
		{"ttlog_input_dropped_total", 4},
		{"ttlog_input_connections", 5},
		{"ttlog_input_connections_accepted_total", 6},
		{"ttlog_input_connections_refused_total", 7},
		{"ttlog_input_errors_total", 8},
		{"ttlog_input_paused", 1},
		{"ttlog_input_kernel_drops_total", 19},
		{"ttlog_input_hello_timeouts_total", 20},
		{"ttlog_input_frame_timeouts_total", 21},
		{"ttlog_input_idle_timeouts_total", 22},
		{"ttlog_input_buffered_bytes", 23},
		{"ttlog_input_reserved_bytes", 24},
		{"ttlog_input_budget_waits_total", 25},
		{"ttlog_input_connections_refused_per_peer_total", 26},
		{"ttlog_input_accept_errors_total", 27},
		{"ttlog_input_duplicate_keys_total", 28},
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		snprintf(series, sizeof(series),
			 "%s{input=\"syslog-tcp\",type=\"syslog\"}",
			 in[i].name);
		assert_int_equal(value_of(r.body, series), in[i].v);
	}
	assert_int_equal(value_of(r.body,
				  "ttlog_input_events_total{input=\"udp "
				  "\\\"514\\\"\",type=\"syslog\"}"),
			 21);

	/* The endpoint's own counters: this request's connection is open
	 * and counted; nothing was refused. */
	assert_true(value_of(r.body, "ttlog_http_connections") >= 1);
	assert_true(value_of(r.body, "ttlog_http_connections_accepted_total") >=
		    1);
	assert_int_equal(value_of(r.body, "ttlog_http_connections_refused_"
					  "total{reason=\"per_peer\"}"),
			 0);
	assert_int_equal(value_of(r.body, "ttlog_http_accept_errors_total"), 0);

	/* Agent. */
	assert_int_equal(value_of(r.body, "ttlog_agent_reloads_total"), 13);
	assert_int_equal(value_of(r.body, "ttlog_agent_reload_errors_total"),
			 2);
	assert_int_equal(value_of(r.body, "ttlog_agent_start_time_seconds"),
			 f.view.start_time_ns / 1000000000u);
	assert_int_equal(value_of(r.body, "ttlog_build_info{version=\"1.2.3\","
					  "service=\"svc\\\"x\"}"),
			 1);

	/* Every family has its HELP and TYPE. */
	static const char *const fam[] = {
		"ttlog_events_produced_total counter",
		"ttlog_events_ingested_total counter",
		"ttlog_events_delivered_total counter",
		"ttlog_events_dropped_total counter",
		"ttlog_batches_total counter",
		"ttlog_ring_bytes_used gauge",
		"ttlog_ring_bytes_capacity gauge",
		"ttlog_threads gauge",
		"ttlog_listener_events_in_total counter",
		"ttlog_listener_events_out_total counter",
		"ttlog_listener_events_dropped_total counter",
		"ttlog_listener_retries_total counter",
		"ttlog_listener_queue_bytes gauge",
		"ttlog_listener_failing gauge",
		"ttlog_input_events_total counter",
		"ttlog_input_bytes_total counter",
		"ttlog_input_malformed_total counter",
		"ttlog_input_dropped_total counter",
		"ttlog_input_connections gauge",
		"ttlog_input_connections_accepted_total counter",
		"ttlog_input_connections_refused_total counter",
		"ttlog_input_errors_total counter",
		"ttlog_input_paused gauge",
		"ttlog_input_kernel_drops_total counter",
		"ttlog_agent_reloads_total counter",
		"ttlog_agent_reload_errors_total counter",
		"ttlog_agent_start_time_seconds gauge",
		"ttlog_build_info gauge",
	};
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		char name[96];
		snprintf(series, sizeof(series), "\n# TYPE %s\n", fam[i]);
		assert_non_null(strstr(r.body, series));
		snprintf(name, sizeof(name), "%s", fam[i]);
		*strchr(name, ' ') = 0;
		snprintf(series, sizeof(series), "# HELP %s ", name);
		assert_non_null(strstr(r.body, series));
	}

	/* promtool accepts the scrape; and it does reject a broken one, so
	 * the check above means something. */
	assert_int_equal(promtool_check(r.body), 0);
	assert_int_not_equal(
		promtool_check("# TYPE x_total counter\nx_total{a=\"b} 1\n"),
		0);
	free(r.raw);
	fixture_stop(&f);
}

static void test_health_turns_503_after_unhealthy_after(void **state)
{
	static struct fixture f;
	struct resp r;
	(void)state;

	fixture_start(&f);
	http_req(f.port, "GET", "/health", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.raw, "Content-Type: application/json"));
	assert_non_null(strstr(r.body, "{\"status\":\"ok\",\"service\":"
				       "\"svc\\\"x\",\"uptime_s\":"));
	assert_true(strtoull(strstr(r.body, "\"uptime_s\":") + 11, NULL, 10) >=
		    90);
	assert_non_null(strstr(
		r.body, "\"inputs\":[{\"name\":\"syslog-tcp\",\"type\":"
			"\"syslog\",\"connections\":5,\"paused\":true},"
			"{\"name\":\"udp \\\"514\\\"\",\"type\":"
			"\"syslog\",\"connections\":0,\"paused\":false}]"));
	assert_non_null(strstr(r.body, "\"listeners\":[{\"name\":\"capture\","
				       "\"state\":\"ok\",\"failing_for_s\":0},"
				       "{\"name\":\"" WEIRD_JSON "\",\"state\":"
				       "\"ok\",\"failing_for_s\":0}]}"));
	free(r.raw);

	/* Failing for 1 s of the allowed 30: still healthy. */
	f.set_since[1] = wall_ns() - 1000000000ull;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_set_failing, &f), 0);
	http_req(f.port, "GET", "/health", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"status\":\"ok\""));
	assert_non_null(strstr(r.body, "\"name\":\"" WEIRD_JSON "\",\"state\":"
				       "\"failing\",\"failing_for_s\":1}"));
	free(r.raw);

	/* Failing for an hour: the agent is unhealthy. */
	f.set_since[1] = wall_ns() - 3600 * 1000000000ull;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_set_failing, &f), 0);
	http_req(f.port, "GET", "/health", &r);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "{\"status\":\"failing\""));
	assert_non_null(strstr(r.body, "\"state\":\"failing\","
				       "\"failing_for_s\":3600}"));
	free(r.raw);
	http_req(f.port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(
		value_of(r.body,
			 "ttlog_listener_failing{listener=\"" WEIRD_PROM "\"}"),
		1);
	free(r.raw);

	/* Recovered. */
	f.set_since[1] = 0;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_set_failing, &f), 0);
	http_req(f.port, "GET", "/health", &r);
	assert_int_equal(r.status, 200);
	free(r.raw);
	fixture_stop(&f);
}

static void test_other_paths_and_methods_are_refused(void **state)
{
	static struct fixture f;
	struct resp r;
	(void)state;

	fixture_start(&f);
	http_req(f.port, "GET", "/", &r);
	assert_int_equal(r.status, 404);
	free(r.raw);
	http_req(f.port, "GET", "/metricsx", &r);
	assert_int_equal(r.status, 404);
	free(r.raw);
	http_req(f.port, "POST", "/metrics", &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.raw, "Allow: GET, HEAD"));
	free(r.raw);
	http_req(f.port, "DELETE", "/health", &r);
	assert_int_equal(r.status, 405);
	free(r.raw);
	http_req(f.port, "PATCH", "/health", &r);
	assert_int_equal(r.status, 405);
	free(r.raw);
	/* A query string does not change the route. */
	http_req(f.port, "GET", "/health?verbose=1", &r);
	assert_int_equal(r.status, 200);
	free(r.raw);
	/* A body is refused (max body 0). */
	http_raw(f.port,
		 "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Length: 5\r\n\r\nhello",
		 &r);
	assert_int_equal(r.status, 413);
	free(r.raw);
	/* The server is still serving after all that. */
	http_req(f.port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	free(r.raw);
	fixture_stop(&f);
}

struct caps {
	struct fixture *f;
	int64_t max, per_peer;
	struct ttlog__http_stats st;
};

static int do_limits(struct event_base *base, void *arg)
{
	struct caps *c = arg;
	(void)base;
	ttlog__http_set_limits(c->f->h, c->max, c->per_peer);
	return 0;
}

static int do_stats(struct event_base *base, void *arg)
{
	struct caps *c = arg;
	(void)base;
	c->st = *ttlog__http_get_stats(c->f->h);
	return 0;
}

/* Waits (5 s at most) until the endpoint has `open` connections open. */
static void wait_open(struct caps *c, uint64_t open)
{
	double deadline = mono_s() + 5.0;

	for (;;) {
		assert_int_equal(
			ttlog__host_call(ttlog__host_writer(), do_stats, c), 0);
		if (c->st.connections == open)
			return;
		assert_true(mono_s() < deadline);
		usleep(5000);
	}
}

/* True when the server closes fd (EOF or reset) within 5 s; what it
 * sent before goes to got (NUL-terminated, cut to len - 1 bytes). */
static int closed_by_server_after(int fd, char *got, size_t len)
{
	double deadline = mono_s() + 5.0;
	size_t n = 0;

	got[0] = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char b[512];
		ssize_t k;
		int left = (int)((deadline - mono_s()) * 1000);

		if (left <= 0 || poll(&p, 1, left) != 1)
			return 0;
		k = read(fd, b, sizeof(b));
		if (k <= 0)
			return 1;
		if (n + 1 < len) {
			size_t m = (size_t)k < len - 1 - n ? (size_t)k
							   : len - 1 - n;
			memcpy(got + n, b, m);
			n += m;
			got[n] = 0;
		}
	}
}

static int closed_by_server(int fd)
{
	char got[64];

	/* Refused at once: not a byte of an answer. */
	return closed_by_server_after(fd, got, sizeof(got)) && got[0] == 0;
}

static void test_connections_over_the_caps_are_closed_and_counted(void **state)
{
	static struct fixture f;
	struct caps c = {.f = &f, .max = 3, .per_peer = 2};
	struct resp r;
	int idle[3], extra;
	(void)state;

	fixture_start(&f);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_limits, &c),
			 0);
	/* One address holds its two: its third is closed at once... */
	idle[0] = connect_from(f.port, "127.0.0.1");
	idle[1] = connect_from(f.port, "127.0.0.1");
	wait_open(&c, 2);
	extra = connect_from(f.port, "127.0.0.1");
	assert_true(closed_by_server(extra));
	close(extra);
	/* ...while another address is served. */
	http_raw_from(f.port, "127.0.0.2", "GET /health HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.raw);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_stats, &c),
			 0);
	assert_int_equal(c.st.refused_per_peer, 1);
	assert_int_equal(c.st.refused_total, 0);
	/* The total cap: three open, a fourth from a new address is
	 * closed. */
	idle[2] = connect_from(f.port, "127.0.0.3");
	wait_open(&c, 3);
	extra = connect_from(f.port, "127.0.0.4");
	assert_true(closed_by_server(extra));
	close(extra);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_stats, &c),
			 0);
	assert_int_equal(c.st.refused_total, 1);
	assert_int_equal(c.st.refused_per_peer, 1);
	assert_int_equal(c.st.accepted, 4);
	/* Closed connections free their places (and their address). */
	for (int i = 0; i < 3; i++)
		close(idle[i]);
	wait_open(&c, 0);
	http_req(f.port, "HEAD", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, ""); /* HEAD: no body */
	free(r.raw);
	/* A request line that is not METHOD TARGET HTTP/1.x. */
	http_raw(f.port, "GET /health\r\nX: a HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	free(r.raw);
	http_raw(f.port, "GET /health HTTP/\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	free(r.raw);
	/* A bare LF ends the head too. */
	http_raw(f.port, "GET /health HTTP/1.0\n\n", &r);
	assert_int_equal(r.status, 200);
	free(r.raw);
	/* A request head over 8 KiB is not read further: the connection is
	 * closed (with a 431 the peer may or may not get to read before the
	 * reset that the unread rest causes). */
	{
		char big[9000];
		int fd = connect_from(f.port, NULL);
		memset(big, 'a', sizeof(big));
		memcpy(big, "GET /health HTTP/1.1\r\nX: ", 26);
		assert_int_equal(write(fd, big, sizeof(big)),
				 (ssize_t)sizeof(big));
		char got[64];
		assert_true(closed_by_server_after(fd, got, sizeof(got)));
		assert_true(got[0] == 0 ||
			    strncmp(got, "HTTP/1.1 431 ", 13) == 0);
		close(fd);
		wait_open(&c, 0);
	}
	fixture_stop(&f);
}

struct bad_start {
	const char *listen;
	struct ttlog__agent_view view;
	struct ttlog__http *h;
	char err[256];
};

static int do_bad_start(struct event_base *base, void *arg)
{
	struct bad_start *b = arg;
	b->err[0] = 0;
	b->h = (struct ttlog__http *)b; /* must be reset to NULL */
	return ttlog__http_start(base, b->listen, &b->view, &b->h, b->err,
				 sizeof(b->err));
}

static void test_bad_listen_and_busy_port_are_reported(void **state)
{
	static struct fixture f;
	static const char *const bad[] = {
		"2020",
		":2020",
		"localhost:2020",
		"127.0.0.1:0",
		"127.0.0.1:70000",
		"127.0.0.1:",
		"::1:2020",
		"[::1]2020",
		"127.0.0.1:20x",
		"",
		"[]:2020",
		"127.0.0.1:-1",
	};
	struct bad_start b;
	char want[128];
	(void)state;

	fixture_start_n(&f, 0);
	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.listen = bad[i];
		assert_int_equal(ttlog__host_call(ttlog__host_writer(),
						  do_bad_start, &b),
				 TTLOG_EINVAL);
		assert_null(b.h);
		assert_non_null(strstr(b.err, bad[i]));
	}
	/* The fixture's server holds the port. */
	b.listen = f.listen;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_bad_start, &b),
		-EADDRINUSE);
	assert_null(b.h);
	snprintf(want, sizeof(want), "127.0.0.1:%d: Address already in use",
		 f.port);
	assert_string_equal(b.err, want);

	/* IPv6 loopback, where the machine has it. */
	int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	a6.sin6_addr = in6addr_loopback;
	if (fd6 >= 0 && bind(fd6, (struct sockaddr *)&a6, sizeof(a6)) == 0) {
		char l6[64];
		socklen_t len = sizeof(a6);
		assert_int_equal(getsockname(fd6, (struct sockaddr *)&a6, &len),
				 0);
		snprintf(l6, sizeof(l6), "[::1]:%d", ntohs(a6.sin6_port));
		close(fd6);
		fd6 = -1;
		b.listen = l6;
		assert_int_equal(ttlog__host_call(ttlog__host_writer(),
						  do_bad_start, &b),
				 0);
		assert_non_null(b.h);
		assert_int_equal(
			ttlog__host_call(ttlog__host_writer(), do_stop, b.h),
			0);
	} else {
		printf("note: no IPv6 loopback here; [::1] not tried\n");
	}
	if (fd6 >= 0)
		close(fd6);
	fixture_stop(&f);
}

/* The pure renderers, without a server: control characters and bytes
 * that are not UTF-8 do not break the JSON or the exposition. */
static void test_renderers_escape_what_they_must(void **state)
{
	static struct fixture f;
	struct ttlog__buf b = {0};
	const char *names[2] = {"a\x01z\tq", "bad\xff"};
	uint64_t since[2] = {0, 0};
	(void)state;

	fixture_start(&f);
	f.view.listener_names = names;
	f.view.listener_failing_since_ns = since;
	assert_int_equal(ttlog__health_render(&f.view, wall_ns(), &b), 200);
	assert_non_null(strstr((char *)b.p, "\"name\":\"a\\u0001z\\tq\""));
	assert_non_null(strstr((char *)b.p, "\"name\":\"bad\\ufffd\""));
	ttlog__buf_free(&b);
	/* Over the limit by a nanosecond-scale margin: 503. */
	since[0] = wall_ns() - 31 * 1000000000ull;
	assert_int_equal(ttlog__health_render(&f.view, wall_ns(), &b), 503);
	ttlog__buf_free(&b);
	assert_int_equal(ttlog__metrics_render(&f.view, &b), 0);
	ttlog__buf_putc(&b, 0);
	assert_non_null(strstr((char *)b.p, "{listener=\"bad\xef\xbf\xbd\"}"));
	assert_int_equal(promtool_check((char *)b.p), 0);
	ttlog__buf_free(&b);
	f.view.listener_names = f.listener_names;
	f.view.listener_failing_since_ns = f.failing_since;
	fixture_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_match_stats_and_pass_promtool),
		cmocka_unit_test(test_health_turns_503_after_unhealthy_after),
		cmocka_unit_test(test_other_paths_and_methods_are_refused),
		cmocka_unit_test(
			test_connections_over_the_caps_are_closed_and_counted),
		cmocka_unit_test(test_bad_listen_and_busy_port_are_reported),
		cmocka_unit_test(test_renderers_escape_what_they_must),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
