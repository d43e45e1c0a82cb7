/*
 * input_kafka.h - the kafka input (type: kafka, docs/kafka.md): a
 * consumer group read on the writer's loop, its messages decoded into
 * events (the formats of kafka/kafka_conf.h), and offsets committed only
 * once the listeners hold the events durably. Writer thread, except the
 * decoders, which are pure functions.
 *
 * Files: input_kafka.c (the consumer on the loop, reading, pausing),
 * input_kafka_offsets.c (partitions, hand-over notes, commits,
 * rebalances), input_kafka_decode.c (formats into events),
 * input_kafka_check.c (options and the librdkafka configuration).
 */
#ifndef TTLOG_INPUT_KAFKA_H
#define TTLOG_INPUT_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "host_internal.h"
#include "origin_internal.h"
#include "ratelimit.h"
#include "wire_payload.h"

struct ttlog__input;
struct ttlog__input_opts;
struct ttlog__input_stats;
struct event;

/* Messages read in one turn of the loop at most: a long backlog shares
 * the writer thread with everything else on it. */
#define TTLOG__KAFKA_CHUNK 512
/* Messages taken from one partition before the next one's turn. */
#define TTLOG__KAFKA_QUOTA 64
/* Offsets are committed at most this often (and at a revoke and stop). */
#define TTLOG__KAFKA_COMMIT_EVERY_NS 200000000u
/* The housekeeping tick: commits due, resuming, watermarks. */
#define TTLOG__KAFKA_TICK_US 100000u
/* Hand-over notes kept at most; past that a partition's note waits for
 * the next turn (notes are cumulative, nothing is lost by waiting). */
#define TTLOG__KAFKA_PEND_MAX 65536u

/* What a message is decoded as: the formats of kafka_conf.h, and raw. */
#define TTLOG__KAFKA_FMT_RAW 5

/* One partition this consumer has (had) assigned. */
struct ttlog__kafka_part {
	char *topic;
	int32_t partition;
	uint32_t epoch; /* bumped at each assignment: older notes are void */
	int assigned;
	int64_t next;	   /* offset after the last message read */
	int64_t noted;	   /* `next` at its last hand-over note */
	int64_t durable;   /* events before it are durable; -1: none yet */
	int64_t committed; /* last offset committed or being committed */
	char peer[192];	   /* "TOPIC/PARTITION", the events' peer */
	/* Its own queue while assigned, not forwarded to the consumer
	 * queue, so that a turn can take from each partition in turn. */
	rd_kafka_queue_t *q;
};

/* A hand-over: the events of partition `part` before `offset` are in
 * the batch numbered `no` (or an earlier one). */
struct ttlog__kafka_pend {
	uint64_t no;
	int64_t offset;
	uint32_t part, epoch;
};

struct ttlog__kafka {
	struct ttlog__input *in;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q; /* the consumer queue */
	int pipe[2];	     /* librdkafka writes a byte when q fills */
	struct event *io, *wake, *tick;
	int format;	  /* TTLOG_KAFKA_FMT_*, TTLOG__KAFKA_FMT_RAW */
	size_t max_frame; /* largest ttlog batch */
	int paused;	  /* the assignment is paused */
	size_t rr;	  /* the partition that goes first next turn */
	int closing;
	struct ttlog__kafka_part *parts;
	size_t nparts, parts_cap;
	struct ttlog__kafka_pend *pend; /* ring */
	size_t pend_head, pend_len, pend_cap;
	uint64_t last_commit_ns;
	int commit_due;
	struct ttlog__ratelimit err_rl, bad_rl;
	/* Decoding: the ttlog batches' scratch, copies of call-site files
	 * (CBOR text is not NUL-terminated), the message being decoded. */
	struct ttlog__wire_scratch ws;
	struct ttlog__scratch sbuf;
	const struct ttlog__kafka_part *cur;
};

/* ---- input_kafka.c ---- */
int ttlog__kafka_start(struct ttlog__input *in,
		       const struct ttlog__input_opts *o, char *err,
		       size_t errlen);
