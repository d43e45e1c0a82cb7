/*
 * input_stream.c - stream inputs: TCP and unix connections (accepted in
 * input_accept.c) and standard input, each a bufferevent. Messages are
 * cut off the stream (RFC 6587 for syslog, lines for jsonl and stdin),
 * parsed and ingested; reading stops while the listeners push back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
/* struct bufferevent's read event, for ttlog__input_conn_kick() */
#include <event2/bufferevent_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"
#include "parse_internal.h"
#include "tls.h"

/* How often a paused input looks at the backlog again. */
#define RESUME_CHECK_US 10000
/* At stop, the most bytes still read from one connection's socket, so that
 * a sender that never stops cannot hold the stop up. */
#define STOP_READ_MAX ((size_t)16 << 20)

void ttlog__input_conn_free(struct ttlog__input_conn *c)
{
	struct ttlog__input *in = c->in;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		in->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ttlog__input_budget_conn_free(c);
	bufferevent_free(c->bev);
	in->st.connections--;
	if (c->counted)
		ttlog__peer_table_del(&in->peers, &c->pkey);
	ttlog__native_conn_free(c);
	free(c);
}

static void conn_free(struct ttlog__input_conn *c)
{
	ttlog__input_conn_free(c);
}

static int all_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* One line of a jsonl or stdin stream, without its LF. */
static void line(struct ttlog__input *in, const char *peer, const char *p,
		 size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	/* Blank lines separate nothing and are no message. */
	if (in->type == TTLOG__INPUT_JSONL && all_space(p, n))
		return;
	if (in->type == TTLOG__INPUT_STDIN && n == 0)
		return;
	ttlog__input_message(in, peer, p, n);
}

/*
 * Parses every complete message in the connection's input buffer and
 * drops it from there. At end of stream (eof) the unterminated rest is a
 * message too. Returns 0, or -1 when the framing is broken, with the
 * reason in why: the stream cannot be resynchronised.
 */
static int parse_buffer(struct ttlog__input_conn *c, int eof, char *why,
			size_t whylen)
{
	struct ttlog__input *in = c->in;
	struct evbuffer *b = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(b), off = 0, max = in->max_message;
	const char *p;
	int rc = 0;

	in->st.bytes += len - c->kept;
	if (len == 0) {
		c->kept = 0;
		return 0;
	}
	in->cur_peer_id = c->peer_id[0] ? c->peer_id : NULL;
	/* The watermark keeps the buffer within 2 * max_message: making it
	 * contiguous is cheap and lets the framer see whole messages. */
	p = (const char *)evbuffer_pullup(b, -1);
	while (off < len) {
		const char *m, *lf;
		size_t mlen, used;
		int r;

		if (in->type == TTLOG__INPUT_SYSLOG) {
			r = ttlog__syslog_frame(p + off, len - off, max, &m,
						&mlen, &used, why, whylen);
			if (r < 0) {
				rc = -1;
				break;
			}
			off += used;
			if (r == 0) {
				/* A final message without its LF. */
				if (eof && off < len && p[off] == '<') {
					ttlog__input_message(in, c->peer,
							     p + off,
							     len - off);
					off = len;
				}
				break;
			}
			ttlog__input_message(in, c->peer, m, mlen);
			continue;
		}
		lf = memchr(p + off, '\n', len - off);
		mlen = lf != NULL ? (size_t)(lf - (p + off)) : len - off;
		if (c->discard) {
			/* stdin: the tail of a line that was too long. */
			off += lf != NULL ? mlen + 1 : mlen;
			c->discard = lf == NULL;
			continue;
		}
		if (mlen > max) {
			if (in->type == TTLOG__INPUT_STDIN) {
				/* Standard input cannot be reopened: skip
				 * the line instead of closing it. */
				in->st.malformed++;
				ttlog__errf(why, whylen,
					    "a line longer than max_message "
					    "(%zu bytes), skipped",
					    max);
				ttlog__input_drop_warn(in, c->peer, why,
						       p + off, mlen);
				why[0] = '\0';
				off += lf != NULL ? mlen + 1 : mlen;
				c->discard = lf == NULL;
				continue;
			}
			ttlog__errf(why, whylen,
				    "a line longer than max_message (%zu "
				    "bytes)",
				    max);
			rc = -1;
			break;
		}
		if (lf == NULL) {
			if (eof) {
				line(in, c->peer, p + off, mlen);
				off = len;
			}
			break;
		}
		line(in, c->peer, p + off, mlen);
		off += mlen + 1;
	}
	/* A broken frame is a malformed message too; the caller closes. */
	if (rc < 0)
		in->st.malformed++;
	if (rc == 0 && eof && off < len) {
		/* A partial octet-counted message the peer never finished. */
		in->st.malformed++;
		ttlog__input_drop_warn(in, c->peer,
				       "the stream ended inside a message",
				       p + off, len - off);
		off = len;
	}
	evbuffer_drain(b, off);
	c->kept = len - off;
	in->cur_peer_id = NULL;
	return rc;
}

