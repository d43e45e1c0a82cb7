/*
 * input_kafka_decode.c - a Kafka message into events. The format is the
 * input's, or with `format: auto` the ttlog-format header's; each format
 * keeps the origin the message carries (kafka_conf.h, "Messages"), and
 * where it carries none the events get this input's name and the
 * partition ("TOPIC/PARTITION") as their peer.
 *
 * The cbor map decoder is written from the layout in kafka_conf.h alone,
 * independent of the listener's encoder, so that the two check each other
 * in the end-to-end test.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "cbor_read.h"
#include "input_internal.h"
#include "input_kafka.h"
#include "kafka_conf.h"
#include "parse_internal.h"
#include "wire.h"

int ttlog__kafka_detect(int configured, const char *hdr, size_t hlen,
			const void *value, size_t len)
{
	const unsigned char *v = value;

	if (configured != TTLOG_KAFKA_FMT_AUTO)
		return configured;
	if (hdr != NULL)
		return ttlog__kafka_format_parse(hdr, hlen);
	if (len > 0 && v[0] == '{')
		return TTLOG_KAFKA_FMT_JSON;
	if (len > 0 && v[0] == '<')
		return TTLOG_KAFKA_FMT_SYSLOG;
	return TTLOG__KAFKA_FMT_RAW;
}

/* ---- cbor ---- */

static const char *const origin_keys[TTLOG__ORIGIN_NFIELDS] = {
	[TTLOG__ORIGIN_HOST] = "host",
	[TTLOG__ORIGIN_SERVICE] = "service",
	[TTLOG__ORIGIN_INPUT] = "input",
	[TTLOG__ORIGIN_PEER] = "peer",
	[TTLOG__ORIGIN_PEER_ID] = "peer_id",
	[TTLOG__ORIGIN_RELAY] = "relay",
};

static int want(struct ttlog__cbor *c, struct ttlog__cbor_item *it,
		unsigned major, const char *what)
{
	const unsigned char *at = c->p;

	if (ttlog__cbor_read(c, it) != 0)
		return -1;
	if (it->major != major)
		return ttlog__cbor_fail(c, at, what);
	return 0;
}

/* "o": a map of text to text; unknown keys are passed over. */
static int read_origin(struct ttlog__cbor *c,
		       struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS])
{
	struct ttlog__cbor_item m, k, v;

	if (want(c, &m, TTLOG__CBOR_MAP, "\"o\" is not a map") != 0)
		return -1;
	for (uint64_t i = 0; i < m.arg; i++) {
		if (want(c, &k, TTLOG__CBOR_TEXT,
			 "an origin key is not text") != 0 ||
		    want(c, &v, TTLOG__CBOR_TEXT,
			 "an origin value is not text") != 0)
			return -1;
		for (int f = 0; f < TTLOG__ORIGIN_NFIELDS; f++)
			if (ttlog__cbor_is(&k, origin_keys[f],
					   strlen(origin_keys[f]))) {
				org[f].p = (const char *)v.str;
				org[f].len = (size_t)v.arg;
			}
	}
	return 0;
}

/* "s": [file, line, tid]; the file is copied NUL-terminated. */
static int read_site(struct ttlog__cbor *c, struct ttlog__in_event *ev,
		     struct ttlog__scratch *sbuf)
{
	struct ttlog__cbor_item a, f, l, t;
	const unsigned char *at = c->p;

	if (want(c, &a, TTLOG__CBOR_ARRAY, "\"s\" is not an array") != 0)
		return -1;
	if (a.arg != 3)
		return ttlog__cbor_fail(c, at,
					"\"s\" is not [file, line, tid]");
	if (want(c, &f, TTLOG__CBOR_TEXT, "the call site's file is not text") !=
		    0 ||
	    want(c, &l, TTLOG__CBOR_UINT,
		 "the call site's line is not "
		 "unsigned") != 0 ||
	    want(c, &t, TTLOG__CBOR_UINT,
		 "the call site's tid is not "
		 "unsigned") != 0)
		return -1;
	if (l.arg > UINT32_MAX || t.arg > UINT32_MAX)
		return ttlog__cbor_fail(c, at, "line or tid over 32 bits");
	if (ttlog__scratch_reserve(sbuf, (size_t)f.arg + 1) != 0)
		return ttlog__cbor_fail(c, at, "out of memory");
	memcpy(sbuf->p + sbuf->len, f.str, (size_t)f.arg);
	sbuf->p[sbuf->len + f.arg] = '\0';
	ev->source = sbuf->p + sbuf->len;
	sbuf->len += (size_t)f.arg + 1;
	ev->line = (uint32_t)l.arg;
	ev->tid = (uint32_t)t.arg;
	return 0;
}

