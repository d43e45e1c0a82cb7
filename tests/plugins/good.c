/*
 * good.c - a test listener with one option of every type. It appends each
 * batch's JSON lines to `path`, and at create() writes one line with the
 * options it was given, so a test can see what the registry applied.
 * Built three more times with defects (see CMakeLists.txt).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <ttlog/listener.h>

#include "good_options.h"

static const struct ttlog_option_spec good_spec[] = {
	{TTLOG_OPTION_STRING, "path", NULL, offsetof(struct good_opts, path),
	 "file to append JSON lines to", NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_STRING, "label", "none",
	 offsetof(struct good_opts, label), "a string", NULL, 0},
	{TTLOG_OPTION_BOOL, "flag", "false", offsetof(struct good_opts, flag),
	 "a bool", NULL, 0},
	{TTLOG_OPTION_INT, "count", "-3", offsetof(struct good_opts, count),
	 "an integer", NULL, 0},
	{TTLOG_OPTION_SIZE, "size", "1KiB", offsetof(struct good_opts, size),
	 "a size", NULL, 0},
	{TTLOG_OPTION_DURATION, "wait", "2s",
	 offsetof(struct good_opts, wait_ms), "a duration", NULL, 0},
	{TTLOG_OPTION_ENUM, "mode", "alpha", offsetof(struct good_opts, mode),
	 "a choice", "alpha|beta|gamma", 0},
	{TTLOG_OPTION_SIZE, "nested.size", "0",
	 offsetof(struct good_opts, nested_size), "a size in a nested map",
	 NULL, 0},
	{0},
};

static int good_create(const void *options, void **state)
{
	const struct good_opts *o = options;
	FILE *f = fopen(o->path, "ae");

	if (f == NULL)
		return TTLOG_ESYSTEM;
	fprintf(f,
		"opts label=%s flag=%d count=%" PRId64 " size=%" PRIu64
		" wait_ms=%" PRIu64 " mode=%d nested.size=%" PRIu64 "\n",
		o->label, o->flag, o->count, o->size, o->wait_ms, o->mode,
		o->nested_size);
	fflush(f);
	*state = f;
	return 0;
}

static int good_consume(void *state, struct ttlog_batch *b)
{
	const void *data;
	size_t len;

	if (ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &data, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	fwrite(data, 1, len, state);
	return TTLOG_LISTENER_OK;
}

static int good_flush(void *state)
{
	return fflush(state) == 0 ? 0 : TTLOG_ESYSTEM;
}

static void good_destroy(void *state)
{
	if (state != NULL)
		fclose(state);
}

static const struct ttlog_listener_api good_api = {
#ifdef TEST_ABI_MAJOR
	.abi_version = (uint32_t)(TEST_ABI_MAJOR << 16),
#else
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
#endif
#ifdef TEST_SHORT_TABLE
	.struct_size = 24,
#else
	.struct_size = sizeof(struct ttlog_listener_api),
#endif
	.name = "good",
	.description = "test listener with every option type",
	.options = good_spec,
	.options_size = sizeof(struct good_opts),
	.create = good_create,
	.consume = good_consume,
	.flush = good_flush,
	.destroy = good_destroy,
};

#ifndef TEST_NO_ENTRY
TTLOG_LISTENER_ENTRY(good_api)
#else
TTLOG_EXPORT const struct ttlog_listener_api *not_the_entry(void);
TTLOG_EXPORT const struct ttlog_listener_api *not_the_entry(void)
{
	return &good_api;
}
#endif
