/*
 * proc_regex.h - PCRE2 as the processors use it (proc_regex.c): compiled
 * at load with the error at the pattern's place, matched with limits so
 * that a hostile message costs a bounded amount of work.
 */
#ifndef TTLOG_ROUTE_PROC_REGEX_H
#define TTLOG_ROUTE_PROC_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "proc_util.h"

/* Backtracking steps allowed to one pcre2_match() call; past it the
 * processor gives up on the event (FAILED). */
#define TTLOG__PROC_MATCH_LIMIT 100000u
/* Nesting of backtracking for one call (the interpreter's; the JIT has
 * its own 32 KiB stack, and running out of it is a failure too). */
#define TTLOG__PROC_DEPTH_LIMIT 10000u

struct ttlog__proc_re {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

/*
 * Compiles the scalar at sec[key] (required) into re. A pattern that
 * does not compile is an error at the value naming PCRE2's reason and
 * the offset in the pattern. @return 0, or -1 after adding an error.
 */
int ttlog__proc_re_compile(struct ttlog__proc_re *re,
			   const struct ttlog__cfg_node *sec, const char *key,
			   const char *path, struct ttlog__diag *d);
/* pcre2_match() of re with its limits; the result in re->md. */
int ttlog__proc_re_match(struct ttlog__proc_re *re, const char *s, size_t len,
			 size_t start, uint32_t opts);
void ttlog__proc_re_destroy(struct ttlog__proc_re *re);

#endif /* TTLOG_ROUTE_PROC_REGEX_H */
