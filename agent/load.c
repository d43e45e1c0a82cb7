/*
 * load.c - ttlog-agent's configuration: the file (or the embedded default)
 * into a pipeline of listeners, built by the registry with the keys the
 * agent claims, and the `inputs:` entries through the input option table.
 */
#define _GNU_SOURCE
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include <ttlog/ttlog.h>

#include "agent_main.h"
#include "host_internal.h"

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
	a->input_keys = calloc(in->n ? in->n : 1, sizeof(char *));
	a->input_where = calloc(in->n ? in->n : 1, sizeof(char *));
	if (!a->input_opts || !a->input_names || !a->input_types ||
	    !a->inputs || !a->input_keys || !a->input_where) {
		ttlog__diag_add(d, in, "inputs", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < in->n; i++) {
		char path[64];
		struct ttlog__input_opts *o;
		snprintf(path, sizeof(path), "inputs[%zu]", i);
		o = ttlog__options_apply(&ttlog__input_table, in->vals[i], path,
					 ttlog__input_list_keys, d);
		if (o == NULL)
			continue;
		/* Kept even when an item is wrong: freed with the others. */
		(void)ttlog__input_lists_read(o, in->vals[i], path, d);
		o->format_set = ttlog__cfg_get(in->vals[i], "format") != NULL;
		for (size_t k = 0; k < a->ninputs; k++)
			if (strcmp(a->input_opts[k]->name, o->name) == 0)
				ttlog__diag_add(
					d, ttlog__cfg_get(in->vals[i], "name"),
					path,
					"an input named \"%s\" is "
					"already defined",
					o->name);
		if (ttlog__input_listens(o->type) && o->listen == NULL)
			ttlog__diag_add(d, in->vals[i], path,
					"missing \"listen\" (for example "
					"tcp://127.0.0.1:5514)");
		else
			(void)ttlog__input_check_at(o, in->vals[i], path, d);
		char key[8192];
		const struct ttlog__cfg_node *at = in->vals[i];
		if (ttlog__input_key(o, key, sizeof(key)) != 0)
			key[0] = '\0';
		a->input_keys[a->ninputs] = strdup(key);
		if (asprintf(&a->input_where[a->ninputs], "%s:%u:%u", at->file,
			     at->line, at->col) < 0)
			a->input_where[a->ninputs] = NULL;
		/* Sized to the descriptors the agent has (size_inputs()). */
		o->max_connections_auto =
			ttlog__cfg_get(in->vals[i], "max_connections") == NULL;
		a->input_opts[a->ninputs] = o;
		a->input_names[a->ninputs] = o->name;
		a->input_types[a->ninputs] = ttlog__input_type_name(o->type);
		a->ninputs++;
	}
	return d->n > before ? -1 : 0;
}

/* Where each listener's section is, for errors that come after the load
 * (a listener that cannot be created at reload). The pipeline has one
 * listener per section: any problem fails the whole load. */
static void note_listeners(const struct ttlog__cfg_node *root, struct agent *a)
{
	const struct ttlog__cfg_node *ls = ttlog__cfg_get(root, "listeners");

	if (ls == NULL || ls->kind != TTLOG__CFG_SEQ || ls->n == 0)
		return;
	a->listener_where = calloc(ls->n + 1, sizeof(char *));
	for (size_t i = 0; a->listener_where != NULL && i < ls->n; i++)
		if (asprintf(&a->listener_where[i], "%s:%u:%u",
			     ls->vals[i]->file, ls->vals[i]->line,
			     ls->vals[i]->col) < 0)
			a->listener_where[i] = NULL;
}

void agent_free_inputs(struct agent *a)
{
	for (size_t i = 0; a->listener_where && a->listener_where[i]; i++)
		free(a->listener_where[i]);
	free(a->listener_where);
	a->listener_where = NULL;
	for (size_t i = 0; i < a->ninputs; i++) {
		ttlog__input_lists_free(a->input_opts[i]);
		ttlog__options_free(&ttlog__input_table, a->input_opts[i]);
		free(a->input_keys ? a->input_keys[i] : NULL);
		free(a->input_where ? a->input_where[i] : NULL);
	}
	free(a->input_keys);
	free(a->input_where);
	a->input_keys = NULL;
	a->input_where = NULL;
	free(a->input_opts);
	free(a->input_names);
	free(a->input_types);
	free(a->inputs);
	free(a->failing_since);
	free(a->last_errors);
	free(a->last_retries);
	for (size_t i = 0; i < a->nretired; i++)
		ttlog__plugin_unload(&a->retired[i]);
	free(a->retired);
	a->retired = NULL;
	a->nretired = 0;
	/* Idempotent: a failed load frees, and its caller may again. */
	a->input_opts = NULL;
	a->input_names = a->input_types = NULL;
	a->inputs = NULL;
	a->failing_since = a->last_errors = a->last_retries = NULL;
	a->ninputs = 0;
}

