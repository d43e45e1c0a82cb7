/* loader.c - libyaml's events into the tree of ttlog__cfg_node.
 *
 * The event API is used rather than libyaml's document API: the events
 * carry the marks we need, anchors and aliases can be refused where they
 * appear instead of after libyaml has resolved them, and duplicate keys
 * are found while the map is being read, in file order.
 *
 * A syntax error stops libyaml for good, so it is always the last error of
 * a run; everything found before it (duplicate keys, aliases, unset
 * variables, bad tags) is reported with it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "loader_internal.h"

/* No real configuration nests this deep; the limit keeps the recursive
 * build and free from running off the stack on "[[[[[[...". */
#define CFG_MAX_DEPTH 64
/* Below this many keys a map is searched linearly for duplicates. */
#define KEYSET_MIN 16

struct loader {
	yaml_parser_t parser;
	const char *file; /* doc->file: what the nodes point to */
	const unsigned char *text;
	size_t len;
	struct ttlog__diag *d;
	unsigned long errors;
	/* libyaml failed or memory ran out: no further event can be read. */
	int fatal;
	/* The key path of the node being built, "listeners[1].rotate". */
	char *path;
	size_t path_len, path_cap;
};

__attribute__((format(printf, 4, 5))) static void
error_at(struct loader *l, unsigned line, unsigned col, const char *fmt, ...)
{
	/* A stand-in node: only its place is read. */
	struct ttlog__cfg_node at = {.file = l->file, .line = line, .col = col};
	va_list ap;

	va_start(ap, fmt);
	ttlog__diag_addv(l->d, &at, l->path, fmt, ap);
	va_end(ap);
	l->errors++;
}

static unsigned mark_line(yaml_mark_t m)
{
	return (unsigned)m.line + 1;
}

static unsigned mark_col(yaml_mark_t m)
{
	return (unsigned)m.column + 1;
}

static void oom(struct loader *l)
{
	if (!l->fatal)
		ttlog__diag_add_file(l->d, l->file, "out of memory");
	l->errors++;
	l->fatal = 1;
}

/* Appends ".key" (or "key" at the root) or "[i]"; returns the length to
 * restore with path_pop(). */
static size_t path_push(struct loader *l, const char *key, size_t index)
{
	size_t old = l->path_len, need;
	char num[32];

	if (key == NULL) {
		snprintf(num, sizeof(num), "[%zu]", index);
		key = num;
	}
	need = old + strlen(key) + 2;
	if (need > l->path_cap) {
		size_t cap = l->path_cap ? l->path_cap : 64;
		while (cap < need)
			cap *= 2;
		char *p = realloc(l->path, cap);
		if (p == NULL) {
			oom(l);
			return old;
		}
		l->path = p;
		l->path_cap = cap;
	}
	if (key != num && old > 0)
		l->path[l->path_len++] = '.';
	strcpy(l->path + l->path_len, key);
	l->path_len += strlen(key);
	return old;
}

static void path_pop(struct loader *l, size_t old)
{
	l->path_len = old;
	if (l->path != NULL)
		l->path[old] = 0;
}

/* Line and column of a byte offset, for reader errors (bad UTF-8, control
 * characters), where libyaml gives only the offset. Columns count UTF-8
 * characters as libyaml's own marks do; in a UTF-16 file the place is only
 * approximate. */