/* "f": [[key, value], ...]; past TTLOG__IN_MAX_FIELDS the event is cut. */
static int read_fields(struct ttlog__cbor *c, struct ttlog__in_event *ev)
{
	struct ttlog__cbor_item a, p, k;
	const unsigned char *at;

	if (want(c, &a, TTLOG__CBOR_ARRAY, "\"f\" is not an array") != 0)
		return -1;
	for (uint64_t i = 0; i < a.arg; i++) {
		struct ttlog__in_field scratch, *f = &scratch;
		at = c->p;
		if (want(c, &p, TTLOG__CBOR_ARRAY, "a field is not a pair") !=
			    0 ||
		    p.arg != 2)
			return c->why != NULL
				       ? -1
				       : ttlog__cbor_fail(c, at,
							  "a field is not a "
							  "[key, value] pair");
		if (want(c, &k, TTLOG__CBOR_TEXT, "a field key is not text") !=
		    0)
			return -1;
		if (ev->nfields < TTLOG__IN_MAX_FIELDS)
			f = &ev->fields[ev->nfields];
		f->key = (const char *)k.str;
		f->key_len = (size_t)k.arg;
		if (ttlog__wire_read_value(c, f) != 0)
			return -1;
		if (f == &scratch)
			ev->truncated = 1;
		else
			ev->nfields++;
	}
	return 0;
}

int ttlog__kafka_cbor_decode(
	const void *value, size_t len, struct ttlog__in_event *ev,
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS],
	struct ttlog__scratch *sbuf, char *err, size_t errlen)
{
	struct ttlog__cbor c;
	struct ttlog__cbor_item m, k, v;
	int rc = 0;

	ttlog__in_event_reset(ev, "kafka");
	ttlog__scratch_reset(sbuf);
	ttlog__cbor_init(&c, value, len);
	if (want(&c, &m, TTLOG__CBOR_MAP, "not a CBOR map") != 0)
		goto bad;
	for (uint64_t i = 0; i < m.arg && rc == 0; i++) {
		const unsigned char *at = c.p;
		if (want(&c, &k, TTLOG__CBOR_TEXT, "a key is not text") != 0)
			goto bad;
		if (k.arg != 1) {
			rc = ttlog__cbor_skip(
				&c); /* a key of a later version */
			continue;
		}
		switch (k.str[0]) {
		case 't':
		case 'l':
		case 'x':
			if (want(&c, &v, TTLOG__CBOR_UINT,
				 "\"t\", \"l\" or \"x\" is not unsigned") != 0)
				goto bad;
			if (k.str[0] == 't')
				ev->time_ns = v.arg;
			else if (k.str[0] == 'l')
				ev->level = v.arg > TTLOG_LEVEL_FATAL
						    ? TTLOG_LEVEL_FATAL
						    : (int)v.arg;
			else
				ev->truncated |= (v.arg & 1u) != 0;
			break;
		case 'm':
			if (want(&c, &v, TTLOG__CBOR_TEXT,
				 "\"m\" is not text") != 0)
				goto bad;
			ev->msg = (const char *)v.str;
			ev->msg_len = (size_t)v.arg;
			break;
		case 'o':
			rc = read_origin(&c, org);
			break;
		case 's':
			rc = read_site(&c, ev, sbuf);
			break;
		case 'f':
			rc = read_fields(&c, ev);
			break;
		default:
			(void)at;
			rc = ttlog__cbor_skip(&c);
			break;
		}
	}
	if (rc != 0)
		goto bad;
	if (ttlog__cbor_left(&c) != 0) {
		ttlog__cbor_fail(&c, c.p, "bytes after the map");
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "cbor: %s at byte %zu",
		 c.why != NULL ? c.why : "malformed", c.at);
	return -1;
}

/* ---- into events ---- */

/* Fills what the message did not carry: this input, the partition. */
static struct ttlog__origin *kafka_origin(struct ttlog__kafka *k,
					  struct ttlog__origin_str o[])
{
	if (o[TTLOG__ORIGIN_INPUT].len == 0) {
		o[TTLOG__ORIGIN_INPUT].p = k->in->name;
		o[TTLOG__ORIGIN_INPUT].len = strlen(k->in->name);
	}
	if (o[TTLOG__ORIGIN_PEER].len == 0 && k->cur != NULL) {
		o[TTLOG__ORIGIN_PEER].p = k->cur->peer;
		o[TTLOG__ORIGIN_PEER].len = strlen(k->cur->peer);
	}
	return ttlog__origin_cache_get(&k->in->origins, o);
}

/* The origin maker of the ttlog batches (wire_payload.h origin_fn). */
static struct ttlog__origin *batch_origin(void *arg,
					  const struct ttlog__origin_str s[])
{
	struct ttlog__origin_str o[TTLOG__ORIGIN_NFIELDS];
	struct ttlog__origin *r;

	memcpy(o, s, sizeof(o));
	r = kafka_origin(arg, o);
	if (r != NULL)
		ttlog__origin_ref(r); /* the decoder's own reference */
	return r;
}

