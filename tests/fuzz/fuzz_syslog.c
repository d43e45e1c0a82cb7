/* fuzz_syslog.c - the syslog input: arbitrary bytes are cut into messages
 * by ttlog__syslog_frame() as a TCP stream would be (a small max_msg, so
 * that the size limits are reached), and every message, and the whole
 * input as one message, goes through ttlog__syslog_parse(). The event's
 * invariants are checked (abort() on a violation, so that libFuzzer
 * reports it): above all that every string points into the message or
 * into the used part of the scratch. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_event.h"
#include "parse_internal.h"

#define MAX_MSG 512

static void check(int ok)
{
	if (!ok)
		abort();
}

static int inside(const char *p, size_t len, const char *base, size_t n)
{
	return len == 0 || (p >= base && p <= base + n && len <= n &&
			    (size_t)(p - base) <= n - len);
}

static void check_str(const char *p, size_t len, const char *m, size_t n,
		      const struct ttlog__scratch *s)
{
	check(p != NULL);
	check(inside(p, len, m, n) || inside(p, len, s->p, s->len));
}

static int header_key(const char *k, size_t n)
{
	static const char *const keys[] = {"host", "app", "procid", "msgid",
					   NULL};

	for (const char *const *p = keys; *p != NULL; p++)
		if (strlen(*p) == n && memcmp(k, *p, n) == 0)
			return 1;
	return 0;
}

static void parse(const char *m, size_t n, struct ttlog__scratch *s)
{
	struct ttlog__in_event ev;
	char err[128] = "";
	int r;

	/* A fixed "now" keeps runs reproducible: 2026-06-01T00:00:00Z. */
	r = ttlog__syslog_parse_at(m, n, (time_t)1780272000, &ev, s, err,
				   sizeof(err));
	check(r == 0 || r == -1);
	if (r < 0) {
		check(err[0] != '\0' && strlen(err) < sizeof(err));
		return;
	}
	check(strcmp(ev.source, "syslog") == 0);
	check(ev.level >= TTLOG_LEVEL_DEBUG && ev.level <= TTLOG_LEVEL_FATAL);
	check(ev.nfields >= 2 && ev.nfields <= TTLOG__IN_MAX_FIELDS);
	check(!ev.truncated || ev.nfields == TTLOG__IN_MAX_FIELDS);
	check(ev.msg_len <= n);
	check_str(ev.msg, ev.msg_len, m, n, s);
	check(ev.fields[0].type == TTLOG_TYPE_U64 && ev.fields[0].v.u64 < 24);
	check(ev.fields[1].type == TTLOG_TYPE_U64 && ev.fields[1].v.u64 < 8);
	for (uint32_t i = 2; i < ev.nfields; i++) {
		const struct ttlog__in_field *f = &ev.fields[i];
		check(f->key_len > 0);
		check(f->type == TTLOG_TYPE_STR);
		/* Header keys are literals; SD keys are built in the
		 * scratch. */
		check(inside(f->key, f->key_len, s->p, s->len) ||
		      header_key(f->key, f->key_len));
		check_str(f->v.str.ptr, f->v.str.len, m, n, s);
		check(f->v.str.len <= n);
	}
	/* One field per key: a repeated key keeps its last value. */
	check(fuzz_keys_distinct(&ev));
	check(s->len <= s->cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlog__scratch s = {0};
	const char *buf = (const char *)data, *m;
	size_t off = 0, mlen, used;
	char err[128];
	int r;

	while (off < size) {
		err[0] = '\0';
		r = ttlog__syslog_frame(buf + off, size - off, MAX_MSG, &m,
					&mlen, &used, err, sizeof(err));
		check(r >= -1 && r <= 1);
		if (r < 0) {
			check(err[0] != '\0');
			break;
		}
		check(used <= size - off);
		if (r == 0) {
			/* Only separators may be dropped without a message;
			 * then nothing is left or more is needed. */
			off += used;
			break;
		}
		check(used > 0 && mlen <= MAX_MSG);
		check(inside(m, mlen, buf + off, used));
		parse(m, mlen, &s);
		off += used;
	}
	/* Exact-size copy, so that reading past the end is caught. */
	char *copy = malloc(size ? size : 1);
	if (copy != NULL) {
		memcpy(copy, data, size);
		parse(copy, size, &s);
		free(copy);
	}
	ttlog__scratch_destroy(&s);
	return 0;
}
