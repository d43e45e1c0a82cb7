/*
 * old11.c - a listener as a plugin built for ABI 1.1 was compiled: its own
 * copy of the 1.1 table (six reserved slots after draining(), no
 * create2/start2), abi_version 1.1, start(state, event_base). It appends
 * each batch's JSON lines to `path`, after a line saying whether start()
 * got a loop. Past the end of the table lie functions that abort, where a
 * 1.2 table has create2 and start2.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ttlog/listener.h>

/* struct ttlog_listener_api as ABI 1.1 declared it. */
struct old_api_1_1 {
	uint32_t abi_version;
	uint32_t struct_size;
	const char *name;
	const char *description;
	const struct ttlog_option_spec *options;
	size_t options_size;
	int (*create)(const void *options, void **state);
	int (*start)(void *state, struct event_base *base);
	int (*consume)(void *state, struct ttlog_batch *batch);
	int (*flush)(void *state);
	void (*destroy)(void *state);
	int (*reopen)(void *state);
	void (*metrics)(void *state, ttlog_metric_emit_fn emit, void *ctx);
	int (*draining)(void *state);
	void *reserved[6];
};

_Static_assert(sizeof(struct old_api_1_1) ==
		       offsetof(struct ttlog_listener_api, create2),
	       "1.2 appends after the reserved slots");

struct old_opts {
	char *path;
};

static const struct ttlog_option_spec old_spec[] = {
	{TTLOG_OPTION_STRING, "path", NULL, offsetof(struct old_opts, path),
	 "file to append JSON lines to", NULL, TTLOG_OPTION_REQUIRED},
	{0},
};

static int old_create(const void *options, void **state)
{
	const struct old_opts *o = options;
	FILE *f = fopen(o->path, "ae");

	if (f == NULL)
		return TTLOG_ESYSTEM;
	*state = f;
	return 0;
}

static int old_start(void *state, struct event_base *base)
{
	fprintf(state, "started base=%d\n", base != NULL);
	return fflush(state) == 0 ? 0 : TTLOG_ESYSTEM;
}

static int old_consume(void *state, struct ttlog_batch *b)
{
	const void *data;
	size_t len;

	if (ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &data, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	fwrite(data, 1, len, state);
	return TTLOG_LISTENER_OK;
}

static int old_flush(void *state)
{
	return fflush(state) == 0 ? 0 : TTLOG_ESYSTEM;
}

static void old_destroy(void *state)
{
	if (state != NULL)
		fclose(state);
}

static void old_trap(void)
{
	abort();
}

/* The table, followed in memory by two functions that abort where a 1.2
 * table has create2 and start2: a loader that read past struct_size
 * would call them. */
static const struct {
	struct old_api_1_1 t;
	void *after[2];
} old_api = {{
		     .abi_version = (1u << 16) | 1u,
		     .struct_size = sizeof(struct old_api_1_1),
		     .name = "old11",
		     .description = "a listener built for ABI 1.1",
		     .options = old_spec,
		     .options_size = sizeof(struct old_opts),
		     .create = old_create,
		     .start = old_start,
		     .consume = old_consume,
		     .flush = old_flush,
		     .destroy = old_destroy,
	     },
	     {(void *)(uintptr_t)old_trap, (void *)(uintptr_t)old_trap}};

TTLOG_EXPORT const struct ttlog_listener_api *ttlog_listener_entry(void);
TTLOG_EXPORT const struct ttlog_listener_api *ttlog_listener_entry(void)
{
	return (const struct ttlog_listener_api *)(const void *)&old_api.t;
}
