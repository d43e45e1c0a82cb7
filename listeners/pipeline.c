/*
 * pipeline.c - from a ttlog.yaml tree to library options and loaded
 * listeners, and ttlog_init_from_file().
 *
 * The service section and the common part of each listener section are
 * described by option tables of their own and applied by the same code
 * that applies plugins' tables, so every key gets the same checks and the
 * same messages.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "host_internal.h"
#include "level.h"
#include "listener_abi.h"
#include "registry_internal.h"
#include "route.h"

/* ---- service ---- */

struct service_opts {
	char *name;
	int level;
	uint64_t ring_size;
	uint64_t max_value_size;
	uint64_t flush_interval_ms;
	int64_t batch_max_events;
	uint64_t batch_max_bytes;
	int clock;
	char *plugin_dir;
	char *snapshot_dir;
	uint64_t snapshot_history;
	uint64_t snapshot_interval_ms;
	int64_t snapshot_keep;
	uint64_t snapshot_max_bytes;
	int snapshot_on_crash;
};

/* "64MiB" from TTLOG_DEFAULT_QUEUE_MIB: the option tables show the
 * library's defaults, not copies of them. */
#define MIB_TEXT(n) MIB_TEXT_(n)
#define MIB_TEXT_(n) #n "MiB"

static const struct ttlog_option_value clocks[] = {
	{"auto", TTLOG_CLOCK_AUTO},
	{"tsc", TTLOG_CLOCK_TSC},
	{"realtime", TTLOG_CLOCK_REALTIME},
	{"coarse", TTLOG_CLOCK_COARSE},
	{NULL, 0}};

static const struct ttlog_option_value queue_policies[] = {
	{"drop_oldest", TTLOG_QUEUE_DROP_OLDEST},
	{"drop_newest", TTLOG_QUEUE_DROP_NEWEST},
	{"block", TTLOG_QUEUE_BLOCK},
	{NULL, 0}};

static const struct ttlog_option_spec service_spec[] = {
	{TTLOG_OPTION_STRING, "name", "ttlog",
	 offsetof(struct service_opts, name),
	 "service name carried by every encoding", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "level", "info",
	 offsetof(struct service_opts, level),
	 "minimum level logged by the application",
	 TTLOG_OPTION_VALUES(ttlog__level_values), 0},
	{TTLOG_OPTION_SIZE, "ring_size", MIB_TEXT(TTLOG_DEFAULT_RING_MIB),
	 offsetof(struct service_opts, ring_size),
	 "ring per logging thread (power of two, >= 4KiB)", NULL, 0},
	{TTLOG_OPTION_SIZE, "max_value_size", "4KiB",
	 offsetof(struct service_opts, max_value_size),
	 "longer string values are truncated and flagged", NULL, 0},
	{TTLOG_OPTION_DURATION, "flush_interval", "20ms",
	 offsetof(struct service_opts, flush_interval_ms),
	 "how often the writer drains when nobody wakes it", NULL, 0},
	{TTLOG_OPTION_INT, "batch.max_events", "8192",
	 offsetof(struct service_opts, batch_max_events), "events per batch",
	 NULL, 0},
	{TTLOG_OPTION_SIZE, "batch.max_bytes", "1MiB",
	 offsetof(struct service_opts, batch_max_bytes),
	 "record bytes per batch", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "clock", "auto",
	 offsetof(struct service_opts, clock), "event time source",
	 TTLOG_OPTION_VALUES(clocks), 0},
	{TTLOG_OPTION_STRING, "plugin_dir", NULL,
	 offsetof(struct service_opts, plugin_dir),
	 "where listener types are loaded from (default: the installed "
	 "plugin directory)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "snapshot.dir", NULL,
	 offsetof(struct service_opts, snapshot_dir),
	 "directory for flight-recorder snapshots (off when unset)", NULL, 0},
	{TTLOG_OPTION_SIZE, "snapshot.history", "4MiB",
	 offsetof(struct service_opts, snapshot_history),
	 "recent events kept for a snapshot, in bytes", NULL, 0},
	{TTLOG_OPTION_DURATION, "snapshot.interval", "0",
	 offsetof(struct service_opts, snapshot_interval_ms),
	 "a snapshot this often (0: only on request, signal and crash)", NULL,
	 0},
	{TTLOG_OPTION_INT, "snapshot.keep", "10",
	 offsetof(struct service_opts, snapshot_keep),
	 "newest snapshots of this service kept in the directory", NULL, 0},
	{TTLOG_OPTION_SIZE, "snapshot.max_bytes", "256MiB",
	 offsetof(struct service_opts, snapshot_max_bytes),
	 "older snapshots are removed while all take more", NULL, 0},
	{TTLOG_OPTION_BOOL, "snapshot.on_crash", "true",
	 offsetof(struct service_opts, snapshot_on_crash),
	 "write a snapshot on SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT", NULL,
	 0},
	{0},
};

