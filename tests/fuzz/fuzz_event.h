/* fuzz_event.h - invariants of an ingested event that every input
 * parser's fuzz target checks. */
#ifndef TTLOG_FUZZ_EVENT_H
#define TTLOG_FUZZ_EVENT_H

#include <stdlib.h>
#include <string.h>

#include "ingest_internal.h"

/* Whether each key is in one field only (a parser keeps the last value of
 * a repeated key) and the repeat count agrees with the key reported. */
static inline int fuzz_keys_distinct(const struct ttlog__in_event *ev)
{
	for (uint32_t i = 0; i < ev->nfields; i++)
		for (uint32_t j = i + 1; j < ev->nfields; j++)
			if (ev->fields[i].key_len == ev->fields[j].key_len &&
			    memcmp(ev->fields[i].key, ev->fields[j].key,
				   ev->fields[i].key_len) == 0)
				return 0;
	return (ev->duplicate_keys == 0) == (ev->dup_key == NULL);
}

/* Ends the run so that libFuzzer reports the input when ok is false. */
static inline void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* Whether [p, p + len) lies within [base, base + n); an empty string
 * may be anywhere. */
static inline int fuzz_inside(const char *p, size_t len, const char *base,
			      size_t n)
{
	return len == 0 || (p >= base && p <= base + n && len <= n &&
			    (size_t)(p - base) <= n - len);
}

#endif /* TTLOG_FUZZ_EVENT_H */
