/*
 * config_internal.h - ttlog.yaml as a tree of nodes that remember where
 * they came from, and the diagnostics that name that place.
 *
 * The loader reads one YAML document with libyaml into a tree of maps,
 * sequences and scalars. Every node keeps its file, line and column
 * (1-based), so that whoever interprets the tree can report
 *
 *   ttlog.yaml:14:7: listeners[1].rotate.size: expected a size such as
 *   100MiB, got "big"
 *
 * Scalar values (never keys) have ${VAR} and ${VAR:-default} expanded at
 * load time; the default applies when VAR is unset or empty, a '$' not
 * followed by '{' is kept, "$${" is kept as "${" (for templates), and
 * expansion is not recursive. The tree owns
 * all its memory; ttlog__cfg_free() releases it.
 *
 * Limits: files up to 64 MiB, nesting up to 64 levels. A second document,
 * a nesting too deep or a libyaml syntax error ends the load (libyaml
 * cannot go on after one); other errors are all collected.
 */
#ifndef TTLOG_CONFIG_INTERNAL_H
#define TTLOG_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum ttlog__cfg_kind {
	TTLOG__CFG_SCALAR = 1,
	TTLOG__CFG_MAP = 2,
	TTLOG__CFG_SEQ = 3
};

struct ttlog__cfg_node {
	enum ttlog__cfg_kind kind;
	const char *file; /* owned by the document */
	unsigned line, col;
	/* Scalar: NUL-terminated after expansion (embedded NULs are an
	 * error at load time); `quoted` when written in quotes, as a block
	 * scalar (| or >) or tagged !!str or !, so that "true" or "10" stay
	 * strings where a string is wanted. */
	char *str;
	int quoted;
	/* Map: n entries, keys[i] -> vals[i], in file order, keys unique
	 * (a duplicate key is a load error). key_nodes[i] is the key's own
	 * scalar node, for errors about the key itself. Sequence: n items
	 * in vals[]; keys and key_nodes are NULL. */
	size_t n;
	char **keys;
	struct ttlog__cfg_node **key_nodes;
	struct ttlog__cfg_node **vals;
};

/* Collected errors: every problem found, not just the first. */
struct ttlog__diag {
	char **msgs; /* each "file:line:col: path: message", no newline */
	size_t n, cap;
};

/* Appends "file:line:col: path: message" (path may be NULL or empty,
 * then "file:line:col: message"). at may be NULL for errors with no place
 * (then "file: message" using `file`, or just the message). */
void ttlog__diag_add(struct ttlog__diag *d, const struct ttlog__cfg_node *at,
		     const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ttlog__diag_addv(struct ttlog__diag *d, const struct ttlog__cfg_node *at,
		      const char *path, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* Adds a message that names only a file (an unreadable file). If memory
 * runs out a message can be lost; the load still fails. */
void ttlog__diag_add_file(struct ttlog__diag *d, const char *file,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ttlog__diag_free(struct ttlog__diag *d);

struct ttlog__cfg_doc;

/*
 * Loads one YAML document. `name` is used in diagnostics (the path as the
 * user gave it). Errors (unreadable file, YAML syntax with libyaml's own
 * position, duplicate keys, aliases, more than one document, non-scalar map
 * keys, ${VAR} unset without a default, an unterminated ${) are added to
 * *d. An empty file gives an empty map.
 * @return the document (caller frees with ttlog__cfg_free()), or NULL when
 *         any error was added.
 */
struct ttlog__cfg_doc *ttlog__cfg_load_file(const char *path,
					    struct ttlog__diag *d);
struct ttlog__cfg_doc *ttlog__cfg_load_string(const char *name,
					      const char *text, size_t len,
					      struct ttlog__diag *d);
/* The root node: a map, or whatever the document holds. Borrowed. */
const struct ttlog__cfg_node *ttlog__cfg_root(const struct ttlog__cfg_doc *);
void ttlog__cfg_free(struct ttlog__cfg_doc *doc);

/* Map lookup; NULL when absent or when node is not a map. */
const struct ttlog__cfg_node *ttlog__cfg_get(const struct ttlog__cfg_node *m,
					     const char *key);

/*
 * Scalar conversions. Each returns 0 and stores the value, or -1 when the
 * text is not of that form (the caller reports it, naming what was
 * expected). None accepts trailing garbage or leading/trailing spaces.
 *  size:     "0", "512", "64KiB", "100MiB", "2GiB", "1TiB", "10KB" (1000),
 *            "10MB", "10GB", "100B"; case-sensitive units; overflow is -1.
 *  duration: "0", "200ms", "30s", "5m", "1h", "2d", "1500us"; stored in
 *            milliseconds (us rounds up to whole ms); a bare number other
 *            than zero ("0", "00") is -1.
 *  bool:     true/false, yes/no, on/off (YAML 1.1 habits, lower case).
 *  int64 / uint64: decimal, optional sign for int64, range-checked.
 */
int ttlog__cfg_parse_size(const char *s, uint64_t *out);
int ttlog__cfg_parse_duration_ms(const char *s, uint64_t *out);
int ttlog__cfg_parse_bool(const char *s, int *out);
int ttlog__cfg_parse_int64(const char *s, int64_t *out);
int ttlog__cfg_parse_uint64(const char *s, uint64_t *out);

/*
 * Did-you-mean: the candidate closest to `word` by edit distance (a swap
 * of two adjacent letters counts as one edit), if it is close enough to be
 * a plausible typo (distance <= max(1, strlen/3)); otherwise NULL. Words
 * over 64 characters get no suggestion. candidates ends with NULL.
 */
const char *ttlog__cfg_suggest(const char *word, const char *const *candidates);

#endif /* TTLOG_CONFIG_INTERNAL_H */
