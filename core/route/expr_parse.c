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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "expr.h"
#include "expr_internal.h"
#include "level.h"

#define EXPR_MAX_LEN 65536u
#define EXPR_MAX_DEPTH 64

enum tok_kind {
	T_END,
	T_IDENT,
	T_FIELD,
	T_STR,
	T_NUM,
	T_CMP,
	T_RX,
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_AND,
	T_OR,
	T_NOT,
	T_IN,
	T_EXISTS,
	T_TRUE,
	T_FALSE
};

struct tok {
	enum tok_kind kind;
	size_t off, len; /* in the source */
	int cmp;	 /* T_CMP; T_RX: 1 for !~ */
	const char *s;	 /* T_STR, T_FIELD: unescaped, in the pool */
	size_t slen;
};

struct parser {
	const char *src;
	size_t len, pos;
	struct ttlog__expr *e;
	struct tok t;
	bool failed;
	size_t *err_off;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static void
fail(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	*p->err_off = off;
	if (p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

/* How an error names the current token: 'text' (cut short), or "the end
 * of the expression". */
static const char *tok_text(const struct parser *p, char *buf, size_t n)
{
	if (p->t.kind == T_END)
		return "the end of the expression";
	int w = p->t.len > 24 ? 24 : (int)p->t.len;
	snprintf(buf, n, "'%.*s%s'", w, p->src + p->t.off,
		 p->t.len > 24 ? "..." : "");
	return buf;
}

/* ------------------------------------------------------------------ */
/* "did you mean"                                                       */
/* ------------------------------------------------------------------ */

/* Edit distance, case-insensitive, for words of up to 31 bytes. */
static size_t distance(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b), row[32];

	if (an >= 32 || bn >= 32)
		return 99;
	for (size_t j = 0; j <= bn; j++)
		row[j] = j;
	for (size_t i = 1; i <= an; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= bn; j++) {
			size_t up = row[j];
			char x = (char)(a[i - 1] | 0x20),
			     y = (char)(b[j - 1] | 0x20);
			size_t best = diag + (x != y);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[bn];
}

/* The word of list closest to s, when close enough to be a typo. */
static const char *closest(const char *s, size_t n, const char *const *list)
{
	const char *best = NULL;
	size_t bd = n < 3 ? n : 3; /* at most 2 edits, fewer than n */

	for (; *list != NULL; list++) {
		size_t d = distance(s, n, *list);
		if (d < bd) {
			bd = d;
			best = *list;
		}
	}
	return best;
}

static const char *const name_words[] = {"level",  "msg",    "service", "host",
					 "input",  "peer",   "peer_id", "relay",
					 "fields", "exists", "not",	NULL};
static const char *const level_words[] = {"TRACE", "DEBUG", "INFO", "WARN",
					  "ERROR", "FATAL", NULL};

/* ------------------------------------------------------------------ */
/* Lexer                                                                */
/* ------------------------------------------------------------------ */

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

static bool field_char(char c)
{
	return ident_char(c) || c == '.' || c == '-';
}

/* Reads a quoted string at p->pos into the pool; sets t->s, t->slen. */
static void lex_string(struct parser *p, struct tok *t)
{
	char q = p->src[p->pos], *out = p->e->pool + p->e->pool_len;
	size_t i = p->pos + 1, n = 0;

	for (;; i++) {
		if (i >= p->len) {
			fail(p, p->pos, "unterminated string");
			return;
		}
		char c = p->src[i];
		if (c == q)
			break;
		if (c == '\\') {
			char x = i + 1 < p->len ? p->src[i + 1] : '\0';
			switch (x) {
			case '"':
			case '\'':
			case '\\':
				c = x;
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			default:
				if (i + 1 >= p->len) {
					fail(p, p->pos, "unterminated string");
					return;
				}
				fail(p, i,
				     "unknown escape '\\%c' in a string "
				     "(known: "
				     "\\\" \\' \\\\ \\n \\t)",
				     x);
				return;
			}
			i++;
		}
		out[n++] = c;
	}
	t->s = out;
	t->slen = n;
	p->e->pool_len += n;
	p->pos = i + 1;
}

static bool word_is(const struct parser *p, size_t off, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(p->src + off, w, n) == 0;
}

static void lex_word(struct parser *p, struct tok *t)
{
	static const struct {
		const char *w;
		enum tok_kind k;
	} kw[] = {{"and", T_AND},    {"or", T_OR},	   {"not", T_NOT},
		  {"in", T_IN},	     {"exists", T_EXISTS}, {"true", T_TRUE},
		  {"false", T_FALSE}};
	size_t i = p->pos;

	while (i < p->len && ident_char(p->src[i]))
		i++;
	t->kind = T_IDENT;
	for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
		if (word_is(p, p->pos, i - p->pos, kw[k].w))
			t->kind = kw[k].k;
	p->pos = i;
	if (!(i - t->off == 6 && memcmp(p->src + t->off, "fields", 6) == 0 &&
	      i < p->len && p->src[i] == '.'))
		return;
	/* fields.NAME or fields."NAME" */
	t->kind = T_FIELD;
	p->pos = ++i;
	if (i < p->len && (p->src[i] == '"' || p->src[i] == '\'')) {
		lex_string(p, t);
	} else {
		while (i < p->len && field_char(p->src[i]))
			i++;
		t->slen = i - p->pos;
		t->s = p->e->pool + p->e->pool_len;
		memcpy(p->e->pool + p->e->pool_len, p->src + p->pos, t->slen);
		p->e->pool_len += t->slen;
		p->pos = i;
	}
	if (!p->failed && t->slen == 0)
		fail(p, t->off + 7, "expected a field name after 'fields.'");
}

static void lex_number(struct parser *p, struct tok *t)
{
	size_t i = p->pos + 1;

	while (i < p->len && (field_char(p->src[i]) ||
			      ((p->src[i] == '+' || p->src[i] == '-') &&
			       (p->src[i - 1] | 0x20) == 'e')))
		i++;
	t->kind = T_NUM;
	p->pos = i;
}

/* Operators: longest first. */
static const struct {
	const char *s;
	enum tok_kind k;
	int cmp;
} ops[] = {{"==", T_CMP, TTLOG__EXPR_EQ},
	   {"!=", T_CMP, TTLOG__EXPR_NE},
	   {"<=", T_CMP, TTLOG__EXPR_LE},
	   {">=", T_CMP, TTLOG__EXPR_GE},
	   {"=~", T_RX, 0},
	   {"!~", T_RX, 1},
	   {"<", T_CMP, TTLOG__EXPR_LT},
	   {">", T_CMP, TTLOG__EXPR_GT},
	   {"(", T_LPAREN, 0},
	   {")", T_RPAREN, 0},
	   {"[", T_LBRACK, 0},
	   {"]", T_RBRACK, 0},
	   {",", T_COMMA, 0}};

/* Reads the next token into p->t. */
static void next(struct parser *p)
{
	struct tok *t = &p->t;

	while (p->pos < p->len &&
	       (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' ||
		p->src[p->pos] == '\n' || p->src[p->pos] == '\r'))
		p->pos++;
	memset(t, 0, sizeof(*t));
	t->off = p->pos;
	if (p->failed || p->pos >= p->len) {
		t->kind = T_END;
		return;
	}
	char c = p->src[p->pos];
	char c1 = p->pos + 1 < p->len ? p->src[p->pos + 1] : '\0';
	if (c == '"' || c == '\'') {
		t->kind = T_STR;
		lex_string(p, t);
	} else if (ident_start(c)) {
		lex_word(p, t);
	} else if ((c >= '0' && c <= '9') ||
		   ((c == '-' || c == '.') && c1 >= '0' && c1 <= '9')) {
		lex_number(p, t);
	} else {
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			size_t n = strlen(ops[k].s);
			if (p->len - p->pos >= n &&
			    memcmp(p->src + p->pos, ops[k].s, n) == 0) {
				t->kind = ops[k].k;
				t->cmp = ops[k].cmp;
				p->pos += n;
				break;
			}
		}
		if (t->kind == T_END) {
			if (c == '=')
				fail(p, p->pos,
				     "unexpected '='; did you mean '=='?");
			else if ((unsigned char)c >= 0x20 &&
				 (unsigned char)c < 0x7F)
				fail(p, p->pos, "unexpected character '%c'", c);
			else
				fail(p, p->pos, "unexpected byte 0x%02X",
				     (unsigned char)c);
		}
	}
	t->len = p->pos - t->off;
	if (p->failed)
		t->kind = T_END;
}

/* ------------------------------------------------------------------ */
/* Code                                                                 */
/* ------------------------------------------------------------------ */

static struct ttlog__expr_insn *emit(struct parser *p, enum ttlog__expr_op op)
{
	struct ttlog__expr *e = p->e;

	if (p->failed)
		return NULL;
	if (e->ncode == e->code_cap) {
		void *n = ttlog__grow(e->code, &e->code_cap, e->ncode + 1,
				      sizeof(*e->code), 8);
		if (n == NULL) {
			fail(p, 0, "out of memory");
			return NULL;
		}
		e->code = n;
	}
	struct ttlog__expr_insn *in = &e->code[e->ncode++];
	memset(in, 0, sizeof(*in));
	in->op = (uint8_t)op;
	return in;
}

static struct ttlog__expr_lit *add_lit(struct parser *p)
{
	struct ttlog__expr *e = p->e;

	if (e->nlit == e->lit_cap) {
		void *n = ttlog__grow(e->lit, &e->lit_cap, e->nlit + 1,
				      sizeof(*e->lit), 8);
		if (n == NULL) {
			fail(p, 0, "out of memory");
			return NULL;
		}
		e->lit = n;
	}
	struct ttlog__expr_lit *l = &e->lit[e->nlit++];
	memset(l, 0, sizeof(*l));
	return l;
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

static void parse_or(struct parser *p, int depth);

static bool parse_name(struct parser *p, struct name *nm)
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
		next(p);
		return true;
	}
	if (p->t.kind != T_IDENT) {
		fail(p, p->t.off,
		     "expected a name, 'not', '(' or 'exists(' but found %s",
		     tok_text(p, buf, sizeof(buf)));
		return false;
	}
	for (int i = 0; fixed[i] != NULL; i++) {
		if (strlen(fixed[i]) == p->t.len &&
		    memcmp(fixed[i], p->src + p->t.off, p->t.len) == 0) {
			nm->id = (enum ttlog__expr_name)i;
			next(p);
			return true;
		}
	}
	if (word_is(p, p->t.off, p->t.len, "fields")) {
		fail(p, p->t.off, "expected '.NAME' after 'fields'");
		return false;
	}
	const char *m = closest(p->src + p->t.off, p->t.len, name_words);
	if (m != NULL)
		fail(p, p->t.off, "unknown name %s; did you mean '%s%s'?",
		     tok_text(p, buf, sizeof(buf)), m,
		     strcmp(m, "fields") == 0 ? ".NAME" : "");
	else
		fail(p, p->t.off,
		     "unknown name %s (names: level, msg, service, host, "
		     "input, peer, peer_id, relay, fields.NAME)",
		     tok_text(p, buf, sizeof(buf)));
	return false;
}

/* One literal value for name nm after operator `op` (its text, for
 * messages); ordered tells whether the operator orders (< <= > >=). */
static bool parse_value(struct parser *p, const struct name *nm, const char *op,
			bool ordered)
{
	char buf[40];
	struct tok t = p->t;
	struct ttlog__expr_lit *l;
	int lv;

	if (t.kind != T_STR && t.kind != T_NUM && t.kind != T_TRUE &&
	    t.kind != T_FALSE && t.kind != T_IDENT) {
		fail(p, t.off, "expected a value after '%s' but found %s", op,
		     tok_text(p, buf, sizeof(buf)));
		return false;
	}
	lv = t.kind == T_STR	 ? level_of(t.s, t.slen)
	     : t.kind == T_IDENT ? level_of(p->src + t.off, t.len)
				 : -1;
	if (nm->id == TTLOG__EXPR_LEVEL && lv < 0) {
		const char *m =
			t.kind == T_IDENT || t.kind == T_STR
				? closest(t.kind == T_STR ? t.s
							  : p->src + t.off,
					  t.kind == T_STR ? t.slen : t.len,
					  level_words)
				: NULL;
		if (m != NULL)
			fail(p, t.off, "unknown level %s; did you mean '%s'?",
			     tok_text(p, buf, sizeof(buf)), m);
		else
			fail(p, t.off,
			     "'level' compares with a level (TRACE, DEBUG, "
			     "INFO, WARN, ERROR, FATAL), not %s",
			     tok_text(p, buf, sizeof(buf)));
		return false;
	}
	if (t.kind == T_IDENT && nm->id != TTLOG__EXPR_LEVEL) {
		if (lv >= 0)
			fail(p, t.off,
			     "level names compare only with 'level'; quote %s "
			     "to compare a string",
			     tok_text(p, buf, sizeof(buf)));
		else
			fail(p, t.off,
			     "expected a value after '%s' but found %s; "
			     "strings are quoted",
			     op, tok_text(p, buf, sizeof(buf)));
		return false;
	}
	if ((t.kind == T_TRUE || t.kind == T_FALSE) && ordered) {
		fail(p, t.off, "true and false compare only with == and !=");
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
			fail(p, t.off, "invalid number %s",
			     tok_text(p, buf, sizeof(buf)));
			return false;
		}
	} else {
		l->type = TTLOG__LIT_BOOL;
		l->b = t.kind == T_TRUE;
	}
	next(p);
	return true;
}