void ttlog__kafka_enable(struct ttlog__input *in);
/* Commits what is durable, leaves the group and frees the consumer. */
void ttlog__kafka_stop(struct ttlog__input *in);
/* The durable number moved: notes advance, commits, resuming. */
void ttlog__kafka_taken(struct ttlog__input *in);
void ttlog__kafka_get_stats(const struct ttlog__input *in,
			    struct ttlog__input_stats *out);
size_t ttlog__kafka_partition_lags(const struct ttlog__input *in, size_t max,
				   void (*fn)(void *arg, const char *topic,
					      int32_t partition, int64_t lag),
				   void *arg);
/* Warns (rate-limited) about the consumer: what, why. */
void ttlog__kafka_warn(struct ttlog__kafka *k, const char *what,
		       const char *why);

/* ---- input_kafka_offsets.c ---- */
/* The partition's slot (added when new); NULL out of memory. */
struct ttlog__kafka_part *ttlog__kafka_part_get(struct ttlog__kafka *k,
						const char *topic,
						int32_t partition);
/* After a hand-over numbered no: notes each partition read past its
 * last note. */
void ttlog__kafka_note(struct ttlog__kafka *k, uint64_t no);
/* Moves the durable offsets up to ttlog__host_durable(); commits when
 * due or when force (revoke, stop). */
void ttlog__kafka_advance(struct ttlog__kafka *k, int force);
/* librdkafka's callbacks, served on the writer by the consumer poll. */
void ttlog__kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts,
			       void *opaque);
void ttlog__kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			    rd_kafka_topic_partition_list_t *offsets,
			    void *opaque);
/* Pauses (on 1) or resumes (0) every assigned partition. */
void ttlog__kafka_pause(struct ttlog__kafka *k, int on);
/* Releases the partition's own queue, if it has one. */
void ttlog__kafka_part_unqueue(struct ttlog__kafka_part *p);
/* Frees the partitions (their queues first: before rd_kafka_destroy). */
void ttlog__kafka_parts_free(struct ttlog__kafka *k);

/* ---- input_kafka_decode.c ---- */
/*
 * The format of one message: the configured one, or for TTLOG_KAFKA_FMT_AUTO
 * the ttlog-format header's (hdr, hlen; NULL: none), else json when the
 * value starts with '{', syslog with '<', else raw. An unknown header
 * value is -1 (the message is undecodable).
 */
int ttlog__kafka_detect(int configured, const char *hdr, size_t hlen,
			const void *value, size_t len);
/*
 * Decodes one message of the cbor format (kafka_conf.h) into ev and the
 * origin strings it carries (org: the "o" map's; others left as they
 * are). Strings point into the message, except the call site's file,
 * copied NUL-terminated into sbuf (reset here). ev->source is "kafka"
 * without a call site.
 * @return 0, or -1 with err naming what is wrong and where.
 */
int ttlog__kafka_cbor_decode(
	const void *value, size_t len, struct ttlog__in_event *ev,
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS],
	struct ttlog__scratch *sbuf, char *err, size_t errlen);
/* Decodes message m as k's format and ingests its events. */
void ttlog__kafka_ingest(struct ttlog__kafka *k, const rd_kafka_message_t *m,
			 struct ttlog__kafka_part *p);

/* ---- input_kafka_check.c ---- */
/* The options of a kafka input; errors "KEY: reason". */
int ttlog__kafka_check(const struct ttlog__input_opts *o, char *err,
		       size_t errlen);
/* The first kafka option set on an input of another type ("format" for
 * auto, cbor and ttlog), or NULL. */
const char *ttlog__kafka_misplaced(const struct ttlog__input_opts *o);
/* Its librdkafka configuration (caller owns it), or NULL with err. */
rd_kafka_conf_t *ttlog__kafka_input_conf(const struct ttlog__input_opts *o,
					 char *err, size_t errlen);
/* The reload key: the name and a hash of every option (an unchanged
 * input keeps its consumer, a changed one is replaced). */
int ttlog__kafka_key(const struct ttlog__input_opts *o, char *key,
		     size_t keylen);

#endif /* TTLOG_INPUT_KAFKA_H */
