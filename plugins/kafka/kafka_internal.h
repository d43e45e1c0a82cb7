/*
 * kafka_internal.h - the state of one Kafka listener, shared by kafka.c
 * (the plugin glue: create, start, consume, draining, destroy),
 * kaf_options.c (the option table and check()), kaf_produce.c (producing
 * a batch's messages and their delivery reports), kaf_format.c (the
 * message formats), kaf_cbor.c (the per-event CBOR map), kaf_record.c
 * (the spool record codec), kaf_spool.c (the write-ahead spool) and
 * kaf_metrics.c. Everything runs on the writer thread: librdkafka's
 * callbacks are served by rd_kafka_poll(), which only the writer calls.
 */
#ifndef TTLOG_KAFKA_INTERNAL_H
#define TTLOG_KAFKA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include <ttlog/batch.h>
#include <ttlog/listener.h>
#include <ttlog/template.h>

#include "buf.h"
#include "fmt.h"
#include "kafka_conf.h"
#include "spool.h"

/* Reasons of loss kept apart in the metrics; more are summed as "other". */
#define KAF_REASONS 16
/* Brokers whose connection state the metrics report. */
#define KAF_BROKERS 32
/* Topic handles kept (kaf_produce.c): the topics last produced to. */
#define KAF_TOPICS 8

/* The options as the registry fills them (strings valid in create() and
 * check() only). */
struct kaf_options {
	char *brokers, *topic, *key;
	int format;	 /* enum ttlog__kafka_format */
	int compression; /* index in ttlog__kaf_compressions */
	char *client_id;
	int tls_enabled;
	char *tls_ca, *tls_cert, *tls_key;
	int tls_verify;
	char *sasl_mechanism, *sasl_username, *sasl_password;
	const char *const *properties;
	uint64_t buffer_max_bytes, message_timeout_ms, shutdown_timeout_ms;
	char *spool_dir;
	uint64_t spool_max_bytes, spool_segment_bytes;
	int spool_fsync;
	uint64_t spool_fsync_interval_ms;
	int spool_overflow;
	char *syslog_hostname, *syslog_app_name, *syslog_sd_id;
	int64_t syslog_facility;
};

/* One batch taken (or being taken): its messages produced and not yet
 * reported. A message's opaque points here. */
struct kaf_batch {
	struct kaf_batch *next;
	/* ttlog_batch_seq(), confirmed with durable(); with a spool, the
	 * seq of the spool record the messages were read from. */
	uint64_t seq;
	uint32_t events;  /* in the batch */
	uint32_t pending; /* messages produced, no delivery report yet */
	uint32_t per_msg; /* events per message (1, or all: ttlog) */
	int taken;	  /* every message enqueued (or given up on) */
	uint32_t redo;	  /* spool: messages that timed out: resend */
};

struct kaf_reason {
	const char *name; /* rd_kafka_err2name(), static storage */
	uint64_t events;
};

struct kaf_broker {
	char name[128]; /* host:port */
	int up;
};

struct kaf_topic {
	char *name; /* NULL: a free slot */
	rd_kafka_topic_t *rkt;
};

struct kaf_stats {
	uint64_t msgs_produced, bytes_produced;
	uint64_t msgs_delivered, bytes_delivered, events_delivered;
	uint64_t queue_full;
	uint64_t lat_sum_us, lat_count, lat_max_us; /* max: since scrape */
	uint64_t lost_shutdown;
	uint64_t spool_replayed, spool_resent;
};

struct kaf {
	const struct ttlog_host *host; /* borrowed until destroy() returns */
	rd_kafka_t *rk;
	rd_kafka_queue_t *mainq;
	int pipe_rd, pipe_wr;
	struct ttlog_host_watch *watch;
	struct ttlog_host_timer *timer;

	/* configuration */
	int format;
	struct ttlog_template *topic_t, *key_t; /* key_t NULL: no key */
	char *topic_const, *key_const;		/* ttlog: expanded once */
	uint64_t shutdown_timeout_ms, fsync_interval_ms;
	size_t msg_max; /* message.max.bytes */
	struct ttlog__syslog_fmt sfmt;
	char *sfmt_strings[3];
	char hostname[256];
	char procid[16];

	/* scratch, reused */
	struct ttlog__fmt_buf fbuf;
	struct ttlog__buf cbuf;
	struct ttlog__buf rbuf; /* the spool record being built */
	char *topic_buf, *key_buf;
	size_t topic_cap, key_cap;
	struct kaf_topic topics[KAF_TOPICS];
	size_t topic_next; /* the slot a new topic takes */

	/* batches taken, oldest first; the one a RETRY left half done */
	struct kaf_batch *head, *tail;
	struct kaf_batch *cur;
	const struct ttlog_batch *cur_ptr;
	size_t cur_index;
	size_t cur_pos; /* json: where event cur_index's line starts */
	int defer;

	/* spool (kaf_spool.c): NULL without spool.dir */
	struct ttlog__spool *spool;
	struct kaf_spool_ref *spool_ref;
	struct ttlog__spool_opts spool_opts; /* dir not kept */
	int spool_waiting; /* the previous instance still owns it */
	uint64_t last_rec; /* highest record appended */
	uint64_t read_rec; /* highest record the reader returned */
	uint64_t last_sync_ms;
	/* The record being produced: a copy, the tracker and the next
	 * message; resend: a record read again out of order. */
	struct ttlog__buf pbuf;
	struct kaf_batch *pump_t;
	size_t pump_off;
	int pump_resend;