static const struct ttlog__option_table service_table = {
	.name = "service",
	.options = service_spec,
	.size = sizeof(struct service_opts),
};

/* ---- the common part of a listener section ---- */

struct common_opts {
	char *name;
	char *type;
	char *plugin;
	int level;
	uint64_t queue_bytes;
	int when_full;
	int policy; /* queue.policy, the old name of queue.when_full */
};

static const struct ttlog_option_spec common_spec[] = {
	{TTLOG_OPTION_STRING, "name", NULL, offsetof(struct common_opts, name),
	 "unique name of this listener", NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_STRING, "type", NULL, offsetof(struct common_opts, type),
	 "listener type: loads PLUGIN_DIR/TYPE.so", NULL, 0},
	{TTLOG_OPTION_STRING, "plugin", NULL,
	 offsetof(struct common_opts, plugin),
	 "absolute path of a plugin .so (instead of type)", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "level", "trace",
	 offsetof(struct common_opts, level),
	 "minimum level this listener receives",
	 TTLOG_OPTION_VALUES(ttlog__level_values), 0},
	{TTLOG_OPTION_SIZE, "queue.max_bytes",
	 MIB_TEXT(TTLOG_DEFAULT_QUEUE_MIB),
	 offsetof(struct common_opts, queue_bytes),
	 "batches held back while the listener pushes back", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "queue.when_full", "drop_oldest",
	 offsetof(struct common_opts, when_full),
	 "block: pause the inputs (back-pressure); drop_*: drop, counted, "
	 "and let the other listeners flow",
	 TTLOG_OPTION_VALUES(queue_policies), 0},
	{TTLOG_OPTION_ENUM_VALUES, "queue.policy", NULL,
	 offsetof(struct common_opts, policy), "old name of queue.when_full",
	 TTLOG_OPTION_VALUES(queue_policies), 0},
	{0},
};

static const struct ttlog__option_table common_table = {
	.name = "listener",
	.options = common_spec,
	.size = sizeof(struct common_opts),
};

static const char *const common_keys[] = {"name",	"type",	 "plugin",
					  "level",	"queue", "match",
					  "processors", NULL};

/* match: and processors: of listener i (route.h), compiled into the
 * pipeline's routing at index i. */
static int build_route(const struct ttlog__cfg_node *sec, size_t i,
		       const char *name, struct ttlog__pipeline *p,
		       struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *m = ttlog__cfg_get(sec, "match");
	const struct ttlog__cfg_node *procs = ttlog__cfg_get(sec, "processors");
	char path[96];
	int rc = 0;

	if (m != NULL) {
		snprintf(path, sizeof(path), "listeners[%zu].match", i);
		rc |= ttlog__routing_set_match(p->routing, i, m, path, d);
	}
	if (procs != NULL) {
		snprintf(path, sizeof(path), "listeners[%zu].processors", i);
		rc |= ttlog__routing_set_processors(p->routing, i,
						    name != NULL ? name : "",
						    procs, path, d);
	}
	return rc;
}

