/*
 * main.c - ttlog-agent: receives logs on its inputs and hands them to the
 * same listeners an application uses.
 *
 *   ttlog-agent [-c FILE] [--check [FILE]] [--health [HOST:PORT]]
 *               [--plugin-help NAME] [--version] [-v]
 *
 * Everything that touches sockets runs on libttlog's writer thread (the
 * inputs and the HTTP endpoint are set up there with ttlog__host_call);
 * the main thread only waits for signals and turns them into requests:
 * SIGTERM/SIGINT drain and exit, SIGHUP reloads the configuration, SIGUSR1
 * writes a snapshot, SIGUSR2 reopens output files. The agent
 * logs about itself through its own pipeline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttlog/ttlog.h>

#include "agent_internal.h"
#include "buf.h"
#include "host_internal.h"
#include "registry_internal.h"

extern const char ttlog__agent_default_config[];

struct agent {
	struct ttlog__pipeline *pipeline;
	struct ttlog__input_opts **input_opts;
	char **input_fps; /* what makes an input the same after a reload */
	const char **input_names, **input_types;
	struct ttlog__input **inputs;
	size_t ninputs;
	struct ttlog__http *http;
	uint64_t *failing_since;
	struct ttlog__agent_view view;
	struct event *health_timer;
	uint64_t *last_errors, *last_retries;
	char err[1024];
	int verbose;
};

/* The agent's part of a built pipeline's service section. */
static const struct ttlog__agent_service *
agent_svc(const struct ttlog__pipeline *p)
{
	return p->claimed;
}

static void usage(FILE *f)
{
	/* README.md's "ttlog-agent" section shows this text verbatim
	 * (tests/readme/test_readme.py compares them). */
	fputs("usage: ttlog-agent [-c FILE] [--check [FILE]] "
	      "[--health [HOST:PORT]]\n"
	      "                   [--plugin-help NAME] [--version] [-v]\n"
	      "  -c FILE               the configuration (default: the "
	      "embedded one,\n"
	      "                        which --check -v prints)\n"
	      "  --check [FILE]        validate the configuration (FILE, -c "
	      "FILE or the\n"
	      "                        embedded one), its plugins and their "
	      "options;\n"
	      "                        exit 0 when valid, 1 when not\n"
	      "  --health [HOST:PORT]  ask a running agent's GET /health (at "
	      "HOST:PORT,\n"
	      "                        else at service.http.listen of the "
	      "configuration);\n"
	      "                        exit 0 when healthy, 1 when not or "
	      "unreachable\n"
	      "  --plugin-help NAME    the options of listener type NAME\n"
	      "  --version             print the version\n"
	      "  -v                    more detail (with --check: print the "
	      "embedded\n"
	      "                        configuration)\n",
	      f);
}

/* ---- configuration ---- */

