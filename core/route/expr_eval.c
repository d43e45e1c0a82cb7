/*
 * expr_eval.c - running a compiled match: expression against one event
 * (expr.h), and the pieces of it the parser needs too: numbers read from
 * text and the compiled regular expressions.
 *
 * Evaluation runs on the writer thread for every event, so nothing here
 * allocates: field values are read in place, numbers in text are parsed
 * from a copy on the stack, and each regular expression owns its match
 * data from compile time.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr.h"
#include "expr_internal.h"

/* Work one pattern may do per event: past these the match counts as no
 * match, so a hostile message costs a bounded amount of time. */
#define RX_MATCH_LIMIT 100000u
#define RX_DEPTH_LIMIT 1000u
#define RX_HEAP_LIMIT_KIB 256u

struct ttlog__expr_rx {
	bool jit; /* compiled to machine code: pcre2_jit_match() */
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

/* ------------------------------------------------------------------ */
/* Numbers                                                              */
/* ------------------------------------------------------------------ */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skips digits from i; returns the new index. */
static size_t digits(const char *p, size_t n, size_t i)
{
	while (i < n && is_digit(p[i]))
		i++;
	return i;
}

bool ttlog__expr_parse_num(const char *p, size_t n, struct ttlog__expr_num *out)
{
	size_t i = 0, d0, d1;
	bool neg = false, integer = true;

	if (n > 0 && (p[0] == '+' || p[0] == '-')) {
		neg = p[0] == '-';
		i++;
	}
	d0 = i;
	i = digits(p, n, i);
	d1 = i;
	if (i < n && p[i] == '.') {
		integer = false;
		i = digits(p, n, i + 1);
		if (i - d0 < 2 && d1 == d0)
			return false; /* "." alone */
	}
	if (i == d0)
		return false;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		size_t e = i + 1;
		integer = false;
		if (e < n && (p[e] == '+' || p[e] == '-'))
			e++;
		i = digits(p, n, e);
		if (i == e)
			return false;
	}
	if (i != n)
		return false;
	if (integer) {
		uint64_t u = 0;
		bool over = false;
		for (size_t k = d0; k < d1; k++) {
			unsigned dg = (unsigned)(p[k] - '0');
			if (u > (UINT64_MAX - dg) / 10)
				over = true;
			u = u * 10 + dg;
		}
		if (!over && !neg && u > (uint64_t)INT64_MAX) {
			out->kind = TTLOG__NUM_U64;
			out->v.u = u;
			return true;
		}
		if (!over && (!neg || u <= (uint64_t)INT64_MAX + 1)) {
			out->kind = TTLOG__NUM_I64;
			out->v.i = neg ? (int64_t)(0 - u) : (int64_t)u;
			return true;
		}
		/* Too large for 64 bits: as a double, below. */
	}
	char buf[64];
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	out->kind = TTLOG__NUM_F64;
	out->v.f = strtod(buf, NULL);
	return true;
}

#define UNORDERED 2

static int cmp3(bool lt, bool gt)
{
	return lt ? -1 : gt ? 1 : 0;
}

/* An integer x (signed when s) against the double d, exactly: the
 * integral parts as integers, then the fraction. */
static int cmp_int_f(int64_t xi, uint64_t xu, bool s, double d)
{
	double t;

	if (isnan(d))
		return UNORDERED;
	if (d >= 18446744073709551616.0)
		return -1;
	if (s ? d < -9223372036854775808.0 : d < 0)
		return 1;
	if (s && d >= 9223372036854775808.0)
		return -1;
	t = trunc(d);
	if (s) {
		int64_t ti = (int64_t)t;
		if (xi != ti)
			return cmp3(xi<ti, xi> ti);
	} else {
		uint64_t tu = (uint64_t)t;
		if (xu != tu)
			return cmp3(xu<tu, xu> tu);
	}
	return cmp3(d - t > 0, d - t < 0);
}

static int num_cmp(const struct ttlog__expr_num *a,
		   const struct ttlog__expr_num *b)
{
	if (a->kind == TTLOG__NUM_F64 && b->kind == TTLOG__NUM_F64) {
		if (isnan(a->v.f) || isnan(b->v.f))
			return UNORDERED;
		return cmp3(a->v.f<b->v.f, a->v.f> b->v.f);
	}
	if (a->kind == TTLOG__NUM_F64) {
		int c = num_cmp(b, a);
		return c == UNORDERED ? c : -c;
	}
	if (b->kind == TTLOG__NUM_F64)
		return cmp_int_f(a->v.i, a->v.u, a->kind == TTLOG__NUM_I64,
				 b->v.f);
	if (a->kind == b->kind)
		return a->kind == TTLOG__NUM_I64
			       ? cmp3(a->v.i<b->v.i, a->v.i> b->v.i)
			       : cmp3(a->v.u<b->v.u, a->v.u> b->v.u);
	/* One signed, one unsigned: a negative one is the smaller. */
	if (a->kind == TTLOG__NUM_I64)
		return a->v.i < 0
			       ? -1
			       : cmp3((uint64_t)
					      a->v.i<b->v.u, (uint64_t)a->v.i>
						      b->v.u);
	return b->v.i < 0 ? 1
			  : cmp3(a->v.u<(uint64_t)b->v.i, a->v.u>(uint64_t)
					 b->v.i);
}

