/*
 * template.c - templates (template.h): compiled once into a list of
 * parts, expanded per event without allocating anything but the room the
 * output needs.
 *
 * Syntax. "${name}" is a value of the event; "$$" is one '$'; a '$'
 * followed by anything else is kept as it is. With TTLOG__TMPL_DATE, '%'
 * starts a date pattern (%Y %m %d %H %M %S %j, UTC) and "%%" is one '%';
 * any other letter after '%' is an error, so that a pattern strftime
 * knows but we do not (%Z, %s) is refused at load rather than written
 * literally. Without the flag '%' is an ordinary character.
 *
 * Values. Strings expand as their bytes; integers in decimal, doubles in
 * the shortest text that reads back the same (dtoa.h), non-finite ones as
 * nan, inf and -inf, booleans as true and false. The level is its name in
 * capitals ("INFO"). A field the event lacks expands to "".
 */
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "civil_time.h"
#include "dtoa.h"
#include "origin_internal.h"
#include "template.h"
#include "template_internal.h"

enum part_kind {
	PART_LIT,    /* t->text[off .. off+len) */
	PART_ORIGIN, /* arg: TTLOG__ORIGIN_* */
	PART_LEVEL,
	PART_MSG,
	PART_FIELD, /* the key is t->text[off .. off+len) */
	PART_DATE   /* arg: the pattern letter */
};

struct part {
	enum part_kind kind;
	int arg;
	size_t off, len;
};

struct ttlog__tmpl {
	unsigned flags;
	size_t nparts;
	struct part *parts;
	char *text; /* literal bytes and field keys */
	size_t text_len;
};

/* Names of values, in the order of TTLOG__ORIGIN_*; then the others. */
static const char *const origin_names[TTLOG__ORIGIN_NFIELDS] = {
	"host", "service", "input", "peer", "peer_id", "relay"};

static const char date_letters[] = "YmdHMSj";

/* ---- compiling ---- */

struct compiler {
	struct ttlog__tmpl *t;
	size_t cap_parts;
};

static int add_part(struct compiler *c, enum part_kind kind, int arg,
		    const char *bytes, size_t len)
{
	struct ttlog__tmpl *t = c->t;
	struct part *p;

	/* Adjacent literal bytes join the previous literal part. */
	if (kind == PART_LIT && t->nparts > 0 &&
	    t->parts[t->nparts - 1].kind == PART_LIT) {
		p = &t->parts[t->nparts - 1];
		memcpy(t->text + t->text_len, bytes, len);
		t->text_len += len;
		p->len += len;
		return 0;
	}
	if (t->nparts == c->cap_parts) {
		struct part *np = ttlog__grow(t->parts, &c->cap_parts,
					      t->nparts + 1, sizeof(*np), 8);
		if (np == NULL)
			return -1;
		t->parts = np;
	}
	p = &t->parts[t->nparts++];
	p->kind = kind;
	p->arg = arg;
	p->off = t->text_len;
	p->len = len;
	if (len > 0)
		memcpy(t->text + t->text_len, bytes, len);
	t->text_len += len;
	return 0;
}

/* The part for a name between "${" and "}". */
static int add_name(struct compiler *c, const char *name, size_t len)
{
	for (int i = 0; i < TTLOG__ORIGIN_NFIELDS; i++)
		if (strlen(origin_names[i]) == len &&
		    memcmp(origin_names[i], name, len) == 0)
			return add_part(c, PART_ORIGIN, i, NULL, 0);
	if (len == 5 && memcmp(name, "level", 5) == 0)
		return add_part(c, PART_LEVEL, 0, NULL, 0);
	if (len == 3 && memcmp(name, "msg", 3) == 0)
		return add_part(c, PART_MSG, 0, NULL, 0);
	if (len > 7 && memcmp(name, "fields.", 7) == 0)
		return add_part(c, PART_FIELD, 0, name + 7, len - 7);
	return add_part(c, PART_FIELD, 0, name, len);
}