/*
 * libevent 2.1's TLS bufferevent on a socket stops reading at the read
 * watermark (or when disabled) with whatever OpenSSL already decrypted
 * still inside OpenSSL, and when reading may go on it only waits for the
 * socket again: bytes that arrived in the same TLS record stay unread
 * until the sender sends more (a heartbeat, seconds later). Its own read
 * handler drains them; running it once is enough. With the memory
 * budget's small watermarks this is the common case, not a corner.
 */
void ttlog__input_conn_kick(struct ttlog__input_conn *c)
{
	SSL *ssl;

	if (!c->tls || !c->tls_done || c->lingering)
		return;
	ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl != NULL && SSL_pending(ssl) > 0)
		event_active(&c->bev->ev_read, EV_READ, 1);
}

static void resume_check(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__input *in = arg;
	struct timeval tv = {0, RESUME_CHECK_US};
	(void)fd;
	(void)what;

	if (ttlog__host_pushback(in->writer, (size_t)in->pause_backlog, 1)) {
		evtimer_add(in->resume, &tv);
		return;
	}
	in->st.paused = 0;
	for (struct ttlog__input_conn *c = in->conns; c != NULL; c = c->next) {
		bufferevent_enable(c->bev, EV_READ);
		ttlog__input_conn_kick(c);
	}
}

/* After each read: stop reading every connection of this input while a
 * listener with queue.when_full: block holds back more than its pause
 * mark (ttlog__host_pushback()). TCP senders then feel it through their
 * socket buffers filling up. Listeners that drop when full never pause
 * an input. */
static void check_backlog(struct ttlog__input *in)
{
	struct timeval tv = {0, RESUME_CHECK_US};

	if (in->st.paused || in->resume == NULL ||
	    !ttlog__host_pushback(in->writer, (size_t)in->pause_backlog, 0))
		return;
	in->st.paused = 1;
	for (struct ttlog__input_conn *c = in->conns; c != NULL; c = c->next)
		bufferevent_disable(c->bev, EV_READ);
	evtimer_add(in->resume, &tv);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct ttlog__input_conn *c = arg;
	struct ttlog__input *in = c->in;
	char why[256];

	if (in->type == TTLOG__INPUT_TTLOG) {
		if (ttlog__native_read(c) != 0) {
			conn_free(c);
			c = NULL;
		}
	} else {
		size_t before = evbuffer_get_length(bufferevent_get_input(bev));
		if (parse_buffer(c, 0, why, sizeof(why)) != 0) {
			ttlog__input_warn(in, c->peer, why);
			conn_free(c);
			c = NULL;
		} else {
			ttlog__input_budget_after_read(c, c->kept, 0,
						       c->kept < before);
		}
		ttlog__input_hand_on(in, c ? bufferevent_getfd(c->bev) : -1);
	}
	check_backlog(in);
	if (c != NULL && !in->st.paused)
		ttlog__input_conn_kick(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg);

/* A TLS handshake failed: count it and say why, in words. */
static void tls_failed(struct ttlog__input_conn *c)
{
	struct ttlog__input *in = c->in;
	unsigned long e, first = 0;
	char why[300], msg[400];

	while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		if (first == 0)
			first = e;
	(void)ttlog__tls_describe_code(bufferevent_openssl_get_ssl(c->bev),
				       first, why, sizeof(why));
	in->st.tls_failures++;
	snprintf(msg, sizeof(msg), "TLS handshake failed: %s",
		 why[0] ? why : "the peer closed the connection");
	ttlog__input_warn(in, c->peer, msg);
}

static void linger_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg); /* the last bytes are out */
}