/* ------------------------------------------------------------------ */
/* Regular expressions                                                  */
/* ------------------------------------------------------------------ */

int ttlog__expr_rx_add(struct ttlog__expr *e, const char *pattern, size_t n,
		       size_t *off, char *err, size_t errlen)
{
	struct ttlog__expr_rx *rx;
	int ec;
	PCRE2_SIZE eo = 0;

	if (e->nrx == e->rx_cap) {
		void *p = ttlog__grow(e->rx, &e->rx_cap, e->nrx + 1,
				      sizeof(*e->rx), 4);
		if (p == NULL)
			return -1;
		e->rx = p;
	}
	rx = &e->rx[e->nrx];
	memset(rx, 0, sizeof(*rx));
	/* Messages may be any bytes: no UTF mode, and no (*UTF) either,
	 * which would make invalid UTF-8 an error at every match. */
	rx->code = pcre2_compile((PCRE2_SPTR)pattern, n, PCRE2_NEVER_UTF, &ec,
				 &eo, NULL);
	if (rx->code == NULL) {
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)err, errlen);
		*off = eo;
		return 1;
	}
	e->nrx++; /* from here ttlog__expr_rx_free_all() frees it */
	rx->jit = pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE) == 0;
	rx->md = pcre2_match_data_create(1, NULL);
	rx->mc = pcre2_match_context_create(NULL);
	if (rx->md == NULL || rx->mc == NULL)
		return -1;
	pcre2_set_match_limit(rx->mc, RX_MATCH_LIMIT);
	pcre2_set_depth_limit(rx->mc, RX_DEPTH_LIMIT);
	pcre2_set_heap_limit(rx->mc, RX_HEAP_LIMIT_KIB);
	/* One match now, so that the interpreter (when there is no JIT)
	 * allocates its backtracking frames here rather than on the
	 * writer thread. */
	(void)pcre2_match(rx->code, (PCRE2_SPTR) "", 0, 0, 0, rx->md, rx->mc);
	return 0;
}

void ttlog__expr_rx_free_all(struct ttlog__expr *e)
{
	for (size_t i = 0; i < e->nrx; i++) {
		pcre2_match_data_free(e->rx[i].md);
		pcre2_match_context_free(e->rx[i].mc);
		pcre2_code_free(e->rx[i].code);
	}
	free(e->rx);
	e->rx = NULL;
	e->nrx = e->rx_cap = 0;
}