/* Source offset of byte `at` of the string literal starting at `off`
 * (its quote), undoing escapes; the closing quote when past the end. */
static size_t str_offset(const struct parser *p, size_t off, size_t at)
{
	size_t i = off + 1;

	for (size_t n = 0; n < at && i < p->len && p->src[i] != p->src[off];
	     n++)
		i += p->src[i] == '\\' ? 2 : 1;
	return i;
}

static void parse_regex(struct parser *p, const struct name *nm, int neg)
{
	char buf[40], msg[160];
	size_t eo = 0;
	struct ttlog__expr_insn *in;
	int r;

	next(p);
	if (p->t.kind != T_STR) {
		fail(p, p->t.off,
		     "expected a quoted regular expression after '%s' but "
		     "found %s",
		     neg ? "!~" : "=~", tok_text(p, buf, sizeof(buf)));
		return;
	}
	r = ttlog__expr_rx_add(p->e, p->t.s, p->t.slen, &eo, msg, sizeof(msg));
	if (r < 0) {
		fail(p, 0, "out of memory");
		return;
	}
	if (r > 0) {
		/* PCRE2 reports the offset after the character it could not
		 * use; inside the pattern, point at that character. */
		if (eo > 0 && eo < p->t.slen)
			eo--;
		fail(p, str_offset(p, p->t.off, eo), "regular expression: %s",
		     msg);
		return;
	}
	in = emit(p, TTLOG__EXPR_OP_RX);
	if (in == NULL)
		return;
	in->name = (uint8_t)nm->id;
	in->key = nm->key;
	in->key_len = nm->key_len;
	in->cmp = (uint8_t)neg;
	in->arg = (uint32_t)(p->e->nrx - 1);
	next(p);
}