void ttlog__input_conn_linger(struct ttlog__input_conn *c, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};

	c->lingering = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, linger_write, conn_event, c);
}

/* libevent reports some ends of a connection as errors that are none: a
 * TLS sender that closes its socket without close_notify (OpenSSL 3 calls
 * that an unexpected EOF; with errno 0 it read "reason=Success"). A
 * sender that has said everything it had to say may do that; it is not
 * worth a warning. The first OpenSSL error is left in *ssl_error for
 * error_reason(). */
static int closed_cleanly(struct ttlog__input_conn *c, unsigned long *ssl_error)
{
	unsigned long e, first = 0;

	*ssl_error = 0;
	if (EVUTIL_SOCKET_ERROR() != 0)
		return 0;
	if (c->in->tls != NULL)
		while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
			if (first == 0)
				first = e;
	*ssl_error = first;
	return first == 0 ||
	       ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* The words for a connection's error: the socket's, else OpenSSL's. */
static void error_reason(struct ttlog__input_conn *c, unsigned long ssl_error,
			 char *why, size_t len)
{
	int e = EVUTIL_SOCKET_ERROR();

	if (e == 0 && ssl_error != 0)
		(void)ttlog__tls_describe_code(
			bufferevent_openssl_get_ssl(c->bev), ssl_error, why,
			len);
	else
		snprintf(why, len, "%s", evutil_socket_error_to_string(e));
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ttlog__input_conn *c = arg;
	struct ttlog__input *in = c->in;
	unsigned long ssl_error = 0;
	char why[256];
	(void)bev;

	if (what & BEV_EVENT_CONNECTED) {
		c->tls_done = 1; /* the TLS handshake is done */
		/* The native protocol's hello is still to come. */
		c->greeted = in->type != TTLOG__INPUT_TTLOG;
		/* A sender with a verified certificate is known: it is
		 * served first by the memory budget from the start. */
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
		if (cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK) {
			c->proven = 1;
			X509_NAME_oneline(X509_get_subject_name(cert),
					  c->peer_id, sizeof(c->peer_id));
		}
		return;
	}
	if (c->lingering) {
		conn_free(c); /* closing anyway: timeout, error, EOF */
		return;
	}
	if (c->tls && !c->tls_done &&
	    (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
		tls_failed(c);
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		in->st.idle_timeouts++;
		snprintf(why, sizeof(why), "idle for %llu ms (idle_timeout)",
			 (unsigned long long)in->idle_timeout_ms);
		ttlog__input_warn(in, c->peer, why);
		conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && closed_cleanly(c, &ssl_error)) {
		/* The sender closed without an error of its own: a normal
		 * end, handled as EOF (the rest of its buffer counts). */
		what = (short)((what & ~BEV_EVENT_ERROR) | BEV_EVENT_EOF);
		TTLOG_DEBUG("input connection closed by the peer",
			    TTLOG_KV("input", (const char *)in->name),
			    TTLOG_KV("peer", (const char *)c->peer));
	}
	if (what & BEV_EVENT_ERROR) {
		in->st.errors++;
		error_reason(c, ssl_error, why, sizeof(why));
		ttlog__input_warn(in, c->peer, why);
		if (in->type != TTLOG__INPUT_TTLOG) {
			parse_buffer(c, 1, why, sizeof(why));
			ttlog__input_hand_on(in, -1);
		}
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF && in->type == TTLOG__INPUT_TTLOG) {
		/* A frame cut short is sent again by its sender. */
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* The peer is done: what it sent last counts, even without
		 * its line end. */
		if (parse_buffer(c, 1, why, sizeof(why)) != 0)
			ttlog__input_warn(in, c->peer, why);
		ttlog__input_hand_on(in, -1);
		/* Standard input just ends here; whether the agent exits
		 * then is the agent's decision (it sees connections 0). */
		conn_free(c);
		check_backlog(in);
	}
}

/* The read watermark and the idle timeout from the input's options; at
 * accept, and again for every open connection when a reload changes
 * them. */
static void conn_limits(struct ttlog__input_conn *c)
{
	struct ttlog__input *in = c->in;
	struct timeval tv = {(time_t)(in->idle_timeout_ms / 1000),
			     (suseconds_t)(in->idle_timeout_ms % 1000) * 1000};

	/* Bounded memory: the connection holds what the budget allows
	 * (input_budget.c); the framers consume or fail within that. */
	c->mark = ttlog__input_budget_watermark(c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->mark);
	/* Standard input may rightly be quiet for hours. */
	if (in->type != TTLOG__INPUT_STDIN)
		bufferevent_set_timeouts(
			c->bev, in->idle_timeout_ms > 0 ? &tv : NULL, NULL);
}

struct ttlog__input_conn *ttlog__input_conn_new(struct ttlog__input *in, int fd,
						int options)
{
	struct ttlog__input_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (in->tls != NULL) {
		SSL *ssl = SSL_new(in->tls);
		c->bev = ssl == NULL
				 ? NULL
				 : bufferevent_openssl_socket_new(
					   in->base, fd, ssl,
					   BUFFEREVENT_SSL_ACCEPTING, options);
		if (c->bev == NULL && ssl != NULL)
			SSL_free(ssl);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->tls = 1;
	} else {
		c->bev = bufferevent_socket_new(in->base, fd, options);
	}
	if (c->bev == NULL) {
		free(c);
		return NULL;
	}
	c->in = in;
	/* The budget's watermarks count on reads of at most this. */
	bufferevent_set_max_single_read(c->bev, TTLOG__CONN_READ_BYTES);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	conn_limits(c);
	c->next = in->conns;
	if (in->conns != NULL)
		in->conns->prev = c;
	in->conns = c;
	in->st.connections++;
	if (in->enabled && !in->st.paused)
		bufferevent_enable(c->bev, EV_READ);
	return c;
}

static int resume_timer(struct ttlog__input *in, char *err, size_t errlen)
{
	in->resume = evtimer_new(in->base, resume_check, in);
	if (in->resume == NULL) {
		ttlog__errf(err, errlen, "input %s: out of memory", in->name);
		return TTLOG_ENOMEM;
	}
	return 0;
}

int ttlog__input_stream_start(struct ttlog__input *in, int fd, char *err,
			      size_t errlen)
{
	if (ttlog__input_accept_start(in, fd, err, errlen) != 0 ||
	    ttlog__input_budget_start(in, err, errlen) != 0)
		return TTLOG_ENOMEM;
	return resume_timer(in, err, errlen);
}

int ttlog__input_stdin_start(struct ttlog__input *in, char *err, size_t errlen)
{
	struct ttlog__input_conn *c;
	struct stat st;
	int flags;

	if (fstat(0, &st) != 0) {
		ttlog__errf(err, errlen, "input %s: standard input: %s",
			    in->name, strerror(errno));
		return TTLOG_EINVAL;
	}
	/* epoll cannot wait on a regular file (EPERM): `agent < file` is
	 * not supported, a pipe is (`cat file | agent`). */
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		ttlog__errf(err, errlen,
			    "input %s: standard input is a file; pipe it in "
			    "instead (cat FILE | ttlog-agent ...)",
			    in->name);
		return TTLOG_EINVAL;
	}
	flags = fcntl(0, F_GETFL);
	if (flags < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) != 0) {
		ttlog__errf(err, errlen, "input %s: standard input: %s",
			    in->name, strerror(errno));
		return TTLOG_EINVAL;
	}
	in->stdin_flags = flags;
	if (resume_timer(in, err, errlen) != 0)
		return TTLOG_ENOMEM;
	/* Not BEV_OPT_CLOSE_ON_FREE: fd 0 stays open, so that it is never
	 * reused by a socket that something then takes for stdin. */
	c = ttlog__input_conn_new(in, 0, 0);
	if (c == NULL) {
		ttlog__errf(err, errlen, "input %s: out of memory", in->name);
		return TTLOG_ENOMEM;
	}
	snprintf(c->peer, sizeof(c->peer), "stdin");
	in->st.accepted++;
	return 0;
}

