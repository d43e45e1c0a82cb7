/*
 * kaf_metrics.c - the Kafka listener's figures on /metrics: messages and
 * bytes produced and delivered, events lost by reason, messages in
 * flight, delivery latency, each broker's connection state, queue-full
 * retries and the spool.
 */
#include "kafka_internal.h"

static void one(ttlog_metric_emit_fn emit, void *ctx, const char *name,
		const char *help, int kind, const char *label,
		const char *value, double v)
{
	struct ttlog_metric m = {name, help, kind, label, value, v};
	emit(ctx, &m);
}

#define C TTLOG_METRIC_COUNTER
#define G TTLOG_METRIC_GAUGE

static void spool_metrics(struct kaf *k, ttlog_metric_emit_fn emit, void *ctx)
{
	struct ttlog__spool_stats s;

	if (k->spool == NULL)
		return;
	ttlog__spool_get_stats(k->spool, &s);
	one(emit, ctx, "kafka_spool_bytes", "bytes of spool files", G, NULL,
	    NULL, (double)s.bytes);
	one(emit, ctx, "kafka_spool_segments", "spool files", G, NULL, NULL,
	    (double)s.segments);
	one(emit, ctx, "kafka_spool_records",
	    "spool records not delivered yet (estimate)", G, NULL, NULL,
	    (double)s.records);
	one(emit, ctx, "kafka_spool_events",
	    "events in spool records not delivered yet (estimate)", G, NULL,
	    NULL, (double)s.events);
	one(emit, ctx, "kafka_spool_corrupt_events_total",
	    "events in spool records lost to damage on disk (over the "
	    "spool's life)",
	    C, NULL, NULL, (double)s.corrupt_events);
	one(emit, ctx, "kafka_spool_dropped_events_total",
	    "events lost to the spool's size cap", C, NULL, NULL,
	    (double)s.dropped_events);
	one(emit, ctx, "kafka_spool_write_errors_total", "failed spool writes",
	    C, NULL, NULL, (double)s.write_errors);
	one(emit, ctx, "kafka_spool_fsync_errors_total", "failed spool fsyncs",
	    C, NULL, NULL, (double)s.fsync_errors);
	one(emit, ctx, "kafka_spool_resent_total",
	    "records produced again after a message timed out", C, NULL, NULL,
	    (double)k->st.spool_resent);
}

void ttlog__kaf_metrics(void *state, ttlog_metric_emit_fn emit, void *ctx)
{
	struct kaf *k = state;

	one(emit, ctx, "kafka_messages_produced_total",
	    "messages handed to librdkafka", C, NULL, NULL,
	    (double)k->st.msgs_produced);
	one(emit, ctx, "kafka_bytes_produced_total",
	    "value bytes handed to librdkafka", C, NULL, NULL,
	    (double)k->st.bytes_produced);
	one(emit, ctx, "kafka_messages_delivered_total",
	    "messages the brokers acknowledged", C, NULL, NULL,
	    (double)k->st.msgs_delivered);
	one(emit, ctx, "kafka_bytes_delivered_total",
	    "value bytes the brokers acknowledged", C, NULL, NULL,
	    (double)k->st.bytes_delivered);
	one(emit, ctx, "kafka_events_delivered_total",
	    "events in messages the brokers acknowledged", C, NULL, NULL,
	    (double)k->st.events_delivered);
	for (size_t i = 0; i < KAF_REASONS && k->reasons[i].name; i++)
		one(emit, ctx, "kafka_events_lost_total",
		    "events in messages that failed for good, by reason", C,
		    "reason", k->reasons[i].name, (double)k->reasons[i].events);
	if (k->lost_other > 0)
		one(emit, ctx, "kafka_events_lost_total",
		    "events in messages that failed for good, by reason", C,
		    "reason", "other", (double)k->lost_other);
	one(emit, ctx, "kafka_events_lost_shutdown_total",
	    "events not delivered at shutdown, without a spool", C, NULL, NULL,
	    (double)k->st.lost_shutdown);
	one(emit, ctx, "kafka_messages_in_flight",
	    "messages librdkafka holds (rd_kafka_outq_len)", G, NULL, NULL,
	    k->rk ? (double)rd_kafka_outq_len(k->rk) : 0);
	one(emit, ctx, "kafka_queue_full_total",
	    "produce attempts refused by a full local queue (back-pressure)", C,
	    NULL, NULL, (double)k->st.queue_full);
	one(emit, ctx, "kafka_delivery_latency_seconds_sum",
	    "time from produce to delivery report, summed", C, NULL, NULL,
	    (double)k->st.lat_sum_us / 1e6);
	one(emit, ctx, "kafka_delivery_latency_seconds_count",
	    "delivery reports with a latency", C, NULL, NULL,
	    (double)k->st.lat_count);
	one(emit, ctx, "kafka_delivery_latency_max_seconds",
	    "longest delivery latency since the previous scrape", G, NULL, NULL,
	    (double)k->st.lat_max_us / 1e6);
	k->st.lat_max_us = 0;
	for (size_t i = 0; i < k->nbrokers; i++)
		one(emit, ctx, "kafka_broker_up",
		    "1 when the connection to the broker is up (from "
		    "librdkafka's statistics, every second)",
		    G, "broker", k->brokers[i].name, k->brokers[i].up);
	spool_metrics(k, emit, ctx);
}
