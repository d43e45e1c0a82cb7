/*
 * fwd_check.c - the forward listener's check() (listener ABI 1.3): what
 * create() would refuse, found without creating anything. The endpoints
 * are parsed as create() parses them (an http:// endpoint is refused by
 * name: the listener does not speak HTTP), the TLS files are loaded into a
 * client context that is freed at once, and the combinations create()
 * refuses are refused. The spool directory is neither made nor opened:
 * that is create()'s, and two agents checking one file must not race for
 * its lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward_internal.h"

static const char *or_null(const char *s)
{
	return s != NULL && s[0] != 0 ? s : NULL;
}

/* "http://" or "https://" anywhere in the list: the first such entry. */
static const char *http_endpoint(const char *list, size_t *len)
{
	const char *p = list;

	while (p != NULL && *p != 0) {
		p += strspn(p, ", \t");
		*len = strcspn(p, ", \t");
		if (strncmp(p, "http://", 7) == 0 ||
		    strncmp(p, "https://", 8) == 0)
			return p;
		p += *len;
	}
	return NULL;
}

/* Parses the endpoints into a scratch listener; 1 when one is tls://
 * (or has no scheme), 0 when none is, -1 with err on a bad entry. */
static int check_endpoints(const char *list, char *err, size_t errlen)
{
	struct fwd f;
	size_t len = 0;
	const char *http = http_endpoint(list, &len);
	int rc, any_tls = 0;

	if (http != NULL) {
		snprintf(err, errlen,
			 "endpoints: %.*s: the forward listener does not "
			 "speak HTTP; give tls://HOST:PORT, tcp://HOST:PORT "
			 "or unix:///path",
			 (int)(len > 200 ? 200 : len), http);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	rc = ttlog__fwd_parse_endpoints(&f, list, err, errlen);
	for (size_t i = 0; i < f.nep; i++) {
		any_tls |= f.ep[i].scheme == FWD_TLS;
		free(f.ep[i].host);
		free(f.ep[i].path);
		free(f.ep[i].text);
	}
	free(f.ep);
	return rc != 0 ? -1 : any_tls;
}

/* Each fingerprint of tls.pin_sha256 parsed as create() will; the list is
 * walked in place (copies of at most TTLOG_TLS_MAX_PINS entries). */
static int check_pins(struct ttlog__tls_opts *t, const char *list, char *err,
		      size_t errlen)
{
	char text[TTLOG_TLS_MAX_PINS][128];
	uint8_t digests[TTLOG_TLS_MAX_PINS][32];
	const char *p = list;

	while (p != NULL && *p != 0) {
		size_t n;
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (t->npins == TTLOG_TLS_MAX_PINS) {
			snprintf(err, errlen,
				 "tls.pin_sha256: more than %d fingerprints",
				 TTLOG_TLS_MAX_PINS);
			return -1;
		}
		snprintf(text[t->npins], sizeof(text[0]), "%.*s",
			 (int)(n < sizeof(text[0]) ? n : sizeof(text[0]) - 1),
			 p);
		t->pins[t->npins] = text[t->npins];
		t->npins++;
		p += n;
	}
	return ttlog__tls_parse_pins(t, digests, err, errlen) < 0 ? -1 : 0;
}

int ttlog__fwd_check(const void *options, char *err, size_t errlen)
{
	const struct fwd_options *o = options;
	struct ttlog__tls_opts t = {
		.ca_file = or_null(o->tls_ca_file),
		.ca_dir = or_null(o->tls_ca_dir),
		.cert = or_null(o->tls_cert),
		.key = or_null(o->tls_key),
		.min_version = o->tls_min_version,
		.ciphers = or_null(o->tls_ciphers),
		.ciphersuites = or_null(o->tls_ciphersuites),
		.verify = o->tls_verify,
	};
	int any_tls = check_endpoints(o->endpoints, err, errlen);

	if (any_tls < 0)
		return TTLOG_ECONFIG;
	if ((t.cert == NULL) != (t.key == NULL)) {
		snprintf(err, errlen,
			 "tls.cert and tls.key: set both or neither");
		return TTLOG_ECONFIG;
	}
	if (any_tls) {
		/* Reads and parses every file, the key against its
		 * certificate, as create() will; nothing is kept. */
		SSL_CTX *ctx;
		if (check_pins(&t, o->tls_pins, err, errlen) != 0)
			return TTLOG_ECONFIG;
		ctx = ttlog__tls_client_ctx(&t, err, errlen);
		if (ctx == NULL)
			return TTLOG_ECONFIG;
		SSL_CTX_free(ctx);
	}
	if (o->syslog_facility < 0 || o->syslog_facility > 23) {
		snprintf(err, errlen, "syslog.facility: %lld is not in 0..23",
			 (long long)o->syslog_facility);
		return TTLOG_ECONFIG;
	}
	if (or_null(o->spool_dir) != NULL && o->format != FWD_TTLOG) {
		snprintf(err, errlen,
			 "spool.dir: only format ttlog has a spool (syslog "
			 "and jsonl are never acknowledged)");
		return TTLOG_ECONFIG;
	}
	return 0;
}
