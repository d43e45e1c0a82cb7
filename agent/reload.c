/*
 * reload.c - SIGHUP: the new configuration is built beside the running one
 * and takes over all at once or not at all: (a) the file is loaded and
 * its option tables applied; (b) on the writer thread, every new input is
 * prepared (checked, TLS context built, socket bound, not accepting) and
 * every kept input's changes are built; (c) the listeners are swapped
 * (core: ttlog__host_reconfigure()); (d) on the writer thread, removed
 * inputs stop, kept ones take their new options and new ones start
 * accepting. A failure at (a) to (c) undoes what (b) prepared and leaves
 * everything running as it was. An input is kept when its socket (listen
 * address) is unchanged; a listener when its section is.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ttlog/ttlog.h>

#include "agent_main.h"
#include "host_internal.h"

struct plan {
	struct agent *cur, *next;
	int *keep_input; /* per next input: index of the current one or -1 */
	struct ttlog__input_update **upd; /* per kept next input */
	size_t failed;			  /* the next input that failed (b) */
	uint64_t writer_ns;		  /* time (b) and (d) took */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writer thread, (a) failed or anything after: undoes (b). */
static int unprepare(struct event_base *base, void *arg)
{
	struct plan *p = arg;
	(void)base;

	for (size_t i = 0; i < p->next->ninputs; i++) {
		if (p->keep_input[i] < 0 && p->next->inputs[i] != NULL)
			ttlog__input_remove(p->next->inputs[i]);
		p->next->inputs[i] = NULL;
		ttlog__input_update_free(p->upd[i]);
		p->upd[i] = NULL;
	}
	return 0;
}

/* Writer thread, (b): everything that can fail, nothing anyone sees. */
static int prepare_inputs(struct event_base *base, void *arg)
{
	struct plan *p = arg;
	struct agent *c = p->cur, *n = p->next;
	uint64_t t0 = mono_ns();
	int rc = 0;

	for (size_t i = 0; i < n->ninputs && rc == 0; i++) {
		p->failed = i;
		if (p->keep_input[i] >= 0)
			rc = ttlog__input_update_prepare(
				c->inputs[p->keep_input[i]], n->input_opts[i],
				&p->upd[i], n->err, sizeof(n->err));
		else
			rc = ttlog__input_prepare(
				base, c->view.writer, n->input_opts[i],
				n->next_input_id++, &n->inputs[i], n->err,
				sizeof(n->err));
	}
	if (rc != 0)
		unprepare(base, p);
	p->writer_ns += mono_ns() - t0;
	return rc;
}

/* Writer thread, (d): cannot fail. Removed inputs read what their sockets
 * hold without waiting for more, kept ones change in place, new ones
 * accept; then the agent's view changes over in one step. */
