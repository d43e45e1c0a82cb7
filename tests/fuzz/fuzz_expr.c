/* fuzz_expr.c - match: expressions (core/route/expr.h): arbitrary bytes
 * are compiled; an error must name a byte inside the input (or its end)
 * and say something, and an expression that compiles is evaluated on two
 * fixed events, one of a batch and one work event, with invalid UTF-8 in
 * the message. */
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "expr.h"
#include "fuzz.h"
#include "ingest_internal.h"
#include "origin_internal.h"
#include "view.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static struct ttlog__in_event ev;
static struct ttlog__view views[2];

static void field(uint32_t i, const char *k, enum ttlog_type t, uint64_t u)
{
	ev.fields[i].key = k;
	ev.fields[i].key_len = strlen(k);
	ev.fields[i].type = t;
	ev.fields[i].v.u64 = u;
}

/* The events live for the whole run (the fuzzer never returns). */
static void init(void)
{
	static struct ttlog__origin *o;
	static struct ttlog_batch *b;
	double half = 0.5;
	uint64_t hb;

	o = ttlog__origin_make("web-1", "billing", "syslog", "10.0.0.1:514",
			       "CN=x", "");
	ev.origin = o;
	ev.level = TTLOG_LEVEL_ERROR;
	ev.msg = "conn\xff\xfe refused after timeout";
	ev.msg_len = strlen(ev.msg);
	ev.msg_varies = 1;
	ev.source = "fuzz";
	memcpy(&hb, &half, 8);
	field(0, "status", TTLOG_TYPE_I64, 503);
	field(1, "big", TTLOG_TYPE_U64, UINT64_MAX);
	field(2, "ratio", TTLOG_TYPE_F64, hb);
	field(3, "ok", TTLOG_TYPE_BOOL, 1);
	field(4, "name", TTLOG_TYPE_STR, 0);
	ev.fields[4].v.str.ptr = "12.5";
	ev.fields[4].v.str.len = 4;
	ev.nfields = 5;
	b = ttlog__batch_new(4, 4096, 1);
	if (o == NULL || b == NULL || ttlog__batch_add_in(b, &ev, 1, 1, 4096))
		abort();
	ttlog__view_batch(&views[0], b, 0);
	ttlog__view_work(&views[1], &ev, &o->pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char err[256];
	size_t off = (size_t)-1;
	struct ttlog__expr *e;

	if (!ready) {
		init();
		ready = 1;
	}
	e = ttlog__expr_compile((const char *)data, size, &off, err,
				sizeof(err));
	if (e == NULL) {
		check(off <= size);
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	/* The answers may differ: the batch's copy of the message has its
	 * invalid bytes replaced. */
	(void)ttlog__expr_eval(e, &views[0]);
	(void)ttlog__expr_eval(e, &views[1]);
	ttlog__expr_free(e);
	return 0;
}