void ttlog__cfg_fingerprint(const struct ttlog__cfg_node *n,
			    struct ttlog__buf *out)
{
	char len[32];

	switch (n->kind) {
	case TTLOG__CFG_SCALAR:
		/* Length-prefixed, so no value can imitate the structure. */
		snprintf(len, sizeof(len), "s%zu:", strlen(n->str));
		ttlog__buf_puts(out, len);
		ttlog__buf_puts(out, n->str);
		break;
	case TTLOG__CFG_MAP:
		ttlog__buf_putc(out, '{');
		for (size_t i = 0; i < n->n; i++) {
			snprintf(len, sizeof(len), "k%zu:", strlen(n->keys[i]));
			ttlog__buf_puts(out, len);
			ttlog__buf_puts(out, n->keys[i]);
			ttlog__cfg_fingerprint(n->vals[i], out);
		}
		ttlog__buf_putc(out, '}');
		break;
	case TTLOG__CFG_SEQ:
	default:
		ttlog__buf_putc(out, '[');
		for (size_t i = 0; i < n->n; i++)
			ttlog__cfg_fingerprint(n->vals[i], out);
		ttlog__buf_putc(out, ']');
		break;
	}
}

static int in_sections(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(k, *list) == 0)
			return 1;
	return 0;
}

static int valid_listener_name(const char *s)
{
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return 0;
	return 1;
}

/* The listener's own validation (ABI 1.3 check()), with the section's
 * place and the listener's name in front of its reason. */
static int check_listener(const struct ttlog_listener_api *api,
			  const void *opts, const struct ttlog__cfg_node *sec,
			  const char *path, const char *name,
			  struct ttlog__diag *d)
{
	ttlog__listener_check_fn check = ttlog__listener_api_check_fn(api);
	char err[1024] = "", who[192];

	if (check == NULL || check(opts, err, sizeof(err)) == 0)
		return 0;
	snprintf(who, sizeof(who), "%s (%s)", path, name ? name : api->name);
	/* At the option the reason names, when it names one. */
	const struct ttlog__cfg_node *at =
		ttlog__options_locate(TTLOG__OPTIONS_OF(api), sec, err);
	ttlog__diag_add(d, at ? at : sec, who, "%s",
			err[0] ? err : "the listener refused its options");
	return -1;
}

/* "FILE:LINE" of a node, for messages after the document is gone; NULL
 * when out of memory (the messages then go without it). */
static char *where_of(const struct ttlog__cfg_node *n)
{
	char *s = NULL;

	if (asprintf(&s, "%s:%u", n->file ? n->file : "?", n->line) < 0)
		return NULL;
	return s;
}

/* queue.policy is the old name of queue.when_full: either is taken, both
 * together are refused where the second one stands. */
static int queue_when_full(const struct ttlog__cfg_node *sec, const char *path,
			   struct common_opts *c, struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *q = ttlog__cfg_get(sec, "queue");
	const struct ttlog__cfg_node *wf = ttlog__cfg_get(q, "when_full");
	const struct ttlog__cfg_node *old = ttlog__cfg_get(q, "policy");
	char where[96];
	int later;

	if (old == NULL)
		return 0;
	if (wf == NULL) {
		c->when_full = c->policy;
		return 0;
	}
	later = wf->line > old->line ||
		(wf->line == old->line && wf->col > old->col);
	snprintf(where, sizeof(where), "%s.queue.%s", path,
		 later ? "when_full" : "policy");
	ttlog__diag_add(d, later ? wf : old, where,
			"give queue.when_full or its old name queue.policy, "
			"not both");
	return -1;
}

static int build_listener(const struct ttlog__cfg_node *sec, size_t i,
			  const char *plugin_dir, struct ttlog__pipeline *p,
			  struct ttlog__diag *d)
{
	char path[64], err[1024];
	struct common_opts *c;
	int bad = 0;