static int commit_inputs(struct event_base *base, void *arg)
{
	struct plan *p = arg;
	struct agent *c = p->cur, *n = p->next;
	uint64_t t0 = mono_ns();

	for (size_t i = 0; i < n->ninputs; i++)
		if (p->keep_input[i] >= 0) {
			n->inputs[i] = c->inputs[p->keep_input[i]];
			c->inputs[p->keep_input[i]] = NULL;
		}
	for (size_t k = 0; k < c->ninputs; k++)
		if (c->inputs[k] != NULL) {
			ttlog__input_remove(c->inputs[k]);
			c->inputs[k] = NULL;
		}
	for (size_t i = 0; i < n->ninputs; i++)
		if (p->keep_input[i] >= 0) {
			ttlog__input_update_apply(n->inputs[i], p->upd[i]);
			p->upd[i] = NULL;
		} else if (n->inputs[i] != NULL) {
			ttlog__input_enable(n->inputs[i]);
		}
	n->view = c->view;
	/* From here on the ACKs owed are the new set's (removed inputs
	 * closed their connections: their senders resend). */
	agent_watch_taken(n);
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
	n->http = c->http;
	n->health_timer = c->health_timer;
	c->http = NULL;
	c->health_timer = NULL;
	if (n->http != NULL) {
		ttlog__http_set_view(n->http, &n->view);
		ttlog__http_set_limits(
			n->http, agent_svc(n->pipeline)->http_max_connections,
			agent_svc(n->pipeline)->http_max_connections_per_peer);
	}
	/* Re-aimed at the new agent; libevent requires it not pending. */
	event_del(n->health_timer);
	event_assign(n->health_timer, base, -1, EV_PERSIST, agent_health_tick,
		     n);
	struct timeval second = {1, 0};
	event_add(n->health_timer, &second);
	p->writer_ns += mono_ns() - t0;
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
	/* A kept ttlog input keeps the state file it opened. */
	if (differ(agent_svc(o)->state_dir, agent_svc(n)->state_dir))
		changed[k++] = "state_dir";
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

static int count_reload_error(struct event_base *base, void *arg)
{
	(void)base;
	((struct agent *)arg)->view.reload_errors++;
	return 0;
}

/* Says why a reload was refused, in the agent's own log, and counts it. */
static void refused(struct agent *a, const char *file, const char *reason,
		    const char *input, const char *listener, const char *where)
{
	TTLOG_ERROR("reload failed: the running configuration stays",
		    TTLOG_KV("file", file ? file : "(embedded)"),
		    TTLOG_KV("reason", reason), TTLOG_KV("input", input),
		    TTLOG_KV("listener", listener), TTLOG_KV("at", where));
	ttlog__host_call(a->view.writer, count_reload_error, a);
}

static void free_next(struct agent *n)
{
	if (n->pipeline != NULL) {
		ttlog__pipeline_release(n->pipeline);
		free(n->pipeline);
	}
	agent_free_inputs(n);
	free(n);
}

/* FILE:LINE:COL of the listener ttlog__listener_failure() names
 * ("listener NAME (type ...): ..."), or "". */
static const char *failed_listener_at(const struct agent *n)
{
	const char *f = ttlog__listener_failure();

	for (size_t i = 0; n->listener_where && i < n->pipeline->n; i++) {
		size_t len = strlen(n->pipeline->names[i]);
		if (strncmp(f, "listener ", 9) == 0 &&
		    strncmp(f + 9, n->pipeline->names[i], len) == 0 &&
		    strncmp(f + 9 + len, " (", 2) == 0 && n->listener_where[i])
			return n->listener_where[i];
	}
	return "";
}

/* Which current listener each new one continues: the one whose section
 * (and plugin file) is the same, or -1. */
static void match_listeners(const struct ttlog__pipeline *o,
			    const struct ttlog__pipeline *n, int *keep,
			    unsigned char *used)
{
	for (size_t i = 0; i < n->n; i++) {
		keep[i] = -1;
		for (size_t k = 0; k < o->n; k++)
			if (!used[k] && o->fingerprints[k] &&
			    n->fingerprints[i] &&
			    strcmp(o->fingerprints[k], n->fingerprints[i]) ==
				    0) {
				keep[i] = (int)k;
				used[k] = 1;
				break;
			}
	}
}

/* Which current input each new one continues: the one on the same socket,
 * whatever else changed, or -1. */
static void match_inputs(const struct agent *a, const struct agent *n,
			 int *keep, unsigned char *used)
{
	for (size_t i = 0; i < n->ninputs; i++) {
		keep[i] = -1;
		for (size_t k = 0; k < a->ninputs; k++)
			if (!used[k] && a->inputs[k] != NULL &&
			    n->input_keys[i][0] != '\0' &&
			    strcmp(a->input_keys[k], n->input_keys[i]) == 0) {
				keep[i] = (int)k;
				used[k] = 1;
				break;
			}
	}
}

/* After a reload: the plugins of the listeners that were not kept move to
 * n->retired with those of earlier reloads, unless the writer says no
 * replaced listener is still delivering: then they are unloaded now. */
static void retire_plugins(struct agent *a, struct agent *n,
			   const unsigned char *kept)
{
	size_t add = 0;

	for (size_t k = 0; k < a->pipeline->n; k++)
		add += !kept[k];
	if (ttlog__host_retiring(a->view.writer) == 0) {
		for (size_t i = 0; i < a->nretired; i++)
			ttlog__plugin_unload(&a->retired[i]);
		a->nretired = 0;
		return; /* the old pipeline's release unloads the rest */
	}
	struct ttlog__plugin *r =
		realloc(a->retired, (a->nretired + add + 1) * sizeof(*r));
	if (r != NULL)
		a->retired = r;
	for (size_t k = 0; k < a->pipeline->n; k++)
		if (!kept[k]) {
			struct ttlog__plugin *p = &a->pipeline->plugins[k];
			/* Out of memory: never unloaded rather than too soon. */
			if (r != NULL)
				r[a->nretired++] = *p;
			/* The table stays for the release of its options. */
			p->handle = NULL;
			p->path = NULL;
			p->fd = -1;
		}
	n->retired = a->retired;
	n->nretired = a->nretired;
	a->retired = NULL;
	a->nretired = 0;
}

/* SIGHUP: see the top of the file. */
void agent_reload(struct agent **ap, const char *file)
{
	struct agent *a = *ap, *n = calloc(1, sizeof(*n));
	struct plan p = {0};
	int *keep_l = NULL;
	unsigned char *used_l = NULL, *used_i = NULL;
	uint64_t t0;
	int rc;

	if (n == NULL) {
		refused(a, file, "out of memory", "", "", "");
		return;
	}
	/* (a) */
	n->log_problems = 1;
	if (agent_load(n, file) != 0) {
		refused(a, file, n->err[0] ? n->err : "out of memory", "", "",
			"");
		free_next(n);
		return;
	}
	n->next_input_id =
		a->next_input_id ? a->next_input_id : (uint32_t)a->ninputs + 1;
	keep_l = calloc(n->pipeline->n + 1, sizeof(int));
	used_l = calloc(a->pipeline->n + 1, 1);
	used_i = calloc(a->ninputs + 1, 1);
	p.cur = a;
	p.next = n;
	p.keep_input = calloc(n->ninputs + 1, sizeof(int));
	p.upd = calloc(n->ninputs + 1, sizeof(*p.upd));
	/* The health state of the new listeners, read on the writer thread
	 * from (d) on. */
	size_t nl = n->pipeline->n ? n->pipeline->n : 1;
	n->failing_since = calloc(nl, sizeof(uint64_t));
	n->last_errors = calloc(nl, sizeof(uint64_t));
	n->last_retries = calloc(nl, sizeof(uint64_t));
	if (!keep_l || !used_l || !used_i || !p.keep_input || !p.upd ||
	    !n->failing_since || !n->last_errors || !n->last_retries) {
		refused(a, file, "out of memory", "", "", "");
		goto out;
	}
	match_listeners(a->pipeline, n->pipeline, keep_l, used_l);
	match_inputs(a, n, p.keep_input, used_i);
	/* (b) */
	rc = ttlog__host_call(a->view.writer, prepare_inputs, &p);
	if (rc != 0) {
		refused(a, file, n->err, n->input_names[p.failed], "",
			n->input_where[p.failed] ? n->input_where[p.failed]
						 : "");
		goto out;
	}
	/* (c) */
	t0 = mono_ns();
	rc = ttlog__host_reconfigure(a->view.writer, &n->pipeline->opts, keep_l,
				     n->pipeline->routing);
	uint64_t reconfigure_ns = mono_ns() - t0;
	if (rc != 0) {
		ttlog__host_call(a->view.writer, unprepare, &p);
		refused(a, file, ttlog_strerror(rc), "",
			rc == TTLOG_ELISTENER ? ttlog__listener_failure() : "",
			rc == TTLOG_ELISTENER ? failed_listener_at(n) : "");
		goto out;
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
	/* (d) */
	ttlog__host_call(a->view.writer, commit_inputs, &p);
	retire_plugins(a, n, used_l);
	ttlog_set_level(n->pipeline->opts.level);
	warn_restart_only(a->pipeline, n->pipeline);
	uint64_t ns = p.writer_ns + reconfigure_ns;
	size_t kept = 0;
	for (size_t i = 0; i < n->ninputs; i++)
		kept += p.keep_input[i] >= 0;
	TTLOG_INFO("configuration reloaded",
		   TTLOG_KV("file", file ? file : "(embedded)"),
		   TTLOG_KV("listeners", (uint64_t)n->pipeline->n),
		   TTLOG_KV("inputs", (uint64_t)n->ninputs),
		   TTLOG_KV("inputs_kept", (uint64_t)kept),
		   TTLOG_KV("duration_ms", (double)ns / 1e6));
	*ap = n;
	n = a;
out:
	free_next(n);
	free(keep_l);
	free(used_l);
	free(used_i);
	free(p.keep_input);
	free(p.upd);
}
