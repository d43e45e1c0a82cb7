/*
 * metrics.c - what the agent's HTTP endpoint says: the Prometheus text
 * exposition (format 0.0.4) of the library's and the agent's counters, and
 * the health document. Both are pure functions of the view and of
 * ttlog_stats()/ttlog_listener_stats(), so that tests can check them
 * without a socket.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "agent_internal.h"
#include "metrics_internal.h"
#include "buf.h"
#include "host_internal.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* Text helpers                                                         */
/* ------------------------------------------------------------------ */

void ttlog__metrics_putf(struct ttlog__buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		ttlog__buf_put(b, tmp, (size_t)n);
		return;
	}
	/* Only long formats (none today) pay for a second pass. */
	if (ttlog__buf_reserve(b, (size_t)n + 1) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * Both formats below must be UTF-8, and names come from a configuration
 * file nobody has validated for that, so each byte that is not part of a
 * valid sequence is replaced rather than passed on to break a scraper or
 * a JSON parser.
 */

/* A Prometheus label value: backslash, double quote and line feed are
 * the only escapes the format knows. */
void ttlog__metrics_put_label_value(struct ttlog__buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	uint32_t cp;

	while (n > 0) {
		size_t k = ttlog__utf8_next(p, n, &cp);

		if (k == 0) {
			ttlog__buf_puts(b, "\xef\xbf\xbd");
			k = 1;
		} else if (*p == '\\') {
			ttlog__buf_puts(b, "\\\\");
		} else if (*p == '"') {
			ttlog__buf_puts(b, "\\\"");
		} else if (*p == '\n') {
			ttlog__buf_puts(b, "\\n");
		} else {
			ttlog__buf_put(b, p, k);
		}
		p += k;
		n -= k;
	}
}

/* A JSON string with its quotes (RFC 8259). */
static void put_json_string(struct ttlog__buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	uint32_t cp;

	ttlog__buf_putc(b, '"');
	while (n > 0) {
		size_t k = ttlog__utf8_next(p, n, &cp);

		if (k == 0) {
			ttlog__buf_puts(b, "\\ufffd");
			k = 1;
		} else if (*p == '"' || *p == '\\') {
			ttlog__buf_putc(b, '\\');
			ttlog__buf_putc(b, *p);
		} else if (*p == '\n') {
			ttlog__buf_puts(b, "\\n");
		} else if (*p == '\r') {
			ttlog__buf_puts(b, "\\r");
		} else if (*p == '\t') {
			ttlog__buf_puts(b, "\\t");
		} else if (*p < 0x20) {
			ttlog__metrics_putf(b, "\\u%04x", *p);
		} else {
			ttlog__buf_put(b, p, k);
		}
		p += k;
		n -= k;
	}
	ttlog__buf_putc(b, '"');
}

/* ------------------------------------------------------------------ */
/* Prometheus exposition                                                */
/* ------------------------------------------------------------------ */

void ttlog__metrics_family(struct ttlog__buf *b, const char *name,
			   const char *type, const char *help)
{
	ttlog__metrics_putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			    type);
}

static void sample(struct ttlog__buf *b, const char *name, uint64_t v)
{
	ttlog__metrics_putf(b, "%s %" PRIu64 "\n", name, v);
}

static void listener_sample(struct ttlog__buf *b, const char *name,
			    const char *listener, const char *reason,
			    uint64_t v)
{
	ttlog__buf_puts(b, name);
	ttlog__buf_puts(b, "{listener=\"");
	ttlog__metrics_put_label_value(b, listener);
	if (reason != NULL) {
		ttlog__buf_puts(b, "\",reason=\"");
		ttlog__buf_puts(b, reason);
	}
	ttlog__metrics_putf(b, "\"} %" PRIu64 "\n", v);
}