	/* shutdown */
	uint64_t drain_deadline_ms;
	int closing, drained;

	struct kaf_reason reasons[KAF_REASONS];
	uint64_t lost_other;
	struct kaf_broker brokers[KAF_BROKERS];
	size_t nbrokers;
	struct kaf_stats st;
};

/* kaf_options.c */
extern const struct ttlog_option_spec ttlog__kaf_option_table[];
extern const char *const ttlog__kaf_compressions[];
/* check() of the listener table; creates nothing. */
int ttlog__kaf_check(const void *options, char *err, size_t errlen);
/* The producer's configuration from o (every mapped option, then the
 * properties). NULL with err "KEY: reason". */
rd_kafka_conf_t *ttlog__kaf_conf_new(const struct kaf_options *o, char *err,
				     size_t errlen);
/* Compiles the topic and key templates (err "topic: column N: ..."); the
 * caller frees both. 0 or -1. */
int ttlog__kaf_templates(const struct kaf_options *o,
			 struct ttlog_template **topic,
			 struct ttlog_template **key, char *err, size_t errlen);

/* kafka.c */
uint64_t ttlog__kaf_now_ms(void);

/* kaf_produce.c */
/* The delivery report callback (rd_kafka_conf_set_dr_msg_cb). */
void ttlog__kaf_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
			    void *opaque);
/* librdkafka's statistics (broker states). */
int ttlog__kaf_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);
void ttlog__kaf_on_log(const rd_kafka_t *rk, int level, const char *fac,
		       const char *buf);
void ttlog__kaf_on_error(rd_kafka_t *rk, int err, const char *reason,
			 void *opaque);
/* Produces one message for tracker t; 0 (enqueued, or failed for good:
 * counted), or 1 when librdkafka's queue is full. */
int ttlog__kaf_produce(struct kaf *k, struct kaf_batch *t, const char *topic,
		       const char *key, size_t keylen, int fmt,
		       const void *value, size_t len);
/* Counts `events` lost for reason, logging the reason's first loss. */
void ttlog__kaf_lost(struct kaf *k, const char *reason, const char *topic,
		     uint64_t events);
/* Confirms to the host the batches now complete, oldest first. */
void ttlog__kaf_settle(struct kaf *k);
/* Serves librdkafka's queue (delivery reports, statistics). */
void ttlog__kaf_poll(struct kaf *k);
/* Drops a cached topic handle (before rd_kafka_destroy()). */
void ttlog__kaf_topic_drop(struct kaf_topic *e);

/* kaf_format.c */
/* Produces the messages of batch b from event `*index` on for tracker t;
 * 0 when all are enqueued, 1 on a full queue (*index: where to resume),
 * -1 when out of memory. */
int ttlog__kaf_format_batch(struct kaf *k, struct ttlog_batch *b,
			    struct kaf_batch *t, size_t *index);

/* kaf_cbor.c: the per-event CBOR map of kafka_conf.h, appended to out
 * (check out->oom). o may be NULL. */
void ttlog__kaf_cbor_event(struct ttlog__buf *out, const struct ttlog_event *ev,
			   const struct ttlog_origin *o);

/* kaf_record.c: the spool record codec (docs/kafka.md, "Spool"). */
struct kaf_msg {
	int format;
	const char *topic, *key; /* key NULL: none */
	size_t topic_len, key_len;
	const void *value;
	size_t len;
};
/* Appends one message to a record being built. */
void ttlog__kaf_record_put(struct ttlog__buf *rec, const struct kaf_msg *m);
/* Reads the message at *off of a record (pointers into it) and moves
 * *off past it: 1, 0 at the end, -1 when damaged. */
int ttlog__kaf_record_next(const void *rec, size_t len, size_t *off,
			   struct kaf_msg *m);

/* kaf_spool.c */
/* One open spool of this process, shared across a reload by the
 * instances of one listener (the old one owns it until destroyed). */
struct kaf_spool_ref {
	uint64_t dev, ino;
	struct ttlog__spool *spool;
	struct kaf *owner, *heir;
	struct kaf_spool_ref *next;
};
int ttlog__kaf_spool_open(struct kaf *k, const struct kaf_options *o, char *err,
			  size_t errlen);
void ttlog__kaf_spool_close(struct kaf *k);
/* consume() with a spool: the batch becomes one record. */
int ttlog__kaf_spool_consume(struct kaf *k, struct ttlog_batch *b);
/* Produces records from the spool while librdkafka has room. */
void ttlog__kaf_spool_pump(struct kaf *k);
/* The fsync interval. */
void ttlog__kaf_spool_tick(struct kaf *k);
/* Records up to seq are delivered: acknowledged in the spool. */
void ttlog__kaf_spool_done(struct kaf *k, uint64_t seq);
/* t's record had messages time out: produce it again. 0 when done (t is
 * then in flight again), -1 when not now. */
int ttlog__kaf_spool_resend(struct kaf *k, struct kaf_batch *t);
/* Records not yet delivered (appended and not acknowledged). */
int ttlog__kaf_spool_unsent(const struct kaf *k);
/* The replacing instance waits for this one's spool. */
int ttlog__kaf_spool_handing_over(const struct kaf *k);

/* kaf_metrics.c */
void ttlog__kaf_metrics(void *state, ttlog_metric_emit_fn emit, void *ctx);

#endif /* TTLOG_KAFKA_INTERNAL_H */
