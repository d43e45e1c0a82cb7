/*
 * stdout.c - the stdout listener: each batch as text lines or JSON lines
 * on standard output or standard error.
 *
 *   listeners:
 *     - name: console
 *       type: stdout
 *       format: text        # text | json
 *       stream: stdout      # stdout | stderr
 *       color: auto         # auto (a terminal, and NO_COLOR unset) | always | never
 *
 * Text colours only the level word; the rest is the shared text encoding
 * of the batch, computed once for every listener that wants it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ttlog/listener.h>

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

struct stdout_state {
	int fd;
	int json;
	int color;
	/* A batch the stream took only part of (EAGAIN): where to go on. */
	const struct ttlog_batch *partial;
	uint64_t partial_seq;
	size_t partial_off;
	char *cbuf; /* coloured copy of the text */
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

/* One report when writing starts to fail and one when it works again; the
 * host's log also reaches standard error, and bounds the rate. */
static void report(struct stdout_state *s, int err)
{
	s->errors++;
	if (s->failing)
		return;
	s->failing = 1;
	s->host->log(s->host, TTLOG_LEVEL_ERROR, "write failed", "%s: %s",
		     s->fd == STDOUT_FILENO ? "stdout" : "stderr",
		     strerror(err));
}

static int stdout_consume(void *state, struct ttlog_batch *b)
{
	struct stdout_state *s = state;
	const void *data;
	const char *p;
	size_t len, off = 0;

	if (ttlog_batch_encode(
		    b, s->json ? TTLOG_ENCODING_JSONL : TTLOG_ENCODING_TEXT,
		    &data, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	p = data;
	if (!s->json && s->color && colorize(s, p, len, &p, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	if (s->partial == b && s->partial_seq == ttlog_batch_seq(b))
		off = s->partial_off;
	s->partial = NULL;
	while (off < len) {
		ssize_t n = write(s->fd, p + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The reader is slow: offer the rest later. */
			s->partial = b;
			s->partial_seq = ttlog_batch_seq(b);
			s->partial_off = off;
			return TTLOG_LISTENER_RETRY;
		}
		report(s, n < 0 ? errno : EIO);
		return TTLOG_LISTENER_ERROR;
	}
	if (s->failing)
		s->host->log(s->host, TTLOG_LEVEL_INFO, "writing again",
			     "after %llu failed writes",
			     (unsigned long long)s->errors);
	s->failing = 0;
	s->errors = 0;
	return TTLOG_LISTENER_OK;
}

static void stdout_destroy(void *state)
{
	struct stdout_state *s = state;
	if (s == NULL)
		return;
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
	.destroy = stdout_destroy,
	.create2 = stdout_create,
	.check = stdout_check,
};

TTLOG_LISTENER_ENTRY(stdout_api)
