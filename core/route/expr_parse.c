/*
 * expr_parse.c - compiling a match: expression (expr.h, the language in
 * docs/routing.md) into the program expr_eval.c runs.
 *
 * A recursive-descent parser over a one-token lexer. Every error names the
 * byte where the offending token starts, and what was expected there, so
 * that the configuration loader can point at FILE:LINE:COL. Names, levels
 * and literal numbers are all resolved here, once, so that evaluation only
 * compares.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr.h"
#include "expr_internal.h"
#include "expr_lex.h"
#include "level.h"

#define EXPR_MAX_LEN 65536u
#define EXPR_MAX_DEPTH 64

/* ------------------------------------------------------------------ */
/* Code                                                                 */
/* ------------------------------------------------------------------ */

/* Appends one zeroed element to the array arr of *n elements (room for
 * *cap) and returns the array, which may have moved; NULL when out of
 * memory (the error is set). */
static void *append(struct ttlog__expr_parser *p, void *arr, size_t *n,
		    size_t *cap, size_t size)
{
	if (*n == *cap) {
		arr = ttlog__grow(arr, cap, *n + 1, size, 8);
		if (arr == NULL) {
			ttlog__expr_fail(p, 0, "out of memory");
			return NULL;
		}
	}
	memset((char *)arr + *n * size, 0, size);
	(*n)++;
	return arr;
}

static struct ttlog__expr_insn *emit(struct ttlog__expr_parser *p,
				     enum ttlog__expr_op op)
{
	struct ttlog__expr *e = p->e;
	struct ttlog__expr_insn *code;

	if (p->failed)
		return NULL;
	code = append(p, e->code, &e->ncode, &e->code_cap, sizeof(*code));
	if (code == NULL)
		return NULL;
	e->code = code;
	code[e->ncode - 1].op = (uint8_t)op;
	return &code[e->ncode - 1];
}

static struct ttlog__expr_lit *add_lit(struct ttlog__expr_parser *p)
{
	struct ttlog__expr *e = p->e;
	struct ttlog__expr_lit *lit;

	lit = append(p, e->lit, &e->nlit, &e->lit_cap, sizeof(*lit));
	if (lit == NULL)
		return NULL;
	e->lit = lit;
	return &lit[e->nlit - 1];
}

/* The level named by n bytes at s, spelt as everywhere else in ttlog
 * (common/level.h: any case, synonyms such as "warning"), or -1. */
static int level_of(const char *s, size_t n)
{
	return ttlog__level_parse(s, n, 0);
}

/* ------------------------------------------------------------------ */
/* Grammar                                                              */
/* ------------------------------------------------------------------ */

struct name {
	enum ttlog__expr_name id;
	const char *key;
	size_t key_len;
	size_t off;
};

static void parse_or(struct ttlog__expr_parser *p, int depth);

/* A test of the name nm. */
static struct ttlog__expr_insn *emit_test(struct ttlog__expr_parser *p,
					  enum ttlog__expr_op op,
					  const struct name *nm)
{
	struct ttlog__expr_insn *in = emit(p, op);

	if (in != NULL) {
		in->name = (uint8_t)nm->id;
		in->key = nm->key;
		in->key_len = nm->key_len;
	}
	return in;
}