	snprintf(path, sizeof(path), "listeners[%zu]", i);
	if (sec->kind != TTLOG__CFG_MAP) {
		ttlog__diag_add(d, sec, path,
				"expected a map with name, type and options");
		return -1;
	}
	/* The common keys only; the plugin's table checks the rest. */
	c = ttlog__options_fill(&common_table, sec, path, d);
	if (c == NULL)
		return -1;
	if (c->name != NULL && !valid_listener_name(c->name)) {
		ttlog__diag_add(d, ttlog__cfg_get(sec, "name"),
				"listeners[].name",
				"\"%s\": use letters, digits, '_', '-' and "
				"'.'",
				c->name);
		bad = 1;
	}
	for (size_t k = 0; k < p->n && c->name != NULL; k++)
		if (strcmp(p->names[k], c->name) == 0) {
			ttlog__diag_add(d, ttlog__cfg_get(sec, "name"), path,
					"a listener named \"%s\" is already "
					"defined",
					c->name);
			bad = 1;
		}
	if (queue_when_full(sec, path, c, d) != 0)
		bad = 1;
	if (build_route(sec, i, c->name, p, d) != 0)
		bad = 1;
	if ((c->type == NULL) == (c->plugin == NULL)) {
		ttlog__diag_add(d, sec, path,
				"give exactly one of \"type\" (a plugin in "
				"plugin_dir) or \"plugin\" (a path)");
		bad = 1;
	}
	if (bad) {
		ttlog__options_free(&common_table, c);
		return -1;
	}

	struct ttlog__plugin *pl = &p->plugins[p->n];
	const char *what = c->type ? c->type : c->plugin;
	const struct ttlog__cfg_node *at =
		ttlog__cfg_get(sec, c->type ? "type" : "plugin");
	if (ttlog__plugin_load(plugin_dir, what, pl, err, sizeof(err)) != 0) {
		ttlog__diag_add(d, at, path, "%s", err);
		ttlog__options_free(&common_table, c);
		return -1;
	}
	void *opts = ttlog__options_apply(TTLOG__OPTIONS_OF(pl->api), sec, path,
					  common_keys, d);
	if (opts == NULL ||
	    check_listener(pl->api, opts, sec, path, c->name, d) != 0) {
		if (opts != NULL)
			ttlog__options_free(TTLOG__OPTIONS_OF(pl->api), opts);
		ttlog__plugin_unload(pl);
		ttlog__options_free(&common_table, c);
		return -1;
	}
	struct ttlog_listener_config *l = &p->listeners[p->n];
	memset(l, 0, sizeof(*l));
	l->api = pl->api;
	l->options = opts;
	l->name = c->name;
	l->queue_bytes = c->queue_bytes;
	l->level = (enum ttlog_level)c->level;
	l->queue_policy = (enum ttlog_queue_policy)c->when_full;
	p->plugin_opts[p->n] = opts;
	p->names[p->n] = c->name;
	p->where[p->n] = where_of(sec);
	{
		/* What makes this listener the same one after a reload. */
		struct ttlog__buf fp = {0};
		ttlog__buf_puts(&fp, pl->path);
		ttlog__cfg_fingerprint(sec, &fp);
		ttlog__buf_putc(&fp, 0);
		p->fingerprints[p->n] = fp.oom ? NULL : (char *)fp.p;
		if (fp.oom)
			ttlog__buf_free(&fp);
	}
	c->name = NULL;
	p->n++;
	ttlog__options_free(&common_table, c);
	return 0;
}

/* The node of key (or key.sub) in m, else m itself: where to point. */
static const struct ttlog__cfg_node *at_key(const struct ttlog__cfg_node *m,
					    const char *key, const char *sub)
{
	const struct ttlog__cfg_node *n = ttlog__cfg_get(m, key);
	if (n != NULL && sub != NULL)
		n = ttlog__cfg_get(n, sub);
	return n != NULL ? n : m;
}

