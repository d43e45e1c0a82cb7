/*
 * input.c - an agent input: its option table, parsing its `listen`
 * address, binding it, and turning each message into an ingested event.
 * The connections themselves are in input_stream.c and input_dgram.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "addr.h"
#include "errf.h"
#include "input_internal.h"
#include "input_journal.h"
#include "input_kafka.h"
#include "registry_internal.h"
#include "parse_internal.h"
#include "tls.h"
#include "tail_internal.h"

uint64_t ttlog__input_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether a warning may be logged now: one a second of each kind. */
static int rl_pass(struct ttlog__ratelimit *rl, uint64_t *suppressed)
{
	return ttlog__ratelimit_pass(rl, ttlog__input_now_ns(), 1000000000u,
				     suppressed);
}

void ttlog__input_warn(struct ttlog__input *in, const char *peer,
		       const char *why)
{
	uint64_t suppressed;

	/* A sender that keeps breaking its framing must not turn the
	 * agent's own log into a flood: one event a second, with the count
	 * of those left out since the last one. */
	if (!rl_pass(&in->warn_rl, &suppressed))
		return;
	TTLOG_WARN("input closed a connection",
		   TTLOG_KV("input", (const char *)in->name),
		   TTLOG_KV("peer", peer), TTLOG_KV("reason", why),
		   TTLOG_KV("suppressed", suppressed));
}

/* The first bytes of s as printable ASCII: '\' doubled, every other byte
 * outside ' '..'~' as \xHH, "..." after a cut. out holds 4 * max + 4. */
static void escape_head(char *out, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = n < max ? n : max;

	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			*out++ = '\\';
			*out++ = '\\';
		} else if (c >= ' ' && c <= '~') {
			*out++ = (char)c;
		} else {
			*out++ = '\\';
			*out++ = 'x';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	if (k < n) {
		memcpy(out, "...", 3);
		out += 3;
	}
	*out = '\0';
}

#define DROP_HEAD 64

void ttlog__input_drop_warn(struct ttlog__input *in, const char *peer,
			    const char *why, const char *msg, size_t len)
{
	char head[4 * DROP_HEAD + 4];
	uint64_t suppressed;

	/* A sender of garbage must not flood the agent's own log. */
	if (!rl_pass(&in->drop_rl, &suppressed))
		return;
	escape_head(head, msg, len, DROP_HEAD);
	TTLOG_WARN("input dropped a message",
		   TTLOG_KV("input", (const char *)in->name),
		   TTLOG_KV("peer", peer != NULL ? peer : "-"),
		   TTLOG_KV("reason", why), TTLOG_KV("bytes", (uint64_t)len),
		   TTLOG_KV("head", (const char *)head),
		   TTLOG_KV("suppressed", suppressed));
}

/* A message repeated keys: the parser kept the last value of each. */
static void dup_warn(struct ttlog__input *in, const char *peer,
		     const struct ttlog__in_event *ev)
{
	char key[4 * DROP_HEAD + 4];
	uint64_t suppressed;

	in->st.duplicate_keys += ev->duplicate_keys;
	if (!rl_pass(&in->dup_rl, &suppressed))
		return;
	escape_head(key, ev->dup_key, ev->dup_key_len, DROP_HEAD);
	TTLOG_WARN("input kept the last of repeated keys",
		   TTLOG_KV("input", (const char *)in->name),
		   TTLOG_KV("peer", peer != NULL ? peer : "-"),
		   TTLOG_KV("key", (const char *)key),
		   TTLOG_KV("repeats", (uint64_t)ev->duplicate_keys),
		   TTLOG_KV("suppressed", suppressed));
}

void ttlog__input_take_field(struct ttlog__in_event *ev, const char *key,
			     struct ttlog__origin_str *out)
{
	size_t kl = strlen(key);

	for (uint32_t i = 0; i < ev->nfields; i++) {
		struct ttlog__in_field *f = &ev->fields[i];
		if (f->type != TTLOG_TYPE_STR || f->key_len != kl ||
		    memcmp(f->key, key, kl) != 0)
			continue;
		out->p = f->v.str.ptr;
		out->len = f->v.str.len;
		memmove(f, f + 1, (ev->nfields - i - 1) * sizeof(*f));
		ev->nfields--;
		return;
	}
}

