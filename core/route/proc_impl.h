/*
 * proc_impl.h - how one kind of processor plugs into proc.c: a name, and
 * functions to compile an item, apply it and free it. Each kind lives in
 * a file of its own (proc_set.c, proc_redact.c, ...) and exports one
 * const struct ttlog__proc_kind, which proc.c lists.
 */
#ifndef TTLOG_ROUTE_PROC_IMPL_H
#define TTLOG_ROUTE_PROC_IMPL_H

#include "proc.h"

struct ttlog__proc_kind {
	const char *type; /* as written in `type:` */
	/* Compiles the item's own options (not type, match, name); adds
	 * every problem to d; returns the state or NULL on error. */
	void *(*compile)(const struct ttlog__cfg_node *sec, const char *path,
			 struct ttlog__diag *d);
	enum ttlog__proc_rc (*apply)(void *state, struct ttlog__work *w,
				     uint64_t now_ns);
	void (*free)(void *state);
};

/* The set processor (proc_set.c): set or overwrite a field from a
 * template. */
extern const struct ttlog__proc_kind ttlog__proc_set;

#endif /* TTLOG_ROUTE_PROC_IMPL_H */
