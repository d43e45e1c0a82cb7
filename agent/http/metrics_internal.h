/*
 * metrics_internal.h - what the files of /metrics share: the text helpers
 * of the Prometheus exposition (metrics.c) and the inputs' families
 * (metrics_input.c, metrics_kafka.c). Writer thread, like the endpoint.
 */
#ifndef TTLOG_METRICS_INTERNAL_H
#define TTLOG_METRICS_INTERNAL_H

#include <stdint.h>

#include "agent_internal.h"

struct ttlog__buf;

/* Formats into b (printf). */
void ttlog__metrics_putf(struct ttlog__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* s as a label value: UTF-8 repaired, \\, " and newline escaped. */
void ttlog__metrics_put_label_value(struct ttlog__buf *b, const char *s);
/* The HELP and TYPE lines of a family. */
void ttlog__metrics_family(struct ttlog__buf *b, const char *name,
			   const char *type, const char *help);
/* name{input="INPUT",type="TYPE"} v */
void ttlog__metrics_input_sample(struct ttlog__buf *b, const char *name,
				 const char *input, const char *type,
				 uint64_t v);

/* One input's counters, read once per scrape so that every family shows
 * the same inputs; ok is 0 for an input not running (a failed start). */
struct istats {
	struct ttlog__input_stats s;
	int ok;
};

/* A family with one sample per input (v and is in scope). */
#define IFAMILY(fam, type, help, field)                                        \
	do {                                                                   \
		ttlog__metrics_family(out, fam, type, help);                   \
		for (size_t i = 0; i < v->ninputs; i++)                        \
			if (is[i].ok)                                          \
				ttlog__metrics_input_sample(                   \
					out, fam, v->input_names[i],           \
					v->input_types[i],                     \
					(uint64_t)is[i].s.field);              \
	} while (0)

/* metrics_input.c: every input family, then the tail inputs' per-file
 * lags. */
void ttlog__metrics_render_inputs(const struct ttlog__agent_view *v,
				  const struct istats *is,
				  struct ttlog__buf *out);
void ttlog__metrics_render_file_lags(const struct ttlog__agent_view *v,
				     struct ttlog__buf *out);

/* metrics_kafka.c: the kafka inputs' own families and partition lags. */
void ttlog__metrics_render_kafka(const struct ttlog__agent_view *v,
				 const struct istats *is,
				 struct ttlog__buf *out);

#endif /* TTLOG_METRICS_INTERNAL_H */
