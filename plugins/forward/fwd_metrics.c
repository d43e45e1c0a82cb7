/*
 * fwd_metrics.c - the forward listener's metrics: connection state and
 * failures, frames and bytes sent, acknowledgements, drops, the window and
 * the spool.
 */
#include <ttlog/listener.h>

#include <event2/buffer.h>

#include "forward_internal.h"

static void emit1(ttlog_metric_emit_fn emit, void *ctx, const char *name,
		  const char *help, int kind, double v)
{
	struct ttlog_metric m = {name, help, kind, NULL, NULL, v};
	emit(ctx, &m);
}

void ttlog__fwd_metrics(void *state, ttlog_metric_emit_fn emit, void *ctx)
{
	struct fwd *f = state;
	const int C = TTLOG_METRIC_COUNTER, G = TTLOG_METRIC_GAUGE;

	for (int s = FWD_IDLE; s <= FWD_READY; s++) {
		struct ttlog_metric m = {
			"forward_state",
			"connection state (1 for the current one)",
			G,
			"state",
			ttlog__fwd_state_name(s),
			f->state == s};
		emit(ctx, &m);
	}
	emit1(emit, ctx, "forward_endpoint_index",
	      "endpoint in use, counting from 0 in the configured order", G,
	      (double)f->cur);
	emit1(emit, ctx, "forward_connects_total",
	      "connections that became ready", C, (double)f->st.connects);
	emit1(emit, ctx, "forward_disconnects_total",
	      "ready connections that were lost", C, (double)f->st.disconnects);
	emit1(emit, ctx, "forward_connect_failures_total",
	      "connection attempts that failed (any reason)", C,
	      (double)f->st.connect_failures);
	for (int r = 0; r < FWD_TLS_REASONS; r++) {
		struct ttlog_metric m = {"forward_tls_failures_total",
					 "TLS handshakes refused, by reason",
					 C,
					 "reason",
					 ttlog__fwd_tls_reasons[r],
					 (double)f->st.tls_failures[r]};
		emit(ctx, &m);
	}
	emit1(emit, ctx, "forward_protocol_errors_total",
	      "connections closed because the peer broke the protocol", C,
	      (double)f->st.protocol_errors);
	emit1(emit, ctx, "forward_peer_closes_total",
	      "CLOSE messages received from collectors", C,
	      (double)f->st.peer_closes);
	emit1(emit, ctx, "forward_ack_timeouts_total",
	      "connections closed for not acknowledging", C,
	      (double)f->st.ack_timeouts);
	emit1(emit, ctx, "forward_frames_sent_total",
	      "frames (ttlog) sent, resends included", C,
	      (double)f->st.frames_sent);
	emit1(emit, ctx, "forward_frames_resent_total",
	      "frames sent again after a reconnect or restart", C,
	      (double)f->st.frames_resent);
	emit1(emit, ctx, "forward_bytes_sent_total",
	      "payload bytes handed to the connection", C,
	      (double)f->st.bytes_sent);
	emit1(emit, ctx, "forward_events_acked_total",
	      "events the collector acknowledged (ttlog; frames sent from "
	      "memory or from the spool)",
	      C, (double)f->st.events_acked);
	emit1(emit, ctx, "forward_dropped_too_large_total",
	      "events in batches over the collector's frame limit", C,
	      (double)f->st.dropped_too_large);
	emit1(emit, ctx, "forward_dropped_shutdown_total",
	      "events unacknowledged at shutdown without a spool", C,
	      (double)f->st.dropped_shutdown);
	emit1(emit, ctx, "forward_sd_renames_total",
	      "syslog: keys sent under a renamed PARAM-NAME (too long, "
	      "or bytes a name cannot hold)",
	      C, (double)f->st.sd_renames);
	emit1(emit, ctx, "forward_unacked_frames",
	      "frames not acknowledged yet (ttlog)", G,
	      (double)(f->last_seq - f->acked));
	emit1(emit, ctx, "forward_acked_seq", "highest acknowledged seq", G,
	      (double)f->acked);
	emit1(emit, ctx, "forward_window_bytes",
	      "bytes held in memory for resending", G,
	      (double)(f->format == FWD_TTLOG ? f->win_bytes
					      : evbuffer_get_length(f->pend)));
	if (f->spool != NULL) {
		struct ttlog__spool_stats s;
		ttlog__spool_get_stats(f->spool, &s);
		emit1(emit, ctx, "forward_spool_bytes", "bytes of spool files",
		      G, (double)s.bytes);
		emit1(emit, ctx, "forward_spool_segments", "spool files", G,
		      (double)s.segments);
		/* The loss totals are kept in the spool directory: they go
		 * on across restarts (docs/spool.md). */
		emit1(emit, ctx, "forward_spool_corrupt_records_total",
		      "spool records lost to damage on disk (over the "
		      "spool's life)",
		      C, (double)s.corrupt_records);
		emit1(emit, ctx, "forward_spool_corrupt_bytes_total",
		      "bytes skipped as damaged in spool files", C,
		      (double)s.corrupt_bytes);
		emit1(emit, ctx, "forward_spool_corrupt_events_total",
		      "events in spool records lost to damage (some "
		      "estimated, see the log)",
		      C, (double)s.corrupt_events);
		emit1(emit, ctx, "forward_spool_dropped_records_total",
		      "frames lost to the spool's size cap (deleted and in "
		      "no memory)",
		      C, (double)s.dropped_records);
		emit1(emit, ctx, "forward_spool_dropped_events_total",
		      "events lost to the spool's size cap (deleted and in "
		      "no memory)",
		      C, (double)s.dropped_events);
		emit1(emit, ctx, "forward_spool_held_events",
		      "events deleted by the size cap but still in memory, "
		      "not acknowledged: lost if the agent stops now",
		      G, (double)s.held_events);
		emit1(emit, ctx, "forward_spool_write_errors_total",
		      "failed spool writes", C, (double)s.write_errors);
		emit1(emit, ctx, "forward_spool_fsync_errors_total",
		      "failed spool fsyncs", C, (double)s.fsync_errors);
	}
}
