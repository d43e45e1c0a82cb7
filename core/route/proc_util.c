/* proc_util.c - options and work-event helpers of the processors (see
 * proc_util.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_internal.h"
#include "proc_util.h"

static const char *const runner_keys[] = {"type", "match", "name", NULL};

int ttlog__proc_keys_check(const struct ttlog__cfg_node *sec, const char *path,
			   const char *const *allowed, struct ttlog__diag *d)
{
	const char *cand[32];
	size_t nc = 0;
	int errors = 0;

	for (size_t i = 0; runner_keys[i] != NULL; i++)
		cand[nc++] = runner_keys[i];
	for (size_t i = 0; allowed[i] != NULL && nc < 31; i++)
		cand[nc++] = allowed[i];
	cand[nc] = NULL;
	for (size_t i = 0; i < sec->n; i++) {
		size_t k;
		for (k = 0; k < nc && strcmp(cand[k], sec->keys[i]) != 0; k++)
			;
		if (k < nc)
			continue;
		const char *hint = ttlog__cfg_suggest(sec->keys[i], cand);
		if (hint != NULL)
			ttlog__diag_add(d, sec->key_nodes[i], path,
					"unknown key '%s' (did you mean '%s'?)",
					sec->keys[i], hint);
		else
			ttlog__diag_add(d, sec->key_nodes[i], path,
					"unknown key '%s'", sec->keys[i]);
		errors++;
	}
	return errors;
}

int ttlog__proc_required(int r, const struct ttlog__cfg_node *sec,
			 const char *path, struct ttlog__diag *d,
			 const char *key, const char *what)
{
	if (r == 0)
		ttlog__diag_add(d, sec, path, "missing key '%s' (%s)", key,
				what);
	return r <= 0;
}

/* The value of key, and "path.key" in buf for messages. */
static const struct ttlog__cfg_node *opt(const struct ttlog__cfg_node *sec,
					 const char *key, const char *path,
					 char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", path != NULL ? path : "", key);
	return ttlog__cfg_get(sec, key);
}

int ttlog__proc_opt_str(const struct ttlog__cfg_node *sec, const char *key,
			const char *path, struct ttlog__diag *d,
			const char **out)
{
	char p[256];
	const struct ttlog__cfg_node *v = opt(sec, key, path, p, sizeof(p));

	if (v == NULL)
		return 0;
	if (v->kind != TTLOG__CFG_SCALAR) {
		ttlog__diag_add(d, v, p, "expected a string");
		return -1;
	}
	*out = v->str;
	return 1;
}

int ttlog__proc_opt_uint(const struct ttlog__cfg_node *sec, const char *key,
			 const char *path, struct ttlog__diag *d, uint64_t min,
			 uint64_t max, uint64_t *out)
{
	char p[256];
	const struct ttlog__cfg_node *v = opt(sec, key, path, p, sizeof(p));
	uint64_t u;

	if (v == NULL)
		return 0;
	if (v->kind != TTLOG__CFG_SCALAR ||
	    ttlog__cfg_parse_uint64(v->str, &u) < 0 || u < min || u > max) {
		ttlog__diag_add(d, v, p,
				"expected a whole number from %llu to %llu, "
				"got \"%s\"",
				(unsigned long long)min,
				(unsigned long long)max,
				v->kind == TTLOG__CFG_SCALAR ? v->str : "...");
		return -1;
	}
	*out = u;
	return 1;
}

int ttlog__proc_opt_duration_ns(const struct ttlog__cfg_node *sec,
				const char *key, const char *path,
				struct ttlog__diag *d, uint64_t max_ms,
				uint64_t *out)
{
	char p[256];
	const struct ttlog__cfg_node *v = opt(sec, key, path, p, sizeof(p));
	uint64_t ms;

	if (v == NULL)
		return 0;
	if (v->kind != TTLOG__CFG_SCALAR ||
	    ttlog__cfg_parse_duration_ms(v->str, &ms) < 0 || ms == 0 ||
	    ms > max_ms) {
		ttlog__diag_add(d, v, p,
				"expected a duration from 1ms to %llus such as "
				"1s or 500ms, got \"%s\"",
				(unsigned long long)(max_ms / 1000),
				v->kind == TTLOG__CFG_SCALAR ? v->str : "...");
		return -1;
	}
	*out = ms * 1000000u;
	return 1;
}

int ttlog__proc_opt_bool(const struct ttlog__cfg_node *sec, const char *key,
			 const char *path, struct ttlog__diag *d, int *out)
{
	char p[256];
	const struct ttlog__cfg_node *v = opt(sec, key, path, p, sizeof(p));

	if (v == NULL)
		return 0;
	if (v->kind != TTLOG__CFG_SCALAR ||
	    ttlog__cfg_parse_bool(v->str, out) < 0) {
		ttlog__diag_add(d, v, p, "expected true or false");
		return -1;
	}
	return 1;
}

void ttlog__proc_strs_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ttlog__proc_names_free(void *names)
{
	struct ttlog__proc_names *s = names;

	if (s == NULL)
		return;
	ttlog__proc_strs_free(s->v, s->n);
	free(s);
}

int ttlog__proc_opt_strs(const struct ttlog__cfg_node *sec, const char *key,
			 const char *path, struct ttlog__diag *d, char ***out,
			 size_t *n)
{
	char p[256];
	const struct ttlog__cfg_node *v = opt(sec, key, path, p, sizeof(p));
	char **a;

	if (v == NULL)
		return 0;
	if (v->kind != TTLOG__CFG_SEQ || v->n == 0) {
		ttlog__diag_add(d, v, p,
				"expected a non-empty list such as [a, b]");
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ttlog__cfg_node *it = v->vals[i];
		if (it->kind != TTLOG__CFG_SCALAR || it->str[0] == '\0') {
			ttlog__diag_add(d, it, p,
					"expected a non-empty name in the "
					"list");
			return -1;
		}
	}
	a = calloc(v->n, sizeof(*a));
	if (a == NULL) {
		ttlog__diag_add(d, v, p, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		a[i] = strdup(v->vals[i]->str);
		if (a[i] == NULL) {
			ttlog__proc_strs_free(a, v->n);
			ttlog__diag_add(d, v, p, "out of memory");
			return -1;
		}
	}
	*out = a;
	*n = v->n;
	return 1;
}

int ttlog__work_find(const struct ttlog__work *w, const char *k, size_t kl)
{
	for (uint32_t i = w->ev.nfields; i-- > 0;) {
		const struct ttlog__in_field *f = &w->ev.fields[i];
		if (f->key_len == kl && memcmp(f->key, k, kl) == 0)
			return (int)i;
	}
	return -1;
}

void ttlog__work_del(struct ttlog__work *w, uint32_t i)
{
	struct ttlog__in_event *ev = &w->ev;

	memmove(&ev->fields[i], &ev->fields[i + 1],
		(ev->nfields - i - 1) * sizeof(ev->fields[0]));
	ev->nfields--;
}

int ttlog__work_key_is(const struct ttlog__in_field *f, const char *k)
{
	size_t kl = strlen(k);

	return f->key_len == kl && memcmp(f->key, k, kl) == 0;
}
