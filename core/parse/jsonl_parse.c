/*
 * jsonl_parse.c - one JSON object per line into an ingested event, with a
 * small strict JSON reader (RFC 8259) of its own: the agent needs no more
 * than one flat object, and a reader this size is easier to bound and to
 * fuzz than a general library.
 *
 * What is accepted, exactly:
 * - One JSON object, with optional whitespace (SP, HT, CR, LF) around it
 *   and an optional UTF-8 BOM first; nothing else may follow. An empty or
 *   blank line is an error ("byte 0: empty line ...").
 * - Strings: every RFC 8259 escape; \uXXXX becomes UTF-8, surrogate pairs
 *   become one code point; an unpaired surrogate, an unescaped control
 *   character and invalid UTF-8 (overlong, surrogate, above U+10FFFF) are
 *   errors. \u0000 is allowed and gives a NUL byte.
 * - Numbers written without fraction or exponent are int64 when in range,
 *   else uint64 when in range (so -9223372036854775808 and
 *   18446744073709551615 are exact), else a string field holding the
 *   number's text exactly as written (a field has no big-number type, and
 *   a double would keep ~17 digits). Every other number is a double.
 *   A number whose double is infinite (1e400) is an error, "number out of
 *   range"; one too small for a double becomes 0 or a subnormal.
 * - true/false are bool fields; null is the string field "null", and a
 *   nested object or array is a string field holding its JSON text with
 *   the whitespace outside strings removed (escapes kept as written, its
 *   numbers not range-checked): a field has no null or compound type, and
 *   the JSON text keeps every detail for the collector. Nesting deeper
 *   than TTLOG__JSON_MAX_DEPTH levels (the line's object is level 1) is
 *   an error.
 * - A key repeated in the object: the last value wins, at the place of the
 *   first occurrence, and the event counts it (duplicate_keys, dup_key);
 *   the object is then read as if each key came once. This holds for the
 *   reserved keys too.
 * - Reserved keys, matched exactly on the decoded key; in each group the
 *   first key (in the line) that yields a value wins, the others are
 *   ordinary fields:
 *   time, timestamp, ts: an RFC 3339 string, or a number >= 0 of seconds
 *     since the epoch (fraction allowed, nanoseconds rounded) -> time_ns;
 *   level, severity, lvl: a name in any case (trace; debug; info,
 *     informational, notice; warn, warning; error, err; fatal, critical,
 *     crit, alert, emerg, emergency, panic) or a syslog severity 0 to 7
 *     -> level. The level is INFO without one;
 *   msg, message: a string -> msg.
 *   A reserved key whose value does not fit (an unknown level name, a
 *   time that does not parse, a message that is not a string) is kept as
 *   an ordinary field under its own key; it is not an error.
 * - Every other member becomes a field, in order; past
 *   TTLOG__IN_MAX_FIELDS distinct keys the rest are dropped and the event
 *   flagged truncated.
 * Errors read "byte N: what" with N the offset in the line from 0.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errf.h"
#include "parse_internal.h"
#include "utf8.h"

struct jp {
	const char *b;
	size_t n, i;
	struct ttlog__scratch *s;
	char *err;
	size_t errlen;
};

static int fail(struct jp *p, size_t at, const char *what)
{
	ttlog__errf(p->err, p->errlen, "byte %zu: %s", at, what);
	return -1;
}

static void ws(struct jp *p)
{
	while (p->i < p->n && (p->b[p->i] == ' ' || p->b[p->i] == '\t' ||
			       p->b[p->i] == '\n' || p->b[p->i] == '\r'))
		p->i++;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Four hex digits at b + i, or -1. */
