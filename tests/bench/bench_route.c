/*
 * bench_route.c - ttlog-bench-route: what routing costs per event on the
 * writer thread, for match: expressions (and, later, processors).
 *
 *   ttlog-bench-route [--runs N] [--evals N] [--only TEXT]
 *
 * Each case runs --evals (default 1M) evaluations over the events of one
 * real batch (1024 events, cycled), each event read through
 * ttlog__view_batch() as the router reads it, and is measured --runs
 * times (default 5). Printed: ns/event as median (min-max), and the same
 * less the median of the baseline (the loop and the view alone).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch_internal.h"
#include "expr.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "view.h"

#define NEVENTS 1024
#define MAX_RUNS 64

enum case_kind {
	CASE_BASELINE, /* the loop and the view, nothing evaluated */
	CASE_MATCH     /* one match: expression */
	/* CASE_PROC: processors (core/route/proc.h) are added here, with a
	 * `proc` member in struct bench_case naming their configuration. */
};

struct bench_case {
	const char *name;
	enum case_kind kind;
	const char *match; /* CASE_MATCH */
};

/* ------------------------------------------------------------------ */
/* The cases. Processor cases go at the end of this table.              */
/* ------------------------------------------------------------------ */
static const struct bench_case cases[] = {
	{"baseline (view only)", CASE_BASELINE, NULL},
	{"3 clauses", CASE_MATCH,
	 "level >= WARN and service == \"billing\" and fields.status >= 500"},
	{"regex, 100-byte msg", CASE_MATCH, "msg =~ \"timeout|refused\""},
	{"host in [5 names]", CASE_MATCH,
	 "host in [\"web-1\", \"web-2\", \"web-3\", \"web-4\", \"web-5\"]"},
	/* processor cases: here */
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const char *const hosts[8] = {"web-1", "web-2", "web-3", "web-4",
				     "web-5", "db-1",  "db-2",	"cache-1"};
static const char *const services[4] = {"billing", "shop", "auth", "billing"};

static struct ttlog__origin *origins[8];

static void field(struct ttlog__in_field *f, const char *key,
		  enum ttlog_type type, uint64_t v)
{
	f->key = key;
	f->key_len = strlen(key);
	f->type = type;
	f->v.u64 = v;
}

/* 1024 events: levels INFO..ERROR, half of them from billing, statuses
 * 200..599, a 100-byte message of which one in eight says "refused". */
static struct ttlog_batch *make_batch(void)
{
	struct ttlog_batch *b = ttlog__batch_new(NEVENTS, 1u << 22, 1);
	struct ttlog__in_event ev;
	char msg[101];

	if (b == NULL)
		return NULL;
	for (int i = 0; i < 8; i++) {
		origins[i] =
			ttlog__origin_make(hosts[i], services[i % 4], "syslog",
					   "10.0.0.1:514", "", "");
		if (origins[i] == NULL)
			return NULL;
	}
	for (int i = 0; i < NEVENTS; i++) {
		memset(&ev, 0, sizeof(ev));
		snprintf(msg, sizeof(msg), "%-100s",
			 i % 8 == 0 ? "upstream 10.1.2.3:8443 connection "
				      "refused while reading response header"
				    : "upstream 10.1.2.3:8443 answered in "
				      "12 ms while reading response header");
		ev.level = TTLOG_LEVEL_INFO + i % 3;
		ev.msg = msg;
		ev.msg_len = 100;
		ev.msg_varies = 1;
		ev.source = "bench";
		ev.origin = origins[(i * 7) % 8];
		field(&ev.fields[0], "user", TTLOG_TYPE_STR, 0);
		ev.fields[0].v.str.ptr = "alice";
		ev.fields[0].v.str.len = 5;
		field(&ev.fields[1], "status", TTLOG_TYPE_I64,
		      (uint64_t)(200 + (i * 37) % 400));
		field(&ev.fields[2], "ms", TTLOG_TYPE_U64, 12);
		ev.nfields = 3;
		if (ttlog__batch_add_in(b, &ev, 1, 1, 4096) != 0)
			return NULL;
	}
	return b;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One run: ns per event, and how many matched (so that the work cannot
 * be optimised away, and as a sanity figure). */
static double run(const struct bench_case *c, struct ttlog__expr *e,
		  const struct ttlog_batch *b, size_t evals, size_t *matched)
{
	struct ttlog__view v;
	size_t hits = 0;
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < evals; i++) {
		ttlog__view_batch(&v, b, i % NEVENTS);
		if (c->kind == CASE_BASELINE)
			hits += v.level >= TTLOG_LEVEL_WARN;
		else
			hits += ttlog__expr_eval(e, &v);
	}
	*matched = hits;
	return (double)(now_ns() - t0) / (double)evals;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t runs = 5, evals = 1000000;
	const char *only = NULL;
	struct ttlog_batch *b;
	double base = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--evals") == 0 && i + 1 < argc)
			evals = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: ttlog-bench-route [--runs N] "
					"[--evals N] [--only TEXT]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || evals < 1) {
		fprintf(stderr,
			"ttlog-bench-route: --runs 1..%d, --evals > 0\n",
			MAX_RUNS);
		return 2;
	}
	b = make_batch();
	if (b == NULL) {
		fprintf(stderr,
			"ttlog-bench-route: building the batch failed\n");
		return 1;
	}
	printf("| case | ns/event median (min-max) | less baseline | "
	       "matched |\n|---|---|---|---|\n");
	for (size_t k = 0; k < NCASES; k++) {
		const struct bench_case *c = &cases[k];
		struct ttlog__expr *e = NULL;
		double t[MAX_RUNS];
		size_t matched = 0;

		/* --only: the baseline and the cases whose name has TEXT */
		if (only != NULL && c->kind != CASE_BASELINE &&
		    strstr(c->name, only) == NULL)
			continue;
		if (c->kind == CASE_MATCH) {
			char err[256];
			size_t off;
			e = ttlog__expr_compile(c->match, strlen(c->match),
						&off, err, sizeof(err));
			if (e == NULL) {
				fprintf(stderr, "%s: byte %zu: %s\n", c->match,
					off, err);
				return 1;
			}
		}
		run(c, e, b, evals / 10 + 1, &matched); /* warm up */
		for (size_t r = 0; r < runs; r++)
			t[r] = run(c, e, b, evals, &matched);
		qsort(t, runs, sizeof(t[0]), cmp_double);
		double med = t[runs / 2];
		if (c->kind == CASE_BASELINE)
			base = med;
		printf("| %s | %.1f (%.1f-%.1f) | %.1f | %.1f%% |\n", c->name,
		       med, t[0], t[runs - 1], med - base,
		       100.0 * (double)matched / (double)evals);
		ttlog__expr_free(e);
	}
	ttlog_batch_unref(b);
	for (int i = 0; i < 8; i++)
		ttlog__origin_unref(origins[i]);
	return 0;
}