/* How long stop waits for more from a sender: a connection is read until
 * its end (EOF), or until it has been quiet for STOP_QUIET_MS, all within
 * the caller's wait for every connection together. Bytes a client already
 * sent may still be in flight on the wire when SIGTERM comes; they are
 * part of what was sent before the stop. */
#define STOP_QUIET_MS 100

static int64_t ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* At stop: reads what the socket holds and what is still arriving (see
 * above), and parses the complete messages. */
static void conn_finish(struct ttlog__input_conn *c,
			const struct timespec *deadline)
{
	struct ttlog__input *in = c->in;
	struct evbuffer *b = bufferevent_get_input(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	size_t total = 0;
	char why[256];

	/* Frames not acknowledged yet are sent again by their sender (to
	 * the next instance of this input); a TLS stream cannot be read
	 * around its bufferevent. */
	if (c->discard || in->type == TTLOG__INPUT_TTLOG)
		return;
	if (c->tls) {
		(void)parse_buffer(c, 0, why, sizeof(why));
		return;
	}
	/* A socket bufferevent freezes the end of its input buffer against
	 * writers other than itself; it is freed right after this. */
	evbuffer_unfreeze(b, 0);
	for (;;) {
		size_t room;
		int n;

		if (parse_buffer(c, 0, why, sizeof(why)) != 0)
			return;
		room = 2 * in->max_message - evbuffer_get_length(b);
		if (fd < 0 || total >= STOP_READ_MAX || room == 0)
			return;
		n = evbuffer_read(b, fd, (int)room);
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n == 0 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return; /* the end, or an error */
		int64_t left = ms_left(deadline);
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 ||
		    poll(&p, 1,
			 (int)(left < STOP_QUIET_MS ? left : STOP_QUIET_MS)) <=
			    0)
			return; /* quiet, or out of time */
	}
}