/* A reload's problems go to the agent's own log as well as stderr: whoever
 * reads the log must see why the configuration was refused. A broken file
 * can have hundreds; the first AGENT_LOG_PROBLEMS are enough to start
 * with, and the rest are counted. */
static void log_problems(struct agent *a, const struct ttlog__diag *d)
{
	for (size_t i = 0; i < d->n && i < AGENT_LOG_PROBLEMS; i++)
		TTLOG_ERROR("reload: configuration error",
			    TTLOG_KV("error", (const char *)d->msgs[i]));
	if (d->n > AGENT_LOG_PROBLEMS)
		TTLOG_ERROR("reload: more configuration errors, not logged",
			    TTLOG_KV("count",
				     (uint64_t)(d->n - AGENT_LOG_PROBLEMS)));
	snprintf(a->err, sizeof(a->err), "%s%s", d->msgs[0],
		 d->n > 1 ? " (and more, logged before)" : "");
}

/* The node of service.KEY(.SUB), else the service section, else the
 * root: where a problem with that key is reported. */
static const struct ttlog__cfg_node *
svc_node(const struct ttlog__cfg_node *root, const char *key, const char *sub)
{
	const struct ttlog__cfg_node *svc = ttlog__cfg_get(root, "service");
	const struct ttlog__cfg_node *n = ttlog__cfg_get(svc, key);

	if (n != NULL && sub != NULL)
		n = ttlog__cfg_get(n, sub);
	return n != NULL ? n : svc != NULL ? svc : root;
}

/* The agent's own service keys, checked as start would use them short of
 * binding or switching users: so that --check, start and reload refuse
 * the same files. */
static void check_service(const struct ttlog__cfg_node *root,
			  const struct ttlog__pipeline *p,
			  struct ttlog__diag *d)
{
	const struct ttlog__agent_service *svc = agent_svc(p);
	char err[512];

	if (svc == NULL)
		return;
	if (svc->http_listen != NULL &&
	    ttlog__http_check_listen(svc->http_listen, err, sizeof(err)) != 0)
		ttlog__diag_add(d, svc_node(root, "http", "listen"),
				"service.http.listen", "%s", err);
	if (svc->http_max_connections < 1 ||
	    svc->http_max_connections > AGENT_MAX_CONNECTIONS)
		ttlog__diag_add(d, svc_node(root, "http", "max_connections"),
				"service.http.max_connections",
				"must be from 1 to %d", AGENT_MAX_CONNECTIONS);
	if (svc->http_max_connections_per_peer < 0 ||
	    svc->http_max_connections_per_peer > AGENT_MAX_CONNECTIONS)
		ttlog__diag_add(
			d, svc_node(root, "http", "max_connections_per_peer"),
			"service.http.max_connections_per_peer",
			"must be from 0 (no limit) to %d",
			AGENT_MAX_CONNECTIONS);
	if (svc->user != NULL && getpwnam(svc->user) == NULL)
		ttlog__diag_add(d, svc_node(root, "user", NULL), "service.user",
				"no user \"%s\" on this system", svc->user);
	if (svc->state_dir != NULL) {
		struct stat st;
		if (stat(svc->state_dir, &st) == 0 && !S_ISDIR(st.st_mode))
			ttlog__diag_add(d, svc_node(root, "state_dir", NULL),
					"service.state_dir",
					"%s is not a directory",
					svc->state_dir);
		else if (stat(svc->state_dir, &st) == 0 &&
			 access(svc->state_dir, W_OK | X_OK) != 0)
			ttlog__diag_add(d, svc_node(root, "state_dir", NULL),
					"service.state_dir", "%s: %s",
					svc->state_dir, strerror(errno));
	}
}

