/*
 * forward_internal.h - the state of one forward listener, shared by
 * forward.c (the plugin glue: options, create, consume, draining),
 * fwd_native.c (the native protocol: window, spool replay, hello, ACKs),
 * fwd_text.c (syslog and JSON lines), fwd_conn.c (endpoints, connecting,
 * back-off), fwd_stream.c (TLS, reading, heartbeats, timeouts),
 * fwd_spool.c (the spool shared across a reload), fwd_metrics.c and
 * fwd_check.c (check(): the options, creating nothing). Everything runs on
 * the writer thread.
 */
#ifndef TTLOG_FORWARD_INTERNAL_H
#define TTLOG_FORWARD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include <ttlog/listener.h>

#include "fmt.h"
#include "spool.h"
#include "tls.h"
#include "wire.h"

struct bufferevent;
struct event;
struct evbuffer;
struct evdns_base;
struct evdns_getaddrinfo_request;

/* Bytes kept queued in the connection's output; refilled when it drops
 * under the low mark. */
#define FWD_OUT_HIGH (4u << 20)
#define FWD_OUT_LOW (1u << 20)
/* Largest message we accept from a collector (ACK, HEARTBEAT, CLOSE). */
#define FWD_OUR_MAX_FRAME 65536

enum fwd_format { FWD_TTLOG = 0, FWD_SYSLOG = 1, FWD_JSONL = 2 };
enum fwd_scheme { FWD_TLS = 0, FWD_TCP = 1, FWD_UNIX = 2 };

/* The options as the registry fills them (strings valid in create()). */
struct fwd_options {
	char *endpoints;
	int format; /* enum fwd_format */
	char *service;
	uint64_t connect_timeout_ms, write_timeout_ms, ack_timeout_ms;
	uint64_t heartbeat_ms, drain_timeout_ms;
	uint64_t reconnect_initial_ms, reconnect_max_ms;
	uint64_t window_bytes;
	int compress;
	char *tls_ca_file, *tls_ca_dir, *tls_cert, *tls_key;
	char *tls_ciphers, *tls_ciphersuites, *tls_server_name, *tls_pins;
	int tls_min_version, tls_verify;
	char *spool_dir;
	uint64_t spool_max_bytes, spool_segment_bytes;
	int spool_fsync; /* enum ttlog__spool_fsync */
	uint64_t spool_fsync_interval_ms;
	int spool_overflow; /* enum ttlog__spool_overflow */
	char *syslog_hostname, *syslog_app_name, *syslog_sd_id;
	int64_t syslog_facility;
};

struct fwd_endpoint {
	int scheme; /* enum fwd_scheme */
	char *host; /* tls/tcp */
	char port[8];
	char *path; /* unix */
	char *text; /* as configured, for messages */
};

/* One frame of the native protocol kept in memory until acknowledged. */
struct fwd_frame {
	uint64_t seq;
	struct ttlog_batch *batch; /* a reference */
	const void *payload;	   /* borrowed from the batch's encoding */
	size_t len;
	uint32_t count;
};

/* A frame sent on the current connection and not yet acknowledged. */
struct fwd_sent {
	uint64_t seq;
	size_t bytes;
	uint32_t count; /* its events */
};

enum fwd_conn_state {
	FWD_IDLE = 0,	       /* waiting to (re)connect */
	FWD_RESOLVING = 1,     /* name lookup */
	FWD_CONNECTING = 2,    /* TCP (or unix) connect */
	FWD_TLS_HANDSHAKE = 3, /* connected; the TLS handshake under way */
	FWD_HELLO = 4,	       /* our hello sent, waiting for the peer's */
	FWD_READY = 5,
};

#define FWD_TLS_REASONS 10

/* One open spool of this process and the instances attached to it
 * (fwd_spool.c). */
struct fwd_spool_ref {
	uint64_t dev, ino; /* of its directory */
	struct ttlog__spool *spool;
	struct fwd *owner; /* appends, sends and takes ACKs */
	struct fwd *heir;  /* waits for the owner's destroy(), or NULL */
	int refs;	   /* instances attached: 1 or 2 */
	struct fwd_spool_ref *next;
};

struct fwd_stats {
	uint64_t connects, disconnects, connect_failures;
	uint64_t tls_failures[FWD_TLS_REASONS];
	uint64_t frames_sent, frames_resent, bytes_sent, events_acked;
	uint64_t dropped_too_large, dropped_shutdown, ack_timeouts;
	uint64_t protocol_errors, peer_closes;
	uint64_t sd_renames; /* syslog: keys renamed to be PARAM-NAMEs */
};

