/* fuzz_jsonl.c - the JSON-lines input: arbitrary bytes are parsed as one
 * line, and again line by line as the input would read a stream. The
 * event's invariants are checked (abort() on a violation, so that
 * libFuzzer reports it): every string points into the line or into the
 * used part of the scratch, every error names a byte inside the line, and
 * a line that parses parses the same with a line end added, and no key
 * is in two fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_event.h"
#include "parse_internal.h"

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

/* Parses an exact-size copy of line; returns nfields, or -1. */
static int parse(const char *line, size_t n, struct ttlog__scratch *s)
{
	struct ttlog__in_event ev;
	char err[128] = "", *copy = malloc(n ? n : 1);
	size_t at;
	int r;

	if (copy == NULL)
		return -1;
	memcpy(copy, line, n);
	r = ttlog__jsonl_parse(copy, n, &ev, s, err, sizeof(err));
	check(r == 0 || r == -1);
	if (r < 0) {
		check(sscanf(err, "byte %zu: ", &at) == 1 && at <= n);
		free(copy);
		return -1;
	}
	check(strcmp(ev.source, "jsonl") == 0);
	check(ev.level >= TTLOG_LEVEL_TRACE && ev.level <= TTLOG_LEVEL_FATAL);
	check(ev.nfields <= TTLOG__IN_MAX_FIELDS);
	check(!ev.truncated || ev.nfields == TTLOG__IN_MAX_FIELDS);
	check_str(ev.msg, ev.msg_len, copy, n, s);
	for (uint32_t i = 0; i < ev.nfields; i++) {
		const struct ttlog__in_field *f = &ev.fields[i];
		check_str(f->key, f->key_len, copy, n, s);
		check(f->type >= TTLOG_TYPE_I64 && f->type <= TTLOG_TYPE_STR);
		if (f->type == TTLOG_TYPE_STR)
			check_str(f->v.str.ptr, f->v.str.len, copy, n, s);
		if (f->type == TTLOG_TYPE_U64)
			check(f->v.u64 > INT64_MAX);
		if (f->type == TTLOG_TYPE_BOOL)
			check(f->v.b == 0 || f->v.b == 1);
	}
	/* One field per key: a repeated key keeps its last value. */
	check(fuzz_keys_distinct(&ev));
	check(s->len <= n + 1 && s->len <= s->cap);
	r = (int)ev.nfields;
	free(copy);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlog__scratch s = {0};
	const char *buf = (const char *)data, *nl;
	size_t off = 0;
	int whole = parse(buf, size, &s);

	if (whole >= 0 && size < 1 << 20) {
		char *more = malloc(size + 1);
		if (more != NULL) {
			memcpy(more, buf, size);
			more[size] = '\n';
			check(parse(more, size + 1, &s) == whole);
			free(more);
		}
	}
	while (off < size) {
		nl = memchr(buf + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - buf - off) : size - off;
		(void)parse(buf + off, len, &s);
		off += len + 1;
	}
	ttlog__scratch_destroy(&s);
	return 0;
}
