/*
 * checked.c - a test listener of ABI 1.3 with a check(): it refuses the
 * option `colour: octarine` by name, and its create2() writes "created"
 * to `path`, so that a test can see that checking a configuration creates
 * nothing while starting it does.
 *
 * Built a second time with TEST_OLD12 as a plugin of ABI 1.2: abi_version
 * 1.2 and a struct_size that ends before check(), whose slot holds a
 * function that aborts. A loader that read check() from such a table
 * would kill the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/listener.h>

struct checked_opts {
	char *path;
	char *colour;
};

static const struct ttlog_option_spec checked_spec[] = {
	{TTLOG_OPTION_STRING, "path", NULL, offsetof(struct checked_opts, path),
	 "file create2() writes \"created\" to", NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_STRING, "colour", "red",
	 offsetof(struct checked_opts, colour),
	 "any colour but octarine (check() refuses it)", NULL, 0},
	{0},
};

#ifndef TEST_OLD12
static int checked_check(const void *options, char *err, size_t errlen)
{
	const struct checked_opts *o = options;

	if (o->colour != NULL && strcmp(o->colour, "octarine") == 0) {
		snprintf(err, errlen,
			 "colour: \"octarine\" is visible only to wizards");
		return TTLOG_EINVAL;
	}
	return 0;
}
#endif

static int checked_create(const void *options, const struct ttlog_host *host,
			  void **state)
{
	const struct checked_opts *o = options;
	FILE *f = fopen(o->path, "ae");

	if (f == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot open", "%s",
			  o->path);
		return TTLOG_ESYSTEM;
	}
	fputs("created\n", f);
	fflush(f);
	*state = f;
	return 0;
}

static int checked_consume(void *state, struct ttlog_batch *b)
{
	(void)state;
	(void)b;
	return TTLOG_LISTENER_OK;
}

static void checked_destroy(void *state)
{
	if (state != NULL)
		fclose(state);
}

#ifdef TEST_OLD12
static int check_trap(const void *options, char *err, size_t errlen)
{
	(void)options;
	(void)err;
	(void)errlen;
	abort();
}
#define CHECKED_VERSION ((1u << 16) | 2u)
#define CHECKED_SIZE offsetof(struct ttlog_listener_api, check)
#define CHECKED_CHECK check_trap
#else
#define CHECKED_VERSION TTLOG_LISTENER_ABI_VERSION
#define CHECKED_SIZE sizeof(struct ttlog_listener_api)
#define CHECKED_CHECK checked_check
#endif

static const struct ttlog_listener_api checked_api = {
	.abi_version = CHECKED_VERSION,
	.struct_size = CHECKED_SIZE,
	.name = "checked",
	.description = "a listener whose check() refuses colour: octarine",
	.options = checked_spec,
	.options_size = sizeof(struct checked_opts),
	.consume = checked_consume,
	.destroy = checked_destroy,
	.create2 = checked_create,
	.check = CHECKED_CHECK,
};

TTLOG_LISTENER_ENTRY(checked_api)
