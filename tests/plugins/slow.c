/* slow.c - a test listener that never accepts a batch: it answers RETRY
 * forever (or ERROR with `fail: true`), to show that one listener cannot
 * stall the others or the producers. */
#include <stdlib.h>

#include <ttlog/listener.h>

struct slow_opts {
	int fail;
};

static const struct ttlog_option_spec slow_spec[] = {
	{TTLOG_OPTION_BOOL, "fail", "false", offsetof(struct slow_opts, fail),
	 "answer ERROR instead of RETRY", NULL, 0},
	{0},
};

static int slow_create(const void *options, void **state)
{
	const struct slow_opts *o = options;
	int *fail = malloc(sizeof(*fail));
	if (fail == NULL)
		return TTLOG_ENOMEM;
	*fail = o->fail;
	*state = fail;
	return 0;
}

static int slow_consume(void *state, struct ttlog_batch *b)
{
	(void)b;
	return *(int *)state ? TTLOG_LISTENER_ERROR : TTLOG_LISTENER_RETRY;
}

static void slow_destroy(void *state)
{
	free(state);
}

static const struct ttlog_listener_api slow_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "slow",
	.description = "refuses every batch",
	.options = slow_spec,
	.options_size = sizeof(struct slow_opts),
	.create = slow_create,
	.consume = slow_consume,
	.destroy = slow_destroy,
};

TTLOG_LISTENER_ENTRY(slow_api)
