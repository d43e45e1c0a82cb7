/* proc_regex.c - PCRE2 for the redact and parse processors (see
 * proc_regex.h). */
#include <stdio.h>

#include "proc_regex.h"

int ttlog__proc_re_compile(struct ttlog__proc_re *re,
			   const struct ttlog__cfg_node *sec, const char *key,
			   const char *path, struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *v = ttlog__cfg_get(sec, key);
	char p[256];
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE at;
	int code;

	snprintf(p, sizeof(p), "%s.%s", path != NULL ? path : "", key);
	re->code = NULL;
	re->md = NULL;
	re->mc = NULL;
	if (v == NULL) {
		ttlog__diag_add(d, sec, path,
				"missing key '%s' (a PCRE2 regular expression)",
				key);
		return -1;
	}
	if (v->kind != TTLOG__CFG_SCALAR || v->str[0] == '\0') {
		ttlog__diag_add(d, v, p,
				"expected a non-empty regular expression");
		return -1;
	}
	re->code = pcre2_compile((PCRE2_SPTR)v->str, PCRE2_ZERO_TERMINATED, 0,
				 &code, &at, NULL);
	if (re->code == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		ttlog__diag_add(d, v, p,
				"invalid regular expression at offset %zu: %s",
				(size_t)at, (const char *)msg);
		return -1;
	}
	/* The JIT runs a pattern several times faster and keeps the match
	 * limit; where it is not available (no executable memory), the
	 * interpreter does the same work. */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->mc = pcre2_match_context_create(NULL);
	if (re->md == NULL || re->mc == NULL) {
		ttlog__proc_re_destroy(re);
		ttlog__diag_add(d, v, p, "out of memory");
		return -1;
	}
	pcre2_set_match_limit(re->mc, TTLOG__PROC_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mc, TTLOG__PROC_DEPTH_LIMIT);
	return 0;
}

int ttlog__proc_re_match(struct ttlog__proc_re *re, const char *s, size_t len,
			 size_t start, uint32_t opts)
{
	/* A zero-length subject still needs a valid pointer. */
	return pcre2_match(re->code, (PCRE2_SPTR)(len ? s : ""), len, start,
			   opts, re->md, re->mc);
}

void ttlog__proc_re_destroy(struct ttlog__proc_re *re)
{
	pcre2_match_context_free(re->mc);
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	re->code = NULL;
	re->md = NULL;
	re->mc = NULL;
}