/* The first part of each key of an option table ("http" for "http.listen"),
 * NULL-terminated, at most max - 1 of them. */
static void top_keys(const struct ttlog_option_spec *t, const char **out,
		     char store[][64], size_t max)
{
	size_t n = 0;

	for (; t != NULL && t->type != TTLOG_OPTION_END && n < max - 1; t++) {
		size_t len = strcspn(t->key, ".");
		int seen = 0;
		if (len >= 64)
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strncmp(out[k], t->key, len) == 0 &&
			       out[k][len] == 0;
		if (seen)
			continue;
		memcpy(store[n], t->key, len);
		store[n][len] = 0;
		out[n] = store[n];
		n++;
	}
	out[n] = NULL;
}

#define MAX_CLAIMED 32

/* The service section: the library's keys, then the caller's. */
static void build_service(const struct ttlog__cfg_node *svc,
			  const struct ttlog__cfg_claims *claims,
			  struct ttlog__pipeline *p, struct ttlog__diag *d)
{
	static const struct ttlog__cfg_node empty = {.kind = TTLOG__CFG_MAP};
	const struct ttlog__option_table *theirs =
		claims != NULL ? claims->service : NULL;
	const char *skip[MAX_CLAIMED + 1];
	char store[MAX_CLAIMED][64];
	struct service_opts *so;

	if (svc == NULL)
		svc = &empty;
	/* Each side checks its own keys and passes over the other's: a key
	 * that neither claims is an error, with a did-you-mean. */
	top_keys(theirs != NULL ? theirs->options : NULL, skip, store,
		 MAX_CLAIMED + 1);
	so = ttlog__options_apply(&service_table, svc, "service", skip, d);
	if (theirs != NULL) {
		/* The caller's table sees only its own top-level keys (the
		 * library's check above reported the unknown ones), and still
		 * checks what is nested under them. */
		const char **others = calloc(svc->n + 1, sizeof(*others));
		const char *mine[MAX_CLAIMED + 1];
		size_t no = 0;

		top_keys(theirs->options, mine, store, MAX_CLAIMED + 1);
		for (size_t i = 0; others != NULL && i < svc->n; i++) {
			int claimed = 0;
			for (const char **m = mine; *m != NULL && !claimed; m++)
				claimed = strcmp(*m, svc->keys[i]) == 0;
			if (!claimed)
				others[no++] = svc->keys[i];
		}
		if (others == NULL)
			ttlog__diag_add(d, svc, "service", "out of memory");
		else
			p->claimed = ttlog__options_apply(theirs, svc,
							  "service", others, d);
		p->claimed_table = theirs;
		free(others);
	}
	if (so == NULL)
		return;

