/*
 * input_kafka_check.c - a kafka input's options: checked at load (every
 * error starts with the option's key, so that the load places it at that
 * key's line), turned into the consumer's librdkafka configuration, and
 * reduced to the key that tells a reload whether the input changed.
 */
#define _GNU_SOURCE
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"
#include "input_kafka.h"
#include "kafka_conf.h"

/* Set by the input itself, to keep its guarantees: offsets are stored
 * and committed by the input once events are durable; where a group
 * without offsets starts is `start_at`. */
static const char *const reserved[] = {
	"group.id",	     "enable.auto.commit",   "enable.auto.offset.store",
	"auto.offset.reset", "enable.partition.eof", NULL,
};

static int set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* The keys of other types a kafka input refuses, the first one set. */
static const char *foreign_key(const struct ttlog__input_opts *o)
{
	if (o->listen != NULL)
		return "listen";
	if (o->mode != NULL || o->owner != NULL)
		return o->mode ? "mode" : "owner";
	if (o->receive_buffer != 0)
		return "receive_buffer";
	if (o->tls_ca_file != NULL || o->tls_ca_dir != NULL)
		return o->tls_ca_file ? "tls.ca_file" : "tls.ca_dir";
	if (o->tls_ciphers != NULL || o->tls_ciphersuites != NULL)
		return o->tls_ciphers ? "tls.ciphers" : "tls.ciphersuites";
	return NULL;
}

const char *ttlog__kafka_misplaced(const struct ttlog__input_opts *o)
{
	if (o->type == TTLOG__INPUT_KAFKA)
		return NULL;
	if (o->format > TTLOG__INPUT_FMT_SYSLOG)
		return "format";
	return o->brokers	   ? "brokers"
	       : o->client_id	   ? "client_id"
	       : o->tls_ca	   ? "tls.ca"
	       : o->tls_enabled	   ? "tls.enabled"
	       : o->sasl_mechanism ? "sasl.mechanism"
	       : o->sasl_username  ? "sasl.username"
	       : o->sasl_password  ? "sasl.password"
	       : o->properties	   ? "properties"
				   : NULL;
}

int ttlog__kafka_check(const struct ttlog__input_opts *o, char *err,
		       size_t errlen)
{
	const char *fk = foreign_key(o);
	rd_kafka_conf_t *conf;

	if (o->name == NULL || o->name[0] == '\0')
		return ttlog__errf(err, errlen, "name: an input needs a name");
	if (fk != NULL)
		return ttlog__errf(err, errlen,
				   "%s: is not an option of kafka inputs (they "
				   "read from brokers, see docs/kafka.md)",
				   fk);
	if (!set(o->brokers))
		return ttlog__errf(err, errlen,
				   "brokers: required (HOST:PORT,...)");
	if (!set(o->group))
		return ttlog__errf(err, errlen,
				   "group: required (the consumer group)");
	if (o->topics.n == 0)
		return ttlog__errf(err, errlen,
				   "topics: required (a list of topics; an "
				   "entry starting with ^ is a regex)");
	for (size_t i = 0; i < o->topics.n; i++) {
		regex_t re;
		char why[128];
		int rc;
		if (o->topics.v[i][0] != '^')
			continue;
		rc = regcomp(&re, o->topics.v[i], REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &re, why, sizeof(why));
			return ttlog__errf(err, errlen,
					   "topics[%zu]: %s: not a regex: %s",
					   i, o->topics.v[i], why);
		}
		regfree(&re);
	}
	if (o->max_message == 0 || o->max_message > ((uint64_t)256 << 20))
		return ttlog__errf(
			err, errlen,
			"max_message: must be from 1 byte to 256MiB");
	if (o->max_frame < 65536 || o->max_frame > ((uint64_t)1 << 30))
		return ttlog__errf(err, errlen,
				   "max_frame: must be from 64KiB to 1GiB");
	conf = ttlog__kafka_input_conf(o, err, errlen);
	if (conf == NULL)
		return -1;
	rd_kafka_conf_destroy(conf);
	return 0;
}

rd_kafka_conf_t *ttlog__kafka_input_conf(const struct ttlog__input_opts *o,
					 char *err, size_t errlen)
{
	struct ttlog__kafka_conf_opts ko = {
		.brokers = o->brokers,
		.client_id = o->client_id,
		.tls = o->tls_enabled,
		.tls_ca = o->tls_ca,
		.tls_cert = o->tls_cert,
		.tls_key = o->tls_key,
		.tls_verify = o->tls_verify,
		.sasl_mechanism = o->sasl_mechanism,
		.sasl_username = o->sasl_username,
		.sasl_password = o->sasl_password,
		.properties = (const char *const *)o->properties,
		.reserved = reserved,
	};
	rd_kafka_conf_t *c = ttlog__kafka_conf_new(&ko, err, errlen);

	if (c == NULL)
		return NULL;
	if (ttlog__kafka_conf_set(c, "group.id", o->group, "group", err,
				  errlen) ||
	    ttlog__kafka_conf_set(c, "enable.auto.commit", "false", "group",
				  err, errlen) ||
	    ttlog__kafka_conf_set(c, "enable.auto.offset.store", "false",
				  "group", err, errlen) ||
	    ttlog__kafka_conf_set(c, "enable.partition.eof", "false", "group",
				  err, errlen) ||
	    ttlog__kafka_conf_set(c, "auto.offset.reset",
				  o->start_at == TTLOG__START_AT_BEGINNING
					  ? "earliest"
					  : "latest",
				  "start_at", err, errlen)) {
		rd_kafka_conf_destroy(c);
		return NULL;
	}
	return c;
}

/* A string of the key, NULL ("not set") distinct from every string. */
static uint64_t fnv(uint64_t h, const char *s)
{
	return ttlog__input_key_hash(h, s != NULL ? s : "\x01");
}

int ttlog__kafka_key(const struct ttlog__input_opts *o, char *key,
		     size_t keylen)
{
	const char *strs[] = {
		o->brokers,	   o->group,	     o->client_id,
		o->tls_ca,	   o->tls_cert,	     o->tls_key,
		o->sasl_mechanism, o->sasl_username, o->sasl_password};
	uint64_t h = 0xcbf29ce484222325ull;
	char num[160];

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		h = fnv(h, strs[i]);
	for (size_t i = 0; i < o->topics.n; i++)
		h = fnv(h, o->topics.v[i]);
	h = fnv(h, "\x02");
	for (char **p = o->properties; p != NULL && *p != NULL; p++)
		h = fnv(h, *p);
	snprintf(num, sizeof(num), "%d %d %d %d %d %llu %llu %llu",
		 o->tls_enabled, o->tls_verify, o->format, o->format_set,
		 o->start_at, (unsigned long long)o->max_message,
		 (unsigned long long)o->max_frame,
		 (unsigned long long)o->pause_backlog);
	h = fnv(h, num);
	return ttlog__input_key_put(key, keylen, "kafka", h, o->name);
}
