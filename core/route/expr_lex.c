/*
 * expr_lex.c - the tokens of a match: expression (docs/routing.md), and
 * the error and "did you mean" helpers the parser reports with.
 *
 * Strings and quoted field names are unescaped into the expression's
 * pool as they are read; each token is read once, so the pool never
 * needs more bytes than the source has.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "expr_lex.h"

__attribute__((format(printf, 3, 4))) void
ttlog__expr_fail(struct ttlog__expr_parser *p, size_t off, const char *fmt, ...)
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
const char *ttlog__expr_tok_text(const struct ttlog__expr_parser *p, char *buf,
				 size_t n)
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
const char *ttlog__expr_closest(const char *s, size_t n,
				const char *const *list)
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

const char *const ttlog__expr_name_words[] = {
	"level",   "msg",   "service", "host",	 "input", "peer",
	"peer_id", "relay", "fields",  "exists", "not",	  NULL};
const char *const ttlog__expr_level_words[] = {"TRACE", "DEBUG", "INFO", "WARN",
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
static void lex_string(struct ttlog__expr_parser *p, struct ttlog__expr_tok *t)
{
	char q = p->src[p->pos], *out = p->e->pool + p->e->pool_len;
	size_t i = p->pos + 1, n = 0;

	for (;; i++) {
		if (i >= p->len) {
			ttlog__expr_fail(p, p->pos, "unterminated string");
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
					ttlog__expr_fail(p, p->pos,
							 "unterminated string");
					return;
				}
				ttlog__expr_fail(
					p, i,
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

bool ttlog__expr_word_is(const struct ttlog__expr_parser *p, size_t off,
			 size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(p->src + off, w, n) == 0;
}

static void lex_word(struct ttlog__expr_parser *p, struct ttlog__expr_tok *t)
{
	static const struct {
		const char *w;
		enum ttlog__expr_tok_kind k;
	} kw[] = {{"and", T_AND},    {"or", T_OR},	   {"not", T_NOT},
		  {"in", T_IN},	     {"exists", T_EXISTS}, {"true", T_TRUE},
		  {"false", T_FALSE}};
	size_t i = p->pos;

	while (i < p->len && ident_char(p->src[i]))
		i++;
	t->kind = T_IDENT;
	for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
		if (ttlog__expr_word_is(p, p->pos, i - p->pos, kw[k].w))
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
		ttlog__expr_fail(p, t->off + 7,
				 "expected a field name after 'fields.'");
}

static void lex_number(struct ttlog__expr_parser *p, struct ttlog__expr_tok *t)
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
	enum ttlog__expr_tok_kind k;
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
void ttlog__expr_next(struct ttlog__expr_parser *p)
{
	struct ttlog__expr_tok *t = &p->t;

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
				ttlog__expr_fail(
					p, p->pos,
					"unexpected '='; did you mean '=='?");
			else if ((unsigned char)c >= 0x20 &&
				 (unsigned char)c < 0x7F)
				ttlog__expr_fail(p, p->pos,
						 "unexpected character '%c'",
						 c);
			else
				ttlog__expr_fail(p, p->pos,
						 "unexpected byte 0x%02X",
						 (unsigned char)c);
		}
	}
	t->len = p->pos - t->off;
	if (p->failed)
		t->kind = T_END;
}
