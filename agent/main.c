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
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttlog/ttlog.h>

#include "accept_guard.h"
#include "agent_main.h"
#include "host_internal.h"

/* The soft RLIMIT_NOFILE before and after raise_nofile(), for the log. */
static struct rlimit nofile_was, nofile_now;

/* Exit statuses (README.md, "ttlog-agent"): 0 a clean stop (and --check,
 * --health when ok); 1 a configuration, start or health failure; 2 a
 * wrong command line; AGENT_EXIT_LOST a stop with events lost. */
#define AGENT_EXIT_LOST 3

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

/* ---- on the writer thread ---- */

/* A listener is failing while it keeps dropping batches with errors,
 * answering RETRY, or holding a backlog; /health reports how long. */
void agent_health_tick(evutil_socket_t fd, short what, void *arg)
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

static void on_taken(void *arg, uint64_t taken)
{
	struct agent *a = arg;

	for (size_t i = 0; i < a->ninputs; i++)
		if (a->inputs[i] != NULL)
			ttlog__input_taken(a->inputs[i], taken);
}

void agent_watch_taken(struct agent *a)
{
	ttlog__host_on_taken(a->view.writer, on_taken, a);
	on_taken(a, ttlog__host_taken(a->view.writer));
}

void agent_unwatch_taken(struct agent *a)
{
	ttlog__host_on_taken(a->view.writer, NULL, NULL);
}

static int start_io(struct event_base *base, void *arg)
{
	struct agent *a = arg;
	struct timeval second = {1, 0};

	a->health_timer = event_new(base, -1, EV_PERSIST, agent_health_tick, a);
	if (a->health_timer == NULL || event_add(a->health_timer, &second)) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < a->ninputs; i++) {
		const struct ttlog__input_opts *o = a->input_opts[i];
		char why[600];
		if (ttlog__input_start(base, a->view.writer, o, (uint32_t)i + 1,
				       &a->inputs[i], why, sizeof(why)) != 0) {
			snprintf(a->err, sizeof(a->err),
				 "cannot start: input %.100s (%.200s): %s",
				 o->name, o->where, why);
			return -1;
		}
	}
	agent_watch_taken(a);
	if (agent_svc(a->pipeline)->http_listen != NULL) {
		if (ttlog__http_start(base, agent_svc(a->pipeline)->http_listen,
				      &a->view, &a->http, a->err,
				      sizeof(a->err)) != 0)
			return -1;
		ttlog__http_set_limits(
			a->http, agent_svc(a->pipeline)->http_max_connections,
			agent_svc(a->pipeline)->http_max_connections_per_peer);
		a->view.http = ttlog__http_get_stats(a->http);
	}
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
	agent_unwatch_taken(a);
	if (a->http != NULL) {
		a->view.http = NULL;
		ttlog__http_stop(a->http);
		a->http = NULL;
	}
	ttlog__fd_reserve_close();
	if (a->health_timer != NULL) {
		event_free(a->health_timer);
		a->health_timer = NULL;
	}
	return 0;
}

/* Events a listener held when the agent stopped: said per listener, and
 * the reason the exit status is AGENT_EXIT_LOST. A listener a reload
 * removed with events still held is said the same way (the running
 * agent's status is not affected). Writer thread. */
static _Atomic uint64_t lost_at_shutdown;

