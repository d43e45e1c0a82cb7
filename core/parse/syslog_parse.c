/*
 * syslog_parse.c - one syslog message (RFC 5424 or RFC 3164) into an
 * ingested event.
 *
 * What is accepted, exactly:
 *
 * Both forms start with <PRI>: '<', 1 to 3 digits with a value of 0 to 191
 * (leading zeros allowed), '>'. Without it the message is refused ("missing
 * <PRI> at byte 0", "invalid <PRI> at byte 1: ..."). Fields "facility"
 * (PRI / 8) and "severity" (PRI % 8), both u64; the level follows the
 * severity (ttlog__level_from_severity()).
 *
 * "1 " right after '>' selects RFC 5424:
 *   <PRI>1 SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
 *          [SP STRUCTURED-DATA [[SP] MSG]]
 * - Header fields are separated by exactly one SP and are 1 or more bytes
 *   other than SP; their RFC length limits are not enforced. "-" means
 *   absent. A missing header field is an error naming it and its byte.
 * - TIMESTAMP is "-" (time_ns 0) or RFC 3339 (ttlog__rfc3339_parse()).
 * - The message may end after MSGID (no SD, empty MSG).
 * - STRUCTURED-DATA is "-" or SD-ELEMENTs "[SD-ID *(SP PARAM="VALUE")]".
 *   SD-ID and PARAM-NAME are 1 to 32 bytes of '!' to '~' except '=', ']',
 *   '"' (RFC 5424 SD-NAME); extra spaces between params are skipped. In a
 *   VALUE, \" \\ and \] are unescaped, any other backslash is kept as it
 *   is, and an unescaped ']' is taken literally (senders forget to escape
 *   it; inside quotes it is unambiguous). Each param becomes a string
 *   field "SD-ID.PARAM-NAME". A repeated one (RFC 5424 allows it) keeps
 *   its last value, in the place of the first, and the event counts it
 *   (duplicate_keys), as in JSON lines. Anything other than
 *   '-' or '[' where SD belongs is taken as the start of MSG (no SD).
 * - MSG follows one SP, or directly when the sender left it out.
 *
 * Anything else after <PRI> is RFC 3164 and parsed leniently:
 *   <PRI>[TIMESTAMP SP+ [HOSTNAME SP+]] [TAG] MSG
 * - TIMESTAMP is "Mmm dd hh:mm:ss" (month name in any case; the day
 *   space-padded, zero-padded or one digit) in local time, the year being
 *   the current one, or the previous one when that would put the time more
 *   than a day in the future; or an RFC 3339 time as rsyslog sends. No
 *   valid timestamp: time_ns 0, and no HOSTNAME is looked for.
 * - TAG is NAME[PID] or NAME[PID]: (anything may follow), or NAME: followed
 *   by SP or the end (so an IPv6 host "fe80::1" is not taken for a tag).
 *   NAME is 1 to 128 bytes of '!' to '~' except ':', '[', ']'; PID 1 to
 *   128 bytes other than SP and ']'. One SP after the TAG is dropped.
 * - After a timestamp, a first word that is a TAG means the sender left
 *   out the HOSTNAME; otherwise the first word is the HOSTNAME and a TAG
 *   may follow. The RFC's own grammar is ambiguous here: a message
 *   without hostname or tag gives its first word as the host.
 * - Fields "host", "app" (the tag's NAME) and "procid" (PID), strings.
 *
 * In both forms a UTF-8 BOM at the start of MSG and every CR and LF at its
 * end are removed; its bytes are otherwise passed through unchecked.
 * More than TTLOG__IN_MAX_FIELDS fields: the first are kept and the event
 * is flagged truncated.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>
#include <time.h>

#include "errf.h"
#include "parse_internal.h"

#define SD_NAME_MAX 32
#define TAG_MAX 128

struct sp {
	const char *m;
	size_t n, i;
	struct ttlog__in_event *ev;
	struct ttlog__scratch *s;
	char *err;
	size_t errlen;
	struct ttlog__keyset keys; /* of the SD params */
};

