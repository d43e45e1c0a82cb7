/*
 * stdout.c - the stdout listener: each batch as text lines or JSON lines
 * on standard output or standard error.
 *
 *   listeners:
 *     - name: console
 *       type: stdout
 *       format: text        # text | json
 *       stream: stdout      # stdout | stderr
 *       color: auto         # auto (a terminal, and NO_COLOR unset) | always |
 * never
 *
 * Text colours only the level word; the rest is the shared text encoding
 * of the batch, computed once for every listener that wants it.
 *
 * Writing never blocks the writer thread: a pipe nobody reads must not
 * stop forwarding, /metrics and /health with it. The stream is written
 * through common/nbwrite.h (a non-blocking description of our own for a
 * pipe, FIFO or terminal; send(MSG_DONTWAIT) for a socket; a regular file
 * as it is). When the stream takes only part of a batch, the rest is
 * copied here and the batch is answered OK: the bytes it still owes are
 * ours, written before anything else once the host's watch says there is
 * room, so a line is never torn and never written twice, whatever the
 * writer's queue drops meanwhile. While such a tail waits, every batch is
 * answered RETRY, and the writer's queue for this listener holds or drops
 * it (counted as dropped_queue_full).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/listener.h>

#include "nbwrite.h"

enum stdout_format { STDOUT_TEXT = 0, STDOUT_JSON = 1 };
enum stdout_stream { STDOUT_STREAM_STDOUT = 0, STDOUT_STREAM_STDERR = 1 };
enum stdout_color {
	STDOUT_COLOR_AUTO = 0,
	STDOUT_COLOR_ALWAYS = 1,
	STDOUT_COLOR_NEVER = 2
};

struct stdout_opts {
	int format; /* enum stdout_format */
	int stream; /* enum stdout_stream */
	int color;  /* enum stdout_color */
};

static const struct ttlog_option_value stdout_formats[] = {
	{"text", STDOUT_TEXT}, {"json", STDOUT_JSON}, {NULL, 0}};
static const struct ttlog_option_value stdout_streams[] = {
	{"stdout", STDOUT_STREAM_STDOUT},
	{"stderr", STDOUT_STREAM_STDERR},
	{NULL, 0}};
static const struct ttlog_option_value stdout_colors[] = {
	{"auto", STDOUT_COLOR_AUTO},
	{"always", STDOUT_COLOR_ALWAYS},
	{"never", STDOUT_COLOR_NEVER},
	{NULL, 0}};

static const struct ttlog_option_spec stdout_spec[] = {
	{TTLOG_OPTION_ENUM_VALUES, "format", "text",
	 offsetof(struct stdout_opts, format),
	 "text: time level message key=value; json: one object per line",
	 TTLOG_OPTION_VALUES(stdout_formats), 0},
	{TTLOG_OPTION_ENUM_VALUES, "stream", "stdout",
	 offsetof(struct stdout_opts, stream), "where to write",
	 TTLOG_OPTION_VALUES(stdout_streams), 0},
	{TTLOG_OPTION_ENUM_VALUES, "color", "auto",
	 offsetof(struct stdout_opts, color),
	 "colour the level in text: auto means on a terminal when NO_COLOR "
	 "is not set",
	 TTLOG_OPTION_VALUES(stdout_colors), 0},
	{0},
};

/* At shutdown, how long a tail the stream does not take is waited for
 * (draining()) before its events are given up and said lost. */
#define STDOUT_DRAIN_MS 2000

struct stdout_state {
	int fd;		     /* STDOUT_FILENO or STDERR_FILENO */
	struct ttlog__nbw w; /* how it is written */
	int json;
	int color;
	/* What the stream still owes of a batch it took only part of: bytes
   * [tail_off, tail_len) of tail, and the events whose lines are not
   * complete yet (for lost() if they never go out). */
	char *tail;
	size_t tail_len, tail_off, tail_cap;
	uint64_t tail_events;
	struct ttlog_host_watch *watch; /* room on w.fd; NULL before start2 */
	uint64_t drain_since_ms;	/* first draining() with a tail */
	char *cbuf;			/* coloured copy of the text */
	size_t ccap;
	int failing;
	uint64_t errors;	       /* failed writes in this episode */
	const struct ttlog_host *host; /* borrowed until destroy() */
};

/* check() (ABI 1.3): the values the registry's table cannot be sure of,
 * for a host that fills the struct itself. Nothing is opened: the stream
 * is a descriptor the process already has. */
static int stdout_check(const void *options, char *err, size_t errlen)
{
	const struct stdout_opts *o = options;

	if (o->format != STDOUT_TEXT && o->format != STDOUT_JSON) {
		snprintf(err, errlen, "format: %d is not text or json",
			 o->format);
		return TTLOG_EINVAL;
	}
	if (o->stream != STDOUT_STREAM_STDOUT &&
	    o->stream != STDOUT_STREAM_STDERR) {
		snprintf(err, errlen, "stream: %d is not stdout or stderr",
			 o->stream);
		return TTLOG_EINVAL;
	}
	if (o->color < STDOUT_COLOR_AUTO || o->color > STDOUT_COLOR_NEVER) {
		snprintf(err, errlen, "color: %d is not auto, always or never",
			 o->color);
		return TTLOG_EINVAL;
	}
	return 0;
}