void ttlog__metrics_input_sample(struct ttlog__buf *b, const char *name,
				 const char *input, const char *type,
				 uint64_t v)
{
	ttlog__buf_puts(b, name);
	ttlog__buf_puts(b, "{input=\"");
	ttlog__metrics_put_label_value(b, input);
	ttlog__buf_puts(b, "\",type=\"");
	ttlog__metrics_put_label_value(b, type);
	ttlog__metrics_putf(b, "\"} %" PRIu64 "\n", v);
}

/* Per-listener counters read once per scrape, so that every family shows
 * the same listeners; `ok` is 0 for an index the library does not know
 * (the view and the running configuration disagree during a reload). */
struct lstats {
	struct ttlog_listener_stats s;
	uint64_t stalls; /* ttlog__host_listener_stalls() */
	int ok;
};

#define LFAMILY(fam, type, help, field)                                        \
	do {                                                                   \
		ttlog__metrics_family(out, fam, type, help);                   \
		for (size_t i = 0; i < v->nlisteners; i++)                     \
			if (ls[i].ok)                                          \
				listener_sample(out, fam,                      \
						v->listener_names[i], NULL,    \
						ls[i].s.field);                \
	} while (0)

static void render_library(struct ttlog__buf *out)
{
	struct ttlog_stats st;

	/* Not running still fills in the last run's counters, which is what
	 * a scrape during a restart should see. */
	memset(&st, 0, sizeof(st));
	(void)ttlog_stats(&st);
	ttlog__metrics_family(out, "ttlog_events_produced_total", "counter",
			      "Log calls that passed the level gate.");
	sample(out, "ttlog_events_produced_total", st.produced);
	ttlog__metrics_family(out, "ttlog_events_ingested_total", "counter",
			      "Events received by the agent's inputs.");
	sample(out, "ttlog_events_ingested_total", st.ingested);
	ttlog__metrics_family(out, "ttlog_events_delivered_total", "counter",
			      "Events handed to the listener stage.");
	sample(out, "ttlog_events_delivered_total", st.delivered);
	ttlog__metrics_family(
		out, "ttlog_events_dropped_total", "counter",
		"Events dropped before the listeners, by reason.");
	ttlog__metrics_putf(
		out,
		"ttlog_events_dropped_total{reason=\"ring_full\"} %" PRIu64 "\n"
		"ttlog_events_dropped_total{reason=\"too_large\"} %" PRIu64 "\n"
		"ttlog_events_dropped_total{reason=\"no_memory\"} %" PRIu64 "\n"
		"ttlog_events_dropped_total{reason=\"invalid\"} %" PRIu64 "\n",
		st.dropped_ring_full, st.dropped_too_large,
		st.dropped_no_memory, st.dropped_invalid);
	ttlog__metrics_family(
		out, "ttlog_events_filtered_total", "counter",
		"Events from the inputs below service.level, left out.");
	sample(out, "ttlog_events_filtered_total", st.filtered_level);
	ttlog__metrics_family(out, "ttlog_events_truncated_total", "counter",
			      "Events with a truncated string value.");
	sample(out, "ttlog_events_truncated_total", st.truncated);
	ttlog__metrics_family(out, "ttlog_batches_total", "counter",
			      "Batches built by the writer.");
	sample(out, "ttlog_batches_total", st.batches);
	ttlog__metrics_family(out, "ttlog_ring_bytes_used", "gauge",
			      "Bytes in the thread rings now.");
	sample(out, "ttlog_ring_bytes_used", st.ring_bytes_used);
	ttlog__metrics_family(out, "ttlog_ring_bytes_capacity", "gauge",
			      "Capacity of the thread rings now, in bytes.");
	sample(out, "ttlog_ring_bytes_capacity", st.ring_bytes_total);
	ttlog__metrics_family(out, "ttlog_threads", "gauge",
			      "Thread rings registered now.");
	sample(out, "ttlog_threads", st.threads);

	struct ttlog_snapshot_stats ss;
	(void)ttlog_snapshot_stats(&ss);
	ttlog__metrics_family(out, "ttlog_snapshots_total", "counter",
			      "Flight-recorder snapshots, by result.");
	ttlog__metrics_putf(
		out,
		"ttlog_snapshots_total{result=\"written\"} %" PRIu64 "\n"
		"ttlog_snapshots_total{result=\"failed\"} %" PRIu64 "\n",
		ss.written, ss.failed);
	ttlog__metrics_family(
		out, "ttlog_snapshot_sync_failures_total", "counter",
		"Snapshot fsync/fdatasync failures (reported, not retried).");
	sample(out, "ttlog_snapshot_sync_failures_total", ss.sync_failed);
	ttlog__metrics_family(
		out, "ttlog_snapshot_history_bytes", "gauge",
		"Bytes of recent events held for the next snapshot.");
	sample(out, "ttlog_snapshot_history_bytes", ss.history_bytes);
}