/* The inputs section: each entry through the input option table. */
static int build_inputs(const struct ttlog__cfg_node *root, struct agent *a,
			struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *in = ttlog__cfg_get(root, "inputs");
	size_t before = d->n;

	if (in == NULL)
		return 0;
	if (in->kind != TTLOG__CFG_SEQ) {
		ttlog__diag_add(d, in, "inputs",
				"expected a list of inputs (each item starts "
				"with \"- name: ...\")");
		return -1;
	}
	a->input_opts = calloc(in->n ? in->n : 1, sizeof(*a->input_opts));
	a->input_names = calloc(in->n ? in->n : 1, sizeof(char *));
	a->input_types = calloc(in->n ? in->n : 1, sizeof(char *));
	a->inputs = calloc(in->n ? in->n : 1, sizeof(*a->inputs));
	a->input_fps = calloc(in->n ? in->n : 1, sizeof(char *));
	if (!a->input_opts || !a->input_names || !a->input_types ||
	    !a->inputs || !a->input_fps) {
		ttlog__diag_add(d, in, "inputs", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < in->n; i++) {
		char path[64];
		struct ttlog__input_opts *o;
		snprintf(path, sizeof(path), "inputs[%zu]", i);
		o = ttlog__options_apply(&ttlog__input_table, in->vals[i], path,
					 NULL, d);
		if (o == NULL)
			continue;
		for (size_t k = 0; k < a->ninputs; k++)
			if (strcmp(a->input_opts[k]->name, o->name) == 0)
				ttlog__diag_add(
					d, ttlog__cfg_get(in->vals[i], "name"),
					path,
					"an input named \"%s\" is "
					"already defined",
					o->name);
		if (o->type != TTLOG__INPUT_STDIN && o->listen == NULL)
			ttlog__diag_add(d, in->vals[i], path,
					"missing \"listen\" (for example "
					"tcp://127.0.0.1:5514)");
		struct ttlog__buf fp = {0};
		ttlog__cfg_fingerprint(in->vals[i], &fp);
		ttlog__buf_putc(&fp, 0);
		a->input_fps[a->ninputs] = (char *)fp.p;
		a->input_opts[a->ninputs] = o;
		a->input_names[a->ninputs] = o->name;
		a->input_types[a->ninputs] = ttlog__input_type_name(o->type);
		a->ninputs++;
	}
	return d->n > before ? -1 : 0;
}

static void free_inputs(struct agent *a)
{
	for (size_t i = 0; i < a->ninputs; i++) {
		ttlog__options_free(&ttlog__input_table, a->input_opts[i]);
		free(a->input_fps ? a->input_fps[i] : NULL);
	}
	free(a->input_fps);
	a->input_fps = NULL;
	free(a->input_opts);
	free(a->input_names);
	free(a->input_types);
	free(a->inputs);
	free(a->failing_since);
	free(a->last_errors);
	free(a->last_retries);
	a->input_opts = NULL;
	a->ninputs = 0;
}

/* Loads FILE (or the embedded default) into a->pipeline and the inputs;
 * prints every problem. Returns 0 or -1. */
static int load(struct agent *a, const char *file)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;

	a->pipeline = calloc(1, sizeof(*a->pipeline));
	if (a->pipeline == NULL)
		return -1;
	doc = file ? ttlog__cfg_load_file(file, &d)
		   : ttlog__cfg_load_string("(embedded configuration)",
					    ttlog__agent_default_config,
					    strlen(ttlog__agent_default_config),
					    &d);
	if (doc != NULL) {
		/* Both, so that every problem is reported in one run. */
		(void)ttlog__pipeline_build(ttlog__cfg_root(doc),
					    &ttlog__agent_claims, a->pipeline,
					    &d);
		(void)build_inputs(ttlog__cfg_root(doc), a, &d);
	}
	ttlog__cfg_free(doc);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "ttlog-agent: %s\n", d.msgs[i]);
	if (d.n > 0) {
		ttlog__diag_free(&d);
		ttlog__pipeline_release(a->pipeline);
		free(a->pipeline);
		a->pipeline = NULL;
		free_inputs(a);
		return -1;
	}
	return 0;
}

/* ---- on the writer thread ---- */

/* A listener is failing while it keeps dropping batches with errors,
 * answering RETRY, or holding a backlog; /health reports how long. */
static void health_tick(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	uint64_t now = 0;
	(void)fd;
	(void)what;

	for (size_t i = 0; i < a->pipeline->n; i++) {
		struct ttlog_listener_stats ls;
		if (ttlog_listener_stats(i, &ls) != 0)
			continue;
		int bad = ls.dropped_error > a->last_errors[i] ||
			  ls.retries > a->last_retries[i] || ls.queue_bytes > 0;
		a->last_errors[i] = ls.dropped_error;
		a->last_retries[i] = ls.retries;
		if (bad && a->failing_since[i] == 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			now = (uint64_t)ts.tv_sec * 1000000000u +
			      (uint64_t)ts.tv_nsec;
			a->failing_since[i] = now;
			TTLOG_WARN("listener failing",
				   TTLOG_KV("listener", a->pipeline->names[i]),
				   TTLOG_KV("errors", ls.dropped_error),
				   TTLOG_KV("queue_bytes", ls.queue_bytes));
		} else if (!bad && a->failing_since[i] != 0) {
			a->failing_since[i] = 0;
			TTLOG_INFO("listener recovered",
				   TTLOG_KV("listener", a->pipeline->names[i]));
		}
	}
}

static int start_io(struct event_base *base, void *arg)
{
	struct agent *a = arg;
	struct timeval second = {1, 0};

	a->health_timer = event_new(base, -1, EV_PERSIST, health_tick, a);
	if (a->health_timer == NULL || event_add(a->health_timer, &second)) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < a->ninputs; i++) {
		if (ttlog__input_start(base, a->view.writer, a->input_opts[i],
				       (uint32_t)i + 1, &a->inputs[i], a->err,
				       sizeof(a->err)) != 0)
			return -1;
	}
	if (agent_svc(a->pipeline)->http_listen != NULL &&
	    ttlog__http_start(base, agent_svc(a->pipeline)->http_listen,
			      &a->view, &a->http, a->err, sizeof(a->err)) != 0)
		return -1;
	return 0;
}

/* Stops the inputs (they hand on what they already read) and HTTP. */
static int stop_io(struct event_base *base, void *arg)
{
	struct agent *a = arg;
	(void)base;

	for (size_t i = 0; i < a->ninputs; i++)
		if (a->inputs[i] != NULL) {
			ttlog__input_stop(a->inputs[i]);
			a->inputs[i] = NULL;
		}
	if (a->http != NULL) {
		ttlog__http_stop(a->http);
		a->http = NULL;
	}
	if (a->health_timer != NULL) {
		event_free(a->health_timer);
		a->health_timer = NULL;
	}
	return 0;
}