static void offset_to_mark(const struct loader *l, size_t off, unsigned *line,
			   unsigned *col)
{
	unsigned ln = 1, cl = 1;
	size_t i = 0;

	if (off > l->len)
		off = l->len;
	/* libyaml does not count a byte order mark as a column. */
	if (l->len >= 3 && memcmp(l->text, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	for (; i < off; i++) {
		unsigned char c = l->text[i];
		if (c == '\n' || (c == '\r' && (i + 1 >= l->len ||
						l->text[i + 1] != '\n'))) {
			ln++;
			cl = 1;
		} else if ((c & 0xC0) != 0x80 && c != '\r') {
			cl++;
		}
	}
	*line = ln;
	*col = cl;
}

static void syntax_error(struct loader *l)
{
	yaml_parser_t *p = &l->parser;
	unsigned line, col;

	l->fatal = 1;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		oom(l);
		return;
	case YAML_READER_ERROR:
		offset_to_mark(l, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			error_at(l, line, col, "%s (#x%02X)", p->problem,
				 (unsigned)p->problem_value);
		else
			error_at(l, line, col, "%s", p->problem);
		return;
	default:
		break;
	}
	line = mark_line(p->problem_mark);
	col = mark_col(p->problem_mark);
	/* A token the scanner could not finish (a quoted scalar without its
	 * closing quote, a flow collection without its bracket) is detected
	 * where the input ends or the next token begins, often many lines
	 * below the mistake. The place that matters is where the token
	 * starts (libyaml's context mark), so the error is reported there
	 * and says where it was detected. A parser error (bad indentation,
	 * a missing key) is at the place it was found; the construct it
	 * broke is named with its place in parentheses. */
	if (p->context != NULL && p->error == YAML_SCANNER_ERROR &&
	    p->context_mark.index < p->problem_mark.index)
		error_at(l, mark_line(p->context_mark),
			 mark_col(p->context_mark),
			 "%s at line %u, column %u (%s starting here)",
			 p->problem ? p->problem : "syntax error", line, col,
			 p->context);
	else if (p->context != NULL)
		error_at(l, line, col, "%s (%s at line %u, column %u)",
			 p->problem ? p->problem : "syntax error", p->context,
			 mark_line(p->context_mark), mark_col(p->context_mark));
	else
		error_at(l, line, col, "%s",
			 p->problem ? p->problem : "syntax error");
}

static int next_event(struct loader *l, yaml_event_t *ev)
{
	if (l->fatal)
		return -1;
	if (!yaml_parser_parse(&l->parser, ev)) {
		syntax_error(l);
		return -1;
	}
	return 0;
}

static struct ttlog__cfg_node *
node_new(struct loader *l, enum ttlog__cfg_kind kind, yaml_mark_t m)
{
	struct ttlog__cfg_node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		oom(l);
		return NULL;
	}
	n->kind = kind;
	n->file = l->file;
	n->line = mark_line(m);
	n->col = mark_col(m);
	return n;
}

/* Anchors and tags are checked on every node. Only YAML's own tags are
 * accepted ("!!str 10"), since an application tag would mean nothing to
 * ttlog; "!!str" and the non-specific "!" keep a scalar a string. */
static void check_props(struct loader *l, const yaml_char_t *anchor,
			const yaml_char_t *tag, yaml_mark_t m, int *str_tag)
{
	static const char std[] = "tag:yaml.org,2002:";

	if (anchor != NULL)
		error_at(l, mark_line(m), mark_col(m),
			 "anchors are not supported");
	if (tag == NULL)
		return;
	const char *t = (const char *)tag;
	if (strcmp(t, "!") == 0 || strcmp(t, "tag:yaml.org,2002:str") == 0) {
		if (str_tag != NULL)
			*str_tag = 1;
		return;
	}
	if (strncmp(t, std, sizeof(std) - 1) != 0)
		error_at(l, mark_line(m), mark_col(m),
			 "unsupported tag \"%s\" (only YAML's own tags such "
			 "as !!str are understood)",
			 t);
}

static struct ttlog__cfg_node *build(struct loader *l, yaml_event_t *ev,
				     unsigned depth, int is_key);

static struct ttlog__cfg_node *build_scalar(struct loader *l, yaml_event_t *ev,
					    int is_key)
{
	struct ttlog__cfg_node *n;
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int str_tag = 0;

	check_props(l, ev->data.scalar.anchor, ev->data.scalar.tag,
		    ev->start_mark, &str_tag);
	n = node_new(l, TTLOG__CFG_SCALAR, ev->start_mark);
	if (n == NULL)
		return NULL;
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || str_tag;
	/* "\0" in a double-quoted string is valid YAML, but every consumer
	 * of the tree reads C strings and would silently cut the value. */
	if (memchr(v, 0, len) != NULL) {
		error_at(l, n->line, n->col,
			 "contains a NUL byte (\\0), which is not allowed");
		len = strlen(v);
	}
	/* Keys are not expanded: they are the schema, and an environment
	 * that could rename options would make "unknown key" errors name
	 * text that is not in the file. */
	if (!is_key && memchr(v, '$', len) != NULL) {
		char *x;
		int r = ttlog__cfg_expand(v, &x, l->d, n, l->path);
		if (r < 0) {
			oom(l);
			ttlog__cfg_node_free(n);
			return NULL;
		}
		l->errors += (unsigned long)r;
		n->str = x;
	}
	if (n->str == NULL)
		n->str = strndup(v, len);
	if (n->str == NULL) {
		oom(l);
		ttlog__cfg_node_free(n);
		return NULL;
	}
	return n;
}

static int append(struct loader *l, struct ttlog__cfg_node *m,
		  struct ttlog__cfg_node *key, struct ttlog__cfg_node *val,
		  size_t *cap)
{
	if (m->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct ttlog__cfg_node **v = realloc(m->vals, nc * sizeof(*v));
		if (v == NULL)
			goto fail;
		m->vals = v;
		if (key != NULL) {
			char **k = realloc(m->keys, nc * sizeof(*k));
			if (k == NULL)
				goto fail;
			m->keys = k;
			v = realloc(m->key_nodes, nc * sizeof(*v));
			if (v == NULL)
				goto fail;
			m->key_nodes = v;
		}
		*cap = nc;
	}
	if (key != NULL) {
		m->keys[m->n] = key->str;
		m->key_nodes[m->n] = key;
	}
	m->vals[m->n++] = val;
	return 0;
fail:
	oom(l);
	ttlog__cfg_node_free(key);
	ttlog__cfg_node_free(val);
	return -1;
}

static struct ttlog__cfg_node *build_seq(struct loader *l, yaml_event_t *ev,
					 unsigned depth)
{
	struct ttlog__cfg_node *n = node_new(l, TTLOG__CFG_SEQ, ev->start_mark);
	size_t cap = 0;

	yaml_event_delete(ev);
	/* i counts the items written, n->n those kept (an alias is not), so
	 * that paths in errors match the file. */
	for (size_t i = 0; n != NULL; i++) {
		if (next_event(l, ev) != 0)
			break;
		if (ev->type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(ev);
			return n;
		}
		size_t old = path_push(l, NULL, i);
		struct ttlog__cfg_node *item = build(l, ev, depth + 1, 0);
		path_pop(l, old);
		if (item != NULL && append(l, n, NULL, item, &cap) != 0)
			break;
	}
	ttlog__cfg_node_free(n);
	return NULL;
}

/* Duplicate keys: a hash set of indices into the map's keys, made only
 * when a map grows large (a generated config with thousands of keys would
 * otherwise cost a quadratic number of comparisons). */
struct keyset {
	size_t *slot; /* index + 1; 0 is empty */
	size_t cap;
};

static size_t hash_str(const char *s)
{
	size_t h = 14695981039346656037ull & SIZE_MAX;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int keyset_add(struct keyset *ks, const struct ttlog__cfg_node *m,
		      size_t idx)
{
	if ((idx + 1) * 2 > ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 64;
		while ((idx + 1) * 2 > cap)
			cap *= 2;
		size_t *s = calloc(cap, sizeof(*s));
		if (s == NULL)
			return -1;
		free(ks->slot);
		ks->slot = s;
		ks->cap = cap;
		/* Rehash everything, the new key included. */
		for (size_t i = 0; i < idx; i++)
			keyset_add(ks, m, i);
	}
	size_t h = hash_str(m->keys[idx]) & (ks->cap - 1);
	while (ks->slot[h] != 0)
		h = (h + 1) & (ks->cap - 1);
	ks->slot[h] = idx + 1;
	return 0;
}

/* Index of key in the map, or SIZE_MAX. */
static size_t keyset_find(const struct keyset *ks,
			  const struct ttlog__cfg_node *m, const char *key)
{
	if (ks->cap == 0) {
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->keys[i], key) == 0)
				return i;
		return SIZE_MAX;
	}
	size_t h = hash_str(key) & (ks->cap - 1);
	for (; ks->slot[h] != 0; h = (h + 1) & (ks->cap - 1))
		if (strcmp(m->keys[ks->slot[h] - 1], key) == 0)
			return ks->slot[h] - 1;
	return SIZE_MAX;
}

