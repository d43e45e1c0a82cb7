/* proc_drop.c - the drop processor: no options, every event it sees
 * goes no further (used with `match:`). */
#include "proc_util.h"

/* A state that is not NULL (NULL means an error). */
static char drop_state;

static void *drop_compile(const struct ttlog__cfg_node *sec, const char *path,
			  struct ttlog__diag *d)
{
	static const char *const keys[] = {NULL};

	if (ttlog__proc_keys_check(sec, path, keys, d) > 0)
		return NULL;
	return &drop_state;
}

static enum ttlog__proc_rc drop_apply(void *st, struct ttlog__work *w,
				      uint64_t now_ns)
{
	(void)st;
	(void)w;
	(void)now_ns;
	return TTLOG__PROC_DROP;
}

static void drop_free(void *st)
{
	(void)st;
}

const struct ttlog__proc_kind ttlog__proc_drop = {"drop", drop_compile,
						  drop_apply, drop_free};