/* Errors, the match limit among them, count as no match. */
static bool rx_match(struct ttlog__expr_rx *rx, const char *s, size_t n)
{
	if (s == NULL)
		s = "";
	if (rx->jit)
		return pcre2_jit_match(rx->code, (PCRE2_SPTR)s, n, 0, 0, rx->md,
				       rx->mc) >= 0;
	return pcre2_match(rx->code, (PCRE2_SPTR)s, n, 0, 0, rx->md, rx->mc) >=
	       0;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                           */
/* ------------------------------------------------------------------ */

/* The value a name has in one event. */
struct val {
	enum { V_STR, V_NUM, V_BOOL, V_LEVEL } type;
	const char *s;
	size_t len;
	struct ttlog__expr_num num;
	bool b;
	int level;
};

/* Reads name of insn in v; false when the event has no such field. */
static bool get(const struct ttlog__expr_insn *in, const struct ttlog__view *v,
		struct val *out)
{
	struct ttlog_field f;

	switch (in->name) {
	case TTLOG__EXPR_LEVEL:
		out->type = V_LEVEL;
		out->level = v->level;
		return true;
	case TTLOG__EXPR_MSG:
		out->type = V_STR;
		out->s = v->msg;
		out->len = v->msg_len;
		return true;
	case TTLOG__EXPR_FIELD:
		break;
	default:
		out->type = V_STR;
		out->s = ttlog__origin_get(v->origin, in->name);
		out->len = strlen(out->s);
		return true;
	}
	if (!ttlog__view_field(v, in->key, in->key_len, &f))
		return false;
	switch (f.type) {
	case TTLOG_TYPE_STR:
		out->type = V_STR;
		out->s = f.v.str.ptr;
		out->len = f.v.str.len;
		break;
	case TTLOG_TYPE_BOOL:
		out->type = V_BOOL;
		out->b = f.v.b;
		break;
	case TTLOG_TYPE_I64:
		out->type = V_NUM;
		out->num.kind = TTLOG__NUM_I64;
		out->num.v.i = f.v.i64;
		break;
	case TTLOG_TYPE_U64:
		out->type = V_NUM;
		out->num.kind = TTLOG__NUM_U64;
		out->num.v.u = f.v.u64;
		break;
	default:
		out->type = V_NUM;
		out->num.kind = TTLOG__NUM_F64;
		out->num.v.f = f.v.f64;
		break;
	}
	return true;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	return cmp3(an<bn, an> bn);
}

/* Three-way comparison of a value with a literal, or UNORDERED when they
 * cannot be compared (which makes every comparison false). */
static int val_cmp(struct val *a, const struct ttlog__expr_lit *l)
{
	switch (a->type) {
	case V_LEVEL:
		return cmp3(a->level<l->level, a->level> l->level);
	case V_BOOL:
		if (l->type != TTLOG__LIT_BOOL)
			return UNORDERED;
		return a->b == l->b ? 0 : 1;
	case V_STR:
		if (l->type == TTLOG__LIT_STR)
			return bytes_cmp(a->s, a->len, l->s, l->len);
		if (l->type != TTLOG__LIT_NUM ||
		    !ttlog__expr_parse_num(a->s, a->len, &a->num))
			return UNORDERED;
		return num_cmp(&a->num, &l->num);
	default:
		if (l->type == TTLOG__LIT_NUM ||
		    (l->type == TTLOG__LIT_STR && l->has_num))
			return num_cmp(&a->num, &l->num);
		return UNORDERED;
	}
}

/* Equality of strings, the common case of routing by name: most
 * unequal names differ in length or in their first byte. */
static inline bool str_eq(const struct val *a, const struct ttlog__expr_lit *l)
{
	return a->len == l->len &&
	       (l->len == 0 ||
		(a->s[0] == l->s[0] && memcmp(a->s, l->s, l->len) == 0));
}

static bool apply(int c, unsigned cmp)
{
	if (c == UNORDERED)
		return false;
	switch (cmp) {
	case TTLOG__EXPR_EQ:
		return c == 0;
	case TTLOG__EXPR_NE:
		return c != 0;
	case TTLOG__EXPR_LT:
		return c < 0;
	case TTLOG__EXPR_LE:
		return c <= 0;
	case TTLOG__EXPR_GT:
		return c > 0;
	default:
		return c >= 0;
	}
}

static bool test(struct ttlog__expr *e, const struct ttlog__expr_insn *in,
		 const struct ttlog__view *v)
{
	struct val a = {0}; /* get() sets what the type uses */

	if (!get(in, v, &a))
		return false;
	switch (in->op) {
	case TTLOG__EXPR_OP_CMP: {
		const struct ttlog__expr_lit *l = &e->lit[in->arg];
		if (a.type == V_STR && l->type == TTLOG__LIT_STR &&
		    in->cmp <= TTLOG__EXPR_NE)
			return str_eq(&a, l) == (in->cmp == TTLOG__EXPR_EQ);
		return apply(val_cmp(&a, l), in->cmp);
	}
	case TTLOG__EXPR_OP_IN:
		for (uint32_t i = 0; i < in->n; i++) {
			const struct ttlog__expr_lit *l = &e->lit[in->arg + i];
			if (a.type == V_STR && l->type == TTLOG__LIT_STR
				    ? str_eq(&a, l)
				    : val_cmp(&a, l) == 0)
				return true;
		}
		return false;
	case TTLOG__EXPR_OP_RX:
		if (a.type == V_LEVEL) {
			if (a.level < 0 || a.level > TTLOG_LEVEL_FATAL)
				return false;
			a.s = ttlog_level_name((enum ttlog_level)a.level);
			a.len = strlen(a.s);
		} else if (a.type != V_STR) {
			return false;
		}
		return rx_match(&e->rx[in->arg], a.s, a.len) != (in->cmp != 0);
	default: /* exists */
		return in->name == TTLOG__EXPR_FIELD ||
		       in->name == TTLOG__EXPR_LEVEL || a.len > 0;
	}
}

bool ttlog__expr_eval(struct ttlog__expr *e, const struct ttlog__view *v)
{
	bool r = false;

	for (size_t pc = 0; pc < e->ncode;) {
		const struct ttlog__expr_insn *in = &e->code[pc];
		switch (in->op) {
		case TTLOG__EXPR_OP_NOT:
			r = !r;
			break;
		case TTLOG__EXPR_OP_JF:
			if (!r) {
				pc = in->arg;
				continue;
			}
			break;
		case TTLOG__EXPR_OP_JT:
			if (r) {
				pc = in->arg;
				continue;
			}
			break;
		default:
			r = test(e, in, v);
			break;
		}
		pc++;
	}
	return r;
}