static struct ttlog__in_field *field(struct ttlog__in_event *ev,
				     const char *key, size_t key_len)
{
	struct ttlog__in_field *f;

	if (ev->nfields >= TTLOG__IN_MAX_FIELDS) {
		ev->truncated = 1;
		return NULL;
	}
	f = &ev->fields[ev->nfields++];
	f->key = key;
	f->key_len = key_len;
	return f;
}

static void add_str(struct ttlog__in_event *ev, const char *key, const char *p,
		    size_t len)
{
	struct ttlog__in_field *f = field(ev, key, strlen(key));

	if (f != NULL) {
		f->type = TTLOG_TYPE_STR;
		f->v.str.ptr = p;
		f->v.str.len = len;
	}
}

/* A header field, unless it is the NILVALUE. */
static void add_hdr(struct ttlog__in_event *ev, const char *key, const char *p,
		    size_t len)
{
	if (!(len == 1 && p[0] == '-'))
		add_str(ev, key, p, len);
}

static void add_u64(struct ttlog__in_event *ev, const char *key, uint64_t v)
{
	struct ttlog__in_field *f = field(ev, key, strlen(key));

	if (f != NULL) {
		f->type = TTLOG_TYPE_U64;
		f->v.u64 = v;
	}
}

static void set_msg(struct ttlog__in_event *ev, const char *p, size_t len)
{
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3;
		len -= 3;
	}
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	ev->msg = p;
	ev->msg_len = len;
}

/* Length of the run of bytes other than SP at m + i. */
static size_t word(const struct sp *p, size_t i)
{
	size_t k = i;

	while (k < p->n && p->m[k] != ' ')
		k++;
	return k - i;
}

/* One RFC 5424 header field after its SP; -1 when it is missing. */
static int hdr(struct sp *p, const char *what, size_t *at, size_t *len)
{
	if (p->i >= p->n || p->m[p->i] != ' ') {
		ttlog__errf(p->err, p->errlen,
			    "byte %zu: expected a space before %s", p->i, what);
		return -1;
	}
	p->i++;
	*at = p->i;
	*len = word(p, p->i);
	if (*len == 0) {
		ttlog__errf(p->err, p->errlen, "byte %zu: expected %s", p->i,
			    what);
		return -1;
	}
	p->i += *len;
	return 0;
}

static int sd_name_char(unsigned char c)
{
	return c > ' ' && c <= '~' && c != '=' && c != ']' && c != '"';
}

/* An SD-NAME at m + i: its length, 0 when invalid. */
static size_t sd_name(const struct sp *p)
{
	size_t k = p->i;

	while (k < p->n && sd_name_char((unsigned char)p->m[k]) &&
	       k - p->i <= SD_NAME_MAX)
		k++;
	return k - p->i > SD_NAME_MAX ? 0 : k - p->i;
}

/* The PARAM-VALUE between the quotes at [a, b), unescaped into the
 * scratch when it holds a backslash. */
