/*
 * reload.c - SIGHUP: the new configuration is built beside the running
 * one and swapped in on the writer thread; listeners and inputs whose
 * section did not change keep their files, connections and sockets.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "agent_main.h"
#include "host_internal.h"

struct swap {
	struct agent *cur, *next;
	int *keep_input; /* per next input: index of the current one or -1 */
	int errors;
};

/* Writer thread: inputs that stay keep their sockets; removed ones stop
 * (handing on what they read) before new ones bind, so an address can move
 * from one input to another. Then the agent's view changes over. */
static int swap_inputs(struct event_base *base, void *arg)
{
	struct swap *w = arg;
	struct agent *c = w->cur, *n = w->next;
	unsigned char *kept = calloc(c->ninputs ? c->ninputs : 1, 1);

	if (kept == NULL)
		return TTLOG_ENOMEM;
	for (size_t i = 0; i < n->ninputs; i++)
		if (w->keep_input[i] >= 0)
			kept[w->keep_input[i]] = 1;
	for (size_t k = 0; k < c->ninputs; k++)
		if (!kept[k] && c->inputs[k] != NULL) {
			ttlog__input_stop(c->inputs[k]);
			c->inputs[k] = NULL;
		}
	for (size_t i = 0; i < n->ninputs; i++) {
		if (w->keep_input[i] >= 0) {
			n->inputs[i] = c->inputs[w->keep_input[i]];
			c->inputs[w->keep_input[i]] = NULL;
		} else if (ttlog__input_start(base, c->view.writer,
					      n->input_opts[i], (uint32_t)i + 1,
					      &n->inputs[i], n->err,
					      sizeof(n->err)) != 0) {
			TTLOG_ERROR("reload: input not started",
				    TTLOG_KV("input", n->input_names[i]),
				    TTLOG_KV("reason", n->err));
			w->errors++;
		}
	}
	free(kept);
	/* The view and the health state, read on this thread, change in
	 * one step. */
	size_t nl = n->pipeline->n ? n->pipeline->n : 1;
	uint64_t *fs = calloc(nl, sizeof(uint64_t));
	uint64_t *le = calloc(nl, sizeof(uint64_t));
	uint64_t *lr = calloc(nl, sizeof(uint64_t));
	if (!fs || !le || !lr) {
		free(fs);
		free(le);
		free(lr);
		return TTLOG_ENOMEM;
	}
	free(n->failing_since);
	free(n->last_errors);
	free(n->last_retries);
	n->failing_since = fs;
	n->last_errors = le;
	n->last_retries = lr;
	n->view = c->view;
	n->view.service = n->pipeline->service;
	n->view.ninputs = n->ninputs;
	n->view.input_names = n->input_names;
	n->view.input_types = n->input_types;
	n->view.inputs = n->inputs;
	n->view.nlisteners = n->pipeline->n;
	n->view.listener_names = (const char *const *)n->pipeline->names;
	n->view.listener_failing_since_ns = n->failing_since;
	n->view.unhealthy_after_ms = agent_svc(n->pipeline)->unhealthy_after_ms;
	n->view.reloads++;
	n->view.reload_errors += (uint64_t)w->errors;
	n->http = c->http;
	n->health_timer = c->health_timer;
	c->http = NULL;
	c->health_timer = NULL;
	if (n->http != NULL)
		ttlog__http_set_view(n->http, &n->view);
	/* Re-aimed at the new agent; libevent requires it not pending. */
	event_del(n->health_timer);
	event_assign(n->health_timer, base, -1, EV_PERSIST, agent_health_tick,
		     n);
	struct timeval second = {1, 0};
	event_add(n->health_timer, &second);
	return 0;
}

static int count_reload_error(struct event_base *base, void *arg)
{
	(void)base;
	((struct agent *)arg)->view.reload_errors++;
	return 0;
}

static int differ(const char *x, const char *y)
{
	return (x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0);
}

/* The service settings a running agent cannot change: say which ones a
 * reload did not apply, rather than let them look applied. */
static void warn_restart_only(const struct ttlog__pipeline *o,
			      const struct ttlog__pipeline *n)
{
	const char *changed[12];
	size_t k = 0;

	if (o->opts.ring_bytes != n->opts.ring_bytes)
		changed[k++] = "ring_size";
	if (o->opts.max_value_bytes != n->opts.max_value_bytes)
		changed[k++] = "max_value_size";
	if (o->opts.flush_interval_ms != n->opts.flush_interval_ms)
		changed[k++] = "flush_interval";
	if (o->opts.batch_max_events != n->opts.batch_max_events ||
	    o->opts.batch_max_bytes != n->opts.batch_max_bytes)
		changed[k++] = "batch";
	if (o->opts.clock != n->opts.clock)
		changed[k++] = "clock";
	if (differ(o->plugin_dir, n->plugin_dir))
		changed[k++] = "plugin_dir";
	if (differ(agent_svc(o)->http_listen, agent_svc(n)->http_listen))
		changed[k++] = "http.listen";
	if (differ(agent_svc(o)->user, agent_svc(n)->user))
		changed[k++] = "user";
	if (agent_svc(o)->shutdown_timeout_ms !=
	    agent_svc(n)->shutdown_timeout_ms)
		changed[k++] = "shutdown_timeout";
	if (differ(o->snapshot_dir, n->snapshot_dir) ||
	    o->opts.snapshot_history_bytes != n->opts.snapshot_history_bytes ||
	    o->opts.snapshot_interval_ms != n->opts.snapshot_interval_ms ||
	    o->opts.snapshot_keep != n->opts.snapshot_keep ||
	    o->opts.snapshot_max_bytes != n->opts.snapshot_max_bytes ||
	    o->opts.snapshot_on_crash != n->opts.snapshot_on_crash)
		changed[k++] = "snapshot";
	for (size_t i = 0; i < k; i++)
		TTLOG_WARN("reload: this service setting applies only after a "
			   "restart",
			   TTLOG_KV("setting", changed[i]));
}