/*
 * The event's origin: the sender's host and service as the message names
 * them (syslog's HOSTNAME and APP-NAME, a JSON line's "host" and
 * "service", which stop being fields; for stdin, this host and the
 * agent's service.name), this input and the peer. Origins
 * are shared through the input's cache: a stream from one sender makes
 * one. Out of memory, the event keeps the agent's own origin.
 */
static void set_origin(struct ttlog__input *in, int format, const char *peer,
		       struct ttlog__in_event *ev)
{
	struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS] = {{NULL, 0}};
	const struct ttlog_origin *self = &ttlog__origin_self()->pub;

	if (format == TTLOG__INPUT_SYSLOG || format == TTLOG__INPUT_JSONL) {
		ttlog__input_take_field(ev, "host", &s[TTLOG__ORIGIN_HOST]);
		ttlog__input_take_field(
			ev, format == TTLOG__INPUT_SYSLOG ? "app" : "service",
			&s[TTLOG__ORIGIN_SERVICE]);
		/* A file's line that names no host or service is this
		 * host's, of the agent's service. */
		if (in->type == TTLOG__INPUT_TAIL &&
		    s[TTLOG__ORIGIN_HOST].p == NULL) {
			s[TTLOG__ORIGIN_HOST].p = self->host;
			s[TTLOG__ORIGIN_HOST].len = strlen(self->host);
		}
		if (in->type == TTLOG__INPUT_TAIL &&
		    s[TTLOG__ORIGIN_SERVICE].p == NULL) {
			s[TTLOG__ORIGIN_SERVICE].p = self->service;
			s[TTLOG__ORIGIN_SERVICE].len = strlen(self->service);
		}
	} else {
		/* Lines on stdin come from the program piped into the
		 * agent, on this host: the agent's service.name is the
		 * name to route them by. So are a file's raw lines. */
		s[TTLOG__ORIGIN_HOST].p = self->host;
		s[TTLOG__ORIGIN_HOST].len = strlen(self->host);
		s[TTLOG__ORIGIN_SERVICE].p = self->service;
		s[TTLOG__ORIGIN_SERVICE].len = strlen(self->service);
	}
	s[TTLOG__ORIGIN_INPUT].p = in->name;
	s[TTLOG__ORIGIN_INPUT].len = strlen(in->name);
	if (peer != NULL) {
		s[TTLOG__ORIGIN_PEER].p = peer;
		s[TTLOG__ORIGIN_PEER].len = strlen(peer);
	}
	if (in->cur_peer_id != NULL) {
		s[TTLOG__ORIGIN_PEER_ID].p = in->cur_peer_id;
		s[TTLOG__ORIGIN_PEER_ID].len = strlen(in->cur_peer_id);
	}
	ev->origin = ttlog__origin_cache_get(&in->origins, s);
}

void ttlog__input_message(struct ttlog__input *in, const char *peer,
			  const char *msg, size_t len)
{
	ttlog__input_message_as(in, in->type, peer, msg, len, 0);
}

