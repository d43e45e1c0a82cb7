/*
 * encode_text.c - the human-readable line and JSON-lines encodings.
 *
 * Text:  2026-11-25T20:31:38.123456Z INFO request done id=42 ms=4.2
 *        2026-11-25T20:31:38.123456Z WARN disk low pct=93 (billing@web-1)
 * JSON:  {"time":"2026-11-25T20:31:38.123456789Z","level":"INFO",
 *         "host":"web-1","service":"billing","msg":"request done",
 *         "tid":812,"file":"app.c","line":12,"id":42,"ms":4.2}
 *
 * The text line names the sender (service@host) only for events whose
 * host or service is set and differs from this process's own. The JSON object has every origin string
 * that is set (host, service, input, peer, peer_id, relay) and the log
 * call's tid, file and line only for events that have a source line:
 * events parsed from syslog or JSON lines have none.
 *
 * Fields follow the reserved keys in the JSON object; a field whose key is
 * one of the reserved names (or one of them behind underscores) is written
 * with one more leading underscore, so that no object has a duplicate key.
 * A key that an event has more than once (a log call can repeat one) is
 * written once, with the last value.
 * Strings are escaped so that every line is valid UTF-8 JSON: control
 * characters as \uXXXX (or the short forms), and each byte that is not part
 * of a valid UTF-8 sequence as U+FFFD. Doubles use the shortest form that
 * reads back to the same value, with ".0" on whole numbers so that they
 * stay floating point; NaN and the infinities, which JSON cannot express as
 * numbers, become the strings "NaN", "Infinity" and "-Infinity".
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>

#include "batch_internal.h"
#include "civil_time.h"
#include "dtoa.h"
#include "utf8.h"

/* "YYYY-MM-DDTHH:MM:SS" of the last second formatted. */
struct time_cache {
	uint64_t sec;
	char text[TTLOG__RFC3339_SECONDS_LEN];
	int valid;
};

static void put_time(struct ttlog__buf *b, struct time_cache *tc, uint64_t ns,
		     unsigned digits)
{
	uint64_t sec = ns / 1000000000u;
	char tail[TTLOG__RFC3339_MAX];

	if (!tc->valid || tc->sec != sec) {
		ttlog__rfc3339_seconds(tc->text, ns);
		tc->sec = sec;
		tc->valid = 1;
	}
	ttlog__buf_put(b, tc->text, sizeof(tc->text));
	ttlog__buf_put(b, tail, ttlog__rfc3339_tail(tail, ns, digits));
}

/* Appends s escaped for a JSON string body (no quotes). */
static void put_escaped(struct ttlog__buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		/* Copy the longest run that needs no escaping at once. */
		while (run < n && u[run] >= 0x20 && u[run] < 0x7F &&
		       u[run] != '"' && u[run] != '\\')
			run++;
		ttlog__buf_put(b, u + i, run - i);
		i = run;
		if (i >= n)
			break;
		unsigned char c = u[i];
		if (c < 0x80) {
			char e[7] = {'\\', 0, 0, 0, 0, 0, 0};
			size_t len = 2;
			switch (c) {
			case '"':
				e[1] = '"';
				break;
			case '\\':
				e[1] = '\\';
				break;
			case '\n':
				e[1] = 'n';
				break;
			case '\r':
				e[1] = 'r';
				break;
			case '\t':
				e[1] = 't';
				break;
			case '\b':
				e[1] = 'b';
				break;
			case '\f':
				e[1] = 'f';
				break;
			default: /* other controls and DEL */
				e[1] = 'u';
				e[2] = '0';
				e[3] = '0';
				e[4] = hex[c >> 4];
				e[5] = hex[c & 15];
				len = 6;
			}
			ttlog__buf_put(b, e, len);
			i++;
			continue;
		}
		uint32_t cp;
		size_t k = ttlog__utf8_next(u + i, n - i, &cp);
		if (k == 0) {
			ttlog__buf_puts(b, "\\ufffd");
			i++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			/* Valid JSON, but not valid JavaScript source. */
			ttlog__buf_puts(b,
					cp == 0x2028 ? "\\u2028" : "\\u2029");
			i += k;
		} else {
			ttlog__buf_put(b, u + i, k);
			i += k;
		}
	}
}

static void put_jstr(struct ttlog__buf *b, const char *s, size_t n)
{
	ttlog__buf_putc(b, '"');
	put_escaped(b, s, n);
	ttlog__buf_putc(b, '"');
}

/* The shortest %g form that reads back to exactly d (ttlog__dtoa), with
 * ".0" added to whole numbers so a reader keeps them as floating point
 * (and -0.0 its sign). */
static void put_double(struct ttlog__buf *b, double d)
{
	char tmp[TTLOG__DTOA_MAX + 2];
	char *end = ttlog__dtoa(tmp, d);
	size_t n = (size_t)(end - tmp);

	if (memchr(tmp, '.', n) == NULL && memchr(tmp, 'e', n) == NULL) {
		memcpy(end, ".0", 2);
		n += 2;
	}
	ttlog__buf_put(b, tmp, n);
}