/* ---- process ---- */

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		fprintf(stderr, "ttlog-agent: service.user: no user \"%s\"\n",
			user);
		return -1;
	}
	if (getuid() == pw->pw_uid)
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr,
			"ttlog-agent: service.user: cannot become %s: %s\n",
			user, strerror(errno));
		return -1;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Ends the process if the graceful drain takes longer than allowed. */
static void *watchdog(void *arg)
{
	uint64_t ms = *(uint64_t *)arg;
	struct timespec ts = {(time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	fprintf(stderr,
		"ttlog-agent: drain did not finish within shutdown_timeout "
		"(%llu ms); exiting with what is not yet delivered lost\n",
		(unsigned long long)ms);
	_exit(1);
	return NULL;
}

static void reload(struct agent **ap, const char *file);

/* SIGUSR1: a snapshot of the agent's recent events (its own log and what
 * it relayed), when service.snapshot.dir is set. */
static void snapshot_now(void)
{
	struct ttlog_snapshot_stats st;
	int rc =
		ttlog__host_snapshot(ttlog__host_writer(), "signal", "SIGUSR1");

	if (rc == TTLOG_EINVAL) {
		TTLOG_WARN("SIGUSR1: no snapshot, service.snapshot.dir is not "
			   "set");
		return;
	}
	ttlog_snapshot_stats(&st);
	if (rc == 0)
		TTLOG_INFO("snapshot written",
			   TTLOG_KV("file", (const char *)st.last_file),
			   TTLOG_KV("events", st.events));
	else
		TTLOG_ERROR("snapshot failed",
			    TTLOG_KV("error", (const char *)st.last_error));
}

static int run(struct agent **ap, const char *file)
{
	struct agent *a = *ap;
	sigset_t sigs;
	int sig, rc;
	uint64_t timeout;

	/* Signals are taken by sigwait() in this thread only: block them
	 * before any thread exists, so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	size_t nl = a->pipeline->n ? a->pipeline->n : 1;
	a->failing_since = calloc(nl, sizeof(uint64_t));
	a->last_errors = calloc(nl, sizeof(uint64_t));
	a->last_retries = calloc(nl, sizeof(uint64_t));
	if (!a->failing_since || !a->last_errors || !a->last_retries)
		return 1;
	a->view = (struct ttlog__agent_view){
		.version = TTLOG_VERSION_STRING,
		.service = a->pipeline->service,
		.start_time_ns = now_ns(),
		.ninputs = a->ninputs,
		.input_names = a->input_names,
		.input_types = a->input_types,
		.inputs = a->inputs,
		.nlisteners = a->pipeline->n,
		.listener_names = (const char *const *)a->pipeline->names,
		.listener_failing_since_ns = a->failing_since,
		.unhealthy_after_ms =
			agent_svc(a->pipeline)->unhealthy_after_ms,
	};
	timeout = agent_svc(a->pipeline)->shutdown_timeout_ms;
	rc = ttlog__host_start(&a->pipeline->opts, NULL, NULL, &a->view.writer);
	if (rc != 0) {
		const char *who = ttlog__listener_failure();
		fprintf(stderr, "ttlog-agent: cannot start: %s%s%s\n",
			ttlog_strerror(rc), who[0] ? ": " : "", who);
		return 1;
	}
	ttlog__pipeline_drop_options(a->pipeline);
	if (ttlog__host_call(a->view.writer, start_io, a) != 0) {
		fprintf(stderr, "ttlog-agent: %s\n", a->err);
		ttlog__host_call(a->view.writer, stop_io, a);
		ttlog_shutdown();
		return 1;
	}
	if (agent_svc(a->pipeline)->user != NULL &&
	    drop_privileges(agent_svc(a->pipeline)->user)) {
		ttlog__host_call(a->view.writer, stop_io, a);
		ttlog_shutdown();
		return 1;
	}
	for (size_t i = 0; i < a->ninputs; i++)
		fprintf(stderr, "ttlog-agent: input %s (%s) on %s\n",
			a->input_names[i], a->input_types[i],
			a->input_opts[i]->listen ? a->input_opts[i]->listen
						 : "stdin");
	if (agent_svc(a->pipeline)->http_listen != NULL)
		fprintf(stderr,
			"ttlog-agent: health and metrics on http://%s/\n",
			agent_svc(a->pipeline)->http_listen);
	TTLOG_INFO("agent started", TTLOG_KV("version", TTLOG_VERSION_STRING),
		   TTLOG_KV("inputs", (uint64_t)a->ninputs),
		   TTLOG_KV("listeners", (uint64_t)a->pipeline->n));

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGUSR2) {
			TTLOG_INFO("reopening output files");
			ttlog_reopen();
			continue;
		}
		if (sig == SIGUSR1) {
			snapshot_now();
			continue;
		}
		if (sig == SIGHUP) {
			reload(ap, file);
			a = *ap;
			continue;
		}
		break;
	}
	TTLOG_INFO("agent stopping", TTLOG_KV("signal", strsignal(sig)));
	pthread_t wd;
	/* Static: the watchdog may first run after this function returned
	 * (found by the forwarding tests: it read a dead stack slot as 0 ms
	 * and ended a clean shutdown with status 1). */
	static uint64_t wd_timeout;
	wd_timeout = timeout;
	if (timeout > 0)
		pthread_create(&wd, NULL, watchdog, &wd_timeout);
	/* Stop reading (what is buffered is handed on), then drain rings
	 * and queues and flush every listener. */
	ttlog__host_call(a->view.writer, stop_io, a);
	ttlog_shutdown();
	return 0;
}

/* ---- reload ---- */

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
	event_assign(n->health_timer, base, -1, EV_PERSIST, health_tick, n);
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
static void reload(struct agent **ap, const char *file)
{
	struct agent *a = *ap, *n = calloc(1, sizeof(*n));
	int *keep_l = NULL, *keep_i = NULL;
	int rc;

	if (n == NULL || load(n, file) != 0) {
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
		free_inputs(n);
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
	free_inputs(a);
	free(a);
	*ap = n;
	free(keep_l);
	free(keep_i);
}

static int plugin_help(const char *name, struct agent *a)
{
	char err[1024];
	struct ttlog__plugin p;
	const char *dir = a->pipeline && a->pipeline->plugin_dir
				  ? a->pipeline->plugin_dir
				  : ttlog__default_plugin_dir();

	if (ttlog__plugin_load(dir, name, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "ttlog-agent: %s\n", err);
		return 1;
	}
	ttlog__options_help(TTLOG__OPTIONS_OF(p.api), stdout);
	printf("\nCommon to every listener:\n");
	printf("  name, type or plugin, level, queue.max_bytes, "
	       "queue.policy (see conf/ttlog.yaml)\n");
	ttlog__plugin_unload(&p);
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *help = NULL, *health_at = NULL;
	int check = 0, health = 0, rc;
	struct agent *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "--check") == 0) {
			check = 1;
			/* `--check FILE` as well as `-c FILE --check`. */
			if (i + 1 < argc && argv[i + 1][0] != '-' &&
			    file == NULL)
				file = argv[++i];
		} else if (strcmp(argv[i], "--health") == 0) {
			health = 1;
			if (i + 1 < argc && argv[i + 1][0] != '-')
				health_at = argv[++i];
		} else if (strcmp(argv[i], "--plugin-help") == 0 &&
			   i + 1 < argc)
			help = argv[++i];
		else if (strcmp(argv[i], "--version") == 0) {
			printf("ttlog-agent %s (listener ABI %u.%u)\n",
			       TTLOG_VERSION_STRING, TTLOG_LISTENER_ABI_MAJOR,
			       TTLOG_LISTENER_ABI_MINOR);
			return 0;
		} else if (strcmp(argv[i], "-v") == 0)
			a->verbose++;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "ttlog-agent: unknown argument: %s\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (help != NULL && file == NULL)
		return plugin_help(help, a);
	if (health && health_at != NULL) {
		free(a);
		return ttlog__agent_health_check(health_at, 5000);
	}
	if (load(a, file) != 0)
		return 1;
	if (health) {
		if (agent_svc(a->pipeline)->http_listen == NULL) {
			fprintf(stderr,
				"ttlog-agent: --health: %s sets no "
				"service.http.listen; give HOST:PORT\n",
				file ? file : "the embedded configuration");
			rc = 2;
		} else {
			rc = ttlog__agent_health_check(
				agent_svc(a->pipeline)->http_listen, 5000);
		}
		ttlog__pipeline_release(a->pipeline);
		free(a->pipeline);
		free_inputs(a);
		free(a);
		return rc;
	}
	if (help != NULL)
		rc = plugin_help(help, a);
	else if (check) {
		if (a->verbose && file == NULL)
			fputs(ttlog__agent_default_config, stdout);
		printf("%s: ok (%zu inputs, %zu listeners)\n",
		       file ? file : "(embedded configuration)", a->ninputs,
		       a->pipeline->n);
		rc = 0;
	} else {
		rc = run(&a, file);
	}
	ttlog__pipeline_release(a->pipeline);
	free(a->pipeline);
	free_inputs(a);
	free(a);
	return rc;
}
