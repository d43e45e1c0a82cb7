/*
 * metrics_input.c - the inputs' part of /metrics: one family per counter
 * of struct ttlog__input_stats, labelled with the input's name and type,
 * and the per-file lag of tail inputs.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_internal.h"
#include "buf.h"
#include "metrics_internal.h"

struct lag_ctx {
	struct ttlog__buf *out;
	const char *input;
};

static void lag_sample(void *arg, const char *path, uint64_t lag)
{
	struct lag_ctx *c = arg;

	ttlog__buf_puts(c->out, "ttlog_input_file_lag_bytes{input=\"");
	ttlog__metrics_put_label_value(c->out, c->input);
	ttlog__buf_puts(c->out, "\",type=\"tail\",path=\"");
	ttlog__metrics_put_label_value(c->out, path);
	ttlog__metrics_putf(c->out, "\"} %" PRIu64 "\n", lag);
}

/* tail: the lag of each open file (the first TTLOG__INPUT_FILE_LAGS of an
 * input; ttlog_input_lag_bytes has the sum over all). */
void ttlog__metrics_render_file_lags(const struct ttlog__agent_view *v,
				     struct ttlog__buf *out)
{
	ttlog__metrics_family(
		out, "ttlog_input_file_lag_bytes", "gauge",
		"tail: bytes of each open file not yet read (size - offset at "
		"the last look); at most 256 files per input.");
	for (size_t i = 0; i < v->ninputs; i++) {
		struct lag_ctx c = {out, v->input_names[i]};
		if (v->inputs[i] != NULL)
			(void)ttlog__input_file_lags(v->inputs[i], lag_sample,
						     &c);
	}
}

void ttlog__metrics_render_inputs(const struct ttlog__agent_view *v,
				  const struct istats *is,
				  struct ttlog__buf *out)
{
	IFAMILY("ttlog_input_events_total", "counter",
		"Messages parsed and handed on.", events);
	IFAMILY("ttlog_input_bytes_total", "counter", "Bytes read.", bytes);
	IFAMILY("ttlog_input_malformed_total", "counter",
		"Messages that did not parse.", malformed);
	IFAMILY("ttlog_input_dropped_total", "counter",
		"Datagrams lost: no room, too large, or dropped by the kernel "
		"(kernel_drops).",
		dropped);
	IFAMILY("ttlog_input_connections", "gauge", "Connections open now.",
		connections);
	IFAMILY("ttlog_input_connections_accepted_total", "counter",
		"Connections accepted.", accepted);
	IFAMILY("ttlog_input_connections_refused_total", "counter",
		"Connections refused over max_connections, or while out of "
		"file descriptors.",
		refused);
	IFAMILY("ttlog_input_errors_total", "counter", "Socket errors.",
		errors);
	IFAMILY("ttlog_input_tls_failures_total", "counter",
		"TLS handshakes that failed.", tls_failures);
	IFAMILY("ttlog_input_frames_total", "counter",
		"ttlog: frames delivered and acknowledged.", frames);
	IFAMILY("ttlog_input_duplicate_frames_total", "counter",
		"ttlog: frames sent again that were already delivered.",
		dup_frames);
	IFAMILY("ttlog_input_missing_frames_total", "counter",
		"ttlog: frames missing from a sender's sequence.",
		missing_frames);
	IFAMILY("ttlog_input_bad_frames_total", "counter",
		"ttlog: frames whose payload did not decode.", bad_frames);
	IFAMILY("ttlog_input_protocol_errors_total", "counter",
		"ttlog: connections closed for breaking the protocol.",
		protocol_errors);
	IFAMILY("ttlog_input_doubtful_frames_total", "counter",
		"ttlog: frames a restart left in doubt (handed on before it, "
		"not known to be taken), delivered again: possible "
		"duplicates.",
		doubt_frames);
	IFAMILY("ttlog_input_doubtful_events_total", "counter",
		"ttlog: events of those frames.", doubt_events);
	IFAMILY("ttlog_input_state_errors_total", "counter",
		"ttlog: writes of the sender state file that failed.",
		state_errors);
	IFAMILY("ttlog_input_state_damaged_total", "counter",
		"ttlog: damaged sender records found in the state file at "
		"start.",
		state_damaged);
	IFAMILY("ttlog_input_hello_timeouts_total", "counter",
		"Connections closed without a TLS handshake or hello within "
		"hello_timeout.",
		hello_timeouts);
	IFAMILY("ttlog_input_frame_timeouts_total", "counter",
		"Connections closed with a message not finished within "
		"frame_timeout.",
		frame_timeouts);
	IFAMILY("ttlog_input_idle_timeouts_total", "counter",
		"Connections closed after idle_timeout of silence.",
		idle_timeouts);
	IFAMILY("ttlog_input_buffered_bytes", "gauge",
		"Bytes of incomplete messages held by the connections now.",
		buffered);
	IFAMILY("ttlog_input_reserved_bytes", "gauge",
		"Bytes of max_buffer reserved for large messages now.",
		reserved);
	IFAMILY("ttlog_input_budget_waits_total", "counter",
		"Times a connection waited for room in max_buffer.",
		budget_waits);
	IFAMILY("ttlog_input_paused", "gauge",
		"1 while reading is stopped by back-pressure.", paused != 0);
	IFAMILY("ttlog_input_fields_skipped_total", "counter",
		"journal: field values left out of events (not UTF-8, longer "
		"than max_message, past the most fields an event keeps).",
		fields_skipped);
	IFAMILY("ttlog_input_kernel_drops_total", "counter",
		"UDP: datagrams the kernel dropped, the socket's receive "
		"buffer being full (also in ttlog_input_dropped_total).",
		kernel_drops);
	IFAMILY("ttlog_input_connections_refused_per_peer_total", "counter",
		"Connections refused over max_connections_per_peer.",
		refused_peer);
	IFAMILY("ttlog_input_accept_errors_total", "counter",
		"accept() failures (out of file descriptors); accepting "
		"pauses with back-off.",
		accept_errors);
	IFAMILY("ttlog_input_duplicate_keys_total", "counter",
		"syslog, jsonl: keys a message repeated; the last value of "
		"each was kept.",
		duplicate_keys);
	IFAMILY("ttlog_input_files_watched", "gauge",
		"tail: files open and followed now.", files_watched);
	IFAMILY("ttlog_input_lag_bytes", "gauge",
		"tail: bytes not yet read, summed over the open files "
		"(size - offset at the last look).",
		lag_bytes);
	IFAMILY("ttlog_input_rotations_total", "counter",
		"tail: files finished after they were renamed away or "
		"deleted.",
		rotations);
	IFAMILY("ttlog_input_truncations_total", "counter",
		"tail: files found shorter than the offset read (copytruncate) "
		"and read again from the start.",
		truncations);
	IFAMILY("ttlog_input_lines_cut_total", "counter",
		"tail: lines longer than max_line, cut and flagged truncated.",
		lines_cut);
	IFAMILY("ttlog_input_multiline_cut_total", "counter",
		"tail: multiline events cut at multiline.max_bytes.",
		multiline_cut);
	IFAMILY("ttlog_input_multiline_dropped_lines_total", "counter",
		"tail: lines dropped after their event was cut at "
		"multiline.max_bytes (also in ttlog_input_dropped_total).",
		multiline_dropped);
	IFAMILY("ttlog_input_rescans_total", "counter",
		"tail: full rescans after the inotify queue overflowed.",
		rescans);
}
