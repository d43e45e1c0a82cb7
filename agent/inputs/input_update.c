/*
 * input_update.c - an input across a reload. An input is known by its
 * socket (the key), so that a reload which changes its name or options
 * keeps the listening socket, the live connections and the counters, and
 * applies the new options in place. Changes are built first and applied
 * only once the whole reload is known to succeed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include <ttlog/ttlog.h>

#include "addr.h"
#include "errf.h"
#include "input_internal.h"
#include "input_journal.h"
#include "input_kafka.h"
#include "tail_internal.h"

struct ttlog__input_update {
	char *name, *listen;
	int type;
	size_t max_message, max_frame;
	int64_t max_connections, max_per_peer;
	uint64_t idle_timeout_ms, pause_backlog, window, receive_buffer;
	size_t max_buffer;
	uint64_t hello_timeout_ms, frame_timeout_ms;
	SSL_CTX *
		tls; /* for the connections accepted from now on; NULL: plain */
	char *dgram; /* UDP: a receive buffer for a changed max_message */
	struct ttlog__input_perm perm; /* unix sockets: the file's */
	/* tail: what may change in place */
	size_t max_line;
	uint64_t rotate_wait_ms, poll_ms;
};

int ttlog__input_key_put(char *key, size_t keylen, const char *kind, uint64_t h,
			 const char *name)
{
	int n = snprintf(key, keylen, "%s %016llx %s", kind,
			 (unsigned long long)h, name ? name : "");

	return n > 0 && (size_t)n < keylen ? 0 : -1;
}

uint64_t ttlog__input_key_hash(uint64_t h, const char *s)
{
	do
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	while (*s++ != '\0');
	return h;
}

/* A tail input is the same one across a reload while its name, files,
 * format, watching and multiline rule are: it then keeps its open files,
 * positions and partial lines. */
static int tail_key(const struct ttlog__input_opts *o, char *key, size_t keylen)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char num[64];

	for (size_t i = 0; i < o->paths.n; i++)
		h = ttlog__input_key_hash(h, o->paths.v[i]);
	h = ttlog__input_key_hash(h, "\x01");
	for (size_t i = 0; i < o->exclude.n; i++)
		h = ttlog__input_key_hash(h, o->exclude.v[i]);
	snprintf(num, sizeof(num), "%d %d %d", o->format, o->watch,
		 o->ml_continuation);
	h = ttlog__input_key_hash(h, num);
	h = ttlog__input_key_hash(h, o->ml_start ? o->ml_start : "\x01");
	h = ttlog__input_key_hash(h, o->ml_preset ? o->ml_preset : "\x01");
	snprintf(num, sizeof(num), "%llu %llu",
		 (unsigned long long)o->ml_timeout_ms,
		 (unsigned long long)o->ml_max_bytes);
	h = ttlog__input_key_hash(h, num);
	return ttlog__input_key_put(key, keylen, "tail", h, o->name);
}

int ttlog__input_key(const struct ttlog__input_opts *o, char *key,
		     size_t keylen)
{
	struct ttlog__addr a;
	char err[256];
	int n;

	if (o->type == TTLOG__INPUT_JOURNAL)
		return ttlog__journal_key(o, key, keylen);
	if (o->type == TTLOG__INPUT_TAIL)
		return tail_key(o, key, keylen);
	if (o->type == TTLOG__INPUT_KAFKA)
		return ttlog__kafka_key(o, key, keylen);
	if (o->type == TTLOG__INPUT_STDIN && o->listen == NULL)
		n = snprintf(key, keylen, "stdin");
	else if (o->listen == NULL ||
		 ttlog__addr_parse(o->listen, TTLOG__INPUT_LISTEN_FORMS, &a,
				   err, sizeof(err)) != 0)
		return -1;
	else if (a.scheme == TTLOG__ADDR_UNIX)
		n = snprintf(key, keylen, "unix %s", a.path);
	else if (a.scheme == TTLOG__ADDR_UNIXGRAM)
		n = snprintf(key, keylen, "unixgram %s", a.path);
	else
		/* tcp:// and tls:// are one kind of socket: a reload may turn
		 * TLS on or off for the connections that come next. */
		n = snprintf(key, keylen, "%s %s %s",
			     a.scheme == TTLOG__ADDR_UDP ? "udp" : "tcp",
			     a.host, a.port);
	return n > 0 && (size_t)n < keylen ? 0 : -1;
}

void ttlog__input_update_free(struct ttlog__input_update *u)
{
	if (u == NULL)
		return;
	if (u->tls != NULL)
		SSL_CTX_free(u->tls);
	free(u->dgram);
	free(u->name);
	free(u->listen);
	free(u);
}