static struct ttlog__cfg_node *build_map(struct loader *l, yaml_event_t *ev,
					 unsigned depth)
{
	struct ttlog__cfg_node *n = node_new(l, TTLOG__CFG_MAP, ev->start_mark);
	struct keyset ks = {0};
	size_t cap = 0;

	yaml_event_delete(ev);
	while (n != NULL) {
		if (next_event(l, ev) != 0)
			break;
		if (ev->type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(ev);
			free(ks.slot);
			return n;
		}
		struct ttlog__cfg_node *key = build(l, ev, depth + 1, 1);
		if (l->fatal) {
			ttlog__cfg_node_free(key);
			break;
		}
		if (key != NULL && key->kind != TTLOG__CFG_SCALAR) {
			error_at(l, key->line, key->col,
				 "map keys must be scalars");
			ttlog__cfg_node_free(key);
			key = NULL;
		}
		size_t first = key ? keyset_find(&ks, n, key->str) : SIZE_MAX;
		if (first != SIZE_MAX) {
			size_t o = path_push(l, key->str, 0);
			error_at(l, key->line, key->col,
				 "duplicate key \"%s\" (first at line %u)",
				 key->str, n->key_nodes[first]->line);
			path_pop(l, o);
		}
		/* The value is read even when the key is unusable, both to
		 * stay in step with the events and to report its errors. */
		if (next_event(l, ev) != 0) {
			ttlog__cfg_node_free(key);
			break;
		}
		size_t old = path_push(l, key ? key->str : "?", 0);
		struct ttlog__cfg_node *val = build(l, ev, depth + 1, 0);
		path_pop(l, old);
		if (l->fatal || key == NULL || val == NULL ||
		    first != SIZE_MAX) {
			ttlog__cfg_node_free(key);
			ttlog__cfg_node_free(val);
			if (l->fatal)
				break;
			continue;
		}
		if (append(l, n, key, val, &cap) != 0)
			break;
		if (n->n >= KEYSET_MIN && keyset_add(&ks, n, n->n - 1) != 0) {
			oom(l);
			break;
		}
	}
	free(ks.slot);
	ttlog__cfg_node_free(n);
	return NULL;
}