	ttlog_options_init(&p->opts);
	p->service = so->name;
	so->name = NULL;
	p->plugin_dir = so->plugin_dir ? so->plugin_dir
				       : strdup(ttlog__default_plugin_dir());
	so->plugin_dir = NULL;
	p->opts.service = p->service;
	p->opts.level = (enum ttlog_level)so->level;
	p->opts.ring_bytes = so->ring_size;
	p->opts.max_value_bytes = so->max_value_size;
	p->opts.flush_interval_ms = (uint32_t)so->flush_interval_ms;
	p->opts.batch_max_events = (size_t)so->batch_max_events;
	p->opts.batch_max_bytes = so->batch_max_bytes;
	p->opts.clock = (enum ttlog_clock)so->clock;
	p->snapshot_dir = so->snapshot_dir;
	so->snapshot_dir = NULL;
	p->opts.snapshot_dir = p->snapshot_dir;
	p->opts.snapshot_history_bytes = so->snapshot_history;
	p->opts.snapshot_interval_ms = (uint32_t)so->snapshot_interval_ms;
	p->opts.snapshot_keep = (uint32_t)so->snapshot_keep;
	p->opts.snapshot_max_bytes = so->snapshot_max_bytes;
	p->opts.snapshot_on_crash = so->snapshot_on_crash != 0;
	if (so->snapshot_history < 4096 || so->snapshot_history > (1ull << 34))
		ttlog__diag_add(d, at_key(svc, "snapshot", "history"),
				"service.snapshot.history",
				"must be between 4KiB and 16GiB");
	if (so->snapshot_interval_ms > 86400000)
		ttlog__diag_add(d, at_key(svc, "snapshot", "interval"),
				"service.snapshot.interval",
				"must be at most 24h (0: none)");
	if (so->snapshot_keep < 1 || so->snapshot_keep > 100000)
		ttlog__diag_add(d, at_key(svc, "snapshot", "keep"),
				"service.snapshot.keep",
				"must be between 1 and 100000");
	if (so->ring_size < 4096 || so->ring_size > (1ull << 31))
		ttlog__diag_add(d, at_key(svc, "ring_size", NULL),
				"service.ring_size",
				"must be between 4KiB and 2GiB");
	if (so->flush_interval_ms == 0 || so->flush_interval_ms > 3600000)
		ttlog__diag_add(d, at_key(svc, "flush_interval", NULL),
				"service.flush_interval",
				"must be between 1ms and 1h");
	if (so->batch_max_events < 1 || so->batch_max_events > 1000000)
		ttlog__diag_add(d, at_key(svc, "batch", "max_events"),
				"service.batch.max_events",
				"must be between 1 and 1000000");
	if (so->max_value_size == 0 || so->max_value_size > (1ull << 30))
		ttlog__diag_add(d, at_key(svc, "max_value_size", NULL),
				"service.max_value_size",
				"must be between 1 byte and 1GiB");
	ttlog__options_free(&service_table, so);
}

int ttlog__pipeline_build(const struct ttlog__cfg_node *root,
			  const struct ttlog__cfg_claims *claims,
			  struct ttlog__pipeline *p, struct ttlog__diag *d)
{
	const char *sections[MAX_CLAIMED + 4] = {"service", "listeners",
						 "processors"};
	const struct ttlog__cfg_node *ls, *procs;
	size_t before = d->n, ns = 3;

	memset(p, 0, sizeof(*p));
	for (const char *const *c = claims ? claims->sections : NULL;
	     c != NULL && *c != NULL && ns < MAX_CLAIMED + 3; c++)
		sections[ns++] = *c;

	if (root->kind != TTLOG__CFG_MAP) {
		ttlog__diag_add(d, root, NULL,
				"expected a map with service and listeners");
		return -1;
	}
	for (size_t i = 0; i < root->n; i++) {
		if (in_sections(root->keys[i], sections))
			continue;
		const char *near = ttlog__cfg_suggest(root->keys[i], sections);
		ttlog__diag_add(d, root->key_nodes[i], root->keys[i],
				"unknown section%s%s%s",
				near ? " (did you mean \"" : "",
				near ? near : "", near ? "\"?)" : "");
	}
	build_service(ttlog__cfg_get(root, "service"), claims, p, d);