/* SIGHUP: builds the new configuration beside the running one; on any
 * error logs it and keeps running as before. Listeners and inputs whose
 * section did not change keep their files, connections and sockets. */
void agent_reload(struct agent **ap, const char *file)
{
	struct agent *a = *ap, *n = calloc(1, sizeof(*n));
	int *keep_l = NULL, *keep_i = NULL;
	int rc;

	if (n == NULL || agent_load(n, file) != 0) {
		TTLOG_ERROR("reload failed: the running configuration stays",
			    TTLOG_KV("file", file ? file : "(embedded)"));
		ttlog__host_call(a->view.writer, count_reload_error, a);
		free(n);
		return;
	}
	keep_l = calloc(n->pipeline->n + 1, sizeof(int));
	keep_i = calloc(n->ninputs + 1, sizeof(int));
	unsigned char *used_l = calloc(a->pipeline->n + 1, 1);
	unsigned char *used_i = calloc(a->ninputs + 1, 1);
	for (size_t i = 0; keep_l && used_l && i < n->pipeline->n; i++) {
		keep_l[i] = -1;
		for (size_t k = 0; k < a->pipeline->n; k++)
			if (!used_l[k] && a->pipeline->fingerprints[k] &&
			    n->pipeline->fingerprints[i] &&
			    strcmp(a->pipeline->fingerprints[k],
				   n->pipeline->fingerprints[i]) == 0) {
				keep_l[i] = (int)k;
				used_l[k] = 1;
				break;
			}
	}
	for (size_t i = 0; keep_i && used_i && i < n->ninputs; i++) {
		keep_i[i] = -1;
		for (size_t k = 0; k < a->ninputs; k++)
			if (!used_i[k] &&
			    strcmp(a->input_fps[k], n->input_fps[i]) == 0) {
				keep_i[i] = (int)k;
				used_i[k] = 1;
				break;
			}
	}
	free(used_l);
	free(used_i);
	rc = keep_l && keep_i
		     ? ttlog__host_reconfigure(a->view.writer,
					       &n->pipeline->opts, keep_l)
		     : TTLOG_ENOMEM;
	if (rc != 0) {
		TTLOG_ERROR(
			"reload failed: the running configuration stays",
			TTLOG_KV("file", file ? file : "(embedded)"),
			TTLOG_KV("reason", ttlog_strerror(rc)),
			TTLOG_KV("listener", rc == TTLOG_ELISTENER
						     ? ttlog__listener_failure()
						     : ""));
		ttlog__host_call(a->view.writer, count_reload_error, a);
		ttlog__pipeline_release(n->pipeline);
		free(n->pipeline);
		agent_free_inputs(n);
		free(n);
		free(keep_l);
		free(keep_i);
		return;
	}
	/* A kept listener runs the code of the plugin loaded for the old
	 * configuration: the new one takes over that handle. */
	for (size_t i = 0; i < n->pipeline->n; i++)
		if (keep_l[i] >= 0) {
			struct ttlog__plugin t = n->pipeline->plugins[i];
			n->pipeline->plugins[i] =
				a->pipeline->plugins[keep_l[i]];
			a->pipeline->plugins[keep_l[i]] = t;
		}
	ttlog__pipeline_drop_options(n->pipeline);
	struct swap w = {a, n, keep_i, 0};
	ttlog__host_call(a->view.writer, swap_inputs, &w);
	ttlog_set_level(n->pipeline->opts.level);
	warn_restart_only(a->pipeline, n->pipeline);
	TTLOG_INFO("configuration reloaded",
		   TTLOG_KV("file", file ? file : "(embedded)"),
		   TTLOG_KV("listeners", (uint64_t)n->pipeline->n),
		   TTLOG_KV("inputs", (uint64_t)n->ninputs),
		   TTLOG_KV("input_errors", w.errors));
	ttlog__pipeline_release(a->pipeline);
	free(a->pipeline);
	agent_free_inputs(a);
	free(a);
	*ap = n;
	free(keep_l);
	free(keep_i);
}