static void put_u64(struct ttlog__buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	ttlog__buf_put(b, tmp, (size_t)n);
}

static void put_i64(struct ttlog__buf *b, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	ttlog__buf_put(b, tmp, (size_t)n);
}

/* ---- text ---- */

static int text_needs_quotes(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (u[i] <= ' ' || u[i] == '=' || u[i] == '"' || u[i] == '\\' ||
		    u[i] == 0x7F)
			return 1;
	return !ttlog__utf8_valid(u, n);
}

static void text_value(struct ttlog__buf *b, const struct ttlog_field *f)
{
	switch (f->type) {
	case TTLOG_TYPE_I64:
		put_i64(b, f->v.i64);
		break;
	case TTLOG_TYPE_U64:
		put_u64(b, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		if (isnan(f->v.f64))
			ttlog__buf_puts(b, "nan");
		else if (isinf(f->v.f64))
			ttlog__buf_puts(b, f->v.f64 > 0 ? "inf" : "-inf");
		else
			put_double(b, f->v.f64);
		break;
	case TTLOG_TYPE_BOOL:
		ttlog__buf_puts(b, f->v.b ? "true" : "false");
		break;
	case TTLOG_TYPE_STR:
	default:
		if (text_needs_quotes(f->v.str.ptr, f->v.str.len))
			put_jstr(b, f->v.str.ptr, f->v.str.len);
		else
			ttlog__buf_put(b, f->v.str.ptr, f->v.str.len);
		break;
	}
}

/* Whether o names a sender other than this process: a host or service
 * that is set and differs from ours (stdin lines, say, are ours). */
static int other_sender(const struct ttlog__origin *o)
{
	const struct ttlog_origin *self = &ttlog__origin_self()->pub;

	if (o == ttlog__origin_self() ||
	    (o->pub.host[0] == 0 && o->pub.service[0] == 0))
		return 0;
	return strcmp(o->pub.host, self->host) != 0 ||
	       strcmp(o->pub.service, self->service) != 0;
}

/* " (service@host)", "-" for an unknown part. */
static void text_origin(struct ttlog__buf *b, const struct ttlog_origin *o)
{
	ttlog__buf_puts(b, " (");
	if (o->service[0])
		put_escaped(b, o->service, strlen(o->service));
	else
		ttlog__buf_putc(b, '-');
	ttlog__buf_putc(b, '@');
	if (o->host[0])
		put_escaped(b, o->host, strlen(o->host));
	else
		ttlog__buf_putc(b, '-');
	ttlog__buf_putc(b, ')');
}

int ttlog__encode_text(const struct ttlog_batch *bt, struct ttlog__buf *b)
{
	struct time_cache tc = {0};

	for (size_t i = 0; i < bt->n; i++) {
		const struct ttlog__event *e = &bt->ev[i];
		const struct ttlog_callsite *cs = bt->cs[e->cs];
		const char *msg;
		size_t msg_len;
		const unsigned char *p =
			ttlog__event_bytes(bt, e, &msg, &msg_len);
		struct ttlog_field f = {0};

		put_time(b, &tc, e->time_ns, 6);
		ttlog__buf_putc(b, ' ');
		ttlog__buf_puts(b, ttlog_level_name(cs->level));
		ttlog__buf_putc(b, ' ');
		put_escaped(b, msg, msg_len);
		for (unsigned k = 0; k < cs->nfields; k++) {
			p = ttlog__value_decode(p, cs->types[k], &f);
			ttlog__buf_putc(b, ' ');
			put_escaped(b, cs->keys[k], strlen(cs->keys[k]));
			ttlog__buf_putc(b, '=');
			text_value(b, &f);
		}
		if (e->flags & TTLOG_EVENT_TRUNCATED)
			ttlog__buf_puts(b, " truncated=true");
		if (other_sender(bt->orig[e->origin]))
			text_origin(b, &bt->orig[e->origin]->pub);
		ttlog__buf_putc(b, '\n');
	}
	return b->oom ? TTLOG_ENOMEM : 0;
}

/* ---- JSON lines ---- */

/* Whether field key k is written with one more underscore: always for
 * the reserved names and for any of them behind underscores (msg -> _msg,
 * _msg -> __msg); for an origin key (host, service, input, peer, peer_id,
 * relay) when the event's object has that key, its bit in omask. Either
 * way keys map one to one and never onto a key the object has. */
static int reserved_key(const char *k, unsigned omask)
{
	static const char *const names[] = {"time", "level", "msg",	 "tid",
					    "file", "line",  "truncated"};
	static const char *const origin[TTLOG__ORIGIN_NFIELDS] = {
		"host", "service", "input", "peer", "peer_id", "relay"};
	while (*k == '_')
		k++;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(k, names[i]) == 0)
			return 1;
	for (int i = 0; omask != 0 && i < TTLOG__ORIGIN_NFIELDS; i++)
		if ((omask >> i & 1u) && strcmp(k, origin[i]) == 0)
			return 1;
	return 0;
}

