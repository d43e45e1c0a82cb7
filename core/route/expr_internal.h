/*
 * expr_internal.h - the compiled form of a match: expression, shared by
 * the parser (expr_parse.c) and the evaluator (expr_eval.c).
 *
 * An expression compiles to a short program over one boolean register:
 * each test sets it, `not` flips it, and `and`/`or` become conditional
 * jumps over the right-hand side, which gives short-circuit evaluation
 * without recursion. The parser limits nesting; the evaluator is a loop.
 */
#ifndef TTLOG_ROUTE_EXPR_INTERNAL_H
#define TTLOG_ROUTE_EXPR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "origin_internal.h"
#include "view.h"

/* What a name refers to; the origin strings keep their TTLOG__ORIGIN_*
 * numbers so that they index struct ttlog_origin directly. */
enum ttlog__expr_name {
	TTLOG__EXPR_HOST = TTLOG__ORIGIN_HOST,
	TTLOG__EXPR_SERVICE = TTLOG__ORIGIN_SERVICE,
	TTLOG__EXPR_INPUT = TTLOG__ORIGIN_INPUT,
	TTLOG__EXPR_PEER = TTLOG__ORIGIN_PEER,
	TTLOG__EXPR_PEER_ID = TTLOG__ORIGIN_PEER_ID,
	TTLOG__EXPR_RELAY = TTLOG__ORIGIN_RELAY,
	TTLOG__EXPR_LEVEL,
	TTLOG__EXPR_MSG,
	TTLOG__EXPR_FIELD
};

enum ttlog__expr_op {
	TTLOG__EXPR_OP_CMP,    /* name <cmp> lit */
	TTLOG__EXPR_OP_RX,     /* name =~ rx (negated: !~) */
	TTLOG__EXPR_OP_IN,     /* name in [lits] */
	TTLOG__EXPR_OP_EXISTS, /* exists(name) */
	TTLOG__EXPR_OP_NOT,    /* r = !r */
	TTLOG__EXPR_OP_JF,     /* if !r: jump */
	TTLOG__EXPR_OP_JT      /* if r: jump */
};

enum ttlog__expr_cmp {
	TTLOG__EXPR_EQ,
	TTLOG__EXPR_NE,
	TTLOG__EXPR_LT,
	TTLOG__EXPR_LE,
	TTLOG__EXPR_GT,
	TTLOG__EXPR_GE
};

/* A number as an event or a literal holds it. */
enum ttlog__expr_num_kind { TTLOG__NUM_I64, TTLOG__NUM_U64, TTLOG__NUM_F64 };
struct ttlog__expr_num {
	enum ttlog__expr_num_kind kind;
	union {
		int64_t i;
		uint64_t u;
		double f;
	} v;
};

enum ttlog__expr_lit_type {
	TTLOG__LIT_STR,
	TTLOG__LIT_NUM,
	TTLOG__LIT_BOOL,
	TTLOG__LIT_LEVEL
};

struct ttlog__expr_lit {
	enum ttlog__expr_lit_type type;
	bool b;	   /* LIT_BOOL */
	int level; /* LIT_LEVEL */
	/* LIT_STR: the unescaped bytes, in the expression's pool; has_num
	 * when they are also a number, which num then holds (LIT_NUM: num
	 * alone). */
	const char *s;
	size_t len;
	bool has_num;
	struct ttlog__expr_num num;
};

struct ttlog__expr_rx;

struct ttlog__expr_insn {
	uint8_t op;   /* enum ttlog__expr_op */
	uint8_t cmp;  /* enum ttlog__expr_cmp (OP_CMP); 1 = negated (OP_RX) */
	uint8_t name; /* enum ttlog__expr_name */
	uint32_t arg; /* lit index, rx index or jump target */
	uint32_t n;   /* OP_IN: number of literals from arg */
	const char *key; /* TTLOG__EXPR_FIELD: the field's name (pool) */
	size_t key_len;
};

struct ttlog__expr {
	struct ttlog__expr_insn *code;
	size_t ncode, code_cap;
	struct ttlog__expr_lit *lit;
	size_t nlit, lit_cap;
	struct ttlog__expr_rx *rx;
	size_t nrx, rx_cap;
	/* Unescaped strings and field names: never more bytes than the
	 * source, so it is sized once and pointers into it stay valid. */
	char *pool;
	size_t pool_len;
};

/* Whether p (n bytes) is entirely a number: [+-]digits[.digits][e[+-]
 * digits] or [+-].digits..., no spaces, at most 63 bytes for a number
 * that is not a plain integer. Fills *out. */
bool ttlog__expr_parse_num(const char *p, size_t n,
			   struct ttlog__expr_num *out);

/* Compiles pattern (n bytes) into e->rx; 0, or the PCRE2 error (message
 * in err, offset inside the pattern in *off), or -1 out of memory. */
int ttlog__expr_rx_add(struct ttlog__expr *e, const char *pattern, size_t n,
		       size_t *off, char *err, size_t errlen);
void ttlog__expr_rx_free_all(struct ttlog__expr *e);

#endif /* TTLOG_ROUTE_EXPR_INTERNAL_H */
