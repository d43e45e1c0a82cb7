/*
 * fmt_syslog.c - one event as an octet-counted RFC 5424 message (fmt.h).
 *
 * The output is written straight into the caller's buffer: every piece
 * first makes room for the most it can take (a string of n bytes takes at
 * most 3n: an escaped ASCII byte becomes two, an invalid byte the three of
 * U+FFFD), then is written without further checks.
 *
 * The octet count comes first but is only known at the end. Room for a
 * three-digit count is left in front of the message (most messages are 100
 * to 999 bytes long); when the count has another width the message is
 * moved once.
 *
 * Per thread, the formatted "YYYY-MM-DDTHH:MM:SS" of the last second seen
 * is kept, and so are this host's name and the process id when the caller
 * did not give them; the latter are looked up again whenever the second
 * changes, so a renamed host or a forked child shows up within a second.
 *
 * An agent relaying syslog must not pass every message off as its own: a
 * collector that files messages by HOSTNAME or APP-NAME would put them all
 * under the relay. So for an event of the agent's syslog input (its file
 * is "syslog") the header is rebuilt from the fields its parser made of
 * the original one: PRI from "facility" and "severity", HOSTNAME, APP-NAME,
 * PROCID and MSGID from "host", "app", "procid" and "msgid" (HOSTNAME
 * and APP-NAME from the event's origin, where the input keeps them). A missing
 * HOSTNAME is the relay's (RFC 5424 lets a relay fill in the host it
 * received from); a missing APP-NAME, PROCID or MSGID is "-", since the
 * relay's own would name a program or process of another host. The fields
 * that went into the header are left out of the structured data, where
 * they would only repeat it; everything else stays. One pass over the
 * fields finds them before the header is written, and only for such
 * events: an application's event costs one string comparison more.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "civil_time.h"
#include "crc32c.h"
#include "dtoa.h"
#include "fmt.h"
#include "utf8.h"

#define HOST_MAX 255
#define APP_MAX 48
#define PROCID_MAX 128
#define MSGID_MAX 32
#define SD_NAME_MAX 32
#define GUESS_DIGITS 3 /* width of the octet count room is left for */

static const char default_sd_id[] = "fields@32473";
static const char default_src_id[] = "src@32473";
static const char default_app[] = "ttlog";
/* The file of the agent's syslog input's events: the source that
 * core/parse/syslog_parse.c sets (and test_fmt_syslog.c checks through
 * the parser itself). */
static const char syslog_source[] = "syslog";
static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

struct tcache {
	int ts_valid;
	uint64_t ts_sec;
	char ts[TTLOG__RFC3339_SECONDS_LEN]; /* YYYY-MM-DDTHH:MM:SS */
	int sys_valid;
	uint64_t sys_sec;
	size_t host_len, pid_len;
	char host[HOST_MAX];
	char pid[24];
};

static _Thread_local struct tcache tc;

/* ------------------------------------------------------------------ */
/* buffer                                                               */
/* ------------------------------------------------------------------ */

/* Room for n more bytes after out->len: where they go, or NULL. */
static char *room(struct ttlog__fmt_buf *out, size_t n)
{
	char *p;

	if (out->cap - out->len >= n)
		return out->p + out->len;
	if (n > SIZE_MAX / 2 - out->len)
		return NULL;
	p = ttlog__grow(out->p, &out->cap, out->len + n, 1, 256);
	if (p == NULL)
		return NULL;
	out->p = p;
	return p + out->len;
}

/* Room for a string of n bytes written with put_text() plus extra. */
static char *room_text(struct ttlog__fmt_buf *out, size_t n, size_t extra)
{
	if (n > (SIZE_MAX - extra) / 3)
		return NULL;
	return room(out, 3 * n + extra);
}

void ttlog__fmt_buf_free(struct ttlog__fmt_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* small writers                                                        */
/* ------------------------------------------------------------------ */

static size_t digits(size_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* A double as fmt.h says (ttlog__dtoa); NaN and the infinities get the
 * names JSON tools use. */
static char *put_f64(char *w, double d)
{
	if (isnan(d)) {
		memcpy(w, "NaN", 3);
		return w + 3;
	}
	if (isinf(d)) {
		if (d < 0)
			*w++ = '-';
		memcpy(w, "Infinity", 8);
		return w + 8;
	}
	return ttlog__dtoa(w, d);
}

/*
 * n bytes of s as valid UTF-8, at most 3n bytes. With esc, '"', '\' and
 * ']' get a backslash in front (PARAM-VALUE).
 */
static char *put_text(char *w, const char *str, size_t n, int esc)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, bad;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (esc && (c == '"' || c == '\\' || c == ']'))
				*w++ = '\\';
			*w++ = (char)c;
			i++;
			continue;
		}
		/* A bad sequence becomes one U+FFFD per maximal subpart. */
		k = ttlog__utf8_decode(s + i, n - i, &cp, &bad);
		if (k != 0) {
			memcpy(w, s + i, k);
			w += k;
			i += k;
		} else {
			memcpy(w, replacement, 3);
			w += 3;
			i += bad;
		}
	}
	return w;
}

