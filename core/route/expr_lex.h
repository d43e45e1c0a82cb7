/*
 * expr_lex.h - the tokens of a match: expression and the parser's state,
 * shared by the lexer (expr_lex.c) and the parser (expr_parse.c).
 */
#ifndef TTLOG_ROUTE_EXPR_LEX_H
#define TTLOG_ROUTE_EXPR_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "expr_internal.h"

enum ttlog__expr_tok_kind {
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

struct ttlog__expr_tok {
	enum ttlog__expr_tok_kind kind;
	size_t off, len; /* in the source */
	int cmp;	 /* T_CMP; T_RX: 1 for !~ */
	const char *s;	 /* T_STR, T_FIELD: unescaped, in the pool */
	size_t slen;
};

struct ttlog__expr_parser {
	const char *src;
	size_t len, pos;
	struct ttlog__expr *e;
	struct ttlog__expr_tok t;
	bool failed;
	size_t *err_off;
	char *err;
	size_t errlen;
};

/* Records the first error: its byte and message (printf format). */
__attribute__((format(printf, 3, 4))) void
ttlog__expr_fail(struct ttlog__expr_parser *p, size_t off, const char *fmt,
		 ...);
/* How an error names the current token: 'text' (cut short) or "the end
 * of the expression"; written to buf (n bytes), which is returned. */
const char *ttlog__expr_tok_text(const struct ttlog__expr_parser *p, char *buf,
				 size_t n);
/* The word of list (NULL-terminated) closest to the n bytes at s, when
 * close enough to be a typo; else NULL. */
const char *ttlog__expr_closest(const char *s, size_t n,
				const char *const *list);
/* Whether the n bytes at off are the word w, in any case. */
bool ttlog__expr_word_is(const struct ttlog__expr_parser *p, size_t off,
			 size_t n, const char *w);
/* Reads the next token into p->t (T_END after an error). */
void ttlog__expr_next(struct ttlog__expr_parser *p);

/* For suggestions: the names, and the level names. */
extern const char *const ttlog__expr_name_words[];
extern const char *const ttlog__expr_level_words[];

#endif /* TTLOG_ROUTE_EXPR_LEX_H */