static void add_param(struct sp *p, const char *id, size_t id_len,
		      const char *name, size_t name_len, size_t a, size_t b)
{
	struct ttlog__scratch *s = p->s;
	struct ttlog__in_event *ev = p->ev;
	struct ttlog__in_field *f = NULL;
	char *key = s->p + s->len;
	size_t kl = id_len + 1 + name_len;
	uint32_t free_slot;

	memcpy(key, id, id_len);
	key[id_len] = '.';
	memcpy(key + id_len + 1, name, name_len);
	/* A repeated SD-ID.PARAM-NAME: the last value wins, in the place of
	 * the first (as in the JSON lines); the key written is dropped
	 * again, so that repeats take no room. Only SD fields have a '.'. */
	int at = ttlog__keyset_find(&p->keys, ev, key, kl, &free_slot);
	if (at >= 0) {
		f = &ev->fields[at];
		if (ev->duplicate_keys++ == 0) {
			ev->dup_key = f->key;
			ev->dup_key_len = kl;
		}
	} else {
		s->len += kl;
		f = field(ev, key, kl);
		if (f == NULL) {
			s->len -= kl;
			return;
		}
		ttlog__keyset_add(&p->keys, free_slot, ev->nfields - 1);
	}
	f->type = TTLOG_TYPE_STR;
	if (memchr(p->m + a, '\\', b - a) == NULL) {
		f->v.str.ptr = p->m + a;
		f->v.str.len = b - a;
		return;
	}
	f->v.str.ptr = s->p + s->len;
	for (size_t k = a; k < b; k++) {
		char c = p->m[k];
		if (c == '\\' && k + 1 < b &&
		    (p->m[k + 1] == '"' || p->m[k + 1] == '\\' ||
		     p->m[k + 1] == ']'))
			c = p->m[++k];
		s->p[s->len++] = c;
	}
	f->v.str.len = (size_t)(s->p + s->len - f->v.str.ptr);
}

static int sd_element(struct sp *p)
{
	const char *id;
	size_t id_len, name_at, name_len, a;

	p->i++; /* '[' */
	id = p->m + p->i;
	id_len = sd_name(p);
	if (id_len == 0) {
		ttlog__errf(p->err, p->errlen,
			    "byte %zu: invalid SD-ID (1 to 32 printable "
			    "characters but '=', ']', '\"')",
			    p->i);
		return -1;
	}
	p->i += id_len;
	for (;;) {
		while (p->i < p->n && p->m[p->i] == ' ')
			p->i++;
		if (p->i >= p->n) {
			ttlog__errf(p->err, p->errlen,
				    "byte %zu: unterminated SD-ELEMENT "
				    "(expected ']')",
				    p->i);
			return -1;
		}
		if (p->m[p->i] == ']') {
			p->i++;
			return 0;
		}
		if (p->m[p->i - 1] != ' ') {
			ttlog__errf(p->err, p->errlen,
				    "byte %zu: expected ' ' or ']' in "
				    "SD-ELEMENT",
				    p->i);
			return -1;
		}
		name_at = p->i;
		name_len = sd_name(p);
		if (name_len == 0) {
			ttlog__errf(p->err, p->errlen,
				    "byte %zu: invalid PARAM-NAME", p->i);
			return -1;
		}
		p->i += name_len;
		if (p->i + 1 >= p->n || p->m[p->i] != '=' ||
		    p->m[p->i + 1] != '"') {
			ttlog__errf(p->err, p->errlen,
				    "byte %zu: expected '=\"' after "
				    "PARAM-NAME",
				    p->i);
			return -1;
		}
		p->i += 2;
		a = p->i;
		while (p->i < p->n && p->m[p->i] != '"')
			p->i += p->m[p->i] == '\\' ? 2 : 1;
		if (p->i >= p->n) {
			ttlog__errf(p->err, p->errlen,
				    "byte %zu: unterminated PARAM-VALUE "
				    "(expected '\"')",
				    p->n);
			return -1;
		}
		add_param(p, id, id_len, p->m + name_at, name_len, a, p->i);
		p->i++;
	}
}

