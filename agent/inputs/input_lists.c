/*
 * input_lists.c - the options of an input that name several things:
 * `paths` and `exclude` (tail), `paths` and `match` (journal), `topics`
 * (kafka). The option
 * table holds scalars only, so these keys are passed over when the table
 * is applied and read here from the entry's own node, with errors that
 * point at the item at fault.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "config_internal.h"

const char *const ttlog__input_list_keys[] = {"paths", "exclude", "match",
					      "topics", NULL};

/* Appends a copy of s; 0 or -1 (out of memory, l unchanged). */
static int list_push(struct ttlog__input_list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (v == NULL)
		return -1;
	l->v = v;
	if ((v[l->n] = strdup(s)) == NULL)
		return -1;
	v[++l->n] = NULL;
	return 0;
}

/* One item: a non-empty string of at most TTLOG__INPUT_LIST_MAX_LEN. */
static int item_ok(const struct ttlog__cfg_node *it, const char *at_path,
		   struct ttlog__diag *d)
{
	if (it->kind != TTLOG__CFG_SCALAR) {
		ttlog__diag_add(d, it, at_path, "expected a string, got a %s",
				it->kind == TTLOG__CFG_MAP ? "map" : "list");
		return -1;
	}
	if (it->str[0] == '\0') {
		ttlog__diag_add(d, it, at_path, "must not be empty");
		return -1;
	}
	if (strlen(it->str) > TTLOG__INPUT_LIST_MAX_LEN) {
		ttlog__diag_add(d, it, at_path, "longer than %u bytes",
				TTLOG__INPUT_LIST_MAX_LEN);
		return -1;
	}
	return 0;
}

int ttlog__input_list_get(const struct ttlog__cfg_node *entry, const char *key,
			  const char *path, struct ttlog__input_list *out,
			  struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *v = ttlog__cfg_get(entry, key);
	char full[512];
	int bad = 0;

	out->v = NULL;
	out->n = 0;
	if (v == NULL)
		return 0;
	snprintf(full, sizeof(full), "%s.%s", path, key);
	if (v->kind == TTLOG__CFG_SCALAR) {
		if (item_ok(v, full, d) != 0)
			return -1;
		if (list_push(out, v->str) != 0) {
			ttlog__diag_add(d, v, full, "out of memory");
			return -1;
		}
		return 0;
	}
	if (v->kind != TTLOG__CFG_SEQ) {
		ttlog__diag_add(d, v, full,
				"expected a string or a list of strings, got "
				"a map");
		return -1;
	}
	if (v->n == 0) {
		ttlog__diag_add(d, v, full,
				"an empty list; leave the key out instead");
		return -1;
	}
	if (v->n > TTLOG__INPUT_LIST_MAX) {
		ttlog__diag_add(d, v, full, "more than %u items",
				TTLOG__INPUT_LIST_MAX);
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		char item[560];
		snprintf(item, sizeof(item), "%s[%zu]", full, i);
		if (item_ok(v->vals[i], item, d) != 0) {
			bad = 1;
			continue;
		}
		if (list_push(out, v->vals[i]->str) != 0) {
			ttlog__diag_add(d, v->vals[i], item, "out of memory");
			bad = 1;
			break;
		}
	}
	if (bad) {
		ttlog__input_list_free(out);
		return -1;
	}
	return 0;
}

void ttlog__input_list_free(struct ttlog__input_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int ttlog__input_list_copy(struct ttlog__input_list *dst,
			   const struct ttlog__input_list *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		if (list_push(dst, src->v[i]) != 0) {
			ttlog__input_list_free(dst);
			return -1;
		}
	return 0;
}

int ttlog__input_list_equal(const struct ttlog__input_list *a,
			    const struct ttlog__input_list *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

int ttlog__input_lists_read(struct ttlog__input_opts *o,
			    const struct ttlog__cfg_node *entry,
			    const char *path, struct ttlog__diag *d)
{
	int bad = 0;

	bad |= ttlog__input_list_get(entry, "paths", path, &o->paths, d);
	bad |= ttlog__input_list_get(entry, "exclude", path, &o->exclude, d);
	bad |= ttlog__input_list_get(entry, "match", path, &o->match, d);
	bad |= ttlog__input_list_get(entry, "topics", path, &o->topics, d);
	return bad ? -1 : 0;
}

void ttlog__input_lists_free(struct ttlog__input_opts *o)
{
	ttlog__input_list_free(&o->paths);
	ttlog__input_list_free(&o->exclude);
	ttlog__input_list_free(&o->match);
	ttlog__input_list_free(&o->topics);
}

const char *ttlog__input_list_misplaced(const struct ttlog__input_opts *o)
{
	int tail = o->type == TTLOG__INPUT_TAIL;
	int journal = o->type == TTLOG__INPUT_JOURNAL;

	if (o->paths.n > 0 && !tail && !journal)
		return "paths";
	if (o->exclude.n > 0 && !tail)
		return "exclude";
	if (o->match.n > 0 && !journal)
		return "match";
	if (o->topics.n > 0 && o->type != TTLOG__INPUT_KAFKA)
		return "topics";
	return NULL;
}

int ttlog__input_listens(int type)
{
	return type == TTLOG__INPUT_SYSLOG || type == TTLOG__INPUT_JSONL ||
	       type == TTLOG__INPUT_TTLOG;
}