struct fwd {
	/* configuration (owned copies) */
	int format;
	char *service;
	uint64_t connect_timeout_ms, write_timeout_ms, ack_timeout_ms;
	uint64_t heartbeat_ms, drain_timeout_ms;
	uint64_t reconnect_initial_ms, reconnect_max_ms;
	uint64_t window_bytes, fsync_interval_ms;
	int compress;
	struct fwd_endpoint *ep;
	size_t nep;
	struct ttlog__tls_opts tls;
	char *tls_strings[8]; /* owned copies behind tls */
	char *server_name;
	uint8_t pins[TTLOG_TLS_MAX_PINS][32];
	size_t npins;
	SSL_CTX *ctx; /* when any endpoint is tls:// */
	struct ttlog__syslog_fmt sfmt;
	char *sfmt_strings[3];
	char hostname[256];
	char procid[16];

	/* The writer's loop, from the host's escape hatch (bufferevents and
	 * OpenSSL need libevent itself); NULL before start2(). */
	struct event_base *base;
	/* Borrowed from create2() until destroy() returns: the name and the
	 * log every report goes through. */
	const struct ttlog_host *host;
	struct evdns_base *dns;
	struct event *retry_ev; /* reconnect / back-off and connect timeout */
	struct event *tick_ev;	/* heartbeat, ack timeout, spool fsync */

	/* connection */
	int state;	     /* enum fwd_conn_state */
	size_t cur;	     /* endpoint index */
	size_t failed_round; /* endpoints failed in a row */
	uint64_t backoff_ms;
	struct bufferevent *bev;
	struct event *conn_ev; /* waiting for a TCP connect to finish */
	int conn_fd;
	struct evdns_getaddrinfo_request *dnsreq;
	SSL *ssl; /* owned by bev once made */
	int magic_seen;
	struct ttlog__wire_hello peer;
	uint64_t peer_window, peer_max_frame, peer_heartbeat_ms;
	uint64_t conn_start_ms, last_rx_ms, last_tx_ms, ack_wait_ms;
	char last_error[512];
	int error_reported; /* the current failure streak was reported */
	uint64_t last_report_ms, last_sync_ms;
	uint64_t rename_report_ms; /* syslog: last "key renamed" report */
	int rename_reported;

	/* native protocol: frames */
	uint8_t id[TTLOG_WIRE_ID_LEN];
	struct ttlog__spool *spool; /* shared through spool_ref */
	struct fwd_spool_ref *spool_ref;
	/* Attached to the spool of the instance this one replaces: it
	 * neither sends nor takes frames until that one is destroyed. */
	int spool_waiting;
	struct ttlog__spool_opts spool_opts; /* dir not kept */
	const char *spool_opts_dir; /* the dir, while the spool opens */
	uint64_t last_seq;	    /* highest assigned */
	uint64_t acked;		    /* highest acknowledged */
	uint64_t mem_hi;	    /* frames (acked, mem_hi] are in win */
	uint64_t next_send;	    /* on this connection */
	uint64_t max_sent;	    /* highest seq ever sent (for RESENT) */
	uint64_t spool_cursor;	    /* seq the spool reader returned last */
	struct fwd_frame *win;
	size_t whead, wlen, wcap;
	uint64_t win_bytes;
	struct fwd_sent *sentq;
	size_t shead, slen, scap;
	uint64_t inflight;

	/* syslog and jsonl: bytes not yet taken by the kernel */
	struct evbuffer *pend;
	uint64_t pend_base; /* stream offset of pend's first byte */
	uint64_t fed;	    /* stream offset fed to the connection */
	uint64_t *bounds;   /* message end offsets in pend, ascending */
	size_t bhead, blen, bcap;
	struct ttlog__fmt_buf fbuf;

	/* ABI 1.4, without a spool (fwd_durable.c): the batches taken and
	 * not yet confirmed durable, each with where it ends in what is sent
	 * (frame seq, or stream offset of the text formats). */
	int defer;
	struct fwd_dur {
		uint64_t end, seq;
	} * dur;
	size_t dhead, dlen, dcap;

	/* shutdown */
	uint64_t drain_deadline_ms;
	int draining_done;

	struct fwd_stats st;
};

/* forward.c */
/* Doubles a ring buffer of `elem`-byte items (at least 64), oldest first
 * at index 0 of the new array; *head becomes 0. Returns the new array
 * (the old one is freed), or NULL with nothing changed. */