	ls = ttlog__cfg_get(root, "listeners");
	if (ls != NULL && ls->kind != TTLOG__CFG_SEQ) {
		ttlog__diag_add(d, ls, "listeners",
				"expected a list of listeners (each item "
				"starts with \"- name: ...\")");
		ls = NULL;
	}
	p->routing = ttlog__routing_new(ls != NULL ? ls->n : 0);
	if (p->routing == NULL) {
		ttlog__diag_add(d, root, NULL, "out of memory");
		ls = NULL;
	}
	procs = ttlog__cfg_get(root, "processors");
	if (procs != NULL && p->routing != NULL)
		(void)ttlog__routing_set_processors(
			p->routing, SIZE_MAX, "global", procs, "processors", d);
	if (ls != NULL && ls->n > 0 && p->plugin_dir != NULL) {
		p->listeners = calloc(ls->n, sizeof(*p->listeners));
		p->plugins = calloc(ls->n, sizeof(*p->plugins));
		p->plugin_opts = calloc(ls->n, sizeof(*p->plugin_opts));
		p->names = calloc(ls->n, sizeof(*p->names));
		p->fingerprints = calloc(ls->n, sizeof(*p->fingerprints));
		p->where = calloc(ls->n, sizeof(*p->where));
		if (!p->listeners || !p->plugins || !p->plugin_opts ||
		    !p->names || !p->fingerprints || !p->where)
			ttlog__diag_add(d, ls, "listeners", "out of memory");
		else
			for (size_t i = 0; i < ls->n; i++)
				(void)build_listener(ls->vals[i], i,
						     p->plugin_dir, p, d);
	}
	p->opts.listeners = p->listeners;
	p->opts.nlisteners = p->n;
	if (p->routing != NULL)
		ttlog__routing_done(p->routing);
	if (d->n > before) {
		ttlog__pipeline_release(p);
		return -1;
	}
	return 0;
}

/* Frees the option structs: create() has copied what it keeps. */
void ttlog__pipeline_drop_options(struct ttlog__pipeline *p)
{
	for (size_t i = 0; i < p->n; i++) {
		ttlog__options_free(TTLOG__OPTIONS_OF(p->plugins[i].api),
				    p->plugin_opts[i]);
		p->plugin_opts[i] = NULL;
		p->listeners[i].options = NULL;
	}
}

void ttlog__pipeline_release(struct ttlog__pipeline *p)
{
	ttlog__pipeline_drop_options(p);
	for (size_t i = 0; i < p->n; i++) {
		ttlog__plugin_unload(&p->plugins[i]);
		free(p->names[i]);
		free(p->fingerprints[i]);
		free(p->where[i]);
	}
	free(p->fingerprints);
	free(p->where);
	free(p->listeners);
	free(p->plugins);
	free(p->plugin_opts);
	free(p->names);
	free(p->service);
	free(p->snapshot_dir);
	free(p->plugin_dir);
	if (p->claimed_table != NULL)
		ttlog__options_free(p->claimed_table, p->claimed);
	ttlog__routing_free(p->routing);
	memset(p, 0, sizeof(*p));
}

const char *ttlog__pipeline_where(const struct ttlog__pipeline *p,
				  const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->names[i], name) == 0 && p->where[i] != NULL)
			return p->where[i];
	return "?";
}

static void pipeline_free(void *arg)
{
	ttlog__pipeline_release(arg);
	free(arg);
}

int ttlog_init_from_file(const char *path)
{
	struct ttlog__writer *w; /* kept by the library */
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;
	struct ttlog__pipeline *p;
	int rc;

	if (path == NULL)
		return TTLOG_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return TTLOG_ENOMEM;
	doc = ttlog__cfg_load_file(path, &d);
	if (doc != NULL)
		(void)ttlog__pipeline_build(ttlog__cfg_root(doc), NULL, p, &d);
	ttlog__cfg_free(doc);
	if (d.n > 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "ttlog: %s\n", d.msgs[i]);
		ttlog__diag_free(&d);
		free(p);
		return TTLOG_ECONFIG;
	}
	rc = ttlog__host_start(&p->opts, p->routing, pipeline_free, p, &w);
	if (rc != 0) {
		const char *name, *why;
		ttlog__listener_failure_parts(&name, &why);
		if (name[0] != 0)
			fprintf(stderr,
				"ttlog: cannot start: listener %s (%s): %s\n",
				name, ttlog__pipeline_where(p, name), why);
		else
			fprintf(stderr, "ttlog: %s: cannot start: %s\n", path,
				ttlog_strerror(rc));
		pipeline_free(p);
		return rc;
	}
	/* create() has run: the option structs are no longer needed. */
	ttlog__pipeline_drop_options(p);
	return 0;
}