void ttlog__input_message_as(struct ttlog__input *in, int format,
			     const char *peer, const char *msg, size_t len,
			     int truncated)
{
	struct ttlog__in_event ev;
	char err[160] = "";
	int rc;

	switch (format) {
	case TTLOG__INPUT_SYSLOG:
		rc = ttlog__syslog_parse(msg, len, &ev, &in->scratch, err,
					 sizeof(err));
		break;
	case TTLOG__INPUT_JSONL:
		rc = ttlog__jsonl_parse(msg, len, &ev, &in->scratch, err,
					sizeof(err));
		break;
	default:
		memset(&ev, 0, offsetof(struct ttlog__in_event, fields));
		ev.level = TTLOG_LEVEL_INFO;
		ev.msg = msg;
		ev.msg_len = len;
		ev.msg_varies = 1;
		ev.source = in->type == TTLOG__INPUT_TAIL ? "tail" : "stdin";
		rc = 0;
		break;
	}
	if (rc != 0) {
		in->st.malformed++;
		ttlog__input_drop_warn(in, peer, err, msg, len);
		return;
	}
	if (ev.duplicate_keys > 0)
		dup_warn(in, peer, &ev);
	if (truncated)
		ev.truncated = 1;
	set_origin(in, format, peer, &ev);
	/* The library counts both failures too (dropped_invalid,
	 * dropped_no_memory); for the input, an event the parser made but
	 * the library refused is a malformed message. */
	rc = ttlog__host_ingest(in->writer, &ev, in->id);
	if (rc == TTLOG_EINVAL) {
		in->st.malformed++;
		ttlog__input_drop_warn(in, peer, "the event was refused", msg,
				       len);
		return;
	}
	if (rc != 0) {
		in->st.dropped++;
		ttlog__input_drop_warn(in, peer, ttlog_strerror(rc), msg, len);
		return;
	}
	in->st.events++;
}

/* ---- the listen address ---- */

/* Binds (and for TCP listens on) the first address HOST resolves to that
 * accepts it. Returns the socket, or -1 with err filled. */
