/*
 * kaf_options.c - the Kafka listener's options: the table the registry
 * applies, the producer configuration built from them (shared by check()
 * and create(), so that --check refuses exactly what a start would), and
 * check() itself. Every error begins with the option's key as the user
 * wrote it, which lets the registry place it at FILE:LINE:COL.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "kafka_internal.h"
#include "spool_options.h"

#define OPT(field) offsetof(struct kaf_options, field)

static const struct ttlog_option_value formats[] = {
	{"json", TTLOG_KAFKA_FMT_JSON},
	{"cbor", TTLOG_KAFKA_FMT_CBOR},
	{"ttlog", TTLOG_KAFKA_FMT_TTLOG},
	{"syslog", TTLOG_KAFKA_FMT_SYSLOG},
	{NULL, 0}};
static const struct ttlog_option_value compressions[] = {
	{"none", 0}, {"gzip", 1}, {"snappy", 2},
	{"lz4", 3},  {"zstd", 4}, {NULL, 0}};
const char *const ttlog__kaf_compressions[] = {"none", "gzip", "snappy", "lz4",
					       "zstd"};
/* Set by the listener itself: the delivery guarantee rests on them. */
static const char *const reserved[] = {"enable.idempotence", "acks",
				       "request.required.acks",
				       "enable.gapless.guarantee", NULL};

const struct ttlog_option_spec ttlog__kaf_option_table[] = {
	{TTLOG_OPTION_STRING, "brokers", NULL, OPT(brokers),
	 "bootstrap brokers, HOST:PORT separated by commas", NULL,
	 TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_STRING, "topic", NULL, OPT(topic),
	 "topic of each event, a template over its origin and fields "
	 "(logs.${service})",
	 NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_STRING, "key", "", OPT(key),
	 "message key, a template (${host}); empty: no key", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "format", "json", OPT(format),
	 "json, cbor, syslog: one event per message; ttlog: a whole batch "
	 "per message (constant topic and key only)",
	 TTLOG_OPTION_VALUES(formats), 0},
	{TTLOG_OPTION_ENUM_VALUES, "compression", "lz4", OPT(compression),
	 "compression of message sets (compression.codec)",
	 TTLOG_OPTION_VALUES(compressions), 0},
	{TTLOG_OPTION_STRING, "client_id", "", OPT(client_id),
	 "client.id (default ttlog)", NULL, 0},
	{TTLOG_OPTION_BOOL, "tls.enabled", "false", OPT(tls_enabled),
	 "talk TLS to the brokers", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ca", "", OPT(tls_ca),
	 "PEM file of CAs to verify brokers with (default: the system's)", NULL,
	 0},
	{TTLOG_OPTION_STRING, "tls.cert", "", OPT(tls_cert),
	 "client certificate (PEM)", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.key", "", OPT(tls_key),
	 "private key of tls.cert (PEM)", NULL, 0},
	{TTLOG_OPTION_BOOL, "tls.verify", "true", OPT(tls_verify),
	 "verify the brokers' certificates and names", NULL, 0},
	{TTLOG_OPTION_STRING, "sasl.mechanism", "", OPT(sasl_mechanism),
	 "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)", NULL, 0},
	{TTLOG_OPTION_STRING, "sasl.username", "", OPT(sasl_username),
	 "SASL user name", NULL, 0},
	{TTLOG_OPTION_STRING, "sasl.password", "", OPT(sasl_password),
	 "SASL password", NULL, 0},
	{TTLOG_OPTION_MAP, "properties", NULL, OPT(properties),
	 "librdkafka properties, set last (they override the options "
	 "above); enable.idempotence and acks are the listener's",
	 NULL, 0},
	{TTLOG_OPTION_SIZE, "buffer.max_bytes", "16MiB", OPT(buffer_max_bytes),
	 "memory for messages librdkafka holds (queue.buffering.max.kbytes); "
	 "past it the listener pushes back",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "message_timeout", "5m",
	 OPT(message_timeout_ms),
	 "a message not delivered within this fails (message.timeout.ms); "
	 "with a spool it is sent again from there",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "shutdown_timeout", "5s",
	 OPT(shutdown_timeout_ms),
	 "at shutdown, how long to wait for delivery reports", NULL, 0},
	TTLOG_SPOOL_OPTION_SPECS(struct kaf_options,
				 "directory of the disk spool (empty: memory "
				 "only); messages are written there before "
				 "they are produced",
				 spool_dir, spool_max_bytes,
				 spool_segment_bytes, spool_fsync,
				 spool_fsync_interval_ms, spool_overflow),
	{TTLOG_OPTION_STRING, "syslog.hostname", "", OPT(syslog_hostname),
	 "syslog: HOSTNAME (default: the event's origin, else this host's "
	 "name)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "syslog.app_name", "", OPT(syslog_app_name),
	 "syslog: APP-NAME (default: the event's service, else ttlog)", NULL,
	 0},
	{TTLOG_OPTION_STRING, "syslog.sd_id", "fields@32473", OPT(syslog_sd_id),
	 "syslog: SD-ID of the element carrying the fields", NULL, 0},
	{TTLOG_OPTION_INT, "syslog.facility", "1", OPT(syslog_facility),
	 "syslog: facility number 0..23 (1: user)", NULL, 0},
	{0},
};

static const char *or_null(const char *s)
{
	return s != NULL && s[0] != 0 ? s : NULL;
}