static int parse_5424(struct sp *p)
{
	static const char *const names[] = {"HOSTNAME", "APP-NAME", "PROCID",
					    "MSGID"};
	static const char *const keys[] = {"host", "app", "procid", "msgid"};
	size_t at, len;

	p->i += 2; /* "1 " */
	len = word(p, p->i);
	if (len == 0) {
		ttlog__errf(p->err, p->errlen, "byte %zu: expected TIMESTAMP",
			    p->i);
		return -1;
	}
	if (!(len == 1 && p->m[p->i] == '-') &&
	    ttlog__rfc3339_parse(p->m + p->i, len, &p->ev->time_ns) != len) {
		ttlog__errf(p->err, p->errlen,
			    "byte %zu: invalid TIMESTAMP (expected '-' or "
			    "RFC 3339 such as 2003-10-11T22:14:15.003Z)",
			    p->i);
		return -1;
	}
	p->i += len;
	for (int k = 0; k < 4; k++) {
		if (hdr(p, names[k], &at, &len) < 0)
			return -1;
		add_hdr(p->ev, keys[k], p->m + at, len);
	}
	if (p->i < p->n)
		p->i++; /* the SP that hdr() stopped at */
	if (p->i < p->n && p->m[p->i] == '-') {
		p->i++;
	} else {
		while (p->i < p->n && p->m[p->i] == '[')
			if (sd_element(p) < 0)
				return -1;
	}
	if (p->i < p->n && p->m[p->i] == ' ')
		p->i++;
	set_msg(p->ev, p->m + p->i, p->n - p->i);
	return 0;
}

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An RFC 3164 "Mmm dd hh:mm:ss" at p: its length and *ns, or 0. */
static size_t bsd_time(const char *p, size_t n, time_t now, uint64_t *ns)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	struct tm tm, cur;
	int mon = -1, day, h, mi, sec;
	size_t k;
	time_t t;

	if (n < 14 || p[3] != ' ')
		return 0;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, months + 3 * i, 3) == 0)
			mon = i;
	if (mon < 0)
		return 0;
	if (p[4] == ' ' && digit(p[5])) {
		day = p[5] - '0';
		k = 6;
	} else if (digit(p[4]) && digit(p[5])) {
		day = (p[4] - '0') * 10 + (p[5] - '0');
		k = 6;
	} else if (digit(p[4]) && p[5] == ' ') {
		day = p[4] - '0';
		k = 5;
	} else {
		return 0;
	}
	if (p[k] != ' ' || n - k - 1 < 8)
		return 0;
	k++;
	if (!digit(p[k]) || !digit(p[k + 1]) || p[k + 2] != ':' ||
	    !digit(p[k + 3]) || !digit(p[k + 4]) || p[k + 5] != ':' ||
	    !digit(p[k + 6]) || !digit(p[k + 7]))
		return 0;
	h = (p[k] - '0') * 10 + (p[k + 1] - '0');
	mi = (p[k + 3] - '0') * 10 + (p[k + 4] - '0');
	sec = (p[k + 6] - '0') * 10 + (p[k + 7] - '0');
	if (day < 1 || day > mdays[mon] || h > 23 || mi > 59 || sec > 60)
		return 0;
	if (localtime_r(&now, &cur) == NULL)
		return 0;
	/* The year is not in the message: this year, unless that is more
	 * than a day ahead (a December message read in January). */
	for (int back = 0; back < 2; back++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = cur.tm_year - back;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t != (time_t)-1 && t <= now + 86400)
			break;
	}
	*ns = t > 0 ? (uint64_t)t * 1000000000u : 0;
	return k + 8;
}

static int tag_char(unsigned char c)
{
	return c > ' ' && c <= '~' && c != ':' && c != '[' && c != ']';
}

/* A TAG at m + i: adds app and procid and returns its length with the SP
 * after it; 0 (nothing added) when there is none. */