static long hex4(const struct jp *p, size_t i)
{
	long v = 0;

	if (i > p->n || p->n - i < 4)
		return -1;
	for (size_t k = i; k < i + 4; k++) {
		char c = p->b[k];
		int d = is_digit(c)		 ? c - '0'
			: (c >= 'a' && c <= 'f') ? c - 'a' + 10
			: (c >= 'A' && c <= 'F') ? c - 'A' + 10
						 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The code point of the \u escape at b + i (a pair counts as one) and the
 * bytes it spans in *len; -1 after reporting. */
static long uescape(struct jp *p, size_t i, size_t *len)
{
	long hi = hex4(p, i + 2), lo;

	if (hi < 0)
		return fail(p, i, "invalid \\u escape (expected 4 hex digits)");
	*len = 6;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return fail(p, i, "unpaired low surrogate in \\u escape");
	if (hi < 0xD800 || hi > 0xDBFF)
		return hi;
	if (p->n - i < 12 || p->b[i + 6] != '\\' || p->b[i + 7] != 'u' ||
	    (lo = hex4(p, i + 8)) < 0xDC00 || lo > 0xDFFF)
		return fail(p, i, "unpaired high surrogate in \\u escape");
	*len = 12;
	return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The string at b + i (its opening quote). With out, its decoded bytes:
 * in the line when it has no escape, else in the scratch (never longer
 * than the escaped form). */
static int string(struct jp *p, const char **out, size_t *out_len)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	size_t start = ++p->i, end, k;
	int esc = 0;
	uint32_t cp;

	for (;;) {
		if (p->i >= p->n)
			return fail(p, start - 1, "unterminated string");
		unsigned char c = (unsigned char)p->b[p->i];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, p->i,
				    "control character in string (escape it)");
		if (c == '\\') {
			esc = 1;
			if (p->i + 1 >= p->n)
				return fail(p, start - 1,
					    "unterminated string");
			if (p->b[p->i + 1] == 'u') {
				if (uescape(p, p->i, &k) < 0)
					return -1;
				p->i += k;
			} else if (strchr("\"\\/bfnrt", p->b[p->i + 1]) &&
				   p->b[p->i + 1] != '\0') {
				p->i += 2;
			} else {
				return fail(p, p->i, "invalid escape");
			}
		} else {
			k = ttlog__utf8_next((const unsigned char *)p->b + p->i,
					     p->n - p->i, &cp);
			if (k == 0)
				return fail(p, p->i, "invalid UTF-8");
			p->i += k;
		}
	}
	end = p->i++;
	if (out == NULL)
		return 0;
	if (!esc) {
		*out = p->b + start;
		*out_len = end - start;
		return 0;
	}
	char *o = p->s->p + p->s->len, *o0 = o;
	for (size_t i = start; i < end;) {
		if (p->b[i] != '\\') {
			*o++ = p->b[i++];
			continue;
		}
		if (p->b[i + 1] == 'u') {
			o += put_utf8(o, (unsigned long)uescape(p, i, &k));
			i += k;
			continue;
		}
		/* The one-letter escapes; the others stand for themselves. */
		const char *e = strchr(from, p->b[i + 1]);
		*o++ = e != NULL ? to[e - from] : p->b[i + 1];
		i += 2;
	}
	*out = o0;
	*out_len = (size_t)(o - o0);
	p->s->len += *out_len;
	return 0;
}

/* The number at b + i; with f, its typed value. */
static int number(struct jp *p, struct ttlog__in_field *f)
{
	size_t start = p->i;
	int neg = 0, integral = 1, big = 0;
	uint64_t u = 0;
	char sbuf[64], *t;
	double d;

	if (p->b[p->i] == '-') {
		neg = 1;
		p->i++;
	}
	if (p->i >= p->n || !is_digit(p->b[p->i]))
		return fail(p, p->i, "invalid number: expected a digit");
	if (p->b[p->i] == '0' && p->i + 1 < p->n && is_digit(p->b[p->i + 1]))
		return fail(p, p->i, "invalid number: leading zero");
	while (p->i < p->n && is_digit(p->b[p->i]))
		p->i++;
	if (p->i < p->n && p->b[p->i] == '.') {
		integral = 0;
		if (++p->i >= p->n || !is_digit(p->b[p->i]))
			return fail(p, p->i,
				    "invalid number: expected a digit after "
				    "'.'");
		while (p->i < p->n && is_digit(p->b[p->i]))
			p->i++;
	}
	if (p->i < p->n && (p->b[p->i] == 'e' || p->b[p->i] == 'E')) {
		integral = 0;
		p->i++;
		if (p->i < p->n && (p->b[p->i] == '+' || p->b[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || !is_digit(p->b[p->i]))
			return fail(p, p->i,
				    "invalid number: expected a digit in the "
				    "exponent");
		while (p->i < p->n && is_digit(p->b[p->i]))
			p->i++;
	}
	if (f == NULL)
		return 0;
	for (size_t k = start + (size_t)neg; integral && k < p->i; k++) {
		unsigned dg = (unsigned)(p->b[k] - '0');
		if (u > (UINT64_MAX - dg) / 10) {
			big = 1;
			break;
		}
		u = u * 10 + dg;
	}
	/* An integer no 64-bit type holds stays exact as the string of its
	 * text: a double would keep only its first ~17 digits. */
	if (integral && (big || (neg && u > (uint64_t)INT64_MAX + 1))) {
		f->type = TTLOG_TYPE_STR;
		f->v.str.ptr = p->b + start;
		f->v.str.len = p->i - start;
		return 0;
	}
	if (integral && neg) {
		f->type = TTLOG_TYPE_I64;
		f->v.i64 =
			u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
		return 0;
	}
	if (integral && !neg) {
		f->type = u <= INT64_MAX ? TTLOG_TYPE_I64 : TTLOG_TYPE_U64;
		if (u <= INT64_MAX)
			f->v.i64 = (int64_t)u;
		else
			f->v.u64 = u;
		return 0;
	}
	/* strtod() wants a terminated string; the line is not. It reads the
	 * whole text since the grammar above is a subset of its own. */
	size_t len = p->i - start;
	t = len < sizeof(sbuf) ? sbuf : malloc(len + 1);
	if (t == NULL)
		return fail(p, start, "out of memory");
	memcpy(t, p->b + start, len);
	t[len] = '\0';
	d = strtod(t, NULL);
	if (t != sbuf)
		free(t);
	if (isinf(d))
		return fail(p, start, "number out of range");
	f->type = TTLOG_TYPE_F64;
	f->v.f64 = d;
	return 0;
}

static int value(struct jp *p, int depth, struct ttlog__in_field *f);

/* The object or array at b + i, validated only. */
static int compound(struct jp *p, int depth)
{
	char close = p->b[p->i] == '{' ? '}' : ']';

	p->i++;
	ws(p);
	if (p->i < p->n && p->b[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (p->i >= p->n || p->b[p->i] != '"')
				return fail(p, p->i, "expected a string key");
			if (string(p, NULL, NULL) < 0)
				return -1;
			ws(p);
			if (p->i >= p->n || p->b[p->i] != ':')
				return fail(p, p->i,
					    "expected ':' after object key");
			p->i++;
			ws(p);
		}
		if (value(p, depth, NULL) < 0)
			return -1;
		ws(p);
		if (p->i < p->n && p->b[p->i] == ',') {
			p->i++;
			ws(p);
			continue;
		}
		if (p->i < p->n && p->b[p->i] == close) {
			p->i++;
			return 0;
		}
		return fail(
			p, p->i,
			close == '}'
				? "expected ',' or '}' after object member"
				: "expected ',' or ']' after array element");
	}
}

/* The JSON text of [a, e) without whitespace outside strings; in the line
 * when it has none. */
static void compact(struct jp *p, size_t a, size_t e, struct ttlog_strn *o)
{
	char *w = p->s->p + p->s->len, *w0 = w;
	int in_str = 0, copied = 0;

	for (size_t i = a; i < e; i++) {
		char c = p->b[i];
		if (in_str) {
			if (c == '\\')
				*w++ = p->b[i++];
			else if (c == '"')
				in_str = 0;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			copied = 1;
			continue;
		} else if (c == '"') {
			in_str = 1;
		}
		*w++ = p->b[i];
	}
	if (!copied) {
		o->ptr = p->b + a;
		o->len = e - a;
		return;
	}
	o->ptr = w0;
	o->len = (size_t)(w - w0);
	p->s->len += o->len;
}

static int literal(struct jp *p, const char *word)
{
	size_t len = strlen(word);

	if (p->n - p->i < len || memcmp(p->b + p->i, word, len) != 0)
		return fail(p, p->i, "expected a value");
	p->i += len;
	return 0;
}

/* The value at b + i, inside a container at depth; with f (members of the
 * line's object), its field value. */
static int value(struct jp *p, int depth, struct ttlog__in_field *f)
{
	struct ttlog__in_field dummy;
	size_t a = p->i;

	if (f == NULL)
		f = &dummy;
	if (p->i >= p->n)
		return fail(p, p->i, "expected a value");
	switch (p->b[p->i]) {
	case '"':
		f->type = TTLOG_TYPE_STR;
		return string(p, f == &dummy ? NULL : &f->v.str.ptr,
			      &f->v.str.len);
	case 't':
	case 'f':
		f->type = TTLOG_TYPE_BOOL;
		f->v.b = p->b[p->i] == 't';
		return literal(p, f->v.b ? "true" : "false");
	case 'n':
		f->type = TTLOG_TYPE_STR;
		f->v.str.ptr = p->b + p->i;
		f->v.str.len = 4;
		return literal(p, "null");
	case '{':
	case '[':
		if (depth >= TTLOG__JSON_MAX_DEPTH)
			return fail(p, p->i, "nesting deeper than 32 levels");
		if (compound(p, depth + 1) < 0)
			return -1;
		f->type = TTLOG_TYPE_STR;
		if (f != &dummy)
			compact(p, a, p->i, &f->v.str);
		return 0;
	default:
		if (p->b[p->i] == '-' || is_digit(p->b[p->i]))
			return number(p, f == &dummy ? NULL : f);
		return fail(p, p->i, "expected a value");
	}
}

/* Seconds since the epoch as nanoseconds; -1 when out of range. */
static int seconds_ns(const struct ttlog__in_field *f, uint64_t *ns)
{
	uint64_t sec;
	double whole, frac;

	if (f->type == TTLOG_TYPE_I64 || f->type == TTLOG_TYPE_U64) {
		if (f->type == TTLOG_TYPE_I64 && f->v.i64 < 0)
			return -1;
		sec = f->type == TTLOG_TYPE_I64 ? (uint64_t)f->v.i64 : f->v.u64;
		if (sec > UINT64_MAX / 1000000000u)
			return -1;
		*ns = sec * 1000000000u;
		return 0;
	}
	if (f->type != TTLOG_TYPE_F64 || !(f->v.f64 >= 0) ||
	    f->v.f64 >= 18446744073.0)
		return -1;
	/* Whole seconds and the fraction apart: a double holds ~16 digits,
	 * fewer than seconds and nanoseconds together. */
	frac = modf(f->v.f64, &whole);
	*ns = (uint64_t)whole * 1000000000u + (uint64_t)llround(frac * 1e9);
	return 0;
}

/* The reserved keys, by group: time, level, message. */
enum { R_TIME, R_LEVEL, R_MSG };
static const struct {
	const char *name;
	size_t len;
	int group;
} rnames[] = {{"time", 4, R_TIME},	{"timestamp", 9, R_TIME},
	      {"ts", 2, R_TIME},	{"level", 5, R_LEVEL},
	      {"severity", 8, R_LEVEL}, {"lvl", 3, R_LEVEL},
	      {"msg", 3, R_MSG},	{"message", 7, R_MSG}};
#define NRES (sizeof(rnames) / sizeof(rnames[0]))

/* A member with a reserved key, held back until the line is read: its
 * last value, where it first came among the members and among the
 * fields kept. */
struct res {
	struct ttlog__in_field f;
	size_t order;
	uint32_t pos;
	int present;
};

static int rname(const char *k, size_t len)
{
	if (len < 2 || len > 9 ||
	    (k[0] != 't' && k[0] != 'l' && k[0] != 's' && k[0] != 'm'))
		return -1;
	for (size_t i = 0; i < NRES; i++)
		if (rnames[i].len == len && memcmp(k, rnames[i].name, len) == 0)
			return (int)i;
	return -1;
}

/* Whether f fits its group; if so it fills the event's part. */
static int reserved_take(struct ttlog__in_event *ev, int group,
			 const struct ttlog__in_field *f)
{
	int lv = -1;

	switch (group) {
	case R_TIME:
		if (f->type == TTLOG_TYPE_STR
			    ? ttlog__rfc3339_parse(f->v.str.ptr, f->v.str.len,
						   &ev->time_ns) == f->v.str.len
			    : seconds_ns(f, &ev->time_ns) == 0)
			return 1;
		ev->time_ns = 0;
		return 0;
	case R_LEVEL:
		if (f->type == TTLOG_TYPE_STR)
			lv = ttlog__level_parse(f->v.str.ptr, f->v.str.len, 0);
		else if (f->type == TTLOG_TYPE_I64 && f->v.i64 >= 0 &&
			 f->v.i64 <= 7)
			lv = ttlog__level_from_severity((uint64_t)f->v.i64);
		if (lv < 0)
			return 0;
		ev->level = lv;
		return 1;
	default:
		if (f->type != TTLOG_TYPE_STR)
			return 0;
		ev->msg = f->v.str.ptr;
		ev->msg_len = f->v.str.len;
		return 1;
	}
}

static void duplicate(struct ttlog__in_event *ev, const char *k, size_t kl)
{
	if (ev->duplicate_keys++ == 0) {
		ev->dup_key = k;
		ev->dup_key_len = kl;
	}
}

/* One member of the line's object: a repeated key replaces the value of
 * its first occurrence, which keeps its place. */
static void member(struct ttlog__in_event *ev, struct res *res,
		   struct ttlog__keyset *ks, size_t order, const char *k,
		   size_t kl, const struct ttlog__in_field *f)
{
	int r = res != NULL ? rname(k, kl) : -1, at;
	uint32_t free_slot;

	if (r >= 0) {
		if (res[r].present) {
			duplicate(ev, k, kl);
		} else {
			res[r].present = 1;
			res[r].order = order;
			res[r].pos = ev->nfields;
		}
		res[r].f = *f;
		res[r].f.key = k;
		res[r].f.key_len = kl;
		return;
	}
	at = ttlog__keyset_find(ks, ev, k, kl, &free_slot);
	if (at >= 0) {
		struct ttlog__in_field *o = &ev->fields[at];
		duplicate(ev, k, kl);
		*o = *f;
		o->key = k;
		o->key_len = kl;
		return;
	}
	if (ev->nfields >= TTLOG__IN_MAX_FIELDS) {
		ev->truncated = 1;
		return;
	}
	ttlog__keyset_add(ks, free_slot, ev->nfields);
	ev->fields[ev->nfields] = *f;
	ev->fields[ev->nfields].key = k;
	ev->fields[ev->nfields].key_len = kl;
	ev->nfields++;
}

/* The reserved members, now that each has its last value: in each group
 * the first one (in the line) that fits fills the event's part; the
 * others go back among the fields, where they first came. */
static void reserved_finish(struct ttlog__in_event *ev, struct res *res)
{
	int taken[3] = {0, 0, 0};
	uint32_t back = 0;

	for (;;) {
		size_t best = NRES;
		for (size_t i = 0; i < NRES; i++)
			if (res[i].present &&
			    (best == NRES || res[i].order < res[best].order))
				best = i;
		if (best == NRES)
			return;
		res[best].present = 0;
		int g = rnames[best].group;
		if (!taken[g] && reserved_take(ev, g, &res[best].f)) {
			taken[g] = 1;
			continue;
		}
		if (ev->nfields >= TTLOG__IN_MAX_FIELDS) {
			ev->truncated = 1;
			continue;
		}
		/* Members put back earlier came first: they are before. */
		uint32_t at = res[best].pos + back++;
		if (at > ev->nfields)
			at = ev->nfields;
		memmove(&ev->fields[at + 1], &ev->fields[at],
			(ev->nfields - at) * sizeof(ev->fields[0]));
		ev->fields[at] = res[best].f;
		ev->nfields++;
	}
}

/* The object of the line, from its optional BOM to its end: its members
 * go to ev (through res when res is not NULL). The scratch has room for
 * the line. */
static int object(struct jp *p, struct ttlog__in_event *ev, struct res *res)
{
	struct ttlog__keyset ks;
	struct ttlog__in_field f;
	size_t order = 0, len = p->n;
	const char *line = p->b, *k;
	size_t kl;

	ttlog__keyset_init(&ks);
	if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
		p->i = 3;
	ws(p);
	if (p->i >= len)
		return fail(p, 0, "empty line, expected a JSON object");
	if (line[p->i] != '{')
		return fail(p, p->i, "expected '{' to start a JSON object");
	p->i++;
	ws(p);
	if (p->i < len && line[p->i] == '}') {
		p->i++;
	} else {
		for (;;) {
			if (p->i >= len || line[p->i] != '"')
				return fail(p, p->i, "expected a string key");
			if (string(p, &k, &kl) < 0)
				return -1;
			ws(p);
			if (p->i >= len || line[p->i] != ':')
				return fail(p, p->i,
					    "expected ':' after object key");
			p->i++;
			ws(p);
			if (value(p, 1, &f) < 0)
				return -1;
			member(ev, res, &ks, order++, k, kl, &f);
			ws(p);
			if (p->i < len && line[p->i] == ',') {
				p->i++;
				ws(p);
				continue;
			}
			if (p->i < len && line[p->i] == '}') {
				p->i++;
				break;
			}
			return fail(p, p->i,
				    "expected ',' or '}' after object member");
		}
	}
	ws(p);
	if (p->i != len)
		return fail(p, p->i, "trailing characters after the object");
	return 0;
}

int ttlog__jsonl_parse(const char *line, size_t len, struct ttlog__in_event *ev,
		       struct ttlog__scratch *s, char *err, size_t errlen)
{
	struct jp p = {line, len, 0, s, err, errlen};
	struct res res[NRES];

	ttlog__in_event_reset(ev, "jsonl");
	for (size_t i = 0; i < NRES; i++)
		res[i].present = 0;
	/* Decoded strings and compacted JSON are never longer than their
	 * text, and no text is copied twice: the line's length is enough,
	 * reserved now because the event points into the scratch. */
	ttlog__scratch_reset(s);
	if (ttlog__scratch_reserve(s, len + 1) < 0)
		return fail(&p, 0, "out of memory");
	if (object(&p, ev, res) < 0)
		return -1;
	reserved_finish(ev, res);
	return 0;
}

int ttlog__json_fields_parse(const char *text, size_t len,
			     struct ttlog__in_event *ev,
			     struct ttlog__scratch *s, char *err, size_t errlen)
{
	struct jp p = {text, len, 0, s, err, errlen};

	ev->nfields = 0;
	ev->truncated = 0;
	ev->duplicate_keys = 0;
	ev->dup_key = NULL;
	ev->dup_key_len = 0;
	if (s->cap - s->len < len + 1)
		return fail(&p, 0, "scratch too small");
	return object(&p, ev, NULL);
}
