/*
 * registry_internal.h - loading listener plugins and applying their option
 * tables; building a pipeline from ttlog.yaml.
 */
#ifndef TTLOG_REGISTRY_INTERNAL_H
#define TTLOG_REGISTRY_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "config_internal.h"

/* A loaded plugin: the handle stays open while the table is used. */
struct ttlog__plugin {
	char *path; /* as configured, for messages; owned */
	void *handle;
	const struct ttlog_listener_api *api;
	/* The descriptor it was loaded through (/proc/self/fd/N), shared by
	 * every load of the same file and open while the object is loaded:
	 * glibc recognises loaded objects by that name, and a reused N would
	 * return the wrong plugin (loader.c). Not owned by this struct. */
	int fd;
};

/*
 * Loads a plugin: `name` is a type ("file": dir/file.so) or, when it
 * contains a '/', an absolute path. Refuses, with the reason in err: a
 * path that is not absolute, a missing file, a symlink, anything but a
 * regular file, a file or parent directory writable by group or others or
 * owned by another user than root or us, a missing entry symbol, another
 * ABI major, a table too small.
 * @return 0, or a negative TTLOG_E* code with err filled.
 */
int ttlog__plugin_load(const char *dir, const char *name,
		       struct ttlog__plugin *out, char *err, size_t errlen);
void ttlog__plugin_unload(struct ttlog__plugin *p);

/*
 * An option table and the struct it fills: a plugin's (TTLOG__OPTIONS_OF()
 * its listener table), or one of the registry's or the agent's own (the
 * service section, the common part of a listener, an input).
 */
struct ttlog__option_table {
	const char *name; /* in help and in errors about the table itself */
	const char *description;
	const struct ttlog_option_spec *options; /* may be NULL */
	size_t size; /* bytes of the options struct */
};

/* The option table of a listener's table, for the calls below. */
#define TTLOG__OPTIONS_OF(api)                                                 \
	(&(const struct ttlog__option_table){(api)->name, (api)->description,  \
					     (api)->options,                   \
					     (api)->options_size})

/*
 * Fills a new options struct (t->size bytes) from a YAML section through
 * the option table: defaults first, then
 * the keys present. Keys in `skip` (NULL-terminated) belong to the caller
 * and are passed over. Every problem is added to d with file:line:col and
 * `path` (for example "listeners[1]") as prefix; unknown keys get a
 * did-you-mean.
 * @return the struct (free with ttlog__options_free()), or NULL when an
 *         error was added.
 */
void *ttlog__options_apply(const struct ttlog__option_table *t,
			   const struct ttlog__cfg_node *section,
			   const char *path, const char *const *skip,
			   struct ttlog__diag *d);
void ttlog__options_free(const struct ttlog__option_table *t, void *opts);
/* The node a listener's check() error is about, when its reason starts
 * with an option key and ": " ("rotate.size: too small", or an entry of
 * a map option, "properties.linger.ms: ..."); NULL when it names none. */
const struct ttlog__cfg_node *
ttlog__options_locate(const struct ttlog__option_table *t,
		      const struct ttlog__cfg_node *section,
		      const char *reason);
/* Like ttlog__options_apply() but without the unknown-key check, for a
 * table that covers only part of a section. */
void *ttlog__options_fill(const struct ttlog__option_table *t,
			  const struct ttlog__cfg_node *section,
			  const char *path, struct ttlog__diag *d);

/* Prints the option table as help text. */
void ttlog__options_help(const struct ttlog__option_table *t, FILE *out);

/*
 * A pipeline built from ttlog.yaml: library options, the listeners, and
 * what must live as long as they do.
 */
struct ttlog__pipeline {
	struct ttlog_options opts;
	struct ttlog_listener_config *listeners;
	size_t n;
	struct ttlog__plugin *plugins; /* n, loaded */
	void **plugin_opts;	       /* n, from ttlog__options_apply */
	char **names;		       /* n listener names */
	char **fingerprints; /* n: plugin path + section, for reloads */
	char **where;	     /* n: "FILE:LINE" of each section, or NULL */
	/* match: and processors: (route.h), one route per listener. */
	struct ttlog__routing *routing;
	char *service;
	char *plugin_dir;
	char *snapshot_dir;
	/* The caller's part of the service section (struct ttlog__cfg_claims),
	 * filled through claimed_api's table; NULL without claims. */
	void *claimed;
	const struct ttlog__option_table *claimed_table;
};

/*
 * What a program adds to the configuration besides the library's own keys
 * (ttlog-agent: the inputs section and service.http, user, ...). The
 * library knows none of them: a key nobody claims is an error.
 */
struct ttlog__cfg_claims {
	/* Top-level sections the caller reads itself, NULL-terminated. */
	const char *const *sections;
	/* The caller's keys in the service section; applied here, the
	 * result in ttlog__pipeline.claimed. NULL: none. */
	const struct ttlog__option_table *service;
};

struct ttlog__buf;
/* Appends a canonical form of the subtree at n (after ${VAR} expansion):
 * two sections with equal fingerprints configure the same thing. */
void ttlog__cfg_fingerprint(const struct ttlog__cfg_node *n,
			    struct ttlog__buf *out);

/* Where plugins are looked for when service.plugin_dir is not set. */
const char *ttlog__default_plugin_dir(void);

/*
 * Builds a pipeline from a loaded document: the service and listeners
 * sections, and what `claims` (may be NULL) adds; any other section or
 * service key is an error. Loads and checks each plugin and applies its
 * options.
 * @return 0, or -1 with every problem in d (nothing is left loaded).
 */
int ttlog__pipeline_build(const struct ttlog__cfg_node *root,
			  const struct ttlog__cfg_claims *claims,
			  struct ttlog__pipeline *out, struct ttlog__diag *d);
void ttlog__pipeline_release(struct ttlog__pipeline *p);
/* "FILE:LINE" of the section of the listener called `name`, or "?".
 * Borrowed from p. */
const char *ttlog__pipeline_where(const struct ttlog__pipeline *p,
				  const char *name);
/* Frees the option structs once create() has run (it copies what it
 * keeps); the plugins stay loaded. */
void ttlog__pipeline_drop_options(struct ttlog__pipeline *p);

#endif /* TTLOG_REGISTRY_INTERNAL_H */
