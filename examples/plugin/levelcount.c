/*
 * levelcount.c - an example listener plugin: counts events per level and
 * writes the counts to a file whenever ttlog flushes its listeners.
 *
 *   listeners:
 *     - name: counts
 *       type: levelcount        # or plugin: /path/to/levelcount.so
 *       path: /var/tmp/ttlog-counts
 *
 * Everything a plugin needs is in <ttlog/listener.h>: a table of callbacks
 * that all run on ttlog's writer thread, an option table the registry fills
 * from ttlog.yaml, and TTLOG_LISTENER_ENTRY to export the table.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/listener.h>

struct levelcount_opts {
	char *path; /* valid during create() only: copy it */
};

static const struct ttlog_option_spec levelcount_options[] = {
	{TTLOG_OPTION_STRING, "path", NULL,
	 offsetof(struct levelcount_opts, path),
	 "file the counts are written to", NULL, TTLOG_OPTION_REQUIRED},
	{0},
};

struct levelcount {
	char *path;
	unsigned long long count[TTLOG_LEVEL_OFF];
};

static int levelcount_create(const void *options, void **state)
{
	const struct levelcount_opts *o = options;
	struct levelcount *lc = calloc(1, sizeof(*lc));

	if (lc == NULL || (lc->path = strdup(o->path)) == NULL) {
		free(lc);
		return TTLOG_ENOMEM;
	}
	*state = lc;
	return 0;
}

static int levelcount_consume(void *state, struct ttlog_batch *b)
{
	struct levelcount *lc = state;
	struct ttlog_event e;

	for (size_t i = 0; i < ttlog_batch_count(b); i++)
		if (ttlog_batch_event(b, i, &e) == 0 &&
		    e.level < TTLOG_LEVEL_OFF)
			lc->count[e.level]++;
	return TTLOG_LISTENER_OK;
}

static int levelcount_flush(void *state)
{
	struct levelcount *lc = state;
	FILE *f = fopen(lc->path, "w");

	if (f == NULL)
		return TTLOG_ESYSTEM;
	for (int l = TTLOG_LEVEL_TRACE; l < TTLOG_LEVEL_OFF; l++)
		fprintf(f, "%s=%llu\n", ttlog_level_name((enum ttlog_level)l),
			lc->count[l]);
	return fclose(f) == 0 ? 0 : TTLOG_ESYSTEM;
}

static void levelcount_destroy(void *state)
{
	struct levelcount *lc = state;
	free(lc->path);
	free(lc);
}

static const struct ttlog_listener_api levelcount_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "levelcount",
	.description = "counts events per level into a file",
	.options = levelcount_options,
	.options_size = sizeof(struct levelcount_opts),
	.create = levelcount_create,
	.consume = levelcount_consume,
	.flush = levelcount_flush,
	.destroy = levelcount_destroy,
};

TTLOG_LISTENER_ENTRY(levelcount_api)