/* Reads the token `kind` or fails with "expected WHAT but found ...". */
static bool expect(struct ttlog__expr_parser *p, enum ttlog__expr_tok_kind kind,
		   const char *what)
{
	char buf[40];

	if (p->t.kind != kind) {
		ttlog__expr_fail(p, p->t.off, "expected %s but found %s", what,
				 ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return false;
	}
	ttlog__expr_next(p);
	return true;
}

static bool parse_name(struct ttlog__expr_parser *p, struct name *nm)
{
	static const char *const fixed[] = {"host",  "service", "input",
					    "peer",  "peer_id", "relay",
					    "level", "msg",	NULL};
	char buf[40];

	nm->off = p->t.off;
	if (p->t.kind == T_FIELD) {
		nm->id = TTLOG__EXPR_FIELD;
		nm->key = p->t.s;
		nm->key_len = p->t.slen;
		ttlog__expr_next(p);
		return true;
	}
	if (p->t.kind != T_IDENT) {
		ttlog__expr_fail(
			p, p->t.off,
			"expected a name, 'not', '(' or 'exists(' but found %s",
			ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return false;
	}
	for (int i = 0; fixed[i] != NULL; i++) {
		if (strlen(fixed[i]) == p->t.len &&
		    memcmp(fixed[i], p->src + p->t.off, p->t.len) == 0) {
			nm->id = (enum ttlog__expr_name)i;
			ttlog__expr_next(p);
			return true;
		}
	}
	if (ttlog__expr_word_is(p, p->t.off, p->t.len, "fields")) {
		ttlog__expr_fail(p, p->t.off,
				 "expected '.NAME' after 'fields'");
		return false;
	}
	const char *m = ttlog__expr_closest(p->src + p->t.off, p->t.len,
					    ttlog__expr_name_words);
	if (m != NULL)
		ttlog__expr_fail(p, p->t.off,
				 "unknown name %s; did you mean '%s%s'?",
				 ttlog__expr_tok_text(p, buf, sizeof(buf)), m,
				 strcmp(m, "fields") == 0 ? ".NAME" : "");
	else
		ttlog__expr_fail(
			p, p->t.off,
			"unknown name %s (names: level, msg, service, host, "
			"input, peer, peer_id, relay, fields.NAME)",
			ttlog__expr_tok_text(p, buf, sizeof(buf)));
	return false;
}

/* One literal value for name nm after operator `op` (its text, for
 * messages); ordered tells whether the operator orders (< <= > >=). */
static bool parse_value(struct ttlog__expr_parser *p, const struct name *nm,
			const char *op, bool ordered)
{
	char buf[40];
	struct ttlog__expr_tok t = p->t;
	struct ttlog__expr_lit *l;
	int lv;

	if (t.kind != T_STR && t.kind != T_NUM && t.kind != T_TRUE &&
	    t.kind != T_FALSE && t.kind != T_IDENT) {
		ttlog__expr_fail(p, t.off,
				 "expected a value after '%s' but found %s", op,
				 ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return false;
	}
	lv = t.kind == T_STR	 ? level_of(t.s, t.slen)
	     : t.kind == T_IDENT ? level_of(p->src + t.off, t.len)
				 : -1;
	if (nm->id == TTLOG__EXPR_LEVEL && lv < 0) {
		const char *m =
			t.kind == T_IDENT || t.kind == T_STR
				? ttlog__expr_closest(
					  t.kind == T_STR ? t.s
							  : p->src + t.off,
					  t.kind == T_STR ? t.slen : t.len,
					  ttlog__expr_level_words)
				: NULL;
		if (m != NULL)
			ttlog__expr_fail(
				p, t.off,
				"unknown level %s; did you mean '%s'?",
				ttlog__expr_tok_text(p, buf, sizeof(buf)), m);
		else
			ttlog__expr_fail(
				p, t.off,
				"'level' compares with a level (TRACE, DEBUG, "
				"INFO, WARN, ERROR, FATAL), not %s",
				ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return false;
	}
	if (t.kind == T_IDENT && nm->id != TTLOG__EXPR_LEVEL) {
		if (lv >= 0)
			ttlog__expr_fail(
				p, t.off,
				"level names compare only with 'level'; quote "
				"%s "
				"to compare a string",
				ttlog__expr_tok_text(p, buf, sizeof(buf)));
		else
			ttlog__expr_fail(
				p, t.off,
				"expected a value after '%s' but found %s; "
				"strings are quoted",
				op, ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return false;
	}
	if ((t.kind == T_TRUE || t.kind == T_FALSE) && ordered) {
		ttlog__expr_fail(p, t.off,
				 "true and false compare only with == and !=");
		return false;
	}
	l = add_lit(p);
	if (l == NULL)
		return false;
	if (nm->id == TTLOG__EXPR_LEVEL) {
		l->type = TTLOG__LIT_LEVEL;
		l->level = lv;
	} else if (t.kind == T_STR) {
		l->type = TTLOG__LIT_STR;
		l->s = t.s;
		l->len = t.slen;
		l->has_num = ttlog__expr_parse_num(t.s, t.slen, &l->num);
	} else if (t.kind == T_NUM) {
		l->type = TTLOG__LIT_NUM;
		if (!ttlog__expr_parse_num(p->src + t.off, t.len, &l->num)) {
			ttlog__expr_fail(
				p, t.off, "invalid number %s",
				ttlog__expr_tok_text(p, buf, sizeof(buf)));
			return false;
		}
	} else {
		l->type = TTLOG__LIT_BOOL;
		l->b = t.kind == T_TRUE;
	}
	ttlog__expr_next(p);
	return true;
}

/* Source offset of byte `at` of the string literal starting at `off`
 * (its quote), undoing escapes; the closing quote when past the end. */
static size_t str_offset(const struct ttlog__expr_parser *p, size_t off,
			 size_t at)
{
	size_t i = off + 1;

	for (size_t n = 0; n < at && i < p->len && p->src[i] != p->src[off];
	     n++)
		i += p->src[i] == '\\' ? 2 : 1;
	return i;
}

static void parse_regex(struct ttlog__expr_parser *p, const struct name *nm,
			int neg)
{
	char buf[40], msg[160];
	size_t eo = 0;
	struct ttlog__expr_insn *in;
	int r;

	ttlog__expr_next(p);
	if (p->t.kind != T_STR) {
		ttlog__expr_fail(
			p, p->t.off,
			"expected a quoted regular expression after '%s' but "
			"found %s",
			neg ? "!~" : "=~",
			ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return;
	}
	r = ttlog__expr_rx_add(p->e, p->t.s, p->t.slen, &eo, msg, sizeof(msg));
	if (r < 0) {
		ttlog__expr_fail(p, 0, "out of memory");
		return;
	}
	if (r > 0) {
		/* PCRE2 reports the offset after the character it could not
		 * use; inside the pattern, point at that character. */
		if (eo > 0 && eo < p->t.slen)
			eo--;
		ttlog__expr_fail(p, str_offset(p, p->t.off, eo),
				 "regular expression: %s", msg);
		return;
	}
	in = emit_test(p, TTLOG__EXPR_OP_RX, nm);
	if (in == NULL)
		return;
	in->cmp = (uint8_t)neg;
	in->arg = (uint32_t)(p->e->nrx - 1);
	ttlog__expr_next(p);
}

static void parse_in(struct ttlog__expr_parser *p, const struct name *nm)
{
	uint32_t first = (uint32_t)p->e->nlit;
	struct ttlog__expr_insn *in;

	ttlog__expr_next(p);
	if (!expect(p, T_LBRACK, "'[' after 'in'"))
		return;
	if (p->t.kind == T_RBRACK) {
		ttlog__expr_fail(
			p, p->t.off,
			"empty list: expected a value (an empty list matches "
			"nothing)");
		return;
	}
	do {
		if (!parse_value(p, nm, "in", false))
			return;
	} while (p->t.kind == T_COMMA && (ttlog__expr_next(p), true));
	if (!expect(p, T_RBRACK, "',' or ']'"))
		return;
	in = emit_test(p, TTLOG__EXPR_OP_IN, nm);
	if (in == NULL)
		return;
	in->arg = first;
	in->n = (uint32_t)p->e->nlit - first;
}

static void parse_exists(struct ttlog__expr_parser *p)
{
	struct name nm = {0};

	ttlog__expr_next(p);
	if (!expect(p, T_LPAREN, "'(' after 'exists'") || !parse_name(p, &nm))
		return;
	/* the test before the ')': the next token is read by expect() */
	if (p->t.kind == T_RPAREN)
		emit_test(p, TTLOG__EXPR_OP_EXISTS, &nm);
	(void)expect(p, T_RPAREN, "')' after the name");
}

/* name op value | name =~ "re" | name in [...] */
static void parse_test(struct ttlog__expr_parser *p)
{
	static const char *const cmp_text[] = {"==", "!=", "<",
					       "<=", ">",  ">="};
	char buf[40];
	struct name nm = {0};
	struct ttlog__expr_insn *in;

	if (!parse_name(p, &nm))
		return;
	if (p->t.kind == T_RX) {
		parse_regex(p, &nm, p->t.cmp);
		return;
	}
	if (p->t.kind == T_IN) {
		parse_in(p, &nm);
		return;
	}
	if (p->t.kind != T_CMP) {
		ttlog__expr_fail(
			p, p->t.off,
			"expected an operator (== != < <= > >= =~ !~ in) after "
			"the name but found %s",
			ttlog__expr_tok_text(p, buf, sizeof(buf)));
		return;
	}
	int cmp = p->t.cmp;
	ttlog__expr_next(p);
	if (!parse_value(p, &nm, cmp_text[cmp],
			 cmp != TTLOG__EXPR_EQ && cmp != TTLOG__EXPR_NE))
		return;
	in = emit_test(p, TTLOG__EXPR_OP_CMP, &nm);
	if (in == NULL)
		return;
	in->cmp = (uint8_t)cmp;
	in->arg = (uint32_t)p->e->nlit - 1;
}

/* not unary | ( or ) | exists(name) | test */
static void parse_unary(struct ttlog__expr_parser *p, int depth)
{
	char buf[40];

	if ((p->t.kind == T_NOT || p->t.kind == T_LPAREN) &&
	    depth >= EXPR_MAX_DEPTH) {
		ttlog__expr_fail(p, p->t.off, "nesting deeper than %d",
				 EXPR_MAX_DEPTH);
		return;
	}
	switch (p->t.kind) {
	case T_NOT:
		ttlog__expr_next(p);
		parse_unary(p, depth + 1);
		emit(p, TTLOG__EXPR_OP_NOT);
		return;
	case T_LPAREN: {
		size_t open = p->t.off;
		ttlog__expr_next(p);
		parse_or(p, depth + 1);
		if (p->failed)
			return;
		if (p->t.kind != T_RPAREN) {
			ttlog__expr_fail(
				p, p->t.off,
				"expected ')' to close the '(' at byte %zu but "
				"found %s",
				open,
				ttlog__expr_tok_text(p, buf, sizeof(buf)));
			return;
		}
		ttlog__expr_next(p);
		return;
	}
	case T_EXISTS:
		parse_exists(p);
		return;
	default:
		parse_test(p);
		return;
	}
}

/* A chain of `op`-joined operands (and: unary, or: and-chains): each but
 * the last is followed by a jump to the chain's end, taken when its
 * value decides the whole (false for and, true for or). */
static void parse_chain(struct ttlog__expr_parser *p, int depth,
			enum ttlog__expr_tok_kind op)
{
	size_t first = p->e->ncode, end;

	if (op == T_AND)
		parse_unary(p, depth);
	else
		parse_chain(p, depth, T_AND);
	while (!p->failed && p->t.kind == op) {
		struct ttlog__expr_insn *j = emit(
			p, op == T_AND ? TTLOG__EXPR_OP_JF : TTLOG__EXPR_OP_JT);
		if (j == NULL)
			return;
		j->n = 1; /* to patch */
		ttlog__expr_next(p);
		if (op == T_AND)
			parse_unary(p, depth);
		else
			parse_chain(p, depth, T_AND);
	}
	if (p->failed)
		return;
	end = p->e->ncode;
	for (size_t i = first; i < end; i++) {
		struct ttlog__expr_insn *j = &p->e->code[i];
		if ((j->op == TTLOG__EXPR_OP_JF ||
		     j->op == TTLOG__EXPR_OP_JT) &&
		    j->n == 1) {
			j->n = 0;
			j->arg = (uint32_t)end;
		}
	}
}

static void parse_or(struct ttlog__expr_parser *p, int depth)
{
	parse_chain(p, depth, T_OR);
}

struct ttlog__expr *ttlog__expr_compile(const char *src, size_t len,
					size_t *err_off, char *err,
					size_t errlen)
{
	struct ttlog__expr_parser p = {.src = src,
				       .len = len,
				       .err_off = err_off,
				       .err = err,
				       .errlen = errlen};
	char buf[40];

	if (errlen > 0)
		err[0] = '\0';
	*err_off = 0;
	if (len > EXPR_MAX_LEN) {
		ttlog__expr_fail(&p, EXPR_MAX_LEN,
				 "expression longer than %u bytes",
				 EXPR_MAX_LEN);
		return NULL;
	}
	p.e = calloc(1, sizeof(*p.e));
	if (p.e != NULL)
		p.e->pool = malloc(len + 1);
	if (p.e == NULL || p.e->pool == NULL) {
		ttlog__expr_fail(&p, 0, "out of memory");
		ttlog__expr_free(p.e);
		return NULL;
	}
	ttlog__expr_next(&p);
	if (!p.failed && p.t.kind == T_END)
		ttlog__expr_fail(&p, 0, "empty expression");
	if (!p.failed)
		parse_or(&p, 0);
	if (!p.failed && p.t.kind != T_END)
		ttlog__expr_fail(&p, p.t.off,
				 p.t.kind == T_RPAREN
					 ? "unexpected %s: no '(' to close"
					 : "expected 'and', 'or' or the end "
					   "but found %s",
				 ttlog__expr_tok_text(&p, buf, sizeof(buf)));
	if (p.failed) {
		ttlog__expr_free(p.e);
		return NULL;
	}
	return p.e;
}

void ttlog__expr_free(struct ttlog__expr *e)
{
	if (e == NULL)
		return;
	ttlog__expr_rx_free_all(e);
	free(e->code);
	free(e->lit);
	free(e->pool);
	free(e);
}
