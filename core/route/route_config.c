/*
 * route_config.c - compiling match: and processors: from the
 * configuration into a struct ttlog__routing (route.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_internal.h"

struct ttlog__routing *ttlog__routing_new(size_t nlisteners)
{
	struct ttlog__routing *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->rt = calloc(nlisteners ? nlisteners : 1, sizeof(*r->rt));
	if (r->rt == NULL) {
		free(r);
		return NULL;
	}
	r->n = nlisteners;
	r->work.s = &r->scratch;
	return r;
}

static void chain_free(struct ttlog__chain *c)
{
	for (size_t k = 0; k < c->n; k++) {
		ttlog__proc_free(c->it[k].p);
		ttlog__expr_free(c->it[k].match);
		free(c->it[k].scope);
		free(c->it[k].name);
	}
	free(c->it);
	c->it = NULL;
	c->n = 0;
}

void ttlog__routing_free(struct ttlog__routing *r)
{
	if (r == NULL)
		return;
	chain_free(&r->global);
	for (size_t i = 0; i < r->n; i++) {
		ttlog__expr_free(r->rt[i].match);
		chain_free(&r->rt[i].procs);
		free(r->rt[i].keep);
	}
	free(r->rt);
	free(r->any);
	ttlog__scratch_destroy(&r->scratch);
	free(r);
}

/*
 * The place of byte `off` of scalar n's text, for an error inside an
 * expression or a template: exact for a value on one line (plain or
 * quoted, escapes aside); on later lines of a multi-line value, the line
 * and the column within that line's text.
 */
void ttlog__route_place(const struct ttlog__cfg_node *n, size_t off,
			struct ttlog__cfg_node *at)
{
	const char *s = n->str, *nl = NULL;
	unsigned lines = 0;

	*at = *n;
	for (size_t i = 0; i < off && s[i] != 0; i++)
		if (s[i] == '\n') {
			lines++;
			nl = s + i;
		}
	if (lines == 0) {
		at->col = n->col + (unsigned)off + (n->quoted ? 1u : 0u);
		return;
	}
	at->line = n->line + lines;
	at->col = (unsigned)(s + off - nl);
}

/* Compiles the expression of scalar n; NULL with an error in d. */
static struct ttlog__expr *compile_expr(const struct ttlog__cfg_node *n,
					const char *path, struct ttlog__diag *d)
{
	char err[256] = "";
	size_t off = 0;
	struct ttlog__expr *e;
	struct ttlog__cfg_node at;

	if (n->kind != TTLOG__CFG_SCALAR) {
		ttlog__diag_add(d, n, path,
				"expected an expression such as 'level >= "
				"WARN and service == \"billing\"'");
		return NULL;
	}
	e = ttlog__expr_compile(n->str, strlen(n->str), &off, err, sizeof(err));
	if (e == NULL) {
		ttlog__route_place(n, off, &at);
		ttlog__diag_add(d, &at, path, "%s", err);
	}
	return e;
}

int ttlog__routing_set_match(struct ttlog__routing *r, size_t li,
			     const struct ttlog__cfg_node *n, const char *path,
			     struct ttlog__diag *d)
{
	struct ttlog__route *rt = &r->rt[li];

	if (n->kind == TTLOG__CFG_SCALAR && strcmp(n->str, "else") == 0) {
		rt->is_else = 1;
		r->has_else = 1;
		r->any_match = 1;
		return 0;
	}
	rt->match = compile_expr(n, path, d);
	if (rt->match == NULL)
		return -1;
	r->any_match = 1;
	return 0;
}

