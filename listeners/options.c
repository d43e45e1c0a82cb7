/*
 * options.c - applying a listener's YAML section to the option table the
 * plugin declared, and printing that table as help.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"

#define MAX_CHOICES 32

static const char *type_name(enum ttlog_option_type t)
{
	switch (t) {
	case TTLOG_OPTION_STRING:
		return "string";
	case TTLOG_OPTION_BOOL:
		return "bool";
	case TTLOG_OPTION_INT:
		return "integer";
	case TTLOG_OPTION_SIZE:
		return "size";
	case TTLOG_OPTION_DURATION:
		return "duration";
	case TTLOG_OPTION_ENUM:
	case TTLOG_OPTION_ENUM_VALUES:
		return "choice";
	case TTLOG_OPTION_MAP:
		return "map";
	case TTLOG_OPTION_END:
	default:
		return "?";
	}
}

/* Splits "a|b|c" into out (pointers into buf). Returns the count. */
static int split_choices(const char *choices, char *buf, size_t bufsz,
			 const char **out)
{
	int n = 0;
	snprintf(buf, bufsz, "%s", choices ? choices : "");
	for (char *s = buf, *save = NULL, *tok;
	     n < MAX_CHOICES - 1 && (tok = strtok_r(s, "|", &save)) != NULL;
	     s = NULL)
		out[n++] = tok;
	out[n] = NULL;
	return n;
}

/* The names an ENUM or ENUM_VALUES option accepts, joined by '|', into
 * buf: the form help and error messages show for both. A name whose value
 * an earlier name already has is a synonym (the level table's "warning"
 * after "warn"): accepted, and left out here so the list stays short. */
