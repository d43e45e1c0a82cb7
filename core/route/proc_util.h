/*
 * proc_util.h - what the kinds of processors share (proc_util.c): reading
 * their options from the item's map with errors at the right place, and
 * changing a work event whose strings may live in the work's scratch.
 */
#ifndef TTLOG_ROUTE_PROC_UTIL_H
#define TTLOG_ROUTE_PROC_UTIL_H

#include "proc_impl.h"

/* The kinds of this folder, one file each (proc_<type>.c). */
extern const struct ttlog__proc_kind ttlog__proc_remove;
extern const struct ttlog__proc_kind ttlog__proc_rename;
extern const struct ttlog__proc_kind ttlog__proc_redact;
extern const struct ttlog__proc_kind ttlog__proc_parse;
extern const struct ttlog__proc_kind ttlog__proc_sample;
extern const struct ttlog__proc_kind ttlog__proc_throttle;
extern const struct ttlog__proc_kind ttlog__proc_drop;

/* ---- options ---- */

/*
 * Checks that every key of sec is `type`, `match`, `name` or one of
 * allowed (NULL-terminated); each other key is an error at the key
 * ("unknown key 'patern' (did you mean 'pattern'?)").
 * @return the number of errors added to d.
 */
int ttlog__proc_keys_check(const struct ttlog__cfg_node *sec, const char *path,
			   const char *const *allowed, struct ttlog__diag *d);

/* Each getter returns 0 when the key is absent (out untouched), 1 when it
 * was read into out, -1 after adding an error (at the value, naming
 * path.key and what was expected). */

/* For a required option: r is its getter's result. When r is 0 (absent)
 * adds "missing key 'KEY' (WHAT)" at sec. @return 1 when r <= 0 (the
 * option is bad or absent), else 0. */
int ttlog__proc_required(int r, const struct ttlog__cfg_node *sec,
			 const char *path, struct ttlog__diag *d,
			 const char *key, const char *what);

/* A scalar; *out is borrowed from the document. */
int ttlog__proc_opt_str(const struct ttlog__cfg_node *sec, const char *key,
			const char *path, struct ttlog__diag *d,
			const char **out);
/* A whole number in [min, max]. */
int ttlog__proc_opt_uint(const struct ttlog__cfg_node *sec, const char *key,
			 const char *path, struct ttlog__diag *d, uint64_t min,
			 uint64_t max, uint64_t *out);
/* A duration ("1s", "500ms"), in nanoseconds, > 0 and <= max_ms. */
int ttlog__proc_opt_duration_ns(const struct ttlog__cfg_node *sec,
				const char *key, const char *path,
				struct ttlog__diag *d, uint64_t max_ms,
				uint64_t *out);
int ttlog__proc_opt_bool(const struct ttlog__cfg_node *sec, const char *key,
			 const char *path, struct ttlog__diag *d, int *out);
/* A non-empty sequence of non-empty scalars; *out (n strings, the array
 * and the strings) is the caller's, freed with ttlog__proc_strs_free(). */
int ttlog__proc_opt_strs(const struct ttlog__cfg_node *sec, const char *key,
			 const char *path, struct ttlog__diag *d, char ***out,
			 size_t *n);
void ttlog__proc_strs_free(char **v, size_t n);

/* A list of names as the state of a processor (remove, rename). */
struct ttlog__proc_names {
	char **v;
	size_t n;
};
/* Frees a struct ttlog__proc_names and its names; NULL is a no-op. */
void ttlog__proc_names_free(void *names);

/* ---- work events ---- */

/* Room in the work's scratch: ttlog__work_scratch_reserve() (work.h). */
/* The index of the last field of w->ev with key k (kl bytes), or -1. */
int ttlog__work_find(const struct ttlog__work *w, const char *k, size_t kl);
/* Removes field i of w->ev, keeping the order of the others. */
void ttlog__work_del(struct ttlog__work *w, uint32_t i);
/* Whether field f's key is the NUL-terminated k. */
int ttlog__work_key_is(const struct ttlog__in_field *f, const char *k);

#endif /* TTLOG_ROUTE_PROC_UTIL_H */