/* Whether field k of cs has its key again later: then only the last one
 * is written, so that no object has a key twice (the inputs' parsers
 * already keep one per key; a log call or a forwarding ttlog may not). */
static int repeated_later(const struct ttlog_callsite *cs, unsigned k)
{
	for (unsigned j = k + 1; j < cs->nfields; j++)
		if (strcmp(cs->keys[j], cs->keys[k]) == 0)
			return 1;
	return 0;
}

/* The fields of cs not to write, for call sites of up to 64 fields: the
 * test is made once per run of events of one call site. */
static uint64_t repeated_mask(const struct ttlog_callsite *cs)
{
	uint64_t m = 0;

	for (unsigned k = 0; k < cs->nfields && k < 64; k++)
		if (repeated_later(cs, k))
			m |= (uint64_t)1 << k;
	return m;
}

static void json_value(struct ttlog__buf *b, const struct ttlog_field *f)
{
	switch (f->type) {
	case TTLOG_TYPE_I64:
		put_i64(b, f->v.i64);
		break;
	case TTLOG_TYPE_U64:
		put_u64(b, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		if (isnan(f->v.f64))
			ttlog__buf_puts(b, "\"NaN\"");
		else if (isinf(f->v.f64))
			ttlog__buf_puts(b, f->v.f64 > 0 ? "\"Infinity\""
							: "\"-Infinity\"");
		else
			put_double(b, f->v.f64);
		break;
	case TTLOG_TYPE_BOOL:
		ttlog__buf_puts(b, f->v.b ? "true" : "false");
		break;
	case TTLOG_TYPE_STR:
	default:
		put_jstr(b, f->v.str.ptr, f->v.str.len);
		break;
	}
}

/* ,"host":"web-1","service":"billing",... for the strings that are set;
 * returns which (bit i: string i). */
static unsigned json_origin(struct ttlog__buf *b, const struct ttlog_origin *o)
{
	unsigned mask = 0;

	static const char *const keys[TTLOG__ORIGIN_NFIELDS] = {
		",\"host\":", ",\"service\":", ",\"input\":",
		",\"peer\":", ",\"peer_id\":", ",\"relay\":"};

	for (int k = 0; k < TTLOG__ORIGIN_NFIELDS; k++) {
		const char *v = ttlog__origin_get(o, k);
		if (v[0] == 0)
			continue;
		ttlog__buf_puts(b, keys[k]);
		put_jstr(b, v, strlen(v));
		mask |= 1u << k;
	}
	return mask;
}

int ttlog__encode_jsonl(const struct ttlog_batch *bt, struct ttlog__buf *b)
{
	struct time_cache tc = {0};
	const struct ttlog_callsite *last = NULL;
	uint64_t skip = 0;

	for (size_t i = 0; i < bt->n; i++) {
		const struct ttlog__event *e = &bt->ev[i];
		const struct ttlog_callsite *cs = bt->cs[e->cs];
		const char *msg;
		size_t msg_len;
		const unsigned char *p =
			ttlog__event_bytes(bt, e, &msg, &msg_len);
		struct ttlog_field f = {0};

		ttlog__buf_puts(b, "{\"time\":\"");
		put_time(b, &tc, e->time_ns, 9);
		ttlog__buf_puts(b, "\",\"level\":\"");
		ttlog__buf_puts(b, ttlog_level_name(cs->level));
		ttlog__buf_putc(b, '"');
		unsigned omask = json_origin(b, &bt->orig[e->origin]->pub);
		ttlog__buf_puts(b, ",\"msg\":");
		put_jstr(b, msg, msg_len);
		if (cs->line != 0) {
			ttlog__buf_puts(b, ",\"tid\":");
			put_u64(b, e->tid);
			ttlog__buf_puts(b, ",\"file\":");
			put_jstr(b, cs->file, strlen(cs->file));
			ttlog__buf_puts(b, ",\"line\":");
			put_u64(b, cs->line);
		}
		if (cs != last) {
			skip = repeated_mask(cs);
			last = cs;
		}
		for (unsigned k = 0; k < cs->nfields; k++) {
			p = ttlog__value_decode(p, cs->types[k], &f);
			if (k < 64 ? (int)((skip >> k) & 1)
				   : repeated_later(cs, k))
				continue;
			ttlog__buf_puts(b, reserved_key(cs->keys[k], omask)
						   ? ",\"_"
						   : ",\"");
			put_escaped(b, cs->keys[k], strlen(cs->keys[k]));
			ttlog__buf_puts(b, "\":");
			json_value(b, &f);
		}
		if (e->flags & TTLOG_EVENT_TRUNCATED)
			ttlog__buf_puts(b, ",\"truncated\":true");
		ttlog__buf_puts(b, "}\n");
	}
	return b->oom ? TTLOG_ENOMEM : 0;
}