/* Printable US-ASCII (33 to 126), the bytes of the header fields. */
static int print_ascii(unsigned char c)
{
	return c > ' ' && c <= '~';
}

/* RFC 5424 SD-NAME bytes: printable US-ASCII but '=', ']' and '"'. */
static int sd_name_char(unsigned char c)
{
	return print_ascii(c) && c != '=' && c != ']' && c != '"';
}

/* s as a header field: at most max bytes, others '_', "-" when empty. */
static char *put_hdr(char *w, const char *s, size_t n, size_t max)
{
	if (n == 0) {
		*w++ = '-';
		return w;
	}
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		*w++ = print_ascii(c) ? (char)c : '_';
	}
	return w;
}

/* Whether s (n bytes) ends like a renamed key: '~' and 8 lowercase hex
 * digits. */
static int looks_renamed(const char *s, size_t n)
{
	if (n < 9 || s[n - 9] != '~')
		return 0;
	for (size_t i = n - 8; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Whether key s (n bytes) is written as it is: 1 to 32 SD-NAME bytes, not
 * ending like a renamed key. */
static int sd_name_as_is(const char *s, size_t n)
{
	if (n == 0 || n > SD_NAME_MAX || looks_renamed(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!sd_name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Key s (NUL-terminated) as a PARAM-NAME. A valid name is written as it
 * is, unless it ends like a renamed one; any other key is renamed to its
 * first SD_RENAME_KEEP bytes (each byte that is not an SD-NAME byte made
 * '_'), '~' and the 8 lowercase hex digits of the CRC-32C of the whole
 * key: at most 32 bytes, never equal to a name written as it is, and two
 * renamed keys meet only if their first bytes and CRCs do (two keys of
 * one length that differ only within 4 consecutive bytes never share a
 * CRC). Sets *renamed when it renamed.
 */
#define SD_RENAME_KEEP 23
static char *put_sd_name(char *w, const char *s, int *renamed)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s);
	uint32_t crc;

	if (sd_name_as_is(s, n)) {
		memcpy(w, s, n);
		return w + n;
	}
	*renamed = 1;
	for (size_t i = 0; i < SD_RENAME_KEEP && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		*w++ = sd_name_char(c) ? (char)c : '_';
	}
	ttlog__crc32c_init();
	crc = ttlog__crc32c(0, (const unsigned char *)s, n);
	*w++ = '~';
	for (int k = 28; k >= 0; k -= 4)
		*w++ = hex[(crc >> k) & 15];
	return w;
}

/* An SD-ID: at most 32 bytes, others '_', "_" when empty. The SD-IDs are
 * the listener's own (sd_id), not the events' keys. */
static char *put_sd_id(char *w, const char *s)
{
	size_t i = 0;

	for (; i < SD_NAME_MAX && s[i] != 0; i++) {
		unsigned char c = (unsigned char)s[i];
		*w++ = sd_name_char(c) ? (char)c : '_';
	}
	if (i == 0)
		*w++ = '_';
	return w;
}

/* ------------------------------------------------------------------ */
/* time, host, pid                                                      */
/* ------------------------------------------------------------------ */

static void cache_second(uint64_t ns)
{
	ttlog__rfc3339_seconds(tc.ts, ns);
	tc.ts_sec = ns / 1000000000u;
	tc.ts_valid = 1;
}

static void cache_system(uint64_t sec)
{
	char host[HOST_MAX + 1];

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = 0;
	host[HOST_MAX] = 0;
	tc.host_len = strlen(host);
	memcpy(tc.host, host, tc.host_len);
	tc.pid_len =
		(size_t)(ttlog__u64toa(tc.pid, (uint64_t)getpid()) - tc.pid);
	tc.sys_sec = sec;
	tc.sys_valid = 1;
}

/* ------------------------------------------------------------------ */
/* the message                                                          */
/* ------------------------------------------------------------------ */

static unsigned severity(unsigned level)
{
	switch (level) {
	case TTLOG_LEVEL_TRACE:
	case TTLOG_LEVEL_DEBUG:
		return 7;
	case TTLOG_LEVEL_WARN:
		return 4;
	case TTLOG_LEVEL_ERROR:
		return 3;
	case TTLOG_LEVEL_FATAL:
		return 2;
	case TTLOG_LEVEL_INFO:
	default:
		return 6;
	}
}

static int empty(const char *s)
{
	return s == NULL || s[0] == 0;
}

/* The fields of a relayed syslog message that its header is made of, in
 * the order of the arrays below. */
enum { RH_HOST, RH_APP, RH_PROCID, RH_MSGID, RH_FACILITY, RH_SEVERITY, RH_N };

#define RH_NONE UINT32_MAX

/* The original header of a relayed syslog message (relayed_header()). */
struct relayed {
	const char *s[RH_MSGID + 1]; /* NULL: absent, use the default */
	size_t n[RH_MSGID + 1];
	int pri; /* -1: not both of facility and severity, or out of range */
	/* The index among the event's fields of each field that went into
	 * the header, RH_NONE for those that did not. */
	uint32_t at[RH_N];
};

/* Which header field a key names, or -1. One strcmp() at most: this runs
 * for every field of every relayed message. */
static int header_key(const char *k)
{
	switch (k[0]) {
	case 'h':
		return strcmp(k, "host") == 0 ? RH_HOST : -1;
	case 'a':
		return strcmp(k, "app") == 0 ? RH_APP : -1;
	case 'p':
		return strcmp(k, "procid") == 0 ? RH_PROCID : -1;
	case 'm':
		return strcmp(k, "msgid") == 0 ? RH_MSGID : -1;
	case 'f':
		return strcmp(k, "facility") == 0 ? RH_FACILITY : -1;
	case 's':
		return strcmp(k, "severity") == 0 ? RH_SEVERITY : -1;
	default:
		return -1;
	}
}

/*
 * The first usable field of each header key of a syslog input's event:
 * a non-empty string for the names, an integer for the numbers (the
 * parser makes u64s; i64 is taken too, as long as it is not negative).
 * Facility and severity count only together and in range (0..23, 0..7);
 * otherwise both stay fields and PRI is the relay's own.
 */
static void relayed_header(const struct ttlog_event *ev, struct relayed *r)
{
	struct ttlog_field_iter it;
	struct ttlog_field fl;
	uint64_t num[2] = {0, 0};
	uint32_t i = 0;
	int k;

	for (k = 0; k < RH_N; k++)
		r->at[k] = RH_NONE;
	for (k = 0; k <= RH_MSGID; k++) {
		r->s[k] = NULL;
		r->n[k] = 0;
	}
	ttlog_field_iter_init(&it, ev);
	for (; ttlog_field_next(&it, &fl); i++) {
		k = header_key(fl.key);
		if (k < 0 || r->at[k] != RH_NONE)
			continue;
		if (k >= RH_FACILITY) {
			if (fl.type == TTLOG_TYPE_U64)
				num[k - RH_FACILITY] = fl.v.u64;
			else if (fl.type == TTLOG_TYPE_I64 && fl.v.i64 >= 0)
				num[k - RH_FACILITY] = (uint64_t)fl.v.i64;
			else
				continue;
		} else {
			if (fl.type != TTLOG_TYPE_STR || fl.v.str.len == 0)
				continue;
			r->s[k] = fl.v.str.ptr;
			r->n[k] = fl.v.str.len;
		}
		r->at[k] = i;
	}
	if (r->at[RH_FACILITY] != RH_NONE && r->at[RH_SEVERITY] != RH_NONE &&
	    num[0] <= 23 && num[1] <= 7) {
		r->pri = (int)(num[0] * 8 + num[1]);
	} else {
		r->pri = -1;
		r->at[RH_FACILITY] = r->at[RH_SEVERITY] = RH_NONE;
	}
}

/* Whether field i went into the header. */
static int in_header(const struct relayed *r, uint32_t i)
{
	for (int k = 0; k < RH_N; k++)
		if (r->at[k] == i)
			return 1;
	return 0;
}

/*
 * Everything up to and including the SP before STRUCTURED-DATA. r, when
 * not NULL, is the original header of a relayed syslog message; what it
 * has takes the place of the configured values and the defaults.
 */
static char *put_header(char *w, const struct ttlog__syslog_fmt *f,
			const struct ttlog_event *ev, const struct relayed *r,
			const struct ttlog_origin *o)
{
	uint64_t sec = ev->time_ns / 1000000000u;
	int fac = f != NULL ? f->facility : 1;
	const char *host = f != NULL ? f->hostname : NULL;
	const char *app = f != NULL ? f->app_name : NULL;

	/* Unless configured, the sender's own names (its origin). */
	if (empty(host) && o != NULL)
		host = o->host;
	if (empty(app) && o != NULL)
		app = o->service;
	const char *procid = f != NULL ? f->procid : NULL;
	int own_host = r == NULL || r->s[RH_HOST] == NULL;
	int own_procid = r == NULL;

	if (fac < 0 || fac > 23)
		fac = 1;
	if (((own_host && empty(host)) || (own_procid && empty(procid))) &&
	    (!tc.sys_valid || tc.sys_sec != sec))
		cache_system(sec);
	if (!tc.ts_valid || tc.ts_sec != sec)
		cache_second(ev->time_ns);

	*w++ = '<';
	if (r != NULL && r->pri >= 0)
		w = ttlog__u64toa(w, (uint64_t)r->pri);
	else
		w = ttlog__u64toa(w, (uint64_t)fac * 8 + severity(ev->level));
	memcpy(w, ">1 ", 3);
	w += 3;
	memcpy(w, tc.ts, sizeof(tc.ts));
	w += sizeof(tc.ts);
	w += ttlog__rfc3339_tail(w, ev->time_ns, 6);
	*w++ = ' ';
	if (!own_host)
		w = put_hdr(w, r->s[RH_HOST], r->n[RH_HOST], HOST_MAX);
	else if (empty(host))
		w = put_hdr(w, tc.host, tc.host_len, HOST_MAX);
	else
		w = put_hdr(w, host, strlen(host), HOST_MAX);
	*w++ = ' ';
	if (r != NULL && r->s[RH_APP] != NULL) {
		w = put_hdr(w, r->s[RH_APP], r->n[RH_APP], APP_MAX);
	} else if (r != NULL) {
		*w++ = '-'; /* the original had none: not ours to invent */
	} else {
		if (empty(app))
			app = default_app;
		w = put_hdr(w, app, strlen(app), APP_MAX);
	}
	*w++ = ' ';
	if (!own_procid)
		w = put_hdr(w, r->s[RH_PROCID], r->n[RH_PROCID], PROCID_MAX);
	else if (r != NULL)
		*w++ = '-'; /* the relay's pid would name another process */
	else if (empty(procid))
		w = put_hdr(w, tc.pid, tc.pid_len, PROCID_MAX);
	else
		w = put_hdr(w, procid, strlen(procid), PROCID_MAX);
	*w++ = ' ';
	if (r != NULL && r->s[RH_MSGID] != NULL)
		w = put_hdr(w, r->s[RH_MSGID], r->n[RH_MSGID], MSGID_MAX);
	else
		*w++ = '-';
	*w++ = ' ';
	return w;
}

/* One field as SP PARAM-NAME="PARAM-VALUE"; -1 when out of memory. */
static int put_field(struct ttlog__fmt_buf *out, const struct ttlog_field *fl)
{
	size_t n = fl->type == TTLOG_TYPE_STR ? fl->v.str.len : 0;
	char *w = room_text(out, n, 2 + SD_NAME_MAX + 2 + 40 + 1);

	if (w == NULL)
		return -1;
	int renamed = 0;

	*w++ = ' ';
	w = put_sd_name(w, fl->key, &renamed);
	if (renamed) {
		out->renamed++;
		out->renamed_key = fl->key;
	}
	*w++ = '=';
	*w++ = '"';
	switch (fl->type) {
	case TTLOG_TYPE_I64:
		w = ttlog__i64toa(w, fl->v.i64);
		break;
	case TTLOG_TYPE_U64:
		w = ttlog__u64toa(w, fl->v.u64);
		break;
	case TTLOG_TYPE_F64:
		w = put_f64(w, fl->v.f64);
		break;
	case TTLOG_TYPE_BOOL:
		if (fl->v.b) {
			memcpy(w, "true", 4);
			w += 4;
		} else {
			memcpy(w, "false", 5);
			w += 5;
		}
		break;
	case TTLOG_TYPE_STR:
		w = put_text(w, fl->v.str.ptr, n, 1);
		break;
	default: /* a type newer than this code: an empty value */
		break;
	}
	*w++ = '"';
	out->len = (size_t)(w - out->p);
	return 0;
}

/* The SD-ID of the fields' element, and that of the source element: "src"
 * with the fields' "@enterprise" part, or src@32473. */
static void sd_ids(const struct ttlog__syslog_fmt *f, char *id, size_t *id_len,
		   char *src, size_t *src_len)
{
	const char *s =
		f != NULL && !empty(f->sd_id) ? f->sd_id : default_sd_id;
	const char *at;

	*id_len = (size_t)(put_sd_id(id, s) - id);
	at = memchr(id, '@', *id_len);
	if (at != NULL && at + 1 < id + *id_len &&
	    3 + (size_t)(id + *id_len - at) <= SD_NAME_MAX) {
		memcpy(src, "src", 3);
		memcpy(src + 3, at, (size_t)(id + *id_len - at));
		*src_len = 3 + (size_t)(id + *id_len - at);
	} else {
		*src_len = sizeof(default_src_id) - 1;
		memcpy(src, default_src_id, *src_len);
	}
}

int ttlog__fmt_syslog_event(const struct ttlog__syslog_fmt *f,
			    const struct ttlog_event *ev,
			    const struct ttlog_origin *o,
			    struct ttlog__fmt_buf *out)
{
	const size_t start = out->len;
	char id[SD_NAME_MAX], src[SD_NAME_MAX];
	size_t id_len, src_len, body, nd, flen, mlen;
	struct ttlog_field_iter it;
	struct ttlog_field fl;
	struct relayed rel, *r = NULL;
	const char *file = ev->file != NULL ? ev->file : "";
	const char *msg = ev->msg != NULL ? ev->msg : "";
	int first = 1;
	uint32_t i = 0;
	char *w;

	if (file[0] == syslog_source[0] && strcmp(file, syslog_source) == 0) {
		relayed_header(ev, &rel);
		/* The input keeps HOSTNAME and APP-NAME as the origin. */
		if (o != NULL && o->host[0] != 0) {
			rel.s[RH_HOST] = o->host;
			rel.n[RH_HOST] = strlen(o->host);
		}
		if (o != NULL && o->service[0] != 0) {
			rel.s[RH_APP] = o->service;
			rel.n[RH_APP] = strlen(o->service);
		}
		r = &rel;
	}
	/* The count, the header, and the opening of the fields' element. */
	w = room(out, GUESS_DIGITS + 1 + 16 + 2 + 27 + HOST_MAX + APP_MAX +
			      PROCID_MAX + MSGID_MAX + 8 + 1 + SD_NAME_MAX);
	if (w == NULL)
		return -1;
	w = put_header(w + GUESS_DIGITS + 1, f, ev, r, o);
	out->len = (size_t)(w - out->p);

	sd_ids(f, id, &id_len, src, &src_len);
	ttlog_field_iter_init(&it, ev);
	for (; ttlog_field_next(&it, &fl); i++) {
		if (r != NULL && in_header(r, i))
			continue;
		if (first) {
			/* room() above left space for this */
			w = out->p + out->len;
			*w++ = '[';
			memcpy(w, id, id_len);
			out->len += 1 + id_len;
			first = 0;
		}
		if (put_field(out, &fl) != 0)
			goto nomem;
	}

	flen = strlen(file);
	mlen = strlen(msg);
	if (flen > SIZE_MAX / 4 || mlen > SIZE_MAX / 4)
		goto nomem;
	w = room_text(out, flen + mlen,
		      2 + 1 + SD_NAME_MAX + 8 + 9 + 10 + 2 + 2 + 16);
	if (w == NULL)
		goto nomem;
	if (!first)
		*w++ = ']';
	*w++ = '[';
	memcpy(w, src, src_len);
	w += src_len;
	memcpy(w, " file=\"", 7);
	w = put_text(w + 7, file, flen, 1);
	memcpy(w, "\" line=\"", 8);
	w = ttlog__u64toa(w + 8, ev->line);
	*w++ = '"';
	*w++ = ']';
	if (mlen != 0) {
		*w++ = ' ';
		w = put_text(w, msg, mlen, 0);
	}
	out->len = (size_t)(w - out->p);

	/* The octet count, now that it is known. */
	body = out->len - start - (GUESS_DIGITS + 1);
	nd = digits(body);
	if (nd != GUESS_DIGITS) {
		if (nd > GUESS_DIGITS && room(out, nd - GUESS_DIGITS) == NULL)
			goto nomem;
		memmove(out->p + start + nd + 1,
			out->p + start + GUESS_DIGITS + 1, body);
		out->len = start + nd + 1 + body;
	}
	w = ttlog__u64toa(out->p + start, body);
	*w = ' ';
	return 0;
nomem:
	out->len = start;
	return -1;
}