/* Builds the node that `ev` starts and reads the rest of its events; the
 * event is consumed. NULL on a fatal error or for a node that cannot be
 * part of the tree (an alias); the error is recorded either way. */
static struct ttlog__cfg_node *build(struct loader *l, yaml_event_t *ev,
				     unsigned depth, int is_key)
{
	struct ttlog__cfg_node *n = NULL;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = build_scalar(l, ev, is_key);
		break;
	case YAML_ALIAS_EVENT:
		error_at(l, mark_line(ev->start_mark), mark_col(ev->start_mark),
			 "aliases are not supported");
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (depth >= CFG_MAX_DEPTH) {
			/* Reading on to the end of the node would cost time
			 * quadratic in the depth inside libyaml 0.2.5 (its
			 * simple-key checks walk every open flow level), so
			 * this ends the load. */
			error_at(l, mark_line(ev->start_mark),
				 mark_col(ev->start_mark),
				 "nested deeper than %d levels", CFG_MAX_DEPTH);
			l->fatal = 1;
			break;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			check_props(l, ev->data.sequence_start.anchor,
				    ev->data.sequence_start.tag, ev->start_mark,
				    NULL);
			return build_seq(l, ev, depth);
		}
		check_props(l, ev->data.mapping_start.anchor,
			    ev->data.mapping_start.tag, ev->start_mark, NULL);
		return build_map(l, ev, depth);
	default:
		/* libyaml never sends a stream or document event inside a
		 * node; if it did, the event stream could not be followed. */
		error_at(l, mark_line(ev->start_mark), mark_col(ev->start_mark),
			 "unexpected YAML event %d", (int)ev->type);
		l->fatal = 1;
		break;
	}
	yaml_event_delete(ev);
	return n;
}

/* The stream: at most one document. Reading stops at the start of a
 * second one; its contents do not matter once it is refused. */
static struct ttlog__cfg_node *load_stream(struct loader *l)
{
	struct ttlog__cfg_node *root = NULL;
	yaml_event_t ev;
	int docs = 0;

	while (next_event(l, &ev) == 0) {
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		yaml_mark_t at = ev.start_mark;
		yaml_event_delete(&ev);
		if (++docs == 2) {
			error_at(l, mark_line(at), mark_col(at),
				 "more than one document (ttlog.yaml is one "
				 "document; remove this \"---\" and what "
				 "follows, or merge them)");
			break;
		}
		if (next_event(l, &ev) != 0)
			break;
		root = build(l, &ev, 0, 0);
	}
	return root;
}

unsigned long ttlog__cfg_parse(const char *file, const unsigned char *text,
			       size_t len, struct ttlog__diag *d,
			       struct ttlog__cfg_node **root)
{
	struct loader l = {.file = file, .text = text, .len = len, .d = d};

	*root = NULL;
	if (!yaml_parser_initialize(&l.parser)) {
		oom(&l);
		return l.errors;
	}
	yaml_parser_set_input_string(&l.parser, text, len);
	*root = load_stream(&l);
	yaml_parser_delete(&l.parser);
	free(l.path);
	/* No document ("" or only comments) and an empty one ("---") are
	 * both an empty configuration, which means all defaults. */
	if (l.errors == 0 &&
	    (*root == NULL || ((*root)->kind == TTLOG__CFG_SCALAR &&
			       !(*root)->quoted && (*root)->str[0] == 0))) {
		yaml_mark_t m = {0, 0, 0};
		ttlog__cfg_node_free(*root);
		*root = node_new(&l, TTLOG__CFG_MAP, m);
	}
	if (l.errors != 0) {
		ttlog__cfg_node_free(*root);
		*root = NULL;
	}
	return l.errors;
}