static void render_listeners(const struct ttlog__agent_view *v,
			     const struct lstats *ls, struct ttlog__buf *out)
{
	const char *fam = "ttlog_listener_events_dropped_total";

	LFAMILY("ttlog_listener_events_in_total", "counter",
		"Events offered to the listener.", events_in);
	LFAMILY("ttlog_listener_events_out_total", "counter",
		"Events the listener accepted.", events_out);
	ttlog__metrics_family(out, fam, "counter",
			      "Events the listener dropped, by reason.");
	for (size_t i = 0; i < v->nlisteners; i++) {
		if (!ls[i].ok)
			continue;
		listener_sample(out, fam, v->listener_names[i], "queue_full",
				ls[i].s.dropped_queue_full);
		listener_sample(out, fam, v->listener_names[i], "error",
				ls[i].s.dropped_error);
	}
	LFAMILY("ttlog_listener_retries_total", "counter",
		"Deliveries the listener answered with retry.", retries);
	LFAMILY("ttlog_listener_queue_bytes", "gauge",
		"Bytes the listener holds back now.", queue_bytes);
	fam = "ttlog_listener_stalls_total";
	ttlog__metrics_family(
		out, fam, "counter",
		"Callbacks that held the writer thread longer than the "
		"watchdog's limit.");
	for (size_t i = 0; i < v->nlisteners; i++)
		if (ls[i].ok)
			listener_sample(out, fam, v->listener_names[i], NULL,
					ls[i].stalls);
	fam = "ttlog_listener_failing";
	ttlog__metrics_family(
		out, fam, "gauge",
		"1 while the listener drops batches or holds back a backlog.");
	for (size_t i = 0; i < v->nlisteners; i++)
		if (ls[i].ok)
			listener_sample(
				out, fam, v->listener_names[i], NULL,
				v->listener_failing_since_ns != NULL &&
					v->listener_failing_since_ns[i] != 0);
}

/* Figures the listeners report about themselves (ABI 1.1 metrics()),
 * collected first so that each family is written once, all its samples
 * together, as the exposition format requires. */
struct pmetric {
	char name[64], label[32], lvalue[64], help[160];
	size_t listener;
	int kind;
	double value;
};

struct pcollect {
	struct pmetric *m;
	size_t n, cap;
	size_t listener;
};