static void set_err(size_t *err_off, size_t off, char *err, size_t errlen,
		    const char *msg)
{
	if (err_off != NULL)
		*err_off = off;
	if (err != NULL && errlen > 0) {
		size_t n = strlen(msg);
		if (n >= errlen)
			n = errlen - 1;
		memcpy(err, msg, n);
		err[n] = 0;
	}
}

/* Reads src into c's template. @return 0, 1 (a syntax error, reported)
 * or -1 (out of memory). */
static int parse(struct compiler *c, const char *src, size_t len,
		 unsigned flags, size_t *err_off, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		char ch = src[i];
		int rc = 0;

		if (ch == '$' && i + 1 < len && src[i + 1] == '$') {
			rc = add_part(c, PART_LIT, 0, "$", 1);
			i += 2;
		} else if (ch == '$' && i + 1 < len && src[i + 1] == '{') {
			const char *end = memchr(src + i + 2, '}', len - i - 2);
			if (end == NULL) {
				set_err(err_off, i, err, errlen,
					"unterminated ${ (no closing })");
				return 1;
			}
			size_t nlen = (size_t)(end - (src + i + 2));
			if (nlen == 0 ||
			    (nlen == 7 &&
			     memcmp(src + i + 2, "fields.", 7) == 0)) {
				set_err(err_off, i + 2, err, errlen,
					"empty name in ${}");
				return 1;
			}
			rc = add_name(c, src + i + 2, nlen);
			i += 2 + nlen + 1;
		} else if (ch == '%' && (flags & TTLOG__TMPL_DATE)) {
			char p = i + 1 < len ? src[i + 1] : 0;
			if (p == '%') {
				rc = add_part(c, PART_LIT, 0, "%", 1);
			} else if (p != 0 && strchr(date_letters, p) != NULL) {
				rc = add_part(c, PART_DATE, p, NULL, 0);
			} else {
				set_err(err_off, i, err, errlen,
					"unknown date pattern (known: %Y %m "
					"%d %H %M %S %j, and %% for %)");
				return 1;
			}
			i += 2;
		} else {
			rc = add_part(c, PART_LIT, 0, &src[i], 1);
			i++;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

struct ttlog__tmpl *ttlog__tmpl_compile(const char *src, size_t len,
					unsigned flags, size_t *err_off,
					char *err, size_t errlen)
{
	struct compiler c = {0};
	struct ttlog__tmpl *t = calloc(1, sizeof(*t));
	int rc = -1;

	/* The text never outgrows the source: names and literals are
	 * copied, escapes shrink. One byte more for an empty source. */
	if (t != NULL)
		t->text = malloc(len + 1);
	if (t != NULL && t->text != NULL) {
		t->flags = flags;
		c.t = t;
		rc = parse(&c, src, len, flags, err_off, err, errlen);
	}
	if (rc == 0)
		return t;
	if (rc < 0)
		set_err(err_off, 0, err, errlen, "out of memory");
	ttlog__tmpl_free(t);
	return NULL;
}

int ttlog__tmpl_is_constant(const struct ttlog__tmpl *t)
{
	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].kind != PART_LIT)
			return 0;
	return 1;
}

void ttlog__tmpl_free(struct ttlog__tmpl *t)
{
	if (t == NULL)
		return;
	free(t->parts);
	free(t->text);
	free(t);
}

/* ---- expanding ---- */

void ttlog__tmpl_sink_put(struct ttlog__tmpl_sink *s, const void *d, size_t n)
{
	if (s->buf != NULL) {
		ttlog__buf_put(s->buf, d, n);
	} else if (s->len < s->cap) {
		size_t room = s->cap - s->len;
		memcpy(s->out + s->len, d, n < room ? n : room);
	}
	s->len += n;
}

