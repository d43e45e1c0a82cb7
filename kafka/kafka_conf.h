/*
 * kafka_conf.h - what the Kafka listener (plugins/kafka) and the Kafka
 * input (agent/inputs/input_kafka.c) share: their common options mapped
 * onto a librdkafka configuration, and the message formats they agree on
 * (docs/kafka.md, "Messages").
 *
 * Every error names the option as the user wrote it, first and followed
 * by ": " ("tls.ca: ...", "properties.linger.ms: ..."), so that the
 * registry (listeners) and the input's checker place it at that key's
 * line and column.
 */
#ifndef TTLOG_KAFKA_CONF_H
#define TTLOG_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* The options both sides have, as the configuration gives them. Strings
 * may be NULL or "" for "not set". */
struct ttlog__kafka_conf_opts {
	const char *brokers;   /* bootstrap.servers, "host:port,..." */
	const char *client_id; /* client.id; NULL: "ttlog" */
	/* TLS: on when tls is non-zero. verify (default on) checks the
	 * brokers' certificates against ca (else the system's store) and
	 * their names against the broker address. cert and key: a client
	 * certificate (both or neither). */
	int tls;
	const char *tls_ca, *tls_cert, *tls_key;
	int tls_verify;
	/* SASL: mechanism NULL/"" for none, else PLAIN, SCRAM-SHA-256 or
	 * SCRAM-SHA-512 (username and password then required). With TLS
	 * the protocol is SASL_SSL, else SASL_PLAINTEXT. */
	const char *sasl_mechanism, *sasl_username, *sasl_password;
	/* properties: key, value, ..., NULL (TTLOG_OPTION_MAP's form), set
	 * last, so that they may override the mapped options. The keys in
	 * `reserved` (NULL-terminated, may be NULL) are refused: the caller
	 * sets them itself to keep its guarantees (enable.idempotence,
	 * acks, enable.auto.commit, ...), and the error says so. */
	const char *const *properties;
	const char *const *reserved;
};

/*
 * Makes a librdkafka configuration from o: bootstrap.servers, client.id,
 * security.protocol, ssl.*, sasl.*, then the properties, each through
 * rd_kafka_conf_set(), whose refusal is reported with the option's key.
 * Checks only what librdkafka checks at rd_kafka_conf_set() time plus the
 * files named being readable; it connects to nothing.
 * @return the configuration (the caller owns it: rd_kafka_new() or
 *         rd_kafka_conf_destroy()), or NULL with err ("KEY: reason").
 */
rd_kafka_conf_t *ttlog__kafka_conf_new(const struct ttlog__kafka_conf_opts *o,
				       char *err, size_t errlen);

/* rd_kafka_conf_set() with the error in our form: "KEY: librdkafka's
 * reason". key_for_user is the option's key as the user wrote it (NULL:
 * "properties.NAME"). Returns 0 or -1. */
int ttlog__kafka_conf_set(rd_kafka_conf_t *conf, const char *name,
			  const char *value, const char *key_for_user,
			  char *err, size_t errlen);

/*
 * Messages (docs/kafka.md): the listener's cbor and ttlog messages carry
 * the header TTLOG_KAFKA_FORMAT_HEADER whose value names their format;
 * its json and syslog messages carry no header, since their first byte
 * tells ('{', '<') and a header per message is a large part of the cost
 * of producing one. An input with `format: auto` reads the header when
 * there is one; a message without it is taken as json when its value
 * starts with '{', syslog when it starts with '<', else as one raw line.
 *   json    one event: the object of the JSON lines encoding (no '\n')
 *   syslog  one event: an RFC 5424 message (no octet count, no '\n')
 *   cbor    one event: a CBOR map, see below
 *   ttlog   a whole batch: the native protocol's payload, the CBOR batch
 *           (docs/cbor-batch.md, with its origin table) in one LZ4 frame;
 *           only with constant topic and key
 * The cbor map (definite lengths, text keys, in this order, absent keys
 * left out):
 *   "t"  unsigned: the event's time, ns since the Unix epoch
 *   "l"  unsigned: the level (TTLOG_LEVEL_*)
 *   "m"  text: the message
 *   "o"  map of text to text: the origin strings that are set (host,
 *        service, input, peer, peer_id, relay)
 *   "s"  array [file (text), line (unsigned), tid (unsigned)]: the call
 *        site, when the event has a source line
 *   "f"  array of [key (text), value] pairs, in the event's order (keys
 *        may repeat): value unsigned, negative, float64, bool or text
 *   "x"  unsigned: the event's flags (TTLOG_EVENT_TRUNCATED), when not 0
 */
#define TTLOG_KAFKA_FORMAT_HEADER "ttlog-format"

enum ttlog__kafka_format {
	TTLOG_KAFKA_FMT_AUTO = 0, /* inputs only: the header decides */
	TTLOG_KAFKA_FMT_JSON = 1,
	TTLOG_KAFKA_FMT_CBOR = 2,
	TTLOG_KAFKA_FMT_TTLOG = 3,
	TTLOG_KAFKA_FMT_SYSLOG = 4,
};

/* "json", ... for a format; NULL for AUTO or an unknown value. */
const char *ttlog__kafka_format_name(int fmt);
/* The format a header value names, or -1. */
int ttlog__kafka_format_parse(const char *s, size_t len);

#endif /* TTLOG_KAFKA_CONF_H */