static int metric_name_ok(const char *s)
{
	if (s == NULL || *s == 0 || strlen(s) >= 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static void pcollect(void *ctx, const struct ttlog_metric *m)
{
	struct pcollect *c = ctx;
	struct pmetric *p;

	/* A plugin's names become part of ours: only well-formed ones. */
	if (!metric_name_ok(m->name) ||
	    (m->label != NULL && !metric_name_ok(m->label)))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct pmetric *n = realloc(c->m, cap * sizeof(*n));
		if (n == NULL)
			return;
		c->m = n;
		c->cap = cap;
	}
	p = &c->m[c->n++];
	snprintf(p->name, sizeof(p->name), "%s", m->name);
	snprintf(p->label, sizeof(p->label), "%s", m->label ? m->label : "");
	snprintf(p->lvalue, sizeof(p->lvalue), "%s",
		 m->label_value ? m->label_value : "");
	snprintf(p->help, sizeof(p->help), "%s", m->help ? m->help : "");
	for (char *h = p->help; *h; h++)
		if (*h == '\n' || *h == '\\')
			*h = ' ';
	p->listener = c->listener;
	p->kind = m->kind;
	p->value = m->value;
}

static void render_plugin_metrics(const struct ttlog__agent_view *v,
				  struct ttlog__buf *out)
{
	struct pcollect c = {0};

	for (size_t i = 0; i < v->nlisteners; i++) {
		c.listener = i;
		ttlog__host_listener_metrics(v->writer, i, pcollect, &c);
	}
	for (size_t i = 0; i < c.n; i++) {
		char fam[96];
		int seen = 0;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(c.m[k].name, c.m[i].name) == 0;
		if (seen)
			continue;
		snprintf(fam, sizeof(fam), "ttlog_listener_%s", c.m[i].name);
		ttlog__metrics_family(out, fam,
				      c.m[i].kind == TTLOG_METRIC_COUNTER
					      ? "counter"
					      : "gauge",
				      c.m[i].help);
		for (size_t k = i; k < c.n; k++) {
			if (strcmp(c.m[k].name, c.m[i].name) != 0)
				continue;
			ttlog__buf_puts(out, fam);
			ttlog__buf_puts(out, "{listener=\"");
			ttlog__metrics_put_label_value(
				out, v->listener_names[c.m[k].listener]);
			if (c.m[k].label[0]) {
				ttlog__metrics_putf(out, "\",%s=\"",
						    c.m[k].label);
				ttlog__metrics_put_label_value(out,
							       c.m[k].lvalue);
			}
			ttlog__metrics_putf(out, "\"} %.17g\n", c.m[k].value);
		}
	}
	free(c.m);
}

/* The endpoint's own connections (docs/network-exposure.md). */
static void render_http(const struct ttlog__http_stats *h,
			struct ttlog__buf *out)
{
	ttlog__metrics_family(out, "ttlog_http_connections", "gauge",
			      "HTTP connections open now.");
	sample(out, "ttlog_http_connections", h->connections);
	ttlog__metrics_family(out, "ttlog_http_connections_accepted_total",
			      "counter", "HTTP connections accepted.");
	sample(out, "ttlog_http_connections_accepted_total", h->accepted);
	ttlog__metrics_family(
		out, "ttlog_http_connections_refused_total", "counter",
		"HTTP connections closed at once: over "
		"http.max_connections (total), over "
		"http.max_connections_per_peer (per_peer), or while out of "
		"file descriptors (descriptors).");
	ttlog__metrics_putf(
		out,
		"ttlog_http_connections_refused_total{reason=\"total\"} "
		"%" PRIu64 "\n"
		"ttlog_http_connections_refused_total{reason=\"per_peer\"} "
		"%" PRIu64 "\n"
		"ttlog_http_connections_refused_total{reason=\"descriptors\"} "
		"%" PRIu64 "\n",
		h->refused_total, h->refused_per_peer, h->refused_fds);
	ttlog__metrics_family(out, "ttlog_http_accept_errors_total", "counter",
			      "accept() failures on the HTTP port (out of file "
			      "descriptors).");
	sample(out, "ttlog_http_accept_errors_total", h->accept_errors);
}

/* The writer's batch numbers: what the acknowledging inputs wait for
 * (taken) and what the inputs that keep a position in their source
 * (tail, journal) save up to (durable). */
static void render_batches(const struct ttlog__agent_view *v,
			   struct ttlog__buf *out)
{
	if (v->writer == NULL)
		return;
	ttlog__metrics_family(
		out, "ttlog_batches_dispatched", "gauge",
		"Number of the last batch handed to the listeners.");
	sample(out, "ttlog_batches_dispatched",
	       ttlog__host_dispatched(v->writer));
	ttlog__metrics_family(
		out, "ttlog_batches_taken", "gauge",
		"Every batch up to this number is taken by the listeners.");
	sample(out, "ttlog_batches_taken", ttlog__host_taken(v->writer));
	ttlog__metrics_family(
		out, "ttlog_batches_durable", "gauge",
		"Every batch up to this number is durable: it would survive a "
		"SIGKILL of the agent.");
	sample(out, "ttlog_batches_durable", ttlog__host_durable(v->writer));
}

static void render_agent(const struct ttlog__agent_view *v,
			 struct ttlog__buf *out)
{
	ttlog__metrics_family(out, "ttlog_agent_reloads_total", "counter",
			      "Configuration reloads applied.");
	sample(out, "ttlog_agent_reloads_total", v->reloads);
	ttlog__metrics_family(out, "ttlog_agent_reload_errors_total", "counter",
			      "Configuration reloads refused.");
	sample(out, "ttlog_agent_reload_errors_total", v->reload_errors);
	ttlog__metrics_family(
		out, "ttlog_agent_start_time_seconds", "gauge",
		"Start time of the agent since the Unix epoch, in seconds.");
	ttlog__metrics_putf(
		out,
		"ttlog_agent_start_time_seconds %" PRIu64 ".%09" PRIu64 "\n",
		v->start_time_ns / 1000000000u, v->start_time_ns % 1000000000u);
	ttlog__metrics_family(out, "ttlog_build_info", "gauge",
			      "Version and service of the agent; always 1.");
	ttlog__buf_puts(out, "ttlog_build_info{version=\"");
	ttlog__metrics_put_label_value(out, v->version);
	ttlog__buf_puts(out, "\",service=\"");
	ttlog__metrics_put_label_value(out, v->service);
	ttlog__buf_puts(out, "\"} 1\n");
}

static void proc_sample(struct ttlog__buf *b, const char *name,
			const struct ttlog__proc_stat *p, uint64_t v)
{
	ttlog__buf_puts(b, name);
	ttlog__buf_puts(b, "{scope=\"");
	ttlog__metrics_put_label_value(b, p->scope);
	ttlog__buf_puts(b, "\",processor=\"");
	ttlog__metrics_put_label_value(b, p->name);
	ttlog__buf_puts(b, "\",type=\"");
	ttlog__metrics_put_label_value(b, p->type);
	ttlog__metrics_putf(b, "\"} %" PRIu64 "\n", v);
}

/* match: and processors: (docs/routing.md). */
static void render_processors(const struct ttlog__agent_view *v,
			      struct ttlog__buf *out)
{
	struct ttlog__proc_stat *ps = NULL;
	uint64_t unrouted = 0;
	size_t n = ttlog__host_proc_stats(v->writer, NULL, 0, &unrouted);
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
		{"ttlog_processor_events_total",
		 "Events a processor ran on (its match: passed).",
		 offsetof(struct ttlog__proc_stat, in)},
		{"ttlog_processor_dropped_total",
		 "Events a processor dropped (drop, sample, throttle).",
		 offsetof(struct ttlog__proc_stat, dropped)},
		{"ttlog_processor_failed_total",
		 "Events a processor could not process, passed on unchanged.",
		 offsetof(struct ttlog__proc_stat, failed)},
	};

	ttlog__metrics_family(
		out, "ttlog_events_unrouted_total", "counter",
		"Events that no listener's match: selected (and no listener "
		"takes everything or the rest).");
	sample(out, "ttlog_events_unrouted_total", unrouted);
	if (n > 0)
		ps = calloc(n, sizeof(*ps));
	if (ps == NULL)
		return;
	n = ttlog__host_proc_stats(v->writer, ps, n, &unrouted);
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		ttlog__metrics_family(out, fam[f].name, "counter", fam[f].help);
		for (size_t i = 0; i < n; i++)
			proc_sample(
				out, fam[f].name, &ps[i],
				*(const uint64_t
					  *)(const void
						     *)((const char *)&ps[i] +
							fam[f].off));
	}
	free(ps);
}

