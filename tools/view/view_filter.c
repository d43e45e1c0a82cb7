/*
 * view_filter.c - the event filters of ttlog-view and the parsing of
 * their option values (levels, times, key=value).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civil_time.h"
#include "level.h"
#include "origin_internal.h"
#include "view_filter.h"

#define NS 1000000000ull

void view_filter_init(struct view_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->level = TTLOG_LEVEL_TRACE;
}

void view_filter_destroy(struct view_filter *f)
{
	if (f->has_grep)
		regfree(&f->re);
	for (size_t i = 0; i < f->nfields; i++) {
		free(f->fields[i].key);
		free(f->fields[i].val);
	}
	free(f->fields);
	for (size_t i = 0; i < f->nservices; i++)
		free(f->services[i]);
	for (size_t i = 0; i < f->nhosts; i++)
		free(f->hosts[i]);
	free(f->services);
	free(f->hosts);
	view_buf_free(&f->msg);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------ */
/* Levels                                                               */
/* ------------------------------------------------------------------ */

int view_level_parse(const char *s)
{
	return ttlog__level_parse(s, strlen(s), 0);
}

int view_filter_set_level(struct view_filter *f, const char *name, char *err,
			  size_t errlen)
{
	int level = view_level_parse(name);
	char list[256];

	if (level < 0) {
		snprintf(err, errlen,
			 "unknown level \"%s\" (one of %s, or a synonym "
			 "docs/levels.md lists)",
			 name, ttlog__level_list(", ", 0, list, sizeof(list)));
		return -1;
	}
	f->level = level;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Times                                                                */
/* ------------------------------------------------------------------ */

/* Seconds since the epoch (may be negative) and nanoseconds into a
 * uint64 of nanoseconds, saturating at both ends. */
static uint64_t clamp_ns(int64_t sec, uint32_t ns)
{
	if (sec < 0)
		return 0;
	if ((uint64_t)sec > (UINT64_MAX - ns) / NS)
		return UINT64_MAX;
	return (uint64_t)sec * NS + ns;
}

/* The whole of s as an RFC 3339 date-time (any year from 0000 to 9999,
 * clamped to what a uint64 of nanoseconds holds). */
static int rfc3339(const char *s, uint64_t *out)
{
	struct ttlog__rfc3339 t;
	size_t n = strlen(s), len = ttlog__rfc3339_scan(s, n, &t);

	if (len == 0 || len != n)
		return -1;
	*out = clamp_ns(ttlog__rfc3339_epoch(&t), t.frac_ns);
	return 0;
}

int view_time_parse(const char *s, uint64_t now_ns, uint64_t *out, char *err,
		    size_t errlen)
{
	static const struct {
		char unit;
		uint64_t sec;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	const char *p = s;
	uint64_t n = 0;

	if (isdigit((unsigned char)*p) && strchr(s, '-') == NULL &&
	    strchr(s, ':') == NULL) {
		for (; isdigit((unsigned char)*p); p++) {
			if (n > (UINT64_MAX - 9) / 10)
				goto bad_rel;
			n = n * 10 + (uint64_t)(*p - '0');
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (p[0] != units[i].unit || p[1] != '\0')
				continue;
			if (n > UINT64_MAX / NS / units[i].sec)
				n = UINT64_MAX; /* longer than the epoch */
			else
				n *= units[i].sec * NS;
			*out = n >= now_ns ? 0 : now_ns - n;
			return 0;
		}
	bad_rel:
		snprintf(err, errlen,
			 "\"%s\" is not a duration such as 30s, 10m, 2h or "
			 "1d",
			 s);
		return -1;
	}
	if (rfc3339(s, out) != 0) {
		snprintf(err, errlen,
			 "\"%s\" is not an RFC 3339 time such as "
			 "2026-11-25T20:31:38Z or 2026-11-25T21:31:38.5+01:00 "
			 "(the zone is required), nor a duration such as 10m",
			 s);
		return -1;
	}
	return 0;
}

int view_filter_set_since(struct view_filter *f, const char *s, uint64_t now_ns,
			  char *err, size_t errlen)
{
	if (view_time_parse(s, now_ns, &f->since_ns, err, errlen) != 0)
		return -1;
	f->has_since = 1;
	return 0;
}

int view_filter_set_until(struct view_filter *f, const char *s, uint64_t now_ns,
			  char *err, size_t errlen)
{
	if (view_time_parse(s, now_ns, &f->until_ns, err, errlen) != 0)
		return -1;
	f->has_until = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Regex, fields, service, host                                           */
/* ------------------------------------------------------------------ */

int view_filter_set_grep(struct view_filter *f, const char *re, char *err,
			 size_t errlen)
{
	int rc;

	if (f->has_grep) {
		regfree(&f->re);
		f->has_grep = 0;
	}
	rc = regcomp(&f->re, re, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];
		regerror(rc, &f->re, why, sizeof(why));
		snprintf(err, errlen, "bad regular expression \"%s\": %s", re,
			 why);
		return -1;
	}
	f->has_grep = 1;
	return 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int view_filter_add_field(struct view_filter *f, const char *kv, char *err,
			  size_t errlen)
{
	const char *eq = strchr(kv, '=');
	struct view_field_match *m;
	char *end;

	if (eq == NULL || eq == kv) {
		snprintf(err, errlen, "\"%s\" is not key=value", kv);
		return -1;
	}
	m = realloc(f->fields, (f->nfields + 1) * sizeof(*m));
	if (m == NULL)
		goto oom;
	f->fields = m;
	m = &f->fields[f->nfields];
	memset(m, 0, sizeof(*m));
	m->key_len = (size_t)(eq - kv);
	m->val_len = strlen(eq + 1);
	m->key = dup_n(kv, m->key_len);
	m->val = dup_n(eq + 1, m->val_len);
	if (m->key == NULL || m->val == NULL) {
		free(m->key);
		free(m->val);
		goto oom;
	}
	errno = 0;
	m->num = strtod(m->val, &end);
	m->is_num = m->val_len > 0 && *end == '\0' &&
		    !isspace((unsigned char)m->val[0]);
	f->nfields++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Appends a copy of name to the list *names of *n. */
static int add_name(char ***names, size_t *n, const char *name, char *err,
		    size_t errlen)
{
	char **l = realloc(*names, (*n + 1) * sizeof(*l));

	if (l != NULL)
		*names = l;
	if (l == NULL || (l[*n] = dup_n(name, strlen(name))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	++*n;
	return 0;
}

int view_filter_add_service(struct view_filter *f, const char *name, char *err,
			    size_t errlen)
{
	return add_name(&f->services, &f->nservices, name, err, errlen);
}

int view_filter_add_host(struct view_filter *f, const char *name, char *err,
			 size_t errlen)
{
	return add_name(&f->hosts, &f->nhosts, name, err, errlen);
}

/* Whether origin string `which` of ev (else the file's, else "") is one
 * of the n names. */
static int name_matches(char *const *names, size_t n,
			const struct ttlog__in_event *ev, int which,
			const struct view_str *file)
{
	const char *s = "";
	size_t len = 0;

	if (ev->origin != NULL)
		s = ttlog__origin_get(&ev->origin->pub, which);
	len = strlen(s);
	if (len == 0 && file != NULL) {
		s = file->p;
		len = file->len;
	}
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len &&
		    (len == 0 || memcmp(names[i], s, len) == 0))
			return 1;
	return 0;
}

/* Whether field value v has the text form (or number) m asks for. */
static int value_matches(const struct view_field_match *m,
			 const struct ttlog__in_field *v)
{
	char tmp[32];

	switch (v->type) {
	case TTLOG_TYPE_I64:
		snprintf(tmp, sizeof(tmp), "%" PRId64, v->v.i64);
		break;
	case TTLOG_TYPE_U64:
		snprintf(tmp, sizeof(tmp), "%" PRIu64, v->v.u64);
		break;
	case TTLOG_TYPE_BOOL:
		snprintf(tmp, sizeof(tmp), "%s", v->v.b ? "true" : "false");
		break;
	case TTLOG_TYPE_F64:
		if (!m->is_num)
			return 0;
		if (isnan(v->v.f64))
			return isnan(m->num);
		return v->v.f64 == m->num;
	case TTLOG_TYPE_STR:
	default:
		return v->v.str.len == m->val_len &&
		       (m->val_len == 0 ||
			memcmp(v->v.str.ptr, m->val, m->val_len) == 0);
	}
	return strcmp(tmp, m->val) == 0;
}

static int field_matches(const struct view_field_match *m,
			 const struct ttlog__in_event *ev)
{
	/* A key the event has twice matches when either value does. */
	for (uint32_t i = 0; i < ev->nfields; i++) {
		const struct ttlog__in_field *fl = &ev->fields[i];
		if (fl->key_len == m->key_len &&
		    memcmp(fl->key, m->key, m->key_len) == 0 &&
		    value_matches(m, fl))
			return 1;
	}
	return 0;
}

static int grep_matches(struct view_filter *f, const char *msg, size_t len)
{
	struct view_buf *b = &f->msg;

	/* regexec() wants a C string; a NUL inside the message ends the
	 * text it searches. */
	if (view_buf_reserve(b, len + 1) != 0)
		return -1;
	if (len > 0)
		memcpy(b->p, msg, len);
	b->p[len] = '\0';
	return regexec(&f->re, b->p, 0, NULL, 0) == 0;
}

int view_filter_match(struct view_filter *f, const struct ttlog__in_event *ev,
		      const struct view_str *service,
		      const struct view_str *host)
{
	if (f->nservices > 0 && !name_matches(f->services, f->nservices, ev,
					      TTLOG__ORIGIN_SERVICE, service))
		return 0;
	if (f->nhosts > 0 &&
	    !name_matches(f->hosts, f->nhosts, ev, TTLOG__ORIGIN_HOST, host))
		return 0;
	if (ev->level < f->level)
		return 0;
	if (f->has_since && ev->time_ns < f->since_ns)
		return 0;
	if (f->has_until && ev->time_ns > f->until_ns)
		return 0;
	for (size_t i = 0; i < f->nfields; i++)
		if (!field_matches(&f->fields[i], ev))
			return 0;
	if (f->has_grep)
		return grep_matches(f, ev->msg, ev->msg_len);
	return 1;
}