static size_t tag(struct sp *p, size_t i)
{
	const char *m = p->m;
	size_t k = i, pid = 0, pid_len = 0;
	int colon = 0;

	while (k < p->n && tag_char((unsigned char)m[k]) && k - i < TAG_MAX)
		k++;
	if (k == i || (k < p->n && tag_char((unsigned char)m[k])))
		return 0;
	size_t name_len = k - i;
	if (k < p->n && m[k] == '[') {
		pid = ++k;
		while (k < p->n && m[k] != ']' && m[k] != ' ' &&
		       k - pid < TAG_MAX)
			k++;
		if (k >= p->n || m[k] != ']' || k == pid)
			return 0;
		pid_len = k++ - pid;
	}
	if (k < p->n && m[k] == ':') {
		colon = 1;
		k++;
	}
	if (!colon && pid_len == 0)
		return 0;
	if (pid_len == 0 && k < p->n && m[k] != ' ')
		return 0;
	if (pid_len != 0 && !colon && k < p->n && m[k] != ' ')
		return 0;
	add_str(p->ev, "app", m + i, name_len);
	if (pid_len != 0)
		add_str(p->ev, "procid", m + pid, pid_len);
	if (k < p->n && m[k] == ' ')
		k++;
	return k - i;
}

static void parse_3164(struct sp *p, time_t now)
{
	size_t k, t;

	k = ttlog__rfc3339_parse(p->m + p->i, p->n - p->i, &p->ev->time_ns);
	if (k == 0)
		k = bsd_time(p->m + p->i, p->n - p->i, now, &p->ev->time_ns);
	if (k != 0) {
		p->i += k;
		while (p->i < p->n && p->m[p->i] == ' ')
			p->i++;
		t = tag(p, p->i);
		if (t == 0) {
			k = word(p, p->i);
			if (k != 0)
				add_str(p->ev, "host", p->m + p->i, k);
			p->i += k;
			while (p->i < p->n && p->m[p->i] == ' ')
				p->i++;
			t = tag(p, p->i);
		}
	} else {
		t = tag(p, p->i);
	}
	p->i += t;
	set_msg(p->ev, p->m + p->i, p->n - p->i);
}

int ttlog__syslog_parse_at(const char *msg, size_t len, time_t now,
			   struct ttlog__in_event *ev, struct ttlog__scratch *s,
			   char *err, size_t errlen)
{
	struct sp p = {.m = msg,
		       .n = len,
		       .i = 1,
		       .ev = ev,
		       .s = s,
		       .err = err,
		       .errlen = errlen};
	unsigned pri = 0, nd = 0;

	ttlog__in_event_reset(ev, "syslog");
	if (len == 0 || msg[0] != '<') {
		ttlog__errf(err, errlen, "missing <PRI> at byte 0");
		return -1;
	}
	while (p.i < len && digit(msg[p.i]) && nd < 3) {
		pri = pri * 10 + (unsigned)(msg[p.i++] - '0');
		nd++;
	}
	if (nd == 0 || p.i >= len || msg[p.i] != '>') {
		ttlog__errf(err, errlen,
			    "invalid <PRI> at byte 1: expected 1 to 3 "
			    "digits and '>'");
		return -1;
	}
	if (pri > 191) {
		ttlog__errf(err, errlen,
			    "invalid <PRI> at byte 1: %u is above 191", pri);
		return -1;
	}
	p.i++;
	ev->level = ttlog__level_from_severity(pri & 7u);
	add_u64(ev, "facility", pri >> 3);
	add_u64(ev, "severity", pri & 7u);
	/* Room for every unescaped value (never longer than the message)
	 * and for the SD-ID.PARAM keys of the fields kept, up front: the
	 * event points into the scratch as it grows. */
	ttlog__scratch_reset(s);
	if (ttlog__scratch_reserve(s, len + (TTLOG__IN_MAX_FIELDS +
					     1) * (2 * SD_NAME_MAX + 1)) < 0) {
		ttlog__errf(err, errlen, "out of memory");
		return -1;
	}
	if (len - p.i >= 2 && msg[p.i] == '1' && msg[p.i + 1] == ' ')
		return parse_5424(&p);
	parse_3164(&p, now);
	return 0;
}

int ttlog__syslog_parse(const char *msg, size_t len, struct ttlog__in_event *ev,
			struct ttlog__scratch *s, char *err, size_t errlen)
{
	return ttlog__syslog_parse_at(msg, len, time(NULL), ev, s, err, errlen);
}