static void parse_in(struct parser *p, const struct name *nm)
{
	char buf[40];
	uint32_t first = (uint32_t)p->e->nlit;
	struct ttlog__expr_insn *in;

	next(p);
	if (p->t.kind != T_LBRACK) {
		fail(p, p->t.off, "expected '[' after 'in' but found %s",
		     tok_text(p, buf, sizeof(buf)));
		return;
	}
	next(p);
	if (p->t.kind == T_RBRACK) {
		fail(p, p->t.off,
		     "empty list: expected a value (an empty list matches "
		     "nothing)");
		return;
	}
	for (;;) {
		if (!parse_value(p, nm, "in", false))
			return;
		if (p->t.kind == T_RBRACK)
			break;
		if (p->t.kind != T_COMMA) {
			fail(p, p->t.off, "expected ',' or ']' but found %s",
			     tok_text(p, buf, sizeof(buf)));
			return;
		}
		next(p);
	}
	in = emit(p, TTLOG__EXPR_OP_IN);
	if (in == NULL)
		return;
	in->name = (uint8_t)nm->id;
	in->key = nm->key;
	in->key_len = nm->key_len;
	in->arg = first;
	in->n = (uint32_t)p->e->nlit - first;
	next(p);
}

static void parse_exists(struct parser *p)
{
	char buf[40];
	struct name nm = {0};
	struct ttlog__expr_insn *in;

	next(p);
	if (p->t.kind != T_LPAREN) {
		fail(p, p->t.off, "expected '(' after 'exists' but found %s",
		     tok_text(p, buf, sizeof(buf)));
		return;
	}
	next(p);
	if (!parse_name(p, &nm))
		return;
	if (p->t.kind != T_RPAREN) {
		fail(p, p->t.off, "expected ')' after the name but found %s",
		     tok_text(p, buf, sizeof(buf)));
		return;
	}
	in = emit(p, TTLOG__EXPR_OP_EXISTS);
	if (in == NULL)
		return;
	in->name = (uint8_t)nm.id;
	in->key = nm.key;
	in->key_len = nm.key_len;
	next(p);
}