static const char *choice_list(const struct ttlog_option_spec *o, char *buf,
			       size_t bufsz)
{
	size_t len = 0;

	if (o->type == TTLOG_OPTION_ENUM)
		return o->choices ? o->choices : "";
	buf[0] = 0;
	for (const struct ttlog_option_value *v = ttlog_option_values(o);
	     v != NULL && v->name != NULL && len < bufsz; v++) {
		const struct ttlog_option_value *u = ttlog_option_values(o);
		int w;

		while (u != v && u->value != v->value)
			u++;
		if (u != v)
			continue;
		w = snprintf(buf + len, bufsz - len, "%s%s", len ? "|" : "",
			     v->name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return buf;
}

/*
 * Converts one scalar into the field. Returns 0, or -1 after adding an
 * error that says what was expected.
 */
static int set_value(const struct ttlog_option_spec *o, void *opts,
		     const char *text, const struct ttlog__cfg_node *at,
		     const char *path, struct ttlog__diag *d)
{
	unsigned char *field = (unsigned char *)opts + o->offset;
	uint64_t u;
	int64_t i;
	int b;

	switch (o->type) {
	case TTLOG_OPTION_STRING: {
		char *copy = strdup(text);
		if (copy == NULL) {
			ttlog__diag_add(d, at, path, "out of memory");
			return -1;
		}
		char *old;
		memcpy(&old, field, sizeof(old));
		free(old);
		memcpy(field, &copy, sizeof(copy));
		return 0;
	}
	case TTLOG_OPTION_BOOL:
		if (ttlog__cfg_parse_bool(text, &b) != 0)
			break;
		memcpy(field, &b, sizeof(b));
		return 0;
	case TTLOG_OPTION_INT:
		if (ttlog__cfg_parse_int64(text, &i) != 0)
			break;
		memcpy(field, &i, sizeof(i));
		return 0;
	case TTLOG_OPTION_SIZE:
		if (ttlog__cfg_parse_size(text, &u) != 0)
			break;
		memcpy(field, &u, sizeof(u));
		return 0;
	case TTLOG_OPTION_DURATION:
		if (ttlog__cfg_parse_duration_ms(text, &u) != 0)
			break;
		memcpy(field, &u, sizeof(u));
		return 0;
	case TTLOG_OPTION_ENUM: {
		char buf[512];
		const char *c[MAX_CHOICES];
		int n = split_choices(o->choices, buf, sizeof(buf), c);
		for (int k = 0; k < n; k++)
			if (strcmp(c[k], text) == 0) {
				memcpy(field, &k, sizeof(k));
				return 0;
			}
		const char *near = ttlog__cfg_suggest(text, c);
		ttlog__diag_add(
			d, at, path, "expected one of %s, got \"%s\"%s%s%s",
			o->choices, text, near ? " (did you mean \"" : "",
			near ? near : "", near ? "\"?)" : "");
		return -1;
	}
	case TTLOG_OPTION_ENUM_VALUES: {
		const char *c[MAX_CHOICES];
		char list[512];
		int n = 0;
		for (const struct ttlog_option_value *v =
			     ttlog_option_values(o);
		     v != NULL && v->name != NULL; v++) {
			if (strcmp(v->name, text) == 0) {
				memcpy(field, &v->value, sizeof(v->value));
				return 0;
			}
			if (n < MAX_CHOICES - 1)
				c[n++] = v->name;
		}
		c[n] = NULL;
		const char *near = ttlog__cfg_suggest(text, c);
		ttlog__diag_add(d, at, path,
				"expected one of %s, got \"%s\"%s%s%s",
				choice_list(o, list, sizeof(list)), text,
				near ? " (did you mean \"" : "",
				near ? near : "", near ? "\"?)" : "");
		return -1;
	}
	case TTLOG_OPTION_END:
	default:
		break;
	}
	static const char *const examples[] = {
		[TTLOG_OPTION_BOOL] = "true or false",
		[TTLOG_OPTION_INT] = "an integer such as 7",
		[TTLOG_OPTION_SIZE] = "a size such as 100MiB",
		[TTLOG_OPTION_DURATION] = "a duration such as 30s or 200ms",
	};
	ttlog__diag_add(d, at, path, "expected %s, got \"%s\"",
			o->type < sizeof(examples) / sizeof(examples[0]) &&
					examples[o->type]
				? examples[o->type]
				: type_name(o->type),
			text);
	return -1;
}

/* Frees a TTLOG_OPTION_MAP array (NULL allowed). */
static void free_map(char **kv)
{
	for (char **p = kv; p != NULL && *p != NULL; p++)
		free(*p);
	free(kv);
}

/*
 * A TTLOG_OPTION_MAP: every value of map v must be a scalar; the field
 * gets the NULL-terminated key, value, ... array. Returns 0, or -1 after
 * adding errors (each bad entry named).
 */
static int set_map(const struct ttlog_option_spec *o, void *opts,
		   const struct ttlog__cfg_node *v, const char *path,
		   struct ttlog__diag *d)
{
	unsigned char *field = (unsigned char *)opts + o->offset;
	char **kv, **old;
	int bad = 0;

	if (v->kind != TTLOG__CFG_MAP) {
		ttlog__diag_add(d, v, path, "expected a map, got a %s",
				v->kind == TTLOG__CFG_SCALAR ? "scalar"
							     : "list");
		return -1;
	}
	kv = calloc(2 * v->n + 1, sizeof(*kv));
	if (kv == NULL) {
		ttlog__diag_add(d, v, path, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (v->vals[i]->kind != TTLOG__CFG_SCALAR) {
			char full[1024];
			snprintf(full, sizeof(full), "%.500s.%.500s", path,
				 v->keys[i]);
			ttlog__diag_add(d, v->vals[i], full,
					"expected a text, number or boolean, "
					"got a %s",
					v->vals[i]->kind == TTLOG__CFG_MAP
						? "map"
						: "list");
			bad = 1;
			continue;
		}
		kv[2 * i] = strdup(v->keys[i]);
		kv[2 * i + 1] = strdup(v->vals[i]->str);
		if (kv[2 * i] == NULL || kv[2 * i + 1] == NULL) {
			ttlog__diag_add(d, v, path, "out of memory");
			bad = 1;
			break;
		}
	}
	if (bad) {
		/* Entries may have holes: free them one by one. */
		for (size_t i = 0; i < 2 * v->n; i++)
			free(kv[i]);
		free(kv);
		return -1;
	}
	memcpy(&old, field, sizeof(old));
	free_map(old);
	memcpy(field, &kv, sizeof(kv));
	return 0;
}

/* Finds the node of a dotted key ("rotate.size") below section, nested
 * (rotate: {size: ...}) or written flat ("rotate.size: ..."). When a step
 * on the way ("rotate") is there but is not a map, *not_map is set to it
 * and NULL returned. */
static const struct ttlog__cfg_node *
lookup(const struct ttlog__cfg_node *section, const char *key,
       const struct ttlog__cfg_node **not_map)
{
	char part[256];
	const struct ttlog__cfg_node *n = section;

	*not_map = NULL;
	while (n != NULL) {
		/* The rest written flat ("rotate.size: 1MiB") is the same
		 * key as the nested form. */
		const struct ttlog__cfg_node *flat =
			strchr(key, '.') ? ttlog__cfg_get(n, key) : NULL;
		if (flat != NULL)
			return flat;
		const char *dot = strchr(key, '.');
		size_t len = dot ? (size_t)(dot - key) : strlen(key);
		if (len >= sizeof(part))
			return NULL;
		memcpy(part, key, len);
		part[len] = 0;
		n = ttlog__cfg_get(n, part);
		if (dot == NULL)
			return n;
		if (n != NULL && n->kind != TTLOG__CFG_MAP) {
			*not_map = n;
			return NULL;
		}
		key = dot + 1;
	}
	return NULL;
}

/* True when some option key is `prefix` + key, exactly (leaf) or below
 * (a nested map); *leaf tells which. */
static int known_key(const struct ttlog_option_spec *t, const char *prefix,
		     const char *key, int *leaf)
{
	size_t pl = strlen(prefix), kl = strlen(key);

	for (; t->type != TTLOG_OPTION_END; t++) {
		if (strncmp(t->key, prefix, pl) != 0 ||
		    strncmp(t->key + pl, key, kl) != 0)
			continue;
		if (t->key[pl + kl] == 0) {
			*leaf = 1;
			return 1;
		}
		if (t->key[pl + kl] == '.') {
			*leaf = 0;
			return 1;
		}
	}
	return 0;
}

/* The names that could follow `prefix` (for did-you-mean). */
static int candidates(const struct ttlog_option_spec *t, const char *prefix,
		      const char *const *skip, char store[][64],
		      const char **out, int max)
{
	size_t pl = strlen(prefix);
	int n = 0;

	for (; skip && *skip && n < max - 1; skip++)
		out[n++] = *skip;
	for (; t && t->type != TTLOG_OPTION_END && n < max - 1; t++) {
		if (strncmp(t->key, prefix, pl) != 0)
			continue;
		const char *rest = t->key + pl;
		size_t len = strcspn(rest, ".");
		if (len >= 64)
			continue;
		memcpy(store[n], rest, len);
		store[n][len] = 0;
		out[n] = store[n];
		n++;
	}
	out[n] = NULL;
	return n;
}

static int in_list(const char *k, const char *const *list)
{
	for (; list && *list; list++)
		if (strcmp(k, *list) == 0)
			return 1;
	return 0;
}

/* Reports every key of map m (at prefix) that no option names. */
static int check_unknown(const struct ttlog_option_spec *t,
			 const struct ttlog__cfg_node *m, const char *prefix,
			 const char *path, const char *const *skip,
			 struct ttlog__diag *d)
{
	int bad = 0;

	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->keys[i];
		char full[512], sub[512];
		int leaf = 1;

		if (prefix[0] == 0 && in_list(k, skip))
			continue;
		snprintf(full, sizeof(full), "%s.%s%s", path, prefix, k);
		if (t == NULL || !known_key(t, prefix, k, &leaf)) {
			char store[64][64];
			const char *cand[64];
			candidates(t, prefix, prefix[0] ? NULL : skip, store,
				   cand, 64);
			const char *near = ttlog__cfg_suggest(k, cand);
			ttlog__diag_add(d, m->key_nodes[i], full,
					"unknown option%s%s%s",
					near ? " (did you mean \"" : "",
					near ? near : "", near ? "\"?)" : "");
			bad = 1;
			continue;
		}
		if (leaf)
			continue;
		if (m->vals[i]->kind != TTLOG__CFG_MAP) {
			ttlog__diag_add(d, m->vals[i], full,
					"expected a map of options");
			bad = 1;
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s.", prefix, k);
		bad |= check_unknown(t, m->vals[i], sub, path, NULL, d);
	}
	return bad;
}

static void *fill(const struct ttlog__option_table *tab,
		  const struct ttlog__cfg_node *section, const char *path,
		  int check, const char *const *skip, struct ttlog__diag *d)
{
	const struct ttlog_option_spec *t = tab->options;
	void *opts = calloc(1, tab->size ? tab->size : 1);
	int bad = 0;

	if (opts == NULL) {
		ttlog__diag_add(d, section, path, "out of memory");
		return NULL;
	}
	const struct ttlog__cfg_node *reported = NULL;

	for (; t != NULL && t->type != TTLOG_OPTION_END; t++) {
		const struct ttlog__cfg_node *not_map;
		const struct ttlog__cfg_node *v =
			lookup(section, t->key, &not_map);
		char full[512];

		if (not_map != NULL) {
			/* "queue: 5" where "queue:" holds options: once. */
			if (not_map != reported) {
				char pre[512];
				size_t len = strcspn(t->key, ".");
				snprintf(pre, sizeof(pre), "%s.%.*s", path,
					 (int)len, t->key);
				ttlog__diag_add(d, not_map, pre,
						"expected a map of options");
				reported = not_map;
			}
			bad = 1;
			continue;
		}

		snprintf(full, sizeof(full), "%s.%s", path, t->key);
		if (t->offset >= tab->size) {
			ttlog__diag_add(d, section, full,
					"plugin %s: option offset %zu is past "
					"its options struct (%zu bytes)",
					tab->name, t->offset, tab->size);
			bad = 1;
			continue;
		}
		if (t->default_value != NULL &&
		    set_value(t, opts, t->default_value, section, full, d))
			bad = 1;
		if (v == NULL) {
			if (t->flags & TTLOG_OPTION_REQUIRED) {
				ttlog__diag_add(d, section, path,
						"missing required option "
						"\"%s\" (%s)",
						t->key, t->description);
				bad = 1;
			}
			continue;
		}
		if (t->type == TTLOG_OPTION_MAP) {
			if (set_map(t, opts, v, full, d))
				bad = 1;
			continue;
		}
		if (v->kind != TTLOG__CFG_SCALAR) {
			ttlog__diag_add(d, v, full, "expected a %s, got a %s",
					type_name(t->type),
					v->kind == TTLOG__CFG_MAP ? "map"
								  : "list");
			bad = 1;
			continue;
		}
		if (set_value(t, opts, v->str, v, full, d))
			bad = 1;
	}
	if (check && section->kind == TTLOG__CFG_MAP &&
	    check_unknown(tab->options, section, "", path, skip, d))
		bad = 1;
	if (bad) {
		ttlog__options_free(tab, opts);
		return NULL;
	}
	return opts;
}

const struct ttlog__cfg_node *
ttlog__options_locate(const struct ttlog__option_table *tab,
		      const struct ttlog__cfg_node *section, const char *reason)
{
	const char *colon = strstr(reason, ": ");
	char key[256];

	if (colon == NULL || (size_t)(colon - reason) >= sizeof(key) ||
	    colon == reason)
		return NULL;
	memcpy(key, reason, (size_t)(colon - reason));
	key[colon - reason] = 0;
	if (strchr(key, ' ') != NULL)
		return NULL;
	for (const struct ttlog_option_spec *t = tab->options;
	     t != NULL && t->type != TTLOG_OPTION_END; t++) {
		size_t kl = strlen(t->key);
		const struct ttlog__cfg_node *not_map, *n;

		if (strncmp(key, t->key, kl) != 0 ||
		    (key[kl] != 0 && key[kl] != '.'))
			continue;
		n = lookup(section, t->key, &not_map);
		if (n == NULL || key[kl] == 0)
			return n;
		if (t->type != TTLOG_OPTION_MAP || n->kind != TTLOG__CFG_MAP)
			return NULL;
		/* A map's own keys may hold dots ("linger.ms"). */
		for (size_t i = 0; i < n->n; i++)
			if (strcmp(n->keys[i], key + kl + 1) == 0)
				return n->vals[i];
		return NULL;
	}
	return NULL;
}

void *ttlog__options_apply(const struct ttlog__option_table *tab,
			   const struct ttlog__cfg_node *section,
			   const char *path, const char *const *skip,
			   struct ttlog__diag *d)
{
	return fill(tab, section, path, 1, skip, d);
}

void *ttlog__options_fill(const struct ttlog__option_table *tab,
			  const struct ttlog__cfg_node *section,
			  const char *path, struct ttlog__diag *d)
{
	return fill(tab, section, path, 0, NULL, d);
}

void ttlog__options_free(const struct ttlog__option_table *tab, void *opts)
{
	if (opts == NULL)
		return;
	for (const struct ttlog_option_spec *t = tab->options;
	     t != NULL && t->type != TTLOG_OPTION_END; t++) {
		if (t->type == TTLOG_OPTION_STRING && t->offset < tab->size) {
			char *s;
			memcpy(&s, (unsigned char *)opts + t->offset,
			       sizeof(s));
			free(s);
		}
		if (t->type == TTLOG_OPTION_MAP && t->offset < tab->size) {
			char **kv;
			memcpy(&kv, (unsigned char *)opts + t->offset,
			       sizeof(kv));
			free_map(kv);
		}
	}
	free(opts);
}

void ttlog__options_help(const struct ttlog__option_table *tab, FILE *out)
{
	fprintf(out, "%s: %s\n", tab->name,
		tab->description ? tab->description : "");
	if (tab->options == NULL || tab->options->type == TTLOG_OPTION_END) {
		fprintf(out, "\n  (no options)\n");
		return;
	}
	fprintf(out, "\n  %-20s %-9s %-14s %s\n", "option", "type", "default",
		"description");
	for (const struct ttlog_option_spec *t = tab->options;
	     t->type != TTLOG_OPTION_END; t++) {
		const char *def = t->default_value;
		if (t->flags & TTLOG_OPTION_REQUIRED)
			def = "(required)";
		else if (def == NULL)
			def = "-";
		fprintf(out, "  %-20s %-9s %-14s %s\n", t->key,
			type_name(t->type), def,
			t->description ? t->description : "");
		if (t->type == TTLOG_OPTION_ENUM ||
		    t->type == TTLOG_OPTION_ENUM_VALUES) {
			char list[512];
			fprintf(out, "  %-20s %-9s %-14s one of: %s\n", "", "",
				"", choice_list(t, list, sizeof(list)));
		}
	}
}