/*
 * Descriptors: every open connection of a stream input and of the HTTP
 * endpoint holds one, and the process may have RLIMIT_NOFILE (the soft
 * limit, raised at start as far as the hard one allows). An input whose
 * max_connections is not set gets an even share of what is left after
 * the HTTP cap and AGENT_FD_RESERVE for the agent's own files, at most
 * 1024; set ones that do not fit are warned about (not refused: the
 * agent then sheds connections, docs/network-exposure.md).
 */
static int is_stream(const struct agent *a, size_t i)
{
	return a->input_opts[i]->type != TTLOG__INPUT_STDIN &&
	       a->input_opts[i]->type != TTLOG__INPUT_TAIL &&
	       strncmp(a->input_keys[i], "udp ", 4) != 0;
}

static void size_inputs(struct agent *a)
{
	const struct ttlog__agent_service *svc = agent_svc(a->pipeline);
	struct rlimit rl;
	int64_t budget, set = 0, nauto = 0, share = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	budget = (int64_t)rl.rlim_cur - AGENT_FD_RESERVE -
		 (svc->http_listen != NULL ? svc->http_max_connections : 0);
	for (size_t i = 0; i < a->ninputs; i++) {
		const struct ttlog__input_opts *o = a->input_opts[i];
		if (!is_stream(a, i))
			continue;
		if (o->max_connections_auto)
			nauto++;
		else /* no limit (<= 0): as many as the process may have */
			set += o->max_connections > 0 ? o->max_connections
						      : (int64_t)rl.rlim_cur;
	}
	if (nauto > 0) {
		share = (budget - set) / nauto;
		if (share > AGENT_AUTO_CONNECTIONS)
			share = AGENT_AUTO_CONNECTIONS;
		if (share < AGENT_MIN_CONNECTIONS)
			share = AGENT_MIN_CONNECTIONS;
	}
	for (size_t i = 0; i < a->ninputs; i++)
		if (is_stream(a, i) && a->input_opts[i]->max_connections_auto)
			a->input_opts[i]->max_connections = share;
	if (set + nauto * share <= budget)
		return;
	/* Named one by one, with the figures: which to lower, or how far
	 * to raise LimitNOFILE. */
	for (size_t i = 0; i < a->ninputs; i++) {
		const struct ttlog__input_opts *o = a->input_opts[i];
		if (!is_stream(a, i))
			continue;
		fprintf(stderr,
			"ttlog-agent: warning: %s: input %s: max_connections "
			"%" PRId64 "%s does not fit RLIMIT_NOFILE %" PRIu64
			" (less %d for the agent's own files and %" PRId64
			" for HTTP, %" PRId64
			" connections can be open in all); out of descriptors, "
			"connections are refused\n",
			o->where, o->name, o->max_connections,
			o->max_connections_auto ? " (unset: the least given)"
						: "",
			(uint64_t)rl.rlim_cur, AGENT_FD_RESERVE,
			svc->http_listen != NULL ? svc->http_max_connections
						 : 0,
			budget > 0 ? budget : 0);
	}
}

/* Loads FILE (or the embedded default) into a->pipeline and the inputs;
 * prints every problem. Returns 0 or -1. */
int agent_load(struct agent *a, const char *file)
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
		if (d.n == 0)
			check_service(ttlog__cfg_root(doc), a->pipeline, &d);
		/* Borrowed: the inputs' options live as long as the
		 * pipeline they were loaded with. */
		for (size_t i = 0; d.n == 0 && i < a->ninputs; i++)
			a->input_opts[i]->state_dir =
				agent_svc(a->pipeline)->state_dir;
		note_listeners(ttlog__cfg_root(doc), a);
		if (d.n == 0)
			size_inputs(a);
	}
	ttlog__cfg_free(doc);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "ttlog-agent: %s\n", d.msgs[i]);
	if (a->log_problems && d.n > 0)
		log_problems(a, &d);
	if (d.n > 0) {
		ttlog__diag_free(&d);
		ttlog__pipeline_release(a->pipeline);
		free(a->pipeline);
		a->pipeline = NULL;
		agent_free_inputs(a);
		return -1;
	}
	return 0;
}