void *ttlog__fwd_ring_grow(void *items, size_t elem, size_t *head, size_t len,
			   size_t *cap);
uint64_t ttlog__fwd_now_ms(void);
/* Reports through the host's log as `what` (a short constant) with the
 * printf-style detail. */
void ttlog__fwd_report(struct fwd *f, int level, const char *what,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* fwd_native.c */
/* consume() for format ttlog: the batch becomes the next frame. */
int ttlog__fwd_native_consume(struct fwd *f, struct ttlog_batch *b);
/* Drops the oldest frame of the window (and its batch reference). */
void ttlog__fwd_native_win_pop(struct fwd *f);
/* Acknowledgement of everything up to seq (from an ACK or a hello). */
void ttlog__fwd_acked(struct fwd *f, uint64_t seq);
/* Sends what the window, the spool and the peer's window allow. */
void ttlog__fwd_pump(struct fwd *f);
/* Queues the magic and our hello; the state becomes FWD_HELLO. */
void ttlog__fwd_native_send_hello(struct fwd *f);
/* Handles one message from the collector; -1 when the connection was
 * closed. m is borrowed. */
int ttlog__fwd_native_message(struct fwd *f, const struct ttlog__wire_msg *m);

/* fwd_text.c */
/* consume() for formats syslog and jsonl: the batch's messages go to pend. */
int ttlog__fwd_text_consume(struct fwd *f, struct ttlog_batch *b);
/* The text formats: drops from pend what the kernel has taken. */
void ttlog__fwd_text_confirm(struct fwd *f);
/* Copies from pend to out what was not fed to the connection yet. */
void ttlog__fwd_text_pump(struct fwd *f, struct evbuffer *out);

/* fwd_check.c: check() of the listener table (ABI 1.3); creates
 * nothing. */
int ttlog__fwd_check(const void *options, char *err, size_t errlen);

/* fwd_conn.c */
int ttlog__fwd_parse_endpoints(struct fwd *f, const char *list, char *err,
			       size_t errlen);
void ttlog__fwd_conn_start(struct fwd *f);
void ttlog__fwd_conn_close(struct fwd *f, const char *why);
/* Closes the connection after a failure (reported, counted under
 * tls_reason when that is 0..FWD_TLS_REASONS-1) and plans the next
 * attempt. */
void ttlog__fwd_fail(struct fwd *f, int tls_reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *ttlog__fwd_state_name(int state);
extern const char *const ttlog__fwd_tls_reasons[FWD_TLS_REASONS];

/* fwd_stream.c */
/* The TCP (or unix) socket fd is connected: wraps it in TLS or not; the
 * connection owns fd from here, failures included. */
void ttlog__fwd_stream_open(struct fwd *f, evutil_socket_t fd);
void ttlog__fwd_became_ready(struct fwd *f);
void ttlog__fwd_tick(struct fwd *f);

/* fwd_spool.c */
/* Opens the spool so names (or, when the instance of the same listener
 * has it open, attaches to it and waits for that one's destroy()); sets
 * the sender id and the seq state from it. 0, or -1 with err. */
int ttlog__fwd_spool_open(struct fwd *f, const struct ttlog__spool_opts *so,
			  char *err, size_t errlen);
/* Detaches f (from destroy()): hands the spool to a waiting instance,
 * or closes it, saying what stays on disk. */
void ttlog__fwd_spool_close(struct fwd *f);
/* Non-zero when f owns its spool and the instance that replaces it
 * waits for it: what f has not delivered is in the spool, and the new
 * instance sends it. */
int ttlog__fwd_spool_handing_over(const struct fwd *f);

/* fwd_durable.c */
/* From create2(): without a spool, tells the host that an OK is not yet
 * durable (when the host knows ABI 1.4). */
void ttlog__fwd_durable_defer(struct fwd *f);
/* Before consume() takes anything: room to remember one more batch.
 * 0, or -1 when out of memory (the batch is then refused with RETRY). */
int ttlog__fwd_durable_reserve(struct fwd *f);
/* consume() answered OK for the batch with this seq. */
void ttlog__fwd_durable_took(struct fwd *f, uint64_t batch_seq);
/* The collector confirmed more (an ACK, or its TCP took more text):
 * confirms the batches now safe to the host. */
void ttlog__fwd_durable_check(struct fwd *f);

/* fwd_metrics.c */
void ttlog__fwd_metrics(void *state, ttlog_metric_emit_fn emit, void *ctx);

#endif /* TTLOG_FORWARD_INTERNAL_H */