static int ingest_one(void *arg, const struct ttlog__in_event *ev)
{
	struct ttlog__kafka *k = arg;
	struct ttlog__input *in = k->in;
	int rc = ttlog__host_ingest(in->writer, ev, in->id);

	if (rc == TTLOG_EINVAL)
		in->st.malformed++;
	else if (rc != 0)
		in->st.dropped++;
	else
		in->st.events++;
	if (rc != 0)
		ttlog__input_drop_warn(in, k->cur ? k->cur->peer : NULL,
				       rc == TTLOG_EINVAL
					       ? "the event was refused"
					       : ttlog_strerror(rc),
				       ev->msg, ev->msg_len);
	return 0;
}

/* A message that does not decode: counted and skipped; the warning
 * (one a second per input) names the topic, partition and offset. */
static void undecodable(struct ttlog__kafka *k, const rd_kafka_message_t *m,
			const char *why)
{
	char where[256];

	k->in->st.malformed++;
	snprintf(where, sizeof(where), "%s@%lld", k->cur ? k->cur->peer : "?",
		 (long long)m->offset);
	ttlog__input_drop_warn(k->in, where, why, m->payload, m->len);
}

/* json, syslog: the parsers of the jsonl and syslog inputs. */
static int parse_text(struct ttlog__kafka *k, int fmt,
		      const rd_kafka_message_t *m, struct ttlog__in_event *ev,
		      struct ttlog__origin_str org[], char *err, size_t errlen)
{
	struct ttlog__input *in = k->in;
	const char *s = m->payload;
	int rc;

	if (fmt == TTLOG_KAFKA_FMT_JSON) {
		rc = ttlog__jsonl_parse(s, m->len, ev, &in->scratch, err,
					errlen);
		if (rc != 0)
			return rc;
		for (int f = 0; f < TTLOG__ORIGIN_NFIELDS; f++)
			ttlog__input_take_field(ev, origin_keys[f], &org[f]);
		return 0;
	}
	rc = ttlog__syslog_parse(s, m->len, ev, &in->scratch, err, errlen);
	if (rc != 0)
		return rc;
	ttlog__input_take_field(ev, "host", &org[TTLOG__ORIGIN_HOST]);
	ttlog__input_take_field(ev, "app", &org[TTLOG__ORIGIN_SERVICE]);
	return 0;
}

void ttlog__kafka_ingest(struct ttlog__kafka *k, const rd_kafka_message_t *m,
			 struct ttlog__kafka_part *p)
{
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS] = {{NULL, 0}};
	struct ttlog__in_event ev;
	rd_kafka_headers_t *hs = NULL;
	const void *hv = NULL;
	size_t hl = 0;
	char err[256] = "";
	int fmt, rc = 0;

	k->cur = p;
	if (k->format == TTLOG_KAFKA_FMT_AUTO &&
	    (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	     rd_kafka_header_get_last(hs, TTLOG_KAFKA_FORMAT_HEADER, &hv,
				      &hl) != RD_KAFKA_RESP_ERR_NO_ERROR))
		hv = NULL;
	fmt = ttlog__kafka_detect(k->format, hv, hl, m->payload, m->len);
	/* A batch may be as large as a frame of the native protocol; one
	 * event no larger than max_message. */
	if (m->len > (fmt == TTLOG_KAFKA_FMT_TTLOG ? k->max_frame
						   : k->in->max_message)) {
		char where[256];
		k->in->st.kafka_too_large++;
		k->in->st.dropped++;
		snprintf(where, sizeof(where), "%s@%lld", p->peer,
			 (long long)m->offset);
		ttlog__input_drop_warn(k->in, where,
				       "larger than max_message (max_frame for "
				       "a ttlog batch)",
				       m->payload, m->len);
		return;
	}
	switch (fmt) {
	case TTLOG_KAFKA_FMT_TTLOG: {
		size_t nev = 0;
		k->ws.origin_fn = batch_origin;
		k->ws.origin_arg = k;
		k->ws.v2_origin = NULL;
		if (ttlog__wire_payload_decode(
			    m->payload, m->len, TTLOG_WIRE_DATA_LZ4,
			    k->max_frame * 8, &k->ws, ingest_one, k, &nev, err,
			    sizeof(err)) != 0)
			undecodable(k, m, err);
		return;
	}
	case TTLOG_KAFKA_FMT_CBOR:
		rc = ttlog__kafka_cbor_decode(m->payload, m->len, &ev, org,
					      &k->sbuf, err, sizeof(err));
		break;
	case TTLOG_KAFKA_FMT_JSON:
	case TTLOG_KAFKA_FMT_SYSLOG:
		rc = parse_text(k, fmt, m, &ev, org, err, sizeof(err));
		break;
	case TTLOG__KAFKA_FMT_RAW:
		ttlog__in_event_reset(&ev, "kafka");
		ev.msg = m->payload;
		ev.msg_len = m->len;
		break;
	default:
		rc = -1;
		snprintf(err, sizeof(err), "unknown %s header: %.*s",
			 TTLOG_KAFKA_FORMAT_HEADER, (int)(hl > 32 ? 32 : hl),
			 hv != NULL ? (const char *)hv : "");
		break;
	}
	if (rc != 0) {
		undecodable(k, m, err);
		return;
	}
	ev.origin = kafka_origin(k, org);
	(void)ingest_one(k, &ev);
}
