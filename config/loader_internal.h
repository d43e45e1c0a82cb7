/*
 * loader_internal.h - what the files of the ttlog.yaml loader share:
 * config.c (documents and files), loader.c (libyaml events into nodes) and
 * expand.c (${VAR}). Users of the loader include config_internal.h only.
 */
#ifndef TTLOG_CONFIG_LOADER_INTERNAL_H
#define TTLOG_CONFIG_LOADER_INTERNAL_H

#include "config_internal.h"

/*
 * Parses len bytes of YAML into a tree, adding every problem to d.
 * @param file the name for diagnostics; borrowed, and every node's file
 *             points to it, so it must outlive the tree.
 * @param root set to the tree (caller frees with ttlog__cfg_node_free()),
 *             an empty map for an empty stream or document; NULL when
 *             there was any error.
 * @return the number of errors (0 on success). It counts errors that could
 *         not be added to d for lack of memory as well.
 */
unsigned long ttlog__cfg_parse(const char *file, const unsigned char *text,
			       size_t len, struct ttlog__diag *d,
			       struct ttlog__cfg_node **root);

/* Frees a node and everything under it; NULL is ignored. */
void ttlog__cfg_node_free(struct ttlog__cfg_node *n);

/*
 * Expands every ${NAME} and ${NAME:-default} in s (NUL-terminated).
 * NAME is [A-Za-z_][A-Za-z0-9_]*. ${NAME} is the variable's value (empty
 * when set to the empty string); ${NAME:-default} is the value, or the
 * default when the variable is unset or empty (the shell's rule). The
 * default is literal text up to the first "}" and cannot contain "${".
 * Results are not expanded again. A "$" not followed by "{" is kept as it
 * is: "$HOME" and "$$" stay literal text.
 * Each problem is added to d at `at` with `path`.
 * @param out set to the expansion (caller frees with free()), or to NULL
 *            when s holds no "${" and is used unchanged, or on error.
 * @return the number of problems added (0 on success), or -1 when memory
 *         ran out (nothing added).
 */
int ttlog__cfg_expand(const char *s, char **out, struct ttlog__diag *d,
		      const struct ttlog__cfg_node *at, const char *path);

#endif /* TTLOG_CONFIG_LOADER_INTERNAL_H */
