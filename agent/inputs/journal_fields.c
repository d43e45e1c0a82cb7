/*
 * journal_fields.c - a journal entry's fields as an event, and the check
 * of `match` terms. Pure functions over the fields' bytes, so that the
 * mapping is tested without a journal.
 */
#include <stdio.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_journal.h"
#include "level.h"
#include "utf8.h"

/* Whether field f (NAME=value, n bytes) is NAME; sets its value. */
static int is_field(const char *f, size_t n, const char *name, const char **v,
		    size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || f[k] != '=' || memcmp(f, name, k) != 0)
		return 0;
	*v = f + k + 1;
	*vlen = n - k - 1;
	return 1;
}

/* PRIORITY as a level: one digit 0..7 (syslog severities), else info. */
static int level_of(const char *v, size_t n)
{
	if (n != 1 || v[0] < '0' || v[0] > '7')
		return TTLOG_LEVEL_INFO;
	return ttlog__level_from_severity((uint64_t)(v[0] - '0'));
}

/* The longest prefix of p (at most max bytes) that ends on a whole UTF-8
 * sequence. */
static size_t utf8_cut(const char *p, size_t n, size_t max)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = ttlog__utf8_next((const unsigned char *)p + i, n - i,
					    &cp);
		if (k == 0 || i + k > max)
			break;
		i += k;
	}
	return i;
}

/* Whether a field already holds this key (a journal entry may repeat a
 * field: the first value is kept). */
static int has_key(const struct ttlog__in_event *ev, const char *k, size_t n)
{
	for (uint32_t i = 0; i < ev->nfields; i++)
		if (ev->fields[i].key_len == n &&
		    memcmp(ev->fields[i].key, k, n) == 0)
			return 1;
	return 0;
}

void ttlog__journal_map(struct ttlog__in_event *ev, const void *const *data,
			const size_t *len, size_t n, uint64_t realtime_us,
			size_t max_message,
			struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS],
			struct ttlog__journal_skips *sk)
{
	const char *unit = NULL, *ident = NULL, *v;
	size_t unit_len = 0, ident_len = 0, vlen;

	memset(ev, 0, offsetof(struct ttlog__in_event, fields));
	ev->time_ns = realtime_us * 1000u;
	ev->level = TTLOG_LEVEL_INFO;
	ev->msg = "";
	ev->msg_varies = 1;
	ev->source = "journal";
	for (size_t i = 0; i < n; i++) {
		const char *f = data[i];
		const char *eq = memchr(f, '=', len[i]);
		if (eq == NULL || eq == f)
			continue; /* not NAME=value: not a field */
		size_t klen = (size_t)(eq - f);
		if (klen >= 2 && f[0] == '_' && f[1] == '_')
			continue;
		v = eq + 1;
		vlen = len[i] - klen - 1;
		int utf8 = ttlog__utf8_valid((const unsigned char *)v, vlen);
		if (is_field(f, len[i], "MESSAGE", &v, &vlen)) {
			if (!utf8) {
				sk->not_utf8++;
				continue;
			}
			ev->msg = v;
			ev->msg_len = vlen;
			if (vlen > max_message) {
				ev->msg_len = utf8_cut(v, vlen, max_message);
				ev->truncated = 1;
				sk->too_long++;
			}
			continue;
		}
		if (is_field(f, len[i], "PRIORITY", &v, &vlen)) {
			ev->level = level_of(v, vlen);
			continue;
		}
		if (!utf8) {
			sk->not_utf8++;
			continue;
		}
		if (vlen > max_message) {
			sk->too_long++;
			continue;
		}
		if (is_field(f, len[i], "_HOSTNAME", &v, &vlen) &&
		    org[TTLOG__ORIGIN_HOST].p == NULL) {
			org[TTLOG__ORIGIN_HOST].p = v;
			org[TTLOG__ORIGIN_HOST].len = vlen;
			continue;
		}
		if (is_field(f, len[i], "_SYSTEMD_UNIT", &v, &vlen))
			unit = v, unit_len = vlen;
		if (is_field(f, len[i], "SYSLOG_IDENTIFIER", &v, &vlen))
			ident = v, ident_len = vlen;
		if (has_key(ev, f, klen))
			continue;
		if (ev->nfields == TTLOG__IN_MAX_FIELDS) {
			sk->too_many++;
			ev->truncated = 1;
			continue;
		}
		struct ttlog__in_field *fl = &ev->fields[ev->nfields++];
		fl->key = f;
		fl->key_len = klen;
		fl->type = TTLOG_TYPE_STR;
		fl->v.str.ptr = eq + 1;
		fl->v.str.len = len[i] - klen - 1;
	}
	/* The unit names the service; a program outside any unit (or a
	 * user's) names itself by its syslog identifier. */
	if (unit != NULL) {
		org[TTLOG__ORIGIN_SERVICE].p = unit;
		org[TTLOG__ORIGIN_SERVICE].len = unit_len;
	} else if (ident != NULL) {
		org[TTLOG__ORIGIN_SERVICE].p = ident;
		org[TTLOG__ORIGIN_SERVICE].len = ident_len;
	}
}

/* A journal field name: A-Z, 0-9 and _, not starting with a digit, at
 * most 64 bytes (what journald accepts). */
static int field_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int ttlog__journal_match_check(const char *const *terms, size_t n, char *err,
			       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *t = terms[i];
		if (strcmp(t, "+") == 0) {
			if (i == 0 || i + 1 == n ||
			    strcmp(terms[i + 1], "+") == 0) {
				ttlog__errf(err, errlen,
					    "match[%zu]: \"+\" (or) must stand "
					    "between two terms",
					    i);
				return -1;
			}
			continue;
		}
		const char *eq = strchr(t, '=');
		if (eq == NULL || !field_name_ok(t, (size_t)(eq - t))) {
			ttlog__errf(err, errlen,
				    "match[%zu]: \"%s\" is not FIELD=value "
				    "(FIELD of A-Z, 0-9 and _, not starting "
				    "with a digit) nor \"+\"",
				    i, t);
			return -1;
		}
	}
	return 0;
}