static int set_num(rd_kafka_conf_t *c, const char *name, uint64_t v,
		   const char *key, char *err, size_t errlen)
{
	char text[32];

	if (v > 2147483647u) {
		snprintf(err, errlen, "%s: %llu is too large", key,
			 (unsigned long long)v);
		return -1;
	}
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	return ttlog__kafka_conf_set(c, name, text, key, err, errlen);
}

rd_kafka_conf_t *ttlog__kaf_conf_new(const struct kaf_options *o, char *err,
				     size_t errlen)
{
	struct ttlog__kafka_conf_opts co = {
		.brokers = o->brokers,
		.client_id = or_null(o->client_id),
		.tls = o->tls_enabled,
		.tls_ca = o->tls_ca,
		.tls_cert = o->tls_cert,
		.tls_key = o->tls_key,
		.tls_verify = o->tls_verify,
		.sasl_mechanism = o->sasl_mechanism,
		.sasl_username = o->sasl_username,
		.sasl_password = o->sasl_password,
		.properties = NULL, /* set below, after our own */
		.reserved = reserved,
	};
	rd_kafka_conf_t *c = ttlog__kafka_conf_new(&co, err, errlen);
	uint64_t kib = o->buffer_max_bytes / 1024;

	if (c == NULL)
		return NULL;
	if (o->compression < 0 || o->compression > 4 ||
	    ttlog__kafka_conf_set(c, "compression.codec",
				  ttlog__kaf_compressions[o->compression],
				  "compression", err, errlen) != 0 ||
	    set_num(c, "queue.buffering.max.kbytes", kib ? kib : 1,
		    "buffer.max_bytes", err, errlen) != 0 ||
	    set_num(c, "message.timeout.ms", o->message_timeout_ms,
		    "message_timeout", err, errlen) != 0 ||
	    ttlog__kafka_conf_set(c, "enable.idempotence", "true", NULL, err,
				  errlen) != 0 ||
	    ttlog__kafka_conf_set(c, "acks", "all", NULL, err, errlen) != 0 ||
	    ttlog__kafka_conf_set(c, "statistics.interval.ms", "1000", NULL,
				  err, errlen) != 0 ||
	    /* Throughput over the last milliseconds of latency: fuller
	     * message sets (still within batch.size) cost the broker
	     * threads less per message. properties may set them back. */
	    ttlog__kafka_conf_set(c, "linger.ms", "50", NULL, err, errlen) !=
		    0 ||
	    ttlog__kafka_conf_set(c, "batch.num.messages", "100000", NULL, err,
				  errlen) != 0)
		goto fail;
	for (const char *const *p = o->properties; p != NULL && p[0] != NULL;
	     p += 2) {
		for (const char *const *r = reserved; *r != NULL; r++)
			if (strcmp(p[0], *r) == 0) {
				snprintf(err, errlen,
					 "properties.%s: set by the listener "
					 "itself (the idempotent producer with "
					 "acks=all); remove it",
					 p[0]);
				goto fail;
			}
		if (ttlog__kafka_conf_set(c, p[0], p[1] ? p[1] : "", NULL, err,
					  errlen) != 0)
			goto fail;
	}
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

static int compile(const char *key, const char *src, struct ttlog_template **t,
		   char *err, size_t errlen)
{
	char why[256] = "";

	if (ttlog_template_compile(src, 0, t, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

int ttlog__kaf_templates(const struct kaf_options *o,
			 struct ttlog_template **topic,
			 struct ttlog_template **key, char *err, size_t errlen)
{
	*topic = *key = NULL;
	if (o->topic == NULL || o->topic[0] == 0) {
		snprintf(err, errlen, "topic: must not be empty");
		return -1;
	}
	if (compile("topic", o->topic, topic, err, errlen) != 0 ||
	    (or_null(o->key) && compile("key", o->key, key, err, errlen) != 0))
		goto fail;
	if (o->format == TTLOG_KAFKA_FMT_TTLOG &&
	    (!ttlog_template_is_constant(*topic) ||
	     (*key != NULL && !ttlog_template_is_constant(*key)))) {
		snprintf(err, errlen,
			 "%s: format ttlog sends whole batches: the topic and "
			 "key must be constant (no ${...})",
			 ttlog_template_is_constant(*topic) ? "key" : "topic");
		goto fail;
	}
	return 0;
fail:
	ttlog_template_free(*topic);
	ttlog_template_free(*key);
	*topic = *key = NULL;
	return -1;
}

int ttlog__kaf_check(const void *options, char *err, size_t errlen)
{
	const struct kaf_options *o = options;
	struct ttlog_template *t, *k;
	rd_kafka_conf_t *c;

	if (ttlog__kaf_templates(o, &t, &k, err, errlen) != 0)
		return TTLOG_ECONFIG;
	ttlog_template_free(t);
	ttlog_template_free(k);
	if (o->syslog_facility < 0 || o->syslog_facility > 23) {
		snprintf(err, errlen, "syslog.facility: %lld is not in 0..23",
			 (long long)o->syslog_facility);
		return TTLOG_ECONFIG;
	}
	if (or_null(o->spool_dir) &&
	    o->spool_max_bytes <= o->spool_segment_bytes) {
		snprintf(err, errlen,
			 "spool.max_bytes: %llu must be larger than "
			 "spool.segment_bytes (%llu)",
			 (unsigned long long)o->spool_max_bytes,
			 (unsigned long long)o->spool_segment_bytes);
		return TTLOG_ECONFIG;
	}
	c = ttlog__kaf_conf_new(o, err, errlen);
	if (c == NULL)
		return TTLOG_ECONFIG;
	rd_kafka_conf_destroy(c);
	return 0;
}
