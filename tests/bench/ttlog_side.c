/*
 * ttlog_side.c - the ttlog half of the benchmark: the listener that stands
 * in for a sink, and the log loops, written with the public macros exactly
 * as an application would.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <ttlog/batch.h>
#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "bench.h"

/* The listener runs on the writer thread only; the main thread reads the
 * counters after ttlog_flush(), whose completion orders them. */
static enum bench_sink sink_kind;
static enum ttlog_clock event_clock = TTLOG_CLOCK_AUTO;
static struct bench_sink_counts sink_counts;

static int sink_consume(void *state, struct ttlog_batch *b)
{
	const void *data;
	size_t len;
	(void)state;

	sink_counts.events += ttlog_batch_count(b);
	sink_counts.batches++;
	if (sink_kind == BENCH_SINK_NULL)
		return TTLOG_LISTENER_OK;
	if (ttlog_batch_encode(b,
			       sink_kind == BENCH_SINK_CBOR
				       ? TTLOG_ENCODING_CBOR
				       : TTLOG_ENCODING_CBOR_LZ4,
			       &data, &len) != 0) {
		sink_counts.errors++;
		return TTLOG_LISTENER_ERROR;
	}
	sink_counts.bytes += len;
	/* Cached by the LZ4 encoding, so this costs nothing. */
	if (sink_kind == BENCH_SINK_CBOR_LZ4 &&
	    ttlog_batch_encode(b, TTLOG_ENCODING_CBOR, &data, &len) == 0)
		sink_counts.cbor_bytes += len;
	return TTLOG_LISTENER_OK;
}

static void sink_destroy(void *state)
{
	(void)state;
}

static const struct ttlog_listener_api sink_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "bench",
	.description = "counts events; optionally encodes each batch",
	.consume = sink_consume,
	.destroy = sink_destroy,
};

void bench_ttlog_set_clock(int clock)
{
	event_clock = (enum ttlog_clock)clock;
}

int bench_ttlog_start(size_t ring_bytes, uint32_t flush_interval_ms,
		      enum bench_sink sink)
{
	struct ttlog_listener_config l = {.api = &sink_api, .name = "bench"};
	struct ttlog_options o;

	sink_kind = sink;
	memset(&sink_counts, 0, sizeof(sink_counts));
	ttlog_options_init(&o);
	o.service = "ttlog-bench";
	o.ring_bytes = ring_bytes;
	o.flush_interval_ms = flush_interval_ms;
	o.clock = event_clock;
	o.listeners = &l;
	o.nlisteners = 1;
	return ttlog_init(&o);
}

void bench_ttlog_stop(void)
{
	(void)ttlog_shutdown();
}

void bench_ttlog_flush(void)
{
	(void)ttlog_flush();
}

uint64_t bench_ttlog_dropped(void)
{
	struct ttlog_stats s;

	(void)ttlog_stats(&s);
	return s.dropped_ring_full + s.dropped_too_large + s.dropped_no_memory +
	       s.listener_dropped;
}

uint64_t bench_ttlog_ring_bytes(void)
{
	struct ttlog_stats s;

	(void)ttlog_stats(&s);
	return s.ring_bytes_used;
}

void bench_ttlog_sink_counts(struct bench_sink_counts *out)
{
	*out = sink_counts;
}

/* The three events every logger in the benchmark writes. */
#define LOG0() TTLOG_INFO("request done")
#define LOG3(i)                                                                \
	TTLOG_INFO("request done", TTLOG_KV("id", i), TTLOG_KV("ms", 4.2),     \
		   TTLOG_KV("path", "/api/v1"))
#define LOG8(i)                                                                \
	TTLOG_INFO("request done", TTLOG_KV("id", i), TTLOG_KV("ms", 4.2),     \
		   TTLOG_KV("path", "/api/v1"), TTLOG_KV("status", 200),       \
		   TTLOG_KV("bytes", (i)*3), TTLOG_KV("ok", (bool)true),       \
		   TTLOG_KV("method", "GET"), TTLOG_KV("user", "alice"))

void bench_ttlog_log(int nfields, uint64_t n)
{
	switch (nfields) {
	case 0:
		for (uint64_t i = 0; i < n; i++)
			LOG0();
		break;
	case 3:
		for (uint64_t i = 0; i < n; i++)
			LOG3(i);
		break;
	default:
		for (uint64_t i = 0; i < n; i++)
			LOG8(i);
		break;
	}
}

void bench_ttlog_latency(int nfields, uint64_t n, struct bench_hist *h)
{
	switch (nfields) {
	case 0:
		BENCH_TIMED_LOOP(h, n, LOG0());
		break;
	case 3:
		BENCH_TIMED_LOOP(h, n, LOG3(bench_i));
		break;
	default:
		BENCH_TIMED_LOOP(h, n, LOG8(bench_i));
		break;
	}
}

void bench_timer_overhead(uint64_t n, struct bench_hist *h)
{
	BENCH_TIMED_LOOP(h, n, (void)0);
}
