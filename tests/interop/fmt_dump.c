/*
 * fmt_dump.c - writes COUNT events formatted by the forward plugin's
 * RFC 5424 formatter (plugins/shared/fmt.h) to standard output, as the
 * octet-counted stream the plugin would send. tests/interop/rsyslog.py
 * sends it to a real rsyslog and compares what arrives.
 *
 * Usage: fmt_dump COUNT [HOSTNAME]
 *
 * Event i (from 0) has the message "event i ..." with quotes, a bracket,
 * a backslash and non-ASCII text (every seventh one a line feed as well),
 * and the fields seq=i, s (a string full of SD escapes), half=i/2 (f64),
 * even (bool), bad (invalid UTF-8) and u (u64). Timestamps start at
 * 2023-11-14T22:13:20.123456Z and advance 1.5 ms per event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "fmt.h"
#include "ingest_internal.h"

#define T0 1700000000123456789ull
#define PER_BATCH 512

static const char nasty[] = "q\"uo]te\\s [x=\"y\"] \\\\\" end\\";

static void add_field(struct ttlog__in_event *ev, const char *key,
		      enum ttlog_type type)
{
	struct ttlog__in_field *f = &ev->fields[ev->nfields++];

	f->key = key;
	f->key_len = strlen(key);
	f->type = type;
}

static int make_event(struct ttlog__in_event *ev, char *msg, size_t cap, long i)
{
	int n = snprintf(msg, cap,
			 "event %ld \"quoted\" [br] back\\slash caf\xC3\xA9%s",
			 i, i % 7 == 3 ? "\nsecond line" : "");

	if (n < 0 || (size_t)n >= cap)
		return -1;
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = T0 + (uint64_t)i * 1500000u;
	ev->level = (int)(i % 6);
	ev->msg = msg;
	ev->msg_len = (size_t)n;
	ev->source = "tests/interop/fmt_dump.c";
	ev->line = 42;
	add_field(ev, "seq", TTLOG_TYPE_I64);
	ev->fields[0].v.i64 = i;
	add_field(ev, "s", TTLOG_TYPE_STR);
	ev->fields[1].v.str.ptr = nasty;
	ev->fields[1].v.str.len = strlen(nasty);
	add_field(ev, "half", TTLOG_TYPE_F64);
	ev->fields[2].v.f64 = (double)i / 2;
	add_field(ev, "even", TTLOG_TYPE_BOOL);
	ev->fields[3].v.b = i % 2 == 0;
	add_field(ev, "bad", TTLOG_TYPE_STR);
	ev->fields[4].v.str.ptr = "x\xFFy";
	ev->fields[4].v.str.len = 3;
	add_field(ev, "u", TTLOG_TYPE_U64);
	ev->fields[5].v.u64 = UINT64_MAX - (uint64_t)i;
	return 0;
}

int main(int argc, char **argv)
{
	struct ttlog__syslog_fmt f = {NULL, "fmt_dump", NULL, 16, NULL};
	struct ttlog__fmt_buf out = {0};
	struct ttlog__in_event ev;
	char msg[256];
	long count, i = 0;

	if (argc < 2 || argc > 3 || (count = strtol(argv[1], NULL, 10)) < 0) {
		fprintf(stderr, "usage: fmt_dump COUNT [HOSTNAME]\n");
		return 2;
	}
	f.hostname = argc == 3 ? argv[2] : "ttlog-test";
	while (i < count) {
		struct ttlog_batch *b = ttlog__batch_new(PER_BATCH, 1 << 20, 1);
		struct ttlog_event e;
		if (b == NULL)
			return 1;
		for (; i < count && ttlog_batch_count(b) < PER_BATCH; i++)
			if (make_event(&ev, msg, sizeof(msg), i) != 0 ||
			    ttlog__batch_add_in(b, &ev, 1, 0, 4096) != 0)
				return 1;
		out.len = 0;
		for (size_t k = 0; k < ttlog_batch_count(b); k++)
			if (ttlog_batch_event(b, k, &e) != 0 ||
			    ttlog__fmt_syslog_event(&f, &e, NULL, &out) != 0)
				return 1;
		ttlog_batch_unref(b);
		if (fwrite(out.p, 1, out.len, stdout) != out.len)
			return 1;
	}
	ttlog__fmt_buf_free(&out);
	return fflush(stdout) == 0 ? 0 : 1;
}