static int stdout_create(const void *options, const struct ttlog_host *host,
			 void **state)
{
	const struct stdout_opts *o = options;
	struct stdout_state *s = calloc(1, sizeof(*s));
	const char *no_color = getenv("NO_COLOR");

	if (s == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot create", "%s",
			  strerror(ENOMEM));
		return TTLOG_ENOMEM;
	}
	s->host = host;
	s->fd = o && o->stream == STDOUT_STREAM_STDERR ? STDERR_FILENO
						       : STDOUT_FILENO;
	ttlog__nbw_open(&s->w, s->fd);
	s->json = o && o->format == STDOUT_JSON;
	switch (o ? o->color : STDOUT_COLOR_AUTO) {
	case STDOUT_COLOR_ALWAYS:
		s->color = 1;
		break;
	case STDOUT_COLOR_NEVER:
		s->color = 0;
		break;
	default:
		s->color =
			isatty(s->fd) && (no_color == NULL || no_color[0] == 0);
	}
	*state = s;
	return 0;
}

static const char *level_color(const char *lvl, size_t n)
{
	static const struct {
		const char *name, *sgr;
	} map[] = {{"TRACE", "\033[2m"},  {"DEBUG", "\033[36m"},
		   {"INFO", "\033[32m"},  {"WARN", "\033[33m"},
		   {"ERROR", "\033[31m"}, {"FATAL", "\033[1;31m"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == n &&
		    memcmp(map[i].name, lvl, n) == 0)
			return map[i].sgr;
	return NULL;
}

/* Copies text lines ("TIME LEVEL rest") with the level coloured. */
static int colorize(struct stdout_state *s, const char *in, size_t len,
		    const char **out, size_t *outlen)
{
	size_t need = len + len / 8 + 64, o = 0;

	if (s->ccap < need) {
		char *b = realloc(s->cbuf, need);
		if (b == NULL)
			return -1;
		s->cbuf = b;
		s->ccap = need;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - in) + 1 : len;
		const char *sp = memchr(in + i, ' ', end - i);
		const char *lv = sp ? sp + 1 : NULL;
		const char *sp2 =
			lv ? memchr(lv, ' ', (size_t)(in + end - lv)) : NULL;
		const char *sgr =
			sp2 ? level_color(lv, (size_t)(sp2 - lv)) : NULL;
		if (o + (end - i) + 16 > s->ccap) {
			char *b = realloc(s->cbuf, 2 * s->ccap + end - i);
			if (b == NULL)
				return -1;
			s->cbuf = b;
			s->ccap = 2 * s->ccap + end - i;
		}
		if (sgr == NULL) {
			memcpy(s->cbuf + o, in + i, end - i);
			o += end - i;
		} else {
			size_t pre = (size_t)(lv - (in + i));
			size_t lvl = (size_t)(sp2 - lv);
			memcpy(s->cbuf + o, in + i, pre);
			o += pre;
			memcpy(s->cbuf + o, sgr, strlen(sgr));
			o += strlen(sgr);
			memcpy(s->cbuf + o, lv, lvl);
			o += lvl;
			memcpy(s->cbuf + o, "\033[0m", 4);
			o += 4;
			memcpy(s->cbuf + o, sp2, (size_t)(in + end - sp2));
			o += (size_t)(in + end - sp2);
		}
		i = end;
	}
	*out = s->cbuf;
	*outlen = o;
	return 0;
}

static const char *stream_name(const struct stdout_state *s)
{
	return s->fd == STDOUT_FILENO ? "stdout" : "stderr";
}

/* One report when writing starts to fail and one when it works again; the
 * host's log also reaches standard error, and bounds the rate. */
static void report(struct stdout_state *s, int err)
{
	s->errors++;
	if (s->failing)
		return;
	s->failing = 1;
	s->host->log(s->host, TTLOG_LEVEL_ERROR, "write failed", "%s: %s",
		     stream_name(s), strerror(err));
}

/* Events whose lines end in p[0, n): one newline each. */
static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t k = 0;

	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
		k++;
	return k;
}

static void give_up_tail(struct stdout_state *s, const char *why)
{
	if (s->tail_events > 0 && TTLOG_HOST_HAS(s->host, lost))
		s->host->lost(s->host, s->tail_events, why);
	s->tail_len = s->tail_off = 0;
	s->tail_events = 0;
}

static void watch_room(struct stdout_state *s, int on)
{
	if (s->watch != NULL)
		(void)s->host->watch_set(s->watch, on ? TTLOG_HOST_WRITE : 0);
}

/* Writes what the stream still owes of an earlier batch. Returns 0 when
 * nothing is owed any more (written, or given up after an error, which
 * is reported and counted as lost), 1 while the stream has no room. */
