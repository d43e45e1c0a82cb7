/*
 * input_check.c - everything an input's start would refuse, found without
 * starting it: the options, the listen URL and whether its scheme suits the
 * input's type, and the TLS files (readable, parseable, the certificate
 * matching its key). One function serves `ttlog-agent --check`, loading a
 * configuration for start or reload, and ttlog__input_start() itself, so
 * the three can never disagree. Nothing is bound or created: the TLS
 * context the check builds is freed, or handed to the caller that asks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ssl.h>

#include <ttlog/ttlog.h>

#include "addr.h"
#include "errf.h"
#include "input_internal.h"
#include "input_journal.h"
#include "input_kafka.h"
#include "registry_internal.h"
#include "tls.h"
#include "tail_internal.h"

/* The first of mode, owner and group that is set, or NULL. */
static const char *perm_key(const struct ttlog__input_opts *o)
{
	return o->mode != NULL	  ? "mode"
	       : o->owner != NULL ? "owner"
	       : o->group != NULL ? "group"
				  : NULL;
}

/* Whether mode, owner or group is set on an input that has no socket
 * file (stdin, tcp://, tls://, udp://). */
static int perm_misplaced(const struct ttlog__input_opts *o)
{
	struct ttlog__addr a;
	char err[256];

	if (perm_key(o) == NULL)
		return 0;
	if (o->listen == NULL)
		return 1;
	return ttlog__addr_parse(o->listen, TTLOG__INPUT_LISTEN_FORMS, &a, err,
				 sizeof(err)) == 0 &&
	       a.scheme != TTLOG__ADDR_UNIX && a.scheme != TTLOG__ADDR_UNIXGRAM;
}

/* A journal input: the match terms, and paths that exist (a directory is
 * followed as journald adds files to it, a file is read as it grows). */