/* The runner's keys of an item: the rest belongs to the processor. */
static int item_compile(struct ttlog__route_item *it,
			const struct ttlog__cfg_node *sec, const char *scope,
			size_t index, const char *path, struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *m, *name, *type;
	char mpath[200];
	int bad = 0;

	if (sec->kind != TTLOG__CFG_MAP) {
		ttlog__diag_add(d, sec, path,
				"expected a map such as {type: drop, match: "
				"'level <= DEBUG'}");
		return -1;
	}
	m = ttlog__cfg_get(sec, "match");
	name = ttlog__cfg_get(sec, "name");
	type = ttlog__cfg_get(sec, "type");
	if (m != NULL) {
		snprintf(mpath, sizeof(mpath), "%s.match", path);
		it->match = compile_expr(m, mpath, d);
		bad |= it->match == NULL;
	}
	if (name != NULL && name->kind != TTLOG__CFG_SCALAR) {
		ttlog__diag_add(d, name, path, "name: expected a string");
		bad = 1;
	}
	it->p = ttlog__proc_compile(sec, path, d);
	bad |= it->p == NULL;
	it->scope = strdup(scope);
	if (name != NULL && name->kind == TTLOG__CFG_SCALAR)
		it->name = strdup(name->str);
	else if (asprintf(&it->name, "%s#%zu",
			  type != NULL && type->kind == TTLOG__CFG_SCALAR
				  ? type->str
				  : "processor",
			  index) < 0)
		it->name = NULL;
	if (it->scope == NULL || it->name == NULL) {
		ttlog__diag_add(d, sec, path, "out of memory");
		bad = 1;
	}
	return bad ? -1 : 0;
}

int ttlog__routing_set_processors(struct ttlog__routing *r, size_t li,
				  const char *scope,
				  const struct ttlog__cfg_node *seq,
				  const char *path, struct ttlog__diag *d)
{
	struct ttlog__chain *c = li == SIZE_MAX ? &r->global : &r->rt[li].procs;
	char ipath[160];
	int bad = 0;

	if (seq->kind != TTLOG__CFG_SEQ) {
		ttlog__diag_add(d, seq, path,
				"expected a list of processors (each item "
				"starts with '- type:')");
		return -1;
	}
	c->it = calloc(seq->n ? seq->n : 1, sizeof(*c->it));
	if (c->it == NULL) {
		ttlog__diag_add(d, seq, path, "out of memory");
		return -1;
	}
	for (size_t k = 0; k < seq->n; k++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, k);
		c->n = k + 1; /* freed with the routing, however far it got */
		if (item_compile(&c->it[k], seq->vals[k], scope, k, ipath, d) !=
		    0)
			bad = 1;
		for (size_t j = 0; j < k && !bad; j++)
			if (strcmp(c->it[j].name, c->it[k].name) == 0) {
				ttlog__diag_add(d, seq->vals[k], ipath,
						"a processor named \"%s\" is "
						"already in this list",
						c->it[k].name);
				bad = 1;
			}
	}
	return bad ? -1 : 0;
}

int ttlog__routing_active(const struct ttlog__routing *r)
{
	if (r == NULL)
		return 0;
	if (r->global.n > 0 || r->any_match)
		return 1;
	for (size_t i = 0; i < r->n; i++)
		if (r->rt[i].procs.n > 0)
			return 1;
	return 0;
}

/* Finishes a routing once every listener's part is set. */
void ttlog__routing_done(struct ttlog__routing *r)
{
	r->takes_all = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->rt[i].match == NULL && !r->rt[i].is_else)
			r->takes_all = 1;
}

static const struct ttlog__route_item *
find_item(const struct ttlog__routing *old, const struct ttlog__route_item *it)
{
	const struct ttlog__chain *c = &old->global;

	for (size_t li = 0; li <= old->n; li++) {
		for (size_t k = 0; k < c->n; k++)
			if (strcmp(c->it[k].scope, it->scope) == 0 &&
			    strcmp(c->it[k].name, it->name) == 0 &&
			    strcmp(ttlog__proc_type(c->it[k].p),
				   ttlog__proc_type(it->p)) == 0)
				return &c->it[k];
		if (li < old->n)
			c = &old->rt[li].procs;
	}
	return NULL;
}

static void adopt_chain(struct ttlog__chain *c,
			const struct ttlog__routing *old)
{
	for (size_t k = 0; k < c->n; k++) {
		const struct ttlog__route_item *o = find_item(old, &c->it[k]);
		if (o == NULL)
			continue;
		atomic_store(&c->it[k].in, atomic_load(&o->in));
		atomic_store(&c->it[k].dropped, atomic_load(&o->dropped));
		atomic_store(&c->it[k].failed, atomic_load(&o->failed));
	}
}

void ttlog__routing_adopt(struct ttlog__routing *r,
			  const struct ttlog__routing *old)
{
	if (r == NULL || old == NULL)
		return;
	adopt_chain(&r->global, old);
	for (size_t li = 0; li < r->n; li++)
		adopt_chain(&r->rt[li].procs, old);
	atomic_store(&r->unrouted, atomic_load(&old->unrouted));
}
