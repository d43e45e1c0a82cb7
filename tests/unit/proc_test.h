/* proc_test.h - helpers of the processor tests (test_proc.c,
 * test_proc_parse.c): a processor from YAML text, work events, errors. */
#ifndef TTLOG_TEST_PROC_TEST_H
#define TTLOG_TEST_PROC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse_internal.h"
#include "proc.h"

/* Compiles the one item written in yaml (a flow map); NULL on error,
 * with the first message in err. */
static inline struct ttlog__proc *proc_try(const char *yaml, char *err,
					   size_t errlen)
{
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc =
		ttlog__cfg_load_string("t.yaml", yaml, strlen(yaml), &d);
	struct ttlog__proc *p = NULL;

	assert_non_null(doc);
	p = ttlog__proc_compile(ttlog__cfg_root(doc), "processors[0]", &d);
	if (err != NULL)
		snprintf(err, errlen, "%s", d.n ? d.msgs[0] : "");
	assert_true(p != NULL ? d.n == 0 : d.n > 0);
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
	return p;
}

static inline struct ttlog__proc *proc_new(const char *yaml)
{
	char err[512];
	struct ttlog__proc *p = proc_try(yaml, err, sizeof(err));

	if (p == NULL)
		fail_msg("%s: %s", yaml, err);
	return p;
}

/* Asserts that yaml does not compile and its first error is exactly
 * want. */
static inline void proc_err(const char *yaml, const char *want)
{
	char err[512];

	assert_null(proc_try(yaml, err, sizeof(err)));
	assert_string_equal(err, want);
}

static inline void work_init(struct ttlog__work *w, struct ttlog__scratch *s,
			     const char *msg)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	ttlog__scratch_reset(s);
	w->ev.msg = msg;
	w->ev.msg_len = strlen(msg);
	w->ev.level = TTLOG_LEVEL_INFO;
}

static inline void work_str(struct ttlog__work *w, const char *k, const char *v)
{
	struct ttlog__in_field *f = &w->ev.fields[w->ev.nfields++];

	f->key = k;
	f->key_len = strlen(k);
	f->type = TTLOG_TYPE_STR;
	f->v.str.ptr = v;
	f->v.str.len = strlen(v);
}

/* The last field with key k, or NULL. */
static inline const struct ttlog__in_field *
work_get(const struct ttlog__work *w, const char *k)
{
	for (uint32_t i = w->ev.nfields; i-- > 0;)
		if (w->ev.fields[i].key_len == strlen(k) &&
		    memcmp(w->ev.fields[i].key, k, strlen(k)) == 0)
			return &w->ev.fields[i];
	return NULL;
}

/* Asserts that field k is the string want. */
static inline void want_str(const struct ttlog__work *w, const char *k,
			    const char *want)
{
	const struct ttlog__in_field *f = work_get(w, k);

	if (f == NULL)
		fail_msg("no field %s", k);
	assert_int_equal(f->type, TTLOG_TYPE_STR);
	assert_int_equal(f->v.str.len, strlen(want));
	assert_memory_equal(f->v.str.ptr, want, strlen(want));
}

static inline void want_msg(const struct ttlog__work *w, const char *want)
{
	assert_int_equal(w->ev.msg_len, strlen(want));
	assert_memory_equal(w->ev.msg, want, strlen(want));
}

#endif /* TTLOG_TEST_PROC_TEST_H */