static int check_journal(const struct ttlog__input_opts *o, char *err,
			 size_t errlen)
{
	struct stat st;

	if (perm_key(o) != NULL)
		return ttlog__errf(err, errlen,
				   "%s: is for unix:// and unixgram:// inputs; "
				   "a journal input has no socket file",
				   perm_key(o));
	if (o->receive_buffer != 0 || o->tls_cert != NULL || o->tls_key != NULL)
		return ttlog__errf(err, errlen,
				   "%s: is for inputs that listen; a journal "
				   "input has no socket",
				   o->receive_buffer != 0 ? "receive_buffer"
				   : o->tls_cert != NULL  ? "tls.cert"
							  : "tls.key");
	if (o->max_message == 0 || o->max_message > ((uint64_t)256 << 20))
		return ttlog__errf(err, errlen,
				   "max_message must be from 1 byte to 256MiB");
	if (ttlog__journal_match_check((const char *const *)o->match.v,
				       o->match.n, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < o->paths.n; i++)
		if (stat(o->paths.v[i], &st) != 0) {
			ttlog__errf(err, errlen, "paths[%zu]: %s: %s", i,
				    o->paths.v[i], strerror(errno));
			return -1;
		}
	return 0;
}

/* The options on their own, before the address is looked at. */
static int check_opts(const struct ttlog__input_opts *o, char *err,
		      size_t errlen)
{
	if (o->name == NULL || o->name[0] == '\0') {
		ttlog__errf(err, errlen, "an input needs a name");
		return -1;
	}
	if (strcmp(ttlog__input_type_name(o->type), "?") == 0) {
		ttlog__errf(err, errlen, "unknown type %d", o->type);
		return -1;
	}
	if (ttlog__input_list_misplaced(o) != NULL) {
		ttlog__errf(err, errlen, "%s: is not an option of %s inputs",
			    ttlog__input_list_misplaced(o),
			    ttlog__input_type_name(o->type));
		return -1;
	}
	if (o->type == TTLOG__INPUT_JOURNAL && o->listen != NULL) {
		ttlog__errf(err, errlen,
			    "type journal reads the systemd journal; remove "
			    "`listen`");
		return -1;
	}
	if (o->type == TTLOG__INPUT_JOURNAL)
		return check_journal(o, err, errlen);
	if (ttlog__input_listens(o->type) && o->listen == NULL) {
		ttlog__errf(err, errlen,
			    "type %s needs `listen` (tcp://HOST:PORT, "
			    "tls://HOST:PORT, udp://HOST:PORT or "
			    "unix:///path)",
			    ttlog__input_type_name(o->type));
		return -1;
	}
	if (o->type == TTLOG__INPUT_STDIN && o->listen != NULL) {
		ttlog__errf(err, errlen,
			    "type stdin reads standard input; remove "
			    "`listen`");
		return -1;
	}
	if (o->type == TTLOG__INPUT_TTLOG &&
	    (o->max_frame < 65536 || o->max_frame > ((uint64_t)1 << 30))) {
		ttlog__errf(err, errlen,
			    "max_frame must be from 64KiB to 1GiB");
		return -1;
	}
	/* SO_RCVBUF takes an int that Linux doubles; below a few KiB it
	 * holds hardly a datagram. */
	if (o->receive_buffer != 0 &&
	    (o->receive_buffer < 4096 ||
	     o->receive_buffer > ((uint64_t)1 << 30))) {
		ttlog__errf(err, errlen,
			    "receive_buffer must be from 4KiB to 1GiB");
		return -1;
	}
	if (o->type == TTLOG__INPUT_STDIN && perm_key(o) != NULL) {
		ttlog__errf(err, errlen,
			    "%s: is for unix:// and unixgram:// inputs; stdin "
			    "has no socket file",
			    perm_key(o));
		return -1;
	}
	if (o->type == TTLOG__INPUT_STDIN && o->receive_buffer != 0) {
		ttlog__errf(err, errlen, "receive_buffer is for udp:// inputs");
		return -1;
	}
	/* A line's reservation is an int-sized watermark; beyond 256 MiB a
	 * "message" is a mistake anyway. */
	if (o->max_message == 0 || o->max_message > ((uint64_t)256 << 20)) {
		ttlog__errf(err, errlen,
			    "max_message must be from 1 byte to 256MiB");
		return -1;
	}
	/* One message of the largest size must fit the budget, or its
	 * connection would wait for room forever. */
	int native = o->type == TTLOG__INPUT_TTLOG;
	uint64_t largest = native ? o->max_frame : o->max_message;
	if (o->max_buffer < largest + 64) {
		ttlog__errf(err, errlen,
			    "max_buffer (%llu bytes) must hold at least one "
			    "%s (%llu bytes)",
			    (unsigned long long)o->max_buffer,
			    native ? "frame of max_frame"
				   : "message of max_message",
			    (unsigned long long)largest);
		return -1;
	}
	return 0;
}

/* Loads the certificate, key and CAs the way start does; the context is
 * freed unless the caller takes it. */
static int check_tls(const struct ttlog__input_opts *o, SSL_CTX **out,
		     char *err, size_t errlen)
{
	struct ttlog__tls_opts t = {
		.ca_file = o->tls_ca_file,
		.ca_dir = o->tls_ca_dir,
		.cert = o->tls_cert,
		.key = o->tls_key,
		.min_version = o->tls_min_version,
		.ciphers = o->tls_ciphers,
		.ciphersuites = o->tls_ciphersuites,
		.client_auth = o->tls_client_auth,
	};
	char terr[512];
	SSL_CTX *ctx = ttlog__tls_server_ctx(&t, terr, sizeof(terr));

	if (ctx == NULL) {
		ttlog__errf(err, errlen, "%s: %s", o->listen, terr);
		return -1;
	}
	if (out != NULL)
		*out = ctx;
	else
		SSL_CTX_free(ctx);
	return 0;
}

int ttlog__input_check(const struct ttlog__input_opts *o, struct ttlog__addr *a,
		       struct ssl_ctx_st **tls, char *err, size_t errlen)
{
	struct ttlog__addr local;
	int is_tls;

	if (a == NULL)
		a = &local;
	if (tls != NULL)
		*tls = NULL;
	if (o->type == TTLOG__INPUT_KAFKA)
		return ttlog__kafka_check(o, err, errlen) != 0 ? TTLOG_EINVAL
							       : 0;
	if (ttlog__kafka_misplaced(o) != NULL) {
		if (strcmp(ttlog__kafka_misplaced(o), "format") == 0)
			ttlog__errf(
				err, errlen,
				"format: auto, cbor and ttlog are for kafka "
				"inputs (tail reads raw, json or syslog)");
		else
			ttlog__errf(err, errlen,
				    "%s: is an option of kafka inputs",
				    ttlog__kafka_misplaced(o));
		return TTLOG_EINVAL;
	}
	if (o->type == TTLOG__INPUT_TAIL) {
		if (o->name == NULL || o->name[0] == '\0') {
			ttlog__errf(err, errlen, "an input needs a name");
			return TTLOG_EINVAL;
		}
		return ttlog__tail_check(o, NULL, err, errlen) != 0
			       ? TTLOG_EINVAL
			       : 0;
	}
	if (check_opts(o, err, errlen) != 0)
		return TTLOG_EINVAL;
	if (o->type == TTLOG__INPUT_STDIN || o->type == TTLOG__INPUT_JOURNAL)
		return 0;
	if (ttlog__addr_parse(o->listen, TTLOG__INPUT_LISTEN_FORMS, a, err,
			      errlen) != 0)
		return TTLOG_EINVAL;
	int unix_sock = a->scheme == TTLOG__ADDR_UNIX ||
			a->scheme == TTLOG__ADDR_UNIXGRAM;
	if (!unix_sock && perm_key(o) != NULL) {
		ttlog__errf(err, errlen,
			    "%s: %s is for unix:// and unixgram:// inputs (a "
			    "network socket has no file whose mode or owner "
			    "could be set)",
			    o->listen, perm_key(o));
		return TTLOG_EINVAL;
	}
	if (unix_sock) {
		struct ttlog__input_perm p;
		if (ttlog__input_perm_resolve(o, &p, NULL, err, errlen) != 0)
			return TTLOG_EINVAL;
	}
	if (a->scheme == TTLOG__ADDR_UNIXGRAM &&
	    o->type != TTLOG__INPUT_SYSLOG) {
		ttlog__errf(err, errlen,
			    "%s: %s needs a stream (unix:// or tcp://); a "
			    "datagram input reads syslog only, as udp:// does",
			    o->listen, ttlog__input_type_name(o->type));
		return TTLOG_EINVAL;
	}
	/* A unix datagram socket queues at most net.unix.max_dgram_qlen
	 * datagrams whatever SO_RCVBUF says: past that, senders wait. */
	if (a->scheme == TTLOG__ADDR_UNIXGRAM && o->receive_buffer != 0) {
		ttlog__errf(err, errlen,
			    "%s: receive_buffer is for udp:// inputs (a unix "
			    "datagram socket's queue is the sysctl "
			    "net.unix.max_dgram_qlen; its senders wait when "
			    "it is full, nothing is dropped)",
			    o->listen);
		return TTLOG_EINVAL;
	}
	if (a->scheme == TTLOG__ADDR_UDP && o->type != TTLOG__INPUT_SYSLOG) {
		ttlog__errf(err, errlen,
			    "%s: %s needs a stream (tcp://, tls:// or "
			    "unix://); a stream cut into datagrams cannot be "
			    "put back together",
			    o->listen, ttlog__input_type_name(o->type));
		return TTLOG_EINVAL;
	}
	/* On a stream socket SO_RCVBUF would turn off the kernel's
	 * autotuning of the buffer, which does better than a fixed size. */
	if (a->scheme != TTLOG__ADDR_UDP && o->receive_buffer != 0) {
		ttlog__errf(err, errlen,
			    "%s: receive_buffer is for udp:// inputs (a "
			    "stream's buffer is sized by the kernel's "
			    "autotuning)",
			    o->listen);
		return TTLOG_EINVAL;
	}
	is_tls = a->scheme == TTLOG__ADDR_TLS;
	if (is_tls && (o->tls_cert == NULL || o->tls_key == NULL)) {
		ttlog__errf(err, errlen,
			    "%s: tls:// needs tls.cert and tls.key", o->listen);
		return TTLOG_EINVAL;
	}
	if (!is_tls && (o->tls_cert != NULL || o->tls_key != NULL)) {
		ttlog__errf(err, errlen,
			    "%s: tls.cert or tls.key is set but the input "
			    "does not listen on tls://",
			    o->listen);
		return TTLOG_EINVAL;
	}
	if (is_tls && check_tls(o, tls, err, errlen) != 0)
		return TTLOG_EINVAL;
	return 0;
}

/* A journal input's error names its key first ("match[2]: ...",
 * "paths[0]: ...") or is about `listen`: reported at that key. */
static const struct ttlog__cfg_node *
journal_key_node(const struct ttlog__cfg_node *entry, const char *err)
{
	static const char *const keys[] = {"match", "paths", NULL};
	const struct ttlog__cfg_node *at = NULL;

	for (size_t i = 0; keys[i] != NULL; i++) {
		size_t n = strlen(keys[i]);
		if (strncmp(err, keys[i], n) == 0 && err[n] == '[')
			at = ttlog__cfg_get(entry, keys[i]);
	}
	if (strstr(err, "remove `listen`") != NULL)
		at = ttlog__cfg_get(entry, "listen");
	return at != NULL ? at : entry;
}

/* A kafka input's errors, and a kafka option on another type, name their
 * key first ("properties.fetch.wait.max.ms: ...", "topics[1]: ..."):
 * reported at that key's node, an entry of `properties` or `topics`
 * included. */
static int kafka_check_at(const struct ttlog__input_opts *o,
			  const struct ttlog__cfg_node *entry, const char *who,
			  struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *at = NULL;
	char err[1024] = "";
	size_t i;

	if (ttlog__input_check(o, NULL, NULL, err, sizeof(err)) == 0)
		return 0;
	if (sscanf(err, "topics[%zu]", &i) == 1) {
		const struct ttlog__cfg_node *t =
			ttlog__cfg_get(entry, "topics");
		if (t != NULL && t->kind == TTLOG__CFG_SEQ && i < t->n)
			at = t->vals[i];
	} else if (strncmp(err, "topics: ", 8) == 0) {
		at = ttlog__cfg_get(entry, "topics");
	} else {
		at = ttlog__options_locate(&ttlog__input_table, entry, err);
	}
	ttlog__diag_add(d, at != NULL ? at : entry, who, "%s", err);
	return -1;
}

int ttlog__input_check_at(struct ttlog__input_opts *o,
			  const struct ttlog__cfg_node *entry, const char *path,
			  struct ttlog__diag *d)
{
	char err[1024] = "", who[192];
	struct ttlog__input_perm p;
	const char *key = NULL;

	snprintf(o->where, sizeof(o->where), "%s:%u",
		 entry->file ? entry->file : "?", entry->line);
	snprintf(who, sizeof(who), "%s (%s)", path, o->name ? o->name : "?");
	/* A mode, user or group that is wrong is reported where its value
	 * is written. */
	if (o->type == TTLOG__INPUT_KAFKA || ttlog__kafka_misplaced(o) != NULL)
		return kafka_check_at(o, entry, who, d);
	if (ttlog__input_perm_resolve(o, &p, &key, err, sizeof(err)) != 0) {
		const struct ttlog__cfg_node *at = ttlog__cfg_get(entry, key);
		ttlog__diag_add(d, at != NULL ? at : entry, who, "%s", err);
		return -1;
	}
	if (o->type == TTLOG__INPUT_TAIL &&
	    ttlog__tail_check(o, &key, err, sizeof(err)) != 0) {
		/* Reported where the option is written ("multiline.start":
		 * under the multiline map). */
		const struct ttlog__cfg_node *at = entry;
		char part[64];
		for (const char *k = key; k != NULL && at != NULL;) {
			const char *dot = strchr(k, '.');
			size_t n = dot ? (size_t)(dot - k) : strlen(k);
			snprintf(part, sizeof(part), "%.*s", (int)n, k);
			const struct ttlog__cfg_node *next =
				ttlog__cfg_get(at, part);
			if (next == NULL)
				break;
			at = next;
			k = dot ? dot + 1 : NULL;
		}
		ttlog__diag_add(d, at, who, "%s", err);
		return -1;
	}
	if (ttlog__input_check(o, NULL, NULL, err, sizeof(err)) == 0)
		return 0;
	/* So is one of them on an input without a socket file, and a list
	 * option on a type that does not take it. */
	if (perm_misplaced(o) && ttlog__cfg_get(entry, perm_key(o)) != NULL)
		entry = ttlog__cfg_get(entry, perm_key(o));
	else if (ttlog__input_list_misplaced(o) != NULL &&
		 ttlog__cfg_get(entry, ttlog__input_list_misplaced(o)) != NULL)
		entry = ttlog__cfg_get(entry, ttlog__input_list_misplaced(o));
	else if (o->type == TTLOG__INPUT_JOURNAL)
		entry = journal_key_node(entry, err);
	ttlog__diag_add(d, entry, who, "%s", err);
	return -1;
}
