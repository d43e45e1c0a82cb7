/* fuzz_event.h - invariants of an ingested event that every input
 * parser's fuzz target checks. */
#ifndef TTLOG_FUZZ_EVENT_H
#define TTLOG_FUZZ_EVENT_H

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

#endif /* TTLOG_FUZZ_EVENT_H */