void ttlog__input_stream_enable(struct ttlog__input *in)
{
	if (in->lis != NULL)
		evconnlistener_enable(in->lis);
	for (struct ttlog__input_conn *c = in->conns; c != NULL; c = c->next)
		if (!in->st.paused)
			bufferevent_enable(c->bev, EV_READ);
}

void ttlog__input_stream_update(struct ttlog__input *in)
{
	for (struct ttlog__input_conn *c = in->conns; c != NULL; c = c->next)
		if (!c->lingering)
			conn_limits(c);
	/* A lower threshold may mean pausing now; a higher one is seen by
	 * the resume timer. */
	check_backlog(in);
}

void ttlog__input_conns_finish(struct ttlog__input *in, unsigned wait_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (in->conns != NULL) {
		conn_finish(in->conns, &deadline);
		conn_free(in->conns);
	}
}

void ttlog__input_stream_stop(struct ttlog__input *in, unsigned wait_ms)
{
	ttlog__input_accept_stop(in);
	ttlog__input_conns_finish(in, wait_ms);
	ttlog__input_budget_stop(in);
	ttlog__peer_table_destroy(&in->peers);
	if (in->resume != NULL) {
		event_free(in->resume);
		in->resume = NULL;
	}
	if (in->stdin_flags >= 0) {
		fcntl(0, F_SETFL, in->stdin_flags);
		in->stdin_flags = -1;
	}
}
