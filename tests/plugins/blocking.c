/* blocking.c - a test listener whose first consume() sleeps for `block`
 * (default 6s) before taking the batch, as a plugin stuck on a descriptor
 * or a lock would: the writer's watchdog must name it and count the
 * stall. Every later batch is taken at once. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include <ttlog/listener.h>

struct blocking_opts {
	uint64_t block_ms;
};

static const struct ttlog_option_spec blocking_spec[] = {
	{TTLOG_OPTION_DURATION, "block", "6s",
	 offsetof(struct blocking_opts, block_ms),
	 "how long the first consume() sleeps", NULL, 0},
	{0},
};

struct blocking {
	uint64_t block_ms;
	int done;
};

static int blocking_create(const void *options, void **state)
{
	const struct blocking_opts *o = options;
	struct blocking *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return TTLOG_ENOMEM;
	b->block_ms = o->block_ms;
	*state = b;
	return 0;
}

static int blocking_consume(void *state, struct ttlog_batch *batch)
{
	struct blocking *b = state;
	struct timespec t = {(time_t)(b->block_ms / 1000),
			     (long)(b->block_ms % 1000) * 1000000};

	(void)batch;
	if (!b->done) {
		b->done = 1;
		while (nanosleep(&t, &t) != 0)
			;
	}
	return TTLOG_LISTENER_OK;
}

static void blocking_destroy(void *state)
{
	free(state);
}

static const struct ttlog_listener_api blocking_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "blocking",
	.description = "sleeps in its first consume()",
	.options = blocking_spec,
	.options_size = sizeof(struct blocking_opts),
	.create = blocking_create,
	.consume = blocking_consume,
	.destroy = blocking_destroy,
};

TTLOG_LISTENER_ENTRY(blocking_api)