int ttlog__metrics_render(const struct ttlog__agent_view *v,
			  struct ttlog__buf *out)
{
	struct lstats *ls;
	struct istats *is;

	if (v == NULL || out == NULL)
		return TTLOG_EINVAL;
	ls = calloc(v->nlisteners + 1, sizeof(*ls));
	is = calloc(v->ninputs + 1, sizeof(*is));
	if (ls == NULL || is == NULL) {
		free(ls);
		free(is);
		return TTLOG_ENOMEM;
	}
	for (size_t i = 0; i < v->nlisteners; i++)
		ls[i].ok = ttlog_listener_stats(i, &ls[i].s) == 0 &&
			   ttlog__host_listener_stalls(i, &ls[i].stalls) == 0;
	for (size_t i = 0; i < v->ninputs; i++) {
		if (v->inputs[i] == NULL)
			continue;
		ttlog__input_get_stats(v->inputs[i], &is[i].s);
		is[i].ok = 1;
	}
	render_library(out);
	render_listeners(v, ls, out);
	render_plugin_metrics(v, out);
	ttlog__metrics_render_inputs(v, is, out);
	ttlog__metrics_render_file_lags(v, out);
	ttlog__metrics_render_kafka(v, is, out);
	render_processors(v, out);
	if (v->http != NULL)
		render_http(v->http, out);
	render_batches(v, out);
	render_agent(v, out);
	free(ls);
	free(is);
	return out->oom ? TTLOG_ENOMEM : 0;
}