/* name op value | name =~ "re" | name in [...] */
static void parse_test(struct parser *p)
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
		fail(p, p->t.off,
		     "expected an operator (== != < <= > >= =~ !~ in) after "
		     "the name but found %s",
		     tok_text(p, buf, sizeof(buf)));
		return;
	}
	int cmp = p->t.cmp;
	next(p);
	if (!parse_value(p, &nm, cmp_text[cmp],
			 cmp != TTLOG__EXPR_EQ && cmp != TTLOG__EXPR_NE))
		return;
	in = emit(p, TTLOG__EXPR_OP_CMP);
	if (in == NULL)
		return;
	in->name = (uint8_t)nm.id;
	in->key = nm.key;
	in->key_len = nm.key_len;
	in->cmp = (uint8_t)cmp;
	in->arg = (uint32_t)p->e->nlit - 1;
}

/* not unary | ( or ) | exists(name) | test */
static void parse_unary(struct parser *p, int depth)
{
	char buf[40];

	if ((p->t.kind == T_NOT || p->t.kind == T_LPAREN) &&
	    depth >= EXPR_MAX_DEPTH) {
		fail(p, p->t.off, "nesting deeper than %d", EXPR_MAX_DEPTH);
		return;
	}
	switch (p->t.kind) {
	case T_NOT:
		next(p);
		parse_unary(p, depth + 1);
		emit(p, TTLOG__EXPR_OP_NOT);
		return;
	case T_LPAREN: {
		size_t open = p->t.off;
		next(p);
		parse_or(p, depth + 1);
		if (p->failed)
			return;
		if (p->t.kind != T_RPAREN) {
			fail(p, p->t.off,
			     "expected ')' to close the '(' at byte %zu but "
			     "found %s",
			     open, tok_text(p, buf, sizeof(buf)));
			return;
		}
		next(p);
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
static void parse_chain(struct parser *p, int depth, enum tok_kind op)
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
		next(p);
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

static void parse_or(struct parser *p, int depth)
{
	parse_chain(p, depth, T_OR);
}

struct ttlog__expr *ttlog__expr_compile(const char *src, size_t len,
					size_t *err_off, char *err,
					size_t errlen)
{
	struct parser p = {.src = src,
			   .len = len,
			   .err_off = err_off,
			   .err = err,
			   .errlen = errlen};
	char buf[40];

	if (errlen > 0)
		err[0] = '\0';
	*err_off = 0;
	if (len > EXPR_MAX_LEN) {
		fail(&p, EXPR_MAX_LEN, "expression longer than %u bytes",
		     EXPR_MAX_LEN);
		return NULL;
	}
	p.e = calloc(1, sizeof(*p.e));
	if (p.e != NULL)
		p.e->pool = malloc(len + 1);
	if (p.e == NULL || p.e->pool == NULL) {
		fail(&p, 0, "out of memory");
		ttlog__expr_free(p.e);
		return NULL;
	}
	next(&p);
	if (!p.failed && p.t.kind == T_END)
		fail(&p, 0, "empty expression");
	if (!p.failed)
		parse_or(&p, 0);
	if (!p.failed && p.t.kind != T_END)
		fail(&p, p.t.off,
		     p.t.kind == T_RPAREN
			     ? "unexpected %s: no '(' to close"
			     : "expected 'and', 'or' or the end but found %s",
		     tok_text(&p, buf, sizeof(buf)));
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