static void on_loss(void *arg, const char *listener, uint64_t events,
		    const char *reason, int at_shutdown)
{
	(void)arg;
	fprintf(stderr,
		"ttlog-agent: listener %s: %llu events lost at %s (%s)\n",
		listener, (unsigned long long)events,
		at_shutdown ? "shutdown" : "reload", reason);
	if (at_shutdown)
		atomic_fetch_add(&lost_at_shutdown, events);
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

/* The writer ends the drain at shutdown_timeout and states what each
 * listener lost (on_loss). This is the backstop for a listener that does
 * not return from flush() or destroy(): WATCHDOG_GRACE_MS later the
 * process ends, without the counts. */
#define WATCHDOG_GRACE_MS 5000u

static void *watchdog(void *arg)
{
	uint64_t ms = *(uint64_t *)arg + WATCHDOG_GRACE_MS;
	struct timespec ts = {(time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	fprintf(stderr,
		"ttlog-agent: a listener did not finish within "
		"shutdown_timeout "
		"+ %u ms; exiting with what is not yet delivered lost "
		"(uncounted)\n",
		WATCHDOG_GRACE_MS);
	_exit(AGENT_EXIT_LOST);
	return NULL;
}

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

/* "cannot start: listener NAME (FILE:LINE): reason" for the listener
 * that failed, with its own last error as the reason when it gave one. */
static void report_start_failure(const struct ttlog__pipeline *p, int rc)
{
	const char *name, *why;

	ttlog__listener_failure_parts(&name, &why);
	if (name[0] == 0)
		fprintf(stderr, "ttlog-agent: cannot start: %s\n",
			ttlog_strerror(rc));
	else
		fprintf(stderr,
			"ttlog-agent: cannot start: listener %s (%s): %s\n",
			name, ttlog__pipeline_where(p, name), why);
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
	rc = ttlog__host_start(&a->pipeline->opts, a->pipeline->routing, NULL,
			       NULL, &a->view.writer);
	if (rc != 0) {
		report_start_failure(a->pipeline, rc);
		return 1;
	}
	ttlog__pipeline_drop_options(a->pipeline);
	(void)ttlog__host_on_loss(a->view.writer, on_loss, NULL, timeout);
	if (ttlog__host_call(a->view.writer, start_io, a) != 0) {
		fprintf(stderr, "ttlog-agent: %s\n", a->err);
		ttlog__host_call(a->view.writer, stop_io, a);
		ttlog_shutdown();
		ttlog__journal_after_shutdown(0);
		return 1;
	}
	if (agent_svc(a->pipeline)->user != NULL &&
	    drop_privileges(agent_svc(a->pipeline)->user)) {
		ttlog__host_call(a->view.writer, stop_io, a);
		ttlog_shutdown();
		ttlog__journal_after_shutdown(0);
		return 1;
	}
	for (size_t i = 0; i < a->ninputs; i++)
		fprintf(stderr, "ttlog-agent: input %s (%s) on %s\n",
			a->input_names[i], a->input_types[i],
			a->input_opts[i]->listen ? a->input_opts[i]->listen
			: a->input_opts[i]->type == TTLOG__INPUT_JOURNAL
				? "the journal"
			: a->input_opts[i]->type == TTLOG__INPUT_KAFKA
				? a->input_opts[i]->brokers
			: a->input_opts[i]->paths.n > 0
				? a->input_opts[i]->paths.v[0]
				: "stdin");
	if (agent_svc(a->pipeline)->http_listen != NULL)
		fprintf(stderr,
			"ttlog-agent: health and metrics on http://%s/\n",
			agent_svc(a->pipeline)->http_listen);
	TTLOG_INFO("agent started", TTLOG_KV("version", TTLOG_VERSION_STRING),
		   TTLOG_KV("inputs", (uint64_t)a->ninputs),
		   TTLOG_KV("listeners", (uint64_t)a->pipeline->n));
	TTLOG_INFO("file descriptors: soft RLIMIT_NOFILE raised as far as "
		   "allowed",
		   TTLOG_KV("soft_was", (uint64_t)nofile_was.rlim_cur),
		   TTLOG_KV("soft", (uint64_t)nofile_now.rlim_cur),
		   TTLOG_KV("hard", (uint64_t)nofile_now.rlim_max));

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
			agent_reload(ap, file);
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
	ttlog__journal_after_shutdown(atomic_load(&lost_at_shutdown) == 0);
	return atomic_load(&lost_at_shutdown) > 0 ? AGENT_EXIT_LOST : 0;
}
/* --check says what each listener does when its queue fills, since that
 * decides whether one stuck listener can pause the inputs. */
static void check_queues(const struct ttlog__pipeline *p)
{
	static const char *const what[] = {
		[TTLOG_QUEUE_DROP_OLDEST] = "drop_oldest (drops, counted)",
		[TTLOG_QUEUE_DROP_NEWEST] = "drop_newest (drops, counted)",
		[TTLOG_QUEUE_BLOCK] = "block (pauses the inputs)",
	};

	for (size_t i = 0; i < p->n; i++) {
		const struct ttlog_listener_config *l = &p->listeners[i];
		unsigned k = (unsigned)l->queue_policy;
		unsigned long long mib =
			(l->queue_bytes ? l->queue_bytes
					: TTLOG_DEFAULT_QUEUE_BYTES) >>
			20;

		printf("  listener %s: queue %lluMiB, when full: %s\n",
		       p->names[i], mib, k < 3 ? what[k] : "?");
	}
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
	printf("\nCommon to every listener (conf/ttlog.yaml, "
	       "docs/queues.md):\n");
	printf("  name, type or plugin, level, queue.max_bytes (default "
	       "%uMiB),\n"
	       "  queue.when_full: drop_oldest (default) | drop_newest | "
	       "block\n"
	       "    drop_*: a full queue drops, counted; the other listeners "
	       "and the inputs go on\n"
	       "    block:  the inputs stop reading while this queue is past "
	       "its pause mark\n"
	       "  (queue.policy is the old name of queue.when_full)\n",
	       (unsigned)TTLOG_DEFAULT_QUEUE_MIB);
	ttlog__plugin_unload(&p);
	return 0;
}

/* Every connection holds a descriptor, and the common soft limit (1024)
 * is less than the default max_connections of one input: the soft limit
 * goes up to the hard one (at most AGENT_NOFILE_MAX) before the
 * configuration is sized to it (load.c). */
static void raise_nofile(void)
{
	if (getrlimit(RLIMIT_NOFILE, &nofile_was) != 0)
		return;
	nofile_now = nofile_was;
	nofile_now.rlim_cur = nofile_was.rlim_max;
	if (nofile_now.rlim_cur == RLIM_INFINITY ||
	    nofile_now.rlim_cur > AGENT_NOFILE_MAX)
		nofile_now.rlim_cur = AGENT_NOFILE_MAX;
	if (nofile_now.rlim_cur < nofile_was.rlim_cur ||
	    setrlimit(RLIMIT_NOFILE, &nofile_now) != 0)
		nofile_now = nofile_was;
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
	raise_nofile();
	if (agent_load(a, file) != 0)
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
		agent_free_inputs(a);
		free(a);
		return rc;
	}
	if (help != NULL)
		rc = plugin_help(help, a);
	else if (check) {
		if (a->verbose && file == NULL)
			fputs(ttlog__agent_default_config, stdout);
		/* service.user and http.listen were checked by the load. */
		printf("%s: ok (%zu inputs, %zu listeners)\n",
		       file ? file : "(embedded configuration)", a->ninputs,
		       a->pipeline->n);
		check_queues(a->pipeline);
		rc = 0;
	} else {
		rc = run(&a, file);
	}
	ttlog__pipeline_release(a->pipeline);
	free(a->pipeline);
	agent_free_inputs(a);
	free(a);
	return rc;
}
