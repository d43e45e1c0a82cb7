/*
 * kafka_conf.c - the Kafka listener's and input's common options as a
 * librdkafka configuration (kafka_conf.h), and the format names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kafka_conf.h"

static int set(const char *s)
{
	return s != NULL && s[0] != 0;
}

int ttlog__kafka_conf_set(rd_kafka_conf_t *conf, const char *name,
			  const char *value, const char *key_for_user,
			  char *err, size_t errlen)
{
	char why[512] = "";

	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) ==
	    RD_KAFKA_CONF_OK)
		return 0;
	if (key_for_user != NULL)
		snprintf(err, errlen, "%s: %s", key_for_user, why);
	else
		snprintf(err, errlen, "properties.%s: %s", name, why);
	return -1;
}

/* A file the configuration names must be readable now. */
static int readable(const char *path, const char *key, char *err, size_t errlen)
{
	if (access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s: cannot read %s: %s", key, path,
		 strerror(errno));
	return -1;
}

static int in_list(const char *k, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(k, *list) == 0)
			return 1;
	return 0;
}

static int map_tls(const struct ttlog__kafka_conf_opts *o, rd_kafka_conf_t *c,
		   char *err, size_t errlen)
{
	if (set(o->tls_cert) != set(o->tls_key)) {
		snprintf(err, errlen,
			 "%s: a client certificate needs both "
			 "tls.cert and tls.key",
			 set(o->tls_cert) ? "tls.key" : "tls.cert");
		return -1;
	}
	if (!o->tls) {
		if (set(o->tls_ca) || set(o->tls_cert)) {
			snprintf(err, errlen,
				 "%s: set, but tls.enabled is false",
				 set(o->tls_ca) ? "tls.ca" : "tls.cert");
			return -1;
		}
		return 0;
	}
	if (set(o->tls_ca) &&
	    (readable(o->tls_ca, "tls.ca", err, errlen) ||
	     ttlog__kafka_conf_set(c, "ssl.ca.location", o->tls_ca, "tls.ca",
				   err, errlen)))
		return -1;
	if (set(o->tls_cert) &&
	    (readable(o->tls_cert, "tls.cert", err, errlen) ||
	     readable(o->tls_key, "tls.key", err, errlen) ||
	     ttlog__kafka_conf_set(c, "ssl.certificate.location", o->tls_cert,
				   "tls.cert", err, errlen) ||
	     ttlog__kafka_conf_set(c, "ssl.key.location", o->tls_key, "tls.key",
				   err, errlen)))
		return -1;
	/* Verification of the chain and of the name, both on unless the
	 * user turns them off together. */
	return ttlog__kafka_conf_set(c, "enable.ssl.certificate.verification",
				     o->tls_verify ? "true" : "false",
				     "tls.verify", err, errlen) ||
			       ttlog__kafka_conf_set(
				       c,
				       "ssl.endpoint.identification.algorithm",
				       o->tls_verify ? "https" : "none",
				       "tls.verify", err, errlen)
		       ? -1
		       : 0;
}

static int map_sasl(const struct ttlog__kafka_conf_opts *o, rd_kafka_conf_t *c,
		    char *err, size_t errlen)
{
	static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256",
					    "SCRAM-SHA-512", NULL};

	if (!set(o->sasl_mechanism)) {
		if (set(o->sasl_username) || set(o->sasl_password)) {
			snprintf(err, errlen,
				 "%s: set, but sasl.mechanism is not",
				 set(o->sasl_username) ? "sasl.username"
						       : "sasl.password");
			return -1;
		}
		return 0;
	}
	if (!in_list(o->sasl_mechanism, mechs)) {
		snprintf(err, errlen,
			 "sasl.mechanism: expected PLAIN, SCRAM-SHA-256 or "
			 "SCRAM-SHA-512, got \"%s\"",
			 o->sasl_mechanism);
		return -1;
	}
	if (!set(o->sasl_username) || !set(o->sasl_password)) {
		snprintf(err, errlen, "%s: required with sasl.mechanism %s",
			 set(o->sasl_username) ? "sasl.password"
					       : "sasl.username",
			 o->sasl_mechanism);
		return -1;
	}
	return ttlog__kafka_conf_set(c, "sasl.mechanisms", o->sasl_mechanism,
				     "sasl.mechanism", err, errlen) ||
			       ttlog__kafka_conf_set(
				       c, "sasl.username", o->sasl_username,
				       "sasl.username", err, errlen) ||
			       ttlog__kafka_conf_set(
				       c, "sasl.password", o->sasl_password,
				       "sasl.password", err, errlen)
		       ? -1
		       : 0;
}

rd_kafka_conf_t *ttlog__kafka_conf_new(const struct ttlog__kafka_conf_opts *o,
				       char *err, size_t errlen)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	const char *proto;

	if (c == NULL) {
		snprintf(err, errlen, "brokers: out of memory");
		return NULL;
	}
	if (!set(o->brokers)) {
		snprintf(err, errlen, "brokers: required (host:port,...)");
		goto fail;
	}
	if (o->sasl_mechanism != NULL && o->sasl_mechanism[0] != 0)
		proto = o->tls ? "sasl_ssl" : "sasl_plaintext";
	else
		proto = o->tls ? "ssl" : "plaintext";
	if (ttlog__kafka_conf_set(c, "bootstrap.servers", o->brokers, "brokers",
				  err, errlen) ||
	    ttlog__kafka_conf_set(c, "client.id",
				  set(o->client_id) ? o->client_id : "ttlog",
				  "client_id", err, errlen) ||
	    ttlog__kafka_conf_set(c, "security.protocol", proto, "tls.enabled",
				  err, errlen) ||
	    map_tls(o, c, err, errlen) || map_sasl(o, c, err, errlen))
		goto fail;
	for (const char *const *p = o->properties; p != NULL && p[0] != NULL;
	     p += 2) {
		if (in_list(p[0], o->reserved)) {
			snprintf(err, errlen,
				 "properties.%s: ttlog sets this one itself "
				 "(docs/kafka.md, \"Properties\")",
				 p[0]);
			goto fail;
		}
		if (ttlog__kafka_conf_set(c, p[0], p[1] ? p[1] : "", NULL, err,
					  errlen))
			goto fail;
	}
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

static const char *const names[] = {
	[TTLOG_KAFKA_FMT_JSON] = "json",
	[TTLOG_KAFKA_FMT_CBOR] = "cbor",
	[TTLOG_KAFKA_FMT_TTLOG] = "ttlog",
	[TTLOG_KAFKA_FMT_SYSLOG] = "syslog",
};

const char *ttlog__kafka_format_name(int fmt)
{
	if (fmt <= TTLOG_KAFKA_FMT_AUTO ||
	    fmt >= (int)(sizeof(names) / sizeof(names[0])))
		return NULL;
	return names[fmt];
}

int ttlog__kafka_format_parse(const char *s, size_t len)
{
	for (int i = TTLOG_KAFKA_FMT_JSON;
	     i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}
