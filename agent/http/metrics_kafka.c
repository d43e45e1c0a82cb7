/*
 * metrics_kafka.c - the kafka inputs' part of /metrics: their own
 * counters (one sample per kafka input) and the lag of each assigned
 * partition, labelled with topic and partition (at most
 * TTLOG__INPUT_FILE_LAGS per input, as tail's per-file lag).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent_internal.h"
#include "buf.h"
#include "metrics_internal.h"

/* A family over the kafka inputs only: the other types have none of
 * these counters, and a column of zeros for them would say nothing. */
#define KFAMILY(fam, type, help, field)                                        \
	do {                                                                   \
		ttlog__metrics_family(out, fam, type, help);                   \
		for (size_t i = 0; i < v->ninputs; i++)                        \
			if (is[i].ok &&                                        \
			    strcmp(v->input_types[i], "kafka") == 0)           \
				ttlog__metrics_input_sample(                   \
					out, fam, v->input_names[i], "kafka",  \
					(uint64_t)is[i].s.field);              \
	} while (0)

struct part_ctx {
	struct ttlog__buf *out;
	const char *input;
};

static void part_sample(void *arg, const char *topic, int32_t partition,
			int64_t lag)
{
	struct part_ctx *c = arg;

	if (lag < 0)
		return; /* no watermark seen yet */
	ttlog__buf_puts(c->out, "ttlog_input_kafka_partition_lag{input=\"");
	ttlog__metrics_put_label_value(c->out, c->input);
	ttlog__buf_puts(c->out, "\",type=\"kafka\",topic=\"");
	ttlog__metrics_put_label_value(c->out, topic);
	ttlog__metrics_putf(c->out,
			    "\",partition=\"%" PRId32 "\"} %" PRId64 "\n",
			    partition, lag);
}

void ttlog__metrics_render_kafka(const struct ttlog__agent_view *v,
				 const struct istats *is,
				 struct ttlog__buf *out)
{
	KFAMILY("ttlog_input_kafka_messages_total", "counter",
		"kafka: messages read (a ttlog batch is one message).",
		kafka_messages);
	KFAMILY("ttlog_input_kafka_too_large_total", "counter",
		"kafka: messages skipped for being over max_message (max_frame "
		"for ttlog batches); also in ttlog_input_dropped_total.",
		kafka_too_large);
	KFAMILY("ttlog_input_kafka_commits_total", "counter",
		"kafka: offset commits that succeeded.", kafka_commits);
	KFAMILY("ttlog_input_kafka_commit_errors_total", "counter",
		"kafka: offset commits that failed (the offsets are committed "
		"again with the next).",
		kafka_commit_errors);
	KFAMILY("ttlog_input_kafka_rebalances_total", "counter",
		"kafka: assignments and revocations of the group.",
		kafka_rebalances);
	KFAMILY("ttlog_input_kafka_assigned_partitions", "gauge",
		"kafka: partitions assigned to this consumer now.",
		kafka_assigned);
	KFAMILY("ttlog_input_kafka_lag", "gauge",
		"kafka: messages not yet read, summed over the assigned "
		"partitions.",
		kafka_lag);
	ttlog__metrics_family(
		out, "ttlog_input_kafka_partition_lag", "gauge",
		"kafka: messages of each assigned partition not yet read (high "
		"watermark last seen minus position); at most 256 partitions "
		"per input.");
	for (size_t i = 0; i < v->ninputs; i++) {
		struct part_ctx c = {out, v->input_names[i]};
		if (v->inputs[i] != NULL && is[i].ok)
			(void)ttlog__input_partition_lags(v->inputs[i],
							  part_sample, &c);
	}
}