int ttlog__input_update_prepare(struct ttlog__input *in,
				const struct ttlog__input_opts *o,
				struct ttlog__input_update **out, char *err,
				size_t errlen)
{
	struct ttlog__input_update *u;
	struct ttlog__addr a;
	struct ssl_ctx_st *tls = NULL;
	int rc;

	*out = NULL;
	/* Always a new context for TLS: a reload is also how renewed
	 * certificate files are taken up. */
	if ((rc = ttlog__input_check(o, &a, &tls, err, errlen)) != 0)
		return rc;
	u = calloc(1, sizeof(*u));
	/* The socket file keeps its connections; only its mode, owner and
	 * group change, if the agent may change them. */
	if (u != NULL && o->type != TTLOG__INPUT_KAFKA &&
	    (ttlog__input_perm_resolve(o, &u->perm, NULL, err, errlen) != 0 ||
	     ttlog__input_perm_check_change(in, &u->perm, err, errlen) != 0)) {
		if (tls != NULL)
			SSL_CTX_free(tls);
		free(u);
		return TTLOG_EINVAL;
	}
	if (u == NULL) {
		if (tls != NULL)
			SSL_CTX_free(tls);
		goto oom;
	}
	u->tls = tls;
	u->type = o->type;
	u->max_message = (size_t)o->max_message;
	u->max_frame = (size_t)o->max_frame;
	u->max_connections = o->max_connections;
	u->max_per_peer = o->max_connections_per_peer;
	u->idle_timeout_ms = o->idle_timeout_ms;
	u->pause_backlog = o->pause_backlog;
	u->window = o->window;
	u->max_buffer = (size_t)o->max_buffer;
	u->hello_timeout_ms = o->hello_timeout_ms;
	u->frame_timeout_ms = o->frame_timeout_ms;
	u->receive_buffer = o->receive_buffer;
	u->max_line = (size_t)o->max_line;
	u->rotate_wait_ms = o->rotate_wait_ms;
	u->poll_ms = o->poll_interval_ms;
	u->name = strdup(o->name);
	u->listen = o->listen ? strdup(o->listen) : NULL;
	if (u->name == NULL || (o->listen != NULL && u->listen == NULL))
		goto oom;
	if (in->ufd >= 0 && u->max_message != in->max_message &&
	    (u->dgram = malloc(u->max_message + 1)) == NULL)
		goto oom;
	/* The sender table of the native protocol, for an input that turns
	 * into a ttlog input; unused (and freed at stop) otherwise. */
	if (o->type == TTLOG__INPUT_TTLOG && in->senders == NULL) {
		char why[512];
		if (ttlog__native_init(in, o->state_dir, why, sizeof(why)) !=
		    0) {
			ttlog__input_update_free(u);
			ttlog__errf(err, errlen, "input %s: %s", o->name, why);
			return TTLOG_EINVAL;
		}
	}
	*out = u;
	return 0;
oom:
	ttlog__input_update_free(u);
	ttlog__errf(err, errlen, "input %s: out of memory", o->name);
	return TTLOG_ENOMEM;
}

void ttlog__input_update_apply(struct ttlog__input *in,
			       struct ttlog__input_update *u)
{
	char *s;

	if (u->type != in->type && in->conns != NULL) {
		/* The open connections were framed for the old type: what
		 * they sent up to now is read as that, then they are closed;
		 * their senders reconnect and speak the new one. */
		uint64_t n = in->st.connections;
		ttlog__input_conns_finish(in, 0);
		TTLOG_WARN("reload: the input's type changed; its open "
			   "connections were read and closed",
			   TTLOG_KV("input", (const char *)u->name),
			   TTLOG_KV("from", ttlog__input_type_name(in->type)),
			   TTLOG_KV("to", ttlog__input_type_name(u->type)),
			   TTLOG_KV("connections", n));
	}
	in->type = u->type;
	s = in->name;
	in->name = u->name;
	u->name = s;
	s = in->listen;
	in->listen = u->listen;
	u->listen = s;
	if (u->dgram != NULL) {
		s = in->dgram;
		in->dgram = u->dgram;
		u->dgram = s;
	}
	in->max_message = u->max_message;
	in->max_frame = u->max_frame;
	in->max_connections = u->max_connections;
	/* For new connections: the open ones are counted and kept. */
	in->max_per_peer = u->max_per_peer;
	in->idle_timeout_ms = u->idle_timeout_ms;
	in->pause_backlog = u->pause_backlog;
	in->window = u->window;
	in->max_buffer = u->max_buffer;
	in->hello_timeout_ms = u->hello_timeout_ms;
	in->frame_timeout_ms = u->frame_timeout_ms;
	ttlog__input_perm_update(in, &u->perm);
	if (u->receive_buffer != in->receive_buffer) {
		in->receive_buffer = u->receive_buffer;
		ttlog__input_dgram_update(in);
	}
	/* Open TLS connections hold a reference on the context they were
	 * accepted with and keep it until they close. */
	if (in->tls != NULL)
		SSL_CTX_free(in->tls);
	in->tls = u->tls;
	u->tls = NULL;
	ttlog__input_stream_update(in);
	ttlog__tail_update(in, u->max_line, u->rotate_wait_ms, u->poll_ms);
	ttlog__input_update_free(u);
}
