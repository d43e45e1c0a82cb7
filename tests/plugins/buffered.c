/*
 * buffered.c - a test listener that keeps every batch (as JSON lines) in
 * memory and writes it to `path` only in flush(), the way a listener that
 * batches its output does. It shows that the library calls flush() on
 * its own while it runs: without that the file stays empty until
 * shutdown. `lose: N` makes destroy() report N events lost through the
 * host, as a listener that gives up on what it took does.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/listener.h>

struct buffered_opts {
	char *path;
	int64_t lose;
};

static const struct ttlog_option_spec buffered_spec[] = {
	{TTLOG_OPTION_STRING, "path", NULL,
	 offsetof(struct buffered_opts, path),
	 "file flush() appends the held JSON lines to", NULL,
	 TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_INT, "lose", "0", offsetof(struct buffered_opts, lose),
	 "events destroy() reports lost", NULL, 0},
	{0},
};

struct buffered {
	const struct ttlog_host *host;
	char *path;
	int64_t lose;
	char *buf;
	size_t len, cap;
};

static int buffered_create(const void *options, const struct ttlog_host *host,
			   void **state)
{
	const struct buffered_opts *o = options;
	struct buffered *b = calloc(1, sizeof(*b));

	if (b == NULL || (b->path = strdup(o->path)) == NULL) {
		free(b);
		return TTLOG_ENOMEM;
	}
	b->host = host;
	b->lose = o->lose;
	*state = b;
	return 0;
}

static int buffered_consume(void *state, struct ttlog_batch *batch)
{
	struct buffered *b = state;
	const void *data;
	size_t len;

	if (ttlog_batch_encode(batch, TTLOG_ENCODING_JSONL, &data, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *p = realloc(b->buf, cap);
		if (p == NULL)
			return TTLOG_LISTENER_RETRY;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	return TTLOG_LISTENER_OK;
}

static int buffered_flush(void *state)
{
	struct buffered *b = state;
	FILE *f;

	if (b->len == 0)
		return 0;
	f = fopen(b->path, "ae");
	if (f == NULL)
		return TTLOG_ESYSTEM;
	fwrite(b->buf, 1, b->len, f);
	b->len = 0;
	return fclose(f) == 0 ? 0 : TTLOG_ESYSTEM;
}

static void buffered_destroy(void *state)
{
	struct buffered *b = state;

	if (b == NULL)
		return;
	if (b->lose > 0 && TTLOG_HOST_HAS(b->host, lost))
		b->host->lost(b->host, (uint64_t)b->lose, "lose is set");
	free(b->buf);
	free(b->path);
	free(b);
}

static const struct ttlog_listener_api buffered_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "buffered",
	.description = "holds batches until flush()",
	.options = buffered_spec,
	.options_size = sizeof(struct buffered_opts),
	.consume = buffered_consume,
	.flush = buffered_flush,
	.destroy = buffered_destroy,
	.create2 = buffered_create,
};

TTLOG_LISTENER_ENTRY(buffered_api)
