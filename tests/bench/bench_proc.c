/*
 * bench_proc.c - ttlog-bench-proc: the cost of each kind of processor on
 * one realistic event (3 fields, a message of about 120 bytes), in
 * nanoseconds per event: the median of 5 runs, with the fastest and the
 * slowest. The event is reset before each apply, as the runner does;
 * "(reset only)" is that cost alone.
 *
 *   ttlog-bench-proc [EVENTS_PER_RUN]   (default 200000)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse_internal.h"
#include "origin_internal.h"
#include "proc.h"

#define RUNS 5

static const char plain[] =
	"GET /api/v2/orders/123456 status=200 user=alice@example.com "
	"password=hunter2 took 12.5ms from 10.1.2.3 via edge-7 ok";
static const char logfmt[] =
	"method=GET path=/api/v2/orders/123456 status=200 "
	"user=alice@example.com dur=12.5 peer=10.1.2.3 msg=\"order ok\"";
static const char json[] =
	"{\"method\":\"GET\",\"path\":\"/api/v2/orders/1\",\"status\":200,"
	"\"user\":\"alice@example.com\",\"dur\":12.5,\"msg\":\"order ok\"}";

static const struct {
	const char *name, *yaml, *msg;
} cases[] = {
	{"(reset only)", NULL, plain},
	{"set (template)",
	 "{type: set, field: route, value: '${service}-${fields.trace}'}",
	 plain},
	{"remove", "{type: remove, fields: [trace]}", plain},
	{"rename", "{type: rename, fields: {svc: service}}", plain},
	{"redact",
	 "{type: redact, pattern: 'password=\\S+', replace: 'password=***'}",
	 plain},
	{"redact (no match)", "{type: redact, pattern: 'secret=\\S+'}", plain},
	{"parse json", "{type: parse, format: json}", json},
	{"parse logfmt", "{type: parse, format: logfmt, types: {status: int}}",
	 logfmt},
	{"parse regex",
	 "{type: parse, format: regex, pattern: '^(?<method>[A-Z]+) "
	 "(?<path>\\S+) status=(?<status>\\d+)'}",
	 plain},
	{"sample (counter)", "{type: sample, rate: 10}", plain},
	{"sample (key)", "{type: sample, rate: 10, key: trace}", plain},
	{"throttle (key)", "{type: throttle, rate: 1000000, key: trace}",
	 plain},
	{"drop", "{type: drop}", plain},
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void reset(struct ttlog__work *w, struct ttlog__scratch *s,
		  const char *msg, size_t len, unsigned i)
{
	static char trace[8][24];
	struct ttlog__in_field *f = w->ev.fields;

	if (trace[0][0] == '\0')
		for (int k = 0; k < 8; k++)
			snprintf(trace[k], sizeof(trace[k]), "trace-%08d", k);
	static struct ttlog__origin *origin;

	if (origin == NULL)
		origin = ttlog__origin_make("web-1", "orders", "in", NULL, NULL,
					    NULL);
	ttlog__scratch_reset(s);
	w->s = s;
	w->origin = &origin->pub;
	w->ev.origin = origin;
	w->changed = 0;
	w->ev.msg = msg;
	w->ev.msg_len = len;
	w->ev.nfields = 3;
	f[0] = (struct ttlog__in_field){.key = "svc",
					.key_len = 3,
					.type = TTLOG_TYPE_STR,
					.v.str = {"orders", 6}};
	f[1] = (struct ttlog__in_field){.key = "trace",
					.key_len = 5,
					.type = TTLOG_TYPE_STR,
					.v.str = {trace[i & 7], 14}};
	f[2] = (struct ttlog__in_field){.key = "attempt",
					.key_len = 7,
					.type = TTLOG_TYPE_I64,
					.v.i64 = 1};
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
	struct ttlog__scratch s = {0};
	static struct ttlog__work w;

	if (n == 0)
		n = 1;
	printf("%-20s %10s %20s  (%u events x %d runs, msg ~%zu bytes)\n",
	       "processor", "ns/event", "min-max", n, RUNS, strlen(plain));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct ttlog__proc *p = NULL;
		double t[RUNS];
		size_t len = strlen(cases[c].msg);

		if (cases[c].yaml != NULL) {
			struct ttlog__diag d = {0};
			struct ttlog__cfg_doc *doc = ttlog__cfg_load_string(
				"bench", cases[c].yaml, strlen(cases[c].yaml),
				&d);
			if (doc != NULL)
				p = ttlog__proc_compile(ttlog__cfg_root(doc),
							"bench", &d);
			if (p == NULL) {
				fprintf(stderr, "%s: %s\n", cases[c].name,
					d.n ? d.msgs[0] : "?");
				return 1;
			}
			ttlog__diag_free(&d);
			ttlog__cfg_free(doc);
		}
		for (int r = 0; r < RUNS; r++) {
			uint64_t t0 = now_ns();
			for (unsigned i = 0; i < n; i++) {
				reset(&w, &s, cases[c].msg, len, i);
				if (p != NULL &&
				    ttlog__proc_apply(p, &w, t0 + i) ==
					    TTLOG__PROC_FAILED) {
					fprintf(stderr, "%s: FAILED\n",
						cases[c].name);
					return 1;
				}
			}
			t[r] = (double)(now_ns() - t0) / n;
		}
		qsort(t, RUNS, sizeof(t[0]), cmp);
		printf("%-20s %10.1f %9.1f-%-10.1f\n", cases[c].name,
		       t[RUNS / 2], t[0], t[RUNS - 1]);
		ttlog__proc_free(p);
	}
	ttlog__scratch_destroy(&s);
	return 0;
}