static int bind_inet(const char *where, const struct ttlog__addr *a, char *err,
		     size_t errlen)
{
	int type = a->scheme == TTLOG__ADDR_UDP ? SOCK_DGRAM : SOCK_STREAM;
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
			 (a->bracketed ? AI_NUMERICHOST : 0);
	rc = getaddrinfo(a->host, a->port, &hints, &res);
	if (rc != 0) {
		ttlog__errf(err, errlen, "%s: cannot resolve %s: %s", where,
			    a->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int one = 1;
		fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* A restarted agent must rebind at once, past TIME_WAIT. */
		if (type == SOCK_STREAM)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    (type != SOCK_STREAM || listen(fd, SOMAXCONN) == 0))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		ttlog__errf(err, errlen, "%s: %s", where, strerror(saved));
	return fd;
}

/* Binds (and for a stream listens on) a unix socket at path, after
 * removing a stale socket file there (one nobody is bound to any more);
 * the file gets the input's mode, owner and group (input_perm.c). */
static int bind_unix(struct ttlog__input *in, const char *path, int type,
		     char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			ttlog__errf(err, errlen,
				    "%s: exists and is not a socket; not "
				    "removing it",
				    in->listen);
			return -1;
		}
		/* A socket file someone is still bound to is not stale:
		 * connect succeeds, or says the socket is of the other kind
		 * (EPROTOTYPE). */
		fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd >= 0 &&
		    (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
		     errno == EPROTOTYPE)) {
			close(fd);
			ttlog__errf(err, errlen,
				    "%s: %s (another process listens there)",
				    in->listen, strerror(EADDRINUSE));
			return -1;
		}
		if (fd >= 0)
			close(fd);
		if (unlink(path) != 0 && errno != ENOENT) {
			ttlog__errf(err, errlen,
				    "%s: cannot remove the stale socket: %s",
				    in->listen, strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || ttlog__input_perm_before_bind(in, fd) != 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		ttlog__errf(err, errlen, "%s: %s", in->listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Remember which file is ours: at stop it is removed only if it is
	 * still the one we made. */
	in->unix_path = strdup(path);
	if (in->unix_path == NULL || lstat(path, &st) != 0) {
		ttlog__errf(err, errlen, "%s: %s", in->listen,
			    strerror(in->unix_path ? errno : ENOMEM));
		close(fd);
		return -1;
	}
	in->unix_dev = st.st_dev;
	in->unix_ino = st.st_ino;
	/* Owner, group and mode before anyone can connect (listen). */
	if (ttlog__input_perm_after_bind(in, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0) {
		ttlog__errf(err, errlen, "%s: %s", in->listen, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ttlog__input_prepare(struct event_base *base, struct ttlog__writer *w,
			 const struct ttlog__input_opts *o, uint32_t id,
			 struct ttlog__input **out, char *err, size_t errlen)
{
	struct ttlog__input *in;
	struct ttlog__addr a;
	SSL_CTX *tls;
	int fd, rc;

	*out = NULL;
	memset(&a, 0, sizeof(a)); /* stdin has no address */
	struct ttlog__input_perm perm;
	if (ttlog__input_check(o, &a, &tls, err, errlen) != 0)
		return TTLOG_EINVAL;
	/* Resolved again: the names may have changed since the load. */
	memset(&perm, 0, sizeof(perm)); /* kafka: `group` is its group.id */
	if (o->type != TTLOG__INPUT_KAFKA &&
	    ttlog__input_perm_resolve(o, &perm, NULL, err, errlen) != 0) {
		if (tls != NULL)
			SSL_CTX_free(tls);
		return TTLOG_EINVAL;
	}
	in = calloc(1, sizeof(*in));
	if (in == NULL) {
		ttlog__errf(err, errlen, "input %s: out of memory", o->name);
		if (tls != NULL)
			SSL_CTX_free(tls);
		return TTLOG_ENOMEM;
	}
	in->tls = tls;
	in->base = base;
	in->writer = w;
	in->type = o->type;
	in->max_message = (size_t)o->max_message;
	in->max_connections = o->max_connections;
	in->max_per_peer = o->max_connections_per_peer;
	in->idle_timeout_ms = o->idle_timeout_ms;
	in->pause_backlog = o->pause_backlog;
	in->max_frame = (size_t)o->max_frame;
	in->window = o->window;
	in->max_buffer = (size_t)o->max_buffer;
	in->hello_timeout_ms = o->hello_timeout_ms;
	in->frame_timeout_ms = o->frame_timeout_ms;
	in->receive_buffer = o->receive_buffer;
	in->perm = perm;
	in->unixgram = a.scheme == TTLOG__ADDR_UNIXGRAM;
	in->id = id;
	in->ufd = -1;
	in->stdin_flags = -1;
	in->state_fd = -1;
	in->name = strdup(o->name);
	in->listen = o->listen ? strdup(o->listen) : NULL;
	if (in->name == NULL || (o->listen != NULL && in->listen == NULL)) {
		ttlog__errf(err, errlen, "input %s: out of memory", o->name);
		ttlog__input_stop(in);
		return TTLOG_ENOMEM;
	}
	if (in->type == TTLOG__INPUT_STDIN) {
		rc = ttlog__input_stdin_start(in, err, errlen);
		goto done;
	}
	if (in->type == TTLOG__INPUT_JOURNAL) {
		rc = ttlog__journal_start(in, o, err, errlen);
		goto done;
	}
	if (in->type == TTLOG__INPUT_KAFKA) {
		rc = ttlog__kafka_start(in, o, err, errlen);
		goto done;
	}
	if (in->type == TTLOG__INPUT_TAIL) {
		char why[512];
		rc = 0;
		if (ttlog__tail_start(in, o, why, sizeof(why)) != 0) {
			ttlog__errf(err, errlen, "input %s: %s", in->name, why);
			rc = TTLOG_EINVAL;
		}
		goto done;
	}
	if (in->type == TTLOG__INPUT_TTLOG) {
		char why[512];
		if (ttlog__native_init(in, o->state_dir, why, sizeof(why)) !=
		    0) {
			ttlog__errf(err, errlen, "input %s: %s", in->name, why);
			ttlog__input_stop(in);
			return TTLOG_EINVAL;
		}
	}
	if (a.scheme == TTLOG__ADDR_UNIX)
		fd = bind_unix(in, a.path, SOCK_STREAM, err, errlen);
	else if (a.scheme == TTLOG__ADDR_UNIXGRAM)
		fd = bind_unix(in, a.path, SOCK_DGRAM, err, errlen);
	else
		fd = bind_inet(in->listen, &a, err, errlen);
	if (fd < 0) {
		ttlog__input_stop(in);
		return TTLOG_EINVAL;
	}
	if (a.scheme == TTLOG__ADDR_UDP || a.scheme == TTLOG__ADDR_UNIXGRAM)
		rc = ttlog__input_dgram_start(in, fd, err, errlen);
	else
		rc = ttlog__input_stream_start(in, fd, err, errlen);
done:
	if (rc != 0) {
		ttlog__input_stop(in);
		return rc;
	}
	*out = in;
	return 0;
}

void ttlog__input_enable(struct ttlog__input *in)
{
	in->enabled = 1;
	ttlog__journal_enable(in);
	ttlog__tail_enable(in);
	ttlog__kafka_enable(in);
	ttlog__input_stream_enable(in);
	ttlog__input_dgram_enable(in);
}

int ttlog__input_start(struct event_base *base, struct ttlog__writer *w,
		       const struct ttlog__input_opts *o, uint32_t id,
		       struct ttlog__input **out, char *err, size_t errlen)
{
	int rc = ttlog__input_prepare(base, w, o, id, out, err, errlen);

	if (rc == 0)
		ttlog__input_enable(*out);
	return rc;
}

/* Frees the input once its connections are finished (wait_ms: see
 * ttlog__input_stream_stop()). */
static void input_free(struct ttlog__input *in, unsigned wait_ms)
{
	struct stat st;

	if (in == NULL)
		return;
	ttlog__journal_stop(in, wait_ms > 0);
	ttlog__tail_stop(in, wait_ms == 0);
	ttlog__kafka_stop(in);
	ttlog__input_stream_stop(in, wait_ms);
	ttlog__input_dgram_stop(in);
	if (in->unix_path != NULL) {
		if (lstat(in->unix_path, &st) == 0 &&
		    st.st_dev == in->unix_dev && st.st_ino == in->unix_ino)
			unlink(in->unix_path);
		free(in->unix_path);
	}
	ttlog__scratch_destroy(&in->scratch);
	ttlog__origin_cache_clear(&in->origins);
	ttlog__native_free(in);
	if (in->tls != NULL)
		SSL_CTX_free(in->tls);
	free(in->name);
	free(in->listen);
	free(in);
}

void ttlog__input_stop(struct ttlog__input *in)
{
	input_free(in, TTLOG__INPUT_STOP_WAIT_MS);
}

void ttlog__input_remove(struct ttlog__input *in)
{
	input_free(in, 0);
}

void ttlog__input_hand_on(struct ttlog__input *in, int fd)
{
	int pending = 0;

	if (fd < 0 || ioctl(fd, FIONREAD, &pending) != 0 || pending == 0)
		(void)ttlog__host_ingest_commit(in->writer);
	else
		(void)ttlog__host_ingest_commit_aged(
			in->writer, TTLOG__UNACKED_MAX_WAIT_NS);
}

void ttlog__input_taken(struct ttlog__input *in, uint64_t taken)
{
	if (in->type == TTLOG__INPUT_TTLOG)
		ttlog__native_taken(in, taken);
	else if (in->type == TTLOG__INPUT_JOURNAL)
		ttlog__journal_taken(in);
	else if (in->type == TTLOG__INPUT_TAIL)
		ttlog__tail_taken(in, taken);
	else if (in->type == TTLOG__INPUT_KAFKA)
		ttlog__kafka_taken(in);
}

size_t ttlog__input_file_lags(const struct ttlog__input *in,
			      void (*fn)(void *arg, const char *path,
					 uint64_t lag),
			      void *arg)
{
	return in->type == TTLOG__INPUT_TAIL
		       ? ttlog__tail_file_lags(in, TTLOG__INPUT_FILE_LAGS, fn,
					       arg)
		       : 0;
}

void ttlog__input_get_stats(const struct ttlog__input *in,
			    struct ttlog__input_stats *out)
{
	*out = in->st;
	out->reserved = in->reserved;
	out->buffered = ttlog__input_budget_held(in);
	ttlog__journal_get_stats(in, out);
	ttlog__tail_stats(in, out);
	ttlog__kafka_get_stats(in, out);
}

size_t ttlog__input_partition_lags(const struct ttlog__input *in,
				   void (*fn)(void *arg, const char *topic,
					      int32_t partition, int64_t lag),
				   void *arg)
{
	return ttlog__kafka_partition_lags(in, TTLOG__INPUT_FILE_LAGS, fn, arg);
}