/* A value as one path component (template.h, TTLOG__TMPL_PATH). */
static void put_component(struct ttlog__tmpl_sink *s, const char *p, size_t n)
{
	if (n > 255) {
		n = 255;
		/* Never end inside a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
	}
	if (n == 0) {
		ttlog__tmpl_sink_put(s, "_", 1);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '/' || ch < 0x20 || ch == 0x7f ||
		    (i == 0 && ch == '.'))
			ch = '_';
		ttlog__tmpl_sink_put(s, &ch, 1);
	}
}

static void put_value(struct ttlog__tmpl_sink *s, unsigned flags, const char *p,
		      size_t n)
{
	if (flags & TTLOG__TMPL_PATH)
		put_component(s, p, n);
	else
		ttlog__tmpl_sink_put(s, p, n);
}

static char *copy_word(char *w, const char *word)
{
	size_t n = strlen(word);

	memcpy(w, word, n);
	return w + n;
}

static void put_field(struct ttlog__tmpl_sink *s, unsigned flags,
		      const struct ttlog_field *f)
{
	char num[TTLOG__DTOA_MAX + 4];
	char *e = num;

	switch (f->type) {
	case TTLOG_TYPE_STR:
		put_value(s, flags, f->v.str.ptr, f->v.str.len);
		return;
	case TTLOG_TYPE_I64:
		e = ttlog__i64toa(num, f->v.i64);
		break;
	case TTLOG_TYPE_U64:
		e = ttlog__u64toa(num, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		if (f->v.f64 != f->v.f64)
			e = copy_word(num, "nan");
		else if (f->v.f64 > 1.7976931348623157e308)
			e = copy_word(num, "inf");
		else if (f->v.f64 < -1.7976931348623157e308)
			e = copy_word(num, "-inf");
		else
			e = ttlog__dtoa(num, f->v.f64);
		break;
	case TTLOG_TYPE_BOOL:
		e = copy_word(num, f->v.b ? "true" : "false");
		break;
	default:
		break;
	}
	put_value(s, flags, num, (size_t)(e - num));
}

static void put_date(struct ttlog__tmpl_sink *s, uint64_t ns, int letter)
{
	uint64_t secs = ns / 1000000000u;
	int64_t days = (int64_t)(secs / 86400);
	unsigned sod = (unsigned)(secs % 86400), m, d, v = 0, width = 2;
	int64_t y;
	char num[8];

	ttlog__civil_from_days(days, &y, &m, &d);
	switch (letter) {
	case 'Y':
		v = (unsigned)y;
		width = 4;
		break;
	case 'm':
		v = m;
		break;
	case 'd':
		v = d;
		break;
	case 'H':
		v = sod / 3600;
		break;
	case 'M':
		v = sod / 60 % 60;
		break;
	case 'S':
		v = sod % 60;
		break;
	case 'j':
		v = (unsigned)(days - ttlog__days_from_civil(y, 1, 1)) + 1;
		width = 3;
		break;
	default:
		break;
	}
	for (unsigned i = width; i-- > 0; v /= 10)
		num[i] = (char)('0' + v % 10);
	ttlog__tmpl_sink_put(s, num, width);
}

void ttlog__tmpl_expand_sink(const struct ttlog__tmpl *t,
			     const struct ttlog__view *v,
			     struct ttlog__tmpl_sink *s)
{
	for (size_t i = 0; i < t->nparts; i++) {
		const struct part *p = &t->parts[i];
		struct ttlog_field f;
		const char *str;

		switch (p->kind) {
		case PART_LIT:
			ttlog__tmpl_sink_put(s, t->text + p->off, p->len);
			break;
		case PART_ORIGIN:
			str = ttlog__origin_get(v->origin, p->arg);
			put_value(s, t->flags, str, strlen(str));
			break;
		case PART_LEVEL:
			str = ttlog_level_name((enum ttlog_level)v->level);
			put_value(s, t->flags, str, strlen(str));
			break;
		case PART_MSG:
			put_value(s, t->flags, v->msg, v->msg_len);
			break;
		case PART_FIELD:
			if (ttlog__view_field(v, t->text + p->off, p->len, &f))
				put_field(s, t->flags, &f);
			else
				put_value(s, t->flags, "", 0);
			break;
		case PART_DATE:
			put_date(s, v->time_ns, p->arg);
			break;
		}
	}
}

int ttlog__tmpl_expand(const struct ttlog__tmpl *t, const struct ttlog__view *v,
		       struct ttlog__buf *out)
{
	struct ttlog__tmpl_sink s = {.buf = out};

	ttlog__tmpl_expand_sink(t, v, &s);
	return out->oom ? -1 : 0;
}