/* ------------------------------------------------------------------ */
/* Health                                                               */
/* ------------------------------------------------------------------ */

static uint64_t since_s(uint64_t now_ns, uint64_t then_ns)
{
	/* A clock stepped back reads as "just now", not as 584 years. */
	return now_ns > then_ns ? (now_ns - then_ns) / 1000000000u : 0;
}

int ttlog__health_render(const struct ttlog__agent_view *v, uint64_t now_ns,
			 struct ttlog__buf *out)
{
	uint64_t limit_ns;
	int unhealthy = 0;

	if (v == NULL || out == NULL)
		return 500;
	limit_ns = v->unhealthy_after_ms * 1000000u;
	for (size_t i = 0; i < v->nlisteners; i++) {
		uint64_t t = v->listener_failing_since_ns
				     ? v->listener_failing_since_ns[i]
				     : 0;
		if (t != 0 && now_ns > t && now_ns - t > limit_ns)
			unhealthy = 1;
	}
	ttlog__buf_puts(out, "{\"status\":");
	ttlog__buf_puts(out, unhealthy ? "\"failing\"" : "\"ok\"");
	ttlog__buf_puts(out, ",\"service\":");
	put_json_string(out, v->service);
	ttlog__metrics_putf(out, ",\"uptime_s\":%" PRIu64 ",\"inputs\":[",
			    since_s(now_ns, v->start_time_ns));
	for (size_t i = 0; i < v->ninputs; i++) {
		struct ttlog__input_stats s;

		memset(&s, 0, sizeof(s));
		if (v->inputs[i] != NULL)
			ttlog__input_get_stats(v->inputs[i], &s);
		ttlog__buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		put_json_string(out, v->input_names[i]);
		ttlog__buf_puts(out, ",\"type\":");
		put_json_string(out, v->input_types[i]);
		ttlog__metrics_putf(
			out, ",\"connections\":%" PRIu64 ",\"paused\":%s}",
			s.connections, s.paused ? "true" : "false");
	}
	ttlog__buf_puts(out, "],\"listeners\":[");
	for (size_t i = 0; i < v->nlisteners; i++) {
		uint64_t t = v->listener_failing_since_ns
				     ? v->listener_failing_since_ns[i]
				     : 0;

		/* A listener reads "failing" from its first failure on; the
		 * whole agent only once that lasted unhealthy_after. */
		ttlog__buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		put_json_string(out, v->listener_names[i]);
		ttlog__metrics_putf(
			out, ",\"state\":\"%s\",\"failing_for_s\":%" PRIu64 "}",
			t ? "failing" : "ok", t ? since_s(now_ns, t) : 0);
	}
	ttlog__buf_puts(out, "]}\n");
	if (out->oom)
		return 500;
	return unhealthy ? 503 : 200;
}