static int write_tail(struct stdout_state *s)
{
	while (s->tail_off < s->tail_len) {
		ssize_t n = ttlog__nbw_write(&s->w, s->tail + s->tail_off,
					     s->tail_len - s->tail_off);
		if (n > 0) {
			s->tail_events -=
				count_lines(s->tail + s->tail_off, (size_t)n);
			s->tail_off += (size_t)n;
			continue;
		}
		if (errno == EAGAIN) {
			watch_room(s, 1);
			return 1;
		}
		report(s, errno);
		give_up_tail(s, "the stream failed with lines half written");
		break;
	}
	s->tail_len = s->tail_off = 0;
	s->drain_since_ms = 0;
	watch_room(s, 0);
	return 0;
}

/* Keeps p[0, n), the part of a batch the stream did not take. */
static int keep_tail(struct stdout_state *s, const char *p, size_t n)
{
	if (s->tail_cap < n) {
		char *t = realloc(s->tail, n);
		if (t == NULL)
			return -1;
		s->tail = t;
		s->tail_cap = n;
	}
	memcpy(s->tail, p, n);
	s->tail_len = n;
	s->tail_off = 0;
	s->tail_events = count_lines(p, n);
	watch_room(s, 1);
	return 0;
}

/* The host's watch: the stream has room again. Later batches wait in the
 * writer's queue and are offered on its next cycle. */
static void on_room(int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	(void)write_tail(arg);
}

static int stdout_start(void *state, const struct ttlog_host *host)
{
	struct stdout_state *s = state;

	/* A regular file never says "no room": nothing to watch (and
   * epoll refuses regular files). */
	if (s->w.kind == TTLOG__NBW_PLAIN)
		return 0;
	s->watch = host->watch_new(host, s->w.fd, 0, on_room, s);
	if (s->watch == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot start", "%s",
			  strerror(ENOMEM));
		return TTLOG_ENOMEM;
	}
	return 0;
}

static int stdout_consume(void *state, struct ttlog_batch *b)
{
	struct stdout_state *s = state;
	const void *data;
	const char *p;
	size_t len, off = 0;

	/* What an earlier batch still owes goes first; until it is out,
   * the writer's queue keeps (or drops, counted) what follows. */
	if (s->tail_off < s->tail_len && write_tail(s) != 0)
		return TTLOG_LISTENER_RETRY;
	if (ttlog_batch_encode(
		    b, s->json ? TTLOG_ENCODING_JSONL : TTLOG_ENCODING_TEXT,
		    &data, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	p = data;
	if (!s->json && s->color && colorize(s, p, len, &p, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	while (off < len) {
		ssize_t n = ttlog__nbw_write(&s->w, p + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (errno != EAGAIN) {
			report(s, errno);
			return TTLOG_LISTENER_ERROR;
		}
		/* Nothing taken: the writer offers the batch again. */
		if (off == 0) {
			watch_room(s, 1);
			return TTLOG_LISTENER_RETRY;
		}
		/* Part taken: the rest is ours now, so that the lines are
     * completed whatever happens to the batch. */
		if (keep_tail(s, p + off, len - off) != 0) {
			report(s, ENOMEM);
			return TTLOG_LISTENER_ERROR;
		}
		break;
	}
	if (s->failing)
		s->host->log(s->host, TTLOG_LEVEL_INFO, "writing again",
			     "after %llu failed writes",
			     (unsigned long long)s->errors);
	s->failing = 0;
	s->errors = 0;
	return TTLOG_LISTENER_OK;
}

static int stdout_flush(void *state)
{
	struct stdout_state *s = state;

	if (s->tail_off < s->tail_len)
		(void)write_tail(s);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At shutdown: a tail the stream still owes is worth STDOUT_DRAIN_MS,
 * not more; a reader that stopped reading must not hold the exit. */
static int stdout_draining(void *state)
{
	struct stdout_state *s = state;

	if (s->tail_off >= s->tail_len || write_tail(s) == 0)
		return 0;
	if (s->drain_since_ms == 0)
		s->drain_since_ms = (uint64_t)now_ms();
	return (uint64_t)now_ms() - s->drain_since_ms < STDOUT_DRAIN_MS;
}

static void stdout_destroy(void *state)
{
	struct stdout_state *s = state;
	if (s == NULL)
		return;
	if (s->tail_off < s->tail_len)
		give_up_tail(s, "the stream took no more before shutdown");
	if (s->watch != NULL)
		s->host->watch_free(s->watch);
	ttlog__nbw_close(&s->w);
	free(s->tail);
	free(s->cbuf);
	free(s);
}

static const struct ttlog_listener_api stdout_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "stdout",
	.description = "writes batches as text or JSON lines to stdout or "
		       "stderr",
	.options = stdout_spec,
	.options_size = sizeof(struct stdout_opts),
	.consume = stdout_consume,
	.flush = stdout_flush,
	.destroy = stdout_destroy,
	.draining = stdout_draining,
	.create2 = stdout_create,
	.start2 = stdout_start,
	.check = stdout_check,
};

TTLOG_LISTENER_ENTRY(stdout_api)
